//! Preflights and the CORS headers of actual answers, per protocol and per rule outcome,
//! snapshotted as a browser receives them.

use super::*;
use terra_mock::{CorsConfig, CorsRule};

fn options(
    path: &str,
    host: Option<&str>,
    origin: Option<&str>,
    method: Option<&str>,
    headers: Option<&str>,
) -> Request<Body> {
    let mut r = Request::builder().method("OPTIONS").uri(path);
    if let Some(h) = host {
        r = r.header("host", h);
    }
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    if let Some(m) = method {
        r = r.header("access-control-request-method", m);
    }
    if let Some(h) = headers {
        r = r.header("access-control-request-headers", h);
    }
    r.body(Body::empty()).unwrap()
}

/// The rules of a bucket a test wants to see: one origin may PUT with OSS or S3 headers,
/// any `*.app.test` origin may GET.
fn narrow() -> CorsConfig {
    CorsConfig {
        rules: vec![
            CorsRule {
                allowed_origins: vec!["http://upload.test".into()],
                allowed_methods: vec!["PUT".into(), "POST".into()],
                allowed_headers: vec![
                    "x-oss-*".into(),
                    "x-amz-*".into(),
                    "authorization".into(),
                    "content-type".into(),
                ],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(60),
                ..Default::default()
            },
            CorsRule {
                allowed_origins: vec!["https://*.app.test".into()],
                allowed_methods: vec!["GET".into()],
                ..Default::default()
            },
        ],
        response_vary: true,
    }
}

#[tokio::test]
async fn preflights_are_answered_as_each_service_answers_them() {
    let (mock, s3, oss) = two_buckets().await;
    let s3_key = format!("/terra-mock-s3/{}", s3.object_key("DJI_0001.JPG"));
    let oss_key = format!("/terra-mock-oss/{}", oss.object_key("DJI_0001.JPG"));
    let oss_vhost = (
        "/".to_owned() + &oss.object_key("DJI_0001.JPG"),
        "terra-mock-oss.oss-cn-hangzhou.aliyuncs.com",
    );
    let ali_headers = "authorization,content-type,x-oss-date,x-oss-security-token,x-oss-user-agent";

    // The defaults: any origin, the requested headers echoed.
    let mut cases: Vec<(&str, Request<Body>)> = vec![
        (
            "s3_default_put",
            options(
                &s3_key,
                None,
                Some("http://localhost:5173"),
                Some("PUT"),
                Some(
                    "authorization,x-amz-date,x-amz-security-token,content-type,x-amz-content-sha256",
                ),
            ),
        ),
        (
            "oss_default_put_vhost",
            options(
                &oss_vhost.0,
                Some(oss_vhost.1),
                Some("http://localhost:5173"),
                Some("PUT"),
                Some(ali_headers),
            ),
        ),
        (
            "s3_no_origin",
            options(&s3_key, None, None, Some("PUT"), None),
        ),
        (
            "oss_bad_method",
            options(&oss_key, None, Some("http://a.test"), Some("PATCH"), None),
        ),
        (
            "s3_unknown_bucket",
            options(
                "/other-bucket/x",
                None,
                Some("http://a.test"),
                Some("GET"),
                None,
            ),
        ),
    ];
    for (name, req) in cases.drain(..) {
        let (status, headers, body) = answer(&mock, req).await;
        insta::assert_snapshot!(format!("preflight_{name}"), shown(status, &headers, &body));
    }

    // Narrow rules: a match on the exact origin, a wildcard origin, header wildcards, no
    // match, and CORS off.
    mock.set_storage_cors(Provider::S3, Some(narrow())).unwrap();
    mock.set_storage_cors(Provider::Oss, Some(narrow()))
        .unwrap();
    let mut cases: Vec<(&str, Request<Body>)> = vec![
        (
            "s3_exact_origin_header_wildcards",
            options(
                &s3_key,
                None,
                Some("http://upload.test"),
                Some("PUT"),
                Some("X-Amz-Date, x-amz-security-token, Authorization"),
            ),
        ),
        (
            "oss_exact_origin_header_wildcards",
            options(
                &oss_key,
                None,
                Some("http://upload.test"),
                Some("PUT"),
                Some(ali_headers),
            ),
        ),
        (
            "s3_wildcard_origin",
            options(
                &s3_key,
                None,
                Some("https://maps.app.test"),
                Some("GET"),
                None,
            ),
        ),
        (
            "s3_no_rule_matches",
            options(
                &s3_key,
                None,
                Some("http://evil.test"),
                Some("PUT"),
                Some("authorization"),
            ),
        ),
        (
            "oss_no_rule_matches",
            options(
                &oss_key,
                None,
                Some("http://upload.test"),
                Some("DELETE"),
                None,
            ),
        ),
        (
            "oss_header_not_allowed",
            options(
                &oss_key,
                None,
                Some("http://upload.test"),
                Some("PUT"),
                Some("x-custom"),
            ),
        ),
    ];
    for (name, req) in cases.drain(..) {
        let (status, headers, body) = answer(&mock, req).await;
        insta::assert_snapshot!(format!("preflight_{name}"), shown(status, &headers, &body));
    }
    mock.set_storage_cors(Provider::S3, Some(CorsConfig::off()))
        .unwrap();
    mock.set_storage_cors(Provider::Oss, Some(CorsConfig::off()))
        .unwrap();
    for (name, req) in [
        (
            "s3_cors_off",
            options(&s3_key, None, Some("http://upload.test"), Some("PUT"), None),
        ),
        (
            "oss_cors_off",
            options(
                &oss_key,
                None,
                Some("http://upload.test"),
                Some("PUT"),
                None,
            ),
        ),
    ] {
        let (status, headers, body) = answer(&mock, req).await;
        insta::assert_snapshot!(format!("preflight_{name}"), shown(status, &headers, &body));
    }
    assert_eq!(mock.object_count(), 0, "a preflight stores nothing");
}

/// Actual requests with an `Origin` carry the grant on success and on error alike, so a
/// page can read the ETag of its upload and the reason of a refusal.
#[tokio::test]
async fn actual_answers_carry_the_grant_errors_included() {
    let (mock, s3, oss) = two_buckets().await;
    // A signed PUT that succeeds.
    let (mut parts, body) =
        Request::put(format!("/terra-mock-s3/{}", s3.object_key("DJI_0001.JPG")))
            .header("origin", "http://localhost:5173")
            .header("content-length", "4")
            .body(Body::from(&b"jpeg"[..]))
            .unwrap()
            .into_parts();
    common::sigv4(&mut parts, &s3);
    let req = Request::from_parts(parts, body);
    let (status, headers, _) = answer(&mock, req).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(
        headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("ETag")
    );
    assert!(headers.contains_key("etag"));

    // Refusals: an unsigned GET of each bucket.
    for (name, path) in [
        (
            "s3_refusal_with_origin",
            format!("/terra-mock-s3/{}", s3.object_key("x.jpg")),
        ),
        (
            "oss_refusal_with_origin",
            format!("/terra-mock-oss/{}", oss.object_key("x.jpg")),
        ),
    ] {
        let req = Request::get(path)
            .header("origin", "http://localhost:5173")
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = answer(&mock, req).await;
        assert_eq!(status, 403, "{body}");
        insta::assert_snapshot!(name, shown(status, &headers, &body));
    }

    // An origin no rule allows gets the answer without a grant (the browser hides it).
    let mut only = CorsConfig::default_for_oss();
    only.rules[0].allowed_origins = vec!["http://upload.test".into()];
    only.response_vary = true;
    mock.set_storage_cors(Provider::Oss, Some(only)).unwrap();
    let req = Request::get(format!("/terra-mock-oss/{}", oss.object_key("x.jpg")))
        .header("origin", "http://evil.test")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = answer(&mock, req).await;
    assert!(!headers.contains_key("access-control-allow-origin"));
    assert_eq!(
        headers["vary"], "Origin",
        "OSS's ResponseVary on every answer"
    );
}

/// The control API sets and resets a bucket's rules; a bad rule is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_change_at_run_time_over_http() {
    let mock = TerraMock::start().await.unwrap();
    let url = format!("{}/storage/oss/cors", mock.control_url().unwrap());
    let http = reqwest::Client::new();
    let got: CorsConfig = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(got, CorsConfig::default_for_oss());
    let r = http.put(&url).json(&narrow()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(mock.storage_cors(Provider::Oss), narrow());
    let bad =
        serde_json::json!({"rules": [{"allowed_origins": ["*"], "allowed_methods": ["PATCH"]}]});
    let r = http.put(&url).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("PATCH"));
    let r = http
        .delete(&url)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        mock.storage_cors(Provider::Oss),
        CorsConfig::default_for_oss()
    );
    let r = http
        .put(format!("{}/storage/gcs/cors", mock.control_url().unwrap()))
        .json(&narrow())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "only s3 and oss");
}

/// `--storage-cors FILE` (either service's XML) and `--storage-cors off` on the command
/// line, read as the standalone binary reads them.
#[test]
fn the_command_line_takes_an_xml_file_or_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cors.xml");
    std::fs::write(
        &file,
        "<CORSConfiguration><CORSRule><AllowedOrigin>http://only.test</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    )
    .unwrap();
    for (arg, origin, ok) in [
        (file.to_str().unwrap(), "http://only.test", true),
        (file.to_str().unwrap(), "http://other.test", false),
        ("off", "http://only.test", false),
    ] {
        let server = common::Server::start(4096, &["--storage-cors", arg], &[]);
        let (status, _) = common::raw_http(
            &server.addr(),
            &format!(
                "OPTIONS /terra-mock-s3/x HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(status.contains(" 200 "), ok, "{arg} {origin}: {status}");
    }
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_terra-mock"))
        .args(["serve", "--addr", "127.0.0.1:0", "--storage-cors"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AllowedMethod"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The TerraAPI routes send no CORS headers unless `--api-cors-origin` names the page's
/// origin; then a preflight is answered before the gateway and every answer is readable.
#[tokio::test]
async fn the_api_grants_only_the_origins_it_is_told() {
    let plain = TerraMock::builder().build().unwrap();
    let pre = || {
        options(
            "/terra-rescon-be/v2/jobs",
            None,
            Some("http://app.test"),
            Some("GET"),
            Some("authorization,x-date,digest"),
        )
    };
    let (status, headers, _) = answer(&plain, pre()).await;
    assert!(
        !headers.contains_key("access-control-allow-origin"),
        "{status}"
    );

    let cfg = terra_mock::MockConfig {
        api_cors_origins: vec!["http://app.test".into()],
        ..Default::default()
    };
    let open = TerraMock::builder().config(cfg).build().unwrap();
    let (status, headers, _) = answer(&open, pre()).await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], "http://app.test");
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization,x-date,digest"
    );
    let api = common::Api::new(&open);
    let signed = api.request(
        "GET",
        "/terra-rescon-be/v2/jobs",
        None,
        &[("origin", "http://app.test")],
    );
    let (status, headers, _) = answer(&open, signed).await;
    assert_eq!(
        (
            status,
            headers["access-control-allow-origin"].to_str().unwrap()
        ),
        (200, "http://app.test")
    );
    let unsigned = Request::get("/terra-rescon-be/v2/jobs")
        .header("origin", "http://app.test")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = answer(&open, unsigned).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["access-control-allow-origin"], "http://app.test",
        "a refusal is readable too"
    );
    let other = Request::get("/terra-rescon-be/v2/jobs")
        .header("origin", "http://evil.test")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = answer(&open, other).await;
    assert!(!headers.contains_key("access-control-allow-origin"));
}
