//! Hash maps keyed by the engine's own numbers (run, call, task, timer ids
//! and slots), and [`IdRing`], a table for ids that mostly leave in the
//! order they were made.
//!
//! These keys are made by the engine, never by a user, so they need no
//! protection against crafted collisions, and the standard SipHash costs
//! more than the rest of a lookup on the hot path (a pool task looks up
//! several such maps). [`IdHasher`] keeps the integer as the bucket and
//! mixes only the tag, with one multiplication.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The hash bits the table uses as a bucket's tag.
const TAG_BITS: u64 = 0xFE00_0000_0000_0000;

/// A hasher for integer ids: the id in the low bits, a mixed tag above.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by integer keys; kept correct for any other key.
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // The table takes a bucket from the low bits and a tag (compared
        // before the key) from the top seven. The low bits are the id's
        // own: ids made one after the other (runs, calls, tasks, slots)
        // sit in neighbouring buckets, and the engine, which mostly meets
        // them in the order it made them (a burst of runs started, then
        // ended), reads the table in order instead of one cache miss per
        // id. The tag is mixed (a multiplier with well-spread bits, from
        // the golden ratio), so the ids of one group of buckets seldom
        // share it.
        let key = self.0.rotate_left(5) ^ n;
        let tag = key.wrapping_mul(0x9e37_79b9_7f4a_7c15) & TAG_BITS;
        self.0 = tag | (key & !TAG_BITS);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A `HashMap` keyed by engine ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A `HashSet` of engine ids.
pub type IdSet<K> = std::collections::HashSet<K, BuildHasherDefault<IdHasher>>;

/// How many ids [`IdRing`] spans at most: an id further than this past
/// the oldest one in the ring pushes the oldest ones out to its map.
const RING_SPAN: u64 = 1 << 16;

/// Places [`IdRing`] keeps when it empties: a burst's room beyond twice
/// this is given back then, and steady batches of calls (a set of timers
/// due together) do not make it grow again every time. While ids are kept
/// it spans at most [`RING_SPAN`] ids, and holds at most about twice as
/// many places (1 MB) before the places behind its front are dropped.
const RING_KEPT: usize = 1024;

/// An id further than this past the newest one in [`IdRing`] starts the
/// ring again (what it holds goes to its map) instead of opening a long
/// run of holes.
const RING_GAP: u64 = 4096;

/// Nonzero numbers by engine ids that are made in increasing order and
/// mostly leave in the order they came (the calls in flight): an array
/// from the oldest id kept, so that keeping, finding and dropping one is
/// an index, not a probe of a hash table. Ids made between them for other
/// things are holes. An id older than the oldest in the ring, and ids kept
/// so long that the ring would span more than 65,536 ids, are kept
/// in a map beside it instead (a call that never settles cannot make the
/// ring grow without bound); an id far past the newest starts the ring
/// again, the ids in it going to the map.
#[derive(Debug, Default)]
pub struct IdRing {
    /// The id of `ring[head]`.
    base: u64,
    /// Values by `id - base + head`; 0 is a hole. `ring[head]` is never a
    /// hole; the places before `head` are dropped when they are many.
    ring: Vec<u64>,
    head: usize,
    /// Values in the ring (not holes).
    live: usize,
    others: IdMap<u64, u64>,
}

impl IdRing {
    /// How many ids are kept.
    pub fn len(&self) -> usize {
        self.live + self.others.len()
    }

    /// Whether no id is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries of room held (ring and map).
    pub fn capacity(&self) -> usize {
        self.ring.capacity() + self.others.capacity()
    }

    /// The id one past the newest place of the ring.
    #[inline]
    fn end(&self) -> u64 {
        self.base + (self.ring.len() - self.head) as u64
    }

    /// Keeps `value` for `id`, at or past [`IdRing::end`]: the ids between
    /// them are holes.
    #[inline]
    fn append(&mut self, id: u64, value: u64) {
        for _ in self.end()..id {
            self.ring.push(0);
        }
        self.ring.push(value);
        self.live += 1;
    }

    /// The place of `id` in the ring.
    #[inline]
    fn index(&self, id: u64) -> Option<usize> {
        let k = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let i = self.head.checked_add(k)?;
        (i < self.ring.len()).then_some(i)
    }

    /// The value kept for `id`.
    #[inline]
    pub fn get(&self, id: u64) -> Option<u64> {
        match self.index(id) {
            Some(i) => Some(self.ring[i]).filter(|v| *v != 0),
            None if self.others.is_empty() => None,
            None => self.others.get(&id).copied(),
        }
    }

    /// Keeps `value` (nonzero) for `id`, in place of what `id` had.
    #[inline]
    pub fn insert(&mut self, id: u64, value: u64) {
        debug_assert!(value != 0, "0 marks a hole");
        let end = self.end();
        // The common case: the newest id, a little past the newest kept.
        if self.live > 0
            && id >= end
            && id - end <= RING_GAP
            && id - self.base < RING_SPAN
            && self.others.is_empty()
        {
            self.append(id, value);
            return;
        }
        self.insert_otherwise(id, value);
    }

    #[inline(never)]
    fn insert_otherwise(&mut self, id: u64, value: u64) {
        if let Some(i) = self.index(id) {
            if self.ring[i] == 0 {
                self.live += 1;
            }
            self.ring[i] = value;
            return;
        }
        if let Some(v) = self.others.get_mut(&id) {
            *v = value;
            return;
        }
        if self.live == 0 {
            self.restart(id);
        }
        if id < self.base {
            self.others.insert(id, value);
            return;
        }
        if id - self.end() > RING_GAP {
            // Far past the newest: what the ring holds goes to the map, and
            // the ring starts again from this id.
            self.evict(u64::MAX);
        }
        // The ring spans at most RING_SPAN ids: the oldest ones make room.
        self.evict(id.saturating_sub(RING_SPAN - 1));
        if self.live == 0 {
            self.restart(id);
        }
        self.append(id, value);
    }

    /// Empties the ring (nothing is live in it), to start again at `id`.
    fn restart(&mut self, id: u64) {
        self.ring.clear();
        self.head = 0;
        self.base = id;
        if self.ring.capacity() > 2 * RING_KEPT {
            self.ring.shrink_to(RING_KEPT);
        }
    }

    /// Moves what the ring holds for ids before `until` to the map.
    fn evict(&mut self, until: u64) {
        while self.live > 0 && self.base < until {
            let old = self.ring[self.head];
            if old != 0 {
                self.others.insert(self.base, old);
                self.live -= 1;
            }
            self.head += 1;
            self.base += 1;
            self.trim_front();
        }
    }

    /// Takes the value kept for `id` out.
    #[inline]
    pub fn remove(&mut self, id: u64) -> Option<u64> {
        let Some(i) = self.index(id) else {
            if self.others.is_empty() {
                return None;
            }
            let v = self.others.remove(&id);
            crate::registry::shrink_map(&mut self.others);
            return v;
        };
        let v = std::mem::take(&mut self.ring[i]);
        if v == 0 {
            return None;
        }
        self.live -= 1;
        if i == self.head {
            self.trim_front();
        }
        Some(v)
    }

    /// Moves the front past the holes there; once nothing is left in the
    /// ring, empties it (giving back the room of a burst), and drops the
    /// places before the front when they are most of it.
    #[inline]
    fn trim_front(&mut self) {
        if self.live == 0 {
            self.restart(self.end());
            return;
        }
        while self.ring[self.head] == 0 {
            self.head += 1;
            self.base += 1;
        }
        if self.head >= RING_KEPT && self.head * 2 >= self.ring.len() {
            self.ring.drain(..self.head);
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn hash_of(k: u64) -> u64 {
        let mut h = IdHasher::default();
        h.write_u64(k);
        h.finish()
    }

    #[test]
    fn consecutive_ids_take_consecutive_buckets_with_spread_tags() {
        let mut m: IdMap<u64, u64> = IdMap::default();
        for k in 0..100_000u64 {
            m.insert(k, k * 2);
        }
        assert_eq!(m.len(), 100_000);
        assert!((0..100_000u64).all(|k| m.get(&k) == Some(&(k * 2))));
        // The bucket bits are the id's: neighbours in the table.
        assert!((0..100_000u64).all(|k| hash_of(k) & 0xFFFF_FFFF == k));
        // The tags (the top seven bits) of 16 neighbours are mostly distinct.
        for first in [0u64, 16, 4096, 99_984] {
            let tags: std::collections::HashSet<u64> =
                (first..first + 16).map(|k| hash_of(k) >> 57).collect();
            assert!(
                tags.len() >= 10,
                "{} distinct tags among 16 ids from {first}",
                tags.len()
            );
        }
        // A slot (u32) hashes as the same number as a u64.
        let mut h = IdHasher::default();
        h.write_u32(77);
        assert_eq!(h.finish(), hash_of(77));
    }

    #[test]
    fn a_window_sliding_past_a_stuck_id_keeps_every_entry() {
        // One old id stays while a window of 1,000 newer ones slides on
        // (tombstones behind the window, the table rehashed in place).
        let mut m: IdMap<u64, u64> = IdMap::default();
        m.insert(0, 0);
        for k in 1..200_000u64 {
            m.insert(k, k);
            if k > 1_000 {
                assert_eq!(m.remove(&(k - 1_000)), Some(k - 1_000));
            }
        }
        assert_eq!(m.len(), 1_001);
        assert_eq!(m.get(&0), Some(&0));
        assert!((199_000..200_000u64).all(|k| m.get(&k) == Some(&k)));
        assert!(m.capacity() < 4_096, "capacity {}", m.capacity());
    }

    /// Checks `ring` against `model`: every id kept, and ids around them.
    fn same(ring: &IdRing, model: &BTreeMap<u64, u64>, rng: &mut fastrand::Rng, next: u64) {
        assert_eq!(ring.len(), model.len());
        for (id, v) in model {
            assert_eq!(ring.get(*id), Some(*v), "id {id}");
        }
        for _ in 0..5_000 {
            let id = rng.u64(..next + 10);
            assert_eq!(ring.get(id), model.get(&id).copied(), "id {id}");
        }
    }

    #[test]
    fn a_ring_of_ids_is_a_map() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut ring = IdRing::default();
        let mut model: BTreeMap<u64, u64> = BTreeMap::new();
        let mut next = 1u64;
        for step in 0..60_000u64 {
            if step % 5_000 == 0 {
                same(&ring, &model, &mut rng, next);
            }
            match rng.u32(..10) {
                // New ids, with gaps (ids made for other things), now and
                // then a long one.
                0..=4 => {
                    next += if rng.u32(..50) == 0 {
                        5_000
                    } else {
                        u64::from(rng.u32(1..4))
                    };
                    ring.insert(next, step + 1);
                    model.insert(next, step + 1);
                }
                // Mostly the oldest leave; some from anywhere.
                5..=7 => {
                    let from = if rng.bool() { 0 } else { rng.u64(..=next) };
                    if let Some((&id, _)) = model.range(from..).next() {
                        assert_eq!(ring.remove(id), model.remove(&id));
                    }
                }
                // A value replaced, an id older than all, or one never kept.
                8 => {
                    if let Some(&id) = model.keys().next() {
                        ring.insert(id, step + 1);
                        model.insert(id, step + 1);
                    }
                    let old = u64::from(rng.u32(1..1_000));
                    assert_eq!(ring.remove(old + next), None);
                }
                _ => {
                    let id = next.saturating_sub(u64::from(rng.u32(..100_000)));
                    assert_eq!(ring.get(id), model.get(&id).copied());
                    assert_eq!(ring.remove(id), model.remove(&id));
                }
            }
        }
        same(&ring, &model, &mut rng, next);
        let keys: Vec<u64> = model.keys().copied().collect();
        for id in keys {
            assert_eq!(ring.remove(id), model.remove(&id));
        }
        assert!(ring.is_empty());
        assert!(ring.capacity() <= 2048, "room kept: {}", ring.capacity());
    }

    #[test]
    fn an_id_that_stays_does_not_make_the_ring_grow() {
        // One call never settles while a million more come and go.
        let mut ring = IdRing::default();
        ring.insert(1, 7);
        for id in 2..1_000_000u64 {
            ring.insert(id, id);
            if id > 101 {
                assert_eq!(ring.remove(id - 100), Some(id - 100));
            }
        }
        assert_eq!(ring.get(1), Some(7));
        assert_eq!(ring.len(), 101);
        assert!(
            ring.capacity() <= 2 * RING_SPAN as usize + 1024,
            "room kept: {}",
            ring.capacity()
        );
        assert_eq!(ring.remove(1), Some(7));
        assert_eq!(ring.get(999_950), Some(999_950));
    }
}
