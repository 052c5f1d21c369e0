//! Arbitrary requests (method, path, query, headers, body), unsigned and signed the three
//! ways clients sign (TerraAPI gateway, SigV4 with an STS session, OSS V1/V4 with one),
//! thrown at the in-process router: nothing a client sends may panic the mock or make it
//! answer a 5xx (no fault is injected here).

mod common;

use std::sync::OnceLock;

use common::sigv4;
use proptest::prelude::*;
use reqsign_aliyun_oss::{Credential, RequestSigner, SigningVersion};
use reqsign_core::{Context, SignRequest};
use terra_mock::storage::presign::uri_encode;
use terra_mock::{Provider, TerraMock};
use terra_types::StsToken;
use tower::ServiceExt as _;

/// A mock with one S3 and one OSS account, a session of each, and some state to hit.
struct World {
    mock: TerraMock,
    s3: StsToken,
    oss: StsToken,
    rt: tokio::runtime::Runtime,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mock = TerraMock::builder()
            .add_account("oss-ak", "oss-sk", Provider::Oss)
            .build()
            .unwrap();
        let s3 = mock.issue_token(mock.app_key()).unwrap();
        let oss = mock.issue_token("oss-ak").unwrap();
        mock.put_object(&s3, "a.jpg", b"jpeg").unwrap();
        mock.put_object(&oss, "a.jpg", b"jpeg").unwrap();
        World { mock, s3, oss, rt }
    })
}

#[derive(Debug, Clone, Copy)]
enum Auth {
    None,
    Gateway,
    SigV4,
    OssV1,
    OssV4,
}

#[derive(Debug, Clone)]
struct Case {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    auth: Auth,
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("".to_owned()),
        Just("..".to_owned()),
        Just("%00".to_owned()),
        Just("%2F".to_owned()),
        Just("00000000-0000-0000-0000-000000000001".to_owned()),
        "[a-zA-Z0-9_.~-]{1,12}",
        "\\PC{1,6}".prop_map(|s| uri_encode(&s)),
    ]
}

fn api_path() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        Just("00000000-0000-0000-0000-000000000001".to_owned()),
        segment(),
    ];
    let route = prop_oneof![
        Just("store/obtain_token".to_owned()),
        Just("store/upload_callback".to_owned()),
        Just("resources".to_owned()),
        Just("files".to_owned()),
        Just("jobs".to_owned()),
        id.clone().prop_map(|i| format!("resources/{i}")),
        id.clone().prop_map(|i| format!("resources/{i}/copy")),
        id.clone()
            .prop_map(|i| format!("resources/{i}/file_operation")),
        id.clone().prop_map(|i| format!("files/{i}")),
        id.clone().prop_map(|i| format!("jobs/{i}")),
        id.clone().prop_map(|i| format!("jobs/{i}/start")),
        id.clone().prop_map(|i| format!("jobs/{i}/stop")),
        id.prop_map(|i| format!("jobs/{i}/copy")),
        proptest::collection::vec(segment(), 0..3).prop_map(|v| v.join("/")),
    ];
    route.prop_map(|r| format!("/terra-rescon-be/v2/{r}"))
}

fn storage_path(token: &'static StsToken) -> impl Strategy<Value = String> {
    let key = prop_oneof![
        4 => Just(token.object_key("a.jpg")),
        2 => segment().prop_map(|s| token.object_key(&s)),
        1 => Just(token.object_key("")),
        1 => Just(String::new()),
        1 => segment(),
    ];
    let bucket = prop_oneof![
        8 => Just(token.cloud_bucket_name.clone()),
        1 => Just("other-bucket".to_owned()),
    ];
    (bucket, key)
        .prop_map(|(b, k)| format!("/{b}/{}", terra_mock::storage::presign::encode_key(&k)))
}

fn path(auth: Auth) -> BoxedStrategy<String> {
    let w = world();
    match auth {
        Auth::Gateway => api_path().boxed(),
        Auth::SigV4 => storage_path(&w.s3).boxed(),
        Auth::OssV1 | Auth::OssV4 => storage_path(&w.oss).boxed(),
        Auth::None => prop_oneof![
            api_path(),
            storage_path(&w.s3),
            storage_path(&w.oss),
            proptest::collection::vec(segment(), 0..4).prop_map(|v| format!("/{}", v.join("/"))),
        ]
        .boxed(),
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("url".to_owned()),
        Just("2".to_owned()),
        Just("true".to_owned()),
        "[0-9]{1,25}",
        "[A-Za-z0-9/+=]{1,20}",
        "\\PC{0,8}",
    ]
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("uploadId"),
        Just("partNumber"),
        Just("uploads"),
        Just("prefix"),
        Just("PREFIX"),
        Just("max-keys"),
        Just("list-type"),
        Just("delimiter"),
        Just("encoding-type"),
        Just("continuation-token"),
        Just("start-after"),
        Just("marker"),
        Just("max-parts"),
        Just("part-number-marker"),
        Just("max-uploads"),
        Just("key-marker"),
        Just("acl"),
        Just("tagging"),
        Just("delete"),
        Just("page"),
        Just("rows"),
        Just("uuids"),
        Just("type"),
        Just("search"),
        Just("resourceUuid"),
        Just("needURL"),
        Just("orderAsc"),
        Just("deleteMode"),
        Just("x-oss-date"),
        Just("x-oss-expires"),
        Just("Expires"),
        Just("X-Amz-Expires"),
        Just("X-Amz-Date"),
        Just("response-content-type"),
    ]
    .prop_map(str::to_owned);
    prop_oneof![
        2 => Just(Vec::new()),
        3 => proptest::collection::vec((name, value()), 1..4),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let pair = prop_oneof![
        value().prop_map(|v| ("range".to_owned(), format!("bytes={v}"))),
        value().prop_map(|v| ("range".to_owned(), v)),
        value().prop_map(|v| ("content-md5".to_owned(), v)),
        value().prop_map(|v| ("content-type".to_owned(), v)),
        value().prop_map(|v| ("x-oss-date".to_owned(), v)),
        value().prop_map(|v| ("date".to_owned(), v)),
        value().prop_map(|v| ("x-date".to_owned(), v)),
        value().prop_map(|v| ("digest".to_owned(), v)),
        value().prop_map(|v| ("return-detail".to_owned(), v)),
        value().prop_map(|v| ("x-amz-content-sha256".to_owned(), v)),
        value().prop_map(|v| ("x-oss-content-sha256".to_owned(), v)),
        value().prop_map(|v| ("x-oss-complete-all".to_owned(), v)),
        value().prop_map(|v| ("content-encoding".to_owned(), v)),
        value().prop_map(|v| ("authorization".to_owned(), format!("OSS {v}:{v}"))),
        value().prop_map(|v| (
            "authorization".to_owned(),
            format!("OSS4-HMAC-SHA256 Credential={v}, Signature={v}")
        )),
        value().prop_map(|v| (
            "authorization".to_owned(),
            format!("AWS4-HMAC-SHA256 Credential={v}")
        )),
        value().prop_map(|v| ("authorization".to_owned(), format!("hmac username=\"{v}\""))),
        value().prop_map(|v| ("x-amz-security-token".to_owned(), v)),
        value().prop_map(|v| ("x-oss-security-token".to_owned(), v)),
    ];
    prop_oneof![
        2 => Just(Vec::new()),
        3 => proptest::collection::vec(pair, 1..4),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(br#"{"name":"x","type":"map"}"#.to_vec()),
        Just(br#"{"callbackParam":"x","resourceUUID":"y","files":[{"name":"../a","etag":"1","checksum":"1"}]}"#.to_vec()),
        Just(br#"{"type":15,"resourceUuid":"00000000-0000-0000-0000-000000000001","parameters":"{}"}"#.to_vec()),
        Just(b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>".to_vec()),
        Just(b"<CompleteMultipartUpload><Part><PartNumber>99999999999</PartNumber></Part>".to_vec()),
        "\\PC{0,40}".prop_map(String::into_bytes),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let method = prop_oneof![
        Just("GET"),
        Just("HEAD"),
        Just("PUT"),
        Just("POST"),
        Just("DELETE"),
        Just("PATCH"),
        Just("OPTIONS"),
    ]
    .prop_map(str::to_owned);
    let auth = prop_oneof![
        Just(Auth::None),
        Just(Auth::Gateway),
        Just(Auth::SigV4),
        Just(Auth::OssV1),
        Just(Auth::OssV4),
    ];
    auth.prop_flat_map(move |auth| {
        (method.clone(), path(auth), query(), headers(), body()).prop_map(
            move |(method, path, query, headers, body)| Case {
                method,
                path,
                query,
                headers,
                body,
                auth,
            },
        )
    })
}

fn build(c: &Case) -> Option<http::Request<axum::body::Body>> {
    let w = world();
    let mut uri = c.path.clone();
    if !c.query.is_empty() {
        uri.push('?');
        let q: Vec<String> = c
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect();
        uri.push_str(&q.join("&"));
    }
    let mut b = http::Request::builder().method(c.method.as_str()).uri(&uri);
    for (n, v) in &c.headers {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            b = b.header(n.as_str(), v);
        }
    }
    let (mut parts, ()) = b.body(()).ok()?.into_parts();
    match c.auth {
        Auth::None => {}
        Auth::Gateway => {
            let signed = terra_sign::sign(
                &terra_sign::SignableRequest::new(&c.method, &uri, &c.body),
                &terra_sign::Credentials::new(w.mock.app_key(), w.mock.secret()),
                &terra_sign::SigningParams::new(w.mock.now()),
            );
            for (n, v) in signed.headers() {
                parts.headers.insert(n, v.parse().ok()?);
            }
        }
        Auth::SigV4 => sigv4(&mut parts, &w.s3),
        Auth::OssV1 | Auth::OssV4 => {
            let version = if matches!(c.auth, Auth::OssV1) {
                SigningVersion::V1
            } else {
                SigningVersion::V4
            };
            let cred = Credential {
                access_key_id: w.oss.access_key_id.clone(),
                access_key_secret: w.oss.secret_access_key.expose().to_owned(),
                security_token: Some(w.oss.session_token.expose().to_owned()),
                expires_in: None,
            };
            let signer = RequestSigner::new(&w.oss.cloud_bucket_name)
                .with_signing_version(version)
                .with_region("cn-hangzhou");
            // A signer that refuses the request (odd path or query) leaves it unsigned.
            let _ =
                w.rt.block_on(signer.sign_request(&Context::new(), &mut parts, Some(&cred), None));
        }
    }
    Some(http::Request::from_parts(
        parts,
        axum::body::Body::from(c.body.clone()),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_client_input_panics_or_gets_a_5xx(c in case()) {
        let w = world();
        if let Some(req) = build(&c) {
            let resp = w.rt.block_on(w.mock.router().oneshot(req)).unwrap();
            let status = resp.status();
            let body = w.rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 20)).unwrap_or_default();
            prop_assert!(
                status.as_u16() < 500,
                "{} {} ({:?}) answered {status}: {}",
                c.method,
                c.path,
                c.auth,
                String::from_utf8_lossy(&body)
            );
        }
    }
}
