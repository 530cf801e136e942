//! Time as the engine sees it.
//!
//! Every deadline the engine keeps (retry delays, attempt timeouts, isolation
//! delays, and later interval fires and watcher ticks) is computed from a
//! [`Clock`]. Two clocks exist:
//!
//! * [`SystemClock`] follows the machine's monotonic clock;
//! * [`ManualClock`] only moves when told to, so tests (ours and our users')
//!   can step through time deterministically.
//!
//! Times are nanoseconds since the clock was created ([`Nanos`]), which keeps
//! arithmetic in integers and gives sub-millisecond precision to timers. Wall
//! time (for `lastRun`) is derived from the clock too: the wall time at
//! creation plus the clock's elapsed time, so a manual clock yields wall
//! times that advance with it.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// Nanoseconds since the clock's origin.
///
/// 128 bits, so that a time plus any delay a user can give is exact: with
/// 64 bits the sum saturated at about 1.8e13 ms (584 years), where a manual
/// clock advanced by 1e16 ms reached a retry delay of 1e15 ms and the
/// attempt's timeout at the same saturated instant, a false timeout.
pub type Nanos = u128;

/// The latest time a clock can reach, in ms: 1e30 ms (about 3e19 years).
/// A manual clock is not advanced past it. A deadline after it never comes,
/// which is exact: no clock reaches it.
pub const CLOCK_LIMIT_MS: f64 = 1e30;

/// [`CLOCK_LIMIT_MS`] in [`Nanos`].
pub const CLOCK_LIMIT: Nanos = 1_000_000_000_000_000_000_000_000_000_000_000_000;

/// Converts milliseconds (as users give them) into [`Nanos`], saturating at
/// [`Nanos::MAX`] (far beyond [`CLOCK_LIMIT`]: a deadline that never comes).
///
/// Exact: the value the `f64` stands for, times 1,000,000, rounded to the
/// nearest nanosecond. A whole number of milliseconds gives exactly that
/// many million nanoseconds however large it is, so times built from
/// several delays add up exactly (the product `ms * 1e6` in `f64` was
/// rounded to 53 bits: past about 9e9 ms, advancing a manual clock by
/// 1e15 - 1 ms and then by 1 ms fell short of a 1e15 ms deadline). A
/// fraction that `f64` cannot hold exactly (0.3 is 0.29999999999999998…)
/// still gives the nanoseconds it is written with.
pub fn ms_to_nanos(ms: f64) -> Nanos {
    if ms.is_nan() || ms <= 0.0 {
        return 0;
    }
    if ms.is_infinite() {
        return Nanos::MAX;
    }
    // ms = mantissa · 2^exponent exactly.
    let bits = ms.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    // Below 2^73: no overflow.
    let scaled = Nanos::from(mantissa) * 1_000_000;
    if exponent >= 0 {
        let shift = exponent.unsigned_abs();
        if shift >= scaled.leading_zeros() {
            Nanos::MAX
        } else {
            scaled << shift
        }
    } else {
        let shift = exponent.unsigned_abs();
        if shift > 74 {
            // Less than half a nanosecond.
            0
        } else {
            // Rounded to nearest, halves up (scaled + 2^73 fits).
            (scaled + (1 << (shift - 1))) >> shift
        }
    }
}

/// Converts [`Nanos`] into fractional milliseconds.
#[inline]
pub fn nanos_to_ms(n: Nanos) -> f64 {
    nanos_as_f64(n) / 1_000_000.0
}

/// Converts [`Nanos`] into fractional seconds.
#[inline]
pub fn nanos_to_secs(n: Nanos) -> f64 {
    nanos_as_f64(n) / 1e9
}

/// `n` as a double: through `u64` whenever it holds the time (up to 584
/// years), the same value rounded the same way, where converting a `u128`
/// is a call into the compiler's runtime of a few dozen instructions,
/// several times a run.
#[inline]
fn nanos_as_f64(n: Nanos) -> f64 {
    // (The wide case is a function of its own: with the same expression
    // in both arms, the optimizer would make them one, the wide one.)
    match u64::try_from(n) {
        Ok(n) => n as f64,
        Err(_) => wide_as_f64(n),
    }
}

#[cold]
#[inline(never)]
fn wide_as_f64(n: Nanos) -> f64 {
    n as f64
}

/// The source of time for one engine.
pub trait Clock: Send + Sync {
    /// Monotonic time since the clock's origin.
    fn now(&self) -> Nanos;
    /// Wall-clock milliseconds since the Unix epoch at [`Clock::now`].
    fn wall_ms(&self) -> f64;
}

fn system_wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// The machine's monotonic clock.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The [`Instant`] a time of this clock stands for (used to sleep until
    /// it); `None` when no `Instant` is that far (it never comes).
    pub fn instant_at(&self, t: Nanos) -> Option<Instant> {
        let t = u64::try_from(t).ok()?;
        self.origin.checked_add(std::time::Duration::from_nanos(t))
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Nanos {
        self.origin.elapsed().as_nanos()
    }
    fn wall_ms(&self) -> f64 {
        system_wall_ms()
    }
}

/// A clock that moves only through [`ManualClock::set`] (the runtime's
/// `advance` walks it from deadline to deadline).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Nanos>,
    wall_origin_ms: f64,
}

impl ManualClock {
    /// A manual clock at time zero whose wall time starts at the real time now.
    pub fn new() -> Self {
        Self::starting_at(system_wall_ms())
    }

    /// A manual clock at time zero whose wall time starts at `wall_ms`
    /// (milliseconds since the Unix epoch): a test that starts the clock at
    /// a given instant sees every wall time (`lastRun`, history) follow from
    /// that instant instead of the machine's time.
    pub fn starting_at(wall_ms: f64) -> Self {
        Self {
            now: Mutex::new(0),
            wall_origin_ms: wall_ms,
        }
    }

    /// Moves the clock to `t`, at most to [`CLOCK_LIMIT`]. Time never goes
    /// backwards: an earlier `t` is ignored.
    pub fn set(&self, t: Nanos) {
        let mut now = self.now.lock();
        *now = (*now).max(t.min(CLOCK_LIMIT));
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Nanos {
        *self.now.lock()
    }
    fn wall_ms(&self) -> f64 {
        self.wall_origin_ms + nanos_to_ms(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward() {
        let c = ManualClock::new();
        assert_eq!(c.now(), 0);
        c.set(ms_to_nanos(5.0));
        c.set(ms_to_nanos(2.0));
        assert_eq!(c.now(), 5_000_000);
        let w0 = c.wall_ms();
        c.set(ms_to_nanos(15.0));
        assert!((c.wall_ms() - w0 - 10.0).abs() < 1e-6);
    }

    #[test]
    fn a_manual_clock_started_at_an_instant_tells_wall_time_from_it() {
        // 2024-03-01T12:00:00Z
        let start = 1_709_294_400_000.0;
        let c = ManualClock::starting_at(start);
        assert_eq!(c.now(), 0);
        assert_eq!(c.wall_ms(), start);
        c.set(ms_to_nanos(1500.0));
        assert_eq!(c.wall_ms(), start + 1500.0);
        // Before the epoch is an instant like any other.
        let early = ManualClock::starting_at(-86_400_000.0);
        early.set(ms_to_nanos(1000.0));
        assert_eq!(early.wall_ms(), -86_399_000.0);
    }

    #[test]
    fn conversions_through_u64_round_as_from_u128() {
        let edges: [Nanos; 8] = [
            0,
            1,
            (1 << 53) + 1,
            (1 << 63) + 1025,
            u64::MAX as Nanos - 1,
            u64::MAX as Nanos,
            u64::MAX as Nanos + 1,
            CLOCK_LIMIT,
        ];
        for n in edges {
            assert_eq!(
                nanos_to_ms(n).to_bits(),
                (n as f64 / 1_000_000.0).to_bits(),
                "{n}"
            );
            assert_eq!(
                nanos_to_secs(n).to_bits(),
                (n as f64 / 1e9).to_bits(),
                "{n}"
            );
        }
    }

    #[test]
    fn conversions_saturate() {
        assert_eq!(ms_to_nanos(-1.0), 0);
        assert_eq!(ms_to_nanos(f64::NAN), 0);
        assert_eq!(ms_to_nanos(f64::INFINITY), Nanos::MAX);
        assert_eq!(ms_to_nanos(f64::MAX), Nanos::MAX);
        assert_eq!(nanos_to_ms(1_500_000), 1.5);
        let limit = ms_to_nanos(CLOCK_LIMIT_MS);
        assert!(limit.abs_diff(CLOCK_LIMIT) < CLOCK_LIMIT / 1_000_000_000_000);
    }

    #[test]
    fn times_far_past_64_bits_of_nanoseconds_are_exact() {
        let c = ManualClock::new();
        c.set(ms_to_nanos(1e16));
        assert_eq!(c.now(), 10_000_000_000_000_000_000_000);
        let deadline = c.now() + ms_to_nanos(10_000.0);
        assert_eq!(deadline - c.now(), 10_000_000_000);
        assert_eq!(nanos_to_ms(c.now()), 1e16);
    }

    #[test]
    fn whole_milliseconds_are_exact_nanoseconds_and_add_up_exactly() {
        assert_eq!(ms_to_nanos(1e15), 1_000_000_000_000_000_000_000);
        assert_eq!(ms_to_nanos(1e15 - 1.0), 999_999_999_999_999_000_000);
        assert_eq!(
            ms_to_nanos(1e15 - 1.0) + ms_to_nanos(1.0),
            ms_to_nanos(1e15)
        );
        // The largest integers an f64 holds, and beyond.
        let max_safe = 9_007_199_254_740_991u64;
        assert_eq!(
            ms_to_nanos(max_safe as f64),
            Nanos::from(max_safe) * 1_000_000
        );
        assert_eq!(ms_to_nanos(1e20), 100_000_000_000_000_000_000_000_000);
        assert_eq!(ms_to_nanos(2f64.powi(100)), (1u128 << 100) * 1_000_000);
        // Every whole number of ms from 0 to 10,000, and some large ones.
        for k in 0..=10_000u64 {
            assert_eq!(ms_to_nanos(k as f64), Nanos::from(k) * 1_000_000);
            let big = max_safe - k * 1_234_567;
            assert_eq!(ms_to_nanos(big as f64), Nanos::from(big) * 1_000_000);
        }
        // Uneven steps reach a deadline exactly.
        let c = ManualClock::new();
        let deadline = c.now() + ms_to_nanos(1e15);
        c.set(c.now() + ms_to_nanos(1e15 - 1.0));
        assert!(c.now() < deadline);
        c.set(c.now() + ms_to_nanos(1.0));
        assert_eq!(c.now(), deadline);
    }

    #[test]
    fn fractions_of_a_millisecond_give_the_nanoseconds_written() {
        assert_eq!(ms_to_nanos(0.3), 300_000);
        assert_eq!(ms_to_nanos(0.1), 100_000);
        assert_eq!(ms_to_nanos(1.5), 1_500_000);
        assert_eq!(ms_to_nanos(4.35), 4_350_000);
        assert_eq!(ms_to_nanos(0.000_001), 1);
        assert_eq!(ms_to_nanos(0.000_000_4), 0);
        assert_eq!(ms_to_nanos(f64::MIN_POSITIVE), 0);
        assert_eq!(ms_to_nanos(5e-324), 0);
        for k in 0..=100_000u64 {
            // k µs, written as a decimal fraction of a millisecond.
            assert_eq!(
                ms_to_nanos(k as f64 / 1000.0),
                Nanos::from(k) * 1000,
                "{k} µs"
            );
        }
    }

    #[test]
    fn the_manual_clock_stops_at_its_limit() {
        let c = ManualClock::new();
        c.set(Nanos::MAX);
        assert_eq!(c.now(), CLOCK_LIMIT);
        const { assert!(CLOCK_LIMIT < Nanos::MAX / 100) };
    }

    #[test]
    fn instants_too_far_away_are_none() {
        let c = SystemClock::new();
        assert!(c.instant_at(ms_to_nanos(1000.0)).is_some());
        assert!(c.instant_at(ms_to_nanos(1e15)).is_none());
    }
}
