//! The gateway's reasons: why a call was refused (each [`terra_sign::VerifyError`] as a
//! code and a sentence, the rebuilt signing string for a mismatch), and what Kong's
//! lenient defaults let through that a strict gateway (`--strict-signatures`,
//! `--strict-digest`) would refuse.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use sha2::{Digest as _, Sha256};
use terra_sign::VerifyError;

use crate::{Reason, ReasonCode};

/// The reason of a refusal by the signature check.
pub(super) fn refusal(e: &VerifyError) -> Reason {
    use ReasonCode as C;
    match e {
        VerifyError::MissingAuthorization => Reason::new(
            C::AuthorizationMissing,
            "no Authorization header: sign the call and send `Authorization: hmac username=\"<app key>\", algorithm=\"hmac-sha256\", headers=\"date @request-target digest\", signature=\"<base64>\"`",
        ),
        VerifyError::MissingDate => Reason::new(
            C::DateMissing,
            "neither Date nor X-Date: send the request time as an HTTP date (e.g. `Wed, 25 Nov 2026 10:00:00 GMT`) and sign it",
        ),
        VerifyError::InvalidDate { .. } => Reason::new(C::DateInvalid, e.to_string()),
        VerifyError::ClockSkew { .. } => Reason::new(C::DateOutOfWindow, e.to_string()),
        VerifyError::MalformedAuthorization { .. } => {
            Reason::new(C::AuthorizationMalformed, e.to_string())
        }
        VerifyError::UnsupportedAlgorithm { .. } => Reason::new(
            C::AlgorithmUnsupported,
            format!("{e}: use hmac-sha256 (or hmac-sha1, hmac-sha384, hmac-sha512)"),
        ),
        VerifyError::UnknownAppKey { app_key } => Reason::new(
            C::AppKeyUnknown,
            format!(
                "no account has the app key {app_key:?}: sign with an account's key (`GET /_terra-mock/v1/accounts` lists them)"
            ),
        ),
        VerifyError::SignatureMismatch { signing_string } => Reason::new(
            C::SignatureMismatch,
            "the signature does not match the signing string the emulator rebuilt from the headers `Authorization` lists; compare it byte for byte with what the client signed (another date header, query order or method case is the usual cause), else check the secret",
        )
        .with_signed(signing_string.clone()),
        VerifyError::UnsignedHeader { .. } => Reason::new(C::SignedHeaderMissing, e.to_string()),
        VerifyError::DigestMismatch { .. } => Reason::new(
            C::DigestMismatch,
            format!("{e}: send `Digest: SHA-256=<base64 of the SHA-256 of the body bytes>`"),
        ),
        // A kind added to terra-sign later.
        _ => Reason::new(C::SignatureMismatch, e.to_string()),
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// What a strict gateway would refuse in the headers of a call the lenient one accepted:
/// a signature that leaves out a part of the request, a freshness that came from an
/// unsigned date.
pub(super) fn lenient_headers(h: &HeaderMap, now: SystemTime, skew: Duration) -> Vec<Reason> {
    let mut out = Vec::new();
    let Some(auth) =
        header(h, "authorization").and_then(|a| terra_sign::Authorization::parse(a).ok())
    else {
        return out;
    };
    let signed = |n: &str| auth.headers.iter().any(|s| s.eq_ignore_ascii_case(n));
    let missing: Vec<&str> = [
        (!signed("date") && !signed("x-date")).then_some("date"),
        (!signed("@request-target")).then_some("@request-target"),
        (!signed("digest")).then_some("digest"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        out.push(Reason::new(
            ReasonCode::SignatureCoverage,
            format!(
                "the signature covers `{}` but not `{}`, so it could be replayed on another route or with another body; a strict gateway (terra-mock --strict-signatures) answers 401 \"HMAC signature cannot be verified\": sign `date @request-target digest`",
                auth.headers.join(" "),
                missing.join(" ")
            ),
        ));
    }
    let fresh = |name: &str| {
        header(h, name)
            .and_then(terra_sign::parse_date)
            .is_some_and(|t| now.duration_since(t).unwrap_or_else(|e| e.duration()) <= skew)
    };
    let signed_dates: Vec<&str> = ["x-date", "date"]
        .into_iter()
        .filter(|n| signed(n))
        .collect();
    if !signed_dates.is_empty() && !signed_dates.iter().any(|n| fresh(n)) {
        out.push(Reason::new(
            ReasonCode::UnsignedDate,
            format!(
                "the signed {} is missing or stale and only an unsigned date header is fresh; Kong accepts either, a strict gateway (terra-mock --strict-signatures) answers 401 \"Signature not valid for the date\": sign the header that carries the current time",
                signed_dates.join(" and ")
            ),
        ));
    }
    out
}

/// What a gateway that checks bodies (terra-mock --strict-digest) would refuse in a body
/// the lenient one accepted, and a JSON body without its charset.
pub(super) fn lenient_body(
    target: &str,
    h: &HeaderMap,
    body: &[u8],
    checks_body: bool,
) -> Vec<Reason> {
    let mut out = Vec::new();
    let json = header(h, "content-type").is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c.starts_with("application/json") && !c.contains("charset")
    });
    if json && !body.is_empty() {
        out.push(Reason::new(
            ReasonCode::JsonWithoutCharset,
            "a JSON body sent as `application/json` without `charset=UTF-8`, which DJI's reference clients always send; the gateway does not look (Content-Type is not signed) and the body is read as UTF-8",
        ));
    }
    if checks_body {
        return out;
    }
    let expected = terra_sign::body_digest(body);
    let strict = "a gateway that checks bodies (terra-mock --strict-digest or --strict-signatures) answers 401 \"HMAC signature does not match\"";
    match header(h, "digest") {
        None if !body.is_empty() => out.push(Reason::new(
            ReasonCode::DigestMissing,
            format!("a body without a Digest header; {strict}: send `Digest: {expected}`"),
        )),
        Some(d) if d != expected => {
            let hex = hex::encode(Sha256::digest(body));
            let value = d.strip_prefix("SHA-256=").unwrap_or(d);
            let (code, what) = if value.eq_ignore_ascii_case(&hex) {
                (
                    ReasonCode::DigestHex,
                    "the Digest is the body's SHA-256 in hex; the header wants base64",
                )
            } else if body.is_empty() && over_query(target, d) {
                (
                    ReasonCode::DigestOverQuery,
                    "the Digest of this bodiless call is computed over its query as JSON (as some Vue and Java clients do); the gateway wants the digest of the body bytes, which are empty",
                )
            } else {
                (
                    ReasonCode::DigestNotChecked,
                    "the Digest does not match the body",
                )
            };
            out.push(Reason::new(
                code,
                format!("{what}; Kong's default leaves the body unchecked, {strict}: send `Digest: {expected}`"),
            ));
        }
        _ => {}
    }
    out
}

/// Whether `digest` is the digest of the query of `target` as a JSON object (values as
/// strings, or numbers where they read as numbers), as some clients compute it for GETs.
fn over_query(target: &str, digest: &str) -> bool {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect();
    let as_json = |numbers: bool| {
        let mut m = serde_json::Map::new();
        for (k, v) in &pairs {
            let value = match v.parse::<i64>() {
                Ok(n) if numbers => serde_json::Value::from(n),
                _ => serde_json::Value::from(v.clone()),
            };
            m.insert(k.clone(), value);
        }
        serde_json::to_vec(&serde_json::Value::Object(m)).unwrap_or_default()
    };
    [as_json(true), as_json(false)]
        .iter()
        .any(|j| terra_sign::body_digest(j) == digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_digest_over_the_query_is_told_from_a_wrong_one() {
        let q = terra_sign::body_digest(br#"{"page":1,"rows":10}"#);
        let h = headers(&[("digest", &q)]);
        let w = lenient_body("/v2/jobs?page=1&rows=10", &h, b"", false);
        assert_eq!(w[0].code, ReasonCode::DigestOverQuery, "{w:?}");
        let h = headers(&[("digest", "SHA-256=AAAA")]);
        let w = lenient_body("/v2/jobs?page=1&rows=10", &h, b"", false);
        assert_eq!(w[0].code, ReasonCode::DigestNotChecked);
        assert!(w[0].message.contains(terra_sign::EMPTY_BODY_DIGEST));
        // A gateway that checks bodies refuses instead: no warning.
        assert!(lenient_body("/v2/jobs?page=1", &h, b"", true).is_empty());
    }

    #[test]
    fn a_hex_digest_and_a_missing_charset_are_named() {
        let body = br#"{"name":"a"}"#;
        let hex = format!("SHA-256={}", hex::encode(Sha256::digest(body)));
        let h = headers(&[("digest", &hex), ("content-type", "application/json")]);
        let codes: Vec<ReasonCode> = lenient_body("/v2/resources", &h, body, false)
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(
            codes,
            [ReasonCode::JsonWithoutCharset, ReasonCode::DigestHex]
        );
        let ok = headers(&[
            ("digest", &terra_sign::body_digest(body)),
            ("content-type", "application/json;charset=UTF-8"),
        ]);
        assert!(lenient_body("/v2/resources", &ok, body, false).is_empty());
    }
}
