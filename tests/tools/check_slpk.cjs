// Opens an I3S scene layer package with loaders.gl (npm `@loaders.gl/i3s`), as a viewer
// built on it does: the archive and its hash index, the layer document, every node page
// and node, and every node's geometry decoded to Earth-centred positions.
//
// Usage: node check_slpk.cjs <node_modules dir> <file.slpk>
// Prints one JSON object: the layer, per node its vertex count, children, texture size,
// the longitude/latitude/height range of its vertices and (for leaves) its distinct
// vertices; and `problems`. Exits 1 when there is a problem, 2 when loaders.gl throws.
"use strict";
const fs = require("fs");
const path = require("path");

const modules = path.resolve(process.argv[2]);
const file = process.argv[3];
const need = (name) => require(path.join(modules, name));
const { load } = need("@loaders.gl/core");
const { I3SLoader, parseSLPKArchive } = need("@loaders.gl/i3s");
const { DataViewReadableFile } = need("@loaders.gl/zip");
const { Ellipsoid } = need("@math.gl/geospatial");
const { OrientedBoundingBox } = need("@math.gl/culling");

const BASE = "slpk://package/layers/0";

async function main() {
  const problems = [];
  const bytes = fs.readFileSync(file);
  const notes = [];
  const archive = await parseSLPKArchive(
    new DataViewReadableFile(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    (note) => notes.push(note),
  );
  if (notes.some((n) => /hash/i.test(n))) {
    problems.push(`no @specialIndexFileHASH128@ at the end of the archive: ${notes.join("; ")}`);
  }
  // Resources are fetched from the archive as a viewer fetches them from a server.
  const fetch = async (url) => {
    if (process.env.SLPK_DEBUG) console.error("fetch", url);
    const rel = url === BASE ? "" : url.slice(BASE.length + 1);
    const data = await archive.getFile(rel, "http");
    // loaders.gl takes the base of later requests from the response's URL.
    const response = new Response(data);
    Object.defineProperty(response, "url", { value: url });
    return response;
  };
  const layer = JSON.parse(new TextDecoder().decode(await archive.getFile("", "http")));
  const tileset = await load(BASE, I3SLoader, { fetch, i3s: { isTileset: true } });
  if (layer.layerType !== "IntegratedMesh") problems.push(`layerType ${layer.layerType}`);
  const wkid = layer.spatialReference && layer.spatialReference.wkid;
  const page = JSON.parse(new TextDecoder().decode(await archive.getFile("nodepages/0", "http")));
  const nodes = [];
  const queue = [0];
  const seen = new Set();
  while (queue.length) {
    const id = queue.shift();
    if (seen.has(id)) {
      problems.push(`node ${id} is reached twice`);
      continue;
    }
    seen.add(id);
    const tile = await tileset.nodePagesTile.formTileFromNodePages(id);
    const declared = page.nodes[id];
    const content = await load(tile.contentUrl, I3SLoader, {
      fetch,
      i3s: {
        isTileset: false,
        isTileHeader: false,
        _tileOptions: tile,
        _tilesetOptions: tileset,
        decodeTextures: false,
      },
    });
    const positions = content.attributes.positions.value;
    const n = content.vertexCount;
    if (n !== declared.mesh.geometry.vertexCount || positions.length !== 3 * n) {
      problems.push(
        `node ${id}: ${n} vertices decoded (${positions.length / 3} positions), the node page says ${declared.mesh.geometry.vertexCount}`,
      );
    }
    if (n === 0 || n % 3 !== 0) problems.push(`node ${id}: ${n} vertices is no set of triangles`);
    for (const [name, size] of [["texCoords", 2], ["normals", 3]]) {
      const a = content.attributes[name];
      if (!a || a.value.length !== size * n) problems.push(`node ${id}: ${name} missing or short`);
    }
    const texture = content.material && content.material.pbrMetallicRoughness.baseColorTexture;
    const image = texture && texture.texture && texture.texture.source.image;
    const jpeg = image && new Uint8Array(image);
    if (!jpeg || jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) {
      problems.push(`node ${id}: no JPEG texture`);
    }
    const [c, h, q] = [tile.obb.center, tile.obb.halfSize, tile.obb.quaternion];
    const obb = new OrientedBoundingBox().fromCenterHalfSizeQuaternion(
      Ellipsoid.WGS84.cartographicToCartesian(c),
      h,
      q,
    );
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    const distinct = new Map();
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const p = [positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]];
      if (obb.distanceTo(p) > 1e-3) outside++;
      const g = Ellipsoid.WGS84.cartesianToCartographic(p);
      for (let k = 0; k < 3; k++) {
        lo[k] = Math.min(lo[k], g[k]);
        hi[k] = Math.max(hi[k], g[k]);
      }
      distinct.set(g.map((v, k) => v.toFixed(k < 2 ? 9 : 3)).join(","), g);
    }
    if (outside) problems.push(`node ${id}: ${outside} vertices outside its oriented box`);
    const children = (tile.children || []).map((t) => Number(t.id));
    const entry = {
      id,
      vertices: n,
      distinct: distinct.size,
      children,
      texture_bytes: jpeg ? jpeg.length : 0,
      lon: [lo[0], hi[0]],
      lat: [lo[1], hi[1]],
      height: [lo[2], hi[2]],
    };
    if (children.length === 0) entry.points = [...distinct.values()];
    nodes.push(entry);
    queue.push(...children);
  }
  if (nodes.length < 2) problems.push(`${nodes.length} node(s): no levels of detail`);
  console.log(JSON.stringify({ layer: layer.layerType, version: layer.store && layer.store.version, wkid, nodes, problems }));
  process.exit(problems.length ? 1 : 0);
}

main().catch((e) => {
  console.log(JSON.stringify({ problems: [`loaders.gl: ${e && e.stack ? e.stack : e}`] }));
  process.exit(2);
});
