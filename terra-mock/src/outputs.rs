//! The files a finished job leaves in its output resource.
//!
//! The real layout per job type is not documented (reference §4.4). This is a *plausible*
//! tree modelled on local DJI Terra: `images/survey/image_list.json` (documented since
//! v1.1.0) plus the products the parameters ask for. Files are tiny but valid where the
//! format is simple: JSON, XML, OBJ/MTL, PLY, PCD, LAS 1.2, baseline TIFF with GeoTIFF
//! tags, 3D Tiles (`tileset.json`, `pnts`, and `b3dm` wrapping a minimal glTF). OSGB,
//! s3mb and I3S are labelled placeholders.

use serde_json::json;
use terra_types::{
    JobType, LidarParams, Map2dParams, Model3dParams, ParameterSet, PointcloudFormats,
};

/// One input file of the job, as the output generator sees it.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub name: String,
    pub size: u64,
    pub position: Option<(f64, f64)>,
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

/// A local grid of points (metres east, north, up) derived from the input positions, or a
/// unit square when the inputs carry none.
struct Site {
    points: Vec<[f64; 3]>,
    origin: (f64, f64),
    extent: f64,
}

impl Site {
    fn new(inputs: &[Input]) -> Self {
        let pos: Vec<(f64, f64)> = inputs.iter().filter_map(|i| i.position).collect();
        let origin = if pos.is_empty() {
            (22.5797, 113.9436)
        } else {
            (
                pos.iter().map(|p| p.0).sum::<f64>() / pos.len() as f64,
                pos.iter().map(|p| p.1).sum::<f64>() / pos.len() as f64,
            )
        };
        let m_per_deg_lat = 111_320.0;
        let m_per_deg_lon = 111_320.0 * origin.0.to_radians().cos();
        let mut extent: f64 = 50.0;
        for p in &pos {
            extent = extent
                .max(((p.0 - origin.0) * m_per_deg_lat).abs())
                .max(((p.1 - origin.1) * m_per_deg_lon).abs());
        }
        let n = 12;
        let mut points = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                let x = -extent + 2.0 * extent * i as f64 / (n - 1) as f64;
                let y = -extent + 2.0 * extent * j as f64 / (n - 1) as f64;
                let z = 5.0 * ((x / extent * 3.0).sin() + (y / extent * 2.0).cos());
                points.push([x, y, z]);
            }
        }
        Self {
            points,
            origin,
            extent,
        }
    }
}

/// Generates the output tree of a job. `parameters` is the start request's string (already
/// validated; unparsable parts fall back to defaults).
pub(crate) fn generate(
    job_type: JobType,
    parameters: &str,
    job_uuid: &str,
    inputs: &[Input],
) -> Vec<Output> {
    let site = Site::new(inputs);
    let images: Vec<&Input> = inputs
        .iter()
        .filter(|i| terra_types::is_image_name(&i.name))
        .collect();
    let mut files = Vec::new();
    if !images.is_empty() {
        files.push(image_list(&images));
    }
    match job_type {
        JobType::Map2d => {
            let p = parse::<Map2dParams>(parameters);
            files.push(out("map/result.tif", tiff_gray(&site, 16), "image/tiff"));
            files.push(out("map/dsm.tif", tiff_dsm(&site, 16), "image/tiff"));
            files.push(out("map/result.prj", wkt(&site).into_bytes(), "text/plain"));
            if let Some(t) = p.parameter.dom_tile_size.filter(|t| *t > 0) {
                for (x, y) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    files.push(out(
                        format!("map/tiles/{t}/{x}_{y}.tif"),
                        tiff_gray(&site, 8),
                        "image/tiff",
                    ));
                }
            }
            pointclouds(
                &mut files,
                "map/pointcloud",
                &site,
                p.parameter.common().pointcloud_formats(),
            );
            blocks_exchange(&mut files, &p.parameter.common, &images);
        }
        JobType::Model3d => {
            let p = parse::<Model3dParams>(parameters);
            let mesh = p.parameter.mesh_formats();
            if mesh.obj {
                files.push(out(
                    "models/mesh/obj/Block.obj",
                    obj(&site).into_bytes(),
                    "text/plain",
                ));
                files.push(out(
                    "models/mesh/obj/Block.mtl",
                    b"newmtl terrain\nKd 0.6 0.6 0.5\n".to_vec(),
                    "text/plain",
                ));
            }
            if mesh.ply {
                files.push(out(
                    "models/mesh/ply/Block.ply",
                    ply(&site, true).into_bytes(),
                    "text/plain",
                ));
            }
            if mesh.b3dm {
                files.push(json_file(
                    "models/mesh/b3dm/tileset.json",
                    tileset(&site, "Data/Block.b3dm"),
                ));
                files.push(out(
                    "models/mesh/b3dm/Data/Block.b3dm",
                    b3dm(),
                    "application/octet-stream",
                ));
            }
            if mesh.osgb {
                files.push(out(
                    "models/mesh/osgb/metadata.xml",
                    osgb_metadata(&site).into_bytes(),
                    "application/xml",
                ));
                files.push(placeholder(
                    "models/mesh/osgb/Data/Tile_+000_+000/Tile_+000_+000.osgb",
                    "OSGB",
                ));
            }
            if mesh.s3mb {
                files.push(placeholder("models/mesh/s3mb/Block.s3mb", "s3mb"));
            }
            if mesh.i3s {
                files.push(placeholder(
                    "models/mesh/i3s/Block.slpk",
                    "I3S scene layer package",
                ));
            }
            pointclouds(
                &mut files,
                "models/pc",
                &site,
                p.parameter.common().pointcloud_formats(),
            );
            blocks_exchange(&mut files, &p.parameter.common, &images);
        }
        JobType::Lidar => {
            let p = parse::<LidarParams>(parameters);
            files.push(out(
                "lidars/terra_las/cloud_merged.las",
                las(&site.points),
                "application/octet-stream",
            ));
            let c = p.parameter.common();
            if c.generate_pnts.unwrap_or(true) {
                files.push(json_file(
                    "lidars/terra_pnts/tileset.json",
                    tileset(&site, "cloud.pnts"),
                ));
                files.push(out(
                    "lidars/terra_pnts/cloud.pnts",
                    pnts(&site.points),
                    "application/octet-stream",
                ));
            }
            if c.generate_point_ply.unwrap_or(false) {
                files.push(out(
                    "lidars/terra_ply/cloud.ply",
                    ply(&site, false).into_bytes(),
                    "text/plain",
                ));
            }
            if c.generate_pcd.unwrap_or(false) {
                files.push(out(
                    "lidars/terra_pcd/cloud.pcd",
                    pcd(&site.points).into_bytes(),
                    "text/plain",
                ));
            }
            if p.parameter.ground_extract.unwrap_or(false) {
                let ground: Vec<[f64; 3]> =
                    site.points.iter().filter(|p| p[2] < 0.0).copied().collect();
                files.push(out(
                    "lidars/terra_las/ground.las",
                    las(&ground),
                    "application/octet-stream",
                ));
            }
            if p.parameter.generate_dem.unwrap_or(false) {
                files.push(out(
                    "lidars/terra_dem/dem.tif",
                    tiff_dsm(&site, 16),
                    "image/tiff",
                ));
            }
        }
        _ => {
            files.push(json_file(
                "merge/merge_report.json",
                json!({"job": job_uuid, "inputs": inputs.len()}),
            ));
        }
    }
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
                json!({ "cameras": images.len(), "tie_points": site.points.len() }),
            ));
        }
    }
    let listing: Vec<serde_json::Value> = files
        .iter()
        .map(|f| json!({"name": f.name, "size": f.body.len()}))
        .collect();
    files.push(json_file(
        "report/report.json",
        json!({
            "job": job_uuid,
            "type": job_type.code(),
            "inputs": inputs.len(),
            "input_bytes": inputs.iter().map(|i| i.size).sum::<u64>(),
            "site": {"latitude": site.origin.0, "longitude": site.origin.1, "extent_m": site.extent},
            "outputs": listing,
            "generator": "terra-mock (plausible layout, not DJI's)",
        }),
    ));
    files
}

pub(crate) fn parse<P: ParameterSet>(s: &str) -> terra_types::JobParameters<P> {
    terra_types::JobParameters::from_json_str(s)
        .unwrap_or_else(|_| terra_types::JobParameters::new(P::default()))
}

fn placeholder(name: &str, format: &str) -> Output {
    out(
        name,
        format!("terra-mock placeholder: {format} content is not emulated\n").into_bytes(),
        "application/octet-stream",
    )
}

fn image_list(images: &[&Input]) -> Output {
    let list: Vec<serde_json::Value> = images
        .iter()
        .map(|i| match i.position {
            Some((lat, lon)) => json!({"name": i.name, "latitude": lat, "longitude": lon}),
            None => json!({"name": i.name}),
        })
        .collect();
    json_file("images/survey/image_list.json", json!({ "images": list }))
}

fn pointclouds(files: &mut Vec<Output>, dir: &str, site: &Site, f: PointcloudFormats) {
    let base = if f.merged { "merged" } else { "cloud" };
    if f.pnts {
        files.push(json_file(
            &format!("{dir}/pnts/tileset.json"),
            tileset(site, &format!("{base}.pnts")),
        ));
        files.push(out(
            format!("{dir}/pnts/{base}.pnts"),
            pnts(&site.points),
            "application/octet-stream",
        ));
    }
    if f.las {
        files.push(out(
            format!("{dir}/las/{base}.las"),
            las(&site.points),
            "application/octet-stream",
        ));
    }
    if f.ply {
        files.push(out(
            format!("{dir}/ply/{base}.ply"),
            ply(site, false).into_bytes(),
            "text/plain",
        ));
    }
    if f.pcd {
        files.push(out(
            format!("{dir}/pcd/{base}.pcd"),
            pcd(&site.points).into_bytes(),
            "text/plain",
        ));
    }
    if f.s3mb {
        files.push(placeholder(&format!("{dir}/s3mb/{base}.s3mb"), "s3mb"));
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
        if let Some((lat, lon)) = img.position {
            xml.push_str(&format!(
                "<Pose><Center><x>{lon}</x><y>{lat}</y><z>100</z></Center></Pose>"
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

fn wkt(site: &Site) -> String {
    format!(
        "LOCAL_CS[\"terra-mock ENU at {:.6},{:.6}\",LOCAL_DATUM[\"ENU\",0],UNIT[\"metre\",1],AXIS[\"E\",EAST],AXIS[\"N\",NORTH]]\n",
        site.origin.0, site.origin.1
    )
}

fn obj(site: &Site) -> String {
    let n = (site.points.len() as f64).sqrt() as usize;
    let mut s = String::from("# terra-mock mesh\nmtllib Block.mtl\nusemtl terrain\n");
    for p in &site.points {
        s.push_str(&format!("v {:.3} {:.3} {:.3}\n", p[0], p[1], p[2]));
    }
    for i in 0..n - 1 {
        for j in 0..n - 1 {
            let a = i * n + j + 1;
            s.push_str(&format!(
                "f {} {} {}\nf {} {} {}\n",
                a,
                a + n,
                a + 1,
                a + 1,
                a + n,
                a + n + 1
            ));
        }
    }
    s
}

fn ply(site: &Site, faces: bool) -> String {
    let n = (site.points.len() as f64).sqrt() as usize;
    let nf = if faces { 2 * (n - 1) * (n - 1) } else { 0 };
    let mut s = format!(
        "ply\nformat ascii 1.0\ncomment terra-mock\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\n",
        site.points.len()
    );
    if faces {
        s.push_str(&format!(
            "element face {nf}\nproperty list uchar int vertex_indices\n"
        ));
    }
    s.push_str("end_header\n");
    for p in &site.points {
        s.push_str(&format!("{:.3} {:.3} {:.3}\n", p[0], p[1], p[2]));
    }
    if faces {
        for i in 0..n - 1 {
            for j in 0..n - 1 {
                let a = i * n + j;
                s.push_str(&format!(
                    "3 {} {} {}\n3 {} {} {}\n",
                    a,
                    a + n,
                    a + 1,
                    a + 1,
                    a + n,
                    a + n + 1
                ));
            }
        }
    }
    s
}

fn pcd(points: &[[f64; 3]]) -> String {
    let mut s = format!(
        "# .PCD v0.7 - terra-mock\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA ascii\n",
        n = points.len()
    );
    for p in points {
        s.push_str(&format!("{:.3} {:.3} {:.3}\n", p[0], p[1], p[2]));
    }
    s
}

/// LAS 1.2, point data format 0 (20 bytes per point), scale 1 mm.
pub(crate) fn las(points: &[[f64; 3]]) -> Vec<u8> {
    const HEADER: u16 = 227;
    let scale: f64 = 0.001;
    let (mut min, mut max) = ([f64::MAX; 3], [f64::MIN; 3]);
    for p in points {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    if points.is_empty() {
        (min, max) = ([0.0; 3], [0.0; 3]);
    }
    let mut b = Vec::with_capacity(HEADER as usize + 20 * points.len());
    b.extend_from_slice(b"LASF");
    b.extend_from_slice(&0u16.to_le_bytes()); // file source id
    b.extend_from_slice(&0u16.to_le_bytes()); // global encoding
    b.extend_from_slice(&[0u8; 16]); // project GUID
    b.extend_from_slice(&[1, 2]); // version 1.2
    let text = |s: &str, len: usize| {
        let mut f = s.as_bytes().to_vec();
        f.resize(len, 0);
        f
    };
    let system = text("terra-mock", 32);
    let software = text("terra-mock", 32);
    b.extend_from_slice(&system);
    b.extend_from_slice(&software);
    b.extend_from_slice(&1u16.to_le_bytes()); // creation day of year
    b.extend_from_slice(&2026u16.to_le_bytes()); // creation year
    b.extend_from_slice(&HEADER.to_le_bytes());
    b.extend_from_slice(&u32::from(HEADER).to_le_bytes()); // offset to point data
    b.extend_from_slice(&0u32.to_le_bytes()); // number of VLRs
    b.push(0); // point data format
    b.extend_from_slice(&20u16.to_le_bytes()); // point record length
    b.extend_from_slice(&(points.len() as u32).to_le_bytes());
    let mut by_return = [0u32; 5];
    by_return[0] = points.len() as u32;
    for n in by_return {
        b.extend_from_slice(&n.to_le_bytes());
    }
    for _ in 0..3 {
        b.extend_from_slice(&scale.to_le_bytes());
    }
    for _ in 0..3 {
        b.extend_from_slice(&0f64.to_le_bytes()); // offsets
    }
    for k in 0..3 {
        b.extend_from_slice(&max[k].to_le_bytes());
        b.extend_from_slice(&min[k].to_le_bytes());
    }
    debug_assert_eq!(b.len(), HEADER as usize);
    for p in points {
        for v in p {
            b.extend_from_slice(&((v / scale).round() as i32).to_le_bytes());
        }
        b.extend_from_slice(&0u16.to_le_bytes()); // intensity
        b.push(0b0000_1001); // return 1 of 1
        b.push(2); // classification: ground
        b.push(0); // scan angle
        b.push(0); // user data
        b.extend_from_slice(&0u16.to_le_bytes()); // point source id
    }
    b
}

/// A baseline little-endian TIFF with GeoTIFF pixel scale and tie point.
fn tiff(
    width: u32,
    height: u32,
    bits: u16,
    sample_format: u16,
    data: &[u8],
    site: &Site,
) -> Vec<u8> {
    let pixel = 2.0 * site.extent / f64::from(width);
    let scale = [pixel, pixel, 0.0];
    let tie = [0.0, 0.0, 0.0, -site.extent, site.extent, 0.0];
    let entries: u16 = 12;
    let ifd_offset: u32 = 8;
    let ifd_len = 2 + 12 * u32::from(entries) + 4;
    let scale_offset = ifd_offset + ifd_len;
    let tie_offset = scale_offset + 24;
    let data_offset = tie_offset + 48;
    let mut b = Vec::new();
    b.extend_from_slice(b"II");
    b.extend_from_slice(&42u16.to_le_bytes());
    b.extend_from_slice(&ifd_offset.to_le_bytes());
    b.extend_from_slice(&entries.to_le_bytes());
    let mut entry = |tag: u16, typ: u16, count: u32, value: u32| {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&typ.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        b.extend_from_slice(&value.to_le_bytes());
    };
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const DOUBLE: u16 = 12;
    entry(256, LONG, 1, width);
    entry(257, LONG, 1, height);
    entry(258, SHORT, 1, u32::from(bits));
    entry(259, SHORT, 1, 1); // no compression
    entry(262, SHORT, 1, 1); // black is zero
    entry(273, LONG, 1, data_offset);
    entry(277, SHORT, 1, 1);
    entry(278, LONG, 1, height);
    entry(279, LONG, 1, data.len() as u32);
    entry(339, SHORT, 1, u32::from(sample_format));
    entry(33550, DOUBLE, 3, scale_offset);
    entry(33922, DOUBLE, 6, tie_offset);
    b.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    for v in scale.iter().chain(tie.iter()) {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn heights(site: &Site, n: usize) -> Vec<f64> {
    let mut h = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let x = -1.0 + 2.0 * j as f64 / (n - 1) as f64;
            let y = -1.0 + 2.0 * i as f64 / (n - 1) as f64;
            h.push(5.0 * ((x * 3.0).sin() + (y * 2.0).cos()) + site.extent / 100.0);
        }
    }
    h
}

fn tiff_gray(site: &Site, n: u32) -> Vec<u8> {
    let data: Vec<u8> = heights(site, n as usize)
        .iter()
        .map(|h| (128.0 + h * 10.0).clamp(0.0, 255.0) as u8)
        .collect();
    tiff(n, n, 8, 1, &data, site)
}

fn tiff_dsm(site: &Site, n: u32) -> Vec<u8> {
    let data: Vec<u8> = heights(site, n as usize)
        .iter()
        .flat_map(|h| (*h as f32).to_le_bytes())
        .collect();
    tiff(n, n, 32, 3, &data, site)
}

fn tileset(site: &Site, uri: &str) -> serde_json::Value {
    let e = site.extent;
    json!({
        "asset": {"version": "1.0", "generator": "terra-mock"},
        "geometricError": e,
        "root": {
            "boundingVolume": {"box": [0, 0, 0, e, 0, 0, 0, e, 0, 0, 0, 10]},
            "geometricError": 0,
            "refine": "ADD",
            "content": {"uri": uri}
        }
    })
}

fn pad(mut v: Vec<u8>, to: usize, with: u8) -> Vec<u8> {
    while !v.len().is_multiple_of(to) {
        v.push(with);
    }
    v
}

/// 3D Tiles point cloud: header, feature table JSON and float32 positions.
fn pnts(points: &[[f64; 3]]) -> Vec<u8> {
    let ft_json = pad(
        format!(
            r#"{{"POINTS_LENGTH":{},"POSITION":{{"byteOffset":0}}}}"#,
            points.len()
        )
        .into_bytes(),
        8,
        b' ',
    );
    let ft_bin: Vec<u8> = points
        .iter()
        .flat_map(|p| p.iter().flat_map(|v| (*v as f32).to_le_bytes()))
        .collect();
    let ft_bin = pad(ft_bin, 8, 0);
    let total = 28 + ft_json.len() + ft_bin.len();
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(b"pnts");
    for v in [
        1,
        total as u32,
        ft_json.len() as u32,
        ft_bin.len() as u32,
        0,
        0,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend(ft_json);
    b.extend(ft_bin);
    b
}

/// 3D Tiles batched model wrapping a minimal valid glTF 2.0 binary (no geometry).
fn b3dm() -> Vec<u8> {
    let gltf_json = pad(
        br#"{"asset":{"version":"2.0","generator":"terra-mock"}}"#.to_vec(),
        4,
        b' ',
    );
    let glb_len = 12 + 8 + gltf_json.len();
    let mut glb = Vec::with_capacity(glb_len);
    glb.extend_from_slice(b"glTF");
    glb.extend_from_slice(&2u32.to_le_bytes());
    glb.extend_from_slice(&(glb_len as u32).to_le_bytes());
    glb.extend_from_slice(&(gltf_json.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"JSON");
    glb.extend(gltf_json);
    let ft_json = pad(br#"{"BATCH_LENGTH":0}"#.to_vec(), 8, b' ');
    let total = 28 + ft_json.len() + glb.len();
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(b"b3dm");
    for v in [1, total as u32, ft_json.len() as u32, 0, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend(ft_json);
    b.extend(glb);
    b
}

fn osgb_metadata(site: &Site) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ModelMetadata version=\"1\">\n  <SRS>ENU:{:.6},{:.6}</SRS>\n  <SRSOrigin>0,0,0</SRSOrigin>\n</ModelMetadata>\n",
        site.origin.0, site.origin.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(n: usize) -> Vec<Input> {
        (0..n)
            .map(|i| Input {
                name: format!("DJI_{i:04}.JPG"),
                size: 1000,
                position: Some((22.57 + i as f64 * 1e-4, 113.94)),
            })
            .collect()
    }

    fn names(files: &[Output]) -> Vec<&str> {
        files.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn map_2d_has_image_list_dom_and_dsm() {
        let files = generate(
            JobType::Map2d,
            r#"{"parameter":{"map_mode":1,"dom_tile_size":256}}"#,
            "j",
            &inputs(12),
        );
        let n = names(&files);
        for want in [
            "images/survey/image_list.json",
            "map/result.tif",
            "map/dsm.tif",
            "map/tiles/256/0_0.tif",
            "report/report.json",
        ] {
            assert!(n.contains(&want), "{want} missing from {n:?}");
        }
        let list: serde_json::Value = serde_json::from_slice(&files[0].body).unwrap();
        assert_eq!(list["images"].as_array().unwrap().len(), 12);
        let tif = &files
            .iter()
            .find(|f| f.name == "map/result.tif")
            .unwrap()
            .body;
        assert_eq!(&tif[..4], b"II*\0");
    }

    #[test]
    fn model_3d_follows_the_generate_flags() {
        let p = r#"{"parameter":{"output_mesh":true,"generate_obj":true,"generate_b3dm":true,"output_pointcloud":true,"generate_las":true,"generate_pnts":false}}"#;
        let files = generate(JobType::Model3d, p, "j", &inputs(10));
        let n = names(&files);
        assert!(
            n.contains(&"models/mesh/obj/Block.obj")
                && n.contains(&"models/mesh/b3dm/Data/Block.b3dm")
        );
        assert!(n.contains(&"models/pc/las/cloud.las"));
        assert!(
            !n.iter()
                .any(|f| f.contains("ply") || f.contains("osgb") || f.contains("pnts")),
            "{n:?}"
        );
        // Without output_mesh, the generate flags are ignored (documented master switch).
        let files = generate(
            JobType::Model3d,
            r#"{"parameter":{"generate_obj":true}}"#,
            "j",
            &inputs(10),
        );
        assert!(!names(&files).iter().any(|f| f.starts_with("models/mesh")));
    }

    #[test]
    fn las_header_is_consistent() {
        let pts = [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]];
        let b = las(&pts);
        assert_eq!(&b[..4], b"LASF");
        assert_eq!(b.len(), 227 + 20 * 2);
        assert_eq!(u32::from_le_bytes(b[96..100].try_into().unwrap()), 227);
        assert_eq!(u32::from_le_bytes(b[107..111].try_into().unwrap()), 2);
        let x0 = i32::from_le_bytes(b[227..231].try_into().unwrap());
        assert_eq!(x0, 1000);
    }

    #[test]
    fn lidar_outputs() {
        let mission = vec![Input {
            name: "DJI_001.LDR".into(),
            size: 5,
            position: None,
        }];
        let files = generate(
            JobType::Lidar,
            r#"{"parameter":{"ground_extract":true,"generate_dem":true}}"#,
            "j",
            &mission,
        );
        let n = names(&files);
        for want in [
            "lidars/terra_las/cloud_merged.las",
            "lidars/terra_las/ground.las",
            "lidars/terra_dem/dem.tif",
            "lidars/terra_pnts/cloud.pnts",
        ] {
            assert!(n.contains(&want), "{want} missing from {n:?}");
        }
        assert!(!n.contains(&"images/survey/image_list.json"));
    }

    #[test]
    fn tiles_binaries_have_consistent_lengths() {
        let p = pnts(&[[0.0; 3]; 5]);
        assert_eq!(
            u32::from_le_bytes(p[8..12].try_into().unwrap()) as usize,
            p.len()
        );
        let b = b3dm();
        assert_eq!(
            u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(&b[b.len() - (b.len() - 28 - 24)..][..4], b"glTF");
    }
}
