//! Object storage behind the S3 and OSS endpoints: object bodies live in files under one
//! directory (streamed, never held whole in memory), metadata in ordered maps per bucket.
//!
//! A body is a list of segments: one file for a single PUT, the part files themselves after
//! a multipart upload (completing never copies or reads parts again). Files are deleted
//! when the last holder of a *condemned* body lets go, so a download that started before a
//! delete or an overwrite reads to its end.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::persist::{Db, Stored};
use crate::state::rows::{ObjectDoc, PartDoc, UploadDoc, at, ms};

/// One file of a body.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub path: PathBuf,
    pub len: u64,
}

/// The files of a body. Removed from disk on drop once condemned (deleted or replaced).
#[derive(Debug)]
pub(crate) struct Blob {
    pub segments: Vec<Segment>,
    condemned: AtomicBool,
}

impl Blob {
    fn new(segments: Vec<Segment>) -> Arc<Self> {
        Arc::new(Self {
            segments,
            condemned: AtomicBool::new(false),
        })
    }

    fn condemn(&self) {
        self.condemned.store(true, Ordering::Release);
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        if self.condemned.load(Ordering::Acquire) {
            for s in &self.segments {
                let _ = std::fs::remove_file(&s.path);
            }
        }
    }
}

/// Metadata of a stored object.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = terra_mock::TerraMock::builder().build()?;
/// let token = mock.issue_token(mock.app_key()).unwrap();
/// let meta = mock.put_object(&token, "a.txt", b"hello")?;
/// assert_eq!(meta.etag, "5d41402abc4b2a76b9719d911017c592"); // MD5 of "hello"
/// assert_eq!(meta.size, 5);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    /// Bytes.
    pub size: u64,
    /// The ETag without quotes: the MD5 in hex, or `<md5 of part md5s>-<parts>` after a
    /// multipart upload (as S3 and OSS compute it).
    pub etag: String,
    /// `Content-Type` given at upload.
    pub content_type: Option<String>,
    /// When the object was written (mock clock).
    pub last_modified: SystemTime,
    pub(crate) body: Arc<Blob>,
}

impl PartialEq for ObjectMeta {
    fn eq(&self, other: &Self) -> bool {
        self.size == other.size
            && self.etag == other.etag
            && self.content_type == other.content_type
            && self.last_modified == other.last_modified
    }
}

impl ObjectMeta {
    /// The ETag as S3 and OSS send it, with quotes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let token = mock.issue_token(mock.app_key()).unwrap();
    /// let meta = mock.put_object(&token, "a.txt", b"hello")?;
    /// assert_eq!(meta.quoted_etag(), r#""5d41402abc4b2a76b9719d911017c592""#);
    /// # Ok(()) }
    /// ```
    pub fn quoted_etag(&self) -> String {
        format!("\"{}\"", self.etag)
    }
}

/// A body written to disk, not yet visible as an object.
#[derive(Debug)]
pub(crate) struct WrittenBody {
    pub path: PathBuf,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
}

impl WrittenBody {
    /// Throws the body away.
    pub(crate) fn discard(self) {
        let _ = std::fs::remove_file(self.path);
    }
}

/// A part of a multipart upload.
#[derive(Debug, Clone)]
pub(crate) struct PartMeta {
    pub size: u64,
    pub etag: String,
    pub last_modified: SystemTime,
    body: Arc<Blob>,
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

/// One page of a bucket listing.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    pub objects: Vec<(String, ObjectMeta)>,
    /// Common prefixes (with a delimiter).
    pub prefixes: Vec<String>,
    /// More follow.
    pub truncated: bool,
    /// The last key or prefix shown, where the next page starts (when truncated).
    pub next: Option<String>,
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
}

/// Why a key cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    Empty,
    TooLong,
    /// A character XML 1.0 cannot carry, so no listing could show the key.
    Unlistable(char),
}

/// Checks a key before anything is written under it. `max_len` is the protocol's limit.
/// The bytes of a body's segments, in order.
fn read_segments(segments: &[Segment]) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for s in segments {
        bytes.extend(std::fs::read(&s.path)?);
    }
    Ok(bytes)
}

pub(crate) fn check_key(key: &str, max_len: usize) -> Result<(), KeyProblem> {
    if key.is_empty() {
        return Err(KeyProblem::Empty);
    }
    if key.len() > max_len {
        return Err(KeyProblem::TooLong);
    }
    if let Some(c) = key.chars().find(|c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(KeyProblem::Unlistable(c));
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Inner {
    buckets: HashMap<String, BTreeMap<String, ObjectMeta>>,
    uploads: HashMap<String, Upload>,
    objects: usize,
}

/// Where bodies live: a temporary directory removed on drop, or `--data-dir`'s `objects/`.
#[derive(Debug)]
enum Dir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

/// The objects of every bucket.
#[derive(Debug)]
pub(crate) struct BlobStore {
    dir: Dir,
    inner: Mutex<Inner>,
    next: AtomicU64,
    /// Where metadata is kept, when the mock is persistent.
    db: Option<Arc<Db>>,
}

/// An object's stored form: its metadata and the files of its body (names under the
/// objects directory).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ObjectRow {
    size: u64,
    etag: String,
    content_type: Option<String>,
    last_modified_ms: u64,
    segments: Vec<(String, u64)>,
}

/// A multipart upload's stored form (its parts are rows of their own).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct UploadRow {
    bucket: String,
    key: String,
    content_type: Option<String>,
    initiated_ms: u64,
}

/// A part's stored form.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct PartRow {
    size: u64,
    etag: String,
    last_modified_ms: u64,
    file: String,
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn object_row(m: &ObjectMeta) -> String {
    serde_json::to_string(&ObjectRow {
        size: m.size,
        etag: m.etag.clone(),
        content_type: m.content_type.clone(),
        last_modified_ms: ms(m.last_modified),
        segments: m
            .body
            .segments
            .iter()
            .map(|s| (file_name(&s.path), s.len))
            .collect(),
    })
    .unwrap_or_default()
}

impl BlobStore {
    /// An empty store in a new temporary directory (removed on drop).
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: Dir::Temp(tempfile::Builder::new().prefix("terra-mock-").tempdir()?),
            inner: Mutex::default(),
            next: AtomicU64::new(1),
            db: None,
        })
    }

    /// A persistent store holding what `stored` lists; files of the objects directory that
    /// nothing lists (being written when the process died) are deleted.
    pub(crate) fn open(db: Arc<Db>, stored: &mut Stored) -> std::io::Result<Self> {
        let dir = db.objects_dir();
        let bad = |what: &str, e: serde_json::Error| {
            std::io::Error::other(format!("a stored {what} is unreadable: {e}"))
        };
        let mut inner = Inner::default();
        let mut kept = std::collections::HashSet::new();
        for (bucket, key, data) in std::mem::take(&mut stored.objects) {
            let r: ObjectRow = serde_json::from_str(&data).map_err(|e| bad("object", e))?;
            let segments = r
                .segments
                .into_iter()
                .map(|(name, len)| {
                    let path = dir.join(&name);
                    kept.insert(name);
                    Segment { path, len }
                })
                .collect();
            let meta = ObjectMeta {
                size: r.size,
                etag: r.etag,
                content_type: r.content_type,
                last_modified: at(r.last_modified_ms),
                body: Blob::new(segments),
            };
            inner.buckets.entry(bucket).or_default().insert(key, meta);
            inner.objects += 1;
        }
        for (id, data) in std::mem::take(&mut stored.uploads) {
            let r: UploadRow = serde_json::from_str(&data).map_err(|e| bad("upload", e))?;
            inner.uploads.insert(
                id,
                Upload {
                    bucket: r.bucket,
                    key: r.key,
                    content_type: r.content_type,
                    initiated: at(r.initiated_ms),
                    parts: BTreeMap::new(),
                },
            );
        }
        for (id, number, data) in std::mem::take(&mut stored.parts) {
            let r: PartRow = serde_json::from_str(&data).map_err(|e| bad("part", e))?;
            let Some(u) = inner.uploads.get_mut(&id) else {
                continue;
            };
            let path = dir.join(&r.file);
            kept.insert(r.file);
            u.parts.insert(
                number,
                PartMeta {
                    size: r.size,
                    etag: r.etag,
                    last_modified: at(r.last_modified_ms),
                    body: Blob::new(vec![Segment { path, len: r.size }]),
                },
            );
        }
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if !kept.contains(&*entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            dir: Dir::Kept(dir),
            inner: Mutex::new(inner),
            next: AtomicU64::new(1),
            db: Some(db),
        })
    }

    /// The directory holding the bodies.
    pub(crate) fn dir(&self) -> &std::path::Path {
        match &self.dir {
            Dir::Temp(t) => t.path(),
            Dir::Kept(p) => p,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh path for a body being written.
    pub(crate) fn new_path(&self) -> PathBuf {
        match &self.dir {
            Dir::Temp(t) => t.path().join(format!(
                "blob-{}",
                self.next.fetch_add(1, Ordering::Relaxed)
            )),
            // Names that a restart cannot reuse.
            Dir::Kept(p) => p.join(format!("blob-{}", uuid::Uuid::new_v4().simple())),
        }
    }

    /// Metadata of an object.
    pub(crate) fn head(&self, bucket: &str, key: &str) -> Option<ObjectMeta> {
        self.lock().buckets.get(bucket)?.get(key).cloned()
    }

    /// Number of objects stored.
    pub(crate) fn len(&self) -> usize {
        self.lock().objects
    }

    /// Stores a small body given in memory (job outputs, test fixtures).
    pub(crate) fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: Option<&str>,
        now: SystemTime,
    ) -> std::io::Result<ObjectMeta> {
        let path = self.new_path();
        std::fs::write(&path, body)?;
        let written = WrittenBody {
            path,
            size: body.len() as u64,
            etag: hex::encode(Md5::digest(body)),
            content_type: content_type.map(str::to_owned),
        };
        Ok(self.commit(bucket, key, written, now))
    }

    fn insert(&self, inner: &mut Inner, bucket: &str, key: &str, meta: ObjectMeta) {
        if let Some(db) = &self.db {
            db.put_object(bucket, key, &object_row(&meta));
        }
        let old = inner
            .buckets
            .entry(bucket.to_owned())
            .or_default()
            .insert(key.to_owned(), meta);
        match old {
            Some(old) => old.body.condemn(),
            None => inner.objects += 1,
        }
    }

    /// Records a body already written to `body.path` (from [`BlobStore::new_path`]) as the
    /// object `bucket/key`, replacing (and condemning) any previous body.
    pub(crate) fn commit(
        &self,
        bucket: &str,
        key: &str,
        body: WrittenBody,
        now: SystemTime,
    ) -> ObjectMeta {
        let meta = ObjectMeta {
            size: body.size,
            etag: body.etag,
            content_type: body.content_type,
            last_modified: now,
            body: Blob::new(vec![Segment {
                path: body.path,
                len: body.size,
            }]),
        };
        let mut inner = self.lock();
        self.insert(&mut inner, bucket, key, meta.clone());
        meta
    }

    /// Streams a body to a new file, computing its MD5 on the way. Memory stays at one chunk
    /// whatever the size. On a stream error the file is removed and the error returned.
    pub(crate) async fn write_stream<S, E>(
        &self,
        mut body: S,
        content_type: Option<String>,
    ) -> Result<WrittenBody, String>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.new_path();
        let result = async {
            let file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| e.to_string())?;
            let mut file = tokio::io::BufWriter::with_capacity(256 * 1024, file);
            let mut md5 = Md5::new();
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                md5.update(&chunk);
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(|e| e.to_string())?;
            }
            file.flush().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(WrittenBody {
                path: path.clone(),
                size,
                etag: hex::encode(md5.finalize()),
                content_type,
            })
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&path).await;
        }
        result
    }

    /// Up to `limit` objects of `bucket` whose key starts with `prefix` and comes after
    /// `after`, in key order: O(log n + limit).
    pub(crate) fn list(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Vec<(String, ObjectMeta)> {
        let inner = self.lock();
        let Some(objects) = inner.buckets.get(bucket) else {
            return Vec::new();
        };
        let start = if !after.is_empty() && after >= prefix {
            Bound::Excluded(after.to_owned())
        } else {
            Bound::Included(prefix.to_owned())
        };
        objects
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect()
    }

    /// One page of a listing: up to `max` objects and common prefixes (with a delimiter)
    /// of `bucket` under `prefix` after `after`, in key order, and where the next page
    /// starts if there is one. Costs O(log n + what the page skips and shows).
    pub(crate) fn page(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        max: usize,
        delimiter: Option<&str>,
    ) -> ListPage {
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut page = ListPage::default();
        let mut after = after.to_owned();
        let shown = |p: &ListPage| p.objects.len() + p.prefixes.len();
        'outer: loop {
            let batch = self.list(bucket, prefix, &after, 256);
            if batch.is_empty() {
                break;
            }
            for (key, meta) in batch {
                after.clone_from(&key);
                let common = delimiter.and_then(|d| {
                    key[prefix.len()..]
                        .find(d)
                        .map(|p| prefix.len() + p + d.len())
                });
                if let Some(end) = common {
                    let cp = key[..end].to_owned();
                    if page.prefixes.last() == Some(&cp) {
                        continue;
                    }
                    if shown(&page) >= max {
                        page.truncated = true;
                        break 'outer;
                    }
                    // Skip every key under this common prefix.
                    after = format!("{cp}\u{10FFFF}");
                    page.next = Some(cp.clone());
                    page.prefixes.push(cp);
                    continue 'outer;
                }
                if shown(&page) >= max {
                    page.truncated = true;
                    break 'outer;
                }
                page.next = Some(key.clone());
                page.objects.push((key, meta));
            }
        }
        if !page.truncated {
            page.next = None;
        }
        page
    }

    /// Every key under `prefix` (cleanup of expired upload prefixes).
    pub(crate) fn keys_under(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.list(bucket, prefix, "", usize::MAX)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// Starts a multipart upload; returns its id.
    pub(crate) fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        now: SystemTime,
    ) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        if let Some(db) = &self.db {
            let row = UploadRow {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                content_type: content_type.clone(),
                initiated_ms: ms(now),
            };
            db.put_upload(&id, &serde_json::to_string(&row).unwrap_or_default());
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
        id
    }

    /// Whether `upload_id` is an upload of `bucket/key`.
    pub(crate) fn upload_exists(&self, upload_id: &str, bucket: &str, key: &str) -> bool {
        self.lock()
            .uploads
            .get(upload_id)
            .is_some_and(|u| u.bucket == bucket && u.key == key)
    }

    /// Records a part written with [`BlobStore::write_stream`]; `None` if the upload is
    /// gone (the body is then removed).
    pub(crate) fn put_part(
        &self,
        upload_id: &str,
        number: u32,
        body: WrittenBody,
        now: SystemTime,
    ) -> Option<PartMeta> {
        let mut inner = self.lock();
        let Some(upload) = inner.uploads.get_mut(upload_id) else {
            drop(inner);
            body.discard();
            return None;
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
            db.put_part(
                upload_id,
                number,
                &serde_json::to_string(&row).unwrap_or_default(),
            );
        }
        if let Some(old) = upload.parts.insert(number, part.clone()) {
            old.body.condemn();
        }
        Some(part)
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

    /// Aborts an upload, deleting its parts; `false` if it did not exist.
    pub(crate) fn abort_upload(&self, upload_id: &str) -> bool {
        let upload = self.lock().uploads.remove(upload_id);
        if let (Some(db), Some(_)) = (&self.db, &upload) {
            db.finish_upload(upload_id, None);
        }
        match upload {
            Some(u) => {
                for p in u.parts.into_values() {
                    p.body.condemn();
                }
                true
            }
            None => false,
        }
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
        let upload = inner.uploads.remove(upload_id).expect("checked");
        if let Some(db) = &self.db {
            db.finish_upload(upload_id, None);
        }
        for (n, p) in &upload.parts {
            if listed.binary_search_by_key(n, |(m, _)| *m).is_err() {
                p.body.condemn();
            }
        }
        let meta = ObjectMeta {
            size,
            etag: format!("{}-{}", hex::encode(Md5::digest(&md5s)), listed.len()),
            content_type: upload.content_type,
            last_modified: now,
            body: Blob::new(segments),
        };
        self.insert(&mut inner, &upload.bucket, &upload.key, meta.clone());
        Ok((upload.bucket, upload.key, meta))
    }

    /// Streams `range` (within the object) of an object's body, segment after segment.
    /// The body stays on disk until the stream ends, even if the object is deleted.
    pub(crate) async fn read_range(
        meta: &ObjectMeta,
        range: std::ops::Range<u64>,
    ) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
        let mut pieces = Vec::new();
        let mut offset = 0u64;
        for s in &meta.body.segments {
            let (start, end) = (offset, offset + s.len);
            offset = end;
            if end <= range.start || start >= range.end {
                continue;
            }
            let from = range.start.max(start) - start;
            let to = range.end.min(end) - start;
            pieces.push((s.path.clone(), from, to - from));
        }
        // Open the first file now, so that a missing body is an error before any byte.
        let mut first = match pieces.first() {
            Some((p, from, _)) => {
                let mut f = tokio::fs::File::open(p).await?;
                f.seek(std::io::SeekFrom::Start(*from)).await?;
                Some(f)
            }
            None => None,
        };
        // Held by the stream: the files stay until the last byte is read.
        let keep = meta.body.clone();
        let stream = futures::stream::iter(pieces)
            .then(move |(path, from, len)| {
                let _body = &keep;
                let opened = first.take();
                async move {
                    let f = match opened {
                        Some(f) => f,
                        None => {
                            let mut f = tokio::fs::File::open(&path).await?;
                            f.seek(std::io::SeekFrom::Start(from)).await?;
                            f
                        }
                    };
                    Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                        f.take(len),
                        64 * 1024,
                    ))
                }
            })
            .map(|r| match r {
                Ok(s) => s.left_stream(),
                Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
            })
            .flatten();
        Ok(stream)
    }

    /// Every object with its bytes, and every multipart upload with its parts' bytes (an
    /// export). Reads every body: O(bytes stored).
    /// The whole body of an object, read into memory (for tests and export; the endpoints
    /// stream by range).
    pub(crate) fn bytes(&self, bucket: &str, key: &str) -> Option<std::io::Result<Vec<u8>>> {
        Some(read_segments(&self.segments(bucket, key)?))
    }

    /// The files of an object's body, or `None` when there is no such object.
    fn segments(&self, bucket: &str, key: &str) -> Option<Vec<Segment>> {
        Some(
            self.lock()
                .buckets
                .get(bucket)?
                .get(key)?
                .body
                .segments
                .clone(),
        )
    }

    /// The first `limit` bytes of an object (its EXIF, say) without reading the rest.
    pub(crate) fn head_bytes(
        &self,
        bucket: &str,
        key: &str,
        limit: usize,
    ) -> Option<std::io::Result<Vec<u8>>> {
        use std::io::Read;
        let segments = self.segments(bucket, key)?;
        let read = || {
            let mut bytes = Vec::with_capacity(limit.min(1 << 20));
            for s in &segments {
                let left = limit - bytes.len();
                if left == 0 {
                    break;
                }
                std::fs::File::open(&s.path)?
                    .take(left as u64)
                    .read_to_end(&mut bytes)?;
            }
            Ok(bytes)
        };
        Some(read())
    }

    pub(crate) fn export(&self) -> std::io::Result<(Vec<ObjectDoc>, Vec<UploadDoc>)> {
        use base64::Engine as _;
        let b64 = |segments: &[Segment]| -> std::io::Result<String> {
            Ok(base64::engine::general_purpose::STANDARD.encode(read_segments(segments)?))
        };
        let (objects, uploads): (Vec<_>, Vec<_>) = {
            let inner = self.lock();
            let objects = inner
                .buckets
                .iter()
                .flat_map(|(b, m)| {
                    m.iter()
                        .map(move |(k, o)| (b.clone(), k.clone(), o.clone()))
                })
                .collect();
            let uploads = inner
                .uploads
                .iter()
                .map(|(id, u)| {
                    let parts: Vec<(u32, PartMeta)> =
                        u.parts.iter().map(|(n, p)| (*n, p.clone())).collect();
                    (
                        id.clone(),
                        u.bucket.clone(),
                        u.key.clone(),
                        u.content_type.clone(),
                        u.initiated,
                        parts,
                    )
                })
                .collect();
            (objects, uploads)
        };
        let mut out = Vec::with_capacity(objects.len());
        for (bucket, key, o) in objects {
            out.push(ObjectDoc {
                data: b64(&o.body.segments)?,
                bucket,
                key,
                size: o.size,
                etag: o.etag,
                content_type: o.content_type,
                last_modified_ms: ms(o.last_modified),
            });
        }
        out.sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
        let mut ups = Vec::with_capacity(uploads.len());
        for (id, bucket, key, content_type, initiated, parts) in uploads {
            let mut ps = Vec::with_capacity(parts.len());
            for (number, p) in parts {
                ps.push(PartDoc {
                    data: b64(&p.body.segments)?,
                    number,
                    size: p.size,
                    etag: p.etag,
                    last_modified_ms: ms(p.last_modified),
                });
            }
            ups.push(UploadDoc {
                id,
                bucket,
                key,
                content_type,
                initiated_ms: ms(initiated),
                parts: ps,
            });
        }
        ups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok((out, ups))
    }

    /// Stores an object as exported (its bytes decoded already), keeping its ETag.
    pub(crate) fn import_object(&self, o: &ObjectDoc, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.new_path();
        std::fs::write(&path, bytes)?;
        let meta = ObjectMeta {
            size: bytes.len() as u64,
            etag: o.etag.clone(),
            content_type: o.content_type.clone(),
            last_modified: at(o.last_modified_ms),
            body: Blob::new(vec![Segment {
                path,
                len: bytes.len() as u64,
            }]),
        };
        let mut inner = self.lock();
        self.insert(&mut inner, &o.bucket, &o.key, meta);
        Ok(())
    }

    /// Puts back a multipart upload as exported (its parts' bytes decoded already).
    pub(crate) fn import_upload(&self, u: &UploadDoc, parts: &[Vec<u8>]) -> std::io::Result<()> {
        let id = u.id.clone();
        if let Some(db) = &self.db {
            let row = UploadRow {
                bucket: u.bucket.clone(),
                key: u.key.clone(),
                content_type: u.content_type.clone(),
                initiated_ms: u.initiated_ms,
            };
            db.put_upload(&id, &serde_json::to_string(&row).unwrap_or_default());
        }
        self.lock().uploads.insert(
            id.clone(),
            Upload {
                bucket: u.bucket.clone(),
                key: u.key.clone(),
                content_type: u.content_type.clone(),
                initiated: at(u.initiated_ms),
                parts: BTreeMap::new(),
            },
        );
        for (p, bytes) in u.parts.iter().zip(parts) {
            let path = self.new_path();
            std::fs::write(&path, bytes)?;
            let body = WrittenBody {
                path,
                size: bytes.len() as u64,
                etag: p.etag.clone(),
                content_type: None,
            };
            self.put_part(&id, p.number, body, at(p.last_modified_ms));
        }
        Ok(())
    }

    /// Deletes every object and upload under `prefix` of `bucket`; returns how many objects.
    pub(crate) fn delete_under(&self, bucket: &str, prefix: &str) -> usize {
        let keys = self.keys_under(bucket, prefix);
        for k in &keys {
            self.delete(bucket, k);
        }
        let ids: Vec<String> = self
            .lock()
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket && u.key.starts_with(prefix))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.abort_upload(&id);
        }
        keys.len()
    }

    /// Deletes every object and upload.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        for b in inner.buckets.values() {
            for m in b.values() {
                m.body.condemn();
            }
        }
        for u in inner.uploads.values() {
            for p in u.parts.values() {
                p.body.condemn();
            }
        }
        *inner = Inner::default();
        if let Some(db) = &self.db {
            db.clear_storage();
        }
    }

    /// Deletes an object; `false` if it did not exist.
    pub(crate) fn delete(&self, bucket: &str, key: &str) -> bool {
        let mut inner = self.lock();
        let old = inner.buckets.get_mut(bucket).and_then(|b| b.remove(key));
        match old {
            Some(old) => {
                if let Some(db) = &self.db {
                    db.delete_object(bucket, key);
                }
                inner.objects -= 1;
                old.body.condemn();
                true
            }
            None => false,
        }
    }
}
