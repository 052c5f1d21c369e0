//! The S3 backend, on `aws-sdk-s3` without `aws-config` (the credentials come from the
//! token). Bodies are streamed from the file; CRC32 request checksums only when required;
//! payload signing off by default (`UNSIGNED-PAYLOAD`; TLS protects the bytes), which saves
//! a full SHA-256 pass over every file. With signing on, each body is hashed from disk
//! before it is sent and the digest signed (`x-amz-content-sha256`).

use aws_runtime::auth::PayloadSigningOverride;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{
    Builder, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::TryStreamExt;
use terra_types::StsToken;

use crate::backend::{
    MAX_LIST_PAGES, ObjectBackend, ObjectInfo, OpenUpload, Source, unescape, xml_tag,
};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::{BackendOptions, encode_key, sigv4};
use terra_types::Secret;

/// S3 with one set of STS credentials.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().start().await?);
/// # let dir = tempfile::tempdir()?;
/// # let photo = dir.path().join("DJI_0001.JPG");
/// # std::fs::write(&photo, vec![7u8; 300_000])?;
/// # let m = mock.clone();
/// # let provider = std::sync::Arc::new(terra_store::FnTokenProvider::new(move || {
/// #     let t = m.issue_token(m.app_key()).ok_or_else(|| terra_store::BoxError::from("unknown account"));
/// #     async move { t }
/// # }));
/// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
/// # let opts = terra_store::UploadOptions { backend: backend.clone(), ..Default::default() };
/// # let token = mock.issue_token(mock.app_key()).unwrap();
/// use terra_store::{ObjectBackend, Source, s3::S3Backend};
/// let s3 = S3Backend::new(&token, &backend);
/// let etag = s3.put(&token.object_key("a.jpg"), &Source::file(&photo, 300_000)).await?;
/// assert!(!etag.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct S3Backend {
    client: aws_sdk_s3::Client,
    bucket: String,
    sign_payload: bool,
    /// The PUT of a whole object, sent without the SDK (see [`LeanPut`]).
    lean: Option<LeanPut>,
}

/// PutObject by reqwest and [`crate::sigv4`]: the SDK's orchestration (config layers,
/// interceptors, type-erased state, its own signer) cost more client CPU per small photo
/// than the request itself. Same signature, same error mapping; retries and token refresh
/// stay with the engine as for every other request. Used where the URL is plain (no dot
/// segments in the key, no path in the endpoint); the SDK sends the rest.
#[derive(Clone)]
struct LeanPut {
    http: reqwest::Client,
    /// `scheme://host[:port]` requests go to.
    origin: String,
    /// The `Host` header of those requests (reqwest sends the same, from the URL).
    host: String,
    /// Whether the bucket is in the host name (else the first path segment).
    virtual_host: bool,
    region: String,
    access_key_id: String,
    secret: Secret,
    session_token: Secret,
}

impl std::fmt::Debug for LeanPut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeanPut")
            .field("origin", &self.origin)
            .field("virtual_host", &self.virtual_host)
            .finish_non_exhaustive()
    }
}

/// Whether a bucket can be the first label of a TLS host name (the SDK's rule: DNS-safe,
/// no dots).
fn virtual_hostable(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

impl LeanPut {
    /// The lean PUT for a token, or `None` where the endpoint is not a plain origin.
    fn new(token: &StsToken, opts: &BackendOptions, http: reqwest::Client) -> Option<Self> {
        let bucket = &token.cloud_bucket_name;
        let (endpoint, path_style) = match &opts.endpoint {
            Some(e) => (
                e.trim_end_matches('/').to_owned(),
                opts.path_style.unwrap_or(true),
            ),
            None => (
                format!("https://s3.{}.amazonaws.com", token.region),
                opts.path_style.unwrap_or(false),
            ),
        };
        let url = reqwest::Url::parse(&endpoint).ok()?;
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return None;
        }
        let virtual_host = !path_style && virtual_hostable(bucket);
        let mut host = url.host_str()?.to_owned();
        if virtual_host {
            host = format!("{bucket}.{host}");
        }
        if let Some(port) = url.port() {
            host.push_str(&format!(":{port}"));
        }
        Some(Self {
            http,
            origin: format!("{}://{host}", url.scheme()),
            host,
            virtual_host,
            region: token.region.clone(),
            access_key_id: token.access_key_id.clone(),
            secret: token.secret_access_key.clone(),
            session_token: token.session_token.clone(),
        })
    }

    /// The request path of a key, or `None` where a URL parser would rewrite it (`.` and
    /// `..` segments, which S3 keeps as they are).
    fn path(&self, bucket: &str, key: &str) -> Option<String> {
        if key.split('/').any(|s| s == "." || s == "..") {
            return None;
        }
        Some(if self.virtual_host {
            format!("/{}", encode_key(key))
        } else {
            format!("/{}/{}", encode_key(bucket), encode_key(key))
        })
    }

    /// PutObject of `source` at `path`; `payload` is the body's hex SHA-256 or
    /// `UNSIGNED-PAYLOAD`.
    async fn put(&self, key: &str, path: &str, source: &Source, payload: &str) -> Result<String> {
        let ctx = || format!("S3 PutObject {key}");
        let signed = sigv4::sign(
            &sigv4::Request {
                method: "PUT",
                host: &self.host,
                path,
                payload,
                region: &self.region,
            },
            &sigv4::Keys {
                access_key_id: &self.access_key_id,
                secret: self.secret.expose(),
                session_token: Some(self.session_token.expose()),
            },
            std::time::SystemTime::now(),
        );
        let body = if source.len <= crate::backend::CHUNK as u64 {
            // A photo-sized body: read in one trip to the blocking pool, sent with the
            // headers.
            let bytes = source.read_small().await.map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Io,
                    format!("read {}", source.path.display()),
                    e.to_string(),
                )
            })?;
            if let Some(p) = &source.progress {
                p(bytes.len() as u64);
            }
            reqwest::Body::from(bytes)
        } else {
            reqwest::Body::wrap_stream(source.stream())
        };
        let mut req = self
            .http
            .put(format!("{}{path}", self.origin))
            .header("x-amz-content-sha256", payload)
            .header("x-amz-date", &signed.amz_date)
            .header("x-amz-security-token", self.session_token.expose())
            .header(http::header::AUTHORIZATION, &signed.authorization);
        if source.len > crate::backend::CHUNK as u64 {
            // A body in memory carries its length; a stream is told it.
            req = req.header(http::header::CONTENT_LENGTH, source.len);
        }
        let resp = req.body(body).send().await.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Transient,
                ctx(),
                format!("request failed: {e}"),
            )
            .with_source(e.without_url())
        })?;
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if (200..300).contains(&status) {
            return Ok(etag);
        }
        let text = resp.text().await.unwrap_or_default();
        let code = xml_tag(&text, "Code").map(str::to_owned);
        let message = xml_tag(&text, "Message")
            .map(unescape)
            .unwrap_or_else(|| format!("HTTP {status} without an S3 error document"));
        Err(StoreError::from_response(
            ctx(),
            status,
            code.as_deref(),
            message,
        ))
    }
}

impl S3Backend {
    /// A backend for the token's bucket. Without an endpoint override, the AWS regional
    /// endpoint of `token.region` is used (virtual-host style).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().start().await?);
    /// # let dir = tempfile::tempdir()?;
    /// # let photo = dir.path().join("DJI_0001.JPG");
    /// # std::fs::write(&photo, vec![7u8; 300_000])?;
    /// # let m = mock.clone();
    /// # let provider = std::sync::Arc::new(terra_store::FnTokenProvider::new(move || {
    /// #     let t = m.issue_token(m.app_key()).ok_or_else(|| terra_store::BoxError::from("unknown account"));
    /// #     async move { t }
    /// # }));
    /// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
    /// # let opts = terra_store::UploadOptions { backend: backend.clone(), ..Default::default() };
    /// # let token = mock.issue_token(mock.app_key()).unwrap();
    /// use terra_store::{BackendOptions, ObjectBackend, s3::S3Backend};
    /// let s3 = S3Backend::new(&token, &BackendOptions { sign_payload: true, ..backend.clone() });
    /// assert_eq!(s3.bucket(), token.cloud_bucket_name);
    /// # Ok(()) }
    /// ```
    pub fn new(token: &StsToken, opts: &BackendOptions) -> Self {
        let http = opts.http.clone().unwrap_or_default();
        Self::with_http(token, opts, http)
    }

    /// [`S3Backend::new`] whose own PutObject goes through `http` (its pooled connections
    /// shared with the caller's other requests); the SDK keeps its own client for the rest.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::builder().start().await?;
    /// # let token = mock.issue_token(mock.app_key()).unwrap();
    /// # let dir = tempfile::tempdir()?;
    /// # let photo = dir.path().join("DJI_0001.JPG");
    /// # std::fs::write(&photo, vec![7u8; 10_000])?;
    /// use terra_store::{BackendOptions, ObjectBackend, Source, s3::S3Backend};
    /// let http = reqwest::Client::new();
    /// let opts = BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
    /// let s3 = S3Backend::with_http(&token, &opts, http.clone());
    /// s3.put(&token.object_key("a.jpg"), &Source::file(&photo, 10_000)).await?;
    /// assert_eq!(s3.head(&token.object_key("a.jpg")).await?.unwrap().size, 10_000);
    /// # Ok(()) }
    /// ```
    pub fn with_http(token: &StsToken, opts: &BackendOptions, http: reqwest::Client) -> Self {
        let creds = Credentials::new(
            &token.access_key_id,
            token.secret_access_key.expose(),
            Some(token.session_token.expose().to_owned()),
            None,
            "terra-sts",
        );
        let mut b = Builder::new()
            .behavior_version_latest()
            .http_client(http_client())
            .credentials_provider(creds)
            .region(Region::new(token.region.clone()))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // Slow uplinks are normal for drone offices; terra-store bounds work itself.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            // terra-store retries per object and per part, with token refresh.
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
        if let Some(e) = &opts.endpoint {
            b = b.endpoint_url(e.trim_end_matches('/'));
        }
        b = b.force_path_style(opts.path_style.unwrap_or(opts.endpoint.is_some()));
        Self {
            client: aws_sdk_s3::Client::from_conf(b.build()),
            bucket: token.cloud_bucket_name.clone(),
            sign_payload: opts.sign_payload,
            lean: LeanPut::new(token, opts, http),
        }
    }

    /// The request body: a stream from disk reporting progress chunk by chunk, signed or not.
    fn body(source: &Source) -> ByteStream {
        let s = source.clone();
        ByteStream::new(SdkBody::retryable(move || {
            SdkBody::from_body_1_x(http_body_util::StreamBody::new(
                s.stream().map_ok(http_body::Frame::data),
            ))
        }))
    }

    /// How the payload is signed. The SDK only hashes bodies that are in memory and sends a
    /// stream as `UNSIGNED-PAYLOAD`, so a signed payload is hashed here in one pass over the
    /// byte range (bounded memory) and handed to the signer as a precomputed digest.
    async fn payload(&self, source: &Source) -> Result<PayloadSha256> {
        if !self.sign_payload {
            return Ok(PayloadSha256(None));
        }
        let s = source.clone();
        let digest = tokio::task::spawn_blocking(move || sha256_of(&s))
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Other, "hash a body", e.to_string()))?
            .map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Io,
                    format!("read {} to hash it", source.path.display()),
                    e.to_string(),
                )
            })?;
        Ok(PayloadSha256(Some(digest)))
    }
}

/// Hex SHA-256 of a source's byte range, read in [`crate::backend::CHUNK`] pieces.
fn sha256_of(source: &Source) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(&source.path)?;
    f.seek(std::io::SeekFrom::Start(source.offset))?;
    let mut f = f.take(source.len);
    let mut buf = vec![0u8; crate::backend::CHUNK];
    let mut hasher = sha2::Sha256::new();
    let mut read = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
    }
    if read != source.len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("expected {} bytes, the file has {read}", source.len),
        ));
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Sets the payload signing of one request: a precomputed SHA-256, or `UNSIGNED-PAYLOAD`.
#[derive(Debug)]
struct PayloadSha256(Option<String>);

impl Intercept for PayloadSha256 {
    fn name(&self) -> &'static str {
        "terra-store payload signing"
    }

    fn modify_before_signing(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        cfg.interceptor_state().store_put(match &self.0 {
            Some(sha) => PayloadSigningOverride::Precomputed(sha.clone()),
            None => PayloadSigningOverride::UnsignedPayload,
        });
        Ok(())
    }
}

fn map<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    context: String,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError {
    match &e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let msg = s.err().message().unwrap_or("no message").to_owned();
            let code = s.err().code().map(str::to_owned);
            StoreError::from_response(context, status, code.as_deref(), msg)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            let msg = format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e));
            StoreError::new(StoreErrorKind::Transient, context, msg)
        }
        _ => {
            let msg = format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e));
            StoreError::new(StoreErrorKind::Other, context, msg)
        }
    }
}

#[async_trait::async_trait]
impl ObjectBackend for S3Backend {
    async fn put(&self, key: &str, source: &Source) -> Result<String> {
        if let Some((lean, path)) = self
            .lean
            .as_ref()
            .and_then(|l| Some((l, l.path(&self.bucket, key)?)))
        {
            let payload = match self.payload(source).await?.0 {
                Some(sha) => sha,
                None => "UNSIGNED-PAYLOAD".to_owned(),
            };
            return lean.put(key, &path, source, &payload).await;
        }
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(source.len as i64)
            .body(Self::body(source));
        let out = req
            .customize()
            .interceptor(self.payload(source).await?)
            .send()
            .await
            .map_err(|e| map(format!("S3 PutObject {key}"), e))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }

    async fn create_multipart(&self, key: &str) -> Result<String> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map(format!("S3 CreateMultipartUpload {key}"), e))?;
        out.upload_id().map(str::to_owned).ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Other,
                format!("S3 CreateMultipartUpload {key}"),
                "no UploadId in the answer",
            )
        })
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        source: &Source,
    ) -> Result<String> {
        let req = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number as i32)
            .content_length(source.len as i64)
            .body(Self::body(source));
        let out = req
            .customize()
            .interceptor(self.payload(source).await?)
            .send()
            .await
            .map_err(|e| map(format!("S3 UploadPart {key} #{number}"), e))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<String> {
        let parts = parts
            .iter()
            .map(|(n, e)| {
                CompletedPart::builder()
                    .part_number(*n as i32)
                    .e_tag(e)
                    .build()
            })
            .collect();
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map(format!("S3 CompleteMultipartUpload {key}"), e))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<()> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map(drop)
            .map_err(|e| map(format!("S3 AbortMultipartUpload {key}"), e))
    }

    async fn list_multipart_uploads(&self, prefix: &str) -> Result<Vec<OpenUpload>> {
        let mut open = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        for _ in 0..MAX_LIST_PAGES {
            let out = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| map(format!("S3 ListMultipartUploads {prefix}"), e))?;
            for u in out.uploads() {
                if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                    open.push(OpenUpload {
                        key: key.to_owned(),
                        upload_id: id.to_owned(),
                        initiated: u
                            .initiated()
                            .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                            .unwrap_or(std::time::UNIX_EPOCH),
                    });
                }
            }
            if out.is_truncated() != Some(true) {
                break;
            }
            key_marker = out.next_key_marker().map(str::to_owned);
            id_marker = out.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                break;
            }
        }
        Ok(open)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(ObjectInfo {
                size: o.content_length().unwrap_or(0).max(0) as u64,
                etag: o.e_tag().unwrap_or_default().to_owned(),
            })),
            Err(e) => {
                let e = map(format!("S3 HeadObject {key}"), e);
                if e.kind() == StoreErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(drop)
            .map_err(|e| map(format!("S3 DeleteObject {key}"), e))
    }

    fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// The HTTP client of an S3 backend: through the proxy the environment names
/// (`HTTPS_PROXY`, `NO_PROXY`), as reqwest goes for the API and OSS; TLS by rustls with the
/// platform's roots (and `SSL_CERT_FILE`). One per backend, not per process: its pooled
/// connections belong to the runtime that made them.
fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, Connector, proxy::ProxyConfig};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut b = Connector::builder().proxy_config(ProxyConfig::from_env());
        if let Some(s) = settings {
            b = b.connector_settings(s.clone());
        }
        if let Some(sleep) = components.and_then(|c| c.sleep_impl()) {
            b = b.sleep_impl(sleep);
        }
        b.tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(bucket: &str) -> StsToken {
        serde_json::from_value(serde_json::json!({
            "cloudName": "aws_s3", "accessKeyID": "AK", "secretAccessKey": "SK",
            "sessionToken": "ST", "region": "us-west-2", "cloudBucketName": bucket,
            "storePath": "fm/1/", "callbackParam": "", "expireTime": 3600,
        }))
        .unwrap()
    }

    fn lean(bucket: &str, opts: BackendOptions) -> Option<LeanPut> {
        LeanPut::new(&token(bucket), &opts, reqwest::Client::new())
    }

    #[test]
    fn without_an_endpoint_the_bucket_is_in_the_regional_host() {
        let l = lean("terra-bucket", BackendOptions::default()).unwrap();
        assert_eq!(l.origin, "https://terra-bucket.s3.us-west-2.amazonaws.com");
        assert_eq!(l.host, "terra-bucket.s3.us-west-2.amazonaws.com");
        assert_eq!(
            l.path("terra-bucket", "fm/1/a b.jpg").unwrap(),
            "/fm/1/a%20b.jpg"
        );
    }

    #[test]
    fn buckets_a_tls_host_cannot_hold_go_path_style() {
        let l = lean("terra.bucket", BackendOptions::default()).unwrap();
        assert_eq!(l.host, "s3.us-west-2.amazonaws.com");
        assert_eq!(l.path("terra.bucket", "k").unwrap(), "/terra.bucket/k");
        assert!(!virtual_hostable("Upper"));
        assert!(!virtual_hostable("-edge"));
        assert!(!virtual_hostable("ab"));
    }

    #[test]
    fn an_endpoint_override_keeps_its_port_and_goes_path_style() {
        let opts = BackendOptions {
            endpoint: Some("http://127.0.0.1:9000/".into()),
            ..Default::default()
        };
        let l = lean("terra-bucket", opts.clone()).unwrap();
        assert_eq!(
            (l.origin.as_str(), l.host.as_str()),
            ("http://127.0.0.1:9000", "127.0.0.1:9000")
        );
        assert_eq!(
            l.path("terra-bucket", "fm/1/a").unwrap(),
            "/terra-bucket/fm/1/a"
        );
        let vh = lean(
            "terra-bucket",
            BackendOptions {
                path_style: Some(false),
                ..opts
            },
        )
        .unwrap();
        assert_eq!(vh.host, "terra-bucket.127.0.0.1:9000");
    }

    #[test]
    fn what_a_url_would_rewrite_is_left_to_the_sdk() {
        let with_path = BackendOptions {
            endpoint: Some("https://gateway.example/s3".into()),
            ..Default::default()
        };
        assert!(lean("terra-bucket", with_path).is_none());
        let l = lean("terra-bucket", BackendOptions::default()).unwrap();
        assert!(l.path("terra-bucket", "fm/../a").is_none());
        assert!(l.path("terra-bucket", "fm/./a").is_none());
        assert!(l.path("terra-bucket", "fm/..a").is_some());
    }

    #[test]
    fn debug_shows_no_secret() {
        let l = lean("terra-bucket", BackendOptions::default()).unwrap();
        let d = format!("{l:?}");
        assert!(!d.contains("SK") && !d.contains("ST"), "{d}");
    }
}
