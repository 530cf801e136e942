//! The napi binding of the synchronik engine: conversions and glue only.
//!
//! The engine (`synchronik-core`) makes every decision. This crate
//! implements its [`Invoker`] and [`EventSink`] with one ordered queue of
//! fixed-width numeric records (an [`Outbox`]) that JavaScript drains, and
//! wakes JavaScript through one weak threadsafe function when the engine's
//! timer thread produced something while JavaScript was idle.
//!
//! Every exported method catches panics, so a bug in the engine surfaces
//! as a JavaScript exception instead of aborting the process.
//!
//! The record layout is shared with `lib/ops.js`; every record is
//! [`STRIDE`] numbers: an opcode and five operands (unused ones are 0).

#![deny(clippy::all)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::Mutex;

use synchronik_core::{
    AbortReason, CallId, ClockChoice, CommonSpec, ConfigPatch, Dependency, EngineError,
    EngineOptions, Event, EventSink, Failure, Invocation, Invoker, Liveness, ManualClock, Overlap,
    ProcessConfig, ProcessSpec, RestoredState, RetryDelay, RunMode, Runtime, Slot,
    Status as UnitStatus, StopOptions, SystemClock, TaskId, TaskOutcome, TaskSpec, UnitSpec,
    WorkerConfig, WorkerSpec,
};

pub mod fast;
mod options;
mod store;
use options::{JsConfigPatch, JsEngineOptions, JsProcessSpec, JsWorkerSpec};

/// Numbers per record in the outbound queue.
const STRIDE: usize = 6;

/// Room (in numbers) the outbound queue keeps once drained: 4,096 records.
const OPS_KEPT: usize = 4096 * STRIDE;

/// Opcodes of outbound records (see `lib/ops.js`).
mod op {
    pub const RUN: f64 = 1.0;
    pub const ABORT: f64 = 2.0;
    pub const STATUS: f64 = 3.0;
    pub const CONFIG: f64 = 4.0;
    pub const ENABLED: f64 = 5.0;
    pub const PARENT: f64 = 6.0;
    pub const RELEASED: f64 = 7.0;
    pub const STARTED: f64 = 8.0;
    pub const COMPLETED: f64 = 9.0;
    pub const FAILED: f64 = 10.0;
    pub const RETRY: f64 = 11.0;
    pub const PHASE: f64 = 12.0;
    pub const DONE: f64 = 13.0;
    pub const STATS: f64 = 14.0;
    pub const LAST_RUN: f64 = 15.0;
    pub const MARKED: f64 = 16.0;
    pub const ERRORED: f64 = 17.0;
    pub const SKIPPED: f64 = 18.0;
    pub const STALLED: f64 = 19.0;
    pub const UNPAUSED: f64 = 20.0;
    pub const IDLE_RELEASE: f64 = 21.0;
    pub const STATS_DUE: f64 = 22.0;
    pub const TASK_STATUS: f64 = 23.0;
    pub const TASK_DONE: f64 = 24.0;
    pub const POOL_IDLE: f64 = 25.0;
}

/// The watcher's view of what JavaScript executes: a view of a
/// SharedArrayBuffer `[call, slot]` that the facade writes around every
/// synchronous call into a user's `run`.
struct JsLiveness {
    cell: Float64Array,
}

impl Liveness for JsLiveness {
    fn current_call(&self) -> Option<(CallId, Slot)> {
        if self.cell.len() < 2 {
            return None;
        }
        let base = self.cell.as_ptr().cast::<std::sync::atomic::AtomicU64>();
        // SAFETY: `cell` keeps its SharedArrayBuffer alive and holds at least
        // two 8-byte aligned f64 (checked above); such a buffer is never
        // detached or moved. JavaScript writes whole 8-byte values, which we
        // read with atomic loads, so a read sees an old or a new value.
        let (call, slot) = unsafe {
            (
                f64::from_bits((*base).load(Ordering::Relaxed)),
                f64::from_bits((*base.add(1)).load(Ordering::Relaxed)),
            )
        };
        (call >= 1.0 && slot >= 0.0).then_some((call as CallId, slot as Slot))
    }
}

/// The JavaScript wake-up: called with no arguments, returns nothing. Weak,
/// so it never keeps Node alive by itself; not callee-handled, because the
/// facade's handler never throws (it traps every user exception).
type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

/// The answer of `memory()`: room held, in entries.
#[napi(object)]
pub struct EngineMemory {
    pub slots: f64,
    pub slots_waiting: f64,
    pub task_capacity: f64,
    pub timer_capacity: f64,
    pub run_capacity: f64,
    pub outbox_capacity: f64,
}

/// Returns the allocator's free memory to the system when the engine says
/// it is worth it ([`synchronik_core::Engine::take_trim_hint`]: a burst's
/// room was given back, or a pool fell idle after many tasks). glibc keeps
/// freed memory in its arenas (and, after a large block was freed, raises
/// the threshold below which it trims the heap), so the memory a burst
/// took would otherwise stay in the process for good.
pub(crate) fn trim_after(hint: bool) {
    if !hint {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
        #[allow(unsafe_code)]
        unsafe {
            malloc_trim(0);
        }
    }
}

/// The answer of `poolAddMany`.
#[napi(object)]
pub struct Added {
    pub first_task: f64,
    pub first_arrangement: f64,
}

/// A stable code and the number it crosses the bridge as.
#[napi(object)]
pub struct NumberedCode {
    pub number: u32,
    pub code: String,
}

/// The numbers the engine's records use for error codes and abort reasons.
#[napi(object)]
pub struct EngineCodes {
    /// Every error code (`DONE` and `ERRORED` records).
    pub errors: Vec<NumberedCode>,
    /// Every abort reason (`ABORT` records), with the error code of the
    /// signal's reason.
    pub aborts: Vec<NumberedCode>,
}

/// Every error code and abort reason the engine can send, so that the
/// facade's tables are built from the engine's own lists.
#[napi]
pub fn engine_codes() -> EngineCodes {
    EngineCodes {
        errors: synchronik_core::ErrorCode::ALL
            .iter()
            .map(|&c| NumberedCode {
                number: u32::from(c as u8),
                code: c.as_str().to_string(),
            })
            .collect(),
        aborts: AbortReason::ALL
            .iter()
            .map(|&r| NumberedCode {
                number: u32::from(r as u8),
                code: r.code().as_str().to_string(),
            })
            .collect(),
    }
}

/// Strings that records name by number (error messages): `strs[k]` is
/// string number `base + k`.
#[napi(object)]
pub struct Strings {
    pub base: f64,
    pub strs: Vec<String>,
}

/// The records and strings produced since the last drain.
///
/// Records are taken from the front (`head`), possibly a part at a time
/// when the facade's buffer is full. A record names a string by its
/// absolute number (`next_str` counts every string ever added), so the
/// numbers stay valid however the records are split between drains.
#[derive(Default)]
struct Batch {
    ops: Vec<f64>,
    head: usize,
    strs: Vec<String>,
    next_str: u64,
}

impl Batch {
    fn push(&mut self, r: [f64; STRIDE]) {
        self.ops.extend_from_slice(&r);
    }

    fn string(&mut self, s: String) -> f64 {
        self.strs.push(s);
        self.next_str += 1;
        (self.next_str - 1) as f64
    }

    fn is_empty(&self) -> bool {
        self.head >= self.ops.len()
    }

    /// Moves as many whole records as fit into `out`; returns how many
    /// numbers were written.
    fn drain_into(&mut self, out: &mut [f64]) -> usize {
        let available = self.ops.len() - self.head;
        let n = available.min(out.len() - out.len() % STRIDE);
        out[..n].copy_from_slice(&self.ops[self.head..self.head + n]);
        self.head += n;
        if self.head >= self.ops.len() {
            self.ops.clear();
            self.head = 0;
            // A burst of records (a large process started at once) leaves
            // its room behind; keep what a busy steady state needs.
            if self.ops.capacity() > 4 * OPS_KEPT {
                self.ops.shrink_to(OPS_KEPT);
            }
        }
        n
    }

    /// Takes every string not handed over yet: (number of the first, strings).
    fn take_strings(&mut self) -> (u64, Vec<String>) {
        let base = self.next_str - self.strs.len() as u64;
        (base, std::mem::take(&mut self.strs))
    }

    /// Encodes a failure as (reference, message index): a user failure refers
    /// to its call (> 0), an engine failure to its code (< 0).
    fn failure(&mut self, f: Failure) -> (f64, f64) {
        match f {
            Failure::User { call, message } => (call as f64, self.string(message)),
            Failure::Engine(e) => (-(e.code() as u8 as f64), self.string(e.to_string())),
        }
    }
}

/// The ordered queue between the engine and JavaScript.
struct Outbox {
    batch: Mutex<Batch>,
    wake_pending: AtomicBool,
    wake: Mutex<Option<WakeFn>>,
}

impl Outbox {
    /// Writes the oldest records into `out` (see [`Batch::drain_into`]);
    /// returns `numbers * 2 + 1` when strings wait to be taken, else
    /// `numbers * 2`.
    fn drain_into(&self, out: &mut [f64]) -> u32 {
        self.wake_pending.store(false, Ordering::SeqCst);
        let mut b = self.batch.lock();
        let n = b.drain_into(out);
        (n as u32) * 2 + u32::from(!b.strs.is_empty())
    }

    /// Asks JavaScript to drain, once per burst — when there is a wake-up
    /// (the facade holds one only while work is in flight or the manager is
    /// started; otherwise whatever it calls next drains the records).
    fn wake(&self) {
        let wake = self.wake.lock();
        let Some(f) = wake.as_ref() else {
            return;
        };
        if self.batch.lock().is_empty() || self.wake_pending.swap(true, Ordering::SeqCst) {
            return;
        }
        f.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

impl Invoker for Outbox {
    fn invoke(&self, i: Invocation) {
        let flags = u8::from(i.retryable) | (u8::from(i.conditions) << 1);
        self.batch.lock().push([
            op::RUN,
            i.call as f64,
            f64::from(i.unit),
            f64::from(i.attempt),
            f64::from(flags),
            i.task.map_or(-1.0, |t| t as f64),
        ]);
    }

    fn abort(&self, call: CallId, reason: AbortReason) {
        self.batch.lock().push([
            op::ABORT,
            call as f64,
            f64::from(reason as u8),
            0.0,
            0.0,
            0.0,
        ]);
    }
}

impl EventSink for Outbox {
    fn emit(&self, event: Event) {
        let mut b = self.batch.lock();
        let r = match event {
            Event::Status {
                unit,
                previous,
                current,
                reason,
            } => [
                op::STATUS,
                f64::from(unit),
                f64::from(previous as u8),
                f64::from(current as u8),
                f64::from(reason as u8),
                0.0,
            ],
            Event::Config { unit } => [op::CONFIG, f64::from(unit), 0.0, 0.0, 0.0, 0.0],
            Event::Enabled { unit, enabled } => [
                op::ENABLED,
                f64::from(unit),
                if enabled { 1.0 } else { 0.0 },
                0.0,
                0.0,
                0.0,
            ],
            Event::Parent { unit, process } => [
                op::PARENT,
                f64::from(unit),
                f64::from(process),
                0.0,
                0.0,
                0.0,
            ],
            Event::Released { unit } => [op::RELEASED, f64::from(unit), 0.0, 0.0, 0.0, 0.0],
            Event::Started { unit } => [op::STARTED, f64::from(unit), 0.0, 0.0, 0.0, 0.0],
            Event::LastRun { unit, wall_ms } => {
                [op::LAST_RUN, f64::from(unit), wall_ms, 0.0, 0.0, 0.0]
            }
            Event::Marked { unit, status } => [
                op::MARKED,
                f64::from(unit),
                f64::from(status as u8),
                0.0,
                0.0,
                0.0,
            ],
            Event::Stats {
                unit,
                duration_ms,
                run_count,
                average_ms,
            } => [
                op::STATS,
                f64::from(unit),
                duration_ms,
                run_count as f64,
                average_ms,
                0.0,
            ],
            Event::Completed {
                unit,
                call,
                duration_ms,
            } => [
                op::COMPLETED,
                f64::from(unit),
                call.map_or(-1.0, |c| c as f64),
                duration_ms,
                0.0,
                0.0,
            ],
            Event::Errored {
                unit,
                failure,
                culprit,
            } => {
                let (reference, msg) = b.failure(failure);
                let culprit = culprit.map_or(-1.0, f64::from);
                [op::ERRORED, f64::from(unit), reference, msg, culprit, 0.0]
            }
            Event::Failed { unit } => [op::FAILED, f64::from(unit), 0.0, 0.0, 0.0, 0.0],
            Event::Retry {
                unit,
                attempt,
                delay_ms,
                failure,
            } => {
                let (reference, msg) = b.failure(failure);
                [
                    op::RETRY,
                    f64::from(unit),
                    f64::from(attempt),
                    delay_ms,
                    reference,
                    msg,
                ]
            }
            Event::ProcessPhase {
                unit,
                phase,
                run_mode,
            } => [
                op::PHASE,
                f64::from(unit),
                f64::from(phase as u8),
                f64::from(run_mode as u8),
                0.0,
                0.0,
            ],
            Event::Skipped { unit, reason } => [
                op::SKIPPED,
                f64::from(unit),
                f64::from(reason as u8),
                0.0,
                0.0,
                0.0,
            ],
            Event::Stalled {
                unit,
                running_for_ms,
                event_loop,
            } => [
                op::STALLED,
                f64::from(unit),
                running_for_ms,
                if event_loop { 1.0 } else { 0.0 },
                0.0,
                0.0,
            ],
            Event::Unpaused { unit } => [op::UNPAUSED, f64::from(unit), 0.0, 0.0, 0.0, 0.0],
            Event::IdleRelease { unit, idle_ms } => {
                [op::IDLE_RELEASE, f64::from(unit), idle_ms, 0.0, 0.0, 0.0]
            }
            Event::StatsDue => [op::STATS_DUE, 0.0, 0.0, 0.0, 0.0, 0.0],
            Event::TaskStatus {
                task,
                status,
                worker,
            } => [
                op::TASK_STATUS,
                task as f64,
                f64::from(status as u8),
                worker.map_or(-1.0, f64::from),
                0.0,
                0.0,
            ],
            Event::TaskDone { task, outcome } => match outcome {
                TaskOutcome::Completed { call } => {
                    [op::TASK_DONE, task as f64, 0.0, call as f64, 0.0, 0.0]
                }
                TaskOutcome::Failed(failure) => {
                    let (reference, msg) = b.failure(failure);
                    [op::TASK_DONE, task as f64, 1.0, reference, msg, 0.0]
                }
                TaskOutcome::Cancelled => [op::TASK_DONE, task as f64, 2.0, 0.0, 0.0, 0.0],
                TaskOutcome::Dropped(e) => {
                    let (reference, msg) = b.failure(Failure::Engine(e));
                    [op::TASK_DONE, task as f64, 3.0, reference, msg, 0.0]
                }
            },
            Event::PoolIdle { pool } => [op::POOL_IDLE, f64::from(pool), 0.0, 0.0, 0.0, 0.0],
            Event::Done { ticket, error } => match error {
                None => [op::DONE, ticket as f64, 0.0, 0.0, -1.0, 0.0],
                Some((worker, e)) => {
                    let code = f64::from(e.code() as u8);
                    let msg = b.string(e.to_string());
                    // The unit's id too: the unit may be released by the
                    // time the facade reads the record.
                    let id = b.string(e.unit_id().to_owned());
                    [op::DONE, ticket as f64, code, msg, f64::from(worker), id]
                }
            },
        };
        b.push(r);
    }
}

/// Turns an engine error into a JavaScript error whose message starts with
/// the stable code; the facade turns it into a `SynchronikError`.
fn engine_error(e: &EngineError) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{}: {}", e.code().as_str(), e),
    )
}

/// One engine, owned by one JavaScript manager.
#[napi]
pub struct NativeEngine {
    runtime: Arc<Runtime>,
    outbox: Arc<Outbox>,
    handle: u32,
}

#[napi]
impl NativeEngine {
    /// Creates an engine. Its thread wakes JavaScript only through the
    /// function given to [`NativeEngine::set_wake`].
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, options: Option<JsEngineOptions>) -> Result<Self> {
        let options = options.unwrap_or(JsEngineOptions {
            manual_clock: None,
            manual_start_ms: None,
            loop_interval_ms: None,
            watcher_interval_ms: None,
            stall_threshold_ms: None,
            auto_unpause_ms: None,
            release_idle_after_ms: None,
            stats_interval_ms: None,
            liveness: None,
            out: None,
            inbox: None,
        });
        let manual = options.manual_clock.unwrap_or(false);
        let defaults = EngineOptions::default();
        let engine_options = EngineOptions {
            loop_interval_ms: options
                .loop_interval_ms
                .unwrap_or(defaults.loop_interval_ms),
            watcher_interval_ms: options
                .watcher_interval_ms
                .unwrap_or(defaults.watcher_interval_ms),
            stall_threshold_ms: options.stall_threshold_ms,
            auto_unpause_ms: options.auto_unpause_ms,
            release_idle_after_ms: options.release_idle_after_ms,
            stats_interval_ms: options.stats_interval_ms,
        };
        let liveness = options.liveness.map(|cell| JsLiveness { cell });
        let (Some(out), Some(inbox)) = (options.out, options.inbox) else {
            return Err(Error::new(
                Status::InvalidArg,
                "the out and inbox buffers are required".to_owned(),
            ));
        };
        let outbox = Arc::new(Outbox {
            batch: Mutex::new(Batch::default()),
            wake_pending: AtomicBool::new(false),
            wake: Mutex::new(None),
        });
        let clock = if manual {
            ClockChoice::Manual(Arc::new(match options.manual_start_ms {
                Some(ms) if ms.is_finite() => ManualClock::starting_at(ms),
                _ => ManualClock::new(),
            }))
        } else {
            ClockChoice::System(Arc::new(SystemClock::new()))
        };
        let waker = Arc::downgrade(&outbox);
        let runtime = Runtime::new(
            clock,
            outbox.clone(),
            outbox.clone(),
            Box::new(move || {
                if let Some(o) = waker.upgrade() {
                    o.wake();
                }
            }),
        )
        .map_err(|e| Error::from_reason(format!("cannot start the engine thread: {e}")))?;
        runtime.with(|e| {
            e.set_options(engine_options);
            // The facade mirrors units in a table indexed by slot: a slot
            // names a new unit only after the facade carried out its release.
            e.set_host_acknowledges_releases(true);
            if let Some(l) = liveness {
                e.set_liveness(Arc::new(l));
            }
        });
        let runtime = Arc::new(runtime);
        // Stop the engine's thread before this environment (a worker thread,
        // say) goes away, even if the JavaScript object was never collected.
        let weak: Weak<Runtime> = Arc::downgrade(&runtime);
        let weak_outbox = Arc::downgrade(&outbox);
        env.add_env_cleanup_hook((weak, weak_outbox), |(rt, ob)| {
            if let Some(ob) = ob.upgrade() {
                ob.wake.lock().take();
            }
            if let Some(rt) = rt.upgrade() {
                rt.shutdown();
            }
        })?;
        let handle = fast::register(fast::Shared {
            runtime: runtime.clone(),
            outbox: outbox.clone(),
            out: Mutex::new(out),
            inbox: Mutex::new(inbox),
            advances: Mutex::new(Vec::new()),
            next_advance: Mutex::new(0),
        });
        Ok(Self {
            runtime,
            outbox,
            handle,
        })
    }

    /// Sets the wake-up: `wake` is called (on the JavaScript thread) when the
    /// engine's thread produced records, and should drain them. It goes
    /// through a weak threadsafe function that exists only while one is set:
    /// the facade sets it while the manager is started or has work in
    /// flight and clears it (`undefined`) otherwise, so that a stopped
    /// manager holds no handle at all.
    #[napi(catch_unwind)]
    pub fn set_wake(&self, wake: Option<Function<(), ()>>) -> Result<()> {
        let mut slot = self.outbox.wake.lock();
        match wake {
            None => {
                // Released here; queued calls are dropped by Node.
                slot.take();
            }
            Some(f) => {
                if slot.is_none() {
                    let tsfn: WakeFn = f.build_threadsafe_function().weak::<true>().build()?;
                    *slot = Some(tsfn);
                    // A wake-up that found none did not happen: let the next
                    // one through.
                    self.outbox.wake_pending.store(false, Ordering::SeqCst);
                }
            }
        }
        Ok(())
    }

    /// The number that the hot-path functions (`engineDrain`, …) take to
    /// find this engine.
    #[napi(catch_unwind)]
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Registers a worker; returns its slot.
    #[napi(catch_unwind)]
    pub fn register_worker(&self, spec: JsWorkerSpec) -> Result<Vec<u32>> {
        let spec = WorkerSpec::try_from(spec)?;
        self.runtime
            .with(|e| e.register(UnitSpec::Worker(spec)))
            .map_err(|e| engine_error(&e))
    }

    /// Registers a process and its workers; returns the process's slot, then
    /// its workers' slots in order.
    #[napi(catch_unwind)]
    pub fn register_process(&self, spec: JsProcessSpec) -> Result<Vec<u32>> {
        let spec = ProcessSpec::try_from(spec)?;
        self.runtime
            .with(|e| e.register(UnitSpec::Process(spec)))
            .map_err(|e| engine_error(&e))
    }

    /// Restores a unit's stored state without announcing it (hydration).
    #[napi(catch_unwind)]
    pub fn restore(
        &self,
        id: String,
        status: Option<String>,
        enabled: Option<bool>,
        run_count: Option<f64>,
        execution_times_ms: Option<Float64Array>,
        last_run_ms: Option<f64>,
    ) -> bool {
        let state = RestoredState {
            status: status.as_deref().and_then(UnitStatus::parse),
            enabled,
            run_count: run_count.filter(|n| *n >= 0.0).map(|n| n as u64),
            execution_times_ms: execution_times_ms.map(|t| t.to_vec()).unwrap_or_default(),
            last_run_ms,
        };
        self.runtime.with(|e| e.restore(&id, &state))
    }

    /// Removes a unit; false for an unknown id.
    #[napi(catch_unwind)]
    pub fn release(&self, id: String) -> bool {
        let (released, trim) = self.runtime.with(|e| (e.release(&id), e.take_trim_hint()));
        trim_after(trim);
        released
    }

    /// The facade carried out the release of these slots: the engine may
    /// give them to new units.
    #[napi(catch_unwind)]
    pub fn acknowledge_released(&self, slots: Vec<u32>) {
        self.runtime.with(|e| e.acknowledge_released(&slots));
    }

    /// Ends the runs in flight of a unit with ERR_RELEASED, keeping it (what
    /// re-registering its id does first); false for an unknown id.
    #[napi(catch_unwind)]
    pub fn end_runs(&self, id: String) -> bool {
        self.runtime.with(|e| e.end_runs(&id))
    }

    /// Slots of all units in registration order.
    #[napi(catch_unwind)]
    pub fn ordered_slots(&self) -> Vec<u32> {
        self.runtime.with(|e| e.registry().ordered().collect())
    }

    /// Sets a status; false for an unknown id.
    #[napi(catch_unwind)]
    pub fn update_status(&self, id: String, status: String) -> Result<bool> {
        let status = UnitStatus::parse(&status)
            .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown status {status}")))?;
        Ok(self.runtime.with(|e| e.update_status(&id, status)))
    }

    /// Enables or disables a unit; false for an unknown id.
    #[napi(catch_unwind)]
    pub fn set_enabled(&self, id: String, enabled: bool) -> bool {
        self.runtime.with(|e| e.set_enabled(&id, enabled))
    }

    /// Changes settings; false for an unknown id.
    #[napi(catch_unwind)]
    pub fn update_config(&self, id: String, patch: JsConfigPatch) -> Result<bool> {
        let patch = ConfigPatch::try_from(patch)?;
        Ok(self.runtime.with(|e| e.update_config(&id, &patch)))
    }

    /// Every paused unit becomes idle.
    #[napi(catch_unwind)]
    pub fn start_all(&self) {
        self.runtime.with(|e| e.start_all());
    }

    /// Every unit becomes paused.
    #[napi(catch_unwind)]
    pub fn stop_all(&self) {
        self.runtime.with(|e| e.stop_all());
    }

    /// Reports the conditions evaluated on the result of attempt `call`:
    /// pairs `[dependent slot, holds (1 or 0)]`.
    #[napi(catch_unwind)]
    pub fn report_conditions(&self, call: f64, results: Float64Array) {
        let pairs: Vec<(Slot, bool)> = results
            .chunks_exact(2)
            .map(|p| (p[0] as Slot, p[1] != 0.0))
            .collect();
        self.runtime
            .with(|e| e.report_conditions(call as CallId, &pairs));
    }

    /// Reports the delay before the retry after attempt `call`.
    #[napi(catch_unwind)]
    pub fn report_retry_delay(&self, call: f64, delay_ms: f64) {
        self.runtime
            .with(|e| e.report_retry_delay(call as CallId, delay_ms));
    }

    /// Current engine time in ms (the manual clock's, or the system clock's).
    #[napi(catch_unwind)]
    pub fn now(&self) -> f64 {
        synchronik_core::nanos_to_ms(self.runtime.clock().now())
    }

    /// Manual clock only: starts an advance by `ms`; returns its number
    /// (for `engineFireNext` and `finishAdvance`), or -1 when the clock
    /// would pass its limit.
    #[napi(catch_unwind)]
    pub fn begin_advance(&self, ms: f64) -> f64 {
        fast::begin_advance(self.handle, ms)
    }

    /// Manual clock only: ends an advance, moving the clock to its target.
    #[napi(catch_unwind)]
    pub fn finish_advance(&self, id: u32) {
        fast::finish_advance(self.handle, id);
    }

    /// Starts the scheduler and the watcher (idempotent).
    #[napi(catch_unwind)]
    pub fn start(&self) {
        self.runtime.with(|e| e.start());
    }

    /// Whether the scheduler is started.
    #[napi(catch_unwind)]
    pub fn is_started(&self) -> bool {
        self.runtime.with(|e| e.is_started())
    }

    /// Stops scheduling; returns the ticket that ends when nothing is in
    /// flight (what is left at `timeout_ms` is aborted). `closing`: the
    /// manager closes; `caller`: the attempt whose `run` called stop (> 0),
    /// whose run the stop does not wait for.
    #[napi(catch_unwind)]
    pub fn stop(&self, timeout_ms: Option<f64>, closing: bool, caller: f64) -> f64 {
        let options = StopOptions {
            timeout_ms,
            closing,
            caller: (caller >= 1.0).then_some(caller as CallId),
        };
        self.runtime.with(|e| e.stop_with(options)) as f64
    }

    /// One scheduler sweep now; returns the tickets of the runs it started.
    #[napi(catch_unwind)]
    pub fn run_loop_once(&self) -> Vec<f64> {
        self.runtime
            .with(|e| e.run_loop_once())
            .into_iter()
            .map(|t| t as f64)
            .collect()
    }

    /// One watcher scan now.
    #[napi(catch_unwind)]
    pub fn watcher_scan(&self) {
        self.runtime.with(|e| e.watcher_scan());
    }

    /// The earliest deadline (ms) of a timer that exists because work is in
    /// flight, or -1.
    #[napi(catch_unwind)]
    pub fn next_one_shot(&self) -> f64 {
        self.runtime
            .with(|e| e.next_one_shot_deadline())
            .map_or(-1.0, synchronik_core::nanos_to_ms)
    }

    /// Counts for `getEngineStats`: [units, runs in progress, attempts in
    /// flight, pool tasks queued].
    #[napi(catch_unwind)]
    pub fn counts(&self) -> Vec<f64> {
        self.runtime.with(|e| {
            vec![
                e.registry().len() as f64,
                e.active_runs() as f64,
                e.in_flight() as f64,
                e.pool_queued() as f64,
            ]
        })
    }

    /// Room held by the engine's structures (for tests of memory that a
    /// burst or churn leaves behind): `slots`, `slotsWaiting`,
    /// `taskCapacity`, `timerCapacity`, `runCapacity`, `outboxCapacity`.
    #[napi(catch_unwind)]
    pub fn memory(&self) -> EngineMemory {
        let m = self.runtime.with(|e| e.memory());
        EngineMemory {
            slots: m.slots as f64,
            slots_waiting: m.slots_waiting as f64,
            task_capacity: m.task_capacity as f64,
            timer_capacity: m.timer_capacity as f64,
            run_capacity: m.run_capacity as f64,
            outbox_capacity: (self.outbox.batch.lock().ops.capacity() / STRIDE) as f64,
        }
    }

    /// The pool called `name` (created if needed).
    #[napi(catch_unwind)]
    pub fn pool(&self, name: String) -> u32 {
        self.runtime.with(|e| e.pool(&name))
    }

    /// Makes the registered worker in `slot` a worker of the pool.
    #[napi(catch_unwind)]
    pub fn pool_attach(&self, pool: u32, slot: u32) {
        self.runtime.with(|e| e.pool_attach(pool, slot));
    }

    /// Whether the unit in `slot` is a worker of a pool (attached with
    /// `poolAttach`); pool workers' state is the pool's and is not stored.
    #[napi(catch_unwind)]
    pub fn is_pool_worker(&self, slot: u32) -> bool {
        self.runtime.with(|e| e.is_pool_worker(slot))
    }

    /// Removes up to `count` idle workers (last first); returns their ids.
    #[napi(catch_unwind)]
    pub fn pool_shrink(&self, pool: u32, count: u32) -> Vec<String> {
        self.runtime.with(|e| e.pool_shrink(pool, count as usize))
    }

    /// Queues a named task: `[task id, arrangement id]`, or `[]` when a
    /// pending task has the same name.
    #[napi(catch_unwind)]
    pub fn pool_add(
        &self,
        pool: u32,
        name: String,
        priority: f64,
        handler: Option<String>,
    ) -> Vec<f64> {
        let spec = TaskSpec {
            name: Some(name),
            priority,
            handler,
        };
        match self.runtime.with(|e| e.pool_add(pool, spec)) {
            Ok((task, arrangement)) => vec![task as f64, arrangement as f64],
            Err(_) => Vec::new(),
        }
    }

    /// Queues anonymous tasks of the given priorities at once; their task
    /// ids and arrangement ids are consecutive from the first ones returned.
    #[napi(catch_unwind)]
    pub fn pool_add_many(&self, pool: u32, priorities: Float64Array) -> Added {
        let (first_task, first_arrangement) = self
            .runtime
            .with(|e| e.pool_add_many(pool, &priorities))
            .map_or((-1.0, -1.0), |(t, a)| (t as f64, a as f64));
        Added {
            first_task,
            first_arrangement,
        }
    }

    /// Pauses the pending task `name`; false when there is none to pause.
    #[napi(catch_unwind)]
    pub fn pool_pause(&self, pool: u32, name: String) -> bool {
        self.runtime.with(|e| e.pool_pause(pool, &name))
    }

    /// Resumes the paused task `name`; false when there is none.
    #[napi(catch_unwind)]
    pub fn pool_resume(&self, pool: u32, name: String) -> bool {
        self.runtime.with(|e| e.pool_resume(pool, &name))
    }

    /// Removes the pending tasks called `name`; returns how many.
    #[napi(catch_unwind)]
    pub fn pool_cancel(&self, pool: u32, name: String) -> u32 {
        let (n, trim) = self
            .runtime
            .with(|e| (e.pool_cancel(pool, &name), e.take_trim_hint()));
        trim_after(trim);
        n as u32
    }

    /// Cancels one task (queued: removed; running: aborted).
    #[napi(catch_unwind)]
    pub fn pool_cancel_task(&self, task: f64) -> bool {
        let (cancelled, trim) = self
            .runtime
            .with(|e| (e.pool_cancel_task(task as TaskId), e.take_trim_hint()));
        trim_after(trim);
        cancelled
    }

    /// Moves a pending task to a new priority.
    #[napi(catch_unwind)]
    pub fn pool_reprioritize(&self, pool: u32, name: String, priority: f64) -> bool {
        self.runtime
            .with(|e| e.pool_reprioritize(pool, &name, priority))
    }

    /// Gives the pending task `name`, which names a handler, a new one;
    /// false when there is no such task.
    #[napi(catch_unwind)]
    pub fn pool_set_task_handler(&self, pool: u32, name: String, handler: String) -> bool {
        self.runtime
            .with(|e| e.pool_set_task_handler(pool, &name, &handler))
            .is_some()
    }

    /// Names of the pending tasks in run order.
    #[napi(catch_unwind)]
    pub fn pool_pending(&self, pool: u32) -> Vec<String> {
        self.runtime.with(|e| e.pool_pending(pool))
    }

    /// Whether the pool has nothing queued and nothing running.
    #[napi(catch_unwind)]
    pub fn pool_is_idle(&self, pool: u32) -> bool {
        self.runtime.with(|e| e.pool_is_idle(pool))
    }

    /// Starts or stops dispatching.
    #[napi(catch_unwind)]
    pub fn pool_set_started(&self, pool: u32, started: bool) {
        self.runtime.with(|e| e.pool_set_started(pool, started));
    }

    /// Whether the handler `name` is defined.
    #[napi(catch_unwind)]
    pub fn pool_handler(&self, pool: u32, name: String, defined: bool) {
        self.runtime.with(|e| e.pool_handler(pool, &name, defined));
    }

    /// Stops the engine's thread and drops the wake-up. The engine can no
    /// longer fire timers afterwards.
    #[napi(catch_unwind)]
    pub fn dispose(&self) {
        self.outbox.wake.lock().take();
        self.runtime.shutdown();
    }
}

impl Drop for NativeEngine {
    fn drop(&mut self) {
        fast::unregister(self.handle);
    }
}

impl TryFrom<JsWorkerSpec> for WorkerSpec {
    type Error = Error;

    fn try_from(s: JsWorkerSpec) -> Result<Self> {
        let retry_delay = if s.retry_delay_per_retry.unwrap_or(false) {
            RetryDelay::PerRetry
        } else {
            RetryDelay::Fixed(s.retry_delay_ms.unwrap_or(0.0))
        };
        Ok(WorkerSpec {
            common: common(s.id, s.enabled, s.status, s.run_count)?,
            config: WorkerConfig {
                interval_ms: s.interval_ms,
                run_on_interval: s.run_on_interval.unwrap_or(false),
                max_runs: s.max_runs.map(|m| m as u64),
                timeout_ms: s.timeout_ms.unwrap_or(10_000.0),
                max_retries: s.max_retries.unwrap_or(0),
                retry_delay,
                overlap: overlap(s.overlap)?.unwrap_or(Overlap::Skip),
                depends_on: s
                    .depends_on
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| Dependency {
                        id: d.id,
                        conditional: d.conditional,
                    })
                    .collect(),
            },
        })
    }
}

impl TryFrom<JsProcessSpec> for ProcessSpec {
    type Error = Error;

    fn try_from(s: JsProcessSpec) -> Result<Self> {
        let defaults = ProcessConfig::default();
        Ok(ProcessSpec {
            common: common(s.id, s.enabled, s.status, s.run_count)?,
            config: ProcessConfig {
                run_mode: run_mode(s.run_mode)?.unwrap_or(defaults.run_mode),
                batch_size: s.batch_size.unwrap_or(defaults.batch_size),
                isolation_delay_ms: s.isolation_delay_ms.unwrap_or(defaults.isolation_delay_ms),
                concurrency: s.concurrency,
            },
            workers: s
                .workers
                .into_iter()
                .map(WorkerSpec::try_from)
                .collect::<Result<_>>()?,
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
        let status = p
            .status
            .map(|s| {
                UnitStatus::parse(&s)
                    .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown status {s}")))
            })
            .transpose()?;
        Ok(ConfigPatch {
            enabled: p.enabled,
            status,
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
        })
    }
}

fn common(
    id: String,
    enabled: Option<bool>,
    status: Option<String>,
    runs: Option<f64>,
) -> Result<CommonSpec> {
    let status = match status {
        None => UnitStatus::Idle,
        Some(s) => UnitStatus::parse(&s)
            .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown status {s}")))?,
    };
    Ok(CommonSpec {
        id,
        enabled: enabled.unwrap_or(true),
        status,
        run_count: runs.map_or(0, |r| r as u64),
    })
}

fn overlap(o: Option<String>) -> Result<Option<Overlap>> {
    o.map(|o| {
        Overlap::parse(&o)
            .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown overlap {o}")))
    })
    .transpose()
}

fn run_mode(m: Option<String>) -> Result<Option<RunMode>> {
    m.map(|m| {
        RunMode::parse(&m)
            .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown runMode {m}")))
    })
    .transpose()
}
