//! One small trait for object storage, modelled on `object_store`: put a file or a byte
//! range of it under a key, multipart with explicit abort, head.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::Result;

/// Bytes read from disk per chunk of a body.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Called with the number of bytes of each chunk as it is handed to the network.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// A byte range of a local file: the body of a put or of a part. It is streamed from disk
/// when sent, never read whole into memory.
#[derive(Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
    /// Progress callback.
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

impl Source {
    /// A whole file of `len` bytes.
    pub fn file(path: impl Into<PathBuf>, len: u64) -> Self {
        Self {
            path: path.into(),
            offset: 0,
            len,
            progress: None,
        }
    }

    /// The body as a stream of chunks, opened when first polled (so it can be re-made for
    /// a retry).
    pub fn stream(&self) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let (path, offset, len, progress) = (
            self.path.clone(),
            self.offset,
            self.len,
            self.progress.clone(),
        );
        futures::stream::once(async move {
            let mut f = tokio::fs::File::open(&path).await?;
            f.seek(std::io::SeekFrom::Start(offset)).await?;
            Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                f.take(len),
                CHUNK,
            ))
        })
        .try_flatten()
        .inspect_ok(move |chunk| {
            if let Some(p) = &progress {
                p(chunk.len() as u64);
            }
        })
    }
}

/// Metadata of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Bytes.
    pub size: u64,
    /// ETag as the storage sent it.
    pub etag: String,
}

/// An object store reachable with one set of credentials.
#[async_trait::async_trait]
pub trait ObjectBackend: Send + Sync + std::fmt::Debug {
    /// Uploads `source` as object `key` in one request; returns the ETag as the storage
    /// sent it (quotes included).
    async fn put(&self, key: &str, source: &Source) -> Result<String>;

    /// Starts a multipart upload; returns its id.
    async fn create_multipart(&self, key: &str) -> Result<String>;

    /// Uploads part `number` (from 1); returns its ETag.
    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        source: &Source,
    ) -> Result<String>;

    /// Completes a multipart upload from `(number, etag)` in ascending order; returns the
    /// object's ETag.
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<String>;

    /// Aborts a multipart upload, deleting its parts.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<()>;

    /// Metadata of an object, `None` if it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;

    /// Deletes an object.
    async fn delete(&self, key: &str) -> Result<()>;

    /// The bucket this backend writes to.
    fn bucket(&self) -> &str;
}
