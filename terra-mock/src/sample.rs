//! Sample input data, so that the emulator can be exercised without a drone: a flight of
//! valid JPEG photos carrying GPS in their EXIF (a lawnmower pattern over a site), and a
//! LiDAR mission folder with the file types of a DJI L1/L2 mission; and the outputs a job
//! over such a flight leaves ([`job_outputs`]), without a server.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where and how a sample flight is flown.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use terra_mock::sample::{FlightPlan, write_flight};
/// let dir = tempfile::tempdir()?;
/// let plan = FlightPlan { images: 12, origin: (47.3769, 8.5417), ..Default::default() };
/// let photos = write_flight(dir.path(), &plan)?;
/// assert_eq!(photos.len(), 12);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightPlan {
    /// Number of photos.
    pub images: usize,
    /// Centre of the site (latitude, longitude), degrees.
    pub origin: (f64, f64),
    /// Flight altitude, metres.
    pub altitude: f64,
    /// Distance between photos and between lines, metres.
    pub spacing: f64,
    /// Photo size in pixels.
    pub width: u16,
    /// Photo height in pixels.
    pub height: u16,
}

impl Default for FlightPlan {
    fn default() -> Self {
        Self {
            images: 24,
            origin: (22.5797, 113.9436),
            altitude: 100.0,
            spacing: 30.0,
            width: 320,
            height: 240,
        }
    }
}

impl FlightPlan {
    /// The position of photo `i` (latitude, longitude): lines of 6 photos, back and forth.
    ///
    /// ```
    /// let plan = terra_mock::sample::FlightPlan::default();
    /// let (a, b) = (plan.position(0), plan.position(1));
    /// assert_ne!(a, b);
    /// assert_eq!(a.0, b.0, "photos of one line share the latitude");
    /// ```
    pub fn position(&self, i: usize) -> (f64, f64) {
        let (east, north) = self.offset(i);
        let lat = self.origin.0 + north / 111_320.0;
        let lon = self.origin.1 + east / (111_320.0 * self.origin.0.to_radians().cos());
        (lat, lon)
    }

    /// Metres east and north of `origin` where photo `i` is taken.
    fn offset(&self, i: usize) -> (f64, f64) {
        let per_line = 6;
        let (line, step) = (i / per_line, i % per_line);
        let step = if line % 2 == 0 {
            step
        } else {
            per_line - 1 - step
        };
        let lines = self.images.div_ceil(per_line).max(1);
        (
            (step as f64 - (per_line - 1) as f64 / 2.0) * self.spacing,
            (line as f64 - (lines - 1) as f64 / 2.0) * self.spacing,
        )
    }

    /// Photo `i` of the flight: a JPEG with its GPS position whose pixels show the part
    /// of one imaginary landscape (fields, a road, a river, trees) under the camera, so
    /// that the photos of a flight fit together the way real ones do and the emulator's
    /// orthophoto mosaic looks like a map. Each photo covers 1.6 × `spacing` east-west
    /// (4:3), the footprint terra-mock gives photos this far apart.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let plan = terra_mock::sample::FlightPlan::default();
    /// let photo = plan.aerial_photo(0)?;
    /// assert_eq!(&photo[..2], &[0xFF, 0xD8], "a JPEG");
    /// # Ok(()) }
    /// ```
    pub fn aerial_photo(&self, i: usize) -> std::io::Result<Vec<u8>> {
        let (w, h) = (
            usize::from(self.width.max(1)),
            usize::from(self.height.max(1)),
        );
        let (pe, pn) = self.offset(i);
        let fw = 1.6 * self.spacing.max(1.0);
        let fh = fw * 0.75;
        let mut pixels = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let e = pe + (x as f64 / w as f64 - 0.5) * fw;
                let n = pn + (0.5 - y as f64 / h as f64) * fh;
                pixels.extend_from_slice(&landscape(e, n));
            }
        }
        let (lat, lon) = self.position(i);
        jpeg(
            &pixels,
            self.width.max(1),
            self.height.max(1),
            lat,
            lon,
            self.altitude,
        )
    }
}

/// A small integer hash (for the landscape's fields and trees).
fn hash(a: i64, b: i64) -> u32 {
    let mut x = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x >> 32) as u32
}

/// The colour of the imaginary landscape at `e`, `n` metres from the flight's origin.
fn landscape(e: f64, n: f64) -> [u8; 3] {
    const FIELDS: [[f64; 3]; 6] = [
        [118.0, 150.0, 70.0],
        [160.0, 170.0, 90.0],
        [96.0, 128.0, 58.0],
        [180.0, 160.0, 100.0],
        [140.0, 110.0, 80.0],
        [84.0, 140.0, 84.0],
    ];
    let grain = f64::from(hash((e * 4.0) as i64, (n * 4.0) as i64) % 24) - 12.0;
    let river = e - 35.0 - 18.0 * (n / 40.0).sin();
    if river.abs() < 6.0 {
        let shade = 1.0 - river.abs() / 20.0;
        return [40.0 * shade, 90.0 * shade, 150.0 * shade].map(|c| c as u8);
    }
    let road = n - 0.35 * e + 12.0;
    if road.abs() < 3.5 {
        let dash = road.abs() < 0.25 && (e / 3.0).rem_euclid(2.0) < 1.0;
        return if dash {
            [235, 235, 225]
        } else {
            [(110.0 + grain / 2.0) as u8; 3]
        };
    }
    // Trees: dark round crowns on a 9 m lattice, where the hash says so.
    let (ti, tj) = ((e / 9.0).floor() as i64, (n / 9.0).floor() as i64);
    if hash(ti, tj).is_multiple_of(5) {
        let (ce, cn) = ((ti as f64 + 0.5) * 9.0, (tj as f64 + 0.5) * 9.0);
        let d = (e - ce).hypot(n - cn);
        if d < 3.2 {
            let s = 0.6 + 0.4 * (1.0 - d / 3.2);
            return [34.0 * s, 80.0 * s, 36.0 * s].map(|c| c as u8);
        }
    }
    // Fields: 22 m × 30 m plots, each its own crop, with rows.
    let (fi, fj) = ((e / 22.0).floor() as i64, (n / 30.0).floor() as i64);
    let crop = FIELDS[(hash(fi, fj) % 6) as usize];
    let rows = if hash(fj, fi).is_multiple_of(2) { e } else { n };
    let stripe = 8.0 * (rows * 2.5).sin();
    crop.map(|c| (c + stripe + grain).clamp(0.0, 255.0) as u8)
}

fn rational(v: f64, denominator: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&((v * f64::from(denominator)).round() as u32).to_le_bytes());
    b[4..].copy_from_slice(&denominator.to_le_bytes());
    b
}

fn dms(deg: f64) -> Vec<u8> {
    let deg = deg.abs();
    let d = deg.floor();
    let m = ((deg - d) * 60.0).floor();
    let s = (deg - d - m / 60.0) * 3600.0;
    [rational(d, 1), rational(m, 1), rational(s, 10_000)].concat()
}

/// A little-endian TIFF IFD writer for EXIF: entries are `(tag, type, count, value bytes)`;
/// values longer than 4 bytes go after the IFD.
fn ifd(entries: &mut [(u16, u16, u32, Vec<u8>)], at: u32, next: u32) -> Vec<u8> {
    entries.sort_by_key(|e| e.0);
    let data_start = at + 2 + 12 * entries.len() as u32 + 4;
    let (mut head, mut data) = (Vec::new(), Vec::new());
    head.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, typ, count, value) in entries.iter() {
        head.extend_from_slice(&tag.to_le_bytes());
        head.extend_from_slice(&typ.to_le_bytes());
        head.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut v = value.clone();
            v.resize(4, 0);
            head.extend_from_slice(&v);
        } else {
            head.extend_from_slice(&(data_start + data.len() as u32).to_le_bytes());
            data.extend_from_slice(value);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend_from_slice(&next.to_le_bytes());
    head.extend(data);
    head
}

/// The APP1 payload of an EXIF block with make, model, date and a GPS IFD.
///
/// ```
/// let app1 = terra_mock::sample::exif_gps(22.58, 113.94, 100.0, "2026:11:25 10:00:00");
/// assert!(app1.starts_with(b"Exif\0\0"));
/// ```
pub fn exif_gps(lat: f64, lon: f64, altitude: f64, datetime: &str) -> Vec<u8> {
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    const BYTE: u16 = 1;
    let ascii = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        (v.len() as u32, v)
    };
    let (make_n, make) = ascii("DJI");
    let (model_n, model) = ascii("FC6310R");
    let (dt_n, dt) = ascii(datetime);
    // IFD0 sits at offset 8; its size is known once its entries are; the GPS IFD follows.
    let mut ifd0 = vec![
        (0x010F, ASCII, make_n, make),
        (0x0110, ASCII, model_n, model),
        (0x0112, SHORT, 1, 1u16.to_le_bytes().to_vec()),
        (0x0132, ASCII, dt_n, dt),
        (0x8825, LONG, 1, 0u32.to_le_bytes().to_vec()),
    ];
    let gps_at = 8 + ifd(&mut ifd0.clone(), 8, 0).len() as u32;
    ifd0[4].3 = gps_at.to_le_bytes().to_vec();
    let mut gps = vec![
        (0x0000, BYTE, 4, vec![2, 3, 0, 0]),
        (
            0x0001,
            ASCII,
            2,
            if lat >= 0.0 {
                b"N\0".to_vec()
            } else {
                b"S\0".to_vec()
            },
        ),
        (0x0002, RATIONAL, 3, dms(lat)),
        (
            0x0003,
            ASCII,
            2,
            if lon >= 0.0 {
                b"E\0".to_vec()
            } else {
                b"W\0".to_vec()
            },
        ),
        (0x0004, RATIONAL, 3, dms(lon)),
        (0x0005, BYTE, 1, vec![u8::from(altitude < 0.0)]),
        (0x0006, RATIONAL, 1, rational(altitude.abs(), 1000).to_vec()),
    ];
    let mut out = b"Exif\0\0II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend(ifd(&mut ifd0, 8, 0));
    out.extend(ifd(&mut gps, gps_at, 0));
    out
}

/// A JPEG of `w`×`h` pixels (a smooth pattern varied by `seed`) with GPS in its EXIF.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let jpeg = terra_mock::sample::jpeg_with_gps(64, 48, 1, 22.58, 113.94, 100.0)?;
/// assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG");
/// # Ok(()) }
/// ```
pub fn jpeg_with_gps(
    w: u16,
    h: u16,
    seed: u32,
    lat: f64,
    lon: f64,
    altitude: f64,
) -> std::io::Result<Vec<u8>> {
    let mut pixels = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..u32::from(h) {
        for x in 0..u32::from(w) {
            let v = (x * 3 + y * 2 + seed * 17) as f32;
            pixels.push((96.0 + 60.0 * (v / 40.0).sin()) as u8);
            pixels.push((128.0 + 50.0 * ((x + seed) as f32 / 25.0).cos()) as u8);
            pixels.push((80.0 + 40.0 * ((y * seed.max(1)) as f32 / 90.0).sin()) as u8);
        }
    }
    jpeg(&pixels, w, h, lat, lon, altitude)
}

/// RGB pixels as a JPEG with GPS EXIF.
fn jpeg(
    pixels: &[u8],
    w: u16,
    h: u16,
    lat: f64,
    lon: f64,
    altitude: f64,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    let to_io = |e: jpeg_encoder::EncodingError| std::io::Error::other(e.to_string());
    enc.add_app_segment(1, &exif_gps(lat, lon, altitude, "2026:11:25 10:00:00"))
        .map_err(to_io)?;
    enc.encode(pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(to_io)?;
    Ok(out)
}

/// Writes a sample flight of `plan.images` photos named `DJI_0001.JPG`, ... into `dir`.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use terra_mock::sample::{FlightPlan, write_flight};
/// let dir = tempfile::tempdir()?;
/// let photos = write_flight(dir.path(), &FlightPlan { images: 10, ..Default::default() })?;
/// assert!(photos[0].ends_with("DJI_0001.JPG"));
/// assert!(terra_types::is_image_name(photos[9].to_str().unwrap()));
/// # Ok(()) }
/// ```
pub fn write_flight(dir: &Path, plan: &FlightPlan) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    (0..plan.images)
        .map(|i| {
            let path = dir.join(format!("DJI_{:04}.JPG", i + 1));
            std::fs::write(&path, plan.aerial_photo(i)?)?;
            Ok(path)
        })
        .collect()
}

/// Writes a sample LiDAR mission folder (the L1/L2 file types: LDR, IMU, RTK, RTB, RTL,
/// RTS, CLC, CLI, plus a few photos for colourising). Contents are placeholders.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let files = terra_mock::sample::write_lidar_mission(dir.path())?;
/// assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "LDR")));
/// # Ok(()) }
/// ```
pub fn write_lidar_mission(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for (ext, kib) in [
        ("LDR", 256),
        ("IMU", 32),
        ("RTK", 16),
        ("RTB", 16),
        ("RTL", 8),
        ("RTS", 8),
        ("CLC", 4),
        ("CLI", 4),
    ] {
        let path = dir.join(format!("DJI_20261125100000_0001_Zenmuse-L1-mission.{ext}"));
        let mut f = std::fs::File::create(&path)?;
        // Each file its own content (a real mission has no two files alike).
        let tag = ext
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31) ^ u32::from(b));
        let mut x: u32 = (kib as u32).wrapping_mul(2_654_435_761) ^ tag | 1;
        let chunk: Vec<u8> = (0..1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for _ in 0..kib {
            f.write_all(&chunk)?;
        }
        files.push(path);
    }
    let plan = FlightPlan {
        images: 4,
        ..FlightPlan::default()
    };
    for i in 0..plan.images {
        let (lat, lon) = plan.position(i);
        let path = dir.join(format!("DJI_20261125100000_{:04}_V.JPG", i + 1));
        std::fs::write(
            &path,
            jpeg_with_gps(160, 120, i as u32, lat, lon, plan.altitude)?,
        )?;
        files.push(path);
    }
    Ok(files)
}

/// The files a finished job of `job_type` with `parameters` (the start request's
/// `parameters` string) leaves for the photos of `plan`, exactly as the emulator writes
/// them into the job's output resource (`config` as [`MockConfig::outputs`]), as
/// `(name, bytes)`: a way to test what imports the outputs (a GIS, a viewer, a converter)
/// without running a server.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use terra_mock::sample::{FlightPlan, job_outputs};
/// let plan = FlightPlan { images: 8, ..Default::default() };
/// let params = r#"{"parameter":{"output_mesh":true,"generate_osgb":true}}"#;
/// let files = job_outputs(&plan, terra_types::JobType::Model3d, params, &Default::default())?;
/// assert!(files.iter().any(|(name, _)| name.ends_with("Tile_+000_+000.osgb")));
/// # Ok(()) }
/// ```
///
/// [`MockConfig::outputs`]: crate::MockConfig::outputs
pub fn job_outputs(
    plan: &FlightPlan,
    job_type: terra_types::JobType,
    parameters: &str,
    config: &crate::OutputConfig,
) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let photos: Vec<Vec<u8>> = (0..plan.images)
        .map(|i| plan.aerial_photo(i))
        .collect::<std::io::Result<_>>()?;
    let inputs: Vec<crate::outputs::Input> = photos
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let (lat, lon) = plan.position(i);
            crate::outputs::Input {
                name: format!("DJI_{:04}.JPG", i + 1),
                size: bytes.len() as u64,
                position: Some((lat, lon, Some(plan.altitude))),
            }
        })
        .collect();
    let read = |k: usize| photos.get(k).cloned();
    Ok(
        crate::outputs::generate(job_type, parameters, "sample", &inputs, config, &read)
            .into_iter()
            .map(|o| (o.name, o.body))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpegs_are_well_formed_with_an_exif_segment() {
        let j = jpeg_with_gps(64, 48, 1, 22.5, 113.9, 100.0).unwrap();
        assert_eq!(&j[..2], &[0xFF, 0xD8], "SOI");
        assert_eq!(&j[j.len() - 2..], &[0xFF, 0xD9], "EOI");
        let exif = j
            .windows(6)
            .position(|w| w == b"Exif\0\0")
            .expect("EXIF present");
        assert_eq!(&j[exif + 6..exif + 10], b"II*\0");
    }

    #[test]
    fn the_flight_covers_a_grid_around_the_origin() {
        let p = FlightPlan::default();
        let pts: Vec<_> = (0..p.images).map(|i| p.position(i)).collect();
        let lat: f64 = pts.iter().map(|x| x.0).sum::<f64>() / pts.len() as f64;
        assert!((lat - p.origin.0).abs() < 1e-6);
        assert!(pts.windows(2).all(|w| w[0] != w[1]));
    }
}
