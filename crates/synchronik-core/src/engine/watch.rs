//! The watcher: it scans the engine from the timer thread, so it keeps
//! working while JavaScript is blocked.
//!
//! A scan reports runs that made no progress for `stallThresholdMs`, and
//! JavaScript blocked that long inside a user's `run` (read through the
//! host's [`Liveness`](super::Liveness) cell, while the block is still
//! happening); it un-pauses units paused for `autoUnpauseMs` and releases
//! units idle for `releaseIdleAfterMs` (both off unless set). Attempts past
//! their `timeoutMs` need no scan: each has its own deadline in the timer
//! queue, which fires on the same thread.
//!
//! While a stall threshold is set, scans come at least four times per
//! threshold, so a block is seen within 1¼ thresholds of its start.

use super::schedule::Recurring;
use super::types::Timer;
use super::Engine;
use crate::clock::{ms_to_nanos, nanos_to_ms, Nanos};
use crate::event::{CallId, Event, UpdateReason};
use crate::unit::{Slot, Status};

/// The watcher's part of the engine.
#[derive(Debug, Default)]
pub(super) struct WatcherState {
    timer: Option<Recurring>,
    /// The attempt JavaScript was seen executing, and since when.
    js_seen: Option<(CallId, Slot, Nanos)>,
    js_reported: bool,
}

impl Engine {
    fn watch_period(&self) -> Nanos {
        let mut ms = self.options.watcher_interval_ms;
        if let Some(th) = self.options.stall_threshold_ms {
            ms = ms.min(th / 4.0);
        }
        ms_to_nanos(ms).max(1_000_000)
    }

    pub(super) fn start_watch(&mut self) {
        self.watcher.timer = Some(self.arm_recurring(self.watch_period(), Timer::Watch));
    }

    pub(super) fn stop_watch(&mut self) {
        let timer = self.watcher.timer.take();
        self.disarm_recurring(timer);
        self.watcher.js_seen = None;
    }

    pub(super) fn fire_watch(&mut self) {
        let Some(due) = self.watcher.timer else {
            return;
        };
        let (next, fire) = self.recur(due, self.watch_period(), Timer::Watch);
        self.watcher.timer = Some(next);
        if fire {
            self.watcher_scan();
        }
    }

    /// Records a sign of life from the attempt `call` (`ctx.progress`).
    pub fn report_progress(&mut self, call: CallId) {
        let now = self.now();
        if let Some(run) = self.runs.by_call_mut(call) {
            run.last_progress = now;
            run.stall_reported = false;
        }
    }

    /// One scan (`runWatcherScan`).
    pub fn watcher_scan(&mut self) {
        let now = self.now();
        if let Some(th) = self.options.stall_threshold_ms.map(ms_to_nanos) {
            self.scan_stalls(now, th);
            self.scan_event_loop(now, th);
        }
        if let Some(after) = self.options.auto_unpause_ms.map(ms_to_nanos) {
            let due = self.units_where(|u| {
                u.status == Status::Paused && now.saturating_sub(u.status_since.get()) >= after
            });
            for slot in due {
                self.set_status(slot, Status::Idle, UpdateReason::StatusChange);
                self.emit(Event::Unpaused { unit: slot });
                self.pool_worker_changed(slot);
            }
        }
        if let Some(after) = self.options.release_idle_after_ms.map(ms_to_nanos) {
            let due: Vec<(Slot, String, Nanos)> = self
                .registry
                .ordered()
                .filter_map(|s| {
                    let u = self.registry.get(s)?;
                    let idle = now.saturating_sub(u.status_since.get());
                    // Pool workers are the pool's machinery: `resize` removes them.
                    (u.status == Status::Idle
                        && u.active_runs == 0
                        && idle >= after
                        && !self.is_pool_worker(s))
                    .then(|| (s, u.id.to_string(), idle))
                })
                .collect();
            for (slot, id, idle) in due {
                self.emit(Event::IdleRelease {
                    unit: slot,
                    idle_ms: nanos_to_ms(idle),
                });
                self.release(&id);
            }
        }
    }

    fn scan_stalls(&mut self, now: Nanos, threshold: Nanos) {
        let mut stalled = Vec::new();
        for run in self.runs.values_mut() {
            if run.call.is_some()
                && !run.stall_reported
                && now.saturating_sub(run.last_progress) >= threshold
            {
                run.stall_reported = true;
                stalled.push((run.slot, nanos_to_ms(now.saturating_sub(run.started))));
            }
        }
        stalled.sort_by_key(|(slot, _)| *slot);
        for (unit, running_for_ms) in stalled {
            self.emit(Event::Stalled {
                unit,
                running_for_ms,
                event_loop: false,
            });
        }
    }

    fn scan_event_loop(&mut self, now: Nanos, threshold: Nanos) {
        let current = self.liveness.as_ref().and_then(|l| l.current_call());
        match (current, self.watcher.js_seen) {
            (None, _) => {
                self.watcher.js_seen = None;
                self.watcher.js_reported = false;
            }
            (Some((call, _)), Some((seen, slot, since))) if seen == call => {
                let blocked = now.saturating_sub(since);
                if blocked >= threshold && !self.watcher.js_reported {
                    self.watcher.js_reported = true;
                    self.emit(Event::Stalled {
                        unit: slot,
                        running_for_ms: nanos_to_ms(blocked),
                        event_loop: true,
                    });
                }
            }
            (Some((call, slot)), _) => {
                self.watcher.js_seen = Some((call, slot, now));
                self.watcher.js_reported = false;
            }
        }
    }
}
