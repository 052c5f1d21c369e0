//! The gateway in front of the API: the HMAC signature is checked from the headers alone
//! (terra-sign's verifier, Kong's rules and messages), and only an authenticated request
//! gets its body read, up to [`crate::MockConfig::api_body_limit`]. An unauthenticated
//! request costs the mock its headers and nothing more.

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use terra_types::GatewayError;

use crate::core::{Caller, Mock};
use crate::record::body_for_log;

struct HeaderLookup<'a>(&'a HeaderMap);

impl terra_sign::Headers for HeaderLookup<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The body of an API request as the request log keeps it (at most 64 KiB, copied).
#[derive(Debug, Clone)]
pub(crate) struct LoggedBody(pub bytes::Bytes);

fn refuse(status: StatusCode, message: String, why: crate::Reason) -> Response {
    let mut r = (status, axum::Json(GatewayError { message })).into_response();
    crate::reason::refuse(&mut r, why);
    r
}

/// Verifies the signature, then reads the body and passes the caller on.
pub(crate) async fn authenticate(AxState(m): AxState<Mock>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    let headers = HeaderLookup(&parts.headers);
    let verify = |now| {
        m.verifier
            .verify_headers(parts.method.as_str(), &target, &headers, now, |ak| {
                m.accounts.get(ak).map(|a| a.secret())
            })
    };
    // A client signs with its own clock: the wall clock (or the test's manual clock), which
    // knows nothing of a shift the control API made, or the mock's time, read from it.
    // Either is fresh.
    let mut now = m.clock.base_now();
    let verified = match verify(now) {
        Err(terra_sign::VerifyError::ClockSkew { .. }) => {
            now = m.now();
            verify(now)
        }
        other => other,
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(reason = %e, "gateway rejected the request");
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return refuse(
                status,
                e.gateway_message().to_owned(),
                super::why::refusal(&e),
            );
        }
    };
    let Some(cell) = m.accounts.get(&verified.app_key) else {
        // Deleted between the two lookups.
        let e = terra_sign::VerifyError::UnknownAppKey {
            app_key: verified.app_key,
        };
        return refuse(
            StatusCode::UNAUTHORIZED,
            terra_sign::MSG_CANNOT_VERIFY.to_owned(),
            super::why::refusal(&e),
        );
    };
    let mut warnings = if m.verifier.is_strict() {
        Vec::new()
    } else {
        super::why::lenient_headers(&parts.headers, now, m.verifier.clock_skew())
    };
    let limit = m.cfg.api_body_limit;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return if too_large {
                let message =
                    format!("Request size limit exceeded: API bodies are limited to {limit} bytes");
                let why = crate::Reason::new(
                    crate::ReasonCode::BodyTooLarge,
                    format!(
                        "the body is larger than the {limit} bytes the emulator reads (--api-body-limit)"
                    ),
                );
                refuse(StatusCode::PAYLOAD_TOO_LARGE, message, why)
            } else {
                let message = format!("the request body could not be read: {e}");
                let why = crate::Reason::new(crate::ReasonCode::BodyUnreadable, message.clone());
                refuse(StatusCode::BAD_REQUEST, message, why)
            };
        }
    };
    if let Err(e) = m.verifier.check_body(&bytes, &HeaderLookup(&parts.headers)) {
        tracing::warn!(reason = %e, "gateway rejected the body");
        return refuse(
            StatusCode::UNAUTHORIZED,
            e.gateway_message().to_owned(),
            super::why::refusal(&e),
        );
    }
    warnings.extend(super::why::lenient_body(
        &target,
        &parts.headers,
        &bytes,
        m.verifier.validates_body(),
    ));
    let logged = LoggedBody(body_for_log(&bytes));
    let caller = Caller(cell);
    parts.extensions.insert(caller.clone());
    let mut resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    resp.extensions_mut().insert(caller);
    resp.extensions_mut().insert(logged);
    for w in warnings {
        crate::reason::warn(&mut resp, w);
    }
    resp
}
