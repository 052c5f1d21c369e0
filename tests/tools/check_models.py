"""Checks of the paged 3D formats of a job's outputs, each with a reader nobody in the
project wrote (or, for S3M, one written from the specification alone):

  * OSGB with OpenSceneGraph's `osgconv`: every `.osgb` of the tile tree converted to the
    ASCII form, following every PagedLOD child, failing on any line osgconv prints
    besides its success message, and requiring textured geometry;
  * I3S scene layer packages with loaders.gl (`check_slpk.cjs`): the layer, every node
    page and node, every node's geometry decoded;
  * S3M with `s3m_reader.py`: the `.scp` description, then every tile of the tree.

Each returns the finest level's distinct vertices in the job's output system, so that
`compare_geometry` can hold every encoding to the OBJ's mesh: the same vertex count and
the same bounds.
"""

import json
import math
import pathlib
import re
import struct
import subprocess
import tempfile

from pyproj import Transformer

import s3m_reader

WGS84_A = 6378137.0
WGS84_E2 = 0.00669437999014


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def metadata_origin(meta):
    """The `SRS` and `SRSOrigin` of a `metadata.xml`."""
    text = meta.read_text()
    srs = text.split("<SRS>")[1].split("</SRS>")[0]
    origin = [float(v) for v in text.split("<SRSOrigin>")[1].split("</SRSOrigin>")[0].split(",")]
    return srs, origin


def enu_to_degrees(lat0, lon0):
    """East-north metres around a position to longitude and latitude, on the tangent
    plane (metres per degree of the WGS 84 ellipsoid at `lat0`)."""
    phi = math.radians(lat0)
    w = math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
    per_lat = math.radians(WGS84_A * (1 - WGS84_E2) / w ** 3)
    per_lon = math.radians(WGS84_A / w * math.cos(phi))
    return lambda e, n: (lon0 + e / per_lon, lat0 + n / per_lat)


def model_to_output(srs, origin, epsg):
    """A function from model coordinates (as `metadata.xml` declares them) to the job's
    output system."""
    if srs.startswith("ENU:"):
        lat0, lon0 = (float(v) for v in srs[4:].split(","))
        to_deg = enu_to_degrees(lat0, lon0)
        to_out = Transformer.from_crs(4326, epsg, always_xy=True)
        return lambda v: (*to_out.transform(*to_deg(v[0], v[1])), v[2])
    return lambda v: (v[0] + origin[0], v[1] + origin[1], v[2] + origin[2])


def bounds_of(points):
    lo = [min(p[k] for p in points) for k in range(3)]
    hi = [max(p[k] for p in points) for k in range(3)]
    return lo + hi


# --- OSGB ------------------------------------------------------------------------------


def osgconv(path, problem):
    """Converts one `.osgb` to `.osgt`; returns the text, or None after a problem."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "out.osgt"
        code, stdout, stderr = run(["osgconv", str(path), str(out)])
        said = [l for l in (stdout + stderr).splitlines() if l.strip()]
        noise = [l for l in said if not l.startswith("Data written to")]
        if code != 0 or noise or not out.exists():
            problem(path, f"osgconv: exit {code}: {' | '.join(noise)[:400]}")
            return None
        return out.read_text()


def osgt_arrays(text, name):
    """The rows of each `name` array (`VertexArray`, ...) of an `.osgt`."""
    arrays = []
    for m in re.finditer(name + r" TRUE \{\s*osg::\w+ \{.*?vector (\d+) \{\n(.*?)\n\s*\}", text, re.S):
        rows = [tuple(float(x) for x in l.split()) for l in m.group(2).splitlines() if l.strip()]
        if len(rows) != int(m.group(1)):
            rows = None
        arrays.append(rows)
    return arrays


def check_osgb(meta, epsg, problem, summary):
    """The ContextCapture layout under `meta`'s folder: every tile's root and, through
    the PagedLOD children, every level."""
    srs, origin = metadata_origin(meta)
    to_out = model_to_output(srs, origin, epsg)
    data = meta.parent / "Data"
    roots = sorted(p / f"{p.name}.osgb" for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    if not roots:
        problem(meta, "no Data/Tile_*/Tile_*.osgb beside metadata.xml")
        return None
    finest = []
    for root in roots:
        queue, seen, depth = [(root, 0)], set(), 0
        while queue:
            path, level = queue.pop(0)
            if path in seen:
                problem(path, "a PagedLOD cycle")
                break
            seen.add(path)
            if not path.exists():
                problem(path, "named by a PagedLOD but missing")
                continue
            text = osgconv(path, problem)
            if text is None:
                continue
            vertices = osgt_arrays(text, "VertexArray")
            if "osg::Geometry" not in text or not vertices or not all(vertices) or "PrimitiveSetList" not in text:
                problem(path, "no osg::Geometry with vertices and primitive sets")
                continue
            if "osg::Texture2D" not in text or "osg::Image" not in text:
                problem(path, "the geometry has no texture image")
            children = []
            for m in re.finditer(r"RangeDataList \d+ \{\n(.*?)\n\s*\}", text, re.S):
                names = re.findall(r'"([^"]*)"', m.group(1))
                children += [n for n in names if n]
            queue += [(path.parent / c, level + 1) for c in children]
            depth = max(depth, level + 1)
            if not children:
                finest += [to_out(v) for v in vertices[0]]
            summary.append({"file": str(path), "tool": "osgconv", "level": level,
                            "vertices": sum(len(v) for v in vertices), "children": children})
        if depth < 2:
            problem(root, f"{depth} level(s) of detail")
    return finest


# --- I3S -------------------------------------------------------------------------------


def check_slpk(path, epsg, node, node_modules, problem, summary):
    code, out, err = run([node, str(pathlib.Path(__file__).with_name("check_slpk.cjs")),
                          str(node_modules), str(path)])
    try:
        report = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        problem(path, f"loaders.gl check printed no report: exit {code} {err.strip()[:400]}")
        return None
    for p in report.get("problems", []):
        problem(path, f"loaders.gl: {p[:400]}")
    if code != 0 or report.get("problems"):
        return None
    if report.get("wkid") != 4326:
        problem(path, f"wkid {report.get('wkid')}: positions are read as WGS 84 degrees")
    leaves = [n for n in report["nodes"] if not n["children"]]
    to_out = Transformer.from_crs(4326, epsg, always_xy=True)
    finest = [(*to_out.transform(p[0], p[1]), p[2]) for n in leaves for p in n["points"]]
    for n in report["nodes"]:
        summary.append({"file": str(path), "tool": "@loaders.gl/i3s", "node": n["id"],
                        "vertices": n["vertices"], "distinct": n["distinct"],
                        "children": n["children"], "texture_bytes": n["texture_bytes"]})
    return finest


# --- S3M -------------------------------------------------------------------------------


def check_scp(path, epsg, problem, summary):
    """An S3M description and the tile tree it roots."""
    try:
        scp = json.loads(path.read_text())
    except ValueError as e:
        problem(path, f"not JSON: {e}")
        return None
    for key in ("version", "dataType", "crs", "position", "rootTiles"):
        if key not in scp:
            problem(path, f"no `{key}`")
            return None
    version = struct.unpack("<f", struct.pack("<f", float(scp["version"])))[0]
    crs = scp["crs"].lower()
    if not crs.startswith("epsg:"):
        problem(path, f"crs {scp['crs']!r} is not epsg:n")
        return None
    pos = scp["position"]["point3D"]
    if scp["position"]["unit"] == "Degree":
        to_deg = enu_to_degrees(pos["y"], pos["x"])
        t = Transformer.from_crs(int(crs[5:]), epsg, always_xy=True)
        to_out = lambda v: (*t.transform(*to_deg(v[0], v[1])), v[2] + pos["z"])
    else:
        t = Transformer.from_crs(int(crs[5:]), epsg, always_xy=True)
        to_out = lambda v: (*t.transform(v[0] + pos["x"], v[1] + pos["y"]), v[2] + pos["z"])
    finest = []
    for root in scp["rootTiles"]:
        queue, depth = [(path.parent / root["url"], 0)], 0
        box = root.get("boundingBox")
        while queue:
            tile_path, level = queue.pop(0)
            try:
                tile = s3m_reader.read_tile(tile_path.read_bytes())
            except FileNotFoundError:
                problem(tile_path, "named but missing")
                continue
            except s3m_reader.S3MError as e:
                problem(tile_path, f"S3M reader: {e}")
                continue
            if tile["version"] != version:
                problem(tile_path, f"version {tile['version']}, the description says {scp['version']}")
            vertices = {k: v["vertices"] for k, v in tile["skeletons"].items()}
            if not vertices or not all(vertices.values()):
                problem(tile_path, "no skeleton with vertices")
                continue
            for lod in tile["lods"]:
                for p in lod["patches"]:
                    for k in p["skeletons"]:
                        outside = [v for v in vertices[k] if not in_box(lod["box"], v)]
                        if outside:
                            problem(tile_path, f"vertex {outside[0]} of {k} outside its LOD package's box")
            if level == 0 and box:
                b = {"center": [box["center"][a] for a in "xyz"],
                     "x": [box["xExtent"][a] for a in "xyz"], "y": [box["yExtent"][a] for a in "xyz"],
                     "z": [box["zExtent"][a] for a in "xyz"]}
                for vs in vertices.values():
                    if any(not in_box(b, v) for v in vs):
                        problem(path, "the root tile's vertices leave the description's box")
                        break
            children = [lod["child"] for lod in tile["lods"] if lod["child"]]
            queue += [(tile_path.parent / c, level + 1) for c in children]
            depth = max(depth, level + 1)
            if not children:
                finest += [to_out(v) for vs in vertices.values() for v in vs]
            summary.append({"file": str(tile_path), "tool": "s3m_reader (from the specification)",
                            "version": round(tile["version"], 4), "level": level,
                            "skeletons": {k: len(v) for k, v in vertices.items()},
                            "textures": len(tile["textures"]), "children": children})
        if scp["dataType"] != "PointCloud" and depth < 2:
            problem(path, f"{depth} level(s) of detail")
    return finest


def in_box(box, v, slack=1e-3):
    c = box["center"]
    for axis in ("x", "y", "z"):
        a = box[axis]
        aa = sum(x * x for x in a)
        if aa == 0:
            continue
        d = sum((v[k] - c[k]) * a[k] for k in range(3))
        if abs(d) / aa > 1 + slack:
            return False
    return True


# --- one mesh, several encodings --------------------------------------------------------


def compare_geometry(reference, encodings, problem, summary, geographic=False, tolerance=0.05):
    """Each encoding's finest level has the reference's distinct vertices and bounds
    (within `tolerance` metres; positions in degrees are compared on the tangent plane)."""
    if geographic and reference:
        lat0 = sum(p[1] for p in reference) / len(reference)
        phi = math.radians(lat0)
        w = math.sqrt(1 - WGS84_E2 * math.sin(phi) ** 2)
        per_lat = math.radians(WGS84_A * (1 - WGS84_E2) / w ** 3)
        per_lon = math.radians(WGS84_A / w * math.cos(phi))
        metric = lambda pts: [(p[0] * per_lon, p[1] * per_lat, p[2]) for p in pts]
        reference = metric(reference)
        encodings = {k: metric(v) if v else v for k, v in encodings.items()}

    def distinct(points):
        return {tuple(round(c / tolerance) for c in p) for p in points}

    ref_n = len(distinct(reference))
    ref_b = bounds_of(reference)
    for name, points in encodings.items():
        if not points:
            continue
        n = len(distinct(points))
        b = bounds_of(points)
        worst = max(abs(x - y) for x, y in zip(b, ref_b))
        if n != ref_n or worst > tolerance:
            problem(name, f"{n} distinct vertices, bounds {worst:.3f} m off; the reference has {ref_n}")
        summary.append({"file": name, "tool": "compared with the reference", "distinct_vertices": n,
                        "bounds_difference_m": round(worst, 4)})
