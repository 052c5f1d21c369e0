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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, params};
use uuid::Uuid;

/// The database of a persistent mock.
#[derive(Debug)]
pub(crate) struct Db {
    conn: Mutex<Connection>,
    /// Held locked while the mock runs: one server per directory.
    _lock: std::fs::File,
    dir: PathBuf,
    /// Set when a write failed: the mock then answers 500s rather than acknowledge changes it
    /// could not keep.
    broken: AtomicBool,
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

fn io(e: rusqlite::Error) -> std::io::Error {
    std::io::Error::other(format!("state database: {e}"))
}

impl Db {
    /// Opens (or creates) the database under `dir`.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir.join("objects")).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display()))
        })?;
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
        let conn = Connection::open(dir.join("state.db")).map_err(io)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(io)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(io)?;
        conn.execute_batch(SCHEMA).map_err(io)?;
        Ok(Self {
            _lock: lock,
            conn: Mutex::new(conn),
            dir: dir.to_owned(),
            broken: AtomicBool::new(false),
        })
    }

    /// Where object bodies live.
    pub(crate) fn objects_dir(&self) -> PathBuf {
        self.dir.join("objects")
    }

    /// Whether a write has failed since start.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// Runs `f` in one transaction. A failure is logged and marks the database broken.
    fn write(
        &self,
        what: &str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let r = conn.transaction().and_then(|tx| {
            f(&tx)?;
            tx.commit()
        });
        if let Err(e) = r {
            self.broken.store(true, Ordering::Release);
            tracing::error!(error = %e, what, "cannot write the state database; answering 500 from now on");
        }
    }

    // ---- accounts ------------------------------------------------------------------------

    pub(crate) fn put_account(&self, id: u64, app_key: &str, config: &str) {
        self.write("account", |tx| {
            tx.execute(
                "INSERT INTO accounts (id, app_key, config) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET app_key = excluded.app_key, config = excluded.config",
                params![id as i64, app_key, config],
            )
            .map(drop)
        });
    }

    /// Deletes an account and its rows.
    pub(crate) fn delete_account(&self, id: u64) {
        self.write("account", |tx| {
            tx.execute("DELETE FROM rows WHERE account = ?1", [id as i64])?;
            tx.execute("DELETE FROM accounts WHERE id = ?1", [id as i64])
                .map(drop)
        });
    }

    /// Empties an account's rows (its settings stay).
    pub(crate) fn clear_account(&self, id: u64) {
        self.write("account", |tx| {
            tx.execute("DELETE FROM rows WHERE account = ?1", [id as i64])?;
            tx.execute("UPDATE accounts SET starts = 0 WHERE id = ?1", [id as i64])
                .map(drop)
        });
    }

    /// Writes an account's changed rows (`None`: deleted) and its start count.
    pub(crate) fn write_rows(
        &self,
        account: u64,
        starts: u64,
        rows: &[(u8, Uuid, Option<String>)],
    ) {
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
        });
    }

    // ---- sessions, objects, uploads, settings ------------------------------------------------

    pub(crate) fn put_session(&self, seq: u64, data: &str) {
        self.write("session", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO sessions (seq, data) VALUES (?1, ?2)",
                params![seq as i64, data],
            )
            .map(drop)
        });
    }

    pub(crate) fn delete_sessions(&self, seqs: &[u64]) {
        if seqs.is_empty() {
            return;
        }
        self.write("session", |tx| {
            let mut del = tx.prepare_cached("DELETE FROM sessions WHERE seq = ?1")?;
            for s in seqs {
                del.execute([*s as i64])?;
            }
            Ok(())
        });
    }

    pub(crate) fn put_object(&self, bucket: &str, key: &str, data: &str) {
        self.write("object", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO objects (bucket, key, data) VALUES (?1, ?2, ?3)",
                params![bucket, key, data],
            )
            .map(drop)
        });
    }

    pub(crate) fn delete_object(&self, bucket: &str, key: &str) {
        self.write("object", |tx| {
            tx.execute(
                "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
                params![bucket, key],
            )
            .map(drop)
        });
    }

    pub(crate) fn put_upload(&self, id: &str, data: &str) {
        self.write("upload", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO uploads (id, data) VALUES (?1, ?2)",
                params![id, data],
            )
            .map(drop)
        });
    }

    pub(crate) fn put_part(&self, id: &str, number: u32, data: &str) {
        self.write("part", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO parts (upload, number, data) VALUES (?1, ?2, ?3)",
                params![id, number, data],
            )
            .map(drop)
        });
    }

    /// Deletes an upload and its parts; with `object`, writes the object it became in the
    /// same transaction.
    pub(crate) fn finish_upload(&self, id: &str, object: Option<(&str, &str, &str)>) {
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
        });
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) {
        self.write("setting", |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(drop)
        });
    }

    /// Forgets every session.
    pub(crate) fn clear_sessions(&self) {
        self.write("sessions", |tx| {
            tx.execute("DELETE FROM sessions", []).map(drop)
        });
    }

    /// Forgets every object and upload.
    pub(crate) fn clear_storage(&self) {
        self.write("storage", |tx| {
            tx.execute_batch("DELETE FROM objects; DELETE FROM uploads; DELETE FROM parts;")
        });
    }

    /// Reads everything stored.
    pub(crate) fn load(&self) -> std::io::Result<Stored> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Stored::default();
        let mut q = conn
            .prepare("SELECT id, config, starts FROM accounts ORDER BY id")
            .map_err(io)?;
        let accounts = q
            .query_map([], |r| {
                Ok(StoredAccount {
                    id: r.get::<_, i64>(0)? as u64,
                    config: r.get(1)?,
                    starts: r.get::<_, i64>(2)? as u64,
                    rows: Vec::new(),
                })
            })
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        let mut rows = conn
            .prepare("SELECT kind, data FROM rows WHERE account = ?1 ORDER BY rowid")
            .map_err(io)?;
        for mut a in accounts {
            a.rows = rows
                .query_map([a.id as i64], |r| Ok((r.get::<_, u8>(0)?, r.get(1)?)))
                .map_err(io)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(io)?;
            out.accounts.push(a);
        }
        out.sessions = conn
            .prepare("SELECT data FROM sessions ORDER BY seq")
            .map_err(io)?
            .query_map([], |r| r.get(0))
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        out.objects = conn
            .prepare("SELECT bucket, key, data FROM objects")
            .map_err(io)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        out.uploads = conn
            .prepare("SELECT id, data FROM uploads")
            .map_err(io)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        out.parts = conn
            .prepare("SELECT upload, number, data FROM parts")
            .map_err(io)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        out.meta = conn
            .prepare("SELECT key, value FROM meta")
            .map_err(io)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(io)?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(io)?;
        Ok(out)
    }
}
