//! No web page can reach the control plane (issue 20): what a page on another origin can
//! send without asking (simple requests: text/plain, forms, multipart, `Origin: null`), and
//! what a DNS-rebinding page sends (`Host: evil.example`), is refused and changes nothing;
//! the storage and TerraAPI routes answer any host name.

use super::*;

/// A raw request through the router, as a browser would send it.
async fn send(
    mock: &TerraMock,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = mock
        .router()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// What a test can see change: resources, faults, the clock.
fn state(mock: &TerraMock) -> (usize, usize, SystemTime) {
    (
        mock.resources(mock.app_key()).len(),
        mock.faults().len(),
        mock.now(),
    )
}

#[tokio::test]
async fn simple_cross_origin_requests_change_nothing() {
    let mock = manual_mock();
    Api::new(&mock).resource_with_images(2).await;
    let before = state(&mock);
    let host = ("host", "127.0.0.1:8080");
    let doc = mock.export_state().unwrap().to_string();
    let fault = r#"{"fault":{"type":"status","status":503}}"#;
    for (method, path, body) in [
        ("POST", "/reset", "{}"),
        ("POST", "/faults", fault),
        ("POST", "/clock/advance", r#"{"seconds":3600}"#),
        ("PUT", "/state", doc.as_str()),
        ("POST", "/tokens/expire", "{}"),
    ] {
        for extra in [
            vec![
                ("origin", "http://evil.example"),
                ("content-type", "text/plain"),
            ],
            vec![
                ("origin", "http://evil.example"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            vec![
                ("origin", "http://evil.example"),
                ("content-type", "multipart/form-data; boundary=x"),
            ],
            vec![("origin", "null"), ("content-type", "text/plain")],
            vec![
                ("origin", "http://evil.example"),
                ("content-type", "application/json"),
            ],
            vec![
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/json"),
            ],
            // From the emulator's own origin, but in a type a form can send.
            vec![
                ("origin", "http://127.0.0.1:8080"),
                ("content-type", "text/plain"),
            ],
        ] {
            let mut headers = vec![host];
            headers.extend(extra.iter().copied());
            let (status, h, text) =
                send(&mock, method, &format!("{V1}{path}"), &headers, body).await;
            assert!(
                matches!(status, 403 | 415),
                "{method} {path} {extra:?}: {status} {text}"
            );
            assert!(h.get("access-control-allow-origin").is_none());
            assert_eq!(
                state(&mock),
                before,
                "{method} {path} {extra:?} changed the state"
            );
        }
    }
    // A preflight is never granted.
    let (status, h, _) = send(
        &mock,
        "OPTIONS",
        &format!("{V1}/reset"),
        &[
            host,
            ("origin", "http://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        h.keys().all(|k| !k.as_str().starts_with("access-control-")),
        "{h:?}"
    );
    // The emulator's own page, with JSON, works.
    let (status, _, text) = send(
        &mock,
        "POST",
        &format!("{V1}/clock/advance"),
        &[
            host,
            ("origin", "http://127.0.0.1:8080"),
            ("content-type", "application/json"),
        ],
        r#"{"seconds":60}"#,
    )
    .await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn a_foreign_host_name_reads_nothing_but_storage_answers_it() {
    let mock = manual_mock();
    Api::new(&mock).resource_with_images(2).await;
    for path in [
        format!("{V1}/state"),
        format!("{V1}/accounts"),
        format!("{V1}/requests"),
        format!("{V1}/openapi.json"),
        "/_terra-mock/".to_owned(),
        "/_terra-mock".to_owned(),
    ] {
        let (status, _, text) =
            send(&mock, "GET", &path, &[("host", "evil.example:8080")], "").await;
        assert_eq!(status, 403, "{path}: {text}");
        assert!(text.contains("--allowed-host"), "names the flag: {text}");
        assert!(!text.contains("secret"), "{path}: {text}");
    }
    // Loopback names and addresses are served.
    for host in [
        "localhost:8080",
        "127.0.0.1:8080",
        "[::1]:8080",
        "mock.localhost",
    ] {
        let (status, _, _) =
            send(&mock, "GET", &format!("{V1}/health"), &[("host", host)], "").await;
        assert_eq!(status, 200, "{host}");
    }
    // A name given with --allowed-host is served.
    let named = TerraMock::builder()
        .config(terra_mock::MockConfig {
            allowed_hosts: vec!["mock.test".into()],
            ..Default::default()
        })
        .build()
        .unwrap();
    let (status, _, _) = send(
        &named,
        "GET",
        &format!("{V1}/health"),
        &[("host", "mock.test:9")],
        "",
    )
    .await;
    assert_eq!(status, 200);
    // Storage and the API answer any host name (virtual-host names are any name).
    let token = mock.issue_token(mock.app_key()).unwrap();
    let mut parts = Request::builder()
        .method("PUT")
        .uri(format!(
            "/{}/{}",
            token.cloud_bucket_name,
            token.object_key("a.jpg")
        ))
        .body(())
        .unwrap()
        .into_parts()
        .0;
    common::sigv4_for_host(&mut parts, &token, "evil.example");
    parts.headers.insert("content-length", "1".parse().unwrap());
    let resp = mock
        .router()
        .oneshot(Request::from_parts(parts, Body::from("x")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "storage answers");
    let r = Api::new(&mock)
        .raw(Api::new(&mock).request(
            "GET",
            &format!("{}/resources", common::V2),
            None,
            &[("host", "evil.example")],
        ))
        .await;
    assert_eq!(r.code(), 0, "the API answers any host name: {}", r.body);
}

#[tokio::test]
async fn a_wildcard_host_needs_an_admin_token() {
    let cfg = terra_mock::MockConfig {
        allowed_hosts: vec!["*".into()],
        ..Default::default()
    };
    let e = TerraMock::builder()
        .config(cfg.clone())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("--admin-token"), "{e}");
    let shared = TerraMock::builder()
        .config(cfg)
        .admin_token("t0ken")
        .build()
        .unwrap();
    let (status, _, _) = send(
        &shared,
        "GET",
        &format!("{V1}/health"),
        &[
            ("host", "mock.team.example"),
            ("authorization", "Bearer t0ken"),
        ],
        "",
    )
    .await;
    assert_eq!(status, 200);
}
