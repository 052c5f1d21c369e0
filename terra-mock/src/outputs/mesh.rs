//! Textured surface meshes: OBJ (with MTL and a JPEG texture) and PLY beside a
//! `metadata.xml` naming the system and origin (as DJI Terra's local exports do), and
//! 3D Tiles: a `b3dm` wrapping a glTF 2.0 binary, with a `tileset.json` whose root
//! transform places it on the Earth.

use super::cloud::pad_to;
use super::crs::{Kind, enu_to_ecef};
use super::site::{Grid, Site};
use serde_json::json;

/// A grid of vertices over the site, with texture coordinates into the orthophoto.
#[derive(Debug)]
pub(crate) struct Mesh {
    /// Vertices per row and rows.
    pub w: u32,
    pub h: u32,
    /// Output-system `x, y`, east and north metres, height.
    pub xyzh: Vec<[f64; 5]>,
    /// Texture coordinates, origin at the top-left of the orthophoto.
    pub uv: Vec<[f64; 2]>,
}

impl Mesh {
    /// Vertices at the cell centres of `grid`, textured by the orthophoto on `ortho`.
    pub(crate) fn new(site: &Site, grid: &Grid, ortho: &Grid) -> Self {
        let mut xyzh = Vec::with_capacity((grid.w * grid.h) as usize);
        let mut uv = Vec::with_capacity(xyzh.capacity());
        for j in 0..grid.h {
            for i in 0..grid.w {
                let (x, y) = grid.centre(i, j);
                let (e, n) = site.enu(x, y);
                xyzh.push([x, y, e, n, site.height(e, n)]);
                uv.push([
                    ((x - ortho.x0) / (ortho.sx * f64::from(ortho.w))).clamp(0.0, 1.0),
                    ((ortho.y0 - y) / (ortho.sy * f64::from(ortho.h))).clamp(0.0, 1.0),
                ]);
            }
        }
        Self {
            w: grid.w,
            h: grid.h,
            xyzh,
            uv,
        }
    }

    /// Triangles, counter-clockwise seen from above.
    fn triangles(&self) -> Vec<[u32; 3]> {
        let mut t = Vec::new();
        for j in 0..self.h - 1 {
            for i in 0..self.w - 1 {
                let a = j * self.w + i;
                let (b, c) = (a + self.w, a + 1);
                t.push([a, b, c]);
                t.push([c, b, b + 1]);
            }
        }
        t
    }

    /// East-north-up offsets from the site's origin (height relative to `h0`).
    fn enu(&self, h0: f64) -> impl Iterator<Item = [f64; 3]> + '_ {
        self.xyzh.iter().map(move |v| [v[2], v[3], v[4] - h0])
    }

    /// The surface normal at vertex `k`, in east-north-up axes.
    pub(crate) fn normal(&self, k: usize) -> [f64; 3] {
        let (i, j) = (k as u32 % self.w, k as u32 / self.w);
        let at = |i: u32, j: u32| self.xyzh[(j * self.w + i) as usize];
        let (l, r) = (at(i.saturating_sub(1), j), at((i + 1).min(self.w - 1), j));
        let (u, d) = (at(i, j.saturating_sub(1)), at(i, (j + 1).min(self.h - 1)));
        let dhde = (r[4] - l[4]) / (r[2] - l[2]).abs().max(1e-6);
        let dhdn = (u[4] - d[4]) / (u[3] - d[3]).abs().max(1e-6);
        let v = [-dhde, -dhdn, 1.0];
        let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        v.map(|c| c / len)
    }
}

/// The `SRS` and `SRSOrigin` of a metadata file, and the offset subtracted from the
/// output-system coordinates of the model (projected systems), or `None` when the model
/// is written in east-north-up metres around the origin (geographic and local systems).
pub(crate) fn srs(site: &Site) -> (String, [f64; 3], Option<[f64; 2]>) {
    match (&site.crs().kind, site.crs().epsg) {
        (Kind::Geographic | Kind::LocalEnu { .. }, _) | (_, None) => (
            format!("ENU:{:.7},{:.7}", site.origin.0, site.origin.1),
            [0.0; 3],
            None,
        ),
        (_, Some(code)) => {
            let (x, y) = site.xy(0.0, 0.0);
            let o = [x.round(), y.round()];
            (format!("EPSG:{code}"), [o[0], o[1], 0.0], Some(o))
        }
    }
}

/// Model coordinates of each vertex, as `metadata.xml` describes them.
pub(crate) fn local(site: &Site, mesh: &Mesh) -> Vec<[f64; 3]> {
    let (_, _, offset) = srs(site);
    mesh.xyzh
        .iter()
        .map(|v| match offset {
            Some(o) => [v[0] - o[0], v[1] - o[1], v[4]],
            None => [v[2], v[3], v[4]],
        })
        .collect()
}

/// `metadata.xml` beside a model: its system and the origin its coordinates are
/// relative to.
pub(crate) fn metadata(site: &Site) -> String {
    let (srs, o, _) = srs(site);
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ModelMetadata version=\"1\">\n  <!--{}-->\n  <SRS>{srs}</SRS>\n  <SRSOrigin>{},{},{}</SRSOrigin>\n  <Texture>\n    <ColorSource>Visible</ColorSource>\n  </Texture>\n</ModelMetadata>\n",
        site.crs().name,
        o[0],
        o[1],
        o[2]
    )
}

/// A Wavefront OBJ using `Block.mtl`, whose material maps `texture`.
pub(crate) fn obj(site: &Site, mesh: &Mesh) -> String {
    let mut s =
        String::from("# terra-mock mesh; coordinates as metadata.xml says\nmtllib Block.mtl\n");
    for v in local(site, mesh) {
        s.push_str(&format!("v {:.3} {:.3} {:.3}\n", v[0], v[1], v[2]));
    }
    for t in &mesh.uv {
        s.push_str(&format!("vt {:.6} {:.6}\n", t[0], 1.0 - t[1]));
    }
    s.push_str("usemtl terrain\n");
    for [a, b, c] in mesh.triangles() {
        let (a, b, c) = (a + 1, b + 1, c + 1);
        s.push_str(&format!("f {a}/{a} {b}/{b} {c}/{c}\n"));
    }
    s
}

/// The MTL of [`obj`].
pub(crate) fn mtl(texture: &str) -> String {
    format!("newmtl terrain\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nillum 1\nmap_Kd {texture}\n")
}

/// An ASCII PLY mesh with texture coordinates.
pub(crate) fn ply(site: &Site, mesh: &Mesh, texture: &str) -> String {
    let tris = mesh.triangles();
    let mut s = format!(
        "ply\nformat ascii 1.0\ncomment terra-mock mesh; coordinates as metadata.xml says\ncomment TextureFile {texture}\nelement vertex {}\nproperty double x\nproperty double y\nproperty double z\nproperty float s\nproperty float t\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.xyzh.len(),
        tris.len()
    );
    for (v, t) in local(site, mesh).iter().zip(&mesh.uv) {
        s.push_str(&format!(
            "{:.3} {:.3} {:.3} {:.6} {:.6}\n",
            v[0],
            v[1],
            v[2],
            t[0],
            1.0 - t[1]
        ));
    }
    for [a, b, c] in tris {
        s.push_str(&format!("3 {a} {b} {c}\n"));
    }
    s
}

fn push_f32(buf: &mut Vec<u8>, v: f64) -> f32 {
    let f = v as f32;
    buf.extend_from_slice(&f.to_le_bytes());
    f
}

/// A glTF 2.0 binary of the mesh in east-north-up metres from the site's origin, turned
/// y-up as glTF wants (x east, y up, z south), textured with the JPEG `texture`.
pub(crate) fn glb(site: &Site, mesh: &Mesh, texture: &[u8]) -> Vec<u8> {
    let h0 = site.origin.2;
    let nv = mesh.xyzh.len();
    let mut bin = Vec::new();
    let (mut min, mut max) = ([f32::MAX; 3], [f32::MIN; 3]);
    for p in mesh.enu(h0) {
        for (k, v) in [p[0], p[2], -p[1]].into_iter().enumerate() {
            let f = push_f32(&mut bin, v);
            min[k] = min[k].min(f);
            max[k] = max[k].max(f);
        }
    }
    let normals_at = bin.len();
    for k in 0..nv {
        let n = mesh.normal(k);
        for v in [n[0], n[2], -n[1]] {
            push_f32(&mut bin, v);
        }
    }
    let uv_at = bin.len();
    for t in &mesh.uv {
        push_f32(&mut bin, t[0]);
        push_f32(&mut bin, t[1]);
    }
    let idx_at = bin.len();
    let tris = mesh.triangles();
    for i in tris.iter().flatten() {
        bin.extend_from_slice(&(*i as u16).to_le_bytes());
    }
    let idx_len = bin.len() - idx_at;
    let mut bin = pad_to(bin, 0, 4, 0);
    let img_at = bin.len();
    bin.extend_from_slice(texture);
    let bin = pad_to(bin, 0, 4, 0);
    let view = |offset: usize, len: usize, target: Option<u32>| {
        let mut v = json!({"buffer": 0, "byteOffset": offset, "byteLength": len});
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        v
    };
    let doc = json!({
        "asset": {"version": "2.0", "generator": "terra-mock"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "terrain"}],
        "meshes": [{"primitives": [{
            "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
            "indices": 3, "material": 0, "mode": 4
        }]}],
        "materials": [{
            "name": "terrain",
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": 0},
                "metallicFactor": 0.0,
                "roughnessFactor": 1.0
            }
        }],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9729, "wrapS": 33071, "wrapT": 33071}],
        "images": [{"bufferView": 4, "mimeType": "image/jpeg"}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": nv, "type": "VEC3",
             "min": min.map(f64::from), "max": max.map(f64::from)},
            {"bufferView": 1, "componentType": 5126, "count": nv, "type": "VEC3"},
            {"bufferView": 2, "componentType": 5126, "count": nv, "type": "VEC2"},
            {"bufferView": 3, "componentType": 5123, "count": tris.len() * 3, "type": "SCALAR"}
        ],
        "bufferViews": [
            view(0, normals_at, Some(34962)),
            view(normals_at, uv_at - normals_at, Some(34962)),
            view(uv_at, idx_at - uv_at, Some(34962)),
            view(idx_at, idx_len, Some(34963)),
            view(img_at, texture.len(), None)
        ],
        "buffers": [{"byteLength": bin.len()}]
    });
    let json = pad_to(doc.to_string().into_bytes(), 0, 4, b' ');
    let total = 12 + 8 + json.len() + 8 + bin.len();
    let mut glb = Vec::with_capacity(total);
    glb.extend_from_slice(b"glTF");
    glb.extend_from_slice(&2u32.to_le_bytes());
    glb.extend_from_slice(&(total as u32).to_le_bytes());
    glb.extend_from_slice(&(json.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"JSON");
    glb.extend(json);
    glb.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"BIN\0");
    glb.extend(bin);
    glb
}

/// A batched 3D model tile wrapping `glb` (no batch table).
pub(crate) fn b3dm(glb: &[u8]) -> Vec<u8> {
    let ft_json = pad_to(br#"{"BATCH_LENGTH":0}"#.to_vec(), 28, 8, b' ');
    let total = 28 + ft_json.len() + glb.len();
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(b"b3dm");
    for v in [1, total as u32, ft_json.len() as u32, 0, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend(ft_json);
    b.extend_from_slice(glb);
    b
}

/// A one-tile tileset: the root transform puts east-north-up metres at the site's origin
/// on the WGS 84 ellipsoid, and the bounding box (in those metres, z up) holds
/// `points`, the content's positions.
pub(crate) fn tileset(site: &Site, points: &[[f64; 3]], uri: &str) -> serde_json::Value {
    let (lo, hi) = points
        .iter()
        .fold(([f64::MAX; 3], [f64::MIN; 3]), |(mut lo, mut hi), p| {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
            (lo, hi)
        });
    let (lo, hi) = if points.is_empty() {
        ([-1.0; 3], [1.0; 3])
    } else {
        (lo, hi)
    };
    let c = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    // Half sizes with a margin, so that float32 rounding of the content stays inside.
    let half = [0, 1, 2].map(|k| (hi[k] - lo[k]) / 2.0 + 0.5);
    let diagonal = (half[0] * half[0] + half[1] * half[1] + half[2] * half[2]).sqrt() * 2.0;
    let (lat, lon, h) = site.origin;
    json!({
        "asset": {"version": "1.0", "generator": "terra-mock"},
        "geometricError": (diagonal / 2.0).ceil(),
        "root": {
            "transform": enu_to_ecef(lat, lon, h),
            "boundingVolume": {"box": [
                c[0], c[1], c[2],
                half[0], 0.0, 0.0,
                0.0, half[1], 0.0,
                0.0, 0.0, half[2]
            ]},
            "geometricError": 0.0,
            "refine": "REPLACE",
            "content": {"uri": uri}
        }
    })
}

/// The content positions of [`glb`] in the tile's frame (z up), for [`tileset`].
pub(crate) fn tile_points(site: &Site, mesh: &Mesh) -> Vec<[f64; 3]> {
    mesh.enu(site.origin.2).collect()
}

/// The orthophoto's RGBA as a JPEG texture (transparent pixels grey).
pub(crate) fn texture(grid: &Grid, rgba: &[u8]) -> Vec<u8> {
    let (w, h, rgb) = texture_pixels(grid, rgba, grid.w.max(grid.h));
    jpeg(w, h, &rgb)
}

/// The orthophoto's RGBA as RGB pixels (rows from the top, transparent pixels grey),
/// averaged down to at most `max` on the long side: the texture of a coarser level.
pub(crate) fn texture_pixels(grid: &Grid, rgba: &[u8], max: u32) -> (u32, u32, Vec<u8>) {
    let step = grid.w.max(grid.h).div_ceil(max.max(1)).max(1);
    let (w, h) = (grid.w.div_ceil(step), grid.h.div_ceil(step));
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for j in 0..h {
        for i in 0..w {
            let (mut sum, mut n) = ([0u32; 3], 0u32);
            for y in j * step..((j + 1) * step).min(grid.h) {
                for x in i * step..((i + 1) * step).min(grid.w) {
                    let at = ((y * grid.w + x) * 4) as usize;
                    let p = &rgba[at..at + 4];
                    let c = if p[3] == 0 {
                        [128, 128, 128]
                    } else {
                        [p[0], p[1], p[2]]
                    };
                    for k in 0..3 {
                        sum[k] += u32::from(c[k]);
                    }
                    n += 1;
                }
            }
            rgb.extend(sum.map(|s| (s / n.max(1)) as u8));
        }
    }
    (w, h, rgb)
}

/// RGB pixels as a JPEG.
pub(crate) fn jpeg(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, 80);
    match enc.encode(rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb) {
        Ok(()) => out,
        Err(e) => {
            // Sizes are bounded by `max_raster_pixels`; an encoder error is a bug.
            tracing::error!(error = %e, "cannot encode a mesh texture");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OutputConfig;
    use crate::outputs::Input;

    fn site() -> Site {
        let inputs: Vec<Input> = (0..6)
            .map(|i| Input {
                name: format!("{i}.JPG"),
                size: 1,
                position: Some((
                    22.5 + f64::from(i % 3) * 2e-4,
                    113.9 + f64::from(i / 3) * 2e-4,
                    Some(110.0),
                )),
            })
            .collect();
        Site::new(&inputs, None, None, &OutputConfig::default())
    }

    #[test]
    fn the_glb_is_consistent_and_the_tile_holds_it() {
        let site = site();
        let grid = site.grid(5.0, 16);
        let mesh = Mesh::new(&site, &grid, &grid);
        let glb = glb(&site, &mesh, &[0xFF, 0xD8, 0xFF, 0xD9]);
        assert_eq!(&glb[..4], b"glTF");
        assert_eq!(
            u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize,
            glb.len()
        );
        let json_len = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
        let doc: serde_json::Value = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
        assert_eq!(doc["accessors"][0]["count"], mesh.xyzh.len());
        let b = b3dm(&glb);
        let ft = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
        assert_eq!((28 + ft) % 8, 0);
        assert_eq!(&b[28 + ft..][..4], b"glTF");
        let pts = tile_points(&site, &mesh);
        let t = tileset(&site, &pts, "Data/Block.b3dm");
        let bx: Vec<f64> =
            serde_json::from_value(t["root"]["boundingVolume"]["box"].clone()).unwrap();
        for p in pts {
            for k in 0..3 {
                assert!(
                    (p[k] - bx[k]).abs() <= bx[3 + 4 * k],
                    "{p:?} outside {bx:?}"
                );
            }
        }
    }

    #[test]
    fn projected_models_are_offset_and_say_so() {
        let site = site();
        let xml = metadata(&site);
        assert!(xml.contains("<SRS>EPSG:32649</SRS>"), "{xml}");
        let grid = site.grid(5.0, 8);
        let mesh = Mesh::new(&site, &grid, &grid);
        let first = local(&site, &mesh)[0];
        assert!(
            first[0].abs() < 1000.0 && first[1].abs() < 1000.0,
            "{first:?}"
        );
    }
}
