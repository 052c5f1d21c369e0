//! Downloading the output files: parallel, streamed to disk, each URL fetched just before
//! use (and again after a 403), sizes checked, written under a temporary name and renamed
//! when complete.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use terra_types::{File, ListFilesQuery};
use tokio::io::AsyncWriteExt;

use super::WorkflowEvent;
use super::state::{Entry, State};
use crate::TerraClient;
use crate::error::{Error, ErrorKind, Result};

/// The local path of an output file, refusing names that would leave the output folder.
pub(crate) fn local_path(out: &Path, name: &str) -> Result<PathBuf> {
    let rel = Path::new(name);
    let safe = !name.is_empty()
        && !name.contains('\\')
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !safe {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("output file name {name:?} would leave the output folder; refusing it"),
        ));
    }
    Ok(out.join(rel))
}

fn complete(path: &Path, size: u64) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == size)
}

/// Downloads every file of `resource` into `out`; returns (files downloaded now, their
/// bytes, files complete on disk).
pub(crate) async fn all(
    client: &TerraClient,
    resource: &str,
    out: &Path,
    state: &mut State,
    concurrency: usize,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Result<(usize, u64, usize)> {
    let files: Vec<File> = client
        .files(ListFilesQuery {
            resource_uuid: Some(resource.to_owned()),
            rows: Some(1000),
            order_asc: Some(true),
            ..Default::default()
        })
        .try_collect()
        .await?;
    let mut todo = Vec::new();
    for f in &files {
        let path = local_path(out, &f.name)?;
        let done = state.downloaded.get(&f.name) == Some(&f.size) && complete(&path, f.size);
        if !done {
            todo.push((f, path));
        }
    }
    emit(WorkflowEvent::DownloadStarted {
        files: todo.len(),
        bytes: todo.iter().map(|(f, _)| f.size).sum(),
        already_downloaded: files.len() - todo.len(),
    });
    let mut results = futures::stream::iter(todo)
        .map(|(f, path)| async move { one(client, f, &path, emit).await.map(|n| (f, n)) })
        .buffer_unordered(concurrency);
    let (mut n, mut bytes) = (0, 0);
    while let Some((f, size)) = results.try_next().await? {
        state.record(&Entry::Downloaded {
            name: f.name.clone(),
            size,
        })?;
        emit(WorkflowEvent::Downloaded {
            name: f.name.clone(),
            size,
        });
        n += 1;
        bytes += size;
    }
    Ok((n, bytes, files.len()))
}

impl TerraClient {
    /// Downloads one file to `path`, streaming to disk: a fresh link is fetched for every
    /// attempt (again after a 403), the size is checked, and the file appears under its
    /// name only when complete (`<name>.part` until then). Parent folders are created.
    /// Returns the bytes written. Feature `workflow`.
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
    /// let bytes = client.download_file("<file uuid>", std::path::Path::new("Block.obj")).await?;
    /// # let _ = bytes; Ok(()) }
    /// ```
    pub async fn download_file(&self, uuid: &str, path: &Path) -> Result<u64> {
        let f = self.get_file(uuid).await?;
        one(self, &f, path, &|_| {}).await
    }
}

async fn one(
    client: &TerraClient,
    f: &File,
    path: &Path,
    emit: &(dyn Fn(WorkflowEvent) + Sync),
) -> Result<u64> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| {
            Error::new(
                ErrorKind::Input,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
    }
    let part = path.with_file_name(format!(
        "{}.part",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut last = None;
    for attempt in 1..=5 {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        // A fresh link for every attempt: links are short-lived.
        let url = client
            .get_file(&f.uuid)
            .await?
            .url
            .ok_or_else(|| Error::decode(format!("file {} has no download url", f.name)))?;
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
        let mut file = tokio::fs::File::create(&part).await.map_err(|e| {
            Error::new(
                ErrorKind::Input,
                format!("cannot write {}: {e}", part.display()),
            )
        })?;
        let mut body = resp.bytes_stream();
        let mut written: u64 = 0;
        let mut broke = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(c) => {
                    if let Err(e) = file.write_all(&c).await {
                        return Err(Error::new(
                            ErrorKind::Input,
                            format!("cannot write {}: {e}", part.display()),
                        ));
                    }
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
        file.flush().await.map_err(|e| {
            Error::new(
                ErrorKind::Input,
                format!("cannot write {}: {e}", part.display()),
            )
        })?;
        drop(file);
        if broke.is_some() || written != f.size {
            emit(WorkflowEvent::DownloadProgress {
                bytes: -(written as i64),
            });
            let _ = tokio::fs::remove_file(&part).await;
            last = Some(match broke {
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
            });
            continue;
        }
        tokio::fs::rename(&part, path).await.map_err(|e| {
            Error::new(
                ErrorKind::Input,
                format!(
                    "cannot rename {} to {}: {e}",
                    part.display(),
                    path.display()
                ),
            )
        })?;
        return Ok(written);
    }
    Err(last.unwrap_or_else(|| {
        Error::new(
            ErrorKind::Transport,
            format!("downloading {} failed", f.name),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_output_folder() {
        let out = Path::new("/out");
        assert_eq!(
            local_path(out, "models/mesh/Block.obj").unwrap(),
            Path::new("/out/models/mesh/Block.obj")
        );
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "",
            "a\\b",
            "./x",
        ] {
            assert!(local_path(out, bad).is_err(), "{bad}");
        }
    }
}
