#!/usr/bin/env node
// Requests ali-oss (Aliyun's Node SDK, default V1 signing: `x-oss-date` in RFC 1123, no
// `Date`) sends, captured by a local server that answers like OSS, printed as JSON lines.
//
// `terra-mock/src/storage/oss/sign/tests.rs` checks that terra-mock's OSS verifier accepts
// each one at the time it was signed: the vectors come from the SDK, not from our signer.
//
//     npm install ali-oss@6.23.0 && node terra-mock/tests/sdk/alioss_vectors.js > alioss_vectors.jsonl
"use strict";
const http = require("http");
const OSS = require("ali-oss");

const AK = "STS.ak-for-vectors", SK = "sk-for-vectors", TOKEN = "token-for-vectors";
const BUCKET = "terra-mock-oss";
const captured = [];

const server = http.createServer((req, res) => {
  let body = [];
  req.on("data", (c) => body.push(c));
  req.on("end", () => {
    captured.push({ method: req.method, url: req.url, headers: req.headers });
    const xml = req.url.includes("uploads")
      ? "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>ABC</UploadId></InitiateMultipartUploadResult>"
      : "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Prefix></Prefix><MaxKeys>100</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>";
    res.writeHead(200, { "content-type": "application/xml", etag: "\"0CC175B9C0F1B6A831C399E269772661\"", "x-oss-request-id": "1" });
    res.end(req.method === "HEAD" ? undefined : xml);
  });
});

// Headers no signature version covers, and those that differ by machine.
const UNSIGNED = new Set(["user-agent", "accept-encoding", "connection", "host", "content-length", "x-oss-user-agent"]);

server.listen(0, "127.0.0.1", async () => {
  const client = new OSS({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    accessKeyId: AK, accessKeySecret: SK, stsToken: TOKEN, bucket: BUCKET,
    region: "oss-cn-hangzhou", cname: false, secure: false, retryMax: 0,
  });
  const key = "flight 1/DJI+0001 ü.JPG";
  const steps = [
    ["v1-put", () => client.put(key, Buffer.from("a"), { mime: "image/jpeg" })],
    ["v1-head", () => client.head(key)],
    ["v1-get", () => client.get(key)],
    ["v1-initiate-multipart", () => client.initMultipartUpload(key)],
    ["v1-list", () => client.list({ prefix: "flight 1/", "max-keys": 10 })],
    ["v1-delete", () => client.delete(key)],
  ];
  for (const [name, step] of steps) {
    captured.length = 0;
    try { await step(); } catch (e) { /* the canned answer may not please the SDK */ }
    for (const c of captured) {
      const headers = {};
      for (const [k, v] of Object.entries(c.headers)) if (!UNSIGNED.has(k)) headers[k] = v;
      const url = new URL(c.url, "http://127.0.0.1:9000");
      const path = url.pathname.replace(/^\//, "");
      const raw = path.startsWith(BUCKET + "/") ? path.slice(BUCKET.length + 1) : path;
      process.stdout.write(JSON.stringify({
        name, method: c.method, key: decodeURIComponent(raw),
        url: `http://127.0.0.1:9000/${BUCKET}/${raw}${url.search}`, headers,
      }) + "\n");
    }
  }
  server.close();
});
