//! The wire objects of rows: what the API answers and the harness returns.

use std::time::SystemTime;

use terra_types::time::format_rfc3339;
use terra_types::{File, Job, JobStatus, JobType, Resource};

use super::{FileRec, JobRec, ResourceRec};

thread_local! {
    static BUILT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn built() {
    BUILT.with(|c| c.set(c.get() + 1));
}

/// How many wire objects (resources, files, jobs) this thread has built: what a listing
/// costs, for the tests that check a page builds only its own rows.
#[doc(hidden)]
pub fn views_built_on_this_thread() -> u64 {
    BUILT.with(std::cell::Cell::get)
}

fn secs_between(a: SystemTime, b: SystemTime) -> f64 {
    b.duration_since(a).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

pub(crate) fn resource_view(r: &ResourceRec) -> Resource {
    built();
    Resource {
        uuid: uuid_text(r.uuid),
        name: String::from(&*r.name),
        resource_type: r.kind.clone(),
        meta: String::from(&*r.meta),
        file_count: r.files.len() as u64,
        total_size: r.agg.size,
        scope: r.agg.scope,
        revisable: r.revisable,
        upload_used_time: 0.0,
        download_used_time: 0.0,
        created_at: format_rfc3339(r.created),
        updated_at: format_rfc3339(r.updated),
    }
}

pub(crate) fn file_view(f: &FileRec, url: Option<String>) -> File {
    built();
    File {
        uuid: uuid_text(f.uuid),
        name: String::from(&*f.name),
        size: f.size,
        checksum: String::from(&*f.checksum),
        meta: String::from(&*f.meta),
        position: f.position,
        url,
        created_at: format_rfc3339(f.created),
        updated_at: format_rfc3339(f.updated),
    }
}

/// The job object. Fields that exist only after start are omitted before it; list items
/// (`full == false`) carry the documented subset.
pub(crate) fn job_view(j: &JobRec, now: SystemTime, full: bool) -> Job {
    built();
    let mut job = Job {
        uuid: uuid_text(j.uuid),
        name: String::from(&*j.name),
        meta: String::from(&*j.meta),
        job_type: j.job_type,
        status: j.status,
        created_at: format_rfc3339(j.created),
        updated_at: format_rfc3339(j.updated),
        started_at: None,
        completed_at: None,
        message: None,
        origin_resource_uuid: None,
        output_resource_uuid: None,
        parameters: None,
        percentage: None,
        pixels: None,
        remain_seconds: None,
    };
    let Some(run) = &j.run else { return job };
    job.started_at = Some(format_rfc3339(run.started));
    job.completed_at = run.completed.map(format_rfc3339);
    job.origin_resource_uuid = Some(uuid_text(run.origin));
    job.output_resource_uuid = run.output.map(uuid_text);
    if full {
        let end = run.ends[3];
        let t = run.completed.unwrap_or(now).min(end);
        let total = secs_between(run.started, end);
        let pct = match j.status {
            JobStatus::Succeeded => 1.0,
            _ if total <= 0.0 => 0.0,
            _ => (secs_between(run.started, t) / total).clamp(0.0, 0.99),
        };
        job.message = Some(String::from(&*run.message));
        job.parameters = Some(String::from(&*run.parameters));
        job.percentage = Some((pct * 10_000.0).round() / 10_000.0);
        job.pixels = Some(if j.job_type == JobType::Lidar {
            0.0
        } else {
            run.inputs as f64 * 20_000_000.0
        });
        job.remain_seconds = Some(if j.status.is_terminal() {
            0
        } else {
            secs_between(now, end).ceil() as i64
        });
    }
    job
}

/// A UUID's hyphenated lower-case text, written straight into its `String` (not through
/// the `Display` machinery: every item of every page has one or more).
fn uuid_text(u: uuid::Uuid) -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    u.hyphenated().encode_lower(&mut buf).to_owned()
}
