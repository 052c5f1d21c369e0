"""The terra-mock wheel, installed from the wheel alone into a fresh virtual environment:
its pytest plugin, its client of the control API, and a whole flow with boto3 and oss2.
`cargo xtask test` runs this with pytest-xdist (`-n 2`)."""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import oss2
import pytest
from botocore.config import Config

import terra_mock
from terra_mock import ApiError, ControlError


@pytest.fixture(autouse=True)
def _report_the_server(request):
    """Under `cargo xtask test`: which worker ran a test with which server (xtask checks
    that there were two workers, each with its own server)."""
    yield
    report = os.environ.get("TERRA_PKG_REPORT")
    if report and "terra_mock" in request.fixturenames:
        server = request.getfixturevalue("terra_mock_server")
        with open(report, "a") as f:
            f.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} {server.base_url}\n")


def test_the_package_is_the_installed_one():
    assert sys.prefix in terra_mock.__file__, f"{terra_mock.__file__} is not from the environment"
    assert str(terra_mock.find_binary()).startswith(sys.prefix)
    out = subprocess.run([sys.executable, "-m", "terra_mock", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--data-dir" in out and "--proxy" in out


def key_of(token, name):
    return token["storePath"].replace("{fileName}", name)


def wait_job(mock, job, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = mock.api("GET", f"/jobs/{job}")
        if j["status"] in (5, 6, 7):
            return j
        mock.advance(60)
    raise AssertionError("the job did not finish")


def test_a_whole_flow_with_boto3(terra_mock, tmp_path):
    token = terra_mock.api("POST", "/store/obtain_token")
    s3 = boto3.client("s3", endpoint_url=terra_mock.storage_endpoint, region_name=token["region"],
                      aws_access_key_id=token["accessKeyID"], aws_secret_access_key=token["secretAccessKey"],
                      aws_session_token=token["sessionToken"],
                      config=Config(s3={"addressing_style": "path"}))
    files = []
    for i in range(10):
        name = f"DJI_{i:04}.JPG"
        r = s3.put_object(Bucket=token["cloudBucketName"], Key=key_of(token, name),
                          Body=b"\xff\xd8\xff\xe0" + bytes([i]) * 2000)
        files.append({"name": name, "etag": r["ETag"], "checksum": r["ETag"]})
    resource = terra_mock.api("POST", "/resources", {"name": "package flow", "type": "map"})["uuid"]
    terra_mock.api("POST", "/store/upload_callback",
                   {"callbackParam": token["callbackParam"], "resourceUUID": resource, "files": files})
    job = terra_mock.api("POST", "/jobs", {"name": "package job"})["uuid"]
    params = json.dumps({"parameter": {"map_mode": 1, "quality_level": 3}})
    terra_mock.api("POST", f"/jobs/{job}/start", {"type": 14, "resourceUuid": resource, "parameters": params})
    j = wait_job(terra_mock, job)
    assert j["status"] == 6, j
    out = terra_mock.api("GET", f"/resources/{j['outputResourceUuid']}")
    for uuid in out["fileUuids"][:3]:
        f = terra_mock.api("GET", f"/files/{uuid}")
        with urllib.request.urlopen(f["url"]) as r:
            assert len(r.read()) == f["size"], f["name"]


def test_an_oss_account_with_oss2(terra_mock):
    terra_mock.create_account("cn-ak", "cn-sk", provider="oss")
    cn = terra_mock.as_account("cn-ak", "cn-sk")
    token = cn.api("POST", "/store/obtain_token")
    assert token["cloudName"].upper() == "ALI_OSS"
    bucket = oss2.Bucket(oss2.StsAuth(token["accessKeyID"], token["secretAccessKey"], token["sessionToken"]),
                         terra_mock.storage_endpoint, token["cloudBucketName"])
    bucket.put_object(key_of(token, "a.jpg"), b"photo")
    assert bucket.get_object(key_of(token, "a.jpg")).read() == b"photo"


def test_a_fault_is_injected_and_seen(terra_mock):
    fid = terra_mock.add_fault({"type": "status", "status": 503, "retry_after": 1},
                               method="GET", path="/terra-rescon-be/v2/jobs", times=1)
    assert [f["id"] for f in terra_mock.faults()] == [fid]
    with pytest.raises(ApiError) as e:
        terra_mock.api("GET", "/jobs")
    assert e.value.status == 503 and e.value.code is None, e.value
    assert terra_mock.api("GET", "/jobs")["total"] == 0, "only once"
    seen = terra_mock.requests(path="/terra-rescon-be/v2/jobs")
    assert [r["status"] for r in seen][:2] == [200, 503]


# README.md, "Using terra-mock from any language", verbatim (a tidy test compares them).
def test_a_503_is_met(terra_mock):            # pip install terra-mock: the fixture is there
    terra_mock.add_fault({"type": "status", "status": 503}, path="/terra-rescon-be/v2/jobs", times=1)
    with pytest.raises(RuntimeError, match="503"):
        terra_mock.api("GET", "/jobs")
    assert terra_mock.api("GET", "/jobs")["total"] == 0


def test_api_errors_carry_the_envelope(terra_mock):
    with pytest.raises(ApiError) as e:
        terra_mock.api("POST", "/resources", {"type": "map"})
    assert e.value.status == 200 and e.value.code == 102001 and "name" in e.value.message, e.value


def test_control_errors_carry_kind_and_message(terra_mock):
    with pytest.raises(ControlError) as e:
        terra_mock.fail_job("00000000-0000-0000-0000-000000000000")
    assert e.value.kind == "not_found" and e.value.status == 404 and e.value.message


@pytest.mark.parametrize("round", range(4))
def test_each_test_starts_from_a_reset_state(terra_mock, round):
    # Four of these over two workers: at least two share a server, and each finds it empty.
    stats = terra_mock.stats()
    assert [a["app_key"] for a in stats["accounts"]] == [terra_mock.app_key]
    assert stats["objects"] == 0 and terra_mock.api("GET", "/resources")["total"] == 0
    assert terra_mock.faults() == []
    terra_mock.api("POST", "/resources", {"name": f"round {round}", "type": "map"})
    terra_mock.add_fault({"type": "delay", "ms": 1}, path="/nowhere")
    terra_mock.advance(7200)


def test_export_and_import_carry_the_state(terra_mock):
    terra_mock.api("POST", "/resources", {"name": "kept", "type": "map"})
    doc = terra_mock.export_state()
    terra_mock.reset()
    assert terra_mock.api("GET", "/resources")["total"] == 0
    terra_mock.import_state(doc)
    assert terra_mock.api("GET", "/resources")["list"][0]["name"] == "kept"
    terra_mock.expire_tokens()
    terra_mock.fail_next(1)


def test_a_bucket_can_be_misconfigured_for_a_browser_test(terra_mock):
    only = [{"allowed_origins": ["https://app.example"], "allowed_methods": ["PUT"], "allowed_headers": ["*"]}]
    assert terra_mock.set_storage_cors("s3", only)["rules"][0]["allowed_origins"] == ["https://app.example"]
    req = urllib.request.Request(f"{terra_mock.base_url}/terra-mock-s3/x.jpg", method="OPTIONS",
                                 headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("the preflight was granted")
    except urllib.error.HTTPError as e:
        assert e.code == 403
    assert terra_mock.set_storage_cors("s3", None)["rules"][0]["allowed_origins"] == ["*"]
    assert terra_mock.storage_cors("oss")["rules"][0]["allowed_origins"] == ["*"]


def test_a_refusal_says_why(terra_mock):
    wrong = terra_mock.as_account(terra_mock.app_key, "not-the-secret")
    try:
        wrong.api("GET", "/jobs")
        raise AssertionError("accepted")
    except ApiError as e:
        assert e.status == 401
    refused = terra_mock.requests(refused=True)[0]
    assert refused["refusal"]["code"] == "signature_mismatch"
    assert "@request-target: get /terra-rescon-be/v2/jobs" in refused["refusal"]["signed"]
    report = terra_mock.report()
    assert report["refusals"][0]["code"] == "signature_mismatch"
    assert "signature_mismatch" in terra_mock.report(text=True)


def test_a_failing_test_reports_the_server_log_and_why(pytester):
    pytester.makepyfile("""
        def test_fails(terra_mock):
            terra_mock.api("GET", "/jobs")
            try:
                terra_mock.api("GET", "/jobz")
            except Exception:
                pass
            assert False, "on purpose"
    """)
    result = pytester.runpytest_subprocess("-p", "no:xdist")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "terra-mock log" in out
    assert "terra-mock report" in out and "route_unknown" in out and "GET /terra-rescon-be/v2/jobs" in out
