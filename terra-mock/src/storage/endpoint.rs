//! The storage endpoints, mounted as the router's fallback: everything that is not an API
//! route. Requests are told apart by bucket (path style `/bucket/key`, or virtual-host
//! style `bucket.<host>`): the S3 bucket goes to the s3s service, the OSS bucket to the
//! OSS handler. Unknown buckets are sent by their authorization style (`AWS4-HMAC-SHA256`
//! or `X-Amz-*` to S3, `OSS`/`OSS4-HMAC-SHA256` or `OSSAccessKeyId` to OSS) so that they
//! get that protocol's NoSuchBucket; anything else gets a 404 that names the route.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::core::{API_PREFIX, Core};

enum Protocol {
    S3,
    Oss,
}

fn protocol_of(req: &Request, m: &Core, bucket: Option<&str>) -> Option<Protocol> {
    match bucket {
        Some(b) if b == m.cfg.s3.bucket => return Some(Protocol::S3),
        Some(b) if b == m.cfg.oss.bucket => return Some(Protocol::Oss),
        _ => {}
    }
    let auth = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let query = req.uri().query().unwrap_or("");
    if auth.starts_with("AWS4-HMAC-SHA256") || query.contains("X-Amz-Signature=") {
        Some(Protocol::S3)
    } else if auth.starts_with("OSS")
        || query.contains("OSSAccessKeyId=")
        || query.contains("x-oss-signature=")
    {
        Some(Protocol::Oss)
    } else {
        None
    }
}

/// `(bucket, key, virtual-host style)` of a storage request.
fn address(req: &Request, m: &Core) -> (Option<String>, String, bool) {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for b in [&m.cfg.s3.bucket, &m.cfg.oss.bucket] {
        if host
            .strip_prefix(b.as_str())
            .is_some_and(|rest| rest.starts_with('.'))
        {
            let key =
                percent_encoding::percent_decode_str(req.uri().path().trim_start_matches('/'))
                    .decode_utf8_lossy()
                    .into_owned();
            return (Some(b.clone()), key, true);
        }
    }
    let path = req.uri().path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let key = percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .into_owned();
    ((!bucket.is_empty()).then(|| bucket.to_owned()), key, false)
}

pub(crate) async fn serve(m: Arc<Core>, s3: s3s::service::S3Service, req: Request) -> Response {
    if req.uri().path().starts_with(API_PREFIX) {
        return not_found(&m, &req);
    }
    let (bucket, key, virtual_host) = address(&req, &m);
    match protocol_of(&req, &m, bucket.as_deref()) {
        Some(Protocol::S3) => match s3
            .call(normalize_range(req).map(s3s::Body::http_body_unsync))
            .await
        {
            // s3s answers 501 for a method or subresource it has no operation for; S3
            // answers 405 to a method a resource does not allow.
            Ok(resp) if resp.status() == StatusCode::NOT_IMPLEMENTED => super::s3::error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            ),
            Ok(resp) => resp.map(axum::body::Body::new),
            Err(e) => {
                tracing::error!(error = ?e, "s3 service error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal S3 error").into_response()
            }
        },
        Some(Protocol::Oss) => {
            super::oss::serve(m, req, bucket.unwrap_or_default(), key, virtual_host).await
        }
        None => not_found(&m, &req),
    }
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
        .and_then(|n| http::HeaderValue::from_str(&n).ok());
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
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}
