//! `terra-mock serve --proxy`: programs with DJI's, S3's and OSS's hosts written in, run
//! unmodified against the standalone binary with nothing but the environment its banner
//! prints: a quick-start-style bash script (curl, openssl), Python (requests, oss2, boto3
//! with their default endpoints) and Node (the AWS SDK for JavaScript v3, ali-oss); and
//! every refusal of the proxy. `cargo xtask test` provides python and the Node modules.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The standalone binary with its proxy, an S3 account and an OSS one; stopped on drop.
struct Proxied {
    child: Child,
    base: String,
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Proxied {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Proxied {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        r#"
[[accounts]]
app_key = "us-ak"
secret = "us-sk"
provider = "s3"

[[accounts]]
app_key = "cn-ak"
secret = "cn-sk"
provider = "oss"

[timing]
waiting = 0.2
preparing = 0.2
executing = 0.5
executing_per_input = 0.0
result_processing = 0.2
"#,
    )
    .unwrap();
    let ca = dir.path().join("ca");
    let mut child = Command::new(env!("CARGO_BIN_EXE_terra-mock"))
        .args(["serve", "--addr", "127.0.0.1:0", "--proxy", "--config"])
        .arg(&config)
        .arg("--ca-dir")
        .arg(&ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut base, mut env) = (String::new(), Vec::new());
    for _ in 0..30 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(b) = line.trim().strip_prefix("terra-mock listening on ") {
            base = b.to_owned();
        }
        // The banner's export line: exactly what a user pastes.
        if let Some(vars) = line.trim().strip_prefix("export ") {
            env = vars
                .split(' ')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            break;
        }
    }
    assert!(
        base.starts_with("http://127.0.0.1:") && !env.is_empty(),
        "banner: {base} {env:?}"
    );
    Proxied {
        child,
        base,
        env,
        _dir: dir,
    }
}

/// Twelve sample photos with GPS.
fn photos(dir: &Path) -> PathBuf {
    let p = dir.join("photos");
    terra_mock::sample::write_flight(
        &p,
        &terra_mock::sample::FlightPlan {
            images: 12,
            ..Default::default()
        },
    )
    .unwrap();
    p
}

/// Runs a command with the proxy's environment (and no other proxy settings).
fn run(mut c: Command, mock: &Proxied) -> (bool, String) {
    for k in ["ALL_PROXY", "all_proxy"] {
        c.env_remove(k);
    }
    for (k, v) in &mock.env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_quick_start_script_with_its_host_written_in() {
    let mock = start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new("bash");
    c.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/proxy/quickstart.sh"
    ))
    .env("APP_KEY", "cn-ak")
    .env("SECRET_KEY", "cn-sk")
    .env("PHOTOS", photos(dir.path()));
    let (ok, text) = run(c, &mock);
    assert!(ok, "the quick-start script failed:\n{text}");
    assert!(text.contains("quick start: 12 photos"), "{text}");
}

#[test]
fn python_clients_with_their_default_endpoints() {
    let Some(python) = common::test_python() else {
        return;
    };
    let mock = start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(python);
    c.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proxy/test_unmodified.py"
        ))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("TERRA_MOCK_URL", &mock.base)
        .env("PHOTOS", photos(dir.path()));
    let (ok, text) = run(c, &mock);
    assert!(
        ok && text.contains("passed"),
        "the Python clients failed:\n{text}"
    );
}

#[test]
fn node_clients_with_their_default_endpoints() {
    let Some(modules) = common::test_node_modules() else {
        return;
    };
    let mock = start();
    let mut c = Command::new("node");
    c.arg("--test")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proxy/unmodified.test.cjs"
        ))
        .env("NODE_PATH", &modules)
        .env("TERRA_TEST_NODE_MODULES", &modules)
        .env("TERRA_MOCK_URL", &mock.base);
    let (ok, text) = run(c, &mock);
    assert!(
        ok && text.contains("# pass"),
        "the Node clients failed:\n{text}"
    );
}

/// One raw request to the proxy; its status line and body.
fn raw(mock: &Proxied, request: &str) -> (String, String) {
    common::raw_http(mock.base.trim_start_matches("http://"), request)
}

#[test]
fn the_proxy_never_forwards_and_never_exposes_the_controls() {
    let mock = start();
    // CONNECT to a host it does not emulate.
    let (status, body) = raw(
        &mock,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
    );
    assert!(status.contains(" 403 "), "{status}");
    assert!(
        body.contains("example.com") && body.contains("--proxy-host"),
        "{body}"
    );
    // A plain request to an unlisted host.
    let (status, body) = raw(
        &mock,
        "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
    );
    assert!(
        status.contains(" 403 ") && body.contains("never forwards"),
        "{status} {body}"
    );
    // The controls under an emulated name, plain and through a tunnel.
    let (status, body) = raw(
        &mock,
        "GET http://openapi-us.dji.com/_terra-mock/v1/state HTTP/1.1\r\nHost: openapi-us.dji.com\r\nConnection: close\r\n\r\n",
    );
    assert!(
        status.contains(" 403 ") && !body.contains("secret"),
        "{status} {body}"
    );
    let ca = mock
        .env
        .iter()
        .find(|(k, _)| k == "CURL_CA_BUNDLE")
        .unwrap()
        .1
        .clone();
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            &ca,
            "--proxy",
            &mock.base,
        ])
        .arg("https://openapi-cn.dji.com/_terra-mock/v1/state")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "403",
        "through the tunnel"
    );
    // The emulator's own address is served as a direct request (a client whose
    // HTTP_PROXY also covers 127.0.0.1).
    let own = mock.base.trim_start_matches("http://");
    let (status, body) = raw(
        &mock,
        &format!(
            "GET {}/_terra-mock/v1/health HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n",
            mock.base
        ),
    );
    assert!(
        status.contains(" 200 ") && body.contains("\"ok\""),
        "{status} {body}"
    );
}
