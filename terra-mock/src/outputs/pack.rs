//! The containers the 3D formats come in: gzip members (I3S resources), zlib streams
//! (S3M packages) and ZIP archives with stored entries (I3S scene layer packages).

use md5::{Digest, Md5};

/// Deflate level: the outputs are written once per job and small.
const LEVEL: u8 = 6;

fn crc32(data: &[u8]) -> u32 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, data) as u32
}

/// `data` as one gzip member (RFC 1952): no name, no time, the CRC-32 and size after.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(data, LEVEL);
    let mut out = Vec::with_capacity(deflated.len() + 18);
    // Magic, deflate, no flags, no time, default extra flags, OS unknown.
    out.extend_from_slice(&[0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// `data` as a zlib stream (RFC 1950).
pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, LEVEL)
}

/// A ZIP archive whose entries are stored (not compressed again), as scene layer
/// packages require, without data descriptors or ZIP64 (entries stay far below 4 GiB).
pub(crate) struct Zip {
    buf: Vec<u8>,
    central: Vec<u8>,
    /// Name and local-header offset of each entry.
    entries: Vec<(String, u32)>,
}

/// DOS date 1980-01-01 00:00: the outputs carry no time, so equal jobs give equal bytes.
const DOS_DATE: u16 = (1 << 5) | 1;

impl Zip {
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::new(),
            central: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Adds an entry named `name` holding `data`.
    pub(crate) fn add(&mut self, name: &str, data: &[u8]) {
        let offset = self.buf.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let mut common = Vec::with_capacity(26);
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        common.extend_from_slice(&0u16.to_le_bytes()); // flags
        common.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        common.extend_from_slice(&0u16.to_le_bytes()); // time
        common.extend_from_slice(&DOS_DATE.to_le_bytes());
        common.extend_from_slice(&crc.to_le_bytes());
        common.extend_from_slice(&size.to_le_bytes()); // compressed
        common.extend_from_slice(&size.to_le_bytes()); // uncompressed
        common.extend_from_slice(&(name.len() as u16).to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // extra field length

        self.buf.extend_from_slice(&0x0403_4B50u32.to_le_bytes());
        self.buf.extend_from_slice(&common);
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(data);

        self.central
            .extend_from_slice(&0x0201_4B50u32.to_le_bytes());
        self.central.extend_from_slice(&20u16.to_le_bytes()); // made by: 2.0, MS-DOS
        self.central.extend_from_slice(&common);
        self.central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.central.extend_from_slice(&0u16.to_le_bytes()); // disk number
        self.central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        self.central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        self.central.extend_from_slice(&offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.entries.push((name.to_owned(), offset));
    }

    /// Adds I3S's `@specialIndexFileHASH128@`: for every entry, the MD5 of its path
    /// (lower case, except `3dSceneLayer.json.gz`, as ArcGIS looks it up) and its local
    /// header offset, sorted as two little-endian 64-bit words. It must be the last entry
    /// of the central directory: readers look for it there.
    pub(crate) fn add_i3s_hash_index(&mut self) {
        let mut records: Vec<[u8; 24]> = self
            .entries
            .iter()
            .map(|(name, offset)| {
                let key = if name == "3dSceneLayer.json.gz" {
                    name.clone()
                } else {
                    name.to_lowercase()
                };
                let mut r = [0u8; 24];
                r[..16].copy_from_slice(&Md5::digest(key.as_bytes()));
                r[16..].copy_from_slice(&u64::from(*offset).to_le_bytes());
                r
            })
            .collect();
        let word = |r: &[u8; 24], k: usize| {
            u64::from_le_bytes(r[k * 8..k * 8 + 8].try_into().unwrap_or_default())
        };
        records.sort_by_key(|r| (word(r, 0), word(r, 1)));
        let index: Vec<u8> = records.concat();
        self.add("@specialIndexFileHASH128@", &index);
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        let at = self.buf.len() as u32;
        let count = self.entries.len() as u16;
        self.buf.extend_from_slice(&self.central);
        self.buf.extend_from_slice(&0x0605_4B50u32.to_le_bytes());
        self.buf.extend_from_slice(&[0; 4]); // this disk, the central directory's disk
        self.buf.extend_from_slice(&count.to_le_bytes());
        self.buf.extend_from_slice(&count.to_le_bytes());
        self.buf
            .extend_from_slice(&(self.central.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&at.to_le_bytes());
        self.buf.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_and_zlib_round_trip_with_their_checks() {
        let data: Vec<u8> = (0..5000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let gz = gzip(&data);
        assert_eq!(&gz[..3], &[0x1F, 0x8B, 8]);
        let n = gz.len();
        assert_eq!(gz[n - 8..n - 4], crc32(&data).to_le_bytes());
        assert_eq!(gz[n - 4..], (data.len() as u32).to_le_bytes());
        assert_eq!(
            miniz_oxide::inflate::decompress_to_vec(&gz[10..n - 8]).unwrap(),
            data
        );
        assert_eq!(
            miniz_oxide::inflate::decompress_to_vec_zlib(&zlib(&data)).unwrap(),
            data
        );
        // The known CRC-32 of "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_hash_index_is_last_sorted_and_points_at_local_headers() {
        let mut z = Zip::new();
        z.add("metadata.json", b"{}");
        z.add("3dSceneLayer.json.gz", b"x");
        z.add("nodes/0/geometries/0.bin.gz", b"yy");
        z.add_i3s_hash_index();
        let bytes = z.finish();
        // The end record names 4 entries; the last central header is the index.
        let eocd = bytes.len() - 22;
        assert_eq!(&bytes[eocd..eocd + 4], &[0x50, 0x4B, 5, 6]);
        assert_eq!(u16::from_le_bytes([bytes[eocd + 10], bytes[eocd + 11]]), 4);
        let last_cd = bytes
            .windows(4)
            .rposition(|w| w == [0x50, 0x4B, 1, 2])
            .unwrap();
        let name_len = u16::from_le_bytes([bytes[last_cd + 28], bytes[last_cd + 29]]) as usize;
        assert_eq!(
            &bytes[last_cd + 46..last_cd + 46 + name_len],
            b"@specialIndexFileHASH128@"
        );
        let local =
            u32::from_le_bytes(bytes[last_cd + 42..last_cd + 46].try_into().unwrap()) as usize;
        let data_at = local + 30 + name_len;
        let index = &bytes[data_at..data_at + 72];
        let mut seen = Vec::new();
        for r in index.chunks(24) {
            let offset = u64::from_le_bytes(r[16..].try_into().unwrap()) as usize;
            assert_eq!(&bytes[offset..offset + 4], &[0x50, 0x4B, 3, 4]);
            let n = u16::from_le_bytes([bytes[offset + 26], bytes[offset + 27]]) as usize;
            let name = std::str::from_utf8(&bytes[offset + 30..offset + 30 + n]).unwrap();
            assert_eq!(&r[..16], Md5::digest(name.as_bytes()).as_slice(), "{name}");
            seen.push((
                u64::from_le_bytes(r[..8].try_into().unwrap()),
                name.to_owned(),
            ));
        }
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(seen.len(), 3);
    }
}
