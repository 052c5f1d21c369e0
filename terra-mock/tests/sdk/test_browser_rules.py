"""What a browser application relies on, checked without a browser: the storage buckets'
CORS answers (preflights with `requests.options`) and browser upload forms (boto3's
`generate_presigned_post`, an OSS PostObject policy), posted with `requests`."""
import base64
import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET

import boto3
import requests
from botocore.config import Config

ORIGIN = "http://localhost:5173"


def s3_client(base, token):
    return boto3.client(
        "s3",
        endpoint_url=base,
        region_name=token["region"],
        aws_access_key_id=token["accessKeyID"],
        aws_secret_access_key=token["secretAccessKey"],
        aws_session_token=token["sessionToken"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def key_of(token, name):
    return token["storePath"].replace("{fileName}", name)


def error_code(r):
    return ET.fromstring(r.content).findtext("Code")


def test_preflights_of_both_buckets(base, s3_terra, oss_terra):
    for terra, asked in [
        (s3_terra, "authorization,x-amz-date,x-amz-security-token,x-amz-content-sha256"),
        (oss_terra, "authorization,content-type,x-oss-date,x-oss-security-token"),
    ]:
        token = terra.token()
        url = f"{base}/{token['cloudBucketName']}/{key_of(token, 'DJI_0001.JPG')}"
        r = requests.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
                                           "Access-Control-Request-Headers": asked})
        assert r.status_code == 200, r.text
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Access-Control-Allow-Headers"] == asked
        assert "ETag" in r.headers["Access-Control-Expose-Headers"]
        assert "PUT" in r.headers["Access-Control-Allow-Methods"]
        r = requests.options(url, headers={"Access-Control-Request-Method": "PUT"})
        assert r.status_code == 400 and error_code(r) == "BadRequest", r.text


def test_a_refusal_is_readable_by_the_page(base, s3_terra):
    token = s3_terra.token()
    url = f"{base}/{token['cloudBucketName']}/{key_of(token, 'x.jpg')}"
    r = requests.get(url, headers={"Origin": ORIGIN})
    assert r.status_code == 403 and error_code(r) == "AccessDenied"
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_generate_presigned_post_with_requests(base, s3_terra):
    token = s3_terra.token()
    s3 = s3_client(base, token)
    bucket = token["cloudBucketName"]
    post = s3.generate_presigned_post(
        Bucket=bucket, Key=key_of(token, "${filename}"),
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}, ["content-length-range", 1, 4096]],
        ExpiresIn=300,
    )
    photo = b"\xff\xd8" + bytes(range(200)) + b"\xff\xd9"
    r = requests.post(post["url"], data=post["fields"], files={"file": ("DJI_0007.JPG", photo, "image/jpeg")},
                      headers={"Origin": ORIGIN})
    assert r.status_code == 201, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    doc = ET.fromstring(r.content)
    key = key_of(token, "DJI_0007.JPG")
    assert doc.findtext("Key") == key
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(photo)
    assert head["ETag"] == doc.findtext("ETag")
    # Registered as any upload.
    resource = s3_terra.resource("form upload")
    files = s3_terra.register(token, resource, [("DJI_0007.JPG", head["ETag"])])
    assert files[0]["size"] == len(photo)
    # Past the policy's range: S3's EntityTooLarge, nothing stored.
    r = requests.post(post["url"], data=post["fields"], files={"file": ("big.JPG", b"x" * 5000, "image/jpeg")})
    assert r.status_code == 400 and error_code(r) == "EntityTooLarge", r.text
    assert ET.fromstring(r.content).findtext("MaxSizeAllowed") == "4096"
    # A form with a field the policy does not name.
    fields = dict(post["fields"], **{"x-amz-meta-owner": "me"})
    r = requests.post(post["url"], data=fields, files={"file": ("a.JPG", b"abc", "image/jpeg")})
    assert r.status_code == 403, r.text
    assert ET.fromstring(r.content).findtext("Message") == "Invalid according to Policy: Extra input fields: x-amz-meta-owner"


def test_an_oss_post_object_form_with_requests(base, oss_terra):
    token = oss_terra.token()
    bucket = token["cloudBucketName"]
    key = key_of(token, "oss-form.jpg")
    expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300))
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": [
        {"bucket": bucket}, ["starts-with", "$key", key_of(token, "")], ["content-length-range", 1, 1024]]}).encode()).decode()
    signature = base64.b64encode(hmac.new(token["secretAccessKey"].encode(), policy.encode(), hashlib.sha1).digest()).decode()
    fields = {"key": key, "policy": policy, "OSSAccessKeyId": token["accessKeyID"], "Signature": signature,
              "x-oss-security-token": token["sessionToken"], "success_action_status": "200"}
    r = requests.post(f"{base}/{bucket}", data=fields, files={"file": ("a.jpg", b"jpeg bytes", "image/jpeg")},
                      headers={"Origin": ORIGIN})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"].startswith('"') and r.headers["Server"] == "AliyunOSS"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # A wrong signature is OSS's SignatureDoesNotMatch.
    r = requests.post(f"{base}/{bucket}", data=dict(fields, Signature="A" + signature),
                      files={"file": ("a.jpg", b"jpeg", "image/jpeg")})
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch", r.text
