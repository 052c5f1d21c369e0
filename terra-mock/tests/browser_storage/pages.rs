//! The browser flows of point 4, in headless Chromium, from pages of another origin served
//! by the test: ali-oss's own browser build (directly and through `--proxy`), the AWS SDK
//! v3 bundled for the page with esbuild, a boto3 presigned PUT with `fetch`, HTML form
//! POSTs (boto3's `generate_presigned_post`, an OSS PostObject policy), a file's download
//! link, and the refusals a page sees when the bucket's rules leave its origin out.

use std::path::PathBuf;
use std::time::Duration;

use common::browser::{Site, browser, chromedriver, page_result};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use terra_mock::{CorsConfig, CorsRule, MockConfig};

use super::*;

/// The npm packages (`cargo xtask test` installs them), or `None` to skip.
fn node_modules() -> Option<PathBuf> {
    let dir = std::env::var_os("TERRA_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/xtask/node/node_modules")
        });
    if dir.join("ali-oss/dist/aliyun-oss-sdk.js").exists() && dir.join(".bin/esbuild").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("TERRA_REQUIRE_SERVICES").is_none(),
        "the npm packages are missing from {} (TERRA_REQUIRE_SERVICES is set)",
        dir.display()
    );
    None
}

fn page(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser_storage/pages")
            .join(name),
    )
    .unwrap()
}

/// `page` with `config` written in before its first script.
fn with_config(html: &str, config: &Value) -> String {
    html.replacen(
        "<script",
        &format!("<script>window.CONFIG = {config};</script>\n<script"),
        1,
    )
}

fn oss_config(token: &StsToken, endpoint: &str, prefix: &str) -> Value {
    json!({
        "region": token.region, "endpoint": endpoint, "bucket": token.cloud_bucket_name,
        "accessKeyId": token.access_key_id, "accessKeySecret": token.secret_access_key.expose(),
        "stsToken": token.session_token.expose(), "prefix": prefix,
    })
}

async fn run_page(c: &Client, url: &str) -> Value {
    c.goto(url).await.unwrap();
    page_result(c, Duration::from_secs(90)).await
}

fn sum(b: &[u8]) -> u64 {
    b.iter().fold(0, |s, x| (s + u64::from(*x)) % 1_000_003)
}

/// ali-oss's checks of one run of `oss.html`.
fn check_oss_run(mock: &TerraMock, token: &StsToken, r: &Value) {
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["put"]["status"], 200, "{r}");
    assert!(
        r["put"]["etag"].as_str().is_some_and(|e| e.len() > 10),
        "the page read the ETag: {r}"
    );
    let parts = r["multipart"]["parts"].as_array().unwrap();
    assert_eq!(
        parts.len(),
        4,
        "350 KiB in parts of 100 KiB, every ETag read: {r}"
    );
    assert!(
        parts
            .iter()
            .all(|p| p.as_str().is_some_and(|e| e.len() > 10)),
        "{r}"
    );
    let big = token.object_key("big.bin");
    assert_eq!(
        r["list"],
        json!([token.object_key("DJI_0001.JPG"), big]),
        "{r}"
    );
    assert_eq!(r["download"]["status"], 200);
    assert_eq!(r["download"]["length"], 350 * 1024);
    assert_eq!(r["download"]["sum"], r["download"]["want"]);
    assert!(
        mock.object(Provider::Oss, &token.object_key("DJI_0001.JPG"))
            .is_none(),
        "deleted"
    );
    assert_eq!(mock.object(Provider::Oss, &big).unwrap().size, 350 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_oss_in_a_page_directly_and_through_the_proxy() {
    let (Some(driver), Some(modules)) = (chromedriver(), node_modules()) else {
        eprintln!("skipped: no chromedriver or npm packages");
        return;
    };
    let site = Site::start();
    site.put(
        "/aliyun-oss-sdk.js",
        "text/javascript",
        std::fs::read(modules.join("ali-oss/dist/aliyun-oss-sdk.js")).unwrap(),
    );

    // Directly: the bucket's virtual host under `localhost`, which Chromium resolves here.
    let (mock, token) = started(Provider::Oss).await;
    let endpoint = format!("http://localhost:{}", mock.addr().port());
    site.put(
        "/oss.html",
        "text/html",
        with_config(
            &page("oss.html"),
            &oss_config(&token, &endpoint, &token.object_key("")),
        ),
    );
    let (_d, c) = browser(&driver, &[]).await;
    let r = run_page(&c, &format!("{}/oss.html", site.origin)).await;
    let _ = c.close().await;
    check_oss_run(&mock, &token, &r);
    let preflights = mock
        .requests()
        .into_iter()
        .filter(|q| q.method == "OPTIONS")
        .count();
    assert!(preflights > 0, "the browser asked before its PUTs");

    // Through `--proxy`, the real OSS host written in the page.
    let ca = tempfile::tempdir().unwrap();
    let proxied = TerraMock::builder()
        .config(MockConfig {
            proxy: true,
            ca_dir: Some(ca.path().into()),
            ..Default::default()
        })
        .provider(Provider::Oss)
        .start()
        .await
        .unwrap();
    let token = proxied.issue_token(proxied.app_key()).unwrap();
    let endpoint = format!("http://{}.aliyuncs.com", token.region);
    site.put(
        "/oss.html",
        "text/html",
        with_config(
            &page("oss.html"),
            &oss_config(&token, &endpoint, &token.object_key("")),
        ),
    );
    let (_d, c) = browser(&driver, &[format!("--proxy-server={}", proxied.base_url())]).await;
    let r = run_page(&c, &format!("{}/oss.html", site.origin)).await;
    let _ = c.close().await;
    check_oss_run(&proxied, &token, &r);
    let host = format!("terra-mock-oss.{}.aliyuncs.com", token.region);
    assert!(
        proxied
            .requests()
            .iter()
            .any(|q| q.header("host") == Some(host.as_str())),
        "the page's requests came through the proxy to {host}"
    );
}

/// A served emulator whose one account uses `provider`, and a token of it.
async fn started(provider: Provider) -> (TerraMock, StsToken) {
    let mock = TerraMock::builder()
        .provider(provider)
        .start()
        .await
        .unwrap();
    let token = mock.issue_token(mock.app_key()).unwrap();
    (mock, token)
}

/// esbuild's bundle of `s3_entry.js` for the browser.
fn s3_bundle(modules: &std::path::Path) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("s3-bundle.js");
    let status = std::process::Command::new(modules.join(".bin/esbuild"))
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser_storage/pages/s3_entry.js"),
        )
        .args([
            "--bundle",
            "--format=iife",
            "--platform=browser",
            "--log-level=warning",
        ])
        .arg(format!("--outfile={}", bundle.display()))
        .env("NODE_PATH", modules)
        .status()
        .unwrap();
    assert!(status.success(), "esbuild failed");
    std::fs::read(bundle).unwrap()
}

/// boto3's presigned PUT URL and POST form for `token` (python with boto3 from
/// `TERRA_TEST_PYTHON`).
fn boto3_presigned(mock: &TerraMock, token: &StsToken, redirect: &str) -> Option<Value> {
    let python = std::env::var("TERRA_TEST_PYTHON").ok().or_else(|| {
        let venv =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/xtask/sdk-venv/bin/python");
        venv.exists().then(|| venv.to_string_lossy().into_owned())
    });
    let Some(python) = python else {
        assert!(
            std::env::var_os("TERRA_REQUIRE_SERVICES").is_none(),
            "TERRA_TEST_PYTHON is not set"
        );
        return None;
    };
    let args = json!({
        "endpoint": mock.base_url(), "region": token.region, "bucket": token.cloud_bucket_name,
        "access_key": token.access_key_id, "secret_key": token.secret_access_key.expose(),
        "session_token": token.session_token.expose(), "put_key": token.object_key("presigned.jpg"),
        "post_key": token.object_key("${filename}"), "redirect": redirect,
    });
    let mut child = std::process::Command::new(python)
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser_storage/pages/presign.py"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(args.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "presign.py failed");
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// A registered file of `token`'s session and its download link from `/v2/files/{uuid}`.
async fn registered_file(mock: &TerraMock, token: &StsToken, bytes: &[u8]) -> String {
    let meta = mock
        .put_object(token, "shared/DJI_0100.JPG", bytes)
        .unwrap();
    let (_, r) = mock
        .call("POST", "/resources", r#"{"name":"page","type":"map"}"#)
        .await;
    let rid = r["data"]["uuid"].as_str().unwrap().to_owned();
    let cb = json!({"callbackParam": token.callback_param, "resourceUUID": rid,
        "files": [{"name": "shared/DJI_0100.JPG", "etag": meta.quoted_etag(), "checksum": meta.quoted_etag()}]});
    let (_, r) = mock
        .call("POST", "/store/upload_callback", &cb.to_string())
        .await;
    let uuid = r["data"][0]["uuid"].as_str().unwrap().to_owned();
    let (_, f) = mock.call("GET", &format!("/files/{uuid}"), "").await;
    f["data"]["url"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_sdk_presigned_links_and_forms_in_a_page() {
    let (Some(driver), Some(modules)) = (chromedriver(), node_modules()) else {
        eprintln!("skipped: no chromedriver or npm packages");
        return;
    };
    let (mock, token) = started(Provider::S3).await;
    let site = Site::start();
    let Some(presigned) = boto3_presigned(&mock, &token, &format!("{}/done", site.origin)) else {
        eprintln!("skipped: no python with boto3");
        return;
    };
    site.put("/s3-bundle.js", "text/javascript", s3_bundle(&modules));
    let file_bytes: Vec<u8> = (0..3000u32).map(|i| (i % 256) as u8).collect();
    let file_url = registered_file(&mock, &token, &file_bytes).await;
    let prefix = token.object_key("page/");
    let config = json!({
        "region": token.region, "endpoint": mock.base_url(), "bucket": token.cloud_bucket_name,
        "accessKeyId": token.access_key_id, "secretAccessKey": token.secret_access_key.expose(),
        "sessionToken": token.session_token.expose(), "prefix": prefix,
        "putUrl": presigned["put_url"], "fileUrl": file_url,
    });
    site.put(
        "/s3.html",
        "text/html",
        with_config(&page("s3.html"), &config),
    );
    let (_d, c) = browser(&driver, &[]).await;
    let r = run_page(&c, &format!("{}/s3.html", site.origin)).await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(
        r["put"]["etag"]
            .as_str()
            .is_some_and(|e| e.starts_with('"')),
        "{r}"
    );
    assert!(
        r["upload"]["etag"]
            .as_str()
            .is_some_and(|e| e.ends_with("-3\"")),
        "three parts: {r}"
    );
    assert_eq!(
        r["list"],
        json!([format!("{prefix}DJI_0001.JPG"), format!("{prefix}big.bin")]),
        "{r}"
    );
    assert_eq!(r["get"]["length"], 11 * 1024 * 1024 + 5);
    assert_eq!(r["get"]["sum"], r["get"]["want"]);
    assert_eq!(r["presigned"]["status"], 200, "{r}");
    assert!(
        r["presigned"]["etag"].as_str().is_some(),
        "the page read the presigned PUT's ETag: {r}"
    );
    assert_eq!(
        mock.object(Provider::S3, &token.object_key("presigned.jpg"))
            .unwrap()
            .size,
        500
    );
    assert_eq!(
        (r["file"]["status"].as_u64(), r["file"]["length"].as_u64()),
        (Some(200), Some(3000)),
        "{r}"
    );
    assert_eq!(r["file"]["sum"], sum(&file_bytes));

    // An HTML form from boto3's generate_presigned_post, and one from an OSS PostObject
    // policy: a file chosen in the page, the form submitted, the redirect back.
    let photo = tempfile::Builder::new().suffix(".JPG").tempfile().unwrap();
    std::fs::write(photo.path(), b"\xff\xd8 a photo from a form \xff\xd9").unwrap();
    let photo_name = photo
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    site.put(
        "/done",
        "text/html",
        "<!doctype html><title>done</title><p id=done>stored</p>",
    );
    let post = &presigned["post"];
    let fields: Vec<(String, String)> = post["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    submit_form(
        &c,
        &site,
        "s3form",
        post["url"].as_str().unwrap(),
        &fields,
        photo.path(),
    )
    .await;
    let landed = c.current_url().await.unwrap();
    let query: std::collections::HashMap<String, String> =
        landed.query_pairs().into_owned().collect();
    let key = token.object_key(&photo_name);
    assert_eq!(landed.path(), "/done", "{landed}");
    assert_eq!(
        (query.get("bucket").map(String::as_str), query.get("key")),
        (Some("terra-mock-s3"), Some(&key)),
        "{landed}"
    );
    let stored = mock
        .object(Provider::S3, &key)
        .expect("the form's file is stored");
    assert_eq!(query.get("etag"), Some(&format!("\"{}\"", stored.etag)));
    let _ = c.close().await;
}

/// Fills a form of `fields` and a file input with `file`, submits it, and waits for the
/// redirect to `site`'s `/done`.
async fn submit_form(
    c: &Client,
    site: &Site,
    id: &str,
    action: &str,
    fields: &[(String, String)],
    file: &std::path::Path,
) {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=hidden name=\"{k}\" value=\"{}\">",
                v.replace('&', "&amp;").replace('"', "&quot;")
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><title>form</title><form id={id} action=\"{action}\" method=post enctype=multipart/form-data>{inputs}<input type=file name=file id=file><button id=go>upload</button></form>"
    );
    site.put(&format!("/{id}.html"), "text/html", html);
    c.goto(&format!("{}/{id}.html", site.origin)).await.unwrap();
    c.find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(&file.to_string_lossy())
        .await
        .unwrap();
    c.find(Locator::Id("go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let url = c.current_url().await.unwrap();
        if url.as_str().starts_with(&format!("{}/done", site.origin)) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the form never came back: at {url}, page {}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oss_post_object_form_in_a_page() {
    let Some(driver) = chromedriver() else {
        eprintln!("skipped: no chromedriver");
        return;
    };
    let (mock, token) = started(Provider::Oss).await;
    let site = Site::start();
    site.put("/done", "text/html", "<!doctype html><title>done</title>");
    let redirect = format!("{}/done", site.origin);
    let policy = base64_of(&json!({
        "expiration": terra_types::time::format_rfc3339(std::time::SystemTime::now() + Duration::from_secs(600)),
        "conditions": [{"bucket": token.cloud_bucket_name}, ["starts-with", "$key", token.object_key("")],
                       {"success_action_redirect": redirect}, ["content-length-range", 1, 1048576]]
    }).to_string());
    let signature = {
        use hmac::{KeyInit, Mac};
        let mut m = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(
            token.secret_access_key.expose().as_bytes(),
        )
        .unwrap();
        m.update(policy.as_bytes());
        base64_of_bytes(&m.finalize().into_bytes())
    };
    let fields = vec![
        ("key".to_owned(), token.object_key("${filename}")),
        ("policy".into(), policy),
        ("OSSAccessKeyId".into(), token.access_key_id.clone()),
        ("Signature".into(), signature),
        (
            "x-oss-security-token".into(),
            token.session_token.expose().to_owned(),
        ),
        ("success_action_redirect".into(), redirect),
    ];
    let photo = tempfile::Builder::new().suffix(".JPG").tempfile().unwrap();
    std::fs::write(photo.path(), b"\xff\xd8 oss form \xff\xd9").unwrap();
    let name = photo
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (_d, c) = browser(&driver, &[]).await;
    let action = format!("http://localhost:{}/terra-mock-oss", mock.addr().port());
    submit_form(&c, &site, "ossform", &action, &fields, photo.path()).await;
    let landed = c.current_url().await.unwrap();
    let _ = c.close().await;
    let key = token.object_key(&name);
    assert!(
        landed
            .query_pairs()
            .any(|(k, v)| k == "key" && v == key.as_str()),
        "{landed}"
    );
    assert!(mock.object(Provider::Oss, &key).is_some(), "stored");
}

fn base64_of(s: &str) -> String {
    base64_of_bytes(s.as_bytes())
}

fn base64_of_bytes(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A bucket whose rules leave the page's origin out, and a bucket with CORS off: the
/// upload fails in the browser as S3 and OSS make it fail (the preflight's 403), and
/// nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_the_rules_leave_out_cannot_upload() {
    let (Some(driver), Some(modules)) = (chromedriver(), node_modules()) else {
        eprintln!("skipped: no chromedriver or npm packages");
        return;
    };
    let mock = TerraMock::builder()
        .account("us-ak", "us-sk", Provider::S3)
        .add_account("cn-ak", "cn-sk", Provider::Oss)
        .start()
        .await
        .unwrap();
    let site = Site::start();
    site.put("/s3-bundle.js", "text/javascript", s3_bundle(&modules));
    site.put(
        "/aliyun-oss-sdk.js",
        "text/javascript",
        std::fs::read(modules.join("ali-oss/dist/aliyun-oss-sdk.js")).unwrap(),
    );
    mock.set_storage_cors(
        Provider::S3,
        Some(CorsConfig {
            rules: vec![CorsRule {
                allowed_origins: vec!["https://the-real-app.example".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["*".into()],
                ..Default::default()
            }],
            ..Default::default()
        }),
    )
    .unwrap();
    mock.set_storage_cors(Provider::Oss, Some(CorsConfig::off()))
        .unwrap();
    let s3 = mock.issue_token("us-ak").unwrap();
    let oss = mock.issue_token("cn-ak").unwrap();
    let s3_config = json!({
        "region": s3.region, "endpoint": mock.base_url(), "bucket": s3.cloud_bucket_name,
        "accessKeyId": s3.access_key_id, "secretAccessKey": s3.secret_access_key.expose(),
        "sessionToken": s3.session_token.expose(), "prefix": s3.object_key(""), "only": "put",
    });
    let mut oss_config = oss_config(
        &oss,
        &format!("http://localhost:{}", mock.addr().port()),
        &oss.object_key(""),
    );
    oss_config["only"] = json!("put");
    site.put(
        "/s3.html",
        "text/html",
        with_config(&page("s3.html"), &s3_config),
    );
    site.put(
        "/oss.html",
        "text/html",
        with_config(&page("oss.html"), &oss_config),
    );
    let (_d, c) = browser(&driver, &[]).await;
    let r = run_page(&c, &format!("{}/s3.html", site.origin)).await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("fetch"),
        "a network error, as a browser reports a refused preflight: {r}"
    );
    let r = run_page(&c, &format!("{}/oss.html", site.origin)).await;
    let _ = c.close().await;
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(mock.object_count(), 0, "nothing was stored");
    let refused: Vec<u16> = mock
        .requests()
        .iter()
        .filter(|q| q.method == "OPTIONS")
        .map(|q| q.status)
        .collect();
    assert!(
        refused.len() >= 2 && refused.iter().all(|s| *s == 403),
        "{refused:?}"
    );
}
