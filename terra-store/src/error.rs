//! Errors of storage operations, classified by what helps.

/// What kind of storage failure an error is.
///
/// ```
/// use terra_store::{StoreError, StoreErrorKind};
/// fn next_step(e: &StoreError) -> &'static str {
///     match e.kind() {
///         StoreErrorKind::Credentials => "get new credentials and retry",
///         StoreErrorKind::Transient => "retry later",
///         StoreErrorKind::Io => "check the local file",
///         _ => "give up and report",
///     }
/// }
/// let e = StoreError::from_response("PUT a.jpg", 400, Some("ExpiredToken"), "The provided token has expired.");
/// assert_eq!(next_step(&e), "get new credentials and retry");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The credentials expired or were not accepted as a session (ExpiredToken,
    /// SecurityTokenExpired, InvalidToken, ...): new credentials help.
    Credentials,
    /// The request was refused (AccessDenied, SignatureDoesNotMatch): retrying does not help.
    Denied,
    /// The object or upload does not exist.
    NotFound,
    /// A transient failure (5xx, 429, connection, timeout): retrying helps.
    Transient,
    /// The local file cannot be read (missing, changed size, permissions).
    Io,
    /// The token provider failed.
    Token,
    /// The upload was cancelled.
    Cancelled,
    /// Anything else the service refused.
    Other,
}

/// A storage error: what failed, the storage's own error code if any, and whether
/// retrying or new credentials can help.
///
/// ```
/// let e = terra_store::StoreError::from_response("S3 PutObject a.jpg", 403, Some("AccessDenied"), "Access Denied");
/// assert_eq!(e.to_string(), "S3 PutObject a.jpg: Access Denied [AccessDenied]");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{context}: {message}{}", code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default())]
pub struct StoreError {
    kind: StoreErrorKind,
    context: String,
    message: String,
    code: Option<String>,
    status: Option<u16>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A new error.
    ///
    /// ```
    /// use terra_store::{StoreError, StoreErrorKind};
    /// let e = StoreError::new(StoreErrorKind::Io, "read DJI_0001.JPG", "the file shrank during the upload");
    /// assert_eq!(e.kind(), StoreErrorKind::Io);
    /// ```
    pub fn new(
        kind: StoreErrorKind,
        context: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            context: context.into(),
            message: message.into(),
            code: None,
            status: None,
            source: None,
        }
    }

    /// Classifies a storage answer by its HTTP status and error code.
    ///
    /// ```
    /// use terra_store::{StoreError, StoreErrorKind};
    /// let kind = |status, code| StoreError::from_response("PUT", status, code, "...").kind();
    /// assert_eq!(kind(403, Some("SecurityTokenExpired")), StoreErrorKind::Credentials); // OSS
    /// assert_eq!(kind(403, Some("SignatureDoesNotMatch")), StoreErrorKind::Denied);
    /// assert_eq!(kind(503, Some("SlowDown")), StoreErrorKind::Transient);
    /// assert_eq!(kind(404, None), StoreErrorKind::NotFound);
    /// ```
    pub fn from_response(
        context: impl Into<String>,
        status: u16,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        let kind = match code.unwrap_or("") {
            "ExpiredToken"
            | "TokenRefreshRequired"
            | "InvalidToken"
            | "SecurityTokenExpired"
            | "InvalidSecurityToken" => StoreErrorKind::Credentials,
            "InvalidAccessKeyId" => StoreErrorKind::Credentials,
            "AccessDenied" | "SignatureDoesNotMatch" | "AllAccessDisabled" => {
                StoreErrorKind::Denied
            }
            "NoSuchKey" | "NoSuchUpload" | "NoSuchBucket" => StoreErrorKind::NotFound,
            "SlowDown"
            | "InternalError"
            | "ServiceUnavailable"
            | "RequestTimeout"
            | "RequestTimeTooSkewed" => StoreErrorKind::Transient,
            _ if status == 429 || status >= 500 => StoreErrorKind::Transient,
            _ if status == 404 => StoreErrorKind::NotFound,
            _ if status == 403 => StoreErrorKind::Denied,
            _ => StoreErrorKind::Other,
        };
        Self {
            code: code.map(str::to_owned),
            status: Some(status),
            ..Self::new(kind, context, message)
        }
    }

    /// Attaches the underlying error.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use terra_store::{StoreError, StoreErrorKind};
    /// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
    /// let e = StoreError::new(StoreErrorKind::Io, "open a.jpg", "cannot read").with_source(io);
    /// assert_eq!(e.source().unwrap().to_string(), "denied");
    /// ```
    pub fn with_source(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    /// Attaches an already boxed underlying error (e.g. a token provider's).
    ///
    /// ```
    /// use terra_store::{BoxError, StoreError, StoreErrorKind};
    /// let from_provider: BoxError = "account disabled".into();
    /// let e = StoreError::new(StoreErrorKind::Token, "obtain a token", "refused").with_boxed_source(from_provider);
    /// assert_eq!(e.into_source().unwrap().to_string(), "account disabled");
    /// ```
    pub fn with_boxed_source(mut self, e: Box<dyn std::error::Error + Send + Sync>) -> Self {
        self.source = Some(e);
        self
    }

    /// The underlying error, taken out (to recover, say, the token provider's own error).
    ///
    /// ```
    /// use terra_store::{StoreError, StoreErrorKind};
    /// let io = std::io::Error::other("disk gone");
    /// let e = StoreError::new(StoreErrorKind::Io, "read", "failed").with_source(io);
    /// let inner = e.into_source().unwrap().downcast::<std::io::Error>().unwrap();
    /// assert_eq!(inner.to_string(), "disk gone");
    /// ```
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }

    /// Replaces the context (what was being done).
    ///
    /// ```
    /// use terra_store::{StoreError, StoreErrorKind};
    /// let e = StoreError::new(StoreErrorKind::Transient, "PUT", "reset").context("upload DJI_0001.JPG");
    /// assert_eq!(e.to_string(), "upload DJI_0001.JPG: reset");
    /// ```
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// The kind.
    ///
    /// ```
    /// use terra_store::{StoreError, StoreErrorKind};
    /// assert_eq!(StoreError::from_response("PUT", 500, None, "boom").kind(), StoreErrorKind::Transient);
    /// ```
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The storage's error code (`ExpiredToken`, `SecurityTokenExpired`, ...), if any.
    ///
    /// ```
    /// let e = terra_store::StoreError::from_response("PUT", 400, Some("ExpiredToken"), "expired");
    /// assert_eq!(e.code(), Some("ExpiredToken"));
    /// ```
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The HTTP status, if a response arrived.
    ///
    /// ```
    /// use terra_store::{StoreError, StoreErrorKind};
    /// assert_eq!(StoreError::from_response("PUT", 429, None, "slow down").status(), Some(429));
    /// assert_eq!(StoreError::new(StoreErrorKind::Io, "read", "gone").status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Whether trying again (with the same credentials) may succeed.
    ///
    /// ```
    /// use terra_store::StoreError;
    /// assert!(StoreError::from_response("PUT", 503, None, "busy").is_transient());
    /// assert!(!StoreError::from_response("PUT", 403, Some("AccessDenied"), "no").is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        self.kind == StoreErrorKind::Transient
    }
}

/// Results of terra-store.
///
/// ```
/// fn check(size: u64) -> terra_store::Result<u64> {
///     if size == 0 {
///         return Err(terra_store::StoreError::new(terra_store::StoreErrorKind::Io, "scan", "empty file"));
///     }
///     Ok(size)
/// }
/// assert!(check(0).is_err());
/// ```
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The error code decides the kind; the status only where the code is unknown (servers
    /// and gateways in front of them do not agree on statuses).
    #[test]
    fn the_code_decides_the_kind_whatever_the_status() {
        for (code, kind) in [
            ("ExpiredToken", StoreErrorKind::Credentials),
            ("InvalidAccessKeyId", StoreErrorKind::Credentials),
            ("SecurityTokenExpired", StoreErrorKind::Credentials),
            ("AccessDenied", StoreErrorKind::Denied),
            ("SignatureDoesNotMatch", StoreErrorKind::Denied),
            ("AllAccessDisabled", StoreErrorKind::Denied),
            ("NoSuchKey", StoreErrorKind::NotFound),
            ("NoSuchUpload", StoreErrorKind::NotFound),
            ("NoSuchBucket", StoreErrorKind::NotFound),
            ("SlowDown", StoreErrorKind::Transient),
            ("RequestTimeTooSkewed", StoreErrorKind::Transient),
        ] {
            for status in [400, 403, 404, 409] {
                let e = StoreError::from_response("S3 PutObject k", status, Some(code), "m");
                assert_eq!(e.kind(), kind, "{code} with HTTP {status}");
            }
        }
        let unknown = |status| StoreError::from_response("c", status, Some("Odd"), "m").kind();
        assert_eq!(unknown(503), StoreErrorKind::Transient);
        assert_eq!(unknown(429), StoreErrorKind::Transient);
        assert_eq!(unknown(404), StoreErrorKind::NotFound);
        assert_eq!(unknown(403), StoreErrorKind::Denied);
        assert_eq!(unknown(400), StoreErrorKind::Other);
    }

    #[test]
    fn an_error_keeps_what_the_answer_said_and_its_cause() {
        let e = StoreError::from_response("S3 PutObject k", 503, Some("SlowDown"), "busy");
        assert_eq!((e.status(), e.code()), (Some(503), Some("SlowDown")));
        assert!(e.is_transient());
        assert!(!StoreError::from_response("c", 403, Some("AccessDenied"), "no").is_transient());
        let plain = StoreError::new(StoreErrorKind::Io, "read a.jpg", "gone");
        assert_eq!((plain.status(), plain.code()), (None, None));
        let io = std::io::Error::other("disk gone");
        let inner = plain.with_source(io).into_source().expect("the cause");
        assert_eq!(inner.to_string(), "disk gone");
        assert!(
            StoreError::new(StoreErrorKind::Io, "c", "m")
                .into_source()
                .is_none()
        );
    }
}
