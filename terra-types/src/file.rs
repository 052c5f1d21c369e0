use serde::{Deserialize, Serialize};

use crate::Position;

/// The file object (from `upload_callback`, `GET /v2/files/{uuid}` and lists).
///
/// ```
/// let f: terra_types::File = serde_json::from_str(r#"{
///   "uuid": "f-1", "name": "map/result.tif", "size": 1048576, "checksum": "9b2cf5",
///   "meta": "", "url": "https://bucket.s3.amazonaws.com/map/result.tif?X-Amz-Signature=...",
///   "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:00:00Z"
/// }"#).unwrap();
/// assert_eq!((f.name.as_str(), f.size), ("map/result.tif", 1_048_576));
/// assert!(f.position.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct File {
    /// File id.
    pub uuid: String,
    /// Relative path, `/`-separated; outputs include sub-directories.
    #[serde(default)]
    pub name: String,
    /// Bytes.
    #[serde(default)]
    pub size: u64,
    /// As registered (the ETag for uploads).
    #[serde(default)]
    pub checksum: String,
    /// User extension info.
    #[serde(default)]
    pub meta: String,
    /// Where the photo was taken, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Short-lived download link (a presigned object-storage URL). Fetch it just before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// RFC 3339 creation time.
    #[serde(rename = "createdAt", default)]
    pub created_at: String,
    /// RFC 3339 update time.
    #[serde(rename = "updatedAt", default)]
    pub updated_at: String,
}

/// Body of `PUT /v2/files/{uuid}`.
///
/// **Unconfirmed**: terra-rs assumes `name`, `meta` and `position`, all optional.
///
/// ```
/// use terra_types::{Position, UpdateFileRequest};
/// let req = UpdateFileRequest {
///     position: Some(Position { attitude: 0.0, latitude: 22.5, longitude: 113.9 }),
///     ..Default::default()
/// };
/// assert_eq!(
///     serde_json::to_string(&req).unwrap(),
///     r#"{"position":{"attitude":0.0,"latitude":22.5,"longitude":113.9}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct UpdateFileRequest {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New extension info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// New position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}
