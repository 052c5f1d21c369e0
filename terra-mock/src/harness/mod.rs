//! [`TerraMock`]: the emulator as a test harness (in-process, random port) or a server.

mod calls;
mod controls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use terra_types::{File, Job, Resource, StsToken};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::config::{
    AccountConfig, ErrorStatus, JobTiming, MinimalCreate, MockConfig, Provider, RandomFaults,
};
use crate::core::{Core, Mock};
use crate::state::views::{file_view, job_view, resource_view};
use crate::state::{AccountCell, bucket_of};
use crate::storage::ObjectMeta;

/// Configures a [`TerraMock`]. Every setting of [`MockConfig`] has a method; the rest can
/// be set with [`TerraMockBuilder::config`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use terra_mock::{Provider, TerraMock};
/// let mock = TerraMock::builder()
///     .account("my-ak", "my-sk", Provider::Oss)
///     .token_lifetime(Duration::from_secs(2))
///     .max_running_jobs(1)
///     .start()
///     .await?;
/// assert_eq!(mock.app_key(), "my-ak");
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{MockConfig, TerraMock};
    /// let cfg = MockConfig { lowercase_cloud_name: true, ..Default::default() };
    /// let mock = TerraMock::builder().config(cfg).build()?;
    /// assert!(mock.config().lowercase_cloud_name);
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, cfg: MockConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// Replaces the accounts with a single one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Provider, TerraMock};
    /// let mock = TerraMock::builder().account("ak", "sk", Provider::S3).build()?;
    /// assert_eq!((mock.app_key(), mock.secret()), ("ak", "sk"));
    /// assert!(mock.issue_token("terra-mock-ak").is_none(), "the default account is gone");
    /// # Ok(()) }
    /// ```
    pub fn account(mut self, app_key: &str, secret: &str, provider: Provider) -> Self {
        self.cfg.accounts = vec![AccountConfig::new(app_key, secret, provider)];
        self
    }

    /// Adds an account.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Provider, TerraMock};
    /// let mock = TerraMock::builder().add_account("other-ak", "other-sk", Provider::Oss).build()?;
    /// let theirs = mock.issue_token("other-ak").unwrap();
    /// let ours = mock.issue_token(mock.app_key()).unwrap();
    /// assert_ne!(theirs.cloud_bucket_name, ours.cloud_bucket_name);
    /// # Ok(()) }
    /// ```
    pub fn add_account(mut self, app_key: &str, secret: &str, provider: Provider) -> Self {
        self.cfg
            .accounts
            .push(AccountConfig::new(app_key, secret, provider));
        self
    }

    /// The storage provider of every configured account.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().provider(terra_mock::Provider::Oss).build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// assert!(token.access_key_id.starts_with("STS."));
    /// # Ok(()) }
    /// ```
    pub fn provider(mut self, provider: Provider) -> Self {
        for a in &mut self.cfg.accounts {
            a.provider = provider;
        }
        self
    }

    /// Runs on a [`ManualClock`] (see [`TerraMock::advance`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use terra_mock::{ManualClock, TerraMock};
    /// let clock = ManualClock::starting_now();
    /// let mock = TerraMock::builder().manual_clock(clock.clone()).build()?;
    /// let t0 = mock.now();
    /// mock.advance(Duration::from_secs(600));
    /// assert_eq!(mock.now(), t0 + Duration::from_secs(600));
    /// # Ok(()) }
    /// ```
    pub fn manual_clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(Arc::new(clock.clone()));
        self.manual = Some(clock);
        self
    }

    /// Runs on any clock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use terra_mock::{SystemClock, TerraMock};
    /// let mock = TerraMock::builder().clock(Arc::new(SystemClock)).build()?;
    /// assert!(mock.manual_clock().is_none());
    /// # Ok(()) }
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self.manual = None;
        self
    }

    /// Stage durations of jobs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use terra_mock::{JobTiming, TerraMock};
    /// let mock = TerraMock::builder().timing(JobTiming::lasting(Duration::from_millis(300))).build()?;
    /// assert_eq!(mock.config().timing.executing, 0.3);
    /// # Ok(()) }
    /// ```
    pub fn timing(mut self, timing: JobTiming) -> Self {
        self.cfg.timing = timing;
        self
    }

    /// Lifetime of STS credentials (default 600 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let mock = terra_mock::TerraMock::builder().token_lifetime(Duration::from_secs(2)).build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// let now = mock.now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    /// assert!(token.expire_time - now <= 2);
    /// # Ok(()) }
    /// ```
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.cfg.token_lifetime_secs = d.as_secs().max(1);
        self
    }

    /// Lifetime of download links (default 1 h).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let mock = terra_mock::TerraMock::builder().download_url_ttl(Duration::from_secs(60)).build()?;
    /// assert_eq!(mock.config().download_url_ttl_secs, 60);
    /// # Ok(()) }
    /// ```
    pub fn download_url_ttl(mut self, d: Duration) -> Self {
        self.cfg.download_url_ttl_secs = d.as_secs().max(1);
        self
    }

    /// Allowed clock skew of signed requests (default 300 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use tower::ServiceExt as _;
    /// let mock = terra_mock::TerraMock::builder().clock_skew(Duration::from_secs(30)).build()?;
    /// // Signed a minute ago: refused, as the gateway refuses skewed dates.
    /// let target = "/terra-rescon-be/v2/jobs";
    /// let signed = terra_sign::sign(
    ///     &terra_sign::SignableRequest::new("GET", target, b""),
    ///     &terra_sign::Credentials::new(mock.app_key(), mock.secret()),
    ///     &terra_sign::SigningParams::new(mock.now() - Duration::from_secs(60)),
    /// );
    /// let mut req = http::Request::builder().uri(target);
    /// for (name, value) in signed.headers() {
    ///     req = req.header(name, value);
    /// }
    /// let resp = mock.router().oneshot(req.body(axum::body::Body::empty())?).await?;
    /// assert_eq!(resp.status(), 401);
    /// # Ok(()) }
    /// ```
    pub fn clock_skew(mut self, d: Duration) -> Self {
        self.cfg.clock_skew_secs = d.as_secs();
        self
    }

    /// Require `Digest` to match the body.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().strict_digest(true).build()?;
    /// assert!(mock.config().strict_digest);
    /// # Ok(()) }
    /// ```
    pub fn strict_digest(mut self, on: bool) -> Self {
        self.cfg.strict_digest = on;
        self
    }

    /// Running jobs per account before 801.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{ManualClock, TerraMock};
    /// let mock = TerraMock::builder().manual_clock(ManualClock::starting_now()).max_running_jobs(1).build()?;
    /// mock.start_sample_job().await;
    /// let (_, j) = mock.call("POST", "/jobs", r#"{"name":"second"}"#).await;
    /// let second = j["data"]["uuid"].as_str().unwrap();
    /// # let resource = mock.resources(mock.app_key())[0].uuid.clone();
    /// let start = serde_json::json!({"type": 14, "resourceUuid": resource, "parameters": "{}"});
    /// let (_, body) = mock.call("POST", &format!("/jobs/{second}/start"), &start.to_string()).await;
    /// assert_eq!(body["result"]["code"], 801);
    /// # Ok(()) }
    /// ```
    pub fn max_running_jobs(mut self, n: usize) -> Self {
        self.cfg.max_running_jobs = n;
        self
    }

    /// Job starts per account before 102116.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{ManualClock, TerraMock};
    /// let mock = TerraMock::builder().manual_clock(ManualClock::starting_now()).job_quota(1).build()?;
    /// mock.start_sample_job().await;
    /// mock.advance(std::time::Duration::from_secs(3600));
    /// let (_, j) = mock.call("POST", "/jobs", r#"{"name":"second"}"#).await;
    /// let second = j["data"]["uuid"].as_str().unwrap();
    /// # let resource = mock.resources(mock.app_key())[0].uuid.clone();
    /// let start = serde_json::json!({"type": 14, "resourceUuid": resource, "parameters": "{}"});
    /// let (_, body) = mock.call("POST", &format!("/jobs/{second}/start"), &start.to_string()).await;
    /// assert_eq!(body["result"]["code"], 102116, "billing: the plan is used up");
    /// # Ok(()) }
    /// ```
    pub fn job_quota(mut self, n: u64) -> Self {
        self.cfg.job_quota = Some(n);
        self
    }

    /// Most files per `upload_callback`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().callback_batch_limit(100).build()?;
    /// assert_eq!(mock.config().callback_batch_limit, 100);
    /// # Ok(()) }
    /// ```
    pub fn callback_batch_limit(mut self, n: usize) -> Self {
        self.cfg.callback_batch_limit = n;
        self
    }

    /// HTTP status of business errors.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{ErrorStatus, TerraMock};
    /// let mock = TerraMock::builder().error_status(ErrorStatus::Http4xx).build()?;
    /// assert_eq!(mock.config().error_status, ErrorStatus::Http4xx);
    /// # Ok(()) }
    /// ```
    pub fn error_status(mut self, s: ErrorStatus) -> Self {
        self.cfg.error_status = s;
        self
    }

    /// `data` of creates without `Return-Detail`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{MinimalCreate, TerraMock};
    /// let mock = TerraMock::builder().minimal_create(MinimalCreate::FullObject).build()?;
    /// let (_, body) = mock.call("POST", "/jobs", r#"{"name":"survey"}"#).await;
    /// assert_eq!(body["data"]["name"], "survey");
    /// # Ok(()) }
    /// ```
    pub fn minimal_create(mut self, m: MinimalCreate) -> Self {
        self.cfg.minimal_create = m;
        self
    }

    /// Random faults from the start.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{RandomFaults, TerraMock};
    /// let faults = RandomFaults { seed: 42, error_5xx: 0.05, reset: 0.01, ..Default::default() };
    /// let mock = TerraMock::builder().random_faults(faults).build()?;
    /// assert_eq!(mock.config().random_faults.as_ref().unwrap().seed, 42);
    /// # Ok(()) }
    /// ```
    pub fn random_faults(mut self, f: RandomFaults) -> Self {
        self.cfg.random_faults = Some(f);
        self
    }

    /// Keeps state and objects under `dir` across restarts (created if missing): a mock
    /// built on a directory an earlier one used starts with what that one held, jobs having
    /// moved on meanwhile. See the README's "Persistence" section.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let first = terra_mock::TerraMock::builder().data_dir(dir.path()).build()?;
    /// let token = first.issue_token(first.app_key()).unwrap();
    /// first.put_object(&token, "a.jpg", b"photo")?;
    /// drop(first);
    /// let again = terra_mock::TerraMock::builder().data_dir(dir.path()).build()?;
    /// assert_eq!(again.object_count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.cfg.data_dir = Some(dir.into());
        self
    }

    /// The token the control API asks for (`Authorization: Bearer <token>`); with one, it
    /// answers callers from any address.
    ///
    /// ```
    /// let mock = terra_mock::TerraMock::builder().admin_token("s3cr3t").build().unwrap();
    /// assert!(format!("{:?}", mock.config()).contains("AdminToken(***)"));
    /// ```
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.cfg.admin_token = Some(crate::config::AdminToken::new(token));
        self
    }

    /// The address to bind (default `127.0.0.1:0`, a random port).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().bind("127.0.0.1:0".parse()?).start().await?;
    /// assert!(mock.addr().port() > 0);
    /// # Ok(()) }
    /// ```
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Builds the mock without a socket: use [`TerraMock::router`] with
    /// `tower::ServiceExt::oneshot`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower::ServiceExt as _;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let req = http::Request::builder().uri("/terra-rescon-be/v2/jobs").body(axum::body::Body::empty())?;
    /// let resp = mock.router().oneshot(req).await?;
    /// assert_eq!(resp.status(), 401, "unsigned");
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> std::io::Result<TerraMock> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let inner = Arc::new(Core::new(self.cfg, clock)?);
        Ok(TerraMock {
            inner,
            manual: self.manual,
            server: None,
            addr: self.addr,
            proxy: None,
        })
    }

    /// Builds the mock and serves it on the bound address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().start().await?;
    /// let resp = reqwest::get(format!("{}/terra-rescon-be/v2/jobs", mock.base_url())).await?;
    /// assert_eq!(resp.status(), 401, "a real socket, and a signature is required");
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> std::io::Result<TerraMock> {
        let addr = self.addr;
        let mut mock = self.build()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        *mock
            .inner
            .base_url
            .write()
            .unwrap_or_else(|e| e.into_inner()) = format!("http://{local}");
        let (tx, rx) = oneshot::channel::<()>();
        let router = crate::router::Dispatch::new(mock.inner.clone());
        let limits = crate::server::Limits::of(&mock.inner.cfg);
        let proxy = if mock.inner.cfg.proxy {
            let dir = match mock.inner.cfg.ca_dir.clone() {
                Some(d) => d,
                None => crate::proxy::ca::default_dir(mock.inner.cfg.data_dir.as_deref())?,
            };
            let extra = mock.inner.cfg.proxy_hosts.clone();
            Some(std::sync::Arc::new(crate::proxy::Proxy::new(
                local,
                extra,
                &dir,
                mock.inner.cfg.proxy_cert_cache,
            )?))
        } else {
            None
        };
        mock.proxy = proxy.clone();
        let task = tokio::spawn(crate::server::serve(
            listener,
            router,
            limits,
            proxy,
            async move {
                let _ = rx.await;
            },
        ));
        if !local.ip().to_canonical().is_loopback() && mock.inner.cfg.admin_token.is_none() {
            mock.inner
                .control_on
                .store(false, std::sync::atomic::Ordering::Release);
            tracing::warn!(
                %local,
                "control API off: listening on a non-loopback address without an admin token"
            );
        }
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

/// Waits until the process is asked to stop: Ctrl-C (SIGINT) or, on Unix, SIGTERM (what
/// `kill`, systemd and container runtimes send). A server calls [`TerraMock::shutdown`]
/// after it, which also removes the storage directory under `$TMPDIR`; a mock killed with
/// SIGKILL leaves that directory behind.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// let mock = terra_mock::TerraMock::builder().bind("127.0.0.1:8080".parse().unwrap()).start().await?;
/// terra_mock::stop_signal().await?;
/// mock.shutdown().await;
/// # Ok(()) }
/// ```
pub async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
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
    pub(crate) proxy: Option<Arc<crate::proxy::Proxy>>,
}

impl TerraMock {
    /// A builder with the defaults (one S3 account, system clock, random port).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// assert_eq!(mock.app_key(), "terra-mock-ak");
    /// # Ok(()) }
    /// ```
    pub fn builder() -> TerraMockBuilder {
        TerraMockBuilder::default()
    }

    /// Starts a default mock on a random loopback port.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// assert!(mock.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>`: the API host and the storage endpoint.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// let api = format!("{}/terra-rescon-be/v2/jobs", mock.base_url());
    /// let bucket = format!("{}/terra-mock-s3", mock.base_url()); // S3, path style
    /// # let _ = (api, bucket);
    /// # Ok(()) }
    /// ```
    pub fn base_url(&self) -> String {
        self.inner.base_url()
    }

    /// The bound address (the requested one for a socket-less mock).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// assert!(mock.addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the control API answers (`{base_url}/_terra-mock/v1`), or `None` when it is
    /// off: a server bound to a non-loopback address without an admin token.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// let url = mock.control_url().unwrap();
    /// let health: serde_json::Value = reqwest::get(format!("{url}/health")).await.unwrap().json().await.unwrap();
    /// assert_eq!(health["status"], "ok");
    /// # Ok(()) }
    /// ```
    pub fn control_url(&self) -> Option<String> {
        self.inner
            .control_access()
            .on
            .then(|| format!("{}{}", self.base_url(), crate::control::api::CONTROL_PREFIX))
    }

    /// The proxy's URL (`http://127.0.0.1:PORT`, this server's own address) when it was
    /// started with [`MockConfig::proxy`](crate::MockConfig::proxy).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let cfg = terra_mock::MockConfig { proxy: true, ca_dir: Some(dir.path().into()), ..Default::default() };
    /// let mock = terra_mock::TerraMock::builder().config(cfg).start().await?;
    /// assert_eq!(mock.proxy_url(), Some(mock.base_url()));
    /// assert!(mock.ca_cert_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok(()) }
    /// ```
    pub fn proxy_url(&self) -> Option<String> {
        self.proxy.as_ref().map(|_| self.base_url())
    }

    /// The certificate of the proxy's authority (PEM), which clients must trust for the
    /// TLS of `CONNECT` tunnels; `None` without the proxy.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// assert_eq!(mock.ca_cert_pem(), None, "no proxy");
    /// # Ok(()) }
    /// ```
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.proxy.as_deref().map(|p| p.authority().cert_pem())
    }

    /// The file holding [`TerraMock::ca_cert_pem`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let cfg = terra_mock::MockConfig { proxy: true, ca_dir: Some(dir.path().into()), ..Default::default() };
    /// let mock = terra_mock::TerraMock::builder().config(cfg).start().await?;
    /// assert_eq!(mock.ca_cert_path().unwrap(), dir.path().join("ca.pem"));
    /// # Ok(()) }
    /// ```
    pub fn ca_cert_path(&self) -> Option<std::path::PathBuf> {
        self.proxy.as_deref().map(|p| p.authority().cert_path())
    }

    /// The environment an unmodified program needs to reach this emulator through its
    /// proxy: `HTTPS_PROXY`/`HTTP_PROXY` (and lower-case), `NO_PROXY` for the emulator's
    /// own address, and the CA file under every name the usual clients read
    /// (`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `AWS_CA_BUNDLE`, `CURL_CA_BUNDLE`,
    /// `NODE_EXTRA_CA_CERTS`). Empty without the proxy.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let cfg = terra_mock::MockConfig { proxy: true, ca_dir: Some(dir.path().into()), ..Default::default() };
    /// let mock = terra_mock::TerraMock::builder().config(cfg).start().await?;
    /// let env: std::collections::HashMap<_, _> = mock.proxy_env().into_iter().collect();
    /// assert_eq!(env["HTTPS_PROXY"], mock.base_url());
    /// assert!(env["REQUESTS_CA_BUNDLE"].ends_with("ca.pem"));
    /// # Ok(()) }
    /// ```
    pub fn proxy_env(&self) -> Vec<(String, String)> {
        let (Some(url), Some(ca)) = (self.proxy_url(), self.ca_cert_path()) else {
            return Vec::new();
        };
        let ca = ca.display().to_string();
        let mut env: Vec<(String, String)> =
            ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]
                .into_iter()
                .map(|k| (k.to_owned(), url.clone()))
                .collect();
        let mut own = "127.0.0.1,localhost".to_owned();
        if !self.addr.ip().is_loopback() {
            own.push_str(&format!(",{}", self.addr.ip()));
        }
        env.push(("NO_PROXY".into(), own.clone()));
        env.push(("no_proxy".into(), own));
        for k in [
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "AWS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "NODE_EXTRA_CA_CERTS",
        ] {
            env.push((k.to_owned(), ca.clone()));
        }
        env
    }

    /// The first account's app key.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// let creds = terra_sign::Credentials::new(mock.app_key(), mock.secret());
    /// # let _ = creds;
    /// # Ok(()) }
    /// ```
    pub fn app_key(&self) -> &str {
        &self.inner.cfg.accounts[0].app_key
    }

    /// The first account's secret.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// assert_eq!(mock.secret(), "terra-mock-sk");
    /// # Ok(()) }
    /// ```
    pub fn secret(&self) -> &str {
        &self.inner.cfg.accounts[0].secret
    }

    /// The configuration in force.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// assert_eq!(mock.config().token_lifetime_secs, 600);
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &MockConfig {
        &self.inner.cfg
    }

    /// The router, for requests without a socket (`tower::ServiceExt::oneshot`). An
    /// injected reset answers 500 with `x-terra-mock-fault: reset` there.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower::ServiceExt as _;
    /// let mock = terra_mock::TerraMock::builder().build()?; // no socket
    /// let target = "/terra-rescon-be/v2/store/obtain_token";
    /// let signed = terra_sign::sign(
    ///     &terra_sign::SignableRequest::new("POST", target, b""),
    ///     &terra_sign::Credentials::new(mock.app_key(), mock.secret()),
    ///     &terra_sign::SigningParams::new(mock.now()),
    /// );
    /// let mut req = http::Request::builder().method("POST").uri(target);
    /// for (name, value) in signed.headers() {
    ///     req = req.header(name, value);
    /// }
    /// let resp = mock.router().oneshot(req.body(axum::body::Body::empty())?).await?;
    /// let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    /// let env: terra_types::Envelope<terra_types::StsToken> = serde_json::from_slice(&body)?;
    /// assert!(env.data.unwrap().store_path.ends_with("{fileName}"));
    /// # Ok(()) }
    /// ```
    pub fn router(&self) -> axum::Router {
        crate::router::router(self.inner.clone())
    }

    /// The mock's current time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// let t0 = mock.now();
    /// mock.advance(std::time::Duration::from_secs(5));
    /// assert_eq!(mock.now().duration_since(t0)?.as_secs(), 5);
    /// # Ok(()) }
    /// ```
    pub fn now(&self) -> SystemTime {
        self.inner.now()
    }

    /// The manual clock, if the mock runs on one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// use terra_mock::Clock;
    /// let clock = mock.manual_clock().unwrap();
    /// assert_eq!(clock.now(), mock.now());
    /// # Ok(()) }
    /// ```
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        self.manual.as_ref()
    }

    /// Every resource of an account, oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("POST", "/resources", r#"{"name":"survey","type":"map"}"#).await;
    /// assert_eq!(mock.resources(mock.app_key())[0].name, "survey");
    /// assert!(mock.resources("someone else").is_empty());
    /// # Ok(()) }
    /// ```
    pub fn resources(&self, app_key: &str) -> Vec<Resource> {
        self.locked(app_key, |_, a| {
            a.resources.values().map(resource_view).collect()
        })
        .unwrap_or_default()
    }

    /// The file uuids of one resource of an account.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// mock.start_sample_job().await;
    /// let input = &mock.resources(mock.app_key())[0];
    /// assert_eq!(mock.resource_files(mock.app_key(), &input.uuid).len(), 10);
    /// # Ok(()) }
    /// ```
    pub fn resource_files(&self, app_key: &str, resource: &str) -> Vec<String> {
        let Ok(id) = uuid::Uuid::parse_str(resource) else {
            return Vec::new();
        };
        self.locked(app_key, |_, a| {
            a.resources
                .get(&id)
                .map(|r| {
                    r.files
                        .iter()
                        .filter_map(|p| a.files.at(*p))
                        .map(|f| f.uuid.to_string())
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    /// Every file of an account, oldest first (without `url`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// mock.start_sample_job().await;
    /// let files = mock.files(mock.app_key());
    /// assert!(files.iter().all(|f| f.name.starts_with("DJI_") && f.url.is_none()));
    /// # Ok(()) }
    /// ```
    pub fn files(&self, app_key: &str) -> Vec<File> {
        self.locked(app_key, |_, a| {
            a.files.values().map(|f| file_view(f, None)).collect()
        })
        .unwrap_or_default()
    }

    /// Every job of an account, oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// let uuid = mock.start_sample_job().await;
    /// let jobs = mock.jobs(mock.app_key());
    /// assert_eq!(jobs[0].uuid, uuid);
    /// assert_eq!(jobs[0].job_type, terra_types::JobType::Map2d);
    /// # Ok(()) }
    /// ```
    pub fn jobs(&self, app_key: &str) -> Vec<Job> {
        let now = self.now();
        self.locked(app_key, |_, a| {
            a.jobs.values().map(|j| job_view(j, now, true)).collect()
        })
        .unwrap_or_default()
    }

    /// Stores an object as if it had been uploaded with `token` under `file_name` (for tests
    /// that exercise the API without a storage client).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::Provider;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// let meta = mock.put_object(&token, "DJI_0001.JPG", b"photo")?;
    /// assert_eq!(meta.size, 5);
    /// assert_eq!(mock.object(Provider::S3, &token.object_key("DJI_0001.JPG")).unwrap().size, 5);
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::Provider;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// assert!(mock.object(Provider::S3, &token.object_key("a.jpg")).is_none());
    /// mock.put_object(&token, "a.jpg", b"12345678")?;
    /// assert_eq!(mock.object(Provider::S3, &token.object_key("a.jpg")).unwrap().size, 8);
    /// # Ok(()) }
    /// ```
    pub fn object(&self, provider: Provider, key: &str) -> Option<ObjectMeta> {
        self.inner
            .storage
            .head(bucket_of(provider, &self.inner.cfg), key)
    }

    /// The bytes stored for a file of an account (an upload it registered or an output of
    /// its jobs): what a download of the file must deliver. `None` for an unknown account or
    /// file, or an object gone from storage.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// assert_eq!(mock.file_bytes(mock.app_key(), "no-such-file"), None);
    /// # Ok(()) }
    /// ```
    pub fn file_bytes(&self, app_key: &str, file_uuid: &str) -> Option<Vec<u8>> {
        let uuid = file_uuid.parse().ok()?;
        let (provider, key) = self.locked(app_key, |cell, a| {
            a.files.get(&uuid).map(|f| (cell.provider, f.key.full()))
        })??;
        self.inner
            .storage
            .bytes(bucket_of(provider, &self.inner.cfg), &key)?
            .ok()
    }

    /// Checks what a download of resource `resource` of `app_key` must leave in `dir`:
    /// every file of the resource under its name with exactly the bytes stored, and no
    /// `.part` file. Returns the names, sorted, or what is wrong.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let dir = tempfile::tempdir()?;
    /// let e = mock.check_download(mock.app_key(), "not-a-resource", dir.path()).unwrap_err();
    /// assert!(e.contains("no resource"), "{e}");
    /// # Ok(()) }
    /// ```
    pub fn check_download(
        &self,
        app_key: &str,
        resource: &str,
        dir: &std::path::Path,
    ) -> Result<Vec<String>, String> {
        let wanted = self.resource_files(app_key, resource);
        if wanted.is_empty() {
            return Err(format!(
                "no resource {resource} with files in account {app_key}"
            ));
        }
        let files = self.files(app_key);
        let mut names = Vec::new();
        for f in files.iter().filter(|f| wanted.contains(&f.uuid)) {
            let path = dir.join(&f.name);
            let got =
                std::fs::read(&path).map_err(|e| format!("{} missing: {e}", path.display()))?;
            let stored = self
                .file_bytes(app_key, &f.uuid)
                .ok_or_else(|| format!("the mock holds no object for {}", f.name))?;
            if got != stored {
                return Err(format!(
                    "{} differs from the object stored ({} bytes on disk, {} stored)",
                    f.name,
                    got.len(),
                    stored.len()
                ));
            }
            names.push(f.name.clone());
        }
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "part") {
                    return Err(format!("partial download left: {}", p.display()));
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Multipart uploads started and neither completed nor aborted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// // After a cancelled multipart upload, a well-behaved client leaves nothing open.
    /// assert_eq!(mock.open_multipart_uploads(), 0);
    /// # Ok(()) }
    /// ```
    pub fn open_multipart_uploads(&self) -> usize {
        self.inner.storage.uploads_in_progress()
    }

    /// Number of objects in storage (inputs and outputs of every account).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.jpg", b"a")?;
    /// mock.put_object(&token, "b.jpg", b"b")?;
    /// assert_eq!(mock.object_count(), 2);
    /// # Ok(()) }
    /// ```
    pub fn object_count(&self) -> usize {
        self.inner.storage.len()
    }

    /// Fills an account with `jobs` finished jobs and `files` files without going through
    /// the API; used by the memory benchmark.
    #[doc(hidden)]
    pub fn populate(&self, app_key: &str, jobs: usize, files: usize) {
        let now = self.now();
        self.locked(app_key, |cell, a| a.populate(cell, jobs, files, now));
    }

    /// Runs `f` on an account's state (with its due job transitions applied).
    fn locked<T>(
        &self,
        app_key: &str,
        f: impl FnOnce(&AccountCell, &mut crate::state::Account) -> T,
    ) -> Option<T> {
        let cell = self.inner.accounts.get(app_key)?;
        let env = self.inner.env();
        let mut a = cell.lock(&env);
        Some(f(&cell, &mut a))
    }

    /// STS sessions (with their callback grants) the mock remembers for an account:
    /// expired ones are kept for `session_grace_secs`, and at most
    /// `max_sessions_per_account` are.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let clock = terra_mock::ManualClock::starting_now();
    /// let mock = terra_mock::TerraMock::builder()
    ///     .manual_clock(clock)
    ///     .config(terra_mock::MockConfig { max_sessions_per_account: 3, ..Default::default() })
    ///     .build()?;
    /// for _ in 0..5 {
    ///     mock.issue_token(mock.app_key());
    /// }
    /// assert_eq!(mock.sessions(mock.app_key()), 3, "the oldest two were dropped");
    /// mock.advance(std::time::Duration::from_secs(24 * 3600));
    /// assert_eq!(mock.sessions(mock.app_key()), 0, "expired long ago");
    /// # Ok(()) }
    /// ```
    pub fn sessions(&self, app_key: &str) -> usize {
        self.inner.sessions.count_for(app_key)
    }

    /// A presigned download link for an object, as `url` of a file carries it: SigV4 for
    /// S3, OSS V1 for OSS; it expires after `download_url_ttl_secs` on the mock's clock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Provider, TerraMock};
    /// let mock = TerraMock::start().await?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.txt", b"hello")?;
    /// let url = mock.download_url(Provider::S3, &token.object_key("a.txt"));
    /// assert_eq!(reqwest::get(url).await?.text().await?, "hello");
    /// # Ok(()) }
    /// ```
    pub fn download_url(&self, provider: Provider, key: &str) -> String {
        self.inner.download_url(provider, key)
    }

    /// The directory where object bodies are kept (a `terra-mock-*` folder under the
    /// temporary directory, removed when the mock is dropped), spread over subfolders
    /// `00` to `ff`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.jpg", b"jpeg")?;
    /// assert!(mock.storage_dir().is_dir());
    /// # Ok(()) }
    /// ```
    pub fn storage_dir(&self) -> &std::path::Path {
        self.inner.storage.dir()
    }

    /// How many body files are on disk (objects, their parts, and parts of uploads in
    /// progress): what a test checks to see that nothing was left behind.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.jpg", b"jpeg")?;
    /// assert_eq!(mock.body_files(), 1);
    /// # Ok(()) }
    /// ```
    pub fn body_files(&self) -> usize {
        self.inner.storage.body_files()
    }

    /// Stops serving and waits for open connections to finish (up to 5 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// let url = mock.base_url();
    /// mock.shutdown().await;
    /// assert!(reqwest::get(url).await.is_err(), "nothing listens any more");
    /// # Ok(()) }
    /// ```
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
