//! Option objects as JavaScript passes them. The facade has validated them
//! against the rules of the engine's vocabulary (so users get messages in
//! their own terms); `convert.rs` turns them into core types. A field that
//! is absent takes the engine's default: the defaults are defined once, in
//! the engine, and listed in `lib/generated/vocabulary.js` (`DEFAULTS`).

use napi_derive::napi;

use napi::bindgen_prelude::Float64Array;

/// Options of a new engine.
#[napi(object)]
pub struct JsEngineOptions {
    /// Run on a manual clock that moves only when advanced.
    pub manual_clock: Option<bool>,
    /// Manual clock only: the wall time (ms since the Unix epoch) the clock
    /// starts at. @default the machine's time now
    pub manual_start_ms: Option<f64>,
    /// Period of the sweep of idle processes.
    pub loop_interval_ms: Option<f64>,
    /// Period of the watcher's scans.
    pub watcher_interval_ms: Option<f64>,
    pub stall_threshold_ms: Option<f64>,
    pub auto_unpause_ms: Option<f64>,
    pub release_idle_after_ms: Option<f64>,
    pub stats_interval_ms: Option<f64>,
    /// A view of a SharedArrayBuffer of six numbers, `[call, slot,
    /// heartbeat, blocked ms, lag ms, waiting]`: JavaScript sets `call` and
    /// `slot` while it executes a `run` synchronously (call 0 when none),
    /// its lag sampler the next three (heartbeat: `performance.now()`, 0
    /// when no sampler runs; while the engine is made, the facade's
    /// `performance.now()`, which pairs its clock with the engine's
    /// monotonic clock). The watcher and the dashboard read it from their
    /// own threads. The engine writes `waiting`: 1 while records wait to be
    /// drained, else 0. A shorter cell is taken too (no sampler, or no
    /// `waiting`, which only the facade's drain loop reads).
    pub liveness: Option<Float64Array>,
    /// Metrics count runs per unit too (a `unit` label).
    pub unit_metrics: Option<bool>,
    /// The facade's buffer that drains write records into (see `fast.rs`);
    /// a multiple of the record stride.
    pub out: Option<Float64Array>,
    /// The facade's buffer of settled outcomes `[call, ok]…` that
    /// `engineComplete` reads.
    pub inbox: Option<Float64Array>,
}

/// One entry of `dependsOn`.
#[napi(object)]
pub struct JsDependency {
    pub id: String,
    /// The entry has a condition (evaluated by JavaScript).
    pub conditional: bool,
}

/// A worker to register.
#[napi(object)]
pub struct JsWorkerSpec {
    pub id: String,
    pub enabled: Option<bool>,
    /// Initial status.
    pub status: Option<String>,
    /// Completed runs so far (from `meta.runCount`).
    pub run_count: Option<f64>,
    pub interval_ms: Option<f64>,
    pub run_on_interval: Option<bool>,
    pub max_runs: Option<f64>,
    /// Bound of one attempt in ms; 0 = none.
    pub timeout_ms: Option<f64>,
    pub max_retries: Option<u32>,
    /// Fixed delay between attempts.
    pub retry_delay_ms: Option<f64>,
    /// The delay is computed per retry by JavaScript.
    pub retry_delay_per_retry: Option<bool>,
    /// A name of `OVERLAPS` (the vocabulary).
    pub overlap: Option<String>,
    /// Workers of the same process that must complete first.
    pub depends_on: Option<Vec<JsDependency>>,
    /// A calendar schedule instead of an interval.
    pub schedule: Option<crate::calendar::JsSchedule>,
}

/// A process to register, with its workers.
#[napi(object)]
pub struct JsProcessSpec {
    pub id: String,
    pub enabled: Option<bool>,
    pub status: Option<String>,
    pub run_count: Option<f64>,
    pub run_mode: Option<String>,
    pub batch_size: Option<u32>,
    pub isolation_delay_ms: Option<f64>,
    /// Parallel mode: at most this many workers at once.
    pub concurrency: Option<u32>,
    /// The workers' ids, in order: one per worker. A process's workers
    /// come as columns rather than a spec object each: reading an object's
    /// fields by name through the binding made a string for every name of
    /// every worker (about two fifths of a process's registration).
    pub worker_ids: Vec<String>,
    /// The workers' numbers, [`crate::convert::WORKER_NUMBERS`] each, in
    /// the order `engineRegisterWorker` takes them (NaN when absent; a flag
    /// is 1 or 0).
    pub worker_numbers: Float64Array,
    /// The workers' initial statuses (null for none); absent when no
    /// worker has one. So are the columns below.
    pub worker_statuses: Option<Vec<Option<String>>>,
    /// The workers' overlap policies (null for none).
    pub worker_overlaps: Option<Vec<Option<String>>>,
    /// The workers' dependencies on their siblings (null for none).
    pub worker_depends_on: Option<Vec<Option<Vec<JsDependency>>>>,
    /// The workers' calendar schedules (null for none).
    pub worker_schedules: Option<Vec<Option<crate::calendar::JsSchedule>>>,
}

/// A change of settings; absent fields stay as they are. A negative
/// `intervalMs` or `maxRuns` clears the setting.
#[napi(object)]
pub struct JsConfigPatch {
    pub enabled: Option<bool>,
    pub status: Option<String>,
    pub interval_ms: Option<f64>,
    pub run_on_interval: Option<bool>,
    pub max_runs: Option<f64>,
    pub timeout_ms: Option<f64>,
    pub max_retries: Option<u32>,
    pub retry_delay_ms: Option<f64>,
    pub retry_delay_per_retry: Option<bool>,
    pub overlap: Option<String>,
    pub run_mode: Option<String>,
    pub batch_size: Option<u32>,
    pub isolation_delay_ms: Option<f64>,
    pub concurrency: Option<u32>,
    /// A new calendar schedule (from its next fire).
    pub schedule: Option<crate::calendar::JsSchedule>,
    /// The calendar schedule is removed.
    pub schedule_removed: Option<bool>,
}
