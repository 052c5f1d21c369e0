//! Who may call the controls (the admin token, else loopback callers only) and how they
//! refuse: each refusal as the control API's JSON error (`error.kind`, `error.message`)
//! with its reason, and the middleware that counts those reasons in the report (the
//! request log keeps API and storage requests only).

use axum::extract::{Request, State as AxState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};

use super::CONTROL_PREFIX;
use super::dto::{ErrorBody, ErrorDetail};
use super::{ControlError, ControlErrorKind};
use crate::core::{Mock, PeerAddr};

/// A refusal of the gate, or of an operation.
#[derive(Debug)]
pub(crate) enum Refusal {
    Op(ControlError),
    Unauthorized,
    Forbidden,
    Off,
    NoRoute(Method, String),
    NoMethod(Method, String),
    TooLarge(usize),
    Guard(super::guard::Refused),
}

impl From<ControlError> for Refusal {
    fn from(e: ControlError) -> Self {
        Self::Op(e)
    }
}

impl Refusal {
    fn code(&self) -> crate::ReasonCode {
        use crate::ReasonCode as C;
        match self {
            Self::Op(_) => C::ControlInvalid,
            Self::Unauthorized => C::ControlUnauthorized,
            Self::Forbidden | Self::Off => C::ControlForbidden,
            Self::NoRoute(..) | Self::NoMethod(..) => C::RouteUnknown,
            Self::TooLarge(_) => C::BodyTooLarge,
            Self::Guard(_) => C::ControlCrossSite,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = self.code();
        let (status, kind, message) = match self {
            Self::Op(e) => {
                let (status, kind) = match e.kind() {
                    ControlErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                    ControlErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
                    ControlErrorKind::Invalid => (StatusCode::BAD_REQUEST, "invalid"),
                };
                (status, kind, e.to_string())
            }
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the control API needs `Authorization: Bearer <admin token>` (the --admin-token \
                 the server was started with)"
                    .to_owned(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "the control API answers loopback callers only; start the server with \
                 --admin-token to allow others"
                    .to_owned(),
            ),
            Self::Off => (
                StatusCode::NOT_FOUND,
                "unavailable",
                "the control API is off: this server listens on a non-loopback address without \
                 --admin-token"
                    .to_owned(),
            ),
            Self::NoRoute(m, p) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "no control route {m} {p}: the routes are listed in {CONTROL_PREFIX}/openapi.json"
                ),
            ),
            Self::NoMethod(m, p) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{p} does not take {m}: see {CONTROL_PREFIX}/openapi.json"),
            ),
            Self::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is larger than {limit} bytes"),
            ),
            Self::Guard(g) => (g.status(), g.kind(), g.message()),
        };
        let why = crate::Reason::new(code, message.clone());
        let mut r = (
            status,
            axum::Json(ErrorBody {
                error: ErrorDetail { kind, message },
            }),
        )
            .into_response();
        crate::reason::refuse(&mut r, why);
        r
    }
}

/// The controls' refusals go to the report (the request log keeps API and storage
/// requests only).
pub(super) async fn tally(AxState(m): AxState<Mock>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let target = crate::record::redacted_target(req.uri());
    let client = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut resp = next.run(req).await;
    if let Some(r) = resp
        .extensions_mut()
        .remove::<crate::reason::Reasons>()
        .and_then(|r| r.refusal)
    {
        let seen = crate::reason::Seen {
            at: m.now(),
            method: &method,
            target: &target,
            status: resp.status().as_u16(),
            client: client.as_deref(),
        };
        m.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .note_refused(&seen, &r);
    }
    resp
}

/// Who may use the controls (see the module documentation).
pub(super) async fn gate(AxState(m): AxState<Mock>, req: Request, next: Next) -> Response {
    if let Err(r) = admit(&m, &req) {
        return r.into_response();
    }
    let span = tracing::debug_span!("control", method = %req.method(), path = %req.uri().path());
    let _ = span.enter();
    next.run(req).await
}

fn admit(m: &Mock, req: &Request) -> Result<(), Refusal> {
    let access = m.control_access();
    if !access.on {
        return Err(Refusal::Off);
    }
    match &m.cfg.admin_token {
        Some(token) => {
            let given = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if same(given.as_bytes(), token.expose().as_bytes()) {
                Ok(())
            } else {
                Err(Refusal::Unauthorized)
            }
        }
        None => match req.extensions().get::<PeerAddr>() {
            Some(PeerAddr(peer)) if !peer.ip().to_canonical().is_loopback() => {
                Err(Refusal::Forbidden)
            }
            _ => Ok(()),
        },
    }
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(peer: &str) -> Request {
        let mut req = Request::builder()
            .uri("/_terra-mock/v1/health")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut().insert(PeerAddr(peer.parse().unwrap()));
        req
    }

    #[test]
    fn only_loopback_peers_without_a_token() {
        let m: Mock = std::sync::Arc::new(
            crate::core::Core::new(Default::default(), std::sync::Arc::new(crate::SystemClock))
                .unwrap(),
        );
        assert!(admit(&m, &from("127.0.0.1:5000")).is_ok());
        assert!(admit(&m, &from("[::1]:5000")).is_ok());
        assert!(admit(&m, &from("[::ffff:127.0.0.1]:5000")).is_ok());
        assert!(matches!(
            admit(&m, &from("10.1.2.3:5000")),
            Err(Refusal::Forbidden)
        ));
        assert!(matches!(
            admit(&m, &from("[2001:db8::1]:5000")),
            Err(Refusal::Forbidden)
        ));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
        // Differences that would cancel out if they were XOR'ed together.
        assert!(!same(b"ab", b"ba"));
    }
}
