//! Hash maps keyed by the engine's own numbers (run, call, task, timer ids
//! and slots).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
