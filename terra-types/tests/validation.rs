//! The boundaries of start-parameter validation, on both sides: a value just inside is
//! accepted, a value just outside is refused *naming that field*. Bad parameters found here
//! cost the user nothing; found by DJI, they cost hours of upload and a job.

use terra_types::{
    GeoDesc, JobParameters, JobType, LidarParams, Map2dParams, Model3dParams, ParameterSet,
    PredefineAoi, RefGps, validate_start_parameters,
};

/// `Ok(())` when `parameters` passes for `job_type`, else the field the error names.
fn check(job_type: JobType, parameters: &str) -> Result<(), String> {
    validate_start_parameters(job_type, parameters).map_err(|e| e.field)
}

fn lidar(p: &str) -> Result<(), String> {
    check(JobType::Lidar, &format!(r#"{{"parameter":{{{p}}}}}"#))
}

fn map(p: &str) -> Result<(), String> {
    check(JobType::Map2d, &format!(r#"{{"parameter":{{{p}}}}}"#))
}

fn model(p: &str) -> Result<(), String> {
    check(JobType::Model3d, &format!(r#"{{"parameter":{{{p}}}}}"#))
}

fn refused(field: &str) -> Result<(), String> {
    Err(field.to_owned())
}

#[test]
fn positive_numbers_refuse_zero_and_negatives_and_accept_the_smallest_positive() {
    for field in [
        "sample_distance",
        "lidar_point_max_distance",
        "max_size_building",
        "iter_dist",
        "dem_resolution",
    ] {
        let name = format!("parameter.{field}");
        assert_eq!(
            lidar(&format!(r#""{field}":0"#)),
            refused(&name),
            "{field} = 0"
        );
        assert_eq!(
            lidar(&format!(r#""{field}":-0.5"#)),
            refused(&name),
            "{field} < 0"
        );
        assert_eq!(lidar(&format!(r#""{field}":1e-9"#)), Ok(()), "{field} > 0");
        assert_eq!(
            lidar(&format!(r#""{field}":12.5"#)),
            Ok(()),
            "{field} = 12.5"
        );
    }
}

#[test]
fn non_finite_numbers_are_refused_where_json_cannot_carry_them() {
    // JSON has no NaN or infinity, but a Rust caller can build them.
    let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    type Setter = fn(&mut LidarParams, f64);
    let fields: [(&str, Setter); 8] = [
        ("sample_distance", |p, v| p.sample_distance = Some(v)),
        ("lidar_point_max_distance", |p, v| {
            p.lidar_point_max_distance = Some(v)
        }),
        ("max_size_building", |p, v| p.max_size_building = Some(v)),
        ("iter_dist", |p, v| p.iter_dist = Some(v)),
        ("iter_angle", |p, v| p.iter_angle = Some(v)),
        ("dem_resolution", |p, v| p.dem_resolution = Some(v)),
        ("refine_calibrate", |p, v| p.refine_calibrate = Some(v)),
        ("output_height_offset", |p, v| {
            p.output_height_offset = Some(v)
        }),
    ];
    for (field, set) in fields {
        for v in bad {
            let mut p = LidarParams::default();
            set(&mut p, v);
            let e = JobParameters::new(p).validate().unwrap_err();
            assert_eq!(e.field, format!("parameter.{field}"), "{field} = {v}");
        }
        // Any finite value passes the finiteness check (refine_calibrate and the offset
        // may be negative).
        let mut p = LidarParams::default();
        set(&mut p, 1.0);
        assert!(JobParameters::new(p).validate().is_ok(), "{field} = 1");
    }
    // refine_calibrate and output_height_offset may be negative: only finiteness counts.
    let p = LidarParams {
        refine_calibrate: Some(-3.0),
        output_height_offset: Some(-3.0),
        ..Default::default()
    };
    assert!(JobParameters::new(p).validate().is_ok());
    let mut m = Model3dParams {
        model_simplify: Some(f64::NAN),
        ..Default::default()
    };
    assert_eq!(
        JobParameters::new(m.clone()).validate().unwrap_err().field,
        "parameter.model_simplify"
    );
    m.model_simplify = Some(0.5);
    assert!(JobParameters::new(m).validate().is_ok());
}

#[test]
fn iter_angle_is_an_open_interval_of_degrees() {
    let field = "parameter.iter_angle";
    assert_eq!(lidar(r#""iter_angle":0"#), refused(field));
    assert_eq!(lidar(r#""iter_angle":-10"#), refused(field));
    assert_eq!(lidar(r#""iter_angle":90"#), refused(field));
    assert_eq!(lidar(r#""iter_angle":120"#), refused(field));
    assert_eq!(lidar(r#""iter_angle":0.001"#), Ok(()));
    assert_eq!(lidar(r#""iter_angle":89.999"#), Ok(()));
    assert_eq!(lidar(r#""iter_angle":45"#), Ok(()));
}

#[test]
fn sample_distance_and_quality_level_exclude_each_other() {
    assert_eq!(lidar(r#""sample_distance":0.1"#), Ok(()));
    assert_eq!(lidar(r#""quality_level":2"#), Ok(()));
    assert_eq!(
        lidar(r#""sample_distance":0.1,"quality_level":2"#),
        refused("parameter.sample_distance")
    );
}

#[test]
fn enumerations_refuse_values_outside_their_list() {
    assert_eq!(lidar(r#""quality_level":3"#), Ok(()));
    assert_eq!(
        lidar(r#""quality_level":4"#),
        refused("parameter.quality_level")
    );
    assert_eq!(
        lidar(r#""quality_level":0"#),
        refused("parameter.quality_level")
    );
    assert_eq!(lidar(r#""scene_type":2"#), Ok(()));
    assert_eq!(lidar(r#""scene_type":3"#), refused("parameter.scene_type"));
    assert_eq!(map(r#""map_mode":0"#), Ok(()));
    assert_eq!(map(r#""map_mode":3"#), refused("parameter.map_mode"));
    assert_eq!(model(r#""quality_level":1"#), Ok(()));
    assert_eq!(
        model(r#""quality_level":9"#),
        refused("parameter.quality_level")
    );
    assert_eq!(model(r#""SfM_method":"GLOBAL""#), Ok(()));
    assert_eq!(
        model(r#""SfM_method":"ANY""#),
        refused("parameter.SfM_method")
    );
    assert_eq!(model(r#""sfm_feature_quantity_level":3"#), Ok(()));
    assert_eq!(
        model(r#""sfm_feature_quantity_level":4"#),
        refused("parameter.sfm_feature_quantity_level")
    );
}

#[test]
fn dom_tile_size_is_zero_or_a_positive_even_number() {
    let field = "parameter.dom_tile_size";
    assert_eq!(map(r#""dom_tile_size":0"#), Ok(()));
    assert_eq!(map(r#""dom_tile_size":2"#), Ok(()));
    assert_eq!(map(r#""dom_tile_size":1024"#), Ok(()));
    assert_eq!(map(r#""dom_tile_size":-2"#), refused(field));
    assert_eq!(map(r#""dom_tile_size":-1"#), refused(field));
    assert_eq!(map(r#""dom_tile_size":1"#), refused(field));
    assert_eq!(map(r#""dom_tile_size":1023"#), refused(field));
}

#[test]
fn model_simplify_is_a_closed_interval() {
    let field = "parameter.model_simplify";
    assert_eq!(model(r#""model_simplify":0.05"#), Ok(()));
    assert_eq!(model(r#""model_simplify":1"#), Ok(()));
    assert_eq!(model(r#""model_simplify":0.049"#), refused(field));
    assert_eq!(model(r#""model_simplify":1.001"#), refused(field));
    assert_eq!(model(r#""model_simplify":0"#), refused(field));
}

fn geo(g: &str) -> Result<(), String> {
    map(&format!(r#""output_geo_desc":{g}"#))
}

#[test]
fn reference_positions_are_on_the_earth() {
    let enu = |lat: &str, lon: &str| {
        geo(&format!(
            r#"{{"cs_type":"LOCAL_ENU_CS","ref_GPS":{{"latitude":{lat},"longitude":{lon},"altitude":10}}}}"#
        ))
    };
    let lat = "parameter.output_geo_desc.ref_GPS.latitude";
    let lon = "parameter.output_geo_desc.ref_GPS.longitude";
    for ok in [
        ("90", "180"),
        ("-90", "-180"),
        ("0", "0"),
        ("22.5", "113.9"),
    ] {
        assert_eq!(enu(ok.0, ok.1), Ok(()), "{ok:?}");
    }
    assert_eq!(enu("90.0001", "0"), refused(lat));
    assert_eq!(enu("-90.0001", "0"), refused(lat));
    assert_eq!(enu("0", "180.0001"), refused(lon));
    assert_eq!(enu("0", "-180.0001"), refused(lon));
    // Non-finite, from Rust.
    let g = GeoDesc {
        cs_type: Some(terra_types::CsType::LocalEnuCs),
        ref_gps: Some(RefGps {
            latitude: 0.0,
            longitude: 0.0,
            altitude: f64::INFINITY,
        }),
        ..Default::default()
    };
    assert_eq!(g.validate().unwrap_err().field, "ref_GPS.altitude");
    for bad in [f64::NAN, f64::INFINITY] {
        let g = GeoDesc {
            cs_type: Some(terra_types::CsType::LocalEnuCs),
            ref_gps: Some(RefGps {
                latitude: 0.0,
                longitude: bad,
                altitude: 0.0,
            }),
            ..Default::default()
        };
        assert_eq!(g.validate().unwrap_err().field, "ref_GPS.longitude");
        let g = GeoDesc {
            cs_type: Some(terra_types::CsType::LocalEnuCs),
            ref_gps: Some(RefGps {
                latitude: bad,
                longitude: 0.0,
                altitude: 0.0,
            }),
            ..Default::default()
        };
        assert_eq!(g.validate().unwrap_err().field, "ref_GPS.latitude");
    }
}

#[test]
fn geo_descriptions_need_what_their_kind_needs() {
    let base = "parameter.output_geo_desc";
    assert_eq!(geo("{}"), Ok(()), "automatic");
    assert_eq!(geo(r#"{"cs_type":"GEO_CS","geo_cs":"EPSG:4326"}"#), Ok(()));
    assert_eq!(
        geo(r#"{"cs_type":"GEO_CS","geo_cs":"  "}"#),
        refused(&format!("{base}.geo_cs"))
    );
    assert_eq!(
        geo(r#"{"cs_type":"LOCAL_ENU_CS"}"#),
        refused(&format!("{base}.ref_GPS"))
    );
    assert_eq!(
        geo(r#"{"geo_cs":"EPSG:4326"}"#),
        refused(&format!("{base}.cs_type"))
    );
    assert_eq!(
        geo(r#"{"cs_type":"MARS_CS"}"#),
        refused(&format!("{base}.cs_type"))
    );
}

fn aoi(points: &[[f64; 3]], min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    let mut p = JobParameters::new(Model3dParams::default());
    p.predefine_aoi = Some(PredefineAoi {
        polygon_points: points.to_vec(),
        min_altitude: min,
        max_altitude: max,
        ..Default::default()
    });
    p.validate().map_err(|e| e.field)
}

#[test]
fn an_area_of_interest_is_a_polygon_with_ordered_altitudes() {
    let tri = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    assert_eq!(aoi(&tri, None, None), Ok(()));
    assert_eq!(
        aoi(&tri[..2], None, None),
        refused("predefine_AOI.polygon_points")
    );
    assert_eq!(aoi(&tri, Some(10.0), Some(10.0)), Ok(()), "equal is fine");
    assert_eq!(aoi(&tri, Some(-5.0), Some(10.0)), Ok(()));
    assert_eq!(
        aoi(&tri, Some(10.5), Some(10.0)),
        refused("predefine_AOI.min_altitude")
    );
    assert_eq!(
        aoi(&tri, Some(f64::NAN), None),
        refused("predefine_AOI.min_altitude")
    );
    assert_eq!(
        aoi(&tri, None, Some(f64::INFINITY)),
        refused("predefine_AOI.max_altitude")
    );
    let mut bad = tri;
    bad[2][1] = f64::NAN;
    assert_eq!(
        aoi(&bad, None, None),
        refused("predefine_AOI.polygon_points[2]")
    );
}

#[test]
fn lidar_jobs_cannot_ask_for_undistorted_images_but_photo_jobs_can() {
    let export = r#"{"parameter":{},"export_parameter":{"undistort_images":true}}"#;
    assert_eq!(
        check(JobType::Lidar, export),
        refused("export_parameter.undistort_images")
    );
    assert_eq!(check(JobType::Map2d, export), Ok(()));
    assert_eq!(check(JobType::Model3d, export), Ok(()));
    assert_eq!(
        check(
            JobType::Lidar,
            r#"{"parameter":{},"export_parameter":{"undistort_images":false}}"#
        ),
        Ok(())
    );
}

#[test]
fn only_known_job_types_take_parameters() {
    assert_eq!(check(JobType::Merge, r#"{"anything":[1]}"#), Ok(()));
    assert_eq!(check(JobType::Unknown(99), "{}"), refused("type"));
    // Each typed set checks its own job type's rules, not another's.
    assert_eq!(Map2dParams::JOB_TYPE, JobType::Map2d);
    assert_eq!(Model3dParams::JOB_TYPE, JobType::Model3d);
    assert_eq!(LidarParams::JOB_TYPE, JobType::Lidar);
}
