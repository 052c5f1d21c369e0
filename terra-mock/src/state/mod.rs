//! The emulator's state, one lock per account: an account's resources, files and jobs (with
//! the timer queue that moves its jobs) live behind the account's own mutex, so that one
//! account's heavy traffic never waits on another's. STS sessions and callback grants live
//! in [`sessions::Sessions`], read by the storage endpoints without touching any account.
//!
//! Layout, sized for 100 000 jobs and 1 000 000 files in well under 1 GiB: each table keeps
//! rows in creation order ([`table::Table`], chunks of 4 096 rows) with a uuid index and an
//! order-statistic index, so a page costs O(rows × log n); strings are boxed slices; the
//! count, size and extent of a resource are kept up to date as files come and go.
//!
//! Files by domain: `table.rs` (rows and ranks), `sessions.rs` (STS sessions, grants, their
//! expiry), `resources.rs` (resources and the upload callback), `files.rs` (files),
//! `objects.rs` (the objects files point at, membership of files in resources), `jobs.rs`
//! (jobs: create, start, stop), `lifecycle.rs` (the job state machine and its timer queue),
//! `job_outputs.rs` (the output resource a job leaves), `views.rs` (wire objects),
//! `paging.rs` (pages and filters), `rows.rs` (the serialized form of every row).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use terra_sign::SecretString;
use terra_types::{JobStatus, JobType, Position, ResourceType, Scope};
use uuid::Uuid;

use crate::config::{AccountConfig, JobTiming, MockConfig, Provider};
use crate::error::{ApiError, ApiResult};
use crate::persist::Db;
use crate::storage::BlobStore;

pub(crate) mod files;
pub(crate) mod job_outputs;
pub(crate) mod jobs;
pub(crate) mod lifecycle;
pub(crate) mod objects;
pub(crate) mod paging;
pub(crate) mod resources;
pub(crate) mod rows;
pub(crate) mod sessions;
pub(crate) mod table;
pub(crate) mod views;

pub use jobs::JobFailure;
use table::{Ranks, Table};

/// What an account operation needs from the mock besides the account: the time, the
/// settings and the object store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub now: SystemTime,
    pub cfg: &'a MockConfig,
    pub storage: &'a BlobStore,
}

/// Count, bytes and extent of a resource's files, kept as files are added and removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Agg {
    pub size: u64,
    pub scope: Option<Scope>,
}

impl Agg {
    fn add(&mut self, f: &FileRec) {
        self.size += f.size;
        if let Some(p) = f.position {
            let s = self.scope.get_or_insert(Scope {
                min_latitude: p.latitude,
                max_latitude: p.latitude,
                min_longitude: p.longitude,
                max_longitude: p.longitude,
            });
            s.min_latitude = s.min_latitude.min(p.latitude);
            s.max_latitude = s.max_latitude.max(p.latitude);
            s.min_longitude = s.min_longitude.min(p.longitude);
            s.max_longitude = s.max_longitude.max(p.longitude);
        }
    }
}

/// A resource row.
#[derive(Debug)]
pub(crate) struct ResourceRec {
    pub uuid: Uuid,
    pub name: Box<str>,
    pub kind: ResourceType,
    pub meta: Box<str>,
    /// Positions of its files in the account's file table, ascending (creation order).
    pub files: Vec<u32>,
    pub revisable: bool,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub input_jobs: Vec<Uuid>,
    pub output_jobs: Vec<Uuid>,
    pub agg: Agg,
}

impl ResourceRec {
    /// A new resource, not yet used by any job, with no files.
    pub(crate) fn new(
        uuid: Uuid,
        name: &str,
        kind: ResourceType,
        meta: &str,
        now: SystemTime,
    ) -> Self {
        Self {
            uuid,
            name: name.into(),
            revisable: kind == ResourceType::Map,
            kind,
            meta: meta.into(),
            files: Vec::new(),
            created: now,
            updated: now,
            input_jobs: Vec::new(),
            output_jobs: Vec::new(),
            agg: Agg::default(),
        }
    }
}

/// Where a file's object lives: a prefix shared by every object of a token (or of a job's
/// outputs) and the name it was stored under (shared with [`FileRec::name`] until a rename).
///
/// Two keys are equal when their full keys are, however they are split.
#[derive(Debug, Clone)]
pub(crate) struct ObjectKey {
    prefix: Arc<str>,
    name: Arc<str>,
}

impl PartialEq for ObjectKey {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.prefix.as_bytes(), self.name.as_bytes());
        let (c, d) = (other.prefix.as_bytes(), other.name.as_bytes());
        a.len() + b.len() == c.len() + d.len() && a.iter().chain(b).eq(c.iter().chain(d))
    }
}

impl Eq for ObjectKey {}

impl std::hash::Hash for ObjectKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // One byte stream, so that the split does not matter.
        state.write(self.prefix.as_bytes());
        state.write(self.name.as_bytes());
        state.write_u8(0xff);
    }
}

impl ObjectKey {
    pub(crate) fn new(prefix: Arc<str>, name: Arc<str>) -> Self {
        Self { prefix, name }
    }

    /// The part shared by the objects of a token (or of a job's outputs).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The rest of the key.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The object key.
    pub(crate) fn full(&self) -> String {
        format!("{}{}", self.prefix, self.name)
    }
}

impl ObjectKey {
    /// A 64-bit digest of the full key, for the object index (which checks the key of
    /// the file it finds, so a collision costs a lookup, never a wrong answer).
    pub(crate) fn digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// The files of the account that point at one object: how many, and one of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ObjRef {
    pub first: Uuid,
    pub count: u32,
}

/// A file row. The object lives in the account's bucket under `key`.
#[derive(Debug)]
pub(crate) struct FileRec {
    pub uuid: Uuid,
    pub name: Arc<str>,
    pub size: u64,
    pub checksum: Box<str>,
    pub meta: Box<str>,
    pub position: Option<Position>,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub key: ObjectKey,
    pub resources: Vec<Uuid>,
}

/// A job row.
#[derive(Debug)]
pub(crate) struct JobRec {
    pub uuid: Uuid,
    pub name: Box<str>,
    pub meta: Box<str>,
    pub job_type: JobType,
    pub status: JobStatus,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub run: Option<Box<jobs::Run>>,
}

/// One app key's world.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub resources: Table<ResourceRec>,
    pub files: Table<FileRec>,
    pub jobs: Table<JobRec>,
    pub starts: u64,
    /// Job transitions due, in time order.
    timers: BTreeMap<(SystemTime, u64), Uuid>,
    seq: u64,
    /// Files per object key: deleting the last file frees the object, and registering an
    /// object that a resource already holds finds its row.
    objects: HashMap<u64, ObjRef>,
    /// Job positions by type, resource positions by type (list filters).
    jobs_by_type: HashMap<JobType, Ranks>,
    resources_by_kind: HashMap<ResourceType, Ranks>,
    /// Jobs in status 1 to 4.
    running: usize,
}

/// An account: its identity and settings, and its state behind its own lock.
#[derive(Debug)]
pub(crate) struct AccountCell {
    pub app_key: String,
    /// Numeric id, the first segment of its object keys.
    pub id: u64,
    pub provider: Provider,
    secret: SecretString,
    /// Overrides of [`MockConfig::max_running_jobs`] and [`MockConfig::job_quota`].
    pub max_running_jobs: Option<usize>,
    pub job_quota: Option<u64>,
    pub token_lifetime_secs: Option<u64>,
    /// Behind a read-write lock: reads (pages, details) share it; a read that finds a job
    /// due to move on takes it for writing first.
    state: RwLock<Account>,
    /// Where its rows are kept, when the mock is persistent.
    db: Option<Arc<Db>>,
}

/// An account's state, locked. With persistence on, the rows changed while it was held are
/// written when it is let go, before the answer that acknowledges them leaves.
#[derive(Debug)]
pub(crate) struct AccountGuard<'a> {
    guard: RwLockWriteGuard<'a, Account>,
    cell: &'a AccountCell,
}

impl std::ops::Deref for AccountGuard<'_> {
    type Target = Account;
    fn deref(&self) -> &Account {
        &self.guard
    }
}

impl std::ops::DerefMut for AccountGuard<'_> {
    fn deref_mut(&mut self) -> &mut Account {
        &mut self.guard
    }
}

impl Drop for AccountGuard<'_> {
    fn drop(&mut self) {
        let Some(db) = &self.cell.db else { return };
        let a = &mut *self.guard;
        let mut rows = Vec::new();
        for kind in [rows::Kind::File, rows::Kind::Resource, rows::Kind::Job] {
            let touched = match kind {
                rows::Kind::Resource => a.resources.take_touched(),
                rows::Kind::File => a.files.take_touched(),
                rows::Kind::Job => a.jobs.take_touched(),
            };
            for u in touched {
                rows.push((kind as u8, u, a.row_json(kind, &u)));
            }
        }
        if !rows.is_empty() && db.write_rows(self.cell.id, a.starts, &rows).is_err() {
            // Not kept (the request that changed them is answered with a 5xx): written
            // with the account's next change.
            for (kind, uuid, _) in rows {
                match kind {
                    k if k == rows::Kind::Resource as u8 => a.resources.retouch([uuid]),
                    k if k == rows::Kind::File as u8 => a.files.retouch([uuid]),
                    _ => a.jobs.retouch([uuid]),
                }
            }
        }
    }
}

impl AccountCell {
    /// The secret (for the gateway's verifier).
    pub(crate) fn secret(&self) -> SecretString {
        self.secret.clone()
    }

    /// The settings this account was created with.
    pub(crate) fn config(&self) -> AccountConfig {
        use terra_sign::ExposeSecret as _;
        AccountConfig {
            app_key: self.app_key.clone(),
            secret: self.secret.expose_secret().to_owned(),
            provider: self.provider,
            max_running_jobs: self.max_running_jobs,
            job_quota: self.job_quota,
            token_lifetime_secs: self.token_lifetime_secs,
        }
    }

    /// The prefix of every object key of this account.
    pub(crate) fn key_prefix(&self) -> String {
        format!("{}/", self.id)
    }

    /// The account's state with every job transition due by `env.now` applied.
    pub(crate) fn lock(&self, env: &Env<'_>) -> AccountGuard<'_> {
        let mut guard = AccountGuard {
            guard: self.state.write().unwrap_or_else(|e| e.into_inner()),
            cell: self,
        };
        let cell = guard.cell;
        guard.tick(cell, env);
        guard
    }

    /// The account's state for reading, shared with other readers. Jobs due to move on by
    /// `env.now` are moved on first (under the write lock, as [`AccountCell::lock`]), so
    /// that a read sees what a write would.
    pub(crate) fn read(&self, env: &Env<'_>) -> RwLockReadGuard<'_, Account> {
        loop {
            let guard = self.state.read().unwrap_or_else(|e| e.into_inner());
            if !guard.due(env) {
                return guard;
            }
            drop(guard);
            drop(self.lock(env));
        }
    }
}

/// Every account, by app key. The map's lock is held only to find or change an entry.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    map: RwLock<HashMap<String, Arc<AccountCell>>>,
    next_id: AtomicU64,
    db: Option<Arc<Db>>,
}

/// The id of the first account.
const FIRST_ID: u64 = 100_001;

impl Accounts {
    /// The stored accounts (if any), then those of `configs` not stored yet.
    pub(crate) fn new(
        configs: &[AccountConfig],
        db: Option<Arc<Db>>,
        stored: Vec<crate::persist::StoredAccount>,
    ) -> std::io::Result<Self> {
        let a = Self {
            map: RwLock::default(),
            next_id: AtomicU64::new(FIRST_ID),
            db,
        };
        for s in stored {
            let config: AccountConfig = serde_json::from_str(&s.config).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("stored account {} is unreadable: {e}", s.id),
                )
            })?;
            let (mut res, mut files, mut jobs) = (Vec::new(), Vec::new(), Vec::new());
            for (kind, data) in &s.rows {
                let bad = |e: serde_json::Error| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("a stored row of account {} is unreadable: {e}", s.id),
                    )
                };
                match *kind {
                    k if k == rows::Kind::Resource as u8 => {
                        res.push(serde_json::from_str(data).map_err(bad)?)
                    }
                    k if k == rows::Kind::File as u8 => {
                        files.push(serde_json::from_str(data).map_err(bad)?)
                    }
                    _ => jobs.push(serde_json::from_str(data).map_err(bad)?),
                }
            }
            let mut state = Account::from_rows(s.starts, res, files, jobs);
            state.track();
            a.next_id.fetch_max(s.id + 1, Ordering::Relaxed);
            a.insert(config, s.id, state);
        }
        for c in configs {
            if a.get(&c.app_key).is_none() {
                a.create(c.clone());
            }
        }
        Ok(a)
    }

    /// A new, empty account state (recording its changes when persistent).
    fn fresh(&self) -> Account {
        let mut state = Account::default();
        if self.db.is_some() {
            state.track();
        }
        state
    }

    /// Adds an account (replacing one with the same app key).
    pub(crate) fn create(&self, c: AccountConfig) -> Arc<AccountCell> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(db) = &self.db {
            let _ = db.put_account(
                id,
                &c.app_key,
                &serde_json::to_string(&c).unwrap_or_default(),
            );
        }
        self.insert(c, id, self.fresh())
    }

    /// Every row of an account's state as stored: `(kind, uuid, json)`, files first.
    pub(crate) fn rows_of(state: &Account) -> Vec<(u8, Uuid, String)> {
        let (r, f, j) = state.rows();
        fn json(x: &impl serde::Serialize) -> String {
            serde_json::to_string(x).unwrap_or_default()
        }
        let mut rows = Vec::with_capacity(r.len() + f.len() + j.len());
        rows.extend(f.iter().map(|x| (rows::Kind::File as u8, x.uuid, json(x))));
        rows.extend(
            r.iter()
                .map(|x| (rows::Kind::Resource as u8, x.uuid, json(x))),
        );
        rows.extend(j.iter().map(|x| (rows::Kind::Job as u8, x.uuid, json(x))));
        rows
    }

    /// Replaces every account with `accounts` (an import), in memory only: their rows are
    /// written already.
    pub(crate) fn swap_in(&self, accounts: Vec<(AccountConfig, u64, Account)>) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.next_id.store(FIRST_ID, Ordering::Relaxed);
        for (c, id, mut state) in accounts {
            if self.db.is_some() {
                state.track();
            }
            self.next_id.fetch_max(id + 1, Ordering::Relaxed);
            self.insert(c, id, state);
        }
    }

    fn insert(&self, c: AccountConfig, id: u64, state: Account) -> Arc<AccountCell> {
        let cell = Arc::new(AccountCell {
            db: self.db.clone(),
            id,
            provider: c.provider,
            secret: SecretString::from(c.secret),
            max_running_jobs: c.max_running_jobs,
            job_quota: c.job_quota,
            token_lifetime_secs: c.token_lifetime_secs,
            state: RwLock::new(state),
            app_key: c.app_key,
        });
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cell.app_key.clone(), cell.clone());
        cell
    }

    /// Removes an account.
    pub(crate) fn remove(&self, app_key: &str) -> Option<Arc<AccountCell>> {
        let cell = self
            .map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(app_key)?;
        if let Some(db) = &self.db {
            let _ = db.delete_account(cell.id);
        }
        Some(cell)
    }

    /// Empties an account's state, keeping its settings and id.
    pub(crate) fn reset(&self, app_key: &str) -> Option<Arc<AccountCell>> {
        let old = self.get(app_key)?;
        if let Some(db) = &self.db {
            let _ = db.clear_account(old.id);
        }
        Some(self.insert(old.config(), old.id, self.fresh()))
    }

    /// Drops every account and creates `configs` afresh (ids from the start again).
    pub(crate) fn replace_all(&self, configs: &[AccountConfig]) {
        self.clear();
        for c in configs {
            self.create(c.clone());
        }
    }

    /// Drops every account (their rows too).
    pub(crate) fn clear(&self) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = &self.db {
            for cell in map.values() {
                let _ = db.delete_account(cell.id);
            }
        }
        map.clear();
        self.next_id.store(FIRST_ID, Ordering::Relaxed);
    }

    pub(crate) fn get(&self, app_key: &str) -> Option<Arc<AccountCell>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(app_key)
            .cloned()
    }

    /// Every account, in id order.
    pub(crate) fn all(&self) -> Vec<Arc<AccountCell>> {
        let mut v: Vec<_> = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|a| a.id);
        v
    }
}

/// Failures queued for the next started jobs (harness and control API).
#[derive(Debug, Default)]
pub(crate) struct FailureQueue(Mutex<VecDeque<JobFailure>>);

impl FailureQueue {
    pub(crate) fn push(&self, f: JobFailure) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(f);
    }

    /// Puts a failure back at the head of the queue.
    pub(crate) fn push_front(&self, f: JobFailure) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_front(f);
    }

    pub(crate) fn pop(&self) -> Option<JobFailure> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// What a started job needs from outside its account.
#[derive(Debug, Clone)]
pub(crate) struct StartEnv<'a> {
    pub timing: &'a JobTiming,
    pub failure: Option<JobFailure>,
    pub max_running_jobs: usize,
    pub job_quota: Option<u64>,
}

pub(crate) fn parse_uuid(s: &str, not_found: impl Fn(&str) -> ApiError) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| not_found(s))
}

pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

pub(crate) fn bucket_of(provider: Provider, cfg: &MockConfig) -> &str {
    match provider {
        Provider::S3 => &cfg.s3.bucket,
        Provider::Oss => &cfg.oss.bucket,
    }
}

impl Account {
    /// Records which rows change from now on (persistence).
    pub(crate) fn track(&mut self) {
        self.resources.track();
        self.files.track();
        self.jobs.track();
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Jobs in status 1 to 4.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    pub(crate) fn resources_of_kind(&self, kind: &ResourceType) -> Option<&Ranks> {
        self.resources_by_kind.get(kind)
    }

    pub(crate) fn jobs_of_type(&self, t: JobType) -> Option<&Ranks> {
        self.jobs_by_type.get(&t)
    }

    /// Inserts a resource row and indexes it.
    pub(crate) fn insert_resource(&mut self, r: ResourceRec) -> u32 {
        let kind = r.kind.clone();
        let pos = self.resources.insert(r.uuid, r);
        self.resources_by_kind.entry(kind).or_default().insert(pos);
        pos
    }

    pub(crate) fn remove_resource(&mut self, id: &Uuid) -> Option<ResourceRec> {
        let pos = self.resources.position(id)?;
        let r = self.resources.remove(id)?;
        if let Some(ix) = self.resources_by_kind.get_mut(&r.kind) {
            ix.remove(pos);
        }
        Some(r)
    }

    pub(crate) fn insert_job(&mut self, j: JobRec) -> u32 {
        let t = j.job_type;
        let pos = self.jobs.insert(j.uuid, j);
        self.jobs_by_type.entry(t).or_default().insert(pos);
        pos
    }

    /// Moves a job to another type index (on start).
    fn retype_job(&mut self, id: &Uuid, to: JobType) {
        let Some(pos) = self.jobs.position(id) else {
            return;
        };
        let Some(j) = self.jobs.get_mut(id) else {
            return;
        };
        let from = std::mem::replace(&mut j.job_type, to);
        if let Some(ix) = self.jobs_by_type.get_mut(&from) {
            ix.remove(pos);
        }
        self.jobs_by_type.entry(to).or_default().insert(pos);
    }

    pub(crate) fn remove_job(&mut self, id: &Uuid) -> Option<JobRec> {
        let pos = self.jobs.position(id)?;
        let j = self.jobs.remove(id)?;
        if let Some(ix) = self.jobs_by_type.get_mut(&j.job_type) {
            ix.remove(pos);
        }
        Some(j)
    }

    /// Compacts the tables in which removed rows left more holes than rows, remapping the
    /// positions held elsewhere (resources' file lists, the type indexes). Amortized O(1)
    /// per removal: a table is compacted after as many removals as it has rows.
    pub(crate) fn compact_if_sparse(&mut self) {
        if self.files.sparse() {
            let map = self.files.compact();
            for r in self.resources.values_mut() {
                for p in r.files.iter_mut() {
                    *p = map[*p as usize];
                }
            }
        }
        if self.resources.sparse() {
            self.resources.compact();
            self.resources_by_kind.clear();
            for (pos, r) in self.resources.entries() {
                self.resources_by_kind
                    .entry(r.kind.clone())
                    .or_default()
                    .insert(pos);
            }
        }
        if self.jobs.sparse() {
            self.jobs.compact();
            self.jobs_by_type.clear();
            for (pos, j) in self.jobs.entries() {
                self.jobs_by_type.entry(j.job_type).or_default().insert(pos);
            }
        }
    }

    /// Sets a job's status, keeping the running count.
    pub(crate) fn set_status(&mut self, id: &Uuid, status: JobStatus) {
        if let Some(j) = self.jobs.get_mut(id) {
            let was = j.status.is_running();
            j.status = status;
            match (was, status.is_running()) {
                (false, true) => self.running += 1,
                (true, false) => self.running -= 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_are_their_full_key_however_split() {
        let a = ObjectKey::new("1/tmp/x/".into(), "a/b.jpg".into());
        let b = ObjectKey::new("1/tmp/x/a/".into(), "b.jpg".into());
        let c = ObjectKey::new("1/tmp/x/a/b.jpg".into(), "".into());
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.digest(), c.digest());
        assert_ne!(
            a.digest(),
            ObjectKey::new("1/tmp/x/".into(), "a/c.jpg".into()).digest()
        );
        assert_ne!(a, ObjectKey::new("1/tmp/x".into(), "a/b.jpg".into()));
    }
}
