//! `terra`: DJI TerraAPI from the shell.

/// `println!` for a command's output. A closed stdout (`terra files list | head`) ends the
/// process quietly with status 141, as a Unix tool killed by SIGPIPE ends; `println!`
/// would panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_line(format_args!($($arg)*))
    };
}

mod args;
mod auth;
mod catalog;
mod demo;
mod download;
mod jobs;
mod params;
mod progress;
mod workflow;

use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use terra_client::{ErrorKind, Region, TerraClient};
use terra_store::{BackendOptions, OssSigning};

use args::{Cli, Cmd, RegionArg};

/// Exit codes (besides 0): 1 any failure, 2 usage (from clap), 3 bad input, 4
/// authentication, 5 the job failed or was stopped.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl From<terra_client::Error> for Failure {
    fn from(e: terra_client::Error) -> Self {
        let code = match e.kind() {
            ErrorKind::Input | ErrorKind::InvalidParameter | ErrorKind::Config => 3,
            ErrorKind::Authentication => 4,
            ErrorKind::JobFailed | ErrorKind::JobStopped => 5,
            _ => 1,
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { code: 3, message }
    }
}

impl From<terra_store::StoreError> for Failure {
    fn from(e: terra_store::StoreError) -> Self {
        Self {
            code: if e.kind() == terra_store::StoreErrorKind::Io {
                3
            } else {
                1
            },
            message: e.to_string(),
        }
    }
}

pub(crate) type Outcome<T = ()> = Result<T, Failure>;

pub(crate) fn print_json<T: Serialize>(v: &T) {
    out!("{}", serde_json::to_string_pretty(v).expect("JSON"));
}

/// The status of a process whose output pipe was closed (128 + SIGPIPE).
const CLOSED_STDOUT: i32 = 141;

/// Writes one line to stdout (see `out!`).
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(CLOSED_STDOUT),
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

pub(crate) fn client(cli: &Cli) -> Outcome<TerraClient> {
    // The flags (which clap also fills from TERRA_ENDPOINT and TERRA_REGION) win over
    // what from_env would read, as explicit builder calls do.
    let mut b = TerraClient::from_env();
    b = match &cli.endpoint {
        Some(e) => b.endpoint(e.clone()),
        None => b.region(match cli.region {
            RegionArg::Us => Region::Us,
            RegionArg::Cn => Region::Cn,
        }),
    };
    b = match (&cli.app_key, &cli.secret) {
        (Some(ak), Some(sk)) => b.credentials(ak.clone(), sk.clone()),
        (Some(_), None) | (None, Some(_)) => {
            return Err(Failure {
                code: 3,
                message: "give both --app-key and --secret (or DJI_APP_KEY and DJI_SECRET_KEY)"
                    .into(),
            });
        }
        (None, None) => b.credentials_from_env(),
    };
    Ok(b.build()?)
}

pub(crate) fn storage(cli: &Cli, oss_v1: bool) -> BackendOptions {
    BackendOptions {
        endpoint: cli
            .storage_endpoint
            .clone()
            .or_else(|| cli.endpoint.clone()),
        oss_signing: if oss_v1 {
            OssSigning::V1
        } else {
            OssSigning::V4
        },
        ..Default::default()
    }
}

async fn run(cli: Cli) -> Outcome {
    match &cli.cmd {
        Cmd::Reconstruct(a) => workflow::run(&cli, a).await,
        Cmd::Check(a) => workflow::check(a, cli.json),
        Cmd::Download(a) => download::download(&client(&cli)?, a, cli.json).await,
        Cmd::Token { show_secrets } => auth::token(&cli, *show_secrets).await,
        Cmd::Resources(r) => catalog::resources(&cli, r).await,
        Cmd::Files(f) => catalog::files(&cli, f).await,
        Cmd::Jobs(j) => jobs::run(&cli, j).await,
        Cmd::Upload(a) => workflow::upload(&cli, a).await,
        Cmd::Sign(a) => auth::sign(&cli, a),
        Cmd::Mock { .. } => unreachable!("`terra mock` is dispatched before the runtime starts"),
        Cmd::Demo(a) => demo::run(a, cli.json).await,
    }
}

/// At most two malloc arenas (glibc's default is eight per core). Downloads hand their
/// bodies from the runtime's threads to the blocking pool's, and every extra arena keeps
/// its own free memory: with two, a download's peak resident memory fell from 70 to 62
/// MiB at the same memory budget, and it ran no slower (`cargo xtask bench download`,
/// BENCHMARKS.md). The same as `MALLOC_ARENA_MAX=2` in the environment.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn two_arenas() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_ARENA_MAX: i32 = -8;
    // SAFETY: mallopt only sets a parameter of glibc's allocator, under its own lock;
    // called first thing in main, before any other thread exists.
    unsafe {
        mallopt(M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn two_arenas() {}

fn main() -> ExitCode {
    two_arenas();
    // `terra mock ...` is the emulator's own command line, flags and help included.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "mock") {
        return terra_mock::cli::main_from("terra mock", argv.into_iter().skip(2));
    }
    let cli = Cli::parse();
    if let Cmd::Mock { args } = &cli.cmd {
        return terra_mock::cli::main_from("terra mock", args.clone());
    }
    if cli.verbose > 0 {
        let level = match cli.verbose {
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| {
            format!(
                "warn,terra_client={level},terra_store={level},terra_mock={level},terra={level}"
            )
        });
        if let Err(e) = terra_mock::cli::init_logging(&filter) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
