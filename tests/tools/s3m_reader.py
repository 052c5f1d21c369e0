"""A reader of S3M tiles (`.s3mb`), written from SuperMap's published specification
(`s3m-spec`: Specification/S3MB/S3MBBinary.md, S3MB.md, Specification.md) and nothing
else: it shares no code or assumption with the emulator's writer beyond the text.

Every field is read in order, every count and length is checked against the bytes left,
every `streamSize` against the bytes its structure took, enumerations against their
listed values, and the package must end exactly where the last structure ends. The
header's sizes are checked against the compressed bytes and the decompressed package.

Conventions the specification leaves open, as this reader takes them:
  * `reserved[n]` pads to a multiple of four bytes counted from the package's start;
  * a `streamSize` counts the bytes after its own field up to the end of its structure;
  * compression type 1 ("zip") is a zlib stream, 2 a gzip member;
  * a bounding box's extents are half axes.

Usage as a program: python s3m_reader.py FILE.s3mb... prints a summary per tile and
exits 1 on the first error.
"""

import gzip
import json
import struct
import sys
import zlib

RANGE_MODES = {0, 1, 2}
INDEX_TYPES = {0: 2, 1: 4}  # IT_16BIT, IT_32BIT: bytes per index
PRIMITIVES = {1, 2, 3, 4, 5, 6, 8, 9, 10}
ATTRIBUTE_TYPES = {0: ("I", 4), 1: ("f", 4), 2: ("d", 8), 3: ("H", 2)}
TEXTURE_COMPRESSION = {0, 33776, 33777, 33778, 33779, 35843, 36196, 37496, 38000, 38001, 38002}
PIXEL_FORMATS = {32849: 3, 32856: 4, 34837: 12, 34836: 16}  # bytes per pixel
MAX_COUNT = 1 << 26


class S3MError(Exception):
    pass


class Stream:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise S3MError(f"{what}: needs {n} bytes at {self.pos}, {len(self.data) - self.pos} left")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, what):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size, what))

    def u8(self, what):
        return self.unpack("B", what)[0]

    def u16(self, what):
        return self.unpack("H", what)[0]

    def u32(self, what):
        return self.unpack("I", what)[0]

    def i32(self, what):
        return self.unpack("i", what)[0]

    def f32(self, what):
        return self.unpack("f", what)[0]

    def f64s(self, n, what):
        return list(self.unpack(f"{n}d", what))

    def count(self, what, signed=False):
        n = self.i32(what) if signed else self.u32(what)
        if n < 0 or n > MAX_COUNT:
            raise S3MError(f"{what}: count {n} out of range")
        return n

    def string(self, what):
        n = self.count(f"{what} length")
        raw = self.take(n, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise S3MError(f"{what}: not UTF-8 ({e})")

    def json_string(self, what):
        s = self.string(what)
        if s == "":
            return None
        try:
            return json.loads(s)
        except ValueError as e:
            raise S3MError(f"{what}: not JSON ({e})")

    def reserved(self, what):
        n = (-self.pos) % 4
        pad = self.take(n, what)
        if any(pad):
            raise S3MError(f"{what}: reserved bytes are not zero")

    def sized(self, what):
        """Reads a streamSize; returns a function that checks it at the structure's end."""
        size = self.u32(f"{what} streamSize")
        start = self.pos
        if start + size > len(self.data):
            raise S3MError(f"{what}: streamSize {size} passes the end of the package")

        def done():
            if self.pos - start != size:
                raise S3MError(f"{what}: streamSize {size}, the structure took {self.pos - start}")
        return done

    def floats(self, n, what):
        return list(self.unpack(f"{n}f", what)) if n else []


def read_box(s, what):
    v = s.f64s(12, what)
    return {"center": v[0:3], "x": v[3:6], "y": v[6:9], "z": v[9:12]}


def read_lod_packages(s):
    done = s.sized("LODPackages")
    lods = []
    for i in range(s.count("lodPackageCount", signed=True)):
        what = f"LODPackage {i}"
        lod = {"range": s.f32(f"{what} rangeValue"), "mode": s.u16(f"{what} rangeMode")}
        if lod["mode"] not in RANGE_MODES:
            raise S3MError(f"{what}: rangeMode {lod['mode']}")
        x, y, z, r = s.f64s(4, f"{what} boundingSphere")
        if not r >= 0:
            raise S3MError(f"{what}: sphere radius {r}")
        lod["sphere"] = [x, y, z, r]
        lod["box"] = read_box(s, f"{what} boundingBox")
        lod["child"] = s.string(f"{what} strChildTile")
        lod["patches"] = []
        for p in range(s.count(f"{what} patchCount", signed=True)):
            matrix = s.f64s(16, f"{what} patch {p} matrix")
            names = [s.string(f"{what} patch {p} skeleton name")
                     for _ in range(s.count(f"{what} patch {p} skeletonCount", signed=True))]
            lod["patches"].append({"matrix": matrix, "skeletons": names})
        lod["animations"] = s.json_string(f"{what} animations")
        lods.append(lod)
    s.reserved("LODPackages reserved")
    done()
    return lods


def read_vertex_package(s, what):
    done = s.sized(f"{what} VertexDataPackage")
    out = {}
    n = s.count(f"{what} vertexCount")
    dim, _stride = s.u16(f"{what} vertexDimension"), s.u16(f"{what} vertexStride")
    data = s.floats(n * dim, f"{what} vertexData")
    out["vertices"] = [tuple(data[i * dim:(i + 1) * dim]) for i in range(n)]
    nn = s.count(f"{what} normalCount")
    ndim, _ = s.u16(f"{what} normalDimension"), s.u16(f"{what} normalStride")
    out["normals"] = s.floats(nn * ndim, f"{what} normalData")
    nc = s.count(f"{what} vertexColorCount")
    s.u16(f"{what} vertexColorStride")
    s.take(2, f"{what} color reserved")
    out["colors"] = list(s.unpack(f"{nc}I", f"{what} vertexColorData")) if nc else []
    out["texcoords"] = []
    nt = s.u16(f"{what} textureCoordCount")
    s.take(2, f"{what} texcoord reserved")
    for t in range(nt):
        c = s.count(f"{what} texcoord {t} count")
        d, _ = s.u16(f"{what} texcoord {t} dimension"), s.u16(f"{what} texcoord {t} stride")
        out["texcoords"].append((c, d, s.floats(c * d, f"{what} texcoord {t} data")))
    ni = s.u16(f"{what} instanceInfoCount")
    s.take(2, f"{what} instance reserved")
    for k in range(ni):
        for o in range(s.count(f"{what} instance {k} instanceCount")):
            m = s.u16(f"{what} instance {k}.{o} count")
            s.take(2, f"{what} instance reserved")
            s.floats(m, f"{what} instance {k}.{o} matrix")
    for a in range(s.count(f"{what} vertexAttributeCount")):
        c = s.count(f"{what} attribute {a} count")
        d, t = s.u16(f"{what} attribute {a} dimension"), s.u16(f"{what} attribute {a} type")
        if t not in ATTRIBUTE_TYPES:
            raise S3MError(f"{what} attribute {a}: type {t}")
        s.take(c * d * ATTRIBUTE_TYPES[t][1], f"{what} attribute {a} data")
    s.json_string(f"{what} vertex attribute descript")
    s.reserved(f"{what} extension reserved")
    nt = s.count(f"{what} tangentCount")
    tdim, _ = s.u16(f"{what} tangentDimension"), s.u16(f"{what} tangentStride")
    out["tangents"] = s.floats(nt * tdim, f"{what} tangentData")
    done()
    for name, arr, per in (("normals", out["normals"], ndim), ("tangents", out["tangents"], tdim)):
        if arr and len(arr) // max(per, 1) != n:
            raise S3MError(f"{what}: {len(arr) // max(per, 1)} {name} for {n} vertices")
    if nc and nc != n:
        raise S3MError(f"{what}: {nc} colours for {n} vertices")
    return out


def read_index_package(s, what, vertex_count):
    done = s.sized(what)
    n = s.count(f"{what} indexCount")
    kind, use, prim, _ = s.u8(f"{what} indexType"), s.u8(f"{what} isUseIndex"), s.u8(f"{what} drawPrimitiveType"), s.u8(f"{what} reserved")
    if kind not in INDEX_TYPES:
        raise S3MError(f"{what}: indexType {kind}")
    if prim not in PRIMITIVES:
        raise S3MError(f"{what}: drawPrimitiveType {prim}")
    if use not in (0, 1):
        raise S3MError(f"{what}: isUseIndex {use}")
    indices = list(s.unpack(f"{n}{'H' if kind == 0 else 'I'}", f"{what} indexData")) if n else []
    s.reserved(f"{what} index reserved")
    passes = [s.string(f"{what} passName") for _ in range(s.count(f"{what} passCount", signed=True))]
    s.reserved(f"{what} reserved")
    done()
    bad = [i for i in indices if i >= vertex_count]
    if bad:
        raise S3MError(f"{what}: index {bad[0]} past {vertex_count} vertices")
    if prim == 4 and n % 3:
        raise S3MError(f"{what}: {n} indices do not make triangles")
    return {"indices": indices, "primitive": prim, "passes": passes}


def read_skeletons(s):
    done = s.sized("skeletons")
    skeletons = {}
    for i in range(s.count("skeletonCount", signed=True)):
        inner = s.sized(f"skeleton {i}")
        name = s.string(f"skeleton {i} name")
        s.reserved(f"skeleton {name} reserved")
        options = s.u32(f"skeleton {name} options")
        if options != 0:
            raise S3MError(f"skeleton {name}: options {options} (compressed skeletons are not read here)")
        k = read_vertex_package(s, f"skeleton {name}")
        k["index_packages"] = [read_index_package(s, f"skeleton {name} IndexPackage {j}", len(k["vertices"]))
                               for j in range(s.count(f"skeleton {name} indexPackageCount", signed=True))]
        k["box"] = read_box(s, f"skeleton {name} boundingBox")
        inner()
        if name in skeletons:
            raise S3MError(f"skeleton {name} twice")
        skeletons[name] = k
    done()
    return skeletons


def read_textures(s):
    done = s.sized("textures")
    textures = {}
    for i in range(s.count("textureCount", signed=True)):
        name = s.string(f"texture {i} name")
        s.reserved(f"texture {name} reserved")
        level = s.i32(f"texture {name} mipmapLevel")
        w, h = s.u32(f"texture {name} width"), s.u32(f"texture {name} height")
        compression = s.u32(f"texture {name} compressType")
        size = s.count(f"texture {name} dataSize")
        fmt = s.u32(f"texture {name} pixelFormat")
        if compression not in TEXTURE_COMPRESSION:
            raise S3MError(f"texture {name}: compressType {compression}")
        if fmt not in PIXEL_FORMATS:
            raise S3MError(f"texture {name}: pixelFormat {fmt}")
        data = s.take(size, f"texture {name} data")
        if compression == 0 and level == 0 and size != w * h * PIXEL_FORMATS[fmt]:
            raise S3MError(f"texture {name}: {size} bytes for {w}x{h} pixels")
        textures[name] = {"width": w, "height": h, "format": fmt, "bytes": len(data)}
    done()
    return textures


def read_id_info(s, skeletons):
    done = s.sized("IDInfo")
    ids = []
    for i in range(s.count("IDInfo count", signed=True)):
        name = s.string(f"IDInfo {i} name")
        if name not in skeletons:
            raise S3MError(f"IDInfo names skeleton {name!r}, which the tile lacks")
        n = len(skeletons[name]["vertices"])
        for m in range(s.count(f"IDInfo {name} monomerCount", signed=True)):
            oid = s.u32(f"IDInfo {name} id")
            for g in range(s.count(f"IDInfo {name} segmentCount", signed=True)):
                off, cnt = s.i32("vertexOffset"), s.i32("vertexCount")
                if off < 0 or cnt < 0 or off + cnt > n:
                    raise S3MError(f"IDInfo {name} object {oid}: vertices {off}+{cnt} of {n}")
            ids.append(oid)
    done()
    return ids


def read_package(package):
    s = Stream(package)
    options = s.u32("options")
    if options not in (0, 1):
        raise S3MError(f"options {options}")
    tile = {"lods": read_lod_packages(s), "skeletons": read_skeletons(s),
            "textures": read_textures(s)}
    materials = s.json_string("materials") or {}
    tile["materials"] = materials
    tile["ids"] = []
    if options & 1:
        representation = s.u32("idInfoRepresentationOption")
        if representation == 1:
            tile["ids"] = read_id_info(s, tile["skeletons"])
        elif representation == 2:
            s.json_string("IDInfo")
        else:
            raise S3MError(f"idInfoRepresentationOption {representation}")
    if s.pos < len(package):
        tile["extensions"] = s.json_string("extensions")
    if s.pos != len(package):
        raise S3MError(f"{len(package) - s.pos} bytes after the last structure")
    # References: patches name skeletons, index packages name materials, materials name textures.
    names = {m.get("material", {}).get("name") for m in materials.get("materials", [])}
    for lod in tile["lods"]:
        for p in lod["patches"]:
            for k in p["skeletons"]:
                if k not in tile["skeletons"]:
                    raise S3MError(f"a patch names skeleton {k!r}, which the tile lacks")
    for k, sk in tile["skeletons"].items():
        for ip in sk["index_packages"]:
            for pname in ip["passes"]:
                if pname not in names:
                    raise S3MError(f"skeleton {k} uses material {pname!r}, which the tile lacks")
    for m in materials.get("materials", []):
        for st in m.get("material", {}).get("textureStates", []):
            t = st.get("textureUnitState", {}).get("textureName")
            if t and not st["textureUnitState"].get("url") and t not in tile["textures"]:
                raise S3MError(f"material uses texture {t!r}, which the tile lacks")
    return tile


def read_tile(data):
    """Reads one `.s3mb`; returns its version and decoded package, or raises S3MError."""
    s = Stream(data)
    version = s.f32("version")
    kind, unpacked, packed = s.u32("compressedType"), s.u32("uncompressedSize"), s.u32("compressedSize")
    if not 1.0 <= version < 10.0:
        raise S3MError(f"version {version}")
    if len(data) - 16 != packed:
        raise S3MError(f"compressedSize {packed}, the file holds {len(data) - 16} bytes after the header")
    body = data[16:]
    try:
        if kind == 0:
            package = body
        elif kind == 1:
            package = zlib.decompress(body)
        elif kind == 2:
            package = gzip.decompress(body)
        else:
            raise S3MError(f"compressedType {kind}")
    except (zlib.error, OSError, EOFError) as e:
        raise S3MError(f"the package does not decompress: {e}")
    if len(package) != unpacked:
        raise S3MError(f"uncompressedSize {unpacked}, the package has {len(package)} bytes")
    tile = read_package(package)
    tile["version"] = version  # as stored: a float32
    tile["compression"] = kind
    return tile


def main():
    for path in sys.argv[1:]:
        try:
            with open(path, "rb") as f:
                tile = read_tile(f.read())
        except S3MError as e:
            print(f"{path}: {e}")
            sys.exit(1)
        print(json.dumps({"file": path, "version": round(tile["version"], 4),
                          "lods": [{"child": l["child"], "range": l["range"]} for l in tile["lods"]],
                          "skeletons": {k: len(v["vertices"]) for k, v in tile["skeletons"].items()},
                          "textures": tile["textures"]}))


if __name__ == "__main__":
    main()
