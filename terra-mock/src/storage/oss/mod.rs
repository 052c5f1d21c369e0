//! The Aliyun OSS endpoint, written here because no OSS emulator exists. Requests signed
//! the native OSS ways (V1, V2, V4; header or presigned; token in `x-oss-security-token`
//! or the query) are served here; requests signed with SigV4 (OSS's S3-compatible API)
//! are handed to the S3 protocol by `endpoint.rs`.
//!
//! Served: PutObject, GetObject (Range), HeadObject, DeleteObject, InitiateMultipartUpload,
//! UploadPart, UploadPartCopy, ListParts, CompleteMultipartUpload (with a part list or
//! `x-oss-complete-all`), AbortMultipartUpload, DeleteMultipleObjects, ListObjects (V1 and
//! V2), ListMultipartUploads and GetObjectMeta (`HEAD ?objectMeta`), the listings only
//! under the caller's `storePath`. Refused as
//! an STS session policy refuses them: CopyObject and every bucket configuration call.

use std::sync::Arc;
use std::time::SystemTime;

use axum::response::Response;
use http::{HeaderValue, Method};

use self::error::{OssError, denial, forbidden, no_bucket};
use self::ops::Op;
use self::sign::{Clocks, SignedRequest, header, query_get, query_pairs, verify};
use super::access::{Ask, Intent, Target, authorize, secret_for};
use crate::config::Provider;
use crate::core::Core;

pub(crate) mod error;
mod ops;
pub(crate) mod sign;
pub(crate) mod xml;

/// A request id as OSS writes them (24 upper-case hex digits).
pub(crate) fn request_id() -> String {
    let (a, b): (u64, u32) = (rand::random(), rand::random());
    format!("{a:016X}{b:08X}")
}

/// Serves one OSS request for `bucket/key`.
pub(crate) async fn serve(
    m: Arc<Core>,
    req: axum::extract::Request,
    bucket: String,
    key: String,
) -> Response {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let id = request_id();
    let mut resp = match handle(&m, req, &bucket, &key).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(code = e.code, ec = ?e.ec, "OSS error");
            e.render(&host, &id)
        }
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-oss-request-id", v);
    }
    h.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
    resp
}

/// The key named by `x-oss-copy-source` (`/bucket/key`, URL-encoded) in the same bucket.
fn copy_source(headers: &http::HeaderMap, bucket: &str) -> Result<Option<String>, OssError> {
    let raw = header(headers, "x-oss-copy-source");
    if raw.is_empty() {
        return Ok(None);
    }
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let rest = decoded.trim_start_matches('/');
    match rest.split_once('/') {
        Some((b, k)) if b == bucket && !k.is_empty() => Ok(Some(k.to_owned())),
        _ => Err(forbidden(
            "AccessDenied",
            "You have no right to access this object: the copy source must be an object of the same bucket.",
        )),
    }
}

async fn handle(
    m: &Arc<Core>,
    req: axum::extract::Request,
    bucket: &str,
    key: &str,
) -> Result<Response, OssError> {
    let (parts, body) = req.into_parts();
    let signed = verify(
        &SignedRequest {
            method: &parts.method,
            bucket,
            key,
            query: parts.uri.query(),
            headers: &parts.headers,
        },
        |ak| secret_for(m, ak),
        |ak| ak == m.service_oss.access_key,
        Clocks {
            wall: SystemTime::now(),
            links: m.now(),
        },
    )?;
    let Some(signed) = signed else {
        return Err(forbidden(
            "AccessDenied",
            "You have no right to access this object because of bucket acl.",
        ));
    };
    if bucket != m.cfg.oss.bucket {
        return Err(no_bucket());
    }
    let pairs = query_pairs(parts.uri.query());
    let intent = if matches!(parts.method, Method::GET | Method::HEAD) {
        Intent::Read
    } else {
        Intent::Write
    };
    let ask = |target, intent| Ask {
        provider: Provider::Oss,
        access_key: &signed.access_key,
        token: signed.token.as_deref(),
        intent,
        bucket,
        target,
    };
    let deny = |d| denial(d, &signed.access_key);
    let target = if !key.is_empty() {
        Target::Object(key)
    } else if parts.method == Method::GET {
        Target::Listing(query_get(&pairs, "prefix").unwrap_or(""))
    } else {
        Target::Bucket
    };
    authorize(m, &ask(target, intent), m.now()).map_err(deny)?;
    let source = copy_source(&parts.headers, bucket)?;
    if let Some(s) = &source {
        authorize(m, &ask(Target::Object(s), Intent::Read), m.now()).map_err(deny)?;
    }
    let op = Op {
        m,
        method: &parts.method,
        headers: &parts.headers,
        pairs: &pairs,
        bucket,
        key,
        body,
        access_key: &signed.access_key,
        token: signed.token.as_deref(),
    };
    if key.is_empty() && super::checksum::is_multi_delete(&parts.method, parts.uri.query()) {
        op.delete_multiple().await
    } else if key.is_empty() {
        op.bucket()
    } else {
        op.object(source).await
    }
}
