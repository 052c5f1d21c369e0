//! The OSS endpoint, with requests signed by reqsign-aliyun-oss (Apache OpenDAL's OSS
//! signer, which no one here wrote) in both signature versions.

mod common;

use std::time::Duration;

use common::{Api, Oss, tag};
use http::Method;
use reqsign_aliyun_oss::SigningVersion;
use reqsign_core::{Context, SignRequest};
use serde_json::json;
use terra_mock::{JobTiming, ManualClock, Provider, TerraMock};
use terra_types::StsToken;

async fn started(manual: bool) -> (TerraMock, StsToken) {
    let mut b = TerraMock::builder()
        .provider(Provider::Oss)
        .timing(JobTiming::lasting(Duration::from_secs(60)));
    if manual {
        b = b.manual_clock(ManualClock::starting_now());
    }
    let mock = b.start().await.unwrap();
    let token = serde_json::from_value(
        Api::new(&mock)
            .ok("POST", "/store/obtain_token", None)
            .await,
    )
    .unwrap();
    (mock, token)
}

fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(b))
}

#[tokio::test]
async fn put_head_get_and_register_with_both_signature_versions() {
    let (mock, token) = started(false).await;
    let api = Api::new(&mock);
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "oss", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    for (version, name) in [
        (SigningVersion::V4, "v4.jpg"),
        (SigningVersion::V1, "sub dir/v1.jpg"),
    ] {
        let oss = Oss::new(&mock, &token, version);
        let key = token.object_key(name);
        let body: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        let r = oss.put(&key, &body).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        let etag = r.headers["etag"].to_str().unwrap().to_owned();
        assert_eq!(
            etag,
            format!("\"{}\"", md5_hex(&body).to_uppercase()),
            "OSS ETags are upper-case MD5"
        );
        let head = oss.send(Method::HEAD, &key, "", &[], vec![]).await;
        assert_eq!(
            (
                head.status,
                head.headers["content-length"].to_str().unwrap()
            ),
            (200, "50000")
        );
        let range = oss
            .send(Method::GET, &key, "", &[("range", "bytes=100-199")], vec![])
            .await;
        assert_eq!(range.status, 206);
        assert_eq!(range.headers["content-range"], "bytes 100-199/50000");
        let files = api
            .ok(
                "POST",
                "/store/upload_callback",
                Some(
                    json!({"callbackParam": token.callback_param, "resourceUUID": rid,
                "files": [{"name": name, "etag": etag, "checksum": etag}]}),
                ),
            )
            .await;
        assert_eq!(files[0]["size"], 50_000);
    }
    let oss = Oss::new(&mock, &token, SigningVersion::V4);
    let gone = token.object_key("v4.jpg");
    assert_eq!(
        oss.send(Method::DELETE, &gone, "", &[], vec![])
            .await
            .status,
        204
    );
    let missing = oss.send(Method::GET, &gone, "", &[], vec![]).await;
    assert_eq!((missing.status, missing.code()), (404, "NoSuchKey"));
    mock.shutdown().await;
}

#[tokio::test]
async fn multipart_complete_and_abort() {
    let (mock, token) = started(false).await;
    let oss = Oss::new(&mock, &token, SigningVersion::V4);
    let key = token.object_key("mission/DJI_001.LDR");
    let init = oss.send(Method::POST, &key, "uploads", &[], vec![]).await;
    assert_eq!(init.status, 200, "{}", init.body);
    let id = tag(&init.body, "UploadId").to_owned();
    let (p1, p2) = (vec![7u8; 200 * 1024], vec![8u8; 10]);
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, data) in [(1, &p1), (2, &p2)] {
        let r = oss
            .send(
                Method::PUT,
                &key,
                &format!("partNumber={n}&uploadId={id}"),
                &[],
                data.clone(),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
            r.headers["etag"].to_str().unwrap()
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let done = oss
        .send(
            Method::POST,
            &key,
            &format!("uploadId={id}"),
            &[("content-type", "application/xml")],
            xml.into_bytes(),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let mut md5s = hex::decode(md5_hex(&p1)).unwrap();
    md5s.extend(hex::decode(md5_hex(&p2)).unwrap());
    assert_eq!(
        tag(&done.body, "ETag").replace("&quot;", "\""),
        format!("\"{}-2\"", md5_hex(&md5s).to_uppercase())
    );
    assert_eq!(
        mock.object(Provider::Oss, &key).unwrap().size,
        200 * 1024 + 10
    );

    let key2 = token.object_key("mission/DJI_002.LDR");
    let id2 = tag(
        &oss.send(Method::POST, &key2, "uploads", &[], vec![])
            .await
            .body,
        "UploadId",
    )
    .to_owned();
    oss.send(
        Method::PUT,
        &key2,
        &format!("partNumber=1&uploadId={id2}"),
        &[],
        vec![1; 10],
    )
    .await;
    assert_eq!(
        oss.send(
            Method::DELETE,
            &key2,
            &format!("uploadId={id2}"),
            &[],
            vec![]
        )
        .await
        .status,
        204
    );
    let again = oss
        .send(
            Method::DELETE,
            &key2,
            &format!("uploadId={id2}"),
            &[],
            vec![],
        )
        .await;
    assert_eq!((again.status, again.code()), (404, "NoSuchUpload"));
    mock.shutdown().await;
}

#[tokio::test]
async fn every_token_error_has_its_oss_code() {
    let (mock, token) = started(true).await;
    let other: StsToken = serde_json::from_value(
        Api::new(&mock)
            .ok("POST", "/store/obtain_token", None)
            .await,
    )
    .unwrap();
    let key = token.object_key("a.jpg");
    for version in [SigningVersion::V1, SigningVersion::V4] {
        let mut oss = Oss::new(&mock, &token, version);
        oss.cred.security_token = None;
        let r = oss.put(&key, b"x").await;
        assert_eq!(
            (r.status, r.code(), r.ec()),
            (403, "InvalidAccessKeyId", "0002-00000003"),
            "{version:?} missing token"
        );

        oss.cred.security_token = Some("CAISforged".into());
        let r = oss.put(&key, b"x").await;
        assert_eq!(
            (r.code(), r.ec()),
            ("InvalidSecurityToken", "0002-00000006"),
            "{version:?} unknown token"
        );

        oss.cred.security_token = Some(other.session_token.expose().to_owned());
        let r = oss.put(&key, b"x").await;
        assert_eq!(
            (r.code(), r.ec()),
            ("InvalidSecurityToken", "0002-00000004"),
            "{version:?} another session's token"
        );

        let mut bad = Oss::new(&mock, &token, version);
        bad.cred.access_key_secret = "wrong".into();
        let r = bad.put(&key, b"x").await;
        assert_eq!(
            (r.status, r.code()),
            (403, "SignatureDoesNotMatch"),
            "{version:?}"
        );
        assert!(
            !tag(&r.body, "StringToSign").is_empty(),
            "the string to sign helps debugging"
        );

        let r = Oss::new(&mock, &token, version)
            .put(
                &format!("{}x/a.jpg", token.key_prefix().trim_end_matches('/')),
                b"x",
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (403, "AccessDenied"),
            "{version:?} outside the prefix"
        );
        assert_eq!(
            Oss::new(&mock, &token, version)
                .put(&key, b"x")
                .await
                .status,
            200
        );
    }
    mock.advance(Duration::from_secs(601));
    for version in [SigningVersion::V1, SigningVersion::V4] {
        let r = Oss::new(&mock, &token, version).put(&key, b"x").await;
        assert_eq!(
            (r.status, r.code(), r.ec()),
            (403, "SecurityTokenExpired", "0002-00000007"),
            "{version:?}"
        );
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn presigned_uploads_and_download_links() {
    let (mock, token) = started(true).await;
    for version in [SigningVersion::V1, SigningVersion::V4] {
        let oss = Oss::new(&mock, &token, version);
        let key = token.object_key(&format!("presigned-{version:?}.jpg"));
        let mut parts = http::Request::put(format!("{}/{}/{key}", oss.base, oss.bucket))
            .body(())
            .unwrap()
            .into_parts()
            .0;
        oss.signer()
            .sign_request(
                &Context::new(),
                &mut parts,
                Some(&oss.cred),
                Some(Duration::from_secs(300)),
            )
            .await
            .unwrap();
        let url = parts.uri.to_string();
        assert!(url.contains("security-token="), "{url}");
        let r = oss.http.put(&url).body("presigned").send().await.unwrap();
        assert_eq!(r.status(), 200, "{version:?}: {}", r.text().await.unwrap());
        assert_eq!(mock.object(Provider::Oss, &key).unwrap().size, 9);
    }

    // Output files of an OSS account come with V1 presigned links on the mock's clock.
    let api = Api::new(&mock);
    let rid = api.resource_with_images(10).await;
    let jid = api.job("j").await;
    assert_eq!(
        api.start(
            &jid,
            &rid,
            15,
            r#"{"parameter":{"output_mesh":true,"generate_obj":true}}"#
        )
        .await
        .code(),
        0
    );
    mock.advance(Duration::from_secs(120));
    let out = api.ok("GET", &format!("/jobs/{jid}"), None).await["outputResourceUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let f = &api
        .ok(
            "GET",
            &format!("/files?resourceUuid={out}&name=models/mesh/obj/Block.obj&needURL=true"),
            None,
        )
        .await["list"][0];
    let url = f["url"].as_str().unwrap().to_owned();
    assert!(
        url.contains("OSSAccessKeyId=") && url.contains("Signature="),
        "{url}"
    );
    let http = reqwest::Client::new();
    let r = http
        .get(&url)
        .header("range", "bytes=0-15")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.text().await.unwrap(), "# terra-mock mes");
    mock.advance(Duration::from_secs(3601));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Request has expired"));
    mock.shutdown().await;
}

/// DeleteMultipleObjects (`POST /?delete`, oss2 `batch_delete_objects`, the Go SDK's
/// `DeleteMultipleObjects`): Content-MD5 required, `encoding-type=url` both ways, quiet
/// mode; a key outside the caller's prefix refuses the whole request and deletes nothing.
#[tokio::test]
async fn delete_multiple_objects_with_url_encoding_and_quiet_mode() {
    use base64::Engine as _;
    let (mock, token) = started(false).await;
    let oss = Oss::new(&mock, &token, SigningVersion::V4);
    let (a, b) = (token.object_key("a.jpg"), token.object_key("dir/b c+&.jpg"));
    for k in [&a, &b] {
        assert_eq!(oss.put(k, b"x").await.status, 200);
    }
    let md5 = |x: &str| {
        use md5::Digest;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(x.as_bytes()))
    };
    let encode = terra_mock::storage::presign::encode_key;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>false</Quiet><Object><Key>{}</Key></Object><Object><Key>{}</Key></Object></Delete>",
        encode(&a),
        encode(&b)
    );
    let headers = |x: &str| {
        vec![
            ("content-md5", md5(x)),
            ("content-type", "application/xml".into()),
        ]
    };
    let h = headers(&xml);
    let hh: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = oss
        .send(
            Method::POST,
            "",
            "delete&encoding-type=url",
            &hh,
            xml.clone().into_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<EncodingType>url</EncodingType>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!("<Key>{}</Key>", encode(&b))),
        "{}",
        r.body
    );
    assert!(mock.object(Provider::Oss, &a).is_none() && mock.object(Provider::Oss, &b).is_none());

    // Quiet, and without Content-MD5.
    assert_eq!(oss.put(&a, b"x").await.status, 200);
    let quiet = format!("<Delete><Quiet>true</Quiet><Object><Key>{a}</Key></Object></Delete>");
    let h = headers(&quiet);
    let hh: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = oss
        .send(Method::POST, "", "delete", &hh, quiet.clone().into_bytes())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("<Deleted>"), "{}", r.body);
    let r = oss
        .send(
            Method::POST,
            "",
            "delete",
            &[("content-type", "application/xml")],
            quiet.into_bytes(),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "MissingArgument"), "{}", r.body);

    // Another session's key: refused whole, nothing deleted.
    let other = mock.issue_token(mock.app_key()).unwrap();
    let theirs = other.object_key("theirs.jpg");
    assert_eq!(
        Oss::new(&mock, &other, SigningVersion::V4)
            .put(&theirs, b"y")
            .await
            .status,
        200
    );
    assert_eq!(oss.put(&a, b"x").await.status, 200);
    let mixed = format!(
        "<Delete><Object><Key>{a}</Key></Object><Object><Key>{theirs}</Key></Object></Delete>"
    );
    let h = headers(&mixed);
    let hh: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = oss
        .send(Method::POST, "", "delete", &hh, mixed.into_bytes())
        .await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied"), "{}", r.body);
    assert!(
        mock.object(Provider::Oss, &a).is_some() && mock.object(Provider::Oss, &theirs).is_some()
    );
}
