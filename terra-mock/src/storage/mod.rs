//! Object storage behind the S3 and OSS endpoints: object bodies live in files under a
//! temporary directory (streamed, never held whole in memory), metadata in a map.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub(crate) path: PathBuf,
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

/// A part of a multipart upload.
#[derive(Debug, Clone)]
pub(crate) struct PartMeta {
    pub size: u64,
    pub etag: String,
    pub last_modified: SystemTime,
    path: PathBuf,
}

/// A multipart upload in progress.
#[derive(Debug)]
pub(crate) struct Upload {
    pub bucket: String,
    pub key: String,
    pub content_type: Option<String>,
    pub parts: BTreeMap<u32, PartMeta>,
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
    Io(String),
}

/// The objects of every bucket.
#[derive(Debug)]
pub(crate) struct BlobStore {
    dir: tempfile::TempDir,
    objects: Mutex<HashMap<(String, String), ObjectMeta>>,
    uploads: Mutex<HashMap<String, Upload>>,
    next: AtomicU64,
}

impl BlobStore {
    /// An empty store in a new temporary directory (removed on drop).
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::Builder::new().prefix("terra-mock-").tempdir()?,
            objects: Mutex::default(),
            uploads: Mutex::default(),
            next: AtomicU64::new(1),
        })
    }

    /// A fresh path for a body being written.
    pub(crate) fn new_path(&self) -> PathBuf {
        self.dir.path().join(format!(
            "blob-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Metadata of an object.
    pub(crate) fn head(&self, bucket: &str, key: &str) -> Option<ObjectMeta> {
        self.objects
            .lock()
            .expect("storage lock")
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Number of objects stored.
    pub(crate) fn len(&self) -> usize {
        self.objects.lock().expect("storage lock").len()
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

    /// Records a body already written to `body.path` (from [`BlobStore::new_path`]) as the
    /// object `bucket/key`, replacing and deleting any previous body.
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
            path: body.path,
        };
        let old = self
            .objects
            .lock()
            .expect("storage lock")
            .insert((bucket.to_owned(), key.to_owned()), meta.clone());
        if let Some(old) = old {
            let _ = std::fs::remove_file(old.path);
        }
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
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| e.to_string())?;
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

    /// Every object of `bucket` whose key starts with `prefix`, in key order.
    pub(crate) fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, ObjectMeta)> {
        let objects = self.objects.lock().expect("storage lock");
        let mut v: Vec<(String, ObjectMeta)> = objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), m)| (k.clone(), m.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Starts a multipart upload; returns its id.
    pub(crate) fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
    ) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        self.uploads.lock().expect("storage lock").insert(
            id.clone(),
            Upload {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                content_type,
                parts: BTreeMap::new(),
            },
        );
        id
    }

    /// Whether `upload_id` is an upload of `bucket/key`.
    pub(crate) fn upload_exists(&self, upload_id: &str, bucket: &str, key: &str) -> bool {
        self.uploads
            .lock()
            .expect("storage lock")
            .get(upload_id)
            .is_some_and(|u| u.bucket == bucket && u.key == key)
    }

    /// Records a part written with [`BlobStore::write_stream`]; `false` if the upload is
    /// gone (the body is then removed).
    pub(crate) fn put_part(
        &self,
        upload_id: &str,
        number: u32,
        body: WrittenBody,
        now: SystemTime,
    ) -> Option<PartMeta> {
        let mut uploads = self.uploads.lock().expect("storage lock");
        let Some(upload) = uploads.get_mut(upload_id) else {
            let _ = std::fs::remove_file(&body.path);
            return None;
        };
        let part = PartMeta {
            size: body.size,
            etag: body.etag,
            last_modified: now,
            path: body.path,
        };
        if let Some(old) = upload.parts.insert(number, part.clone()) {
            let _ = std::fs::remove_file(old.path);
        }
        Some(part)
    }

    /// The parts uploaded so far.
    pub(crate) fn parts(&self, upload_id: &str) -> Option<Vec<(u32, PartMeta)>> {
        let uploads = self.uploads.lock().expect("storage lock");
        uploads
            .get(upload_id)
            .map(|u| u.parts.iter().map(|(n, p)| (*n, p.clone())).collect())
    }

    /// Aborts an upload, deleting its parts; `false` if it did not exist.
    pub(crate) fn abort_upload(&self, upload_id: &str) -> bool {
        let upload = self.uploads.lock().expect("storage lock").remove(upload_id);
        match upload {
            Some(u) => {
                for p in u.parts.into_values() {
                    let _ = std::fs::remove_file(p.path);
                }
                true
            }
            None => false,
        }
    }

    /// Number of multipart uploads in progress.
    pub(crate) fn uploads_in_progress(&self) -> usize {
        self.uploads.lock().expect("storage lock").len()
    }

    /// Completes an upload from the listed parts (number, ETag): concatenates them into
    /// the object, whose ETag is the MD5 of the parts' binary MD5s plus `-<count>`, as S3
    /// and OSS compute it. Parts not listed are discarded.
    pub(crate) async fn complete_upload(
        &self,
        upload_id: &str,
        listed: &[(u32, String)],
        min_part_size: u64,
        now: SystemTime,
    ) -> Result<(String, String, ObjectMeta), CompleteError> {
        if listed.is_empty() {
            return Err(CompleteError::Empty);
        }
        if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(CompleteError::InvalidPartOrder);
        }
        let (bucket, key, content_type, chosen) = {
            let uploads = self.uploads.lock().expect("storage lock");
            let upload = uploads.get(upload_id).ok_or(CompleteError::NoSuchUpload)?;
            let mut chosen = Vec::with_capacity(listed.len());
            for (i, (n, etag)) in listed.iter().enumerate() {
                let part = upload
                    .parts
                    .get(n)
                    .filter(|p| terra_types::etag_eq(&p.etag, etag))
                    .ok_or(CompleteError::InvalidPart(*n))?;
                if i + 1 < listed.len() && part.size < min_part_size {
                    return Err(CompleteError::EntityTooSmall(*n));
                }
                chosen.push(part.clone());
            }
            (
                upload.bucket.clone(),
                upload.key.clone(),
                upload.content_type.clone(),
                chosen,
            )
        };
        let path = self.new_path();
        let io = |e: std::io::Error| CompleteError::Io(e.to_string());
        let mut out = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut md5s = Vec::with_capacity(16 * chosen.len());
        let mut size = 0;
        for p in &chosen {
            let mut f = tokio::fs::File::open(&p.path).await.map_err(io)?;
            size += tokio::io::copy(&mut f, &mut out).await.map_err(io)?;
            md5s.extend(hex::decode(&p.etag).unwrap_or_default());
        }
        out.flush().await.map_err(io)?;
        let etag = format!("{}-{}", hex::encode(Md5::digest(&md5s)), chosen.len());
        let upload = self.uploads.lock().expect("storage lock").remove(upload_id);
        let Some(upload) = upload else {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(CompleteError::NoSuchUpload);
        };
        for p in upload.parts.into_values() {
            let _ = std::fs::remove_file(p.path);
        }
        let meta = self.commit(
            &bucket,
            &key,
            WrittenBody {
                path,
                size,
                etag,
                content_type,
            },
            now,
        );
        Ok((bucket, key, meta))
    }

    /// Opens `range` (clamped to the object) of an object's body as a stream of chunks.
    pub(crate) async fn read_range(
        meta: &ObjectMeta,
        range: std::ops::Range<u64>,
    ) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
        let mut f = tokio::fs::File::open(&meta.path).await?;
        f.seek(std::io::SeekFrom::Start(range.start)).await?;
        let len = range.end.saturating_sub(range.start);
        Ok(tokio_util::io::ReaderStream::with_capacity(
            f.take(len),
            64 * 1024,
        ))
    }

    /// Deletes an object; `false` if it did not exist.
    pub(crate) fn delete(&self, bucket: &str, key: &str) -> bool {
        let old = self
            .objects
            .lock()
            .expect("storage lock")
            .remove(&(bucket.to_owned(), key.to_owned()));
        match old {
            Some(old) => {
                let _ = std::fs::remove_file(old.path);
                true
            }
            None => false,
        }
    }
}

pub(crate) mod access;
pub(crate) mod endpoint;
pub(crate) mod oss;
pub mod presign;
pub(crate) mod s3;
