//! What the engine tells the outside world, and the two traits it tells it
//! through.
//!
//! The engine never calls user code itself. It asks an [`Invoker`] to start
//! an attempt (and later to abort it), and reports every change through an
//! [`EventSink`]. Both are implemented by the host: the napi binding puts
//! them on one ordered queue for JavaScript; tests record them.
//!
//! Events are the single observation point: every state change the host
//! mirrors onto the user's objects is an event, and [`Event`]'s `Display`
//! gives one line per event for logs and test failure messages.

use std::fmt;

use crate::error::EngineError;
use crate::names::named_enum;
use crate::unit::{RunMode, Slot, Status};

/// Identifies one attempt of one worker. Never reused within an engine.
pub type CallId = u64;

/// Identifies one request to run a unit (`runWorkerById`, `runProcessById`);
/// the engine reports its end with [`Event::Done`].
pub type Ticket = u64;

/// A request to start one attempt of a worker's `run`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Invocation {
    /// The attempt; its outcome is reported under this id.
    pub call: CallId,
    /// The worker whose `run` is called (for a pool task, the pool worker
    /// it runs on).
    pub unit: Slot,
    /// 1-based attempt number.
    pub attempt: u32,
    /// Whether a failure of this attempt will be retried. With
    /// [`crate::unit::RetryDelay::PerRetry`] the host then reports the delay
    /// computed for retry number `attempt` along with the failure.
    pub retryable: bool,
    /// Part of a graph run with conditions on this worker's result: on
    /// success the host evaluates them and reports them with
    /// [`crate::Engine::report_conditions`] before the outcome.
    pub conditions: bool,
    /// A pool task to execute instead of the unit's own `run`.
    pub task: Option<TaskId>,
}

/// Identifies one pool task. Never reused within an engine.
pub type TaskId = u64;

/// How a pool task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// It ran and resolved; `call` is the attempt whose result is its result.
    Completed {
        /// The attempt whose result is the task's result.
        call: CallId,
    },
    /// It ran and failed.
    Failed(Failure),
    /// It was removed before it ran, or aborted while running.
    Cancelled,
    /// It was removed before it ran because the manager stopped or closed
    /// (a task that lives in memory only: nothing would ever run it).
    Dropped(EngineError),
}

named_enum! {
    /// Why an attempt is aborted.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum AbortReason {
        /// The attempt ran past its worker's timeout
        /// ([`crate::WorkerConfig::timeout_ms`]).
        Timeout = 1 => "timeout",
        /// The engine's stop ended the run (its deadline passed).
        Stopped = 2 => "stopped",
        /// The worker was released or replaced.
        Released = 3 => "released",
        /// The pool task the attempt executes was cancelled.
        Cancelled = 4 => "cancelled",
    }
}

impl AbortReason {
    /// The error code an attempt aborted for this reason fails with
    /// (also the code of its signal's reason in JavaScript).
    pub fn code(self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            AbortReason::Timeout => ErrorCode::Timeout,
            AbortReason::Stopped => ErrorCode::Stopped,
            AbortReason::Released => ErrorCode::Released,
            AbortReason::Cancelled => ErrorCode::Cancelled,
        }
    }
}

named_enum! {
    /// What caused an `updated` event.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum UpdateReason {
        /// The unit's status changed ([`Event::Status`]).
        StatusChange = 0 => "status-change",
        /// The unit's settings changed ([`Event::Config`]).
        ConfigChange = 1 => "config-change",
    }
}

/// Where a failure came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The user's `run` threw or rejected during attempt `call`; the host
    /// holds the thrown value, the engine its message.
    User {
        /// The attempt that failed.
        call: CallId,
        /// The message the host reported with the failure
        /// ([`crate::Outcome::Err`]).
        message: String,
    },
    /// The engine failed the attempt (timeout, stop, release).
    Engine(EngineError),
}

impl Failure {
    /// A one-line description.
    pub fn message(&self) -> String {
        match self {
            Failure::User { message, .. } => message.clone(),
            Failure::Engine(e) => e.to_string(),
        }
    }
}

named_enum! {
    /// Why a run did not happen.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum SkipReason {
        /// The scheduled time came while the previous run was in flight.
        Overlap = 0 => "overlap",
        /// A condition on a dependency's result did not hold.
        Condition = 1 => "condition",
        /// A dependency failed.
        DependencyFailed = 2 => "dependency-failed",
        /// A dependency did not run (skipped, disabled or paused).
        DependencySkipped = 3 => "dependency-skipped",
    }
}

named_enum! {
    /// Phase of a process run, announced as the milestone `unit:<id>:<phase>`
    /// (its name is the one the milestone id has).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum Phase {
        /// The run started (after its `start`).
        Running = 0 => "running",
        /// The run completed (after its `complete`; a failed run has no
        /// such phase).
        Completed = 1 => "completed",
    }
}

/// Everything the engine reports, in the order it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A unit's status changed (`updated` with a status-change reason).
    Status {
        /// The unit.
        unit: Slot,
        /// Its status before the change.
        previous: Status,
        /// Its status now.
        current: Status,
        /// What caused the change (the engine reports
        /// [`UpdateReason::StatusChange`]).
        reason: UpdateReason,
    },
    /// A unit's settings changed (`updated` with a config-change reason).
    Config {
        /// The unit.
        unit: Slot,
    },
    /// A unit was enabled or disabled (a [`Event::Config`] follows).
    Enabled {
        /// The unit.
        unit: Slot,
        /// Whether it is enabled now.
        enabled: bool,
    },
    /// A status was set by hand (`updateStatus`) to running, completed or
    /// error; follows its [`Event::Status`], announces the transition the
    /// way a run would (`start` / `complete` / `error`).
    Marked {
        /// The unit.
        unit: Slot,
        /// The status set: running, completed or error.
        status: Status,
    },
    /// A run of the unit is about to start; `lastRun` is `wall_ms`.
    LastRun {
        /// The unit.
        unit: Slot,
        /// Wall-clock time of the start, in ms since the Unix epoch
        /// ([`crate::Clock::wall_ms`]).
        wall_ms: f64,
    },
    /// Run statistics after a completed run (precede its status change).
    Stats {
        /// The unit.
        unit: Slot,
        /// Duration of the run, in ms.
        duration_ms: f64,
        /// Completed runs, this one included ([`crate::Meta::run_count`]).
        run_count: u64,
        /// Mean duration of the last [`crate::EXECUTION_TIMES_KEPT`]
        /// completed runs, in ms ([`crate::Meta::average_ms`]).
        average_ms: f64,
    },
    /// A worker was registered as part of a process.
    Parent {
        /// The worker.
        unit: Slot,
        /// The process it belongs to.
        process: Slot,
    },
    /// A unit was removed from the registry.
    Released {
        /// The unit (its slot is never reused).
        unit: Slot,
    },
    /// A run of the unit began.
    Started {
        /// The unit.
        unit: Slot,
    },
    /// A run of the unit completed. `call` is the attempt whose result is the
    /// run's result (none for a process).
    Completed {
        /// The unit.
        unit: Slot,
        /// The attempt whose result is the run's result; `None` for a
        /// process.
        call: Option<CallId>,
        /// Duration of the run from its start, retries and their delays
        /// included, in ms.
        duration_ms: f64,
    },
    /// A run of the unit failed for good: the unit's `error` is now
    /// `failure` (precedes its status change). For a process, `culprit` is
    /// the worker whose failure failed it.
    Errored {
        /// The unit.
        unit: Slot,
        /// What the run failed with: for a worker, the failure of its last
        /// attempt or the engine's ending of the run; for a process, always
        /// [`Failure::Engine`].
        failure: Failure,
        /// For a process, the worker whose failure failed it; `None` for a
        /// worker, and for a process that failed on its own (stopped,
        /// released).
        culprit: Option<Slot>,
    },
    /// A run of the unit failed for good (`error` event, `onError` hook),
    /// after its status change.
    Failed {
        /// The unit.
        unit: Slot,
    },
    /// An attempt failed and another follows after `delay_ms`.
    Retry {
        /// The worker.
        unit: Slot,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Wait before the next attempt, in ms; 0 means it starts at once.
        delay_ms: f64,
        /// Why the attempt failed.
        failure: Failure,
    },
    /// A process run entered a phase (milestone `unit:<id>:<phase>`).
    ProcessPhase {
        /// The process.
        unit: Slot,
        /// The phase entered.
        phase: Phase,
        /// The run mode of this run.
        run_mode: RunMode,
    },
    /// A run did not happen: a scheduled one (the previous run was in
    /// flight), or a worker of a dependency graph run (a condition, a
    /// dependency that failed or did not run).
    Skipped {
        /// The unit.
        unit: Slot,
        /// Why the run did not happen.
        reason: SkipReason,
    },
    /// A run made no progress for the stall threshold, or (`event_loop`)
    /// JavaScript has been blocked that long inside this unit's `run`.
    Stalled {
        /// The worker.
        unit: Slot,
        /// How long the run has been running (with `event_loop`, how long
        /// JavaScript has been blocked), in ms.
        running_for_ms: f64,
        /// Whether JavaScript's event loop is blocked inside the worker's
        /// `run`, rather than the run making no progress.
        event_loop: bool,
    },
    /// The watcher un-paused a unit paused for `autoUnpauseMs` (its status
    /// change precedes this; milestone `worker:<id>:unpaused`).
    Unpaused {
        /// The unit.
        unit: Slot,
    },
    /// The watcher is about to release a unit idle for `idle_ms` (milestone
    /// `worker:<id>:released`; [`Event::Released`] follows).
    IdleRelease {
        /// The unit.
        unit: Slot,
        /// How long it has been idle, in ms.
        idle_ms: f64,
    },
    /// Time for the host to publish statistics (`engine:stats`).
    StatsDue,
    /// A pending pool task's status changed (paused, idle again, waiting for
    /// its handler). Starting is announced by the task's
    /// [`Invocation`], ending by [`Event::TaskDone`].
    TaskStatus {
        /// The task.
        task: TaskId,
        /// Its status now.
        status: crate::engine::TaskStatus,
        /// The pool worker that holds the task; `None` for the pending
        /// statuses announced here (a running task's worker is its
        /// [`Invocation::unit`]).
        worker: Option<Slot>,
    },
    /// A pool task is finished with.
    TaskDone {
        /// The task.
        task: TaskId,
        /// How it ended.
        outcome: TaskOutcome,
    },
    /// A pool has nothing queued and nothing running.
    PoolIdle {
        /// The pool ([`crate::PoolId`]).
        pool: u32,
    },
    /// What the engine asks of the host about its thread pools.
    Thread(crate::engine::ThreadEvent),
    /// A run request ended. `error` is set when the request failed (a
    /// process whose run failed); worker runs always end with `None`.
    Done {
        /// The request.
        ticket: Ticket,
        /// The unit the failure names (the failed worker, or else the
        /// process) and the error; `None` when the request did not fail.
        error: Option<(Slot, EngineError)>,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Status {
                unit,
                previous,
                current,
                reason,
            } => write!(f, "#{unit} {previous} -> {current} ({})", reason.as_str()),
            Event::Config { unit } => write!(f, "#{unit} config changed"),
            Event::Enabled { unit, enabled } => {
                write!(
                    f,
                    "#{unit} {}",
                    if *enabled { "enabled" } else { "disabled" }
                )
            }
            Event::Marked { unit, status } => write!(f, "#{unit} marked {status}"),
            Event::LastRun { unit, .. } => write!(f, "#{unit} last run now"),
            Event::Stats {
                unit, run_count, ..
            } => write!(f, "#{unit} run count {run_count}"),
            Event::Parent { unit, process } => write!(f, "#{unit} belongs to #{process}"),
            Event::Released { unit } => write!(f, "#{unit} released"),
            Event::Started { unit, .. } => write!(f, "#{unit} start"),
            Event::Completed {
                unit, duration_ms, ..
            } => write!(f, "#{unit} complete in {duration_ms:.3} ms"),
            Event::Errored { unit, failure, .. } => {
                write!(f, "#{unit} failed with: {}", failure.message())
            }
            Event::Failed { unit } => write!(f, "#{unit} error"),
            Event::Retry {
                unit,
                attempt,
                delay_ms,
                failure,
            } => write!(
                f,
                "#{unit} attempt {attempt} failed ({}), retry in {delay_ms} ms",
                failure.message()
            ),
            Event::ProcessPhase { unit, phase, .. } => write!(f, "#{unit} {}", phase.as_str()),
            Event::Skipped { unit, reason } => write!(f, "#{unit} skipped ({})", reason.as_str()),
            Event::Stalled {
                unit,
                running_for_ms,
                event_loop,
            } => write!(
                f,
                "#{unit} stalled for {running_for_ms:.0} ms{}",
                if *event_loop {
                    " (event loop blocked)"
                } else {
                    ""
                }
            ),
            Event::Unpaused { unit } => write!(f, "#{unit} unpaused"),
            Event::StatsDue => write!(f, "stats due"),
            Event::TaskStatus { task, status, .. } => write!(f, "task {task} {status:?}"),
            Event::TaskDone { task, outcome } => write!(f, "task {task} {outcome:?}"),
            Event::PoolIdle { pool } => write!(f, "pool {pool} idle"),
            Event::Thread(e) => write!(f, "{e:?}"),
            Event::IdleRelease { unit, idle_ms } => {
                write!(f, "#{unit} idle for {idle_ms:.0} ms, released")
            }
            Event::Done { ticket, error } => match error {
                None => write!(f, "ticket {ticket} done"),
                Some((_, e)) => write!(f, "ticket {ticket} failed: {e}"),
            },
        }
    }
}

/// Starts and aborts attempts of user functions.
pub trait Invoker: Send + Sync {
    /// Start an attempt; its outcome comes back through
    /// [`crate::Engine::complete`].
    fn invoke(&self, invocation: Invocation);

    /// A worker's run starts with its first attempt: `sink` receives
    /// `start` ([`EventSink::emit_start`]), then the attempt is invoked,
    /// with nothing between them. A host that is both may take the two as
    /// one, so that nothing can come between them — not even a drain of its
    /// queue by another thread, which otherwise might take the start and
    /// leave the invocation for later.
    fn invoke_started(&self, sink: &dyn EventSink, start: RunStart, invocation: Invocation) {
        sink.emit_start(start);
        self.invoke(invocation);
    }

    /// The attempt no longer counts; signal the user function to stop.
    fn abort(&self, call: CallId, reason: AbortReason);
}

/// Receives the engine's events, in order.
pub trait EventSink: Send + Sync {
    /// Receives the next event. Called from inside the engine's methods,
    /// while the engine is borrowed (under a [`crate::Runtime`]'s lock): it
    /// must not call back into the engine.
    fn emit(&self, event: Event);

    /// A run starts: the events of [`RunStart::events`], in that order and
    /// with nothing between them. A sink may take them as one (a host that
    /// sends them on as records sends one instead of three for every run);
    /// by default each is emitted.
    fn emit_start(&self, start: RunStart) {
        for event in start.events() {
            self.emit(event);
        }
    }

    /// A run completed: the events of [`RunEnd::events`], in that order
    /// and with nothing between them. As [`EventSink::emit_start`], a sink
    /// may take them as one.
    fn emit_end(&self, end: RunEnd) {
        for event in end.events() {
            self.emit(event);
        }
    }
}

/// The start of a run (see [`EventSink::emit_start`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunStart {
    /// The unit.
    pub unit: Slot,
    /// The run's start on the wall clock (the unit's new `lastRun`).
    pub wall_ms: f64,
    /// Its status before it became running.
    pub previous: Status,
    /// Why the status changed.
    pub reason: UpdateReason,
}

impl RunStart {
    /// The events it stands for, in order: [`Event::LastRun`],
    /// [`Event::Status`] to running, [`Event::Started`].
    pub fn events(self) -> [Event; 3] {
        [
            Event::LastRun {
                unit: self.unit,
                wall_ms: self.wall_ms,
            },
            Event::Status {
                unit: self.unit,
                previous: self.previous,
                current: Status::Running,
                reason: self.reason,
            },
            Event::Started { unit: self.unit },
        ]
    }
}

/// The completion of a run (see [`EventSink::emit_end`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunEnd {
    /// The unit.
    pub unit: Slot,
    /// How long the run took.
    pub duration_ms: f64,
    /// The unit's completed runs, this one included.
    pub run_count: u64,
    /// The mean duration of its last runs.
    pub average_ms: f64,
    /// Its status before it became completed; none when it stays as it is
    /// (a paused unit).
    pub previous: Option<Status>,
    /// The attempt whose result is the run's (none for a process).
    pub call: Option<CallId>,
}

impl RunEnd {
    /// The events it stands for, in order: [`Event::Stats`], the
    /// [`Event::Status`] to completed when there is a `previous` status,
    /// [`Event::Completed`].
    pub fn events(self) -> impl Iterator<Item = Event> {
        let status = self.previous.map(|previous| Event::Status {
            unit: self.unit,
            previous,
            current: Status::Completed,
            reason: UpdateReason::StatusChange,
        });
        [
            Some(Event::Stats {
                unit: self.unit,
                duration_ms: self.duration_ms,
                run_count: self.run_count,
                average_ms: self.average_ms,
            }),
            status,
            Some(Event::Completed {
                unit: self.unit,
                call: self.call,
                duration_ms: self.duration_ms,
            }),
        ]
        .into_iter()
        .flatten()
    }
}
