//! Issue 31, row 7: private files private. A left-over `ca-key.pem` of mode 0644 was
//! written into and used; under umask 000 the CA folder was 0777 and `ca.pem` 0666; the
//! database holding the accounts' secrets was 0644. Folders are now created 0700 (and
//! closed when found open), keys and the database 0600 whatever the umask, and a key or
//! database others could read is refused with the `chmod` that fixes it.

use std::io::BufRead as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// `terra-mock serve --proxy` under `umask`: `Ok` with the running child once it
/// listens, or `Err` with what it printed when it stopped instead.
fn serve(umask: &str, args: &[&str], env: &[(&str, &str)]) -> Result<std::process::Child, String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_terra-mock"))
        .args(["serve", "--addr", "127.0.0.1:0", "--proxy", "--log", "warn"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.contains("listening on") {
        return Ok(child);
    }
    let out = child.wait_with_output().unwrap();
    Err(String::from_utf8_lossy(&out.stderr).into_owned())
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn files_are_private_whatever_the_umask() {
    for umask in ["000", "022"] {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let child = serve(umask, &["--data-dir", data.to_str().unwrap()], &[]).unwrap();
        stop(child);
        for (path, want) in [
            ("", 0o700),
            ("objects", 0o700),
            ("ca", 0o700),
            ("ca/ca-key.pem", 0o600),
            ("ca/ca.pem", 0o644),
            ("state.db", 0o600),
        ] {
            assert_eq!(mode(&data.join(path)), want, "umask {umask}: data/{path}");
        }
        for journal in ["state.db-wal", "state.db-shm"] {
            if data.join(journal).exists() {
                assert_eq!(mode(&data.join(journal)), 0o600, "umask {umask}: {journal}");
            }
        }

        // Without a data directory, the authority lives in the per-user state folder.
        let state = root.path().join("state");
        let child = serve(umask, &[], &[("XDG_STATE_HOME", state.to_str().unwrap())]).unwrap();
        stop(child);
        for (path, want) in [
            ("terra-mock", 0o700),
            ("terra-mock/ca", 0o700),
            ("terra-mock/ca/ca-key.pem", 0o600),
        ] {
            assert_eq!(mode(&state.join(path)), want, "umask {umask}: state/{path}");
        }
    }
}

#[test]
fn a_key_or_database_others_can_read_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    stop(serve("022", &["--data-dir", data.to_str().unwrap()], &[]).unwrap());

    let db = data.join("state.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = serve("022", &["--data-dir", data.to_str().unwrap()], &[]).unwrap_err();
    assert!(
        err.contains(&format!("chmod 600 {}", db.display())),
        "{err}"
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A left-over key, 0644, and no certificate beside it.
    let ca = root.path().join("other-ca");
    std::fs::create_dir(&ca).unwrap();
    let key = ca.join("ca-key.pem");
    std::fs::write(&key, "left over").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = serve("022", &["--ca-dir", ca.to_str().unwrap()], &[]).unwrap_err();
    assert!(
        err.contains(&format!("chmod 600 {}", key.display())),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        "left over",
        "nothing written into it"
    );
    assert_eq!(mode(&key), 0o644);

    // A folder of ours found open is closed, with a warning saying so.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let child = serve("022", &["--data-dir", data.to_str().unwrap()], &[]).unwrap();
    stop(child);
    assert_eq!(mode(&data), 0o700);
}
