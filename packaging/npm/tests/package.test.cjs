// The terra-mock npm package, installed from its tarballs alone into a fresh project: the
// helper, its control API, and a whole flow with the AWS SDK for JavaScript v3.
// `cargo xtask test` runs this with `node --test` in that project.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const path = require("node:path");
const { startTerraMock, ApiError, ControlError, binaryPath } = require("terra-mock");
const { S3Client, PutObjectCommand } = require("@aws-sdk/client-s3");

let mock;
test.before(async () => { mock = await startTerraMock(); });
test.after(async () => { await mock.stop(); });
test.beforeEach(async () => { await mock.reset(); });

test("the binary is the platform package's", () => {
  const bin = binaryPath();
  assert.ok(bin.includes(path.join("node_modules", "@terra-mock")), bin);
  assert.ok(require.resolve("terra-mock").includes("node_modules"), "not the checkout");
});

test("a whole flow: token, upload, callback, job, clock, outputs", async () => {
  const token = await mock.api("POST", "/store/obtain_token");
  const s3 = new S3Client({
    region: token.region, endpoint: mock.storageEndpoint, forcePathStyle: true,
    credentials: { accessKeyId: token.accessKeyID, secretAccessKey: token.secretAccessKey, sessionToken: token.sessionToken },
  });
  const files = [];
  for (let i = 0; i < 10; i++) {
    const name = `DJI_${String(i).padStart(4, "0")}.JPG`;
    const r = await s3.send(new PutObjectCommand({
      Bucket: token.cloudBucketName, Key: token.storePath.replace("{fileName}", name),
      Body: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, i)]),
    }));
    files.push({ name, etag: r.ETag, checksum: r.ETag });
  }
  const resource = (await mock.api("POST", "/resources", { name: "npm flow", type: "map" })).uuid;
  await mock.api("POST", "/store/upload_callback", { callbackParam: token.callbackParam, resourceUUID: resource, files });
  const job = (await mock.api("POST", "/jobs", { name: "npm job" })).uuid;
  const parameters = JSON.stringify({ parameter: { map_mode: 1, quality_level: 3 } });
  await mock.api("POST", `/jobs/${job}/start`, { type: 14, resourceUuid: resource, parameters });
  let j;
  for (let i = 0; i < 200; i++) {
    j = await mock.api("GET", `/jobs/${job}`);
    if ([5, 6, 7].includes(j.status)) break;
    await mock.advance(60);
  }
  assert.strictEqual(j.status, 6, JSON.stringify(j));
  const out = await mock.api("GET", `/resources/${j.outputResourceUuid}`);
  const f = await mock.api("GET", `/files/${out.fileUuids[0]}`);
  const bytes = Buffer.from(await (await fetch(f.url)).arrayBuffer());
  assert.strictEqual(bytes.length, f.size);
});

test("the README's example", async () => {
  // README.md, "Using terra-mock from any language", verbatim (a tidy test compares them).
  const { startTerraMock } = require("terra-mock");
  const mock = await startTerraMock();              // a free port, a private state folder
  const token = await mock.api("POST", "/store/obtain_token");
  await mock.advance(3600);                         // an hour passes: jobs move on
  await mock.stop();
  assert.ok(token.sessionToken && token.accessKeyID);
});

test("API errors carry the envelope", async () => {
  const e = await mock.api("POST", "/resources", { type: "map" }).catch((e) => e);
  assert.ok(e instanceof ApiError, String(e));
  assert.strictEqual(e.code, 102001);
  assert.match(e.msg, /name/);
});

test("a fault is injected and seen", async () => {
  const id = await mock.addFault({ type: "status", status: 503, retry_after: 1 },
    { method: "GET", path: "/terra-rescon-be/v2/jobs", times: 1 });
  assert.deepStrictEqual((await mock.faults()).map((f) => f.id), [id]);
  await assert.rejects(mock.api("GET", "/jobs"), /503/);
  assert.strictEqual((await mock.api("GET", "/jobs")).total, 0);
  const seen = await mock.requests({ path: "/terra-rescon-be/v2/jobs" });
  assert.deepStrictEqual(seen.slice(0, 2).map((r) => r.status), [200, 503]);
});

test("a refusal says why, in the log and the report", async () => {
  await assert.rejects(mock.api("GET", "/jobz"), /404/);
  const [refused] = await mock.requests({ refused: true });
  assert.strictEqual(refused.refusal.code, "route_unknown");
  assert.match(refused.refusal.message, /nearest is GET \/terra-rescon-be\/v2\/jobs/);
  const report = await mock.report();
  assert.strictEqual(report.refusals[0].code, "route_unknown");
  assert.match(await mock.report({ text: true }), /route_unknown ×1/);
});

test("the state is reset between tests", async () => {
  const s = await mock.stats();
  assert.strictEqual(s.objects, 0);
  assert.strictEqual((await mock.api("GET", "/resources")).total, 0);
  assert.deepStrictEqual(await mock.faults(), []);
});

test("control errors carry kind and status", async () => {
  await assert.rejects(mock.failJob("00000000-0000-0000-0000-000000000000"), (e) => {
    assert.ok(e instanceof ControlError);
    assert.strictEqual(e.kind, "not_found");
    assert.strictEqual(e.status, 404);
    return true;
  });
  const doc = await mock.exportState();
  await mock.importState(doc);
  await mock.expireTokens();
  const only = [{ allowed_origins: ["https://app.example"], allowed_methods: ["PUT"], allowed_headers: ["*"] }];
  assert.strictEqual((await mock.setStorageCors("oss", only)).rules[0].allowed_origins[0], "https://app.example");
  const pre = await fetch(`${mock.baseUrl}/terra-mock-oss/x.jpg`, {
    method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "PUT" },
  });
  assert.strictEqual(pre.status, 403);
  assert.strictEqual((await mock.setStorageCors("oss", null)).rules[0].allowed_origins[0], "*");
  await mock.createAccount("cn-ak", "cn-sk", "oss");
  assert.ok((await mock.stats()).accounts.some((a) => a.app_key === "cn-ak"));
});
