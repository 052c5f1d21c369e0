//! The steps of a run: preflight, uploads, the resource, registration, the job, the wait
//! and the downloads, each recorded in the journal when done.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use futures::TryStreamExt;
use terra_store::{UploadItem, UploadOptions, Uploader};
use terra_types::{
    CallbackFile, CreateJobRequest, CreateResourceRequest, Job, JobStatus, ListFilesQuery,
    Position, Resource, UploadCallbackRequest,
};

use super::download;
use super::state::{Binding, Entry, State};
use super::{
    InputFile, JobSpec, Reconstruct, Registered, Summary, WorkflowEvent, preflight,
    write_flight_map,
};
use crate::error::{Error, ErrorKind, Result};

impl Reconstruct {
    /// The first half of [`Reconstruct::run`] on its own: the preflight, uploads (resumed
    /// from the journal in the output folder), the resource (created once) and the
    /// registration of every file, and nothing more: no job. What `terra upload` runs. A
    /// rerun after a crash uploads and registers nothing twice.
    ///
    /// ```no_run
    /// # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
    /// use terra_client::workflow::JobSpec;
    /// use terra_types::{JobParameters, Model3dParams};
    /// let r = client
    ///     .reconstruct()
    ///     .input("flight/")
    ///     .output("flight-upload/")
    ///     .job(JobSpec::Model3d(JobParameters::new(Model3dParams::default())))
    ///     .upload_and_register()
    ///     .await?;
    /// println!("{} files in resource {}", r.registered_files, r.resource_uuid);
    /// # Ok(()) }
    /// ```
    pub async fn upload_and_register(self) -> Result<Registered> {
        Ok(self.registered().await?.0)
    }

    /// Steps 1 to 3; returns what they did and the journal, spec, name and output folder
    /// the rest of the run needs.
    async fn registered(&self) -> Result<(Registered, State, JobSpec, String, PathBuf)> {
        let input = self
            .input
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Input, "no input folder given"))?;
        let output = self
            .output
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Input, "no output folder given"))?;
        let spec = self
            .spec
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Input, "no job type and parameters given"))?;
        let parameters = spec.start_request("validation")?.parameters;
        let check = preflight(&input, spec.job_type(), &output, spec.predefine_aoi())?;
        if !self.strict {
            for w in check.warnings() {
                self.emit(WorkflowEvent::Warning {
                    message: w.message.clone(),
                });
            }
        }
        // The output folder and the flight map only for input that passed.
        if check.errors(self.strict).is_empty() {
            std::fs::create_dir_all(&output).map_err(|e| {
                Error::new(
                    ErrorKind::Input,
                    format!("cannot create the output folder {}: {e}", output.display()),
                )
            })?;
            write_flight_map(&check, &output)?;
        }
        let files = check.into_result(self.strict)?;
        let canonical = std::fs::canonicalize(&input).unwrap_or_else(|_| input.clone());
        let name = self.name.clone().unwrap_or_else(|| {
            canonical
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "terra-rs flight".into())
        });
        let begin = Entry::Begin {
            run: uuid::Uuid::new_v4().to_string(),
            input: canonical.display().to_string(),
            job_type: spec.job_type().code(),
            name: name.clone(),
            parameters: parameters.clone(),
        };
        let binding = Binding::new(
            self.client.endpoint(),
            self.client.app_key(),
            self.upload.backend.endpoint.as_deref(),
        );
        let mut state = State::open(&output, self.fresh, begin, &binding)?;
        // What the journal says exists must exist, before any of it is skipped.
        let verified = if state.resumed {
            self.verify(&mut state, &output, &files).await?
        } else {
            None
        };

        // 1. upload
        let mut uploaded_files = 0;
        let mut uploaded_bytes = 0;
        let resumed = files
            .iter()
            .filter(|f| {
                state
                    .uploaded
                    .get(&f.name)
                    .is_some_and(|u| u.size == f.size && u.mtime == f.mtime)
            })
            .count();
        for round in 0..3 {
            let todo: Vec<&InputFile> = files
                .iter()
                .filter(|f| {
                    !state
                        .uploaded
                        .get(&f.name)
                        .is_some_and(|u| u.size == f.size && u.mtime == f.mtime)
                })
                .collect();
            if round == 0 {
                self.emit(WorkflowEvent::Scanned {
                    files: files.len(),
                    bytes: files.iter().map(|f| f.size).sum(),
                    already_uploaded: files.len() - todo.len(),
                });
            }
            if !todo.is_empty() {
                let (n, b) = self.upload(&mut state, &todo).await?;
                uploaded_files += n;
                uploaded_bytes += b;
            }
            // 2. resource
            let resource = self.ensure_resource(&mut state, &name).await?;
            // 3. register
            match self.register(&mut state, &resource, &files).await? {
                Registration::Done => break,
                Registration::Stale(names) if round < 2 => {
                    tracing::warn!(
                        files = names.len(),
                        "upload tokens can no longer register these files; uploading them again"
                    );
                    state.record(&Entry::Stale { names })?;
                }
                Registration::Stale(_) => {
                    return Err(Error::new(
                        ErrorKind::InvalidParameter,
                        "files uploaded again could still not be registered",
                    ));
                }
            }
        }
        let resource = state.resource.clone().expect("registered into a resource");
        let registered = Registered {
            registered_files: state.registered.len(),
            resource_uuid: resource,
            uploaded_files,
            uploaded_bytes,
            resumed_uploads: resumed,
            verified,
        };
        Ok((registered, state, spec, name, output))
    }

    /// Runs (or resumes) the workflow.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = terra_mock::TerraMock::builder()
    /// #     .timing(terra_mock::JobTiming::lasting(std::time::Duration::from_millis(300)))
    /// #     .start()
    /// #     .await?;
    /// # let client = terra_client::TerraClient::builder()
    /// #     .endpoint(mock.base_url())
    /// #     .credentials(mock.app_key(), mock.secret())
    /// #     .build()?;
    /// # let dir = tempfile::tempdir()?;
    /// # let (input, output) = (dir.path().join("flight"), dir.path().join("results"));
    /// # let plan = terra_mock::sample::FlightPlan { images: 10, ..Default::default() };
    /// # terra_mock::sample::write_flight(&input, &plan)?;
    /// use std::time::Duration;
    /// use terra_client::PollingPolicy;
    /// use terra_client::workflow::JobSpec;
    /// use terra_types::{JobParameters, Map2dParams};
    /// let flow = || {
    ///     client
    ///         .reconstruct()
    ///         .input(&input)
    ///         .output(&output)
    ///         .job(JobSpec::Map2d(JobParameters::new(Map2dParams::default())))
    ///         // terra-mock's storage instead of DJI's bucket
    ///         .storage(terra_store::BackendOptions { endpoint: Some(mock.base_url()), ..Default::default() })
    ///         .polling(PollingPolicy { initial: Duration::from_millis(100), ..Default::default() })
    /// };
    /// let first = flow().run().await?;
    /// // Running again resumes from the journal in `output`: nothing is uploaded, created or
    /// // downloaded twice.
    /// let again = flow().run().await?;
    /// assert_eq!(again.job_uuid, first.job_uuid);
    /// assert_eq!((again.uploaded_files, again.downloaded_files), (0, 0));
    /// assert_eq!(again.output_files, first.output_files);
    /// # Ok(()) }
    /// ```
    pub async fn run(self) -> Result<Summary> {
        let started = Instant::now();
        let (registered, mut state, spec, name, output) = self.registered().await?;
        let client = &self.client;
        let Registered {
            resource_uuid: resource,
            uploaded_files,
            uploaded_bytes,
            resumed_uploads: resumed,
            verified,
            ..
        } = registered;

        // 4. job
        let job_uuid = self.ensure_job(&mut state, &name).await?;
        if !state.started {
            let job = client.get_job(&job_uuid).await?;
            if job.status == JobStatus::Created {
                client
                    .start_job(&job_uuid, &spec.start_request(&resource)?)
                    .await?;
            }
            state.record(&Entry::Started)?;
        }

        // 5. wait
        let job = if state.output.is_some() {
            client.get_job(&job_uuid).await?
        } else {
            let mut poller = client.poll_job_with(&job_uuid, self.polling);
            let mut last = None;
            while let Some(j) = futures::StreamExt::next(&mut poller).await {
                let j = j?;
                self.emit(WorkflowEvent::JobProgress {
                    status: j.status,
                    percentage: j.percentage.unwrap_or(0.0),
                    remain_seconds: j.remain_seconds,
                });
                last = Some(j);
            }
            let job = crate::poller::finished(last.ok_or_else(|| {
                Error::new(ErrorKind::Timeout, "the job poller ended without a job")
            })?)?;
            let out = job.output_resource_uuid.clone().ok_or_else(|| {
                Error::decode(format!(
                    "job {job_uuid} finished without an outputResourceUuid"
                ))
            })?;
            state.record(&Entry::Finished { output: out })?;
            job
        };
        let output_resource = state.output.clone().expect("recorded");

        // 6. download
        let (downloaded_files, downloaded_bytes, output_files) = download::all(
            client,
            &output_resource,
            &output,
            &mut state,
            self.downloads,
            &|e| self.emit(e),
        )
        .await?;
        Ok(Summary {
            resource_uuid: resource,
            job_uuid,
            output_resource_uuid: output_resource,
            job,
            uploaded_files,
            uploaded_bytes,
            resumed_uploads: resumed,
            verified,
            downloaded_files,
            downloaded_bytes,
            output_files,
            output_dir: output,
            elapsed: started.elapsed(),
        })
    }

    async fn upload(&self, state: &mut State, todo: &[&InputFile]) -> Result<(usize, u64)> {
        let events = self.events.clone();
        // The uploader runs on the client's clock: its token expiry checks and its
        // backoff, like the client's own retries.
        let (now, sleep) = (self.client.clock().clone(), self.client.clock().clone());
        let opts = UploadOptions {
            now: Arc::new(move || now.now()),
            sleep: Arc::new(move |d| {
                let clock = sleep.clone();
                Box::pin(async move { clock.sleep(d).await })
            }),
            ..self.upload.clone()
        };
        let mut uploader = Uploader::new(Arc::new(self.client.clone()), opts);
        if let Some(f) = events {
            uploader = uploader.on_event(move |e| f(WorkflowEvent::Upload(e)));
        }
        let items: Vec<UploadItem> = todo
            .iter()
            .map(|f| UploadItem::new(&f.name, &f.path))
            .collect();
        let mtimes: std::collections::HashMap<&str, u64> =
            todo.iter().map(|f| (f.name.as_str(), f.mtime)).collect();
        let mut stream = Box::pin(uploader.upload_stream(items));
        let (mut n, mut bytes) = (0, 0);
        while let Some(done) = stream.try_next().await.map_err(storage_error)? {
            n += 1;
            bytes += done.size;
            let mtime = mtimes.get(done.name.as_str()).copied().unwrap_or_default();
            state.record(&Entry::Uploaded {
                name: done.name,
                size: done.size,
                mtime,
                etag: done.etag,
                token: done.token,
            })?;
        }
        Ok((n, bytes))
    }

    /// Checks what an earlier run recorded against the service: the storage its tokens are
    /// for, the resource and its files, the job. What the service no longer has is
    /// forgotten, so that exactly that part is done again; returns what was found there,
    /// for a person (`32 files already in resource 322ae1af on openapi-us.dji.com`).
    async fn verify(
        &self,
        state: &mut State,
        output: &Path,
        files: &[InputFile],
    ) -> Result<Option<String>> {
        let token = self.client.obtain_token().await?;
        state.bind_storage(output, token.cloud_name.as_str(), &token.cloud_bucket_name)?;
        let host = self
            .client
            .endpoint()
            .split("://")
            .nth(1)
            .unwrap_or(self.client.endpoint())
            .trim_end_matches('/')
            .to_owned();
        let mut found = None;
        if let Some(resource) = state.resource.clone() {
            match self.client.get_resource(&resource).await {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    self.emit(WorkflowEvent::Warning {
                        message: format!(
                            "resource {resource} recorded by an earlier run is not on {host}: \
                             uploading and registering every file again"
                        ),
                    });
                    state.record(&Entry::ResourceGone)?;
                }
                Err(e) => return Err(e),
                Ok(_) => {
                    let held: std::collections::HashSet<String> = self
                        .client
                        .files(ListFilesQuery {
                            resource_uuid: Some(resource.clone()),
                            rows: Some(1000),
                            ..Default::default()
                        })
                        .map_ok(|f| f.name)
                        .try_collect()
                        .await?;
                    let missing: Vec<String> = files
                        .iter()
                        .filter(|f| state.registered.contains(&f.name) && !held.contains(&f.name))
                        .map(|f| f.name.clone())
                        .collect();
                    if !missing.is_empty() {
                        self.emit(WorkflowEvent::Warning {
                            message: format!(
                                "resource {resource} on {host} lacks {} files an earlier run \
                                 registered: uploading and registering them again",
                                missing.len()
                            ),
                        });
                        state.record(&Entry::Missing { names: missing })?;
                    }
                    let there = files
                        .iter()
                        .filter(|f| state.registered.contains(&f.name))
                        .count();
                    found = Some(format!(
                        "{there} files already in resource {} on {host}",
                        short(&resource)
                    ));
                }
            }
        }
        if let Some(job) = state.job.clone() {
            match self.client.get_job(&job).await {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    self.emit(WorkflowEvent::Warning {
                        message: format!(
                            "job {job} recorded by an earlier run is not on {host}: creating a new one"
                        ),
                    });
                    state.record(&Entry::JobGone)?;
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        Ok(found)
    }

    /// The run's resource: recorded, found by the run id in `meta`, or created.
    async fn ensure_resource(&self, state: &mut State, name: &str) -> Result<String> {
        if let Some(r) = &state.resource {
            return Ok(r.clone());
        }
        if let Some(r) = &self.resource {
            state.record(&Entry::Resource { uuid: r.clone() })?;
            self.emit(WorkflowEvent::Resource { uuid: r.clone() });
            return Ok(r.clone());
        }
        // A crash may have come between the create and its journal line: look first.
        let uuid = match self.client.find_marked::<Resource>(&state.run).await? {
            Some(r) => r.uuid,
            None => {
                let meta = serde_json::json!({ "terra-rs-run": state.run }).to_string();
                self.client
                    .create_resource(&CreateResourceRequest {
                        meta: Some(meta),
                        ..CreateResourceRequest::map(name)
                    })
                    .await?
                    .uuid
            }
        };
        state.record(&Entry::Resource { uuid: uuid.clone() })?;
        self.emit(WorkflowEvent::Resource { uuid: uuid.clone() });
        Ok(uuid)
    }

    /// Registers every uploaded file not yet registered, by token, in batches of 50.
    async fn register(
        &self,
        state: &mut State,
        resource: &str,
        files: &[InputFile],
    ) -> Result<Registration> {
        let total = files.len();
        let mut pending: Vec<&InputFile> = files
            .iter()
            .filter(|f| !state.registered.contains(&f.name))
            .collect();
        if pending.is_empty() {
            return Ok(Registration::Done);
        }
        // A crash may have come between a callback and its journal line: ask the service.
        let existing: Vec<terra_types::File> = self
            .client
            .files(ListFilesQuery {
                resource_uuid: Some(resource.to_owned()),
                rows: Some(1000),
                ..Default::default()
            })
            .try_collect()
            .await?;
        let known: Vec<String> = pending
            .iter()
            .filter(|f| existing.iter().any(|e| e.name == f.name))
            .map(|f| f.name.clone())
            .collect();
        if !known.is_empty() {
            state.record(&Entry::Registered { names: known })?;
            pending.retain(|f| !state.registered.contains(&f.name));
        }
        let mut by_token: std::collections::BTreeMap<String, Vec<CallbackFile>> =
            std::collections::BTreeMap::new();
        for f in &pending {
            let up = state
                .uploaded
                .get(&f.name)
                .expect("every scanned file was uploaded before registering");
            let mut cf = CallbackFile::new(&f.name, &up.etag);
            cf.position = f.position.map(|(lat, lon)| Position {
                attitude: 0.0,
                latitude: lat,
                longitude: lon,
            });
            by_token
                .entry(up.token.callback_param.clone())
                .or_default()
                .push(cf);
        }
        let mut stale = Vec::new();
        for (param, cfs) in by_token {
            for batch in crate::callback_batches(cfs, terra_types::limits::CALLBACK_BATCH) {
                let names: Vec<String> = batch.iter().map(|f| f.name.clone()).collect();
                let req = UploadCallbackRequest {
                    callback_param: param.clone(),
                    resource_uuid: resource.to_owned(),
                    files: batch,
                };
                match self.client.upload_callback(&req).await {
                    Ok(_) => {
                        state.record(&Entry::Registered { names })?;
                        self.emit(WorkflowEvent::Registered {
                            done: state.registered.len(),
                            total,
                        });
                    }
                    Err(e)
                        if e.kind() == ErrorKind::InvalidParameter
                            && e.message().contains("callbackParam") =>
                    {
                        stale.extend(names);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(if stale.is_empty() {
            Registration::Done
        } else {
            Registration::Stale(stale)
        })
    }

    /// The run's job: recorded, found by the run id in `meta`, or created.
    async fn ensure_job(&self, state: &mut State, name: &str) -> Result<String> {
        if let Some(j) = &state.job {
            return Ok(j.clone());
        }
        let uuid = match self.client.find_marked::<Job>(&state.run).await? {
            Some(j) => j.uuid,
            None => {
                let meta = serde_json::json!({ "terra-rs-run": state.run }).to_string();
                self.client
                    .create_job(&CreateJobRequest {
                        name: name.to_owned(),
                        meta: Some(meta),
                    })
                    .await?
                    .uuid
            }
        };
        state.record(&Entry::Job { uuid: uuid.clone() })?;
        self.emit(WorkflowEvent::Job { uuid: uuid.clone() });
        Ok(uuid)
    }
}

enum Registration {
    Done,
    /// Files whose upload token can no longer register them.
    Stale(Vec<String>),
}

/// The first block of a uuid, as people quote them.
fn short(uuid: &str) -> &str {
    uuid.split('-').next().unwrap_or(uuid)
}

fn storage_error(e: terra_store::StoreError) -> Error {
    let kind = match e.kind() {
        // The token provider is this client: give back its own error (authentication, ...).
        terra_store::StoreErrorKind::Token => {
            let message = e.to_string();
            return match e.into_source().map(|s| s.downcast::<Error>()) {
                Some(Ok(inner)) => *inner,
                _ => Error::new(ErrorKind::Transport, message),
            };
        }
        terra_store::StoreErrorKind::Io => ErrorKind::Input,
        _ => ErrorKind::Storage,
    };
    let message = e.to_string();
    Error::new(kind, message).with_source(e)
}

pub(crate) fn mtime_secs(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}
