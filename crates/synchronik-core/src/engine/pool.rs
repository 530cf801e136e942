//! Worker pools: a prioritized queue of tasks executed by a fixed set of
//! pool workers (registered units `pool-worker-1…N`).
//!
//! The queue is an ordered map keyed by (priority descending, arrangement
//! id ascending), so adding, cancelling and dispatching cost O(log n) and a
//! million queued tasks cost no timers at all. Dispatch is immediate: a task
//! starts the moment it is added while a pool worker is free, and a worker
//! that finishes a task takes the next one in the same step — there is no
//! polling tick.
//!
//! A paused task at the head of the queue blocks every task behind it until
//! it is resumed ("cascading pause", as in 2.3). A task that names a handler
//! the host has not defined yet waits (status `waiting-handler`) without
//! blocking the tasks behind it.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::{Engine, Owner};
use crate::error::EngineError;
use crate::event::{AbortReason, Event, Failure, TaskId, TaskOutcome};
use crate::ids::IdMap;
use crate::unit::{Slot, Status};

/// Identifies a pool within an engine.
pub type PoolId = u32;

/// The status of a pool task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskStatus {
    Idle = 0,
    Running = 1,
    Paused = 2,
    Completed = 3,
    Error = 4,
    /// Its handler is not defined yet.
    WaitingHandler = 5,
    /// Removed from the queue before it ran.
    Cancelled = 6,
}

/// A task to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// Unique among the pool's pending tasks; `None` for an anonymous task
    /// (`pool.run`), never a duplicate.
    pub name: Option<String>,
    /// Higher runs first; ties in arrangement order.
    pub priority: f64,
    /// The named handler to run (`pool.handle(name, fn)`), if any.
    pub handler: Option<String>,
}

/// Refusals of [`Engine::pool_add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddError {
    /// A pending task of the pool has this name.
    Duplicate,
    /// No such pool.
    NoPool,
}

/// Orders queue entries: higher priority first, then by arrangement id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key {
    priority: f64,
    arrangement: u64,
}

impl Key {
    /// A key; a NaN priority counts as 0.
    fn new(priority: f64, arrangement: u64) -> Self {
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
        other
            .priority
            .total_cmp(&self.priority)
            .then(self.arrangement.cmp(&other.arrangement))
    }
}

/// A queued or running task: 32 bytes, most of a million queued tasks'
/// native memory.
#[derive(Debug)]
struct Task {
    pool: PoolId,
    status: TaskStatus,
    key: Key,
    /// Name and handler; anonymous tasks (`pool.run`) have neither.
    names: Option<Box<TaskNames>>,
}

#[derive(Debug)]
struct TaskNames {
    name: Option<String>,
    handler: Option<String>,
}

impl Task {
    fn name(&self) -> Option<&str> {
        self.names.as_ref().and_then(|n| n.name.as_deref())
    }

    fn handler(&self) -> Option<&str> {
        self.names.as_ref().and_then(|n| n.handler.as_deref())
    }
}

/// Tasks by id. Task ids are consecutive and tasks mostly leave in the
/// order they came, so they live in a deque indexed by `id - base`: a
/// lookup is an index, and dispatching in queue order walks memory in
/// order instead of hopping around a hash table (with a million queued
/// tasks, those cache misses were most of the cost of a dispatch). A task
/// that leaves out of order leaves a hole until the ones before it leave.
#[derive(Debug)]
struct TaskSlab {
    base: TaskId,
    slots: VecDeque<Option<Task>>,
    next: TaskId,
    /// Entries of room given back since the engine last reported it.
    given_back: usize,
    /// Tasks that left since the engine last reported a pool falling idle
    /// after many of them.
    left: usize,
    /// A pool fell idle after at least [`TRIM_AFTER_TASKS`] tasks left.
    idle_after_many: bool,
}

/// A pool falling idle after this many tasks is worth telling the host
/// (see [`Engine::take_trim_hint`]).
const TRIM_AFTER_TASKS: usize = 16_384;

/// Bytes of room given back worth telling the host.
const TRIM_AFTER_BYTES: usize = 4 << 20;

impl Default for TaskSlab {
    fn default() -> Self {
        Self {
            base: 1,
            slots: VecDeque::new(),
            next: 1,
            given_back: 0,
            left: 0,
            idle_after_many: false,
        }
    }
}

impl TaskSlab {
    /// Reserves `n` consecutive ids; returns the first.
    fn allocate(&mut self, n: usize) -> TaskId {
        let first = self.next;
        self.next += n as u64;
        first
    }

    fn index(&self, id: TaskId) -> Option<usize> {
        let k = usize::try_from(id.checked_sub(self.base)?).ok()?;
        (k < self.slots.len()).then_some(k)
    }

    fn get(&self, id: &TaskId) -> Option<&Task> {
        self.slots.get(self.index(*id)?)?.as_ref()
    }

    fn get_mut(&mut self, id: &TaskId) -> Option<&mut Task> {
        let k = self.index(*id)?;
        self.slots.get_mut(k)?.as_mut()
    }

    /// Stores task `id` (an id from [`TaskSlab::allocate`]).
    fn insert(&mut self, id: TaskId, task: Task) {
        if self.slots.is_empty() {
            self.base = id;
        }
        let Some(k) = id.checked_sub(self.base).map(|k| k as usize) else {
            return;
        };
        while self.slots.len() <= k {
            self.slots.push_back(None);
        }
        self.slots[k] = Some(task);
    }

    fn remove(&mut self, id: &TaskId) -> Option<Task> {
        let k = self.index(*id)?;
        let task = self.slots[k].take();
        self.left += usize::from(task.is_some());
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        // A burst reserved room for all of its tasks at once; give it back
        // as the deque empties, or it stays held for good.
        let (len, cap) = (self.slots.len(), self.slots.capacity());
        if cap > SLAB_FLOOR && len * 4 < cap {
            self.slots.shrink_to(len * 2);
            self.given_back += cap - self.slots.capacity();
        }
        task
    }

    fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
    }
}

/// Below this many entries the slab's deque keeps its capacity.
const SLAB_FLOOR: usize = 1024;

#[derive(Debug, Default)]
struct Pool {
    name: String,
    started: bool,
    /// Pool workers in id order.
    workers: Vec<Slot>,
    /// Workers without a task, in the order they became free (dispatch
    /// takes the front: O(1), however large the pool).
    free: VecDeque<Slot>,
    busy: IdMap<Slot, TaskId>,
    queue: BTreeMap<Key, TaskId>,
    /// How many queued tasks have each name, so that refusing a duplicate
    /// name costs a lookup instead of a walk through the queue.
    queued_names: HashMap<String, u32>,
    next_arrangement: u64,
    handlers: HashSet<String>,
}

impl Pool {
    fn note_queued(&mut self, name: &str) {
        *self.queued_names.entry(name.to_owned()).or_insert(0) += 1;
    }

    fn note_dequeued(&mut self, name: &str) {
        if let Some(n) = self.queued_names.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                self.queued_names.remove(name);
            }
        }
    }
}

/// Room of the structures pools keep (see [`Engine::memory`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolMemory {
    /// Entries the task slab has room for.
    pub task_capacity: usize,
    /// Bytes of task room given back since the last trim hint.
    pub given_back_bytes: usize,
}

/// The pools of an engine.
#[derive(Debug, Default)]
pub(super) struct PoolState {
    pools: Vec<Pool>,
    tasks: TaskSlab,
    of_worker: IdMap<Slot, PoolId>,
}

impl Engine {
    /// The pool called `name`, created (stopped, without workers) if needed.
    pub fn pool(&mut self, name: &str) -> PoolId {
        if let Some(i) = self.pools.pools.iter().position(|p| p.name == name) {
            return i as PoolId;
        }
        self.pools.pools.push(Pool {
            name: name.to_owned(),
            started: self.sched.started,
            next_arrangement: 1,
            ..Pool::default()
        });
        (self.pools.pools.len() - 1) as PoolId
    }

    fn pool_mut(&mut self, pool: PoolId) -> Option<&mut Pool> {
        self.pools.pools.get_mut(pool as usize)
    }

    /// Makes the registered worker `slot` a worker of the pool.
    pub fn pool_attach(&mut self, pool: PoolId, slot: Slot) {
        if self.pools.pools.get(pool as usize).is_none() {
            return;
        }
        // Whether it is attached is a lookup, not a walk through the
        // workers (a pool of thousands grows one worker at a time).
        if self.pools.of_worker.insert(slot, pool) != Some(pool) {
            if let Some(p) = self.pool_mut(pool) {
                p.workers.push(slot);
                p.free.push_back(slot);
            }
        }
        self.pool_dispatch(pool);
    }

    /// Number of workers of the pool.
    pub fn pool_size(&self, pool: PoolId) -> usize {
        self.pools
            .pools
            .get(pool as usize)
            .map_or(0, |p| p.workers.len())
    }

    /// Removes up to `count` idle workers, the last ones first, and releases
    /// their units; busy workers are never removed. Returns the ids removed.
    pub fn pool_shrink(&mut self, pool: PoolId, count: usize) -> Vec<String> {
        let Some(p) = self.pools.pools.get(pool as usize) else {
            return Vec::new();
        };
        let idle: Vec<Slot> = p
            .workers
            .iter()
            .rev()
            .copied()
            .filter(|w| !p.busy.contains_key(w))
            .take(count)
            .collect();
        let mut removed = Vec::with_capacity(idle.len());
        for slot in idle {
            if let Some(id) = self.registry.get(slot).map(|u| u.id.clone()) {
                self.release(&id);
                removed.push(id);
            }
        }
        removed
    }

    /// A unit's status or enabled flag changed by a call (not by a run): a
    /// pool worker that may run again takes what waits in its pool's queue.
    pub(super) fn pool_worker_changed(&mut self, slot: Slot) {
        if let Some(&pool) = self.pools.of_worker.get(&slot) {
            self.pool_dispatch(pool);
        }
    }

    /// Forgets a released pool worker.
    pub(super) fn pool_forget_worker(&mut self, slot: Slot) {
        if let Some(pool) = self.pools.of_worker.remove(&slot) {
            if let Some(p) = self.pool_mut(pool) {
                // Shrinking removes the newest workers: look from the end.
                if let Some(i) = p.workers.iter().rposition(|w| *w == slot) {
                    p.workers.remove(i);
                }
                if let Some(i) = p.free.iter().rposition(|w| *w == slot) {
                    p.free.remove(i);
                }
            }
        }
    }

    /// Queues a task; returns its id and arrangement id. Dispatches at once
    /// when a pool worker is free.
    pub fn pool_add(&mut self, pool: PoolId, spec: TaskSpec) -> Result<(TaskId, u64), AddError> {
        let p = self
            .pools
            .pools
            .get(pool as usize)
            .ok_or(AddError::NoPool)?;
        if spec
            .name
            .as_ref()
            .is_some_and(|n| p.queued_names.contains_key(n))
        {
            return Err(AddError::Duplicate);
        }
        let id = self.pools.tasks.allocate(1);
        let arrangement = self.pool_insert(pool, id, spec);
        self.pool_dispatch(pool);
        Ok((id, arrangement))
    }

    /// Queues anonymous tasks of the given priorities in one step; their
    /// task ids and arrangement ids are consecutive from the ones returned.
    pub fn pool_add_many(
        &mut self,
        pool: PoolId,
        priorities: &[f64],
    ) -> Result<(TaskId, u64), AddError> {
        if self.pools.pools.get(pool as usize).is_none() {
            return Err(AddError::NoPool);
        }
        let first = self.pools.tasks.allocate(priorities.len());
        self.pools.tasks.reserve(priorities.len());
        let mut first_arrangement = 0;
        for (k, priority) in priorities.iter().enumerate() {
            let spec = TaskSpec {
                name: None,
                priority: *priority,
                handler: None,
            };
            let arrangement = self.pool_insert(pool, first + k as u64, spec);
            if k == 0 {
                first_arrangement = arrangement;
            }
        }
        self.pool_dispatch(pool);
        Ok((first, first_arrangement))
    }

    fn pool_insert(&mut self, pool: PoolId, id: TaskId, spec: TaskSpec) -> u64 {
        let Some(p) = self.pools.pools.get_mut(pool as usize) else {
            return 0;
        };
        let arrangement = p.next_arrangement;
        p.next_arrangement += 1;
        let key = Key::new(spec.priority, arrangement);
        self.pool_enqueue(pool, id, spec, key);
        arrangement
    }

    /// Puts task `id` into the pool's queue at `key` and into the task slab.
    fn pool_enqueue(&mut self, pool: PoolId, id: TaskId, spec: TaskSpec, key: Key) {
        if let Some(p) = self.pool_mut(pool) {
            p.queue.insert(key, id);
            if let Some(name) = &spec.name {
                p.note_queued(name);
            }
        }
        self.pools.tasks.insert(
            id,
            Task {
                pool,
                key,
                status: TaskStatus::Idle,
                names: (spec.name.is_some() || spec.handler.is_some()).then(|| {
                    Box::new(TaskNames {
                        name: spec.name,
                        handler: spec.handler,
                    })
                }),
            },
        );
    }

    /// The pending task of the pool called `name`.
    fn pending_named(&self, pool: PoolId, name: &str) -> Option<TaskId> {
        let p = self.pools.pools.get(pool as usize)?;
        if !p.queued_names.contains_key(name) {
            return None;
        }
        p.queue
            .values()
            .copied()
            .find(|t| self.pools.tasks.get(t).and_then(Task::name) == Some(name))
    }

    fn set_task_status(&mut self, task: TaskId, status: TaskStatus, worker: Option<Slot>) {
        if let Some(t) = self.pools.tasks.get_mut(&task) {
            if t.status != status {
                t.status = status;
                self.emit(Event::TaskStatus {
                    task,
                    status,
                    worker,
                });
            }
        }
    }

    /// Pauses a pending idle task; false when there is none of that name.
    pub fn pool_pause(&mut self, pool: PoolId, name: &str) -> bool {
        match self.pending_named(pool, name) {
            Some(t)
                if self
                    .pools
                    .tasks
                    .get(&t)
                    .is_some_and(|t| t.status != TaskStatus::Paused) =>
            {
                self.set_task_status(t, TaskStatus::Paused, None);
                true
            }
            _ => false,
        }
    }

    /// Resumes a paused task; false when there is none of that name.
    pub fn pool_resume(&mut self, pool: PoolId, name: &str) -> bool {
        match self.pending_named(pool, name) {
            Some(t)
                if self
                    .pools
                    .tasks
                    .get(&t)
                    .is_some_and(|t| t.status == TaskStatus::Paused) =>
            {
                self.set_task_status(t, TaskStatus::Idle, None);
                self.pool_dispatch(pool);
                true
            }
            _ => false,
        }
    }

    /// Removes the pending tasks called `name`; returns how many.
    pub fn pool_cancel(&mut self, pool: PoolId, name: &str) -> usize {
        let mut n = 0;
        while let Some(t) = self.pending_named(pool, name) {
            self.pool_remove_pending(t);
            n += 1;
        }
        if n > 0 {
            self.pool_settle(pool);
        }
        n
    }

    /// Dispatches what can run, and says so when the pool fell idle.
    fn pool_settle(&mut self, pool: PoolId) {
        self.pool_dispatch(pool);
        if self.pool_is_idle(pool) {
            let tasks = &mut self.pools.tasks;
            if tasks.left >= TRIM_AFTER_TASKS {
                tasks.left = 0;
                tasks.idle_after_many = true;
            }
            self.emit(Event::PoolIdle { pool });
        }
    }

    fn pool_remove_pending(&mut self, task: TaskId) {
        let Some(t) = self.pools.tasks.get(&task) else {
            return;
        };
        let (pool, key) = (t.pool, t.key);
        let task_data = self.pools.tasks.remove(&task);
        if let Some(p) = self.pools.pools.get_mut(pool as usize) {
            p.queue.remove(&key);
            if let Some(name) = task_data.as_ref().and_then(Task::name) {
                p.note_dequeued(name);
            }
        }
        self.emit(Event::TaskDone {
            task,
            outcome: TaskOutcome::Cancelled,
        });
    }

    /// Cancels one task by id (an aborted signal): a queued one is removed,
    /// a running one is aborted and fails. Returns false for an unknown or
    /// finished task.
    pub fn pool_cancel_task(&mut self, task: TaskId) -> bool {
        let Some(t) = self.pools.tasks.get(&task) else {
            return false;
        };
        let pool = t.pool;
        if t.status != TaskStatus::Running {
            self.pool_remove_pending(task);
            self.pool_settle(pool);
            return true;
        }
        let run = self
            .runs
            .iter()
            .find(|(_, r)| r.owner == Owner::Task(task))
            .map(|(id, r)| (*id, r.call, r.slot));
        if let Some((run, call, slot)) = run {
            if let Some(call) = call {
                self.invoker.abort(call, AbortReason::Cancelled);
            }
            let id = self
                .registry
                .get(slot)
                .map_or_else(String::new, |u| u.id.clone());
            self.end_worker_run(run, Err(Failure::Engine(EngineError::Cancelled { id })));
        }
        true
    }

    /// Changes a pending task's priority (it moves in the queue).
    pub fn pool_reprioritize(&mut self, pool: PoolId, name: &str, priority: f64) -> bool {
        let Some(task) = self.pending_named(pool, name) else {
            return false;
        };
        let Some(t) = self.pools.tasks.get_mut(&task) else {
            return false;
        };
        let old = t.key;
        t.key.priority = Key::new(priority, 0).priority;
        let new = t.key;
        if let Some(p) = self.pool_mut(pool) {
            p.queue.remove(&old);
            p.queue.insert(new, task);
        }
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
        let task = self.pending_named(pool, name)?;
        let t = self.pools.tasks.get_mut(&task)?;
        let names = t.names.as_mut()?;
        let old = names.handler.as_mut()?;
        handler.clone_into(old);
        let status = t.status;
        let defined = self
            .pools
            .pools
            .get(pool as usize)
            .is_some_and(|p| p.handlers.contains(handler));
        if status == TaskStatus::WaitingHandler && defined {
            self.set_task_status(task, TaskStatus::Idle, None);
        }
        self.pool_dispatch(pool);
        Some(task)
    }

    /// Names of the pending tasks in the order they would run.
    pub fn pool_pending(&self, pool: PoolId) -> Vec<String> {
        self.pools
            .pools
            .get(pool as usize)
            .map_or_else(Vec::new, |p| {
                p.queue
                    .values()
                    .filter_map(|t| {
                        self.pools
                            .tasks
                            .get(t)
                            .map(|t| t.name().unwrap_or("(anonymous)").to_owned())
                    })
                    .collect()
            })
    }

    /// Whether the pool has nothing queued and nothing running.
    pub fn pool_is_idle(&self, pool: PoolId) -> bool {
        self.pools
            .pools
            .get(pool as usize)
            .is_none_or(|p| p.queue.is_empty() && p.busy.is_empty())
    }

    /// Tasks queued in all pools.
    pub fn pool_queued(&self) -> usize {
        self.pools.pools.iter().map(|p| p.queue.len()).sum()
    }

    /// Starts or stops dispatching (running tasks finish either way).
    pub fn pool_set_started(&mut self, pool: PoolId, started: bool) {
        if let Some(p) = self.pool_mut(pool) {
            p.started = started;
        }
        if started {
            self.pool_dispatch(pool);
        }
    }

    /// Drops the queued tasks of every pool that live in memory only (not
    /// stored): the manager stops or closes, and nothing would run them.
    pub(super) fn pools_drop_queued(&mut self, closed: bool) {
        for pool in 0..self.pools.pools.len() as PoolId {
            let queued: Vec<TaskId> = self.pools.pools[pool as usize]
                .queue
                .values()
                .copied()
                .filter(|t| !self.store.as_ref().is_some_and(|s| s.holds_task(*t)))
                .collect();
            if queued.is_empty() {
                continue;
            }
            let name = self.pools.pools[pool as usize].name.clone();
            for task in queued {
                let Some(t) = self.pools.tasks.remove(&task) else {
                    continue;
                };
                if let Some(p) = self.pools.pools.get_mut(pool as usize) {
                    p.queue.remove(&t.key);
                    if let Some(n) = t.name() {
                        p.note_dequeued(n);
                    }
                }
                self.emit(Event::TaskDone {
                    task,
                    outcome: TaskOutcome::Dropped(EngineError::Dropped {
                        pool: name.clone(),
                        closed,
                    }),
                });
            }
            if self.pool_is_idle(pool) {
                self.emit(Event::PoolIdle { pool });
            }
        }
    }

    /// Starts or stops every pool (the manager's start and stop).
    pub(super) fn pools_set_started(&mut self, started: bool) {
        for pool in 0..self.pools.pools.len() {
            self.pool_set_started(pool as PoolId, started);
        }
    }

    /// Tells the engine whether the handler `name` is defined.
    pub fn pool_handler(&mut self, pool: PoolId, name: &str, defined: bool) {
        if let Some(p) = self.pool_mut(pool) {
            if defined {
                p.handlers.insert(name.to_owned());
            } else {
                p.handlers.remove(name);
            }
        }
        if defined {
            self.pool_dispatch(pool);
        }
    }

    /// Starts queued tasks on free workers while the head of the queue is
    /// not paused.
    pub(super) fn pool_dispatch(&mut self, pool: PoolId) {
        loop {
            let Some(p) = self.pools.pools.get(pool as usize) else {
                return;
            };
            if !p.started || p.queue.is_empty() {
                return;
            }
            // The first free worker that may run (a disabled or paused one
            // stays free, at the back).
            let runnable = |w: &Slot| {
                self.registry
                    .get(*w)
                    .is_some_and(|u| u.enabled && u.status != Status::Paused)
            };
            let Some(at) = p.free.iter().position(runnable) else {
                return;
            };
            let worker = p.free[at];
            // The first task that may run: a paused one blocks the queue, one
            // waiting for its handler is passed over.
            let mut pick = None;
            let mut waiting = Vec::new();
            for (key, task) in &p.queue {
                let Some(t) = self.pools.tasks.get(task) else {
                    continue;
                };
                if t.status == TaskStatus::Paused {
                    break;
                }
                if t.handler().is_some_and(|h| !p.handlers.contains(h)) {
                    if t.status != TaskStatus::WaitingHandler {
                        waiting.push(*task);
                    }
                    continue;
                }
                pick = Some((*key, *task));
                break;
            }
            for t in waiting {
                self.set_task_status(t, TaskStatus::WaitingHandler, None);
            }
            let Some((key, task)) = pick else { return };
            let tasks = &self.pools.tasks;
            if let Some(p) = self.pools.pools.get_mut(pool as usize) {
                p.queue.remove(&key);
                if let Some(name) = tasks.get(&task).and_then(Task::name) {
                    p.note_dequeued(name);
                }
                p.free.remove(at);
                p.busy.insert(worker, task);
            }
            // Running is announced by the task's invocation.
            if let Some(t) = self.pools.tasks.get_mut(&task) {
                t.status = TaskStatus::Running;
            }
            if !self.start_worker_run(worker, Owner::Task(task)) {
                // Cannot happen for a free, runnable worker; keep the task.
                let tasks = &self.pools.tasks;
                if let Some(p) = self.pools.pools.get_mut(pool as usize) {
                    p.busy.remove(&worker);
                    p.free.push_back(worker);
                    p.queue.insert(key, task);
                    if let Some(name) = tasks.get(&task).and_then(Task::name) {
                        p.note_queued(name);
                    }
                }
                return;
            }
        }
    }

    /// A pool task's run ended.
    pub(super) fn pool_task_done(
        &mut self,
        task: TaskId,
        worker: Slot,
        result: Result<u64, Failure>,
    ) {
        let pool = self.pools.tasks.remove(&task).map(|t| t.pool);
        let outcome = match result {
            Ok(call) => TaskOutcome::Completed { call },
            Err(Failure::Engine(EngineError::Cancelled { .. })) => TaskOutcome::Cancelled,
            Err(failure) => TaskOutcome::Failed(failure),
        };
        self.emit(Event::TaskDone { task, outcome });
        let Some(pool) = pool else { return };
        let attached = self.pools.of_worker.get(&worker) == Some(&pool);
        if let Some(p) = self.pool_mut(pool) {
            if p.busy.remove(&worker).is_some() && attached {
                p.free.push_back(worker);
            }
        }
        self.pool_settle(pool);
    }
}

impl Engine {
    /// Room the pools' structures hold.
    pub(super) fn pool_memory(&self) -> PoolMemory {
        PoolMemory {
            task_capacity: self.pools.tasks.slots.capacity(),
            given_back_bytes: self.pools.tasks.given_back * std::mem::size_of::<Option<Task>>(),
        }
    }

    pub(super) fn pool_take_trim_hint(&mut self) -> bool {
        let tasks = &mut self.pools.tasks;
        let bytes = tasks.given_back * std::mem::size_of::<Option<Task>>();
        if bytes >= TRIM_AFTER_BYTES || tasks.idle_after_many {
            tasks.given_back = 0;
            tasks.idle_after_many = false;
            return true;
        }
        false
    }
}

// ----------------------------------------------------------------------
// What the durable store needs of the pools (see durable.rs).
// ----------------------------------------------------------------------

impl Engine {
    /// Whether `slot` is a worker of a pool.
    pub fn is_pool_worker(&self, slot: Slot) -> bool {
        self.pools.of_worker.contains_key(&slot)
    }

    /// The name of the pool.
    pub fn pool_name(&self, pool: PoolId) -> Option<&str> {
        self.pools.pools.get(pool as usize).map(|p| p.name.as_str())
    }

    /// The arrangement id the pool's next task gets.
    pub(super) fn pool_next_arrangement(&self, pool: PoolId) -> u64 {
        self.pools
            .pools
            .get(pool as usize)
            .map_or(0, |p| p.next_arrangement)
    }

    /// Puts a task back into the queue with the arrangement id it had (a
    /// restored task), without dispatching; the pool's next arrangement
    /// continues after it. False when the pool does not exist or the
    /// place is taken.
    pub(super) fn pool_requeue(
        &mut self,
        pool: PoolId,
        id: TaskId,
        spec: TaskSpec,
        arrangement: u64,
    ) -> bool {
        let key = Key::new(spec.priority, arrangement);
        let Some(p) = self.pools.pools.get_mut(pool as usize) else {
            return false;
        };
        if p.queue.contains_key(&key) {
            return false;
        }
        p.next_arrangement = p.next_arrangement.max(arrangement.saturating_add(1));
        self.pool_enqueue(pool, id, spec, key);
        true
    }

    /// The id the pool's next task gets.
    pub(super) fn pool_next_task_id(&self) -> TaskId {
        self.pools.tasks.next
    }

    /// A fresh task id (a restored task's).
    pub(super) fn pool_allocate_task_id(&mut self) -> TaskId {
        self.pools.tasks.allocate(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pool: PoolId) -> Task {
        Task {
            pool,
            status: TaskStatus::Idle,
            key: Key {
                priority: 0.0,
                arrangement: 0,
            },
            names: None,
        }
    }

    #[test]
    fn the_slab_finds_tasks_by_id_and_shrinks_from_the_front() {
        let mut slab = TaskSlab::default();
        let first = slab.allocate(5);
        for k in 0..5 {
            slab.insert(first + k, task(k as PoolId));
        }
        // Out of order: a hole stays until the tasks before it leave.
        assert_eq!(slab.remove(&(first + 2)).map(|t| t.pool), Some(2));
        assert!(slab.get(&(first + 2)).is_none());
        assert_eq!(slab.slots.len(), 5);
        assert_eq!(slab.remove(&first).map(|t| t.pool), Some(0));
        assert_eq!(slab.remove(&(first + 1)).map(|t| t.pool), Some(1));
        assert_eq!(slab.base, first + 3, "the front holes are gone");
        assert_eq!(slab.slots.len(), 2);
        assert_eq!(slab.get(&(first + 4)).map(|t| t.pool), Some(4));
        assert!(slab.remove(&(first + 2)).is_none(), "removed twice");
        assert!(slab.get(&0).is_none() && slab.get(&(first + 99)).is_none());
        // Emptied, then refilled with later ids.
        slab.remove(&(first + 3));
        slab.remove(&(first + 4));
        assert!(slab.slots.is_empty());
        let next = slab.allocate(1);
        assert_eq!(next, first + 5);
        slab.insert(next, task(7));
        assert_eq!(slab.get_mut(&next).map(|t| t.pool), Some(7));
    }
}
