//! What `--data-dir` keeps of the store (a row per object, upload and part, naming the
//! body files under the objects directory), and export and import of whole states.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::{
    Blob, BlobStore, Dir, Inner, ObjectMeta, PartMeta, Segment, Shards, Upload, read_segments,
};
use crate::persist::{Db, Stored};
use crate::state::rows::{ObjectDoc, PartDoc, UploadDoc, at, ms};

/// An object's stored form: its metadata and the files of its body (names under the
/// objects directory).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct ObjectRow {
    size: u64,
    etag: String,
    content_type: Option<String>,
    last_modified_ms: u64,
    segments: Vec<(String, u64)>,
}

/// A multipart upload's stored form (its parts are rows of their own).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct UploadRow {
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) content_type: Option<String>,
    pub(super) initiated_ms: u64,
}

/// A part's stored form.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct PartRow {
    pub(super) size: u64,
    pub(super) etag: String,
    pub(super) last_modified_ms: u64,
    pub(super) file: String,
}

/// A body file's name as kept: relative to the objects folder (`ab/blob-...`, or
/// `blob-...` for one written before the folder had shards).
pub(super) fn file_name(p: &std::path::Path) -> String {
    let file = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match p
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|s| s.to_str())
    {
        Some(shard) if is_shard(shard) => format!("{shard}/{file}"),
        _ => file,
    }
}

fn is_shard(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The body files under `dir` (its shard folders, and files at the top from before them),
/// by kept name, with their sizes.
pub(super) fn body_files(
    dir: &std::path::Path,
) -> std::io::Result<std::collections::HashMap<String, u64>> {
    let mut present = std::collections::HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if is_shard(&name) {
                for inner in std::fs::read_dir(entry.path())? {
                    let inner = inner?;
                    let len = inner.metadata().map_or(u64::MAX, |m| m.len());
                    let file = inner.file_name().to_string_lossy().into_owned();
                    present.insert(format!("{name}/{file}"), len);
                }
            }
            continue;
        }
        let len = entry.metadata().map_or(u64::MAX, |m| m.len());
        present.insert(name, len);
    }
    Ok(present)
}

pub(super) fn object_row(m: &ObjectMeta) -> String {
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
    /// A persistent store holding what `stored` lists; files of the objects directory that
    /// nothing lists (being written when the process died) are deleted.
    pub(crate) fn open(db: Arc<Db>, stored: &mut Stored) -> std::io::Result<Self> {
        let dir = db.objects_dir();
        let bad = |what: &str, e: serde_json::Error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a stored {what} is unreadable: {e}"),
            )
        };
        // The body files there are, by name, with their sizes.
        let present = body_files(&dir)?;
        let intact = |name: &str, len: u64| present.get(name) == Some(&len);
        let mut inner = Inner::default();
        let mut kept = std::collections::HashSet::new();
        let mut lost: Vec<String> = Vec::new();
        for (bucket, key, data) in std::mem::take(&mut stored.objects) {
            let r: ObjectRow = serde_json::from_str(&data).map_err(|e| bad("object", e))?;
            if !r.segments.iter().all(|(name, len)| intact(name, *len)) {
                // Listed but without its body: dropped, so that listing, HEAD and GET agree.
                let _ = db.delete_object(&bucket, &key);
                lost.push(format!("{bucket}/{key}"));
                continue;
            }
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
        let mut broken_uploads = std::collections::HashSet::new();
        for (id, number, data) in std::mem::take(&mut stored.parts) {
            let r: PartRow = serde_json::from_str(&data).map_err(|e| bad("part", e))?;
            let Some(u) = inner.uploads.get_mut(&id) else {
                continue;
            };
            if !intact(&r.file, r.size) {
                broken_uploads.insert(id);
                continue;
            }
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
        for id in broken_uploads {
            if let Some(u) = inner.uploads.remove(&id) {
                let _ = db.finish_upload(&id, None);
                lost.push(format!("{}/{} (multipart upload {id})", u.bucket, u.key));
                for p in u.parts.values() {
                    p.body.condemn();
                }
            }
        }
        if !lost.is_empty() {
            lost.sort();
            tracing::warn!(
                dir = %dir.display(),
                count = lost.len(),
                first = %lost.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                "objects listed in the state database have no body (or a body of the wrong \
                 size) under the objects folder: dropped from the listings, so that listing, \
                 HEAD and GET agree; upload them again"
            );
        }
        for name in present.keys() {
            if !kept.contains(name.as_str()) {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
        Ok(Self {
            dir: Dir::Kept(dir),
            inner: Mutex::new(inner),
            next: AtomicU64::new(1),
            shards: Shards::default(),
            db: Some(db),
        })
    }

    /// Every object with its bytes, and every multipart upload with its parts' bytes (an
    /// export). Reads every body: O(bytes stored).
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

    /// Writes the bodies of an export's objects and uploads (their bytes decoded already)
    /// aside, as files nothing points at yet: the first half of an all-or-nothing import.
    /// On an error every file written so far is removed and the store is as it was.
    pub(crate) fn stage(
        &self,
        objects: &[(&ObjectDoc, &[u8])],
        uploads: &[(&UploadDoc, Vec<&[u8]>)],
    ) -> std::io::Result<Staged> {
        // Each body is condemned until the swap: dropped on an error, its file goes.
        let file = |bytes: &[u8]| -> std::io::Result<Arc<Blob>> {
            let path = self.new_path();
            if let Err(e) = std::fs::write(&path, bytes) {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
            let blob = Blob::new(vec![Segment {
                path,
                len: bytes.len() as u64,
            }]);
            blob.condemn();
            Ok(blob)
        };
        let mut staged = Staged::default();
        for (o, bytes) in objects {
            let meta = ObjectMeta {
                size: bytes.len() as u64,
                etag: o.etag.clone(),
                content_type: o.content_type.clone(),
                last_modified: at(o.last_modified_ms),
                body: file(bytes)?,
            };
            staged.objects.push((o.bucket.clone(), o.key.clone(), meta));
        }
        for (u, parts) in uploads {
            let mut upload = Upload {
                bucket: u.bucket.clone(),
                key: u.key.clone(),
                content_type: u.content_type.clone(),
                initiated: at(u.initiated_ms),
                parts: BTreeMap::new(),
            };
            for (p, bytes) in u.parts.iter().zip(parts) {
                let part = PartMeta {
                    size: bytes.len() as u64,
                    etag: p.etag.clone(),
                    last_modified: at(p.last_modified_ms),
                    body: file(bytes)?,
                };
                upload.parts.insert(p.number, part);
            }
            staged.uploads.push((u.id.clone(), upload));
        }
        Ok(staged)
    }

    /// The rows `--data-dir` would hold for `staged`: objects `(bucket, key, json)`,
    /// uploads `(id, json)` and parts `(id, number, json)`.
    pub(crate) fn rows_of(staged: &Staged) -> StagedRows {
        let mut rows = StagedRows::default();
        for (bucket, key, meta) in &staged.objects {
            rows.objects
                .push((bucket.clone(), key.clone(), object_row(meta)));
        }
        for (id, u) in &staged.uploads {
            let row = UploadRow {
                bucket: u.bucket.clone(),
                key: u.key.clone(),
                content_type: u.content_type.clone(),
                initiated_ms: ms(u.initiated),
            };
            rows.uploads
                .push((id.clone(), serde_json::to_string(&row).unwrap_or_default()));
            for (n, p) in &u.parts {
                let row = PartRow {
                    size: p.size,
                    etag: p.etag.clone(),
                    last_modified_ms: ms(p.last_modified),
                    file: file_name(&p.body.segments[0].path),
                };
                rows.parts.push((
                    id.clone(),
                    *n,
                    serde_json::to_string(&row).unwrap_or_default(),
                ));
            }
        }
        rows
    }

    /// The second half of an import: `staged` replaces every object and upload, in memory
    /// only (its rows are written already, with the rest of the state). The old bodies go.
    pub(crate) fn swap_in(&self, staged: Staged) {
        let mut fresh = Inner::default();
        for (bucket, key, meta) in staged.objects {
            meta.body.absolve();
            fresh.buckets.entry(bucket).or_default().insert(key, meta);
            fresh.objects += 1;
        }
        for (id, upload) in staged.uploads {
            for p in upload.parts.values() {
                p.body.absolve();
            }
            fresh.uploads.insert(id, upload);
        }
        let old = std::mem::replace(&mut *self.lock(), fresh);
        Self::condemn_all(&old);
    }
}

/// Bodies written aside for an import, not yet objects (removed if dropped).
#[derive(Debug, Default)]
pub(crate) struct Staged {
    objects: Vec<(String, String, ObjectMeta)>,
    uploads: Vec<(String, Upload)>,
}

/// The stored rows of a [`Staged`] import.
#[derive(Debug, Default)]
pub(crate) struct StagedRows {
    pub objects: Vec<(String, String, String)>,
    pub uploads: Vec<(String, String)>,
    pub parts: Vec<(String, u32, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_found_in_shards_and_at_the_top_as_before_shards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ab")).unwrap();
        std::fs::create_dir(dir.path().join("not-a-shard")).unwrap();
        std::fs::write(dir.path().join("ab/blob-1"), b"12").unwrap();
        std::fs::write(dir.path().join("blob-old"), b"123").unwrap();
        std::fs::write(dir.path().join("not-a-shard/blob-2"), b"1").unwrap();
        let found = body_files(dir.path()).unwrap();
        assert_eq!(
            found,
            [("ab/blob-1".to_owned(), 2), ("blob-old".to_owned(), 3)]
                .into_iter()
                .collect()
        );
        // The kept name of a path is the one found there, so that a restart finds it.
        assert_eq!(file_name(&dir.path().join("ab/blob-1")), "ab/blob-1");
        assert_eq!(file_name(&dir.path().join("blob-old")), "blob-old");
        assert_eq!(file_name(&dir.path().join("xyz/blob-3")), "blob-3");
    }
}
