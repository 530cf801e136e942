//! Calendar schedules (SPEC §14): cron expressions in a time zone and
//! one-off times, and when they fire next.
//!
//! This module only computes fire times; keeping them on the engine's
//! timers, catch-up after downtime, jitter and pausing belong to the
//! engine. Times are Unix milliseconds (`f64`), the engine's wall time
//! ([`Clock::wall_ms`](crate::Clock::wall_ms)), so a manual clock moves
//! schedules as it moves everything else.

mod at;
mod civil;
mod cron;
mod error;

pub use at::AtSchedule;
pub use cron::{time_zone, CronSchedule};
pub use error::ScheduleError;
/// A time zone (the bundled tz database's), as schedules hold it.
pub use jiff::tz::TimeZone;
