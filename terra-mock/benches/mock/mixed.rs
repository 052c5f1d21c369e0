//! 2. The mixed workload, and 5. the soak that runs it for a minute.

use super::*;

// ---- 2. the mixed workload ----------------------------------------------------------------

/// One round of a client's life: token, resource, an upload, its callback, lists and
/// gets, a job, then deleting the job and the resource with its files. 13 requests.
pub(crate) async fn round(
    c: &mut Conn,
    ak: &str,
    sk: &str,
    body: &[u8],
    etag: &str,
    t: &mut Tally,
) -> std::io::Result<()> {
    let timed = |r: std::io::Result<Reply>, t0: Instant, t: &mut Tally| -> std::io::Result<Reply> {
        match r {
            Ok(r) if r.status < 300 => {
                t.latencies_us.push(t0.elapsed().as_micros() as u32);
                Ok(r)
            }
            Ok(r) => {
                t.errors += 1;
                Err(std::io::Error::other(format!(
                    "status {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                )))
            }
            Err(e) => {
                t.errors += 1;
                Err(e)
            }
        }
    };
    macro_rules! call {
        ($m:expr, $p:expr, $b:expr) => {{
            let t0 = Instant::now();
            let r = api(c, ak, sk, $m, $p, $b).await;
            timed(r, t0, t)?
        }};
    }
    let token: StsToken =
        serde_json::from_value(call!("POST", "/store/obtain_token", None).json()["data"].clone())
            .map_err(std::io::Error::other)?;
    let rid = call!(
        "POST",
        "/resources",
        Some(json!({"name": "mixed", "type": "map"}))
    )
    .json()["data"]["uuid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = token.object_key("DJI_0001.JPG");
    let path = format!("/{}/{}", token.cloud_bucket_name, encode_key(&key));
    let s3 = c.s3_host(&token);
    let h = sigv4(&token, &s3, "PUT", &path, "");
    let t0 = Instant::now();
    let r = c.send_as(&s3, "PUT", &path, &h, body).await;
    timed(r, t0, t)?;
    call!(
        "POST",
        "/store/upload_callback",
        Some(
            json!({"callbackParam": token.callback_param, "resourceUUID": rid,
            "files": [{"name": "DJI_0001.JPG", "etag": etag, "checksum": etag}]})
        )
    );
    call!("GET", &format!("/resources/{rid}"), None);
    call!("GET", &format!("/files?rows=10&resourceUuid={rid}"), None);
    call!("GET", "/resources?rows=10", None);
    let job = call!("POST", "/jobs", Some(json!({"name": "mixed"}))).json()["data"]["uuid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    call!("GET", &format!("/jobs/{job}"), None);
    call!("GET", "/jobs?rows=10", None);
    let h = sigv4(&token, &s3, "HEAD", &path, "");
    let t0 = Instant::now();
    let r = c.send_as(&s3, "HEAD", &path, &h, b"").await;
    timed(r, t0, t)?;
    call!("DELETE", &format!("/jobs/{job}"), None);
    call!("DELETE", &format!("/resources/{rid}?deleteMode=1"), None);
    Ok(())
}

/// Runs the mixed workload on `CONNECTIONS` connections for `duration`, calling `sample`
/// every 5 s; returns the tallies.
pub(crate) async fn mixed_for(
    server: &Server,
    duration: Duration,
    sample: impl Fn(f64),
) -> (Vec<Tally>, f64) {
    mixed_over(&Route::Direct(server.addr.clone()), duration, sample).await
}

/// [`mixed_for`] over connections made by `route`.
pub(crate) async fn mixed_over(
    route: &Route,
    duration: Duration,
    sample: impl Fn(f64),
) -> (Vec<Tally>, f64) {
    let body: Arc<Vec<u8>> = Arc::new((0..16 * 1024).map(|i| (i % 251) as u8).collect());
    let etag = format!("\"{}\"", hex::encode(Md5::digest(body.as_slice())));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let (route, body, etag) = (route.clone(), body.clone(), etag.clone());
        let (ak, sk) = ACCOUNTS[i % ACCOUNTS.len()];
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(&route).await;
            let mut t = Tally::default();
            while start.elapsed() < duration {
                if round(&mut c, ak, sk, &body, &etag, &mut t).await.is_err() {
                    c = Conn::connect(&route).await;
                }
            }
            t
        }));
    }
    let mut next = Duration::from_secs(5);
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if start.elapsed() >= next {
            sample(next.as_secs_f64());
            next += Duration::from_secs(5);
        }
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    (tallies, start.elapsed().as_secs_f64())
}

pub(crate) async fn mixed(server: &Server) {
    let (tallies, secs) = mixed_for(server, seconds(), |_| {}).await;
    report(
        &format!(
            "mixed: tokens, creates, upload, callback, lists, gets, deletes; {CONNECTIONS} connections, 4 accounts"
        ),
        tallies,
        secs,
    );
    println!("mixed: server RSS after {:.1} MiB", server.rss_mib());
}

pub(crate) async fn soak(server: &Server) {
    // Warm up first: sessions reach their expiry turnover and the allocator its arenas'
    // high-water marks (glibc never gives those back); the 60 s after are measured.
    let warm = Duration::from_secs(20);
    let (tallies, secs) = mixed_for(server, warm, |_| {}).await;
    let rate = tallies.iter().map(|t| t.latencies_us.len()).sum::<usize>() as f64 / secs;
    println!(
        "soak: 20 s warm-up at {rate:.0} req/s, RSS {:.1} MiB (a cold start reaches the same level after 10 to 35 s)",
        server.rss_mib()
    );
    let samples = std::sync::Mutex::new(Vec::new());
    let soak_secs = std::env::var("BENCH_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let (tallies, secs) = mixed_for(server, Duration::from_secs(soak_secs), |at| {
        let rss = server.rss_mib();
        println!("soak: {at:>4.0} s  RSS {rss:.1} MiB");
        samples.lock().unwrap().push((at, rss));
    })
    .await;
    report(
        &format!("soak: mixed workload, {soak_secs} s"),
        tallies,
        secs,
    );
    let samples = samples.into_inner().unwrap();
    let at10 = samples
        .iter()
        .find(|(t, _)| *t >= 10.0)
        .map(|s| s.1)
        .unwrap_or(0.0);
    let last = samples.last().map(|s| s.1).unwrap_or(0.0);
    println!(
        "soak: last sample {last:.1} MiB vs {at10:.1} MiB at 10 s: {:+.1} % ({})",
        (last / at10 - 1.0) * 100.0,
        if last <= at10 * 1.2 {
            "within 20 %"
        } else {
            "RISING"
        }
    );
}
