//! Bad input gets a clear error and the documented exit code; help everywhere.

use super::*;

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

/// A file the service names `..` or `a/..` is refused by `terra files download`, naming
/// the file, and nothing is written anywhere: not in the current folder, not above it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_download_refuses_names_that_leave_the_folder() {
    let mock = mock().await;
    mock.start_sample_job().await;
    let mut doc = mock.export_state().unwrap();
    let files = doc["accounts"][0]["files"].as_array_mut().unwrap();
    let (a, b) = (files[0]["uuid"].clone(), files[1]["uuid"].clone());
    files[0]["name"] = "..".into();
    files[1]["name"] = "a/..".into();
    mock.import_state(doc).unwrap();

    let top = tempfile::tempdir().unwrap();
    let cwd = top.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    for (uuid, name) in [(a, ".."), (b, "a/..")] {
        let mut c = terra(&mock, &["files", "download", uuid.as_str().unwrap()]);
        c.current_dir(&cwd);
        let (code, stderr) = failing(c);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{name:?}")),
            "names the file: {stderr}"
        );
        assert!(
            !stderr.contains("please report it"),
            "not a decoding error: {stderr}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(top.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["work"], "nothing beside the current folder");
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "nothing in it");
}

/// `terra --json check DIR | head`: a closed stdout ends the command quietly with status
/// 141 (128 + SIGPIPE), no panic, no backtrace.
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    flight(&photos, 12);
    let mut c = Command::new(env!("CARGO_BIN_EXE_terra"));
    c.args(["--json", "check"])
        .arg(&photos)
        .args(["--type", "3d", "--out"])
        .arg(dir.path())
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
}
