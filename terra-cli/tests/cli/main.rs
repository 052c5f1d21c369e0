//! The `terra` binary: crash and resume (a real child killed with SIGKILL), bad input
//! with clear errors and exit codes, help everywhere, and the demo.

mod dashboard;
mod errors;
mod filters;
mod journals;
mod proxy;
mod resume;
mod typed;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use terra_mock::sample::{FlightPlan, write_flight};
use terra_mock::{Fault, FaultRule, FaultScope, JobTiming, TerraMock};
use terra_types::ResourceType;

/// A sample flight of `images` photos with GPS in `dir`.
fn flight(dir: &Path, images: usize) {
    write_flight(
        dir,
        &FlightPlan {
            images,
            ..Default::default()
        },
    )
    .unwrap();
}

/// An emulator with quick jobs (every status visited within a few seconds).
async fn mock() -> TerraMock {
    mock_with(JobTiming::default().scaled_to(Duration::from_secs(2), 10)).await
}

async fn mock_with(timing: JobTiming) -> TerraMock {
    TerraMock::builder()
        .timing(timing)
        .start()
        .await
        .expect("the emulator starts")
}

/// The single output resource of the account is in `out`, byte for byte.
fn assert_outputs_complete(mock: &TerraMock, out: &Path) -> Vec<String> {
    let outputs = output_resources(mock);
    assert_eq!(outputs.len(), 1, "one output resource");
    mock.check_download(mock.app_key(), &outputs[0], out)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn terra(mock: &TerraMock, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_terra"));
    c.args(args)
        .arg("--endpoint")
        .arg(mock.base_url())
        .env("DJI_APP_KEY", mock.app_key())
        .env("DJI_SECRET_KEY", mock.secret())
        .env_remove("TERRA_ENDPOINT");
    c
}

fn reconstruct(mock: &TerraMock, input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = terra(
        mock,
        &[
            "reconstruct",
            input.to_str().unwrap(),
            "--type",
            "3d",
            "--out",
            out.to_str().unwrap(),
            "--max-poll-interval",
            "0.2",
        ],
    );
    c.args(extra);
    c
}

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn finish(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "terra failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command expected to fail: its exit code and stderr.
fn failing(mut c: Command) -> (i32, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Successful storage requests of `method`, by object name (the key after the token's
/// prefix, or the output path).
fn storage_requests(mock: &TerraMock, method: &str) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for r in mock.requests() {
        if r.method == method && !r.is_api() && r.status == 200 {
            let name = r.path().rsplit('/').next().unwrap_or_default().to_owned();
            *n.entry(name).or_default() += 1;
        }
    }
    n
}

/// One resource, one job started once, every photo registered once.
fn assert_single_run(mock: &TerraMock, photos: u64) {
    let s = mock.stats(mock.app_key());
    assert_eq!(
        (s.map_resources, s.jobs, s.job_starts),
        (1, 1, 1),
        "nothing created twice: {s:?}"
    );
    let input = mock
        .resources(mock.app_key())
        .into_iter()
        .find(|r| r.resource_type == ResourceType::Map)
        .unwrap();
    assert_eq!(input.file_count, photos, "every photo registered once");
}

fn journal_names(out: &Path, step: &str) -> Vec<String> {
    std::fs::read_to_string(out.join(".terra-state.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("\"step\":\"{step}\"")))
        .filter_map(|l| {
            l.split("\"name\":\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parts_of_the_flow_as_commands() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    flight(&dir.path().join("in"), 10);
    let json = |args: &[&str]| -> serde_json::Value {
        let mut c = terra(&mock, args);
        c.arg("--json");
        serde_json::from_slice(&finish(c).stdout).unwrap()
    };
    let up = json(&[
        "upload",
        dir.path().join("in").to_str().unwrap(),
        "--name",
        "cli flight",
    ]);
    assert_eq!(up["files"], 10);
    let resource = up["resource"].as_str().unwrap().to_owned();
    let job = json(&["jobs", "create", "cli job"]);
    let job = job["uuid"].as_str().unwrap().to_owned();
    let started = json(&[
        "jobs",
        "start",
        &job,
        "--resource",
        &resource,
        "--type",
        "2d",
        "--param",
        "map_mode=0",
    ]);
    assert_eq!(started["status"], 1);
    let done = json(&["jobs", "wait", &job]);
    assert_eq!(done["status"], 6);
    let files = json(&[
        "files",
        "list",
        "--resource",
        done["outputResourceUuid"].as_str().unwrap(),
        "--all",
    ]);
    let tif = files["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "map/result.tif")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = dir.path().join("result.tif");
    finish(terra(
        &mock,
        &["files", "download", &tif, "--out", target.to_str().unwrap()],
    ));
    assert_eq!(&std::fs::read(&target).unwrap()[..4], b"II*\0");
    let token = json(&["token"]);
    assert!(
        token["sessionToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let text = String::from_utf8(finish(terra(&mock, &["token"])).stdout).unwrap();
    assert!(
        !text.contains(token["sessionToken"].as_str().unwrap()),
        "secrets hidden in text output"
    );
    let signed = String::from_utf8(
        finish(terra(
            &mock,
            &[
                "sign",
                "--method",
                "POST",
                "--target",
                "/terra-rescon-be/v2/resources",
                "--body",
                r#"{"name":"test-resource","type":"map"}"#,
                "--date",
                "Wed, 25 Nov 2026 10:00:00 GMT",
                "--app-key",
                "test-ak",
                "--secret",
                "test-sk",
            ],
        ))
        .stdout,
    )
    .unwrap();
    assert!(
        signed.contains(r#"signature="LeAE5bVrstlJ6ZBbcD1fK5jMI2UCTumgEDq0UpDmOSg=""#),
        "{signed}"
    );
}

#[test]
fn the_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_terra"))
        .args(["demo", "--out"])
        .arg(dir.path().join("demo"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            summary["uploadedFiles"].as_u64(),
            summary["status"].as_i64()
        ),
        (Some(24), Some(6))
    );
    assert!(dir.path().join("demo/models/mesh/obj/Block.obj").exists());
}

/// Every command that takes a job type, with each of the three types and only the
/// arguments it requires: the defaults of each type must work (LiDAR's once overflowed the
/// stack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_type_with_only_the_required_arguments() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    flight(&photos, 10);
    let lidar = dir.path().join("lidar");
    terra_mock::sample::write_lidar_mission(&lidar).unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let mut c = terra(&mock, args);
        c.args(["--json", "--max-poll-interval", "0.2"]);
        serde_json::from_slice(&finish(c).stdout).unwrap()
    };
    for kind in ["2d", "3d", "lidar"] {
        let input = if kind == "lidar" { &lidar } else { &photos };
        let input = input.to_str().unwrap();

        // reconstruct DIR --type K --out OUT
        let out = dir.path().join(format!("out-{kind}"));
        let before = output_resources(&mock);
        let done = finish(reconstruct_with(&mock, input, kind, &out));
        assert!(done.status.success(), "reconstruct --type {kind}");
        let new: Vec<String> = output_resources(&mock)
            .into_iter()
            .filter(|r| !before.contains(r))
            .collect();
        assert_eq!(new.len(), 1, "{kind}: one job, one output resource");
        mock.check_download(mock.app_key(), &new[0], &out)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));

        // upload DIR --type K, then jobs start JOB --resource R --type K
        let up = json(&["upload", input, "--type", kind]);
        let resource = up["resource"].as_str().unwrap().to_owned();
        let job = json(&["jobs", "create", kind])["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let started = json(&[
            "jobs",
            "start",
            &job,
            "--resource",
            &resource,
            "--type",
            kind,
        ]);
        assert_eq!(started["status"], 1, "jobs start --type {kind}: {started}");
        let done = json(&["jobs", "wait", &job]);
        assert_eq!(done["status"], 6, "{kind}: {done}");

        // demo --type K (its own emulator)
        let mut demo = Command::new(env!("CARGO_BIN_EXE_terra"));
        demo.args(["demo", "--type", kind, "--out"])
            .arg(dir.path().join(format!("demo-{kind}")));
        let out = demo.output().unwrap();
        assert!(
            out.status.success(),
            "demo --type {kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn output_resources(mock: &TerraMock) -> Vec<String> {
    mock.resources(mock.app_key())
        .into_iter()
        .filter(|r| r.resource_type == ResourceType::JobOutput)
        .map(|r| r.uuid)
        .collect()
}

fn reconstruct_with(mock: &TerraMock, input: &str, kind: &str, out: &Path) -> Command {
    terra(
        mock,
        &[
            "reconstruct",
            input,
            "--type",
            kind,
            "--out",
            out.to_str().unwrap(),
            "--max-poll-interval",
            "0.2",
        ],
    )
}

/// The environment alone points the CLI at the emulator (`TerraClient::from_env`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terra_endpoint_in_the_environment_is_enough() {
    let mock = mock().await;
    let out = Command::new(env!("CARGO_BIN_EXE_terra"))
        .args(["jobs", "list", "--json"])
        .env("TERRA_ENDPOINT", mock.base_url())
        .env("DJI_APP_KEY", mock.app_key())
        .env("DJI_SECRET_KEY", mock.secret())
        .env_remove("TERRA_REGION")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 0, "{v}");
    assert_eq!(mock.requests().len(), 1, "the request reached the emulator");
}
