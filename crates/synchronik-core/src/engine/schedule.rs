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
//! The sweep, the statistics timer and the watcher's scans are recurring
//! timers of the same kind and re-arm by the same rule ([`Engine::recur`]),
//! which also keeps a long step of a manual clock from firing them at
//! every time on the way.

use super::state::may_start;
use super::types::{Owner, Timer};
use super::Engine;
use crate::clock::{ms_to_nanos, Nanos};
use crate::event::{Event, SkipReason, Ticket};
use crate::ids::IdMap;
use crate::registry::UnitBody;
use crate::timer::TimerId;
use crate::unit::{Overlap, Slot, Status};

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

/// The scheduler's part of the engine.
#[derive(Debug, Default)]
pub(super) struct SchedulerState {
    pub(super) started: bool,
    intervals: IdMap<Slot, Interval>,
    sweep: Option<Recurring>,
    stats: Option<Recurring>,
}

impl SchedulerState {
    /// When the interval worker in `slot` fires next, if it is scheduled.
    pub(super) fn next_fire(&self, slot: Slot) -> Option<Nanos> {
        self.intervals.get(&slot).map(|e| e.at)
    }

    /// Every scheduled interval worker and its next fire, in no order.
    pub(super) fn next_fires(&self) -> impl Iterator<Item = (Slot, Nanos)> + '_ {
        self.intervals.iter().map(|(slot, e)| (*slot, e.at))
    }
}

/// What a scheduled fire does (see [`Engine::scheduled_fire`]).
pub(super) enum Fire {
    Start,
    Queue,
    None,
}

/// A recurring timer of the engine (the sweep, the statistics, the
/// watcher's scans): where it is armed, and for which time of its cadence.
#[derive(Debug, Clone, Copy)]
pub(super) struct Recurring {
    timer: TimerId,
    at: Nanos,
}

/// A step of the clock that passes more than this many times of a recurring
/// timer is a jump for it (see [`Engine::recur`]).
pub(super) const JUMP_TIMES: Nanos = 10_000;

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

impl Engine {
    /// Starts the scheduler and the watcher. Idempotent.
    pub fn start(&mut self) {
        if self.sched.started {
            return;
        }
        self.sched.started = true;
        // One reading of the clock for the whole start: every worker it
        // schedules is due one interval after the same instant, however
        // long scheduling thousands of them takes.
        self.in_batch(|e| {
            let sweep = ms_to_nanos(e.options.loop_interval_ms);
            e.sched.sweep = Some(e.arm_recurring(sweep, Timer::Sweep));
            let slots: Vec<Slot> = e.registry.ordered().collect();
            e.calendar_starting(|e| {
                for slot in slots {
                    e.reschedule(slot);
                }
            });
            e.start_watch();
            e.pools_set_started(true);
            e.thread_pools_resume();
            if let Some(ms) = e.options.stats_interval_ms.filter(|ms| *ms > 0.0) {
                e.sched.stats = Some(e.arm_recurring(ms_to_nanos(ms), Timer::Stats));
            }
        });
    }

    /// Stops scheduling: the sweep, the statistics and every interval
    /// worker's timer are disarmed (the watcher's too).
    pub(super) fn halt_schedule(&mut self) {
        self.sched.started = false;
        for r in [self.sched.sweep.take(), self.sched.stats.take()]
            .into_iter()
            .flatten()
        {
            self.timers.cancel(r.timer);
        }
        let slots: Vec<Slot> = self.sched.intervals.keys().copied().collect();
        for slot in slots {
            self.unschedule(slot);
        }
        for slot in self.calendar_slots() {
            self.unschedule_calendar(slot);
        }
        self.stop_watch();
    }

    /// Arms a recurring timer one `period` from now.
    pub(super) fn arm_recurring(&mut self, period: Nanos, timer: Timer) -> Recurring {
        let at = self.now().saturating_add(period);
        Recurring {
            timer: self.arm_recurring_at(at, timer, period),
            at,
        }
    }

    /// A recurring timer came due (`due`): re-arms it by the one rule of
    /// every recurring timer, and says whether it fires now.
    ///
    /// It fires, and comes again at the next time of its cadence: one
    /// `period` after the time it was due (not after the fire, so lateness
    /// never drifts it), or, when that time has passed too (it fires late:
    /// the clock jumped ahead, JavaScript was blocked), the first time of
    /// its cadence still to come — it fires once for every time it missed.
    ///
    /// A driver that moves the clock step by step toward a later time (a
    /// manual clock's `advance`, see [`Engine::fire_due_toward`]) would
    /// otherwise fire it at each of its times on the way, a million sweeps
    /// for `advance(1e9)`. A step that passes more than [`JUMP_TIMES`] of
    /// its times is a jump for it: instead of firing now it is moved to the
    /// end of the step, where it fires once, late, as after a jump.
    pub(super) fn recur(
        &mut self,
        due: Recurring,
        period: Nanos,
        timer: Timer,
    ) -> (Recurring, bool) {
        let period = period.max(1);
        let now = self.now();
        if let Some(end) = self.horizon.filter(|end| *end > now) {
            if end.saturating_sub(due.at) / period >= JUMP_TIMES {
                let postponed = Recurring {
                    timer: self.arm_recurring_at(end, timer, period),
                    at: due.at,
                };
                return (postponed, false);
            }
        }
        let at = next_after(due.at, period, now);
        let next = Recurring {
            timer: self.arm_recurring_at(at, timer, period),
            at,
        };
        (next, true)
    }

    /// Disarms a recurring timer.
    pub(super) fn disarm_recurring(&mut self, r: Option<Recurring>) {
        if let Some(r) = r {
            self.timers.cancel(r.timer);
        }
    }

    pub(super) fn fire_stats(&mut self) {
        let period = ms_to_nanos(self.options.stats_interval_ms.unwrap_or(1000.0));
        let Some(due) = self.sched.stats else { return };
        let (next, fire) = self.recur(due, period, Timer::Stats);
        self.sched.stats = Some(next);
        if fire {
            self.emit(Event::StatsDue);
        }
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
        let ms = config.interval_ms()?;
        (self.sched.started && unit.enabled && config.run_on_interval && ms > 0.0)
            .then(|| ms_to_nanos(ms).max(1))
    }

    /// Brings a unit's place in the schedule in line with its settings. A
    /// new period applies from the time already scheduled on.
    pub(super) fn reschedule(&mut self, slot: Slot) {
        self.reschedule_calendar(slot);
        match self.interval_period(slot) {
            None => self.unschedule(slot),
            Some(period) => {
                if let Some(entry) = self.sched.intervals.get_mut(&slot) {
                    entry.period = period;
                    return;
                }
                let Recurring { timer, at } = self.arm_recurring(period, Timer::Interval(slot));
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

    pub(super) fn fire_interval(&mut self, slot: Slot) {
        let Some(entry) = self.sched.intervals.get(&slot) else {
            return;
        };
        let due = Recurring {
            timer: entry.timer,
            at: entry.at,
        };
        let (next, fire) = self.recur(due, entry.period, Timer::Interval(slot));
        if let Some(entry) = self.sched.intervals.get_mut(&slot) {
            (entry.timer, entry.at) = (next.timer, next.at);
        }
        if !fire {
            return;
        }
        self.observe_fire(due.at);
        match self.scheduled_fire(slot) {
            Fire::Start => {
                self.start_worker_run(slot, Owner::Scheduled);
            }
            Fire::Queue => {
                if let Some(entry) = self.sched.intervals.get_mut(&slot) {
                    entry.queued = true;
                }
            }
            Fire::None => {}
        }
    }

    /// What a scheduled fire (an interval's or a calendar's) of the worker
    /// in `slot` does: start a run, queue one (overlap `queue` while a run
    /// is in flight), or nothing (it may not start, or overlap `skip`: a
    /// `skipped` event says so).
    pub(super) fn scheduled_fire(&mut self, slot: Slot) -> Fire {
        let Some(unit) = self.registry.get(slot) else {
            return Fire::None;
        };
        if !may_start(unit, false) || !self.cluster_may_fire(slot) {
            return Fire::None;
        }
        if unit.active_runs > 0 {
            match unit.worker().map_or(Overlap::Skip, |c| c.overlap) {
                Overlap::Skip => {
                    self.emit(Event::Skipped {
                        unit: slot,
                        reason: SkipReason::Overlap,
                    });
                    return Fire::None;
                }
                Overlap::Queue => return Fire::Queue,
                Overlap::Allow => {}
            }
        }
        Fire::Start
    }

    /// A run of the unit ended (whoever started it): once none is left in
    /// flight, start the run an overlap 'queue' fire left, if any.
    pub(super) fn after_run(&mut self, slot: Slot) {
        self.calendar_after_run(slot);
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
        let period = ms_to_nanos(self.options.loop_interval_ms);
        let Some(due) = self.sched.sweep else { return };
        let (next, fire) = self.recur(due, period, Timer::Sweep);
        self.sched.sweep = Some(next);
        if fire {
            self.sweep_processes(true);
        }
    }

    /// Runs every process that may start (not asked for by name: enabled)
    /// and is idle, not running — on its timer (`scheduled`), only the
    /// processes whose schedule this node holds in a cluster. Returns the
    /// tickets of the runs it started.
    fn sweep_processes(&mut self, scheduled: bool) -> Vec<Ticket> {
        // The processes only (not every unit: with 100,000 workers, a scan
        // of all of them each second would cost more than their fires),
        // in registration order.
        let mut due: Vec<Slot> = self
            .registry
            .processes()
            .filter(|s| {
                self.registry.get(*s).is_some_and(|u| {
                    may_start(u, false) && u.status == Status::Idle && u.active_runs == 0
                }) && (!scheduled || self.cluster_may_fire(*s))
            })
            .collect();
        due.sort_by_key(|s| self.registry.place_of(*s));
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
        let now = self.now();
        let due = self.units_where(|u| match &u.body {
            UnitBody::Worker(c) => {
                let interval = c.interval_ms().filter(|ms| *ms > 0.0);
                c.run_on_interval
                    && may_start(u, false)
                    && u.active_runs == 0
                    && interval.is_some_and(|ms| {
                        u.last_run_at()
                            .is_none_or(|t| now.saturating_sub(t) >= ms_to_nanos(ms))
                    })
            }
            UnitBody::Process { .. } => false,
        });
        let mut tickets = Vec::new();
        for slot in due {
            let ticket = self.fresh_id();
            if self.start_worker_run(slot, Owner::Ticket(ticket)) {
                tickets.push(ticket);
            }
        }
        tickets.extend(self.sweep_processes(false));
        tickets
    }
}
