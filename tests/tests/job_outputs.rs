//! The outputs of a 2D, a 3D and a LiDAR job, opened with the formats' own tools: GDAL
//! (`gdalinfo`, `gdalsrsinfo`) for the GeoTIFFs and `.prj`, laspy and pyproj for LAS, the
//! Khronos glTF validator for the glTF inside `b3dm`, and a structural check of each
//! `tileset.json` (`tests/tools/check_outputs.py`). Each asserts the coordinate system the
//! job asked for (or the automatic choice), that every product's extent holds every photo
//! position, and that the validators report no error.
//!
//! `cargo xtask test` installs the tools (GDAL from Debian, laspy and pyproj from PyPI,
//! gltf-validator from npm) and names them in `TERRA_TEST_PYTHON`, `TERRA_TEST_GDALINFO` and
//! `TERRA_TEST_GLTF_VALIDATOR`; without them the tests are skipped with a message, except
//! under CI or `TERRA_REQUIRE_SERVICES`, where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use terra_client::workflow::JobSpec;
use terra_mock::sample::{FlightPlan, write_flight, write_lidar_mission};
use terra_types::{GeoDesc, JobParameters, LidarParams, Map2dParams, MapMode, Model3dParams};

struct Tools {
    python: PathBuf,
    gltf_validator: PathBuf,
}

fn tools() -> Option<Tools> {
    let python = std::env::var_os("TERRA_TEST_PYTHON");
    let gltf = std::env::var_os("TERRA_TEST_GLTF_VALIDATOR");
    let gdal = Command::new("gdalinfo").arg("--version").output().is_ok();
    match (python, gltf, gdal) {
        (Some(python), Some(gltf), true) => Some(Tools {
            python: python.into(),
            gltf_validator: gltf.into(),
        }),
        _ => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("TERRA_REQUIRE_SERVICES").is_some();
            assert!(
                !required,
                "job output checks need gdalinfo on PATH, TERRA_TEST_PYTHON (laspy, pyproj) and TERRA_TEST_GLTF_VALIDATOR (cargo xtask test installs them)"
            );
            eprintln!(
                "skipped: needs gdalinfo, TERRA_TEST_PYTHON with laspy and pyproj, and TERRA_TEST_GLTF_VALIDATOR"
            );
            None
        }
    }
}

/// Runs `spec` on the photos in `input`, downloads the outputs and checks them against
/// `epsg`; returns the output folder and the report's `site`.
async fn run_and_check(
    tools: &Tools,
    dir: &Path,
    input: &Path,
    photos: &[(f64, f64)],
    spec: JobSpec,
    epsg: u32,
) -> serde_json::Value {
    let mock = tests::mock(|b| b).await;
    let client = tests::client(&mock);
    let out = dir.join("out");
    tests::workflow(&mock, &client, input, &out, spec)
        .run()
        .await
        .expect("the job runs");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report/report.json")).unwrap()).unwrap();
    let site = report["site"].clone();
    assert_eq!(site["crs"], format!("EPSG:{epsg}"), "{site}");
    let photos_json = dir.join("photos.json");
    let list: Vec<[f64; 2]> = photos.iter().map(|p| [p.0, p.1]).collect();
    std::fs::write(&photos_json, serde_json::to_vec(&list).unwrap()).unwrap();
    let summary = dir.join("summary.jsonl");
    let checked = Command::new(&tools.python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check_outputs.py"))
        .arg("--dir")
        .arg(&out)
        .args(["--epsg", &epsg.to_string()])
        .arg("--photos")
        .arg(&photos_json)
        .arg("--gltf-validator")
        .arg(&tools.gltf_validator)
        .arg("--summary")
        .arg(&summary)
        .output()
        .expect("python runs");
    let said = String::from_utf8_lossy(&checked.stdout);
    println!("{said}");
    println!("{}", std::fs::read_to_string(&summary).unwrap_or_default());
    assert!(
        checked.status.success(),
        "the formats' tools found problems:\n{said}\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    site
}

fn flight(dir: &Path, images: usize) -> Vec<(f64, f64)> {
    let plan = FlightPlan {
        images,
        ..Default::default()
    };
    write_flight(dir, &plan).unwrap();
    (0..images).map(|i| plan.position(i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2d_map_in_the_requested_cgcs2000_zone_passes_gdal_and_laspy() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let photos = flight(&dir.path().join("in"), 12);
    let mut p = Map2dParams {
        map_mode: Some(MapMode::Urban),
        dom_tile_size: Some(256),
        // CGCS2000 / 3-degree Gauss-Kruger CM 114E, as Chinese surveys deliver.
        output_geo_desc: Some(GeoDesc::geo_cs("EPSG:4547")),
        ..Default::default()
    };
    p.common.output_pointcloud = Some(true);
    p.common.generate_las = Some(true);
    let site = run_and_check(
        &tools,
        dir.path(),
        &dir.path().join("in"),
        &photos,
        JobSpec::Map2d(JobParameters::new(p)),
        4547,
    )
    .await;
    assert_eq!(site["crs_choice"], "requested");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3d_model_in_the_automatic_utm_zone_passes_the_gltf_validator() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let photos = flight(&dir.path().join("in"), 12);
    let mut p = Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        generate_ply: Some(true),
        generate_b3dm: Some(true),
        ..Default::default()
    };
    p.common.output_pointcloud = Some(true);
    p.common.generate_las = Some(true);
    p.common.generate_pnts = Some(true);
    // 22.58° N, 113.94° E lies in UTM zone 49N.
    let site = run_and_check(
        &tools,
        dir.path(),
        &dir.path().join("in"),
        &photos,
        JobSpec::Model3d(JobParameters::new(p)),
        32649,
    )
    .await;
    assert!(
        site["crs_choice"]
            .as_str()
            .unwrap()
            .starts_with("automatic"),
        "{site}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lidar_cloud_in_wgs84_degrees_passes_laspy_and_gdal() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write_lidar_mission(&input).unwrap();
    let plan = FlightPlan {
        images: 4,
        ..Default::default()
    };
    let photos: Vec<(f64, f64)> = (0..4).map(|i| plan.position(i)).collect();
    let p = LidarParams {
        ground_extract: Some(true),
        generate_dem: Some(true),
        dem_resolution: Some(0.5),
        output_geo_desc: Some(GeoDesc::geo_cs("EPSG:4326")),
        ..Default::default()
    };
    run_and_check(
        &tools,
        dir.path(),
        &input,
        &photos,
        JobSpec::Lidar(JobParameters::new(p)),
        4326,
    )
    .await;
}
