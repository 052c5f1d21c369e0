//! The dashboard (`/_terra-mock/`) in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, from Debian's `chromium-driver`; `cargo xtask test` installs it).
//! A flow runs, the page shows the job reach "finished", "Advance" finishes another, a
//! fault is injected from the form, and a screenshot is kept as `target/dashboard.png`.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::Api;
use common::browser::{browser, chromedriver, wait_text};
use fantoccini::Locator;
use terra_mock::{JobTiming, TerraMock};
use terra_types::JobStatus;

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
    let (_driver, c) = browser(&driver, &[]).await;
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

/// Serves `html` to every request on a new port (a page of another origin); returns its URL.
fn serve_page(html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = s.write_all(reply.as_bytes());
        }
    });
    url
}

/// A page on another origin tries what any web page may do without asking: `fetch` in
/// `no-cors` mode against `/reset`, `/faults` and `/clock/advance`, and a form POST. The
/// requests reach the emulator (the TerraAPI one the page sends too is in the request log)
/// and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_drive_the_controls() {
    let Some(driver) = chromedriver() else {
        eprintln!("skipped: no chromedriver");
        return;
    };
    let clock = terra_mock::ManualClock::starting_now();
    let mock = TerraMock::builder()
        .manual_clock(clock.clone())
        .start()
        .await
        .unwrap();
    Api::new(&mock).resource_with_images(3).await;
    let before = (
        mock.resources(mock.app_key()).len(),
        mock.faults().len(),
        mock.now(),
    );
    let base = mock.base_url();
    let page = serve_page(format!(
        r#"<!doctype html><html><head><title>evil</title></head><body>
<form id="f" method="POST" action="{base}/_terra-mock/v1/reset" enctype="text/plain"><input name='{{"a":"' value='"}}'></form>
<script>
const v1 = "{base}/_terra-mock/v1";
const shots = [
  fetch(v1 + "/reset", {{method: "POST", mode: "no-cors", body: "{{}}"}}),
  fetch(v1 + "/faults", {{method: "POST", mode: "no-cors", headers: {{"content-type": "text/plain"}},
                          body: JSON.stringify({{fault: {{type: "status", status: 503}}}})}}),
  fetch(v1 + "/clock/advance", {{method: "POST", mode: "no-cors", body: JSON.stringify({{seconds: 36000}})}}),
  fetch(v1 + "/tokens/expire", {{method: "POST", mode: "no-cors",
                                 headers: {{"content-type": "application/x-www-form-urlencoded"}}, body: "a=1"}}),
  fetch("{base}/terra-rescon-be/v2/jobs?from=evil", {{mode: "no-cors"}}),
];
Promise.allSettled(shots).then(() => {{ document.title = "fired"; }});
</script></body></html>"#
    ));
    let (_driver, c) = browser(&driver, &[]).await;
    async {
        c.goto(&page).await.unwrap();
        let started = Instant::now();
        while c.title().await.unwrap() != "fired" {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the page never fired"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The form post navigates to the emulator's answer.
        c.execute("document.getElementById('f').submit()", vec![])
            .await
            .unwrap();
        let started = Instant::now();
        while !c
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("/_terra-mock/")
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the form never posted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let answer = c.source().await.unwrap();
        assert!(
            answer.contains("forbidden_origin") || answer.contains("unsupported_media_type"),
            "{answer}"
        );
    }
    .await;
    let _ = c.close().await;
    assert!(
        mock.requests()
            .iter()
            .any(|r| r.target.contains("from=evil")),
        "the page's requests reached the emulator"
    );
    let after = (
        mock.resources(mock.app_key()).len(),
        mock.faults().len(),
        mock.now(),
    );
    assert_eq!(
        after, before,
        "nothing changed: no reset, no fault, no time passed"
    );
}
