//! Strict verification ([`Verifier::strict`]): what a server of our own must refuse that
//! Kong's defaults accept.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use terra_sign::*;

/// Wed, 25 Nov 2026 10:00:00 GMT
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_600_800)
}

fn lookup(ak: &str) -> Option<SecretString> {
    (ak == "ak").then(|| SecretString::from("sk"))
}

/// Signs `lines` (the signing string, built by hand) with hmac-sha256 and returns the
/// `Authorization` header declaring `headers`.
fn authorization(headers: &str, signing_string: &str) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"sk").unwrap();
    m.update(signing_string.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
    format!(
        r#"hmac username="ak", algorithm="hmac-sha256", headers="{headers}", signature="{sig}""#
    )
}

#[test]
fn a_normal_request_passes_strict_mode_in_both_date_modes() {
    let creds = Credentials::new("ak", "sk");
    let req = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", br#"{"name":"a"}"#);
    for params in [
        SigningParams::new(t0()),
        SigningParams::new(t0()).with_x_date(),
    ] {
        let signed = sign(&req, &creds, &params);
        let v = Verifier::strict().verify(&req, &signed.headers(), t0(), lookup);
        assert_eq!(v.unwrap().app_key, "ak");
    }
}

/// Issue 14, item 1: a body with no `Digest` header, signed over `date @request-target`
/// only, must not pass body validation; a GET without a digest must.
#[test]
fn body_validation_refuses_a_body_without_digest_and_accepts_a_get_without_one() {
    let date = format_date(t0());
    let with_body = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", br#"{"name":"a"}"#);
    let lines = format!("date: {date}\n@request-target: post /terra-rescon-be/v2/jobs");
    let auth = authorization("date @request-target", &lines);
    let headers = [("date", date.as_str()), ("authorization", auth.as_str())];
    // Kong's default takes it: the body is not looked at.
    assert!(
        Verifier::default()
            .verify(&with_body, &headers, t0(), lookup)
            .is_ok()
    );
    let e = Verifier::default()
        .with_body_validation(true)
        .verify(&with_body, &headers, t0(), lookup)
        .unwrap_err();
    assert_eq!(
        e,
        VerifyError::DigestMismatch {
            expected: body_digest(br#"{"name":"a"}"#),
            received: String::new(),
        }
    );
    assert!(matches!(
        Verifier::strict().verify(&with_body, &headers, t0(), lookup),
        Err(VerifyError::UnsignedHeader { header }) if header == "digest"
    ));

    let get = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    let lines = format!("date: {date}\n@request-target: get /terra-rescon-be/v2/jobs");
    let auth = authorization("date @request-target", &lines);
    let headers = [("date", date.as_str()), ("authorization", auth.as_str())];
    assert!(
        Verifier::default()
            .with_body_validation(true)
            .verify(&get, &headers, t0(), lookup)
            .is_ok()
    );
}

/// A signature over `date` alone is valid for any route: Kong accepts it for a DELETE it
/// was never made for, strict mode does not.
#[test]
fn a_date_only_signature_cannot_be_reused_on_another_route() {
    let date = format_date(t0());
    let auth = authorization("date", &format!("date: {date}"));
    let headers = [("date", date.as_str()), ("authorization", auth.as_str())];
    let delete = SignableRequest::new("DELETE", "/terra-rescon-be/v2/jobs/some-job", b"");
    assert!(
        Verifier::default()
            .verify(&delete, &headers, t0(), lookup)
            .is_ok()
    );
    let e = Verifier::strict()
        .verify(&delete, &headers, t0(), lookup)
        .unwrap_err();
    assert_eq!(
        e,
        VerifyError::UnsignedHeader {
            header: "@request-target".into()
        }
    );
    assert_eq!(e.gateway_message(), MSG_CANNOT_VERIFY);
    assert_eq!(e.http_status(), 401);
    // Nor over `@request-target` without a date.
    let lines = "@request-target: delete /terra-rescon-be/v2/jobs/some-job\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let auth = authorization("@request-target digest", lines);
    let headers = [
        ("date", date.as_str()),
        ("digest", EMPTY_BODY_DIGEST),
        ("authorization", auth.as_str()),
    ];
    assert!(
        Verifier::default()
            .verify(&delete, &headers, t0(), lookup)
            .is_ok()
    );
    assert_eq!(
        Verifier::strict()
            .verify(&delete, &headers, t0(), lookup)
            .unwrap_err(),
        VerifyError::UnsignedHeader {
            header: "date".into()
        }
    );
}

/// An old request signed over `Date` is revived in Kong by adding a fresh, unsigned
/// `X-Date`; strict mode only counts the date the signature covers.
#[test]
fn an_unsigned_fresh_x_date_does_not_revive_an_old_signed_date() {
    let creds = Credentials::new("ak", "sk");
    let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    let old = sign(&req, &creds, &SigningParams::new(t0()));
    let later = t0() + Duration::from_secs(3600);
    let fresh = format_date(later);
    let headers = [
        ("date", old.date.as_str()),
        ("x-date", fresh.as_str()),
        ("digest", old.digest.as_str()),
        ("authorization", old.authorization.as_str()),
    ];
    assert!(
        Verifier::default()
            .verify(&req, &headers, later, lookup)
            .is_ok()
    );
    assert!(matches!(
        Verifier::strict().verify(&req, &headers, later, lookup),
        Err(VerifyError::ClockSkew {
            skew_secs: 3600,
            allowed_secs: 300
        })
    ));
    // Signed X-Date counts, and a stale unsigned Date next to it does not matter.
    let xd = sign(&req, &creds, &SigningParams::new(later).with_x_date());
    let headers = [
        ("x-date", xd.date.as_str()),
        ("date", old.date.as_str()),
        ("digest", xd.digest.as_str()),
        ("authorization", xd.authorization.as_str()),
    ];
    assert!(
        Verifier::strict()
            .verify(&req, &headers, later, lookup)
            .is_ok()
    );
}

#[test]
fn strict_mode_compares_the_digest_with_the_body() {
    let creds = Credentials::new("ak", "sk");
    let sent = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", br#"{"name":"a"}"#);
    let signed = sign(&sent, &creds, &SigningParams::new(t0()));
    let tampered = SignableRequest::new("POST", "/terra-rescon-be/v2/jobs", br#"{"name":"b"}"#);
    assert!(
        Verifier::strict()
            .verify(&sent, &signed.headers(), t0(), lookup)
            .is_ok()
    );
    let e = Verifier::strict()
        .verify(&tampered, &signed.headers(), t0(), lookup)
        .unwrap_err();
    assert!(matches!(e, VerifyError::DigestMismatch { .. }));
    // Header-only verification passes (the signature covers the header); the body check
    // after reading is what refuses.
    let v = Verifier::strict();
    assert!(
        v.verify_headers(
            "POST",
            "/terra-rescon-be/v2/jobs",
            &signed.headers(),
            t0(),
            lookup
        )
        .is_ok()
    );
    assert!(v.check_body(br#"{"name":"b"}"#, &signed.headers()).is_err());
}

/// Reading the signed list first must not change what a malformed header reports.
#[test]
fn strict_mode_keeps_the_order_of_checks_for_malformed_headers() {
    let date = format_date(t0());
    let headers = [("date", date.as_str()), ("authorization", "Basic abc")];
    let req = SignableRequest::new("GET", "/x", b"");
    assert!(matches!(
        Verifier::strict().verify(&req, &headers, t0(), lookup),
        Err(VerifyError::MalformedAuthorization { .. })
    ));
    let stale = format_date(t0() - Duration::from_secs(3600));
    let headers = [("date", stale.as_str()), ("authorization", "Basic abc")];
    assert!(matches!(
        Verifier::strict().verify(&req, &headers, t0(), lookup),
        Err(VerifyError::ClockSkew { .. })
    ));
}

/// When both date headers are signed, either being fresh is enough (Kong's rule), in
/// strict mode too: only unsigned dates are ignored.
#[test]
fn with_both_dates_signed_a_fresh_x_date_counts() {
    let later = t0() + Duration::from_secs(3600);
    let (old, fresh) = (format_date(t0()), format_date(later));
    let lines = format!(
        "x-date: {fresh}\ndate: {old}\n@request-target: get /terra-rescon-be/v2/jobs\ndigest: {}",
        body_digest(b"")
    );
    let auth = authorization("x-date date @request-target digest", &lines);
    let digest = body_digest(b"");
    let headers = [
        ("x-date", fresh.as_str()),
        ("date", old.as_str()),
        ("digest", digest.as_str()),
        ("authorization", auth.as_str()),
    ];
    let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    assert_eq!(
        Verifier::strict()
            .verify(&req, &headers, later, lookup)
            .unwrap()
            .app_key,
        "ak"
    );
    // Both stale: refused.
    let much_later = later + Duration::from_secs(3600);
    assert!(matches!(
        Verifier::strict().verify(&req, &headers, much_later, lookup),
        Err(VerifyError::ClockSkew { .. })
    ));
}

/// An empty `username` or an empty `signature` is malformed on its own.
#[test]
fn an_empty_username_or_signature_is_malformed() {
    let date = format_date(t0());
    for auth in [
        r#"hmac username="", algorithm="hmac-sha256", headers="date", signature="c2ln""#,
        r#"hmac username="ak", algorithm="hmac-sha256", headers="date", signature="""#,
    ] {
        let headers = [("date", date.as_str()), ("authorization", auth)];
        let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
        let e = Verifier::default()
            .verify(&req, &headers, t0(), lookup)
            .unwrap_err();
        assert!(
            matches!(e, VerifyError::MalformedAuthorization { .. }),
            "{auth}: {e:?}"
        );
    }
}

/// `request-line` means the request line only when no header of that name was sent (as
/// in Kong); a header of that name is signed like any other.
#[test]
fn a_request_line_header_is_signed_as_a_header() {
    let date = format_date(t0());
    let lines = format!("date: {date}\nrequest-line: custom value");
    let auth = authorization("date request-line", &lines);
    let headers = [
        ("date", date.as_str()),
        ("request-line", "custom value"),
        ("authorization", auth.as_str()),
    ];
    let req = SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    assert!(
        Verifier::default()
            .verify(&req, &headers, t0(), lookup)
            .is_ok()
    );
    // Without the header, the same name stands for the request line.
    let lines = format!("date: {date}\nGET /terra-rescon-be/v2/jobs HTTP/1.1");
    let auth = authorization("date request-line", &lines);
    let headers = [("date", date.as_str()), ("authorization", auth.as_str())];
    assert!(
        Verifier::default()
            .verify(&req, &headers, t0(), lookup)
            .is_ok()
    );
}

/// `Debug` shows the app key and hides the secret.
#[test]
fn credentials_debug_shows_the_key_not_the_secret() {
    let shown = format!("{:?}", Credentials::new("the-app-key", "the-secret"));
    assert!(
        shown.contains("the-app-key") && shown.contains("***"),
        "{shown}"
    );
    assert!(!shown.contains("the-secret"), "{shown}");
}
