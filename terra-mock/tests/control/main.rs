//! The control API (`/_terra-mock/v1`): every operation over HTTP, the same operations
//! through the Rust harness agreeing with it, who may call it, and its errors.

mod clock_and_jobs;
#[path = "../common/mod.rs"]
mod common;
mod faults_and_log;
mod harness;
mod no_web_page;

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
    if body.is_some() || method != "GET" {
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
        .header("content-type", "application/json")
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
        .header("content-type", "application/json")
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
