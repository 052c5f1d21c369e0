//! GeoTIFF rasters: the orthophoto (RGBA, a mosaic of the flight's photos or a shaded
//! relief) and the surface models (Float32 with a nodata value).
//!
//! Files are baseline, uncompressed, one strip, little-endian TIFF 6.0 with the GeoTIFF
//! 1.0 tags (`ModelPixelScale`, `ModelTiepoint`, `GeoKeyDirectory`, `GeoAsciiParams`)
//! and GDAL's `GDAL_NODATA`.

use super::crs::{Crs, Kind};
use super::site::{Grid, Photo, Site};
use crate::config::OutputConfig;
use std::time::{Duration, Instant};

/// The value of DSM cells outside the photos' coverage.
pub(crate) const NODATA: f32 = -9999.0;

const SHORT: u16 = 3;
const LONG: u16 = 4;
const ASCII: u16 = 2;
const DOUBLE: u16 = 12;

/// One IFD entry: tag, type, count, value bytes (little-endian).
struct Entry(u16, u16, u32, Vec<u8>);

fn shorts(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn doubles(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn ascii(s: &str) -> (u32, Vec<u8>) {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    (b.len() as u32, b)
}

/// The GeoKeyDirectory and GeoAsciiParams naming `crs`.
fn geokeys(crs: &Crs) -> (Vec<u16>, String) {
    let citation = format!("{}|", crs.name);
    let mut keys: Vec<[u16; 4]> = vec![[1026, 34737, citation.len() as u16, 0]];
    match (&crs.kind, crs.epsg) {
        (Kind::Geographic, Some(code)) => {
            keys.push([1024, 0, 1, 2]);
            keys.push([2048, 0, 1, code as u16]);
            keys.push([2054, 0, 1, 9102]);
        }
        (_, Some(code)) => {
            keys.push([1024, 0, 1, 1]);
            keys.push([3072, 0, 1, code as u16]);
            keys.push([3076, 0, 1, 9001]);
        }
        (_, None) => {
            // A local system: user-defined model type, metres.
            keys.push([1024, 0, 1, 32767]);
            keys.push([3076, 0, 1, 9001]);
        }
    }
    keys.push([1025, 0, 1, 1]); // PixelIsArea
    keys.sort_by_key(|k| k[0]);
    let mut dir = vec![1, 1, 0, keys.len() as u16];
    for k in keys {
        dir.extend_from_slice(&k);
    }
    (dir, citation)
}

/// What a raster holds per pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pixels {
    /// 8-bit red, green, blue and (unassociated) alpha.
    Rgba,
    /// One 32-bit float band with [`NODATA`].
    Float,
}

/// A GeoTIFF of `data` (row-major, top row first) on `grid` in `crs`.
pub(crate) fn geotiff(grid: &Grid, crs: &Crs, pixels: Pixels, data: &[u8]) -> Vec<u8> {
    let (w, h) = (grid.w, grid.h);
    let (samples, bits, format, photometric) = match pixels {
        Pixels::Rgba => (4u16, 8u16, 1u16, 2u16),
        Pixels::Float => (1, 32, 3, 1),
    };
    let (dir, citation) = geokeys(crs);
    let (cit_len, cit) = ascii(&citation);
    let mut entries = vec![
        Entry(256, LONG, 1, w.to_le_bytes().to_vec()),
        Entry(257, LONG, 1, h.to_le_bytes().to_vec()),
        Entry(
            258,
            SHORT,
            u32::from(samples),
            shorts(&vec![bits; usize::from(samples)]),
        ),
        Entry(259, SHORT, 1, shorts(&[1])),
        Entry(262, SHORT, 1, shorts(&[photometric])),
        Entry(273, LONG, 1, vec![0; 4]), // strip offset, patched below
        Entry(277, SHORT, 1, shorts(&[samples])),
        Entry(278, LONG, 1, h.to_le_bytes().to_vec()),
        Entry(279, LONG, 1, (data.len() as u32).to_le_bytes().to_vec()),
        Entry(284, SHORT, 1, shorts(&[1])),
    ];
    if pixels == Pixels::Rgba {
        entries.push(Entry(338, SHORT, 1, shorts(&[2]))); // unassociated alpha
    }
    entries.push(Entry(
        339,
        SHORT,
        u32::from(samples),
        shorts(&vec![format; usize::from(samples)]),
    ));
    entries.push(Entry(33550, DOUBLE, 3, doubles(&[grid.sx, grid.sy, 0.0])));
    entries.push(Entry(
        33922,
        DOUBLE,
        6,
        doubles(&[0.0, 0.0, 0.0, grid.x0, grid.y0, 0.0]),
    ));
    entries.push(Entry(34735, SHORT, dir.len() as u32, shorts(&dir)));
    entries.push(Entry(34737, ASCII, cit_len, cit));
    if pixels == Pixels::Float {
        let (n, b) = ascii(&format!("{NODATA}"));
        entries.push(Entry(42113, ASCII, n, b));
    }
    // Layout: header, IFD, out-of-line values (word aligned), pixels.
    let ifd_len = 2 + 12 * entries.len() + 4;
    let mut extra = Vec::new();
    let extra_at = 8 + ifd_len;
    let mut offsets = Vec::with_capacity(entries.len());
    for e in &entries {
        if e.3.len() > 4 {
            offsets.push(Some(extra_at + extra.len()));
            extra.extend_from_slice(&e.3);
            if extra.len() % 2 == 1 {
                extra.push(0);
            }
        } else {
            offsets.push(None);
        }
    }
    let data_at = (extra_at + extra.len()) as u32;
    let mut b = Vec::with_capacity(data_at as usize + data.len());
    b.extend_from_slice(b"II*\0");
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (e, off) in entries.iter().zip(&offsets) {
        b.extend_from_slice(&e.0.to_le_bytes());
        b.extend_from_slice(&e.1.to_le_bytes());
        b.extend_from_slice(&e.2.to_le_bytes());
        match off {
            Some(o) => b.extend_from_slice(&(*o as u32).to_le_bytes()),
            None if e.0 == 273 => b.extend_from_slice(&data_at.to_le_bytes()),
            None => {
                let mut v = e.3.clone();
                v.resize(4, 0);
                b.extend_from_slice(&v);
            }
        }
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&extra);
    b.extend_from_slice(data);
    b
}

/// East and north metres from the origin of every cell centre of `grid`.
fn cell_enu(site: &Site, grid: &Grid) -> Vec<(f64, f64)> {
    let mut v = Vec::with_capacity((grid.w * grid.h) as usize);
    for j in 0..grid.h {
        for i in 0..grid.w {
            let (x, y) = grid.centre(i, j);
            v.push(site.enu(x, y));
        }
    }
    v
}

/// For every cell, the photo whose footprint holds it and whose centre is nearest (the
/// seamlines of a mosaic), or `None` outside every footprint and outside the AOI.
/// Without positioned photos every cell inside the AOI is covered, by no photo.
fn owners(site: &Site, grid: &Grid, enu: &[(f64, f64)], photos: &[&Photo]) -> Vec<Cover> {
    let mut best = vec![f64::MAX; enu.len()];
    let mut owner = vec![Cover::Outside; enu.len()];
    if site.photos.is_empty() {
        owner.fill(Cover::Relief);
    }
    let (hw, hh) = (site.footprint.0 / 2.0, site.footprint.1 / 2.0);
    for (k, p) in photos.iter().enumerate() {
        // The cells the footprint can touch, from its corners in the output system.
        let corners = [(-hw, -hh), (-hw, hh), (hw, -hh), (hw, hh)].map(|(de, dn)| {
            let (x, y) = site.xy(p.e + de, p.n + dn);
            (
                ((x - grid.x0) / grid.sx).floor(),
                ((grid.y0 - y) / grid.sy).floor(),
            )
        });
        let (i0, i1) = corners
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.0), b.max(c.0)));
        let (j0, j1) = corners
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.1), b.max(c.1)));
        let clamp = |v: f64, n: u32| (v.max(0.0) as u32).min(n.saturating_sub(1));
        for j in clamp(j0 - 1.0, grid.h)..=clamp(j1 + 1.0, grid.h) {
            for i in clamp(i0 - 1.0, grid.w)..=clamp(i1 + 1.0, grid.w) {
                let c = (j * grid.w + i) as usize;
                let (de, dn) = (enu[c].0 - p.e, enu[c].1 - p.n);
                if de.abs() <= hw && dn.abs() <= hh {
                    let d = de * de + dn * dn;
                    if d < best[c] {
                        best[c] = d;
                        owner[c] = Cover::Photo(k);
                    }
                }
            }
        }
    }
    if site.aoi.is_some() {
        for j in 0..grid.h {
            for i in 0..grid.w {
                let (x, y) = grid.centre(i, j);
                if !site.in_aoi(x, y) {
                    owner[(j * grid.w + i) as usize] = Cover::Outside;
                }
            }
        }
    }
    owner
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cover {
    Outside,
    Relief,
    Photo(usize),
}

/// Heights of the surface model on `grid`, [`NODATA`] outside the coverage.
pub(crate) fn heights(site: &Site, grid: &Grid) -> Vec<f32> {
    let enu = cell_enu(site, grid);
    let photos: Vec<&Photo> = site.photos.iter().collect();
    owners(site, grid, &enu, &photos)
        .iter()
        .zip(&enu)
        .map(|(o, &(e, n))| match o {
            Cover::Outside => NODATA,
            _ => site.height(e, n) as f32,
        })
        .collect()
}

/// A Float32 surface model GeoTIFF on `grid`.
pub(crate) fn dsm(site: &Site, grid: &Grid) -> Vec<u8> {
    let data: Vec<u8> = heights(site, grid)
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect();
    geotiff(grid, site.crs(), Pixels::Float, &data)
}

/// A decoded photo, scaled down: RGB rows.
struct Thumb {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

/// Decodes a JPEG at the smallest DCT scale that still gives `want` pixels across.
/// Refuses images over 100 megapixels, and anything the decoder refuses.
fn decode(bytes: &[u8], want: (u16, u16)) -> Option<Thumb> {
    let run = || {
        let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
        d.read_info().ok()?;
        let info = d.info()?;
        if u64::from(info.width) * u64::from(info.height) > 100_000_000 {
            return None;
        }
        d.set_max_decoding_buffer_size(64 << 20);
        let (w, h) = d.scale(want.0.max(1), want.1.max(1)).ok()?;
        let px = d.decode().ok()?;
        let (w, h) = (usize::from(w), usize::from(h));
        let rgb = match d.info()?.pixel_format {
            jpeg_decoder::PixelFormat::RGB24 => px,
            jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&v| [v, v, v]).collect(),
            _ => return None,
        };
        (rgb.len() >= w * h * 3).then_some(Thumb { w, h, rgb })
    };
    // The decoder is fuzzed, but uploads are hostile input: never let one end the job.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .ok()
        .flatten()
}

/// A shaded-relief colour for a point of the surface: green lowland to brown upland,
/// lit from the north-west.
fn relief(site: &Site, e: f64, n: f64) -> [u8; 3] {
    let h = site.height(e, n) - site.ground;
    let (dx, dy) = (
        site.height(e + 1.0, n) - site.height(e - 1.0, n),
        site.height(e, n + 1.0) - site.height(e, n - 1.0),
    );
    let shade = (0.75 + 0.35 * (dy - dx) / 2.0).clamp(0.35, 1.15);
    let t = ((h + 7.5) / 15.0).clamp(0.0, 1.0);
    let base = [
        90.0 + 80.0 * t, // red grows with height
        130.0 - 20.0 * t,
        70.0 + 10.0 * t,
    ];
    base.map(|c| (c * shade).clamp(0.0, 255.0) as u8)
}

/// What the orthophoto drew with, for the report.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MosaicStats {
    pub photos_used: usize,
    pub photos_decoded: usize,
}

/// The orthophoto's RGBA pixels on `grid`, with `read` giving the bytes of input `k`.
pub(crate) fn ortho_pixels(
    site: &Site,
    grid: &Grid,
    cfg: &OutputConfig,
    read: &dyn Fn(usize) -> Option<Vec<u8>>,
) -> (Vec<u8>, MosaicStats) {
    let enu = cell_enu(site, grid);
    // A large flight paints with an even sample of its photos.
    let step = site
        .photos
        .len()
        .div_ceil(cfg.mosaic_max_photos.max(1))
        .max(1);
    let used: Vec<&Photo> = site.photos.iter().step_by(step).collect();
    let owner = owners(site, grid, &enu, &used);
    let mut stats = MosaicStats {
        photos_used: used.len(),
        ..Default::default()
    };
    let mut thumbs: Vec<Option<Thumb>> = (0..used.len()).map(|_| None).collect();
    if cfg.photo_mosaic {
        let mut wanted = vec![false; used.len()];
        for o in &owner {
            if let Cover::Photo(k) = o {
                wanted[*k] = true;
            }
        }
        let (fw, fh) = site.footprint;
        let (cw, ch) = site.size_m();
        let px = (
            (fw / (cw / f64::from(grid.w))).clamp(8.0, 2048.0) as u16,
            (fh / (ch / f64::from(grid.h))).clamp(8.0, 2048.0) as u16,
        );
        let started = Instant::now();
        let budget = Duration::from_millis(cfg.mosaic_budget_ms);
        for (k, p) in used.iter().enumerate() {
            if !wanted[k] || started.elapsed() > budget {
                continue;
            }
            thumbs[k] = read(p.input).and_then(|b| decode(&b, px));
            stats.photos_decoded += usize::from(thumbs[k].is_some());
        }
    }
    let (hw, hh) = (site.footprint.0 / 2.0, site.footprint.1 / 2.0);
    let mut rgba = Vec::with_capacity(enu.len() * 4);
    for (c, &(e, n)) in enu.iter().enumerate() {
        let px = match owner[c] {
            Cover::Outside => {
                rgba.extend_from_slice(&[0, 0, 0, 0]);
                continue;
            }
            Cover::Relief => relief(site, e, n),
            Cover::Photo(k) => match &thumbs[k] {
                Some(t) => {
                    let p = used[k];
                    let u = ((e - p.e + hw) / (2.0 * hw) * t.w as f64) as usize;
                    let v = ((p.n + hh - n) / (2.0 * hh) * t.h as f64) as usize;
                    let at = (v.min(t.h - 1) * t.w + u.min(t.w - 1)) * 3;
                    [t.rgb[at], t.rgb[at + 1], t.rgb[at + 2]]
                }
                None => relief(site, e, n),
            },
        };
        rgba.extend_from_slice(&px);
        rgba.push(255);
    }
    (rgba, stats)
}

/// The window `(i0, j0, w, h)` of a raster of `bytes_per_px` on `grid`, with its grid.
pub(crate) fn crop(
    grid: &Grid,
    data: &[u8],
    bytes_per_px: usize,
    (i0, j0, w, h): (u32, u32, u32, u32),
) -> (Grid, Vec<u8>) {
    let mut out = Vec::with_capacity((w * h) as usize * bytes_per_px);
    for j in j0..j0 + h {
        let row = (j * grid.w + i0) as usize * bytes_per_px;
        out.extend_from_slice(&data[row..row + w as usize * bytes_per_px]);
    }
    (
        Grid {
            x0: grid.x0 + f64::from(i0) * grid.sx,
            y0: grid.y0 - f64::from(j0) * grid.sy,
            sx: grid.sx,
            sy: grid.sy,
            w,
            h,
        },
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::Input;

    #[test]
    fn a_geotiff_names_its_system_and_places_its_corner() {
        let inputs: Vec<Input> = (0..4)
            .map(|i| Input {
                name: format!("{i}.JPG"),
                size: 1,
                position: Some((22.5 + f64::from(i) * 1e-4, 113.9, Some(120.0))),
            })
            .collect();
        let site = Site::new(&inputs, None, None, &OutputConfig::default());
        let grid = site.grid(1.0, 64);
        let tif = dsm(&site, &grid);
        assert_eq!(&tif[..4], b"II*\0");
        let n = usize::from(u16::from_le_bytes([tif[8], tif[9]]));
        let tags: Vec<u16> = (0..n)
            .map(|k| u16::from_le_bytes([tif[10 + 12 * k], tif[11 + 12 * k]]))
            .collect();
        assert!(tags.windows(2).all(|w| w[0] < w[1]), "sorted: {tags:?}");
        assert!(tags.contains(&34735) && tags.contains(&42113));
        let heights = heights(&site, &grid);
        assert!(heights.contains(&NODATA), "corners are nodata");
        assert!(
            heights
                .iter()
                .filter(|h| **h != NODATA)
                .all(|h| (*h - 20.0).abs() < 10.0),
            "ground = 120 m − 100 m flight height, ± the relief"
        );
    }

    #[test]
    fn hostile_photos_fall_back_to_relief() {
        assert!(decode(b"\xFF\xD8\xFF\xC0\x00\x11\x08\xFF\xFF\xFF\xFF", (8, 8)).is_none());
        assert!(decode(b"", (8, 8)).is_none());
    }
}
