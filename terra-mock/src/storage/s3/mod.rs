//! The S3 endpoint: the `s3s` crate speaks the protocol and checks SigV4 (header and
//! presigned forms); this module supplies the operations over [`super::BlobStore`], the
//! secrets of the STS sessions, and an access hook that checks the session token, its
//! expiry on the mock's clock and the `storePath` prefix.
//!
//! `auth.rs` holds the virtual-host parsing, the secrets and the access hook, `errors.rs` the
//! error answers, `listing.rs` the listing pages; here, the operations.

use std::sync::{Arc, Weak};

use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::access::{Ask, Intent, Target, authorize_each};
use super::blob::WriteFailure;
use super::presign::uri_encode;
use super::{CompleteError, KeyProblem, ObjectMeta, check_key};
use crate::config::Provider;
use crate::core::Core;
use crate::persist::WriteError;

/// S3's smallest part (all but the last).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The S3 operations over one provider's bucket: the S3 bucket, or the OSS bucket through
/// OSS's S3-compatible API.
#[derive(Debug, Clone)]
pub(crate) struct Backend(Weak<Core>, Provider);

impl Backend {
    fn mock(&self) -> S3Result<Arc<Core>> {
        self.0
            .upgrade()
            .ok_or_else(|| s3_error!(ServiceUnavailable, "the mock is shutting down"))
    }
}

/// Builds the s3s service serving `provider`'s bucket.
pub(crate) fn service(m: &Arc<Core>, provider: Provider) -> s3s::service::S3Service {
    let mut b = s3s::service::S3ServiceBuilder::new(Backend(Arc::downgrade(m), provider));
    b.set_auth(Auth(Arc::downgrade(m)));
    b.set_access(Access(Arc::downgrade(m), provider));
    b.set_host(Host(crate::state::bucket_of(provider, &m.cfg).to_owned()));
    b.build()
}
mod auth;
mod errors;
mod listing;

use auth::{Access, Auth, Host, check_listing, denial_error};
use errors::*;
use listing::*;

impl Backend {
    fn object(&self, m: &Core, bucket: &str, key: &str) -> S3Result<ObjectMeta> {
        self.bucket(m, bucket)?;
        m.storage.head(bucket, key).ok_or_else(no_key)
    }

    fn bucket(&self, m: &Core, bucket: &str) -> S3Result<()> {
        if bucket == crate::state::bucket_of(self.1, &m.cfg) {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist."
            ))
        }
    }
}

fn etag(s: &str) -> ETag {
    ETag::Strong(s.to_owned())
}

#[async_trait::async_trait]
impl S3 for Backend {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let m = self.mock()?;
        let input = req.input;
        self.bucket(&m, &input.bucket)?;
        valid_key(&input.key)?;
        let body = input
            .body
            .ok_or_else(|| s3_error!(IncompleteBody, "missing body"))?;
        let written = m
            .storage
            .write_stream(body, input.content_type.clone())
            .await
            .map_err(stream_error)?;
        if let Err(e) = check_content_md5(&req.headers, &written.etag) {
            written.discard();
            return Err(e);
        }
        let meta = m
            .storage
            .commit(&input.bucket, &input.key, written, m.now())
            .map_err(not_kept)?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&meta.etag)),
            size: Some(meta.size as i64),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let m = self.mock()?;
        let input = req.input;
        let meta = self.object(&m, &input.bucket, &input.key)?;
        let (range, content_range) = match &input.range {
            Some(r) => {
                let range = r.check(meta.size).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                let cr = format!(
                    "bytes {}-{}/{}",
                    range.start,
                    range.end.saturating_sub(1),
                    meta.size
                );
                (range, Some(cr))
            }
            None => (0..meta.size, None),
        };
        let len = range.end - range.start;
        let stream = super::BlobStore::read_range(&meta, range)
            .await
            .map_err(|e| s3_error!(InternalError, "cannot read the object: {e}"))?;
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(len as i64),
            content_range,
            accept_ranges: Some("bytes".into()),
            content_type: meta.content_type.as_deref().and_then(|c| c.parse().ok()),
            e_tag: Some(etag(&meta.etag)),
            last_modified: Some(Timestamp::from(meta.last_modified)),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let m = self.mock()?;
        let meta = self.object(&m, &req.input.bucket, &req.input.key)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(meta.size as i64),
            accept_ranges: Some("bytes".into()),
            content_type: meta.content_type.as_deref().and_then(|c| c.parse().ok()),
            e_tag: Some(etag(&meta.etag)),
            last_modified: Some(Timestamp::from(meta.last_modified)),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let m = self.mock()?;
        self.bucket(&m, &req.input.bucket)?;
        m.storage
            .delete(&req.input.bucket, &req.input.key)
            .map_err(not_kept)?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    /// DeleteObjects: each key authorized as its own DeleteObject would be (the session's
    /// `storePath` prefix); a key outside it is an `<Error>` inside the 200, as S3 reports
    /// what an STS session policy denies. Keys that do not exist are reported deleted.
    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let m = self.mock()?;
        let input = req.input;
        self.bucket(&m, &input.bucket)?;
        let objects = input.delete.objects;
        if objects.is_empty() || objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: a Delete lists 1 to 1000 objects."
            ));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let access_key = req
            .credentials
            .as_ref()
            .map(|c| c.access_key.clone())
            .unwrap_or_default();
        let token = req
            .headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (mut deleted, mut errors) = (Vec::new(), Vec::new());
        let base = Ask {
            provider: self.1,
            access_key: &access_key,
            token: token.as_deref(),
            intent: Intent::Write,
            bucket: &input.bucket,
            target: Target::Bucket,
        };
        let keys: Vec<String> = objects.into_iter().map(|o| o.key).collect();
        let decided = authorize_each(&m, &base, keys.iter().map(String::as_str), m.now());
        for (key, allowed) in decided {
            let key = key.to_owned();
            let refused = |code: &str, message: &str| Error {
                code: Some(code.to_owned()),
                key: Some(key.clone()),
                message: Some(message.to_owned()),
                version_id: None,
            };
            if let Err(d) = allowed {
                let e = denial_error(d);
                let code = e.code().as_str().to_owned();
                errors.push(refused(&code, e.message().unwrap_or("Access Denied")));
                continue;
            }
            match m.storage.delete(&input.bucket, &key) {
                Ok(_) if quiet => {}
                Ok(_) => deleted.push(DeletedObject {
                    key: Some(key),
                    ..Default::default()
                }),
                Err(_) => errors.push(refused(
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                )),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let m = self.mock()?;
        let input = req.input;
        self.bucket(&m, &input.bucket)?;
        valid_key(&input.key)?;
        let id = m
            .storage
            .create_upload(
                &input.bucket,
                &input.key,
                input.content_type.clone(),
                m.now(),
            )
            .map_err(not_kept)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let m = self.mock()?;
        let input = req.input;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        if !m
            .storage
            .upload_exists(&input.upload_id, &input.bucket, &input.key)
        {
            return Err(no_upload());
        }
        let body = input
            .body
            .ok_or_else(|| s3_error!(IncompleteBody, "missing body"))?;
        let written = m
            .storage
            .write_stream(body, None)
            .await
            .map_err(stream_error)?;
        if let Err(e) = check_content_md5(&req.headers, &written.etag) {
            written.discard();
            return Err(e);
        }
        let part = m
            .storage
            .put_part(&input.upload_id, input.part_number as u32, written, m.now())
            .map_err(not_kept)?
            .ok_or_else(no_upload)?;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(etag(&part.etag)),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let m = self.mock()?;
        let input = req.input;
        if !m
            .storage
            .upload_exists(&input.upload_id, &input.bucket, &input.key)
        {
            return Err(no_upload());
        }
        let listed: Vec<(u32, String)> = input
            .multipart_upload
            .and_then(|u| u.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let tag = match p.e_tag {
                    Some(ETag::Strong(s) | ETag::Weak(s)) => s,
                    None => String::new(),
                };
                (p.part_number.unwrap_or(0).max(0) as u32, tag)
            })
            .collect();
        let (bucket, key, meta) = m
            .storage
            .complete_upload(&input.upload_id, &listed, MIN_PART_SIZE, m.now())
            .map_err(complete_error)?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            location: Some(format!(
                "{}/{bucket}/{}",
                m.base_url(),
                super::presign::encode_key(&key)
            )),
            bucket: Some(bucket),
            key: Some(key),
            e_tag: Some(etag(&meta.etag)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let m = self.mock()?;
        if !m
            .storage
            .upload_exists(&req.input.upload_id, &req.input.bucket, &req.input.key)
            || !m
                .storage
                .abort_upload(&req.input.upload_id)
                .map_err(not_kept)?
        {
            return Err(no_upload());
        }
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let m = self.mock()?;
        let input = req.input;
        if !m
            .storage
            .upload_exists(&input.upload_id, &input.bucket, &input.key)
        {
            return Err(no_upload());
        }
        let after = input.part_number_marker.unwrap_or(0).max(0) as u32;
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let (parts, more) = m
            .storage
            .parts(&input.upload_id, after, max)
            .ok_or_else(no_upload)?;
        let next = parts.last().map(|(n, _)| *n as i32);
        let parts = parts
            .into_iter()
            .map(|(n, p)| Part {
                part_number: Some(n as i32),
                e_tag: Some(etag(&p.etag)),
                size: Some(p.size as i64),
                last_modified: Some(Timestamp::from(p.last_modified)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            max_parts: Some(max as i32),
            parts: Some(parts),
            is_truncated: Some(more),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let m = self.mock()?;
        check_listing(&req, req.input.prefix.as_deref())?;
        let input = req.input;
        self.bucket(&m, &input.bucket)?;
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let (uploads, more) = m.storage.uploads(
            &input.bucket,
            input.prefix.as_deref().unwrap_or_default(),
            input.key_marker.as_deref().unwrap_or_default(),
            input.upload_id_marker.as_deref().unwrap_or_default(),
            max,
        );
        let enc = listing_encoder(input.encoding_type.as_ref());
        let next = uploads.last().map(|u| (u.key.clone(), u.id.clone()));
        let list = uploads
            .into_iter()
            .map(|u| MultipartUpload {
                key: Some(enc(u.key)),
                upload_id: Some(u.id),
                initiated: Some(Timestamp::from(u.initiated)),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix.map(&enc),
            key_marker: input.key_marker.map(&enc),
            upload_id_marker: input.upload_id_marker,
            next_key_marker: more.then(|| next.clone().map(|n| enc(n.0))).flatten(),
            next_upload_id_marker: more.then(|| next.map(|n| n.1)).flatten(),
            max_uploads: Some(max as i32),
            is_truncated: Some(more),
            uploads: Some(list),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let m = self.mock()?;
        check_listing(&req, req.input.prefix.as_deref())?;
        let input = req.input;
        self.bucket(&m, &input.bucket)?;
        let enc = listing_encoder(input.encoding_type.as_ref());
        let l = listing(
            &m,
            &input.bucket,
            input.prefix.as_deref(),
            input.marker.as_deref(),
            input.max_keys,
            input.delimiter.as_deref(),
            &enc,
        );
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: input.prefix.map(&enc),
            marker: input.marker.map(&enc),
            max_keys: Some(l.max as i32),
            is_truncated: Some(l.next.is_some()),
            next_marker: l.next.map(&enc),
            contents: Some(l.contents),
            common_prefixes: Some(l.common),
            delimiter: input.delimiter.map(&enc),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let m = self.mock()?;
        check_listing(&req, req.input.prefix.as_deref())?;
        let input = req.input;
        self.bucket(&m, &input.bucket)?;
        let enc = listing_encoder(input.encoding_type.as_ref());
        let after = input
            .continuation_token
            .as_deref()
            .or(input.start_after.as_deref());
        let l = listing(
            &m,
            &input.bucket,
            input.prefix.as_deref(),
            after,
            input.max_keys,
            input.delimiter.as_deref(),
            &enc,
        );
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix.map(&enc),
            start_after: input.start_after.map(&enc),
            encoding_type: input.encoding_type,
            max_keys: Some(l.max as i32),
            key_count: Some((l.contents.len() + l.common.len()) as i32),
            is_truncated: Some(l.next.is_some()),
            next_continuation_token: l.next,
            continuation_token: input.continuation_token,
            contents: Some(l.contents),
            common_prefixes: Some(l.common),
            delimiter: input.delimiter.map(&enc),
            ..Default::default()
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let m = self.mock()?;
        self.bucket(&m, &req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }
}
