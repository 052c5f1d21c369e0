//! OSS's XML: escaping, `encoding-type=url`, times as OSS writes them.

use std::time::SystemTime;

/// XML text escaping.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// ISO 8601 with milliseconds, as OSS writes `LastModified` and `Initiated`
/// (`2026-11-30T10:00:00.000Z`; oss2 accepts nothing else).
pub(crate) fn time(t: SystemTime) -> String {
    let s = terra_types::time::format_rfc3339(t);
    match s.strip_suffix('Z') {
        Some(base) if !base.contains('.') => format!("{base}.000Z"),
        _ => s,
    }
}

/// How a listing writes keys: percent-encoded with `encoding-type=url`, escaped otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    pub url: bool,
}

impl Keys {
    pub(crate) fn new(encoding_type: Option<&str>) -> Self {
        Self {
            url: encoding_type.is_some_and(|e| e.eq_ignore_ascii_case("url")),
        }
    }

    pub(crate) fn write(&self, s: &str) -> String {
        if self.url {
            terra_types::encode_key(s)
        } else {
            escape(s)
        }
    }

    /// `<EncodingType>url</EncodingType>` when keys are encoded.
    pub(crate) fn element(&self) -> &'static str {
        if self.url {
            "<EncodingType>url</EncodingType>"
        } else {
            ""
        }
    }
}

/// The ETag as OSS writes it: quoted, upper-case hex.
pub(crate) fn etag(hex_etag: &str) -> String {
    format!("\"{}\"", hex_etag.to_uppercase())
}
