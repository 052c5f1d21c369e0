//! Errors of storage operations, classified by what helps.

/// What kind of storage failure an error is.
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
    pub fn with_source(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    /// Attaches an already boxed underlying error (e.g. a token provider's).
    pub fn with_boxed_source(mut self, e: Box<dyn std::error::Error + Send + Sync>) -> Self {
        self.source = Some(e);
        self
    }

    /// The underlying error, taken out (to recover, say, the token provider's own error).
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }

    /// Replaces the context (what was being done).
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// The kind.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The storage's error code (`ExpiredToken`, `SecurityTokenExpired`, ...), if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The HTTP status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Whether trying again (with the same credentials) may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == StoreErrorKind::Transient
    }
}

/// Results of terra-store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
