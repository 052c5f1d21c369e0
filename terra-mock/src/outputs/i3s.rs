//! I3S scene layer packages (`.slpk`, I3S 1.8, layer type `IntegratedMesh`), as ArcGIS
//! and loaders.gl open them.
//!
//! The package is a ZIP of stored entries: `metadata.json`, the layer document
//! `3dSceneLayer.json.gz`, one node page `nodepages/0.json.gz`, and per node its geometry
//! buffer `nodes/N/geometries/0.bin.gz` and texture `nodes/N/textures/0.jpg`, then the
//! `@specialIndexFileHASH128@` index real packages end with. Resources are gzip'ed.
//!
//! The layer is in WGS 84 longitude and latitude (`wkid` 4326: what global scenes and
//! their readers take), heights as the OBJ's. Each level of detail is one node, the
//! coarsest the root, each the parent of the next; a node's oriented box is aligned with
//! east-north-up at its centre. Geometry is non-indexed triangles in the layer's default
//! schema: a vertex and a feature count, then positions (degrees east and north and
//! metres up from the node's centre), east-north-up normals, texture coordinates (origin
//! at the top left), white vertex colours, one feature id and its face range.

use super::crs::metres_per_degree;
use super::lod::{Level, extent};
use super::mesh::Mesh;
use super::pack::{Zip, gzip};
use super::site::Site;
use serde_json::{Value, json};

/// A level of the package, the screen size (pixels, as a disc's area) up to which it is
/// drawn before its child replaces it, and its texture (a JPEG of `texture_size` pixels).
pub(crate) struct Node<'a> {
    pub level: &'a Level,
    pub pixels: f64,
    pub texture: &'a [u8],
    pub texture_size: (u32, u32),
}

/// A vertex of the layer: longitude, latitude, height.
type Geo = [f64; 3];

/// The package of `nodes` (coarsest first) of `mesh` on `site`.
pub(crate) fn slpk(site: &Site, mesh: &Mesh, nodes: &[Node<'_>]) -> Vec<u8> {
    let geo: Vec<Geo> = mesh
        .xyzh
        .iter()
        .map(|v| {
            let (lat, lon) = site.crs().inverse(v[0], v[1]);
            [lon, lat, v[4]]
        })
        .collect();
    let mut zip = Zip::new();
    let mut page = Vec::new();
    let used = nodes
        .iter()
        .flat_map(|n| n.level.source.iter().map(|&k| geo[k]));
    let (lo, hi) = extent(used);
    for (index, node) in nodes.iter().enumerate() {
        let points: Vec<Geo> = node.level.source.iter().map(|&k| geo[k]).collect();
        let obb = Obb::around(&points);
        zip.add(
            &format!("nodes/{index}/geometries/0.bin.gz"),
            &gzip(&geometry(mesh, node.level, &geo, obb.centre)),
        );
        zip.add(&format!("nodes/{index}/textures/0.jpg"), node.texture);
        let vertex_count = node.level.triangles.len();
        let mut entry = json!({
            "index": index,
            "lodThreshold": node.pixels,
            "obb": obb.json(),
            "children": if index + 1 < nodes.len() { vec![index + 1] } else { vec![] },
            "mesh": {
                "material": {
                    "definition": 0,
                    "resource": index,
                    "texelCountHint": node.texture_size.0 * node.texture_size.1,
                },
                "geometry": {
                    "definition": 0,
                    "resource": index,
                    "vertexCount": vertex_count,
                    "featureCount": 1,
                },
            },
        });
        if index > 0 {
            entry["parentIndex"] = json!(index - 1);
        }
        page.push(entry);
    }
    zip.add(
        "nodepages/0.json.gz",
        &gzip(&to_vec(&json!({ "nodes": page }))),
    );
    zip.add("3dSceneLayer.json.gz", &gzip(&to_vec(&layer(site, lo, hi))));
    zip.add(
        "metadata.json",
        &to_vec(&json!({
            "folderPattern": "BASIC",
            "archiveCompressionType": "STORE",
            "resourceCompressionType": "GZIP",
            "I3SVersion": "1.8",
            "nodeCount": nodes.len(),
        })),
    );
    zip.add_i3s_hash_index();
    zip.finish()
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// An oriented box aligned with east-north-up at its centre.
struct Obb {
    centre: Geo,
    half: [f64; 3],
}

impl Obb {
    /// The box holding `points`, with half a metre to spare for float rounding.
    fn around(points: &[Geo]) -> Self {
        let (lo, hi) = extent(points.iter().copied());
        let centre = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
        let (my, mx) = metres_per_degree(centre[1]);
        let half = [
            (hi[0] - lo[0]) / 2.0 * mx + 0.5,
            (hi[1] - lo[1]) / 2.0 * my + 0.5,
            (hi[2] - lo[2]) / 2.0 + 0.5,
        ];
        Self { centre, half }
    }

    fn json(&self) -> Value {
        json!({
            "center": self.centre,
            "halfSize": self.half,
            "quaternion": enu_quaternion(self.centre[1], self.centre[0]),
        })
    }
}

/// The rotation (`[x, y, z, w]`) from Earth-centred axes to east-north-up at a place.
fn enu_quaternion(lat: f64, lon: f64) -> [f64; 4] {
    let (phi, lam) = (lat.to_radians(), lon.to_radians());
    // Columns: east, north, up in Earth-centred axes.
    let m = [
        [-lam.sin(), -phi.sin() * lam.cos(), phi.cos() * lam.cos()],
        [lam.cos(), -phi.sin() * lam.sin(), phi.cos() * lam.sin()],
        [0.0, phi.cos(), phi.sin()],
    ];
    let trace = m[0][0] + m[1][1] + m[2][2];
    if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        [
            (m[2][1] - m[1][2]) / s,
            (m[0][2] - m[2][0]) / s,
            (m[1][0] - m[0][1]) / s,
            s / 4.0,
        ]
    } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
        [
            s / 4.0,
            (m[0][1] + m[1][0]) / s,
            (m[0][2] + m[2][0]) / s,
            (m[2][1] - m[1][2]) / s,
        ]
    } else if m[1][1] > m[2][2] {
        let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
        [
            (m[0][1] + m[1][0]) / s,
            s / 4.0,
            (m[1][2] + m[2][1]) / s,
            (m[0][2] - m[2][0]) / s,
        ]
    } else {
        let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
        [
            (m[0][2] + m[2][0]) / s,
            (m[1][2] + m[2][1]) / s,
            s / 4.0,
            (m[1][0] - m[0][1]) / s,
        ]
    }
}

/// The geometry buffer of `level`: non-indexed triangles in the default schema.
fn geometry(mesh: &Mesh, level: &Level, geo: &[Geo], centre: Geo) -> Vec<u8> {
    let n = level.triangles.len();
    let corners = || level.triangles.iter().map(|&t| level.source[t as usize]);
    let mut b = Vec::with_capacity(8 + n * 36 + 16);
    b.extend_from_slice(&(n as u32).to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // one feature: the mesh
    for k in corners() {
        for (c, o) in geo[k].iter().zip(centre) {
            b.extend_from_slice(&((c - o) as f32).to_le_bytes());
        }
    }
    for k in corners() {
        for c in mesh.normal(k) {
            b.extend_from_slice(&(c as f32).to_le_bytes());
        }
    }
    for k in corners() {
        for c in mesh.uv[k] {
            b.extend_from_slice(&(c as f32).to_le_bytes());
        }
    }
    for _ in 0..n {
        b.extend_from_slice(&[255; 4]);
    }
    b.extend_from_slice(&0u64.to_le_bytes()); // feature id
    b.extend_from_slice(&0u32.to_le_bytes()); // its faces: all of them
    b.extend_from_slice(&((n / 3).saturating_sub(1) as u32).to_le_bytes());
    b
}

/// `3dSceneLayer.json`: the layer, its store and schema, its definitions and extent.
fn layer(site: &Site, lo: [f64; 3], hi: [f64; 3]) -> Value {
    let attribute = |t: &str, n: u32| json!({"valueType": t, "valuesPerElement": n});
    let buffer = |t: &str, n: u32| json!({"type": t, "component": n});
    let (height_model, vcs) = match site.choice.vertical.as_deref() {
        Some(v) => ("gravity_related_height", v.to_owned()),
        None => ("ellipsoidal", String::from("WGS 84 ellipsoid")),
    };
    json!({
        "id": 0,
        "version": "{6A8F3C2E-5B1D-4E7A-9C0F-3D2B1A4E5F60}",
        "name": "Block",
        "alias": "Block",
        "href": "./layers/0",
        "layerType": "IntegratedMesh",
        "description": "terra-mock reconstruction (emulated)",
        "capabilities": ["View", "Query"],
        "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        "heightModelInfo": {"heightModel": height_model, "vertCRS": vcs, "heightUnit": "meter"},
        "store": {
            "id": "{6A8F3C2E-5B1D-4E7A-9C0F-3D2B1A4E5F61}",
            "profile": "meshpyramids",
            "version": "1.8",
            "resourcePattern": ["3dNodeIndexDocument", "SharedResource", "Geometry", "Texture"],
            "rootNode": "./nodes/root",
            "extent": [lo[0], lo[1], hi[0], hi[1]],
            "indexCRS": "http://www.opengis.net/def/crs/EPSG/0/4326",
            "vertexCRS": "http://www.opengis.net/def/crs/EPSG/0/4326",
            "normalReferenceFrame": "east-north-up",
            "lodType": "MeshPyramid",
            "lodModel": "node-switching",
            "defaultGeometrySchema": {
                "geometryType": "triangles",
                "header": [
                    {"property": "vertexCount", "type": "UInt32"},
                    {"property": "featureCount", "type": "UInt32"},
                ],
                "topology": "PerAttributeArray",
                "ordering": ["position", "normal", "uv0", "color"],
                "vertexAttributes": {
                    "position": attribute("Float32", 3),
                    "normal": attribute("Float32", 3),
                    "uv0": attribute("Float32", 2),
                    "color": attribute("UInt8", 4),
                },
                "featureAttributeOrder": ["id", "faceRange"],
                "featureAttributes": {
                    "id": attribute("UInt64", 1),
                    "faceRange": attribute("UInt32", 2),
                },
            },
        },
        "nodePages": {"nodesPerPage": 64, "lodSelectionMetricType": "maxScreenThresholdSQ"},
        "materialDefinitions": [{
            "doubleSided": true,
            "pbrMetallicRoughness": {
                "baseColorTexture": {"textureSetDefinitionId": 0},
                "metallicFactor": 0.0,
                "roughnessFactor": 1.0,
            },
        }],
        "textureSetDefinitions": [{"formats": [{"name": "0", "format": "jpg"}]}],
        "geometryDefinitions": [{
            "geometryBuffers": [{
                "offset": 8,
                "position": buffer("Float32", 3),
                "normal": buffer("Float32", 3),
                "uv0": buffer("Float32", 2),
                "color": buffer("UInt8", 4),
                "featureId": {"type": "UInt64", "component": 1, "binding": "per-feature"},
                "faceRange": {"type": "UInt32", "component": 2, "binding": "per-feature"},
            }],
        }],
        "fullExtent": {
            "xmin": lo[0], "ymin": lo[1], "xmax": hi[0], "ymax": hi[1],
            "zmin": lo[2], "zmax": hi[2],
            "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::crs::ecef;
    use super::*;

    /// The quaternion turns the Earth-centred axes onto east, north and up.
    #[test]
    fn the_box_quaternion_is_east_north_up() {
        for (lat, lon) in [(22.5, 113.9), (-33.9, 151.2), (60.0, -150.0), (0.0, 0.0)] {
            let [x, y, z, w] = enu_quaternion(lat, lon);
            assert!((x * x + y * y + z * z + w * w - 1.0).abs() < 1e-12);
            let rotate = |v: [f64; 3]| {
                // v' = q v q*, expanded.
                let (qv, s) = ([x, y, z], w);
                let cross = |a: [f64; 3], b: [f64; 3]| {
                    [
                        a[1] * b[2] - a[2] * b[1],
                        a[2] * b[0] - a[0] * b[2],
                        a[0] * b[1] - a[1] * b[0],
                    ]
                };
                let t = cross(qv, v).map(|c| 2.0 * c);
                let u = cross(qv, t);
                [0, 1, 2].map(|k| v[k] + s * t[k] + u[k])
            };
            let up = rotate([0.0, 0.0, 1.0]);
            let o = ecef(lat, lon, 0.0);
            let norm = (o[0] * o[0] + o[1] * o[1] + o[2] * o[2]).sqrt();
            // Geodetic up is within a fifth of a degree of the geocentric direction.
            let cos = (up[0] * o[0] + up[1] * o[1] + up[2] * o[2]) / norm;
            assert!(cos > 0.99999, "{lat} {lon}: {up:?}");
            let east = rotate([1.0, 0.0, 0.0]);
            assert!(east[2].abs() < 1e-12, "east is horizontal: {east:?}");
        }
    }
}
