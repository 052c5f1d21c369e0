//! The control API (`/_terra-mock/v1`): every operation over HTTP, the same operations
//! through the Rust harness agreeing with it, who may call it, and its errors.

mod common;

use std::time::{Duration, SystemTime};

use axum::body::Body;
use common::Api;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use terra_mock::{
    AccountConfig, ClockMode, Fault, FaultRule, JobFailure, JobTiming, ManualClock, Provider,
    RandomFaults, TerraMock,
};
use terra_types::JobStatus;
use tower::ServiceExt as _;

const V1: &str = "/_terra-mock/v1";

/// One control call through the router (an in-process caller, like a loopback one).
async fn ctl(
    mock: &TerraMock,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(format!("{V1}{path}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let resp = mock
        .router()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {bytes:?}"))
    };
    (status, v)
}

async fn ok(mock: &TerraMock, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, v) = ctl(mock, method, path, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

async fn refused(
    mock: &TerraMock,
    method: &str,
    path: &str,
    body: Option<Value>,
    want: u16,
) -> String {
    let (status, v) = ctl(mock, method, path, body).await;
    assert_eq!(status.as_u16(), want, "{method} {path}: {v}");
    v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {v}"))
        .to_owned()
}

fn manual_mock() -> TerraMock {
    TerraMock::builder()
        .manual_clock(ManualClock::at(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000),
        ))
        .timing(JobTiming::lasting(Duration::from_secs(3600)))
        .build()
        .unwrap()
}

/// A started 2D job with 10 photos; returns its uuid.
async fn started_job(mock: &TerraMock) -> String {
    let api = Api::new(mock);
    let resource = api.resource_with_images(10).await;
    let job = api.job("survey").await;
    let r = api.start(&job, &resource, 14, r#"{"parameter":{}}"#).await;
    assert_eq!(r.code(), 0, "{}", r.body);
    job
}

#[tokio::test]
async fn health_stats_and_accounts() {
    let mock = manual_mock();
    let h = ok(&mock, "GET", "/health", None).await;
    assert_eq!(
        (
            h["status"].as_str(),
            h["persistent"].as_bool(),
            h["accounts"].as_u64()
        ),
        (Some("ok"), Some(false), Some(1))
    );
    assert_eq!(h["clock"]["now"], "2026-05-28T20:26:40Z");

    // Create, list, read, refuse a duplicate and an empty key, delete.
    let created = ok(
        &mock,
        "POST",
        "/accounts",
        Some(json!({"app_key": "cn", "secret": "cn-sk", "provider": "oss", "job_quota": 3})),
    )
    .await;
    assert_eq!(
        (
            created["app_key"].as_str(),
            created["provider"].as_str(),
            created["job_quota"].as_u64()
        ),
        (Some("cn"), Some("oss"), Some(3))
    );
    assert!(
        created.get("secret").is_none(),
        "secrets are never shown: {created}"
    );
    assert!(
        refused(
            &mock,
            "POST",
            "/accounts",
            Some(json!({"app_key": "cn", "secret": "x"})),
            409
        )
        .await
        .contains("exists")
    );
    assert!(
        refused(
            &mock,
            "POST",
            "/accounts",
            Some(json!({"app_key": " ", "secret": "x"})),
            400
        )
        .await
        .contains("app key")
    );
    let msg = refused(
        &mock,
        "POST",
        "/accounts",
        Some(json!({"app_key": "x", "secret": "y", "provider": "gcs"})),
        400,
    )
    .await;
    assert!(msg.contains("provider"), "{msg}");
    let list = ok(&mock, "GET", "/accounts", None).await;
    let keys: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["terra-mock-ak", "cn"]);
    assert!(
        mock.issue_token("cn").is_some(),
        "the harness sees the account"
    );
    // The new account works on the API.
    let cn = Api::as_account(&mock, "cn", "cn-sk");
    let token = cn.ok("POST", "/store/obtain_token", None).await;
    assert_eq!(token["cloudName"], "ALI_OSS");
    let one = ok(&mock, "GET", "/accounts/cn", None).await;
    assert_eq!(one["stats"]["sessions"], 2, "two tokens issued: {one}");
    ok(&mock, "DELETE", "/accounts/cn", None).await;
    refused(&mock, "GET", "/accounts/cn", None, 404).await;
    refused(&mock, "DELETE", "/accounts/cn", None, 404).await;
    assert_eq!(
        cn.call("GET", "/jobs", None).await.status,
        StatusCode::UNAUTHORIZED,
        "deleted accounts cannot sign in"
    );

    // Stats of the whole mock.
    let api = Api::new(&mock);
    api.resource_with_images(3).await;
    let s = ok(&mock, "GET", "/stats", None).await;
    assert_eq!(s["accounts"][0]["stats"]["files"], 3);
    assert_eq!(s["accounts"][0]["stats"]["map_resources"], 1);
    assert_eq!(s["objects"], 3);
    assert_eq!(s["sessions"], 1);
    assert!(s["requests_logged"].as_u64().unwrap() >= 3);

    // A token straight from the control API, as obtain_token gives it.
    let t = ok(&mock, "POST", "/accounts/terra-mock-ak/tokens", None).await;
    assert!(
        t["storePath"].as_str().unwrap().ends_with("{fileName}"),
        "{t}"
    );
    ok(&mock, "POST", "/tokens/expire", None).await;

    // The dashboard's reads.
    let res = ok(
        &mock,
        "GET",
        "/accounts/terra-mock-ak/resources?limit=5",
        None,
    )
    .await;
    let rid = res[0]["uuid"].as_str().unwrap();
    let files = ok(
        &mock,
        "GET",
        &format!("/accounts/terra-mock-ak/resources/{rid}/files?limit=2"),
        None,
    )
    .await;
    assert_eq!(files.as_array().unwrap().len(), 2);
    refused(
        &mock,
        "GET",
        "/accounts/terra-mock-ak/resources/not-a-uuid/files",
        None,
        404,
    )
    .await;
    assert_eq!(
        ok(&mock, "GET", "/accounts/terra-mock-ak/jobs", None).await,
        json!([])
    );
}

#[tokio::test]
async fn clock_over_http() {
    let mock = manual_mock();
    let c = ok(&mock, "GET", "/clock", None).await;
    assert_eq!(
        (c["now_ms"].as_u64(), c["mode"].as_str()),
        (Some(1_780_000_000_000), Some("system"))
    );
    let c = ok(
        &mock,
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 90.5})),
    )
    .await;
    assert_eq!(c["now_ms"], 1_780_000_090_500u64);
    assert_eq!(
        mock.now(),
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_780_000_090_500)
    );
    let c = ok(
        &mock,
        "PUT",
        "/clock",
        Some(json!({"now": "2026-06-01T00:00:00Z", "mode": "manual"})),
    )
    .await;
    assert_eq!(
        (c["now"].as_str(), c["mode"].as_str()),
        (Some("2026-06-01T00:00:00Z"), Some("manual"))
    );
    assert_eq!(mock.clock_mode(), ClockMode::Manual);
    let c = ok(&mock, "PUT", "/clock", Some(json!({"now_ms": 1_000}))).await;
    assert_eq!(c["now"], "1970-01-01T00:00:01Z");
    for bad in [
        json!({"seconds": -1}),
        json!({"seconds": "soon"}),
        json!({}),
        json!({"seconds": 1, "extra": 2}),
    ] {
        refused(&mock, "POST", "/clock/advance", Some(bad), 400).await;
    }
    let msg = refused(
        &mock,
        "PUT",
        "/clock",
        Some(json!({"now": "yesterday"})),
        400,
    )
    .await;
    assert!(msg.contains("RFC 3339"), "{msg}");
    refused(
        &mock,
        "PUT",
        "/clock",
        Some(json!({"now": "2026-06-01T00:00:00Z", "now_ms": 5})),
        400,
    )
    .await;
    refused(
        &mock,
        "PUT",
        "/clock",
        Some(json!({"mode": "sideways"})),
        400,
    )
    .await;
}

#[tokio::test]
async fn jobs_over_http() {
    let mock = manual_mock();
    // Timing.
    let t = ok(&mock, "GET", "/jobs/timing", None).await;
    assert_eq!(
        serde_json::from_value::<JobTiming>(t).unwrap(),
        mock.timing()
    );
    let t = ok(&mock, "PUT", "/jobs/timing", Some(json!({"waiting": 1, "preparing": 1, "executing": 10, "executing_per_input": 0, "result_processing": 1}))).await;
    assert_eq!(t["executing"], 10.0);
    assert_eq!(mock.timing().executing, 10.0);
    refused(
        &mock,
        "PUT",
        "/jobs/timing",
        Some(json!({"waiting": -5})),
        400,
    )
    .await;

    // Move a job forward, then finish it: outputs appear.
    let job = started_job(&mock).await;
    let j = ok(
        &mock,
        "POST",
        &format!("/jobs/{job}/move"),
        Some(json!({"status": "executing"})),
    )
    .await;
    assert_eq!(j["status"], 3);
    let j = ok(
        &mock,
        "POST",
        &format!("/jobs/{job}/move"),
        Some(json!({"status": 6})),
    )
    .await;
    assert_eq!(j["status"], 6);
    assert!(j["outputResourceUuid"].is_string(), "{j}");
    let msg = refused(
        &mock,
        "POST",
        &format!("/jobs/{job}/move"),
        Some(json!({"status": "preparing"})),
        409,
    )
    .await;
    assert!(msg.contains("only a started, unfinished job"), "{msg}");
    refused(
        &mock,
        "POST",
        &format!("/jobs/{job}/move"),
        Some(json!({"status": "sideways"})),
        400,
    )
    .await;
    refused(
        &mock,
        "POST",
        "/jobs/00000000-0000-0000-0000-000000000000/move",
        Some(json!({"status": 6})),
        404,
    )
    .await;

    // Fail a running job with a code.
    let job = started_job(&mock).await;
    let j = ok(
        &mock,
        "POST",
        &format!("/jobs/{job}/fail"),
        Some(json!({"code": "E1001", "message": "Insufficient overlap"})),
    )
    .await;
    assert_eq!(
        (j["status"].as_i64(), j["message"].as_str()),
        (Some(7), Some("E1001: Insufficient overlap"))
    );

    // The next two started jobs fail at the end of preparing.
    let q = ok(
        &mock,
        "POST",
        "/jobs/fail-next",
        Some(json!({"count": 2, "at": "preparing", "message": "Image files are corrupted"})),
    )
    .await;
    assert_eq!(q["queued"], 2);
    refused(
        &mock,
        "POST",
        "/jobs/fail-next",
        Some(json!({"at": "finished"})),
        400,
    )
    .await;
    let job = started_job(&mock).await;
    mock.advance(Duration::from_secs(100));
    let jobs = mock.jobs(mock.app_key());
    let j = jobs.last().unwrap();
    assert_eq!(
        (j.uuid.as_str(), j.status, j.message.as_deref()),
        (
            job.as_str(),
            JobStatus::Failed,
            Some("Image files are corrupted")
        )
    );
    assert_eq!(ok(&mock, "GET", "/jobs/fail-next", None).await["queued"], 1);
    ok(&mock, "DELETE", "/jobs/fail-next", None).await;
    assert_eq!(ok(&mock, "GET", "/jobs/fail-next", None).await["queued"], 0);

    // Jobs as the dashboard reads them, newest first.
    let jobs = ok(&mock, "GET", "/accounts/terra-mock-ak/jobs?limit=2", None).await;
    assert_eq!(jobs.as_array().unwrap().len(), 2);
    assert_eq!(jobs[0]["uuid"], job);
}

#[tokio::test]
async fn faults_over_http() {
    let mock = manual_mock();
    let api = Api::new(&mock);
    let id = ok(&mock, "POST", "/faults", Some(json!({"method": "GET", "path": "/terra-rescon-be/v2/jobs", "times": 2, "fault": {"type": "status", "status": 503, "retry_after": 1}}))).await["id"].as_u64().unwrap();
    let list = ok(&mock, "GET", "/faults", None).await;
    assert_eq!(
        list,
        json!([{"id": id, "method": "GET", "path": "/terra-rescon-be/v2/jobs", "scope": "all", "remaining": 2, "fault": {"type": "status", "status": 503, "retry_after": 1}}])
    );
    let r = api.call("GET", "/jobs", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ok(&mock, "GET", "/faults", None).await[0]["remaining"], 1);
    // Control calls are never faulted.
    ok(
        &mock,
        "POST",
        "/faults",
        Some(json!({"fault": {"type": "reset"}})),
    )
    .await;
    ok(&mock, "GET", "/health", None).await;
    ok(&mock, "DELETE", &format!("/faults/{id}"), None).await;
    refused(&mock, "DELETE", &format!("/faults/{id}"), None, 404).await;
    refused(&mock, "DELETE", "/faults/abc", None, 400).await;
    ok(&mock, "DELETE", "/faults", None).await;
    assert_eq!(ok(&mock, "GET", "/faults", None).await, json!([]));

    // Every kind of fault reads back as written.
    for f in [
        json!({"type": "status_after_processing", "status": 502}),
        json!({"type": "delay", "ms": 5}),
        json!({"type": "reset_after_processing"}),
        json!({"type": "api_error", "status": 200, "code": 701, "message": "authentication error"}),
    ] {
        ok(
            &mock,
            "POST",
            "/faults",
            Some(json!({"scope": "api", "times": 1, "fault": f.clone()})),
        )
        .await;
        assert_eq!(ok(&mock, "GET", "/faults", None).await[0]["fault"], f);
        ok(&mock, "DELETE", "/faults", None).await;
    }
    let r = {
        ok(&mock, "POST", "/faults", Some(json!({"times": 1, "fault": {"type": "api_error", "code": 102000, "message": "busy"}}))).await;
        api.call("GET", "/jobs", None).await
    };
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (StatusCode::OK, 102000, "busy")
    );
    for bad in [
        json!({"fault": {"type": "status", "status": 99}}),
        json!({"fault": {"type": "explode"}}),
        json!({"times": 0, "fault": {"type": "reset"}}),
        json!({"fault": {"type": "delay", "ms": 86_400_000}}),
        json!({"method": "GET"}),
    ] {
        refused(&mock, "POST", "/faults", Some(bad), 400).await;
    }

    // Random faults.
    assert_eq!(ok(&mock, "GET", "/faults/random", None).await, Value::Null);
    let r = ok(
        &mock,
        "PUT",
        "/faults/random",
        Some(json!({"seed": 7, "error_5xx": 1.0, "scope": "api"})),
    )
    .await;
    assert_eq!(
        (r["seed"].as_u64(), r["error_5xx"].as_f64()),
        (Some(7), Some(1.0))
    );
    assert!(
        api.call("GET", "/jobs", None)
            .await
            .status
            .is_server_error()
    );
    refused(
        &mock,
        "PUT",
        "/faults/random",
        Some(json!({"error_5xx": 0.7, "reset": 0.7})),
        400,
    )
    .await;
    refused(
        &mock,
        "PUT",
        "/faults/random",
        Some(json!({"latency": 2.0})),
        400,
    )
    .await;
    ok(&mock, "DELETE", "/faults/random", None).await;
    assert_eq!(api.call("GET", "/jobs", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn requests_over_http() {
    let mock = manual_mock();
    let api = Api::new(&mock);
    api.call("GET", "/jobs?page=1", None).await;
    api.call("POST", "/jobs", Some(json!({"name": "a"}))).await;
    api.call("GET", "/jobs/not-a-uuid", None).await;
    let unsigned = Request::builder()
        .uri("/terra-rescon-be/v2/resources")
        .body(Body::empty())
        .unwrap();
    mock.router().oneshot(unsigned).await.unwrap();
    ok(&mock, "GET", "/health", None).await;

    let all = ok(&mock, "GET", "/requests", None).await;
    let paths: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            "GET /terra-rescon-be/v2/resources",
            "GET /terra-rescon-be/v2/jobs/not-a-uuid",
            "POST /terra-rescon-be/v2/jobs",
            "GET /terra-rescon-be/v2/jobs"
        ],
        "newest first, control calls not logged"
    );
    assert_eq!(all[0]["status"], 401);
    assert_eq!(all[0]["app_key"], Value::Null);
    assert_eq!(all[1]["app_key"], "terra-mock-ak");
    assert_ne!(all[1]["api_code"], 0);
    assert!(all[3]["target"].as_str().unwrap().ends_with("?page=1"));
    assert!(
        all[3].get("headers").is_none(),
        "headers only with full=true"
    );

    let only_posts = ok(&mock, "GET", "/requests?method=post&full=true", None).await;
    assert_eq!(only_posts.as_array().unwrap().len(), 1);
    assert_eq!(only_posts[0]["body"], r#"{"name":"a"}"#);
    let auth = only_posts[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "authorization")
        .unwrap();
    assert!(
        auth["value"]
            .as_str()
            .unwrap()
            .starts_with("hmac username=\"terra-mock-ak\""),
        "{auth}"
    );
    assert_eq!(
        ok(&mock, "GET", "/requests?status=401", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ok(
            &mock,
            "GET",
            "/requests?app_key=terra-mock-ak&limit=2",
            None
        )
        .await
        .as_array()
        .unwrap()
        .len(),
        2
    );
    assert_eq!(
        ok(
            &mock,
            "GET",
            "/requests?path=/terra-rescon-be/v2/jobs/",
            None
        )
        .await
        .as_array()
        .unwrap()
        .len(),
        1
    );
    let later = mock.now() + Duration::from_secs(1);
    let since = later
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert_eq!(
        ok(&mock, "GET", &format!("/requests?since_ms={since}"), None).await,
        json!([])
    );
    refused(&mock, "GET", "/requests?limit=many", None, 400).await;
    refused(&mock, "GET", "/requests?limit=1000000", None, 400).await;
    refused(&mock, "GET", "/requests?colour=red", None, 400).await;
    ok(&mock, "DELETE", "/requests", None).await;
    assert_eq!(ok(&mock, "GET", "/requests", None).await, json!([]));
}

#[tokio::test]
async fn reset_over_http() {
    let mock = manual_mock();
    mock.create_account(AccountConfig::new("other", "other-sk", Provider::S3))
        .unwrap();
    let api = Api::new(&mock);
    let other = Api::as_account(&mock, "other", "other-sk");
    api.resource_with_images(2).await;
    other.resource_with_images(3).await;
    mock.inject(FaultRule::on("GET", "/nowhere").fault(Fault::Reset));

    // One account.
    ok(&mock, "POST", "/accounts/other/reset", None).await;
    assert_eq!(
        (mock.stats("other").files, mock.stats(mock.app_key()).files),
        (0, 2)
    );
    assert_eq!(mock.object_count(), 2, "the other account's objects went");
    refused(&mock, "POST", "/accounts/nobody/reset", None, 404).await;
    ok(&mock, "POST", "/reset?app_key=terra-mock-ak", None).await;
    assert_eq!(mock.stats(mock.app_key()).files, 0);

    // Everything: accounts back to the configured ones.
    api.resource_with_images(1).await;
    ok(&mock, "POST", "/reset", None).await;
    assert_eq!(mock.accounts().len(), 1);
    assert_eq!(mock.object_count(), 0);
    assert!(mock.faults().is_empty());
    assert!(mock.requests().is_empty());
    assert_eq!(api.ok("GET", "/resources", None).await["list"], json!([]));
}

#[tokio::test]
async fn errors_are_json_and_name_the_route() {
    let mock = manual_mock();
    let msg = refused(&mock, "GET", "/nothing-here", None, 404).await;
    assert!(
        msg.contains("GET /_terra-mock/v1/nothing-here") && msg.contains("openapi.json"),
        "{msg}"
    );
    let msg = refused(&mock, "PATCH", "/clock", None, 405).await;
    assert!(msg.contains("PATCH"), "{msg}");
    let (status, v) = ctl(&mock, "POST", "/clock/advance", None).await;
    assert_eq!(status, 400, "{v}");
    // Malformed JSON names where.
    let req = Request::builder()
        .method("POST")
        .uri(format!("{V1}/faults"))
        .body(Body::from(
            r#"{"fault": {"type": "status", "status": "x"}}"#,
        ))
        .unwrap();
    let resp = mock.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("fault"),
        "{v}"
    );
    // A body past the limit.
    let req = Request::builder()
        .method("POST")
        .uri(format!("{V1}/accounts"))
        .body(Body::from(vec![b' '; 2 << 20]))
        .unwrap();
    assert_eq!(mock.router().oneshot(req).await.unwrap().status(), 413);
    // The documents and the dashboard.
    for (path, kind) in [
        ("/_terra-mock/v1/openapi.json", "application/json"),
        ("/_terra-mock/terra-api.json", "application/json"),
        ("/_terra-mock/", "text/html; charset=utf-8"),
        ("/_terra-mock", "text/html; charset=utf-8"),
    ] {
        let resp = mock
            .router()
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            (
                resp.status().as_u16(),
                resp.headers()["content-type"].to_str().unwrap()
            ),
            (200, kind),
            "{path}"
        );
    }
    // Not a control route: a bucket named like it does not exist (S3 names cannot start with `_`).
    let resp = mock
        .router()
        .oneshot(
            Request::builder()
                .uri("/_terra-mockery/x")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_ne!(resp.status(), 200);
}

/// The harness and the HTTP API are one implementation: the same script through each
/// leaves two mocks in the same state.
#[tokio::test]
async fn harness_and_http_agree() {
    let (a, b) = (manual_mock(), manual_mock());
    // Accounts.
    a.create_account(AccountConfig {
        job_quota: Some(5),
        ..AccountConfig::new("x", "x-sk", Provider::Oss)
    })
    .unwrap();
    ok(
        &b,
        "POST",
        "/accounts",
        Some(json!({"app_key": "x", "secret": "x-sk", "provider": "oss", "job_quota": 5})),
    )
    .await;
    assert_eq!(a.accounts(), b.accounts());
    // Clock.
    a.advance(Duration::from_secs(30));
    ok(&b, "POST", "/clock/advance", Some(json!({"seconds": 30}))).await;
    a.set_clock_mode(ClockMode::Manual);
    ok(&b, "PUT", "/clock", Some(json!({"mode": "manual"}))).await;
    assert_eq!((a.now(), a.clock_mode()), (b.now(), b.clock_mode()));
    // Timing.
    let timing = JobTiming::lasting(Duration::from_secs(100));
    a.set_timing(timing.clone()).unwrap();
    ok(
        &b,
        "PUT",
        "/jobs/timing",
        Some(serde_json::to_value(&timing).unwrap()),
    )
    .await;
    assert_eq!(a.timing(), b.timing());
    // Faults.
    a.inject(
        FaultRule::on("POST", "/terra-rescon-be/v2/jobs")
            .times(3)
            .fault(Fault::Status {
                status: 503,
                retry_after: Some(2),
            }),
    );
    ok(&b, "POST", "/faults", Some(json!({"method": "POST", "path": "/terra-rescon-be/v2/jobs", "times": 3, "fault": {"type": "status", "status": 503, "retry_after": 2}}))).await;
    assert_eq!(a.faults(), b.faults());
    let listed = ok(&a, "GET", "/faults", None).await;
    assert_eq!(
        listed,
        ok(&b, "GET", "/faults", None).await,
        "the harness's rule reads back the same over HTTP"
    );
    a.clear_faults();
    ok(&b, "DELETE", "/faults", None).await;
    a.set_random_faults(Some(RandomFaults {
        seed: 3,
        latency: 0.5,
        latency_ms: 1,
        ..Default::default()
    }))
    .unwrap();
    ok(
        &b,
        "PUT",
        "/faults/random",
        Some(json!({"seed": 3, "latency": 0.5, "latency_ms": 1})),
    )
    .await;
    assert_eq!(
        ok(&a, "GET", "/faults/random", None).await,
        ok(&b, "GET", "/faults/random", None).await
    );
    a.set_random_faults(None).unwrap();
    ok(&b, "DELETE", "/faults/random", None).await;
    // Jobs: the same flow, one failed through the harness, the other over HTTP.
    a.fail_next_job(JobFailure {
        at: JobStatus::Preparing,
        message: "broken".into(),
    });
    ok(
        &b,
        "POST",
        "/jobs/fail-next",
        Some(json!({"at": 2, "message": "broken"})),
    )
    .await;
    let (ja, jb) = (started_job(&a).await, started_job(&b).await);
    a.advance(Duration::from_secs(50));
    ok(&b, "POST", "/clock/advance", Some(json!({"seconds": 50}))).await;
    let (va, vb) = (&a.jobs(a.app_key())[0], &b.jobs(b.app_key())[0]);
    assert_eq!((va.status, &va.message), (vb.status, &vb.message));
    assert_eq!(va.status, JobStatus::Failed);
    let _ = (ja, jb);
    let (ja, jb) = (started_job(&a).await, started_job(&b).await);
    a.move_job(&ja, JobStatus::Succeeded, None).unwrap();
    ok(
        &b,
        "POST",
        &format!("/jobs/{jb}/move"),
        Some(json!({"status": "finished"})),
    )
    .await;
    // Stats agree, field by field.
    let (sa, sb) = (
        ok(&a, "GET", "/stats", None).await,
        ok(&b, "GET", "/stats", None).await,
    );
    assert_eq!(sa["accounts"], sb["accounts"]);
    assert_eq!(
        serde_json::to_value(a.stats(a.app_key())).unwrap(),
        sb["accounts"][0]["stats"]
    );
    // Reset.
    a.reset_account("x").unwrap();
    ok(&b, "POST", "/accounts/x/reset", None).await;
    a.delete_account("x").unwrap();
    ok(&b, "DELETE", "/accounts/x", None).await;
    a.reset();
    ok(&b, "POST", "/reset", None).await;
    assert_eq!(
        ok(&a, "GET", "/stats", None).await,
        ok(&b, "GET", "/stats", None).await
    );
}

/// Over a socket: loopback callers are served; a non-loopback bind keeps the control API
/// off without a token, and asks for the token with one.
#[tokio::test]
async fn who_may_call_it() {
    let http = reqwest::Client::new();
    let local = TerraMock::start().await.unwrap();
    let url = local.control_url().unwrap();
    assert_eq!(
        http.get(format!("{url}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let open = TerraMock::builder()
        .bind("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    assert_eq!(open.control_url(), None);
    let port = open.addr().port();
    let r = http
        .get(format!("http://127.0.0.1:{port}{V1}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--admin-token"),
        "{v}"
    );
    // The API itself still answers.
    let r = http
        .get(format!("http://127.0.0.1:{port}/terra-rescon-be/v2/jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let cfg = terra_mock::MockConfig {
        admin_token: Some(terra_mock::AdminToken::new("let-me-in")),
        ..Default::default()
    };
    let guarded = TerraMock::builder()
        .config(cfg)
        .bind("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}{V1}", guarded.addr().port());
    let status = |path: &str, token: Option<&str>| {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(status("/health", None).await, 401);
    assert_eq!(status("/health", Some("wrong")).await, 401);
    assert_eq!(status("/health", Some("let-me-in")).await, 200);
    // The documents and the page carry no state: no token needed.
    assert_eq!(status("/openapi.json", None).await, 200);
    assert!(
        !format!("{:?}", guarded.config()).contains("let-me-in"),
        "the token is redacted in Debug"
    );
}
