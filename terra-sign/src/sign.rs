use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest as _;

/// `Digest` of an empty body: `SHA-256=` + base64 of the SHA-256 of zero bytes.
pub const EMPTY_BODY_DIGEST: &str = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/// The `Digest` header value of a body: `SHA-256=` + standard base64 of its SHA-256.
///
/// ```
/// assert_eq!(terra_sign::body_digest(b""), terra_sign::EMPTY_BODY_DIGEST);
/// ```
pub fn body_digest(body: &[u8]) -> String {
    let mut out = String::with_capacity(52);
    out.push_str("SHA-256=");
    B64.encode_string(sha2::Sha256::digest(body), &mut out);
    out
}

/// Formats a time as the gateway wants it: IMF-fixdate in GMT, English names.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(1_762_333_387);
/// assert_eq!(terra_sign::format_date(t), "Wed, 05 Nov 2025 09:03:07 GMT");
/// ```
pub fn format_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// Parses an HTTP date (IMF-fixdate, RFC 850 or asctime, as the gateway accepts).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// assert_eq!(terra_sign::parse_date("Wed, 25 Nov 2026 10:00:00 GMT"), Some(t));
/// assert_eq!(terra_sign::parse_date("Wednesday, 25-Nov-26 10:00:00 GMT"), Some(t)); // RFC 850
/// assert_eq!(terra_sign::parse_date("2026-11-25T10:00:00Z"), None);
/// ```
pub fn parse_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value.trim()).ok()
}

/// The HMAC algorithm named in `Authorization`. DJI documents and uses only
/// `hmac-sha256`; the gateway grammar lists all four.
///
/// ```
/// use terra_sign::Algorithm;
/// assert_eq!(Algorithm::default(), Algorithm::HmacSha256);
/// assert_eq!(Algorithm::ALL.map(Algorithm::as_str), ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// `hmac-sha1`
    HmacSha1,
    /// `hmac-sha256`, the one DJI uses.
    #[default]
    HmacSha256,
    /// `hmac-sha384`
    HmacSha384,
    /// `hmac-sha512`
    HmacSha512,
}

impl Algorithm {
    /// All four algorithms of the gateway grammar.
    pub const ALL: [Algorithm; 4] = [
        Self::HmacSha1,
        Self::HmacSha256,
        Self::HmacSha384,
        Self::HmacSha512,
    ];

    /// The name used in `algorithm="..."`.
    ///
    /// ```
    /// assert_eq!(terra_sign::Algorithm::HmacSha512.as_str(), "hmac-sha512");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "hmac-sha1",
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha384 => "hmac-sha384",
            Self::HmacSha512 => "hmac-sha512",
        }
    }

    /// Parses an `algorithm="..."` value (exact, lower case, as Kong compares it).
    ///
    /// ```
    /// use terra_sign::Algorithm;
    /// assert_eq!(Algorithm::parse("hmac-sha256"), Some(Algorithm::HmacSha256));
    /// assert_eq!(Algorithm::parse("HMAC-SHA256"), None, "compared exactly, like the gateway");
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    pub(crate) fn mac(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
            let mut m =
                <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Self::HmacSha1 => run::<hmac::Hmac<sha1::Sha1>>(key, msg),
            Self::HmacSha256 => run::<hmac::Hmac<sha2::Sha256>>(key, msg),
            Self::HmacSha384 => run::<hmac::Hmac<sha2::Sha384>>(key, msg),
            Self::HmacSha512 => run::<hmac::Hmac<sha2::Sha512>>(key, msg),
        }
    }

    /// Constant-time check of `tag` against the MAC of `msg`.
    pub(crate) fn verify(self, key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + KeyInit>(key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
            let mut m =
                <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
            m.update(msg);
            m.verify_slice(tag).is_ok()
        }
        match self {
            Self::HmacSha1 => run::<hmac::Hmac<sha1::Sha1>>(key, msg, tag),
            Self::HmacSha256 => run::<hmac::Hmac<sha2::Sha256>>(key, msg, tag),
            Self::HmacSha384 => run::<hmac::Hmac<sha2::Sha384>>(key, msg, tag),
            Self::HmacSha512 => run::<hmac::Hmac<sha2::Sha512>>(key, msg, tag),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which header carries the date. Browsers cannot set `Date`, so some clients send
/// `X-Date` and sign `x-date`; the gateway accepts both.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_sign::{Credentials, DateHeader, SignableRequest, SigningParams, sign};
/// // Golden vector V4: V3's GET signed with X-Date.
/// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs?page=1&rows=10", b"");
/// let signed = sign(&req, &Credentials::new("test-ak", "test-sk"), &SigningParams::new(now).with_x_date());
/// assert_eq!(signed.date_header, DateHeader::XDate);
/// assert!(signed.authorization.ends_with(r#"signature="wZSCDGbMst3ldU/4g5rRRnXFtY6cbZ3fb9O+q3C+gmA=""#));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DateHeader {
    /// `Date`, signed as `date` (what DJI's documentation does).
    #[default]
    Date,
    /// `X-Date`, signed as `x-date`.
    XDate,
}

impl DateHeader {
    /// The header name as sent (`Date` or `X-Date`).
    ///
    /// ```
    /// use terra_sign::DateHeader;
    /// assert_eq!(DateHeader::Date.header_name(), "Date");
    /// assert_eq!(DateHeader::XDate.header_name(), "X-Date");
    /// ```
    pub const fn header_name(self) -> &'static str {
        match self {
            Self::Date => "Date",
            Self::XDate => "X-Date",
        }
    }

    /// The lower-case name used in the signing string and in `headers="..."`.
    ///
    /// ```
    /// assert_eq!(terra_sign::DateHeader::XDate.signed_name(), "x-date");
    /// ```
    pub const fn signed_name(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::XDate => "x-date",
        }
    }
}

/// An app key (AK) and its secret (SK). `Debug` never shows the secret.
///
/// ```
/// let c = terra_sign::Credentials::new("test-ak", "test-sk");
/// assert_eq!(c.app_key(), "test-ak");
/// assert!(!format!("{c:?}").contains("test-sk"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    app_key: String,
    secret: SecretString,
}

impl Credentials {
    /// Credentials from the console's AK/SK pair. The secret is used as UTF-8 text (not
    /// base64-decoded).
    ///
    /// ```
    /// let creds = terra_sign::Credentials::new("test-ak", "test-sk");
    /// assert_eq!(creds.app_key(), "test-ak");
    /// ```
    pub fn new(app_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            app_key: app_key.into(),
            secret: SecretString::from(secret.into()),
        }
    }

    /// The app key (AK), sent as `username`.
    ///
    /// ```
    /// assert_eq!(terra_sign::Credentials::new("test-ak", "test-sk").app_key(), "test-ak");
    /// ```
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// The secret (SK).
    ///
    /// ```
    /// use terra_sign::ExposeSecret;
    /// let creds = terra_sign::Credentials::new("test-ak", "test-sk");
    /// assert_eq!(creds.secret().expose_secret(), "test-sk");
    /// ```
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("app_key", &self.app_key)
            .field("secret", &"***")
            .finish()
    }
}

/// A request as it will be sent: the method, the request-target exactly as on the wire
/// (path including `/terra-rescon-be`, plus `?query` if any) and the exact body bytes.
///
/// ```
/// let req = terra_sign::SignableRequest::new(
///     "DELETE",
///     "/terra-rescon-be/v2/resources/00000000-0000-0000-0000-000000000001?deleteMode=1",
///     b"",
/// );
/// assert_eq!(req.method, "DELETE");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    /// HTTP method, any case (it is lower-cased in the signing string).
    pub method: &'a str,
    /// Path and query exactly as sent.
    pub target: &'a str,
    /// The body bytes (empty for GET and DELETE).
    pub body: &'a [u8],
}

impl<'a> SignableRequest<'a> {
    /// Describes a request.
    ///
    /// ```
    /// let body = br#"{"name":"survey"}"#;
    /// let req = terra_sign::SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", body);
    /// assert_eq!(req.body.len(), 17);
    /// ```
    pub fn new(method: &'a str, target: &'a str, body: &'a [u8]) -> Self {
        Self {
            method,
            target,
            body,
        }
    }
}

/// How to sign: the time (passed in, never read from a clock), the date header and the
/// algorithm.
///
/// ```
/// use std::time::SystemTime;
/// use terra_sign::{Algorithm, DateHeader, SigningParams};
/// let p = SigningParams::new(SystemTime::now());
/// assert_eq!((p.date_header, p.algorithm), (DateHeader::Date, Algorithm::HmacSha256));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SigningParams {
    /// The signing time, written into the date header.
    pub time: SystemTime,
    /// `Date` (default) or `X-Date`.
    pub date_header: DateHeader,
    /// `hmac-sha256` by default.
    pub algorithm: Algorithm,
}

impl SigningParams {
    /// `Date` mode with `hmac-sha256` at `time`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let p = terra_sign::SigningParams::new(UNIX_EPOCH + Duration::from_secs(1_795_600_800));
    /// assert_eq!(terra_sign::format_date(p.time), "Wed, 25 Nov 2026 10:00:00 GMT");
    /// ```
    pub fn new(time: SystemTime) -> Self {
        Self {
            time,
            date_header: DateHeader::Date,
            algorithm: Algorithm::HmacSha256,
        }
    }

    /// Uses `X-Date` instead of `Date`.
    ///
    /// ```
    /// use terra_sign::{DateHeader, SigningParams};
    /// let p = SigningParams::new(std::time::SystemTime::now()).with_x_date();
    /// assert_eq!(p.date_header, DateHeader::XDate);
    /// ```
    pub fn with_x_date(mut self) -> Self {
        self.date_header = DateHeader::XDate;
        self
    }

    /// Uses another algorithm of the gateway grammar.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use terra_sign::{Algorithm, Credentials, SignableRequest, SigningParams, sign};
    /// let p = SigningParams::new(SystemTime::now()).with_algorithm(Algorithm::HmacSha512);
    /// let signed = sign(&SignableRequest::new("GET", "/", b""), &Credentials::new("ak", "sk"), &p);
    /// assert!(signed.authorization.contains(r#"algorithm="hmac-sha512""#));
    /// ```
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }
}

/// The header values to add to a request, plus the signing string for debugging
/// "HMAC signature does not match".
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
/// // Golden vector V2: obtain_token with an empty body.
/// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// let req = SignableRequest::new("POST", "/terra-rescon-be/v2/store/obtain_token", b"");
/// let signed = sign(&req, &Credentials::new("test-ak", "test-sk"), &SigningParams::new(now));
/// assert_eq!(signed.date, "Wed, 25 Nov 2026 10:00:00 GMT");
/// assert_eq!(signed.signing_string.len(), 157);
/// assert!(signed.authorization.ends_with(r#"signature="C0TooMz7/xcYEoOP7TGnTubypvIm+gpIPLph3uV49Qw=""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// Which date header to send.
    pub date_header: DateHeader,
    /// Its value.
    pub date: String,
    /// The `Digest` value.
    pub digest: String,
    /// The `Authorization` value.
    pub authorization: String,
    /// The exact string that was signed (contains no secret).
    pub signing_string: String,
}

impl SignedHeaders {
    /// `(name, value)` of the three headers to send.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
    /// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    /// let signed = sign(&req, &Credentials::new("ak", "sk"), &SigningParams::new(SystemTime::now()));
    /// let names: Vec<_> = signed.headers().iter().map(|(name, _)| *name).collect();
    /// assert_eq!(names, ["Date", "Digest", "Authorization"]);
    /// ```
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            (self.date_header.header_name(), &self.date),
            ("Digest", &self.digest),
            ("Authorization", &self.authorization),
        ]
    }
}

/// Builds the signing string: `<date name>: <date>`, `@request-target: <method> <target>`,
/// `digest: <digest>`, joined by LF, no trailing newline.
///
/// ```
/// let s = terra_sign::signing_string(
///     terra_sign::DateHeader::Date,
///     "Wed, 25 Nov 2026 10:00:00 GMT",
///     "GET",
///     "/terra-rescon-be/v2/jobs?page=1&rows=10",
///     terra_sign::EMPTY_BODY_DIGEST,
/// );
/// assert_eq!(s.len(), 157);
/// assert!(s.contains("\n@request-target: get /terra-rescon-be/v2/jobs?page=1&rows=10\n"));
/// ```
pub fn signing_string(
    date_header: DateHeader,
    date: &str,
    method: &str,
    target: &str,
    digest: &str,
) -> String {
    let name = date_header.signed_name();
    let mut s = String::with_capacity(
        name.len() + date.len() + method.len() + target.len() + digest.len() + 36,
    );
    s.push_str(name);
    s.push_str(": ");
    s.push_str(date);
    s.push_str("\n@request-target: ");
    push_lower(&mut s, method);
    s.push(' ');
    s.push_str(target);
    s.push_str("\ndigest: ");
    s.push_str(digest);
    s
}

pub(crate) fn push_lower(s: &mut String, method: &str) {
    s.extend(method.chars().map(|c| c.to_ascii_lowercase()));
}

/// Signs a request. Pure: same inputs, same headers.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
/// // Golden vector V3.
/// let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
/// let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs?page=1&rows=10", b"");
/// let signed = sign(&req, &Credentials::new("test-ak", "test-sk"), &SigningParams::new(now));
/// assert_eq!(
///     signed.authorization,
///     r#"hmac username="test-ak", algorithm="hmac-sha256", headers="date @request-target digest", signature="N0sgdeu1JnJkCu9f71WBNtV//uv1wiJu+xtzJMGauJc=""#
/// );
/// ```
pub fn sign(
    req: &SignableRequest<'_>,
    creds: &Credentials,
    params: &SigningParams,
) -> SignedHeaders {
    let date = format_date(params.time);
    let digest = body_digest(req.body);
    let signing_string = signing_string(params.date_header, &date, req.method, req.target, &digest);
    let mac = params.algorithm.mac(
        creds.secret.expose_secret().as_bytes(),
        signing_string.as_bytes(),
    );
    let authorization = format!(
        r#"hmac username="{}", algorithm="{}", headers="{} @request-target digest", signature="{}""#,
        creds.app_key,
        params.algorithm.as_str(),
        params.date_header.signed_name(),
        B64.encode(mac),
    );
    SignedHeaders {
        date_header: params.date_header,
        date,
        digest,
        authorization,
        signing_string,
    }
}
