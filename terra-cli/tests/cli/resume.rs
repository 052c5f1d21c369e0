//! Crash and resume: a real child killed with SIGKILL during upload, the job wait and download, and reruns that do nothing twice.

use super::*;

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
