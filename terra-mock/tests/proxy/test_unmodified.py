"""Python as legacy TerraAPI code writes it, run unmodified through terra-mock's proxy:
DJI's hosts in the code, requests for the API, oss2 and boto3 with their default
endpoints. Nothing but the environment the banner prints points them at the emulator
(HTTPS_PROXY, REQUESTS_CA_BUNDLE, AWS_CA_BUNDLE)."""
import base64
import hashlib
import hmac
import json
import os
import time
from email.utils import formatdate

import boto3
import oss2
import pytest
import requests

HOSTS = {"cn": "https://openapi-cn.dji.com", "us": "https://openapi-us.dji.com"}
ACCOUNTS = {"cn": ("cn-ak", "cn-sk"), "us": ("us-ak", "us-sk")}


def call(region, method, path, body=None):
    """A signed TerraAPI call with requests, written from the reference."""
    ak, sk = ACCOUNTS[region]
    target = "/terra-rescon-be/v2" + path
    data = b"" if body is None else json.dumps(body).encode()
    date = formatdate(usegmt=True)
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    signing = f"date: {date}\n@request-target: {method.lower()} {target}\ndigest: {digest}"
    sig = base64.b64encode(hmac.new(sk.encode(), signing.encode(), hashlib.sha256).digest()).decode()
    r = requests.request(method, HOSTS[region] + target, data=data or None, timeout=30, headers={
        "Date": date,
        "Digest": digest,
        "Authorization": f'hmac username="{ak}", algorithm="hmac-sha256", headers="date @request-target digest", signature="{sig}"',
        "Content-Type": "application/json;charset=UTF-8",
    })
    env = r.json()
    assert env["result"]["code"] == 0, f"{method} {path}: {env}"
    return env["data"]


def key_of(token, name):
    return token["storePath"].replace("{fileName}", name)


def photos():
    folder = os.environ["PHOTOS"]
    return [(n, open(os.path.join(folder, n), "rb").read()) for n in sorted(os.listdir(folder))]


@pytest.mark.parametrize("endpoint", ["https://oss-cn-hangzhou.aliyuncs.com", "http://oss-cn-hangzhou.aliyuncs.com"])
def test_the_cn_flow_with_oss2(endpoint):
    token = call("cn", "POST", "/store/obtain_token")
    assert token["cloudName"].upper() == "ALI_OSS"
    bucket = oss2.Bucket(oss2.StsAuth(token["accessKeyID"], token["secretAccessKey"], token["sessionToken"]),
                         endpoint, token["cloudBucketName"])
    files = []
    for name, data in photos():
        r = bucket.put_object(key_of(token, name), data)
        files.append({"name": name, "etag": r.etag, "checksum": r.etag})
    listed = [o.key for o in oss2.ObjectIteratorV2(bucket, prefix=key_of(token, ""))]
    assert len(listed) == len(files)
    assert bucket.get_object(key_of(token, files[0]["name"])).read() == photos()[0][1]
    resource = call("cn", "POST", "/resources", {"name": "legacy cn", "type": "map"})["uuid"]
    call("cn", "POST", "/store/upload_callback",
         {"callbackParam": token["callbackParam"], "resourceUUID": resource, "files": files})
    job = call("cn", "POST", "/jobs", {"name": "legacy cn job"})["uuid"]
    params = json.dumps({"parameter": {"map_mode": 1, "quality_level": 3}})
    call("cn", "POST", f"/jobs/{job}/start", {"type": 14, "resourceUuid": resource, "parameters": params})
    for _ in range(300):
        j = call("cn", "GET", f"/jobs/{job}")
        if j["status"] in (5, 6, 7):
            break
        time.sleep(0.2)
    assert j["status"] == 6, j
    out = call("cn", "GET", f"/resources/{j['outputResourceUuid']}")
    f = call("cn", "GET", f"/files/{out['fileUuids'][0]}")
    assert len(requests.get(f["url"], timeout=30).content) == f["size"]
    # Deleting under the prefix.
    bucket.batch_delete_objects([key_of(token, files[1]["name"])])
    assert not bucket.object_exists(key_of(token, files[1]["name"]))


def test_boto3_with_no_endpoint_url():
    token = call("us", "POST", "/store/obtain_token")
    s3 = boto3.client("s3", region_name=token["region"],
                      aws_access_key_id=token["accessKeyID"],
                      aws_secret_access_key=token["secretAccessKey"],
                      aws_session_token=token["sessionToken"])
    b = token["cloudBucketName"]
    name, data = photos()[0]
    s3.put_object(Bucket=b, Key=key_of(token, name), Body=data)
    s3.upload_fileobj(__import__("io").BytesIO(data * 3), b, key_of(token, "copy.jpg"))
    listed = s3.list_objects_v2(Bucket=b, Prefix=key_of(token, ""))
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted([key_of(token, name), key_of(token, "copy.jpg")])
    assert s3.get_object(Bucket=b, Key=key_of(token, name))["Body"].read() == data
    out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": key_of(token, name)}, {"Key": key_of(token, "copy.jpg")}]})
    assert len(out["Deleted"]) == 2
    assert s3.list_objects_v2(Bucket=b, Prefix=key_of(token, ""))["KeyCount"] == 0


def test_other_hosts_are_refused_not_forwarded():
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", timeout=10)
    r = requests.get("http://example.com/", timeout=10)
    assert r.status_code == 403 and "--proxy-host" in r.text
    r = requests.get(HOSTS["us"] + "/_terra-mock/v1/state", timeout=10)
    assert r.status_code == 403 and "secret" not in r.text
