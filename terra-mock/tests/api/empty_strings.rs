//! Issue 29, point 5: the published browser app sends `""` for the optional parameters it
//! does not use (`"outputResourceUuid": ""` on every 2D/3D start), and DJI accepted them.
//! An empty string in an optional field or query parameter is read as absent, field by
//! field; `empty_strings_as_absent = false` shows what each would be without it.

use super::*;

fn strict() -> TerraMock {
    TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .config(terra_mock::MockConfig {
            empty_strings_as_absent: false,
            ..Default::default()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_empty_output_resource_uuid_starts_a_2d_or_3d_job() {
    for (job_type, params) in [(14, r#"{"parameter":{}}"#), (15, P3D)] {
        let m = mock();
        let api = Api::new(&m);
        let rid = api.resource_with_images(10).await;
        let job = api.job("app").await;
        let body = json!({"type": job_type, "resourceUuid": rid, "parameters": params, "outputResourceUuid": ""});
        let r = api
            .call("POST", &format!("/jobs/{job}/start"), Some(body.clone()))
            .await;
        assert_eq!(r.code(), 0, "type {job_type}: {}", r.body);

        let m = strict();
        let api = Api::new(&m);
        let rid = api.resource_with_images(10).await;
        let job = api.job("app").await;
        let mut body = body;
        body["resourceUuid"] = json!(rid);
        let (code, msg) = api
            .err("POST", &format!("/jobs/{job}/start"), Some(body))
            .await;
        assert_eq!(code, 102001, "without the setting: {msg}");
        assert!(msg.contains("outputResourceUuid"), "{msg}");
    }
}

#[tokio::test]
async fn every_optional_body_field_takes_an_empty_string() {
    let m = mock();
    let api = Api::new(&m);
    let token: terra_types::StsToken =
        serde_json::from_value(api.ok("POST", "/store/obtain_token", None).await).unwrap();

    // POST /resources: meta, files.
    let r = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "site", "type": "map", "meta": "", "files": ""})),
        )
        .await;
    let rid = r["uuid"].as_str().unwrap().to_owned();
    assert_eq!(r["meta"], "");
    // POST /store/upload_callback: files[].meta, files[].position.
    let meta = m.put_object(&token, "DJI_0001.JPG", b"jpeg").unwrap();
    let files = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(json!({"callbackParam": token.callback_param, "resourceUUID": rid,
                "files": [{"name": "DJI_0001.JPG", "etag": meta.quoted_etag(), "checksum": meta.quoted_etag(), "meta": "", "position": ""}]})),
        )
        .await;
    let file = files[0]["uuid"].as_str().unwrap().to_owned();
    // PUT /resources/{uuid}: name and meta "" leave them as they were.
    let r = api
        .ok(
            "PUT",
            &format!("/resources/{rid}"),
            Some(json!({"name": "", "meta": ""})),
        )
        .await;
    assert_eq!(r["name"], "site", "an empty name is no rename");
    // POST /resources/{uuid}/file_operation: either list.
    api.ok(
        "POST",
        &format!("/resources/{rid}/file_operation"),
        Some(json!({"addFileUuids": [file], "removeFileUuids": ""})),
    )
    .await;
    api.ok(
        "POST",
        &format!("/resources/{rid}/file_operation"),
        Some(json!({"addFileUuids": "", "removeFileUuids": [file]})),
    )
    .await;
    api.ok(
        "POST",
        &format!("/resources/{rid}/file_operation"),
        Some(json!({"addFileUuids": [file]})),
    )
    .await;
    // PUT /files/{uuid}: name, meta, position.
    let r = api
        .ok(
            "PUT",
            &format!("/files/{file}"),
            Some(json!({"name": "", "meta": "", "position": ""})),
        )
        .await;
    assert_eq!(r["name"], "DJI_0001.JPG");
    // POST /jobs: meta; PUT /jobs/{uuid}: name, meta.
    let job = api
        .ok("POST", "/jobs", Some(json!({"name": "j", "meta": ""})))
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api
        .ok(
            "PUT",
            &format!("/jobs/{job}"),
            Some(json!({"name": "", "meta": ""})),
        )
        .await;
    assert_eq!(r["name"], "j");

    // Without the setting, the fields whose type is not a string refuse "".
    let m = strict();
    let api = Api::new(&m);
    let (code, msg) = api
        .err(
            "POST",
            "/resources",
            Some(json!({"name": "site", "type": "map", "files": ""})),
        )
        .await;
    assert_eq!(code, 102001, "{msg}");
    assert!(msg.contains("files"), "{msg}");
}

#[tokio::test]
async fn every_list_query_parameter_takes_an_empty_value() {
    let m = mock();
    let api = Api::new(&m);
    let rid = api.resource_with_images(3).await;
    for target in [
        "/resources?page=&rows=&search=&uuids=&type=",
        "/files?page=1&rows=10&search=&needURL=&name=&uuids=&resourceUuid=&orderAsc=",
        "/jobs?page=&rows=&search=&uuids=&type=&originResourceUuid=&outputResourceUuid=",
    ] {
        let r = api.call("GET", target, None).await;
        assert_eq!(r.code(), 0, "{target}: {}", r.body);
        assert!(r.data()["total"].as_u64().is_some(), "{target}");
    }
    let r = api.call("GET", "/files?resourceUuid=&rows=100", None).await;
    assert_eq!(r.data()["total"], 3, "an empty filter filters nothing");
    let r = api
        .call("DELETE", &format!("/resources/{rid}?deleteMode="), None)
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);

    let m = strict();
    let api = Api::new(&m);
    let r = api.call("GET", "/jobs?type=", None).await;
    assert_eq!(r.code(), 102001, "without the setting: {}", r.body);
}
