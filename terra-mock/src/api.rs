//! The 21 routes of the reference §3.0 under `/terra-rescon-be/v2`, authenticated with
//! terra-sign's verifier as the gateway does.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State as AxState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use terra_sign::SignableRequest;
use terra_types::{
    CreateJobRequest, CreateResourceRequest, Created, Envelope, FileOperationRequest, GatewayError,
    ListFilesQuery, ListJobsQuery, ListResourcesQuery, StartJobRequest, UpdateFileRequest,
    UpdateRequest, UploadCallbackRequest,
};

use crate::app::{Caller, Mock};
use crate::config::{ErrorStatus, MinimalCreate};
use crate::error::{ApiError, ApiResult};

/// Largest API body accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) fn routes(m: Mock) -> Router<Mock> {
    let v2 = |p: &str| format!("/terra-rescon-be/v2{p}");
    Router::new()
        .route(&v2("/store/obtain_token"), post(obtain_token))
        .route(&v2("/store/upload_callback"), post(upload_callback))
        .route(&v2("/resources"), post(create_resource).get(list_resources))
        .route(
            &v2("/resources/{uuid}"),
            get(resource_detail)
                .put(update_resource)
                .delete(delete_resource),
        )
        .route(&v2("/resources/{uuid}/copy"), post(copy_resource))
        .route(
            &v2("/resources/{uuid}/file_operation"),
            post(file_operation),
        )
        .route(&v2("/files"), get(list_files))
        .route(
            &v2("/files/{uuid}"),
            get(file_detail).put(update_file).delete(delete_file),
        )
        .route(&v2("/jobs"), post(create_job).get(list_jobs))
        .route(
            &v2("/jobs/{uuid}"),
            get(job_detail).put(update_job).delete(delete_job),
        )
        .route(&v2("/jobs/{uuid}/start"), post(start_job))
        .route(&v2("/jobs/{uuid}/stop"), post(stop_job))
        .route(&v2("/jobs/{uuid}/copy"), post(copy_job))
        .route_layer(middleware::from_fn_with_state(m, authenticate))
}

struct HeaderLookup<'a>(&'a HeaderMap);

impl terra_sign::Headers for HeaderLookup<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The gateway: verifies the HMAC signature, then passes the caller on.
async fn authenticate(AxState(m): AxState<Mock>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    let signable = SignableRequest::new(parts.method.as_str(), &target, &bytes);
    let verified = m
        .verifier
        .verify(&signable, &HeaderLookup(&parts.headers), m.now(), |ak| {
            m.secret_for(ak)
        });
    match verified {
        Ok(v) => {
            let caller = Caller(v.app_key);
            parts.extensions.insert(caller.clone());
            let mut resp = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            resp.extensions_mut().insert(caller);
            resp
        }
        Err(e) => {
            tracing::warn!(reason = %e, "gateway rejected the request");
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
            (
                status,
                axum::Json(GatewayError {
                    message: e.gateway_message().to_owned(),
                }),
            )
                .into_response()
        }
    }
}

fn envelope<T: Serialize>(m: &Mock, result: ApiResult<Option<T>>) -> Response {
    match result {
        Ok(Some(data)) => axum::Json(Envelope::ok(data)).into_response(),
        Ok(None) => axum::Json(Envelope::<()>::ok_empty()).into_response(),
        Err(e) => {
            tracing::info!(code = e.code.code(), msg = %e.msg, "business error");
            let status = match m.cfg.error_status {
                ErrorStatus::Http200 => StatusCode::OK,
                ErrorStatus::Http4xx => {
                    StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
                }
            };
            (status, axum::Json(Envelope::<()>::error(e.code, e.msg))).into_response()
        }
    }
}

fn ok<T: Serialize>(m: &Mock, result: ApiResult<T>) -> Response {
    envelope(m, result.map(Some))
}

fn done(m: &Mock, result: ApiResult<()>) -> Response {
    envelope::<()>(m, result.map(|()| None))
}

/// Creates and updates answer the full object with `Return-Detail: true`, and otherwise
/// what [`MinimalCreate`] says.
fn created<T: Serialize>(
    m: &Mock,
    headers: &HeaderMap,
    result: ApiResult<T>,
    uuid: impl Fn(&T) -> String,
) -> Response {
    let detail = headers
        .get("return-detail")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let uuid_only = match m.cfg.minimal_create {
        MinimalCreate::UuidOnly => !detail,
        MinimalCreate::FullObject => false,
        MinimalCreate::UuidIgnoringHeader => true,
    };
    match result {
        Ok(v) if uuid_only => ok(m, Ok(Created { uuid: uuid(&v) })),
        other => ok(m, other),
    }
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::invalid(format!("invalid request body: {inner}"))
        } else {
            ApiError::invalid(format!("parameter `{path}`: {inner}"))
        }
    })
}

fn query<T: DeserializeOwned + Default>(uri: &Uri) -> ApiResult<T> {
    match uri.query() {
        None | Some("") => Ok(T::default()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::invalid(format!("invalid query parameter: {e}"))),
    }
}

// ---- store ------------------------------------------------------------------------------

async fn obtain_token(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    let now = m.now();
    let r = m.state().obtain_token(&caller.0, now, &m.cfg);
    ok(&m, r)
}

async fn upload_callback(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    bytes: Bytes,
) -> Response {
    let r = body::<UploadCallbackRequest>(&bytes).and_then(|req| {
        let now = m.now();
        m.state()
            .upload_callback(&caller.0, req, now, &m.cfg, &m.storage)
    });
    ok(&m, r)
}

// ---- resources --------------------------------------------------------------------------

async fn create_resource(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<CreateResourceRequest>(&bytes)
        .and_then(|req| m.state().create_resource(&caller.0, req, m.now()));
    created(&m, &headers, r, |r| r.uuid.clone())
}

async fn list_resources(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    uri: Uri,
) -> Response {
    let r = query::<ListResourcesQuery>(&uri)
        .and_then(|q| m.state().list_resources(&caller.0, &q, &m.cfg));
    ok(&m, r)
}

async fn resource_detail(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let r = m.state().resource_detail(&caller.0, &uuid);
    ok(&m, r)
}

async fn update_resource(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<UpdateRequest>(&bytes)
        .and_then(|req| m.state().update_resource(&caller.0, &uuid, req, m.now()));
    created(&m, &headers, r, |r| r.uuid.clone())
}

#[derive(serde::Deserialize, Default)]
struct DeleteQuery {
    #[serde(rename = "deleteMode")]
    delete_mode: Option<String>,
}

async fn delete_resource(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    uri: Uri,
) -> Response {
    let r = query::<DeleteQuery>(&uri).and_then(|q| {
        m.state().delete_resource(
            &caller.0,
            &uuid,
            q.delete_mode.as_deref(),
            &m.storage,
            &m.cfg,
        )
    });
    done(&m, r)
}

async fn copy_resource(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<UpdateRequest>(&bytes)
        .and_then(|req| m.state().copy_resource(&caller.0, &uuid, req, m.now()));
    created(&m, &headers, r, |r| r.uuid.clone())
}

async fn file_operation(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    bytes: Bytes,
) -> Response {
    let r = body::<FileOperationRequest>(&bytes)
        .and_then(|req| m.state().file_operation(&caller.0, &uuid, req, m.now()));
    ok(&m, r)
}

// ---- files ------------------------------------------------------------------------------

async fn list_files(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    uri: Uri,
) -> Response {
    let r = query::<ListFilesQuery>(&uri).and_then(|q| {
        m.state()
            .list_files(&caller.0, &q, &m.cfg, &|p, k| m.download_url(p, k))
    });
    ok(&m, r)
}

async fn file_detail(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let r = m
        .state()
        .file_detail(&caller.0, &uuid, &|p, k| m.download_url(p, k));
    ok(&m, r)
}

async fn update_file(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<UpdateFileRequest>(&bytes)
        .and_then(|req| m.state().update_file(&caller.0, &uuid, req, m.now()));
    created(&m, &headers, r, |f| f.uuid.clone())
}

async fn delete_file(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let r = m.state().delete_file(&caller.0, &uuid, &m.storage, &m.cfg);
    done(&m, r)
}

// ---- jobs -------------------------------------------------------------------------------

async fn create_job(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<CreateJobRequest>(&bytes)
        .and_then(|req| m.state().create_job(&caller.0, req.name, req.meta, m.now()));
    created(&m, &headers, r, |j| j.uuid.clone())
}

async fn list_jobs(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    uri: Uri,
) -> Response {
    let r = query::<ListJobsQuery>(&uri)
        .and_then(|q| m.state().list_jobs(&caller.0, &q, m.now(), &m.cfg));
    ok(&m, r)
}

async fn job_detail(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let r = m.state().job_detail(&caller.0, &uuid, m.now());
    ok(&m, r)
}

async fn update_job(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<UpdateRequest>(&bytes)
        .and_then(|req| m.state().update_job(&caller.0, &uuid, req, m.now()));
    created(&m, &headers, r, |j| j.uuid.clone())
}

async fn delete_job(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let r = m.state().delete_job(&caller.0, &uuid);
    done(&m, r)
}

async fn start_job(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    bytes: Bytes,
) -> Response {
    let r = body::<StartJobRequest>(&bytes)
        .and_then(|req| m.state().start_job(&caller.0, &uuid, req, m.now(), &m.cfg));
    ok(&m, r)
}

async fn stop_job(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let r = m.state().stop_job(&caller.0, &uuid, m.now());
    ok(&m, r)
}

async fn copy_job(
    AxState(m): AxState<Mock>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let r = body::<UpdateRequest>(&bytes)
        .and_then(|req| m.state().copy_job(&caller.0, &uuid, req, m.now()));
    created(&m, &headers, r, |j| j.uuid.clone())
}
