//! The integrity headers of a request body that S3 and OSS check: `Content-MD5` and the
//! `x-amz-checksum-*` family (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256; base64 of the
//! big-endian digest). Used where the mock holds the whole body before acting on it: the
//! multi-object deletes, which S3 and OSS only accept with one of them.

use base64::Engine as _;
use md5::Md5;
use sha2::Digest as _;

/// The largest DeleteObjects body read: 1 000 keys of 1 024 bytes, escaped, and the XML.
pub(crate) const MULTI_DELETE_BODY_LIMIT: usize = 8 << 20;

/// Whether a request is a multi-object delete (`POST /bucket?delete`).
pub(crate) fn is_multi_delete(method: &http::Method, query: Option<&str>) -> bool {
    method == http::Method::POST
        && query
            .unwrap_or("")
            .split('&')
            .any(|p| p == "delete" || p.starts_with("delete="))
}

/// Why a body's integrity header is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// None of the headers was sent, and the operation requires one.
    Missing,
    /// A header that is not base64 of a digest of the right length.
    Malformed(&'static str),
    /// A header whose digest differs from the body's.
    Mismatch(&'static str),
}

/// How a header's digest of a body is computed.
type DigestFn = fn(&[u8]) -> Vec<u8>;

/// The headers checked, with how to compute each.
const CHECKSUMS: &[(&str, DigestFn)] = &[
    ("content-md5", |b| Md5::digest(b).to_vec()),
    ("x-amz-checksum-crc32", |b| {
        (crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, b) as u32)
            .to_be_bytes()
            .to_vec()
    }),
    ("x-amz-checksum-crc32c", |b| {
        (crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, b) as u32)
            .to_be_bytes()
            .to_vec()
    }),
    ("x-amz-checksum-crc64nvme", |b| {
        crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, b)
            .to_be_bytes()
            .to_vec()
    }),
    ("x-amz-checksum-sha1", |b| sha1::Sha1::digest(b).to_vec()),
    ("x-amz-checksum-sha256", |b| {
        sha2::Sha256::digest(b).to_vec()
    }),
];

/// Checks every integrity header sent against `body`; with `required`, at least one must be.
pub(crate) fn verify(
    headers: &http::HeaderMap,
    body: &[u8],
    required: bool,
) -> Result<(), Problem> {
    let mut seen = false;
    for (name, digest) in CHECKSUMS {
        let Some(sent) = headers.get(*name) else {
            continue;
        };
        seen = true;
        let sent = base64::engine::general_purpose::STANDARD
            .decode(sent.as_bytes())
            .map_err(|_| Problem::Malformed(name))?;
        if sent != digest(body) {
            return Err(Problem::Mismatch(name));
        }
    }
    if required && !seen {
        return Err(Problem::Missing);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// Digests of `hello` as Python's hashlib, zlib and the AWS CLI give them.
    #[test]
    fn known_digests_of_hello() {
        let ok = [
            ("content-md5", "XUFAKrxLKna5cZ2REBfFkg=="),
            ("x-amz-checksum-crc32", "NhCmhg=="),
            ("x-amz-checksum-crc32c", "mnG7TA=="),
            ("x-amz-checksum-sha1", "qvTGHdzF6KLavt4PO0gs2a6pQ00="),
            (
                "x-amz-checksum-sha256",
                "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            ),
        ];
        for (k, v) in ok {
            assert_eq!(verify(&headers(&[(k, v)]), b"hello", true), Ok(()), "{k}");
            assert_eq!(
                verify(&headers(&[(k, v)]), b"hellO", true),
                Err(Problem::Mismatch(k)),
                "{k}"
            );
        }
        assert_eq!(verify(&headers(&[]), b"hello", true), Err(Problem::Missing));
        assert_eq!(verify(&headers(&[]), b"hello", false), Ok(()));
        assert_eq!(
            verify(&headers(&[("content-md5", "%%%")]), b"hello", true),
            Err(Problem::Malformed("content-md5"))
        );
    }
}
