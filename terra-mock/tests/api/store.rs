//! `obtain_token` and `upload_callback`.

use super::*;

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
