//! Signed requests built from terra-sign only, sent to the mock's router without a socket.

#![allow(dead_code, unreachable_pub)]

pub mod browser;

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::Value;
use terra_mock::TerraMock;
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use tower::ServiceExt as _;

use aws_sdk_s3::config::{Builder, Credentials as AwsCredentials, Region};
use http::Method;
use reqsign_aliyun_oss::{Credential, RequestSigner, SigningVersion};
use reqsign_core::{Context, SignRequest};
use terra_types::StsToken;

use std::io::{BufRead, BufReader};
use std::time::SystemTime;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::process::{Command, Stdio};
use terra_mock::storage::presign::uri_encode;

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

/// An aws-sdk-s3 client for the mock's S3 endpoint with a token's credentials (or another
/// secret or session token, to test refusals).
pub fn s3_client(
    base: &str,
    token: &StsToken,
    secret: Option<&str>,
    session: Option<&str>,
) -> aws_sdk_s3::Client {
    let creds = AwsCredentials::new(
        &token.access_key_id,
        secret.unwrap_or(token.secret_access_key.expose()),
        session
            .map(str::to_owned)
            .or_else(|| Some(token.session_token.expose().to_owned()))
            .filter(|s| !s.is_empty()),
        None,
        "terra-mock-test",
    );
    let conf = Builder::new()
        .behavior_version_latest()
        .credentials_provider(creds)
        .region(Region::new(token.region.clone()))
        .endpoint_url(base)
        .force_path_style(true)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Requests to the mock's OSS endpoint signed by reqsign-aliyun-oss.
pub struct Oss {
    pub base: String,
    pub bucket: String,
    pub version: SigningVersion,
    pub cred: Credential,
    pub http: reqwest::Client,
    /// Signatures of the requests sent so far.
    pub sent: std::sync::Mutex<Vec<String>>,
}

pub struct OssReply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl OssReply {
    pub fn code(&self) -> &str {
        tag(&self.body, "Code")
    }

    pub fn ec(&self) -> &str {
        tag(&self.body, "EC")
    }
}

pub fn tag<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
        .map(|(v, _)| v)
        .unwrap_or("")
}

impl Oss {
    pub fn new(mock: &TerraMock, token: &StsToken, version: SigningVersion) -> Self {
        Self::for_base(&mock.base_url(), token, version)
    }

    pub fn for_base(base: &str, token: &StsToken, version: SigningVersion) -> Self {
        Self {
            base: base.to_owned(),
            sent: Default::default(),
            bucket: token.cloud_bucket_name.clone(),
            version,
            cred: Credential {
                access_key_id: token.access_key_id.clone(),
                access_key_secret: token.secret_access_key.expose().to_owned(),
                security_token: Some(token.session_token.expose().to_owned()),
                expires_in: None,
            },
            http: reqwest::Client::new(),
        }
    }

    /// The signatures sent since the last call.
    pub fn last_signatures(&self) -> Vec<String> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }

    pub fn signer(&self) -> RequestSigner {
        RequestSigner::new(&self.bucket)
            .with_signing_version(self.version)
            .with_region("cn-hangzhou")
    }

    pub async fn send(
        &self,
        method: Method,
        key: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> OssReply {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        let mut b = http::Request::builder().method(method).uri(format!(
            "{}/{}/{}{q}",
            self.base,
            self.bucket,
            terra_mock::storage::presign::encode_key(key)
        ));
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let mut parts = b.body(()).unwrap().into_parts().0;
        self.signer()
            .sign_request(&Context::new(), &mut parts, Some(&self.cred), None)
            .await
            .unwrap();
        if let Some(auth) = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        {
            let sig = auth
                .rsplit_once("Signature=")
                .map(|(_, s)| s.split(',').next().unwrap_or(s))
                .or_else(|| auth.rsplit_once(':').map(|(_, s)| s))
                .unwrap_or(auth);
            self.sent.lock().unwrap().push(sig.trim().to_owned());
        }
        let mut req = self
            .http
            .request(parts.method.clone(), parts.uri.to_string());
        for (n, v) in &parts.headers {
            req = req.header(n, v);
        }
        let resp = req.body(body).send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        OssReply {
            status,
            headers,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn put(&self, key: &str, body: &[u8]) -> OssReply {
        self.send(
            Method::PUT,
            key,
            "",
            &[("content-type", "image/jpeg")],
            body.to_vec(),
        )
        .await
    }
}

/// One raw HTTP/1.1 exchange with `addr` (send `Connection: close`): the status line and
/// the body.
pub fn raw_http(addr: &str, request: &str) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// The standalone binary, stopped on drop.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
}

impl Server {
    /// `terra-mock serve` on a free port, with the open-file limit lowered to `nofile`,
    /// more flags and environment variables.
    pub fn start(nofile: u64, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(nofile, extra, env, None)
    }

    /// Like [`Server::start`], with the server's stderr (its log) written to `log`.
    pub fn start_logging(extra: &[&str], env: &[(&str, &str)], log: &str) -> Self {
        Self::spawn(4096, extra, env, Some(log))
    }

    /// Like [`Server::start`], with the open-file limit and the log both set.
    pub fn start_limited_logging(nofile: u64, extra: &[&str], log: &str) -> Self {
        Self::spawn(nofile, extra, &[], Some(log))
    }

    fn spawn(nofile: u64, extra: &[&str], env: &[(&str, &str)], log: Option<&str>) -> Self {
        let mut args = vec![
            format!("ulimit -n {nofile} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_terra-mock").to_owned(),
            "serve".into(),
            "--addr".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = Command::new("sh");
        cmd.arg("-c").args(&args).stdout(Stdio::piped());
        if let Some(path) = log {
            cmd.stderr(std::fs::File::create(path).unwrap());
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().rsplit(' ').next().unwrap().to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{line}");
        Self { child, base }
    }

    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// SigV4 header signing, written from AWS's documented algorithm, with `UNSIGNED-PAYLOAD`.
pub fn sigv4(parts: &mut http::request::Parts, token: &StsToken) {
    sigv4_for_host(parts, token, "localhost")
}

/// [`sigv4`] for a request to `host`.
pub fn sigv4_for_host(parts: &mut http::request::Parts, token: &StsToken, host: &str) {
    let now = terra_types::time::format_rfc3339(SystemTime::now()).replace(['-', ':'], "");
    let (date, stamp) = (&now[..8], now.clone());
    let h = &mut parts.headers;
    h.insert("host", host.parse().unwrap());
    h.insert("x-amz-date", stamp.parse().unwrap());
    h.insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    h.insert(
        "x-amz-security-token",
        token.session_token.expose().parse().unwrap(),
    );
    let mut q: Vec<(String, String)> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (uri_encode(&d(k)), uri_encode(&d(v)))
        })
        .collect();
    q.sort();
    let q: Vec<String> = q.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let signed = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
    let canonical = format!(
        "{}\n{}\n{}\nhost:{host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{stamp}\nx-amz-security-token:{}\n\n{signed}\nUNSIGNED-PAYLOAD",
        parts.method,
        parts.uri.path(),
        q.join("&"),
        token.session_token.expose()
    );
    let scope = format!("{date}/{}/s3/aws4_request", token.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut k = hmac256(
        format!("AWS4{}", token.secret_access_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    for part in [token.region.as_str(), "s3", "aws4_request"] {
        k = hmac256(&k, part.as_bytes());
    }
    let sig = hex::encode(hmac256(&k, to_sign.as_bytes()));
    h.insert(
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={sig}",
            token.access_key_id
        )
        .parse()
        .unwrap(),
    );
}

/// The python `cargo xtask test` installs (boto3, oss2, pytest), or `None` when
/// running outside it; under CI or `TERRA_REQUIRE_SERVICES` its absence fails the test.
pub fn test_python() -> Option<std::path::PathBuf> {
    match std::env::var_os("TERRA_TEST_PYTHON") {
        Some(p) => Some(std::path::PathBuf::from(p)),
        None => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("TERRA_REQUIRE_SERVICES").is_some();
            assert!(
                !required,
                "TERRA_TEST_PYTHON must name a python with boto3, oss2 and pytest (cargo xtask test installs them)"
            );
            eprintln!("skipped: set TERRA_TEST_PYTHON to a python with boto3, oss2 and pytest");
            None
        }
    }
}

/// Runs `python -m pytest -q` on `suite` with `env`; returns whether it passed and its output.
pub fn run_pytest(python: &std::path::Path, suite: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", suite])
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run pytest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The `node_modules` folder `cargo xtask test` installs the Node clients into (the AWS
/// SDK for JavaScript v3, ali-oss, https-proxy-agent), or `None` outside it; under CI or
/// `TERRA_REQUIRE_SERVICES` its absence fails the test.
pub fn test_node_modules() -> Option<std::path::PathBuf> {
    match std::env::var_os("TERRA_TEST_NODE_MODULES") {
        Some(p) => Some(std::path::PathBuf::from(p)),
        None => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("TERRA_REQUIRE_SERVICES").is_some();
            assert!(
                !required,
                "TERRA_TEST_NODE_MODULES must name a node_modules with @aws-sdk/client-s3, ali-oss and https-proxy-agent (cargo xtask test installs them)"
            );
            eprintln!(
                "skipped: set TERRA_TEST_NODE_MODULES to a node_modules with the Node clients"
            );
            None
        }
    }
}
