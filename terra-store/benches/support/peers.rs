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
    /// Starts `bin serve` on a free port (on the first core with `BENCH_PIN`).
    pub(crate) fn start(bin: &str) -> Self {
        let mut cmd = if pinned() {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", bin]);
            c
        } else {
            Command::new(bin)
        };
        let mut child = cmd
            // Its objects live in a temporary folder: on the scratch file system.
            .env("TMPDIR", scratch(&std::env::temp_dir()))
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

    /// The server's user + system CPU seconds so far.
    pub(crate) fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (tick(11) + tick(12)) / 100.0
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

/// One run of a tool: wall seconds, peak RSS (MiB), its CPU seconds (user + system, its
/// children included) and the server's CPU seconds meanwhile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub(crate) secs: f64,
    pub(crate) rss_mib: f64,
    pub(crate) cpu: f64,
    pub(crate) server_cpu: f64,
}

impl Run {
    /// Prints the run as one line of round `round` for tool `name`, `mib` moved.
    pub(crate) fn print(&self, round: usize, name: &str, mib: f64) {
        println!(
            "round {round} {name:<12} {:>7.1} MiB/s  {:>6.2} s  CPU {:>6.2} s  server CPU {:>6.2} s  peak RSS {:>6.1} MiB",
            mib / self.secs,
            self.secs,
            self.cpu,
            self.server_cpu,
            self.rss_mib
        );
    }
}

/// `BENCH_PIN=1`: the server on the first core, each tool on the second (`taskset`), so
/// that neither takes the other's core; otherwise both share the machine.
pub(crate) fn pinned() -> bool {
    env("BENCH_PIN").is_some_and(|v| v != "0")
}

/// Where the benchmarks write what they measure (the mock's objects, the downloaded
/// trees): `BENCH_SCRATCH`, else `/dev/shm` (a tmpfs) where it has 6 GiB free (a
/// container's is often 64 MiB), else `target`.
///
/// Not the project's disk by default: ext4 without a journal does not reuse an inode freed
/// in the last minute (six while its inode table is dirty: `recently_deleted`), and each
/// one skipped costs a lookup. With trees of thousands of files deleted between runs,
/// that was 56 % of a download's CPU in a profile, for every tool alike, growing from round
/// to round: it measured the file system's history, not the tools. Set
/// `BENCH_SCRATCH=target` to measure on the disk anyway.
pub(crate) fn scratch(target: &std::path::Path) -> std::path::PathBuf {
    match env("BENCH_SCRATCH") {
        Some(dir) if dir == "target" => target.to_path_buf(),
        Some(dir) => dir.into(),
        None if free_kib("/dev/shm").is_some_and(|k| k >= 6 << 20) => "/dev/shm".into(),
        None => target.to_path_buf(),
    }
}

/// The space free under `dir`, in KiB (`df`), if it can be told.
fn free_kib(dir: &str) -> Option<u64> {
    let out = Command::new("df")
        .args(["-k", "--output=avail", dir])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

/// Runs `cmd` under python, which reports its wall time, peak RSS (`ru_maxrss` of the
/// child) and CPU time: the same measure for every tool; the server's CPU time is read
/// from `/proc` around it. Panics if the tool failed.
///
/// Every run starts on a settled disk: `sync` first writes out what the runs before left
/// dirty, so that no tool pays for its predecessor's writeback.
pub(crate) fn measure(
    python: &str,
    cmd: &[String],
    envs: &[(&str, String)],
    server: &Server,
) -> Run {
    let wrapper = "import resource,subprocess,sys,time\nt=time.monotonic()\nr=subprocess.run(sys.argv[1:])\nd=time.monotonic()-t\nu=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(f'{r.returncode} {d} {u.ru_maxrss} {u.ru_utime+u.ru_stime}', file=sys.stderr)\n";
    let _ = Command::new("sync").status();
    let mut c = if pinned() {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", python]);
        c
    } else {
        Command::new(python)
    };
    let server0 = server.cpu_secs();
    let out = c
        .arg("-c")
        .arg(wrapper)
        .args(cmd)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("AWS_CA_BUNDLE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let server_cpu = server.cpu_secs() - server0;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let mut it = last.split_whitespace();
    let mut next = || it.next().and_then(|v| v.parse::<f64>().ok());
    let (code, secs, kib, cpu) = (
        next().unwrap_or(-1.0),
        next().unwrap_or(0.0),
        next().unwrap_or(0.0),
        next().unwrap_or(0.0),
    );
    assert_eq!(code, 0.0, "{} failed:\n{stderr}", cmd[0]);
    Run {
        secs,
        rss_mib: kib / 1024.0,
        cpu,
        server_cpu,
    }
}

/// Medians (wall, CPU, server CPU) and the highest peak RSS of each tool's runs, printed as
/// table rows; returns `(name, median seconds, median CPU seconds)`.
pub(crate) fn medians(results: &[(String, Vec<Run>)], total_mib: f64) -> Vec<(String, f64, f64)> {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("| tool | MiB/s | wall | CPU | server CPU | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut out = Vec::new();
    for (name, runs) in results {
        let secs = median(runs.iter().map(|r| r.secs).collect());
        let cpu = median(runs.iter().map(|r| r.cpu).collect());
        let server = median(runs.iter().map(|r| r.server_cpu).collect());
        let rss = runs.iter().map(|r| r.rss_mib).fold(0.0, f64::max);
        println!(
            "| {name} | {:.1} | {secs:.2} s | {cpu:.2} s | {server:.2} s | {rss:.1} MiB |",
            total_mib / secs,
        );
        out.push((name.clone(), secs, cpu));
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
        // The control plane takes a change only with a JSON content type (a web page
        // cannot send one without a preflight), a DELETE too.
        None => {
            http.delete(&url)
                .header("content-type", "application/json")
                .send()
                .await
        }
    }
    .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}
