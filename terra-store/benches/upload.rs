//! `cargo xtask bench upload`: a flight of 400 files of 8 MiB uploaded to terra-mock's S3
//! endpoint (release build, a separate process) by terra-store and, in the same run and
//! to the same server, by s5cmd, rclone and the AWS CLI, interleaved over rounds. Each
//! uploader runs as a child process so wall time and peak RSS (`ru_maxrss` of the child,
//! through python's `resource`) are measured the same way for all.
//!
//! Environment (set by `cargo xtask bench upload`): `TERRA_MOCK_BIN`, `TERRA_BIN` (the
//! `terra` command line, for `terra upload`), `BENCH_PYTHON`, `BENCH_S5CMD`,
//! `BENCH_RCLONE`, `BENCH_AWS`; optional `BENCH_FILES` (400), `BENCH_FILE_MIB` (8),
//! `BENCH_ROUNDS` (3), `BENCH_LATENCY_MS` (0: the mock delays every storage request this
//! long, a slow link's round trip), `BENCH_SKIP` (tools left out, comma-separated),
//! `BENCH_PIN=1` (the server on core 0, the tools on core 1, with `taskset`),
//! `BENCH_SCRATCH` (where the mock keeps the objects: see `peers::scratch`). Every run
//! reports wall time, the tool's CPU time and the server's.
//!
//! `BENCH_PHOTOS=N` uploads a flight of N small JPEG photos with GPS (about 10 KB each)
//! instead: the case where the cost per file dominates. It adds `terra upload` (upload
//! and registration through the workflow, with its journal) beside terra-store alone.

#[path = "support/peers.rs"]
mod peers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use futures::StreamExt;
use peers::{Server, env, measure, num};
use terra_store::*;
use terra_types::StsToken;

/// The terra-store side, run as a child: uploads every file of `dir` under `prefix`.
async fn child(dir: &Path, endpoint: &str, token: StsToken, prefix: &str, sign_payload: bool) {
    let mut token = token;
    token.store_path = format!("{prefix}{{fileName}}");
    let provider = FnTokenProvider::new(move || {
        let t = token.clone();
        async move { Ok::<_, BoxError>(t) }
    });
    let mut items: Vec<UploadItem> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| UploadItem::new(p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let defaults = UploadOptions::default();
    let opts = UploadOptions {
        backend: BackendOptions {
            endpoint: Some(endpoint.to_owned()),
            sign_payload,
            ..Default::default()
        },
        // Experiments only; the figures in BENCHMARKS.md use the defaults.
        files_in_flight: num("BENCH_FILES_IN_FLIGHT", defaults.files_in_flight),
        requests_in_flight: num("BENCH_REQUESTS_IN_FLIGHT", defaults.requests_in_flight),
        ..defaults
    };
    let done = Uploader::new(Arc::new(provider), opts)
        .upload(items)
        .await
        .unwrap();
    eprintln!("terra-store: {} files", done.len());
}

fn make_flight(dir: &Path, files: usize, mib: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let size = mib * 1024 * 1024;
    let mut block = vec![0u8; size];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    for i in 0..files {
        let p = dir.join(format!("DJI_{i:04}.JPG"));
        if p.metadata()
            .map(|m| m.len() as usize == size)
            .unwrap_or(false)
        {
            continue;
        }
        block[..8].copy_from_slice(&(i as u64).to_le_bytes());
        std::fs::File::create(&p)
            .unwrap()
            .write_all(&block)
            .unwrap();
    }
}

/// `n` distinct small JPEG photos with GPS (about 10 KB each); returns the total bytes.
fn make_photos(dir: &Path, n: usize) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let mut total = 0;
    for i in 0..n {
        let p = dir.join(format!("DJI_{i:05}.JPG"));
        if let Ok(m) = p.metadata() {
            total += m.len();
            continue;
        }
        let (lat, lon) = (
            22.5 + (i / 100) as f64 * 1e-4,
            113.9 + (i % 100) as f64 * 1e-4,
        );
        let jpeg = terra_mock::sample::jpeg_with_gps(200, 150, i as u32, lat, lon, 100.0).unwrap();
        total += jpeg.len() as u64;
        std::fs::write(&p, jpeg).unwrap();
    }
    total
}

/// A signed TerraAPI call to the mock as its default account.
async fn api(endpoint: &str, method: &str, path: &str) -> serde_json::Value {
    let target = format!("/terra-rescon-be/v2{path}");
    let s = terra_sign::sign(
        &terra_sign::SignableRequest::new(method, &target, b""),
        &terra_sign::Credentials::new(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET),
        &terra_sign::SigningParams::new(SystemTime::now()),
    );
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(method, format!("{endpoint}{target}"));
    for (n, v) in s.headers() {
        req = req.header(n, v);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(mode @ ("--child" | "--child-signed")) = args.get(1).map(String::as_str) {
        let token: StsToken =
            serde_json::from_str(&std::fs::read_to_string(&args[4]).unwrap()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(child(
            Path::new(&args[2]),
            &args[3],
            token,
            &args[5],
            mode == "--child-signed",
        ));
        return;
    }
    let Some(mock_bin) = env("TERRA_MOCK_BIN") else {
        eprintln!(
            "skipped: run through `cargo xtask bench upload` (it installs the peers and builds terra-mock)"
        );
        return;
    };
    let python = env("BENCH_PYTHON").unwrap_or_else(|| "python3".into());
    let photos = num("BENCH_PHOTOS", 0);
    let (files, mib, rounds, latency) = (
        if photos > 0 {
            photos
        } else {
            num("BENCH_FILES", 400)
        },
        num("BENCH_FILE_MIB", 8),
        num("BENCH_ROUNDS", 3),
        num("BENCH_LATENCY_MS", 0),
    );
    let skip = peers::skipped();
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-upload");
    let (flight, total_bytes) = if photos > 0 {
        let dir = target.join(format!("photos-{photos}"));
        let bytes = make_photos(&dir, photos);
        (dir, bytes)
    } else {
        let dir = target.join(format!("flight-{files}x{mib}MiB"));
        make_flight(&dir, files, mib);
        (dir, (files * mib * 1024 * 1024) as u64)
    };
    let names: Vec<(String, u64)> = {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(&flight)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let total_mib = total_bytes as f64 / 1048576.0;

    let server = Server::start(&mock_bin);
    let endpoint = server.endpoint.clone();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let token: StsToken = serde_json::from_value(
        rt.block_on(api(&endpoint, "POST", "/store/obtain_token"))["data"].clone(),
    )
    .unwrap();
    let token_file = target.join("token.json");
    std::fs::write(&token_file, serde_json::to_string(&token).unwrap()).unwrap();
    let bucket = token.cloud_bucket_name.clone();
    let creds = peers::aws_env(&token);
    let backend = connect(
        &token,
        &BackendOptions {
            endpoint: Some(endpoint.clone()),
            ..Default::default()
        },
        reqwest::Client::new(),
    )
    .unwrap();
    let me = std::env::current_exe()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let dir = flight.to_string_lossy().into_owned();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    // Argument templates; `{prefix}` is replaced per run.
    let mut tools: Vec<(&str, Vec<String>)> = vec![(
        "terra-store",
        strings(&[
            &me,
            "--child",
            &dir,
            &endpoint,
            &token_file.to_string_lossy(),
            "{prefix}",
        ]),
    )];
    // The same with payload signing (a SHA-256 pass over every body), like for like with
    // peers that sign payloads.
    let signed = tools[0]
        .1
        .iter()
        .map(|a| {
            if a == "--child" {
                "--child-signed".to_owned()
            } else {
                a.clone()
            }
        })
        .collect();
    tools.push(("terra-store-signed", signed));
    if let (Some(terra), true) = (env("TERRA_BIN"), photos > 0) {
        // Upload and registration, as a user runs it: preflight, journal, callbacks.
        tools.push((
            "terra-upload",
            strings(&[
                &terra,
                "--endpoint",
                &endpoint,
                "--app-key",
                terra_mock::DEFAULT_APP_KEY,
                "--secret",
                terra_mock::DEFAULT_SECRET,
                "--json",
                "upload",
                &dir,
                "--type",
                "3d",
                "--journal",
                "{journal}",
            ]),
        ));
    }
    if let Some(s5) = env("BENCH_S5CMD") {
        tools.push((
            "s5cmd",
            strings(&[
                &s5,
                "--endpoint-url",
                &endpoint,
                "cp",
                &format!("{dir}/*"),
                &format!("s3://{bucket}/{{prefix}}"),
            ]),
        ));
    }
    if let Some(rc) = env("BENCH_RCLONE") {
        let t = &token;
        tools.push((
            "rclone",
            strings(&[&rc, "copy", &dir, &format!(":s3:{bucket}/{{prefix}}")])
                .into_iter()
                .chain(peers::rclone_s3_flags(&endpoint, t))
                .collect(),
        ));
    }
    if let Some(aws) = env("BENCH_AWS") {
        tools.push((
            "aws-cli",
            strings(&[
                &aws,
                "s3",
                "cp",
                "--recursive",
                "--only-show-errors",
                "--endpoint-url",
                &endpoint,
                &dir,
                &format!("s3://{bucket}/{{prefix}}"),
            ]),
        ));
    }

    tools.retain(|(name, _)| !skip.iter().any(|s| s == name));
    let faults = |on: bool| {
        if latency > 0 {
            rt.block_on(peers::storage_latency(
                &endpoint,
                &bucket,
                on.then_some(latency),
            ));
        }
    };
    let mut results: Vec<(String, Vec<peers::Run>)> = tools
        .iter()
        .map(|(n, _)| ((*n).to_owned(), Vec::new()))
        .collect();
    for round in 1..=rounds {
        for (i, (name, template)) in tools.iter().enumerate() {
            let prefix = format!("{}bench/r{round}/{name}/", token.key_prefix());
            let journal = target.join(format!("journal-r{round}"));
            let _ = std::fs::remove_dir_all(&journal);
            let cmd: Vec<String> = template
                .iter()
                .map(|a| {
                    a.replace("{prefix}", &prefix)
                        .replace("{journal}", &journal.to_string_lossy())
                })
                .collect();
            faults(true);
            let run = measure(&python, &cmd, &creds, &server);
            faults(false);
            let stored = if *name == "terra-upload" {
                // `terra upload` writes under a prefix of its own token and registers
                // every file: the newest resource holds them all.
                let page = rt.block_on(api(&endpoint, "GET", "/resources?rows=1"));
                let n = page["data"]["list"][0]["fileCount"].as_u64().unwrap_or(0) as usize;
                if n != files {
                    eprintln!("the newest resource: {page}");
                }
                n
            } else {
                rt.block_on(async {
                    futures::stream::iter(&names)
                        .map(|(n, size)| {
                            let key = format!("{prefix}{n}");
                            let backend = &backend;
                            async move {
                                let ok = backend
                                    .head(&key)
                                    .await
                                    .unwrap()
                                    .is_some_and(|o| o.size == *size);
                                backend.delete(&key).await.unwrap();
                                usize::from(ok)
                            }
                        })
                        .buffer_unordered(32)
                        .fold(0, |a, b| async move { a + b })
                        .await
                })
            };
            assert_eq!(
                stored, files,
                "{name} round {round}: only {stored} of {files} objects arrived"
            );
            run.print(round, name, total_mib);
            results[i].1.push(run);
        }
    }
    drop(server);

    println!(
        "\n{files} files, {total_mib:.0} MiB to terra-mock's S3 endpoint, {latency} ms added per storage request, {rounds} rounds, {}, median:",
        if peers::pinned() {
            "server pinned to core 0, tools to core 1"
        } else {
            "client and server sharing the cores"
        }
    );
    let medians = peers::medians(&results, total_mib);
    let peers = medians
        .iter()
        .filter(|(name, _, _)| !name.starts_with("terra"));
    if let Some((peer, best, best_cpu)) = peers.min_by(|a, b| a.1.total_cmp(&b.1)) {
        for (ours, secs, cpu) in medians.iter().filter(|(n, _, _)| n.starts_with("terra")) {
            println!(
                "{ours} / fastest peer ({peer}): {:.2} of its time, {:.2} of its CPU",
                secs / best,
                cpu / best_cpu
            );
        }
    }
}
