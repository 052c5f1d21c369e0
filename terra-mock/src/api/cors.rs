//! CORS on the TerraAPI routes, off unless origins are named (`--api-cors-origin`):
//! DJI's gateway setting is not known and the published browser demos send those calls
//! through their dev server's proxy. For a named origin (or `*`), a preflight is answered
//! before the gateway (it carries no signature) and every answer, refusals included, says
//! the origin may read it.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::core::Core;

fn origin_of(h: &HeaderMap) -> Option<&str> {
    h.get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty())
}

/// The `Access-Control-Allow-Origin` value for `origin`, when the configuration allows it.
fn allowed<'a>(m: &Core, origin: &'a str) -> Option<&'a str> {
    let list = &m.cfg.api_cors_origins;
    if list.iter().any(|o| o.trim() == "*") {
        Some("*")
    } else if list
        .iter()
        .any(|o| o.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        Some(origin)
    } else {
        None
    }
}

/// The answer to a preflight of an API route from an allowed origin; `None` otherwise
/// (the request then goes on as any other).
pub(crate) fn preflight(m: &Core, method: &http::Method, h: &HeaderMap) -> Option<Response> {
    if method != http::Method::OPTIONS || !h.contains_key("access-control-request-method") {
        return None;
    }
    let allow = allowed(m, origin_of(h)?)?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    let out = r.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    };
    set("access-control-allow-origin", allow);
    set("access-control-allow-methods", "GET, POST, PUT, DELETE");
    if let Some(asked) = h
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
    {
        set("access-control-allow-headers", asked);
    }
    set("access-control-max-age", "600");
    set("vary", "Origin");
    Some(r)
}

/// Marks an API answer readable by the page that asked, when its origin is allowed.
pub(crate) fn decorate(m: &Core, request: &HeaderMap, resp: &mut Response) {
    let Some(allow) = origin_of(request).and_then(|o| allowed(m, o)) else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(allow) {
        resp.headers_mut().insert("access-control-allow-origin", v);
    }
    resp.headers_mut()
        .append(http::header::VARY, HeaderValue::from_static("Origin"));
}
