//! The two OpenAPI documents terra-mock serves (`terra-mock/openapi/`): generated from the
//! types, checked in, and kept true. Regenerate with `TERRA_BLESS=1 cargo test -p tests
//! --test openapi`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use tower::ServiceExt as _;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compares a generated document with the checked-in one (or writes it, when blessing).
fn check(generated: &Value, file: &str) {
    let path = root().join("terra-mock/openapi").join(file);
    let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
    if std::env::var_os("TERRA_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap();
    assert!(
        stored == text,
        "{} is out of date with the types it is generated from: run \
         `TERRA_BLESS=1 cargo test -p tests --test openapi` and commit the result",
        path.display()
    );
}

#[test]
fn the_documents_are_up_to_date() {
    check(&terra_mock::openapi::terra_api(), "terra-api.json");
    check(&terra_mock::openapi::control_api(), "control-api.json");
}

/// No operation has two parameters of the same name and place (OpenAPI forbids it, and
/// validators refuse the whole document).
#[test]
fn no_operation_repeats_a_parameter() {
    for doc in [
        terra_mock::openapi::terra_api(),
        terra_mock::openapi::control_api(),
    ] {
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let mut seen = BTreeSet::new();
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let key = (p["name"].to_string(), p["in"].to_string());
                    assert!(seen.insert(key.clone()), "{method} {path} repeats {key:?}");
                }
            }
        }
    }
}

/// `(method, path)` of every operation of a document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect()
}

/// `(method, path)` of every route a router source file declares, read from its
/// `.route(&prefix("/path"), get(a).post(b))` calls (a tidy check on the source: a route
/// added without its documentation fails here).
fn routes_in_source(file: &str, prefix_fn: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(root().join(file)).unwrap();
    let flat = src
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" .", ".");
    let needle = format!(".route(&{prefix_fn}(\"");
    let mut out = BTreeSet::new();
    for piece in flat.split(&needle).skip(1) {
        let (path, rest) = piece.split_once('"').unwrap();
        // The handlers up to the closing parenthesis of `.route(`.
        let mut depth = 2; // inside `.route(` and `v2(`
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handlers = &rest[..end];
        for m in ["get", "post", "put", "delete", "patch"] {
            let called = handlers.match_indices(&format!("{m}(")).any(|(i, _)| {
                i == 0
                    || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && handlers.as_bytes()[i - 1] != b'_'
            });
            if called {
                out.insert((m.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    assert!(!out.is_empty(), "no routes found in {file}");
    out
}

#[test]
fn every_route_served_is_documented_and_nothing_more() {
    let terra = operations(&terra_mock::openapi::terra_api());
    let served = routes_in_source("terra-mock/src/api/mod.rs", "v2", "/terra-rescon-be/v2");
    assert_eq!(served.len(), 21, "{served:?}");
    assert_eq!(terra, served);
    let control = operations(&terra_mock::openapi::control_api());
    let served = routes_in_source("terra-mock/src/control/api.rs", "v1", "/_terra-mock/v1");
    let undocumented: Vec<_> = served.difference(&control).collect();
    let unserved: Vec<_> = control.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {unserved:?}"
    );
}

/// Each documented control operation is routed: nothing answers "no control route" or 405.
#[tokio::test]
async fn every_documented_control_operation_answers() {
    let mock = terra_mock::TerraMock::builder().build().unwrap();
    for (method, path) in operations(&terra_mock::openapi::control_api()) {
        let path = path
            .replace("{app_key}", mock.app_key())
            .replace("{uuid}", "00000000-0000-0000-0000-000000000000")
            .replace("{id}", "1");
        let req = http::Request::builder()
            .method(method.as_str())
            .uri(&path)
            .header("content-type", "application/json")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = mock.router().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            status != 405 && !text.contains("no control route"),
            "{method} {path}: {status} {text}"
        );
    }
}

/// The served documents are the checked-in ones.
#[tokio::test]
async fn the_mock_serves_the_documents() {
    let mock = terra_mock::TerraMock::builder().build().unwrap();
    for (path, file) in [
        ("/_terra-mock/terra-api.json", "terra-api.json"),
        ("/_terra-mock/v1/openapi.json", "control-api.json"),
    ] {
        let req = http::Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = mock.router().oneshot(req).await.unwrap();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
            .await
            .unwrap();
        let served: Value = serde_json::from_slice(&bytes).unwrap();
        let stored: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("terra-mock/openapi").join(file)).unwrap(),
        )
        .unwrap();
        assert_eq!(served, stored, "{path}");
        assert_eq!(served["openapi"], "3.1.0");
    }
}
