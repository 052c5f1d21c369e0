//! The shared core of a running mock: settings, clock, accounts and their state, STS
//! sessions, the object store, faults and the request log. The API (`api/`), the storage
//! endpoints (`storage/`) and the harness use it; it uses none of them.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use terra_sign::Verifier;

use crate::clock::{Clock, MockClock};
use crate::config::{JobTiming, MockConfig, Provider};
use crate::error::ApiResult;
use crate::faults::Faults;
use crate::persist::Db;
use crate::record::RequestLog;
use crate::state::sessions::{Dropped, Sessions, StsSession};
use crate::state::{Account, AccountCell, Accounts, Env, FailureQueue, StartEnv, bucket_of};
use crate::storage::BlobStore;
use crate::storage::presign::{self, LinkParams};
use terra_types::{Job, StartJobRequest};

/// What a data directory holds, opened.
type Loaded = (Option<Arc<Db>>, Accounts, Sessions, BlobStore);

const META_CLOCK: &str = "clock";
const META_TIMING: &str = "timing";

/// The prefix of every API route.
pub const API_PREFIX: &str = "/terra-rescon-be/";

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Arc<AccountCell>);

/// The address a request came from (set by the server; absent for in-process calls).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub std::net::SocketAddr);

/// Whether the control API answers at all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ControlAccess {
    pub on: bool,
}

/// Marks a response whose connection must be closed without answering.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResetConnection;

/// Internal credentials the mock signs download links with.
#[derive(Debug)]
pub(crate) struct ServiceKey {
    pub access_key: String,
    pub secret: String,
}

fn random_key(prefix: &str) -> ServiceKey {
    ServiceKey {
        access_key: format!(
            "{prefix}{}",
            uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase()
        ),
        secret: uuid::Uuid::new_v4().simple().to_string(),
    }
}

/// Settings that can change while the mock runs.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub timing: JobTiming,
    pub storage_cors: crate::cors::StorageCors,
}

#[derive(Debug)]
pub(crate) struct Core {
    pub cfg: MockConfig,
    pub clock: MockClock,
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub storage: BlobStore,
    pub faults: Mutex<Faults>,
    pub log: Mutex<RequestLog>,
    /// Refusals and warnings by code and client, since start or reset.
    pub report: Mutex<crate::reason::ReportBook>,
    pub failures: FailureQueue,
    pub verifier: Verifier,
    pub live: RwLock<Live>,
    pub base_url: RwLock<String>,
    pub service_s3: ServiceKey,
    pub service_oss: ServiceKey,
    /// Where state is kept across restarts, with `--data-dir`.
    pub db: Option<Arc<Db>>,
    /// When this mock started (for the health report).
    pub started: std::time::Instant,
    /// Off when bound to a non-loopback address without an admin token.
    pub control_on: std::sync::atomic::AtomicBool,
}

pub(crate) type Mock = Arc<Core>;

impl Core {
    pub(crate) fn new(cfg: MockConfig, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        if cfg.allowed_hosts.iter().any(|h| h.trim() == "*") && cfg.admin_token.is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "--allowed-host '*' lets any web page whose name resolves here reach the \
                 controls: it needs --admin-token too",
            ));
        }
        let verifier = if cfg.strict_signatures {
            Verifier::strict()
        } else {
            Verifier::default().with_body_validation(cfg.strict_digest)
        }
        .with_clock_skew(Duration::from_secs(cfg.clock_skew_secs));
        let grace = Duration::from_secs(cfg.session_grace_secs);
        let clock = MockClock::new(clock);
        let mut timing = cfg.timing.clone();
        let (db, accounts, sessions, storage) = match &cfg.data_dir {
            None => (
                None,
                Accounts::new(&cfg.accounts, None, Vec::new())?,
                Sessions::default(),
                BlobStore::new()?,
            ),
            Some(dir) => match Self::load(&cfg, dir, &clock, &mut timing, grace) {
                Ok(loaded) => loaded,
                Err(e)
                    if e.kind() == std::io::ErrorKind::InvalidData && cfg.reset_damaged_state =>
                {
                    let moved = crate::persist::move_aside(dir)?;
                    tracing::warn!(
                        error = %e,
                        moved = %moved.join(", "),
                        "the state in --data-dir could not be read: moved it aside and started empty"
                    );
                    timing = cfg.timing.clone();
                    Self::load(&cfg, dir, &clock, &mut timing, grace)?
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!(
                            "{e}. The state in {} cannot be used: move state.db (with its -wal \
                             and -shm files) and objects/ aside, or start with \
                             --reset-damaged-state, which does that (keeping them, renamed \
                             *.damaged-<time>) and starts empty",
                            dir.display()
                        ),
                    ));
                }
                Err(e) => return Err(e),
            },
        };
        Ok(Self {
            accounts,
            sessions,
            storage,
            db,
            faults: Mutex::new(Faults::new(cfg.random_faults.clone())),
            log: Mutex::new(RequestLog::new(
                cfg.request_log_limit,
                cfg.request_log_bytes,
            )),
            report: Mutex::new(crate::reason::ReportBook::default()),
            failures: FailureQueue::default(),
            verifier,
            live: RwLock::new(Live {
                timing,
                storage_cors: cfg.storage_cors.clone(),
            }),
            base_url: RwLock::new("http://127.0.0.1".into()),
            service_s3: random_key("AKIATERRAMOCK"),
            service_oss: random_key("LTAITERRAMOCK"),
            cfg,
            clock,
            started: std::time::Instant::now(),
            control_on: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Opens `dir`'s database and everything it holds. A database that cannot be read, or
    /// rows that cannot, are `InvalidData` errors naming the file.
    fn load(
        cfg: &MockConfig,
        dir: &std::path::Path,
        clock: &MockClock,
        timing: &mut JobTiming,
        grace: Duration,
    ) -> std::io::Result<Loaded> {
        let db = Arc::new(Db::open(dir)?);
        let mut stored = db.load()?;
        let unreadable = |what: &str, e: serde_json::Error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{}: the stored {what} is unreadable: {e}",
                    db.path().display()
                ),
            )
        };
        if let Some(c) = stored.meta.get(META_CLOCK) {
            clock.restore(serde_json::from_str(c).map_err(|e| unreadable("clock", e))?);
        }
        if let Some(t) = stored.meta.get(META_TIMING) {
            *timing = serde_json::from_str(t).map_err(|e| unreadable("job timing", e))?;
        }
        let in_db = |e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{}: {e}", db.path().display()))
        };
        let storage = BlobStore::open(db.clone(), &mut stored).map_err(in_db)?;
        let sessions = Sessions::new(Some(db.clone()), &stored.sessions, grace).map_err(in_db)?;
        let accounts = Accounts::new(
            &cfg.accounts,
            Some(db.clone()),
            std::mem::take(&mut stored.accounts),
        )
        .map_err(in_db)?;
        Ok((Some(db), accounts, sessions, storage))
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Who may use the control API.
    pub(crate) fn control_access(&self) -> ControlAccess {
        ControlAccess {
            on: self.control_on.load(std::sync::atomic::Ordering::Acquire),
        }
    }

    /// Whether state survives a restart.
    pub(crate) fn persistent(&self) -> bool {
        self.db.is_some()
    }

    /// Keeps the clock's shift and mode across restarts (when persistent).
    pub(crate) fn save_clock(&self) {
        if let Some(db) = &self.db {
            let _ = db.set_meta(
                META_CLOCK,
                &serde_json::to_string(&self.clock.state()).unwrap_or_default(),
            );
        }
    }

    /// Keeps the job timing in force across restarts (when persistent).
    pub(crate) fn save_timing(&self) {
        if let Some(db) = &self.db {
            let _ = db.set_meta(
                META_TIMING,
                &serde_json::to_string(&self.timing()).unwrap_or_default(),
            );
        }
    }

    /// What account operations need, at the current time.
    pub(crate) fn env(&self) -> Env<'_> {
        Env {
            now: self.now(),
            cfg: &self.cfg,
            storage: &self.storage,
        }
    }

    /// The job timing in force.
    pub(crate) fn timing(&self) -> JobTiming {
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .timing
            .clone()
    }

    /// Starts a job of `cell` (whose state is `account`): the timing in force, the
    /// account's limits, and the next queued failure, which stays queued if the start is
    /// refused.
    pub(crate) fn start_job(
        &self,
        cell: &AccountCell,
        account: &mut Account,
        uuid: &str,
        req: StartJobRequest,
        env: &Env<'_>,
    ) -> ApiResult<Job> {
        let timing = self.timing();
        let failure = self.failures.pop();
        let start = StartEnv {
            timing: &timing,
            failure: failure.clone(),
            max_running_jobs: cell.max_running_jobs.unwrap_or(self.cfg.max_running_jobs),
            job_quota: cell.job_quota.or(self.cfg.job_quota),
        };
        let r = account.start_job(uuid, req, start, env);
        if let (Err(_), Some(f)) = (&r, failure) {
            self.failures.push_front(f);
        }
        r
    }

    /// A live STS session (expired ones stay findable for the grace period).
    pub(crate) fn session(&self, access_key: &str) -> Option<StsSession> {
        self.sessions.session(
            access_key,
            self.now(),
            Duration::from_secs(self.cfg.session_grace_secs),
        )
    }

    /// Deletes what was uploaded under dropped grants and never registered.
    pub(crate) fn clean_dropped(&self, dropped: Vec<Dropped>) {
        for d in dropped {
            let Some(cell) = self.accounts.get(&d.app_key) else {
                continue;
            };
            let bucket = bucket_of(cell.provider, &self.cfg);
            let keys = self.storage.keys_under(bucket, &d.prefix);
            if keys.is_empty() {
                continue;
            }
            let env = self.env();
            let account = cell.read(&env);
            for key in keys {
                if !account.references(&key) {
                    let _ = self.storage.delete(bucket, &key);
                }
            }
        }
    }

    /// Drops expired sessions and grants past their grace period, and cleans up after them.
    pub(crate) fn prune_sessions(&self) {
        let dropped = self.sessions.prune(self.now());
        self.clean_dropped(dropped);
    }

    pub(crate) fn base_url(&self) -> String {
        self.base_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A presigned download link for an object of an account's bucket.
    pub(crate) fn download_url(&self, provider: Provider, key: &str) -> String {
        let base = self.base_url();
        let (service, region) = match provider {
            Provider::S3 => (&self.service_s3, self.cfg.s3.region.as_str()),
            Provider::Oss => (&self.service_oss, self.cfg.oss.region.as_str()),
        };
        let p = LinkParams {
            base_url: &base,
            bucket: bucket_of(provider, &self.cfg),
            key,
            region,
            access_key: &service.access_key,
            secret: &service.secret,
            wall_now: SystemTime::now(),
            mock_now: self.now(),
            ttl_secs: self.cfg.download_url_ttl_secs,
        };
        match provider {
            Provider::S3 => presign::s3_get_url(p),
            Provider::Oss => presign::oss_get_url(p),
        }
    }
}
