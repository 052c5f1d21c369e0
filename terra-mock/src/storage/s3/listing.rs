//! Pages of the S3 endpoint's bucket listings (ListObjects and ListObjectsV2), keys
//! percent-encoded with `encoding-type=url`.

use super::*;

/// With `encoding-type=url`, listing keys go out percent-encoded.
pub(super) fn listing_encoder(
    encoding: Option<&EncodingType>,
) -> impl Fn(String) -> String + use<> {
    let url = encoding.is_some_and(|e| e.as_str().eq_ignore_ascii_case("url"));
    move |s: String| if url { uri_encode_key(&s) } else { s }
}

pub(super) fn uri_encode_key(s: &str) -> String {
    s.split('/').map(uri_encode).collect::<Vec<_>>().join("/")
}

/// One page of a bucket listing (shared by ListObjects and ListObjectsV2).
pub(super) struct Listing {
    pub(super) contents: Vec<Object>,
    pub(super) common: Vec<CommonPrefix>,
    pub(super) next: Option<String>,
    pub(super) max: usize,
}

pub(super) fn listing(
    m: &Core,
    bucket: &str,
    prefix: Option<&str>,
    after: Option<&str>,
    max_keys: Option<i32>,
    delimiter: Option<&str>,
    enc: &dyn Fn(String) -> String,
) -> Listing {
    let max = max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
    let page = m.storage.page(
        bucket,
        prefix.unwrap_or_default(),
        after.unwrap_or_default(),
        max,
        delimiter,
    );
    Listing {
        contents: page
            .objects
            .into_iter()
            .map(|(key, meta)| Object {
                key: Some(enc(key)),
                size: Some(meta.size as i64),
                e_tag: Some(etag(&meta.etag)),
                last_modified: Some(Timestamp::from(meta.last_modified)),
                storage_class: Some(ObjectStorageClass::from_static(
                    ObjectStorageClass::STANDARD,
                )),
                ..Default::default()
            })
            .collect(),
        common: page
            .prefixes
            .into_iter()
            .map(|p| CommonPrefix {
                prefix: Some(enc(p)),
            })
            .collect(),
        next: page.next,
        max,
    }
}
