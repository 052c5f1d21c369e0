//! The storage endpoints and the object store behind them.
//!
//! - `blob/`: the object store (bodies on disk, metadata in memory).
//! - `endpoint.rs`: dispatches the router's fallback to S3 or OSS.
//! - `s3/`: the S3 protocol, spoken by the `s3s` crate over our operations.
//! - `oss/`: the Aliyun OSS protocol, written here (`sign/`: V1, V2 and V4; `ops.rs`:
//!   the operations; `error.rs`, `xml.rs`).
//! - `form/`: browser upload forms (S3 POST Object, OSS PostObject): the streamed
//!   multipart body, the policy document, the signatures.
//! - `access.rs`: the one access rule both protocols apply.
//! - `checksum.rs`: `Content-MD5` and `x-amz-checksum-*` of bodies held whole.
//! - `cors.rs`: preflights and the CORS headers of actual answers, per bucket.
//! - `presign.rs`: the download links of file objects.
//! - `range.rs`: `Range` headers.

pub(crate) mod access;
pub(crate) mod blob;
pub(crate) mod checksum;
pub(crate) mod cors;
pub(crate) mod crypto;
pub(crate) mod endpoint;
pub(crate) mod form;
pub(crate) mod ids;
pub(crate) mod oss;
pub mod presign;
pub(crate) mod range;
pub(crate) mod s3;
pub(crate) mod why;

pub use blob::ObjectMeta;
pub(crate) use blob::{BlobStore, CompleteError, KeyProblem, check_key};
