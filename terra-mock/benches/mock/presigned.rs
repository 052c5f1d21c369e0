//! 3. Presigned GET, beside moto.

use super::*;

// ---- 3. presigned GET, beside moto ---------------------------------------------------------

pub(crate) async fn get_loop(
    addr: &str,
    target: &str,
    headers: Vec<(String, String)>,
) -> (Vec<Tally>, f64) {
    get_over(&Route::Direct(addr.to_owned()), None, target, headers).await
}

/// [`get_loop`] over connections made by `route`, with `host` as the `Host` header when
/// given.
pub(crate) async fn get_over(
    route: &Route,
    host: Option<&str>,
    target: &str,
    headers: Vec<(String, String)>,
) -> (Vec<Tally>, f64) {
    let duration = seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (route, target, headers) = (route.clone(), target.to_owned(), headers.clone());
        let host = host.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(&route).await;
            let host = host.unwrap_or_else(|| c.host.clone());
            let mut t = Tally::default();
            while start.elapsed() < duration {
                let t0 = Instant::now();
                match c.send_as(&host, "GET", &target, &headers, b"").await {
                    Ok(r) if r.status == 200 && r.body.len() == 1024 => {
                        t.latencies_us.push(t0.elapsed().as_micros() as u32)
                    }
                    Ok(_) => t.errors += 1,
                    Err(_) => {
                        t.errors += 1;
                        c = Conn::connect(&route).await;
                    }
                }
            }
            t
        }));
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    (tallies, start.elapsed().as_secs_f64())
}

pub(crate) async fn presigned(server: &Server) {
    let (ak, sk) = ACCOUNTS[2];
    let mut c = Conn::open(&server.addr).await;
    let token: StsToken = serde_json::from_value(
        api(&mut c, ak, sk, "POST", "/store/obtain_token", None)
            .await
            .unwrap()
            .json()["data"]
            .clone(),
    )
    .unwrap();
    let body = vec![b'x'; 1024];
    let key = token.object_key("small.jpg");
    let path = format!("/{}/{}", token.cloud_bucket_name, encode_key(&key));
    let h = sigv4(&token, &server.addr, "PUT", &path, "");
    assert_eq!(c.send("PUT", &path, &h, &body).await.unwrap().status, 200);
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
    let rid = api(
        &mut c,
        ak,
        sk,
        "POST",
        "/resources",
        Some(json!({"name": "p", "type": "map"})),
    )
    .await
    .unwrap()
    .json()["data"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let files = api(&mut c, ak, sk, "POST", "/store/upload_callback", Some(json!({"callbackParam": token.callback_param, "resourceUUID": rid, "files": [{"name": "small.jpg", "etag": etag, "checksum": etag}]}))).await.unwrap().json();
    let file = files["data"][0]["uuid"].as_str().unwrap().to_owned();
    let url = api(&mut c, ak, sk, "GET", &format!("/files/{file}"), None)
        .await
        .unwrap()
        .json()["data"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = url.split_once(&server.addr).unwrap().1.to_owned();
    let (t, secs) = get_loop(&server.addr, &target, Vec::new()).await;
    report(
        &format!(
            "presigned: terra-mock, presigned GET of a 1 KiB object, {CONNECTIONS} connections"
        ),
        t,
        secs,
    );
    let ours = wrk(
        "presigned: terra-mock, the same GET",
        &server.addr,
        &target,
        &[],
        server.child.id(),
    );
    // The ceiling: the same 1 KiB from nginx, rounds interleaved with terra-mock's.
    let nginx = Nginx::start();
    if let Some(n) = &nginx {
        n.put("small.jpg", &body);
    }
    beside_the_ceiling(
        "presigned: a GET of 1 KiB",
        || {
            wrk(
                "presigned: terra-mock",
                &server.addr,
                &target,
                &[],
                server.child.id(),
            )
        },
        nginx.as_ref(),
        "/small.jpg",
    );
    drop(nginx);

    let Some(moto) = std::env::var_os("BENCH_MOTO") else {
        println!(
            "presigned: moto_server not measured (set BENCH_MOTO; cargo xtask bench mock does)"
        );
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err()
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c = Conn::open(&addr).await;
    // moto's default mode takes any signature: a bucket, an object, then the same
    // presigned-style GET (SigV4 query parameters) as the mock's links.
    assert_eq!(c.send("PUT", "/bench", &[], b"").await.unwrap().status, 200);
    assert_eq!(
        c.send("PUT", "/bench/small.jpg", &[], &body)
            .await
            .unwrap()
            .status,
        200
    );
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let moto_target = format!("/bench/small.jpg?{query}");
    let (t, secs) = get_loop(&addr, &moto_target, Vec::new()).await;
    report(
        &format!(
            "presigned: moto_server {}, the same GET, {CONNECTIONS} connections",
            moto_version()
        ),
        t,
        secs,
    );
    let theirs = wrk(
        &format!("presigned: moto_server {}, the same GET", moto_version()),
        &addr,
        &moto_target,
        &[],
        child.id(),
    );
    if let (Some(ours), Some(theirs)) = (ours, theirs) {
        println!(
            "presigned: terra-mock / moto_server with wrk: {:.1}x the requests per second, p99 {:.2} vs {:.2} ms",
            ours.rate / theirs.rate,
            ours.p99_ms,
            theirs.p99_ms
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn moto_version() -> String {
    std::env::var("BENCH_MOTO_VERSION").unwrap_or_default()
}

pub(crate) async fn obtain(c: &mut Conn, ak: &str, sk: &str) -> StsToken {
    let r = api(c, ak, sk, "POST", "/store/obtain_token", None)
        .await
        .unwrap();
    serde_json::from_value(r.json()["data"].clone()).unwrap()
}
