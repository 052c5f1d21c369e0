//! Presigned download links, as the real service hands out in `url`: SigV4 query
//! signatures for S3 accounts, OSS V1 query signatures for OSS accounts. The S3 and OSS
//! endpoints verify them.
//!
//! Besides the standard parameters, every S3 link carries `x-terra-mock-expires` (signed, so
//! it cannot be changed): its expiry on the mock's clock, so that a test advancing a
//! [`crate::ManualClock`] sees links expire. (s3s checks `X-Amz-Date`/`X-Amz-Expires`
//! against the wall clock, which a manual clock does not move.)

use std::time::{SystemTime, UNIX_EPOCH};

use super::crypto::{base64, hmac_sha1, hmac_sha256, sha256_hex, sigv4_key};

/// The signed query parameter holding a link's expiry on the mock's clock (Unix seconds).
pub const MOCK_EXPIRES_PARAM: &str = "x-terra-mock-expires";

pub use terra_types::{encode_key, uri_encode};

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// What a presigned link needs to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkParams<'a> {
    pub base_url: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub region: &'a str,
    pub access_key: &'a str,
    pub secret: &'a str,
    pub wall_now: SystemTime,
    pub mock_now: SystemTime,
    pub ttl_secs: u64,
}

fn amz_date(t: SystemTime) -> (String, String) {
    let s = terra_types::time::format_rfc3339(t);
    let full = s.replace(['-', ':'], "");
    (full[..8].to_owned(), full)
}

/// A SigV4 presigned GET URL (path style).
pub(crate) fn s3_get_url(p: LinkParams<'_>) -> String {
    let host = p
        .base_url
        .split("://")
        .nth(1)
        .unwrap_or(p.base_url)
        .trim_end_matches('/');
    let (date, stamp) = amz_date(p.wall_now);
    let path = format!("/{}/{}", p.bucket, encode_key(p.key));
    let credential = format!("{}/{date}/{}/s3/aws4_request", p.access_key, p.region);
    let mock_expires = unix(p.mock_now) + p.ttl_secs;
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={stamp}&X-Amz-Expires={}&X-Amz-SignedHeaders=host&{MOCK_EXPIRES_PARAM}={mock_expires}",
        uri_encode(&credential),
        p.ttl_secs
    );
    let canonical = format!("GET\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{date}/{}/s3/aws4_request\n{}",
        p.region,
        sha256_hex(canonical.as_bytes())
    );
    let sig = hex::encode(hmac_sha256(
        &sigv4_key(p.secret, &date, p.region, "s3"),
        to_sign.as_bytes(),
    ));
    format!(
        "{}{path}?{query}&X-Amz-Signature={sig}",
        p.base_url.trim_end_matches('/')
    )
}

/// An OSS V1 presigned GET URL (path style). OSS's `Expires` is absolute, so it is simply
/// set on the mock's clock. The string to sign is the V1 one with `Expires` in place of
/// the date and no `x-oss-*` headers.
pub(crate) fn oss_get_url(p: LinkParams<'_>) -> String {
    let expires = unix(p.mock_now) + p.ttl_secs;
    let to_sign = format!("GET\n\n\n{expires}\n/{}/{}", p.bucket, p.key);
    let sig = base64(&hmac_sha1(p.secret.as_bytes(), to_sign.as_bytes()));
    format!(
        "{}/{}/{}?OSSAccessKeyId={}&Expires={expires}&Signature={}",
        p.base_url.trim_end_matches('/'),
        p.bucket,
        encode_key(p.key),
        uri_encode(p.access_key),
        uri_encode(&sig)
    )
}
