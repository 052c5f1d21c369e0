//! State that survives restarts (`--data-dir DIR`): SQLite (bundled, through `rusqlite`) in
//! `DIR/state.db` for every row, object bodies as files under `DIR/objects/`.
//!
//! Why SQLite: measured on this project's machine (50 000 single-row upserts of 300 bytes,
//! each its own transaction), SQLite in WAL mode with `synchronous=NORMAL` commits 42 500
//! per second, and every commit has been written to the operating system before it returns,
//! so a process killed with SIGKILL loses nothing it acknowledged. redb made 7 300 per
//! second with the same guarantee (25 700 without it, losing the last commits on a crash).
//! A power cut can lose the last commits in either mode: the mock is a test tool, and
//! `synchronous=FULL` would cost an fsync per change.
//!
//! Every change is written before the answer that acknowledges it: the account's rows when
//! the request lets go of its account lock, sessions, objects and uploads as they change.
//! Each write is one transaction. The schema stores each row as JSON in the forms of
//! [`crate::state::rows`], the same forms export and import use.
//!
//! A write that fails (a full disk, most often) is never acknowledged: the object store
//! does not take the object it could not record, and a request during which any write
//! failed is answered with its protocol's 5xx ([`track`] tells the router). Nothing turns
//! sticky: the next write is tried as if nothing happened, so writes succeed again as soon
//! as space is back. So that space can be freed on a full disk (deleting needs room in the
//! write-ahead log too), a few MiB are held in `DIR/reserve` and given back the first time
//! a write fails for want of space; the reserve is taken again once writes succeed.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rusqlite::{Connection, params};
use uuid::Uuid;

/// The database of a persistent mock.
#[derive(Debug)]
pub(crate) struct Db {
    conn: Mutex<Connection>,
    /// Held locked while the mock runs: one server per directory.
    _lock: std::fs::File,
    dir: PathBuf,
    /// Milliseconds since `started` of the last attempt to take the reserve back (0: held).
    reserve_tried: AtomicU64,
    started: Instant,
}

/// A write the database did not take.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the state database ({what}): {source}")]
pub(crate) struct WriteError {
    what: &'static str,
    #[source]
    source: rusqlite::Error,
}

tokio::task_local! {
    /// Whether a write failed while the current request was handled.
    static FAILED: Cell<bool>;
}

/// Runs `f` (one request), telling whether any write of the database failed meanwhile.
/// (A plain function rather than an `async fn`, whose state would hold `f` twice.)
pub(crate) fn track<F: std::future::Future>(
    f: F,
) -> impl std::future::Future<Output = (F::Output, bool)> {
    FAILED.scope(Cell::new(false), async move {
        let out = f.await;
        (out, FAILED.with(Cell::get))
    })
}

/// Marks the current request (if any) as one whose changes were not all kept.
pub(crate) fn note_failure() {
    let _ = FAILED.try_with(|f| f.set(true));
}

/// The bytes `DIR/reserve` holds back for a full disk.
const RESERVE_BYTES: usize = 4 << 20;

/// Whether a database error means the disk (or the database's quota) is full.
fn is_full(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == rusqlite::ErrorCode::DiskFull
                || f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE
                || f.extended_code == rusqlite::ffi::SQLITE_IOERR_FSYNC
        }
        _ => false,
    }
}

/// One account as stored.
#[derive(Debug)]
pub(crate) struct StoredAccount {
    pub id: u64,
    pub config: String,
    pub starts: u64,
    /// `(kind, json)` in creation order.
    pub rows: Vec<(u8, String)>,
}

/// A whole state to write at once (an import): it replaces everything stored.
#[derive(Debug, Default)]
pub(crate) struct Image {
    pub accounts: Vec<ImageAccount>,
    /// `(seq, json)`.
    pub sessions: Vec<(u64, String)>,
    /// `(bucket, key, json)`.
    pub objects: Vec<(String, String, String)>,
    /// `(id, json)`.
    pub uploads: Vec<(String, String)>,
    /// `(upload id, part number, json)`.
    pub parts: Vec<(String, u32, String)>,
    /// `(key, value)` settings (the clock, the timing).
    pub meta: Vec<(&'static str, String)>,
}

/// One account of an [`Image`].
#[derive(Debug)]
pub(crate) struct ImageAccount {
    pub id: u64,
    pub app_key: String,
    pub config: String,
    pub starts: u64,
    /// `(kind, uuid, json)`.
    pub rows: Vec<(u8, Uuid, String)>,
}

/// Everything stored, as read at start.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    pub accounts: Vec<StoredAccount>,
    pub sessions: Vec<String>,
    /// `(bucket, key, json)`.
    pub objects: Vec<(String, String, String)>,
    /// `(id, json)`.
    pub uploads: Vec<(String, String)>,
    /// `(upload id, part number, json)`.
    pub parts: Vec<(String, u32, String)>,
    pub meta: HashMap<String, String>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY, app_key TEXT NOT NULL UNIQUE, config TEXT NOT NULL,
    starts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rows (
    account INTEGER NOT NULL, kind INTEGER NOT NULL, uuid BLOB NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (account, kind, uuid));
CREATE TABLE IF NOT EXISTS sessions (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
    upload TEXT NOT NULL, number INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (upload, number));
";

/// Errors of opening or reading the database: a damaged or foreign file is `InvalidData`,
/// naming the file and what is wrong.
fn unreadable(path: &Path) -> impl Fn(rusqlite::Error) -> std::io::Error + '_ {
    move |e| {
        let damaged = matches!(
            &e,
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        ) || matches!(
            e,
            rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..)
        );
        let kind = if damaged {
            std::io::ErrorKind::InvalidData
        } else {
            std::io::ErrorKind::Other
        };
        let what = if damaged {
            "is damaged or not a terra-mock state database"
        } else {
            "cannot be read"
        };
        std::io::Error::new(kind, format!("{} {what} ({e})", path.display()))
    }
}

/// Moves `dir`'s database files and objects folder aside, renamed `*.damaged-<unix
/// seconds>`; returns the new names.
pub(crate) fn move_aside(dir: &Path) -> std::io::Result<Vec<String>> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut moved = Vec::new();
    for name in ["state.db", "state.db-wal", "state.db-shm", "objects"] {
        let from = dir.join(name);
        if from.exists() {
            let to = dir.join(format!("{name}.damaged-{stamp}"));
            std::fs::rename(&from, &to).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot move {} aside: {e}", from.display()),
                )
            })?;
            moved.push(to.display().to_string());
        }
    }
    Ok(moved)
}

impl Db {
    /// Opens (or creates) the database under `dir`.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        // Account secrets and uploaded objects: the owner's only.
        crate::private::dir(dir)?;
        crate::private::dir(&dir.join("objects"))?;
        for name in ["state.db", "state.db-wal", "state.db-shm"] {
            crate::private::check(&dir.join(name), "the accounts' secrets")?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        lock.try_lock().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("{} is in use by another terra-mock", dir.display()),
            )
        })?;
        let path = dir.join("state.db");
        // Created 0600 before SQLite opens it, which gives its journal files that mode.
        crate::private::touch(&path)?;
        let bad = unreadable(&path);
        let conn = Connection::open(&path).map_err(&bad)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&bad)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&bad)?;
        conn.execute_batch(SCHEMA).map_err(&bad)?;
        // A damaged page may only show when read: check the whole file now.
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(&bad)?;
        if check != "ok" {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} is damaged or not a terra-mock state database (integrity check: {check})",
                    path.display()
                ),
            ));
        }
        let db = Self {
            _lock: lock,
            conn: Mutex::new(conn),
            dir: dir.to_owned(),
            reserve_tried: AtomicU64::new(1),
            started: Instant::now(),
        };
        db.take_reserve();
        Ok(db)
    }

    /// Holds [`RESERVE_BYTES`] in `DIR/reserve` (best effort: on a full disk it waits).
    fn take_reserve(&self) {
        let path = self.dir.join("reserve");
        let ok = std::fs::metadata(&path).is_ok_and(|m| m.len() == RESERVE_BYTES as u64)
            || std::fs::write(&path, vec![0u8; RESERVE_BYTES]).is_ok();
        if ok {
            self.reserve_tried.store(0, Ordering::Release);
        } else {
            let _ = std::fs::remove_file(&path);
            let now = self.started.elapsed().as_millis() as u64 + 1;
            self.reserve_tried.store(now, Ordering::Release);
        }
    }

    /// Gives the reserve back to the file system; `false` if it was not held.
    fn release_reserve(&self) -> bool {
        let held = self.reserve_tried.load(Ordering::Acquire) == 0;
        if held && std::fs::remove_file(self.dir.join("reserve")).is_ok() {
            let now = self.started.elapsed().as_millis() as u64 + 1;
            self.reserve_tried.store(now, Ordering::Release);
            tracing::warn!(
                dir = %self.dir.display(),
                "the disk is full: released the {} MiB reserve so that deletes can free space",
                RESERVE_BYTES >> 20
            );
            return true;
        }
        false
    }

    /// The database file.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("state.db")
    }

    /// Where object bodies live.
    pub(crate) fn objects_dir(&self) -> PathBuf {
        self.dir.join("objects")
    }

    /// Runs `f` in one transaction. A failure is logged and noted for the current request
    /// ([`track`]); a full disk first gives the reserve back and tries once more.
    fn write(
        &self,
        what: &'static str,
        f: impl Fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), WriteError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let attempt = |conn: &mut Connection| {
            conn.transaction().and_then(|tx| {
                f(&tx)?;
                tx.commit()
            })
        };
        let mut r = attempt(&mut conn);
        if let Err(e) = &r
            && is_full(e)
            && self.release_reserve()
        {
            r = attempt(&mut conn);
        }
        drop(conn);
        match r {
            Ok(()) => {
                let tried = self.reserve_tried.load(Ordering::Acquire);
                let now = self.started.elapsed().as_millis() as u64 + 1;
                if tried != 0 && now.saturating_sub(tried) > 5_000 {
                    self.take_reserve();
                }
                Ok(())
            }
            Err(source) => {
                note_failure();
                tracing::error!(error = %source, what, "cannot write the state database; the change is not acknowledged");
                Err(WriteError { what, source })
            }
        }
    }

    // ---- accounts ------------------------------------------------------------------------

    pub(crate) fn put_account(
        &self,
        id: u64,
        app_key: &str,
        config: &str,
    ) -> Result<(), WriteError> {
        self.write("account", |tx| {
            tx.execute(
                "INSERT INTO accounts (id, app_key, config) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET app_key = excluded.app_key, config = excluded.config",
                params![id as i64, app_key, config],
            )
            .map(drop)
        })
    }

    /// Deletes an account and its rows.
    pub(crate) fn delete_account(&self, id: u64) -> Result<(), WriteError> {
        self.write("account", |tx| {
            tx.execute("DELETE FROM rows WHERE account = ?1", [id as i64])?;
            tx.execute("DELETE FROM accounts WHERE id = ?1", [id as i64])
                .map(drop)
        })
    }

    /// Empties an account's rows (its settings stay).
    pub(crate) fn clear_account(&self, id: u64) -> Result<(), WriteError> {
        self.write("account", |tx| {
            tx.execute("DELETE FROM rows WHERE account = ?1", [id as i64])?;
            tx.execute("UPDATE accounts SET starts = 0 WHERE id = ?1", [id as i64])
                .map(drop)
        })
    }

    /// Writes an account's changed rows (`None`: deleted) and its start count.
    pub(crate) fn write_rows(
        &self,
        account: u64,
        starts: u64,
        rows: &[(u8, Uuid, Option<String>)],
    ) -> Result<(), WriteError> {
        self.write("rows", |tx| {
            let mut up = tx.prepare_cached(
                "INSERT INTO rows (account, kind, uuid, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(account, kind, uuid) DO UPDATE SET data = excluded.data",
            )?;
            let mut del = tx.prepare_cached(
                "DELETE FROM rows WHERE account = ?1 AND kind = ?2 AND uuid = ?3",
            )?;
            for (kind, uuid, data) in rows {
                let id = &uuid.as_bytes()[..];
                match data {
                    Some(d) => up.execute(params![account as i64, *kind, id, d])?,
                    None => del.execute(params![account as i64, *kind, id])?,
                };
            }
            tx.execute(
                "UPDATE accounts SET starts = ?2 WHERE id = ?1",
                params![account as i64, starts as i64],
            )
            .map(drop)
        })
    }

    // ---- sessions, objects, uploads, settings ------------------------------------------------

    pub(crate) fn put_session(&self, seq: u64, data: &str) -> Result<(), WriteError> {
        self.write("session", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO sessions (seq, data) VALUES (?1, ?2)",
                params![seq as i64, data],
            )
            .map(drop)
        })
    }

    pub(crate) fn delete_sessions(&self, seqs: &[u64]) -> Result<(), WriteError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.write("session", |tx| {
            let mut del = tx.prepare_cached("DELETE FROM sessions WHERE seq = ?1")?;
            for s in seqs {
                del.execute([*s as i64])?;
            }
            Ok(())
        })
    }

    pub(crate) fn put_object(&self, bucket: &str, key: &str, data: &str) -> Result<(), WriteError> {
        self.write("object", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO objects (bucket, key, data) VALUES (?1, ?2, ?3)",
                params![bucket, key, data],
            )
            .map(drop)
        })
    }

    pub(crate) fn delete_object(&self, bucket: &str, key: &str) -> Result<(), WriteError> {
        self.write("object", |tx| {
            tx.execute(
                "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
                params![bucket, key],
            )
            .map(drop)
        })
    }

    pub(crate) fn put_upload(&self, id: &str, data: &str) -> Result<(), WriteError> {
        self.write("upload", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO uploads (id, data) VALUES (?1, ?2)",
                params![id, data],
            )
            .map(drop)
        })
    }

    pub(crate) fn put_part(&self, id: &str, number: u32, data: &str) -> Result<(), WriteError> {
        self.write("part", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO parts (upload, number, data) VALUES (?1, ?2, ?3)",
                params![id, number, data],
            )
            .map(drop)
        })
    }

    /// Deletes an upload and its parts; with `object`, writes the object it became in the
    /// same transaction.
    pub(crate) fn finish_upload(
        &self,
        id: &str,
        object: Option<(&str, &str, &str)>,
    ) -> Result<(), WriteError> {
        self.write("upload", |tx| {
            tx.execute("DELETE FROM parts WHERE upload = ?1", [id])?;
            tx.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
            if let Some((bucket, key, data)) = object {
                tx.execute(
                    "INSERT OR REPLACE INTO objects (bucket, key, data) VALUES (?1, ?2, ?3)",
                    params![bucket, key, data],
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<(), WriteError> {
        self.write("setting", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(drop)
        })
    }

    /// Forgets every session.
    pub(crate) fn clear_sessions(&self) -> Result<(), WriteError> {
        self.write("sessions", |tx| {
            tx.execute("DELETE FROM sessions", []).map(drop)
        })
    }

    /// Forgets every object and upload.
    pub(crate) fn clear_storage(&self) -> Result<(), WriteError> {
        self.write("storage", |tx| {
            tx.execute_batch("DELETE FROM objects; DELETE FROM uploads; DELETE FROM parts;")
        })
    }

    /// Replaces everything stored with `image`, in one transaction: afterwards the database
    /// holds the old state or the new one, never a mix.
    pub(crate) fn replace_all(&self, image: &Image) -> Result<(), WriteError> {
        self.write("state", |tx| {
            tx.execute_batch(
                "DELETE FROM rows; DELETE FROM accounts; DELETE FROM sessions; \
                 DELETE FROM objects; DELETE FROM uploads; DELETE FROM parts;",
            )?;
            let mut acct = tx.prepare_cached(
                "INSERT INTO accounts (id, app_key, config, starts) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut row = tx.prepare_cached(
                "INSERT OR REPLACE INTO rows (account, kind, uuid, data) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for a in &image.accounts {
                acct.execute(params![a.id as i64, a.app_key, a.config, a.starts as i64])?;
                for (kind, uuid, data) in &a.rows {
                    row.execute(params![a.id as i64, *kind, &uuid.as_bytes()[..], data])?;
                }
            }
            let mut session =
                tx.prepare_cached("INSERT OR REPLACE INTO sessions (seq, data) VALUES (?1, ?2)")?;
            for (seq, data) in &image.sessions {
                session.execute(params![*seq as i64, data])?;
            }
            let mut object = tx.prepare_cached(
                "INSERT OR REPLACE INTO objects (bucket, key, data) VALUES (?1, ?2, ?3)",
            )?;
            for (bucket, key, data) in &image.objects {
                object.execute(params![bucket, key, data])?;
            }
            let mut upload =
                tx.prepare_cached("INSERT OR REPLACE INTO uploads (id, data) VALUES (?1, ?2)")?;
            for (id, data) in &image.uploads {
                upload.execute(params![id, data])?;
            }
            let mut part = tx.prepare_cached(
                "INSERT OR REPLACE INTO parts (upload, number, data) VALUES (?1, ?2, ?3)",
            )?;
            for (id, number, data) in &image.parts {
                part.execute(params![id, number, data])?;
            }
            let mut meta =
                tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
            for (key, value) in &image.meta {
                meta.execute(params![key, value])?;
            }
            Ok(())
        })
    }

    /// Reads everything stored.
    pub(crate) fn load(&self) -> std::io::Result<Stored> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.path();
        let bad = unreadable(&path);
        let mut out = Stored::default();
        let mut q = conn
            .prepare("SELECT id, config, starts FROM accounts ORDER BY id")
            .map_err(&bad)?;
        let accounts = q
            .query_map([], |r| {
                Ok(StoredAccount {
                    id: r.get::<_, i64>(0)? as u64,
                    config: r.get(1)?,
                    starts: r.get::<_, i64>(2)? as u64,
                    rows: Vec::new(),
                })
            })
            .map_err(&bad)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&bad)?;
        let mut rows = conn
            .prepare("SELECT kind, data FROM rows WHERE account = ?1 ORDER BY rowid")
            .map_err(&bad)?;
        for mut a in accounts {
            a.rows = rows
                .query_map([a.id as i64], |r| Ok((r.get::<_, u8>(0)?, r.get(1)?)))
                .map_err(&bad)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(&bad)?;
            out.accounts.push(a);
        }
        out.sessions = conn
            .prepare("SELECT data FROM sessions ORDER BY seq")
            .map_err(&bad)?
            .query_map([], |r| r.get(0))
            .map_err(&bad)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&bad)?;
        out.objects = conn
            .prepare("SELECT bucket, key, data FROM objects")
            .map_err(&bad)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(&bad)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&bad)?;
        out.uploads = conn
            .prepare("SELECT id, data FROM uploads")
            .map_err(&bad)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&bad)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&bad)?;
        out.parts = conn
            .prepare("SELECT upload, number, data FROM parts")
            .map_err(&bad)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(&bad)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&bad)?;
        out.meta = conn
            .prepare("SELECT key, value FROM meta")
            .map_err(&bad)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&bad)?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(&bad)?;
        Ok(out)
    }
}
