//! Storage under hostile input: listings confined to the caller's prefix, a non-ASCII date,
//! racing completes, keys a listing cannot show, ranges past any end.

use super::*;

/// Row 3: ListObjectsV2 with no prefix (or `PREFIX=`, which S3 does not read) listed
/// another account's keys. Listings must name a prefix inside the caller's `storePath`.
#[tokio::test]
async fn listings_are_confined_to_the_callers_prefix() {
    let mock = TerraMock::builder()
        .add_account("other-ak", "other-sk", Provider::S3)
        .start()
        .await
        .unwrap();
    let theirs = mock.issue_token("other-ak").unwrap();
    mock.put_object(&theirs, "secret-site.jpg", b"not yours")
        .unwrap();
    let mine = mock.issue_token(mock.app_key()).unwrap();
    mock.put_object(&mine, "mine.jpg", b"yours").unwrap();
    let s3 = s3_client(&mock.base_url(), &mine, None, None);
    let bucket = &mine.cloud_bucket_name;
    let my_prefix = mine.object_key("");

    fn denied(e: &impl std::fmt::Debug) -> bool {
        format!("{e:?}").contains("AccessDenied")
    }
    let e = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap_err();
    assert!(denied(&e), "{e:?}");
    let e = s3.list_objects().bucket(bucket).send().await.unwrap_err();
    assert!(denied(&e), "{e:?}");
    let upper = s3
        .list_objects_v2()
        .bucket(bucket)
        .customize()
        .mutate_request(move |r| {
            let uri = format!("{}&PREFIX={}", r.uri(), my_prefix.replace('/', "%2F"));
            r.set_uri(uri).unwrap();
        })
        .send()
        .await
        .unwrap_err();
    assert!(
        denied(&upper),
        "an upper-case PREFIX is not a prefix: {upper:?}"
    );
    let other_prefix = theirs.object_key("");
    let e = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&other_prefix)
        .send()
        .await
        .unwrap_err();
    assert!(denied(&e), "{e:?}");
    let e = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap_err();
    assert!(denied(&e), "{e:?}");

    let own = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(mine.object_key(""))
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = own.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [mine.object_key("mine.jpg").as_str()]);
    // Reading a foreign key is refused as well.
    let e = s3
        .get_object()
        .bucket(bucket)
        .key(theirs.object_key("secret-site.jpg"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("AccessDenied"), "{e:?}");
}

/// Row 6: an OSS presigned V4 GET with a non-ASCII `x-oss-date` panicked (a byte index
/// inside a character) and the connection was dropped. It is an authentication error.
#[tokio::test]
async fn a_non_ascii_oss_date_is_an_error_not_a_panic() {
    let mock = TerraMock::builder()
        .provider(Provider::Oss)
        .build()
        .unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    for date in [
        "2025０411T064124Z",
        "20250411T06412é",
        "é",
        "20250411X064124Z",
    ] {
        let q = format!(
            "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential={}%2F20250411%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date={}&x-oss-expires=60&x-oss-signature=00",
            token.access_key_id,
            terra_mock::storage::presign::uri_encode(date)
        );
        let uri = format!(
            "/{}/{}?{q}",
            token.cloud_bucket_name,
            token.object_key("a.jpg")
        );
        let resp = mock
            .router()
            .oneshot(
                http::Request::get(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{date}");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("<Code>AccessDenied</Code>"));
    }
}

/// Row 7: CompleteMultipartUpload racing AbortMultipartUpload answered 500 both ways and
/// left 5 MiB on disk each time. Exactly one wins; the other gets NoSuchUpload; nothing is
/// left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_racing_abort_has_one_winner_and_leaves_nothing() {
    let mock = TerraMock::start().await.unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let s3 = s3_client(&mock.base_url(), &token, None, None);
    let bucket = token.cloud_bucket_name.clone();
    let part = vec![7u8; 5 << 20];
    let mut completed = Vec::new();
    for round in 0..20 {
        let key = token.object_key(&format!("race-{round}.las"));
        let id = s3
            .create_multipart_upload()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .unwrap()
            .upload_id()
            .unwrap()
            .to_owned();
        let mut parts = Vec::new();
        for (n, body) in [(1, part.clone()), (2, b"tail".to_vec())] {
            let r = s3
                .upload_part()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(body))
                .send()
                .await
                .unwrap();
            parts.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(r.e_tag().unwrap())
                    .build(),
            );
        }
        let complete = s3
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(&key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send();
        let abort = s3
            .abort_multipart_upload()
            .bucket(&bucket)
            .key(&key)
            .upload_id(&id)
            .send();
        let (c, a) = tokio::join!(complete, abort);
        let no_upload = |e: String| e.contains("NoSuchUpload");
        match (c, a) {
            (Ok(_), Err(e)) => {
                assert!(no_upload(format!("{e:?}")), "round {round}: {e:?}");
                completed.push(key);
            }
            (Err(e), Ok(_)) => assert!(no_upload(format!("{e:?}")), "round {round}: {e:?}"),
            (c, a) => panic!("round {round}: one must win: {c:?} / {a:?}"),
        }
    }
    assert_eq!(mock.open_multipart_uploads(), 0);
    for key in &completed {
        let o = mock.object(Provider::S3, key).unwrap();
        assert_eq!(o.size, (5 << 20) + 4);
        assert!(o.etag.ends_with("-2"));
    }
    // Every file on disk belongs to a completed object (two parts each); none is orphaned.
    let files = mock.body_files();
    assert_eq!(files, completed.len() * 2);
    for key in &completed {
        s3.delete_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(mock.body_files(), 0);
}

/// Row 8: a key with `%00` was stored, then every listing that included it answered 500
/// (XML cannot carry it). Such keys are refused at write time with the storage's error.
#[tokio::test]
async fn keys_a_listing_cannot_show_are_refused_at_write_time() {
    let mock = TerraMock::start().await.unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let s3 = s3_client(&mock.base_url(), &token, None, None);
    let bucket = &token.cloud_bucket_name;
    for bad in ["nul\0.jpg", "bell\u{7}.jpg", "esc\u{1b}[31m.jpg"] {
        let e = s3
            .put_object()
            .bucket(bucket)
            .key(token.object_key(bad))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
        let raw = e.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw, Some(400), "{bad:?}: {e:?}");
        assert!(format!("{e:?}").contains("InvalidArgument"), "{e:?}");
    }
    let long = "k".repeat(1100);
    let e = s3
        .put_object()
        .bucket(bucket)
        .key(token.object_key(&long))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("KeyTooLongError"), "{e:?}");
    s3.put_object()
        .bucket(bucket)
        .key(token.object_key("tab\tand space.jpg"))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let list = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(token.object_key(""))
        .send()
        .await
        .unwrap();
    assert_eq!(list.key_count(), Some(1));

    // The OSS endpoint refuses them too, with InvalidObjectName.
    let oss_mock = TerraMock::builder()
        .provider(Provider::Oss)
        .start()
        .await
        .unwrap();
    let t = oss_mock.issue_token(oss_mock.app_key()).unwrap();
    let oss = common::Oss::new(&oss_mock, &t, reqsign_aliyun_oss::SigningVersion::V4);
    let r = oss.put(&t.object_key("nul\0.jpg"), b"x").await;
    assert_eq!(
        (r.status, r.code()),
        (400, "InvalidObjectName"),
        "{}",
        r.body
    );
}

/// Row 9: `Range: bytes=0-18446744073709551615` on a 2,000-byte object answered 206 with
/// nothing (`bytes 0-0/2000`: the end wrapped around). Past the end means the end.
#[tokio::test]
async fn ranges_past_any_end_mean_the_end() {
    for provider in [Provider::Oss, Provider::S3] {
        let mock = TerraMock::builder()
            .provider(provider)
            .start()
            .await
            .unwrap();
        let token = mock.issue_token(mock.app_key()).unwrap();
        let body: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        mock.put_object(&token, "site.tif", &body).unwrap();
        let key = token.object_key("site.tif");
        let url = mock.download_url(provider, &key);
        let get = |range: &'static str| {
            let url = url.clone();
            async move {
                reqwest::Client::new()
                    .get(url)
                    .header("range", range)
                    .send()
                    .await
                    .unwrap()
            }
        };
        for range in [
            "bytes=0-18446744073709551615",
            "bytes=0-99999999999999999999",
        ] {
            let r = get(range).await;
            assert_eq!(
                r.status(),
                StatusCode::PARTIAL_CONTENT,
                "{provider:?} {range}"
            );
            assert_eq!(
                r.headers()["content-range"].to_str().unwrap(),
                "bytes 0-1999/2000"
            );
            assert_eq!(r.bytes().await.unwrap().as_ref(), body.as_slice());
        }
        let r = get("bytes=1990-").await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[1990..]);
        let r = get("bytes=2000-").await;
        assert_eq!(
            r.status(),
            StatusCode::RANGE_NOT_SATISFIABLE,
            "{provider:?}"
        );
        for malformed in ["bytes=5-1", "bytes=abc", "lines=0-1", "bytes=0-1,4-5"] {
            let r = get(malformed).await;
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "{provider:?} {malformed}: whole object"
            );
            assert_eq!(r.bytes().await.unwrap().len(), 2000);
        }
    }
}
