//! Issue 31, rows 1 and 2: fault rules whose patterns stalled a worker for seconds (a chain
//! of `**` against a long path) or overflowed its stack and aborted the process (20 000
//! `**` segments). Patterns are compiled once into an automaton that reads a path once;
//! one past the length limit is refused with the limit named.

use std::time::Instant;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_rule_stalls_or_crashes_the_server() {
    // The standalone server, so that a stalled or aborted server fails this test by its
    // deadlines rather than taking the test with it.
    let server = Server::start(4096, &["--log", "warn"], &[]);
    let base = server.base.clone();
    let control = format!("{base}/_terra-mock/v1");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let add = |path: String| {
        http.post(format!("{control}/faults"))
            .json(
                &json!({"method": "GET", "path": path, "fault": {"type": "status", "status": 503}}),
            )
            .send()
    };

    // Twelve `**` then `/x`, and a signed GET of 200 segments: 10.7 s of one core before.
    let r = add(format!("/{}x", "**/".repeat(12))).await.unwrap();
    assert_eq!(r.status(), 201);
    let started = Instant::now();
    let target = format!("{V2}/{}", "a/".repeat(200));
    let (api, health) = tokio::join!(
        signed_get(&base, &target),
        http.get(format!("{control}/health")).send()
    );
    assert_eq!(
        api.unwrap().status(),
        404,
        "an unknown route, not the fault"
    );
    assert_eq!(health.unwrap().status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        started.elapsed()
    );

    // 20 000 `**` segments: the stack overflowed and the process aborted before.
    let r = add(format!("/{}x", "**/".repeat(20_000))).await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    let msg = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("at most 1024 bytes"), "{body}");
    // A pattern near the limit that stays large once compiled, against an 8 KB path.
    let r = add(format!("/{}x", "*a*/**/".repeat(145))).await.unwrap();
    assert_eq!(r.status(), 201);
    let started = Instant::now();
    let deep = format!("{V2}/{}", "ab/".repeat(2_700));
    assert_eq!(signed_get(&base, &deep).await.unwrap().status(), 404);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        http.get(format!("{control}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still serving"
    );
}
