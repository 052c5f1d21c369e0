//! `cargo xtask dist`: terra-mock for Python and Node users, built into `target/dist/`:
//!
//! - a wheel (maturin's `bin` bindings, as ruff and uv ship theirs: the binary in the
//!   wheel's scripts beside the typed `terra_mock` package and its pytest plugin), checked
//!   with `twine check`;
//! - the npm package `terra-mock` (the helper, its type declarations) and the platform
//!   package of this machine, `@terra-mock/<os>-<cpu>` (the binary), as esbuild and biome
//!   ship theirs: the main package lists the platform packages as `optionalDependencies`
//!   and npm installs the one whose `os`/`cpu` match; nothing is downloaded at install time.
//!
//! The release build is what `cargo xtask dist` makes; `cargo xtask test` builds the same
//! packages from the dev profile (the binary its tests use already), which saves a release
//! compile of the emulator in CI, and installs them fresh for its package suites. Other
//! platforms: run `cargo xtask dist` on each (or with their target's toolchain); every
//! platform package is named after `PLATFORMS` below, and the main package lists the ones
//! built (publish them all, then the main package, with their `optionalDependencies`
//! merged).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, run};

/// The maturin and twine releases the packages are built and checked with.
const MATURIN: &str = "maturin==1.16.0";
const TWINE: &str = "twine==7.0.0";

/// npm's names of the platforms: (`process.platform`-`process.arch`, Rust target OS and
/// arch, `os`, `cpu`).
const PLATFORMS: &[(&str, &str, &str, &str, &str)] = &[
    ("linux-x64", "linux", "x86_64", "linux", "x64"),
    ("linux-arm64", "linux", "aarch64", "linux", "arm64"),
    ("darwin-x64", "macos", "x86_64", "darwin", "x64"),
    ("darwin-arm64", "macos", "aarch64", "darwin", "arm64"),
    ("win32-x64", "windows", "x86_64", "win32", "x64"),
];

/// The workspace version (`[workspace.package] version`).
pub(crate) fn version() -> Result<String, String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| e.to_string())?;
    let section = manifest
        .split("[workspace.package]")
        .nth(1)
        .ok_or("no [workspace.package] in Cargo.toml")?;
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .ok_or_else(|| "no version in [workspace.package]".to_owned())
}

/// `python -m venv DIR`.
pub(crate) fn venv(dir: &Path) -> Command {
    let mut c = Command::new("python3");
    c.args(["-m", "venv"]).arg(dir);
    c
}

/// `pip install` (quiet) with the python of the venv `venv`.
pub(crate) fn pip_install(venv: &Path) -> Command {
    let mut c = Command::new(venv.join("bin/python"));
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    c
}

/// A new npm project in `dir` and `npm install` (quiet) run there.
pub(crate) fn npm_project(dir: &Path) -> Result<Command, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("package.json"),
        "{\"name\": \"terra-mock-user\", \"private\": true}\n",
    )
    .map_err(|e| e.to_string())?;
    let mut c = Command::new("npm");
    c.current_dir(dir)
        .args(["install", "--no-audit", "--no-fund", "--silent"]);
    Ok(c)
}

/// A venv with maturin and twine (`target/xtask/dist-venv`); returns its `bin/`.
fn tools() -> Result<PathBuf, String> {
    let venv = root().join("target/xtask/dist-venv");
    let marker = venv.join(format!(".{MATURIN}-{TWINE}"));
    if !marker.exists() {
        run("python3 -m venv (dist tools)", self::venv(&venv))?;
        run("pip install maturin twine", {
            let mut c = pip_install(&venv);
            c.args([MATURIN, TWINE]);
            c
        })?;
        std::fs::write(&marker, "").map_err(|e| e.to_string())?;
    }
    Ok(venv.join("bin"))
}

/// What `dist` made.
#[derive(Debug)]
pub(crate) struct Built {
    pub wheel: PathBuf,
    pub npm_main: PathBuf,
    pub npm_platform: PathBuf,
}

/// This machine's platform as npm names it.
fn platform() -> Result<
    &'static (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
    String,
> {
    PLATFORMS
        .iter()
        .find(|p| p.1 == std::env::consts::OS && p.2 == std::env::consts::ARCH)
        .ok_or_else(|| {
            format!(
                "no npm platform package is defined for {}-{}",
                std::env::consts::OS,
                std::env::consts::ARCH
            )
        })
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// Builds the wheel and the npm tarballs into `target/dist/` (`release`, or the dev profile).
pub(crate) fn dist(release: bool) -> Result<Built, String> {
    let version = version()?;
    let bin = tools()?;
    let out = root().join("target/dist");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;

    // The npm package's own version must be the workspace's.
    let main_json = root().join("packaging/npm/terra-mock/package.json");
    let text = std::fs::read_to_string(&main_json).map_err(|e| e.to_string())?;
    if !text.contains(&format!("\"version\": \"{version}\"")) {
        return Err(format!(
            "{} does not have the workspace version {version}",
            main_json.display()
        ));
    }

    // 1. The wheel: maturin builds the binary with cargo and packs it beside the package.
    let profile = if release { "release" } else { "dev" };
    run(&format!("maturin build (wheel, {profile})"), {
        let mut c = Command::new(bin.join("maturin"));
        c.current_dir(root().join("packaging/python"))
            .args(["build", "--quiet", "--locked", "--out"])
            .arg(&out);
        if release {
            c.args(["--release", "--strip"]);
        } else {
            // A test wheel for this machine only (PyPI takes manylinux wheels).
            c.args(["--profile", "dev", "--compatibility", "linux"]);
        }
        c
    })?;
    let wheel = std::fs::read_dir(&out)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("maturin made no wheel")?;
    run("twine check (wheel metadata)", {
        let mut c = Command::new(bin.join("twine"));
        c.args(["check", "--strict"]).arg(&wheel);
        c
    })?;

    // 2. npm: the platform package (the binary maturin built) and the main package.
    let (name, _, _, os, cpu) = platform()?;
    let binary = root()
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join(if cfg!(windows) {
            "terra-mock.exe"
        } else {
            "terra-mock"
        });
    let stage = root().join("target/dist/npm");
    let plat = stage.join(name);
    std::fs::create_dir_all(plat.join("bin")).map_err(|e| e.to_string())?;
    let template = std::fs::read_to_string(root().join("packaging/npm/platform/package.json"))
        .map_err(|e| e.to_string())?;
    let mut json = template
        .replace("PLATFORM", name)
        .replace("\"OS\"", &format!("\"{os}\""))
        .replace("\"CPU\"", &format!("\"{cpu}\""));
    if *os == "linux" {
        // The binary links glibc.
        json = json.replace(
            "\"preferUnplugged\"",
            "\"libc\": [\"glibc\"],\n  \"preferUnplugged\"",
        );
    }
    std::fs::write(plat.join("package.json"), json).map_err(|e| e.to_string())?;
    let readme = std::fs::read_to_string(root().join("packaging/npm/platform/README.md"))
        .map_err(|e| e.to_string())?
        .replace("PLATFORM", name);
    std::fs::write(plat.join("README.md"), readme).map_err(|e| e.to_string())?;
    copy(
        &binary,
        &plat
            .join("bin")
            .join(binary.file_name().unwrap_or_default()),
    )?;
    let main = stage.join("terra-mock");
    std::fs::create_dir_all(main.join("bin")).map_err(|e| e.to_string())?;
    for f in ["index.js", "index.d.ts", "README.md", "bin/terra-mock.js"] {
        copy(
            &root().join("packaging/npm/terra-mock").join(f),
            &main.join(f),
        )?;
    }
    // The main package lists the platform packages built here.
    let listed = text.replace(
        &text[text
            .find("\"optionalDependencies\"")
            .ok_or("no optionalDependencies")?..],
        &format!(
            "\"optionalDependencies\": {{\n    \"@terra-mock/{name}\": \"{version}\"\n  }}\n}}\n"
        ),
    );
    std::fs::write(main.join("package.json"), listed).map_err(|e| e.to_string())?;
    for dir in [&plat, &main] {
        for l in ["LICENSE-MIT", "LICENSE-APACHE"] {
            copy(&root().join(l), &dir.join(l))?;
        }
        run(&format!("npm pack {}", dir.display()), {
            let mut c = Command::new("npm");
            c.current_dir(dir)
                .args(["pack", "--silent", "--pack-destination"])
                .arg(&out);
            c
        })?;
    }
    let npm_main = out.join(format!("terra-mock-{version}.tgz"));
    let npm_platform = out.join(format!("terra-mock-{name}-{version}.tgz"));
    for p in [&npm_main, &npm_platform, &wheel] {
        let size = std::fs::metadata(p)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .len();
        eprintln!("    {} ({:.1} MiB)", p.display(), size as f64 / 1048576.0);
    }
    Ok(Built {
        wheel,
        npm_main,
        npm_platform,
    })
}

/// Python packages of the wheel's own suite (`packaging/python/tests`), pinned.
const PACKAGE_SUITE: &[&str] = &[
    "pytest==9.2.0",
    "pytest-xdist==3.8.0",
    "boto3==1.44.8",
    "oss2==2.19.1",
];

/// npm packages of the npm package's suite, pinned (besides the tarballs).
const NODE_SUITE: &[&str] = &["@aws-sdk/client-s3@3.1175.0"];

/// Installs the built packages fresh (a new venv, a new npm project: nothing from the
/// checkout on the import path) and runs their suites.
pub(crate) fn test_packages(built: &Built) -> Result<(), String> {
    let work = root().join("target/xtask/packages");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;

    // Python: the wheel in a fresh venv, its suite copied out of the checkout.
    let venv = work.join("venv");
    run("python3 -m venv (package test)", self::venv(&venv))?;
    run("pip install the wheel", {
        let mut c = pip_install(&venv);
        c.arg(&built.wheel).args(PACKAGE_SUITE);
        c
    })?;
    let suite = work.join("python-suite");
    std::fs::create_dir_all(&suite).map_err(|e| e.to_string())?;
    copy(
        &root().join("packaging/python/tests/test_package.py"),
        &suite.join("test_package.py"),
    )?;
    let report = work.join("workers.txt");
    run("pytest (the wheel's suite, 2 xdist workers)", {
        let mut c = Command::new(venv.join("bin/python"));
        c.current_dir(&suite)
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "pytester",
                "-n",
                "2",
            ])
            .env("TERRA_PKG_REPORT", &report)
            .env_remove("TERRA_MOCK_BIN")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        c
    })?;
    // examples/python: a TerraAPI integration's tests, using the package like a user.
    let example = root().join("examples/python");
    let requirements =
        std::fs::read_to_string(example.join("requirements.txt")).map_err(|e| e.to_string())?;
    run("pip install the example's requirements", {
        let mut c = pip_install(&venv);
        c.args(
            requirements
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("terra-mock")),
        );
        c
    })?;
    run("pytest examples/python (with the package)", {
        let mut c = Command::new(venv.join("bin/python"));
        c.current_dir(&example)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .env_remove("TERRA_MOCK_BIN")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        c
    })?;
    // Two workers ran tests, each with its own server (one URL per worker, two URLs).
    let workers = std::fs::read_to_string(&report).map_err(|e| e.to_string())?;
    let pairs: std::collections::BTreeSet<(&str, &str)> =
        workers.lines().filter_map(|l| l.split_once(' ')).collect();
    let names: std::collections::BTreeSet<&str> = pairs.iter().map(|p| p.0).collect();
    let urls: std::collections::BTreeSet<&str> = pairs.iter().map(|p| p.1).collect();
    if names.len() < 2 || urls.len() != names.len() || pairs.len() != names.len() {
        return Err(format!(
            "the xdist workers did not each get their own server:\n{workers}"
        ));
    }

    // Node: the tarballs in a fresh project.
    let project = work.join("node-project");
    run("npm install the tarballs", {
        let mut c = npm_project(&project)?;
        c.arg(&built.npm_main)
            .arg(&built.npm_platform)
            .args(NODE_SUITE);
        c
    })?;
    copy(
        &root().join("packaging/npm/tests/package.test.cjs"),
        &project.join("package.test.cjs"),
    )?;
    // examples/node: an integration's tests, using the package like a user.
    copy(
        &root().join("examples/node/upload.test.cjs"),
        &project.join("upload.test.cjs"),
    )?;
    run("node --test (the npm package's suite and examples/node)", {
        let mut c = Command::new("node");
        c.current_dir(&project)
            .args(["--test", "package.test.cjs", "upload.test.cjs"])
            .env_remove("TERRA_MOCK_BIN")
            .env_remove("NODE_PATH");
        c
    })?;
    Ok(())
}
