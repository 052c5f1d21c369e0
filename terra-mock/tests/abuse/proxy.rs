//! Issue 31: the proxy and its authority under hostile use (rows 3 to 9 of its table):
//! caches bounded whatever names clients send, every connection counted from accept to
//! close, credentials never kept, strict targets, private files private.

use std::sync::Arc;

use futures::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

/// The standalone binary in proxy mode, its authority in `dir/ca`.
fn proxied(dir: &std::path::Path, nofile: u64, extra: &[&str]) -> Server {
    let ca = dir.join("ca");
    let mut args = vec!["--proxy", "--log", "warn", "--ca-dir", ca.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start(nofile, &args, &[])
}

/// Sockets the server holds (its listener and runtime included: count them first).
fn sockets(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|l| l.to_string_lossy().starts_with("socket:"))
        .count()
}

/// A client trusting the proxy's authority only.
fn tls_client(dir: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read_to_string(dir.join("ca/ca.pem")).unwrap();
    let der = {
        use base64::Engine as _;
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der))
        .unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// `CONNECT name:443`; the open tunnel, once the proxy said 200.
async fn connect(addr: &str, name: &str) -> std::io::Result<tokio::net::TcpStream> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n").as_bytes())
        .await?;
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).await? == 0 {
            return Err(std::io::Error::other("closed before the CONNECT answer"));
        }
        head.push(b[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&head).into_owned(),
        ));
    }
    Ok(s)
}

/// A TLS handshake through a tunnel to `name`, verified against the proxy's authority.
async fn handshake(addr: &str, name: &str, cfg: Arc<rustls::ClientConfig>) -> std::io::Result<()> {
    let s = connect(addr, name).await?;
    let server_name =
        rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(std::io::Error::other)?;
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(server_name, s)
        .await?;
    let _ = tls.shutdown().await;
    Ok(())
}

/// Row 3: 20 000 CONNECTs to random bucket names, a handshake each, grew the server from
/// 55 to 428 MB and never gave it back (a TLS configuration per name and a leaf per SNI
/// name, both kept forever). Now they share one bounded cache: past its capacity, memory
/// stays flat however many names come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_names_leave_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let server = proxied(dir.path(), 4096, &[]);
    let addr = server.addr();
    let cfg = tls_client(dir.path());
    let run = |from: usize, to: usize| {
        let (addr, cfg) = (addr.clone(), cfg.clone());
        async move {
            futures::stream::iter(from..to)
                .map(|i| {
                    let (addr, cfg) = (addr.clone(), cfg.clone());
                    async move {
                        let name = format!("b{i:05}x.s3.us-east-1.amazonaws.com");
                        handshake(&addr, &name, cfg)
                            .await
                            .unwrap_or_else(|e| panic!("{name}: {e}"));
                    }
                })
                .buffer_unordered(8)
                .collect::<Vec<()>>()
                .await;
        }
    };
    // Past the default capacity (1 000 names), then warm.
    run(0, 4_000).await;
    let at_4k = server.rss_kib();
    run(4_000, 20_000).await;
    let at_20k = server.rss_kib();
    eprintln!("RSS after 4 000 names {at_4k} KiB, after 20 000 names {at_20k} KiB");
    assert!(
        at_20k < at_4k + 6 * 1024,
        "16 000 more names grew the server from {at_4k} to {at_20k} KiB"
    );
    // Names cached or not, a handshake still verifies.
    handshake(&addr, "openapi-cn.dji.com", cfg.clone())
        .await
        .unwrap();
    handshake(&addr, "b00000x.s3.us-east-1.amazonaws.com", cfg)
        .await
        .unwrap();
}

/// Row 4: under a 256-descriptor limit (a cap of 192 connections), 400 tunnels that never
/// began their TLS handshake held 246 sockets, `accept` failed with "Too many open files"
/// and a normal client timed out. Now tunnels count from accept to close and half-open
/// ones are evicted first: the server stays under its limit and answers within a second
/// while they are all held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_tunnels_cannot_exhaust_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let ca = dir.path().join("ca");
    let server = Server::start_limited_logging(
        256,
        &["--proxy", "--log", "warn", "--ca-dir", ca.to_str().unwrap()],
        log.to_str().unwrap(),
    );
    let addr = server.addr();
    let baseline = sockets(&server);
    // 400 tunnels asked for at once, none ever starting its handshake.
    let mut held = Vec::new();
    for i in 0..400 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let name = format!("h{i}.s3.us-east-1.amazonaws.com");
        s.write_all(format!("CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n").as_bytes())
            .await
            .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let health = reqwest::Client::new()
        .get(format!("{}/_terra-mock/v1/health", server.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("a normal client is answered while the tunnels are held");
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered in {:?}",
        started.elapsed()
    );
    let n = sockets(&server) - baseline;
    assert!(n <= 192, "{n} connections held under a cap of 192");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("Too many open files"),
        "the descriptor limit was reached: {text}"
    );
    drop(held);
}

/// Row 5: with `--max-connections 50`, 150 tunnels before their handshake and 50 idle
/// connections held 203 sockets: tunnels in their handshake were counted nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnels_count_under_max_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = proxied(dir.path(), 4096, &["--max-connections", "50"]);
    let addr = server.addr();
    let baseline = sockets(&server);
    let mut held = Vec::new();
    for i in 0..150 {
        held.push(
            connect(&addr, &format!("m{i}.oss-cn-hangzhou.aliyuncs.com"))
                .await
                .unwrap(),
        );
    }
    for _ in 0..50 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = sockets(&server) - baseline;
    assert!(n <= 50, "{n} connections held under --max-connections 50");
    // And a tunnel still works end to end.
    handshake(&addr, "openapi-us.dji.com", tls_client(dir.path()))
        .await
        .unwrap();
}

/// Row 6: `Proxy-Authorization` was stored verbatim in the request log and shown on the
/// dashboard. Every place a header can reach: the request log (`/requests?full=true`), the
/// state export, the dashboard page, the debug log, and the harness's recorded requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_are_never_kept() {
    const CRED: &str = "cHJvYmV1c2VyOmh1bnRlcjI=";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let ca = dir.path().join("ca");
    let server = Server::start_logging(
        &[
            "--proxy",
            "--log",
            "debug",
            "--ca-dir",
            ca.to_str().unwrap(),
        ],
        &[],
        log.to_str().unwrap(),
    );
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "10",
            ])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let proxy_user = ["--proxy", &server.base, "--proxy-user", "probeuser:hunter2"];
    let header = format!("Proxy-Authorization: Basic {CRED}");
    // Absolute-form, CONNECT (curl sends the credential on the CONNECT), a header inside
    // the tunnel, and a direct request.
    let mut a = proxy_user.to_vec();
    a.push("http://openapi-cn.dji.com/terra-rescon-be/v2/jobs");
    assert_eq!(curl(&a), "401");
    let cacert = ca.join("ca.pem");
    let mut a = proxy_user.to_vec();
    a.extend(["--cacert", cacert.to_str().unwrap(), "-H", &header]);
    a.push("https://openapi-cn.dji.com/terra-rescon-be/v2/resources");
    assert_eq!(curl(&a), "401");
    let direct = format!("{}/terra-rescon-be/v2/files", server.base);
    assert_eq!(curl(&["-H", &header, &direct]), "401");

    let http = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("{}{path}", server.base);
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let requests = get("/_terra-mock/v1/requests?full=true&limit=100").await;
    for path in ["/v2/jobs", "/v2/resources", "/v2/files"] {
        assert!(requests.contains(path), "{path} was recorded: {requests}");
    }
    let sinks = [
        ("the request log", requests),
        ("the state export", get("/_terra-mock/v1/state").await),
        ("the dashboard", get("/_terra-mock/").await),
        ("the debug log", std::fs::read_to_string(&log).unwrap()),
    ];
    for (sink, text) in &sinks {
        assert!(
            !text.contains(CRED) && !text.contains("hunter2"),
            "{sink} holds the credential"
        );
        assert!(
            !text.to_ascii_lowercase().contains("proxy-authorization"),
            "{sink}: {text}"
        );
    }

    // A request that reaches the router without the server (the in-process harness).
    let mock = TerraMock::builder().build().unwrap();
    let req = http::Request::get(format!("{V2}/jobs"))
        .header("proxy-authorization", format!("Basic {CRED}"))
        .header("proxy-connection", "keep-alive")
        .body(axum::body::Body::empty())
        .unwrap();
    mock.router().oneshot(req).await.unwrap();
    let recorded = mock.requests().pop().unwrap();
    assert!(recorded.header("proxy-authorization").is_none());
    assert!(
        recorded
            .headers()
            .all(|(n, v)| !n.starts_with("proxy-") && !v.contains(CRED))
    );
}

/// Rows 7 and 8: `CONNECT openapi-cn.dji.com:99999`, `:-1`, `:0x1bb` and `:` were taken
/// for `:443`, `:22` was served as plain HTTP, and a wildcard name was issued a
/// certificate. Now a port is decimal 1 to 65535 (400 otherwise), emulated hosts answer
/// on their real services' ports only (403 naming host and port), and only DNS host names
/// are emulated.
#[test]
fn targets_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    let server = proxied(dir.path(), 4096, &[]);
    let raw = |request: &str| common::raw_http(&server.addr(), request);
    for port in ["99999", "-1", "0x1bb", "", "0", "65536"] {
        let t = format!("openapi-cn.dji.com:{port}");
        let (status, body) = raw(&format!(
            "CONNECT {t} HTTP/1.1\r\nHost: {t}\r\nConnection: close\r\n\r\n"
        ));
        assert!(status.contains(" 400 "), "{t}: {status}");
        assert!(
            body.contains("1 to 65535") || body.contains("port"),
            "{t}: {body}"
        );
    }
    for (request, host_port) in [
        (
            "CONNECT openapi-cn.dji.com:22 HTTP/1.1\r\nHost: openapi-cn.dji.com:22\r\nConnection: close\r\n\r\n",
            "openapi-cn.dji.com:22",
        ),
        (
            "CONNECT openapi-cn.dji.com:80 HTTP/1.1\r\nHost: openapi-cn.dji.com:80\r\nConnection: close\r\n\r\n",
            "openapi-cn.dji.com:80",
        ),
        (
            "GET http://openapi-cn.dji.com:8080/terra-rescon-be/v2/jobs HTTP/1.1\r\nHost: openapi-cn.dji.com:8080\r\nConnection: close\r\n\r\n",
            "openapi-cn.dji.com:8080",
        ),
    ] {
        let (status, body) = raw(request);
        assert!(status.contains(" 403 "), "{host_port}: {status}");
        assert!(body.contains(host_port), "{host_port}: {body}");
    }
    for wildcard in [
        "*.s3.us-east-1.amazonaws.com",
        "*.oss-cn-hangzhou.aliyuncs.com",
        "a..s3.amazonaws.com",
    ] {
        let (status, _) = raw(&format!(
            "CONNECT {wildcard}:443 HTTP/1.1\r\nHost: {wildcard}:443\r\nConnection: close\r\n\r\n"
        ));
        assert!(status.contains(" 403 "), "{wildcard}: {status}");
    }
    let (status, body) = raw(
        "CONNECT user:hunter2@openapi-cn.dji.com:443 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        status.contains(" 400 ") && !body.contains("hunter2"),
        "{status} {body}"
    );
}

/// Row 9: the authority had no name constraints. Read back with OpenSSL's certificate
/// parser: DJI's, AWS's and Aliyun's domains and the `--proxy-host` names permitted,
/// every IP address excluded.
#[test]
fn the_authority_names_what_it_may_vouch_for() {
    let dir = tempfile::tempdir().unwrap();
    let _server = proxied(dir.path(), 4096, &["--proxy-host", "*.corp.test"]);
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(dir.path().join("ca/ca.pem"))
        .output()
        .expect("openssl (cargo xtask test installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let nc = text
        .split("X509v3 Name Constraints: critical")
        .nth(1)
        .unwrap_or_else(|| panic!("no critical name constraints: {text}"));
    let permitted = nc.split("Excluded:").next().unwrap();
    for d in [
        "dji.com",
        "amazonaws.com",
        "amazonaws.com.cn",
        "aliyuncs.com",
        "corp.test",
    ] {
        assert!(
            permitted.contains(&format!("DNS:{d}\n")),
            "{d} not permitted: {nc}"
        );
    }
    let excluded = nc.split("Excluded:").nth(1).unwrap();
    assert!(
        excluded.contains("IP:0.0.0.0/0.0.0.0")
            && excluded.contains("IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0"),
        "{nc}"
    );
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
}
