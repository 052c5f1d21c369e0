//! 9. The size and generation time of each output format.
//!
//! A 3D job over the 24 photos of the sample flight with one format on at a time (the
//! orthophoto and site are computed for every job; the format's own time is the difference
//! from a job with no mesh), every format at once, and a LiDAR job; set beside the emulated
//! result-processing stage.

use std::time::{Duration, Instant};
use terra_mock::sample::{FlightPlan, job_outputs};
use terra_types::JobType;

/// Runs per case; the fastest is reported (the work is CPU-bound and deterministic, so
/// the fastest run is the one least disturbed).
const RUNS: usize = 15;

fn fastest_run(
    job: JobType,
    params: &str,
    plan: &FlightPlan,
) -> (Duration, Vec<(String, Vec<u8>)>) {
    let cfg = terra_mock::OutputConfig::default();
    let mut times = Vec::with_capacity(RUNS);
    let mut files = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        files = job_outputs(plan, job, params, &cfg).expect("outputs");
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], files)
}

pub(crate) fn outputs() {
    let plan = FlightPlan::default();
    let mesh = |flags: &str| format!(r#"{{"parameter":{{"output_mesh":true,{flags}}}}}"#);
    let (base, _) = fastest_run(JobType::Model3d, &mesh(r#""generate_obj":false"#), &plan);
    println!(
        "outputs: a 3D job of {} photos without mesh outputs (orthophoto, site, report): {:.1} ms",
        plan.images,
        base.as_secs_f64() * 1e3
    );
    let cases: [(&str, JobType, String, &str); 9] = [
        ("OBJ (with MTL, JPEG, metadata.xml)", JobType::Model3d, mesh(r#""generate_obj":true"#), "models/mesh/obj/"),
        ("PLY", JobType::Model3d, mesh(r#""generate_ply":true"#), "models/mesh/ply/"),
        ("3D Tiles (b3dm, glTF 2.0)", JobType::Model3d, mesh(r#""generate_b3dm":true"#), "models/mesh/b3dm/"),
        ("OSGB (3 levels)", JobType::Model3d, mesh(r#""generate_osgb":true"#), "models/mesh/osgb/"),
        ("I3S scene layer package (3 nodes)", JobType::Model3d, mesh(r#""generate_i3s":true"#), "models/mesh/i3s/"),
        ("S3M mesh (3 tiles)", JobType::Model3d, mesh(r#""generate_s3mb":true"#), "models/mesh/s3mb/"),
        (
            "S3M point cloud (3D job)",
            JobType::Model3d,
            r#"{"parameter":{"output_pointcloud":true,"generate_pnts":false,"generate_point_s3mb":true}}"#.into(),
            "models/pc/s3mb/",
        ),
        (
            "every mesh and cloud format (3D job)",
            JobType::Model3d,
            r#"{"parameter":{"output_mesh":true,"generate_obj":true,"generate_ply":true,"generate_b3dm":true,"generate_osgb":true,"generate_s3mb":true,"generate_i3s":true,"output_pointcloud":true,"generate_las":true,"generate_point_s3mb":true}}"#.into(),
            "",
        ),
        (
            "LiDAR: LAS, pnts and S3M point cloud",
            JobType::Lidar,
            r#"{"parameter":{"generate_point_s3mb":true}}"#.into(),
            "lidars/",
        ),
    ];
    let stage = terra_mock::JobTiming::default().result_processing;
    for (name, job, params, prefix) in cases {
        let (t, files) = fastest_run(job, &params, &plan);
        let mine: Vec<&(String, Vec<u8>)> = files
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .collect();
        let bytes: usize = mine.iter().map(|(_, b)| b.len()).sum();
        let own = if job == JobType::Model3d {
            format!(
                " (+{:.1} ms over the job without meshes)",
                t.saturating_sub(base).as_secs_f64() * 1e3
            )
        } else {
            String::new()
        };
        println!(
            "outputs: {name}: {:.1} KiB in {} files; the job's outputs generated in {:.1} ms{own}; result processing lasts {stage:.0} s",
            bytes as f64 / 1024.0,
            mine.len(),
            t.as_secs_f64() * 1e3,
        );
    }
}
