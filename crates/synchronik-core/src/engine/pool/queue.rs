//! The pools' queues and tasks, as a type of their own: [`Pools`] knows
//! which tasks wait where and in what order, which workers are free, and
//! which handlers are defined; the engine (`mod.rs`) decides when tasks
//! start and announces what happens to them.
//!
//! A queue orders its tasks by priority (descending), then arrangement id
//! (ascending) — see [`super::order`] — so adding, cancelling and
//! dispatching cost O(log n) at most, and a million queued tasks cost no
//! timers at all.

use std::collections::{HashMap, HashSet, VecDeque};

use super::super::types::{AddError, PoolId, TaskSpec, TaskStatus};
use super::order::{Key, Queue};
use crate::clock::{nanos_to_ms, Nanos};
use crate::event::TaskId;
use crate::ids::IdMap;
use crate::unit::Slot;

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

    /// Its name, moved out (the task is leaving).
    fn into_name(self) -> Option<String> {
        self.names.and_then(|n| n.name)
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

    /// Whether task `id`, allocated earlier and never stored, can be
    /// stored now: not behind the front, and not so far ahead that the
    /// holes before it would hold more than a little memory.
    fn accepts(&self, id: TaskId) -> bool {
        self.slots.is_empty()
            || id
                .checked_sub(self.base)
                .is_some_and(|k| k <= (self.slots.len() + SLAB_FLOOR) as u64)
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
    queue: Queue,
    /// How many queued tasks have each name, so that refusing a duplicate
    /// name costs a lookup instead of a walk through the queue.
    queued_names: HashMap<String, u32>,
    /// Tasks waiting for their time (`runAt`, `delayMs`): in the slab and
    /// counted by name, not in the queue yet.
    delayed: std::collections::BTreeSet<TaskId>,
    next_arrangement: u64,
    handlers: HashSet<String>,
    /// How long the tasks of each handler have been running here lately,
    /// in ms (a moving average over those that completed and took any
    /// time).
    paces: HashMap<String, f64>,
}

/// The weight of a task's running time in its handler's moving average.
const RUN_TIME_WEIGHT: f64 = 1.0 / 16.0;

impl Pool {
    /// The moving average of the running times of its slowest handler,
    /// if every handler it takes has one.
    fn slowest_pace(&self) -> Option<f64> {
        let mut slowest: Option<f64> = None;
        for h in &self.handlers {
            let ms = *self.paces.get(h)?;
            slowest = Some(slowest.map_or(ms, |s| s.max(ms)));
        }
        slowest
    }

    /// A task of handler `handler` completed here after running `ns`: its
    /// handler's moving average takes it in. A run that took no time at
    /// all (under a manual clock not advanced meanwhile) says nothing.
    fn note_pace(&mut self, handler: &str, ns: Nanos) {
        if ns == 0 {
            return;
        }
        let ms = nanos_to_ms(ns);
        match self.paces.get_mut(handler) {
            Some(avg) => *avg += (ms - *avg) * RUN_TIME_WEIGHT,
            None => {
                self.paces.insert(handler.to_owned(), ms);
            }
        }
    }

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

/// The pools of an engine: their queues, their workers, and every task
/// queued or running.
#[derive(Debug, Default)]
pub(in crate::engine) struct Pools {
    pools: Vec<Pool>,
    tasks: TaskSlab,
    of_worker: IdMap<Slot, PoolId>,
}

/// A queued or running task, as the pools view shows it.
#[derive(Debug, Clone, Copy)]
pub(in crate::engine) struct TaskInfo<'a> {
    pub(in crate::engine) id: TaskId,
    pub(in crate::engine) name: Option<&'a str>,
    pub(in crate::engine) priority: f64,
    pub(in crate::engine) status: TaskStatus,
}

impl<'a> TaskInfo<'a> {
    fn of(id: TaskId, t: &'a Task) -> Self {
        Self {
            id,
            name: t.name(),
            priority: t.key.priority,
            status: t.status,
        }
    }
}

/// See [`Pools::room`].
#[derive(Debug)]
pub(in crate::engine) struct Room<'a> {
    pub(in crate::engine) name: &'a str,
    pub(in crate::engine) started: bool,
    pub(in crate::engine) size: usize,
    pub(in crate::engine) busy: usize,
    pub(in crate::engine) queued: usize,
    pub(in crate::engine) handlers: &'a HashSet<String>,
    /// How long the tasks it may claim have been running here lately
    /// (ms): those of its slowest handler, if the tasks of every handler
    /// it takes have completed here (see [`Pool::note_pace`]).
    pub(in crate::engine) run_ms: Option<f64>,
}

/// What [`Pools::dispatch_one`] did.
#[derive(Debug, Default)]
pub(in crate::engine) struct Dispatch {
    /// Tasks passed over because their handler is not defined: they wait
    /// for it now (their status changed).
    pub(in crate::engine) waiting: Vec<TaskId>,
    /// The worker that took a task, and the task (now running).
    pub(in crate::engine) taken: Option<(Slot, TaskId)>,
}

impl Pools {
    /// The pool called `name`, if any.
    pub(in crate::engine) fn find(&self, name: &str) -> Option<PoolId> {
        self.pools
            .iter()
            .position(|p| p.name == name)
            .map(|i| i as PoolId)
    }

    /// A new pool called `name`, without workers.
    pub(in crate::engine) fn create(&mut self, name: &str, started: bool) -> PoolId {
        self.pools.push(Pool {
            name: name.to_owned(),
            started,
            next_arrangement: 1,
            ..Pool::default()
        });
        (self.pools.len() - 1) as PoolId
    }

    /// Every pool's id.
    pub(in crate::engine) fn ids(&self) -> std::ops::Range<PoolId> {
        0..self.pools.len() as PoolId
    }

    fn get(&self, pool: PoolId) -> Option<&Pool> {
        self.pools.get(pool as usize)
    }

    fn get_mut(&mut self, pool: PoolId) -> Option<&mut Pool> {
        self.pools.get_mut(pool as usize)
    }

    /// The name of the pool.
    pub(in crate::engine) fn name(&self, pool: PoolId) -> Option<&str> {
        self.get(pool).map(|p| p.name.as_str())
    }

    /// Makes `slot` a worker of the pool; false when there is no such pool.
    pub(in crate::engine) fn attach(&mut self, pool: PoolId, slot: Slot) -> bool {
        if self.get(pool).is_none() {
            return false;
        }
        // Whether it is attached is a lookup, not a walk through the
        // workers (a pool of thousands grows one worker at a time).
        if self.of_worker.insert(slot, pool) != Some(pool) {
            if let Some(p) = self.get_mut(pool) {
                p.workers.push(slot);
                p.free.push_back(slot);
            }
        }
        true
    }

    /// Number of workers of the pool.
    pub(in crate::engine) fn size(&self, pool: PoolId) -> usize {
        self.get(pool).map_or(0, |p| p.workers.len())
    }

    /// Up to `count` workers of the pool without a task, the last ones first.
    pub(in crate::engine) fn idle_workers(&self, pool: PoolId, count: usize) -> Vec<Slot> {
        self.get(pool).map_or_else(Vec::new, |p| {
            p.workers
                .iter()
                .rev()
                .copied()
                .filter(|w| !p.busy.contains_key(w))
                .take(count)
                .collect()
        })
    }

    /// The pool `slot` is a worker of.
    pub(in crate::engine) fn pool_of(&self, slot: Slot) -> Option<PoolId> {
        self.of_worker.get(&slot).copied()
    }

    /// Forgets a worker (released): it takes no task any more.
    pub(in crate::engine) fn forget_worker(&mut self, slot: Slot) {
        if let Some(pool) = self.of_worker.remove(&slot) {
            if let Some(p) = self.get_mut(pool) {
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

    /// Queues a task; returns its id and arrangement id.
    pub(in crate::engine) fn add(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
    ) -> Result<(TaskId, u64), AddError> {
        let p = self.get(pool).ok_or(AddError::NoPool)?;
        if spec
            .name
            .as_ref()
            .is_some_and(|n| p.queued_names.contains_key(n))
        {
            return Err(AddError::Duplicate);
        }
        let id = self.tasks.allocate(1);
        let arrangement = self.insert(pool, id, spec);
        Ok((id, arrangement))
    }

    /// Queues anonymous tasks of the given priorities; their task ids and
    /// arrangement ids are consecutive from the ones returned.
    pub(in crate::engine) fn add_many(
        &mut self,
        pool: PoolId,
        priorities: &[f64],
    ) -> Result<(TaskId, u64), AddError> {
        if self.get(pool).is_none() {
            return Err(AddError::NoPool);
        }
        let first = self.tasks.allocate(priorities.len());
        self.tasks.reserve(priorities.len());
        let mut first_arrangement = 0;
        for (k, priority) in priorities.iter().enumerate() {
            let spec = TaskSpec {
                name: None,
                priority: *priority,
                handler: None,
            };
            let arrangement = self.insert(pool, first + k as u64, spec);
            if k == 0 {
                first_arrangement = arrangement;
            }
        }
        Ok((first, first_arrangement))
    }

    fn insert(&mut self, pool: PoolId, id: TaskId, spec: TaskSpec) -> u64 {
        let Some(p) = self.get_mut(pool) else {
            return 0;
        };
        let arrangement = p.next_arrangement;
        p.next_arrangement += 1;
        let key = Key::new(spec.priority, arrangement);
        self.enqueue(pool, id, spec, key);
        arrangement
    }

    /// Puts task `id` into the pool's queue at `key` and into the task slab.
    fn enqueue(&mut self, pool: PoolId, id: TaskId, spec: TaskSpec, key: Key) {
        if let Some(p) = self.get_mut(pool) {
            p.queue.insert(key, id);
            if let Some(name) = &spec.name {
                p.note_queued(name);
            }
        }
        self.tasks.insert(
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

    /// The pending task of the pool called `name` (queued, or waiting for
    /// its time).
    pub(in crate::engine) fn pending_named(&self, pool: PoolId, name: &str) -> Option<TaskId> {
        let p = self.get(pool)?;
        if !p.queued_names.contains_key(name) {
            return None;
        }
        p.queue
            .values()
            .chain(p.delayed.iter())
            .copied()
            .find(|t| self.tasks.get(t).and_then(Task::name) == Some(name))
    }

    /// Adds a task that waits for its time before it is queued (its name
    /// is taken from now); returns its id and arrangement id.
    pub(in crate::engine) fn add_delayed(
        &mut self,
        pool: PoolId,
        spec: TaskSpec,
    ) -> Result<(TaskId, u64), AddError> {
        let (id, arrangement) = self.add(pool, spec)?;
        self.delay(pool, id);
        Ok((id, arrangement))
    }

    /// Takes queued task `id` out of the queue until its time (see
    /// [`Pools::release_delayed`]).
    pub(in crate::engine) fn delay(&mut self, pool: PoolId, id: TaskId) {
        let Some(key) = self.tasks.get(&id).map(|t| t.key) else {
            return;
        };
        if let Some(p) = self.get_mut(pool) {
            p.queue.remove(&key);
            p.delayed.insert(id);
        }
        if let Some(t) = self.tasks.get_mut(&id) {
            t.status = TaskStatus::Scheduled;
        }
    }

    /// Task `id`'s time came: it joins the queue, in its place. Returns its
    /// pool and whether its status changed (to idle; a task paused while it
    /// waited stays paused). `None` when it is not waiting.
    pub(in crate::engine) fn release_delayed(&mut self, id: TaskId) -> Option<(PoolId, bool)> {
        let (pool, key, status) = self.tasks.get(&id).map(|t| (t.pool, t.key, t.status))?;
        let p = self.get_mut(pool)?;
        if !p.delayed.remove(&id) {
            return None;
        }
        p.queue.insert(key, id);
        let changed = status == TaskStatus::Scheduled;
        if changed {
            if let Some(t) = self.tasks.get_mut(&id) {
                t.status = TaskStatus::Idle;
            }
        }
        Some((pool, changed))
    }

    /// Whether task `id` waits for its time.
    pub(in crate::engine) fn is_delayed(&self, id: TaskId) -> bool {
        self.tasks
            .get(&id)
            .and_then(|t| self.get(t.pool))
            .is_some_and(|p| p.delayed.contains(&id))
    }

    /// The status and pool of a task queued or running.
    pub(in crate::engine) fn task(&self, task: TaskId) -> Option<(TaskStatus, PoolId)> {
        self.tasks.get(&task).map(|t| (t.status, t.pool))
    }

    /// Sets a task's status; false when it had it already (or is unknown).
    pub(in crate::engine) fn set_status(&mut self, task: TaskId, status: TaskStatus) -> bool {
        match self.tasks.get_mut(&task) {
            Some(t) if t.status != status => {
                t.status = status;
                true
            }
            _ => false,
        }
    }

    /// Takes a pending task out of its queue; returns its pool and its
    /// name.
    pub(in crate::engine) fn remove_pending(
        &mut self,
        task: TaskId,
    ) -> Option<(PoolId, Option<String>)> {
        let t = self.tasks.remove(&task)?;
        if let Some(p) = self.get_mut(t.pool) {
            p.queue.remove(&t.key);
            p.delayed.remove(&task);
            if let Some(name) = t.name() {
                p.note_dequeued(name);
            }
        }
        Some((t.pool, t.into_name()))
    }

    /// Moves a pending task to the place of a new priority.
    pub(in crate::engine) fn reprioritize(&mut self, pool: PoolId, task: TaskId, priority: f64) {
        let Some(t) = self.tasks.get_mut(&task) else {
            return;
        };
        let old = t.key;
        t.key.priority = Key::new(priority, 0).priority;
        let new = t.key;
        if let Some(p) = self.get_mut(pool) {
            // One waiting for its time joins the queue at its new place later.
            if !p.delayed.contains(&task) {
                p.queue.remove(&old);
                p.queue.insert(new, task);
            }
        }
    }

    /// Changes the handler of a pending task that names one; false when it
    /// names none (it runs a function of its own).
    pub(in crate::engine) fn set_task_handler(&mut self, task: TaskId, handler: &str) -> bool {
        let Some(old) = self
            .tasks
            .get_mut(&task)
            .and_then(|t| t.names.as_mut())
            .and_then(|n| n.handler.as_mut())
        else {
            return false;
        };
        handler.clone_into(old);
        true
    }

    /// Whether the pool's handler `name` is defined.
    pub(in crate::engine) fn has_handler(&self, pool: PoolId, name: &str) -> bool {
        self.get(pool).is_some_and(|p| p.handlers.contains(name))
    }

    /// Records whether the pool's handler `name` is defined.
    pub(in crate::engine) fn set_handler(&mut self, pool: PoolId, name: &str, defined: bool) {
        if let Some(p) = self.get_mut(pool) {
            if defined {
                p.handlers.insert(name.to_owned());
            } else {
                p.handlers.remove(name);
            }
        }
    }

    /// Names of the pending tasks in the order they would run.
    pub(in crate::engine) fn pending_names(&self, pool: PoolId) -> Vec<String> {
        self.get(pool).map_or_else(Vec::new, |p| {
            p.queue
                .values()
                .filter_map(|t| {
                    self.tasks
                        .get(t)
                        .map(|t| t.name().unwrap_or("(anonymous)").to_owned())
                })
                .collect()
        })
    }

    /// Whether the pool has nothing queued and nothing running.
    pub(in crate::engine) fn is_idle(&self, pool: PoolId) -> bool {
        self.get(pool)
            .is_none_or(|p| p.queue.is_empty() && p.busy.is_empty() && p.delayed.is_empty())
    }

    /// Tasks queued in all pools.
    pub(in crate::engine) fn queued(&self) -> usize {
        self.pools.iter().map(|p| p.queue.len()).sum()
    }

    /// Starts or stops the pool's dispatching.
    pub(in crate::engine) fn set_started(&mut self, pool: PoolId, started: bool) {
        if let Some(p) = self.get_mut(pool) {
            p.started = started;
        }
    }

    /// Takes the pool's queued tasks that `keep` does not keep out of the
    /// queue; returns them with their names.
    pub(in crate::engine) fn drain_queued(
        &mut self,
        pool: PoolId,
        keep: impl Fn(TaskId) -> bool,
    ) -> Vec<(TaskId, Option<String>)> {
        let Some(p) = self.get(pool) else {
            return Vec::new();
        };
        let dropped: Vec<TaskId> = p
            .queue
            .values()
            .chain(p.delayed.iter())
            .copied()
            .filter(|t| !keep(*t))
            .collect();
        dropped
            .into_iter()
            .map(|task| (task, self.remove_pending(task).and_then(|(_, name)| name)))
            .collect()
    }

    /// Starts the first task that may run on the first free worker that
    /// may run (`may_run`), if the pool is started: a paused task blocks
    /// the queue, one waiting for its handler is passed over. `None` when
    /// nothing can start (no task, or no worker).
    pub(in crate::engine) fn dispatch_one(
        &mut self,
        pool: PoolId,
        may_run: impl Fn(Slot) -> bool,
    ) -> Option<Dispatch> {
        let p = self.get(pool)?;
        if !p.started || p.queue.is_empty() {
            return None;
        }
        // The first free worker that may run (a disabled or paused one
        // stays free, at the back).
        let at = p.free.iter().position(|w| may_run(*w))?;
        let worker = p.free[at];
        // Mostly the first task may start: it is taken from the front,
        // without a walk through the queue or a search for its place.
        let startable = |t: &Task| {
            t.status != TaskStatus::Paused && t.handler().is_none_or(|h| p.handlers.contains(h))
        };
        let front = p
            .queue
            .first()
            .filter(|(_, task)| self.tasks.get(task).is_some_and(startable));
        let mut pick = front;
        let mut waiting = Vec::new();
        if front.is_none() {
            for (key, task) in p.queue.iter() {
                let Some(t) = self.tasks.get(&task) else {
                    continue;
                };
                if t.status == TaskStatus::Paused {
                    break;
                }
                if !startable(t) {
                    if t.status != TaskStatus::WaitingHandler {
                        waiting.push(task);
                    }
                    continue;
                }
                pick = Some((key, task));
                break;
            }
        }
        for t in &waiting {
            self.set_status(*t, TaskStatus::WaitingHandler);
        }
        let mut dispatch = Dispatch {
            waiting,
            taken: None,
        };
        let Some((key, task)) = pick else {
            return Some(dispatch);
        };
        let tasks = &mut self.tasks;
        if let Some(p) = self.pools.get_mut(pool as usize) {
            if front.is_some() {
                p.queue.pop_first();
            } else {
                p.queue.remove(&key);
            }
            if let Some(name) = tasks.get(&task).and_then(Task::name) {
                p.note_dequeued(name);
            }
            // At the front (mostly) this moves nothing: a deque's removal
            // shifts the shorter side.
            p.free.remove(at);
            p.busy.insert(worker, task);
        }
        if let Some(t) = tasks.get_mut(&task) {
            t.status = TaskStatus::Running;
        }
        dispatch.taken = Some((worker, task));
        Some(dispatch)
    }

    /// The first `limit` waiting tasks of the pool in the order they would
    /// start, by the rules of [`Pools::dispatch_one`]: first the tasks
    /// ahead of the first paused one, in queue order; then that paused
    /// task and the tasks behind it, which wait for it to be resumed; last
    /// the tasks whose handler is not defined (wherever they are queued:
    /// they wait for it, shown as waiting for their handler even before a
    /// dispatch passed over them). A paused task whose handler is not
    /// defined still blocks the tasks behind it. Stops reading the queue
    /// once the first `limit` are known.
    pub(in crate::engine) fn queue_in_dispatch_order(
        &self,
        pool: PoolId,
        limit: usize,
    ) -> Vec<TaskInfo<'_>> {
        let Some(p) = self.get(pool) else {
            return Vec::new();
        };
        let (mut ready, mut blocked, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        let mut behind_pause = false;
        for id in p.queue.values() {
            if ready.len() + blocked.len() >= limit {
                break;
            }
            let Some(t) = self.tasks.get(id) else {
                continue;
            };
            let mut info = TaskInfo::of(*id, t);
            behind_pause |= t.status == TaskStatus::Paused;
            let no_handler = t.handler().is_some_and(|h| !p.handlers.contains(h));
            if no_handler && t.status != TaskStatus::Paused {
                if waiting.len() < limit {
                    info.status = TaskStatus::WaitingHandler;
                    waiting.push(info);
                }
            } else if behind_pause {
                blocked.push(info);
            } else {
                ready.push(info);
            }
        }
        ready.append(&mut blocked);
        ready.append(&mut waiting);
        ready.truncate(limit);
        ready
    }

    /// The pool's waiting tasks by the status the pools view shows them
    /// with (see [`Pools::queue_in_dispatch_order`]): idle, paused, and
    /// waiting for their handler. One pass over the queue.
    pub(in crate::engine) fn queued_by_status(&self, pool: PoolId) -> [u64; 3] {
        let mut counts = [0u64; 3];
        let Some(p) = self.get(pool) else {
            return counts;
        };
        for id in p.queue.values() {
            let Some(t) = self.tasks.get(id) else {
                continue;
            };
            let at = if t.status == TaskStatus::Paused {
                1
            } else if t.handler().is_some_and(|h| !p.handlers.contains(h)) {
                2
            } else {
                0
            };
            counts[at] += 1;
        }
        counts
    }

    /// How many tasks of the pool wait for their time (`runAt`,
    /// `delayMs`) before they are queued.
    pub(in crate::engine) fn delayed_count(&self, pool: PoolId) -> usize {
        self.get(pool).map_or(0, |p| p.delayed.len())
    }

    /// How many tasks of the pool are running.
    pub(in crate::engine) fn running_count(&self, pool: PoolId) -> usize {
        self.get(pool).map_or(0, |p| p.busy.len())
    }

    /// How many tasks wait in the pool's queue.
    pub(in crate::engine) fn queue_len(&self, pool: PoolId) -> usize {
        self.get(pool).map_or(0, |p| p.queue.len())
    }

    /// The pool's running tasks with their workers, in the order they
    /// were queued (task id).
    pub(in crate::engine) fn running(&self, pool: PoolId) -> Vec<(Slot, TaskInfo<'_>)> {
        let Some(p) = self.get(pool) else {
            return Vec::new();
        };
        let mut running: Vec<(Slot, TaskInfo<'_>)> = p
            .busy
            .iter()
            .filter_map(|(w, id)| Some((*w, TaskInfo::of(*id, self.tasks.get(id)?))))
            .collect();
        running.sort_unstable_by_key(|(_, t)| t.id);
        running
    }

    /// Undoes the dispatch of `task` to `worker` (its run could not start):
    /// the task is queued again, the worker free at the back.
    pub(in crate::engine) fn undo_dispatch(&mut self, pool: PoolId, worker: Slot, task: TaskId) {
        let tasks = &self.tasks;
        let Some(t) = tasks.get(&task) else {
            return;
        };
        if let Some(p) = self.pools.get_mut(pool as usize) {
            p.busy.remove(&worker);
            p.free.push_back(worker);
            p.queue.insert(t.key, task);
            if let Some(name) = t.name() {
                p.note_queued(name);
            }
        }
    }

    /// Task `task`, run by `worker`, ended: it is forgotten, and the worker
    /// is free again if it is still the pool's. Returns the task's pool and
    /// its name.
    /// `completed_in`: how long it ran, when it completed and its pace
    /// counts (see [`Pool::note_pace`]).
    pub(in crate::engine) fn task_done(
        &mut self,
        task: TaskId,
        worker: Slot,
        completed_in: Option<Nanos>,
    ) -> Option<(PoolId, Option<String>)> {
        let t = self.tasks.remove(&task)?;
        let pool = t.pool;
        let attached = self.of_worker.get(&worker) == Some(&pool);
        if let Some(p) = self.get_mut(pool) {
            if p.busy.remove(&worker).is_some() && attached {
                p.free.push_back(worker);
            }
            if let (Some(ns), Some(handler)) = (completed_in, t.handler()) {
                p.note_pace(handler, ns);
            }
        }
        Some((pool, t.into_name()))
    }

    /// A pool fell idle: after many tasks, that is worth a trim hint.
    pub(in crate::engine) fn note_idle(&mut self) {
        let tasks = &mut self.tasks;
        if tasks.left >= TRIM_AFTER_TASKS {
            tasks.left = 0;
            tasks.idle_after_many = true;
        }
    }

    /// Entries the task slab has room for.
    pub(in crate::engine) fn task_capacity(&self) -> usize {
        self.tasks.slots.capacity()
    }

    /// See [`crate::Engine::take_trim_hint`].
    pub(in crate::engine) fn take_trim_hint(&mut self) -> bool {
        let tasks = &mut self.tasks;
        let bytes = tasks.given_back * std::mem::size_of::<Option<Task>>();
        if bytes >= TRIM_AFTER_BYTES || tasks.idle_after_many {
            tasks.given_back = 0;
            tasks.idle_after_many = false;
            return true;
        }
        false
    }

    /// The arrangement id the pool's next task gets.
    pub(in crate::engine) fn next_arrangement(&self, pool: PoolId) -> u64 {
        self.get(pool).map_or(0, |p| p.next_arrangement)
    }

    /// Puts a task back into the queue with the arrangement id it had (a
    /// restored task); the pool's next arrangement continues after it.
    /// False when the pool does not exist or the place is taken.
    pub(in crate::engine) fn requeue(
        &mut self,
        pool: PoolId,
        id: TaskId,
        spec: TaskSpec,
        arrangement: u64,
    ) -> bool {
        let key = Key::new(spec.priority, arrangement);
        let Some(p) = self.get_mut(pool) else {
            return false;
        };
        if p.queue.contains_key(&key) {
            return false;
        }
        p.next_arrangement = p.next_arrangement.max(arrangement.saturating_add(1));
        self.enqueue(pool, id, spec, key);
        true
    }

    /// What a shared store's claimer needs of the pool: whether it is
    /// started, its size, its running and queued tasks, its handlers.
    pub(in crate::engine) fn room(&self, pool: PoolId) -> Option<Room<'_>> {
        let p = self.get(pool)?;
        Some(Room {
            name: &p.name,
            started: p.started,
            size: p.workers.len(),
            busy: p.busy.len(),
            queued: p.queue.len(),
            handlers: &p.handlers,
            run_ms: p.slowest_pace(),
        })
    }

    /// Whether a task of handler `handler` added now would start at once:
    /// the pool is started, nothing waits in its queue, the handler is
    /// defined and a free worker may run.
    pub(in crate::engine) fn starts_now(
        &self,
        pool: PoolId,
        handler: &str,
        may_run: impl Fn(Slot) -> bool,
    ) -> bool {
        self.get(pool).is_some_and(|p| {
            p.started
                && p.queue.is_empty()
                && p.handlers.contains(handler)
                && p.free.iter().any(|w| may_run(*w))
        })
    }

    /// Takes the pool's next arrangement id for a task not queued here.
    pub(in crate::engine) fn take_arrangement(&mut self, pool: PoolId) -> u64 {
        self.get_mut(pool).map_or(0, |p| {
            let a = p.next_arrangement;
            p.next_arrangement += 1;
            a
        })
    }

    /// The id the next task gets.
    pub(in crate::engine) fn next_task_id(&self) -> TaskId {
        self.tasks.next
    }

    /// A fresh task id (a restored task's).
    pub(in crate::engine) fn allocate_task_id(&mut self) -> TaskId {
        self.tasks.allocate(1)
    }

    /// `id` (allocated earlier, never queued) if it can be queued now,
    /// else a new id.
    pub(in crate::engine) fn reuse_task_id(&mut self, id: TaskId) -> TaskId {
        if self.tasks.accepts(id) {
            id
        } else {
            self.allocate_task_id()
        }
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
    fn a_pool_knows_the_pace_of_its_slowest_handler_once_each_has_completed_here() {
        let mut p = Pool::default();
        assert_eq!(p.slowest_pace(), None, "no handler: nothing to claim for");
        p.handlers.insert("fast".into());
        p.handlers.insert("slow".into());
        // A run that took no time (a manual clock) says nothing.
        p.note_pace("fast", 0);
        assert_eq!(p.slowest_pace(), None);
        // The first run is the average; later ones move it by a sixteenth.
        p.note_pace("fast", 2_000_000);
        assert_eq!(p.paces.get("fast"), Some(&2.0));
        p.note_pace("fast", 18_000_000);
        assert_eq!(p.paces.get("fast"), Some(&3.0));
        for _ in 0..200 {
            p.note_pace("fast", 500_000);
        }
        assert!((p.paces["fast"] - 0.5).abs() < 1e-3, "{}", p.paces["fast"]);
        // "slow" has not run here: the pace of what the pool claims is unknown.
        assert_eq!(p.slowest_pace(), None);
        p.note_pace("slow", 40_000_000);
        assert_eq!(p.slowest_pace(), Some(40.0));
        // A handler no longer taken does not count.
        p.handlers.remove("slow");
        assert!((p.slowest_pace().unwrap_or(0.0) - 0.5).abs() < 1e-3);
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

    #[test]
    fn an_id_allocated_earlier_is_stored_only_where_the_slab_can_hold_it() {
        let mut slab = TaskSlab::default();
        let early = slab.allocate(1);
        let far = slab.allocate(1);
        // Ids allocated and not stored meanwhile (tasks offered to a cluster).
        slab.allocate(10 * SLAB_FLOOR);
        let later = slab.allocate(1);
        assert!(slab.accepts(early), "anything fits an empty slab");
        slab.insert(later, task(1));
        assert!(!slab.accepts(early), "behind the front");
        assert!(!slab.accepts(far), "behind the front");
        assert!(slab.accepts(later + 1) && slab.accepts(later + SLAB_FLOOR as u64));
        assert!(
            !slab.accepts(later + 2 * SLAB_FLOOR as u64),
            "too far ahead"
        );
        let mut pools = Pools::default();
        let old = pools.allocate_task_id();
        let id = pools.allocate_task_id();
        pools.tasks.insert(id, task(0));
        assert_eq!(pools.reuse_task_id(id + 1), id + 1);
        let fresh = pools.reuse_task_id(old);
        assert!(fresh > id, "a new id instead of one behind the front");
    }
}
