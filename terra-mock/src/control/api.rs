//! The control API over HTTP, under [`CONTROL_PREFIX`]: the same operations as the Rust
//! harness, JSON in and out, for tests in any language. Described by the OpenAPI document
//! it serves at `/_terra-mock/v1/openapi.json`.
//!
//! Who may call it: with an admin token configured, whoever sends
//! `Authorization: Bearer <token>`; without one, loopback callers only (and in-process
//! callers of [`crate::TerraMock::router`]). A server bound to a non-loopback address
//! without a token keeps it off. The dashboard page and the two documents carry no state
//! and are served to anyone.
//!
//! Control requests never go through fault injection and are not in the request log.

use axum::Router;
use axum::extract::{Path, Request, State as AxState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use super::dto;
pub(crate) use super::refusal::Refusal;
use super::refusal::{gate, tally};
use super::{Control, ControlError, RequestFilter};
use crate::config::{AccountConfig, JobTiming, Provider, RandomFaults};
use crate::core::Mock;
use crate::cors::CorsConfig;

pub(crate) use super::{CONTROL_PREFIX, MOCK_PREFIX};

/// The OpenAPI 3.1 document of the control API (generated from the types of `dto.rs`; a
/// test keeps it in step).
pub(crate) const CONTROL_OPENAPI: &str = include_str!("../../openapi/control-api.json");
/// The OpenAPI 3.1 document of TerraAPI v2 (generated from terra-types).
pub(crate) const TERRA_OPENAPI: &str = include_str!("../../openapi/terra-api.json");
/// The dashboard.
const DASHBOARD: &str = include_str!("dashboard.html");

/// The largest JSON body of a control call (an import of the whole state excepted).
const BODY_LIMIT: usize = 1 << 20;

type Answer<T> = Result<axum::Json<T>, Refusal>;

fn ok<T>(v: T) -> Answer<T> {
    Ok(axum::Json(v))
}

/// The routes of the control API, the dashboard and the documents.
pub(crate) fn router(m: Mock) -> Router {
    let v1 = |p: &str| format!("{CONTROL_PREFIX}{p}");
    let api = Router::new()
        .route(&v1("/health"), get(health))
        .route(&v1("/reset"), post(reset))
        .route(&v1("/stats"), get(stats))
        .route(&v1("/accounts"), get(accounts).post(create_account))
        .route(
            &v1("/accounts/{app_key}"),
            get(account).delete(delete_account),
        )
        .route(&v1("/accounts/{app_key}/reset"), post(reset_account))
        .route(&v1("/accounts/{app_key}/tokens"), post(issue_token))
        .route(&v1("/accounts/{app_key}/resources"), get(resources))
        .route(
            &v1("/accounts/{app_key}/resources/{uuid}/files"),
            get(resource_files),
        )
        .route(&v1("/accounts/{app_key}/jobs"), get(jobs))
        .route(&v1("/accounts/{app_key}/jobs/{uuid}/view"), get(job_view))
        .route(&v1("/tokens/expire"), post(expire_tokens))
        .route(&v1("/clock"), get(clock).put(set_clock))
        .route(&v1("/clock/advance"), post(advance))
        .route(&v1("/jobs/timing"), get(timing).put(set_timing))
        .route(
            &v1("/storage/{provider}/cors"),
            get(storage_cors)
                .put(set_storage_cors)
                .delete(reset_storage_cors),
        )
        .route(
            &v1("/jobs/fail-next"),
            get(queued).post(fail_next).delete(clear_queued),
        )
        .route(&v1("/jobs/{uuid}/move"), post(move_job))
        .route(&v1("/jobs/{uuid}/fail"), post(fail_job))
        .route(
            &v1("/faults"),
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route(&v1("/faults/{id}"), delete(remove_fault))
        .route(
            &v1("/faults/random"),
            get(random_faults)
                .put(set_random_faults)
                .delete(clear_random_faults),
        )
        .route(&v1("/requests"), get(requests).delete(clear_requests))
        .route(&v1("/report"), get(report))
        .route(&v1("/state"), get(export).put(import))
        .method_not_allowed_fallback(no_method)
        .layer(middleware::from_fn_with_state(m.clone(), gate));
    Router::new()
        .route(
            &v1("/openapi.json"),
            get(|| async { json_doc(CONTROL_OPENAPI) }),
        )
        .route(
            &format!("{MOCK_PREFIX}/terra-api.json"),
            get(|| async { json_doc(TERRA_OPENAPI) }),
        )
        .route(&format!("{MOCK_PREFIX}/"), get(dashboard))
        .route(MOCK_PREFIX, get(dashboard))
        .merge(api)
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(m.clone(), guard))
        .layer(middleware::from_fn_with_state(m.clone(), tally))
        .with_state(m)
}

/// The rules every request to `/_terra-mock` meets first (`guard.rs`).
async fn guard(AxState(m): AxState<Mock>, req: Request, next: Next) -> Response {
    match super::guard::check(&req, &m.cfg) {
        Ok(()) => next.run(req).await,
        Err(r) => Refusal::Guard(r).into_response(),
    }
}

fn json_doc(doc: &'static str) -> Response {
    (
        [(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc,
    )
        .into_response()
}

async fn dashboard() -> Response {
    (
        [
            (
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                http::header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                     connect-src 'self'; img-src data:",
                ),
            ),
        ],
        DASHBOARD,
    )
        .into_response()
}

async fn no_route(req: Request) -> Refusal {
    Refusal::NoRoute(req.method().clone(), req.uri().path().to_owned())
}

async fn no_method(req: Request) -> Refusal {
    Refusal::NoMethod(req.method().clone(), req.uri().path().to_owned())
}

// ---- extractors that answer JSON errors ------------------------------------------------

/// A JSON body (an empty body reads as `{}`).
struct JsonIn<T>(T);

impl<T: DeserializeOwned> axum::extract::FromRequest<Mock> for JsonIn<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, m: &Mock) -> Result<Self, Refusal> {
        let limit = if req.uri().path().ends_with("/state") {
            m.cfg.state_document_limit_bytes
        } else {
            BODY_LIMIT
        };
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| Refusal::TooLarge(limit))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let de = &mut serde_json::Deserializer::from_slice(text);
        serde_path_to_error::deserialize(de)
            .map(JsonIn)
            .map_err(|e| {
                let at = e.path().to_string();
                let inner = e.into_inner();
                Refusal::Op(ControlError::invalid(if at == "." {
                    format!("invalid JSON body: {inner}")
                } else {
                    format!("invalid JSON body at `{at}`: {inner}")
                }))
            })
    }
}

/// A query string.
struct QueryIn<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for QueryIn<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Refusal> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(QueryIn)
            .map_err(|e| Refusal::Op(ControlError::invalid(format!("invalid query: {e}"))))
    }
}

/// Path parameters (a malformed percent-encoding is the caller's error).
struct Params<T>(T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut http::request::Parts, s: &S) -> Result<Self, Refusal> {
        Path::<T>::from_request_parts(parts, s)
            .await
            .map(|Path(v)| Params(v))
            .map_err(|e| Refusal::Op(ControlError::invalid(format!("invalid path: {e}"))))
    }
}

fn control(m: &Mock) -> Control<'_> {
    Control(m)
}

// ---- handlers ------------------------------------------------------------------------

async fn health(AxState(m): AxState<Mock>) -> Answer<dto::Health> {
    let c = control(&m);
    ok(dto::Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: m.started.elapsed().as_secs_f64(),
        clock: dto::ClockView::new(c.now(), c.clock_mode()),
        persistent: m.persistent(),
        accounts: m.accounts.all().len(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetQuery {
    app_key: Option<String>,
}

async fn reset(
    AxState(m): AxState<Mock>,
    QueryIn(q): QueryIn<ResetQuery>,
) -> Result<StatusCode, Refusal> {
    match q.app_key {
        Some(k) => control(&m).reset_account(&k)?,
        None => control(&m).reset(),
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn stats(AxState(m): AxState<Mock>) -> Answer<dto::Stats> {
    ok(control(&m).summary())
}

async fn accounts(AxState(m): AxState<Mock>) -> Answer<Vec<dto::AccountView>> {
    ok(control(&m).summary().accounts)
}

async fn create_account(
    AxState(m): AxState<Mock>,
    JsonIn(c): JsonIn<AccountConfig>,
) -> Result<(StatusCode, axum::Json<dto::AccountView>), Refusal> {
    let ctl = control(&m);
    let created = ctl.create_account(c)?;
    let stats = ctl.stats(&created.app_key)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(dto::AccountView::of(created, stats)),
    ))
}

async fn account(AxState(m): AxState<Mock>, Params(k): Params<String>) -> Answer<dto::AccountView> {
    let c = control(&m);
    let stats = c.stats(&k)?;
    let cfg = c
        .accounts()
        .into_iter()
        .find(|a| a.app_key == k)
        .ok_or_else(|| ControlError::not_found(format!("no account with app key {k:?}")))?;
    ok(dto::AccountView::of(cfg, stats))
}

async fn delete_account(
    AxState(m): AxState<Mock>,
    Params(k): Params<String>,
) -> Result<StatusCode, Refusal> {
    control(&m).delete_account(&k)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_account(
    AxState(m): AxState<Mock>,
    Params(k): Params<String>,
) -> Result<StatusCode, Refusal> {
    control(&m).reset_account(&k)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn issue_token(AxState(m): AxState<Mock>, Params(k): Params<String>) -> Answer<dto::Token> {
    ok(control(&m).issue_token(&k)?)
}

async fn expire_tokens(AxState(m): AxState<Mock>) -> StatusCode {
    control(&m).expire_tokens();
    StatusCode::NO_CONTENT
}

async fn resources(
    AxState(m): AxState<Mock>,
    Params(k): Params<String>,
    QueryIn(l): QueryIn<dto::Limit>,
) -> Answer<Vec<terra_types::Resource>> {
    ok(control(&m).resources(&k, l.get())?)
}

async fn resource_files(
    AxState(m): AxState<Mock>,
    Params((k, r)): Params<(String, String)>,
    QueryIn(l): QueryIn<dto::Limit>,
) -> Answer<Vec<terra_types::File>> {
    ok(control(&m).resource_files(&k, &r, l.get())?)
}

async fn jobs(
    AxState(m): AxState<Mock>,
    Params(k): Params<String>,
    QueryIn(l): QueryIn<dto::Limit>,
) -> Answer<Vec<terra_types::Job>> {
    ok(control(&m).jobs(&k, l.get())?)
}

fn clock_view(m: &Mock) -> dto::ClockView {
    let c = control(m);
    dto::ClockView::new(c.now(), c.clock_mode())
}

async fn clock(AxState(m): AxState<Mock>) -> Answer<dto::ClockView> {
    ok(clock_view(&m))
}

async fn set_clock(
    AxState(m): AxState<Mock>,
    JsonIn(s): JsonIn<dto::SetClock>,
) -> Answer<dto::ClockView> {
    let to = s.time()?;
    let c = control(&m);
    if let Some(mode) = s.mode {
        c.set_clock_mode(mode);
    }
    if let Some(t) = to {
        c.set_clock(t);
    }
    ok(clock_view(&m))
}

async fn advance(
    AxState(m): AxState<Mock>,
    JsonIn(a): JsonIn<dto::Advance>,
) -> Answer<dto::ClockView> {
    control(&m).advance(a.duration()?);
    ok(clock_view(&m))
}

async fn timing(AxState(m): AxState<Mock>) -> Answer<JobTiming> {
    ok(control(&m).timing())
}

async fn set_timing(AxState(m): AxState<Mock>, JsonIn(t): JsonIn<JobTiming>) -> Answer<JobTiming> {
    let c = control(&m);
    c.set_timing(t)?;
    ok(c.timing())
}

async fn storage_cors(
    AxState(m): AxState<Mock>,
    Params(provider): Params<Provider>,
) -> Answer<CorsConfig> {
    ok(control(&m).storage_cors(provider))
}

async fn set_storage_cors(
    AxState(m): AxState<Mock>,
    Params(provider): Params<Provider>,
    JsonIn(c): JsonIn<CorsConfig>,
) -> Answer<CorsConfig> {
    let ctl = control(&m);
    ctl.set_storage_cors(provider, Some(c))?;
    ok(ctl.storage_cors(provider))
}

async fn reset_storage_cors(
    AxState(m): AxState<Mock>,
    Params(provider): Params<Provider>,
) -> Answer<CorsConfig> {
    let ctl = control(&m);
    ctl.set_storage_cors(provider, None)?;
    ok(ctl.storage_cors(provider))
}

async fn queued(AxState(m): AxState<Mock>) -> Answer<dto::Queued> {
    ok(dto::Queued {
        queued: m.failures.len(),
    })
}

async fn fail_next(
    AxState(m): AxState<Mock>,
    JsonIn(f): JsonIn<dto::FailNext>,
) -> Answer<dto::Queued> {
    let at = match &f.at {
        Some(s) => s.status()?,
        None => terra_types::JobStatus::Executing,
    };
    let queued = control(&m).fail_next(
        f.count,
        crate::JobFailure {
            at,
            message: f.message,
        },
    )?;
    ok(dto::Queued { queued })
}

async fn clear_queued(AxState(m): AxState<Mock>) -> StatusCode {
    m.failures.clear();
    StatusCode::NO_CONTENT
}

async fn move_job(
    AxState(m): AxState<Mock>,
    Params(uuid): Params<String>,
    JsonIn(mv): JsonIn<dto::MoveJob>,
) -> Answer<terra_types::Job> {
    let status = mv.status.status()?;
    ok(control(&m).move_job(&uuid, status, mv.message.as_deref())?)
}

async fn fail_job(
    AxState(m): AxState<Mock>,
    Params(uuid): Params<String>,
    JsonIn(f): JsonIn<dto::FailJob>,
) -> Answer<terra_types::Job> {
    ok(control(&m).fail_job(&uuid, &f.message, f.code.as_deref())?)
}

async fn faults(AxState(m): AxState<Mock>) -> Answer<Vec<dto::FaultView>> {
    ok(control(&m)
        .faults()
        .iter()
        .map(|(id, r)| dto::FaultView::of(*id, r))
        .collect())
}

async fn add_fault(
    AxState(m): AxState<Mock>,
    JsonIn(f): JsonIn<dto::NewFault>,
) -> Result<(StatusCode, axum::Json<dto::Created>), Refusal> {
    let id = control(&m).add_fault(f.rule()?)?;
    Ok((StatusCode::CREATED, axum::Json(dto::Created { id })))
}

async fn clear_faults(AxState(m): AxState<Mock>) -> StatusCode {
    control(&m).clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    AxState(m): AxState<Mock>,
    Params(id): Params<u64>,
) -> Result<StatusCode, Refusal> {
    control(&m).remove_fault(id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn random_faults(AxState(m): AxState<Mock>) -> Answer<Option<RandomFaults>> {
    ok(control(&m).random_faults())
}

async fn set_random_faults(
    AxState(m): AxState<Mock>,
    JsonIn(f): JsonIn<RandomFaults>,
) -> Answer<Option<RandomFaults>> {
    let c = control(&m);
    c.set_random_faults(Some(f))?;
    ok(c.random_faults())
}

async fn clear_random_faults(AxState(m): AxState<Mock>) -> Result<StatusCode, Refusal> {
    control(&m).set_random_faults(None)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn requests(
    AxState(m): AxState<Mock>,
    QueryIn(q): QueryIn<dto::RequestQuery>,
) -> Answer<Vec<dto::RequestView>> {
    let limit = q.limit.unwrap_or(100);
    if limit > dto::MAX_REQUESTS_PAGE {
        return Err(ControlError::invalid(format!(
            "`limit` is at most {}, got {limit}",
            dto::MAX_REQUESTS_PAGE
        ))
        .into());
    }
    let code = match q.code.as_deref() {
        None => None,
        Some(c) => Some(crate::ReasonCode::parse(c).ok_or_else(|| {
            let known: Vec<&str> = crate::ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
            ControlError::invalid(format!(
                "no reason code {c:?}; the codes are {}",
                known.join(", ")
            ))
        })?),
    };
    let f = RequestFilter {
        limit: Some(limit),
        method: q.method,
        path: q.path,
        status: q.status,
        app_key: q.app_key,
        api_code: q.api_code,
        since: q
            .since_ms
            .map(|ms| std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)),
        refused: q.refused,
        code,
    };
    ok(control(&m)
        .requests(&f)
        .iter()
        .map(|r| dto::RequestView::of(r, q.full))
        .collect())
}

async fn job_view(
    AxState(m): AxState<Mock>,
    Path((app_key, uuid)): Path<(String, String)>,
) -> Answer<super::view::JobView> {
    ok(control(&m).job_view(&app_key, &uuid)?)
}

/// `?format=text` for the text form (what `terra mock report` prints).
#[derive(Debug, Default, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// `json` (the default) or `text`.
    #[serde(default)]
    pub format: Option<String>,
}

async fn report(
    AxState(m): AxState<Mock>,
    QueryIn(q): QueryIn<ReportQuery>,
) -> Result<Response, Refusal> {
    let report = control(&m).report();
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(report).into_response()),
        Some("text") => Ok((
            [(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            report.to_text(),
        )
            .into_response()),
        Some(other) => {
            Err(ControlError::invalid(format!("`format` is json or text, not {other:?}")).into())
        }
    }
}

async fn clear_requests(AxState(m): AxState<Mock>) -> StatusCode {
    control(&m).clear_requests();
    StatusCode::NO_CONTENT
}

async fn export(AxState(m): AxState<Mock>) -> Result<Response, Refusal> {
    let m2 = m.clone();
    let doc = tokio::task::spawn_blocking(move || control(&m2).export())
        .await
        .map_err(|e| ControlError::conflict(format!("export failed: {e}")))??;
    Ok(axum::Json(doc).into_response())
}

async fn import(
    AxState(m): AxState<Mock>,
    JsonIn(doc): JsonIn<crate::state::rows::StateDoc>,
) -> Result<StatusCode, Refusal> {
    let m2 = m.clone();
    tokio::task::spawn_blocking(move || control(&m2).import(doc))
        .await
        .map_err(|e| ControlError::conflict(format!("import failed: {e}")))??;
    Ok(StatusCode::NO_CONTENT)
}
