//! The `terra` binary: crash and resume (a real child killed with SIGKILL), bad input
//! with clear errors and exit codes, help everywhere, and the demo.

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
async fn killed_during_upload_then_resumed() {
    let mock = mock().await;
    mock.inject(
        FaultRule::on("PUT", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .fault(Fault::Delay(Duration::from_millis(250))),
    );
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    flight(&input, 30);
    let mut child = spawn(reconstruct(
        &mock,
        &input,
        &out,
        &["--files-in-flight", "2"],
    ));
    wait_until("six uploads", || {
        storage_requests(&mock, "PUT").values().sum::<usize>() >= 6
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let journaled = journal_names(&out, "uploaded");
    assert!(
        !journaled.is_empty() && journaled.len() < 30,
        "killed mid-upload ({} uploaded)",
        journaled.len()
    );
    mock.clear_faults();

    finish(reconstruct(&mock, &input, &out, &[]));
    assert_single_run(&mock, 30);
    let puts = storage_requests(&mock, "PUT");
    for name in &journaled {
        assert_eq!(
            puts.get(name),
            Some(&1),
            "{name} was uploaded before the crash and not again"
        );
    }
    assert!(
        puts.values().filter(|n| **n > 1).count() <= 2,
        "only the uploads in flight at the kill were repeated: {puts:?}"
    );
    assert_outputs_complete(&mock, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_the_job_wait_then_resumed() {
    let mock = mock_with(JobTiming::lasting(Duration::from_secs(4))).await;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    flight(&input, 12);
    let mut child = spawn(reconstruct(&mock, &input, &out, &[]));
    wait_until("a started job", || {
        mock.jobs(mock.app_key())
            .iter()
            .any(|j| j.status.is_running())
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    finish(reconstruct(&mock, &input, &out, &[]));
    assert_single_run(&mock, 12);
    assert_eq!(
        storage_requests(&mock, "PUT").values().sum::<usize>(),
        12,
        "nothing uploaded again"
    );
    assert_outputs_complete(&mock, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_download_then_resumed() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    flight(&input, 12);
    mock.inject(
        FaultRule::on("GET", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .fault(Fault::Delay(Duration::from_millis(400))),
    );
    let mut child = spawn(reconstruct(&mock, &input, &out, &["--downloads", "1"]));
    wait_until("two downloads", || {
        journal_names(&out, "downloaded").len() >= 2
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = journal_names(&out, "downloaded");
    mock.clear_faults();
    finish(reconstruct(&mock, &input, &out, &[]));
    assert_single_run(&mock, 12);
    let gets = storage_requests(&mock, "GET");
    for name in &before {
        let file = name.rsplit('/').next().unwrap();
        assert_eq!(
            gets.get(file),
            Some(&1),
            "{name} was complete before the crash and not fetched again"
        );
    }
    assert_outputs_complete(&mock, &out);
}

fn failing(mut c: Command) -> (i32, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_exit_code() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let p = |name: &str| dir.path().join(name);

    let (code, err) = failing(reconstruct(&mock, &p("missing"), &out, &[]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("does not exist"), "{err}");

    std::fs::create_dir(p("empty")).unwrap();
    let (code, err) = failing(reconstruct(&mock, &p("empty"), &out, &[]));
    assert_eq!(code, 3);
    assert!(err.contains("no photos"), "{err}");

    flight(&p("nine"), 9);
    let (code, err) = failing(reconstruct(&mock, &p("nine"), &out, &[]));
    assert_eq!(code, 3);
    assert!(
        err.contains("holds 9 photos") && err.contains("at least 10"),
        "{err}"
    );

    flight(&p("ok"), 10);
    let (code, err) = failing(reconstruct(
        &mock,
        &p("ok"),
        &out,
        &["--param", "model_simplify=3"],
    ));
    assert_eq!(code, 3);
    assert!(
        err.contains("parameter.model_simplify") && err.contains("[0.05, 1]"),
        "{err}"
    );

    let (code, err) = failing(reconstruct(
        &mock,
        &p("ok"),
        &out,
        &[
            "--param",
            "output_mesh=true",
            "--param",
            "generate_objj=true",
        ],
    ));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("did you mean `generate_obj`?"), "{err}");

    let mut wrong = reconstruct(&mock, &p("ok"), &out, &[]);
    wrong.env("DJI_SECRET_KEY", "not-the-secret");
    let (code, err) = failing(wrong);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("HMAC signature does not match") && err.contains("DJI_SECRET_KEY"),
        "{err}"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut unreachable = Command::new(env!("CARGO_BIN_EXE_terra"));
    unreachable
        .args([
            "reconstruct",
            p("ok").to_str().unwrap(),
            "--type",
            "3d",
            "--out",
            out.to_str().unwrap(),
            "--endpoint",
            &dead,
        ])
        .env("DJI_APP_KEY", "ak")
        .env("DJI_SECRET_KEY", "sk");
    let (code, err) = failing(unreachable);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot connect"), "{err}");

    let mut no_creds = Command::new(env!("CARGO_BIN_EXE_terra"));
    no_creds
        .args(["jobs", "list", "--endpoint", &mock.base_url()])
        .env_remove("DJI_APP_KEY")
        .env_remove("DJI_SECRET_KEY");
    let (code, err) = failing(no_creds);
    assert_eq!(code, 3);
    assert!(err.contains("DJI_APP_KEY"), "{err}");
    assert_eq!(
        mock.object_count(),
        0,
        "nothing was uploaded by the refused runs"
    );
}

#[test]
fn every_command_has_complete_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["reconstruct"],
        &["token"],
        &["resources"],
        &["resources", "list"],
        &["resources", "show"],
        &["resources", "create"],
        &["resources", "delete"],
        &["files"],
        &["files", "list"],
        &["files", "show"],
        &["files", "download"],
        &["jobs"],
        &["jobs", "list"],
        &["jobs", "show"],
        &["jobs", "create"],
        &["jobs", "start"],
        &["jobs", "stop"],
        &["jobs", "delete"],
        &["jobs", "wait"],
        &["upload"],
        &["sign"],
        &["demo"],
    ];
    for c in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_terra"))
            .args(*c)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Usage:"),
            "terra {c:?} --help"
        );
        assert!(
            text.contains("--json") && text.contains("--endpoint"),
            "global options listed for {c:?}"
        );
    }
}

/// `terra mock` is the emulator's own command line: its flags only (no --region, --endpoint,
/// --json), `print-config` included, exactly as `terra-mock` has them.
#[test]
fn terra_mock_has_the_emulators_flags_only() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_terra"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "terra {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = help(&["mock", "--help"]);
    assert!(
        top.contains("Usage: terra mock") && top.contains("print-config"),
        "{top}"
    );
    let serve = help(&["mock", "serve", "--help"]);
    for flag in [
        "--addr",
        "--config",
        "--job-seconds",
        "--clock-skew",
        "--token-lifetime",
        "--max-connections",
    ] {
        assert!(
            serve.contains(flag),
            "{flag} missing from terra mock serve --help"
        );
    }
    for foreign in ["--region", "--endpoint", "--storage-endpoint", "--json"] {
        assert!(
            !serve.contains(foreign),
            "{foreign} is not an emulator flag"
        );
    }
    let config = help(&["mock", "print-config"]);
    let parsed: toml::Value = toml::from_str(&config).unwrap();
    assert_eq!(parsed["token_lifetime_secs"].as_integer(), Some(600));
    let bad = Command::new(env!("CARGO_BIN_EXE_terra"))
        .args(["mock", "serve", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "usage errors exit 2");
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

/// Exit code 5: the job ended without a result (failed by the service, or stopped), with
/// the service's reason in the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_stopped_job_exits_5_with_its_reason() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    flight(&input, 10);
    mock.fail_next_job(terra_mock::JobFailure::during_execution(
        "Insufficient overlap between images",
    ));
    let (code, err) = failing(reconstruct(&mock, &input, &dir.path().join("a"), &[]));
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("Insufficient overlap between images"), "{err}");

    // Stopped while the CLI waits for it.
    let slow = mock_with(JobTiming::lasting(Duration::from_secs(3600))).await;
    let child = reconstruct(&slow, &input, &dir.path().join("b"), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the job started", || {
        slow.jobs(slow.app_key())
            .iter()
            .any(|j| j.status != terra_types::JobStatus::Created)
    })
    .await;
    let uuid = slow.jobs(slow.app_key())[0].uuid.clone();
    slow.move_job(
        &uuid,
        terra_types::JobStatus::Stopped,
        Some("stopped by the operator"),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("stopped"), "{err}");
}

/// Exit code 2: the command line itself is wrong; nothing is contacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for args in [
        vec!["reconstruct"],
        vec!["no-such-command"],
        vec![
            "reconstruct",
            "in",
            "--type",
            "4d",
            "--out",
            out.to_str().unwrap(),
        ],
        vec!["jobs", "list", "--no-such-flag"],
    ] {
        let (code, err) = failing(terra(&mock, &args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
    assert!(mock.requests().is_empty(), "nothing reached the service");
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

/// `terra check`: exit 0 and a map for a good folder; exit 3 naming the file for a bad
/// one; `--strict` turns a warning into a problem; `reconstruct` refuses the same folder
/// before uploading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_bad_files_before_anything_is_uploaded() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    flight(&input, 12);
    let map = dir.path().join("map");
    let check = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_terra"));
        c.args(["check", input.to_str().unwrap(), "--type", "2d", "--out"])
            .arg(&map)
            .args(extra);
        c
    };
    let ok = finish(check(&[]));
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("12 files"));
    let svg = std::fs::read_to_string(map.join("flight.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 12);
    let geojson: serde_json::Value =
        serde_json::from_slice(&std::fs::read(map.join("flight.geojson")).unwrap()).unwrap();
    assert_eq!(geojson["type"], "FeatureCollection");

    // A duplicate is a warning: fine, unless --strict.
    std::fs::copy(input.join("DJI_0001.JPG"), input.join("again.JPG")).unwrap();
    assert!(finish(check(&[])).status.success());
    let (code, err) = failing(check(&["--strict"]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("again.JPG"), "{err}");
    std::fs::remove_file(input.join("again.JPG")).unwrap();

    // Text named .JPG is a problem; reconstruct stops before uploading it.
    std::fs::write(input.join("notes.JPG"), "not a photo").unwrap();
    let (code, err) = failing(check(&["--json"]));
    assert_eq!(code, 3, "{err}");
    let (code, err) = failing(reconstruct(&mock, &input, &dir.path().join("out"), &[]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("notes.JPG") && err.contains("nothing was uploaded"),
        "{err}"
    );
    assert!(mock.requests().is_empty(), "nothing reached the service");
}

/// `terra download` with filters, killed with SIGKILL in the middle and run again: the
/// files complete before the kill are not fetched again, and everything ends complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_with_filters_resumes_after_sigkill() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    flight(&input, 10);
    let full = dir.path().join("full");
    assert!(
        finish(reconstruct(&mock, &input, &full, &[]))
            .status
            .success()
    );
    let job = mock.jobs(mock.app_key())[0].uuid.clone();

    let out = dir.path().join("models");
    let download = || {
        terra(
            &mock,
            &[
                "download",
                &job,
                "--out",
                out.to_str().unwrap(),
                "--include",
                "models/**",
                "--downloads",
                "1",
            ],
        )
    };
    mock.inject(
        FaultRule::on("GET", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .fault(Fault::Delay(Duration::from_millis(300))),
    );
    let mut child = spawn(download());
    let complete = |out: &Path| -> Vec<String> {
        let mut names = Vec::new();
        let mut stack = vec![out.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p.to_string_lossy().ends_with(".part") {
                    names.push(p.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
        names
    };
    wait_until("two files downloaded", || complete(&out).len() >= 2).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = complete(&out);
    mock.clear_faults();
    mock.clear_requests();
    let done = finish(download());
    assert!(done.status.success());
    let gets = storage_requests(&mock, "GET");
    for name in &before {
        assert_eq!(gets.get(name), None, "{name} was complete before the kill");
    }
    let after = complete(&out);
    assert!(after.len() > before.len(), "the rest was fetched");
    let mut expected = 0;
    for f in mock.files(mock.app_key()) {
        let path = out.join(&f.name);
        if f.name.starts_with("models/") {
            expected += 1;
            assert_eq!(
                std::fs::read(&path).unwrap(),
                mock.file_bytes(mock.app_key(), &f.uuid).unwrap(),
                "{}",
                f.name
            );
        } else {
            assert!(!path.exists(), "{} is filtered out", f.name);
        }
    }
    assert_eq!(after.len(), expected);
}

/// `terra upload` killed with SIGKILL in the middle and run again: one resource, every
/// photo registered once, nothing uploaded before the kill uploaded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_interrupted_and_rerun_registers_nothing_twice() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    flight(&input, 30);
    let upload = || {
        let mut c = terra(&mock, &["upload", input.to_str().unwrap(), "--type", "3d"]);
        c.args(["--name", "field 7"]);
        c
    };
    mock.inject(
        FaultRule::on("PUT", "/terra-mock-s3/**")
            .scope(FaultScope::Storage)
            .fault(Fault::Delay(Duration::from_millis(150))),
    );
    let journal = input.join(".terra-upload-3d");
    let mut child = spawn(upload());
    wait_until("some uploads journaled", || {
        journal_names(&journal, "uploaded").len() >= 5
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = journal_names(&journal, "uploaded");
    assert!(before.len() < 30, "killed in the middle");
    mock.clear_faults();
    let out = finish(upload());
    assert!(out.status.success());
    let s = mock.stats(mock.app_key());
    assert_eq!(
        (s.map_resources, s.jobs),
        (1, 0),
        "one resource, no job: {s:?}"
    );
    let resource = mock
        .resources(mock.app_key())
        .into_iter()
        .find(|r| r.resource_type == ResourceType::Map)
        .unwrap();
    assert_eq!(resource.file_count, 30, "every photo registered once");
    assert_eq!(resource.name, "field 7");
    let puts = storage_requests(&mock, "PUT");
    for name in &before {
        assert_eq!(puts.get(name.as_str()), Some(&1), "{name} uploaded once");
    }
    // A third run has nothing left to do.
    let again = finish(upload());
    assert!(again.status.success());
    assert_eq!(mock.stats(mock.app_key()).map_resources, 1);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 uploaded now"));
}
