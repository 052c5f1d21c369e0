#!/usr/bin/env python3
"""Requests signed by oss2 (Aliyun's Python SDK) at a fixed time, printed as JSON lines.

`terra-mock/tests/storage_compat.rs` pins what this prints and checks that terra-mock's
OSS verifier accepts each request: the vectors come from the SDK, not from our signer.

    pip install oss2 && python3 terra-mock/tests/sdk/oss2_vectors.py
"""
import datetime
import json
import time

import oss2
from oss2 import auth, http, utils

FIXED = 1795600800  # Wed, 25 Nov 2026 10:00:00 GMT


class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return datetime.datetime(2026, 11, 25, 10, 0, 0)


auth.datetime = FixedDatetime
utils.http_date = lambda timeval=None: "Wed, 25 Nov 2026 10:00:00 GMT"
time.time = lambda: FIXED

AK, SK, TOKEN = "STS.ak-for-vectors", "sk-for-vectors", "token-for-vectors"
BUCKET, REGION = "terra-mock-oss", "cn-hangzhou"
ENDPOINT = "http://127.0.0.1:9000"


def request(method, key, params=None, headers=None):
    url = "{0}/{1}/{2}".format(ENDPOINT, BUCKET, oss2.compat.urlquote(key, ""))
    req = http.Request(method, url, params=params or {}, headers=headers or {})
    req.region = REGION
    req.product = "oss"
    req.cloudbox_id = None
    return req


def show(name, req, key, signed_url=None):
    print(json.dumps({
        "name": name,
        "method": req.method,
        "key": key,
        "url": signed_url or req.url + ("?" + "&".join(
            auth._param_to_quoted_query(k, v) for k, v in req.params.items()) if req.params else ""),
        # user-agent and accept-encoding are signed by no version; left out so that the
        # output does not depend on the machine.
        "headers": {k.lower(): v for k, v in req.headers.items()
                    if v is not None and k.lower() not in ("user-agent", "accept-encoding")},
    }, sort_keys=True))


v1 = auth.StsAuth(AK, SK, TOKEN, auth_version=auth.AUTH_VERSION_1)
v2 = auth.StsAuth(AK, SK, TOKEN, auth_version=auth.AUTH_VERSION_2)
v4 = auth.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, SK, TOKEN))

key = "flight 1/DJI+0001 ü.JPG"
for name, signer in [("v1", v1), ("v2", v2), ("v4", v4)]:
    r = request("PUT", key, headers={"content-type": "image/jpeg", "content-md5": "ICy5YqxZB1uWSwcVLSNLcA=="})
    signer._sign_request(r, BUCKET, key)
    show(name + "-put", r, key)
    r = request("GET", key, params={"uploadId": "ABC", "max-parts": "2", "encoding-type": "url"})
    signer._sign_request(r, BUCKET, key)
    show(name + "-list-parts", r, key)
    r = request("GET", key)
    show(name + "-presigned-get", r, key, signer._sign_url(r, BUCKET, key, 600))

# V1 with x-oss-date and no Date, as ali-oss (Node) signs by default.
r = request("PUT", key, headers={"x-oss-date": "20261125T100000Z"})
v1._sign_request(r, BUCKET, key)
del r.headers["date"]
show("v1-x-oss-date", r, key)
