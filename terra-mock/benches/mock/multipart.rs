//! 4. Multipart ingest against single PUTs.

use super::*;

// ---- 4. multipart ingest ----------------------------------------------------------------------

/// Uploads 2 GiB as 8 MiB single PUTs; returns (server CPU seconds, wall seconds).
pub(crate) async fn single_puts(
    server: &Server,
    c: &mut Conn,
    t: &StsToken,
    chunk: &[u8],
    round: u32,
) -> (f64, f64) {
    let cpu0 = server.cpu_secs();
    let wall = Instant::now();
    for i in 0..(2 << 30) / chunk.len() {
        let key = t.object_key(&format!("single-{round}/{i}.bin"));
        let path = format!("/{}/{}", t.cloud_bucket_name, encode_key(&key));
        let h = sigv4(t, &server.addr, "PUT", &path, "");
        assert_eq!(c.send("PUT", &path, &h, chunk).await.unwrap().status, 200);
    }
    (server.cpu_secs() - cpu0, wall.elapsed().as_secs_f64())
}

/// Uploads two 1 GiB files in 16 MiB parts; returns (server CPU seconds, wall seconds).
pub(crate) async fn multipart_uploads(
    server: &Server,
    c: &mut Conn,
    t: &StsToken,
    part: &[u8],
    round: u32,
) -> (f64, f64) {
    let etag = format!("\"{}\"", hex::encode(Md5::digest(part)));
    let cpu0 = server.cpu_secs();
    let wall = Instant::now();
    for f in 0..2 {
        let key = t.object_key(&format!("multi-{round}/{f}.las"));
        let path = format!("/{}/{}", t.cloud_bucket_name, encode_key(&key));
        let h = sigv4(t, &server.addr, "POST", &path, "uploads=");
        let r = c
            .send("POST", &format!("{path}?uploads"), &h, b"")
            .await
            .unwrap();
        let xml = String::from_utf8_lossy(&r.body).into_owned();
        let id = xml
            .split("<UploadId>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        let mut listed = String::from("<CompleteMultipartUpload>");
        for n in 1..=(1 << 30) / part.len() {
            let q = format!("partNumber={n}&uploadId={}", uri_encode(&id));
            let h = sigv4(t, &server.addr, "PUT", &path, &q);
            let r = c
                .send("PUT", &format!("{path}?{q}"), &h, part)
                .await
                .unwrap();
            assert_eq!(r.status, 200);
            listed.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        listed.push_str("</CompleteMultipartUpload>");
        let q = format!("uploadId={}", uri_encode(&id));
        let h = sigv4(t, &server.addr, "POST", &path, &q);
        let r = c
            .send("POST", &format!("{path}?{q}"), &h, listed.as_bytes())
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    (server.cpu_secs() - cpu0, wall.elapsed().as_secs_f64())
}

pub(crate) async fn multipart(server: &Server) {
    let (ak, sk) = ACCOUNTS[3];
    let mut c = Conn::open(&server.addr).await;
    let chunk: Vec<u8> = (0..8 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let part: Vec<u8> = chunk.iter().chain(chunk.iter()).copied().collect();
    // Single, multipart, multipart, single: the disk's write-back slows later rounds, so
    // each way gets an early and a late turn.
    let (mut single, mut multi) = ((0.0, 0.0), (0.0, 0.0));
    for (round, multipart_first) in [(0, false), (1, true)] {
        let t = obtain(&mut c, ak, sk).await;
        let add = |acc: &mut (f64, f64), r: (f64, f64)| {
            acc.0 += r.0;
            acc.1 += r.1;
        };
        if multipart_first {
            add(
                &mut multi,
                multipart_uploads(server, &mut c, &t, &part, round).await,
            );
            add(
                &mut single,
                single_puts(server, &mut c, &t, &chunk, round).await,
            );
        } else {
            add(
                &mut single,
                single_puts(server, &mut c, &t, &chunk, round).await,
            );
            add(
                &mut multi,
                multipart_uploads(server, &mut c, &t, &part, round).await,
            );
        }
    }
    // 4 GiB each way in all.
    println!(
        "multipart: server CPU per GiB: single 8 MiB PUTs {:.2} s ({:.0} MiB/s), 16 MiB parts {:.2} s ({:.0} MiB/s); ratio {:.2}",
        single.0 / 4.0,
        4096.0 / single.1,
        multi.0 / 4.0,
        4096.0 / multi.1,
        multi.0 / single.0
    );
    println!(
        "multipart: server peak RSS {:.1} MiB after 8 GiB uploaded (4 GiB of it in 16 MiB parts)",
        server.proc_status("VmHWM:") as f64 / 1024.0
    );
}
