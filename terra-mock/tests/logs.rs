//! The standalone server's log at `RUST_LOG=trace`, after the whole flow through the API,
//! S3 (aws-sdk-s3) and OSS (V1 and V4), must not carry a credential: no STS secret, no
//! session token, no app secret, no signature (header or presigned), no Authorization
//! header. (s3s prints whole requests at debug level; the binary keeps it at error.)

mod common;

use std::time::SystemTime;

use aws_sdk_s3::primitives::ByteStream;
use common::{Oss, Server, s3_client};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_types::StsToken;

struct Client {
    base: String,
    app_key: &'static str,
    secret: &'static str,
    http: reqwest::Client,
    /// Every signature sent, to look for in the log.
    signatures: Vec<String>,
}

impl Client {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let target = format!("/terra-rescon-be/v2{path}");
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let signed = sign(
            &SignableRequest::new(method, &target, bytes.as_bytes()),
            &Credentials::new(self.app_key, self.secret),
            &SigningParams::new(SystemTime::now()),
        );
        let sig = signed
            .authorization
            .rsplit("signature=\"")
            .next()
            .unwrap()
            .trim_end_matches('"');
        self.signatures.push(sig.to_owned());
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{target}", self.base))
            .header("return-detail", "true")
            .body(bytes);
        for (n, v) in signed.headers() {
            req = req.header(n, v);
        }
        let env: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
        assert_eq!(env["result"]["code"], 0, "{method} {path}: {env}");
        env["data"].clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_log_carries_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mock.toml");
    std::fs::write(
        &config,
        "[[accounts]]\napp_key = \"s3-ak\"\nsecret = \"s3-app-secret-value\"\nprovider = \"s3\"\n\n[[accounts]]\napp_key = \"oss-ak\"\nsecret = \"oss-app-secret-value\"\nprovider = \"oss\"\n",
    )
    .unwrap();
    let log = dir.path().join("stderr.log");
    let server = Server::start_logging(
        &["--config", &config.to_string_lossy()],
        &[("RUST_LOG", "trace")],
        &log.to_string_lossy(),
    );

    let mut secrets: Vec<String> =
        vec!["s3-app-secret-value".into(), "oss-app-secret-value".into()];
    let mut signatures = Vec::new();
    for (ak, sk) in [
        ("s3-ak", "s3-app-secret-value"),
        ("oss-ak", "oss-app-secret-value"),
    ] {
        let mut api = Client {
            base: server.base.clone(),
            app_key: ak,
            secret: sk,
            http: reqwest::Client::new(),
            signatures: Vec::new(),
        };
        let token: StsToken =
            serde_json::from_value(api.call("POST", "/store/obtain_token", None).await).unwrap();
        secrets.push(token.secret_access_key.expose().to_owned());
        secrets.push(token.session_token.expose().to_owned());
        let key = token.object_key("DJI_0001.JPG");
        let etag = if ak == "s3-ak" {
            let s3 = s3_client(&server.base, &token, None, None);
            // A wrong secret too: the mismatch must not print the expected signature.
            let bad = s3_client(&server.base, &token, Some("wrong-secret"), None);
            let _ = bad
                .put_object()
                .bucket(&token.cloud_bucket_name)
                .key(&key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap_err();
            let put = s3
                .put_object()
                .bucket(&token.cloud_bucket_name)
                .key(&key)
                .body(ByteStream::from_static(b"jpeg bytes"))
                .send()
                .await
                .unwrap();
            s3.get_object()
                .bucket(&token.cloud_bucket_name)
                .key(&key)
                .send()
                .await
                .unwrap();
            put.e_tag().unwrap().to_owned()
        } else {
            let mock_base = server.base.clone();
            let mut etag = String::new();
            for version in [
                reqsign_aliyun_oss::SigningVersion::V1,
                reqsign_aliyun_oss::SigningVersion::V4,
            ] {
                let oss = Oss::for_base(&mock_base, &token, version);
                let r = oss.put(&key, b"jpeg bytes").await;
                assert_eq!(r.status, 200, "{}", r.body);
                etag = r.headers["etag"].to_str().unwrap().to_owned();
                signatures.extend(oss.last_signatures());
            }
            etag
        };
        let rid = api
            .call(
                "POST",
                "/resources",
                Some(serde_json::json!({"name": "r", "type": "map"})),
            )
            .await["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let files = api
            .call(
                "POST",
                "/store/upload_callback",
                Some(
                    serde_json::json!({"callbackParam": token.callback_param, "resourceUUID": rid,
                    "files": [{"name": "DJI_0001.JPG", "etag": etag, "checksum": etag}]}),
                ),
            )
            .await;
        let file = files[0]["uuid"].as_str().unwrap();
        let detail = api.call("GET", &format!("/files/{file}"), None).await;
        let url = detail["url"].as_str().unwrap();
        let link_sig = url
            .split(['?', '&'])
            .find_map(|p| {
                p.strip_prefix("X-Amz-Signature=")
                    .or_else(|| p.strip_prefix("Signature="))
            })
            .unwrap();
        signatures.push(
            percent_encoding::percent_decode_str(link_sig)
                .decode_utf8_lossy()
                .into_owned(),
        );
        assert!(reqwest::get(url).await.unwrap().status().is_success());
        signatures.append(&mut api.signatures);
    }
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(" DEBUG ") && text.lines().count() > 10,
        "trace logging is on:\n{text}"
    );
    assert!(
        text.contains("terra_mock"),
        "the mock's own trace events are there"
    );
    for s in secrets.iter().chain(&signatures) {
        assert!(s.len() >= 8);
        assert!(!text.contains(s.as_str()), "the log carries {s}");
    }
    for needle in [
        "x-amz-security-token",
        "x-oss-security-token",
        "AWS4-HMAC-SHA256 Credential",
        "Signature=",
        "authorization:",
        "\"authorization\"",
    ] {
        assert!(
            !text.to_lowercase().contains(&needle.to_lowercase()),
            "the log carries {needle}"
        );
    }
}
