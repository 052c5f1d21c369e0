//! The commands as people type them: relative paths from the parent folder, `.` from
//! inside the photo folder, `--out` inside, outside, equal to and above the current
//! folder, a path with spaces, a symlinked folder (issue 23). The output folder is left out
//! of the scan only when it is a subfolder of the input.

use super::*;

/// `site/images` with 32 photos, and `site/images/check/stale.jpg`: a broken "photo" in a
/// folder an earlier run wrote, which the scan must leave out only when that folder is the
/// output folder.
fn site() -> tempfile::TempDir {
    let top = tempfile::tempdir().unwrap();
    flight(&top.path().join("site/images"), 32);
    top
}

/// `terra check ARGS` run in `cwd`; its exit code, stdout and stderr.
fn check_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_terra"))
        .arg("check")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_finds_the_flight(cwd: &Path, args: &[&str], map: &Path) {
    let (code, stdout, stderr) = check_in(cwd, args);
    assert_eq!(code, 0, "terra check {args:?} in {cwd:?}: {stdout}{stderr}");
    assert!(
        stdout.contains(": 32 files") && stdout.contains("32 with a GPS position"),
        "terra check {args:?} in {cwd:?}: {stdout}"
    );
    assert!(
        map.join("flight.svg").is_file() && map.join("flight.geojson").is_file(),
        "the map is in {map:?}"
    );
}

#[test]
fn check_from_the_parent_folder_with_the_default_out() {
    // `--out .` is the folder holding the photos' folder: every photo stays in.
    let top = site();
    let site = top.path().join("site");
    assert_finds_the_flight(&site, &["images", "--type", "3d"], &site);
    assert_finds_the_flight(&site, &["./images/", "--type", "2d"], &site);
}

#[test]
fn check_dot_from_inside_the_photo_folder() {
    let top = site();
    let images = top.path().join("site/images");
    // --out . is the input itself; --out .. holds it; --out ../map lies beside it.
    assert_finds_the_flight(&images, &[".", "--type", "3d"], &images);
    assert_finds_the_flight(
        &images,
        &[".", "--type", "3d", "--out", ".."],
        &top.path().join("site"),
    );
    assert_finds_the_flight(
        &images,
        &[".", "--type", "3d", "--out", "../map"],
        &top.path().join("site/map"),
    );
    // Typed with the folder's own name from inside it, or through `..`.
    assert_finds_the_flight(&images, &["../images", "--type", "3d"], &images);
}

#[test]
fn an_output_folder_inside_the_input_is_left_out() {
    let top = site();
    let images = top.path().join("site/images");
    std::fs::create_dir(images.join("check")).unwrap();
    std::fs::write(images.join("check/stale.jpg"), "not a photo").unwrap();
    // The output folder inside: its stale file is not part of the flight.
    assert_finds_the_flight(
        &images,
        &[".", "--type", "3d", "--out", "check"],
        &images.join("check"),
    );
    assert_finds_the_flight(
        &top.path().join("site"),
        &["images", "--type", "3d", "--out", "images/check/"],
        &images.join("check"),
    );
    // Any other output folder: the stale file is part of the input and is refused.
    let (code, _, stderr) = check_in(&images, &[".", "--type", "3d"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("stale.jpg"), "{stderr}");
}

#[test]
fn a_path_with_spaces_and_a_symlinked_folder() {
    let top = tempfile::tempdir().unwrap();
    let spaced = top.path().join("my site/flight 1");
    flight(&spaced, 32);
    assert_finds_the_flight(
        &top.path().join("my site"),
        &["flight 1", "--type", "3d", "--out", "map of flight 1"],
        &top.path().join("my site/map of flight 1"),
    );
    // A link to the photo folder, and the output folder given through the link.
    let link = top.path().join("latest");
    std::os::unix::fs::symlink(&spaced, &link).unwrap();
    std::fs::create_dir(spaced.join("check")).unwrap();
    std::fs::write(spaced.join("check/stale.jpg"), "not a photo").unwrap();
    assert_finds_the_flight(
        top.path(),
        &["latest", "--type", "3d", "--out", "latest/check"],
        &spaced.join("check"),
    );
    // From inside the link, with the real path as output folder.
    assert_finds_the_flight(
        &link,
        &[
            ".",
            "--type",
            "3d",
            "--out",
            spaced.join("check").to_str().unwrap(),
        ],
        &spaced.join("check"),
    );
}

/// `terra reconstruct INPUT --type 3d --out OUT` typed in `cwd`.
fn reconstruct_in(mock: &TerraMock, cwd: &Path, input: &str, out: &str) -> Command {
    let mut c = terra(
        mock,
        &[
            "reconstruct",
            input,
            "--type",
            "3d",
            "--out",
            out,
            "--max-poll-interval",
            "0.2",
        ],
    );
    c.current_dir(cwd);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconstruct_and_upload_as_typed() {
    let mock = mock().await;
    let top = site();
    let site = top.path().join("site");
    let images = site.join("images");
    // reconstruct from the parent with --out . (the folder that holds the photos).
    finish(reconstruct_in(&mock, &site, "images", "."));
    assert_single_run(&mock, 32);

    // upload from inside the folder, `.`.
    let mock = super::mock().await;
    let mut c = terra(&mock, &["--json", "upload", ".", "--type", "3d"]);
    c.current_dir(&images);
    let up: serde_json::Value = serde_json::from_slice(&finish(c).stdout).unwrap();
    assert_eq!(up["files"], 32, "{up}");

    // reconstruct `.` with the results folder inside the input, already holding a file:
    // the 32 photos are sent, not the results folder.
    std::fs::create_dir(images.join("results")).unwrap();
    std::fs::write(images.join("results/stale.jpg"), "not a photo").unwrap();
    let mock = super::mock().await;
    finish(reconstruct_in(&mock, &images, ".", "results"));
    assert_single_run(&mock, 32);
    assert_outputs_complete(&mock, &images.join("results"));
}
