//! Calendar schedules (`schedule` on a worker): what JavaScript passes,
//! into the engine's [`CalendarSpec`], and the engine's calls about them.

use std::cell::RefCell;
use std::collections::HashMap;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use synchronik_core::schedule::{time_zone, AtSchedule, CronSchedule, ScheduleError, TimeZone};
use synchronik_core::{CalendarSpec, CatchUp, When};

use crate::engine::NativeEngine;

/// A worker's `schedule`, as the facade has checked and converted it
/// (instants in Unix ms).
#[napi(object)]
pub struct JsSchedule {
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub at: Option<Vec<f64>>,
    pub start_at_ms: Option<f64>,
    pub stop_at_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    /// A name of `CatchUp`: `none`, `one` or `all`.
    pub catch_up: Option<String>,
    pub catch_up_window_ms: Option<f64>,
}

thread_local! {
    /// Zones looked up so far: many schedules share a few zones.
    static ZONES: RefCell<HashMap<Option<String>, TimeZone>> = RefCell::new(HashMap::new());
}

fn zone(name: Option<&str>) -> std::result::Result<TimeZone, ScheduleError> {
    let key = name.map(str::to_owned);
    if let Some(z) = ZONES.with(|z| z.borrow().get(&key).cloned()) {
        return Ok(z);
    }
    let z = time_zone(name)?;
    ZONES.with(|zones| {
        let mut zones = zones.borrow_mut();
        if zones.len() < 1024 {
            zones.insert(key, z.clone());
        }
    });
    Ok(z)
}

/// The engine's schedule, or the message of what is wrong with it (its
/// field named: `schedule.cron: …`).
pub(crate) fn calendar_spec(s: JsSchedule) -> std::result::Result<CalendarSpec, String> {
    let when = match (s.cron, s.at) {
        (Some(expr), None) => {
            let zone = zone(s.timezone.as_deref()).map_err(|e| e.to_string())?;
            When::Cron(CronSchedule::parse_in(&expr, zone).map_err(|e| e.to_string())?)
        }
        (None, Some(times)) => When::At(AtSchedule::new(times).map_err(|e| e.to_string())?),
        _ => return Err("schedule must have either cron or at".to_owned()),
    };
    let catch_up = match s.catch_up.as_deref() {
        None => CatchUp::None,
        Some(name) => CatchUp::parse(name).ok_or_else(|| {
            format!("schedule.catchUp must be 'none', 'one' or 'all' (got \"{name}\")")
        })?,
    };
    Ok(CalendarSpec {
        when,
        start_at_ms: s.start_at_ms,
        stop_at_ms: s.stop_at_ms,
        jitter_ms: s.jitter_ms.unwrap_or(0.0).max(0.0),
        catch_up,
        catch_up_window_ms: s.catch_up_window_ms.filter(|w| w.is_finite()),
    })
}

/// What is wrong with a schedule (its field named), or `null`: the check
/// the facade makes before registering the worker.
#[napi(catch_unwind)]
pub fn schedule_problem(schedule: JsSchedule) -> Option<String> {
    calendar_spec(schedule).err()
}

/// The next `count` fires of a schedule after `after_ms` (Unix ms), as a
/// schedule on its own (no worker).
#[napi(catch_unwind)]
pub fn schedule_next_runs(schedule: JsSchedule, after_ms: f64, count: u32) -> Result<Vec<f64>> {
    let spec = calendar_spec(schedule).map_err(|m| Error::new(Status::InvalidArg, m))?;
    Ok(spec.next_n(after_ms, count as usize))
}

#[napi]
impl NativeEngine {
    /// The next `count` fire times of worker `id` (Unix ms); null for an
    /// unknown id.
    #[napi(catch_unwind)]
    pub fn next_runs(&self, id: String, count: u32) -> Option<Vec<f64>> {
        self.runtime.with(|e| e.next_runs(&id, count as usize))
    }

    /// Pauses or resumes worker `id`'s schedule; false when it has none.
    #[napi(catch_unwind)]
    pub fn set_schedule_paused(&self, id: String, paused: bool) -> bool {
        self.runtime.with(|e| e.set_schedule_paused(&id, paused))
    }

    /// Whether worker `id`'s schedule is paused.
    #[napi(catch_unwind)]
    pub fn schedule_paused(&self, id: String) -> bool {
        self.runtime.with(|e| e.schedule_paused(&id))
    }
}
