//! 1. A page of a big list.

use super::*;

// ---- 1. a page of a big list ------------------------------------------------------------

pub(crate) async fn create_jobs(addr: &str, (ak, sk): (&str, &str), n: usize) -> String {
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (addr, done) = (addr.to_owned(), done.clone());
        let (ak, sk) = (ak.to_owned(), sk.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut last = String::new();
            while done.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let r = api(
                    &mut c,
                    &ak,
                    &sk,
                    "POST",
                    "/jobs",
                    Some(json!({"name": "bench job"})),
                )
                .await
                .unwrap();
                last = r.json()["data"]["uuid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
            }
            last
        }));
    }
    let mut last = String::new();
    for t in tasks {
        let l = t.await.unwrap();
        if !l.is_empty() {
            last = l;
        }
    }
    last
}

pub(crate) async fn list(server: &Server) {
    let started = Instant::now();
    create_jobs(&server.addr, ACCOUNTS[0], 100_000).await;
    let other_job = create_jobs(&server.addr, ACCOUNTS[1], 1).await;
    println!(
        "list: 100 000 jobs created through the API in {:.1} s; server RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        server.rss_mib()
    );
    let duration = seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..=CONNECTIONS {
        let addr = server.addr.clone();
        let other_job = other_job.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            let mut t = Tally::default();
            // The last connection is another account's, reading one job.
            let (ak, sk, target) = if i == CONNECTIONS {
                (
                    ACCOUNTS[1].0,
                    ACCOUNTS[1].1,
                    format!("/terra-rescon-be/v2/jobs/{other_job}"),
                )
            } else {
                (
                    ACCOUNTS[0].0,
                    ACCOUNTS[0].1,
                    "/terra-rescon-be/v2/jobs?rows=10".to_owned(),
                )
            };
            // Kong accepts a signature for 300 s: sign once, replay.
            let h = api_headers(ak, sk, "GET", &target, b"");
            while start.elapsed() < duration {
                let t0 = Instant::now();
                match c.send("GET", &target, &h, b"").await {
                    Ok(r) if r.status == 200 && r.body.starts_with(b"{\"result\":{\"code\":0") => {
                        t.latencies_us.push(t0.elapsed().as_micros() as u32)
                    }
                    _ => t.errors += 1,
                }
            }
            t
        }));
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    let other = tallies.pop().unwrap();
    report(
        &format!("list: GET /v2/jobs?rows=10 (100 000 jobs), {CONNECTIONS} connections"),
        tallies,
        secs,
    );
    report(
        "list: meanwhile, another account's GET /v2/jobs/{uuid} (1 connection)",
        vec![other],
        secs,
    );
    // The same page with an outside load generator, for accounts of 10, 5 000 and 100 000
    // jobs (a full page each): what a page costs must not grow with the account. Beside
    // it, nginx serving a page-sized static file. Each account signs once: Kong's 300 s
    // window covers the runs.
    create_jobs(&server.addr, ACCOUNTS[2], 10).await;
    create_jobs(&server.addr, ACCOUNTS[3], 5_000).await;
    let target = "/terra-rescon-be/v2/jobs?rows=10";
    let nginx = Nginx::start();
    let page = {
        let mut c = Conn::open(&server.addr).await;
        let h = api_headers(ACCOUNTS[0].0, ACCOUNTS[0].1, "GET", target, b"");
        c.send("GET", target, &h, b"").await.unwrap().body
    };
    if let Some(n) = &nginx {
        n.put("page.json", &page);
    }
    let accounts = [
        (ACCOUNTS[2], "10"),
        (ACCOUNTS[3], "5 000"),
        (ACCOUNTS[0], "100 000"),
    ];
    type Run = Box<dyn Fn() -> Option<Wrk>>;
    let runs: Vec<(String, Run)> = accounts
        .iter()
        .map(|(account, jobs)| {
            let h = api_headers(account.0, account.1, "GET", target, b"");
            let what = format!("list: GET /v2/jobs?rows=10 ({jobs} jobs)");
            let (addr, pid, label) = (server.addr.clone(), server.child.id(), what.clone());
            let run: Run = Box::new(move || wrk(&label, &addr, target, &h, pid));
            (what, run)
        })
        .collect();
    let cases: Vec<(&str, &dyn Fn() -> Option<Wrk>)> =
        runs.iter().map(|(w, r)| (w.as_str(), r.as_ref())).collect();
    let rates: Vec<(&str, Option<f64>)> = accounts
        .iter()
        .map(|(_, jobs)| *jobs)
        .zip(cases_beside_the_ceiling(
            &cases,
            nginx.as_ref(),
            "/page.json",
        ))
        .collect();
    if let [(_, Some(small)), _, (_, Some(big))] = rates.as_slice() {
        println!(
            "list: a page of an account of 100 000 jobs at {:.2} of the rate of one of 10 (a page costs the same at any size when near 1.0)",
            big / small
        );
    }
}
