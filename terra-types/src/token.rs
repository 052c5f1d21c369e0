use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::macros::str_enum;

str_enum! {
    /// `cloudName` of an STS token: which object storage the credentials are for.
    ///
    /// Parsed case-insensitively (a CN response was seen with `ali_oss`); serialized in the
    /// canonical upper-case spelling.
    ///
    /// ```
    /// use terra_types::CloudName;
    /// assert_eq!(CloudName::parse("ali_oss"), CloudName::AliOss);
    /// assert_eq!(CloudName::AwsS3.as_str(), "AWS_S3");
    /// assert_eq!(CloudName::parse("AZURE_BLOB"), CloudName::AzureBlob);
    /// ```
    pub enum CloudName (case_insensitive = true) {
        /// AWS S3 (international host).
        AwsS3 = "AWS_S3",
        /// Aliyun OSS (mainland China host).
        AliOss = "ALI_OSS",
        /// Listed by the Swagger text but not supported by the service.
        AzureBlob = "AZURE_BLOB",
    }
}

/// The literal placeholder at the end of [`StsToken::store_path`].
pub const FILE_NAME_PLACEHOLDER: &str = "{fileName}";

/// Temporary storage credentials returned by `POST /v2/store/obtain_token` (reference §3.3).
///
/// `Debug` hides the secret and the session token.
///
/// ```
/// use terra_types::{CloudName, StsToken};
/// let token: StsToken = serde_json::from_str(r#"{
///   "cloudName": "ali_oss", "accessKeyID": "STS.NTx", "secretAccessKey": "s3cr3t",
///   "sessionToken": "CAIS", "region": "oss-cn-hangzhou", "cloudBucketName": "hz-terra-be-prod",
///   "storePath": "123/tmp/456/{fileName}", "callbackParam": "eyJ", "expireTime": 1795601400
/// }"#).unwrap();
/// assert_eq!(token.cloud_name, CloudName::AliOss);
/// assert_eq!(token.object_key("DJI_0001.JPG"), "123/tmp/456/DJI_0001.JPG");
/// assert!(!format!("{token:?}").contains("s3cr3t"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct StsToken {
    /// Storage provider.
    #[serde(rename = "cloudName")]
    pub cloud_name: CloudName,
    /// STS access key id (the wire spells it `accessKeyID`).
    #[serde(rename = "accessKeyID")]
    pub access_key_id: String,
    /// STS secret access key.
    #[serde(rename = "secretAccessKey")]
    pub secret_access_key: Secret,
    /// STS session (security) token.
    #[serde(rename = "sessionToken")]
    pub session_token: Secret,
    /// Storage region, e.g. `oss-cn-hangzhou` or an AWS region name.
    pub region: String,
    /// DJI's bucket.
    #[serde(rename = "cloudBucketName")]
    pub cloud_bucket_name: String,
    /// Object-key template ending in `{fileName}`.
    #[serde(rename = "storePath")]
    pub store_path: String,
    /// Opaque value to pass back in `upload_callback` for objects uploaded with this token.
    #[serde(rename = "callbackParam")]
    pub callback_param: String,
    /// Expiry, Unix seconds.
    #[serde(rename = "expireTime")]
    pub expire_time: i64,
}

impl StsToken {
    /// The object key for a relative file name: `storePath` with `{fileName}` replaced.
    /// Backslashes in `file_name` become `/` (the callback expects `/` separators).
    ///
    /// ```
    /// # let token: terra_types::StsToken = serde_json::from_str(r#"{
    /// #   "cloudName": "AWS_S3", "accessKeyID": "ASIA", "secretAccessKey": "s", "sessionToken": "t",
    /// #   "region": "us-west-2", "cloudBucketName": "b", "storePath": "7/tmp/abc/{fileName}",
    /// #   "callbackParam": "e30=", "expireTime": 1795601400
    /// # }"#).unwrap();
    /// assert_eq!(token.object_key(r"survey\DJI_0001.JPG"), "7/tmp/abc/survey/DJI_0001.JPG");
    /// ```
    pub fn object_key(&self, file_name: &str) -> String {
        let name = file_name.replace('\\', "/");
        if self.store_path.contains(FILE_NAME_PLACEHOLDER) {
            self.store_path.replacen(FILE_NAME_PLACEHOLDER, &name, 1)
        } else {
            format!("{}{}", self.store_path, name)
        }
    }

    /// The key prefix every object of this token lives under (`storePath` before
    /// `{fileName}`).
    ///
    /// ```
    /// # let token: terra_types::StsToken = serde_json::from_str(r#"{
    /// #   "cloudName": "AWS_S3", "accessKeyID": "ASIA", "secretAccessKey": "s", "sessionToken": "t",
    /// #   "region": "us-west-2", "cloudBucketName": "b", "storePath": "7/tmp/abc/{fileName}",
    /// #   "callbackParam": "e30=", "expireTime": 1795601400
    /// # }"#).unwrap();
    /// assert_eq!(token.key_prefix(), "7/tmp/abc/");
    /// ```
    pub fn key_prefix(&self) -> &str {
        self.store_path
            .split(FILE_NAME_PLACEHOLDER)
            .next()
            .unwrap_or("")
    }
}

/// A geographic position attached to a file (`files[].position`).
///
/// ```
/// let p = terra_types::Position { attitude: 0.0, latitude: 22.54, longitude: 113.95 };
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"attitude":0.0,"latitude":22.54,"longitude":113.95}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Position {
    /// Attitude (the wire uses float32).
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f32()"))]
    pub attitude: f32,
    /// Latitude in degrees.
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub latitude: f64,
    /// Longitude in degrees.
    #[cfg_attr(test, proptest(strategy = "crate::proptest_support::finite_f64()"))]
    pub longitude: f64,
}

/// One uploaded object in an `upload_callback` request.
///
/// ```
/// use terra_types::{CallbackFile, Position};
/// let f = CallbackFile {
///     position: Some(Position { attitude: 0.0, latitude: 22.54, longitude: 113.95 }),
///     ..CallbackFile::new("DJI_0001.JPG", r#""9b2cf535f27731c974343645a3985328""#)
/// };
/// assert_eq!(f.checksum, f.etag);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CallbackFile {
    /// Relative file name: exactly the string substituted for `{fileName}`, `/`-separated.
    pub name: String,
    /// ETag returned by the storage PUT (quoted or not, as the storage returned it).
    pub etag: String,
    /// Checksum; every known client sends the ETag again.
    pub checksum: String,
    /// User extension info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// Where the photo was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

impl CallbackFile {
    /// An entry with `checksum` = `etag`, as all known clients send it.
    ///
    /// ```
    /// let f = terra_types::CallbackFile::new("DJI_0001.JPG", "9b2cf5");
    /// assert_eq!(
    ///     serde_json::to_string(&f).unwrap(),
    ///     r#"{"name":"DJI_0001.JPG","etag":"9b2cf5","checksum":"9b2cf5"}"#
    /// );
    /// ```
    pub fn new(name: impl Into<String>, etag: impl Into<String>) -> Self {
        let etag = etag.into();
        Self {
            name: name.into(),
            checksum: etag.clone(),
            etag,
            meta: None,
            position: None,
        }
    }
}

/// Body of `POST /v2/store/upload_callback` (reference §3.4).
///
/// Note the spelling `resourceUUID` here, unlike `resourceUuid` elsewhere.
///
/// ```
/// use terra_types::{CallbackFile, UploadCallbackRequest};
/// let req = UploadCallbackRequest {
///     callback_param: "eyJ".into(),
///     resource_uuid: "r-1".into(),
///     files: vec![CallbackFile::new("DJI_0001.JPG", "9b2cf5")],
/// };
/// let json = serde_json::to_string(&req).unwrap();
/// assert!(json.starts_with(r#"{"callbackParam":"eyJ","resourceUUID":"r-1""#), "note resourceUUID");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct UploadCallbackRequest {
    /// The `callbackParam` of the token the objects were uploaded with.
    #[serde(rename = "callbackParam")]
    pub callback_param: String,
    /// The resource the files join.
    #[serde(rename = "resourceUUID")]
    pub resource_uuid: String,
    /// The uploaded objects.
    pub files: Vec<CallbackFile>,
}

/// URI-encodes a string the way SigV4 and OSS V4 canonical requests and presigned links
/// need it: the RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) stay, every other
/// byte becomes `%XX` (upper-case hex).
///
/// ```
/// assert_eq!(terra_types::uri_encode("a b/c~+"), "a%20b%2Fc~%2B");
/// ```
pub fn uri_encode(s: &str) -> String {
    encode(s, false)
}

/// URI-encodes an object key for a URL path: like [`uri_encode`], keeping `/`. Clients
/// build request paths with it and terra-mock builds its download links with it.
///
/// ```
/// assert_eq!(terra_types::encode_key("map/tiles 1/a+b.tif"), "map/tiles%201/a%2Bb.tif");
/// ```
pub fn encode_key(key: &str) -> String {
    encode(key, true)
}

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Compares two ETags the way `upload_callback` matches them against the stored object:
/// surrounding whitespace and quotes and the case of the hex digits are ignored (S3 and
/// OSS send `"<md5>"`; clients may register it with or without the quotes).
///
/// ```
/// assert!(terra_types::etag_eq(r#""9B2CF535F27731C974343645A3985328""#, "9b2cf535f27731c974343645a3985328"));
/// assert!(!terra_types::etag_eq("9b2cf5", "9b2cf6"));
/// ```
pub fn etag_eq(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}
