//! `terra --region us|cn` with DJI's hosts as written, no `--endpoint`: the emulator's
//! proxy answers, with nothing but the environment its banner prints (issue 20).

use super::*;

/// An emulator with its proxy on, an S3 account and an OSS one.
async fn proxied(ca: &Path) -> TerraMock {
    TerraMock::builder()
        .config(terra_mock::MockConfig {
            proxy: true,
            ca_dir: Some(ca.to_owned()),
            accounts: vec![
                terra_mock::AccountConfig::new("us-ak", "us-sk", terra_mock::Provider::S3),
                terra_mock::AccountConfig::new("cn-ak", "cn-sk", terra_mock::Provider::Oss),
            ],
            timing: JobTiming::default().scaled_to(Duration::from_secs(2), 10),
            ..Default::default()
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconstruct_on_djis_hosts_through_the_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let mock = proxied(&dir.path().join("ca")).await;
    let input = dir.path().join("images");
    flight(&input, 12);
    for (region, ak, sk) in [("us", "us-ak", "us-sk"), ("cn", "cn-ak", "cn-sk")] {
        let out = dir.path().join(format!("res-{region}"));
        let mut c = Command::new(env!("CARGO_BIN_EXE_terra"));
        c.args(["--region", region, "reconstruct"])
            .arg(&input)
            .args(["--type", "3d", "--out"])
            .arg(&out)
            .args(["--max-poll-interval", "0.2"])
            .env_remove("TERRA_ENDPOINT")
            .env_remove("TERRA_STORAGE_ENDPOINT")
            .env("DJI_APP_KEY", ak)
            .env("DJI_SECRET_KEY", sk);
        for (k, v) in mock.proxy_env() {
            c.env(k, v);
        }
        let o = finish(c);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("results"), "{text}");
        // The requests came through the proxy under DJI's and the storage's names.
        let hosts: std::collections::BTreeSet<String> = mock
            .requests()
            .iter()
            .filter_map(|r| r.header("host").map(str::to_owned))
            .collect();
        let api = format!("openapi-{region}.dji.com");
        assert!(hosts.iter().any(|h| h == &api), "{region}: {hosts:?}");
        let storage = if region == "us" {
            "amazonaws.com"
        } else {
            "aliyuncs.com"
        };
        assert!(
            hosts.iter().any(|h| h.contains(storage)),
            "{region}: {hosts:?}"
        );
        let resource = mock
            .resources(ak)
            .into_iter()
            .find(|r| r.resource_type == ResourceType::Map)
            .unwrap();
        assert_eq!(resource.file_count, 12);
        mock.check_download(ak, &output_of(&mock, ak), &out)
            .unwrap_or_else(|e| panic!("{region}: {e}"));
        mock.clear_requests();
    }
}

/// The output resource of `app_key`'s only job.
fn output_of(mock: &TerraMock, app_key: &str) -> String {
    mock.resources(app_key)
        .into_iter()
        .find(|r| r.resource_type == ResourceType::JobOutput)
        .unwrap()
        .uuid
}
