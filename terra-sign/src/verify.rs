use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};

use crate::sign::{Algorithm, body_digest, parse_date, push_lower};
use crate::{MSG_BAD_DATE, MSG_CANNOT_VERIFY, MSG_MISMATCH, MSG_UNAUTHORIZED};

/// Read access to the received request headers, by lower-case name.
///
/// Implemented for slices of `(name, value)` pairs; servers wrap their header map.
///
/// ```
/// use terra_sign::Headers;
/// /// A server's header map, looked up by lower-case name.
/// struct Map(std::collections::HashMap<String, String>);
/// impl Headers for Map {
///     fn get(&self, name: &str) -> Option<&str> {
///         self.0.get(name).map(String::as_str)
///     }
/// }
/// let pairs = [("Date", "Wed, 25 Nov 2026 10:00:00 GMT")];
/// assert_eq!(Headers::get(&pairs, "date"), Some("Wed, 25 Nov 2026 10:00:00 GMT"));
/// ```
pub trait Headers {
    /// The value of header `name` (lower case), if present.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Headers for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

impl<const N: usize> Headers for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

impl Headers for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed `Authorization: hmac ...` header.
///
/// ```
/// let a = terra_sign::Authorization::parse(
///     r#"hmac username="ak", algorithm="hmac-sha256", headers="date @request-target digest", signature="c2ln""#,
/// ).unwrap();
/// assert_eq!(a.username, "ak");
/// assert_eq!(a.headers, ["date", "@request-target", "digest"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The app key.
    pub username: &'a str,
    /// The algorithm name as sent.
    pub algorithm: &'a str,
    /// The signed header names, in their declared order.
    pub headers: Vec<&'a str>,
    /// The base64 signature.
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Parses `hmac username="..", algorithm="..", headers="..", signature=".."`: the scheme
    /// `hmac` (either case of the first letter), then the four parameters in this order,
    /// separated by commas with optional whitespace, as the gateway requires.
    ///
    /// ```
    /// use terra_sign::{Authorization, VerifyError};
    /// let ok = Authorization::parse(r#"hmac username="ak", algorithm="hmac-sha256", headers="date", signature="c2ln""#);
    /// assert_eq!(ok.unwrap().headers, ["date"]);
    /// let swapped = Authorization::parse(r#"hmac algorithm="hmac-sha256", username="ak", headers="date", signature="c2ln""#);
    /// assert!(matches!(swapped, Err(VerifyError::MalformedAuthorization { .. })), "order matters");
    /// ```
    pub fn parse(value: &'a str) -> Result<Self, VerifyError> {
        let malformed = |reason: &str| VerifyError::MalformedAuthorization {
            reason: reason.to_owned(),
        };
        let rest = value.trim_start();
        let rest = rest
            .strip_prefix("hmac")
            .or_else(|| rest.strip_prefix("Hmac"))
            .ok_or_else(|| malformed("the scheme must be `hmac`"))?;
        let mut rest = rest;
        let mut take = |name: &str, first: bool| -> Result<&'a str, VerifyError> {
            let r = rest.trim_start();
            let r = if first {
                r
            } else {
                r.strip_prefix(',')
                    .ok_or_else(|| malformed(&format!("expected `,` before `{name}`")))?
                    .trim_start()
            };
            let r = r
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix("=\""))
                .ok_or_else(|| malformed(&format!("expected `{name}=\"...\"` (parameters in the order username, algorithm, headers, signature)")))?;
            let end = r
                .find('"')
                .ok_or_else(|| malformed(&format!("unterminated `{name}` value")))?;
            rest = &r[end + 1..];
            Ok(&r[..end])
        };
        let username = take("username", true)?;
        let algorithm = take("algorithm", false)?;
        let headers = take("headers", false)?;
        let signature = take("signature", false)?;
        if !rest.trim().is_empty() {
            return Err(malformed("unexpected text after `signature`"));
        }
        if username.is_empty() || signature.is_empty() {
            return Err(malformed("`username` and `signature` must not be empty"));
        }
        let headers: Vec<&str> = headers.split(' ').filter(|h| !h.is_empty()).collect();
        if headers.is_empty() {
            return Err(malformed("`headers` must list at least one header"));
        }
        Ok(Self {
            username,
            algorithm,
            headers,
            signature,
        })
    }
}

/// Why a request was rejected. Each kind maps to the gateway's message
/// ([`VerifyError::gateway_message`]); the details are for logs and debugging.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
/// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
/// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
/// let signed = sign(&req, &Credentials::new("ak", "wrong secret"), &SigningParams::new(now));
/// let err = Verifier::default().verify(&req, &signed.headers(), now, lookup).unwrap_err();
/// assert!(matches!(err, VerifyError::SignatureMismatch { .. }));
/// assert_eq!(err.gateway_message(), "HMAC signature does not match");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `Authorization` header.
    #[error("no Authorization header")]
    MissingAuthorization,
    /// Neither `X-Date` nor `Date` is present.
    #[error("neither X-Date nor Date header is present")]
    MissingDate,
    /// The date header cannot be parsed as an HTTP date.
    #[error(
        "the date header {value:?} is not an HTTP date (use e.g. `Wed, 25 Nov 2026 10:00:00 GMT`)"
    )]
    InvalidDate {
        /// The value received.
        value: String,
    },
    /// The date is too far from the server's clock.
    #[error(
        "the request date is {skew_secs} s away from the server clock (allowed: {allowed_secs} s); check the client clock"
    )]
    ClockSkew {
        /// Distance between the request date and now, seconds.
        skew_secs: u64,
        /// The allowed skew, seconds.
        allowed_secs: u64,
    },
    /// The `Authorization` value does not follow the grammar.
    #[error("malformed Authorization header: {reason}")]
    MalformedAuthorization {
        /// What is wrong.
        reason: String,
    },
    /// The algorithm is not accepted.
    #[error("algorithm {algorithm:?} is not accepted")]
    UnsupportedAlgorithm {
        /// The algorithm named.
        algorithm: String,
    },
    /// No secret is known for the app key.
    #[error("unknown app key {app_key:?}")]
    UnknownAppKey {
        /// The `username` sent.
        app_key: String,
    },
    /// The signature does not match the reconstructed signing string.
    #[error("signature mismatch; the server signed:\n{signing_string}")]
    SignatureMismatch {
        /// What the server reconstructed and signed (no secret in it).
        signing_string: String,
    },
    /// Strict mode: the signature does not cover a header it must cover (`date` or
    /// `x-date`, `@request-target`, `digest`).
    #[error(
        "the signature must cover `{header}` (sign `date @request-target digest`, or `x-date` in place of `date`)"
    )]
    UnsignedHeader {
        /// The header name the signed list lacks.
        header: String,
    },
    /// Strict mode: the `Digest` header does not match the body.
    #[error("Digest {received:?} does not match the body (expected {expected:?})")]
    DigestMismatch {
        /// Digest of the bytes received.
        expected: String,
        /// The `Digest` header (empty when absent with a non-empty body).
        received: String,
    },
}

impl VerifyError {
    /// The message the gateway answers, in `{"message": ...}`.
    ///
    /// ```
    /// assert_eq!(terra_sign::VerifyError::MissingAuthorization.gateway_message(), "Unauthorized");
    /// ```
    pub fn gateway_message(&self) -> &'static str {
        match self {
            Self::MissingAuthorization => MSG_UNAUTHORIZED,
            Self::MissingDate | Self::InvalidDate { .. } | Self::ClockSkew { .. } => MSG_BAD_DATE,
            Self::MalformedAuthorization { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::UnknownAppKey { .. }
            | Self::UnsignedHeader { .. } => MSG_CANNOT_VERIFY,
            Self::SignatureMismatch { .. } | Self::DigestMismatch { .. } => MSG_MISMATCH,
        }
    }

    /// The HTTP status the gateway answers (401, as current Kong does).
    ///
    /// ```
    /// assert_eq!(terra_sign::VerifyError::MissingDate.http_status(), 401);
    /// ```
    pub fn http_status(&self) -> u16 {
        401
    }
}

/// A request that passed verification.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
/// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
/// let req = SignableRequest::new("POST", "/terra-rescon-be/v2/store/obtain_token", b"");
/// let signed = sign(&req, &Credentials::new("ak", "sk"), &SigningParams::new(now));
/// let verified = Verifier::default().verify(&req, &signed.headers(), now, lookup).unwrap();
/// assert_eq!(verified.app_key, "ak");
/// assert_eq!(verified.algorithm, terra_sign::Algorithm::HmacSha256);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The app key that signed it.
    pub app_key: String,
    /// The algorithm used.
    pub algorithm: Algorithm,
}

/// Checks signed requests the way the gateway (Kong `hmac-auth`) does, in its order:
/// `Authorization` present; `X-Date` or `Date` parses and is within the clock skew; the
/// header parses; the algorithm is accepted; the app key is known; the signature matches;
/// then, only in strict mode, the `Digest` matches the body.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_sign::{sign, Credentials, SignableRequest, SigningParams, Verifier, SecretString};
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// let creds = Credentials::new("ak", "sk");
/// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs?page=1&rows=10", b"");
/// let signed = sign(&req, &creds, &SigningParams::new(now));
/// let headers = signed.headers();
///
/// let verified = Verifier::default()
///     .verify(&req, &headers, now + Duration::from_secs(30), |ak| (ak == "ak").then(|| SecretString::from("sk")))
///     .unwrap();
/// assert_eq!(verified.app_key, "ak");
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    clock_skew: Duration,
    validate_body: bool,
    signed_coverage: bool,
    algorithms: Vec<Algorithm>,
}

impl Default for Verifier {
    /// Kong's defaults: 300 s of skew, no body check, all four algorithms.
    fn default() -> Self {
        Self {
            clock_skew: Duration::from_secs(300),
            validate_body: false,
            signed_coverage: false,
            algorithms: Algorithm::ALL.to_vec(),
        }
    }
}

impl Verifier {
    /// Sets the allowed distance between the request date and `now`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
    /// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    /// let signed = sign(&req, &Credentials::new("ak", "sk"), &SigningParams::new(now));
    /// let strict = Verifier::default().with_clock_skew(Duration::from_secs(60));
    /// let later = now + Duration::from_secs(120);
    /// let err = strict.verify(&req, &signed.headers(), later, lookup).unwrap_err();
    /// assert!(matches!(err, VerifyError::ClockSkew { .. }));
    /// ```
    pub fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Strict mode: also require `Digest` to match the body (absent `Digest` only with an
    /// empty body).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
    /// let sent = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", br#"{"name":"a"}"#);
    /// let signed = sign(&sent, &Credentials::new("ak", "sk"), &SigningParams::new(now));
    /// // The body was changed on the way; the signature only covers the Digest header.
    /// let received = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", br#"{"name":"b"}"#);
    /// assert!(Verifier::default().verify(&received, &signed.headers(), now, lookup).is_ok());
    /// let err = Verifier::default()
    ///     .with_body_validation(true)
    ///     .verify(&received, &signed.headers(), now, lookup)
    ///     .unwrap_err();
    /// assert!(matches!(err, VerifyError::DigestMismatch { .. }));
    /// ```
    pub fn with_body_validation(mut self, on: bool) -> Self {
        self.validate_body = on;
        self
    }

    /// Restricts the accepted algorithms.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
    /// use terra_sign::Algorithm;
    /// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    /// let params = SigningParams::new(now).with_algorithm(Algorithm::HmacSha1);
    /// let signed = sign(&req, &Credentials::new("ak", "sk"), &params);
    /// let only_sha256 = Verifier::default().with_algorithms([Algorithm::HmacSha256]);
    /// let err = only_sha256.verify(&req, &signed.headers(), now, lookup).unwrap_err();
    /// assert!(matches!(err, VerifyError::UnsupportedAlgorithm { .. }));
    /// ```
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The allowed clock skew.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(terra_sign::Verifier::default().clock_skew(), Duration::from_secs(300));
    /// ```
    pub fn clock_skew(&self) -> Duration {
        self.clock_skew
    }

    /// The verifier for a server of your own, stricter than Kong in three ways:
    ///
    /// - the signed header list must cover `date` (or `x-date`), `@request-target` and
    ///   `digest`, so that a signature cannot be replayed on another route or with another
    ///   body;
    /// - only a signed date header counts for freshness: an unsigned fresh `X-Date` cannot
    ///   revive an old signed `Date`;
    /// - the `Digest` must match the body (and a request with a body must carry one).
    ///
    /// The skew and algorithms are Kong's defaults and can be changed as usual. DJI's
    /// gateway and terra-mock's default follow Kong ([`Verifier::default`]).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
    /// let req = SignableRequest::new("DELETE", "/terra-rescon-be/v2/jobs/1", b"");
    /// let signed = sign(&req, &Credentials::new("ak", "sk"), &SigningParams::new(now));
    /// assert!(Verifier::strict().verify(&req, &signed.headers(), now, lookup).is_ok());
    ///
    /// // A signature over `date` alone would be valid for any route: Kong takes it, strict does not.
    /// let date_only = signed.authorization.replace("date @request-target digest", "date");
    /// let headers = [("date", signed.date.as_str()), ("authorization", date_only.as_str())];
    /// let err = Verifier::strict().verify(&req, &headers, now, lookup).unwrap_err();
    /// assert!(matches!(err, VerifyError::UnsignedHeader { .. }));
    /// ```
    pub fn strict() -> Self {
        Self {
            validate_body: true,
            signed_coverage: true,
            ..Self::default()
        }
    }

    /// Whether this verifier is in strict mode (see [`Verifier::strict`]).
    ///
    /// ```
    /// assert!(terra_sign::Verifier::strict().is_strict());
    /// assert!(!terra_sign::Verifier::default().is_strict());
    /// ```
    pub fn is_strict(&self) -> bool {
        self.signed_coverage
    }

    /// Whether [`Verifier::check_body`] compares the `Digest` with the body.
    ///
    /// ```
    /// assert!(terra_sign::Verifier::strict().validates_body());
    /// assert!(!terra_sign::Verifier::default().validates_body());
    /// ```
    pub fn validates_body(&self) -> bool {
        self.validate_body
    }

    /// Verifies a received request. `req.target` is the raw path and query as received;
    /// `secret_for` looks up the secret of an app key. This is
    /// [`Verifier::verify_headers`] followed by [`Verifier::check_body`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, VerifyError, sign};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
    /// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs?page=2", b"");
    /// let signed = sign(&req, &Credentials::new("ak", "sk"), &SigningParams::new(now));
    /// let v = Verifier::default();
    /// assert!(v.verify(&req, &signed.headers(), now, lookup).is_ok());
    /// // Another query string than the one signed.
    /// let other = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs?page=3", b"");
    /// assert!(v.verify(&other, &signed.headers(), now, lookup).is_err());
    /// // A key the server does not know.
    /// let stranger = sign(&req, &Credentials::new("who", "sk"), &SigningParams::new(now));
    /// let err = v.verify(&req, &stranger.headers(), now, lookup).unwrap_err();
    /// assert!(matches!(err, VerifyError::UnknownAppKey { .. }));
    /// ```
    pub fn verify<H, F>(
        &self,
        req: &crate::SignableRequest<'_>,
        headers: &H,
        now: SystemTime,
        secret_for: F,
    ) -> Result<Verified, VerifyError>
    where
        H: Headers + ?Sized,
        F: FnOnce(&str) -> Option<SecretString>,
    {
        let verified = self.verify_headers(req.method, req.target, headers, now, secret_for)?;
        self.check_body(req.body, headers)?;
        Ok(verified)
    }

    /// Every check that needs no body: the date, the `Authorization` header, the
    /// algorithm, the app key and the signature (which covers the `Digest` header, not the
    /// body). A server calls this before reading a body, so that an unauthenticated
    /// request costs it no more than its headers, then [`Verifier::check_body`] on the
    /// bytes.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use terra_sign::{Credentials, SecretString, SignableRequest, SigningParams, Verifier, sign};
    /// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    /// let lookup = |ak: &str| (ak == "ak").then(|| SecretString::from("sk"));
    /// let body = br#"{"name":"survey"}"#;
    /// let req = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", body);
    /// let signed = sign(&req, &Credentials::new("ak", "sk"), &SigningParams::new(now));
    /// let v = Verifier::strict();
    /// let who = v.verify_headers("POST", "/terra-rescon-be/v2/jobs", &signed.headers(), now, lookup).unwrap();
    /// assert_eq!(who.app_key, "ak");
    /// // ...read the body only now...
    /// assert!(v.check_body(body, &signed.headers()).is_ok());
    /// assert!(v.check_body(b"{}", &signed.headers()).is_err());
    /// ```
    pub fn verify_headers<H, F>(
        &self,
        method: &str,
        target: &str,
        headers: &H,
        now: SystemTime,
        secret_for: F,
    ) -> Result<Verified, VerifyError>
    where
        H: Headers + ?Sized,
        F: FnOnce(&str) -> Option<SecretString>,
    {
        let auth_value = headers
            .get("authorization")
            .ok_or(VerifyError::MissingAuthorization)?;
        if self.signed_coverage {
            // The date that counts is the one the signature covers, so the list is read
            // first; a malformed header is reported as Kong would, after the date.
            match Authorization::parse(auth_value) {
                Ok(auth) => {
                    self.check_coverage(&auth.headers)?;
                    self.check_signed_clock(&auth.headers, headers, now)?;
                }
                Err(e) => {
                    self.check_clock(headers, now)?;
                    return Err(e);
                }
            }
        } else {
            self.check_clock(headers, now)?;
        }
        let auth = Authorization::parse(auth_value)?;
        let algorithm = Algorithm::parse(auth.algorithm)
            .filter(|a| self.algorithms.contains(a))
            .ok_or_else(|| VerifyError::UnsupportedAlgorithm {
                algorithm: auth.algorithm.to_owned(),
            })?;
        let secret = secret_for(auth.username).ok_or_else(|| VerifyError::UnknownAppKey {
            app_key: auth.username.to_owned(),
        })?;
        let req = crate::SignableRequest::new(method, target, b"");
        let signing_string = rebuild_signing_string(&auth.headers, &req, headers);
        let signature = B64.decode(auth.signature).unwrap_or_default();
        if !algorithm.verify(
            secret.expose_secret().as_bytes(),
            signing_string.as_bytes(),
            &signature,
        ) {
            return Err(VerifyError::SignatureMismatch { signing_string });
        }
        Ok(Verified {
            app_key: auth.username.to_owned(),
            algorithm,
        })
    }

    /// With body validation on (strict mode, or [`Verifier::with_body_validation`]): a
    /// `Digest` header must equal the digest of `body`, and a non-empty body must come
    /// with one. Without it, always `Ok`: Kong leaves the body unchecked.
    ///
    /// ```
    /// use terra_sign::{Verifier, VerifyError, body_digest};
    /// let v = Verifier::strict();
    /// assert!(v.check_body(b"", &[("x", "y")]).is_ok(), "no body, no digest needed");
    /// let err = v.check_body(b"{}", &[("x", "y")]).unwrap_err();
    /// assert!(matches!(err, VerifyError::DigestMismatch { .. }), "a body needs a digest");
    /// let d = body_digest(b"{}");
    /// assert!(v.check_body(b"{}", &[("digest", d.as_str())]).is_ok());
    /// assert!(Verifier::default().check_body(b"{}", &[("x", "y")]).is_ok());
    /// ```
    pub fn check_body<H: Headers + ?Sized>(
        &self,
        body: &[u8],
        headers: &H,
    ) -> Result<(), VerifyError> {
        if self.validate_body {
            check_body(body, headers.get("digest"))
        } else {
            Ok(())
        }
    }

    /// Strict mode: the signed list covers a date, the request target and the digest.
    fn check_coverage(&self, signed: &[&str]) -> Result<(), VerifyError> {
        let has = |n: &str| signed.iter().any(|h| h.eq_ignore_ascii_case(n));
        let missing = if !has("date") && !has("x-date") {
            Some("date")
        } else if !has("@request-target") {
            Some("@request-target")
        } else if !has("digest") {
            Some("digest")
        } else {
            None
        };
        match missing {
            Some(h) => Err(VerifyError::UnsignedHeader { header: h.into() }),
            None => Ok(()),
        }
    }

    /// Strict mode: like [`Verifier::check_clock`], but only the date headers that the
    /// signature covers count.
    fn check_signed_clock<H: Headers + ?Sized>(
        &self,
        signed: &[&str],
        headers: &H,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let has = |n: &str| signed.iter().any(|h| h.eq_ignore_ascii_case(n));
        let names: &[&str] = match (has("x-date"), has("date")) {
            (true, true) => &["x-date", "date"],
            (true, false) => &["x-date"],
            _ => &["date"],
        };
        self.check_dates(names, headers, now)
    }

    /// Kong accepts the request if either `X-Date` or `Date` is a valid date within the
    /// skew; the error reports the first header found.
    fn check_clock<H: Headers + ?Sized>(
        &self,
        headers: &H,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        self.check_dates(&["x-date", "date"], headers, now)
    }

    /// Accepts if one of the `names` headers holds a date within the skew; otherwise the
    /// error of the first one present, or `MissingDate`.
    fn check_dates<H: Headers + ?Sized>(
        &self,
        names: &[&str],
        headers: &H,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let mut first_error = None;
        for &name in names {
            let Some(value) = headers.get(name) else {
                continue;
            };
            let err = match parse_date(value) {
                None => VerifyError::InvalidDate {
                    value: value.to_owned(),
                },
                Some(t) => {
                    let skew = now.duration_since(t).unwrap_or_else(|e| e.duration());
                    if skew <= self.clock_skew {
                        return Ok(());
                    }
                    VerifyError::ClockSkew {
                        skew_secs: skew.as_secs(),
                        allowed_secs: self.clock_skew.as_secs(),
                    }
                }
            };
            first_error.get_or_insert(err);
        }
        Err(first_error.unwrap_or(VerifyError::MissingDate))
    }
}

/// Rebuilds the signing string from the declared header list, as Kong does: `name: value`
/// for present headers, `name:` for absent ones, `@request-target` from the request and
/// `request-line` as `METHOD target HTTP/1.1`.
fn rebuild_signing_string<H: Headers + ?Sized>(
    names: &[&str],
    req: &crate::SignableRequest<'_>,
    headers: &H,
) -> String {
    let mut s = String::with_capacity(256);
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "@request-target" => {
                s.push_str("@request-target: ");
                push_lower(&mut s, req.method);
                s.push(' ');
                s.push_str(req.target);
            }
            "request-line" if headers.get("request-line").is_none() => {
                s.push_str(req.method);
                s.push(' ');
                s.push_str(req.target);
                s.push_str(" HTTP/1.1");
            }
            _ => {
                s.push_str(name);
                s.push(':');
                if let Some(v) = headers.get(&lower) {
                    s.push(' ');
                    s.push_str(v);
                }
            }
        }
    }
    s
}

fn check_body(body: &[u8], digest: Option<&str>) -> Result<(), VerifyError> {
    let expected = body_digest(body);
    match digest {
        None if body.is_empty() => Ok(()),
        Some(d) if d == expected => Ok(()),
        other => Err(VerifyError::DigestMismatch {
            expected,
            received: other.unwrap_or_default().to_owned(),
        }),
    }
}
