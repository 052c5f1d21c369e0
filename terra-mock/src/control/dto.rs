//! The JSON forms of the control API: what it reads and what it answers. Field names are
//! snake_case, like the configuration file (`terra-mock print-config`), so that one
//! vocabulary serves the TOML settings, the harness and the HTTP controls.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use terra_types::JobStatus;

use super::{AccountStats, ControlError, ControlResult};
use crate::clock::ClockMode;
use crate::config::{AccountConfig, FaultScope, Provider};
use crate::faults::{Fault, FaultRule};
use crate::record::RecordedRequest;
use crate::state::rows::ms as millis;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// An error answer: `{"error": {"kind": "not_found", "message": "..."}}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct ErrorDetail {
    /// `not_found`, `conflict`, `invalid`, `unauthorized`, `forbidden` or `unavailable`.
    pub kind: &'static str,
    /// What failed and what to do.
    pub message: String,
}

/// `GET /health`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct Health {
    /// Always `ok` when the mock answers.
    pub status: &'static str,
    /// terra-mock's version.
    pub version: &'static str,
    /// Seconds since the mock started (wall clock).
    pub uptime_secs: f64,
    /// The mock's clock.
    pub clock: ClockView,
    /// Whether state survives a restart (`--data-dir`).
    pub persistent: bool,
    /// Accounts.
    pub accounts: usize,
}

/// The mock's clock.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct ClockView {
    /// RFC 3339, UTC, milliseconds.
    pub now: String,
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// `system` (time runs) or `manual` (time stands still until advanced or set).
    pub mode: ClockMode,
}

impl ClockView {
    pub(crate) fn new(now: SystemTime, mode: ClockMode) -> Self {
        Self {
            now: terra_types::time::format_rfc3339(now),
            now_ms: millis(now),
            mode,
        }
    }
}

/// `POST /clock/advance`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct Advance {
    /// Seconds to move forward (fractions allowed).
    pub seconds: f64,
}

/// The longest step the clock takes at once: a hundred years.
const MAX_STEP_SECS: f64 = 100.0 * 365.25 * 86_400.0;

impl Advance {
    pub(crate) fn duration(&self) -> ControlResult<Duration> {
        if !(self.seconds.is_finite() && (0.0..=MAX_STEP_SECS).contains(&self.seconds)) {
            return Err(ControlError::invalid(format!(
                "`seconds` must be between 0 and {MAX_STEP_SECS}, got {}",
                self.seconds
            )));
        }
        Ok(Duration::from_secs_f64(self.seconds))
    }
}

/// `PUT /clock`: set the time, the mode, or both.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct SetClock {
    /// The new time, RFC 3339 (`2026-06-01T12:00:00Z`).
    #[serde(default)]
    pub now: Option<String>,
    /// The new time in milliseconds since the Unix epoch (instead of `now`).
    #[serde(default)]
    pub now_ms: Option<u64>,
    /// `system` or `manual`.
    #[serde(default)]
    pub mode: Option<ClockMode>,
}

impl SetClock {
    pub(crate) fn time(&self) -> ControlResult<Option<SystemTime>> {
        match (&self.now, self.now_ms) {
            (Some(_), Some(_)) => Err(ControlError::invalid("give `now` or `now_ms`, not both")),
            (Some(s), None) => terra_types::time::parse_rfc3339(s)
                .map(Some)
                .ok_or_else(|| {
                    ControlError::invalid(format!(
                        "`now` is not an RFC 3339 time (like 2026-06-01T12:00:00Z): {s:?}"
                    ))
                }),
            (None, Some(ms)) => Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))),
            (None, None) => Ok(None),
        }
    }
}

/// A job status by wire code (`3`) or name (`executing`, `finished`...).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(untagged)]
pub(crate) enum StatusSpec {
    /// The wire code, 0 to 7.
    Code(u8),
    /// `waiting`, `preparing`, `executing`, `result_processing`, `stopped`, `finished`
    /// (or `succeeded`), `failed`.
    Name(String),
}

impl StatusSpec {
    pub(crate) fn status(&self) -> ControlResult<JobStatus> {
        let s = match self {
            Self::Code(c) if *c <= 7 => JobStatus::from_code(i64::from(*c)),
            Self::Code(c) => {
                return Err(ControlError::invalid(format!(
                    "job status codes are 0 to 7, got {c}"
                )));
            }
            Self::Name(n) => match n.to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
                "created" => JobStatus::Created,
                "waiting" => JobStatus::Waiting,
                "preparing" => JobStatus::Preparing,
                "executing" => JobStatus::Executing,
                "result_processing" => JobStatus::ResultProcessing,
                "stopped" => JobStatus::Stopped,
                "finished" | "succeeded" => JobStatus::Succeeded,
                "failed" => JobStatus::Failed,
                _ => {
                    return Err(ControlError::invalid(format!(
                        "unknown job status {n:?}: use waiting, preparing, executing, \
                         result_processing, stopped, finished or failed (or codes 1 to 7)"
                    )));
                }
            },
        };
        Ok(s)
    }
}

/// `POST /jobs/{uuid}/move`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveJob {
    /// Where the job goes: a later running stage, `finished`, `stopped` or `failed`.
    pub status: StatusSpec,
    /// The job's message (for `stopped` and `failed`).
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /jobs/{uuid}/fail`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct FailJob {
    /// The job's message after failing.
    #[serde(default = "default_failure")]
    pub message: String,
    /// An error code (of the DJI Terra reconstruction error guide, say), put before the
    /// message as `CODE: message`.
    #[serde(default)]
    pub code: Option<String>,
}

fn default_failure() -> String {
    "Reconstruction failed".into()
}

/// `POST /jobs/fail-next`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct FailNext {
    /// How many of the next started jobs fail.
    #[serde(default = "one")]
    pub count: usize,
    /// The stage at whose end they fail (1 to 4 or its name); `executing` by default.
    #[serde(default)]
    pub at: Option<StatusSpec>,
    /// Their message after failing.
    #[serde(default = "default_failure")]
    pub message: String,
}

fn one() -> usize {
    1
}

/// `GET /jobs/fail-next`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct Queued {
    /// Failures waiting for the next started jobs.
    pub queued: usize,
}

/// A fault, as the control API reads and shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FaultSpec {
    /// Answer this status without processing (a gateway error).
    Status {
        /// HTTP status, 100 to 599.
        status: u16,
        /// `Retry-After` seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Process the request, then answer this status instead.
    StatusAfterProcessing {
        /// HTTP status, 100 to 599.
        status: u16,
    },
    /// Wait, then process normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without answering or processing.
    Reset,
    /// Process the request, then close the connection without answering.
    ResetAfterProcessing,
    /// Answer a TerraAPI envelope with this code, without processing.
    ApiError {
        /// HTTP status (200 by default, as the real service answers most errors).
        #[serde(default = "ok_status")]
        status: u16,
        /// `result.code`.
        code: i64,
        /// `result.msg`.
        #[serde(default)]
        message: String,
    },
}

fn ok_status() -> u16 {
    200
}

fn check_status(s: u16) -> ControlResult<u16> {
    if (100..=599).contains(&s) {
        Ok(s)
    } else {
        Err(ControlError::invalid(format!(
            "an HTTP status is 100 to 599, got {s}"
        )))
    }
}

impl FaultSpec {
    pub(crate) fn to_fault(&self) -> ControlResult<Fault> {
        Ok(match self {
            Self::Status {
                status,
                retry_after,
            } => Fault::Status {
                status: check_status(*status)?,
                retry_after: *retry_after,
            },
            Self::StatusAfterProcessing { status } => Fault::StatusAfterProcessing {
                status: check_status(*status)?,
            },
            Self::Delay { ms } if *ms > 600_000 => {
                return Err(ControlError::invalid(format!(
                    "a delay is at most 600000 ms, got {ms}"
                )));
            }
            Self::Delay { ms } => Fault::Delay(Duration::from_millis(*ms)),
            Self::Reset => Fault::Reset,
            Self::ResetAfterProcessing => Fault::ResetAfterProcessing,
            Self::ApiError {
                status,
                code,
                message,
            } => Fault::ApiError {
                status: check_status(*status)?,
                code: *code,
                message: message.clone(),
            },
        })
    }

    pub(crate) fn of(f: &Fault) -> Self {
        match f {
            Fault::Status {
                status,
                retry_after,
            } => Self::Status {
                status: *status,
                retry_after: *retry_after,
            },
            Fault::StatusAfterProcessing { status } => {
                Self::StatusAfterProcessing { status: *status }
            }
            Fault::Delay(d) => Self::Delay {
                ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            },
            Fault::Reset => Self::Reset,
            Fault::ResetAfterProcessing => Self::ResetAfterProcessing,
            Fault::ApiError {
                status,
                code,
                message,
            } => Self::ApiError {
                status: *status,
                code: *code,
                message: message.clone(),
            },
        }
    }
}

/// `POST /faults`: which requests a fault hits, how often, and what it does.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFault {
    /// HTTP method (`*` or absent: any).
    #[serde(default)]
    pub method: Option<String>,
    /// Request path, `*` matching within a segment and `**` across (absent: any).
    #[serde(default)]
    pub path: Option<String>,
    /// `all`, `api` or `storage`.
    #[serde(default)]
    pub scope: FaultScope,
    /// How many requests it hits (absent: every one until deleted).
    #[serde(default)]
    pub times: Option<usize>,
    /// What it does.
    pub fault: FaultSpec,
}

impl NewFault {
    pub(crate) fn rule(&self) -> ControlResult<FaultRule> {
        if self.times == Some(0) {
            return Err(ControlError::invalid(
                "`times` must be at least 1 (or absent: always)",
            ));
        }
        let mut r = match (&self.method, &self.path) {
            (None, None) => FaultRule::any(),
            (m, p) => FaultRule::on(m.as_deref().unwrap_or("*"), p.as_deref().unwrap_or("**")),
        }
        .scope(self.scope)
        .fault(self.fault.to_fault()?);
        r.check()
            .map_err(|e| ControlError::invalid(format!("`path`: {e}")))?;
        if let Some(n) = self.times {
            r = r.times(n);
        }
        Ok(r)
    }
}

/// A fault rule in force.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct FaultView {
    /// Its id (for `DELETE /faults/{id}`).
    pub id: u64,
    /// Method matched (absent: any).
    pub method: Option<String>,
    /// Path pattern matched (absent: any).
    pub path: Option<String>,
    /// `all`, `api` or `storage`.
    pub scope: FaultScope,
    /// Hits left (absent: unlimited).
    pub remaining: Option<usize>,
    /// What it does.
    pub fault: FaultSpec,
}

impl FaultView {
    pub(crate) fn of(id: u64, r: &FaultRule) -> Self {
        Self {
            id,
            method: r.method.clone(),
            path: r.path_pattern().map(str::to_owned),
            scope: r.scope,
            remaining: r.remaining,
            fault: FaultSpec::of(&r.fault),
        }
    }
}

/// `POST /faults` answers the new rule's id.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct Created {
    /// The id.
    pub id: u64,
}

/// Filters of `GET /requests`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestQuery {
    /// At most this many, newest first (100 by default, 10 000 at most).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only this method.
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths starting with this.
    #[serde(default)]
    pub path: Option<String>,
    /// Only this HTTP status (0: connections reset by a fault).
    #[serde(default)]
    pub status: Option<u16>,
    /// Only this account's requests.
    #[serde(default)]
    pub app_key: Option<String>,
    /// Only answers with this TerraAPI `result.code`.
    #[serde(default)]
    pub api_code: Option<i64>,
    /// Only requests at or after this time (milliseconds since the epoch, mock clock).
    #[serde(default)]
    pub since_ms: Option<u64>,
    /// Only requests refused (`true`) or served (`false`).
    #[serde(default)]
    pub refused: Option<bool>,
    /// Only requests refused or warned with this reason code (`signature_mismatch`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// Include headers and bodies.
    #[serde(default)]
    pub full: bool,
}

/// The largest page of `GET /requests`.
pub(crate) const MAX_REQUESTS_PAGE: usize = 10_000;

/// A header of a logged request.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct HeaderView {
    /// Lower-case name.
    pub name: String,
    /// Value (credentials redacted).
    pub value: String,
}

/// A logged request.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct RequestView {
    /// When it arrived (RFC 3339, mock clock).
    pub at: String,
    /// Milliseconds since the epoch (mock clock).
    pub at_ms: u64,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Path and query (credentials redacted).
    pub target: String,
    /// HTTP status answered (0: the connection was reset by a fault).
    pub status: u16,
    /// The account, when the request was authenticated.
    pub app_key: Option<String>,
    /// The TerraAPI `result.code` answered, for API calls.
    pub api_code: Option<i64>,
    /// Milliseconds from arrival to the answer's head.
    pub latency_ms: f64,
    /// The injected fault, if any.
    pub fault: Option<String>,
    /// Why it was refused, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<crate::Reason>,
    /// What was let through that a stricter server would refuse.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::Reason>,
    /// Headers (with `full=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<HeaderView>>,
    /// Body as text (with `full=true`; first 64 KiB, API calls only; invalid UTF-8 replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl RequestView {
    pub(crate) fn of(r: &RecordedRequest, full: bool) -> Self {
        Self {
            at: terra_types::time::format_rfc3339(r.at),
            at_ms: millis(r.at),
            method: r.method.clone(),
            path: r.path().to_owned(),
            target: r.target.clone(),
            status: r.status,
            app_key: r.app_key.clone(),
            api_code: r.api_code,
            latency_ms: r.latency.as_secs_f64() * 1000.0,
            fault: r.fault.clone(),
            refusal: r.refusal.clone(),
            warnings: r.warnings.clone(),
            headers: full.then(|| {
                r.headers()
                    .map(|(n, v)| HeaderView {
                        name: n.to_owned(),
                        value: v.to_owned(),
                    })
                    .collect()
            }),
            body: full.then(|| String::from_utf8_lossy(&r.body).into_owned()),
        }
    }
}

/// An account as the control API shows it (its secret is never shown).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct AccountView {
    /// App key.
    pub app_key: String,
    /// `s3` or `oss`.
    pub provider: Provider,
    /// Running-job limit of this account (absent: the mock's).
    pub max_running_jobs: Option<usize>,
    /// Job-start quota of this account (absent: the mock's).
    pub job_quota: Option<u64>,
    /// STS token lifetime of this account, seconds (absent: the mock's).
    pub token_lifetime_secs: Option<u64>,
    /// What it holds.
    pub stats: AccountStats,
}

impl AccountView {
    pub(crate) fn of(c: AccountConfig, stats: AccountStats) -> Self {
        Self {
            app_key: c.app_key,
            provider: c.provider,
            max_running_jobs: c.max_running_jobs,
            job_quota: c.job_quota,
            token_lifetime_secs: c.token_lifetime_secs,
            stats,
        }
    }
}

/// `GET /stats`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct Stats {
    /// Every account with what it holds.
    pub accounts: Vec<AccountView>,
    /// Stored objects, every bucket.
    pub objects: usize,
    /// Multipart uploads in progress.
    pub multipart_uploads: usize,
    /// STS sessions remembered.
    pub sessions: usize,
    /// Requests in the log.
    pub requests_logged: usize,
    /// Scripted fault rules in force.
    pub fault_rules: usize,
    /// Job failures queued.
    pub queued_failures: usize,
}

/// Page of a listing (`limit`, newest first).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct Limit {
    /// At most this many (100 by default, 1000 at most).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Limit {
    pub(crate) fn get(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

/// `POST /accounts/{app_key}/tokens` answers a fresh STS token, as `GET /sts/token`
/// would (wire form).
pub(crate) type Token = terra_types::StsToken;
