//! `cargo xtask bench mock` (or `cargo bench -p terra-mock --bench mock` with
//! `TERRA_MOCK_BIN` set to a release `terra-mock`):
//!
//! 1. `list`: `GET /v2/jobs?rows=10` with 100 000 jobs in the account, 64 connections,
//!    plus a 65th connection reading another account's job (is it slowed down?);
//! 2. `mixed`: a workload of tokens, creates, uploads, callbacks, lists, gets and deletes
//!    (deletes balancing creates) at 64 connections over four accounts, with p50 and p99;
//! 3. `presigned`: presigned GET of a small object, terra-mock and moto_server side by side
//!    (`BENCH_MOTO` names a `moto_server`; xtask installs it);
//! 4. `multipart`: server CPU seconds per GiB for two 1 GiB files uploaded in 16 MiB parts
//!    against the same bytes in 8 MiB single PUTs;
//! 5. `soak`: the mixed workload for 60 s, server RSS sampled every 5 s;
//! 6. `memory`: resident memory of 100 000 jobs and 1 000 000 files (in process).
//!
//! The server is the standalone binary in its own process, so its CPU time and memory are
//! its own; the load generator is a minimal HTTP/1.1 client (keep-alive, no pipelining) so
//! that it leaves the cores to the server. `BENCH_ONLY=list,mixed,...` runs a subset;
//! `BENCH_SECONDS` changes the 5 s of each throughput run; `BENCH_PERSIST=1` runs the
//! server with `--data-dir` (state in SQLite).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use hmac::{KeyInit, Mac};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use terra_mock::TerraMock;
use terra_mock::storage::presign::{encode_key, uri_encode};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_types::StsToken;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 64;
const ACCOUNTS: [(&str, &str); 4] = [
    ("bench-a", "bench-a-sk"),
    ("bench-b", "bench-b-sk"),
    ("bench-c", "bench-c-sk"),
    ("bench-d", "bench-d-sk"),
];

// ---- the server ---------------------------------------------------------------------

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary; `settings` are top-level TOML settings for its config.
    fn start(settings: &str) -> Self {
        let bin = std::env::var("TERRA_MOCK_BIN")
            .expect("set TERRA_MOCK_BIN to a release terra-mock (cargo xtask bench mock does)");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bench.toml");
        let mut toml = format!("{settings}\n");
        for (ak, sk) in ACCOUNTS {
            toml.push_str(&format!(
                "[[accounts]]\napp_key = \"{ak}\"\nsecret = \"{sk}\"\nprovider = \"s3\"\n\n"
            ));
        }
        std::fs::write(&config, toml).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log",
            "error",
            "--config",
        ])
        .arg(&config);
        if std::env::var_os("BENCH_PERSIST").is_some() {
            cmd.arg("--data-dir").arg(dir.path().join("state"));
        }
        let mut child = cmd
            .env("TMPDIR", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().rsplit(' ').next().unwrap();
        let addr = base.trim_start_matches("http://").to_owned();
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    fn proc_status(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn rss_mib(&self) -> f64 {
        self.proc_status("VmRSS:") as f64 / 1024.0
    }

    /// User + system CPU seconds of the server process.
    fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

// ---- a minimal HTTP/1.1 client ------------------------------------------------------

struct Conn {
    io: tokio::io::BufReader<TcpStream>,
    host: String,
    /// The server said it closes the connection after this response (HTTP/1.0 servers
    /// such as moto's): the next request reconnects.
    closed: bool,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Conn {
    async fn open(addr: &str) -> Self {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        Self {
            io: tokio::io::BufReader::with_capacity(64 * 1024, s),
            host: addr.to_owned(),
            closed: false,
        }
    }

    async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        if self.closed {
            *self = Self::open(&self.host.clone()).await;
        }
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
            self.host,
            body.len()
        );
        for (n, v) in headers {
            req.push_str(n);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let w = self.io.get_mut();
        if body.len() < 16 * 1024 {
            let mut all = req.into_bytes();
            all.extend_from_slice(body);
            w.write_all(&all).await?;
        } else {
            w.write_all(req.as_bytes()).await?;
            w.write_all(body).await?;
        }
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut len = None;
        let mut close = line.starts_with("HTTP/1.0");
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().ok();
                } else if n.eq_ignore_ascii_case("connection") {
                    close = v.trim().eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = Vec::new();
        match (method, len) {
            ("HEAD", _) => {}
            (_, Some(n)) => {
                body.resize(n, 0);
                self.io.read_exact(&mut body).await?;
            }
            (_, None) => {
                self.io.read_to_end(&mut body).await?;
                close = true;
            }
        }
        self.closed = close;
        Ok(Reply { status, body })
    }
}

/// Signs an API request as the gateway wants it.
fn api_headers(
    ak: &str,
    sk: &str,
    method: &str,
    target: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let s = sign(
        &SignableRequest::new(method, target, body),
        &Credentials::new(ak, sk),
        &SigningParams::new(SystemTime::now()),
    );
    let mut h: Vec<(String, String)> = s
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    h.push(("content-type".into(), "application/json".into()));
    h.push(("return-detail".into(), "true".into()));
    h
}

async fn api(
    c: &mut Conn,
    ak: &str,
    sk: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> std::io::Result<Reply> {
    let target = format!("/terra-rescon-be/v2{path}");
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let h = api_headers(ak, sk, method, &target, &bytes);
    c.send(method, &target, &h, &bytes).await
}

fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// SigV4 headers (UNSIGNED-PAYLOAD) for an S3 request with STS credentials.
fn sigv4(
    token: &StsToken,
    host: &str,
    method: &str,
    path: &str,
    query: &str,
) -> Vec<(String, String)> {
    let now = terra_types::time::format_rfc3339(SystemTime::now()).replace(['-', ':'], "");
    let (date, stamp) = (&now[..8], now.as_str());
    let tok = token.session_token.expose();
    let signed = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
    let canonical = format!(
        "{method}\n{path}\n{query}\nhost:{host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{stamp}\nx-amz-security-token:{tok}\n\n{signed}\nUNSIGNED-PAYLOAD"
    );
    let scope = format!("{date}/{}/s3/aws4_request", token.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut k = hmac256(
        format!("AWS4{}", token.secret_access_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    for part in [token.region.as_str(), "s3", "aws4_request"] {
        k = hmac256(&k, part.as_bytes());
    }
    let sig = hex::encode(hmac256(&k, to_sign.as_bytes()));
    vec![
        ("x-amz-date".into(), stamp.to_owned()),
        ("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()),
        ("x-amz-security-token".into(), tok.to_owned()),
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={sig}",
                token.access_key_id
            ),
        ),
    ]
}

// ---- measuring ----------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
}

fn report(what: &str, tallies: Vec<Tally>, secs: f64) -> f64 {
    let mut all: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let rate = all.len() as f64 / secs;
    println!(
        "{what}: {:.0} req/s ({} requests in {secs:.1} s), p50 {:.2} ms, p99 {:.2} ms, {errors} errors",
        rate,
        all.len(),
        pct(0.5),
        pct(0.99)
    );
    rate
}

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    )
}

// ---- 1. a page of a big list ------------------------------------------------------------

async fn create_jobs(addr: &str, (ak, sk): (&str, &str), n: usize) -> String {
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (addr, done) = (addr.to_owned(), done.clone());
        let (ak, sk) = (ak.to_owned(), sk.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut last = String::new();
            while done.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let r = api(
                    &mut c,
                    &ak,
                    &sk,
                    "POST",
                    "/jobs",
                    Some(json!({"name": "bench job"})),
                )
                .await
                .unwrap();
                last = r.json()["data"]["uuid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
            }
            last
        }));
    }
    let mut last = String::new();
    for t in tasks {
        let l = t.await.unwrap();
        if !l.is_empty() {
            last = l;
        }
    }
    last
}

async fn list(server: &Server) {
    let started = Instant::now();
    create_jobs(&server.addr, ACCOUNTS[0], 100_000).await;
    let other_job = create_jobs(&server.addr, ACCOUNTS[1], 1).await;
    println!(
        "list: 100 000 jobs created through the API in {:.1} s; server RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        server.rss_mib()
    );
    let duration = seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..=CONNECTIONS {
        let addr = server.addr.clone();
        let other_job = other_job.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut t = Tally::default();
            // The last connection is another account's, reading one job.
            let (ak, sk, target) = if i == CONNECTIONS {
                (
                    ACCOUNTS[1].0,
                    ACCOUNTS[1].1,
                    format!("/terra-rescon-be/v2/jobs/{other_job}"),
                )
            } else {
                (
                    ACCOUNTS[0].0,
                    ACCOUNTS[0].1,
                    "/terra-rescon-be/v2/jobs?rows=10".to_owned(),
                )
            };
            // Kong accepts a signature for 300 s: sign once, replay.
            let h = api_headers(ak, sk, "GET", &target, b"");
            while start.elapsed() < duration {
                let t0 = Instant::now();
                match c.send("GET", &target, &h, b"").await {
                    Ok(r) if r.status == 200 && r.body.starts_with(b"{\"result\":{\"code\":0") => {
                        t.latencies_us.push(t0.elapsed().as_micros() as u32)
                    }
                    _ => t.errors += 1,
                }
            }
            t
        }));
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    let other = tallies.pop().unwrap();
    report(
        &format!("list: GET /v2/jobs?rows=10 (100 000 jobs), {CONNECTIONS} connections"),
        tallies,
        secs,
    );
    report(
        "list: meanwhile, another account's GET /v2/jobs/{uuid} (1 connection)",
        vec![other],
        secs,
    );
}

// ---- 2. the mixed workload ----------------------------------------------------------------

/// One round of a client's life: token, resource, an upload, its callback, lists and
/// gets, a job, then deleting the job and the resource with its files. 13 requests.
async fn round(
    c: &mut Conn,
    ak: &str,
    sk: &str,
    body: &[u8],
    etag: &str,
    t: &mut Tally,
) -> std::io::Result<()> {
    let timed = |r: std::io::Result<Reply>, t0: Instant, t: &mut Tally| -> std::io::Result<Reply> {
        match r {
            Ok(r) if r.status < 300 => {
                t.latencies_us.push(t0.elapsed().as_micros() as u32);
                Ok(r)
            }
            Ok(r) => {
                t.errors += 1;
                Err(std::io::Error::other(format!(
                    "status {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                )))
            }
            Err(e) => {
                t.errors += 1;
                Err(e)
            }
        }
    };
    macro_rules! call {
        ($m:expr, $p:expr, $b:expr) => {{
            let t0 = Instant::now();
            let r = api(c, ak, sk, $m, $p, $b).await;
            timed(r, t0, t)?
        }};
    }
    let token: StsToken =
        serde_json::from_value(call!("POST", "/store/obtain_token", None).json()["data"].clone())
            .map_err(std::io::Error::other)?;
    let rid = call!(
        "POST",
        "/resources",
        Some(json!({"name": "mixed", "type": "map"}))
    )
    .json()["data"]["uuid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = token.object_key("DJI_0001.JPG");
    let path = format!("/{}/{}", token.cloud_bucket_name, encode_key(&key));
    let h = sigv4(&token, &c.host.clone(), "PUT", &path, "");
    let t0 = Instant::now();
    let r = c.send("PUT", &path, &h, body).await;
    timed(r, t0, t)?;
    call!(
        "POST",
        "/store/upload_callback",
        Some(
            json!({"callbackParam": token.callback_param, "resourceUUID": rid,
            "files": [{"name": "DJI_0001.JPG", "etag": etag, "checksum": etag}]})
        )
    );
    call!("GET", &format!("/resources/{rid}"), None);
    call!("GET", &format!("/files?rows=10&resourceUuid={rid}"), None);
    call!("GET", "/resources?rows=10", None);
    let job = call!("POST", "/jobs", Some(json!({"name": "mixed"}))).json()["data"]["uuid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    call!("GET", &format!("/jobs/{job}"), None);
    call!("GET", "/jobs?rows=10", None);
    let h = sigv4(&token, &c.host.clone(), "HEAD", &path, "");
    let t0 = Instant::now();
    let r = c.send("HEAD", &path, &h, b"").await;
    timed(r, t0, t)?;
    call!("DELETE", &format!("/jobs/{job}"), None);
    call!("DELETE", &format!("/resources/{rid}?deleteMode=1"), None);
    Ok(())
}

/// Runs the mixed workload on `CONNECTIONS` connections for `duration`, calling `sample`
/// every 5 s; returns the tallies.
async fn mixed_for(server: &Server, duration: Duration, sample: impl Fn(f64)) -> (Vec<Tally>, f64) {
    let body: Arc<Vec<u8>> = Arc::new((0..16 * 1024).map(|i| (i % 251) as u8).collect());
    let etag = format!("\"{}\"", hex::encode(Md5::digest(body.as_slice())));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let (addr, body, etag) = (server.addr.clone(), body.clone(), etag.clone());
        let (ak, sk) = ACCOUNTS[i % ACCOUNTS.len()];
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut t = Tally::default();
            while start.elapsed() < duration {
                if round(&mut c, ak, sk, &body, &etag, &mut t).await.is_err() {
                    c = Conn::open(&addr).await;
                }
            }
            t
        }));
    }
    let mut next = Duration::from_secs(5);
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if start.elapsed() >= next {
            sample(next.as_secs_f64());
            next += Duration::from_secs(5);
        }
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    (tallies, start.elapsed().as_secs_f64())
}

async fn mixed(server: &Server) {
    let (tallies, secs) = mixed_for(server, seconds(), |_| {}).await;
    report(
        &format!(
            "mixed: tokens, creates, upload, callback, lists, gets, deletes; {CONNECTIONS} connections, 4 accounts"
        ),
        tallies,
        secs,
    );
    println!("mixed: server RSS after {:.1} MiB", server.rss_mib());
}

async fn soak(server: &Server) {
    // Warm up first: sessions reach their expiry turnover and the allocator its arenas'
    // high-water marks (glibc never gives those back); the 60 s after are measured.
    let warm = Duration::from_secs(20);
    let (tallies, secs) = mixed_for(server, warm, |_| {}).await;
    let rate = tallies.iter().map(|t| t.latencies_us.len()).sum::<usize>() as f64 / secs;
    println!(
        "soak: 20 s warm-up at {rate:.0} req/s, RSS {:.1} MiB (a cold start reaches the same level after 10 to 35 s)",
        server.rss_mib()
    );
    let samples = std::sync::Mutex::new(Vec::new());
    let soak_secs = std::env::var("BENCH_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let (tallies, secs) = mixed_for(server, Duration::from_secs(soak_secs), |at| {
        let rss = server.rss_mib();
        println!("soak: {at:>4.0} s  RSS {rss:.1} MiB");
        samples.lock().unwrap().push((at, rss));
    })
    .await;
    report(
        &format!("soak: mixed workload, {soak_secs} s"),
        tallies,
        secs,
    );
    let samples = samples.into_inner().unwrap();
    let at10 = samples
        .iter()
        .find(|(t, _)| *t >= 10.0)
        .map(|s| s.1)
        .unwrap_or(0.0);
    let last = samples.last().map(|s| s.1).unwrap_or(0.0);
    println!(
        "soak: last sample {last:.1} MiB vs {at10:.1} MiB at 10 s: {:+.1} % ({})",
        (last / at10 - 1.0) * 100.0,
        if last <= at10 * 1.2 {
            "within 20 %"
        } else {
            "RISING"
        }
    );
}

// ---- 3. presigned GET, beside moto ---------------------------------------------------------

async fn get_loop(addr: &str, target: &str, headers: Vec<(String, String)>) -> (Vec<Tally>, f64) {
    let duration = seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (addr, target, headers) = (addr.to_owned(), target.to_owned(), headers.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut t = Tally::default();
            while start.elapsed() < duration {
                let t0 = Instant::now();
                match c.send("GET", &target, &headers, b"").await {
                    Ok(r) if r.status == 200 && r.body.len() == 1024 => {
                        t.latencies_us.push(t0.elapsed().as_micros() as u32)
                    }
                    Ok(_) => t.errors += 1,
                    Err(_) => {
                        t.errors += 1;
                        c = Conn::open(&addr).await;
                    }
                }
            }
            t
        }));
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    (tallies, start.elapsed().as_secs_f64())
}

async fn presigned(server: &Server) {
    let (ak, sk) = ACCOUNTS[2];
    let mut c = Conn::open(&server.addr).await;
    let token: StsToken = serde_json::from_value(
        api(&mut c, ak, sk, "POST", "/store/obtain_token", None)
            .await
            .unwrap()
            .json()["data"]
            .clone(),
    )
    .unwrap();
    let body = vec![b'x'; 1024];
    let key = token.object_key("small.jpg");
    let path = format!("/{}/{}", token.cloud_bucket_name, encode_key(&key));
    let h = sigv4(&token, &server.addr, "PUT", &path, "");
    assert_eq!(c.send("PUT", &path, &h, &body).await.unwrap().status, 200);
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
    let rid = api(
        &mut c,
        ak,
        sk,
        "POST",
        "/resources",
        Some(json!({"name": "p", "type": "map"})),
    )
    .await
    .unwrap()
    .json()["data"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let files = api(&mut c, ak, sk, "POST", "/store/upload_callback", Some(json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": [{"name": "small.jpg", "etag": etag, "checksum": etag}]}))).await.unwrap().json();
    let file = files["data"][0]["uuid"].as_str().unwrap().to_owned();
    let url = api(&mut c, ak, sk, "GET", &format!("/files/{file}"), None)
        .await
        .unwrap()
        .json()["data"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = url.split_once(&server.addr).unwrap().1.to_owned();
    let (t, secs) = get_loop(&server.addr, &target, Vec::new()).await;
    report(
        &format!(
            "presigned: terra-mock, presigned GET of a 1 KiB object, {CONNECTIONS} connections"
        ),
        t,
        secs,
    );

    let Some(moto) = std::env::var_os("BENCH_MOTO") else {
        println!(
            "presigned: moto_server not measured (set BENCH_MOTO; cargo xtask bench mock does)"
        );
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err()
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c = Conn::open(&addr).await;
    // moto's default mode takes any signature: a bucket, an object, then the same
    // presigned-style GET (SigV4 query parameters) as the mock's links.
    assert_eq!(c.send("PUT", "/bench", &[], b"").await.unwrap().status, 200);
    assert_eq!(
        c.send("PUT", "/bench/small.jpg", &[], &body)
            .await
            .unwrap()
            .status,
        200
    );
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let moto_target = format!("/bench/small.jpg?{query}");
    let (t, secs) = get_loop(&addr, &moto_target, Vec::new()).await;
    report(
        &format!(
            "presigned: moto_server {}, the same GET, {CONNECTIONS} connections",
            moto_version()
        ),
        t,
        secs,
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn moto_version() -> String {
    std::env::var("BENCH_MOTO_VERSION").unwrap_or_default()
}

async fn obtain(c: &mut Conn, ak: &str, sk: &str) -> StsToken {
    let r = api(c, ak, sk, "POST", "/store/obtain_token", None)
        .await
        .unwrap();
    serde_json::from_value(r.json()["data"].clone()).unwrap()
}

// ---- 4. multipart ingest ----------------------------------------------------------------------

/// Uploads 2 GiB as 8 MiB single PUTs; returns (server CPU seconds, wall seconds).
async fn single_puts(
    server: &Server,
    c: &mut Conn,
    t: &StsToken,
    chunk: &[u8],
    round: u32,
) -> (f64, f64) {
    let cpu0 = server.cpu_secs();
    let wall = Instant::now();
    for i in 0..(2 << 30) / chunk.len() {
        let key = t.object_key(&format!("single-{round}/{i}.bin"));
        let path = format!("/{}/{}", t.cloud_bucket_name, encode_key(&key));
        let h = sigv4(t, &server.addr, "PUT", &path, "");
        assert_eq!(c.send("PUT", &path, &h, chunk).await.unwrap().status, 200);
    }
    (server.cpu_secs() - cpu0, wall.elapsed().as_secs_f64())
}

/// Uploads two 1 GiB files in 16 MiB parts; returns (server CPU seconds, wall seconds).
async fn multipart_uploads(
    server: &Server,
    c: &mut Conn,
    t: &StsToken,
    part: &[u8],
    round: u32,
) -> (f64, f64) {
    let etag = format!("\"{}\"", hex::encode(Md5::digest(part)));
    let cpu0 = server.cpu_secs();
    let wall = Instant::now();
    for f in 0..2 {
        let key = t.object_key(&format!("multi-{round}/{f}.las"));
        let path = format!("/{}/{}", t.cloud_bucket_name, encode_key(&key));
        let h = sigv4(t, &server.addr, "POST", &path, "uploads=");
        let r = c
            .send("POST", &format!("{path}?uploads"), &h, b"")
            .await
            .unwrap();
        let xml = String::from_utf8_lossy(&r.body).into_owned();
        let id = xml
            .split("<UploadId>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        let mut listed = String::from("<CompleteMultipartUpload>");
        for n in 1..=(1 << 30) / part.len() {
            let q = format!("partNumber={n}&uploadId={}", uri_encode(&id));
            let h = sigv4(t, &server.addr, "PUT", &path, &q);
            let r = c
                .send("PUT", &format!("{path}?{q}"), &h, part)
                .await
                .unwrap();
            assert_eq!(r.status, 200);
            listed.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        listed.push_str("</CompleteMultipartUpload>");
        let q = format!("uploadId={}", uri_encode(&id));
        let h = sigv4(t, &server.addr, "POST", &path, &q);
        let r = c
            .send("POST", &format!("{path}?{q}"), &h, listed.as_bytes())
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    (server.cpu_secs() - cpu0, wall.elapsed().as_secs_f64())
}

async fn multipart(server: &Server) {
    let (ak, sk) = ACCOUNTS[3];
    let mut c = Conn::open(&server.addr).await;
    let chunk: Vec<u8> = (0..8 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let part: Vec<u8> = chunk.iter().chain(chunk.iter()).copied().collect();
    // Single, multipart, multipart, single: the disk's write-back slows later rounds, so
    // each way gets an early and a late turn.
    let (mut single, mut multi) = ((0.0, 0.0), (0.0, 0.0));
    for (round, multipart_first) in [(0, false), (1, true)] {
        let t = obtain(&mut c, ak, sk).await;
        let add = |acc: &mut (f64, f64), r: (f64, f64)| {
            acc.0 += r.0;
            acc.1 += r.1;
        };
        if multipart_first {
            add(
                &mut multi,
                multipart_uploads(server, &mut c, &t, &part, round).await,
            );
            add(
                &mut single,
                single_puts(server, &mut c, &t, &chunk, round).await,
            );
        } else {
            add(
                &mut single,
                single_puts(server, &mut c, &t, &chunk, round).await,
            );
            add(
                &mut multi,
                multipart_uploads(server, &mut c, &t, &part, round).await,
            );
        }
    }
    // 4 GiB each way in all.
    println!(
        "multipart: server CPU per GiB: single 8 MiB PUTs {:.2} s ({:.0} MiB/s), 16 MiB parts {:.2} s ({:.0} MiB/s); ratio {:.2}",
        single.0 / 4.0,
        4096.0 / single.1,
        multi.0 / 4.0,
        4096.0 / multi.1,
        multi.0 / single.0
    );
    println!(
        "multipart: server peak RSS {:.1} MiB after 8 GiB uploaded (4 GiB of it in 16 MiB parts)",
        server.proc_status("VmHWM:") as f64 / 1024.0
    );
}

// ---- 6. memory --------------------------------------------------------------------------------

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
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
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_else(|_| "list,mixed,presigned,multipart,soak,memory".into());
    let want = |s: &str| only.split(',').any(|o| o.trim() == s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, run) in [
        ("list", 0),
        ("mixed", 1),
        ("presigned", 2),
        ("multipart", 3),
        ("soak", 4),
    ] {
        if !want(name) {
            continue;
        }
        // A fresh server for each, so that one does not measure another's leftovers. The
        // soak's sessions expire within seconds, so that it reaches its steady state
        // (tokens obtained and dropped as fast as resources are created and deleted)
        // inside its first 10 s rather than after 10 minutes.
        let settings = if name == "soak" {
            "token_lifetime_secs = 5\ncallback_param_ttl_secs = 5\nsession_grace_secs = 2"
        } else {
            ""
        };
        let server = Server::start(settings);
        rt.block_on(async {
            match run {
                0 => list(&server).await,
                1 => mixed(&server).await,
                2 => presigned(&server).await,
                3 => multipart(&server).await,
                _ => soak(&server).await,
            }
        });
    }
    if want("memory") {
        memory();
    }
}
