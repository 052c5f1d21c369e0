//! [`TerraMock`]: the emulator as a test harness (in-process, random port) or a server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use terra_types::{File, Job, Resource, StsToken};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{Inner, Mock};
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::config::{
    AccountConfig, ErrorStatus, JobTiming, MinimalCreate, MockConfig, Provider, RandomFaults,
};
use crate::faults::FaultRule;
use crate::record::RecordedRequest;
use crate::state::{JobFailure, bucket_of, file_view, job_view, resource_view};
use crate::storage::ObjectMeta;

/// Configures a [`TerraMock`]. Every setting of [`MockConfig`] has a method; the rest can
/// be set with [`TerraMockBuilder::config`].
#[derive(Debug, Clone)]
pub struct TerraMockBuilder {
    cfg: MockConfig,
    clock: Option<Arc<dyn Clock>>,
    manual: Option<ManualClock>,
    addr: SocketAddr,
}

impl Default for TerraMockBuilder {
    fn default() -> Self {
        Self {
            cfg: MockConfig::default(),
            clock: None,
            manual: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl TerraMockBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, cfg: MockConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// Replaces the accounts with a single one.
    pub fn account(mut self, app_key: &str, secret: &str, provider: Provider) -> Self {
        self.cfg.accounts = vec![AccountConfig {
            app_key: app_key.into(),
            secret: secret.into(),
            provider,
        }];
        self
    }

    /// Adds an account.
    pub fn add_account(mut self, app_key: &str, secret: &str, provider: Provider) -> Self {
        self.cfg.accounts.push(AccountConfig {
            app_key: app_key.into(),
            secret: secret.into(),
            provider,
        });
        self
    }

    /// The storage provider of every configured account.
    pub fn provider(mut self, provider: Provider) -> Self {
        for a in &mut self.cfg.accounts {
            a.provider = provider;
        }
        self
    }

    /// Runs on a [`ManualClock`] (see [`TerraMock::advance`]).
    pub fn manual_clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(Arc::new(clock.clone()));
        self.manual = Some(clock);
        self
    }

    /// Runs on any clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self.manual = None;
        self
    }

    /// Stage durations of jobs.
    pub fn timing(mut self, timing: JobTiming) -> Self {
        self.cfg.timing = timing;
        self
    }

    /// Lifetime of STS credentials (default 600 s).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.cfg.token_lifetime_secs = d.as_secs().max(1);
        self
    }

    /// Lifetime of download links (default 1 h).
    pub fn download_url_ttl(mut self, d: Duration) -> Self {
        self.cfg.download_url_ttl_secs = d.as_secs().max(1);
        self
    }

    /// Allowed clock skew of signed requests (default 300 s).
    pub fn clock_skew(mut self, d: Duration) -> Self {
        self.cfg.clock_skew_secs = d.as_secs();
        self
    }

    /// Require `Digest` to match the body.
    pub fn strict_digest(mut self, on: bool) -> Self {
        self.cfg.strict_digest = on;
        self
    }

    /// Running jobs per account before 801.
    pub fn max_running_jobs(mut self, n: usize) -> Self {
        self.cfg.max_running_jobs = n;
        self
    }

    /// Job starts per account before 102116.
    pub fn job_quota(mut self, n: u64) -> Self {
        self.cfg.job_quota = Some(n);
        self
    }

    /// Most files per `upload_callback`.
    pub fn callback_batch_limit(mut self, n: usize) -> Self {
        self.cfg.callback_batch_limit = n;
        self
    }

    /// HTTP status of business errors.
    pub fn error_status(mut self, s: ErrorStatus) -> Self {
        self.cfg.error_status = s;
        self
    }

    /// `data` of creates without `Return-Detail`.
    pub fn minimal_create(mut self, m: MinimalCreate) -> Self {
        self.cfg.minimal_create = m;
        self
    }

    /// Random faults from the start.
    pub fn random_faults(mut self, f: RandomFaults) -> Self {
        self.cfg.random_faults = Some(f);
        self
    }

    /// The address to bind (default `127.0.0.1:0`, a random port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Builds the mock without a socket: use [`TerraMock::router`] with
    /// `tower::ServiceExt::oneshot`.
    pub fn build(self) -> std::io::Result<TerraMock> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let inner = Arc::new(Inner::new(self.cfg, clock)?);
        Ok(TerraMock {
            inner,
            manual: self.manual,
            server: None,
            addr: self.addr,
        })
    }

    /// Builds the mock and serves it on the bound address.
    pub async fn start(self) -> std::io::Result<TerraMock> {
        let addr = self.addr;
        let mut mock = self.build()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        *mock.inner.base_url.write().expect("base url lock") = format!("http://{local}");
        let (tx, rx) = oneshot::channel::<()>();
        let router = crate::app::router(mock.inner.clone());
        let task = tokio::spawn(crate::server::serve(listener, router, async move {
            let _ = rx.await;
        }));
        mock.addr = local;
        mock.server = Some(Server {
            stop: Some(tx),
            task: Some(task),
        });
        tracing::info!(%local, "terra-mock listening");
        Ok(mock)
    }
}

#[derive(Debug)]
struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Counts of one account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountStats {
    /// Resources of type map.
    pub map_resources: usize,
    /// Resources of type job_output.
    pub output_resources: usize,
    /// Files.
    pub files: usize,
    /// Jobs.
    pub jobs: usize,
    /// Job starts so far (what the quota counts).
    pub job_starts: u64,
}

/// A running (or socket-less) emulator.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let mock = terra_mock::TerraMock::start().await?;
/// println!("{} with app key {}", mock.base_url(), mock.app_key());
/// assert!(mock.base_url().starts_with("http://127.0.0.1:"));
/// mock.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TerraMock {
    inner: Mock,
    manual: Option<ManualClock>,
    server: Option<Server>,
    addr: SocketAddr,
}

impl TerraMock {
    /// A builder with the defaults (one S3 account, system clock, random port).
    pub fn builder() -> TerraMockBuilder {
        TerraMockBuilder::default()
    }

    /// Starts a default mock on a random loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>`: the API host and the storage endpoint.
    pub fn base_url(&self) -> String {
        self.inner.base_url()
    }

    /// The bound address (the requested one for a socket-less mock).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first account's app key.
    pub fn app_key(&self) -> &str {
        &self.inner.cfg.accounts[0].app_key
    }

    /// The first account's secret.
    pub fn secret(&self) -> &str {
        &self.inner.cfg.accounts[0].secret
    }

    /// The configuration in force.
    pub fn config(&self) -> &MockConfig {
        &self.inner.cfg
    }

    /// The router, for requests without a socket (`tower::ServiceExt::oneshot`). An
    /// injected reset answers 500 with `x-terra-mock-fault: reset` there.
    pub fn router(&self) -> axum::Router {
        crate::app::router(self.inner.clone())
    }

    /// The mock's current time.
    pub fn now(&self) -> SystemTime {
        self.inner.now()
    }

    /// The manual clock, if the mock runs on one.
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        self.manual.as_ref()
    }

    /// Advances the manual clock and applies every job transition now due.
    ///
    /// # Panics
    /// If the mock does not run on a [`ManualClock`].
    pub fn advance(&self, by: Duration) {
        self.manual
            .as_ref()
            .expect("advance() needs TerraMockBuilder::manual_clock")
            .advance(by);
        drop(self.inner.state());
    }

    /// Makes every STS session issued so far expire now: storage requests signed with them
    /// get ExpiredToken / 0002-00000007.
    pub fn expire_tokens_now(&self) {
        let now = self.now();
        self.inner.state().expire_sessions(now);
    }

    /// Every request received (up to `request_log_limit`), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.log.lock().expect("log lock").snapshot()
    }

    /// Forgets the received requests.
    pub fn clear_requests(&self) {
        self.inner.log.lock().expect("log lock").clear();
    }

    /// Adds a scripted fault.
    pub fn inject(&self, rule: FaultRule) {
        self.inner.faults.lock().expect("faults lock").push(rule);
    }

    /// Sets (or with `None` stops) random faults.
    pub fn set_random_faults(&self, faults: Option<RandomFaults>) {
        self.inner
            .faults
            .lock()
            .expect("faults lock")
            .set_random(faults);
    }

    /// Removes every scripted and random fault.
    pub fn clear_faults(&self) {
        self.inner.faults.lock().expect("faults lock").clear();
    }

    /// The next started job will fail as described.
    pub fn fail_next_job(&self, failure: JobFailure) {
        self.inner.state().failures.push_back(failure);
    }

    /// Fails a running job now; `false` if it is not running.
    pub fn fail_job(&self, app_key: &str, job_uuid: &str, message: &str) -> bool {
        let Ok(id) = uuid::Uuid::parse_str(job_uuid) else {
            return false;
        };
        let now = self.now();
        self.inner.state().fail_job_now(app_key, &id, message, now)
    }

    /// Issues STS credentials to an account exactly as `POST /v2/store/obtain_token`
    /// would, without an HTTP request: for tests of a storage client that have no
    /// TerraAPI client. `None` for an unknown app key.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// assert!(token.store_path.ends_with("{fileName}"));
    /// assert!(mock.issue_token("someone else").is_none());
    /// # Ok(()) }
    /// ```
    pub fn issue_token(&self, app_key: &str) -> Option<StsToken> {
        let now = self.now();
        self.inner
            .state()
            .obtain_token(app_key, now, &self.inner.cfg)
            .ok()
    }

    /// Counts of an account's state.
    pub fn stats(&self, app_key: &str) -> AccountStats {
        let s = self.inner.state();
        let Ok(a) = s.account(app_key) else {
            return AccountStats::default();
        };
        let outputs = a
            .resources
            .values()
            .filter(|r| r.kind == terra_types::ResourceType::JobOutput)
            .count();
        AccountStats {
            map_resources: a.resources.len() - outputs,
            output_resources: outputs,
            files: a.files.len(),
            jobs: a.jobs.len(),
            job_starts: a.starts,
        }
    }

    /// Every resource of an account, oldest first.
    pub fn resources(&self, app_key: &str) -> Vec<Resource> {
        let s = self.inner.state();
        s.account(app_key)
            .map(|a| a.resources.values().map(|r| resource_view(a, r)).collect())
            .unwrap_or_default()
    }

    /// The file uuids of one resource of an account.
    pub fn resource_files(&self, app_key: &str, resource: &str) -> Vec<String> {
        let s = self.inner.state();
        let Ok(id) = uuid::Uuid::parse_str(resource) else {
            return Vec::new();
        };
        s.account(app_key)
            .ok()
            .and_then(|a| a.resources.get(&id))
            .map(|r| r.files.iter().map(uuid::Uuid::to_string).collect())
            .unwrap_or_default()
    }

    /// Every file of an account, oldest first (without `url`).
    pub fn files(&self, app_key: &str) -> Vec<File> {
        let s = self.inner.state();
        s.account(app_key)
            .map(|a| a.files.values().map(|f| file_view(f, None)).collect())
            .unwrap_or_default()
    }

    /// Every job of an account, oldest first.
    pub fn jobs(&self, app_key: &str) -> Vec<Job> {
        let now = self.now();
        let s = self.inner.state();
        s.account(app_key)
            .map(|a| a.jobs.values().map(|j| job_view(j, now, true)).collect())
            .unwrap_or_default()
    }

    /// Stores an object as if it had been uploaded with `token` under `file_name` (for tests
    /// that exercise the API without a storage client).
    pub fn put_object(
        &self,
        token: &StsToken,
        file_name: &str,
        body: &[u8],
    ) -> std::io::Result<ObjectMeta> {
        self.inner.storage.put_bytes(
            &token.cloud_bucket_name,
            &token.object_key(file_name),
            body,
            None,
            self.now(),
        )
    }

    /// Metadata of a stored object of an account's bucket.
    pub fn object(&self, provider: Provider, key: &str) -> Option<ObjectMeta> {
        self.inner
            .storage
            .head(bucket_of(provider, &self.inner.cfg), key)
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn open_multipart_uploads(&self) -> usize {
        self.inner.storage.uploads_in_progress()
    }

    /// Number of objects in storage (inputs and outputs of every account).
    pub fn object_count(&self) -> usize {
        self.inner.storage.len()
    }

    /// Fills an account with `jobs` finished jobs and `files` files without going through
    /// the API; used by the memory benchmark.
    #[doc(hidden)]
    pub fn populate(&self, app_key: &str, jobs: usize, files: usize) {
        let now = self.now();
        self.inner.state().populate(app_key, jobs, files, now);
    }

    /// Stops serving and waits for open connections to finish (up to 5 s).
    pub async fn shutdown(mut self) {
        if let Some(mut server) = self.server.take() {
            if let Some(tx) = server.stop.take() {
                let _ = tx.send(());
            }
            if let Some(task) = server.task.take() {
                let _ = task.await;
            }
        }
    }
}
