//! Small bodies kept in memory after their first read, so that a hot object (a thumbnail,
//! a tileset's JSON, the 1 KiB a benchmark asks for again and again) costs no open, read
//! and close per GET.
//!
//! Bounded: at most [`CACHE_BYTES`] of bodies, each at most [`super::SMALL_READ`]; the
//! oldest entries go first. A body is immutable (a write makes a new [`Blob`]), so an
//! overwrite or a delete cannot serve stale bytes: the entry is keyed by the body itself,
//! holds only a weak reference to it, and is dropped when that body is gone.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;

use super::Blob;

/// What the cache may hold at once.
pub(crate) const CACHE_BYTES: usize = 32 << 20;

/// The cache of small bodies: one per process, since bodies are told apart by address.
pub(crate) static SMALL_BODIES: std::sync::LazyLock<SmallBodies> =
    std::sync::LazyLock::new(SmallBodies::default);

/// A cache of small bodies.
#[derive(Debug, Default)]
pub(crate) struct SmallBodies {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By the address of the body. The weak reference keeps that address from being reused
    /// by another body while the entry lives, and tells a dropped body from a live one.
    by_body: HashMap<usize, (Weak<Blob>, Bytes)>,
    /// Insertion order, for eviction.
    order: VecDeque<usize>,
    bytes: usize,
}

fn key(body: &Arc<Blob>) -> usize {
    Arc::as_ptr(body) as usize
}

impl SmallBodies {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes of `body`, when they were kept.
    pub(crate) fn get(&self, body: &Arc<Blob>) -> Option<Bytes> {
        self.lock().by_body.get(&key(body)).map(|(_, b)| b.clone())
    }

    /// Keeps the whole body `bytes` of `body`, making room by dropping the oldest entries
    /// (and those whose body is gone).
    pub(crate) fn put(&self, body: &Arc<Blob>, bytes: Bytes) {
        if bytes.len() > super::SMALL_READ as usize {
            return;
        }
        let mut g = self.lock();
        let k = key(body);
        if g.by_body.contains_key(&k) {
            return;
        }
        while g.bytes + bytes.len() > CACHE_BYTES {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = g.by_body.remove(&old) {
                g.bytes -= b.len();
            }
        }
        g.bytes += bytes.len();
        g.order.push_back(k);
        g.by_body.insert(k, (Arc::downgrade(body), bytes));
        // Entries of dropped bodies also leave when they reach the front; sweeping a few
        // here keeps their count from growing while the budget is not reached.
        for _ in 0..2 {
            let Some(&front) = g.order.front() else { break };
            let gone = g
                .by_body
                .get(&front)
                .is_none_or(|(w, _)| w.strong_count() == 0);
            if !gone {
                break;
            }
            g.order.pop_front();
            if let Some((_, b)) = g.by_body.remove(&front) {
                g.bytes -= b.len();
            }
        }
    }

    /// Bytes held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Arc<Blob> {
        Blob::new(Vec::new())
    }

    #[test]
    fn a_body_is_served_from_memory_until_it_is_gone() {
        let c = SmallBodies::default();
        let (a, b) = (blob(), blob());
        c.put(&a, Bytes::from_static(b"first"));
        assert_eq!(c.get(&a).as_deref(), Some(&b"first"[..]));
        // Another body (an overwrite of the same key makes one) is not served the old bytes.
        assert_eq!(c.get(&b), None);
        drop(a);
        // The address of a dropped body cannot be taken by a new one while the entry
        // holds its allocation, so a new body never meets stale bytes.
        let fresh = blob();
        assert_eq!(c.get(&fresh), None);
    }

    #[test]
    fn the_cache_stays_within_its_bytes_dropping_the_oldest() {
        let c = SmallBodies::default();
        let size = super::super::SMALL_READ as usize;
        let bodies: Vec<_> = (0..CACHE_BYTES / size + 3).map(|_| blob()).collect();
        for b in &bodies {
            c.put(b, Bytes::from(vec![7u8; size]));
            assert!(c.held() <= CACHE_BYTES);
        }
        assert_eq!(c.held(), CACHE_BYTES);
        assert_eq!(c.get(&bodies[0]), None, "the oldest went first");
        assert!(c.get(bodies.last().unwrap()).is_some());
        // Too big to keep at all.
        let big = blob();
        c.put(&big, Bytes::from(vec![0u8; size + 1]));
        assert_eq!(c.get(&big), None);
    }

    #[test]
    fn entries_of_dropped_bodies_are_swept() {
        let c = SmallBodies::default();
        for _ in 0..100 {
            let b = blob();
            c.put(&b, Bytes::from_static(b"x"));
        }
        assert!(c.held() <= 2, "{} bytes of dropped bodies kept", c.held());
    }
}
