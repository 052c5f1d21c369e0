//! OpenSceneGraph's native binary format (`.osgb`), as OpenSceneGraph 3.6 reads it: the
//! tiled, paged model photogrammetry software exports in ContextCapture's layout
//! (`Data/Tile_+000_+000/Tile_+000_+000.osgb` beside `metadata.xml`).
//!
//! A file is a header (magic, scene type, format version 161, the "brackets carry their
//! size" attribute, no compressor) and one object. An object is its class name, a bracket
//! (an 8-byte size covering itself and what follows up to its end), a unique id, and the
//! fields of every class it derives from, in the serializers' order: every field is
//! written in binary (a default too), an object field is a presence byte and the object,
//! a field with a check (`UserCenter`, `RangeList`, ...) is the check's byte and, when
//! true, its value. Arrays are a count and the raw little-endian elements.
//!
//! The tile is a `PagedLOD` holding a coarse `Geode` and naming a finer file, which holds
//! a finer one, down to the mesh of the OBJ output: three levels, each textured with the
//! orthophoto (the JPEG embedded in the file, as exporters embed it).

use super::lod::Level;

/// The first bytes of every `.osgb`.
const MAGIC: [u32; 2] = [0x6C91_0EA1, 0x1AFB_4545];
/// The format version OpenSceneGraph 3.6 writes.
const VERSION: u32 = 161;
/// GL enums the file names.
const GL_TEXTURE_2D: u32 = 0x0DE1;
const GL_LIGHTING: u32 = 0x0B50;
const GL_CLAMP_TO_EDGE: u32 = 0x812F;
const GL_CLAMP: u32 = 0x2900;
const GL_LINEAR: u32 = 0x2601;
const GL_LEQUAL: i32 = 0x0203;
const GL_LUMINANCE: i32 = 0x1909;
const GL_TRIANGLES: u32 = 0x0004;
/// `osg::Object::DataVariance`: UNSPECIFIED.
const UNSPECIFIED: i32 = 2;
/// `osg::Array::Binding`: BIND_PER_VERTEX.
const BIND_PER_VERTEX: i32 = 4;

/// A file being written: the bytes and the brackets still open.
struct Writer {
    buf: Vec<u8>,
    open: Vec<usize>,
    next_id: u32,
}

impl Writer {
    fn new() -> Self {
        let mut w = Self {
            buf: Vec::with_capacity(64 * 1024),
            open: Vec::new(),
            next_id: 1,
        };
        for m in MAGIC {
            w.u32(m);
        }
        w.u32(1); // a scene
        w.u32(VERSION);
        w.u32(4); // brackets carry their size
        w.str("0"); // no compressor
        w
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// `{`: a size to be filled in when the bracket closes.
    fn begin(&mut self) {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&[0; 8]);
    }

    /// `}`: the bracket's size, from its size field to here.
    fn end(&mut self) {
        let at = self.open.pop().expect("a bracket is open");
        let size = (self.buf.len() - at) as u64;
        self.buf[at..at + 8].copy_from_slice(&size.to_le_bytes());
    }

    /// An object of `class`: its name, bracket and id, then `fields`.
    fn object(&mut self, class: &str, fields: impl FnOnce(&mut Self)) {
        self.str(class);
        self.begin();
        let id = self.next_id;
        self.next_id += 1;
        self.u32(id);
        fields(self);
        self.end();
    }

    /// `osg::Object`: no name, unspecified variance, no user data.
    fn object_fields(&mut self) {
        self.str("");
        self.i32(UNSPECIFIED);
        self.bool(false);
    }

    /// `osg::Node`: no initial bound or callbacks, culling on, every mask bit, and the
    /// state set `stateset` writes, if any.
    fn node_fields(&mut self, stateset: Option<&dyn Fn(&mut Self)>) {
        self.bool(false); // InitialBound
        for _ in 0..4 {
            self.bool(false); // ComputeBoundingSphere, Update, Event and Cull callbacks
        }
        self.bool(true); // CullingActive
        self.u32(0xFFFF_FFFF); // NodeMask
        match stateset {
            Some(write) => {
                self.bool(true);
                write(self);
            }
            None => self.bool(false),
        }
    }

    fn finish(self) -> Vec<u8> {
        debug_assert!(self.open.is_empty());
        self.buf
    }
}

/// The texture's state: lighting off, the JPEG on unit 0.
fn stateset(w: &mut Writer, texture: &[u8]) {
    w.object("osg::StateSet", |w| {
        w.object_fields();
        // ModeList: GL_LIGHTING off (a photo-textured mesh carries its own light).
        w.bool(true);
        w.u32(1);
        w.begin();
        w.u32(GL_LIGHTING);
        w.i32(0);
        w.end();
        w.bool(false); // AttributeList
        // TextureModeList: unit 0, GL_TEXTURE_2D on.
        w.bool(true);
        w.u32(1);
        w.begin();
        w.u32(1);
        w.begin();
        w.u32(GL_TEXTURE_2D);
        w.i32(1);
        w.end();
        w.end();
        // TextureAttributeList: unit 0, the texture.
        w.bool(true);
        w.u32(1);
        w.begin();
        w.u32(1);
        w.begin();
        texture2d(w, texture);
        w.i32(0); // its value: inherit
        w.end();
        w.end();
        w.bool(false); // UniformList
        w.i32(0); // RenderingHint: DEFAULT_BIN
        w.i32(0); // RenderBinMode: INHERIT_RENDERBIN_DETAILS
        w.i32(0); // BinNumber
        w.str(""); // BinName
        w.bool(true); // NestRenderBins
        w.bool(false); // UpdateCallback
        w.bool(false); // EventCallback
        w.bool(false); // DefineList
    });
}

fn texture2d(w: &mut Writer, jpeg: &[u8]) {
    w.object("osg::Texture2D", |w| {
        w.object_fields();
        w.bool(false); // StateAttribute: UpdateCallback
        w.bool(false); // EventCallback
        for (check, value) in [
            (true, GL_CLAMP_TO_EDGE), // WRAP_S
            (true, GL_CLAMP_TO_EDGE), // WRAP_T
            (true, GL_CLAMP),         // WRAP_R
            (true, GL_LINEAR),        // MIN_FILTER
            (true, GL_LINEAR),        // MAG_FILTER
        ] {
            w.bool(check);
            w.u32(value);
        }
        w.f32(1.0); // MaxAnisotropy
        w.bool(true); // UseHardwareMipMapGeneration
        w.bool(false); // UnRefImageDataAfterApply
        w.bool(false); // ClientStorageHint
        w.bool(true); // ResizeNonPowerOfTwoHint
        for _ in 0..4 {
            w.f64(0.0); // BorderColor
        }
        w.i32(0); // BorderWidth
        w.i32(0); // InternalFormatMode: USE_IMAGE_DATA_FORMAT
        w.bool(false); // InternalFormat
        w.bool(false); // SourceFormat
        w.bool(false); // SourceType
        w.bool(false); // ShadowComparison
        w.i32(GL_LEQUAL); // ShadowCompareFunc
        w.i32(GL_LUMINANCE); // ShadowTextureMode
        w.f32(0.0); // ShadowAmbient
        w.bool(true); // Swizzle
        w.str("RGBA");
        w.f32(0.0); // MinLOD
        w.f32(-1.0); // MaxLOD
        w.f32(0.0); // LODBias
        // Image: the JPEG file itself, inline (decoded by the reader's JPEG plugin).
        w.bool(true);
        w.str("osg::Image");
        let id = w.next_id;
        w.next_id += 1;
        w.u32(id);
        w.str("Block.jpg"); // FileName: its extension names the decoder
        w.i32(0); // WriteHint: NO_PREFERENCE
        w.i32(1); // IMAGE_INLINE_FILE
        w.u32(jpeg.len() as u32);
        w.buf.extend_from_slice(jpeg);
        w.str("");
        w.i32(1); // DataVariance: DYNAMIC, as OpenSceneGraph writes images
        w.bool(false);
        w.i32(0); // TextureWidth
        w.i32(0); // TextureHeight
    });
}

/// A `Geode` with one textured `Geometry` of `level`.
fn geode(w: &mut Writer, level: &Level, texture: &[u8]) {
    w.object("osg::Geode", |w| {
        w.object_fields();
        w.node_fields(None);
        w.bool(true); // Drawables
        w.u32(1);
        w.begin();
        w.object("osg::Geometry", |w| {
            w.object_fields();
            w.node_fields(Some(&|w: &mut Writer| stateset(w, texture)));
            // Drawable: no initial bound, bounding box callback or shape; display
            // lists allowed and used, no vertex buffer objects asked for; every mask bit.
            w.bool(false);
            w.bool(false);
            w.bool(false);
            w.bool(true);
            w.bool(true);
            w.bool(false);
            w.u32(0xFFFF_FFFF);
            // PrimitiveSetList: the triangles.
            w.bool(true);
            w.u32(1);
            w.object("osg::DrawElementsUInt", |w| {
                w.object_fields();
                w.bool(false); // BufferData: BufferObject
                w.i32(0); // PrimitiveSet: NumInstances
                w.u32(GL_TRIANGLES);
                w.u32(level.triangles.len() as u32);
                for i in &level.triangles {
                    w.u32(*i);
                }
            });
            // VertexArray.
            w.bool(true);
            w.object("osg::Vec3Array", |w| {
                w.object_fields();
                w.bool(false); // BufferObject
                w.i32(BIND_PER_VERTEX);
                w.bool(false); // Normalize
                w.bool(false); // PreserveDataType
                w.u32(level.vertices.len() as u32);
                for v in &level.vertices {
                    for c in v {
                        w.f32(*c);
                    }
                }
            });
            for _ in 0..4 {
                w.bool(false); // Normal, Color, SecondaryColor and FogCoord arrays
            }
            // TexCoordArrayList: unit 0.
            w.u32(1);
            w.object("osg::Vec2Array", |w| {
                w.object_fields();
                w.bool(false);
                w.i32(BIND_PER_VERTEX);
                w.bool(false);
                w.bool(false);
                w.u32(level.uv.len() as u32);
                for t in &level.uv {
                    w.f32(t[0]);
                    w.f32(t[1]);
                }
            });
            w.u32(0); // VertexAttribArrayList
        });
        w.end();
    });
}

/// A leaf file: `level` in a `Geode`.
pub(crate) fn leaf(level: &Level, texture: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    geode(&mut w, level, texture);
    w.finish()
}

/// A paged node: `level` shown while the tile covers up to `pixels` on screen, the file
/// `finer` (beside it) beyond that.
pub(crate) fn paged(level: &Level, texture: &[u8], pixels: f32, finer: &str) -> Vec<u8> {
    let mut w = Writer::new();
    let (centre, radius) = level.sphere();
    w.object("osg::PagedLOD", |w| {
        w.object_fields();
        w.node_fields(None);
        w.i32(1); // LOD: CenterMode USER_DEFINED_CENTER
        w.bool(true); // UserCenter
        for c in centre {
            w.f64(c);
        }
        w.f64(radius);
        w.i32(1); // RangeMode: PIXEL_SIZE_ON_SCREEN
        w.bool(true); // RangeList
        w.u32(2);
        w.begin();
        w.f32(0.0);
        w.f32(pixels);
        w.f32(pixels);
        w.f32(1e30);
        w.end();
        w.bool(true); // PagedLOD: DatabasePath (none: the file's own folder)
        w.bool(false);
        w.u32(0); // NumChildrenThatCannotBeExpired
        w.bool(false); // DisableExternalChildrenPaging
        w.bool(true); // RangeDataList: child 0 inline, child 1 in `finer`
        w.u32(2);
        w.begin();
        w.str("");
        w.str(finer);
        w.end();
        w.u32(2); // PriorityList
        w.begin();
        for _ in 0..2 {
            w.f32(0.0);
            w.f32(1.0);
        }
        w.end();
        w.bool(true); // Children: the inline one
        w.u32(1);
        w.begin();
        geode(w, level, texture);
        w.end();
    });
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level() -> Level {
        Level {
            vertices: vec![
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [1.0, 1.0, 0.5],
            ],
            uv: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
            triangles: vec![0, 1, 2, 2, 1, 3],
            source: vec![0, 1, 2, 3],
        }
    }

    /// Every bracket's size reaches exactly to the end of what it opened: the root
    /// object's covers the rest of the file.
    #[test]
    fn brackets_cover_their_objects() {
        for bytes in [
            leaf(&level(), b"jpeg"),
            paged(&level(), b"jpeg", 300.0, "next.osgb"),
        ] {
            assert_eq!(
                &bytes[..8],
                &[0xA1, 0x0E, 0x91, 0x6C, 0x45, 0x45, 0xFB, 0x1A]
            );
            // Header: 5 words and the compressor "0"; then the class name.
            let name_len = u32::from_le_bytes(bytes[25..29].try_into().unwrap()) as usize;
            let at = 29 + name_len;
            let size = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            assert_eq!(at + size, bytes.len());
        }
    }
}
