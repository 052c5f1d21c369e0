//! One file's transfer: the link, the attempts, the body into memory or streamed to disk,
//! the size checked, the rename; and what a transfer in flight holds, for the memory budget
//! of the downloads (`DownloadOptions::memory_budget`).

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use terra_types::File;
use tokio::io::AsyncWriteExt;

use super::WorkflowEvent;
use crate::TerraClient;
use crate::error::{Error, ErrorKind, Result};

/// Bodies up to this size are gathered in memory and written with one trip to the blocking
/// pool (folder, file, rename); bigger ones stream to disk through a buffer of
/// [`STREAM_BUFFER`]. What they hold counts against [`super::DownloadOptions::memory_budget`]
/// (its documentation repeats these figures: keep them in step).
const GATHERED: u64 = 256 * 1024;

/// The write buffer of a body streamed to disk.
const STREAM_BUFFER: u64 = 256 * 1024;

/// What one download in flight is counted for besides its body: the connection's read
/// buffer (which grows with the body's reads) and its TLS and HTTP state.
const CONNECTION_BYTES: u64 = 128 * 1024;

/// The memory a download of `size` bytes holds while in flight.
pub(super) fn held(size: u64) -> u64 {
    CONNECTION_BYTES
        + if size <= GATHERED {
            size
        } else {
            STREAM_BUFFER
        }
}

fn input_error(message: String) -> Error {
    Error::new(ErrorKind::Input, message)
}

/// Downloads one file; returns the bytes written and whether it took more than one
/// attempt.
pub(super) async fn one(
    client: &TerraClient,
    f: &File,
    path: &Path,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Result<(u64, bool)> {
    // The temporary file sits beside the target, in the same folder, whatever the name.
    let Some(file_name) = path.file_name() else {
        return Err(Error::new(
            ErrorKind::UnsafeName,
            format!(
                "{} names no file (it ends in `..` or a separator); give a file path",
                path.display()
            ),
        ));
    };
    let part = path
        .parent()
        .unwrap_or(Path::new(""))
        .join(format!("{}.part", file_name.to_string_lossy()));
    let gathered = f.size <= GATHERED;
    if !gathered && let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| input_error(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut last = None;
    for attempt in 1..=5 {
        if attempt > 1 {
            client
                .clock()
                .sleep(Duration::from_millis(200 * attempt))
                .await;
        }
        // The listed link for the first attempt, a fresh one for every retry: links are
        // short-lived.
        let url = match (&f.url, attempt) {
            (Some(u), 1) => u.clone(),
            _ => client
                .get_file(&f.uuid)
                .await?
                .url
                .ok_or_else(|| Error::decode(format!("file {} has no download url", f.name)))?,
        };
        let resp = match client.inner.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => {
                last = Some(Error::new(
                    ErrorKind::Transport,
                    format!("downloading {}: {e}", f.name),
                ));
                continue;
            }
        };
        let status = resp.status().as_u16();
        if status == 403 || status == 429 || status >= 500 {
            last = Some(
                Error::new(
                    ErrorKind::HttpStatus,
                    format!("downloading {}: HTTP {status}", f.name),
                )
                .with_status(status),
            );
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(Error::new(
                ErrorKind::HttpStatus,
                format!("downloading {}: HTTP {status}", f.name),
            )
            .with_status(status));
        }
        let received = if gathered {
            gather(resp, f, &part, path, emit).await?
        } else {
            stream(resp, f, &part, path, emit).await?
        };
        match received {
            Ok(written) => return Ok((written, attempt > 1)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::new(
            ErrorKind::Transport,
            format!("downloading {} failed", f.name),
        )
    }))
}

/// Why a body that arrived is not the file: the connection broke, or the length differs
/// from the listing's; its bytes are taken back from the progress. Retried.
fn incomplete(
    f: &File,
    written: u64,
    broke: Option<reqwest::Error>,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Error {
    emit(WorkflowEvent::DownloadProgress {
        bytes: -(written as i64),
    });
    match broke {
        Some(e) => Error::new(
            ErrorKind::Transport,
            format!("downloading {}: the connection broke: {e}", f.name),
        ),
        None => Error::new(
            ErrorKind::Storage,
            format!(
                "downloading {}: got {written} bytes, the service lists {}",
                f.name, f.size
            ),
        ),
    }
}

/// A small body into memory (at most one byte past the listed size), as the chunks the
/// connection read: copying them into one buffer held each body twice, a sixth of the
/// peak resident memory. Then folder, file and rename in one blocking call. Outer error:
/// the disk (not retried); inner: the body.
async fn gather(
    resp: reqwest::Response,
    f: &File,
    part: &Path,
    path: &Path,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Result<std::result::Result<u64, Error>> {
    let limit = f.size as usize + 1;
    let mut chunks: Vec<bytes::Bytes> = Vec::new();
    let mut have = 0usize;
    let mut body = resp.bytes_stream();
    let mut broke = None;
    while have < limit {
        match body.next().await {
            Some(Ok(mut c)) => {
                c.truncate(limit - have);
                have += c.len();
                emit(WorkflowEvent::DownloadProgress {
                    bytes: c.len() as i64,
                });
                chunks.push(c);
            }
            Some(Err(e)) => {
                broke = Some(e);
                break;
            }
            None => break,
        }
    }
    let written = have as u64;
    if broke.is_some() || written != f.size {
        return Ok(Err(incomplete(f, written, broke, emit)));
    }
    let (part, path) = (part.to_path_buf(), path.to_path_buf());
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| input_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&part)?;
            for c in &chunks {
                file.write_all(c)?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&part);
            return Err(input_error(format!("cannot write {}: {e}", part.display())));
        }
        rename(&part, &path)
    })
    .await
    .map_err(|e| input_error(format!("writing {}: {e}", f.name)))??;
    Ok(Ok(written))
}

fn rename(part: &Path, path: &Path) -> Result<()> {
    std::fs::rename(part, path).map_err(|e| {
        input_error(format!(
            "cannot rename {} to {}: {e}",
            part.display(),
            path.display()
        ))
    })
}

/// A big body streamed to `part` through [`STREAM_BUFFER`], then renamed to `path`. Outer
/// error: the disk (not retried); inner: the body.
async fn stream(
    resp: reqwest::Response,
    f: &File,
    part: &Path,
    path: &Path,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Result<std::result::Result<u64, Error>> {
    let write_error =
        |e: std::io::Error| input_error(format!("cannot write {}: {e}", part.display()));
    let file = tokio::fs::File::create(part).await.map_err(write_error)?;
    let mut file = tokio::io::BufWriter::with_capacity(f.size.min(STREAM_BUFFER) as usize, file);
    let mut body = resp.bytes_stream();
    let mut written: u64 = 0;
    let mut broke = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => {
                file.write_all(&c).await.map_err(write_error)?;
                written += c.len() as u64;
                emit(WorkflowEvent::DownloadProgress {
                    bytes: c.len() as i64,
                });
            }
            Err(e) => {
                broke = Some(e);
                break;
            }
        }
    }
    file.flush().await.map_err(write_error)?;
    drop(file);
    if broke.is_some() || written != f.size {
        let _ = tokio::fs::remove_file(part).await;
        return Ok(Err(incomplete(f, written, broke, emit)));
    }
    let (part, path) = (part.to_path_buf(), path.to_path_buf());
    tokio::task::spawn_blocking(move || rename(&part, &path))
        .await
        .map_err(|e| input_error(format!("writing {}: {e}", f.name)))??;
    Ok(Ok(written))
}
