//! The standalone server under test, in its own process.

use super::*;

// ---- the server ---------------------------------------------------------------------

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
    pub(crate) _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary; `settings` are top-level TOML settings for its config; with
    /// `proxy`, it is also a proxy (`--proxy`, its authority in the server's folder).
    pub(crate) fn start_with(settings: &str, proxy: bool) -> Self {
        let bin = std::env::var("TERRA_MOCK_BIN")
            .expect("set TERRA_MOCK_BIN to a release terra-mock (cargo xtask bench mock does)");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bench.toml");
        let mut toml = format!("{settings}\n");
        for (ak, sk) in ACCOUNTS {
            toml.push_str(&format!(
                "[[accounts]]\napp_key = \"{ak}\"\nsecret = \"{sk}\"\nprovider = \"s3\"\n\n"
            ));
        }
        std::fs::write(&config, toml).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log",
            "error",
            "--config",
        ])
        .arg(&config);
        if proxy {
            cmd.arg("--proxy")
                .arg("--ca-dir")
                .arg(dir.path().join("ca"));
        }
        if std::env::var_os("BENCH_PERSIST").is_some() {
            cmd.arg("--data-dir").arg(dir.path().join("state"));
        }
        let mut child = cmd
            .env("TMPDIR", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().rsplit(' ').next().unwrap();
        let addr = base.trim_start_matches("http://").to_owned();
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    /// The proxy's CA certificate (PEM), of a server started with `proxy`.
    pub(crate) fn ca_pem(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("ca/ca.pem")).unwrap()
    }

    pub(crate) fn proc_status(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub(crate) fn rss_mib(&self) -> f64 {
        self.proc_status("VmRSS:") as f64 / 1024.0
    }

    /// User + system CPU seconds of the server process.
    pub(crate) fn cpu_secs(&self) -> f64 {
        cpu_secs_of(self.child.id())
    }
}

/// User + system CPU seconds of process `pid`.
/// CPU seconds (user and system) of process `pid` and of its live children: nginx serves
/// from worker processes, so its master alone would show none of the work.
pub(crate) fn cpu_secs_of(pid: u32) -> f64 {
    // (parent, user + system ticks) from /proc/<pid>/stat.
    let read = |p: &str| -> Option<(u32, f64)> {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some((fields.get(1)?.parse().ok()?, ticks))
    };
    let own = read(&pid.to_string()).map_or(0.0, |(_, t)| t);
    let children: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| read(e.file_name().to_str()?))
        .filter(|(parent, _)| *parent == pid)
        .map(|(_, t)| t)
        .sum();
    (own + children) / 100.0
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
