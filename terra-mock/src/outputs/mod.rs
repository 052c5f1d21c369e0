//! The files a finished job leaves in its output resource.
//!
//! The real layout per job type is not documented (reference §4.4). This is a *plausible*
//! tree modelled on local DJI Terra: `images/survey/image_list.json` (documented since
//! v1.1.0) plus the products the parameters ask for. Products are small but real:
//! georeferenced to the flight (the photos' GPS positions) in the system the job asked
//! for ([`crs`]), and valid by their formats' own tools: GeoTIFF orthophoto and surface
//! models ([`raster`]), LAS 1.4, `pnts`, PLY and PCD point clouds ([`cloud`]), textured
//! OBJ and PLY meshes and 3D Tiles with glTF 2.0 content ([`mesh`]), and the same mesh
//! with levels of detail ([`lod`]) as OpenSceneGraph's paged tiles ([`osgb`]), an I3S
//! scene layer package ([`i3s`]) and S3M tiles ([`s3m`]), which also carry point clouds
//! ([`models`] puts them together).

mod cloud;
mod crs;
mod i3s;
mod lod;
mod mesh;
mod models;
mod osgb;
mod pack;
mod raster;
mod s3m;
mod site;

use crate::config::OutputConfig;
use serde_json::json;
use site::{Grid, Site};
use terra_types::{
    JobType, LidarParams, Map2dParams, Model3dParams, ParameterSet, PointcloudFormats,
};

/// One input file of the job, as the output generator sees it.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub name: String,
    pub size: u64,
    /// Latitude, longitude and (when the photo's EXIF has it) GPS altitude.
    pub position: Option<(f64, f64, Option<f64>)>,
}

/// A generated output file.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub name: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

fn out(name: impl Into<String>, body: Vec<u8>, content_type: &'static str) -> Output {
    Output {
        name: name.into(),
        body,
        content_type,
    }
}

fn json_file(name: &str, v: serde_json::Value) -> Output {
    out(
        name,
        serde_json::to_vec_pretty(&v).expect("JSON"),
        "application/json",
    )
}

/// What a job's parameters say about where and how its outputs lie.
struct Placement<'a> {
    geo_desc: Option<&'a terra_types::GeoDesc>,
    aoi: Option<&'a terra_types::PredefineAoi>,
}

/// The rasters of a 2D or 3D job: the orthophoto (RGBA) on its grid.
struct Ortho {
    grid: Grid,
    rgba: Vec<u8>,
    stats: raster::MosaicStats,
}

impl Ortho {
    fn new(site: &Site, cfg: &OutputConfig, read: &dyn Fn(usize) -> Option<Vec<u8>>) -> Self {
        let grid = site.grid(cfg.gsd_m, cfg.max_raster_pixels);
        let (rgba, stats) = raster::ortho_pixels(site, &grid, cfg, read);
        Self { grid, rgba, stats }
    }

    fn tif(&self, site: &Site) -> Vec<u8> {
        raster::geotiff(&self.grid, site.crs(), raster::Pixels::Rgba, &self.rgba)
    }

    /// The surface sampled on at most 64 × 64 cells, coloured by the orthophoto.
    fn points(&self, site: &Site) -> Vec<cloud::Point> {
        let grid = site.grid(0.0, 64);
        cloud::sample(site, &grid, (&self.grid, &self.rgba))
    }
}

/// Generates the output tree of a job. `parameters` is the start request's string (already
/// validated; unparsable parts fall back to defaults). `read` gives the bytes of input `k`
/// (for the orthophoto's mosaic).
pub(crate) fn generate(
    job_type: JobType,
    parameters: &str,
    job_uuid: &str,
    inputs: &[Input],
    cfg: &OutputConfig,
    read: &dyn Fn(usize) -> Option<Vec<u8>>,
) -> Vec<Output> {
    let images: Vec<&Input> = inputs
        .iter()
        .filter(|i| terra_types::is_image_name(&i.name))
        .collect();
    let mut files = Vec::new();
    if !images.is_empty() {
        files.push(image_list(&images));
    }
    let (site, mosaic) = match job_type {
        JobType::Map2d => {
            let p = parse::<Map2dParams>(parameters);
            let placement = Placement {
                geo_desc: p.parameter.output_geo_desc(),
                aoi: p.predefine_aoi.as_ref(),
            };
            photogrammetry(
                &mut files,
                &placement,
                inputs,
                &images,
                cfg,
                read,
                |files, site, ortho| {
                    map_2d(files, site, ortho, &p.parameter);
                    ("map/pointcloud", &p.parameter.common)
                },
            )
        }
        JobType::Model3d => {
            let p = parse::<Model3dParams>(parameters);
            let placement = Placement {
                geo_desc: p.parameter.output_geo_desc(),
                aoi: p
                    .predefine_aoi
                    .as_ref()
                    .filter(|_| p.parameter.cut_aoi == Some(true)),
            };
            photogrammetry(
                &mut files,
                &placement,
                inputs,
                &images,
                cfg,
                read,
                |files, site, ortho| {
                    models::model_3d(files, site, &ortho.grid, &ortho.rgba, &p.parameter);
                    ("models/pc", &p.parameter.common)
                },
            )
        }
        JobType::Lidar => {
            let p = parse::<LidarParams>(parameters);
            let site = Site::new(inputs, p.parameter.output_geo_desc(), None, cfg);
            lidar(&mut files, &site, &p.parameter, cfg);
            (Some(site), None)
        }
        _ => {
            files.push(json_file(
                "merge/merge_report.json",
                json!({"job": job_uuid, "inputs": inputs.len()}),
            ));
            (None, None)
        }
    };
    let export = serde_json::from_str::<serde_json::Value>(parameters)
        .ok()
        .and_then(|v| v.get("export_parameter").cloned());
    if let Some(e) = export {
        if e.get("undistort_images").and_then(|v| v.as_bool()) == Some(true) && !images.is_empty() {
            let list: Vec<String> = images
                .iter()
                .map(|i| format!("images/undistort/{}", i.name))
                .collect();
            files.push(json_file(
                "images/undistort/undistort_list.json",
                json!({ "images": list }),
            ));
        }
        if e.get("temp_result_files").and_then(|v| v.as_bool()) == Some(true) {
            files.push(json_file(
                "temp/sfm_result.json",
                json!({ "cameras": images.len(), "positioned": site.as_ref().map_or(0, |s| s.photos.len()) }),
            ));
        }
    }
    let listing: Vec<serde_json::Value> = files
        .iter()
        .map(|f| json!({"name": f.name, "size": f.body.len()}))
        .collect();
    let site_json = site.as_ref().map(|s| {
        json!({
            "latitude": s.origin.0,
            "longitude": s.origin.1,
            "ground_height_m": s.origin.2,
            "positioned_photos": s.photos.len(),
            "crs": s.crs().label(),
            "crs_name": s.crs().name,
            "crs_choice": s.choice.reason,
            "vertical_cs": s.choice.vertical,
            "bounds": s.bounds,
            "notes": s.notes,
        })
    });
    files.push(json_file(
        "report/report.json",
        json!({
            "job": job_uuid,
            "type": job_type.code(),
            "inputs": inputs.len(),
            "input_bytes": inputs.iter().map(|i| i.size).sum::<u64>(),
            "site": site_json,
            "mosaic": mosaic.map(|m| json!({"photos_used": m.photos_used, "photos_decoded": m.photos_decoded})),
            "outputs": listing,
            "generator": "terra-mock (plausible layout, not DJI's)",
        }),
    ));
    files
}

/// A 2D or 3D job: the site, the orthophoto, the products `own` adds (it returns the
/// folder of point clouds and the common parameters), the point clouds and the
/// aerotriangulation export.
fn photogrammetry<'p>(
    files: &mut Vec<Output>,
    placement: &Placement<'_>,
    inputs: &[Input],
    images: &[&Input],
    cfg: &OutputConfig,
    read: &dyn Fn(usize) -> Option<Vec<u8>>,
    own: impl FnOnce(&mut Vec<Output>, &Site, &Ortho) -> (&'static str, &'p terra_types::CommonParams),
) -> (Option<Site>, Option<raster::MosaicStats>) {
    let site = Site::new(inputs, placement.geo_desc, placement.aoi, cfg);
    let ortho = Ortho::new(&site, cfg, read);
    let (dir, common) = own(files, &site, &ortho);
    pointclouds(
        files,
        dir,
        &site,
        &ortho.points(&site),
        common.pointcloud_formats(),
    );
    blocks_exchange(files, common, images);
    (Some(site), Some(ortho.stats))
}

fn map_2d(files: &mut Vec<Output>, site: &Site, ortho: &Ortho, p: &Map2dParams) {
    files.push(out("map/result.tif", ortho.tif(site), "image/tiff"));
    let dsm_grid = ortho.grid.coarser(4);
    files.push(out(
        "map/dsm.tif",
        raster::dsm(site, &dsm_grid),
        "image/tiff",
    ));
    files.push(out(
        "map/result.prj",
        site.crs().wkt().into_bytes(),
        "text/plain",
    ));
    if let Some(t) = p.dom_tile_size.filter(|t| *t > 0) {
        // Four tiles: the quadrants of the orthophoto, named column_row.
        let g = &ortho.grid;
        let (hw, hh) = (g.w / 2, g.h / 2);
        for (x, y) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let window = (
                x * hw,
                y * hh,
                if x == 0 { hw } else { g.w - hw },
                if y == 0 { hh } else { g.h - hh },
            );
            let (tg, px) = raster::crop(g, &ortho.rgba, 4, window);
            files.push(out(
                format!("map/tiles/{t}/{x}_{y}.tif"),
                raster::geotiff(&tg, site.crs(), raster::Pixels::Rgba, &px),
                "image/tiff",
            ));
        }
    }
}

fn lidar(files: &mut Vec<Output>, site: &Site, p: &LidarParams, cfg: &OutputConfig) {
    // The scan: the surface on at most 96 × 96 cells.
    let scan_grid = site.grid(0.0, 96);
    let scan = cloud::from_heights(site, &scan_grid, &raster::heights(site, &scan_grid));
    files.push(out(
        "lidars/terra_las/cloud_merged.las",
        cloud::las(&scan, site.crs()),
        "application/octet-stream",
    ));
    let c = p.common();
    if c.generate_pnts.unwrap_or(true) {
        pnts_tileset(files, "lidars/terra_pnts", "cloud.pnts", site, &scan);
    }
    if c.generate_point_ply.unwrap_or(false) {
        files.push(out(
            "lidars/terra_ply/cloud.ply",
            cloud::ply(&scan, site.crs()).into_bytes(),
            "text/plain",
        ));
    }
    if c.generate_point_s3mb.unwrap_or(false) {
        models::s3m_points(files, "lidars/terra_s3mb", "cloud", site, &scan);
    }
    if c.generate_pcd.unwrap_or(false) {
        files.push(out(
            "lidars/terra_pcd/cloud.pcd",
            cloud::pcd(&scan).into_bytes(),
            "text/plain",
        ));
    }
    if p.ground_extract.unwrap_or(false) {
        // Ground: the points below the mean surface.
        let ground: Vec<cloud::Point> = scan
            .iter()
            .filter(|pt| pt.h < site.ground)
            .copied()
            .collect();
        files.push(out(
            "lidars/terra_las/ground.las",
            cloud::las(&ground, site.crs()),
            "application/octet-stream",
        ));
    }
    if p.generate_dem.unwrap_or(false) {
        let cell = p.dem_resolution.filter(|r| *r > 0.0).unwrap_or(1.0);
        let grid = site.grid(cell, cfg.max_raster_pixels);
        files.push(out(
            "lidars/terra_dem/dem.tif",
            raster::dsm(site, &grid),
            "image/tiff",
        ));
    }
}

/// Longitude and latitude of a position in the system a job's report names (`EPSG:n`),
/// when the emulator computes that system.
pub(crate) fn lon_lat(system: &str, x: f64, y: f64) -> Option<(f64, f64)> {
    let code = system.strip_prefix("EPSG:")?.parse().ok()?;
    let (lat, lon) = crs::from_epsg(code)?.inverse(x, y);
    Some((lon, lat))
}

pub(crate) fn parse<P: ParameterSet>(s: &str) -> terra_types::JobParameters<P> {
    terra_types::JobParameters::from_json_str(s)
        .unwrap_or_else(|_| terra_types::JobParameters::new(P::default()))
}

fn image_list(images: &[&Input]) -> Output {
    let list: Vec<serde_json::Value> = images
        .iter()
        .map(|i| match i.position {
            Some((lat, lon, _)) => json!({"name": i.name, "latitude": lat, "longitude": lon}),
            None => json!({"name": i.name}),
        })
        .collect();
    json_file("images/survey/image_list.json", json!({ "images": list }))
}

fn pnts_tileset(
    files: &mut Vec<Output>,
    dir: &str,
    name: &str,
    site: &Site,
    points: &[cloud::Point],
) {
    let local: Vec<[f64; 3]> = points
        .iter()
        .map(|p| [p.e, p.n, p.h - site.origin.2])
        .collect();
    files.push(json_file(
        &format!("{dir}/tileset.json"),
        mesh::tileset(site, &local, name),
    ));
    files.push(out(
        format!("{dir}/{name}"),
        cloud::pnts(points, site.origin.2),
        "application/octet-stream",
    ));
}

fn pointclouds(
    files: &mut Vec<Output>,
    dir: &str,
    site: &Site,
    points: &[cloud::Point],
    f: PointcloudFormats,
) {
    let base = if f.merged { "merged" } else { "cloud" };
    if f.pnts {
        pnts_tileset(
            files,
            &format!("{dir}/pnts"),
            &format!("{base}.pnts"),
            site,
            points,
        );
    }
    if f.las {
        files.push(out(
            format!("{dir}/las/{base}.las"),
            cloud::las(points, site.crs()),
            "application/octet-stream",
        ));
    }
    if f.ply {
        files.push(out(
            format!("{dir}/ply/{base}.ply"),
            cloud::ply(points, site.crs()).into_bytes(),
            "text/plain",
        ));
    }
    if f.pcd {
        files.push(out(
            format!("{dir}/pcd/{base}.pcd"),
            cloud::pcd(points).into_bytes(),
            "text/plain",
        ));
    }
    if f.s3mb {
        models::s3m_points(files, &format!("{dir}/s3mb"), base, site, points);
    }
}

fn blocks_exchange(files: &mut Vec<Output>, common: &terra_types::CommonParams, images: &[&Input]) {
    if common.generate_blocks_exchange_xml != Some(true) {
        return;
    }
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlocksExchange version=\"3.2\">\n  <Block>\n    <Name>terra-mock</Name>\n    <Photogroups>\n      <Photogroup>\n",
    );
    for (i, img) in images.iter().enumerate() {
        let name = img
            .name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        xml.push_str(&format!(
            "        <Photo><Id>{i}</Id><ImagePath>{name}</ImagePath>"
        ));
        if let Some((lat, lon, alt)) = img.position {
            xml.push_str(&format!(
                "<Pose><Center><x>{lon}</x><y>{lat}</y><z>{}</z></Center></Pose>",
                alt.unwrap_or(100.0)
            ));
        }
        xml.push_str("</Photo>\n");
    }
    xml.push_str("      </Photogroup>\n    </Photogroups>\n  </Block>\n</BlocksExchange>\n");
    files.push(out(
        "AT/BlocksExchange.xml",
        xml.into_bytes(),
        "application/xml",
    ));
}

#[cfg(test)]
mod tests;
