//! # synchronik-core
//!
//! The orchestration engine behind the `synchronik` npm package, with no
//! JavaScript in it: a registry of units (workers and processes), a runner
//! that makes attempts with retries and timeouts, the four run modes of a
//! process, and the timers all of that needs.
//!
//! The engine decides everything and talks to the outside through three
//! traits: an [`Invoker`] starts (and aborts) attempts of user functions and
//! reports their outcomes back through [`Engine::complete`], an
//! [`EventSink`] receives every state change as an [`Event`], and a
//! [`Clock`] gives every deadline. The napi binding implements them with
//! JavaScript; the tests here implement them with recorders and a
//! [`ManualClock`].

pub mod clock;
pub mod engine;
pub mod error;
pub mod event;
pub mod ids;
pub mod names;
pub mod observe;
pub mod registry;
pub mod runtime;
pub mod schedule;
pub mod store;
pub mod timer;
pub mod unit;
pub mod vocabulary;

pub use clock::{
    ms_to_nanos, nanos_to_ms, Clock, ManualClock, Nanos, SystemClock, CLOCK_LIMIT, CLOCK_LIMIT_MS,
};
pub use engine::{
    AddError, CalendarSpec, CatchUp, Engine, EngineOptions, Liveness, MemoryStats, NamedThreadTask,
    Outcome, PoolId, RestoredState, RestoredTask, RunnerId, StopOptions, StoredThreadTask,
    TaskSpec, TaskStatus, ThreadEvent, ThreadGroup, ThreadOutcome, ThreadPoolId, ThreadPoolSpec,
    ThreadPoolStats, ThreadRunError, ThreadStats, ThreadTaskRun, ThreadTaskSpec, When,
    CATCH_UP_MAX,
};
pub use error::{EngineError, ErrorCode};
pub use event::{
    AbortReason, CallId, Event, EventSink, Failure, Invocation, Invoker, Phase, SkipReason, TaskId,
    TaskOutcome, Ticket, UpdateReason,
};
pub use registry::{Registry, Unit, UnitBody};
pub use runtime::{ClockChoice, Remote, Runtime, Wake};
pub use schedule::{AtSchedule, CronSchedule, ScheduleError};
pub use store::{
    HistoryQuery, HistoryRow, Retention, Store, StoreOptions, TaskRow, UnitRow, WeakStore,
};
pub use unit::{
    CommonSpec, ConfigPatch, Dependency, Meta, Overlap, ProcessConfig, ProcessSpec, RetryDelay,
    RunMode, Slot, Status, UnitKind, UnitSpec, WorkerConfig, WorkerSpec, EXECUTION_TIMES_KEPT,
};
