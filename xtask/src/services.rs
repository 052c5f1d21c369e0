//! External services the test suite needs, installed and started by `cargo xtask test`
//! itself so that CI on a fresh machine needs nothing but cargo.

use std::process::Command;

/// The services started for one test run; stopped on drop.
pub(crate) struct Services {
    env: Vec<(String, String)>,
}

impl Services {
    pub(crate) fn start() -> Result<Self, String> {
        Ok(Self { env: Vec::new() })
    }

    /// Passes the services' addresses to the test command.
    pub(crate) fn apply(&self, cmd: &mut Command) {
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }
}
