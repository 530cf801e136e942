//! The engine's deadlines.
//!
//! One binary heap of `(deadline, sequence)` serves every timer the engine
//! keeps, so thousands of pending retries or timeouts cost one heap entry
//! each and no thread or task of their own. Cancelling is lazy: the entry's
//! payload is removed from a map and the heap entry is skipped when it comes
//! up. The sequence number breaks ties, so timers due at the same time fire
//! in the order they were armed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::ids::IdMap;

use crate::clock::Nanos;

/// Room for this many timers is kept however empty the queue is.
const FLOOR: usize = 1024;

/// Handle of an armed timer, to cancel it.
pub type TimerId = u64;

/// A set of deadlines carrying payloads of type `T`.
#[derive(Debug)]
pub struct TimerQueue<T> {
    heap: BinaryHeap<Reverse<(Nanos, TimerId)>>,
    payloads: IdMap<TimerId, T>,
    next_id: TimerId,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            payloads: IdMap::default(),
            next_id: 1,
        }
    }
}

impl<T> TimerQueue<T> {
    /// Arms a timer at `deadline`.
    pub fn arm(&mut self, deadline: Nanos, payload: T) -> TimerId {
        let id = self.next_id;
        self.next_id += 1;
        self.heap.push(Reverse((deadline, id)));
        self.payloads.insert(id, payload);
        id
    }

    /// Cancels a timer; returns its payload if it had not fired.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let p = self.payloads.remove(&id);
        if self.payloads.is_empty() {
            // Nothing live is left: drop the stale heap entries at once,
            // and the room a burst of timers took.
            self.heap.clear();
            if self.heap.capacity() > FLOOR {
                self.heap.shrink_to(FLOOR);
            }
            crate::registry::shrink_map(&mut self.payloads);
        } else if self.heap.len() > FLOOR && self.heap.len() > 4 * self.payloads.len() {
            // Cancelled entries wait in the heap until their deadline: a
            // timeout cancelled by every settled run would keep one entry
            // per run of the last `timeoutMs` (a million for 1,000 interval
            // workers every 10 ms with 10 s timeouts). Drop them once they
            // are most of the heap: O(n) once per 3n cancellations.
            let payloads = &self.payloads;
            self.heap
                .retain(|Reverse((_, id))| payloads.contains_key(id));
            if self.heap.capacity() > 4 * self.heap.len().max(FLOOR) {
                self.heap.shrink_to(2 * self.heap.len().max(FLOOR));
            }
        }
        p
    }

    /// The earliest live deadline.
    pub fn next_deadline(&mut self) -> Option<Nanos> {
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if self.payloads.contains_key(&id) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub fn pop_due(&mut self, now: Nanos) -> Option<(Nanos, T)> {
        loop {
            let Some(Reverse((at, id))) = self.heap.peek().copied() else {
                self.give_back();
                return None;
            };
            if at > now {
                return None;
            }
            self.heap.pop();
            if let Some(p) = self.payloads.remove(&id) {
                return Some((at, p));
            }
        }
    }

    /// Gives back the room of a burst once the queue is empty.
    fn give_back(&mut self) {
        if self.heap.capacity() > FLOOR {
            self.heap.shrink_to(FLOOR);
        }
        crate::registry::shrink_map(&mut self.payloads);
    }

    /// Entries the heap and the payload map have room for (for statistics).
    pub fn capacity(&self) -> usize {
        self.heap.capacity().max(self.payloads.capacity())
    }

    /// The earliest live deadline whose payload satisfies `pred` (a full
    /// scan: for rare questions such as "is anything but the recurring
    /// timers pending?").
    pub fn earliest_matching(&self, pred: impl Fn(&T) -> bool) -> Option<Nanos> {
        self.heap
            .iter()
            .filter(|Reverse((_, id))| self.payloads.get(id).is_some_and(&pred))
            .map(|Reverse((at, _))| *at)
            .min()
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_arming_order_and_skips_cancelled() {
        let mut q = TimerQueue::default();
        q.arm(30, "c");
        let b = q.arm(20, "b");
        q.arm(10, "a1");
        q.arm(10, "a2");
        assert_eq!(q.cancel(b), Some("b"));
        assert_eq!(q.next_deadline(), Some(10));
        assert_eq!(q.pop_due(5), None);
        assert_eq!(q.pop_due(25), Some((10, "a1")));
        assert_eq!(q.pop_due(25), Some((10, "a2")));
        assert_eq!(q.pop_due(25), None);
        assert_eq!(q.next_deadline(), Some(30));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_due(30), Some((30, "c")));
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn cancelled_entries_do_not_pile_up_while_timers_stay_armed() {
        let mut q = TimerQueue::default();
        let keep: Vec<TimerId> = (0..100).map(|k| q.arm(1_000_000 + k, k)).collect();
        for k in 0..100_000u128 {
            let t = q.arm(500_000 + k, 0);
            assert_eq!(q.cancel(t), Some(0));
        }
        assert_eq!(q.len(), 100);
        assert!(q.heap.len() <= 4 * FLOOR, "{} heap entries", q.heap.len());
        assert!(q.capacity() <= 8 * FLOOR, "{} capacity", q.capacity());
        assert_eq!(q.pop_due(u128::MAX).map(|(_, p)| p), Some(0));
        assert_eq!(q.cancel(keep[1]), Some(1));
        assert_eq!(q.pop_due(u128::MAX).map(|(_, p)| p), Some(2));
    }
}
