//! The router: requests under `/_terra-mock` go to the emulator's controls and pages;
//! requests under [`API_PREFIX`] to the API (behind its gateway), everything else to the
//! storage endpoints; around those two, fault injection, the request log and a tracing span
//! for each request that logs something; around everything, a guard that turns a panic into a
//! logged 500 instead of a dropped connection.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::FutureExt as _;
use http::{HeaderValue, StatusCode};
use tower::ServiceExt as _;

use crate::api::ApiCodeExt;
use crate::api::gateway::LoggedBody;
use crate::core::{API_PREFIX, Caller, Mock, ResetConnection};
use crate::faults::Fault;
use crate::record::{RecordedRequest, redacted_headers, redacted_target};

/// What a request is dispatched to, built once per mock: the one request path of the
/// router and of the server, with no middleware layers between its steps (each
/// `from_fn` layer cost a boxed future and a clone of the service below it, per request).
pub(crate) struct Dispatch {
    m: Mock,
    api: Router,
    s3: crate::storage::endpoint::S3Services,
    control: Router,
}

impl Dispatch {
    pub(crate) fn new(m: Mock) -> Arc<Self> {
        Arc::new(Self {
            api: crate::api::router(m.clone()),
            s3: crate::storage::endpoint::S3Services {
                s3: crate::storage::s3::service(&m, crate::config::Provider::S3),
                oss: crate::storage::s3::service(&m, crate::config::Provider::Oss),
            },
            control: crate::control::api::router(m.clone()),
            m,
        })
    }

    /// Answers one request. A panic in a handler answers 500 and is logged, rather than
    /// dropping the connection.
    pub(crate) async fn handle(&self, req: Request) -> Response {
        let (method, uri) = (req.method().clone(), req.uri().clone());
        match AssertUnwindSafe(self.dispatch(req)).catch_unwind().await {
            Ok(resp) => resp,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(%method, path = %uri.path(), panic = %what, "handler panicked");
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

    /// The emulator's own pages and controls bypass faults and the request log.
    async fn dispatch(&self, req: Request) -> Response {
        let path = req.uri().path();
        let own = path
            .strip_prefix(crate::control::api::MOCK_PREFIX)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        let unkept = Unkept::of(&self.m, &req, own);
        // Boxed: a future passed by value is held twice by the one that awaits it.
        let (r, failed) = crate::persist::track(Box::pin(async {
            if own {
                match self.control.clone().oneshot(req).await {
                    Ok(r) => r,
                    Err(e) => match e {},
                }
            } else {
                self.served(req).await
            }
        }))
        .await;
        match unkept {
            Some(u) if failed && r.status().is_success() => u.answer(),
            _ => r,
        }
    }

    /// The API behind its gateway, or the storage endpoints.
    async fn route(&self, req: Request) -> Response {
        let m = &self.m;
        if req.uri().path().starts_with(API_PREFIX) {
            if let Some(r) = crate::api::cors::preflight(m, req.method(), req.headers()) {
                return r;
            }
            let asked = (!m.cfg.api_cors_origins.is_empty()).then(|| req.headers().clone());
            let mut r = match self.api.clone().oneshot(req).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            if let Some(h) = asked {
                crate::api::cors::decorate(m, &h, &mut r);
            }
            r
        } else {
            crate::storage::endpoint::serve(m.clone(), &self.s3, req).await
        }
    }
}

/// The whole router of a mock.
pub(crate) fn router(m: Mock) -> Router {
    let d = Dispatch::new(m);
    Router::new().fallback(move |req: Request| {
        let d = d.clone();
        async move { d.handle(req).await }
    })
}

/// How to answer a request that changes something when a write of its change to
/// `--data-dir` failed: never with a 2xx, with the protocol's own server error instead.
/// Reads (GET, HEAD) are answered as usual: what they changed on the way (job transitions
/// due) is written with the account's next change.
enum Unkept {
    Control,
    Api,
    Storage(crate::storage::endpoint::Flavor),
}

impl Unkept {
    fn of(m: &Mock, req: &Request, own: bool) -> Option<Self> {
        if !m.persistent() || matches!(*req.method(), http::Method::GET | http::Method::HEAD) {
            return None;
        }
        Some(if own {
            Self::Control
        } else if req.uri().path().starts_with(API_PREFIX) {
            Self::Api
        } else {
            Self::Storage(crate::storage::endpoint::Flavor::of(m, req))
        })
    }

    fn answer(self) -> Response {
        const WHY: &str = "terra-mock could not keep this change: writing its state \
                           (--data-dir) failed, most likely for want of disk space; nothing \
                           was acknowledged, try again once there is room (see its log)";
        match self {
            Self::Control => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({
                    "error": { "kind": "internal", "message": WHY }
                })),
            )
                .into_response(),
            Self::Api => {
                let env = terra_types::Envelope::<()>::error(
                    terra_types::ApiCode::from_code(102000),
                    WHY.to_owned(),
                );
                let mut r = (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(env)).into_response();
                r.extensions_mut().insert(ApiCodeExt(102000));
                r
            }
            Self::Storage(f) => f.internal_error(),
        }
    }
}

/// The request body, shared with `Dispatch::unread_drained`, which gets back what the handler did
/// not read.
struct SlotBody(Arc<Mutex<Option<Body>>>);

impl http_body::Body for SlotBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            Some(b) => std::pin::Pin::new(b).poll_frame(cx),
            None => std::task::Poll::Ready(None),
        }
    }
}

impl Dispatch {
    /// An answer given before the request body was read (an authentication error, most often)
    /// would make hyper close the connection, and a client reusing it would meet a broken
    /// pipe. What the handler left unread is read and dropped after the answer, up to
    /// [`crate::MockConfig::drain_limit_bytes`], so that the connection stays usable; a longer
    /// body closes the connection, as S3 does.
    async fn unread_drained(&self, req: Request) -> Response {
        use http_body::Body as _;
        let m = &self.m;
        let (parts, body) = req.into_parts();
        // A client that sent `Expect: 100-continue` waits for the answer before sending its
        // body: answering an error then sends nothing more, as S3 does.
        let expects = parts
            .headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if body.is_end_stream() || expects {
            return self.route(Request::from_parts(parts, body)).await;
        }
        let slot = Arc::new(Mutex::new(Some(body)));
        let resp = self
            .route(Request::from_parts(
                parts,
                Body::new(SlotBody(slot.clone())),
            ))
            .await;
        let left = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(left) = left else { return resp };
        if left.is_end_stream() {
            return resp;
        }
        // Answer now; read the rest after (hyper holds the connection's next request until the
        // body is read or dropped, and closes the connection if it is dropped unread).
        let budget = m.cfg.drain_limit_bytes;
        let idle = std::time::Duration::from_secs_f64(m.cfg.body_idle_timeout_secs.max(0.001));
        tokio::spawn(drain(left, budget, idle));
        resp
    }
}

/// Reads and drops up to `budget` bytes of a body, each frame within `idle`.
async fn drain(mut body: Body, mut budget: usize, idle: std::time::Duration) {
    use http_body::Body as _;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx));
        match tokio::time::timeout(idle, frame).await {
            Ok(Some(Ok(f))) => {
                let n = f.data_ref().map_or(0, bytes::Buf::remaining);
                if n > budget {
                    return;
                }
                budget -= n;
            }
            Ok(None) | Ok(Some(Err(_))) | Err(_) => return,
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

impl Dispatch {
    /// Around the API and the storage endpoints: fault injection, the request log and a
    /// tracing span for each request that logs something.
    async fn served(&self, req: Request) -> Response {
        let m = &self.m;
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        let target = redacted_target(req.uri());
        let uri = req.uri().clone();
        let path = uri.path();
        let is_api = path.starts_with(API_PREFIX);
        let headers = redacted_headers(req.headers());
        let fault = m
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pick(&method, path, is_api);

        let resp = match &fault {
            None => self.unread_drained(req).await,
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(*d).await;
                self.unread_drained(req).await
            }
            Some(Fault::Status {
                status,
                retry_after,
            }) => gateway_error(*status, *retry_after),
            Some(Fault::StatusAfterProcessing { status }) => {
                let _ = self.unread_drained(req).await;
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
                let _ = self.unread_drained(req).await;
                reset()
            }
        };
        let mut resp = resp;
        if let Some(f) = &fault
            && !matches!(f, Fault::Delay(_))
        {
            crate::reason::refuse(
                &mut resp,
                crate::Reason::new(
                    crate::ReasonCode::FaultInjected,
                    format!(
                        "the test injected {f:?} for this request; the emulator did not answer it itself"
                    ),
                ),
            );
        }
        let app_key = resp
            .extensions()
            .get::<Caller>()
            .map(|c| c.0.app_key.clone());
        let status = if resp.extensions().get::<ResetConnection>().is_some() {
            0
        } else {
            resp.status().as_u16()
        };
        let body = resp
            .extensions()
            .get::<LoggedBody>()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        let reasons = resp
            .extensions_mut()
            .remove::<crate::reason::Reasons>()
            .unwrap_or_default();
        // The span is made once the answer is known, and only when something will be
        // logged in it: a request served quietly costs no span.
        if fault.is_some()
            || reasons.refusal.is_some()
            || !reasons.warnings.is_empty()
            || tracing::enabled!(tracing::Level::DEBUG)
        {
            let span = tracing::info_span!("request", %method, path = %path, status, app_key = tracing::field::Empty);
            if let Some(k) = &app_key {
                span.record("app_key", k.as_str());
            }
            if let Some(f) = &fault {
                tracing::info!(parent: &span, fault = ?f, "fault injected");
            }
            tracing::debug!(parent: &span, "answered");
            if let Some(r) = &reasons.refusal {
                tracing::info!(parent: &span, code = r.code.as_str(), why = %r.message, "refused");
            }
            for w in &reasons.warnings {
                tracing::info!(parent: &span, code = w.code.as_str(), why = %w.message, "accepted leniently");
            }
        }
        let at = m.now();
        let record = RecordedRequest {
            at,
            method,
            target,
            headers,
            body,
            status,
            app_key,
            fault: fault.map(|f| format!("{f:?}")),
            refusal: reasons.refusal,
            warnings: reasons.warnings,
            api_code: resp.extensions().get::<ApiCodeExt>().map(|c| c.0),
            latency: started.elapsed(),
        };
        m.report.lock().unwrap_or_else(|e| e.into_inner()).note(
            &crate::reason::Seen {
                at,
                method: &record.method,
                target: &record.target,
                status,
                client: record.header("user-agent"),
            },
            record.refusal.iter().chain(&record.warnings),
        );
        m.log.lock().unwrap_or_else(|e| e.into_inner()).push(record);
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request in flight holds its handler's future, and the futures around it hold
    /// a copy of each future passed to them by value. At 44 KiB (the storage endpoints'
    /// 12 KiB future inline, with its copies) moving it cost a tenth of a list page's
    /// server CPU; with the inner futures boxed what is moved stays near 1 KiB.
    #[test]
    fn the_future_of_a_request_stays_small() {
        let m: Mock = Arc::new(
            crate::core::Core::new(Default::default(), Arc::new(crate::SystemClock)).unwrap(),
        );
        let d = Dispatch::new(m.clone());
        let req = || Request::new(Body::empty());
        let sizes = [
            ("handle", std::mem::size_of_val(&d.handle(req()))),
            ("served", std::mem::size_of_val(&d.served(req()))),
            (
                "storage",
                std::mem::size_of_val(&crate::storage::endpoint::serve(m, &d.s3, req())),
            ),
        ];
        // About three times what they are today (1.2, 2.7 and 1.0 KiB in a debug build,
        // 1.2, 2.1 and 1.0 in a release build).
        let most = [4 << 10, 8 << 10, 3 << 10];
        for ((what, size), most) in sizes.into_iter().zip(most) {
            assert!(
                size <= most,
                "the future of `{what}` is {size} bytes, more than {most}"
            );
        }
    }
}
