//! Waiting for jobs on the mock's manual clock: no real time passes.

mod common;

use std::time::Duration;

use common::{manual, p3d, resource_with_images};
use futures::StreamExt;
use terra_client::{ErrorKind, PollingPolicy};
use terra_mock::{JobFailure, JobTiming, ManualClock, TerraMock};
use terra_types::{CreateJobRequest, JobStatus, StartJobRequest};

async fn two_hour_mock() -> (TerraMock, terra_client::TerraClient) {
    let clock = ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .timing(JobTiming::lasting(Duration::from_secs(2 * 3600)))
        .start()
        .await
        .unwrap();
    let client = common::builder(&mock)
        .clock(std::sync::Arc::new(common::MockTime(clock)))
        .build()
        .unwrap();
    (mock, client)
}

#[tokio::test]
async fn a_two_hour_job_takes_fewer_than_200_polls() {
    let (mock, client) = two_hour_mock().await;
    let rid = resource_with_images(&mock, &client, 10).await;
    let job = client
        .create_job(&CreateJobRequest::named("long"))
        .await
        .unwrap();
    client
        .start_job(&job.uuid, &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    let started = mock.now();
    mock.clear_requests();
    let done = client.wait_for_job(&job.uuid).await.unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    let polls = mock
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path().ends_with(&job.uuid))
        .count();
    let waited = mock.now().duration_since(started).unwrap();
    eprintln!("2-hour job: {polls} polls, done after {waited:?} of mock time");
    assert!(polls < 200, "{polls} polls");
    assert!(
        waited >= Duration::from_secs(7200) && waited < Duration::from_secs(7200 + 120),
        "noticed within 2 min: {waited:?}"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn the_poller_yields_every_snapshot_and_ends_on_a_terminal_status() {
    let (mock, client) = two_hour_mock().await;
    let rid = resource_with_images(&mock, &client, 10).await;
    let job = client
        .create_job(&CreateJobRequest::named("j"))
        .await
        .unwrap();
    client
        .start_job(&job.uuid, &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    let snapshots: Vec<_> = client
        .poll_job_with(
            &job.uuid,
            PollingPolicy {
                max: Duration::from_secs(600),
                ..Default::default()
            },
        )
        .collect()
        .await;
    let statuses: Vec<JobStatus> = snapshots.into_iter().map(|s| s.unwrap().status).collect();
    assert_eq!(statuses.last(), Some(&JobStatus::Succeeded));
    assert!(statuses.iter().filter(|s| s.is_terminal()).count() == 1);
    assert!(
        statuses.windows(2).all(|w| w[0].code() <= w[1].code()),
        "{statuses:?}"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn failed_and_stopped_jobs_are_errors_with_the_message() {
    let (mock, client) = manual().await;
    let rid = resource_with_images(&mock, &client, 10).await;
    let job = client
        .create_job(&CreateJobRequest::named("doomed"))
        .await
        .unwrap();
    mock.fail_next_job(JobFailure::during_execution(
        "Aerotriangulation failed: too few tie points",
    ));
    client
        .start_job(&job.uuid, &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    let e = client.wait_for_job(&job.uuid).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::JobFailed);
    assert!(
        e.to_string()
            .contains("Aerotriangulation failed: too few tie points"),
        "{e}"
    );

    let rid2 = resource_with_images(&mock, &client, 10).await;
    let job2 = client
        .create_job(&CreateJobRequest::named("stopped"))
        .await
        .unwrap();
    client
        .start_job(&job2.uuid, &StartJobRequest::new(&rid2, &p3d()).unwrap())
        .await
        .unwrap();
    client.stop_job(&job2.uuid).await.unwrap();
    assert_eq!(
        client.wait_for_job(&job2.uuid).await.unwrap_err().kind(),
        ErrorKind::JobStopped
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn max_wait_and_polling_errors() {
    let (mock, client) = two_hour_mock().await;
    let rid = resource_with_images(&mock, &client, 10).await;
    let job = client
        .create_job(&CreateJobRequest::named("j"))
        .await
        .unwrap();
    client
        .start_job(&job.uuid, &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    let policy = PollingPolicy {
        max_wait: Some(Duration::from_secs(600)),
        ..Default::default()
    };
    let e = client
        .poll_job_with(&job.uuid, policy)
        .until_done()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);

    // A brief outage during polling does not end the wait.
    mock.inject(
        terra_mock::FaultRule::on("GET", "/terra-rescon-be/v2/jobs/*")
            .times(15)
            .fault(terra_mock::Fault::Status {
                status: 503,
                retry_after: None,
            }),
    );
    assert_eq!(
        client.wait_for_job(&job.uuid).await.unwrap().status,
        JobStatus::Succeeded
    );
    mock.shutdown().await;
}
