//! OSS V2: HMAC-SHA256, the V1 layout plus additional headers, the resource encoded and
//! every query parameter signed.

use terra_types::uri_encode;

use super::{SignedRequest, bare_or_pair, header, oss_headers, query_pairs};

/// The V2 string to sign. `date` is `Date`, or `x-oss-expires` of a presigned URL, whose
/// `x-oss-signature` is left out of the query.
pub(crate) fn v2_string_to_sign(
    r: &SignedRequest<'_>,
    date: &str,
    additional: &[String],
) -> String {
    let mut additional: Vec<String> = additional.to_vec();
    additional.sort();
    let mut query: Vec<(String, String)> = query_pairs(r.query)
        .into_iter()
        .filter(|(k, _)| k != "x-oss-signature")
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    query.sort();
    let mut resource = uri_encode(&format!("/{}/{}", r.bucket, r.key));
    if !query.is_empty() {
        let q: Vec<String> = query.iter().map(|(k, v)| bare_or_pair(k, v)).collect();
        resource.push('?');
        resource.push_str(&q.join("&"));
    }
    format!(
        "{}\n{}\n{}\n{date}\n{}{}\n{resource}",
        r.method,
        header(r.headers, "content-md5"),
        header(r.headers, "content-type"),
        oss_headers(r.headers, &additional, false),
        additional.join(";")
    )
}

/// `AccessKeyId:..,AdditionalHeaders:..,Signature:..` of a V2 header.
pub(super) fn v2_items(rest: &str) -> Option<(&str, Vec<String>, &str)> {
    let (mut ak, mut additional, mut signature) = (None, Vec::new(), None);
    for item in rest.split(',') {
        let (k, v) = item.trim().split_once(':')?;
        match k.trim() {
            "AccessKeyId" => ak = Some(v.trim()),
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
    Some((ak?, additional, signature?))
}
