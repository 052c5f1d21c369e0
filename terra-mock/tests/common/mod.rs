//! Signed requests built from terra-sign only, sent to the mock's router without a socket.

#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::Value;
use terra_mock::TerraMock;
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use tower::ServiceExt as _;

pub const V2: &str = "/terra-rescon-be/v2";

pub struct Api<'a> {
    pub mock: &'a TerraMock,
    pub creds: Credentials,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> i64 {
        self.body["result"]["code"].as_i64().unwrap_or(-1)
    }

    pub fn msg(&self) -> &str {
        self.body["result"]["msg"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

impl<'a> Api<'a> {
    pub fn new(mock: &'a TerraMock) -> Self {
        Self {
            mock,
            creds: Credentials::new(mock.app_key(), mock.secret()),
        }
    }

    pub fn as_account(mock: &'a TerraMock, app_key: &str, secret: &str) -> Self {
        Self {
            mock,
            creds: Credentials::new(app_key, secret),
        }
    }

    pub async fn raw(&self, req: Request<Body>) -> Reply {
        let resp = self.mock.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply { status, body }
    }

    /// A signed request; `extra` headers are added after signing.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Request<Body> {
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        let signed = sign(
            &SignableRequest::new(method, target, &bytes),
            &self.creds,
            &SigningParams::new(self.mock.now()),
        );
        let mut req = Request::builder().method(method).uri(target);
        for (n, v) in signed.headers() {
            req = req.header(n, v);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json;charset=UTF-8");
        }
        for (n, v) in extra {
            req = req.header(*n, *v);
        }
        req.body(Body::from(bytes)).unwrap()
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.raw(self.request(method, &format!("{V2}{path}"), body.as_ref(), &[]))
            .await
    }

    pub async fn call_detail(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.raw(self.request(
            method,
            &format!("{V2}{path}"),
            body.as_ref(),
            &[("return-detail", "true")],
        ))
        .await
    }

    /// Calls and expects success; returns `data`.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = self.call_detail(method, path, body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::OK, 0),
            "{method} {path}: {}",
            r.body
        );
        r.body["data"].clone()
    }

    /// Calls and expects a business error; returns (code, msg).
    pub async fn err(&self, method: &str, path: &str, body: Option<Value>) -> (i64, String) {
        let r = self.call(method, path, body).await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.body);
        assert_ne!(r.code(), 0, "{method} {path} should fail: {}", r.body);
        (r.code(), r.msg().to_owned())
    }

    /// A resource holding `n` uploaded images (seeded straight into storage).
    pub async fn resource_with_images(&self, n: usize) -> String {
        let token_json = self.ok("POST", "/store/obtain_token", None).await;
        let token: terra_types::StsToken = serde_json::from_value(token_json).unwrap();
        let rid = self
            .ok(
                "POST",
                "/resources",
                Some(serde_json::json!({"name": "flight", "type": "map"})),
            )
            .await["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut files = Vec::new();
        for i in 0..n {
            let name = format!("DJI_{i:04}.JPG");
            let meta = self
                .mock
                .put_object(&token, &name, format!("jpeg {i}").as_bytes())
                .unwrap();
            files.push(serde_json::json!({
                "name": name, "etag": meta.quoted_etag(), "checksum": meta.quoted_etag(),
                "position": {"attitude": 0.0, "latitude": 22.57 + i as f64 * 1e-4, "longitude": 113.94}
            }));
        }
        for chunk in files.chunks(50) {
            self.ok(
                "POST",
                "/store/upload_callback",
                Some(serde_json::json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": chunk})),
            )
            .await;
        }
        rid
    }

    pub async fn job(&self, name: &str) -> String {
        self.ok("POST", "/jobs", Some(serde_json::json!({ "name": name })))
            .await["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn start(&self, job: &str, resource: &str, job_type: i64, parameters: &str) -> Reply {
        self.call(
            "POST",
            &format!("/jobs/{job}/start"),
            Some(serde_json::json!({"type": job_type, "resourceUuid": resource, "parameters": parameters})),
        )
        .await
    }
}

/// Replaces uuids, timestamps, tokens and signatures with placeholders, for snapshots.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "accessKeyID" | "secretAccessKey" | "sessionToken" | "callbackParam" => {
                            Value::String(format!("<{k}>"))
                        }
                        "expireTime" => Value::String("<unix time>".into()),
                        "url" => Value::String("<presigned url>".into()),
                        "storePath" => Value::String("<acct>/tmp/<session>/{fileName}".into()),
                        _ => normalize(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::String(s) if s.len() == 36 && uuid::Uuid::parse_str(s).is_ok() => {
            Value::String("<uuid>".into())
        }
        Value::String(s) if terra_types::time::parse_rfc3339(s).is_some() => {
            Value::String("<time>".into())
        }
        Value::String(s) if s.starts_with("output of job: ") => {
            Value::String("output of job: <uuid>".into())
        }
        other => other.clone(),
    }
}
