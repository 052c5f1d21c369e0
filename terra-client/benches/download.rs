//! `cargo xtask bench download`: an output tree shaped like a 3D Tiles result (2 000 files
//! of 20–200 KiB in nested folders, plus 2 files of 256 MiB) stored in terra-mock (release
//! build, a separate process) and registered as a resource, then downloaded by
//! `TerraClient::download_outputs` (what `terra download` runs) and, in the same run from
//! the same endpoint, by s5cmd and rclone, interleaved over rounds. Each downloader runs
//! as a child process, so wall time and peak RSS (`ru_maxrss` through python's `resource`)
//! are measured the same way for all.
//!
//! Environment (set by `cargo xtask bench download`): `TERRA_MOCK_BIN`, `BENCH_PYTHON`,
//! `BENCH_S5CMD`, `BENCH_RCLONE`; optional `BENCH_SMALL` (2000), `BENCH_BIG_MIB` (256),
//! `BENCH_ROUNDS` (3), `BENCH_CONCURRENCY`, `BENCH_MAX_CONCURRENCY` and
//! `BENCH_MEMORY_BUDGET_MIB` (terra's `DownloadOptions`), `BENCH_LATENCY_MS` (0: added to every storage request by the mock's
//! fault injection, a stand-in for a slow link), `BENCH_SKIP` (tools left out,
//! comma-separated), `BENCH_SCRATCH` (where the trees are written: see `peers::scratch`).

#[path = "../../terra-store/benches/support/peers.rs"]
mod peers;

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use terra_client::TerraClient;
use terra_client::workflow::DownloadOptions;
use terra_store::{BackendOptions, Source, connect};
use terra_types::{CallbackFile, CreateResourceRequest, UploadCallbackRequest};

use peers::{Server, env, measure, num};

fn client(endpoint: &str) -> TerraClient {
    TerraClient::builder()
        .endpoint(endpoint)
        .credentials(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET)
        .build()
        .unwrap()
}

/// The tree: `(relative name, bytes)`, deterministic.
fn tree(small: usize, big_mib: usize) -> Vec<(String, usize)> {
    let mut x: u32 = 0x9e37_79b9;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut files: Vec<(String, usize)> = (0..small)
        .map(|i| {
            let kib = 20 + (next() % 181) as usize;
            let name = format!(
                "models/mesh/b3dm/Data/Tile_{:+04}_{:+04}/Tile_L{}_{i:05}.b3dm",
                i % 40,
                i / 40 % 50,
                17 + i % 5
            );
            (name, kib * 1024)
        })
        .collect();
    for i in 1..=2 {
        files.push((format!("lidars/terra_las/cloud_{i}.las"), big_mib << 20));
    }
    files
}

/// Writes the tree under `dir` (once).
fn make_tree(dir: &Path, files: &[(String, usize)]) {
    let marker = dir.join(".complete");
    if marker.exists() {
        return;
    }
    let mut x: u32 = 7;
    let chunk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    for (name, size) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut f = std::fs::File::create(&path).unwrap();
        let mut left = *size;
        let mut offset = name.len() % 4096;
        while left > 0 {
            let n = left.min(chunk.len() - offset);
            f.write_all(&chunk[offset..offset + n]).unwrap();
            left -= n;
            offset = 0;
        }
    }
    std::fs::write(marker, "").unwrap();
}

/// Every file of the tree under `out` (tools differ in where they put the prefix), with
/// its size: `(files, bytes)`.
fn count(out: &Path) -> (usize, u64) {
    let (mut n, mut bytes) = (0, 0);
    let mut stack = vec![out.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                n += 1;
                bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    (n, bytes)
}

/// The terra side, run as a child: `download_outputs` of `resource` into `out`.
async fn child(endpoint: &str, resource: &str, out: &Path) {
    let opts = DownloadOptions {
        concurrency: num("BENCH_CONCURRENCY", DownloadOptions::default().concurrency),
        max_concurrency: num(
            "BENCH_MAX_CONCURRENCY",
            DownloadOptions::default().max_concurrency,
        ),
        memory_budget: (num(
            "BENCH_MEMORY_BUDGET_MIB",
            (DownloadOptions::default().memory_budget >> 20) as usize,
        ) as u64)
            << 20,
        ..Default::default()
    };
    let s = client(endpoint)
        .download_outputs(resource, out, &opts, |_| {})
        .await
        .unwrap();
    assert_eq!(s.downloaded, s.selected);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(child(&args[2], &args[3], Path::new(&args[4])));
        return;
    }
    let Some(mock_bin) = env("TERRA_MOCK_BIN") else {
        eprintln!(
            "skipped: run through `cargo xtask bench download` (it installs the peers and builds terra-mock)"
        );
        return;
    };
    let python = env("BENCH_PYTHON").unwrap_or_else(|| "python3".into());
    let (small, big_mib, rounds, latency) = (
        num("BENCH_SMALL", 2000),
        num("BENCH_BIG_MIB", 256),
        num("BENCH_ROUNDS", 3),
        num("BENCH_LATENCY_MS", 0),
    );
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-download");
    let files = tree(small, big_mib);
    let src = target.join(format!("tree-{small}-{big_mib}"));
    make_tree(&src, &files);
    let total: u64 = files.iter().map(|f| f.1 as u64).sum();
    let total_mib = total as f64 / (1 << 20) as f64;

    let server = Server::start(&mock_bin);
    let endpoint = server.endpoint.clone();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Upload the tree under one token's prefix and register it as a resource.
    let api = client(&endpoint);
    let (token, resource) = rt.block_on(async {
        let token = api.obtain_token().await.unwrap();
        let backend = connect(
            &token,
            &BackendOptions {
                endpoint: Some(endpoint.clone()),
                ..Default::default()
            },
            reqwest::Client::new(),
        )
        .unwrap();
        let backend = &backend;
        let token = &token;
        let src = &src;
        let uploaded: Vec<CallbackFile> = futures::stream::iter(files.iter())
            .map(|(name, size)| async move {
                let etag = backend
                    .put(
                        &token.object_key(name),
                        &Source::file(src.join(name), *size as u64),
                    )
                    .await
                    .unwrap();
                Ok::<_, std::io::Error>(CallbackFile::new(name.clone(), etag))
            })
            .buffer_unordered(32)
            .try_collect()
            .await
            .unwrap();
        let resource = api
            .create_resource(&CreateResourceRequest::map("bench tree"))
            .await
            .unwrap()
            .uuid;
        for batch in uploaded.chunks(50) {
            api.upload_callback(&UploadCallbackRequest {
                callback_param: token.callback_param.clone(),
                resource_uuid: resource.clone(),
                files: batch.to_vec(),
            })
            .await
            .unwrap();
        }
        (token.clone(), resource)
    });
    if latency > 0 {
        rt.block_on(peers::storage_latency(
            &endpoint,
            &token.cloud_bucket_name,
            Some(latency),
        ));
    }
    let prefix = token.key_prefix().to_owned();
    let bucket = token.cloud_bucket_name.clone();
    let creds = peers::aws_env(&token);
    let me = std::env::current_exe()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let mut tools: Vec<(&str, Vec<String>)> = vec![(
        "terra",
        // The allocator setting the `terra` binary makes for itself (`mallopt`, see its
        // `main`), given the library's child the only way it can have it.
        strings(&[
            "env",
            "MALLOC_ARENA_MAX=2",
            &me,
            "--child",
            &endpoint,
            &resource,
            "{out}",
        ]),
    )];
    if let Some(s5) = env("BENCH_S5CMD") {
        tools.push((
            "s5cmd",
            strings(&[
                &s5,
                "--endpoint-url",
                &endpoint,
                "cp",
                &format!("s3://{bucket}/{prefix}*"),
                "{out}/",
            ]),
        ));
    }
    if let Some(rc) = env("BENCH_RCLONE") {
        let t = &token;
        tools.push((
            "rclone",
            strings(&[&rc, "copy", &format!(":s3:{bucket}/{prefix}"), "{out}"])
                .into_iter()
                .chain(peers::rclone_s3_flags(&endpoint, t))
                .collect(),
        ));
    }

    let skip = peers::skipped();
    tools.retain(|(name, _)| !skip.iter().any(|s| s == name));
    let mut results: Vec<(String, Vec<peers::Run>)> = tools
        .iter()
        .map(|(n, _)| ((*n).to_owned(), Vec::new()))
        .collect();
    for round in 1..=rounds {
        for (i, (name, template)) in tools.iter().enumerate() {
            let out = peers::scratch(&target).join(format!("terra-bench-download/out-{name}"));
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            let o = out.to_string_lossy().into_owned();
            let cmd: Vec<String> = template.iter().map(|a| a.replace("{out}", &o)).collect();
            let run = measure(&python, &cmd, &creds, &server);
            let (n, bytes) = count(&out);
            assert_eq!(
                (n, bytes),
                (files.len(), total),
                "{name} round {round}: not every file arrived whole"
            );
            run.print(round, name, total_mib);
            results[i].1.push(run);
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    drop(server);

    println!(
        "\n{} files ({small} of 20-200 KiB, 2 of {big_mib} MiB) = {total_mib:.0} MiB from terra-mock, {latency} ms added per storage request, {rounds} rounds, median:",
        files.len()
    );
    let medians = peers::medians(&results, total_mib);
    let ours = medians[0].1;
    if let Some((peer, best, _)) = medians[1..].iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        println!(
            "terra time / fastest peer ({peer}) time: {:.2}",
            ours / best
        );
    }
}
