//! The Aliyun OSS endpoint, written here because no OSS emulator exists: PutObject,
//! GetObject (Range), HeadObject, DeleteObject and the multipart operations, with OSS XML
//! errors; signatures V1 (`OSS ak:sig`, HMAC-SHA1) and V4 (`OSS4-HMAC-SHA256`), each in
//! header and presigned form; the STS token in `x-oss-security-token` or `security-token`.
//!
//! Request freshness (`Date` / `x-oss-date` skew, expiry of presigned URLs a client made)
//! is checked against the wall clock, as clients sign with it; token and download-link
//! expiry use the mock's clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures::TryStreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::access::{Ask, Denial, Intent, Target, authorize, secret_for};
use super::presign::{hmac_sha1, hmac_sha256, unix, uri_encode};
use super::range::{Wanted, wanted};
use super::{BlobStore, CompleteError, KeyProblem, ObjectMeta, check_key};
use crate::config::Provider;
use crate::core::Core;

/// OSS's smallest part (all but the last): 100 KiB.
const MIN_PART_SIZE: u64 = 100 * 1024;
/// OSS rejects request dates further than 15 minutes from its clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// An OSS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OssError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// OSS's detailed error code (`EC`), where the documentation gives one.
    pub ec: Option<&'static str>,
    pub access_key: Option<String>,
    pub string_to_sign: Option<String>,
}

impl OssError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            ec: None,
            access_key: None,
            string_to_sign: None,
        }
    }

    fn ec(mut self, ec: &'static str) -> Self {
        self.ec = Some(ec);
        self
    }

    fn render(self, host: &str) -> Response {
        let request_id = uuid::Uuid::new_v4().simple().to_string()[..24].to_uppercase();
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{request_id}</RequestId>\n  <HostId>{}</HostId>\n",
            self.code,
            esc(&self.message),
            esc(host)
        );
        if let Some(ak) = &self.access_key {
            xml.push_str(&format!("  <OSSAccessKeyId>{}</OSSAccessKeyId>\n", esc(ak)));
        }
        if let Some(sts) = &self.string_to_sign {
            xml.push_str(&format!("  <StringToSign>{}</StringToSign>\n", esc(sts)));
        }
        if let Some(ec) = self.ec {
            xml.push_str(&format!("  <EC>{ec}</EC>\n"));
        }
        xml.push_str("</Error>\n");
        let mut resp = (self.status, xml).into_response();
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("x-oss-request-id", v);
        }
        if let Some(ec) = self.ec {
            h.insert("x-oss-ec", HeaderValue::from_static(ec));
        }
        resp
    }
}

fn forbidden(code: &'static str, msg: impl Into<String>) -> OssError {
    OssError::new(StatusCode::FORBIDDEN, code, msg)
}

fn denial_error(d: Denial, access_key: &str) -> OssError {
    let unknown = "The OSS Access Key Id you provided does not exist in our records.";
    let mut e = match d {
        Denial::UnknownKey => forbidden("InvalidAccessKeyId", unknown).ec("0002-00000002"),
        Denial::MissingToken => forbidden("InvalidAccessKeyId", unknown).ec("0002-00000003"),
        Denial::TokenMismatch => forbidden(
            "InvalidSecurityToken",
            "The security token you provided does not match your access key.",
        )
        .ec("0002-00000004"),
        Denial::InvalidToken => forbidden(
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
        )
        .ec("0002-00000006"),
        Denial::Expired => forbidden(
            "SecurityTokenExpired",
            "The security token you provided has expired.",
        )
        .ec("0002-00000007"),
        Denial::Denied(why) => forbidden(
            "AccessDenied",
            format!("You have no right to access this object: {why}"),
        ),
    };
    e.access_key = Some(access_key.to_owned());
    e
}

// ---- signatures ---------------------------------------------------------------------------

/// What the request was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    pub access_key: String,
    pub token: Option<String>,
    /// A presigned URL (rather than an `Authorization` header).
    pub presigned: bool,
}

/// The parts of a request that signatures cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedRequest<'a> {
    pub method: &'a Method,
    /// Raw path as sent (percent-encoded).
    pub path: &'a str,
    /// Raw query as sent.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The bucket, when addressed virtual-host style (`bucket.host`); the path then holds
    /// only the key.
    pub virtual_bucket: Option<&'a str>,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| {
                percent_decode_str(&s.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

fn query_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Sub-resources that V1 signatures include (OSS documentation's list, for the
/// operations and links this endpoint serves and the common response overrides).
const SUB_RESOURCES: &[&str] = &[
    "acl",
    "uploads",
    "location",
    "cors",
    "logging",
    "website",
    "referer",
    "lifecycle",
    "delete",
    "append",
    "tagging",
    "objectMeta",
    "uploadId",
    "partNumber",
    "security-token",
    "position",
    "img",
    "style",
    "styleName",
    "replication",
    "replicationProgress",
    "replicationLocation",
    "cname",
    "bucketInfo",
    "comp",
    "qos",
    "live",
    "status",
    "vod",
    "startTime",
    "endTime",
    "symlink",
    "x-oss-process",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "udf",
    "restore",
    "callback",
    "callback-var",
    "versionId",
    "versions",
    "versioning",
    "x-oss-traffic-limit",
];

fn v1_resource(r: &SignedRequest<'_>, pairs: &[(String, String)]) -> String {
    let path = percent_decode_str(r.path).decode_utf8_lossy();
    let mut resource = match r.virtual_bucket {
        Some(b) => format!("/{b}{path}"),
        None => path.into_owned(),
    };
    let mut subs: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| SUB_RESOURCES.contains(&k.as_str()))
        .collect();
    subs.sort_by(|a, b| a.0.cmp(&b.0));
    if !subs.is_empty() {
        resource.push('?');
        let parts: Vec<String> = subs
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        resource.push_str(&parts.join("&"));
    }
    resource
}

/// The V1 string to sign; `date_or_expires` is the `Date` header, or `Expires` of a
/// presigned URL.
pub(crate) fn v1_string_to_sign(r: &SignedRequest<'_>, date_or_expires: &str) -> String {
    let pairs = query_pairs(r.query);
    let mut oss: Vec<(String, &str)> = r
        .headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-oss-"))
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").trim()))
        .collect();
    oss.sort();
    let mut s = format!(
        "{}\n{}\n{}\n{date_or_expires}\n",
        r.method,
        header(r.headers, "content-md5"),
        header(r.headers, "content-type")
    );
    for (n, v) in oss {
        s.push_str(&format!("{n}:{v}\n"));
    }
    s.push_str(&v1_resource(r, &pairs));
    s
}

struct V4Auth<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    additional: Vec<String>,
    signature: &'a str,
}

fn parse_v4_header(value: &str) -> Option<V4Auth<'_>> {
    let rest = value.strip_prefix("OSS4-HMAC-SHA256")?.trim_start();
    let mut credential = None;
    let mut additional = Vec::new();
    let mut signature = None;
    for item in rest.split(',') {
        let (k, v) = item.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "AdditionalHeaders" => {
                additional = v
                    .split(';')
                    .filter(|h| !h.is_empty())
                    .map(|h| h.to_ascii_lowercase())
                    .collect()
            }
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut c = credential?.split('/');
    let (access_key, date, region) = (c.next()?, c.next()?, c.next()?);
    (c.next()? == "oss" && c.next()? == "aliyun_v4_request").then_some(())?;
    Some(V4Auth {
        access_key,
        date,
        region,
        additional,
        signature: signature?,
    })
}

/// The V4 canonical request (header form, or presigned without `x-oss-signature`).
pub(crate) fn v4_canonical_request(
    r: &SignedRequest<'_>,
    additional: &[String],
    presigned: bool,
) -> String {
    let enc = |s: &str| uri_encode(s);
    let path: String = r
        .path
        .split('/')
        .map(|seg| enc(&percent_decode_str(seg).decode_utf8_lossy()))
        .collect::<Vec<_>>()
        .join("/");
    let uri = match r.virtual_bucket {
        Some(b) => format!("/{}{path}", enc(b)),
        None => path,
    };
    let mut query: Vec<(String, String)> = query_pairs(r.query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "x-oss-signature"))
        .map(|(k, v)| (enc(&k), enc(&v)))
        .collect();
    query.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = query
        .into_iter()
        .map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") })
        .collect();
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").trim().to_owned(),
            )
        })
        .filter(|(n, _)| {
            n != "authorization"
                && (n == "content-md5"
                    || n == "content-type"
                    || (n.starts_with("x-oss-") && !(presigned && n == "x-oss-content-sha256"))
                    || additional.contains(n))
        })
        .collect();
    headers.sort();
    let payload = match header(r.headers, "x-oss-content-sha256") {
        "" => "UNSIGNED-PAYLOAD",
        _ if presigned => "UNSIGNED-PAYLOAD",
        v => v,
    };
    let mut s = format!("{}\n{uri}\n{}\n", r.method, query.join("&"));
    for (n, v) in headers {
        s.push_str(&format!("{n}:{v}\n"));
    }
    s.push_str(&format!("\n{}\n{payload}", additional.join(";")));
    s
}

fn v4_signature(
    secret: &str,
    date: &str,
    region: &str,
    x_oss_date: &str,
    canonical: &str,
) -> (String, String) {
    let scope = format!("{date}/{region}/oss/aliyun_v4_request");
    let to_sign = format!(
        "OSS4-HMAC-SHA256\n{x_oss_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac_sha256(format!("aliyun_v4{secret}").as_bytes(), date.as_bytes());
    let k = hmac_sha256(&k, region.as_bytes());
    let k = hmac_sha256(&k, b"oss");
    let k = hmac_sha256(&k, b"aliyun_v4_request");
    (hex::encode(hmac_sha256(&k, to_sign.as_bytes())), to_sign)
}

fn parse_iso8601(s: &str) -> Option<SystemTime> {
    // 20250411T064124Z
    let b = s.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
    {
        return None;
    }
    terra_types::time::parse_rfc3339(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    ))
}

fn skewed(t: SystemTime, now: SystemTime) -> bool {
    let d = now.duration_since(t).unwrap_or_else(|e| e.duration());
    d > MAX_SKEW
}

/// Verifies the signature of an OSS request. `wall_now` checks request freshness;
/// `link_now` (the mock's clock) checks the expiry of the mock's own download links.
pub(crate) fn verify(
    r: &SignedRequest<'_>,
    secret_for: impl Fn(&str) -> Option<String>,
    is_link_key: impl Fn(&str) -> bool,
    wall_now: SystemTime,
    link_now: SystemTime,
) -> Result<Signed, OssError> {
    let unknown = |ak: &str| {
        let mut e = forbidden(
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        );
        e.access_key = Some(ak.to_owned());
        e
    };
    let mismatch = |ak: &str, sts: String| {
        let mut e = forbidden("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
            .ec("0002-00000040");
        e.access_key = Some(ak.to_owned());
        e.string_to_sign = Some(sts);
        e
    };
    let expired = || forbidden("AccessDenied", "Request has expired.").ec("0002-00000069");
    let pairs = query_pairs(r.query);
    let auth = header(r.headers, "authorization");

    if let Some(rest) = auth.strip_prefix("OSS ") {
        let (ak, sig) = rest.trim().split_once(':').ok_or_else(|| {
            OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Authorization header is invalid.",
            )
        })?;
        let secret = secret_for(ak).ok_or_else(|| unknown(ak))?;
        let date = header(r.headers, "date");
        let t = httpdate::parse_http_date(date)
            .map_err(|_| forbidden("AccessDenied", "OSS authentication requires a valid Date."))?;
        if skewed(t, wall_now) {
            return Err(forbidden(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            ));
        }
        let sts = v1_string_to_sign(r, date);
        let expected = base64::engine::general_purpose::STANDARD
            .encode(hmac_sha1(secret.as_bytes(), sts.as_bytes()));
        if expected != sig {
            return Err(mismatch(ak, sts));
        }
        let token = r
            .headers
            .get("x-oss-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Ok(Signed {
            access_key: ak.to_owned(),
            token,
            presigned: false,
        });
    }
    if auth.starts_with("OSS4-HMAC-SHA256") {
        let a = parse_v4_header(auth).ok_or_else(|| {
            OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Authorization header is invalid.",
            )
        })?;
        let secret = secret_for(a.access_key).ok_or_else(|| unknown(a.access_key))?;
        let x_date = header(r.headers, "x-oss-date");
        let t = parse_iso8601(x_date).ok_or_else(|| {
            forbidden("AccessDenied", "OSS V4 authentication requires x-oss-date.")
        })?;
        if skewed(t, wall_now) {
            return Err(forbidden(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            ));
        }
        let canonical = v4_canonical_request(r, &a.additional, false);
        let (expected, sts) = v4_signature(&secret, a.date, a.region, x_date, &canonical);
        if expected != a.signature {
            return Err(mismatch(
                a.access_key,
                format!("{sts}\n--- canonical request ---\n{canonical}"),
            ));
        }
        let token = r
            .headers
            .get("x-oss-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Ok(Signed {
            access_key: a.access_key.to_owned(),
            token,
            presigned: false,
        });
    }
    if let Some(ak) = query_get(&pairs, "OSSAccessKeyId") {
        let secret = secret_for(ak).ok_or_else(|| unknown(ak))?;
        let expires = query_get(&pairs, "Expires").unwrap_or("");
        let e: u64 = expires
            .parse()
            .map_err(|_| forbidden("AccessDenied", "Expires is invalid."))?;
        let now = if is_link_key(ak) { link_now } else { wall_now };
        if e <= unix(now) {
            return Err(expired());
        }
        let sts = v1_string_to_sign(r, expires);
        let expected = base64::engine::general_purpose::STANDARD
            .encode(hmac_sha1(secret.as_bytes(), sts.as_bytes()));
        if Some(expected.as_str()) != query_get(&pairs, "Signature") {
            return Err(mismatch(ak, sts));
        }
        let token = query_get(&pairs, "security-token").map(str::to_owned);
        return Ok(Signed {
            access_key: ak.to_owned(),
            token,
            presigned: true,
        });
    }
    if query_get(&pairs, "x-oss-signature-version") == Some("OSS4-HMAC-SHA256") {
        let cred = query_get(&pairs, "x-oss-credential").unwrap_or("");
        let mut c = cred.split('/');
        let (ak, date, region) = (
            c.next().unwrap_or(""),
            c.next().unwrap_or(""),
            c.next().unwrap_or(""),
        );
        let secret = secret_for(ak).ok_or_else(|| unknown(ak))?;
        let x_date = query_get(&pairs, "x-oss-date").unwrap_or("");
        let t = parse_iso8601(x_date)
            .ok_or_else(|| forbidden("AccessDenied", "x-oss-date is invalid."))?;
        let ttl: u64 = query_get(&pairs, "x-oss-expires")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let now = if is_link_key(ak) { link_now } else { wall_now };
        if t + Duration::from_secs(ttl) <= now {
            return Err(expired());
        }
        let additional: Vec<String> = query_get(&pairs, "x-oss-additional-headers")
            .unwrap_or("")
            .split(';')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        let canonical = v4_canonical_request(r, &additional, true);
        let (expected, sts) = v4_signature(&secret, date, region, x_date, &canonical);
        if Some(expected.as_str()) != query_get(&pairs, "x-oss-signature") {
            return Err(mismatch(ak, sts));
        }
        let token = query_get(&pairs, "x-oss-security-token").map(str::to_owned);
        return Ok(Signed {
            access_key: ak.to_owned(),
            token,
            presigned: true,
        });
    }
    Err(forbidden(
        "AccessDenied",
        "You have no right to access this object because of bucket acl.",
    ))
}

// ---- operations ---------------------------------------------------------------------------

fn oss_etag(hex_etag: &str) -> String {
    format!("\"{}\"", hex_etag.to_uppercase())
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

fn with_etag(mut r: Response, meta_etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&oss_etag(meta_etag)) {
        r.headers_mut().insert(http::header::ETAG, v);
    }
    r
}

fn object_headers(mut r: Response, meta: &ObjectMeta) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&oss_etag(&meta.etag)) {
        h.insert(http::header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(meta.last_modified)) {
        h.insert(http::header::LAST_MODIFIED, v);
    }
    let ct = meta
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(ct) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    h.insert(
        http::header::ACCEPT_RANGES,
        HeaderValue::from_static("bytes"),
    );
    r
}

fn no_key() -> OssError {
    OssError::new(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
}

fn no_upload() -> OssError {
    OssError::new(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

fn check_md5(headers: &HeaderMap, hex_md5: &str) -> Result<(), OssError> {
    let sent = header(headers, "content-md5");
    if sent.is_empty() {
        return Ok(());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sent)
        .map_err(|_| {
            OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidDigest",
                "The Content-MD5 you specified is not valid.",
            )
        })?;
    if hex::encode(raw) != hex_md5 {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct CompleteBody {
    #[serde(rename = "Part", default)]
    parts: Vec<CompletePart>,
}

#[derive(serde::Deserialize)]
struct CompletePart {
    #[serde(rename = "PartNumber")]
    number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

fn parse_range(value: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, OssError> {
    match wanted(value, size) {
        Wanted::Whole => Ok(None),
        Wanted::Part(r) => Ok(Some(r)),
        Wanted::Unsatisfiable => Err(OssError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range is not satisfiable.",
        )),
    }
}

/// Serves one OSS request for `bucket/key`.
pub(crate) async fn serve(
    m: Arc<Core>,
    req: axum::extract::Request,
    bucket: String,
    key: String,
    virtual_host: bool,
) -> Response {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match handle(&m, req, &bucket, &key, virtual_host).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(code = e.code, ec = ?e.ec, "OSS error");
            e.render(&host)
        }
    }
}

async fn handle(
    m: &Arc<Core>,
    req: axum::extract::Request,
    bucket: &str,
    key: &str,
    virtual_host: bool,
) -> Result<Response, OssError> {
    let (parts, body) = req.into_parts();
    let signed = {
        let r = SignedRequest {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            virtual_bucket: virtual_host.then_some(bucket),
        };
        verify(
            &r,
            |ak| secret_for(m, ak),
            |ak| ak == m.service_oss.access_key,
            SystemTime::now(),
            m.now(),
        )?
    };
    if bucket != m.cfg.oss.bucket {
        return Err(OssError::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        ));
    }
    let pairs = query_pairs(parts.uri.query());
    let upload_id = query_get(&pairs, "uploadId").map(str::to_owned);
    let intent = if matches!(parts.method, Method::GET | Method::HEAD) {
        Intent::Read
    } else {
        Intent::Write
    };
    let ask = Ask {
        provider: Provider::Oss,
        access_key: &signed.access_key,
        token: signed.token.as_deref(),
        intent,
        bucket,
        target: if key.is_empty() {
            Target::Bucket
        } else {
            Target::Object(key)
        },
    };
    authorize(m, &ask, m.now()).map_err(|d| denial_error(d, &signed.access_key))?;
    if key.is_empty() {
        return Err(OssError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ));
    }
    let stream = || body.into_data_stream().map_err(|e| e.to_string());
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    if matches!(parts.method, Method::PUT | Method::POST) && upload_id.is_none() {
        check_key(key, 1023).map_err(|p| match p {
            KeyProblem::Unlistable(c) => OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidObjectName",
                format!(
                    "The specified object is not valid: U+{:04X} cannot be listed.",
                    c as u32
                ),
            ),
            _ => OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidObjectName",
                "The specified object is not valid.",
            ),
        })?;
    }
    match (&parts.method, upload_id) {
        (&Method::PUT, None) => {
            let written = m
                .storage
                .write_stream(stream(), content_type)
                .await
                .map_err(|e| OssError::new(StatusCode::BAD_REQUEST, "IncompleteBody", e))?;
            if let Err(e) = check_md5(&parts.headers, &written.etag) {
                written.discard();
                return Err(e);
            }
            let meta = m.storage.commit(bucket, key, written, m.now());
            Ok(with_etag(StatusCode::OK.into_response(), &meta.etag))
        }
        (&Method::PUT, Some(id)) => {
            let n: u32 = query_get(&pairs, "partNumber")
                .and_then(|v| v.parse().ok())
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    OssError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidArgument",
                        "Part number must be an integer between 1 and 10000, inclusive.",
                    )
                })?;
            if !m.storage.upload_exists(&id, bucket, key) {
                return Err(no_upload());
            }
            let written = m
                .storage
                .write_stream(stream(), None)
                .await
                .map_err(|e| OssError::new(StatusCode::BAD_REQUEST, "IncompleteBody", e))?;
            if let Err(e) = check_md5(&parts.headers, &written.etag) {
                written.discard();
                return Err(e);
            }
            let part = m
                .storage
                .put_part(&id, n, written, m.now())
                .ok_or_else(no_upload)?;
            Ok(with_etag(StatusCode::OK.into_response(), &part.etag))
        }
        (&Method::POST, None) if query_get(&pairs, "uploads").is_some() => {
            let id = m.storage.create_upload(bucket, key, content_type, m.now());
            Ok(xml(
                StatusCode::OK,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>\n  <Bucket>{bucket}</Bucket>\n  <Key>{}</Key>\n  <UploadId>{id}</UploadId>\n</InitiateMultipartUploadResult>\n",
                    xml_escape(key)
                ),
            ))
        }
        (&Method::POST, Some(id)) => {
            if !m.storage.upload_exists(&id, bucket, key) {
                return Err(no_upload());
            }
            let bytes = axum::body::to_bytes(
                Body::new(http_body_util::StreamBody::new(
                    stream().map_ok(http_body::Frame::data),
                )),
                1 << 20,
            )
            .await
            .map_err(|_| {
                OssError::new(
                    StatusCode::BAD_REQUEST,
                    "MalformedXML",
                    "The XML you provided was not well-formed.",
                )
            })?;
            let parsed: CompleteBody = quick_xml::de::from_str(&String::from_utf8_lossy(&bytes))
                .map_err(|e| {
                    OssError::new(
                        StatusCode::BAD_REQUEST,
                        "MalformedXML",
                        format!("The XML you provided was not well-formed: {e}"),
                    )
                })?;
            let listed: Vec<(u32, String)> = parsed
                .parts
                .into_iter()
                .map(|p| (p.number, p.etag))
                .collect();
            let (bucket, key, meta) = m
                .storage
                .complete_upload(&id, &listed, MIN_PART_SIZE, m.now())
                .map_err(complete_error)?;
            Ok(xml(
                StatusCode::OK,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\n  <Location>{}/{bucket}/{}</Location>\n  <Bucket>{bucket}</Bucket>\n  <Key>{}</Key>\n  <ETag>{}</ETag>\n</CompleteMultipartUploadResult>\n",
                    m.base_url(),
                    super::presign::encode_key(&key),
                    xml_escape(&key),
                    xml_escape(&oss_etag(&meta.etag))
                ),
            ))
        }
        (&Method::DELETE, Some(id)) => {
            if !m.storage.upload_exists(&id, bucket, key) || !m.storage.abort_upload(&id) {
                return Err(no_upload());
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::DELETE, None) => {
            m.storage.delete(bucket, key);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::GET | &Method::HEAD, None) => {
            let meta = m.storage.head(bucket, key).ok_or_else(no_key)?;
            let range = match parts
                .headers
                .get(http::header::RANGE)
                .and_then(|v| v.to_str().ok())
            {
                Some(v) => parse_range(v, meta.size)?,
                None => None,
            };
            let (status, span) = match &range {
                Some(r) => (StatusCode::PARTIAL_CONTENT, r.clone()),
                None => (StatusCode::OK, 0..meta.size),
            };
            let len = span.end - span.start;
            let body = if parts.method == Method::HEAD {
                Body::empty()
            } else {
                let s = BlobStore::read_range(&meta, span.clone())
                    .await
                    .map_err(|e| {
                        OssError::new(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "InternalError",
                            e.to_string(),
                        )
                    })?;
                Body::from_stream(s)
            };
            let mut resp = object_headers(Response::new(body), &meta);
            *resp.status_mut() = status;
            resp.headers_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
            if range.is_some()
                && let Ok(v) = HeaderValue::from_str(&format!(
                    "bytes {}-{}/{}",
                    span.start,
                    span.end.saturating_sub(1),
                    meta.size
                ))
            {
                resp.headers_mut().insert(http::header::CONTENT_RANGE, v);
            }
            Ok(resp)
        }
        _ => Err(OssError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn complete_error(e: CompleteError) -> OssError {
    let bad = |code, msg: String| OssError::new(StatusCode::BAD_REQUEST, code, msg);
    match e {
        CompleteError::NoSuchUpload => no_upload(),
        CompleteError::InvalidPart(n) => bad(
            "InvalidPart",
            format!(
                "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag (part {n})."
            ),
        ),
        CompleteError::InvalidPartOrder => bad(
            "InvalidPartOrder",
            "The list of parts was not in ascending order.".into(),
        ),
        CompleteError::EntityTooSmall(n) => bad(
            "EntityTooSmall",
            format!(
                "Your proposed upload is smaller than the minimum allowed size (part {n}, minimum 100 KB)."
            ),
        ),
        CompleteError::Empty => bad(
            "MalformedXML",
            "The XML you provided did not list any part.".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(
        method: &'a Method,
        path: &'a str,
        query: Option<&'a str>,
        headers: &'a HeaderMap,
        vb: Option<&'a str>,
    ) -> SignedRequest<'a> {
        SignedRequest {
            method,
            path,
            query,
            headers,
            virtual_bucket: vb,
        }
    }

    /// The published OSS V4 example (also the golden vector of reqsign-aliyun-oss): a PUT
    /// of `exampleobject` at 2025-04-11T06:41:24Z with secret `yourAccessKeySecret`.
    #[test]
    fn v4_header_golden_vector() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("host", "examplebucket.oss-cn-hangzhou.aliyuncs.com"),
            ("content-disposition", "attachment"),
            ("content-length", "3"),
            ("content-md5", "ICy5YqxZB1uWSwcVLSNLcA=="),
            ("content-type", "text/plain"),
            ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-oss-date", "20250411T064124Z"),
            (
                "authorization",
                "OSS4-HMAC-SHA256 Credential=testid/20250411/cn-hangzhou/oss/aliyun_v4_request, AdditionalHeaders=content-disposition;content-length, Signature=d3694c2dfc5371ee6acd35e88c4871ac95a7ba01d3a2f476768fe61218590097",
            ),
        ] {
            h.insert(n, HeaderValue::from_static(v));
        }
        let r = req(
            &Method::PUT,
            "/exampleobject",
            None,
            &h,
            Some("examplebucket"),
        );
        let canonical = v4_canonical_request(
            &r,
            &["content-disposition".into(), "content-length".into()],
            false,
        );
        assert_eq!(
            canonical,
            "PUT\n/examplebucket/exampleobject\n\ncontent-disposition:attachment\ncontent-length:3\ncontent-md5:ICy5YqxZB1uWSwcVLSNLcA==\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250411T064124Z\n\ncontent-disposition;content-length\nUNSIGNED-PAYLOAD"
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_744_353_684);
        let ok = verify(
            &r,
            |ak| (ak == "testid").then(|| "yourAccessKeySecret".to_owned()),
            |_| false,
            at,
            at,
        )
        .unwrap();
        assert_eq!(
            (ok.access_key.as_str(), ok.token, ok.presigned),
            ("testid", None, false)
        );
        let e = verify(&r, |_| Some("other".into()), |_| false, at, at).unwrap_err();
        assert_eq!(
            (e.code, e.ec),
            ("SignatureDoesNotMatch", Some("0002-00000040"))
        );
        let e = verify(
            &r,
            |_| Some("yourAccessKeySecret".into()),
            |_| false,
            at + Duration::from_secs(3600),
            at,
        )
        .unwrap_err();
        assert_eq!(e.code, "RequestTimeTooSkewed");
    }

    /// The presigned form of the same example (2024-12-03T03:23:07Z, 1 day).
    #[test]
    fn v4_presign_golden_vector() {
        let mut h = HeaderMap::new();
        h.insert(
            "host",
            HeaderValue::from_static("examplebucket.oss-cn-hangzhou.aliyuncs.com"),
        );
        let q = "x-oss-additional-headers=host&x-oss-credential=testid%2F20241203%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20241203T032307Z&x-oss-expires=86400&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-signature=a9ad2ce702a93c7c36ace35dd4e1b80cb76a999c890d7dfe78ff342a23dac8e0";
        let r = req(
            &Method::GET,
            "/exampleobject",
            Some(q),
            &h,
            Some("examplebucket"),
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_733_196_187 + 60);
        let secret = |_: &str| Some("yourAccessKeySecret".to_owned());
        assert!(verify(&r, secret, |_| false, at, at).unwrap().presigned);
        let late = at + Duration::from_secs(86_400);
        assert_eq!(
            verify(&r, secret, |_| false, late, late)
                .unwrap_err()
                .message,
            "Request has expired."
        );
    }

    #[test]
    fn v1_string_to_sign_has_sorted_oss_headers_and_sub_resources() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("image/jpeg"));
        h.insert(
            "date",
            HeaderValue::from_static("Wed, 25 Nov 2026 10:00:00 GMT"),
        );
        h.insert("x-oss-security-token", HeaderValue::from_static("tok"));
        h.insert("x-oss-meta-a", HeaderValue::from_static(" 1 "));
        let r = req(
            &Method::PUT,
            "/terra-mock-oss/a%20b.jpg",
            Some("uploadId=U&partNumber=2&foo=bar"),
            &h,
            None,
        );
        assert_eq!(
            v1_string_to_sign(&r, "Wed, 25 Nov 2026 10:00:00 GMT"),
            "PUT\n\nimage/jpeg\nWed, 25 Nov 2026 10:00:00 GMT\nx-oss-meta-a:1\nx-oss-security-token:tok\n/terra-mock-oss/a b.jpg?partNumber=2&uploadId=U"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some(0..10));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some(90..100));
        assert_eq!(parse_range("bytes=-5", 100).unwrap(), Some(95..100));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), Some(50..100));
        assert_eq!(parse_range("bytes=9-1", 100).unwrap(), None);
        assert_eq!(
            parse_range("bytes=100-", 100).unwrap_err().code,
            "InvalidRange"
        );
    }
}
