//! Who may do what in storage: one rule for the S3 and the OSS endpoints, which only map
//! its verdicts to their own error codes.
//!
//! An STS session may read and write objects under its `storePath` prefix, list only with
//! a prefix under it, and touch nothing else; the mock's own key (which signs download
//! links) may only read objects. Everything is confined to the session's bucket, so one
//! account never sees another's keys.

use std::time::SystemTime;

use crate::config::Provider;
use crate::core::Core;

/// Reading or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Read,
    Write,
}

/// What a request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// One object (and its multipart uploads).
    Object(&'a str),
    /// A listing of keys (objects or multipart uploads) under a prefix. (The S3 endpoint
    /// checks its parsed prefix in the operation, `s3::check_listing`.)
    Listing(&'a str),
    /// The bucket itself: reveals no key.
    Bucket,
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
pub(crate) fn secret_for(m: &Core, access_key: &str) -> Option<String> {
    if access_key == m.service_s3.access_key {
        return Some(m.service_s3.secret.clone());
    }
    if access_key == m.service_oss.access_key {
        return Some(m.service_oss.secret.clone());
    }
    m.session(access_key).map(|s| s.secret.to_string())
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
    pub target: Target<'a>,
}

/// Decides whether `ask.access_key` (with its token, if sent) may do `ask` at `now` (the
/// mock's clock).
pub(crate) fn authorize(m: &Core, ask: &Ask<'_>, now: SystemTime) -> Result<(), Denial> {
    let Ask {
        provider,
        access_key,
        token,
        intent,
        bucket,
        target,
    } = *ask;
    let service = match provider {
        Provider::S3 => &m.service_s3,
        Provider::Oss => &m.service_oss,
    };
    if access_key == service.access_key {
        // The mock's own key: it only signs download links of objects.
        return match (intent, target) {
            (Intent::Read, Target::Object(_)) => Ok(()),
            _ => Err(Denial::Denied(
                "download links can only read the object they were made for".into(),
            )),
        };
    }
    let Some(session) = m.session(access_key) else {
        return Err(Denial::UnknownKey);
    };
    // An empty token header is no token.
    match token.filter(|t| !t.is_empty()) {
        None => return Err(Denial::MissingToken),
        Some(t) if t != &*session.token => {
            return Err(if m.sessions.token_known(t) {
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
    let own = crate::state::bucket_of(session.provider, &m.cfg);
    if bucket != own {
        return Err(Denial::Denied(format!(
            "these credentials are for bucket {own}, not {bucket}"
        )));
    }
    let prefix = &*session.prefix;
    match target {
        Target::Object(key) if key.starts_with(prefix) => Ok(()),
        Target::Object(_) => {
            let verb = if intent == Intent::Write {
                "write"
            } else {
                "read"
            };
            Err(Denial::Denied(format!(
                "these credentials may only {verb} keys under {prefix}"
            )))
        }
        Target::Listing(p) if p.starts_with(prefix) => Ok(()),
        Target::Listing(_) => Err(Denial::Denied(format!(
            "these credentials may only list with a prefix under {prefix}"
        ))),
        Target::Bucket => Ok(()),
    }
}

/// A multi-object delete, decided for each key on its own: `base` (a write) with each of
/// `keys` as its target. One refused key refuses only itself; the caller answers per key
/// (S3) or refuses the whole request on the first (OSS).
pub(crate) fn authorize_each<'k>(
    m: &Core,
    base: &Ask<'_>,
    keys: impl IntoIterator<Item = &'k str>,
    now: SystemTime,
) -> Vec<(&'k str, Result<(), Denial>)> {
    keys.into_iter()
        .map(|key| {
            let ask = Ask {
                target: Target::Object(key),
                ..*base
            };
            (key, authorize(m, &ask, now))
        })
        .collect()
}
