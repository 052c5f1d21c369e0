// A TerraAPI integration tested in Node against terra-mock: photos uploaded with the AWS
// SDK for JavaScript, registered, a job run to the end by advancing the emulator's clock,
// a 503 met and retried. `npm install` then `npm test`.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const { startTerraMock } = require("terra-mock");
const { S3Client, PutObjectCommand } = require("@aws-sdk/client-s3");

let mock;
test.before(async () => { mock = await startTerraMock(); });
test.after(() => mock.stop());
test.beforeEach(() => mock.reset());

/** The integration's upload step: every photo with the token's credentials, then the callback. */
async function uploadFlight(api, storage, photos) {
  const token = await api("POST", "/store/obtain_token");
  const s3 = new S3Client({
    region: token.region, endpoint: storage, forcePathStyle: true,
    credentials: { accessKeyId: token.accessKeyID, secretAccessKey: token.secretAccessKey, sessionToken: token.sessionToken },
  });
  const files = [];
  for (const [name, body] of photos) {
    const r = await s3.send(new PutObjectCommand({ Bucket: token.cloudBucketName, Key: token.storePath.replace("{fileName}", name), Body: body }));
    files.push({ name, etag: r.ETag, checksum: r.ETag });
  }
  const { uuid } = await api("POST", "/resources", { name: "site", type: "map" });
  await api("POST", "/store/upload_callback", { callbackParam: token.callbackParam, resourceUUID: uuid, files });
  return uuid;
}

const photos = Array.from({ length: 10 }, (_, i) => [`DJI_${i}.JPG`, Buffer.from([0xff, 0xd8, 0xff, i])]);

test("a 2D job runs to the end while the clock is advanced", async () => {
  const resource = await uploadFlight((m, p, b) => mock.api(m, p, b), mock.storageEndpoint, photos);
  const job = (await mock.api("POST", "/jobs", { name: "site 2D" })).uuid;
  await mock.api("POST", `/jobs/${job}/start`, { type: 14, resourceUuid: resource, parameters: "{\"parameter\":{}}" });
  await mock.advance(4 * 3600);
  const done = await mock.api("GET", `/jobs/${job}`);
  assert.strictEqual(done.status, 6);
});

test("a 503 from the service is retried by the integration", async () => {
  await mock.addFault({ type: "status", status: 503 }, { method: "POST", path: "/terra-rescon-be/v2/store/obtain_token", times: 1 });
  const retrying = async (m, p, b) => {
    try { return await mock.api(m, p, b); } catch { return mock.api(m, p, b); }
  };
  const resource = await uploadFlight(retrying, mock.storageEndpoint, photos);
  assert.ok(resource);
  const log = await mock.requests({ path: "/terra-rescon-be/v2/store/obtain_token" });
  assert.deepStrictEqual(log.map((r) => r.status), [200, 503]);
});
