//! The router: requests under [`API_PREFIX`] go to the API (behind its gateway), everything
//! else to the storage endpoints; around both, fault injection, the request log, a tracing
//! span per request, and a guard that turns a panic into a logged 500 instead of a dropped
//! connection.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::FutureExt as _;
use http::{HeaderValue, StatusCode};
use tower::ServiceExt as _;

use crate::api::ApiCodeExt;
use crate::api::gateway::LoggedBody;
use crate::core::{API_PREFIX, Caller, Mock, ResetConnection};
use crate::faults::Fault;
use crate::record::{RecordedRequest, redacted_headers, redacted_target};

/// The whole router of a mock.
pub(crate) fn router(m: Mock) -> Router {
    let api = crate::api::router(m.clone());
    let s3 = crate::storage::s3::service(&m);
    Router::new()
        .fallback(move |AxState(m): AxState<Mock>, req: Request| {
            let (api, s3) = (api.clone(), s3.clone());
            async move {
                if req.uri().path().starts_with(API_PREFIX) {
                    match api.oneshot(req).await {
                        Ok(r) => r,
                        Err(e) => match e {},
                    }
                } else {
                    crate::storage::endpoint::serve(m, s3, req).await
                }
            }
        })
        .layer(middleware::from_fn_with_state(m.clone(), outer))
        .layer(middleware::from_fn(catch_panic))
        .with_state(m)
}

/// A panic in a handler answers 500 and is logged, rather than dropping the connection.
async fn catch_panic(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(%method, %path, panic = %what, "handler panicked");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({
                    "message": "terra-mock failed while handling this request (a bug: please report it with the mock's log)"
                })),
            )
                .into_response()
        }
    }
}

fn gateway_error(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match status.as_u16() {
        429 => "API rate limit exceeded",
        502 => "An invalid response was received from the upstream server",
        503 => "The upstream server is currently unavailable",
        504 => "The upstream server is timing out",
        _ => "An unexpected error occurred",
    };
    let mut resp = (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    if let Some(s) = retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp.headers_mut()
        .insert("x-terra-mock-fault", HeaderValue::from_static("status"));
    resp
}

fn reset() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut()
        .insert("x-terra-mock-fault", HeaderValue::from_static("reset"));
    resp.extensions_mut().insert(ResetConnection);
    resp
}

/// Outermost middleware: fault injection, the request log and one tracing span per request.
async fn outer(AxState(m): AxState<Mock>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let target = redacted_target(req.uri());
    let path = req.uri().path().to_owned();
    let is_api = path.starts_with(API_PREFIX);
    let headers = redacted_headers(req.headers());
    let span = tracing::info_span!("request", %method, path = %path, status = tracing::field::Empty, app_key = tracing::field::Empty);
    let fault = m
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pick(&method, &path, is_api);

    let resp = match &fault {
        None => next.run(req).await,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(*d).await;
            next.run(req).await
        }
        Some(Fault::Status {
            status,
            retry_after,
        }) => gateway_error(*status, *retry_after),
        Some(Fault::StatusAfterProcessing { status }) => {
            let _ = next.run(req).await;
            gateway_error(*status, None)
        }
        Some(Fault::Reset) => reset(),
        Some(Fault::ApiError {
            status,
            code,
            message,
        }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            let env = terra_types::Envelope::<()>::error(
                terra_types::ApiCode::from_code(*code),
                message.clone(),
            );
            let mut r = (status, axum::Json(env)).into_response();
            r.extensions_mut().insert(ApiCodeExt(*code));
            r
        }
        Some(Fault::ResetAfterProcessing) => {
            let _ = next.run(req).await;
            reset()
        }
    };
    let app_key = resp
        .extensions()
        .get::<Caller>()
        .map(|c| c.0.app_key.clone());
    let status = if resp.extensions().get::<ResetConnection>().is_some() {
        0
    } else {
        resp.status().as_u16()
    };
    span.record("status", status);
    if let Some(k) = &app_key {
        span.record("app_key", k.as_str());
    }
    if let Some(f) = &fault {
        tracing::info!(parent: &span, fault = ?f, "fault injected");
    }
    tracing::debug!(parent: &span, "answered");
    let body = resp
        .extensions()
        .get::<LoggedBody>()
        .map(|b| b.0.clone())
        .unwrap_or_default();
    m.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(RecordedRequest {
            at: m.now(),
            method,
            target,
            headers,
            body,
            status,
            app_key,
            fault: fault.map(|f| format!("{f:?}")),
            api_code: resp.extensions().get::<ApiCodeExt>().map(|c| c.0),
            latency: started.elapsed(),
        });
    resp
}
