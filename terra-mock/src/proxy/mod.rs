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
//! - Targets are read strictly: a `CONNECT` port is a decimal 1 to 65535 (else 400), and
//!   emulated hosts are served on the ports their real services use (443 through
//!   `CONNECT`, 80 for `http://`); any other port is refused with 403 naming it. Only
//!   DNS host names are emulated (no wildcard, no empty label).
//! - `Proxy-Authorization` and the other hop-by-hop headers never reach the emulator's
//!   routes, log or dashboard (`strip_hop_by_hop`).

pub(crate) mod ca;
pub(crate) mod certs;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, Request, StatusCode, Uri};

use crate::control::guard::listed;
use crate::record::HOP_BY_HOP;

/// DJI's API hosts.
const API_HOSTS: [&str; 2] = ["openapi-us.dji.com", "openapi-cn.dji.com"];

/// `name` (lower case, no port) is a host the proxy answers for: DJI's API hosts, S3 in
/// every form the AWS SDKs build (`s3.amazonaws.com`, `s3.<region>…`, `s3-<region>…`,
/// `<bucket>.s3…`, dual-stack and accelerate names, `.amazonaws.com.cn`), OSS as its SDKs
/// build it (`oss-<region>.aliyuncs.com`, `<bucket>.oss-…`, `-internal` and accelerate
/// names), or one of `extra`.
pub(crate) fn emulated(name: &str, extra: &[String]) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if !ca::dns_name(&name) {
        return false;
    }
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

/// `host[:port]` read strictly: the host lower case (an IPv6 literal without its
/// brackets), the port decimal 1 to 65535, or `default` when there is none (`None`:
/// required). `Err` says what is wrong.
pub(crate) fn split_host(authority: &str, default: Option<u16>) -> Result<(String, u16), String> {
    if authority.contains('@') {
        // Never echoed: it may hold a password.
        return Err("a target with user information (`user:password@`) is not accepted".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{authority:?} opens an IPv6 literal without closing it"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("{authority:?} has text after its IPv6 literal"))?,
            ),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("{authority:?} names no host"));
    }
    let port = match port {
        Some(p) => {
            let n = (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
                .filter(|n| (1..=65535).contains(n));
            n.ok_or_else(|| {
                format!("the port of {authority:?} is not a decimal number from 1 to 65535")
            })? as u16
        }
        None => {
            default.ok_or_else(|| format!("{authority:?} has no port (CONNECT needs host:port)"))?
        }
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Removes the [`HOP_BY_HOP`] headers; with `proxied`, also those `Connection` names (which
/// an intermediary removes before passing a request on).
pub(crate) fn strip_hop_by_hop(h: &mut http::HeaderMap, proxied: bool) {
    if proxied {
        let listed: Vec<String> = h
            .get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty() && n != "close" && n != "keep-alive" && n != "host")
            .collect();
        for n in listed {
            if n != "transfer-encoding" && n != "content-length" {
                h.remove(n.as_str());
            }
        }
    }
    for n in HOP_BY_HOP {
        h.remove(n);
    }
}

/// What the proxy does with a request that arrived on the emulator's port.
#[derive(Debug)]
pub(crate) enum Routed<B> {
    /// Answer this (a refusal).
    Answer(Response),
    /// Open a tunnel to an emulated host on port 443 (`CONNECT`; the request is what
    /// upgrades).
    Connect { host: String, req: Request<B> },
    /// Serve it, as a request sent here directly.
    Pass(Request<B>),
}

/// The proxy of one emulator.
#[derive(Debug)]
pub(crate) struct Proxy {
    own: SocketAddr,
    extra: Vec<String>,
    ca: Arc<ca::Authority>,
    certs: certs::Certs,
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
    /// The proxy of an emulator listening on `own`, with its authority in `ca_dir` and
    /// at most `cert_cache` host names' certificates kept.
    pub(crate) fn new(
        own: SocketAddr,
        extra: Vec<String>,
        ca_dir: &std::path::Path,
        cert_cache: usize,
    ) -> std::io::Result<Self> {
        let ca = Arc::new(ca::Authority::open(ca_dir, &extra, ca::OnChange::Reissue)?);
        tracing::info!(
            cert = %ca.cert_path().display(),
            domains = %ca.permitted().join(", "),
            replaced = ?ca.replaced(),
            "the proxy's certificate authority"
        );
        Ok(Self {
            own,
            extra,
            certs: certs::Certs::new(ca.clone(), cert_cache),
            ca,
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

    fn refuse_port(&self, host: &str, port: u16, expected: u16) -> Response {
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "terra-mock's proxy serves {host} on port {expected} only, the port its real \
                 service uses for this kind of request; {host}:{port} is not served"
            ),
        )
    }

    fn refuse_target(&self, why: String) -> Response {
        refuse(StatusCode::BAD_REQUEST, format!("bad proxy target: {why}"))
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
            let (host, port) = match split_host(&authority, None) {
                Ok(hp) => hp,
                Err(why) => return Routed::Answer(self.refuse_target(why)),
            };
            if self.is_own(&host, port) || !emulated(&host, &self.extra) {
                return Routed::Answer(self.refuse_host(&host));
            }
            if port != 443 {
                return Routed::Answer(self.refuse_port(&host, port, 443));
            }
            let host = host.trim_end_matches('.').to_owned();
            return Routed::Connect { host, req };
        }
        let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned()) else {
            return Routed::Pass(req);
        };
        let expected = match req.uri().scheme_str() {
            Some("http") => 80,
            Some("https") => 443,
            other => {
                return Routed::Answer(self.refuse_target(format!(
                    "the scheme {:?} is not proxied (http:// only, or CONNECT for https)",
                    other.unwrap_or_default()
                )));
            }
        };
        let (host, port) = match split_host(&authority, Some(expected)) {
            Ok(hp) => hp,
            Err(why) => return Routed::Answer(self.refuse_target(why)),
        };
        if self.is_own(&host, port) {
            origin_form(&mut req, &authority);
            return Routed::Pass(req);
        }
        if !emulated(&host, &self.extra) {
            return Routed::Answer(self.refuse_host(&host));
        }
        if port != expected {
            return Routed::Answer(self.refuse_port(&host, port, expected));
        }
        origin_form(&mut req, &authority);
        strip_hop_by_hop(req.headers_mut(), true);
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
        strip_hop_by_hop(req.headers_mut(), true);
        let host = match req
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
        {
            Some(h) => match split_host(h, Some(443)) {
                Ok((h, _)) => h,
                Err(why) => return Routed::Answer(self.refuse_target(why)),
            },
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

    /// The TLS settings of a tunnel to `target`: the certificate of the name the client
    /// asked for (SNI) when it is emulated, else of the tunnel's own name; HTTP/1.1 only.
    pub(crate) fn tls(
        &self,
        sni: Option<&str>,
        target: &str,
    ) -> std::io::Result<Arc<rustls::ServerConfig>> {
        let name = sni
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| emulated(n, &self.extra))
            .unwrap_or_else(|| target.to_owned());
        self.certs.config(&name)
    }
}

/// Whether a request is for the emulator's own pages and controls.
fn under_controls(uri: &Uri) -> bool {
    uri.path()
        .strip_prefix(crate::control::api::MOCK_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Turns an absolute-form target into the origin form a server reads, its `Host` the
/// target's authority: a proxy ignores the `Host` a client sent with an absolute-form
/// target (RFC 9112, 3.2.2), so the name the proxy checked is the name served.
fn origin_form<B>(req: &mut Request<B>, authority: &str) {
    let pq = req
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    if let Ok(uri) = pq.parse() {
        *req.uri_mut() = uri;
    }
    if let Ok(v) = HeaderValue::from_str(authority) {
        req.headers_mut().insert(http::header::HOST, v);
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
        // Only DNS host names: no wildcard, no empty label (issue 31, row 8).
        for no in [
            "*.s3.us-east-1.amazonaws.com",
            "*.oss-cn-hangzhou.aliyuncs.com",
            "a..s3.amazonaws.com",
            "x_y.s3.amazonaws.com",
            "",
        ] {
            assert!(!emulated(no, &[]), "{no:?}");
        }
    }

    /// Issue 31, row 6: `:99999`, `:-1`, `:0x1bb` and `:` were taken for `:443`.
    #[test]
    fn targets_are_read_strictly() {
        for (a, d, hp) in [
            (
                "openapi-cn.dji.com:443",
                None,
                Some(("openapi-cn.dji.com", 443)),
            ),
            (
                "OpenAPI-CN.dji.com:8443",
                None,
                Some(("openapi-cn.dji.com", 8443)),
            ),
            (
                "openapi-cn.dji.com",
                Some(80),
                Some(("openapi-cn.dji.com", 80)),
            ),
            ("[::1]:8080", None, Some(("::1", 8080))),
            (
                "openapi-cn.dji.com:65535",
                None,
                Some(("openapi-cn.dji.com", 65535)),
            ),
            ("openapi-cn.dji.com", None, None),
            ("openapi-cn.dji.com:99999", None, None),
            ("openapi-cn.dji.com:65536", None, None),
            ("openapi-cn.dji.com:-1", None, None),
            ("openapi-cn.dji.com:0x1bb", None, None),
            ("openapi-cn.dji.com:", None, None),
            ("openapi-cn.dji.com:0", None, None),
            ("openapi-cn.dji.com:+443", None, None),
            ("openapi-cn.dji.com:000443", None, None),
            (":443", None, None),
            ("user:hunter2@openapi-cn.dji.com:443", None, None),
            ("[::1", None, None),
            ("[::1]x", None, None),
        ] {
            let got = split_host(a, d);
            assert_eq!(
                got.as_ref().ok().map(|(h, p)| (h.as_str(), *p)),
                hp,
                "{a}: {got:?}"
            );
        }
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "proxy-authorization",
            "Basic cHJvYmV1c2VyOmh1bnRlcjI=".parse().unwrap(),
        );
        h.insert("proxy-connection", "keep-alive".parse().unwrap());
        h.insert("connection", "keep-alive, x-hop".parse().unwrap());
        h.insert("x-hop", "1".parse().unwrap());
        h.insert("authorization", "AWS4-HMAC-SHA256 ...".parse().unwrap());
        let mut direct = h.clone();
        strip_hop_by_hop(&mut direct, false);
        assert!(direct.get("proxy-authorization").is_none() && direct.get("x-hop").is_some());
        strip_hop_by_hop(&mut h, true);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "connection"]);
    }

    /// `Connection` names the headers of one hop; its options (`close`, `keep-alive`) and
    /// `Host` are not such names: a proxied request keeps its `Host` (the bucket of a
    /// virtual-host name) whatever a client lists there.
    #[test]
    fn connection_options_and_host_are_not_hop_by_hop_names() {
        let mut h = http::HeaderMap::new();
        h.insert("host", "terra-mock-s3.s3.amazonaws.com".parse().unwrap());
        h.insert(
            "connection",
            "close, keep-alive, host, x-hop".parse().unwrap(),
        );
        h.insert("close", "a header of that name".parse().unwrap());
        h.insert("x-hop", "1".parse().unwrap());
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["host"], "terra-mock-s3.s3.amazonaws.com");
        assert_eq!(h["close"], "a header of that name");
        assert!(h.get("x-hop").is_none());
        // The framing of the message is not the client's to drop.
        let mut h = http::HeaderMap::new();
        h.insert(
            "connection",
            "content-length, transfer-encoding".parse().unwrap(),
        );
        h.insert("content-length", "5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        strip_hop_by_hop(&mut h, true);
        assert!(h.contains_key("content-length") && h.contains_key("transfer-encoding"));
    }

    fn proxy(own: &str) -> (tempfile::TempDir, Proxy) {
        let dir = tempfile::tempdir().unwrap();
        let p = Proxy::new(own.parse().unwrap(), Vec::new(), dir.path(), 16).unwrap();
        (dir, p)
    }

    fn request(method: &str, uri: &str, host: Option<&str>) -> Request<()> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(()).unwrap()
    }

    /// What the proxy decided: the status of its own answer, `CONNECT` (a tunnel to open)
    /// or `PASS` (served by the emulator), with the target and `Host` then.
    fn decided(r: Routed<()>) -> String {
        match r {
            Routed::Answer(a) => a.status().as_u16().to_string(),
            Routed::Connect { host, .. } => format!("CONNECT {host}"),
            Routed::Pass(req) => format!(
                "PASS {} {}",
                req.uri(),
                req.headers()
                    .get("host")
                    .map_or("-", |h| h.to_str().unwrap())
            ),
        }
    }

    /// Every branch of the proxy's routing: tunnels only to emulated names on 443, its own
    /// address served as a direct request on its own port only, other ports refused
    /// naming them, malformed targets refused.
    #[test]
    fn the_proxy_routes_only_what_it_emulates_on_the_services_ports() {
        let (_d, p) = proxy("127.0.0.1:8080");
        let route = |m: &str, u: &str, h: Option<&str>| decided(p.route(request(m, u, h)));
        assert_eq!(
            route("CONNECT", "openapi-cn.dji.com:443", None),
            "CONNECT openapi-cn.dji.com"
        );
        assert_eq!(route("CONNECT", "openapi-cn.dji.com:22", None), "403");
        assert_eq!(route("CONNECT", "openapi-cn.dji.com:0x1bb", None), "400");
        assert_eq!(route("CONNECT", "example.com:443", None), "403");
        assert_eq!(
            route("CONNECT", "127.0.0.1:8080", None),
            "403",
            "no tunnel to itself"
        );
        // Its own address, whatever the loopback spelling, on its own port.
        for own in [
            "http://127.0.0.1:8080/x?y",
            "http://localhost:8080/x?y",
            "http://[::1]:8080/x?y",
        ] {
            assert!(route("GET", own, None).starts_with("PASS /x?y "), "{own}");
        }
        assert_eq!(route("GET", "http://127.0.0.1:9999/x", None), "403");
        assert_eq!(route("GET", "http://10.0.0.5:8080/x", None), "403");
        // Emulated names on port 80 for http://, served under the name checked: the
        // target's, whatever Host the client sent (RFC 9112, 3.2.2).
        assert_eq!(
            route(
                "GET",
                "http://openapi-cn.dji.com/terra-rescon-be/v2/jobs",
                Some("127.0.0.1:8080")
            ),
            "PASS /terra-rescon-be/v2/jobs openapi-cn.dji.com"
        );
        assert_eq!(
            route("GET", "http://openapi-cn.dji.com/x", None),
            "PASS /x openapi-cn.dji.com"
        );
        assert_eq!(
            route("GET", "http://openapi-cn.dji.com:8080/x", None),
            "403"
        );
        assert_eq!(
            route(
                "GET",
                "http://openapi-cn.dji.com/_terra-mock/v1/state",
                None
            ),
            "403"
        );
        assert_eq!(route("GET", "ftp://openapi-cn.dji.com/x", None), "400");
        // An origin-form request is the emulator's own.
        assert_eq!(route("GET", "/x", Some("anything")), "PASS /x anything");

        // An address other than loopback is the emulator's only when it is its own.
        let (_d2, q) = proxy("10.0.0.5:8080");
        assert!(
            decided(q.route(request("GET", "http://10.0.0.5:8080/x", None))).starts_with("PASS")
        );
        assert_eq!(
            decided(q.route(request("GET", "http://10.0.0.6:8080/x", None))),
            "403"
        );
        assert!(
            decided(q.route(request("GET", "http://127.0.0.1:8080/x", None))).starts_with("PASS")
        );
    }

    /// Inside a tunnel: the request names an emulated host (the tunnel's when it names
    /// none), never the controls, never another CONNECT.
    #[test]
    fn inside_a_tunnel_only_emulated_names() {
        let (_d, p) = proxy("127.0.0.1:8080");
        let inner = |m: &str, u: &str, h: Option<&str>| {
            decided(p.inner("openapi-cn.dji.com", request(m, u, h)))
        };
        assert_eq!(inner("GET", "/x", None), "PASS /x openapi-cn.dji.com");
        assert_eq!(
            inner("GET", "/x", Some("terra-mock-s3.s3.amazonaws.com")),
            "PASS /x terra-mock-s3.s3.amazonaws.com"
        );
        assert_eq!(inner("GET", "/x", Some("example.com")), "403");
        assert_eq!(inner("GET", "/x", Some("openapi-cn.dji.com:0x1bb")), "400");
        assert_eq!(inner("CONNECT", "openapi-cn.dji.com:443", None), "403");
        assert_eq!(inner("GET", "/_terra-mock/v1/state", None), "403");
    }
}
