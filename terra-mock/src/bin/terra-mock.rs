//! `terra-mock`: the emulator as a standalone server.
//!
//! ```text
//! terra-mock serve --addr 127.0.0.1:8080
//! terra-mock serve --config mock.toml --provider oss --token-lifetime 60
//! terra-mock print-config > mock.toml      # every setting with its default
//! ```

fn main() -> std::process::ExitCode {
    terra_mock::cli::main_from("terra-mock", std::env::args_os().skip(1))
}
