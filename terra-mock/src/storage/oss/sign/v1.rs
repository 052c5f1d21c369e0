//! OSS V1: HMAC-SHA1 over the verb, Content-MD5, Content-Type, the date, the `x-oss-*`
//! headers and `/bucket/key` with the sorted sub-resources.

use super::{SignedRequest, bare_or_pair, header, oss_headers, query_pairs};

/// Sub-resources that V1 signatures include (oss2's list, which the other SDKs share).
const SUB_RESOURCES: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-cache-control",
    "logging",
    "response-content-encoding",
    "acl",
    "uploadId",
    "uploads",
    "partNumber",
    "group",
    "link",
    "delete",
    "website",
    "location",
    "objectInfo",
    "objectMeta",
    "response-expires",
    "response-content-disposition",
    "cors",
    "lifecycle",
    "restore",
    "qos",
    "referer",
    "stat",
    "bucketInfo",
    "append",
    "position",
    "security-token",
    "live",
    "comp",
    "status",
    "vod",
    "startTime",
    "endTime",
    "x-oss-process",
    "symlink",
    "callback",
    "callback-var",
    "tagging",
    "encryption",
    "versions",
    "versioning",
    "versionId",
    "policy",
    "requestPayment",
    "x-oss-traffic-limit",
    "qosInfo",
    "asyncFetch",
    "x-oss-request-payer",
    "sequential",
    "inventory",
    "inventoryId",
    "continuation-token",
    "worm",
    "wormId",
    "wormExtend",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "transferAcceleration",
    "cname",
    "metaQuery",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow",
    "resourceGroup",
    "style",
    "styleName",
    "x-oss-async-process",
    "regionList",
    "x-oss-write-get-object-response",
    "bucketArchiveDirectRead",
    "httpsConfig",
    "redundancyTransition",
    "x-oss-target-redundancy-type",
    "x-oss-redundancy-transition-taskid",
    "accessPoint",
    "accessPointPolicy",
    "publicAccessBlock",
    "x-oss-access-point-name",
    "requesterQosInfo",
    "qosRequester",
    "resourcePoolInfo",
    "resourcePool",
    "resourcePoolBuckets",
];

/// The V1 string to sign; `date` is `x-oss-date`, `Date`, or `Expires` of a presigned URL.
pub(crate) fn v1_string_to_sign(r: &SignedRequest<'_>, date: &str) -> String {
    let pairs = query_pairs(r.query);
    let mut subs: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| SUB_RESOURCES.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    subs.sort();
    let mut resource = format!("/{}/{}", r.bucket, r.key);
    if !subs.is_empty() {
        let parts: Vec<String> = subs.iter().map(|(k, v)| bare_or_pair(k, v)).collect();
        resource.push('?');
        resource.push_str(&parts.join("&"));
    }
    format!(
        "{}\n{}\n{}\n{date}\n{}{resource}",
        r.method,
        header(r.headers, "content-md5"),
        header(r.headers, "content-type"),
        oss_headers(r.headers, &[], true)
    )
}
