//! Why the emulator refused a request, or what it let through that a stricter server
//! would not: a stable code, one sentence, and for signature mismatches the string the
//! emulator signed (never a secret). Reasons travel on responses (as an extension), end up
//! in the request log ([`crate::RecordedRequest::refusal`]) and in the report
//! ([`crate::TerraMock::report`]); the wire answers stay the real services'.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

/// A refusal or a warning.
///
/// ```
/// use terra_mock::{ReasonCode, ReasonKind};
/// assert_eq!(ReasonCode::SignatureMismatch.as_str(), "signature_mismatch");
/// assert_eq!(ReasonCode::SignatureMismatch.kind(), ReasonKind::Refusal);
/// assert_eq!(ReasonCode::DigestNotChecked.kind(), ReasonKind::Warning);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The request was answered with an error.
    Refusal,
    /// The request was served, leniently: a stricter server would refuse it.
    Warning,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $text:literal, $kind:ident; )*) => {
        /// The stable machine code of a [`Reason`].
        ///
        /// ```
        /// let c = terra_mock::ReasonCode::parse("store_path_denied").unwrap();
        /// assert_eq!(c, terra_mock::ReasonCode::StorePathDenied);
        /// assert!(terra_mock::ReasonCode::parse("no such code").is_none());
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ReasonCode {
            $( $(#[$doc])* $name, )*
        }

        impl ReasonCode {
            /// Every code, in the order of the documentation.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$name,)*];

            /// The code as it appears in JSON and text (`snake_case`).
            pub fn as_str(self) -> &'static str {
                match self { $(ReasonCode::$name => $text,)* }
            }

            /// Whether it is a refusal or a warning.
            pub fn kind(self) -> ReasonKind {
                match self { $(ReasonCode::$name => ReasonKind::$kind,)* }
            }

            /// The code spelled `text`, if there is one.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.as_str() == text)
            }
        }
    };
}

codes! {
    /// The API call carries no `Authorization` header.
    AuthorizationMissing = "authorization_missing", Refusal;
    /// The `Authorization` header does not follow `hmac username=..., algorithm=..., headers=..., signature=...`.
    AuthorizationMalformed = "authorization_malformed", Refusal;
    /// Neither `Date` nor `X-Date`.
    DateMissing = "date_missing", Refusal;
    /// The date header is not an HTTP date.
    DateInvalid = "date_invalid", Refusal;
    /// The date is too far from the emulator's clock (API: 300 s; storage: 15 min).
    DateOutOfWindow = "date_out_of_window", Refusal;
    /// The HMAC algorithm is not accepted.
    AlgorithmUnsupported = "algorithm_unsupported", Refusal;
    /// No account has this app key.
    AppKeyUnknown = "app_key_unknown", Refusal;
    /// The HMAC signature does not match the signing string the emulator rebuilt.
    SignatureMismatch = "signature_mismatch", Refusal;
    /// Strict gateway: the signature leaves out `date`, `@request-target` or `digest`.
    SignedHeaderMissing = "signed_header_missing", Refusal;
    /// Strict gateway: the `Digest` does not match the body.
    DigestMismatch = "digest_mismatch", Refusal;
    /// The body is larger than the emulator reads.
    BodyTooLarge = "body_too_large", Refusal;
    /// The body could not be read.
    BodyUnreadable = "body_unreadable", Refusal;
    /// A parameter of the call is invalid (API code 102001).
    InvalidParameter = "invalid_parameter", Refusal;
    /// The resource, file or job does not exist in this account.
    NotFound = "not_found", Refusal;
    /// The operation is not allowed in this state (API code 102003).
    InvalidOperation = "invalid_operation", Refusal;
    /// Another business error of the API.
    ApiError = "api_error", Refusal;
    /// No route of the reference (or of the controls) has this path and method.
    RouteUnknown = "route_unknown", Refusal;
    /// A fault injected by the test answered instead of the emulator.
    FaultInjected = "fault_injected", Refusal;
    /// Storage: the SigV4 or OSS signature does not match what the emulator computed.
    StorageSignatureMismatch = "storage_signature_mismatch", Refusal;
    /// Storage: the access key is neither an STS session's nor the emulator's own.
    AccessKeyUnknown = "access_key_unknown", Refusal;
    /// Storage: temporary credentials sent without their session token.
    StsTokenMissing = "sts_token_missing", Refusal;
    /// Storage: the session token is unknown or belongs to other credentials.
    StsTokenInvalid = "sts_token_invalid", Refusal;
    /// Storage: the STS credentials have expired.
    StsTokenExpired = "sts_token_expired", Refusal;
    /// Storage: the key or listing prefix is outside the token's `storePath` (or bucket).
    StorePathDenied = "store_path_denied", Refusal;
    /// Storage: a presigned link past its expiry.
    PresignedExpired = "presigned_expired", Refusal;
    /// Storage: another access refusal.
    AccessDenied = "access_denied", Refusal;
    /// Storage: another error answer (no such key, a bad part list, ...).
    StorageError = "storage_error", Refusal;
    /// Controls: the admin token is missing or wrong.
    ControlUnauthorized = "control_unauthorized", Refusal;
    /// Controls: the caller is not on loopback (and no admin token is set), or the controls are off.
    ControlForbidden = "control_forbidden", Refusal;
    /// Controls: a web page (cross-site `Origin` or `Sec-Fetch-Site`, or a DNS-rebinding `Host`) tried to reach them.
    ControlCrossSite = "control_cross_site", Refusal;
    /// Controls: the request is invalid (a bad body, an unknown account, a conflict).
    ControlInvalid = "control_invalid", Refusal;
    /// Lenient: the signature does not cover `date`, `@request-target` and `digest`.
    SignatureCoverage = "signature_coverage", Warning;
    /// Lenient: the fresh date was an unsigned header; the signed one alone would be refused.
    UnsignedDate = "unsigned_date", Warning;
    /// Lenient: the `Digest` does not match the body (Kong leaves the body unchecked).
    DigestNotChecked = "digest_not_checked", Warning;
    /// Lenient: a body without a `Digest` header.
    DigestMissing = "digest_missing", Warning;
    /// Lenient: a GET or DELETE whose `Digest` is computed over its query as JSON.
    DigestOverQuery = "digest_over_query", Warning;
    /// Lenient: a `Digest` in hex rather than base64.
    DigestHex = "digest_hex", Warning;
    /// A JSON body sent without `charset=UTF-8` (the reference clients always send it).
    JsonWithoutCharset = "json_without_charset", Warning;
}

/// Why: a code, what was expected, and for signature mismatches what the emulator signed.
///
/// ```
/// let r = terra_mock::Reason::new(terra_mock::ReasonCode::NotFound, "job does not exist: 42");
/// assert_eq!(r.code.as_str(), "not_found");
/// assert!(r.signed.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// One sentence: what was wrong and what was expected.
    pub message: String,
    /// What the emulator signed or verified against: the gateway's signing string, S3's
    /// canonical request and string to sign, OSS's string to sign. Never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
}

impl Reason {
    /// A reason without a signing string.
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            signed: None,
        }
    }

    /// With what the emulator signed.
    pub fn with_signed(mut self, signed: impl Into<String>) -> Self {
        self.signed = Some(signed.into());
        self
    }
}

/// The reasons a response carries to the request log (a response extension).
#[derive(Debug, Clone, Default)]
pub(crate) struct Reasons {
    pub refusal: Option<Reason>,
    pub warnings: Vec<Reason>,
}

/// Marks `resp` refused for `reason` (the first refusal noted stays).
pub(crate) fn refuse(resp: &mut http::Response<axum::body::Body>, reason: Reason) {
    let r = reasons(resp);
    if r.refusal.is_none() {
        r.refusal = Some(reason);
    }
}

/// Adds a warning to `resp`.
pub(crate) fn warn(resp: &mut http::Response<axum::body::Body>, reason: Reason) {
    reasons(resp).warnings.push(reason);
}

fn reasons(resp: &mut http::Response<axum::body::Body>) -> &mut Reasons {
    let ext = resp.extensions_mut();
    if ext.get::<Reasons>().is_none() {
        ext.insert(Reasons::default());
    }
    ext.get_mut::<Reasons>().expect("inserted above")
}

/// The most clients counted by name per code; the rest are counted together.
const CLIENTS_PER_CODE: usize = 16;
/// The longest `User-Agent`, target or message kept in the report.
const KEPT_CHARS: usize = 300;
/// The longest signing string kept in the report.
const KEPT_SIGNED: usize = 4096;

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// One request that gave a reason, as the report shows the first of each code.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReportExample {
    /// When (RFC 3339, the emulator's clock).
    pub at: String,
    /// Method and target (session tokens redacted).
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The status answered.
    pub status: u16,
    /// The client's `User-Agent` (or `-`).
    pub client: String,
    /// The reason's sentence.
    pub message: String,
    /// What the emulator signed, when the reason is a signature mismatch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
}

/// How often one client gave a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClientCount {
    /// The `User-Agent` (`-` without one; `(other clients)` past the first sixteen).
    pub client: String,
    /// Requests.
    pub count: u64,
}

/// The tally of one code.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReportEntry {
    /// The code.
    pub code: ReasonCode,
    /// Refusal or warning.
    pub kind: ReasonKind,
    /// Requests with this code.
    pub count: u64,
    /// Per client, most first.
    pub clients: Vec<ClientCount>,
    /// The first request with this code.
    pub first: ReportExample,
}

/// Refusals and warnings since the emulator started (or was reset), by code and by
/// client: what `GET /_terra-mock/v1/report` answers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = terra_mock::TerraMock::builder().build()?;
/// mock.call("GET", "/jobs/not-a-job", "").await;
/// let report = mock.report();
/// assert_eq!(report.refusals[0].code, terra_mock::ReasonCode::NotFound);
/// println!("{}", report.to_text());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Report {
    /// Requests seen (API and storage; the controls only when refused).
    pub requests: u64,
    /// Refusals by code, most frequent first.
    pub refusals: Vec<ReportEntry>,
    /// Warnings by code, most frequent first.
    pub warnings: Vec<ReportEntry>,
}

impl Report {
    /// The report as lines of text: one paragraph per code, with its first example.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if self.refusals.is_empty() && self.warnings.is_empty() {
            s.push_str(&format!(
                "{} requests, no refusal and no warning.\n",
                self.requests
            ));
            return s;
        }
        s.push_str(&format!(
            "{} requests: {} refused, {} served with warnings.\n",
            self.requests,
            self.refusals.iter().map(|e| e.count).sum::<u64>(),
            self.warnings.iter().map(|e| e.count).sum::<u64>()
        ));
        for (title, entries) in [("Refusals", &self.refusals), ("Warnings", &self.warnings)] {
            if entries.is_empty() {
                continue;
            }
            s.push_str(&format!("\n{title}\n"));
            for e in entries {
                let clients: Vec<String> = e
                    .clients
                    .iter()
                    .map(|c| format!("{} ×{}", c.client, c.count))
                    .collect();
                s.push_str(&format!(
                    "  {} ×{} ({})\n    first: {} {} → {} at {}\n    {}\n",
                    e.code.as_str(),
                    e.count,
                    clients.join(", "),
                    e.first.method,
                    e.first.target,
                    e.first.status,
                    e.first.at,
                    e.first.message
                ));
                if let Some(signed) = &e.first.signed {
                    s.push_str("    the emulator signed:\n");
                    for line in signed.lines() {
                        s.push_str(&format!("      {line}\n"));
                    }
                }
            }
        }
        s
    }
}

#[derive(Debug)]
struct Tally {
    count: u64,
    clients: Vec<(String, u64)>,
    others: u64,
    first: ReportExample,
}

/// What one request contributes to the report.
pub(crate) struct Seen<'a> {
    pub at: SystemTime,
    pub method: &'a str,
    pub target: &'a str,
    pub status: u16,
    pub client: Option<&'a str>,
}

/// The running tally behind [`Report`]: bounded by the number of codes (each keeps at
/// most sixteen client names and one example).
#[derive(Debug, Default)]
pub(crate) struct ReportBook {
    requests: u64,
    tallies: BTreeMap<ReasonCode, Tally>,
}

impl ReportBook {
    pub(crate) fn note<'r>(&mut self, seen: &Seen<'_>, reasons: impl Iterator<Item = &'r Reason>) {
        self.requests += 1;
        for reason in reasons {
            self.add(seen, reason);
        }
    }

    /// A refused request that the request log does not keep (the controls').
    pub(crate) fn note_refused(&mut self, seen: &Seen<'_>, reason: &Reason) {
        self.requests += 1;
        self.add(seen, reason);
    }

    fn add(&mut self, seen: &Seen<'_>, reason: &Reason) {
        let client = clip(seen.client.unwrap_or("-"), KEPT_CHARS);
        let t = self.tallies.entry(reason.code).or_insert_with(|| Tally {
            count: 0,
            clients: Vec::new(),
            others: 0,
            first: ReportExample {
                at: terra_types::time::format_rfc3339(seen.at),
                method: seen.method.to_owned(),
                target: clip(seen.target, KEPT_CHARS),
                status: seen.status,
                client: client.clone(),
                message: clip(&reason.message, KEPT_CHARS * 2),
                signed: reason.signed.as_deref().map(|s| clip(s, KEPT_SIGNED)),
            },
        });
        t.count += 1;
        if let Some((_, n)) = t.clients.iter_mut().find(|(c, _)| *c == client) {
            *n += 1;
        } else if t.clients.len() < CLIENTS_PER_CODE {
            t.clients.push((client, 1));
        } else {
            t.others += 1;
        }
    }

    pub(crate) fn report(&self) -> Report {
        let mut refusals = Vec::new();
        let mut warnings = Vec::new();
        for (code, t) in &self.tallies {
            let mut clients: Vec<ClientCount> = t
                .clients
                .iter()
                .map(|(c, n)| ClientCount {
                    client: c.clone(),
                    count: *n,
                })
                .collect();
            clients.sort_by(|a, b| b.count.cmp(&a.count).then(a.client.cmp(&b.client)));
            if t.others > 0 {
                clients.push(ClientCount {
                    client: "(other clients)".into(),
                    count: t.others,
                });
            }
            let entry = ReportEntry {
                code: *code,
                kind: code.kind(),
                count: t.count,
                clients,
                first: t.first.clone(),
            };
            match code.kind() {
                ReasonKind::Refusal => refusals.push(entry),
                ReasonKind::Warning => warnings.push(entry),
            }
        }
        for list in [&mut refusals, &mut warnings] {
            list.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
        }
        Report {
            requests: self.requests,
            refusals,
            warnings,
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(client: &str) -> Seen<'_> {
        Seen {
            at: SystemTime::UNIX_EPOCH,
            method: "GET",
            target: "/x",
            status: 401,
            client: Some(client),
        }
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ReasonCode::ALL {
            assert!(seen.insert(c.as_str()), "{c:?}");
            assert_eq!(ReasonCode::parse(c.as_str()), Some(*c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::String(c.as_str().into())
            );
        }
    }

    /// However many clients and requests, the book keeps sixteen names per code.
    #[test]
    fn the_book_is_bounded() {
        let mut book = ReportBook::default();
        let reason = Reason::new(ReasonCode::SignatureMismatch, "x".repeat(10_000));
        for i in 0..10_000 {
            let name = format!("client-{i}-{}", "y".repeat(1000));
            book.note_refused(&seen(&name), &reason);
        }
        let r = book.report();
        assert_eq!(r.requests, 10_000);
        let e = &r.refusals[0];
        assert_eq!(e.count, 10_000);
        assert_eq!(e.clients.len(), CLIENTS_PER_CODE + 1);
        assert_eq!(
            e.clients.last().unwrap().count,
            10_000 - CLIENTS_PER_CODE as u64
        );
        assert!(e.first.message.len() <= KEPT_CHARS * 2 + 3);
        assert!(e.clients.iter().all(|c| c.client.len() <= KEPT_CHARS + 3));
    }
}
