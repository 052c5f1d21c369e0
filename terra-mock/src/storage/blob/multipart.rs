//! Multipart uploads in progress: their parts, listings, abort and complete.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::SystemTime;

use md5::{Digest, Md5};

use super::stored::{PartRow, UploadRow, file_name, object_row};
use super::{Blob, BlobStore, ObjectMeta, Segment, WrittenBody};
use crate::persist::WriteError;
use crate::state::rows::ms;

/// A part of a multipart upload.
#[derive(Debug, Clone)]
pub(crate) struct PartMeta {
    pub size: u64,
    pub etag: String,
    pub last_modified: SystemTime,
    pub(super) body: Arc<Blob>,
}

/// A multipart upload in progress.
#[derive(Debug)]
pub(crate) struct Upload {
    pub bucket: String,
    pub key: String,
    pub content_type: Option<String>,
    pub initiated: SystemTime,
    pub parts: BTreeMap<u32, PartMeta>,
}

/// A multipart upload as a listing shows it.
#[derive(Debug, Clone)]
pub(crate) struct UploadInfo {
    pub id: String,
    pub key: String,
    pub initiated: SystemTime,
}

/// Why a multipart upload cannot be completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompleteError {
    NoSuchUpload,
    /// A listed part was not uploaded, or its ETag differs.
    InvalidPart(u32),
    /// Part numbers are not strictly ascending.
    InvalidPartOrder,
    /// A part other than the last is below the minimum size.
    EntityTooSmall(u32),
    /// No parts were listed.
    Empty,
    /// The object's row could not be kept (`--data-dir`): the upload stays as it was.
    NotKept,
}

impl BlobStore {
    /// Starts a multipart upload; returns its id (none when its row cannot be kept).
    pub(crate) fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        now: SystemTime,
    ) -> Result<String, WriteError> {
        let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        if let Some(db) = &self.db {
            let row = UploadRow {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                content_type: content_type.clone(),
                initiated_ms: ms(now),
            };
            db.put_upload(&id, &serde_json::to_string(&row).unwrap_or_default())?;
        }
        self.lock().uploads.insert(
            id.clone(),
            Upload {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                content_type,
                initiated: now,
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    /// Whether `upload_id` is an upload of `bucket/key`.
    pub(crate) fn upload_exists(&self, upload_id: &str, bucket: &str, key: &str) -> bool {
        self.lock()
            .uploads
            .get(upload_id)
            .is_some_and(|u| u.bucket == bucket && u.key == key)
    }

    /// Records a part written with [`BlobStore::write_stream`]; `None` if the upload is
    /// gone. The body is removed when it is not recorded (no upload, or its row not kept).
    pub(crate) fn put_part(
        &self,
        upload_id: &str,
        number: u32,
        body: WrittenBody,
        now: SystemTime,
    ) -> Result<Option<PartMeta>, WriteError> {
        let mut inner = self.lock();
        let Some(upload) = inner.uploads.get_mut(upload_id) else {
            drop(inner);
            body.discard();
            return Ok(None);
        };
        let part = PartMeta {
            size: body.size,
            etag: body.etag,
            last_modified: now,
            body: Blob::new(vec![Segment {
                path: body.path,
                len: body.size,
            }]),
        };
        if let Some(db) = &self.db {
            let row = PartRow {
                size: part.size,
                etag: part.etag.clone(),
                last_modified_ms: ms(now),
                file: file_name(&part.body.segments[0].path),
            };
            if let Err(e) = db.put_part(
                upload_id,
                number,
                &serde_json::to_string(&row).unwrap_or_default(),
            ) {
                part.body.condemn();
                return Err(e);
            }
        }
        if let Some(old) = upload.parts.insert(number, part.clone()) {
            old.body.condemn();
        }
        Ok(Some(part))
    }

    /// Up to `max` parts numbered above `after`, and whether more follow.
    pub(crate) fn parts(
        &self,
        upload_id: &str,
        after: u32,
        max: usize,
    ) -> Option<(Vec<(u32, PartMeta)>, bool)> {
        let inner = self.lock();
        let u = inner.uploads.get(upload_id)?;
        let mut it = u
            .parts
            .range((Bound::Excluded(after), Bound::Unbounded))
            .map(|(n, p)| (*n, p.clone()));
        let page: Vec<_> = it.by_ref().take(max).collect();
        Some((page, it.next().is_some()))
    }

    /// Uploads in progress in `bucket` under `prefix`, ordered by key then id, after the
    /// markers; up to `max`, and whether more follow.
    pub(crate) fn uploads(
        &self,
        bucket: &str,
        prefix: &str,
        key_marker: &str,
        id_marker: &str,
        max: usize,
    ) -> (Vec<UploadInfo>, bool) {
        let inner = self.lock();
        let mut all: Vec<UploadInfo> = inner
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket && u.key.starts_with(prefix))
            .filter(|(id, u)| {
                let k = u.key.as_str();
                key_marker.is_empty()
                    || k > key_marker
                    || (!id_marker.is_empty() && k == key_marker && id.as_str() > id_marker)
            })
            .map(|(id, u)| UploadInfo {
                id: id.clone(),
                key: u.key.clone(),
                initiated: u.initiated,
            })
            .collect();
        all.sort_by(|a, b| (&a.key, &a.id).cmp(&(&b.key, &b.id)));
        let more = all.len() > max;
        all.truncate(max);
        (all, more)
    }

    /// Aborts an upload, deleting its parts; `false` if it did not exist. When the abort
    /// cannot be kept (`--data-dir`), the upload stays.
    pub(crate) fn abort_upload(&self, upload_id: &str) -> Result<bool, WriteError> {
        let mut inner = self.lock();
        if !inner.uploads.contains_key(upload_id) {
            return Ok(false);
        }
        if let Some(db) = &self.db {
            db.finish_upload(upload_id, None)?;
        }
        if let Some(u) = inner.uploads.remove(upload_id) {
            for p in u.parts.into_values() {
                p.body.condemn();
            }
        }
        Ok(true)
    }

    /// Number of multipart uploads in progress.
    pub(crate) fn uploads_in_progress(&self) -> usize {
        self.lock().uploads.len()
    }

    /// Completes an upload from the listed parts (number, ETag): the object's body is the
    /// parts' files, in order; its ETag is the MD5 of the parts' binary MD5s plus
    /// `-<count>`, as S3 and OSS compute it. Parts not listed are deleted. Atomic: a
    /// concurrent abort or complete of the same upload either happened before (this one
    /// gets `NoSuchUpload`) or finds the upload gone.
    pub(crate) fn complete_upload(
        &self,
        upload_id: &str,
        listed: &[(u32, String)],
        min_part_size: u64,
        now: SystemTime,
    ) -> Result<(String, String, ObjectMeta), CompleteError> {
        let mut inner = self.lock();
        let upload = inner
            .uploads
            .get(upload_id)
            .ok_or(CompleteError::NoSuchUpload)?;
        if listed.is_empty() {
            return Err(CompleteError::Empty);
        }
        if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(CompleteError::InvalidPartOrder);
        }
        let mut segments = Vec::with_capacity(listed.len());
        let mut md5s = Vec::with_capacity(16 * listed.len());
        let mut size = 0u64;
        for (i, (n, etag)) in listed.iter().enumerate() {
            let part = upload
                .parts
                .get(n)
                .filter(|p| terra_types::etag_eq(&p.etag, etag))
                .ok_or(CompleteError::InvalidPart(*n))?;
            if i + 1 < listed.len() && part.size < min_part_size {
                return Err(CompleteError::EntityTooSmall(*n));
            }
            segments.extend(part.body.segments.iter().cloned());
            md5s.extend(hex::decode(&part.etag).unwrap_or_default());
            size += part.size;
        }
        let meta = ObjectMeta {
            size,
            etag: format!("{}-{}", hex::encode(Md5::digest(&md5s)), listed.len()),
            content_type: upload.content_type.clone(),
            last_modified: now,
            body: Blob::new(segments),
        };
        // The upload becomes the object in one transaction, or stays an upload.
        if let Some(db) = &self.db
            && db
                .finish_upload(
                    upload_id,
                    Some((&upload.bucket, &upload.key, &object_row(&meta))),
                )
                .is_err()
        {
            return Err(CompleteError::NotKept);
        }
        let upload = inner.uploads.remove(upload_id).expect("checked");
        for (n, p) in &upload.parts {
            if listed.binary_search_by_key(n, |(m, _)| *m).is_err() {
                p.body.condemn();
            }
        }
        self.insert_kept(&mut inner, &upload.bucket, &upload.key, meta.clone());
        Ok((upload.bucket, upload.key, meta))
    }
}
