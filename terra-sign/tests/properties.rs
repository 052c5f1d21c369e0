//! Properties of sign/verify over arbitrary requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use terra_sign::*;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

fn time() -> impl Strategy<Value = SystemTime> {
    // 1970 .. 2200, whole seconds (HTTP dates have no fractions).
    (0u64..7_258_118_400).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

fn target() -> impl Strategy<Value = String> {
    "/terra-rescon-be/v2/[a-z_/]{0,30}(\\?[a-zA-Z0-9=&%,-]{0,40})?"
}

fn lookup(_: &str) -> Option<SecretString> {
    Some(SecretString::from("s3cr3t"))
}

struct Signed {
    headers: Vec<(String, String)>,
}

fn signed(method: &str, target: &str, body: &[u8], t: SystemTime, x_date: bool) -> Signed {
    let mut p = SigningParams::new(t);
    if x_date {
        p = p.with_x_date();
    }
    let s = sign(
        &SignableRequest::new(method, target, body),
        &Credentials::new("ak", "s3cr3t"),
        &p,
    );
    Signed {
        headers: s
            .headers()
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
            .collect(),
    }
}

fn verify(
    v: &Verifier,
    method: &str,
    target: &str,
    body: &[u8],
    headers: &Vec<(String, String)>,
    now: SystemTime,
) -> Result<Verified, VerifyError> {
    v.verify(
        &SignableRequest::new(method, target, body),
        headers,
        now,
        lookup,
    )
}

proptest! {
    #[test]
    fn sign_then_verify_accepts(
        m in 0usize..5, target in target(), body in proptest::collection::vec(any::<u8>(), 0..256),
        t in time(), x_date in any::<bool>(), drift in -300i64..=300,
    ) {
        let s = signed(METHODS[m], &target, &body, t, x_date);
        let now = if drift >= 0 { t + Duration::from_secs(drift as u64) } else { t - Duration::from_secs((-drift) as u64) };
        let strict = Verifier::default().with_body_validation(true);
        prop_assert_eq!(verify(&strict, METHODS[m], &target, &body, &s.headers, now).map(|v| v.app_key), Ok("ak".to_owned()));
    }

    #[test]
    fn another_method_is_rejected(m in 0usize..5, other in 0usize..5, target in target(), t in time()) {
        prop_assume!(m != other);
        let s = signed(METHODS[m], &target, b"", t, false);
        prop_assert!(verify(&Verifier::default(), METHODS[other], &target, b"", &s.headers, t).is_err());
    }

    #[test]
    fn any_changed_target_byte_is_rejected(target in target(), t in time(), i in any::<prop::sample::Index>(), b in any::<u8>()) {
        let s = signed("GET", &target, b"", t, false);
        let mut bytes = target.clone().into_bytes();
        let i = i.index(bytes.len());
        prop_assume!(bytes[i] != b);
        bytes[i] = b;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(changed != target);
        prop_assert!(verify(&Verifier::default(), "GET", &changed, b"", &s.headers, t).is_err());
    }

    #[test]
    fn any_changed_date_byte_is_rejected(t in time(), i in any::<prop::sample::Index>(), b in any::<u8>(), x_date in any::<bool>()) {
        let mut s = signed("GET", "/terra-rescon-be/v2/jobs", b"", t, x_date);
        let date = &mut s.headers[0].1;
        let mut bytes = date.clone().into_bytes();
        let i = i.index(bytes.len());
        prop_assume!(bytes[i] != b);
        bytes[i] = b;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(changed != *date);
        *date = changed;
        prop_assert!(verify(&Verifier::default(), "GET", "/terra-rescon-be/v2/jobs", b"", &s.headers, t).is_err());
    }

    #[test]
    fn any_changed_body_byte_is_rejected_in_strict_mode(
        body in proptest::collection::vec(any::<u8>(), 1..256), t in time(), i in any::<prop::sample::Index>(), b in any::<u8>(),
    ) {
        let s = signed("POST", "/terra-rescon-be/v2/jobs", &body, t, false);
        let mut changed = body.clone();
        let i = i.index(changed.len());
        prop_assume!(changed[i] != b);
        changed[i] = b;
        let strict = Verifier::default().with_body_validation(true);
        let r = verify(&strict, "POST", "/terra-rescon-be/v2/jobs", &changed, &s.headers, t);
        prop_assert!(matches!(r, Err(VerifyError::DigestMismatch { .. })), "{:?}", r);
    }

    #[test]
    fn outside_the_skew_is_rejected(t in time(), extra in 1u64..1_000_000) {
        let s = signed("GET", "/terra-rescon-be/v2/jobs", b"", t, false);
        let late = t + Duration::from_secs(300 + extra);
        let r = verify(&Verifier::default(), "GET", "/terra-rescon-be/v2/jobs", b"", &s.headers, late);
        prop_assert!(matches!(r, Err(VerifyError::ClockSkew { .. })), "{:?}", r);
    }

    #[test]
    fn authorization_parser_never_panics(s in ".{0,300}") {
        let _ = Authorization::parse(&s);
    }

    #[test]
    fn verify_never_panics_on_arbitrary_headers(
        auth in "(hmac |Hmac )?.{0,120}", date in ".{0,40}", digest in ".{0,60}", body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let headers = vec![("authorization".to_owned(), auth), ("date".to_owned(), date), ("digest".to_owned(), digest)];
        let _ = verify(&Verifier::default().with_body_validation(true), "GET", "/", &body, &headers, UNIX_EPOCH);
    }

    #[test]
    fn dates_round_trip(t in time()) {
        prop_assert_eq!(parse_date(&format_date(t)), Some(t));
    }
}
