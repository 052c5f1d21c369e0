//! 6. Memory of the in-process state.

use super::*;

// ---- 6. memory --------------------------------------------------------------------------------

pub(crate) fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn memory() {
    let mock = TerraMock::builder().build().expect("mock");
    let base = rss_kib();
    mock.populate(mock.app_key(), 100_000, 0);
    let jobs = rss_kib();
    println!(
        "memory: 100 000 jobs: {:.1} MiB resident ({:.0} bytes per job)",
        (jobs - base) as f64 / 1024.0,
        (jobs - base) as f64 * 1024.0 / 100_000.0
    );
    mock.populate(mock.app_key(), 0, 1_000_000);
    let files = rss_kib();
    println!(
        "memory: + 1 000 000 files: {:.1} MiB resident ({:.0} bytes per file); total state {:.1} MiB",
        (files - jobs) as f64 / 1024.0,
        (files - jobs) as f64 * 1024.0 / 1_000_000.0,
        (files - base) as f64 / 1024.0
    );
    let stats = mock.stats(mock.app_key());
    assert_eq!((stats.jobs, stats.files), (100_000, 1_000_000));
}
