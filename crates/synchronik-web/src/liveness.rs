//! The event loop's state from the liveness cell that JavaScript writes:
//! `[0]` the call id of the `run` on the JavaScript stack (0: none), `[1]`
//! its slot, `[2]` the lag sampler's heartbeat (epoch ms, 0 when no sampler
//! runs), `[3]` total ms the loop was blocked, `[4]` the last sample's lag.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use synchronik_core::Slot;

use crate::EventLoopState;

/// The loop counts as blocked once its heartbeat is older than this.
const BLOCKED_AFTER_MS: f64 = 100.0;

/// One reading of the liveness cell (slots the cell lacks read as 0).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LivenessCell {
    pub call: f64,
    pub slot: f64,
    pub heartbeat_ms: f64,
    pub blocked_ms_total: f64,
    pub lag_ms: f64,
}

impl LivenessCell {
    /// A reading from the cell's numbers (2 or 5 of them; others are 0).
    pub fn from_slice(cell: &[f64]) -> Self {
        let at = |i: usize| {
            cell.get(i)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0)
        };
        Self {
            call: at(0),
            slot: at(1),
            heartbeat_ms: at(2),
            blocked_ms_total: at(3),
            lag_ms: at(4),
        }
    }

    /// The state at `now_ms` (epoch ms); `unit_of` names the unit in a
    /// slot, and `total` keeps the blocked seconds from going back.
    pub fn state(
        &self,
        now_ms: f64,
        unit_of: impl FnOnce(Slot) -> Option<String>,
        total: &BlockedTotal,
    ) -> EventLoopState {
        let since = now_ms - self.heartbeat_ms;
        let blocked = self.heartbeat_ms > 0.0 && since > BLOCKED_AFTER_MS;
        let blocked_for_ms = if blocked { since } else { 0.0 };
        let unit = if blocked && self.call >= 1.0 && self.slot >= 0.0 {
            unit_of(self.slot as Slot)
        } else {
            None
        };
        EventLoopState {
            blocked,
            blocked_for_ms,
            unit,
            lag_ms: self.lag_ms.max(0.0),
            blocked_seconds_total: total
                .report((self.blocked_ms_total.max(0.0) + blocked_for_ms) / 1000.0),
        }
    }
}

/// The blocked seconds last reported: a reading never goes below it (an
/// ongoing block counted before the sampler adds it is not taken back).
#[derive(Debug, Default)]
pub struct BlockedTotal(AtomicU64);

impl BlockedTotal {
    /// The larger of `seconds` and what was reported before; remembered.
    pub fn report(&self, seconds: f64) -> f64 {
        let seconds = if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        };
        let previous = self.0.fetch_max(seconds.to_bits(), Ordering::Relaxed);
        // Non-negative floats order as their bits do.
        f64::from_bits(previous).max(seconds)
    }
}

/// Now, in ms since the Unix epoch (what the heartbeat is written in).
pub fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_heartbeat_is_a_block_named_after_the_running_unit() {
        let cell = LivenessCell::from_slice(&[7.0, 3.0, 1000.0, 50.0, 2.5]);
        let total = BlockedTotal::default();
        let s = cell.state(1250.0, |slot| Some(format!("u{slot}")), &total);
        assert!(s.blocked);
        assert_eq!(s.blocked_for_ms, 250.0);
        assert_eq!(s.unit.as_deref(), Some("u3"));
        assert_eq!(s.lag_ms, 2.5);
        assert_eq!(s.blocked_seconds_total, 0.3);
        // The sampler catches up and counts less than was reported: kept.
        let cell = LivenessCell::from_slice(&[0.0, 0.0, 1290.0, 240.0, 240.0]);
        let s = cell.state(1300.0, |_| None, &total);
        assert!(!s.blocked);
        assert_eq!(s.unit, None);
        assert_eq!(s.blocked_seconds_total, 0.3);
    }

    #[test]
    fn a_cell_of_two_or_without_sampler_is_never_blocked() {
        let total = BlockedTotal::default();
        let s = LivenessCell::from_slice(&[5.0, 1.0]).state(1e12, |_| Some("x".into()), &total);
        assert_eq!(s, EventLoopState::default());
        let s = LivenessCell::from_slice(&[f64::NAN, 1.0, f64::INFINITY, -3.0, -1.0]).state(
            10.0,
            |_| None,
            &total,
        );
        assert_eq!(s, EventLoopState::default());
    }
}
