//! The trees each job type leaves, the mosaic switch and the fallback system.

use super::*;

fn inputs(n: usize) -> Vec<Input> {
    (0..n)
        .map(|i| Input {
            name: format!("DJI_{i:04}.JPG"),
            size: 1000,
            position: Some((22.57 + i as f64 * 1e-4, 113.94, Some(90.0))),
        })
        .collect()
}

fn generate(job_type: JobType, parameters: &str, job: &str, inputs: &[Input]) -> Vec<Output> {
    super::generate(
        job_type,
        parameters,
        job,
        inputs,
        &OutputConfig::default(),
        &|_| None,
    )
}

fn names(files: &[Output]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn map_2d_has_image_list_dom_and_dsm() {
    let files = generate(
        JobType::Map2d,
        r#"{"parameter":{"map_mode":1,"dom_tile_size":256}}"#,
        "j",
        &inputs(12),
    );
    let n = names(&files);
    for want in [
        "images/survey/image_list.json",
        "map/result.tif",
        "map/dsm.tif",
        "map/tiles/256/0_0.tif",
        "report/report.json",
    ] {
        assert!(n.contains(&want), "{want} missing from {n:?}");
    }
    let list: serde_json::Value = serde_json::from_slice(&files[0].body).unwrap();
    assert_eq!(list["images"].as_array().unwrap().len(), 12);
    let tif = &files
        .iter()
        .find(|f| f.name == "map/result.tif")
        .unwrap()
        .body;
    assert_eq!(&tif[..4], b"II*\0");
}

#[test]
fn model_3d_follows_the_generate_flags() {
    let p = r#"{"parameter":{"output_mesh":true,"generate_obj":true,"generate_b3dm":true,"output_pointcloud":true,"generate_las":true,"generate_pnts":false}}"#;
    let files = generate(JobType::Model3d, p, "j", &inputs(10));
    let n = names(&files);
    assert!(
        n.contains(&"models/mesh/obj/Block.obj") && n.contains(&"models/mesh/b3dm/Data/Block.b3dm")
    );
    assert!(n.contains(&"models/pc/las/cloud.las"));
    assert!(
        !n.iter()
            .any(|f| f.contains("ply") || f.contains("osgb") || f.contains("pnts")),
        "{n:?}"
    );
    // Without output_mesh, the generate flags are ignored (documented master switch).
    let files = generate(
        JobType::Model3d,
        r#"{"parameter":{"generate_obj":true}}"#,
        "j",
        &inputs(10),
    );
    assert!(!names(&files).iter().any(|f| f.starts_with("models/mesh")));
}

#[test]
fn lidar_outputs() {
    let mission = vec![Input {
        name: "DJI_001.LDR".into(),
        size: 5,
        position: None,
    }];
    let files = generate(
        JobType::Lidar,
        r#"{"parameter":{"ground_extract":true,"generate_dem":true}}"#,
        "j",
        &mission,
    );
    let n = names(&files);
    for want in [
        "lidars/terra_las/cloud_merged.las",
        "lidars/terra_las/ground.las",
        "lidars/terra_dem/dem.tif",
        "lidars/terra_pnts/cloud.pnts",
    ] {
        assert!(n.contains(&want), "{want} missing from {n:?}");
    }
    assert!(!n.contains(&"images/survey/image_list.json"));
}

fn report(files: &[Output]) -> serde_json::Value {
    let r = files
        .iter()
        .find(|f| f.name == "report/report.json")
        .unwrap();
    serde_json::from_slice(&r.body).unwrap()
}

/// A 2D job over photos from `sample::FlightPlan`, with their bytes readable.
fn map_of_photos(cfg: &OutputConfig) -> (Vec<Output>, Vec<Vec<u8>>) {
    let plan = crate::sample::FlightPlan {
        images: 12,
        ..Default::default()
    };
    let photos: Vec<Vec<u8>> = (0..12).map(|i| plan.aerial_photo(i).unwrap()).collect();
    let inputs: Vec<Input> = photos
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let g = terra_types::exif_gps(b).unwrap();
            Input {
                name: format!("DJI_{i:04}.JPG"),
                size: b.len() as u64,
                position: Some((g.latitude, g.longitude, Some(g.altitude))),
            }
        })
        .collect();
    let read = |k: usize| photos.get(k).cloned();
    let files = super::generate(
        JobType::Map2d,
        r#"{"parameter":{"map_mode":1}}"#,
        "j",
        &inputs,
        cfg,
        &read,
    );
    (files, photos)
}

#[test]
fn the_orthophoto_is_a_mosaic_of_the_photos_unless_switched_off() {
    let (files, _) = map_of_photos(&OutputConfig::default());
    let r = report(&files);
    assert_eq!(r["mosaic"]["photos_decoded"], 12, "{r}");
    let mosaic = &files
        .iter()
        .find(|f| f.name == "map/result.tif")
        .unwrap()
        .body;
    let off = OutputConfig {
        photo_mosaic: false,
        ..Default::default()
    };
    let (files, _) = map_of_photos(&off);
    assert_eq!(report(&files)["mosaic"]["photos_decoded"], 0);
    let relief = &files
        .iter()
        .find(|f| f.name == "map/result.tif")
        .unwrap()
        .body;
    assert_eq!(mosaic.len(), relief.len(), "the same raster");
    assert_ne!(mosaic, relief, "painted differently");
    // The sample landscape has a blue river; shaded relief has no blue.
    // Pixels are the last bytes of the file: count them from the end.
    let blue = |tif: &[u8]| {
        tif.rchunks_exact(4)
            .filter(|p| p[3] == 255 && p[2] > 100 && p[0] < 80)
            .count()
    };
    assert!(blue(mosaic) > 100, "the river shows in the mosaic");
    assert_eq!(blue(relief), 0);
}

#[test]
fn a_system_the_emulator_cannot_compute_falls_back_and_says_so() {
    let p = r#"{"parameter":{"map_mode":1,"output_geo_desc":{"cs_type":"GEO_CS","geo_cs":"EPSG:2326"}}}"#;
    let site = &report(&generate(JobType::Map2d, p, "j", &inputs(12)))["site"];
    assert_eq!(site["crs"], "EPSG:32649", "{site}");
    assert!(
        site["notes"][0].as_str().unwrap().contains("EPSG:2326"),
        "{site}"
    );
    let p = r#"{"parameter":{"map_mode":1,"output_geo_desc":{"cs_type":"LOCAL_ENU_CS","ref_GPS":{"latitude":22.57,"longitude":113.94,"altitude":5}}}}"#;
    let files = generate(JobType::Map2d, p, "j", &inputs(12));
    let site = &report(&files)["site"];
    assert_eq!(site["crs"], "Local ENU at 22.5700000,113.9400000", "{site}");
    let prj = &files
        .iter()
        .find(|f| f.name == "map/result.prj")
        .unwrap()
        .body;
    assert!(prj.starts_with(b"LOCAL_CS["));
}

/// Each paged format lands where its readers look, only when its parameter asks, and a
/// whole 3D job with every format stays well under a MiB.
#[test]
fn paged_formats_follow_their_flags_and_stay_small() {
    let every = r#"{"parameter":{"output_mesh":true,"generate_obj":true,"generate_ply":true,"generate_b3dm":true,"generate_osgb":true,"generate_s3mb":true,"generate_i3s":true,"output_pointcloud":true,"generate_las":true,"generate_point_s3mb":true}}"#;
    let files = generate(JobType::Model3d, every, "j", &inputs(12));
    let n = names(&files);
    for want in [
        "models/mesh/osgb/metadata.xml",
        "models/mesh/osgb/Data/Tile_+000_+000/Tile_+000_+000.osgb",
        "models/mesh/osgb/Data/Tile_+000_+000/Tile_+000_+000_L1_0.osgb",
        "models/mesh/osgb/Data/Tile_+000_+000/Tile_+000_+000_L2_00.osgb",
        "models/mesh/i3s/Block.slpk",
        "models/mesh/s3mb/Block.scp",
        "models/mesh/s3mb/Block.s3mb",
        "models/mesh/s3mb/Block_L1_0.s3mb",
        "models/mesh/s3mb/Block_L2_00.s3mb",
        "models/pc/s3mb/cloud.scp",
        "models/pc/s3mb/cloud.s3mb",
    ] {
        assert!(n.contains(&want), "{want} missing from {n:?}");
    }
    let total: usize = files.iter().map(|f| f.body.len()).sum();
    assert!(total < 512 * 1024, "{total} bytes");
    assert!(
        !files
            .iter()
            .any(|f| f.body.starts_with(b"terra-mock placeholder")),
        "no placeholder is left"
    );
    // One flag at a time: its files, and nothing of the others.
    for (flag, dir) in [
        ("generate_osgb", "models/mesh/osgb/"),
        ("generate_i3s", "models/mesh/i3s/"),
        ("generate_s3mb", "models/mesh/s3mb/"),
    ] {
        let p = format!(r#"{{"parameter":{{"output_mesh":true,"{flag}":true}}}}"#);
        let files = generate(JobType::Model3d, &p, "j", &inputs(12));
        let meshes: Vec<&str> = names(&files)
            .into_iter()
            .filter(|f| f.starts_with("models/"))
            .collect();
        assert!(
            !meshes.is_empty() && meshes.iter().all(|f| f.starts_with(dir)),
            "{flag}: {meshes:?}"
        );
    }
    // LiDAR: the S3M point cloud only when asked.
    let mission = [Input {
        name: "DJI_001.LDR".into(),
        size: 5,
        position: None,
    }];
    let on = generate(
        JobType::Lidar,
        r#"{"parameter":{"generate_point_s3mb":true}}"#,
        "j",
        &mission,
    );
    assert!(names(&on).contains(&"lidars/terra_s3mb/cloud.s3mb"));
    assert!(names(&on).contains(&"lidars/terra_s3mb/cloud.scp"));
    let off = generate(JobType::Lidar, r#"{"parameter":{}}"#, "j", &mission);
    assert!(!names(&off).iter().any(|f| f.contains("s3m")));
}
