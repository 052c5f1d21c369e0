//! Who and what may reach the emulator's own pages and controls (`/_terra-mock`), checked
//! before anything else there:
//!
//! - the `Host` must be a loopback name (`localhost`, `*.localhost`), an IP address, or a
//!   name given with `--allowed-host`: a page whose name was made to resolve to this
//!   machine (DNS rebinding) sends its own name, and is refused;
//! - an `Origin`, when sent, must be the emulator's own or one given with
//!   `--allowed-origin`, and `Sec-Fetch-Site: cross-site` is refused: a page elsewhere
//!   cannot drive the controls, not even with requests it may send without asking;
//! - every call that changes state must say `Content-Type: application/json`, which no
//!   cross-origin page can send without a CORS preflight, and preflights are never
//!   granted (no `Access-Control-Allow-*` header is ever sent here);
//! - then the existing gate: the admin token when one is set, else loopback callers.
//!
//! Requests with no `Host` at all come from in-process callers ([`crate::TerraMock::router`]).

use axum::extract::Request;
use http::{HeaderMap, Method, StatusCode};

use crate::config::MockConfig;

/// Why the guard refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A `Host` that is neither loopback, an IP address nor allowed.
    Host(String),
    /// An `Origin` that is not the emulator's own nor allowed.
    Origin(String),
    /// `Sec-Fetch-Site: cross-site`.
    CrossSite,
    /// A state-changing call without `Content-Type: application/json`.
    ContentType,
    /// A CORS preflight.
    Preflight,
}

impl Refused {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::FORBIDDEN,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Host(_) => "forbidden_host",
            Self::Origin(_) | Self::CrossSite | Self::Preflight => "forbidden_origin",
            Self::ContentType => "unsupported_media_type",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Self::Host(h) => format!(
                "the emulator's controls and dashboard answer only to loopback names \
                 (localhost, *.localhost), IP addresses and names given with --allowed-host; \
                 `Host: {h}` is none of them (a web page made to resolve here sends its own \
                 name): start terra-mock with --allowed-host {} if you reach it by that name",
                host_name(h)
            ),
            Self::Origin(o) => format!(
                "the emulator's controls answer pages of its own origin only; `Origin: {o}` \
                 is another: start terra-mock with --allowed-origin {o} to let that page call them"
            ),
            Self::CrossSite => {
                "the emulator's controls refuse requests a browser marks `Sec-Fetch-Site: \
                 cross-site`: a page on another site cannot drive them"
                    .to_owned()
            }
            Self::ContentType => {
                "calls that change the emulator's state need `Content-Type: application/json` \
                 (a body of `{}` when there is nothing to send)"
                    .to_owned()
            }
            Self::Preflight => {
                "the emulator's controls grant no cross-origin access: call them from their \
                 own origin, a test or a command line"
                    .to_owned()
            }
        }
    }
}

/// `host[:port]` without the port (IPv6 literals keep their brackets).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Whether `name` (no port) matches an allow-list entry: exact, `*.domain`, or `*`.
pub(crate) fn listed(name: &str, list: &[String]) -> bool {
    list.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
        entry == "*"
            || entry == name
            || entry
                .strip_prefix("*.")
                .is_some_and(|domain| name.ends_with(&format!(".{domain}")))
    })
}

/// Whether a `Host` value may reach the controls.
pub(crate) fn host_allowed(host: &str, cfg: &MockConfig) -> bool {
    let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name.ends_with(".localhost")
        || bare.parse::<std::net::IpAddr>().is_ok()
        || listed(&name, &cfg.allowed_hosts)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a method changes state.
fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD)
}

/// Checks a request to `/_terra-mock`.
pub(crate) fn check(req: &Request, cfg: &MockConfig) -> Result<(), Refused> {
    let h = req.headers();
    let host = header(h, "host");
    if let Some(host) = host
        && !host_allowed(host, cfg)
    {
        return Err(Refused::Host(host.to_owned()));
    }
    if *req.method() == Method::OPTIONS {
        return Err(Refused::Preflight);
    }
    if let Some(origin) = header(h, "origin") {
        let own = host.is_some_and(|host| {
            origin.eq_ignore_ascii_case(&format!("http://{host}"))
                || origin.eq_ignore_ascii_case(&format!("https://{host}"))
        });
        let allowed = cfg
            .allowed_origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin));
        if !own && !allowed {
            return Err(Refused::Origin(origin.to_owned()));
        }
    }
    if header(h, "sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Err(Refused::CrossSite);
    }
    if changes(req.method()) {
        let json = header(h, "content-type").is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Err(Refused::ContentType);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder()
            .method(method)
            .uri("/_terra-mock/v1/reset");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn loopback_names_and_addresses_only() {
        let cfg = MockConfig::default();
        for ok in [
            "localhost",
            "localhost:8080",
            "app.localhost:1",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:9000",
            "[::1]",
            "192.168.1.20:8080",
            "LOCALHOST.",
        ] {
            assert!(host_allowed(ok, &cfg), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io:80",
            // A port must be digits: these are no loopback names.
            "localhost:abc",
            "localhost:",
            "127.0.0.1:",
        ] {
            assert!(!host_allowed(bad, &cfg), "{bad}");
        }
        let cfg = MockConfig {
            allowed_hosts: vec!["mock.test".into(), "*.ci.internal".into()],
            ..Default::default()
        };
        assert!(host_allowed("mock.test:8080", &cfg) && host_allowed("a.ci.internal", &cfg));
        assert!(!host_allowed("ci.internal.evil", &cfg));
    }

    #[test]
    fn what_a_foreign_page_can_send_is_refused() {
        let cfg = MockConfig::default();
        let json = ("content-type", "application/json");
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(check(&req("POST", &[host, json]), &cfg), Ok(()));
        assert_eq!(check(&req("POST", &[json]), &cfg), Ok(()), "in-process");
        assert_eq!(
            check(
                &req("POST", &[host, ("origin", "http://127.0.0.1:8080"), json]),
                &cfg
            ),
            Ok(()),
            "the dashboard"
        );
        for (headers, want) in [
            (
                vec![host, ("origin", "http://evil.example"), json],
                "forbidden_origin",
            ),
            (vec![host, ("origin", "null"), json], "forbidden_origin"),
            (
                vec![host, ("sec-fetch-site", "cross-site"), json],
                "forbidden_origin",
            ),
            (
                vec![host, ("content-type", "text/plain")],
                "unsupported_media_type",
            ),
            (
                vec![host, ("content-type", "application/x-www-form-urlencoded")],
                "unsupported_media_type",
            ),
            (
                vec![host, ("content-type", "multipart/form-data; boundary=x")],
                "unsupported_media_type",
            ),
            (vec![host], "unsupported_media_type"),
            (vec![("host", "evil.example:8080"), json], "forbidden_host"),
        ] {
            let got = check(&req("POST", &headers), &cfg).unwrap_err();
            assert_eq!(got.kind(), want, "{headers:?}");
            // A browser sees 415 for a body it may not send, 403 for who it is.
            let status = if want == "unsupported_media_type" {
                415
            } else {
                403
            };
            assert_eq!(got.status().as_u16(), status, "{headers:?}");
        }
        assert_eq!(
            check(&req("OPTIONS", &[host]), &cfg),
            Err(Refused::Preflight)
        );
        // Reads need no content type; a foreign Host still cannot read.
        assert_eq!(check(&req("GET", &[host]), &cfg), Ok(()));
        assert_eq!(
            check(&req("GET", &[("host", "evil.example:8080")]), &cfg)
                .unwrap_err()
                .kind(),
            "forbidden_host"
        );
        let cfg = MockConfig {
            allowed_origins: vec!["http://dash.test:3000".into()],
            ..Default::default()
        };
        assert_eq!(
            check(
                &req("POST", &[host, ("origin", "http://dash.test:3000"), json]),
                &cfg
            ),
            Ok(())
        );
    }
}
