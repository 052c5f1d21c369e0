//! Scenario 8, what `--proxy` costs: a signed GET of a 1 KiB object and the mixed workload
//! straight to the server and through the proxy (a `CONNECT` tunnel per connection, TLS
//! under the emulator's authority), and the time to issue a leaf certificate.

use super::*;

/// Names the proxy emulates that no connection has used yet (one leaf each).
fn fresh_name(i: usize) -> String {
    format!("bench-leaf-{i}.s3.us-west-2.amazonaws.com")
}

/// Median of `n` tunnel set-ups (CONNECT and TLS handshake) to the names `name(i)`, in ms.
async fn handshakes(
    proxy: &str,
    tls: &Arc<rustls::ClientConfig>,
    n: usize,
    name: impl Fn(usize) -> String,
) -> f64 {
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        tunnel(proxy, &name(i), tls).await.unwrap();
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    ms[n / 2]
}

pub(crate) async fn proxy(server: &Server) {
    let tls = trusting(&server.ca_pem());
    let direct = Route::Direct(server.addr.clone());
    let through = |name: &str| Route::Tunnel {
        proxy: server.addr.clone(),
        name: name.to_owned(),
        tls: tls.clone(),
    };

    // Leaf certificates: a tunnel to a name never seen (issued then) against one whose
    // leaf is cached; the difference is the issuing.
    let n = 200;
    let cached_name = "s3.us-west-2.amazonaws.com";
    tunnel(&server.addr, cached_name, &tls).await.unwrap();
    let fresh = handshakes(&server.addr, &tls, n, fresh_name).await;
    let cached = handshakes(&server.addr, &tls, n, |_| cached_name.to_owned()).await;
    println!(
        "proxy: tunnel + TLS handshake, median of {n}: {fresh:.2} ms to a new name (leaf issued), {cached:.2} ms to a cached one: {:.2} ms to issue a leaf",
        fresh - cached
    );

    // The same 1 KiB object read with a SigV4-signed GET, straight and through a tunnel
    // to the S3 name (a presigned link names the server's own address, which a client
    // reaches without the proxy; a signed GET is what an SDK sends through it).
    let (ak, sk) = ACCOUNTS[1];
    let mut c = Conn::open(&server.addr).await;
    let token = obtain(&mut c, ak, sk).await;
    let key = token.object_key("small.jpg");
    let path = format!("/{}/{}", token.cloud_bucket_name, encode_key(&key));
    let h = sigv4(&token, &server.addr, "PUT", &path, "");
    assert_eq!(
        c.send("PUT", &path, &h, &[b'x'; 1024])
            .await
            .unwrap()
            .status,
        200
    );
    let s3 = format!("s3.{}.amazonaws.com", token.region);
    let (t, secs) = get_over(
        &direct,
        None,
        &path,
        sigv4(&token, &server.addr, "GET", &path, ""),
    )
    .await;
    report(
        &format!("proxy: direct, signed GET of a 1 KiB object, {CONNECTIONS} connections"),
        t,
        secs,
    );
    let (t, secs) = get_over(
        &through(&s3),
        Some(&s3),
        &path,
        sigv4(&token, &s3, "GET", &path, ""),
    )
    .await;
    report(
        &format!(
            "proxy: through the proxy with TLS (CONNECT {s3}:443), the same GET, {CONNECTIONS} connections"
        ),
        t,
        secs,
    );
    println!("proxy: server CPU so far {:.2} s", server.cpu_secs());

    // The mixed workload, straight and through tunnels to DJI's API name (its S3 requests
    // name the S3 host inside the same tunnel).
    let (t, secs) = mixed_over(&direct, seconds(), |_| {}).await;
    report(
        "proxy: direct, mixed workload, 64 connections, 4 accounts",
        t,
        secs,
    );
    let (t, secs) = mixed_over(&through("openapi-us.dji.com"), seconds(), |_| {}).await;
    report(
        "proxy: through the proxy with TLS (CONNECT openapi-us.dji.com:443), mixed workload, 64 connections",
        t,
        secs,
    );
    println!("proxy: server RSS after {:.1} MiB", server.rss_mib());
}
