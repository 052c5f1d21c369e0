//! The preflight check: everything about the input that can be known before a byte is
//! uploaded, so that bad input costs nothing (no upload, no quota, no job).

use std::collections::HashMap;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use terra_types::{JobType, PredefineAoi, is_lidar_name};

use super::scan::{InputFile, Walked, count_problem, walk};
use crate::error::{Error, ErrorKind, Result};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The run would fail or waste quota: it stops before anything is uploaded.
    Error,
    /// Worth a look; `strict` makes it an error.
    Warning,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    /// Too few or too many photos, no files, or too many LiDAR bytes (reference §7).
    Count,
    /// A file of 0 bytes.
    Empty,
    /// A file that cannot be read.
    Unreadable,
    /// A file named like a photo whose content is no JPEG, DNG, HEIC or HEIF.
    NotAPhoto,
    /// A photo without a GPS position in its EXIF.
    NoGps,
    /// A file with the same content as another one.
    Duplicate,
    /// A LiDAR folder without the files of a DJI L1/L2 mission.
    NoLidarData,
    /// No photo lies inside the area of interest.
    OutsideAoi,
}

/// One thing the preflight found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub problem: Problem,
    /// The file, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// For a person: what is wrong and what to do.
    pub message: String,
}

/// The geographic extent of the photos' positions, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Extent {
    /// Southern edge.
    pub min_lat: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Western edge.
    pub min_lon: f64,
    /// Eastern edge.
    pub max_lon: f64,
}

/// The result of [`preflight`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terra_client::workflow::{Severity, preflight};
/// use terra_types::JobType;
/// let dir = tempfile::tempdir()?;
/// terra_mock::sample::write_flight(dir.path(), &terra_mock::sample::FlightPlan { images: 12, ..Default::default() })?;
/// std::fs::write(dir.path().join("notes.JPG"), "not a photo")?;
/// let check = preflight(dir.path(), JobType::Map2d, &dir.path().join("out"), None)?;
/// assert_eq!(check.files.len(), 13);
/// let errors = check.errors(false);
/// assert_eq!(errors.len(), 1);
/// assert!(errors[0].message.contains("notes.JPG"));
/// assert!(check.into_result(false).is_err(), "nothing may be uploaded");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Preflight {
    /// The folder checked.
    pub dir: PathBuf,
    /// For which job type.
    #[serde(serialize_with = "job_type_code")]
    pub job_type: JobType,
    /// The files the run would upload.
    #[serde(skip)]
    pub files: Vec<InputFile>,
    /// What was found, errors first, in file order.
    pub findings: Vec<Finding>,
    /// The photos' extent, when any photo has a position.
    pub extent: Option<Extent>,
    /// The AOI polygon (longitude, latitude), when one was given in WGS 84.
    #[serde(skip)]
    pub aoi: Option<Vec<(f64, f64)>>,
}

fn job_type_code<S: serde::Serializer>(t: &JobType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_i64(t.code())
}

impl Preflight {
    /// The findings that stop a run: errors, and warnings too when `strict`.
    pub fn errors(&self, strict: bool) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| strict || f.severity == Severity::Error)
            .collect()
    }

    /// The warnings.
    pub fn warnings(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .collect()
    }

    /// The files to upload, or an [`ErrorKind::Input`] error naming every problem that
    /// stops the run (each file named).
    pub fn into_result(self, strict: bool) -> Result<Vec<InputFile>> {
        let errors = self.errors(strict);
        if errors.is_empty() {
            return Ok(self.files);
        }
        let mut message = format!(
            "{} problem{} in {} (nothing was uploaded):",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            self.dir.display()
        );
        for e in errors.iter().take(20) {
            message.push_str("\n  - ");
            message.push_str(&e.message);
        }
        if errors.len() > 20 {
            message.push_str(&format!("\n  ... and {} more", errors.len() - 20));
        }
        Err(Error::new(ErrorKind::Input, message))
    }
}

/// Checks the input of a `job_type` job in `dir` (leaving out `skip`, the output folder):
/// every file readable and non-empty; photos' content really a JPEG, DNG, HEIC or HEIF
/// (magic bytes, not the name) with a GPS position; files with the same content; the
/// photo-count limits (at least 10; at most 4 000 for 2D, 20 000 for 3D); LiDAR folders
/// holding LiDAR data; the AOI, when given in WGS 84, against the photos' positions.
/// Errors only when `dir` itself cannot be read: every other problem is a [`Finding`].
pub fn preflight(
    dir: &Path,
    job_type: JobType,
    skip: &Path,
    aoi: Option<&PredefineAoi>,
) -> Result<Preflight> {
    let walked = walk(dir, job_type, skip)?;
    let mut findings = Vec::new();
    let mut push = |severity, problem, path: Option<&Path>, message: String| {
        findings.push(Finding {
            severity,
            problem,
            path: path.map(Path::to_path_buf),
            message,
        })
    };
    let files: Vec<InputFile> = walked.iter().map(|w| w.file.clone()).collect();
    if let Some(problem) = count_problem(dir, job_type, &files) {
        push(Severity::Error, Problem::Count, None, problem);
    }
    let photos = job_type != JobType::Lidar;
    for Walked {
        file,
        format,
        unreadable,
    } in &walked
    {
        let p = Some(file.path.as_path());
        let shown = file.path.display();
        if let Some(e) = unreadable {
            push(
                Severity::Error,
                Problem::Unreadable,
                p,
                format!("{shown} cannot be read: {e}"),
            );
        } else if file.size == 0 {
            push(
                Severity::Error,
                Problem::Empty,
                p,
                format!("{shown} is empty (0 bytes)"),
            );
        } else if photos && format.is_none() {
            push(
                Severity::Error,
                Problem::NotAPhoto,
                p,
                format!(
                    "{shown} is named like a photo but is no JPEG, DNG, HEIC or HEIF: remove it or give the real photo"
                ),
            );
        } else if photos && file.position.is_none() {
            push(
                Severity::Warning,
                Problem::NoGps,
                p,
                format!(
                    "{shown} has no GPS position in its EXIF: the reconstruction cannot place it"
                ),
            );
        }
    }
    if !photos && !files.is_empty() && !files.iter().any(|f| is_lidar_name(&f.name)) {
        push(
            Severity::Error,
            Problem::NoLidarData,
            None,
            format!(
                "{} holds no LiDAR data (.LDR, .IMU, .RTK, .RTB, .RTL, .RTS, .CLC, .CLI files of a DJI L1/L2 mission): give the mission folder",
                dir.display()
            ),
        );
    }
    for (dup, of) in duplicates(&walked) {
        push(
            Severity::Warning,
            Problem::Duplicate,
            Some(dup),
            format!(
                "{} has the same content as {}: it would be uploaded and billed twice",
                dup.display(),
                of.display()
            ),
        );
    }
    let extent = extent(&files);
    let aoi = aoi.and_then(wgs84_polygon);
    if let (Some(polygon), true) = (&aoi, photos) {
        let inside = files
            .iter()
            .filter_map(|f| f.position)
            .any(|(lat, lon)| point_in_polygon((lon, lat), polygon));
        if extent.is_some() && !inside {
            push(
                Severity::Warning,
                Problem::OutsideAoi,
                None,
                "no photo lies inside the area of interest (predefine_AOI): check its coordinates (longitude, latitude in WGS 84)".into(),
            );
        }
    }
    findings.sort_by_key(|f| f.severity != Severity::Error);
    Ok(Preflight {
        dir: dir.to_path_buf(),
        job_type,
        files,
        findings,
        extent,
        aoi,
    })
}

/// The extent of the files' positions.
fn extent(files: &[InputFile]) -> Option<Extent> {
    let mut it = files.iter().filter_map(|f| f.position);
    let (lat, lon) = it.next()?;
    let mut e = Extent {
        min_lat: lat,
        max_lat: lat,
        min_lon: lon,
        max_lon: lon,
    };
    for (lat, lon) in it {
        e.min_lat = e.min_lat.min(lat);
        e.max_lat = e.max_lat.max(lat);
        e.min_lon = e.min_lon.min(lon);
        e.max_lon = e.max_lon.max(lon);
    }
    Some(e)
}

/// The AOI as (longitude, latitude) points, when its coordinates are WGS 84 degrees (no
/// geo-desc, or `EPSG:4326`); other systems are not converted here.
fn wgs84_polygon(aoi: &PredefineAoi) -> Option<Vec<(f64, f64)>> {
    let wgs84 = aoi.geo_desc.as_ref().is_none_or(|g| {
        g.geo_cs
            .as_deref()
            .is_none_or(|cs| cs.eq_ignore_ascii_case("EPSG:4326"))
    });
    let points: Vec<(f64, f64)> = aoi.polygon_points.iter().map(|p| (p[0], p[1])).collect();
    let in_range = points
        .iter()
        .all(|(x, y)| (-180.0..=180.0).contains(x) && (-90.0..=90.0).contains(y));
    (wgs84 && in_range && points.len() >= 3).then_some(points)
}

/// Even-odd rule.
fn point_in_polygon((x, y): (f64, f64), polygon: &[(f64, f64)]) -> bool {
    let mut inside = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let ((xi, yi), (xj, yj)) = (polygon[i], polygon[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// `(duplicate, first file with that content)` pairs. Only files of equal size are read,
/// and hashed whole (SipHash of the content; equal hashes of equal sizes are taken as
/// equal content).
fn duplicates(walked: &[Walked]) -> Vec<(&Path, &Path)> {
    let mut by_size: HashMap<u64, Vec<&InputFile>> = HashMap::new();
    for w in walked {
        if w.file.size > 0 && w.unreadable.is_none() {
            by_size.entry(w.file.size).or_default().push(&w.file);
        }
    }
    let mut out = Vec::new();
    let mut sizes: Vec<_> = by_size.into_iter().filter(|(_, v)| v.len() > 1).collect();
    sizes.sort_by_key(|(size, _)| *size);
    for (_, group) in sizes {
        let mut seen: HashMap<u64, &Path> = HashMap::new();
        for f in group {
            let Some(h) = content_hash(&f.path) else {
                continue;
            };
            match seen.get(&h) {
                Some(first) => out.push((f.path.as_path(), *first)),
                None => {
                    seen.insert(h, &f.path);
                }
            }
        }
    }
    out.sort();
    out
}

fn content_hash(path: &Path) -> Option<u64> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = std::hash::DefaultHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            return Some(h.finish());
        }
        h.write(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_in_and_out_of_a_polygon() {
        let square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
        assert!(point_in_polygon((5.0, 5.0), &square));
        assert!(!point_in_polygon((15.0, 5.0), &square));
        assert!(!point_in_polygon((5.0, -1.0), &square));
        let triangle = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        assert!(point_in_polygon((2.0, 2.0), &triangle));
        assert!(!point_in_polygon((8.0, 8.0), &triangle));
    }
}
