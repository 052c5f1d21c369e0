//! The outputs of a 2D, a 3D and a LiDAR job, opened with the formats' own tools: GDAL
//! (`gdalinfo`, `gdalsrsinfo`) for the GeoTIFFs and `.prj`, laspy and pyproj for LAS, the
//! Khronos glTF validator for the glTF inside `b3dm`, a structural check of each
//! `tileset.json`, OpenSceneGraph's `osgconv` for OSGB, loaders.gl for I3S packages and a
//! reader written from SuperMap's specification for S3M (`tests/tools/check_outputs.py`,
//! `check_models.py`). Each asserts the coordinate system the job asked for (or the
//! automatic choice), that every product's extent holds every photo position, that every
//! encoding of the mesh has the OBJ's vertices and bounds, and that the readers report no
//! error; damaged copies of the 3D files must make their checks fail.
//!
//! `cargo xtask test` installs the tools (GDAL and OpenSceneGraph from Debian, laspy and
//! pyproj from PyPI, gltf-validator and loaders.gl from npm) and names them in
//! `TERRA_TEST_PYTHON`, `TERRA_TEST_GLTF_VALIDATOR` and `TERRA_TEST_NODE_MODULES`; without
//! them the tests are skipped with a message, except under CI or `TERRA_REQUIRE_SERVICES`,
//! where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use terra_client::workflow::JobSpec;
use terra_mock::sample::{FlightPlan, write_flight, write_lidar_mission};
use terra_types::{GeoDesc, JobParameters, LidarParams, Map2dParams, MapMode, Model3dParams};

struct Tools {
    python: PathBuf,
    gltf_validator: PathBuf,
    node_modules: PathBuf,
}

fn tools() -> Option<Tools> {
    let python = std::env::var_os("TERRA_TEST_PYTHON");
    let gltf = std::env::var_os("TERRA_TEST_GLTF_VALIDATOR");
    let gdal = Command::new("gdalinfo").arg("--version").output().is_ok();
    let osg = Command::new("osgconv").arg("--help").output().is_ok();
    let modules = std::env::var_os("TERRA_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .filter(|m| m.join("@loaders.gl/i3s").is_dir());
    match (python, gltf, gdal && osg, modules) {
        (Some(python), Some(gltf), true, Some(node_modules)) => Some(Tools {
            python: python.into(),
            gltf_validator: gltf.into(),
            node_modules,
        }),
        _ => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("TERRA_REQUIRE_SERVICES").is_some();
            assert!(
                !required,
                "job output checks need gdalinfo and osgconv on PATH, TERRA_TEST_PYTHON (laspy, pyproj), TERRA_TEST_GLTF_VALIDATOR and TERRA_TEST_NODE_MODULES with @loaders.gl/i3s (cargo xtask test installs them)"
            );
            eprintln!(
                "skipped: needs gdalinfo, osgconv, TERRA_TEST_PYTHON with laspy and pyproj, TERRA_TEST_GLTF_VALIDATOR and TERRA_TEST_NODE_MODULES"
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
    let (ok, said) = check(tools, &out, epsg, &photos_json, Some(&summary));
    println!("{said}");
    println!("{}", std::fs::read_to_string(&summary).unwrap_or_default());
    assert!(ok, "the formats' tools found problems:\n{said}");
    site
}

/// Runs `check_outputs.py` on `out`; returns whether it passed and what it said.
fn check(
    tools: &Tools,
    out: &Path,
    epsg: u32,
    photos_json: &Path,
    summary: Option<&Path>,
) -> (bool, String) {
    let mut cmd = Command::new(&tools.python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check_outputs.py"))
        .arg("--dir")
        .arg(out)
        .args(["--epsg", &epsg.to_string()])
        .arg("--photos")
        .arg(photos_json)
        .arg("--gltf-validator")
        .arg(&tools.gltf_validator)
        .arg("--node-modules")
        .arg(&tools.node_modules);
    if let Some(s) = summary {
        cmd.arg("--summary").arg(s);
    }
    let checked = cmd.output().expect("python runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    (checked.status.success(), said)
}

/// How a copy is damaged.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut to half its length.
    Truncated,
    /// Its first byte (the format's header) inverted.
    HeaderFlipped,
}

/// Copies the folders `keep` of the job's outputs in `dir/out`, damages `file` in the
/// copy and checks it: the check must fail and name the damaged file.
fn damaged_copy_fails(
    tools: &Tools,
    dir: &Path,
    epsg: u32,
    keep: &[&str],
    file: &str,
    damage: Damage,
) {
    let copy = tempfile::tempdir().unwrap();
    for folder in keep {
        copy_tree(&dir.join("out").join(folder), &copy.path().join(folder));
    }
    let target = copy.path().join(file);
    let mut bytes = std::fs::read(&target).unwrap();
    match damage {
        Damage::Truncated => bytes.truncate(bytes.len() / 2),
        Damage::HeaderFlipped => bytes[0] ^= 0xFF,
    }
    std::fs::write(&target, bytes).unwrap();
    let (ok, said) = check(tools, copy.path(), epsg, &dir.join("photos.json"), None);
    assert!(!ok, "{file} {damage:?} passed its check:\n{said}");
    assert!(
        said.lines()
            .any(|l| l.starts_with(&target.display().to_string())),
        "{file} {damage:?}: the check failed for another reason:\n{said}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
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

/// Every mesh format on: OBJ and PLY, 3D Tiles, OSGB, I3S and S3M, and the point cloud as
/// LAS, `pnts` and S3M.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3d_model_in_the_automatic_utm_zone_opens_in_every_formats_reader() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let photos = flight(&dir.path().join("in"), 12);
    let mut p = Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        generate_ply: Some(true),
        generate_b3dm: Some(true),
        generate_osgb: Some(true),
        generate_s3mb: Some(true),
        generate_i3s: Some(true),
        ..Default::default()
    };
    p.common.output_pointcloud = Some(true);
    p.common.generate_las = Some(true);
    p.common.generate_pnts = Some(true);
    p.common.generate_point_s3mb = Some(true);
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
    // The checks can fail: a damaged copy of each 3D file (the root of each tree and a
    // file only reached through it) makes its reader complain about that file.
    let osgb = "models/mesh/osgb/Data/Tile_+000_+000";
    for (keep, file) in [
        ("models/mesh/osgb", format!("{osgb}/Tile_+000_+000.osgb")),
        (
            "models/mesh/osgb",
            format!("{osgb}/Tile_+000_+000_L2_00.osgb"),
        ),
        ("models/mesh/i3s", "models/mesh/i3s/Block.slpk".into()),
        ("models/mesh/s3mb", "models/mesh/s3mb/Block.s3mb".into()),
        (
            "models/mesh/s3mb",
            "models/mesh/s3mb/Block_L2_00.s3mb".into(),
        ),
    ] {
        for damage in [Damage::Truncated, Damage::HeaderFlipped] {
            damaged_copy_fails(
                &tools,
                dir.path(),
                32649,
                &["models/mesh/obj", keep],
                &file,
                damage,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lidar_cloud_in_wgs84_degrees_passes_laspy_gdal_and_the_s3m_reader() {
    let Some(tools) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write_lidar_mission(&input).unwrap();
    let plan = FlightPlan {
        images: 4,
        ..Default::default()
    };
    let photos: Vec<(f64, f64)> = (0..4).map(|i| plan.position(i)).collect();
    let mut p = LidarParams {
        ground_extract: Some(true),
        generate_dem: Some(true),
        dem_resolution: Some(0.5),
        output_geo_desc: Some(GeoDesc::geo_cs("EPSG:4326")),
        ..Default::default()
    };
    p.common.generate_point_s3mb = Some(true);
    run_and_check(
        &tools,
        dir.path(),
        &input,
        &photos,
        JobSpec::Lidar(JobParameters::new(p)),
        4326,
    )
    .await;
    for damage in [Damage::Truncated, Damage::HeaderFlipped] {
        damaged_copy_fails(
            &tools,
            dir.path(),
            4326,
            &["lidars/terra_las", "lidars/terra_s3mb"],
            "lidars/terra_s3mb/cloud.s3mb",
            damage,
        );
    }
}
