//! Every knob of the emulator. [`MockConfig`] deserializes from TOML (the standalone
//! binary's `--config`), and [`crate::TerraMockBuilder`] sets the same fields in code.
//!
//! Where the reference marks a behaviour "unconfirmed", the default is the most plausible
//! one and a field here switches to the alternative.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which object storage an app key's tokens are for.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{Provider, TerraMock};
/// use terra_types::CloudName;
/// let cn = TerraMock::builder().provider(Provider::Oss).start().await?;
/// let token = cn.issue_token(cn.app_key()).unwrap();
/// assert_eq!(token.cloud_name, CloudName::AliOss);
/// assert_eq!(token.region, "oss-cn-hangzhou");
/// # Ok(()) }
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// AWS S3 (the international host); tokens say `AWS_S3`.
    #[default]
    S3,
    /// Aliyun OSS (the mainland China host); tokens say `ALI_OSS`.
    Oss,
}

/// One account: an app key, its secret and its storage provider.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{AccountConfig, MockConfig, Provider, TerraMock};
/// let cfg = MockConfig {
///     accounts: vec![
///         AccountConfig::new("us-ak", "us-sk", Provider::S3),
///         AccountConfig::new("cn-ak", "cn-sk", Provider::Oss),
///     ],
///     ..Default::default()
/// };
/// let mock = TerraMock::builder().config(cfg).start().await?;
/// assert_eq!(mock.app_key(), "us-ak", "the first account");
/// assert!(mock.issue_token("cn-ak").is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountConfig {
    /// The app key (AK).
    pub app_key: String,
    /// The secret (SK).
    pub secret: String,
    /// Storage behind `obtain_token`.
    #[serde(default)]
    pub provider: Provider,
    /// This account's limit of running jobs (default: [`MockConfig::max_running_jobs`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_running_jobs: Option<usize>,
    /// This account's quota of job starts (default: [`MockConfig::job_quota`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_quota: Option<u64>,
    /// This account's STS token lifetime, seconds (default:
    /// [`MockConfig::token_lifetime_secs`]): one account with short-lived tokens lets a test
    /// see expiry without slowing every other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_secs: Option<u64>,
}

impl std::fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountConfig")
            .field("app_key", &self.app_key)
            .field("secret", &"***")
            .field("provider", &self.provider)
            .field("max_running_jobs", &self.max_running_jobs)
            .field("job_quota", &self.job_quota)
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .finish()
    }
}

/// A secret setting (the control API's admin token): shown as `***` by `Debug`.
///
/// ```
/// let t = terra_mock::AdminToken::new("s3cr3t");
/// assert_eq!(format!("{t:?}"), "AdminToken(***)");
/// assert_eq!(t.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminToken(String);

impl AdminToken {
    /// Wraps a token.
    ///
    /// ```
    /// let _ = terra_mock::AdminToken::new("s3cr3t");
    /// ```
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself.
    ///
    /// ```
    /// assert_eq!(terra_mock::AdminToken::new("x").expose(), "x");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

impl AccountConfig {
    /// An account with the mock-wide limits.
    ///
    /// ```
    /// use terra_mock::{AccountConfig, Provider};
    /// let a = AccountConfig::new("ak", "sk", Provider::Oss);
    /// assert_eq!((a.app_key.as_str(), a.provider, a.job_quota), ("ak", Provider::Oss, None));
    /// ```
    pub fn new(app_key: impl Into<String>, secret: impl Into<String>, provider: Provider) -> Self {
        Self {
            app_key: app_key.into(),
            secret: secret.into(),
            provider,
            max_running_jobs: None,
            job_quota: None,
            token_lifetime_secs: None,
        }
    }
}

/// What a 3D job does with model formats asked for while `output_mesh` is off (DJI makes
/// no model then; reference §5.4). **Unconfirmed** whether DJI says so.
///
/// ```
/// let cfg = terra_mock::MockConfig {
///     unused_mesh_formats: terra_mock::UnusedMeshFormats::Refuse,
///     ..Default::default()
/// };
/// # let _ = cfg;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnusedMeshFormats {
    /// The job runs and finishes without a model, and its `message` says which formats were
    /// ignored and why. The default.
    #[default]
    Note,
    /// Starting the job fails with 102001, naming the formats and the switch.
    Refuse,
}

/// What `upload_callback` does with an object the resource already holds. **Unconfirmed**:
/// DJI's answer was never observed.
///
/// ```
/// let cfg = terra_mock::MockConfig {
///     duplicate_callbacks: terra_mock::DuplicateCallbacks::NewRow,
///     ..Default::default()
/// };
/// # let _ = cfg;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateCallbacks {
    /// Answer the file row it already has, brought up to date (idempotent: a client that
    /// retries a callback does not get two rows). The default.
    #[default]
    Reuse,
    /// Create another row each time.
    NewRow,
}

/// How business errors (`result.code != 0`) are answered. **Unconfirmed** (§1.5): some
/// clients saw HTTP 200 with the code, one read the envelope from a non-2xx response.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{ErrorStatus, TerraMock};
/// let mock = TerraMock::builder().error_status(ErrorStatus::Http4xx).build()?;
/// let (status, body) = mock.call("GET", "/jobs/00000000-0000-0000-0000-000000000000", "").await;
/// assert_eq!((status, body["result"]["code"].as_i64()), (404, Some(102114)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStatus {
    /// HTTP 200 with the envelope (default).
    #[default]
    Http200,
    /// A 4xx/5xx status matching the code (400, 404, 409, 429, 402, 500), with the envelope.
    Http4xx,
}

/// What a create answers without `Return-Detail: true`. **Unconfirmed** (§3.2): clients
/// only rely on `data.uuid`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{MinimalCreate, TerraMock};
/// let mock = TerraMock::builder().minimal_create(MinimalCreate::UuidOnly).build()?;
/// let (_, body) = mock.call("POST", "/jobs", r#"{"name":"survey"}"#).await;
/// assert!(body["data"]["uuid"].is_string());
/// assert!(body["data"]["name"].is_null(), "only the uuid without Return-Detail");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinimalCreate {
    /// `{"uuid": ...}` (default).
    #[default]
    UuidOnly,
    /// The full object, as with the header.
    FullObject,
    /// `{"uuid": ...}` even with `Return-Detail: true` (a service that ignores the header).
    UuidIgnoringHeader,
}

/// Durations of the job stages, in seconds of the mock's clock.
///
/// The executing stage lasts `executing + executing_per_input × inputs` (inputs: images
/// for 2D/3D, files for LiDAR).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use terra_mock::{JobTiming, ManualClock, TerraMock};
/// // 10 s of execution plus 1 s per photo; no queue.
/// let timing = JobTiming { waiting: 0.0, preparing: 0.0, executing: 10.0, executing_per_input: 1.0, result_processing: 0.0 };
/// let mock = TerraMock::builder().manual_clock(ManualClock::starting_now()).timing(timing).build()?;
/// mock.start_sample_job().await;
/// mock.advance(Duration::from_secs(19));
/// assert_eq!(mock.jobs(mock.app_key())[0].status, terra_types::JobStatus::Executing);
/// mock.advance(Duration::from_secs(1));
/// assert_eq!(mock.jobs(mock.app_key())[0].status, terra_types::JobStatus::Succeeded);
/// # Ok(()) }
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobTiming {
    /// Status 1, queued.
    pub waiting: f64,
    /// Status 2, preparing.
    pub preparing: f64,
    /// Status 3, fixed part.
    pub executing: f64,
    /// Status 3, per input file.
    pub executing_per_input: f64,
    /// Status 4, result processing (the output resource exists from its start).
    pub result_processing: f64,
}

impl Default for JobTiming {
    fn default() -> Self {
        Self {
            waiting: 1.0,
            preparing: 2.0,
            executing: 5.0,
            executing_per_input: 0.25,
            result_processing: 2.0,
        }
    }
}

impl JobTiming {
    /// All stages at zero length except executing, which lasts `total`: handy for tests
    /// that want "a job of about this long".
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = terra_mock::JobTiming::lasting(Duration::from_secs(7200));
    /// assert_eq!((t.waiting, t.executing, t.executing_per_input), (0.0, 7200.0, 0.0));
    /// ```
    pub fn lasting(total: Duration) -> Self {
        Self {
            waiting: 0.0,
            preparing: 0.0,
            executing: total.as_secs_f64(),
            executing_per_input: 0.0,
            result_processing: 0.0,
        }
    }

    /// These stages scaled so that a job of `inputs` inputs takes `total`: every stage
    /// keeps its share, so a poller sees each status in turn (as long as it polls more often
    /// than the shortest stage lasts).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = terra_mock::JobTiming::default().scaled_to(Duration::from_secs(20), 24);
    /// let stages = [t.waiting, t.preparing, t.executing + 24.0 * t.executing_per_input, t.result_processing];
    /// assert!((stages.iter().sum::<f64>() - 20.0).abs() < 1e-9);
    /// assert!(stages.iter().all(|s| *s > 0.0), "no status is skipped");
    /// ```
    pub fn scaled_to(&self, total: Duration, inputs: usize) -> Self {
        let now: f64 = self.stages(inputs).iter().map(Duration::as_secs_f64).sum();
        if now <= 0.0 {
            return Self::lasting(total);
        }
        let k = total.as_secs_f64() / now;
        Self {
            waiting: self.waiting * k,
            preparing: self.preparing * k,
            executing: self.executing * k,
            executing_per_input: self.executing_per_input * k,
            result_processing: self.result_processing * k,
        }
    }

    pub(crate) fn stages(&self, inputs: usize) -> [Duration; 4] {
        let d = |s: f64| Duration::from_secs_f64(s.max(0.0));
        [
            d(self.waiting),
            d(self.preparing),
            d(self.executing + self.executing_per_input * inputs as f64),
            d(self.result_processing),
        ]
    }
}

/// A storage endpoint's bucket and region as announced in tokens.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{BucketConfig, MockConfig, TerraMock};
/// let cfg = MockConfig {
///     s3: BucketConfig { bucket: "dji-terra-prod".into(), region: "us-west-2".into() },
///     ..Default::default()
/// };
/// let mock = TerraMock::builder().config(cfg).start().await?;
/// let token = mock.issue_token(mock.app_key()).unwrap();
/// assert_eq!((token.cloud_bucket_name.as_str(), token.region.as_str()), ("dji-terra-prod", "us-west-2"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketConfig {
    /// `cloudBucketName`.
    pub bucket: String,
    /// `region`.
    pub region: String,
}

/// Random faults, reproducible from a seed. Rates are probabilities per request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{FaultScope, RandomFaults, TerraMock};
/// // Every API request fails with a 5xx; the same seed fails the same requests.
/// let faults = RandomFaults { seed: 7, error_5xx: 1.0, scope: FaultScope::Api, ..Default::default() };
/// let mock = TerraMock::builder().random_faults(faults).build()?;
/// let (status, _) = mock.call("GET", "/jobs", "").await;
/// assert!(status >= 500);
/// # Ok(()) }
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RandomFaults {
    /// Seed of the generator.
    pub seed: u64,
    /// Answer 500, 502 or 503.
    pub error_5xx: f64,
    /// Answer 429 with `Retry-After: 1`.
    pub too_many_requests: f64,
    /// Close the connection without answering.
    pub reset: f64,
    /// Delay the answer by `latency_ms`.
    pub latency: f64,
    /// The injected delay.
    pub latency_ms: u64,
    /// Which requests are affected.
    pub scope: FaultScope,
}

impl Default for RandomFaults {
    fn default() -> Self {
        Self {
            seed: 0,
            error_5xx: 0.0,
            too_many_requests: 0.0,
            reset: 0.0,
            latency: 0.0,
            latency_ms: 200,
            scope: FaultScope::All,
        }
    }
}

/// Which part of the mock a fault applies to.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{Fault, FaultRule, FaultScope, TerraMock};
/// let mock = TerraMock::builder().build()?;
/// // Break the storage only: the API keeps answering.
/// mock.inject(FaultRule::any().scope(FaultScope::Storage).fault(Fault::Status { status: 503, retry_after: None }));
/// assert_eq!(mock.call("GET", "/jobs", "").await.0, 200);
/// # Ok(()) }
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultScope {
    /// API and storage.
    #[default]
    All,
    /// `/terra-rescon-be/...` only.
    Api,
    /// The S3 and OSS endpoints only.
    Storage,
}

/// The whole configuration. `Default` is a faithful service with one S3 account
/// (`terra-mock-ak` / `terra-mock-sk`).
///
/// ```
/// use terra_mock::MockConfig;
/// // The standalone server reads the same structure from TOML or JSON; missing keys keep
/// // their defaults.
/// let cfg: MockConfig = serde_json::from_str(r#"{"token_lifetime_secs": 2, "max_running_jobs": 1}"#).unwrap();
/// assert_eq!((cfg.token_lifetime_secs, cfg.max_running_jobs), (2, 1));
/// assert_eq!(cfg.clock_skew_secs, 300);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MockConfig {
    /// The accounts; each sees only its own resources, files and jobs.
    pub accounts: Vec<AccountConfig>,
    /// Allowed distance between the request date and the mock's clock (Kong: 300 s).
    pub clock_skew_secs: u64,
    /// Also require `Digest` to match the body (Kong's `validate_request_body`).
    pub strict_digest: bool,
    /// Verify signatures with [`terra_sign::Verifier::strict`] instead of Kong's rules: the
    /// signature must cover the date, the request target and the digest, and the digest
    /// must match the body. Off by default, as DJI's gateway is Kong.
    pub strict_signatures: bool,
    /// Largest API request body read (after the signature check), bytes.
    pub api_body_limit: usize,
    /// Lifetime of STS credentials (`expireTime` = now + this).
    pub token_lifetime_secs: u64,
    /// How long a `callbackParam` is accepted by `upload_callback` after it was issued.
    /// **Unconfirmed**; longer than the STS lifetime so that files uploaded just before the
    /// credentials expire can still be registered.
    pub callback_param_ttl_secs: u64,
    /// Lifetime of the presigned download `url` of files.
    pub download_url_ttl_secs: u64,
    /// Most files per `upload_callback` (the official samples send 50).
    pub callback_batch_limit: usize,
    /// What registering an object the resource already holds does.
    pub duplicate_callbacks: DuplicateCallbacks,
    /// A LiDAR job whose resource holds no LiDAR data (no file of a DJI L1/L2 mission
    /// folder: `.LDR`, `.IMU`, `.RTK`, ...) fails while preparing, with the reason in its
    /// `message`, as a reconstruction with nothing to reconstruct fails. Off: it runs.
    pub lidar_needs_lidar_data: bool,
    /// Model formats asked for with `output_mesh` off.
    pub unused_mesh_formats: UnusedMeshFormats,
    /// How long expired STS sessions and callback grants are remembered (so that late
    /// clients are told "expired" rather than "unknown"), then dropped, on the mock's clock.
    pub session_grace_secs: u64,
    /// Most STS sessions (with their grants) an account holds; obtaining one more drops
    /// the oldest.
    pub max_sessions_per_account: usize,
    /// Most jobs running (status 1..=4) per account before start answers 801.
    pub max_running_jobs: usize,
    /// Job starts allowed per account before start answers 102116; `None` is unlimited.
    pub job_quota: Option<u64>,
    /// HTTP status of business errors.
    pub error_status: ErrorStatus,
    /// `data` of creates without `Return-Detail`.
    pub minimal_create: MinimalCreate,
    /// Send `cloudName` in lower case (`ali_oss`), as one captured response did.
    pub lowercase_cloud_name: bool,
    /// Include `percentage`, `message`, `parameters` and the rest in job list items
    /// (**unconfirmed**; by default lists carry the documented subset).
    pub full_job_list_items: bool,
    /// Page size when `rows` is absent.
    pub default_rows: u32,
    /// Larger `rows` are clamped to this.
    pub max_rows: u32,
    /// Stage durations.
    pub timing: JobTiming,
    /// How job outputs are drawn.
    pub outputs: OutputConfig,
    /// Where S3 accounts upload.
    pub s3: BucketConfig,
    /// Where OSS accounts upload.
    pub oss: BucketConfig,
    /// Requests kept for [`crate::TerraMock::requests`]; older ones are dropped.
    pub request_log_limit: usize,
    /// Bytes the request log may hold (bodies are kept up to 64 KiB each).
    pub request_log_bytes: usize,
    /// Most open connections; 0 chooses three quarters of the file-descriptor limit. At
    /// the cap a new connection closes the oldest one that is not in a request.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (also for a fresh connection).
    pub header_read_timeout_secs: f64,
    /// Seconds a request body may stall before the request fails.
    pub body_idle_timeout_secs: f64,
    /// Seconds an idle keep-alive connection is kept.
    pub keep_alive_timeout_secs: f64,
    /// Bytes of a request body the mock reads and drops after answering without reading
    /// it (an authentication error), so that the connection stays usable; a longer body
    /// closes the connection instead.
    pub drain_limit_bytes: usize,
    /// The largest state document `PUT /_terra-mock/v1/state` reads (it is held in memory
    /// while imported); a larger one is refused with 413 and changes nothing.
    pub state_document_limit_bytes: usize,
    /// Random faults from the start (scripted ones are added at run time).
    pub random_faults: Option<RandomFaults>,
    /// The token the control API (`/_terra-mock/v1`) asks for, as
    /// `Authorization: Bearer <token>`. Without one it answers loopback callers only, and a
    /// server bound to a non-loopback address keeps it off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<AdminToken>,
    /// Host names the control API and the dashboard answer to, besides loopback names
    /// (`localhost`, `*.localhost`) and IP addresses (`--allowed-host`, repeatable;
    /// `*.example.com` for a domain). A `Host` of any other name is refused, so that a web
    /// page whose name is made to resolve to this machine (DNS rebinding) cannot read or
    /// drive them. `*` allows every name, and only together with an admin token.
    pub allowed_hosts: Vec<String>,
    /// Origins (`http://dashboard.example:3000`) whose pages may call the control API,
    /// besides the emulator's own (`--allowed-origin`, repeatable). Any other `Origin`, and
    /// `Sec-Fetch-Site: cross-site`, is refused.
    pub allowed_origins: Vec<String>,
    /// Also act as an HTTP/1.1 forward proxy on the same port (`--proxy`): absolute-form
    /// requests and `CONNECT` to the emulated hosts (DJI's API hosts, S3 and OSS names,
    /// [`MockConfig::proxy_hosts`]) are answered as if sent here directly, `CONNECT` with
    /// TLS under a certificate of the emulator's own authority; every other host is
    /// refused. Unmodified applications with their hosts written in reach the emulator
    /// through `HTTPS_PROXY`.
    pub proxy: bool,
    /// More host names the proxy emulates (`--proxy-host`, repeatable; `*.example.com`
    /// for a domain). The proxy's authority may vouch for these and DJI's, AWS's and
    /// Aliyun's domains only (X.509 name constraints); when the list changes, a new
    /// authority is issued (the old one kept aside) and clients must trust the new one.
    pub proxy_hosts: Vec<String>,
    /// How many host names' certificates (and TLS settings) the proxy keeps
    /// (`--proxy-cert-cache`); beyond it the least recently used name is evicted and its
    /// certificate issued again when asked for (a fraction of a millisecond).
    pub proxy_cert_cache: usize,
    /// The CORS configuration of the storage buckets (`--storage-cors FILE|off`;
    /// `PUT /_terra-mock/v1/storage/{provider}/cors` at run time). By default both buckets
    /// answer the browser flow of DJI's published demos (any origin; `GET`, `PUT`, `POST`,
    /// `HEAD`, `DELETE`; any header; `ETag` and the request-id headers exposed): DJI never
    /// published its buckets' configuration, but its demos upload from the page.
    pub storage_cors: crate::cors::StorageCors,
    /// Origins whose pages may call the TerraAPI routes themselves (`--api-cors-origin`,
    /// repeatable; `*` for any). Empty by default: DJI's gateway setting is unknown and the
    /// public demos send those calls through their dev server's proxy.
    pub api_cors_origins: Vec<String>,
    /// Treat an empty string as absent in every optional request field and query
    /// parameter (`"outputResourceUuid": ""`, `?search=&type=`), as DJI's service did for
    /// the published browser app. The reference gives `""` no meaning in any optional
    /// field (`meta` absent and `meta: ""` both mean no extension info); `false` refuses
    /// `""` where the field's type does not take it.
    pub empty_strings_as_absent: bool,
    /// Where the proxy's certificate authority is kept (default: `data_dir`'s `ca/`, or
    /// the per-user state folder `$XDG_STATE_HOME/terra-mock/ca`, else
    /// `~/.local/state/terra-mock/ca`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_dir: Option<std::path::PathBuf>,
    /// Where state and objects are kept across restarts (`--data-dir`); without one the
    /// mock is ephemeral. See the README's "Persistence" section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<std::path::PathBuf>,
    /// When `data_dir`'s database cannot be read (damaged, or not a terra-mock database),
    /// move it and the objects folder aside (renamed `*.damaged-<unix seconds>`, kept for
    /// inspection) and start with an empty state, instead of refusing to start
    /// (`--reset-damaged-state`).
    #[serde(default)]
    pub reset_damaged_state: bool,
}

/// How finished jobs' outputs are drawn (see the README's "Job outputs").
///
/// ```
/// let cfg: terra_mock::MockConfig =
///     serde_json::from_str(r#"{"outputs": {"photo_mosaic": false, "gsd_m": 0.5}}"#).unwrap();
/// assert!(!cfg.outputs.photo_mosaic);
/// assert_eq!(cfg.outputs.max_raster_pixels, 512, "the rest keep their defaults");
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputConfig {
    /// Ground sample distance of the orthophoto, metres per pixel; coarsened when the
    /// raster's long side would pass `max_raster_pixels`.
    pub gsd_m: f64,
    /// Longest side of any output raster, pixels (keeps outputs small and jobs fast; at
    /// most 8 192 whatever is set).
    pub max_raster_pixels: u32,
    /// Paint the orthophoto with the uploaded photos, a mosaic of their thumbnails placed
    /// by their GPS positions. Off, or for photos that cannot be decoded, the pixels are
    /// a shaded relief of the surface model.
    pub photo_mosaic: bool,
    /// Most photos decoded for the mosaic; a larger flight uses an even sample of them.
    pub mosaic_max_photos: usize,
    /// Milliseconds the mosaic may spend decoding photos; the rest are shaded relief.
    pub mosaic_budget_ms: u64,
    /// Height of the flight above the ground, metres: the surface model lies this far
    /// below the photos' GPS altitudes.
    pub flight_height_m: f64,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            gsd_m: 0.25,
            max_raster_pixels: 512,
            photo_mosaic: true,
            mosaic_max_photos: 200,
            mosaic_budget_ms: 2_000,
            flight_height_m: 100.0,
        }
    }
}

/// The default app key.
pub const DEFAULT_APP_KEY: &str = "terra-mock-ak";
/// The default secret.
pub const DEFAULT_SECRET: &str = "terra-mock-sk";

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            accounts: vec![AccountConfig::new(
                DEFAULT_APP_KEY,
                DEFAULT_SECRET,
                Provider::S3,
            )],
            clock_skew_secs: 300,
            strict_digest: false,
            strict_signatures: false,
            api_body_limit: 4 << 20,
            token_lifetime_secs: 600,
            callback_param_ttl_secs: 3600,
            download_url_ttl_secs: 3600,
            callback_batch_limit: terra_types::limits::CALLBACK_BATCH,
            duplicate_callbacks: DuplicateCallbacks::Reuse,
            lidar_needs_lidar_data: true,
            unused_mesh_formats: UnusedMeshFormats::Note,
            session_grace_secs: 3600,
            max_sessions_per_account: 10_000,
            max_running_jobs: 10,
            job_quota: None,
            error_status: ErrorStatus::Http200,
            minimal_create: MinimalCreate::UuidOnly,
            lowercase_cloud_name: false,
            full_job_list_items: false,
            default_rows: 10,
            max_rows: 1000,
            timing: JobTiming::default(),
            outputs: OutputConfig::default(),
            s3: BucketConfig {
                bucket: "terra-mock-s3".into(),
                region: "us-east-1".into(),
            },
            oss: BucketConfig {
                bucket: "terra-mock-oss".into(),
                region: "oss-cn-hangzhou".into(),
            },
            request_log_limit: 10_000,
            request_log_bytes: 64 << 20,
            max_connections: 0,
            header_read_timeout_secs: 10.0,
            body_idle_timeout_secs: 30.0,
            keep_alive_timeout_secs: 60.0,
            drain_limit_bytes: 1 << 20,
            state_document_limit_bytes: 1 << 30,
            random_faults: None,
            admin_token: None,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            proxy: false,
            proxy_hosts: Vec::new(),
            proxy_cert_cache: 1000,
            storage_cors: crate::cors::StorageCors::default(),
            api_cors_origins: Vec::new(),
            empty_strings_as_absent: true,
            ca_dir: None,
            data_dir: None,
            reset_damaged_state: false,
        }
    }
}
