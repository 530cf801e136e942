//! A pool's queue: task ids in dispatch order — priority descending, then
//! arrangement id ascending.
//!
//! Tasks of one priority are kept in a deque sorted by arrangement id, one
//! deque per priority in an ordered map. Tasks are mostly added with a new
//! (the highest) arrangement id and taken from the front, so adding and
//! dispatching are a push and a pop on a deque that is walked in memory
//! order — where a single ordered map of a million entries paid a search
//! and the cache misses of its nodes for each. A task taken out elsewhere
//! (cancelled, paused behind others, moved to another priority) is found by
//! binary search and left as a hole, skipped by every walk; a priority's
//! deque is compacted once its holes outnumber its tasks, so any sequence
//! of operations costs O(log n) amortized each, as the ordered map did.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};

use crate::event::TaskId;

/// A place in a queue: higher priority first, then lower arrangement id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Key {
    pub(super) priority: f64,
    pub(super) arrangement: u64,
}

impl Key {
    /// A key; a NaN priority counts as 0.
    pub(super) fn new(priority: f64, arrangement: u64) -> Self {
        Self {
            priority: if priority.is_nan() { 0.0 } else { priority },
            arrangement,
        }
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        Priority(self.priority)
            .cmp(&Priority(other.priority))
            .then(self.arrangement.cmp(&other.arrangement))
    }
}

/// A priority, ordered as [`Key`] orders them (higher first; the total
/// order of `f64`, so -0 comes after 0).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Priority(f64);

impl Eq for Priority {}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0)
    }
}

/// The tasks of one priority: (arrangement id, task id or `None` for a
/// hole), sorted by arrangement id.
#[derive(Debug, Default)]
struct Level {
    entries: VecDeque<(u64, Option<TaskId>)>,
    holes: usize,
}

impl Level {
    fn len(&self) -> usize {
        self.entries.len() - self.holes
    }

    /// Where arrangement id `arrangement` is, or would be.
    fn position(&self, arrangement: u64) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.0.cmp(&arrangement))
    }

    /// Drops the holes at both ends, and all of them once they outnumber
    /// the tasks.
    fn tidy(&mut self) {
        while let Some((_, None)) = self.entries.front() {
            self.entries.pop_front();
            self.holes -= 1;
        }
        while let Some((_, None)) = self.entries.back() {
            self.entries.pop_back();
            self.holes -= 1;
        }
        if self.holes > 32 && self.holes > self.len() {
            self.entries.retain(|e| e.1.is_some());
            self.holes = 0;
        }
    }
}

/// A pool's queue (see the module's documentation). Its interface is the
/// part of an ordered map from [`Key`] to task id that the pools use.
#[derive(Debug, Default)]
pub(super) struct Queue {
    levels: BTreeMap<Priority, Level>,
    len: usize,
}

impl Queue {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `task` at `key`; returns the task that was there, if any.
    pub(super) fn insert(&mut self, key: Key, task: TaskId) -> Option<TaskId> {
        let level = self.levels.entry(Priority(key.priority)).or_default();
        let at = match level.entries.back() {
            Some(&(last, _)) if last < key.arrangement => Err(level.entries.len()),
            None => Err(0),
            _ => level.position(key.arrangement),
        };
        match at {
            Ok(i) => {
                let old = level.entries[i].1.replace(task);
                if old.is_none() {
                    level.holes -= 1;
                    self.len += 1;
                }
                old
            }
            Err(i) => {
                if i == level.entries.len() {
                    level.entries.push_back((key.arrangement, Some(task)));
                } else if i == 0 {
                    level.entries.push_front((key.arrangement, Some(task)));
                } else {
                    level.entries.insert(i, (key.arrangement, Some(task)));
                }
                self.len += 1;
                None
            }
        }
    }

    /// The first task in dispatch order, with its key. A level never
    /// starts with a hole (see [`Level::tidy`]), so this is a look at the
    /// front of the first level.
    pub(super) fn first(&self) -> Option<(Key, TaskId)> {
        let (priority, level) = self.levels.first_key_value()?;
        let &(arrangement, task) = level.entries.front()?;
        Some((
            Key {
                priority: priority.0,
                arrangement,
            },
            task?,
        ))
    }

    /// Takes the first task in dispatch order out; returns it.
    pub(super) fn pop_first(&mut self) -> Option<TaskId> {
        let mut first = self.levels.first_entry()?;
        let level = first.get_mut();
        let task = level.entries.front()?.1?;
        level.entries.pop_front();
        self.len -= 1;
        level.tidy();
        if level.entries.is_empty() {
            first.remove();
        }
        Some(task)
    }

    /// Takes the task at `key` out; returns it.
    pub(super) fn remove(&mut self, key: &Key) -> Option<TaskId> {
        let priority = Priority(key.priority);
        let level = self.levels.get_mut(&priority)?;
        let i = match level.entries.front() {
            Some(&(first, Some(_))) if first == key.arrangement => 0,
            _ => level.position(key.arrangement).ok()?,
        };
        let task = level.entries[i].1.take()?;
        level.holes += 1;
        self.len -= 1;
        level.tidy();
        if level.entries.is_empty() {
            self.levels.remove(&priority);
        }
        Some(task)
    }

    pub(super) fn contains_key(&self, key: &Key) -> bool {
        self.levels
            .get(&Priority(key.priority))
            .and_then(|level| level.position(key.arrangement).ok().map(|i| (level, i)))
            .is_some_and(|(level, i)| level.entries[i].1.is_some())
    }

    /// The queued tasks with their keys, in dispatch order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Key, TaskId)> + '_ {
        self.levels.iter().flat_map(|(priority, level)| {
            level
                .entries
                .iter()
                .filter_map(move |&(arrangement, task)| {
                    task.map(|t| {
                        (
                            Key {
                                priority: priority.0,
                                arrangement,
                            },
                            t,
                        )
                    })
                })
        })
    }

    /// The queued tasks in dispatch order.
    pub(super) fn values(&self) -> impl Iterator<Item = &TaskId> + '_ {
        self.levels
            .values()
            .flat_map(|level| level.entries.iter().filter_map(|(_, task)| task.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// The queue against an ordered map, under random inserts (mostly at
    /// the end, some into the middle, some at priorities including -0, 0
    /// and infinities), removals anywhere and pops from the front.
    #[test]
    fn behaves_as_an_ordered_map() {
        let priorities = [0.0, -0.0, 1.0, -3.5, f64::INFINITY, f64::NEG_INFINITY, 7.0];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut queue = Queue::default();
        let mut model: BTreeMap<Key, TaskId> = BTreeMap::new();
        let mut next_arrangement = 1_000u64;
        for step in 0..200_000u64 {
            match rng.next() % 10 {
                0..=4 => {
                    let priority = priorities[(rng.next() % priorities.len() as u64) as usize];
                    let arrangement = if rng.next().is_multiple_of(8) {
                        rng.next() % next_arrangement
                    } else {
                        next_arrangement += 1;
                        next_arrangement
                    };
                    let key = Key::new(priority, arrangement);
                    assert_eq!(
                        queue.insert(key, step),
                        model.insert(key, step),
                        "insert at step {step}"
                    );
                }
                5 => {
                    if let Some((&key, _)) = model.iter().nth((rng.next() % 16) as usize) {
                        assert_eq!(queue.remove(&key), model.remove(&key));
                    }
                }
                6 => {
                    // Anywhere: the first task at or after a random place.
                    let from = Key::new(
                        priorities[(rng.next() % priorities.len() as u64) as usize],
                        rng.next() % next_arrangement,
                    );
                    if let Some((&key, _)) = model.range(from..).next() {
                        assert_eq!(queue.remove(&key), model.remove(&key));
                    }
                }
                7 => {
                    if let Some((&key, _)) = model.iter().next() {
                        assert_eq!(queue.remove(&key), model.remove(&key));
                    }
                }
                8 => {
                    assert_eq!(queue.pop_first(), model.pop_first().map(|(_, t)| t));
                }
                _ => {
                    let key = Key::new(
                        priorities[(rng.next() % 3) as usize],
                        rng.next() % next_arrangement,
                    );
                    assert_eq!(queue.contains_key(&key), model.contains_key(&key));
                    assert_eq!(queue.remove(&key), model.remove(&key));
                }
            }
            assert_eq!(queue.len(), model.len());
            assert_eq!(
                queue.first(),
                model.iter().next().map(|(k, t)| (*k, *t)),
                "first at step {step}"
            );
            if step.is_multiple_of(1_000) {
                let got: Vec<(Key, TaskId)> = queue.iter().collect();
                let want: Vec<(Key, TaskId)> = model.iter().map(|(k, v)| (*k, *v)).collect();
                assert_eq!(got, want, "order at step {step}");
                assert!(queue.values().copied().eq(model.values().copied()));
            }
        }
    }

    #[test]
    fn holes_are_compacted() {
        let mut queue = Queue::default();
        for a in 0..10_000u64 {
            queue.insert(Key::new(0.0, a), a);
        }
        // Every other task leaves from the middle: the holes do not pile up.
        for a in (1..10_000u64).step_by(2) {
            assert_eq!(queue.remove(&Key::new(0.0, a)), Some(a));
        }
        let level = queue
            .levels
            .values()
            .next()
            .map(|l| (l.entries.len(), l.holes));
        assert!(
            level.is_some_and(|(entries, holes)| holes <= entries / 2 + 33),
            "{level:?}"
        );
        assert!(queue.values().copied().eq((0..10_000u64).step_by(2)));
        for a in (0..10_000u64).step_by(2) {
            assert_eq!(queue.remove(&Key::new(0.0, a)), Some(a));
        }
        assert!(queue.is_empty());
        assert!(queue.levels.is_empty());
    }
}
