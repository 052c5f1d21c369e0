//! One small trait for object storage, modelled on `object_store`: put a file or a byte
//! range of it under a key, multipart with explicit abort, head.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::Result;

/// Bytes read from disk per chunk of a body.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Called with the number of bytes of each chunk as it is handed to the network.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let sent = Arc::new(AtomicU64::new(0));
/// let counter = sent.clone();
/// let progress: terra_store::ProgressFn = Arc::new(move |n| {
///     counter.fetch_add(n, Ordering::Relaxed);
/// });
/// # let _ = progress;
/// ```
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// A byte range of a local file: the body of a put or of a part. It is streamed from disk
/// when sent, never read whole into memory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().start().await?);
/// # let dir = tempfile::tempdir()?;
/// # let photo = dir.path().join("DJI_0001.JPG");
/// # std::fs::write(&photo, vec![7u8; 300_000])?;
/// # let m = mock.clone();
/// # let provider = std::sync::Arc::new(terra_store::FnTokenProvider::new(move || {
/// #     let t = m.issue_token(m.app_key()).ok_or_else(|| terra_store::BoxError::from("unknown account"));
/// #     async move { t }
/// # }));
/// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
/// # let opts = terra_store::UploadOptions { backend: backend.clone(), ..Default::default() };
/// # let token = mock.issue_token(mock.app_key()).unwrap();
/// use terra_store::{ObjectBackend, Source};
/// let s3 = terra_store::connect(&token, &backend, reqwest::Client::new())?;
/// // The second half of the file as one object.
/// let half = Source { offset: 150_000, len: 150_000, ..Source::file(&photo, 300_000) };
/// s3.put(&token.object_key("half.bin"), &half).await?;
/// assert_eq!(s3.head(&token.object_key("half.bin")).await?.unwrap().size, 150_000);
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// let s = terra_store::Source::file("/data/flight/DJI_0001.JPG", 9_437_184);
    /// assert_eq!((s.offset, s.len), (0, 9_437_184));
    /// ```
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.bin");
    /// std::fs::write(&path, b"0123456789")?;
    /// let middle = terra_store::Source { offset: 2, len: 5, ..terra_store::Source::file(&path, 10) };
    /// let chunks: Vec<_> = middle.stream().try_collect().await?;
    /// assert_eq!(chunks.concat(), b"23456");
    /// # Ok(()) }
    /// ```
    pub fn stream(&self) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let (source, progress) = (self.clone(), self.progress.clone());
        futures::stream::once(async move {
            if source.len <= CHUNK as u64 {
                // A small body (a photo's thumbnail-sized file, a short part): one trip to
                // the blocking pool for open, seek and read, and a buffer of its size.
                let chunk = source.read_small().await?;
                return Ok(futures::stream::iter([Ok(chunk)]).left_stream());
            }
            let mut f = tokio::fs::File::open(&source.path).await?;
            f.seek(std::io::SeekFrom::Start(source.offset)).await?;
            Ok::<_, std::io::Error>(
                tokio_util::io::ReaderStream::with_capacity(f.take(source.len), CHUNK)
                    .right_stream(),
            )
        })
        .try_flatten()
        .inspect_ok(move |chunk| {
            if let Some(p) = &progress {
                p(chunk.len() as u64);
            }
        })
    }
}

impl Source {
    /// The whole body in memory, read in one trip to the blocking pool; for bodies of at
    /// most [`CHUNK`] bytes.
    pub(crate) async fn read_small(&self) -> std::io::Result<Bytes> {
        let (path, offset, len) = (self.path.clone(), self.offset, self.len);
        tokio::task::spawn_blocking(move || read_range(&path, offset, len))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Exactly `len` bytes of `path` from `offset`; a file that ends early is an error.
fn read_range(path: &std::path::Path, offset: u64, len: u64) -> std::io::Result<Bytes> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(path)?;
    f.seek(std::io::SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf)?;
    Ok(Bytes::from(buf))
}

/// Metadata of a stored object.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().start().await?);
/// # let dir = tempfile::tempdir()?;
/// # let photo = dir.path().join("DJI_0001.JPG");
/// # std::fs::write(&photo, vec![7u8; 300_000])?;
/// # let m = mock.clone();
/// # let provider = std::sync::Arc::new(terra_store::FnTokenProvider::new(move || {
/// #     let t = m.issue_token(m.app_key()).ok_or_else(|| terra_store::BoxError::from("unknown account"));
/// #     async move { t }
/// # }));
/// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
/// # let opts = terra_store::UploadOptions { backend: backend.clone(), ..Default::default() };
/// # let token = mock.issue_token(mock.app_key()).unwrap();
/// let s3 = terra_store::connect(&token, &backend, reqwest::Client::new())?;
/// s3.put(&token.object_key("a.jpg"), &terra_store::Source::file(&photo, 300_000)).await?;
/// let info = s3.head(&token.object_key("a.jpg")).await?.expect("uploaded");
/// assert_eq!(info.size, 300_000);
/// assert!(s3.head(&token.object_key("missing.jpg")).await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Bytes.
    pub size: u64,
    /// ETag as the storage sent it.
    pub etag: String,
}

/// Pages of `ListMultipartUploads` read at most (1 000 uploads each).
pub(crate) const MAX_LIST_PAGES: usize = 100;

/// A multipart upload still open in the bucket (begun, neither completed nor aborted):
/// storage its parts hold is billed until it is aborted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = terra_mock::TerraMock::builder().start().await?;
/// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
/// # let token = mock.issue_token(mock.app_key()).unwrap();
/// use terra_store::ObjectBackend;
/// let s3 = terra_store::connect(&token, &backend, reqwest::Client::new())?;
/// let key = token.object_key("flight.las");
/// let id = s3.create_multipart(&key).await?;
/// let open = s3.list_multipart_uploads(&token.object_key("")).await?;
/// assert_eq!((open[0].key.as_str(), open[0].upload_id.as_str()), (key.as_str(), id.as_str()));
/// s3.abort_multipart(&key, &id).await?;
/// assert!(s3.list_multipart_uploads(&key).await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    /// The object key it was begun for.
    pub key: String,
    /// Its id.
    pub upload_id: String,
    /// When the storage began it (its own clock).
    pub initiated: std::time::SystemTime,
}

/// An object store reachable with one set of credentials.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mock = std::sync::Arc::new(terra_mock::TerraMock::builder().start().await?);
/// # let dir = tempfile::tempdir()?;
/// # let photo = dir.path().join("DJI_0001.JPG");
/// # std::fs::write(&photo, vec![7u8; 6 * 1024 * 1024])?;
/// # let m = mock.clone();
/// # let provider = std::sync::Arc::new(terra_store::FnTokenProvider::new(move || {
/// #     let t = m.issue_token(m.app_key()).ok_or_else(|| terra_store::BoxError::from("unknown account"));
/// #     async move { t }
/// # }));
/// # let backend = terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() };
/// # let opts = terra_store::UploadOptions { backend: backend.clone(), ..Default::default() };
/// # let token = mock.issue_token(mock.app_key()).unwrap();
/// use terra_store::{ObjectBackend, Source};
/// let s3 = terra_store::connect(&token, &backend, reqwest::Client::new())?;
/// let key = token.object_key("big.bin");
/// // Multipart by hand: two parts of 5 MiB and 1 MiB.
/// let id = s3.create_multipart(&key).await?;
/// let five = 5 * 1024 * 1024;
/// let p1 = s3.put_part(&key, &id, 1, &Source { len: five, ..Source::file(&photo, 0) }).await?;
/// let p2 = s3.put_part(&key, &id, 2, &Source { offset: five, len: 1024 * 1024, ..Source::file(&photo, 0) }).await?;
/// let etag = s3.complete_multipart(&key, &id, &[(1, p1), (2, p2)]).await?;
/// assert!(etag.contains("-2"), "a multipart ETag: {etag}");
/// s3.delete(&key).await?;
/// # Ok(()) }
/// ```
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

    /// The multipart uploads open under `prefix`, every page (S3 and OSS
    /// `ListMultipartUploads`).
    async fn list_multipart_uploads(&self, prefix: &str) -> Result<Vec<OpenUpload>>;

    /// Metadata of an object, `None` if it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;

    /// Deletes an object.
    async fn delete(&self, key: &str) -> Result<()>;

    /// The bucket this backend writes to.
    fn bucket(&self) -> &str;
}

/// Undoes XML's five escapes.
#[cfg(any(feature = "s3", feature = "oss"))]
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of the first `<name>` element.
pub(crate) fn xml_tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.bin");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    async fn chunks(s: &Source) -> Vec<Bytes> {
        s.stream().try_collect().await.unwrap()
    }

    #[tokio::test]
    async fn a_range_is_exactly_its_bytes_small_or_streamed() {
        let bytes: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let (_d, path) = file(&bytes);
        for (offset, len) in [(0, 10), (5, 10), (7, CHUNK), (3, 3 * CHUNK)] {
            let s = Source {
                offset: offset as u64,
                len: len as u64,
                ..Source::file(&path, bytes.len() as u64)
            };
            assert_eq!(chunks(&s).await.concat(), &bytes[offset..offset + len]);
        }
    }

    #[tokio::test]
    async fn small_bodies_come_in_one_piece_big_ones_in_bounded_chunks() {
        let bytes = vec![1u8; 3 * CHUNK];
        let (_d, path) = file(&bytes);
        let small = Source {
            len: 1000,
            ..Source::file(&path, 1000)
        };
        assert_eq!(chunks(&small).await.len(), 1);
        let big = Source::file(&path, bytes.len() as u64);
        let got = chunks(&big).await;
        assert!(got.len() >= 3, "{} chunks", got.len());
        assert!(got.iter().all(|c| c.len() <= CHUNK));
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_range_is_an_error() {
        let (_d, path) = file(b"0123456789");
        let s = Source {
            offset: 4,
            len: 10,
            ..Source::file(&path, 10)
        };
        assert!(s.stream().try_collect::<Vec<_>>().await.is_err());
    }

    #[test]
    fn debug_names_the_range() {
        let s = Source {
            offset: 4,
            len: 6,
            ..Source::file("/data/DJI_0001.JPG", 10)
        };
        assert_eq!(
            format!("{s:?}"),
            r#"Source { path: "/data/DJI_0001.JPG", offset: 4, len: 6 }"#
        );
    }
}
