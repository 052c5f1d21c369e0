//! What `--data-dir` keeps of the store (a row per object, upload and part, naming the
//! body files under the objects directory), and export and import of whole states.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::{
    Blob, BlobStore, Dir, Inner, ObjectMeta, PartMeta, Segment, Upload, WrittenBody, read_segments,
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

pub(super) fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
}
