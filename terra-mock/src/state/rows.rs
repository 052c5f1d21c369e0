//! The serialized forms of an account's state, one row per resource, file and job, shared
//! by the persistence (`--data-dir`, one database row each) and by export and import (the
//! control API's `GET`/`PUT /state`). What can be derived (indexes, counts, extents, the
//! timer queue, the object index) is not stored: it is rebuilt when rows are loaded.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use terra_types::{JobStatus, JobType, Position, ResourceType};
use uuid::Uuid;

use super::jobs::Run;
use super::{Account, FileRec, JobFailure, JobRec, ObjectKey, ResourceRec};
use crate::clock::ClockMode;
use crate::config::{AccountConfig, JobTiming};

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// Milliseconds since the Unix epoch.
pub(crate) fn ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A time from milliseconds since the Unix epoch.
pub(crate) fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// Which table a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Resource = 0,
    File = 1,
    Job = 2,
}

/// A resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct ResourceRow {
    pub uuid: Uuid,
    pub name: String,
    pub kind: ResourceType,
    pub meta: String,
    /// Its files, in the order they were added.
    pub files: Vec<Uuid>,
    pub revisable: bool,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub input_jobs: Vec<Uuid>,
    pub output_jobs: Vec<Uuid>,
}

/// A file and where its object lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct FileRow {
    pub uuid: Uuid,
    pub name: String,
    pub size: u64,
    pub checksum: String,
    pub meta: String,
    pub position: Option<Position>,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// The object key is `key_prefix` + `key_name`.
    pub key_prefix: String,
    pub key_name: String,
    pub resources: Vec<Uuid>,
}

/// How a started job will fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct FailureRow {
    pub at: JobStatus,
    pub message: String,
}

/// What exists of a started job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct RunRow {
    pub started_ms: u64,
    pub origin: Uuid,
    pub output: Option<Uuid>,
    pub merge_into: Option<Uuid>,
    pub parameters: String,
    /// When stages 1 to 4 end.
    pub ends_ms: [u64; 4],
    pub completed_ms: Option<u64>,
    pub message: String,
    pub failure: Option<FailureRow>,
    /// The next transition: when, and its order among transitions due at once.
    pub timer: Option<(u64, u64)>,
    pub inputs: usize,
    pub note: Option<String>,
}

/// A job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct JobRow {
    pub uuid: Uuid,
    pub name: String,
    pub meta: String,
    pub job_type: JobType,
    pub status: JobStatus,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub run: Option<RunRow>,
}

/// An account: its settings (secret included), id and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct AccountDoc {
    pub config: AccountConfig,
    /// The first segment of its object keys.
    pub id: u64,
    /// Job starts so far.
    pub starts: u64,
    pub resources: Vec<ResourceRow>,
    pub files: Vec<FileRow>,
    pub jobs: Vec<JobRow>,
}

/// An STS session with its callback grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct SessionRow {
    pub seq: u64,
    pub app_key: String,
    pub access_key: String,
    pub secret: String,
    pub token: String,
    pub prefix: String,
    pub provider: crate::config::Provider,
    pub expires_ms: u64,
    pub callback: String,
    pub grant_expires_ms: u64,
    pub session_live: bool,
    pub grant_live: bool,
}

/// A stored object (in an export: with its bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct ObjectDoc {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    pub last_modified_ms: u64,
    /// The bytes, base64 (standard alphabet, padded).
    pub data: String,
}

/// A part of a multipart upload (with its bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct PartDoc {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
    pub data: String,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct UploadDoc {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub content_type: Option<String>,
    pub initiated_ms: u64,
    pub parts: Vec<PartDoc>,
}

/// The mock's clock in an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct ClockDoc {
    pub now_ms: u64,
    pub mode: ClockMode,
}

/// The whole state (`GET /_terra-mock/v1/state`): accounts with their resources, files and
/// jobs, STS sessions, objects and multipart uploads with their bytes inline, the clock and
/// the job timing. Faults, queued failures and the request log are not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub(crate) struct StateDoc {
    /// 1.
    pub format: u32,
    pub clock: ClockDoc,
    pub timing: JobTiming,
    pub accounts: Vec<AccountDoc>,
    pub sessions: Vec<SessionRow>,
    pub objects: Vec<ObjectDoc>,
    pub uploads: Vec<UploadDoc>,
}

/// The version of [`StateDoc`] written.
pub(crate) const FORMAT: u32 = 1;

// ---- rows of records -------------------------------------------------------------------

pub(crate) fn resource_row(r: &ResourceRec, files: &super::Table<FileRec>) -> ResourceRow {
    ResourceRow {
        uuid: r.uuid,
        name: r.name.to_string(),
        kind: r.kind.clone(),
        meta: r.meta.to_string(),
        files: r
            .files
            .iter()
            .filter_map(|p| files.at(*p).map(|f| f.uuid))
            .collect(),
        revisable: r.revisable,
        created_ms: ms(r.created),
        updated_ms: ms(r.updated),
        input_jobs: r.input_jobs.clone(),
        output_jobs: r.output_jobs.clone(),
    }
}

pub(crate) fn file_row(f: &FileRec) -> FileRow {
    FileRow {
        uuid: f.uuid,
        name: f.name.to_string(),
        size: f.size,
        checksum: f.checksum.to_string(),
        meta: f.meta.to_string(),
        position: f.position,
        created_ms: ms(f.created),
        updated_ms: ms(f.updated),
        key_prefix: f.key.prefix().to_owned(),
        key_name: f.key.name().to_owned(),
        resources: f.resources.clone(),
    }
}

pub(crate) fn job_row(j: &JobRec) -> JobRow {
    JobRow {
        uuid: j.uuid,
        name: j.name.to_string(),
        meta: j.meta.to_string(),
        job_type: j.job_type,
        status: j.status,
        created_ms: ms(j.created),
        updated_ms: ms(j.updated),
        run: j.run.as_ref().map(|r| RunRow {
            started_ms: ms(r.started),
            origin: r.origin,
            output: r.output,
            merge_into: r.merge_into,
            parameters: r.parameters.to_string(),
            ends_ms: r.ends.map(ms),
            completed_ms: r.completed.map(ms),
            message: r.message.to_string(),
            failure: r.failure.as_ref().map(|f| FailureRow {
                at: f.at,
                message: f.message.clone(),
            }),
            timer: r.timer.map(|(t, seq)| (ms(t), seq)),
            inputs: r.inputs,
            note: r.note.as_deref().map(str::to_owned),
        }),
    }
}

impl Account {
    /// The account's rows, each table in creation order.
    pub(crate) fn rows(&self) -> (Vec<ResourceRow>, Vec<FileRow>, Vec<JobRow>) {
        (
            self.resources
                .values()
                .map(|r| resource_row(r, &self.files))
                .collect(),
            self.files.values().map(file_row).collect(),
            self.jobs.values().map(job_row).collect(),
        )
    }

    /// The serialized row of one record, or `None` if it is gone.
    pub(crate) fn row_json(&self, kind: Kind, uuid: &Uuid) -> Option<String> {
        let v = match kind {
            Kind::Resource => {
                serde_json::to_string(&resource_row(self.resources.get(uuid)?, &self.files))
            }
            Kind::File => serde_json::to_string(&file_row(self.files.get(uuid)?)),
            Kind::Job => serde_json::to_string(&job_row(self.jobs.get(uuid)?)),
        };
        v.ok()
    }

    /// An account rebuilt from its rows (each table in creation order): the indexes,
    /// counts, extents, object index and timer queue are derived again.
    pub(crate) fn from_rows(
        starts: u64,
        resources: Vec<ResourceRow>,
        files: Vec<FileRow>,
        jobs: Vec<JobRow>,
    ) -> Self {
        let mut a = Account {
            starts,
            ..Account::default()
        };
        for f in files {
            let key = ObjectKey::new(f.key_prefix.into(), f.key_name.into());
            a.hold_object(&key, f.uuid);
            a.files.insert(
                f.uuid,
                FileRec {
                    uuid: f.uuid,
                    name: f.name.into(),
                    size: f.size,
                    checksum: f.checksum.into(),
                    meta: f.meta.into(),
                    position: f.position,
                    created: at(f.created_ms),
                    updated: at(f.updated_ms),
                    key,
                    resources: f.resources,
                },
            );
        }
        for r in resources {
            let mut positions: Vec<u32> =
                r.files.iter().filter_map(|u| a.files.position(u)).collect();
            positions.sort_unstable();
            positions.dedup();
            let mut rec = ResourceRec::new(r.uuid, &r.name, r.kind, &r.meta, at(r.created_ms));
            rec.updated = at(r.updated_ms);
            rec.revisable = r.revisable;
            rec.input_jobs = r.input_jobs;
            rec.output_jobs = r.output_jobs;
            for p in &positions {
                if let Some(f) = a.files.at(*p) {
                    rec.agg.add(f);
                }
            }
            rec.files = positions;
            a.insert_resource(rec);
        }
        for j in jobs {
            let run = j.run.map(|r| {
                Box::new(Run {
                    started: at(r.started_ms),
                    origin: r.origin,
                    output: r.output,
                    merge_into: r.merge_into,
                    parameters: r.parameters.into(),
                    ends: r.ends_ms.map(at),
                    completed: r.completed_ms.map(at),
                    message: r.message.into(),
                    failure: r.failure.map(|f| JobFailure {
                        at: f.at,
                        message: f.message,
                    }),
                    timer: r.timer.map(|(t, seq)| (at(t), seq)),
                    inputs: r.inputs,
                    note: r.note.map(Into::into),
                })
            });
            if let Some((t, seq)) = run.as_ref().and_then(|r| r.timer) {
                a.timers.insert((t, seq), j.uuid);
                a.seq = a.seq.max(seq);
            }
            if j.status.is_running() {
                a.running += 1;
            }
            a.insert_job(JobRec {
                uuid: j.uuid,
                name: j.name.into(),
                meta: j.meta.into(),
                job_type: j.job_type,
                status: j.status,
                created: at(j.created_ms),
                updated: at(j.updated_ms),
                run,
            });
        }
        a
    }
}
