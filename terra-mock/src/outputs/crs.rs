//! Coordinate systems of job outputs: which one a job gets, how WGS 84 positions map into
//! it, and how each file format names it (EPSG code, OGC WKT 1, GeoTIFF keys).
//!
//! The emulator computes the families a DJI Terra user in practice asks for with the
//! ellipsoid formulas themselves (no PROJ): geographic WGS 84 and CGCS2000, UTM on WGS 84,
//! the CGCS2000 Gauss-Krüger zones (3° and 6°, with and without the zone prefix), Web
//! Mercator, and local east-north-up systems. Transverse Mercator uses Krüger's series to
//! the fourth order in n, sub-millimetre inside a zone.

use terra_types::{CsType, GeoDesc};

/// A reference ellipsoid and the datum built on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Datum {
    /// Semi-major axis, metres.
    pub a: f64,
    /// Inverse flattening.
    pub inv_f: f64,
    geog_epsg: u32,
    geog_name: &'static str,
    datum_name: &'static str,
    datum_epsg: u32,
    spheroid_name: &'static str,
    spheroid_epsg: u32,
}

pub(crate) const WGS84: Datum = Datum {
    a: 6_378_137.0,
    inv_f: 298.257_223_563,
    geog_epsg: 4326,
    geog_name: "WGS 84",
    datum_name: "WGS_1984",
    datum_epsg: 6326,
    spheroid_name: "WGS 84",
    spheroid_epsg: 7030,
};

const CGCS2000: Datum = Datum {
    a: 6_378_137.0,
    inv_f: 298.257_222_101,
    geog_epsg: 4490,
    geog_name: "China Geodetic Coordinate System 2000",
    datum_name: "China_2000",
    datum_epsg: 1043,
    spheroid_name: "CGCS2000",
    spheroid_epsg: 1024,
};

impl Datum {
    fn f(&self) -> f64 {
        1.0 / self.inv_f
    }

    fn e2(&self) -> f64 {
        let f = self.f();
        f * (2.0 - f)
    }

    /// The geographic system as WKT 1; `axes` only standalone (GDAL names no axes of the
    /// base system inside a projected one).
    fn geogcs_wkt(&self, axes: bool) -> String {
        format!(
            "GEOGCS[\"{}\",DATUM[\"{}\",SPHEROID[\"{}\",{},{},AUTHORITY[\"EPSG\",\"{}\"]],AUTHORITY[\"EPSG\",\"{}\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]]{}AUTHORITY[\"EPSG\",\"{}\"]]",
            self.geog_name,
            self.datum_name,
            self.spheroid_name,
            self.a,
            self.inv_f,
            self.spheroid_epsg,
            self.datum_epsg,
            if axes {
                ",AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],"
            } else {
                ","
            },
            self.geog_epsg
        )
    }
}

/// A transverse Mercator projection (UTM, Gauss-Krüger).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tm {
    pub lon0: f64,
    pub k0: f64,
    pub false_easting: f64,
    pub false_northing: f64,
    /// The EPSG definition lists northing first (the CGCS2000 Gauss-Krüger systems).
    /// Their WKT names the axes in that order: GDAL's WKT 1 leaves them out, and PROJ then
    /// no longer matches the EPSG entry (`to_epsg()` is `None`). Coordinates in the files
    /// stay x = easting, y = northing, the GIS order LAS and GeoTIFF readers use.
    pub north_first: bool,
}

/// How positions map from WGS 84 into the output system.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Degrees; x is the longitude, y the latitude (GIS order, as GeoTIFF and LAS use).
    Geographic,
    TransverseMercator(Tm),
    /// EPSG:3857.
    WebMercator,
    /// Metres east and north of a reference position (a tangent-plane approximation).
    LocalEnu {
        lat: f64,
        lon: f64,
        alt: f64,
    },
}

/// The coordinate system of a job's outputs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Crs {
    /// `None` for local systems, which no registry names.
    pub epsg: Option<u32>,
    pub name: String,
    pub datum: Datum,
    pub kind: Kind,
}

/// The system a job asked for, how it was chosen, and what was asked but not honoured.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub crs: Crs,
    /// Why this system: `"requested"` or the automatic rule.
    pub reason: String,
    /// A request the emulator could not honour (an identifier it cannot compute), named.
    pub note: Option<String>,
    pub vertical: Option<String>,
}

fn utm(zone: u32, south: bool) -> Crs {
    Crs {
        epsg: Some(if south { 32700 } else { 32600 } + zone),
        name: format!("WGS 84 / UTM zone {zone}{}", if south { 'S' } else { 'N' }),
        datum: WGS84,
        kind: Kind::TransverseMercator(Tm {
            lon0: -183.0 + 6.0 * f64::from(zone),
            k0: 0.9996,
            false_easting: 500_000.0,
            false_northing: if south { 10_000_000.0 } else { 0.0 },
            north_first: false,
        }),
    }
}

fn gauss_kruger(epsg: u32, width: u32, zone: u32, prefixed: bool) -> Crs {
    let lon0 = if width == 3 {
        3.0 * f64::from(zone)
    } else {
        6.0 * f64::from(zone) - 3.0
    };
    // EPSG's names: "3-degree" is spelled out, the 6-degree systems carry no width.
    let family = if width == 3 { "3-degree " } else { "" };
    let name = if prefixed {
        format!("CGCS2000 / {family}Gauss-Kruger zone {zone}")
    } else {
        format!("CGCS2000 / {family}Gauss-Kruger CM {lon0}E")
    };
    Crs {
        epsg: Some(epsg),
        name,
        datum: CGCS2000,
        kind: Kind::TransverseMercator(Tm {
            lon0,
            k0: 1.0,
            false_easting: if prefixed {
                f64::from(zone) * 1_000_000.0 + 500_000.0
            } else {
                500_000.0
            },
            false_northing: 0.0,
            north_first: true,
        }),
    }
}

/// The systems the emulator computes, by EPSG code.
pub(crate) fn from_epsg(code: u32) -> Option<Crs> {
    Some(match code {
        4326 | 4490 => {
            let datum = if code == 4326 { WGS84 } else { CGCS2000 };
            Crs {
                epsg: Some(code),
                name: datum.geog_name.to_owned(),
                datum,
                kind: Kind::Geographic,
            }
        }
        3857 => Crs {
            epsg: Some(3857),
            name: "WGS 84 / Pseudo-Mercator".into(),
            datum: WGS84,
            kind: Kind::WebMercator,
        },
        32601..=32660 => utm(code - 32600, false),
        32701..=32760 => utm(code - 32700, true),
        // CGCS2000 Gauss-Krüger: 6° zones 13-23 (prefixed), CM 75E-135E; 3° zones 25-45
        // (prefixed), CM 75E-135E.
        4491..=4501 => gauss_kruger(code, 6, code - 4491 + 13, true),
        4502..=4512 => gauss_kruger(code, 6, code - 4502 + 13, false),
        4513..=4533 => gauss_kruger(code, 3, code - 4513 + 25, true),
        4534..=4554 => gauss_kruger(code, 3, code - 4534 + 25, false),
        _ => return None,
    })
}

/// The automatic choice: the UTM zone of the flight's centre.
pub(crate) fn automatic(lat: f64, lon: f64) -> Crs {
    let zone = (((lon + 180.0) / 6.0).floor() as i64).rem_euclid(60) as u32 + 1;
    utm(zone, lat < 0.0)
}

/// The EPSG code an identifier (`EPSG:32650`, `epsg:4326`, `32650`) or a WKT (its last
/// `AUTHORITY["EPSG","…"]` or `ID["EPSG",…]`, the one of the outermost system) names.
pub(crate) fn epsg_of(text: &str) -> Option<u32> {
    let t = text.trim();
    let digits = t
        .strip_prefix("EPSG:")
        .or_else(|| t.strip_prefix("epsg:"))
        .unwrap_or(t);
    if let Ok(code) = digits.parse() {
        return Some(code);
    }
    let upper = t.to_ascii_uppercase();
    let at = upper
        .rfind("AUTHORITY[\"EPSG\",")
        .map(|i| i + 17)
        .or_else(|| upper.rfind("ID[\"EPSG\",").map(|i| i + 10))?;
    let rest = t[at..].trim_start_matches(['"', ' ']);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The output system of a job from its `output_geo_desc` (reference §5.7), with the
/// flight's centre for the automatic choice and for local systems without `ref_GPS`.
pub(crate) fn choose(desc: Option<&GeoDesc>, centre: (f64, f64, f64)) -> Choice {
    let auto = |note: Option<String>| Choice {
        crs: automatic(centre.0, centre.1),
        reason: "automatic: the UTM zone of the flight's centre".into(),
        note,
        vertical: None,
    };
    let Some(d) = desc else { return auto(None) };
    let vertical = d
        .override_vertical_cs
        .clone()
        .filter(|v| !v.trim().is_empty());
    match d.cs_type {
        Some(CsType::LocalEnuCs) | Some(CsType::LocalCs) => {
            let (lat, lon, alt) = d
                .ref_gps
                .as_ref()
                .map_or(centre, |r| (r.latitude, r.longitude, r.altitude));
            return Choice {
                crs: Crs {
                    epsg: None,
                    name: format!("Local ENU at {lat:.7},{lon:.7}"),
                    datum: WGS84,
                    kind: Kind::LocalEnu { lat, lon, alt },
                },
                reason: "requested".into(),
                note: None,
                vertical,
            };
        }
        _ => {}
    }
    let asked = [d.geo_cs.as_deref(), d.geo_cs_wkt.as_deref()]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty());
    let Some(asked) = asked else {
        return auto(None);
    };
    match epsg_of(asked).and_then(from_epsg) {
        Some(crs) => Choice {
            crs,
            reason: "requested".into(),
            note: None,
            vertical,
        },
        None => {
            let shown: String = asked.chars().take(80).collect();
            auto(Some(format!(
                "the requested system {shown:?} is not one the emulator computes; outputs use the automatic choice"
            )))
        }
    }
}

impl Tm {
    /// Krüger's series to the fourth order in n (Karney 2011, eqs. 35 and 36).
    fn series(datum: &Datum) -> (f64, [f64; 4], [f64; 4], [f64; 4]) {
        let f = datum.f();
        let n = f / (2.0 - f);
        let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
        let a = datum.a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49561.0 * n4 / 161_280.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161_280.0,
        ];
        let delta = [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0,
            4279.0 * n4 / 630.0,
        ];
        (a, alpha, beta, delta)
    }

    fn forward(&self, datum: &Datum, lat: f64, lon: f64) -> (f64, f64) {
        let (a, alpha, _, _) = Self::series(datum);
        let e = datum.e2().sqrt();
        let (phi, dl) = (lat.to_radians(), (lon - self.lon0).to_radians());
        let t = (phi.sin().atanh() - e * (e * phi.sin()).atanh()).sinh();
        let xi = t.atan2(dl.cos());
        let eta = (dl.sin() / (1.0 + t * t).sqrt()).atanh();
        let (mut x, mut y) = (eta, xi);
        for (j, al) in alpha.iter().enumerate() {
            let k = 2.0 * (j + 1) as f64;
            x += al * (k * xi).cos() * (k * eta).sinh();
            y += al * (k * xi).sin() * (k * eta).cosh();
        }
        (
            self.false_easting + self.k0 * a * x,
            self.false_northing + self.k0 * a * y,
        )
    }

    fn inverse(&self, datum: &Datum, x: f64, y: f64) -> (f64, f64) {
        let (a, _, beta, delta) = Self::series(datum);
        let xi = (y - self.false_northing) / (self.k0 * a);
        let eta = (x - self.false_easting) / (self.k0 * a);
        let (mut xi1, mut eta1) = (xi, eta);
        for (j, b) in beta.iter().enumerate() {
            let k = 2.0 * (j + 1) as f64;
            xi1 -= b * (k * xi).sin() * (k * eta).cosh();
            eta1 -= b * (k * xi).cos() * (k * eta).sinh();
        }
        let chi = (xi1.sin() / eta1.cosh()).asin();
        let mut phi = chi;
        for (j, d) in delta.iter().enumerate() {
            phi += d * (2.0 * (j + 1) as f64 * chi).sin();
        }
        let lon = self.lon0 + eta1.sinh().atan2(xi1.cos()).to_degrees();
        (phi.to_degrees(), lon)
    }
}

/// Metres per degree of latitude and of longitude near `lat` (tangent-plane scale).
pub(crate) fn metres_per_degree(lat: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let e2 = WGS84.e2();
    let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
    let m = WGS84.a * (1.0 - e2) / (w * w * w);
    let n = WGS84.a / w;
    (m.to_radians(), (n * phi.cos()).to_radians())
}

impl Crs {
    /// Whether coordinates are degrees.
    pub(crate) fn is_geographic(&self) -> bool {
        matches!(self.kind, Kind::Geographic)
    }

    /// WGS 84 (or CGCS2000, the same to a few centimetres) position to `(x, y)`.
    pub(crate) fn forward(&self, lat: f64, lon: f64) -> (f64, f64) {
        match &self.kind {
            Kind::Geographic => (lon, lat),
            Kind::TransverseMercator(tm) => tm.forward(&self.datum, lat, lon),
            Kind::WebMercator => {
                let lat = lat.clamp(-85.06, 85.06).to_radians();
                (
                    WGS84.a * lon.to_radians(),
                    WGS84.a * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln(),
                )
            }
            Kind::LocalEnu {
                lat: lat0,
                lon: lon0,
                ..
            } => {
                let (my, mx) = metres_per_degree(*lat0);
                ((lon - lon0) * mx, (lat - lat0) * my)
            }
        }
    }

    /// `(x, y)` back to `(latitude, longitude)`.
    pub(crate) fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        match &self.kind {
            Kind::Geographic => (y, x),
            Kind::TransverseMercator(tm) => tm.inverse(&self.datum, x, y),
            Kind::WebMercator => (
                (2.0 * (y / WGS84.a).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
                (x / WGS84.a).to_degrees(),
            ),
            Kind::LocalEnu {
                lat: lat0,
                lon: lon0,
                ..
            } => {
                let (my, mx) = metres_per_degree(*lat0);
                (lat0 + y / my, lon0 + x / mx)
            }
        }
    }

    /// The system as OGC WKT 1 (`.prj` files, the LAS WKT record).
    pub(crate) fn wkt(&self) -> String {
        let geog = self.datum.geogcs_wkt(false);
        let axes = match &self.kind {
            Kind::TransverseMercator(tm) if tm.north_first => {
                ",AXIS[\"Northing\",NORTH],AXIS[\"Easting\",EAST]"
            }
            _ => ",AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH]",
        };
        let projcs = |projection: &str, params: &[(&str, f64)]| {
            let params: String = params
                .iter()
                .map(|(k, v)| format!(",PARAMETER[\"{k}\",{v}]"))
                .collect();
            format!(
                "PROJCS[\"{}\",{geog},PROJECTION[\"{projection}\"]{params},UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]]{axes}{}]",
                self.name,
                self.epsg
                    .map(|c| format!(",AUTHORITY[\"EPSG\",\"{c}\"]"))
                    .unwrap_or_default()
            )
        };
        match &self.kind {
            Kind::Geographic => self.datum.geogcs_wkt(false),
            Kind::TransverseMercator(tm) => projcs(
                "Transverse_Mercator",
                &[
                    ("latitude_of_origin", 0.0),
                    ("central_meridian", tm.lon0),
                    ("scale_factor", tm.k0),
                    ("false_easting", tm.false_easting),
                    ("false_northing", tm.false_northing),
                ],
            ),
            Kind::WebMercator => projcs(
                "Mercator_1SP",
                &[
                    ("central_meridian", 0.0),
                    ("scale_factor", 1.0),
                    ("false_easting", 0.0),
                    ("false_northing", 0.0),
                ],
            ),
            Kind::LocalEnu { .. } => format!(
                "LOCAL_CS[\"{}\",LOCAL_DATUM[\"ENU\",0],UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH]]",
                self.name
            ),
        }
    }

    /// `EPSG:n`, or the local system's name.
    pub(crate) fn label(&self) -> String {
        match self.epsg {
            Some(c) => format!("EPSG:{c}"),
            None => self.name.clone(),
        }
    }
}

/// Earth-centred, Earth-fixed coordinates of a WGS 84 position.
pub(crate) fn ecef(lat: f64, lon: f64, h: f64) -> [f64; 3] {
    let (phi, lam) = (lat.to_radians(), lon.to_radians());
    let e2 = WGS84.e2();
    let n = WGS84.a / (1.0 - e2 * phi.sin().powi(2)).sqrt();
    [
        (n + h) * phi.cos() * lam.cos(),
        (n + h) * phi.cos() * lam.sin(),
        (n * (1.0 - e2) + h) * phi.sin(),
    ]
}

/// The column-major 4×4 matrix from east-north-up metres at a position to ECEF (the
/// root `transform` of a 3D Tiles tileset).
pub(crate) fn enu_to_ecef(lat: f64, lon: f64, h: f64) -> [f64; 16] {
    let (phi, lam) = (lat.to_radians(), lon.to_radians());
    let o = ecef(lat, lon, h);
    let east = [-lam.sin(), lam.cos(), 0.0];
    let north = [-phi.sin() * lam.cos(), -phi.sin() * lam.sin(), phi.cos()];
    let up = [phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin()];
    [
        east[0], east[1], east[2], 0.0, north[0], north[1], north[2], 0.0, up[0], up[1], up[2],
        0.0, o[0], o[1], o[2], 1.0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_match_proj() {
        // (EPSG, longitude, latitude) → (x, y) as PROJ 9 (pyproj 3.7.2) computes them.
        let golden = [
            (32650, 117.0, 22.5, 500_000.0, 2_488_171.644_236),
            (32649, 113.9, 22.5, 798_370.468_074, 2_491_062.957_649),
            (4547, 113.9, 22.5, 489_710.371_316, 2_489_170.747_353),
            (4525, 113.9, 22.5, 37_798_489.864_020, 2_492_059.781_486),
            (4499, 113.9, 22.5, 20_560_834.090_474, 2_517_874.122_490),
            (3857, 113.9, 22.5, 12_679_290.001_354, 2_571_663.047_174),
        ];
        for (code, lon, lat, x, y) in golden {
            let (gx, gy) = from_epsg(code).unwrap().forward(lat, lon);
            assert!(
                (gx - x).abs() < 1e-3 && (gy - y).abs() < 1e-3,
                "EPSG:{code}: ({gx}, {gy}) != ({x}, {y})"
            );
        }
        for (lat, lon) in [(22.5, 113.9), (-33.9, 151.2), (47.37, 8.54), (0.0, -179.9)] {
            let crs = automatic(lat, lon);
            let (x, y) = crs.forward(lat, lon);
            let (lat2, lon2) = crs.inverse(x, y);
            assert!(
                (lat - lat2).abs() < 1e-9 && (lon - lon2).abs() < 1e-9,
                "({lat}, {lon}) came back as ({lat2}, {lon2})"
            );
            assert!((166_000.0..834_000.0).contains(&x), "{x} in its zone");
        }
    }

    #[test]
    fn identifiers_and_wkt_name_their_code() {
        assert_eq!(epsg_of("EPSG:32650"), Some(32650));
        assert_eq!(epsg_of(" 4326 "), Some(4326));
        assert_eq!(
            epsg_of(&from_epsg(4547).unwrap().wkt()),
            Some(4547),
            "the outermost authority, not the datum's"
        );
        assert_eq!(epsg_of("PROJCRS[\"x\",ID[\"EPSG\",32650]]"), Some(32650));
        assert_eq!(epsg_of("nonsense"), None);
        // As PROJ 9 writes it (pyproj 3.7.2, `to_wkt("WKT1_GDAL")`), plus the axes that
        // make PROJ identify it again.
        assert_eq!(
            from_epsg(4547).unwrap().wkt(),
            r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",114],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Northing",NORTH],AXIS["Easting",EAST],AUTHORITY["EPSG","4547"]]"#
        );
        assert_eq!(
            from_epsg(4499).unwrap().name,
            "CGCS2000 / Gauss-Kruger zone 21"
        );
        assert_eq!(
            from_epsg(32649).unwrap().wkt(),
            r#"PROJCS["WGS 84 / UTM zone 49N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",111],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32649"]]"#
        );
        assert_eq!(
            from_epsg(4326).unwrap().wkt(),
            r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]"#
        );
        assert_eq!(automatic(22.5, 113.9).epsg, Some(32649));
        assert_eq!(automatic(-1.0, 8.5).epsg, Some(32732));
        assert!(
            from_epsg(2326).is_none(),
            "Hong Kong 1980 Grid is not computed"
        );
    }

    #[test]
    fn enu_frame_is_orthonormal_and_up_points_away() {
        let m = enu_to_ecef(22.5, 113.9, 10.0);
        let col = |k: usize| [m[4 * k], m[4 * k + 1], m[4 * k + 2]];
        let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            assert!(dot(col(i), col(j)).abs() < 1e-12);
        }
        let o = [m[12], m[13], m[14]];
        assert!(dot(col(2), o) > 6.3e6, "up is radial");
    }
}
