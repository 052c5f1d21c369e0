//! The 21 routes of the reference §3.0 under `/terra-rescon-be/v2`, behind the gateway
//! (`gateway.rs`). Every handler takes the caller's account, locks it (applying the job
//! transitions due), and answers the envelope.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Request, State as AxState};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use terra_types::{
    ApiCode, CreateJobRequest, CreateResourceRequest, Created, Envelope, FileOperationRequest,
    ListFilesQuery, ListJobsQuery, ListResourcesQuery, StartJobRequest, UpdateFileRequest,
    UpdateRequest, UploadCallbackRequest,
};

use crate::config::{ErrorStatus, MinimalCreate};
use crate::core::{Caller, Mock};
use crate::error::{ApiError, ApiResult};

pub(crate) mod cors;
pub(crate) mod gateway;
pub(crate) mod routes;
mod why;

/// The envelope code an API response carried (for the request log).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiCodeExt(pub i64);

/// The API router: the routes, a fallback naming unknown routes, all behind the gateway.
pub(crate) fn router(m: Mock) -> Router {
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
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            m.clone(),
            gateway::authenticate,
        ))
        .with_state(m)
}

/// An authenticated request to a route that does not exist.
async fn unknown_route(req: Request) -> Response {
    let message = format!(
        "no route for {} {}: terra-mock serves the 21 routes of TerraAPI v2 under /terra-rescon-be/v2/",
        req.method(),
        req.uri().path()
    );
    let mut r = (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    crate::reason::refuse(
        &mut r,
        route_unknown(req.method().as_str(), req.uri().path()),
    );
    r
}

/// The reason of a call to no route: the nearest route of the reference.
pub(crate) fn route_unknown(method: &str, path: &str) -> crate::Reason {
    crate::Reason::new(
        crate::ReasonCode::RouteUnknown,
        format!(
            "no route of the reference is {method} {}; the nearest is {}",
            &path[..path.floor_char_boundary(path.len().min(200))],
            routes::nearest(method, path)
        ),
    )
}

fn envelope<T: Serialize>(m: &Mock, result: ApiResult<Option<T>>) -> Response {
    let (mut resp, code) = match result {
        Ok(Some(data)) => (axum::Json(Envelope::ok(data)).into_response(), 0),
        Ok(None) => (axum::Json(Envelope::<()>::ok_empty()).into_response(), 0),
        Err(e) => {
            tracing::info!(code = e.code.code(), msg = %e.msg, "business error");
            let status = match m.cfg.error_status {
                ErrorStatus::Http200 => StatusCode::OK,
                ErrorStatus::Http4xx => {
                    StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
                }
            };
            let code = e.code.code();
            let why = crate::Reason::new(
                match e.code {
                    ApiCode::InvalidParameter => crate::ReasonCode::InvalidParameter,
                    ApiCode::ResourceNotFound | ApiCode::JobNotFound => crate::ReasonCode::NotFound,
                    ApiCode::InvalidOperation => crate::ReasonCode::InvalidOperation,
                    _ => crate::ReasonCode::ApiError,
                },
                format!("API code {code}: {}", e.msg),
            );
            let mut r = (status, axum::Json(Envelope::<()>::error(e.code, e.msg))).into_response();
            crate::reason::refuse(&mut r, why);
            (r, code)
        }
    };
    resp.extensions_mut().insert(ApiCodeExt(code));
    resp
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

/// The optional fields of each request body, where `""` means absent
/// ([`MockConfig::empty_strings_as_absent`](crate::MockConfig)): `name` for the nested
/// `files[].name` of an item of `files`.
mod optional {
    pub(super) const CALLBACK: &[&str] = &["files[].meta", "files[].position"];
    pub(super) const CREATE_RESOURCE: &[&str] = &["meta", "files"];
    pub(super) const UPDATE: &[&str] = &["name", "meta"];
    pub(super) const FILE_OPERATION: &[&str] = &["addFileUuids", "removeFileUuids"];
    pub(super) const UPDATE_FILE: &[&str] = &["name", "meta", "position"];
    pub(super) const CREATE_JOB: &[&str] = &["meta"];
    pub(super) const START_JOB: &[&str] = &["outputResourceUuid"];
}

/// Removes the `optional` fields of `v` whose value is `""`.
fn drop_empty(v: &mut serde_json::Value, optional: &[&str]) {
    for path in optional {
        match path.split_once("[].") {
            Some((list, field)) => {
                if let Some(items) = v.get_mut(list).and_then(|l| l.as_array_mut()) {
                    for item in items {
                        if let Some(obj) = item.as_object_mut()
                            && obj.get(field).is_some_and(|x| x == "")
                        {
                            obj.remove(field);
                        }
                    }
                }
            }
            None => {
                if let Some(obj) = v.as_object_mut()
                    && obj.get(*path).is_some_and(|x| x == "")
                {
                    obj.remove(*path);
                }
            }
        }
    }
}

/// A request body, with `""` in its `optional` fields read as absent when the mock is set
/// so (the default).
fn body_of<T: DeserializeOwned>(
    m: &crate::core::Core,
    bytes: &Bytes,
    optional: &[&str],
) -> ApiResult<T> {
    if !m.cfg.empty_strings_as_absent || !bytes.windows(2).any(|w| w == b"\"\"") {
        return body(bytes);
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut v) => {
            drop_empty(&mut v, optional);
            body(&Bytes::from(serde_json::to_vec(&v).unwrap_or_default()))
        }
        Err(_) => body(bytes),
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

fn query<T: DeserializeOwned + Default>(m: &crate::core::Core, uri: &Uri) -> ApiResult<T> {
    let q = match uri.query() {
        None | Some("") => return Ok(T::default()),
        Some(q) => q,
    };
    let kept: String;
    let q = if m.cfg.empty_strings_as_absent {
        // `?search=&type=` as a form sends it: every query parameter is optional.
        kept = q
            .split('&')
            .filter(|pair| pair.split_once('=').is_none_or(|(_, v)| !v.is_empty()))
            .collect::<Vec<_>>()
            .join("&");
        kept.as_str()
    } else {
        q
    };
    serde_urlencoded::from_str(q)
        .map_err(|e| ApiError::invalid(format!("invalid query parameter: {e}")))
}

// ---- store ------------------------------------------------------------------------------

async fn obtain_token(AxState(m): AxState<Mock>, Extension(caller): Extension<Caller>) -> Response {
    let (token, dropped) = m.sessions.issue(&caller.0, &m.cfg, m.now());
    m.clean_dropped(dropped);
    ok(&m, Ok(token))
}

async fn upload_callback(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Response {
    let r = body_of::<UploadCallbackRequest>(&m, &bytes, optional::CALLBACK).and_then(|req| {
        let grant = m
            .sessions
            .grant(&req.callback_param)
            .filter(|g| *g.app_key == caller.0.app_key)
            .ok_or_else(|| {
                ApiError::invalid(
                    "parameter `callbackParam` is invalid: obtain a token and pass its callbackParam",
                )
            })?;
        let env = m.env();
        caller.0.lock(&env).upload_callback(&caller.0, &grant, req, &env)
    });
    ok(&m, r)
}

// ---- resources --------------------------------------------------------------------------

async fn create_resource(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<CreateResourceRequest>(&m, &bytes, optional::CREATE_RESOURCE)
        .and_then(|req| caller.0.lock(&env).create_resource(req, &env));
    created(&m, &headers, r, |r| r.uuid.clone())
}

async fn list_resources(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let env = m.env();
    let r = query::<ListResourcesQuery>(&m, &uri)
        .and_then(|q| caller.0.read(&env).list_resources(&q, &env));
    ok(&m, r)
}

async fn resource_detail(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let env = m.env();
    let r = caller.0.read(&env).resource_detail(&uuid);
    ok(&m, r)
}

async fn update_resource(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<UpdateRequest>(&m, &bytes, optional::UPDATE)
        .and_then(|req| caller.0.lock(&env).update_resource(&uuid, req, &env));
    created(&m, &headers, r, |r| r.uuid.clone())
}

#[derive(serde::Deserialize, Default)]
struct DeleteQuery {
    #[serde(rename = "deleteMode")]
    delete_mode: Option<String>,
}

async fn delete_resource(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    uri: Uri,
) -> Response {
    let env = m.env();
    let r = query::<DeleteQuery>(&m, &uri).and_then(|q| {
        caller
            .0
            .lock(&env)
            .delete_resource(&caller.0, &uuid, q.delete_mode.as_deref(), &env)
    });
    done(&m, r)
}

async fn copy_resource(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<UpdateRequest>(&m, &bytes, optional::UPDATE)
        .and_then(|req| caller.0.lock(&env).copy_resource(&uuid, req, &env));
    created(&m, &headers, r, |r| r.uuid.clone())
}

async fn file_operation(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<FileOperationRequest>(&m, &bytes, optional::FILE_OPERATION)
        .and_then(|req| caller.0.lock(&env).file_operation(&uuid, req, &env));
    ok(&m, r)
}

// ---- files ------------------------------------------------------------------------------

async fn list_files(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let env = m.env();
    let url = |p, k: &str| m.download_url(p, k);
    let r = query::<ListFilesQuery>(&m, &uri)
        .and_then(|q| caller.0.read(&env).list_files(&caller.0, &q, &env, &url));
    ok(&m, r)
}

async fn file_detail(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let env = m.env();
    let url = |p, k: &str| m.download_url(p, k);
    let r = caller.0.read(&env).file_detail(&caller.0, &uuid, &url);
    ok(&m, r)
}

async fn update_file(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<UpdateFileRequest>(&m, &bytes, optional::UPDATE_FILE)
        .and_then(|req| caller.0.lock(&env).update_file(&uuid, req, &env));
    created(&m, &headers, r, |f| f.uuid.clone())
}

async fn delete_file(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let env = m.env();
    let r = caller.0.lock(&env).delete_file(&caller.0, &uuid, &env);
    done(&m, r)
}

// ---- jobs -------------------------------------------------------------------------------

async fn create_job(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<CreateJobRequest>(&m, &bytes, optional::CREATE_JOB)
        .and_then(|req| caller.0.lock(&env).create_job(req.name, req.meta, &env));
    created(&m, &headers, r, |j| j.uuid.clone())
}

async fn list_jobs(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Response {
    let env = m.env();
    let r = query::<ListJobsQuery>(&m, &uri).and_then(|q| caller.0.read(&env).list_jobs(&q, &env));
    ok(&m, r)
}

async fn job_detail(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let env = m.env();
    let r = caller.0.read(&env).job_detail(&uuid, &env);
    ok(&m, r)
}

async fn update_job(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<UpdateRequest>(&m, &bytes, optional::UPDATE)
        .and_then(|req| caller.0.lock(&env).update_job(&uuid, req, &env));
    created(&m, &headers, r, |j| j.uuid.clone())
}

async fn delete_job(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let env = m.env();
    let r = caller.0.lock(&env).delete_job(&uuid);
    done(&m, r)
}

async fn start_job(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<StartJobRequest>(&m, &bytes, optional::START_JOB).and_then(|req| {
        let mut account = caller.0.lock(&env);
        m.start_job(&caller.0, &mut account, &uuid, req, &env)
    });
    ok(&m, r)
}

async fn stop_job(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
) -> Response {
    let env = m.env();
    let r = caller.0.lock(&env).stop_job(&uuid, &env);
    ok(&m, r)
}

async fn copy_job(
    AxState(m): AxState<Mock>,
    Extension(caller): Extension<Caller>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let env = m.env();
    let r = body_of::<UpdateRequest>(&m, &bytes, optional::UPDATE)
        .and_then(|req| caller.0.lock(&env).copy_job(&uuid, req, &env));
    created(&m, &headers, r, |j| j.uuid.clone())
}
