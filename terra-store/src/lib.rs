//! Parallel, streaming uploads to AWS S3 and Aliyun OSS with the short-lived STS
//! credentials of DJI TerraAPI's `obtain_token` (reference §6).
//!
//! - [`ObjectBackend`]: one small trait (put a file range, multipart with explicit abort,
//!   head, delete) with an S3 backend (`aws-sdk-s3`, feature `s3`) and an OSS backend
//!   (`reqsign-aliyun-oss` + reqwest, feature `oss`); [`connect`] picks one from the
//!   token's `cloudName`.
//! - [`Uploader`]: many files with a bounded number of files and requests in flight,
//!   multipart above a threshold with abort on failure or cancellation, per-object and
//!   per-part retries with jittered backoff, credentials from a [`TokenProvider`] cached
//!   and refreshed before `expireTime` or when the storage refuses them. Every uploaded
//!   object records the token it was uploaded under, because `upload_callback` must use
//!   that token's `callbackParam`.
//!
//! Bodies are streamed from disk in 256 KiB chunks; nothing is read whole into memory.
//!
//! # Optional features
//!
//! - `s3` (default): the S3 backend.
//! - `oss` (default): the OSS backend.

mod backend;
mod engine;
mod error;
mod limit;
mod options;
#[cfg(feature = "oss")]
pub mod oss;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "s3")]
mod sigv4;
mod strays;

use std::sync::Arc;
use std::time::Duration;

pub use backend::{ObjectBackend, ObjectInfo, OpenUpload, ProgressFn, Source};
pub use engine::Uploader;
pub use error::{Result, StoreError, StoreErrorKind};
pub use limit::AdaptiveLimit;
pub use options::{
    BoxError, EventFn, FnTokenProvider, SleepFn, TokenProvider, TokenRef, UploadEvent, UploadItem,
    UploadOptions, Uploaded,
};
use terra_types::{CloudName, StsToken};
pub use tokio_util::sync::CancellationToken;

/// Default timeout of establishing a connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The OSS signature version.
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
/// use terra_store::{BackendOptions, OssSigning, Source};
/// // The older `OSS ak:signature` scheme, for gateways that only know V1.
/// let v1 = BackendOptions { oss_signing: OssSigning::V1, ..backend.clone() };
/// let oss = terra_store::connect(&token, &v1, reqwest::Client::new())?;
/// oss.put(&token.object_key("a.jpg"), &Source::file(&photo, 300_000)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OssSigning {
    /// `OSS4-HMAC-SHA256` (default).
    #[default]
    V4,
    /// `OSS ak:signature` (HMAC-SHA1).
    V1,
}

/// How a backend reaches the storage.
///
/// ```
/// use terra_store::BackendOptions;
/// // A local emulator (terra-mock, MinIO, moto) instead of the bucket's real endpoint.
/// let local = BackendOptions { endpoint: Some("http://127.0.0.1:8080".into()), ..Default::default() };
/// assert_eq!(local.path_style, None); // path style, because of the endpoint override
/// // The real service, with S3 payloads signed.
/// let signed = BackendOptions { sign_payload: true, ..Default::default() };
/// # let _ = (local, signed);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    /// Use this endpoint (`http://127.0.0.1:8080` for terra-mock) instead of the one the
    /// token implies (`https://<region>.aliyuncs.com` for OSS, the AWS regional endpoint
    /// for S3).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`). Default: on with an endpoint
    /// override, off (virtual-host style) otherwise.
    pub path_style: Option<bool>,
    /// OSS signature version.
    pub oss_signing: OssSigning,
    /// Sign S3 payloads instead of sending `UNSIGNED-PAYLOAD`: each body (a file or a
    /// part) is hashed from disk before it is sent, one extra read and SHA-256 pass
    /// (about 30 % of throughput in `cargo xtask bench upload`). OSS ignores it.
    pub sign_payload: bool,
    /// The HTTP client of the OSS backend and of the S3 backend's own PutObject (default:
    /// a new one per uploader).
    pub http: Option<reqwest::Client>,
}

pub use terra_types::encode_key;

/// A backend for a token, chosen by its `cloudName`.
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
/// use terra_types::CloudName;
/// assert_eq!(token.cloud_name, CloudName::AliOss);
/// let backend = terra_store::connect(&token, &backend, reqwest::Client::new())?;
/// assert_eq!(backend.bucket(), token.cloud_bucket_name);
/// # Ok(()) }
/// ```
pub fn connect(
    token: &StsToken,
    opts: &BackendOptions,
    http: reqwest::Client,
) -> Result<Arc<dyn ObjectBackend>> {
    match &token.cloud_name {
        #[cfg(feature = "s3")]
        CloudName::AwsS3 => Ok(Arc::new(s3::S3Backend::with_http(token, opts, http))),
        #[cfg(feature = "oss")]
        CloudName::AliOss => Ok(Arc::new(oss::OssBackend::new(token, opts, http)?)),
        other => {
            let _ = http;
            Err(StoreError::new(
                StoreErrorKind::Other,
                "choose a storage backend",
                format!(
                    "cloudName {other} is not supported by this build (features: s3 = {}, oss = {})",
                    cfg!(feature = "s3"),
                    cfg!(feature = "oss")
                ),
            ))
        }
    }
}

/// The examples of the crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
