//! Resources and the upload callback that fills them; their files are in `files.rs`, the
//! objects files point at in `objects.rs`.

use std::sync::Arc;

use terra_types::{
    CallbackFile, CreateResourceRequest, File, FileOperationRequest, ListResourcesQuery, Page,
    Resource, ResourceDetail, ResourceType, UpdateRequest, UploadCallbackRequest, etag_eq,
};
use uuid::Uuid;

use super::paging::{PageReq, Search, positions_of, uuid_filter};
use super::sessions::Grant;
use super::views::{file_view, resource_view};
use super::{Account, AccountCell, Env, FileRec, ObjectKey, ResourceRec, bucket_of, parse_uuid};
use crate::config::{DuplicateCallbacks, Provider};
use crate::error::{ApiError, ApiResult};

/// A function making the download URL of an object key for an account.
pub(crate) type UrlFn<'a> = &'a dyn Fn(Provider, &str) -> String;

/// Longest object key the mock stores (OSS's limit; S3 allows one byte more).
pub(crate) const MAX_KEY_BYTES: usize = 1023;

/// Why a callback name cannot be a file name: it must be the relative name substituted for
/// `{fileName}`.
pub(crate) fn check_file_name(name: &str, prefix_len: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.starts_with('/') {
        return Err("must be relative (no leading `/`)".into());
    }
    if name.contains('\\') {
        return Err("must use `/` as separator, not `\\`".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "must not contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    if name
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err("must not contain empty, `.` or `..` path segments".into());
    }
    if prefix_len + name.len() > MAX_KEY_BYTES {
        return Err(format!(
            "is too long ({} bytes; with the storePath prefix the object key may hold at most {MAX_KEY_BYTES})",
            name.len()
        ));
    }
    Ok(())
}

impl Account {
    pub(super) fn resource(&self, uuid: &str) -> ApiResult<(Uuid, &ResourceRec)> {
        let id = parse_uuid(uuid, ApiError::no_resource)?;
        let r = self
            .resources
            .get(&id)
            .ok_or_else(|| ApiError::no_resource(uuid))?;
        Ok((id, r))
    }

    // ---- store ------------------------------------------------------------------------

    pub(crate) fn upload_callback(
        &mut self,
        cell: &AccountCell,
        grant: &Grant,
        req: UploadCallbackRequest,
        env: &Env<'_>,
    ) -> ApiResult<Vec<File>> {
        let cfg = env.cfg;
        if env.now > grant.expires {
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
        let bucket = bucket_of(cell.provider, cfg);
        let (rid, resource) = self.resource(&req.resource_uuid)?;
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
            check_file_name(&f.name, grant.prefix.len()).map_err(|why| {
                ApiError::invalid(format!(
                    "parameter `files[{i}].name` {why}: give the relative name substituted for {{fileName}}"
                ))
            })?;
            let key = format!("{}{}", grant.prefix, f.name);
            let meta = env.storage.head(bucket, &key).ok_or_else(|| {
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
            found.push(meta.size);
        }
        let mut out = Vec::with_capacity(found.len());
        for (f, size) in req.files.into_iter().zip(found) {
            let CallbackFile {
                name,
                checksum,
                meta,
                position,
                ..
            } = f;
            let name: Arc<str> = name.into();
            let key = ObjectKey::new(grant.prefix.clone(), name.clone());
            if cfg.duplicate_callbacks == DuplicateCallbacks::Reuse
                && let Some(existing) = self.file_in_resource(&key, &rid)
            {
                // The same object registered again: the row it already has, brought up to
                // date (the object may have been uploaded again).
                let pos = self.files.position(&existing).expect("indexed");
                self.unlink(&rid, pos);
                let row = self.files.get_mut(&existing).expect("indexed");
                row.size = size;
                row.checksum = checksum.into();
                if let Some(m) = meta {
                    row.meta = m.into();
                }
                if position.is_some() {
                    row.position = position;
                }
                row.updated = env.now;
                self.link(&rid, pos);
                out.push(file_view(self.files.get(&existing).expect("indexed"), None));
                continue;
            }
            let uuid = Uuid::new_v4();
            let rec = FileRec {
                uuid,
                key,
                name,
                size,
                checksum: checksum.into(),
                meta: meta.unwrap_or_default().into(),
                position,
                created: env.now,
                updated: env.now,
                resources: Vec::new(),
            };
            out.push(file_view(&rec, None));
            let pos = self.insert_file(rec);
            self.link(&rid, pos);
        }
        self.resources.get_mut(&rid).expect("checked above").updated = env.now;
        Ok(out)
    }

    // ---- resources --------------------------------------------------------------------

    pub(crate) fn create_resource(
        &mut self,
        req: CreateResourceRequest,
        env: &Env<'_>,
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
        let mut files = Vec::new();
        for f in req.files.unwrap_or_default() {
            files.push(self.file_uuid(&f)?);
        }
        let uuid = Uuid::new_v4();
        let rec = ResourceRec::new(
            uuid,
            &req.name,
            ResourceType::Map,
            &req.meta.unwrap_or_default(),
            env.now,
        );
        self.insert_resource(rec);
        for f in files {
            let pos = self.files.position(&f).expect("checked");
            self.link(&uuid, pos);
        }
        Ok(resource_view(self.resources.get(&uuid).expect("inserted")))
    }

    pub(crate) fn list_resources(
        &self,
        q: &ListResourcesQuery,
        env: &Env<'_>,
    ) -> ApiResult<Page<Resource>> {
        let req = PageReq::new(q.page, q.rows, env.cfg)?;
        let only = uuid_filter(&q.uuids)?;
        let search = Search::new(&q.search);
        let keep = |r: &&ResourceRec| {
            q.resource_type.as_ref().is_none_or(|t| *t == r.kind) && search.matches(&r.name)
        };
        let view = |r: &ResourceRec| resource_view(r);
        if let Some(only) = &only {
            let rows = positions_of(only, |u| self.resources.position(u), false)
                .into_iter()
                .filter_map(|p| self.resources.at(p))
                .filter(keep);
            return Ok(req.of_iter(rows, view));
        }
        if search.is_none() {
            let ranks = match &q.resource_type {
                Some(t) => self.resources_of_kind(t),
                None => Some(self.resources.ranks()),
            };
            return Ok(req.of_ranks(ranks, false, |p| self.resources.at(p).map(view)));
        }
        let rows = self.resources.values().rev().filter(keep);
        Ok(req.of_iter(rows, view))
    }

    pub(crate) fn resource_detail(&self, uuid: &str) -> ApiResult<ResourceDetail> {
        let (_, r) = self.resource(uuid)?;
        Ok(ResourceDetail {
            summary: resource_view(r),
            file_uuids: r
                .files
                .iter()
                .filter_map(|p| self.files.at(*p))
                .map(|f| f.uuid.to_string())
                .collect(),
            input_job_uuids: r.input_jobs.iter().map(Uuid::to_string).collect(),
            output_job_uuids: r.output_jobs.iter().map(Uuid::to_string).collect(),
        })
    }

    pub(crate) fn update_resource(
        &mut self,
        uuid: &str,
        req: UpdateRequest,
        env: &Env<'_>,
    ) -> ApiResult<Resource> {
        let (id, r) = self.resource(uuid)?;
        if !r.revisable {
            return Err(ApiError::not_allowed(format!(
                "resource {uuid} is not revisable"
            )));
        }
        if req.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ApiError::invalid("parameter `name` must not be empty"));
        }
        let r = self.resources.get_mut(&id).expect("checked");
        if let Some(name) = req.name {
            r.name = name.into();
        }
        if let Some(meta) = req.meta {
            r.meta = meta.into();
        }
        r.updated = env.now;
        Ok(resource_view(r))
    }

    pub(crate) fn delete_resource(
        &mut self,
        cell: &AccountCell,
        uuid: &str,
        mode: Option<&str>,
        env: &Env<'_>,
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
        let (id, r) = self.resource(uuid)?;
        let busy = r
            .input_jobs
            .iter()
            .chain(&r.output_jobs)
            .any(|j| self.jobs.get(j).is_some_and(|j| j.status.is_running()));
        if busy {
            return Err(ApiError::not_allowed(format!(
                "resource {uuid} is used by a running job; stop the job or wait for it to end"
            )));
        }
        let r = self.remove_resource(&id).expect("exists");
        for pos in r.files {
            let Some(fid) = self.files.at(pos).map(|f| f.uuid) else {
                continue;
            };
            let f = self.files.get_mut(&fid).expect("exists");
            f.resources.retain(|x| *x != id);
            if with_files && f.resources.is_empty() {
                self.remove_file(&fid, env, cell.provider);
            }
        }
        self.compact_if_sparse();
        Ok(())
    }

    pub(crate) fn copy_resource(
        &mut self,
        uuid: &str,
        req: UpdateRequest,
        env: &Env<'_>,
    ) -> ApiResult<Resource> {
        let (_, src) = self.resource(uuid)?;
        let new_id = Uuid::new_v4();
        let name = req.name.unwrap_or_else(|| format!("copy of {}", src.name));
        let meta = req.meta.unwrap_or_else(|| src.meta.to_string());
        let sources = src.files.clone();
        self.insert_resource(ResourceRec::new(
            new_id,
            &name,
            ResourceType::Map,
            &meta,
            env.now,
        ));
        for p in sources {
            let Some(orig) = self.files.at(p) else {
                continue;
            };
            let copy = FileRec {
                uuid: Uuid::new_v4(),
                name: orig.name.clone(),
                size: orig.size,
                checksum: orig.checksum.clone(),
                meta: orig.meta.clone(),
                position: orig.position,
                created: env.now,
                updated: env.now,
                key: orig.key.clone(),
                resources: Vec::new(),
            };
            let pos = self.insert_file(copy);
            self.link(&new_id, pos);
        }
        Ok(resource_view(
            self.resources.get(&new_id).expect("inserted"),
        ))
    }

    pub(crate) fn file_operation(
        &mut self,
        uuid: &str,
        req: FileOperationRequest,
        env: &Env<'_>,
    ) -> ApiResult<Resource> {
        let (id, r) = self.resource(uuid)?;
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
            add.push(self.file_uuid(f)?);
        }
        let mut remove = Vec::new();
        for f in &req.remove_file_uuids {
            let fid = parse_uuid(f, ApiError::no_file)?;
            let inside = self
                .files
                .get(&fid)
                .is_some_and(|file| file.resources.contains(&id));
            if !inside {
                return Err(ApiError::invalid(format!(
                    "parameter `removeFileUuids`: file {f} is not in resource {uuid}"
                )));
            }
            remove.push(fid);
        }
        for fid in remove {
            let pos = self.files.position(&fid).expect("checked");
            self.unlink(&id, pos);
        }
        for fid in add {
            let pos = self.files.position(&fid).expect("checked");
            self.link(&id, pos);
        }
        let r = self.resources.get_mut(&id).expect("exists");
        r.updated = env.now;
        Ok(resource_view(r))
    }
}
