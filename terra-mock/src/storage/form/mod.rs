//! Browser upload forms: S3 POST Object (a policy signed with SigV4, boto3's
//! `generate_presigned_post`) and OSS PostObject (V1 `OSSAccessKeyId` + `Signature`, or
//! V4 `x-oss-signature-version`), posted as `multipart/form-data` to the bucket.
//!
//! The form is read as a stream (`multipart.rs`): its fields first (at most 20 KiB, as
//! S3 allows), then, once the signature, the policy (`policy.rs`) and the access rule
//! have let it through, the file straight to disk. The key must stay under the session's
//! `storePath`, as for a PUT; `${filename}` in the key is the file's name. What is stored
//! is an object like any other: listable, registrable by `upload_callback`, downloadable.

pub(crate) mod multipart;
pub(crate) mod policy;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use http::{HeaderValue, Method, StatusCode};

use self::multipart::{FormError, Reader};
use self::policy::field;
use super::access::{Ask, Denial, Intent, Target, authorize, secret_for};
use super::crypto::{base64, hmac_sha1, hmac_sha256, oss_v4_key, same, sigv4_key};
use crate::config::Provider;
use crate::core::Core;

/// The fields before the file, in bytes (S3's limit).
const FIELDS_LIMIT: usize = 20 * 1024;
/// The largest object a form may upload without a `content-length-range` (S3's 5 GiB).
const MAX_OBJECT: u64 = 5 << 30;

/// Whether a request is a form upload: `POST` to a bucket (no key, no sub-resource) with
/// a `multipart/form-data` body.
pub(crate) fn is_form_upload(req: &Request, key: &str) -> bool {
    req.method() == Method::POST
        && key.is_empty()
        && req.uri().query().is_none_or(str::is_empty)
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| multipart::boundary(ct).is_some())
}

/// A refusal, in either protocol's words.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// More elements of the error document (S3's `StringToSign`, `MaxSizeAllowed`, ...).
    extra: Vec<(&'static str, String)>,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
        extra: Vec::new(),
    }
}

impl Refusal {
    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    fn render(self, provider: Provider, host: &str) -> Response {
        match provider {
            Provider::S3 => {
                let (id, host_id) = super::ids::request_ids();
                let extra: String = self
                    .extra
                    .iter()
                    .map(|(n, v)| format!("<{n}>{}</{n}>", escape(v)))
                    .collect();
                let xml = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{extra}<RequestId>{id}</RequestId><HostId>{host_id}</HostId></Error>",
                    self.code,
                    escape(&self.message)
                );
                let mut r = (self.status, xml).into_response();
                let h = r.headers_mut();
                h.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                insert(h, "x-amz-request-id", &id);
                insert(h, "x-amz-id-2", &host_id);
                r
            }
            Provider::Oss => {
                let id = super::oss::request_id();
                let mut e = super::oss::error::OssError::new(self.status, self.code, self.message);
                for (n, v) in self.extra {
                    match n {
                        "OSSAccessKeyId" => e = e.key(&v),
                        "StringToSign" => {
                            e.detail.get_or_insert_with(Box::default).string_to_sign = Some(v)
                        }
                        _ => {}
                    }
                }
                let mut r = e.render(host, &id);
                let h = r.headers_mut();
                insert(h, "x-oss-request-id", &id);
                h.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
                r
            }
        }
    }
}

/// XML text as S3 writes it: `&`, `<` and `>` escaped, quotes as they are (its policy
/// refusals quote conditions).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn insert(h: &mut http::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

fn form_refusal(e: FormError) -> Refusal {
    match e {
        FormError::FieldsTooLarge => refuse(
            StatusCode::BAD_REQUEST,
            "MaxPostPreDataLengthExceeded",
            "Your POST request fields preceding the upload file were too large.",
        ),
        FormError::Incomplete(why) => refuse(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            format!("The request body ended before the form did ({why})."),
        ),
        FormError::Malformed(why) => refuse(
            StatusCode::BAD_REQUEST,
            "MalformedPOSTRequest",
            format!(
                "The body of your POST request is not well-formed multipart/form-data ({why})."
            ),
        ),
        FormError::FileTooLarge { limit } => too_large(limit, limit + 1),
    }
}

fn too_large(max: u64, proposed: u64) -> Refusal {
    refuse(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
    .with("ProposedSize", proposed.to_string())
    .with("MaxSizeAllowed", max.to_string())
}

fn denied(message: String) -> Refusal {
    refuse(StatusCode::FORBIDDEN, "AccessDenied", message)
}

/// The access rule's verdict in the protocol's words.
fn denial(d: Denial, provider: Provider, access_key: &str) -> Refusal {
    if provider == Provider::Oss {
        let e = super::oss::error::denial(d, access_key);
        return refuse(e.status, e.code, e.message).with("OSSAccessKeyId", access_key);
    }
    super::why::note(d.reason());
    match d {
        Denial::UnknownKey | Denial::MissingToken => refuse(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .with("AWSAccessKeyId", access_key),
        Denial::TokenMismatch | Denial::InvalidToken => refuse(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        ),
        Denial::Expired => refuse(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "The provided token has expired.",
        ),
        Denial::Denied(why) => denied(format!("Access Denied: {why}")),
    }
}

/// Who signed the form: its access key and session token.
struct Signer {
    access_key: String,
    token: Option<String>,
}

/// `AK/date/region/service/terminator` of a SigV4 or OSS V4 credential.
fn scope<'a>(
    credential: &'a str,
    service: &str,
    terminator: &str,
) -> Option<(&'a str, &'a str, &'a str)> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [ak, date, region, s, t] if *s == service && *t == terminator && date.len() == 8 => {
            Some((ak, date, region))
        }
        _ => None,
    }
}

/// Checks an S3 form's SigV4 signature of its policy.
fn s3_signer(m: &Core, fields: &[(String, String)], policy_b64: &str) -> Result<Signer, Refusal> {
    let Some(signature) = field(fields, "x-amz-signature") else {
        if field(fields, "AWSAccessKeyId").is_some() && field(fields, "signature").is_some() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            ));
        }
        return Err(denied("Access Denied".into()));
    };
    let algorithm = field(fields, "x-amz-algorithm").unwrap_or("");
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            format!("x-amz-algorithm {algorithm:?} is not supported: use AWS4-HMAC-SHA256"),
        ));
    }
    let credential = field(fields, "x-amz-credential").unwrap_or("");
    let (ak, date, region) = scope(credential, "s3", "aws4_request").ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            format!("x-amz-credential {credential:?} is not <access key>/<yyyymmdd>/<region>/s3/aws4_request"),
        )
    })?;
    let secret = secret_for(m, ak).ok_or_else(|| denial(Denial::UnknownKey, Provider::S3, ak))?;
    let expected = hex::encode(hmac_sha256(
        &sigv4_key(&secret, date, region, "s3"),
        policy_b64.as_bytes(),
    ));
    if !same(&expected, &signature.to_ascii_lowercase()) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("AWSAccessKeyId", ak)
        .with("StringToSign", policy_b64)
        .with("SignatureProvided", signature));
    }
    Ok(Signer {
        access_key: ak.to_owned(),
        token: field(fields, "x-amz-security-token").map(str::to_owned),
    })
}

/// Checks an OSS form's V1 or V4 signature of its policy.
fn oss_signer(m: &Core, fields: &[(String, String)], policy_b64: &str) -> Result<Signer, Refusal> {
    let mismatch = |ak: &str| {
        refuse(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("OSSAccessKeyId", ak)
        .with("StringToSign", policy_b64)
    };
    let token = field(fields, "x-oss-security-token").map(str::to_owned);
    if field(fields, "x-oss-signature-version").is_some_and(|v| v == "OSS4-HMAC-SHA256") {
        let credential = field(fields, "x-oss-credential").unwrap_or("");
        let (ak, date, region) = scope(credential, "oss", "aliyun_v4_request").ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                format!("x-oss-credential {credential:?} is not <access key>/<yyyymmdd>/<region>/oss/aliyun_v4_request"),
            )
        })?;
        let secret =
            secret_for(m, ak).ok_or_else(|| denial(Denial::UnknownKey, Provider::Oss, ak))?;
        let expected = hex::encode(hmac_sha256(
            &oss_v4_key(&secret, date, region, "oss"),
            policy_b64.as_bytes(),
        ));
        let given = field(fields, "x-oss-signature")
            .unwrap_or("")
            .to_ascii_lowercase();
        if !same(&expected, &given) {
            return Err(mismatch(ak));
        }
        return Ok(Signer {
            access_key: ak.to_owned(),
            token,
        });
    }
    let (Some(ak), Some(signature)) = (field(fields, "OSSAccessKeyId"), field(fields, "Signature"))
    else {
        return Err(denied(
            "You have no right to access this object because of bucket acl.".into(),
        ));
    };
    let secret = secret_for(m, ak).ok_or_else(|| denial(Denial::UnknownKey, Provider::Oss, ak))?;
    let expected = base64(&hmac_sha1(secret.as_bytes(), policy_b64.as_bytes()));
    if !same(&expected, signature) {
        return Err(mismatch(ak));
    }
    Ok(Signer {
        access_key: ak.to_owned(),
        token,
    })
}

/// Serves a form upload to `bucket`.
pub(crate) async fn serve(m: &Arc<Core>, req: Request, bucket: Option<String>) -> Response {
    let provider = if bucket.as_deref() == Some(m.cfg.oss.bucket.as_str()) {
        Provider::Oss
    } else {
        Provider::S3
    };
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match upload(m, req, bucket.unwrap_or_default(), provider, &host).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(code = e.code, "form upload refused");
            e.render(provider, &host)
        }
    }
}

async fn upload(
    m: &Arc<Core>,
    req: Request,
    bucket: String,
    provider: Provider,
    host: &str,
) -> Result<Response, Refusal> {
    let boundary = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary)
        .ok_or_else(|| form_refusal(FormError::Malformed("no boundary")))?;
    let mut reader = Reader::new(req.into_body().into_data_stream(), &boundary);
    reader.start(FIELDS_LIMIT).await.map_err(form_refusal)?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut left = FIELDS_LIMIT;
    let mut file = None;
    while let Some(part) = reader.next_part(left).await.map_err(form_refusal)? {
        if part.name.eq_ignore_ascii_case("file") {
            file = Some(part);
            break;
        }
        let value = reader.value(left).await.map_err(form_refusal)?;
        left = left
            .checked_sub(value.len() + part.name.len())
            .ok_or_else(|| form_refusal(FormError::FieldsTooLarge))?;
        fields.push((part.name, String::from_utf8_lossy(&value).into_owned()));
    }

    let own_bucket = match provider {
        Provider::S3 => &m.cfg.s3.bucket,
        Provider::Oss => &m.cfg.oss.bucket,
    };
    if bucket != *own_bucket {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        )
        .with("BucketName", bucket));
    }
    let Some(key_field) = field(&fields, "key") else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        )
        .with("ArgumentName", "key"));
    };
    let key_field = key_field.to_owned();
    let policy_b64 = field(&fields, "policy").unwrap_or("").to_owned();
    let signer = match provider {
        Provider::S3 => s3_signer(m, &fields, &policy_b64)?,
        Provider::Oss => oss_signer(m, &fields, &policy_b64)?,
    };
    if policy_b64.is_empty() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Bucket POST must contain a field named 'policy' when it is signed.",
        )
        .with("ArgumentName", "policy"));
    }
    let policy = policy::parse(&policy_b64)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, "InvalidPolicyDocument", e))?;
    policy
        .check(&fields, &bucket, SystemTime::now())
        .map_err(denied)?;
    if provider == Provider::S3
        && let Some(extra) = policy.uncovered(&fields)
    {
        return Err(denied(format!(
            "Invalid according to Policy: Extra input fields: {extra}"
        )));
    }
    let Some(file) = file else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        )
        .with("ArgumentName", "file"));
    };
    let filename = file
        .filename
        .as_deref()
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .to_owned();
    let key = key_field.replace("${filename}", &filename);
    if super::check_key(&key, 1024).is_err() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            format!("The key {key:?} cannot be stored."),
        )
        .with("ArgumentName", "key"));
    }
    let ask = Ask {
        provider,
        access_key: &signer.access_key,
        token: signer.token.as_deref(),
        intent: Intent::Write,
        bucket: &bucket,
        target: Target::Object(&key),
    };
    authorize(m, &ask, m.now()).map_err(|d| denial(d, provider, &signer.access_key))?;

    let (min, max) = policy.length_range().unwrap_or((0, MAX_OBJECT));
    let content_type = field(&fields, "Content-Type")
        .map(str::to_owned)
        .or_else(|| file.content_type.clone());
    // The file's own failure (too large) is kept aside: the store only sees a message.
    let failure: Arc<Mutex<Option<FormError>>> = Arc::default();
    let seen = failure.clone();
    let stream = reader.file(max).map(move |r| {
        r.map_err(|e| {
            let text = format!("{e:?}");
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            text
        })
    });
    let written = match m.storage.write_stream(Box::pin(stream), content_type).await {
        Ok(w) => w,
        Err(super::blob::WriteFailure::Body(_)) => {
            let e = failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or(FormError::Incomplete("the file".into()));
            return Err(form_refusal(e));
        }
        Err(super::blob::WriteFailure::Disk(_)) => {
            return Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ));
        }
    };
    if written.size < min {
        let size = written.size;
        written.discard();
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
        )
        .with("ProposedSize", size.to_string())
        .with("MinSizeAllowed", min.to_string()));
    }
    let meta = m
        .storage
        .commit(&bucket, &key, written, m.now())
        .map_err(|_| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        })?;
    Ok(success(provider, &fields, host, &bucket, &key, &meta.etag))
}

/// The answer to a stored form: `success_action_redirect`, else `success_action_status`
/// (200 empty, 201 with a `PostResponse` document), else 204.
fn success(
    provider: Provider,
    fields: &[(String, String)],
    host: &str,
    bucket: &str,
    key: &str,
    hex_etag: &str,
) -> Response {
    let etag = match provider {
        Provider::S3 => format!("\"{hex_etag}\""),
        Provider::Oss => super::oss::xml::etag(hex_etag),
    };
    let vhost = host.starts_with(&format!("{bucket}."));
    let location = if vhost {
        format!("http://{host}/{}", terra_types::encode_key(key))
    } else {
        format!("http://{host}/{bucket}/{}", terra_types::encode_key(key))
    };
    let mut r = if let Some(to) = field(fields, "success_action_redirect").filter(|t| !t.is_empty())
    {
        let sep = if to.contains('?') { '&' } else { '?' };
        let target = format!(
            "{to}{sep}bucket={}&key={}&etag={}",
            terra_types::uri_encode(bucket),
            terra_types::uri_encode(key),
            terra_types::uri_encode(&etag)
        );
        let mut r = StatusCode::SEE_OTHER.into_response();
        insert(r.headers_mut(), "location", &target);
        r
    } else {
        match field(fields, "success_action_status") {
            Some("200") => StatusCode::OK.into_response(),
            Some("201") => {
                let xml = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                    escape(&location),
                    escape(bucket),
                    escape(key),
                    escape(&etag)
                );
                let mut r = (StatusCode::CREATED, xml).into_response();
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                r
            }
            _ => StatusCode::NO_CONTENT.into_response(),
        }
    };
    let h = r.headers_mut();
    insert(h, "etag", &etag);
    if !h.contains_key("location") {
        insert(h, "location", &location);
    }
    match provider {
        Provider::S3 => {
            let (id, host_id) = super::ids::request_ids();
            insert(h, "x-amz-request-id", &id);
            insert(h, "x-amz-id-2", &host_id);
        }
        Provider::Oss => {
            insert(h, "x-oss-request-id", &super::oss::request_id());
            h.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
        }
    }
    r
}
