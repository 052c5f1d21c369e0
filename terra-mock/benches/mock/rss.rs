//! 7. Memory given back: the server's RSS idle, right after 3.2 GiB of concurrent uploads
//!    (400 PUTs of 8 MiB over 16 connections, as `terra upload` sends a flight), and after
//!    15 s idle.

use super::*;

pub(crate) async fn rss_after_uploads(server: &Server) {
    let (ak, sk) = ACCOUNTS[3];
    let mut c = Conn::open(&server.addr).await;
    let t = Arc::new(obtain(&mut c, ak, sk).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_mib();
    let chunk: Arc<Vec<u8>> = Arc::new((0..8 << 20).map(|i| (i * 31 % 251) as u8).collect());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (addr, t, chunk, next) = (server.addr.clone(), t.clone(), chunk.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&addr).await;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 400 {
                    break;
                }
                let key = t.object_key(&format!("flight/{i}.JPG"));
                let path = format!("/{}/{}", t.cloud_bucket_name, encode_key(&key));
                let h = sigv4(&t, &addr, "PUT", &path, "");
                assert_eq!(c.send("PUT", &path, &h, &chunk).await.unwrap().status, 200);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let after = server.rss_mib();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let rested = server.rss_mib();
    println!(
        "rss: idle {idle:.1} MiB; after 400 x 8 MiB PUTs over 16 connections ({:.0} MiB/s) {after:.1} MiB; after 15 s idle {rested:.1} MiB ({:.1}x idle); peak {:.1} MiB",
        3200.0 / secs,
        rested / idle,
        server.proc_status("VmHWM:") as f64 / 1024.0
    );
}
