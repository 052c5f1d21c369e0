//! Faults, the request log and resets over HTTP.

use super::*;

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
