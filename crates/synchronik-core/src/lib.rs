//! # synchronik-core
//!
//! The orchestration engine behind the `synchronik` npm package, with no
//! JavaScript in it: a registry of units (workers and processes), a runner
//! that makes attempts with retries and timeouts, the four run modes of a
//! process and dependency graphs, worker pools with priorities, thread
//! pools, interval and calendar (cron) schedules, a watcher for stuck work,
//! durable state and tasks in SQLite or PostgreSQL, and the timers all of
//! that needs. It serves Rust programs as well as the Node.js binding.
//!
//! ## The three traits
//!
//! The engine decides everything and talks to the outside through three
//! traits:
//!
//! - an [`Invoker`] starts (and aborts) attempts of user functions; their
//!   outcomes come back through [`Engine::complete`];
//! - an [`EventSink`] receives every state change as an [`Event`], in order;
//! - a [`Clock`] gives every deadline: [`SystemClock`] for real time,
//!   [`ManualClock`] for tests that step time by hand.
//!
//! A [`Runtime`] holds the engine behind a lock and, on the system clock,
//! runs the one thread that fires its timers; [`Runtime::with`] reaches the
//! engine from the host's thread and a [`Remote`] from any other.
//!
//! ## Example
//!
//! Two workers on the system clock: `tick` runs every 20 ms, `flaky` fails
//! its first attempt and succeeds on its retry. Each attempt runs on a
//! thread of its own and reports back through a [`Remote`] (the invoker is
//! called under the engine's lock, so it must not report from inside
//! `invoke`). `examples/drive.rs` is the same program with output
//! (`cargo run -p synchronik-core --example drive`).
//!
//! ```
//! use std::sync::{Arc, Mutex, OnceLock};
//! use std::time::Duration;
//! use synchronik_core::*;
//!
//! #[derive(Default)]
//! struct Threads {
//!     remote: OnceLock<Remote>,
//!     flaky: OnceLock<Slot>,
//! }
//!
//! impl Invoker for Threads {
//!     fn invoke(&self, call: Invocation) {
//!         let remote = self.remote.get().cloned();
//!         let fails = self.flaky.get() == Some(&call.unit) && call.attempt == 1;
//!         std::thread::spawn(move || {
//!             let outcome = if fails {
//!                 Outcome::Err { message: "not yet".into() }
//!             } else {
//!                 Outcome::Ok
//!             };
//!             if let Some(remote) = remote {
//!                 remote.with(|engine| engine.complete([(call.call, outcome)]));
//!             }
//!         });
//!     }
//!     fn abort(&self, _call: CallId, _reason: AbortReason) {}
//! }
//!
//! #[derive(Default)]
//! struct Log(Mutex<Vec<String>>);
//!
//! impl EventSink for Log {
//!     fn emit(&self, event: Event) {
//!         self.0.lock().unwrap().push(event.to_string());
//!     }
//! }
//!
//! let threads = Arc::new(Threads::default());
//! let log = Arc::new(Log::default());
//! let runtime = Runtime::new(
//!     ClockChoice::System(Arc::new(SystemClock::new())),
//!     threads.clone(),
//!     log.clone(),
//!     Box::new(|| {}),
//! )
//! .unwrap();
//! threads.remote.set(runtime.remote()).ok();
//!
//! let mut tick = WorkerSpec::new("tick");
//! tick.config.set_interval_ms(Some(20.0));
//! tick.config.run_on_interval = true;
//! let mut flaky = WorkerSpec::new("flaky");
//! flaky.config.max_retries = 1;
//! flaky.config.set_retry_delay(RetryDelay::Fixed(10.0));
//! runtime.with(|e| e.register(UnitSpec::Worker(tick))).unwrap();
//! let slots = runtime.with(|e| e.register(UnitSpec::Worker(flaky))).unwrap();
//! threads.flaky.set(slots[0]).ok();
//!
//! runtime.with(|e| {
//!     e.start();
//!     e.run_unit("flaky", None);
//! });
//! let deadline = std::time::Instant::now() + Duration::from_secs(10);
//! while runtime.with(|e| e.unit("tick").unwrap().meta().run_count) < 3
//!     || runtime.with(|e| e.unit("flaky").unwrap().status) != Status::Completed
//! {
//!     assert!(std::time::Instant::now() < deadline);
//!     std::thread::sleep(Duration::from_millis(5));
//! }
//! assert!(log.0.lock().unwrap().iter().any(|e| e.contains("retry in 10 ms")));
//! runtime.shutdown();
//! ```

#![warn(missing_docs)]

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
    AbortReason, CallId, Event, EventSink, Failure, Invocation, Invoker, Phase, RunEnd, RunStart,
    SkipReason, TaskId, TaskOutcome, Ticket, UpdateReason,
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
