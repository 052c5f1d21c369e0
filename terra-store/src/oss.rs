//! The Aliyun OSS backend: signatures by `reqsign-aliyun-oss` (V4 by default, V1
//! selectable, the STS token in `x-oss-security-token`), requests by the shared reqwest
//! client, bodies streamed from the file.
//!
//! `aliyun-oss-rust-sdk` is deliberately not used: it signs but never sends the security
//! token, has no multipart, and reads whole files into memory.

use reqsign_aliyun_oss::{Credential, RequestSigner, SigningVersion};
use reqsign_core::{Context, SignRequest};
use reqwest::Method;
use terra_types::StsToken;

use crate::backend::{
    MAX_LIST_PAGES, ObjectBackend, ObjectInfo, OpenUpload, Source, unescape, xml_tag,
};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::{BackendOptions, OssSigning, encode_key};
use terra_types::uri_encode;

/// OSS with one set of STS credentials.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().provider(terra_mock::Provider::Oss).start().await?);
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
/// use terra_store::{ObjectBackend, Source, oss::OssBackend};
/// let oss = OssBackend::new(&token, &backend, reqwest::Client::new())?;
/// let etag = oss.put(&token.object_key("a.jpg"), &Source::file(&photo, 300_000)).await?;
/// assert!(!etag.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OssBackend {
    http: reqwest::Client,
    scheme: String,
    host: String,
    virtual_host: bool,
    bucket: String,
    region: String,
    version: SigningVersion,
    cred: Credential,
}

impl std::fmt::Debug for OssBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OssBackend")
            .field("host", &self.host)
            .field("bucket", &self.bucket)
            .field("version", &self.version)
            .finish()
    }
}

impl OssBackend {
    /// A backend for the token's bucket. Without an endpoint override, the endpoint is
    /// `https://<region>.aliyuncs.com` (the region carries the `oss-` prefix) and requests
    /// go virtual-host style to `<bucket>.<region>.aliyuncs.com`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().provider(terra_mock::Provider::Oss).start().await?);
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
    /// let oss = terra_store::oss::OssBackend::new(&token, &backend, reqwest::Client::new())?;
    /// # let _ = oss;
    /// # Ok(()) }
    /// ```
    pub fn new(token: &StsToken, opts: &BackendOptions, http: reqwest::Client) -> Result<Self> {
        let endpoint = opts
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{}.aliyuncs.com", token.region));
        let (scheme, host) = endpoint
            .trim_end_matches('/')
            .split_once("://")
            .map(|(s, h)| (s.to_owned(), h.to_owned()))
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Other,
                    "OSS endpoint",
                    format!("invalid endpoint {endpoint:?}"),
                )
            })?;
        Ok(Self {
            http,
            scheme,
            host,
            virtual_host: !opts.path_style.unwrap_or(opts.endpoint.is_some()),
            bucket: token.cloud_bucket_name.clone(),
            region: token.region.trim_start_matches("oss-").to_owned(),
            version: match opts.oss_signing {
                OssSigning::V4 => SigningVersion::V4,
                OssSigning::V1 => SigningVersion::V1,
            },
            cred: Credential {
                access_key_id: token.access_key_id.clone(),
                access_key_secret: token.secret_access_key.expose().to_owned(),
                security_token: Some(token.session_token.expose().to_owned()),
                expires_in: None,
            },
        })
    }

    fn url(&self, key: &str, query: &str) -> String {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        if self.virtual_host {
            format!(
                "{}://{}.{}/{}{q}",
                self.scheme,
                self.bucket,
                self.host,
                encode_key(key)
            )
        } else {
            format!(
                "{}://{}/{}/{}{q}",
                self.scheme,
                self.host,
                self.bucket,
                encode_key(key)
            )
        }
    }

    /// Signs and sends; `body` is `(source, len)` or XML bytes.
    async fn send(
        &self,
        what: &str,
        method: Method,
        key: &str,
        query: &str,
        body: Body,
    ) -> Result<(u16, http::HeaderMap, String)> {
        let ctx = || format!("OSS {what} {key}");
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(self.url(key, query));
        if matches!(body, Body::Xml(_)) {
            builder = builder.header(http::header::CONTENT_TYPE, "application/xml");
        } else if matches!(body, Body::File(_)) {
            builder = builder.header(http::header::CONTENT_TYPE, "application/octet-stream");
        }
        let mut parts = builder
            .body(())
            .map_err(|e| StoreError::new(StoreErrorKind::Other, ctx(), e.to_string()))?
            .into_parts()
            .0;
        RequestSigner::new(&self.bucket)
            .with_signing_version(self.version)
            .with_region(&self.region)
            .sign_request(&Context::new(), &mut parts, Some(&self.cred), None)
            .await
            .map_err(|e| {
                StoreError::new(StoreErrorKind::Other, ctx(), format!("cannot sign: {e}"))
            })?;
        let mut req = self
            .http
            .request(parts.method.clone(), parts.uri.to_string())
            .headers(parts.headers);
        req = match body {
            Body::Empty => req.header(http::header::CONTENT_LENGTH, 0),
            Body::Xml(x) => req.body(x),
            Body::File(s) => req
                .header(http::header::CONTENT_LENGTH, s.len)
                .body(reqwest::Body::wrap_stream(s.stream())),
        };
        let resp = req.send().await.map_err(|e| {
            let kind = if e.is_builder() {
                StoreErrorKind::Other
            } else {
                StoreErrorKind::Transient
            };
            StoreError::new(kind, ctx(), format!("request failed: {e}"))
                .with_source(e.without_url())
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = if method == Method::HEAD {
            String::new()
        } else {
            resp.text().await.map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Transient,
                    ctx(),
                    format!("cannot read the answer: {e}"),
                )
            })?
        };
        if !(200..300).contains(&status) {
            let code = xml_tag(&text, "Code").map(str::to_owned);
            let mut message = xml_tag(&text, "Message").unwrap_or("no message").to_owned();
            if let Some(ec) = xml_tag(&text, "EC") {
                message.push_str(&format!(" (EC {ec})"));
            }
            return Err(StoreError::from_response(
                ctx(),
                status,
                code.as_deref(),
                message,
            ));
        }
        Ok((status, headers, text))
    }
}

enum Body {
    Empty,
    Xml(String),
    File(Source),
}

fn etag(h: &http::HeaderMap) -> String {
    h.get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[async_trait::async_trait]
impl ObjectBackend for OssBackend {
    async fn put(&self, key: &str, source: &Source) -> Result<String> {
        let (_, h, _) = self
            .send(
                "PutObject",
                Method::PUT,
                key,
                "",
                Body::File(source.clone()),
            )
            .await?;
        Ok(etag(&h))
    }

    async fn create_multipart(&self, key: &str) -> Result<String> {
        let (_, _, xml) = self
            .send(
                "InitiateMultipartUpload",
                Method::POST,
                key,
                "uploads",
                Body::Empty,
            )
            .await?;
        xml_tag(&xml, "UploadId").map(str::to_owned).ok_or_else(|| {
            StoreError::new(
                StoreErrorKind::Other,
                format!("OSS InitiateMultipartUpload {key}"),
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
        let query = format!("partNumber={number}&uploadId={}", uri_encode(upload_id));
        let (_, h, _) = self
            .send(
                "UploadPart",
                Method::PUT,
                key,
                &query,
                Body::File(source.clone()),
            )
            .await?;
        Ok(etag(&h))
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<String> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (n, e) in parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                e.replace('&', "&amp;").replace('<', "&lt;")
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let query = format!("uploadId={}", uri_encode(upload_id));
        let (_, h, body) = self
            .send(
                "CompleteMultipartUpload",
                Method::POST,
                key,
                &query,
                Body::Xml(xml),
            )
            .await?;
        let from_body = xml_tag(&body, "ETag").map(|e| e.replace("&quot;", "\""));
        Ok(from_body.unwrap_or_else(|| etag(&h)))
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<()> {
        let query = format!("uploadId={}", uri_encode(upload_id));
        self.send(
            "AbortMultipartUpload",
            Method::DELETE,
            key,
            &query,
            Body::Empty,
        )
        .await
        .map(drop)
    }

    async fn list_multipart_uploads(&self, prefix: &str) -> Result<Vec<OpenUpload>> {
        let mut open = Vec::new();
        let mut markers = String::new();
        for _ in 0..MAX_LIST_PAGES {
            let query = format!("uploads&prefix={}{markers}", uri_encode(prefix));
            let (_, _, xml) = self
                .send("ListMultipartUploads", Method::GET, "", &query, Body::Empty)
                .await
                .map_err(|e| e.context(format!("OSS ListMultipartUploads {prefix}")))?;
            for upload in xml.split("<Upload>").skip(1) {
                let field = |name| xml_tag(upload, name).map(unescape);
                if let (Some(key), Some(upload_id)) = (field("Key"), field("UploadId")) {
                    open.push(OpenUpload {
                        key,
                        upload_id,
                        initiated: field("Initiated")
                            .and_then(|t| terra_types::time::parse_rfc3339(&t))
                            .unwrap_or(std::time::UNIX_EPOCH),
                    });
                }
            }
            if xml_tag(&xml, "IsTruncated") != Some("true") {
                break;
            }
            let next = |name| xml_tag(&xml, name).map(unescape).unwrap_or_default();
            let (key, id) = (next("NextKeyMarker"), next("NextUploadIdMarker"));
            if key.is_empty() {
                break;
            }
            markers = format!(
                "&key-marker={}&upload-id-marker={}",
                uri_encode(&key),
                uri_encode(&id)
            );
        }
        Ok(open)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self
            .send("HeadObject", Method::HEAD, key, "", Body::Empty)
            .await
        {
            Ok((_, h, _)) => {
                let size = h
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok(Some(ObjectInfo {
                    size,
                    etag: etag(&h),
                }))
            }
            Err(e) if e.kind() == StoreErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.send("DeleteObject", Method::DELETE, key, "", Body::Empty)
            .await
            .map(drop)
    }

    fn bucket(&self) -> &str {
        &self.bucket
    }
}
