//! The reference (`../shared/terra-api.md` §3) is the oracle for wire names, not our own
//! serializer: client and mock share terra-types, so a misnamed field would pass every
//! round trip and every flow. Each document below is written by hand from the reference's
//! field tables, every field present with a distinct value; the tests read each field back
//! and check that serializing gives exactly the reference's names again.

use std::collections::BTreeSet;

use serde_json::Value;
use terra_types::*;

/// The keys of a JSON object.
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// `doc` deserializes into `T`, and `T` serializes back with exactly the same keys.
fn same_names<T: serde::Serialize + serde::de::DeserializeOwned>(doc: &str) -> T {
    let value: Value = serde_json::from_str(doc).unwrap();
    let typed: T = serde_json::from_value(value.clone()).unwrap();
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(keys(&back), keys(&value), "names on the wire");
    typed
}

/// §3.7, the job object: every field, as a started and finished job carries them.
#[test]
fn job_object_fields() {
    let j: Job = same_names(
        r#"{
        "uuid": "job-1", "name": "survey", "meta": "m", "type": 15, "status": 6,
        "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T11:00:00Z",
        "startedAt": "2026-11-25T10:01:00Z", "completedAt": "2026-11-25T10:59:00Z",
        "message": "success", "originResourceUuid": "res-in", "outputResourceUuid": "res-out",
        "parameters": "{\"parameter\":{}}", "percentage": 1.0, "pixels": 480000000.0,
        "remainSeconds": 0
    }"#,
    );
    assert_eq!(
        (j.uuid.as_str(), j.name.as_str(), j.meta.as_str()),
        ("job-1", "survey", "m")
    );
    assert_eq!(j.job_type, JobType::Model3d);
    assert_eq!(j.status, JobStatus::Succeeded);
    assert_eq!(j.created_at, "2026-11-25T10:00:00Z");
    assert_eq!(j.updated_at, "2026-11-25T11:00:00Z");
    assert_eq!(j.started_at.as_deref(), Some("2026-11-25T10:01:00Z"));
    assert_eq!(j.completed_at.as_deref(), Some("2026-11-25T10:59:00Z"));
    assert_eq!(j.message.as_deref(), Some("success"));
    assert_eq!(j.origin_resource_uuid.as_deref(), Some("res-in"));
    assert_eq!(j.output_resource_uuid.as_deref(), Some("res-out"));
    assert_eq!(j.parameters.as_deref(), Some(r#"{"parameter":{}}"#));
    assert_eq!(j.percentage, Some(1.0));
    assert_eq!(j.pixels, Some(480_000_000.0));
    assert_eq!(j.remain_seconds, Some(0));

    // "After start" fields are omitted, not null, before the start.
    let created: Job = same_names(
        r#"{"uuid": "job-2", "name": "n", "meta": "", "type": 0, "status": 0,
        "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:00:00Z"}"#,
    );
    assert_eq!(created.status, JobStatus::Created);
    assert!(created.started_at.is_none() && created.percentage.is_none());
}

/// §3.6, the file object.
#[test]
fn file_object_fields() {
    let f: File = same_names(
        r#"{
        "uuid": "file-1", "name": "models/mesh/obj/Block.obj", "size": 1234,
        "checksum": "\"9b2c\"", "meta": "m",
        "position": {"attitude": 12.5, "latitude": 22.5, "longitude": 113.9},
        "url": "https://bucket.example/k?sig=1",
        "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:30:00Z"
    }"#,
    );
    assert_eq!(f.uuid, "file-1");
    assert_eq!(f.name, "models/mesh/obj/Block.obj");
    assert_eq!(f.size, 1234);
    assert_eq!(f.checksum, "\"9b2c\"");
    assert_eq!(f.meta, "m");
    let p = f.position.unwrap();
    assert_eq!((p.attitude, p.latitude, p.longitude), (12.5, 22.5, 113.9));
    assert_eq!(f.url.as_deref(), Some("https://bucket.example/k?sig=1"));
    assert_eq!(f.created_at, "2026-11-25T10:00:00Z");
    assert_eq!(f.updated_at, "2026-11-25T10:30:00Z");
}

/// §3.5, the resource object and the detail's different shape.
#[test]
fn resource_object_fields() {
    let r: Resource = same_names(
        r#"{
        "uuid": "res-1", "name": "output of job: job-1", "type": "job_output", "meta": "m",
        "fileCount": 3, "totalSize": 4096,
        "scope": {"minLatitude": 22.1, "maxLatitude": 22.2, "minLongitude": 113.1, "maxLongitude": 113.2},
        "revisable": false, "uploadUsedTime": 1.5, "downloadUsedTime": 2.5,
        "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:30:00Z"
    }"#,
    );
    assert_eq!(
        (r.uuid.as_str(), r.name.as_str()),
        ("res-1", "output of job: job-1")
    );
    assert_eq!(r.resource_type, ResourceType::JobOutput);
    assert_eq!(r.meta, "m");
    assert_eq!((r.file_count, r.total_size), (3, 4096));
    let s = r.scope.unwrap();
    assert_eq!(
        (
            s.min_latitude,
            s.max_latitude,
            s.min_longitude,
            s.max_longitude
        ),
        (22.1, 22.2, 113.1, 113.2)
    );
    assert!(!r.revisable);
    assert_eq!((r.upload_used_time, r.download_used_time), (1.5, 2.5));
    assert_eq!(r.created_at, "2026-11-25T10:00:00Z");
    assert_eq!(r.updated_at, "2026-11-25T10:30:00Z");

    let d: ResourceDetail = serde_json::from_str(
        r#"{"summary": {"uuid": "res-1", "name": "n", "type": "map"},
        "fileUuids": ["f1"], "inputJobUuids": ["j1"], "outputJobUuids": ["j2"]}"#,
    )
    .unwrap();
    assert_eq!(d.summary.uuid, "res-1");
    assert_eq!(
        (d.file_uuids, d.input_job_uuids, d.output_job_uuids),
        (
            vec!["f1".to_owned()],
            vec!["j1".to_owned()],
            vec!["j2".to_owned()]
        )
    );
}

/// §3.3, the STS token (`accessKeyID` with a capital `ID`, `expireTime` in seconds).
#[test]
fn sts_token_fields() {
    let t: StsToken = same_names(
        r#"{
        "cloudName": "AWS_S3", "accessKeyID": "AK", "secretAccessKey": "SK",
        "sessionToken": "ST", "region": "us-west-2", "cloudBucketName": "bucket",
        "storePath": "1/tmp/2/{fileName}", "callbackParam": "cb", "expireTime": 1795601400
    }"#,
    );
    assert_eq!(t.cloud_name, CloudName::AwsS3);
    assert_eq!(t.access_key_id, "AK");
    assert_eq!(t.secret_access_key.expose(), "SK");
    assert_eq!(t.session_token.expose(), "ST");
    assert_eq!(t.region, "us-west-2");
    assert_eq!(t.cloud_bucket_name, "bucket");
    assert_eq!(t.store_path, "1/tmp/2/{fileName}");
    assert_eq!(t.callback_param, "cb");
    assert_eq!(t.expire_time, 1_795_601_400);
}

/// §3.4 and §3.7: the request bodies (`resourceUUID` in the callback, `resourceUuid` in
/// start).
#[test]
fn request_body_fields() {
    let cb: UploadCallbackRequest = same_names(
        r#"{"callbackParam": "cb", "resourceUUID": "res-1", "files": [
        {"name": "a/DJI_0001.JPG", "etag": "\"e\"", "checksum": "\"e\"", "meta": "m",
         "position": {"attitude": 1.0, "latitude": 2.0, "longitude": 3.0}}]}"#,
    );
    assert_eq!(
        (cb.callback_param.as_str(), cb.resource_uuid.as_str()),
        ("cb", "res-1")
    );
    let f = &cb.files[0];
    assert_eq!(
        (f.name.as_str(), f.etag.as_str(), f.checksum.as_str()),
        ("a/DJI_0001.JPG", "\"e\"", "\"e\"")
    );
    assert_eq!(f.meta.as_deref(), Some("m"));
    assert_eq!(f.position.unwrap().longitude, 3.0);
    let file_keys = keys(&serde_json::to_value(f).unwrap());
    assert_eq!(
        file_keys,
        ["checksum", "etag", "meta", "name", "position"]
            .map(String::from)
            .into()
    );

    let start: StartJobRequest = same_names(
        r#"{"type": 4, "resourceUuid": "res-1", "parameters": "{}", "outputResourceUuid": "res-2"}"#,
    );
    assert_eq!(start.job_type, JobType::Merge);
    assert_eq!(start.resource_uuid, "res-1");
    assert_eq!(start.parameters, "{}");
    assert_eq!(start.output_resource_uuid.as_deref(), Some("res-2"));
}
