#!/usr/bin/env python3
"""Requests alibabacloud-oss-v2 (Aliyun's newer Python SDK, V4 signing) sends, captured by
a local server that answers like OSS, printed as JSON lines.

`terra-mock/src/storage/oss/sign/tests.rs` checks that terra-mock's OSS verifier accepts
each one at the time it was signed: the vectors come from the SDK, not from our signer.

    pip install alibabacloud-oss-v2==1.4.1 && python3 terra-mock/tests/sdk/oss_v2_vectors.py
"""
import http.server
import json
import threading
import urllib.parse

import alibabacloud_oss_v2 as oss

AK, SK, TOKEN = "STS.ak-for-vectors", "sk-for-vectors", "token-for-vectors"
BUCKET = "terra-mock-oss"
# Headers no signature version covers, and those that differ by machine.
UNSIGNED = {"user-agent", "accept-encoding", "connection", "host", "content-length"}
captured = []


class Capture(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        if n:
            self.rfile.read(n)
        captured.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        body = b"<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>"
        self.send_response(200)
        self.send_header("content-type", "application/xml")
        self.send_header("etag", '"0CC175B9C0F1B6A831C399E269772661"')
        self.send_header("x-oss-request-id", "1")
        self.send_header("content-length", str(0 if self.command == "HEAD" else len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=server.serve_forever, daemon=True).start()
cfg = oss.config.load_default()
cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(AK, SK, TOKEN)
cfg.region = "cn-hangzhou"
cfg.endpoint = f"http://127.0.0.1:{server.server_port}"
cfg.use_path_style = True
cfg.retry_max_attempts = 1
client = oss.Client(cfg)
key = "flight 1/DJI+0001 ü.JPG"
steps = [
    ("v4-put", lambda: client.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=b"a"))),
    ("v4-head", lambda: client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=key))),
    ("v4-get", lambda: client.get_object(oss.GetObjectRequest(bucket=BUCKET, key=key))),
    ("v4-list", lambda: client.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix="flight 1/"))),
    ("v4-delete", lambda: client.delete_object(oss.DeleteObjectRequest(bucket=BUCKET, key=key))),
]
for name, step in steps:
    captured.clear()
    try:
        step()
    except Exception:  # the canned answer may not please the SDK
        pass
    for method, target, headers in captured:
        url = urllib.parse.urlsplit(target)
        path = url.path.lstrip("/")
        raw = path[len(BUCKET) + 1:] if path.startswith(BUCKET + "/") else ""
        print(json.dumps({
            "name": name,
            "method": method,
            "key": urllib.parse.unquote(raw),
            "url": f"http://127.0.0.1:9000/{BUCKET}/{raw}" + (f"?{url.query}" if url.query else ""),
            "headers": {k: v for k, v in headers.items() if k not in UNSIGNED},
        }, sort_keys=True))
server.shutdown()
