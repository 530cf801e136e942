//! Worker pools: a prioritized queue of tasks executed by a fixed set of
//! pool workers (registered units `pool-worker-1…N`).
//!
//! The queues themselves are [`Pools`] (`queue.rs`); this is the engine's
//! side: when tasks start, and what is announced. Dispatch is immediate: a
//! task starts the moment it is added while a pool worker is free, and a
//! worker that finishes a task takes the next one in the same step — there
//! is no polling tick.
//!
//! A paused task at the head of the queue blocks every task behind it until
//! it is resumed ("cascading pause", as in 2.3). A task that names a handler
//! the host has not defined yet waits (status `waiting-handler`) without
//! blocking the tasks behind it.

mod order;
mod queue;

pub(super) use queue::{Pools, Room, TaskInfo};

use super::ending::{Ending, RunRef};
use super::state::may_start;
use super::types::{AddError, Owner, PoolId, TaskSpec, TaskStatus, Timer};
use super::Engine;
use crate::clock::Nanos;
use crate::error::EngineError;
use crate::event::{Event, Failure, TaskId, TaskOutcome};
use crate::unit::Slot;

impl Engine {
    /// The pool called `name`, created (stopped, without workers) if needed.
    pub fn pool(&mut self, name: &str) -> PoolId {
        match self.pools.find(name) {
            Some(pool) => pool,
            None => self.pools.create(name, self.sched.started),
        }
    }

    /// Makes the registered worker `slot` a worker of the pool.
    pub fn pool_attach(&mut self, pool: PoolId, slot: Slot) {
        if self.pools.attach(pool, slot) {
            self.pool_dispatch(pool);
            self.cluster_wake();
        }
    }

    /// Number of workers of the pool.
    pub fn pool_size(&self, pool: PoolId) -> usize {
        self.pools.size(pool)
    }

    /// Removes up to `count` idle workers, the last ones first, and releases
    /// their units; busy workers are never removed. Returns the ids removed.
    pub fn pool_shrink(&mut self, pool: PoolId, count: usize) -> Vec<String> {
        let idle = self.pools.idle_workers(pool, count);
        let mut removed = Vec::with_capacity(idle.len());
        for slot in idle {
            if let Some(id) = self.registry.get(slot).map(|u| u.id.to_string()) {
                self.release(&id);
                removed.push(id);
            }
        }
        removed
    }

    /// A unit's status or enabled flag changed by a call (not by a run): a
    /// pool worker that may run again takes what waits in its pool's queue.
    pub(super) fn pool_worker_changed(&mut self, slot: Slot) {
        if let Some(pool) = self.pools.pool_of(slot) {
            self.pool_dispatch(pool);
        }
    }

    /// Forgets a released pool worker.
    pub(super) fn pool_forget_worker(&mut self, slot: Slot) {
        self.pools.forget_worker(slot);
    }

    /// Queues a task; returns its id and arrangement id. Dispatches at once
    /// when a pool worker is free.
    pub fn pool_add(&mut self, pool: PoolId, spec: TaskSpec) -> Result<(TaskId, u64), AddError> {
        self.queue_task(pool, spec, true)
    }

    /// [`Engine::pool_add`]; `dispatch` false queues the task without
    /// starting it (the caller dispatches).
    pub(super) fn queue_task(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
        dispatch: bool,
    ) -> Result<(TaskId, u64), AddError> {
        let added = self.pools.add(pool, spec)?;
        self.observed.touch();
        if dispatch {
            self.pool_dispatch(pool);
        }
        Ok(added)
    }

    /// Adds a task that is queued at wall-clock instant `at_ms` (Unix ms,
    /// on the engine's clock; `runAt`, or now + `delayMs`): until then it
    /// waits (status `scheduled`) and its name is taken. A time already
    /// past queues it at once. Returns its id and arrangement id.
    pub fn pool_add_at(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
        at_ms: f64,
    ) -> Result<(TaskId, u64), AddError> {
        let added = self.pools.add_delayed(pool, spec)?;
        self.pool_arm_due(added.0, at_ms);
        self.observed.touch();
        Ok(added)
    }

    /// Arms the time of delayed task `task` (one already past comes due at
    /// once, in the same step).
    pub(super) fn pool_arm_due(&mut self, task: TaskId, at_ms: f64) {
        let wait = (at_ms - self.wall_now_ms()).max(0.0);
        if wait <= 0.0 {
            self.pool_task_due(task);
            return;
        }
        let at = self
            .clock
            .now()
            .saturating_add(crate::clock::ms_to_nanos(wait));
        self.arm(at, Timer::TaskDue(task));
    }

    /// A delayed task's time came: it joins its pool's queue.
    pub(super) fn pool_task_due(&mut self, task: TaskId) {
        let Some((pool, changed)) = self.pools.release_delayed(task) else {
            // Cancelled (or dropped by a stop) while it waited.
            return;
        };
        if changed {
            self.announce_task_status(task, TaskStatus::Idle);
        }
        self.pool_dispatch(pool);
    }

    /// The wall-clock time now (Unix ms, on the engine's clock).
    pub fn wall_ms(&self) -> f64 {
        self.wall_now_ms()
    }

    /// Queues anonymous tasks of the given priorities in one step; their
    /// task ids and arrangement ids are consecutive from the ones returned.
    pub fn pool_add_many(
        &mut self,
        pool: PoolId,
        priorities: &[f64],
    ) -> Result<(TaskId, u64), AddError> {
        let added = self.pools.add_many(pool, priorities)?;
        self.observed.touch();
        self.pool_dispatch(pool);
        Ok(added)
    }

    fn set_task_status(&mut self, task: TaskId, status: TaskStatus) {
        if self.pools.set_status(task, status) {
            self.announce_task_status(task, status);
        }
    }

    fn announce_task_status(&self, task: TaskId, status: TaskStatus) {
        self.emit(Event::TaskStatus {
            task,
            status,
            worker: None,
        });
    }

    /// Pauses a pending idle task; false when there is none of that name.
    pub fn pool_pause(&mut self, pool: PoolId, name: &str) -> bool {
        self.pool_toggle(pool, name, TaskStatus::Paused)
    }

    /// Resumes a paused task; false when there is none of that name.
    pub fn pool_resume(&mut self, pool: PoolId, name: &str) -> bool {
        self.pool_toggle(pool, name, TaskStatus::Idle)
    }

    /// Pauses (`to` paused) or resumes (`to` idle) the pending task called
    /// `name`: false when there is none, or it is not paused to resume, or
    /// paused already.
    fn pool_toggle(&mut self, pool: PoolId, name: &str, to: TaskStatus) -> bool {
        let Some(task) = self.pools.pending_named(pool, name) else {
            return false;
        };
        let paused = self
            .pools
            .task(task)
            .is_some_and(|(s, _)| s == TaskStatus::Paused);
        if paused == (to == TaskStatus::Paused) {
            return false;
        }
        // Resumed while it still waits for its time: it waits on.
        let to = if to == TaskStatus::Idle && self.pools.is_delayed(task) {
            TaskStatus::Scheduled
        } else {
            to
        };
        self.set_task_status(task, to);
        if to == TaskStatus::Idle {
            self.pool_dispatch(pool);
        }
        true
    }

    /// Removes the pending tasks called `name`; returns how many.
    pub fn pool_cancel(&mut self, pool: PoolId, name: &str) -> usize {
        let mut n = 0;
        while let Some(t) = self.pools.pending_named(pool, name) {
            self.pool_remove_pending(t);
            n += 1;
        }
        if n > 0 {
            self.pool_settle(pool);
        } else if self.cluster_cancel_offered(pool, name) {
            n = 1;
        }
        n
    }

    /// Dispatches what can run, and says so when the pool fell idle.
    fn pool_settle(&mut self, pool: PoolId) {
        self.pool_dispatch(pool);
        if self.pools.is_idle(pool) {
            self.pools.note_idle();
            self.emit(Event::PoolIdle { pool });
        }
    }

    fn pool_remove_pending(&mut self, task: TaskId) {
        if let Some((pool, name)) = self.pools.remove_pending(task) {
            let outcome = TaskOutcome::Cancelled;
            self.observe_task_left(task, pool, name, &outcome, None);
            self.emit(Event::TaskDone { task, outcome });
        }
    }

    /// Cancels one task by id (an aborted signal): a queued one is removed,
    /// a running one is aborted and fails. Returns false for an unknown or
    /// finished task.
    pub fn pool_cancel_task(&mut self, task: TaskId) -> bool {
        let Some((status, pool)) = self.pools.task(task) else {
            return false;
        };
        if status != TaskStatus::Running {
            self.pool_remove_pending(task);
            self.pool_settle(pool);
            return true;
        }
        if let Some(run) = self.runs.owned_by(Owner::Task(task)) {
            self.fail_run(RunRef::Worker(run), Ending::Cancelled);
        }
        true
    }

    /// Changes a pending task's priority (it moves in the queue).
    pub fn pool_reprioritize(&mut self, pool: PoolId, name: &str, priority: f64) -> bool {
        let Some(task) = self.pools.pending_named(pool, name) else {
            return false;
        };
        self.pools.reprioritize(pool, task, priority);
        self.observed.touch();
        self.pool_dispatch(pool);
        true
    }

    /// Changes the handler a pending task that names one will run; returns
    /// the task's id, or `None` when the pool has no pending task of that
    /// name or the task names no handler (it runs a function of its own).
    ///
    /// A task that waited for its old handler and whose new one is defined
    /// is idle again and may be dispatched at once; one whose new handler is
    /// not defined waits for it, as a task added with that handler would.
    /// A paused task stays paused.
    pub fn pool_set_task_handler(
        &mut self,
        pool: PoolId,
        name: &str,
        handler: &str,
    ) -> Option<TaskId> {
        let task = self.pools.pending_named(pool, name)?;
        if !self.pools.set_task_handler(task, handler) {
            return None;
        }
        let waiting = self
            .pools
            .task(task)
            .is_some_and(|(s, _)| s == TaskStatus::WaitingHandler);
        if waiting && self.pools.has_handler(pool, handler) {
            self.set_task_status(task, TaskStatus::Idle);
        }
        self.pool_dispatch(pool);
        Some(task)
    }

    /// Names of the pending tasks in the order they would run.
    pub fn pool_pending(&self, pool: PoolId) -> Vec<String> {
        self.pools.pending_names(pool)
    }

    /// Whether the pool has nothing queued and nothing running.
    pub fn pool_is_idle(&self, pool: PoolId) -> bool {
        self.pools.is_idle(pool)
    }

    /// Tasks queued in all pools.
    pub fn pool_queued(&self) -> usize {
        self.pools.queued()
    }

    /// Starts or stops dispatching (running tasks finish either way).
    pub fn pool_set_started(&mut self, pool: PoolId, started: bool) {
        self.pools.set_started(pool, started);
        if started {
            self.pool_dispatch(pool);
            self.cluster_wake();
        }
    }

    /// Drops the queued tasks of every pool that live in memory only (not
    /// stored): the manager stops or closes, and nothing would run them.
    pub(super) fn pools_drop_queued(&mut self, closed: bool) {
        for pool in self.pools.ids() {
            let store = self.store.as_deref();
            let dropped = self
                .pools
                .drain_queued(pool, |t| store.is_some_and(|s| s.holds_task(t)));
            if dropped.is_empty() {
                continue;
            }
            let name = self.pools.name(pool).unwrap_or_default().to_owned();
            for (task, task_name) in dropped {
                let outcome = TaskOutcome::Dropped(EngineError::Dropped {
                    pool: name.clone(),
                    closed,
                });
                self.observe_task_left(task, pool, task_name, &outcome, None);
                self.emit(Event::TaskDone { task, outcome });
            }
            if self.pools.is_idle(pool) {
                self.emit(Event::PoolIdle { pool });
            }
        }
    }

    /// Starts or stops every pool (the manager's start and stop).
    pub(super) fn pools_set_started(&mut self, started: bool) {
        for pool in self.pools.ids() {
            self.pool_set_started(pool, started);
        }
    }

    /// Tells the engine whether the handler `name` is defined.
    pub fn pool_handler(&mut self, pool: PoolId, name: &str, defined: bool) {
        self.pools.set_handler(pool, name, defined);
        if defined {
            self.pool_dispatch(pool);
            self.cluster_wake();
        }
    }

    /// Starts queued tasks on free workers while the head of the queue is
    /// not paused.
    pub(super) fn pool_dispatch(&mut self, pool: PoolId) {
        loop {
            let registry = &self.registry;
            let may_run = |w: Slot| registry.get(w).is_some_and(|u| may_start(u, false));
            let Some(dispatch) = self.pools.dispatch_one(pool, may_run) else {
                return;
            };
            for task in dispatch.waiting {
                self.announce_task_status(task, TaskStatus::WaitingHandler);
            }
            // Running is announced by the task's invocation.
            let Some((worker, task)) = dispatch.taken else {
                return;
            };
            self.observed.touch();
            if !self.start_worker_run(worker, Owner::Task(task)) {
                // Cannot happen for a free worker that may run; keep the task.
                self.pools.undo_dispatch(pool, worker, task);
                return;
            }
        }
    }

    /// A pool task's run, from `started` to `now`, ended.
    pub(super) fn pool_task_done(
        &mut self,
        task: TaskId,
        worker: Slot,
        result: Result<u64, Failure>,
        (started, now): (Nanos, Nanos),
    ) {
        // Its pace counts toward the default prefetch of a shared store:
        // completed runs only (a handler that fails at once says nothing
        // about how long its tasks take).
        let paced = self.cluster.shared && self.cluster.prefetch.is_none() && result.is_ok();
        let done = self
            .pools
            .task_done(task, worker, paced.then(|| now.saturating_sub(started)));
        let outcome = match result {
            Ok(call) => TaskOutcome::Completed { call },
            Err(Failure::Engine(EngineError::Cancelled { .. })) => TaskOutcome::Cancelled,
            Err(failure) => TaskOutcome::Failed(failure),
        };
        let pool = done.map(|(pool, name)| {
            self.observe_task_left(task, pool, name, &outcome, Some((started, now)));
            pool
        });
        self.emit(Event::TaskDone { task, outcome });
        if let Some(pool) = pool {
            self.pool_settle(pool);
            self.cluster_task_left(pool);
        }
    }

    /// Whether `slot` is a worker of a pool.
    pub fn is_pool_worker(&self, slot: Slot) -> bool {
        self.pools.pool_of(slot).is_some()
    }

    /// The name of the pool.
    pub fn pool_name(&self, pool: PoolId) -> Option<&str> {
        self.pools.name(pool)
    }
}
