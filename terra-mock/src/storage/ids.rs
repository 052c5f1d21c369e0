//! S3's request ids: every S3 answer carries them, whichever part of the endpoint makes it.

/// An `x-amz-request-id` (16 upper-case hex digits) and `x-amz-id-2` (base64), from the
/// thread's generator (seeded once; no system call per request).
pub(crate) fn request_ids() -> (String, String) {
    use base64::Engine as _;
    let (id, host): (u64, [u8; 16]) = (rand::random(), rand::random());
    (
        format!("{id:016X}"),
        base64::engine::general_purpose::STANDARD.encode(host),
    )
}
