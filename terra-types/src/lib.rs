//! Serde data types of the DJI TerraAPI v2 wire format (`/terra-rescon-be/v2/...`).
//!
//! This crate has no I/O and no HTTP dependency: it is shared by `terra-client` (which sends
//! these types) and `terra-mock` (which serves them), so the two cannot drift apart. Field
//! names follow the wire exactly, including its odd spellings: `accessKeyID`, `resourceUUID`
//! in the upload callback but `resourceUuid` elsewhere, `expireTime` in seconds,
//! `predefine_AOI`, `SfM_method`.
//!
//! Enumerations the service may extend ([`ApiCode`], [`JobType`], [`JobStatus`],
//! [`CloudName`], ...) keep values they do not know in an `Unknown` variant instead of
//! failing to decode.
//!
//! ```
//! use terra_types::{Envelope, Job, JobStatus};
//! let body = r#"{"result":{"code":0,"msg":"success","desc":""},
//!   "data":{"uuid":"6d1f","name":"survey","meta":"","type":0,"status":0,
//!           "createdAt":"2026-11-25T10:00:00Z","updatedAt":"2026-11-25T10:00:00Z"}}"#;
//! let env: Envelope<Job> = serde_json::from_str(body).unwrap();
//! let job = env.data.unwrap();
//! assert_eq!(job.status, JobStatus::Created);
//! assert!(job.started_at.is_none());
//! ```

mod envelope;
mod exif;
mod file;
pub mod glob;
mod job;
mod keys;
mod macros;
mod page;
pub mod params;
mod resource;
mod secret;
pub mod time;
mod token;

#[cfg(test)]
mod proptest_support;
#[cfg(test)]
mod tests;

pub use envelope::{ApiCode, ApiResult, Created, Envelope, GatewayError};
pub use exif::{GpsPosition, exif_gps};
pub use file::{File, UpdateFileRequest};
pub use job::{CreateJobRequest, Job, JobStatus, JobType, StartJobRequest};
pub use keys::{UnknownKey, closest_key};
pub use page::{
    ListFilesQuery, ListJobsQuery, ListQuery, ListResourcesQuery, MAX_UUIDS_FILTER, Page,
};
pub use params::{
    CommonParams, CsType, ExportParameter, FeatureQuantity, GeoDesc, JobParameters, LidarParams,
    Map2dParams, MapMode, MeshFormats, Model3dParams, ParameterSet, PointcloudFormats,
    PredefineAoi, QualityLevel, RefGps, SceneType, SfmMethod, ValidationError,
    validate_start_parameters,
};
pub use resource::{
    CreateResourceRequest, DeleteMode, FileOperationRequest, Resource, ResourceDetail,
    ResourceType, Scope, UpdateRequest,
};
pub use secret::Secret;
pub use token::{
    CallbackFile, CloudName, FILE_NAME_PLACEHOLDER, Position, StsToken, UploadCallbackRequest,
    encode_key, etag_eq, uri_encode,
};

/// File extensions (lower case) that count as images for 2D/3D input (reference §6.4).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "dng", "heic", "heif"];

/// Whether a file name has one of the [`IMAGE_EXTENSIONS`] (ignoring case).
///
/// ```
/// assert!(terra_types::is_image_name("flight/DJI_0001.JPG"));
/// assert!(!terra_types::is_image_name("mission/DJI_0001.LDR"));
/// ```
pub fn is_image_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// File extensions (lower case) of the raw data in a DJI L1/L2 LiDAR mission folder
/// (point records, IMU, the RTK/RTB/RTL/RTS positioning, calibration; reference §6.4).
pub const LIDAR_EXTENSIONS: &[&str] = &[
    "ldr", "ldrt", "imu", "rtk", "rtb", "rtl", "rts", "clc", "cli", "cmi", "sig",
];

/// Whether a file name has one of the [`LIDAR_EXTENSIONS`] (ignoring case): the data a
/// LiDAR job reconstructs from.
///
/// ```
/// assert!(terra_types::is_lidar_name("mission/DJI_20261125_0001_Zenmuse-L1-mission.LDR"));
/// assert!(!terra_types::is_lidar_name("mission/DJI_0001.JPG"));
/// ```
pub fn is_lidar_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| LIDAR_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// The formats of photos the service takes, as their content says (not their name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// DNG, a TIFF container (`II*\0` or `MM\0*`).
    Dng,
    /// HEIC or HEIF (an ISO-BMFF `ftyp` box with an image brand).
    Heif,
}

/// The photo format of a file from its first bytes (16 are enough), or `None` when it is
/// none of [`ImageFormat`]'s: a text file or random bytes named `.JPG` are not photos.
///
/// ```
/// use terra_types::{ImageFormat, image_format};
/// assert_eq!(image_format(b"\xFF\xD8\xFF\xE1\x00\x10Exif"), Some(ImageFormat::Jpeg));
/// assert_eq!(image_format(b"II*\0\x08\0\0\0"), Some(ImageFormat::Dng));
/// assert_eq!(image_format(b"\0\0\0\x18ftypheic\0\0\0\0"), Some(ImageFormat::Heif));
/// assert_eq!(image_format(b"hello, this is text"), None);
/// assert_eq!(image_format(b""), None);
/// ```
pub fn image_format(head: &[u8]) -> Option<ImageFormat> {
    const HEIF_BRANDS: [&[u8; 4]; 8] = [
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ];
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => Some(ImageFormat::Dng),
        [_, _, _, _, b'f', b't', b'y', b'p', b0, b1, b2, b3, ..]
            if HEIF_BRANDS.contains(&&[*b0, *b1, *b2, *b3]) =>
        {
            Some(ImageFormat::Heif)
        }
        _ => None,
    }
}

/// Documented input limits (reference §7).
pub mod limits {
    /// At least this many images for 2D and 3D jobs.
    pub const MIN_IMAGES: usize = 10;
    /// At most this many images per 2D job.
    pub const MAX_IMAGES_2D: usize = 4_000;
    /// At most this many images per 3D job.
    pub const MAX_IMAGES_3D: usize = 20_000;
    /// At most this many bytes of LiDAR input (48 GB).
    pub const MAX_LIDAR_BYTES: u64 = 48_000_000_000;
    /// Files per `upload_callback` in the official samples.
    pub const CALLBACK_BATCH: usize = 50;
}

/// The examples of the crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
