//! OSS V4 (`OSS4-HMAC-SHA256`): a canonical request signed with a key derived from the
//! date, region and product.

use terra_types::{encode_key, uri_encode};

use super::{SignedRequest, bare_or_pair, header, query_pairs};
use crate::storage::crypto::{hmac_sha256, oss_v4_key, sha256_hex};

/// The V4 canonical request (header form, or presigned without `x-oss-signature`).
pub(crate) fn v4_canonical_request(
    r: &SignedRequest<'_>,
    additional: &[String],
    presigned: bool,
) -> String {
    let mut additional: Vec<String> = additional.iter().map(|h| h.to_ascii_lowercase()).collect();
    additional.sort();
    additional.dedup();
    let uri = encode_key(&format!("/{}/{}", r.bucket, r.key));
    let mut query: Vec<(String, String)> = query_pairs(r.query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "x-oss-signature"))
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| bare_or_pair(k, v)).collect();
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

/// The V4 signature and string to sign of a canonical request.
pub(super) fn v4_signature(
    secret: &str,
    scope: &Scope<'_>,
    x_oss_date: &str,
    canonical: &str,
) -> (String, String) {
    let scope_str = format!(
        "{}/{}/{}/aliyun_v4_request",
        scope.date, scope.region, scope.product
    );
    let to_sign = format!(
        "OSS4-HMAC-SHA256\n{x_oss_date}\n{scope_str}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = oss_v4_key(secret, scope.date, scope.region, scope.product);
    (hex::encode(hmac_sha256(&key, to_sign.as_bytes())), to_sign)
}

/// `ak/date/region/product/aliyun_v4_request`.
pub(super) struct Scope<'a> {
    pub(super) access_key: &'a str,
    pub(super) date: &'a str,
    pub(super) region: &'a str,
    pub(super) product: &'a str,
}

pub(super) fn parse_credential(c: &str) -> Option<Scope<'_>> {
    let mut p = c.split('/');
    let scope = Scope {
        access_key: p.next()?,
        date: p.next()?,
        region: p.next()?,
        product: p.next()?,
    };
    (p.next()? == "aliyun_v4_request" && p.next().is_none() && scope.product.starts_with("oss"))
        .then_some(scope)
}

/// `k=v` items separated by commas, any order, optional spaces (the SDKs differ).
pub(super) fn v4_items(rest: &str) -> Option<(Scope<'_>, Vec<String>, &str)> {
    let (mut credential, mut additional, mut signature) = (None, Vec::new(), None);
    for item in rest.split(',') {
        let (k, v) = item.trim().split_once('=')?;
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "AdditionalHeaders" => {
                additional = v
                    .split(';')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            }
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    Some((parse_credential(credential?)?, additional, signature?))
}
