//! A 256 MiB multipart upload through the standalone `terra-mock` binary: the server's peak
//! resident memory grows by less than half a part (bodies stream to disk, nothing holds a
//! part), and a SIGTERM stops it cleanly, removing what it stored. The memory figures for
//! gigabytes are in `cargo xtask bench mock` (multipart), not in the test suite.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use aws_sdk_s3::config::{Builder, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use terra_sign::{SignableRequest, SigningParams, sign};

const PART: u64 = 64 * 1024 * 1024;
const PARTS: i32 = 4;

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

struct Child(std::process::Child);

impl Child {
    /// SIGTERM, as `kill`, systemd or a container runtime would send; SIGKILL if the
    /// server has not exited after 10 s.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.0.kill();
        self.0.wait().unwrap()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}

#[tokio::test]
async fn a_multipart_upload_streams_through_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_terra-mock"))
            .args(["serve", "--addr", "127.0.0.1:0", "--log", "warn"])
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");

    let target = "/terra-rescon-be/v2/store/obtain_token";
    let signed = sign(
        &SignableRequest::new("POST", target, b""),
        &terra_sign::Credentials::new(terra_mock::DEFAULT_APP_KEY, terra_mock::DEFAULT_SECRET),
        &SigningParams::new(SystemTime::now()),
    );
    let mut req = reqwest::Client::new().post(format!("{base}{target}"));
    for (n, v) in signed.headers() {
        req = req.header(n, v);
    }
    let env: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    let token: terra_types::StsToken = serde_json::from_value(env["data"].clone()).unwrap();

    let creds = Credentials::new(
        &token.access_key_id,
        token.secret_access_key.expose(),
        Some(token.session_token.expose().to_owned()),
        None,
        "t",
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        Builder::new()
            .behavior_version_latest()
            .credentials_provider(creds)
            .region(Region::new(token.region.clone()))
            .endpoint_url(&base)
            .force_path_style(true)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .build(),
    );

    // One 64 MiB part on disk, uploaded four times.
    let mut part = tempfile::NamedTempFile::new().unwrap();
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    for _ in 0..PART / chunk.len() as u64 {
        part.write_all(&chunk).unwrap();
    }
    part.flush().unwrap();
    let before = peak_rss_kib(pid);

    let (bucket, key) = (
        &token.cloud_bucket_name,
        token.object_key("big/mission.bin"),
    );
    let id = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut done = Vec::new();
    for n in 1..=PARTS {
        let body = ByteStream::from_path(part.path()).await.unwrap();
        let r = s3
            .upload_part()
            .bucket(bucket)
            .key(&key)
            .upload_id(&id)
            .part_number(n)
            .body(body)
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some((PART * PARTS as u64) as i64));
    assert!(head.e_tag().unwrap().ends_with("-4\""));

    let after = peak_rss_kib(pid);
    let grown = after.saturating_sub(before);
    assert!(
        grown < PART / 1024 / 2,
        "peak RSS grew by {} MiB ({} → {} MiB) for {} MiB parts: bodies must stream to disk",
        grown / 1024,
        before / 1024,
        after / 1024,
        PART >> 20
    );

    let stored: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(stored.len(), 1, "the server keeps its objects under TMPDIR");
    let status = child.terminate();
    assert!(status.success(), "a SIGTERM is a clean stop: {status}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "storage removed on SIGTERM: {left:?}");
}
