//! Proxy mode (`--proxy`): the emulator is also an HTTP/1.1 forward proxy on its own port,
//! so that an unmodified program with DJI's, S3's and OSS's host names written in reaches
//! it through `HTTPS_PROXY`.
//!
//! - `CONNECT host:443` to an emulated host is answered `200` and the tunnel is terminated
//!   with TLS under a certificate for that name, issued by the emulator's own authority
//!   (`ca.rs`); the requests inside are served as if sent here directly, `Host` and all
//!   (the bucket of a virtual-host name is its first label, as the storage routes read
//!   it anyway).
//! - Absolute-form requests (`GET http://host/path`) to an emulated host are served the
//!   same way, without TLS (oss2's `http://` endpoints); to the emulator's own address,
//!   as the direct requests they are.
//! - Every other host is refused with 403 naming it and `--proxy-host`: the proxy never
//!   forwards anywhere. The controls under `/_terra-mock` are never served under an
//!   emulated name.

pub(crate) mod ca;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, Request, StatusCode, Uri};

use crate::control::guard::listed;

/// DJI's API hosts.
const API_HOSTS: [&str; 2] = ["openapi-us.dji.com", "openapi-cn.dji.com"];

/// `name` (lower case, no port) is a host the proxy answers for: DJI's API hosts, S3 in
/// every form the AWS SDKs build (`s3.amazonaws.com`, `s3.<region>…`, `s3-<region>…`,
/// `<bucket>.s3…`, dual-stack and accelerate names, `.amazonaws.com.cn`), OSS as its SDKs
/// build it (`oss-<region>.aliyuncs.com`, `<bucket>.oss-…`, `-internal` and accelerate
/// names), or one of `extra`.
pub(crate) fn emulated(name: &str, extra: &[String]) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if API_HOSTS.contains(&name.as_str()) || listed(&name, extra) {
        return true;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let under = |domain: &str| name.ends_with(&format!(".{domain}"));
    if under("amazonaws.com") || under("amazonaws.com.cn") {
        return labels
            .iter()
            .any(|l| *l == "s3" || l.starts_with("s3-") || *l == "s3-accelerate");
    }
    if under("aliyuncs.com") {
        return labels.iter().any(|l| l.starts_with("oss-"));
    }
    false
}

/// `host[:port]` split, the port defaulting to `default`.
fn split_host(authority: &str, default: u16) -> (String, u16) {
    let a: Uri = match format!("http://{authority}").parse() {
        Ok(u) => u,
        Err(_) => return (authority.to_ascii_lowercase(), default),
    };
    (
        a.host()
            .unwrap_or(authority)
            .trim_matches(['[', ']'])
            .to_ascii_lowercase(),
        a.port_u16().unwrap_or(default),
    )
}

/// What the proxy does with a request that arrived on the emulator's port.
#[derive(Debug)]
pub(crate) enum Routed<B> {
    /// Answer this (a refusal).
    Answer(Response),
    /// Open a tunnel to an emulated host (`CONNECT`; the request is what upgrades).
    Connect {
        host: String,
        port: u16,
        req: Request<B>,
    },
    /// Serve it, as a request sent here directly.
    Pass(Request<B>),
}

/// The proxy of one emulator.
#[derive(Debug)]
pub(crate) struct Proxy {
    own: SocketAddr,
    extra: Vec<String>,
    ca: Arc<ca::Authority>,
    tls: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
}

/// A refusal of the proxy, in the emulator's JSON error form.
fn refuse(status: StatusCode, message: String) -> Response {
    let mut r = (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    r.headers_mut()
        .insert("x-terra-mock-proxy", HeaderValue::from_static("refused"));
    r
}

impl Proxy {
    /// The proxy of an emulator listening on `own`, with its authority in `ca_dir`.
    pub(crate) fn new(
        own: SocketAddr,
        extra: Vec<String>,
        ca_dir: &std::path::Path,
    ) -> std::io::Result<Self> {
        Ok(Self {
            own,
            extra,
            ca: Arc::new(ca::Authority::open(ca_dir)?),
            tls: Mutex::default(),
        })
    }

    /// The authority clients are told to trust.
    pub(crate) fn authority(&self) -> &ca::Authority {
        &self.ca
    }

    fn refuse_host(&self, host: &str) -> Response {
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "terra-mock's proxy answers for DJI's API hosts and S3 and OSS names only; {host} \
                 is none of them, and the proxy never forwards anywhere: start terra-mock with \
                 --proxy-host {host} to have it answer for that name too"
            ),
        )
    }

    fn refuse_controls(&self) -> Response {
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "the emulator's controls are not served under emulated host names: call them at \
                 http://{}/_terra-mock/ directly",
                self.own
            ),
        )
    }

    /// Whether `host:port` is the emulator itself.
    fn is_own(&self, host: &str, port: u16) -> bool {
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback());
        port == self.own.port()
            && (loopback
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip == self.own.ip()))
    }

    /// Decides about a request that arrived on the emulator's port.
    pub(crate) fn route<B>(&self, mut req: Request<B>) -> Routed<B> {
        if req.method() == Method::CONNECT {
            let authority = req
                .uri()
                .authority()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default();
            let (host, port) = split_host(&authority, 443);
            if self.is_own(&host, port) || !emulated(&host, &self.extra) {
                return Routed::Answer(self.refuse_host(&host));
            }
            return Routed::Connect { host, port, req };
        }
        let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned()) else {
            return Routed::Pass(req);
        };
        let default = if req.uri().scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let (host, port) = split_host(&authority, default);
        if self.is_own(&host, port) {
            origin_form(&mut req, &authority);
            return Routed::Pass(req);
        }
        if !emulated(&host, &self.extra) {
            return Routed::Answer(self.refuse_host(&host));
        }
        origin_form(&mut req, &authority);
        if under_controls(req.uri()) {
            return Routed::Answer(self.refuse_controls());
        }
        Routed::Pass(req)
    }

    /// Checks a request inside a tunnel to `target`: it must name an emulated host (the
    /// tunnel's when it names none), and not the controls.
    pub(crate) fn inner<B>(&self, target: &str, mut req: Request<B>) -> Routed<B> {
        if let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned()) {
            origin_form(&mut req, &authority);
        }
        let host = match req
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
        {
            Some(h) => split_host(h, 443).0,
            None => {
                if let Ok(v) = HeaderValue::from_str(target) {
                    req.headers_mut().insert(http::header::HOST, v);
                }
                target.to_owned()
            }
        };
        if req.method() == Method::CONNECT || !emulated(&host, &self.extra) {
            return Routed::Answer(self.refuse_host(&host));
        }
        if under_controls(req.uri()) {
            return Routed::Answer(self.refuse_controls());
        }
        Routed::Pass(req)
    }

    /// The TLS settings of a tunnel to `target`: certificates by name (SNI), the tunnel's
    /// name when the client sends none; HTTP/1.1 only.
    pub(crate) fn tls(&self, target: &str) -> Arc<rustls::ServerConfig> {
        let mut cache = self.tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(target) {
            return c.clone();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Leaves {
                ca: self.ca.clone(),
                target: target.to_owned(),
                extra: self.extra.clone(),
            }));
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let cfg = Arc::new(cfg);
        cache.insert(target.to_owned(), cfg.clone());
        cfg
    }
}

/// Whether a request is for the emulator's own pages and controls.
fn under_controls(uri: &Uri) -> bool {
    uri.path()
        .strip_prefix(crate::control::api::MOCK_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Turns an absolute-form target into the origin form a server reads, keeping `Host`
/// (setting it from the target when the client sent none).
fn origin_form<B>(req: &mut Request<B>, authority: &str) {
    let pq = req
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    if let Ok(uri) = pq.parse() {
        *req.uri_mut() = uri;
    }
    if !req.headers().contains_key(http::header::HOST)
        && let Ok(v) = HeaderValue::from_str(authority)
    {
        req.headers_mut().insert(http::header::HOST, v);
    }
}

/// Picks the certificate of a TLS handshake.
#[derive(Debug)]
struct Leaves {
    ca: Arc<ca::Authority>,
    target: String,
    extra: Vec<String>,
}

impl rustls::server::ResolvesServerCert for Leaves {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let name = hello
            .server_name()
            .filter(|n| emulated(n, &self.extra))
            .unwrap_or(&self.target);
        match self.ca.leaf(name) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::error!(error = %e, name, "cannot issue a certificate");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_legacy_code_writes_are_emulated_and_no_others() {
        for yes in [
            "openapi-us.dji.com",
            "openapi-cn.dji.com",
            "s3.amazonaws.com",
            "s3.us-east-1.amazonaws.com",
            "s3-us-west-2.amazonaws.com",
            "terra-mock-s3.s3.us-east-1.amazonaws.com",
            "terra-mock-s3.s3.amazonaws.com",
            "s3.dualstack.eu-west-1.amazonaws.com",
            "b.s3-accelerate.amazonaws.com",
            "s3.cn-north-1.amazonaws.com.cn",
            "oss-cn-hangzhou.aliyuncs.com",
            "terra-mock-oss.oss-cn-hangzhou.aliyuncs.com",
            "oss-cn-hangzhou-internal.aliyuncs.com",
            "oss-accelerate.aliyuncs.com",
            "OSS-CN-SHANGHAI.ALIYUNCS.COM.",
        ] {
            assert!(emulated(yes, &[]), "{yes}");
        }
        for no in [
            "example.com",
            "sts.amazonaws.com",
            "dji.com",
            "www.dji.com",
            "ecs.aliyuncs.com",
            "s3.amazonaws.com.evil.example",
            "oss-cn-hangzhou.aliyuncs.com.evil.example",
            "127.0.0.1",
        ] {
            assert!(!emulated(no, &[]), "{no}");
        }
        assert!(emulated("storage.corp.test", &["*.corp.test".into()]));
    }
}
