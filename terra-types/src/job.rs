use serde::{Deserialize, Serialize};

use crate::macros::int_enum;
use crate::params::{JobParameters, ParameterSet};

int_enum! {
    /// Job `type` (reference §4.1).
    ///
    /// ```
    /// use terra_types::JobType;
    /// assert_eq!(JobType::from_code(15), JobType::Model3d);
    /// assert_eq!(JobType::Map2d.to_string(), "2D (14)");
    /// assert_eq!(serde_json::to_string(&JobType::Lidar).unwrap(), "13");
    /// ```
    pub enum JobType {
        /// `0`: the value seen on a job that has not been started.
        NotStarted = 0 => "not started",
        /// `4`: merge into an existing output resource (semantics unconfirmed).
        Merge = 4 => "merge",
        /// `13`: LiDAR point-cloud reconstruction.
        Lidar = 13 => "LiDAR",
        /// `14`: 2D reconstruction (DOM/DSM).
        Map2d = 14 => "2D",
        /// `15`: 3D reconstruction (mesh and point cloud).
        Model3d = 15 => "3D",
    }
}

int_enum! {
    /// Job `status` (reference §4.2).
    ///
    /// ```
    /// use terra_types::JobStatus;
    /// assert!(JobStatus::Stopped.is_terminal());
    /// assert!(!JobStatus::ResultProcessing.is_terminal());
    /// assert!(JobStatus::Executing.can_stop());
    /// assert_eq!(JobStatus::Failed.to_string(), "failed (7)");
    /// ```
    pub enum JobStatus {
        /// `0`: created, waiting to be started.
        Created = 0 => "waiting for start",
        /// `1`: queued.
        Waiting = 1 => "waiting",
        /// `2`: preparing.
        Preparing = 2 => "preparing",
        /// `3`: executing.
        Executing = 3 => "executing",
        /// `4`: result processing (the output resource exists from here on).
        ResultProcessing = 4 => "result processing",
        /// `5`: stopped (terminal).
        Stopped = 5 => "stopped",
        /// `6`: finished successfully (terminal).
        Succeeded = 6 => "finished",
        /// `7`: failed; `message` explains (terminal).
        Failed = 7 => "failed",
    }
}

impl JobStatus {
    /// `true` for 5, 6 and 7. Clients that loop "while status < 6" never end on 5.
    ///
    /// ```
    /// use terra_types::JobStatus;
    /// assert!(JobStatus::Stopped.is_terminal());
    /// assert!(!JobStatus::ResultProcessing.is_terminal());
    /// ```
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Stopped | Self::Succeeded | Self::Failed)
    }

    /// Whether a stop is allowed: started and before result processing (`1..=3`).
    ///
    /// ```
    /// use terra_types::JobStatus;
    /// assert!(JobStatus::Executing.can_stop());
    /// assert!(!JobStatus::ResultProcessing.can_stop(), "too late to stop");
    /// ```
    pub const fn can_stop(self) -> bool {
        matches!(self, Self::Waiting | Self::Preparing | Self::Executing)
    }

    /// Started and not yet terminal (`1..=4`).
    ///
    /// ```
    /// use terra_types::JobStatus;
    /// assert!(JobStatus::ResultProcessing.is_running());
    /// assert!(!JobStatus::Created.is_running());
    /// ```
    pub const fn is_running(self) -> bool {
        matches!(
            self,
            Self::Waiting | Self::Preparing | Self::Executing | Self::ResultProcessing
        )
    }
}

/// The job object (reference §3.7). Fields that exist only after start are `None` before
/// and are omitted from the JSON (not `null`).
///
/// ```
/// use terra_types::{Job, JobStatus, JobType};
/// // A job that was created but not started: no start-time fields.
/// let job: Job = serde_json::from_str(r#"{
///   "uuid": "j-1", "name": "survey", "meta": "", "type": 0, "status": 0,
///   "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:00:00Z"
/// }"#).unwrap();
/// assert_eq!((job.job_type, job.status), (JobType::NotStarted, JobStatus::Created));
/// assert!(job.percentage.is_none());
/// assert!(!serde_json::to_string(&job).unwrap().contains("null"), "absent, not null");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Job {
    /// Job id.
    pub uuid: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// User extension info.
    #[serde(default)]
    pub meta: String,
    /// Job type (0 before start).
    #[serde(rename = "type", default = "not_started")]
    pub job_type: JobType,
    /// Status.
    pub status: JobStatus,
    /// RFC 3339 creation time.
    #[serde(rename = "createdAt", default)]
    pub created_at: String,
    /// RFC 3339 update time.
    #[serde(rename = "updatedAt", default)]
    pub updated_at: String,
    /// RFC 3339 start time.
    #[serde(rename = "startedAt", default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339 completion time (terminal states).
    #[serde(
        rename = "completedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<String>,
    /// Status or error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Input resource.
    #[serde(
        rename = "originResourceUuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub origin_resource_uuid: Option<String>,
    /// Result resource (`job_output`).
    #[serde(
        rename = "outputResourceUuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub output_resource_uuid: Option<String>,
    /// The parameter string that was submitted at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    /// Progress, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub percentage: Option<f64>,
    /// Total pixels processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub pixels: Option<f64>,
    /// Estimated seconds remaining.
    #[serde(
        rename = "remainSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub remain_seconds: Option<i64>,
}

fn not_started() -> JobType {
    JobType::NotStarted
}

/// Body of `POST /v2/jobs`.
///
/// ```
/// use terra_types::CreateJobRequest;
/// let body = serde_json::to_string(&CreateJobRequest::named("survey")).unwrap();
/// assert_eq!(body, r#"{"name":"survey"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CreateJobRequest {
    /// Job name (required).
    pub name: String,
    /// User extension info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
}

impl CreateJobRequest {
    /// A job with just a name.
    ///
    /// ```
    /// let req = terra_types::CreateJobRequest::named("quarry 3D");
    /// assert_eq!(req.name, "quarry 3D");
    /// assert!(req.meta.is_none());
    /// ```
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            meta: None,
        }
    }
}

/// Body of `POST /v2/jobs/{uuid}/start` (reference §3.7).
///
/// `parameters` is a JSON object **serialized into a string**; build it from typed
/// parameters with [`StartJobRequest::new`] and read it back with
/// [`StartJobRequest::parameters_as`].
///
/// ```
/// use terra_types::{JobParameters, JobType, Model3dParams, StartJobRequest};
/// let params = JobParameters::new(Model3dParams {
///     output_mesh: Some(true),
///     generate_obj: Some(true),
///     ..Default::default()
/// });
/// let start = StartJobRequest::new("res-1", &params).unwrap();
/// assert_eq!(start.job_type, JobType::Model3d);
/// assert_eq!(start.parameters, r#"{"parameter":{"output_mesh":true,"generate_obj":true}}"#);
/// let json = serde_json::to_string(&start).unwrap();
/// assert!(json.contains(r#""parameters":"{\"parameter\":{"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct StartJobRequest {
    /// 13 LiDAR, 14 2D, 15 3D, 4 merge.
    #[serde(rename = "type")]
    pub job_type: JobType,
    /// Input resource (spelled `resourceUuid` here).
    #[serde(rename = "resourceUuid")]
    pub resource_uuid: String,
    /// The serialized parameter object.
    pub parameters: String,
    /// Only for type 4: merge into this existing resource.
    #[serde(
        rename = "outputResourceUuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub output_resource_uuid: Option<String>,
}

impl StartJobRequest {
    /// A start request for typed parameters: the job type comes from the parameter set and
    /// the parameters are serialized once, compactly, into the string. The parameters are
    /// validated first, so nothing the documentation rules out is ever sent.
    ///
    /// ```
    /// use terra_types::{JobParameters, Model3dParams, StartJobRequest};
    /// let bad = JobParameters::new(Model3dParams { model_simplify: Some(0.01), ..Default::default() });
    /// let err = StartJobRequest::new("res-1", &bad).unwrap_err();
    /// assert_eq!(err.field, "parameter.model_simplify");
    /// ```
    pub fn new<P: ParameterSet>(
        resource_uuid: impl Into<String>,
        params: &JobParameters<P>,
    ) -> Result<Self, crate::ValidationError> {
        params.validate()?;
        Ok(Self {
            job_type: P::JOB_TYPE,
            resource_uuid: resource_uuid.into(),
            parameters: params.to_json_string(),
            output_resource_uuid: None,
        })
    }

    /// Parses the parameter string as a typed parameter set (field paths in the error).
    ///
    /// ```
    /// use terra_types::{JobParameters, Map2dParams, MapMode, StartJobRequest};
    /// let sent = JobParameters::new(Map2dParams { map_mode: Some(MapMode::Orchard), ..Default::default() });
    /// let start = StartJobRequest::new("res-1", &sent).unwrap();
    /// let back: JobParameters<Map2dParams> = start.parameters_as().unwrap();
    /// assert_eq!(back, sent);
    /// ```
    pub fn parameters_as<P: ParameterSet>(
        &self,
    ) -> Result<JobParameters<P>, crate::ValidationError> {
        JobParameters::from_json_str(&self.parameters)
    }
}
