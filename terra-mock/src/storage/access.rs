//! Who may do what in storage: one rule for the S3 and the OSS endpoints, which only map
//! its verdicts to their own error codes.

use std::time::SystemTime;

use crate::app::Inner;
use crate::config::Provider;

/// Reading or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Read,
    Write,
}

/// Why a storage request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The access key is unknown.
    UnknownKey,
    /// Temporary credentials were used without their session token.
    MissingToken,
    /// A token was sent that belongs to another session.
    TokenMismatch,
    /// A token was sent that no session has.
    InvalidToken,
    /// The session expired (mock clock).
    Expired,
    /// Authenticated, but not allowed here (other bucket, outside the `storePath` prefix,
    /// a write with a download link, an expired link).
    Denied(String),
}

/// The secret for an access key: an STS session's or the mock's own service key (which
/// signs download links).
pub(crate) fn secret_for(m: &Inner, access_key: &str) -> Option<String> {
    if access_key == m.service_s3.access_key {
        return Some(m.service_s3.secret.clone());
    }
    if access_key == m.service_oss.access_key {
        return Some(m.service_oss.secret.clone());
    }
    m.state().sessions.get(access_key).map(|s| s.secret.clone())
}

/// One storage request, as far as access control cares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    pub provider: Provider,
    pub access_key: &'a str,
    /// The session token sent, if any.
    pub token: Option<&'a str>,
    pub intent: Intent,
    pub bucket: &'a str,
    /// The object key, or the listing prefix (empty for bucket-level requests).
    pub key: &'a str,
}

/// Decides whether `ask.access_key` (with its token, if sent) may read or write
/// `bucket/key` at `now` (the mock's clock).
pub(crate) fn authorize(m: &Inner, ask: &Ask<'_>, now: SystemTime) -> Result<(), Denial> {
    let Ask {
        provider,
        access_key,
        token,
        intent,
        bucket,
        key,
    } = *ask;
    let service = match provider {
        Provider::S3 => &m.service_s3,
        Provider::Oss => &m.service_oss,
    };
    if access_key == service.access_key {
        // The mock's own key: it only signs download links.
        return match intent {
            Intent::Read => Ok(()),
            Intent::Write => Err(Denial::Denied("download links cannot write".into())),
        };
    }
    let state = m.state();
    let Some(session) = state.sessions.get(access_key) else {
        return Err(Denial::UnknownKey);
    };
    match token {
        None => return Err(Denial::MissingToken),
        Some(t) if t != session.token => {
            return Err(if state.sessions.values().any(|s| s.token == t) {
                Denial::TokenMismatch
            } else {
                Denial::InvalidToken
            });
        }
        Some(_) => {}
    }
    if now >= session.expires {
        return Err(Denial::Expired);
    }
    if bucket != session.bucket {
        return Err(Denial::Denied(format!(
            "these credentials are for bucket {}, not {bucket}",
            session.bucket
        )));
    }
    if !key.is_empty() && !key.starts_with(&session.prefix) {
        let verb = if intent == Intent::Write {
            "write"
        } else {
            "read"
        };
        return Err(Denial::Denied(format!(
            "these credentials may only {verb} keys under {}",
            session.prefix
        )));
    }
    Ok(())
}
