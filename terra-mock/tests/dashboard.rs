//! The dashboard (`/_terra-mock/`) in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, from Debian's `chromium-driver`; `cargo xtask test` installs it).
//! A flow runs, the page shows the job reach "finished", "Advance" finishes another, a
//! fault is injected from the form, and a screenshot is kept as `target/dashboard.png`.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Api;
use fantoccini::{Client, ClientBuilder, Locator};
use terra_mock::{JobTiming, TerraMock};
use terra_types::JobStatus;

/// chromedriver, or `None` (then the test is skipped, unless services are required).
fn chromedriver() -> Option<String> {
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

struct Driver(Child);

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

async fn browser(driver: &str) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1100"]
        }
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
            Err(e) => panic!("cannot start a browser session through {}: {e}", port),
        }
    }
}

/// Waits until the text of `css` satisfies `ok`; returns it.
async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
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

async fn started_job(api: &Api<'_>) -> String {
    let resource = api.resource_with_images(10).await;
    let job = api.job("dashboard survey").await;
    let r = api.start(&job, &resource, 14, r#"{"parameter":{}}"#).await;
    assert_eq!(r.code(), 0, "{}", r.body);
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_jobs_advances_the_clock_and_injects_faults() {
    let Some(driver) = chromedriver() else {
        eprintln!("skipped: no chromedriver");
        return;
    };
    let mock = TerraMock::builder()
        .timing(JobTiming::lasting(Duration::from_secs(2)))
        .start()
        .await
        .unwrap();
    let api = Api::new(&mock);
    let quick = started_job(&api).await;
    let (_driver, c) = browser(&driver).await;
    let result = async {
        c.goto(&format!("{}/_terra-mock/", mock.base_url()))
            .await
            .unwrap();
        // The first job finishes on its own, and the page shows it.
        let row = format!("#jobs tr[data-uuid=\"{quick}\"] .status");
        wait_text(&c, &row, |t| t == "finished").await;

        // A long job finishes when "Advance" is clicked.
        mock.set_timing(JobTiming::lasting(Duration::from_secs(3 * 3600)))
            .unwrap();
        let slow = started_job(&api).await;
        let row = format!("#jobs tr[data-uuid=\"{slow}\"] .status");
        wait_text(&c, &row, |t| {
            ["waiting", "preparing", "executing"].contains(&t)
        })
        .await;
        let before = wait_text(&c, "#clock", |t| !t.is_empty() && t != "…").await;
        let seconds = c.find(Locator::Id("advance-seconds")).await.unwrap();
        seconds.clear().await.unwrap();
        seconds.send_keys("14400").await.unwrap();
        c.find(Locator::Id("advance"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, &row, |t| t == "finished").await;
        let after = wait_text(&c, "#clock", |t| t > before.as_str()).await;
        assert!(after.as_str() > before.as_str(), "{before} -> {after}");
        let job = mock
            .jobs(mock.app_key())
            .into_iter()
            .find(|j| j.uuid == slow)
            .unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);

        // A third job, failed from its row.
        let doomed = started_job(&api).await;
        let button = format!("#jobs tr[data-uuid=\"{doomed}\"] button.fail");
        let started = Instant::now();
        loop {
            if let Ok(b) = c.find(Locator::Css(&button)).await
                && b.click().await.is_ok()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no Fail button for {doomed}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_text(
            &c,
            &format!("#jobs tr[data-uuid=\"{doomed}\"] .status"),
            |t| t == "failed",
        )
        .await;

        // A fault from the form.
        c.find(Locator::Id("fault-path"))
            .await
            .unwrap()
            .send_keys("/terra-rescon-be/v2/jobs")
            .await
            .unwrap();
        c.find(Locator::Id("add-fault"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "#faults tbody", |t| {
            t.contains("/terra-rescon-be/v2/jobs") && t.contains("503")
        })
        .await;
        assert_eq!(mock.faults().len(), 1);
        let r = api.call("GET", "/jobs", None).await;
        assert_eq!(r.status, 503);

        // The requests table shows the API calls with their status.
        wait_text(&c, "#requests tbody", |t| {
            t.contains("/terra-rescon-be/v2/jobs") && t.contains("503")
        })
        .await;
        // Account stats.
        wait_text(&c, "#accounts tbody", |t| t.contains(mock.app_key())).await;

        let png = c.screenshot().await.unwrap();
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard.png");
        std::fs::write(&out, &png).unwrap();
        assert!(
            png.len() > 10_000 && png.starts_with(b"\x89PNG"),
            "a real screenshot"
        );
    }
    .await;
    let _ = c.close().await;
    result
}
