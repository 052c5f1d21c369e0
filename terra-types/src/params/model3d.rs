//! `parameter` of a 3D reconstruction, and the mesh formats it asks for.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::*;

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
