//! The resume journal: one JSON line per completed step, appended to
//! `<output>/.terra-state.jsonl`. Appending (rather than rewriting a document) keeps the
//! cost per uploaded file constant; a line torn by a crash is ignored on replay.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use terra_store::TokenRef;

use crate::error::{Error, ErrorKind, Result};

/// The journal's file name inside the output folder.
pub const STATE_FILE: &str = ".terra-state.jsonl";

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// What this output folder is for; the first line.
    Begin {
        run: String,
        input: String,
        job_type: i64,
        name: String,
        parameters: String,
    },
    Uploaded {
        name: String,
        size: u64,
        mtime: u64,
        etag: String,
        token: TokenRef,
    },
    /// Uploads whose token can no longer register them; they are uploaded again.
    Stale {
        names: Vec<String>,
    },
    Resource {
        uuid: String,
    },
    Registered {
        names: Vec<String>,
    },
    Job {
        uuid: String,
    },
    Started,
    Finished {
        output: String,
    },
    Downloaded {
        name: String,
        size: u64,
    },
}

/// A file uploaded in this run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UploadRec {
    pub size: u64,
    pub mtime: u64,
    pub etag: String,
    pub token: TokenRef,
}

/// The replayed journal.
#[derive(Debug)]
pub(crate) struct State {
    path: PathBuf,
    file: std::fs::File,
    pub run: String,
    pub uploaded: HashMap<String, UploadRec>,
    pub resource: Option<String>,
    pub registered: HashSet<String>,
    pub job: Option<String>,
    pub started: bool,
    pub output: Option<String>,
    pub downloaded: HashMap<String, u64>,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Input,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

impl State {
    /// Opens (or, with `fresh`, restarts) the journal of `out`. An existing journal must be
    /// for the same input, job type and parameters.
    pub(crate) fn open(out: &Path, fresh: bool, begin: Entry) -> Result<Self> {
        let path = out.join(STATE_FILE);
        if fresh && path.exists() {
            std::fs::remove_file(&path).map_err(|e| io("remove", &path, e))?;
        }
        let existing = if path.exists() {
            std::fs::read_to_string(&path).map_err(|e| io("read", &path, e))?
        } else {
            String::new()
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io("open", &path, e))?;
        let Entry::Begin { run, .. } = &begin else {
            unreachable!("open is called with a Begin entry")
        };
        let mut s = Self {
            path,
            file,
            run: run.clone(),
            uploaded: HashMap::new(),
            resource: None,
            registered: HashSet::new(),
            job: None,
            started: false,
            output: None,
            downloaded: HashMap::new(),
        };
        let mut lines = existing
            .lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok());
        match lines.next() {
            None => s.record(&begin)?,
            Some(Entry::Begin {
                run,
                input,
                job_type,
                name,
                parameters,
            }) => {
                let Entry::Begin {
                    input: i2,
                    job_type: t2,
                    name: n2,
                    parameters: p2,
                    ..
                } = &begin
                else {
                    unreachable!()
                };
                if (&input, job_type, &name, &parameters) != (i2, *t2, n2, p2) {
                    return Err(Error::new(
                        ErrorKind::Input,
                        format!(
                            "{} holds another run (input {input}, type {job_type}, name {name:?}); use --fresh to start over there, or choose another output folder",
                            out.display()
                        ),
                    ));
                }
                s.run = run;
                for e in lines {
                    s.apply(e);
                }
            }
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "{} is not a terra-rs journal; remove it or use --fresh",
                        s.path.display()
                    ),
                ));
            }
        }
        Ok(s)
    }

    fn apply(&mut self, e: Entry) {
        match e {
            Entry::Begin { .. } => {}
            Entry::Uploaded {
                name,
                size,
                mtime,
                etag,
                token,
            } => {
                self.uploaded.insert(
                    name,
                    UploadRec {
                        size,
                        mtime,
                        etag,
                        token,
                    },
                );
            }
            Entry::Stale { names } => {
                for n in names {
                    self.uploaded.remove(&n);
                }
            }
            Entry::Resource { uuid } => self.resource = Some(uuid),
            Entry::Registered { names } => self.registered.extend(names),
            Entry::Job { uuid } => self.job = Some(uuid),
            Entry::Started => self.started = true,
            Entry::Finished { output } => self.output = Some(output),
            Entry::Downloaded { name, size } => {
                self.downloaded.insert(name, size);
            }
        }
    }

    /// Appends an entry (and applies it).
    pub(crate) fn record(&mut self, e: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(e).map_err(|err| {
            Error::new(
                ErrorKind::Input,
                format!("cannot encode the journal: {err}"),
            )
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|err| io("write", &self.path, err))?;
        self.apply(e.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(run: &str) -> Entry {
        Entry::Begin {
            run: run.into(),
            input: "/in".into(),
            job_type: 15,
            name: "n".into(),
            parameters: "{}".into(),
        }
    }

    #[test]
    fn replays_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(dir.path(), false, begin("r1")).unwrap();
        s.record(&Entry::Resource { uuid: "res".into() }).unwrap();
        s.record(&Entry::Registered {
            names: vec!["a".into()],
        })
        .unwrap();
        drop(s);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(STATE_FILE))
            .unwrap();
        f.write_all(b"{\"step\":\"job\",\"uu").unwrap();
        let s = State::open(dir.path(), false, begin("r2")).unwrap();
        assert_eq!(
            (s.run.as_str(), s.resource.as_deref(), s.job.as_deref()),
            ("r1", Some("res"), None)
        );
        assert!(s.registered.contains("a"));
    }

    #[test]
    fn refuses_another_run_unless_fresh() {
        let dir = tempfile::tempdir().unwrap();
        State::open(dir.path(), false, begin("r1")).unwrap();
        let other = Entry::Begin {
            run: "x".into(),
            input: "/elsewhere".into(),
            job_type: 15,
            name: "n".into(),
            parameters: "{}".into(),
        };
        let e = State::open(dir.path(), false, other.clone()).unwrap_err();
        assert!(e.to_string().contains("--fresh"), "{e}");
        assert_eq!(State::open(dir.path(), true, other).unwrap().run, "x");
    }
}
