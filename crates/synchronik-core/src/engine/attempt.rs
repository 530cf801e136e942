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
use crate::event::{
    AbortReason, CallId, Event, Failure, Invocation, RunStart, Ticket, UpdateReason,
};
use crate::ids::IdRing;
use crate::registry::{Unit, UnitBody};
use crate::timer::TimerId;
use crate::unit::{RetryDelay, Slot, Status};

use super::observed::outcome_of;
use super::Outcome;
use crate::observe::RunOutcome;

/// One worker run in flight.
#[derive(Debug)]
pub(super) struct WorkerRun {
    /// The engine's number for the run, in the order runs were made (the
    /// run's [`RunId`] is made from it and the run's place).
    seq: u64,
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

/// The id of the run numbered `seq` kept in place `place`: the place in
/// the low 32 bits, a tag made from the number above them (never 0, so
/// neither is an id). The id of a run that ended finds nothing once
/// another run has its place, unless about 2³² runs were made in between.
fn run_id(seq: u64, place: usize) -> RunId {
    let tag = seq % 0xFFFF_FFFF + 1;
    (tag << 32) | place as u64
}

/// Places for runs that [`Runs`] keeps once no run is in flight.
const PLACES_KEPT: usize = 1024;

/// The worker runs in flight, by id: a slab whose places are reused, so
/// that keeping, finding and dropping a run is an index rather than a hash
/// table's probe and the move of a run into a bucket; and their attempts in
/// flight by call id ([`IdRing`]: calls mostly end in the order they
/// started).
#[derive(Debug, Default)]
pub(super) struct Runs {
    places: Vec<Option<WorkerRun>>,
    /// Free places below `places.len()` (some may be past it after the
    /// end was cut; they are skipped).
    free: Vec<u32>,
    len: usize,
    calls: IdRing,
}

impl Runs {
    /// Runs in flight, including those waiting for a retry.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Attempts in flight.
    pub(super) fn attempts(&self) -> usize {
        self.calls.len()
    }

    /// Entries the tables have room for.
    pub(super) fn capacity(&self) -> usize {
        self.places.capacity().max(self.calls.capacity())
    }

    fn place(run: RunId) -> usize {
        (run & 0xFFFF_FFFF) as usize
    }

    pub(super) fn contains(&self, run: RunId) -> bool {
        self.get(run).is_some()
    }

    pub(super) fn get(&self, run: RunId) -> Option<&WorkerRun> {
        self.places
            .get(Self::place(run))?
            .as_ref()
            .filter(|r| run_id(r.seq, Self::place(run)) == run)
    }

    pub(super) fn get_mut(&mut self, run: RunId) -> Option<&mut WorkerRun> {
        self.places
            .get_mut(Self::place(run))?
            .as_mut()
            .filter(|r| run_id(r.seq, Self::place(run)) == run)
    }

    /// Keeps a new run; returns its id.
    fn insert(&mut self, run: WorkerRun) -> RunId {
        let seq = run.seq;
        let place = loop {
            match self.free.pop() {
                Some(p) if (p as usize) < self.places.len() => break p as usize,
                Some(_) => {}
                None => {
                    self.places.push(None);
                    break self.places.len() - 1;
                }
            }
        };
        self.places[place] = Some(run);
        self.len += 1;
        run_id(seq, place)
    }

    /// The run attempt `call` belongs to, while the attempt counts.
    pub(super) fn of_call(&self, call: CallId) -> Option<RunId> {
        self.calls.get(call)
    }

    /// The run of attempt `call`, while the attempt counts.
    pub(super) fn by_call(&self, call: CallId) -> Option<&WorkerRun> {
        self.get(self.calls.get(call)?)
    }

    pub(super) fn by_call_mut(&mut self, call: CallId) -> Option<&mut WorkerRun> {
        let run = self.calls.get(call)?;
        self.get_mut(run)
    }

    /// Every run in flight with its id, in no particular order.
    fn entries(&self) -> impl Iterator<Item = (RunId, &WorkerRun)> {
        self.places
            .iter()
            .enumerate()
            .filter_map(|(p, r)| r.as_ref().map(|r| (run_id(r.seq, p), r)))
    }

    /// The ids of the runs that `keep` picks, oldest first.
    fn ids_where(&self, keep: impl Fn(&WorkerRun) -> bool) -> Vec<RunId> {
        let mut picked: Vec<(u64, RunId)> = self
            .entries()
            .filter(|(_, r)| keep(r))
            .map(|(id, r)| (r.seq, id))
            .collect();
        picked.sort_unstable();
        picked.into_iter().map(|(_, id)| id).collect()
    }

    /// Every run in flight, oldest first.
    pub(super) fn ids(&self) -> Vec<RunId> {
        self.ids_where(|_| true)
    }

    /// Every run in flight, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &WorkerRun> {
        self.places.iter().flatten()
    }

    /// The runs of the unit in `slot`, oldest first.
    pub(super) fn of_slot(&self, slot: Slot) -> Vec<RunId> {
        self.ids_where(|r| r.slot == slot)
    }

    /// The runs waiting for a retry, oldest first.
    pub(super) fn waiting_for_retry(&self) -> Vec<RunId> {
        self.ids_where(|r| r.delay.is_some())
    }

    /// The run that reports to `owner`.
    pub(super) fn owned_by(&self, owner: Owner) -> Option<RunId> {
        self.entries()
            .find(|(_, r)| r.owner == owner)
            .map(|(id, _)| id)
    }

    /// The newest run of the unit in `slot` (a worker runs once at a time
    /// unless `overlap: 'allow'` made more).
    pub(super) fn newest_of_mut(&mut self, slot: Slot) -> Option<&mut WorkerRun> {
        self.places
            .iter_mut()
            .flatten()
            .filter(|r| r.slot == slot)
            .max_by_key(|r| r.seq)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut WorkerRun> {
        self.places.iter_mut().flatten()
    }

    /// Takes attempt `call` out: its outcome no longer counts after this.
    fn take_call(&mut self, call: CallId) -> Option<RunId> {
        self.calls.remove(call)
    }

    /// Takes run `run` out, with its attempt in flight.
    fn remove(&mut self, run: RunId) -> Option<WorkerRun> {
        self.get(run)?;
        let place = Self::place(run);
        let r = self.places[place].take()?;
        self.len -= 1;
        if let Some(call) = r.call {
            self.calls.remove(call);
        }
        if self.len == 0 {
            // A burst's room is given back once it is over (what a steady
            // batch of runs needs is kept).
            self.places.clear();
            self.free.clear();
            if self.places.capacity() > 2 * PLACES_KEPT {
                self.places.shrink_to(PLACES_KEPT);
                self.free.shrink_to(PLACES_KEPT);
            }
        } else if place + 1 == self.places.len() {
            // The free places at the end go (the free list skips them).
            while self.places.last().is_some_and(Option::is_none) {
                self.places.pop();
            }
            if self.free.len() > 2 * self.places.len() + 1024 {
                let end = self.places.len();
                self.free.retain(|p| (*p as usize) < end);
            }
            crate::registry::shrink(&mut self.places);
        } else {
            self.free.push(place as u32);
        }
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
            unit.status_since = now.into();
        }
        // Announced with the invocation (begin_attempt): see
        // Invoker::invoke_started.
        let start = wall.and_then(|wall| self.run_start(slot, wall));
        let seq = self.fresh_id();
        let run = self.runs.insert(WorkerRun {
            seq,
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
        });
        self.begin_attempt(run, now, start);
        true
    }

    /// Announces that a run of the unit starts now (`wall` is its
    /// `lastRun`): a process's (a worker's start goes to the invoker with
    /// its first attempt, [`crate::Invoker::invoke_started`]). The three
    /// events go to the sink in one call ([`crate::EventSink::emit_start`]).
    pub(super) fn announce_start(&mut self, slot: Slot, wall: f64) {
        let start = self.run_start(slot, wall);
        self.announce(start);
    }

    /// The sink receives `start`, if any, on its own.
    fn announce(&self, start: Option<RunStart>) {
        if let Some(start) = start {
            self.sink.emit_start(start);
        }
    }

    /// A run of the unit starts now (`wall` is its `lastRun`): its status
    /// becomes running and a store sees the start's events, as it sees
    /// every event; the start to announce to the sink (none when the unit
    /// is gone).
    fn run_start(&mut self, slot: Slot, wall: f64) -> Option<RunStart> {
        let now = self.now();
        let u = self.registry.get_mut(slot)?;
        let start = RunStart {
            unit: slot,
            wall_ms: wall,
            previous: u.change_status(Status::Running, now),
            reason: UpdateReason::StatusChange,
        };
        self.observed.touch();
        if let Some(store) = &self.store {
            for event in start.events() {
                store.on_event(&event, self);
            }
        }
        Some(start)
    }

    /// Starts the next attempt of a run; `now` is the current time. The
    /// first attempt of a worker's run comes with the run's `start`, which
    /// the sink receives right before the invocation.
    fn begin_attempt(&mut self, run_id: RunId, now: Nanos, start: Option<RunStart>) {
        let call = self.fresh_id();
        let Some(run) = self.runs.get(run_id) else {
            return self.announce(start);
        };
        let Some(config) = self.registry.get(run.slot).and_then(Unit::worker) else {
            return self.announce(start);
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
        match start {
            Some(start) => self.invoker.invoke_started(&*self.sink, start, invocation),
            None => self.invoker.invoke(invocation),
        }
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
                let timeout = e.runs.get_mut(run_id).and_then(|r| {
                    // Taken out above: nothing left to drop when the run ends.
                    r.call = None;
                    r.timeout.take()
                });
                if let Some(t) = timeout {
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
            self.begin_attempt(run_id, now, None);
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
            .map(|c| match c.retry_delay() {
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
            self.begin_attempt(run_id, now, None);
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
                    u.status_since = now.into();
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
            UnitBody::Worker(c) => c.max_runs().is_some_and(|m| u.meta().run_count >= m),
            UnitBody::Process { .. } => false,
        });
        if reached && self.set_enabled_slot(slot, false) {
            self.emit(Event::Config { unit: slot });
            self.reschedule(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seq: u64, slot: Slot) -> WorkerRun {
        WorkerRun {
            seq,
            slot,
            owner: Owner::Scheduled,
            attempt: 1,
            call: None,
            started: 0,
            timeout: None,
            delay: None,
            reported_delay_ms: None,
            last_progress: 0,
            stall_reported: false,
            joined: Vec::new(),
        }
    }

    #[test]
    fn a_run_that_ended_is_not_found_in_its_place_taken_again() {
        let mut runs = Runs::default();
        let a = runs.insert(run(1, 10));
        let b = runs.insert(run(2, 11));
        assert_eq!(runs.remove(a).map(|r| r.slot), Some(10));
        let c = runs.insert(run(3, 12));
        // c took a's place: a's id finds nothing, c's finds c.
        assert_eq!(Runs::place(c), Runs::place(a));
        assert!(runs.get(a).is_none() && runs.remove(a).is_none());
        assert_eq!(runs.get(c).map(|r| r.slot), Some(12));
        assert_eq!(runs.get(b).map(|r| r.slot), Some(11));
        assert_eq!(runs.len(), 2);
        // Oldest first, whatever their places.
        assert_eq!(runs.ids(), vec![b, c]);
        assert_eq!(runs.newest_of_mut(12).map(|r| r.seq), Some(3));
    }

    #[test]
    fn places_at_the_end_are_cut_and_a_burst_gives_its_room_back() {
        let mut runs = Runs::default();
        let ids: Vec<RunId> = (1..=5_000).map(|k| runs.insert(run(k, 0))).collect();
        let kept = ids[10];
        // Everything after the kept run leaves, newest first: the places
        // behind it are cut as they free.
        for id in ids[11..].iter().rev() {
            assert!(runs.remove(*id).is_some());
        }
        assert_eq!(runs.places.len(), 11);
        // The first ten leave; new runs take their places, not new ones.
        for id in &ids[..10] {
            assert!(runs.remove(*id).is_some());
        }
        let again: Vec<RunId> = (5_001..5_011).map(|k| runs.insert(run(k, 1))).collect();
        assert_eq!(runs.places.len(), 11);
        assert!(again
            .iter()
            .all(|id| runs.get(*id).is_some_and(|r| r.slot == 1)));
        assert!(ids[..10].iter().all(|id| runs.get(*id).is_none()));
        for id in again.into_iter().chain([kept]) {
            assert!(runs.remove(id).is_some());
        }
        assert_eq!(runs.len(), 0);
        assert!(runs.capacity() <= 1024, "room kept: {}", runs.capacity());
    }
}
