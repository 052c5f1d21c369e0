// Node as legacy TerraAPI code writes it, run unmodified through terra-mock's proxy: DJI's
// hosts in the code, the AWS SDK for JavaScript v3 and ali-oss with their default
// endpoints. Node 20 does not read HTTPS_PROXY by itself (Node 24 does, with
// NODE_USE_ENV_PROXY=1), so the agent an application passes to reach a corporate proxy
// carries it here too: https-proxy-agent, built from HTTPS_PROXY. NODE_EXTRA_CA_CERTS
// makes Node trust the emulator's authority.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const crypto = require("node:crypto");
const https = require("node:https");
const { HttpsProxyAgent } = require("https-proxy-agent");
const { S3Client, PutObjectCommand, ListObjectsV2Command, GetObjectCommand, DeleteObjectsCommand } = require("@aws-sdk/client-s3");
const { NodeHttpHandler } = require("@smithy/node-http-handler");
const OSS = require("ali-oss");

const agent = new HttpsProxyAgent(process.env.HTTPS_PROXY);
const HOSTS = { cn: "openapi-cn.dji.com", us: "openapi-us.dji.com" };
const ACCOUNTS = { cn: ["cn-ak", "cn-sk"], us: ["us-ak", "us-sk"] };

function call(region, method, path, body) {
  const [ak, sk] = ACCOUNTS[region];
  const target = "/terra-rescon-be/v2" + path;
  const data = body === undefined ? "" : JSON.stringify(body);
  const date = new Date().toUTCString();
  const digest = "SHA-256=" + crypto.createHash("sha256").update(data).digest("base64");
  const signing = `date: ${date}\n@request-target: ${method.toLowerCase()} ${target}\ndigest: ${digest}`;
  const sig = crypto.createHmac("sha256", sk).update(signing).digest("base64");
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: HOSTS[region], path: target, method, agent,
      headers: {
        Date: date, Digest: digest, "Content-Type": "application/json;charset=UTF-8",
        Authorization: `hmac username="${ak}", algorithm="hmac-sha256", headers="date @request-target digest", signature="${sig}"`,
      },
    }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        const env = JSON.parse(text);
        if (env.result.code !== 0) reject(new Error(`${method} ${path}: ${text}`));
        else resolve(env.data);
      });
    });
    req.on("error", reject);
    req.end(data);
  });
}

const keyOf = (token, name) => token.storePath.replace("{fileName}", name);

test("the AWS SDK for JavaScript v3 with no endpoint", async () => {
  const token = await call("us", "POST", "/store/obtain_token");
  const s3 = new S3Client({
    region: token.region,
    credentials: { accessKeyId: token.accessKeyID, secretAccessKey: token.secretAccessKey, sessionToken: token.sessionToken },
    requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
  });
  const Bucket = token.cloudBucketName;
  const keys = ["a b.jpg", "dir/c+d.jpg"].map((n) => keyOf(token, n));
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.from("photo " + Key) }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: keyOf(token, "") }));
  assert.deepStrictEqual(listed.Contents.map((o) => o.Key).sort(), [...keys].sort());
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: keys[0] }));
  assert.strictEqual(await got.Body.transformToString(), "photo " + keys[0]);
  const del = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  assert.strictEqual(del.Deleted.length, 2);
});

test("ali-oss with its default V1 signing and endpoint", async () => {
  const token = await call("cn", "POST", "/store/obtain_token");
  const client = new OSS({
    region: token.region, bucket: token.cloudBucketName, secure: true,
    accessKeyId: token.accessKeyID, accessKeySecret: token.secretAccessKey, stsToken: token.sessionToken,
    httpsAgent: agent, agent,
  });
  const keys = ["a b.jpg", "dir/ü.jpg"].map((n) => keyOf(token, n));
  for (const k of keys) await client.put(k, Buffer.from("photo " + k));
  const listed = await client.listV2({ prefix: keyOf(token, "") });
  assert.deepStrictEqual(listed.objects.map((o) => o.name).sort(), [...keys].sort());
  const got = await client.get(keys[0]);
  assert.strictEqual(got.content.toString(), "photo " + keys[0]);
  const head = await client.head(keys[1]);
  assert.strictEqual(head.status, 200);
  await client.deleteMulti(keys);
  const after = await client.listV2({ prefix: keyOf(token, "") });
  assert.strictEqual((after.objects || []).length, 0);
});
