//! The gateway's refusals and lenient acceptances, and the API's business refusals.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use http::Request;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use terra_mock::{Fault, FaultRule, MockConfig, ReasonCode as C, TerraMock};

use super::common::{Api, V2};
use super::{refused, warned};

/// A request signed by hand: `signed` header names over `date` (sent as `date_header`),
/// the request target and `digest`, as DJI's quick-start builds the string.
#[allow(clippy::too_many_arguments)]
fn by_hand(
    mock: &TerraMock,
    secret: &str,
    method: &str,
    target: &str,
    body: &[u8],
    digest: Option<&str>,
    date: SystemTime,
    signed: &str,
    extra: &[(&str, &str)],
) -> Request<Body> {
    let date = terra_sign::format_date(date);
    let mut lines = Vec::new();
    for name in signed.split(' ') {
        lines.push(match name {
            "@request-target" => format!("@request-target: {} {target}", method.to_lowercase()),
            "date" | "x-date" => format!("{name}: {date}"),
            "digest" => format!("digest: {}", digest.unwrap_or("")),
            other => format!("{other}:"),
        });
    }
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(lines.join("\n").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let mut req = Request::builder().method(method).uri(target);
    let date_header = if signed.contains("x-date") {
        "x-date"
    } else {
        "date"
    };
    req = req.header(date_header, &date);
    if let Some(d) = digest {
        req = req.header("digest", d);
    }
    req = req.header(
        "authorization",
        format!(
            "hmac username=\"{}\", algorithm=\"hmac-sha256\", headers=\"{signed}\", signature=\"{signature}\"",
            mock.app_key()
        ),
    );
    for (n, v) in extra {
        req = req.header(*n, *v);
    }
    let _ = mock;
    req.body(Body::from(body.to_vec())).unwrap()
}

fn digest(body: &[u8]) -> String {
    terra_sign::body_digest(body)
}

#[tokio::test]
async fn each_gateway_refusal_is_named() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let now = mock.now();
    let jobs = format!("{V2}/jobs");
    let empty = digest(b"");
    let cases: Vec<(C, Request<Body>)> = vec![
        (C::AuthorizationMissing, Request::get(&jobs).header("date", terra_sign::format_date(now)).body(Body::empty()).unwrap()),
        (
            C::AuthorizationMalformed,
            Request::get(&jobs)
                .header("date", terra_sign::format_date(now))
                .header("authorization", "hmac username=ak")
                .body(Body::empty())
                .unwrap(),
        ),
        (C::DateMissing, Request::get(&jobs).header("authorization", "hmac username=\"a\"").body(Body::empty()).unwrap()),
        (
            C::DateInvalid,
            Request::get(&jobs)
                .header("date", "yesterday")
                .header("authorization", "hmac username=\"a\"")
                .body(Body::empty())
                .unwrap(),
        ),
        (
            C::DateOutOfWindow,
            by_hand(&mock, mock.secret(), "GET", &jobs, b"", Some(&empty), now - Duration::from_secs(3600), "date @request-target digest", &[]),
        ),
        (
            C::AlgorithmUnsupported,
            Request::get(&jobs)
                .header("date", terra_sign::format_date(now))
                .header("authorization", "hmac username=\"a\", algorithm=\"hmac-md5\", headers=\"date\", signature=\"c2ln\"")
                .body(Body::empty())
                .unwrap(),
        ),
        (
            C::AppKeyUnknown,
            Api::as_account(&mock, "who-is-this", "sk").request("GET", &jobs, None, &[]),
        ),
        (
            C::SignatureMismatch,
            by_hand(&mock, "not-the-secret", "GET", &jobs, b"", Some(&empty), now, "date @request-target digest", &[]),
        ),
    ];
    for (code, req) in cases {
        let r = api.raw(req).await;
        assert_eq!(r.status, 401, "{code:?}: {}", r.body);
        let why = refused(&mock, code);
        // The wire answer stays Kong's.
        assert!(
            r.body["message"].is_string() && r.body.as_object().unwrap().len() == 1,
            "{}",
            r.body
        );
        if code == C::SignatureMismatch {
            let signed = why.signed.expect("the signing string");
            assert_eq!(
                signed,
                format!(
                    "date: {}\n@request-target: get {jobs}\ndigest: {empty}",
                    terra_sign::format_date(now)
                )
            );
            assert!(!signed.contains(mock.secret()));
        }
    }
}

#[tokio::test]
async fn a_strict_gateway_names_what_it_requires() {
    let mock = TerraMock::builder()
        .config(MockConfig {
            strict_signatures: true,
            ..Default::default()
        })
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let now = mock.now();
    let target = format!("{V2}/resources");
    let r = api
        .raw(by_hand(
            &mock,
            mock.secret(),
            "GET",
            &target,
            b"",
            None,
            now,
            "date",
            &[],
        ))
        .await;
    assert_eq!(r.status, 401);
    let why = refused(&mock, C::SignedHeaderMissing);
    assert!(why.message.contains("@request-target"), "{}", why.message);
    let body = br#"{"name":"a"}"#;
    let r = api
        .raw(by_hand(
            &mock,
            mock.secret(),
            "POST",
            &target,
            body,
            Some(&digest(b"{}")),
            now,
            "date @request-target digest",
            &[],
        ))
        .await;
    assert_eq!(r.status, 401);
    let why = refused(&mock, C::DigestMismatch);
    assert!(why.message.contains(&digest(body)), "{}", why.message);
}

#[tokio::test]
async fn the_apis_own_refusals_say_what_was_expected() {
    let mock = TerraMock::builder()
        .config(MockConfig {
            api_body_limit: 256,
            ..Default::default()
        })
        .build()
        .unwrap();
    let api = Api::new(&mock);
    api.call("POST", "/resources", Some(json!({"type": "map"})))
        .await;
    assert!(refused(&mock, C::InvalidParameter).message.contains("name"));
    api.call("GET", "/jobs/0f8fad5b-d9cb-469f-a165-70867728950e", None)
        .await;
    refused(&mock, C::NotFound);
    let job = api.job("idle").await;
    api.call("POST", &format!("/jobs/{job}/stop"), None).await;
    assert!(
        refused(&mock, C::InvalidOperation)
            .message
            .contains("not been started")
    );
    let r = api
        .call(
            "POST",
            "/resources",
            Some(json!({"name": "x".repeat(1000), "type": "map"})),
        )
        .await;
    assert_eq!(r.status, 413);
    refused(&mock, C::BodyTooLarge);
    // A route that does not exist: the nearest one of the reference is named.
    let r = api.call("GET", "/job", None).await;
    assert_eq!(r.status, 404);
    let why = refused(&mock, C::RouteUnknown);
    assert!(
        why.message
            .contains("the nearest is GET /terra-rescon-be/v2/jobs"),
        "{}",
        why.message
    );
    api.call("PATCH", &format!("/jobs/{job}"), None).await;
    let why = refused(&mock, C::RouteUnknown);
    assert!(
        why.message
            .contains("GET or PUT or DELETE /terra-rescon-be/v2/jobs/{uuid}"),
        "{}",
        why.message
    );
    // A fault the test injected answers in the emulator's place, and says so.
    mock.inject(
        FaultRule::on("GET", "/terra-rescon-be/v2/jobs")
            .times(1)
            .fault(Fault::Status {
                status: 503,
                retry_after: None,
            }),
    );
    assert_eq!(api.call("GET", "/jobs", None).await.status, 503);
    assert!(refused(&mock, C::FaultInjected).message.contains("503"));
}

/// A signed body that breaks off mid-read (the client's connection dropped): 400, the log
/// names `body_unreadable` with the reading error (not a signature problem), and nothing
/// is created.
#[tokio::test]
async fn a_body_that_breaks_off_is_named_unreadable_and_changes_nothing() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let body = json!({"name": "flight", "type": "map"});
    let whole = serde_json::to_vec(&body).unwrap();
    let req = api.request("POST", &format!("{V2}/resources"), Some(&body), &[]);
    let broken = futures::stream::iter(vec![
        Ok(bytes::Bytes::copy_from_slice(&whole[..5])),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the client went away",
        )),
    ]);
    let r = api.raw(req.map(|_| Body::from_stream(broken))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let why = refused(&mock, C::BodyUnreadable);
    assert!(
        why.message.contains("could not be read") && why.message.contains("went away"),
        "{}",
        why.message
    );
    let page = api.call("GET", "/resources", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["data"]["total"], 0, "{}", page.body);
}

/// A business error of another kind: the quota of jobs used up (API code 102004).
#[tokio::test]
async fn other_business_errors_keep_their_api_code() {
    let mock = TerraMock::builder().job_quota(0).build().unwrap();
    let api = Api::new(&mock);
    let resource = api.resource_with_images(12).await;
    let job = api.job("over quota").await;
    let r = api.start(&job, &resource, 14, r#"{"parameter":{}}"#).await;
    assert_ne!(r.code(), 0, "{}", r.body);
    let why = refused(&mock, C::ApiError);
    assert!(
        why.message.contains(&r.code().to_string()) && why.message.contains("quota"),
        "{}",
        why.message
    );
}

#[tokio::test]
async fn kongs_lenient_acceptances_are_flagged_with_what_strict_would_answer() {
    let mock = TerraMock::builder().build().unwrap();
    let api = Api::new(&mock);
    let now = mock.now();
    let jobs = format!("{V2}/jobs?page=1&rows=10");
    let resources = format!("{V2}/resources");
    let body: &[u8] = br#"{"name":"survey","type":"map"}"#;
    let full = "date @request-target digest";
    let json = [("content-type", "application/json;charset=UTF-8")];
    // A call signed now over `signed`, a GET without a body, a POST with one.
    let send =
        |target: &str, body: &[u8], digest: Option<&str>, signed: &str, extra: &[(&str, &str)]| {
            let method = if body.is_empty() { "GET" } else { "POST" };
            by_hand(
                &mock,
                mock.secret(),
                method,
                target,
                body,
                digest,
                now,
                signed,
                extra,
            )
        };

    // A signature over the date alone.
    assert_eq!(
        api.raw(send(&jobs, b"", None, "date", &[])).await.status,
        200
    );
    let w = warned(&mock, C::SignatureCoverage);
    assert!(
        w.message.contains("--strict-signatures") && w.message.contains("@request-target digest"),
        "{}",
        w.message
    );

    // A stale signed Date made acceptable by a fresh unsigned X-Date.
    let an_hour_ago = now - Duration::from_secs(3600);
    let mut req = by_hand(
        &mock,
        mock.secret(),
        "GET",
        &jobs,
        b"",
        Some(&digest(b"")),
        an_hour_ago,
        full,
        &[],
    );
    req.headers_mut()
        .insert("x-date", terra_sign::format_date(now).parse().unwrap());
    assert_eq!(api.raw(req).await.status, 200);
    warned(&mock, C::UnsignedDate);

    // A Digest computed over the query as JSON, as some Vue and Java clients do for GETs.
    let over_query = digest(br#"{"page":1,"rows":10}"#);
    assert_eq!(
        api.raw(send(&jobs, b"", Some(&over_query), full, &[]))
            .await
            .status,
        200
    );
    let w = warned(&mock, C::DigestOverQuery);
    assert!(
        w.message.contains(terra_sign::EMPTY_BODY_DIGEST),
        "{}",
        w.message
    );

    // A Digest that does not match the body (the body changed after signing).
    let r = api
        .raw(send(&resources, body, Some(&digest(b"{}")), full, &json))
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let w = warned(&mock, C::DigestNotChecked);
    assert!(
        w.message.contains("--strict-digest") && w.message.contains(&digest(body)),
        "{}",
        w.message
    );

    // The body's SHA-256 in hex.
    let hex = format!("SHA-256={}", hex::encode(Sha256::digest(body)));
    api.raw(send(&resources, body, Some(&hex), full, &json))
        .await;
    warned(&mock, C::DigestHex);

    // A body without a Digest (and a signature without one).
    api.raw(send(&resources, body, None, "date @request-target", &json))
        .await;
    warned(&mock, C::DigestMissing);

    // JSON without its charset.
    let bare = [("content-type", "application/json")];
    api.raw(send(&resources, body, Some(&digest(body)), full, &bare))
        .await;
    warned(&mock, C::JsonWithoutCharset);

    // The reference client's way: no warning at all.
    api.call(
        "POST",
        "/resources",
        Some(json!({"name": "clean", "type": "map"})),
    )
    .await;
    let r = super::last(&mock);
    assert!(r.refusal.is_none() && r.warnings.is_empty(), "{r:?}");
}

/// DJI's quick-start, as a shell user runs it (curl with the headers it computes), with a
/// secret that is not the account's: the reason names the signing string curl's request
/// gives, so the user can diff it against theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_starts_curl_with_a_wrong_secret() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("TERRA_REQUIRE_SERVICES").is_none(),
            "curl is missing"
        );
        eprintln!("skipped: no curl");
        return;
    }
    let mock = TerraMock::builder().start().await.unwrap();
    let target = "/terra-rescon-be/v2/store/obtain_token";
    let date = terra_sign::format_date(SystemTime::now());
    let digest = digest(b"");
    let string = format!("date: {date}\n@request-target: post {target}\ndigest: {digest}");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"a-secret-from-another-account").unwrap();
    mac.update(string.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let out = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", "-w", "\n%{http_code}"])
        .arg(format!("{}{target}", mock.base_url()))
        .args(["-H", &format!("Date: {date}")])
        .args(["-H", &format!("Digest: {digest}")])
        .args(["-H", "Content-Type: application/json;charset=UTF-8"])
        .args(["-H", &format!(
            "Authorization: hmac username=\"{}\", algorithm=\"hmac-sha256\", headers=\"date @request-target digest\", signature=\"{signature}\"",
            mock.app_key()
        )])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.ends_with("401"), "{said}");
    assert!(
        said.contains(r#"{"message":"HMAC signature does not match"}"#),
        "{said}"
    );
    let why = refused(&mock, C::SignatureMismatch);
    assert_eq!(
        why.signed.as_deref(),
        Some(string.as_str()),
        "the same string curl's signer signed"
    );
    let r = super::last(&mock);
    assert!(r.header("user-agent").unwrap().starts_with("curl/"));
    let report = mock.report();
    assert!(
        report.refusals[0].clients[0].client.starts_with("curl/"),
        "{report:?}"
    );
}
