//! Cron schedules (SPEC §14): the next fires of an expression in a time
//! zone, as the core computes them.
//!
//! A free function, so that the facade can answer `manager.nextRuns` and
//! check an expression before registration without an engine. An
//! expression that cannot be read or can never fire is refused with the
//! core's message, which names the option and the field
//! (`schedule.cron: day-of-month 30 never occurs in February …`), behind
//! the stable code `ERR_INVALID_UNIT` in the form every engine error takes
//! (`ERR_…: message`): `fromNative(err, TypeError)` in `lib/errors.js` makes
//! it a `TypeError` with that code.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use synchronik_core::{CronSchedule, ErrorCode, ScheduleError};

/// The most fires one call returns.
const MAX_COUNT: f64 = 1000.0;

/// The next `count` fires (Unix milliseconds, in order) strictly after
/// `afterMs` of the cron expression `expr` in the IANA zone `timezone`
/// (the machine's zone when absent). Fewer than `count` only near the end
/// of year 9999.
#[napi(catch_unwind)]
pub fn cron_next_runs(
    expr: String,
    timezone: Option<String>,
    after_ms: f64,
    count: f64,
) -> Result<Vec<f64>> {
    if !after_ms.is_finite() {
        return Err(Error::new(
            Status::InvalidArg,
            format!("cronNextRuns: afterMs must be a finite number of ms since the Unix epoch (got {after_ms})"),
        ));
    }
    if !(count.fract() == 0.0 && (1.0..=MAX_COUNT).contains(&count)) {
        return Err(Error::new(
            Status::InvalidArg,
            format!("cronNextRuns: count must be an integer from 1 to 1000 (got {count})"),
        ));
    }
    let schedule =
        CronSchedule::parse(&expr, timezone.as_deref()).map_err(|e| schedule_error(&e))?;
    Ok(schedule.next_n(after_ms, count as usize))
}

/// A refused schedule as a JavaScript error: `ERR_INVALID_UNIT: ` and the
/// core's message (a bad schedule makes a unit the engine refuses).
fn schedule_error(e: &ScheduleError) -> Error {
    Error::new(
        Status::InvalidArg,
        format!("{}: {}", ErrorCode::InvalidUnit.as_str(), e),
    )
}
