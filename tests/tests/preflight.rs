//! The preflight check (`terra_client::workflow::preflight`): one folder per kind of bad
//! file, the flight map it draws, and a workflow that stops before uploading anything.

use std::path::Path;

use terra_client::workflow::{Problem, Severity, flight_geojson, flight_svg, preflight};
use terra_mock::sample::{FlightPlan, jpeg_with_gps, write_flight, write_lidar_mission};
use terra_types::{JobType, PredefineAoi};

fn flight(dir: &Path, images: usize) {
    write_flight(
        dir,
        &FlightPlan {
            images,
            ..Default::default()
        },
    )
    .unwrap();
}

/// The findings of `dir` as `(severity, problem, file name)`.
fn findings(dir: &Path, job_type: JobType) -> Vec<(Severity, Problem, Option<String>)> {
    preflight(dir, job_type, &dir.join("out"), None)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| {
            (
                f.severity,
                f.problem,
                f.path
                    .map(|p| p.file_name().unwrap().to_string_lossy().into_owned()),
            )
        })
        .collect()
}

/// A JPEG like the sample flight's, without its EXIF (APP1) segment.
fn jpeg_without_gps() -> Vec<u8> {
    let jpeg = jpeg_with_gps(64, 48, 7, 22.5, 113.9, 80.0).unwrap();
    let mut out = vec![0xFF, 0xD8];
    let mut at = 2;
    // APPn segments come first; keep all but APP1 (EXIF), then the rest as it is.
    while jpeg[at] == 0xFF && (0xE0..=0xEF).contains(&jpeg[at + 1]) {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if jpeg[at + 1] != 0xE1 {
            out.extend_from_slice(&jpeg[at..at + 2 + len]);
        }
        at += 2 + len;
    }
    assert!(out.len() < at, "an EXIF segment was removed");
    out.extend_from_slice(&jpeg[at..]);
    out
}

#[test]
fn a_good_flight_has_nothing_to_say() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    let check = preflight(dir.path(), JobType::Model3d, &dir.path().join("out"), None).unwrap();
    assert!(check.findings.is_empty(), "{:?}", check.findings);
    assert_eq!(check.files.len(), 12);
    assert!(check.extent.is_some());
}

#[test]
fn a_jpeg_without_gps_is_a_warning_and_strict_makes_it_an_error() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    std::fs::write(dir.path().join("nogps.JPG"), jpeg_without_gps()).unwrap();
    assert_eq!(
        findings(dir.path(), JobType::Map2d),
        [(Severity::Warning, Problem::NoGps, Some("nogps.JPG".into()))]
    );
    let check = preflight(dir.path(), JobType::Map2d, &dir.path().join("out"), None).unwrap();
    assert!(check.clone().into_result(false).is_ok());
    let e = check.into_result(true).unwrap_err();
    assert!(e.to_string().contains("nogps.JPG"), "{e}");
}

#[test]
fn an_empty_photo_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    std::fs::write(dir.path().join("empty.JPG"), b"").unwrap();
    assert_eq!(
        findings(dir.path(), JobType::Map2d),
        [(Severity::Error, Problem::Empty, Some("empty.JPG".into()))]
    );
}

#[test]
fn text_named_like_a_photo_is_not_a_photo() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    std::fs::write(dir.path().join("readme.jpg"), "flight notes: windy").unwrap();
    assert_eq!(
        findings(dir.path(), JobType::Model3d),
        [(
            Severity::Error,
            Problem::NotAPhoto,
            Some("readme.jpg".into())
        )]
    );
}

#[test]
fn random_bytes_named_like_a_photo_are_not_a_photo() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("DJI_9999.HEIC"), noise).unwrap();
    assert_eq!(
        findings(dir.path(), JobType::Model3d),
        [(
            Severity::Error,
            Problem::NotAPhoto,
            Some("DJI_9999.HEIC".into())
        )]
    );
}

#[test]
fn the_same_photo_twice_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    let first = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    std::fs::create_dir(dir.path().join("copy")).unwrap();
    std::fs::copy(&first, dir.path().join("copy/again.JPG")).unwrap();
    let check = preflight(dir.path(), JobType::Map2d, &dir.path().join("out"), None).unwrap();
    assert_eq!(check.findings.len(), 1, "{:?}", check.findings);
    let f = &check.findings[0];
    assert_eq!(
        (f.severity, f.problem),
        (Severity::Warning, Problem::Duplicate)
    );
    assert!(f.message.contains("again.JPG"), "{}", f.message);
}

#[test]
fn too_few_photos_is_an_error_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 9);
    let check = preflight(dir.path(), JobType::Map2d, &dir.path().join("out"), None).unwrap();
    assert_eq!(check.findings.len(), 1);
    assert_eq!(check.findings[0].problem, Problem::Count);
    assert!(check.findings[0].message.contains("at least 10"));
}

#[test]
fn a_lidar_folder_without_lidar_data_is_an_error() {
    let photos = tempfile::tempdir().unwrap();
    flight(photos.path(), 12);
    assert_eq!(
        findings(photos.path(), JobType::Lidar),
        [(Severity::Error, Problem::NoLidarData, None)]
    );
    let mission = tempfile::tempdir().unwrap();
    write_lidar_mission(mission.path()).unwrap();
    assert!(findings(mission.path(), JobType::Lidar).is_empty());
}

#[test]
fn an_area_of_interest_away_from_the_photos_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    let check = preflight(dir.path(), JobType::Model3d, &dir.path().join("o"), None).unwrap();
    let e = check.extent.unwrap();
    let around = |lon: f64, lat: f64, d: f64| PredefineAoi {
        polygon_points: vec![
            [lon - d, lat - d, 0.0],
            [lon + d, lat - d, 0.0],
            [lon + d, lat + d, 0.0],
            [lon - d, lat + d, 0.0],
        ],
        ..Default::default()
    };
    let (clat, clon) = ((e.min_lat + e.max_lat) / 2.0, (e.min_lon + e.max_lon) / 2.0);
    let over = around(clon, clat, 0.01);
    let check = preflight(
        dir.path(),
        JobType::Model3d,
        &dir.path().join("o"),
        Some(&over),
    )
    .unwrap();
    assert!(check.findings.is_empty(), "{:?}", check.findings);
    let away = around(clon + 1.0, clat, 0.01);
    let check = preflight(
        dir.path(),
        JobType::Model3d,
        &dir.path().join("o"),
        Some(&away),
    )
    .unwrap();
    assert_eq!(check.findings.len(), 1);
    assert_eq!(check.findings[0].problem, Problem::OutsideAoi);
}

#[test]
fn the_flight_map_of_a_fixed_flight() {
    let dir = tempfile::tempdir().unwrap();
    flight(dir.path(), 12);
    let aoi = {
        let check = preflight(dir.path(), JobType::Model3d, &dir.path().join("o"), None).unwrap();
        let e = check.extent.unwrap();
        PredefineAoi {
            polygon_points: vec![
                [e.min_lon, e.min_lat, 0.0],
                [e.max_lon, e.min_lat, 0.0],
                [(e.min_lon + e.max_lon) / 2.0, e.max_lat, 0.0],
            ],
            ..Default::default()
        }
    };
    let check = preflight(
        dir.path(),
        JobType::Model3d,
        &dir.path().join("o"),
        Some(&aoi),
    )
    .unwrap();
    insta::assert_snapshot!("flight_svg", flight_svg(&check).unwrap());
    let geojson = flight_geojson(&check);
    let features = geojson["features"].as_array().unwrap();
    let kinds: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "photo").count(), 12);
    assert!(kinds.contains(&"extent") && kinds.contains(&"aoi"));
    // RFC 7946: longitude first; every photo inside the extent.
    let e = check.extent.unwrap();
    for f in features
        .iter()
        .filter(|f| f["properties"]["kind"] == "photo")
    {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!((e.min_lon..=e.max_lon).contains(&lon) && (e.min_lat..=e.max_lat).contains(&lat));
    }
    let ring = &features
        .iter()
        .find(|f| f["properties"]["kind"] == "aoi")
        .unwrap()["geometry"]["coordinates"][0];
    assert_eq!(ring[0], ring[3], "a closed ring");
}

/// Bad input stops the workflow before anything reaches the service or the storage.
#[tokio::test]
async fn the_workflow_stops_before_uploading_anything() {
    let mock = tests::mock(|b| b).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    flight(&input, 12);
    std::fs::write(input.join("broken.JPG"), "not a photo").unwrap();
    let client = tests::client(&mock);
    let spec = terra_client::workflow::JobSpec::Model3d(terra_types::JobParameters::new(
        terra_types::Model3dParams {
            output_mesh: Some(true),
            generate_obj: Some(true),
            ..Default::default()
        },
    ));
    let e = tests::workflow(&mock, &client, &input, &dir.path().join("out"), spec)
        .run()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), terra_client::ErrorKind::Input);
    assert!(e.to_string().contains("broken.JPG"), "{e}");
    assert!(mock.requests().is_empty(), "nothing was sent");
    assert_eq!(mock.object_count(), 0);
    assert!(
        !dir.path().join("out").exists(),
        "no output folder for refused input"
    );
}
