//! The whole documented flow over a real socket, with raw HTTP requests signed by
//! terra-sign only: token, resource, callback, job, start, poll to 6, read the outputs.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use terra_mock::{Fault, FaultRule, JobTiming, TerraMock};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};

struct Raw {
    http: reqwest::Client,
    base: String,
    creds: Credentials,
}

impl Raw {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let target = format!("/terra-rescon-be/v2{path}");
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let s = sign(
            &SignableRequest::new(method, &target, &bytes),
            &self.creds,
            &SigningParams::new(SystemTime::now()),
        );
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{target}", self.base));
        for (n, v) in s.headers() {
            req = req.header(n, v);
        }
        let resp = req
            .header("content-type", "application/json;charset=UTF-8")
            .header("return-detail", "true")
            .body(bytes)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(method, path, body).await.unwrap();
        assert_eq!(
            (status, v["result"]["code"].as_i64()),
            (200, Some(0)),
            "{method} {path}: {v}"
        );
        v["data"].clone()
    }
}

fn fast() -> JobTiming {
    JobTiming {
        waiting: 0.05,
        preparing: 0.05,
        executing: 0.2,
        executing_per_input: 0.0,
        result_processing: 0.05,
    }
}

#[tokio::test]
async fn the_documented_flow_with_raw_signed_requests() {
    let mock = TerraMock::builder().timing(fast()).start().await.unwrap();
    let api = Raw {
        http: reqwest::Client::new(),
        base: mock.base_url(),
        creds: Credentials::new(mock.app_key(), mock.secret()),
    };

    // 1. token
    let token: terra_types::StsToken =
        serde_json::from_value(api.ok("POST", "/store/obtain_token", None).await).unwrap();
    // 2. upload (seeded: this test is about the API; the storage protocols have their own)
    let mut files = Vec::new();
    for i in 0..12 {
        let name = format!("flight/DJI_{i:04}.JPG");
        let meta = mock
            .put_object(&token, &name, format!("photo {i}").as_bytes())
            .unwrap();
        files.push(
            json!({"name": name, "etag": meta.quoted_etag(), "checksum": meta.quoted_etag()}),
        );
    }
    // 3. resource, 4. callback
    let rid = api
        .ok(
            "POST",
            "/resources",
            Some(json!({"name": "raw flow", "type": "map"})),
        )
        .await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let registered = api
        .ok(
            "POST",
            "/store/upload_callback",
            Some(
                json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": files}),
            ),
        )
        .await;
    assert_eq!(registered.as_array().unwrap().len(), 12);
    // 5. job, 6. start
    let jid = api.ok("POST", "/jobs", Some(json!({"name": "raw"}))).await["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let params = r#"{"parameter":{"map_mode":1,"quality_level":2}}"#;
    api.ok(
        "POST",
        &format!("/jobs/{jid}/start"),
        Some(json!({"type": 14, "resourceUuid": rid, "parameters": params})),
    )
    .await;
    // 7. poll
    let deadline = Instant::now() + Duration::from_secs(20);
    let job = loop {
        let j = api.ok("GET", &format!("/jobs/{jid}"), None).await;
        if j["status"].as_i64().unwrap() >= 5 {
            break j;
        }
        assert!(Instant::now() < deadline, "job did not finish: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job["status"], 6, "{job}");
    // 8. outputs
    let out = job["outputResourceUuid"].as_str().unwrap();
    let detail = api.ok("GET", &format!("/resources/{out}"), None).await;
    let uuids = detail["fileUuids"].as_array().unwrap();
    assert!(uuids.len() >= 4);
    let mut names = Vec::new();
    for u in uuids {
        let f = api
            .ok("GET", &format!("/files/{}", u.as_str().unwrap()), None)
            .await;
        assert!(f["url"].as_str().unwrap().starts_with(&mock.base_url()));
        names.push(f["name"].as_str().unwrap().to_owned());
    }
    assert!(
        names.contains(&"images/survey/image_list.json".to_owned()),
        "{names:?}"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn resets_close_the_connection_before_or_after_processing() {
    let mock = TerraMock::start().await.unwrap();
    let api = Raw {
        http: reqwest::Client::new(),
        base: mock.base_url(),
        creds: Credentials::new(mock.app_key(), mock.secret()),
    };
    mock.inject(
        FaultRule::on("POST", "/terra-rescon-be/v2/jobs")
            .times(1)
            .fault(Fault::Reset),
    );
    let err = api
        .send("POST", "/jobs", Some(json!({"name": "a"})))
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(
        mock.stats(mock.app_key()).jobs,
        0,
        "a reset before processing creates nothing"
    );

    mock.inject(
        FaultRule::on("POST", "/terra-rescon-be/v2/jobs")
            .times(1)
            .fault(Fault::ResetAfterProcessing),
    );
    assert!(
        api.send("POST", "/jobs", Some(json!({"name": "b"})))
            .await
            .is_err()
    );
    assert_eq!(
        mock.stats(mock.app_key()).jobs,
        1,
        "a reset after processing loses only the answer"
    );

    mock.inject(FaultRule::any().times(1).fault(Fault::Status {
        status: 503,
        retry_after: Some(2),
    }));
    let (status, body) = api.send("GET", "/jobs", None).await.unwrap();
    assert_eq!(status, 503);
    assert!(body["message"].is_string());

    mock.inject(
        FaultRule::any()
            .times(1)
            .fault(Fault::Delay(Duration::from_millis(300))),
    );
    let t = Instant::now();
    api.ok("GET", "/jobs", None).await;
    assert!(t.elapsed() >= Duration::from_millis(300));

    let log = mock.requests();
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 4);
    assert_eq!(
        log.iter().filter(|r| r.status == 0).count(),
        2,
        "resets are logged with status 0"
    );
    mock.shutdown().await;
}
