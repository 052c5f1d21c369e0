//! Bad days with `--data-dir`: a full disk, an import that does not fit, a damaged
//! database, bodies gone from the objects folder. Each asserts what a user of a persistent
//! emulator relies on: an answer of 2xx means kept, and a damaged directory is a clear story.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;

/// A tmpfs of a few MiB on a new temporary folder, unmounted on drop. Mounting needs root
/// (`cargo xtask test` runs as root in CI); elsewhere the tests that need one skip, or fail
/// under `TERRA_REQUIRE_SERVICES`.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u64) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Self { dir });
        }
        assert!(
            std::env::var_os("TERRA_REQUIRE_SERVICES").is_none(),
            "cannot mount a tmpfs (needs root): the disk-full tests need one"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// An object of `len` bytes that differs by key.
fn body(key: &str, len: usize) -> Vec<u8> {
    let seed = key
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13) ^ seed)
        .collect()
}

/// The status and S3 error code of a PUT through the SDK (200 and "" when it worked).
async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, bytes: &[u8]) -> (u16, String) {
    match s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.to_vec().into())
        .send()
        .await
    {
        Ok(_) => (200, String::new()),
        Err(e) => {
            use aws_sdk_s3::error::ProvideErrorMetadata as _;
            let status = e.raw_response().map_or(0, |r| r.status().as_u16());
            (status, e.code().unwrap_or("").to_owned())
        }
    }
}

/// The body files in `<data>/objects` (in its shard folders).
fn body_files(data: &Path) -> usize {
    count_files(&data.join("objects"))
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { count_files(&p) } else { 1 })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_acknowledges_only_what_it_keeps_and_recovers() {
    let Some(disk) = SmallDisk::mount(20) else {
        return;
    };
    let data: PathBuf = disk.path().join("state");
    let data_s = data.to_str().unwrap().to_owned();
    let server = Server::start(4096, &["--data-dir", &data_s], &[]);
    let http = reqwest::Client::new();
    let token: StsToken = serde_json::from_value(
        call(&http, &server.base, "POST", "/store/obtain_token", None)
            .await
            .unwrap()["data"]
            .clone(),
    )
    .unwrap();
    let bucket = token.cloud_bucket_name.clone();
    let s3 = s3_client(&server.base, &token, None, None);
    let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();

    // 1 MiB objects until the disk is full: each is kept (200) or refused as S3 refuses a
    // failure of its own (500 InternalError); never a client-fault code.
    let mut refused = 0;
    for i in 0..40 {
        if refused == 3 {
            break;
        }
        let key = token.object_key(&format!("big-{i}.bin"));
        let bytes = body(&key, 1 << 20);
        match put(&s3, &bucket, &key, &bytes).await {
            (200, _) => {
                kept.insert(key, bytes);
            }
            (status, code) => {
                assert_eq!((status, code.as_str()), (500, "InternalError"), "PUT {i}");
                refused += 1;
            }
        }
    }
    assert!(
        refused > 0 && kept.len() > 5,
        "{} kept, {refused} refused",
        kept.len()
    );
    // Then empty objects: 200 only for those kept.
    for i in 0..20 {
        let key = token.object_key(&format!("empty-{i}.bin"));
        match put(&s3, &bucket, &key, b"").await {
            (200, _) => {
                kept.insert(key, Vec::new());
            }
            (status, code) => assert_eq!((status, code.as_str()), (500, "InternalError")),
        }
    }
    // Reads keep working, and so does the API.
    let (first, bytes) = kept.iter().next().unwrap();
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key(first)
        .send()
        .await
        .unwrap();
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        &bytes[..]
    );
    let listed = call(&http, &server.base, "GET", "/resources", None)
        .await
        .unwrap();
    assert_eq!(listed["result"]["code"], 0, "{listed}");
    // Deletes free space, and writes succeed again.
    let gone: Vec<String> = kept
        .keys()
        .filter(|k| k.contains("big-"))
        .take(6)
        .cloned()
        .collect();
    for k in &gone {
        s3.delete_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .unwrap();
        kept.remove(k);
    }
    let key = token.object_key("after.bin");
    let bytes = body(&key, 1 << 20);
    assert_eq!(
        put(&s3, &bucket, &key, &bytes).await,
        (200, String::new()),
        "space is back"
    );
    kept.insert(key, bytes);

    // After SIGKILL and a restart: exactly what was acknowledged, byte for byte.
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let again = Server::start(4096, &["--data-dir", &data_s], &[]);
    let s3 = s3_client(&again.base, &token, None, None);
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(token.object_key(""))
        .send()
        .await
        .unwrap();
    let have: Vec<String> = listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect();
    assert_eq!(
        have,
        kept.keys().cloned().collect::<Vec<_>>(),
        "what was acknowledged, nothing else"
    );
    for (k, bytes) in &kept {
        let got = s3.get_object().bucket(&bucket).key(k).send().await.unwrap();
        assert_eq!(
            &got.body.collect().await.unwrap().into_bytes()[..],
            &bytes[..],
            "{k}"
        );
    }
    // Nothing half-written stays on disk: one body file per object.
    assert_eq!(body_files(&data), kept.len());
}

#[tokio::test]
async fn an_import_that_does_not_fit_changes_nothing() {
    let Some(disk) = SmallDisk::mount(12) else {
        return;
    };
    let data = disk.path().join("state");
    let mock = TerraMock::builder().data_dir(&data).build().unwrap();
    let api = Api::new(&mock);
    api.resource_with_images(4).await;
    let before = export(&mock).await;
    let stats = |m: &TerraMock| {
        let s = m.stats(m.app_key());
        (
            s.map_resources,
            s.files,
            m.object_count(),
            m.accounts().len(),
        )
    };
    let counts = stats(&mock);
    assert_eq!((counts.0, counts.1, counts.2), (1, 4, 4));
    let files_before = body_files(&data);

    // The same state plus an object that does not fit on the disk.
    let mut doc = before.clone();
    let mut big = doc["objects"][0].clone();
    use base64::Engine as _;
    big["key"] = format!("{}-big", big["key"].as_str().unwrap()).into();
    big["data"] = base64::engine::general_purpose::STANDARD
        .encode(vec![1u8; 16 << 20])
        .into();
    big["size"] = (16u64 << 20).into();
    doc["objects"].as_array_mut().unwrap().push(big);
    let (status, answer) = import(&mock, &doc).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing changed"),
        "{answer}"
    );
    assert_eq!(
        stats(&mock),
        counts,
        "1 resource, 4 files, 4 objects, the account"
    );
    let without_clock = |mut v: Value| {
        v.as_object_mut().unwrap().remove("clock");
        v
    };
    assert_same(
        &without_clock(export(&mock).await),
        &without_clock(before),
        "the state after a failed import",
    );
    assert_eq!(
        body_files(&data),
        files_before,
        "no staged body left behind"
    );
    // And after a restart too.
    drop(mock);
    let again = TerraMock::builder().data_dir(&data).build().unwrap();
    assert_eq!(stats(&again), counts);
}

/// A data directory with one account, a resource and four objects, the server stopped.
async fn stopped_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mock = TerraMock::builder().data_dir(dir.path()).build().unwrap();
    Api::new(&mock).resource_with_images(4).await;
    drop(mock);
    dir
}

/// `terra-mock serve --data-dir DIR extra...`: its exit status (None while still running
/// after the banner) and what it printed.
fn serve_once(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_terra-mock"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead as _;
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let _ = out.read_line(&mut line);
    let status = match child.try_wait().unwrap() {
        Some(s) => s.code(),
        None if line.contains("listening on") => {
            let _ = child.kill();
            None
        }
        None => child.wait().unwrap().code(),
    };
    let mut err = String::new();
    use std::io::Read as _;
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let _ = child.wait();
    (status, line, err)
}

#[tokio::test]
async fn a_damaged_database_names_the_file_and_the_way_on() {
    for damage in ["truncated", "overwritten"] {
        let dir = stopped_data_dir().await;
        let db = dir.path().join("state.db");
        let len = std::fs::metadata(&db).unwrap().len();
        match damage {
            "truncated" => {
                let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
                f.set_len(len / 2).unwrap();
            }
            _ => {
                let mut bytes = std::fs::read(&db).unwrap();
                bytes[..4096].fill(0x5a);
                std::fs::write(&db, bytes).unwrap();
            }
        }
        let (status, _, err) = serve_once(dir.path(), &[]);
        assert_eq!(status, Some(1), "{damage}: refuses to start: {err}");
        for said in [
            db.to_str().unwrap(),
            "damaged",
            "move",
            "--reset-damaged-state",
        ] {
            assert!(err.contains(said), "{damage}: names {said:?}: {err}");
        }
        // The flag starts afresh, keeping the damaged file aside.
        let (status, banner, err) = serve_once(dir.path(), &["--reset-damaged-state"]);
        assert_eq!(status, None, "{damage}: starts: {banner}{err}");
        let kept: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".damaged-"))
            .collect();
        assert!(
            kept.iter().any(|n| n.starts_with("state.db.damaged-"))
                && kept.iter().any(|n| n.starts_with("objects.damaged-")),
            "{damage}: {kept:?}"
        );
    }
}

#[tokio::test]
async fn objects_whose_bodies_are_gone_are_reported_and_dropped() {
    let dir = stopped_data_dir().await;
    let objects = dir.path().join("objects");
    std::fs::remove_dir_all(&objects).unwrap();
    std::fs::create_dir(&objects).unwrap();
    let log = dir.path().join("log.txt");
    let server = Server::start_logging(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[],
        log.to_str().unwrap(),
    );
    let http = reqwest::Client::new();
    let token: StsToken = serde_json::from_value(
        call(&http, &server.base, "POST", "/store/obtain_token", None)
            .await
            .unwrap()["data"]
            .clone(),
    )
    .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("count=4") && text.contains("DJI_0000.JPG"),
        "the count and the first keys: {text}"
    );
    // Listing and GET agree: the files' own download links find no object (404
    // NoSuchKey, not a 500), and nothing is listed without its body.
    let page = call(
        &http,
        &server.base,
        "GET",
        "/files?rows=100&needURL=true",
        None,
    )
    .await
    .unwrap();
    let files = page["data"]["list"].as_array().unwrap();
    assert_eq!(files.len(), 4, "the file rows stay: {page}");
    for f in files {
        let url = f["url"].as_str().unwrap();
        // (A presigned link is signed for GET only.)
        let r = http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 404, "{url}");
        assert!(r.text().await.unwrap().contains("NoSuchKey"));
    }
    let _ = token;
    assert_eq!(count_files(&objects), 0);
    let stats = http
        .get(format!("{}/_terra-mock/v1/stats", server.base))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        stats["objects"], 0,
        "no object listed without its body: {stats}"
    );
}
