//! The algorithm parameters of a start-job request (reference §5).
//!
//! On the wire they are a JSON object serialized into a *string*:
//! `{"parameter":{...},"predefine_AOI":{...},"export_parameter":{...}}`. Every struct here
//! keeps the keys it does not model in an `extra` map, so new or undocumented settings pass
//! through unchanged. [`JobParameters::validate`] rejects what the documentation rules out,
//! naming the field.
//!
//! Files: `enums.rs` (the coded values), `common.rs` (the sections every job type shares:
//! the common section, geo-desc, `predefine_AOI`, `export_parameter`), and one file per job
//! type (`map2d.rs`, `model3d.rs`, `lidar.rs`); here, the error, the [`ParameterSet`]
//! trait and the whole parameter object.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::JobType;

mod common;
mod enums;

pub use common::*;
pub use enums::*;
pub use lidar::*;
pub use map2d::*;
pub use model3d::*;

/// A parameter that the documentation rules out, with the JSON path of the field.
///
/// ```
/// use terra_types::{JobParameters, Model3dParams};
/// let params = JobParameters::new(Model3dParams { model_simplify: Some(2.0), ..Default::default() });
/// let err = params.validate().unwrap_err();
/// assert_eq!(err.field, "parameter.model_simplify");
/// assert_eq!(err.to_string(), "invalid parameter `parameter.model_simplify`: must be within [0.05, 1], got 2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter `{field}`: {message}")]
pub struct ValidationError {
    /// Dotted JSON path, e.g. `parameter.quality_level`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ValidationError {
    /// A new error for `field`.
    ///
    /// ```
    /// let e = terra_types::ValidationError::new("parameter.dem_resolution", "must be positive");
    /// assert_eq!(e.to_string(), "invalid parameter `parameter.dem_resolution`: must be positive");
    /// ```
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    fn under(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

type Checked = Result<(), ValidationError>;

fn fail(field: &str, message: impl Into<String>) -> Checked {
    Err(ValidationError::new(field, message))
}

fn known<T: std::fmt::Display>(
    field: &str,
    value: &Option<T>,
    is_known: impl Fn(&T) -> bool,
    allowed: &str,
) -> Checked {
    match value {
        Some(v) if !is_known(v) => fail(field, format!("must be one of {allowed}, got {v}")),
        _ => Ok(()),
    }
}

fn positive(field: &str, value: Option<f64>) -> Checked {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => {
            fail(field, format!("must be a positive number, got {v}"))
        }
        _ => Ok(()),
    }
}

fn finite(field: &str, value: Option<f64>) -> Checked {
    match value {
        Some(v) if !v.is_finite() => fail(field, format!("must be a finite number, got {v}")),
        _ => Ok(()),
    }
}
/// A typed `parameter` section: one per job type.
///
/// ```
/// use terra_types::{JobType, LidarParams, Map2dParams, ParameterSet};
/// fn job_type_of<P: ParameterSet>() -> JobType {
///     P::JOB_TYPE
/// }
/// assert_eq!(job_type_of::<Map2dParams>(), JobType::Map2d);
/// assert_eq!(job_type_of::<LidarParams>(), JobType::Lidar);
/// ```
pub trait ParameterSet:
    Serialize + DeserializeOwned + Clone + PartialEq + Default + std::fmt::Debug + Send + Sync + 'static
{
    /// The job type these parameters are for.
    const JOB_TYPE: JobType;

    /// Checks the rules of the documentation. Paths are relative to `parameter`.
    fn validate(&self) -> Result<(), ValidationError>;

    /// The common section.
    fn common(&self) -> &CommonParams;

    /// Every key this section knows, the common section's included, as spelled on the
    /// wire (what an unknown key is compared with to suggest one).
    const KEYS: &'static [&'static str];

    /// Keys that no field took (kept so that nothing is lost; see [`JobParameters::unknown_keys`]).
    fn extra(&self) -> &Map<String, Value>;

    /// `output_geo_desc`, when the job type has one and it is set.
    fn output_geo_desc(&self) -> Option<&GeoDesc>;
}

/// The keys of [`CommonParams`] on the wire followed by a section's own keys, as one
/// `&'static` list.
macro_rules! keys {
    ($($k:literal),* $(,)?) => {{
        const ALL: &[&str] = &[
            "SfM_method",
            "sfm_feature_quantity_level",
            "use_image_position",
            "generate_blocks_exchange_xml",
            "blocks_exchange_xml_geo_desc",
            "output_pointcloud",
            "generate_pnts",
            "generate_las",
            "generate_point_s3mb",
            "generate_point_ply",
            "generate_pcd",
            "merge_point",
            $($k),*
        ];
        ALL
    }};
}

mod lidar;
mod map2d;
mod model3d;

/// The whole parameter object of a start request, generic over the `parameter` section.
///
/// ```
/// use terra_types::{JobParameters, LidarParams, QualityLevel};
/// let p: JobParameters<LidarParams> = JobParameters::from_json_str(
///     r#"{"parameter":{"quality_level":1,"sample_distance":0.1}}"#,
/// ).unwrap();
/// let err = p.validate().unwrap_err();
/// assert_eq!(err.field, "parameter.sample_distance");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "JobParameters_{P}"))]
#[cfg_attr(
    feature = "schema",
    schemars(bound = "P: schemars::JsonSchema + Default + Serialize")
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(bound(deserialize = "P: DeserializeOwned + Default"))]
pub struct JobParameters<P> {
    /// The settings of the job type.
    #[serde(default)]
    pub parameter: P,
    /// Region of interest (2D and 3D only).
    #[serde(
        rename = "predefine_AOI",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub predefine_aoi: Option<PredefineAoi>,
    /// Output layout and content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_parameter: Option<ExportParameter>,
    /// Top-level keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl<P: ParameterSet> JobParameters<P> {
    /// Parameters with only a `parameter` section.
    ///
    /// ```
    /// use terra_types::{JobParameters, Map2dParams};
    /// let p = JobParameters::new(Map2dParams::default());
    /// assert_eq!(p.to_json_string(), r#"{"parameter":{}}"#);
    /// ```
    pub fn new(parameter: P) -> Self {
        Self {
            parameter,
            predefine_aoi: None,
            export_parameter: None,
            extra: Map::new(),
        }
    }

    /// Checks every section against the documentation.
    ///
    /// ```
    /// use terra_types::{JobParameters, Map2dParams};
    /// let p = JobParameters::new(Map2dParams { dom_tile_size: Some(255), ..Default::default() });
    /// let err = p.validate().unwrap_err();
    /// assert_eq!(err.field, "parameter.dom_tile_size");
    /// ```
    pub fn validate(&self) -> Checked {
        self.parameter
            .validate()
            .map_err(|e| e.under("parameter"))?;
        if let Some(aoi) = &self.predefine_aoi {
            aoi.validate().map_err(|e| e.under("predefine_AOI"))?;
        }
        if let Some(export) = &self.export_parameter
            && P::JOB_TYPE == JobType::Lidar
            && export.undistort_images == Some(true)
        {
            return fail(
                "export_parameter.undistort_images",
                "undistorted images are not available for LiDAR jobs",
            );
        }
        Ok(())
    }

    /// The compact JSON text sent in [`crate::StartJobRequest::parameters`].
    ///
    /// ```
    /// use terra_types::{JobParameters, LidarParams};
    /// let mut p = JobParameters::new(LidarParams { smooth_point: Some(true), ..Default::default() });
    /// p.extra.insert("future_switch".into(), serde_json::json!(1)); // keys terra-types does not model
    /// assert_eq!(p.to_json_string(), r#"{"parameter":{"smooth_point":true},"future_switch":1}"#);
    /// ```
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).expect("parameters serialize to JSON")
    }

    /// Parses the parameter string; a type error names the JSON path of the field.
    ///
    /// ```
    /// use terra_types::{JobParameters, Map2dParams};
    /// let err = JobParameters::<Map2dParams>::from_json_str(r#"{"parameter":{"use_Wallis":"yes"}}"#).unwrap_err();
    /// assert_eq!(err.field, "parameter.use_Wallis"); // the wire spelling
    /// ```
    pub fn from_json_str(s: &str) -> Result<Self, ValidationError> {
        parse_json(s)
    }
}

fn parse_json<T: DeserializeOwned>(s: &str) -> Result<T, ValidationError> {
    let de = &mut serde_json::Deserializer::from_str(s);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        ValidationError::new(
            if path.is_empty() {
                "parameters".to_owned()
            } else {
                path
            },
            format!("cannot be parsed: {inner}"),
        )
    })
}

/// Validates the parameter string of a start request for `job_type`, as the service does
/// before a job starts. Type 4 (merge) accepts any JSON object.
///
/// ```
/// use terra_types::{validate_start_parameters, JobType};
/// assert!(validate_start_parameters(JobType::Map2d, r#"{"parameter":{"map_mode":1}}"#).is_ok());
/// let err = validate_start_parameters(JobType::Map2d, r#"{"parameter":{"map_mode":7}}"#).unwrap_err();
/// assert_eq!(err.field, "parameter.map_mode");
/// let err = validate_start_parameters(JobType::Map2d, r#"[1,2]"#).unwrap_err();
/// assert_eq!(err.field, "parameters");
/// ```
pub fn validate_start_parameters(job_type: JobType, parameters: &str) -> Checked {
    fn typed<P: ParameterSet>(s: &str) -> Checked {
        JobParameters::<P>::from_json_str(s)?.validate()
    }
    match job_type {
        JobType::Map2d => typed::<Map2dParams>(parameters),
        JobType::Model3d => typed::<Model3dParams>(parameters),
        JobType::Lidar => typed::<LidarParams>(parameters),
        JobType::Merge => parse_json::<Map<String, Value>>(parameters).map(drop),
        other => fail(
            "type",
            format!(
                "must be 13 (LiDAR), 14 (2D), 15 (3D) or 4 (merge), got {}",
                other.code()
            ),
        ),
    }
}
