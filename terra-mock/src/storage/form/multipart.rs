//! `multipart/form-data` as browser upload forms send it, read as a stream: the fields
//! before the file are read into memory (a bounded amount), the file is handed on as a
//! stream of its bytes, and nothing after it is read. Memory stays at a chunk or two
//! whatever the file's size.

use bytes::{Buf as _, Bytes, BytesMut};
use futures::{Stream, StreamExt as _};

/// Why a form could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormError {
    /// Not well-formed multipart.
    Malformed(&'static str),
    /// The fields before the file are larger than the limit.
    FieldsTooLarge,
    /// The body ended (or failed) in the middle.
    Incomplete(String),
    /// The file is larger than the limit given.
    FileTooLarge { limit: u64 },
}

/// One part's headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PartHead {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

/// The boundary of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// A `Content-Disposition: form-data; name="..."; filename="..."` value.
fn disposition(value: &str) -> Option<(String, Option<String>)> {
    let mut parts = value.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("form-data") {
        return None;
    }
    let (mut name, mut filename) = (None, None);
    for p in parts {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v)
            .replace("\\\"", "\"");
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" => filename = Some(v),
            _ => {}
        }
    }
    Some((name?, filename))
}

/// Reads a form from a stream of body chunks.
pub(crate) struct Reader<S> {
    body: S,
    buf: BytesMut,
    /// `\r\n--boundary`: what ends a part.
    delim: Vec<u8>,
    ended: bool,
}

impl<S, E> Reader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    pub(crate) fn new(body: S, boundary: &str) -> Self {
        // The first delimiter has no CRLF before it: start as if it had one.
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(b"\r\n");
        Self {
            body,
            buf,
            delim: format!("\r\n--{boundary}").into_bytes(),
            ended: false,
        }
    }

    /// Reads one more chunk; `false` at the end of the body.
    async fn fill(&mut self) -> Result<bool, FormError> {
        if self.ended {
            return Ok(false);
        }
        match self.body.next().await {
            Some(Ok(chunk)) => {
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Some(Err(e)) => Err(FormError::Incomplete(e.to_string())),
            None => {
                self.ended = true;
                Ok(false)
            }
        }
    }

    fn find(&self, needle: &[u8]) -> Option<usize> {
        memchr::memmem::find(&self.buf, needle)
    }

    /// Reads until `needle` is in the buffer, holding at most `limit` bytes.
    async fn until(
        &mut self,
        needle: &[u8],
        limit: usize,
        err: FormError,
    ) -> Result<usize, FormError> {
        loop {
            if let Some(i) = self.find(needle) {
                return Ok(i);
            }
            if self.buf.len() > limit {
                return Err(err);
            }
            if !self.fill().await? {
                return Err(FormError::Malformed("the body ended inside a part"));
            }
        }
    }

    /// Moves past the first delimiter (a preamble of up to `limit` bytes is skipped).
    pub(crate) async fn start(&mut self, limit: usize) -> Result<(), FormError> {
        let delim = self.delim.clone();
        let at = self
            .until(
                &delim,
                limit,
                FormError::Malformed("no boundary where one was expected"),
            )
            .await?;
        self.buf.advance(at + delim.len());
        Ok(())
    }

    /// The next part's headers, after a delimiter; `None` after the last one.
    pub(crate) async fn next_part(&mut self, limit: usize) -> Result<Option<PartHead>, FormError> {
        while self.buf.len() < 2 {
            if !self.fill().await? {
                return Err(FormError::Malformed("the body ended after a boundary"));
            }
        }
        if self.buf.starts_with(b"--") {
            return Ok(None);
        }
        // Transport padding after the boundary, then CRLF.
        let eol = self
            .until(b"\r\n", limit, FormError::FieldsTooLarge)
            .await?;
        if !self.buf[..eol].iter().all(|b| *b == b' ' || *b == b'\t') {
            return Err(FormError::Malformed("text after a boundary"));
        }
        self.buf.advance(eol + 2);
        while self.buf.len() < 2 {
            if !self.fill().await? {
                return Err(FormError::Malformed("the body ended in a part's headers"));
            }
        }
        if self.buf.starts_with(b"\r\n") {
            return Err(FormError::Malformed("a part has no Content-Disposition"));
        }
        let end = self
            .until(b"\r\n\r\n", limit, FormError::FieldsTooLarge)
            .await?;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.advance(end + 4);
        let mut part = PartHead::default();
        let mut named = false;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                let (name, filename) =
                    disposition(v).ok_or(FormError::Malformed("a part is not form-data"))?;
                part.name = name;
                part.filename = filename;
                named = true;
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.trim().to_owned());
            }
        }
        if !named {
            return Err(FormError::Malformed("a part has no Content-Disposition"));
        }
        Ok(Some(part))
    }

    /// A field's value (this part's body), of at most `limit` bytes.
    pub(crate) async fn value(&mut self, limit: usize) -> Result<Bytes, FormError> {
        let delim = self.delim.clone();
        let at = self.until(&delim, limit, FormError::FieldsTooLarge).await?;
        let v = self.buf.split_to(at).freeze();
        self.buf.advance(delim.len());
        Ok(v)
    }

    /// This part's body as a stream, failing past `limit` bytes. What follows the part is
    /// never read.
    pub(crate) fn file(self, limit: u64) -> impl Stream<Item = Result<Bytes, FormError>> + Unpin {
        Box::pin(futures::stream::unfold(
            (self, 0u64, false),
            move |(mut r, mut sent, done)| async move {
                if done {
                    return None;
                }
                loop {
                    let keep = r.delim.len();
                    let (chunk, last) = if let Some(i) = r.find(&r.delim) {
                        (r.buf.split_to(i).freeze(), true)
                    } else if r.buf.len() > keep + 64 * 1024 || (r.buf.len() > keep && r.ended) {
                        let n = r.buf.len() - keep;
                        (r.buf.split_to(n).freeze(), false)
                    } else {
                        match r.fill().await {
                            Ok(true) => continue,
                            Ok(false) => {
                                if r.buf.len() <= keep && r.find(&r.delim).is_none() {
                                    return Some((
                                        Err(FormError::Incomplete(
                                            "the body ended before the file's closing boundary"
                                                .into(),
                                        )),
                                        (r, sent, true),
                                    ));
                                }
                                continue;
                            }
                            Err(e) => return Some((Err(e), (r, sent, true))),
                        }
                    };
                    sent += chunk.len() as u64;
                    if sent > limit {
                        return Some((Err(FormError::FileTooLarge { limit }), (r, sent, true)));
                    }
                    if chunk.is_empty() && !last {
                        continue;
                    }
                    return Some((Ok(chunk), (r, sent, last)));
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(body: &[u8], size: usize) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures::stream::iter(
            body.chunks(size.max(1))
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
    }

    async fn read(
        body: &[u8],
        size: usize,
    ) -> Result<(Vec<(String, String)>, Option<(PartHead, Vec<u8>)>), FormError> {
        let mut r = Reader::new(chunks(body, size), "XyZ");
        r.start(1024).await?;
        let mut fields = Vec::new();
        while let Some(p) = r.next_part(1024).await? {
            if p.filename.is_some() {
                let mut s = r.file(1 << 20);
                let mut data = Vec::new();
                while let Some(c) = s.next().await {
                    data.extend_from_slice(&c?);
                }
                return Ok((fields, Some((p, data))));
            }
            let v = r.value(1024).await?;
            fields.push((p.name, String::from_utf8_lossy(&v).into_owned()));
        }
        Ok((fields, None))
    }

    const FORM: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n--XyZ\r\ncontent-disposition: form-data; name=\"policy\"\r\n\r\neyJ9\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"DJI_0001.JPG\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--Xy\r\n\xff\xd9\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--XyZ--\r\n";

    #[tokio::test]
    async fn fields_then_a_streamed_file_whatever_the_chunking() {
        for size in [1, 2, 3, 7, 64, 4096] {
            let (fields, file) = read(FORM, size).await.unwrap();
            assert_eq!(
                fields,
                [
                    ("key".into(), "uploads/${filename}".into()),
                    ("policy".into(), "eyJ9".into())
                ],
                "chunks of {size}"
            );
            let (head, data) = file.unwrap();
            assert_eq!(head.filename.as_deref(), Some("DJI_0001.JPG"));
            assert_eq!(head.content_type.as_deref(), Some("image/jpeg"));
            assert_eq!(
                data, b"\xff\xd8\r\n--Xy\r\n\xff\xd9",
                "a near-boundary inside the file is data"
            );
        }
    }

    #[tokio::test]
    async fn bad_forms_are_refused_not_guessed() {
        // Cut inside the file, before its closing boundary.
        let end = FORM.windows(2).position(|w| w == b"\xff\xd9").unwrap() + 2;
        let cut = &FORM[..end];
        assert!(matches!(read(cut, 5).await, Err(FormError::Incomplete(_))));
        // Cut after it: the file is whole, and nothing after it is read.
        assert!(read(&FORM[..end + 9], 5).await.unwrap().1.is_some());
        assert!(read(b"no boundary here", 4).await.is_err());
        let big = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{}\r\n--XyZ--",
            "x".repeat(5000)
        );
        assert_eq!(
            read(big.as_bytes(), 100).await,
            Err(FormError::FieldsTooLarge)
        );
        let mut r = Reader::new(chunks(FORM, 9), "XyZ");
        r.start(64).await.unwrap();
        for _ in 0..2 {
            r.next_part(1024).await.unwrap();
            r.value(1024).await.unwrap();
        }
        r.next_part(1024).await.unwrap();
        let mut s = r.file(3);
        let mut failed = false;
        while let Some(c) = s.next().await {
            if c == Err(FormError::FileTooLarge { limit: 3 }) {
                failed = true;
            }
        }
        assert!(failed, "a file past its limit fails");
    }

    #[test]
    fn boundaries_and_dispositions() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----abc").as_deref(),
            Some("----abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=x; boundary=\"q r\"").as_deref(),
            Some("q r")
        );
        assert_eq!(boundary("multipart/mixed; boundary=a"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(
            disposition(" form-data; name=\"file\"; filename=\"a \\\"b\\\".jpg\""),
            Some(("file".into(), Some("a \"b\".jpg".into())))
        );
        assert_eq!(disposition("attachment; name=x"), None);
    }
}
