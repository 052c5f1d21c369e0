//! The harness's controls: the clock, faults, jobs, accounts, the request log and reset.
//! Every method is one of [`crate::control::Control`]'s operations, the same the control
//! API serves over HTTP under `/_terra-mock/v1`.

use std::time::{Duration, SystemTime};

use terra_types::{Job, JobStatus, StsToken};

use super::TerraMock;
use crate::clock::ClockMode;
use crate::config::{AccountConfig, JobTiming, Provider, RandomFaults};
use crate::control::{AccountStats, Control, ControlError};
use crate::cors::CorsConfig;
use crate::faults::FaultRule;
use crate::record::RecordedRequest;
use crate::state::JobFailure;

impl TerraMock {
    fn control(&self) -> Control<'_> {
        Control(&self.inner)
    }

    /// Moves the mock's time forward and applies every job transition now due. On a
    /// [`ManualClock`](crate::ManualClock) the clock itself moves (so that whoever shares it sees the same
    /// time); otherwise the mock's time is shifted ahead of its clock. The control API's
    /// `POST /_terra-mock/v1/clock/advance`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// use std::time::Duration;
    /// use terra_types::JobStatus;
    /// mock.start_sample_job().await;
    /// mock.advance(Duration::from_secs(1));
    /// assert!(mock.jobs(mock.app_key())[0].status.is_running());
    /// mock.advance(Duration::from_secs(3600)); // hours of reconstruction in no time
    /// let job = &mock.jobs(mock.app_key())[0];
    /// assert_eq!(job.status, JobStatus::Succeeded);
    /// assert!(job.output_resource_uuid.is_some());
    /// # Ok(()) }
    /// ```
    pub fn advance(&self, by: Duration) {
        match &self.manual {
            Some(clock) => {
                clock.advance(by);
                self.control().tick();
            }
            None => self.control().advance(by),
        }
    }

    /// Makes every STS session issued so far expire now: storage requests signed with them
    /// get ExpiredToken / 0002-00000007.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::start().await?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.expire_tokens_now();
    /// // A PUT signed with `token` now gets 400 ExpiredToken (S3) or 403 SecurityTokenExpired (OSS).
    /// # let _ = token;
    /// # Ok(()) }
    /// ```
    pub fn expire_tokens_now(&self) {
        self.control().expire_tokens();
    }

    /// Every request received (up to `request_log_limit`), oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("GET", "/jobs?page=2", "").await;
    /// let seen = &mock.requests()[0];
    /// assert_eq!((seen.method.as_str(), seen.path(), seen.status), ("GET", "/terra-rescon-be/v2/jobs", 200));
    /// assert_eq!(seen.app_key.as_deref(), Some(mock.app_key()));
    /// # Ok(()) }
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.control().all_requests()
    }

    /// Refusals and warnings since the mock started (or was reset, or its requests were
    /// cleared), by code and by client, with the first example of each: what
    /// `GET /_terra-mock/v1/report` answers.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("POST", "/resources", r#"{"type":"map"}"#).await;
    /// let report = mock.report();
    /// assert_eq!(report.refusals[0].code, terra_mock::ReasonCode::InvalidParameter);
    /// assert!(report.to_text().contains("invalid_parameter"));
    /// # Ok(()) }
    /// ```
    pub fn report(&self) -> crate::Report {
        self.control().report()
    }

    /// Forgets the received requests (and the report's tally).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.call("GET", "/jobs", "").await;
    /// mock.clear_requests();
    /// assert!(mock.requests().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn clear_requests(&self) {
        self.control().clear_requests();
    }

    /// Adds a scripted fault; returns its id (for [`TerraMock::remove_fault`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::{Fault, FaultRule};
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.inject(FaultRule::on("GET", "/terra-rescon-be/v2/jobs").times(1).fault(Fault::Reset));
    /// assert_eq!(mock.call("GET", "/jobs", "").await.0, 500, "a reset, as the router shows it");
    /// assert_eq!(mock.requests()[0].fault.as_deref(), Some("Reset"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// When the rule's path pattern was refused ([`FaultRule::check`] says why), or a
    /// thousand rules are in force already: a test that asks for a fault it cannot have
    /// should stop there. [`TerraMock::try_inject`] returns the error instead.
    pub fn inject(&self, rule: FaultRule) -> u64 {
        self.try_inject(rule)
            .unwrap_or_else(|e| panic!("terra-mock refused the fault rule: {e}"))
    }

    /// [`TerraMock::inject`], returning a refusal instead of panicking.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::FaultRule;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let too_long = format!("/{}", "**/".repeat(500));
    /// let err = mock.try_inject(FaultRule::on("GET", &too_long)).unwrap_err();
    /// assert!(err.to_string().contains("at most 1024 bytes"));
    /// assert!(mock.try_inject(FaultRule::on("GET", "/terra-rescon-be/**")).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn try_inject(&self, rule: FaultRule) -> Result<u64, ControlError> {
        self.control().add_fault(rule)
    }

    /// Sets (or with `None` stops) random faults. Refused when a probability is outside 0
    /// to 1, or they add up to more than 1.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::RandomFaults;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.set_random_faults(Some(RandomFaults { error_5xx: 1.0, ..Default::default() }))?;
    /// assert!(mock.call("GET", "/jobs", "").await.0 >= 500);
    /// mock.set_random_faults(None)?;
    /// assert_eq!(mock.call("GET", "/jobs", "").await.0, 200);
    /// # Ok(()) }
    /// ```
    pub fn set_random_faults(&self, faults: Option<RandomFaults>) -> Result<(), ControlError> {
        self.control().set_random_faults(faults)
    }

    /// Removes every scripted and random fault.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_mock::FaultRule;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// mock.inject(FaultRule::any());
    /// mock.clear_faults();
    /// assert_eq!(mock.call("GET", "/jobs", "").await.0, 200);
    /// # Ok(()) }
    /// ```
    pub fn clear_faults(&self) {
        self.control().clear_faults();
    }

    /// The next started job will fail as described.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// use terra_mock::JobFailure;
    /// use terra_types::JobStatus;
    /// mock.fail_next_job(JobFailure::during_execution("Insufficient overlap between images"));
    /// mock.start_sample_job().await;
    /// mock.advance(std::time::Duration::from_secs(3600));
    /// let job = &mock.jobs(mock.app_key())[0];
    /// assert_eq!(job.status, JobStatus::Failed);
    /// assert_eq!(job.message.as_deref(), Some("Insufficient overlap between images"));
    /// # Ok(()) }
    /// ```
    pub fn fail_next_job(&self, failure: JobFailure) {
        self.inner.failures.push(failure);
    }

    /// Fails a running job now; `false` if it is not running.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// let job = mock.start_sample_job().await;
    /// assert!(mock.fail_job(mock.app_key(), &job, "out of disk"));
    /// assert_eq!(mock.jobs(mock.app_key())[0].status, terra_types::JobStatus::Failed);
    /// assert!(!mock.fail_job(mock.app_key(), &job, "again"), "no longer running");
    /// # Ok(()) }
    /// ```
    pub fn fail_job(&self, app_key: &str, job_uuid: &str, message: &str) -> bool {
        let Ok(id) = uuid::Uuid::parse_str(job_uuid) else {
            return false;
        };
        let Some(cell) = self.inner.accounts.get(app_key) else {
            return false;
        };
        let env = self.inner.env();
        cell.lock(&env)
            .end_run(&id, terra_types::JobStatus::Failed, message, env.now)
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
        self.control().issue_token(app_key).ok()
    }

    /// Counts of an account's state.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let clock = terra_mock::ManualClock::starting_now();
    /// # let mock = terra_mock::TerraMock::builder().manual_clock(clock).build()?;
    /// mock.start_sample_job().await;
    /// mock.advance(std::time::Duration::from_secs(3600));
    /// let s = mock.stats(mock.app_key());
    /// assert_eq!((s.map_resources, s.output_resources, s.jobs, s.job_starts), (1, 1, 1, 1));
    /// assert!(s.files > 10, "10 photos plus the outputs");
    /// # Ok(()) }
    /// ```
    pub fn stats(&self, app_key: &str) -> AccountStats {
        self.control().stats(app_key).unwrap_or_default()
    }

    /// The scripted fault rules in force, with their ids, first match first (a rule that
    /// has fired its count is gone).
    ///
    /// ```
    /// use terra_mock::{FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build().unwrap();
    /// let id = mock.inject(FaultRule::on("GET", "/terra-rescon-be/v2/jobs").times(2));
    /// assert_eq!(mock.faults()[0].0, id);
    /// ```
    pub fn faults(&self) -> Vec<(u64, FaultRule)> {
        self.control().faults()
    }

    /// Removes one scripted fault rule.
    ///
    /// ```
    /// use terra_mock::{FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build().unwrap();
    /// let id = mock.inject(FaultRule::any());
    /// mock.remove_fault(id).unwrap();
    /// assert!(mock.faults().is_empty());
    /// assert!(mock.remove_fault(id).is_err(), "gone already");
    /// ```
    pub fn remove_fault(&self, id: u64) -> Result<(), ControlError> {
        self.control().remove_fault(id)
    }

    /// Adds an account while the mock runs. Refused if the app key is taken or empty.
    ///
    /// ```
    /// use terra_mock::{AccountConfig, Provider, TerraMock};
    /// let mock = TerraMock::builder().build().unwrap();
    /// mock.create_account(AccountConfig::new("cn-ak", "cn-sk", Provider::Oss)).unwrap();
    /// assert!(mock.issue_token("cn-ak").is_some());
    /// assert!(mock.create_account(AccountConfig::new("cn-ak", "x", Provider::S3)).is_err());
    /// ```
    pub fn create_account(&self, account: AccountConfig) -> Result<(), ControlError> {
        self.control().create_account(account).map(drop)
    }

    /// Every account (secrets included), in creation order.
    ///
    /// ```
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// assert_eq!(mock.accounts()[0].app_key, mock.app_key());
    /// ```
    pub fn accounts(&self) -> Vec<AccountConfig> {
        self.control().accounts()
    }

    /// Deletes an account with its resources, files, jobs, sessions and objects.
    ///
    /// ```
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// mock.delete_account(mock.app_key()).unwrap();
    /// assert!(mock.issue_token(mock.app_key()).is_none());
    /// ```
    pub fn delete_account(&self, app_key: &str) -> Result<(), ControlError> {
        self.control().delete_account(app_key)
    }

    /// Everything back to how the mock started: the configured accounts, empty; no
    /// sessions, objects, faults, queued failures or logged requests; the configured job
    /// timing. The clock keeps its time.
    ///
    /// ```
    /// use terra_mock::{FaultRule, TerraMock};
    /// let mock = TerraMock::builder().build().unwrap();
    /// mock.inject(FaultRule::any());
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.jpg", b"photo").unwrap();
    /// mock.reset();
    /// assert!(mock.faults().is_empty());
    /// assert_eq!(mock.object_count(), 0);
    /// ```
    pub fn reset(&self) {
        self.control().reset();
    }

    /// Empties one account (its settings stay): resources, files, jobs, sessions, objects.
    ///
    /// ```
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.jpg", b"photo").unwrap();
    /// mock.reset_account(mock.app_key()).unwrap();
    /// assert_eq!((mock.object_count(), mock.sessions(mock.app_key())), (0, 0));
    /// ```
    pub fn reset_account(&self, app_key: &str) -> Result<(), ControlError> {
        self.control().reset_account(app_key)
    }

    /// Sets the mock's time (jobs due by then move on). On a [`crate::ManualClock`] the
    /// mock's time is shifted from the clock's; `advance` still moves the clock itself.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    /// mock.set_clock_mode(terra_mock::ClockMode::Manual);
    /// mock.set_clock(then);
    /// assert_eq!(mock.now(), then);
    /// ```
    pub fn set_clock(&self, to: SystemTime) {
        self.control().set_clock(to);
    }

    /// Whether the mock's time runs (`System`) or stands still until advanced (`Manual`).
    ///
    /// ```
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// assert_eq!(mock.clock_mode(), terra_mock::ClockMode::System);
    /// ```
    pub fn clock_mode(&self) -> ClockMode {
        self.control().clock_mode()
    }

    /// Freezes the mock's time (`Manual`) or lets it run on from where it is (`System`).
    ///
    /// ```
    /// use terra_mock::ClockMode;
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// mock.set_clock_mode(ClockMode::Manual);
    /// let t = mock.now();
    /// std::thread::sleep(std::time::Duration::from_millis(5));
    /// assert_eq!(mock.now(), t, "stands still");
    /// ```
    pub fn set_clock_mode(&self, mode: ClockMode) {
        self.control().set_clock_mode(mode);
    }

    /// The stage timing of jobs started from now on.
    ///
    /// ```
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// assert_eq!(mock.timing(), terra_mock::JobTiming::default());
    /// ```
    pub fn timing(&self) -> JobTiming {
        self.control().timing()
    }

    /// Changes the stage timing of jobs started from now on (running jobs keep theirs).
    /// Refused for a negative or non-finite duration.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// mock.set_timing(terra_mock::JobTiming::lasting(Duration::from_secs(60))).unwrap();
    /// assert_eq!(mock.timing().executing, 60.0);
    /// ```
    pub fn set_timing(&self, timing: JobTiming) -> Result<(), ControlError> {
        self.control().set_timing(timing)
    }

    /// The CORS configuration of a storage bucket now.
    ///
    /// ```
    /// use terra_mock::{CorsConfig, Provider};
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// assert_eq!(mock.storage_cors(Provider::Oss), CorsConfig::default_for_oss());
    /// ```
    pub fn storage_cors(&self, provider: Provider) -> CorsConfig {
        self.control().storage_cors(provider)
    }

    /// Replaces a bucket's CORS configuration (as `PutBucketCors` would; an empty rule list
    /// turns CORS off), or with `None` puts back the configured one. Refused for a rule
    /// S3 and OSS refuse (no origin or method, an unknown method, two `*` in a pattern).
    ///
    /// ```
    /// use terra_mock::{CorsConfig, CorsRule, Provider};
    /// let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// // A bucket misconfigured as a test wants to see it: only one origin may upload.
    /// let only = CorsRule {
    ///     allowed_origins: vec!["https://app.example".into()],
    ///     allowed_methods: vec!["PUT".into()],
    ///     allowed_headers: vec!["*".into()],
    ///     ..Default::default()
    /// };
    /// mock.set_storage_cors(Provider::S3, Some(CorsConfig { rules: vec![only], ..Default::default() }))?;
    /// assert_eq!(mock.storage_cors(Provider::S3).rules.len(), 1);
    /// mock.set_storage_cors(Provider::S3, None)?;
    /// assert_eq!(mock.storage_cors(Provider::S3), CorsConfig::default_for_s3());
    /// # Ok::<(), terra_mock::ControlError>(())
    /// ```
    pub fn set_storage_cors(
        &self,
        provider: Provider,
        cors: Option<CorsConfig>,
    ) -> Result<(), ControlError> {
        self.control().set_storage_cors(provider, cors)
    }

    /// Moves a started job on to `status` now: forward through the stages (outputs made on
    /// the way), or to stopped or failed. Refused for a job not started, already ended, or
    /// asked to go back.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use terra_types::JobStatus;
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// let (_, r) = mock.call("POST", "/resources", r#"{"name":"site","type":"map"}"#).await;
    /// let resource = r["data"]["uuid"].as_str().unwrap();
    /// let mut files = Vec::new();
    /// for i in 0..10 { // a 2D job needs at least 10 photos
    ///     let name = format!("DJI_{i:04}.JPG");
    ///     let etag = mock.put_object(&token, &name, b"photo")?.etag;
    ///     files.push(serde_json::json!({"name": name, "etag": etag, "checksum": etag}));
    /// }
    /// let cb = serde_json::json!({"callbackParam": token.callback_param, "resourceUUID": resource,
    ///     "files": files});
    /// mock.call("POST", "/store/upload_callback", &cb.to_string()).await;
    /// let (_, j) = mock.call("POST", "/jobs", r#"{"name":"site 2D"}"#).await;
    /// let job = j["data"]["uuid"].as_str().unwrap();
    /// let start = serde_json::json!({"type": 14, "resourceUuid": resource, "parameters": "{\"parameter\":{}}"});
    /// let (_, started) = mock.call("POST", &format!("/jobs/{job}/start"), &start.to_string()).await;
    /// assert_eq!(started["result"]["code"], 0, "{started}");
    /// let done = mock.move_job(job, JobStatus::Succeeded, None)?;
    /// assert_eq!(done.status, JobStatus::Succeeded);
    /// assert!(done.output_resource_uuid.is_some());
    /// assert!(mock.move_job(job, JobStatus::Executing, None).is_err(), "it has ended");
    /// # Ok(()) }
    /// ```
    pub fn move_job(
        &self,
        job_uuid: &str,
        status: JobStatus,
        message: Option<&str>,
    ) -> Result<Job, ControlError> {
        self.control().move_job(job_uuid, status, message)
    }

    /// The whole state as one JSON document, object bytes inline (base64): the control
    /// API's `GET /_terra-mock/v1/state`. A fixture is this document, restored with
    /// [`TerraMock::import_state`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// mock.put_object(&token, "a.jpg", b"photo")?;
    /// let doc = mock.export_state()?;
    /// mock.reset();
    /// assert_eq!(mock.object_count(), 0);
    /// mock.import_state(doc)?;
    /// assert_eq!(mock.object_count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn export_state(&self) -> Result<serde_json::Value, ControlError> {
        let doc = self.control().export()?;
        serde_json::to_value(doc)
            .map_err(|e| ControlError::conflict(format!("cannot write the state document: {e}")))
    }

    /// Replaces the whole state with a document of [`TerraMock::export_state`]: the control
    /// API's `PUT /_terra-mock/v1/state`. All or nothing: a document that is invalid, or
    /// whose objects cannot all be stored, changes nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let err = mock.import_state(serde_json::json!({"format": 999})).unwrap_err();
    /// assert_eq!(err.kind(), terra_mock::ControlErrorKind::Invalid);
    /// # Ok(()) }
    /// ```
    pub fn import_state(&self, doc: serde_json::Value) -> Result<(), ControlError> {
        let doc = serde_path_to_error::deserialize(doc)
            .map_err(|e| ControlError::invalid(format!("not a state document: {e}")))?;
        self.control().import(doc)
    }
}
