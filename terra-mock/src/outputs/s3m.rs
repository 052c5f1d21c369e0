//! S3M, SuperMap's spatial 3D model tiles (group standard T/CAGIS 1-2019, the binary
//! layout of the published `s3m-spec`, data version 3.01): a JSON description (`.scp`)
//! naming the root tile, and `.s3mb` tiles.
//!
//! A tile is a header (the version as a float, the compression type, the package's
//! uncompressed and compressed sizes) and the package, zlib-compressed ("zip", type 1).
//! The package holds, in order: the options word (1: the tile carries ID information),
//! the LOD packages (range, bounding sphere and box, the child tile's path, patches
//! naming skeletons), the model elements (skeletons with their vertex and index
//! packages; textures; materials as JSON), the ID information (binary) and extensions.
//!
//! Every `streamSize` counts the bytes after its own field up to the end of what it
//! sizes, padding included. Bounding boxes give the centre and half of each axis.
//! Every vertex array is written non-empty (normals, colours, tangents included): the
//! specification writes dimension and stride even for an empty array, SuperMap's own
//! web parser skips them then, and a non-empty array reads the same in both.

use super::lod::extent;
use super::pack::zlib;
use serde_json::{Value, json};

/// The data version written in tiles and descriptions.
pub(crate) const VERSION: f32 = 3.01;
/// `compressedType`: zip (a zlib stream).
const ZIP: u32 = 1;
/// `RangeMode::Pixel_Size_OnScreen`.
const PIXEL_SIZE_ON_SCREEN: u16 = 1;
/// `DrawPrimitiveType`.
const POINT_LIST: u8 = 1;
const TRIANGLE_LIST: u8 = 4;
/// `VertexIndexType::IT_32BIT`.
const INDEX_32: u8 = 1;
/// `PixelFormat::PF_RGB8`.
const PF_RGB8: u32 = 32849;

/// The geometry of one tile: a mesh or a point cloud, in model coordinates.
#[derive(Debug)]
pub(crate) struct Skeleton {
    pub name: String,
    pub vertices: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub colours: Vec<[u8; 4]>,
    /// Texture coordinates (empty for points).
    pub uv: Vec<[f32; 2]>,
    pub tangents: Vec<[f32; 4]>,
    /// Triangles, or every point once.
    pub indices: Vec<u32>,
    pub points: bool,
}

impl Skeleton {
    /// Centre and half sizes of the axis-aligned box around the vertices.
    pub(crate) fn bounds(&self) -> ([f64; 3], [f64; 3]) {
        let (lo, hi) = extent(self.vertices.iter().map(|v| v.map(f64::from)));
        if self.vertices.is_empty() {
            return ([0.0; 3], [0.5; 3]);
        }
        (
            [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0),
            // Half a metre to spare for float rounding.
            [0, 1, 2].map(|k| (hi[k] - lo[k]) / 2.0 + 0.5),
        )
    }
}

/// An RGB8 texture.
#[derive(Debug)]
pub(crate) struct Texture {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// The package being written.
struct Stream {
    buf: Vec<u8>,
}

impl Stream {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    /// `String`: a byte length and UTF-8 bytes.
    fn str(&mut self, s: &str) {
        self.count(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
    /// `reserved[n]`: zeros up to a multiple of four bytes from the package's start.
    fn pad4(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
    /// A `streamSize` field and what it sizes.
    fn sized(&mut self, body: impl FnOnce(&mut Self)) {
        let at = self.buf.len();
        self.u32(0);
        body(self);
        let size = (self.buf.len() - at - 4) as u32;
        self.buf[at..at + 4].copy_from_slice(&size.to_le_bytes());
    }
    /// `BoundingBox`: the centre and three half axes along x, y and z.
    fn bbox(&mut self, (c, h): ([f64; 3], [f64; 3])) {
        for v in c {
            self.f64(v);
        }
        for (k, half) in h.into_iter().enumerate() {
            for j in 0..3 {
                self.f64(if j == k { half } else { 0.0 });
            }
        }
    }
}

/// The LOD package of a tile: `skeleton` shown up to `range` pixels on screen, then
/// `child` (a path relative to the tile), if any.
pub(crate) struct Lod<'a> {
    pub range: f32,
    pub child: Option<&'a str>,
}

/// A `.s3mb` tile holding `skeleton` (textured by `texture`, if any).
pub(crate) fn tile(skeleton: &Skeleton, texture: Option<&Texture>, lod: &Lod<'_>) -> Vec<u8> {
    let mut s = Stream {
        buf: Vec::with_capacity(64 * 1024),
    };
    s.u32(1); // options: the tile carries ID information
    let bounds = skeleton.bounds();
    s.sized(|s| {
        s.count(1);
        s.f32(lod.range);
        s.u16(PIXEL_SIZE_ON_SCREEN);
        let (c, h) = bounds;
        for v in c {
            s.f64(v);
        }
        s.f64((h[0] * h[0] + h[1] * h[1] + h[2] * h[2]).sqrt());
        s.bbox(bounds);
        s.str(lod.child.unwrap_or(""));
        s.count(1); // one patch
        for k in 0..16 {
            s.f64(if k % 5 == 0 { 1.0 } else { 0.0 }); // identity
        }
        s.count(1);
        s.str(&skeleton.name);
        s.str(""); // no animations
        s.pad4();
    });
    let material = format!("{}_material", skeleton.name);
    s.sized(|s| {
        s.count(1);
        write_skeleton(s, skeleton, &material);
    });
    s.sized(|s| {
        s.count(usize::from(texture.is_some()));
        if let Some(t) = texture {
            s.str(&t.name);
            s.pad4();
            s.u32(0); // mipmap levels
            s.u32(t.width);
            s.u32(t.height);
            s.u32(0); // TC_NONE
            s.count(t.rgb.len());
            s.u32(PF_RGB8);
            s.buf.extend_from_slice(&t.rgb);
        }
    });
    s.str(&materials(&material, texture.map(|t| t.name.as_str())).to_string());
    s.u32(1); // the ID information is binary
    s.sized(|s| {
        s.count(1);
        s.str(&skeleton.name);
        s.count(1); // one object: the whole model
        s.u32(1);
        s.count(1);
        s.u32(0);
        s.count(skeleton.vertices.len());
    });
    s.str("{}"); // extensions
    let package = s.buf;
    let packed = zlib(&package);
    let mut out = Vec::with_capacity(packed.len() + 16);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&ZIP.to_le_bytes());
    out.extend_from_slice(&(package.len() as u32).to_le_bytes());
    out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
    out.extend_from_slice(&packed);
    out
}

fn write_skeleton(s: &mut Stream, k: &Skeleton, material: &str) {
    s.sized(|s| {
        s.str(&k.name);
        s.pad4();
        s.u32(0); // not compressed
        s.sized(|s| {
            s.count(k.vertices.len());
            s.u16(3);
            s.u16(12);
            for v in k.vertices.iter().flatten() {
                s.f32(*v);
            }
            s.count(k.normals.len());
            s.u16(3);
            s.u16(12);
            for v in k.normals.iter().flatten() {
                s.f32(*v);
            }
            s.count(k.colours.len());
            s.u16(4);
            s.u16(0);
            for c in &k.colours {
                s.buf.extend_from_slice(c);
            }
            s.u16(u16::from(!k.uv.is_empty()));
            s.u16(0);
            if !k.uv.is_empty() {
                s.count(k.uv.len());
                s.u16(2);
                s.u16(8);
                for v in k.uv.iter().flatten() {
                    s.f32(*v);
                }
            }
            s.u16(0); // no instances
            s.u16(0);
            s.u32(0); // no extra vertex attributes
            s.str("{}");
            s.pad4();
            s.count(k.tangents.len());
            s.u16(4);
            s.u16(16);
            for v in k.tangents.iter().flatten() {
                s.f32(*v);
            }
        });
        s.count(1); // one index package
        s.sized(|s| {
            s.count(k.indices.len());
            s.u8(INDEX_32);
            s.u8(1); // indexed
            s.u8(if k.points { POINT_LIST } else { TRIANGLE_LIST });
            s.u8(0);
            for i in &k.indices {
                s.u32(*i);
            }
            s.count(1);
            s.str(material);
            s.pad4();
        });
        s.bbox(k.bounds());
    });
}

/// The materials of a tile: one common material, textured or lit by vertex colour.
fn materials(name: &str, texture: Option<&str>) -> Value {
    let white = json!({"r": 1.0, "g": 1.0, "b": 1.0, "a": 1.0});
    let states: Vec<Value> = texture
        .map(|t| {
            json!({"textureUnitState": {
                "textureName": t,
                "url": "",
                "uAddressMode": 0, "vAddressMode": 0, "wAddressMode": 0,
                "filteringOption": 2, "minFilter": 2, "maxFilter": 2,
                "matrix": [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            }})
        })
        .into_iter()
        .collect();
    json!({"materials": [{"material": {
        "name": name,
        "type": "common",
        "ambient": white,
        "diffuse": white,
        "specular": white,
        "shininess": 0.0,
        "cullMode": "CULL_NONE",
        "alphaMode": "AM_OPAQUE",
        "alphaCutoff": 1.0,
        "vertexShaderName": "",
        "fragmentShaderName": "",
        "textureStates": states,
        "extensions": {},
    }}]})
}

/// Where a dataset lies: its system, the point model coordinates are relative to, and
/// the extent.
pub(crate) struct Placement {
    /// `epsg:n`.
    pub crs: String,
    /// The insertion point and whether it is in degrees (else metres).
    pub position: [f64; 3],
    pub degrees: bool,
    /// Left, bottom, right, top in the system's units.
    pub geo_bounds: [f64; 4],
}

/// The description (`.scp`) of a dataset of one tile tree whose root is `url`.
pub(crate) fn scp(data_type: &str, at: &Placement, root: &Skeleton, url: &str) -> Value {
    let (c, h) = root.bounds();
    let axis = |k: usize| json!({"x": if k == 0 { h[0] } else { 0.0 }, "y": if k == 1 { h[1] } else { 0.0 }, "z": if k == 2 { h[2] } else { 0.0 }});
    let [left, bottom, right, top] = at.geo_bounds;
    json!({
        "asset": "terra-mock (emulated reconstruction)",
        "version": format!("{VERSION:.2}"),
        "dataType": data_type,
        "pyramidSplitType": "QuadTree",
        "lodType": "Replace",
        "geoBounds": {"left": left, "top": top, "right": right, "bottom": bottom},
        "heightRange": {"min": c[2] - h[2], "max": c[2] + h[2]},
        "position": {
            "point3D": {"x": at.position[0], "y": at.position[1], "z": at.position[2]},
            "unit": if at.degrees { "Degree" } else { "Meter" },
        },
        "crs": at.crs,
        "rootTiles": [{
            "url": url,
            "boundingBox": {
                "center": {"x": c[0], "y": c[1], "z": c[2]},
                "xExtent": axis(0),
                "yExtent": axis(1),
                "zExtent": axis(2),
            },
        }],
        "compressedPackageType": "Zip",
        "extensions": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triangle() -> Skeleton {
        Skeleton {
            name: "t".into(),
            vertices: vec![[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 1.0]],
            normals: vec![[0.0, 0.0, 1.0]; 3],
            colours: vec![[255; 4]; 3],
            uv: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
            tangents: vec![[1.0, 0.0, 0.0, 1.0]; 3],
            indices: vec![0, 1, 2],
            points: false,
        }
    }

    #[test]
    fn the_header_names_the_package_sizes_and_the_package_is_aligned() {
        let t = Texture {
            name: "tex".into(),
            width: 1,
            height: 1,
            rgb: vec![1, 2, 3],
        };
        let bytes = tile(
            &triangle(),
            Some(&t),
            &Lod {
                range: 300.0,
                child: Some("c.s3mb"),
            },
        );
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(f32::from_le_bytes(bytes[..4].try_into().unwrap()), VERSION);
        assert_eq!(word(4), ZIP);
        assert_eq!(word(12) as usize, bytes.len() - 16);
        let package = miniz_oxide::inflate::decompress_to_vec_zlib(&bytes[16..]).unwrap();
        assert_eq!(package.len(), word(8) as usize);
        // options, then the LOD packages sized to a multiple of four.
        assert_eq!(&package[..4], &1u32.to_le_bytes());
        let lods = u32::from_le_bytes(package[4..8].try_into().unwrap()) as usize;
        assert_eq!((8 + lods) % 4, 0);
    }
}
