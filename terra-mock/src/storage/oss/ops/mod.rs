//! The OSS operations over the object store, answered as OSS answers them (XML shapes
//! oss2, the Go SDK and ali-oss parse; ETags quoted and upper-case; `encoding-type=url`).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::error::{OssError, bad, denial, internal, method_not_allowed, no_key, no_upload};
use super::sign::{header, query_get};
use super::xml::{Keys, escape, etag as oss_etag, time};
use crate::config::Provider;
use crate::core::Core;
use crate::persist::WriteError;
use crate::storage::access::{Ask, Intent, Target, authorize_each};
use crate::storage::blob::WriteFailure;
use crate::storage::range::{Wanted, wanted};
use crate::storage::{BlobStore, CompleteError, KeyProblem, ObjectMeta, check_key};

mod delete;
mod multipart;

/// OSS's smallest part (all but the last): 100 KiB.
const MIN_PART_SIZE: u64 = 100 * 1024;

/// One authorized OSS request, ready to be served.
pub(crate) struct Op<'a> {
    pub m: &'a Core,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub pairs: &'a [(String, String)],
    pub bucket: &'a str,
    pub key: &'a str,
    pub body: Body,
    /// Who signed it (per-key checks of a multi-object delete).
    pub access_key: &'a str,
    pub token: Option<&'a str>,
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

/// The bucket owner's account id in listings (DJI's account; ours is made up, numeric as
/// Aliyun's are).
const OWNER_ID: &str = "1386540119500821";

fn with_etag(mut r: Response, hex_etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&oss_etag(hex_etag)) {
        r.headers_mut().insert(http::header::ETAG, v);
    }
    r
}

fn object_headers(mut r: Response, meta: &ObjectMeta) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&oss_etag(&meta.etag)) {
        h.insert(http::header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(meta.last_modified)) {
        h.insert(http::header::LAST_MODIFIED, v);
    }
    let ct = meta
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(ct) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    h.insert(
        http::header::ACCEPT_RANGES,
        HeaderValue::from_static("bytes"),
    );
    let kind = if meta.etag.contains('-') {
        "Multipart"
    } else {
        "Normal"
    };
    h.insert("x-oss-object-type", HeaderValue::from_static(kind));
    h.insert("x-oss-storage-class", HeaderValue::from_static("Standard"));
    r
}

fn check_md5(headers: &HeaderMap, hex_md5: &str) -> Result<(), OssError> {
    use base64::Engine as _;
    let sent = header(headers, "content-md5");
    if sent.is_empty() {
        return Ok(());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sent)
        .map_err(|_| {
            bad(
                "InvalidDigest",
                "The Content-MD5 you specified is not valid.",
            )
        })?;
    if hex::encode(raw) != hex_md5 {
        return Err(bad(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ));
    }
    Ok(())
}

fn valid_key(key: &str) -> Result<(), OssError> {
    check_key(key, 1023).map_err(|p| match p {
        KeyProblem::Unlistable(c) => bad(
            "InvalidObjectName",
            format!(
                "The specified object is not valid: U+{:04X} cannot be listed.",
                c as u32
            ),
        ),
        _ => bad("InvalidObjectName", "The specified object is not valid."),
    })
}

fn part_number(pairs: &[(String, String)]) -> Result<u32, OssError> {
    query_get(pairs, "partNumber")
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            bad(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
        })
}

fn number(
    pairs: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, OssError> {
    match query_get(pairs, name) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                bad(
                    "InvalidArgument",
                    format!("{name} must be an integer from 0 to {max}."),
                )
            }),
    }
}

/// A body that could not be written: the client's failure, or the server's disk.
fn write_error(e: WriteFailure) -> OssError {
    match e {
        WriteFailure::Body(e) => bad("IncompleteBody", e),
        WriteFailure::Disk(_) => internal(),
    }
}

/// A change whose row could not be kept (`--data-dir`): OSS's own 500.
fn not_kept(_: WriteError) -> OssError {
    internal()
}

impl Op<'_> {
    fn stream(body: Body) -> impl futures::Stream<Item = Result<bytes::Bytes, String>> + Unpin {
        body.into_data_stream().map_err(|e| e.to_string())
    }

    fn content_type(&self) -> Option<String> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Object requests.
    pub(crate) async fn object(self, copy_source: Option<String>) -> Result<Response, OssError> {
        let upload_id = query_get(self.pairs, "uploadId").map(str::to_owned);
        let m = self.m;
        match (self.method, upload_id) {
            (&Method::PUT, None) => {
                if copy_source.is_some() {
                    return Err(super::error::forbidden(
                        "AccessDenied",
                        "You have no right to access this object: these credentials are not allowed to copy objects.",
                    ));
                }
                valid_key(self.key)?;
                let content_type = self.content_type();
                let written = m
                    .storage
                    .write_stream(Self::stream(self.body), content_type)
                    .await
                    .map_err(write_error)?;
                if let Err(e) = check_md5(self.headers, &written.etag) {
                    written.discard();
                    return Err(e);
                }
                let meta = m
                    .storage
                    .commit(self.bucket, self.key, written, m.now())
                    .map_err(not_kept)?;
                Ok(with_etag(StatusCode::OK.into_response(), &meta.etag))
            }
            (&Method::PUT, Some(id)) => {
                let n = part_number(self.pairs)?;
                if !m.storage.upload_exists(&id, self.bucket, self.key) {
                    return Err(no_upload());
                }
                if let Some(source) = copy_source {
                    return self.upload_part_copy(&id, n, &source).await;
                }
                let written = m
                    .storage
                    .write_stream(Self::stream(self.body), None)
                    .await
                    .map_err(write_error)?;
                if let Err(e) = check_md5(self.headers, &written.etag) {
                    written.discard();
                    return Err(e);
                }
                let part = m
                    .storage
                    .put_part(&id, n, written, m.now())
                    .map_err(not_kept)?
                    .ok_or_else(no_upload)?;
                Ok(with_etag(StatusCode::OK.into_response(), &part.etag))
            }
            (&Method::POST, None) if query_get(self.pairs, "uploads").is_some() => {
                valid_key(self.key)?;
                let id = m
                    .storage
                    .create_upload(self.bucket, self.key, self.content_type(), m.now())
                    .map_err(not_kept)?;
                let keys = Keys::new(query_get(self.pairs, "encoding-type"));
                Ok(xml(
                    StatusCode::OK,
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>\n  <Bucket>{}</Bucket>\n  <Key>{}</Key>\n  <UploadId>{id}</UploadId>\n  {}\n</InitiateMultipartUploadResult>\n",
                        self.bucket,
                        keys.write(self.key),
                        keys.element()
                    ),
                ))
            }
            (&Method::POST, Some(id)) => self.complete(&id).await,
            (&Method::GET, Some(id)) => self.list_parts(&id),
            (&Method::DELETE, Some(id)) => {
                if !m.storage.upload_exists(&id, self.bucket, self.key)
                    || !m.storage.abort_upload(&id).map_err(not_kept)?
                {
                    return Err(no_upload());
                }
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (&Method::DELETE, None) => {
                m.storage.delete(self.bucket, self.key).map_err(not_kept)?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (&Method::GET | &Method::HEAD, None) => self.get().await,
            _ => Err(method_not_allowed()),
        }
    }

    async fn get(self) -> Result<Response, OssError> {
        let meta = self
            .m
            .storage
            .head(self.bucket, self.key)
            .ok_or_else(no_key)?;
        let range = match self
            .headers
            .get(http::header::RANGE)
            .and_then(|v| v.to_str().ok())
        {
            None => None,
            Some(v) => match wanted(v, meta.size) {
                Wanted::Whole => None,
                Wanted::Part(r) => Some(r),
                Wanted::Unsatisfiable => {
                    return Err(OssError::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The requested range is not satisfiable.",
                    ));
                }
            },
        };
        let (status, span) = match &range {
            Some(r) => (StatusCode::PARTIAL_CONTENT, r.clone()),
            None => (StatusCode::OK, 0..meta.size),
        };
        let len = span.end - span.start;
        let body = if *self.method == Method::HEAD {
            Body::empty()
        } else {
            let s = BlobStore::read_range(&meta, span.clone())
                .await
                .map_err(|e| {
                    OssError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        e.to_string(),
                    )
                })?;
            Body::from_stream(s)
        };
        let mut resp = object_headers(Response::new(body), &meta);
        *resp.status_mut() = status;
        resp.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        if range.is_some()
            && let Ok(v) = HeaderValue::from_str(&format!(
                "bytes {}-{}/{}",
                span.start,
                span.end.saturating_sub(1),
                meta.size
            ))
        {
            resp.headers_mut().insert(http::header::CONTENT_RANGE, v);
        }
        Ok(resp)
    }

    /// Bucket requests: listings of objects and of multipart uploads. `prefix` is the
    /// listing prefix the caller was authorized for.
    pub(crate) fn bucket(self) -> Result<Response, OssError> {
        if !matches!(*self.method, Method::GET) {
            return Err(method_not_allowed());
        }
        let p = self.pairs;
        let keys = Keys::new(query_get(p, "encoding-type"));
        let prefix = query_get(p, "prefix").unwrap_or("");
        let delimiter = query_get(p, "delimiter").filter(|d| !d.is_empty());
        if query_get(p, "uploads").is_some() {
            let max = number(p, "max-uploads", 1000, 1000)?;
            let key_marker = query_get(p, "key-marker").unwrap_or("");
            let id_marker = query_get(p, "upload-id-marker").unwrap_or("");
            let (uploads, more) =
                self.m
                    .storage
                    .uploads(self.bucket, prefix, key_marker, id_marker, max);
            let (next_key, next_id) = uploads
                .last()
                .filter(|_| more)
                .map(|u| (u.key.clone(), u.id.clone()))
                .unwrap_or_default();
            let mut x = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult>\n  {}\n  <Bucket>{}</Bucket>\n  <KeyMarker>{}</KeyMarker>\n  <UploadIdMarker>{}</UploadIdMarker>\n  <NextKeyMarker>{}</NextKeyMarker>\n  <NextUploadIdMarker>{next_id}</NextUploadIdMarker>\n  <Delimiter>{}</Delimiter>\n  <Prefix>{}</Prefix>\n  <MaxUploads>{max}</MaxUploads>\n  <IsTruncated>{more}</IsTruncated>\n",
                keys.element(),
                self.bucket,
                keys.write(key_marker),
                escape(id_marker),
                keys.write(&next_key),
                keys.write(delimiter.unwrap_or("")),
                keys.write(prefix)
            );
            for u in uploads {
                x.push_str(&format!(
                    "  <Upload>\n    <Key>{}</Key>\n    <UploadId>{}</UploadId>\n    <Initiated>{}</Initiated>\n  </Upload>\n",
                    keys.write(&u.key),
                    u.id,
                    time(u.initiated)
                ));
            }
            x.push_str("</ListMultipartUploadsResult>\n");
            return Ok(xml(StatusCode::OK, x));
        }
        let v2 = query_get(p, "list-type") == Some("2");
        let max = number(p, "max-keys", 100, 1000)?;
        let marker = if v2 {
            query_get(p, "continuation-token")
                .filter(|t| !t.is_empty())
                .or(query_get(p, "start-after"))
                .unwrap_or("")
        } else {
            query_get(p, "marker").unwrap_or("")
        };
        let page = self
            .m
            .storage
            .page(self.bucket, prefix, marker, max, delimiter);
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>\n  {}\n  <Name>{}</Name>\n  <Prefix>{}</Prefix>\n  <MaxKeys>{max}</MaxKeys>\n  <Delimiter>{}</Delimiter>\n  <IsTruncated>{}</IsTruncated>\n",
            keys.element(),
            self.bucket,
            keys.write(prefix),
            keys.write(delimiter.unwrap_or("")),
            page.truncated
        );
        let next = page.next.as_deref().map(|n| keys.write(n));
        if v2 {
            x.push_str(&format!(
                "  <KeyCount>{}</KeyCount>\n",
                page.objects.len() + page.prefixes.len()
            ));
            if let Some(t) = query_get(p, "continuation-token") {
                x.push_str(&format!(
                    "  <ContinuationToken>{}</ContinuationToken>\n",
                    keys.write(t)
                ));
            }
            if let Some(s) = query_get(p, "start-after") {
                x.push_str(&format!("  <StartAfter>{}</StartAfter>\n", keys.write(s)));
            }
            if let Some(n) = &next {
                x.push_str(&format!(
                    "  <NextContinuationToken>{n}</NextContinuationToken>\n"
                ));
            }
        } else {
            x.push_str(&format!("  <Marker>{}</Marker>\n", keys.write(marker)));
            if let Some(n) = &next {
                x.push_str(&format!("  <NextMarker>{n}</NextMarker>\n"));
            }
        }
        // V1 listings name each object's owner (ali-oss reads it); V2 ones only when asked
        // with `fetch-owner=true`.
        let owner = if !v2 || query_get(p, "fetch-owner") == Some("true") {
            format!(
                "    <Owner>\n      <ID>{OWNER_ID}</ID>\n      <DisplayName>{OWNER_ID}</DisplayName>\n    </Owner>\n"
            )
        } else {
            String::new()
        };
        for (key, meta) in &page.objects {
            let kind = if meta.etag.contains('-') {
                "Multipart"
            } else {
                "Normal"
            };
            x.push_str(&format!(
                "  <Contents>\n    <Key>{}</Key>\n    <LastModified>{}</LastModified>\n    <ETag>{}</ETag>\n    <Type>{kind}</Type>\n    <Size>{}</Size>\n    <StorageClass>Standard</StorageClass>\n{owner}  </Contents>\n",
                keys.write(key),
                time(meta.last_modified),
                escape(&oss_etag(&meta.etag)),
                meta.size
            ));
        }
        for cp in &page.prefixes {
            x.push_str(&format!(
                "  <CommonPrefixes>\n    <Prefix>{}</Prefix>\n  </CommonPrefixes>\n",
                keys.write(cp)
            ));
        }
        x.push_str("</ListBucketResult>\n");
        Ok(xml(StatusCode::OK, x))
    }
}
