//! `cargo xtask bench mock` (or `cargo bench -p terra-mock --bench mock` with
//! `TERRA_MOCK_BIN` set to a release `terra-mock`):
//!
//! 1. `list`: `GET /v2/jobs?rows=10` with 100 000 jobs in the account, 64 connections,
//!    plus a 65th connection reading another account's job (is it slowed down?);
//! 2. `mixed`: a workload of tokens, creates, uploads, callbacks, lists, gets and deletes
//!    (deletes balancing creates) at 64 connections over four accounts, with p50 and p99;
//! 3. `presigned`: presigned GET of a small object, terra-mock and moto_server side by side
//!    (`BENCH_MOTO` names a `moto_server`; xtask installs it);
//! 4. `multipart`: server CPU seconds per GiB for two 1 GiB files uploaded in 16 MiB parts
//!    against the same bytes in 8 MiB single PUTs;
//! 5. `soak`: the mixed workload for 60 s, server RSS sampled every 5 s;
//! 6. `memory`: resident memory of 100 000 jobs and 1 000 000 files (in process);
//! 7. `rss`: the server's RSS idle, after 3.2 GiB of concurrent uploads and 15 s later;
//! 8. `proxy`: a signed GET and the mixed workload straight and through `--proxy` with TLS,
//!    and the time to issue a leaf certificate;
//! 9. `outputs`: size and generation time of each job output format (in process).
//!
//! The server is the standalone binary in its own process, so its CPU time and memory are
//! its own; the load generator is a minimal HTTP/1.1 client (keep-alive, no pipelining) so
//! that it leaves the cores to the server. `BENCH_ONLY=list,mixed,...` runs a subset;
//! `BENCH_SECONDS` changes the 5 s of each throughput run; `BENCH_PERSIST=1` runs the
//! server with `--data-dir` (state in SQLite).
//!
//! `list` and `presigned` are also measured with wrk (`BENCH_WRK`), an outside load
//! generator, beside the bench's own client; each line says which tool gave it.
//!
//! Files: `server.rs` (the server process), `client.rs` (the HTTP/1.1 client and the
//! signatures), `measure.rs`, `wrk.rs`, and one file per scenario.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use hmac::{KeyInit, Mac};
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use terra_mock::TerraMock;
use terra_mock::storage::presign::{encode_key, uri_encode};
use terra_sign::{Credentials, SignableRequest, SigningParams, sign};
use terra_types::StsToken;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod client;
mod list;
mod measure;
mod memory;
mod mixed;
mod multipart;
mod nginx;
mod outputs;
mod presigned;
mod proxy;
mod rss;
mod server;
mod wrk;

use client::*;
use list::list;
use measure::*;
use memory::memory;
use mixed::{mixed, mixed_over, soak};
use multipart::multipart;
use nginx::*;
use presigned::{get_over, obtain, presigned};
use proxy::proxy;
use rss::rss_after_uploads;
use server::Server;
use wrk::{Wrk, wrk};

const CONNECTIONS: usize = 64;
const ACCOUNTS: [(&str, &str); 4] = [
    ("bench-a", "bench-a-sk"),
    ("bench-b", "bench-b-sk"),
    ("bench-c", "bench-c-sk"),
    ("bench-d", "bench-d-sk"),
];

fn main() {
    let only = std::env::var("BENCH_ONLY")
        .unwrap_or_else(|_| "list,mixed,presigned,proxy,multipart,rss,soak,memory,outputs".into());
    let want = |s: &str| only.split(',').any(|o| o.trim() == s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, run) in [
        ("list", 0),
        ("mixed", 1),
        ("presigned", 2),
        ("proxy", 6),
        ("multipart", 3),
        ("rss", 5),
        ("soak", 4),
    ] {
        if !want(name) {
            continue;
        }
        // A fresh server for each, so that one does not measure another's leftovers. The
        // soak's sessions expire within seconds, so that it reaches its steady state
        // (tokens obtained and dropped as fast as resources are created and deleted)
        // inside its first 10 s rather than after 10 minutes.
        let settings = if name == "soak" {
            "token_lifetime_secs = 5\ncallback_param_ttl_secs = 5\nsession_grace_secs = 2"
        } else {
            ""
        };
        let server = Server::start_with(settings, name == "proxy");
        rt.block_on(async {
            match run {
                0 => list(&server).await,
                1 => mixed(&server).await,
                2 => presigned(&server).await,
                3 => multipart(&server).await,
                5 => rss_after_uploads(&server).await,
                6 => proxy(&server).await,
                _ => soak(&server).await,
            }
        });
    }
    if want("memory") {
        memory();
    }
    if want("outputs") {
        outputs::outputs();
    }
}
