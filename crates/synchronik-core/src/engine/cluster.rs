//! The engine in a cluster: a store shared with other managers
//! (PostgreSQL, [`crate::store::postgres`]).
//!
//! Two rules change when the store is shared, and nothing else:
//!
//! - **Durable pool tasks are claimed, not kept.** A task added here that
//!   would start at once (the pool is started, nothing waits, its handler is
//!   defined, a worker is free) is stored as this node's and runs here, as
//!   with SQLite. Any other is stored for whichever node claims it first —
//!   this one included: it is *offered* ([`ClusterState::offered`]). The
//!   store's claimer asks [`Engine::cluster_demand`] what each pool can take
//!   and hands what it claimed to [`Engine::cluster_deliver`], which queues
//!   it like a task brought back by [`Engine::pool_restore`]. The queue of a
//!   pool here holds only tasks this node holds.
//! - **A schedule fires on one node.** Every node arms its schedules as
//!   usual; a fire runs only where the unit's lease is held
//!   ([`Engine::cluster_hold`], renewed by the store's heartbeat).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::durable::new_task_row;
use super::pool::Room;
use super::types::{AddError, PoolId, RestoredTask, TaskSpec};
use super::Engine;
use crate::event::{Event, TaskId, TaskOutcome};
use crate::ids::IdMap;
use crate::store::{Op, TaskRow};
use crate::unit::Slot;

/// What a pool of this node can take from the shared queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    /// The pool's name.
    pub pool: String,
    /// The handlers it has: it claims only tasks it can run.
    pub handlers: Vec<String>,
    /// How many tasks it takes now.
    pub want: usize,
}

/// A task added here and stored for any node to claim.
#[derive(Debug)]
pub(super) struct Offered {
    pub task: TaskId,
    pub pool: PoolId,
}

/// Numbers past the end of [`Offers`]' table that still go into it; a key
/// further ahead goes into the map.
const OFFERS_GAP: u64 = 4096;

/// Offered tasks by key.
///
/// A key this node's store made is its prefix, a dash and a number that
/// counts up (`Store::new_key`): such tasks live in a table indexed by
/// that number, where the claims that bring them back (mostly in the
/// order they were offered) find them by an index instead of a hash of
/// the key and the cache misses of a large map. Any other key — and one
/// of ours too far ahead of the table — is kept in a map.
#[derive(Debug, Default)]
struct Offers {
    /// This node's keys begin with this (its store's prefix and a dash);
    /// empty until a store is set.
    own: String,
    /// The number of `table[0]`.
    base: u64,
    table: VecDeque<Option<Offered>>,
    in_table: usize,
    others: HashMap<String, Offered>,
}

impl Offers {
    /// The number of one of this node's keys (exactly as it makes them: no
    /// sign, no leading zero).
    fn number(&self, key: &str) -> Option<u64> {
        if self.own.is_empty() {
            return None;
        }
        let digits = key.strip_prefix(self.own.as_str())?;
        let canonical = !digits.is_empty()
            && digits.len() <= 19
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        canonical.then(|| digits.parse().ok()).flatten()
    }

    /// Where the task of number `n` is (or would be) in the table.
    fn index(&self, n: u64) -> Option<usize> {
        n.checked_sub(self.base)
            .and_then(|k| usize::try_from(k).ok())
            .filter(|&k| k < self.table.len())
    }

    fn len(&self) -> usize {
        self.in_table + self.others.len()
    }

    fn insert(&mut self, key: String, offered: Offered) {
        if let Some(n) = self.number(&key) {
            if self.in_table == 0 {
                self.table.clear();
                self.base = n;
            }
            if n >= self.base && n - self.base < self.table.len() as u64 + OFFERS_GAP {
                let k = (n - self.base) as usize;
                while self.table.len() <= k {
                    self.table.push_back(None);
                }
                if self.table[k].replace(offered).is_none() {
                    self.in_table += 1;
                }
                return;
            }
        }
        self.others.insert(key, offered);
    }

    /// Every key it holds.
    fn keys(&self) -> Vec<String> {
        let numbered = self
            .table
            .iter()
            .zip(self.base..)
            .filter(|(o, _)| o.is_some())
            .map(|(_, n)| format!("{}{n}", self.own));
        numbered.chain(self.others.keys().cloned()).collect()
    }

    fn get(&self, key: &str) -> Option<&Offered> {
        let in_table = self
            .number(key)
            .and_then(|n| self.index(n))
            .and_then(|k| self.table[k].as_ref());
        in_table.or_else(|| self.others.get(key))
    }

    fn remove(&mut self, key: &str) -> Option<Offered> {
        if let Some(k) = self.number(key).and_then(|n| self.index(n)) {
            if let Some(o) = self.table[k].take() {
                self.in_table -= 1;
                while matches!(self.table.front(), Some(None)) {
                    self.table.pop_front();
                    self.base += 1;
                }
                if self.in_table == 0 {
                    // A burst leaves its room behind: keep a little.
                    self.table.clear();
                    self.table.shrink_to(1024);
                }
                return Some(o);
            }
        }
        self.others.remove(key)
    }
}

#[derive(Debug, Default)]
pub(super) struct ClusterState {
    /// Whether the store is shared (set with the store).
    pub shared: bool,
    /// Tasks a pool claims ahead of its workers (`None`: by its pace, see
    /// [`default_prefetch`]).
    pub prefetch: Option<usize>,
    /// Offered tasks by key.
    offered: Offers,
    /// The key of the task of each pool and name that was offered last (a
    /// name is refused while a task of that name waits, here or offered).
    /// Taking a task out leaves its entry: one whose task is no longer
    /// offered counts as none, and such entries are dropped once they
    /// outnumber the offered tasks.
    offered_names: IdMap<PoolId, HashMap<String, String>>,
    /// Entries of `offered_names`.
    names_len: usize,
    /// The units whose schedules this node holds, and until when.
    held: IdMap<Slot, ()>,
    held_until: Option<Instant>,
}

impl ClusterState {
    /// This node's idempotency keys begin with `prefix` and a dash.
    pub(super) fn set_key_prefix(&mut self, prefix: &str) {
        self.offered.own = format!("{prefix}-");
    }

    /// The key of the offered task of pool `pool` called `name`.
    pub(super) fn offered_named(&self, pool: PoolId, name: &str) -> Option<&str> {
        let key = self.offered_names.get(&pool)?.get(name)?;
        self.offered
            .get(key)
            .is_some_and(|o| o.pool == pool)
            .then_some(key.as_str())
    }

    fn offer(&mut self, key: String, name: &str, offered: Offered) {
        let pool = offered.pool;
        if self
            .offered_names
            .entry(pool)
            .or_default()
            .insert(name.to_owned(), key.clone())
            .is_none()
        {
            self.names_len += 1;
        }
        self.offered.insert(key, offered);
        if self.names_len > 2 * self.offered.len() + 1024 {
            self.drop_stale_names();
        }
    }

    /// Drops the entries of `offered_names` whose task is no longer offered.
    fn drop_stale_names(&mut self) {
        let offered = &self.offered;
        let mut len = 0;
        self.offered_names.retain(|&pool, names| {
            names.retain(|_, key| offered.get(key).is_some_and(|o| o.pool == pool));
            len += names.len();
            !names.is_empty()
        });
        self.names_len = len;
    }

    /// Takes the offered task of key `key` (claimed, or cancelled) out.
    fn take_offered(&mut self, key: &str) -> Option<Offered> {
        self.offered.remove(key)
    }
}

/// Tasks a pool claims ahead of its workers by default: at least enough
/// that a worker that finishes finds the next task without waiting for the
/// server (its size + 8); for short tasks, as many as its workers start in
/// about [`PREFETCH_HORIZON_MS`] at the pace of its slowest handler here
/// (`run_ms`: the moving average of the running times of its completed
/// tasks), up to [`PREFETCH_MAX`]. A deep queue of short tasks is then
/// claimed in hundreds rather than a dozen at a time (one claim's round
/// trip per task or two, otherwise), while what a node holds ahead stays
/// about a moment's work of the handlers it has seen; a pool takes this
/// pace only once the tasks of every handler it takes have completed here.
fn default_prefetch(size: usize, run_ms: Option<f64>) -> usize {
    let least = size + 8;
    let Some(run_ms) = run_ms.filter(|ms| *ms > 0.0) else {
        return least;
    };
    // A float to an integer saturates: a tiny `run_ms` gives usize::MAX.
    let paced = (size as f64 * PREFETCH_HORIZON_MS / run_ms) as usize;
    least.max(paced.min(PREFETCH_MAX))
}

/// How far ahead (ms of the pool's work) the default prefetch reaches.
pub(super) const PREFETCH_HORIZON_MS: f64 = 50.0;
/// The most tasks the default prefetch claims ahead of a pool's workers.
pub(super) const PREFETCH_MAX: usize = 1000;

impl Engine {
    /// Whether the store is shared with other managers.
    pub fn is_clustered(&self) -> bool {
        self.cluster.shared
    }

    /// Whether the task of key `key` was added here and is stored for any
    /// node to claim (not queued here yet).
    pub fn is_offered(&self, key: &str) -> bool {
        self.cluster.offered.get(key).is_some()
    }

    /// Wakes the store's claimer: a pool may take more.
    pub(super) fn cluster_wake(&self) {
        if let Some(pg) = self.durable_store().and_then(|s| s.postgres()) {
            pg.wake_claimer();
        }
    }

    /// Tasks a pool claims ahead of its workers, and the queue length at
    /// or below which it claims again.
    fn ahead(&self, room: &Room<'_>) -> (usize, usize) {
        let ahead = self
            .cluster
            .prefetch
            .unwrap_or_else(|| default_prefetch(room.size, room.run_ms));
        (ahead, room.size.max(ahead * 3 / 4))
    }

    /// What pool `pool` can take now, if anything: enough for its workers
    /// and the tasks it claims ahead of them, once its queue here is down
    /// to three quarters of those (or its size) — so that the claim
    /// arrives before the queue runs dry.
    fn pool_want(&self, pool: PoolId) -> Option<(Room<'_>, usize)> {
        let room = self.pools.room(pool)?;
        if !room.started || room.size == 0 || room.handlers.is_empty() {
            return None;
        }
        let (ahead, low) = self.ahead(&room);
        if room.queued > low {
            return None;
        }
        let want = (room.size + ahead).saturating_sub(room.busy + room.queued);
        (want > 0).then_some((room, want))
    }

    /// A task of pool `pool` ended here: once its queue is down to where
    /// it claims again, its demand is posted to the claimer, which claims
    /// without waiting for the engine (a check of two lengths while the
    /// queue is deeper).
    pub(super) fn cluster_task_left(&self, pool: PoolId) {
        if !self.cluster.shared {
            return;
        }
        let Some(pg) = self.durable_store().and_then(|s| s.postgres()) else {
            return;
        };
        if let Some((room, want)) = self.pool_want(pool) {
            pg.post_demand(room.name, want, self.wall_ms(), || {
                room.handlers.iter().cloned().collect()
            });
        }
    }

    /// What each started pool can take: enough for its workers and the
    /// tasks it claims ahead of them, once its queue here is down to three
    /// quarters of those (or its size).
    pub fn cluster_demand(&self) -> Vec<Demand> {
        self.pools
            .ids()
            .filter_map(|pool| self.pool_want(pool))
            .map(|(room, want)| Demand {
                pool: room.name.to_owned(),
                handlers: room.handlers.iter().cloned().collect(),
                want,
            })
            .collect()
    }

    /// Tasks this node claimed for pool `pool` (in queue order): queued
    /// here, as restored tasks are, and dispatched. A task added here keeps
    /// its id when it can; any other gets a new id announced to the host
    /// for adoption ([`Engine::take_requeued_task`]). Returns
    /// the keys of the tasks it could not take (no such pool any more).
    pub fn cluster_deliver(&mut self, pool: &str, rows: Vec<TaskRow>) -> Vec<String> {
        let Some(id) = self.pools.find(pool) else {
            return rows.into_iter().map(|r| r.key).collect();
        };
        let mut refused = Vec::new();
        for row in rows {
            // A task offered here comes back under the id it was added
            // with when it can: the host's live object for it stands as it
            // is. Under a new id, the host moves the object over
            // ([`RestoredTask::replaces`]).
            let offered = self.cluster.take_offered(&row.key).map(|o| o.task);
            let task = match offered {
                Some(id) => self.pools.reuse_task_id(id),
                None => self.pools.allocate_task_id(),
            };
            let kept = offered == Some(task);
            let replaces = offered.filter(|_| !kept);
            let spec = TaskSpec {
                name: Some(row.name.clone()),
                priority: row.priority,
                handler: Some(row.handler.clone()),
            };
            let arrangement = self.pools.next_arrangement(id);
            if !self.pools.requeue(id, task, spec, arrangement) {
                refused.push(row.key);
                continue;
            }
            if !kept {
                self.observed.requeued.insert(
                    task,
                    (
                        id,
                        RestoredTask {
                            task,
                            name: row.name.clone(),
                            handler: row.handler.clone(),
                            payload: row.payload.clone(),
                            priority: row.priority,
                            arrangement,
                            key: row.key.clone(),
                            attempt: row.attempt.saturating_sub(1),
                            run_at_ms: None,
                            replaces,
                        },
                    ),
                );
            }
            // The row's strings move into the store's record of the task.
            if let Some(h) = &self.store {
                h.adopt(task, row);
            }
            self.emit(Event::TaskStatus {
                task,
                status: super::types::TaskStatus::Idle,
                worker: None,
            });
        }
        self.observed.touch();
        self.pool_dispatch(id);
        refused
    }

    /// Stores a durable task for any node to claim (see the module's
    /// docs): it is not queued here. Returns its id, arrangement id and key.
    pub(super) fn offer(
        &mut self,
        pool: PoolId,
        pool_name: &str,
        spec: TaskSpec,
        payload: Option<String>,
        key: Option<String>,
        run_at_ms: Option<f64>,
    ) -> Result<(TaskId, u64, String), AddError> {
        let (Some(h), Some(name), Some(_)) = (&self.store, &spec.name, &spec.handler) else {
            return Err(AddError::NoPool);
        };
        if self.pools.pending_named(pool, name).is_some()
            || self.cluster.offered_named(pool, name).is_some()
        {
            return Err(AddError::Duplicate);
        }
        let key = key.unwrap_or_else(|| h.store.new_key());
        let arrangement = self.pools.take_arrangement(pool);
        // Its arrangement orders the rows of a batch as they were added.
        h.store.send(Op::TaskInsert(new_task_row(
            &key,
            pool_name,
            &spec,
            payload,
            arrangement,
            run_at_ms,
            false,
        )));
        let task = self.pools.allocate_task_id();
        self.cluster
            .offer(key.clone(), name, Offered { task, pool });
        self.observed.touch();
        Ok((task, arrangement, key))
    }

    /// Cancels the offered task of pool `pool` called `name`: its row goes,
    /// unless a node claimed it already (it runs there). False when there
    /// is none.
    pub(super) fn cluster_cancel_offered(&mut self, pool: PoolId, name: &str) -> bool {
        let Some(key) = self.cluster.offered_named(pool, name).map(str::to_owned) else {
            return false;
        };
        let Some(o) = self.cluster.take_offered(&key) else {
            return false;
        };
        if let Some(h) = &self.store {
            h.store.send(Op::TaskDelete(key));
        }
        self.emit(Event::TaskDone {
            task: o.task,
            outcome: TaskOutcome::Cancelled,
        });
        true
    }

    /// A task added here and offered ended on another node (`error`: the
    /// message its failure has here, `None`: it completed): its live
    /// object learns it, as a task done (completed without a value here,
    /// or failed with that message), and this node forgets it. False for a
    /// key it does not hold.
    pub fn cluster_ended_elsewhere(&mut self, key: &str, error: Option<String>) -> bool {
        let Some(o) = self.cluster.take_offered(key) else {
            return false;
        };
        let outcome = match error {
            None => TaskOutcome::Completed { call: 0 },
            Some(message) => TaskOutcome::Failed(crate::event::Failure::Engine(
                crate::error::EngineError::Postgres {
                    target: self
                        .durable_store()
                        .map(|s| s.describe())
                        .unwrap_or_default(),
                    message,
                },
            )),
        };
        self.emit(Event::TaskDone {
            task: o.task,
            outcome,
        });
        true
    }

    /// The ids of the units this node schedules: interval and calendar
    /// workers while started, and the processes the sweep runs.
    pub fn cluster_schedule_ids(&self) -> Vec<String> {
        let mut slots: Vec<Slot> = self.sched.next_fires().map(|(s, _)| s).collect();
        slots.extend(self.calendar_slots());
        if self.sched.started {
            slots.extend(self.registry.processes());
        }
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .filter_map(|s| self.registry.get(s).map(|u| u.id.to_string()))
            .collect()
    }

    /// This node holds the schedules of units `ids` until `until`.
    pub fn cluster_hold(&mut self, ids: Vec<String>, until: Instant) {
        let mut held = IdMap::default();
        for id in ids {
            if let Some(slot) = self.registry.slot_of(&id) {
                held.insert(slot, ());
            }
        }
        self.cluster.held = held;
        self.cluster.held_until = Some(until);
    }

    /// Whether a scheduled fire of `slot` runs here: always without a
    /// shared store; with one, while this node holds the unit's lease.
    pub(super) fn cluster_may_fire(&self, slot: Slot) -> bool {
        if !self.cluster.shared {
            return true;
        }
        self.cluster.held.contains_key(&slot)
            && self
                .cluster
                .held_until
                .is_some_and(|until| Instant::now() < until)
    }

    /// The keys of the tasks added here and stored for any node to claim
    /// (not claimed by this node since).
    pub fn cluster_offered_keys(&self) -> Vec<String> {
        self.cluster.offered.keys()
    }

    /// The keys of the durable tasks this node holds (queued or running).
    pub fn cluster_task_keys(&self) -> Vec<String> {
        self.store
            .as_deref()
            .map_or_else(Vec::new, |h| h.task_keys())
    }

    /// This node's lease ran out: the tasks it holds and has not started
    /// may run elsewhere now, so they leave its queues (as dropped), and
    /// it holds no schedule until its next heartbeat.
    pub fn cluster_lease_lost(&mut self) {
        self.cluster.held = IdMap::default();
        self.cluster.held_until = None;
        for pool in self.pools.ids() {
            let store = self.store.as_deref();
            let dropped = self
                .pools
                .drain_queued(pool, |t| !store.is_some_and(|s| s.holds_task(t)));
            let name = self.pools.name(pool).unwrap_or_default().to_owned();
            for (task, task_name) in dropped {
                if let Some(h) = &self.store {
                    h.forget(task);
                }
                let outcome = TaskOutcome::Dropped(crate::error::EngineError::Postgres {
                    target: self.durable_store().map(|s| s.describe()).unwrap_or_default(),
                    message: format!(
                        "this node lost its lease; task of pool \"{name}\" was handed to another node"
                    ),
                });
                self.observe_task_left(task, pool, task_name, &outcome, None);
                self.emit(Event::TaskDone { task, outcome });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ClusterState {
        let mut c = ClusterState::default();
        c.set_key_prefix("abc");
        c
    }

    fn offer(c: &mut ClusterState, key: &str, name: &str, task: TaskId) {
        c.offer(key.to_owned(), name, Offered { task, pool: 1 });
    }

    #[test]
    fn the_default_prefetch_follows_the_pace_of_the_pool_between_its_bounds() {
        // Nothing known yet (or only runs that took no time): size + 8.
        assert_eq!(default_prefetch(4, None), 12);
        assert_eq!(default_prefetch(4, Some(0.0)), 12);
        // Long tasks: never fewer than size + 8.
        assert_eq!(default_prefetch(4, Some(100.0)), 12);
        assert_eq!(default_prefetch(4, Some(20.0)), 12);
        // What 4 workers start in 50 ms at 1 ms a task, at 0.5 ms.
        assert_eq!(default_prefetch(4, Some(1.0)), 200);
        assert_eq!(default_prefetch(4, Some(0.5)), 400);
        // Very short tasks: the bound.
        assert_eq!(default_prefetch(4, Some(0.02)), PREFETCH_MAX);
        assert_eq!(default_prefetch(4, Some(1e-9)), PREFETCH_MAX);
        // A pool larger than the bound still gets its size + 8.
        assert_eq!(default_prefetch(2000, Some(0.02)), 2008);
    }

    #[test]
    fn own_keys_go_to_the_table_and_come_back_in_any_order() {
        let mut c = state();
        for n in 1..=5u64 {
            offer(&mut c, &format!("abc-{n}"), &format!("t{n}"), n * 10);
        }
        assert_eq!(c.offered.in_table, 5);
        assert!(c.offered.others.is_empty());
        assert_eq!(c.take_offered("abc-3").map(|o| o.task), Some(30));
        assert_eq!(c.take_offered("abc-3").map(|o| o.task), None);
        assert_eq!(c.take_offered("abc-1").map(|o| o.task), Some(10));
        // The front is trimmed up to the first task still offered.
        assert_eq!(c.offered.base, 2);
        assert_eq!(c.offered_named(1, "t2"), Some("abc-2"));
        assert_eq!(c.offered_named(1, "t3"), None);
        for n in [2u64, 4, 5] {
            assert_eq!(
                c.take_offered(&format!("abc-{n}")).map(|o| o.task),
                Some(n * 10)
            );
        }
        assert_eq!(c.offered.len(), 0);
        assert!(c.offered.table.is_empty());
    }

    #[test]
    fn the_keys_held_are_listed_whether_in_the_table_or_the_map() {
        let mut c = state();
        for (i, key) in ["abc-7", "abc-8", "abc-9", "xyz-1", "abc-08"]
            .into_iter()
            .enumerate()
        {
            offer(&mut c, key, &format!("t{i}"), i as TaskId);
        }
        c.take_offered("abc-8");
        let mut keys = c.offered.keys();
        keys.sort();
        assert_eq!(keys, ["abc-08", "abc-7", "abc-9", "xyz-1"]);
    }

    #[test]
    fn other_keys_and_look_alikes_go_to_the_map() {
        let mut c = state();
        for (i, key) in [
            "xyz-1",
            "abc-01",
            "abc-+2",
            "abc-",
            "abc-3x",
            "abc-99999999999999999999",
        ]
        .iter()
        .enumerate()
        {
            offer(&mut c, key, &format!("o{i}"), i as TaskId);
        }
        assert_eq!(c.offered.in_table, 0);
        assert_eq!(c.offered.others.len(), 6);
        assert!(c.offered.get("abc-01").is_some());
        assert!(c.offered.get("abc-1").is_none());
        assert_eq!(c.take_offered("abc-+2").map(|o| o.task), Some(2));
        // A key of ours far ahead of the table goes to the map too, and is found there.
        offer(&mut c, "abc-7", "a", 70);
        offer(&mut c, "abc-100000", "b", 80);
        assert_eq!(c.offered.in_table, 1);
        assert_eq!(c.offered.get("abc-100000").map(|o| o.task), Some(80));
        assert_eq!(c.take_offered("abc-100000").map(|o| o.task), Some(80));
        assert_eq!(c.take_offered("abc-7").map(|o| o.task), Some(70));
    }

    #[test]
    fn names_of_tasks_taken_out_are_dropped_once_they_outnumber_the_offered() {
        let mut c = state();
        for n in 1..=3000u64 {
            offer(&mut c, &format!("abc-{n}"), &format!("t{n}"), n);
            assert!(c.take_offered(&format!("abc-{n}")).is_some());
        }
        assert!(c.names_len <= 1025, "{} names kept", c.names_len);
        offer(&mut c, "abc-5000", "t1", 1);
        assert_eq!(c.offered_named(1, "t1"), Some("abc-5000"));
        assert_eq!(c.offered_named(2, "t1"), None);
    }
}
