//! What the engine shows of itself: read-only views for dashboards and the
//! counters behind metrics. Every view is a copy taken under the engine's
//! lock in one short step, so a reader never holds the engine while it
//! encodes or sends.
//!
//! Times are in the engine clock's milliseconds (`now_ms` of the same view
//! says what "now" is), so a manual clock shows manual time.

use crate::engine::TaskStatus;
use crate::unit::{Dependency, ProcessConfig, RunMode, Slot, Status, UnitKind, WorkerConfig};

/// Length of one rate bucket in ms (the overview keeps 15 minutes of them).
pub const RATE_BUCKET_MS: f64 = 10_000.0;
/// Number of rate buckets kept (15 minutes).
pub const RATE_BUCKETS: usize = 90;
/// Errors kept for the overview, newest last.
pub const RECENT_ERRORS_KEPT: usize = 20;
/// Finished tasks kept per pool for the pools view, newest last.
pub const DONE_TASKS_KEPT: usize = 50;
/// Upper bounds (seconds) of the run-duration histogram's buckets
/// (`+Inf` is implied).
pub const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];
/// Upper bounds (seconds) of the schedule-lag histogram's buckets.
pub const LAG_BUCKETS: [f64; 8] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// How a run ended, as metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Settled with success.
    Completed = 0,
    /// Settled with an error, a timeout included.
    Failed = 1,
    /// Ended by the engine (stop, release, cancel) before it settled.
    Ended = 2,
}

impl RunOutcome {
    /// Every outcome, in index order (`outcome as usize`).
    pub const ALL: [RunOutcome; 3] = [RunOutcome::Completed, RunOutcome::Failed, RunOutcome::Ended];
    /// The outcome's name (`completed`, `failed`, `ended`), as the
    /// `outcome` label of metrics shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Completed => "completed",
            RunOutcome::Failed => "failed",
            RunOutcome::Ended => "ended",
        }
    }
}

/// Runs, failures and retries that ended in one [`RATE_BUCKET_MS`] window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateBucket {
    /// Start of the window (clock ms).
    pub start_ms: f64,
    /// Runs that ended, whatever the outcome.
    pub runs: u64,
    /// Runs that failed ([`RunOutcome::Failed`]).
    pub failures: u64,
    /// Retries: failed attempts given another attempt.
    pub retries: u64,
}

/// A run's failure, as the overview and a unit's detail show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorView {
    /// Id of the unit whose run failed.
    pub unit: String,
    /// The failure's message.
    pub message: String,
    /// When the run failed (clock ms).
    pub at_ms: f64,
}

/// Totals since the engine was made.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Runs that ended, whatever the outcome.
    pub runs: u64,
    /// Runs that completed.
    pub completed: u64,
    /// Runs that failed (runs the engine ended count in `runs` only).
    pub failed: u64,
    /// Retries: failed attempts given another attempt.
    pub retries: u64,
}

/// The overview page.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The engine clock's time when the view was taken (ms).
    pub now_ms: f64,
    /// Whether the scheduler is started ([`crate::Engine::is_started`]).
    pub started: bool,
    /// Units by status, indexed by `Status as usize`.
    pub counts: [u64; 5],
    /// Workers registered.
    pub workers: usize,
    /// Processes registered.
    pub processes: usize,
    /// Runs, completions, failures and retries since the engine was made.
    pub totals: Totals,
    /// Attempts in flight: started, not settled.
    pub in_flight: usize,
    /// Tasks in the queues of all pools (tasks that wait for their time
    /// not included).
    pub pool_queued: usize,
    /// The last [`RATE_BUCKETS`] windows, oldest first, ending with the
    /// current one (windows with nothing in them included, as zeros).
    pub rates: Vec<RateBucket>,
    /// The last [`RECENT_ERRORS_KEPT`] failures, newest last.
    pub recent_errors: Vec<ErrorView>,
    /// See [`crate::Engine::change_count`].
    pub change: u64,
}

/// Which units a units page lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitQuery {
    /// Only units of this status; `None` for any.
    pub status: Option<Status>,
    /// Only units of this kind; `None` for any.
    pub kind: Option<UnitKind>,
    /// Case-insensitive substring of the id.
    pub text: Option<String>,
    /// Cursor: list units after this one in registration order.
    pub after: Option<Slot>,
    /// At most this many (the caller bounds it).
    pub limit: usize,
}

/// One unit in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSummary {
    /// Its registry slot, a page's cursor ([`UnitQuery::after`]).
    pub slot: Slot,
    /// Its id.
    pub id: String,
    /// Worker or process.
    pub kind: UnitKind,
    /// Its status now.
    pub status: Status,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The process it belongs to.
    pub process: Option<String>,
    /// Whether it is a worker of a pool.
    pub pool_worker: bool,
    /// Completed runs.
    pub run_count: u64,
    /// Duration of the last completed run (ms); 0 before the first.
    pub last_duration_ms: f64,
    /// Mean duration of the last
    /// [`EXECUTION_TIMES_KEPT`](crate::unit::EXECUTION_TIMES_KEPT)
    /// completed runs (ms); 0 before the first.
    pub average_ms: f64,
    /// Start of the oldest run in flight.
    pub running_since_ms: Option<f64>,
    /// Its last failure; `None` while no run of it failed.
    pub last_error: Option<ErrorView>,
    /// When its schedule fires next.
    pub next_fire_ms: Option<f64>,
}

/// A page of units.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPage {
    /// The units of this page, in registration order.
    pub items: Vec<UnitSummary>,
    /// Cursor of the next page (`UnitQuery::after`), if there is one.
    pub next: Option<Slot>,
    /// How many units match the query in all.
    pub total: usize,
}

/// A unit's detail page.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitDetail {
    /// What a list of units shows of it.
    pub summary: UnitSummary,
    /// A worker's settings.
    pub worker: Option<WorkerConfig>,
    /// A process's settings.
    pub process: Option<ProcessConfig>,
    /// Durations of its last
    /// [`EXECUTION_TIMES_KEPT`](crate::unit::EXECUTION_TIMES_KEPT)
    /// completed runs (ms), oldest first.
    pub execution_times_ms: Vec<f64>,
    /// A process's workers, in order.
    pub workers: Vec<String>,
}

/// A worker of a process, for the process page.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessWorker {
    /// The worker's id.
    pub id: String,
    /// Its status now.
    pub status: Status,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The workers of the process it depends on; empty for none.
    pub depends_on: Vec<Dependency>,
}

/// A process page: its run mode, or its dependency graph, with live statuses.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessView {
    /// The process's id.
    pub id: String,
    /// Its status now.
    pub status: Status,
    /// Whether it is enabled.
    pub enabled: bool,
    /// How it runs its workers (the same as `config.run_mode`).
    pub run_mode: RunMode,
    /// Its settings.
    pub config: ProcessConfig,
    /// Whether it runs as a dependency graph.
    pub graph: bool,
    /// Its workers, in order.
    pub workers: Vec<ProcessWorker>,
}

/// A task in a pool's queue or running.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// The task's id ([`crate::TaskId`]).
    pub id: u64,
    /// Its name; `None` for an anonymous task.
    pub name: Option<String>,
    /// Higher runs first.
    pub priority: f64,
    /// `Running` while it runs; in the queue `Idle`, `Paused`, or
    /// `WaitingHandler` when its handler is not defined.
    pub status: TaskStatus,
    /// The pool worker running it.
    pub worker: Option<String>,
    /// When its run started (clock ms); `None` in the queue.
    pub started_ms: Option<f64>,
    /// Whether the durable store holds it.
    pub durable: bool,
}

/// A task that left a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct DoneTask {
    /// The task's id ([`crate::TaskId`]).
    pub id: u64,
    /// Its name; `None` for an anonymous task.
    pub name: Option<String>,
    /// `Completed`, `Error` or `Cancelled`.
    pub status: TaskStatus,
    /// How long it ran (ms); `None` for a task removed before it ran.
    pub duration_ms: Option<f64>,
    /// The error it failed with, or the one that dropped it from the
    /// queue; `None` for a task that completed or was cancelled.
    pub error: Option<String>,
    /// When it left (clock ms).
    pub at_ms: f64,
    /// Whether [`crate::Engine::pool_retry_task`] can run it again.
    pub retryable: bool,
}

/// A pool page.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolView {
    /// The pool's name.
    pub name: String,
    /// Number of its workers.
    pub size: usize,
    /// Workers running a task (the length of `running`).
    pub busy: usize,
    /// Tasks waiting, in dispatch order (the first `limit` of them).
    pub queue: Vec<TaskView>,
    /// How many tasks wait in all.
    pub queued: usize,
    /// How many tasks wait for their time (`runAt`, `delayMs`) before
    /// they are queued (not in `queue` nor in `queued`).
    pub scheduled: usize,
    /// Tasks running, in the order they were queued.
    pub running: Vec<TaskView>,
    /// The last [`DONE_TASKS_KEPT`] tasks that left, newest last.
    pub done: Vec<DoneTask>,
    /// Tasks that completed, in all.
    pub completed: u64,
    /// Tasks that ended with an error ([`TaskStatus::Error`]), in all,
    /// those the engine ended (stop, release) included.
    pub failed: u64,
    /// Tasks removed before they ran (cancelled or dropped), in all.
    pub cancelled: u64,
}

/// A schedule's next fire.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleView {
    /// Id of the worker.
    pub unit: String,
    /// The interval; NaN for a calendar schedule (cron, one-off times).
    pub every_ms: f64,
    /// When it fires next (clock ms).
    pub next_ms: f64,
}

/// A histogram as counts per bucket (cumulative counts are the encoder's
/// business), with the sum and count of all observations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramSnapshot {
    /// One count per bound of the bucket list, and a last one for `+Inf`
    /// (not cumulative).
    pub buckets: Vec<u64>,
    /// Sum of all observations (seconds).
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// Runs ended by one unit, by outcome (only with per-unit labels on).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRuns {
    /// The unit's id.
    pub unit: String,
    /// Worker or process.
    pub kind: UnitKind,
    /// Runs ended, indexed by `RunOutcome as usize`.
    pub runs: [u64; 3],
}

/// Tasks of one pool by status: the queued and running counts for
/// `synchronik_pool_tasks`, the finished ones for
/// `synchronik_pool_tasks_finished`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolTasks {
    /// The pool's name.
    pub pool: String,
    /// (status, count): queued, running, paused, waiting-handler,
    /// scheduled (waiting for its time), and the totals completed, error,
    /// cancelled.
    pub counts: Vec<(TaskStatus, u64)>,
}

/// The counters behind `metrics()`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// Runs ended, indexed `[kind as usize][RunOutcome as usize]`.
    pub runs: [[u64; 3]; 2],
    /// Per unit, when the engine keeps them (`set_unit_metrics(true)`).
    pub unit_runs: Vec<UnitRuns>,
    /// Durations of completed and failed runs, by kind, in seconds over
    /// [`DURATION_BUCKETS`].
    pub duration: [HistogramSnapshot; 2],
    /// Retries in all: failed attempts given another attempt.
    pub retries: u64,
    /// Units by status, indexed by `Status as usize`.
    pub units: [u64; 5],
    /// Tasks of each pool, by status.
    pub pools: Vec<PoolTasks>,
    /// How late scheduled fires came, in seconds over [`LAG_BUCKETS`].
    pub schedule_lag: HistogramSnapshot,
    /// Writes sent to the durable store and not committed yet; 0
    /// without a store.
    pub store_pending_writes: u64,
}
