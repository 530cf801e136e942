//! Conversions of what JavaScript passes into the engine's types, and of
//! the engine's errors into JavaScript errors.
//!
//! The facade has validated every value against the rules of the engine's
//! vocabulary (`lib/validate.js` applies the generated rules, so users get
//! messages naming their own fields): these conversions only convert. A
//! name outside the vocabulary cannot come through the facade; it is
//! refused as an internal error rather than guessed at. What is not given
//! takes the engine's own default.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use synchronik_core::{
    CommonSpec, ConfigPatch, Dependency, EngineError, Overlap, ProcessConfig, ProcessSpec,
    RetryDelay, RunMode, Status as UnitStatus, WorkerConfig, WorkerSpec,
};

use crate::options::{JsConfigPatch, JsDependency, JsProcessSpec, JsWorkerSpec};

/// Turns an engine error into a JavaScript error whose message starts with
/// the stable code; the facade turns it into a `SynchronikError`.
pub(crate) fn engine_error(e: &EngineError) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{}: {}", e.code().as_str(), e),
    )
}

/// What is wrong with a unit offered for registration, as the engine
/// found it, in a form the facade reads: it names the user's field
/// (`unit.workers[i].dependsOn[k]`) from the positions.
#[napi(object)]
pub struct RegistrationProblem {
    /// The stable code: `ERR_INVALID_UNIT` for a repeated worker id,
    /// `ERR_UNKNOWN_DEPENDENCY` for a dependency on no known unit.
    pub code: String,
    /// The engine's own message.
    pub message: String,
    /// The worker the problem is about (the one that repeats an id, or
    /// the one with the dependency).
    pub worker: String,
    /// That worker's position in its process's workers; absent for a
    /// worker registered on its own.
    pub worker_index: Option<u32>,
    /// The id depended on, for an unknown dependency.
    pub dependency: Option<String>,
    /// Its position in the worker's `dependsOn`, for an unknown dependency.
    pub dependency_index: Option<u32>,
}

/// The problem a registration check found (any other engine error is
/// thrown as [`engine_error`] makes it).
pub(crate) fn registration_problem(e: EngineError) -> Result<RegistrationProblem> {
    let code = e.code().as_str().to_owned();
    let message = e.to_string();
    match e {
        EngineError::DuplicateWorker { worker, index, .. } => Ok(RegistrationProblem {
            code,
            message,
            worker,
            worker_index: Some(index as u32),
            dependency: None,
            dependency_index: None,
        }),
        EngineError::UnknownDependency {
            worker,
            dependency,
            worker_index,
            dependency_index,
            ..
        } => Ok(RegistrationProblem {
            code,
            message,
            worker,
            worker_index: worker_index.map(|i| i as u32),
            dependency: Some(dependency),
            dependency_index: Some(dependency_index as u32),
        }),
        other => Err(engine_error(&other)),
    }
}

/// A name of the vocabulary, parsed; an internal error for any other (the
/// facade passes only the vocabulary's names).
fn parse<T>(what: &str, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(name).ok_or_else(|| {
        Error::new(
            Status::InvalidArg,
            format!("internal error: \"{name}\" is not a {what} of the engine's vocabulary"),
        )
    })
}

/// A unit status as the facade passes it.
pub(crate) fn status(name: &str) -> Result<UnitStatus> {
    parse("status", name, UnitStatus::parse)
}

/// A number passed as an argument, NaN when absent.
pub(crate) fn given(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// A flag passed as an argument (1 or 0), NaN when absent.
pub(crate) fn given_flag(x: f64) -> Option<bool> {
    given(x).map(|x| x != 0.0)
}

/// A count passed as an argument, NaN when absent; converted as the
/// binding converts a JavaScript number to an unsigned 32-bit integer
/// (ECMAScript's ToUint32), the way a spec object's field was.
pub(crate) fn given_u32(x: f64) -> Option<u32> {
    given(x).map(|x| {
        if !x.is_finite() {
            return 0;
        }
        x.trunc().rem_euclid(4_294_967_296.0) as u32
    })
}

fn overlap(name: Option<String>) -> Result<Option<Overlap>> {
    name.map(|n| parse("overlap policy", &n, Overlap::parse))
        .transpose()
}

/// A worker's schedule; what is wrong with it is an `InvalidArg` error
/// naming the field (the facade checks it first: see `scheduleProblem`).
fn schedule(s: crate::calendar::JsSchedule) -> Result<Box<synchronik_core::CalendarSpec>> {
    crate::calendar::calendar_spec(s)
        .map(Box::new)
        .map_err(|m| Error::new(Status::InvalidArg, m))
}

fn run_mode(name: Option<String>) -> Result<Option<RunMode>> {
    name.map(|n| parse("run mode", &n, RunMode::parse))
        .transpose()
}

fn common(
    id: String,
    enabled: Option<bool>,
    status_name: Option<String>,
    runs: Option<f64>,
) -> Result<CommonSpec> {
    let defaults = CommonSpec::new(id);
    Ok(CommonSpec {
        enabled: enabled.unwrap_or(defaults.enabled),
        status: status_name
            .as_deref()
            .map(status)
            .transpose()?
            .unwrap_or(defaults.status),
        run_count: runs.map_or(defaults.run_count, |r| r as u64),
        id: defaults.id,
    })
}

impl TryFrom<JsWorkerSpec> for WorkerSpec {
    type Error = Error;

    fn try_from(s: JsWorkerSpec) -> Result<Self> {
        let defaults = WorkerConfig::default();
        let retry_delay = match (s.retry_delay_per_retry, s.retry_delay_ms) {
            (Some(true), _) => RetryDelay::PerRetry,
            (_, Some(ms)) => RetryDelay::Fixed(ms),
            _ => defaults.retry_delay(),
        };
        Ok(WorkerSpec {
            common: common(s.id, s.enabled, s.status, s.run_count)?,
            config: {
                let mut c = WorkerConfig::new();
                c.set_interval_ms(s.interval_ms.or(defaults.interval_ms()));
                c.run_on_interval = s.run_on_interval.unwrap_or(defaults.run_on_interval);
                c.timeout_ms = s.timeout_ms.unwrap_or(defaults.timeout_ms);
                c.max_retries = s.max_retries.unwrap_or(defaults.max_retries);
                c.overlap = overlap(s.overlap)?.unwrap_or(defaults.overlap);
                c.set_max_runs(s.max_runs.map(|m| m as u64));
                c.set_retry_delay(retry_delay);
                c.set_depends_on(
                    s.depends_on
                        .unwrap_or_default()
                        .into_iter()
                        .map(|d| Dependency {
                            id: d.id,
                            conditional: d.conditional,
                        })
                        .collect(),
                );
                c.set_schedule(s.schedule.map(schedule).transpose()?.map(|b| *b));
                c
            },
        })
    }
}

/// How many numbers a worker's spec passes: enabled, runCount,
/// intervalMs, runOnInterval, maxRuns, timeoutMs, maxRetries,
/// retryDelayMs, retryDelayPerRetry (NaN when absent; a flag is 1 or 0).
pub(crate) const WORKER_NUMBERS: usize = 9;

/// A worker from its fields as the facade passes them: its id, its
/// numbers ([`WORKER_NUMBERS`], in that order) and the rest.
pub(crate) fn worker_spec(
    id: String,
    n: &[f64; WORKER_NUMBERS],
    status: Option<String>,
    overlap: Option<String>,
    depends_on: Option<Vec<JsDependency>>,
    schedule: Option<crate::calendar::JsSchedule>,
) -> Result<WorkerSpec> {
    WorkerSpec::try_from(JsWorkerSpec {
        id,
        enabled: given_flag(n[0]),
        status,
        run_count: given(n[1]),
        interval_ms: given(n[2]),
        run_on_interval: given_flag(n[3]),
        max_runs: given(n[4]),
        timeout_ms: given(n[5]),
        max_retries: given_u32(n[6]),
        retry_delay_ms: given(n[7]),
        retry_delay_per_retry: given_flag(n[8]),
        overlap,
        depends_on,
        schedule,
    })
}

/// One column of a process's workers: `count` values, or none at all when
/// absent. A column of another length is refused, naming it.
fn column<T>(name: &str, values: Option<Vec<Option<T>>>, count: usize) -> Result<Vec<Option<T>>> {
    match values {
        None => Ok(std::iter::repeat_with(|| None).take(count).collect()),
        Some(v) if v.len() == count => Ok(v),
        Some(v) => Err(Error::new(
            Status::InvalidArg,
            format!(
                "internal error: the process spec's {name} has {} entries for {count} workers",
                v.len()
            ),
        )),
    }
}

impl TryFrom<JsProcessSpec> for ProcessSpec {
    type Error = Error;

    fn try_from(s: JsProcessSpec) -> Result<Self> {
        let defaults = ProcessConfig::default();
        let count = s.worker_ids.len();
        let numbers: &[f64] = &s.worker_numbers;
        if numbers.len() != count * WORKER_NUMBERS {
            return Err(Error::new(
                Status::InvalidArg,
                format!(
                    "internal error: the process spec's workerNumbers has {} numbers for {count} workers ({WORKER_NUMBERS} each)",
                    numbers.len()
                ),
            ));
        }
        let statuses = column("workerStatuses", s.worker_statuses, count)?;
        let overlaps = column("workerOverlaps", s.worker_overlaps, count)?;
        let depends_on = column("workerDependsOn", s.worker_depends_on, count)?;
        let schedules = column("workerSchedules", s.worker_schedules, count)?;
        let workers = s
            .worker_ids
            .into_iter()
            .zip(numbers.chunks_exact(WORKER_NUMBERS))
            .zip(statuses.into_iter().zip(overlaps))
            .zip(depends_on.into_iter().zip(schedules))
            .map(|(((id, n), (status, overlap)), (deps, schedule))| {
                let n: &[f64; WORKER_NUMBERS] =
                    n.try_into().expect("chunks_exact gives whole chunks");
                worker_spec(id, n, status, overlap, deps, schedule)
            })
            .collect::<Result<_>>()?;
        Ok(ProcessSpec {
            common: common(s.id, s.enabled, s.status, s.run_count)?,
            config: ProcessConfig {
                run_mode: run_mode(s.run_mode)?.unwrap_or(defaults.run_mode),
                batch_size: s.batch_size.unwrap_or(defaults.batch_size),
                isolation_delay_ms: s.isolation_delay_ms.unwrap_or(defaults.isolation_delay_ms),
                concurrency: s.concurrency.or(defaults.concurrency),
            },
            workers,
        })
    }
}

impl TryFrom<JsConfigPatch> for ConfigPatch {
    type Error = Error;

    fn try_from(p: JsConfigPatch) -> Result<Self> {
        let retry_delay = match (p.retry_delay_per_retry, p.retry_delay_ms) {
            (Some(true), _) => Some(RetryDelay::PerRetry),
            (_, Some(ms)) => Some(RetryDelay::Fixed(ms)),
            _ => None,
        };
        Ok(ConfigPatch {
            enabled: p.enabled,
            status: p.status.as_deref().map(status).transpose()?,
            // A negative number clears the setting (see JsConfigPatch).
            interval_ms: p.interval_ms.map(|v| (v >= 0.0).then_some(v)),
            run_on_interval: p.run_on_interval,
            max_runs: p.max_runs.map(|v| (v >= 0.0).then_some(v as u64)),
            timeout_ms: p.timeout_ms,
            max_retries: p.max_retries,
            retry_delay,
            overlap: overlap(p.overlap)?,
            run_mode: run_mode(p.run_mode)?,
            batch_size: p.batch_size,
            isolation_delay_ms: p.isolation_delay_ms,
            concurrency: p.concurrency.map(Some),
            schedule: match (p.schedule, p.schedule_removed) {
                (Some(s), _) => Some(Some(schedule(s)?)),
                (None, Some(true)) => Some(None),
                _ => None,
            },
        })
    }
}
