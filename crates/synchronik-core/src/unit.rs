//! What a unit is, as the engine keeps it: statuses, run modes, the
//! configuration that drives runs, and the statistics the engine keeps in
//! `meta`.

use std::collections::VecDeque;
use std::fmt;

use crate::names::named_enum;

/// Index of a unit in the registry. A released unit's slot is reused only
/// once nothing can still name the old unit by it (see
/// [`crate::Registry`]).
pub type Slot = u32;

/// How many execution times `meta.executionTimesMs` keeps.
pub const EXECUTION_TIMES_KEPT: usize = 100;

named_enum! {
    /// A unit's status.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[repr(u8)]
    pub enum Status {
        /// Not running, with no outcome to show.
        Idle = 0 => "idle",
        /// A run is in flight.
        Running = 1 => "running",
        /// Does not start; a run in flight goes on.
        Paused = 2 => "paused",
        /// Its last run completed.
        Completed = 3 => "completed",
        /// Its last run failed.
        Error = 4 => "error",
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

named_enum! {
    /// How a process runs its workers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum RunMode {
        /// One after another, in array order; a failure stops the run.
        Sequential = 0 => "sequential",
        /// All at once; the run completes when all have settled.
        Parallel = 1 => "parallel",
        /// Groups of `batch_size` in array order, a group after the previous settled.
        Batched = 2 => "batched",
        /// Sequential, with [`ProcessConfig::isolation_delay_ms`] after every worker.
        Isolated = 3 => "isolated",
    }
}

named_enum! {
    /// Whether a unit is a worker or a process (its name is the one error
    /// messages use).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum UnitKind {
        /// Runs the user's function.
        Worker = 0 => "worker",
        /// Runs its workers.
        Process = 1 => "process",
    }
}

named_enum! {
    /// What happens when a worker's next scheduled time comes while its
    /// previous run is still in flight (like tokio's `MissedTickBehavior`,
    /// named for the policy rather than the mechanism).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(u8)]
    pub enum Overlap {
        /// The fire is skipped (a `skipped` event says so).
        Skip = 0 => "skip",
        /// One run is queued to start right after the current one.
        Queue = 1 => "queue",
        /// Another run starts concurrently.
        Allow = 2 => "allow",
    }
}

/// How long to wait before a retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryDelay {
    /// The same number of milliseconds before every retry.
    Fixed(f64),
    /// Computed per retry by the host (the user's function of the 1-based
    /// retry number); the host reports it with the failed outcome.
    PerRetry,
}

/// One entry of a worker's `dependsOn`: the id of a worker of the same
/// process, and whether a condition on its result must hold (the host
/// evaluates conditions; see [`crate::Engine::report_conditions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The id of the worker depended on.
    pub id: String,
    /// Whether the dependent also needs the condition the host reports on
    /// that worker's result to hold; one that does not hold (or is not
    /// reported) skips the dependent.
    pub conditional: bool,
}

impl Dependency {
    /// A plain dependency on `id`.
    pub fn on(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            conditional: false,
        }
    }

    /// A dependency on `id` with a condition on its result.
    pub fn when(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            conditional: true,
        }
    }
}

/// The settings of a worker that shape its runs.
///
/// The settings most workers leave at their defaults (`max_runs`,
/// `retry_delay`, `depends_on`, `schedule`) are kept in a box of their own,
/// made when one of them is set: a worker without them keeps an empty
/// pointer, 8 bytes where they took 64. They are read and set through the
/// methods of the same names.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Milliseconds between scheduled runs, NaN for none: read and set
    /// through [`WorkerConfig::interval_ms`] (an `Option<f64>` took 16
    /// bytes, and with them a worker's record was larger than a process's
    /// by 8).
    interval: f64,
    /// Whether the scheduler runs it every `interval_ms`.
    pub run_on_interval: bool,
    /// Bound of one attempt in ms; 0 = none.
    pub timeout_ms: f64,
    /// Attempts after the first.
    pub max_retries: u32,
    /// What a scheduled fire does while a run is in flight.
    pub overlap: Overlap,
    /// The settings of [`Rare`], when one of them is set.
    rare: Option<Box<Rare>>,
}

/// The settings of a worker that most workers leave at their defaults (see
/// [`WorkerConfig`]).
#[derive(Debug, Clone, Default, PartialEq)]
struct Rare {
    max_runs: Option<u64>,
    retry_delay: RetryDelay,
    depends_on: Vec<Dependency>,
    schedule: Option<crate::engine::CalendarSpec>,
}

impl Default for RetryDelay {
    fn default() -> Self {
        RetryDelay::Fixed(0.0)
    }
}

/// What an unset rare setting reads as.
static NO_RARE: Rare = Rare {
    max_runs: None,
    retry_delay: RetryDelay::Fixed(0.0),
    depends_on: Vec::new(),
    schedule: None,
};

impl WorkerConfig {
    /// The settings of a worker that sets none: every one at its default.
    pub fn new() -> Self {
        Self {
            interval: f64::NAN,
            run_on_interval: false,
            timeout_ms: 10_000.0,
            max_retries: 0,
            overlap: Overlap::Skip,
            rare: None,
        }
    }

    /// Milliseconds between scheduled runs.
    pub fn interval_ms(&self) -> Option<f64> {
        (!self.interval.is_nan()).then_some(self.interval)
    }

    /// Sets [`Self::interval_ms`] (a NaN is none).
    pub fn set_interval_ms(&mut self, interval_ms: Option<f64>) {
        self.interval = interval_ms.unwrap_or(f64::NAN);
    }

    /// Whether the box of rare settings was made.
    pub fn has_rare_settings(&self) -> bool {
        self.rare.is_some()
    }

    fn rare(&self) -> &Rare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// The box of rare settings, made if there is none; `None` when there
    /// is none and `unset` says the value to set is the default.
    fn rare_mut(&mut self, unset: bool) -> Option<&mut Rare> {
        if self.rare.is_none() && unset {
            return None;
        }
        Some(self.rare.get_or_insert_with(Box::default))
    }

    /// After this many completed runs the worker is disabled.
    pub fn max_runs(&self) -> Option<u64> {
        self.rare().max_runs
    }

    /// Sets [`Self::max_runs`].
    pub fn set_max_runs(&mut self, max_runs: Option<u64>) {
        if let Some(r) = self.rare_mut(max_runs.is_none()) {
            r.max_runs = max_runs;
        }
    }

    /// The wait between attempts.
    pub fn retry_delay(&self) -> RetryDelay {
        self.rare().retry_delay
    }

    /// Sets [`Self::retry_delay`].
    pub fn set_retry_delay(&mut self, retry_delay: RetryDelay) {
        if let Some(r) = self.rare_mut(retry_delay == RetryDelay::default()) {
            r.retry_delay = retry_delay;
        }
    }

    /// Workers of the same process that must complete first (a process any
    /// of whose workers has dependencies runs as a graph).
    pub fn depends_on(&self) -> &[Dependency] {
        &self.rare().depends_on
    }

    /// Sets [`Self::depends_on`].
    pub fn set_depends_on(&mut self, depends_on: Vec<Dependency>) {
        if let Some(r) = self.rare_mut(depends_on.is_empty()) {
            r.depends_on = depends_on;
        }
    }

    /// A calendar schedule (cron or one-off times), instead of an interval.
    pub fn schedule(&self) -> Option<&crate::engine::CalendarSpec> {
        self.rare().schedule.as_ref()
    }

    /// Sets [`Self::schedule`].
    pub fn set_schedule(&mut self, schedule: Option<crate::engine::CalendarSpec>) {
        if let Some(r) = self.rare_mut(schedule.is_none()) {
            r.schedule = schedule;
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Settings are equal when they read the same: a box of rare settings at
/// their defaults is the same as none.
impl PartialEq for WorkerConfig {
    fn eq(&self, other: &Self) -> bool {
        self.interval_ms() == other.interval_ms()
            && self.run_on_interval == other.run_on_interval
            && self.timeout_ms == other.timeout_ms
            && self.max_retries == other.max_retries
            && self.overlap == other.overlap
            && self.rare() == other.rare()
    }
}

/// The settings of a process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessConfig {
    /// How it runs its workers (unless it runs as a graph: see
    /// [`WorkerConfig::depends_on`]).
    pub run_mode: RunMode,
    /// Batched mode: workers per group; 0 counts as 1.
    pub batch_size: u32,
    /// Isolated mode: ms to wait after each worker that completed, the last
    /// one included; 0 = no wait.
    pub isolation_delay_ms: f64,
    /// Parallel mode: at most this many workers at once (none: all).
    pub concurrency: Option<u32>,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        Self {
            run_mode: RunMode::Sequential,
            batch_size: 2,
            isolation_delay_ms: 100.0,
            concurrency: None,
        }
    }
}

/// Fields common to both kinds, as given at registration.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonSpec {
    /// The unit's id; registering an id again replaces that unit in place.
    pub id: String,
    /// Whether it may start (see [`crate::registry::Unit::enabled`]).
    pub enabled: bool,
    /// The status it starts with.
    pub status: Status,
    /// Run statistics to start from (a unit object registered with `meta`
    /// already filled, or restored state).
    pub run_count: u64,
}

impl CommonSpec {
    /// An enabled, idle unit with the given id.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            enabled: true,
            status: Status::Idle,
            run_count: 0,
        }
    }
}

/// A worker to register.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSpec {
    /// Its id, enabled flag, status and starting run count.
    pub common: CommonSpec,
    /// Its settings.
    pub config: WorkerConfig,
}

impl WorkerSpec {
    /// A worker with default settings.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            common: CommonSpec::new(id),
            config: WorkerConfig::default(),
        }
    }
}

/// A process to register, with its workers (registered with it).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSpec {
    /// Its id, enabled flag, status and starting run count.
    pub common: CommonSpec,
    /// Its settings.
    pub config: ProcessConfig,
    /// Its workers, in array order (the order its run mode follows).
    pub workers: Vec<WorkerSpec>,
}

impl ProcessSpec {
    /// A sequential process of the given workers.
    pub fn new(id: impl Into<String>, workers: Vec<WorkerSpec>) -> Self {
        Self {
            common: CommonSpec::new(id),
            config: ProcessConfig::default(),
            workers,
        }
    }
}

/// A unit to register.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitSpec {
    /// A worker on its own.
    Worker(WorkerSpec),
    /// A process, with its workers.
    Process(ProcessSpec),
}

impl UnitSpec {
    /// The id of the unit.
    pub fn id(&self) -> &str {
        match self {
            UnitSpec::Worker(w) => &w.common.id,
            UnitSpec::Process(p) => &p.common.id,
        }
    }
}

/// A change of settings (`updateUnitConfig`): `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigPatch {
    /// Enables or disables the unit.
    pub enabled: Option<bool>,
    /// A new status (announced as a status change when it differs).
    pub status: Option<Status>,
    /// Workers ([`WorkerConfig::interval_ms`]): `Some(None)` removes the
    /// interval.
    pub interval_ms: Option<Option<f64>>,
    /// Workers ([`WorkerConfig::run_on_interval`]).
    pub run_on_interval: Option<bool>,
    /// Workers ([`WorkerConfig::max_runs`]): `Some(None)` removes the limit.
    pub max_runs: Option<Option<u64>>,
    /// Workers ([`WorkerConfig::timeout_ms`]): 0 = none.
    pub timeout_ms: Option<f64>,
    /// Workers ([`WorkerConfig::max_retries`]).
    pub max_retries: Option<u32>,
    /// Workers ([`WorkerConfig::retry_delay`]).
    pub retry_delay: Option<RetryDelay>,
    /// Workers ([`WorkerConfig::overlap`]).
    pub overlap: Option<Overlap>,
    /// Processes ([`ProcessConfig::run_mode`]).
    pub run_mode: Option<RunMode>,
    /// Processes ([`ProcessConfig::batch_size`]).
    pub batch_size: Option<u32>,
    /// Processes ([`ProcessConfig::isolation_delay_ms`]).
    pub isolation_delay_ms: Option<f64>,
    /// `Some(None)` removes the limit.
    pub concurrency: Option<Option<u32>>,
    /// `Some(None)` removes the schedule; a new one applies from its next
    /// fire, counted from now.
    pub schedule: Option<Option<Box<crate::engine::CalendarSpec>>>,
}

/// Run statistics (`meta` on the unit object).
///
/// A unit keeps them in the box of what its runs leave behind (see
/// [`crate::Unit::meta`]), made by its first completed run: a unit that has
/// not completed one (in a large registry, most of them until their
/// schedules come) keeps an empty pointer for them and for its last run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// Completed runs.
    pub run_count: u64,
    /// The durations of the last [`EXECUTION_TIMES_KEPT`] completed runs.
    kept: VecDeque<f64>,
    average_ms: f64,
    last_ms: f64,
    sum_ms: f64,
}

impl Meta {
    /// The statistics of a unit without a completed run.
    pub const EMPTY: Meta = Meta {
        run_count: 0,
        kept: VecDeque::new(),
        average_ms: 0.0,
        last_ms: 0.0,
        sum_ms: 0.0,
    };

    /// Records a completed run of `duration_ms`.
    pub fn record(&mut self, duration_ms: f64) {
        self.run_count += 1;
        self.last_ms = duration_ms;
        self.kept.push_back(duration_ms);
        self.sum_ms += duration_ms;
        if self.kept.len() > EXECUTION_TIMES_KEPT {
            if let Some(old) = self.kept.pop_front() {
                self.sum_ms -= old;
            }
        }
        // Recompute the sum now and then so float error never accumulates.
        if self.run_count.is_multiple_of(1024) {
            self.sum_ms = self.kept.iter().sum();
        }
        self.average_ms = self.sum_ms / self.kept.len() as f64;
    }

    /// Durations of the last [`EXECUTION_TIMES_KEPT`] completed runs, oldest first.
    pub fn execution_times_ms(&self) -> &VecDeque<f64> {
        &self.kept
    }

    /// Mean of [`Meta::execution_times_ms`] (0 before the first completed run).
    pub fn average_ms(&self) -> f64 {
        self.average_ms
    }

    /// Duration of the last completed run (0 before the first).
    pub fn last_duration_ms(&self) -> f64 {
        self.last_ms
    }

    /// Whether it is that of a unit without a completed run.
    pub fn is_empty(&self) -> bool {
        self.run_count == 0 && self.kept.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_settings_are_boxed_when_one_is_set() {
        let mut c = WorkerConfig::new();
        // Setting a default makes no box.
        c.set_max_runs(None);
        c.set_retry_delay(RetryDelay::Fixed(0.0));
        c.set_depends_on(Vec::new());
        c.set_schedule(None);
        assert!(!c.has_rare_settings());
        assert_eq!(c, WorkerConfig::default());
        c.set_retry_delay(RetryDelay::PerRetry);
        c.set_max_runs(Some(3));
        c.set_depends_on(vec![Dependency::on("a")]);
        assert!(c.has_rare_settings());
        assert_eq!(
            (c.max_runs(), c.retry_delay(), c.depends_on()),
            (Some(3), RetryDelay::PerRetry, &[Dependency::on("a")][..])
        );
        assert_ne!(c, WorkerConfig::default());
        // Back at their defaults, the settings read as none were set.
        c.set_retry_delay(RetryDelay::Fixed(0.0));
        c.set_max_runs(None);
        c.set_depends_on(Vec::new());
        assert!(c.has_rare_settings());
        assert_eq!(c, WorkerConfig::default());
        assert_eq!((c.max_runs(), c.timeout_ms), (None, 10_000.0));
    }

    #[test]
    fn packed_nanos_keep_every_bit() {
        use crate::registry::PackedNanos;
        for n in [
            0,
            1,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            crate::clock::CLOCK_LIMIT,
            u128::MAX,
        ] {
            assert_eq!(PackedNanos::from(n).get(), n);
        }
    }

    #[test]
    fn meta_before_the_first_run_is_zero() {
        let m = Meta::default();
        assert_eq!(m, Meta::EMPTY);
        assert!(m.is_empty());
        assert_eq!(m.run_count, 0);
        assert!(m.execution_times_ms().is_empty());
        assert_eq!((m.average_ms(), m.last_duration_ms()), (0.0, 0.0));
    }

    #[test]
    fn meta_keeps_the_last_hundred() {
        let mut m = Meta::default();
        for i in 0..150 {
            m.record(i as f64);
        }
        assert_eq!(m.run_count, 150);
        assert_eq!(m.execution_times_ms().len(), EXECUTION_TIMES_KEPT);
        assert_eq!(m.execution_times_ms().front(), Some(&50.0));
        assert_eq!(m.last_duration_ms(), 149.0);
        assert!((m.average_ms() - 99.5).abs() < 1e-9);
    }

    #[test]
    fn statuses_and_modes_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunMode::parse("batched"), Some(RunMode::Batched));
        assert_eq!(RunMode::parse("nope"), None);
    }
}
