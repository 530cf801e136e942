//! Worker runs: a run is up to `maxRetries + 1` attempts, each bounded by
//! the worker's `timeoutMs`, with the worker's retry delay between them.
//!
//! This module owns the runs in flight and their attempts ([`Runs`]): it
//! starts a run, starts each attempt through the [`Invoker`](crate::Invoker),
//! takes the attempts' outcomes, times them out, retries them, and ends the
//! run (announcing the end through `ending.rs`).

use super::types::{Owner, RunId, Timer};
use super::Engine;
use crate::clock::{ms_to_nanos, nanos_to_ms, Nanos};
use crate::error::EngineError;
use crate::event::{AbortReason, CallId, Event, Failure, Invocation, Ticket, UpdateReason};
use crate::ids::IdMap;
use crate::registry::{Unit, UnitBody};
use crate::timer::TimerId;
use crate::unit::{RetryDelay, Slot, Status};

use super::observed::outcome_of;
use super::Outcome;
use crate::observe::RunOutcome;

/// One worker run in flight.
#[derive(Debug)]
pub(super) struct WorkerRun {
    pub(super) slot: Slot,
    pub(super) owner: Owner,
    attempt: u32,
    /// The attempt in flight; `None` while the run waits for a retry.
    pub(super) call: Option<CallId>,
    pub(super) started: Nanos,
    timeout: Option<TimerId>,
    delay: Option<TimerId>,
    /// Delay before the next retry, reported by the host for
    /// [`RetryDelay::PerRetry`].
    reported_delay_ms: Option<f64>,
    /// Last sign of life (attempt start or a progress report).
    pub(super) last_progress: Nanos,
    /// A stall was reported since the last sign of life.
    pub(super) stall_reported: bool,
    /// Manual run requests that joined this run (the overlap rule of
    /// [`Engine::run_slot`]): they end when it ends.
    pub(super) joined: Vec<Ticket>,
}

/// The worker runs in flight, and their attempts by call id.
#[derive(Debug, Default)]
pub(super) struct Runs {
    runs: IdMap<RunId, WorkerRun>,
    calls: IdMap<CallId, RunId>,
}

impl Runs {
    /// Runs in flight, including those waiting for a retry.
    pub(super) fn len(&self) -> usize {
        self.runs.len()
    }

    /// Attempts in flight.
    pub(super) fn attempts(&self) -> usize {
        self.calls.len()
    }

    /// Entries the maps have room for.
    pub(super) fn capacity(&self) -> usize {
        self.runs.capacity().max(self.calls.capacity())
    }

    pub(super) fn contains(&self, run: RunId) -> bool {
        self.runs.contains_key(&run)
    }

    pub(super) fn get(&self, run: RunId) -> Option<&WorkerRun> {
        self.runs.get(&run)
    }

    /// The run attempt `call` belongs to, while the attempt counts.
    pub(super) fn of_call(&self, call: CallId) -> Option<RunId> {
        self.calls.get(&call).copied()
    }

    /// The run of attempt `call`, while the attempt counts.
    pub(super) fn by_call(&self, call: CallId) -> Option<&WorkerRun> {
        self.runs.get(self.calls.get(&call)?)
    }

    pub(super) fn by_call_mut(&mut self, call: CallId) -> Option<&mut WorkerRun> {
        self.runs.get_mut(self.calls.get(&call)?)
    }

    /// Every run in flight, in no particular order.
    pub(super) fn ids(&self) -> Vec<RunId> {
        self.runs.keys().copied().collect()
    }

    /// Every run in flight, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &WorkerRun> {
        self.runs.values()
    }

    /// The runs of the unit in `slot`.
    pub(super) fn of_slot(&self, slot: Slot) -> Vec<RunId> {
        self.runs
            .iter()
            .filter(|(_, r)| r.slot == slot)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The runs waiting for a retry, oldest first.
    pub(super) fn waiting_for_retry(&self) -> Vec<RunId> {
        let mut ids: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, r)| r.delay.is_some())
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The run that reports to `owner`.
    pub(super) fn owned_by(&self, owner: Owner) -> Option<RunId> {
        self.runs
            .iter()
            .find(|(_, r)| r.owner == owner)
            .map(|(id, _)| *id)
    }

    /// The newest run of the unit in `slot` (a worker runs once at a time
    /// unless `overlap: 'allow'` made more).
    pub(super) fn newest_of_mut(&mut self, slot: Slot) -> Option<&mut WorkerRun> {
        self.runs
            .iter_mut()
            .filter(|(_, r)| r.slot == slot)
            .max_by_key(|(id, _)| **id)
            .map(|(_, r)| r)
    }

    pub(super) fn get_mut(&mut self, run: RunId) -> Option<&mut WorkerRun> {
        self.runs.get_mut(&run)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut WorkerRun> {
        self.runs.values_mut()
    }

    /// Takes attempt `call` out: its outcome no longer counts after this.
    fn take_call(&mut self, call: CallId) -> Option<RunId> {
        self.calls.remove(&call)
    }

    /// Takes run `run` out, with its attempt in flight.
    fn remove(&mut self, run: RunId) -> Option<WorkerRun> {
        let r = self.runs.remove(&run)?;
        if let Some(call) = r.call {
            self.calls.remove(&call);
        }
        // The maps of runs in flight give back the room of a burst.
        crate::registry::shrink_map(&mut self.runs);
        crate::registry::shrink_map(&mut self.calls);
        Some(r)
    }
}

impl Engine {
    /// Starts a run of a worker; false when it may not start (the owner is
    /// then not told anything).
    pub(super) fn start_worker_run(&mut self, slot: Slot, owner: Owner) -> bool {
        let now = self.now();
        // Pool workers' lastRun is not shown (a task is the pool's
        // business), which spares a wall-clock read per task.
        let wall = (!matches!(owner, Owner::Task(_))).then(|| self.wall_now_ms());
        let may_start = self.starts_allowed();
        let Some(unit) = self.registry.get_mut(slot) else {
            return false;
        };
        if !may_start || !super::state::may_start(unit, false) || unit.worker().is_none() {
            return false;
        }
        unit.active_runs += 1;
        unit.started_at(now, wall);
        if matches!(owner, Owner::Task(_)) {
            // A pool worker executing a task: the pool's machinery, announced
            // by the task's own records (the RUN record and TASK_DONE), not
            // by unit events, so a queued task costs two records in all.
            unit.status = Status::Running;
            unit.status_since = now;
        } else if let Some(wall) = wall {
            self.announce_start(slot, wall);
        }
        let run = self.fresh_id();
        self.runs.runs.insert(
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
        self.begin_attempt(run, now);
        true
    }

    /// Announces that a run of the unit starts now (`wall` is its
    /// `lastRun`): worker and process runs alike.
    pub(super) fn announce_start(&mut self, slot: Slot, wall: f64) {
        self.emit(Event::LastRun {
            unit: slot,
            wall_ms: wall,
        });
        self.set_status(slot, Status::Running, UpdateReason::StatusChange);
        self.emit(Event::Started { unit: slot });
    }

    /// Starts the next attempt of a run; `now` is the current time.
    fn begin_attempt(&mut self, run_id: RunId, now: Nanos) {
        let call = self.fresh_id();
        let Some(run) = self.runs.get(run_id) else {
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
            self.arm_after(
                now,
                ms_to_nanos(timeout_ms),
                Timer::AttemptTimeout(run_id, call),
            )
        });
        if let Some(run) = self.runs.get_mut(run_id) {
            run.call = Some(call);
            run.timeout = timeout;
            run.delay = None;
            run.reported_delay_ms = None;
            run.last_progress = now;
            run.stall_reported = false;
        }
        self.runs.calls.insert(call, run_id);
        let invocation = match &self.store {
            Some(store) => store.on_invoke(invocation, self),
            None => invocation,
        };
        self.invoker.invoke(invocation);
    }

    /// Records the delay before the retry that follows attempt `call`, for
    /// workers whose delay is computed per retry. Unknown calls are ignored.
    pub fn report_retry_delay(&mut self, call: CallId, delay_ms: f64) {
        if let Some(run) = self.runs.by_call_mut(call) {
            run.reported_delay_ms = Some(delay_ms);
        }
    }

    /// Takes the outcomes of settled attempts. Outcomes of attempts that no
    /// longer count (timed out, released) are ignored.
    pub fn complete(&mut self, outcomes: impl IntoIterator<Item = (CallId, Outcome)>) {
        // The outcomes of one report settled together: one reading of the
        // clock ends all of them.
        self.in_batch(|e| {
            for (call, outcome) in outcomes {
                let Some(run_id) = e.runs.take_call(call) else {
                    continue;
                };
                if let Some(t) = e.runs.get_mut(run_id).and_then(|r| r.timeout.take()) {
                    e.timers.cancel(t);
                }
                match outcome {
                    Outcome::Ok => e.end_worker_run(run_id, Ok(call)),
                    Outcome::Err { message } => {
                        e.attempt_failed(run_id, Failure::User { call, message })
                    }
                }
            }
        });
    }

    /// The timeout of attempt `call` of run `run_id` came: the attempt is
    /// aborted and fails with [`EngineError::Timeout`].
    pub(super) fn attempt_timed_out(&mut self, run_id: RunId, call: CallId) {
        if self.runs.of_call(call) != Some(run_id) {
            return;
        }
        self.runs.take_call(call);
        let Some(run) = self.runs.get_mut(run_id) else {
            return;
        };
        run.timeout = None;
        run.call = None;
        let (slot, attempt) = (run.slot, run.attempt);
        let timeout_ms = self
            .registry
            .get(slot)
            .and_then(Unit::worker)
            .map_or(0.0, |c| c.timeout_ms);
        self.invoker.abort(call, AbortReason::Timeout);
        let error = EngineError::Timeout {
            id: self.unit_id(slot),
            timeout_ms,
            attempt,
        };
        self.attempt_failed(run_id, Failure::Engine(error));
    }

    /// The retry delay of run `run_id` is over: its next attempt starts.
    pub(super) fn retry_due(&mut self, run_id: RunId) {
        if let Some(run) = self.runs.get_mut(run_id) {
            run.delay = None;
            let now = self.now();
            self.begin_attempt(run_id, now);
        }
    }

    fn attempt_failed(&mut self, run_id: RunId, failure: Failure) {
        let Some(run) = self.runs.get(run_id) else {
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
        // While a stop is under way nothing is retried: the run ends with
        // the failure of its last attempt.
        let Some(delay_ms) = retry.filter(|_| !self.is_stopping()) else {
            self.end_worker_run(run_id, Err(failure));
            return;
        };
        let delay_ms = if delay_ms.is_finite() && delay_ms > 0.0 {
            delay_ms
        } else {
            0.0
        };
        if let Some(run) = self.runs.get_mut(run_id) {
            run.call = None;
            run.attempt += 1;
        }
        let now = self.now();
        self.observed.retry(now);
        self.emit(Event::Retry {
            unit: slot,
            attempt,
            delay_ms,
            failure,
        });
        if delay_ms == 0.0 {
            self.begin_attempt(run_id, now);
        } else {
            let t = self.arm_after(now, ms_to_nanos(delay_ms), Timer::RetryDelay(run_id));
            if let Some(run) = self.runs.get_mut(run_id) {
                run.delay = Some(t);
            }
        }
    }

    /// Ends a worker run: `Ok(call)` with the attempt that succeeded, or the
    /// final failure.
    pub(super) fn end_worker_run(&mut self, run_id: RunId, result: Result<CallId, Failure>) {
        let Some(run) = self.runs.remove(run_id) else {
            return;
        };
        for t in [run.timeout, run.delay].into_iter().flatten() {
            self.timers.cancel(t);
        }
        let slot = run.slot;
        let now = self.now();
        if let Owner::Task(task) = run.owner {
            if let Some(u) = self.registry.get_mut(slot) {
                u.active_runs = u.active_runs.saturating_sub(1);
                if u.status == Status::Running {
                    u.status = Status::Idle;
                    u.status_since = now;
                }
            }
            match &result {
                Ok(_) => self.observe_run(slot, RunOutcome::Completed, run.started, now, None),
                Err(f) => {
                    let message = f.message();
                    self.observe_run(slot, outcome_of(f), run.started, now, Some(&message));
                }
            }
            self.pool_task_done(task, slot, result, (run.started, now));
            self.done_all(run.joined);
            self.check_stop_done();
            return;
        }
        let duration_ms = nanos_to_ms(now.saturating_sub(run.started));
        let outcome = match result {
            Ok(call) => {
                self.observe_run(slot, RunOutcome::Completed, run.started, now, None);
                if self.run_completed(slot, duration_ms, Some(call)) {
                    self.disable_after_max_runs(slot);
                }
                Ok(())
            }
            Err(failure) => {
                let message = failure.message();
                self.observe_run(slot, outcome_of(&failure), run.started, now, Some(&message));
                self.run_failed(slot, failure, None);
                Err(message)
            }
        };
        self.done_all(run.joined);
        match run.owner {
            Owner::Ticket(ticket) => self.done(ticket),
            Owner::Process(prun) => self.process_worker_done(prun, slot, outcome),
            Owner::Scheduled | Owner::Task(_) => {}
        }
        self.start_queued_manual(slot);
        self.after_run(slot);
        self.check_stop_done();
    }

    /// A worker that has completed `maxRuns` runs is disabled.
    fn disable_after_max_runs(&mut self, slot: Slot) {
        let reached = self.registry.get(slot).is_some_and(|u| match &u.body {
            UnitBody::Worker(c) => c.max_runs.is_some_and(|m| u.meta.run_count >= m),
            UnitBody::Process { .. } => false,
        });
        if reached && self.set_enabled_slot(slot, false) {
            self.emit(Event::Config { unit: slot });
            self.reschedule(slot);
        }
    }
}
