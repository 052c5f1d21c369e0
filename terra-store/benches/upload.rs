//! `cargo xtask bench upload`: a flight of 400 files of 8 MiB uploaded to terra-mock's S3
//! endpoint (release build, a separate process) by terra-store and, in the same run and
//! to the same server, by s5cmd, rclone and the AWS CLI, interleaved over rounds. Each
//! uploader runs as a child process so wall time and peak RSS (`ru_maxrss` of the child,
//! through python's `resource`) are measured the same way for all.
//!
//! Environment (set by `cargo xtask bench upload`): `TERRA_MOCK_BIN`, `BENCH_PYTHON`,
//! `BENCH_S5CMD`, `BENCH_RCLONE`, `BENCH_AWS`; optional `BENCH_FILES` (400),
//! `BENCH_FILE_MIB` (8), `BENCH_ROUNDS` (3).

#[path = "support/peers.rs"]
mod peers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

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
    let opts = UploadOptions {
        backend: BackendOptions {
            endpoint: Some(endpoint.to_owned()),
            sign_payload,
            ..Default::default()
        },
        ..Default::default()
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

/// Runs `cmd` under python's getrusage; returns (seconds, peak RSS MiB).
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
    let (files, mib, rounds) = (
        num("BENCH_FILES", 400),
        num("BENCH_FILE_MIB", 8),
        num("BENCH_ROUNDS", 3),
    );
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-upload");
    let flight = target.join(format!("flight-{files}x{mib}MiB"));
    make_flight(&flight, files, mib);
    let total_mib = (files * mib) as f64;

    let server = Server::start(&mock_bin);
    let endpoint = server.endpoint.clone();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let token: StsToken = rt.block_on(async {
        let target = "/terra-rescon-be/v2/store/obtain_token";
        let s = terra_sign::sign(
            &terra_sign::SignableRequest::new("POST", target, b""),
            &terra_sign::Credentials::new(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET),
            &terra_sign::SigningParams::new(SystemTime::now()),
        );
        let mut req = reqwest::Client::new().post(format!("{endpoint}{target}"));
        for (n, v) in s.headers() {
            req = req.header(n, v);
        }
        let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
        serde_json::from_value(v["data"].clone()).unwrap()
    });
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

    let mut results: Vec<(String, Vec<(f64, f64)>)> = tools
        .iter()
        .map(|(n, _)| ((*n).to_owned(), Vec::new()))
        .collect();
    for round in 1..=rounds {
        for (i, (name, template)) in tools.iter().enumerate() {
            let prefix = format!("{}bench/r{round}/{name}/", token.key_prefix());
            let cmd: Vec<String> = template
                .iter()
                .map(|a| a.replace("{prefix}", &prefix))
                .collect();
            let (secs, rss) = measure(&python, &cmd, &creds);
            let stored = rt.block_on(async {
                let mut n = 0;
                for f in 0..files {
                    let key = format!("{prefix}DJI_{f:04}.JPG");
                    if backend
                        .head(&key)
                        .await
                        .unwrap()
                        .is_some_and(|o| o.size == (mib * 1024 * 1024) as u64)
                    {
                        n += 1;
                    }
                    backend.delete(&key).await.unwrap();
                }
                n
            });
            assert_eq!(
                stored, files,
                "{name} round {round}: only {stored} of {files} objects arrived"
            );
            println!(
                "round {round} {name:<12} {:>7.1} MiB/s  {:>6.1} s  peak RSS {:>6.1} MiB",
                total_mib / secs,
                secs,
                rss
            );
            results[i].1.push((secs, rss));
        }
    }
    drop(server);

    println!(
        "\n{files} files x {mib} MiB = {total_mib:.0} MiB to terra-mock's S3 endpoint, {rounds} rounds, median:"
    );
    let medians: Vec<(String, f64)> = peers::medians(&results, total_mib)
        .into_iter()
        .map(|(n, secs)| (n, total_mib / secs))
        .collect();
    let ours = medians[0].1;
    let peers = medians
        .iter()
        .filter(|(name, _)| !name.starts_with("terra-store"));
    if let Some((peer, best)) = peers.max_by(|a, b| a.1.total_cmp(&b.1)) {
        println!("terra-store / fastest peer ({peer}): {:.2}", ours / best);
    }
}
