//! The engine: registry, runner and run modes as one state machine.
//!
//! [`Engine`] is synchronous and single-owner: every method takes `&mut self`
//! and finishes at once. It starts attempts through its [`Invoker`], learns
//! their outcomes through [`Engine::complete`], and keeps its own deadlines
//! in a [`TimerQueue`] that whoever drives it fires with
//! [`Engine::fire_due`] (the [`crate::Runtime`] does that on its timer
//! thread, tests do it by hand). Nothing here sleeps or spawns, which is what
//! makes every rule testable with a manual clock.
//!
//! A *run* of a worker is up to `maxRetries + 1` attempts; a *process run*
//! drives runs of its workers by its run mode. Every run has an owner to
//! report to: a [`Ticket`] (somebody awaits it) or a process run.

use std::sync::Arc;

mod durable;
mod graph;
mod pool;
mod schedule;
mod watch;

pub use durable::RestoredTask;
pub use pool::{AddError, PoolId, PoolMemory, TaskSpec, TaskStatus};
pub use schedule::StopOptions;

use crate::clock::{ms_to_nanos, nanos_to_ms, Clock, Nanos};
use crate::error::EngineError;
use crate::event::{
    AbortReason, CallId, Event, EventSink, Failure, Invocation, Invoker, Phase, TaskId, Ticket,
    UpdateReason,
};
use crate::ids::IdMap;
use crate::registry::{Registry, Unit, UnitBody};
use crate::timer::{TimerId, TimerQueue};
use crate::unit::{
    CommonSpec, ConfigPatch, Meta, Overlap, RetryDelay, RunMode, Slot, Status, UnitKind, UnitSpec,
    WorkerSpec,
};

type RunId = u64;
type ProcRunId = u64;

/// State brought back from storage (see [`Engine::restore`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoredState {
    pub status: Option<Status>,
    pub enabled: Option<bool>,
    pub run_count: Option<u64>,
    /// The last execution times, oldest first.
    pub execution_times_ms: Vec<f64>,
    pub last_run_ms: Option<f64>,
}

/// The settled outcome of one attempt, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The attempt resolved; the host keeps the value.
    Ok,
    /// The attempt threw or rejected.
    Err { message: String },
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

/// Who learns how a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Ticket(Ticket),
    Process(ProcRunId),
    /// A run the scheduler started on its own (an interval fire): nobody
    /// awaits it, so its end is announced by its unit events alone.
    Scheduled,
    /// A pool task executed by a pool worker.
    Task(TaskId),
}

#[derive(Debug)]
struct WorkerRun {
    slot: Slot,
    owner: Owner,
    attempt: u32,
    call: Option<CallId>,
    started: Nanos,
    timeout: Option<TimerId>,
    delay: Option<TimerId>,
    /// Delay before the next retry, reported by the host for
    /// [`RetryDelay::PerRetry`].
    reported_delay_ms: Option<f64>,
    /// Last sign of life (attempt start or a progress report).
    last_progress: Nanos,
    /// A stall was reported since the last sign of life.
    stall_reported: bool,
    /// Manual run requests that joined this run (the overlap rule of
    /// [`Engine::run_slot`]): they end when it ends.
    joined: Vec<Ticket>,
}

/// The worker that failed a process run. Its id is taken when it fails:
/// the worker may be released before the run ends (a graph waits for its
/// other branches), and the error still names it.
#[derive(Debug)]
pub(super) struct ProcessFailure {
    worker: Slot,
    worker_id: String,
    message: String,
}

impl ProcessFailure {
    fn new(registry: &Registry, worker: Slot, message: String) -> Self {
        Self {
            worker,
            worker_id: registry
                .get(worker)
                .map_or_else(String::new, |u| u.id.clone()),
            message,
        }
    }
}

#[derive(Debug)]
struct ProcessRun {
    slot: Slot,
    ticket: Ticket,
    mode: RunMode,
    batch_size: usize,
    isolation_delay_ms: f64,
    /// Parallel mode: at most this many workers at once.
    concurrency: Option<usize>,
    workers: Vec<Slot>,
    next: usize,
    in_flight: usize,
    failed: Option<ProcessFailure>,
    started: Nanos,
    waiting: Option<TimerId>,
    /// Set when the process runs as a dependency graph.
    graph: Option<graph::Graph>,
    /// Requests to run the process that came while this run was in flight:
    /// they end with it, with the same outcome.
    joined: Vec<Ticket>,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
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
}

impl Timer {
    /// Timers that exist because runs are in flight (as opposed to the
    /// recurring ones of a started engine).
    fn is_one_shot(self) -> bool {
        matches!(
            self,
            Timer::AttemptTimeout(..)
                | Timer::RetryDelay(_)
                | Timer::Isolation(_)
                | Timer::StopDeadline
        )
    }
}

/// The orchestration engine. See the module docs.
pub struct Engine {
    clock: Arc<dyn Clock>,
    invoker: Arc<dyn Invoker>,
    sink: Arc<dyn EventSink>,
    registry: Registry,
    runs: IdMap<RunId, WorkerRun>,
    calls: IdMap<CallId, RunId>,
    processes: IdMap<ProcRunId, ProcessRun>,
    timers: TimerQueue<Timer>,
    next_id: u64,
    /// Set when the earliest deadline may have moved earlier, so a driver
    /// sleeping on the old one must wake and look again.
    deadlines_changed: bool,
    /// What the driver sleeps until, as [`Engine::driver_deadline`] last
    /// told it (`None`: not known, `Some(None)`: no deadline).
    driver_deadline: Option<Option<Nanos>>,
    options: EngineOptions,
    liveness: Option<Arc<dyn Liveness>>,
    /// Scheduler and watcher state (see `schedule.rs`, `watch.rs`).
    sched: schedule::SchedulerState,
    watcher: watch::WatcherState,
    pools: pool::PoolState,
    /// The durable store, when one is set (see `durable.rs`).
    store: Option<Box<durable::StoreHook>>,
    /// Manual runs of workers with `overlap: 'queue'` asked for while a
    /// run was in flight: one run, right after, for all of them.
    queued_manual: IdMap<Slot, Vec<Ticket>>,
}

impl Engine {
    /// An empty engine.
    pub fn new(clock: Arc<dyn Clock>, invoker: Arc<dyn Invoker>, sink: Arc<dyn EventSink>) -> Self {
        Self {
            clock,
            invoker,
            sink,
            registry: Registry::default(),
            runs: IdMap::default(),
            calls: IdMap::default(),
            processes: IdMap::default(),
            timers: TimerQueue::default(),
            next_id: 1,
            deadlines_changed: false,
            driver_deadline: None,
            options: EngineOptions::default(),
            liveness: None,
            sched: schedule::SchedulerState::default(),
            watcher: watch::WatcherState::default(),
            pools: pool::PoolState::default(),
            store: None,
            queued_manual: IdMap::default(),
        }
    }

    /// Sets the scheduler's and watcher's settings (before `start`).
    pub fn set_options(&mut self, options: EngineOptions) {
        self.options = options;
    }

    /// The settings in force.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Lets the watcher see which `run` JavaScript is executing.
    pub fn set_liveness(&mut self, liveness: Arc<dyn Liveness>) {
        self.liveness = Some(liveness);
    }

    fn arm(&mut self, at: Nanos, timer: Timer) -> TimerId {
        self.note_deadline(at);
        self.timers.arm(at, timer)
    }

    /// A timer is armed at `at`: the driver must look again only if it is
    /// sleeping past `at`. (Waking it for every armed timeout cost a futex
    /// wake and a lock hand-over per run.)
    fn note_deadline(&mut self, at: Nanos) {
        match self.driver_deadline {
            Some(Some(sleeping_until)) if at >= sleeping_until => {}
            _ => self.deadlines_changed = true,
        }
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn emit(&self, event: Event) {
        if let Some(store) = &self.store {
            store.on_event(&event, self);
        }
        self.sink.emit(event);
    }

    // ------------------------------------------------------------------
    // Registry
    // ------------------------------------------------------------------

    /// The registry (read-only).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The unit called `id`.
    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.registry.slot_of(id).and_then(|s| self.registry.get(s))
    }

    /// Registers a unit (a process with its workers), replacing a unit of
    /// the same id in place. Validation happens before anything is stored.
    /// Returns the slots: the unit's first, then its workers' in order.
    pub fn register(&mut self, spec: UnitSpec) -> Result<Vec<Slot>, EngineError> {
        match &spec {
            UnitSpec::Process(p) => {
                let mut seen = std::collections::HashSet::new();
                for w in &p.workers {
                    if w.common.id == p.common.id || !seen.insert(w.common.id.as_str()) {
                        return Err(EngineError::DuplicateWorker {
                            process: p.common.id.clone(),
                            worker: w.common.id.clone(),
                        });
                    }
                }
                let siblings: Vec<&str> = p.workers.iter().map(|w| w.common.id.as_str()).collect();
                for w in &p.workers {
                    self.check_dependencies(
                        Some(&p.common.id),
                        &w.common.id,
                        &w.config.depends_on,
                        &siblings,
                    )?;
                }
            }
            UnitSpec::Worker(w) => {
                self.check_dependencies(None, &w.common.id, &w.config.depends_on, &[])?;
            }
        }
        if self.processes.is_empty() {
            // No process run can name a released worker any more.
            self.registry.recycle_held();
        }
        let slots = match spec {
            UnitSpec::Worker(w) => vec![self.store_worker(w, None)],
            UnitSpec::Process(p) => {
                let slot = self.store(
                    p.common,
                    UnitBody::Process {
                        config: p.config,
                        workers: Vec::new(),
                    },
                    None,
                );
                let workers: Vec<Slot> = p
                    .workers
                    .into_iter()
                    .map(|w| self.store_worker(w, Some(slot)))
                    .collect();
                if let Some(UnitBody::Process { workers: ws, .. }) =
                    self.registry.get_mut(slot).map(|u| &mut u.body)
                {
                    ws.clone_from(&workers);
                }
                let mut slots = Vec::with_capacity(workers.len() + 1);
                slots.push(slot);
                slots.extend(workers);
                slots
            }
        };
        for slot in &slots {
            self.reschedule(*slot);
        }
        Ok(slots)
    }

    fn store_worker(&mut self, w: WorkerSpec, parent: Option<Slot>) -> Slot {
        let slot = self.store(w.common, UnitBody::Worker(w.config), parent);
        if let Some(process) = parent {
            self.emit(Event::Parent {
                unit: slot,
                process,
            });
        }
        slot
    }

    fn store(&mut self, common: CommonSpec, body: UnitBody, parent: Option<Slot>) -> Slot {
        let previous = self
            .registry
            .slot_of(&common.id)
            .and_then(|s| self.registry.get(s));
        let active_runs = previous.map_or(0, |u| u.active_runs);
        let parent = parent.or_else(|| previous.and_then(|u| u.parent));
        let mut meta = Meta::default();
        meta.run_count = common.run_count;
        let status_since = self.clock.now();
        self.registry.upsert(Unit {
            id: common.id,
            enabled: common.enabled,
            status: common.status,
            meta,
            last_run_ms: None,
            last_run_at: None,
            last_error: None,
            parent,
            active_runs,
            status_since,
            body,
        })
    }

    /// Removes a unit. Its runs in flight are aborted and end with
    /// [`EngineError::Released`]. Returns false for an unknown id.
    pub fn release(&mut self, id: &str) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        // A pool worker leaves its pool first, so that ending its task below
        // cannot hand it the next one.
        self.pool_forget_worker(slot);
        // Out of the schedule before its runs end, so that ending a
        // scheduled run cannot start the run an overlap 'queue' fire left.
        self.unschedule(slot);
        self.end_runs_of(slot, id);
        // The slot is reused later: no process may go on listing it. A
        // worker that process runs in flight may still name keeps its slot
        // until they have ended.
        let listed = self.unlist_worker(slot);
        let hold = listed && !self.processes.is_empty();
        self.registry.remove(slot, hold);
        self.emit(Event::Released { unit: slot });
        self.check_stop_done();
        true
    }

    /// Ends the runs in flight of the unit called `id` with
    /// [`EngineError::Released`], keeping the unit: what re-registering an
    /// id does first, so that the runs of the object being replaced end on
    /// it. Returns false for an unknown id.
    pub fn end_runs(&mut self, id: &str) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        self.end_runs_of(slot, id);
        self.check_stop_done();
        true
    }

    fn end_runs_of(&mut self, slot: Slot, id: &str) {
        // Queued manual runs first: ending the run below must not start them.
        if let Some(tickets) = self.queued_manual.remove(&slot) {
            self.done_all(tickets);
        }
        let run_ids: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, r)| r.slot == slot)
            .map(|(id, _)| *id)
            .collect();
        for run in run_ids {
            if let Some(call) = self.runs.get(&run).and_then(|r| r.call) {
                self.invoker.abort(call, AbortReason::Released);
            }
            let failure = Failure::Engine(EngineError::Released { id: id.to_owned() });
            self.end_worker_run(run, Err(failure));
        }
        let proc_ids: Vec<ProcRunId> = self
            .processes
            .iter()
            .filter(|(_, p)| p.slot == slot)
            .map(|(id, _)| *id)
            .collect();
        for prun in proc_ids {
            if let Some(p) = self.processes.remove(&prun) {
                let error = EngineError::Released { id: id.to_owned() };
                self.end_process_run(p, error);
            }
        }
    }

    /// Ends a process run that was taken out of [`Engine::processes`] with
    /// `error` (released, stopped): the process is in `error`, and the run's
    /// ticket and those that joined it end with that error.
    fn end_process_run(&mut self, p: ProcessRun, error: EngineError) {
        if let Some(t) = p.waiting {
            self.timers.cancel(t);
        }
        let slot = p.slot;
        if let Some(u) = self.registry.get_mut(slot) {
            u.active_runs = u.active_runs.saturating_sub(1);
            u.last_error = Some(error.to_string());
            self.emit(Event::Errored {
                unit: slot,
                failure: Failure::Engine(error.clone()),
                culprit: None,
            });
            self.settle_status(slot, Status::Error);
            self.emit(Event::Failed { unit: slot });
        }
        self.process_done(p.ticket, p.joined, Some((slot, error)));
    }

    /// Ends the tickets of requests that nobody reports an error to.
    fn done_all(&mut self, tickets: Vec<Ticket>) {
        for ticket in tickets {
            self.emit(Event::Done {
                ticket,
                error: None,
            });
        }
    }

    /// Ends a process run's ticket and those of the requests that joined it.
    fn process_done(
        &mut self,
        ticket: Ticket,
        joined: Vec<Ticket>,
        error: Option<(Slot, EngineError)>,
    ) {
        for t in joined {
            self.emit(Event::Done {
                ticket: t,
                error: error.clone(),
            });
        }
        self.emit(Event::Done { ticket, error });
    }

    /// Removes a worker from the lists of the processes that list it;
    /// returns whether any did. Only workers registered through a process
    /// (they have a parent) are looked for.
    fn unlist_worker(&mut self, slot: Slot) -> bool {
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        if unit.kind() != UnitKind::Worker || unit.parent.is_none() {
            return false;
        }
        let processes: Vec<Slot> = self.registry.processes().collect();
        let mut listed = false;
        for p in processes {
            if let Some(UnitBody::Process { workers, .. }) =
                self.registry.get_mut(p).map(|u| &mut u.body)
            {
                let before = workers.len();
                workers.retain(|w| *w != slot);
                listed |= workers.len() != before;
            }
        }
        listed
    }

    /// The host carried out the release of these slots (see
    /// [`Registry::acknowledge`]): they may name new units.
    pub fn acknowledge_released(&mut self, slots: &[Slot]) {
        self.registry.acknowledge(slots);
    }

    /// Makes released slots wait for [`Engine::acknowledge_released`]
    /// before they are reused (for a host that mirrors units by slot).
    pub fn set_host_acknowledges_releases(&mut self, on: bool) {
        self.registry.set_host_acknowledges(on);
    }

    // ------------------------------------------------------------------
    // State
    // ------------------------------------------------------------------

    fn set_status(&mut self, slot: Slot, status: Status, reason: UpdateReason) {
        let now = self.clock.now();
        if let Some(u) = self.registry.get_mut(slot) {
            let previous = u.status;
            u.status = status;
            u.status_since = now;
            self.emit(Event::Status {
                unit: slot,
                previous,
                current: status,
                reason,
            });
        }
    }

    /// The status a run ends with — unless the unit was paused while the
    /// run was in flight: a pause set by hand outlasts the run.
    fn settle_status(&mut self, slot: Slot, status: Status) {
        if self
            .registry
            .get(slot)
            .is_some_and(|u| u.status != Status::Paused)
        {
            self.set_status(slot, status, UpdateReason::StatusChange);
        }
    }

    /// Sets a unit's status by hand (`updateStatus`). Setting the status it
    /// already has changes nothing. Unknown ids are ignored.
    pub fn update_status(&mut self, id: &str, status: Status) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        if self.registry.get(slot).is_some_and(|u| u.status != status) {
            self.set_status(slot, status, UpdateReason::StatusChange);
            if matches!(status, Status::Running | Status::Completed | Status::Error) {
                self.emit(Event::Marked { unit: slot, status });
            }
            self.pool_worker_changed(slot);
        }
        true
    }

    /// Sets `enabled`; returns whether it changed (the caller announces it).
    fn set_enabled_slot(&mut self, slot: Slot, enabled: bool) -> bool {
        match self.registry.get_mut(slot) {
            Some(u) if u.enabled != enabled => {
                u.enabled = enabled;
                self.emit(Event::Enabled {
                    unit: slot,
                    enabled,
                });
                true
            }
            _ => false,
        }
    }

    /// Restores a unit's state from storage (hydration): status, enabled
    /// and run statistics, without announcing anything — nothing changed,
    /// the state is only brought back. A unit that is running keeps its
    /// status. Unknown ids are ignored.
    pub fn restore(&mut self, id: &str, state: &RestoredState) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        let Some(unit) = self.registry.get_mut(slot) else {
            return false;
        };
        if let Some(status) = state.status {
            if unit.active_runs == 0 {
                unit.status = status;
            }
        }
        if let Some(enabled) = state.enabled {
            unit.enabled = enabled;
        }
        if let Some(run_count) = state.run_count {
            let mut meta = Meta::default();
            for t in &state.execution_times_ms {
                meta.record(*t);
            }
            meta.run_count = run_count;
            unit.meta = meta;
        }
        if let Some(ms) = state.last_run_ms {
            unit.last_run_ms = Some(ms);
        }
        self.reschedule(slot);
        true
    }

    /// Enables or disables a unit; a change is announced as a config change.
    /// Unknown ids are ignored.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> bool {
        match self.registry.slot_of(id) {
            Some(slot) => {
                if self.set_enabled_slot(slot, enabled) {
                    self.emit(Event::Config { unit: slot });
                    self.reschedule(slot);
                    self.pool_worker_changed(slot);
                }
                true
            }
            None => false,
        }
    }

    /// Changes a unit's settings; they apply from the next attempt on.
    /// Settings that do not fit the unit's kind are ignored. The change is
    /// announced once: as a status change when `status` changed it, else as
    /// a config change.
    pub fn update_config(&mut self, id: &str, patch: &ConfigPatch) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        if let Some(enabled) = patch.enabled {
            self.set_enabled_slot(slot, enabled);
        }
        let Some(unit) = self.registry.get_mut(slot) else {
            return false;
        };
        match &mut unit.body {
            UnitBody::Worker(c) => {
                if let Some(v) = patch.interval_ms {
                    c.interval_ms = v;
                }
                if let Some(v) = patch.run_on_interval {
                    c.run_on_interval = v;
                }
                if let Some(v) = patch.max_runs {
                    c.max_runs = v;
                }
                if let Some(v) = patch.timeout_ms {
                    c.timeout_ms = v;
                }
                if let Some(v) = patch.max_retries {
                    c.max_retries = v;
                }
                if let Some(v) = patch.retry_delay {
                    c.retry_delay = v;
                }
                if let Some(v) = patch.overlap {
                    c.overlap = v;
                }
            }
            UnitBody::Process { config, .. } => {
                if let Some(v) = patch.run_mode {
                    config.run_mode = v;
                }
                if let Some(v) = patch.batch_size {
                    config.batch_size = v;
                }
                if let Some(v) = patch.isolation_delay_ms {
                    config.isolation_delay_ms = v;
                }
                if let Some(v) = patch.concurrency {
                    config.concurrency = v;
                }
            }
        }
        let changed_status = patch
            .status
            .filter(|s| self.registry.get(slot).is_some_and(|u| u.status != *s));
        match changed_status {
            Some(status) => {
                self.set_status(slot, status, UpdateReason::StatusChange);
                if matches!(status, Status::Running | Status::Completed | Status::Error) {
                    self.emit(Event::Marked { unit: slot, status });
                }
            }
            None => self.emit(Event::Config { unit: slot }),
        }
        self.reschedule(slot);
        self.pool_worker_changed(slot);
        true
    }

    /// Every paused unit becomes idle (`startAll`).
    pub fn start_all(&mut self) {
        let slots: Vec<Slot> = self
            .registry
            .ordered()
            .filter(|s| {
                self.registry
                    .get(*s)
                    .is_some_and(|u| u.status == Status::Paused)
            })
            .collect();
        for slot in &slots {
            self.set_status(*slot, Status::Idle, UpdateReason::StatusChange);
        }
        for slot in slots {
            self.pool_worker_changed(slot);
        }
    }

    /// Every unit becomes paused (`stopAll`); one already paused does not
    /// change, so it announces nothing.
    pub fn stop_all(&mut self) {
        let slots: Vec<Slot> = self
            .registry
            .ordered()
            .filter(|s| {
                self.registry
                    .get(*s)
                    .is_some_and(|u| u.status != Status::Paused)
            })
            .collect();
        for slot in slots {
            self.set_status(slot, Status::Paused, UpdateReason::StatusChange);
        }
    }

    // ------------------------------------------------------------------
    // Runs
    // ------------------------------------------------------------------

    /// Runs a unit now. The returned ticket ends with [`Event::Done`] — at
    /// once when the id is unknown or the unit is paused or disabled.
    ///
    /// With `kind`, a unit of the other kind is not run either (as
    /// `runWorkerById` does not run a process).
    pub fn run_unit(&mut self, id: &str, kind: Option<UnitKind>) -> Ticket {
        match self.registry.slot_of(id) {
            Some(slot) => self.run_slot(slot, kind),
            None => self.run_slot(Slot::MAX, kind),
        }
    }

    /// [`Engine::run_unit`] for the unit in `slot` (an empty slot runs
    /// nothing; its ticket ends at once).
    pub fn run_slot(&mut self, slot: Slot, kind: Option<UnitKind>) -> Ticket {
        let ticket = self.fresh_id();
        let started = match self.registry.get(slot).map(Unit::kind) {
            Some(k) if kind.is_some_and(|want| want != k) => false,
            Some(UnitKind::Worker) => {
                self.join_worker_run(slot, ticket)
                    || self.start_worker_run(slot, Owner::Ticket(ticket))
            }
            Some(UnitKind::Process) => {
                self.join_process_run(slot, ticket) || self.start_process_run(slot, ticket)
            }
            None => false,
        };
        if !started {
            self.emit(Event::Done {
                ticket,
                error: None,
            });
        }
        ticket
    }

    /// The overlap rule of manual runs of a worker that is running: with
    /// `overlap: 'skip'` (the default) the request joins the run in flight
    /// and ends when it ends; with `'queue'` it waits for one run right
    /// after it (shared by every request that comes meanwhile); with
    /// `'allow'` it starts a run of its own (false: nothing joined).
    fn join_worker_run(&mut self, slot: Slot, ticket: Ticket) -> bool {
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        if unit.active_runs == 0 || !Self::runnable(unit) {
            return false;
        }
        match unit.worker().map_or(Overlap::Allow, |c| c.overlap) {
            Overlap::Allow => false,
            Overlap::Queue => {
                match self.queued_manual.get_mut(&slot) {
                    Some(tickets) => tickets.push(ticket),
                    None => {
                        self.queued_manual.insert(slot, vec![ticket]);
                    }
                }
                true
            }
            Overlap::Skip => {
                // The newest run in flight (a worker runs once at a time
                // unless `allow` made more).
                let run = self
                    .runs
                    .iter_mut()
                    .filter(|(_, r)| r.slot == slot)
                    .max_by_key(|(id, _)| **id)
                    .map(|(_, r)| r);
                match run {
                    Some(run) => {
                        run.joined.push(ticket);
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// A request to run a process that is running joins the run in flight:
    /// it ends when that run ends, with the same outcome.
    fn join_process_run(&mut self, slot: Slot, ticket: Ticket) -> bool {
        let run = self
            .processes
            .iter_mut()
            .filter(|(_, p)| p.slot == slot)
            .max_by_key(|(id, _)| **id)
            .map(|(_, p)| p);
        match run {
            Some(p) => {
                p.joined.push(ticket);
                true
            }
            None => false,
        }
    }

    /// A run of a worker ended: start the run that `overlap: 'queue'`
    /// requests are waiting for, once nothing of it is in flight.
    fn start_queued_manual(&mut self, slot: Slot) {
        if self.registry.get(slot).is_none_or(|u| u.active_runs > 0) {
            return;
        }
        let Some(mut tickets) = self.queued_manual.remove(&slot) else {
            return;
        };
        let first = tickets.remove(0);
        if !self.start_worker_run(slot, Owner::Ticket(first)) {
            tickets.insert(0, first);
            self.done_all(tickets);
            return;
        }
        if let Some(run) = self
            .runs
            .values_mut()
            .find(|r| r.owner == Owner::Ticket(first))
        {
            run.joined.append(&mut tickets);
        }
    }

    fn runnable(unit: &Unit) -> bool {
        unit.enabled && unit.status != Status::Paused
    }

    /// Starts a run of a worker; false when it is not runnable (the owner is
    /// then not told anything).
    fn start_worker_run(&mut self, slot: Slot, owner: Owner) -> bool {
        let now = self.clock.now();
        let Some(unit) = self.registry.get_mut(slot) else {
            return false;
        };
        if !Self::runnable(unit) || unit.worker().is_none() || self.sched.forced {
            return false;
        }
        unit.active_runs += 1;
        unit.last_run_at = Some(now);
        if matches!(owner, Owner::Task(_)) {
            // A pool worker executing a task: the pool's machinery, announced
            // by the task's own records (the RUN record and TASK_DONE), not
            // by unit events, so a queued task costs two records in all.
            unit.status = Status::Running;
            unit.status_since = now;
        } else {
            // Pool workers' lastRun is not shown (a task is the pool's
            // business), which spares a wall-clock read per task.
            let wall = self.clock.wall_ms();
            unit.last_run_ms = Some(wall);
            self.emit(Event::LastRun {
                unit: slot,
                wall_ms: wall,
            });
            self.set_status(slot, Status::Running, UpdateReason::StatusChange);
            self.emit(Event::Started { unit: slot });
        }
        let run = self.fresh_id();
        self.runs.insert(
            run,
            WorkerRun {
                slot,
                owner,
                attempt: 1,
                call: None,
                started: now,
                timeout: None,
                delay: None,
                reported_delay_ms: None,
                last_progress: now,
                stall_reported: false,
                joined: Vec::new(),
            },
        );
        self.begin_attempt_at(run, now);
        true
    }

    fn begin_attempt(&mut self, run_id: RunId) {
        let now = self.clock.now();
        self.begin_attempt_at(run_id, now);
    }

    /// Starts the next attempt of a run; `now` is the current time.
    fn begin_attempt_at(&mut self, run_id: RunId, now: Nanos) {
        let call = self.fresh_id();
        let Some(run) = self.runs.get(&run_id) else {
            return;
        };
        let Some(config) = self.registry.get(run.slot).and_then(Unit::worker) else {
            return;
        };
        let invocation = Invocation {
            call,
            unit: run.slot,
            attempt: run.attempt,
            retryable: run.attempt <= config.max_retries,
            conditions: self.wants_conditions(run.owner, run.slot),
            task: match run.owner {
                Owner::Task(t) => Some(t),
                _ => None,
            },
        };
        let timeout_ms = config.timeout_ms;
        let timeout = (timeout_ms > 0.0).then(|| {
            self.arm(
                now.saturating_add(ms_to_nanos(timeout_ms)),
                Timer::AttemptTimeout(run_id, call),
            )
        });
        if let Some(run) = self.runs.get_mut(&run_id) {
            run.call = Some(call);
            run.timeout = timeout;
            run.delay = None;
            run.reported_delay_ms = None;
            run.last_progress = now;
            run.stall_reported = false;
        }
        self.calls.insert(call, run_id);
        let invocation = match &self.store {
            Some(store) => store.on_invoke(invocation, self),
            None => invocation,
        };
        self.invoker.invoke(invocation);
    }

    /// Records the delay before the retry that follows attempt `call`, for
    /// workers whose delay is computed per retry. Unknown calls are ignored.
    pub fn report_retry_delay(&mut self, call: CallId, delay_ms: f64) {
        if let Some(run) = self.calls.get(&call).and_then(|r| self.runs.get_mut(r)) {
            run.reported_delay_ms = Some(delay_ms);
        }
    }

    /// Takes the outcomes of settled attempts. Outcomes of attempts that no
    /// longer count (timed out, released) are ignored.
    pub fn complete(&mut self, outcomes: impl IntoIterator<Item = (CallId, Outcome)>) {
        for (call, outcome) in outcomes {
            let Some(run_id) = self.calls.remove(&call) else {
                continue;
            };
            if let Some(t) = self.runs.get_mut(&run_id).and_then(|r| r.timeout.take()) {
                self.timers.cancel(t);
            }
            match outcome {
                Outcome::Ok => self.end_worker_run(run_id, Ok(call)),
                Outcome::Err { message } => {
                    self.attempt_failed(run_id, Failure::User { call, message })
                }
            }
        }
    }

    fn attempt_failed(&mut self, run_id: RunId, failure: Failure) {
        let Some(run) = self.runs.get(&run_id) else {
            return;
        };
        let (slot, attempt) = (run.slot, run.attempt);
        let retry = self
            .registry
            .get(slot)
            .and_then(Unit::worker)
            .filter(|c| attempt <= c.max_retries)
            .map(|c| match c.retry_delay {
                RetryDelay::Fixed(ms) => ms,
                RetryDelay::PerRetry => run.reported_delay_ms.unwrap_or(0.0),
            });
        let Some(delay_ms) = retry else {
            self.end_worker_run(run_id, Err(failure));
            return;
        };
        let delay_ms = if delay_ms.is_finite() && delay_ms > 0.0 {
            delay_ms
        } else {
            0.0
        };
        if let Some(run) = self.runs.get_mut(&run_id) {
            run.call = None;
            run.attempt += 1;
        }
        self.emit(Event::Retry {
            unit: slot,
            attempt,
            delay_ms,
            failure,
        });
        if delay_ms == 0.0 {
            self.begin_attempt(run_id);
        } else {
            let at = self.clock.now().saturating_add(ms_to_nanos(delay_ms));
            let t = self.arm(at, Timer::RetryDelay(run_id));
            if let Some(run) = self.runs.get_mut(&run_id) {
                run.delay = Some(t);
            }
        }
    }

    /// Ends a worker run: `Ok(call)` with the attempt that succeeded, or the
    /// final failure.
    fn end_worker_run(&mut self, run_id: RunId, result: Result<CallId, Failure>) {
        let Some(run) = self.runs.remove(&run_id) else {
            return;
        };
        // The maps of runs in flight give back the room of a burst.
        crate::registry::shrink_map(&mut self.runs);
        crate::registry::shrink_map(&mut self.calls);
        for t in [run.timeout, run.delay].into_iter().flatten() {
            self.timers.cancel(t);
        }
        if let Some(call) = run.call {
            self.calls.remove(&call);
        }
        let slot = run.slot;
        if let Owner::Task(task) = run.owner {
            let now = self.clock.now();
            if let Some(u) = self.registry.get_mut(slot) {
                u.active_runs = u.active_runs.saturating_sub(1);
                if u.status == Status::Running {
                    u.status = Status::Idle;
                    u.status_since = now;
                }
            }
            self.pool_task_done(task, slot, result);
            self.done_all(run.joined);
            self.check_stop_done();
            return;
        }
        let duration_ms = nanos_to_ms(self.clock.now().saturating_sub(run.started));
        let outcome = match result {
            Ok(call) => {
                let mut disable = false;
                let stats = self.registry.get_mut(slot).map(|u| {
                    u.active_runs = u.active_runs.saturating_sub(1);
                    u.meta.record(duration_ms);
                    if let UnitBody::Worker(c) = &u.body {
                        disable = c.max_runs.is_some_and(|m| u.meta.run_count >= m);
                    }
                    (u.meta.run_count, u.meta.average_ms)
                });
                if let Some((run_count, average_ms)) = stats {
                    self.emit(Event::Stats {
                        unit: slot,
                        duration_ms,
                        run_count,
                        average_ms,
                    });
                    self.settle_status(slot, Status::Completed);
                    self.emit(Event::Completed {
                        unit: slot,
                        call: Some(call),
                        duration_ms,
                    });
                    if disable && self.set_enabled_slot(slot, false) {
                        self.emit(Event::Config { unit: slot });
                        self.reschedule(slot);
                    }
                }
                Ok(())
            }
            Err(failure) => {
                let message = failure.message();
                if let Some(u) = self.registry.get_mut(slot) {
                    u.active_runs = u.active_runs.saturating_sub(1);
                    u.last_error = Some(message.clone());
                    self.emit(Event::Errored {
                        unit: slot,
                        failure,
                        culprit: None,
                    });
                    self.settle_status(slot, Status::Error);
                    self.emit(Event::Failed { unit: slot });
                }
                Err(message)
            }
        };
        self.done_all(run.joined);
        match run.owner {
            Owner::Ticket(ticket) => self.emit(Event::Done {
                ticket,
                error: None,
            }),
            Owner::Scheduled => {}
            Owner::Process(prun) => self.process_worker_done(prun, slot, outcome),
            Owner::Task(_) => {}
        }
        self.start_queued_manual(slot);
        self.after_run(slot);
        self.check_stop_done();
    }

    // ------------------------------------------------------------------
    // Process runs
    // ------------------------------------------------------------------

    fn start_process_run(&mut self, slot: Slot, ticket: Ticket) -> bool {
        let wall = self.clock.wall_ms();
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        // A disabled process is not run by the scheduler, but runs when
        // asked by name (as in 2.3, where pipelines chain disabled
        // processes by hand); a paused one does not run at all.
        if unit.status == Status::Paused {
            return false;
        }
        let UnitBody::Process { config, workers } = &unit.body else {
            return false;
        };
        let config = config.clone();
        let all = workers.clone();
        let mut graph = None;
        let workers: Vec<Slot> = if self.is_graph(&all) {
            match self.build_graph(slot, &all) {
                Ok(built) => graph = Some(built),
                Err(error) => {
                    // Rejected before anything runs.
                    let worker = self.registry.slot_of(error.unit_id()).unwrap_or(slot);
                    self.emit(Event::Done {
                        ticket,
                        error: Some((worker, error)),
                    });
                    return true;
                }
            }
            all
        } else {
            all.into_iter()
                .filter(|w| self.registry.get(*w).is_some_and(Self::runnable))
                .collect()
        };
        let (graph, unrunnable) = match graph {
            Some((g, u)) => (Some(g), u),
            None => (None, Vec::new()),
        };
        let prun = ProcessRun {
            slot,
            ticket,
            mode: config.run_mode,
            batch_size: config.batch_size.max(1) as usize,
            isolation_delay_ms: config.isolation_delay_ms,
            concurrency: config.concurrency.map(|c| c.max(1) as usize),
            workers,
            next: 0,
            in_flight: 0,
            failed: None,
            started: self.clock.now(),
            waiting: None,
            graph,
            joined: Vec::new(),
        };
        let mode = prun.mode;
        if let Some(u) = self.registry.get_mut(slot) {
            u.active_runs += 1;
            u.last_run_ms = Some(wall);
        }
        self.emit(Event::LastRun {
            unit: slot,
            wall_ms: wall,
        });
        self.set_status(slot, Status::Running, UpdateReason::StatusChange);
        self.emit(Event::Started { unit: slot });
        self.emit(Event::ProcessPhase {
            unit: slot,
            phase: Phase::Running,
            run_mode: mode,
        });
        let id = self.fresh_id();
        let is_graph = prun.graph.is_some();
        self.processes.insert(id, prun);
        if is_graph {
            self.graph_prune(id, unrunnable);
        }
        self.advance_process(id);
        true
    }

    /// Starts whatever the process run's mode allows now, or ends the run.
    fn advance_process(&mut self, id: ProcRunId) {
        if self.processes.get(&id).is_some_and(|p| p.graph.is_some()) {
            self.graph_advance(id);
            return;
        }
        loop {
            let Some(p) = self.processes.get_mut(&id) else {
                return;
            };
            if p.waiting.is_some() {
                return;
            }
            if p.failed.is_some() || p.next >= p.workers.len() {
                if p.in_flight == 0 {
                    self.finish_process(id);
                }
                return;
            }
            let rest = p.workers.len() - p.next;
            let take = match p.mode {
                _ if p.in_flight > 0 && p.mode != RunMode::Parallel => 0,
                RunMode::Sequential | RunMode::Isolated => 1,
                RunMode::Batched => p.batch_size.min(rest),
                // A sliding window: a worker starts whenever one settles.
                RunMode::Parallel => p
                    .concurrency
                    .map_or(rest, |c| c.saturating_sub(p.in_flight).min(rest)),
            };
            if take == 0 {
                return;
            }
            let group: Vec<Slot> = p.workers[p.next..p.next + take].to_vec();
            p.next += take;
            p.in_flight += take;
            for w in group {
                if !self.start_worker_run(w, Owner::Process(id)) {
                    // Disabled or paused since the run began: it is passed over.
                    if let Some(p) = self.processes.get_mut(&id) {
                        p.in_flight -= 1;
                    }
                }
            }
        }
    }

    fn process_worker_done(&mut self, id: ProcRunId, worker: Slot, outcome: Result<(), String>) {
        let Some(p) = self.processes.get_mut(&id) else {
            return;
        };
        if p.graph.is_some() {
            self.graph_worker_done(id, worker, outcome);
            return;
        }
        p.in_flight -= 1;
        match outcome {
            Err(message) => {
                if matches!(p.mode, RunMode::Sequential | RunMode::Isolated) {
                    p.failed = Some(ProcessFailure::new(&self.registry, worker, message));
                }
            }
            Ok(()) => {
                if p.mode == RunMode::Isolated && p.isolation_delay_ms > 0.0 {
                    let at = self
                        .clock
                        .now()
                        .saturating_add(ms_to_nanos(p.isolation_delay_ms));
                    let t = self.arm(at, Timer::Isolation(id));
                    if let Some(p) = self.processes.get_mut(&id) {
                        p.waiting = Some(t);
                    }
                }
            }
        }
        self.advance_process(id);
    }

    fn finish_process(&mut self, id: ProcRunId) {
        self.finish_process_inner(id);
        self.check_stop_done();
    }

    fn finish_process_inner(&mut self, id: ProcRunId) {
        let Some(p) = self.processes.remove(&id) else {
            return;
        };
        let slot = p.slot;
        let duration_ms = nanos_to_ms(self.clock.now().saturating_sub(p.started));
        let Some(unit) = self.registry.get_mut(slot) else {
            return;
        };
        unit.active_runs = unit.active_runs.saturating_sub(1);
        match p.failed {
            None => {
                unit.meta.record(duration_ms);
                let (run_count, average_ms) = (unit.meta.run_count, unit.meta.average_ms);
                self.emit(Event::Stats {
                    unit: slot,
                    duration_ms,
                    run_count,
                    average_ms,
                });
                self.settle_status(slot, Status::Completed);
                self.emit(Event::Completed {
                    unit: slot,
                    call: None,
                    duration_ms,
                });
                self.emit(Event::ProcessPhase {
                    unit: slot,
                    phase: Phase::Completed,
                    run_mode: p.mode,
                });
                self.process_done(p.ticket, p.joined, None);
            }
            Some(ProcessFailure {
                worker,
                worker_id,
                message,
            }) => {
                let error = EngineError::WorkerFailed {
                    process: unit.id.clone(),
                    worker: worker_id,
                    message,
                };
                if let Some(u) = self.registry.get_mut(slot) {
                    u.last_error = Some(error.to_string());
                }
                self.emit(Event::Errored {
                    unit: slot,
                    failure: Failure::Engine(error.clone()),
                    culprit: Some(worker),
                });
                self.settle_status(slot, Status::Error);
                self.emit(Event::Failed { unit: slot });
                self.process_done(p.ticket, p.joined, Some((worker, error)));
            }
        }
    }

    // ------------------------------------------------------------------
    // Time
    // ------------------------------------------------------------------

    /// The earliest pending deadline.
    pub fn next_deadline(&mut self) -> Option<Nanos> {
        self.timers.next_deadline()
    }

    /// [`Engine::next_deadline`] for the driver that sleeps until it: later
    /// timers armed meanwhile do not flag [`Engine::take_deadlines_changed`]
    /// (earlier ones do).
    pub fn driver_deadline(&mut self) -> Option<Nanos> {
        let at = self.timers.next_deadline();
        self.driver_deadline = Some(at);
        at
    }

    /// The earliest deadline of a timer that exists because work is in
    /// flight (a retry delay, a timeout, an isolation delay, a stop
    /// deadline), ignoring the recurring ones of a started engine.
    /// A deadline past the clock's limit never comes and is not reported.
    pub fn next_one_shot_deadline(&self) -> Option<Nanos> {
        self.timers
            .earliest_matching(|t| t.is_one_shot())
            .filter(|t| *t <= crate::clock::CLOCK_LIMIT)
    }

    /// True (once) when a deadline was armed since the last call.
    pub fn take_deadlines_changed(&mut self) -> bool {
        std::mem::take(&mut self.deadlines_changed)
    }

    /// Fires every timer due at or before `now`, in deadline order.
    /// Returns how many fired.
    pub fn fire_due(&mut self, now: Nanos) -> usize {
        let mut fired = 0;
        while let Some((_, timer)) = self.timers.pop_due(now) {
            fired += 1;
            match timer {
                Timer::AttemptTimeout(run_id, call) => {
                    if self.calls.get(&call) != Some(&run_id) {
                        continue;
                    }
                    self.calls.remove(&call);
                    let Some(run) = self.runs.get_mut(&run_id) else {
                        continue;
                    };
                    run.timeout = None;
                    run.call = None;
                    let (slot, attempt) = (run.slot, run.attempt);
                    let unit = self.registry.get(slot);
                    let id = unit.map_or_else(String::new, |u| u.id.clone());
                    let timeout_ms = unit.and_then(Unit::worker).map_or(0.0, |c| c.timeout_ms);
                    self.invoker.abort(call, AbortReason::Timeout);
                    let error = EngineError::Timeout {
                        id,
                        timeout_ms,
                        attempt,
                    };
                    self.attempt_failed(run_id, Failure::Engine(error));
                }
                Timer::RetryDelay(run_id) => {
                    if let Some(run) = self.runs.get_mut(&run_id) {
                        run.delay = None;
                        self.begin_attempt(run_id);
                    }
                }
                Timer::Isolation(id) => {
                    if let Some(p) = self.processes.get_mut(&id) {
                        p.waiting = None;
                        self.advance_process(id);
                    }
                }
                Timer::Interval(slot) => self.fire_interval(slot),
                Timer::Sweep => self.fire_sweep(),
                Timer::Watch => self.fire_watch(),
                Timer::StopDeadline => self.force_stop(),
                Timer::Stats => self.fire_stats(),
            }
        }
        fired
    }

    /// Attempts in flight (started, not settled).
    pub fn in_flight(&self) -> usize {
        self.calls.len()
    }

    /// Runs in progress: worker runs (including those waiting for a retry)
    /// and process runs.
    pub fn active_runs(&self) -> usize {
        self.runs.len() + self.processes.len()
    }

    /// How much room the engine's structures hold, live or not: what a
    /// burst leaves behind shows here (see [`MemoryStats`]).
    pub fn memory(&self) -> MemoryStats {
        let pools = self.pool_memory();
        MemoryStats {
            slots: self.registry.slot_count(),
            slots_waiting: self.registry.slots_waiting(),
            task_capacity: pools.task_capacity,
            timer_capacity: self.timers.capacity(),
            run_capacity: self.runs.capacity().max(self.calls.capacity()),
        }
    }

    /// True (once) when the host may want its allocator to return free
    /// memory to the system: the engine gave back at least 4 MB of room
    /// (a burst's task slab), or a pool fell idle after at least 16,384
    /// tasks since the last hint (their queue nodes, names and records
    /// were freed: free memory that an allocator such as glibc's keeps
    /// in its arenas, scattered, unless asked).
    pub fn take_trim_hint(&mut self) -> bool {
        self.pool_take_trim_hint()
    }
}

/// Room held by the engine's structures, in entries (see [`Engine::memory`]).
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
