//! The upload engine: many files, bounded concurrency and memory, multipart above a
//! threshold, retries, and STS credentials refreshed before they expire.
//! Its inputs and outputs (items, options, events) are in `options.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{Stream, StreamExt, TryStreamExt};
use terra_types::StsToken;
use tokio::sync::Semaphore;

use crate::backend::{ObjectBackend, ProgressFn, Source};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::strays::{Strays, abort};
use crate::{AdaptiveLimit, connect};

use crate::options::{
    EventFn, SleepFn, TokenProvider, TokenRef, UploadEvent, UploadItem, UploadOptions, Uploaded,
};

/// The credentials in use and the backend built from them.
struct Session {
    token: StsToken,
    backend: Arc<dyn ObjectBackend>,
    refresh_at: SystemTime,
    id: u64,
}

struct Engine {
    provider: Arc<dyn TokenProvider>,
    opts: UploadOptions,
    events: Option<EventFn>,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
    requests: Semaphore,
    /// Permits the request semaphore holds in all (it grows and shrinks with the limit).
    permits: std::sync::Mutex<usize>,
    /// Retries so far (a completion after one makes the limit back off).
    retries: AtomicU64,
    sessions: AtomicU64,
    http: reqwest::Client,
    /// Creates whose answer was lost, and the uploads open here.
    strays: Arc<Strays>,
}

/// Uploads files with credentials from a [`TokenProvider`]. Cheap to clone.
///
/// ```no_run
/// # async fn demo(provider: std::sync::Arc<dyn terra_store::TokenProvider>) -> terra_store::Result<()> {
/// use terra_store::{UploadItem, UploadOptions, Uploader};
/// let uploader = Uploader::new(provider, UploadOptions::default())
///     .on_event(|e| eprintln!("{e:?}"));
/// let done = uploader.upload(vec![UploadItem::new("DJI_0001.JPG", "/data/flight/DJI_0001.JPG")]).await?;
/// println!("{} under {}", done[0].etag, done[0].token.callback_param);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Uploader(Arc<Engine>);

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("options", &self.0.opts)
            .finish_non_exhaustive()
    }
}

/// Releases an open multipart upload if the work is dropped (cancelled) before it ends.
struct AbortGuard {
    backend: Arc<dyn ObjectBackend>,
    key: String,
    upload_id: Option<String>,
    sleep: SleepFn,
    strays: Arc<Strays>,
}

impl AbortGuard {
    async fn abort_now(mut self) {
        if let Some(id) = self.upload_id.take() {
            abort(
                self.backend.clone(),
                self.key.clone(),
                id.clone(),
                self.sleep.clone(),
            )
            .await;
            self.strays.ended(&id);
        }
    }

    fn disarm(mut self) {
        if let Some(id) = self.upload_id.take() {
            self.strays.ended(&id);
        }
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(id) = self.upload_id.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let (backend, key, strays) =
                (self.backend.clone(), self.key.clone(), self.strays.clone());
            let sleep = self.sleep.clone();
            handle.spawn(async move {
                abort(backend, key, id.clone(), sleep).await;
                strays.ended(&id);
            });
        }
    }
}

impl Uploader {
    /// An uploader.
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
    /// let uploader = terra_store::Uploader::new(provider, opts);
    /// let token = uploader.current_token().await?; // fetched on first use
    /// assert!(token.store_path.ends_with("{fileName}"));
    /// # Ok(()) }
    /// ```
    pub fn new(provider: Arc<dyn TokenProvider>, opts: UploadOptions) -> Self {
        let http = opts.backend.http.clone().unwrap_or_else(|| {
            reqwest::Client::builder()
                .connect_timeout(crate::CONNECT_TIMEOUT)
                .build()
                .expect("a default HTTP client builds")
        });
        Self(Arc::new(Engine {
            provider,
            requests: Semaphore::new(opts.requests_in_flight.max(1)),
            permits: std::sync::Mutex::new(opts.requests_in_flight.max(1)),
            retries: AtomicU64::new(0),
            opts,
            events: None,
            session: tokio::sync::Mutex::new(None),
            sessions: AtomicU64::new(0),
            http,
            strays: Arc::default(),
        }))
    }

    /// Sends progress to `f`.
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
    /// use std::sync::{Arc, Mutex};
    /// use terra_store::{UploadEvent, UploadItem, Uploader};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let uploader = Uploader::new(provider, opts).on_event(move |e| {
    ///     if let UploadEvent::Done(u) = e {
    ///         log.lock().unwrap().push(u.name);
    ///     }
    /// });
    /// uploader.upload(vec![UploadItem::new("DJI_0001.JPG", &photo)]).await?;
    /// assert_eq!(*seen.lock().unwrap(), ["DJI_0001.JPG"]);
    /// # Ok(()) }
    /// ```
    pub fn on_event(self, f: impl Fn(UploadEvent) + Send + Sync + 'static) -> Self {
        let mut engine = Arc::try_unwrap(self.0)
            .unwrap_or_else(|_| panic!("on_event must be called before the uploader is cloned"));
        engine.events = Some(Arc::new(f));
        Self(Arc::new(engine))
    }

    /// Uploads every item; stops at the first file that fails for good (aborting open
    /// multipart uploads). The order of the result is the order of completion.
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
    /// use terra_store::{StoreErrorKind, UploadItem, Uploader};
    /// let uploader = Uploader::new(provider, opts);
    /// let done = uploader.upload(vec![UploadItem::new("DJI_0001.JPG", &photo)]).await?;
    /// assert_eq!(done[0].size, 300_000);
    /// // A file that is not there fails with a local error, before anything is sent.
    /// let err = uploader.upload(vec![UploadItem::new("gone.jpg", dir.path().join("gone.jpg"))]).await.unwrap_err();
    /// assert_eq!(err.kind(), StoreErrorKind::Io);
    /// # Ok(()) }
    /// ```
    pub async fn upload(&self, items: Vec<UploadItem>) -> Result<Vec<Uploaded>> {
        self.upload_stream(items).try_collect().await
    }

    /// Uploads every item, yielding each result as it completes (`files_in_flight` at a
    /// time at first, then as many as the link rewards; see [`UploadOptions`]), so a
    /// caller can record progress durably and decide what to do on failures.
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
    /// use futures::StreamExt;
    /// use terra_store::{UploadItem, Uploader};
    /// let items = vec![
    ///     UploadItem::new("DJI_0001.JPG", &photo),
    ///     UploadItem::new("missing.JPG", dir.path().join("missing.JPG")),
    /// ];
    /// let mut results = Uploader::new(provider, opts).upload_stream(items);
    /// let (mut ok, mut failed) = (0, 0);
    /// while let Some(r) = results.next().await {
    ///     match r {
    ///         Ok(_) => ok += 1,     // record it durably here
    ///         Err(_) => failed += 1, // and keep going with the others
    ///     }
    /// }
    /// assert_eq!((ok, failed), (1, 1));
    /// # Ok(()) }
    /// ```
    pub fn upload_stream(
        &self,
        items: Vec<UploadItem>,
    ) -> impl Stream<Item = Result<Uploaded>> + Send + Unpin + 'static {
        let engine = self.0.clone();
        let start = engine.opts.files_in_flight.max(1);
        let ceiling = engine.max_files_in_flight();
        let limit = AdaptiveLimit::new(start, ceiling, engine.elapsed());
        let state = Scheduler {
            uploader: self.clone(),
            pending: items.into_iter(),
            running: futures::stream::FuturesUnordered::new(),
            limit,
            retries_seen: 0,
        };
        futures::stream::unfold(state, |mut s| async move {
            while s.running.len() < s.limit.now() {
                let Some(item) = s.pending.next() else { break };
                s.running
                    .push(Box::pin(s.uploader.clone().upload_one(item)));
            }
            let Some(result) = s.running.next().await else {
                // The end of the run: uploads whose create answer was lost are aborted.
                s.uploader.abort_strays().await;
                return None;
            };
            let engine = &s.uploader.0;
            let retries = engine.retries.load(Ordering::Relaxed);
            let retried = retries > s.retries_seen;
            s.retries_seen = retries;
            let bytes = result.as_ref().map_or(0, |u| u.size);
            s.limit.completed(bytes, retried, engine.elapsed());
            engine.set_requests_for(s.limit.now());
            Some((result, s))
        })
        .boxed()
    }

    /// Aborts the multipart uploads whose create answer was lost (the storage began them,
    /// this uploader saw a 5xx, a timeout or a reset and began another): it lists the
    /// uploads open under each such key and aborts those begun within the create's time
    /// window (15 minutes of clock difference allowed) that it is not using. The end of
    /// every [`Uploader::upload_stream`] does this by itself; call it after a run was
    /// cancelled. Returns how many it aborted, each also an [`UploadEvent::StrayAborted`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().start().await?);
    /// # let dir = tempfile::tempdir()?;
    /// # let las = dir.path().join("cloud.las");
    /// # std::fs::write(&las, vec![7u8; 6 << 20])?;
    /// # let m = mock.clone();
    /// # let provider = std::sync::Arc::new(terra_store::FnTokenProvider::new(move || {
    /// #     let t = m.issue_token(m.app_key()).ok_or_else(|| terra_store::BoxError::from("unknown account"));
    /// #     async move { t }
    /// # }));
    /// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
    /// use terra_mock::{Fault, FaultRule, FaultScope};
    /// use terra_store::{UploadItem, UploadOptions, Uploader};
    /// // The first create of every multipart upload is made, and its answer lost.
    /// mock.inject(FaultRule::on("POST", "/**/cloud.las").scope(FaultScope::Storage).times(1).fault(Fault::ResetAfterProcessing));
    /// let opts = UploadOptions { multipart_threshold: 5 << 20, part_size: 5 << 20, backend, ..Default::default() };
    /// let uploader = Uploader::new(provider, opts);
    /// uploader.upload(vec![UploadItem::new("cloud.las", &las)]).await?;
    /// assert_eq!(mock.open_multipart_uploads(), 0, "the lost one was found and aborted");
    /// assert_eq!(uploader.abort_strays().await, 0, "nothing left to do");
    /// # Ok(()) }
    /// ```
    pub async fn abort_strays(&self) -> usize {
        let aborted = self.0.strays.sweep(&self.0.opts.sleep).await;
        for (key, upload_id) in &aborted {
            self.0.emit(UploadEvent::StrayAborted {
                key: key.clone(),
                upload_id: upload_id.clone(),
            });
        }
        aborted.len()
    }

    /// The credentials currently in use, refreshed if due.
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
    /// let uploader = terra_store::Uploader::new(provider, opts);
    /// let first = uploader.current_token().await?;
    /// assert_eq!(uploader.current_token().await?.access_key_id, first.access_key_id, "cached");
    /// # Ok(()) }
    /// ```
    pub async fn current_token(&self) -> Result<StsToken> {
        Ok(self.0.session().await?.token.clone())
    }

    async fn upload_one(self, item: UploadItem) -> Result<Uploaded> {
        let work = self.0.upload(item.clone());
        match &self.0.opts.cancel {
            Some(c) => tokio::select! {
                () = c.cancelled() => Err(StoreError::new(StoreErrorKind::Cancelled, format!("upload {}", item.name), "cancelled")),
                r = work => r,
            },
            None => work.await,
        }
    }
}

/// The state of [`Uploader::upload_stream`]: files waiting, files in flight, the limit.
struct Scheduler {
    uploader: Uploader,
    pending: std::vec::IntoIter<UploadItem>,
    running: futures::stream::FuturesUnordered<
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Uploaded>> + Send>>,
    >,
    limit: AdaptiveLimit,
    retries_seen: u64,
}

impl Engine {
    /// Time on the uploader's clock since the epoch (the limit only takes differences).
    fn elapsed(&self) -> Duration {
        (self.opts.now)()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// Requests per file at the start (16 for 8 by default), and the most requests the
    /// memory budget holds.
    fn max_requests(&self) -> usize {
        let start = self.opts.requests_in_flight.max(1);
        let budget = (self.opts.memory_budget / crate::backend::CHUNK as u64) as usize;
        budget.max(start)
    }

    /// The most files in flight: as many as leave each its starting share of requests.
    fn max_files_in_flight(&self) -> usize {
        let files = self.opts.files_in_flight.max(1);
        if self.opts.memory_budget == 0 {
            return files;
        }
        let per_file = self.opts.requests_in_flight.max(1).div_ceil(files).max(1);
        (self.max_requests() / per_file).max(files)
    }

    /// Resizes the request semaphore for `files` in flight.
    fn set_requests_for(&self, files: usize) {
        if self.opts.memory_budget == 0 {
            return;
        }
        let start_files = self.opts.files_in_flight.max(1);
        let start = self.opts.requests_in_flight.max(1);
        let want = (files * start)
            .div_ceil(start_files)
            .clamp(start, self.max_requests());
        let mut have = self.permits.lock().expect("permits lock");
        if want > *have {
            self.requests.add_permits(want - *have);
            *have = want;
        } else if want < *have {
            // Only idle permits can go now; the rest stay until the next resize.
            *have -= self.requests.forget_permits(*have - want);
        }
    }

    fn emit(&self, e: UploadEvent) {
        if let Some(f) = &self.events {
            f(e);
        }
    }

    async fn session(&self) -> Result<Arc<Session>> {
        let mut current = self.session.lock().await;
        let now = (self.opts.now)();
        if let Some(s) = current.as_ref().filter(|s| now < s.refresh_at) {
            return Ok(s.clone());
        }
        let token = self.provider.token().await.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Token,
                "obtain STS credentials",
                e.to_string(),
            )
            .with_boxed_source(e)
        })?;
        let expires = UNIX_EPOCH + Duration::from_secs(token.expire_time.max(0) as u64);
        let lifetime = expires.duration_since(now).unwrap_or_default();
        let margin = self.opts.refresh_margin.min(lifetime / 3);
        let backend = connect(&token, &self.opts.backend, self.http.clone())?;
        let session = Arc::new(Session {
            refresh_at: expires - margin,
            backend,
            id: self.sessions.fetch_add(1, Ordering::Relaxed),
            token,
        });
        tracing::info!(
            prefix = session.token.key_prefix(),
            expire_time = session.token.expire_time,
            "new STS credentials"
        );
        self.emit(UploadEvent::TokenRefreshed {
            prefix: session.token.key_prefix().to_owned(),
            expire_time: session.token.expire_time,
        });
        *current = Some(session.clone());
        Ok(session)
    }

    async fn invalidate(&self, id: u64) {
        let mut current = self.session.lock().await;
        if current.as_ref().is_some_and(|s| s.id == id) {
            *current = None;
        }
    }

    fn delay(&self, previous: Option<Duration>) -> Duration {
        let lo = self.opts.backoff_initial.as_secs_f64();
        let hi = previous.map_or(lo * 3.0, |p| p.as_secs_f64() * 3.0).max(lo);
        Duration::from_secs_f64(
            (lo + (hi - lo) * rand::random::<f64>()).min(self.opts.backoff_max.as_secs_f64()),
        )
    }

    async fn upload(&self, item: UploadItem) -> Result<Uploaded> {
        let ctx = || format!("upload {} ({})", item.name, item.path.display());
        let meta = tokio::fs::metadata(&item.path).await.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Io,
                ctx(),
                format!("cannot read the file: {e}"),
            )
        })?;
        if !meta.is_file() {
            return Err(StoreError::new(
                StoreErrorKind::Io,
                ctx(),
                "not a regular file",
            ));
        }
        let size = meta.len();
        self.emit(UploadEvent::Started {
            name: item.name.clone(),
            size,
        });
        let (mut attempt, mut refreshes, mut previous) = (1u32, 0u32, None);
        loop {
            let session = self.session().await?;
            let key = session.token.object_key(&item.name);
            let sent = Arc::new(AtomicU64::new(0));
            let progress: ProgressFn = {
                let (sent, events, name) = (sent.clone(), self.events.clone(), item.name.clone());
                Arc::new(move |n| {
                    sent.fetch_add(n, Ordering::Relaxed);
                    if let Some(f) = &events {
                        f(UploadEvent::Progress {
                            name: name.clone(),
                            bytes: n,
                        });
                    }
                })
            };
            let result = if size >= self.opts.multipart_threshold && size > 0 {
                self.multipart(&session, &key, &item, size, &progress).await
            } else {
                let source = Source {
                    path: item.path.clone(),
                    offset: 0,
                    len: size,
                    progress: Some(progress.clone()),
                };
                let _permit = self
                    .requests
                    .acquire()
                    .await
                    .expect("semaphore never closed");
                session.backend.put(&key, &source).await
            };
            let err = match result {
                Ok(etag) => {
                    let done = Uploaded {
                        name: item.name.clone(),
                        key,
                        size,
                        etag,
                        token: TokenRef::of(&session.token),
                    };
                    self.emit(UploadEvent::Done(done.clone()));
                    return Ok(done);
                }
                Err(e) => e,
            };
            let rewound = sent.load(Ordering::Relaxed);
            if err.kind() == StoreErrorKind::Credentials
                && refreshes < self.opts.max_token_refreshes
            {
                refreshes += 1;
                tracing::info!(name = %item.name, error = %err, "credentials refused; obtaining new ones");
                self.invalidate(session.id).await;
            } else if err.is_transient() && attempt < self.opts.max_attempts {
                let d = self.delay(previous);
                previous = Some(d);
                tracing::warn!(name = %item.name, attempt, error = %err, delay_ms = d.as_millis() as u64, "retrying");
                (self.opts.sleep)(d).await;
            } else {
                self.emit(UploadEvent::Failed {
                    name: item.name.clone(),
                    error: err.to_string(),
                });
                return Err(err.context(ctx()));
            }
            attempt += 1;
            self.retries.fetch_add(1, Ordering::Relaxed);
            self.emit(UploadEvent::Retrying {
                name: item.name.clone(),
                attempt,
                rewound,
                error: err.to_string(),
            });
        }
    }

    async fn multipart(
        &self,
        session: &Session,
        key: &str,
        item: &UploadItem,
        size: u64,
        progress: &ProgressFn,
    ) -> Result<String> {
        let part_size = self.opts.part_size.max(size.div_ceil(10_000)).max(1);
        let count = size.div_ceil(part_size);
        let upload_id = {
            let _permit = self
                .requests
                .acquire()
                .await
                .expect("semaphore never closed");
            let sent = (self.opts.now)();
            match session.backend.create_multipart(key).await {
                Ok(id) => {
                    self.strays.begun(&id);
                    id
                }
                Err(e) => {
                    // A 5xx, a timeout or a reset: the storage may have begun it anyway.
                    if e.is_transient() {
                        let failed = (self.opts.now)();
                        self.strays.lost(session.backend.clone(), key, sent, failed);
                    }
                    return Err(e);
                }
            }
        };
        let guard = AbortGuard {
            backend: session.backend.clone(),
            key: key.to_owned(),
            upload_id: Some(upload_id.clone()),
            sleep: self.opts.sleep.clone(),
            strays: self.strays.clone(),
        };
        let parts = futures::stream::iter(1..=count)
            .map(|n| {
                let offset = (n - 1) * part_size;
                let source = Source {
                    path: item.path.clone(),
                    offset,
                    len: part_size.min(size - offset),
                    progress: Some(progress.clone()),
                };
                let (backend, upload_id) = (session.backend.clone(), upload_id.clone());
                async move {
                    let etag = self
                        .part(&*backend, key, &upload_id, n as u32, &source)
                        .await?;
                    Ok::<_, StoreError>((n as u32, etag))
                }
            })
            .buffer_unordered(self.opts.requests_in_flight.max(1))
            .try_collect::<Vec<_>>()
            .await;
        let mut parts = match parts {
            Ok(p) => p,
            Err(e) => {
                guard.abort_now().await;
                return Err(e);
            }
        };
        parts.sort_by_key(|p| p.0);
        let completed = {
            let _permit = self
                .requests
                .acquire()
                .await
                .expect("semaphore never closed");
            session
                .backend
                .complete_multipart(key, &upload_id, &parts)
                .await
        };
        match completed {
            Ok(etag) => {
                guard.disarm();
                Ok(etag)
            }
            Err(e) => {
                guard.abort_now().await;
                Err(e)
            }
        }
    }

    /// One part, retried on transient errors (credential errors end the object's attempt).
    async fn part(
        &self,
        backend: &dyn ObjectBackend,
        key: &str,
        upload_id: &str,
        n: u32,
        source: &Source,
    ) -> Result<String> {
        let (mut attempt, mut previous) = (1, None);
        loop {
            let r = {
                let _permit = self
                    .requests
                    .acquire()
                    .await
                    .expect("semaphore never closed");
                backend.put_part(key, upload_id, n, source).await
            };
            match r {
                Err(e) if e.is_transient() && attempt < self.opts.max_attempts => {
                    attempt += 1;
                    let d = self.delay(previous);
                    previous = Some(d);
                    tracing::warn!(%key, part = n, error = %e, "retrying a part");
                    (self.opts.sleep)(d).await;
                }
                other => return other,
            }
        }
    }
}
