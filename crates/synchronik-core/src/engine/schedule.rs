//! The scheduler: interval workers, the sweep of idle processes, and the
//! engine's start and graceful stop.
//!
//! Every interval worker has one entry in the engine's timer queue, armed at
//! its next scheduled time, so 10,000 interval workers cost 10,000 heap
//! entries and no thread or task of their own. A fire re-arms the entry one
//! period after the *scheduled* time (not after the fire), so lateness never
//! accumulates into drift. When the clock jumped ahead (a suspended laptop,
//! a JavaScript thread blocked for long) the worker runs once and the next
//! time is the first one of its cadence still in the future: no burst of
//! catch-up runs.
//!
//! Stopping follows "close intake, wait for in-flight, then cancel": `stop`
//! disarms every recurring timer at once, then ends its ticket when the last
//! run settles, or at the deadline aborts what is left with
//! [`EngineError::Stopped`].

use crate::ids::IdMap;

use super::{Engine, Owner, Timer};
use crate::clock::{ms_to_nanos, Nanos};
use crate::error::EngineError;
use crate::event::{AbortReason, CallId, Event, Failure, SkipReason, Ticket};
use crate::registry::UnitBody;
use crate::timer::TimerId;
use crate::unit::{Overlap, Slot, Status, UnitKind};

/// One interval worker's place in the schedule.
#[derive(Debug)]
pub(super) struct Interval {
    timer: TimerId,
    /// The scheduled time the timer is armed for.
    at: Nanos,
    period: Nanos,
    /// A fire came while a run was in flight and the policy is `queue`.
    queued: bool,
}

#[derive(Debug)]
pub(super) struct StopState {
    tickets: Vec<Ticket>,
    deadline: Option<TimerId>,
    /// Runs the stop does not wait for: the run that called it (from inside
    /// its `run`) and the process runs that run belongs to.
    exempt_runs: Vec<u64>,
    exempt_processes: Vec<u64>,
}

/// How to stop (see [`Engine::stop_with`]).
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

/// The scheduler's part of the engine.
#[derive(Debug, Default)]
pub(super) struct SchedulerState {
    pub(super) started: bool,
    intervals: IdMap<Slot, Interval>,
    sweep: Option<(TimerId, Nanos)>,
    stats: Option<(TimerId, Nanos)>,
    stop: Option<StopState>,
    /// Set while a stop past its deadline aborts what is left: nothing new
    /// may start then.
    pub(super) forced: bool,
}

impl Engine {
    /// Starts the scheduler and the watcher. Idempotent.
    pub fn start(&mut self) {
        if self.sched.started {
            return;
        }
        self.sched.started = true;
        let now = self.clock.now();
        let at = now.saturating_add(ms_to_nanos(self.options.loop_interval_ms));
        let timer = self.arm(at, Timer::Sweep);
        self.sched.sweep = Some((timer, at));
        let slots: Vec<Slot> = self.registry.ordered().collect();
        for slot in slots {
            self.reschedule(slot);
        }
        self.start_watch();
        self.pools_set_started(true);
        if let Some(ms) = self.options.stats_interval_ms.filter(|ms| *ms > 0.0) {
            let at = now.saturating_add(ms_to_nanos(ms));
            let timer = self.arm(at, Timer::Stats);
            self.sched.stats = Some((timer, at));
        }
    }

    pub(super) fn fire_stats(&mut self) {
        let now = self.clock.now();
        let period = ms_to_nanos(self.options.stats_interval_ms.unwrap_or(1000.0)).max(1);
        if let Some((_, at)) = self.sched.stats {
            let next = Self::next_after(at, period, now);
            let timer = self.arm(next, Timer::Stats);
            self.sched.stats = Some((timer, next));
        }
        self.emit(Event::StatsDue);
    }

    /// Whether the scheduler is started.
    pub fn is_started(&self) -> bool {
        self.sched.started
    }

    /// Number of interval workers with a scheduled time.
    pub fn scheduled(&self) -> usize {
        self.sched.intervals.len()
    }

    /// The period of a worker that the scheduler should run, if any.
    fn interval_period(&self, slot: Slot) -> Option<Nanos> {
        let unit = self.registry.get(slot)?;
        let config = unit.worker()?;
        let ms = config.interval_ms?;
        (self.sched.started && unit.enabled && config.run_on_interval && ms > 0.0)
            .then(|| ms_to_nanos(ms).max(1))
    }

    /// Brings a unit's place in the schedule in line with its settings. A
    /// new period applies from the time already scheduled on.
    pub(super) fn reschedule(&mut self, slot: Slot) {
        match self.interval_period(slot) {
            None => self.unschedule(slot),
            Some(period) => {
                if let Some(entry) = self.sched.intervals.get_mut(&slot) {
                    entry.period = period;
                    return;
                }
                let at = self.clock.now().saturating_add(period);
                let timer = self.arm(at, Timer::Interval(slot));
                self.sched.intervals.insert(
                    slot,
                    Interval {
                        timer,
                        at,
                        period,
                        queued: false,
                    },
                );
            }
        }
    }

    pub(super) fn unschedule(&mut self, slot: Slot) {
        if let Some(entry) = self.sched.intervals.remove(&slot) {
            self.timers.cancel(entry.timer);
        }
    }

    /// The first time of the cadence `at + k·period` that is after `now`.
    fn next_after(at: Nanos, period: Nanos, now: Nanos) -> Nanos {
        let next = at.saturating_add(period);
        if next > now {
            next
        } else {
            let behind = (now - at) / period + 1;
            at.saturating_add(behind.saturating_mul(period))
        }
    }

    pub(super) fn fire_interval(&mut self, slot: Slot) {
        let now = self.clock.now();
        let Some(entry) = self.sched.intervals.get_mut(&slot) else {
            return;
        };
        let next = Self::next_after(entry.at, entry.period, now);
        entry.at = next;
        entry.timer = self.timers.arm(next, Timer::Interval(slot));
        self.note_deadline(next);
        let Some(unit) = self.registry.get(slot) else {
            return;
        };
        if unit.status == Status::Paused {
            return;
        }
        let overlap = unit.worker().map_or(Overlap::Skip, |c| c.overlap);
        if unit.active_runs > 0 {
            match overlap {
                Overlap::Skip => {
                    self.emit(Event::Skipped {
                        unit: slot,
                        reason: SkipReason::Overlap,
                    });
                    return;
                }
                Overlap::Queue => {
                    if let Some(entry) = self.sched.intervals.get_mut(&slot) {
                        entry.queued = true;
                    }
                    return;
                }
                Overlap::Allow => {}
            }
        }
        self.start_worker_run(slot, Owner::Scheduled);
    }

    /// A run of the unit ended (whoever started it): once none is left in
    /// flight, start the run an overlap 'queue' fire left, if any.
    pub(super) fn after_run(&mut self, slot: Slot) {
        let idle = self.registry.get(slot).is_some_and(|u| u.active_runs == 0);
        if !idle || !self.sched.started {
            return;
        }
        let queued = self
            .sched
            .intervals
            .get_mut(&slot)
            .is_some_and(|e| std::mem::take(&mut e.queued));
        if queued {
            self.start_worker_run(slot, Owner::Scheduled);
        }
    }

    pub(super) fn fire_sweep(&mut self) {
        let now = self.clock.now();
        let period = ms_to_nanos(self.options.loop_interval_ms).max(1);
        if let Some((_, at)) = self.sched.sweep {
            let next = Self::next_after(at, period, now);
            let timer = self.arm(next, Timer::Sweep);
            self.sched.sweep = Some((timer, next));
        }
        self.sweep_processes();
    }

    /// Runs every idle, enabled process that is not running. Returns the
    /// tickets of the runs it started.
    fn sweep_processes(&mut self) -> Vec<Ticket> {
        let due: Vec<Slot> = self
            .registry
            .ordered()
            .filter(|s| {
                self.registry.get(*s).is_some_and(|u| {
                    u.kind() == UnitKind::Process
                        && u.enabled
                        && u.status == Status::Idle
                        && u.active_runs == 0
                })
            })
            .collect();
        let mut tickets = Vec::with_capacity(due.len());
        for slot in due {
            let ticket = self.fresh_id();
            if self.start_process_run(slot, ticket) {
                tickets.push(ticket);
            }
        }
        tickets
    }

    /// One sweep now (`runLoopOnce`): every interval worker that is due
    /// (never ran, or last ran at least one interval ago) and not running,
    /// and every idle enabled process. Returns the tickets of what started.
    pub fn run_loop_once(&mut self) -> Vec<Ticket> {
        let now = self.clock.now();
        let due: Vec<Slot> = self
            .registry
            .ordered()
            .filter(|s| {
                self.registry.get(*s).is_some_and(|u| match &u.body {
                    UnitBody::Worker(c) => {
                        let interval = c.interval_ms.filter(|ms| *ms > 0.0);
                        c.run_on_interval
                            && u.enabled
                            && u.status != Status::Paused
                            && u.active_runs == 0
                            && interval.is_some_and(|ms| {
                                u.last_run_at
                                    .is_none_or(|t| now.saturating_sub(t) >= ms_to_nanos(ms))
                            })
                    }
                    UnitBody::Process { .. } => false,
                })
            })
            .collect();
        let mut tickets = Vec::new();
        for slot in due {
            let ticket = self.fresh_id();
            if self.start_worker_run(slot, Owner::Ticket(ticket)) {
                tickets.push(ticket);
            }
        }
        tickets.extend(self.sweep_processes());
        tickets
    }

    /// Stops scheduling at once and returns a ticket that ends when every
    /// run in flight has settled. With a `timeout_ms`, what is still running
    /// then is aborted and fails with [`EngineError::Stopped`].
    pub fn stop(&mut self, timeout_ms: Option<f64>) -> Ticket {
        self.stop_with(StopOptions {
            timeout_ms,
            ..StopOptions::default()
        })
    }

    /// [`Engine::stop`] with every option. Queued pool tasks that live in
    /// memory only (not stored) are dropped at once: nothing would run them
    /// once this process ends, so their owners learn it now
    /// ([`TaskOutcome::Dropped`](crate::TaskOutcome::Dropped)); stored tasks
    /// stay queued for the next start or the next process.
    pub fn stop_with(&mut self, options: StopOptions) -> Ticket {
        let StopOptions {
            timeout_ms,
            closing,
            caller,
        } = options;
        let ticket = self.fresh_id();
        self.sched.started = false;
        for (timer, _) in [self.sched.sweep.take(), self.sched.stats.take()]
            .into_iter()
            .flatten()
        {
            self.timers.cancel(timer);
        }
        let slots: Vec<Slot> = self.sched.intervals.keys().copied().collect();
        for slot in slots {
            self.unschedule(slot);
        }
        self.stop_watch();
        self.pools_set_started(false);
        self.pools_drop_queued(closing);
        let (exempt_run, exempt_process) = match caller.and_then(|c| self.calls.get(&c)) {
            Some(run) => (
                Some(*run),
                self.runs.get(run).and_then(|r| match r.owner {
                    Owner::Process(p) => Some(p),
                    _ => None,
                }),
            ),
            None => (None, None),
        };
        let stop = self.sched.stop.get_or_insert(StopState {
            tickets: Vec::new(),
            deadline: None,
            exempt_runs: Vec::new(),
            exempt_processes: Vec::new(),
        });
        stop.tickets.push(ticket);
        stop.exempt_runs.extend(exempt_run);
        stop.exempt_processes.extend(exempt_process);
        if let Some(ms) = timeout_ms {
            let at = self.clock.now().saturating_add(ms_to_nanos(ms));
            if let Some(old) = self.sched.stop.as_mut().and_then(|s| s.deadline.take()) {
                self.timers.cancel(old);
            }
            let timer = self.arm(at, Timer::StopDeadline);
            if let Some(stop) = self.sched.stop.as_mut() {
                stop.deadline = Some(timer);
            }
            if ms <= 0.0 {
                self.force_stop();
            }
        }
        self.check_stop_done();
        ticket
    }

    /// Ends the stop's tickets once nothing is in flight.
    pub(super) fn check_stop_done(&mut self) {
        let Some(stop) = &self.sched.stop else {
            return;
        };
        let exempt = stop
            .exempt_runs
            .iter()
            .filter(|r| self.runs.contains_key(r))
            .count()
            + stop
                .exempt_processes
                .iter()
                .filter(|p| self.processes.contains_key(p))
                .count();
        if self.active_runs() > exempt {
            return;
        }
        if let Some(stop) = self.sched.stop.take() {
            if let Some(t) = stop.deadline {
                self.timers.cancel(t);
            }
            for ticket in stop.tickets {
                self.emit(Event::Done {
                    ticket,
                    error: None,
                });
            }
        }
    }

    /// The stop's deadline passed: aborts every run still in flight.
    pub(super) fn force_stop(&mut self) {
        self.sched.forced = true;
        // Process runs first, so that aborting their workers cannot make
        // them start the next ones.
        let processes: Vec<u64> = self.processes.keys().copied().collect();
        for id in processes {
            let Some(p) = self.processes.remove(&id) else {
                continue;
            };
            let id_str = self
                .registry
                .get(p.slot)
                .map_or_else(String::new, |u| u.id.clone());
            self.end_process_run(p, EngineError::Stopped { id: id_str });
        }
        let runs: Vec<u64> = self.runs.keys().copied().collect();
        for run in runs {
            let Some(r) = self.runs.get(&run) else {
                continue;
            };
            let slot = r.slot;
            if let Some(call) = r.call {
                self.invoker.abort(call, AbortReason::Stopped);
            }
            let id = self
                .registry
                .get(slot)
                .map_or_else(String::new, |u| u.id.clone());
            self.end_worker_run(run, Err(Failure::Engine(EngineError::Stopped { id })));
        }
        self.sched.forced = false;
        self.check_stop_done();
    }
}
