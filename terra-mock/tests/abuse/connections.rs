//! Refusals before authentication, connections that cannot be starved, timeouts, keep-alive after errors.

use super::*;

/// Row 1: 40 unauthenticated POSTs of 15 MiB to an unknown API route grew the server by
/// 620 MB: bodies were read before the signature check. Now the refusal comes from the
/// headers alone, before a single body byte is read.
#[tokio::test]
async fn an_unauthenticated_body_is_never_read() {
    let mock = TerraMock::builder().build().unwrap();
    // A body that never arrives: if the gateway waited for it, this would hang.
    let body = axum::body::Body::from_stream(futures::stream::pending::<
        Result<bytes::Bytes, std::io::Error>,
    >());
    let req = http::Request::post(format!("{V2}/nope"))
        .header("content-length", (15 << 20).to_string())
        .body(body)
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), mock.router().oneshot(req))
        .await
        .expect("answered without reading the body")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let last = mock.requests().pop().unwrap();
    assert!(last.body.is_empty(), "nothing of the body was kept");

    // The same through the standalone server, with real 15 MiB bodies: memory stays put.
    let server = Server::start(4096, &["--log", "warn"], &[]);
    let before = server.rss_kib();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..40 {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "POST /terra-rescon-be/v2/nope HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            15 << 20
        )
        .unwrap();
        // Send what the server takes; it may close the connection after answering.
        for _ in 0..15 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
        let mut head = [0u8; 12];
        let _ = s.read(&mut head);
        assert!(
            head.starts_with(b"HTTP/1.1 401"),
            "{:?}",
            String::from_utf8_lossy(&head)
        );
    }
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 40 * 1024,
        "the server grew by {grown} KiB for 600 MiB of refused bodies"
    );
}

/// Row 2: 1,100 half-sent requests against a 1,024-descriptor limit starved every real
/// client. At the cap, a new connection evicts the oldest one still sending its headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_cannot_starve_a_signed_request() {
    // This test opens 1,100 sockets itself.
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current.is_some_and(|c| c < 1400) {
        let raised = Rlimit {
            current: Some(lim.maximum.unwrap_or(4096).min(4096)),
            maximum: lim.maximum,
        };
        setrlimit(Resource::Nofile, raised).expect("raise this test's descriptor limit");
    }
    let server = Server::start(1024, &["--log", "warn"], &[]);
    let mut held = Vec::new();
    for _ in 0..1100 {
        match TcpStream::connect(server.addr()) {
            Ok(mut s) => {
                let _ = s.write_all(b"GET /terra-rescon-be/v2/jobs HTT");
                held.push(s);
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        signed_get(&server.base, "/terra-rescon-be/v2/jobs?rows=1"),
    )
    .await
    .expect("a signed GET is answered while 1,100 connections hang")
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let env: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(env["result"]["code"], 0);
    drop(held);
}

/// A request body that stalls is cut off; a connection that never sends its headers is
/// closed; the server keeps answering.
#[tokio::test]
async fn stalled_bodies_and_headers_time_out() {
    let cfg = MockConfig {
        header_read_timeout_secs: 0.5,
        body_idle_timeout_secs: 0.5,
        ..Default::default()
    };
    let mock = TerraMock::builder().config(cfg).start().await.unwrap();
    let addr = mock.addr();
    let stalled_head = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /terra-rescon-be/v2/jobs HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        // The server closes the connection: read ends (with nothing, or an error).
        let _ = s.read_to_end(&mut buf);
        buf
    });
    let target = "/terra-rescon-be/v2/jobs";
    let body = br#"{"name":"slow"}"#;
    let signed = sign(
        &SignableRequest::new("POST", target, body),
        &Credentials::new(mock.app_key(), mock.secret()),
        &SigningParams::new(mock.now()),
    );
    let addr = mock.addr();
    let stalled_body = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut head = format!(
            "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (n, v) in signed.headers() {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body[..4]).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let head = tokio::time::timeout(Duration::from_secs(15), stalled_head)
        .await
        .expect("a connection stuck in its headers is closed")
        .unwrap();
    assert!(head.is_empty(), "no answer to half a request");
    let answer = tokio::time::timeout(Duration::from_secs(15), stalled_body)
        .await
        .expect("a stalled body does not hold the request forever")
        .unwrap();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_eq!(
        mock.stats(mock.app_key()).jobs,
        0,
        "nothing was created from half a body"
    );
    let r = Api::new(&mock).call("GET", "/jobs", None).await;
    assert_eq!(r.code(), 0);
}

/// Before authentication an unknown API route is the gateway's 401 (it reveals nothing);
/// after, a 404 naming the route; outside the API, a 404 naming what is served. Error
/// answers keep the keep-alive connection usable.
#[tokio::test]
async fn unknown_routes_and_keep_alive_after_errors() {
    let mock = TerraMock::start().await.unwrap();
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let r = http
            .get(format!("{}/terra-rescon-be/v2/nope", mock.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["message"], "Unauthorized");
    }
    let r = Api::new(&mock).call("GET", "/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("/terra-rescon-be/v2/nothing/here")
    );
    for _ in 0..3 {
        let r = http
            .get(format!("{}/elsewhere", mock.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
