//! `parameter` of a 2D reconstruction.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::*;

/// `parameter` of a 2D reconstruction (`type` 14, reference §5.3).
///
/// ```
/// use terra_types::{GeoDesc, JobParameters, Map2dParams, MapMode, QualityLevel};
/// let p = JobParameters::new(Map2dParams {
///     map_mode: Some(MapMode::Urban),
///     quality_level: Some(QualityLevel::High),
///     output_geo_desc: Some(GeoDesc::geo_cs("EPSG:32650")),
///     ..Default::default()
/// });
/// assert_eq!(
///     p.to_json_string(),
///     r#"{"parameter":{"map_mode":1,"quality_level":1,"output_geo_desc":{"cs_type":"GEO_CS","geo_cs":"EPSG:32650"}}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Map2dParams {
    /// The common section.
    #[serde(flatten)]
    pub common: CommonParams,
    /// Farmland, urban or orchard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_mode: Option<MapMode>,
    /// High, medium or low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_level: Option<QualityLevel>,
    /// Even out brightness within each image.
    #[serde(
        rename = "use_Wallis",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_wallis: Option<bool>,
    /// Dehaze images taken in fog or haze.
    #[serde(
        rename = "use_Dehaze",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_dehaze: Option<bool>,
    /// Map tiles in GCJ-02.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_gcj02: Option<bool>,
    /// `> 0`: tiled DOM with tiles of this many pixels (a multiple of 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dom_tile_size: Option<i64>,
    /// Output CS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_geo_desc: Option<GeoDesc>,
    /// Keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl ParameterSet for Map2dParams {
    const JOB_TYPE: JobType = JobType::Map2d;

    fn validate(&self) -> Checked {
        self.common.validate()?;
        known(
            "map_mode",
            &self.map_mode,
            |v| v.is_known(),
            "0 (farmland), 1 (urban), 2 (orchard)",
        )?;
        known(
            "quality_level",
            &self.quality_level,
            |v| v.is_known(),
            "1 (high), 2 (medium), 3 (low)",
        )?;
        if let Some(t) = self.dom_tile_size
            && (t < 0 || t % 2 != 0)
        {
            return fail(
                "dom_tile_size",
                format!("must be 0 (no tiles) or a positive multiple of 2, got {t}"),
            );
        }
        geo("output_geo_desc", &self.output_geo_desc)
    }

    fn common(&self) -> &CommonParams {
        &self.common
    }

    const KEYS: &'static [&'static str] = keys!(
        "map_mode",
        "quality_level",
        "use_Wallis",
        "use_Dehaze",
        "use_gcj02",
        "dom_tile_size",
        "output_geo_desc"
    );

    fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    fn output_geo_desc(&self) -> Option<&GeoDesc> {
        self.output_geo_desc.as_ref()
    }
}
