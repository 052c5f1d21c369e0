//! `terra-mock`: the emulator as a standalone server.
//!
//! ```text
//! terra-mock serve --addr 127.0.0.1:8080
//! terra-mock serve --config mock.toml --provider oss --token-lifetime 60
//! terra-mock print-config > mock.toml      # every setting with its default
//! ```

/// mimalloc rather than glibc's malloc, whose arenas are shared between threads behind
/// locks: under 64 connections glibc made a page of `GET /v2/jobs` cost 67 µs of server
/// CPU and a presigned GET 55 µs; with mimalloc's per-thread heaps 36 and 42 µs
/// (`cargo xtask bench mock`, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    terra_mock::cli::main_from("terra-mock", std::env::args_os().skip(1))
}
