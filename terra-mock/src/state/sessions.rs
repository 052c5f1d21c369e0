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

use super::{AccountCell, random_token};
use crate::config::{MockConfig, Provider};

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
}

/// The registry of sessions and grants.
#[derive(Debug, Default)]
pub(crate) struct Sessions(RwLock<Inner>);

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64
}

impl Inner {
    /// Drops one part of an issue; reports the grant's prefix when the grant goes.
    fn drop_part(&mut self, seq: u64, part: Part, out: &mut Vec<Dropped>) {
        let Some(issue) = self.issues.get_mut(&seq) else {
            return;
        };
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
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
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
        for s in self.write().sessions.values_mut() {
            s.expires = s.expires.min(now);
        }
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

    /// Sessions and grants of one account.
    pub(crate) fn count_for(&self, app_key: &str) -> usize {
        self.read().by_account.get(app_key).map_or(0, BTreeSet::len)
    }
}
