//! The requests the mock received, for assertions ("exactly one POST /v2/jobs").

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::Bytes;

/// One received request and what the mock did with it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = terra_mock::TerraMock::builder().build()?;
/// mock.call("POST", "/jobs", r#"{"name":"survey"}"#).await;
/// let r = &mock.requests()[0];
/// assert_eq!(r.body.as_ref(), br#"{"name":"survey"}"#);
/// assert!(r.header("authorization").unwrap().starts_with("hmac username="));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// When it arrived (mock clock).
    pub at: SystemTime,
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub target: String,
    /// Header names (lower case) and values; storage session tokens and cookies are
    /// redacted (an `Authorization` signature is not a secret: it only authenticates that
    /// one request).
    pub(crate) headers: Box<str>,
    /// The body for API requests (up to 64 KiB); empty for storage requests.
    pub body: Bytes,
    /// The status answered (0 when the connection was reset).
    pub status: u16,
    /// The authenticated app key, for API requests that passed the signature check.
    pub app_key: Option<String>,
    /// The injected fault, if any.
    pub fault: Option<String>,
    /// Why the request was refused, when it was (a stable code, what was expected, and
    /// what the emulator signed for a signature mismatch).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("GET", "/jobs/no-such-job", "").await;
    /// let why = mock.requests()[0].refusal.clone().unwrap();
    /// assert_eq!(why.code, terra_mock::ReasonCode::NotFound);
    /// # Ok(()) }
    /// ```
    pub refusal: Option<crate::Reason>,
    /// What was let through that a stricter server would refuse (a `Digest` that does not
    /// match the body, a signature that leaves out the request target, ...).
    pub warnings: Vec<crate::Reason>,
    /// The API's `result.code` for API requests answered with an envelope.
    pub api_code: Option<i64>,
    /// Time from receiving the request to answering its head.
    pub latency: std::time::Duration,
}

impl RecordedRequest {
    /// The path without the query.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("GET", "/jobs?page=3&rows=5", "").await;
    /// let r = &mock.requests()[0];
    /// assert_eq!(r.target, "/terra-rescon-be/v2/jobs?page=3&rows=5");
    /// assert_eq!(r.path(), "/terra-rescon-be/v2/jobs");
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Whether this is an API request (under `/terra-rescon-be/`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("GET", "/jobs", "").await;
    /// assert!(mock.requests().iter().all(|r| r.is_api()));
    /// # Ok(()) }
    /// ```
    pub fn is_api(&self) -> bool {
        self.target.starts_with(crate::API_PREFIX)
    }

    /// The value of a header (lower-case name).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("GET", "/jobs", "").await;
    /// assert_eq!(mock.requests()[0].header("content-type"), Some("application/json"));
    /// # Ok(()) }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every header (lower-case name, value), in the order received; session tokens and
    /// cookies redacted.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// # let _ = &mock;
    /// for r in mock.requests() {
    ///     for (name, value) in r.headers() {
    ///         println!("{name}: {value}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .split_terminator('\n')
            .filter_map(|l| l.split_once('\0'))
    }
}

/// Headers that belong to one hop (RFC 9110 7.6.1) and carry nothing the emulator
/// answers from, `Proxy-Authorization` among them: dropped from every request before it
/// is routed (`server.rs`), and never recorded, exported or shown even when a request
/// reaches the router another way. `Connection` and `Transfer-Encoding` stay (they say how
/// the connection is framed).
pub(crate) const HOP_BY_HOP: [&str; 7] = [
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
];

/// Headers whose values are credentials.
const SENSITIVE: [&str; 3] = ["x-amz-security-token", "x-oss-security-token", "cookie"];

/// Query parameters whose values are credentials.
const SENSITIVE_QUERY: [&str; 3] = [
    "x-amz-security-token",
    "security-token",
    "x-oss-security-token",
];

/// The headers in one allocation: `name\0value\n` each (a value cannot hold either byte).
pub(crate) fn redacted_headers(h: &http::HeaderMap) -> Box<str> {
    let mut out =
        String::with_capacity(h.iter().map(|(n, v)| n.as_str().len() + v.len() + 2).sum());
    for (n, v) in h {
        if HOP_BY_HOP.contains(&n.as_str()) {
            continue;
        }
        out.push_str(n.as_str());
        out.push('\0');
        if SENSITIVE.contains(&n.as_str()) {
            out.push_str("***");
        } else {
            out.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        out.push('\n');
    }
    out.into_boxed_str()
}

/// The path and query with session tokens in the query replaced by `***`.
pub(crate) fn redacted_target(uri: &http::Uri) -> String {
    let path = uri.path();
    let Some(q) = uri.query() else {
        return path.to_owned();
    };
    // One allocation: the target is built once per request on every route.
    let mut out = String::with_capacity(path.len() + 1 + q.len());
    out.push_str(path);
    out.push('?');
    for (i, pair) in q.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let name = pair.split('=').next().unwrap_or("");
        if SENSITIVE_QUERY.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            out.push_str(name);
            out.push_str("=***");
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// Most bytes of a body kept per entry.
pub(crate) const MAX_BODY_KEPT: usize = 64 * 1024;

/// A copy of at most [`MAX_BODY_KEPT`] bytes of a body (never a slice that would keep a
/// large buffer alive).
pub(crate) fn body_for_log(body: &[u8]) -> Bytes {
    Bytes::copy_from_slice(&body[..body.len().min(MAX_BODY_KEPT)])
}

fn entry_bytes(r: &RecordedRequest) -> usize {
    let reason =
        |x: &crate::Reason| 64 + x.message.len() + x.signed.as_ref().map_or(0, String::len);
    200 + r.target.len()
        + r.body.len()
        + r.headers.len()
        + r.refusal.as_ref().map_or(0, reason)
        + r.warnings.iter().map(reason).sum::<usize>()
}

/// The last requests, bounded in entries and in bytes.
#[derive(Debug)]
pub(crate) struct RequestLog {
    limit: usize,
    byte_limit: usize,
    bytes: usize,
    entries: VecDeque<RecordedRequest>,
}

impl RequestLog {
    pub(crate) fn new(limit: usize, byte_limit: usize) -> Self {
        Self {
            limit,
            byte_limit,
            bytes: 0,
            entries: VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, r: RecordedRequest) {
        let size = entry_bytes(&r);
        if self.limit == 0 || size > self.byte_limit {
            return;
        }
        while self.entries.len() >= self.limit || self.bytes + size > self.byte_limit {
            match self.entries.pop_front() {
                Some(old) => self.bytes -= entry_bytes(&old),
                None => break,
            }
        }
        self.bytes += size;
        self.entries.push_back(r);
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.entries.iter().cloned().collect()
    }

    /// Requests kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The newest `limit` requests that `keep` accepts, newest first.
    pub(crate) fn newest(
        &self,
        limit: usize,
        keep: impl Fn(&RecordedRequest) -> bool,
    ) -> Vec<RecordedRequest> {
        self.entries
            .iter()
            .rev()
            .filter(|r| keep(r))
            .take(limit)
            .cloned()
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: usize) -> RecordedRequest {
        RecordedRequest {
            at: SystemTime::UNIX_EPOCH,
            method: "POST".into(),
            target: "/x".into(),
            headers: "".into(),
            body: body_for_log(&vec![b'x'; body]),
            status: 200,
            app_key: None,
            fault: None,
            refusal: None,
            warnings: Vec::new(),
            api_code: None,
            latency: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn bounded_in_entries_and_bytes() {
        let mut log = RequestLog::new(1000, 300 * 1024);
        for _ in 0..20 {
            log.push(entry(1 << 20));
        }
        let (n, bytes) = (log.entries.len(), log.bytes);
        assert!(bytes <= 300 * 1024, "{bytes}");
        assert_eq!(n, 4, "four 64 KiB copies fit in 300 KiB");
        assert!(log.snapshot().iter().all(|e| e.body.len() == MAX_BODY_KEPT));
        let mut log = RequestLog::new(3, usize::MAX);
        for _ in 0..10 {
            log.push(entry(10));
        }
        assert_eq!(log.entries.len(), 3);
    }

    #[test]
    fn tokens_in_queries_are_redacted() {
        let uri: http::Uri = "/b/k?X-Amz-Security-Token=abc&X-Amz-Date=1&security-token=t"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_target(&uri),
            "/b/k?X-Amz-Security-Token=***&X-Amz-Date=1&security-token=***"
        );
    }

    proptest::proptest! {
        /// Whatever the query, the target keeps every pair in order and a token's value
        /// never reaches the log.
        #[test]
        fn a_token_never_reaches_the_log(
            pairs in proptest::collection::vec(
                (proptest::sample::select(vec![
                    "X-Amz-Date", "x-amz-security-token", "Security-Token",
                    "x-oss-security-token", "partNumber", "",
                ]), "[A-Za-z0-9%=]{0,12}"),
                0..6,
            )
        ) {
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let uri: http::Uri = format!("/b/k?{}", query.join("&")).parse().unwrap();
            let expected: Vec<String> = pairs
                .iter()
                .zip(&query)
                .map(|((k, _), pair)| {
                    let name = pair.split('=').next().unwrap_or("");
                    if k.to_ascii_lowercase().contains("security-token") {
                        format!("{name}=***")
                    } else {
                        pair.clone()
                    }
                })
                .collect();
            proptest::prop_assert_eq!(
                redacted_target(&uri),
                format!("/b/k?{}", expected.join("&"))
            );
        }
    }
}
