//! Multipart operations of the OSS endpoint: parts copied from objects, completion, part
//! listings.

use super::*;

fn complete_error(e: CompleteError) -> OssError {
    match e {
        CompleteError::NotKept => internal(),
        CompleteError::NoSuchUpload => no_upload(),
        CompleteError::InvalidPart(n) => bad(
            "InvalidPart",
            format!(
                "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag (part {n})."
            ),
        ),
        CompleteError::InvalidPartOrder => bad(
            "InvalidPartOrder",
            "The list of parts was not in ascending order.",
        ),
        CompleteError::EntityTooSmall(n) => bad(
            "EntityTooSmall",
            format!(
                "Your proposed upload is smaller than the minimum allowed size (part {n}, minimum 100 KB)."
            ),
        ),
        CompleteError::Empty => bad(
            "MalformedXML",
            "The XML you provided did not list any part.",
        ),
    }
}

#[derive(serde::Deserialize)]
struct CompleteBody {
    #[serde(rename = "Part", default)]
    parts: Vec<CompletePart>,
}

#[derive(serde::Deserialize)]
struct CompletePart {
    #[serde(rename = "PartNumber")]
    number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

impl Op<'_> {
    pub(super) async fn upload_part_copy(
        self,
        id: &str,
        n: u32,
        source_key: &str,
    ) -> Result<Response, OssError> {
        let m = self.m;
        let source = m.storage.head(self.bucket, source_key).ok_or_else(no_key)?;
        let span = match header(self.headers, "x-oss-copy-source-range") {
            "" => 0..source.size,
            v => match wanted(v, source.size) {
                Wanted::Part(r) => r,
                Wanted::Whole => 0..source.size,
                Wanted::Unsatisfiable => {
                    return Err(OssError::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The requested range is not satisfiable.",
                    ));
                }
            },
        };
        let stream = BlobStore::read_range(&source, span).await.map_err(|e| {
            OssError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                e.to_string(),
            )
        })?;
        let written = m
            .storage
            .write_stream(Box::pin(stream), None)
            .await
            .map_err(|_| internal())?;
        let part = m
            .storage
            .put_part(id, n, written, m.now())
            .map_err(not_kept)?
            .ok_or_else(no_upload)?;
        Ok(with_etag(
            xml(
                StatusCode::OK,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyPartResult>\n  <LastModified>{}</LastModified>\n  <ETag>{}</ETag>\n</CopyPartResult>\n",
                    time(part.last_modified),
                    escape(&oss_etag(&part.etag))
                ),
            ),
            &part.etag,
        ))
    }

    pub(super) async fn complete(self, id: &str) -> Result<Response, OssError> {
        let m = self.m;
        if !m.storage.upload_exists(id, self.bucket, self.key) {
            return Err(no_upload());
        }
        let all = header(self.headers, "x-oss-complete-all").eq_ignore_ascii_case("yes");
        let bytes = axum::body::to_bytes(self.body, 1 << 20)
            .await
            .map_err(|_| bad("MalformedXML", "The XML you provided was not well-formed."))?;
        let listed: Vec<(u32, String)> = if all {
            if !bytes.is_empty() {
                return Err(bad(
                    "InvalidArgument",
                    "Should not specify the part list when x-oss-complete-all is yes.",
                ));
            }
            let (parts, _) = m.storage.parts(id, 0, usize::MAX).ok_or_else(no_upload)?;
            parts.into_iter().map(|(n, p)| (n, p.etag)).collect()
        } else {
            let parsed: CompleteBody = quick_xml::de::from_str(&String::from_utf8_lossy(&bytes))
                .map_err(|e| {
                    bad(
                        "MalformedXML",
                        format!("The XML you provided was not well-formed: {e}"),
                    )
                })?;
            parsed
                .parts
                .into_iter()
                .map(|p| (p.number, p.etag))
                .collect()
        };
        let (bucket, key, meta) = m
            .storage
            .complete_upload(id, &listed, MIN_PART_SIZE, m.now())
            .map_err(complete_error)?;
        let keys = Keys::new(query_get(self.pairs, "encoding-type"));
        // The ETag in the header too: oss2 and the Go SDK read it from there.
        Ok(with_etag(
            xml(
                StatusCode::OK,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\n  {}\n  <Location>{}/{bucket}/{}</Location>\n  <Bucket>{bucket}</Bucket>\n  <Key>{}</Key>\n  <ETag>{}</ETag>\n</CompleteMultipartUploadResult>\n",
                    keys.element(),
                    escape(&m.base_url()),
                    terra_types::encode_key(&key),
                    keys.write(&key),
                    escape(&oss_etag(&meta.etag))
                ),
            ),
            &meta.etag,
        ))
    }

    pub(super) fn list_parts(self, id: &str) -> Result<Response, OssError> {
        let m = self.m;
        if !m.storage.upload_exists(id, self.bucket, self.key) {
            return Err(no_upload());
        }
        let after = number(self.pairs, "part-number-marker", 0, 10_000)? as u32;
        let max = number(self.pairs, "max-parts", 1000, 1000)?;
        let (parts, more) = m.storage.parts(id, after, max).ok_or_else(no_upload)?;
        let keys = Keys::new(query_get(self.pairs, "encoding-type"));
        let next = parts.last().map_or(after, |(n, _)| *n);
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult>\n  {}\n  <Bucket>{}</Bucket>\n  <Key>{}</Key>\n  <UploadId>{id}</UploadId>\n  <PartNumberMarker>{after}</PartNumberMarker>\n  <NextPartNumberMarker>{next}</NextPartNumberMarker>\n  <MaxParts>{max}</MaxParts>\n  <IsTruncated>{more}</IsTruncated>\n  <StorageClass>Standard</StorageClass>\n",
            keys.element(),
            self.bucket,
            keys.write(self.key)
        );
        for (n, p) in parts {
            x.push_str(&format!(
                "  <Part>\n    <PartNumber>{n}</PartNumber>\n    <LastModified>{}</LastModified>\n    <ETag>{}</ETag>\n    <Size>{}</Size>\n  </Part>\n",
                time(p.last_modified),
                escape(&oss_etag(&p.etag)),
                p.size
            ));
        }
        x.push_str("</ListPartsResult>\n");
        Ok(xml(StatusCode::OK, x))
    }
}
