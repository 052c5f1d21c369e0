//! `terra download --include/--exclude`: patterns read as rclone and `.gitignore` read them.

use super::*;

/// `--include '*.obj'` finds the OBJ deep in the 3D outputs (it found nothing when `*`
/// matched top-level names only); a pattern with `/` is anchored at the top, and when it
/// matches nothing the error names it and suggests `**/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_without_a_slash_matches_at_any_depth() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    flight(&input, 10);
    finish(reconstruct(&mock, &input, &dir.path().join("full"), &[]));
    let job = mock.jobs(mock.app_key())[0].uuid.clone();
    let download = |out: &Path, args: &[&str]| {
        let mut c = terra(&mock, &["download", &job, "--out", out.to_str().unwrap()]);
        c.args(args);
        c
    };

    let objs = dir.path().join("objs");
    finish(download(&objs, &["--include", "*.obj"]));
    let obj = mock
        .files(mock.app_key())
        .into_iter()
        .find(|f| f.name.ends_with(".obj"))
        .expect("a 3D job has an OBJ");
    assert_eq!(obj.name, "models/mesh/obj/Block.obj");
    assert_eq!(
        std::fs::read(objs.join(&obj.name)).unwrap(),
        mock.file_bytes(mock.app_key(), &obj.uuid).unwrap()
    );
    assert!(
        !objs.join("report/report.json").exists(),
        "only what matched"
    );

    let (code, err) = failing(download(
        &dir.path().join("none"),
        &["--include", "mesh/*.obj"],
    ));
    assert_eq!(code, 3, "nothing to fetch is bad input: {err}");
    assert!(
        err.contains("--include \"mesh/*.obj\""),
        "the pattern is named: {err}"
    );
    assert!(
        err.contains("--include '**/mesh/*.obj'"),
        "and the way on: {err}"
    );

    let (code, err) = failing(download(&dir.path().join("bad"), &["--exclude", "[obj"]));
    assert_eq!(code, 3, "a malformed pattern is bad input: {err}");
    assert!(
        err.contains("--exclude \"[obj\"") && err.contains("not closed"),
        "{err}"
    );
}
