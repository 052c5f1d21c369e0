//! The controls' refusals: answered in the control API's own JSON, and counted in the
//! report (the request log keeps API and storage requests only).

use axum::body::Body;
use http::Request;
use terra_mock::{ReasonCode as C, TerraMock};
use tower::ServiceExt as _;

async fn call(mock: &TerraMock, req: Request<Body>) -> u16 {
    mock.router().oneshot(req).await.unwrap().status().as_u16()
}

fn report_has(mock: &TerraMock, code: C) -> terra_mock::ReportEntry {
    let r = mock.report();
    r.refusals
        .into_iter()
        .find(|e| e.code == code)
        .unwrap_or_else(|| panic!("no {code:?} in the report"))
}

#[tokio::test]
async fn each_control_refusal_is_named_in_the_report() {
    let mock = TerraMock::builder()
        .admin_token("let-me-in")
        .build()
        .unwrap();
    let v1 = "/_terra-mock/v1";
    assert_eq!(
        call(
            &mock,
            Request::get(format!("{v1}/stats"))
                .body(Body::empty())
                .unwrap()
        )
        .await,
        401
    );
    assert!(
        report_has(&mock, C::ControlUnauthorized)
            .first
            .message
            .contains("--admin-token")
    );
    let authed = |method: &str, path: &str| {
        Request::builder()
            .method(method)
            .uri(format!("{v1}{path}"))
            .header("authorization", "Bearer let-me-in")
            .header("user-agent", "a-test-page")
    };
    // A page of another site driving the controls.
    let evil = authed("POST", "/reset")
        .header("origin", "http://evil.example")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(call(&mock, evil).await, 403);
    let e = report_has(&mock, C::ControlCrossSite);
    assert!(e.first.message.contains("evil.example"), "{e:?}");
    assert_eq!(e.clients[0].client, "a-test-page");
    let bad = authed("POST", "/accounts")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"app_key": 7}"#))
        .unwrap();
    assert_eq!(call(&mock, bad).await, 400);
    report_has(&mock, C::ControlInvalid);
    assert_eq!(
        call(&mock, authed("GET", "/nope").body(Body::empty()).unwrap()).await,
        404
    );
    report_has(&mock, C::RouteUnknown);
    // None of them is in the request log.
    assert!(mock.requests().is_empty());
}

/// A server on every interface without an admin token keeps its controls off, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_off_on_an_open_address() {
    let mock = TerraMock::builder()
        .bind("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{}/_terra-mock/v1/stats",
        mock.addr().port()
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        report_has(&mock, C::ControlForbidden)
            .first
            .message
            .contains("--admin-token")
    );
}
