//! CORS on the storage endpoints, in each protocol's own words: a preflight (`OPTIONS`) is
//! answered from the bucket's rules without authentication and changes nothing; an actual
//! request with an `Origin` gets the grant's headers on whatever it is answered, errors
//! included (a page must be able to read a 403 `AccessDenied`).
//!
//! Which rules: the S3 bucket's for the S3 bucket, the OSS bucket's for the OSS bucket
//! (through OSS's S3-compatible API too); a bucket the emulator does not have has none.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::config::Provider;
use crate::core::Core;
use crate::cors::{CorsConfig, Preflight, grant, preflight};

/// S3's `Vary` on CORS answers.
const S3_VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

fn text<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The protocol and rules of `bucket`.
fn rules(m: &Core, bucket: Option<&str>) -> (Provider, Option<CorsConfig>) {
    with_rules(m, bucket, |provider, config| (provider, config.cloned()))
}

/// `f` on the rules of `bucket`, read in place (an answer is decorated on every storage
/// request: no copy of the rules for it).
fn with_rules<R>(
    m: &Core,
    bucket: Option<&str>,
    f: impl FnOnce(Provider, Option<&CorsConfig>) -> R,
) -> R {
    let live = m.live.read().unwrap_or_else(|e| e.into_inner());
    match bucket {
        Some(b) if b == m.cfg.oss.bucket => f(Provider::Oss, Some(&live.storage_cors.oss)),
        Some(b) if b == m.cfg.s3.bucket => f(Provider::S3, Some(&live.storage_cors.s3)),
        // Unknown buckets: S3's words, no rules.
        _ => f(Provider::S3, None),
    }
}

fn set(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// The S3 refusal of a preflight, with the `Method` and `ResourceType` S3 adds.
fn s3_refusal(
    status: StatusCode,
    code: &str,
    message: &str,
    method: &str,
    object: bool,
) -> Response {
    let (id, host_id) = super::ids::request_ids();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><Method>{}</Method><ResourceType>{}</ResourceType><RequestId>{id}</RequestId><HostId>{host_id}</HostId></Error>",
        super::oss::xml::escape(method),
        if object { "OBJECT" } else { "BUCKET" },
    );
    let mut r = (status, xml).into_response();
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    set(h, "x-amz-request-id", &id);
    set(h, "x-amz-id-2", &host_id);
    r
}

fn oss_refusal(status: StatusCode, code: &'static str, message: &str, host: &str) -> Response {
    let id = super::oss::request_id();
    let mut r = super::oss::error::OssError::new(status, code, message).render(host, &id);
    let h = r.headers_mut();
    set(h, "x-oss-request-id", &id);
    h.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
    r
}

/// Answers a preflight for `bucket` (`object`: the path names a key).
pub(crate) fn answer_preflight(
    m: &Core,
    headers: &HeaderMap,
    bucket: Option<&str>,
    object: bool,
) -> Response {
    let (provider, config) = rules(m, bucket);
    let config = config.unwrap_or_default();
    let origin = text(headers, "origin");
    let method = text(headers, "access-control-request-method");
    let asked = text(headers, "access-control-request-headers").unwrap_or("");
    let host = text(headers, "host").unwrap_or("");
    let decision = preflight(&config, origin, method, asked);
    let refuse = |status, code: &'static str, message: &str| match provider {
        Provider::S3 => s3_refusal(status, code, message, method.unwrap_or(""), object),
        Provider::Oss => oss_refusal(status, code, message, host),
    };
    match decision {
        Preflight::NoOrigin => refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
        ),
        Preflight::BadMethod(mth) => refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Invalid Access-Control-Request-Method: {}",
                if mth.is_empty() { "null" } else { &mth }
            ),
        ),
        Preflight::Off => refuse(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: CORS is not enabled for this bucket.",
        ),
        Preflight::Refused => refuse(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            match provider {
                Provider::S3 => {
                    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
                }
                Provider::Oss => {
                    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec."
                }
            },
        ),
        Preflight::Allowed(rule) => {
            let mut r = StatusCode::OK.into_response();
            let h = r.headers_mut();
            for (name, value) in grant(rule, origin.unwrap_or(""), Some(asked)) {
                set(h, name, &value);
            }
            match provider {
                Provider::S3 => {
                    let (id, host_id) = super::ids::request_ids();
                    set(h, "vary", S3_VARY);
                    set(h, "x-amz-request-id", &id);
                    set(h, "x-amz-id-2", &host_id);
                }
                Provider::Oss => {
                    if config.response_vary {
                        set(h, "vary", "Origin");
                    }
                    set(h, "x-oss-request-id", &super::oss::request_id());
                    h.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
                }
            }
            r
        }
    }
}

/// Adds the grant's headers to the answer of an actual request of `method` from `origin`
/// (nothing when no rule allows it), and OSS's `Vary: Origin` where its bucket asks for it.
pub(crate) fn decorate(
    m: &Core,
    bucket: Option<&str>,
    origin: Option<&str>,
    method: &Method,
    resp: &mut Response,
) {
    let h = resp.headers_mut();
    with_rules(m, bucket, |provider, config| {
        let Some(config) = config else {
            return;
        };
        if provider == Provider::Oss && config.response_vary {
            h.append(http::header::VARY, HeaderValue::from_static("Origin"));
        }
        let Some(origin) = origin.filter(|o| !o.is_empty()) else {
            return;
        };
        let Some(rule) = config.actual(origin, method.as_str()) else {
            return;
        };
        for (name, value) in grant(rule, origin, None) {
            set(h, name, &value);
        }
        if provider == Provider::S3 {
            h.append(http::header::VARY, HeaderValue::from_static(S3_VARY));
        }
    });
}
