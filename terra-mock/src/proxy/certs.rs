//! The TLS side of the proxy's tunnels: one bounded cache of TLS configurations, each
//! holding the leaf certificate of one host name, least recently used evicted first.
//!
//! A configuration is made per name (its certificate resolver answers that one leaf);
//! every configuration shares one session cache, so resumption works across them and the
//! memory of a name is its leaf and a small configuration. At the cap, a new name evicts
//! the name used longest ago; a leaf is renewed when half its life has passed. Whatever
//! the number of names clients send (20 000 random bucket names, or one per handshake),
//! the cache holds at most its capacity.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;

use super::ca::{Authority, LEAF_LIFETIME};

/// A least-recently-used map of bounded size.
#[derive(Debug)]
pub(crate) struct Lru<V> {
    cap: usize,
    tick: u64,
    map: HashMap<String, (u64, V)>,
    order: BTreeMap<u64, String>,
}

impl<V: Clone> Lru<V> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            tick: 0,
            map: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The value of `key`, marked as just used.
    pub(crate) fn get(&mut self, key: &str) -> Option<V> {
        self.tick += 1;
        let (t, v) = self.map.get_mut(key)?;
        self.order.remove(t);
        *t = self.tick;
        self.order.insert(self.tick, key.to_owned());
        Some(v.clone())
    }

    /// Inserts (or replaces) `key`, evicting the least recently used beyond the capacity.
    pub(crate) fn insert(&mut self, key: &str, value: V) {
        self.tick += 1;
        if let Some((t, _)) = self.map.remove(key) {
            self.order.remove(&t);
        }
        self.map.insert(key.to_owned(), (self.tick, value));
        self.order.insert(self.tick, key.to_owned());
        while self.map.len() > self.cap {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.map.remove(&oldest);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Answers every handshake of a configuration with its one leaf.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// The configurations of the proxy's tunnels, by host name.
pub(crate) struct Certs {
    ca: Arc<Authority>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    sessions: Arc<dyn StoresServerSessions>,
    cache: Mutex<Lru<(Instant, Arc<ServerConfig>)>>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certs")
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

impl Certs {
    /// At most `cap` names cached.
    pub(crate) fn new(ca: Arc<Authority>, cap: usize) -> Self {
        Self {
            ca,
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            sessions: rustls::server::ServerSessionMemoryCache::new(1024),
            cache: Mutex::new(Lru::new(cap)),
        }
    }

    /// How many names are cached.
    pub(crate) fn cached(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The configuration of a tunnel to `name` (an emulated DNS name): cached, or made
    /// now with a new leaf.
    pub(crate) fn config(&self, name: &str) -> std::io::Result<Arc<ServerConfig>> {
        if let Some((at, cfg)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            && at.elapsed() < LEAF_LIFETIME / 2
        {
            return Ok(cfg);
        }
        // Issued outside the lock: other handshakes do not wait for this one.
        let leaf = Arc::new(self.ca.issue(name)?);
        let mut cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(leaf)));
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        cfg.session_storage = self.sessions.clone();
        let cfg = Arc::new(cfg);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, (Instant::now(), cfg.clone()));
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_goes_first() {
        let mut l = Lru::new(2);
        l.insert("a", 1);
        l.insert("b", 2);
        assert_eq!(l.get("a"), Some(1));
        l.insert("c", 3);
        assert_eq!(
            (l.get("b"), l.get("a"), l.get("c")),
            (None, Some(1), Some(3))
        );
        l.insert("a", 10);
        assert_eq!((l.len(), l.get("a")), (2, Some(10)));
    }

    #[test]
    fn names_are_cached_up_to_the_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Arc::new(
            Authority::open(dir.path(), &[], super::super::ca::OnChange::Reissue).unwrap(),
        );
        let certs = Certs::new(ca, 8);
        let first = certs.config("openapi-cn.dji.com").unwrap();
        assert!(
            Arc::ptr_eq(&first, &certs.config("openapi-cn.dji.com").unwrap()),
            "cached"
        );
        for i in 0..100 {
            certs
                .config(&format!("b{i}.s3.us-east-1.amazonaws.com"))
                .unwrap();
        }
        assert_eq!(certs.cached(), 8);
        assert!(
            !Arc::ptr_eq(&first, &certs.config("openapi-cn.dji.com").unwrap()),
            "evicted, issued again"
        );
        assert!(
            certs.config("*.s3.us-east-1.amazonaws.com").is_err(),
            "never a wildcard"
        );
    }
}
