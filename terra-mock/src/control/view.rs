//! A job as the dashboard draws it: where its photos were taken, the orthophoto it made
//! and the extent it covers on a north-up plan (longitude and latitude), and its output
//! files with their sizes and download links. Read from the job's own files: the photo
//! positions of `images/survey/image_list.json` (else those of its input resource: the
//! upload callback's, or the photos' EXIF), the extent and system of
//! `report/report.json`, and the pixels of `map/result.tif`.

use base64::Engine as _;
use serde::Serialize;
use uuid::Uuid;

use super::{Control, ControlError, ControlResult};
use crate::state::{Account, bucket_of};

/// The most output files listed.
const MAX_FILES: usize = 500;
/// The most photos drawn.
const MAX_PHOTOS: usize = 2000;
/// The most input photos whose EXIF is read when the job has no image list yet.
const MAX_EXIF_READS: usize = 200;
/// The largest orthophoto drawn (pixels).
const MAX_ORTHO_PIXELS: u64 = 4096 * 4096;

/// A point of the plan.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub(crate) struct PlanPhoto {
    /// The file name.
    pub name: String,
    pub lon: f64,
    pub lat: f64,
}

/// The orthophoto, placed.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub(crate) struct PlanImage {
    /// West, south, east, north (degrees).
    pub bounds: [f64; 4],
    /// Pixels.
    pub width: u32,
    pub height: u32,
    /// `data:image/png;base64,...`: `map/result.tif` as a PNG.
    pub png: String,
}

/// What the plan shows.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub(crate) struct Plan {
    /// The photos' positions.
    pub photos: Vec<PlanPhoto>,
    /// Where they come from: `image_list.json`, `callback` or `exif`.
    pub photos_from: String,
    /// The outputs' extent (west, south, east, north), from the job's report.
    pub extent: Option<[f64; 4]>,
    /// The outputs' system, as the report names it.
    pub system: Option<String>,
    /// The orthophoto of a finished 2D (or 3D) job.
    pub orthophoto: Option<PlanImage>,
}

/// An output file.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub(crate) struct OutputFile {
    pub name: String,
    pub size: u64,
    /// A presigned download link.
    pub url: String,
}

/// `GET /accounts/{app_key}/jobs/{uuid}/view`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub(crate) struct JobView {
    pub job: terra_types::Job,
    pub plan: Plan,
    /// The first 500 files of the output resource.
    pub outputs: Vec<OutputFile>,
    /// Output files in all.
    pub output_count: usize,
    /// What could not be drawn, and why.
    pub notes: Vec<String>,
}

impl Control<'_> {
    /// The job `uuid` of `app_key` as the dashboard draws it.
    pub(crate) fn job_view(&self, app_key: &str, uuid: &str) -> ControlResult<JobView> {
        let cell = self.account(app_key)?;
        let missing = || ControlError::not_found(format!("no job {uuid} in account {app_key:?}"));
        let id = Uuid::parse_str(uuid).map_err(|_| missing())?;
        let env = self.0.env();
        let a = cell.read(&env);
        let j = a.jobs.get(&id).ok_or_else(missing)?;
        let job = crate::state::views::job_view(j, env.now, true);
        let bucket = bucket_of(cell.provider, &self.0.cfg);
        let read = |key: &str, limit: usize| {
            self.0
                .storage
                .head_bytes(bucket, key, limit)
                .and_then(Result::ok)
        };
        let mut notes = Vec::new();
        let output = j.run.as_ref().and_then(|r| r.output);
        let files = output.map(|o| output_files(&a, &o)).unwrap_or_default();
        let find = |name: &str| {
            files
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, k)| k.clone())
        };
        let mut plan = Plan {
            photos: Vec::new(),
            photos_from: String::new(),
            extent: None,
            system: None,
            orthophoto: None,
        };
        if let Some(list) = find("images/survey/image_list.json")
            .and_then(|k| read(&k, 8 << 20))
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        {
            plan.photos_from = "image_list.json".into();
            for i in list["images"]
                .as_array()
                .into_iter()
                .flatten()
                .take(MAX_PHOTOS)
            {
                if let (Some(lat), Some(lon)) = (i["latitude"].as_f64(), i["longitude"].as_f64()) {
                    let name = i["name"].as_str().unwrap_or_default().to_owned();
                    plan.photos.push(PlanPhoto { name, lon, lat });
                }
            }
        } else if let Some(run) = &j.run {
            plan.photos_from = input_photos(&a, &run.origin, &read, &mut plan.photos);
        }
        if let Some(report) = find("report/report.json")
            .and_then(|k| read(&k, 8 << 20))
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        {
            let site = &report["site"];
            let system = site["crs"].as_str().unwrap_or_default().to_owned();
            let b: Vec<f64> = site["bounds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_f64())
                .collect();
            if b.len() == 4 {
                plan.extent = degrees(&system, [b[0], b[1], b[2], b[3]]);
                if plan.extent.is_none() {
                    notes.push(format!(
                        "the outputs are in {system}, which is not drawn on the plan"
                    ));
                }
            }
            plan.system = Some(system);
        }
        if let Some(tif) = find("map/result.tif") {
            match read(&tif, 256 << 20)
                .and_then(|b| super::picture::read_geotiff(&b, MAX_ORTHO_PIXELS))
            {
                Some(r) => match plan.system.as_deref().and_then(|s| degrees(s, r.bounds)) {
                    Some(bounds) => {
                        let png = super::picture::png(r.width, r.height, &r.rgba);
                        plan.orthophoto = Some(PlanImage {
                            bounds,
                            width: r.width,
                            height: r.height,
                            png: format!(
                                "data:image/png;base64,{}",
                                base64::engine::general_purpose::STANDARD.encode(png)
                            ),
                        });
                    }
                    None => notes.push("the orthophoto's system is not drawn on the plan".into()),
                },
                None => notes.push("map/result.tif could not be read back".into()),
            }
        }
        let output_count = files.len();
        let outputs = files
            .into_iter()
            .take(MAX_FILES)
            .map(|(name, size, key)| OutputFile {
                url: self.0.download_url(cell.provider, &key),
                name,
                size,
            })
            .collect();
        Ok(JobView {
            job,
            plan,
            outputs,
            output_count,
            notes,
        })
    }
}

/// Name, size and object key of the files of an output resource.
fn output_files(a: &Account, resource: &Uuid) -> Vec<(String, u64, String)> {
    let Some(r) = a.resources.get(resource) else {
        return Vec::new();
    };
    r.files
        .iter()
        .filter_map(|p| a.files.at(*p))
        .map(|f| (f.name.to_string(), f.size, f.key.full()))
        .collect()
}

/// The input photos with a position: the callback's, else their EXIF (the first 200).
fn input_photos(
    a: &Account,
    resource: &Uuid,
    read: &dyn Fn(&str, usize) -> Option<Vec<u8>>,
    out: &mut Vec<PlanPhoto>,
) -> String {
    let Some(r) = a.resources.get(resource) else {
        return String::new();
    };
    let (mut callback, mut exif) = (0, 0);
    for f in r
        .files
        .iter()
        .filter_map(|p| a.files.at(*p))
        .take(MAX_PHOTOS)
    {
        let name = f.name.to_string();
        if let Some(p) = f.position {
            callback += 1;
            out.push(PlanPhoto {
                name,
                lon: p.longitude,
                lat: p.latitude,
            });
        } else if terra_types::is_image_name(&f.name) && exif < MAX_EXIF_READS {
            exif += 1;
            if let Some(g) = read(&f.key.full(), 64 << 10).and_then(|h| terra_types::exif_gps(&h)) {
                out.push(PlanPhoto {
                    name,
                    lon: g.longitude,
                    lat: g.latitude,
                });
            }
        }
    }
    if callback >= exif { "callback" } else { "exif" }.into()
}

/// A box of a report's system as west, south, east, north degrees (the box around its
/// corners).
fn degrees(system: &str, b: [f64; 4]) -> Option<[f64; 4]> {
    let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])];
    let mut out = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (x, y) in corners {
        let (lon, lat) = crate::outputs::lon_lat(system, x, y)?;
        out = [
            out[0].min(lon),
            out[1].min(lat),
            out[2].max(lon),
            out[3].max(lat),
        ];
    }
    Some(out)
}
