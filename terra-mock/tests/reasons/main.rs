//! Why: every refusal and every lenient acceptance carries a stable code, a sentence and
//! (for signature mismatches) what the emulator signed, in the request log and the report,
//! while the wire answers stay the real services' (S3's `SignatureDoesNotMatch` gains what
//! S3 itself explains). Requests come from real clients or are built byte for byte as they
//! send them: DJI's quick-start signing (curl), aws-sdk-s3, reqsign's OSS signer, a client
//! that digests its query, the controls called from a web page.

mod api;
#[path = "../common/mod.rs"]
mod common;
mod control;
mod report;
mod storage;

use terra_mock::{ReasonCode, RecordedRequest, TerraMock};

/// The newest logged request.
fn last(mock: &TerraMock) -> RecordedRequest {
    mock.requests().pop().expect("a logged request")
}

/// The newest request was refused with `code`; returns its reason.
#[track_caller]
fn refused(mock: &TerraMock, code: ReasonCode) -> terra_mock::Reason {
    let r = last(mock);
    let why = r.refusal.clone().unwrap_or_else(|| {
        panic!(
            "{} {} ({}) has no refusal: {r:?}",
            r.method, r.target, r.status
        )
    });
    assert_eq!(why.code, code, "{} {}: {why:?}", r.method, r.target);
    assert!(!why.message.is_empty());
    why
}

/// The newest request was served with a `code` warning; returns it.
#[track_caller]
fn warned(mock: &TerraMock, code: ReasonCode) -> terra_mock::Reason {
    let r = last(mock);
    assert!(
        r.refusal.is_none(),
        "{} {} was refused: {:?}",
        r.method,
        r.target,
        r.refusal
    );
    r.warnings
        .iter()
        .find(|w| w.code == code)
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} {}: no {code:?} among {:?}",
                r.method, r.target, r.warnings
            )
        })
}
