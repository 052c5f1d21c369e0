//! Every route of the reference §3.0: success and each documented error.

mod common;

use std::time::Duration;

use common::{Api, V2, normalize};
use http::StatusCode;
use serde_json::{Value, json};
use terra_mock::{ErrorStatus, ManualClock, MinimalCreate, Provider, TerraMock};

fn mock() -> TerraMock {
    TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .build()
        .unwrap()
}

const P3D: &str = r#"{"parameter":{"output_mesh":true,"generate_obj":true}}"#;

#[tokio::test]
async fn obtain_token_issues_sts_credentials() {
    let m = mock();
    let api = Api::new(&m);
    let t = api.ok("POST", "/store/obtain_token", None).await;
    assert_eq!(t["cloudName"], "AWS_S3");
    assert_eq!(t["cloudBucketName"], "terra-mock-s3");
    let store_path = t["storePath"].as_str().unwrap();
    assert!(
        store_path.ends_with("/{fileName}") && store_path.contains("/tmp/"),
        "{store_path}"
    );
    let now = m
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(t["expireTime"].as_i64().unwrap(), now + 600);
    for k in [
        "accessKeyID",
        "secretAccessKey",
        "sessionToken",
        "callbackParam",
        "region",
    ] {
        assert!(t[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
    }
    insta::assert_json_snapshot!("obtain_token", normalize(&t));
    // Two tokens are different sessions with different prefixes.
    let t2 = api.ok("POST", "/store/obtain_token", None).await;
    assert_ne!(t["storePath"], t2["storePath"]);
    assert_ne!(t["callbackParam"], t2["callbackParam"]);
}

#[tokio::test]
async fn obtain_token_for_oss_and_lowercase_cloud_name() {
    let cfg = terra_mock::MockConfig {
        lowercase_cloud_name: true,
        ..Default::default()
    };
    let m = TerraMock::builder()
        .config(cfg)
        .provider(Provider::Oss)
        .build()
        .unwrap();
    let t = Api::new(&m).ok("POST", "/store/obtain_token", None).await;
    assert_eq!(t["cloudName"], "ali_oss");
    assert_eq!(t["region"], "oss-cn-hangzhou");
    assert!(t["accessKeyID"].as_str().unwrap().starts_with("STS."));
    let parsed: terra_types::StsToken = serde_json::from_value(t).unwrap();
    assert_eq!(parsed.cloud_name, terra_types::CloudName::AliOss);
}

#[tokio::test]
async fn upload_callback_registers_uploaded_objects() {
    let m = mock();
    let api = Api::new(&m);
    let token: terra_types::StsToken =
        serde_json::from_value(api.ok("POST", "/store/obtain_token", None).await).unwrap();
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = m
        .put_object(&token, "sub/DJI_0001.JPG", b"0123456789")
        .unwrap();
    let b = m.put_object(&token, "DJI_0002.JPG", b"abc").unwrap();
    // ETags are accepted quoted or bare.
    let files = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": [
                {"name": "sub/DJI_0001.JPG", "etag": a.quoted_etag(), "checksum": a.quoted_etag(), "meta": "m1"},
                {"name": "DJI_0002.JPG", "etag": b.etag, "checksum": b.etag,
                 "position": {"attitude": 1.5, "latitude": 22.5, "longitude": 113.9}}
            ]})),
        )
        .await;
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["size"], 10, "size comes from storage");
    assert_eq!(files[0]["name"], "sub/DJI_0001.JPG");
    assert_eq!(files[1]["position"]["latitude"], 22.5);
    insta::assert_json_snapshot!("upload_callback", normalize(&json!(files)));
    let detail = api.ok("GET", &format!("/resources/{rid}"), None).await;
    assert_eq!(detail["summary"]["fileCount"], 2);
    assert_eq!(detail["summary"]["totalSize"], 13);
    assert_eq!(detail["summary"]["scope"]["minLatitude"], 22.5);
    assert_eq!(detail["fileUuids"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn upload_callback_errors() {
    let m = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .add_account("other", "other-sk", Provider::S3)
        .build()
        .unwrap();
    let api = Api::new(&m);
    let token: terra_types::StsToken =
        serde_json::from_value(api.ok("POST", "/store/obtain_token", None).await).unwrap();
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let obj = m.put_object(&token, "a.jpg", b"x").unwrap();
    let good = json!([{"name": "a.jpg", "etag": obj.etag, "checksum": obj.etag}]);
    let cb = |param: &str, res: &str, files: Value| json!({"callbackParam": param, "resourceUUID": res, "files": files});

    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb("bogus", &rid, good.clone())),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("callbackParam"), "{msg}");

    let (code, _) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(
                &token.callback_param,
                "0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11",
                good.clone(),
            )),
        )
        .await;
    assert_eq!(code, 102002);

    let missing = json!([{"name": "nope.jpg", "etag": obj.etag, "checksum": obj.etag}]);
    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(&token.callback_param, &rid, missing)),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(
        msg.contains("files[0].name") && msg.contains("not uploaded"),
        "{msg}"
    );

    let wrong =
        json!([{"name": "a.jpg", "etag": "\"00000000000000000000000000000000\"", "checksum": "x"}]);
    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(&token.callback_param, &rid, wrong)),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("files[0].etag"), "{msg}");

    let backslash = json!([{"name": "sub\\a.jpg", "etag": obj.etag, "checksum": obj.etag}]);
    let (code, _) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(&token.callback_param, &rid, backslash)),
        )
        .await;
    assert_eq!(code, 102001);

    let too_many: Vec<Value> = (0..51).map(|_| good[0].clone()).collect();
    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(&token.callback_param, &rid, json!(too_many))),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("at most 50"), "{msg}");

    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(json!({"callbackParam": token.callback_param, "files": []})),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("resourceUUID"), "{msg}");

    // Another account cannot use this account's callbackParam.
    let other = Api::as_account(&m, "other", "other-sk");
    let orid = other
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _) = other
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(&token.callback_param, &orid, good.clone())),
        )
        .await;
    assert_eq!(code, 102001);

    // Nothing was registered by the failed calls.
    assert_eq!(m.stats(m.app_key()).files, 0);
    api.ok(
        "POST",
        "/store/upload_callback",
        Some(cb(&token.callback_param, &rid, good.clone())),
    )
    .await;
    assert_eq!(m.stats(m.app_key()).files, 1);

    // The callbackParam expires (after an hour by default).
    m.advance(Duration::from_secs(3601));
    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(cb(&token.callback_param, &rid, good)),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test]
async fn create_resource_with_and_without_return_detail() {
    let m = mock();
    let api = Api::new(&m);
    let body = json!({"name": "flight 1", "type": "map", "meta": "{\"site\":\"A\"}"});
    let minimal = api.call("POST", "/resources", Some(body.clone())).await;
    assert_eq!(
        minimal
            .data()
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["uuid"]
    );
    let full = api.ok("POST", "/resources", Some(body)).await;
    assert_eq!(full["revisable"], true);
    assert_eq!(full["meta"], "{\"site\":\"A\"}");
    insta::assert_json_snapshot!("resource_created", normalize(&full));

    let m2 = TerraMock::builder()
        .minimal_create(MinimalCreate::FullObject)
        .build()
        .unwrap();
    let r = Api::new(&m2)
        .call(
            "POST",
            "/resources",
            Some(json!({"name": "x", "type": "map"})),
        )
        .await;
    assert!(r.data()["fileCount"].is_number(), "{}", r.body);
}

#[tokio::test]
async fn create_resource_errors_name_the_field() {
    let m = mock();
    let api = Api::new(&m);
    let (code, msg) = api
        .err("POST", "/resources", Some(json!({"type": "map"})))
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("name"), "{msg}");
    let (code, msg) = api
        .err(
            "POST",
            "/resources",
            Some(json!({"name": "x", "type": "job_output"})),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("type"), "{msg}");
    let (code, msg) = api
        .err(
            "POST",
            "/resources",
            Some(json!({"name": "x", "type": "map", "files": "nope"})),
        )
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("files"), "{msg}");
    let (code, _) = api.err("POST", "/resources", Some(json!({"name": "x", "type": "map", "files": ["5f0c7d2e-0000-4000-8000-000000000001"]}))).await;
    assert_eq!(code, 102002);
    let r = api
        .raw(api.request("POST", &format!("{V2}/resources"), None, &[]))
        .await;
    assert_eq!(r.code(), 102001);
}

#[tokio::test]
async fn list_resources_paginates_and_filters() {
    let m = mock();
    let api = Api::new(&m);
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            api.ok(
                "POST",
                "/resources",
                Some(json!({"name": format!("flight {i:02}"), "type": "map"})),
            )
            .await["uuid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let p1 = api.ok("GET", "/resources?page=1&rows=10", None).await;
    assert_eq!(
        (
            p1["page"].as_u64(),
            p1["rows"].as_u64(),
            p1["total"].as_u64()
        ),
        (Some(1), Some(10), Some(25))
    );
    assert_eq!(p1["list"][0]["name"], "flight 24", "newest first");
    let p3 = api.ok("GET", "/resources?page=3&rows=10", None).await;
    assert_eq!(p3["list"].as_array().unwrap().len(), 5);
    let p4 = api.ok("GET", "/resources?page=4&rows=10", None).await;
    assert!(p4["list"].as_array().unwrap().is_empty());
    assert_eq!(p4["total"], 25);
    let default = api.ok("GET", "/resources", None).await;
    assert_eq!(default["rows"], 10);

    let two = api
        .ok(
            "GET",
            &format!("/resources?uuids={},{}", ids[3], ids[7]),
            None,
        )
        .await;
    assert_eq!(two["total"], 2);
    let search = api.ok("GET", "/resources?search=FLIGHT%201", None).await;
    assert_eq!(search["total"], 10, "flight 10..19");
    let outputs = api.ok("GET", "/resources?type=job_output", None).await;
    assert_eq!(outputs["total"], 0);

    let (code, msg) = api.err("GET", "/resources?page=0", None).await;
    assert_eq!(code, 102001);
    assert!(msg.contains("page"), "{msg}");
    let many: Vec<String> = (0..1001)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let (code, msg) = api
        .err("GET", &format!("/resources?uuids={}", many.join(",")), None)
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("1000"), "{msg}");
    let (code, _) = api.err("GET", "/resources?rows=abc", None).await;
    assert_eq!(code, 102001);
    let clamped = api.ok("GET", "/resources?rows=5000", None).await;
    assert_eq!(clamped["rows"], 1000);
}

#[tokio::test]
async fn resource_update_copy_file_operation_and_delete() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(3).await;
    let updated = api
        .ok(
            "PUT",
            &format!("/resources/{rid}"),
            Some(json!({"name": "renamed", "meta": "m"})),
        )
        .await;
    assert_eq!(
        (updated["name"].as_str(), updated["meta"].as_str()),
        (Some("renamed"), Some("m"))
    );
    let (code, _) = api
        .err(
            "PUT",
            "/resources/0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(code, 102002);

    let copy = api
        .ok(
            "POST",
            &format!("/resources/{rid}/copy"),
            Some(json!({"name": "copy"})),
        )
        .await;
    assert_eq!(
        (copy["name"].as_str(), copy["fileCount"].as_u64()),
        (Some("copy"), Some(3))
    );
    let cid = copy["uuid"].as_str().unwrap().to_owned();

    let files: Vec<String> = serde_json::from_value(
        api.ok("GET", &format!("/resources/{rid}"), None).await["fileUuids"].clone(),
    )
    .unwrap();
    let r = api
        .ok(
            "POST",
            &format!("/resources/{cid}/file_operation"),
            Some(json!({"addFileUuids": [files[0]], "removeFileUuids": []})),
        )
        .await;
    assert_eq!(r["fileCount"], 4);
    let r = api
        .ok(
            "POST",
            &format!("/resources/{cid}/file_operation"),
            Some(json!({"removeFileUuids": [files[0]]})),
        )
        .await;
    assert_eq!(r["fileCount"], 3);
    let (code, _) = api
        .err(
            "POST",
            &format!("/resources/{cid}/file_operation"),
            Some(json!({"removeFileUuids": [files[0]]})),
        )
        .await;
    assert_eq!(code, 102001);
    let (code, _) = api
        .err(
            "POST",
            &format!("/resources/{cid}/file_operation"),
            Some(json!({})),
        )
        .await;
    assert_eq!(code, 102001);

    // deleteMode=0 keeps the files, deleteMode=1 deletes those not linked elsewhere.
    let before = m.stats(m.app_key()).files;
    api.ok("DELETE", &format!("/resources/{cid}?deleteMode=0"), None)
        .await;
    assert_eq!(m.stats(m.app_key()).files, before);
    let objects = m.object_count();
    api.ok("DELETE", &format!("/resources/{rid}?deleteMode=1"), None)
        .await;
    assert_eq!(m.stats(m.app_key()).files, before - 3);
    assert_eq!(
        m.object_count(),
        objects,
        "copies of the files still point at the objects"
    );
    let (code, _) = api.err("GET", &format!("/resources/{rid}"), None).await;
    assert_eq!(code, 102002);
    let (code, msg) = api
        .err("DELETE", &format!("/resources/{rid}?deleteMode=2"), None)
        .await;
    assert_eq!(code, 102001);
    assert!(msg.contains("deleteMode"));
}

#[tokio::test]
async fn files_list_detail_update_delete() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(12).await;
    let other = api.resource_with_images(2).await;
    let page = api
        .ok("GET", &format!("/files?resourceUuid={rid}&rows=5"), None)
        .await;
    assert_eq!(page["total"], 12);
    assert_eq!(
        page["list"][0]["name"], "DJI_0011.JPG",
        "created_at descending by default"
    );
    assert!(
        page["list"][0].get("url").is_none(),
        "no url unless needURL"
    );
    let asc = api
        .ok(
            "GET",
            &format!("/files?resourceUuid={rid}&orderAsc=true&needURL=true&rows=5"),
            None,
        )
        .await;
    assert_eq!(asc["list"][0]["name"], "DJI_0000.JPG");
    assert!(
        asc["list"][0]["url"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Signature=")
    );
    let all = api.ok("GET", "/files?rows=100", None).await;
    assert_eq!(all["total"], 14);
    let named = api.ok("GET", "/files?name=DJI_0001.JPG", None).await;
    assert_eq!(named["total"], 2, "one per resource");
    let _ = other;

    let fid = asc["list"][1]["uuid"].as_str().unwrap().to_owned();
    let detail = api.ok("GET", &format!("/files/{fid}"), None).await;
    assert_eq!(detail["name"], "DJI_0001.JPG");
    assert!(detail["url"].as_str().unwrap().starts_with("http://"));
    insta::assert_json_snapshot!("file_detail", normalize(&detail));

    let upd = api
        .ok(
            "PUT",
            &format!("/files/{fid}"),
            Some(json!({"meta": "checked"})),
        )
        .await;
    assert_eq!(upd["meta"], "checked");
    api.ok("DELETE", &format!("/files/{fid}"), None).await;
    let (code, _) = api.err("GET", &format!("/files/{fid}"), None).await;
    assert_eq!(code, 102002);
    let (code, _) = api.err("DELETE", &format!("/files/{fid}"), None).await;
    assert_eq!(code, 102002);
    let (code, _) = api.err("GET", "/files/not-a-uuid", None).await;
    assert_eq!(code, 102002);
    assert_eq!(
        api.ok("GET", &format!("/resources/{rid}"), None).await["summary"]["fileCount"],
        11
    );
}

#[tokio::test]
async fn jobs_create_list_update_copy_delete() {
    let m = mock();
    let api = Api::new(&m);
    let created = api
        .call("POST", "/jobs", Some(json!({"name": "survey"})))
        .await;
    let jid = created.data()["uuid"].as_str().unwrap().to_owned();
    let job = api.ok("GET", &format!("/jobs/{jid}"), None).await;
    assert_eq!(
        (job["status"].as_i64(), job["type"].as_i64()),
        (Some(0), Some(0))
    );
    for absent in [
        "startedAt",
        "completedAt",
        "message",
        "originResourceUuid",
        "outputResourceUuid",
        "parameters",
        "percentage",
        "pixels",
        "remainSeconds",
    ] {
        assert!(
            job.get(absent).is_none(),
            "{absent} must be omitted before start: {job}"
        );
    }
    insta::assert_json_snapshot!("job_before_start", normalize(&job));

    let (code, msg) = api.err("POST", "/jobs", Some(json!({"meta": "x"}))).await;
    assert_eq!(code, 102001);
    assert!(msg.contains("name"), "{msg}");

    let upd = api
        .ok(
            "PUT",
            &format!("/jobs/{jid}"),
            Some(json!({"name": "survey 2"})),
        )
        .await;
    assert_eq!(upd["name"], "survey 2");
    let copy = api
        .ok("POST", &format!("/jobs/{jid}/copy"), Some(json!({})))
        .await;
    assert_eq!(
        (copy["name"].as_str(), copy["status"].as_i64()),
        (Some("copy of survey 2"), Some(0))
    );

    let list = api.ok("GET", "/jobs?rows=1", None).await;
    assert_eq!(
        (
            list["total"].as_u64(),
            list["list"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    api.ok("DELETE", &format!("/jobs/{jid}"), None).await;
    let (code, _) = api.err("GET", &format!("/jobs/{jid}"), None).await;
    assert_eq!(code, 102114);
    for (method, path) in [
        ("PUT", "/jobs/{}"),
        ("DELETE", "/jobs/{}"),
        ("POST", "/jobs/{}/stop"),
        ("POST", "/jobs/{}/copy"),
    ] {
        let (code, _) = api
            .err(method, &path.replace("{}", &jid), Some(json!({})))
            .await;
        assert_eq!(code, 102114, "{method} {path}");
    }
}

#[tokio::test]
async fn start_validates_everything_the_docs_rule_out() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(10).await;
    let nine = api.resource_with_images(9).await;
    let jid = api.job("j").await;
    let r = api
        .start("6d1f3c2e-0000-4000-8000-000000000002", &rid, 15, P3D)
        .await;
    assert_eq!(r.code(), 102114);
    let r = api
        .start(&jid, "0b8b1d26-3c2c-4e0f-9a57-6e9f0d3c2a11", 15, P3D)
        .await;
    assert_eq!(r.code(), 102002);
    let r = api.start(&jid, &rid, 16, P3D).await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("type"), "{}", r.msg());
    let r = api
        .start(&jid, &rid, 15, r#"{"parameter":{"model_simplify":3}}"#)
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("parameter.model_simplify"), "{}", r.msg());
    // parameters sent as an object instead of a string: the classic error.
    let r = api
        .call(
            "POST",
            &format!("/jobs/{jid}/start"),
            Some(json!({"type": 15, "resourceUuid": rid, "parameters": {"parameter": {}}})),
        )
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("parameters"), "{}", r.msg());
    let r = api
        .start(&jid, &nine, 14, r#"{"parameter":{"map_mode":1}}"#)
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("at least 10"), "{}", r.msg());
    let r = api
        .start(
            &jid,
            &rid,
            13,
            r#"{"parameter":{"quality_level":1,"sample_distance":0.2}}"#,
        )
        .await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("sample_distance"), "{}", r.msg());

    let r = api.start(&jid, &rid, 15, P3D).await;
    assert_eq!(r.code(), 0, "{}", r.body);
    assert_eq!(r.data()["status"], 1);
    let r = api.start(&jid, &rid, 15, P3D).await;
    assert_eq!(r.code(), 102003, "start twice");
    // The input resource is frozen once a job on it started.
    let detail = api.ok("GET", &format!("/resources/{rid}"), None).await;
    assert_eq!(detail["summary"]["revisable"], false);
    assert_eq!(detail["inputJobUuids"][0], jid.as_str());
    let (code, _) = api
        .err(
            "PUT",
            &format!("/resources/{rid}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(code, 102003);
    let (code, _) = api.err("DELETE", &format!("/resources/{rid}"), None).await;
    assert_eq!(code, 102003);
    let (code, _) = api.err("DELETE", &format!("/jobs/{jid}"), None).await;
    assert_eq!(code, 102003);
}

#[tokio::test]
async fn running_job_limit_and_quota() {
    let m = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .max_running_jobs(1)
        .job_quota(2)
        .build()
        .unwrap();
    let api = Api::new(&m);
    let rid = api.resource_with_images(10).await;
    let rid2 = api.resource_with_images(10).await;
    let rid3 = api.resource_with_images(10).await;
    let (a, b, c) = (api.job("a").await, api.job("b").await, api.job("c").await);
    assert_eq!(api.start(&a, &rid, 15, P3D).await.code(), 0);
    let r = api.start(&b, &rid2, 15, P3D).await;
    assert_eq!(r.code(), 801, "{}", r.body);
    m.advance(Duration::from_secs(3600));
    assert_eq!(api.start(&b, &rid2, 15, P3D).await.code(), 0);
    m.advance(Duration::from_secs(3600));
    let r = api.start(&c, &rid3, 15, P3D).await;
    assert_eq!(r.code(), 102116, "{}", r.body);
    assert_eq!(m.stats(m.app_key()).job_starts, 2);
}

#[tokio::test]
async fn accounts_are_isolated() {
    let m = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .add_account("b-ak", "b-sk", Provider::Oss)
        .build()
        .unwrap();
    let a = Api::new(&m);
    let b = Api::as_account(&m, "b-ak", "b-sk");
    let rid = a.resource_with_images(10).await;
    let jid = a.job("mine").await;
    let fid = a.ok("GET", "/files?rows=1", None).await["list"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        b.err("GET", &format!("/resources/{rid}"), None).await.0,
        102002
    );
    assert_eq!(b.err("GET", &format!("/files/{fid}"), None).await.0, 102002);
    assert_eq!(b.err("GET", &format!("/jobs/{jid}"), None).await.0, 102114);
    assert_eq!(
        b.err("DELETE", &format!("/resources/{rid}"), None).await.0,
        102002
    );
    let bj = b.job("theirs").await;
    assert_eq!(b.start(&bj, &rid, 15, P3D).await.code(), 102002);
    for list in ["/resources", "/files", "/jobs"] {
        assert_eq!(
            b.ok("GET", list, None).await["total"],
            if list == "/jobs" { 1 } else { 0 },
            "{list}"
        );
    }
    assert_eq!(
        b.ok("POST", "/store/obtain_token", None).await["cloudName"],
        "ALI_OSS"
    );
}

#[tokio::test]
async fn business_errors_can_use_http_statuses() {
    let m = TerraMock::builder()
        .error_status(ErrorStatus::Http4xx)
        .build()
        .unwrap();
    let api = Api::new(&m);
    let r = api
        .call("GET", "/jobs/6d1f3c2e-0000-4000-8000-000000000002", None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, 102114));
    let r = api.call("POST", "/jobs", Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, 102001));
    insta::assert_json_snapshot!("error_envelope", r.body);
}

#[tokio::test]
async fn unknown_routes_name_the_route() {
    let m = mock();
    let api = Api::new(&m);
    let r = api.call("GET", "/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("GET /terra-rescon-be/v2/nothing/here"),
        "{}",
        r.body
    );
    let r = api
        .raw(
            http::Request::get("/v1/jobs")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["message"].as_str().unwrap().contains("/v1/jobs"));
}

#[tokio::test]
async fn requests_are_recorded_without_secrets() {
    let m = mock();
    let api = Api::new(&m);
    api.ok(
        "POST",
        "/resources",
        Some(json!({"name": "x", "type": "map"})),
    )
    .await;
    let log = m.requests();
    let last = log.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path(), last.status),
        ("POST", "/terra-rescon-be/v2/resources", 200)
    );
    assert_eq!(last.app_key.as_deref(), Some(m.app_key()));
    assert!(
        last.header("authorization")
            .unwrap()
            .starts_with("hmac username=\"terra-mock-ak\"")
    );
    assert!(String::from_utf8_lossy(&last.body).contains("\"name\":\"x\""));
}
