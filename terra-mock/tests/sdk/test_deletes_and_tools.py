"""Multi-object deletes and the high-level tools users point at the buckets: boto3
`delete_objects`, oss2 `batch_delete_objects`, the AWS CLI (`s3 sync` of a folder with an
empty file, `s3 rm --recursive`) and Aliyun's newer Python SDK (alibabacloud-oss-v2),
each unmodified, under a prefix-scoped STS session."""
import os
import shutil
import subprocess
import sys

import oss2
import pytest

from test_boto3 import client, code, key_of
from test_oss2 import REGION, bucket


def test_boto3_delete_objects_in_and_outside_the_prefix(base, s3_terra):
    token, other = s3_terra.token(), s3_terra.token()
    s3, s3_other = client(base, token), client(base, other)
    b = token["cloudBucketName"]
    mine = [key_of(token, f"del/{i} +ü.jpg") for i in range(5)]
    for k in mine:
        s3.put_object(Bucket=b, Key=k, Body=b"x")
    theirs = key_of(other, "theirs.jpg")
    s3_other.put_object(Bucket=b, Key=theirs, Body=b"y")
    out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in mine + [theirs]]})
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted(mine)
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [(theirs, "AccessDenied")]
    assert s3.list_objects_v2(Bucket=b, Prefix=key_of(token, "del/"))["KeyCount"] == 0
    assert s3_other.head_object(Bucket=b, Key=theirs)["ContentLength"] == 1
    quiet = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": theirs}], "Quiet": True})
    assert "Deleted" not in quiet and len(quiet["Errors"]) == 1


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_oss2_batch_delete_objects(base, oss_terra, version):
    token = oss_terra.token()
    bk = bucket(base, token, version)
    names = [key_of(token, f"batch/{i} &+ü<>.jpg") for i in range(4)]
    for k in names:
        bk.put_object(k, b"x")
    r = bk.batch_delete_objects(names)
    assert sorted(r.deleted_keys) == sorted(names)
    assert list(oss2.ObjectIteratorV2(bk, prefix=key_of(token, "batch/"))) == []
    other = oss_terra.token()
    theirs = key_of(other, "theirs.jpg")
    bucket(base, other, version).put_object(theirs, b"y")
    with pytest.raises(oss2.exceptions.AccessDenied):
        bk.batch_delete_objects([theirs])


def aws(base, token, *args):
    """The AWS CLI (installed beside boto3) against the mock, with the token's keys."""
    exe = shutil.which("aws", path=os.path.dirname(sys.executable))
    assert exe, "the AWS CLI is installed with the suite"
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=token["accessKeyID"],
        AWS_SECRET_ACCESS_KEY=token["secretAccessKey"],
        AWS_SESSION_TOKEN=token["sessionToken"],
        AWS_DEFAULT_REGION=token["region"],
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    # A short read timeout: a connection the CLI misreads shows as a failure, not a wait.
    return subprocess.run(
        [exe, "--endpoint-url", base, "--cli-read-timeout", "10", "s3", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


def test_aws_cli_sync_with_an_empty_file_then_rm_recursive(base, s3_terra, tmp_path):
    token = s3_terra.token()
    b = token["cloudBucketName"]
    (tmp_path / "sub").mkdir()
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8" + os.urandom(5000))
    (tmp_path / "sub" / "also empty").write_bytes(b"")
    (tmp_path / "sub" / "b.jpg").write_bytes(os.urandom(70_000))
    prefix = key_of(token, "synced")
    done = aws(base, token, "sync", str(tmp_path), f"s3://{b}/{prefix}")
    assert done.returncode == 0, done.stderr
    s3 = client(base, token)
    listed = s3.list_objects_v2(Bucket=b, Prefix=prefix + "/")
    got = {o["Key"][len(prefix) + 1:]: o["Size"] for o in listed["Contents"]}
    assert got == {"a.jpg": 5002, "empty.txt": 0, "sub/also empty": 0, "sub/b.jpg": 70_000}
    # A second sync has nothing to do.
    again = aws(base, token, "sync", str(tmp_path), f"s3://{b}/{prefix}")
    assert again.returncode == 0 and "upload:" not in again.stdout, again.stdout + again.stderr
    gone = aws(base, token, "rm", "--recursive", f"s3://{b}/{prefix}/")
    assert gone.returncode == 0, gone.stderr
    assert s3.list_objects_v2(Bucket=b, Prefix=prefix + "/")["KeyCount"] == 0


def test_alibabacloud_oss_v2_put_list_get_delete(base, oss_terra):
    import alibabacloud_oss_v2 as oss

    token = oss_terra.token()
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        token["accessKeyID"], token["secretAccessKey"], token["sessionToken"])
    cfg.region = REGION
    cfg.endpoint = base
    cfg.use_path_style = True
    c = oss.Client(cfg)
    b = token["cloudBucketName"]
    keys = [key_of(token, f"v2/{i} ü+.jpg") for i in range(3)]
    for k in keys:
        r = c.put_object(oss.PutObjectRequest(bucket=b, key=k, body=b"hello " + k.encode()))
        assert r.status_code == 200 and r.etag
    listed = c.list_objects_v2(oss.ListObjectsV2Request(bucket=b, prefix=key_of(token, "v2/")))
    assert sorted(o.key for o in listed.contents) == sorted(keys)
    got = c.get_object(oss.GetObjectRequest(bucket=b, key=keys[0]))
    assert got.body.read() == b"hello " + keys[0].encode()
    assert c.is_object_exist(b, keys[0])
    out = c.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=b, objects=[oss.DeleteObject(key=k) for k in keys]))
    assert sorted(d.key for d in out.deleted_objects) == sorted(keys)
    assert not c.is_object_exist(b, keys[0])
