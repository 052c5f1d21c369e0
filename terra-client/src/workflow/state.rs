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
    /// The service and account this journal belongs to (after `Begin`; again when the
    /// storage provider and bucket become known). Journals of older versions have none.
    Service(Binding),
    /// Uploads whose token can no longer register them; they are uploaded again.
    Stale {
        names: Vec<String>,
    },
    /// Registered files the service's resource no longer holds: uploaded and registered
    /// again.
    Missing {
        names: Vec<String>,
    },
    /// The recorded resource is gone from the service: everything is uploaded and
    /// registered again, into a new one.
    ResourceGone,
    /// The recorded job is gone from the service: a new one is created.
    JobGone,
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

/// Which service and account a journal was written against. The account is named by a
/// digest of its app key and the key's first characters, never by the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Binding {
    /// The API endpoint (`https://openapi-us.dji.com`, or an emulator's URL).
    pub endpoint: String,
    /// `AKID…` plus the first 16 hex digits of the app key's SHA-256.
    pub account: String,
    /// The storage endpoint override, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_endpoint: Option<String>,
    /// `cloudName` of the tokens (`AWS_S3`, `ALI_OSS`), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `cloudBucketName` of the tokens, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

impl Binding {
    /// The binding of a client talking to `endpoint` with `app_key`.
    pub(crate) fn new(endpoint: &str, app_key: &str, storage_endpoint: Option<&str>) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(app_key.as_bytes());
        let hint: String = app_key.chars().take(4).collect();
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            account: format!("{hint}… (sha256 {})", &hex_of(&digest)[..16]),
            storage_endpoint: storage_endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            provider: None,
            bucket: None,
        }
    }

    /// For a person: `openapi-us.dji.com, account AKID… (sha256 …)`.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("{}, account {}", self.endpoint, self.account);
        if let Some(e) = &self.storage_endpoint {
            s.push_str(&format!(", storage {e}"));
        }
        if let (Some(p), Some(b)) = (&self.provider, &self.bucket) {
            s.push_str(&format!(", bucket {b} ({p})"));
        }
        s
    }

    /// What differs from `other`, where both know it.
    fn conflicts(&self, other: &Binding) -> bool {
        let differ = |a: &Option<String>, b: &Option<String>| a.is_some() && b.is_some() && a != b;
        self.endpoint != other.endpoint
            || self.account != other.account
            || self.storage_endpoint != other.storage_endpoint
            || differ(&self.provider, &other.provider)
            || differ(&self.bucket, &other.bucket)
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    /// The service the journal belongs to, when it says.
    pub binding: Option<Binding>,
    /// An earlier run did something (the journal holds more than its first line).
    pub resumed: bool,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Input,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

impl State {
    /// Opens (or, with `fresh`, restarts) the journal of `out`. An existing journal must be
    /// for the same input, job type and parameters, and for the same service and account
    /// as `binding` (a journal that does not say which is taken as unknown: the caller
    /// checks what it records against the service before skipping anything).
    pub(crate) fn open(out: &Path, fresh: bool, begin: Entry, binding: &Binding) -> Result<Self> {
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
            binding: None,
            resumed: false,
        };
        let mut lines = existing
            .lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok());
        match lines.next() {
            None => {
                s.record(&begin)?;
                s.record(&Entry::Service(binding.clone()))?;
            }
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
                    if rest
                        .iter()
                        .all(|e| matches!(e, Entry::Begin { .. } | Entry::Service(_)))
                    {
                        // Nothing was uploaded or created under the old settings: start
                        // afresh with the new ones.
                        s.file.set_len(0).map_err(|e| io("rewrite", &s.path, e))?;
                        s.record(&begin)?;
                        s.record(&Entry::Service(binding.clone()))?;
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
                    s.resumed |= !matches!(e, Entry::Begin { .. } | Entry::Service(_));
                    s.apply(e);
                }
                match &s.binding {
                    // Nothing was done against the other service: start afresh here.
                    Some(old) if old.conflicts(binding) && !s.resumed => {
                        s.file.set_len(0).map_err(|e| io("rewrite", &s.path, e))?;
                        s.binding = None;
                        if let Entry::Begin { run, .. } = &begin {
                            s.run = run.clone();
                        }
                        s.record(&begin)?;
                        s.record(&Entry::Service(binding.clone()))?;
                    }
                    Some(old) if old.conflicts(binding) => {
                        return Err(Self::foreign(out, old, binding));
                    }
                    Some(_) => {}
                    // A journal of an older version: bound from now on.
                    None => s.record(&Entry::Service(binding.clone()))?,
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

    /// The refusal of a journal written against another service or account.
    pub(crate) fn foreign(out: &Path, old: &Binding, now: &Binding) -> Error {
        Error::new(
            ErrorKind::Input,
            format!(
                "{} holds a run made against {}; this run is against {}. Resuming would \
                 skip work that service never saw: start over there with --fresh, or \
                 choose another output folder (--out; --journal for terra upload). Nothing \
                 was sent",
                out.display(),
                old.describe(),
                now.describe()
            ),
        )
    }

    /// Records the storage the service's tokens are for; refuses a journal whose earlier
    /// run used other storage.
    pub(crate) fn bind_storage(&mut self, out: &Path, provider: &str, bucket: &str) -> Result<()> {
        let Some(current) = self.binding.clone() else {
            return Ok(());
        };
        let mut now = current.clone();
        now.provider = Some(provider.to_owned());
        now.bucket = Some(bucket.to_owned());
        if current.conflicts(&now) {
            return Err(Self::foreign(out, &current, &now));
        }
        if now != current {
            self.record(&Entry::Service(now))?;
        }
        Ok(())
    }

    fn apply(&mut self, e: Entry) {
        match e {
            Entry::Begin { .. } => {}
            Entry::Service(b) => self.binding = Some(b),
            Entry::Missing { names } => {
                for n in &names {
                    self.registered.remove(n);
                    self.uploaded.remove(n);
                }
            }
            Entry::ResourceGone => {
                self.resource = None;
                self.registered.clear();
                self.uploaded.clear();
            }
            Entry::JobGone => {
                self.job = None;
                self.started = false;
                self.output = None;
            }
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

    fn here() -> Binding {
        Binding::new("http://127.0.0.1:1", "test-ak", None)
    }

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
        let mut s = State::open(dir.path(), false, begin("r1"), &here()).unwrap();
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
        let s = State::open(dir.path(), false, begin("r2"), &here()).unwrap();
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
        let mut s = State::open(dir.path(), false, begin("r1"), &here()).unwrap();
        s.record(&Entry::Resource { uuid: "res".into() }).unwrap();
        drop(s);
        let changed = other(r#"{"parameter":{"generate_obj":true}}"#);
        let e = State::open(dir.path(), false, changed.clone(), &here()).unwrap_err();
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
        assert_eq!(
            State::open(dir.path(), true, changed, &here()).unwrap().run,
            "x"
        );
    }

    #[test]
    fn a_run_that_did_nothing_yet_is_replaced_by_the_new_settings() {
        let dir = tempfile::tempdir().unwrap();
        State::open(dir.path(), false, begin("r1"), &here()).unwrap();
        let s = State::open(dir.path(), false, other("{}"), &here()).unwrap();
        assert_eq!(s.run, "x", "started afresh by itself");
        drop(s);
        // The journal now holds the new run only: opening it again resumes that one.
        let again = State::open(dir.path(), false, other("{}"), &here()).unwrap();
        assert_eq!(again.run, "x");
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert_eq!(
            text.lines().count(),
            2,
            "its Begin and Service lines: {text}"
        );
    }

    #[test]
    fn a_journal_belongs_to_its_service_and_account() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(dir.path(), false, begin("r1"), &here()).unwrap();
        s.record(&Entry::Resource { uuid: "res".into() }).unwrap();
        drop(s);
        for other in [
            Binding::new("http://127.0.0.1:2", "test-ak", None),
            Binding::new("http://127.0.0.1:1", "other-ak", None),
            Binding::new("http://127.0.0.1:1", "test-ak", Some("http://storage")),
        ] {
            let e = State::open(dir.path(), false, begin("r2"), &other).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Input);
            let text = e.to_string();
            assert!(
                text.contains(&here().describe()) && text.contains(&other.describe()),
                "{text}"
            );
            assert!(!text.contains("test-ak"), "a digest, not the key: {text}");
        }
        // The same service resumes, and the storage is bound once known.
        let mut s = State::open(dir.path(), false, begin("r2"), &here()).unwrap();
        assert_eq!((s.run.as_str(), s.resumed), ("r1", true));
        s.bind_storage(dir.path(), "AWS_S3", "bucket-a").unwrap();
        let e = s
            .bind_storage(dir.path(), "ALI_OSS", "bucket-b")
            .unwrap_err();
        assert!(e.to_string().contains("bucket-a"), "{e}");
    }

    #[test]
    fn the_account_is_named_by_a_digest_never_the_whole_key() {
        let b = Binding::new("https://openapi-us.dji.com/", "AKIDsecretish123", None);
        assert_eq!(b.endpoint, "https://openapi-us.dji.com");
        assert!(b.account.starts_with("AKID… (sha256 "), "{}", b.account);
        assert!(!b.account.contains("secretish"), "{}", b.account);
        assert_ne!(
            b.account,
            Binding::new("x", "AKIDsecretish124", None).account
        );
    }
}
