//! STS sessions and callback grants issued by `obtain_token`, with their expiry.
//!
//! A session (access key, secret, token) lets its holder write under one `storePath` prefix
//! until it expires; its grant (the `callbackParam`) lets the account register what was
//! written there. Both are kept a grace period past their expiry (so that a late client is
//! told "expired" rather than "unknown"), then dropped; an account holds at most
//! [`MockConfig::max_sessions_per_account`] of them, the oldest going first. When a grant
//! goes, whatever was uploaded under its prefix and never registered can no longer be, and
//! is deleted, like a lifecycle rule on the bucket's `tmp/` prefix.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use terra_types::{CloudName, Secret, StsToken};
use uuid::Uuid;

use super::rows::{SessionRow, at, ms};
use super::{AccountCell, random_token};
use crate::config::{MockConfig, Provider};
use crate::persist::Db;

/// STS credentials issued by `obtain_token`, checked by the storage endpoints.
#[derive(Debug, Clone)]
pub(crate) struct StsSession {
    /// Secret access key.
    pub secret: Arc<str>,
    /// Session token.
    pub token: Arc<str>,
    /// Keys must start with this (`storePath` before `{fileName}`).
    pub prefix: Arc<str>,
    /// The storage the session may write to (its bucket).
    pub provider: Provider,
    /// Expiry on the mock's clock.
    pub expires: SystemTime,
}

/// A `callbackParam` issued by `obtain_token`.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub app_key: Arc<str>,
    pub prefix: Arc<str>,
    pub expires: SystemTime,
}

/// A grant that was dropped: objects under its prefix that no file points at can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub app_key: Arc<str>,
    pub prefix: Arc<str>,
}

#[derive(Debug)]
struct Issue {
    app_key: Arc<str>,
    access_key: Arc<str>,
    callback: Arc<str>,
    session_live: bool,
    grant_live: bool,
    /// The keys of its two expiry entries.
    session_due: SystemTime,
    grant_due: SystemTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Session,
    Grant,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<Arc<str>, StsSession>,
    /// Session tokens (to tell a token of another session from garbage).
    tokens: std::collections::HashSet<Arc<str>>,
    grants: HashMap<Arc<str>, Grant>,
    issues: HashMap<u64, Issue>,
    /// Issues per account, oldest first (for the cap).
    by_account: HashMap<Arc<str>, BTreeSet<u64>>,
    /// When each part may be dropped.
    expiry: BTreeMap<(SystemTime, u64, Part), ()>,
    seq: u64,
    /// Issues changed since the last write to the database.
    changed: Vec<u64>,
}

/// The registry of sessions and grants.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    inner: RwLock<Inner>,
    /// Where issues are kept, when the mock is persistent.
    db: Option<Arc<Db>>,
}

/// The registry, locked for writing: with persistence on, the issues changed while it was
/// held are written when it is let go.
struct WriteGuard<'a> {
    inner: std::sync::RwLockWriteGuard<'a, Inner>,
    db: Option<&'a Db>,
}

impl std::ops::Deref for WriteGuard<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl std::ops::DerefMut for WriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut changed = std::mem::take(&mut self.inner.changed);
        let Some(db) = self.db else { return };
        changed.sort_unstable();
        changed.dedup();
        let mut gone = Vec::new();
        let mut failed = Vec::new();
        for seq in changed {
            match self.inner.row(seq) {
                Some(row) => {
                    if db
                        .put_session(seq, &serde_json::to_string(&row).unwrap_or_default())
                        .is_err()
                    {
                        failed.push(seq);
                    }
                }
                None => gone.push(seq),
            }
        }
        if db.delete_sessions(&gone).is_err() {
            failed.extend(gone);
        }
        // Not kept: written again with the next change of the sessions.
        self.inner.changed.extend(failed);
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64
}

impl Inner {
    /// The stored form of an issue, unless it is gone.
    fn row(&self, seq: u64) -> Option<SessionRow> {
        let issue = self.issues.get(&seq)?;
        let session = self
            .sessions
            .get(&issue.access_key)
            .filter(|_| issue.session_live);
        let grant = self
            .grants
            .get(&issue.callback)
            .filter(|_| issue.grant_live);
        Some(SessionRow {
            seq,
            app_key: issue.app_key.to_string(),
            access_key: issue.access_key.to_string(),
            secret: session.map(|s| s.secret.to_string()).unwrap_or_default(),
            token: session.map(|s| s.token.to_string()).unwrap_or_default(),
            prefix: grant
                .map(|g| g.prefix.to_string())
                .or_else(|| session.map(|s| s.prefix.to_string()))
                .unwrap_or_default(),
            provider: session.map(|s| s.provider).unwrap_or_default(),
            expires_ms: session.map_or(0, |s| ms(s.expires)),
            callback: issue.callback.to_string(),
            grant_expires_ms: grant.map_or(0, |g| ms(g.expires)),
            session_live: issue.session_live,
            grant_live: issue.grant_live,
        })
    }

    /// Puts a stored issue back (at start, or on import).
    fn restore(&mut self, r: SessionRow, grace: Duration) {
        let app_key: Arc<str> = r.app_key.as_str().into();
        let (ak, cb): (Arc<str>, Arc<str>) =
            (r.access_key.as_str().into(), r.callback.as_str().into());
        let prefix: Arc<str> = r.prefix.as_str().into();
        let (expires, grant_expires) = (at(r.expires_ms), at(r.grant_expires_ms));
        if r.session_live {
            let token: Arc<str> = r.token.as_str().into();
            self.tokens.insert(token.clone());
            self.sessions.insert(
                ak.clone(),
                StsSession {
                    secret: r.secret.as_str().into(),
                    token,
                    prefix: prefix.clone(),
                    provider: r.provider,
                    expires,
                },
            );
            self.expiry
                .insert((expires + grace, r.seq, Part::Session), ());
        }
        if r.grant_live {
            self.grants.insert(
                cb.clone(),
                Grant {
                    app_key: app_key.clone(),
                    prefix,
                    expires: grant_expires,
                },
            );
            self.expiry
                .insert((grant_expires + grace, r.seq, Part::Grant), ());
        }
        self.issues.insert(
            r.seq,
            Issue {
                app_key: app_key.clone(),
                access_key: ak,
                callback: cb,
                session_live: r.session_live,
                grant_live: r.grant_live,
                session_due: expires + grace,
                grant_due: grant_expires + grace,
            },
        );
        self.by_account.entry(app_key).or_default().insert(r.seq);
        self.seq = self.seq.max(r.seq);
    }

    /// Drops one part of an issue; reports the grant's prefix when the grant goes.
    fn drop_part(&mut self, seq: u64, part: Part, out: &mut Vec<Dropped>) {
        let Some(issue) = self.issues.get_mut(&seq) else {
            return;
        };
        self.changed.push(seq);
        match part {
            Part::Session if issue.session_live => {
                issue.session_live = false;
                if let Some(s) = self.sessions.remove(&issue.access_key) {
                    self.tokens.remove(&s.token);
                }
            }
            Part::Grant if issue.grant_live => {
                issue.grant_live = false;
                if let Some(g) = self.grants.remove(&issue.callback) {
                    out.push(Dropped {
                        app_key: g.app_key,
                        prefix: g.prefix,
                    });
                }
            }
            _ => {}
        }
        if !issue.session_live && !issue.grant_live {
            let issue = self.issues.remove(&seq).expect("present");
            if let Some(set) = self.by_account.get_mut(&issue.app_key) {
                set.remove(&seq);
                if set.is_empty() {
                    self.by_account.remove(&issue.app_key);
                }
            }
        }
    }

    /// Drops a whole issue (both parts) and its expiry entries.
    fn drop_issue(&mut self, seq: u64, out: &mut Vec<Dropped>) {
        if let Some(i) = self.issues.get(&seq) {
            let (a, b) = (i.session_due, i.grant_due);
            self.expiry.remove(&(a, seq, Part::Session));
            self.expiry.remove(&(b, seq, Part::Grant));
        }
        self.drop_part(seq, Part::Session, out);
        self.drop_part(seq, Part::Grant, out);
    }

    fn prune(&mut self, now: SystemTime, out: &mut Vec<Dropped>) {
        let mut dropped = false;
        while let Some(entry) = self.expiry.first_entry() {
            let (at, seq, part) = *entry.key();
            if at > now {
                break;
            }
            entry.remove();
            self.drop_part(seq, part, out);
            dropped = true;
        }
        if dropped {
            self.shrink();
        }
    }

    /// Gives memory back after a peak: a map at a quarter of its capacity halves it.
    fn shrink(&mut self) {
        fn fit<K: std::hash::Hash + Eq, V>(m: &mut HashMap<K, V>) {
            if m.capacity() > 1024 && m.len() * 4 < m.capacity() {
                m.shrink_to(m.len() * 2);
            }
        }
        fit(&mut self.sessions);
        fit(&mut self.grants);
        fit(&mut self.issues);
        if self.tokens.capacity() > 1024 && self.tokens.len() * 4 < self.tokens.capacity() {
            self.tokens.shrink_to(self.tokens.len() * 2);
        }
    }
}

impl Sessions {
    /// A registry holding the stored issues (`rows`, as JSON).
    pub(crate) fn new(
        db: Option<Arc<Db>>,
        rows: &[String],
        grace: Duration,
    ) -> std::io::Result<Self> {
        let mut inner = Inner::default();
        for r in rows {
            let row: SessionRow = serde_json::from_str(r).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("a stored STS session is unreadable: {e}"),
                )
            })?;
            inner.restore(row, grace);
        }
        Ok(Self {
            inner: RwLock::new(inner),
            db,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> WriteGuard<'_> {
        WriteGuard {
            inner: self.inner.write().unwrap_or_else(|e| e.into_inner()),
            db: self.db.as_deref(),
        }
    }

    /// Every issue in its stored form (an export).
    pub(crate) fn rows(&self) -> Vec<SessionRow> {
        let inner = self.read();
        let mut seqs: Vec<u64> = inner.issues.keys().copied().collect();
        seqs.sort_unstable();
        seqs.into_iter().filter_map(|s| inner.row(s)).collect()
    }

    /// Replaces every issue with `rows` (an import), in memory only: their rows are
    /// written already.
    pub(crate) fn swap_in(&self, rows: Vec<SessionRow>, grace: Duration) {
        let mut inner = self.write();
        *inner = Inner::default();
        for r in rows {
            inner.restore(r, grace);
        }
    }

    /// `obtain_token`: new credentials and a grant for a new prefix of the account. Also
    /// drops what has expired past the grace period and what the account's cap pushes out;
    /// those prefixes are returned for cleanup.
    pub(crate) fn issue(
        &self,
        account: &AccountCell,
        cfg: &MockConfig,
        now: SystemTime,
    ) -> (StsToken, Vec<Dropped>) {
        let bucket = match account.provider {
            Provider::S3 => &cfg.s3,
            Provider::Oss => &cfg.oss,
        };
        let session_id = Uuid::new_v4().simple().to_string();
        let prefix: Arc<str> = format!("{}/tmp/{session_id}/", account.id).into();
        let callback_param = {
            use base64::Engine as _;
            let payload = serde_json::json!({"storePath": format!("{prefix}{{fileName}}"), "nonce": random_token(12)});
            base64::engine::general_purpose::STANDARD.encode(payload.to_string())
        };
        let access_key_id = match account.provider {
            Provider::S3 => format!(
                "ASIA{}",
                &Uuid::new_v4().simple().to_string()[..16].to_uppercase()
            ),
            Provider::Oss => format!("STS.{}", random_token(18)),
        };
        let secret = random_token(30);
        let token = random_token(96);
        let lifetime = account
            .token_lifetime_secs
            .unwrap_or(cfg.token_lifetime_secs);
        let expires = now + Duration::from_secs(lifetime);
        let grant_expires = now + Duration::from_secs(cfg.callback_param_ttl_secs);
        let grace = Duration::from_secs(cfg.session_grace_secs);
        let app_key: Arc<str> = account.app_key.as_str().into();

        let mut dropped = Vec::new();
        {
            let mut s = self.write();
            s.prune(now, &mut dropped);
            s.seq += 1;
            let seq = s.seq;
            let (ak, tok, cb): (Arc<str>, Arc<str>, Arc<str>) = (
                access_key_id.as_str().into(),
                token.as_str().into(),
                callback_param.as_str().into(),
            );
            s.sessions.insert(
                ak.clone(),
                StsSession {
                    secret: secret.as_str().into(),
                    token: tok.clone(),
                    prefix: prefix.clone(),
                    provider: account.provider,
                    expires,
                },
            );
            s.tokens.insert(tok);
            s.grants.insert(
                cb.clone(),
                Grant {
                    app_key: app_key.clone(),
                    prefix: prefix.clone(),
                    expires: grant_expires,
                },
            );
            s.issues.insert(
                seq,
                Issue {
                    app_key: app_key.clone(),
                    access_key: ak,
                    callback: cb,
                    session_live: true,
                    grant_live: true,
                    session_due: expires + grace,
                    grant_due: grant_expires + grace,
                },
            );
            s.expiry.insert((expires + grace, seq, Part::Session), ());
            s.expiry
                .insert((grant_expires + grace, seq, Part::Grant), ());
            s.changed.push(seq);
            let set = s.by_account.entry(app_key).or_default();
            set.insert(seq);
            let cap = cfg.max_sessions_per_account.max(1);
            let excess: Vec<u64> = if set.len() > cap {
                set.iter().take(set.len() - cap).copied().collect()
            } else {
                Vec::new()
            };
            for old in excess {
                s.drop_issue(old, &mut dropped);
            }
        }
        let cloud_name = match (account.provider, cfg.lowercase_cloud_name) {
            (Provider::S3, false) => CloudName::AwsS3,
            (Provider::Oss, false) => CloudName::AliOss,
            (Provider::S3, true) => CloudName::Unknown("aws_s3".into()),
            (Provider::Oss, true) => CloudName::Unknown("ali_oss".into()),
        };
        let token = StsToken {
            cloud_name,
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: Secret::new(token),
            region: bucket.region.clone(),
            cloud_bucket_name: bucket.bucket.clone(),
            store_path: format!("{prefix}{}", terra_types::FILE_NAME_PLACEHOLDER),
            callback_param,
            expire_time: unix(expires),
        };
        (token, dropped)
    }

    /// The session of an access key, unless it was dropped (or is past its grace period).
    pub(crate) fn session(
        &self,
        access_key: &str,
        now: SystemTime,
        grace: Duration,
    ) -> Option<StsSession> {
        self.read()
            .sessions
            .get(access_key)
            .filter(|s| now < s.expires + grace)
            .cloned()
    }

    /// Whether some session has this token (a token of another session, rather than garbage).
    pub(crate) fn token_known(&self, token: &str) -> bool {
        self.read().tokens.contains(token)
    }

    /// The grant of a `callbackParam`, unless it was dropped.
    pub(crate) fn grant(&self, callback_param: &str) -> Option<Grant> {
        self.read().grants.get(callback_param).cloned()
    }

    /// Makes every session expire now (the harness's "expire tokens").
    pub(crate) fn expire_all(&self, now: SystemTime) {
        let mut inner = self.write();
        for s in inner.sessions.values_mut() {
            s.expires = s.expires.min(now);
        }
        let seqs: Vec<u64> = inner.issues.keys().copied().collect();
        inner.changed.extend(seqs);
    }

    /// Drops what has expired past the grace period; returns the grants' prefixes.
    pub(crate) fn prune(&self, now: SystemTime) -> Vec<Dropped> {
        let mut out = Vec::new();
        let due = self
            .read()
            .expiry
            .first_key_value()
            .is_some_and(|((at, _, _), ())| *at <= now);
        if due {
            self.write().prune(now, &mut out);
        }
        out
    }

    /// Forgets every session and grant of an account (deleted or reset).
    pub(crate) fn remove_account(&self, app_key: &str) {
        let mut s = self.write();
        let seqs: Vec<u64> = s
            .by_account
            .get(app_key)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        let mut dropped = Vec::new();
        for seq in seqs {
            s.drop_issue(seq, &mut dropped);
        }
        s.shrink();
    }

    /// Forgets every session and grant.
    pub(crate) fn clear(&self) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Inner::default();
        if let Some(db) = &self.db {
            let _ = db.clear_sessions();
        }
    }

    /// Sessions remembered, every account.
    pub(crate) fn len(&self) -> usize {
        self.read().sessions.len()
    }

    /// Sessions and grants of one account.
    pub(crate) fn count_for(&self, app_key: &str) -> usize {
        self.read().by_account.get(app_key).map_or(0, BTreeSet::len)
    }
}
