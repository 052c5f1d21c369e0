//! The mock as a shared server under hostile use: one test per case that broke it (issue
//! 10's table). Each asserts what a user of a long-lived shared emulator relies on: cheap
//! refusals before authentication, connections that cannot be starved, one account never
//! seeing another's keys, bounded state, pages that cost what they return, no panic and
//! no 5xx from client input.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{Api, Server, V2, s3_client};
use http::StatusCode;
use serde_json::json;
use terra_mock::{MockConfig, Provider, TerraMock};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_types::StsToken;
use tower::ServiceExt as _;

/// A signed API call to a server over HTTP.
async fn signed_get(base: &str, target: &str) -> reqwest::Result<reqwest::Response> {
    let signed = sign(
        &SignableRequest::new("GET", target, b""),
        &Credentials::new(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET),
        &SigningParams::new(SystemTime::now()),
    );
    let mut req = reqwest::Client::new().get(format!("{base}{target}"));
    for (n, v) in signed.headers() {
        req = req.header(n, v);
    }
    req.timeout(Duration::from_secs(30)).send().await
}

/// Row 1: 40 unauthenticated POSTs of 15 MiB to an unknown API route grew the server by
/// 620 MB: bodies were read before the signature check. Now the refusal comes from the
/// headers alone, before a single body byte is read.
#[tokio::test]
async fn an_unauthenticated_body_is_never_read() {
    let mock = TerraMock::builder().build().unwrap();
    // A body that never arrives: if the gateway waited for it, this would hang.
    let body = axum::body::Body::from_stream(futures::stream::pending::<
        Result<bytes::Bytes, std::io::Error>,
    >());
    let req = http::Request::post(format!("{V2}/nope"))
        .header("content-length", (15 << 20).to_string())
        .body(body)
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), mock.router().oneshot(req))
        .await
        .expect("answered without reading the body")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let last = mock.requests().pop().unwrap();
    assert!(last.body.is_empty(), "nothing of the body was kept");

    // The same through the standalone server, with real 15 MiB bodies: memory stays put.
    let server = Server::start(4096, &["--log", "warn"], &[]);
    let before = server.rss_kib();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..40 {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "POST /terra-rescon-be/v2/nope HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            15 << 20
        )
        .unwrap();
        // Send what the server takes; it may close the connection after answering.
        for _ in 0..15 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
        let mut head = [0u8; 12];
        let _ = s.read(&mut head);
        assert!(
            head.starts_with(b"HTTP/1.1 401"),
            "{:?}",
            String::from_utf8_lossy(&head)
        );
    }
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 40 * 1024,
        "the server grew by {grown} KiB for 600 MiB of refused bodies"
    );
}

/// Row 2: 1,100 half-sent requests against a 1,024-descriptor limit starved every real
/// client. At the cap, a new connection evicts the oldest one still sending its headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_cannot_starve_a_signed_request() {
    // This test opens 1,100 sockets itself.
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current.is_some_and(|c| c < 1400) {
        let raised = Rlimit {
            current: Some(lim.maximum.unwrap_or(4096).min(4096)),
            maximum: lim.maximum,
        };
        setrlimit(Resource::Nofile, raised).expect("raise this test's descriptor limit");
    }
    let server = Server::start(1024, &["--log", "warn"], &[]);
    let mut held = Vec::new();
    for _ in 0..1100 {
        match TcpStream::connect(server.addr()) {
            Ok(mut s) => {
                let _ = s.write_all(b"GET /terra-rescon-be/v2/jobs HTT");
                held.push(s);
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        signed_get(&server.base, "/terra-rescon-be/v2/jobs?rows=1"),
    )
    .await
    .expect("a signed GET is answered while 1,100 connections hang")
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let env: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(env["result"]["code"], 0);
    drop(held);
}

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

/// Row 4: obtain_token in a loop grew the server without bound (876k sessions, 744 MB,
/// never freed). An account holds at most `max_sessions_per_account`, and expired ones go
/// after the grace period.
#[tokio::test]
async fn sessions_are_bounded_and_expire() {
    let clock = terra_mock::ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock)
        .config(MockConfig {
            max_sessions_per_account: 500,
            ..Default::default()
        })
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let mut first = None;
    for _ in 0..3000 {
        let t = api.ok("POST", "/store/obtain_token", None).await;
        first.get_or_insert(t);
    }
    assert_eq!(mock.sessions(mock.app_key()), 500);
    // The oldest was dropped: its callbackParam is unknown now.
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .clone();
    let first: StsToken = serde_json::from_value(first.unwrap()).unwrap();
    let (code, msg) = api
        .err(
            "POST",
            "/store/upload_callback",
            Some(json!({"callbackParam": first.callback_param, "resourceUUID": rid, "files": [{"name": "a.jpg", "etag": "x", "checksum": "x"}]})),
        )
        .await;
    assert_eq!(code, 102001, "{msg}");
    // A day later every session and grant has expired and been dropped.
    mock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(mock.sessions(mock.app_key()), 0);
}

/// Row 5: with 5,200 jobs, `GET /v2/jobs?rows=10` built a view of every job (341 req/s,
/// every other call waiting). A page now builds only its rows, whatever the account holds
/// and however deep the page.
#[tokio::test]
async fn a_page_costs_its_rows_not_the_table() {
    let mock = TerraMock::builder().build().unwrap();
    mock.populate(mock.app_key(), 50_000, 20_000);
    let api = Api::new(&mock);
    let cases = [
        ("/jobs?rows=10", 10, 50_000),
        ("/jobs?rows=10&page=4000", 10, 50_000),
        ("/jobs?rows=10&type=15", 10, 50_000),
        ("/jobs?rows=10&type=14", 0, 0),
        ("/resources?rows=10", 10, 20),
        ("/resources?rows=10&type=map", 10, 20),
        ("/files?rows=25", 25, 20_000),
        ("/files?rows=25&page=500&orderAsc=true", 25, 20_000),
    ];
    for (path, rows, total) in cases {
        let before = terra_mock::views_built_on_this_thread();
        let r = api.call("GET", path, None).await;
        let built = terra_mock::views_built_on_this_thread() - before;
        assert_eq!(r.code(), 0, "{path}: {}", r.body);
        assert_eq!(r.data()["total"], total, "{path}");
        assert_eq!(r.data()["list"].as_array().unwrap().len(), rows, "{path}");
        assert_eq!(
            built, rows as u64,
            "{path} built {built} views for {rows} rows"
        );
    }
    // A resource's files: the page too.
    let rid = mock.resources(mock.app_key())[5].uuid.clone();
    let before = terra_mock::views_built_on_this_thread();
    let r = api
        .call(
            "GET",
            &format!("/files?rows=7&page=3&resourceUuid={rid}"),
            None,
        )
        .await;
    assert_eq!(r.data()["total"], 1000);
    assert_eq!(terra_mock::views_built_on_this_thread() - before, 7);
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
    let files = std::fs::read_dir(mock.storage_dir()).unwrap().count();
    assert_eq!(files, completed.len() * 2);
    for key in &completed {
        s3.delete_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(std::fs::read_dir(mock.storage_dir()).unwrap().count(), 0);
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

/// Row 10: `upload_callback` took the name `../evil.jpg`, and registered the same object
/// three times as three rows.
#[tokio::test]
async fn callback_names_are_checked_and_registering_twice_is_idempotent() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let token: StsToken =
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
    let meta = mock.put_object(&token, "a/DJI_0001.JPG", b"jpeg").unwrap();
    let file = |name: &str| json!({"name": name, "etag": meta.quoted_etag(), "checksum": meta.quoted_etag()});
    let callback = |files: serde_json::Value| json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": files});
    for bad in [
        "../evil.jpg",
        "a/../../evil.jpg",
        "/abs.jpg",
        "a//b.jpg",
        "./a.jpg",
        "nul\u{0}.jpg",
        "a\\b.jpg",
        &"n".repeat(1100),
    ] {
        let (code, msg) = api
            .err(
                "POST",
                "/store/upload_callback",
                Some(callback(json!([file(bad)]))),
            )
            .await;
        assert_eq!(code, 102001, "{bad:?}");
        assert!(msg.contains("files[0].name"), "{msg}");
    }
    let mut uuids = Vec::new();
    for _ in 0..3 {
        let out = api
            .ok(
                "POST",
                "/store/upload_callback",
                Some(callback(json!([file("a/DJI_0001.JPG")]))),
            )
            .await;
        uuids.push(out[0]["uuid"].as_str().unwrap().to_owned());
    }
    assert!(uuids.iter().all(|u| *u == uuids[0]), "one row: {uuids:?}");
    assert_eq!(mock.stats(mock.app_key()).files, 1);
    let detail = api.ok("GET", &format!("/resources/{rid}"), None).await;
    assert_eq!(detail["fileUuids"].as_array().unwrap().len(), 1);
    assert_eq!(detail["summary"]["fileCount"], 1);
    // Twice in one batch is one row too.
    let out = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(callback(json!([
                file("a/DJI_0001.JPG"),
                file("a/DJI_0001.JPG")
            ]))),
        )
        .await;
    assert_eq!(out[0]["uuid"], out[1]["uuid"]);
    assert_eq!(mock.stats(mock.app_key()).files, 1);
}

/// Deleting a resource with its files frees their objects; an upload that was never
/// registered goes when its grant expires (a lifecycle rule on `tmp/`).
#[tokio::test]
async fn objects_are_freed_with_their_files_and_their_grants() {
    let clock = terra_mock::ManualClock::starting_now();
    let mock = TerraMock::builder().manual_clock(clock).build().unwrap();
    let api = Api::new(&mock);
    let rid = api.resource_with_images(12).await;
    assert_eq!(mock.object_count(), 12);
    let token = mock.issue_token(mock.app_key()).unwrap();
    mock.put_object(&token, "never-registered.jpg", b"orphan")
        .unwrap();
    assert_eq!(mock.object_count(), 13);
    api.ok("DELETE", &format!("/resources/{rid}?deleteMode=1"), None)
        .await;
    assert_eq!(mock.object_count(), 1, "the resource's objects are gone");
    mock.advance(Duration::from_secs(3 * 3600));
    assert_eq!(
        mock.object_count(),
        0,
        "the unregistered upload went with its grant"
    );
    assert_eq!(std::fs::read_dir(mock.storage_dir()).unwrap().count(), 0);
}

/// A request body that stalls is cut off; a connection that never sends its headers is
/// closed; the server keeps answering.
#[tokio::test]
async fn stalled_bodies_and_headers_time_out() {
    let cfg = MockConfig {
        header_read_timeout_secs: 0.5,
        body_idle_timeout_secs: 0.5,
        ..Default::default()
    };
    let mock = TerraMock::builder().config(cfg).start().await.unwrap();
    let addr = mock.addr();
    let stalled_head = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /terra-rescon-be/v2/jobs HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        // The server closes the connection: read ends (with nothing, or an error).
        let _ = s.read_to_end(&mut buf);
        buf
    });
    let target = "/terra-rescon-be/v2/jobs";
    let body = br#"{"name":"slow"}"#;
    let signed = sign(
        &SignableRequest::new("POST", target, body),
        &Credentials::new(mock.app_key(), mock.secret()),
        &SigningParams::new(mock.now()),
    );
    let addr = mock.addr();
    let stalled_body = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut head = format!(
            "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (n, v) in signed.headers() {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body[..4]).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let head = tokio::time::timeout(Duration::from_secs(15), stalled_head)
        .await
        .expect("a connection stuck in its headers is closed")
        .unwrap();
    assert!(head.is_empty(), "no answer to half a request");
    let answer = tokio::time::timeout(Duration::from_secs(15), stalled_body)
        .await
        .expect("a stalled body does not hold the request forever")
        .unwrap();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_eq!(
        mock.stats(mock.app_key()).jobs,
        0,
        "nothing was created from half a body"
    );
    let r = Api::new(&mock).call("GET", "/jobs", None).await;
    assert_eq!(r.code(), 0);
}

/// Before authentication an unknown API route is the gateway's 401 (it reveals nothing);
/// after, a 404 naming the route; outside the API, a 404 naming what is served. Error
/// answers keep the keep-alive connection usable.
#[tokio::test]
async fn unknown_routes_and_keep_alive_after_errors() {
    let mock = TerraMock::start().await.unwrap();
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let r = http
            .get(format!("{}/terra-rescon-be/v2/nope", mock.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["message"], "Unauthorized");
    }
    let r = Api::new(&mock).call("GET", "/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("/terra-rescon-be/v2/nothing/here")
    );
    for _ in 0..3 {
        let r = http
            .get(format!("{}/elsewhere", mock.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

/// Create-and-delete churn compacts the tables (a removed row otherwise leaves its slot
/// behind forever); pages, details and filters stay right across a compaction.
#[tokio::test]
async fn churn_compacts_tables_and_pages_stay_right() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let mut resources = Vec::new();
    for _ in 0..3 {
        resources.push(api.resource_with_images(200).await);
    }
    for rid in &resources[..2] {
        api.ok("DELETE", &format!("/resources/{rid}?deleteMode=1"), None)
            .await;
    }
    let kept = &resources[2];
    let detail = api.ok("GET", &format!("/resources/{kept}"), None).await;
    let uuids: Vec<String> = detail["fileUuids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uuids.len(), 200);
    assert_eq!(detail["summary"]["fileCount"], 200);
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = api
            .ok(
                "GET",
                &format!("/files?resourceUuid={kept}&rows=50&page={page}&orderAsc=true"),
                None,
            )
            .await;
        assert_eq!(p["total"], 200);
        paged.extend(
            p["list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["uuid"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(paged, uuids, "creation order, every file once");
    let all = api.ok("GET", "/files?rows=1000", None).await;
    assert_eq!(all["total"], 200);
    api.ok("GET", &format!("/files/{}", uuids[137]), None).await;

    let mut jobs = Vec::new();
    for i in 0..600 {
        jobs.push(api.job(&format!("job {i}")).await);
    }
    for j in &jobs[..500] {
        api.ok("DELETE", &format!("/jobs/{j}"), None).await;
    }
    let page = api.ok("GET", "/jobs?rows=3", None).await;
    assert_eq!(page["total"], 100);
    let names: Vec<&str> = page["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["job 599", "job 598", "job 597"]);
    let page = api.ok("GET", "/jobs?rows=10&page=10&type=0", None).await;
    assert_eq!(
        page["list"].as_array().unwrap().last().unwrap()["name"],
        "job 500"
    );
}
