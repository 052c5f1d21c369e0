"""Fixtures of the SDK conformance suite: terra-mock driven by clients no one in the
project wrote (boto3, oss2), unmodified, the way a user of another language would.

The suite runs against a mock it is told about (`terra-mock/tests/sdk_conformance.rs`
starts one in-process and one standalone and runs it against each):

    TERRA_MOCK_URL=http://127.0.0.1:8080
    TERRA_MOCK_ACCOUNTS=s3-ak:s3-sk:s3,oss-ak:oss-sk:oss,short-ak:short-sk:s3
      (the third account's tokens live a few seconds, to see expiry)
"""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from email.utils import formatdate

import pytest


class Terra:
    """A TerraAPI client written from the reference (§2 signing, §3 routes), stdlib only."""

    def __init__(self, base, app_key, secret):
        self.base, self.app_key, self.secret = base, app_key, secret

    def call(self, method, path, body=None):
        target = "/terra-rescon-be/v2" + path
        data = b"" if body is None else json.dumps(body).encode()
        date = formatdate(usegmt=True)
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        signing = f"date: {date}\n@request-target: {method.lower()} {target}\ndigest: {digest}"
        sig = base64.b64encode(hmac.new(self.secret.encode(), signing.encode(), hashlib.sha256).digest()).decode()
        headers = {
            "Date": date,
            "Digest": digest,
            "Authorization": f'hmac username="{self.app_key}", algorithm="hmac-sha256", headers="date @request-target digest", signature="{sig}"',
            "Content-Type": "application/json;charset=UTF-8",
            "Return-Detail": "true",
        }
        req = urllib.request.Request(self.base + target, data=data if body is not None else None, method=method, headers=headers)
        with urllib.request.urlopen(req) as r:
            env = json.loads(r.read())
        assert env["result"]["code"] == 0, f"{method} {path}: {env}"
        return env.get("data")

    def token(self):
        return self.call("POST", "/store/obtain_token")

    def resource(self, name="sdk suite"):
        return self.call("POST", "/resources", {"name": name, "type": "map"})["uuid"]

    def register(self, token, resource, files):
        """files: [(name, etag as the storage client returned it)]."""
        out = []
        for i in range(0, len(files), 50):
            batch = [{"name": n, "etag": e, "checksum": e} for n, e in files[i:i + 50]]
            out += self.call("POST", "/store/upload_callback",
                             {"callbackParam": token["callbackParam"], "resourceUUID": resource, "files": batch})
        return out

    def run_2d_job(self, resource, timeout=60):
        """Starts a 2D job on the resource and waits for it to finish."""
        job = self.call("POST", "/jobs", {"name": "sdk suite job"})["uuid"]
        params = json.dumps({"parameter": {"map_mode": 1, "quality_level": 3}})
        self.call("POST", f"/jobs/{job}/start", {"type": 14, "resourceUuid": resource, "parameters": params})
        deadline = time.time() + timeout
        while time.time() < deadline:
            j = self.call("GET", f"/jobs/{job}")
            if j["status"] in (5, 6, 7):
                return j
            time.sleep(0.3)
        raise AssertionError(f"job {job} did not finish in {timeout} s")


def accounts():
    out = {}
    for entry in os.environ["TERRA_MOCK_ACCOUNTS"].split(","):
        ak, sk, provider = entry.split(":")
        out.setdefault(provider, []).append((ak, sk))
    return out


@pytest.fixture(scope="session")
def base():
    return os.environ["TERRA_MOCK_URL"].rstrip("/")


@pytest.fixture(scope="session")
def s3_terra(base):
    ak, sk = accounts()["s3"][0]
    return Terra(base, ak, sk)


@pytest.fixture(scope="session")
def short_terra(base):
    ak, sk = accounts()["s3"][1]
    return Terra(base, ak, sk)


@pytest.fixture(scope="session")
def oss_terra(base):
    ak, sk = accounts()["oss"][0]
    return Terra(base, ak, sk)


def http_error(fn):
    """Runs fn; returns the urllib HTTPError it raised."""
    try:
        fn()
    except urllib.error.HTTPError as e:
        return e
    raise AssertionError("expected an HTTP error")
