//! The shared core of a running mock: configuration, clock, state, storage, faults and the
//! request log, plus the router that serves the API and the storage endpoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use terra_sign::{SecretString, Verifier};

use crate::clock::Clock;
use crate::config::{MockConfig, Provider};
use crate::faults::{Fault, Faults};
use crate::record::{RecordedRequest, RequestLog, redacted_headers};
use crate::state::{State, bucket_of};
use crate::storage::BlobStore;
use crate::storage::presign::{self, LinkParams};

/// The prefix of every API route.
pub const API_PREFIX: &str = "/terra-rescon-be/";

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub String);

/// Marks a response whose connection must be closed without answering.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResetConnection;

/// Internal credentials the mock signs download links with.
#[derive(Debug)]
pub(crate) struct ServiceKey {
    pub access_key: String,
    pub secret: String,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub cfg: MockConfig,
    pub clock: Arc<dyn Clock>,
    state: Mutex<State>,
    pub storage: BlobStore,
    pub faults: Mutex<Faults>,
    pub log: Mutex<RequestLog>,
    pub verifier: Verifier,
    secrets: HashMap<String, SecretString>,
    pub base_url: RwLock<String>,
    pub service_s3: ServiceKey,
    pub service_oss: ServiceKey,
}

pub(crate) type Mock = Arc<Inner>;

fn random_key(prefix: &str) -> ServiceKey {
    ServiceKey {
        access_key: format!(
            "{prefix}{}",
            uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase()
        ),
        secret: uuid::Uuid::new_v4().simple().to_string(),
    }
}

impl Inner {
    pub(crate) fn new(cfg: MockConfig, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let verifier = Verifier::default()
            .with_clock_skew(std::time::Duration::from_secs(cfg.clock_skew_secs))
            .with_body_validation(cfg.strict_digest);
        let secrets = cfg
            .accounts
            .iter()
            .map(|a| (a.app_key.clone(), SecretString::from(a.secret.clone())))
            .collect();
        Ok(Self {
            state: Mutex::new(State::new(&cfg)),
            storage: BlobStore::new()?,
            faults: Mutex::new(Faults::new(cfg.random_faults.clone())),
            log: Mutex::new(RequestLog::new(cfg.request_log_limit)),
            verifier,
            secrets,
            base_url: RwLock::new("http://127.0.0.1".into()),
            service_s3: random_key("AKIATERRAMOCK"),
            service_oss: random_key("LTAITERRAMOCK"),
            cfg,
            clock,
        })
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The state, with every job transition due by now applied.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        let mut s = self.state.lock().expect("state lock");
        s.tick(self.now(), &self.storage, &self.cfg);
        s
    }

    pub(crate) fn secret_for(&self, app_key: &str) -> Option<SecretString> {
        self.secrets.get(app_key).cloned()
    }

    pub(crate) fn base_url(&self) -> String {
        self.base_url.read().expect("base url lock").clone()
    }

    /// A presigned download link for an object of an account's bucket.
    pub(crate) fn download_url(&self, provider: Provider, key: &str) -> String {
        let base = self.base_url();
        let (service, region) = match provider {
            Provider::S3 => (&self.service_s3, self.cfg.s3.region.as_str()),
            Provider::Oss => (&self.service_oss, self.cfg.oss.region.as_str()),
        };
        let p = LinkParams {
            base_url: &base,
            bucket: bucket_of(provider, &self.cfg),
            key,
            region,
            access_key: &service.access_key,
            secret: &service.secret,
            wall_now: SystemTime::now(),
            mock_now: self.now(),
            ttl_secs: self.cfg.download_url_ttl_secs,
        };
        match provider {
            Provider::S3 => presign::s3_get_url(p),
            Provider::Oss => presign::oss_get_url(p),
        }
    }
}

/// The router: the API under [`API_PREFIX`], the storage endpoints as the fallback, faults
/// and the request log around everything.
pub(crate) fn router(m: Mock) -> Router {
    let s3 = crate::storage::s3::service(&m);
    crate::api::routes(m.clone())
        .fallback(move |AxState(m): AxState<Mock>, req: Request| {
            crate::storage::endpoint::serve(m, s3.clone(), req)
        })
        .layer(middleware::from_fn_with_state(m.clone(), outer))
        .with_state(m)
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
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let path = req.uri().path().to_owned();
    let is_api = path.starts_with(API_PREFIX);
    let headers = redacted_headers(req.headers());
    let span = tracing::info_span!("request", %method, path = %path, status = tracing::field::Empty, app_key = tracing::field::Empty);
    let _entered = span.enter();
    let fault = m
        .faults
        .lock()
        .expect("faults lock")
        .pick(&method, &path, is_api);

    // API bodies are small JSON: keep them for the log.
    let (req, body) = if is_api {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, crate::api::MAX_BODY).await {
            Ok(b) => (Request::from_parts(parts, Body::from(b.clone())), b),
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            }
        }
    } else {
        (req, bytes::Bytes::new())
    };
    drop(_entered);

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
            (status, axum::Json(env)).into_response()
        }
        Some(Fault::ResetAfterProcessing) => {
            let _ = next.run(req).await;
            reset()
        }
    };
    let app_key = resp.extensions().get::<Caller>().map(|c| c.0.clone());
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
    let keep = if body.len() <= 64 * 1024 {
        body
    } else {
        body.slice(..64 * 1024)
    };
    m.log.lock().expect("log lock").push(RecordedRequest {
        at: m.now(),
        method,
        target,
        headers,
        body: keep,
        status,
        app_key,
        fault: fault.map(|f| format!("{f:?}")),
    });
    resp
}
