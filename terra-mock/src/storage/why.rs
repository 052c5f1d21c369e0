//! Why a storage request was refused. The access rule notes its denial while the request
//! is served (a task-local slot, as the S3 layer answers through s3s); other refusals are
//! read from the error document the endpoint answers. An S3 `SignatureDoesNotMatch` gains
//! what S3 itself adds: `AWSAccessKeyId`, `StringToSign`, `SignatureProvided`,
//! `CanonicalRequest` and their `...Bytes` forms, rebuilt by the emulator's own SigV4
//! canonicalization.

use std::cell::RefCell;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, Method, Uri};
use sha2::{Digest as _, Sha256};

use super::access::Denial;
use crate::{Reason, ReasonCode};

tokio::task_local! {
    static NOTED: RefCell<Option<Reason>>;
}

/// Serves `fut` with a slot for the reason of a refusal; returns its answer and the reason
/// noted, if any.
/// (A plain function rather than an `async fn`, whose state would hold `fut` twice.)
pub(crate) fn scoped<F: Future<Output = Response>>(
    fut: F,
) -> impl Future<Output = (Response, Option<Reason>)> {
    NOTED.scope(RefCell::new(None), async {
        let r = fut.await;
        (r, NOTED.with(|c| c.borrow_mut().take()))
    })
}

/// Notes why the request being served is refused (the first reason stays).
pub(crate) fn note(reason: Reason) {
    let _ = NOTED.try_with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(reason);
        }
    });
}

impl Denial {
    /// The reason of this denial.
    pub(crate) fn reason(&self) -> Reason {
        match self {
            Denial::UnknownKey => Reason::new(
                ReasonCode::AccessKeyUnknown,
                "the access key is neither an STS session's nor the emulator's own: sign with the AccessKeyId obtain_token returned (a reset forgets sessions)",
            ),
            Denial::MissingToken => Reason::new(
                ReasonCode::StsTokenMissing,
                "temporary credentials without their session token: send the SecurityToken obtain_token returned as x-amz-security-token (S3) or x-oss-security-token (OSS)",
            ),
            Denial::TokenMismatch => Reason::new(
                ReasonCode::StsTokenInvalid,
                "the session token belongs to other credentials: send the SecurityToken that came with this AccessKeyId",
            ),
            Denial::InvalidToken => Reason::new(
                ReasonCode::StsTokenInvalid,
                "no session has this token: send the SecurityToken obtain_token returned, unchanged",
            ),
            Denial::Expired => Reason::new(
                ReasonCode::StsTokenExpired,
                "the STS credentials have expired (their expireTime has passed on the emulator's clock): call obtain_token again",
            ),
            Denial::Denied(why) if why.contains(" under ") || why.contains("for bucket") => {
                Reason::new(
                    ReasonCode::StorePathDenied,
                    format!(
                        "{why}: a token allows its own bucket and keys under its storePath only"
                    ),
                )
            }
            Denial::Denied(why) => Reason::new(ReasonCode::AccessDenied, why.clone()),
        }
    }
}

/// The reason of an expired download link.
pub(crate) fn expired_link() -> Reason {
    Reason::new(
        ReasonCode::PresignedExpired,
        "the presigned link is past its expiry on the emulator's clock: ask for a new link (file detail or the job's outputs)",
    )
}

/// A SigV4 request as received, kept to explain a signature mismatch.
pub(crate) struct SigV4Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl SigV4Request {
    pub(crate) fn of(req: &axum::extract::Request) -> Self {
        Self {
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
        }
    }
}

/// The elements of an error document (unescaped enough to explain it).
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let (_, rest) = xml.split_once(&format!("<{name}>"))?;
    rest.split_once(&format!("</{name}>")).map(|(v, _)| v)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The largest error document read to explain it.
const MAX_ERROR_DOC: usize = 64 * 1024;

/// Marks a storage answer with its reason: the one noted, else the one its error document
/// says; a SigV4 `SignatureDoesNotMatch` gets S3's explanation elements.
pub(crate) async fn explain(
    mut resp: Response,
    noted: Option<Reason>,
    sigv4: Option<SigV4Request>,
) -> Response {
    if resp.status().as_u16() < 400 {
        return resp;
    }
    if let Some(r) = noted {
        crate::reason::refuse(&mut resp, r);
        return resp;
    }
    let xml = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("xml"));
    if !xml {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_DOC).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    let code = tag(&text, "Code").unwrap_or("").to_owned();
    let message = unescape(tag(&text, "Message").unwrap_or(""));
    let mut signed = tag(&text, "StringToSign").map(unescape);
    if code == "SignatureDoesNotMatch"
        && signed.is_none()
        && let Some(req) = &sigv4
        && let Some(s) = sigv4_explained(req)
    {
        text = text.replacen(
            "<RequestId>",
            &format!(
                "<AWSAccessKeyId>{}</AWSAccessKeyId><StringToSign>{}</StringToSign><SignatureProvided>{}</SignatureProvided><StringToSignBytes>{}</StringToSignBytes><CanonicalRequest>{}</CanonicalRequest><CanonicalRequestBytes>{}</CanonicalRequestBytes><RequestId>",
                escape(&s.access_key),
                escape(&s.string_to_sign),
                escape(&s.signature),
                bytes_of(&s.string_to_sign),
                escape(&s.canonical_request),
                bytes_of(&s.canonical_request),
            ),
            1,
        );
        signed = Some(format!(
            "CanonicalRequest:\n{}\n\nStringToSign:\n{}",
            s.canonical_request, s.string_to_sign
        ));
    }
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let mut resp = Response::from_parts(parts, Body::from(text));
    // The client sent its session token and may see it again; the log and the report
    // never keep it.
    let signed = signed.map(|s| without_tokens(&s));
    let reason = match code.as_str() {
        "SignatureDoesNotMatch" => {
            let r = Reason::new(
                ReasonCode::StorageSignatureMismatch,
                "the signature does not match what the emulator signed with the secret of this access key (below); compare it with the client's: the signed headers, the query, the payload hash and the date are the usual differences, else the secret",
            );
            match signed {
                Some(s) => r.with_signed(s),
                None => r,
            }
        }
        "InvalidAccessKeyId" => Denial::UnknownKey.reason(),
        "InvalidToken" | "InvalidSecurityToken" => Denial::InvalidToken.reason(),
        "ExpiredToken" | "SecurityTokenExpired" => Denial::Expired.reason(),
        "RequestTimeTooSkewed" => Reason::new(
            ReasonCode::DateOutOfWindow,
            "the request date is more than 15 minutes from the emulator's clock: check the client's clock (or the emulator's, if a test moved it)",
        ),
        "AccessDenied" if message.contains("expired") => expired_link(),
        "AccessDenied" => Reason::new(ReasonCode::AccessDenied, format!("{code}: {message}")),
        _ => Reason::new(ReasonCode::StorageError, format!("{code}: {message}")),
    };
    crate::reason::refuse(&mut resp, reason);
    resp
}

/// `s` with the values of session tokens (a signed header line, a query parameter)
/// replaced by `***`.
fn without_tokens(s: &str) -> String {
    let lines: Vec<String> = s
        .split('\n')
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            let line = if lower.starts_with("x-amz-security-token:")
                || lower.starts_with("x-oss-security-token:")
            {
                let (name, _) = line.split_once(':').unwrap_or((line, ""));
                format!("{name}:***")
            } else {
                line.to_owned()
            };
            line.split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _))
                        if [
                            "x-amz-security-token",
                            "security-token",
                            "x-oss-security-token",
                        ]
                        .iter()
                        .any(|t| {
                            k.eq_ignore_ascii_case(t)
                                || k.to_ascii_lowercase().ends_with(&format!("?{t}"))
                        }) =>
                    {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("&")
        })
        .collect();
    lines.join("\n")
}

/// AWS's `...Bytes` form: each byte in two hex digits, separated by spaces.
fn bytes_of(s: &str) -> String {
    let hex: Vec<String> = s.bytes().map(|b| format!("{b:02x}")).collect();
    hex.join(" ")
}

struct SigV4Explained {
    access_key: String,
    signature: String,
    canonical_request: String,
    string_to_sign: String,
}

/// The canonical request and string to sign of a SigV4 request (header or presigned), as
/// the SigV4 specification builds them.
fn sigv4_explained(req: &SigV4Request) -> Option<SigV4Explained> {
    let query: Vec<(String, String)> = req
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let presigned = q("X-Amz-Signature").is_some();
    let (credential, signed_headers, signature, date) = if presigned {
        (
            q("X-Amz-Credential")?,
            q("X-Amz-SignedHeaders")?,
            q("X-Amz-Signature")?,
            q("X-Amz-Date")?,
        )
    } else {
        let auth = header("authorization")?;
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256")?;
        let field = |name: &str| {
            rest.split(',')
                .map(str::trim)
                .find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .map(str::to_owned)
        };
        (
            field("Credential")?,
            field("SignedHeaders")?,
            field("Signature")?,
            header("x-amz-date")?,
        )
    };
    let (access_key, scope) = credential.split_once('/')?;
    let mut canonical = String::with_capacity(512);
    canonical.push_str(req.method.as_str());
    canonical.push('\n');
    let path = req.uri.path();
    let segments: Vec<String> = path.split('/').map(|s| encode(&decode(s))).collect();
    canonical.push_str(&segments.join("/"));
    canonical.push('\n');
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    pairs.sort();
    let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    canonical.push_str(&pairs.join("&"));
    canonical.push('\n');
    for name in signed_headers.split(';') {
        let values: Vec<String> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers);
    canonical.push('\n');
    let payload = header("x-amz-content-sha256").unwrap_or_else(|| {
        if presigned {
            "UNSIGNED-PAYLOAD".into()
        } else {
            hex::encode(Sha256::digest(b""))
        }
    });
    canonical.push_str(&payload);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    Some(SigV4Explained {
        access_key: access_key.to_owned(),
        signature,
        canonical_request: canonical,
        string_to_sign,
    })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// SigV4's URI encoding: everything but `A-Za-z0-9-_.~` as `%XX`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the SigV4 documentation ("GET Object"): the canonical request and
    /// string to sign it publishes.
    #[test]
    fn the_canonical_request_is_sigv4s() {
        let mut headers = HeaderMap::new();
        for (n, v) in [
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-amz-date", "20130524T000000Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            ),
        ] {
            headers.insert(n, v.parse().unwrap());
        }
        let req = SigV4Request {
            method: Method::GET,
            uri: "/test.txt".parse().unwrap(),
            headers,
        };
        let s = sigv4_explained(&req).unwrap();
        assert_eq!(
            s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
        );
        assert_eq!(s.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(&bytes_of("AW")[..], "41 57");
    }

    #[test]
    fn tokens_never_reach_the_log() {
        let s = "PUT\n/b/k\nX-Amz-Date=1&X-Amz-Security-Token=secret%2Ftoken\nhost:h\nx-amz-security-token:secret\n\nhost;x-amz-security-token\nUNSIGNED-PAYLOAD";
        let clean = without_tokens(s);
        assert!(!clean.contains("secret"), "{clean}");
        assert!(
            clean.contains("x-amz-security-token:***")
                && clean.contains("X-Amz-Security-Token=***")
        );
        assert!(
            without_tokens("x-oss-security-token:abc\n/bucket/key?security-token=abc")
                .matches("***")
                .count()
                == 2
        );
    }
}
