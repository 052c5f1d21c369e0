//! Browser applications against the storage endpoints (issue 29): CORS evaluated as S3
//! and OSS evaluate it, browser upload forms (S3 POST Object, OSS PostObject), the API's
//! opt-in CORS, empty optional strings, and the same flows from pages in a real browser.

#[path = "../common/mod.rs"]
mod common;
mod forms;
mod pages;

mod preflight;

use axum::body::Body;
use http::Request;
use terra_mock::{Provider, TerraMock};
use terra_types::StsToken;
use tower::ServiceExt as _;

/// A response as text: status, the headers that matter (sorted; request ids and dates
/// out), and the body with its request ids replaced.
async fn answer(mock: &TerraMock, req: Request<Body>) -> (u16, http::HeaderMap, String) {
    let resp = mock.router().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// [`answer`] as one text for a snapshot.
fn shown(status: u16, headers: &http::HeaderMap, body: &str) -> String {
    let mut lines: Vec<String> = headers
        .iter()
        .filter(|(n, _)| {
            !matches!(
                n.as_str(),
                "x-amz-request-id" | "x-amz-id-2" | "x-oss-request-id" | "date" | "content-length"
            )
        })
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?")))
        .collect();
    lines.sort();
    let mut body = body.to_owned();
    for tag in ["RequestId", "HostId"] {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut from = 0;
        while let Some(start) = body[from..].find(&open).map(|i| i + from + open.len()) {
            let Some(end) = body[start..].find(&close).map(|i| i + start) else {
                break;
            };
            body.replace_range(start..end, "…");
            from = start;
        }
    }
    format!("HTTP {status}\n{}\n\n{body}", lines.join("\n"))
}

/// An emulator with one S3 and one OSS account, and a token of each.
async fn two_buckets() -> (TerraMock, StsToken, StsToken) {
    let mock = TerraMock::builder()
        .account("us-ak", "us-sk", Provider::S3)
        .add_account("cn-ak", "cn-sk", Provider::Oss)
        .build()
        .unwrap();
    let s3 = mock.issue_token("us-ak").unwrap();
    let oss = mock.issue_token("cn-ak").unwrap();
    (mock, s3, oss)
}
