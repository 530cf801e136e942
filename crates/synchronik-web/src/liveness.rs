//! The event loop's state from the liveness cell that JavaScript writes:
//! `[0]` the call id of the `run` on the JavaScript stack (0: none), `[1]`
//! its slot, `[2]` the lag sampler's heartbeat (JavaScript's
//! `performance.now()`, 0 when no sampler runs), `[3]` total ms the loop was
//! blocked, `[4]` the last sample's lag.
//!
//! Both sides read monotonic clocks: the heartbeat is compared with
//! JavaScript's `performance.now()` as [`JsClock`] tells it from Rust's
//! [`Instant`], never with the wall clock, which may step (NTP, suspend).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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

    /// The state at `now_ms` (JavaScript's `performance.now()`, see
    /// [`JsClock`]); `unit_of` names the unit in a slot, and `total` keeps
    /// the blocked seconds from going back.
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

/// JavaScript's `performance.now()` (what the heartbeat is written in), as
/// Rust can tell it: a reading of it paired with an [`Instant`] taken at the
/// same moment, plus the time elapsed since on Rust's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct JsClock {
    base_ms: f64,
    at: Instant,
}

impl JsClock {
    /// Pairs `js_now_ms`, JavaScript's `performance.now()` read just now,
    /// with [`Instant::now`] (a number that is not finite reads as 0).
    pub fn paired(js_now_ms: f64) -> Self {
        Self::paired_at(js_now_ms, Instant::now())
    }

    fn paired_at(js_now_ms: f64, at: Instant) -> Self {
        Self {
            base_ms: if js_now_ms.is_finite() {
                js_now_ms
            } else {
                0.0
            },
            at,
        }
    }

    /// JavaScript's `performance.now()` now.
    pub fn now_ms(&self) -> f64 {
        self.at_instant(Instant::now())
    }

    fn at_instant(&self, t: Instant) -> f64 {
        self.base_ms + t.saturating_duration_since(self.at).as_secs_f64() * 1000.0
    }
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
    fn javascript_time_is_the_paired_reading_plus_monotonic_time_elapsed() {
        let t0 = Instant::now();
        let clock = JsClock::paired_at(5_000.0, t0);
        assert_eq!(clock.at_instant(t0), 5_000.0);
        let later = t0 + std::time::Duration::from_millis(250);
        assert!((clock.at_instant(later) - 5_250.0).abs() < 1e-6);
        // Before the pairing (cannot happen, but): no going back.
        assert_eq!(JsClock::paired_at(f64::NAN, later).at_instant(t0), 0.0);
        assert!(JsClock::paired(1.0).now_ms() >= 1.0);
    }

    #[test]
    fn a_fresh_heartbeat_in_performance_now_terms_is_not_a_block() {
        // JavaScript started 1.5 s ago; its sampler just wrote a heartbeat.
        // Read against the wall clock (ms since 1970) this would look like
        // a block of decades.
        let t0 = Instant::now();
        let clock = JsClock::paired_at(1_500.0, t0);
        let at = t0 + std::time::Duration::from_millis(30);
        let cell = LivenessCell::from_slice(&[0.0, 0.0, 1_520.0, 0.0, 0.4]);
        let total = BlockedTotal::default();
        let s = cell.state(clock.at_instant(at), |_| None, &total);
        assert!(!s.blocked, "{s:?}");
        // 200 ms without a heartbeat: blocked, for that long.
        let at = t0 + std::time::Duration::from_millis(220);
        let s = cell.state(clock.at_instant(at), |_| None, &total);
        assert!(s.blocked);
        assert!((s.blocked_for_ms - 200.0).abs() < 1e-6);
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
