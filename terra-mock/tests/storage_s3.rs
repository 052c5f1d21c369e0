//! The S3 endpoint, driven by aws-sdk-s3 (a client no one here wrote) with the STS
//! credentials the mock issued.

mod common;

use std::time::Duration;

use aws_sdk_s3::config::{Builder, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{Api, s3_client as client};
use serde_json::json;
use terra_mock::{JobTiming, ManualClock, TerraMock};
use terra_types::StsToken;

async fn started(manual: bool) -> (TerraMock, StsToken) {
    let mut b = TerraMock::builder().timing(JobTiming::lasting(Duration::from_secs(60)));
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

fn code<E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E>,
) -> String {
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => {
            s.err().code().unwrap_or("<none>").to_owned()
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn put_head_get_range_and_register() {
    let (mock, token) = started(false).await;
    let s3 = client(&mock.base_url(), &token, None, None);
    let key = token.object_key("flight/DJI_0001.JPG");
    let body = (0..100_000u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>();
    let put = s3
        .put_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    assert_eq!(
        etag,
        format!("\"{}\"", hex::encode(md5_of(&body))),
        "ETag is the quoted MD5"
    );

    let head = s3
        .head_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(100_000));
    let part = s3
        .get_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .range("bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.content_range(), Some("bytes 10-19/100000"));
    assert_eq!(
        part.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[10..20]
    );

    // The callback finds the object, takes its size from storage and accepts the quoted ETag.
    let api = Api::new(&mock);
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "s3", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let files = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(
                json!({"callbackParam": token.callback_param, "resourceUUID": rid,
            "files": [{"name": "flight/DJI_0001.JPG", "etag": etag, "checksum": etag}]}),
            ),
        )
        .await;
    assert_eq!(files[0]["size"], 100_000);

    s3.delete_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .send()
        .await
        .unwrap();
    let e = s3
        .head_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, aws_sdk_s3::error::SdkError::ServiceError(s) if s.raw().status().as_u16() == 404),
        "{e:?}"
    );
    mock.shutdown().await;
}

fn md5_of(b: &[u8]) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(b).to_vec()
}

#[tokio::test]
async fn multipart_upload_list_parts_complete_and_abort() {
    let (mock, token) = started(false).await;
    let s3 = client(&mock.base_url(), &token, None, None);
    let bucket = &token.cloud_bucket_name;
    let key = token.object_key("lidar/DJI_001.LDR");
    let create = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let id = create.upload_id().unwrap();
    let p1 = vec![1u8; 5 * 1024 * 1024];
    let p2 = vec![2u8; 1024 * 1024];
    let mut done = Vec::new();
    for (n, data) in [(1, p1.clone()), (2, p2.clone())] {
        let r = s3
            .upload_part()
            .bucket(bucket)
            .key(&key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let listed = s3
        .list_parts()
        .bucket(bucket)
        .key(&key)
        .upload_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 2);
    let complete = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut md5s = md5_of(&p1);
    md5s.extend(md5_of(&p2));
    assert_eq!(
        complete.e_tag().unwrap(),
        format!("\"{}-2\"", hex::encode(md5_of(&md5s)))
    );
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(6 * 1024 * 1024));

    // A part below 5 MiB that is not the last is refused; abort removes the upload.
    let key2 = token.object_key("lidar/DJI_002.LDR");
    let id2 = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(&key2)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut small = Vec::new();
    for n in [1, 2] {
        let r = s3
            .upload_part()
            .bucket(bucket)
            .key(&key2)
            .upload_id(&id2)
            .part_number(n)
            .body(ByteStream::from(vec![0u8; 1024]))
            .send()
            .await
            .unwrap();
        small.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let e = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(&key2)
        .upload_id(&id2)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(small))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "EntityTooSmall");
    assert_eq!(mock.object_count(), 1);
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key(&key2)
        .upload_id(&id2)
        .send()
        .await
        .unwrap();
    let e = s3
        .list_parts()
        .bucket(bucket)
        .key(&key2)
        .upload_id(&id2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");
    mock.shutdown().await;
}

#[tokio::test]
async fn wrong_missing_or_expired_tokens_and_foreign_keys_are_refused() {
    let (mock, token) = started(true).await;
    let bucket = token.cloud_bucket_name.clone();
    let key = token.object_key("a.jpg");
    let put = |c: aws_sdk_s3::Client, key: String| {
        let bucket = bucket.clone();
        async move {
            c.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
        }
    };
    let base = mock.base_url();

    let e = put(
        client(&base, &token, None, Some("not-the-token")),
        key.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&e), "InvalidToken");
    let e = put(client(&base, &token, None, Some("")), key.clone())
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        "InvalidAccessKeyId",
        "temporary credentials without their session token"
    );
    let e = put(
        client(&base, &token, Some("wrong-secret"), None),
        key.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    let e = put(
        client(&base, &token, None, None),
        "100001/tmp/someone-else/a.jpg".into(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        code(&e),
        "AccessDenied",
        "writes outside the storePath prefix"
    );
    let e = client(&base, &token, None, None)
        .put_object()
        .bucket("another-bucket")
        .key(&key)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        "AccessDenied",
        "the credentials are for DJI's bucket only"
    );

    put(client(&base, &token, None, None), key.clone())
        .await
        .unwrap();
    // The token expires on the mock's clock (600 s by default) ...
    mock.advance(Duration::from_secs(601));
    let e = put(client(&base, &token, None, None), key.clone())
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
    // ... and a new token works again, under its own prefix.
    let fresh: StsToken = serde_json::from_value(
        Api::new(&mock)
            .ok("POST", "/store/obtain_token", None)
            .await,
    )
    .unwrap();
    put(client(&base, &fresh, None, None), fresh.object_key("a.jpg"))
        .await
        .unwrap();
    mock.expire_tokens_now();
    let e = put(client(&base, &fresh, None, None), fresh.object_key("b.jpg"))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
    mock.shutdown().await;
}

#[tokio::test]
async fn presigned_virtual_host_put_from_the_sdk() {
    let (mock, token) = started(false).await;
    let port = mock.addr().port();
    let creds = Credentials::new(
        &token.access_key_id,
        token.secret_access_key.expose(),
        Some(token.session_token.expose().to_owned()),
        None,
        "t",
    );
    let conf = Builder::new()
        .behavior_version_latest()
        .credentials_provider(creds)
        .region(Region::new(token.region.clone()))
        .endpoint_url(format!("http://localhost:{port}"))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    let key = token.object_key("vh/photo.jpg");
    let presigned = s3
        .put_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap(),
        )
        .await
        .unwrap();
    let url = presigned.uri().to_owned();
    assert!(
        url.starts_with(&format!(
            "http://{}.localhost:{port}/",
            token.cloud_bucket_name
        )),
        "{url}"
    );
    let http = reqwest::Client::builder()
        .resolve(
            &format!("{}.localhost", token.cloud_bucket_name),
            mock.addr(),
        )
        .build()
        .unwrap();
    let resp = http.put(&url).body("virtual host").send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(
        mock.object(terra_mock::Provider::S3, &key).unwrap().size,
        12
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn output_files_download_through_presigned_links_with_ranges_until_they_expire() {
    let mock = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .timing(JobTiming::lasting(Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let api = Api::new(&mock);
    let rid = api.resource_with_images(10).await;
    let jid = api.job("j").await;
    assert_eq!(
        api.start(&jid, &rid, 14, r#"{"parameter":{"map_mode":0}}"#)
            .await
            .code(),
        0
    );
    mock.advance(Duration::from_secs(120));
    let out = api.ok("GET", &format!("/jobs/{jid}"), None).await["outputResourceUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let files = api
        .ok(
            "GET",
            &format!("/files?resourceUuid={out}&name=map/result.tif"),
            None,
        )
        .await;
    let fid = files["list"][0]["uuid"].as_str().unwrap().to_owned();
    let size = files["list"][0]["size"].as_u64().unwrap();
    let url = api.ok("GET", &format!("/files/{fid}"), None).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"), "{url}");

    let http = reqwest::Client::new();
    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    let whole = whole.bytes().await.unwrap();
    assert_eq!((whole.len() as u64, &whole[..4]), (size, &b"II*\0"[..]));
    let part = http
        .get(&url)
        .header("range", "bytes=4-7")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &whole[4..8]);
    let tampered = url.replace("x-terra-mock-expires=", "x-terra-mock-expires=9");
    assert_eq!(
        http.get(&tampered).send().await.unwrap().status(),
        403,
        "the expiry is signed"
    );

    mock.advance(Duration::from_secs(3601));
    let expired = http.get(&url).send().await.unwrap();
    assert_eq!(expired.status(), 403);
    assert!(
        expired
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
    // A fresh link works again.
    let url = api.ok("GET", &format!("/files/{fid}"), None).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    mock.shutdown().await;
}

#[tokio::test]
async fn listing_v1_and_v2_with_delimiters_and_pages() {
    let (mock, token) = started(false).await;
    let s3 = client(&mock.base_url(), &token, None, None);
    let bucket = &token.cloud_bucket_name;
    let p = token.key_prefix().to_owned();
    for k in ["a/1", "a/2", "b", "c", "d"] {
        s3.put_object()
            .bucket(bucket)
            .key(format!("{p}{k}"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let page1 = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&p)
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page1.common_prefixes()[0].prefix(),
        Some(format!("{p}a/").as_str())
    );
    assert_eq!(
        page1
            .contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        [format!("{p}b")]
    );
    assert_eq!(page1.is_truncated(), Some(true));
    let page2 = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&p)
        .delimiter("/")
        .max_keys(2)
        .continuation_token(page1.next_continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        page2
            .contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        [format!("{p}c"), format!("{p}d")]
    );
    assert!(page2.common_prefixes().is_empty());
    let v1 = s3
        .list_objects()
        .bucket(bucket)
        .prefix(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(v1.contents().len(), 5);
    // Listing is confined to the token's prefix like writes are.
    let e = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("100001/")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    mock.shutdown().await;
}

/// DeleteObjects (`POST ?delete`, what `s5cmd rm`, boto3 `delete_objects` and the Go SDK
/// send): each key authorized as its own DeleteObject; a key outside the session's prefix
/// is an `<Error>` inside the 200; quiet mode lists only errors; the checksum is required
/// and checked; at most 1 000 keys.
#[tokio::test]
async fn delete_objects_deletes_each_allowed_key_and_reports_the_others() {
    let (mock, token) = started(false).await;
    let s3 = client(&mock.base_url(), &token, None, None);
    let bucket = token.cloud_bucket_name.clone();
    let (a, b) = (token.object_key("a.jpg"), token.object_key("dir/b c+.jpg"));
    for k in [&a, &b] {
        s3.put_object()
            .bucket(&bucket)
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let other = mock.issue_token(mock.app_key()).unwrap();
    let theirs = other.object_key("theirs.jpg");
    client(&mock.base_url(), &other, None, None)
        .put_object()
        .bucket(&bucket)
        .key(&theirs)
        .body(ByteStream::from_static(b"y"))
        .send()
        .await
        .unwrap();
    let missing = token.object_key("never-uploaded.jpg");
    let ids = |keys: &[&String]| {
        aws_sdk_s3::types::Delete::builder().set_objects(Some(
            keys.iter()
                .map(|k| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(*k)
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
    };
    let out = s3
        .delete_objects()
        .bucket(&bucket)
        .delete(ids(&[&a, &b, &missing, &theirs]).build().unwrap())
        .send()
        .await
        .unwrap();
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    let mut want = vec![a.as_str(), b.as_str(), missing.as_str()];
    want.sort();
    assert_eq!(deleted, want, "what does not exist counts as deleted");
    let errors: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap(), e.code().unwrap()))
        .collect();
    assert_eq!(errors, [(theirs.as_str(), "AccessDenied")]);
    assert!(
        s3.head_object()
            .bucket(&bucket)
            .key(&a)
            .send()
            .await
            .is_err()
    );
    assert!(
        mock.object(terra_mock::Provider::S3, &theirs).is_some(),
        "another session's object stays"
    );

    // Quiet: only the errors.
    let out = s3
        .delete_objects()
        .bucket(&bucket)
        .delete(ids(&[&a, &theirs]).quiet(true).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.deleted().is_empty());
    assert_eq!(out.errors().len(), 1);

    // More than 1 000 keys.
    let many: Vec<String> = (0..1001)
        .map(|i| token.object_key(&format!("k{i}")))
        .collect();
    let refs: Vec<&String> = many.iter().collect();
    let e = s3
        .delete_objects()
        .bucket(&bucket)
        .delete(ids(&refs).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MalformedXML");
}

/// S3 takes DeleteObjects only with `Content-MD5` or an `x-amz-checksum-*` header that
/// matches the body.
#[tokio::test]
async fn delete_objects_needs_a_matching_checksum() {
    use tower::ServiceExt as _;
    let (mock, token) = started(false).await;
    let xml = format!(
        "<Delete><Object><Key>{}</Key></Object></Delete>",
        token.object_key("a.jpg")
    );
    for (header, value, status, code) in [
        (None, "", 400, "InvalidRequest"),
        (
            Some("content-md5"),
            "XUFAKrxLKna5cZ2REBfFkg==",
            400,
            "BadDigest",
        ),
        (Some("x-amz-checksum-crc32"), "AAAAAA==", 400, "BadDigest"),
        (Some("content-md5"), "not base64!", 400, "InvalidDigest"),
    ] {
        let mut parts = http::Request::builder()
            .method("POST")
            .uri(format!("/{}?delete", token.cloud_bucket_name))
            .body(())
            .unwrap()
            .into_parts()
            .0;
        if let Some(h) = header {
            parts.headers.insert(h, value.parse().unwrap());
        }
        common::sigv4(&mut parts, &token);
        let resp = mock
            .router()
            .oneshot(http::Request::from_parts(
                parts,
                axum::body::Body::from(xml.clone()),
            ))
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{header:?}");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains(&format!("<Code>{code}</Code>")),
            "{header:?}: {text}"
        );
    }
}
