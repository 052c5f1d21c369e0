//! The algorithm parameters of a start-job request (reference §5).
//!
//! On the wire they are a JSON object serialized into a *string*:
//! `{"parameter":{...},"predefine_AOI":{...},"export_parameter":{...}}`. Every struct here
//! keeps the keys it does not model in an `extra` map, so new or undocumented settings pass
//! through unchanged. [`JobParameters::validate`] rejects what the documentation rules out,
//! naming the field.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::JobType;
use crate::macros::{int_enum, str_enum};

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

int_enum! {
    /// `quality_level`: 1 high, 2 medium, 3 low (for LiDAR: time-based down-sampling to
    /// 100 %, 25 %, 6.25 %).
    ///
    /// ```
    /// use terra_types::{JobParameters, LidarParams, QualityLevel};
    /// let p = JobParameters::new(LidarParams { quality_level: Some(QualityLevel::Medium), ..Default::default() });
    /// assert_eq!(p.to_json_string(), r#"{"parameter":{"quality_level":2}}"#);
    /// ```
    pub enum QualityLevel {
        /// `1`
        High = 1 => "high",
        /// `2`
        Medium = 2 => "medium",
        /// `3`
        Low = 3 => "low",
    }
}

int_enum! {
    /// `sfm_feature_quantity_level`: maximum feature points per image.
    ///
    /// ```
    /// use terra_types::{CommonParams, FeatureQuantity};
    /// let c = CommonParams { sfm_feature_quantity_level: Some(FeatureQuantity::High), ..Default::default() };
    /// assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"sfm_feature_quantity_level":1}"#);
    /// ```
    pub enum FeatureQuantity {
        /// `1`: 40 000.
        High = 1 => "40k features",
        /// `2`: 20 000 (default).
        Medium = 2 => "20k features",
        /// `3`: 9 000.
        Low = 3 => "9k features",
    }
}

int_enum! {
    /// 2D `map_mode`.
    ///
    /// ```
    /// assert_eq!(terra_types::MapMode::from_code(2), terra_types::MapMode::Orchard);
    /// ```
    pub enum MapMode {
        /// `0`: farmland.
        Farmland = 0 => "farmland",
        /// `1`: urban.
        Urban = 1 => "urban",
        /// `2`: orchard.
        Orchard = 2 => "orchard",
    }
}

int_enum! {
    /// LiDAR ground extraction `scene_type` (order as given by the source).
    ///
    /// ```
    /// use terra_types::{LidarParams, SceneType};
    /// let p = LidarParams { ground_extract: Some(true), scene_type: Some(SceneType::Slope), ..Default::default() };
    /// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"ground_extract":true,"scene_type":1}"#);
    /// ```
    pub enum SceneType {
        /// `0`: flat ground.
        Flat = 0 => "flat ground",
        /// `1`: slope.
        Slope = 1 => "slope",
        /// `2`: gentle slope.
        GentleSlope = 2 => "gentle slope",
    }
}

str_enum! {
    /// `SfM_method`: aerotriangulation strategy.
    ///
    /// ```
    /// use terra_types::{CommonParams, SfmMethod};
    /// // Photos without GPS.
    /// let c = CommonParams { sfm_method: Some(SfmMethod::Incremental), ..Default::default() };
    /// assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"SfM_method":"INCREMENTAL"}"#);
    /// ```
    pub enum SfmMethod (case_insensitive = false) {
        /// Recommended when most images have precise RTK positions (default).
        Global = "GLOBAL",
        /// Recommended when images have no GPS.
        Incremental = "INCREMENTAL",
    }
}

str_enum! {
    /// `cs_type` of a geo-desc object.
    ///
    /// ```
    /// use terra_types::CsType;
    /// assert_eq!(CsType::parse("LOCAL_ENU_CS"), CsType::LocalEnuCs);
    /// assert!(!CsType::parse("local_enu_cs").is_known(), "case matters here");
    /// ```
    pub enum CsType (case_insensitive = false) {
        /// A geographic or projected CS (`geo_cs` or `geo_cs_wkt`).
        GeoCs = "GEO_CS",
        /// An arbitrary local CS.
        LocalCs = "LOCAL_CS",
        /// A local east-north-up CS around `ref_GPS`.
        LocalEnuCs = "LOCAL_ENU_CS",
    }
}

/// `ref_GPS` of a `LOCAL_ENU_CS` geo-desc.
///
/// ```
/// use terra_types::{CsType, GeoDesc, RefGps};
/// let enu = GeoDesc {
///     cs_type: Some(CsType::LocalEnuCs),
///     ref_gps: Some(RefGps { latitude: 22.54, longitude: 113.95, altitude: 30.0 }),
///     ..Default::default()
/// };
/// assert!(enu.validate().is_ok());
/// let far_north = GeoDesc { ref_gps: Some(RefGps { latitude: 95.0, ..Default::default() }), ..enu };
/// assert_eq!(far_north.validate().unwrap_err().field, "ref_GPS.latitude");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RefGps {
    /// Degrees, -90 to 90.
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub latitude: f64,
    /// Degrees, -180 to 180.
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub longitude: f64,
    /// Metres.
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub altitude: f64,
}

/// A geo-desc object (reference §5.7). `{}` (all `None`) means "choose automatically".
///
/// ```
/// use terra_types::GeoDesc;
/// let utm = GeoDesc::geo_cs("EPSG:32650");
/// assert_eq!(serde_json::to_string(&utm).unwrap(), r#"{"cs_type":"GEO_CS","geo_cs":"EPSG:32650"}"#);
/// assert!(utm.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GeoDesc {
    /// `GEO_CS`, `LOCAL_CS` or `LOCAL_ENU_CS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cs_type: Option<CsType>,
    /// E.g. `EPSG:32650`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_cs: Option<String>,
    /// E.g. `EPSG:5773`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_vertical_cs: Option<String>,
    /// The CS as WKT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_cs_wkt: Option<String>,
    /// Origin of a `LOCAL_ENU_CS`.
    #[serde(rename = "ref_GPS", default, skip_serializing_if = "Option::is_none")]
    pub ref_gps: Option<RefGps>,
    /// Offset `[x, y, z]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::point())")
    )]
    pub offset: Option<[f64; 3]>,
    /// Keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl GeoDesc {
    /// The keys of a geo-desc object on the wire.
    pub const KEYS: &'static [&'static str] = &[
        "cs_type",
        "geo_cs",
        "override_vertical_cs",
        "geo_cs_wkt",
        "ref_GPS",
        "offset",
    ];

    /// A `GEO_CS` with an identifier such as `EPSG:4326`.
    ///
    /// ```
    /// let wgs84 = terra_types::GeoDesc::geo_cs("EPSG:4326");
    /// assert_eq!(wgs84.geo_cs.as_deref(), Some("EPSG:4326"));
    /// ```
    pub fn geo_cs(id: impl Into<String>) -> Self {
        Self {
            cs_type: Some(CsType::GeoCs),
            geo_cs: Some(id.into()),
            ..Default::default()
        }
    }

    /// Whether this is `{}`: "choose automatically".
    ///
    /// ```
    /// use terra_types::GeoDesc;
    /// assert!(GeoDesc::default().is_auto());
    /// assert_eq!(serde_json::to_string(&GeoDesc::default()).unwrap(), "{}");
    /// assert!(!GeoDesc::geo_cs("EPSG:4326").is_auto());
    /// ```
    pub fn is_auto(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the members against the CS type. Paths are relative to this object.
    ///
    /// ```
    /// use terra_types::{CsType, GeoDesc};
    /// let missing = GeoDesc { cs_type: Some(CsType::GeoCs), ..Default::default() };
    /// assert_eq!(missing.validate().unwrap_err().field, "geo_cs");
    /// ```
    pub fn validate(&self) -> Checked {
        let Some(cs) = &self.cs_type else {
            if self.is_auto() {
                return Ok(());
            }
            return fail(
                "cs_type",
                "is required when other geo-desc members are set (or use {} for automatic)",
            );
        };
        known(
            "cs_type",
            &self.cs_type,
            CsType::is_known,
            "GEO_CS, LOCAL_CS, LOCAL_ENU_CS",
        )?;
        let non_empty = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        if *cs == CsType::GeoCs && !non_empty(&self.geo_cs) && !non_empty(&self.geo_cs_wkt) {
            return fail(
                "geo_cs",
                "GEO_CS needs `geo_cs` (e.g. \"EPSG:4326\") or `geo_cs_wkt`",
            );
        }
        if *cs == CsType::LocalEnuCs && self.ref_gps.is_none() {
            return fail(
                "ref_GPS",
                "LOCAL_ENU_CS needs `ref_GPS` {latitude, longitude, altitude}",
            );
        }
        if let Some(r) = &self.ref_gps {
            if !(r.latitude.is_finite() && (-90.0..=90.0).contains(&r.latitude)) {
                return fail(
                    "ref_GPS.latitude",
                    format!("must be within [-90, 90], got {}", r.latitude),
                );
            }
            if !(r.longitude.is_finite() && (-180.0..=180.0).contains(&r.longitude)) {
                return fail(
                    "ref_GPS.longitude",
                    format!("must be within [-180, 180], got {}", r.longitude),
                );
            }
            finite("ref_GPS.altitude", Some(r.altitude))?;
        }
        if let Some(o) = &self.offset {
            for (i, v) in o.iter().enumerate() {
                finite(&format!("offset[{i}]"), Some(*v))?;
            }
        }
        Ok(())
    }
}

fn geo(field: &str, g: &Option<GeoDesc>) -> Checked {
    match g {
        Some(g) => g.validate().map_err(|e| e.under(field)),
        None => Ok(()),
    }
}

/// The common section shared by 2D, 3D and (as clients send it) LiDAR (reference §5.2).
/// Defaults noted here are the documented ones; `None` leaves the choice to the service.
///
/// ```
/// use terra_types::{CommonParams, JobParameters, Model3dParams};
/// let p = JobParameters::new(Model3dParams {
///     common: CommonParams { output_pointcloud: Some(true), generate_las: Some(true), ..Default::default() },
///     ..Default::default()
/// });
/// assert_eq!(p.to_json_string(), r#"{"parameter":{"output_pointcloud":true,"generate_las":true}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CommonParams {
    /// Aerotriangulation method (default `GLOBAL`).
    #[serde(
        rename = "SfM_method",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sfm_method: Option<SfmMethod>,
    /// Feature points per image (default 2 = 20k).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfm_feature_quantity_level: Option<FeatureQuantity>,
    /// Use the positions recorded in the images (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_image_position: Option<bool>,
    /// Also output `BlocksExchange.xml` (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_blocks_exchange_xml: Option<bool>,
    /// CS of that XML (default `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_exchange_xml_geo_desc: Option<GeoDesc>,
    /// Master switch of the point-cloud outputs (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_pointcloud: Option<bool>,
    /// pnts LOD point cloud (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_pnts: Option<bool>,
    /// LAS point cloud (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_las: Option<bool>,
    /// s3mb point cloud (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_point_s3mb: Option<bool>,
    /// PLY point cloud (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_point_ply: Option<bool>,
    /// PCD point cloud (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_pcd: Option<bool>,
    /// Merge the point cloud into one file (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_point: Option<bool>,
}

impl CommonParams {
    fn validate(&self) -> Checked {
        known(
            "SfM_method",
            &self.sfm_method,
            SfmMethod::is_known,
            "GLOBAL, INCREMENTAL",
        )?;
        known(
            "sfm_feature_quantity_level",
            &self.sfm_feature_quantity_level,
            |v| v.is_known(),
            "1, 2, 3",
        )?;
        geo(
            "blocks_exchange_xml_geo_desc",
            &self.blocks_exchange_xml_geo_desc,
        )
    }

    /// Whether the point-cloud outputs are on, and `generate_pnts` (default true) with them.
    ///
    /// ```
    /// use terra_types::CommonParams;
    /// let c = CommonParams { output_pointcloud: Some(true), generate_las: Some(true), ..Default::default() };
    /// let f = c.pointcloud_formats();
    /// assert!(f.pnts && f.las, "pnts is on by default once point clouds are");
    /// assert!(!CommonParams::default().pointcloud_formats().pnts, "off without the master switch");
    /// ```
    pub fn pointcloud_formats(&self) -> PointcloudFormats {
        let on = self.output_pointcloud.unwrap_or(false);
        PointcloudFormats {
            pnts: on && self.generate_pnts.unwrap_or(true),
            las: on && self.generate_las.unwrap_or(false),
            s3mb: on && self.generate_point_s3mb.unwrap_or(false),
            ply: on && self.generate_point_ply.unwrap_or(false),
            pcd: on && self.generate_pcd.unwrap_or(false),
            merged: self.merge_point.unwrap_or(false),
        }
    }
}

/// The point-cloud formats a parameter set asks for, defaults applied.
///
/// ```
/// let f = terra_types::CommonParams::default().pointcloud_formats();
/// assert_eq!(f, terra_types::PointcloudFormats::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PointcloudFormats {
    /// pnts LOD.
    pub pnts: bool,
    /// LAS.
    pub las: bool,
    /// s3mb.
    pub s3mb: bool,
    /// PLY.
    pub ply: bool,
    /// PCD.
    pub pcd: bool,
    /// One merged file.
    pub merged: bool,
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

/// `parameter` of a 3D reconstruction (`type` 15, reference §5.4).
///
/// ```
/// use terra_types::{JobParameters, Model3dParams};
/// let p = JobParameters::new(Model3dParams {
///     output_mesh: Some(true),
///     generate_b3dm: Some(true),
///     model_simplify: Some(0.5),
///     ..Default::default()
/// });
/// assert!(p.validate().is_ok());
/// assert_eq!(
///     p.to_json_string(),
///     r#"{"parameter":{"output_mesh":true,"generate_b3dm":true,"model_simplify":0.5}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Model3dParams {
    /// The common section.
    #[serde(flatten)]
    pub common: CommonParams,
    /// Master switch of the textured-model outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_mesh: Option<bool>,
    /// Textured model in PLY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_ply: Option<bool>,
    /// Textured model in OBJ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_obj: Option<bool>,
    /// LOD mesh in b3dm / 3D Tiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_b3dm: Option<bool>,
    /// LOD mesh in OSGB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_osgb: Option<bool>,
    /// LOD mesh in s3mb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_s3mb: Option<bool>,
    /// LOD mesh in I3S.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_i3s: Option<bool>,
    /// Smooth water surfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub water_refine: Option<bool>,
    /// Fraction of faces kept, `[0.05, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub model_simplify: Option<f64>,
    /// Clip outputs to the AOI.
    #[serde(rename = "cut_AOI", default, skip_serializing_if = "Option::is_none")]
    pub cut_aoi: Option<bool>,
    /// High, medium or low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_level: Option<QualityLevel>,
    /// Output CS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_geo_desc: Option<GeoDesc>,
    /// Keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl ParameterSet for Model3dParams {
    const JOB_TYPE: JobType = JobType::Model3d;

    fn validate(&self) -> Checked {
        self.common.validate()?;
        if let Some(s) = self.model_simplify
            && !(s.is_finite() && (0.05..=1.0).contains(&s))
        {
            return fail(
                "model_simplify",
                format!("must be within [0.05, 1], got {s}"),
            );
        }
        known(
            "quality_level",
            &self.quality_level,
            |v| v.is_known(),
            "1 (high), 2 (medium), 3 (low)",
        )?;
        geo("output_geo_desc", &self.output_geo_desc)
    }

    fn common(&self) -> &CommonParams {
        &self.common
    }

    const KEYS: &'static [&'static str] = keys!(
        "output_mesh",
        "generate_ply",
        "generate_obj",
        "generate_b3dm",
        "generate_osgb",
        "generate_s3mb",
        "generate_i3s",
        "water_refine",
        "model_simplify",
        "cut_AOI",
        "quality_level",
        "output_geo_desc"
    );

    fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    fn output_geo_desc(&self) -> Option<&GeoDesc> {
        self.output_geo_desc.as_ref()
    }
}

impl Model3dParams {
    /// The mesh formats asked for (all off unless `output_mesh` is true).
    ///
    /// ```
    /// use terra_types::Model3dParams;
    /// let p = Model3dParams { generate_obj: Some(true), ..Default::default() };
    /// assert!(!p.mesh_formats().obj, "off without output_mesh");
    /// let p = Model3dParams { output_mesh: Some(true), ..p };
    /// assert!(p.mesh_formats().obj);
    /// ```
    pub fn mesh_formats(&self) -> MeshFormats {
        let on = self.output_mesh.unwrap_or(false);
        let f = |v: Option<bool>| on && v.unwrap_or(false);
        MeshFormats {
            ply: f(self.generate_ply),
            obj: f(self.generate_obj),
            b3dm: f(self.generate_b3dm),
            osgb: f(self.generate_osgb),
            s3mb: f(self.generate_s3mb),
            i3s: f(self.generate_i3s),
        }
    }
}

impl Model3dParams {
    /// The `generate_*` model formats asked for while the `output_mesh` master switch is
    /// off: DJI produces none of them (reference §5.4), which is easy to miss.
    ///
    /// ```
    /// use terra_types::Model3dParams;
    /// let p = Model3dParams { generate_obj: Some(true), generate_b3dm: Some(true), ..Default::default() };
    /// assert_eq!(p.ignored_mesh_formats(), ["generate_obj", "generate_b3dm"]);
    /// let on = Model3dParams { output_mesh: Some(true), ..p };
    /// assert!(on.ignored_mesh_formats().is_empty());
    /// ```
    pub fn ignored_mesh_formats(&self) -> Vec<&'static str> {
        if self.output_mesh.unwrap_or(false) {
            return Vec::new();
        }
        [
            ("generate_ply", self.generate_ply),
            ("generate_obj", self.generate_obj),
            ("generate_b3dm", self.generate_b3dm),
            ("generate_osgb", self.generate_osgb),
            ("generate_s3mb", self.generate_s3mb),
            ("generate_i3s", self.generate_i3s),
        ]
        .into_iter()
        .filter(|(_, on)| on.unwrap_or(false))
        .map(|(name, _)| name)
        .collect()
    }
}

/// The mesh formats a 3D parameter set asks for.
///
/// ```
/// let none = terra_types::Model3dParams::default().mesh_formats();
/// assert_eq!(none, terra_types::MeshFormats::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeshFormats {
    /// PLY.
    pub ply: bool,
    /// OBJ.
    pub obj: bool,
    /// b3dm / 3D Tiles.
    pub b3dm: bool,
    /// OSGB.
    pub osgb: bool,
    /// s3mb.
    pub s3mb: bool,
    /// I3S.
    pub i3s: bool,
}

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

/// `predefine_AOI`: a region of interest (2D and 3D only, reference §5.6).
///
/// ```
/// use terra_types::{GeoDesc, JobParameters, Map2dParams, PredefineAoi};
/// let mut p = JobParameters::new(Map2dParams::default());
/// p.predefine_aoi = Some(PredefineAoi {
///     polygon_points: vec![[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [100.0, 100.0, 0.0]],
///     geo_desc: Some(GeoDesc::geo_cs("EPSG:32650")),
///     ..Default::default()
/// });
/// assert!(p.validate().is_ok());
/// p.predefine_aoi.as_mut().unwrap().polygon_points.truncate(2);
/// assert_eq!(p.validate().unwrap_err().field, "predefine_AOI.polygon_points");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PredefineAoi {
    /// Polygon vertices `[x, y, z]` in `geo_desc` coordinates (at least 3).
    #[serde(default)]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::collection::vec(crate::proptest_support::point(), 0..6)")
    )]
    pub polygon_points: Vec<[f64; 3]>,
    /// Lower vertical limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub min_altitude: Option<f64>,
    /// Upper vertical limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::option::of(crate::proptest_support::finite_f64())")
    )]
    pub max_altitude: Option<f64>,
    /// CS of the polygon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_desc: Option<GeoDesc>,
    /// Keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl PredefineAoi {
    /// The keys of `predefine_AOI` on the wire.
    pub const KEYS: &'static [&'static str] =
        &["polygon_points", "min_altitude", "max_altitude", "geo_desc"];

    fn validate(&self) -> Checked {
        if self.polygon_points.len() < 3 {
            return fail(
                "polygon_points",
                format!(
                    "a polygon needs at least 3 points, got {}",
                    self.polygon_points.len()
                ),
            );
        }
        for (i, p) in self.polygon_points.iter().enumerate() {
            if p.iter().any(|v| !v.is_finite()) {
                return fail(
                    &format!("polygon_points[{i}]"),
                    "coordinates must be finite numbers",
                );
            }
        }
        finite("min_altitude", self.min_altitude)?;
        finite("max_altitude", self.max_altitude)?;
        if let (Some(lo), Some(hi)) = (self.min_altitude, self.max_altitude)
            && lo > hi
        {
            return fail(
                "min_altitude",
                format!("must not exceed max_altitude ({lo} > {hi})"),
            );
        }
        geo("geo_desc", &self.geo_desc)
    }
}

/// `export_parameter` (v1.1.0+, reference §5.8).
///
/// ```
/// use terra_types::{ExportParameter, JobParameters, Model3dParams};
/// let mut p = JobParameters::new(Model3dParams::default());
/// p.export_parameter = Some(ExportParameter { pc_dir_structure: Some(true), ..Default::default() });
/// assert_eq!(p.to_json_string(), r#"{"parameter":{},"export_parameter":{"pc_dir_structure":true}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ExportParameter {
    /// Lay out the output like local DJI Terra.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pc_dir_structure: Option<bool>,
    /// Also export undistorted photos (not for LiDAR jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undistort_images: Option<bool>,
    /// Also export intermediate files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_result_files: Option<bool>,
    /// Keys terra-types does not model.
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::extra_map()"))]
    pub extra: Map<String, Value>,
}

impl ExportParameter {
    /// The keys of `export_parameter` on the wire.
    pub const KEYS: &'static [&'static str] =
        &["pc_dir_structure", "undistort_images", "temp_result_files"];
}

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
