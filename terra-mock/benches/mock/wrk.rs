//! The same runs measured with `wrk` (an outside load generator, `BENCH_WRK` names it;
//! `cargo xtask bench mock` installs Debian's): `-t2 -c64`, fixed headers from a Lua
//! script, requests per second and p99 as wrk reports them.

use super::*;

/// What wrk measured.
pub(crate) struct Wrk {
    pub(crate) rate: f64,
    pub(crate) p99_ms: f64,
    /// The server's CPU time per request, microseconds.
    pub(crate) cpu_us: f64,
}

/// wrk's latency figure (`4.34ms`, `812.00us`, `1.02s`) in milliseconds.
fn millis(s: &str) -> Option<f64> {
    let (n, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))?;
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Runs wrk against `http://addr{target}` with `headers` for the run length, the server
/// being process `pid` (its CPU time per request is reported); `None` (and says so) when
/// `BENCH_WRK` is not set.
pub(crate) fn wrk(
    what: &str,
    addr: &str,
    target: &str,
    headers: &[(String, String)],
    pid: u32,
) -> Option<Wrk> {
    let Some(bin) = std::env::var_os("BENCH_WRK") else {
        println!("{what}: wrk not run (set BENCH_WRK; cargo xtask bench mock does)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("headers.lua");
    let mut lua = String::new();
    for (k, v) in headers {
        lua.push_str(&format!("wrk.headers[{k:?}] = {v:?}\n"));
    }
    std::fs::write(&script, lua).unwrap();
    let cpu0 = server::cpu_secs_of(pid);
    let out = Command::new(bin)
        .args(["-t2", &format!("-c{CONNECTIONS}"), "--latency"])
        .arg(format!("-d{}s", seconds().as_secs().max(1)))
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}{target}"))
        .output()
        .expect("wrk runs");
    let cpu = server::cpu_secs_of(pid) - cpu0;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()))
    };
    let rate = field("Requests/sec:").and_then(|r| r.parse().ok());
    let p99 = field("99%").and_then(|r| millis(&r));
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let (Some(rate), Some(p99_ms)) = (rate, p99) else {
        panic!(
            "{what}: cannot read wrk's output:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    assert_eq!(non_2xx, 0, "{what}: wrk saw failed requests:\n{text}");
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0.0);
    let cpu_us = cpu / requests.max(1.0) * 1e6;
    println!(
        "{what}: {rate:.0} req/s, p99 {p99_ms:.2} ms, server CPU {cpu_us:.0} us per request (wrk -t2 -c{CONNECTIONS})"
    );
    Some(Wrk {
        rate,
        p99_ms,
        cpu_us,
    })
}
