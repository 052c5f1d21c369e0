//! The ceiling of this machine: nginx (`BENCH_NGINX`, Debian's `nginx-light`, which
//! `cargo xtask bench mock` installs) serving the same bytes as a static file, measured with
//! the same wrk run beside terra-mock, rounds interleaved, medians reported.

use super::*;
use crate::wrk::Wrk;

/// An nginx serving `www/` on loopback: two workers (the cores), no access log, sendfile.
pub(crate) struct Nginx {
    pub(crate) addr: String,
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Starts nginx when `BENCH_NGINX` names it; `None` (and says so) otherwise.
    pub(crate) fn start() -> Option<Self> {
        let Some(bin) = std::env::var_os("BENCH_NGINX") else {
            println!("ceiling: nginx not run (set BENCH_NGINX; cargo xtask bench mock does)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("www")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        // Root runs the workers as root too: they read the test's own files.
        let user = if std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"))
        {
            "user root;"
        } else {
            ""
        };
        let conf = format!(
            "{user}\nworker_processes 2;\ndaemon off;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
               keepalive_timeout 65;\n  client_body_temp_path {d}/tmp;\n\
               server {{ listen 127.0.0.1:{port}; root {d}/www; location / {{ }} }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self { addr, child, dir })
    }

    /// Serves `body` at `path` (the static file the ceiling is measured on).
    pub(crate) fn put(&self, path: &str, body: &[u8]) {
        let file = self
            .dir
            .path()
            .join("www")
            .join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The median of `xs`.
pub(crate) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Rounds of the ceiling run.
pub(crate) const ROUNDS: usize = 3;

/// `rounds` of terra-mock's wrk run and nginx's, interleaved; prints the medians and their
/// ratio, and returns terra-mock's median rate.
pub(crate) fn beside_the_ceiling(
    what: &str,
    terra: impl Fn() -> Option<Wrk>,
    nginx: Option<&Nginx>,
    nginx_target: &str,
) -> Option<f64> {
    cases_beside_the_ceiling(&[(what, &terra)], nginx, nginx_target)
        .pop()
        .flatten()
}

/// Several cases, each beside the ceiling, with the rounds interleaved across the cases as
/// well (round 1 of every case, then round 2, ...): a drift of the machine over the run
/// then weighs on every case alike instead of on whichever runs last. Returns each case's
/// median rate, in order.
pub(crate) fn cases_beside_the_ceiling(
    cases: &[(&str, &dyn Fn() -> Option<Wrk>)],
    nginx: Option<&Nginx>,
    nginx_target: &str,
) -> Vec<Option<f64>> {
    #[derive(Default)]
    struct Runs {
        ours: Vec<f64>,
        theirs: Vec<f64>,
        cpu_ours: Vec<f64>,
        cpu_theirs: Vec<f64>,
        failed: bool,
    }
    let mut runs: Vec<Runs> = cases.iter().map(|_| Runs::default()).collect();
    for _ in 0..ROUNDS {
        for ((what, terra), r) in cases.iter().zip(&mut runs) {
            if r.failed {
                continue;
            }
            let Some(t) = terra() else {
                r.failed = true;
                continue;
            };
            r.ours.push(t.rate);
            r.cpu_ours.push(t.cpu_us);
            if let Some(n) = nginx
                && let Some(w) = wrk(
                    &format!("{what}: nginx, the same bytes as a static file"),
                    &n.addr,
                    nginx_target,
                    &[],
                    n.pid(),
                )
            {
                r.theirs.push(w.rate);
                r.cpu_theirs.push(w.cpu_us);
            }
        }
    }
    let mut rates = Vec::new();
    for ((what, _), r) in cases.iter().zip(runs) {
        if r.failed {
            rates.push(None);
            continue;
        }
        let (o, c) = (median(r.ours), median(r.cpu_ours));
        if r.theirs.is_empty() {
            println!(
                "{what}: terra-mock {o:.0} req/s, {c:.0} us server CPU per request (median of {ROUNDS})"
            );
        } else {
            let (n, nc) = (median(r.theirs), median(r.cpu_theirs));
            println!(
                "{what}: terra-mock {o:.0} req/s at {c:.0} us server CPU per request; nginx {n:.0} req/s at {nc:.0} us; ratio {:.2} of the ceiling (medians of {ROUNDS} interleaved rounds, wrk -t2 -c{CONNECTIONS})",
                o / n
            );
        }
        rates.push(Some(o));
    }
    rates
}
