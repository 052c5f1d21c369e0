//! The textured mesh of a 3D job in every format its parameters ask for (one mesh,
//! several encodings, so that each lies where the OBJ lies), and the S3M form of point
//! clouds.
//!
//! The paged formats share three levels of detail ([`Level`]): every fourth row and
//! column of the mesh, every second, and the whole mesh.

use super::cloud::Point;
use super::i3s;
use super::lod::Level;
use super::mesh::{self, Mesh};
use super::osgb;
use super::s3m;
use super::site::{Grid, Site};
use super::{Output, json_file, out};
use terra_types::Model3dParams;

/// Rows and columns kept per level, coarsest first, and the screen size (pixels across)
/// up to which each is drawn before the next replaces it.
const LEVELS: [(u32, f64); 3] = [(4, 300.0), (2, 600.0), (1, 1.0e30)];

/// The mesh outputs of a 3D job over the orthophoto `ortho` (RGBA on `grid`).
pub(super) fn model_3d(
    files: &mut Vec<Output>,
    site: &Site,
    grid: &Grid,
    ortho: &[u8],
    p: &Model3dParams,
) {
    let formats = p.mesh_formats();
    if !(formats.obj || formats.ply || formats.b3dm || formats.osgb || formats.s3mb || formats.i3s)
    {
        return;
    }
    let mesh = Mesh::new(site, &site.grid(0.0, 40), grid);
    let texture = mesh::texture(grid, ortho);
    let metadata = mesh::metadata(site).into_bytes();
    if formats.obj {
        files.push(out(
            "models/mesh/obj/Block.obj",
            mesh::obj(site, &mesh).into_bytes(),
            "text/plain",
        ));
        files.push(out(
            "models/mesh/obj/Block.mtl",
            mesh::mtl("Block.jpg").into_bytes(),
            "text/plain",
        ));
        files.push(out(
            "models/mesh/obj/Block.jpg",
            texture.clone(),
            "image/jpeg",
        ));
        files.push(out(
            "models/mesh/obj/metadata.xml",
            metadata.clone(),
            "application/xml",
        ));
    }
    if formats.ply {
        files.push(out(
            "models/mesh/ply/Block.ply",
            mesh::ply(site, &mesh, "Block.jpg").into_bytes(),
            "text/plain",
        ));
        files.push(out(
            "models/mesh/ply/Block.jpg",
            texture.clone(),
            "image/jpeg",
        ));
        files.push(out(
            "models/mesh/ply/metadata.xml",
            metadata.clone(),
            "application/xml",
        ));
    }
    if formats.b3dm {
        let glb = mesh::glb(site, &mesh, &texture);
        files.push(json_file(
            "models/mesh/b3dm/tileset.json",
            mesh::tileset(site, &mesh::tile_points(site, &mesh), "Data/Block.b3dm"),
        ));
        files.push(out(
            "models/mesh/b3dm/Data/Block.b3dm",
            mesh::b3dm(&glb),
            "application/octet-stream",
        ));
    }
    if !(formats.osgb || formats.s3mb || formats.i3s) {
        return;
    }
    let local = mesh::local(site, &mesh);
    let levels = LEVELS.map(|(step, _)| Level::of(&mesh, &local, step));
    // Each level's texture as fine as its mesh: the finest is the OBJ's.
    let side = grid.w.max(grid.h);
    let textures = LEVELS.map(|(step, _)| {
        if step == 1 {
            (texture.clone(), (grid.w, grid.h))
        } else {
            let (w, h, rgb) = mesh::texture_pixels(grid, ortho, side.div_ceil(step));
            (mesh::jpeg(w, h, &rgb), (w, h))
        }
    });
    if formats.osgb {
        osgb_tile(files, &levels, &textures, metadata);
    }
    if formats.i3s {
        let nodes: Vec<i3s::Node<'_>> = levels
            .iter()
            .zip(LEVELS)
            .zip(&textures)
            .map(|((level, (_, pixels)), (jpeg, size))| i3s::Node {
                level,
                // Node-switching thresholds are areas: the disc `pixels` across.
                pixels: std::f64::consts::FRAC_PI_4 * pixels.min(1.0e6).powi(2),
                texture: jpeg,
                texture_size: *size,
            })
            .collect();
        files.push(out(
            "models/mesh/i3s/Block.slpk",
            i3s::slpk(site, &mesh, &nodes),
            "application/octet-stream",
        ));
    }
    if formats.s3mb {
        s3m_mesh(files, site, &mesh, &levels, grid, ortho);
    }
}

/// ContextCapture's layout (`metadata.xml` beside `Data/`, one folder per tile): the
/// one tile of the site, each level a `PagedLOD` naming the finer file.
fn osgb_tile(
    files: &mut Vec<Output>,
    levels: &[Level; 3],
    textures: &[(Vec<u8>, (u32, u32)); 3],
    metadata: Vec<u8>,
) {
    const DIR: &str = "models/mesh/osgb/Data/Tile_+000_+000";
    files.push(out(
        "models/mesh/osgb/metadata.xml",
        metadata,
        "application/xml",
    ));
    let names = [
        "Tile_+000_+000.osgb",
        "Tile_+000_+000_L1_0.osgb",
        "Tile_+000_+000_L2_00.osgb",
    ];
    for (k, level) in levels.iter().enumerate() {
        let texture = &textures[k].0;
        let body = match names.get(k + 1) {
            Some(finer) => osgb::paged(level, texture, LEVELS[k].1 as f32, finer),
            None => osgb::leaf(level, texture),
        };
        files.push(out(
            format!("{DIR}/{}", names[k]),
            body,
            "application/octet-stream",
        ));
    }
}

/// `Block.scp` naming `Block.s3mb`, whose LOD package names the finer tile beside it.
fn s3m_mesh(
    files: &mut Vec<Output>,
    site: &Site,
    mesh: &Mesh,
    levels: &[Level; 3],
    grid: &Grid,
    ortho: &[u8],
) {
    const DIR: &str = "models/mesh/s3mb";
    let names = ["Block.s3mb", "Block_L1_0.s3mb", "Block_L2_00.s3mb"];
    let mut root = None;
    for (k, level) in levels.iter().enumerate() {
        let skeleton = mesh_skeleton(mesh, level, &format!("Block_L{k}"));
        // The coarsest level gets a coarser texture, as readers page them in.
        let texture = rgb_texture(
            grid,
            ortho,
            if k == 0 { 64 } else { 128 },
            &format!("Block_L{k}_texture"),
        );
        let lod = s3m::Lod {
            range: LEVELS[k].1 as f32,
            child: names.get(k + 1).copied(),
        };
        files.push(out(
            format!("{DIR}/{}", names[k]),
            s3m::tile(&skeleton, Some(&texture), &lod),
            "application/octet-stream",
        ));
        if k == 0 {
            root = Some(skeleton);
        }
    }
    if let Some(root) = root {
        let vertices: Vec<[f64; 3]> = mesh.xyzh.iter().map(|v| [v[0], v[1], v[4]]).collect();
        files.push(json_file(
            &format!("{DIR}/Block.scp"),
            s3m::scp(
                "RealityMesh",
                &placement(site, &vertices),
                &root,
                "./Block.s3mb",
            ),
        ));
    }
}

/// A point cloud as `{dir}/{base}.scp` and the one tile `{dir}/{base}.s3mb`.
pub(super) fn s3m_points(
    files: &mut Vec<Output>,
    dir: &str,
    base: &str,
    site: &Site,
    points: &[Point],
) {
    let (_, _, offset) = mesh::srs(site);
    let mut k = s3m::Skeleton {
        name: base.to_owned(),
        vertices: Vec::with_capacity(points.len()),
        normals: Vec::with_capacity(points.len()),
        colours: Vec::with_capacity(points.len()),
        uv: Vec::new(),
        tangents: Vec::with_capacity(points.len()),
        indices: (0..points.len() as u32).collect(),
        points: true,
    };
    for p in points {
        let v = match offset {
            Some(o) => [p.x - o[0], p.y - o[1], p.h],
            None => [p.e, p.n, p.h],
        };
        k.vertices.push(v.map(|c| c as f32));
        // The surface's slope where the point lies.
        let dhde = (site.height(p.e + 0.5, p.n) - site.height(p.e - 0.5, p.n)) / 1.0;
        let dhdn = (site.height(p.e, p.n + 0.5) - site.height(p.e, p.n - 0.5)) / 1.0;
        let n = unit([-dhde, -dhdn, 1.0]);
        k.normals.push(n.map(|c| c as f32));
        k.tangents.push(tangent(n));
        k.colours.push([p.rgb[0], p.rgb[1], p.rgb[2], 255]);
    }
    let lod = s3m::Lod {
        range: 1.0e30,
        child: None,
    };
    files.push(out(
        format!("{dir}/{base}.s3mb"),
        s3m::tile(&k, None, &lod),
        "application/octet-stream",
    ));
    let vertices: Vec<[f64; 3]> = points.iter().map(|p| [p.x, p.y, p.h]).collect();
    files.push(json_file(
        &format!("{dir}/{base}.scp"),
        s3m::scp(
            "PointCloud",
            &placement(site, &vertices),
            &k,
            &format!("./{base}.s3mb"),
        ),
    ));
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-12);
    v.map(|c| c / len)
}

/// The surface's eastward tangent at a point of normal `n` (handedness +1).
fn tangent(n: [f64; 3]) -> [f32; 4] {
    let t = unit([n[2], 0.0, -n[0]]);
    [t[0] as f32, t[1] as f32, t[2] as f32, 1.0]
}

/// One level of the mesh as an S3M skeleton: white vertices, textured.
fn mesh_skeleton(mesh: &Mesh, level: &Level, name: &str) -> s3m::Skeleton {
    let normals: Vec<[f64; 3]> = level.source.iter().map(|&k| mesh.normal(k)).collect();
    s3m::Skeleton {
        name: name.to_owned(),
        vertices: level.vertices.clone(),
        normals: normals.iter().map(|n| n.map(|c| c as f32)).collect(),
        colours: vec![[255; 4]; level.vertices.len()],
        uv: level.uv.clone(),
        tangents: normals.iter().map(|&n| tangent(n)).collect(),
        indices: level.triangles.clone(),
        points: false,
    }
}

/// The system of a dataset and the point its model coordinates are relative to (as
/// `metadata.xml` says for the mesh), with the extent of `vertices` (output-system `x, y`
/// and height).
fn placement(site: &Site, vertices: &[[f64; 3]]) -> s3m::Placement {
    let (_, origin, offset) = mesh::srs(site);
    let crs = site.crs();
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for v in vertices {
        let xy = match offset {
            Some(_) => [v[0], v[1]],
            None => {
                let (lat, lon) = crs.inverse(v[0], v[1]);
                [lon, lat]
            }
        };
        for k in 0..2 {
            lo[k] = lo[k].min(xy[k]);
            hi[k] = hi[k].max(xy[k]);
        }
    }
    match (offset, crs.epsg) {
        (Some(_), Some(code)) => s3m::Placement {
            crs: format!("epsg:{code}"),
            position: origin,
            degrees: false,
            geo_bounds: [lo[0], lo[1], hi[0], hi[1]],
        },
        _ => s3m::Placement {
            // East-north-up metres around a position in degrees: the geographic system
            // asked for, or WGS 84 for local systems.
            crs: format!(
                "epsg:{}",
                crs.epsg.filter(|_| crs.is_geographic()).unwrap_or(4326)
            ),
            position: [site.origin.1, site.origin.0, 0.0],
            degrees: true,
            geo_bounds: [lo[0], lo[1], hi[0], hi[1]],
        },
    }
}

/// The orthophoto's RGBA as RGB8 pixels of at most `max` on the long side (transparent
/// pixels grey, as in the JPEG texture), rows from the bottom as OpenGL reads raw pixels
/// (the texture coordinates count rows from the bottom too).
fn rgb_texture(grid: &Grid, rgba: &[u8], max: u32, name: &str) -> s3m::Texture {
    let (width, height, top_first) = mesh::texture_pixels(grid, rgba, max);
    let row = (width * 3) as usize;
    let rgb = top_first
        .chunks(row.max(1))
        .rev()
        .flatten()
        .copied()
        .collect();
    s3m::Texture {
        name: name.to_owned(),
        width,
        height,
        rgb,
    }
}
