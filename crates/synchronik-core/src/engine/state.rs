//! A unit's state as calls change it: status, enabled, settings, restored
//! state — and the one rule of who may start a run ([`may_start`]).

use super::types::RestoredState;
use super::Engine;
use crate::event::{Event, UpdateReason};
use crate::registry::{Unit, UnitBody};
use crate::unit::{ConfigPatch, Meta, Slot, Status, UnitKind};

/// Whether a run of `unit` may start. One rule for runs asked for by name,
/// interval fires, `runLoopOnce`, the workers of a process run and the
/// workers of a pool: the unit is enabled and not paused (a released unit
/// is not in the registry at all). A process asked for by name (`by_name`)
/// is the one exception: it runs while disabled (as in 2.3, where
/// pipelines chain disabled processes by hand); the scheduler's sweep only
/// picks enabled ones.
pub(super) fn may_start(unit: &Unit, by_name: bool) -> bool {
    unit.status != Status::Paused && (unit.enabled || (by_name && unit.kind() == UnitKind::Process))
}

impl Engine {
    pub(super) fn set_status(&mut self, slot: Slot, status: Status, reason: UpdateReason) {
        let now = self.now();
        if let Some(u) = self.registry.get_mut(slot) {
            let previous = u.change_status(status, now);
            self.emit(Event::Status {
                unit: slot,
                previous,
                current: status,
                reason,
            });
        }
    }

    /// The status a run ends with (see [`Unit::settle_status`]), announced.
    pub(super) fn settle_status(&mut self, slot: Slot, status: Status) {
        let now = self.now();
        let Some(previous) = self
            .registry
            .get_mut(slot)
            .and_then(|u| u.settle_status(status, now))
        else {
            return;
        };
        self.emit(Event::Status {
            unit: slot,
            previous,
            current: status,
            reason: UpdateReason::StatusChange,
        });
    }

    /// A status set by hand: announced as a status change, and running,
    /// completed and error also the way a run would announce them.
    fn mark_status(&mut self, slot: Slot, status: Status) {
        self.set_status(slot, status, UpdateReason::StatusChange);
        if matches!(status, Status::Running | Status::Completed | Status::Error) {
            self.emit(Event::Marked { unit: slot, status });
        }
    }

    /// Sets a unit's status by hand (`updateStatus`). Setting the status it
    /// already has changes nothing. Unknown ids are ignored.
    pub fn update_status(&mut self, id: &str, status: Status) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        if self.registry.get(slot).is_some_and(|u| u.status != status) {
            self.mark_status(slot, status);
            self.pool_worker_changed(slot);
        }
        true
    }

    /// Sets `enabled`; returns whether it changed (the caller announces it).
    pub(super) fn set_enabled_slot(&mut self, slot: Slot, enabled: bool) -> bool {
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
            unit.set_meta(meta);
        }
        if let Some(ms) = state.last_run_ms {
            unit.started_at_wall(ms);
        }
        self.observed.touch();
        self.reschedule(slot);
        if let Some(ms) = state.last_fire_ms {
            self.calendar_restore_last_fire(slot, ms);
        }
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
        apply_patch(&mut unit.body, patch);
        if patch.schedule.is_some() {
            self.calendar_changed(slot);
        }
        let changed_status = patch
            .status
            .filter(|s| self.registry.get(slot).is_some_and(|u| u.status != *s));
        match changed_status {
            Some(status) => self.mark_status(slot, status),
            None => self.emit(Event::Config { unit: slot }),
        }
        self.reschedule(slot);
        self.pool_worker_changed(slot);
        true
    }

    /// Every paused unit becomes idle (`startAll`).
    pub fn start_all(&mut self) {
        let slots = self.units_where(|u| u.status == Status::Paused);
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
        for slot in self.units_where(|u| u.status != Status::Paused) {
            self.set_status(slot, Status::Paused, UpdateReason::StatusChange);
        }
    }

    /// The units that satisfy `pred`, in registration order.
    pub(super) fn units_where(&self, pred: impl Fn(&Unit) -> bool) -> Vec<Slot> {
        self.registry
            .ordered()
            .filter(|s| self.registry.get(*s).is_some_and(&pred))
            .collect()
    }
}

/// Applies the settings of `patch` that fit the unit's kind.
fn apply_patch(body: &mut UnitBody, patch: &ConfigPatch) {
    fn set<T: Clone>(field: &mut T, value: &Option<T>) {
        if let Some(v) = value {
            field.clone_from(v);
        }
    }
    match body {
        UnitBody::Worker(c) => {
            if let Some(ms) = patch.interval_ms {
                c.set_interval_ms(ms);
            }
            set(&mut c.run_on_interval, &patch.run_on_interval);
            set(&mut c.timeout_ms, &patch.timeout_ms);
            set(&mut c.max_retries, &patch.max_retries);
            set(&mut c.overlap, &patch.overlap);
            if let Some(max_runs) = patch.max_runs {
                c.set_max_runs(max_runs);
            }
            if let Some(retry_delay) = patch.retry_delay {
                c.set_retry_delay(retry_delay);
            }
            if let Some(schedule) = &patch.schedule {
                c.set_schedule(schedule.as_deref().cloned());
            }
        }
        UnitBody::Process { config, .. } => {
            set(&mut config.run_mode, &patch.run_mode);
            set(&mut config.batch_size, &patch.batch_size);
            set(&mut config.isolation_delay_ms, &patch.isolation_delay_ms);
            set(&mut config.concurrency, &patch.concurrency);
        }
    }
}
