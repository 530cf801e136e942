//! The engine's records of what happened, for the dashboard's overview
//! and for metrics (see [`crate::observe`]): totals, rates by window of
//! the engine clock, the last errors, run-duration and schedule-lag
//! histograms, runs by kind and outcome (and by unit when asked), and per
//! pool the tasks that left it.
//!
//! Everything is recorded at the moment it happens, by one-line calls from
//! where runs, tasks and fires end, so that reading it is a copy. The run
//! end is the hot path: recording one costs a few integer adds and a
//! search among twelve bucket bounds, and allocates nothing; only a
//! failure copies strings (its unit's id and message), and a pool task
//! that leaves moves its name into the pool's ring of finished tasks
//! without copying it.
//!
//! This module also owns the dashboard's one pool action, queueing a
//! failed durable task again ([`Engine::pool_retry_task`]).

use std::cell::Cell;
use std::collections::VecDeque;

use super::types::{AddError, PoolId, RestoredTask, TaskSpec, TaskStatus};
use super::Engine;
use crate::clock::{nanos_to_ms, nanos_to_secs, Nanos};
use crate::error::EngineError;
use crate::event::{Event, Failure, TaskId, TaskOutcome};
use crate::ids::IdMap;
use crate::observe::{
    DoneTask, ErrorView, HistogramSnapshot, MetricsSnapshot, Overview, PoolTasks, RateBucket,
    RunOutcome, Totals, UnitRuns, DONE_TASKS_KEPT, DURATION_BUCKETS, LAG_BUCKETS, RATE_BUCKETS,
    RATE_BUCKET_MS, RECENT_ERRORS_KEPT,
};
use crate::registry::Unit;
use crate::unit::{Slot, UnitKind};

/// Length of a rate window in the clock's nanoseconds.
const WINDOW_NANOS: Nanos = RATE_BUCKET_MS as Nanos * 1_000_000;

/// How a run ended by `failure` counts: ended by the engine (stop,
/// release, cancel), or failed.
pub(super) fn outcome_of(failure: &Failure) -> RunOutcome {
    match failure {
        Failure::Engine(
            EngineError::Stopped { .. }
            | EngineError::Released { .. }
            | EngineError::Cancelled { .. },
        ) => RunOutcome::Ended,
        _ => RunOutcome::Failed,
    }
}

/// A histogram over fixed bounds: `B` counts, one per bound and the last
/// for `+Inf` (not cumulative).
#[derive(Debug, Clone)]
struct Histogram<const B: usize> {
    bounds: &'static [f64],
    counts: [u64; B],
    sum: f64,
    count: u64,
}

impl<const B: usize> Histogram<B> {
    const fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: [0; B],
            sum: 0.0,
            count: 0,
        }
    }

    /// Counts `v` in the first bucket whose bound is at least `v`.
    fn observe(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        let v = v.max(0.0);
        let at = self.bounds.partition_point(|b| *b < v);
        self.counts[at] += 1;
        self.sum += v;
        self.count += 1;
    }

    fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self.counts.to_vec(),
            sum: self.sum,
            count: self.count,
        }
    }
}

const DURATION_COUNTS: usize = DURATION_BUCKETS.len() + 1;
const LAG_COUNTS: usize = LAG_BUCKETS.len() + 1;

/// One rate window; `window` is its number (start / [`WINDOW_NANOS`]) plus
/// one, 0 for a slot of the ring never used.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    window: u64,
    runs: u64,
    failures: u64,
    retries: u64,
}

/// What queueing a failed durable task again needs (see
/// [`Engine::pool_retry_task`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RetrySpec {
    pub(super) name: String,
    pub(super) handler: String,
    pub(super) payload: Option<String>,
    pub(super) priority: f64,
    /// The stored task's idempotency key, which its retry keeps.
    pub(super) key: String,
}

/// A task that left its pool, and how to run it again if it can be.
#[derive(Debug)]
struct Done {
    view: DoneTask,
    retry: Option<Box<RetrySpec>>,
}

/// A pool's finished tasks and totals.
#[derive(Debug, Default)]
struct PoolRecord {
    done: VecDeque<Done>,
    completed: u64,
    failed: u64,
    cancelled: u64,
}

/// The engine's records (an [`Engine`] field).
#[derive(Debug)]
pub(super) struct Observed {
    /// See [`Engine::change_count`]. A cell: events are emitted through
    /// `&self`.
    change: Cell<u64>,
    totals: Totals,
    rates: [Window; RATE_BUCKETS],
    recent_errors: VecDeque<ErrorView>,
    /// Each unit's last failure: message and time (ms).
    last_errors: IdMap<Slot, (String, f64)>,
    /// Durations of completed and failed runs, by kind.
    duration: [Histogram<DURATION_COUNTS>; 2],
    /// Runs ended, by kind and outcome.
    runs: [[u64; 3]; 2],
    /// Runs ended by unit and outcome, while `unit_metrics` is on.
    unit_metrics: bool,
    unit_runs: IdMap<Slot, [u64; 3]>,
    schedule_lag: Histogram<LAG_COUNTS>,
    /// Indexed by pool id; grown when a pool's first task leaves.
    pools: Vec<PoolRecord>,
    /// Tasks queued again by [`Engine::pool_retry_task`], until the host
    /// takes them ([`Engine::take_requeued_task`]) or they leave.
    pub(super) requeued: IdMap<TaskId, (PoolId, RestoredTask)>,
}

impl Default for Observed {
    fn default() -> Self {
        Self {
            change: Cell::new(0),
            totals: Totals::default(),
            rates: [Window::default(); RATE_BUCKETS],
            recent_errors: VecDeque::new(),
            last_errors: IdMap::default(),
            duration: [
                Histogram::new(&DURATION_BUCKETS),
                Histogram::new(&DURATION_BUCKETS),
            ],
            runs: [[0; 3]; 2],
            unit_metrics: false,
            unit_runs: IdMap::default(),
            schedule_lag: Histogram::new(&LAG_BUCKETS),
            pools: Vec::new(),
            requeued: IdMap::default(),
        }
    }
}

impl Observed {
    /// Something the dashboard shows changed.
    pub(super) fn touch(&self) {
        self.change.set(self.change.get().wrapping_add(1));
    }

    /// The rate window of time `now`, reset when it held an older one.
    fn window(&mut self, now: Nanos) -> &mut Window {
        let number = (now / WINDOW_NANOS) as u64 + 1;
        let w = &mut self.rates[(number % RATE_BUCKETS as u64) as usize];
        if w.window != number {
            *w = Window {
                window: number,
                ..Window::default()
            };
        }
        w
    }

    /// A run of a unit of `kind` in `slot` ended at `now` with `outcome`,
    /// after `seconds` (recorded for completed and failed runs).
    pub(super) fn run_ended(
        &mut self,
        kind: UnitKind,
        slot: Slot,
        outcome: RunOutcome,
        seconds: f64,
        now: Nanos,
    ) {
        self.totals.runs += 1;
        let failed = outcome == RunOutcome::Failed;
        match outcome {
            RunOutcome::Completed => self.totals.completed += 1,
            RunOutcome::Failed => self.totals.failed += 1,
            RunOutcome::Ended => {}
        }
        let w = self.window(now);
        w.runs += 1;
        w.failures += u64::from(failed);
        self.runs[kind as usize][outcome as usize] += 1;
        if outcome != RunOutcome::Ended {
            self.duration[kind as usize].observe(seconds);
        }
        if self.unit_metrics {
            self.unit_runs.entry(slot).or_insert([0; 3])[outcome as usize] += 1;
        }
    }

    /// A run of unit `unit` in `slot` failed with `message` at `now`.
    pub(super) fn error(&mut self, slot: Slot, unit: &str, message: &str, now: Nanos) {
        let at_ms = nanos_to_ms(now);
        if self.recent_errors.len() >= RECENT_ERRORS_KEPT {
            self.recent_errors.pop_front();
        }
        self.recent_errors.push_back(ErrorView {
            unit: unit.to_owned(),
            message: message.to_owned(),
            at_ms,
        });
        match self.last_errors.get_mut(&slot) {
            Some(last) => {
                last.0.clear();
                last.0.push_str(message);
                last.1 = at_ms;
            }
            None => {
                self.last_errors.insert(slot, (message.to_owned(), at_ms));
            }
        }
    }

    /// An attempt failed and is retried.
    pub(super) fn retry(&mut self, now: Nanos) {
        self.totals.retries += 1;
        self.window(now).retries += 1;
    }

    /// An interval fire came `seconds` after its scheduled time.
    pub(super) fn schedule_lag(&mut self, seconds: f64) {
        self.schedule_lag.observe(seconds);
    }

    /// The unit in `slot` is gone (released, or replaced by a unit of the
    /// same id): what was recorded of it goes.
    pub(super) fn forget(&mut self, slot: Slot) {
        self.last_errors.remove(&slot);
        self.unit_runs.remove(&slot);
    }

    /// A task left pool `pool`.
    fn task_left(&mut self, pool: PoolId, view: DoneTask, retry: Option<Box<RetrySpec>>) {
        if !self.requeued.is_empty() {
            self.requeued.remove(&view.id);
        }
        let at = pool as usize;
        if self.pools.len() <= at {
            self.pools.resize_with(at + 1, PoolRecord::default);
        }
        let p = &mut self.pools[at];
        match view.status {
            TaskStatus::Completed => p.completed += 1,
            TaskStatus::Error => p.failed += 1,
            _ => p.cancelled += 1,
        }
        if p.done.len() >= DONE_TASKS_KEPT {
            p.done.pop_front();
        } else if p.done.capacity() == 0 {
            p.done.reserve_exact(DONE_TASKS_KEPT);
        }
        p.done.push_back(Done { view, retry });
    }

    /// The last [`RATE_BUCKETS`] windows ending with the one of `now`,
    /// oldest first; windows before the clock's start (a clock younger
    /// than 15 minutes) are zeros too.
    fn rates(&self, now: Nanos) -> Vec<RateBucket> {
        let current = (now / WINDOW_NANOS) as i64;
        (current + 1 - RATE_BUCKETS as i64..=current)
            .map(|k| {
                let start_ms = k as f64 * RATE_BUCKET_MS;
                // Windows are numbered from 1 (0 marks a slot never used).
                let number = u64::try_from(k + 1).unwrap_or(0);
                let w = self.rates[(number % RATE_BUCKETS as u64) as usize];
                if number > 0 && w.window == number {
                    RateBucket {
                        start_ms,
                        runs: w.runs,
                        failures: w.failures,
                        retries: w.retries,
                    }
                } else {
                    RateBucket {
                        start_ms,
                        ..RateBucket::default()
                    }
                }
            })
            .collect()
    }
}

/// Units by status, workers and processes, in one pass.
fn count_units<'a>(units: impl Iterator<Item = &'a Unit>) -> ([u64; 5], usize, usize) {
    let mut counts = [0u64; 5];
    let (mut workers, mut processes) = (0, 0);
    for u in units {
        counts[u.status as usize] += 1;
        match u.kind() {
            UnitKind::Worker => workers += 1,
            UnitKind::Process => processes += 1,
        }
    }
    (counts, workers, processes)
}

impl Engine {
    /// A number that moves whenever something a dashboard shows may have
    /// changed: every event the engine emits, a unit registered or
    /// restored, a task queued or started. A dashboard pushes an update
    /// when it moved.
    pub fn change_count(&self) -> u64 {
        self.observed.change.get()
    }

    /// Keeps runs by unit for [`Engine::metrics_snapshot`] from now on
    /// (`true`), or stops and forgets them (`false`). Off by default: a
    /// label per unit is a time series per unit.
    pub fn set_unit_metrics(&mut self, on: bool) {
        self.observed.unit_metrics = on;
        if !on {
            self.observed.unit_runs = IdMap::default();
        }
    }

    /// The overview: units by status (one pass over the registry), totals,
    /// the rate windows ending with the current one, the last errors.
    pub fn overview(&self) -> Overview {
        let now = self.now();
        let (counts, workers, processes) = count_units(
            self.registry
                .live()
                .filter_map(|slot| self.registry.get(slot)),
        );
        Overview {
            now_ms: nanos_to_ms(now),
            started: self.is_started(),
            counts,
            workers,
            processes,
            totals: self.observed.totals,
            in_flight: self.in_flight(),
            pool_queued: self.pool_queued(),
            rates: self.observed.rates(now),
            recent_errors: self.observed.recent_errors.iter().cloned().collect(),
            change: self.change_count(),
        }
    }

    /// The counters behind metrics: runs by kind and outcome (and by unit
    /// when kept), run durations, retries, units by status, tasks of every
    /// pool, schedule lag, and the writes the durable store has pending.
    pub fn metrics_snapshot(&self) -> MetricsSnapshot {
        let o = &self.observed;
        let (units, _, _) = count_units(
            self.registry
                .live()
                .filter_map(|slot| self.registry.get(slot)),
        );
        let unit_runs = if o.unit_metrics {
            self.registry
                .ordered()
                .filter_map(|slot| {
                    let runs = o.unit_runs.get(&slot)?;
                    let u = self.registry.get(slot)?;
                    Some(UnitRuns {
                        unit: u.id.to_string(),
                        kind: u.kind(),
                        runs: *runs,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let pools = self
            .pools
            .ids()
            .map(|pool| {
                let [queued, paused, waiting] = self.pools.queued_by_status(pool);
                let running = self.pools.running_count(pool) as u64;
                let scheduled = self.pools.delayed_count(pool) as u64;
                let (completed, failed, cancelled) = o
                    .pools
                    .get(pool as usize)
                    .map_or((0, 0, 0), |p| (p.completed, p.failed, p.cancelled));
                PoolTasks {
                    pool: self.pools.name(pool).unwrap_or_default().to_owned(),
                    counts: vec![
                        (TaskStatus::Idle, queued),
                        (TaskStatus::Running, running),
                        (TaskStatus::Paused, paused),
                        (TaskStatus::WaitingHandler, waiting),
                        (TaskStatus::Scheduled, scheduled),
                        (TaskStatus::Completed, completed),
                        (TaskStatus::Error, failed),
                        (TaskStatus::Cancelled, cancelled),
                    ],
                }
            })
            .collect();
        MetricsSnapshot {
            runs: o.runs,
            unit_runs,
            duration: [o.duration[0].snapshot(), o.duration[1].snapshot()],
            retries: o.totals.retries,
            units,
            pools,
            schedule_lag: o.schedule_lag.snapshot(),
            store_pending_writes: self.durable_store().map_or(0, |s| s.pending_writes()),
        }
    }

    /// The last failure of the unit in `slot`, if a run of it failed.
    pub(super) fn last_error(&self, slot: Slot) -> Option<ErrorView> {
        let (message, at_ms) = self.observed.last_errors.get(&slot)?;
        Some(ErrorView {
            unit: self.unit_id_of(slot)?.to_owned(),
            message: message.clone(),
            at_ms: *at_ms,
        })
    }

    /// The last [`DONE_TASKS_KEPT`] tasks that left the pool, newest last,
    /// and its totals: completed, failed, cancelled.
    pub(super) fn pool_done(&self, pool: PoolId) -> (Vec<DoneTask>, u64, u64, u64) {
        match self.observed.pools.get(pool as usize) {
            Some(p) => (
                p.done.iter().map(|d| d.view.clone()).collect(),
                p.completed,
                p.failed,
                p.cancelled,
            ),
            None => (Vec::new(), 0, 0, 0),
        }
    }

    /// Records the end of a run of the unit in `slot` (started at
    /// `started`, ended at `now`) with `outcome`; a failure's `message` is
    /// recorded as the unit's error.
    pub(super) fn observe_run(
        &mut self,
        slot: Slot,
        outcome: RunOutcome,
        started: Nanos,
        now: Nanos,
        message: Option<&str>,
    ) {
        let Some(u) = self.registry.get(slot) else {
            return;
        };
        let seconds = nanos_to_secs(now.saturating_sub(started));
        self.observed
            .run_ended(u.kind(), slot, outcome, seconds, now);
        if let (RunOutcome::Failed, Some(message)) = (outcome, message) {
            self.observed.error(slot, &u.id, message, now);
        }
    }

    /// Records a task that left its pool: ran (its `result`, between
    /// `started` and `now`), or removed before it ran (`result` `None`,
    /// with the error that dropped it, if any). `name` is the task's own,
    /// moved here.
    pub(super) fn observe_task_left(
        &mut self,
        task: TaskId,
        pool: PoolId,
        name: Option<String>,
        outcome: &TaskOutcome,
        span: Option<(Nanos, Nanos)>,
    ) {
        let (status, error, retry) = match outcome {
            TaskOutcome::Completed { .. } => (TaskStatus::Completed, None, None),
            TaskOutcome::Cancelled => (TaskStatus::Cancelled, None, None),
            TaskOutcome::Dropped(e) => (TaskStatus::Cancelled, Some(e.to_string()), None),
            TaskOutcome::Failed(f) => {
                // A durable task the engine ended (stop, release) stays
                // stored and runs again after a restart: nothing to retry.
                let retry = match outcome_of(f) {
                    RunOutcome::Failed => self.store.as_ref().and_then(|s| s.retry_spec(task)),
                    _ => None,
                };
                (TaskStatus::Error, Some(f.message()), retry.map(Box::new))
            }
        };
        let now = span.map_or_else(|| self.now(), |(_, now)| now);
        let view = DoneTask {
            id: task,
            name,
            status,
            duration_ms: span.map(|(started, now)| nanos_to_ms(now.saturating_sub(started))),
            error,
            at_ms: nanos_to_ms(now),
            retryable: retry.is_some(),
        };
        self.observed.task_left(pool, view, retry);
    }

    /// An interval fire scheduled at `due` came now.
    pub(super) fn observe_fire(&mut self, due: Nanos) {
        let late = self.now().saturating_sub(due);
        self.observed.schedule_lag(nanos_to_secs(late));
    }

    /// Queues a failed task again, as a new task of its pool: one whose
    /// handler and payload are stored (a durable task) is added with the
    /// same name, handler, payload, priority and idempotency key, announced
    /// to the host as a task now idle ([`Event::TaskStatus`]; the host
    /// takes what it needs to run it with [`Engine::take_requeued_task`])
    /// and then dispatched. Returns the new task's id.
    ///
    /// A task can be queued again once, while it is among the last
    /// [`DONE_TASKS_KEPT`] tasks of its pool. A task that runs a function
    /// of its own (not stored) cannot: the engine does not hold that
    /// function. Refusals: [`EngineError::UnknownTask`] for a task the
    /// engine does not know (never queued, or no longer among the last
    /// that left), [`EngineError::NotRetryable`] for the others.
    pub fn pool_retry_task(&mut self, task: TaskId) -> Result<TaskId, EngineError> {
        let refuse = |reason: &str| EngineError::NotRetryable {
            task,
            reason: reason.to_owned(),
        };
        let found = self
            .observed
            .pools
            .iter()
            .enumerate()
            .find_map(|(pool, p)| {
                let done = p.done.iter().find(|d| d.view.id == task)?;
                Some((pool as PoolId, done.view.status, done.retry.clone()))
            });
        let Some((pool, status, retry)) = found else {
            return Err(match self.pools.task(task) {
                Some(_) => refuse("it has not finished"),
                None => EngineError::UnknownTask { task },
            });
        };
        match status {
            TaskStatus::Error => {}
            TaskStatus::Completed => return Err(refuse("it completed")),
            _ => return Err(refuse("it was cancelled")),
        }
        let Some(retry) = retry else {
            return Err(refuse(
                "only a stored task (one that names a handler, added with a store) can run again, and only once",
            ));
        };
        let spec = TaskSpec {
            name: Some(retry.name.clone()),
            priority: retry.priority,
            handler: Some(retry.handler.clone()),
        };
        let added = self.add_durable(
            pool,
            spec,
            retry.payload.clone(),
            Some(retry.key.clone()),
            false,
            None,
        );
        let (id, arrangement, key) = match added {
            Ok(added) => added,
            Err(AddError::Duplicate) => {
                return Err(refuse(&format!(
                    "a pending task of its pool is called \"{}\"",
                    retry.name
                )))
            }
            Err(AddError::NoPool) => return Err(refuse("its pool is gone")),
        };
        if let Some(done) = self.observed.pools[pool as usize]
            .done
            .iter_mut()
            .find(|d| d.view.id == task)
        {
            done.retry = None;
            done.view.retryable = false;
        }
        let RetrySpec {
            name,
            handler,
            payload,
            priority,
            ..
        } = *retry;
        self.observed.requeued.insert(
            id,
            (
                pool,
                RestoredTask {
                    task: id,
                    name,
                    handler,
                    payload,
                    priority,
                    arrangement,
                    key,
                    attempt: 0,
                    run_at_ms: None,
                    replaces: None,
                },
            ),
        );
        self.emit(Event::TaskStatus {
            task: id,
            status: TaskStatus::Idle,
            worker: None,
        });
        self.pool_dispatch(pool);
        Ok(id)
    }

    /// What the host needs to run a task queued again by
    /// [`Engine::pool_retry_task`] (its name, handler, payload, priority,
    /// key) and the pool it is in, once; `None` for any other task.
    pub fn take_requeued_task(&mut self, task: TaskId) -> Option<(PoolId, RestoredTask)> {
        self.observed.requeued.remove(&task)
    }
}
