//! `cargo xtask bench packages`: what a Python or Node user pays before their first test
//! runs: the sizes of the release wheel and npm tarballs, and the time from installing
//! them (offline, from `target/dist/`) to the first answered request of a started server.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::dist::{self, Built};
use crate::root;

/// Rounds of each measurement; the median is reported.
const ROUNDS: usize = 5;

fn quiet(step: &str, mut cmd: Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{step}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib(p: &Path) -> Result<f64, String> {
    Ok(std::fs::metadata(p)
        .map_err(|e| format!("{}: {e}", p.display()))?
        .len() as f64
        / 1048576.0)
}

/// One round for Python: `pip install` of the wheel into a fresh venv, then a
/// `TerraMock()` started and its first answer; returns (install, start to first answer).
/// Making the venv is not counted: the user has one.
fn python_round(built: &Built, dir: &Path) -> Result<(Duration, Duration), String> {
    let venv = dir.join("venv");
    quiet("python3 -m venv", dist::venv(&venv))?;
    let started = Instant::now();
    quiet("pip install the wheel", {
        let mut c = dist::pip_install(&venv);
        c.arg("--no-index").arg(&built.wheel);
        c
    })?;
    let installed = started.elapsed();
    let out = quiet("first request (python)", {
        let mut c = Command::new(venv.join("bin/python"));
        c.args([
            "-c",
            "import time\nt = time.monotonic()\nfrom terra_mock import TerraMock\nm = TerraMock()\nm.start()\nm.health()\nprint(time.monotonic() - t)\nm.stop()",
        ])
        .env_remove("TERRA_MOCK_BIN");
        c
    })?;
    let first = out
        .trim()
        .parse::<f64>()
        .map_err(|e| format!("python printed {out:?}: {e}"))?;
    Ok((installed, Duration::from_secs_f64(first)))
}

/// One round for Node: `npm install` of the tarballs into a fresh project (offline),
/// then `startTerraMock()` and its first answer.
fn node_round(built: &Built, dir: &Path) -> Result<(Duration, Duration), String> {
    let project = dir.join("node");
    let mut install = dist::npm_project(&project)?;
    let started = Instant::now();
    quiet("npm install the tarballs", {
        install
            .arg("--offline")
            .arg(&built.npm_main)
            .arg(&built.npm_platform);
        install
    })?;
    let installed = started.elapsed();
    let out = quiet("first request (node)", {
        let mut c = Command::new("node");
        c.current_dir(&project)
            .args([
                "-e",
                "const t = performance.now(); require('terra-mock').startTerraMock().then(async (m) => { await m.health(); console.log((performance.now() - t) / 1000); await m.stop(); })",
            ])
            .env_remove("TERRA_MOCK_BIN");
        c
    })?;
    let first = out
        .trim()
        .parse::<f64>()
        .map_err(|e| format!("node printed {out:?}: {e}"))?;
    Ok((installed, Duration::from_secs_f64(first)))
}

/// Measures and prints the table BENCHMARKS.md quotes.
pub(crate) fn bench(built: &Built) -> Result<(), String> {
    let work = root().join("target/xtask/install-bench");
    let mut rows = Vec::new();
    for (name, round) in [
        (
            "pip install terra-mock (wheel)",
            python_round as fn(&Built, &Path) -> Result<(Duration, Duration), String>,
        ),
        ("npm install terra-mock (tarballs)", node_round),
    ] {
        let (mut install, mut first) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
            let (i, f) = round(built, &work)?;
            install.push(i);
            first.push(f);
        }
        let total: Vec<Duration> = install.iter().zip(&first).map(|(a, b)| *a + *b).collect();
        rows.push((name, median(install), median(first), median(total)));
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "\nsizes: wheel {:.1} MiB, npm terra-mock {:.3} MiB, npm platform package {:.1} MiB",
        mib(&built.wheel)?,
        mib(&built.npm_main)?,
        mib(&built.npm_platform)?
    );
    println!("| medians of {ROUNDS} | install | start to first answer | install to first answer |");
    println!("|---|---:|---:|---:|");
    for (name, i, f, t) in rows {
        println!(
            "| {name} | {:.2} s | {:.0} ms | {:.2} s |",
            i.as_secs_f64(),
            f.as_secs_f64() * 1000.0,
            t.as_secs_f64()
        );
    }
    Ok(())
}
