//! Every route of the reference §3.0: success and each documented error.

#[path = "../common/mod.rs"]
mod common;
mod empty_strings;
mod jobs;
mod resources;
mod store;

use std::time::Duration;

use common::{Api, V2, normalize};
use http::StatusCode;
use serde_json::{Value, json};
use terra_mock::{ErrorStatus, ManualClock, MinimalCreate, Provider, TerraMock};

fn mock() -> TerraMock {
    TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .build()
        .unwrap()
}

const P3D: &str = r#"{"parameter":{"output_mesh":true,"generate_obj":true}}"#;

#[tokio::test]
async fn accounts_are_isolated() {
    let m = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .add_account("b-ak", "b-sk", Provider::Oss)
        .build()
        .unwrap();
    let a = Api::new(&m);
    let b = Api::as_account(&m, "b-ak", "b-sk");
    let rid = a.resource_with_images(10).await;
    let jid = a.job("mine").await;
    let fid = a.ok("GET", "/files?rows=1", None).await["list"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        b.err("GET", &format!("/resources/{rid}"), None).await.0,
        102002
    );
    assert_eq!(b.err("GET", &format!("/files/{fid}"), None).await.0, 102002);
    assert_eq!(b.err("GET", &format!("/jobs/{jid}"), None).await.0, 102114);
    assert_eq!(
        b.err("DELETE", &format!("/resources/{rid}"), None).await.0,
        102002
    );
    let bj = b.job("theirs").await;
    assert_eq!(b.start(&bj, &rid, 15, P3D).await.code(), 102002);
    for list in ["/resources", "/files", "/jobs"] {
        assert_eq!(
            b.ok("GET", list, None).await["total"],
            if list == "/jobs" { 1 } else { 0 },
            "{list}"
        );
    }
    assert_eq!(
        b.ok("POST", "/store/obtain_token", None).await["cloudName"],
        "ALI_OSS"
    );
}

#[tokio::test]
async fn business_errors_can_use_http_statuses() {
    let m = TerraMock::builder()
        .error_status(ErrorStatus::Http4xx)
        .build()
        .unwrap();
    let api = Api::new(&m);
    let r = api
        .call("GET", "/jobs/6d1f3c2e-0000-4000-8000-000000000002", None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, 102114));
    let r = api.call("POST", "/jobs", Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, 102001));
    insta::assert_json_snapshot!("error_envelope", r.body);
}

#[tokio::test]
async fn unknown_routes_name_the_route() {
    let m = mock();
    let api = Api::new(&m);
    let r = api.call("GET", "/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("GET /terra-rescon-be/v2/nothing/here"),
        "{}",
        r.body
    );
    let r = api
        .raw(
            http::Request::get("/v1/jobs")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["message"].as_str().unwrap().contains("/v1/jobs"));
}

#[tokio::test]
async fn requests_are_recorded_without_secrets() {
    let m = mock();
    let api = Api::new(&m);
    api.ok(
        "POST",
        "/resources",
        Some(json!({"name": "x", "type": "map"})),
    )
    .await;
    let log = m.requests();
    let last = log.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path(), last.status),
        ("POST", "/terra-rescon-be/v2/resources", 200)
    );
    assert_eq!(last.app_key.as_deref(), Some(m.app_key()));
    assert!(
        last.header("authorization")
            .unwrap()
            .starts_with("hmac username=\"terra-mock-ak\"")
    );
    assert!(String::from_utf8_lossy(&last.body).contains("\"name\":\"x\""));
}
