//! Object storage behind the S3 and OSS endpoints: object bodies live in files under one
//! directory (streamed, never held whole in memory), metadata in ordered maps per bucket.
//!
//! A body is a list of segments: one file for a single PUT, the part files themselves after
//! a multipart upload (completing never copies or reads parts again). Files are deleted
//! when the last holder of a *condemned* body lets go, so a download that started before a
//! delete or an overwrite reads to its end.

//!
//! Files by concern: `listing.rs` (pages of a bucket), `multipart.rs` (uploads in progress
//! and their parts), `stored.rs` (the rows kept with `--data-dir`, export and import).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::persist::{Db, WriteError};

mod cache;
mod listing;
mod multipart;
mod stored;

pub(crate) use multipart::{CompleteError, PartMeta, Upload};
use stored::object_row;

/// Body files are spread over this many subfolders (`00` to `ff`): one folder of tens of
/// thousands of files, created and deleted by many requests at once, made the file system
/// spend more CPU on its directory lock and blocks than the server on the requests.
pub(crate) const SHARDS: usize = 256;

/// Which shard folders exist (made on first use).
struct Shards(Box<[AtomicBool]>);

impl Default for Shards {
    fn default() -> Self {
        Self((0..SHARDS).map(|_| AtomicBool::new(false)).collect())
    }
}

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards").finish_non_exhaustive()
    }
}

impl Shards {
    /// Makes shard `i`'s folder `dir` unless it was made (a failure shows when the body is
    /// written there).
    fn ensure(&self, i: usize, dir: &std::path::Path) {
        if !self.0[i].load(Ordering::Acquire) && std::fs::create_dir_all(dir).is_ok() {
            self.0[i].store(true, Ordering::Release);
        }
    }
}

/// Ranges up to this size are read in one go rather than streamed from an async file.
const SMALL_READ: u64 = 64 * 1024;

/// The read size of a streamed body: each read is a trip to the blocking pool, so bigger
/// reads cost less CPU per byte (256 KiB: a quarter of the trips 64 KiB took).
const STREAM_CHUNK: usize = 256 * 1024;

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

    /// Undoes [`Blob::condemn`] (a staged body that became an object).
    fn absolve(&self) {
        self.condemned.store(false, Ordering::Release);
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

/// Why a body could not be written.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    /// The request body failed (ended early, a bad chunk signature): the client's fault.
    Body(String),
    /// The disk failed (full, most often): the server's.
    Disk(std::io::Error),
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

/// Why a key cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    Empty,
    TooLong,
    /// A character XML 1.0 cannot carry, so no listing could show the key.
    Unlistable(char),
}

/// The bytes of a body's segments, in order.
fn read_segments(segments: &[Segment]) -> std::io::Result<Vec<u8>> {
    if let [one] = segments {
        return std::fs::read(&one.path);
    }
    let mut bytes = Vec::new();
    for s in segments {
        bytes.extend(std::fs::read(&s.path)?);
    }
    Ok(bytes)
}

/// Checks a key before anything is written under it. `max_len` is the protocol's limit.
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
    /// Which of the [`SHARDS`] subfolders exist.
    shards: Shards,
    /// Where metadata is kept, when the mock is persistent.
    db: Option<Arc<Db>>,
}

impl BlobStore {
    /// An empty store in a new temporary directory (removed on drop).
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: Dir::Temp(tempfile::Builder::new().prefix("terra-mock-").tempdir()?),
            inner: Mutex::default(),
            next: AtomicU64::new(1),
            shards: Shards::default(),
            db: None,
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

    /// A fresh path for a body being written, in one of the [`SHARDS`] subfolders.
    pub(crate) fn new_path(&self) -> PathBuf {
        let (shard, name) = match &self.dir {
            Dir::Temp(_) => {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                ((n % SHARDS as u64) as usize, format!("blob-{n}"))
            }
            // Names that a restart cannot reuse.
            Dir::Kept(_) => {
                let id: u128 = rand::random();
                ((id >> 120) as usize, format!("blob-{id:032x}"))
            }
        };
        let dir = self.dir().join(format!("{shard:02x}"));
        self.shards.ensure(shard, &dir);
        dir.join(name)
    }

    /// How many body files there are (for tests: what is left on disk).
    pub(crate) fn body_files(&self) -> usize {
        stored::body_files(self.dir()).map_or(0, |f| f.len())
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
        if let Err(e) = std::fs::write(&path, body) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let written = WrittenBody {
            path,
            size: body.len() as u64,
            etag: hex::encode(Md5::digest(body)),
            content_type: content_type.map(str::to_owned),
        };
        self.commit(bucket, key, written, now)
            .map_err(std::io::Error::other)
    }

    /// Makes `meta` the object `bucket/key` once its row is kept (with `--data-dir`); when
    /// the row cannot be written, nothing changes and `meta`'s body is thrown away.
    fn insert(
        &self,
        inner: &mut Inner,
        bucket: &str,
        key: &str,
        meta: ObjectMeta,
    ) -> Result<(), WriteError> {
        if let Some(db) = &self.db
            && let Err(e) = db.put_object(bucket, key, &object_row(&meta))
        {
            meta.body.condemn();
            return Err(e);
        }
        self.insert_kept(inner, bucket, key, meta);
        Ok(())
    }

    /// Makes `meta` the object `bucket/key` (its row is written already, or not needed).
    fn insert_kept(&self, inner: &mut Inner, bucket: &str, key: &str, meta: ObjectMeta) {
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
    /// object `bucket/key`, replacing (and condemning) any previous body. When its row
    /// cannot be kept, the body is removed and the previous object stays.
    pub(crate) fn commit(
        &self,
        bucket: &str,
        key: &str,
        body: WrittenBody,
        now: SystemTime,
    ) -> Result<ObjectMeta, WriteError> {
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
        self.insert(&mut inner, bucket, key, meta.clone())?;
        Ok(meta)
    }

    /// Streams a body to a new file, computing its MD5 on the way. Memory stays at one chunk
    /// whatever the size. On an error the file is removed and the error returned, telling
    /// the client's failure (the body) from the server's (the disk).
    pub(crate) async fn write_stream<S, E>(
        &self,
        mut body: S,
        content_type: Option<String>,
    ) -> Result<WrittenBody, WriteFailure>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.new_path();
        let result = async {
            let file = tokio::fs::File::create(&path)
                .await
                .map_err(WriteFailure::Disk)?;
            let mut file = tokio::io::BufWriter::with_capacity(256 * 1024, file);
            let mut md5 = Md5::new();
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| WriteFailure::Body(e.to_string()))?;
                md5.update(&chunk);
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(WriteFailure::Disk)?;
            }
            file.flush().await.map_err(WriteFailure::Disk)?;
            Ok::<_, WriteFailure>(WrittenBody {
                path: path.clone(),
                size,
                etag: hex::encode(md5.finalize()),
                content_type,
            })
        }
        .await;
        if let Err(e) = &result {
            let _ = tokio::fs::remove_file(&path).await;
            if let WriteFailure::Disk(e) = e {
                tracing::error!(error = %e, "cannot write an object body to disk");
            }
        }
        result
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
        if meta.size <= SMALL_READ {
            // A small body: from memory once read (see `cache.rs`), else read whole, here:
            // a page-cached read of a few KiB costs less than the hand-offs to the
            // blocking pool an async file costs per open, seek, read and close.
            let small = &cache::SMALL_BODIES;
            let whole = match small.get(&meta.body) {
                Some(b) => b,
                None => {
                    let b = Bytes::from(read_segments(&meta.body.segments)?);
                    if b.len() as u64 != meta.size {
                        return Err(std::io::Error::other(format!(
                            "the body on disk has {} bytes, its object {}",
                            b.len(),
                            meta.size
                        )));
                    }
                    small.put(&meta.body, b.clone());
                    b
                }
            };
            let len = whole.len();
            let part = whole.slice((range.start as usize).min(len)..(range.end as usize).min(len));
            return Ok(futures::stream::iter([Ok(part)]).left_stream());
        }
        if range.end - range.start <= SMALL_READ {
            // Read at once, here, for the same reason.
            let mut bytes = vec![0u8; (range.end - range.start) as usize];
            let mut at = 0usize;
            for (path, from, len) in &pieces {
                use std::io::{Read as _, Seek as _};
                let mut f = std::fs::File::open(path)?;
                if *from > 0 {
                    f.seek(std::io::SeekFrom::Start(*from))?;
                }
                f.read_exact(&mut bytes[at..at + *len as usize])?;
                at += *len as usize;
            }
            let once = futures::stream::iter([Ok(Bytes::from(bytes))]);
            return Ok(once.left_stream());
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
                        STREAM_CHUNK,
                    ))
                }
            })
            .map(|r| match r {
                Ok(s) => s.left_stream(),
                Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
            })
            .flatten();
        Ok(stream.right_stream())
    }

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

    /// Deletes every object and upload under `prefix` of `bucket`; returns how many objects.
    pub(crate) fn delete_under(&self, bucket: &str, prefix: &str) -> usize {
        let keys = self.keys_under(bucket, prefix);
        for k in &keys {
            let _ = self.delete(bucket, k);
        }
        let ids: Vec<String> = self
            .lock()
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket && u.key.starts_with(prefix))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let _ = self.abort_upload(&id);
        }
        keys.len()
    }

    /// Deletes every object and upload.
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.lock());
        Self::condemn_all(&old);
        if let Some(db) = &self.db {
            let _ = db.clear_storage();
        }
    }

    fn condemn_all(inner: &Inner) {
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
    }

    /// Deletes an object; `false` if it did not exist. When its row cannot be deleted, the
    /// object stays.
    pub(crate) fn delete(&self, bucket: &str, key: &str) -> Result<bool, WriteError> {
        let mut inner = self.lock();
        if !inner
            .buckets
            .get(bucket)
            .is_some_and(|b| b.contains_key(key))
        {
            return Ok(false);
        }
        if let Some(db) = &self.db {
            db.delete_object(bucket, key)?;
        }
        if let Some(old) = inner.buckets.get_mut(bucket).and_then(|b| b.remove(key)) {
            inner.objects -= 1;
            old.body.condemn();
        }
        Ok(true)
    }
}
