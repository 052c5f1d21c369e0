"""boto3 against terra-mock's S3 endpoint, with the STS credentials of obtain_token."""
import os
import time
import urllib.request

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import http_error

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def client(base, token, secret=None, session=None, **config):
    return boto3.client(
        "s3",
        endpoint_url=base,
        region_name=token["region"],
        aws_access_key_id=token["accessKeyID"],
        aws_secret_access_key=secret or token["secretAccessKey"],
        aws_session_token=token["sessionToken"] if session is None else session,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


def key_of(token, name):
    return token["storePath"].replace("{fileName}", name)


def code(e):
    return e.response["Error"]["Code"]


def test_upload_register_and_run_a_job(base, s3_terra, tmp_path):
    token = s3_terra.token()
    s3 = client(base, token)
    bucket = token["cloudBucketName"]
    files = []
    for i in range(10):
        name = f"flight/DJI_{i:04}.JPG"
        r = s3.put_object(Bucket=bucket, Key=key_of(token, name), Body=JPEG + bytes([i]))
        files.append((name, r["ETag"]))
    # upload_file with a transfer config that forces multipart.
    big = tmp_path / "big.JPG"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(big), bucket, key_of(token, "flight/big.JPG"), Config=cfg)
    head = s3.head_object(Bucket=bucket, Key=key_of(token, "flight/big.JPG"))
    assert head["ETag"].endswith('-3"'), head["ETag"]
    files.append(("flight/big.JPG", head["ETag"]))
    # download_file gives the bytes back.
    out = tmp_path / "back.JPG"
    s3.download_file(bucket, key_of(token, "flight/big.JPG"), str(out))
    assert out.read_bytes() == big.read_bytes()

    resource = s3_terra.resource()
    registered = s3_terra.register(token, resource, files)
    assert len(registered) == 11
    job = s3_terra.run_2d_job(resource)
    assert job["status"] == 6, job
    assert job["outputResourceUuid"]


def test_presigned_get_with_range(base, s3_terra):
    token = s3_terra.token()
    s3 = client(base, token, signature_version="s3v4")
    key = key_of(token, "range.bin")
    body = bytes(range(256)) * 8
    s3.put_object(Bucket=token["cloudBucketName"], Key=key, Body=body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": token["cloudBucketName"], "Key": key}, ExpiresIn=300)
    req = urllib.request.Request(url, headers={"Range": "bytes=100-199"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 206
        assert r.headers["Content-Range"] == "bytes 100-199/2048"
        assert r.read() == body[100:200]


def test_default_presigned_url_is_refused_with_s3s_message(base, s3_terra):
    """boto3's default presigned URL for us-east-1 uses SigV2 query auth."""
    token = s3_terra.token()
    s3 = client(base, token)
    key = key_of(token, "v2.bin")
    s3.put_object(Bucket=token["cloudBucketName"], Key=key, Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": token["cloudBucketName"], "Key": key})
    if "AWSAccessKeyId=" not in url:
        pytest.skip("this botocore presigns with SigV4 by default")
    e = http_error(lambda: urllib.request.urlopen(url))
    assert e.code == 400
    text = e.read().decode()
    assert "<Code>InvalidRequest</Code>" in text
    assert "Please use AWS4-HMAC-SHA256" in text
    assert e.headers["x-amz-request-id"]


def test_wrong_missing_and_expired_credentials_are_refused(base, s3_terra, short_terra):
    token = s3_terra.token()
    bucket, key = token["cloudBucketName"], key_of(token, "x.bin")
    with pytest.raises(ClientError) as e:
        client(base, token, secret="wrong").put_object(Bucket=bucket, Key=key, Body=b"x")
    assert code(e.value) == "SignatureDoesNotMatch"
    assert e.value.response["Error"]["Message"], "a message, not 'Unknown'"
    assert e.value.response["ResponseMetadata"]["RequestId"]
    with pytest.raises(ClientError) as e:
        client(base, token, session="").put_object(Bucket=bucket, Key=key, Body=b"x")
    assert code(e.value) == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as e:
        client(base, token, session="not-a-token").put_object(Bucket=bucket, Key=key, Body=b"x")
    assert code(e.value) == "InvalidToken"

    short = short_terra.token()
    life = short["expireTime"] - time.time()
    assert life < 30, "the short account's tokens live seconds"
    time.sleep(max(0, life) + 1.5)
    with pytest.raises(ClientError) as e:
        client(base, short).put_object(Bucket=short["cloudBucketName"], Key=key_of(short, "late.bin"), Body=b"x")
    assert code(e.value) == "ExpiredToken"


def test_listing_is_confined_to_the_tokens_prefix(base, s3_terra, short_terra):
    mine, theirs = s3_terra.token(), short_terra.token()
    s3 = client(base, mine)
    bucket = mine["cloudBucketName"]
    s3.put_object(Bucket=bucket, Key=key_of(mine, "a.bin"), Body=b"a")
    client(base, theirs).put_object(Bucket=bucket, Key=key_of(theirs, "b.bin"), Body=b"b")
    own = s3.list_objects_v2(Bucket=bucket, Prefix=key_of(mine, ""))
    assert [o["Key"] for o in own["Contents"]] == [key_of(mine, "a.bin")]
    for kwargs in ({}, {"Prefix": key_of(theirs, "")}):
        with pytest.raises(ClientError) as e:
            s3.list_objects_v2(Bucket=bucket, **kwargs)
        assert code(e.value) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key=key_of(theirs, "b.bin"))
    assert code(e.value) == "AccessDenied"
