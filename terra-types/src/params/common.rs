//! The sections every job type shares: the common section, geo-desc objects,
//! `predefine_AOI` and `export_parameter`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Checked, CsType, FeatureQuantity, SfmMethod, fail, finite, known};

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

pub(super) fn geo(field: &str, g: &Option<GeoDesc>) -> Checked {
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
    pub(super) fn validate(&self) -> Checked {
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

    pub(super) fn validate(&self) -> Checked {
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
