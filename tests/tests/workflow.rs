//! The whole documented flow through the workflow API against the in-process emulator:
//! 2D, 3D and LiDAR, with the output files checked; and a hostile run with 2-second tokens
//! and 5 % faults on API and storage.

use std::time::Duration;

use terra_client::ErrorKind;
use terra_client::workflow::JobSpec;
use terra_mock::sample::{FlightPlan, write_flight, write_lidar_mission};
use terra_mock::{FaultScope, Provider, RandomFaults};
use terra_types::*;
use tests::{assert_outputs_complete, client, mock, workflow};

#[tokio::test]
async fn map_2d_flow() {
    let mock = mock(|b| b).await;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    write_flight(
        &input,
        &FlightPlan {
            images: 12,
            ..Default::default()
        },
    )
    .unwrap();
    let spec = JobSpec::Map2d(JobParameters::new(Map2dParams {
        map_mode: Some(MapMode::Urban),
        dom_tile_size: Some(256),
        ..Default::default()
    }));
    let s = workflow(&mock, &client(&mock), &input, &out, spec)
        .run()
        .await
        .unwrap();
    assert_eq!((s.uploaded_files, s.job.status), (12, JobStatus::Succeeded));
    let names = assert_outputs_complete(&mock, &out);
    for want in [
        "map/result.tif",
        "map/dsm.tif",
        "images/survey/image_list.json",
        "map/tiles/256/0_0.tif",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert_eq!(
        &std::fs::read(out.join("map/result.tif")).unwrap()[..4],
        b"II*\0"
    );
    let list = std::fs::read_to_string(out.join("images/survey/image_list.json")).unwrap();
    assert_eq!(list.matches("DJI_").count(), 12);
    assert!(
        list.contains("latitude"),
        "positions read from EXIF reach the service"
    );
    let resource = &mock.resources(mock.app_key())[0];
    assert!(resource.scope.is_some() && !resource.revisable);

    // One file on its own, into a folder that does not exist yet.
    let c = client(&mock);
    let page = c
        .list_files(&ListFilesQuery {
            resource_uuid: Some(s.output_resource_uuid.clone()),
            name: Some("map/dsm.tif".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let target = dir.path().join("single/nested/dsm.tif");
    let n = c.download_file(&page.list[0].uuid, &target).await.unwrap();
    let bytes = std::fs::read(&target).unwrap();
    assert_eq!(n, bytes.len() as u64);
    assert_eq!(bytes, std::fs::read(out.join("map/dsm.tif")).unwrap());
    let left: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(left.len(), 1, "no .part file left behind");
    let missing = c.download_file("no-such-file", &target).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
}

#[tokio::test]
async fn model_3d_flow_on_oss() {
    let mock = mock(|b| b.provider(Provider::Oss)).await;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    write_flight(
        &input.join("sub"),
        &FlightPlan {
            images: 15,
            ..Default::default()
        },
    )
    .unwrap();
    let spec = JobSpec::Model3d(JobParameters::new(Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        generate_ply: Some(true),
        common: CommonParams {
            output_pointcloud: Some(true),
            generate_las: Some(true),
            ..Default::default()
        },
        ..Default::default()
    }));
    let s = workflow(&mock, &client(&mock), &input, &out, spec)
        .run()
        .await
        .unwrap();
    assert_eq!(s.uploaded_files, 15);
    let names = assert_outputs_complete(&mock, &out);
    for want in [
        "models/mesh/obj/Block.obj",
        "models/mesh/ply/Block.ply",
        "models/pc/las/cloud.las",
        "models/pc/pnts/cloud.pnts",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(
        std::fs::read_to_string(out.join("models/mesh/ply/Block.ply"))
            .unwrap()
            .starts_with("ply\n")
    );
    assert_eq!(
        &std::fs::read(out.join("models/pc/las/cloud.las")).unwrap()[..4],
        b"LASF"
    );
    assert!(
        mock.files(mock.app_key())
            .iter()
            .any(|f| f.name == "sub/DJI_0001.JPG"),
        "sub-folders keep their relative names"
    );
}

#[tokio::test]
async fn lidar_flow() {
    let mock = mock(|b| b).await;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("mission"), dir.path().join("out"));
    let files = write_lidar_mission(&input).unwrap();
    std::fs::write(input.join(".DS_Store"), b"hidden").unwrap();
    let spec = JobSpec::Lidar(JobParameters::new(LidarParams {
        generate_dem: Some(true),
        ground_extract: Some(true),
        ..Default::default()
    }));
    let s = workflow(&mock, &client(&mock), &input, &out, spec)
        .run()
        .await
        .unwrap();
    assert_eq!(
        s.uploaded_files,
        files.len(),
        "the whole mission folder, hidden files skipped"
    );
    let names = assert_outputs_complete(&mock, &out);
    for want in [
        "lidars/terra_las/cloud_merged.las",
        "lidars/terra_las/ground.las",
        "lidars/terra_dem/dem.tif",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
}

#[tokio::test]
async fn two_second_tokens_and_seven_percent_faults_still_end_with_correct_outputs() {
    let mock = mock(|b| b.token_lifetime(Duration::from_secs(2))).await;
    // 7 % failures (5xx, 429, resets before or after processing) and latency, everywhere.
    mock.set_random_faults(Some(RandomFaults {
        seed: 2026,
        error_5xx: 0.03,
        too_many_requests: 0.01,
        reset: 0.03,
        latency: 0.5,
        latency_ms: 80,
        scope: FaultScope::All,
    }))
    .expect("valid random faults");
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    write_flight(
        &input,
        &FlightPlan {
            images: 100,
            width: 640,
            height: 480,
            ..Default::default()
        },
    )
    .unwrap();
    let spec = JobSpec::Model3d(JobParameters::new(Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        generate_b3dm: Some(true),
        ..Default::default()
    }));
    let c = client(&mock);
    let s = workflow(&mock, &c, &input, &out, spec)
        .upload_options(terra_store::UploadOptions {
            // Two at a time, fixed (no adaptive growth): slow enough that the 2 s tokens
            // expire during the upload, which is what this test is about.
            files_in_flight: 2,
            requests_in_flight: 2,
            memory_budget: 0,
            max_attempts: 10,
            ..Default::default()
        })
        .storage(terra_store::BackendOptions {
            endpoint: Some(mock.base_url()),
            ..Default::default()
        })
        .run()
        .await
        .unwrap();
    mock.set_random_faults(None).expect("valid random faults");
    assert_eq!(s.job.status, JobStatus::Succeeded);
    assert_outputs_complete(&mock, &out);
    let stats = mock.stats(mock.app_key());
    assert_eq!(
        (stats.map_resources, stats.jobs, stats.job_starts),
        (1, 1, 1),
        "nothing created twice"
    );
    let input_files = mock
        .resources(mock.app_key())
        .into_iter()
        .find(|r| r.resource_type == ResourceType::Map)
        .unwrap()
        .file_count;
    assert_eq!(input_files, 100, "every photo registered exactly once");
    let faults = mock
        .requests()
        .iter()
        .filter(|r| r.fault.is_some() && !r.fault.as_deref().unwrap_or("").starts_with("Delay"))
        .count();
    let tokens = mock
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/obtain_token") && r.status == 200)
        .count();
    eprintln!("{faults} failures injected, {tokens} tokens used");
    assert!(
        faults > 5 && tokens >= 2,
        "{faults} faults, {tokens} tokens"
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_uploaded() {
    let mock = mock(|b| b).await;
    let c = client(&mock);
    let dir = tempfile::tempdir().unwrap();
    let spec = || JobSpec::Model3d(JobParameters::new(Model3dParams::default()));
    let out = dir.path().join("out");

    let e = workflow(&mock, &c, &dir.path().join("missing"), &out, spec())
        .run()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(e.to_string().contains("does not exist"), "{e}");

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    std::fs::write(dir.path().join("empty/notes.txt"), b"not a photo").unwrap();
    let e = workflow(&mock, &c, &dir.path().join("empty"), &out, spec())
        .run()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no photos"), "{e}");

    write_flight(
        &dir.path().join("nine"),
        &FlightPlan {
            images: 9,
            ..Default::default()
        },
    )
    .unwrap();
    let e = workflow(&mock, &c, &dir.path().join("nine"), &out, spec())
        .run()
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("holds 9 photos") && e.to_string().contains("at least 10"),
        "{e}"
    );

    write_flight(
        &dir.path().join("ok"),
        &FlightPlan {
            images: 10,
            ..Default::default()
        },
    )
    .unwrap();
    let bad = JobSpec::Model3d(JobParameters::new(Model3dParams {
        model_simplify: Some(7.0),
        ..Default::default()
    }));
    let e = workflow(&mock, &c, &dir.path().join("ok"), &out, bad)
        .run()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    assert!(e.to_string().contains("parameter.model_simplify"), "{e}");

    assert_eq!(mock.object_count(), 0, "nothing was uploaded");
    assert_eq!(mock.stats(mock.app_key()).map_resources, 0);
}
