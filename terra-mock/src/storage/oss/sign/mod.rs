//! OSS request signatures, each version in its header and presigned forms, checked the way
//! Aliyun's SDKs compute them (oss2, the Go SDK v2, ali-oss):
//!
//! - **V1** (`OSS ak:sig`, HMAC-SHA1, base64): `VERB\nContent-MD5\nContent-Type\nDate\n` +
//!   `x-oss-*` headers + `/bucket/key` (raw) + sorted sub-resources. `x-oss-date` stands in
//!   for `Date` when present. Presigned: `OSSAccessKeyId`, `Expires`, `Signature`,
//!   `security-token`.
//! - **V2** (`OSS2 AccessKeyId:..,AdditionalHeaders:..,Signature:..`, HMAC-SHA256, base64):
//!   as V1 plus the additional headers, with the resource `/bucket/key` encoded (`/`
//!   included) and *every* query parameter, encoded and sorted. Presigned:
//!   `x-oss-signature-version=OSS2`, `x-oss-expires`, `x-oss-access-key-id`,
//!   `x-oss-additional-headers`, `x-oss-signature`.
//! - **V4** (`OSS4-HMAC-SHA256`, hex): a canonical request whose URI is `/bucket/key`
//!   decoded then encoded with `/` kept, whose query is every parameter encoded (`/` too)
//!   and sorted, bare names for empty values; signed with a key derived from the date,
//!   region and product. Presigned: `x-oss-signature-version=OSS4-HMAC-SHA256`,
//!   `x-oss-credential`, `x-oss-date`, `x-oss-expires`, `x-oss-signature`.
//!
//! Freshness of what a client signed is checked against the wall clock (15 minutes of
//! skew, as OSS allows); the mock's own download links expire on the mock's clock.
//!
//! Files: `v1.rs`, `v2.rs`, `v4.rs` (each version's string to sign and header items);
//! here, what they share and [`verify`], which picks the version a request was signed with.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

use super::error::{
    OssError, expired_link, forbidden, invalid_authorization, mismatch, skewed, unknown_key,
};
use crate::storage::crypto::{base64, hmac_sha1, hmac_sha256, same};
use crate::storage::presign::unix;

/// OSS rejects request dates further than 15 minutes from its clock.
mod v1;
mod v2;
mod v4;

pub(crate) use v1::v1_string_to_sign;
use v2::v2_items;
pub(crate) use v2::v2_string_to_sign;
pub(crate) use v4::v4_canonical_request;
use v4::{parse_credential, v4_items, v4_signature};

const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

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
    pub bucket: &'a str,
    /// The object key, decoded (empty for bucket requests).
    pub key: &'a str,
    /// Raw query as sent.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

pub(crate) fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The query's `(name, value)` pairs, decoded (`+` is a space, as form encoding has it).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
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

pub(crate) fn query_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn bare_or_pair(k: &str, v: &str) -> String {
    if v.is_empty() {
        k.to_owned()
    } else {
        format!("{k}={v}")
    }
}

/// `x-oss-*` headers (plus `extra`), lower-case, sorted, `name:value\n` each.
fn oss_headers(h: &HeaderMap, extra: &[String], trim: bool) -> String {
    let mut v: Vec<(String, String)> = h
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("")))
        .filter(|(n, _)| n.starts_with("x-oss-") || extra.contains(n))
        .map(|(n, v)| {
            (
                n,
                if trim {
                    v.trim().to_owned()
                } else {
                    v.to_owned()
                },
            )
        })
        .collect();
    v.sort();
    v.into_iter().map(|(n, v)| format!("{n}:{v}\n")).collect()
}

/// `20250411T064124Z`.
pub(crate) fn parse_iso8601(s: &str) -> Option<SystemTime> {
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

/// A request date in any form the OSS SDKs send: ISO 8601 basic (`20250411T064124Z`,
/// oss2, the Go SDK, V4) or HTTP's (`Wed, 02 Dec 2026 15:00:52 GMT`, ali-oss; RFC 850 and
/// asctime too, which HTTP allows).
pub(crate) fn parse_date(s: &str) -> Option<SystemTime> {
    parse_iso8601(s).or_else(|| httpdate::parse_http_date(s).ok())
}

fn fresh(t: SystemTime, now: SystemTime) -> Result<(), OssError> {
    let d = now.duration_since(t).unwrap_or_else(|e| e.duration());
    if d > MAX_SKEW { Err(skewed()) } else { Ok(()) }
}

/// The clocks a verification needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clocks {
    /// Request freshness (clients sign with the wall clock).
    pub wall: SystemTime,
    /// Expiry of the mock's own download links (the mock's clock).
    pub links: SystemTime,
}

/// Verifies the signature of an OSS request; `None` for an anonymous request (no
/// signature of any version).
pub(crate) fn verify(
    r: &SignedRequest<'_>,
    secret_for: impl Fn(&str) -> Option<String>,
    is_link_key: impl Fn(&str) -> bool,
    clocks: Clocks,
) -> Result<Option<Signed>, OssError> {
    let pairs = query_pairs(r.query);
    let auth = header(r.headers, "authorization");
    let header_token = || {
        r.headers
            .get("x-oss-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let signed = |ak: &str, token: Option<String>, presigned: bool| {
        Ok(Some(Signed {
            access_key: ak.to_owned(),
            token,
            presigned,
        }))
    };
    let link_now = |ak: &str| {
        if is_link_key(ak) {
            clocks.links
        } else {
            clocks.wall
        }
    };

    if let Some(rest) = auth.strip_prefix("OSS ") {
        let (ak, sig) = rest
            .trim()
            .split_once(':')
            .ok_or_else(invalid_authorization)?;
        let secret = secret_for(ak).ok_or_else(|| unknown_key(ak))?;
        // x-oss-date stands in for Date, as OSS has it: ISO 8601 from oss2, RFC 1123 from
        // ali-oss.
        let x_date = header(r.headers, "x-oss-date");
        let date = if x_date.is_empty() {
            header(r.headers, "date")
        } else {
            x_date
        };
        let t = parse_date(date);
        let t = t.ok_or_else(|| {
            forbidden(
                "AccessDenied",
                "OSS authentication requires a valid Date or x-oss-date.",
            )
            .ec("0002-00000503")
        })?;
        fresh(t, clocks.wall)?;
        let sts = v1_string_to_sign(r, date);
        if !same(
            &base64(&hmac_sha1(secret.as_bytes(), sts.as_bytes())),
            sig.trim(),
        ) {
            return Err(mismatch(ak, sts));
        }
        return signed(ak, header_token(), false);
    }
    if let Some(rest) = auth.strip_prefix("OSS2 ") {
        let (ak, additional, sig) = v2_items(rest).ok_or_else(invalid_authorization)?;
        let secret = secret_for(ak).ok_or_else(|| unknown_key(ak))?;
        let x_date = header(r.headers, "x-oss-date");
        let date = if x_date.is_empty() {
            header(r.headers, "date")
        } else {
            x_date
        };
        let t = parse_date(date).ok_or_else(|| {
            forbidden(
                "AccessDenied",
                "OSS authentication requires a valid Date or x-oss-date.",
            )
            .ec("0002-00000503")
        })?;
        fresh(t, clocks.wall)?;
        let sts = v2_string_to_sign(r, date, &additional);
        if !same(
            &base64(&hmac_sha256(secret.as_bytes(), sts.as_bytes())),
            sig,
        ) {
            return Err(mismatch(ak, sts));
        }
        return signed(ak, header_token(), false);
    }
    if let Some(rest) = auth.strip_prefix("OSS4-HMAC-SHA256") {
        let (scope, additional, sig) =
            v4_items(rest.trim_start()).ok_or_else(invalid_authorization)?;
        let secret = secret_for(scope.access_key).ok_or_else(|| unknown_key(scope.access_key))?;
        let x_date = header(r.headers, "x-oss-date");
        let t = parse_date(x_date).ok_or_else(|| {
            forbidden(
                "AccessDenied",
                "OSS V4 authentication requires a valid x-oss-date.",
            )
            .ec("0002-00000503")
        })?;
        fresh(t, clocks.wall)?;
        let canonical = v4_canonical_request(r, &additional, false);
        let (expected, sts) = v4_signature(&secret, &scope, x_date, &canonical);
        if !same(&expected, sig) {
            return Err(mismatch(
                scope.access_key,
                format!("{sts}\n--- canonical request ---\n{canonical}"),
            ));
        }
        return signed(scope.access_key, header_token(), false);
    }
    if !auth.is_empty() {
        return Err(invalid_authorization());
    }

    // Presigned URLs.
    if let Some(ak) = query_get(&pairs, "OSSAccessKeyId") {
        let secret = secret_for(ak).ok_or_else(|| unknown_key(ak))?;
        let expires = query_get(&pairs, "Expires").unwrap_or("");
        let e: u64 = expires
            .parse()
            .map_err(|_| forbidden("AccessDenied", "Expires is invalid."))?;
        if e <= unix(link_now(ak)) {
            return Err(expired_link());
        }
        let sts = v1_string_to_sign(r, expires);
        let sig = query_get(&pairs, "Signature").unwrap_or("");
        if !same(&base64(&hmac_sha1(secret.as_bytes(), sts.as_bytes())), sig) {
            return Err(mismatch(ak, sts));
        }
        return signed(
            ak,
            query_get(&pairs, "security-token").map(str::to_owned),
            true,
        );
    }
    match query_get(&pairs, "x-oss-signature-version") {
        Some("OSS2") => {
            let ak = query_get(&pairs, "x-oss-access-key-id").unwrap_or("");
            let secret = secret_for(ak).ok_or_else(|| unknown_key(ak))?;
            let expires = query_get(&pairs, "x-oss-expires").unwrap_or("");
            let e: u64 = expires
                .parse()
                .map_err(|_| forbidden("AccessDenied", "x-oss-expires is invalid."))?;
            if e <= unix(link_now(ak)) {
                return Err(expired_link());
            }
            let additional: Vec<String> = query_get(&pairs, "x-oss-additional-headers")
                .unwrap_or("")
                .split(';')
                .filter(|h| !h.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            let sts = v2_string_to_sign(r, expires, &additional);
            let sig = query_get(&pairs, "x-oss-signature").unwrap_or("");
            if !same(
                &base64(&hmac_sha256(secret.as_bytes(), sts.as_bytes())),
                sig,
            ) {
                return Err(mismatch(ak, sts));
            }
            signed(
                ak,
                query_get(&pairs, "security-token").map(str::to_owned),
                true,
            )
        }
        Some("OSS4-HMAC-SHA256") => {
            let scope = parse_credential(query_get(&pairs, "x-oss-credential").unwrap_or(""))
                .ok_or_else(|| forbidden("AccessDenied", "x-oss-credential is invalid."))?;
            let secret =
                secret_for(scope.access_key).ok_or_else(|| unknown_key(scope.access_key))?;
            let x_date = query_get(&pairs, "x-oss-date").unwrap_or("");
            let t = parse_iso8601(x_date)
                .ok_or_else(|| forbidden("AccessDenied", "x-oss-date is invalid."))?;
            let ttl: u64 = query_get(&pairs, "x-oss-expires")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| forbidden("AccessDenied", "x-oss-expires is invalid."))?;
            if t.checked_add(Duration::from_secs(ttl))
                .is_none_or(|end| end <= link_now(scope.access_key))
            {
                return Err(expired_link());
            }
            let additional: Vec<String> = query_get(&pairs, "x-oss-additional-headers")
                .unwrap_or("")
                .split(';')
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
            let canonical = v4_canonical_request(r, &additional, true);
            let (expected, sts) = v4_signature(&secret, &scope, x_date, &canonical);
            if !same(
                &expected,
                query_get(&pairs, "x-oss-signature").unwrap_or(""),
            ) {
                return Err(mismatch(scope.access_key, sts));
            }
            signed(
                scope.access_key,
                query_get(&pairs, "x-oss-security-token").map(str::to_owned),
                true,
            )
        }
        Some(other) => Err(forbidden(
            "AccessDenied",
            format!(
                "x-oss-signature-version {other:?} is not supported (OSS2 or OSS4-HMAC-SHA256)."
            ),
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
