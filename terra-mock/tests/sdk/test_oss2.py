"""oss2 (Aliyun's Python SDK) against terra-mock's OSS endpoint, in each signature
version, with the STS credentials of obtain_token; and an S3-compatible client (boto3)
against the same bucket, as published TerraAPI clients use it on the CN host."""
import os
import time
import urllib.request

import boto3
import oss2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import http_error

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
REGION = "cn-hangzhou"


def key_of(token, name):
    return token["storePath"].replace("{fileName}", name)


def bucket(base, token, version, secret=None, session=None):
    ak, sk = token["accessKeyID"], secret or token["secretAccessKey"]
    tok = token["sessionToken"] if session is None else session
    if version == "v4":
        provider = oss2.credentials.StaticCredentialsProvider(ak, sk, tok)
        auth = oss2.ProviderAuthV4(provider)
        return oss2.Bucket(auth, base, token["cloudBucketName"], region=REGION)
    auth = oss2.StsAuth(ak, sk, tok, auth_version=version)
    return oss2.Bucket(auth, base, token["cloudBucketName"])


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
def test_put_multipart_resumable_and_register(base, oss_terra, tmp_path, version):
    token = oss_terra.token()
    b = bucket(base, token, version)
    files = []
    for i in range(9):
        name = f"flight one/DJI+{i:04} ü.JPG"  # spaces, +, non-ASCII and /
        r = b.put_object(key_of(token, name), JPEG + bytes([i]))
        assert r.etag, "oss2 strips the quotes; the ETag is there"
        files.append((name, r.etag))
    # Multipart by hand: the ETag of complete comes from its header.
    key = key_of(token, "flight one/by-hand.JPG")
    up = b.init_multipart_upload(key).upload_id
    parts = []
    for n, chunk in enumerate([os.urandom(200 * 1024), os.urandom(1000)], start=1):
        r = b.upload_part(key, up, n, chunk)
        parts.append(oss2.models.PartInfo(n, r.etag, size=len(chunk)))
    listed = b.list_parts(key, up)
    assert [p.part_number for p in listed.parts] == [1, 2]
    done = b.complete_multipart_upload(key, up, parts)
    assert done.etag and done.etag.endswith("-2"), done.etag
    files.append(("flight one/by-hand.JPG", done.etag))
    # resumable_upload with a small part size (what oss2 users do for big files).
    big = tmp_path / "big.JPG"
    big.write_bytes(os.urandom(700 * 1024))
    store = oss2.ResumableStore(root=str(tmp_path))
    r = oss2.resumable_upload(b, key_of(token, "flight one/resumable.JPG"), str(big),
                              store=store, multipart_threshold=200 * 1024, part_size=200 * 1024, num_threads=2)
    assert r.etag
    files.append(("flight one/resumable.JPG", r.etag))
    got = b.get_object(key_of(token, "flight one/resumable.JPG")).read()
    assert got == big.read_bytes()
    # Ranges and presigned links of the same signature version.
    assert b.get_object(key, byte_range=(10, 19)).read() == b.get_object(key).read()[10:20]
    url = b.sign_url("GET", key_of(token, files[0][0]), 300)
    with urllib.request.urlopen(url) as resp:
        assert resp.read() == JPEG + bytes([0])

    resource = oss_terra.resource()
    assert len(oss_terra.register(token, resource, files)) == 11
    job = oss_terra.run_2d_job(resource)
    assert job["status"] == 6, job


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
def test_wrong_and_expired_tokens_are_refused(base, oss_terra, version):
    token = oss_terra.token()
    key = key_of(token, "x.bin")
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket(base, token, version, secret="wrong").put_object(key, b"x")
    assert e.value.code == "SignatureDoesNotMatch", e.value
    assert e.value.request_id
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket(base, token, version, session="not-a-token").put_object(key, b"x")
    assert e.value.code == "InvalidSecurityToken", e.value
    other = oss_terra.token()
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket(base, token, version, session=other["sessionToken"]).put_object(key, b"x")
    assert e.value.code == "InvalidSecurityToken"
    # A key outside the token's storePath.
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket(base, token, version).put_object(key_of(other, "x.bin"), b"x")
    assert e.value.code == "AccessDenied"
    # Listings only under the token's prefix.
    b = bucket(base, token, version)
    b.put_object(key, b"x")
    assert [o.key for o in oss2.ObjectIterator(b, prefix=key_of(token, ""))] == [key]
    with pytest.raises(oss2.exceptions.OssError) as e:
        list(oss2.ObjectIterator(b))
    assert e.value.code == "AccessDenied"


def test_the_same_connection_survives_an_error(base, oss_terra):
    """oss2 keeps its session's connections alive: after a refused PUT with a body, the
    next request on the same connection must not fail with a broken pipe."""
    token = oss_terra.token()
    good = bucket(base, token, "v1")
    bad = oss2.Bucket(oss2.StsAuth(token["accessKeyID"], "wrong", token["sessionToken"]), base,
                      token["cloudBucketName"], session=good.session)
    for _ in range(3):
        with pytest.raises(oss2.exceptions.OssError):
            bad.put_object(key_of(token, "x.bin"), os.urandom(64 * 1024))
        good.put_object(key_of(token, "x.bin"), b"fine")


def s3_compatible(base, token):
    return boto3.client(
        "s3",
        endpoint_url=base,
        region_name=REGION,
        aws_access_key_id=token["accessKeyID"],
        aws_secret_access_key=token["secretAccessKey"],
        aws_session_token=token["sessionToken"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      request_checksum_calculation="when_required"),
    )


def test_an_s3_compatible_client_on_the_oss_bucket(base, oss_terra):
    token = oss_terra.token()
    s3 = s3_compatible(base, token)
    files = []
    for i in range(10):
        name = f"s3api/DJI_{i:04}.JPG"
        r = s3.put_object(Bucket=token["cloudBucketName"], Key=key_of(token, name), Body=JPEG + bytes([i]))
        files.append((name, r["ETag"]))
    resource = oss_terra.resource()
    oss_terra.register(token, resource, files)
    assert oss_terra.run_2d_job(resource)["status"] == 6


def test_aws_chunked_uploads_get_oss_error(base, oss_terra):
    """OSS refuses the AWS SDKs' unsigned aws-chunked streaming (reference §6.3)."""
    token = oss_terra.token()
    url = f"{base}/{token['cloudBucketName']}/{key_of(token, 'chunked.bin')}"
    body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
    req = AWSRequest("PUT", url, data=body, headers={
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": "5",
        "x-amz-trailer": "x-amz-checksum-crc32",
    })
    creds = Credentials(token["accessKeyID"], token["secretAccessKey"], token["sessionToken"])
    SigV4Auth(creds, "s3", REGION).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=body, method="PUT", headers=dict(prepared.headers))
    e = http_error(lambda: urllib.request.urlopen(r))
    assert e.code == 400
    text = e.read().decode()
    assert "<Code>InvalidArgument</Code>" in text
    assert "aws-chunked encoding is not supported" in text
    assert "<EC>0017-00000804</EC>" in text
    assert e.headers["x-oss-ec"] == "0017-00000804"


def test_oss_presigned_links_expire(base, oss_terra, short_terra):
    token = oss_terra.token()
    b = bucket(base, token, "v4")
    key = key_of(token, "link.bin")
    b.put_object(key, b"soon gone")
    url = b.sign_url("GET", key, 1)
    time.sleep(2.5)
    e = http_error(lambda: urllib.request.urlopen(url))
    assert e.code == 403
    assert "Request has expired" in e.read().decode()
