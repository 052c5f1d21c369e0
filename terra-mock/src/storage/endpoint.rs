//! The storage endpoints, mounted as the router's fallback: everything that is not an API
//! route. Requests are told apart by bucket (path style `/bucket/key`, or virtual-host
//! style `bucket.<host>`):
//!
//! - the S3 bucket speaks S3 (s3s, SigV4 header or presigned); SigV2 is refused with S3's
//!   own message, as S3 refuses it in the regions that no longer take it;
//! - the OSS bucket speaks native OSS (V1, V2, V4) and, for requests signed with SigV4,
//!   OSS's S3-compatible API (s3s again, over the OSS bucket), which refuses `aws-chunked`
//!   bodies with OSS's error as OSS does (reference §6.3).
//!
//! Unknown buckets are sent by their signature style so that they get that protocol's
//! NoSuchBucket; anything else gets a 404 that names the route. Every S3 answer carries
//! `x-amz-request-id` and `x-amz-id-2`, and every S3 error body Code, Message, RequestId
//! and HostId, so that SDKs and CLIs print the real cause.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use s3s::service::S3Service;

use super::ids::request_ids;
use crate::core::{API_PREFIX, Core};

/// The two S3-protocol services: the S3 bucket's and the OSS bucket's S3-compatible API.
#[derive(Debug, Clone)]
pub(crate) struct S3Services {
    pub s3: S3Service,
    pub oss: S3Service,
}

enum Protocol {
    S3,
    Oss,
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Signed with SigV4 (header or presigned).
fn sigv4(req: &Request) -> bool {
    let query = req.uri().query().unwrap_or("");
    header(req, "authorization").starts_with("AWS4-HMAC-SHA256")
        || query.contains("X-Amz-Signature=")
        || query.contains("X-Amz-Algorithm=")
}

/// Signed with SigV2 (`AWS ak:sig`, or `AWSAccessKeyId` + `Signature` in the query).
fn sigv2(req: &Request) -> bool {
    let query = req.uri().query().unwrap_or("");
    header(req, "authorization").starts_with("AWS ")
        || (query.contains("AWSAccessKeyId=") && query.contains("Signature="))
}

fn protocol_of(req: &Request, m: &Core, bucket: Option<&str>) -> Option<Protocol> {
    match bucket {
        Some(b) if b == m.cfg.s3.bucket => return Some(Protocol::S3),
        Some(b) if b == m.cfg.oss.bucket => return Some(Protocol::Oss),
        _ => {}
    }
    let query = req.uri().query().unwrap_or("");
    if sigv4(req) || sigv2(req) {
        Some(Protocol::S3)
    } else if header(req, "authorization").starts_with("OSS")
        || query.contains("OSSAccessKeyId=")
        || query.contains("x-oss-signature=")
    {
        Some(Protocol::Oss)
    } else {
        None
    }
}

/// `(bucket, key)` of a storage request, path style or virtual-host style.
fn address(req: &Request, m: &Core) -> (Option<String>, String) {
    let host = header(req, "host");
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    for b in [&m.cfg.s3.bucket, &m.cfg.oss.bucket] {
        if host
            .strip_prefix(b.as_str())
            .is_some_and(|rest| rest.starts_with('.'))
        {
            return (
                Some(b.clone()),
                decode(req.uri().path().trim_start_matches('/')),
            );
        }
    }
    let path = req.uri().path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    ((!bucket.is_empty()).then(|| bucket.to_owned()), decode(key))
}

pub(crate) async fn serve(m: Arc<Core>, s3: &S3Services, req: Request) -> Response {
    if req.uri().path().starts_with(API_PREFIX) {
        return not_found(&m, &req);
    }
    let (bucket, key) = address(&req, &m);
    if req.method() == http::Method::OPTIONS {
        // A CORS preflight: never authenticated, never a change.
        return super::cors::answer_preflight(
            &m,
            req.headers(),
            bucket.as_deref(),
            !key.is_empty(),
        );
    }
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = req.method().clone();
    // Kept to explain a SigV4 signature mismatch as S3 does.
    let signed = sigv4(&req).then(|| super::why::SigV4Request::of(&req));
    // Boxed: some 4 KiB, which this future would otherwise hold twice (the argument of
    // `scoped` as well as its inside), and every future around it once more.
    let (resp, noted) = super::why::scoped(Box::pin(async {
        if super::form::is_form_upload(&req, &key) {
            // Boxed, as the OSS path below: what the S3 path does not need stays out of
            // the future every storage request carries.
            Box::pin(super::form::serve(&m, req, bucket.clone())).await
        } else {
            by_protocol(&m, s3, req, bucket.clone(), key).await
        }
    }))
    .await;
    let mut resp = if resp.status().is_success() || resp.status().is_redirection() {
        resp
    } else {
        Box::pin(super::why::explain(resp, noted, signed)).await
    };
    super::cors::decorate(&m, bucket.as_deref(), origin.as_deref(), &method, &mut resp);
    resp
}

/// Serves a request by the protocol of its bucket and signature.
async fn by_protocol(
    m: &Arc<Core>,
    s3: &S3Services,
    req: Request,
    bucket: Option<String>,
    key: String,
) -> Response {
    match protocol_of(&req, m, bucket.as_deref()) {
        Some(Protocol::S3) if sigv2(&req) => s3_answer(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        ),
        Some(Protocol::S3) => {
            let req = match checked_multi_delete(req).await {
                Ok(r) => r,
                Err(answer) => return answer,
            };
            normalized(
                s3.s3
                    .call(normalize_range(req).map(s3s::Body::http_body_unsync))
                    .await,
            )
            .await
        }
        Some(Protocol::Oss) if sigv4(&req) => {
            if aws_chunked_unsupported(&req) {
                let id = super::oss::request_id();
                let mut r = super::oss::error::aws_chunked().render(header(&req, "host"), &id);
                if let Ok(v) = HeaderValue::from_str(&id) {
                    r.headers_mut().insert("x-oss-request-id", v);
                }
                return r;
            }
            let req = match checked_multi_delete(req).await {
                Ok(r) => r,
                Err(answer) => return answer,
            };
            normalized(
                s3.oss
                    .call(normalize_range(req).map(s3s::Body::http_body_unsync))
                    .await,
            )
            .await
        }
        Some(Protocol::Oss) => {
            Box::pin(super::oss::serve(
                m.clone(),
                req,
                bucket.unwrap_or_default(),
                key,
            ))
            .await
        }
        None => not_found(m, &req),
    }
}

/// Which protocol's errors a storage request gets, told before it is served.
#[derive(Debug)]
pub(crate) enum Flavor {
    S3,
    Oss { host: String },
}

impl Flavor {
    pub(crate) fn of(m: &Core, req: &Request) -> Self {
        let (bucket, _) = address(req, m);
        match protocol_of(req, m, bucket.as_deref()) {
            Some(Protocol::Oss) if !sigv4(req) => Self::Oss {
                host: header(req, "host").to_owned(),
            },
            _ => Self::S3,
        }
    }

    /// 500 InternalError in the protocol's XML: what S3 and OSS answer when they fail.
    pub(crate) fn internal_error(self) -> Response {
        match self {
            Self::S3 => s3_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            Self::Oss { host } => {
                let id = super::oss::request_id();
                let mut r = super::oss::error::internal().render(&host, &id);
                if let Ok(v) = HeaderValue::from_str(&id) {
                    r.headers_mut().insert("x-oss-request-id", v);
                }
                r
            }
        }
    }
}

/// S3 accepts DeleteObjects only with `Content-MD5` or an `x-amz-checksum-*` header that
/// matches the body: read (bounded) and checked here, since the operation sees the parsed
/// keys only. Other requests pass unchanged.
async fn checked_multi_delete(req: Request) -> Result<Request, Response> {
    if !super::checksum::is_multi_delete(req.method(), req.uri().query())
        || header(&req, "content-encoding").contains("aws-chunked")
    {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, super::checksum::MULTI_DELETE_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return Err(s3_answer(
                StatusCode::BAD_REQUEST,
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema.",
            ));
        }
    };
    use super::checksum::Problem;
    match super::checksum::verify(&parts.headers, &bytes, true) {
        Ok(()) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(Problem::Missing) => Err(s3_answer(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header).",
        )),
        Err(Problem::Malformed(h)) => Err(s3_answer(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            &format!("The {h} you specified was invalid."),
        )),
        Err(Problem::Mismatch(h)) => Err(s3_answer(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            &format!("The {h} you specified did not match what we received."),
        )),
    }
}

/// OSS reads an `aws-chunked` body only when its chunks are signed
/// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`); the AWS SDKs' default unsigned-trailer
/// streaming is refused (error 0017-00000804).
fn aws_chunked_unsupported(req: &Request) -> bool {
    let chunked = header(req, "content-encoding")
        .split(',')
        .any(|e| e.trim().eq_ignore_ascii_case("aws-chunked"));
    let sha = header(req, "x-amz-content-sha256");
    (chunked || sha.starts_with("STREAMING-")) && sha != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
}

/// S3 ignores a `Range` header it cannot read (whole object) and clamps numbers past any
/// end; s3s refuses both, so the header is rewritten (or dropped) first.
fn normalize_range(mut req: Request) -> Request {
    let Some(v) = req.headers().get(http::header::RANGE) else {
        return req;
    };
    let normalized = v
        .to_str()
        .ok()
        .and_then(super::range::normalized)
        .and_then(|n| HeaderValue::from_str(&n).ok());
    match normalized {
        Some(n) => {
            req.headers_mut().insert(http::header::RANGE, n);
        }
        None => {
            req.headers_mut().remove(http::header::RANGE);
        }
    }
    req
}

fn with_ids(mut r: Response, id: &str, host_id: &str) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-amz-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(host_id) {
        h.insert("x-amz-id-2", v);
    }
    r
}

/// An S3 error answer built outside s3s, with its request ids.
pub(crate) fn s3_answer(status: StatusCode, code: &str, message: &str) -> Response {
    let (id, host_id) = request_ids();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId><HostId>{host_id}</HostId></Error>"
    );
    let mut r = (status, xml).into_response();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    with_ids(r, &id, &host_id)
}

/// S3's message for an error code s3s left without one.
fn default_message(code: &str) -> &'static str {
    match code {
        "AccessDenied" => "Access Denied",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchBucket" => "The specified bucket does not exist.",
        "NoSuchUpload" => {
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        }
        "InvalidRange" => "The requested range is not satisfiable",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the current time is too large."
        }
        "AuthorizationHeaderMalformed" => "The authorization header is malformed.",
        "AuthorizationQueryParametersError" => {
            "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        }
        "MissingSecurityHeader" => "Your request is missing a required header.",
        "ExpiredToken" => "The provided token has expired.",
        "InvalidToken" => "The provided token is malformed or otherwise invalid.",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our published schema."
        }
        "InvalidArgument" => "Invalid Argument",
        "InvalidRequest" => "Invalid Request",
        "InvalidDigest" => "The Content-MD5 you specified was invalid.",
        "BadDigest" => "The Content-MD5 you specified did not match what we received.",
        "IncompleteBody" => {
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        }
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "XAmzContentSHA256Mismatch" => {
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        }
        _ => "The request could not be served.",
    }
}

fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let (_, rest) = xml.split_once(&open)?;
    rest.split_once(&format!("</{name}>")).map(|(v, _)| v)
}

/// Every S3 answer gets request ids; an error body gets Message, RequestId and HostId
/// when s3s left them out. A method s3s has no operation for (its 501) is S3's 405.
async fn normalized(result: Result<http::Response<s3s::Body>, s3s::HttpError>) -> Response {
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "s3 service error");
            return s3_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            );
        }
    };
    if resp.status() == StatusCode::NOT_IMPLEMENTED {
        return s3_answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    let (id, host_id) = request_ids();
    let resp = resp.map(axum::body::Body::new);
    if resp.status().is_server_error() {
        tracing::error!(status = resp.status().as_u16(), request_id = %id, "S3 operation failed");
    }
    if resp.status().as_u16() < 400 {
        return with_ids(resp, &id, &host_id);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let body = match (text.contains("<Error>"), tag(&text, "Code")) {
        (true, Some(code)) => {
            let mut extra = String::new();
            if tag(&text, "Message").is_none_or(str::is_empty) {
                extra.push_str(&format!("<Message>{}</Message>", default_message(code)));
            }
            if tag(&text, "RequestId").is_none_or(str::is_empty) {
                extra.push_str(&format!("<RequestId>{id}</RequestId>"));
            }
            if tag(&text, "HostId").is_none_or(str::is_empty) {
                extra.push_str(&format!("<HostId>{host_id}</HostId>"));
            }
            text.replacen("</Error>", &format!("{extra}</Error>"), 1)
        }
        _ => text.into_owned(),
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    with_ids(
        Response::from_parts(parts, axum::body::Body::from(body)),
        &id,
        &host_id,
    )
}

pub(crate) fn not_found(m: &Core, req: &Request) -> Response {
    let path = req.uri().path();
    let hint = if path.starts_with(API_PREFIX) {
        "terra-mock serves the 21 routes of TerraAPI v2 under /terra-rescon-be/v2/".to_owned()
    } else {
        format!(
            "terra-mock serves /terra-rescon-be/v2/... and the storage buckets {} (S3) and {} (OSS)",
            m.cfg.s3.bucket, m.cfg.oss.bucket
        )
    };
    let message = format!("no route for {} {path}: {hint}", req.method());
    let why = if path.starts_with("/terra-rescon-be/") {
        crate::api::route_unknown(req.method().as_str(), path)
    } else {
        crate::Reason::new(crate::ReasonCode::RouteUnknown, message.clone())
    };
    let mut r = (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    crate::reason::refuse(&mut r, why);
    r
}
