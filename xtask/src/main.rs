//! `cargo xtask <command>`: the project's automation, std only.
//!
//! - `cargo xtask test`: formatting, clippy (`-D warnings`), the whole test suite with the
//!   services it needs, doctests and rustdoc (warnings denied). CI runs exactly this.
//! - `cargo xtask bench [name]`: the benchmarks (criterion and bench binaries).

mod services;
#[cfg(test)]
mod tidy;

use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask test [--no-lint]\n       cargo xtask bench [sign|mock|soak|upload|all]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(step: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("\n==> {step}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot start: {e}"))?;
    eprintln!(
        "<== {step}: {} in {:.1?}",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test(args: &[String]) -> Result<(), String> {
    let lint = !args.iter().any(|a| a == "--no-lint");
    let started = Instant::now();
    if lint {
        run("cargo fmt --check", {
            let mut c = cargo();
            c.args(["fmt", "--all", "--", "--check"]);
            c
        })?;
        run("cargo clippy", {
            let mut c = cargo();
            c.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]);
            c
        })?;
    }

    let services = services::Services::start()?;
    let mut tests = cargo();
    if has_nextest() {
        tests.args([
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--profile",
            "ci",
        ]);
    } else {
        tests.args([
            "test",
            "--workspace",
            "--locked",
            "--lib",
            "--bins",
            "--tests",
            "--examples",
        ]);
    }
    services.apply(&mut tests);
    tests.env("INSTA_UPDATE", "no").env("RUST_BACKTRACE", "1");
    run("tests", tests)?;
    drop(services);

    run("doctests", {
        let mut c = cargo();
        c.args(["test", "--workspace", "--locked", "--doc"])
            .env("INSTA_UPDATE", "no");
        c
    })?;
    run("cargo doc (warnings denied)", {
        let mut c = cargo();
        c.args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings");
        c
    })?;
    eprintln!("\nall checks passed in {:.1?}", started.elapsed());
    Ok(())
}

/// The standalone emulator the benchmarks run against, in its own process.
fn build_release_mock() -> Result<(), String> {
    run("build terra-mock (release)", {
        let mut c = cargo();
        c.args([
            "build",
            "--release",
            "-p",
            "terra-mock",
            "--bin",
            "terra-mock",
            "--locked",
        ]);
        c
    })
}

fn bench(args: &[String]) -> Result<(), String> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    let known = ["sign", "mock", "soak", "upload", "all"];
    if !known.contains(&which) {
        return Err(format!(
            "unknown benchmark {which:?}; known: {}",
            known.join(", ")
        ));
    }
    if matches!(which, "sign" | "all") {
        run("bench: terra-sign", {
            let mut c = cargo();
            c.args(["bench", "-p", "terra-sign", "--locked"]);
            c
        })?;
    }
    if matches!(which, "mock" | "soak" | "all") {
        build_release_mock()?;
        let venv = services::install_moto(&root().join("target/xtask"))?;
        run(
            "bench: terra-mock (req/s, p99, beside moto; multipart CPU; soak; memory)",
            {
                let mut c = cargo();
                c.args(["bench", "-p", "terra-mock", "--bench", "mock", "--locked"]);
                c.env("TERRA_MOCK_BIN", root().join("target/release/terra-mock"))
                    .env("BENCH_MOTO", venv.join("bin/moto_server"))
                    .env("BENCH_MOTO_VERSION", services::MOTO_VERSION);
                if which == "soak" {
                    c.env("BENCH_ONLY", "soak");
                }
                c
            },
        )?;
    }
    if matches!(which, "upload" | "all") {
        let peers = services::install_upload_peers()?;
        build_release_mock()?;
        run("bench: terra-store upload vs s5cmd, rclone, aws-cli", {
            let mut c = cargo();
            c.args([
                "bench",
                "-p",
                "terra-store",
                "--bench",
                "upload",
                "--locked",
            ]);
            c.env("TERRA_MOCK_BIN", root().join("target/release/terra-mock"));
            for (k, v) in peers {
                c.env(k, v);
            }
            c
        })?;
    }
    Ok(())
}
