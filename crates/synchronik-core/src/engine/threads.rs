//! Thread pools: tasks run by the host's threads (Node.js worker threads),
//! each of which registers with the engine as a *runner* of a pool.
//!
//! The engine owns the queue (priority, then arrival), the routing of a
//! task to a runner that may take its handler, the queue limit and the
//! lifetime of runners; the host owns the threads themselves. Payloads and
//! results are opaque bytes to the engine (the host's serialization).
//!
//! The exchange with a runner is a pull: when a task is assigned to an
//! idle runner the engine announces [`ThreadEvent::Work`] (the host wakes
//! that thread), the thread takes it with [`Engine::thread_take`] and
//! reports with [`Engine::thread_done`], which hands it its next task in the
//! same step while the queue has one for it. A busy pool therefore needs no
//! wake-up per task, and the thread that created the task is never a relay.
//!
//! A runner's life: the engine asks the host to spawn it
//! ([`ThreadEvent::Spawn`]), the thread registers once its module has
//! loaded ([`Engine::thread_register`]) or reports that it could not load
//! it ([`Engine::thread_bootstrap_failed`]), and the host says when the
//! thread is gone ([`Engine::thread_exited`]). A runner that dies with a
//! task fails that task (`ERR_THREAD_EXITED`) and is replaced; a module
//! that cannot be loaded breaks the pool (its tasks fail, nothing is
//! respawned). To end a thread (an aborted task, a closed pool) the engine
//! asks the host to terminate it ([`ThreadEvent::Terminate`]).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::Engine;
use crate::clock::Nanos;
use crate::error::EngineError;
use crate::event::{Event, TaskId};

/// A thread pool, by number.
pub type ThreadPoolId = u32;
/// A runner (one thread of a pool), by number; never reused in an engine.
pub type RunnerId = u32;

/// A group of threads of a pool: `size` threads that take only the
/// handlers named (specialists), or any handler (`None`: generalists).
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadGroup {
    /// Number of threads; all are spawned when the pool is created.
    pub size: u32,
    /// The handlers its threads take (`None`: any).
    pub handlers: Option<Vec<String>>,
}

/// A pool to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPoolSpec {
    /// Its name, in error messages and thread names; the next pool of the
    /// same name brings its stored tasks back.
    pub name: String,
    /// Its threads, by group.
    pub groups: Vec<ThreadGroup>,
    /// At most this many tasks wait (not counting running ones).
    pub max_queue: Option<usize>,
    /// A thread idle this long ends; it comes back when work needs it.
    pub idle_timeout_ms: Option<f64>,
}

/// A task to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadTaskSpec {
    /// The handler to run; the task waits for a thread of a group that
    /// takes it.
    pub handler: String,
    /// Higher runs first; equal priorities in arrival order.
    pub priority: f64,
    /// The handler's input, serialized by the host.
    pub payload: Vec<u8>,
}

/// A named task to queue (`addTask`): its name, and what storing it
/// needs. With a store, the task is durable: stored until it ends, and
/// brought back by the next pool of its name after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedThreadTask {
    /// Its name.
    pub name: String,
    /// The payload as JSON text, for the store (`None`: no payload).
    pub payload_json: Option<String>,
    /// Set for a stored task brought back after a restart.
    pub restored: Option<StoredThreadTask>,
}

/// A stored task brought back (see [`Engine::thread_pool_stored`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredThreadTask {
    /// Its idempotency key.
    pub key: String,
    /// Attempts started so far.
    pub attempt: u32,
}

/// A task handed to a runner.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadTaskRun {
    /// Its id.
    pub task: TaskId,
    /// The handler to run.
    pub handler: String,
    /// The handler's input, as queued.
    pub payload: Vec<u8>,
    /// A named task (`addTask`): its start is announced
    /// ([`ThreadEvent::Started`]).
    pub named: bool,
    /// A durable task's idempotency key, the same on every attempt.
    pub key: Option<String>,
    /// The attempt (a durable task's counts across restarts).
    pub attempt: u32,
}

/// How a thread task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ThreadOutcome {
    /// The handler returned (or resolved with) this value.
    Returned(Vec<u8>),
    /// The handler threw (or rejected with) this value.
    Threw(Vec<u8>),
    /// Its signal was aborted (removed from the queue, or its thread ended).
    Aborted,
    /// The engine ended it; `cause` is what the thread reported, if anything
    /// (the load error of a module that could not be loaded).
    Failed {
        /// Why it ended.
        error: EngineError,
        /// What the thread reported, serialized by the host.
        cause: Option<Vec<u8>>,
    },
}

/// What the engine asks of the host about thread pools.
#[derive(Debug, Clone, PartialEq)]
pub enum ThreadEvent {
    /// Start a thread that will register as `runner` of `pool`.
    Spawn {
        /// The pool the thread belongs to.
        pool: ThreadPoolId,
        /// The runner it registers as.
        runner: RunnerId,
    },
    /// End the thread of `runner` (it may be running user code).
    Terminate {
        /// The runner whose thread ends.
        runner: RunnerId,
    },
    /// A task was assigned to `runner`, which waits for work: wake it.
    Work {
        /// The runner to wake.
        runner: RunnerId,
    },
    /// A named task started running (attempt `attempt`).
    Started {
        /// The task.
        task: TaskId,
        /// Its attempt, from 1 (a durable task's counts across restarts).
        attempt: u32,
    },
    /// A task ended.
    Done {
        /// The task.
        task: TaskId,
        /// How it ended.
        outcome: ThreadOutcome,
    },
    /// A closing pool has ended every thread it asked for (their exits
    /// follow as the host sees them).
    Closed {
        /// The pool.
        pool: ThreadPoolId,
    },
}

/// Why a task could not be queued.
#[derive(Debug, Clone, PartialEq)]
pub enum ThreadRunError {
    /// No such pool.
    UnknownPool,
    /// The pool is closed, closing or destroyed.
    Closed(EngineError),
    /// The pool's module could not be loaded.
    Broken(EngineError, Vec<u8>),
    /// `max_queue` tasks wait already.
    Full(EngineError),
    /// The manager is stopped: the pool takes named tasks only (they run
    /// once it starts again).
    Stopped(EngineError),
}

impl ThreadRunError {
    /// The error to report (`None` for an unknown pool).
    pub fn error(&self) -> Option<&EngineError> {
        match self {
            ThreadRunError::UnknownPool => None,
            ThreadRunError::Closed(e)
            | ThreadRunError::Broken(e, _)
            | ThreadRunError::Full(e)
            | ThreadRunError::Stopped(e) => Some(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RunnerState {
    /// Spawned, its module not loaded yet.
    Starting,
    Idle,
    /// A task was assigned; the thread has not taken it yet.
    Assigned(TaskId),
    Running(TaskId),
    /// Asked to terminate; waits for its exit.
    Ending,
}

#[derive(Debug)]
struct Runner {
    pool: ThreadPoolId,
    group: usize,
    state: RunnerState,
    /// The task assigned and not taken yet, with its place in the queue.
    assigned: Option<(QueueKey, ThreadTaskRun)>,
    runs: u64,
    started: Nanos,
    /// Ended for being idle: not replaced when it exits.
    retired: bool,
    /// Its idle timeout, while it is idle.
    idle_timer: Option<crate::timer::TimerId>,
}

#[derive(Debug)]
struct Queued {
    task: TaskId,
    handler: String,
    payload: Vec<u8>,
    since: Nanos,
    named: bool,
}

/// A key that orders by priority (higher first), then arrival.
type QueueKey = (Reverse<u64>, u64);

fn priority_key(priority: f64, seq: u64) -> QueueKey {
    // NaN counts as 0, as in worker pools (and as it is stored).
    let priority = if priority.is_nan() { 0.0 } else { priority };
    // The IEEE bits made monotonic: a larger priority, a larger key.
    let bits = priority.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    (Reverse(ordered), seq)
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    count: u64,
    total: Nanos,
}

impl Tally {
    fn add(&mut self, d: Nanos) {
        self.count += 1;
        self.total += d;
    }
    fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total as f64 / self.count as f64 / 1e6
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum PoolState {
    Open,
    /// No new tasks; ends when its queue and its runners are done.
    Closing,
    Closed,
}

#[derive(Debug)]
struct Pool {
    name: String,
    groups: Vec<ThreadGroup>,
    max_queue: Option<usize>,
    idle_timeout: Option<Nanos>,
    queue: BTreeMap<QueueKey, Queued>,
    /// Runners alive (in any state), in spawn order.
    runners: Vec<RunnerId>,
    state: PoolState,
    /// The manager is stopped: nothing is assigned, threads end once idle,
    /// and only named tasks are taken (they wait for the start).
    paused: bool,
    destroyed: bool,
    /// The load error of the module, once a thread could not load it.
    broken: Option<(String, Vec<u8>)>,
    run_time: Tally,
    wait_time: Tally,
    created: Nanos,
    /// Runs of runners that are gone, for `stats`.
    busy_gone: Nanos,
}

/// The thread pools of an engine.
#[derive(Debug, Default)]
pub(super) struct ThreadPools {
    pools: Vec<Pool>,
    runners: BTreeMap<RunnerId, Runner>,
    next_runner: RunnerId,
    next_seq: u64,
    next_task: TaskId,
    /// Where each queued or running task is: its pool.
    tasks: BTreeMap<TaskId, ThreadPoolId>,
    /// Busy time of each runner (for `stats`), by runner.
    busy: BTreeMap<RunnerId, Nanos>,
}

/// One thread of [`ThreadPoolStats`].
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadStats {
    /// Its runner.
    pub runner: RunnerId,
    /// The handlers it takes (`None`: any).
    pub handlers: Option<Vec<String>>,
    /// Tasks it finished (returned or threw).
    pub runs: u64,
    /// Whether it has a task (assigned or running).
    pub busy: bool,
    /// Whether it has loaded its module.
    pub ready: bool,
}

/// `pool.stats()`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPoolStats {
    /// The threads alive (starting and ending ones included), in spawn
    /// order.
    pub threads: Vec<ThreadStats>,
    /// Tasks waiting in the queue (not those assigned or running).
    pub queued: usize,
    /// Busy time of all threads over (threads × time since creation).
    pub utilization: f64,
    /// Tasks its threads finished (returned or threw).
    pub run_count: u64,
    /// Mean time from a thread taking a task to its finish, in ms (0
    /// before any).
    pub run_mean_ms: f64,
    /// Tasks assigned to a thread (one put back in the queue counts again
    /// when it is assigned again).
    pub wait_count: u64,
    /// Mean time a task waited in the queue before it was assigned, in ms
    /// (0 before any).
    pub wait_mean_ms: f64,
}

impl ThreadPools {
    fn pool(&self, pool: ThreadPoolId) -> Option<&Pool> {
        self.pools.get(pool as usize)
    }

    fn pool_mut(&mut self, pool: ThreadPoolId) -> Option<&mut Pool> {
        self.pools.get_mut(pool as usize)
    }

    /// Threads of group `group` of `pool` that are not ending.
    fn alive(&self, pool: ThreadPoolId, group: usize) -> usize {
        self.pools[pool as usize]
            .runners
            .iter()
            .map(|id| &self.runners[id])
            .filter(|r| r.group == group && r.state != RunnerState::Ending)
            .count()
    }

    /// Whether `runner` (of group `group` of `pool`) may take `handler`.
    fn takes(&self, pool: &Pool, group: usize, handler: &str) -> bool {
        match &pool.groups[group].handlers {
            None => true,
            Some(hs) => hs.iter().any(|h| h == handler),
        }
    }

    /// The first queued task `runner` may take, out of the queue.
    fn next_for(&mut self, runner: RunnerId) -> Option<(QueueKey, Queued)> {
        let r = self.runners.get(&runner)?;
        let (pool_id, group) = (r.pool, r.group);
        let pool = self.pools.get(pool_id as usize)?;
        let key = *pool
            .queue
            .iter()
            .find(|(_, q)| self.takes(pool, group, &q.handler))?
            .0;
        self.pools[pool_id as usize]
            .queue
            .remove(&key)
            .map(|q| (key, q))
    }

    fn new_runner(&mut self, pool: ThreadPoolId, group: usize, now: Nanos) -> RunnerId {
        self.next_runner += 1;
        let id = self.next_runner;
        self.runners.insert(
            id,
            Runner {
                pool,
                group,
                state: RunnerState::Starting,
                assigned: None,
                runs: 0,
                started: now,
                retired: false,
                idle_timer: None,
            },
        );
        self.pools[pool as usize].runners.push(id);
        id
    }
}

impl Engine {
    /// Creates a thread pool and asks the host for its threads.
    pub fn thread_pool_create(&mut self, spec: ThreadPoolSpec) -> ThreadPoolId {
        let now = self.now();
        let id = self.threads.pools.len() as ThreadPoolId;
        self.threads.pools.push(Pool {
            name: spec.name,
            groups: spec.groups,
            max_queue: spec.max_queue,
            idle_timeout: spec
                .idle_timeout_ms
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| (ms * 1e6) as Nanos),
            queue: BTreeMap::new(),
            runners: Vec::new(),
            state: PoolState::Open,
            paused: false,
            destroyed: false,
            broken: None,
            run_time: Tally::default(),
            wait_time: Tally::default(),
            created: now,
            busy_gone: 0,
        });
        let sizes: Vec<u32> = self.threads.pools[id as usize]
            .groups
            .iter()
            .map(|g| g.size)
            .collect();
        for (group, size) in sizes.into_iter().enumerate() {
            for _ in 0..size {
                self.spawn_runner(id, group, now);
            }
        }
        id
    }

    fn spawn_runner(&mut self, pool: ThreadPoolId, group: usize, now: Nanos) {
        let runner = self.threads.new_runner(pool, group, now);
        self.emit(Event::Thread(ThreadEvent::Spawn { pool, runner }));
    }

    /// Queues a task; it is assigned at once when a runner may take it.
    pub fn thread_run(
        &mut self,
        pool: ThreadPoolId,
        spec: ThreadTaskSpec,
    ) -> Result<TaskId, ThreadRunError> {
        let queued = self.thread_queue(pool, spec, false, false);
        if queued.is_ok() {
            self.thread_dispatch(pool);
        }
        queued
    }

    /// Queues a named task (`addTask`). With a store it is stored until it
    /// ends (its payload as `named.payload_json`); returns its id and, when
    /// stored, its idempotency key. Unlike [`Engine::thread_run`] it is
    /// taken while the manager is stopped (it runs once it starts).
    pub fn thread_add(
        &mut self,
        pool: ThreadPoolId,
        spec: ThreadTaskSpec,
        named: NamedThreadTask,
    ) -> Result<(TaskId, Option<String>), ThreadRunError> {
        let handler = spec.handler.clone();
        let priority = if spec.priority.is_nan() {
            0.0
        } else {
            spec.priority
        };
        let restored = named.restored.is_some();
        let task = self.thread_queue(pool, spec, true, restored)?;
        let key = match &self.store {
            Some(h) => {
                let p = &self.threads.pools[pool as usize];
                // The place thread_queue gave it (a restored task keeps
                // the one it has stored).
                let arrangement = self.threads.next_seq;
                Some(h.thread_task_added(
                    task,
                    super::durable::ThreadTaskRow {
                        pool: p.name.clone(),
                        name: named.name,
                        handler,
                        payload: named.payload_json,
                        priority,
                        arrangement,
                    },
                    named.restored.map(|r| (r.key, r.attempt)),
                ))
            }
            None => None,
        };
        self.thread_dispatch(pool);
        Ok((task, key))
    }

    /// Queues tasks in one step (each as [`Engine::thread_run`] would), then
    /// assigns what runners may take.
    pub fn thread_run_many(
        &mut self,
        pool: ThreadPoolId,
        specs: impl IntoIterator<Item = ThreadTaskSpec>,
    ) -> Vec<Result<TaskId, ThreadRunError>> {
        let queued: Vec<_> = specs
            .into_iter()
            .map(|spec| self.thread_queue(pool, spec, false, false))
            .collect();
        if queued.iter().any(Result::is_ok) {
            self.thread_dispatch(pool);
        }
        queued
    }

    /// Queues a task (`named`: by `addTask`; `restored`: a stored task
    /// brought back).
    fn thread_queue(
        &mut self,
        pool: ThreadPoolId,
        spec: ThreadTaskSpec,
        named: bool,
        restored: bool,
    ) -> Result<TaskId, ThreadRunError> {
        let Some(p) = self.threads.pool(pool) else {
            return Err(ThreadRunError::UnknownPool);
        };
        if p.state != PoolState::Open {
            return Err(ThreadRunError::Closed(EngineError::ThreadPoolClosed {
                pool: p.name.clone(),
                destroyed: p.destroyed,
            }));
        }
        if let Some((message, cause)) = &p.broken {
            return Err(ThreadRunError::Broken(
                EngineError::ThreadBootstrap {
                    pool: p.name.clone(),
                    message: message.clone(),
                },
                cause.clone(),
            ));
        }
        if p.paused && !named {
            return Err(ThreadRunError::Stopped(EngineError::ThreadPoolStopped {
                pool: p.name.clone(),
            }));
        }
        // A stored task brought back is queued whatever the limit: it was
        // accepted once.
        if let (Some(max), false) = (p.max_queue, restored) {
            // Threads that are free (or loading) take their share at once:
            // only what is beyond them waits.
            let free = p
                .runners
                .iter()
                .filter(|r| {
                    matches!(
                        self.threads.runners[r].state,
                        RunnerState::Idle | RunnerState::Starting
                    )
                })
                .count();
            if p.queue.len() >= max + free {
                return Err(ThreadRunError::Full(EngineError::QueueFull {
                    pool: p.name.clone(),
                    max,
                }));
            }
        }
        self.threads.next_task += 1;
        let task = self.threads.next_task;
        let now = self.now();
        self.threads.next_seq += 1;
        let key = priority_key(spec.priority, self.threads.next_seq);
        self.threads.pools[pool as usize].queue.insert(
            key,
            Queued {
                task,
                handler: spec.handler,
                payload: spec.payload,
                since: now,
                named,
            },
        );
        self.threads.tasks.insert(task, pool);
        self.observed.touch();
        Ok(task)
    }

    /// Assigns queued tasks to the idle runners that may take them, and
    /// brings back threads that ended idle while tasks wait.
    fn thread_dispatch(&mut self, pool: ThreadPoolId) {
        if self.threads.pools[pool as usize].paused {
            return;
        }
        self.thread_refill(pool);
        let p = &self.threads.pools[pool as usize];
        let mut idle: Vec<RunnerId> = p
            .runners
            .iter()
            .copied()
            .filter(|r| self.threads.runners[r].state == RunnerState::Idle)
            .collect();
        // Specialists pick first: a generalist must not take the task only
        // a specialist could, and leave the specialist idle.
        idle.sort_by_key(|r| p.groups[self.threads.runners[r].group].handlers.is_none());
        for runner in idle {
            if self.threads.pools[pool as usize].queue.is_empty() {
                break;
            }
            if self.assign(runner) {
                self.emit(Event::Thread(ThreadEvent::Work { runner }));
            }
        }
        self.thread_pool_maybe_closed(pool);
    }

    /// Gives `runner` (idle) its next task, if the queue has one for it.
    fn assign(&mut self, runner: RunnerId) -> bool {
        let Some((key, q)) = self.threads.next_for(runner) else {
            return false;
        };
        let now = self.now();
        let r = self.threads.runners.get_mut(&runner).expect("runner");
        r.state = RunnerState::Assigned(q.task);
        if let Some(timer) = r.idle_timer.take() {
            self.timers.cancel(timer);
        }
        let run = ThreadTaskRun {
            task: q.task,
            handler: q.handler,
            payload: q.payload,
            named: q.named,
            key: None,
            attempt: 1,
        };
        r.assigned = Some((key, run));
        let pool = r.pool;
        self.threads.pools[pool as usize]
            .wait_time
            .add(now.saturating_sub(q.since));
        true
    }

    /// The thread of `runner` loaded its module: it takes work from now on.
    /// Returns its first task, if one waits for it.
    pub fn thread_register(&mut self, runner: RunnerId) -> Option<ThreadTaskRun> {
        let r = self.threads.runners.get_mut(&runner)?;
        if r.state != RunnerState::Starting {
            return None;
        }
        r.state = RunnerState::Idle;
        let pool = r.pool;
        if self.threads.pools[pool as usize].state == PoolState::Closed {
            return None;
        }
        if self.threads.pools[pool as usize].paused {
            self.thread_retire(runner);
            return None;
        }
        if self.assign(runner) {
            return self.thread_take(runner);
        }
        self.thread_arm_idle(runner);
        self.thread_pool_maybe_closed(pool);
        None
    }

    /// `runner` is idle: with an idle timeout, its thread ends when it runs out.
    fn thread_arm_idle(&mut self, runner: RunnerId) {
        let Some(r) = self.threads.runners.get(&runner) else {
            return;
        };
        let Some(timeout) = self.threads.pools[r.pool as usize].idle_timeout else {
            return;
        };
        if r.state != RunnerState::Idle || r.idle_timer.is_some() {
            return;
        }
        let at = self.now().saturating_add(timeout);
        let timer = self.arm(at, super::types::Timer::ThreadIdle(runner));
        if let Some(r) = self.threads.runners.get_mut(&runner) {
            r.idle_timer = Some(timer);
        }
    }

    /// The idle timeout of `runner` ran out: its thread ends (and is not
    /// replaced until work needs it).
    pub(super) fn thread_idle_over(&mut self, runner: RunnerId) {
        let Some(r) = self.threads.runners.get_mut(&runner) else {
            return;
        };
        r.idle_timer = None;
        self.thread_retire(runner);
    }

    /// Ends the thread of `runner`, idle, without a replacement (one comes
    /// back when work needs it).
    fn thread_retire(&mut self, runner: RunnerId) {
        let Some(r) = self.threads.runners.get_mut(&runner) else {
            return;
        };
        if r.state != RunnerState::Idle {
            return;
        }
        if let Some(timer) = r.idle_timer.take() {
            self.timers.cancel(timer);
        }
        r.state = RunnerState::Ending;
        r.retired = true;
        self.emit(Event::Thread(ThreadEvent::Terminate { runner }));
    }

    /// Spawns, in each group, the threads that ended idle, while queued
    /// tasks that group takes outnumber its idle or starting threads.
    fn thread_refill(&mut self, pool: ThreadPoolId) {
        let p = &self.threads.pools[pool as usize];
        if p.state == PoolState::Closed || p.broken.is_some() || p.queue.is_empty() {
            return;
        }
        let now = self.now();
        let mut spawn = Vec::new();
        for (g, group) in p.groups.iter().enumerate() {
            let free = p
                .runners
                .iter()
                .map(|id| &self.threads.runners[id])
                .filter(|r| {
                    r.group == g && matches!(r.state, RunnerState::Idle | RunnerState::Starting)
                })
                .count();
            let missing = (group.size as usize).saturating_sub(self.threads.alive(pool, g));
            if missing == 0 {
                continue;
            }
            let wanted = p
                .queue
                .values()
                .filter(|q| self.threads.takes(p, g, &q.handler))
                .take(free + missing)
                .count()
                .saturating_sub(free);
            spawn.extend(std::iter::repeat_n(g, wanted.min(missing)));
        }
        for g in spawn {
            self.spawn_runner(pool, g, now);
        }
    }

    /// The task assigned to `runner`, now running.
    pub fn thread_take(&mut self, runner: RunnerId) -> Option<ThreadTaskRun> {
        let now = self.now();
        let r = self.threads.runners.get_mut(&runner)?;
        let RunnerState::Assigned(task) = r.state else {
            return None;
        };
        r.state = RunnerState::Running(task);
        r.started = now;
        let mut run = r.assigned.take().map(|(_, run)| run)?;
        if run.named {
            if let Some(h) = &self.store {
                let thread = format!(
                    "{}:thread-{runner}",
                    self.threads.pools[r.pool as usize].name
                );
                h.thread_task_started(&mut run, self.wall_now_ms(), thread);
            }
            self.emit(Event::Thread(ThreadEvent::Started {
                task,
                attempt: run.attempt,
            }));
        }
        Some(run)
    }

    /// `runner` finished `task`. Returns the runner's next task, if the
    /// queue has one for it (it is running from now).
    pub fn thread_done(
        &mut self,
        runner: RunnerId,
        task: TaskId,
        returned: bool,
        value: Vec<u8>,
    ) -> Option<ThreadTaskRun> {
        let now = self.now();
        let r = self.threads.runners.get_mut(&runner)?;
        if r.state != RunnerState::Running(task) {
            // Ended already (aborted, destroyed): its outcome was reported.
            return None;
        }
        r.state = RunnerState::Idle;
        r.runs += 1;
        let ran = now.saturating_sub(r.started);
        let pool = r.pool;
        *self.threads.busy.entry(runner).or_default() += ran;
        self.threads.pools[pool as usize].run_time.add(ran);
        self.threads.tasks.remove(&task);
        let outcome = if returned {
            ThreadOutcome::Returned(value)
        } else {
            ThreadOutcome::Threw(value)
        };
        self.emit(Event::Thread(ThreadEvent::Done { task, outcome }));
        let p = &self.threads.pools[pool as usize];
        if p.paused {
            self.thread_retire(runner);
            self.thread_pool_maybe_closed(pool);
            self.thread_check_stop();
            return None;
        }
        let next = if p.state == PoolState::Closed {
            None
        } else if self.assign(runner) {
            self.thread_take(runner)
        } else {
            None
        };
        if next.is_none() {
            self.thread_arm_idle(runner);
            self.thread_pool_maybe_closed(pool);
        }
        next
    }

    /// A stop under way may be waiting for the thread task that ended.
    fn thread_check_stop(&mut self) {
        if self.is_stopping() {
            self.check_stop_done();
        }
    }

    /// Tasks of thread pools being run (assigned or running): a stop
    /// waits for them.
    pub(super) fn thread_tasks_running(&self) -> usize {
        self.threads
            .runners
            .values()
            .filter(|r| matches!(r.state, RunnerState::Running(_) | RunnerState::Assigned(_)))
            .count()
    }

    /// The manager stops: every open pool pauses. Queued tasks that are
    /// not stored are dropped (`ERR_STOPPED`, or `ERR_CLOSED` when the
    /// manager closes); stored ones stay queued. Idle threads end, busy
    /// ones when their task is done; nothing is assigned until
    /// [`Engine::thread_pools_resume`].
    pub(super) fn thread_pools_pause(&mut self, closing: bool) {
        for pool in 0..self.threads.pools.len() as ThreadPoolId {
            let p = &mut self.threads.pools[pool as usize];
            // A closing pool pauses too: the stop waits for (or, at its
            // limit, ends) its running tasks as any other's.
            if p.state == PoolState::Closed {
                continue;
            }
            p.paused = true;
            let name = p.name.clone();
            let store = self.store.as_deref();
            let keys: Vec<QueueKey> = p
                .queue
                .iter()
                .filter(|(_, q)| !store.is_some_and(|s| s.holds_thread_task(q.task)))
                .map(|(k, _)| *k)
                .collect();
            let mut dropped = Vec::with_capacity(keys.len());
            for k in keys {
                if let Some(q) = p.queue.remove(&k) {
                    dropped.push(q.task);
                }
            }
            for task in dropped {
                self.threads.tasks.remove(&task);
                self.emit(Event::Thread(ThreadEvent::Done {
                    task,
                    outcome: ThreadOutcome::Failed {
                        error: EngineError::Dropped {
                            pool: name.clone(),
                            closed: closing,
                        },
                        cause: None,
                    },
                }));
            }
            for runner in self.threads.pools[pool as usize].runners.clone() {
                self.thread_retire(runner);
            }
        }
    }

    /// The manager starts (again): paused pools take up their queues,
    /// bringing back the threads they need.
    pub(super) fn thread_pools_resume(&mut self) {
        for pool in 0..self.threads.pools.len() as ThreadPoolId {
            let p = &mut self.threads.pools[pool as usize];
            if !p.paused {
                continue;
            }
            p.paused = false;
            self.thread_dispatch(pool);
        }
    }

    /// A stop's deadline passed: tasks still running on threads of paused
    /// pools end (`ERR_STOPPED`), and their threads are terminated.
    pub(super) fn thread_pools_force_stop(&mut self) {
        let mut ended = Vec::new();
        for (&runner, r) in &mut self.threads.runners {
            let p = &self.threads.pools[r.pool as usize];
            if !p.paused {
                continue;
            }
            if let RunnerState::Running(t) | RunnerState::Assigned(t) = r.state {
                r.state = RunnerState::Ending;
                r.assigned = None;
                r.retired = true;
                ended.push((runner, t, p.name.clone()));
            }
        }
        for (runner, task, pool) in ended {
            self.threads.tasks.remove(&task);
            self.emit(Event::Thread(ThreadEvent::Terminate { runner }));
            self.emit(Event::Thread(ThreadEvent::Done {
                task,
                outcome: ThreadOutcome::Failed {
                    error: EngineError::ThreadStopped { pool },
                    cause: None,
                },
            }));
        }
    }

    /// The thread of `runner` could not load its module (`message`, and the
    /// error as the thread serialized it): the pool is broken, its queued
    /// tasks fail, and no thread is spawned for it again.
    pub fn thread_bootstrap_failed(&mut self, runner: RunnerId, message: String, cause: Vec<u8>) {
        let Some(r) = self.threads.runners.get_mut(&runner) else {
            return;
        };
        if r.state != RunnerState::Starting {
            // Only a thread that has not loaded its module can fail to.
            return;
        }
        r.state = RunnerState::Ending;
        let pool = r.pool;
        let p = &mut self.threads.pools[pool as usize];
        if p.broken.is_none() {
            p.broken = Some((message, cause));
        }
        self.thread_fail_queued(pool);
        self.emit(Event::Thread(ThreadEvent::Terminate { runner }));
    }

    /// Fails every queued task of a broken pool.
    fn thread_fail_queued(&mut self, pool: ThreadPoolId) {
        let p = &mut self.threads.pools[pool as usize];
        let Some((message, cause)) = p.broken.clone() else {
            return;
        };
        let name = p.name.clone();
        let queued = std::mem::take(&mut p.queue);
        for q in queued.into_values() {
            self.threads.tasks.remove(&q.task);
            let error = EngineError::ThreadBootstrap {
                pool: name.clone(),
                message: message.clone(),
            };
            self.emit(Event::Thread(ThreadEvent::Done {
                task: q.task,
                outcome: ThreadOutcome::Failed {
                    error,
                    cause: Some(cause.clone()),
                },
            }));
        }
    }

    /// The thread of `runner` is gone (it exited, crashed, or was
    /// terminated). A task it had fails with `ERR_THREAD_EXITED` (one it
    /// had not taken yet goes back to the queue); an open pool gets a new
    /// thread in its place.
    pub fn thread_exited(&mut self, runner: RunnerId, message: &str) {
        let Some(r) = self.threads.runners.remove(&runner) else {
            return;
        };
        if let Some(timer) = r.idle_timer {
            self.timers.cancel(timer);
        }
        let pool = r.pool;
        let now = self.now();
        let busy = self.threads.busy.remove(&runner).unwrap_or(0);
        let p = &mut self.threads.pools[pool as usize];
        p.runners.retain(|x| *x != runner);
        p.busy_gone += busy;
        match r.state {
            RunnerState::Starting => {
                // Died before its module loaded: the module cannot be loaded.
                if p.broken.is_none() {
                    p.broken = Some((message.to_owned(), Vec::new()));
                }
                self.thread_fail_queued(pool);
            }
            RunnerState::Assigned(_) => {
                let stored = |task| {
                    self.store
                        .as_ref()
                        .is_some_and(|h| h.holds_thread_task(task))
                };
                if let Some((_, t)) = r
                    .assigned
                    .as_ref()
                    .filter(|(_, t)| p.paused && !stored(t.task))
                {
                    // Never started, and the manager stopped: dropped as
                    // the stop dropped what waited.
                    let task = t.task;
                    let error = EngineError::Dropped {
                        pool: p.name.clone(),
                        closed: false,
                    };
                    self.threads.tasks.remove(&task);
                    self.emit(Event::Thread(ThreadEvent::Done {
                        task,
                        outcome: ThreadOutcome::Failed { error, cause: None },
                    }));
                } else if let Some((key, t)) = r.assigned {
                    // Never started: it waits again, in its place.
                    self.threads.pools[pool as usize].queue.insert(
                        key,
                        Queued {
                            task: t.task,
                            handler: t.handler,
                            payload: t.payload,
                            since: now,
                            named: t.named,
                        },
                    );
                }
            }
            RunnerState::Running(task) => {
                self.threads.tasks.remove(&task);
                let error = EngineError::ThreadExited {
                    pool: p.name.clone(),
                    message: message.to_owned(),
                };
                self.emit(Event::Thread(ThreadEvent::Done {
                    task,
                    outcome: ThreadOutcome::Failed { error, cause: None },
                }));
            }
            RunnerState::Idle | RunnerState::Ending => {}
        }
        let p = &self.threads.pools[pool as usize];
        let replace = !r.retired
            && !p.paused
            && p.broken.is_none()
            && p.state != PoolState::Closed
            && !(p.state == PoolState::Closing && p.queue.is_empty())
            // (Work may have brought a thread back in its place already.)
            && self.threads.alive(pool, r.group) < p.groups[r.group].size as usize;
        if replace {
            self.spawn_runner(pool, r.group, now);
        }
        self.thread_dispatch(pool);
        self.thread_check_stop();
    }

    /// Aborts a task: a queued one is removed, a running one's thread is
    /// terminated (and replaced when it exits). False for an unknown or
    /// finished task.
    pub fn thread_abort(&mut self, task: TaskId) -> bool {
        let Some(&pool) = self.threads.tasks.get(&task) else {
            return false;
        };
        self.threads.tasks.remove(&task);
        let p = &mut self.threads.pools[pool as usize];
        if let Some(key) = p.queue.iter().find(|(_, q)| q.task == task).map(|(k, _)| *k) {
            p.queue.remove(&key);
        } else if let Some((&runner, r)) = self.threads.runners.iter_mut().find(|(_, r)| {
            matches!(r.state, RunnerState::Running(t) | RunnerState::Assigned(t) if t == task)
        }) {
            r.state = RunnerState::Ending;
            r.assigned = None;
            self.emit(Event::Thread(ThreadEvent::Terminate { runner }));
        }
        self.emit(Event::Thread(ThreadEvent::Done {
            task,
            outcome: ThreadOutcome::Aborted,
        }));
        self.thread_pool_maybe_closed(pool);
        self.thread_check_stop();
        true
    }

    /// Closes a pool: no new tasks; with `destroy`, its queued and running
    /// tasks fail (`ERR_CLOSED`) and its threads end now, else they end
    /// once the queue is done.
    pub fn thread_pool_close(&mut self, pool: ThreadPoolId, destroy: bool) {
        let Some(p) = self.threads.pool_mut(pool) else {
            return;
        };
        if p.state == PoolState::Closed {
            return;
        }
        p.state = PoolState::Closing;
        if destroy {
            p.destroyed = true;
            let error = EngineError::ThreadPoolClosed {
                pool: p.name.clone(),
                destroyed: true,
            };
            let queued = std::mem::take(&mut p.queue);
            let runners = p.runners.clone();
            let mut ended: Vec<TaskId> = queued.into_values().map(|q| q.task).collect();
            for runner in runners {
                let r = self.threads.runners.get_mut(&runner).expect("runner");
                if let RunnerState::Running(t) | RunnerState::Assigned(t) = r.state {
                    ended.push(t);
                    r.assigned = None;
                    r.state = RunnerState::Ending;
                }
            }
            for task in ended {
                self.threads.tasks.remove(&task);
                self.emit(Event::Thread(ThreadEvent::Done {
                    task,
                    outcome: ThreadOutcome::Failed {
                        error: error.clone(),
                        cause: None,
                    },
                }));
            }
        }
        self.thread_pool_maybe_closed(pool);
        self.thread_check_stop();
    }

    /// A closing pool whose queue is empty and whose runners are idle (or
    /// ending) ends every thread.
    fn thread_pool_maybe_closed(&mut self, pool: ThreadPoolId) {
        let p = &self.threads.pools[pool as usize];
        if p.state != PoolState::Closing {
            return;
        }
        let busy = p.runners.iter().any(|r| {
            matches!(
                self.threads.runners[r].state,
                RunnerState::Running(_) | RunnerState::Assigned(_)
            )
        });
        if busy || !p.queue.is_empty() {
            return;
        }
        let runners = p.runners.clone();
        self.threads.pools[pool as usize].state = PoolState::Closed;
        for runner in runners {
            let r = self.threads.runners.get_mut(&runner).expect("runner");
            r.state = RunnerState::Ending;
            self.emit(Event::Thread(ThreadEvent::Terminate { runner }));
        }
        self.emit(Event::Thread(ThreadEvent::Closed { pool }));
    }

    /// Closes every thread pool now (the manager closes).
    pub fn thread_pools_destroy(&mut self) {
        for pool in 0..self.threads.pools.len() as ThreadPoolId {
            self.thread_pool_close(pool, true);
        }
    }

    /// What a thread reported when it could not load the pool's module
    /// (serialized; empty when it died without saying), once one did.
    pub fn thread_pool_broken_cause(&self, pool: ThreadPoolId) -> Option<Vec<u8>> {
        self.threads
            .pool(pool)?
            .broken
            .as_ref()
            .map(|(_, c)| c.clone())
    }

    /// Tasks queued from now on are placed after `seq`.
    pub(super) fn threads_after(&mut self, seq: u64) {
        self.threads.next_seq = self.threads.next_seq.max(seq);
    }

    /// The name of thread pool `pool`.
    pub fn thread_pool_name(&self, pool: ThreadPoolId) -> Option<&str> {
        self.threads.pool(pool).map(|p| p.name.as_str())
    }

    /// Which pool `runner` belongs to, while it is alive.
    pub fn thread_runner_pool(&self, runner: RunnerId) -> Option<ThreadPoolId> {
        self.threads.runners.get(&runner).map(|r| r.pool)
    }

    /// `pool.stats()`.
    pub fn thread_pool_stats(&self, pool: ThreadPoolId) -> Option<ThreadPoolStats> {
        let p = self.threads.pool(pool)?;
        let now = self.now();
        let mut busy_total = p.busy_gone;
        let threads = p
            .runners
            .iter()
            .map(|id| {
                let r = &self.threads.runners[id];
                let running = matches!(r.state, RunnerState::Running(_));
                busy_total += self.threads.busy.get(id).copied().unwrap_or(0)
                    + if running {
                        now.saturating_sub(r.started)
                    } else {
                        0
                    };
                ThreadStats {
                    runner: *id,
                    handlers: p.groups[r.group].handlers.clone(),
                    runs: r.runs,
                    busy: running || matches!(r.state, RunnerState::Assigned(_)),
                    ready: r.state != RunnerState::Starting,
                }
            })
            .collect();
        let size: u32 = p.groups.iter().map(|g| g.size).sum();
        let span = now.saturating_sub(p.created) as f64 * f64::from(size.max(1));
        Some(ThreadPoolStats {
            threads,
            queued: p.queue.len(),
            utilization: if span > 0.0 {
                (busy_total as f64 / span).min(1.0)
            } else {
                0.0
            },
            run_count: p.run_time.count,
            run_mean_ms: p.run_time.mean_ms(),
            wait_count: p.wait_time.count,
            wait_mean_ms: p.wait_time.mean_ms(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::priority_key;

    #[test]
    fn a_higher_priority_goes_first_and_nan_counts_as_zero() {
        assert!(priority_key(1.0, 9) < priority_key(0.0, 1));
        assert!(priority_key(0.0, 1) < priority_key(-1.0, 0));
        assert!(priority_key(0.0, 1) < priority_key(0.0, 2), "then in order");
        assert_eq!(priority_key(f64::NAN, 3), priority_key(0.0, 3));
        assert_eq!(priority_key(-f64::NAN, 3), priority_key(0.0, 3));
        assert!(priority_key(f64::INFINITY, 9) < priority_key(f64::MAX, 0));
    }
}
