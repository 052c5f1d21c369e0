//! The coded values of the parameter sections (integers and strings on the wire).

use crate::macros::{int_enum, str_enum};

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
