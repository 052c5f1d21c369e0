//! `terra demo --type 2d --serve`, then its dashboard in headless Chromium: the job's page
//! draws the photos where the flight took them and the job's own orthophoto, lists the
//! outputs with links, and a refused request shows its reason down to the string the
//! emulator signed. A screenshot is kept in `target/dashboard-job.png`.

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use fantoccini::Locator;

#[path = "../../../terra-mock/tests/common/browser.rs"]
#[allow(dead_code, unreachable_pub)]
mod browser;

/// The band checksums `gdalinfo -checksum` reports for an image.
fn checksums(path: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("gdalinfo")
        .arg("-checksum")
        .arg(path)
        .output()
        .expect("gdalinfo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Checksum=").map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2d_demo_on_the_dashboard_shows_its_flight_and_orthophoto() {
    let Some(driver) = browser::chromedriver() else {
        eprintln!("skipped: no chromedriver");
        return;
    };
    let gdal = std::process::Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok();
    if !gdal {
        assert!(
            std::env::var_os("TERRA_REQUIRE_SERVICES").is_none(),
            "gdalinfo is missing (cargo xtask test installs gdal-bin)"
        );
        eprintln!("skipped: no gdalinfo");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let images = 12;
    let mut demo = std::process::Command::new(env!("CARGO_BIN_EXE_terra"))
        .args([
            "demo",
            "--type",
            "2d",
            "--images",
            &images.to_string(),
            "--serve",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let dashboard = loop {
        let line = lines
            .next()
            .expect("the demo prints its dashboard")
            .unwrap();
        if let Some(rest) = line.strip_prefix("dashboard: ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the demo took too long"
        );
    };
    let base = dashboard.trim_end_matches("/_terra-mock/").to_owned();
    let (_driver, c) = browser::browser(&driver, &[]).await;
    let result: Result<(), String> = async {
        c.goto(&dashboard).await.unwrap();
        browser::wait_text(&c, "#jobs tbody", |t| t.contains("finished")).await;
        // A client with the wrong secret, as a user debugging a signature would have.
        let app_key = browser::wait_text(&c, "#accounts tbody code", |t| !t.is_empty()).await;
        wrong_signature(&base, &app_key);

        c.find(Locator::Css("#jobs tbody tr")).await.unwrap().click().await.unwrap();
        let started = Instant::now();
        let points = loop {
            let v = c
                .execute(
                    "return [...document.querySelectorAll('#plan circle.photo')].map(p => [Number(p.dataset.lat), Number(p.dataset.lon)])",
                    vec![],
                )
                .await
                .unwrap();
            let pts: Vec<(f64, f64)> = serde_json::from_value(v).unwrap();
            if pts.len() == images || started.elapsed() > Duration::from_secs(15) {
                break pts;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The drawn points are the photos, where the flight took them.
        let plan = terra_mock::sample::FlightPlan {
            images,
            ..Default::default()
        };
        assert_eq!(points.len(), images, "{points:?}");
        for i in 0..images {
            let (lat, lon) = plan.position(i);
            assert!(
                points.iter().any(|p| (p.0 - lat).abs() < 1e-6 && (p.1 - lon).abs() < 1e-6),
                "photo {i} at {lat},{lon} is not drawn: {points:?}"
            );
        }
        // The image drawn is the job's own map/result.tif: the same pixels, band by band.
        let href = c
            .execute("return document.querySelector('#plan #orthophoto').getAttribute('href')", vec![])
            .await
            .unwrap();
        let href = href.as_str().expect("an orthophoto is drawn").to_owned();
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(href.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        let drawn = dir.path().join("drawn.png");
        std::fs::write(&drawn, png).unwrap();
        let tif = out.join("map/result.tif");
        let want = checksums(&tif);
        assert_eq!(want.len(), 4, "an RGBA orthophoto");
        assert_eq!(checksums(&drawn), want, "the drawn image is map/result.tif");
        // The outputs, with links, and a scale bar on the plan.
        let outputs = browser::wait_text(&c, "#outputs tbody", |t| t.contains("map/result.tif")).await;
        assert!(outputs.contains("report/report.json"), "{outputs}");
        let link = c.find(Locator::Css("#outputs a")).await.unwrap();
        assert!(link.attr("href").await.unwrap().unwrap().starts_with(&base));
        let bar = browser::wait_text(&c, "#scale-bar", |t| t.ends_with(" m") || t.ends_with(" km")).await;
        assert!(!bar.is_empty());

        // The refused request: its reason on the row, the signing string one click away.
        let row = browser::wait_text(&c, "#requests tbody", |t| t.contains("signature_mismatch")).await;
        assert!(row.contains("401"), "{row}");
        // Clicked from inside the page: the table is redrawn every second, and an element
        // found from here may be replaced before a click sent from here reaches it.
        c.execute("document.querySelector('#requests tr.refused').click()", vec![]).await.unwrap();
        let signed = browser::wait_text(&c, "#requests pre.signed", |t| t.contains("@request-target")).await;
        assert!(signed.contains("@request-target: get /terra-rescon-be/v2/jobs"), "{signed}");
        browser::wait_text(&c, "#report tbody", |t| t.contains("signature_mismatch")).await;

        let shot = c.screenshot().await.unwrap();
        let keep = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard-job.png");
        std::fs::write(&keep, &shot).unwrap();
        assert!(shot.len() > 20_000 && shot.starts_with(b"\x89PNG"), "a real screenshot");
        Ok(())
    }
    .await;
    let _ = c.close().await;
    let _ = demo.kill();
    let _ = demo.wait();
    result.unwrap();
}

/// A TerraAPI call signed with a secret that is not the account's.
fn wrong_signature(base: &str, app_key: &str) {
    let host = base.trim_start_matches("http://");
    let creds = terra_sign::Credentials::new(app_key, "not-the-secret");
    let req = terra_sign::SignableRequest::new("GET", "/terra-rescon-be/v2/jobs", b"");
    let signed = terra_sign::sign(
        &req,
        &creds,
        &terra_sign::SigningParams::new(std::time::SystemTime::now()),
    );
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let mut head = format!(
        "GET /terra-rescon-be/v2/jobs HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: wrong-secret-client\r\n"
    );
    for (n, v) in signed.headers() {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut s, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}
