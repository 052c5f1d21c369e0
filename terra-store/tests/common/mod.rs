#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use terra_mock::TerraMock;
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_store::{BoxError, TokenProvider};
use terra_types::StsToken;

/// `obtain_token` of a terra-mock, with a raw signed request (terra-store must not depend
/// on terra-client).
pub struct MockTokens {
    pub base: String,
    pub creds: Credentials,
    pub http: reqwest::Client,
    pub issued: std::sync::Mutex<Vec<StsToken>>,
}

impl MockTokens {
    pub fn new(mock: &TerraMock) -> Arc<Self> {
        Arc::new(Self {
            base: mock.base_url(),
            creds: Credentials::new(mock.app_key(), mock.secret()),
            http: reqwest::Client::new(),
            issued: Default::default(),
        })
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        now: SystemTime,
    ) -> serde_json::Value {
        let target = format!("/terra-rescon-be/v2{path}");
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let s = sign(
            &SignableRequest::new(method, &target, &bytes),
            &self.creds,
            &SigningParams::new(now),
        );
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{target}", self.base));
        for (n, v) in s.headers() {
            req = req.header(n, v);
        }
        let v: serde_json::Value = req
            .header("content-type", "application/json")
            .header("return-detail", "true")
            .body(bytes)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["result"]["code"], 0, "{method} {path}: {v}");
        v["data"].clone()
    }

    pub fn issued(&self) -> Vec<StsToken> {
        self.issued.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl TokenProvider for MockTokens {
    async fn token(&self) -> Result<StsToken, BoxError> {
        let t: StsToken = serde_json::from_value(
            self.api("POST", "/store/obtain_token", None, SystemTime::now())
                .await,
        )?;
        self.issued.lock().unwrap().push(t.clone());
        Ok(t)
    }
}

/// A file of `len` pseudo-random bytes.
pub fn file(dir: &Path, name: &str, len: usize, seed: u8) -> PathBuf {
    let path = dir.join(name);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    let mut f = std::fs::File::create(&path).unwrap();
    let mut x = seed as u32 | 1;
    let mut buf = Vec::with_capacity(len);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf.push(x as u8);
    }
    f.write_all(&buf).unwrap();
    path
}
