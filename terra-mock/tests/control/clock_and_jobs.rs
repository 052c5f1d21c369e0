//! The clock and the jobs over HTTP: set and advance time, timings, moves, failures.

use super::*;

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
