//! The ground a job's outputs describe: where the photos were taken, in the output
//! coordinate system and in local east-north-up metres, the extent they cover (cut to the
//! AOI when the job asks), and a surface model under them.

use super::Input;
use super::crs::{self, Choice, Crs, metres_per_degree};
use crate::config::OutputConfig;
use terra_types::{CsType, GeoDesc, PredefineAoi};

/// Where a flight without any positioned photo is placed (a LiDAR mission, say).
const FALLBACK: (f64, f64) = (22.5797, 113.9436);
/// The longest side of any grid, cells.
const MAX_RASTER_PX: u32 = 8192;
/// Half the side of the square such a flight covers, metres.
const FALLBACK_HALF: f64 = 60.0;

/// One positioned photo.
#[derive(Debug, Clone)]
pub(crate) struct Photo {
    /// Index into the job's inputs.
    pub input: usize,
    pub lat: f64,
    pub lon: f64,
    /// Metres east and north of the site's origin.
    pub e: f64,
    pub n: f64,
}

/// An axis-aligned grid in the output system: top-left corner and cell sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub x0: f64,
    pub y0: f64,
    pub sx: f64,
    pub sy: f64,
    pub w: u32,
    pub h: u32,
}

impl Grid {
    /// The centre of cell `(i, j)` (column, row) in the output system.
    pub(crate) fn centre(&self, i: u32, j: u32) -> (f64, f64) {
        (
            self.x0 + (f64::from(i) + 0.5) * self.sx,
            self.y0 - (f64::from(j) + 0.5) * self.sy,
        )
    }

    /// The same extent with cells `factor` times larger.
    pub(crate) fn coarser(&self, factor: u32) -> Grid {
        let (w, h) = (self.w.div_ceil(factor), self.h.div_ceil(factor));
        Grid {
            x0: self.x0,
            y0: self.y0,
            sx: self.sx * f64::from(self.w) / f64::from(w),
            sy: self.sy * f64::from(self.h) / f64::from(h),
            w,
            h,
        }
    }
}

/// The site of a job.
#[derive(Debug)]
pub(crate) struct Site {
    pub choice: Choice,
    /// Centre of the extent (latitude, longitude) and the ground height there.
    pub origin: (f64, f64, f64),
    pub photos: Vec<Photo>,
    /// Width and height of one photo's footprint on the ground, metres.
    pub footprint: (f64, f64),
    /// `[xmin, ymin, xmax, ymax]` in the output system.
    pub bounds: [f64; 4],
    /// The AOI in the output system, when outputs are cut to it.
    pub aoi: Option<Vec<(f64, f64)>>,
    /// Mean ground height, metres (photo altitude − flight height).
    pub ground: f64,
    /// Things asked for and not honoured, for the report.
    pub notes: Vec<String>,
}

impl Site {
    /// Builds the site from the inputs' positions, the requested system and the AOI.
    pub(crate) fn new(
        inputs: &[Input],
        geo_desc: Option<&GeoDesc>,
        aoi: Option<&PredefineAoi>,
        cfg: &OutputConfig,
    ) -> Self {
        let positioned: Vec<(usize, f64, f64, Option<f64>)> = inputs
            .iter()
            .enumerate()
            .filter_map(|(k, i)| i.position.map(|(lat, lon, alt)| (k, lat, lon, alt)))
            .filter(|p| p.1.is_finite() && p.2.is_finite())
            .collect();
        let (lat0, lon0) = if positioned.is_empty() {
            FALLBACK
        } else {
            let n = positioned.len() as f64;
            (
                positioned.iter().map(|p| p.1).sum::<f64>() / n,
                positioned.iter().map(|p| p.2).sum::<f64>() / n,
            )
        };
        let alts: Vec<f64> = positioned.iter().filter_map(|p| p.3).collect();
        let ground = if alts.is_empty() {
            0.0
        } else {
            let above = if cfg.flight_height_m.is_finite() {
                cfg.flight_height_m
            } else {
                OutputConfig::default().flight_height_m
            };
            alts.iter().sum::<f64>() / alts.len() as f64 - above
        };
        let choice = crs::choose(geo_desc, (lat0, lon0, ground));
        let mut notes: Vec<String> = choice.note.iter().cloned().collect();
        let (my, mx) = metres_per_degree(lat0);
        let photos: Vec<Photo> = positioned
            .iter()
            .map(|&(input, lat, lon, _)| Photo {
                input,
                lat,
                lon,
                e: (lon - lon0) * mx,
                n: (lat - lat0) * my,
            })
            .collect();
        let footprint = footprint(&photos);
        // Corners of every footprint (or of the fallback square) into the output system.
        let mut corners = Vec::new();
        let (hw, hh) = if photos.is_empty() {
            (FALLBACK_HALF, FALLBACK_HALF)
        } else {
            (footprint.0 / 2.0, footprint.1 / 2.0)
        };
        let centres: Vec<(f64, f64)> = if photos.is_empty() {
            vec![(0.0, 0.0)]
        } else {
            photos.iter().map(|p| (p.e, p.n)).collect()
        };
        for (e, n) in centres {
            for (de, dn) in [(-hw, -hh), (-hw, hh), (hw, -hh), (hw, hh)] {
                let (lat, lon) = (lat0 + (n + dn) / my, lon0 + (e + de) / mx);
                corners.push(choice.crs.forward(lat, lon));
            }
        }
        let mut bounds = bbox(&corners);
        let requested = aoi.and_then(|a| match aoi_polygon(a, &choice.crs) {
            Ok(poly) => Some(poly),
            Err(why) => {
                notes.push(why);
                None
            }
        });
        // The AOI cuts the extent when the two overlap; otherwise nothing is cut.
        let aoi = requested.filter(|poly| {
            let b = bbox(poly);
            let cut = [
                bounds[0].max(b[0]),
                bounds[1].max(b[1]),
                bounds[2].min(b[2]),
                bounds[3].min(b[3]),
            ];
            let overlaps = cut[0] < cut[2] && cut[1] < cut[3];
            if overlaps {
                bounds = cut;
            } else {
                notes.push("the AOI does not overlap the photos; outputs are not cut".into());
            }
            overlaps
        });
        let (clat, clon) = choice
            .crs
            .inverse((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0);
        Self {
            choice,
            origin: (clat, clon, ground),
            photos: photos
                .into_iter()
                .map(|p| {
                    let (e, n) = enu_of((clat, clon), p.lat, p.lon);
                    Photo { e, n, ..p }
                })
                .collect(),
            footprint,
            bounds,
            aoi,
            ground,
            notes,
        }
    }

    pub(crate) fn crs(&self) -> &Crs {
        &self.choice.crs
    }

    /// East and north metres of an output-system position from the origin.
    pub(crate) fn enu(&self, x: f64, y: f64) -> (f64, f64) {
        let (lat, lon) = self.crs().inverse(x, y);
        enu_of((self.origin.0, self.origin.1), lat, lon)
    }

    /// The output-system position of east and north metres from the origin.
    pub(crate) fn xy(&self, e: f64, n: f64) -> (f64, f64) {
        let (my, mx) = metres_per_degree(self.origin.0);
        self.crs()
            .forward(self.origin.0 + n / my, self.origin.1 + e / mx)
    }

    /// Surface height at east and north metres from the origin: the ground under the
    /// photos plus a gentle relief of a few metres.
    pub(crate) fn height(&self, e: f64, n: f64) -> f64 {
        self.ground
            + 4.0 * (e / 37.0).sin() * (n / 53.0).cos()
            + 2.0 * ((e + n) / 19.0).sin()
            + 1.5 * (e / 11.0).cos() * (n / 13.0).sin()
    }

    /// Metres east-west and north-south the extent spans.
    pub(crate) fn size_m(&self) -> (f64, f64) {
        let (w, s) = self.enu(self.bounds[0], self.bounds[1]);
        let (e, n) = self.enu(self.bounds[2], self.bounds[3]);
        ((e - w).abs().max(1.0), (n - s).abs().max(1.0))
    }

    /// A grid over the extent with square cells of about `cell_m` metres (coarsened to
    /// stay within `max_px` cells on the long side); the last row and column may reach a
    /// little past the extent.
    pub(crate) fn grid(&self, cell_m: f64, max_px: u32) -> Grid {
        // Whatever the settings say, a raster stays below 8 192 × 8 192.
        let max_px = max_px.clamp(2, MAX_RASTER_PX);
        let (wm, hm) = self.size_m();
        let cell = cell_m.max(wm.max(hm) / f64::from(max_px)).max(1e-3);
        let [x0, y0, x1, y1] = self.bounds;
        // Output-system units per metre along each axis (degrees differ east and north;
        // projected systems are square up to their scale factor).
        let (ux, uy) = ((x1 - x0) / wm, (y1 - y0) / hm);
        let (ux, uy) = if self.crs().is_geographic() {
            (ux, uy)
        } else {
            ((ux + uy) / 2.0, (ux + uy) / 2.0)
        };
        let (sx, sy) = (cell * ux, cell * uy);
        let w = (((x1 - x0) / sx).ceil() as u32).clamp(2, max_px);
        let h = (((y1 - y0) / sy).ceil() as u32).clamp(2, max_px);
        Grid {
            x0,
            y0: y1,
            sx,
            sy,
            w,
            h,
        }
    }

    /// Whether an output-system position is inside the AOI the outputs are cut to.
    pub(crate) fn in_aoi(&self, x: f64, y: f64) -> bool {
        self.aoi.as_ref().is_none_or(|p| point_in_polygon(p, x, y))
    }
}

fn enu_of(origin: (f64, f64), lat: f64, lon: f64) -> (f64, f64) {
    let (my, mx) = metres_per_degree(origin.0);
    ((lon - origin.1) * mx, (lat - origin.0) * my)
}

fn bbox(points: &[(f64, f64)]) -> [f64; 4] {
    points.iter().fold(
        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |[a, b, c, d], &(x, y)| [a.min(x), b.min(y), c.max(x), d.max(y)],
    )
}

/// A photo's footprint: wide enough that neighbouring photos overlap (1.6 × the largest
/// distance from a photo to its nearest neighbour), 4:3, between 10 m and 1 km.
fn footprint(photos: &[Photo]) -> (f64, f64) {
    let mut widest: f64 = 0.0;
    // Nearest neighbours on a sample of at most 400 photos: O(400 × n).
    let step = (photos.len() / 400).max(1);
    for p in photos.iter().step_by(step) {
        let nearest = photos
            .iter()
            .filter(|q| q.input != p.input)
            .map(|q| (q.e - p.e).hypot(q.n - p.n))
            .filter(|d| *d > 0.01)
            .fold(f64::MAX, f64::min);
        if nearest < f64::MAX {
            widest = widest.max(nearest);
        }
    }
    let w = if widest > 0.0 { 1.6 * widest } else { 50.0 }.clamp(10.0, 1000.0);
    (w, w * 0.75)
}

fn point_in_polygon(poly: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = poly.len().wrapping_sub(1);
    for i in 0..poly.len() {
        let ((xi, yi), (xj, yj)) = (poly[i], poly[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The AOI polygon in the output system. Its points are in the AOI's own `geo_desc`
/// (WGS 84 longitude, latitude when it names none).
fn aoi_polygon(aoi: &PredefineAoi, out: &Crs) -> Result<Vec<(f64, f64)>, String> {
    if aoi.polygon_points.len() < 3 {
        return Err("the AOI has fewer than 3 points; outputs are not cut".into());
    }
    let own = match aoi.geo_desc.as_ref() {
        None => crs::from_epsg(4326).expect("WGS 84"),
        Some(d) if matches!(d.cs_type, Some(CsType::LocalCs | CsType::LocalEnuCs)) => {
            return Err("the AOI is in a local system; outputs are not cut".into());
        }
        Some(d) => {
            let asked = [d.geo_cs.as_deref(), d.geo_cs_wkt.as_deref()]
                .into_iter()
                .flatten()
                .find(|s| !s.trim().is_empty())
                .unwrap_or("EPSG:4326");
            crs::epsg_of(asked).and_then(crs::from_epsg).ok_or_else(|| {
                format!("the AOI's system {asked:?} is not one the emulator computes; outputs are not cut")
            })?
        }
    };
    Ok(aoi
        .polygon_points
        .iter()
        .map(|p| {
            let (lat, lon) = own.inverse(p[0], p[1]);
            out.forward(lat, lon)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight() -> Vec<Input> {
        (0..12)
            .map(|i| Input {
                name: format!("DJI_{i:04}.JPG"),
                size: 1,
                position: Some((
                    22.5 + f64::from(i / 4) * 3e-4,
                    113.9 + f64::from(i % 4) * 3e-4,
                    Some(150.0),
                )),
            })
            .collect()
    }

    #[test]
    fn the_extent_holds_every_photo_and_the_ground_is_below_them() {
        let site = Site::new(&flight(), None, None, &OutputConfig::default());
        assert_eq!(site.crs().epsg, Some(32649));
        for p in &site.photos {
            let (x, y) = site.crs().forward(p.lat, p.lon);
            let [x0, y0, x1, y1] = site.bounds;
            assert!(x0 < x && x < x1 && y0 < y && y < y1);
        }
        assert!((site.ground - 50.0).abs() < 1e-9);
        let g = site.grid(0.25, 512);
        assert!(g.w <= 512 && g.h <= 512 && g.w > 100);
    }

    #[test]
    fn an_aoi_cuts_the_extent() {
        let aoi: PredefineAoi = serde_json::from_str(
            r#"{"polygon_points":[[113.9,22.5,0],[113.9003,22.5,0],[113.9003,22.5003,0],[113.9,22.5003,0]]}"#,
        )
        .unwrap();
        let full = Site::new(&flight(), None, None, &OutputConfig::default());
        let cut = Site::new(&flight(), None, Some(&aoi), &OutputConfig::default());
        assert!(cut.size_m().0 < full.size_m().0 / 2.0, "{:?}", cut.size_m());
        let (x, y) = cut.crs().forward(22.50015, 113.90015);
        assert!(cut.in_aoi(x, y));
        let (x, y) = cut.crs().forward(22.5008, 113.9008);
        assert!(!cut.in_aoi(x, y));
    }
}
