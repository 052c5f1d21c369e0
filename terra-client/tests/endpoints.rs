//! Every endpoint against the in-process emulator, and the mapping of every documented code.

mod common;

use std::time::Duration;

use common::{builder, manual, p3d, resource_with_images};
use futures::TryStreamExt;
use terra_client::ErrorKind;
use terra_mock::{Fault, FaultRule, JobTiming, Provider, TerraMock};
use terra_types::*;

#[tokio::test]
async fn all_21_routes() {
    let (mock, client) = manual().await;
    // store (2)
    let token = client.obtain_token().await.unwrap();
    assert_eq!(token.cloud_name, CloudName::AwsS3);
    let rid = resource_with_images(&mock, &client, 12).await;
    // resources (7)
    let detail = client.get_resource(&rid).await.unwrap();
    assert_eq!(detail.file_uuids.len(), 12);
    let page = client
        .list_resources(&ListResourcesQuery {
            rows: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let renamed = client
        .update_resource(
            &rid,
            &UpdateRequest {
                name: Some("renamed".into()),
                meta: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "renamed");
    let copy = client
        .copy_resource(
            &rid,
            &UpdateRequest {
                name: Some("copy".into()),
                meta: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(copy.file_count, 12);
    let first = detail.file_uuids[0].clone();
    let after = client
        .file_operation(
            &copy.uuid,
            &FileOperationRequest {
                add_file_uuids: vec![first.clone()],
                remove_file_uuids: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(after.file_count, 13);
    client
        .delete_resource(&copy.uuid, DeleteMode::ResourceOnly)
        .await
        .unwrap();
    // files (4)
    let files: Vec<File> = client
        .files(ListFilesQuery {
            resource_uuid: Some(rid.clone()),
            rows: Some(5),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(files.len(), 12);
    let f = client.get_file(&first).await.unwrap();
    assert!(
        f.url
            .as_deref()
            .is_some_and(|u| u.contains("X-Amz-Signature"))
    );
    let f2 = client
        .update_file(
            &first,
            &UpdateFileRequest {
                meta: Some("checked".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(f2.meta, "checked");
    let spare = client
        .copy_resource(&rid, &UpdateRequest::default())
        .await
        .unwrap();
    let spare_file = client.get_resource(&spare.uuid).await.unwrap().file_uuids[0].clone();
    client.delete_file(&spare_file).await.unwrap();
    assert_eq!(
        client.get_file(&spare_file).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // jobs (8)
    let job = client
        .create_job(&CreateJobRequest::named("survey"))
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Created);
    let job = client
        .update_job(
            &job.uuid,
            &UpdateRequest {
                name: Some("survey 2".into()),
                meta: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(job.name, "survey 2");
    let copied = client
        .copy_job(&job.uuid, &UpdateRequest::default())
        .await
        .unwrap();
    let started = client
        .start_job(&job.uuid, &StartJobRequest::new(&rid, &p3d()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (started.status, started.job_type),
        (JobStatus::Waiting, JobType::Model3d)
    );
    let stopped = client.stop_job(&job.uuid).await.unwrap();
    assert_eq!(stopped.status, JobStatus::Stopped);
    let listed: Vec<Job> = client
        .jobs(ListJobsQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    client.delete_job(&copied.uuid).await.unwrap();
    assert_eq!(
        client.get_job(&copied.uuid).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // raw
    let raw = client
        .raw("GET", "/v2/jobs?page=1&rows=1", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw["total"], 1);
    let raw = client
        .raw("GET", "/terra-rescon-be/v2/resources", None)
        .await
        .unwrap()
        .unwrap();
    assert!(raw["total"].as_u64().unwrap() >= 1);
    // Creates carry Return-Detail and a marker in meta.
    let creates: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path() == "/terra-rescon-be/v2/resources")
        .collect();
    assert!(
        creates
            .iter()
            .all(|r| r.header("return-detail") == Some("true"))
    );
    assert!(String::from_utf8_lossy(&creates[0].body).contains(terra_client::MARKER_KEY));
    mock.shutdown().await;
}

#[tokio::test]
async fn every_documented_code_maps_to_its_kind() {
    let (mock, client) = manual().await;
    let missing = "6d1f3c2e-0000-4000-8000-000000000002";
    // 102002 / 102114
    let e = client.get_resource(missing).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.api_code()),
        (ErrorKind::NotFound, Some(ApiCode::ResourceNotFound))
    );
    let e = client.get_job(missing).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.api_code()),
        (ErrorKind::NotFound, Some(ApiCode::JobNotFound))
    );
    assert!(
        e.to_string()
            .contains("API error 102114 (job does not exist)"),
        "{e}"
    );
    // 102001
    let e = client
        .create_job(&CreateJobRequest::named(""))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    assert!(e.message().contains("name"), "{e}");
    assert!(!e.is_retryable());
    // 102003
    let job = client
        .create_job(&CreateJobRequest::named("j"))
        .await
        .unwrap();
    let e = client.stop_job(&job.uuid).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOperation);
    // 701, 102000, 801, 102116 and an unknown code, as the service would send them
    for (code, kind, retryable) in [
        (701, ErrorKind::Authentication, false),
        (102000, ErrorKind::Api, true),
        (801, ErrorKind::JobLimit, false),
        (102116, ErrorKind::Billing, false),
        (999_999, ErrorKind::Api, false),
    ] {
        mock.inject(
            FaultRule::any()
                .times(if retryable { 10 } else { 1 })
                .fault(Fault::ApiError {
                    status: 200,
                    code,
                    message: format!("code {code}"),
                }),
        );
        let e = client
            .list_jobs(&ListJobsQuery::default())
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.api_code().map(|c| c.code()), e.is_retryable()),
            (kind, Some(code), retryable),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("API error {code}")), "{e}");
        mock.clear_faults();
    }
    // The gateway's own 401
    let wrong = builder(&mock)
        .credentials(mock.app_key(), "wrong")
        .build()
        .unwrap();
    let e = wrong
        .list_jobs(&ListJobsQuery::default())
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.status(), e.message()),
        (
            ErrorKind::Authentication,
            Some(401),
            "HMAC signature does not match"
        )
    );
    // HTTP status without envelope
    mock.inject(FaultRule::any().times(10).fault(Fault::Status {
        status: 502,
        retry_after: None,
    }));
    let e = client
        .list_jobs(&ListJobsQuery::default())
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(502)));
    mock.shutdown().await;
}

#[tokio::test]
async fn job_limit_and_quota_come_back_as_their_kinds() {
    let clock = terra_mock::ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .max_running_jobs(1)
        .job_quota(1)
        .start()
        .await
        .unwrap();
    let client = builder(&mock)
        .clock(std::sync::Arc::new(common::MockTime(clock)))
        .build()
        .unwrap();
    let (r1, r2) = (
        resource_with_images(&mock, &client, 10).await,
        resource_with_images(&mock, &client, 10).await,
    );
    let (a, b) = (
        client
            .create_job(&CreateJobRequest::named("a"))
            .await
            .unwrap(),
        client
            .create_job(&CreateJobRequest::named("b"))
            .await
            .unwrap(),
    );
    client
        .start_job(&a.uuid, &StartJobRequest::new(&r1, &p3d()).unwrap())
        .await
        .unwrap();
    let e = client
        .start_job(&b.uuid, &StartJobRequest::new(&r2, &p3d()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::JobLimit);
    mock.advance(Duration::from_secs(3600));
    let e = client
        .start_job(&b.uuid, &StartJobRequest::new(&r2, &p3d()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Billing);
    mock.shutdown().await;
}

#[tokio::test]
async fn minimal_answers_are_completed_with_a_get() {
    // A service that answers {uuid} to creates and updates whatever Return-Detail says.
    let mock = TerraMock::builder()
        .minimal_create(terra_mock::MinimalCreate::UuidIgnoringHeader)
        .start()
        .await
        .unwrap();
    let client = builder(&mock).build().unwrap();
    let job = client
        .create_job(&CreateJobRequest::named("x"))
        .await
        .unwrap();
    assert_eq!((job.name.as_str(), job.status), ("x", JobStatus::Created));
    let job = client
        .update_job(
            &job.uuid,
            &UpdateRequest {
                meta: Some("m".into()),
                name: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(job.meta, "m");
    let r = client
        .create_resource(&CreateResourceRequest::map("r"))
        .await
        .unwrap();
    assert_eq!((r.name.as_str(), r.revisable), ("r", true));
    let gets = mock.requests().iter().filter(|r| r.method == "GET").count();
    assert_eq!(gets, 3, "one GET per minimal answer");
    mock.shutdown().await;
}

#[tokio::test]
async fn oss_accounts_work_the_same() {
    let mock = TerraMock::builder()
        .provider(Provider::Oss)
        .timing(JobTiming::lasting(Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let client = builder(&mock).build().unwrap();
    assert_eq!(
        client.obtain_token().await.unwrap().cloud_name,
        CloudName::AliOss
    );
    mock.shutdown().await;
}

/// `file_operation` removals and `delete_resource` in both modes, through the client: a
/// file leaves a resource without being deleted while another resource holds it;
/// `WithFiles` deletes only the files no other resource holds, and frees their objects.
#[tokio::test]
async fn removing_files_and_deleting_resources_with_their_files() {
    let (mock, client) = manual().await;
    let x = resource_with_images(&mock, &client, 12).await;
    let files = client.get_resource(&x).await.unwrap().file_uuids;
    let share = |into: String, files: Vec<String>| {
        let client = &client;
        async move {
            client
                .file_operation(
                    &into,
                    &FileOperationRequest {
                        add_file_uuids: files,
                        remove_file_uuids: vec![],
                    },
                )
                .await
                .unwrap()
        }
    };
    let y = client
        .create_resource(&CreateResourceRequest::map("y"))
        .await
        .unwrap()
        .uuid;
    assert_eq!(share(y.clone(), files.clone()).await.file_count, 12);
    assert_eq!(mock.object_count(), 12, "the files are shared, not copied");

    // Two files leave Y; X still holds them, and they still exist.
    let after = client
        .file_operation(
            &y,
            &FileOperationRequest {
                add_file_uuids: vec![],
                remove_file_uuids: vec![files[0].clone(), files[1].clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(after.file_count, 10);
    let y_files = client.get_resource(&y).await.unwrap().file_uuids;
    assert!(!y_files.contains(&files[0]) && !y_files.contains(&files[1]));
    assert_eq!(client.get_resource(&x).await.unwrap().file_uuids.len(), 12);
    client.get_file(&files[0]).await.unwrap();

    // X with its files: only the two that Y no longer holds go, with their objects.
    client
        .delete_resource(&x, DeleteMode::WithFiles)
        .await
        .unwrap();
    assert_eq!(
        client.get_resource(&x).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    for gone in &files[..2] {
        assert_eq!(
            client.get_file(gone).await.unwrap_err().kind(),
            ErrorKind::NotFound,
            "{gone} was held by X alone"
        );
    }
    for kept in &files[2..] {
        client.get_file(kept).await.unwrap();
    }
    assert_eq!(mock.object_count(), 10);

    // Y and Z share the rest: deleting Y alone keeps them, deleting Z with its files
    // deletes them.
    let z = client
        .create_resource(&CreateResourceRequest::map("z"))
        .await
        .unwrap()
        .uuid;
    assert_eq!(share(z.clone(), files[2..].to_vec()).await.file_count, 10);
    client
        .delete_resource(&y, DeleteMode::ResourceOnly)
        .await
        .unwrap();
    assert_eq!(mock.object_count(), 10, "ResourceOnly keeps every file");
    client
        .delete_resource(&z, DeleteMode::WithFiles)
        .await
        .unwrap();
    for f in &files[2..] {
        assert_eq!(
            client.get_file(f).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    assert_eq!(mock.object_count(), 0, "every object freed");
    assert_eq!(
        client
            .delete_resource(&z, DeleteMode::WithFiles)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound,
        "deleting twice is an error"
    );
}
