//! The GPS position in a photo's EXIF: what `upload_callback` sends as `position` (so the
//! service can compute the resource's `scope`), and what the emulator places outputs by.

/// Where a photo was taken, from the GPS IFD of its EXIF.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsPosition {
    /// Degrees north (negative south).
    pub latitude: f64,
    /// Degrees east (negative west).
    pub longitude: f64,
    /// Metres above sea level (negative below); 0 when the photo records none.
    pub altitude: f64,
}

/// The GPS position in a JPEG's EXIF (`APP1`), read from the file's first bytes (the EXIF
/// precedes the image data; 64 KiB is the most it can take). Anything unexpected (no EXIF, no GPS IFD,
/// truncated or out-of-range values) yields `None`, never a panic.
///
/// ```
/// // A JPEG whose EXIF holds no GPS IFD.
/// assert_eq!(terra_types::exif_gps(b"\xFF\xD8\xFF\xE1\x00\x10Exif\0\0MM\0*\0\0\0\x08"), None);
/// assert_eq!(terra_types::exif_gps(b"not a photo"), None);
/// ```
pub fn exif_gps(jpeg: &[u8]) -> Option<GpsPosition> {
    tiff_gps(app1_exif(jpeg)?)
}

fn app1_exif(b: &[u8]) -> Option<&[u8]> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            return None; // image data: no more metadata
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let seg = b.get(i + 4..i + 2 + len)?;
        if marker == 0xE1 && seg.starts_with(b"Exif\0\0") {
            return Some(&seg[6..]);
        }
        i += 2 + len;
    }
    None
}

struct Tiff<'a> {
    b: &'a [u8],
    le: bool,
}

impl Tiff<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    /// `(tag, type, count, value-or-offset position)` of each entry of the IFD at `at`.
    fn entries(&self, at: usize) -> Option<Vec<(u16, u16, u32, usize)>> {
        let n = usize::from(self.u16(at)?).min(256);
        (0..n)
            .map(|k| {
                let e = at + 2 + 12 * k;
                let (tag, typ, count) = (self.u16(e)?, self.u16(e + 2)?, self.u32(e + 4)?);
                let size = match typ {
                    1 | 2 | 7 => 1,
                    3 => 2,
                    4 | 9 => 4,
                    5 | 10 => 8,
                    _ => 1,
                } * count as usize;
                let pos = if size <= 4 {
                    e + 8
                } else {
                    self.u32(e + 8)? as usize
                };
                Some((tag, typ, count, pos))
            })
            .collect()
    }

    fn rationals(&self, pos: usize, count: usize) -> Option<Vec<f64>> {
        (0..count)
            .map(|k| {
                let (n, d) = (self.u32(pos + 8 * k)?, self.u32(pos + 8 * k + 4)?);
                (d != 0).then(|| f64::from(n) / f64::from(d))
            })
            .collect()
    }
}

fn tiff_gps(b: &[u8]) -> Option<GpsPosition> {
    let le = match b.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let t = Tiff { b, le };
    let ifd0 = t.u32(4)? as usize;
    let gps_at = t
        .entries(ifd0)?
        .into_iter()
        .find(|e| e.0 == 0x8825)
        .and_then(|e| t.u32(e.3))? as usize;
    let (mut lat, mut lon, mut alt) = (None, None, 0.0);
    let (mut lat_ref, mut lon_ref, mut alt_below) = (b'N', b'E', false);
    for (tag, _, count, pos) in t.entries(gps_at)? {
        match tag {
            1 => lat_ref = *b.get(pos)?,
            3 => lon_ref = *b.get(pos)?,
            5 => alt_below = *b.get(pos)? == 1,
            2 | 4 => {
                let v = t.rationals(pos, count.min(3) as usize)?;
                let deg = v.first()?
                    + v.get(1).unwrap_or(&0.0) / 60.0
                    + v.get(2).unwrap_or(&0.0) / 3600.0;
                if tag == 2 {
                    lat = Some(deg)
                } else {
                    lon = Some(deg)
                }
            }
            6 => alt = *t.rationals(pos, 1)?.first()?,
            _ => {}
        }
    }
    let lat = lat? * if lat_ref == b'S' { -1.0 } else { 1.0 };
    let lon = lon? * if lon_ref == b'W' { -1.0 } else { 1.0 };
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some(GpsPosition {
        latitude: lat,
        longitude: lon,
        altitude: if alt_below { -alt } else { alt },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(exif_gps(b""), None);
        assert_eq!(
            exif_gps(b"\xFF\xD8\xFF\xE1\x00\x10Exif\0\0MM\0*\0\0\0\x08"),
            None
        );
        assert_eq!(exif_gps(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF]), None);
    }
}
