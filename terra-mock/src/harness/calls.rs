//! Signed TerraAPI calls answered in-process, for tests and examples that exercise the
//! emulator without an HTTP client or an SDK.

use tower::ServiceExt as _;

use super::TerraMock;
use crate::core::API_PREFIX;

impl TerraMock {
    /// Calls TerraAPI as the default account: `path` after `/terra-rescon-be/v2` (such as
    /// `/jobs?page=2`), signed with [`app_key`](Self::app_key) and
    /// [`secret`](Self::secret) at the mock's [`now`](Self::now), answered by the
    /// [`router`](Self::router) with no socket. Returns the HTTP status and the JSON body
    /// (`Null` when the body is not JSON).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?; // no socket needed
    /// let (status, body) = mock.call("POST", "/resources", r#"{"name":"survey","type":"map"}"#).await;
    /// assert_eq!((status, body["result"]["code"].as_i64()), (200, Some(0)));
    /// let (status, body) = mock.call("GET", "/jobs/not-a-uuid", "").await;
    /// assert_ne!(body["result"]["code"], 0, "{status} {body}");
    /// # Ok(()) }
    /// ```
    pub async fn call(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let target = format!("{API_PREFIX}v2{path}");
        let signed = terra_sign::sign(
            &terra_sign::SignableRequest::new(method, &target, body.as_bytes()),
            &terra_sign::Credentials::new(self.app_key(), self.secret()),
            &terra_sign::SigningParams::new(self.now()),
        );
        let mut req = http::Request::builder()
            .method(method)
            .uri(&target)
            .header("content-type", "application/json");
        for (name, value) in signed.headers() {
            req = req.header(name, value);
        }
        let req = req
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap_or_else(|e| panic!("{method} {target} is not a request: {e}"));
        let resp = match self.router().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    /// Creates a resource of 10 stored photos (what a 2D job needs at least) and a job,
    /// and starts a 2D reconstruction of them, as the default account: the shortest way to
    /// a running job for tests of job control. Returns the job's uuid.
    ///
    /// # Panics
    ///
    /// When a step is refused (a fault injected for the calls, a job quota reached); the
    /// message has the response.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = terra_mock::TerraMock::builder().build()?;
    /// let job = mock.start_sample_job().await;
    /// assert_eq!(mock.jobs(mock.app_key())[0].uuid, job);
    /// # Ok(()) }
    /// ```
    pub async fn start_sample_job(&self) -> String {
        let token = self
            .issue_token(self.app_key())
            .expect("the default account exists");
        let (_, r) = self
            .call("POST", "/resources", r#"{"name":"survey","type":"map"}"#)
            .await;
        let resource = r["data"]["uuid"]
            .as_str()
            .unwrap_or_else(|| panic!("create resource: {r}"))
            .to_owned();
        let files: Vec<serde_json::Value> = (0..10)
            .map(|i| {
                let name = format!("DJI_{i:04}.JPG");
                let etag = self
                    .put_object(&token, &name, b"photo")
                    .unwrap_or_else(|e| panic!("store {name}: {e}"))
                    .etag;
                serde_json::json!({"name": name, "etag": etag, "checksum": etag})
            })
            .collect();
        let cb = serde_json::json!({
            "callbackParam": token.callback_param, "resourceUUID": resource, "files": files,
        });
        let (_, c) = self
            .call("POST", "/store/upload_callback", &cb.to_string())
            .await;
        assert_eq!(c["result"]["code"], 0, "upload_callback: {c}");
        let (_, j) = self.call("POST", "/jobs", r#"{"name":"survey 2D"}"#).await;
        let job = j["data"]["uuid"]
            .as_str()
            .unwrap_or_else(|| panic!("create job: {j}"))
            .to_owned();
        let start = serde_json::json!({
            "type": 14, "resourceUuid": resource, "parameters": "{\"parameter\":{}}",
        });
        let (_, s) = self
            .call("POST", &format!("/jobs/{job}/start"), &start.to_string())
            .await;
        assert_eq!(s["result"]["code"], 0, "start job: {s}");
        job
    }
}
