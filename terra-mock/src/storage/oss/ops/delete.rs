//! DeleteMultipleObjects of the OSS endpoint.

use super::*;

#[derive(serde::Deserialize)]
struct DeleteBody {
    #[serde(rename = "Quiet", default)]
    quiet: Option<String>,
    #[serde(rename = "Object", default)]
    objects: Vec<DeleteObject>,
}

#[derive(serde::Deserialize)]
struct DeleteObject {
    #[serde(rename = "Key")]
    key: String,
}

impl Op<'_> {
    /// DeleteMultipleObjects (`POST /?delete`): `Content-MD5` required and checked, at
    /// most 1 000 keys, `encoding-type=url` for the keys both ways, quiet mode. Each key
    /// is authorized as its own DeleteObject would be; when any is outside the caller's
    /// `storePath`, the whole request is refused with AccessDenied and nothing is deleted
    /// (OSS's per-key behaviour under an STS policy is not documented; refusing is the
    /// choice that never deletes what it should not). Keys that do not exist are reported
    /// deleted, as OSS does.
    pub(crate) async fn delete_multiple(self) -> Result<Response, OssError> {
        let m = self.m;
        let bytes =
            axum::body::to_bytes(self.body, crate::storage::checksum::MULTI_DELETE_BODY_LIMIT)
                .await
                .map_err(|_| bad("MalformedXML", "The XML you provided was not well-formed."))?;
        use crate::storage::checksum::{Problem, verify};
        match verify(self.headers, &bytes, true) {
            Ok(()) => {}
            Err(Problem::Missing) => {
                return Err(bad(
                    "MissingArgument",
                    "Missing Some Required Arguments: Content-MD5.",
                ));
            }
            Err(Problem::Malformed(_)) => {
                return Err(bad(
                    "InvalidDigest",
                    "The Content-MD5 you specified is not valid.",
                ));
            }
            Err(Problem::Mismatch(_)) => {
                return Err(bad(
                    "InvalidDigest",
                    "The Content-MD5 you specified did not match what we received.",
                ));
            }
        }
        let parsed: DeleteBody = quick_xml::de::from_str(&String::from_utf8_lossy(&bytes))
            .map_err(|e| {
                bad(
                    "MalformedXML",
                    format!("The XML you provided was not well-formed: {e}"),
                )
            })?;
        if parsed.objects.is_empty() || parsed.objects.len() > 1000 {
            return Err(bad(
                "MalformedXML",
                "The XML you provided was not well-formed: a Delete lists 1 to 1000 objects.",
            ));
        }
        let keys = Keys::new(query_get(self.pairs, "encoding-type"));
        let names: Vec<String> = parsed
            .objects
            .into_iter()
            .map(|o| {
                if keys.url {
                    percent_encoding::percent_decode_str(&o.key)
                        .decode_utf8_lossy()
                        .into_owned()
                } else {
                    o.key
                }
            })
            .collect();
        let base = Ask {
            provider: Provider::Oss,
            access_key: self.access_key,
            token: self.token,
            intent: Intent::Write,
            bucket: self.bucket,
            target: Target::Bucket,
        };
        for (_, allowed) in authorize_each(m, &base, names.iter().map(String::as_str), m.now()) {
            allowed.map_err(|d| denial(d, self.access_key))?;
        }
        let quiet = parsed
            .quiet
            .is_some_and(|q| q.trim().eq_ignore_ascii_case("true"));
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult>\n  {}\n",
            keys.element()
        );
        for key in &names {
            m.storage.delete(self.bucket, key).map_err(not_kept)?;
            if !quiet {
                x.push_str(&format!(
                    "  <Deleted>\n    <Key>{}</Key>\n  </Deleted>\n",
                    keys.write(key)
                ));
            }
        }
        x.push_str("</DeleteResult>\n");
        Ok(xml(StatusCode::OK, x))
    }
}
