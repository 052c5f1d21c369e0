//! The S3 endpoint's own error answers: keys it refuses, bodies it could not keep, and
//! the failures of multipart completion.

use super::*;

/// Refuses keys S3 could not store or list.
pub(super) fn valid_key(key: &str) -> S3Result<()> {
    check_key(key, 1024).map_err(|p| match p {
        KeyProblem::Empty => s3_error!(InvalidArgument, "The object key must not be empty."),
        KeyProblem::TooLong => s3_error!(KeyTooLongError, "Your key is too long."),
        KeyProblem::Unlistable(c) => s3_error!(
            InvalidArgument,
            "Object key contains U+{:04X}, which XML listings cannot carry.",
            c as u32
        ),
    })
}

pub(super) fn no_key() -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

/// A body that could not be written: the client's failure (a short body, a payload
/// hash that does not match), or the server's disk.
pub(super) fn stream_error(e: WriteFailure) -> S3Error {
    match e {
        WriteFailure::Body(e) if e.contains("Sha256Mismatch") => {
            let mut e = S3Error::with_message(
                S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            );
            e.set_status_code(http::StatusCode::BAD_REQUEST);
            e
        }
        WriteFailure::Body(e) => s3_error!(IncompleteBody, "The request body ended early: {e}"),
        WriteFailure::Disk(_) => internal(),
    }
}

/// S3's answer to a failure of its own.
pub(super) fn internal() -> S3Error {
    s3_error!(
        InternalError,
        "We encountered an internal error. Please try again."
    )
}

/// A change whose row could not be kept (`--data-dir`): S3's 500.
pub(super) fn not_kept(_: WriteError) -> S3Error {
    internal()
}

pub(super) fn check_content_md5(headers: &http::HeaderMap, computed_hex: &str) -> S3Result<()> {
    use base64::Engine as _;
    let Some(sent) = headers.get("content-md5").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let sent = base64::engine::general_purpose::STANDARD
        .decode(sent)
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if hex::encode(sent) != computed_hex {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

pub(super) fn no_upload() -> S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

pub(super) fn complete_error(e: CompleteError) -> S3Error {
    match e {
        CompleteError::NotKept => internal(),
        CompleteError::NoSuchUpload => no_upload(),
        CompleteError::InvalidPart(n) => s3_error!(
            InvalidPart,
            "Part {n} could not be found or its ETag does not match."
        ),
        CompleteError::InvalidPartOrder => s3_error!(
            InvalidPartOrder,
            "The list of parts was not in ascending order."
        ),
        CompleteError::EntityTooSmall(n) => s3_error!(
            EntityTooSmall,
            "Part {n} is smaller than the minimum allowed size (5 MiB)."
        ),
        CompleteError::Empty => {
            s3_error!(MalformedXML, "The XML you provided did not list any part.")
        }
    }
}
