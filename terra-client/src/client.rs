//! The client, its builder, and the request pipeline: serialize once, sign the exact bytes
//! and request-target, send, interpret the envelope, retry by the rules.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use terra_sign::{Credentials, DateHeader, SignableRequest, SigningParams};
use terra_types::{ApiResult, GatewayError};

use crate::clock::{Clock, SystemClock};
use crate::config::{Region, RetryConfig};
use crate::error::{Error, ErrorKind, Result};

/// The path prefix of every route.
pub const API_PREFIX: &str = "/terra-rescon-be";

/// The environment variable holding the app key (the name DJI's documentation uses).
pub const ENV_APP_KEY: &str = "DJI_APP_KEY";
/// The environment variable holding the secret.
pub const ENV_SECRET_KEY: &str = "DJI_SECRET_KEY";
/// The environment variable naming another host (for example a running
/// `terra-mock serve`); read by [`TerraClient::from_env`].
pub const ENV_ENDPOINT: &str = "TERRA_ENDPOINT";
/// The environment variable choosing DJI's host: `us` (the default) or `cn`; read by
/// [`TerraClient::from_env`].
pub const ENV_REGION: &str = "TERRA_REGION";

/// An async TerraAPI client. Cheap to clone (one shared connection pool).
///
/// ```no_run
/// # async fn demo() -> Result<(), terra_client::Error> {
/// use terra_client::{Region, TerraClient};
/// let client = TerraClient::builder()
///     .region(Region::Us)
///     .credentials_from_env() // DJI_APP_KEY / DJI_SECRET_KEY
///     .build()?;
/// let token = client.obtain_token().await?;
/// println!("upload to {} under {}", token.cloud_bucket_name, token.store_path);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TerraClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    base: reqwest::Url,
    pub(crate) http: reqwest::Client,
    creds: Credentials,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryConfig,
    attempt_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    date_header: DateHeader,
    pub(crate) create_markers: bool,
}

/// Configures a [`TerraClient`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use terra_client::{Region, RetryConfig, TerraClient};
/// let client = TerraClient::builder()
///     .region(Region::Us)
///     .credentials("app key", "secret")
///     .retry(RetryConfig { max_attempts: 5, ..Default::default() })
///     .attempt_timeout(Some(Duration::from_secs(30)))
///     .build()?;
/// assert_eq!(client.endpoint(), "https://openapi-us.dji.com");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TerraClientBuilder {
    endpoint: Option<String>,
    region: Option<Region>,
    /// Read `TERRA_ENDPOINT` / `TERRA_REGION` when no endpoint is given in code.
    endpoint_from_env: bool,
    creds: Option<Credentials>,
    from_env: bool,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
    retry: RetryConfig,
    connect_timeout: Duration,
    attempt_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    user_agent: String,
    date_header: DateHeader,
    create_markers: bool,
}

impl Default for TerraClientBuilder {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            endpoint_from_env: false,
            creds: None,
            from_env: false,
            http: None,
            clock: Arc::new(SystemClock),
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Some(Duration::from_secs(60)),
            total_timeout: None,
            user_agent: concat!("terra-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            date_header: DateHeader::Date,
            create_markers: true,
        }
    }
}

impl TerraClientBuilder {
    /// Talks to one of DJI's hosts.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_client::{Region, TerraClient};
    /// let client = TerraClient::builder().region(Region::Cn).credentials("k", "s").build()?;
    /// assert_eq!(client.endpoint(), Region::Cn.base_url());
    /// # Ok(()) }
    /// ```
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Talks to another host, e.g. terra-mock's `http://127.0.0.1:8080` (scheme and
    /// authority; `/terra-rescon-be` is added to every path).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = terra_client::TerraClient::builder()
    ///     .endpoint("http://127.0.0.1:8080/")
    ///     .credentials("k", "s")
    ///     .build()?;
    /// assert_eq!(client.endpoint(), "http://127.0.0.1:8080");
    /// # Ok(()) }
    /// ```
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The app key and secret of the TerraAPI console.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_client::{Region, TerraClient};
    /// let client = TerraClient::builder().region(Region::Us).credentials("my-app-key", "s3cr3t").build()?;
    /// assert_eq!(client.app_key(), "my-app-key");
    /// assert!(!format!("{client:?}").contains("s3cr3t"), "the secret never shows");
    /// # Ok(()) }
    /// ```
    pub fn credentials(mut self, app_key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.creds = Some(Credentials::new(app_key, secret));
        self
    }

    /// Reads the credentials from `DJI_APP_KEY` and `DJI_SECRET_KEY` at `build()` (also the
    /// fallback when no credentials are given).
    ///
    /// ```
    /// use terra_client::{ErrorKind, Region, TerraClient};
    /// match TerraClient::builder().region(Region::Us).credentials_from_env().build() {
    ///     Ok(client) => println!("using app key {}", client.app_key()),
    ///     // Neither DJI_APP_KEY nor DJI_SECRET_KEY set: the error names them.
    ///     Err(e) => assert_eq!(e.kind(), ErrorKind::Config, "{e}"),
    /// }
    /// ```
    pub fn credentials_from_env(mut self) -> Self {
        self.from_env = true;
        self
    }

    /// The HTTP client to use (its own TLS, proxy and timeout settings apply; the connect
    /// timeout of this builder then does not).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let http = reqwest::Client::builder().pool_max_idle_per_host(4).build()?;
    /// let client = terra_client::TerraClient::builder()
    ///     .region(terra_client::Region::Us)
    ///     .credentials("k", "s")
    ///     .http_client(http)
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The source of signing time and of waits (tests inject an emulator's clock).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::sync::Arc;
    /// use std::time::{Duration, SystemTime};
    /// use terra_client::{Clock, TerraClient};
    ///
    /// /// Signs every request with the same date and never waits (a test double).
    /// #[derive(Debug)]
    /// struct Frozen(SystemTime);
    /// impl Clock for Frozen {
    ///     fn now(&self) -> SystemTime {
    ///         self.0
    ///     }
    ///     fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    ///         Box::pin(std::future::ready(()))
    ///     }
    /// }
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let client = TerraClient::builder()
    ///     .endpoint("http://127.0.0.1:8080")
    ///     .credentials("k", "s")
    ///     .clock(Arc::new(Frozen(at)))
    ///     .build()?;
    /// assert_eq!(client.clock().now(), at);
    /// # Ok(()) }
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Retry settings (see the crate documentation for which calls are retried).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// use terra_client::{BackoffConfig, RetryConfig, TerraClient};
    /// use terra_mock::{Fault, FaultRule};
    /// // The next two token requests get a 503; the third attempt succeeds.
    /// mock.inject(FaultRule::on("POST", "/terra-rescon-be/v2/store/obtain_token").times(2).fault(Fault::Status { status: 503, retry_after: None }));
    /// let client = TerraClient::builder()
    ///     .endpoint(mock.base_url())
    ///     .credentials(mock.app_key(), mock.secret())
    ///     .retry(RetryConfig { max_attempts: 3, backoff: BackoffConfig::none(), ..Default::default() })
    ///     .build()?;
    /// client.obtain_token().await?;
    /// # Ok(()) }
    /// ```
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Timeout of establishing a connection (default 10 s).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = terra_client::TerraClient::builder()
    ///     .region(terra_client::Region::Cn)
    ///     .credentials("k", "s")
    ///     .connect_timeout(std::time::Duration::from_secs(3))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Timeout of one attempt, from sending to the end of the response (default 60 s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// use std::time::Duration;
    /// use terra_client::{ErrorKind, RetryConfig, TerraClient};
    /// use terra_mock::{Fault, FaultRule};
    /// mock.inject(FaultRule::any().fault(Fault::Delay(Duration::from_secs(2))));
    /// let client = TerraClient::builder()
    ///     .endpoint(mock.base_url())
    ///     .credentials(mock.app_key(), mock.secret())
    ///     .retry(RetryConfig::disabled())
    ///     .attempt_timeout(Some(Duration::from_millis(100)))
    ///     .build()?;
    /// let err = client.obtain_token().await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Timeout);
    /// # Ok(()) }
    /// ```
    pub fn attempt_timeout(mut self, d: Option<Duration>) -> Self {
        self.attempt_timeout = d;
        self
    }

    /// Timeout of a whole call, retries and waits included (default none; retries are
    /// bounded by [`RetryConfig::max_elapsed`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// use std::time::Duration;
    /// use terra_client::{ErrorKind, TerraClient};
    /// use terra_mock::{Fault, FaultRule};
    /// // Every attempt fails with a 503: the retries stop when the budget is spent.
    /// mock.inject(FaultRule::any().fault(Fault::Status { status: 503, retry_after: None }));
    /// let client = TerraClient::builder()
    ///     .endpoint(mock.base_url())
    ///     .credentials(mock.app_key(), mock.secret())
    ///     .total_timeout(Some(Duration::from_millis(300)))
    ///     .build()?;
    /// let err = client.obtain_token().await.unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Timeout | ErrorKind::HttpStatus), "{err}");
    /// # Ok(()) }
    /// ```
    pub fn total_timeout(mut self, d: Option<Duration>) -> Self {
        self.total_timeout = d;
        self
    }

    /// The `User-Agent` (default `terra-rs/<version>`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// let client = terra_client::TerraClient::builder()
    ///     .endpoint(mock.base_url())
    ///     .credentials(mock.app_key(), mock.secret())
    ///     .user_agent("survey-office/2.1")
    ///     .build()?;
    /// client.obtain_token().await?;
    /// assert_eq!(mock.requests()[0].header("user-agent"), Some("survey-office/2.1"));
    /// # Ok(()) }
    /// ```
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Sign with `X-Date` instead of `Date` (the browser-client variant; the gateway
    /// accepts both).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// use terra_client::{DateHeader, TerraClient};
    /// let client = TerraClient::builder()
    ///     .endpoint(mock.base_url())
    ///     .credentials(mock.app_key(), mock.secret())
    ///     .date_header(DateHeader::XDate)
    ///     .build()?;
    /// client.obtain_token().await?;
    /// let sent = &mock.requests()[0];
    /// assert!(sent.header("x-date").is_some() && sent.header("date").is_none());
    /// # Ok(()) }
    /// ```
    pub fn date_header(mut self, h: DateHeader) -> Self {
        self.date_header = h;
        self
    }

    /// Whether creates carry a request marker in `meta` so that a retry after an
    /// ambiguous failure can tell whether the first attempt took effect (default on; see
    /// "Retries" in the crate documentation). When off, creates are retried only when
    /// the request surely did not reach the service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::start().await?;
    /// use terra_types::CreateResourceRequest;
    /// let client = terra_client::TerraClient::builder()
    ///     .endpoint(mock.base_url())
    ///     .credentials(mock.app_key(), mock.secret())
    ///     .create_markers(false)
    ///     .build()?;
    /// let r = client.create_resource(&CreateResourceRequest::map("survey")).await?;
    /// assert!(!r.meta.contains(terra_client::MARKER_KEY));
    /// # Ok(()) }
    /// ```
    pub fn create_markers(mut self, on: bool) -> Self {
        self.create_markers = on;
        self
    }

    /// Where requests go: `.endpoint()`, else (with [`TerraClient::from_env`])
    /// `TERRA_ENDPOINT`, else `.region()`, else (with `from_env`) `TERRA_REGION` or `us`.
    fn resolve_endpoint(&self) -> Result<String> {
        self.resolve_endpoint_with(|name| std::env::var(name).ok())
    }

    /// [`Self::resolve_endpoint`] with the environment read through `lookup`.
    fn resolve_endpoint_with(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String> {
        let env = |name: &str| {
            self.endpoint_from_env
                .then(|| lookup(name))
                .flatten()
                .filter(|v| !v.trim().is_empty())
        };
        if let Some(e) = self.endpoint.clone().or_else(|| env(ENV_ENDPOINT)) {
            return Ok(e);
        }
        let region = match (self.region, env(ENV_REGION)) {
            (Some(r), _) => r,
            (None, Some(name)) => name
                .parse::<Region>()
                .map_err(|e| Error::config(format!("{ENV_REGION}: {e}")))?,
            (None, None) if self.endpoint_from_env => Region::Us,
            (None, None) => {
                return Err(Error::config(
                    "no endpoint: call .region(Region::Us | Region::Cn) or .endpoint(url), or use TerraClient::from_env()",
                ));
            }
        };
        Ok(region.base_url().to_owned())
    }

    /// Builds the client.
    ///
    /// ```
    /// use terra_client::{ErrorKind, TerraClient};
    /// let err = TerraClient::builder().credentials("k", "s").build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("no endpoint"));
    /// ```
    pub fn build(self) -> Result<TerraClient> {
        let endpoint = self.resolve_endpoint()?;
        let mut base = reqwest::Url::parse(endpoint.trim_end_matches('/'))
            .map_err(|e| Error::config(format!("invalid endpoint {endpoint:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::config(format!(
                "invalid endpoint {endpoint:?}: use http(s)://host[:port]"
            )));
        }
        base.set_path("");
        let creds = match self.creds {
            Some(c) => c,
            None => {
                let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
                match (get(ENV_APP_KEY), get(ENV_SECRET_KEY)) {
                    (Some(ak), Some(sk)) => Credentials::new(ak, sk),
                    _ => {
                        let how = if self.from_env {
                            ""
                        } else {
                            "pass .credentials(app_key, secret) or "
                        };
                        return Err(Error::config(format!(
                            "no credentials: {how}set {ENV_APP_KEY} and {ENV_SECRET_KEY}"
                        )));
                    }
                }
            }
        };
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| {
                    Error::config(format!("cannot build the HTTP client: {e}")).with_source(e)
                })?,
        };
        Ok(TerraClient {
            inner: Arc::new(Inner {
                base,
                http,
                creds,
                clock: self.clock,
                retry: self.retry,
                attempt_timeout: self.attempt_timeout,
                total_timeout: self.total_timeout,
                date_header: self.date_header,
                create_markers: self.create_markers,
            }),
        })
    }
}

/// One request as the pipeline sends it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: reqwest::Method,
    /// Path after `/terra-rescon-be`, e.g. `/v2/jobs`.
    pub path: String,
    /// Encoded query, without `?`.
    pub query: Option<String>,
    /// The exact body bytes (JSON), serialized once.
    pub body: Option<Vec<u8>>,
    /// Add `Return-Detail: true`.
    pub detail: bool,
}

impl Call {
    pub(crate) fn new(method: reqwest::Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            body: None,
            detail: false,
        }
    }

    pub(crate) fn json<B: serde::Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        self.body = Some(
            serde_json::to_vec(body)
                .map_err(|e| Error::config(format!("cannot serialize the request body: {e}")))?,
        );
        Ok(self)
    }

    pub(crate) fn query<Q: serde::Serialize>(mut self, q: &Q) -> Result<Self> {
        let s = serde_urlencoded::to_string(q)
            .map_err(|e| Error::config(format!("cannot encode the query: {e}")))?;
        self.query = (!s.is_empty()).then_some(s);
        Ok(self)
    }

    pub(crate) fn detail(mut self) -> Self {
        self.detail = true;
        self
    }

    fn describe(&self) -> String {
        format!("{} {API_PREFIX}{}", self.method, self.path)
    }
}

/// The future of a [`Retry::Checked`] check.
pub(crate) type CheckFuture<'a, T> = Pin<Box<dyn Future<Output = Result<Option<T>>> + Send + 'a>>;

/// How a call may be retried.
pub(crate) enum Retry<'a, T> {
    /// Repeating it is harmless (GET, PUT, DELETE, obtain_token).
    Idempotent,
    /// Only retried when the request surely did not reach the service.
    OnlyIfNotSent,
    /// After an ambiguous failure, `check` looks whether the call took effect: `Some`
    /// ends the call with that value, `None` means it did not and the call is retried.
    Checked(&'a (dyn Fn() -> CheckFuture<'a, T> + Send + Sync)),
}

fn retry_after(h: &HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    terra_sign::parse_date(v).map(|t| t.duration_since(now).unwrap_or_default())
}

/// Interprets a response by the SDK rule: a 2xx is a success only with `code == 0`;
/// otherwise the envelope, then the gateway's `{message}`, then the raw text.
pub(crate) fn interpret<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<Option<T>> {
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let result = value
        .as_ref()
        .and_then(|v| v.get("result"))
        .map(|r| serde_json::from_value::<ApiResult>(r.clone()));
    match result {
        Some(Ok(r)) if r.code.is_success() && (200..300).contains(&status) => {
            let data = value
                .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
                .unwrap_or(serde_json::Value::Null);
            if data.is_null() {
                return Ok(None);
            }
            serde_path_to_error::deserialize(data)
                .map(Some)
                .map_err(|e| {
                    let path = e.path().to_string();
                    Error::decode(format!("cannot decode `data.{path}`: {}", e.inner()))
                        .with_status(status)
                })
        }
        Some(Ok(r)) if !r.code.is_success() => Err(Error::api(status, r).maybe_sent(status >= 500)),
        Some(Err(e)) => {
            Err(Error::decode(format!("cannot decode `result`: {e}")).with_status(status))
        }
        _ => {
            if let Some(Ok(g)) = value
                .as_ref()
                .map(|v| serde_json::from_value::<GatewayError>(v.clone()))
            {
                let kind = if matches!(status, 401 | 403) {
                    ErrorKind::Authentication
                } else {
                    ErrorKind::HttpStatus
                };
                return Err(Error::new(kind, g.message)
                    .with_status(status)
                    .maybe_sent(status >= 500));
            }
            if (200..300).contains(&status) {
                return Err(
                    Error::decode("the response is not a TerraAPI envelope").with_status(status)
                );
            }
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            let kind = if matches!(status, 401 | 403) {
                ErrorKind::Authentication
            } else {
                ErrorKind::HttpStatus
            };
            Err(Error::new(
                kind,
                if text.is_empty() {
                    "no body".to_owned()
                } else {
                    text
                },
            )
            .with_status(status)
            .maybe_sent(status >= 500))
        }
    }
}

impl Inner {
    /// The full URL of a call and the request-target to sign, taken from the final URL.
    fn url(&self, call: &Call) -> (reqwest::Url, String) {
        let mut url = self.base.clone();
        url.set_path(&format!("{API_PREFIX}{}", call.path));
        url.set_query(call.query.as_deref());
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        (url, target)
    }

    async fn attempt<T: DeserializeOwned>(&self, call: &Call, attempt: u32) -> Result<Option<T>> {
        let (url, target) = self.url(call);
        let span = tracing::debug_span!(
            "terra.request",
            method = %call.method,
            route = %url.path(),
            attempt,
            status = tracing::field::Empty,
            api_code = tracing::field::Empty
        );
        let _enter = span.enter();
        let body = call.body.as_deref().unwrap_or_default();
        let mut params = SigningParams::new(self.clock.now());
        params.date_header = self.date_header;
        let signed = terra_sign::sign(
            &SignableRequest::new(call.method.as_str(), &target, body),
            &self.creds,
            &params,
        );
        let mut req = self.http.request(call.method.clone(), url);
        for (name, value) in signed.headers() {
            req = req.header(name, value);
        }
        if call.body.is_some() {
            req = req.header(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=UTF-8"),
            );
            req = req.body(body.to_vec());
        }
        if call.detail {
            req = req.header("Return-Detail", "true");
        }
        if let Some(t) = self.attempt_timeout {
            req = req.timeout(t);
        }
        drop(_enter);
        let sent = async {
            let resp = req.send().await.map_err(transport)?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.map_err(transport)?;
            Ok::<_, Error>((status, headers, bytes))
        }
        .await;
        let (status, headers, bytes) = sent.map_err(|e| e.with_context(call.describe()))?;
        span.record("status", status);
        let out = interpret::<T>(status, &bytes).map_err(|e| {
            e.with_retry_after(retry_after(&headers, self.clock.now()))
                .with_context(call.describe())
        });
        if let Err(e) = &out {
            if let Some(code) = e.api_code() {
                span.record("api_code", code.code());
            }
            tracing::debug!(parent: &span, error = %e, "attempt failed");
        } else {
            tracing::debug!(parent: &span, "ok");
        }
        out
    }

    /// Runs a call with retries. `not_found_ok_after_ambiguity`: a DELETE whose earlier
    /// attempt may have taken effect counts a later 102002/102114 as done.
    pub(crate) async fn run<T: DeserializeOwned>(
        &self,
        make: &(dyn Fn() -> Result<Call> + Send + Sync),
        retry: Retry<'_, T>,
        not_found_ok_after_ambiguity: bool,
    ) -> Result<Option<T>> {
        let work = async {
            let started = Instant::now();
            let mut previous: Option<Duration> = None;
            let mut ambiguous = false;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let call = make()?;
                let err = match self.attempt::<T>(&call, attempt).await {
                    Ok(v) => return Ok(v),
                    Err(e)
                        if ambiguous
                            && not_found_ok_after_ambiguity
                            && e.kind() == ErrorKind::NotFound =>
                    {
                        return Ok(None);
                    }
                    Err(e) => e,
                };
                if attempt >= self.retry.max_attempts || !err.is_retryable() {
                    return Err(err);
                }
                if err.may_have_taken_effect() {
                    ambiguous = true;
                    match &retry {
                        Retry::Idempotent => {}
                        Retry::OnlyIfNotSent => return Err(err),
                        Retry::Checked(check) => {
                            tracing::info!(call = %call.describe(), error = %err, "checking whether the failed attempt took effect");
                            if let Some(v) = check().await? {
                                return Ok(Some(v));
                            }
                        }
                    }
                }
                let drawn = self
                    .retry
                    .backoff
                    .next_delay(previous, rand::random::<f64>());
                let delay = drawn.max(err.retry_after().unwrap_or_default());
                if started.elapsed() + delay > self.retry.max_elapsed {
                    return Err(err);
                }
                tracing::warn!(call = %call.describe(), attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
                previous = Some(drawn);
                self.clock.sleep(delay).await;
            }
        };
        match self.total_timeout {
            Some(t) => tokio::time::timeout(t, work).await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("the call did not finish within {t:?}"),
                )
                .maybe_sent(true))
            }),
            None => work.await,
        }
    }
}

fn transport(e: reqwest::Error) -> Error {
    let sent = !e.is_connect();
    let (kind, what) = if e.is_timeout() && !e.is_connect() {
        (ErrorKind::Timeout, "timed out")
    } else if e.is_connect() {
        (ErrorKind::Transport, "cannot connect")
    } else {
        (ErrorKind::Transport, "the connection failed")
    };
    let detail = std::error::Error::source(&e)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    Error::new(kind, format!("{what}{detail}"))
        .maybe_sent(sent)
        .with_source(e.without_url())
}

impl TerraClient {
    /// A builder (no endpoint and no credentials yet).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = terra_client::TerraClient::builder()
    ///     .region(terra_client::Region::Us)
    ///     .credentials("k", "s")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> TerraClientBuilder {
        TerraClientBuilder::default()
    }

    /// A builder configured from the environment, the way the AWS SDKs read
    /// `AWS_ENDPOINT_URL`, so that an unmodified program can be pointed at an emulator:
    /// the keys from `DJI_APP_KEY` / `DJI_SECRET_KEY`, the host from `TERRA_ENDPOINT`, else
    /// DJI's host for `TERRA_REGION` (`us`, the default, or `cn`). Calls on the builder win
    /// over the environment (`.endpoint()` over `TERRA_ENDPOINT`, `.region()` over
    /// `TERRA_REGION`, `.credentials()` over the keys).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_client::TerraClient;
    /// // Explicit settings win over whatever the environment holds.
    /// let client = TerraClient::from_env()
    ///     .endpoint("http://127.0.0.1:8080")
    ///     .credentials("k", "s")
    ///     .build()?;
    /// assert_eq!(client.endpoint(), "http://127.0.0.1:8080");
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> TerraClientBuilder {
        TerraClientBuilder {
            endpoint_from_env: true,
            from_env: true,
            ..TerraClientBuilder::default()
        }
    }

    /// The base URL requests go to.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = terra_client::TerraClient::builder()
    ///     .region(terra_client::Region::Cn)
    ///     .credentials("k", "s")
    ///     .build()?;
    /// assert_eq!(client.endpoint(), "https://openapi-cn.dji.com");
    /// # Ok(()) }
    /// ```
    pub fn endpoint(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// The app key in use.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = terra_client::TerraClient::builder()
    ///     .region(terra_client::Region::Us)
    ///     .credentials("my-app-key", "s")
    ///     .build()?;
    /// assert_eq!(client.app_key(), "my-app-key");
    /// # Ok(()) }
    /// ```
    pub fn app_key(&self) -> &str {
        self.inner.creds.app_key()
    }

    /// The clock in use.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = terra_client::TerraClient::builder()
    ///     .region(terra_client::Region::Us)
    ///     .credentials("k", "s")
    ///     .build()?;
    /// let now = client.clock().now(); // the system clock unless one was set
    /// assert!(now > std::time::SystemTime::UNIX_EPOCH);
    /// # Ok(()) }
    /// ```
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// A signed request to any path, for what the SDK does not model. `path_and_query`
    /// is relative to `/terra-rescon-be` (e.g. `/v2/jobs?page=2`; the prefix is accepted
    /// too). Returns `data` of the envelope. GET, PUT and DELETE are retried; POST only
    /// when the request surely did not reach the service.
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
    /// let data = client.raw("GET", "/v2/jobs?page=1&rows=10", None).await?;
    /// println!("{}", data.unwrap_or_default()["total"]);
    /// # Ok(()) }
    /// ```
    pub async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>> {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::config(format!("invalid HTTP method {method:?}")))?;
        let rel = path_and_query
            .strip_prefix(API_PREFIX)
            .unwrap_or(path_and_query);
        let (path, query) = match rel.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (rel.to_owned(), None),
        };
        if !path.starts_with('/') {
            return Err(Error::config(format!(
                "path {path_and_query:?} must start with `/`"
            )));
        }
        let make = || {
            let mut c = Call::new(method.clone(), path.clone());
            c.query = query.clone();
            match body {
                Some(b) => c.json(b),
                None => Ok(c),
            }
        };
        let retry = if method == reqwest::Method::POST {
            Retry::OnlyIfNotSent
        } else {
            Retry::Idempotent
        };
        self.inner.run(&make, retry, false).await
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    /// Resolves the endpoint of `b` with `vars` as the whole environment.
    fn resolve(b: TerraClientBuilder, vars: &[(&str, &str)]) -> Result<String> {
        b.resolve_endpoint_with(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn from_env_reads_the_endpoint_then_the_region_and_code_wins() {
        let mock = "http://127.0.0.1:8080";
        let ok = |b, vars: &[(&str, &str)]| resolve(b, vars).unwrap();
        assert_eq!(ok(TerraClient::from_env(), &[(ENV_ENDPOINT, mock)]), mock);
        assert_eq!(
            ok(TerraClient::from_env(), &[]),
            Region::Us.base_url(),
            "us by default"
        );
        assert_eq!(
            ok(TerraClient::from_env(), &[(ENV_REGION, "cn")]),
            Region::Cn.base_url()
        );
        assert_eq!(
            ok(
                TerraClient::from_env().endpoint("http://other:1"),
                &[(ENV_ENDPOINT, mock)]
            ),
            "http://other:1",
            ".endpoint() wins over TERRA_ENDPOINT"
        );
        assert_eq!(
            ok(
                TerraClient::from_env().region(Region::Us),
                &[(ENV_REGION, "cn")]
            ),
            Region::Us.base_url(),
            ".region() wins over TERRA_REGION"
        );
        assert_eq!(
            ok(
                TerraClient::from_env().region(Region::Cn),
                &[(ENV_ENDPOINT, mock)]
            ),
            mock,
            "TERRA_ENDPOINT overrides a region's host, as AWS_ENDPOINT_URL does"
        );
        assert_eq!(
            ok(TerraClient::from_env(), &[(ENV_ENDPOINT, "  ")]),
            Region::Us.base_url(),
            "blank is unset"
        );
        let e = resolve(TerraClient::from_env(), &[(ENV_REGION, "mars")]).unwrap_err();
        assert!(e.to_string().contains("TERRA_REGION"), "{e}");
        // The plain builder never reads the environment.
        let e = resolve(TerraClient::builder(), &[(ENV_ENDPOINT, mock)]).unwrap_err();
        assert!(e.to_string().contains("no endpoint"), "{e}");
        assert_eq!(
            ok(
                TerraClient::builder().region(Region::Cn),
                &[(ENV_ENDPOINT, mock)]
            ),
            Region::Cn.base_url()
        );
    }
}
