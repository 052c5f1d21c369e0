//! Rows in creation order, with a uuid index and an order-statistic index, so that a page of
//! a listing costs O(rows on the page × log n) whatever the table holds.
//!
//! Rows live in fixed-size chunks (no reallocation spikes, no half-empty tree nodes); a
//! removed row leaves a hole. A row's *position* (its slot) never changes, so it doubles as
//! its creation order. [`Ranks`] counts live positions in a Fenwick tree: the k-th newest
//! row is found in O(log n) without walking the holes.

use std::collections::HashMap;

use uuid::Uuid;

/// Rows per chunk.
const CHUNK: usize = 4096;

/// A set of positions with rank and select in O(log n): a Fenwick tree over a bitset that
/// grows by doubling.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ranks {
    /// Fenwick tree, 1-based: `tree[i]` counts positions in `(i - lowbit(i), i]`.
    tree: Vec<u32>,
    bits: Vec<u64>,
    count: usize,
}

impl Ranks {
    fn capacity(&self) -> usize {
        self.tree.len().saturating_sub(1)
    }

    fn contains(&self, pos: u32) -> bool {
        let p = pos as usize;
        self.bits
            .get(p / 64)
            .is_some_and(|w| w & (1 << (p % 64)) != 0)
    }

    fn grow_to(&mut self, pos: usize) {
        if pos < self.capacity() {
            return;
        }
        let cap = (pos + 1).next_power_of_two().max(64);
        self.bits.resize(cap / 64, 0);
        // Rebuild in O(cap): each node adds itself to its parent.
        let mut tree = vec![0u32; cap + 1];
        for (i, slot) in tree.iter_mut().enumerate().skip(1) {
            let p = i - 1;
            *slot = u32::from(self.bits[p / 64] & (1 << (p % 64)) != 0);
        }
        for i in 1..=cap {
            let parent = i + (i & i.wrapping_neg());
            if parent <= cap {
                tree[parent] += tree[i];
            }
        }
        self.tree = tree;
    }

    fn add(&mut self, pos: usize, delta: i64) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            self.tree[i] = (i64::from(self.tree[i]) + delta) as u32;
            i += i & i.wrapping_neg();
        }
    }

    /// The positions `0..n`, all present.
    fn full(n: usize) -> Self {
        let mut r = Self::default();
        if n == 0 {
            return r;
        }
        r.grow_to(n - 1);
        for p in 0..n {
            r.bits[p / 64] |= 1 << (p % 64);
        }
        r.count = n;
        // Rebuild the tree from the bits.
        let cap = r.capacity();
        let mut tree = vec![0u32; cap + 1];
        for (i, slot) in tree.iter_mut().enumerate().skip(1) {
            *slot = u32::from(i <= n);
        }
        for i in 1..=cap {
            let parent = i + (i & i.wrapping_neg());
            if parent <= cap {
                tree[parent] += tree[i];
            }
        }
        r.tree = tree;
        r
    }

    /// Adds a position (no-op if present).
    pub(crate) fn insert(&mut self, pos: u32) {
        if self.contains(pos) {
            return;
        }
        let p = pos as usize;
        self.grow_to(p);
        self.bits[p / 64] |= 1 << (p % 64);
        self.add(p, 1);
        self.count += 1;
    }

    /// Removes a position (no-op if absent).
    pub(crate) fn remove(&mut self, pos: u32) {
        if !self.contains(pos) {
            return;
        }
        let p = pos as usize;
        self.bits[p / 64] &= !(1 << (p % 64));
        self.add(p, -1);
        self.count -= 1;
    }

    /// How many positions are in the set.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The `k`-th smallest position (0-based).
    pub(crate) fn select(&self, k: usize) -> Option<u32> {
        if k >= self.count {
            return None;
        }
        let cap = self.capacity();
        let mut pos = 0usize;
        let mut rest = k as u32 + 1;
        let mut step = cap.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= cap && self.tree[next] < rest {
                pos = next;
                rest -= self.tree[next];
            }
            step /= 2;
        }
        Some(pos as u32)
    }

    /// The `k`-th position in the requested order: oldest first (`ascending`) or newest
    /// first.
    pub(crate) fn nth(&self, k: usize, ascending: bool) -> Option<u32> {
        if ascending {
            self.select(k)
        } else {
            self.count.checked_sub(k + 1).and_then(|i| self.select(i))
        }
    }
}

/// Rows in creation order plus a uuid index and [`Ranks`] of the live rows.
#[derive(Debug)]
pub(crate) struct Table<T> {
    chunks: Vec<Vec<Option<T>>>,
    index: HashMap<Uuid, u32>,
    live: Ranks,
    /// Rows inserted, changed or removed since [`Table::take_touched`], when tracking.
    touched: Option<Vec<Uuid>>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            index: HashMap::new(),
            live: Ranks::default(),
            touched: None,
        }
    }
}

impl<T> Table<T> {
    /// Starts recording which rows change (for persistence).
    pub(crate) fn track(&mut self) {
        self.touched.get_or_insert_with(Vec::new);
    }

    /// The rows inserted, changed (borrowed mutably) or removed since the last call, each
    /// once, in the order first touched.
    pub(crate) fn take_touched(&mut self) -> Vec<Uuid> {
        let Some(t) = self.touched.as_mut() else {
            return Vec::new();
        };
        let mut v = std::mem::take(t);
        let mut seen = std::collections::HashSet::with_capacity(v.len());
        v.retain(|u| seen.insert(*u));
        v
    }

    /// Puts rows back among the touched ones (their write failed: the next one retries).
    pub(crate) fn retouch(&mut self, uuids: impl IntoIterator<Item = Uuid>) {
        if let Some(t) = self.touched.as_mut() {
            t.extend(uuids);
        }
    }

    fn touch(&mut self, uuid: Uuid) {
        if let Some(t) = self.touched.as_mut()
            && t.last() != Some(&uuid)
        {
            t.push(uuid);
        }
    }

    /// Appends a row; returns its position.
    pub(crate) fn insert(&mut self, uuid: Uuid, row: T) -> u32 {
        self.touch(uuid);
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            // A chunk grows by doubling up to CHUNK rows: small tables stay small, and a
            // reallocation never moves more than one chunk.
            self.chunks.push(Vec::new());
        }
        let at = ((self.chunks.len() - 1) * CHUNK + self.chunks.last().map_or(0, Vec::len)) as u32;
        self.chunks
            .last_mut()
            .expect("a chunk with room")
            .push(Some(row));
        self.index.insert(uuid, at);
        self.live.insert(at);
        at
    }

    /// The row at a position.
    pub(crate) fn at(&self, pos: u32) -> Option<&T> {
        let p = pos as usize;
        self.chunks
            .get(p / CHUNK)
            .and_then(|c| c.get(p % CHUNK))
            .and_then(Option::as_ref)
    }

    fn at_mut(&mut self, pos: u32) -> Option<&mut T> {
        let p = pos as usize;
        self.chunks
            .get_mut(p / CHUNK)
            .and_then(|c| c.get_mut(p % CHUNK))
            .and_then(Option::as_mut)
    }

    /// Creation order of a row (smaller is older).
    pub(crate) fn position(&self, uuid: &Uuid) -> Option<u32> {
        self.index.get(uuid).copied()
    }

    pub(crate) fn get(&self, uuid: &Uuid) -> Option<&T> {
        self.index.get(uuid).and_then(|at| self.at(*at))
    }

    pub(crate) fn get_mut(&mut self, uuid: &Uuid) -> Option<&mut T> {
        let at = *self.index.get(uuid)?;
        self.touch(*uuid);
        self.at_mut(at)
    }

    pub(crate) fn remove(&mut self, uuid: &Uuid) -> Option<T> {
        let at = self.index.remove(uuid)?;
        self.touch(*uuid);
        self.live.remove(at);
        let p = at as usize;
        self.chunks
            .get_mut(p / CHUNK)
            .and_then(|c| c.get_mut(p % CHUNK))
            .and_then(Option::take)
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether most slots are holes left by removed rows (then [`Table::compact`] pays).
    pub(crate) fn sparse(&self) -> bool {
        let slots =
            self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, Vec::len);
        slots >= 256 && self.live.len() * 2 < slots
    }

    /// Moves the live rows together, keeping their order; returns each old position's new
    /// one (`u32::MAX` for holes). Positions held elsewhere must be mapped through it.
    pub(crate) fn compact(&mut self) -> Vec<u32> {
        let slots =
            self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, Vec::len);
        let mut map = vec![u32::MAX; slots];
        let mut chunks: Vec<Vec<Option<T>>> = Vec::new();
        let mut next = 0u32;
        for (ci, chunk) in std::mem::take(&mut self.chunks).into_iter().enumerate() {
            for (i, row) in chunk.into_iter().enumerate() {
                let Some(row) = row else { continue };
                if chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    chunks.push(Vec::new());
                }
                chunks.last_mut().expect("pushed").push(Some(row));
                map[ci * CHUNK + i] = next;
                next += 1;
            }
        }
        for c in &mut chunks {
            c.shrink_to_fit();
        }
        self.chunks = chunks;
        for at in self.index.values_mut() {
            *at = map[*at as usize];
        }
        self.index.shrink_to_fit();
        self.live = Ranks::full(next as usize);
        map
    }

    /// The live positions, for pages in creation order.
    pub(crate) fn ranks(&self) -> &Ranks {
        &self.live
    }

    /// Every row, mutably. O(n).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks
            .iter_mut()
            .flat_map(|c| c.iter_mut())
            .filter_map(Option::as_mut)
    }

    /// Rows with their positions, oldest first. O(n).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks.iter().enumerate().flat_map(|(ci, c)| {
            c.iter()
                .enumerate()
                .filter_map(move |(i, r)| r.as_ref().map(|r| ((ci * CHUNK + i) as u32, r)))
        })
    }

    /// Rows oldest first (`.rev()` for newest first). O(n): for whole-table scans only.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .filter_map(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Ranks agrees with a sorted vector under any mix of inserts and removes.
        #[test]
        fn full_ranks_are_every_position(n in 0usize..3000) {
            let r = Ranks::full(n);
            prop_assert_eq!(r.len(), n);
            for k in [0, n / 2, n.saturating_sub(1)] {
                if k < n {
                    prop_assert_eq!(r.select(k), Some(k as u32));
                }
            }
            prop_assert_eq!(r.select(n), None);
        }

        #[test]
        fn ranks_select_like_a_sorted_vec(ops in proptest::collection::vec((any::<bool>(), 0u32..5000), 0..400)) {
            let mut r = Ranks::default();
            let mut model = std::collections::BTreeSet::new();
            for (ins, p) in ops {
                if ins { r.insert(p); model.insert(p); } else { r.remove(p); model.remove(&p); }
            }
            let v: Vec<u32> = model.into_iter().collect();
            prop_assert_eq!(r.len(), v.len());
            for (k, want) in v.iter().enumerate() {
                prop_assert_eq!(r.select(k), Some(*want));
                prop_assert_eq!(r.nth(k, false), Some(v[v.len() - 1 - k]));
            }
            prop_assert_eq!(r.select(v.len()), None);
        }
    }

    #[test]
    fn compaction_keeps_order_and_maps_positions() {
        let mut t = Table::default();
        let ids: Vec<Uuid> = (0..3 * CHUNK).map(|_| Uuid::new_v4()).collect();
        for (i, id) in ids.iter().enumerate() {
            t.insert(*id, i);
        }
        for id in ids.iter().step_by(3).chain(ids.iter().skip(1).step_by(3)) {
            t.remove(id);
        }
        assert!(t.sparse());
        let map = t.compact();
        assert_eq!(t.chunks.len(), 1);
        assert!(!t.sparse());
        assert_eq!(t.len(), CHUNK);
        for (old, id) in ids.iter().enumerate().skip(2).step_by(3) {
            let new = map[old];
            assert_eq!(t.position(id), Some(new));
            assert_eq!(*t.at(new).unwrap(), old);
        }
        let newest: Vec<usize> = (0..2)
            .map(|k| *t.at(t.ranks().nth(k, false).unwrap()).unwrap())
            .collect();
        assert_eq!(newest, [3 * CHUNK - 1, 3 * CHUNK - 4]);
        // Inserts continue after the compacted rows.
        assert_eq!(t.insert(Uuid::new_v4(), 0), CHUNK as u32);
    }

    #[test]
    fn table_positions_survive_removals() {
        let mut t = Table::default();
        let ids: Vec<Uuid> = (0..10).map(|_| Uuid::new_v4()).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(t.insert(*id, i), i as u32);
        }
        t.remove(&ids[3]);
        t.remove(&ids[7]);
        assert_eq!(t.len(), 8);
        let newest: Vec<usize> = (0..3)
            .map(|k| *t.at(t.ranks().nth(k, false).unwrap()).unwrap())
            .collect();
        assert_eq!(newest, [9, 8, 6]);
        assert_eq!(t.position(&ids[9]), Some(9));
        assert!(t.get(&ids[3]).is_none());
    }
}
