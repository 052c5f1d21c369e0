//! Resources and files: create, list, detail, update, copy, file operations, delete.

use super::*;

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
