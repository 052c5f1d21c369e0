//! The SDK conformance suite (`tests/sdk/`, pytest): boto3 and oss2, unmodified, against
//! the in-process harness and against the standalone binary, the same suite both times.
//! `cargo xtask test` installs boto3, oss2 and pytest into `target/xtask/sdk-venv` and
//! sets `TERRA_TEST_PYTHON`; without it the test is skipped with a message, except under
//! `cargo xtask test` or CI, where it fails.

mod common;

use std::time::Duration;

use common::Server;
use terra_mock::{AccountConfig, JobTiming, MockConfig, Provider, TerraMock};

/// The accounts both runs serve: an S3 one, one whose tokens live 4 s, an OSS one.
fn accounts() -> Vec<AccountConfig> {
    vec![
        AccountConfig::new("sdk-s3-ak", "sdk-s3-sk", Provider::S3),
        AccountConfig {
            token_lifetime_secs: Some(4),
            ..AccountConfig::new("sdk-short-ak", "sdk-short-sk", Provider::S3)
        },
        AccountConfig::new("sdk-oss-ak", "sdk-oss-sk", Provider::Oss),
    ]
}

fn config() -> MockConfig {
    MockConfig {
        accounts: accounts(),
        timing: JobTiming::default().scaled_to(Duration::from_secs(3), 10),
        ..Default::default()
    }
}

/// Runs the pytest suite against `base`; panics with its output if it fails.
fn pytest(python: &std::path::Path, base: &str, what: &str) {
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk");
    let accounts = accounts()
        .iter()
        .map(|a| {
            let p = match a.provider {
                Provider::S3 => "s3",
                Provider::Oss => "oss",
            };
            format!("{}:{}:{p}", a.app_key, a.secret)
        })
        .collect::<Vec<_>>()
        .join(",");
    let (passed, text) = common::run_pytest(
        python,
        suite,
        &[("TERRA_MOCK_URL", base), ("TERRA_MOCK_ACCOUNTS", &accounts)],
    );
    assert!(passed, "the SDK suite failed against {what}:\n{text}");
    assert!(text.contains("passed"), "{text}");
    eprintln!("{what}: {}", text.lines().last().unwrap_or(""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_oss2_against_the_in_process_harness() {
    let Some(python) = common::test_python() else {
        return;
    };
    let mock = TerraMock::builder().config(config()).start().await.unwrap();
    let base = mock.base_url();
    tokio::task::spawn_blocking(move || pytest(&python, &base, "the in-process harness"))
        .await
        .unwrap();
}

#[test]
fn boto3_and_oss2_against_the_standalone_binary() {
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mock.toml");
    std::fs::write(&path, toml::to_string(&config()).unwrap()).unwrap();
    let server = Server::start(
        4096,
        &["--log", "warn", "--config", &path.to_string_lossy()],
        &[],
    );
    pytest(&python, &server.base, "the standalone binary");
}
