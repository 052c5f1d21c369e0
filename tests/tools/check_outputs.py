"""Checks a job's downloaded outputs with the formats' own tools.

GeoTIFF and .prj files with GDAL (`gdalinfo`, `gdalsrsinfo`), LAS with laspy and pyproj,
the glTF inside b3dm tiles with the Khronos glTF validator (through Node), 3D Tiles
`tileset.json` files structurally (asset, geometric errors, root transform, bounding
volumes holding their content), and OSGB, I3S and S3M as `check_models.py` says. For each
product the coordinate system must be the one expected, and its extent must hold every
photo position; every encoding of the mesh must have the OBJ's vertices and bounds, and
an S3M point cloud the points of the LAS beside it.

Usage:
    python check_outputs.py --dir OUT --epsg 32649 --photos photos.json \
        --gltf-validator NODE_MODULE_DIR [--node-modules DIR] [--summary summary.jsonl]

`photos.json` is a list of `[latitude, longitude]`. Exits 1 with one line per problem.
"""

import argparse
import json
import math
import pathlib
import struct
import subprocess
import sys
import tempfile

import laspy
import numpy as np
from pyproj import CRS, Transformer

import check_models

problems = []
summary = []


def problem(path, what):
    problems.append(f"{path}: {what}")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def projected(photos, epsg):
    t = Transformer.from_crs(4326, epsg, always_xy=True)
    return [t.transform(lon, lat) for lat, lon in photos]


def holds(bounds, points, path, what, slack=1e-9):
    xmin, ymin, xmax, ymax = bounds
    for x, y in points:
        if not (xmin - slack <= x <= xmax + slack and ymin - slack <= y <= ymax + slack):
            problem(path, f"{what} ({x:.3f}, {y:.3f}) outside {bounds}")
            return False
    return True


def epsg_of(path):
    code, out, err = run(["gdalsrsinfo", "-o", "epsg", str(path)])
    line = out.strip().splitlines()[-1] if out.strip() else ""
    if code != 0 or not line.startswith("EPSG:"):
        problem(path, f"gdalsrsinfo finds no EPSG code: {out.strip()} {err.strip()}")
        return None
    return int(line.split(":")[1])


def check_tif(path, epsg, photos_xy, whole):
    code, out, err = run(["gdalinfo", "-json", "-stats", str(path)])
    noise = [l for l in err.splitlines() if l.strip() and "aux.xml" not in l]
    if code != 0 or noise:
        problem(path, f"gdalinfo: exit {code}, {' '.join(noise)}")
        return
    info = json.loads(out)
    got = epsg_of(path)
    if got != epsg:
        problem(path, f"EPSG:{got}, expected EPSG:{epsg}")
    bands = info["bands"]
    ul, lr = info["cornerCoordinates"]["upperLeft"], info["cornerCoordinates"]["lowerRight"]
    bounds = (ul[0], lr[1], lr[0], ul[1])
    if "dsm" in path.name or "dem" in path.name:
        if len(bands) != 1 or bands[0]["type"] != "Float32":
            problem(path, f"a surface model needs one Float32 band, has {[b['type'] for b in bands]}")
        elif bands[0].get("noDataValue") != -9999:
            problem(path, f"nodata {bands[0].get('noDataValue')}, expected -9999")
        elif not bands[0].get("minimum", -9999) > -9999:
            problem(path, "statistics include the nodata value")
        kind = f"Float32 DSM, nodata -9999, heights {bands[0].get('minimum'):.1f}..{bands[0].get('maximum'):.1f} m"
    else:
        colours = [b.get("colorInterpretation") for b in bands]
        if colours not in (["Red", "Green", "Blue"], ["Red", "Green", "Blue", "Alpha"]):
            problem(path, f"an orthophoto needs RGB(A) bands, has {colours}")
        kind = f"{'RGBA' if len(colours) == 4 else 'RGB'} Byte"
    if whole:
        holds(bounds, photos_xy, path, "photo")
    size = info["size"]
    summary.append({"file": str(path), "tool": "gdalinfo/gdalsrsinfo", "crs": f"EPSG:{got}",
                    "size": size, "kind": kind,
                    "pixel": info["geoTransform"][1]})


def check_prj(path, epsg):
    got = epsg_of(path)
    if got != epsg:
        problem(path, f"EPSG:{got}, expected EPSG:{epsg}")
    summary.append({"file": str(path), "tool": "gdalsrsinfo", "crs": f"EPSG:{got}"})


def check_las(path, epsg, photos_xy):
    las = laspy.read(str(path))
    h = las.header
    crs = h.parse_crs()
    got = crs.to_epsg() if crs is not None else None
    if got != epsg:
        problem(path, f"laspy finds CRS EPSG:{got}, expected EPSG:{epsg}")
    n = len(las.points)
    if n == 0 or h.point_count != n:
        problem(path, f"{n} points, header says {h.point_count}")
        return
    for axis, k in (("x", 0), ("y", 1), ("z", 2)):
        v = np.asarray(getattr(las, axis))
        if abs(v.min() - h.mins[k]) > h.scales[k] or abs(v.max() - h.maxs[k]) > h.scales[k]:
            problem(path, f"{axis} spans {v.min()}..{v.max()}, header {h.mins[k]}..{h.maxs[k]}")
    if path.stem != "ground":  # a classified subset need not span the flight
        holds((h.mins[0], h.mins[1], h.maxs[0], h.maxs[1]), photos_xy, path, "photo")
    summary.append({"file": str(path), "tool": "laspy+pyproj",
                    "version": f"{h.version.major}.{h.version.minor}",
                    "point_format": h.point_format.id, "points": n, "crs": f"EPSG:{got}",
                    "scale": list(h.scales), "offset": list(h.offsets)})
    return list(zip(np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)))


def local_of(transform, ecef):
    """ECEF to the tile frame, by the inverse of the (rigid) root transform."""
    m = np.array(transform, dtype=float).reshape(4, 4).T
    r, t = m[:3, :3], m[:3, 3]
    return r.T @ (np.asarray(ecef) - t)


def box_holds(box, pts, path, what, horizontal=False):
    c = np.array(box[:3])
    axes = np.array(box[3:]).reshape(3, 3)
    for p in pts:
        d = np.asarray(p) - c
        for k in range(2 if horizontal else 3):
            a = axes[k]
            if abs(d @ a) / (a @ a) > 1.0 + 1e-6:
                problem(path, f"{what} {list(map(float, p))} outside the bounding box")
                return


def check_tileset(path, photos, node_module, node):
    ts = json.loads(path.read_text())
    if ts.get("asset", {}).get("version") not in ("1.0", "1.1"):
        problem(path, f"asset.version {ts.get('asset')}")
    if not isinstance(ts.get("geometricError"), (int, float)) or ts["geometricError"] < 0:
        problem(path, "tileset geometricError missing or negative")
    root = ts.get("root", {})
    if not isinstance(root.get("geometricError"), (int, float)) or root["geometricError"] < 0:
        problem(path, "root geometricError missing or negative")
    transform = root.get("transform")
    if not (isinstance(transform, list) and len(transform) == 16):
        problem(path, "the root has no 4x4 transform: the model would sit at the Earth's centre")
        return
    box = root.get("boundingVolume", {}).get("box")
    if not (isinstance(box, list) and len(box) == 12):
        problem(path, "the root bounding volume is not a box")
        return
    origin = np.array(transform[12:15])
    radius = np.linalg.norm(origin)
    if not 6.3e6 < radius < 6.4e6:
        problem(path, f"the transform's origin is {radius:.0f} m from the Earth's centre")
    to_ecef = Transformer.from_crs(4979, 4978, always_xy=True)
    here = [local_of(transform, to_ecef.transform(lon, lat, 0.0)) for lat, lon in photos]
    box_holds(box, here, path, "photo", horizontal=True)
    content = path.parent / root.get("content", {}).get("uri", "")
    data = content.read_bytes()
    magic, version, length, ftj, ftb, btj, btb = struct.unpack_from("<4sIIIIII", data)
    if length != len(data):
        problem(content, f"byteLength {length}, file has {len(data)}")
    if (28 + ftj) % 8 or (28 + ftj + ftb) % 8:
        problem(content, "feature table not 8-byte aligned")
    ft = json.loads(data[28:28 + ftj])
    body = 28 + ftj + ftb + btj + btb
    if magic == b"b3dm":
        glb = data[body:]
        with tempfile.NamedTemporaryFile(suffix=".glb", delete=False) as f:
            f.write(glb)
        code, out, err = run([node, str(pathlib.Path(__file__).with_name("validate_gltf.cjs")),
                              node_module, f.name])
        pathlib.Path(f.name).unlink()
        report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        if code != 0:
            problem(content, f"glTF validator: {out.strip()} {err.strip()}")
        gltf = json.loads(glb[20:20 + struct.unpack_from("<I", glb, 12)[0]])
        acc = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
        # glTF is y-up; the tile frame is z-up.
        corners = [(x, -z, y) for x in (acc["min"][0], acc["max"][0])
                   for y in (acc["min"][1], acc["max"][1])
                   for z in (acc["min"][2], acc["max"][2])]
        box_holds(box, corners, content, "glTF corner")
        summary.append({"file": str(content), "tool": "gltf-validator",
                        "errors": report.get("errors"), "warnings": report.get("warnings"),
                        "vertices": acc["count"], "bytes": len(data)})
    elif magic == b"pnts":
        n = ft["POINTS_LENGTH"]
        off = 28 + ftj + ft["POSITION"]["byteOffset"]
        pts = np.frombuffer(data, dtype="<f4", count=3 * n, offset=off).reshape(n, 3)
        box_holds(box, pts, content, "point")
        summary.append({"file": str(content), "tool": "structural", "points": n})
    else:
        problem(content, f"unknown tile magic {magic!r}")
    summary.append({"file": str(path), "tool": "structural",
                    "transform_origin_m_from_centre": round(float(radius)),
                    "box_half_sizes": [round(float(np.linalg.norm(np.array(box[3 + 3 * k:6 + 3 * k]))), 1) for k in range(3)]})


def check_model_dir(meta, epsg, photos_xy):
    """An OBJ or PLY mesh with its `metadata.xml`; returns its vertices in the output
    system."""
    srs, origin = check_models.metadata_origin(meta)
    if not srs.startswith("ENU:") and CRS.from_user_input(srs).to_epsg() != epsg:
        problem(meta, f"SRS {srs}, expected EPSG:{epsg}")
    to_out = check_models.model_to_output(srs, origin, epsg)
    points = []
    for model in list(meta.parent.glob("*.obj")) + list(meta.parent.glob("*.ply")):
        lines = model.read_text().splitlines()
        if model.suffix == ".obj":
            verts = [l.split()[1:4] for l in lines if l.startswith("v ")]
        else:
            end = lines.index("end_header")
            count = int(next(l for l in lines if l.startswith("element vertex")).split()[2])
            verts = [l.split()[:3] for l in lines[end + 1:end + 1 + count]]
        out = [to_out([float(c) for c in v]) for v in verts]
        xs, ys = [p[0] for p in out], [p[1] for p in out]
        holds((min(xs), min(ys), max(xs), max(ys)), photos_xy, model, "photo")
        summary.append({"file": str(model), "tool": "metadata.xml + vertices",
                        "srs": srs, "origin": origin, "vertices": len(verts)})
        if model.suffix == ".obj":
            points = out
    return points


def holds_photos(points, photos_xy, path):
    if points:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        holds((min(xs), min(ys), max(xs), max(ys)), photos_xy, path, "photo")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--epsg", type=int, required=True)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--gltf-validator", required=True)
    ap.add_argument("--node", default="node")
    ap.add_argument("--node-modules", help="where @loaders.gl/i3s is (default: beside gltf-validator)")
    ap.add_argument("--summary")
    a = ap.parse_args()
    root = pathlib.Path(a.dir)
    photos = json.loads(pathlib.Path(a.photos).read_text())
    xy = projected(photos, a.epsg)
    node_modules = pathlib.Path(a.node_modules or pathlib.Path(a.gltf_validator).parent)
    geographic = CRS.from_epsg(a.epsg).is_geographic
    obj, meshes, las, clouds = None, {}, {}, {}
    checked = 0
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.suffix == ".tif":
            check_tif(p, a.epsg, xy, whole="/tiles/" not in rel)
        elif p.suffix == ".prj":
            check_prj(p, a.epsg)
        elif p.suffix == ".las":
            las[rel] = check_las(p, a.epsg, xy)
        elif p.name == "tileset.json":
            check_tileset(p, photos, a.gltf_validator, a.node)
        elif p.name == "metadata.xml" and p.parent.name in ("obj", "ply"):
            points = check_model_dir(p, a.epsg, xy)
            if p.parent.name == "obj":
                obj = points
        elif p.name == "metadata.xml" and p.parent.name == "osgb":
            meshes[str(p)] = check_models.check_osgb(p, a.epsg, problem, summary)
        elif p.suffix == ".slpk":
            meshes[str(p)] = check_models.check_slpk(p, a.epsg, a.node, node_modules, problem, summary)
        elif p.suffix == ".scp":
            points = check_models.check_scp(p, a.epsg, problem, summary)
            if '"PointCloud"' in p.read_text():
                clouds[rel] = points
            else:
                meshes[str(p)] = points
        else:
            continue
        checked += 1
    for path, points in list(meshes.items()) + [(str(root / r), v) for r, v in clouds.items()]:
        holds_photos(points, xy, path)
    if meshes:
        if obj is None:
            problem(root, "paged meshes without the OBJ to compare them with (ask for generate_obj)")
        else:
            check_models.compare_geometry(obj, meshes, problem, summary, geographic)
    for rel, points in clouds.items():
        # The LAS the cloud was written beside: `<x>/las/<base>.las`, or LiDAR's merged cloud.
        parent, base = rel.rsplit("/", 2)[0], pathlib.PurePosixPath(rel).stem
        las_rel = (f"{parent}/las/{base}.las" if rel.split("/")[-2] == "s3mb"
                   else f"{parent}/terra_las/cloud_merged.las")
        if las.get(las_rel) is None:
            problem(root / rel, f"no {las_rel} to compare the point cloud with")
        else:
            check_models.compare_geometry(las[las_rel], {str(root / rel): points}, problem, summary, geographic)
    if checked == 0:
        problem(root, "no product to check")
    if a.summary:
        with open(a.summary, "a") as f:
            for s in summary:
                s["file"] = str(pathlib.Path(s["file"]).relative_to(root))
                f.write(json.dumps(s) + "\n")
    for p in problems:
        print(p)
    print(f"{checked} products checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
