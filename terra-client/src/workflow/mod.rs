//! The whole reconstruct workflow: a folder of photos (or a LiDAR mission) in, the
//! outputs of a job on disk. Resumable after a crash, with progress events.
//!
//! ```no_run
//! # async fn demo(client: terra_client::TerraClient) -> Result<(), terra_client::Error> {
//! use terra_client::workflow::JobSpec;
//! use terra_types::{JobParameters, Model3dParams};
//! let summary = client
//!     .reconstruct()
//!     .input("flight/")
//!     .output("results/")
//!     .job(JobSpec::Model3d(JobParameters::new(Model3dParams {
//!         output_mesh: Some(true),
//!         generate_obj: Some(true),
//!         ..Default::default()
//!     })))
//!     .on_event(|e| eprintln!("{e:?}"))
//!     .run()
//!     .await?;
//! println!("{} output files in {}", summary.downloaded_files, summary.output_dir.display());
//! # Ok(()) }
//! ```
//!
//! Steps, each recorded in `<output>/.terra-state.jsonl` when done: scan the input; upload
//! with terra-store (files already uploaded with the same size and mtime are skipped);
//! create the resource; register the files with `upload_callback` in batches of at most 50,
//! grouped by the token each was uploaded under; create and start the job; wait; download
//! every output file. Running again continues where a crash or Ctrl-C stopped: no file is
//! uploaded or registered twice, no second resource or job is created (a run id in their
//! `meta` finds them even if the crash came between creating and recording), and complete
//! downloads are not fetched again.

mod check;
mod download;
mod map;
mod scan;
mod state;
mod steps;
mod transfer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use terra_store::{BackendOptions, TokenProvider, UploadEvent, UploadOptions};
use terra_types::{
    Job, JobParameters, JobStatus, JobType, LidarParams, Map2dParams, Model3dParams,
    StartJobRequest, StsToken,
};

pub use check::{Extent, Finding, Preflight, Problem, Severity, preflight};
pub use download::{DownloadOptions, DownloadSummary, NameFilter, local_path};
pub use map::{flight_geojson, flight_svg, write_flight_map};
pub use scan::{InputFile, scan};
pub use state::STATE_FILE;

use crate::TerraClient;
use crate::config::PollingPolicy;
use crate::error::{Error, ErrorKind, Result};
pub(crate) use steps::mtime_secs;

/// The job to run, with its typed parameters.
///
/// ```
/// use terra_client::workflow::JobSpec;
/// use terra_types::{JobParameters, JobType, Model3dParams};
/// let spec = JobSpec::Model3d(JobParameters::new(Model3dParams {
///     output_mesh: Some(true),
///     generate_obj: Some(true),
///     ..Default::default()
/// }));
/// assert_eq!(spec.job_type(), JobType::Model3d);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum JobSpec {
    /// 2D reconstruction (type 14).
    Map2d(JobParameters<Map2dParams>),
    /// 3D reconstruction (type 15).
    Model3d(JobParameters<Model3dParams>),
    /// LiDAR reconstruction (type 13).
    Lidar(JobParameters<LidarParams>),
}

impl JobSpec {
    /// The job type.
    ///
    /// ```
    /// use terra_client::workflow::JobSpec;
    /// use terra_types::{JobParameters, JobType, LidarParams};
    /// let spec = JobSpec::Lidar(JobParameters::new(LidarParams::default()));
    /// assert_eq!(spec.job_type(), JobType::Lidar);
    /// ```
    pub fn job_type(&self) -> JobType {
        match self {
            Self::Map2d(_) => JobType::Map2d,
            Self::Model3d(_) => JobType::Model3d,
            Self::Lidar(_) => JobType::Lidar,
        }
    }

    /// Keys of the parameters that no field knows (typos, or keys DJI added after this
    /// SDK was written), each with the closest known key.
    ///
    /// ```
    /// use terra_client::workflow::JobSpec;
    /// use terra_types::JobType;
    /// let spec = JobSpec::from_json(JobType::Model3d, serde_json::json!({"parameter": {"generate_objj": true}})).unwrap();
    /// assert_eq!(spec.unknown_keys()[0].suggestion, Some("generate_obj"));
    /// ```
    pub fn unknown_keys(&self) -> Vec<terra_types::UnknownKey> {
        match self {
            Self::Map2d(p) => p.unknown_keys(),
            Self::Model3d(p) => p.unknown_keys(),
            Self::Lidar(p) => p.unknown_keys(),
        }
    }

    /// The area of interest of these parameters, if any.
    pub fn predefine_aoi(&self) -> Option<&terra_types::PredefineAoi> {
        match self {
            Self::Map2d(p) => p.predefine_aoi.as_ref(),
            Self::Model3d(p) => p.predefine_aoi.as_ref(),
            Self::Lidar(p) => p.predefine_aoi.as_ref(),
        }
    }

    /// The validated start request for `resource`.
    ///
    /// ```
    /// use terra_client::workflow::JobSpec;
    /// use terra_types::{JobParameters, Model3dParams};
    /// let ok = JobSpec::Model3d(JobParameters::new(Model3dParams::default()));
    /// assert_eq!(ok.start_request("<resource uuid>").unwrap().resource_uuid, "<resource uuid>");
    /// let bad = JobSpec::Model3d(JobParameters::new(Model3dParams {
    ///     model_simplify: Some(2.0),
    ///     ..Default::default()
    /// }));
    /// assert_eq!(bad.start_request("<resource uuid>").unwrap_err().field, "parameter.model_simplify");
    /// ```
    pub fn start_request(
        &self,
        resource: &str,
    ) -> std::result::Result<StartJobRequest, terra_types::ValidationError> {
        match self {
            Self::Map2d(p) => StartJobRequest::new(resource, p),
            Self::Model3d(p) => StartJobRequest::new(resource, p),
            Self::Lidar(p) => StartJobRequest::new(resource, p),
        }
    }

    /// Typed parameters from a JSON object (`{"parameter": {...}, ...}`) for a job type;
    /// type errors name the field.
    ///
    /// ```
    /// use terra_client::{ErrorKind, workflow::JobSpec};
    /// use terra_types::JobType;
    /// let spec = JobSpec::from_json(JobType::Map2d, serde_json::json!({"parameter": {"map_mode": 0}}))?;
    /// assert_eq!(spec.job_type(), JobType::Map2d);
    /// let err = JobSpec::from_json(JobType::Map2d, serde_json::json!({"parameter": {"map_mode": 9}})).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    /// assert!(err.to_string().contains("map_mode"), "{err}");
    /// # Ok::<(), terra_client::Error>(())
    /// ```
    pub fn from_json(job_type: JobType, value: serde_json::Value) -> Result<Self> {
        let text = value.to_string();
        let spec = match job_type {
            JobType::Map2d => Self::Map2d(JobParameters::from_json_str(&text)?),
            JobType::Model3d => Self::Model3d(JobParameters::from_json_str(&text)?),
            JobType::Lidar => Self::Lidar(JobParameters::from_json_str(&text)?),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidParameter,
                    format!("job type {other} cannot be run by the workflow"),
                ));
            }
        };
        spec.start_request("validation")?;
        Ok(spec)
    }
}

/// Progress of a workflow.
///
/// ```
/// use terra_client::workflow::WorkflowEvent;
/// fn show(e: WorkflowEvent) {
///     match e {
///         WorkflowEvent::Scanned { files, bytes, .. } => eprintln!("{files} files, {bytes} bytes"),
///         WorkflowEvent::JobProgress { status, percentage, .. } => {
///             eprintln!("{status}: {:.0} %", percentage * 100.0)
///         }
///         WorkflowEvent::Downloaded { name, .. } => eprintln!("got {name}"),
///         _ => {}
///     }
/// }
/// # let _ = show;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WorkflowEvent {
    /// The preflight check found something worth a look that does not stop the run.
    Warning {
        /// What, with the file.
        message: String,
    },
    /// The input was scanned.
    Scanned {
        /// Files to upload in all.
        files: usize,
        /// Their bytes.
        bytes: u64,
        /// Files already uploaded by an earlier run.
        already_uploaded: usize,
    },
    /// An upload event of terra-store.
    Upload(UploadEvent),
    /// The resource exists (created now or earlier).
    Resource {
        /// Its uuid.
        uuid: String,
    },
    /// Files were registered.
    Registered {
        /// Registered so far.
        done: usize,
        /// In all.
        total: usize,
    },
    /// The job exists.
    Job {
        /// Its uuid.
        uuid: String,
    },
    /// A poll of the job.
    JobProgress {
        /// Status.
        status: JobStatus,
        /// 0 to 1.
        percentage: f64,
        /// Estimated seconds left.
        remain_seconds: Option<i64>,
    },
    /// Downloads begin.
    DownloadStarted {
        /// Files to fetch.
        files: usize,
        /// Their bytes.
        bytes: u64,
        /// Files already complete on disk.
        already_downloaded: usize,
    },
    /// Bytes of a download written.
    DownloadProgress {
        /// Bytes in this chunk (negative when a failed attempt's bytes are discarded).
        bytes: i64,
    },
    /// A file is complete on disk.
    Downloaded {
        /// Relative name.
        name: String,
        /// Bytes.
        size: u64,
    },
}

/// What a finished workflow did.
///
/// ```
/// fn report(s: &terra_client::workflow::Summary) {
///     println!(
///         "job {} done in {:.1?}: {} files up, {} files down into {}",
///         s.job_uuid,
///         s.elapsed,
///         s.uploaded_files,
///         s.downloaded_files,
///         s.output_dir.display()
///     );
/// }
/// # let _ = report;
/// ```
#[derive(Debug, Clone)]
pub struct Summary {
    /// The input resource.
    pub resource_uuid: String,
    /// The job.
    pub job_uuid: String,
    /// The output resource.
    pub output_resource_uuid: String,
    /// The finished job.
    pub job: Job,
    /// Files uploaded by this run.
    pub uploaded_files: usize,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Files an earlier run had uploaded.
    pub resumed_uploads: usize,
    /// What a resumed run found on the service before skipping work (see
    /// [`Registered::verified`]).
    pub verified: Option<String>,
    /// Files downloaded by this run.
    pub downloaded_files: usize,
    /// Their bytes.
    pub downloaded_bytes: u64,
    /// Output files complete on disk (this run and earlier ones).
    pub output_files: usize,
    /// Where the outputs are.
    pub output_dir: PathBuf,
    /// Wall time of this run.
    pub elapsed: Duration,
}

/// What [`Reconstruct::upload_and_register`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registered {
    /// The resource the files are registered in.
    pub resource_uuid: String,
    /// Files registered in it by this run, earlier attempts included.
    pub registered_files: usize,
    /// Files uploaded now.
    pub uploaded_files: usize,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Files an earlier, interrupted run had already uploaded.
    pub resumed_uploads: usize,
    /// What a resumed run found on the service before skipping work, for a person
    /// (`32 files already in resource 322ae1af on openapi-us.dji.com`); `None` for a
    /// first run.
    pub verified: Option<String>,
}

type EventSink = Arc<dyn Fn(WorkflowEvent) + Send + Sync>;

/// Configures and runs a workflow; see the module documentation.
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
/// let summary = flow().run().await?;
/// assert_eq!(summary.uploaded_files, 10);
/// assert_eq!(summary.job.status, terra_types::JobStatus::Succeeded);
/// assert!(output.join("map/result.tif").exists());
/// # Ok(()) }
/// ```
#[must_use = "call .run().await"]
pub struct Reconstruct {
    client: TerraClient,
    input: Option<PathBuf>,
    output: Option<PathBuf>,
    name: Option<String>,
    resource: Option<String>,
    spec: Option<JobSpec>,
    upload: UploadOptions,
    /// Downloads in flight: (at first, at most).
    downloads: download::Window,
    fresh: bool,
    strict: bool,
    polling: PollingPolicy,
    events: Option<EventSink>,
}

impl std::fmt::Debug for Reconstruct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconstruct")
            .field("input", &self.input)
            .field("output", &self.output)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenProvider for TerraClient {
    async fn token(&self) -> std::result::Result<StsToken, terra_store::BoxError> {
        self.obtain_token()
            .await
            .map_err(|e| Box::new(e) as terra_store::BoxError)
    }
}

impl TerraClient {
    /// A reconstruct workflow with this client (feature `workflow`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("flight/").output("results/");
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn reconstruct(&self) -> Reconstruct {
        Reconstruct {
            client: self.clone(),
            input: None,
            output: None,
            name: None,
            resource: None,
            spec: None,
            upload: UploadOptions::default(),
            downloads: {
                let d = DownloadOptions::default();
                download::Window {
                    start: d.concurrency,
                    max: d.max_concurrency,
                    budget: d.memory_budget,
                }
            },
            fresh: false,
            strict: false,
            polling: PollingPolicy::default(),
            events: None,
        }
    }
}

impl Reconstruct {
    /// The folder of photos (2D/3D) or the LiDAR mission folder.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("/data/2026-11-25 quarry");
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn input(mut self, dir: impl Into<PathBuf>) -> Self {
        self.input = Some(dir.into());
        self
    }

    /// Where the outputs (and the resume journal) go; created if needed.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("flight/").output("flight-results/");
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn output(mut self, dir: impl Into<PathBuf>) -> Self {
        self.output = Some(dir.into());
        self
    }

    /// Name of the resource and job (default: the input folder's name).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("flight/").name("quarry, north face");
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The job type and parameters (validated before anything is uploaded).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// use terra_client::workflow::JobSpec;
    /// use terra_types::{JobParameters, MapMode, Map2dParams};
    /// let spec = JobSpec::Map2d(JobParameters::new(Map2dParams {
    ///     map_mode: Some(MapMode::Farmland),
    ///     ..Default::default()
    /// }));
    /// let flow = client.reconstruct().input("flight/").job(spec);
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn job(mut self, spec: JobSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Upload concurrency, part sizes and the like.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let opts = terra_store::UploadOptions { files_in_flight: 4, ..Default::default() };
    /// let flow = client.reconstruct().input("flight/").upload_options(opts);
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn upload_options(mut self, opts: UploadOptions) -> Self {
        self.upload = opts;
        self
    }

    /// How to reach the storage (an endpoint override for terra-mock).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// // A local S3 or OSS emulator instead of the bucket the token names.
    /// let storage = terra_store::BackendOptions {
    ///     endpoint: Some("http://127.0.0.1:8080".into()),
    ///     ..Default::default()
    /// };
    /// let flow = client.reconstruct().input("flight/").storage(storage);
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn storage(mut self, backend: BackendOptions) -> Self {
        self.upload.backend = backend;
        self
    }

    /// Files downloaded at the same time, fixed. Without it the number starts at 8 (or at
    /// the number of small files, up to 256) and grows up to 256 while it brings more
    /// throughput (see [`DownloadOptions`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("flight/").download_concurrency(2); // a slow link
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn download_concurrency(mut self, n: usize) -> Self {
        self.downloads.start = n.max(1);
        self.downloads.max = n.max(1);
        self
    }

    /// Ignore (and replace) the journal of an earlier run in the output folder.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// // Start over: a new resource and job even if results/ holds an earlier run's journal.
    /// let flow = client.reconstruct().input("flight/").output("results/").fresh(true);
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }

    /// Registers the files into this existing resource instead of creating one.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("more-photos/").into_resource("<resource uuid>");
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn into_resource(mut self, uuid: impl Into<String>) -> Self {
        self.resource = Some(uuid.into());
        self
    }

    /// Whether preflight warnings (photos without GPS, duplicates, an AOI with no photo in
    /// it) stop the run like errors do. Off by default: warnings are reported as
    /// [`WorkflowEvent::Warning`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// let flow = client.reconstruct().input("flight/").strict(true);
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// How the job is polled.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = terra_client::TerraClient::builder()
    /// #     .region(terra_client::Region::Us)
    /// #     .credentials("k", "s")
    /// #     .build()?;
    /// use std::time::Duration;
    /// let policy = terra_client::PollingPolicy { max: Duration::from_secs(120), ..Default::default() };
    /// let flow = client.reconstruct().input("flight/").polling(policy);
    /// # let _ = flow;
    /// # Ok(()) }
    /// ```
    pub fn polling(mut self, policy: PollingPolicy) -> Self {
        self.polling = policy;
        self
    }

    /// Receives progress events (from many tasks: keep it quick).
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
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use terra_client::workflow::WorkflowEvent;
    /// let downloaded = Arc::new(AtomicUsize::new(0));
    /// let count = downloaded.clone();
    /// let summary = flow()
    ///     .on_event(move |e| {
    ///         if let WorkflowEvent::Downloaded { .. } = e {
    ///             count.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .run()
    ///     .await?;
    /// assert_eq!(downloaded.load(Ordering::Relaxed), summary.downloaded_files);
    /// # Ok(()) }
    /// ```
    pub fn on_event(mut self, f: impl Fn(WorkflowEvent) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(f));
        self
    }

    fn emit(&self, e: WorkflowEvent) {
        if let Some(f) = &self.events {
            f(e);
        }
    }
}
