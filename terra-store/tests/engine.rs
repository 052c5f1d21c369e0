//! The upload engine against terra-mock: short-lived tokens, faults in the middle of an
//! upload, expiry, cancellation, bad input.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{MockTokens, file};
use serde_json::json;
use terra_mock::{
    Clock, Fault, FaultRule, FaultScope, ManualClock, Provider, RandomFaults, TerraMock,
};
use terra_store::*;

fn opts(mock: &TerraMock) -> UploadOptions {
    UploadOptions {
        backend: BackendOptions {
            endpoint: Some(mock.base_url()),
            ..Default::default()
        },
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        ..Default::default()
    }
}

/// Registers every upload with the callbackParam of its own token; the mock refuses an
/// object that is not under that token's prefix with that ETag.
async fn register(tokens: &MockTokens, uploads: &[Uploaded]) -> usize {
    let rid = tokens
        .api(
            "POST",
            "/resources",
            Some(json!({"name": "flight", "type": "map"})),
            SystemTime::now(),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut by_token: BTreeMap<&str, Vec<&Uploaded>> = BTreeMap::new();
    for u in uploads {
        by_token.entry(&u.token.callback_param).or_default().push(u);
    }
    let mut n = 0;
    for (param, files) in by_token {
        for chunk in files.chunks(50) {
            let files: Vec<_> = chunk
                .iter()
                .map(|u| json!({"name": u.name, "etag": u.etag, "checksum": u.etag}))
                .collect();
            let r = tokens
                .api(
                    "POST",
                    "/store/upload_callback",
                    Some(json!({"callbackParam": param, "resourceUUID": rid, "files": files})),
                    SystemTime::now(),
                )
                .await;
            n += r.as_array().unwrap().len();
        }
    }
    n
}

#[tokio::test]
async fn two_second_tokens_and_200_files_every_file_under_its_own_token() {
    for provider in [Provider::S3, Provider::Oss] {
        // Mock and uploader share a manual clock; every finished file moves it on by
        // 100 ms, so the run lasts 20 s of token time (ten lifetimes) in no real time.
        let clock = ManualClock::starting_now();
        let mock = TerraMock::builder()
            .provider(provider)
            .manual_clock(clock.clone())
            .token_lifetime(Duration::from_secs(2))
            .start()
            .await
            .unwrap();
        let tokens = MockTokens::new(&mock);
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<UploadItem> = (0..200)
            .map(|i| {
                UploadItem::new(
                    format!("flight/DJI_{i:04}.JPG"),
                    file(dir.path(), &format!("{i}.jpg"), 20_000 + i, i as u8),
                )
            })
            .collect();
        let (now, tick) = (clock.clone(), clock.clone());
        let uploads = Uploader::new(
            tokens.clone(),
            UploadOptions {
                // Eight at a time, fixed: the test counts tokens per lifetime, and on a
                // manual clock throughput looks infinite, so the limit would grow to the
                // whole flight at once.
                files_in_flight: 8,
                memory_budget: 0,
                now: Arc::new(move || now.now()),
                ..opts(&mock)
            },
        )
        .on_event(move |e| {
            if let UploadEvent::Done(_) = e {
                tick.advance(Duration::from_millis(100));
            }
        })
        .upload(items)
        .await
        .unwrap();
        assert_eq!(uploads.len(), 200);
        let issued = tokens.issued();
        assert!(
            issued.len() >= 8,
            "{provider:?}: only {} tokens for a run of ten tokens' lifetimes",
            issued.len()
        );
        for u in &uploads {
            assert!(u.key.starts_with(&u.token.prefix), "{}", u.key);
            assert!(
                issued
                    .iter()
                    .any(|t| t.callback_param == u.token.callback_param
                        && t.key_prefix() == u.token.prefix)
            );
            assert_eq!(mock.object(provider, &u.key).unwrap().size, u.size);
        }
        assert_eq!(
            register(&tokens, &uploads).await,
            200,
            "{provider:?}: the service accepts every file with its token's callbackParam"
        );
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn faults_in_the_middle_of_an_upload_are_retried() {
    let mock = TerraMock::builder().start().await.unwrap();
    mock.set_random_faults(Some(RandomFaults {
        seed: 9,
        error_5xx: 0.15,
        reset: 0.1,
        too_many_requests: 0.05,
        scope: FaultScope::Storage,
        ..Default::default()
    }))
    .expect("valid random faults");
    let tokens = MockTokens::new(&mock);
    let dir = tempfile::tempdir().unwrap();
    let mut items: Vec<UploadItem> = (0..40)
        .map(|i| {
            UploadItem::new(
                format!("{i}.jpg"),
                file(dir.path(), &format!("{i}.jpg"), 50_000, i as u8),
            )
        })
        .collect();
    items.push(UploadItem::new(
        "big.bin",
        file(dir.path(), "big.bin", 12 * 1024 * 1024, 99),
    ));
    let retries = Arc::new(Mutex::new(0));
    let r = retries.clone();
    let up = Uploader::new(
        tokens.clone(),
        UploadOptions {
            multipart_threshold: 6 * 1024 * 1024,
            part_size: 5 * 1024 * 1024,
            max_attempts: 8,
            ..opts(&mock)
        },
    )
    .on_event(move |e| {
        if let UploadEvent::Retrying { .. } = e {
            *r.lock().unwrap() += 1;
        }
    });
    let uploads = up.upload(items).await.unwrap();
    mock.set_random_faults(None).expect("valid random faults");
    assert_eq!(uploads.len(), 41);
    assert!(*retries.lock().unwrap() > 0, "faults were met and retried");
    for u in &uploads {
        assert_eq!(
            mock.object(Provider::S3, &u.key).unwrap().size,
            u.size,
            "{}",
            u.name
        );
    }
    // Every multipart upload the engine learnt of and gave up was aborted. One whose
    // CreateMultipartUpload answer was lost (a fault after the mock processed it) is
    // unknown to any client; only those may remain.
    let unknowable = mock
        .requests()
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.target.contains("?uploads")
                && r.fault
                    .as_deref()
                    .is_some_and(|f| f.contains("AfterProcessing"))
        })
        .count();
    assert_eq!(
        mock.open_multipart_uploads(),
        unknowable,
        "failed multipart attempts were aborted"
    );
    assert_eq!(register(&tokens, &uploads).await, 41);
}

#[tokio::test]
async fn credentials_refused_mid_run_are_replaced() {
    for provider in [Provider::S3, Provider::Oss] {
        let mock = TerraMock::builder()
            .provider(provider)
            .start()
            .await
            .unwrap();
        let tokens = MockTokens::new(&mock);
        let dir = tempfile::tempdir().unwrap();
        let up = Uploader::new(tokens.clone(), opts(&mock));
        up.upload(vec![UploadItem::new(
            "a.jpg",
            file(dir.path(), "a", 100, 1),
        )])
        .await
        .unwrap();
        mock.expire_tokens_now();
        let b = up
            .upload(vec![UploadItem::new(
                "b.jpg",
                file(dir.path(), "b", 100, 2),
            )])
            .await
            .unwrap();
        assert_eq!(
            tokens.issued().len(),
            2,
            "{provider:?}: refreshed after ExpiredToken / SecurityTokenExpired"
        );
        assert_eq!(b[0].token.callback_param, tokens.issued()[1].callback_param);
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn cancelling_aborts_open_multipart_uploads() {
    let mock = TerraMock::builder().start().await.unwrap();
    mock.inject(
        FaultRule::on("PUT", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .fault(Fault::Delay(Duration::from_secs(30))),
    );
    let tokens = MockTokens::new(&mock);
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let up = Uploader::new(
        tokens,
        UploadOptions {
            multipart_threshold: 6 * 1024 * 1024,
            part_size: 5 * 1024 * 1024,
            cancel: Some(cancel.clone()),
            ..opts(&mock)
        },
    );
    let task = tokio::spawn({
        let item = UploadItem::new("big.bin", file(dir.path(), "big.bin", 12 * 1024 * 1024, 7));
        async move { up.upload(vec![item]).await }
    });
    while mock.open_multipart_uploads() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel.cancel();
    let e = task.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Cancelled);
    mock.clear_faults();
    for _ in 0..200 {
        if mock.open_multipart_uploads() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        mock.open_multipart_uploads(),
        0,
        "the dropped upload was aborted"
    );
    mock.shutdown().await;
}

/// Creates whose answers are lost (made by the storage, then a reset or a 500 instead of
/// the answer) leave nothing open: the engine finds the uploads it began and aborts them.
#[tokio::test]
async fn multipart_uploads_whose_create_answer_was_lost_are_aborted() {
    for provider in [Provider::S3, Provider::Oss] {
        let mock = TerraMock::builder()
            .provider(provider)
            .start()
            .await
            .unwrap();
        // Every POST of these objects: creates first (and, later, completes).
        for fault in [
            Fault::ResetAfterProcessing,
            Fault::StatusAfterProcessing { status: 500 },
        ] {
            mock.inject(
                FaultRule::on("POST", "/**/part-*.las")
                    .scope(FaultScope::Storage)
                    .times(3)
                    .fault(fault),
            );
        }
        let tokens = MockTokens::new(&mock);
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<UploadItem> = (0..4)
            .map(|i| {
                let name = format!("part-{i}.las");
                UploadItem::new(&name, file(dir.path(), &name, 6 * 1024 * 1024, i as u8))
            })
            .collect();
        let strays = Arc::new(Mutex::new(Vec::new()));
        let seen = strays.clone();
        let up = Uploader::new(
            tokens.clone(),
            UploadOptions {
                multipart_threshold: 5 * 1024 * 1024,
                part_size: 5 * 1024 * 1024,
                max_attempts: 8,
                ..opts(&mock)
            },
        )
        .on_event(move |e| {
            if let UploadEvent::StrayAborted { key, .. } = e {
                seen.lock().unwrap().push(key);
            }
        });
        let done = up.upload(items).await.unwrap();
        assert_eq!(done.len(), 4, "{provider:?}");
        let lost = mock
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && !r.is_api() && r.status != 200)
            .count();
        assert!(lost >= 6, "{provider:?}: the faults were met ({lost})");
        assert_eq!(
            mock.open_multipart_uploads(),
            0,
            "{provider:?}: no upload left open (strays aborted: {:?})",
            strays.lock().unwrap()
        );
        assert!(
            !strays.lock().unwrap().is_empty(),
            "{provider:?}: each abort was reported"
        );
        assert_eq!(register(&tokens, &done).await, 4, "{provider:?}");
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn a_missing_file_is_a_clear_error() {
    let mock = TerraMock::builder().start().await.unwrap();
    let up = Uploader::new(MockTokens::new(&mock), opts(&mock));
    let e = up
        .upload(vec![UploadItem::new("gone.jpg", "/nonexistent/gone.jpg")])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Io);
    assert!(
        e.to_string().contains("/nonexistent/gone.jpg")
            && e.to_string().contains("cannot read the file"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let e = up
        .upload(vec![UploadItem::new("dir", dir.path())])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

/// Hands out real tokens with an unknown session token: every storage request is refused
/// as a bad token, which new credentials would normally cure.
struct UnknownSession(Arc<MockTokens>);

#[async_trait::async_trait]
impl TokenProvider for UnknownSession {
    async fn token(&self) -> std::result::Result<terra_types::StsToken, BoxError> {
        let mut t = self.0.token().await?;
        t.session_token = terra_types::Secret::new("no-such-session");
        Ok(t)
    }
}

#[tokio::test]
async fn credentials_refused_every_time_end_after_max_token_refreshes() {
    for provider in [Provider::S3, Provider::Oss] {
        let mock = TerraMock::builder()
            .provider(provider)
            .start()
            .await
            .unwrap();
        let tokens = MockTokens::new(&mock);
        let dir = tempfile::tempdir().unwrap();
        let up = Uploader::new(
            Arc::new(UnknownSession(tokens.clone())),
            UploadOptions {
                max_token_refreshes: 3,
                max_attempts: 20,
                ..opts(&mock)
            },
        );
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            up.upload(vec![UploadItem::new(
                "a.jpg",
                file(dir.path(), "a", 100, 1),
            )]),
        )
        .await
        .expect("the engine gives up instead of looping")
        .unwrap_err();
        assert_eq!(
            err.kind(),
            StoreErrorKind::Credentials,
            "{provider:?}: {err}"
        );
        assert_eq!(
            tokens.issued().len(),
            4,
            "{provider:?}: the first token and 3 refreshes, no more"
        );
        assert_eq!(mock.object_count(), 0);
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn a_retried_upload_rewinds_what_it_reported() {
    let mock = TerraMock::builder().start().await.unwrap();
    // The body is read, then the answer is a 500: everything sent must be sent again.
    mock.inject(
        FaultRule::on("PUT", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .times(1)
            .fault(Fault::StatusAfterProcessing { status: 500 }),
    );
    let tokens = MockTokens::new(&mock);
    let dir = tempfile::tempdir().unwrap();
    let size = 300_000u64;
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    let up = Uploader::new(tokens.clone(), opts(&mock)).on_event(move |ev| {
        e.lock().unwrap().push(ev);
    });
    let done = up
        .upload(vec![UploadItem::new(
            "a.jpg",
            file(dir.path(), "a", size as usize, 3),
        )])
        .await
        .unwrap();
    assert_eq!(mock.object(Provider::S3, &done[0].key).unwrap().size, size);
    let events = events.lock().unwrap();
    let (mut sent, mut rewound, mut retries) = (0u64, 0u64, 0);
    for ev in events.iter() {
        match ev {
            UploadEvent::Progress { bytes, .. } => sent += bytes,
            UploadEvent::Retrying {
                rewound: r,
                attempt,
                ..
            } => {
                assert_eq!(*attempt, 2);
                assert_eq!(*r, size, "the whole first attempt is rewound");
                rewound += r;
                retries += 1;
            }
            _ => {}
        }
    }
    assert_eq!(retries, 1);
    assert_eq!(sent, 2 * size, "the body was sent twice");
    assert_eq!(
        sent - rewound,
        size,
        "a progress bar ends at the file's size"
    );
}

/// Backoff waits go through `UploadOptions::sleep`: a retry with a 30 s backoff completes
/// without waiting 30 s when the injected sleep makes the time pass at once, and the
/// injected sleep saw the delay.
#[tokio::test]
async fn backoff_sleeps_through_the_injected_sleep() {
    let mock = TerraMock::builder().start().await.unwrap();
    mock.inject(
        FaultRule::on("PUT", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .times(1)
            .fault(Fault::Status {
                status: 503,
                retry_after: None,
            }),
    );
    let tokens = MockTokens::new(&mock);
    let dir = tempfile::tempdir().unwrap();
    let slept = Arc::new(Mutex::new(Vec::new()));
    let s = slept.clone();
    let up = Uploader::new(
        tokens.clone(),
        UploadOptions {
            backoff_initial: Duration::from_secs(30),
            backoff_max: Duration::from_secs(60),
            sleep: Arc::new(move |d| {
                s.lock().unwrap().push(d);
                Box::pin(async {})
            }),
            ..opts(&mock)
        },
    );
    let done = tokio::time::timeout(
        Duration::from_secs(20),
        up.upload(vec![UploadItem::new(
            "a.jpg",
            file(dir.path(), "a", 1000, 9),
        )]),
    )
    .await
    .expect("no real 30 s wait")
    .unwrap();
    assert_eq!(done.len(), 1);
    let slept = slept.lock().unwrap();
    assert_eq!(slept.len(), 1, "one retry, one backoff");
    assert!(slept[0] >= Duration::from_secs(30), "{:?}", slept[0]);
}

/// Peak number of files in flight during an upload of `n` small files, from the engine's
/// own events.
async fn peak_in_flight(mock: &TerraMock, n: usize, opts: UploadOptions) -> usize {
    let tokens = MockTokens::new(mock);
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<UploadItem> = (0..n)
        .map(|i| {
            UploadItem::new(
                format!("flight/DJI_{i:04}.JPG"),
                file(dir.path(), &format!("{i}.jpg"), 2_000, i as u8),
            )
        })
        .collect();
    let state = Arc::new(Mutex::new((0usize, 0usize)));
    let s = state.clone();
    let done = Uploader::new(tokens, opts)
        .on_event(move |e| {
            let mut s = s.lock().unwrap();
            match e {
                UploadEvent::Started { .. } => {
                    s.0 += 1;
                    s.1 = s.1.max(s.0);
                }
                UploadEvent::Done(_) | UploadEvent::Failed { .. } => s.0 -= 1,
                _ => {}
            }
        })
        .upload(items)
        .await
        .unwrap();
    assert_eq!(done.len(), n);
    state.lock().unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_link_gets_more_files_in_flight_and_throttling_fewer() {
    let mock = TerraMock::start().await.unwrap();
    // A 30 ms round trip to the bucket: 8 files at a time would cap the rate at 270/s.
    mock.inject(
        FaultRule::any()
            .scope(FaultScope::Storage)
            .fault(Fault::Delay(Duration::from_millis(30))),
    );
    let adaptive = peak_in_flight(&mock, 600, opts(&mock)).await;
    assert!(adaptive >= 64, "grew to {adaptive} files in flight");
    let fixed = peak_in_flight(
        &mock,
        200,
        UploadOptions {
            memory_budget: 0,
            ..opts(&mock)
        },
    )
    .await;
    assert_eq!(fixed, 8, "a budget of 0 keeps the starting number");
    // The budget bounds the growth: 2 MiB holds 8 requests of 256 KiB.
    let small_budget = peak_in_flight(
        &mock,
        300,
        UploadOptions {
            memory_budget: 2 * 1024 * 1024,
            files_in_flight: 2,
            requests_in_flight: 2,
            ..opts(&mock)
        },
    )
    .await;
    assert!(small_budget <= 8, "{small_budget} files in flight");
    // The same link, and three storage requests in ten fail with a 5xx (random faults
    // only: a scripted rule, the delay above, would win over them).
    mock.clear_faults();
    mock.set_random_faults(Some(RandomFaults {
        seed: 3,
        error_5xx: 0.3,
        latency: 0.7,
        latency_ms: 30,
        scope: FaultScope::Storage,
        ..Default::default()
    }))
    .unwrap();
    let throttled = peak_in_flight(
        &mock,
        150,
        UploadOptions {
            max_attempts: 30,
            ..opts(&mock)
        },
    )
    .await;
    assert!(
        throttled < adaptive,
        "{throttled} with 503s against {adaptive}"
    );
}
