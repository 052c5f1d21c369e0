//! The emulator's controls: accounts, the clock, jobs, faults, the request log, stats,
//! reset, export and import. One implementation behind the Rust harness
//! ([`crate::TerraMock`]) and the HTTP control API (`api.rs`, under `/_terra-mock/v1`), so
//! that a test in any language gets what a Rust test gets.

use std::time::{Duration, SystemTime};

use uuid::Uuid;

use crate::clock::ClockMode;
use crate::config::AccountConfig;
use crate::core::Core;
use crate::record::RecordedRequest;
use crate::state::AccountCell;
use crate::state::rows::{self, AccountDoc, ClockDoc, StateDoc};

pub(crate) mod api;

/// The prefix of the emulator's own pages and controls.
pub(crate) const MOCK_PREFIX: &str = "/_terra-mock";
/// The prefix of the control API.
pub(crate) const CONTROL_PREFIX: &str = "/_terra-mock/v1";

pub(crate) mod dto;
pub(crate) mod guard;
mod picture;
mod refusal;
mod steer;
pub(crate) mod view;

/// What an account holds.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = terra_mock::TerraMock::builder().build()?;
/// let s = mock.stats(mock.app_key());
/// assert_eq!((s.map_resources, s.jobs, s.job_starts), (0, 0, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct AccountStats {
    /// Resources of type map.
    pub map_resources: usize,
    /// Resources of type job_output.
    pub output_resources: usize,
    /// Files.
    pub files: usize,
    /// Jobs.
    pub jobs: usize,
    /// Jobs in status 1 to 4.
    pub running_jobs: usize,
    /// Job starts so far (what the quota counts).
    pub job_starts: u64,
    /// STS sessions (with their grants) remembered.
    pub sessions: usize,
}

/// Why a control operation was refused.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_mock::{ControlErrorKind, TerraMock};
/// let mock = TerraMock::builder().build()?;
/// let e = mock.delete_account("nobody").unwrap_err();
/// assert_eq!(e.kind(), ControlErrorKind::NotFound);
/// assert_eq!(e.to_string(), "no account with app key \"nobody\"");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    kind: ControlErrorKind,
    message: String,
}

/// The kind of a [`ControlError`] (and the HTTP status the control API answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlErrorKind {
    /// No such account, job or rule (404).
    NotFound,
    /// It exists already, or the state does not allow it (409).
    Conflict,
    /// The request is malformed or a value is out of range (400).
    Invalid,
}

impl ControlError {
    /// What kind of refusal.
    ///
    /// ```
    /// # let mock = terra_mock::TerraMock::builder().build().unwrap();
    /// let e = mock.create_account(terra_mock::AccountConfig::new("", "", terra_mock::Provider::S3)).unwrap_err();
    /// assert_eq!(e.kind(), terra_mock::ControlErrorKind::Invalid);
    /// ```
    pub fn kind(&self) -> ControlErrorKind {
        self.kind
    }

    pub(crate) fn not_found(m: impl Into<String>) -> Self {
        Self {
            kind: ControlErrorKind::NotFound,
            message: m.into(),
        }
    }

    pub(crate) fn conflict(m: impl Into<String>) -> Self {
        Self {
            kind: ControlErrorKind::Conflict,
            message: m.into(),
        }
    }

    pub(crate) fn invalid(m: impl Into<String>) -> Self {
        Self {
            kind: ControlErrorKind::Invalid,
            message: m.into(),
        }
    }
}

pub(crate) type ControlResult<T> = Result<T, ControlError>;

/// Filters of the request log.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestFilter {
    pub limit: Option<usize>,
    pub method: Option<String>,
    /// Requests whose path starts with this.
    pub path: Option<String>,
    pub status: Option<u16>,
    pub app_key: Option<String>,
    pub api_code: Option<i64>,
    /// Requests at or after this time (mock clock).
    pub since: Option<SystemTime>,
    /// Refused (`true`) or served (`false`) requests only.
    pub refused: Option<bool>,
    /// Requests with this reason (refusal or warning) only.
    pub code: Option<crate::ReasonCode>,
}

impl RequestFilter {
    fn keeps(&self, r: &RecordedRequest) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| r.method.eq_ignore_ascii_case(m))
            && self.path.as_deref().is_none_or(|p| r.path().starts_with(p))
            && self.status.is_none_or(|s| r.status == s)
            && self
                .app_key
                .as_deref()
                .is_none_or(|k| r.app_key.as_deref() == Some(k))
            && self.api_code.is_none_or(|c| r.api_code == Some(c))
            && self.since.is_none_or(|t| r.at >= t)
            && self.refused.is_none_or(|x| r.refusal.is_some() == x)
            && self
                .code
                .is_none_or(|c| r.refusal.iter().chain(&r.warnings).any(|w| w.code == c))
    }
}

/// The controls of one mock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Control<'a>(pub &'a Core);

impl Control<'_> {
    fn account(&self, app_key: &str) -> ControlResult<std::sync::Arc<AccountCell>> {
        self.0
            .accounts
            .get(app_key)
            .ok_or_else(|| ControlError::not_found(format!("no account with app key {app_key:?}")))
    }

    // ---- accounts ---------------------------------------------------------------------

    pub(crate) fn create_account(&self, c: AccountConfig) -> ControlResult<AccountConfig> {
        if c.app_key.trim().is_empty() || c.secret.is_empty() {
            return Err(ControlError::invalid(
                "an account needs an app key and a secret",
            ));
        }
        if self.0.accounts.get(&c.app_key).is_some() {
            return Err(ControlError::conflict(format!(
                "account {:?} exists",
                c.app_key
            )));
        }
        Ok(self.0.accounts.create(c).config())
    }

    pub(crate) fn accounts(&self) -> Vec<AccountConfig> {
        self.0.accounts.all().iter().map(|a| a.config()).collect()
    }

    /// Deletes an account with its sessions and objects.
    pub(crate) fn delete_account(&self, app_key: &str) -> ControlResult<()> {
        let cell = self.account(app_key)?;
        self.0.accounts.remove(app_key);
        self.forget(&cell);
        Ok(())
    }

    /// Drops an account's sessions and objects.
    fn forget(&self, cell: &AccountCell) {
        self.0.sessions.remove_account(&cell.app_key);
        let bucket = crate::state::bucket_of(cell.provider, &self.0.cfg);
        self.0.storage.delete_under(bucket, &cell.key_prefix());
    }

    pub(crate) fn stats(&self, app_key: &str) -> ControlResult<AccountStats> {
        let cell = self.account(app_key)?;
        let env = self.0.env();
        let a = cell.read(&env);
        let outputs = a
            .resources_of_kind(&terra_types::ResourceType::JobOutput)
            .map_or(0, |r| r.len());
        Ok(AccountStats {
            map_resources: a.resources.len() - outputs,
            output_resources: outputs,
            files: a.files.len(),
            jobs: a.jobs.len(),
            running_jobs: a.running(),
            job_starts: a.starts,
            sessions: self.0.sessions.count_for(app_key),
        })
    }

    /// Every account with what it holds, and the mock's totals.
    pub(crate) fn summary(&self) -> dto::Stats {
        let accounts = self
            .0
            .accounts
            .all()
            .iter()
            .filter_map(|c| {
                let stats = self.stats(&c.app_key).ok()?;
                Some(dto::AccountView::of(c.config(), stats))
            })
            .collect();
        dto::Stats {
            accounts,
            objects: self.0.storage.len(),
            multipart_uploads: self.0.storage.uploads_in_progress(),
            sessions: self.0.sessions.len(),
            requests_logged: self.0.log.lock().unwrap_or_else(|e| e.into_inner()).len(),
            fault_rules: self.faults().len(),
            queued_failures: self.0.failures.len(),
        }
    }

    /// A fresh STS token for an account, as `GET /sts/token` gives.
    pub(crate) fn issue_token(&self, app_key: &str) -> ControlResult<terra_types::StsToken> {
        let cell = self.account(app_key)?;
        let (token, dropped) = self.0.sessions.issue(&cell, &self.0.cfg, self.now());
        self.0.clean_dropped(dropped);
        Ok(token)
    }

    /// Makes every STS token issued so far expired.
    pub(crate) fn expire_tokens(&self) {
        self.0.sessions.expire_all(self.now());
    }

    /// The newest `limit` resources of an account, newest first.
    pub(crate) fn resources(
        &self,
        app_key: &str,
        limit: usize,
    ) -> ControlResult<Vec<terra_types::Resource>> {
        let cell = self.account(app_key)?;
        let env = self.0.env();
        let a = cell.read(&env);
        Ok(a.resources
            .values()
            .rev()
            .take(limit)
            .map(crate::state::views::resource_view)
            .collect())
    }

    /// The first `limit` files of a resource, in the order they were added.
    pub(crate) fn resource_files(
        &self,
        app_key: &str,
        resource: &str,
        limit: usize,
    ) -> ControlResult<Vec<terra_types::File>> {
        let cell = self.account(app_key)?;
        let missing =
            || ControlError::not_found(format!("no resource {resource} in account {app_key:?}"));
        let id = Uuid::parse_str(resource).map_err(|_| missing())?;
        let env = self.0.env();
        let a = cell.read(&env);
        let r = a.resources.get(&id).ok_or_else(missing)?;
        Ok(r.files
            .iter()
            .filter_map(|p| a.files.at(*p))
            .take(limit)
            .map(|f| crate::state::views::file_view(f, None))
            .collect())
    }

    /// The newest `limit` jobs of an account, newest first.
    pub(crate) fn jobs(&self, app_key: &str, limit: usize) -> ControlResult<Vec<terra_types::Job>> {
        let cell = self.account(app_key)?;
        let env = self.0.env();
        let a = cell.read(&env);
        Ok(a.jobs
            .values()
            .rev()
            .take(limit)
            .map(|j| crate::state::views::job_view(j, env.now, true))
            .collect())
    }

    // ---- reset --------------------------------------------------------------------------

    /// Everything back to how the mock started: the configured accounts, empty; no
    /// sessions, objects, faults, queued failures or logged requests; the configured
    /// timing. The clock is left as it is.
    pub(crate) fn reset(&self) {
        self.0.accounts.replace_all(&self.0.cfg.accounts);
        self.0.sessions.clear();
        self.0.storage.clear();
        {
            let mut f = self.0.faults.lock().unwrap_or_else(|e| e.into_inner());
            f.clear();
            f.set_random(self.0.cfg.random_faults.clone());
        }
        self.0.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.0
            .report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.0.failures.clear();
        self.0
            .live
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .timing = self.0.cfg.timing.clone();
        self.0
            .live
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .storage_cors = self.0.cfg.storage_cors.clone();
        self.0.save_timing();
    }

    /// One account back to empty (its settings kept).
    pub(crate) fn reset_account(&self, app_key: &str) -> ControlResult<()> {
        let cell = self.account(app_key)?;
        self.forget(&cell);
        self.0.accounts.reset(app_key);
        Ok(())
    }

    // ---- requests -----------------------------------------------------------------------

    /// Logged requests, newest first, that the filter keeps.
    pub(crate) fn requests(&self, f: &RequestFilter) -> Vec<RecordedRequest> {
        let log = self.0.log.lock().unwrap_or_else(|e| e.into_inner());
        log.newest(f.limit.unwrap_or(usize::MAX), |r| f.keeps(r))
    }

    /// Every logged request, oldest first.
    pub(crate) fn all_requests(&self) -> Vec<RecordedRequest> {
        self.0
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot()
    }

    /// Forgets the logged requests and the report's tally.
    pub(crate) fn clear_requests(&self) {
        self.0.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.0
            .report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Refusals and warnings by code and client.
    pub(crate) fn report(&self) -> crate::Report {
        self.0
            .report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report()
    }

    // ---- export and import ----------------------------------------------------------------

    /// The whole state, objects inline. O(state + bytes stored).
    pub(crate) fn export(&self) -> ControlResult<StateDoc> {
        let env = self.0.env();
        let accounts = self
            .0
            .accounts
            .all()
            .iter()
            .map(|cell| {
                let a = cell.read(&env);
                let (resources, files, jobs) = a.rows();
                AccountDoc {
                    config: cell.config(),
                    id: cell.id,
                    starts: a.starts,
                    resources,
                    files,
                    jobs,
                }
            })
            .collect();
        let (objects, uploads) = self
            .0
            .storage
            .export()
            .map_err(|e| ControlError::conflict(format!("cannot read a stored object: {e}")))?;
        Ok(StateDoc {
            format: rows::FORMAT,
            clock: ClockDoc {
                now_ms: rows::ms(self.now()),
                mode: self.clock_mode(),
            },
            timing: self.timing(),
            accounts,
            sessions: self.0.sessions.rows(),
            objects,
            uploads,
        })
    }

    /// Replaces the whole state with an export: accounts, sessions, objects, uploads, the
    /// clock and the timing. All or nothing: the document is checked whole, its objects
    /// are written aside, with `--data-dir` the new state is written in one transaction,
    /// and only then does it replace the old one; a bad document, or one whose objects do
    /// not fit on the disk, changes nothing. Faults, queued failures and the request log
    /// stay as they are.
    pub(crate) fn import(&self, doc: StateDoc) -> ControlResult<()> {
        use base64::Engine as _;
        if doc.format != rows::FORMAT {
            return Err(ControlError::invalid(format!(
                "this is a state of format {}; this terra-mock reads format {}",
                doc.format,
                rows::FORMAT
            )));
        }
        let mut keys = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for a in &doc.accounts {
            if a.config.app_key.trim().is_empty() || a.config.secret.is_empty() {
                return Err(ControlError::invalid(
                    "an account needs an app key and a secret",
                ));
            }
            if !keys.insert(a.config.app_key.as_str()) || !ids.insert(a.id) {
                return Err(ControlError::invalid(format!(
                    "account {:?} (id {}) appears twice",
                    a.config.app_key, a.id
                )));
            }
        }
        let decode = |what: &str, d: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(d)
                .map_err(|e| ControlError::invalid(format!("{what}: `data` is not base64: {e}")))
        };
        let objects = doc
            .objects
            .iter()
            .map(|o| decode(&format!("object {}/{}", o.bucket, o.key), &o.data))
            .collect::<ControlResult<Vec<_>>>()?;
        let uploads = doc
            .uploads
            .iter()
            .map(|u| {
                u.parts
                    .iter()
                    .map(|p| decode(&format!("upload {} part {}", u.id, p.number), &p.data))
                    .collect::<ControlResult<Vec<_>>>()
            })
            .collect::<ControlResult<Vec<_>>>()?;
        Self::check_timing(&doc.timing)?;

        // 1. Every body written aside; on an error they are removed and nothing changed.
        let object_bytes: Vec<_> = doc
            .objects
            .iter()
            .zip(&objects)
            .map(|(o, b)| (o, b.as_slice()))
            .collect();
        let upload_bytes: Vec<_> = doc
            .uploads
            .iter()
            .zip(&uploads)
            .map(|(u, parts)| (u, parts.iter().map(Vec::as_slice).collect()))
            .collect();
        let staged = self
            .0
            .storage
            .stage(&object_bytes, &upload_bytes)
            .map_err(|e| {
                ControlError::conflict(format!(
                    "cannot store the document's objects ({e}); nothing changed"
                ))
            })?;
        let accounts: Vec<_> = doc
            .accounts
            .into_iter()
            .map(|a| {
                let state =
                    crate::state::Account::from_rows(a.starts, a.resources, a.files, a.jobs);
                (a.config, a.id, state)
            })
            .collect();
        // 2. With --data-dir, the whole new state in one transaction.
        if let Some(db) = &self.0.db {
            let rows = crate::storage::BlobStore::rows_of(&staged);
            let image = crate::persist::Image {
                accounts: accounts
                    .iter()
                    .map(|(c, id, state)| crate::persist::ImageAccount {
                        id: *id,
                        app_key: c.app_key.clone(),
                        config: serde_json::to_string(c).unwrap_or_default(),
                        starts: state.starts,
                        rows: crate::state::Accounts::rows_of(state),
                    })
                    .collect(),
                sessions: doc
                    .sessions
                    .iter()
                    .map(|r| (r.seq, serde_json::to_string(r).unwrap_or_default()))
                    .collect(),
                objects: rows.objects,
                uploads: rows.uploads,
                parts: rows.parts,
                meta: Vec::new(),
            };
            db.replace_all(&image)
                .map_err(|e| ControlError::conflict(format!("{e}; nothing changed")))?;
        }
        // 3. The swap, in memory only.
        self.0.storage.swap_in(staged);
        self.0.accounts.swap_in(accounts);
        self.0.sessions.swap_in(
            doc.sessions,
            Duration::from_secs(self.0.cfg.session_grace_secs),
        );
        let _ = self.set_timing(doc.timing);
        self.set_clock_mode(ClockMode::Manual);
        self.set_clock(rows::at(doc.clock.now_ms));
        self.set_clock_mode(doc.clock.mode);
        Ok(())
    }
}
