//! Hash maps keyed by the engine's own numbers (run, call, task, timer ids
//! and slots).
//!
//! These keys are made by the engine, never by a user, so they need no
//! protection against crafted collisions, and the standard SipHash costs
//! more than the rest of a lookup on the hot path (a pool task looks up
//! several such maps). [`IdHasher`] mixes the integer with one
//! multiplication instead.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for integer ids: one multiply-and-rotate per word.
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
        // A multiplier with well-spread bits (from the golden ratio); the
        // rotation brings the high, well-mixed bits down to where the
        // table's index bits are taken.
        self.0 = (self.0.rotate_left(5) ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
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

    #[test]
    fn consecutive_ids_spread_over_the_table() {
        let mut m: IdMap<u64, u64> = IdMap::default();
        for k in 0..100_000u64 {
            m.insert(k, k * 2);
        }
        assert_eq!(m.len(), 100_000);
        assert!((0..100_000u64).all(|k| m.get(&k) == Some(&(k * 2))));
        // Low bits of the hashes of consecutive ids differ (no clustering).
        let low: std::collections::HashSet<u64> = (0..1024u64)
            .map(|k| {
                let mut h = IdHasher::default();
                h.write_u64(k);
                h.finish() & 1023
            })
            .collect();
        assert!(low.len() > 600, "{} distinct buckets of 1024", low.len());
    }
}
