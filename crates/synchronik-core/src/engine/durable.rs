//! The engine's side of the durable store ([`crate::store`]).
//!
//! With a store set, the engine itself decides what is written and when:
//!
//! - a unit's row (status, enabled, run count, execution times, last run,
//!   and the host's metadata) whenever one of those changed — pool workers
//!   excepted, their state is the pool's machinery;
//! - a durable pool task (one that names a handler and was added with
//!   [`Engine::pool_add_durable`]) when it is queued, each time an attempt
//!   starts (attempt + 1, `running`), and its deletion when it ends;
//! - one history row per attempt of a worker and of a durable task.
//!
//! It observes the engine at two points only — every [`Event`] it emits and
//! every [`Invocation`] it starts — and batches unit rows until the end of
//! the step ([`Engine::store_sync`], called by the [`crate::Runtime`] after
//! every call into the engine), so a run that changes a unit four times
//! writes it once.

use std::collections::HashSet;

use parking_lot::Mutex;

use super::observed::RetrySpec;
use super::state::may_start;
use super::threads::{ThreadEvent, ThreadOutcome, ThreadPoolId};
use super::types::{AddError, PoolId, RestoredState, RestoredTask, TaskSpec};
use super::Engine;
use crate::error::EngineError;
use crate::event::{CallId, Event, Failure, Invocation, TaskId, TaskOutcome};
use crate::ids::{IdMap, IdSet};
use crate::store::{HistoryRow, Op, Store, TaskRow, UnitRow};
use crate::unit::{Slot, Status};

#[derive(Debug)]
struct Durable {
    key: String,
    pool: String,
    name: String,
    /// What queueing it again after a failure needs (see
    /// [`Engine::pool_retry_task`]): its handler, payload and priority as
    /// stored.
    handler: String,
    payload: Option<String>,
    priority: f64,
    attempt: u32,
    started_ms: f64,
    worker: Option<String>,
}

/// A durable task of a thread pool (see [`Engine::thread_add`]).
#[derive(Debug)]
struct DurableThread {
    key: String,
    pool: String,
    name: String,
    attempt: u32,
    started_ms: f64,
    /// The thread that runs it, once it started.
    thread: Option<String>,
}

/// What the row of a new durable thread pool task holds.
#[derive(Debug)]
pub(super) struct ThreadTaskRow {
    pub pool: String,
    pub name: String,
    pub handler: String,
    pub payload: Option<String>,
    pub priority: f64,
    pub arrangement: u64,
}

#[derive(Debug)]
struct OpenAttempt {
    call: CallId,
    unit: String,
    attempt: u32,
    started_ms: f64,
}

#[derive(Debug, Default)]
struct HookState {
    /// Units whose row must be written at the end of the step.
    dirty: IdSet<Slot>,
    /// Metadata (JSON) to write with a unit's next row.
    meta: IdMap<Slot, String>,
    /// Ids of units that have a row, by slot (cleared when the unit is
    /// released, before its slot can name another unit).
    ids: IdMap<Slot, String>,
    tasks: IdMap<TaskId, Durable>,
    /// Durable tasks of thread pools, by their (thread pool) task id.
    thread_tasks: IdMap<TaskId, DurableThread>,
    /// Attempts of workers in flight, for their history rows.
    open: IdMap<Slot, Vec<OpenAttempt>>,
    restored_pools: HashSet<String>,
}

/// The store and what the engine keeps to write it.
pub(super) struct StoreHook {
    pub(super) store: Store,
    history: bool,
    state: Mutex<HookState>,
}

impl std::fmt::Debug for StoreHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHook")
            .field("store", &self.store)
            .finish()
    }
}

fn outcome_of(failure: &Failure) -> &'static str {
    match failure {
        Failure::Engine(EngineError::Stopped { .. }) => "stopped",
        Failure::Engine(EngineError::Cancelled { .. }) => "cancelled",
        Failure::Engine(EngineError::Timeout { .. }) => "timeout",
        _ => "error",
    }
}

impl StoreHook {
    /// Whether pool task `task` is stored.
    pub(super) fn holds_task(&self, task: TaskId) -> bool {
        self.state.lock().tasks.contains_key(&task)
    }

    /// What queueing stored task `task` again needs, while it is stored
    /// (before its end is seen).
    pub(super) fn retry_spec(&self, task: TaskId) -> Option<RetrySpec> {
        let s = self.state.lock();
        let d = s.tasks.get(&task)?;
        Some(RetrySpec {
            name: d.name.clone(),
            handler: d.handler.clone(),
            payload: d.payload.clone(),
            priority: d.priority,
            key: d.key.clone(),
        })
    }

    /// A task this node claimed from a shared store is queued as `task`.
    /// The claim counted its attempt already (`row.attempt`, committed
    /// before the task reaches this node, so that a node that dies while
    /// running it leaves the count right): its start does not count again.
    pub(super) fn adopt(&self, task: TaskId, row: TaskRow) {
        self.state.lock().tasks.insert(
            task,
            Durable {
                key: row.key,
                pool: row.pool,
                name: row.name,
                handler: row.handler,
                payload: row.payload,
                priority: row.priority,
                attempt: row.attempt.saturating_sub(1),
                started_ms: 0.0,
                worker: None,
            },
        );
    }

    /// The keys of the stored tasks this engine holds (queued or running).
    pub(super) fn task_keys(&self) -> Vec<String> {
        self.state
            .lock()
            .tasks
            .values()
            .map(|d| d.key.clone())
            .collect()
    }

    /// Forgets stored task `task` without writing anything (it is no
    /// longer this node's).
    pub(super) fn forget(&self, task: TaskId) {
        self.state.lock().tasks.remove(&task);
    }

    /// Whether thread pool task `task` is stored.
    pub(super) fn holds_thread_task(&self, task: TaskId) -> bool {
        self.state.lock().thread_tasks.contains_key(&task)
    }

    /// A named thread pool task was queued: stores it (or, brought back
    /// after a restart with its key and attempts, marks it queued again).
    /// Returns its idempotency key.
    pub(super) fn thread_task_added(
        &self,
        task: TaskId,
        row: ThreadTaskRow,
        restored: Option<(String, u32)>,
    ) -> String {
        let (key, attempt) = match restored {
            Some((key, attempt)) => {
                self.store.send(Op::TaskRequeue { key: key.clone() });
                (key, attempt)
            }
            None => {
                let key = self.store.new_key();
                self.store.send(Op::TaskInsert(TaskRow {
                    key: key.clone(),
                    pool: row.pool.clone(),
                    name: row.name.clone(),
                    handler: row.handler,
                    payload: row.payload,
                    priority: row.priority,
                    arrangement: row.arrangement,
                    attempt: 0,
                    status: "queued".into(),
                    thread: true,
                    run_at_ms: None,
                    owned: true,
                }));
                (key, 0)
            }
        };
        self.state.lock().thread_tasks.insert(
            task,
            DurableThread {
                key: key.clone(),
                pool: row.pool,
                name: row.name,
                attempt,
                started_ms: 0.0,
                thread: None,
            },
        );
        key
    }

    /// A thread takes stored task `run.task`: an attempt starts (counted
    /// across restarts); the run learns its key and attempt.
    pub(super) fn thread_task_started(
        &self,
        run: &mut crate::engine::ThreadTaskRun,
        now_ms: f64,
        thread: String,
    ) {
        let mut s = self.state.lock();
        let Some(d) = s.thread_tasks.get_mut(&run.task) else {
            return;
        };
        d.attempt += 1;
        d.started_ms = now_ms;
        d.thread = Some(thread);
        run.key = Some(d.key.clone());
        run.attempt = d.attempt;
        self.store.send(Op::TaskStart {
            key: d.key.clone(),
            attempt: d.attempt,
        });
    }

    /// A stored thread pool task ended: its row goes, unless the engine
    /// ended it (the pool closed or destroyed, the manager stopped): then
    /// it stays, to run again after a restart.
    fn thread_task_done(&self, task: TaskId, outcome: &ThreadOutcome, now_ms: f64) {
        let Some(d) = self.state.lock().thread_tasks.remove(&task) else {
            return;
        };
        let kept = matches!(
            outcome,
            ThreadOutcome::Failed {
                error: EngineError::Dropped { .. }
                    | EngineError::ThreadPoolClosed { .. }
                    | EngineError::ThreadStopped { .. },
                ..
            }
        );
        if kept {
            self.store.send(Op::TaskRequeue { key: d.key.clone() });
        } else {
            self.store.send(Op::TaskDelete(d.key.clone()));
        }
        let Some(thread) = d.thread else { return };
        if !self.history {
            return;
        }
        let (outcome, error) = match outcome {
            ThreadOutcome::Returned(_) => ("completed", None),
            // What it threw is serialized for the host: the row says so.
            ThreadOutcome::Threw(_) => ("error", Some("the handler threw".to_owned())),
            ThreadOutcome::Aborted => ("cancelled", None),
            ThreadOutcome::Failed { error, .. } => (
                if kept { "stopped" } else { "error" },
                Some(error.to_string()),
            ),
        };
        self.store.send(Op::History(HistoryRow {
            unit_id: thread,
            task_key: Some(d.key),
            task_name: Some(d.name),
            pool: Some(d.pool),
            attempt: d.attempt,
            started_ms: d.started_ms,
            ended_ms: now_ms,
            outcome: outcome.to_owned(),
            error,
        }));
    }

    fn history_row(&self, open: OpenAttempt, now: f64, outcome: &str, error: Option<String>) {
        self.store.send(Op::History(HistoryRow {
            unit_id: open.unit,
            task_key: None,
            task_name: None,
            pool: None,
            attempt: open.attempt,
            started_ms: open.started_ms,
            ended_ms: now,
            outcome: outcome.to_owned(),
            error,
        }));
    }

    /// Takes the open attempt of `slot` that matches: the call when known,
    /// else the attempt number, else the oldest.
    fn take_open(
        state: &mut HookState,
        slot: Slot,
        call: Option<CallId>,
        attempt: Option<u32>,
    ) -> Option<OpenAttempt> {
        let list = state.open.get_mut(&slot)?;
        let at = call
            .and_then(|c| list.iter().position(|o| o.call == c))
            .or_else(|| attempt.and_then(|a| list.iter().position(|o| o.attempt == a)))
            .or(if list.is_empty() { None } else { Some(0) })?;
        let open = list.remove(at);
        if list.is_empty() {
            state.open.remove(&slot);
        }
        Some(open)
    }

    /// Sees every event the engine emits, before the host does.
    pub(super) fn on_event(&self, event: &Event, engine: &Engine) {
        match event {
            Event::Status { unit, .. }
            | Event::Enabled { unit, .. }
            | Event::Stats { unit, .. }
            | Event::LastRun { unit, .. }
                if !engine.is_pool_worker(*unit) =>
            {
                self.state.lock().dirty.insert(*unit);
            }
            Event::Released { unit } => {
                let mut s = self.state.lock();
                s.dirty.remove(unit);
                s.meta.remove(unit);
                s.open.remove(unit);
                if let Some(id) = s.ids.remove(unit) {
                    self.store.send(Op::UnitDelete(id));
                }
            }
            Event::Retry {
                unit,
                attempt,
                failure,
                ..
            } if self.history => {
                let call = match failure {
                    Failure::User { call, .. } => Some(*call),
                    Failure::Engine(_) => None,
                };
                let open = Self::take_open(&mut self.state.lock(), *unit, call, Some(*attempt));
                if let Some(open) = open {
                    let now = engine.wall_now_ms();
                    self.history_row(open, now, outcome_of(failure), Some(failure.message()));
                }
            }
            Event::Completed {
                unit,
                call: Some(call),
                ..
            } if self.history => {
                let open = Self::take_open(&mut self.state.lock(), *unit, Some(*call), None);
                if let Some(open) = open {
                    self.history_row(open, engine.wall_now_ms(), "completed", None);
                }
            }
            Event::Errored {
                unit,
                failure,
                culprit: None,
            } if self.history => {
                let call = match failure {
                    Failure::User { call, .. } => Some(*call),
                    Failure::Engine(_) => None,
                };
                let open = Self::take_open(&mut self.state.lock(), *unit, call, None);
                if let Some(open) = open {
                    let now = engine.wall_now_ms();
                    self.history_row(open, now, outcome_of(failure), Some(failure.message()));
                }
            }
            Event::Thread(ThreadEvent::Done { task, outcome }) => {
                self.thread_task_done(*task, outcome, engine.wall_now_ms());
            }
            Event::TaskDone { task, outcome } => {
                let Some(d) = self.state.lock().tasks.remove(task) else {
                    return;
                };
                let stopped = matches!(
                    outcome,
                    TaskOutcome::Failed(Failure::Engine(
                        EngineError::Stopped { .. } | EngineError::Released { .. }
                    ))
                );
                if stopped {
                    // Ended by the engine, not by the task: it stays stored
                    // and runs again (attempt + 1) after a restart.
                    self.store.send(Op::TaskRequeue { key: d.key.clone() });
                } else {
                    let error = match outcome {
                        TaskOutcome::Completed { .. } => None,
                        TaskOutcome::Cancelled => Some("it was cancelled".to_owned()),
                        TaskOutcome::Dropped(e) => Some(e.to_string()),
                        TaskOutcome::Failed(f) => Some(f.message()),
                    };
                    self.store.send(Op::TaskEnded {
                        key: d.key.clone(),
                        error,
                    });
                }
                let Some(worker) = d.worker else { return };
                if !self.history {
                    return;
                }
                let (outcome, error) = match outcome {
                    TaskOutcome::Completed { .. } => ("completed", None),
                    TaskOutcome::Cancelled => ("cancelled", None),
                    TaskOutcome::Dropped(e) => ("cancelled", Some(e.to_string())),
                    TaskOutcome::Failed(f) => (outcome_of(f), Some(f.message())),
                };
                self.store.send(Op::History(HistoryRow {
                    unit_id: worker,
                    task_key: Some(d.key),
                    task_name: Some(d.name),
                    pool: Some(d.pool),
                    attempt: d.attempt,
                    started_ms: d.started_ms,
                    ended_ms: engine.wall_now_ms(),
                    outcome: outcome.to_owned(),
                    error,
                }));
            }
            _ => {}
        }
    }

    /// Sees every attempt the engine starts; a durable task's attempt
    /// number is its count across restarts.
    pub(super) fn on_invoke(&self, mut invocation: Invocation, engine: &Engine) -> Invocation {
        match invocation.task {
            Some(task) => {
                let mut s = self.state.lock();
                if let Some(d) = s.tasks.get_mut(&task) {
                    d.attempt += 1;
                    d.started_ms = engine.wall_now_ms();
                    d.worker = engine
                        .registry
                        .get(invocation.unit)
                        .map(|u| u.id.to_string());
                    invocation.attempt = d.attempt;
                    self.store.send(Op::TaskStart {
                        key: d.key.clone(),
                        attempt: d.attempt,
                    });
                }
            }
            None if self.history => {
                if let Some(unit) = engine.registry.get(invocation.unit) {
                    let open = OpenAttempt {
                        call: invocation.call,
                        unit: unit.id.to_string(),
                        attempt: invocation.attempt,
                        started_ms: engine.wall_now_ms(),
                    };
                    self.state
                        .lock()
                        .open
                        .entry(invocation.unit)
                        .or_default()
                        .push(open);
                }
            }
            None => {}
        }
        invocation
    }
}

/// The row of a new durable pool task (no attempt yet, queued); `owned`:
/// this node's (see [`TaskRow::owned`]).
pub(super) fn new_task_row(
    key: &str,
    pool: &str,
    spec: &TaskSpec,
    payload: Option<String>,
    arrangement: u64,
    run_at_ms: Option<f64>,
    owned: bool,
) -> TaskRow {
    TaskRow {
        key: key.to_owned(),
        pool: pool.to_owned(),
        name: spec.name.clone().unwrap_or_default(),
        handler: spec.handler.clone().unwrap_or_default(),
        payload,
        priority: if spec.priority.is_nan() {
            0.0
        } else {
            spec.priority
        },
        arrangement,
        attempt: 0,
        status: "queued".into(),
        thread: false,
        run_at_ms,
        owned,
    }
}

impl Engine {
    /// Writes state through `store` from now on.
    pub fn set_store(&mut self, store: Store) {
        let history = store.keeps_history();
        self.cluster.shared = store.is_shared();
        self.cluster.prefetch = store.postgres().and_then(|p| p.prefetch());
        self.cluster.set_key_prefix(store.key_prefix());
        self.store = Some(Box::new(StoreHook {
            store,
            history,
            state: Mutex::new(HookState::default()),
        }));
    }

    /// The store, if one is set.
    pub fn durable_store(&self) -> Option<&Store> {
        self.store.as_ref().map(|h| &h.store)
    }

    /// Every unit row stored (for the host to hydrate units it registers).
    pub fn stored_units(&self) -> Result<Vec<UnitRow>, EngineError> {
        match self.durable_store() {
            Some(s) => s.load_units(),
            None => Ok(Vec::new()),
        }
    }

    /// Writes the unit's row now (at the end of this step) with the host's
    /// metadata `meta` (JSON text; `None` keeps what is stored). Pool
    /// workers are not stored. Returns false for an unknown id.
    pub fn store_unit(&mut self, id: &str, meta: Option<String>) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        if self.is_pool_worker(slot) {
            return true;
        }
        if let Some(h) = &self.store {
            let mut s = h.state.lock();
            s.dirty.insert(slot);
            if let Some(m) = meta {
                s.meta.insert(slot, m);
            }
        }
        true
    }

    /// Marks the unit's row to be written at the end of this step (its
    /// schedule fired). Pool workers are not stored.
    pub(super) fn store_touch(&mut self, slot: Slot) {
        if let Some(h) = &self.store {
            if !self.is_pool_worker(slot) {
                h.state.lock().dirty.insert(slot);
            }
        }
    }

    /// Restores a unit from its stored row; see [`Engine::restore`].
    pub fn restore_row(&mut self, row: &UnitRow) -> bool {
        let state = RestoredState {
            status: Status::parse(&row.status),
            enabled: Some(row.enabled),
            run_count: Some(row.run_count),
            execution_times_ms: row.execution_times_ms.clone(),
            last_run_ms: row.last_run_ms,
            last_fire_ms: row.last_fire_ms,
        };
        self.restore(&row.id, &state)
    }

    /// Sends the rows of the units changed in this step. The runtime calls
    /// it after every call into the engine; without a store it does nothing.
    pub fn store_sync(&mut self) {
        self.unpin();
        let Some(h) = &self.store else { return };
        let (dirty, mut meta) = {
            let mut s = h.state.lock();
            if s.dirty.is_empty() {
                return;
            }
            (std::mem::take(&mut s.dirty), std::mem::take(&mut s.meta))
        };
        let mut written = Vec::with_capacity(dirty.len());
        for slot in dirty {
            let Some(u) = self.registry.get(slot) else {
                continue;
            };
            h.store.send(Op::Unit(UnitRow {
                id: u.id.to_string(),
                status: u.status.as_str().to_owned(),
                enabled: u.enabled,
                run_count: u.meta().run_count,
                execution_times_ms: u.meta().execution_times_ms().iter().copied().collect(),
                last_run_ms: u.last_run_ms(),
                last_fire_ms: self.calendar.last_fire_ms(slot),
                meta: meta.remove(&slot),
            }));
            written.push((slot, u.id.to_string()));
        }
        let mut s = h.state.lock();
        for (slot, id) in written {
            s.ids.insert(slot, id);
        }
    }

    /// Queues a durable task: like [`Engine::pool_add`], and stored with
    /// its payload (JSON text) until it ends. Returns the task id, the
    /// arrangement id and the idempotency key. Without a store, or for a
    /// task without a handler, the task is queued in memory only and the
    /// key is empty.
    pub fn pool_add_durable(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
        payload: Option<String>,
    ) -> Result<(TaskId, u64, String), AddError> {
        self.add_durable(pool, spec, payload, None, true, None)
    }

    /// [`Engine::pool_add_durable`] for a task queued at `at_ms` (see
    /// [`Engine::pool_add_at`]); its time is stored with it.
    pub fn pool_add_durable_at(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
        payload: Option<String>,
        at_ms: f64,
    ) -> Result<(TaskId, u64, String), AddError> {
        self.add_durable(pool, spec, payload, None, true, Some(at_ms))
    }

    /// [`Engine::pool_add_durable`], with the idempotency key `key` (a new
    /// one when `None`); `dispatch` false queues the task without starting
    /// it (the caller dispatches).
    pub(super) fn add_durable(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
        payload: Option<String>,
        key: Option<String>,
        dispatch: bool,
        run_at_ms: Option<f64>,
    ) -> Result<(TaskId, u64, String), AddError> {
        let (Some(h), Some(name), Some(handler)) = (&self.store, &spec.name, &spec.handler) else {
            let added = match run_at_ms {
                Some(at) => self.pool_add_at(pool, spec, at),
                None => self.queue_task(pool, spec, dispatch),
            };
            return added.map(|(t, a)| (t, a, String::new()));
        };
        let pool_name = self.pool_name(pool).ok_or(AddError::NoPool)?.to_owned();
        if self.cluster.shared {
            let registry = &self.registry;
            let may_run = |w: Slot| registry.get(w).is_some_and(|u| may_start(u, false));
            if run_at_ms.is_some() || !self.pools.starts_now(pool, handler, may_run) {
                return self.offer(pool, &pool_name, spec, payload, key, run_at_ms);
            }
        }
        // The ids pool_add will hand out, so that the task is known as
        // durable before it is dispatched (which can happen inside pool_add).
        let task = self.pools.next_task_id();
        let arrangement = self.pools.next_arrangement(pool);
        let key = key.unwrap_or_else(|| h.store.new_key());
        let row = new_task_row(
            &key,
            &pool_name,
            &spec,
            payload.clone(),
            arrangement,
            run_at_ms,
            true,
        );
        let priority = row.priority;
        h.store.send(Op::TaskInsert(row));
        h.state.lock().tasks.insert(
            task,
            Durable {
                key: key.clone(),
                pool: pool_name,
                name: name.clone(),
                handler: handler.clone(),
                payload,
                priority,
                attempt: 0,
                started_ms: 0.0,
                worker: None,
            },
        );
        let added = match run_at_ms {
            Some(at) => self.pool_add_at(pool, spec, at),
            None => self.queue_task(pool, spec, dispatch),
        };
        match added {
            Ok((id, arr)) => {
                debug_assert_eq!((id, arr), (task, arrangement));
                Ok((id, arr, key))
            }
            Err(e) => {
                if let Some(h) = &self.store {
                    h.state.lock().tasks.remove(&task);
                    h.store.send(Op::TaskDelete(key));
                }
                Err(e)
            }
        }
    }

    /// Stores a change of a queued durable task: its payload (JSON text),
    /// its priority and/or its handler. False when the task is not durable.
    pub fn store_task_patch(
        &mut self,
        task: TaskId,
        payload: Option<String>,
        priority: Option<f64>,
        handler: Option<String>,
    ) -> bool {
        let Some(h) = &self.store else { return false };
        let priority = priority.map(|p| if p.is_nan() { 0.0 } else { p });
        let key = {
            let mut s = h.state.lock();
            let Some(d) = s.tasks.get_mut(&task) else {
                return false;
            };
            if let Some(p) = &payload {
                d.payload = Some(p.clone());
            }
            if let Some(p) = priority {
                d.priority = p;
            }
            if let Some(name) = &handler {
                d.handler.clone_from(name);
            }
            d.key.clone()
        };
        h.store.send(Op::TaskPatch {
            key,
            payload,
            priority,
            handler,
        });
        true
    }

    /// The stored tasks of thread pool `pool` (by its name) that no pool
    /// holds now, in queue order: what [`Engine::thread_add`] brings back
    /// (with their keys, attempts and places) when the pool is created.
    /// Without a store, none.
    pub fn thread_pool_stored(&mut self, pool: ThreadPoolId) -> Result<Vec<TaskRow>, EngineError> {
        let (Some(h), Some(name)) = (&self.store, self.thread_pool_name(pool)) else {
            return Ok(Vec::new());
        };
        let mut rows = h.store.load_thread_tasks(name)?;
        // New tasks are stored after every stored one (brought back or
        // not), so that the next process orders them alike.
        if let Some(last) = rows.iter().map(|r| r.arrangement).max() {
            self.threads_after(last);
        }
        let Some(h) = &self.store else {
            return Ok(Vec::new());
        };
        let s = h.state.lock();
        let live: HashSet<&str> = s.thread_tasks.values().map(|d| d.key.as_str()).collect();
        rows.retain(|r| !live.contains(r.key.as_str()));
        Ok(rows)
    }

    /// Brings the stored tasks of the pool back into its queue, in their
    /// stored order (priority, then arrangement; the pool's next
    /// arrangement continues after them). A task that was running when the
    /// process ended runs again with attempt + 1. Once per pool; without a
    /// store, nothing.
    pub fn pool_restore(&mut self, pool: PoolId) -> Result<Vec<RestoredTask>, EngineError> {
        let Some(name) = self.pool_name(pool).map(str::to_owned) else {
            return Ok(Vec::new());
        };
        let Some(h) = &self.store else {
            return Ok(Vec::new());
        };
        if !h.state.lock().restored_pools.insert(name.clone()) {
            return Ok(Vec::new());
        }
        if self.cluster.shared {
            // Its tasks come from the shared queue, claimed.
            self.cluster_wake();
            return Ok(Vec::new());
        }
        let rows = h.store.load_tasks(&name)?;
        let mut restored = Vec::with_capacity(rows.len());
        for row in rows {
            let task = self.pools.allocate_task_id();
            let spec = TaskSpec {
                name: Some(row.name.clone()),
                priority: row.priority,
                handler: Some(row.handler.clone()),
            };
            if !self.pools.requeue(pool, task, spec, row.arrangement) {
                continue;
            }
            // One whose time has not come waits for it again.
            let run_at_ms = row.run_at_ms.filter(|at| *at > self.wall_now_ms());
            if let Some(at) = run_at_ms {
                self.pools.delay(pool, task);
                self.pool_arm_due(task, at);
            }
            if let Some(h) = &self.store {
                if row.status != "queued" {
                    h.store.send(Op::TaskRequeue {
                        key: row.key.clone(),
                    });
                }
                h.state.lock().tasks.insert(
                    task,
                    Durable {
                        key: row.key.clone(),
                        pool: name.clone(),
                        name: row.name.clone(),
                        handler: row.handler.clone(),
                        payload: row.payload.clone(),
                        priority: row.priority,
                        attempt: row.attempt,
                        started_ms: 0.0,
                        worker: None,
                    },
                );
            }
            restored.push(RestoredTask {
                task,
                name: row.name,
                handler: row.handler,
                payload: row.payload,
                priority: row.priority,
                arrangement: row.arrangement,
                key: row.key,
                attempt: row.attempt,
                run_at_ms,
                replaces: None,
            });
        }
        self.pool_dispatch(pool);
        Ok(restored)
    }
}
