//! Jobs: create, start, stop, the timer queue that moves them through their states on the
//! mock's clock, and the output resource they leave.
//! The state machine is in `lifecycle.rs`, the outputs a job leaves in `job_outputs.rs`.

use std::sync::Arc;
use std::time::SystemTime;

use terra_types::{
    ApiCode, Job, JobStatus, JobType, ListJobsQuery, Page, Position, ResourceType, StartJobRequest,
    UpdateRequest,
};
use uuid::Uuid;

use super::paging::{PageReq, Search, positions_of, uuid_filter};
use super::views::job_view;
use super::{
    Account, AccountCell, Env, FileRec, JobRec, ObjectKey, ResourceRec, StartEnv, parse_uuid,
};
use crate::error::{ApiError, ApiResult};

/// How a started job will fail, if it will.
///
/// ```
/// use terra_mock::JobFailure;
/// use terra_types::JobStatus;
/// // Fail while preparing, before any output exists.
/// let early = JobFailure { at: JobStatus::Preparing, message: "Image files are corrupted".into() };
/// # let _ = early;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The stage at whose end the job fails (1 to 4).
    pub at: JobStatus,
    /// The job's `message` after failing.
    pub message: String,
}

impl JobFailure {
    /// Fails at the end of executing with a message in the style of the DJI Terra
    /// reconstruction error guide.
    ///
    /// ```
    /// let f = terra_mock::JobFailure::during_execution("Aerotriangulation failed");
    /// assert_eq!(f.at, terra_types::JobStatus::Executing);
    /// ```
    pub fn during_execution(message: impl Into<String>) -> Self {
        Self {
            at: JobStatus::Executing,
            message: message.into(),
        }
    }
}

/// What exists of a job once it has been started.
#[derive(Debug)]
pub(crate) struct Run {
    pub started: SystemTime,
    pub origin: Uuid,
    pub output: Option<Uuid>,
    pub merge_into: Option<Uuid>,
    pub parameters: Box<str>,
    /// When stages 1, 2, 3 and 4 end.
    pub ends: [SystemTime; 4],
    pub completed: Option<SystemTime>,
    pub message: Box<str>,
    pub failure: Option<JobFailure>,
    pub timer: Option<(SystemTime, u64)>,
    pub inputs: usize,
    /// Appended to the `message` of a successful run (what the parameters made it skip).
    pub note: Option<Box<str>>,
}

impl Account {
    fn job(&self, uuid: &str) -> ApiResult<(Uuid, &JobRec)> {
        let id = parse_uuid(uuid, ApiError::no_job)?;
        let j = self.jobs.get(&id).ok_or_else(|| ApiError::no_job(uuid))?;
        Ok((id, j))
    }

    fn new_job(name: Box<str>, meta: Box<str>, now: SystemTime) -> JobRec {
        JobRec {
            uuid: Uuid::new_v4(),
            name,
            meta,
            job_type: JobType::NotStarted,
            status: JobStatus::Created,
            created: now,
            updated: now,
            run: None,
        }
    }

    pub(crate) fn create_job(
        &mut self,
        name: String,
        meta: Option<String>,
        env: &Env<'_>,
    ) -> ApiResult<Job> {
        if name.trim().is_empty() {
            return Err(ApiError::invalid("parameter `name` is required"));
        }
        let rec = Self::new_job(name.into(), meta.unwrap_or_default().into(), env.now);
        let view = job_view(&rec, env.now, true);
        self.insert_job(rec);
        Ok(view)
    }

    pub(crate) fn job_detail(&self, uuid: &str, env: &Env<'_>) -> ApiResult<Job> {
        let (_, j) = self.job(uuid)?;
        Ok(job_view(j, env.now, true))
    }

    pub(crate) fn list_jobs(&self, q: &ListJobsQuery, env: &Env<'_>) -> ApiResult<Page<Job>> {
        let req = PageReq::new(q.page, q.rows, env.cfg)?;
        let only = uuid_filter(&q.uuids)?;
        let search = Search::new(&q.search);
        let full = env.cfg.full_job_list_items;
        let view = |j: &JobRec| job_view(j, env.now, full);
        // A filter value that is not a UUID matches nothing.
        let resource = |v: &Option<String>| v.as_deref().map(|u| Uuid::parse_str(u).ok());
        let (origin, output) = (
            resource(&q.origin_resource_uuid),
            resource(&q.output_resource_uuid),
        );
        let keep = |j: &&JobRec| {
            q.job_type.is_none_or(|t| t == j.job_type)
                && origin.is_none_or(|o| o.is_some() && j.run.as_ref().map(|r| r.origin) == o)
                && output.is_none_or(|o| o.is_some() && j.run.as_ref().and_then(|r| r.output) == o)
                && search.matches(&j.name)
        };
        let by_position = |ids: &mut dyn Iterator<Item = &Uuid>| {
            let mut v: Vec<u32> = ids.filter_map(|u| self.jobs.position(u)).collect();
            v.sort_unstable_by(|a, b| b.cmp(a));
            v.dedup();
            v
        };
        // The narrowest candidate set an index gives, newest first.
        let candidates: Option<Vec<u32>> = if let Some(only) = &only {
            Some(positions_of(only, |u| self.jobs.position(u), false))
        } else if let Some(o) = origin {
            let r = o.and_then(|o| self.resources.get(&o));
            Some(
                r.map(|r| by_position(&mut r.input_jobs.iter()))
                    .unwrap_or_default(),
            )
        } else if let Some(o) = output {
            let r = o.and_then(|o| self.resources.get(&o));
            Some(
                r.map(|r| by_position(&mut r.output_jobs.iter()))
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        if let Some(c) = candidates {
            let rows = c.into_iter().filter_map(|p| self.jobs.at(p)).filter(keep);
            return Ok(req.of_iter(rows, view));
        }
        if search.is_none() {
            let ranks = match q.job_type {
                Some(t) => self.jobs_of_type(t),
                None => Some(self.jobs.ranks()),
            };
            return Ok(req.of_ranks(ranks, false, |p| self.jobs.at(p).map(view)));
        }
        Ok(req.of_iter(self.jobs.values().rev().filter(keep), view))
    }

    pub(crate) fn update_job(
        &mut self,
        uuid: &str,
        req: UpdateRequest,
        env: &Env<'_>,
    ) -> ApiResult<Job> {
        let (id, _) = self.job(uuid)?;
        if req.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ApiError::invalid("parameter `name` must not be empty"));
        }
        let j = self.jobs.get_mut(&id).expect("checked");
        if let Some(name) = req.name {
            j.name = name.into();
        }
        if let Some(meta) = req.meta {
            j.meta = meta.into();
        }
        j.updated = env.now;
        Ok(job_view(j, env.now, true))
    }

    pub(crate) fn copy_job(
        &mut self,
        uuid: &str,
        req: UpdateRequest,
        env: &Env<'_>,
    ) -> ApiResult<Job> {
        let (_, src) = self.job(uuid)?;
        let name = req
            .name
            .map(Into::into)
            .unwrap_or_else(|| format!("copy of {}", src.name).into());
        let meta = req.meta.map(Into::into).unwrap_or_else(|| src.meta.clone());
        let rec = Self::new_job(name, meta, env.now);
        let view = job_view(&rec, env.now, true);
        self.insert_job(rec);
        Ok(view)
    }

    pub(crate) fn delete_job(&mut self, uuid: &str) -> ApiResult<()> {
        let (id, j) = self.job(uuid)?;
        if j.status.is_running() {
            return Err(ApiError::not_allowed(format!(
                "job {uuid} is running ({}); stop it first",
                j.status
            )));
        }
        self.remove_job(&id);
        self.compact_if_sparse();
        Ok(())
    }

    /// The failure of a LiDAR job whose resource holds no LiDAR data, if so.
    fn no_lidar_data(&self, rid: &Uuid, name: &str) -> Option<JobFailure> {
        let r = self.resources.get(rid)?;
        let files: Vec<&FileRec> = r.files.iter().filter_map(|p| self.files.at(*p)).collect();
        if files.iter().any(|f| terra_types::is_lidar_name(&f.name)) {
            return None;
        }
        let example = files
            .first()
            .map(|f| format!(" (e.g. {})", f.name))
            .unwrap_or_default();
        Some(JobFailure {
            at: JobStatus::Preparing,
            message: format!(
                "No LiDAR data found in resource {name}: a LiDAR reconstruction needs the DJI L1/L2 mission folder (.LDR, .IMU, .RTK, .RTB, .RTL, .RTS, .CLC, .CLI files); it holds {} other files{example}",
                files.len()
            ),
        })
    }

    /// Checks a start request; returns the number of inputs and the merge target.
    fn check_start(&self, req: &StartJobRequest) -> ApiResult<(Uuid, usize, Option<Uuid>)> {
        if !matches!(
            req.job_type,
            JobType::Lidar | JobType::Map2d | JobType::Model3d | JobType::Merge
        ) {
            return Err(ApiError::invalid(format!(
                "parameter `type` must be 13 (LiDAR), 14 (2D), 15 (3D) or 4 (merge), got {}",
                req.job_type.code()
            )));
        }
        let rid = parse_uuid(&req.resource_uuid, ApiError::no_resource)?;
        let resource = self
            .resources
            .get(&rid)
            .ok_or_else(|| ApiError::no_resource(&req.resource_uuid))?;
        if resource.kind != ResourceType::Map && req.job_type != JobType::Merge {
            return Err(ApiError::invalid(
                "parameter `resourceUuid` must name a resource of type map",
            ));
        }
        terra_types::validate_start_parameters(req.job_type, &req.parameters)
            .map_err(|e| ApiError::invalid(format!("parameter `parameters`: {e}")))?;
        let merge_into = match (&req.output_resource_uuid, req.job_type) {
            (Some(out), JobType::Merge) => {
                let oid = parse_uuid(out, ApiError::no_resource)?;
                let o = self
                    .resources
                    .get(&oid)
                    .ok_or_else(|| ApiError::no_resource(out))?;
                if o.kind != ResourceType::JobOutput {
                    return Err(ApiError::invalid(
                        "parameter `outputResourceUuid` must name a job_output resource",
                    ));
                }
                Some(oid)
            }
            (Some(_), _) => {
                return Err(ApiError::invalid(
                    "parameter `outputResourceUuid` is only accepted for type 4 (merge)",
                ));
            }
            (None, _) => None,
        };
        let files = resource.files.iter().filter_map(|p| self.files.at(*p));
        let inputs = match req.job_type {
            JobType::Map2d | JobType::Model3d => {
                let images = files
                    .filter(|f| terra_types::is_image_name(&f.name))
                    .count();
                let min = terra_types::limits::MIN_IMAGES;
                let max = if req.job_type == JobType::Map2d {
                    terra_types::limits::MAX_IMAGES_2D
                } else {
                    terra_types::limits::MAX_IMAGES_3D
                };
                if images < min {
                    return Err(ApiError::invalid(format!(
                        "resource {} holds {images} images; {} reconstruction needs at least {min}",
                        req.resource_uuid,
                        req.job_type.label()
                    )));
                }
                if images > max {
                    return Err(ApiError::invalid(format!(
                        "resource {} holds {images} images; a {} job accepts at most {max}",
                        req.resource_uuid,
                        req.job_type.label()
                    )));
                }
                images
            }
            JobType::Lidar => {
                if resource.files.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "resource {} is empty; upload the LiDAR mission folder",
                        req.resource_uuid
                    )));
                }
                if resource.agg.size > terra_types::limits::MAX_LIDAR_BYTES {
                    return Err(ApiError::invalid(format!(
                        "LiDAR input is {} bytes; at most 48 GB are accepted",
                        resource.agg.size
                    )));
                }
                resource.files.len()
            }
            _ => resource.files.len(),
        };
        Ok((rid, inputs, merge_into))
    }

    pub(crate) fn start_job(
        &mut self,
        uuid: &str,
        req: StartJobRequest,
        start: StartEnv<'_>,
        env: &Env<'_>,
    ) -> ApiResult<Job> {
        let (id, job) = self.job(uuid)?;
        if job.status != JobStatus::Created {
            return Err(ApiError::not_allowed(format!(
                "job {uuid} has already been started (status {})",
                job.status
            )));
        }
        let (rid, inputs, merge_into) = self.check_start(&req)?;
        let mut failure = start.failure;
        let mut note = None;
        match req.job_type {
            JobType::Lidar if env.cfg.lidar_needs_lidar_data && failure.is_none() => {
                failure = self.no_lidar_data(&rid, &req.resource_uuid);
            }
            JobType::Model3d => {
                let p = crate::outputs::parse::<terra_types::Model3dParams>(&req.parameters);
                let ignored = p.parameter.ignored_mesh_formats();
                if !ignored.is_empty() {
                    let what = ignored.join(", ");
                    match env.cfg.unused_mesh_formats {
                        crate::config::UnusedMeshFormats::Refuse => {
                            return Err(ApiError::invalid(format!(
                                "parameter `parameters`: {what} ask for a model, but `output_mesh` is false; set output_mesh to true"
                            )));
                        }
                        crate::config::UnusedMeshFormats::Note => {
                            note = Some(format!(
                                "no textured model was produced: `output_mesh` is false, so {what} were ignored"
                            ).into());
                        }
                    }
                }
            }
            _ => {}
        }
        if self.running >= start.max_running_jobs {
            return Err(ApiError::new(
                ApiCode::JobLimit,
                format!(
                    "job number limit: {} jobs are running (limit {})",
                    self.running, start.max_running_jobs
                ),
            ));
        }
        if let Some(quota) = start.job_quota
            && self.starts >= quota
        {
            return Err(ApiError::new(
                ApiCode::Billing,
                format!("billing failure: the available quota ({quota} jobs) is used up"),
            ));
        }
        let now = env.now;
        let stages = start.timing.stages(inputs);
        let mut ends = [now; 4];
        let mut t = now;
        for (i, d) in stages.iter().enumerate() {
            t += *d;
            ends[i] = t;
        }
        self.starts += 1;
        let seq = self.next_seq();
        let resource = self.resources.get_mut(&rid).expect("checked");
        resource.revisable = false;
        resource.input_jobs.push(id);
        self.retype_job(&id, req.job_type);
        self.set_status(&id, JobStatus::Waiting);
        let job = self.jobs.get_mut(&id).expect("checked");
        job.updated = now;
        job.run = Some(Box::new(Run {
            started: now,
            origin: rid,
            output: None,
            merge_into,
            parameters: req.parameters.into(),
            ends,
            completed: None,
            message: "waiting".into(),
            failure,
            timer: Some((ends[0], seq)),
            inputs,
            note,
        }));
        let view = job_view(job, now, true);
        self.timers.insert((ends[0], seq), id);
        Ok(view)
    }

    pub(crate) fn stop_job(&mut self, uuid: &str, env: &Env<'_>) -> ApiResult<Job> {
        let (id, j) = self.job(uuid)?;
        if !j.status.can_stop() {
            let why = if j.status == JobStatus::Created {
                "it has not been started"
            } else {
                "a job can only be stopped before result processing (status < 4)"
            };
            return Err(ApiError::not_allowed(format!(
                "job {uuid} cannot be stopped in status {}: {why}",
                j.status
            )));
        }
        self.end_run(&id, JobStatus::Stopped, "stopped by user", env.now);
        Ok(job_view(
            self.jobs.get(&id).expect("checked"),
            env.now,
            true,
        ))
    }

    /// Inserts rows directly, for the memory benchmark: `jobs` started-and-finished jobs
    /// and `files` files spread over resources of 1 000 files.
    pub(crate) fn populate(
        &mut self,
        cell: &AccountCell,
        jobs: usize,
        files: usize,
        now: SystemTime,
    ) {
        let mut resource = Uuid::nil();
        let mut prefix: Arc<str> = "".into();
        for i in 0..files {
            if i % 1000 == 0 {
                resource = Uuid::new_v4();
                prefix = format!("{}/tmp/{}/", cell.id, resource.simple()).into();
                self.insert_resource(ResourceRec::new(
                    resource,
                    &format!("flight {i}"),
                    ResourceType::Map,
                    "",
                    now,
                ));
            }
            let uuid = Uuid::new_v4();
            let name: Arc<str> = format!("DJI_20261125_{i:06}.JPG").into();
            let pos = self.insert_file(FileRec {
                uuid,
                name: name.clone(),
                size: 12_582_912,
                checksum: "\"9b2cf535f27731c974343645a3985328\"".into(),
                meta: "".into(),
                position: Some(Position {
                    attitude: 0.0,
                    latitude: 22.5 + (i % 1000) as f64 * 1e-5,
                    longitude: 113.9,
                }),
                created: now,
                updated: now,
                key: ObjectKey::new(prefix.clone(), name),
                resources: Vec::new(),
            });
            self.link(&resource, pos);
        }
        for i in 0..jobs {
            let mut rec = Self::new_job(format!("job {i}").into(), "".into(), now);
            rec.job_type = JobType::Model3d;
            rec.status = JobStatus::Succeeded;
            rec.run = Some(Box::new(Run {
                started: now,
                origin: resource,
                output: Some(resource),
                merge_into: None,
                parameters: r#"{"parameter":{"output_mesh":true,"generate_obj":true}}"#.into(),
                ends: [now; 4],
                completed: Some(now),
                message: "success".into(),
                failure: None,
                timer: None,
                inputs: 24,
                note: None,
            }));
            self.insert_job(rec);
        }
    }
}
