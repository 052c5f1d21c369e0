//! A picture of the flight from a [`Preflight`]: `flight.geojson` for GIS tools and
//! `flight.svg` for people (photo positions, the extent, the AOI, a scale bar and a north
//! arrow), because people would rather look at their flight than read coordinates.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::check::{Extent, Preflight};
use crate::error::{Error, ErrorKind, Result};

/// The flight as a GeoJSON `FeatureCollection` (RFC 7946: longitude, latitude): a point
/// per photo with a position, the extent as a polygon, and the AOI when there is one.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// terra_mock::sample::write_flight(dir.path(), &terra_mock::sample::FlightPlan { images: 12, ..Default::default() })?;
/// let check = terra_client::workflow::preflight(dir.path(), terra_types::JobType::Map2d, &dir.path().join("o"), None)?;
/// let geojson = terra_client::workflow::flight_geojson(&check);
/// assert_eq!(geojson["type"], "FeatureCollection");
/// assert_eq!(geojson["features"].as_array().unwrap().len(), 12 + 1, "photos and the extent");
/// # Ok(()) }
/// ```
pub fn flight_geojson(check: &Preflight) -> Value {
    serde_json::to_value(collection(check)).expect("GeoJSON is JSON")
}

// The GeoJSON as typed values, serialized straight to the file: a `Value` per feature
// costs about 4 KiB, 80 MiB for a flight of 20 000 photos. Fields are in the order a
// `Value` (sorted keys) writes them, so both forms read the same.
#[derive(Serialize)]
struct Collection<'a> {
    features: Vec<Feature<'a>>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Feature<'a> {
    geometry: Geometry,
    properties: Properties<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Geometry {
    coordinates: Coordinates,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Coordinates {
    Point([f64; 2]),
    Polygon([Vec<[f64; 2]>; 1]),
}

#[derive(Serialize)]
struct Properties<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

fn feature<'a>(coordinates: Coordinates, properties: Properties<'a>) -> Feature<'a> {
    let kind = match coordinates {
        Coordinates::Point(_) => "Point",
        Coordinates::Polygon(_) => "Polygon",
    };
    Feature {
        geometry: Geometry { coordinates, kind },
        properties,
        kind: "Feature",
    }
}

fn collection(check: &Preflight) -> Collection<'_> {
    let area = |kind| Properties {
        kind,
        name: None,
        size: None,
    };
    let mut features: Vec<Feature<'_>> = check
        .files
        .iter()
        .filter_map(|f| {
            let (lat, lon) = f.position?;
            Some(feature(
                Coordinates::Point([lon, lat]),
                Properties {
                    kind: "photo",
                    name: Some(&f.name),
                    size: Some(f.size),
                },
            ))
        })
        .collect();
    if let Some(e) = check.extent {
        let ring = vec![
            [e.min_lon, e.min_lat],
            [e.max_lon, e.min_lat],
            [e.max_lon, e.max_lat],
            [e.min_lon, e.max_lat],
            [e.min_lon, e.min_lat],
        ];
        features.push(feature(Coordinates::Polygon([ring]), area("extent")));
    }
    if let Some(aoi) = &check.aoi {
        let mut ring: Vec<[f64; 2]> = aoi.iter().map(|(x, y)| [*x, *y]).collect();
        ring.push([aoi[0].0, aoi[0].1]);
        features.push(feature(Coordinates::Polygon([ring]), area("aoi")));
    }
    Collection {
        features,
        kind: "FeatureCollection",
    }
}

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 600.0;
const MARGIN: f64 = 60.0;

/// Local metres east and north of the extent's south-west corner (equirectangular; a
/// flight is small enough).
struct Projection {
    lat0: f64,
    lon0: f64,
    m_per_deg_lon: f64,
    scale: f64,
    height_m: f64,
}

const M_PER_DEG_LAT: f64 = 110_574.0;

impl Projection {
    fn new(e: &Extent, aoi: Option<&[(f64, f64)]>) -> Self {
        let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) =
            (e.min_lat, e.max_lat, e.min_lon, e.max_lon);
        for (lon, lat) in aoi.unwrap_or_default() {
            min_lat = min_lat.min(*lat);
            max_lat = max_lat.max(*lat);
            min_lon = min_lon.min(*lon);
            max_lon = max_lon.max(*lon);
        }
        let m_per_deg_lon = 111_320.0 * ((min_lat + max_lat) / 2.0).to_radians().cos();
        let width_m = ((max_lon - min_lon) * m_per_deg_lon).max(1.0);
        let height_m = ((max_lat - min_lat) * M_PER_DEG_LAT).max(1.0);
        let scale = ((WIDTH - 2.0 * MARGIN) / width_m).min((HEIGHT - 2.0 * MARGIN) / height_m);
        Self {
            lat0: min_lat,
            lon0: min_lon,
            m_per_deg_lon,
            scale,
            height_m,
        }
    }

    /// SVG coordinates of a position.
    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        let x = (lon - self.lon0) * self.m_per_deg_lon;
        let y = (lat - self.lat0) * M_PER_DEG_LAT;
        (
            MARGIN + x * self.scale,
            MARGIN + (self.height_m - y) * self.scale,
        )
    }
}

/// A round length for a scale bar of at most `max_m` metres.
fn nice_length(max_m: f64) -> f64 {
    let p = 10f64.powf(max_m.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * p)
        .find(|l| *l <= max_m)
        .unwrap_or(p)
}

/// The flight as an SVG picture: photo positions (each with its name as a tooltip), the
/// extent, the AOI, a scale bar and a north arrow. `None` when no photo has a position.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// terra_mock::sample::write_flight(dir.path(), &terra_mock::sample::FlightPlan { images: 12, ..Default::default() })?;
/// let check = terra_client::workflow::preflight(dir.path(), terra_types::JobType::Map2d, &dir.path().join("o"), None)?;
/// let svg = terra_client::workflow::flight_svg(&check).unwrap();
/// assert!(svg.starts_with("<svg") && svg.matches("<circle").count() == 12);
/// # Ok(()) }
/// ```
pub fn flight_svg(check: &Preflight) -> Option<String> {
    let e = check.extent?;
    let proj = Projection::new(&e, check.aoi.as_deref());
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        s,
        r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#f8f8f4"/>"##
    );
    let (x0, y1) = proj.xy(e.min_lat, e.min_lon);
    let (x1, y0) = proj.xy(e.max_lat, e.max_lon);
    let _ = writeln!(
        s,
        r##"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#888" stroke-dasharray="4 3"><title>extent</title></rect>"##,
        x1 - x0,
        y1 - y0
    );
    if let Some(aoi) = &check.aoi {
        let points: Vec<String> = aoi
            .iter()
            .map(|(lon, lat)| {
                let (x, y) = proj.xy(*lat, *lon);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            s,
            r##"<polygon points="{}" fill="#2a7ab022" stroke="#2a7ab0" stroke-width="2"><title>area of interest</title></polygon>"##,
            points.join(" ")
        );
    }
    for f in &check.files {
        if let Some((lat, lon)) = f.position {
            let (x, y) = proj.xy(lat, lon);
            let _ = writeln!(
                s,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#d9480f"><title>{}</title></circle>"##,
                xml_escape(&f.name)
            );
        }
    }
    // Scale bar: a round length of at most a quarter of the picture.
    let max_m = (WIDTH - 2.0 * MARGIN) / 4.0 / proj.scale;
    let len = nice_length(max_m);
    let px = len * proj.scale;
    let (bx, by) = (MARGIN, HEIGHT - MARGIN / 2.0);
    let label = if len >= 1000.0 {
        format!("{} km", len / 1000.0)
    } else {
        format!("{len} m")
    };
    let _ = writeln!(
        s,
        r##"<line x1="{bx:.1}" y1="{by:.1}" x2="{:.1}" y2="{by:.1}" stroke="#222" stroke-width="3"/><text x="{:.1}" y="{:.1}">{label}</text>"##,
        bx + px,
        bx + px + 8.0,
        by + 4.0
    );
    // North arrow.
    let (nx, ny) = (WIDTH - MARGIN / 2.0, MARGIN / 2.0);
    let _ = writeln!(
        s,
        r##"<path d="M {nx:.1} {:.1} L {:.1} {:.1} L {nx:.1} {:.1} L {:.1} {:.1} Z" fill="#222"/><text x="{:.1}" y="{:.1}" text-anchor="middle">N</text>"##,
        ny - 12.0,
        nx + 7.0,
        ny + 10.0,
        ny + 5.0,
        nx - 7.0,
        ny + 10.0,
        nx,
        ny + 24.0
    );
    let photos = check.files.iter().filter(|f| f.position.is_some()).count();
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="{:.1}">{photos} photos, {:.5}° to {:.5}° N, {:.5}° to {:.5}° E</text>"##,
        MARGIN / 2.0,
        e.min_lat,
        e.max_lat,
        e.min_lon,
        e.max_lon
    );
    s.push_str("</svg>\n");
    Some(s)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `flight.geojson` and (when any photo has a position) `flight.svg` into `dir`.
pub fn write_flight_map(check: &Preflight, dir: &Path) -> Result<()> {
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).map_err(|e| {
            Error::new(
                ErrorKind::Input,
                format!("cannot write {}: {e}", dir.join(name).display()),
            )
        })
    };
    let path = dir.join("flight.geojson");
    let cannot = |e: &dyn std::fmt::Display| {
        Error::new(
            ErrorKind::Input,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| cannot(&e))?);
    serde_json::to_writer_pretty(&mut out, &collection(check)).map_err(|e| cannot(&e))?;
    std::io::Write::flush(&mut out).map_err(|e| cannot(&e))?;
    if let Some(svg) = flight_svg(check) {
        write("flight.svg", svg.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_bars_are_round() {
        assert_eq!(nice_length(180.0), 100.0);
        assert_eq!(nice_length(260.0), 200.0);
        assert_eq!(nice_length(999.0), 500.0);
        assert_eq!(nice_length(1.5), 1.0);
    }
}
