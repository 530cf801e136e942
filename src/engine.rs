//! The engine object JavaScript holds: one per manager. It creates the
//! engine and its thread, registers it for the hot path (`fast.rs`), and
//! exposes every call that is not on the hot path as a method.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use synchronik_core::{
    CallId, ClockChoice, ConfigPatch, EngineOptions, Liveness, ManualClock, ProcessSpec,
    RestoredState, Runtime, Slot, Status as UnitStatus, StopOptions, SystemClock, TaskId, TaskSpec,
    UnitSpec, WorkerSpec,
};

use crate::cleanup::EnvHook;
use crate::convert::{self, RegistrationProblem};
use crate::dashboard::{Dashboards, Observer};
use crate::fast;
use crate::options::{JsConfigPatch, JsEngineOptions, JsProcessSpec, JsWorkerSpec};
use crate::outbox::{Outbox, WakeFn};
use crate::trim_after;

/// A process registered, or refused ([`NativeEngine::register_process`]).
#[napi(object)]
pub struct ProcessRegistration {
    /// The process's slot, then its workers' slots in order; empty when
    /// refused.
    pub slots: Vec<u32>,
    /// Why the engine refused it (nothing was stored).
    pub problem: Option<RegistrationProblem>,
}

/// What JavaScript executes and how its event loop fares: a view of the
/// facade's SharedArrayBuffer `[call, slot, heartbeat, blocked ms, lag ms,
/// waiting]` (`call` and `slot` written around every synchronous call into
/// a user's `run`, the next three by the lag sampler, `waiting` by the
/// outbox). The watcher reads the first two; the dashboard the first five.
/// A cell of two numbers (an older facade) has no sampler: its other slots
/// read as 0, and writes past its end are dropped.
pub(crate) struct JsLiveness {
    cell: Float64Array,
}

impl JsLiveness {
    /// Number `i` of the cell (0 past its end).
    fn load(&self, i: usize) -> f64 {
        if i >= self.cell.len() {
            return 0.0;
        }
        let base = self.cell.as_ptr().cast::<std::sync::atomic::AtomicU64>();
        // SAFETY: `cell` keeps its SharedArrayBuffer alive and holds more
        // than `i` 8-byte aligned f64 (checked above); such a buffer is never
        // detached or moved. JavaScript writes whole 8-byte values, which we
        // read with atomic loads, so a read sees an old or a new value.
        f64::from_bits(unsafe { (*base.add(i)).load(Ordering::Relaxed) })
    }

    /// Writes number `i` of the cell (nothing past its end).
    pub(crate) fn store(&self, i: usize, value: f64) {
        if i >= self.cell.len() {
            return;
        }
        let base = self.cell.as_ptr().cast::<std::sync::atomic::AtomicU64>();
        // SAFETY: as in `load`; JavaScript reads whole 8-byte values.
        unsafe { (*base.add(i)).store(value.to_bits(), Ordering::Relaxed) }
    }

    /// The whole cell.
    pub(crate) fn read(&self) -> [f64; 5] {
        std::array::from_fn(|i| self.load(i))
    }
}

impl Liveness for JsLiveness {
    fn current_call(&self) -> Option<(CallId, Slot)> {
        if self.cell.len() < 2 {
            return None;
        }
        let (call, slot) = (self.load(0), self.load(1));
        (call >= 1.0 && slot >= 0.0).then_some((call as CallId, slot as Slot))
    }
}

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

/// The answer of `poolAddMany`.
#[napi(object)]
pub struct Added {
    pub first_task: f64,
    pub first_arrangement: f64,
}

/// One engine, owned by one JavaScript manager.
#[napi]
pub struct NativeEngine {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) outbox: Arc<Outbox>,
    /// The engine as its thread pools' threads find it (made on first use).
    threads_host: std::sync::OnceLock<crate::threads::HostEntry>,
    handle: fast::Handle,
    /// What the dashboards and `metrics()` read.
    pub(crate) observer: Arc<Observer>,
    /// The dashboards served, closed with the engine.
    pub(crate) dashboards: Arc<Dashboards>,
    /// Stops the engine's thread and closes its dashboards if this
    /// environment goes away first; removed with the engine.
    _teardown: EnvHook,
    /// Close the engine's stores if this environment goes away first.
    pub(crate) store_teardowns: std::cell::RefCell<Vec<EnvHook>>,
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
            unit_metrics: None,
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
        let liveness = options.liveness.map(|cell| Arc::new(JsLiveness { cell }));
        let unit_metrics = options.unit_metrics.unwrap_or(false);
        let (Some(out), Some(inbox)) = (options.out, options.inbox) else {
            return Err(Error::new(
                Status::InvalidArg,
                "the out and inbox buffers are required".to_owned(),
            ));
        };
        let outbox = Arc::new(Outbox::default());
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
            if let Some(l) = &liveness {
                e.set_liveness(l.clone());
            }
            outbox.batch.lock().set_waiting_cell(liveness.clone());
            e.set_unit_metrics(unit_metrics);
        });
        let runtime = Arc::new(runtime);
        // Stop the engine's thread before this environment (a worker thread,
        // say) goes away, even if the JavaScript object was never collected.
        let weak: Weak<Runtime> = Arc::downgrade(&runtime);
        let weak_outbox = Arc::downgrade(&outbox);
        let dashboards = Arc::new(Dashboards::default());
        let weak_dashboards = Arc::downgrade(&dashboards);
        let teardown = EnvHook::new(&env, move || {
            if let Some(ds) = weak_dashboards.upgrade() {
                ds.close_all();
            }
            if let Some(ob) = weak_outbox.upgrade() {
                ob.wake.lock().take();
            }
            if let Some(rt) = weak.upgrade() {
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
        })?;
        let observer = Arc::new(Observer::new(
            runtime.clone(),
            &outbox,
            liveness,
            unit_metrics,
        ));
        Ok(Self {
            runtime,
            outbox,
            handle,
            observer,
            dashboards,
            threads_host: std::sync::OnceLock::new(),
            _teardown: teardown,
            store_teardowns: std::cell::RefCell::new(Vec::new()),
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
    pub fn handle(&self) -> fast::Handle {
        self.handle
    }

    /// Checks a worker for registration without storing it: null when the
    /// engine would take it, else what is wrong and where.
    #[napi(catch_unwind)]
    pub fn check_worker(&self, spec: JsWorkerSpec) -> Result<Option<RegistrationProblem>> {
        self.check(UnitSpec::Worker(WorkerSpec::try_from(spec)?))
    }

    /// Checks a process and its workers for registration without storing
    /// them: null when the engine would take them, else what is wrong and
    /// where.
    #[napi(catch_unwind)]
    pub fn check_process(&self, spec: JsProcessSpec) -> Result<Option<RegistrationProblem>> {
        self.check(UnitSpec::Process(ProcessSpec::try_from(spec)?))
    }

    /// Registers a process and its workers: their slots, the process's
    /// first, or what is wrong and where when the engine refuses them (it
    /// checks them as [`NativeEngine::check_process`] does, before it
    /// stores anything, so that a process whose ids are all new needs no
    /// separate check: its spec is converted once).
    #[napi(catch_unwind)]
    pub fn register_process(&self, spec: JsProcessSpec) -> Result<ProcessRegistration> {
        let spec = ProcessSpec::try_from(spec)?;
        match self.runtime.with(|e| e.register(UnitSpec::Process(spec))) {
            Ok(slots) => Ok(ProcessRegistration {
                slots,
                problem: None,
            }),
            // The engine checks a unit before it stores anything of it.
            Err(e) => Ok(ProcessRegistration {
                slots: Vec::new(),
                problem: Some(convert::registration_problem(e)?),
            }),
        }
    }

    /// Restores a unit's stored state without announcing it (hydration).
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        &self,
        id: String,
        status: Option<String>,
        enabled: Option<bool>,
        run_count: Option<f64>,
        execution_times_ms: Option<Float64Array>,
        last_run_ms: Option<f64>,
        last_fire_ms: Option<f64>,
    ) -> bool {
        let state = RestoredState {
            status: status.as_deref().and_then(UnitStatus::parse),
            enabled,
            run_count: run_count.filter(|n| *n >= 0.0).map(|n| n as u64),
            execution_times_ms: execution_times_ms.map(|t| t.to_vec()).unwrap_or_default(),
            last_run_ms,
            last_fire_ms,
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
        let status = convert::status(&status)?;
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
            outbox_capacity: self.outbox.capacity_records() as f64,
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

    /// Adds a task (named or not) that is queued at `at_ms` (Unix ms, on
    /// the engine's clock): `[task id, arrangement id]`, or `[]` when a
    /// pending task has the same name.
    #[napi(catch_unwind)]
    pub fn pool_add_at(
        &self,
        pool: u32,
        name: Option<String>,
        priority: f64,
        handler: Option<String>,
        at_ms: f64,
    ) -> Vec<f64> {
        let spec = TaskSpec {
            name,
            priority,
            handler,
        };
        match self.runtime.with(|e| e.pool_add_at(pool, spec, at_ms)) {
            Ok((task, arrangement)) => vec![task as f64, arrangement as f64],
            Err(_) => Vec::new(),
        }
    }

    /// The wall-clock time now on the engine's clock (Unix ms).
    #[napi(catch_unwind)]
    pub fn wall_ms(&self) -> f64 {
        self.runtime.with(|e| e.wall_ms())
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

    /// Stops the engine's thread, closes its dashboards and drops the
    /// wake-up. The engine can no longer fire timers afterwards.
    #[napi(catch_unwind)]
    pub fn dispose(&self) {
        self.dashboards.close_all();
        self.outbox.wake.lock().take();
        self.runtime.shutdown();
    }
}

impl Drop for NativeEngine {
    fn drop(&mut self) {
        fast::unregister(self.handle);
    }
}

impl NativeEngine {
    pub(crate) fn host(&self) -> &crate::threads::HostEntry {
        self.threads_host.get_or_init(|| {
            crate::threads::HostEntry::new(self.runtime.clone(), self.outbox.clone())
        })
    }

    fn check(&self, spec: UnitSpec) -> Result<Option<RegistrationProblem>> {
        match self.runtime.with(|e| e.check_registration(&spec)) {
            Ok(()) => Ok(None),
            Err(e) => convert::registration_problem(e).map(Some),
        }
    }
}
