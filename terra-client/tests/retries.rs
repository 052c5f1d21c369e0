//! Retries under injected faults: nothing is created, started or registered twice
//! (counted in the mock's state), timeouts, Retry-After, and pagination across many pages.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{RecordingClock, builder, manual, p3d, resource_with_images};
use futures::TryStreamExt;
use terra_client::{BackoffConfig, ErrorKind, RetryConfig};
use terra_mock::{Fault, FaultRule, RandomFaults, TerraMock};
use terra_types::*;

const RESOURCES: &str = "/terra-rescon-be/v2/resources";
const JOBS: &str = "/terra-rescon-be/v2/jobs";

#[tokio::test]
async fn creates_are_not_duplicated_when_the_answer_is_lost() {
    let (mock, client) = manual().await;
    let ak = mock.app_key().to_owned();
    let lost_answers = [
        Fault::ResetAfterProcessing,
        Fault::StatusAfterProcessing { status: 502 },
        Fault::Reset,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    ];
    for (i, fault) in lost_answers.iter().enumerate() {
        mock.inject(
            FaultRule::on("POST", RESOURCES)
                .times(1)
                .fault(fault.clone()),
        );
        let r = client
            .create_resource(&CreateResourceRequest::map(format!("r{i}")))
            .await
            .unwrap();
        assert_eq!(r.name, format!("r{i}"), "{fault:?}");
        assert_eq!(
            mock.stats(&ak).map_resources,
            i + 1,
            "exactly one resource after {fault:?}"
        );

        mock.inject(FaultRule::on("POST", JOBS).times(2).fault(fault.clone()));
        let j = client
            .create_job(&CreateJobRequest {
                name: format!("j{i}"),
                meta: Some(r#"{"mine":1}"#.into()),
            })
            .await
            .unwrap();
        assert_eq!(j.name, format!("j{i}"));
        assert!(
            j.meta.contains(r#""mine":1"#),
            "user meta is kept: {}",
            j.meta
        );
        assert_eq!(
            mock.stats(&ak).jobs,
            i + 1,
            "exactly one job after {fault:?}"
        );
    }
    // Every fault is ambiguous to a client (even a reset or 5xx before processing could have
    // come after it): each failed create was followed by exactly one check.
    let log = mock.requests();
    let checks = |path: &str| {
        log.iter()
            .filter(|r| r.method == "GET" && r.path() == path)
            .count()
    };
    let failed = |path: &str| {
        log.iter()
            .filter(|r| r.method == "POST" && r.path() == path && r.fault.is_some())
            .count()
    };
    assert_eq!(
        (checks(RESOURCES), checks(JOBS)),
        (failed(RESOURCES), failed(JOBS))
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn without_a_marker_an_ambiguous_create_is_reported_not_repeated() {
    let (mock, _) = manual().await;
    let client = builder(&mock).create_markers(false).build().unwrap();
    mock.inject(
        FaultRule::on("POST", RESOURCES)
            .times(1)
            .fault(Fault::ResetAfterProcessing),
    );
    let e = client
        .create_resource(&CreateResourceRequest::map("r"))
        .await
        .unwrap_err();
    assert!(
        e.may_have_taken_effect() && e.kind() == ErrorKind::Transport,
        "{e}"
    );
    assert_eq!(mock.stats(mock.app_key()).map_resources, 1, "not retried");
    // A failure before the request was sent is retried even without a marker.
    mock.inject(
        FaultRule::on("POST", RESOURCES)
            .times(1)
            .fault(Fault::Status {
                status: 429,
                retry_after: Some(1),
            }),
    );
    client
        .create_resource(&CreateResourceRequest::map("r2"))
        .await
        .unwrap();
    assert_eq!(mock.stats(mock.app_key()).map_resources, 2);
    mock.shutdown().await;
}

#[tokio::test]
async fn start_callback_and_stop_survive_lost_answers() {
    let (mock, client) = manual().await;
    let ak = mock.app_key().to_owned();
    let token = client.obtain_token().await.unwrap();
    let rid = client
        .create_resource(&CreateResourceRequest::map("flight"))
        .await
        .unwrap()
        .uuid;
    let mut files = Vec::new();
    for i in 0..30 {
        let name = format!("DJI_{i:04}.JPG");
        let meta = mock.put_object(&token, &name, name.as_bytes()).unwrap();
        files.push(CallbackFile::new(name, meta.quoted_etag()));
    }
    mock.inject(
        FaultRule::on("POST", "/terra-rescon-be/v2/store/upload_callback")
            .times(1)
            .fault(Fault::ResetAfterProcessing),
    );
    let registered = client
        .upload_callback(&UploadCallbackRequest {
            callback_param: token.callback_param.clone(),
            resource_uuid: rid.clone(),
            files,
        })
        .await
        .unwrap();
    assert_eq!(registered.len(), 30);
    assert_eq!(mock.stats(&ak).files, 30, "every file registered once");

    let job = client
        .create_job(&CreateJobRequest::named("j"))
        .await
        .unwrap();
    mock.inject(
        FaultRule::on("POST", "/terra-rescon-be/v2/jobs/*/start")
            .times(1)
            .fault(Fault::StatusAfterProcessing { status: 500 }),
    );
    let started = client
        .start_job(&job.uuid, &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    assert_eq!(started.status, JobStatus::Waiting);
    assert_eq!(mock.stats(&ak).job_starts, 1, "started once");

    mock.inject(
        FaultRule::on("POST", "/terra-rescon-be/v2/jobs/*/stop")
            .times(1)
            .fault(Fault::ResetAfterProcessing),
    );
    assert_eq!(
        client.stop_job(&job.uuid).await.unwrap().status,
        JobStatus::Stopped
    );

    // A DELETE whose answer was lost is done, even though the retry finds nothing.
    mock.inject(
        FaultRule::on("DELETE", "/terra-rescon-be/v2/jobs/*")
            .times(1)
            .fault(Fault::ResetAfterProcessing),
    );
    client.delete_job(&job.uuid).await.unwrap();
    assert_eq!(mock.stats(&ak).jobs, 0);
    mock.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_backoff_is_bounded() {
    let mock = TerraMock::start().await.unwrap();
    let clock = Arc::new(RecordingClock::default());
    let retry = RetryConfig {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(60),
        backoff: BackoffConfig::default(),
    };
    let client = builder(&mock)
        .retry(retry)
        .clock(clock.clone())
        .build()
        .unwrap();
    mock.inject(FaultRule::any().times(2).fault(Fault::Status {
        status: 429,
        retry_after: Some(3),
    }));
    client.list_jobs(&ListJobsQuery::default()).await.unwrap();
    let sleeps = clock.0.lock().unwrap().clone();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps.iter().all(|d| *d >= Duration::from_secs(3)),
        "{sleeps:?}"
    );

    // Attempts are bounded: the fifth 503 is never requested.
    mock.clear_requests();
    mock.inject(FaultRule::any().times(100).fault(Fault::Status {
        status: 503,
        retry_after: None,
    }));
    let e = client
        .list_jobs(&ListJobsQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(mock.requests().len(), 4);
    mock.clear_faults();

    // And by time: a Retry-After beyond the budget ends the call at once.
    let short = builder(&mock)
        .retry(RetryConfig {
            max_elapsed: Duration::from_secs(5),
            ..retry
        })
        .clock(clock.clone())
        .build()
        .unwrap();
    mock.clear_requests();
    mock.inject(FaultRule::any().times(1).fault(Fault::Status {
        status: 429,
        retry_after: Some(60),
    }));
    assert_eq!(
        short
            .list_jobs(&ListJobsQuery::default())
            .await
            .unwrap_err()
            .status(),
        Some(429)
    );
    assert_eq!(mock.requests().len(), 1);
    mock.shutdown().await;
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let mock = TerraMock::start().await.unwrap();
    let client = builder(&mock)
        .attempt_timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    mock.inject(
        FaultRule::any()
            .times(1)
            .fault(Fault::Delay(Duration::from_secs(2))),
    );
    client.list_jobs(&ListJobsQuery::default()).await.unwrap();

    let once = builder(&mock)
        .attempt_timeout(Some(Duration::from_millis(200)))
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    mock.inject(
        FaultRule::any()
            .times(1)
            .fault(Fault::Delay(Duration::from_secs(2))),
    );
    let e = once.list_jobs(&ListJobsQuery::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.is_retryable());

    let total = builder(&mock)
        .total_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    mock.inject(
        FaultRule::any()
            .times(1)
            .fault(Fault::Delay(Duration::from_secs(2))),
    );
    assert_eq!(
        total
            .list_jobs(&ListJobsQuery::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Timeout
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = terra_client::TerraClient::builder()
        .endpoint(format!("http://{addr}"))
        .credentials("ak", "sk")
        .retry(common::fast_retry())
        .build()
        .unwrap();
    let e = client.obtain_token().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(
        !e.may_have_taken_effect(),
        "a refused connection sent nothing"
    );
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

#[tokio::test]
async fn random_faults_never_duplicate_anything() {
    let (mock, client) = manual().await;
    let ak = mock.app_key().to_owned();
    mock.set_random_faults(Some(RandomFaults {
        seed: 42,
        error_5xx: 0.1,
        too_many_requests: 0.05,
        reset: 0.1,
        ..Default::default()
    }))
    .expect("valid random faults");
    let rid = resource_with_images(&mock, &client, 60).await;
    let mut jobs = Vec::new();
    for i in 0..20 {
        jobs.push(
            client
                .create_job(&CreateJobRequest::named(format!("job {i}")))
                .await
                .unwrap()
                .uuid,
        );
    }
    client
        .start_job(&jobs[0], &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    mock.set_random_faults(None).expect("valid random faults");
    let s = mock.stats(&ak);
    assert_eq!(
        (s.map_resources, s.files, s.jobs, s.job_starts),
        (1, 60, 20, 1)
    );
    assert!(
        mock.requests().iter().filter(|r| r.fault.is_some()).count() > 10,
        "faults were injected"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn pagination_streams_across_many_pages() {
    let (mock, client) = manual().await;
    for i in 0..250 {
        client
            .create_job(&CreateJobRequest::named(format!("job {i:03}")))
            .await
            .unwrap();
    }
    mock.clear_requests();
    let all: Vec<Job> = client
        .jobs(ListJobsQuery {
            rows: Some(20),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(all[0].name, "job 249");
    assert_eq!(all[249].name, "job 000");
    let uuids: std::collections::HashSet<&str> = all.iter().map(|j| j.uuid.as_str()).collect();
    assert_eq!(uuids.len(), 250, "no item twice");
    assert_eq!(mock.requests().len(), 13, "13 pages of 20");
    let from_page_3: Vec<Job> = client
        .jobs(ListJobsQuery {
            rows: Some(100),
            page: Some(3),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(from_page_3.len(), 50);
    mock.shutdown().await;
}
