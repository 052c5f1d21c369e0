//! What the storage SDKs people use need (issue 11's table, a test per row), and the job
//! semantics a foreign user trips on. The clients themselves (boto3, oss2) run in
//! `sdk_conformance.rs`; requests signed by oss2 are checked in `storage::oss::sign`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{Api, Oss, s3_client, sigv4, tag};
use http::Method;
use reqsign_aliyun_oss::SigningVersion;
use serde_json::json;
use terra_mock::{JobTiming, ManualClock, MockConfig, Provider, TerraMock};
use terra_types::StsToken;
use tower::ServiceExt as _;

async fn oss_mock() -> (TerraMock, StsToken) {
    let mock = TerraMock::builder()
        .provider(Provider::Oss)
        .start()
        .await
        .unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    (mock, token)
}

/// Row 1: an S3-compatible client (SigV4, `x-amz-security-token`) uploading to the OSS
/// bucket was treated as anonymous. OSS serves its S3-compatible API on the same bucket.
#[tokio::test]
async fn an_s3_compatible_client_uploads_to_the_oss_bucket() {
    let (mock, token) = oss_mock().await;
    let s3 = s3_client(&mock.base_url(), &token, None, None);
    let key = token.object_key("s3api/DJI_0001.JPG");
    let put = s3
        .put_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .body(ByteStream::from_static(b"jpeg"))
        .send()
        .await
        .unwrap();
    let stored = mock.object(Provider::Oss, &key).unwrap();
    assert_eq!(put.e_tag().unwrap(), stored.quoted_etag());
    let got = s3
        .get_object()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"jpeg"
    );
    // Still confined: another prefix is refused.
    let e = s3
        .put_object()
        .bucket(&token.cloud_bucket_name)
        .key("100009/tmp/x/a.jpg")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("AccessDenied"), "{e:?}");

    // What OSS refuses on that path: unsigned aws-chunked streaming.
    let mut parts = http::Request::put(format!(
        "/{}/{}",
        token.cloud_bucket_name,
        terra_mock::storage::presign::encode_key(&token.object_key("chunked.bin"))
    ))
    .header("content-encoding", "aws-chunked")
    .header("x-amz-decoded-content-length", "5")
    .body(())
    .unwrap()
    .into_parts()
    .0;
    sigv4(&mut parts, &token);
    parts.headers.insert(
        "x-amz-content-sha256",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER".parse().unwrap(),
    );
    let resp = mock
        .router()
        .oneshot(http::Request::from_parts(
            parts,
            axum::body::Body::from("5\r\nhello\r\n0\r\n\r\n"),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-oss-ec"], "0017-00000804");
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert_eq!(tag(&text, "Code"), "InvalidArgument");
    assert_eq!(
        tag(&text, "Message"),
        "aws-chunked encoding is not supported with the specified x-amz-content-sha256 value."
    );
    assert_eq!(tag(&text, "ArgumentValue"), "aws-chunked");
}

/// Row 2: ListParts (what `oss2.resumable_upload` asks second) answered 405;
/// ListMultipartUploads was not served either.
#[tokio::test]
async fn oss_lists_parts_and_uploads_with_markers() {
    let (mock, token) = oss_mock().await;
    for version in [SigningVersion::V1, SigningVersion::V4] {
        let oss = Oss::new(&mock, &token, version);
        let key = token.object_key(&format!("big/{version:?}.las"));
        let init = oss
            .send(Method::POST, &key, "uploads", &[], Vec::new())
            .await;
        let id = tag(&init.body, "UploadId").to_owned();
        for n in 1..=3 {
            let r = oss
                .send(
                    Method::PUT,
                    &key,
                    &format!("partNumber={n}&uploadId={id}"),
                    &[],
                    vec![n as u8; 100 * 1024],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let page = oss
            .send(
                Method::GET,
                &key,
                &format!("uploadId={id}&max-parts=2"),
                &[],
                Vec::new(),
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(tag(&page.body, "IsTruncated"), "true");
        assert_eq!(tag(&page.body, "NextPartNumberMarker"), "2");
        assert_eq!(page.body.matches("<Part>").count(), 2);
        let rest = oss
            .send(
                Method::GET,
                &key,
                &format!("uploadId={id}&part-number-marker=2"),
                &[],
                Vec::new(),
            )
            .await;
        assert_eq!(tag(&rest.body, "IsTruncated"), "false");
        assert_eq!(tag(&rest.body, "PartNumber"), "3");
        assert!(
            tag(&rest.body, "LastModified").ends_with(".000Z"),
            "{}",
            rest.body
        );
        let uploads = oss
            .send(
                Method::GET,
                "",
                &format!(
                    "uploads&prefix={}",
                    terra_mock::storage::presign::uri_encode(&token.object_key("big/"))
                ),
                &[],
                Vec::new(),
            )
            .await;
        assert_eq!(uploads.status, 200, "{}", uploads.body);
        assert!(uploads.body.contains(&id), "{}", uploads.body);
        let everything = oss.send(Method::GET, "", "uploads", &[], Vec::new()).await;
        assert_eq!(
            (everything.status, everything.code()),
            (403, "AccessDenied")
        );
    }
}

/// Row 4: the ETag of CompleteMultipartUpload was only in the XML; oss2 reads the header.
#[tokio::test]
async fn oss_complete_has_its_etag_in_the_header_too() {
    let (mock, token) = oss_mock().await;
    let oss = Oss::new(&mock, &token, SigningVersion::V4);
    let key = token.object_key("by-hand.las");
    let init = oss
        .send(Method::POST, &key, "uploads", &[], Vec::new())
        .await;
    let id = tag(&init.body, "UploadId").to_owned();
    let mut listed = String::from("<CompleteMultipartUpload>");
    for n in 1..=2 {
        let r = oss
            .send(
                Method::PUT,
                &key,
                &format!("partNumber={n}&uploadId={id}"),
                &[],
                vec![7; 100 * 1024],
            )
            .await;
        listed.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
            r.headers["etag"].to_str().unwrap()
        ));
    }
    listed.push_str("</CompleteMultipartUpload>");
    let done = oss
        .send(
            Method::POST,
            &key,
            &format!("uploadId={id}"),
            &[],
            listed.into_bytes(),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let header = done.headers["etag"].to_str().unwrap();
    assert_eq!(header, tag(&done.body, "ETag").replace("&quot;", "\""));
    assert!(header.ends_with("-2\""), "{header}");
    // x-oss-complete-all: every uploaded part, no list.
    let key = token.object_key("all.las");
    let init = oss
        .send(Method::POST, &key, "uploads", &[], Vec::new())
        .await;
    let id = tag(&init.body, "UploadId").to_owned();
    for n in [1, 2] {
        oss.send(
            Method::PUT,
            &key,
            &format!("partNumber={n}&uploadId={id}"),
            &[],
            vec![1; 100 * 1024],
        )
        .await;
    }
    let done = oss
        .send(
            Method::POST,
            &key,
            &format!("uploadId={id}"),
            &[("x-oss-complete-all", "yes")],
            Vec::new(),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(mock.object(Provider::Oss, &key).unwrap().size, 200 * 1024);
}

/// Row 6: a V1 client that sends `x-oss-date` and no `Date` (ali-oss's default) was
/// refused, and after the error its next request on the keep-alive connection broke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_with_x_oss_date_and_the_connection_after_an_error() {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let (mock, token) = oss_mock().await;
    let key = token.object_key("node.jpg");
    let path = format!(
        "/{}/{}",
        token.cloud_bucket_name,
        terra_mock::storage::presign::encode_key(&key)
    );
    let x_date =
        terra_types::time::format_rfc3339(std::time::SystemTime::now()).replace(['-', ':'], "");
    let sign = |secret: &str| {
        // Aliyun's documented V1 string, `x-oss-date` in the date line.
        let sts = format!(
            "PUT\n\n\n{x_date}\nx-oss-date:{x_date}\nx-oss-security-token:{}\n/{}/{key}",
            token.session_token.expose(),
            token.cloud_bucket_name
        );
        let mut m = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(sts.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
    };
    let put = |sig: String, body: &[u8]| {
        let mut req = format!(
            "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nx-oss-date: {x_date}\r\nx-oss-security-token: {}\r\nAuthorization: OSS {}:{sig}\r\n\r\n",
            body.len(),
            token.session_token.expose(),
            token.access_key_id
        )
        .into_bytes();
        req.extend_from_slice(body);
        req
    };
    let addr = mock.addr();
    let good = put(sign(token.secret_access_key.expose()), b"jpeg");
    let bad = put(sign("wrong"), &vec![0u8; 64 * 1024]);
    let replies = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut replies = Vec::new();
        for req in [&bad, &good, &bad, &good] {
            s.write_all(req).unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            // Read the rest of the body, if any, by its length.
            let len: usize = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let head = text.find("\r\n\r\n").unwrap() + 4;
            let mut have = n - head;
            while have < len {
                have += s.read(&mut buf).unwrap();
            }
            replies.push(text);
        }
        replies
    })
    .await
    .unwrap();
    for (i, r) in replies.iter().enumerate() {
        let want = if i % 2 == 0 {
            "HTTP/1.1 403"
        } else {
            "HTTP/1.1 200"
        };
        assert!(r.starts_with(want), "reply {i} on one connection: {r}");
        assert!(r.to_ascii_lowercase().contains("x-oss-request-id:"), "{r}");
    }
    assert!(replies[0].contains("<Code>SignatureDoesNotMatch</Code>"));
    assert_eq!(mock.object(Provider::Oss, &key).unwrap().size, 4);
}

/// Row 7: boto3's default presigned URL (SigV2 query auth) got a bare
/// SignatureDoesNotMatch; S3 refuses SigV2 with its own message.
#[tokio::test]
async fn sigv2_is_refused_the_way_s3_refuses_it() {
    let mock = TerraMock::start().await.unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let key = token.object_key("a.jpg");
    mock.put_object(&token, "a.jpg", b"x").unwrap();
    let url = format!(
        "{}/{}/{}?AWSAccessKeyId={}&Signature=abc%3D&Expires=4102444800&x-amz-security-token=t",
        mock.base_url(),
        token.cloud_bucket_name,
        key,
        token.access_key_id
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().contains_key("x-amz-request-id"));
    let text = r.text().await.unwrap();
    assert_eq!(tag(&text, "Code"), "InvalidRequest");
    assert_eq!(
        tag(&text, "Message"),
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
    );
}

/// Row 8: the AWS CLI printed "Unknown": S3 errors had no Message or RequestId and no
/// answer carried a request id.
#[tokio::test]
async fn s3_answers_carry_request_ids_and_errors_their_message() {
    let mock = TerraMock::start().await.unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let bad = s3_client(&mock.base_url(), &token, Some("wrong"), None);
    let e = bad
        .put_object()
        .bucket(&token.cloud_bucket_name)
        .key(token.object_key("a.jpg"))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&e);
    assert_eq!(meta.code(), Some("SignatureDoesNotMatch"));
    assert!(
        meta.message().is_some_and(|m| m.contains("signature")),
        "{meta:?}"
    );
    assert!(
        aws_sdk_s3::operation::RequestId::request_id(&e).is_some(),
        "{e:?}"
    );
    let good = s3_client(&mock.base_url(), &token, None, None);
    let ok = good
        .put_object()
        .bucket(&token.cloud_bucket_name)
        .key(token.object_key("a.jpg"))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert!(aws_sdk_s3::operation::RequestId::request_id(&ok).is_some());
    assert!(aws_sdk_s3::operation::RequestIdExt::extended_request_id(&ok).is_some());
    let missing = good
        .get_object()
        .bucket(&token.cloud_bucket_name)
        .key(token.object_key("nothing.jpg"))
        .send()
        .await
        .unwrap_err();
    let meta = aws_sdk_s3::error::ProvideErrorMetadata::meta(&missing);
    assert_eq!(meta.code(), Some("NoSuchKey"));
    assert!(meta.message().is_some());
}

fn fast(total: u64) -> MockConfig {
    MockConfig {
        timing: JobTiming::default().scaled_to(Duration::from_secs(total), 12),
        ..Default::default()
    }
}

/// With `--job-seconds` every stage is shortened in proportion: a poller sees 1, 2, 3, 4
/// and 6 in order, with `outputResourceUuid` from 4 on (it used to jump from 3 to 6).
#[tokio::test]
async fn a_short_job_still_visits_every_status_in_order() {
    let clock = ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .config(fast(5))
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let rid = api.resource_with_images(12).await;
    let job = api.job("short").await;
    let r = api
        .start(&job, &rid, 14, r#"{"parameter":{"map_mode":1}}"#)
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let mut seen: Vec<i64> = Vec::new();
    for _ in 0..60 {
        let j = api.ok("GET", &format!("/jobs/{job}"), None).await;
        let status = j["status"].as_i64().unwrap();
        if seen.last() != Some(&status) {
            assert_eq!(j["outputResourceUuid"].is_string(), status >= 4, "{j}");
            seen.push(status);
        }
        if status == 6 {
            break;
        }
        clock.advance(Duration::from_millis(200));
    }
    assert_eq!(seen, [1, 2, 3, 4, 6]);
}

/// A LiDAR job whose resource holds photos only fails the way a job fails, with a reason;
/// it does not make a point cloud out of JPEGs.
#[tokio::test]
async fn a_lidar_job_without_lidar_data_fails_with_a_reason() {
    let clock = ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .config(fast(10))
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let rid = api.resource_with_images(12).await;
    let job = api.job("lidar").await;
    assert_eq!(api.start(&job, &rid, 13, "{}").await.code(), 0);
    clock.advance(Duration::from_secs(60));
    mock.advance(Duration::ZERO);
    let j = api.ok("GET", &format!("/jobs/{job}"), None).await;
    assert_eq!(j["status"], 7, "{j}");
    let message = j["message"].as_str().unwrap();
    assert!(
        message.contains("No LiDAR data") && message.contains(".LDR"),
        "{message}"
    );
    assert!(
        j["outputResourceUuid"].is_null(),
        "failed while preparing: no output"
    );
}

/// A 3D job asking for model formats with `output_mesh` off finishes without a model and
/// says why; with `unused_mesh_formats = refuse` it is not started at all.
#[tokio::test]
async fn model_formats_without_the_mesh_switch_are_called_out() {
    let params = r#"{"parameter":{"output_mesh":false,"generate_obj":true,"generate_b3dm":true}}"#;
    let clock = ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .config(fast(10))
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let rid = api.resource_with_images(12).await;
    let job = api.job("3d").await;
    assert_eq!(api.start(&job, &rid, 15, params).await.code(), 0);
    mock.advance(Duration::from_secs(60));
    let j = api.ok("GET", &format!("/jobs/{job}"), None).await;
    assert_eq!(j["status"], 6);
    let message = j["message"].as_str().unwrap();
    assert!(
        message.starts_with("success") && message.contains("generate_obj, generate_b3dm"),
        "{message}"
    );
    let out = j["outputResourceUuid"].as_str().unwrap();
    let files = api
        .ok("GET", &format!("/files?resourceUuid={out}&rows=100"), None)
        .await;
    assert!(
        files["list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["name"].as_str().unwrap().starts_with("models/mesh")),
        "no model"
    );

    let strict = TerraMock::builder()
        .config(MockConfig {
            unused_mesh_formats: terra_mock::UnusedMeshFormats::Refuse,
            ..Default::default()
        })
        .build()
        .unwrap();
    let api = Api::new(&strict);
    let rid = api.resource_with_images(12).await;
    let job = api.job("3d").await;
    let r = api.start(&job, &rid, 15, params).await;
    assert_eq!(r.code(), 102001);
    assert!(r.msg().contains("output_mesh"), "{}", r.msg());
    assert_eq!(strict.stats(strict.app_key()).job_starts, 0);
    let _ = json!(null);
}

/// `Expect: 100-continue` gets its `100 Continue`, also for an empty body (the AWS CLI's
/// `s3 sync` of an empty file: without it botocore misreads the connection's next answer),
/// and the connection serves the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_is_answered_for_empty_bodies_too() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mock = TerraMock::start().await.unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let head = |method: &str, key: &str, expect: bool| {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("/{}/{key}", token.cloud_bucket_name));
        if expect {
            b = b.header("expect", "100-continue");
        }
        let mut parts = b.body(()).unwrap().into_parts().0;
        sigv4(&mut parts, &token);
        let mut text = format!("{method} {} HTTP/1.1\r\n", parts.uri);
        for (n, v) in &parts.headers {
            text.push_str(&format!("{n}: {}\r\n", v.to_str().unwrap()));
        }
        text.push_str("content-length: 0\r\n\r\n");
        text
    };
    let mut tcp = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    let empty = token.object_key("empty.txt");
    tcp.write_all(head("PUT", &empty, true).as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("HTTP/1.1 200") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"),
        "{text}"
    );
    assert!(
        mock.object(terra_mock::Provider::S3, &empty)
            .is_some_and(|o| o.size == 0)
    );
    // The same connection answers the next request, once.
    tcp.write_all(head("HEAD", &empty, false).as_bytes())
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let next = String::from_utf8_lossy(&buf[..n]);
    assert!(next.starts_with("HTTP/1.1 200"), "{next}");
    assert_eq!(
        next.matches("HTTP/1.1").count(),
        1,
        "no stray interim answer: {next}"
    );
}
