//! The gateway: every authentication failure answers as Kong's hmac-auth does.

mod common;

use std::time::Duration;

use axum::body::Body;
use common::{Api, V2};
use http::{Request, StatusCode};
use terra_mock::{ManualClock, Provider, TerraMock};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};

fn mock() -> TerraMock {
    TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .add_account("second", "second-sk", Provider::S3)
        .build()
        .unwrap()
}

fn signed(
    m: &TerraMock,
    creds: &Credentials,
    method: &str,
    target: &str,
    body: &[u8],
    params: SigningParams,
) -> http::request::Builder {
    let s = sign(&SignableRequest::new(method, target, body), creds, &params);
    let mut b = Request::builder().method(method).uri(target);
    for (n, v) in s.headers() {
        b = b.header(n, v);
    }
    let _ = m;
    b
}

async fn expect_401(api: &Api<'_>, req: Request<Body>, message: &str) {
    let r = api.raw(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.body, serde_json::json!({ "message": message }));
}

#[tokio::test]
async fn a_signed_request_passes_and_every_failure_is_401_with_the_gateway_message() {
    let m = mock();
    let api = Api::new(&m);
    let creds = Credentials::new(m.app_key(), m.secret());
    let target = format!("{V2}/jobs?page=1&rows=10");
    let now = m.now();

    let ok = api
        .raw(
            signed(&m, &creds, "GET", &target, b"", SigningParams::new(now))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((ok.status, ok.code()), (StatusCode::OK, 0));

    // No Authorization at all.
    expect_401(
        &api,
        Request::get(&target).body(Body::empty()).unwrap(),
        "Unauthorized",
    )
    .await;

    // No date header.
    let s = sign(
        &SignableRequest::new("GET", &target, b""),
        &creds,
        &SigningParams::new(now),
    );
    let req = Request::get(&target)
        .header("authorization", &s.authorization)
        .header("digest", &s.digest)
        .body(Body::empty())
        .unwrap();
    expect_401(&api, req, terra_sign::MSG_BAD_DATE).await;

    // A date outside the 300 s skew, either way.
    for skew in [301i64, -301] {
        let t = if skew > 0 {
            now + Duration::from_secs(skew as u64)
        } else {
            now - Duration::from_secs((-skew) as u64)
        };
        let req = signed(&m, &creds, "GET", &target, b"", SigningParams::new(t))
            .body(Body::empty())
            .unwrap();
        expect_401(&api, req, terra_sign::MSG_BAD_DATE).await;
    }
    let req = signed(
        &m,
        &creds,
        "GET",
        &target,
        b"",
        SigningParams::new(now - Duration::from_secs(299)),
    )
    .body(Body::empty())
    .unwrap();
    assert_eq!(api.raw(req).await.status, StatusCode::OK);

    // Malformed Authorization.
    let req = Request::get(&target)
        .header("date", terra_sign::format_date(now))
        .header("authorization", "Bearer abc")
        .body(Body::empty())
        .unwrap();
    expect_401(&api, req, terra_sign::MSG_CANNOT_VERIFY).await;

    // Unknown app key.
    let req = signed(
        &m,
        &Credentials::new("nobody", "x"),
        "GET",
        &target,
        b"",
        SigningParams::new(now),
    )
    .body(Body::empty())
    .unwrap();
    expect_401(&api, req, terra_sign::MSG_CANNOT_VERIFY).await;

    // Wrong secret.
    let req = signed(
        &m,
        &Credentials::new(m.app_key(), "wrong"),
        "GET",
        &target,
        b"",
        SigningParams::new(now),
    )
    .body(Body::empty())
    .unwrap();
    expect_401(&api, req, terra_sign::MSG_MISMATCH).await;

    // Signed for one target, sent to another (the classic missing-prefix / missing-query bug).
    for sent in [format!("{V2}/jobs?page=2&rows=10"), format!("{V2}/jobs")] {
        let s = sign(
            &SignableRequest::new("GET", &target, b""),
            &creds,
            &SigningParams::new(now),
        );
        let mut b = Request::get(&sent);
        for (n, v) in s.headers() {
            b = b.header(n, v);
        }
        expect_401(
            &api,
            b.body(Body::empty()).unwrap(),
            terra_sign::MSG_MISMATCH,
        )
        .await;
    }
    let s = sign(
        &SignableRequest::new("GET", "/v2/jobs?page=1&rows=10", b""),
        &creds,
        &SigningParams::new(now),
    );
    let mut b = Request::get(&target);
    for (n, v) in s.headers() {
        b = b.header(n, v);
    }
    expect_401(
        &api,
        b.body(Body::empty()).unwrap(),
        terra_sign::MSG_MISMATCH,
    )
    .await;

    // Nothing was processed for any rejected request.
    assert!(
        m.requests()
            .iter()
            .filter(|r| r.status == 401)
            .all(|r| r.app_key.is_none())
    );
}

#[tokio::test]
async fn x_date_mode_is_accepted() {
    let m = mock();
    let api = Api::new(&m);
    let creds = Credentials::new(m.app_key(), m.secret());
    let req = signed(
        &m,
        &creds,
        "GET",
        &format!("{V2}/resources"),
        b"",
        SigningParams::new(m.now()).with_x_date(),
    )
    .body(Body::empty())
    .unwrap();
    assert!(req.headers().contains_key("x-date") && !req.headers().contains_key("date"));
    let r = api.raw(req).await;
    assert_eq!((r.status, r.code()), (StatusCode::OK, 0));
}

#[tokio::test]
async fn digest_is_only_compared_with_the_body_in_strict_mode() {
    for strict in [false, true] {
        let m = TerraMock::builder()
            .manual_clock(ManualClock::starting_now())
            .strict_digest(strict)
            .build()
            .unwrap();
        let api = Api::new(&m);
        let creds = Credentials::new(m.app_key(), m.secret());
        let target = format!("{V2}/jobs");
        let signed_body = br#"{"name":"a"}"#;
        let req = signed(
            &m,
            &creds,
            "POST",
            &target,
            signed_body,
            SigningParams::new(m.now()),
        )
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"b"}"#))
        .unwrap();
        let r = api.raw(req).await;
        if strict {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert_eq!(r.body["message"], terra_sign::MSG_MISMATCH);
            assert_eq!(m.stats(m.app_key()).jobs, 0);
        } else {
            assert_eq!(r.code(), 0, "{}", r.body);
            assert_eq!(r.data()["uuid"].as_str().map(str::len), Some(36));
        }
    }
}

#[tokio::test]
async fn skew_is_configurable() {
    let m = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .clock_skew(Duration::from_secs(10))
        .build()
        .unwrap();
    let api = Api::new(&m);
    let creds = Credentials::new(m.app_key(), m.secret());
    let target = format!("{V2}/jobs");
    let late = signed(
        &m,
        &creds,
        "GET",
        &target,
        b"",
        SigningParams::new(m.now() - Duration::from_secs(11)),
    )
    .body(Body::empty())
    .unwrap();
    expect_401(&api, late, terra_sign::MSG_BAD_DATE).await;
    let fine = signed(
        &m,
        &creds,
        "GET",
        &target,
        b"",
        SigningParams::new(m.now() - Duration::from_secs(10)),
    )
    .body(Body::empty())
    .unwrap();
    assert_eq!(api.raw(fine).await.status, StatusCode::OK);
}

#[tokio::test]
async fn each_configured_account_authenticates_with_its_own_secret() {
    let m = mock();
    let second = Api::as_account(&m, "second", "second-sk");
    assert_eq!(second.call("GET", "/jobs", None).await.code(), 0);
    let crossed = Api::as_account(&m, "second", m.secret());
    let r = crossed.call("GET", "/jobs", None).await;
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some(terra_sign::MSG_MISMATCH))
    );
}
