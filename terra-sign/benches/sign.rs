//! `cargo bench -p terra-sign`: signing cost for a small JSON request and a 1 MiB body,
//! and verification of the small request.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use terra_sign::*;

fn bench(c: &mut Criterion) {
    let creds = Credentials::new("test-ak", "test-sk");
    let now = UNIX_EPOCH + Duration::from_secs(1_795_600_800);
    let params = SigningParams::new(now);
    let small = br#"{"name":"test-resource","type":"map"}"#;
    let big = vec![0x5au8; 1 << 20];

    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("small_json", |b| {
        b.iter(|| {
            sign(
                black_box(&SignableRequest::new(
                    "POST",
                    "/terra-rescon-be/v2/resources",
                    small,
                )),
                &creds,
                &params,
            )
        })
    });
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("body_1mib", |b| {
        b.iter(|| {
            sign(
                black_box(&SignableRequest::new(
                    "POST",
                    "/terra-rescon-be/v2/resources",
                    &big,
                )),
                &creds,
                &params,
            )
        })
    });
    g.finish();

    let req = SignableRequest::new("POST", "/terra-rescon-be/v2/resources", small);
    let signed = sign(&req, &creds, &params);
    let headers = signed.headers();
    let verifier = Verifier::default().with_body_validation(true);
    c.bench_function("verify/small_json_strict", |b| {
        b.iter(|| {
            verifier.verify(black_box(&req), &headers, now, |_| {
                Some(SecretString::from("test-sk"))
            })
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
