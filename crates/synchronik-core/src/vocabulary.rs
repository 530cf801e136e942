//! The vocabulary the engine shares with its host: the layout of the
//! records it sends, the names of its statuses, run modes, skip reasons and
//! task statuses, its error codes and abort reasons, the defaults of every
//! setting, and the rules of the settings a unit takes.
//!
//! Everything here is defined once, from the engine's own types where they
//! exist (an enum's names come from the one list that defines it, see
//! [`crate::names`], so a variant added without its name does not
//! compile). The napi binding generates `lib/generated/vocabulary.js` (and
//! its `.d.ts`) from this module; the JavaScript facade reads every name,
//! number and default from that file and has no copy of its own.

use crate::names::{named_enum, Named};
use crate::{
    AbortReason, CommonSpec, EngineOptions, Overlap, Phase, ProcessConfig, Retention, RetryDelay,
    RunMode, SkipReason, Status, TaskOutcome, TaskStatus, UpdateReason, WorkerConfig,
    CLOCK_LIMIT_MS, EXECUTION_TIMES_KEPT,
};

// --- records ----------------------------------------------------------------

/// Numbers per outbound record: an opcode and five operands (unused ones
/// are 0).
pub const STRIDE: usize = 6;

/// One opcode of the outbound records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opcode {
    /// Its name, as the host's constant is called.
    pub name: &'static str,
    /// The number the record starts with.
    pub number: u8,
    /// Its operands, in order.
    pub operands: &'static str,
}

/// Defines the opcodes once: the constants of [`op`] and the list
/// [`OPCODES`] the host's table is generated from.
macro_rules! opcodes {
    ($($name:ident = $number:literal: $operands:literal,)*) => {
        /// Opcodes of the outbound records (see [`OPCODES`] for their operands).
        pub mod op {
            $(#[doc = $operands] pub const $name: u8 = $number;)*
        }

        /// Every opcode, in the order of their numbers.
        pub const OPCODES: &[Opcode] = &[
            $(Opcode { name: stringify!($name), number: $number, operands: $operands },)*
        ];
    };
}

opcodes! {
    RUN = 1: "call, slot, attempt, flags (1 retryable, 2 report conditions), task (-1: none)",
    ABORT = 2: "call, reason (ABORT_REASONS)",
    STATUS = 3: "slot, previous, current (STATUSES), reason (UPDATE_REASONS)",
    CONFIG = 4: "slot",
    ENABLED = 5: "slot, enabled (0/1)",
    PARENT = 6: "slot, process slot",
    RELEASED = 7: "slot",
    STARTED = 8: "slot",
    COMPLETED = 9: "slot, call (-1: none), duration ms",
    FAILED = 10: "slot (its error was set by ERRORED)",
    RETRY = 11: "slot, attempt, delay ms, reference (call > 0 | -error code), message index",
    PHASE = 12: "slot, phase (PHASES), run mode (RUN_MODES)",
    DONE = 13: "ticket, error code (0: none), message index, worker slot (-1), unit id index",
    STATS = 14: "slot, duration ms, run count, average ms",
    LAST_RUN = 15: "slot, wall ms",
    MARKED = 16: "slot, status set by hand (running, completed or error)",
    ERRORED = 17: "slot, reference (call > 0 | -error code), message index, culprit slot (-1)",
    SKIPPED = 18: "slot, reason (SKIP_REASONS)",
    STALLED = 19: "slot, running for ms, event loop (0/1)",
    UNPAUSED = 20: "slot",
    IDLE_RELEASE = 21: "slot, idle ms",
    STATS_DUE = 22: "(no operands)",
    TASK_STATUS = 23: "task, status (TASK_STATUSES), worker slot (-1)",
    TASK_DONE = 24: "task, end (TASK_ENDS), call (completed) or reference (failed, dropped), message index",
    POOL_IDLE = 25: "pool",
    THREAD_SPAWN = 26: "runner, thread pool",
    THREAD_END = 27: "runner (terminate its thread)",
    THREAD_DONE = 28: "task, end (THREAD_ENDS), value (blob number, -1: none), error code, message index",
    THREAD_CLOSED = 29: "thread pool",
    THREAD_STARTED = 30: "task, attempt (a named task started running)",
    BEGIN = 31: "slot, wall ms, previous (STATUSES), reason (UPDATE_REASONS): a run starts (LAST_RUN, STATUS to running and STARTED in one)",
    END = 32: "slot, duration ms, run count, average ms, (call + 1) × 8 + status (0: unchanged, else the previous (STATUSES) + 1): a run completed (STATS, STATUS to completed and COMPLETED in one)",
    BEGIN_RUN = 33: "call, slot, attempt, flags (as RUN's) + previous (STATUSES) × 4 + reason (UPDATE_REASONS) × 32, wall ms: a BEGIN and the RUN of the same unit that follows it, in one",
}

named_enum! {
    /// How a thread pool task ended, as a `THREAD_DONE` record says.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum ThreadEnd {
        /// The handler returned: the value is its result.
        Returned = 0 => "returned",
        /// The handler threw: the value is what it threw.
        Threw = 1 => "threw",
        /// Its signal was aborted.
        Aborted = 2 => "aborted",
        /// The engine ended it (error code and message; the value, if any, is the cause).
        Failed = 3 => "failed",
    }
}

named_enum! {
    /// How a pool task ended, as a `TASK_DONE` record says.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum TaskEnd {
        /// It ran and resolved.
        Completed = 0 => "completed",
        /// It ran and failed.
        Failed = 1 => "failed",
        /// It was removed before it ran, or aborted while running.
        Cancelled = 2 => "cancelled",
        /// It lived in memory only and was dropped by a stop or close.
        Dropped = 3 => "dropped",
    }
}

impl TaskEnd {
    /// The end of a task that ended with `outcome`.
    pub fn of(outcome: &TaskOutcome) -> TaskEnd {
        match outcome {
            TaskOutcome::Completed { .. } => TaskEnd::Completed,
            TaskOutcome::Failed(_) => TaskEnd::Failed,
            TaskOutcome::Cancelled => TaskEnd::Cancelled,
            TaskOutcome::Dropped(_) => TaskEnd::Dropped,
        }
    }

    /// The status a task that ended so has.
    pub fn status(self) -> TaskStatus {
        match self {
            TaskEnd::Completed => TaskStatus::Completed,
            TaskEnd::Failed => TaskStatus::Error,
            TaskEnd::Cancelled | TaskEnd::Dropped => TaskStatus::Cancelled,
        }
    }
}

// --- names --------------------------------------------------------------------

// The lists below are the enums' own `ALL`, under the names the host's
// constants have.

/// Every run mode, in the order of their numbers.
pub const RUN_MODES: [RunMode; 4] = *RunMode::ALL;

/// Every overlap policy, in the order of their numbers.
pub const OVERLAPS: [Overlap; 3] = *Overlap::ALL;

/// The policy as users write it ([`Overlap::as_str`]).
pub fn overlap_name(o: Overlap) -> &'static str {
    o.as_str()
}

/// Every skip reason, in the order of their numbers.
pub const SKIP_REASONS: [SkipReason; 4] = *SkipReason::ALL;

/// Every phase of a process run, in the order of their numbers.
pub const PHASES: [Phase; 2] = *Phase::ALL;

/// Every cause of an `updated` event, in the order of their numbers.
pub const UPDATE_REASONS: [UpdateReason; 2] = *UpdateReason::ALL;

/// Every status of a pool task, in the order of their numbers.
pub const TASK_STATUSES: [TaskStatus; 8] = *TaskStatus::ALL;

/// A pool task's status as users see it ([`TaskStatus::as_str`]).
pub fn task_status_name(s: TaskStatus) -> &'static str {
    s.as_str()
}

/// A list of names, indexed by the number that crosses the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// What the host's constant is called (`STATUSES`).
    pub name: &'static str,
    /// What one of the names is called, when it has a type of its own
    /// (`Status`).
    pub item: Option<&'static str>,
    /// What the names are, for the generated file's comment.
    pub doc: &'static str,
    /// The names, by number.
    pub names: Vec<&'static str>,
}

impl Names {
    /// The names of the enum `T`, as the host's constant `name` (`doc` says
    /// what they are).
    fn of<T: Named>(name: &'static str, doc: &'static str) -> Names {
        Names {
            name,
            item: Some(T::TYPE),
            doc,
            names: T::NAMES.to_vec(),
        }
    }
}

/// Every list of names the records use, each indexed by number.
pub fn name_lists() -> Vec<Names> {
    vec![
        Names::of::<Status>("STATUSES", "The statuses of a unit."),
        Names::of::<RunMode>("RUN_MODES", "How a process runs its workers."),
        Names::of::<Overlap>(
            "OVERLAPS",
            "What a scheduled run does while the previous one is in flight.",
        ),
        Names::of::<SkipReason>(
            "SKIP_REASONS",
            "Why a run did not happen (`skipped` events).",
        ),
        Names::of::<Phase>(
            "PHASES",
            "The phases of a process run (milestones `unit:<id>:<phase>`).",
        ),
        Names::of::<UpdateReason>("UPDATE_REASONS", "What caused an `updated` event."),
        Names::of::<TaskStatus>("TASK_STATUSES", "The statuses of a pool task."),
        Names::of::<TaskEnd>("TASK_ENDS", "How a pool task ended (`TASK_DONE` records)."),
        Names::of::<ThreadEnd>(
            "THREAD_ENDS",
            "How a thread pool task ended (`THREAD_DONE` records).",
        ),
        Names {
            name: "TASK_END_STATUSES",
            item: None,
            doc: "The status of a pool task after each of TASK_ENDS.",
            names: TaskEnd::ALL.iter().map(|e| e.status().as_str()).collect(),
        },
    ]
}

// --- errors -------------------------------------------------------------------

/// Codes the host makes itself, never the engine: a user's `run` failed
/// with a value that is not an `Error`; an attempt was aborted for a reason
/// the host does not know (an engine newer than its host).
pub const HOST_ERROR_CODES: [&str; 2] = ["ERR_NON_ERROR_THROWN", "ERR_ABORTED"];

/// The message of an aborted attempt's signal reason, with `{id}` where
/// the unit's id goes.
pub fn abort_message(r: AbortReason) -> &'static str {
    match r {
        AbortReason::Timeout => "worker \"{id}\" timed out",
        AbortReason::Stopped => "worker \"{id}\" was stopped",
        AbortReason::Released => "worker \"{id}\" was released",
        AbortReason::Cancelled => "the task running on \"{id}\" was cancelled",
    }
}

// --- defaults -----------------------------------------------------------------

/// A value of a default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A number (milliseconds for a duration).
    Number(f64),
    /// A string: a name from one of [`name_lists`], or a pool's name.
    Text(&'static str),
}

/// The size of a worker pool when none is given (`useWorkerPool()`).
pub const POOL_SIZE: u32 = 5;

/// The most workers a pool may have. Every pool worker is a registered
/// unit, made when the pool grows: a bound keeps a size meant as "no limit"
/// from registering workers until memory runs out.
pub const MAX_POOL_SIZE: u32 = 10_000;

/// The name of the pool `useWorkerPool` gives when none is given.
pub const POOL_NAME: &str = "default";

/// A default that is not a unit setting's: (name, value, what it is).
pub fn defaults() -> Vec<(&'static str, Value, &'static str)> {
    let engine = EngineOptions::default();
    let history = Retention::default();
    vec![
        (
            "loopInterval",
            Value::Number(engine.loop_interval_ms),
            "Period of the sweep of idle processes, in ms.",
        ),
        (
            "watcherInterval",
            Value::Number(engine.watcher_interval_ms),
            "Period of the watcher's scans, in ms.",
        ),
        (
            "executionTimesKept",
            Value::Number(EXECUTION_TIMES_KEPT as f64),
            "How many durations `meta.executionTimesMs` keeps.",
        ),
        (
            "historyMaxAgeMs",
            Value::Number(history.max_age_ms),
            "History rows older than this are deleted, in ms.",
        ),
        (
            "historyMaxRows",
            Value::Number(history.max_rows as f64),
            "At most this many history rows are kept.",
        ),
        (
            "clockLimitMs",
            Value::Number(CLOCK_LIMIT_MS),
            "The manual clock goes no further, in ms.",
        ),
        (
            "poolSize",
            Value::Number(f64::from(POOL_SIZE)),
            "Workers of a pool when no size is given.",
        ),
        (
            "maxPoolSize",
            Value::Number(f64::from(MAX_POOL_SIZE)),
            "The most workers a pool may have.",
        ),
        (
            "poolName",
            Value::Text(POOL_NAME),
            "The name of a pool when none is given.",
        ),
    ]
}

// --- unit settings --------------------------------------------------------------

named_enum! {
    /// Which units take a setting.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Group {
        /// Workers and processes.
        Common = 0 => "common",
        /// Workers only.
        Worker = 1 => "worker",
        /// Processes only.
        Process = 2 => "process",
    }
}

/// What a setting's value must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// A plain object (not null, not an array).
    Object,
    /// A function (checked by the host: the engine never sees it).
    Function,
    /// An array.
    Array,
    /// A finite number of at least `min` (above it when `exclusive`).
    Number {
        /// The lower bound, in ms.
        min: f64,
        /// Whether `min` itself is refused.
        exclusive: bool,
    },
    /// An integer of at least `min`.
    Integer {
        /// The least value allowed.
        min: f64,
    },
    /// A finite number of at least `min`, or a function.
    NumberOrFunction {
        /// The least number allowed, in ms.
        min: f64,
    },
    /// One of the names of a list of [`name_lists`].
    OneOf {
        /// The list's [`Names::name`] (`STATUSES`).
        list: &'static str,
    },
}

impl Kind {
    /// The kind's name in the generated rules.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Object => "object",
            Kind::Function => "function",
            Kind::Array => "array",
            Kind::Number { .. } => "number",
            Kind::Integer { .. } => "integer",
            Kind::NumberOrFunction { .. } => "number-or-function",
            Kind::OneOf { .. } => "one-of",
        }
    }
}

/// One setting a unit object may carry, and its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The field of the unit object.
    pub key: &'static str,
    /// Which units take it.
    pub group: Group,
    /// What its value must be.
    pub kind: Kind,
    /// Its value when not given, if it has one.
    pub default: Option<Value>,
    /// What a message says the value must be (`must be <expected>`).
    pub expected: String,
}

impl Kind {
    /// What a message says a value of this kind must be.
    pub fn expectation(&self) -> String {
        let number = |min: f64, exclusive: bool| match (min, exclusive) {
            (0.0, true) => "a positive finite number of milliseconds".to_owned(),
            (0.0, false) => "a non-negative finite number of milliseconds".to_owned(),
            (min, true) => format!("a finite number of milliseconds above {min}"),
            (min, false) => format!("a finite number of milliseconds of at least {min}"),
        };
        match self {
            Kind::String => "a string".to_owned(),
            Kind::Boolean => "a boolean".to_owned(),
            Kind::Object => "an object".to_owned(),
            Kind::Function => "a function".to_owned(),
            Kind::Array => "an array".to_owned(),
            Kind::Number { min, exclusive } => number(*min, *exclusive),
            Kind::Integer { min: 0.0 } => "a non-negative integer".to_owned(),
            Kind::Integer { min: 1.0 } => "a positive integer".to_owned(),
            Kind::Integer { min } => format!("an integer of at least {min}"),
            Kind::NumberOrFunction { min } => format!("{} or a function", number(*min, false)),
            Kind::OneOf { list } => {
                let quoted: Vec<String> = names_of(list).iter().map(|n| format!("'{n}'")).collect();
                format!("one of {}", quoted.join(", "))
            }
        }
    }
}

/// The names of the list called `list` (one of [`name_lists`]).
pub fn names_of(list: &str) -> Vec<&'static str> {
    name_lists()
        .into_iter()
        .find(|l| l.name == list)
        .map(|l| l.names)
        .unwrap_or_default()
}

impl Setting {
    fn new(key: &'static str, group: Group, kind: Kind, default: Option<Value>) -> Self {
        Setting {
            key,
            group,
            expected: kind.expectation(),
            kind,
            default,
        }
    }

    /// The same setting, with a message that says more than its kind.
    fn expecting(mut self, expected: &str) -> Self {
        self.expected = expected.to_owned();
        self
    }
}

/// The hooks a unit may have.
pub const HOOKS: [&str; 3] = ["onStart", "onComplete", "onError"];

/// Every setting a unit object may carry, in the order they are checked
/// (the first bad one is reported): common ones, then a worker's, then a
/// process's. The defaults are the engine's own
/// ([`CommonSpec::new`], [`WorkerConfig::default`],
/// [`ProcessConfig::default`]).
pub fn unit_settings() -> Vec<Setting> {
    use Group::{Common, Process, Worker};
    let common = CommonSpec::new(String::new());
    let worker = WorkerConfig::default();
    let process = ProcessConfig::default();
    let RetryDelay::Fixed(retry_delay_ms) = worker.retry_delay() else {
        unreachable!("the default retry delay is a number of milliseconds")
    };
    let non_negative = Kind::Number {
        min: 0.0,
        exclusive: false,
    };
    let mut settings = vec![
        Setting::new("name", Common, Kind::String, None),
        Setting::new("description", Common, Kind::String, None),
        Setting::new(
            "enabled",
            Common,
            Kind::Boolean,
            Some(Value::Bool(common.enabled)),
        ),
        Setting::new(
            "status",
            Common,
            Kind::OneOf { list: "STATUSES" },
            Some(Value::Text(common.status.as_str())),
        ),
        Setting::new("meta", Common, Kind::Object, None),
    ];
    settings.extend(HOOKS.map(|h| Setting::new(h, Common, Kind::Function, None)));
    settings.extend([
        Setting::new("run", Worker, Kind::Function, None),
        Setting::new(
            "intervalMs",
            Worker,
            Kind::Number {
                min: 0.0,
                exclusive: true,
            },
            worker.interval_ms().map(Value::Number),
        ),
        Setting::new(
            "runOnInterval",
            Worker,
            Kind::Boolean,
            Some(Value::Bool(worker.run_on_interval)),
        ),
        Setting::new("maxRuns", Worker, Kind::Integer { min: 1.0 }, None),
        Setting::new(
            "timeoutMs",
            Worker,
            non_negative.clone(),
            Some(Value::Number(worker.timeout_ms)),
        )
        .expecting("a non-negative finite number of milliseconds (0 = no timeout)"),
        Setting::new(
            "maxRetries",
            Worker,
            Kind::Integer { min: 0.0 },
            Some(Value::Number(f64::from(worker.max_retries))),
        ),
        Setting::new(
            "retryDelayMs",
            Worker,
            Kind::NumberOrFunction { min: 0.0 },
            Some(Value::Number(retry_delay_ms)),
        )
        .expecting(
            "a non-negative finite number of milliseconds or a function of the retry number",
        ),
        Setting::new(
            "overlap",
            Worker,
            Kind::OneOf { list: "OVERLAPS" },
            Some(Value::Text(worker.overlap.as_str())),
        ),
        Setting::new("dependsOn", Worker, Kind::Array, None)
            .expecting("an array of worker ids or { id, condition? } objects"),
        Setting::new("schedule", Worker, Kind::Object, None).expecting(
            "an object { cron, timezone?, startAt?, stopAt?, jitterMs?, catchUp?, catchUpWindowMs? } or { at }",
        ),
        Setting::new(
            "runMode",
            Process,
            Kind::OneOf { list: "RUN_MODES" },
            Some(Value::Text(process.run_mode.as_str())),
        ),
        Setting::new(
            "batchSize",
            Process,
            Kind::Integer { min: 1.0 },
            Some(Value::Number(f64::from(process.batch_size))),
        ),
        Setting::new(
            "isolationDelayMs",
            Process,
            non_negative,
            Some(Value::Number(process.isolation_delay_ms)),
        ),
        Setting::new(
            "concurrency",
            Process,
            Kind::Integer { min: 1.0 },
            process.concurrency.map(|c| Value::Number(f64::from(c))),
        ),
    ]);
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_are_numbered_one_to_n_without_gaps() {
        let numbers: Vec<u8> = OPCODES.iter().map(|o| o.number).collect();
        let expected: Vec<u8> = (1..=OPCODES.len() as u8).collect();
        assert_eq!(numbers, expected);
        assert_eq!(op::BEGIN_RUN as usize, OPCODES.len());
    }

    #[test]
    fn every_list_is_indexed_by_the_number_of_its_entries() {
        assert!(Status::ALL
            .iter()
            .enumerate()
            .all(|(i, &s)| s as usize == i));
        assert!(RUN_MODES.iter().enumerate().all(|(i, &m)| m as usize == i));
        assert!(OVERLAPS.iter().enumerate().all(|(i, &o)| o as usize == i));
        assert!(SKIP_REASONS
            .iter()
            .enumerate()
            .all(|(i, &r)| r as usize == i));
        assert!(PHASES.iter().enumerate().all(|(i, &p)| p as usize == i));
        assert!(UPDATE_REASONS
            .iter()
            .enumerate()
            .all(|(i, &r)| r as usize == i));
        assert!(TASK_STATUSES
            .iter()
            .enumerate()
            .all(|(i, &s)| s as usize == i));
        assert!(TaskEnd::ALL
            .iter()
            .enumerate()
            .all(|(i, &e)| e as usize == i));
        for list in name_lists() {
            let mut names = list.names.clone();
            names.sort_unstable();
            names.dedup();
            let unique = list.name == "TASK_END_STATUSES" || names.len() == list.names.len();
            assert!(unique, "{} names an entry twice", list.name);
        }
    }

    #[test]
    fn names_parse_back_to_their_values() {
        for m in RUN_MODES {
            assert_eq!(RunMode::parse(m.as_str()), Some(m));
        }
        for o in OVERLAPS {
            assert_eq!(Overlap::parse(overlap_name(o)), Some(o));
        }
    }

    #[test]
    fn every_abort_reason_has_a_message_naming_its_unit() {
        use crate::ErrorCode;
        for &r in AbortReason::ALL {
            assert!(abort_message(r).contains("\"{id}\""), "{r:?}");
            assert!(ErrorCode::ALL.contains(&r.code()));
        }
    }

    #[test]
    fn host_codes_are_not_engine_codes() {
        use crate::ErrorCode;
        for code in HOST_ERROR_CODES {
            assert!(code.starts_with("ERR_"));
            assert!(ErrorCode::ALL.iter().all(|c| c.as_str() != code));
        }
    }

    #[test]
    fn settings_are_listed_once_with_the_engine_defaults() {
        let settings = unit_settings();
        let mut keys: Vec<&str> = settings.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), settings.len());
        let default = |key: &str| settings.iter().find(|s| s.key == key).unwrap().default;
        assert_eq!(default("timeoutMs"), Some(Value::Number(10_000.0)));
        assert_eq!(default("overlap"), Some(Value::Text("skip")));
        assert_eq!(default("runMode"), Some(Value::Text("sequential")));
        assert_eq!(default("batchSize"), Some(Value::Number(2.0)));
        let status = settings.iter().find(|s| s.key == "status").unwrap();
        assert_eq!(
            status.expected,
            "one of 'idle', 'running', 'paused', 'completed', 'error'"
        );
    }
}
