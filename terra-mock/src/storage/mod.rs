//! Object storage behind the S3 and OSS endpoints: object bodies live in files under a
//! temporary directory (streamed, never held whole in memory), metadata in a map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use md5::{Digest, Md5};

/// Metadata of a stored object.
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
    pub fn quoted_etag(&self) -> String {
        format!("\"{}\"", self.etag)
    }
}

/// Compares ETags the way `upload_callback` must: quotes and case ignored.
pub fn etag_eq(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

/// A body written to disk, not yet visible as an object.
#[derive(Debug)]
pub(crate) struct WrittenBody {
    pub path: PathBuf,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
}

/// The objects of every bucket.
#[derive(Debug)]
pub struct BlobStore {
    dir: tempfile::TempDir,
    objects: Mutex<HashMap<(String, String), ObjectMeta>>,
    next: AtomicU64,
}

impl BlobStore {
    /// An empty store in a new temporary directory (removed on drop).
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::Builder::new().prefix("terra-mock-").tempdir()?,
            objects: Mutex::default(),
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

    /// The directory holding the bodies.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Metadata of an object.
    pub fn head(&self, bucket: &str, key: &str) -> Option<ObjectMeta> {
        self.objects
            .lock()
            .expect("storage lock")
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Number of objects stored.
    pub fn len(&self) -> usize {
        self.objects.lock().expect("storage lock").len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores a small body given in memory (job outputs, test fixtures).
    pub fn put_bytes(
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

    /// Deletes an object; `false` if it did not exist.
    pub fn delete(&self, bucket: &str, key: &str) -> bool {
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

pub(crate) mod endpoint;
pub mod presign;
