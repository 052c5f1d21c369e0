//! The report: refusals and warnings by code and client with the first example, as JSON
//! over the control API and as text (`terra-mock report`), pinned by snapshots.

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};
use terra_mock::{ManualClock, TerraMock};
use tower::ServiceExt as _;

use super::common::{Api, V2};

#[tokio::test]
async fn the_report_by_code_and_client() {
    let mock = TerraMock::builder()
        // A clock at a fixed time: the report (its times, the signing strings) is stable.
        .manual_clock(ManualClock::at(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_000_000),
        ))
        .build()
        .unwrap();
    let api = Api::new(&mock);
    let wrong = Api::as_account(&mock, mock.app_key(), "not-the-secret");
    for ua in ["legacy-java/1.8", "legacy-java/1.8", "vue-app/2.1"] {
        let req = wrong.request(
            "GET",
            &format!("{V2}/jobs?page=1&rows=10"),
            None,
            &[("user-agent", ua)],
        );
        api.raw(req).await;
    }
    api.call("POST", "/resources", Some(json!({"type": "map"})))
        .await;
    // JSON without its charset, from the app whose signatures also fail.
    let mut req = api.request(
        "POST",
        &format!("{V2}/resources"),
        Some(&json!({"name": "a", "type": "map"})),
        &[("user-agent", "vue-app/2.1")],
    );
    req.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    api.raw(req).await;
    api.call("GET", "/jobs", None).await;

    let report = mock.report();
    assert_eq!(report.requests, 6);
    assert_eq!(report.refusals[0].count, 3);
    assert_eq!(report.refusals[0].clients[0].client, "legacy-java/1.8");
    assert_eq!(report.refusals[0].clients[0].count, 2);

    // The same over the control API, JSON and text.
    let get = |q: &str| {
        let router = mock.router();
        let uri = format!("/_terra-mock/v1/report{q}");
        async move {
            let r = router
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            String::from_utf8(
                axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .unwrap()
                    .to_vec(),
            )
            .unwrap()
        }
    };
    let doc: Value = serde_json::from_str(&get("").await).unwrap();
    assert_eq!(doc, serde_json::to_value(&report).unwrap());
    insta::assert_snapshot!("report_json", serde_json::to_string_pretty(&doc).unwrap());
    let text = get("?format=text").await;
    assert_eq!(text, report.to_text());
    insta::assert_snapshot!("report_text", text);

    // Filters of the log by reason, and clearing the requests clears the tally.
    let (status, refused) = {
        let r = mock
            .router()
            .oneshot(
                Request::get("/_terra-mock/v1/requests?code=signature_mismatch")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        (
            r.status(),
            axum::body::to_bytes(r.into_body(), usize::MAX)
                .await
                .unwrap(),
        )
    };
    assert_eq!(status, 200);
    let refused: Vec<Value> = serde_json::from_slice(&refused).unwrap();
    assert_eq!(refused.len(), 3);
    assert_eq!(refused[0]["refusal"]["code"], "signature_mismatch");
    assert!(
        refused[0]["refusal"]["signed"]
            .as_str()
            .unwrap()
            .contains("@request-target: get")
    );
    let r = mock
        .router()
        .oneshot(
            Request::get("/_terra-mock/v1/requests?code=no_such_code")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    mock.clear_requests();
    assert_eq!(mock.report().requests, 0);
}
