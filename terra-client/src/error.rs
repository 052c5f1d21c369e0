//! The one error type of the client.

use std::time::Duration;

use terra_types::{ApiCode, ApiResult};

/// What kind of failure an [`Error`] is. New kinds may be added.
///
/// ```
/// use terra_client::{Error, ErrorKind};
/// fn advice(e: &Error) -> &'static str {
///     match e.kind() {
///         ErrorKind::Authentication => "check DJI_APP_KEY / DJI_SECRET_KEY and the clock",
///         ErrorKind::JobLimit => "wait for a running job to end",
///         _ if e.is_retryable() => "try again later",
///         _ => "see the message",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The gateway refused the signature or date (HTTP 401/403 with `{"message"}`), or the
    /// service answered code 701.
    Authentication,
    /// 102002 or 102114: no such resource, file or job.
    NotFound,
    /// 102001: a parameter is invalid (`msg` names it), or a job parameter failed
    /// validation before anything was sent.
    InvalidParameter,
    /// 102003: not allowed in the current state.
    InvalidOperation,
    /// 801: too many running jobs.
    JobLimit,
    /// 102116: quota or plan exhausted.
    Billing,
    /// Any other API code (102000 and codes this version does not know).
    Api,
    /// An HTTP error status without a TerraAPI envelope (429, 5xx from a proxy, ...).
    HttpStatus,
    /// The connection failed or broke.
    Transport,
    /// An attempt or the whole call took too long.
    Timeout,
    /// The response could not be decoded; the message names the JSON path.
    Decode,
    /// The client is misconfigured (missing credentials, bad endpoint).
    Config,
    /// A job ended in status 7 (failed); the message is the job's.
    JobFailed,
    /// A job ended in status 5 (stopped).
    JobStopped,
    /// The local input is not usable (missing or empty folder, too few photos, an output
    /// folder of another run).
    Input,
    /// Object storage refused or failed an upload or download.
    Storage,
    /// A file name the service gave would put a download outside its folder (`..`, an
    /// absolute or drive path, a backslash); nothing was written for it.
    UnsafeName,
}

/// An error of a TerraAPI call: what failed, the API code and message if the service sent
/// one, the HTTP status, and what to do.
///
/// `Display` always shows the API code and message when there is one:
///
/// ```
/// # use terra_client::{Error, ErrorKind};
/// # fn show(e: &Error) {
/// // "POST /terra-rescon-be/v2/jobs/…/start: API error 102001 (parameter error): parameter `type` …"
/// eprintln!("{e}");
/// if e.kind() == ErrorKind::JobLimit { /* wait for a running job to end */ }
/// # }
/// ```
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    context: Option<String>,
    status: Option<u16>,
    api: Option<ApiResult>,
    message: String,
    retry_after: Option<Duration>,
    maybe_sent: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            context: None,
            status: None,
            api: None,
            message: message.into(),
            retry_after: None,
            maybe_sent: false,
            source: None,
        }))
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    /// An API error from the envelope's `result`.
    pub(crate) fn api(status: u16, result: ApiResult) -> Self {
        let kind = match result.code {
            ApiCode::Authentication => ErrorKind::Authentication,
            ApiCode::ResourceNotFound | ApiCode::JobNotFound => ErrorKind::NotFound,
            ApiCode::InvalidParameter => ErrorKind::InvalidParameter,
            ApiCode::InvalidOperation => ErrorKind::InvalidOperation,
            ApiCode::JobLimit => ErrorKind::JobLimit,
            ApiCode::Billing => ErrorKind::Billing,
            _ => ErrorKind::Api,
        };
        let mut e = Self::new(kind, result.msg.clone());
        e.0.status = Some(status);
        e.0.api = Some(result);
        e
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    pub(crate) fn with_context(mut self, context: impl Into<String>) -> Self {
        self.0.context = Some(context.into());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.0.retry_after = d;
        self
    }

    /// Marks that the request may have reached the service before failing.
    pub(crate) fn maybe_sent(mut self, yes: bool) -> Self {
        self.0.maybe_sent = yes;
        self
    }

    /// The kind of failure.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status, when a response arrived.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert_eq!(err.status(), Some(200)); // TerraAPI errors arrive with HTTP 200
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The API code (`result.code`), when the service sent an envelope.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert_eq!(err.api_code(), Some(ApiCode::JobNotFound)); // 102114
    /// # Ok(()) }
    /// ```
    pub fn api_code(&self) -> Option<ApiCode> {
        self.0.api.as_ref().map(|r| r.code)
    }

    /// The envelope's `result` (code, msg, desc), when the service sent one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// let result = err.api_result().unwrap();
    /// println!("{} {}: {}", result.code.code(), result.desc, result.msg);
    /// # Ok(()) }
    /// ```
    pub fn api_result(&self) -> Option<&ApiResult> {
        self.0.api.as_ref()
    }

    /// The message: the API's `msg`, the gateway's `message`, or a description.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert!(!err.message().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// `Retry-After` of the response, if it had one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert_eq!(err.retry_after(), None);
    /// # Ok(()) }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// Whether trying again may succeed: connection failures, timeouts, 429, 5xx and the
    /// internal-failure code 102000.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert!(!err.is_retryable(), "not found stays not found");
    /// # Ok(()) }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self.0.kind {
            ErrorKind::Transport | ErrorKind::Timeout => true,
            ErrorKind::HttpStatus => self.0.status.is_some_and(|s| s == 429 || s >= 500),
            ErrorKind::Api => {
                self.api_code() == Some(ApiCode::ServiceFailure)
                    || self.0.status.is_some_and(|s| s >= 500)
            }
            _ => false,
        }
    }

    /// Whether the request may have reached the service (and taken effect) even though the
    /// answer is an error: a broken connection after sending, a timeout, or a 5xx.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # use terra_client::ErrorKind;
    /// # use terra_types::ApiCode;
    /// // Starting a job that does not exist.
    /// # let start = terra_types::StartJobRequest::new("no-such-resource", &terra_types::JobParameters::new(terra_types::Map2dParams::default()))?;
    /// let err = client.start_job("no-such-job", &start).await.unwrap_err();
    /// assert!(!err.may_have_taken_effect(), "the service answered: nothing happened");
    /// # Ok(()) }
    /// ```
    pub fn may_have_taken_effect(&self) -> bool {
        self.0.maybe_sent
    }

    fn hint(&self) -> &'static str {
        match self.0.kind {
            ErrorKind::Authentication => {
                "check the app key and secret (DJI_APP_KEY / DJI_SECRET_KEY), that they belong to this region's host, and that the system clock is right (within 5 minutes)"
            }
            ErrorKind::NotFound => "check the uuid and that it belongs to this account",
            ErrorKind::InvalidParameter => "fix the named parameter",
            ErrorKind::InvalidOperation => {
                "the object's state does not allow this now (a started job's input is frozen; stop only works before status 4)"
            }
            ErrorKind::JobLimit => "wait for a running job to end, then start again",
            ErrorKind::Billing => "the account's quota is used up; check the TerraAPI console",
            ErrorKind::Api | ErrorKind::HttpStatus => "the service failed; try again later",
            ErrorKind::Transport => "check the network and the endpoint",
            ErrorKind::Timeout => {
                "the service did not answer in time; try again or raise the timeouts"
            }
            ErrorKind::Decode => {
                "the response does not have the documented shape; please report it"
            }
            ErrorKind::Config => "fix the client configuration",
            ErrorKind::JobFailed => {
                "see the job's message and the DJI Terra reconstruction error guide"
            }
            ErrorKind::JobStopped => "the job was stopped; copy or recreate it to run again",
            ErrorKind::Input => "fix the input and run again",
            ErrorKind::Storage => "the upload or download failed; run again to resume",
            ErrorKind::UnsafeName => {
                "nothing was written for it; leave the file out (--exclude) or give the path yourself (--out)"
            }
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(c) = &self.0.context {
            write!(f, "{c}: ")?;
        }
        match (&self.0.api, self.0.kind) {
            (Some(r), _) => {
                write!(
                    f,
                    "API error {} ({}): {}",
                    r.code.code(),
                    r.code.label(),
                    r.msg
                )?;
                if !r.desc.is_empty() && r.desc != r.code.label() {
                    write!(f, " [{}]", r.desc)?;
                }
            }
            (None, ErrorKind::Authentication) => {
                write!(f, "authentication failed: {}", self.0.message)?
            }
            (None, ErrorKind::HttpStatus) => {
                write!(f, "HTTP {}: {}", self.0.status.unwrap_or(0), self.0.message)?
            }
            (None, _) => f.write_str(&self.0.message)?,
        }
        if let (Some(s), true) = (
            self.0.status,
            self.0.api.is_some() || self.0.kind == ErrorKind::Authentication,
        ) {
            write!(f, " (HTTP {s})")?;
        }
        write!(f, "; {}", self.hint())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<terra_types::ValidationError> for Error {
    /// A job parameter the documentation rules out, found before anything was sent.
    fn from(e: terra_types::ValidationError) -> Self {
        let message = e.to_string();
        Self::new(ErrorKind::InvalidParameter, message).with_source(e)
    }
}

/// Results of the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_code_message_and_what_to_do() {
        let e = Error::api(
            200,
            ApiResult::error(ApiCode::InvalidParameter, "parameter `name` is required"),
        )
        .with_context("POST /terra-rescon-be/v2/jobs");
        assert_eq!(
            e.to_string(),
            "POST /terra-rescon-be/v2/jobs: API error 102001 (parameter error): parameter `name` is required (HTTP 200); fix the named parameter"
        );
        assert_eq!(e.kind(), ErrorKind::InvalidParameter);
        assert!(!e.is_retryable());
        let gw =
            Error::new(ErrorKind::Authentication, "HMAC signature does not match").with_status(401);
        assert!(gw.to_string().starts_with(
            "authentication failed: HMAC signature does not match (HTTP 401); check the app key"
        ));
    }

    #[test]
    fn a_description_is_shown_only_when_it_says_more_than_the_code() {
        let mut r = ApiResult::error(ApiCode::InvalidParameter, "bad name");
        let shown = |r: &ApiResult| Error::api(200, r.clone()).to_string();
        assert!(!shown(&r).contains('['), "{}", shown(&r));
        r.desc = String::new();
        assert!(!shown(&r).contains('['), "{}", shown(&r));
        r.desc = "name must not be empty".into();
        assert!(
            shown(&r).contains(" [name must not be empty]"),
            "{}",
            shown(&r)
        );
    }

    #[test]
    fn the_cause_is_kept_as_the_source() {
        use std::error::Error as _;
        let io = std::io::Error::other("connection reset");
        let e = Error::new(ErrorKind::Transport, "POST /jobs").with_source(io);
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("connection reset")
        );
        assert!(Error::new(ErrorKind::Transport, "x").source().is_none());
    }

    #[test]
    fn retryable_kinds() {
        assert!(
            Error::new(ErrorKind::HttpStatus, "x")
                .with_status(503)
                .is_retryable()
        );
        assert!(
            Error::new(ErrorKind::HttpStatus, "x")
                .with_status(429)
                .is_retryable()
        );
        assert!(
            !Error::new(ErrorKind::HttpStatus, "x")
                .with_status(404)
                .is_retryable()
        );
        assert!(Error::api(200, ApiResult::error(ApiCode::ServiceFailure, "x")).is_retryable());
        assert!(!Error::api(200, ApiResult::error(ApiCode::JobLimit, "x")).is_retryable());
    }
}
