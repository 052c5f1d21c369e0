//! One conformance suite, run against every backend: terra-mock's S3 endpoint, its OSS
//! endpoint with V4 and with V1 signatures, and (through `cargo xtask test`) moto_server
//! in auth mode, whose session tokens are real STS credentials.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{MockTokens, file};
use terra_mock::{Provider, TerraMock};
use terra_store::*;
use terra_types::StsToken;

struct Fixture {
    name: &'static str,
    provider: Arc<dyn TokenProvider>,
    backend: BackendOptions,
    /// The backend rejects parts below 5 MiB (S3) or 100 KiB (OSS) except the last.
    min_part: u64,
}

fn options(f: &Fixture) -> UploadOptions {
    UploadOptions {
        backend: f.backend.clone(),
        backoff_initial: Duration::from_millis(10),
        ..Default::default()
    }
}

async fn put_head_delete(f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let token = f.provider.token().await.unwrap();
    let backend = connect(&token, &f.backend, reqwest::Client::new()).unwrap();
    let key = token.object_key("conformance/put.bin");
    let path = file(dir.path(), "put.bin", 300_000, 1);
    let etag = backend
        .put(&key, &Source::file(&path, 300_000))
        .await
        .unwrap();
    assert!(etag.len() >= 32, "{}: {etag}", f.name);
    let info = backend.head(&key).await.unwrap().unwrap();
    assert_eq!(info.size, 300_000, "{}", f.name);
    assert_eq!(
        info.etag.trim_matches('"').to_lowercase(),
        etag.trim_matches('"').to_lowercase()
    );
    backend.delete(&key).await.unwrap();
    assert_eq!(backend.head(&key).await.unwrap(), None, "{}", f.name);
}

async fn multipart(f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let size = (f.min_part * 2 + 12_345) as usize;
    let path = file(dir.path(), "big.bin", size, 2);
    let events = Arc::new(Mutex::new(0u64));
    let sent = events.clone();
    let opts = UploadOptions {
        multipart_threshold: f.min_part,
        part_size: f.min_part,
        ..options(f)
    };
    let up = Uploader::new(f.provider.clone(), opts).on_event(move |e| {
        if let UploadEvent::Progress { bytes, .. } = e {
            *sent.lock().unwrap() += bytes;
        }
    });
    let done = up
        .upload(vec![UploadItem::new("conformance/big.bin", &path)])
        .await
        .unwrap();
    assert_eq!(done[0].size, size as u64);
    assert!(
        done[0].etag.trim_matches('"').ends_with("-3"),
        "{}: {}",
        f.name,
        done[0].etag
    );
    assert_eq!(
        *events.lock().unwrap(),
        size as u64,
        "{}: progress adds up to the size",
        f.name
    );
    let token = up.current_token().await.unwrap();
    let backend = connect(&token, &f.backend, reqwest::Client::new()).unwrap();
    assert_eq!(
        backend.head(&done[0].key).await.unwrap().unwrap().size,
        size as u64
    );
}

async fn abort(f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let token = f.provider.token().await.unwrap();
    let backend = connect(&token, &f.backend, reqwest::Client::new()).unwrap();
    let key = token.object_key("conformance/aborted.bin");
    let path = file(dir.path(), "part.bin", f.min_part as usize, 3);
    let id = backend.create_multipart(&key).await.unwrap();
    let etag = backend
        .put_part(&key, &id, 1, &Source::file(&path, f.min_part))
        .await
        .unwrap();
    assert!(!etag.is_empty());
    backend.abort_multipart(&key, &id).await.unwrap();
    // The upload is gone: aborting again says so. (Completing after an abort would say so
    // too on S3 and OSS, but moto answers that with a 500.)
    let e = backend.abort_multipart(&key, &id).await.unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::NotFound, "{}: {e}", f.name);
    assert_eq!(e.code(), Some("NoSuchUpload"));
    assert_eq!(backend.head(&key).await.unwrap(), None);
}

async fn wrong_token_refused(f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let mut token = f.provider.token().await.unwrap();
    token.session_token = terra_types::Secret::new("FwoGZXIvYXdzEBogus");
    let backend = connect(&token, &f.backend, reqwest::Client::new()).unwrap();
    let path = file(dir.path(), "x.bin", 10, 4);
    let e = backend
        .put(
            &token.object_key("conformance/x.bin"),
            &Source::file(&path, 10),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Credentials, "{}: {e}", f.name);
}

/// A clock the test moves by hand: the uploader reads it, and the tokens' claimed expiry
/// is set from it.
#[derive(Clone)]
struct TestClock(Arc<Mutex<SystemTime>>);

impl TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// Tokens that claim to expire 3 s after they are handed out (on the test's clock): the
/// uploader must refresh before using one past two thirds of its life.
struct ShortLived(Arc<dyn TokenProvider>, TestClock);

#[async_trait::async_trait]
impl TokenProvider for ShortLived {
    async fn token(&self) -> Result<StsToken, BoxError> {
        let mut t = self.0.token().await?;
        t.expire_time = self.1.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 + 3;
        Ok(t)
    }
}

async fn refresh_before_expiry(f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let refreshed = Arc::new(Mutex::new(Vec::new()));
    let r = refreshed.clone();
    let clock = TestClock(Arc::new(Mutex::new(SystemTime::now())));
    let now = clock.clone();
    let up = Uploader::new(
        Arc::new(ShortLived(f.provider.clone(), clock.clone())),
        UploadOptions {
            now: Arc::new(move || now.now()),
            ..options(f)
        },
    )
    .on_event(move |e| {
        if let UploadEvent::TokenRefreshed { prefix, .. } = e {
            r.lock().unwrap().push(prefix);
        }
    });
    let first = up
        .upload(vec![UploadItem::new(
            "a.bin",
            file(dir.path(), "a.bin", 1000, 5),
        )])
        .await
        .unwrap();
    // Past two thirds of the first token's (claimed) life; the storage's real expiry is
    // far away, so only the uploader's own rule can ask for a new one.
    clock.advance(Duration::from_millis(2200));
    let second = up
        .upload(vec![UploadItem::new(
            "b.bin",
            file(dir.path(), "b.bin", 1000, 6),
        )])
        .await
        .unwrap();
    assert_eq!(
        refreshed.lock().unwrap().len(),
        2,
        "{}: a second token after 2/3 of the first one's life",
        f.name
    );
    assert_ne!(
        first[0].token.callback_param,
        second[0].token.callback_param
    );
    assert!(second[0].key.starts_with(&second[0].token.prefix));
}

async fn suite(f: Fixture) {
    put_head_delete(&f).await;
    multipart(&f).await;
    abort(&f).await;
    wrong_token_refused(&f).await;
    refresh_before_expiry(&f).await;
}

async fn mock_fixture(provider: Provider, signing: OssSigning) -> (TerraMock, Fixture) {
    let mock = TerraMock::builder()
        .provider(provider)
        .start()
        .await
        .unwrap();
    let min_part = if provider == Provider::S3 {
        5 * 1024 * 1024
    } else {
        100 * 1024
    };
    let fixture = Fixture {
        name: match (provider, signing) {
            (Provider::S3, _) => "terra-mock S3",
            (Provider::Oss, OssSigning::V4) => "terra-mock OSS V4",
            (Provider::Oss, OssSigning::V1) => "terra-mock OSS V1",
        },
        provider: MockTokens::new(&mock),
        backend: BackendOptions {
            endpoint: Some(mock.base_url()),
            oss_signing: signing,
            ..Default::default()
        },
        min_part,
    };
    (mock, fixture)
}

#[tokio::test]
async fn terra_mock_s3() {
    let (mock, f) = mock_fixture(Provider::S3, OssSigning::V4).await;
    suite(f).await;
    mock.shutdown().await;
}

#[tokio::test]
async fn terra_mock_oss_v4() {
    let (mock, f) = mock_fixture(Provider::Oss, OssSigning::V4).await;
    suite(f).await;
    mock.shutdown().await;
}

#[tokio::test]
async fn terra_mock_oss_v1() {
    let (mock, f) = mock_fixture(Provider::Oss, OssSigning::V1).await;
    suite(f).await;
    mock.shutdown().await;
}

/// moto_server in auth mode, started by `cargo xtask test`: `TERRA_TEST_MOTO` holds
/// `<endpoint>|<credentials.json>` with role credentials from AssumeRole.
struct MotoTokens {
    creds: Vec<serde_json::Value>,
    next: Mutex<usize>,
    bucket: String,
}

#[async_trait::async_trait]
impl TokenProvider for MotoTokens {
    async fn token(&self) -> Result<StsToken, BoxError> {
        let i = {
            let mut n = self.next.lock().unwrap();
            *n += 1;
            *n - 1
        };
        let c = self
            .creds
            .get(i % self.creds.len())
            .ok_or("no moto credentials")?;
        Ok(StsToken {
            cloud_name: terra_types::CloudName::AwsS3,
            access_key_id: c["AccessKeyId"].as_str().unwrap().to_owned(),
            secret_access_key: terra_types::Secret::new(c["SecretAccessKey"].as_str().unwrap()),
            session_token: terra_types::Secret::new(c["SessionToken"].as_str().unwrap()),
            region: "us-east-1".into(),
            cloud_bucket_name: self.bucket.clone(),
            store_path: format!("moto/{i}/{{fileName}}"),
            callback_param: format!("moto-{i}"),
            expire_time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
                + 3600,
        })
    }
}

#[tokio::test]
async fn moto_server_with_real_session_tokens() {
    let Ok(spec) = std::env::var("TERRA_TEST_MOTO") else {
        // Under `cargo xtask test` and in CI a missing server is a failure, not a skip.
        let required = ["TERRA_REQUIRE_MOTO", "TERRA_REQUIRE_SERVICES", "CI"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        assert!(
            !required,
            "moto_server is required here (CI, TERRA_REQUIRE_MOTO or TERRA_REQUIRE_SERVICES is set) but TERRA_TEST_MOTO is not: run `cargo xtask test`"
        );
        eprintln!("skipped: moto_server is started by `cargo xtask test` (TERRA_TEST_MOTO unset)");
        return;
    };
    let (endpoint, creds_file) = spec
        .split_once('|')
        .expect("TERRA_TEST_MOTO=<endpoint>|<credentials.json>");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(creds_file).unwrap()).unwrap();
    let provider = MotoTokens {
        creds: doc["credentials"].as_array().unwrap().clone(),
        next: Mutex::new(0),
        bucket: doc["bucket"].as_str().unwrap().to_owned(),
    };
    suite(Fixture {
        name: "moto_server",
        provider: Arc::new(provider),
        backend: BackendOptions {
            endpoint: Some(endpoint.to_owned()),
            ..Default::default()
        },
        min_part: 5 * 1024 * 1024,
    })
    .await;
}
