//! SigV4 of one S3 request without a query string, sans-IO: what the S3 backend's own
//! small-object PUT sends in place of the SDK's orchestration. Signed headers: `host`,
//! `x-amz-content-sha256`, `x-amz-date` and, with STS credentials, `x-amz-security-token`.
//! Cross-checked against `aws-sigv4` in the tests below.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

type HmacSha256 = hmac::Hmac<Sha256>;

/// What is signed: one request to S3 in one region.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header as sent (with the port when it is not the scheme's default).
    pub host: &'a str,
    /// The path exactly as sent, already URI-encoded.
    pub path: &'a str,
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload: &'a str,
    pub region: &'a str,
}

/// The credentials that sign.
pub(crate) struct Keys<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
}

/// The headers a signed request carries besides `host` and `x-amz-content-sha256`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Signed {
    /// `x-amz-date`.
    pub amz_date: String,
    /// `authorization`.
    pub authorization: String,
}

/// `20261202T153000Z` of a time.
fn amz_date(t: SystemTime) -> String {
    terra_types::time::format_rfc3339(t).replace(['-', ':'], "")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // An HMAC key may have any length; `new_from_slice` cannot fail for it.
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any size");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Signs `req` at time `now`.
pub(crate) fn sign(req: &Request<'_>, keys: &Keys<'_>, now: SystemTime) -> Signed {
    let date = amz_date(now);
    let day = &date[..8];
    let (mut headers, mut names) = (
        format!(
            "host:{}\nx-amz-content-sha256:{}\nx-amz-date:{date}\n",
            req.host.trim(),
            req.payload
        ),
        String::from("host;x-amz-content-sha256;x-amz-date"),
    );
    if let Some(t) = keys.session_token {
        headers.push_str(&format!("x-amz-security-token:{}\n", t.trim()));
        names.push_str(";x-amz-security-token");
    }
    let canonical = format!(
        "{}\n{}\n\n{headers}\n{names}\n{}",
        req.method, req.path, req.payload
    );
    let scope = format!("{day}/{}/s3/aws4_request", req.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", keys.secret).as_bytes(), day.as_bytes());
    for part in [req.region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    Signed {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
            keys.access_key_id
        ),
        amz_date: date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    use proptest::prelude::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// The signature `aws-sigv4` computes for the same request.
    fn reference(req: &Request<'_>, keys: &Keys<'_>, now: SystemTime) -> String {
        let identity = aws_credential_types::Credentials::new(
            keys.access_key_id,
            keys.secret,
            keys.session_token.map(str::to_owned),
            None,
            "test",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        // S3 paths are signed as sent, neither normalised nor encoded twice.
        settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
        settings.uri_path_normalization_mode =
            aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(req.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("http://{}{}", req.host, req.path);
        let body = if req.payload == "UNSIGNED-PAYLOAD" {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Precomputed(req.payload.to_owned())
        };
        let headers = [("host", req.host)];
        let signable = SignableRequest::new(req.method, &url, headers.into_iter(), body).unwrap();
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .unwrap()
            .into_parts();
        instructions
            .headers()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.to_owned())
            .unwrap()
    }

    #[test]
    fn a_put_is_signed_as_aws_sigv4_signs_it() {
        let req = Request {
            method: "PUT",
            host: "terra-bucket.s3.us-west-2.amazonaws.com",
            path: "/flights/2026/DJI_0001.JPG",
            payload: "UNSIGNED-PAYLOAD",
            region: "us-west-2",
        };
        let keys = Keys {
            access_key_id: "ASIAEXAMPLE",
            secret: "wJalrXUtnFEMI/K7MDENG",
            session_token: Some("FwoGZXIvYXdzEXAMPLE"),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
        let signed = sign(&req, &keys, now);
        assert_eq!(signed.amz_date, "20261125T100000Z");
        assert_eq!(signed.authorization, reference(&req, &keys, now));
        insta::assert_snapshot!(signed.authorization, @"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261125/us-west-2/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=7fc1f243ad5e5d77addfa8965bf2b253fd9d04a7160a4dea0925ef03536d2824");
    }

    proptest! {
        #[test]
        fn every_key_and_host_signs_as_aws_sigv4(
            key in "[a-zA-Z0-9 _.~+%/-]{1,40}",
            port in proptest::option::of(1u16..),
            secs in 0u64..4_000_000_000,
            signed_payload in any::<bool>(),
            token in proptest::option::of("[A-Za-z0-9/+=]{1,60}"),
        ) {
            let path = format!("/bucket/{}", terra_types::encode_key(&key));
            let host = match port {
                Some(p) => format!("127.0.0.1:{p}"),
                None => "s3.eu-central-1.amazonaws.com".to_owned(),
            };
            let payload = if signed_payload {
                hex::encode(Sha256::digest(key.as_bytes()))
            } else {
                "UNSIGNED-PAYLOAD".to_owned()
            };
            let req = Request { method: "PUT", host: &host, path: &path, payload: &payload, region: "eu-central-1" };
            let keys = Keys { access_key_id: "AKID", secret: "sk/+=", session_token: token.as_deref() };
            let now = UNIX_EPOCH + Duration::from_secs(secs);
            prop_assert_eq!(sign(&req, &keys, now).authorization, reference(&req, &keys, now));
        }
    }
}
