//! Files only their owner may read: the data directory (account secrets in `state.db`,
//! uploaded objects), the proxy's authority (`ca-key.pem`) and the per-user state folder.
//!
//! - Folders are created `0700`; one found open to others is closed to `0700` with a
//!   warning (others could list it, or replace what is in it).
//! - Private files are written `0600` through a temporary file and a rename, so a file
//!   left behind with another mode is replaced, never written into; and their mode is set
//!   explicitly, whatever the umask.
//! - A private file found readable by others is refused, naming it and the `chmod` that
//!   fixes it: what it holds may have been read already, and only its owner can judge.
//!
//! On platforms without Unix modes these are plain creations and writes.

use std::path::Path;

/// Creates `dir` (and its parents) with `dir` itself `0700`, or closes an existing `dir`
/// to others.
pub(crate) fn dir(dir: &Path) -> std::io::Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", dir.display()))
    };
    if !dir.exists() {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| fail("create the parent of", e))?;
        }
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        match b.create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail("create", e)),
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)
            .map_err(|e| fail("read", e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| fail("restrict", e))?;
            tracing::warn!(
                dir = %dir.display(),
                was = %format!("{:o}", mode & 0o777),
                "this folder of terra-mock was open to other users (who could list or replace \
                 what is in it); it is now 0700"
            );
        }
    }
    Ok(())
}

/// Refuses a private file that others may read or write (nothing to say when it is
/// missing).
pub(crate) fn check(path: &Path, holds: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Ok(());
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} holds {holds} and is readable or writable by other users (mode {mode:o}); \
                     terra-mock will not use it. Run `chmod 600 {}` if no one else could have \
                     read it, or move it aside to start afresh",
                    path.display(),
                    path.display(),
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, holds);
    Ok(())
}

/// Writes `bytes` to `path`, `0600`, replacing what was there in one rename.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_mode(path, bytes, 0o600)
}

/// Writes a file others may read but not change (a certificate), `0644` whatever the
/// umask, replacing what was there in one rename.
pub(crate) fn write_public(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_mode(path, bytes, 0o644)
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
    };
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = create(&tmp, mode).map_err(fail)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

/// Creates `path` empty and `0600` unless it exists (for files another library writes,
/// such as the database, which then keeps that mode for its journal files).
pub(crate) fn touch(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    match create(path, 0o600) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("cannot create {}: {e}", path.display()),
        )),
    }
}

/// A new file of `mode` whatever the umask.
fn create(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode & 0o600);
    let f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(f)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_closed_and_files_private() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("a/b");
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700, "repaired");

        let f = d.join("key.pem");
        std::fs::write(&f, "left over").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = check(&f, "a private key").unwrap_err().to_string();
        assert!(e.contains(&format!("chmod 600 {}", f.display())), "{e}");
        write(&f, b"new").unwrap();
        assert_eq!(
            (mode(&f), std::fs::read(&f).unwrap()),
            (0o600, b"new".to_vec())
        );
        check(&f, "a private key").unwrap();

        let db = d.join("state.db");
        touch(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        check(&root.path().join("missing"), "nothing").unwrap();
    }
}
