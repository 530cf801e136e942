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

use std::collections::HashMap;
use std::time::Instant;

use super::durable::new_task_row;
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
    pub name: String,
}

#[derive(Debug, Default)]
pub(super) struct ClusterState {
    /// Whether the store is shared (set with the store).
    pub shared: bool,
    /// Tasks a pool claims ahead of its workers (`None`: its size + 8).
    pub prefetch: Option<usize>,
    /// Offered tasks by key.
    offered: HashMap<String, Offered>,
    /// Their keys by pool and name (a name is refused while a task of that
    /// name waits, here or offered).
    offered_names: IdMap<PoolId, HashMap<String, String>>,
    /// The units whose schedules this node holds, and until when.
    held: IdMap<Slot, ()>,
    held_until: Option<Instant>,
}

impl ClusterState {
    /// The key of the offered task of pool `pool` called `name`.
    pub(super) fn offered_named(&self, pool: PoolId, name: &str) -> Option<&str> {
        self.offered_names.get(&pool)?.get(name).map(String::as_str)
    }

    fn offer(&mut self, key: String, offered: Offered) {
        self.offered_names
            .entry(offered.pool)
            .or_default()
            .insert(offered.name.clone(), key.clone());
        self.offered.insert(key, offered);
    }

    /// Takes the offered task of key `key` (claimed, or cancelled) out.
    fn take_offered(&mut self, key: &str) -> Option<Offered> {
        let o = self.offered.remove(key)?;
        if let Some(names) = self.offered_names.get_mut(&o.pool) {
            names.remove(&o.name);
            if names.is_empty() {
                self.offered_names.remove(&o.pool);
            }
        }
        Some(o)
    }
}

/// Tasks a pool claims ahead of its workers by default: enough that a
/// worker that finishes finds the next task without waiting for the
/// server, few enough that other nodes are not kept waiting for them.
fn default_prefetch(size: usize) -> usize {
    size + 8
}

impl Engine {
    /// Whether the store is shared with other managers.
    pub fn is_clustered(&self) -> bool {
        self.cluster.shared
    }

    /// Whether the task of key `key` was added here and is stored for any
    /// node to claim (not queued here yet).
    pub fn is_offered(&self, key: &str) -> bool {
        self.cluster.offered.contains_key(key)
    }

    /// Wakes the store's claimer: a pool may take more.
    pub(super) fn cluster_wake(&self) {
        if let Some(pg) = self.durable_store().and_then(|s| s.postgres()) {
            pg.wake_claimer();
        }
    }

    /// Tasks pool `pool` claims ahead of its workers, and the queue length
    /// at or below which it claims again.
    fn ahead(&self, size: usize) -> (usize, usize) {
        let ahead = self
            .cluster
            .prefetch
            .unwrap_or_else(|| default_prefetch(size));
        (ahead, size.max(ahead * 3 / 4))
    }

    /// A task of pool `pool` ended here: if its queue is down to where it
    /// claims again, the claimer looks (a check of two lengths; the
    /// claimer's own look takes the engine's lock, so it is not woken for
    /// every task).
    pub(super) fn cluster_task_left(&self, pool: PoolId) {
        if !self.cluster.shared {
            return;
        }
        let (_, low) = self.ahead(self.pools.size(pool));
        if self.pools.queue_len(pool) <= low {
            self.cluster_wake();
        }
    }

    /// What each started pool can take: enough for its workers and the
    /// tasks it claims ahead of them, once its queue here is down to three quarters of
    /// those (or its size).
    pub fn cluster_demand(&self) -> Vec<Demand> {
        let mut demand = Vec::new();
        for pool in self.pools.ids() {
            let Some(room) = self.pools.room(pool) else {
                continue;
            };
            if !room.started || room.size == 0 || room.handlers.is_empty() {
                continue;
            }
            // It claims again once a quarter of what it claimed ahead is taken
            // (the claim arrives before the queue runs dry).
            let (ahead, low) = self.ahead(room.size);
            if room.queued > low {
                continue;
            }
            let want = (room.size + ahead).saturating_sub(room.busy + room.queued);
            if want > 0 {
                demand.push(Demand {
                    pool: room.name,
                    handlers: room.handlers,
                    want,
                });
            }
        }
        demand
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
            if let Some(h) = &self.store {
                h.adopt(task, &row, pool);
            }
            if !kept {
                self.observed.requeued.insert(
                    task,
                    (
                        id,
                        RestoredTask {
                            task,
                            name: row.name,
                            handler: row.handler,
                            payload: row.payload,
                            priority: row.priority,
                            arrangement,
                            key: row.key,
                            attempt: row.attempt.saturating_sub(1),
                            run_at_ms: None,
                            replaces,
                        },
                    ),
                );
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
        let name = name.clone();
        let task = self.pools.allocate_task_id();
        self.cluster
            .offer(key.clone(), Offered { task, pool, name });
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

    /// A task added here and offered ended on another node (`error`: how
    /// it failed there, `None`: it completed): its live object learns it,
    /// as a task done (completed without a value here, or failed with that
    /// error), and this node forgets it. False for a key it does not
    /// hold.
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
                    message: format!("the task failed on another node: {message}"),
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
            .filter_map(|s| self.registry.get(s).map(|u| u.id.clone()))
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
