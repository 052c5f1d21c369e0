//! `--param key=value` and `--params-file` into typed, validated job parameters.

use serde_json::{Map, Value};
use terra_client::workflow::JobSpec;
use terra_types::JobType;

/// The job types of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// 2D reconstruction (DOM/DSM), type 14.
    #[value(name = "2d")]
    Map2d,
    /// 3D reconstruction (mesh, point cloud), type 15.
    #[value(name = "3d")]
    Model3d,
    /// LiDAR point cloud, type 13.
    Lidar,
}

impl Kind {
    /// What a run without `--param` or `--params-file` asks for: 2D urban at medium
    /// quality, 3D with OBJ and 3D Tiles meshes, LiDAR with the service's defaults.
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Self::Map2d => &["map_mode=1", "quality_level=2"],
            Self::Model3d => &[
                "output_mesh=true",
                "generate_obj=true",
                "generate_b3dm=true",
            ],
            Self::Lidar => &[],
        }
    }

    /// The name on the command line (`2d`, `3d`, `lidar`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Map2d => "2d",
            Self::Model3d => "3d",
            Self::Lidar => "lidar",
        }
    }

    pub(crate) fn job_type(self) -> JobType {
        match self {
            Self::Map2d => JobType::Map2d,
            Self::Model3d => JobType::Model3d,
            Self::Lidar => JobType::Lidar,
        }
    }
}

const SECTIONS: [&str; 3] = ["parameter", "predefine_AOI", "export_parameter"];

fn set(root: &mut Map<String, Value>, path: &[&str], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty parameter name")?;
    let mut node = root;
    for p in parents {
        let entry = node
            .entry((*p).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = entry
            .as_object_mut()
            .ok_or_else(|| format!("`{p}` is not an object"))?;
    }
    node.insert((*last).to_owned(), value);
    Ok(())
}

/// Builds the parameters: the file's object (a whole `{"parameter": ...}` document, or
/// just the `parameter` section), then each `key=value` on top. Keys go into `parameter`
/// unless they start with `predefine_AOI.` or `export_parameter.`; dots nest
/// (`output_geo_desc.cs_type=GEO_CS`). Values are JSON when they parse as JSON
/// (`true`, `0.5`, `[1,2]`), strings otherwise. Without any, [`Kind::defaults`] apply.
/// Keys no field knows are refused (with the closest known one suggested) unless
/// `allow_unknown`.
pub(crate) fn build(
    kind: Kind,
    file: Option<&std::path::Path>,
    params: &[String],
    allow_unknown: bool,
) -> Result<JobSpec, String> {
    let mut root = Map::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let Value::Object(obj) = v else {
            return Err(format!("{} must hold a JSON object", path.display()));
        };
        if obj.keys().any(|k| SECTIONS.contains(&k.as_str())) {
            root = obj;
        } else {
            root.insert("parameter".into(), Value::Object(obj));
        }
    }
    let defaults: Vec<String>;
    let params = if file.is_none() && params.is_empty() {
        defaults = kind.defaults().iter().map(|s| (*s).to_owned()).collect();
        &defaults
    } else {
        params
    };
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("--param {p:?}: expected key=value"))?;
        let value =
            serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        let mut path: Vec<&str> = k.trim().split('.').collect();
        if !SECTIONS.contains(&path[0]) {
            path.insert(0, "parameter");
        }
        set(&mut root, &path, value).map_err(|e| format!("--param {p:?}: {e}"))?;
    }
    root.entry("parameter")
        .or_insert_with(|| Value::Object(Map::new()));
    let spec = JobSpec::from_json(kind.job_type(), Value::Object(root))
        .map_err(|e| e.message().to_owned())?;
    let unknown = spec.unknown_keys();
    if !allow_unknown && !unknown.is_empty() {
        let list: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        return Err(format!(
            "{}; nothing was sent. Fix the name, or pass --allow-unknown-params to send keys \
             DJI added after this version",
            list.join("; ")
        ));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_sections() {
        let spec = build(
            Kind::Model3d,
            None,
            &[
                "output_mesh=true".into(),
                "model_simplify=0.5".into(),
                "output_geo_desc.cs_type=GEO_CS".into(),
                "output_geo_desc.geo_cs=EPSG:4326".into(),
                "export_parameter.pc_dir_structure=true".into(),
            ],
            false,
        )
        .unwrap();
        let JobSpec::Model3d(p) = spec else { panic!() };
        assert_eq!(
            (p.parameter.output_mesh, p.parameter.model_simplify),
            (Some(true), Some(0.5))
        );
        assert_eq!(
            p.parameter.output_geo_desc.unwrap().geo_cs.as_deref(),
            Some("EPSG:4326")
        );
        assert_eq!(p.export_parameter.unwrap().pc_dir_structure, Some(true));
    }

    #[test]
    fn errors_name_the_field() {
        let e = build(Kind::Model3d, None, &["model_simplify=3".into()], false).unwrap_err();
        assert!(e.contains("parameter.model_simplify"), "{e}");
        let e = build(
            Kind::Lidar,
            None,
            &["quality_level=1".into(), "sample_distance=0.1".into()],
            false,
        )
        .unwrap_err();
        assert!(e.contains("sample_distance"), "{e}");
        assert!(
            build(Kind::Map2d, None, &["nonsense".into()], false)
                .unwrap_err()
                .contains("key=value")
        );
    }

    #[test]
    fn defaults_when_nothing_is_given_for_every_kind() {
        let JobSpec::Model3d(p) = build(Kind::Model3d, None, &[], false).unwrap() else {
            panic!()
        };
        assert!(p.parameter.mesh_formats().obj && p.parameter.mesh_formats().b3dm);
        let JobSpec::Map2d(p) = build(Kind::Map2d, None, &[], false).unwrap() else {
            panic!()
        };
        assert_eq!(p.parameter.map_mode, Some(terra_types::MapMode::Urban));
        // LiDAR's defaults are empty: that once recursed until the stack overflowed.
        let JobSpec::Lidar(p) = build(Kind::Lidar, None, &[], false).unwrap() else {
            panic!()
        };
        assert_eq!(p, terra_types::JobParameters::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_a_suggestion_unless_allowed() {
        let args = ["output_mesh=true".into(), "generate_objj=true".into()];
        let e = build(Kind::Model3d, None, &args, false).unwrap_err();
        assert!(
            e.contains(
                "`parameter.generate_objj` is not a known key (did you mean `generate_obj`?)"
            ) && e.contains("--allow-unknown-params"),
            "{e}"
        );
        let JobSpec::Model3d(p) = build(Kind::Model3d, None, &args, true).unwrap() else {
            panic!()
        };
        assert_eq!(p.parameter.extra["generate_objj"], true, "sent as given");
        let e = build(
            Kind::Map2d,
            None,
            &["export_parameter.undistort_image=true".into()],
            false,
        )
        .unwrap_err();
        assert!(e.contains("did you mean `undistort_images`"), "{e}");
    }
}
