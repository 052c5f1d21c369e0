//! Point clouds: LAS 1.4 (point format 7, RGB, the system as an OGC WKT record), 3D Tiles
//! `pnts`, PLY and PCD, all sampled from the site's surface.

use super::crs::Crs;
use super::raster::NODATA;
use super::site::{Grid, Site};

/// One point of the surface: output-system `x, y`, east-north metres from the origin,
/// height, colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
    pub e: f64,
    pub n: f64,
    pub h: f64,
    pub rgb: [u8; 3],
}

/// The covered cells of `grid` as points, coloured from the orthophoto's RGBA pixels on
/// `ortho` (cells the orthophoto leaves transparent are outside the coverage).
pub(crate) fn sample(site: &Site, grid: &Grid, ortho: (&Grid, &[u8])) -> Vec<Point> {
    let (og, px) = ortho;
    let mut points = Vec::new();
    for j in 0..grid.h {
        for i in 0..grid.w {
            let (x, y) = grid.centre(i, j);
            let oi = (((x - og.x0) / og.sx) as u32).min(og.w - 1);
            let oj = (((og.y0 - y) / og.sy) as u32).min(og.h - 1);
            let at = (oj * og.w + oi) as usize * 4;
            if px[at + 3] == 0 {
                continue;
            }
            let (e, n) = site.enu(x, y);
            points.push(Point {
                x,
                y,
                e,
                n,
                h: site.height(e, n),
                rgb: [px[at], px[at + 1], px[at + 2]],
            });
        }
    }
    points
}

/// The points of a surface-model raster's cells that hold a height (a DEM's points).
pub(crate) fn from_heights(site: &Site, grid: &Grid, heights: &[f32]) -> Vec<Point> {
    let mut points = Vec::new();
    for j in 0..grid.h {
        for i in 0..grid.w {
            let h = heights[(j * grid.w + i) as usize];
            if h == NODATA {
                continue;
            }
            let (x, y) = grid.centre(i, j);
            let (e, n) = site.enu(x, y);
            let t = (((f64::from(h) - site.ground) + 7.5) / 15.0).clamp(0.0, 1.0);
            points.push(Point {
                x,
                y,
                e,
                n,
                h: f64::from(h),
                rgb: [(60.0 + 180.0 * t) as u8, (160.0 - 60.0 * t) as u8, 90],
            });
        }
    }
    points
}

const LAS_HEADER: u16 = 375;
const VLR_HEADER: usize = 54;
const RECORD: u16 = 36;

/// LAS 1.4, point data record format 7 (XYZ, RGB, GPS time), with the coordinate system
/// as an OGC WKT VLR (`LASF_Projection`, record 2112) and the WKT bit of the global
/// encoding set, as the specification requires for formats 6 to 10.
pub(crate) fn las(points: &[Point], crs: &Crs) -> Vec<u8> {
    let (min, max) = points
        .iter()
        .fold(([f64::MAX; 3], [f64::MIN; 3]), |(mut lo, mut hi), p| {
            for (k, v) in [p.x, p.y, p.h].into_iter().enumerate() {
                lo[k] = lo[k].min(v);
                hi[k] = hi[k].max(v);
            }
            (lo, hi)
        });
    let (min, max) = if points.is_empty() {
        ([0.0; 3], [0.0; 3])
    } else {
        (min, max)
    };
    let (scale, step) = if crs.is_geographic() {
        ([1e-7f64, 1e-7, 1e-3], [1.0f64, 1.0, 1.0])
    } else {
        ([1e-3; 3], [1000.0, 1000.0, 1.0])
    };
    let offset = [0, 1, 2].map(|k| (min[k] / step[k]).floor() * step[k]);
    let mut wkt = crs.wkt().into_bytes();
    wkt.push(0);
    let text = |s: &str, len: usize| {
        let mut f = s.as_bytes().to_vec();
        f.resize(len, 0);
        f
    };
    let point_at = u32::from(LAS_HEADER) + (VLR_HEADER + wkt.len()) as u32;
    let mut b = Vec::with_capacity(point_at as usize + points.len() * usize::from(RECORD));
    b.extend_from_slice(b"LASF");
    b.extend_from_slice(&0u16.to_le_bytes()); // file source id
    b.extend_from_slice(&0x10u16.to_le_bytes()); // global encoding: WKT
    b.extend_from_slice(&[0u8; 16]); // project GUID
    b.extend_from_slice(&[1, 4]);
    b.extend(text("terra-mock", 32));
    b.extend(text("terra-mock", 32));
    b.extend_from_slice(&1u16.to_le_bytes()); // day of year
    b.extend_from_slice(&2026u16.to_le_bytes());
    b.extend_from_slice(&LAS_HEADER.to_le_bytes());
    b.extend_from_slice(&point_at.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // VLRs
    b.push(7);
    b.extend_from_slice(&RECORD.to_le_bytes());
    b.extend_from_slice(&[0u8; 4 + 20]); // legacy counts: zero for formats 6-10
    for s in scale {
        b.extend_from_slice(&s.to_le_bytes());
    }
    for o in offset {
        b.extend_from_slice(&o.to_le_bytes());
    }
    for k in 0..3 {
        b.extend_from_slice(&max[k].to_le_bytes());
        b.extend_from_slice(&min[k].to_le_bytes());
    }
    b.extend_from_slice(&0u64.to_le_bytes()); // waveform data
    b.extend_from_slice(&0u64.to_le_bytes()); // first EVLR
    b.extend_from_slice(&0u32.to_le_bytes()); // EVLRs
    b.extend_from_slice(&(points.len() as u64).to_le_bytes());
    b.extend_from_slice(&(points.len() as u64).to_le_bytes()); // all first returns
    b.extend_from_slice(&[0u8; 14 * 8]);
    debug_assert_eq!(b.len(), usize::from(LAS_HEADER));
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend(text("LASF_Projection", 16));
    b.extend_from_slice(&2112u16.to_le_bytes());
    b.extend_from_slice(&(wkt.len() as u16).to_le_bytes());
    b.extend(text("OGC coordinate system WKT", 32));
    b.extend(wkt);
    debug_assert_eq!(b.len(), point_at as usize);
    for (k, p) in points.iter().enumerate() {
        for (i, v) in [p.x, p.y, p.h].into_iter().enumerate() {
            b.extend_from_slice(&(((v - offset[i]) / scale[i]).round() as i32).to_le_bytes());
        }
        b.extend_from_slice(&0u16.to_le_bytes()); // intensity
        b.push(0x11); // return 1 of 1
        b.push(0); // flags, channel, direction, edge
        b.push(2); // classification: ground
        b.push(0); // user data
        b.extend_from_slice(&0i16.to_le_bytes()); // scan angle
        b.extend_from_slice(&0u16.to_le_bytes()); // point source
        b.extend_from_slice(&(k as f64 * 1e-4).to_le_bytes()); // GPS time
        for c in p.rgb {
            b.extend_from_slice(&(u16::from(c) * 257).to_le_bytes());
        }
    }
    b
}

/// Pads `v` so that `before + v.len()` is a multiple of `to`.
pub(crate) fn pad_to(mut v: Vec<u8>, before: usize, to: usize, with: u8) -> Vec<u8> {
    while !(before + v.len()).is_multiple_of(to) {
        v.push(with);
    }
    v
}

/// 3D Tiles point cloud: positions as float32 east-north-up metres from the tile's
/// origin (the tileset's root transform places it), RGB colours.
pub(crate) fn pnts(points: &[Point], height0: f64) -> Vec<u8> {
    let n = points.len();
    let ft_json = pad_to(
        format!(
            r#"{{"POINTS_LENGTH":{n},"POSITION":{{"byteOffset":0}},"RGB":{{"byteOffset":{}}}}}"#,
            12 * n
        )
        .into_bytes(),
        28,
        8,
        b' ',
    );
    let mut ft_bin: Vec<u8> = Vec::with_capacity(15 * n + 8);
    for p in points {
        for v in [p.e, p.n, p.h - height0] {
            ft_bin.extend_from_slice(&(v as f32).to_le_bytes());
        }
    }
    for p in points {
        ft_bin.extend_from_slice(&p.rgb);
    }
    let ft_bin = pad_to(ft_bin, 0, 8, 0);
    let total = 28 + ft_json.len() + ft_bin.len();
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(b"pnts");
    for v in [
        1,
        total as u32,
        ft_json.len() as u32,
        ft_bin.len() as u32,
        0,
        0,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend(ft_json);
    b.extend(ft_bin);
    b
}

/// An ASCII PLY point cloud in the output system (double coordinates, colours).
pub(crate) fn ply(points: &[Point], crs: &Crs) -> String {
    let mut s = format!(
        "ply\nformat ascii 1.0\ncomment terra-mock point cloud\ncomment crs {}\nelement vertex {}\nproperty double x\nproperty double y\nproperty double z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n",
        crs.label(),
        points.len()
    );
    for p in points {
        s.push_str(&format!(
            "{:.7} {:.7} {:.3} {} {} {}\n",
            p.x, p.y, p.h, p.rgb[0], p.rgb[1], p.rgb[2]
        ));
    }
    s
}

/// An ASCII PCD 0.7 point cloud in the output system.
pub(crate) fn pcd(points: &[Point]) -> String {
    let mut s = format!(
        "# .PCD v0.7 - terra-mock\nVERSION 0.7\nFIELDS x y z rgb\nSIZE 8 8 8 4\nTYPE F F F U\nCOUNT 1 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA ascii\n",
        n = points.len()
    );
    for p in points {
        let rgb = u32::from(p.rgb[0]) << 16 | u32::from(p.rgb[1]) << 8 | u32::from(p.rgb[2]);
        s.push_str(&format!("{:.7} {:.7} {:.3} {rgb}\n", p.x, p.y, p.h));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::crs::from_epsg;

    fn points() -> Vec<Point> {
        vec![
            Point {
                x: 798_370.5,
                y: 2_491_063.0,
                e: 0.0,
                n: 0.0,
                h: 12.5,
                rgb: [10, 20, 30],
            },
            Point {
                x: 798_400.25,
                y: 2_491_100.0,
                e: 30.0,
                n: 37.0,
                h: 14.0,
                rgb: [200, 100, 0],
            },
        ]
    }

    #[test]
    fn las_header_counts_bounds_and_offsets_agree_with_the_points() {
        let crs = from_epsg(32649).unwrap();
        let b = las(&points(), &crs);
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let f64_at = |at: usize| f64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(&b[..4], b"LASF");
        assert_eq!((b[24], b[25]), (1, 4));
        let point_at = u32_at(96) as usize;
        assert_eq!(b.len(), point_at + 2 * 36);
        assert_eq!(u64::from_le_bytes(b[247..255].try_into().unwrap()), 2);
        assert_eq!(
            (f64_at(179), f64_at(187)),
            (798_400.25, 798_370.5),
            "max x, min x"
        );
        let x0 = i32::from_le_bytes(b[point_at..point_at + 4].try_into().unwrap());
        assert_eq!(f64::from(x0) * f64_at(131) + f64_at(155), 798_370.5);
        let wkt = String::from_utf8_lossy(&b[375 + 54..point_at]);
        assert!(
            wkt.contains("UTM zone 49N") && wkt.ends_with("]]\0"),
            "{wkt}"
        );
    }

    #[test]
    fn pnts_lengths_and_alignment_hold() {
        let b = pnts(&points(), 12.0);
        assert_eq!(
            u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize,
            b.len()
        );
        let json_len = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
        assert_eq!(
            (28 + json_len) % 8,
            0,
            "the binary body starts 8-byte aligned"
        );
    }
}
