//! Headless Chromium over WebDriver (chromedriver, from Debian's `chromium-driver`; `cargo
//! xtask test` installs it), and pages of another origin served by the test itself.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver, or `None` (then the test is skipped, unless services are required).
pub fn chromedriver() -> Option<String> {
    let candidates = [
        std::env::var("TERRA_TEST_CHROMEDRIVER").ok(),
        Some("/usr/bin/chromedriver".into()),
        Some("/usr/lib/chromium/chromedriver".into()),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() && std::env::var_os("TERRA_REQUIRE_SERVICES").is_some() {
        panic!(
            "chromedriver is missing (TERRA_REQUIRE_SERVICES is set): `cargo xtask test` installs chromium-driver"
        );
    }
    found
}

/// The chromedriver process, stopped on drop.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A headless browser session; `extra` Chromium flags (a `--proxy-server=...`).
pub async fn browser(driver: &str, extra: &[String]) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1400,1100",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().cloned());
    let caps: serde_json::Map<String, serde_json::Value> =
        serde_json::from_value(serde_json::json!({
            "goog:chromeOptions": { "args": args }
        }))
        .unwrap();
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if started.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a browser session through {port}: {e}"),
        }
    }
}

/// Waits until the text of `css` satisfies `ok`; returns it.
pub async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(15) {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if ok(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never got there (last: {last:?})");
}

/// Waits for the page to set `window.__result`; returns it.
pub async fn page_result(c: &Client, within: Duration) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let v = c
            .execute("return window.__result || null", vec![])
            .await
            .unwrap_or(serde_json::Value::Null);
        if !v.is_null() {
            return v;
        }
        assert!(
            started.elapsed() < within,
            "the page gave no result within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Files served by [`Site`]: path (without the query) to content type and bytes.
pub type Files = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

/// A web server of its own origin (`http://127.0.0.1:PORT`), serving `files`; the paths
/// it was asked for are kept, query and all.
pub struct Site {
    pub origin: String,
    pub files: Files,
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl Site {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let files: Files = Arc::default();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, a) = (files.clone(), asked.clone());
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = vec![0u8; 64 * 1024];
                let n = s.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
                a.lock().unwrap().push(target.clone());
                let path = target.split('?').next().unwrap_or("/").to_owned();
                let (status, ctype, body) = match f.lock().unwrap().get(&path) {
                    Some((t, b)) => ("200 OK", t.clone(), b.clone()),
                    None => ("404 Not Found", "text/plain".into(), b"not here".to_vec()),
                };
                let _ = s.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                let _ = s.write_all(&body);
            }
        });
        Self {
            origin,
            files,
            asked,
        }
    }

    pub fn put(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body.into()));
    }
}
