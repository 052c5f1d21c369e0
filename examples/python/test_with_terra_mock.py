"""A TerraAPI integration tested against terra-mock from Python: accounts, uploads with
boto3, a job finished by advancing the mock's clock, a 503 retried, the request log read,
and every response checked against the OpenAPI document of TerraAPI. The `terra_mock`
fixture comes from the terra-mock package (`pip install terra-mock`): a server per test
session, its state reset before each test."""
import json
import time
import urllib.request

import boto3
import jsonschema
import pytest
from botocore.config import Config
from openapi_spec_validator import validate as validate_openapi

from terra import Terra


@pytest.fixture
def mock(terra_mock):
    """The package's fixture, under the name these tests use."""
    return terra_mock


@pytest.fixture
def account(mock):
    """A fresh account of its own, created through the control API."""
    mock.create_account("py-ak", "py-sk", provider="s3")
    mock.set_timing(waiting=5, preparing=60, executing=3600, executing_per_input=0, result_processing=60)
    return Terra(mock.base_url, "py-ak", "py-sk")


def upload(mock, terra, names):
    """Uploads with boto3 and the STS credentials of obtain_token; returns the callback files."""
    token = terra.call("POST", "/store/obtain_token", route="/store/obtain_token")
    s3 = boto3.client(
        "s3", endpoint_url=mock.storage_endpoint, region_name=token["region"],
        aws_access_key_id=token["accessKeyID"], aws_secret_access_key=token["secretAccessKey"],
        aws_session_token=token["sessionToken"], config=Config(s3={"addressing_style": "path"}))
    files = []
    for i, name in enumerate(names):
        key = token["storePath"].replace("{fileName}", name)
        etag = s3.put_object(Bucket=token["cloudBucketName"], Key=key, Body=b"\xff\xd8 photo %d" % i)["ETag"]
        files.append({"name": name, "etag": etag, "checksum": etag})
    return token, files


def test_a_whole_flow_with_the_clock_advanced(mock, account):
    terra = account
    token, files = upload(mock, terra, [f"DJI_{i:04}.JPG" for i in range(12)])
    resource = terra.call("POST", "/resources", {"name": "site", "type": "map"}, route="/resources", detail=True)
    terra.call("POST", "/store/upload_callback",
               {"callbackParam": token["callbackParam"], "resourceUUID": resource["uuid"], "files": files},
               route="/store/upload_callback")
    job = terra.call("POST", "/jobs", {"name": "site 2D"}, route="/jobs")
    started = terra.call("POST", f"/jobs/{job['uuid']}/start",
                         {"type": 14, "resourceUuid": resource["uuid"], "parameters": json.dumps({"parameter": {}})},
                         route="/jobs/{uuid}/start")
    assert started["status"] in (1, 2)

    # An hour and more of reconstruction, in no time.
    clock = mock.advance(4000)
    assert clock["mode"] == "system"
    done = terra.call("GET", f"/jobs/{job['uuid']}", route="/jobs/{uuid}")
    assert done["status"] == 6, done
    outputs = terra.call("GET", f"/resources/{done['outputResourceUuid']}", route="/resources/{uuid}")
    assert outputs["fileUuids"]
    first = terra.call("GET", f"/files/{outputs['fileUuids'][0]}", route="/files/{uuid}")
    with urllib.request.urlopen(first["url"]) as r:
        assert r.status == 200 and len(r.read()) == first["size"]
    terra.call("GET", "/jobs?page=1&rows=10", route="/jobs")
    terra.call("GET", "/resources?page=1&rows=10", route="/resources")
    terra.call("GET", f"/files?resourceUuid={resource['uuid']}&needURL=true", route="/files")

    stats = mock.account("py-ak")["stats"]
    assert (stats["map_resources"], stats["output_resources"], stats["jobs"]) == (1, 1, 1)
    check_against_the_openapi_document(mock, terra.responses)


def test_a_503_is_retried_and_the_log_shows_it(mock, account):
    terra = account
    job = terra.call("POST", "/jobs", {"name": "flaky"}, route="/jobs")
    mock.add_fault({"type": "status", "status": 503, "retry_after": 0},
                   method="GET", path=f"/terra-rescon-be/v2/jobs/{job['uuid']}", times=1)
    got = terra.call("GET", f"/jobs/{job['uuid']}", route="/jobs/{uuid}")
    assert got["uuid"] == job["uuid"]
    log = mock.requests(path=f"/terra-rescon-be/v2/jobs/{job['uuid']}", app_key="py-ak")
    # Newest first: the retry succeeded after the injected 503 (which came before the
    # gateway, so it names no account).
    statuses = [r["status"] for r in mock.requests(path=f"/terra-rescon-be/v2/jobs/{job['uuid']}")]
    assert statuses == [200, 503], statuses
    assert [r["status"] for r in log] == [200]
    assert mock.faults() == [], "a rule that fired its count is gone"


def test_reset_and_accounts(mock, account):
    terra = account
    terra.call("POST", "/resources", {"name": "x", "type": "map"}, route="/resources")
    mock.reset(app_key="py-ak")
    assert terra.call("GET", "/resources", route="/resources")["list"] == []
    mock.delete_account("py-ak")
    with pytest.raises(Exception):
        terra.call("GET", "/jobs", route="/jobs")


def check_against_the_openapi_document(mock, responses):
    """Every response of the flow matches the schema the document gives its route."""
    with urllib.request.urlopen(mock.base_url + "/_terra-mock/terra-api.json") as r:
        doc = json.load(r)
    with urllib.request.urlopen(mock.control_url + "/openapi.json") as r:
        validate_openapi(json.load(r))
    validate_openapi(doc)
    checked = 0
    for method, route, status, body in responses:
        op = doc["paths"][route.split("?")[0]][method.lower()]
        schema = dict(op["responses"][str(status)]["content"]["application/json"]["schema"])
        schema["components"] = doc["components"]
        jsonschema.Draft202012Validator(schema).validate(body)
        checked += 1
    assert checked >= 10
