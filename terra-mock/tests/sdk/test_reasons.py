"""Why a request was refused, as boto3 and oss2 users see it: S3's SignatureDoesNotMatch
with the string to sign and canonical request S3 itself adds (botocore reads them), OSS's
with its string to sign, and the emulator's request log and report naming the code."""
import hashlib
import hmac
import json
import urllib.request

import oss2
import pytest
from botocore.exceptions import ClientError

from test_boto3 import JPEG, client, key_of
from test_oss2 import bucket as oss_bucket


def control(base, path):
    with urllib.request.urlopen(base + "/_terra-mock/v1" + path) as r:
        return json.loads(r.read())


def sign_v4(secret, string_to_sign):
    date, region, service = string_to_sign.split("\n")[2].split("/")[:3]
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_boto3_with_a_wrong_secret_sees_what_was_signed(base, s3_terra):
    token = s3_terra.token()
    wrong = "a-secret-that-is-not-the-sessions-0000000"
    s3 = client(base, token, secret=wrong)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=token["cloudBucketName"], Key=key_of(token, "reasons/a.jpg"), Body=JPEG)
    err = e.value.response["Error"]
    assert err["Code"] == "SignatureDoesNotMatch"
    # What S3 adds, as botocore parses it: the string boto3 signed, and its canonical request.
    assert err["SignatureProvided"] == sign_v4(wrong, err["StringToSign"])
    assert err["CanonicalRequest"].startswith("PUT\n/")
    assert err["AWSAccessKeyId"] == token["accessKeyID"]
    logged = control(base, "/requests?code=storage_signature_mismatch&limit=1")[0]
    assert logged["refusal"]["code"] == "storage_signature_mismatch"
    assert err["StringToSign"] in logged["refusal"]["signed"]
    assert token["secretAccessKey"] not in json.dumps(logged)
    assert token["sessionToken"] not in json.dumps(logged)


def test_boto3_outside_the_store_path(base, s3_terra):
    token = s3_terra.token()
    with pytest.raises(ClientError):
        client(base, token).put_object(Bucket=token["cloudBucketName"], Key="elsewhere/a.jpg", Body=JPEG)
    logged = control(base, "/requests?code=store_path_denied&limit=1")[0]
    assert "storePath" in logged["refusal"]["message"]


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_oss2_with_a_wrong_secret(base, oss_terra, version):
    token = oss_terra.token()
    b = oss_bucket(base, token, version, secret="not-the-secret")
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as e:
        b.put_object(key_of(token, "reasons/a.jpg"), JPEG)
    logged = control(base, "/requests?code=storage_signature_mismatch&limit=1")[0]
    on_wire = e.value.details["StringToSign"]
    assert logged["refusal"]["signed"] == on_wire.replace(token["sessionToken"], "***")
    assert token["sessionToken"] not in json.dumps(logged)


def test_the_report_counts_them_by_client(base, s3_terra):
    report = control(base, "/report")
    codes = {e["code"]: e for e in report["refusals"]}
    assert "storage_signature_mismatch" in codes
    clients = [c["client"] for c in codes["storage_signature_mismatch"]["clients"]]
    assert any(c.startswith("Boto3/") or c.startswith("aliyun-sdk-python") for c in clients), clients
