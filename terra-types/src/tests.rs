//! Round-trip properties for every wire type, and snapshots of their JSON built from the
//! examples of the reference.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::*;

fn json_roundtrip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(v).expect("serialize");
    let back: T =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(&back, v, "json: {}", json);
    Ok(())
}

fn query_roundtrip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let q = serde_urlencoded::to_string(v).expect("serialize");
    let back: T =
        serde_urlencoded::from_str(&q).map_err(|e| TestCaseError::fail(format!("{e}: {q}")))?;
    prop_assert_eq!(&back, v, "query: {}", q);
    Ok(())
}

macro_rules! roundtrips {
    ($check:ident: $($name:ident => $t:ty),* $(,)?) => {
        proptest! {
            $(
                #[test]
                fn $name(v in any::<$t>()) {
                    $check(&v)?;
                }
            )*
        }
    };
}

roundtrips! { json_roundtrip:
    api_result => ApiResult,
    envelope_job => Envelope<Job>,
    envelope_page_of_files => Envelope<Page<File>>,
    gateway_error => GatewayError,
    created => Created,
    sts_token => StsToken,
    callback_file => CallbackFile,
    upload_callback => UploadCallbackRequest,
    resource => Resource,
    resource_detail => ResourceDetail,
    create_resource => CreateResourceRequest,
    update_request => UpdateRequest,
    file_operation => FileOperationRequest,
    file => File,
    update_file => UpdateFileRequest,
    job => Job,
    create_job => CreateJobRequest,
    start_job => StartJobRequest,
    page_of_resources => Page<Resource>,
    params_2d => JobParameters<Map2dParams>,
    params_3d => JobParameters<Model3dParams>,
    params_lidar => JobParameters<LidarParams>,
    geo_desc => GeoDesc,
    predefine_aoi => PredefineAoi,
    export_parameter => ExportParameter,
}

roundtrips! { query_roundtrip:
    list_resources_query => ListResourcesQuery,
    list_files_query => ListFilesQuery,
    list_jobs_query => ListJobsQuery,
}

proptest! {
    /// A start request built from typed parameters carries exactly their JSON, and parses
    /// back to the same parameters.
    #[test]
    fn start_request_parameters_are_a_string(p in any::<JobParameters<Model3dParams>>()) {
        prop_assert_eq!(StartJobRequest::new("r", &p).is_ok(), p.validate().is_ok());
        let start = StartJobRequest {
            job_type: JobType::Model3d,
            resource_uuid: "r".into(),
            parameters: p.to_json_string(),
            output_resource_uuid: None,
        };
        let wire: serde_json::Value = serde_json::to_value(&start).unwrap();
        prop_assert!(wire["parameters"].is_string());
        prop_assert_eq!(start.parameters_as::<Model3dParams>().unwrap(), p);
    }

    /// Validation never panics, whatever the parameter string.
    #[test]
    fn validation_never_panics(s in ".{0,200}", t in any::<JobType>()) {
        let _ = validate_start_parameters(t, &s);
    }

    /// Codes map to the same variant however they are produced.
    #[test]
    fn codes_are_stable(c in any::<i64>()) {
        prop_assert_eq!(ApiCode::from_code(c).code(), c);
        prop_assert_eq!(JobStatus::from_code(c).code(), c);
    }
}

// ---- snapshots built from the reference's examples -------------------------------------

const TOKEN_CN: &str = r#"{
  "cloudName": "ali_oss", "accessKeyID": "STS.NUxxxx", "secretAccessKey": "9xxxx",
  "sessionToken": "CAISxxxx", "region": "oss-cn-hangzhou", "cloudBucketName": "hz-terra-be-prod",
  "storePath": "1467/tmp/7b3c1e/{fileName}", "callbackParam": "eyJhIjoiYiJ9", "expireTime": 1795601400
}"#;

#[test]
fn token_from_cn_example() {
    let t: StsToken = serde_json::from_str(TOKEN_CN).unwrap();
    assert_eq!(t.cloud_name, CloudName::AliOss);
    assert_eq!(t.key_prefix(), "1467/tmp/7b3c1e/");
    assert_eq!(
        t.object_key(r"sub\DJI_0001.JPG"),
        "1467/tmp/7b3c1e/sub/DJI_0001.JPG"
    );
    let debug = format!("{t:?}");
    assert!(
        !debug.contains("9xxxx") && !debug.contains("CAISxxxx"),
        "{debug}"
    );
    insta::assert_json_snapshot!("sts_token", t);
}

#[test]
fn callback_request() {
    let req = UploadCallbackRequest {
        callback_param: "eyJhIjoiYiJ9".into(),
        resource_uuid: "0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11".into(),
        files: vec![
            CallbackFile::new("DJI_0001.JPG", "\"9b2cf535f27731c974343645a3985328\""),
            CallbackFile {
                meta: Some("{\"camera\":\"M3E\"}".into()),
                position: Some(Position {
                    attitude: 0.0,
                    latitude: 22.5797,
                    longitude: 113.9436,
                }),
                ..CallbackFile::new("sub/DJI_0002.JPG", "6f5902ac237024bdd0c176cb93063dc4")
            },
        ],
    };
    insta::assert_json_snapshot!("upload_callback_request", req);
}

fn sample_resource() -> Resource {
    Resource {
        uuid: "0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11".into(),
        name: "test-resource".into(),
        resource_type: ResourceType::Map,
        meta: String::new(),
        file_count: 24,
        total_size: 201_326_592,
        scope: Some(Scope {
            min_latitude: 22.57,
            max_latitude: 22.58,
            min_longitude: 113.94,
            max_longitude: 113.95,
        }),
        revisable: true,
        upload_used_time: 0.0,
        download_used_time: 0.0,
        created_at: "2026-11-25T10:00:00Z".into(),
        updated_at: "2026-11-25T10:00:00Z".into(),
    }
}

#[test]
fn resources() {
    insta::assert_json_snapshot!(
        "create_resource_request",
        CreateResourceRequest::map("test-resource")
    );
    insta::assert_json_snapshot!("resource", sample_resource());
    let detail = ResourceDetail {
        summary: sample_resource(),
        file_uuids: vec!["5f0c7d2e-0000-4000-8000-000000000001".into()],
        input_job_uuids: vec![],
        output_job_uuids: vec![],
    };
    insta::assert_json_snapshot!("resource_detail", detail);
    insta::assert_json_snapshot!(
        "file_operation",
        FileOperationRequest {
            add_file_uuids: vec!["5f0c7d2e-0000-4000-8000-000000000001".into()],
            remove_file_uuids: vec![],
        }
    );
}

#[test]
fn resource_detail_accepts_the_documented_shape() {
    let d: ResourceDetail = serde_json::from_str(
        r#"{"summary":{"uuid":"r1","name":"output of job: j1","type":"job_output"},"fileUuids":["f1","f2"]}"#,
    )
    .unwrap();
    assert_eq!(d.summary.resource_type, ResourceType::JobOutput);
    assert_eq!(d.file_uuids, ["f1", "f2"]);
    assert!(d.input_job_uuids.is_empty());
}

#[test]
fn files() {
    let f = File {
        uuid: "5f0c7d2e-0000-4000-8000-000000000001".into(),
        name: "models/mesh/obj/Block.obj".into(),
        size: 1234,
        checksum: "\"9b2cf535f27731c974343645a3985328\"".into(),
        meta: String::new(),
        position: None,
        url: Some("http://127.0.0.1:8080/terra-mock-s3/out/Block.obj?X-Amz-Expires=3600".into()),
        created_at: "2026-11-25T10:00:00Z".into(),
        updated_at: "2026-11-25T10:00:00Z".into(),
    };
    insta::assert_json_snapshot!("file", f);
    let page = Page {
        list: vec![f],
        page: 1,
        rows: 10,
        total: 1,
    };
    insta::assert_json_snapshot!("page_of_files", Envelope::ok(page));
}

#[test]
fn jobs_before_and_after_start() {
    let mut job = Job {
        uuid: "6d1f3c2e-0000-4000-8000-000000000002".into(),
        name: "survey".into(),
        meta: String::new(),
        job_type: JobType::NotStarted,
        status: JobStatus::Created,
        created_at: "2026-11-25T10:00:00Z".into(),
        updated_at: "2026-11-25T10:00:00Z".into(),
        started_at: None,
        completed_at: None,
        message: None,
        origin_resource_uuid: None,
        output_resource_uuid: None,
        parameters: None,
        percentage: None,
        pixels: None,
        remain_seconds: None,
    };
    insta::assert_json_snapshot!("job_created", job);
    job.job_type = JobType::Model3d;
    job.status = JobStatus::Executing;
    job.started_at = Some("2026-11-25T10:01:00Z".into());
    job.message = Some("executing".into());
    job.origin_resource_uuid = Some("0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11".into());
    job.parameters = Some(r#"{"parameter":{"output_mesh":true}}"#.into());
    job.percentage = Some(0.42);
    job.pixels = Some(480_000_000.0);
    job.remain_seconds = Some(1800);
    insta::assert_json_snapshot!("job_executing", job);
    insta::assert_json_snapshot!("create_job_request", CreateJobRequest::named("survey"));
}

#[test]
fn start_requests_from_the_reference_examples() {
    let two_d = r#"{"parameter":{"map_mode":1,"quality_level":1,
        "output_geo_desc":{"cs_type":"GEO_CS","geo_cs":"EPSG:32650","geo_cs_wkt":"","override_vertical_cs":""}}}"#;
    let p2: JobParameters<Map2dParams> = JobParameters::from_json_str(two_d).unwrap();
    p2.validate().unwrap();
    insta::assert_json_snapshot!(
        "start_2d",
        StartJobRequest::new("0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11", &p2).unwrap()
    );

    let three_d = r#"{"parameter":{"output_mesh":true,"generate_obj":true,"generate_b3dm":true,
        "generate_osgb":true,"output_geo_desc":{"cs_type":"GEO_CS","geo_cs":"EPSG:4326",
        "override_vertical_cs":"EPSG:5773"}}}"#;
    let p3: JobParameters<Model3dParams> = JobParameters::from_json_str(three_d).unwrap();
    p3.validate().unwrap();
    assert!(p3.parameter.mesh_formats().obj && !p3.parameter.mesh_formats().ply);
    insta::assert_json_snapshot!(
        "start_3d",
        StartJobRequest::new("0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11", &p3).unwrap()
    );

    let lidar = JobParameters {
        parameter: LidarParams {
            quality_level: Some(QualityLevel::Medium),
            ground_extract: Some(true),
            scene_type: Some(SceneType::Slope),
            generate_dem: Some(true),
            dem_resolution: Some(0.5),
            ..Default::default()
        },
        export_parameter: Some(ExportParameter {
            pc_dir_structure: Some(true),
            ..Default::default()
        }),
        ..JobParameters::new(LidarParams::default())
    };
    insta::assert_json_snapshot!(
        "start_lidar",
        StartJobRequest::new("0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11", &lidar).unwrap()
    );
}

#[test]
fn unknown_keys_pass_through() {
    let s = r#"{"parameter":{"map_mode":0,"future_knob":3},"future_section":{"a":1}}"#;
    let p: JobParameters<Map2dParams> = JobParameters::from_json_str(s).unwrap();
    assert_eq!(p.parameter.extra["future_knob"], 3);
    assert_eq!(p.extra["future_section"]["a"], 1);
    assert_eq!(p.to_json_string(), s);
}

#[test]
fn envelopes() {
    insta::assert_json_snapshot!(
        "envelope_error",
        Envelope::<()>::error(ApiCode::InvalidParameter, "parameter `name` is required")
    );
    insta::assert_json_snapshot!(
        "envelope_created",
        Envelope::ok(Created {
            uuid: "6d1f3c2e-0000-4000-8000-000000000002".into()
        })
    );
    let unknown: Envelope<serde_json::Value> =
        serde_json::from_str(r#"{"result":{"code":999999,"msg":"new","desc":""},"data":null}"#)
            .unwrap();
    assert_eq!(unknown.result.code, ApiCode::Unknown(999_999));
    assert!(unknown.data.is_none());
}

#[test]
fn every_documented_code_is_known() {
    for c in [0, 701, 801, 102000, 102001, 102002, 102003, 102114, 102116] {
        assert!(ApiCode::from_code(c).is_known(), "{c}");
    }
}

#[test]
fn statuses() {
    let terminal: Vec<i64> = (0..=7)
        .filter(|c| JobStatus::from_code(*c).is_terminal())
        .collect();
    assert_eq!(terminal, [5, 6, 7]);
    let stoppable: Vec<i64> = (0..=7)
        .filter(|c| JobStatus::from_code(*c).can_stop())
        .collect();
    assert_eq!(stoppable, [1, 2, 3]);
    assert!(!JobStatus::Unknown(9).is_terminal());
}

#[test]
fn queries_on_the_wire() {
    let q = ListFilesQuery {
        page: Some(1),
        rows: Some(100),
        uuids: vec!["a".into(), "b".into()],
        resource_uuid: Some("r1".into()),
        need_url: Some(true),
        order_asc: Some(true),
        ..Default::default()
    };
    assert_eq!(
        serde_urlencoded::to_string(&q).unwrap(),
        "page=1&rows=100&needURL=true&uuids=a%2Cb&resourceUuid=r1&orderAsc=true"
    );
    let j: ListJobsQuery = serde_urlencoded::from_str("type=15&originResourceUuid=r1").unwrap();
    assert_eq!(j.job_type, Some(JobType::Model3d));
}

#[test]
fn validation_rules() {
    let cases: Vec<(JobType, &str, &str)> = vec![
        (
            JobType::Model3d,
            r#"{"parameter":{"model_simplify":0.01}}"#,
            "parameter.model_simplify",
        ),
        (
            JobType::Model3d,
            r#"{"parameter":{"quality_level":4}}"#,
            "parameter.quality_level",
        ),
        (
            JobType::Map2d,
            r#"{"parameter":{"SfM_method":"FAST"}}"#,
            "parameter.SfM_method",
        ),
        (
            JobType::Map2d,
            r#"{"parameter":{"sfm_feature_quantity_level":0}}"#,
            "parameter.sfm_feature_quantity_level",
        ),
        (
            JobType::Map2d,
            r#"{"parameter":{"dom_tile_size":255}}"#,
            "parameter.dom_tile_size",
        ),
        (
            JobType::Map2d,
            r#"{"parameter":{"output_geo_desc":{"cs_type":"GEO_CS"}}}"#,
            "parameter.output_geo_desc.geo_cs",
        ),
        (
            JobType::Map2d,
            r#"{"parameter":{"output_geo_desc":{"cs_type":"UTM"}}}"#,
            "parameter.output_geo_desc.cs_type",
        ),
        (
            JobType::Model3d,
            r#"{"parameter":{"output_geo_desc":{"cs_type":"LOCAL_ENU_CS"}}}"#,
            "parameter.output_geo_desc.ref_GPS",
        ),
        (
            JobType::Lidar,
            r#"{"parameter":{"scene_type":5}}"#,
            "parameter.scene_type",
        ),
        (
            JobType::Lidar,
            r#"{"parameter":{"sample_distance":-1}}"#,
            "parameter.sample_distance",
        ),
        (
            JobType::Lidar,
            r#"{"parameter":{},"export_parameter":{"undistort_images":true}}"#,
            "export_parameter.undistort_images",
        ),
        (
            JobType::Model3d,
            r#"{"parameter":{},"predefine_AOI":{"polygon_points":[[0,0,0]]}}"#,
            "predefine_AOI.polygon_points",
        ),
        (
            JobType::Model3d,
            r#"{"parameter":{"output_mesh":"yes"}}"#,
            "parameter.output_mesh",
        ),
        (JobType::Unknown(99), r#"{}"#, "type"),
    ];
    for (t, s, field) in cases {
        let err = validate_start_parameters(t, s).expect_err(s);
        assert_eq!(err.field, field, "{s}: {err}");
    }
    validate_start_parameters(
        JobType::Lidar,
        r#"{"parameter":{"sample_distance":0.05,"ground_extract":true}}"#,
    )
    .unwrap();
    validate_start_parameters(JobType::Model3d, r#"{"parameter":{"model_simplify":1}}"#).unwrap();
    validate_start_parameters(JobType::Merge, r#"{"anything":[1]}"#).unwrap();
}
