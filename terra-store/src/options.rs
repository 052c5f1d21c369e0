//! What the upload engine takes and gives: items, options, events, the token provider.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use terra_types::StsToken;
use tokio_util::sync::CancellationToken;

use crate::BackendOptions;

/// Errors of a token provider.
///
/// ```
/// let e: terra_store::BoxError = "the TerraAPI account is disabled".into();
/// assert_eq!(e.to_string(), "the TerraAPI account is disabled");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where STS credentials come from: `obtain_token` of the TerraAPI client, or anything
/// else that hands out an [`StsToken`].
///
/// ```
/// use terra_store::{BoxError, TokenProvider};
/// use terra_types::StsToken;
///
/// /// Tokens from an earlier `obtain_token`, saved as JSON (e.g. by `terra token --json`).
/// struct Saved(std::path::PathBuf);
///
/// #[async_trait::async_trait]
/// impl TokenProvider for Saved {
///     async fn token(&self) -> Result<StsToken, BoxError> {
///         let text = tokio::fs::read_to_string(&self.0).await?;
///         Ok(serde_json::from_str(&text)?)
///     }
/// }
/// # let _ = Saved("token.json".into());
/// ```
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// A fresh token (a new session with its own `storePath` and `callbackParam`).
    async fn token(&self) -> std::result::Result<StsToken, BoxError>;
}

/// A token provider from an async closure.
///
/// ```
/// use terra_store::{FnTokenProvider, TokenProvider};
/// let provider = FnTokenProvider::new(|| async {
///     Err::<terra_types::StsToken, terra_store::BoxError>("no account configured".into())
/// });
/// # let _ = provider;
/// ```
pub struct FnTokenProvider<F>(F);

impl<F> std::fmt::Debug for FnTokenProvider<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnTokenProvider")
    }
}

impl<F> FnTokenProvider<F> {
    /// Wraps `f`.
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
    /// use terra_store::{BoxError, FnTokenProvider, UploadItem, Uploader};
    /// let m = mock.clone();
    /// let tokens = FnTokenProvider::new(move || {
    ///     let token = m.issue_token(m.app_key()).ok_or_else(|| BoxError::from("unknown account"));
    ///     async move { token }
    /// });
    /// let done = Uploader::new(std::sync::Arc::new(tokens), opts)
    ///     .upload(vec![UploadItem::new("DJI_0001.JPG", &photo)])
    ///     .await?;
    /// assert_eq!(done.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn new(f: F) -> Self {
        Self(f)
    }
}

#[async_trait::async_trait]
impl<F, Fut> TokenProvider for FnTokenProvider<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: std::future::Future<Output = std::result::Result<StsToken, BoxError>> + Send,
{
    async fn token(&self) -> std::result::Result<StsToken, BoxError> {
        (self.0)().await
    }
}

/// One file to upload: the relative name (with `/` separators, as the callback expects)
/// and the local path.
///
/// ```
/// let item = terra_store::UploadItem::new("survey/DJI_0001.JPG", "/data/flight/survey/DJI_0001.JPG");
/// assert_eq!(item.name, "survey/DJI_0001.JPG");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadItem {
    /// Relative name, substituted for `{fileName}`.
    pub name: String,
    /// Local file.
    pub path: PathBuf,
}

impl UploadItem {
    /// An item; backslashes in `name` become `/`.
    ///
    /// ```
    /// let item = terra_store::UploadItem::new(r"survey\DJI_0001.JPG", r"D:\flight\survey\DJI_0001.JPG");
    /// assert_eq!(item.name, "survey/DJI_0001.JPG");
    /// ```
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into().replace('\\', "/"),
            path: path.into(),
        }
    }
}

/// The token an object was uploaded under: its key prefix and the `callbackParam` that
/// must be sent with it in `upload_callback`.
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
/// use terra_store::{UploadItem, Uploader};
/// let done = Uploader::new(provider, opts).upload(vec![UploadItem::new("DJI_0001.JPG", &photo)]).await?;
/// let t = &done[0].token;
/// assert!(done[0].key.starts_with(&t.prefix));
/// assert!(!t.callback_param.is_empty()); // send this with the file in upload_callback
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenRef {
    /// `storePath` before `{fileName}`.
    pub prefix: String,
    /// The token's `callbackParam`.
    pub callback_param: String,
    /// The token's `expireTime` (Unix seconds).
    pub expire_time: i64,
}

impl TokenRef {
    pub(crate) fn of(t: &StsToken) -> Self {
        Self {
            prefix: t.key_prefix().to_owned(),
            callback_param: t.callback_param.clone(),
            expire_time: t.expire_time,
        }
    }
}

/// An uploaded object.
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
/// use terra_store::{UploadItem, Uploader};
/// use terra_types::CallbackFile;
/// let done = Uploader::new(provider, opts).upload(vec![UploadItem::new("DJI_0001.JPG", &photo)]).await?;
/// let u = &done[0];
/// assert_eq!((u.name.as_str(), u.size), ("DJI_0001.JPG", 300_000));
/// let for_callback = CallbackFile::new(u.name.clone(), u.etag.clone());
/// # let _ = for_callback;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Uploaded {
    /// Relative name (as in the callback).
    pub name: String,
    /// Object key.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// ETag as the storage returned it (send it as `etag` and `checksum`).
    pub etag: String,
    /// The token it was uploaded under.
    pub token: TokenRef,
}

/// Progress of an upload.
///
/// ```
/// use terra_store::UploadEvent;
/// fn log(e: UploadEvent) {
///     match e {
///         UploadEvent::Retrying { name, attempt, error, .. } => eprintln!("{name}: attempt {attempt} after {error}"),
///         UploadEvent::TokenRefreshed { prefix, .. } => eprintln!("new credentials for {prefix}"),
///         UploadEvent::Failed { name, error } => eprintln!("{name} failed: {error}"),
///         _ => {}
///     }
/// }
/// # let _ = log;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadEvent {
    /// A file is being uploaded.
    Started {
        /// Relative name.
        name: String,
        /// Bytes.
        size: u64,
    },
    /// Bytes of a file handed to the network.
    Progress {
        /// Relative name.
        name: String,
        /// Bytes in this chunk.
        bytes: u64,
    },
    /// A file is tried again; `rewound` bytes reported for it before will be sent again.
    Retrying {
        /// Relative name.
        name: String,
        /// The next attempt (from 2).
        attempt: u32,
        /// Bytes to subtract from a progress total.
        rewound: u64,
        /// Why.
        error: String,
    },
    /// New credentials were obtained.
    TokenRefreshed {
        /// The new `storePath` prefix.
        prefix: String,
        /// Their `expireTime`.
        expire_time: i64,
    },
    /// A file is uploaded.
    Done(Uploaded),
    /// A file failed for good.
    Failed {
        /// Relative name.
        name: String,
        /// Why.
        error: String,
    },
    /// A multipart upload whose create answer was lost was found open and aborted.
    StrayAborted {
        /// Its object key.
        key: String,
        /// Its id.
        upload_id: String,
    },
}

/// Receives [`UploadEvent`]s (from many tasks: keep it quick).
///
/// ```
/// let f: terra_store::EventFn = std::sync::Arc::new(|e| eprintln!("{e:?}"));
/// # let _ = f;
/// ```
pub type EventFn = Arc<dyn Fn(UploadEvent) + Send + Sync>;

/// How [`UploadOptions::sleep`] waits: a future that completes after the duration.
pub type SleepFn = Arc<
    dyn Fn(Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Settings of the upload engine. Peak memory is bounded by `memory_budget` (the chunk
/// buffers of the requests in flight, 256 KiB each at most) plus the HTTP clients' own
/// buffers, whatever the number or size of the files.
///
/// The numbers in flight adapt to the link: they start at `files_in_flight` and
/// `requests_in_flight`, grow (fourfold at first, then twofold) while each round of
/// completed files brings more bytes per second than the one before (a long round trip
/// needs many requests at once), halve when a file had to be retried (429, 5xx, a reset),
/// and never pass what `memory_budget` holds (see [`AdaptiveLimit`](crate::AdaptiveLimit)).
///
/// ```
/// use std::time::Duration;
/// use terra_store::UploadOptions;
/// // A thin uplink: fewer requests at once, smaller parts, patient retries.
/// let opts = UploadOptions {
///     files_in_flight: 2,
///     requests_in_flight: 4,
///     part_size: 8 * 1024 * 1024,
///     max_attempts: 8,
///     backoff_max: Duration::from_secs(30),
///     ..Default::default()
/// };
/// # let _ = opts;
/// ```
#[derive(Clone)]
pub struct UploadOptions {
    /// Files uploaded at the same time at first (default 8).
    pub files_in_flight: usize,
    /// Requests (single puts and parts) in flight over all files at first (default 16).
    pub requests_in_flight: usize,
    /// Bytes the requests in flight may buffer (default 64 MiB: 256 requests of 256 KiB).
    /// The numbers in flight grow up to it; 0 keeps them at their starting values.
    pub memory_budget: u64,
    /// Files of at least this size use multipart (default 64 MiB).
    pub multipart_threshold: u64,
    /// Part size (default 16 MiB; raised to stay within 10 000 parts).
    pub part_size: u64,
    /// Attempts per object or part for transient errors (default 5).
    pub max_attempts: u32,
    /// New credentials an object may ask for (default 10).
    pub max_token_refreshes: u32,
    /// First backoff delay (default 200 ms).
    pub backoff_initial: Duration,
    /// Largest backoff delay (default 10 s).
    pub backoff_max: Duration,
    /// Refresh credentials this long before `expireTime` (default 60 s; at most a third of
    /// the token's lifetime).
    pub refresh_margin: Duration,
    /// How to reach the storage.
    pub backend: BackendOptions,
    /// The clock `expireTime` is compared with (default the system clock).
    pub now: Arc<dyn Fn() -> SystemTime + Send + Sync>,
    /// How a retry waits out its backoff (default tokio's timer). A test, or a client with
    /// a clock of its own, makes time pass its way.
    pub sleep: SleepFn,
    /// Cancels the upload; open multipart uploads are aborted.
    pub cancel: Option<CancellationToken>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("files_in_flight", &self.files_in_flight)
            .field("requests_in_flight", &self.requests_in_flight)
            .field("memory_budget", &self.memory_budget)
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("max_attempts", &self.max_attempts)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            files_in_flight: 8,
            requests_in_flight: 16,
            memory_budget: 64 * 1024 * 1024,
            multipart_threshold: 64 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            max_attempts: 5,
            max_token_refreshes: 10,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            refresh_margin: Duration::from_secs(60),
            backend: BackendOptions::default(),
            now: Arc::new(SystemTime::now),
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            cancel: None,
        }
    }
}
