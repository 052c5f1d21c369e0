//! The orthophoto a job left, as a picture the dashboard can draw: its GeoTIFF read back
//! (the baseline form the emulator writes: one uncompressed strip of 8-bit RGBA, little
//! endian) and written as a PNG, with the extent its georeferencing tags give.

/// A decoded orthophoto: RGBA rows from the top, and its extent in its system.
#[derive(Debug)]
pub(crate) struct Raster {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    /// Left, bottom, right, top in the file's coordinate system.
    pub bounds: [f64; 4],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn f64_at(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads an RGBA GeoTIFF as the emulator writes it; `None` for anything else (another
/// layout, a damaged file, more than `max_pixels`).
pub(crate) fn read_geotiff(b: &[u8], max_pixels: u64) -> Option<Raster> {
    if b.get(..4)? != b"II*\0" {
        return None;
    }
    let ifd = u32_at(b, 4)? as usize;
    let n = usize::from(u16_at(b, ifd)?);
    if n > 64 {
        return None;
    }
    let mut tags = std::collections::HashMap::new();
    for i in 0..n {
        let e = ifd + 2 + 12 * i;
        // (type, count, the value or its offset)
        tags.insert(u16_at(b, e)?, (u16_at(b, e + 2)?, u32_at(b, e + 4)?, e + 8));
    }
    let value = |tag: u16| -> Option<u32> {
        let (kind, _, at) = *tags.get(&tag)?;
        match kind {
            3 => u16_at(b, at).map(u32::from),
            4 => u32_at(b, at),
            _ => None,
        }
    };
    let doubles = |tag: u16, count: usize| -> Option<Vec<f64>> {
        let (kind, n, at) = *tags.get(&tag)?;
        if kind != 12 || (n as usize) < count {
            return None;
        }
        let off = u32_at(b, at)? as usize;
        (0..count).map(|k| f64_at(b, off + 8 * k)).collect()
    };
    let (w, h) = (value(256)?, value(257)?);
    let compression = value(259).unwrap_or(1);
    let samples = value(277)?;
    if compression != 1
        || samples != 4
        || u64::from(w) * u64::from(h) > max_pixels
        || w == 0
        || h == 0
    {
        return None;
    }
    let offset = value(273)? as usize;
    let len = (w as usize) * (h as usize) * 4;
    if value(279)? as usize != len {
        return None;
    }
    let rgba = b.get(offset..offset + len)?.to_vec();
    let scale = doubles(33550, 2)?;
    let tie = doubles(33922, 6)?;
    let (x0, y1) = (tie[3] - tie[0] * scale[0], tie[4] + tie[1] * scale[1]);
    let bounds = [
        x0,
        y1 - f64::from(h) * scale[1],
        x0 + f64::from(w) * scale[0],
        y1,
    ];
    Some(Raster {
        width: w,
        height: h,
        rgba,
        bounds,
    })
}

/// RGBA rows as a PNG (8-bit RGBA, no filtering, zlib).
pub(crate) fn png(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, &out[start..]) as u32;
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let row = width as usize * 4;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for r in rgba.chunks(row.max(1)).take(height as usize) {
        raw.push(0);
        raw.extend_from_slice(r);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, no filter, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_holds_its_rows_and_damaged_tiffs_are_refused() {
        let rgba: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let p = png(2, 3, &rgba);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        let idat = p.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(p[idat - 4..idat].try_into().unwrap()) as usize;
        let raw =
            miniz_oxide::inflate::decompress_to_vec_zlib(&p[idat + 4..idat + 4 + len]).unwrap();
        assert_eq!(raw.len(), 3 * (1 + 8));
        assert_eq!(&raw[1..9], &rgba[..8]);
        assert!(read_geotiff(b"II*\0\x08\0\0\0", 1 << 20).is_none());
        assert!(read_geotiff(b"MM\0*", 1 << 20).is_none());
    }
}
