//! Keys that no field of the parameter types took. serde keeps them (in the `extra` maps,
//! so that keys DJI added later still reach the service), which also means a typo such as
//! `generate_objj` would be sent, ignored by the service, and cost a whole job. These
//! functions find them after parsing and suggest the closest known key.

use serde_json::{Map, Value};

use crate::params::{ExportParameter, GeoDesc, JobParameters, ParameterSet, PredefineAoi};

/// A key no field knows, where it was found and the known key it most resembles.
///
/// ```
/// use terra_types::{JobParameters, Model3dParams};
/// let p: JobParameters<Model3dParams> =
///     JobParameters::from_json_str(r#"{"parameter":{"generate_objj":true}}"#).unwrap();
/// let unknown = p.unknown_keys();
/// assert_eq!(unknown[0].path, "parameter.generate_objj");
/// assert_eq!(unknown[0].suggestion, Some("generate_obj"));
/// assert_eq!(
///     unknown[0].to_string(),
///     "`parameter.generate_objj` is not a known key (did you mean `generate_obj`?)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Dotted path from the root of the parameters (`parameter.generate_objj`).
    pub path: String,
    /// The closest known key of the same section, when one is close enough.
    pub suggestion: Option<&'static str>,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a known key", self.path)?;
        if let Some(s) = self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

/// The sections of the parameters document.
const ROOT_KEYS: &[&str] = &["parameter", "predefine_AOI", "export_parameter"];

fn collect(
    out: &mut Vec<UnknownKey>,
    prefix: &str,
    extra: &Map<String, Value>,
    known: &'static [&'static str],
) {
    for key in extra.keys() {
        out.push(UnknownKey {
            path: if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            },
            suggestion: closest_key(key, known),
        });
    }
}

fn geo(out: &mut Vec<UnknownKey>, prefix: &str, g: Option<&GeoDesc>) {
    if let Some(g) = g {
        collect(out, prefix, &g.extra, GeoDesc::KEYS);
    }
}

impl<P: ParameterSet> JobParameters<P> {
    /// Every key of these parameters that no field took, in document order by section.
    /// Empty for parameters that only use documented keys.
    ///
    /// ```
    /// use terra_types::{JobParameters, LidarParams};
    /// let p: JobParameters<LidarParams> = JobParameters::from_json_str(
    ///     r#"{"parameter":{"sample_distance":0.1,"output_geo_desc":{"cs_typ":"GEO_CS"}}}"#,
    /// ).unwrap();
    /// let unknown = p.unknown_keys();
    /// assert_eq!(unknown.len(), 1);
    /// assert_eq!(unknown[0].path, "parameter.output_geo_desc.cs_typ");
    /// assert_eq!(unknown[0].suggestion, Some("cs_type"));
    /// ```
    pub fn unknown_keys(&self) -> Vec<UnknownKey> {
        let mut out = Vec::new();
        collect(&mut out, "", &self.extra, ROOT_KEYS);
        collect(&mut out, "parameter", self.parameter.extra(), P::KEYS);
        geo(
            &mut out,
            "parameter.output_geo_desc",
            self.parameter.output_geo_desc(),
        );
        geo(
            &mut out,
            "parameter.blocks_exchange_xml_geo_desc",
            self.parameter
                .common()
                .blocks_exchange_xml_geo_desc
                .as_ref(),
        );
        if let Some(aoi) = &self.predefine_aoi {
            collect(&mut out, "predefine_AOI", &aoi.extra, PredefineAoi::KEYS);
            geo(&mut out, "predefine_AOI.geo_desc", aoi.geo_desc.as_ref());
        }
        if let Some(e) = &self.export_parameter {
            collect(
                &mut out,
                "export_parameter",
                &e.extra,
                ExportParameter::KEYS,
            );
        }
        out
    }
}

/// The known key closest to `name` (case and edit distance), if it is close enough to be
/// what was meant: at most one edit in four characters, and at least one allowed.
///
/// ```
/// let known = &["generate_obj", "generate_ply", "output_mesh"];
/// assert_eq!(terra_types::closest_key("generate_objj", known), Some("generate_obj"));
/// assert_eq!(terra_types::closest_key("OUTPUT_MESH", known), Some("output_mesh"));
/// assert_eq!(terra_types::closest_key("colour", known), None);
/// ```
pub fn closest_key(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    let limit = (name.chars().count() / 4).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&name, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::params::{LidarParams, Map2dParams, Model3dParams};

    /// The keys `value` (an object) serializes with, minus the ones `extra` added.
    fn field_keys(value: &Value, extra: &Map<String, Value>) -> Vec<String> {
        value
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !extra.contains_key(*k))
            .cloned()
            .collect()
    }

    /// Every listed key is taken by a field: `{key: null}` leaves nothing unknown.
    fn listed_keys_are_fields<P: ParameterSet>() {
        for key in P::KEYS {
            let doc = format!(r#"{{"parameter":{{"{key}":null}}}}"#);
            let p = JobParameters::<P>::from_json_str(&doc).unwrap();
            assert!(p.unknown_keys().is_empty(), "{key} is listed but no field");
        }
        for (section, keys) in [
            ("predefine_AOI", PredefineAoi::KEYS),
            ("export_parameter", ExportParameter::KEYS),
        ] {
            for key in keys {
                // `null` for the optional fields, `[]` for the polygon.
                let p = ["null", "[]"]
                    .iter()
                    .find_map(|v| {
                        let doc = format!(r#"{{"parameter":{{}},"{section}":{{"{key}":{v}}}}}"#);
                        JobParameters::<P>::from_json_str(&doc).ok()
                    })
                    .unwrap();
                assert!(p.unknown_keys().is_empty(), "{section}.{key}");
            }
        }
        for key in GeoDesc::KEYS {
            let doc = format!(r#"{{"parameter":{{"output_geo_desc":{{"{key}":null}}}}}}"#);
            let p = JobParameters::<P>::from_json_str(&doc).unwrap();
            assert!(p.unknown_keys().is_empty(), "geo desc {key}");
        }
    }

    #[test]
    fn every_listed_key_is_a_field() {
        listed_keys_are_fields::<Map2dParams>();
        listed_keys_are_fields::<Model3dParams>();
        listed_keys_are_fields::<LidarParams>();
    }

    fn listed(v: Value, extra: &Map<String, Value>, known: &[&str]) -> Result<(), TestCaseError> {
        for k in field_keys(&v, extra) {
            prop_assert!(known.contains(&k.as_str()), "{k} is not listed");
        }
        Ok(())
    }

    // Every field is listed: whatever a value sets, its keys are in the lists.
    proptest! {
        #[test]
        fn every_2d_field_is_listed(m in any::<Map2dParams>()) {
            listed(serde_json::to_value(&m).unwrap(), &m.extra, Map2dParams::KEYS)?;
        }

        #[test]
        fn every_3d_field_is_listed(d in any::<Model3dParams>()) {
            listed(serde_json::to_value(&d).unwrap(), &d.extra, Model3dParams::KEYS)?;
        }

        #[test]
        fn every_lidar_field_is_listed(l in any::<LidarParams>()) {
            listed(serde_json::to_value(&l).unwrap(), &l.extra, LidarParams::KEYS)?;
        }

        #[test]
        fn every_section_field_is_listed(
            a in any::<PredefineAoi>(),
            e in any::<ExportParameter>(),
            g in any::<GeoDesc>(),
        ) {
            listed(serde_json::to_value(&a).unwrap(), &a.extra, PredefineAoi::KEYS)?;
            listed(serde_json::to_value(&e).unwrap(), &e.extra, ExportParameter::KEYS)?;
            listed(serde_json::to_value(&g).unwrap(), &g.extra, GeoDesc::KEYS)?;
        }
    }

    #[test]
    fn unknown_keys_in_every_section_are_found_with_suggestions() {
        let p: JobParameters<Model3dParams> = JobParameters::from_json_str(
            r#"{"parameter":{"output_mesh":true,"generate_objj":true,"SfM_methd":"GLOBAL",
                "output_geo_desc":{"geocs":"EPSG:4326"}},
              "predefine_AOI":{"polygon_points":[],"min_altitud":1},
              "export_parameter":{"undistort_image":true},
              "predefine_aoi":{}}"#,
        )
        .unwrap();
        let found: Vec<(String, Option<&str>)> = p
            .unknown_keys()
            .into_iter()
            .map(|u| (u.path, u.suggestion))
            .collect();
        assert_eq!(
            found,
            [
                ("predefine_aoi".to_owned(), Some("predefine_AOI")),
                ("parameter.SfM_methd".to_owned(), Some("SfM_method")),
                ("parameter.generate_objj".to_owned(), Some("generate_obj")),
                ("parameter.output_geo_desc.geocs".to_owned(), Some("geo_cs")),
                ("predefine_AOI.min_altitud".to_owned(), Some("min_altitude")),
                (
                    "export_parameter.undistort_image".to_owned(),
                    Some("undistort_images")
                ),
            ]
        );
        let clean: JobParameters<Model3dParams> =
            JobParameters::from_json_str(r#"{"parameter":{"output_mesh":true}}"#).unwrap();
        assert!(clean.unknown_keys().is_empty());
    }

    /// Unknown keys in `parameter`, `output_geo_desc` and the common section's
    /// `blocks_exchange_xml_geo_desc`, for every job type.
    fn every_section_of<P: ParameterSet>() {
        let p = JobParameters::<P>::from_json_str(
            r#"{"parameter":{"qualty_level":1,
                "output_geo_desc":{"cs_typ":"GEO_CS"},
                "blocks_exchange_xml_geo_desc":{"geo_cs_wk":"x"}}}"#,
        )
        .unwrap();
        let found: Vec<(String, Option<&str>)> = p
            .unknown_keys()
            .into_iter()
            .map(|u| (u.path, u.suggestion))
            .collect();
        assert_eq!(
            found,
            [
                ("parameter.qualty_level".to_owned(), Some("quality_level")),
                (
                    "parameter.output_geo_desc.cs_typ".to_owned(),
                    Some("cs_type")
                ),
                (
                    "parameter.blocks_exchange_xml_geo_desc.geo_cs_wk".to_owned(),
                    Some("geo_cs_wkt")
                ),
            ],
            "{}",
            std::any::type_name::<P>()
        );
    }

    #[test]
    fn unknown_keys_of_every_job_type() {
        every_section_of::<Map2dParams>();
        every_section_of::<Model3dParams>();
        every_section_of::<LidarParams>();
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(
            closest_key("x", &["y"]),
            Some("y"),
            "one edit always allowed"
        );
        assert_eq!(closest_key("xy", &["ab"]), None);
        assert_eq!(
            closest_key("generate_pl", &["generate_ply", "generate_pcd"]),
            Some("generate_ply")
        );
    }
}
