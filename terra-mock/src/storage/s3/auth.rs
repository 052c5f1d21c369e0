//! What s3s asks of the mock before an operation runs: the bucket in a virtual-host name,
//! the secret of an access key, and the access check (session token, its expiry on the
//! mock's clock, the `storePath` prefix, the operations an STS session may call).

use std::sync::Weak;

use s3s::{S3Error, S3Request, S3Result, s3_error};

use crate::config::Provider;
use crate::core::Core;
use crate::storage::access::{Ask, Denial, Intent, Target, authorize, secret_for};
use crate::storage::presign::MOCK_EXPIRES_PARAM;

/// Virtual-host style when the `Host` starts with the mock's S3 bucket, path style
/// otherwise.
pub(super) struct Host(pub(super) String);

impl s3s::host::S3Host for Host {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<s3s::host::VirtualHost<'a>> {
        match host
            .strip_prefix(self.0.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
        {
            Some(domain) => Ok(s3s::host::VirtualHost::new(domain).with_bucket(self.0.as_str())),
            None => Ok(s3s::host::VirtualHost::new(host)),
        }
    }
}

pub(super) struct Auth(pub(super) Weak<Core>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<s3s::auth::SecretKey> {
        let m = self
            .0
            .upgrade()
            .ok_or_else(|| s3_error!(ServiceUnavailable))?;
        secret_for(&m, access_key)
            .map(s3s::auth::SecretKey::from)
            .ok_or_else(|| {
                s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            })
    }
}

pub(super) struct Access(pub(super) Weak<Core>, pub(super) Provider);

fn query_param<'a>(uri: &'a http::Uri, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name)
            .then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy())
    })
}

pub(super) fn denial_error(d: Denial) -> S3Error {
    crate::storage::why::note(d.reason());
    match d {
        Denial::UnknownKey | Denial::MissingToken => {
            s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )
        }
        Denial::TokenMismatch | Denial::InvalidToken => s3_error!(
            InvalidToken,
            "The provided token is malformed or otherwise invalid."
        ),
        Denial::Expired => s3_error!(ExpiredToken, "The provided token has expired."),
        Denial::Denied(why) => s3_error!(AccessDenied, "Access Denied: {why}"),
    }
}

#[async_trait::async_trait]
impl s3s::access::S3Access for Access {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        let m = self
            .0
            .upgrade()
            .ok_or_else(|| s3_error!(ServiceUnavailable))?;
        let Some(creds) = cx.credentials() else {
            return Err(s3_error!(
                AccessDenied,
                "Access Denied: anonymous requests are not allowed"
            ));
        };
        let now = m.now();
        if creds.access_key == m.service_s3.access_key
            || creds.access_key == m.service_oss.access_key
        {
            // A download link: its expiry on the mock's clock travels in a signed parameter.
            let expires =
                query_param(cx.uri(), MOCK_EXPIRES_PARAM).and_then(|v| v.parse::<u64>().ok());
            if expires.is_none_or(|e| e <= crate::storage::presign::unix(now)) {
                crate::storage::why::note(crate::storage::why::expired_link());
                return Err(s3_error!(AccessDenied, "Request has expired"));
            }
        }
        let token = cx
            .headers()
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(std::borrow::Cow::Borrowed)
            .or_else(|| query_param(cx.uri(), "X-Amz-Security-Token"));
        let (bucket, key) = match cx.s3_path() {
            s3s::path::S3Path::Object { bucket, key } => {
                (bucket.to_string(), Some(key.to_string()))
            }
            s3s::path::S3Path::Bucket { bucket } => (bucket.to_string(), None),
            s3s::path::S3Path::Root => (String::new(), None),
        };
        let intent = if matches!(*cx.method(), http::Method::GET | http::Method::HEAD) {
            Intent::Read
        } else {
            Intent::Write
        };
        let ask = Ask {
            provider: self.1,
            access_key: &creds.access_key,
            token: token.as_deref(),
            intent,
            bucket: &bucket,
            // Listings are checked against their parsed prefix by the operation.
            target: key.as_deref().map_or(Target::Bucket, Target::Object),
        };
        authorize(&m, &ask, now).map_err(denial_error)?;
        let op = cx.s3_op().name();
        if !SERVED.contains(&op) {
            // DJI's STS policy allows uploads; everything else is refused as real S3 refuses
            // an operation the session policy does not grant.
            return Err(denial_error(Denial::Denied(format!(
                "these credentials are not allowed to perform {op}"
            ))));
        }
        if let Some(session) = m.session(&creds.access_key) {
            cx.extensions_mut()
                .insert(ListScope(session.prefix.to_string()));
        }
        Ok(())
    }
}

/// The S3 operations the endpoint serves; any other is refused with AccessDenied.
const SERVED: &[&str] = &[
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "DeleteObjects",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
    "ListObjects",
    "ListObjectsV2",
    "HeadBucket",
];

/// The prefix an STS session may list under (set by the access check).
#[derive(Debug, Clone)]
struct ListScope(String);

/// Listings must name a prefix inside the caller's `storePath`.
pub(super) fn check_listing<T>(req: &S3Request<T>, prefix: Option<&str>) -> S3Result<()> {
    let prefix = prefix.unwrap_or_default();
    match req.extensions.get::<ListScope>() {
        Some(ListScope(scope)) if prefix.starts_with(scope.as_str()) => Ok(()),
        Some(ListScope(scope)) => Err(denial_error(Denial::Denied(format!(
            "these credentials may only list with a prefix under {scope}"
        )))),
        None => Err(denial_error(Denial::Denied(
            "download links cannot list the bucket".into(),
        ))),
    }
}
