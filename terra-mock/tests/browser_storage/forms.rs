//! Browser upload forms, built and signed here from the services' documented algorithms:
//! S3 POST Object (SigV4 of the policy) and OSS PostObject (V1 and V4). What a form stores
//! is an object like any other; what a policy or the access rule refuses is refused in
//! the service's own words, and nothing is stored.

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::*;

const BOUNDARY: &str = "----terraFormBoundary7MA4YWxk";

/// A form's fields, in order.
type Fields = Vec<(&'static str, String)>;

/// A `multipart/form-data` body: the fields, then the file.
fn multipart(fields: &[(&str, String)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, data)) = file {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
        );
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn post(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("host", "localhost")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn expiration(secs_from_now: i64) -> String {
    let t = if secs_from_now >= 0 {
        std::time::SystemTime::now() + std::time::Duration::from_secs(secs_from_now as u64)
    } else {
        std::time::SystemTime::now() - std::time::Duration::from_secs((-secs_from_now) as u64)
    };
    terra_types::time::format_rfc3339(t)
}

/// The fields of an S3 form for `token`, `conditions` added to those boto3's
/// `generate_presigned_post` writes; `tamper` changes the signature.
fn s3_fields(
    token: &StsToken,
    key: &str,
    extra_conditions: &[serde_json::Value],
    expires_in: i64,
    tamper: bool,
) -> Vec<(&'static str, String)> {
    let stamp =
        terra_types::time::format_rfc3339(std::time::SystemTime::now()).replace(['-', ':'], "");
    let date = &stamp[..8];
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        token.access_key_id, token.region
    );
    let mut conditions = vec![
        serde_json::json!({"bucket": token.cloud_bucket_name}),
        serde_json::json!(["starts-with", "$key", token.object_key("")]),
        serde_json::json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
        serde_json::json!({"x-amz-credential": credential}),
        serde_json::json!({"x-amz-date": stamp}),
        serde_json::json!({"x-amz-security-token": token.session_token.expose()}),
    ];
    conditions.extend(extra_conditions.iter().cloned());
    let policy = b64(
        &serde_json::json!({"expiration": expiration(expires_in), "conditions": conditions})
            .to_string(),
    );
    let mut k = common::hmac256(
        format!("AWS4{}", token.secret_access_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    for part in [token.region.as_str(), "s3", "aws4_request"] {
        k = common::hmac256(&k, part.as_bytes());
    }
    let mut sig = hex::encode(common::hmac256(&k, policy.as_bytes()));
    if tamper {
        sig.replace_range(0..2, if &sig[0..2] == "00" { "11" } else { "00" });
    }
    vec![
        ("key", key.to_owned()),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential", credential),
        ("x-amz-date", stamp),
        (
            "x-amz-security-token",
            token.session_token.expose().to_owned(),
        ),
        ("policy", policy),
        ("x-amz-signature", sig),
    ]
}

/// The fields of an OSS form, V1 or V4, for `token`.
fn oss_fields(
    token: &StsToken,
    key: &str,
    extra_conditions: &[serde_json::Value],
    v4: bool,
) -> Vec<(&'static str, String)> {
    let stamp =
        terra_types::time::format_rfc3339(std::time::SystemTime::now()).replace(['-', ':'], "");
    let date = &stamp[..8];
    let region = token.region.trim_start_matches("oss-");
    let credential = format!(
        "{}/{date}/{region}/oss/aliyun_v4_request",
        token.access_key_id
    );
    let mut conditions = vec![
        serde_json::json!({"bucket": token.cloud_bucket_name}),
        serde_json::json!(["starts-with", "$key", token.object_key("")]),
        serde_json::json!(["content-length-range", 1, 10_485_760]),
    ];
    if v4 {
        conditions.push(serde_json::json!({"x-oss-signature-version": "OSS4-HMAC-SHA256"}));
        conditions.push(serde_json::json!({"x-oss-credential": credential}));
        conditions.push(serde_json::json!({"x-oss-date": stamp}));
    }
    conditions.extend(extra_conditions.iter().cloned());
    let policy = b64(
        &serde_json::json!({"expiration": expiration(600), "conditions": conditions}).to_string(),
    );
    let secret = token.secret_access_key.expose();
    let mut fields = vec![("key", key.to_owned()), ("policy", policy.clone())];
    if v4 {
        let mut k = common::hmac256(format!("aliyun_v4{secret}").as_bytes(), date.as_bytes());
        for part in [region, "oss", "aliyun_v4_request"] {
            k = common::hmac256(&k, part.as_bytes());
        }
        fields.extend([
            ("x-oss-signature-version", "OSS4-HMAC-SHA256".to_owned()),
            ("x-oss-credential", credential),
            ("x-oss-date", stamp.clone()),
            (
                "x-oss-signature",
                hex::encode(common::hmac256(&k, policy.as_bytes())),
            ),
        ]);
    } else {
        let mut m = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(policy.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
        fields.extend([
            ("OSSAccessKeyId", token.access_key_id.clone()),
            ("Signature", sig),
        ]);
    }
    fields.push((
        "x-oss-security-token",
        token.session_token.expose().to_owned(),
    ));
    fields
}

fn code(body: &str) -> &str {
    common::tag(body, "Code")
}

/// An S3 form stores an object a flow can register and download; the success answers
/// follow `success_action_status` and `success_action_redirect`.
#[tokio::test]
async fn an_s3_form_stores_an_object_like_any_other() {
    let (mock, s3, _) = two_buckets().await;
    let key = s3.object_key("${filename}");
    let photo = b"\xff\xd8 a photo \xff\xd9".to_vec();
    let (status, headers, body) = answer(
        &mock,
        post(
            "/terra-mock-s3",
            multipart(
                &s3_fields(&s3, &key, &[], 600, false),
                Some(("DJI_0001.JPG", &photo)),
            ),
        ),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let stored = s3.object_key("DJI_0001.JPG");
    let meta = mock
        .object(Provider::S3, &stored)
        .expect("stored under the file's name");
    assert_eq!(meta.size, photo.len() as u64);
    assert_eq!(
        headers["etag"].to_str().unwrap(),
        format!("\"{}\"", meta.etag)
    );
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .ends_with(&terra_types::encode_key(&stored))
    );

    // 201 with a PostResponse document.
    let mut f = s3_fields(
        &s3,
        &s3.object_key("b.jpg"),
        &[serde_json::json!({"success_action_status": "201"})],
        600,
        false,
    );
    f.push(("success_action_status", "201".into()));
    let (status, _, body) = answer(
        &mock,
        post("/terra-mock-s3", multipart(&f, Some(("x.jpg", b"b")))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(common::tag(&body, "Key"), s3.object_key("b.jpg"));
    assert_eq!(common::tag(&body, "Bucket"), "terra-mock-s3");

    // A redirect with bucket, key and ETag.
    let mut f = s3_fields(
        &s3,
        &s3.object_key("c.jpg"),
        &[serde_json::json!({"success_action_redirect": "http://app.test/done"})],
        600,
        false,
    );
    f.push(("success_action_redirect", "http://app.test/done".into()));
    let (status, headers, _) = answer(
        &mock,
        post("/terra-mock-s3", multipart(&f, Some(("x.jpg", b"c")))),
    )
    .await;
    assert_eq!(status, 303);
    let to = headers["location"].to_str().unwrap();
    assert!(
        to.starts_with("http://app.test/done?bucket=terra-mock-s3&key=")
            && to.contains("&etag=%22"),
        "{to}"
    );

    // Registered and downloaded as any upload.
    let api = common::Api::as_account(&mock, "us-ak", "us-sk");
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(serde_json::json!({"name": "form", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let files = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(serde_json::json!({"callbackParam": s3.callback_param, "resourceUUID": rid,
                "files": [{"name": "DJI_0001.JPG", "etag": meta.quoted_etag(), "checksum": meta.quoted_etag()}]})),
        )
        .await;
    let uuid = files[0]["uuid"].as_str().unwrap();
    assert_eq!(mock.file_bytes("us-ak", uuid).unwrap(), photo);
}

#[tokio::test]
async fn s3_form_refusals_are_worded_as_s3_words_them_and_store_nothing() {
    let (mock, s3, _) = two_buckets().await;
    let key = s3.object_key("DJI_0001.JPG");
    let range = [serde_json::json!(["content-length-range", 2, 8])];
    /// What is sent, and what S3 answers: status, code and the start of the message.
    type Case<'a> = (
        &'a str,
        Fields,
        Option<(&'a str, &'a [u8])>,
        u16,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "expired policy",
            s3_fields(&s3, &key, &[], -60, false),
            Some(("a", b"x")),
            403,
            "AccessDenied",
            "Invalid according to Policy: Policy expired.",
        ),
        (
            "key outside the policy",
            s3_fields(&s3, "other/DJI_0001.JPG", &[], 600, false),
            Some(("a", b"x")),
            403,
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\"",
        ),
        (
            "wrong signature",
            s3_fields(&s3, &key, &[], 600, true),
            Some(("a", b"x")),
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated",
        ),
        (
            "too large",
            s3_fields(&s3, &key, &range, 600, false),
            Some(("a", b"0123456789")),
            400,
            "EntityTooLarge",
            "exceeds the maximum allowed size",
        ),
        (
            "too small",
            s3_fields(&s3, &key, &range, 600, false),
            Some(("a", b"0")),
            400,
            "EntityTooSmall",
            "smaller than the minimum",
        ),
        (
            "no file",
            s3_fields(&s3, &key, &[], 600, false),
            None,
            400,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        ),
    ];
    for (what, fields, file, status, want_code, message) in cases {
        let (got, _, body) = answer(&mock, post("/terra-mock-s3", multipart(&fields, file))).await;
        assert_eq!((got, code(&body)), (status, want_code), "{what}: {body}");
        assert!(
            common::tag(&body, "Message").contains(message),
            "{what}: {body}"
        );
    }
    // A field no condition names.
    let mut f = s3_fields(&s3, &key, &[], 600, false);
    f.push(("x-amz-meta-owner", "me".into()));
    let (got, _, body) = answer(
        &mock,
        post("/terra-mock-s3", multipart(&f, Some(("a", b"x")))),
    )
    .await;
    assert_eq!(
        (got, common::tag(&body, "Message")),
        (
            403,
            "Invalid according to Policy: Extra input fields: x-amz-meta-owner"
        )
    );
    // A policy that is not JSON; a key outside the session's storePath, though the policy
    // allows it; no key at all.
    let mut f = s3_fields(&s3, &key, &[], 600, false);
    f.retain(|(k, _)| *k != "policy");
    f.push(("policy", b64("{not json")));
    let (got, _, body) = answer(
        &mock,
        post("/terra-mock-s3", multipart(&f, Some(("a", b"x")))),
    )
    .await;
    assert!(
        got == 403 || code(&body) == "InvalidPolicyDocument",
        "{body}"
    );
    let mut f = s3_fields(
        &s3,
        "1/other-session/x.jpg",
        &[serde_json::json!(["starts-with", "$key", ""])],
        600,
        false,
    );
    f.retain(|_| true);
    let (got, _, body) = answer(
        &mock,
        post("/terra-mock-s3", multipart(&f, Some(("a", b"x")))),
    )
    .await;
    assert_eq!(got, 403, "{body}");
    let f: Vec<_> = s3_fields(&s3, &key, &[], 600, false)
        .into_iter()
        .filter(|(k, _)| *k != "key")
        .collect();
    let (got, _, body) = answer(
        &mock,
        post("/terra-mock-s3", multipart(&f, Some(("a", b"x")))),
    )
    .await;
    assert_eq!((got, code(&body)), (400, "InvalidArgument"), "{body}");
    // An expired session.
    mock.expire_tokens_now();
    let (got, _, body) = answer(
        &mock,
        post(
            "/terra-mock-s3",
            multipart(&s3_fields(&s3, &key, &[], 600, false), Some(("a", b"x"))),
        ),
    )
    .await;
    assert_eq!((got, code(&body)), (400, "ExpiredToken"), "{body}");
    assert_eq!(mock.object_count(), 0, "nothing refused was stored");
}

#[tokio::test]
async fn oss_forms_v1_and_v4_store_and_refuse_in_oss_words() {
    let (mock, _, oss) = two_buckets().await;
    for (v4, name) in [(false, "v1.jpg"), (true, "v4.jpg")] {
        let key = oss.object_key(name);
        let (status, headers, body) = answer(
            &mock,
            post(
                "/terra-mock-oss",
                multipart(&oss_fields(&oss, &key, &[], v4), Some((name, b"jpeg"))),
            ),
        )
        .await;
        assert_eq!(status, 204, "{name}: {body}");
        let meta = mock.object(Provider::Oss, &key).unwrap();
        assert_eq!(
            headers["etag"].to_str().unwrap(),
            format!("\"{}\"", meta.etag.to_uppercase())
        );
        assert_eq!(headers["server"], "AliyunOSS");
    }
    // Virtual-host style, 201.
    let key = oss.object_key("vhost.jpg");
    let mut f = oss_fields(&oss, &key, &[], false);
    f.push(("success_action_status", "201".into()));
    let req = Request::post("/")
        .header("host", "terra-mock-oss.oss-cn-hangzhou.aliyuncs.com")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(&f, Some(("x", b"jpeg")))))
        .unwrap();
    let (status, _, body) = answer(&mock, req).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(common::tag(&body, "Key"), key);
    // Refusals: a key outside the session, a body past the range, a wrong signature.
    let before = mock.object_count();
    let outside = oss_fields(
        &oss,
        "elsewhere/x.jpg",
        &[serde_json::json!(["starts-with", "$key", ""])],
        true,
    );
    let (status, _, body) = answer(
        &mock,
        post("/terra-mock-oss", multipart(&outside, Some(("x", b"jpeg")))),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "AccessDenied"), "{body}");
    let key = oss.object_key("big.jpg");
    let big = vec![7u8; 10_485_761];
    let (status, _, body) = answer(
        &mock,
        post(
            "/terra-mock-oss",
            multipart(&oss_fields(&oss, &key, &[], false), Some(("x", &big))),
        ),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "EntityTooLarge"), "{body}");
    let mut f = oss_fields(&oss, &key, &[], false);
    for (k, v) in &mut f {
        if *k == "Signature" {
            v.insert(0, 'A');
        }
    }
    let (status, _, body) = answer(
        &mock,
        post("/terra-mock-oss", multipart(&f, Some(("x", b"jpeg")))),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, "SignatureDoesNotMatch"),
        "{body}"
    );
    assert!(body.contains("<StringToSign>"), "{body}");
    assert_eq!(mock.object_count(), before, "nothing refused was stored");
}
