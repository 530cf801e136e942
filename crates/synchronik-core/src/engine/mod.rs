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
//! report to: a [`crate::Ticket`] (somebody awaits it) or a process run.
//!
//! The engine is one struct; its concerns live in modules of their own,
//! each owning its part of the state:
//!
//! | module        | owns                                                  |
//! |---------------|-------------------------------------------------------|
//! | `types`       | the vocabulary shared by the others (ids, owners, …)  |
//! | `units`       | registration and release                              |
//! | `state`       | statuses, enabled, settings; who may start a run      |
//! | `request`     | runs asked for by name and their overlap rule         |
//! | `attempt`     | worker runs: attempts, retries, timeouts              |
//! | `process_run` | process runs by run mode                              |
//! | `graph`       | process runs as dependency graphs                     |
//! | `ending`      | how every run ends (completed, failed, ended by us)   |
//! | `schedule`    | start, interval workers, the sweep, statistics        |
//! | `stop`        | the graceful stop                                     |
//! | `watch`       | the watcher                                           |
//! | `pool`        | worker pools (their queues are `pool::Pools`)         |
//! | `threads`     | thread pools: queues, routing, runners' lifetimes     |
//! | `durable`     | the durable store's hook                              |
//! | `cluster`     | a store shared with other managers: claimed tasks,    |
//! |               | schedules held by one node                            |
//! | `view`        | read-only views for dashboards; a run nobody awaits   |
//! | `observed`    | counters, rates, errors and finished tasks, as they   |
//! |               | happen; overview, metrics, a failed task run again    |

use std::sync::Arc;

mod attempt;
mod calendar;
mod cluster;
mod durable;
mod ending;
mod graph;
mod observed;
mod pool;
mod process_run;
mod request;
mod schedule;
mod state;
mod stop;
mod threads;
mod types;
mod units;
mod view;
mod watch;

pub use calendar::{CalendarSpec, CatchUp, When, CATCH_UP_MAX};
pub use cluster::Demand;
pub use threads::{
    NamedThreadTask, RunnerId, StoredThreadTask, ThreadEvent, ThreadGroup, ThreadOutcome,
    ThreadPoolId, ThreadPoolSpec, ThreadPoolStats, ThreadRunError, ThreadStats, ThreadTaskRun,
    ThreadTaskSpec,
};
pub use types::{
    AddError, EngineOptions, Liveness, MemoryStats, Outcome, PoolId, RestoredState, RestoredTask,
    StopOptions, TaskSpec, TaskStatus,
};

use crate::clock::{Clock, Nanos};
use crate::event::{Event, EventSink, Invoker, Ticket};
use crate::ids::IdMap;
use crate::registry::Registry;
use crate::timer::{TimerId, TimerQueue};
use crate::unit::Slot;
use types::{ProcRunId, Timer};

/// The orchestration engine. See the module docs.
pub struct Engine {
    clock: Arc<dyn Clock>,
    /// The time of the batch being worked through (timers fired at one
    /// instant, outcomes reported together) and its wall-clock time (Unix
    /// ms), read once for all of it; `None` between batches (see
    /// [`Engine::now`]).
    pinned: std::cell::Cell<Option<(Nanos, f64)>>,
    invoker: Arc<dyn Invoker>,
    sink: Arc<dyn EventSink>,
    registry: Registry,
    /// Worker runs and their attempts in flight (see `attempt.rs`).
    runs: attempt::Runs,
    /// Process runs in flight (see `process_run.rs`).
    processes: IdMap<ProcRunId, process_run::ProcessRun>,
    timers: TimerQueue<Timer>,
    next_id: u64,
    /// Set when the earliest deadline may have moved earlier, so a driver
    /// sleeping on the old one must wake and look again.
    deadlines_changed: bool,
    /// What the driver sleeps until, as [`Engine::driver_deadline`] last
    /// told it (`None`: not known, `Some(None)`: no deadline).
    driver_deadline: Option<Option<Nanos>>,
    /// While [`Engine::fire_due_toward`] fires: the time the driver is
    /// moving the clock toward.
    horizon: Option<Nanos>,
    options: EngineOptions,
    liveness: Option<Arc<dyn Liveness>>,
    /// Scheduler, stop and watcher state (see `schedule.rs`, `stop.rs`,
    /// `watch.rs`).
    sched: schedule::SchedulerState,
    stopping: stop::StopState,
    watcher: watch::WatcherState,
    /// The pools and their queues (see `pool.rs`).
    pools: pool::Pools,
    /// The durable store, when one is set (see `durable.rs`).
    store: Option<Box<durable::StoreHook>>,
    /// Manual runs of workers with `overlap: 'queue'` asked for while a
    /// run was in flight: one run, right after, for all of them (see
    /// `request.rs`).
    queued_manual: IdMap<Slot, Vec<Ticket>>,
    /// What happened, recorded as it happens (see `observed.rs`).
    observed: observed::Observed,
    /// Thread pools and their runners (see `threads.rs`).
    threads: threads::ThreadPools,
    calendar: calendar::CalendarState,
    /// The engine's part in a cluster (see `cluster.rs`).
    cluster: cluster::ClusterState,
}

impl Engine {
    /// An empty engine.
    pub fn new(clock: Arc<dyn Clock>, invoker: Arc<dyn Invoker>, sink: Arc<dyn EventSink>) -> Self {
        Self {
            clock,
            pinned: std::cell::Cell::new(None),
            invoker,
            sink,
            registry: Registry::default(),
            runs: attempt::Runs::default(),
            processes: IdMap::default(),
            timers: TimerQueue::default(),
            next_id: 1,
            deadlines_changed: false,
            driver_deadline: None,
            horizon: None,
            options: EngineOptions::default(),
            liveness: None,
            sched: schedule::SchedulerState::default(),
            stopping: stop::StopState::default(),
            watcher: watch::WatcherState::default(),
            pools: pool::Pools::default(),
            store: None,
            queued_manual: IdMap::default(),
            observed: observed::Observed::default(),
            threads: threads::ThreadPools::default(),
            calendar: calendar::CalendarState::default(),
            cluster: cluster::ClusterState::default(),
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

    /// [`Engine::arm`] for a recurring timer of `period` (see
    /// [`TimerQueue::arm_in_lane`]): never a one-shot one, whose lanes
    /// [`Engine::next_one_shot_deadline`] tells apart by their key.
    fn arm_recurring_at(&mut self, at: Nanos, timer: Timer, period: Nanos) -> TimerId {
        debug_assert!(!timer.is_one_shot());
        self.note_deadline(at);
        self.timers.arm_in_lane(at, timer, period)
    }

    /// [`Engine::arm`] for a one-shot timer `delay` from `now`, in the lane
    /// of that delay (see [`TimerQueue::arm_in_lane`]): the timeouts of
    /// runs of one `timeoutMs`, armed as they start, come in deadline order.
    fn arm_after(&mut self, now: Nanos, delay: Nanos, timer: Timer) -> TimerId {
        debug_assert!(timer.is_one_shot());
        let at = now.saturating_add(delay);
        self.note_deadline(at);
        self.timers.arm_in_lane(
            at,
            timer,
            crate::timer::ONE_SHOT | delay.min(crate::timer::ONE_SHOT - 1),
        )
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
        self.observed.touch();
        if let Some(store) = &self.store {
            store.on_event(&event, self);
        }
        self.sink.emit(event);
    }

    /// The id of the unit in `slot` ("" once it is gone), for errors.
    fn unit_id(&self, slot: Slot) -> String {
        self.registry
            .get(slot)
            .map_or_else(String::new, |u| u.id.to_string())
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
        // The lanes of one-shot timers are told apart by their key (see
        // `arm_after`); the others hold recurring ones.
        let in_heap = self.timers.earliest_matching_in_heap(|t| t.is_one_shot());
        let in_lanes = self.timers.earliest_one_shot_in_lanes();
        match (in_heap, in_lanes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .filter(|t| *t <= crate::clock::CLOCK_LIMIT)
    }

    /// True (once) when a deadline was armed since the last call.
    pub fn take_deadlines_changed(&mut self) -> bool {
        std::mem::take(&mut self.deadlines_changed)
    }

    /// Fires every timer due at or before `now`, in deadline order.
    /// Returns how many fired.
    pub fn fire_due(&mut self, now: Nanos) -> usize {
        self.fire_due_toward(now, now)
    }

    /// [`Engine::fire_due`], but at most `limit` timers: the timer thread
    /// fires a large set of timers due at once in parts, and lets the host
    /// start on each part's runs while it fires the next.
    pub fn fire_some_due(&mut self, now: Nanos, limit: usize) -> usize {
        self.horizon = Some(now);
        self.pin(now);
        let fired = self.fire_due_now(now, limit);
        self.unpin();
        self.horizon = None;
        fired
    }

    /// [`Engine::fire_due`] as one step of a driver that moves the clock
    /// toward `end` from deadline to deadline (a manual clock's `advance`,
    /// see [`crate::Runtime::fire_next`]). One-shot timers are unaffected;
    /// a recurring timer (an interval worker, the sweep, the watcher, the
    /// statistics) that would fire more than 10,000 times before `end`
    /// treats the step as a jump: it fires once, at `end`, and resumes its
    /// cadence after it (as after a jump of a system clock).
    pub fn fire_due_toward(&mut self, now: Nanos, end: Nanos) -> usize {
        self.horizon = Some(end);
        self.pin(now);
        let fired = self.fire_due_now(now, usize::MAX);
        self.unpin();
        self.horizon = None;
        fired
    }

    /// The engine's time now: the pinned instant while a batch is worked
    /// through (one reading of the clock for all of it), else the clock's.
    pub(crate) fn now(&self) -> Nanos {
        match self.pinned.get() {
            Some((t, _)) => t,
            None => self.clock.now(),
        }
    }

    /// The wall-clock time (Unix ms) of [`Engine::now`].
    pub(crate) fn wall_now_ms(&self) -> f64 {
        match self.pinned.get() {
            Some((_, wall)) => wall,
            None => self.clock.wall_ms(),
        }
    }

    /// Pins the engine's time to `now` for the batch that starts.
    fn pin(&self, now: Nanos) {
        self.pinned.set(Some((now, self.clock.wall_ms())));
    }

    /// Runs `f` as one batch: the engine's time pinned to one reading of
    /// the clock for all of it (inside a batch already pinned, that
    /// batch's time).
    pub(crate) fn in_batch<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        if self.pinned.get().is_some() {
            return f(self);
        }
        self.pin(self.clock.now());
        let r = f(self);
        self.unpin();
        r
    }

    /// The batch is over: time is the clock's again. Also run at the end of
    /// every call into the engine ([`Engine::store_sync`]), so that a batch
    /// cut short by a panic does not leave the time pinned.
    pub(crate) fn unpin(&self) {
        self.pinned.set(None);
    }

    fn fire_due_now(&mut self, now: Nanos, limit: usize) -> usize {
        let mut fired = 0;
        while fired < limit {
            let Some((_, timer)) = self.timers.pop_due(now) else {
                break;
            };
            fired += 1;
            match timer {
                Timer::AttemptTimeout(run, call) => self.attempt_timed_out(run, call),
                Timer::RetryDelay(run) => self.retry_due(run),
                Timer::Isolation(id) => self.isolation_over(id),
                Timer::Interval(slot) => self.fire_interval(slot),
                Timer::Sweep => self.fire_sweep(),
                Timer::Watch => self.fire_watch(),
                Timer::StopDeadline => self.force_stop(),
                Timer::Stats => self.fire_stats(),
                Timer::ThreadIdle(runner) => self.thread_idle_over(runner),
                Timer::Calendar(slot) => self.fire_calendar(slot),
                Timer::TaskDue(task) => self.pool_task_due(task),
            }
        }
        fired
    }

    // ------------------------------------------------------------------
    // Statistics
    // ------------------------------------------------------------------

    /// Attempts in flight (started, not settled).
    pub fn in_flight(&self) -> usize {
        self.runs.attempts()
    }

    /// Runs in progress: worker runs (including those waiting for a retry)
    /// and process runs.
    pub fn active_runs(&self) -> usize {
        self.runs.len() + self.processes.len()
    }

    /// How much room the engine's structures hold, live or not: what a
    /// burst leaves behind shows here (see [`MemoryStats`]).
    pub fn memory(&self) -> MemoryStats {
        MemoryStats {
            slots: self.registry.slot_count(),
            slots_waiting: self.registry.slots_waiting(),
            task_capacity: self.pools.task_capacity(),
            timer_capacity: self.timers.capacity(),
            run_capacity: self.runs.capacity(),
        }
    }

    /// True (once) when the host may want its allocator to return free
    /// memory to the system: the engine gave back at least 4 MB of room
    /// (a burst's task slab), or a pool fell idle after at least 16,384
    /// tasks since the last hint (their queue nodes, names and records
    /// were freed: free memory that an allocator such as glibc's keeps
    /// in its arenas, scattered, unless asked).
    pub fn take_trim_hint(&mut self) -> bool {
        self.pools.take_trim_hint()
    }
}
