//! The vocabulary the engine's modules share: ids, who a run reports to,
//! what a timer stands for, and the option and result types of the public
//! API.
//!
//! Every module of the engine takes its shared types from here, so that
//! no two of them import each other.

use crate::error::EngineError;
use crate::event::{CallId, TaskId, Ticket};
use crate::names::named_enum;
use crate::registry::Registry;
use crate::unit::{Slot, Status};

/// Identifies a worker run (up to `maxRetries + 1` attempts).
pub(super) type RunId = u64;

/// Identifies a process run.
pub(super) type ProcRunId = u64;

/// Identifies a pool within an engine.
pub type PoolId = u32;

/// State brought back from storage (see [`super::Engine::restore`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoredState {
    /// The stored status (`None` leaves it); a unit with runs in flight
    /// keeps its own.
    pub status: Option<Status>,
    /// The stored enabled flag (`None` leaves it).
    pub enabled: Option<bool>,
    /// Completed runs. `Some` replaces the unit's run statistics with this
    /// count and `execution_times_ms`; `None` leaves them (and ignores
    /// `execution_times_ms`).
    pub run_count: Option<u64>,
    /// The last execution times, oldest first.
    pub execution_times_ms: Vec<f64>,
    /// Wall-clock ms of the last run start (`None` leaves it).
    pub last_run_ms: Option<f64>,
    /// The last fire of its calendar schedule (Unix ms), for catch-up.
    pub last_fire_ms: Option<f64>,
}

/// The settled outcome of one attempt, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The attempt resolved; the host keeps the value.
    Ok,
    /// The attempt threw or rejected.
    Err {
        /// The error's message; it becomes the unit's `last_error` when
        /// the run fails for good.
        message: String,
    },
}

/// Settings of the scheduler and the watcher.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOptions {
    /// Period of the sweep that runs idle enabled processes.
    pub loop_interval_ms: f64,
    /// Period of the watcher's scans.
    pub watcher_interval_ms: f64,
    /// A run with no progress for this long is reported as stalled, and so
    /// is JavaScript blocked this long inside a `run`.
    pub stall_threshold_ms: Option<f64>,
    /// A unit paused this long is un-paused by the watcher.
    pub auto_unpause_ms: Option<f64>,
    /// A unit idle this long is released by the watcher.
    pub release_idle_after_ms: Option<f64>,
    /// While started, ask the host for statistics this often.
    pub stats_interval_ms: Option<f64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            loop_interval_ms: 1000.0,
            watcher_interval_ms: 60_000.0,
            stall_threshold_ms: None,
            auto_unpause_ms: None,
            release_idle_after_ms: None,
            stats_interval_ms: None,
        }
    }
}

/// Tells the watcher which attempt JavaScript is executing synchronously
/// right now, if any. The host updates it around every call into a user's
/// `run`; the watcher reads it from its own thread, which is how it sees a
/// blocked event loop while the block is still happening.
pub trait Liveness: Send + Sync {
    /// The attempt whose `run` is on the JavaScript stack now, and its unit.
    fn current_call(&self) -> Option<(CallId, Slot)>;
}

/// How to stop (see [`super::Engine::stop_with`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StopOptions {
    /// Abort what is still in flight after this long.
    pub timeout_ms: Option<f64>,
    /// The manager is closing: queued tasks that live in memory only are
    /// dropped with `ERR_CLOSED` instead of `ERR_STOPPED`.
    pub closing: bool,
    /// The attempt whose `run` called stop: the stop does not wait for its
    /// run (which waits for the stop), nor for the process run it is part of.
    pub caller: Option<CallId>,
}

/// Room held by the engine's structures, in entries (see
/// [`super::Engine::memory`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Slots of the registry, live or free: bounded by the most units
    /// registered at once.
    pub slots: usize,
    /// Released slots not reusable yet.
    pub slots_waiting: usize,
    /// Pool tasks the task slab has room for.
    pub task_capacity: usize,
    /// Timers the timer queue has room for.
    pub timer_capacity: usize,
    /// Runs and attempts the maps of runs in flight have room for.
    pub run_capacity: usize,
}

named_enum! {
    /// The status of a pool task.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum TaskStatus {
        /// Queued.
        Idle = 0 => "idle",
        /// A worker of the pool runs it.
        Running = 1 => "running",
        /// Queued and held ([`super::Engine::pool_pause`]): neither it nor
        /// the tasks behind it start until it is resumed.
        Paused = 2 => "paused",
        /// It ended successfully.
        Completed = 3 => "completed",
        /// It ended with an error.
        Error = 4 => "error",
        /// Its handler is not defined yet.
        WaitingHandler = 5 => "waiting-handler",
        /// Removed from the queue before it ran.
        Cancelled = 6 => "cancelled",
        /// Waits for its time (`runAt`, `delayMs`) before it is queued.
        Scheduled = 7 => "scheduled",
    }
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

/// Refusals of [`super::Engine::pool_add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddError {
    /// A pending task of the pool has this name.
    Duplicate,
    /// No such pool.
    NoPool,
}

/// A durable task brought back from the store into a pool's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoredTask {
    /// Its id in the pool now.
    pub task: TaskId,
    /// Its name.
    pub name: String,
    /// The named handler it runs.
    pub handler: String,
    /// JSON text, as the host gave it.
    pub payload: Option<String>,
    /// Higher runs first.
    pub priority: f64,
    /// Its place among tasks of the same priority (lower runs first).
    pub arrangement: u64,
    /// Its idempotency key.
    pub key: String,
    /// Attempts started before (the next one is `attempt + 1`).
    pub attempt: u32,
    /// When it is queued (Unix ms), while it waits for that time.
    pub run_at_ms: Option<f64>,
    /// The id it had when it was added here and offered to every node of a
    /// shared store (its live object is that task's).
    pub replaces: Option<TaskId>,
}

/// Who learns how a worker run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Ticket(Ticket),
    Process(ProcRunId),
    /// A run the scheduler started on its own (an interval fire): nobody
    /// awaits it, so its end is announced by its unit events alone.
    Scheduled,
    /// A pool task executed by a pool worker.
    Task(TaskId),
}

/// What a timer of the engine's queue stands for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Timer {
    AttemptTimeout(RunId, CallId),
    RetryDelay(RunId),
    Isolation(ProcRunId),
    /// The scheduled time of an interval worker.
    Interval(Slot),
    /// The scheduler's sweep of idle processes.
    Sweep,
    /// The watcher's scan.
    Watch,
    /// The deadline of a graceful stop.
    StopDeadline,
    /// Time to report statistics.
    Stats,
    /// A thread of a thread pool has been idle for the pool's idle timeout.
    ThreadIdle(crate::engine::RunnerId),
    /// The next fire of a worker's calendar schedule.
    Calendar(Slot),
    /// A pool task's time (`runAt`, `delayMs`) came: it is queued.
    TaskDue(TaskId),
}

impl Timer {
    /// Timers that exist because runs are in flight (as opposed to the
    /// recurring ones of a started engine).
    pub(super) fn is_one_shot(self) -> bool {
        matches!(
            self,
            Timer::AttemptTimeout(..)
                | Timer::RetryDelay(_)
                | Timer::Isolation(_)
                | Timer::StopDeadline
        )
    }
}

/// The worker that failed a process run. Its id is taken when it fails:
/// the worker may be released before the run ends (a graph waits for its
/// other branches), and the error still names it.
#[derive(Debug)]
pub(super) struct ProcessFailure {
    pub(super) worker: Slot,
    pub(super) worker_id: String,
    pub(super) message: String,
}

impl ProcessFailure {
    pub(super) fn new(registry: &Registry, worker: Slot, message: String) -> Self {
        Self {
            worker,
            worker_id: registry
                .get(worker)
                .map_or_else(String::new, |u| u.id.to_string()),
            message,
        }
    }

    /// The error the failed process run ends with.
    pub(super) fn into_error(self, process: String) -> EngineError {
        EngineError::WorkerFailed {
            process,
            worker: self.worker_id,
            message: self.message,
        }
    }
}
