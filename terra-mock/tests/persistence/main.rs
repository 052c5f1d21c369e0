//! `--data-dir`: state and objects survive restarts (and SIGKILL under load), jobs move on
//! meanwhile; export and import carry the same state between mocks.

mod bad_days;
#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use common::{Api, Server, s3_client};
use serde_json::{Value, json};
use terra_mock::{ClockMode, JobTiming, ManualClock, TerraMock};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_types::{JobStatus, StsToken};
use tower::ServiceExt as _;

fn persistent(dir: &std::path::Path, clock: &ManualClock) -> TerraMock {
    TerraMock::builder()
        .manual_clock(clock.clone())
        .timing(JobTiming::lasting(Duration::from_secs(600)))
        .data_dir(dir)
        .build()
        .unwrap()
}

async fn export(mock: &TerraMock) -> Value {
    let req = http::Request::builder()
        .uri("/_terra-mock/v1/state")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = mock.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap()
}

/// The first place two JSON values differ (assertions on whole exports would print
/// megabytes).
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (u, v) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if let Some(d) = first_difference(u, v, &format!("{at}.{k}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, &format!("{at}[{i}]"))),
        _ if a == b => None,
        (Value::Array(x), Value::Array(y)) => {
            Some(format!("{at}: {} items != {} items", x.len(), y.len()))
        }
        _ => {
            let short = |v: &Value| v.to_string().chars().take(300).collect::<String>();
            Some(format!("{at}: {} != {}", short(a), short(b)))
        }
    }
}

fn assert_same(a: &Value, b: &Value, what: &str) {
    if let Some(d) = first_difference(a, b, "") {
        panic!("{what}: {d}");
    }
}

async fn import(mock: &TerraMock, doc: &Value) -> (u16, Value) {
    let req = http::Request::builder()
        .method("PUT")
        .uri("/_terra-mock/v1/state")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(doc.to_string()))
        .unwrap();
    let resp = mock.router().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn state_objects_and_sessions_survive_a_restart_and_jobs_move_on() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000));
    let (job, resource, token, before) = {
        let mock = persistent(dir.path(), &clock);
        let api = Api::new(&mock);
        let resource = api.resource_with_images(12).await;
        let job = api.job("survey").await;
        let r = api.start(&job, &resource, 14, r#"{"parameter":{}}"#).await;
        assert_eq!(r.code(), 0, "{}", r.body);
        api.ok(
            "PUT",
            &format!("/jobs/{job}"),
            Some(json!({"name": "renamed"})),
        )
        .await;
        let token = mock.issue_token(mock.app_key()).unwrap();
        mock.put_object(&token, "loose.bin", &[7u8; 3000]).unwrap();
        mock.set_timing(JobTiming::lasting(Duration::from_secs(60)))
            .unwrap();
        mock.advance(Duration::from_secs(5));
        let before = export(&mock).await;
        (job, resource, token, before)
    };
    let mock = persistent(dir.path(), &clock);
    let after = export(&mock).await;
    assert_same(&before, &after, "everything came back, bytes included");
    assert_eq!(mock.timing(), JobTiming::lasting(Duration::from_secs(60)));
    let api = Api::new(&mock);
    let detail = api.ok("GET", &format!("/resources/{resource}"), None).await;
    assert_eq!(detail["fileUuids"].as_array().unwrap().len(), 12);
    assert_eq!(
        api.ok("GET", &format!("/jobs/{job}"), None).await["name"],
        "renamed"
    );
    // One server per directory.
    let second = TerraMock::builder()
        .data_dir(dir.path())
        .build()
        .unwrap_err();
    assert!(second.to_string().contains("in use"), "{second}");
    assert!(
        mock.object(terra_mock::Provider::S3, &token.object_key("loose.bin"))
            .is_some()
    );
    // The job continues on the clock as if the server had been up.
    clock.advance(Duration::from_secs(3600));
    drop(mock);
    let mock = persistent(dir.path(), &clock);
    let jobs = mock.jobs(mock.app_key());
    let j = jobs.iter().find(|j| j.uuid == job).unwrap();
    assert_eq!(j.status, JobStatus::Succeeded);
    assert!(j.output_resource_uuid.is_some());
    let s = mock.stats(mock.app_key());
    assert_eq!((s.jobs, s.job_starts, s.output_resources), (1, 1, 1));
}

#[tokio::test]
async fn the_manual_clock_mode_and_shift_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    {
        let mock = TerraMock::builder().data_dir(dir.path()).build().unwrap();
        mock.set_clock_mode(ClockMode::Manual);
        mock.set_clock(then);
    }
    let mock = TerraMock::builder().data_dir(dir.path()).build().unwrap();
    assert_eq!((mock.clock_mode(), mock.now()), (ClockMode::Manual, then));
}

#[tokio::test]
async fn export_and_import_carry_the_whole_state() {
    let clock = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000));
    let a = TerraMock::builder()
        .manual_clock(clock.clone())
        .timing(JobTiming::lasting(Duration::from_secs(600)))
        .build()
        .unwrap();
    let api = Api::new(&a);
    let resource = api.resource_with_images(10).await;
    let job = api.job("survey").await;
    api.start(&job, &resource, 14, r#"{"parameter":{}}"#).await;
    a.advance(Duration::from_secs(3600));
    let token = a.issue_token(a.app_key()).unwrap();
    a.put_object(&token, "extra.bin", b"bytes").unwrap();
    let doc = export(&a).await;
    assert_eq!(doc["format"], 1);
    assert!(
        doc["objects"].as_array().unwrap().len() > 10,
        "inputs and outputs"
    );
    assert!(
        doc["accounts"][0]["config"]["secret"].is_string(),
        "an export restores secrets"
    );

    let b = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .build()
        .unwrap();
    let (status, body) = import(&b, &doc).await;
    assert_eq!(status, 204, "{body}");
    assert_same(&export(&b).await, &doc, "the import reads back the same");
    let jobs = b.jobs(b.app_key());
    assert_eq!(jobs[0].status, JobStatus::Succeeded);
    assert!(b.issue_token(b.app_key()).is_some());

    // A bad document changes nothing.
    let current = export(&b).await;
    let mut bad = doc.clone();
    bad["objects"][0]["data"] = json!("not base64!");
    let (status, body) = import(&b, &bad).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("base64"),
        "{body}"
    );
    assert_same(
        &export(&b).await,
        &current,
        "a refused import changed something",
    );
    let mut bad = doc.clone();
    bad["format"] = json!(99);
    assert_eq!(import(&b, &bad).await.0, 400);
    assert_eq!(
        import(&b, &json!({"format": 1})).await.0,
        400,
        "fields missing"
    );
}

// ---- SIGKILL under load ------------------------------------------------------------------

/// A signed TerraAPI call to a standalone server.
async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Option<Value> {
    let target = format!("/terra-rescon-be/v2{path}");
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let creds = Credentials::new(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET);
    let signed = sign(
        &SignableRequest::new(method, &target, &bytes),
        &creds,
        &SigningParams::new(SystemTime::now()),
    );
    let mut req = http
        .request(method.parse().unwrap(), format!("{base}{target}"))
        .header("content-type", "application/json")
        .header("return-detail", "true")
        .body(bytes);
    for (n, v) in signed.headers() {
        req = req.header(n, v);
    }
    req.send().await.ok()?.json().await.ok()
}

/// What a client was told had happened.
#[derive(Default)]
struct Acked {
    resources: Vec<String>,
    objects: Vec<(String, Vec<u8>)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_acknowledged_is_lost_when_killed_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let server = Server::start(4096, &["--data-dir", &data_dir], &[]);
    let http = reqwest::Client::new();
    let token: StsToken = serde_json::from_value(
        call(&http, &server.base, "POST", "/store/obtain_token", None)
            .await
            .unwrap()["data"]
            .clone(),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, base, token, stop) = (
            http.clone(),
            server.base.clone(),
            token.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let s3 = s3_client(&base, &token, None, None);
            let mut acked = Acked::default();
            for i in 0.. {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                // An object of a few KiB, different every time.
                let name = format!("w{w}/obj-{i}.bin");
                let body: Vec<u8> = (0..(1000 + i * 37 % 5000))
                    .map(|b| (b * 31 + i + w) as u8)
                    .collect();
                let put = s3
                    .put_object()
                    .bucket(&token.cloud_bucket_name)
                    .key(token.object_key(&name))
                    .body(body.clone().into())
                    .send()
                    .await;
                if put.is_ok() {
                    acked.objects.push((token.object_key(&name), body));
                } else {
                    break;
                }
                let r = http
                    .get(format!("{base}/_terra-mock/v1/health"))
                    .send()
                    .await;
                if r.is_err() {
                    break;
                }
                let created = tokio::time::timeout(
                    Duration::from_secs(5),
                    call(
                        &http,
                        &base,
                        "POST",
                        "/resources",
                        Some(&json!({"name": format!("r{w}-{i}"), "type": "map"})),
                    ),
                )
                .await;
                match created {
                    Ok(Some(v)) if v["result"]["code"] == 0 => acked
                        .resources
                        .push(v["data"]["uuid"].as_str().unwrap().to_owned()),
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut server = server;
    // SIGKILL, while the writers are mid-request.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::Release);
    let mut acked = Acked::default();
    for w in writers {
        let a = w.await.unwrap();
        acked.resources.extend(a.resources);
        acked.objects.extend(a.objects);
    }
    assert!(
        acked.resources.len() > 20 && acked.objects.len() > 20,
        "{} resources, {} objects",
        acked.resources.len(),
        acked.objects.len()
    );

    let again = Server::start(4096, &["--data-dir", &data_dir], &[]);
    // Every acknowledged resource is there (every page of the signed listing).
    let mut have = std::collections::HashSet::new();
    for page in 1.. {
        let listed = call(
            &http,
            &again.base,
            "GET",
            &format!("/resources?page={page}&rows=500"),
            None,
        )
        .await
        .unwrap();
        let list = listed["data"]["list"].as_array().unwrap().clone();
        if list.is_empty() {
            break;
        }
        have.extend(list.iter().map(|r| r["uuid"].as_str().unwrap().to_owned()));
    }
    let missing: Vec<_> = acked
        .resources
        .iter()
        .filter(|u| !have.contains(u.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged resources lost: {missing:?}",
        missing.len(),
        acked.resources.len()
    );
    // Every acknowledged object is byte-identical, read with the session issued before the kill.
    let s3 = s3_client(&again.base, &token, None, None);
    for (key, body) in &acked.objects {
        let got = s3
            .get_object()
            .bucket(&token.cloud_bucket_name)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], &body[..], "{key}");
    }
}
