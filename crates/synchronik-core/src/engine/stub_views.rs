//! TEMPORARY stand-ins for the engine's view and counter methods (the
//! `views` and `record` branches write the real ones). Dropped at
//! integration: the HTTP server compiles and is tested against these
//! signatures until then.

use super::Engine;
use crate::error::EngineError;
use crate::event::TaskId;
use crate::observe::{
    MetricsSnapshot, Overview, PoolView, ProcessView, ScheduleView, UnitDetail, UnitPage,
    UnitQuery, UnitSummary,
};
use crate::registry::Unit;
use crate::unit::{Slot, UnitKind};

fn summary(slot: Slot, u: &Unit) -> UnitSummary {
    UnitSummary {
        slot,
        id: u.id.clone(),
        kind: u.kind(),
        status: u.status,
        enabled: u.enabled,
        process: None,
        pool_worker: false,
        run_count: u.meta.run_count,
        last_duration_ms: u.meta.last_duration_ms,
        average_ms: u.meta.average_ms,
        running_since_ms: None,
        last_error: None,
        next_fire_ms: None,
    }
}

impl Engine {
    pub fn unit_page(&self, q: &UnitQuery) -> UnitPage {
        let matching: Vec<UnitSummary> = self
            .registry
            .ordered()
            .filter_map(|s| self.registry.get(s).map(|u| summary(s, u)))
            .filter(|u| q.status.is_none_or(|s| s == u.status))
            .filter(|u| q.kind.is_none_or(|k| k == u.kind))
            .filter(|u| {
                q.text
                    .as_ref()
                    .is_none_or(|t| u.id.to_lowercase().contains(&t.to_lowercase()))
            })
            .collect();
        let total = matching.len();
        let items: Vec<UnitSummary> = matching
            .into_iter()
            .filter(|u| q.after.is_none_or(|a| u.slot > a))
            .take(q.limit + 1)
            .collect();
        let next = (items.len() > q.limit).then(|| items[q.limit - 1].slot);
        UnitPage {
            items: items.into_iter().take(q.limit).collect(),
            next,
            total,
        }
    }

    pub fn unit_detail(&self, id: &str) -> Option<UnitDetail> {
        let slot = self.registry.slot_of(id)?;
        let u = self.registry.get(slot)?;
        Some(UnitDetail {
            summary: summary(slot, u),
            worker: u.worker().cloned(),
            process: None,
            execution_times_ms: u.meta.execution_times_ms.iter().copied().collect(),
            workers: Vec::new(),
        })
    }

    pub fn process_views(&self) -> Vec<ProcessView> {
        Vec::new()
    }

    pub fn process_view(&self, _id: &str) -> Option<ProcessView> {
        None
    }

    pub fn pool_views(&self, _queue_limit: usize) -> Vec<PoolView> {
        Vec::new()
    }

    pub fn schedule_views(&self) -> Vec<ScheduleView> {
        Vec::new()
    }

    pub fn unit_id_of(&self, slot: Slot) -> Option<&str> {
        self.registry.get(slot).map(|u| u.id.as_str())
    }

    pub fn run_detached(&mut self, id: &str) -> Result<(), EngineError> {
        self.run_unit(id, None);
        Ok(())
    }

    pub fn overview(&self) -> Overview {
        let mut counts = [0u64; 5];
        let mut workers = 0;
        for s in self.registry.ordered() {
            if let Some(u) = self.registry.get(s) {
                counts[u.status as usize] += 1;
                if u.kind() == UnitKind::Worker {
                    workers += 1;
                }
            }
        }
        Overview {
            now_ms: crate::clock::nanos_to_ms(self.clock.now()),
            started: self.is_started(),
            counts,
            workers,
            processes: self.registry.len() - workers,
            totals: Default::default(),
            in_flight: self.in_flight(),
            pool_queued: self.pool_queued(),
            rates: Vec::new(),
            recent_errors: Vec::new(),
            change: self.change_count(),
        }
    }

    pub fn metrics_snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            runs: [[0; 3]; 2],
            unit_runs: Vec::new(),
            duration: Default::default(),
            retries: 0,
            units: self.overview().counts,
            pools: Vec::new(),
            schedule_lag: Default::default(),
            store_pending_writes: 0,
        }
    }

    pub fn set_unit_metrics(&mut self, _on: bool) {}

    /// Moves when a unit's status or enabled flag changes, or units come and go.
    pub fn change_count(&self) -> u64 {
        self.registry
            .ordered()
            .fold(self.registry.len() as u64, |h, s| {
                let u = self
                    .registry
                    .get(s)
                    .map_or(0, |u| u.status as u64 * 2 + u64::from(u.enabled));
                h.wrapping_mul(31).wrapping_add(u + 1)
            })
    }

    pub fn pool_retry_task(&mut self, _task: TaskId) -> Result<TaskId, EngineError> {
        Err(EngineError::Cancelled { id: String::new() })
    }
}
