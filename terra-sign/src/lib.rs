//! The HMAC signature of the DJI TerraAPI gateway, sans-IO, for both sides.
//!
//! TerraAPI sits behind a Kong `hmac-auth` gateway. Every request carries three headers:
//!
//! | header | value |
//! |---|---|
//! | `Date` (or `X-Date`) | RFC 7231 IMF-fixdate in GMT |
//! | `Digest` | `SHA-256=` + base64(SHA-256(body bytes)) |
//! | `Authorization` | `hmac username="<AK>", algorithm="hmac-sha256", headers="date @request-target digest", signature="<b64>"` |
//!
//! The signature is base64(HMAC-SHA256(secret, signing string)) over three LF-joined lines,
//! with no trailing newline:
//!
//! ```text
//! date: Wed, 25 Nov 2026 10:00:00 GMT
//! @request-target: post /terra-rescon-be/v2/resources
//! digest: SHA-256=HcQlmTSSoN1dOizbDUm1RpbvprZuSFP7dCMtMNADbbM=
//! ```
//!
//! This crate does no I/O, reads no clock and needs no runtime: time is passed in. The
//! client signs with [`sign`]; the mock checks with [`Verifier::verify`], which follows
//! Kong's order of checks and messages.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use terra_sign::{sign, Credentials, SignableRequest, SigningParams};
//!
//! // Golden vector V1 of the reference: Wed, 25 Nov 2026 10:00:00 GMT.
//! let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
//! let creds = Credentials::new("test-ak", "test-sk");
//! let req = SignableRequest::new("POST", "/terra-rescon-be/v2/resources", br#"{"name":"test-resource","type":"map"}"#);
//! let signed = sign(&req, &creds, &SigningParams::new(now));
//! assert_eq!(signed.digest, "SHA-256=HcQlmTSSoN1dOizbDUm1RpbvprZuSFP7dCMtMNADbbM=");
//! assert_eq!(
//!     signed.authorization,
//!     r#"hmac username="test-ak", algorithm="hmac-sha256", headers="date @request-target digest", signature="LeAE5bVrstlJ6ZBbcD1fK5jMI2UCTumgEDq0UpDmOSg=""#
//! );
//! ```

mod sign;
mod verify;

pub use secrecy::{ExposeSecret, SecretString};
pub use sign::{
    Algorithm, Credentials, DateHeader, EMPTY_BODY_DIGEST, SignableRequest, SignedHeaders,
    SigningParams, body_digest, format_date, parse_date, sign, signing_string,
};
pub use verify::{Authorization, Headers, Verified, Verifier, VerifyError};

/// The gateway's message for a request without `Authorization`.
pub const MSG_UNAUTHORIZED: &str = "Unauthorized";
/// The gateway's message for a missing, unparsable or skewed date.
pub const MSG_BAD_DATE: &str = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication";
/// The gateway's message for a malformed `Authorization`, an unknown key or algorithm.
pub const MSG_CANNOT_VERIFY: &str = "HMAC signature cannot be verified";
/// The gateway's message for a wrong signature (or, in strict mode, a wrong digest).
pub const MSG_MISMATCH: &str = "HMAC signature does not match";

/// The examples of the crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
