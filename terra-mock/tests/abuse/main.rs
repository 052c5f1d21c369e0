//! The mock as a shared server under hostile use: one test per case that broke it (issue
//! 10's table). Each asserts what a user of a long-lived shared emulator relies on: cheap
//! refusals before authentication, connections that cannot be starved, one account never
//! seeing another's keys, bounded state, pages that cost what they return, no panic and
//! no 5xx from client input.

#[path = "../common/mod.rs"]
mod common;
mod connections;
mod faults;
mod private_files;
mod proxy;
mod storage;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{Api, Server, V2, s3_client};
use http::StatusCode;
use serde_json::json;
use terra_mock::{MockConfig, Provider, TerraMock};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_types::StsToken;
use tower::ServiceExt as _;

/// A signed API call to a server over HTTP.
async fn signed_get(base: &str, target: &str) -> reqwest::Result<reqwest::Response> {
    let signed = sign(
        &SignableRequest::new("GET", target, b""),
        &Credentials::new(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET),
        &SigningParams::new(SystemTime::now()),
    );
    let mut req = reqwest::Client::new().get(format!("{base}{target}"));
    for (n, v) in signed.headers() {
        req = req.header(n, v);
    }
    req.timeout(Duration::from_secs(30)).send().await
}

/// Row 4: obtain_token in a loop grew the server without bound (876k sessions, 744 MB,
/// never freed). An account holds at most `max_sessions_per_account`, and expired ones go
/// after the grace period.
#[tokio::test]
async fn sessions_are_bounded_and_expire() {
    let clock = terra_mock::ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock)
        .config(MockConfig {
            max_sessions_per_account: 500,
            ..Default::default()
        })
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let mut first = None;
    for _ in 0..3000 {
        let t = api.ok("POST", "/store/obtain_token", None).await;
        first.get_or_insert(t);
    }
    assert_eq!(mock.sessions(mock.app_key()), 500);
    // The oldest was dropped: its callbackParam is unknown now.
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .clone();
    let first: StsToken = serde_json::from_value(first.unwrap()).unwrap();
    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(json!({"callbackParam": first.callback_param, "resourceUUID": rid, "files": [{"name": "a.jpg", "etag": "x", "checksum": "x"}]})),
        )
        .await;
    assert_eq!(code, 102001, "{msg}");
    // A day later every session and grant has expired and been dropped.
    mock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(mock.sessions(mock.app_key()), 0);
}

/// Row 5: with 5,200 jobs, `GET /v2/jobs?rows=10` built a view of every job (341 req/s,
/// every other call waiting). A page now builds only its rows, whatever the account holds
/// and however deep the page.
#[tokio::test]
async fn a_page_costs_its_rows_not_the_table() {
    let mock = TerraMock::builder().build().unwrap();
    mock.populate(mock.app_key(), 50_000, 20_000);
    let api = Api::new(&mock);
    let cases = [
        ("/jobs?rows=10", 10, 50_000),
        ("/jobs?rows=10&page=4000", 10, 50_000),
        ("/jobs?rows=10&type=15", 10, 50_000),
        ("/jobs?rows=10&type=14", 0, 0),
        ("/resources?rows=10", 10, 20),
        ("/resources?rows=10&type=map", 10, 20),
        ("/files?rows=25", 25, 20_000),
        ("/files?rows=25&page=500&orderAsc=true", 25, 20_000),
    ];
    for (path, rows, total) in cases {
        let before = terra_mock::views_built_on_this_thread();
        let r = api.call("GET", path, None).await;
        let built = terra_mock::views_built_on_this_thread() - before;
        assert_eq!(r.code(), 0, "{path}: {}", r.body);
        assert_eq!(r.data()["total"], total, "{path}");
        assert_eq!(r.data()["list"].as_array().unwrap().len(), rows, "{path}");
        assert_eq!(
            built, rows as u64,
            "{path} built {built} views for {rows} rows"
        );
    }
    // A resource's files: the page too.
    let rid = mock.resources(mock.app_key())[5].uuid.clone();
    let before = terra_mock::views_built_on_this_thread();
    let r = api
        .call(
            "GET",
            &format!("/files?rows=7&page=3&resourceUuid={rid}"),
            None,
        )
        .await;
    assert_eq!(r.data()["total"], 1000);
    assert_eq!(terra_mock::views_built_on_this_thread() - before, 7);
}

/// Row 10: `upload_callback` took the name `../evil.jpg`, and registered the same object
/// three times as three rows.
#[tokio::test]
async fn callback_names_are_checked_and_registering_twice_is_idempotent() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let token: StsToken =
        serde_json::from_value(api.ok("POST", "/store/obtain_token", None).await).unwrap();
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let meta = mock.put_object(&token, "a/DJI_0001.JPG", b"jpeg").unwrap();
    let file = |name: &str| json!({"name": name, "etag": meta.quoted_etag(), "checksum": meta.quoted_etag()});
    let callback = |files: serde_json::Value| json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": files});
    for bad in [
        "../evil.jpg",
        "a/../../evil.jpg",
        "/abs.jpg",
        "a//b.jpg",
        "./a.jpg",
        "nul\u{0}.jpg",
        "a\\b.jpg",
        &"n".repeat(1100),
    ] {
        let (code, msg) = api
            .err(
                "POST",
                "/store/upload_callback",
                Some(callback(json!([file(bad)]))),
            )
            .await;
        assert_eq!(code, 102001, "{bad:?}");
        assert!(msg.contains("files[0].name"), "{msg}");
    }
    let mut uuids = Vec::new();
    for _ in 0..3 {
        let out = api
            .ok(
                "POST",
                "/store/upload_callback",
                Some(callback(json!([file("a/DJI_0001.JPG")]))),
            )
            .await;
        uuids.push(out[0]["uuid"].as_str().unwrap().to_owned());
    }
    assert!(uuids.iter().all(|u| *u == uuids[0]), "one row: {uuids:?}");
    assert_eq!(mock.stats(mock.app_key()).files, 1);
    let detail = api.ok("GET", &format!("/resources/{rid}"), None).await;
    assert_eq!(detail["fileUuids"].as_array().unwrap().len(), 1);
    assert_eq!(detail["summary"]["fileCount"], 1);
    // Twice in one batch is one row too.
    let out = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(callback(json!([
                file("a/DJI_0001.JPG"),
                file("a/DJI_0001.JPG")
            ]))),
        )
        .await;
    assert_eq!(out[0]["uuid"], out[1]["uuid"]);
    assert_eq!(mock.stats(mock.app_key()).files, 1);
}

/// Deleting a resource with its files frees their objects; an upload that was never
/// registered goes when its grant expires (a lifecycle rule on `tmp/`).
#[tokio::test]
async fn objects_are_freed_with_their_files_and_their_grants() {
    let clock = terra_mock::ManualClock::starting_now();
    let mock = TerraMock::builder().manual_clock(clock).build().unwrap();
    let api = Api::new(&mock);
    let rid = api.resource_with_images(12).await;
    assert_eq!(mock.object_count(), 12);
    let token = mock.issue_token(mock.app_key()).unwrap();
    mock.put_object(&token, "never-registered.jpg", b"orphan")
        .unwrap();
    assert_eq!(mock.object_count(), 13);
    api.ok("DELETE", &format!("/resources/{rid}?deleteMode=1"), None)
        .await;
    assert_eq!(mock.object_count(), 1, "the resource's objects are gone");
    mock.advance(Duration::from_secs(3 * 3600));
    assert_eq!(
        mock.object_count(),
        0,
        "the unregistered upload went with its grant"
    );
    assert_eq!(mock.body_files(), 0);
}

/// Create-and-delete churn compacts the tables (a removed row otherwise leaves its slot
/// behind forever); pages, details and filters stay right across a compaction.
#[tokio::test]
async fn churn_compacts_tables_and_pages_stay_right() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let mut resources = Vec::new();
    for _ in 0..3 {
        resources.push(api.resource_with_images(200).await);
    }
    for rid in &resources[..2] {
        api.ok("DELETE", &format!("/resources/{rid}?deleteMode=1"), None)
            .await;
    }
    let kept = &resources[2];
    let detail = api.ok("GET", &format!("/resources/{kept}"), None).await;
    let uuids: Vec<String> = detail["fileUuids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uuids.len(), 200);
    assert_eq!(detail["summary"]["fileCount"], 200);
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = api
            .ok(
                "GET",
                &format!("/files?resourceUuid={kept}&rows=50&page={page}&orderAsc=true"),
                None,
            )
            .await;
        assert_eq!(p["total"], 200);
        paged.extend(
            p["list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["uuid"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(paged, uuids, "creation order, every file once");
    let all = api.ok("GET", "/files?rows=1000", None).await;
    assert_eq!(all["total"], 200);
    api.ok("GET", &format!("/files/{}", uuids[137]), None).await;

    let mut jobs = Vec::new();
    for i in 0..600 {
        jobs.push(api.job(&format!("job {i}")).await);
    }
    for j in &jobs[..500] {
        api.ok("DELETE", &format!("/jobs/{j}"), None).await;
    }
    let page = api.ok("GET", "/jobs?rows=3", None).await;
    assert_eq!(page["total"], 100);
    let names: Vec<&str> = page["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["job 599", "job 598", "job 597"]);
    let page = api.ok("GET", "/jobs?rows=10&page=10&type=0", None).await;
    assert_eq!(
        page["list"].as_array().unwrap().last().unwrap()["name"],
        "job 500"
    );
}
