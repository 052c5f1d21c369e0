//! `cargo xtask <command>`: the project's automation, std only.
//!
//! - `cargo xtask test`: formatting, clippy (`-D warnings`), cargo-deny (licenses, bans,
//!   sources; `deny.toml`), the whole test suite with the services it needs, doctests,
//!   rustdoc (warnings denied) and `cargo package`. CI runs exactly this.
//! - `cargo xtask bench [name]`: the benchmarks (criterion and bench binaries).
//! - `cargo xtask mutants [scope]`: mutation testing with cargo-mutants (installed from
//!   crates.io into `target/xtask/tools`); not part of `test`, figures in TESTING.md.
//! - `cargo xtask dist [--debug]`: the wheel and the npm tarballs of terra-mock in
//!   `target/dist/` (`dist.rs`); `test` builds them from the dev binary and runs their
//!   suites from a fresh virtual environment and npm project.

mod dist;
mod install_bench;
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
        Some("mutants") => mutants(&args[1..]),
        Some("dist") => dist::dist(!args.iter().any(|a| a == "--debug")).and_then(|built| {
            if args.iter().any(|a| a == "--test") {
                dist::test_packages(&built)
            } else {
                Ok(())
            }
        }),
        _ => {
            eprintln!(
                "usage: cargo xtask test [--no-lint]\n       cargo xtask bench [sign|mock|soak|upload|download|packages|all]\n       cargo xtask mutants [{}|all] [cargo-mutants options, e.g. --iterate]\n       cargo xtask dist [--debug] [--test]",
                MUTANT_SCOPES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join("|")
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
        let mut e = format!("{step} failed ({status})");
        if let Some(free) = free_bytes(&root().join("target")).filter(|f| *f < 1 << 30) {
            e.push_str(&format!(
                "; the disk that holds target/ has only {} MiB left, which fails builds with \
                 \"No space left on device\": free some (`cargo clean` removes target/) and run again",
                free >> 20
            ));
        }
        Err(e)
    }
}

/// What a clean `cargo xtask test` writes under `target/` at its peak, measured on a fresh
/// clone (5.6 GiB with `CARGO_INCREMENTAL=0`, as `.ci/run` sets it; 8 with incremental
/// builds), with room to spare.
const TEST_NEEDS_BYTES: u64 = 7 << 30;

/// Free bytes on the file system that holds `dir` (or its nearest existing parent), from
/// `df -Pk`; `None` where `df` is missing or says something else.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let mut at = dir;
    while !at.exists() {
        at = at.parent()?;
    }
    let out = Command::new("df").arg("-Pk").arg(at).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Says up front when the disk is too full for a whole run, rather than after ten minutes
/// of compiling; the run goes on (an existing `target/` may need much less).
fn warn_if_disk_is_short() {
    let target = root().join("target");
    if let Some(free) = free_bytes(&target).filter(|f| *f < TEST_NEEDS_BYTES) {
        eprintln!(
            "xtask: warning: {} has {:.1} GiB free; a run from a clean clone writes about \
             {} GiB there. If a step fails with \"No space left on device\", free some \
             (`cargo clean`) or set CARGO_TARGET_DIR to a larger disk.",
            target.display(),
            free as f64 / f64::from(1 << 30),
            TEST_NEEDS_BYTES >> 30
        );
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
    warn_if_disk_is_short();
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

    run("cargo deny check licenses bans sources", {
        let mut c = Command::new(install_tool("cargo-deny", DENY_VERSION)?);
        c.current_dir(root())
            .args(["check", "licenses", "bans", "sources"]);
        c
    })?;

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

    // terra-mock for Python and Node, built from the dev binary and installed fresh.
    let built = dist::dist(false)?;
    dist::test_packages(&built)?;

    package()?;

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

/// The crates published to crates.io, in dependency order.
const PUBLISHED: [&str; 6] = [
    "terra-types",
    "terra-sign",
    "terra-store",
    "terra-client",
    "terra-mock",
    "terra-cli",
];

/// `cargo package` of every published crate (their manifests, READMEs and licenses), and
/// a look at what each would ship: its sources, examples, README and licenses, nothing
/// from the workspace around it, no file over 512 KiB.
fn package() -> Result<(), String> {
    let mut c = cargo();
    c.args(["package", "--no-verify", "--allow-dirty", "--locked"]);
    for p in PUBLISHED {
        c.args(["-p", p]);
    }
    run("cargo package (published crates)", c)?;
    const ALLOWED: [&str; 9] = [
        "src/",
        "examples/",
        "openapi/",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo_vcs_info.json",
    ];
    for p in PUBLISHED {
        let out = cargo()
            .args(["package", "--list", "--allow-dirty", "--locked", "-p", p])
            .output()
            .map_err(|e| format!("cargo package --list: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo package --list -p {p} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let list = String::from_utf8_lossy(&out.stdout);
        for must in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
            if !list.lines().any(|l| l == must) {
                return Err(format!("the {p} package lacks {must}"));
            }
        }
        for file in list.lines() {
            let allowed = ALLOWED.iter().any(|a| {
                file == a.trim_end_matches('/') || (a.ends_with('/') && file.starts_with(a))
            }) || file == "Cargo.toml.orig";
            if !allowed {
                return Err(format!("the {p} package would ship {file}"));
            }
            let size = std::fs::metadata(root().join(p).join(file)).map_or(0, |m| m.len());
            if size > 512 * 1024 {
                return Err(format!("the {p} package would ship {file} of {size} bytes"));
            }
        }
    }
    eprintln!("<== package contents: ok");
    Ok(())
}

/// The standalone emulator the benchmarks run against, in its own process.
fn build_release_mock() -> Result<(), String> {
    run("build terra-mock and terra (release)", {
        let mut c = cargo();
        c.args([
            "build",
            "--release",
            "-p",
            "terra-mock",
            "--bin",
            "terra-mock",
            "-p",
            "terra-cli",
            "--bin",
            "terra",
            "--locked",
        ]);
        c
    })
}

fn bench(args: &[String]) -> Result<(), String> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    let known = [
        "sign", "mock", "soak", "upload", "download", "packages", "all",
    ];
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
        let wrk = services::install_wrk()?;
        let nginx = services::install_nginx()?;
        run(
            "bench: terra-mock (req/s, p99, beside moto; multipart CPU; soak; memory)",
            {
                let mut c = cargo();
                c.args(["bench", "-p", "terra-mock", "--bench", "mock", "--locked"]);
                c.env("TERRA_MOCK_BIN", root().join("target/release/terra-mock"))
                    .env("BENCH_MOTO", venv.join("bin/moto_server"))
                    .env("BENCH_MOTO_VERSION", services::MOTO_VERSION)
                    .env("BENCH_WRK", &wrk)
                    .env("BENCH_NGINX", &nginx);
                if which == "soak" {
                    c.env("BENCH_ONLY", "soak");
                }
                c
            },
        )?;
    }
    for (name, what, args) in [
        (
            "upload",
            "bench: terra-store upload vs s5cmd, rclone, aws-cli",
            &["-p", "terra-store", "--bench", "upload"][..],
        ),
        (
            "download",
            "bench: terra download vs s5cmd, rclone",
            &[
                "-p",
                "terra-client",
                "--features",
                "workflow",
                "--bench",
                "download",
            ][..],
        ),
    ] {
        if which != name && which != "all" {
            continue;
        }
        let peers = services::install_upload_peers()?;
        build_release_mock()?;
        run(what, {
            let mut c = cargo();
            c.arg("bench").args(args).arg("--locked");
            c.env("TERRA_MOCK_BIN", root().join("target/release/terra-mock"))
                .env("TERRA_BIN", root().join("target/release/terra"));
            for (k, v) in peers {
                c.env(k, v);
            }
            c
        })?;
    }
    if matches!(which, "packages" | "all") {
        let built = dist::dist(true)?;
        install_bench::bench(&built)?;
    }
    Ok(())
}

/// The cargo-mutants release the figures in TESTING.md were made with.
const MUTANTS_VERSION: &str = "27.1.0";

/// One scope of `cargo xtask mutants`.
struct MutantScope {
    name: &'static str,
    package: &'static str,
    /// Files mutated; none means the whole package.
    files: &'static [&'static str],
    /// Mutants left out, by regex on their names (functions that are not checks).
    exclude: &'static [&'static str],
    /// Which tests run against each mutant (`cargo test` arguments); none means all of the
    /// package's.
    tests: &'static [&'static str],
}

const fn scope(
    name: &'static str,
    package: &'static str,
    files: &'static [&'static str],
) -> MutantScope {
    MutantScope {
        name,
        package,
        files,
        exclude: &[],
        tests: &[],
    }
}

/// What `cargo xtask mutants` mutates. The pure parts of terra-store and terra-client:
/// retry decisions, backoff and error classification (their I/O is covered by the
/// integration tests, not by mutants). `mock-trust`: every check of the emulator that keeps
/// a client honest, against the tests that send it real requests.
const MUTANT_SCOPES: &[MutantScope] = &[
    scope("sign", "terra-sign", &[]),
    scope("params", "terra-types", &["terra-types/src/params/*.rs"]),
    scope("types", "terra-types", &[]),
    scope(
        "store",
        "terra-store",
        &[
            "terra-store/src/error.rs",
            "terra-store/src/backend.rs",
            "terra-store/src/sigv4.rs",
            "terra-store/src/limit.rs",
            "terra-store/src/strays.rs",
        ],
    ),
    scope(
        "client",
        "terra-client",
        &[
            "terra-client/src/config.rs",
            "terra-client/src/error.rs",
            "terra-client/src/workflow/scan.rs",
        ],
    ),
    MutantScope {
        name: "mock-trust",
        package: "terra-mock",
        files: &[
            // OSS V1/V2/V4 signatures, header and URL forms.
            "terra-mock/src/storage/oss/sign/mod.rs",
            "terra-mock/src/storage/oss/sign/v1.rs",
            "terra-mock/src/storage/oss/sign/v2.rs",
            "terra-mock/src/storage/oss/sign/v4.rs",
            // Content-MD5 and x-amz-checksum-*.
            "terra-mock/src/storage/checksum.rs",
            // Keys, prefixes, listing prefixes, multi-object deletes per key.
            "terra-mock/src/storage/access.rs",
            // S3: the secret of an access key, the access hook, listing scopes, link expiry.
            "terra-mock/src/storage/s3/auth.rs",
            "terra-mock/src/storage/presign.rs",
            // STS sessions: lookup by key and token, expiry, pruning.
            "terra-mock/src/state/sessions.rs",
            // The TerraAPI gateway's use of terra-sign (date window, strict mode).
            "terra-mock/src/api/gateway.rs",
            // The control plane: Host, Origin, Sec-Fetch-Site, content type, admin token.
            "terra-mock/src/control/guard.rs",
            "terra-mock/src/control/refusal.rs",
            // The proxy: host classification, CONNECT targets, hop-by-hop headers.
            "terra-mock/src/proxy/mod.rs",
        ],
        exclude: &[
            // sessions.rs: persistence and bookkeeping, not lookup or expiry.
            "Inner::shrink|Inner::restore|Inner::drop_part|Inner::drop_issue|Inner::row|Sessions::rows|Sessions::count_for|Sessions::len|Sessions::swap_in|Sessions::remove_account|Sessions::clear|WriteGuard|Sessions::write|Sessions::read|Sessions::issue",
            // How refusals are worded and counted, not whether they happen.
            "Refusal::into_response|Refusal::code|Refused::message|Refused::kind|tally",
        ],
        tests: &[
            "--lib",
            "--test=reasons",
            "--test=auth",
            "--test=storage_s3",
            "--test=storage_oss",
            "--test=storage_compat",
            "--test=control",
            "--test=proxy",
            "--test=hostile_requests",
        ],
    },
];

/// The cargo-deny release `cargo xtask test` checks licenses, bans and sources with.
const DENY_VERSION: &str = "0.20.2";

/// Installs `krate` at `version` (crates.io) into `target/xtask/tools` unless it is
/// there; returns its binary.
fn install_tool(krate: &str, version: &str) -> Result<std::path::PathBuf, String> {
    let tools = root().join("target/xtask/tools");
    let bin = tools.join("bin").join(krate);
    let current = Command::new(&bin).arg("--version").output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).contains(version)
            || String::from_utf8_lossy(&o.stderr).contains(version)
    });
    if !current {
        run(&format!("install {krate} {version}"), {
            let mut c = cargo();
            c.args(["install", krate, "--locked", "--version"])
                .arg(version)
                .arg("--root")
                .arg(&tools);
            c
        })?;
    }
    Ok(bin)
}

/// `cargo xtask mutants [scope|all] [options]`: one cargo-mutants run per scope (options passed on), results under
/// `target/xtask/mutants/<scope>/mutants.out` (`missed.txt` lists the survivors).
fn mutants(args: &[String]) -> Result<(), String> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    let scopes: Vec<_> = MUTANT_SCOPES
        .iter()
        .filter(|s| which == "all" || s.name == which)
        .collect();
    if scopes.is_empty() {
        return Err(format!("unknown mutants scope {which:?}"));
    }
    let bin = install_tool("cargo-mutants", MUTANTS_VERSION)?;
    let mut failed = Vec::new();
    for s in scopes {
        let (scope, package, files) = (s.name, s.package, s.files);
        let out = root().join("target/xtask/mutants").join(scope);
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut c = Command::new(&bin);
        // Fewer property-test cases per mutant: a mutant is caught by the first failing
        // case, and the full count would make a run of terra-types take hours.
        c.env("PROPTEST_CASES", "24");
        // Each mutant is a rebuild and a relink of every test binary: without debug info
        // the links are shorter, and two jobs keep both cores busy while one links and the
        // other tests. `-j` on the command line still wins.
        c.env("CARGO_PROFILE_DEV_DEBUG", "0");
        for (var, default) in [
            ("CARGO_MUTANTS_JOBS", "2"),
            // A loaded machine must not turn a slow test into a "timeout" outcome.
            ("CARGO_MUTANTS_MINIMUM_TEST_TIMEOUT", "60"),
        ] {
            if std::env::var_os(var).is_none() {
                c.env(var, default);
            }
        }
        c.current_dir(root())
            .args(["mutants", "--package", package, "--output"])
            .arg(&out);
        for f in files {
            c.args(["--file", f]);
        }
        for re in s.exclude {
            c.args(["--exclude-re", re]);
        }
        if !s.tests.is_empty() && has_nextest() {
            // The test binaries run side by side rather than one after the other.
            c.arg("--test-tool=nextest");
        }
        for t in s.tests {
            c.arg(format!("--cargo-test-arg={t}"));
        }
        if package == "terra-client" {
            // The workflow (scan.rs among it) is behind a feature; without it, its mutants
            // would not even be compiled.
            c.arg("--features=workflow");
        }
        // More cargo-mutants options after the scope, e.g. `--iterate` (only what the last
        // run did not catch) or `--re PATTERN`.
        c.args(args.iter().skip(1));
        // A missed mutant makes cargo-mutants exit non-zero; report them all at the end.
        if run(&format!("mutants: {scope}"), c).is_err() {
            failed.push(format!(
                "{scope} (see {})",
                out.join("mutants.out/missed.txt").display()
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("surviving mutants in: {}", failed.join(", ")))
    }
}

#[cfg(test)]
mod disk {
    /// The free space `cargo xtask test` warns about is read from `df`, for a folder that
    /// does not exist yet (a fresh clone has no `target/`) through its nearest parent.
    #[test]
    fn free_space_is_read_for_a_folder_not_made_yet() {
        let free = super::free_bytes(&super::root().join("target/not/made/yet"));
        assert!(free.is_some_and(|b| b > 0), "{free:?}");
    }
}
