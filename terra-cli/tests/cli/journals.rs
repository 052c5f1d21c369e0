//! A resume journal belongs to the service and account it was written against: another
//! endpoint or app key is refused before anything is sent, and what the journal says
//! exists is checked on the service before any work is skipped (issue 25).

use super::*;

fn upload(mock: &TerraMock, input: &Path) -> Command {
    terra(mock, &["upload", input.to_str().unwrap(), "--type", "3d"])
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn map_resource(mock: &TerraMock) -> Option<terra_types::Resource> {
    mock.resources(mock.app_key())
        .into_iter()
        .find(|r| r.resource_type == ResourceType::Map)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_journal_of_another_emulator_is_refused_and_nothing_is_sent() {
    let (first, second) = (mock().await, mock().await);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("images");
    flight(&input, 12);
    finish(upload(&first, &input));
    second.clear_requests();
    let (code, stderr) = failing(upload(&second, &input));
    assert_eq!(code, 3, "{stderr}");
    for said in [
        first.base_url(),
        second.base_url(),
        "--fresh".into(),
        "--journal".into(),
    ] {
        assert!(stderr.contains(&said), "names {said}: {stderr}");
    }
    assert!(
        second.requests().is_empty(),
        "nothing sent: {:?}",
        second.requests()
    );
    assert_eq!(second.stats(second.app_key()).map_resources, 0);
    // --fresh is the way on: the second emulator gets the flight.
    let mut fresh = upload(&second, &input);
    fresh.arg("--fresh");
    finish(fresh);
    assert_eq!(map_resource(&second).unwrap().file_count, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_deleted_on_the_service_is_uploaded_and_registered_again() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("images");
    flight(&input, 12);
    finish(upload(&mock, &input));
    let gone = map_resource(&mock).unwrap().uuid;
    let (status, r) = mock
        .call("DELETE", &format!("/resources/{gone}?deleteMode=1"), "")
        .await;
    assert_eq!(
        (status, r["result"]["code"].as_i64()),
        (200, Some(0)),
        "{r}"
    );
    assert!(map_resource(&mock).is_none());
    let again = finish(upload(&mock, &input));
    let text = stdout(&again);
    assert!(text.contains("12 uploaded now"), "{text}");
    assert!(
        !text.contains("by an earlier run)") || text.contains("0 by an earlier run"),
        "{text}"
    );
    let now = map_resource(&mock).expect("a new resource");
    assert_ne!(now.uuid, gone);
    assert_eq!(now.file_count, 12, "every photo registered again");
    // A third run finds them all, and says where.
    let third = finish(upload(&mock, &input));
    let text = stdout(&third);
    let short = now.uuid.split('-').next().unwrap();
    let host = mock.base_url().trim_start_matches("http://").to_owned();
    assert!(
        text.contains(&format!("12 files already in resource {short} on {host}")),
        "{text}"
    );
    assert!(text.contains("0 uploaded now"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_gone_from_the_resource_are_registered_again() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("images");
    flight(&input, 12);
    finish(upload(&mock, &input));
    let resource = map_resource(&mock).unwrap().uuid;
    let files = mock.resource_files(mock.app_key(), &resource);
    for f in &files[..3] {
        let (status, _) = mock.call("DELETE", &format!("/files/{f}"), "").await;
        assert_eq!(status, 200);
    }
    let again = finish(upload(&mock, &input));
    let text = stdout(&again);
    assert!(
        text.contains("3 uploaded now"),
        "exactly the missing part: {text}"
    );
    assert_eq!(map_resource(&mock).unwrap().file_count, 12);
    assert_eq!(
        map_resource(&mock).unwrap().uuid,
        resource,
        "the same resource"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconstruct_resumed_against_another_endpoint_or_key_is_refused() {
    let first = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("images"), dir.path().join("res"));
    flight(&input, 12);
    finish(reconstruct(&first, &input, &out, &[]));
    // Another endpoint.
    let second = mock().await;
    second.clear_requests();
    let (code, stderr) = failing(reconstruct(&second, &input, &out, &[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&first.base_url()) && stderr.contains(&second.base_url()),
        "both names: {stderr}"
    );
    assert!(!stderr.contains("102114"), "not a job error: {stderr}");
    assert!(second.requests().is_empty());
    // Another app key on the same endpoint.
    first
        .create_account(terra_mock::AccountConfig::new(
            "AKIDother",
            "other-secret",
            terra_mock::Provider::S3,
        ))
        .unwrap();
    let mut c = reconstruct(&first, &input, &out, &[]);
    c.env("DJI_APP_KEY", "AKIDother")
        .env("DJI_SECRET_KEY", "other-secret");
    let (code, stderr) = failing(c);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("AKID…"),
        "names the other account: {stderr}"
    );
    assert!(
        !stderr.contains("other-secret"),
        "never the secret: {stderr}"
    );
    assert_eq!(first.stats("AKIDother").map_resources, 0);
}

/// A journal of the previous version has no binding: it is taken as unknown and checked
/// against the service before anything is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_journal_is_verified_before_anything_is_skipped() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("images");
    flight(&input, 12);
    finish(upload(&mock, &input));
    let journal = input.join(".terra-upload-3d").join(".terra-state.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let old: String = text
        .lines()
        .filter(|l| !l.contains("\"step\":\"service\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(old.len() < text.len(), "the binding was recorded");
    std::fs::write(&journal, old).unwrap();
    let gone = map_resource(&mock).unwrap().uuid;
    mock.call("DELETE", &format!("/resources/{gone}?deleteMode=1"), "")
        .await;
    let again = finish(upload(&mock, &input));
    assert!(
        stdout(&again).contains("12 uploaded now"),
        "{}",
        stdout(&again)
    );
    assert_eq!(map_resource(&mock).unwrap().file_count, 12);
    assert!(
        std::fs::read_to_string(&journal)
            .unwrap()
            .contains("\"step\":\"service\""),
        "bound from now on"
    );
}
