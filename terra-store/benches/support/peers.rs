//! What the upload and download benchmarks share: the standalone emulator in its own
//! process, the peers' credentials, and measuring a child's wall time and peak RSS.
//! Included (`#[path]`) by `terra-store/benches/upload.rs` and
//! `terra-client/benches/download.rs`; a folder of its own, so it is not a bench target.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use terra_types::StsToken;

/// A non-empty environment variable.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A number from the environment, or `default`.
pub(crate) fn num(name: &str, default: usize) -> usize {
    env(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The tools `BENCH_SKIP` leaves out (comma-separated names).
pub(crate) fn skipped() -> Vec<String> {
    env("BENCH_SKIP")
        .map(|s| s.split(',').map(|t| t.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// The release `terra-mock` in its own process, tokens valid for a day. Dropping it stops
/// it however the benchmark ends: SIGTERM, so that it removes the gigabytes it stored;
/// SIGKILL if it has not exited after 10 s.
#[derive(Debug)]
pub(crate) struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) endpoint: String,
}

impl Server {
    /// Starts `bin serve` on a free port.
    pub(crate) fn start(bin: &str) -> Self {
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--token-lifetime",
                "86400",
                "--log",
                "error",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let endpoint = line.trim().rsplit(' ').next().unwrap().to_owned();
        Self { child, endpoint }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment the AWS-style peers (s5cmd, rclone, the AWS CLI) read the STS
/// credentials from.
pub(crate) fn aws_env(token: &StsToken) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", token.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            token.secret_access_key.expose().to_owned(),
        ),
        ("AWS_SESSION_TOKEN", token.session_token.expose().to_owned()),
        ("AWS_REGION", token.region.clone()),
        ("AWS_DEFAULT_REGION", token.region.clone()),
    ]
}

/// rclone's flags for the mock's S3 endpoint with `token`'s credentials.
pub(crate) fn rclone_s3_flags(endpoint: &str, token: &StsToken) -> Vec<String> {
    [
        "--s3-provider",
        "Other",
        "--s3-endpoint",
        endpoint,
        "--s3-access-key-id",
        &token.access_key_id,
        "--s3-secret-access-key",
        token.secret_access_key.expose(),
        "--s3-session-token",
        token.session_token.expose(),
        "--s3-region",
        &token.region,
        "--s3-force-path-style",
        "--s3-no-check-bucket",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Runs `cmd` under python, which reports its wall time and peak RSS (`ru_maxrss` of the
/// child): the same measure for every tool. Returns (seconds, MiB); panics if it failed.
pub(crate) fn measure(python: &str, cmd: &[String], envs: &[(&str, String)]) -> (f64, f64) {
    let wrapper = "import resource,subprocess,sys,time\nt=time.monotonic()\nr=subprocess.run(sys.argv[1:])\nd=time.monotonic()-t\nm=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\nprint(f'{r.returncode} {d} {m}', file=sys.stderr)\n";
    let out = Command::new(python)
        .arg("-c")
        .arg(wrapper)
        .args(cmd)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("AWS_CA_BUNDLE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let mut it = last.split_whitespace();
    let (code, secs, kib): (i32, f64, f64) = (
        it.next().and_then(|v| v.parse().ok()).unwrap_or(-1),
        it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0),
        it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0),
    );
    assert_eq!(code, 0, "{} failed:\n{stderr}", cmd[0]);
    (secs, kib / 1024.0)
}

/// Median seconds and the highest peak RSS of each tool's runs, printed as table rows;
/// returns `(name, median seconds)`.
pub(crate) fn medians(results: &[(String, Vec<(f64, f64)>)], total_mib: f64) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (name, runs) in results {
        let mut secs: Vec<f64> = runs.iter().map(|r| r.0).collect();
        secs.sort_by(f64::total_cmp);
        let med = secs[secs.len() / 2];
        let rss = runs.iter().map(|r| r.1).fold(0.0, f64::max);
        println!(
            "| {name} | {:.1} MiB/s | {:.2} s | {:.1} MiB |",
            total_mib / med,
            med,
            rss
        );
        out.push((name.clone(), med));
    }
    out
}

/// Makes the mock at `endpoint` delay every request to `bucket` by `ms` milliseconds (a
/// slow link's round trip), through its control API; `None` removes every fault rule.
pub(crate) async fn storage_latency(endpoint: &str, bucket: &str, ms: Option<usize>) {
    let http = reqwest::Client::new();
    let url = format!("{endpoint}/_terra-mock/v1/faults");
    let r = match ms {
        Some(ms) => {
            let rule = serde_json::json!({"path": format!("/{bucket}/**"), "scope": "storage",
                "fault": {"type": "delay", "ms": ms}});
            http.post(&url).json(&rule).send().await
        }
        None => http.delete(&url).send().await,
    }
    .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}
