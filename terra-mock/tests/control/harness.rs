//! The Rust harness and the HTTP control API agree: one implementation behind both.

use super::*;

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
