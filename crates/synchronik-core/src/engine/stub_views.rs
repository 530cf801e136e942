//! TEMPORARY stand-ins for the engine's counter methods (the `record`
//! branch writes the real ones). Dropped at
//! integration: the HTTP server compiles and is tested against these
//! signatures until then.

use super::Engine;
use crate::error::EngineError;
use crate::event::TaskId;
use crate::observe::{MetricsSnapshot, Overview};
use crate::unit::UnitKind;

impl Engine {
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
