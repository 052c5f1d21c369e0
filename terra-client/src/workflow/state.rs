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
                let changes =
                    differences((&input, job_type, &name, &parameters), (i2, *t2, n2, p2));
                if !changes.is_empty() {
                    let rest: Vec<Entry> = lines.collect();
                    if rest.iter().all(|e| matches!(e, Entry::Begin { .. })) {
                        // Nothing was uploaded or created under the old settings: start
                        // afresh with the new ones.
                        s.file.set_len(0).map_err(|e| io("rewrite", &s.path, e))?;
                        s.record(&begin)?;
                        return Ok(s);
                    }
                    return Err(Error::new(
                        ErrorKind::Input,
                        format!(
                            "{} holds an earlier run with other settings ({}) that already uploaded or created something; use --fresh to start over there, or choose another output folder",
                            out.display(),
                            changes.join("; ")
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

/// What differs between an earlier run's settings and these, for a person: `what: old →
/// new`, parameters key by key.
fn differences(
    (input, job_type, name, parameters): (&String, i64, &String, &String),
    (i2, t2, n2, p2): (&String, i64, &String, &String),
) -> Vec<String> {
    let mut out = Vec::new();
    if input != i2 {
        out.push(format!("input: {input} → {i2}"));
    }
    if job_type != t2 {
        out.push(format!("job type: {job_type} → {t2}"));
    }
    if name != n2 {
        out.push(format!("name: {name:?} → {n2:?}"));
    }
    if parameters != p2 {
        let flat = |s: &str| {
            let mut m = std::collections::BTreeMap::new();
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
                flatten("", &v, &mut m);
            }
            m
        };
        let (a, b) = (flat(parameters), flat(p2));
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            let (x, y) = (a.get(k), b.get(k));
            if x != y {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(unset)".into());
                out.push(format!("{k}: {} → {}", show(x), show(y)));
            }
        }
    }
    out
}

fn flatten(
    prefix: &str,
    v: &serde_json::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    match v {
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
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

    fn other(parameters: &str) -> Entry {
        Entry::Begin {
            run: "x".into(),
            input: "/elsewhere".into(),
            job_type: 14,
            name: "n".into(),
            parameters: parameters.into(),
        }
    }

    #[test]
    fn refuses_another_run_that_did_something_naming_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(dir.path(), false, begin("r1")).unwrap();
        s.record(&Entry::Resource { uuid: "res".into() }).unwrap();
        drop(s);
        let changed = other(r#"{"parameter":{"generate_obj":true}}"#);
        let e = State::open(dir.path(), false, changed.clone()).unwrap_err();
        let text = e.to_string();
        for part in [
            "input: /in → /elsewhere",
            "job type: 15 → 14",
            "parameter.generate_obj: (unset) → true",
            "--fresh",
        ] {
            assert!(text.contains(part), "{part} missing: {text}");
        }
        assert!(!text.contains("name:"), "the name did not change: {text}");
        assert_eq!(State::open(dir.path(), true, changed).unwrap().run, "x");
    }

    #[test]
    fn a_run_that_did_nothing_yet_is_replaced_by_the_new_settings() {
        let dir = tempfile::tempdir().unwrap();
        State::open(dir.path(), false, begin("r1")).unwrap();
        let s = State::open(dir.path(), false, other("{}")).unwrap();
        assert_eq!(s.run, "x", "started afresh by itself");
        drop(s);
        // The journal now holds the new run only: opening it again resumes that one.
        let again = State::open(dir.path(), false, other("{}")).unwrap();
        assert_eq!(again.run, "x");
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
