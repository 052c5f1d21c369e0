//! `parameter` of a LiDAR reconstruction.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::*;

/// `parameter` of a LiDAR reconstruction (`type` 13, reference §5.5).
///
/// ```
/// use terra_types::{JobParameters, LidarParams};
/// let p = JobParameters::new(LidarParams {
///     generate_dem: Some(true),
///     dem_resolution: Some(0.5),
///     ..Default::default()
/// });
/// assert!(p.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LidarParams {
    /// The common section (clients send it for LiDAR too).
    #[serde(flatten)]
    pub common: CommonParams,
    /// Colour the points from the photos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colorize_point: Option<bool>,
    /// Optimise trajectory and point-cloud accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpp_optimise: Option<bool>,
    /// Refinement/calibration option (semantics unconfirmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub refine_calibrate: Option<f64>,
    /// Drop points beyond this range, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub lidar_point_max_distance: Option<f64>,
    /// Point-cloud smoothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_point: Option<bool>,
    /// Spatial down-sampling distance; excludes `quality_level`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub sample_distance: Option<f64>,
    /// Constant height offset of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub output_height_offset: Option<f64>,
    /// Time-based down-sampling; excludes `sample_distance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_level: Option<QualityLevel>,
    /// Output CS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_geo_desc: Option<GeoDesc>,
    /// Classify ground points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_extract: Option<bool>,
    /// Terrain of the ground filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_type: Option<SceneType>,
    /// Largest building size for ground filtering, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub max_size_building: Option<f64>,
    /// Iteration distance of the ground filter, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub iter_dist: Option<f64>,
    /// Iteration angle of the ground filter, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub iter_angle: Option<f64>,
    /// Produce a DEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_dem: Option<bool>,
    /// DEM cell size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub dem_resolution: Option<f64>,
    /// Keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl ParameterSet for LidarParams {
    const JOB_TYPE: JobType = JobType::Lidar;

    fn validate(&self) -> Checked {
        self.common.validate()?;
        known(
            "quality_level",
            &self.quality_level,
            |v| v.is_known(),
            "1 (100 %), 2 (25 %), 3 (6.25 %)",
        )?;
        positive("sample_distance", self.sample_distance)?;
        if self.sample_distance.is_some() && self.quality_level.is_some() {
            return fail(
                "sample_distance",
                "cannot be combined with `quality_level`: use one or the other",
            );
        }
        known(
            "scene_type",
            &self.scene_type,
            |v| v.is_known(),
            "0 (flat), 1 (slope), 2 (gentle slope)",
        )?;
        positive("lidar_point_max_distance", self.lidar_point_max_distance)?;
        positive("max_size_building", self.max_size_building)?;
        positive("iter_dist", self.iter_dist)?;
        if let Some(a) = self.iter_angle
            && !(a.is_finite() && a > 0.0 && a < 90.0)
        {
            return fail(
                "iter_angle",
                format!("must be an angle in degrees within (0, 90), got {a}"),
            );
        }
        positive("dem_resolution", self.dem_resolution)?;
        finite("refine_calibrate", self.refine_calibrate)?;
        finite("output_height_offset", self.output_height_offset)?;
        geo("output_geo_desc", &self.output_geo_desc)
    }

    fn common(&self) -> &CommonParams {
        &self.common
    }

    const KEYS: &'static [&'static str] = keys!(
        "colorize_point",
        "lpp_optimise",
        "refine_calibrate",
        "lidar_point_max_distance",
        "smooth_point",
        "sample_distance",
        "output_height_offset",
        "quality_level",
        "output_geo_desc",
        "ground_extract",
        "scene_type",
        "max_size_building",
        "iter_dist",
        "iter_angle",
        "generate_dem",
        "dem_resolution"
    );

    fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    fn output_geo_desc(&self) -> Option<&GeoDesc> {
        self.output_geo_desc.as_ref()
    }
}
