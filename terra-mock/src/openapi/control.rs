//! The control API document, generated from the types of `control/dto.rs`.

use serde_json::{Map, Value, json};

use super::{Doc, Op, responses};
use crate::control::dto;

/// The control API document.
///
/// ```
/// let doc = terra_mock::openapi::control_api();
/// assert!(doc["paths"]["/_terra-mock/v1/clock/advance"]["post"].is_object());
/// ```
pub fn control_api() -> Value {
    use crate::config::{AccountConfig, JobTiming, RandomFaults};
    let mut d = Doc::new();
    let error = d.schema::<dto::ErrorBody>();
    macro_rules! op {
        ($method:literal, $path:literal, $id:literal, $summary:literal, $params:expr, $body:expr, $ok:literal, $resp:expr) => {{
            let body: Option<Value> = $body;
            let resp: Value = $resp;
            let ok_text = if resp.is_null() { "Done (no body)." } else { "Success." };
            let mut r = responses(&[($ok, ok_text, resp)]);
            r.insert(
                "4XX".into(),
                json!({"description": "Refused: `error.kind` is not_found, conflict, invalid, unauthorized (no or wrong admin token), forbidden (not a loopback caller) or unavailable (control API off).", "content": {"application/json": {"schema": error.clone()}}}),
            );
            d.ops.push(Op {
                method: $method,
                path: concat!("/_terra-mock/v1", $path),
                id: $id,
                summary: $summary,
                params: $params,
                body,
                responses: r,
            });
        }};
    }
    let limit = d.query::<dto::Limit>();
    let s = d.schema::<dto::Health>();
    op!(
        "get",
        "/health",
        "health",
        "Is the mock up: version, uptime, clock, persistence",
        vec![],
        None,
        "200",
        s
    );
    op!(
        "post",
        "/reset",
        "reset",
        "Everything back to the start (or one account, with `app_key`)",
        vec![
            json!({"name": "app_key", "in": "query", "required": false, "schema": {"type": "string"}})
        ],
        None,
        "204",
        Value::Null
    );
    let s = d.schema::<dto::Stats>();
    op!(
        "get",
        "/stats",
        "stats",
        "Every account with what it holds, and the mock's totals",
        vec![],
        None,
        "200",
        s
    );
    let s = d.schema::<Vec<dto::AccountView>>();
    op!(
        "get",
        "/accounts",
        "listAccounts",
        "Every account (without secrets)",
        vec![],
        None,
        "200",
        s
    );
    let (b, s) = (d.schema::<AccountConfig>(), d.schema::<dto::AccountView>());
    op!(
        "post",
        "/accounts",
        "createAccount",
        "Add an account: app key, secret, provider, quota, running-job limit, token lifetime",
        vec![],
        Some(b),
        "201",
        s.clone()
    );
    op!(
        "get",
        "/accounts/{app_key}",
        "getAccount",
        "One account with what it holds",
        vec![],
        None,
        "200",
        s
    );
    op!(
        "delete",
        "/accounts/{app_key}",
        "deleteAccount",
        "Delete an account with its state, sessions and objects",
        vec![],
        None,
        "204",
        Value::Null
    );
    op!(
        "post",
        "/accounts/{app_key}/reset",
        "resetAccount",
        "Empty one account (its settings stay)",
        vec![],
        None,
        "204",
        Value::Null
    );
    let s = d.schema::<terra_types::StsToken>();
    op!(
        "post",
        "/accounts/{app_key}/tokens",
        "issueToken",
        "STS credentials for the account, as obtain_token gives",
        vec![],
        None,
        "200",
        s
    );
    let s = d.schema::<Vec<terra_types::Resource>>();
    op!(
        "get",
        "/accounts/{app_key}/resources",
        "accountResources",
        "The newest resources of an account (wire form)",
        limit.clone(),
        None,
        "200",
        s
    );
    let s = d.schema::<Vec<terra_types::File>>();
    op!(
        "get",
        "/accounts/{app_key}/resources/{uuid}/files",
        "resourceFiles",
        "The files of a resource (wire form)",
        limit.clone(),
        None,
        "200",
        s
    );
    let s = d.schema::<Vec<terra_types::Job>>();
    op!(
        "get",
        "/accounts/{app_key}/jobs",
        "accountJobs",
        "The newest jobs of an account (wire form)",
        limit,
        None,
        "200",
        s
    );
    let s = d.schema::<crate::control::view::JobView>();
    op!(
        "get",
        "/accounts/{app_key}/jobs/{uuid}/view",
        "jobView",
        "A job as the dashboard draws it: photo positions, extent, orthophoto (PNG), output files with download links",
        vec![],
        None,
        "200",
        s
    );
    op!(
        "post",
        "/tokens/expire",
        "expireTokens",
        "Make every STS token issued so far expired",
        vec![],
        None,
        "204",
        Value::Null
    );
    let c = d.schema::<dto::ClockView>();
    op!(
        "get",
        "/clock",
        "getClock",
        "The mock's time and clock mode",
        vec![],
        None,
        "200",
        c.clone()
    );
    let b = d.schema::<dto::SetClock>();
    op!(
        "put",
        "/clock",
        "setClock",
        "Set the time and/or switch between system and manual time",
        vec![],
        Some(b),
        "200",
        c.clone()
    );
    let b = d.schema::<dto::Advance>();
    op!(
        "post",
        "/clock/advance",
        "advanceClock",
        "Move time forward; jobs due move on",
        vec![],
        Some(b),
        "200",
        c
    );
    let t = d.schema::<JobTiming>();
    op!(
        "get",
        "/jobs/timing",
        "getTiming",
        "Stage durations of jobs started from now on",
        vec![],
        None,
        "200",
        t.clone()
    );
    op!(
        "put",
        "/jobs/timing",
        "setTiming",
        "Change the stage durations of jobs started from now on",
        vec![],
        Some(t.clone()),
        "200",
        t
    );
    let cors = d.schema::<crate::cors::CorsConfig>();
    let provider = json!({"name": "provider", "in": "path", "required": true, "schema": {"type": "string", "enum": ["s3", "oss"]}});
    op!(
        "get",
        "/storage/{provider}/cors",
        "getStorageCors",
        "The CORS configuration of a storage bucket now (no rules: CORS off)",
        vec![provider.clone()],
        None,
        "200",
        cors.clone()
    );
    op!(
        "put",
        "/storage/{provider}/cors",
        "setStorageCors",
        "Replace a bucket's CORS rules (`{\"rules\": []}` turns CORS off), as PutBucketCors would",
        vec![provider.clone()],
        Some(cors.clone()),
        "200",
        cors.clone()
    );
    op!(
        "delete",
        "/storage/{provider}/cors",
        "resetStorageCors",
        "Back to the configured CORS rules of a bucket",
        vec![provider],
        None,
        "200",
        cors
    );
    let q = d.schema::<dto::Queued>();
    op!(
        "get",
        "/jobs/fail-next",
        "queuedFailures",
        "How many started jobs are set to fail",
        vec![],
        None,
        "200",
        q.clone()
    );
    let b = d.schema::<dto::FailNext>();
    op!(
        "post",
        "/jobs/fail-next",
        "failNext",
        "Make the next N started jobs fail at the end of a stage",
        vec![],
        Some(b),
        "200",
        q
    );
    op!(
        "delete",
        "/jobs/fail-next",
        "clearQueuedFailures",
        "Forget the queued failures",
        vec![],
        None,
        "204",
        Value::Null
    );
    let (b, j) = (d.schema::<dto::MoveJob>(), d.schema::<terra_types::Job>());
    op!(
        "post",
        "/jobs/{uuid}/move",
        "moveJob",
        "Move a started job on to a status now (outputs made on the way)",
        vec![],
        Some(b),
        "200",
        j.clone()
    );
    let b = d.schema::<dto::FailJob>();
    op!(
        "post",
        "/jobs/{uuid}/fail",
        "failJob",
        "Fail a running job now with a code and reason",
        vec![],
        Some(b),
        "200",
        j
    );
    let s = d.schema::<Vec<dto::FaultView>>();
    op!(
        "get",
        "/faults",
        "listFaults",
        "The scripted fault rules in force, first match first",
        vec![],
        None,
        "200",
        s
    );
    let (b, s) = (d.schema::<dto::NewFault>(), d.schema::<dto::Created>());
    op!(
        "post",
        "/faults",
        "addFault",
        "Add a fault rule: route, method, count, status or envelope code, latency, connection reset",
        vec![],
        Some(b),
        "201",
        s
    );
    op!(
        "delete",
        "/faults",
        "clearFaults",
        "Remove every scripted rule and the random faults",
        vec![],
        None,
        "204",
        Value::Null
    );
    op!(
        "delete",
        "/faults/{id}",
        "deleteFault",
        "Remove one rule",
        vec![],
        None,
        "204",
        Value::Null
    );
    let r = d.schema::<Option<RandomFaults>>();
    op!(
        "get",
        "/faults/random",
        "getRandomFaults",
        "The seeded random-fault settings (null: off)",
        vec![],
        None,
        "200",
        r.clone()
    );
    let b = d.schema::<RandomFaults>();
    op!(
        "put",
        "/faults/random",
        "setRandomFaults",
        "Set the seeded random faults",
        vec![],
        Some(b),
        "200",
        r
    );
    op!(
        "delete",
        "/faults/random",
        "clearRandomFaults",
        "Stop the random faults",
        vec![],
        None,
        "204",
        Value::Null
    );
    let (p, s) = (
        d.query::<dto::RequestQuery>(),
        d.schema::<Vec<dto::RequestView>>(),
    );
    op!(
        "get",
        "/requests",
        "listRequests",
        "What was received, newest first, with filters",
        p,
        None,
        "200",
        s
    );
    op!(
        "delete",
        "/requests",
        "clearRequests",
        "Forget the received requests (and the report's tally)",
        vec![],
        None,
        "204",
        Value::Null
    );
    let (p, s) = (
        d.query::<crate::control::api::ReportQuery>(),
        d.schema::<crate::Report>(),
    );
    op!(
        "get",
        "/report",
        "report",
        "Refusals and warnings by code and client, with the first example of each (`format=text` for text)",
        p,
        None,
        "200",
        s
    );
    let s = d.schema::<crate::state::rows::StateDoc>();
    op!(
        "get",
        "/state",
        "exportState",
        "The whole state as JSON, objects inline (base64)",
        vec![],
        None,
        "200",
        s.clone()
    );
    op!(
        "put",
        "/state",
        "importState",
        "Replace the whole state with an export",
        vec![],
        Some(s),
        "204",
        Value::Null
    );
    op!(
        "get",
        "/openapi.json",
        "openApi",
        "This document",
        vec![],
        None,
        "200",
        json!({"type": "object"})
    );
    let info = json!({
        "title": "terra-mock control API",
        "version": "1",
        "description": "The emulator's controls, for tests in any language: accounts, the clock, \
            jobs, faults, the request log, stats, reset, export and import. Loopback callers \
            only, unless the server has an admin token (then `Authorization: Bearer <token>`). \
            Control calls are neither faulted nor logged.",
        "license": {"name": "MIT OR Apache-2.0"},
    });
    let mut extra = Map::new();
    extra.insert(
        "securitySchemes".into(),
        json!({"adminToken": {"type": "http", "scheme": "bearer", "description": "Only when the server runs with --admin-token."}}),
    );
    d.finish(info, extra)
}
