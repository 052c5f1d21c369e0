//! Latency tallies, reports and the run length.

use super::*;

// ---- measuring ----------------------------------------------------------------------

#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) errors: u64,
}

pub(crate) fn report(what: &str, tallies: Vec<Tally>, secs: f64) -> f64 {
    let mut all: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let rate = all.len() as f64 / secs;
    println!(
        "{what}: {:.0} req/s ({} requests in {secs:.1} s), p50 {:.2} ms, p99 {:.2} ms, {errors} errors",
        rate,
        all.len(),
        pct(0.5),
        pct(0.99)
    );
    rate
}

pub(crate) fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    )
}
