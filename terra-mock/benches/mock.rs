//! `cargo xtask bench mock` (or `cargo bench -p terra-mock --bench mock`):
//!
//! 1. signed `GET /v2/jobs/{uuid}` per second against the in-process mock over loopback,
//!    64 concurrent connections, 5 s (client and server share the machine's cores);
//! 2. resident memory of the state with 100 000 jobs, then with 1 000 000 files more.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use terra_mock::TerraMock;
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn throughput(connections: usize, duration: Duration) {
    let mock = TerraMock::start().await.expect("start mock");
    let creds = Credentials::new(mock.app_key(), mock.secret());
    let base = mock.base_url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let target = "/terra-rescon-be/v2/jobs";
    let body = serde_json::to_vec(&json!({"name": "bench"})).unwrap();
    let s = sign(
        &SignableRequest::new("POST", target, &body),
        &creds,
        &SigningParams::new(SystemTime::now()),
    );
    let mut req = client.post(format!("{base}{target}")).body(body);
    for (n, v) in s.headers() {
        req = req.header(n, v);
    }
    let created: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    let job = created["data"]["uuid"].as_str().unwrap().to_owned();
    let target = Arc::new(format!("/terra-rescon-be/v2/jobs/{job}"));

    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, creds, base, target, done, errors) = (
            client.clone(),
            creds.clone(),
            base.clone(),
            target.clone(),
            done.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < duration {
                let s = sign(
                    &SignableRequest::new("GET", &target, b""),
                    &creds,
                    &SigningParams::new(SystemTime::now()),
                );
                let mut req = client.get(format!("{base}{target}"));
                for (n, v) in s.headers() {
                    req = req.header(n, v);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!(
        "signed GET /v2/jobs/{{uuid}}: {n} requests in {secs:.1} s with {connections} connections = {:.0} req/s ({} errors)",
        n as f64 / secs,
        errors.load(Ordering::Relaxed)
    );
    mock.shutdown().await;
}

fn memory() {
    let mock = TerraMock::builder().build().expect("mock");
    let base = rss_kib();
    mock.populate(mock.app_key(), 100_000, 0);
    let jobs = rss_kib();
    println!(
        "memory: 100 000 jobs: {:.1} MiB resident ({:.0} bytes per job)",
        (jobs - base) as f64 / 1024.0,
        (jobs - base) as f64 * 1024.0 / 100_000.0
    );
    mock.populate(mock.app_key(), 0, 1_000_000);
    let files = rss_kib();
    println!(
        "memory: + 1 000 000 files: {:.1} MiB resident ({:.0} bytes per file); total state {:.1} MiB",
        (files - jobs) as f64 / 1024.0,
        (files - jobs) as f64 * 1024.0 / 1_000_000.0,
        (files - base) as f64 / 1024.0
    );
    let stats = mock.stats(mock.app_key());
    assert_eq!((stats.jobs, stats.files), (100_000, 1_000_000));
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(throughput(64, Duration::from_secs(5)));
    memory();
}
