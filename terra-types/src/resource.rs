use serde::{Deserialize, Serialize};

use crate::macros::str_enum;

str_enum! {
    /// Resource `type`.
    ///
    /// ```
    /// use terra_types::ResourceType;
    /// assert_eq!(ResourceType::parse("job_output"), ResourceType::JobOutput);
    /// assert_eq!(serde_json::to_string(&ResourceType::Map).unwrap(), r#""map""#);
    /// ```
    pub enum ResourceType (case_insensitive = false) {
        /// A user-created set of input files (the only type users create).
        Map = "map",
        /// The results of a job; created by the service, never by hand.
        JobOutput = "job_output",
    }
}

/// Geographic extent of a resource's contents (`scope`).
///
/// ```
/// let s: terra_types::Scope = serde_json::from_str(
///     r#"{"minLatitude":22.5,"maxLatitude":22.6,"minLongitude":113.9,"maxLongitude":114.0}"#,
/// ).unwrap();
/// assert!(s.max_latitude > s.min_latitude);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Scope {
    /// Southern bound, degrees.
    #[serde(rename = "minLatitude")]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub min_latitude: f64,
    /// Northern bound, degrees.
    #[serde(rename = "maxLatitude")]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub max_latitude: f64,
    /// Western bound, degrees.
    #[serde(rename = "minLongitude")]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub min_longitude: f64,
    /// Eastern bound, degrees.
    #[serde(rename = "maxLongitude")]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub max_longitude: f64,
}

/// The resource object (create and list responses, and `summary` of the detail).
///
/// ```
/// use terra_types::{Resource, ResourceType};
/// let r: Resource = serde_json::from_str(r#"{
///   "uuid": "r-1", "name": "survey", "type": "map", "meta": "", "fileCount": 240,
///   "totalSize": 2516582400, "revisable": true,
///   "createdAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:00:00Z"
/// }"#).unwrap();
/// assert_eq!((r.resource_type, r.file_count), (ResourceType::Map, 240));
/// assert!(r.scope.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Resource {
    /// Resource id.
    pub uuid: String,
    /// Name; outputs are named `output of job: <job uuid>`.
    #[serde(default)]
    pub name: String,
    /// `map` or `job_output`.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// User extension info.
    #[serde(default)]
    pub meta: String,
    /// Number of files.
    #[serde(rename = "fileCount", default)]
    pub file_count: u64,
    /// Total bytes of the files.
    #[serde(rename = "totalSize", default)]
    pub total_size: u64,
    /// Geographic extent, when the files carry positions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Whether the resource can still be modified (false once a job on it has started).
    #[serde(default)]
    pub revisable: bool,
    /// Upload time, seconds.
    #[serde(rename = "uploadUsedTime", default)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub upload_used_time: f64,
    /// Download time, seconds.
    #[serde(rename = "downloadUsedTime", default)]
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub download_used_time: f64,
    /// RFC 3339 creation time.
    #[serde(rename = "createdAt", default)]
    pub created_at: String,
    /// RFC 3339 update time.
    #[serde(rename = "updatedAt", default)]
    pub updated_at: String,
}

/// `data` of `GET /v2/resources/{uuid}`: a different shape from create and list.
///
/// ```
/// let d: terra_types::ResourceDetail = serde_json::from_str(r#"{
///   "summary": {"uuid": "r-1", "name": "survey", "type": "map"},
///   "fileUuids": ["f-1", "f-2"], "inputJobUuids": ["j-1"], "outputJobUuids": []
/// }"#).unwrap();
/// assert_eq!(d.summary.uuid, "r-1");
/// assert_eq!(d.file_uuids.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ResourceDetail {
    /// The resource object.
    pub summary: Resource,
    /// Every file of the resource: how results are enumerated for download.
    #[serde(rename = "fileUuids", default)]
    pub file_uuids: Vec<String>,
    /// Jobs that used this resource as input.
    #[serde(rename = "inputJobUuids", default)]
    pub input_job_uuids: Vec<String>,
    /// Jobs that produced this resource.
    #[serde(rename = "outputJobUuids", default)]
    pub output_job_uuids: Vec<String>,
}

/// Body of `POST /v2/resources`.
///
/// ```
/// use terra_types::CreateResourceRequest;
/// let body = serde_json::to_string(&CreateResourceRequest::map("test-resource")).unwrap();
/// assert_eq!(body, r#"{"name":"test-resource","type":"map"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CreateResourceRequest {
    /// Resource name.
    pub name: String,
    /// Always `map` for users.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// User extension info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// File uuids to include at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

impl CreateResourceRequest {
    /// A `map` resource with just a name.
    ///
    /// ```
    /// let req = terra_types::CreateResourceRequest::map("survey");
    /// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"name":"survey","type":"map"}"#);
    /// ```
    pub fn map(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            resource_type: ResourceType::Map,
            meta: None,
            files: None,
        }
    }
}

/// Body of `PUT /v2/resources/{uuid}`, `PUT /v2/jobs/{uuid}`, `POST /v2/resources/{uuid}/copy`
/// and `POST /v2/jobs/{uuid}/copy`.
///
/// **Unconfirmed**: the reference could not read these four bodies. terra-rs assumes `name`
/// and `meta`, both optional (for a copy they name the new object; absent fields are kept
/// or copied).
///
/// ```
/// let req = terra_types::UpdateRequest { name: Some("renamed".into()), meta: None };
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"name":"renamed"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct UpdateRequest {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New extension info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
}

/// Body of `POST /v2/resources/{uuid}/file_operation`.
///
/// **Unconfirmed**: the reference only knows the summary "add or remove files of this
/// resource". terra-rs assumes two lists of file uuids.
///
/// ```
/// let req = terra_types::FileOperationRequest {
///     remove_file_uuids: vec!["f-9".into()],
///     ..Default::default()
/// };
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"removeFileUuids":["f-9"]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FileOperationRequest {
    /// Files to link to the resource.
    #[serde(
        rename = "addFileUuids",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub add_file_uuids: Vec<String>,
    /// Files to unlink from the resource.
    #[serde(
        rename = "removeFileUuids",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub remove_file_uuids: Vec<String>,
}

/// `deleteMode` of `DELETE /v2/resources/{uuid}`.
///
/// ```
/// use terra_types::DeleteMode;
/// assert_eq!(DeleteMode::default(), DeleteMode::ResourceOnly);
/// assert_eq!(DeleteMode::WithFiles.as_str(), "1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeleteMode {
    /// `0`: delete the resource only, keep its files.
    #[default]
    ResourceOnly,
    /// `1`: also delete files not linked to any other resource.
    WithFiles,
}

impl DeleteMode {
    /// The query value (`0` or `1`).
    ///
    /// ```
    /// let query = format!("deleteMode={}", terra_types::DeleteMode::ResourceOnly.as_str());
    /// assert_eq!(query, "deleteMode=0");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ResourceOnly => "0",
            Self::WithFiles => "1",
        }
    }
}
