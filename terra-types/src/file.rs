use serde::{Deserialize, Serialize};

use crate::Position;

/// The file object (from `upload_callback`, `GET /v2/files/{uuid}` and lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
