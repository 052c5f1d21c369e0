//! Storage refusals, from aws-sdk-s3 and reqsign's OSS signer: each with its code, and S3's
//! `SignatureDoesNotMatch` carrying what S3 adds to it.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use hmac::{KeyInit, Mac};
use reqsign_aliyun_oss::SigningVersion;
use sha2::Sha256;
use terra_mock::{ManualClock, Provider, ReasonCode as C, TerraMock};

use super::common::{Oss, s3_client, tag};
use super::refused;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn body_of<E: std::fmt::Debug>(e: &aws_sdk_s3::error::SdkError<E>) -> String {
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => {
            String::from_utf8_lossy(s.raw().body().bytes().unwrap_or_default()).into_owned()
        }
        other => panic!("not a service error: {other:?}"),
    }
}

/// A PUT of four bytes of "jpeg" with aws-sdk-s3.
async fn put_jpeg(
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
) -> Result<
    aws_sdk_s3::operation::put_object::PutObjectOutput,
    aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>,
> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"jpeg"))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_refusals_from_aws_sdk_s3() {
    let mock = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .start()
        .await
        .unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let base = mock.base_url();
    let bucket = token.cloud_bucket_name.clone();
    let key = token.object_key("flight/DJI_0001.JPG");
    let put = |s3: aws_sdk_s3::Client, key: String| put_jpeg(s3, bucket.clone(), key);

    // The wrong secret: S3's own explanation, which reproduces what the SDK signed.
    let wrong = "wrong-secret-of-forty-characters-00000000";
    let e = put(s3_client(&base, &token, Some(wrong), None), key.clone())
        .await
        .unwrap_err();
    let xml = body_of(&e);
    assert_eq!(tag(&xml, "Code"), "SignatureDoesNotMatch", "{xml}");
    for element in [
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
        "CanonicalRequest",
        "CanonicalRequestBytes",
        "RequestId",
        "HostId",
    ] {
        assert!(
            xml.contains(&format!("<{element}>")),
            "{element} missing: {xml}"
        );
    }
    let string_to_sign = tag(&xml, "StringToSign").replace("&amp;", "&");
    let scope: Vec<&str> = string_to_sign.lines().nth(2).unwrap().split('/').collect();
    let k = hmac(format!("AWS4{wrong}").as_bytes(), scope[0].as_bytes());
    let k = hmac(&k, scope[1].as_bytes());
    let k = hmac(&k, scope[2].as_bytes());
    let k = hmac(&k, b"aws4_request");
    assert_eq!(
        hex::encode(hmac(&k, string_to_sign.as_bytes())),
        tag(&xml, "SignatureProvided"),
        "the string to sign shown is the one the SDK signed"
    );
    let why = refused(&mock, C::StorageSignatureMismatch);
    let signed = why.signed.unwrap();
    assert!(signed.starts_with("CanonicalRequest:\nPUT\n/"), "{signed}");
    assert!(signed.contains(&string_to_sign));
    assert!(!signed.contains(token.secret_access_key.expose()));
    assert!(
        !signed.contains(token.session_token.expose()),
        "the session token is not logged"
    );
    assert!(
        xml.contains(token.session_token.expose()),
        "S3 itself shows the client what it signed"
    );

    // Credentials and their token.
    let mut stranger = token.clone();
    stranger.access_key_id = "AKIANOSUCHKEY".into();
    put(s3_client(&base, &stranger, None, None), key.clone())
        .await
        .unwrap_err();
    refused(&mock, C::AccessKeyUnknown);
    put(s3_client(&base, &token, None, Some("")), key.clone())
        .await
        .unwrap_err();
    refused(&mock, C::StsTokenMissing);
    put(
        s3_client(&base, &token, None, Some("not-a-session-token")),
        key.clone(),
    )
    .await
    .unwrap_err();
    refused(&mock, C::StsTokenInvalid);
    // Outside the token's storePath.
    put(
        s3_client(&base, &token, None, None),
        "someone-else/x.jpg".into(),
    )
    .await
    .unwrap_err();
    let why = refused(&mock, C::StorePathDenied);
    assert!(
        why.message.contains(&token.object_key("")),
        "{}",
        why.message
    );
    // Said as what was asked: a write is refused as a write, a read as a read.
    assert!(
        why.message.contains("may only write keys under"),
        "{}",
        why.message
    );
    s3_client(&base, &token, None, None)
        .get_object()
        .bucket(&token.cloud_bucket_name)
        .key("someone-else/x.jpg")
        .send()
        .await
        .unwrap_err();
    let why = refused(&mock, C::StorePathDenied);
    assert!(
        why.message.contains("may only read keys under"),
        "{}",
        why.message
    );
    // An operation DJI's STS policy does not grant.
    s3_client(&base, &token, None, None)
        .get_object_acl()
        .bucket(&token.cloud_bucket_name)
        .key(&key)
        .send()
        .await
        .unwrap_err();
    assert!(
        refused(&mock, C::AccessDenied)
            .message
            .contains("GetObjectAcl")
    );
    // Served, then a key that is not there.
    put(s3_client(&base, &token, None, None), key.clone())
        .await
        .unwrap();
    let s3 = s3_client(&base, &token, None, None);
    s3.get_object()
        .bucket(&token.cloud_bucket_name)
        .key(format!("{key}.missing"))
        .send()
        .await
        .unwrap_err();
    assert!(
        refused(&mock, C::StorageError)
            .message
            .starts_with("NoSuchKey")
    );
    // A download link past its expiry.
    let link = mock.download_url(Provider::S3, &key);
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);
    // Past the link's hour and the token's ten minutes, within the hour a session is
    // remembered after it expires.
    mock.manual_clock()
        .unwrap()
        .advance(Duration::from_secs(3600 + 60));
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 403);
    refused(&mock, C::PresignedExpired);
    // Expired credentials.
    put(s3_client(&base, &token, None, None), key.clone())
        .await
        .unwrap_err();
    refused(&mock, C::StsTokenExpired);
}

/// A clock that runs the given time behind the machine's.
#[derive(Debug)]
struct Behind(Duration);

impl aws_smithy_async::time::TimeSource for Behind {
    fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now() - self.0
    }
}

/// aws-sdk-s3 on a machine whose clock is 20 minutes slow: S3's own
/// `RequestTimeTooSkewed`, and the log says to look at the clocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_clock_twenty_minutes_slow_is_named() {
    let mock = TerraMock::builder().start().await.unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let on_time = s3_client(&mock.base_url(), &token, None, None);
    let slow = aws_sdk_s3::Client::from_conf(
        on_time
            .config()
            .to_builder()
            .time_source(Behind(Duration::from_secs(20 * 60)))
            // One attempt: the SDK would correct its clock from the answer and try again.
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build(),
    );
    let put = |s3: aws_sdk_s3::Client| {
        put_jpeg(
            s3,
            token.cloud_bucket_name.clone(),
            token.object_key("flight/DJI_0001.JPG"),
        )
    };
    let xml = body_of(&put(slow).await.unwrap_err());
    assert_eq!(tag(&xml, "Code"), "RequestTimeTooSkewed", "{xml}");
    let why = refused(&mock, C::DateOutOfWindow);
    assert!(why.message.contains("clock"), "{}", why.message);
    // On time, the same credentials and key are served.
    put(on_time).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oss_refusals_from_reqsign() {
    let mock = TerraMock::builder()
        .provider(Provider::Oss)
        .manual_clock(ManualClock::starting_now())
        .start()
        .await
        .unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let key = token.object_key("flight/DJI_0001.JPG");
    for version in [SigningVersion::V1, SigningVersion::V4] {
        let mut wrong = token.clone();
        wrong.secret_access_key = "not-the-secret".to_owned().into();
        let r = Oss::new(&mock, &wrong, version).put(&key, b"jpeg").await;
        assert_eq!(r.code(), "SignatureDoesNotMatch", "{}", r.body);
        let why = refused(&mock, C::StorageSignatureMismatch);
        // The string OSS puts in its answer is the one in the reason.
        let on_wire = tag(&r.body, "StringToSign").replace("&amp;", "&");
        let token = token.session_token.expose();
        let logged = why.signed.unwrap();
        assert!(!logged.contains(token), "{logged}");
        assert_eq!(logged, on_wire.replace(token, "***"), "{version:?}");
    }
    let oss = Oss::new(&mock, &token, SigningVersion::V4);
    let r = oss.put("elsewhere/x.jpg", b"jpeg").await;
    assert_eq!(r.status, 403, "{}", r.body);
    refused(&mock, C::StorePathDenied);
    let mut tokenless = token.clone();
    tokenless.session_token = String::new().into();
    Oss::new(&mock, &tokenless, SigningVersion::V4)
        .put(&key, b"jpeg")
        .await;
    refused(&mock, C::StsTokenMissing);
    mock.manual_clock()
        .unwrap()
        .advance(Duration::from_secs(601));
    oss.put(&key, b"jpeg").await;
    refused(&mock, C::StsTokenExpired);
}

/// A token's `expireTime` is its lifetime from now; the issue (its callback grant lives an
/// hour) is forgotten when the grant's grace hour ends, to the second.
#[tokio::test]
async fn sessions_expire_then_are_forgotten_to_the_second() {
    let mock = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .build()
        .unwrap();
    let t0 = mock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = mock.issue_token(mock.app_key()).unwrap();
    assert_eq!(
        token.expire_time,
        t0 + 600,
        "ten minutes, as the reference says"
    );
    assert_eq!(mock.sessions(mock.app_key()), 1);
    // The grant's hour and its grace hour, less a second: still kept.
    mock.advance(Duration::from_secs(3600 + 3600 - 1));
    assert_eq!(mock.sessions(mock.app_key()), 1);
    // To the second: forgotten.
    mock.advance(Duration::from_secs(1));
    assert_eq!(mock.sessions(mock.app_key()), 0);
}

/// Credentials are refused as unknown from the very second their grace ends, even before
/// any clean-up has run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_past_their_grace_are_unknown_to_the_second() {
    let clock = ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .start()
        .await
        .unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    let key = token.object_key("a.jpg");
    let put = || async {
        s3_client(&mock.base_url(), &token, None, None)
            .put_object()
            .bucket(&token.cloud_bucket_name)
            .key(&key)
            .body(ByteStream::from_static(b"jpeg"))
            .send()
            .await
    };
    // The clock moves without the emulator's periodic clean-up running.
    clock.advance(Duration::from_secs(600 + 3600 - 1));
    put().await.unwrap_err();
    refused(&mock, C::StsTokenExpired);
    clock.advance(Duration::from_secs(1));
    put().await.unwrap_err();
    refused(&mock, C::AccessKeyUnknown);
}

/// What a session uploaded and never registered is deleted once the session is forgotten;
/// what was registered stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_never_registered_go_with_their_session() {
    let mock = TerraMock::builder()
        .manual_clock(ManualClock::starting_now())
        .start()
        .await
        .unwrap();
    let api = super::common::Api::new(&mock);
    let token = mock.issue_token(mock.app_key()).unwrap();
    let s3 = s3_client(&mock.base_url(), &token, None, None);
    let mut etags = Vec::new();
    for name in ["kept.jpg", "stray.jpg"] {
        let put = s3
            .put_object()
            .bucket(&token.cloud_bucket_name)
            .key(token.object_key(name))
            .body(ByteStream::from(name.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
        etags.push(put.e_tag().unwrap().to_owned());
    }
    let resource = api
        .ok(
            "POST",
            "/resources",
            Some(serde_json::json!({"name": "r", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    api.ok(
        "POST",
        "/store/upload_callback",
        Some(
            serde_json::json!({"callbackParam": token.callback_param, "resourceUUID": resource,
            "files": [{"name": "kept.jpg", "etag": etags[0], "checksum": etags[0]}]}),
        ),
    )
    .await;
    assert_eq!(mock.object_count(), 2);
    mock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(mock.sessions(mock.app_key()), 0);
    assert_eq!(
        mock.object_count(),
        1,
        "the stray is gone, the registered file stays"
    );
}
