//! The emulator's whole state, in memory, behind one lock: accounts with their resources,
//! files and jobs; issued STS sessions and callback parameters; the timer queue that moves
//! jobs through their states.
//!
//! Layout, sized for 100 000 jobs and 1 000 000 files in well under 1 GiB: each table keeps
//! rows in creation order (chunks of 4 096 rows, which is also the list order) and a
//! `HashMap<Uuid, position>` index; strings are boxed slices; counts and sizes of a resource are
//! derived from its files when read, never stored twice.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use terra_types::time::format_rfc3339;
use terra_types::{
    ApiCode, CallbackFile, CloudName, CreateResourceRequest, File, FileOperationRequest, Job,
    JobStatus, JobType, ListFilesQuery, ListJobsQuery, ListResourcesQuery, Page, Position,
    Resource, ResourceDetail, ResourceType, Scope, Secret, StartJobRequest, StsToken,
    UpdateFileRequest, UpdateRequest,
};
use uuid::Uuid;

use crate::config::{MockConfig, Provider};
use crate::error::{ApiError, ApiResult};
use crate::outputs;
use crate::storage::BlobStore;
use terra_types::etag_eq;

/// Rows in creation order plus a uuid index. Rows live in fixed-size chunks (no
/// reallocation spikes, no half-empty tree nodes); a removed row leaves a `None` behind.
#[derive(Debug)]
pub(crate) struct Table<T> {
    chunks: Vec<Vec<Option<T>>>,
    index: HashMap<Uuid, u32>,
    live: usize,
}

/// Rows per chunk.
const CHUNK: usize = 4096;

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            index: HashMap::new(),
            live: 0,
        }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, uuid: Uuid, row: T) {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let at = (self.chunks.len() - 1) * CHUNK + self.chunks.last().map_or(0, Vec::len);
        self.chunks
            .last_mut()
            .expect("a chunk with room")
            .push(Some(row));
        self.index.insert(uuid, at as u32);
        self.live += 1;
    }

    fn slot(&self, at: u32) -> Option<&T> {
        let at = at as usize;
        self.chunks
            .get(at / CHUNK)
            .and_then(|c| c.get(at % CHUNK))
            .and_then(Option::as_ref)
    }

    /// Creation order of a row (smaller is older).
    pub(crate) fn position(&self, uuid: &Uuid) -> Option<u32> {
        self.index.get(uuid).copied()
    }

    pub(crate) fn get(&self, uuid: &Uuid) -> Option<&T> {
        self.index.get(uuid).and_then(|at| self.slot(*at))
    }

    fn get_mut(&mut self, uuid: &Uuid) -> Option<&mut T> {
        let at = *self.index.get(uuid)? as usize;
        self.chunks
            .get_mut(at / CHUNK)
            .and_then(|c| c.get_mut(at % CHUNK))
            .and_then(Option::as_mut)
    }

    fn remove(&mut self, uuid: &Uuid) -> Option<T> {
        let at = self.index.remove(uuid)? as usize;
        let row = self
            .chunks
            .get_mut(at / CHUNK)
            .and_then(|c| c.get_mut(at % CHUNK))
            .and_then(Option::take);
        self.live -= usize::from(row.is_some());
        row
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Rows oldest first (`.rev()` for newest first).
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .filter_map(Option::as_ref)
    }
}

/// A resource row.
#[derive(Debug)]
pub(crate) struct ResourceRec {
    pub uuid: Uuid,
    pub name: Box<str>,
    pub kind: ResourceType,
    pub meta: Box<str>,
    pub files: Vec<Uuid>,
    pub revisable: bool,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub input_jobs: Vec<Uuid>,
    pub output_jobs: Vec<Uuid>,
}

impl ResourceRec {
    /// A new user resource (`map`) holding `files`, not yet used by any job.
    fn map(uuid: Uuid, name: &str, meta: &str, files: Vec<Uuid>, now: SystemTime) -> Self {
        Self {
            uuid,
            name: name.into(),
            kind: ResourceType::Map,
            meta: meta.into(),
            files,
            revisable: true,
            created: now,
            updated: now,
            input_jobs: Vec::new(),
            output_jobs: Vec::new(),
        }
    }
}

/// Where a file's object lives: a prefix shared by every object of a token (or of a job's
/// outputs) and the name it was stored under (shared with [`FileRec::name`] until a rename).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectKey {
    prefix: Arc<str>,
    name: Arc<str>,
}

impl ObjectKey {
    pub(crate) fn new(prefix: Arc<str>, name: Arc<str>) -> Self {
        Self { prefix, name }
    }

    /// The object key.
    pub(crate) fn full(&self) -> String {
        format!("{}{}", self.prefix, self.name)
    }
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

/// How a started job will fail, if it will.
///
/// ```
/// use terra_mock::JobFailure;
/// use terra_types::JobStatus;
/// // Fail while preparing, before any output exists.
/// let early = JobFailure { at: JobStatus::Preparing, message: "Image files are corrupted".into() };
/// # let _ = early;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The stage at whose end the job fails (1 to 4).
    pub at: JobStatus,
    /// The job's `message` after failing.
    pub message: String,
}

impl JobFailure {
    /// Fails at the end of executing with a message in the style of the DJI Terra
    /// reconstruction error guide.
    ///
    /// ```
    /// let f = terra_mock::JobFailure::during_execution("Aerotriangulation failed");
    /// assert_eq!(f.at, terra_types::JobStatus::Executing);
    /// ```
    pub fn during_execution(message: impl Into<String>) -> Self {
        Self {
            at: JobStatus::Executing,
            message: message.into(),
        }
    }
}

/// What exists of a job once it has been started.
#[derive(Debug)]
pub(crate) struct Run {
    started: SystemTime,
    origin: Uuid,
    output: Option<Uuid>,
    merge_into: Option<Uuid>,
    parameters: Box<str>,
    /// When stages 1, 2, 3 and 4 end.
    ends: [SystemTime; 4],
    completed: Option<SystemTime>,
    message: Box<str>,
    failure: Option<JobFailure>,
    timer: Option<(SystemTime, u64)>,
    inputs: usize,
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
    pub run: Option<Box<Run>>,
}

/// One app key's world.
#[derive(Debug)]
pub(crate) struct Account {
    pub id: u64,
    pub provider: Provider,
    pub resources: Table<ResourceRec>,
    pub files: Table<FileRec>,
    pub jobs: Table<JobRec>,
    pub starts: u64,
}

/// A `callbackParam` issued by `obtain_token`.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub app_key: String,
    pub prefix: Arc<str>,
    pub issued: SystemTime,
}

/// STS credentials issued by `obtain_token`, checked by the storage endpoints.
#[derive(Debug, Clone)]
pub(crate) struct StsSession {
    /// Secret access key.
    pub(crate) secret: String,
    /// Session token.
    pub(crate) token: String,
    /// Keys must start with this (`storePath` before `{fileName}`).
    pub(crate) prefix: String,
    /// Bucket the session may write to.
    pub(crate) bucket: String,
    /// Expiry on the mock's clock.
    pub(crate) expires: SystemTime,
}

/// The state. All API operations are methods taking the caller's app key.
#[derive(Debug)]
pub(crate) struct State {
    pub accounts: HashMap<String, Account>,
    pub grants: HashMap<String, Grant>,
    pub sessions: HashMap<String, StsSession>,
    timers: BTreeMap<(SystemTime, u64), (String, Uuid)>,
    /// Tie-breaker of the timer queue.
    seq: u64,
    pub failures: VecDeque<JobFailure>,
}

/// A function making the download URL of an object key for an account.
pub(crate) type UrlFn<'a> = &'a dyn Fn(Provider, &str) -> String;

fn parse_uuid(s: &str, not_found: impl Fn(&str) -> ApiError) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| not_found(s))
}

fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn secs_between(a: SystemTime, b: SystemTime) -> f64 {
    b.duration_since(a).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn paginate<T, I: Iterator<Item = T>>(
    items: I,
    page: Option<u32>,
    rows: Option<u32>,
    cfg: &MockConfig,
) -> ApiResult<Page<T>> {
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::invalid("parameter `page` starts at 1"));
    }
    let rows = rows.unwrap_or(cfg.default_rows);
    if rows == 0 {
        return Err(ApiError::invalid("parameter `rows` must be at least 1"));
    }
    let rows = rows.min(cfg.max_rows);
    let skip = (page as usize - 1).saturating_mul(rows as usize);
    let mut total = 0u64;
    let mut list = Vec::new();
    for item in items {
        if total as usize >= skip && list.len() < rows as usize {
            list.push(item);
        }
        total += 1;
    }
    Ok(Page {
        list,
        page,
        rows,
        total,
    })
}

fn uuid_filter(uuids: &[String]) -> ApiResult<Option<std::collections::HashSet<Uuid>>> {
    if uuids.len() > terra_types::MAX_UUIDS_FILTER {
        return Err(ApiError::invalid(format!(
            "parameter `uuids` accepts at most {} values, got {}",
            terra_types::MAX_UUIDS_FILTER,
            uuids.len()
        )));
    }
    if uuids.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        uuids
            .iter()
            .filter_map(|u| Uuid::parse_str(u).ok())
            .collect(),
    ))
}

fn matches_search(name: &str, search: &Option<String>) -> bool {
    match search.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(s) => name.to_lowercase().contains(&s.to_lowercase()),
    }
}

impl State {
    pub(crate) fn new(cfg: &MockConfig) -> Self {
        let accounts = cfg
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let account = Account {
                    id: 100_001 + i as u64,
                    provider: a.provider,
                    resources: Table::default(),
                    files: Table::default(),
                    jobs: Table::default(),
                    starts: 0,
                };
                (a.app_key.clone(), account)
            })
            .collect();
        Self {
            accounts,
            grants: HashMap::new(),
            sessions: HashMap::new(),
            timers: BTreeMap::new(),
            seq: 0,
            failures: VecDeque::new(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn account(&self, app_key: &str) -> ApiResult<&Account> {
        self.accounts
            .get(app_key)
            .ok_or_else(|| ApiError::new(ApiCode::Authentication, "unknown account"))
    }

    fn account_mut(&mut self, app_key: &str) -> ApiResult<&mut Account> {
        self.accounts
            .get_mut(app_key)
            .ok_or_else(|| ApiError::new(ApiCode::Authentication, "unknown account"))
    }

    // ---- store ---------------------------------------------------------------------------

    pub(crate) fn obtain_token(
        &mut self,
        app_key: &str,
        now: SystemTime,
        cfg: &MockConfig,
    ) -> ApiResult<StsToken> {
        let account = self.account(app_key)?;
        let (provider, acct) = (account.provider, account.id);
        let bucket = match provider {
            Provider::S3 => &cfg.s3,
            Provider::Oss => &cfg.oss,
        };
        let session_id = Uuid::new_v4().simple().to_string();
        let prefix = format!("{acct}/tmp/{session_id}/");
        let callback_param = {
            use base64::Engine as _;
            let payload = serde_json::json!({"storePath": format!("{prefix}{{fileName}}"), "nonce": random_token(12)});
            base64::engine::general_purpose::STANDARD.encode(payload.to_string())
        };
        let access_key_id = match provider {
            Provider::S3 => format!(
                "ASIA{}",
                &Uuid::new_v4().simple().to_string()[..16].to_uppercase()
            ),
            Provider::Oss => format!("STS.{}", random_token(18)),
        };
        let secret = random_token(30);
        let token = random_token(96);
        let expires = now + Duration::from_secs(cfg.token_lifetime_secs);
        self.sessions.insert(
            access_key_id.clone(),
            StsSession {
                secret: secret.clone(),
                token: token.clone(),
                prefix: prefix.clone(),
                bucket: bucket.bucket.clone(),
                expires,
            },
        );
        self.grants.insert(
            callback_param.clone(),
            Grant {
                app_key: app_key.to_owned(),
                prefix: prefix.as_str().into(),
                issued: now,
            },
        );
        let cloud_name = match (provider, cfg.lowercase_cloud_name) {
            (Provider::S3, false) => CloudName::AwsS3,
            (Provider::Oss, false) => CloudName::AliOss,
            (Provider::S3, true) => CloudName::Unknown("aws_s3".into()),
            (Provider::Oss, true) => CloudName::Unknown("ali_oss".into()),
        };
        Ok(StsToken {
            cloud_name,
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: Secret::new(token),
            region: bucket.region.clone(),
            cloud_bucket_name: bucket.bucket.clone(),
            store_path: format!("{prefix}{}", terra_types::FILE_NAME_PLACEHOLDER),
            callback_param,
            expire_time: expires
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs() as i64,
        })
    }

    /// Makes every issued STS session expire now (the harness's "expire tokens").
    pub(crate) fn expire_sessions(&mut self, now: SystemTime) {
        for s in self.sessions.values_mut() {
            s.expires = s.expires.min(now);
        }
    }

    pub(crate) fn upload_callback(
        &mut self,
        app_key: &str,
        req: terra_types::UploadCallbackRequest,
        now: SystemTime,
        cfg: &MockConfig,
        storage: &BlobStore,
    ) -> ApiResult<Vec<File>> {
        let grant = match self.grants.get(&req.callback_param) {
            Some(g) if g.app_key == app_key => g.clone(),
            _ => {
                return Err(ApiError::invalid(
                    "parameter `callbackParam` is invalid: obtain a token and pass its callbackParam",
                ));
            }
        };
        if now > grant.issued + Duration::from_secs(cfg.callback_param_ttl_secs) {
            return Err(ApiError::invalid(
                "parameter `callbackParam` has expired: obtain a new token",
            ));
        }
        if req.files.is_empty() {
            return Err(ApiError::invalid("parameter `files` must not be empty"));
        }
        if req.files.len() > cfg.callback_batch_limit {
            return Err(ApiError::invalid(format!(
                "parameter `files` accepts at most {} files per call, got {}",
                cfg.callback_batch_limit,
                req.files.len()
            )));
        }
        let account = self.account_mut(app_key)?;
        let bucket = match account.provider {
            Provider::S3 => cfg.s3.bucket.as_str(),
            Provider::Oss => cfg.oss.bucket.as_str(),
        };
        let rid = parse_uuid(&req.resource_uuid, ApiError::no_resource)?;
        let resource = account
            .resources
            .get(&rid)
            .ok_or_else(|| ApiError::no_resource(&req.resource_uuid))?;
        if resource.kind != ResourceType::Map {
            return Err(ApiError::not_allowed(
                "files can only be added to resources of type map",
            ));
        }
        if !resource.revisable {
            return Err(ApiError::not_allowed(format!(
                "resource {} is not revisable: a job using it has started",
                req.resource_uuid
            )));
        }
        // Check the whole batch before registering anything.
        let mut found = Vec::with_capacity(req.files.len());
        for (i, f) in req.files.iter().enumerate() {
            if f.name.is_empty() || f.name.contains('\\') || f.name.starts_with('/') {
                return Err(ApiError::invalid(format!(
                    "parameter `files[{i}].name` must be the relative name substituted for {{fileName}}, with `/` separators"
                )));
            }
            let key = format!("{}{}", grant.prefix, f.name);
            let meta = storage.head(bucket, &key).ok_or_else(|| {
                ApiError::invalid(format!(
                    "parameter `files[{i}].name`: object {key} was not uploaded to bucket {bucket}"
                ))
            })?;
            if !etag_eq(&f.etag, &meta.etag) {
                return Err(ApiError::invalid(format!(
                    "parameter `files[{i}].etag` ({}) does not match the stored object ({})",
                    f.etag,
                    meta.quoted_etag()
                )));
            }
            found.push((key, meta.size));
        }
        let mut out = Vec::with_capacity(found.len());
        for (f, (_, size)) in req.files.into_iter().zip(found) {
            let CallbackFile {
                name,
                checksum,
                meta,
                position,
                ..
            } = f;
            let uuid = Uuid::new_v4();
            let name: Arc<str> = name.into();
            let rec = FileRec {
                uuid,
                key: ObjectKey::new(grant.prefix.clone(), name.clone()),
                name,
                size,
                checksum: checksum.into(),
                meta: meta.unwrap_or_default().into(),
                position,
                created: now,
                updated: now,
                resources: vec![rid],
            };
            out.push(file_view(&rec, None));
            account.files.insert(uuid, rec);
            account
                .resources
                .get_mut(&rid)
                .expect("checked above")
                .files
                .push(uuid);
        }
        let res = account.resources.get_mut(&rid).expect("checked above");
        res.updated = now;
        Ok(out)
    }

    // ---- resources -----------------------------------------------------------------------

    pub(crate) fn create_resource(
        &mut self,
        app_key: &str,
        req: CreateResourceRequest,
        now: SystemTime,
    ) -> ApiResult<Resource> {
        if req.name.trim().is_empty() {
            return Err(ApiError::invalid("parameter `name` is required"));
        }
        match &req.resource_type {
            ResourceType::Map => {}
            ResourceType::JobOutput => {
                return Err(ApiError::invalid(
                    "parameter `type`: job_output resources are created by jobs; use `map`",
                ));
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "parameter `type` must be `map`, got `{other}`"
                )));
            }
        }
        let account = self.account_mut(app_key)?;
        let mut files = Vec::new();
        for f in req.files.unwrap_or_default() {
            let id = parse_uuid(&f, ApiError::no_file)?;
            if account.files.get(&id).is_none() {
                return Err(ApiError::no_file(&f));
            }
            files.push(id);
        }
        let uuid = Uuid::new_v4();
        for f in &files {
            account
                .files
                .get_mut(f)
                .expect("checked")
                .resources
                .push(uuid);
        }
        let rec = ResourceRec::map(uuid, &req.name, &req.meta.unwrap_or_default(), files, now);
        let view = resource_view(account, &rec);
        account.resources.insert(uuid, rec);
        Ok(view)
    }

    pub(crate) fn list_resources(
        &self,
        app_key: &str,
        q: &ListResourcesQuery,
        cfg: &MockConfig,
    ) -> ApiResult<Page<Resource>> {
        let account = self.account(app_key)?;
        let only = uuid_filter(&q.uuids)?;
        let items = account
            .resources
            .values()
            .rev()
            .filter(|r| only.as_ref().is_none_or(|s| s.contains(&r.uuid)))
            .filter(|r| q.resource_type.as_ref().is_none_or(|t| *t == r.kind))
            .filter(|r| matches_search(&r.name, &q.search))
            .map(|r| resource_view(account, r));
        paginate(items, q.page, q.rows, cfg)
    }

    pub(crate) fn resource_detail(&self, app_key: &str, uuid: &str) -> ApiResult<ResourceDetail> {
        let account = self.account(app_key)?;
        let r = account
            .resources
            .get(&parse_uuid(uuid, ApiError::no_resource)?)
            .ok_or_else(|| ApiError::no_resource(uuid))?;
        Ok(ResourceDetail {
            summary: resource_view(account, r),
            file_uuids: r.files.iter().map(Uuid::to_string).collect(),
            input_job_uuids: r.input_jobs.iter().map(Uuid::to_string).collect(),
            output_job_uuids: r.output_jobs.iter().map(Uuid::to_string).collect(),
        })
    }

    pub(crate) fn update_resource(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: UpdateRequest,
        now: SystemTime,
    ) -> ApiResult<Resource> {
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_resource)?;
        let r = account
            .resources
            .get_mut(&id)
            .ok_or_else(|| ApiError::no_resource(uuid))?;
        if !r.revisable {
            return Err(ApiError::not_allowed(format!(
                "resource {uuid} is not revisable"
            )));
        }
        if let Some(name) = req.name {
            if name.trim().is_empty() {
                return Err(ApiError::invalid("parameter `name` must not be empty"));
            }
            r.name = name.into();
        }
        if let Some(meta) = req.meta {
            r.meta = meta.into();
        }
        r.updated = now;
        let r = account.resources.get(&id).expect("exists");
        Ok(resource_view(account, r))
    }

    pub(crate) fn delete_resource(
        &mut self,
        app_key: &str,
        uuid: &str,
        mode: Option<&str>,
        storage: &BlobStore,
        cfg: &MockConfig,
    ) -> ApiResult<()> {
        let with_files = match mode {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "parameter `deleteMode` must be 0 or 1, got {other:?}"
                )));
            }
        };
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_resource)?;
        let r = account
            .resources
            .get(&id)
            .ok_or_else(|| ApiError::no_resource(uuid))?;
        let busy = r
            .input_jobs
            .iter()
            .chain(&r.output_jobs)
            .any(|j| account.jobs.get(j).is_some_and(|j| j.status.is_running()));
        if busy {
            return Err(ApiError::not_allowed(format!(
                "resource {uuid} is used by a running job; stop the job or wait for it to end"
            )));
        }
        let r = account.resources.remove(&id).expect("exists");
        let bucket = bucket_of(account.provider, cfg);
        for f in r.files {
            let Some(file) = account.files.get_mut(&f) else {
                continue;
            };
            file.resources.retain(|x| *x != id);
            if with_files && file.resources.is_empty() {
                let file = account.files.remove(&f).expect("exists");
                release_object(account, &file.key, storage, bucket);
            }
        }
        Ok(())
    }

    pub(crate) fn copy_resource(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: UpdateRequest,
        now: SystemTime,
    ) -> ApiResult<Resource> {
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_resource)?;
        let src = account
            .resources
            .get(&id)
            .ok_or_else(|| ApiError::no_resource(uuid))?;
        let new_id = Uuid::new_v4();
        let name = req.name.unwrap_or_else(|| format!("copy of {}", src.name));
        let meta = req.meta.unwrap_or_else(|| src.meta.to_string());
        let sources: Vec<Uuid> = src.files.clone();
        let mut files = Vec::with_capacity(sources.len());
        for f in sources {
            let Some(orig) = account.files.get(&f) else {
                continue;
            };
            let copy = FileRec {
                uuid: Uuid::new_v4(),
                name: orig.name.clone(),
                size: orig.size,
                checksum: orig.checksum.clone(),
                meta: orig.meta.clone(),
                position: orig.position,
                created: now,
                updated: now,
                key: orig.key.clone(),
                resources: vec![new_id],
            };
            files.push(copy.uuid);
            account.files.insert(copy.uuid, copy);
        }
        let rec = ResourceRec::map(new_id, &name, &meta, files, now);
        let view = resource_view(account, &rec);
        account.resources.insert(new_id, rec);
        Ok(view)
    }

    pub(crate) fn file_operation(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: FileOperationRequest,
        now: SystemTime,
    ) -> ApiResult<Resource> {
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_resource)?;
        let r = account
            .resources
            .get(&id)
            .ok_or_else(|| ApiError::no_resource(uuid))?;
        if !r.revisable || r.kind != ResourceType::Map {
            return Err(ApiError::not_allowed(format!(
                "resource {uuid} is not revisable"
            )));
        }
        if req.add_file_uuids.is_empty() && req.remove_file_uuids.is_empty() {
            return Err(ApiError::invalid(
                "parameter `addFileUuids` or `removeFileUuids` is required",
            ));
        }
        let mut add = Vec::new();
        for f in &req.add_file_uuids {
            let fid = parse_uuid(f, ApiError::no_file)?;
            account
                .files
                .get(&fid)
                .ok_or_else(|| ApiError::no_file(f))?;
            add.push(fid);
        }
        let mut remove = Vec::new();
        for f in &req.remove_file_uuids {
            let fid = parse_uuid(f, ApiError::no_file)?;
            if !r.files.contains(&fid) {
                return Err(ApiError::invalid(format!(
                    "parameter `removeFileUuids`: file {f} is not in resource {uuid}"
                )));
            }
            remove.push(fid);
        }
        for fid in &remove {
            if let Some(f) = account.files.get_mut(fid) {
                f.resources.retain(|x| *x != id);
            }
        }
        let r = account.resources.get_mut(&id).expect("exists");
        r.files.retain(|f| !remove.contains(f));
        let mut linked = Vec::new();
        for fid in add {
            if !r.files.contains(&fid) {
                r.files.push(fid);
                linked.push(fid);
            }
        }
        r.updated = now;
        for fid in linked {
            account
                .files
                .get_mut(&fid)
                .expect("checked")
                .resources
                .push(id);
        }
        let r = account.resources.get(&id).expect("exists");
        Ok(resource_view(account, r))
    }

    // ---- files ---------------------------------------------------------------------------

    pub(crate) fn list_files(
        &self,
        app_key: &str,
        q: &ListFilesQuery,
        cfg: &MockConfig,
        url: UrlFn<'_>,
    ) -> ApiResult<Page<File>> {
        let account = self.account(app_key)?;
        let only = uuid_filter(&q.uuids)?;
        let need_url = q.need_url.unwrap_or(false);
        let view =
            |f: &FileRec| file_view(f, need_url.then(|| url(account.provider, &f.key.full())));
        let keep = |f: &&FileRec| {
            only.as_ref().is_none_or(|s| s.contains(&f.uuid))
                && q.name.as_ref().is_none_or(|n| *n == *f.name)
                && matches_search(&f.name, &q.search)
        };
        if let Some(r) = &q.resource_uuid {
            let rid = parse_uuid(r, ApiError::no_resource)?;
            let res = account
                .resources
                .get(&rid)
                .ok_or_else(|| ApiError::no_resource(r))?;
            let mut files: Vec<&FileRec> = res
                .files
                .iter()
                .filter_map(|f| account.files.get(f))
                .filter(keep)
                .collect();
            files.sort_by_key(|f| account.files.position(&f.uuid));
            if !q.order_asc.unwrap_or(false) {
                files.reverse();
            }
            return paginate(files.into_iter().map(view), q.page, q.rows, cfg);
        }
        if q.order_asc.unwrap_or(false) {
            paginate(
                account.files.values().filter(keep).map(view),
                q.page,
                q.rows,
                cfg,
            )
        } else {
            paginate(
                account.files.values().rev().filter(keep).map(view),
                q.page,
                q.rows,
                cfg,
            )
        }
    }

    pub(crate) fn file_detail(&self, app_key: &str, uuid: &str, url: UrlFn<'_>) -> ApiResult<File> {
        let account = self.account(app_key)?;
        let f = account
            .files
            .get(&parse_uuid(uuid, ApiError::no_file)?)
            .ok_or_else(|| ApiError::no_file(uuid))?;
        Ok(file_view(f, Some(url(account.provider, &f.key.full()))))
    }

    pub(crate) fn update_file(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: UpdateFileRequest,
        now: SystemTime,
    ) -> ApiResult<File> {
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_file)?;
        let locked = {
            let f = account
                .files
                .get(&id)
                .ok_or_else(|| ApiError::no_file(uuid))?;
            f.resources
                .iter()
                .any(|r| account.resources.get(r).is_some_and(|r| !r.revisable))
        };
        if locked {
            return Err(ApiError::not_allowed(format!(
                "file {uuid} belongs to a resource that is not revisable"
            )));
        }
        let f = account.files.get_mut(&id).expect("exists");
        if let Some(name) = req.name {
            if name.trim().is_empty() || name.contains('\\') {
                return Err(ApiError::invalid(
                    "parameter `name` must be a non-empty relative name with `/` separators",
                ));
            }
            f.name = name.into();
        }
        if let Some(meta) = req.meta {
            f.meta = meta.into();
        }
        if let Some(p) = req.position {
            f.position = Some(p);
        }
        f.updated = now;
        Ok(file_view(f, None))
    }

    pub(crate) fn delete_file(
        &mut self,
        app_key: &str,
        uuid: &str,
        storage: &BlobStore,
        cfg: &MockConfig,
    ) -> ApiResult<()> {
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_file)?;
        let f = account
            .files
            .get(&id)
            .ok_or_else(|| ApiError::no_file(uuid))?;
        if f.resources
            .iter()
            .any(|r| account.resources.get(r).is_some_and(|r| !r.revisable))
        {
            return Err(ApiError::not_allowed(format!(
                "file {uuid} belongs to a resource that is not revisable"
            )));
        }
        let f = account.files.remove(&id).expect("exists");
        for r in &f.resources {
            if let Some(r) = account.resources.get_mut(r) {
                r.files.retain(|x| *x != id);
            }
        }
        release_object(account, &f.key, storage, bucket_of(account.provider, cfg));
        Ok(())
    }

    // ---- jobs ----------------------------------------------------------------------------

    pub(crate) fn create_job(
        &mut self,
        app_key: &str,
        name: String,
        meta: Option<String>,
        now: SystemTime,
    ) -> ApiResult<Job> {
        if name.trim().is_empty() {
            return Err(ApiError::invalid("parameter `name` is required"));
        }
        let account = self.account_mut(app_key)?;
        let rec = JobRec {
            uuid: Uuid::new_v4(),
            name: name.into(),
            meta: meta.unwrap_or_default().into(),
            job_type: JobType::NotStarted,
            status: JobStatus::Created,
            created: now,
            updated: now,
            run: None,
        };
        let view = job_view(&rec, now, true);
        account.jobs.insert(rec.uuid, rec);
        Ok(view)
    }

    pub(crate) fn job_detail(&self, app_key: &str, uuid: &str, now: SystemTime) -> ApiResult<Job> {
        let account = self.account(app_key)?;
        let j = account
            .jobs
            .get(&parse_uuid(uuid, ApiError::no_job)?)
            .ok_or_else(|| ApiError::no_job(uuid))?;
        Ok(job_view(j, now, true))
    }

    pub(crate) fn list_jobs(
        &self,
        app_key: &str,
        q: &ListJobsQuery,
        now: SystemTime,
        cfg: &MockConfig,
    ) -> ApiResult<Page<Job>> {
        let account = self.account(app_key)?;
        let only = uuid_filter(&q.uuids)?;
        let origin = q
            .origin_resource_uuid
            .as_deref()
            .map(|u| Uuid::parse_str(u).ok());
        let output = q
            .output_resource_uuid
            .as_deref()
            .map(|u| Uuid::parse_str(u).ok());
        let items = account
            .jobs
            .values()
            .rev()
            .filter(|j| only.as_ref().is_none_or(|s| s.contains(&j.uuid)))
            .filter(|j| q.job_type.is_none_or(|t| t == j.job_type))
            .filter(|j| origin.is_none_or(|o| o.is_some() && j.run.as_ref().map(|r| r.origin) == o))
            .filter(|j| {
                output.is_none_or(|o| o.is_some() && j.run.as_ref().and_then(|r| r.output) == o)
            })
            .filter(|j| matches_search(&j.name, &q.search))
            .map(|j| job_view(j, now, cfg.full_job_list_items));
        paginate(items, q.page, q.rows, cfg)
    }

    pub(crate) fn update_job(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: UpdateRequest,
        now: SystemTime,
    ) -> ApiResult<Job> {
        let account = self.account_mut(app_key)?;
        let j = account
            .jobs
            .get_mut(&parse_uuid(uuid, ApiError::no_job)?)
            .ok_or_else(|| ApiError::no_job(uuid))?;
        if let Some(name) = req.name {
            if name.trim().is_empty() {
                return Err(ApiError::invalid("parameter `name` must not be empty"));
            }
            j.name = name.into();
        }
        if let Some(meta) = req.meta {
            j.meta = meta.into();
        }
        j.updated = now;
        Ok(job_view(j, now, true))
    }

    pub(crate) fn copy_job(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: UpdateRequest,
        now: SystemTime,
    ) -> ApiResult<Job> {
        let account = self.account_mut(app_key)?;
        let src = account
            .jobs
            .get(&parse_uuid(uuid, ApiError::no_job)?)
            .ok_or_else(|| ApiError::no_job(uuid))?;
        let rec = JobRec {
            uuid: Uuid::new_v4(),
            name: req
                .name
                .unwrap_or_else(|| format!("copy of {}", src.name))
                .into(),
            meta: req.meta.map(Into::into).unwrap_or_else(|| src.meta.clone()),
            job_type: JobType::NotStarted,
            status: JobStatus::Created,
            created: now,
            updated: now,
            run: None,
        };
        let view = job_view(&rec, now, true);
        account.jobs.insert(rec.uuid, rec);
        Ok(view)
    }

    pub(crate) fn delete_job(&mut self, app_key: &str, uuid: &str) -> ApiResult<()> {
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_job)?;
        let j = account
            .jobs
            .get(&id)
            .ok_or_else(|| ApiError::no_job(uuid))?;
        if j.status.is_running() {
            return Err(ApiError::not_allowed(format!(
                "job {uuid} is running ({}); stop it first",
                j.status
            )));
        }
        account.jobs.remove(&id);
        Ok(())
    }

    pub(crate) fn start_job(
        &mut self,
        app_key: &str,
        uuid: &str,
        req: StartJobRequest,
        now: SystemTime,
        cfg: &MockConfig,
    ) -> ApiResult<Job> {
        let seq = self.next_seq();
        let failure = self.failures.pop_front();
        let account = self.account_mut(app_key)?;
        let id = parse_uuid(uuid, ApiError::no_job)?;
        let job = account
            .jobs
            .get(&id)
            .ok_or_else(|| ApiError::no_job(uuid))?;
        if job.status != JobStatus::Created {
            return Err(ApiError::not_allowed(format!(
                "job {uuid} has already been started (status {})",
                job.status
            )));
        }
        if !matches!(
            req.job_type,
            JobType::Lidar | JobType::Map2d | JobType::Model3d | JobType::Merge
        ) {
            return Err(ApiError::invalid(format!(
                "parameter `type` must be 13 (LiDAR), 14 (2D), 15 (3D) or 4 (merge), got {}",
                req.job_type.code()
            )));
        }
        let rid = parse_uuid(&req.resource_uuid, ApiError::no_resource)?;
        let resource = account
            .resources
            .get(&rid)
            .ok_or_else(|| ApiError::no_resource(&req.resource_uuid))?;
        if resource.kind != ResourceType::Map && req.job_type != JobType::Merge {
            return Err(ApiError::invalid(
                "parameter `resourceUuid` must name a resource of type map",
            ));
        }
        terra_types::validate_start_parameters(req.job_type, &req.parameters)
            .map_err(|e| ApiError::invalid(format!("parameter `parameters`: {e}")))?;
        let merge_into = match (&req.output_resource_uuid, req.job_type) {
            (Some(out), JobType::Merge) => {
                let oid = parse_uuid(out, ApiError::no_resource)?;
                let o = account
                    .resources
                    .get(&oid)
                    .ok_or_else(|| ApiError::no_resource(out))?;
                if o.kind != ResourceType::JobOutput {
                    return Err(ApiError::invalid(
                        "parameter `outputResourceUuid` must name a job_output resource",
                    ));
                }
                Some(oid)
            }
            (Some(_), _) => {
                return Err(ApiError::invalid(
                    "parameter `outputResourceUuid` is only accepted for type 4 (merge)",
                ));
            }
            (None, _) => None,
        };
        let files: Vec<&FileRec> = resource
            .files
            .iter()
            .filter_map(|f| account.files.get(f))
            .collect();
        let images = files
            .iter()
            .filter(|f| terra_types::is_image_name(&f.name))
            .count();
        let limits = terra_types::limits::MIN_IMAGES;
        let inputs = match req.job_type {
            JobType::Map2d | JobType::Model3d => {
                let max = if req.job_type == JobType::Map2d {
                    terra_types::limits::MAX_IMAGES_2D
                } else {
                    terra_types::limits::MAX_IMAGES_3D
                };
                if images < limits {
                    return Err(ApiError::invalid(format!(
                        "resource {} holds {images} images; {} reconstruction needs at least {limits}",
                        req.resource_uuid,
                        req.job_type.label()
                    )));
                }
                if images > max {
                    return Err(ApiError::invalid(format!(
                        "resource {} holds {images} images; a {} job accepts at most {max}",
                        req.resource_uuid,
                        req.job_type.label()
                    )));
                }
                images
            }
            JobType::Lidar => {
                let bytes: u64 = files.iter().map(|f| f.size).sum();
                if files.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "resource {} is empty; upload the LiDAR mission folder",
                        req.resource_uuid
                    )));
                }
                if bytes > terra_types::limits::MAX_LIDAR_BYTES {
                    return Err(ApiError::invalid(format!(
                        "LiDAR input is {bytes} bytes; at most 48 GB are accepted"
                    )));
                }
                files.len()
            }
            _ => files.len(),
        };
        let running = account
            .jobs
            .values()
            .filter(|j| j.status.is_running())
            .count();
        if running >= cfg.max_running_jobs {
            return Err(ApiError::new(
                ApiCode::JobLimit,
                format!(
                    "job number limit: {running} jobs are running (limit {})",
                    cfg.max_running_jobs
                ),
            ));
        }
        if let Some(quota) = cfg.job_quota
            && account.starts >= quota
        {
            return Err(ApiError::new(
                ApiCode::Billing,
                format!("billing failure: the available quota ({quota} jobs) is used up"),
            ));
        }
        let stages = cfg.timing.stages(inputs);
        let mut ends = [now; 4];
        let mut t = now;
        for (i, d) in stages.iter().enumerate() {
            t += *d;
            ends[i] = t;
        }
        account.starts += 1;
        let resource = account.resources.get_mut(&rid).expect("exists");
        resource.revisable = false;
        resource.input_jobs.push(id);
        let job = account.jobs.get_mut(&id).expect("exists");
        job.job_type = req.job_type;
        job.status = JobStatus::Waiting;
        job.updated = now;
        job.run = Some(Box::new(Run {
            started: now,
            origin: rid,
            output: None,
            merge_into,
            parameters: req.parameters.into(),
            ends,
            completed: None,
            message: "waiting".into(),
            failure,
            timer: Some((ends[0], seq)),
            inputs,
        }));
        let view = job_view(job, now, true);
        self.timers.insert((ends[0], seq), (app_key.to_owned(), id));
        Ok(view)
    }

    pub(crate) fn stop_job(
        &mut self,
        app_key: &str,
        uuid: &str,
        now: SystemTime,
    ) -> ApiResult<Job> {
        let account = self.account_mut(app_key)?;
        let j = account
            .jobs
            .get_mut(&parse_uuid(uuid, ApiError::no_job)?)
            .ok_or_else(|| ApiError::no_job(uuid))?;
        if !j.status.can_stop() {
            let why = if j.status == JobStatus::Created {
                "it has not been started"
            } else {
                "a job can only be stopped before result processing (status < 4)"
            };
            return Err(ApiError::not_allowed(format!(
                "job {uuid} cannot be stopped in status {}: {why}",
                j.status
            )));
        }
        j.status = JobStatus::Stopped;
        j.updated = now;
        let run = j.run.as_mut().expect("running jobs have a run");
        run.completed = Some(now);
        run.message = "stopped by user".into();
        let timer = run.timer.take();
        let view = job_view(j, now, true);
        if let Some(t) = timer {
            self.timers.remove(&t);
        }
        Ok(view)
    }

    /// Fails a running job now (harness fault injection).
    pub(crate) fn fail_job_now(
        &mut self,
        app_key: &str,
        uuid: &Uuid,
        message: &str,
        now: SystemTime,
    ) -> bool {
        let Some(j) = self
            .accounts
            .get_mut(app_key)
            .and_then(|a| a.jobs.get_mut(uuid))
        else {
            return false;
        };
        if !j.status.is_running() {
            return false;
        }
        j.status = JobStatus::Failed;
        j.updated = now;
        let run = j.run.as_mut().expect("running jobs have a run");
        run.completed = Some(now);
        run.message = message.into();
        if let Some(t) = run.timer.take() {
            self.timers.remove(&t);
        }
        true
    }

    /// Applies every job transition due at or before `now`, in time order.
    pub(crate) fn tick(&mut self, now: SystemTime, storage: &BlobStore, cfg: &MockConfig) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), (app_key, job)) = entry.remove_entry();
            let seq = self.next_seq();
            self.advance_job(&app_key, job, at, seq, storage, cfg);
        }
    }

    fn advance_job(
        &mut self,
        app_key: &str,
        id: Uuid,
        at: SystemTime,
        seq: u64,
        storage: &BlobStore,
        cfg: &MockConfig,
    ) {
        let Some(account) = self.accounts.get_mut(app_key) else {
            return;
        };
        let Some(job) = account.jobs.get_mut(&id) else {
            return;
        };
        let Some(run) = job.run.as_mut() else { return };
        run.timer = None;
        let from = job.status;
        if run.failure.as_ref().is_some_and(|f| f.at == from) {
            job.status = JobStatus::Failed;
            run.message = run.failure.take().expect("checked").message.into();
            run.completed = Some(at);
            job.updated = at;
            return;
        }
        let (next, message, stage) = match from {
            JobStatus::Waiting => (JobStatus::Preparing, "preparing", 1),
            JobStatus::Preparing => (JobStatus::Executing, "executing", 2),
            JobStatus::Executing => (JobStatus::ResultProcessing, "result processing", 3),
            JobStatus::ResultProcessing => (JobStatus::Succeeded, "success", 4),
            _ => return,
        };
        job.status = next;
        job.updated = at;
        run.message = message.into();
        if next == JobStatus::Succeeded {
            run.completed = Some(at);
        } else {
            let due = run.ends[stage].max(at);
            run.timer = Some((due, seq));
            self.timers.insert((due, seq), (app_key.to_owned(), id));
        }
        if next == JobStatus::ResultProcessing {
            self.create_outputs(app_key, id, at, storage, cfg);
        }
    }

    /// Status 4: the output resource with its files.
    fn create_outputs(
        &mut self,
        app_key: &str,
        id: Uuid,
        now: SystemTime,
        storage: &BlobStore,
        cfg: &MockConfig,
    ) {
        let Some(account) = self.accounts.get_mut(app_key) else {
            return;
        };
        let bucket = bucket_of(account.provider, cfg).to_owned();
        let (job_type, params, origin, merge_into) = {
            let j = account.jobs.get(&id).expect("advancing job exists");
            let run = j.run.as_ref().expect("started");
            (
                j.job_type,
                run.parameters.to_string(),
                run.origin,
                run.merge_into,
            )
        };
        let inputs: Vec<outputs::Input> = account
            .resources
            .get(&origin)
            .map(|r| {
                r.files
                    .iter()
                    .filter_map(|f| account.files.get(f))
                    .map(|f| outputs::Input {
                        name: f.name.to_string(),
                        size: f.size,
                        position: f.position.map(|p| (p.latitude, p.longitude)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let out_id = merge_into.unwrap_or_else(Uuid::new_v4);
        let files = outputs::generate(job_type, &params, &id.to_string(), &inputs);
        let mut file_ids = Vec::with_capacity(files.len());
        let prefix: Arc<str> = format!("{}/outputs/{id}/", account.id).into();
        for f in files {
            let key = format!("{prefix}{}", f.name);
            let meta = match storage.put_bytes(&bucket, &key, &f.body, Some(f.content_type), now) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, key, "cannot write a job output");
                    continue;
                }
            };
            let uuid = Uuid::new_v4();
            account.files.insert(
                uuid,
                FileRec {
                    uuid,
                    key: ObjectKey::new(prefix.clone(), f.name.as_str().into()),
                    name: f.name.into(),
                    size: meta.size,
                    checksum: meta.quoted_etag().into(),
                    meta: "".into(),
                    position: None,
                    created: now,
                    updated: now,
                    resources: vec![out_id],
                },
            );
            file_ids.push(uuid);
        }
        match account.resources.get_mut(&out_id) {
            Some(existing) => {
                existing.files.extend(file_ids);
                existing.output_jobs.push(id);
                existing.updated = now;
            }
            None => {
                account.resources.insert(
                    out_id,
                    ResourceRec {
                        uuid: out_id,
                        name: format!("output of job: {id}").into(),
                        kind: ResourceType::JobOutput,
                        meta: "".into(),
                        files: file_ids,
                        revisable: false,
                        created: now,
                        updated: now,
                        input_jobs: Vec::new(),
                        output_jobs: vec![id],
                    },
                );
            }
        }
        if let Some(run) = account.jobs.get_mut(&id).and_then(|j| j.run.as_mut()) {
            run.output = Some(out_id);
        }
    }

    /// Inserts rows directly, for the memory benchmark: `jobs` started-and-finished jobs
    /// and `files` files spread over resources of 1 000 files.
    #[doc(hidden)]
    pub(crate) fn populate(&mut self, app_key: &str, jobs: usize, files: usize, now: SystemTime) {
        let Some(account) = self.accounts.get_mut(app_key) else {
            return;
        };
        let mut resource = Uuid::nil();
        let mut prefix: Arc<str> = "".into();
        for i in 0..files {
            if i % 1000 == 0 {
                resource = Uuid::new_v4();
                prefix = format!("{}/tmp/{}/", account.id, resource.simple()).into();
                account.resources.insert(
                    resource,
                    ResourceRec {
                        uuid: resource,
                        name: format!("flight {i}").into(),
                        kind: ResourceType::Map,
                        meta: "".into(),
                        files: Vec::with_capacity(1000),
                        revisable: true,
                        created: now,
                        updated: now,
                        input_jobs: Vec::new(),
                        output_jobs: Vec::new(),
                    },
                );
            }
            let uuid = Uuid::new_v4();
            let name: Arc<str> = format!("DJI_20261125_{i:06}.JPG").into();
            account.files.insert(
                uuid,
                FileRec {
                    uuid,
                    name: name.clone(),
                    size: 12_582_912,
                    checksum: "\"9b2cf535f27731c974343645a3985328\"".into(),
                    meta: "".into(),
                    position: Some(Position {
                        attitude: 0.0,
                        latitude: 22.5,
                        longitude: 113.9,
                    }),
                    created: now,
                    updated: now,
                    key: ObjectKey::new(prefix.clone(), name),
                    resources: vec![resource],
                },
            );
            account
                .resources
                .get_mut(&resource)
                .expect("just made")
                .files
                .push(uuid);
        }
        for i in 0..jobs {
            let uuid = Uuid::new_v4();
            account.jobs.insert(
                uuid,
                JobRec {
                    uuid,
                    name: format!("job {i}").into(),
                    meta: "".into(),
                    job_type: JobType::Model3d,
                    status: JobStatus::Succeeded,
                    created: now,
                    updated: now,
                    run: Some(Box::new(Run {
                        started: now,
                        origin: resource,
                        output: Some(resource),
                        merge_into: None,
                        parameters: r#"{"parameter":{"output_mesh":true,"generate_obj":true}}"#
                            .into(),
                        ends: [now; 4],
                        completed: Some(now),
                        message: "success".into(),
                        failure: None,
                        timer: None,
                        inputs: 24,
                    })),
                },
            );
        }
    }
}

/// Deletes a removed file's object unless another file (a copy) still points at it.
fn release_object(account: &Account, key: &ObjectKey, storage: &BlobStore, bucket: &str) {
    if !account.files.values().any(|other| other.key == *key) {
        storage.delete(bucket, &key.full());
    }
}

pub(crate) fn bucket_of(provider: Provider, cfg: &MockConfig) -> &str {
    match provider {
        Provider::S3 => &cfg.s3.bucket,
        Provider::Oss => &cfg.oss.bucket,
    }
}

pub(crate) fn resource_view(account: &Account, r: &ResourceRec) -> Resource {
    let mut size = 0u64;
    let mut count = 0u64;
    let mut scope: Option<Scope> = None;
    for f in r.files.iter().filter_map(|f| account.files.get(f)) {
        size += f.size;
        count += 1;
        if let Some(p) = f.position {
            let s = scope.get_or_insert(Scope {
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
    Resource {
        uuid: r.uuid.to_string(),
        name: r.name.to_string(),
        resource_type: r.kind.clone(),
        meta: r.meta.to_string(),
        file_count: count,
        total_size: size,
        scope,
        revisable: r.revisable,
        upload_used_time: 0.0,
        download_used_time: 0.0,
        created_at: format_rfc3339(r.created),
        updated_at: format_rfc3339(r.updated),
    }
}

pub(crate) fn file_view(f: &FileRec, url: Option<String>) -> File {
    File {
        uuid: f.uuid.to_string(),
        name: f.name.to_string(),
        size: f.size,
        checksum: f.checksum.to_string(),
        meta: f.meta.to_string(),
        position: f.position,
        url,
        created_at: format_rfc3339(f.created),
        updated_at: format_rfc3339(f.updated),
    }
}

/// The job object. Fields that exist only after start are omitted before it; list items
/// (`full == false`) carry the documented subset.
pub(crate) fn job_view(j: &JobRec, now: SystemTime, full: bool) -> Job {
    let mut job = Job {
        uuid: j.uuid.to_string(),
        name: j.name.to_string(),
        meta: j.meta.to_string(),
        job_type: j.job_type,
        status: j.status,
        created_at: format_rfc3339(j.created),
        updated_at: format_rfc3339(j.updated),
        started_at: None,
        completed_at: None,
        message: None,
        origin_resource_uuid: None,
        output_resource_uuid: None,
        parameters: None,
        percentage: None,
        pixels: None,
        remain_seconds: None,
    };
    let Some(run) = &j.run else { return job };
    job.started_at = Some(format_rfc3339(run.started));
    job.completed_at = run.completed.map(format_rfc3339);
    job.origin_resource_uuid = Some(run.origin.to_string());
    job.output_resource_uuid = run.output.map(|u| u.to_string());
    if full {
        let end = run.ends[3];
        let t = run.completed.unwrap_or(now).min(end);
        let total = secs_between(run.started, end);
        let pct = match j.status {
            JobStatus::Succeeded => 1.0,
            _ if total <= 0.0 => 0.0,
            _ => (secs_between(run.started, t) / total).clamp(0.0, 0.99),
        };
        job.message = Some(run.message.to_string());
        job.parameters = Some(run.parameters.to_string());
        job.percentage = Some((pct * 10_000.0).round() / 10_000.0);
        job.pixels = Some(if j.job_type == JobType::Lidar {
            0.0
        } else {
            run.inputs as f64 * 20_000_000.0
        });
        job.remain_seconds = Some(if j.status.is_terminal() {
            0
        } else {
            secs_between(now, end).ceil() as i64
        });
    }
    job
}
