//! `TerraClient::download_outputs`: filters, jobs or resources, resuming, and links that
//! expire while a download waits.

use std::path::Path;
use std::time::Duration;

use terra_client::workflow::{DownloadOptions, JobSpec};
use terra_mock::sample::{FlightPlan, write_flight};
use terra_mock::{Fault, FaultRule, FaultScope, MockConfig, TerraMock};
use terra_types::{JobParameters, Model3dParams};

/// A finished 3D job with OBJ, PLY and 3D Tiles outputs; returns (job, output resource).
async fn finished_job(mock: &TerraMock, dir: &Path) -> (String, String) {
    let input = dir.join("in");
    write_flight(
        &input,
        &FlightPlan {
            images: 10,
            ..Default::default()
        },
    )
    .unwrap();
    let spec = JobSpec::Model3d(JobParameters::new(Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        generate_ply: Some(true),
        generate_b3dm: Some(true),
        ..Default::default()
    }));
    let client = tests::client(mock);
    let s = tests::workflow(mock, &client, &input, &dir.join("full"), spec)
        .run()
        .await
        .unwrap();
    (s.job_uuid, s.output_resource_uuid)
}

/// Relative names of the files under `dir`.
fn names_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(
                    p.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_files_of_a_job_or_a_resource() {
    let mock = tests::mock(|b| b).await;
    let dir = tempfile::tempdir().unwrap();
    let (job, output) = finished_job(&mock, dir.path()).await;
    let client = tests::client(&mock);
    let all = names_under(&dir.path().join("full"));
    let outputs: Vec<&String> = all.iter().filter(|n| !n.starts_with(".terra")).collect();

    let opts = DownloadOptions {
        include: vec!["models/**".into()],
        exclude: vec!["**/*.ply".into()],
        ..Default::default()
    };
    let got = dir.path().join("models");
    let s = client
        .download_outputs(&job, &got, &opts, |_| {})
        .await
        .unwrap();
    let names = names_under(&got);
    let expected: Vec<String> = outputs
        .iter()
        .filter(|n| opts.wants(n))
        .map(|n| (*n).clone())
        .collect();
    assert_eq!(names, expected);
    assert!(!names.is_empty() && names.iter().all(|n| n.starts_with("models/")));
    assert!(!names.iter().any(|n| n.ends_with(".ply")));
    assert_eq!(
        (s.selected, s.downloaded, s.already_complete),
        (names.len(), names.len(), 0)
    );
    assert_eq!(s.resource_uuid, output);
    for n in &names {
        assert_eq!(
            std::fs::read(got.join(n)).unwrap(),
            std::fs::read(dir.path().join("full").join(n)).unwrap(),
            "{n}"
        );
    }

    // The same by resource uuid: everything already there, nothing fetched again.
    let again = client
        .download_outputs(&output, &got, &opts, |_| {})
        .await
        .unwrap();
    assert_eq!((again.downloaded, again.already_complete), (0, names.len()));

    // Neither a job nor a resource.
    let e = client
        .download_outputs("00000000-0000-4000-8000-000000000000", &got, &opts, |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind(), terra_client::ErrorKind::NotFound, "{e}");
}

/// Links live 1 s; the storage holds the first GET for 1.5 s, so the link it carries has
/// expired when it is checked: the download fetches a fresh link and completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_expires_during_a_download_is_fetched_again() {
    let mock = tests::mock(|b| {
        b.config(MockConfig {
            download_url_ttl_secs: 1,
            ..Default::default()
        })
        .timing(tests::fast_jobs())
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (job, _) = finished_job(&mock, dir.path()).await;
    // Only the download below counts (the workflow's own may also have met a 1 s link).
    mock.clear_requests();
    mock.inject(
        FaultRule::on("GET", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .times(1)
            .fault(Fault::Delay(Duration::from_millis(1500))),
    );
    let opts = DownloadOptions {
        include: vec!["map/*.tif".into(), "models/mesh/obj/*.obj".into()],
        concurrency: 1,
        ..Default::default()
    };
    let got = dir.path().join("again");
    let s = tests::client(&mock)
        .download_outputs(&job, &got, &opts, |_| {})
        .await
        .unwrap();
    assert!(s.downloaded >= 1);
    let refused = mock
        .requests()
        .into_iter()
        .filter(|r| !r.is_api() && r.method == "GET" && r.status == 403)
        .count();
    assert_eq!(
        refused, 1,
        "the expired link was refused once, then replaced"
    );
    for n in names_under(&got) {
        assert_eq!(
            std::fs::read(got.join(&n)).unwrap(),
            std::fs::read(dir.path().join("full").join(&n)).unwrap()
        );
    }
}

/// A memory budget smaller than one file: the downloads run one at a time (never two
/// bodies held at once) and all complete; the storage sees no two GETs overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_budget_below_one_file_downloads_one_at_a_time() {
    let mock = tests::mock(|b| b.timing(tests::fast_jobs())).await;
    let dir = tempfile::tempdir().unwrap();
    let (job, _) = finished_job(&mock, dir.path()).await;
    mock.clear_requests();
    let opts = DownloadOptions {
        concurrency: 16,
        memory_budget: 1,
        ..Default::default()
    };
    let got = dir.path().join("budget");
    let s = tests::client(&mock)
        .download_outputs(&job, &got, &opts, |_| {})
        .await
        .unwrap();
    assert!(s.downloaded > 5, "{}", s.downloaded);
    assert_eq!(names_under(&got).len(), s.downloaded);
    let mut gets: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && !r.target.starts_with(terra_mock::API_PREFIX))
        .map(|r| (r.at - r.latency, r.at))
        .collect();
    assert_eq!(gets.len(), s.downloaded);
    gets.sort();
    for w in gets.windows(2) {
        assert!(w[1].0 >= w[0].1, "two downloads overlapped: {w:?}");
    }
}
