//! Calendar schedules of workers (SPEC §14): cron expressions in a time
//! zone and one-off times, on the engine's timers and clock.
//!
//! A scheduled worker has one timer, armed for its next fire. Fire times
//! are wall-clock instants ([`Clock::wall_ms`](crate::Clock::wall_ms)); the
//! timer is armed on the monotonic clock for the time between now and the
//! fire, and checks the wall clock when it comes due: early (the wall clock
//! was set back) it waits again, late (a suspended machine, a blocked
//! JavaScript thread, a manual clock's jump) it fires once and the next fire
//! is the first one still to come — as for intervals, at most one run.
//!
//! Each fire is remembered as the schedule's last fire (stored with the
//! unit's row when there is a store), so that a start after a stop, or a
//! process after a crash, knows what it missed: `catchUp` decides whether
//! that is nothing, one run, or every missed fire in order, within
//! `catchUpWindowMs`.

use std::collections::VecDeque;

use super::schedule::Fire;
use super::schedule::JUMP_TIMES;
use super::types::{Owner, Timer};
use super::Engine;
use crate::clock::{ms_to_nanos, nanos_to_ms};
use crate::event::Event;
use crate::ids::IdMap;
use crate::names::named_enum;
use crate::schedule::{AtSchedule, CronSchedule};
use crate::timer::TimerId;
use crate::unit::Slot;

/// At most this many missed fires run with `catchUp: 'all'` (the latest).
pub const CATCH_UP_MAX: usize = 10_000;

/// When a calendar schedule fires.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// A cron expression in a time zone.
    Cron(CronSchedule),
    /// One-off times.
    At(AtSchedule),
}

named_enum! {
    /// What a schedule does about the fires it missed while the engine was
    /// stopped (or the process down, with a store).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum CatchUp {
        /// Nothing: the next fire is the first one still to come.
        None = 0 => "none",
        /// One run, whatever the number missed.
        One = 1 => "one",
        /// One run per missed fire, in order, one after another.
        All = 2 => "all",
    }
}

/// A worker's calendar schedule (`schedule` on a worker).
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarSpec {
    /// When it fires.
    pub when: When,
    /// No fire before this instant (Unix ms).
    pub start_at_ms: Option<f64>,
    /// No fire after this instant (Unix ms).
    pub stop_at_ms: Option<f64>,
    /// Each run starts up to this many ms after its fire time (uniformly
    /// drawn), never past the next fire.
    pub jitter_ms: f64,
    /// What it does about the fires it missed.
    pub catch_up: CatchUp,
    /// Only fires missed within this many ms before now are caught up.
    pub catch_up_window_ms: Option<f64>,
}

impl CalendarSpec {
    /// A schedule of `when`, with no bounds, jitter or catch-up.
    pub fn new(when: When) -> Self {
        Self {
            when,
            start_at_ms: None,
            stop_at_ms: None,
            jitter_ms: 0.0,
            catch_up: CatchUp::None,
            catch_up_window_ms: None,
        }
    }

    /// The first fire strictly after `after_ms`, within `startAt` and
    /// `stopAt`.
    pub fn next_after(&self, after_ms: f64) -> Option<f64> {
        let from = match self.start_at_ms {
            // A fire exactly at startAt counts.
            Some(start) if start.next_down() > after_ms => start.next_down(),
            _ => after_ms,
        };
        let next = match &self.when {
            When::Cron(c) => c.next_after(from),
            When::At(a) => a.next_after(from),
        }?;
        match self.stop_at_ms {
            Some(stop) if next > stop => None,
            _ => Some(next),
        }
    }

    /// The next `n` fires after `after_ms`.
    pub fn next_n(&self, after_ms: f64, n: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(n.min(1024));
        let mut at = after_ms;
        while out.len() < n {
            let Some(next) = self.next_after(at) else {
                break;
            };
            out.push(next);
            at = next;
        }
        out
    }
}

/// What a schedule missed, by its `catchUp`.
enum Missed {
    None,
    One,
    /// The missed fires, oldest first (at most [`CATCH_UP_MAX`]).
    All(VecDeque<f64>),
}

/// A scheduled worker's place in the calendar.
#[derive(Debug)]
pub(super) struct Entry {
    timer: TimerId,
    /// The fire time the timer is armed for (Unix ms), before jitter.
    at_ms: f64,
    /// When the timer fires (`at_ms` plus jitter).
    due_ms: f64,
    /// A fire came while a run was in flight and the policy is `queue`.
    queued: bool,
    /// Missed fires still to run (`catchUp: 'all'`), oldest first; each
    /// becomes the last fire when its run starts.
    catch_up: VecDeque<f64>,
}

/// The calendar's part of the scheduler.
#[derive(Debug, Default)]
pub(super) struct CalendarState {
    entries: IdMap<Slot, Entry>,
    /// The last fire of each schedule (Unix ms), kept across stops.
    last_fire: IdMap<Slot, f64>,
    /// Schedules paused by `pauseSchedule`.
    paused: IdMap<Slot, ()>,
    /// Set while the engine starts (again): schedules armed now catch up
    /// what they missed while it was stopped.
    starting: bool,
}

impl CalendarState {
    /// When the worker in `slot` fires next, if it is scheduled (Unix ms).
    pub(super) fn next_fire_ms(&self, slot: Slot) -> Option<f64> {
        self.entries.get(&slot).map(|e| e.at_ms)
    }

    /// The slots on the calendar now.
    fn slots(&self) -> Vec<Slot> {
        self.entries.keys().copied().collect()
    }

    /// The last fire of the worker in `slot` (Unix ms).
    pub(super) fn last_fire_ms(&self, slot: Slot) -> Option<f64> {
        self.last_fire.get(&slot).copied()
    }
}

/// A uniform draw in `[0, bound)` (0 for no room).
fn jitter(bound: f64) -> f64 {
    if bound > 0.0 && bound.is_finite() {
        fastrand::f64() * bound
    } else {
        0.0
    }
}

impl Engine {
    /// The slots on the calendar now.
    pub(super) fn calendar_slots(&self) -> Vec<Slot> {
        self.calendar.slots()
    }

    /// When the worker in `slot` fires next on the calendar, on the
    /// monotonic clock (as intervals' fires are shown).
    pub(super) fn calendar_next_fire(&self, slot: Slot) -> Option<crate::clock::Nanos> {
        let at_ms = self.calendar.next_fire_ms(slot)?;
        let wait = (at_ms - self.wall_now_ms()).max(0.0);
        Some(self.now().saturating_add(ms_to_nanos(wait)))
    }

    /// The calendar schedule of the worker in `slot`, if it has one.
    fn calendar_spec(&self, slot: Slot) -> Option<&CalendarSpec> {
        self.registry.get(slot)?.worker()?.schedule()
    }

    /// Whether the worker in `slot` should be on the calendar now.
    fn calendar_due(&self, slot: Slot) -> bool {
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        self.sched.started
            && unit.enabled
            && unit.worker().is_some_and(|c| c.schedule().is_some())
            && !self.calendar.paused.contains_key(&slot)
    }

    /// Brings a worker's place on the calendar in line with its settings
    /// (see [`Engine::reschedule`]); one already armed stays as it is.
    ///
    /// A schedule armed while the engine starts (again), or restored from
    /// a store, catches up the fires it missed since its last fire as its
    /// `catchUp` says. Armed for another reason (enabled again, resumed,
    /// changed), it starts afresh: what passed meanwhile is not missed.
    pub(super) fn reschedule_calendar(&mut self, slot: Slot) {
        if !self.calendar_due(slot) {
            if !self.calendar.entries.is_empty() {
                self.unschedule_calendar(slot);
            }
            return;
        }
        if self.calendar.entries.contains_key(&slot) {
            return;
        }
        let now_ms = self.wall_now_ms();
        let missed = if self.calendar.starting {
            self.calendar_missed(slot, now_ms)
        } else {
            Missed::None
        };
        let mut chain = VecDeque::new();
        let run_now = match missed {
            Missed::None => false,
            Missed::One => true,
            Missed::All(mut fires) => {
                let first = fires.pop_front();
                if let Some(first) = first {
                    self.calendar_set_last_fire(slot, first);
                }
                chain = fires;
                first.is_some()
            }
        };
        if chain.is_empty() {
            // Scheduled from now: a stop from here on misses what comes
            // after now (the first arming counts as the start).
            self.calendar_set_last_fire(slot, now_ms);
        }
        self.calendar_arm(slot, now_ms, chain);
        if run_now {
            self.calendar_run(slot);
        }
    }

    /// The schedule's last fire is `ms` (stored with the unit); it never
    /// moves back.
    fn calendar_set_last_fire(&mut self, slot: Slot, ms: f64) {
        let last = self.calendar.last_fire.entry(slot).or_insert(ms);
        if *last < ms {
            *last = ms;
        }
        self.store_touch(slot);
    }

    /// What the fires missed since the schedule's last fire call for (its
    /// `catchUp`), as of `now_ms`.
    fn calendar_missed(&self, slot: Slot, now_ms: f64) -> Missed {
        let (Some(spec), Some(last)) = (self.calendar_spec(slot), self.calendar.last_fire_ms(slot))
        else {
            return Missed::None;
        };
        let from = match spec.catch_up_window_ms {
            Some(w) => last.max(now_ms - w),
            None => last,
        };
        let first = spec.next_after(from).filter(|t| *t <= now_ms);
        match (spec.catch_up, first) {
            (CatchUp::None, _) | (_, None) => Missed::None,
            (CatchUp::One, Some(_)) => Missed::One,
            (CatchUp::All, Some(first)) => {
                let mut fires = VecDeque::from([first]);
                let mut at = first;
                while fires.len() < CATCH_UP_MAX {
                    let Some(next) = spec.next_after(at).filter(|t| *t <= now_ms) else {
                        break;
                    };
                    fires.push_back(next);
                    at = next;
                }
                Missed::All(fires)
            }
        }
    }

    /// Arms the worker's timer for its first fire after `after_ms`; none
    /// left (an `at` list done, past `stopAt`) leaves it off the calendar.
    fn calendar_arm(&mut self, slot: Slot, after_ms: f64, catch_up: VecDeque<f64>) {
        let Some(spec) = self.calendar_spec(slot) else {
            return;
        };
        let Some(at_ms) = spec.next_after(after_ms) else {
            self.unschedule_calendar(slot);
            return;
        };
        // Jitter stays before the fire after this one.
        let room = spec
            .next_after(at_ms)
            .map_or(spec.jitter_ms, |n| spec.jitter_ms.min(n - at_ms));
        let due_ms = at_ms + jitter(room);
        let timer = self.calendar_timer(slot, due_ms);
        if let Some(old) = self.calendar.entries.insert(
            slot,
            Entry {
                timer,
                at_ms,
                due_ms,
                queued: false,
                catch_up,
            },
        ) {
            self.timers.cancel(old.timer);
        }
    }

    /// A timer on the monotonic clock for wall-clock instant `due_ms`.
    fn calendar_timer(&mut self, slot: Slot, due_ms: f64) -> TimerId {
        let wait = (due_ms - self.wall_now_ms()).max(0.0);
        let at = self.now().saturating_add(ms_to_nanos(wait));
        self.arm(at, Timer::Calendar(slot))
    }

    /// Takes the worker off the calendar (its last fire is kept).
    pub(super) fn unschedule_calendar(&mut self, slot: Slot) {
        if let Some(e) = self.calendar.entries.remove(&slot) {
            self.timers.cancel(e.timer);
        }
    }

    /// The worker in `slot` was released: it leaves no trace here.
    pub(super) fn calendar_forget(&mut self, slot: Slot) {
        self.unschedule_calendar(slot);
        self.calendar.last_fire.remove(&slot);
        self.calendar.paused.remove(&slot);
    }

    /// The timer of the worker in `slot` came due.
    pub(super) fn fire_calendar(&mut self, slot: Slot) {
        let Some(entry) = self.calendar.entries.get(&slot) else {
            return;
        };
        let (at_ms, due_ms) = (entry.at_ms, entry.due_ms);
        let now_ms = self.wall_now_ms();
        if now_ms < due_ms {
            // The wall clock was set back since it was armed: wait again.
            let timer = self.calendar_timer(slot, due_ms);
            if let Some(e) = self.calendar.entries.get_mut(&slot) {
                e.timer = timer;
            }
            return;
        }
        if self.calendar_jumped(slot, at_ms, now_ms) {
            return;
        }
        self.calendar_set_last_fire(slot, at_ms);
        let late = ms_to_nanos(now_ms - due_ms);
        self.observe_fire(self.now().saturating_sub(late));
        // The next fire is the first one still to come: a late timer (a
        // jump of the clock) fires once, not once per fire it passed.
        let (chain, queued) = self
            .calendar
            .entries
            .get_mut(&slot)
            .map(|e| (std::mem::take(&mut e.catch_up), e.queued))
            .unwrap_or_default();
        self.calendar_arm(slot, now_ms.max(at_ms), chain);
        if queued {
            if let Some(e) = self.calendar.entries.get_mut(&slot) {
                e.queued = true;
            }
        }
        self.calendar_run(slot);
    }

    /// A driver moving the clock step by step toward a later time (a
    /// manual clock's `advance`) would fire the schedule at each of its
    /// times on the way. As for intervals ([`Engine::recur`]), a step that
    /// passes more than [`JUMP_TIMES`] of them is a jump: the fire moves to
    /// the end of the step, where it fires once, late. True when it moved.
    fn calendar_jumped(&mut self, slot: Slot, at_ms: f64, now_ms: f64) -> bool {
        let now = self.now();
        let Some(end) = self.horizon.filter(|end| *end > now) else {
            return false;
        };
        let Some(spec) = self.calendar_spec(slot) else {
            return false;
        };
        let end_ms = now_ms + nanos_to_ms(end - now);
        let mut passed = 0;
        let mut t = at_ms;
        while passed < JUMP_TIMES {
            match spec.next_after(t) {
                Some(next) if next <= end_ms => {
                    passed += 1;
                    t = next;
                }
                _ => return false,
            }
        }
        let timer = self.arm(end, Timer::Calendar(slot));
        // (Its timer has fired: the new one takes its place.)
        if let Some(e) = self.calendar.entries.get_mut(&slot) {
            e.timer = timer;
        }
        true
    }

    /// A fire: starts a run of the worker, as its overlap policy allows.
    fn calendar_run(&mut self, slot: Slot) {
        match self.scheduled_fire(slot) {
            Fire::Start => {
                self.start_worker_run(slot, Owner::Scheduled);
            }
            Fire::Queue => {
                if let Some(e) = self.calendar.entries.get_mut(&slot) {
                    e.queued = true;
                }
            }
            Fire::None => {}
        }
    }

    /// A run of the worker ended: once none is in flight, start what waits
    /// (a fire its overlap policy queued, a missed fire to catch up).
    pub(super) fn calendar_after_run(&mut self, slot: Slot) {
        // The common case (no calendar schedules) costs one check.
        if self.calendar.entries.is_empty() {
            return;
        }
        let idle = self.registry.get(slot).is_some_and(|u| u.active_runs == 0);
        if !idle || !self.sched.started {
            return;
        }
        let Some(e) = self.calendar.entries.get_mut(&slot) else {
            return;
        };
        if std::mem::take(&mut e.queued) {
            self.start_worker_run(slot, Owner::Scheduled);
        } else if let Some(fire) = e.catch_up.pop_front() {
            let done = e.catch_up.is_empty();
            self.calendar_set_last_fire(slot, fire);
            if done {
                // Every missed fire has run (or the rest was past the cap).
                let now_ms = self.wall_now_ms();
                self.calendar_set_last_fire(slot, now_ms);
            }
            self.start_worker_run(slot, Owner::Scheduled);
        }
    }

    /// The next `count` fire times of worker `id` (Unix ms), from now: its
    /// schedule's, or its interval's while it is scheduled. `None` for an
    /// unknown id.
    pub fn next_runs(&self, id: &str, count: usize) -> Option<Vec<f64>> {
        let slot = self.registry.slot_of(id)?;
        let unit = self.registry.get(slot)?;
        let Some(config) = unit.worker() else {
            return Some(Vec::new());
        };
        let now_ms = self.wall_now_ms();
        if let Some(spec) = config.schedule() {
            return Some(spec.next_n(now_ms, count));
        }
        let Some(at) = self.sched.next_fire(slot) else {
            return Some(Vec::new());
        };
        let period = config.interval_ms().unwrap_or(0.0).max(0.0);
        let first = now_ms + crate::clock::nanos_to_ms(at.saturating_sub(self.now()));
        Some(
            (0..count)
                .map(|k| first + period * k as f64)
                .take(if period > 0.0 { count } else { 1 })
                .collect(),
        )
    }

    /// Pauses or resumes the calendar schedule of worker `id`. A paused
    /// schedule does not fire; resumed, it fires next at its first time
    /// still to come (the fires it passed while paused are not caught
    /// up). False for an unknown id or a unit without a schedule.
    pub fn set_schedule_paused(&mut self, id: &str, paused: bool) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        if self.calendar_spec(slot).is_none() {
            return false;
        }
        if paused {
            self.calendar.paused.insert(slot, ());
            self.unschedule_calendar(slot);
        } else if self.calendar.paused.remove(&slot).is_some() {
            // Resumed: what passed while paused is not missed (armed
            // outside a start, it starts afresh).
            self.reschedule_calendar(slot);
        }
        self.emit(Event::Config { unit: slot });
        true
    }

    /// Whether the schedule of the worker in `slot` is paused.
    pub fn schedule_paused(&self, id: &str) -> bool {
        self.registry
            .slot_of(id)
            .is_some_and(|s| self.calendar.paused.contains_key(&s))
    }

    /// The worker's schedule changed (`updateWorkerConfig`): it applies
    /// from the next fire, counted from now.
    pub(super) fn calendar_changed(&mut self, slot: Slot) {
        self.unschedule_calendar(slot);
        if self.calendar_spec(slot).is_none() {
            self.calendar.paused.remove(&slot);
            return;
        }
        // Armed outside a start: what the old schedule missed is not the
        // new one's.
        self.reschedule_calendar(slot);
    }

    /// A stored last fire of the worker in `slot` (from a store, after a
    /// restart): the fires missed since then are caught up now if its
    /// `catchUp` says so.
    pub(super) fn calendar_restore_last_fire(&mut self, slot: Slot, last_ms: f64) {
        // The stored one is the schedule's history (one set when it was
        // armed at registration is not).
        self.calendar.last_fire.insert(slot, last_ms);
        if self.calendar.entries.contains_key(&slot) {
            // Armed already (registered while started): catch up now.
            self.unschedule_calendar(slot);
            let starting = std::mem::replace(&mut self.calendar.starting, true);
            self.reschedule_calendar(slot);
            self.calendar.starting = starting;
        }
    }

    /// The engine starts (again): schedules armed in `f` catch up.
    pub(super) fn calendar_starting<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.calendar.starting = true;
        let r = f(self);
        self.calendar.starting = false;
        r
    }
}
