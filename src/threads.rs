//! Thread pools: the calls of the manager's thread (create, run, abort,
//! close, stats, a thread's exit) and the calls of the pool's own threads
//! (register, take, done), which reach the engine directly.
//!
//! Every worker thread loads this addon. A thread finds its manager's
//! engine by number in a process-wide table that holds weak references
//! only ([`HOSTS`]), so an engine is never kept alive by its threads. Each
//! thread hands the engine a threadsafe function of its own environment;
//! the engine calls it when it assigned the thread a task while the thread
//! waited ([`Runners::wake`]). The thread then takes its task, runs it, and
//! reports the outcome in a call that also gives it its next task, so a busy
//! thread is never woken per task. Outcomes reach the manager's thread as
//! `THREAD_DONE` records with the result's bytes (`engineBlobs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Weak};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::Mutex;

use synchronik_core::{
    NamedThreadTask, RunnerId, Runtime, StoredThreadTask, ThreadGroup, ThreadPoolSpec,
    ThreadRunError, ThreadTaskRun, ThreadTaskSpec,
};

use crate::convert::engine_error;
use crate::engine::NativeEngine;
use crate::outbox::Outbox;

/// A thread's wake-up: ref'd, so the thread's event loop stays alive while
/// the thread belongs to a pool (it ends when the engine terminates it).
type RunnerFn = ThreadsafeFunction<(), (), (), Status, false, false>;

/// The wake-ups of the threads of one engine, by runner.
#[derive(Default)]
pub(crate) struct Runners {
    fns: Mutex<HashMap<RunnerId, RunnerFn>>,
}

impl Runners {
    /// Wakes the thread of `runner` (once a wake-up is pending, calls are
    /// coalesced by the thread taking everything assigned).
    pub(crate) fn wake(&self, runner: RunnerId) {
        if let Some(f) = self.fns.lock().get(&runner) {
            f.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn insert(&self, runner: RunnerId, f: RunnerFn) {
        self.fns.lock().insert(runner, f);
    }

    fn remove(&self, runner: RunnerId) -> Option<RunnerFn> {
        self.fns.lock().remove(&runner)
    }
}

/// What a thread needs of its manager's engine.
pub(crate) struct Host {
    runtime: Arc<Runtime>,
    outbox: Arc<Outbox>,
}

static HOSTS: LazyLock<Mutex<HashMap<u32, Weak<Host>>>> = LazyLock::new(Default::default);
static NEXT_HOST: AtomicU32 = AtomicU32::new(1);

/// An engine made reachable from its pool's threads; unreachable again
/// when dropped.
pub(crate) struct HostEntry {
    id: u32,
    _host: Arc<Host>,
}

impl HostEntry {
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn new(runtime: Arc<Runtime>, outbox: Arc<Outbox>) -> Self {
        let id = NEXT_HOST.fetch_add(1, Ordering::Relaxed);
        let host = Arc::new(Host { runtime, outbox });
        HOSTS.lock().insert(id, Arc::downgrade(&host));
        Self { id, _host: host }
    }
}

impl Drop for HostEntry {
    fn drop(&mut self) {
        HOSTS.lock().remove(&self.id);
    }
}

thread_local! {
    /// The engine this thread reported to last: a thread of a pool calls
    /// with the same one every time, without taking the table's lock.
    static LAST_HOST: std::cell::RefCell<Option<(u32, Weak<Host>)>> = const { std::cell::RefCell::new(None) };
}

fn host(id: u32) -> Result<Arc<Host>> {
    let cached = LAST_HOST.with_borrow(|last| match last {
        Some((at, weak)) if *at == id => weak.upgrade(),
        _ => None,
    });
    if let Some(host) = cached {
        return Ok(host);
    }
    let found = HOSTS.lock().get(&id).cloned();
    let host = found.as_ref().and_then(Weak::upgrade).ok_or_else(|| {
        Error::new(
            Status::GenericFailure,
            "ERR_CLOSED: the manager of this thread pool is closed".to_owned(),
        )
    })?;
    LAST_HOST.with_borrow_mut(|last| *last = found.map(|w| (id, w)));
    Ok(host)
}

impl Host {
    /// Runs `f` on the engine, then wakes the manager's thread for what it produced.
    fn with<R>(&self, f: impl FnOnce(&mut synchronik_core::Engine) -> R) -> R {
        let r = self.runtime.with(f);
        self.outbox.wake();
        r
    }
}

/// A task handed to a thread.
#[napi(object)]
pub struct JsThreadTask {
    pub task: f64,
    pub handler: String,
    pub payload: Buffer,
    /// Set for a named task (`addTask`): its attempt (a durable task's
    /// counts across restarts).
    pub attempt: Option<u32>,
    /// Set for a durable task: its idempotency key.
    pub key: Option<String>,
}

fn to_js(run: Option<ThreadTaskRun>) -> Option<JsThreadTask> {
    run.map(|r| JsThreadTask {
        task: r.task as f64,
        handler: r.handler,
        payload: r.payload.into(),
        attempt: r.named.then_some(r.attempt),
        key: r.key,
    })
}

/// A group of a pool's threads.
#[napi(object)]
pub struct JsThreadGroup {
    pub size: u32,
    pub handlers: Option<Vec<String>>,
}

/// One thread of `threadPoolStats`.
#[napi(object)]
pub struct JsThreadStats {
    pub runner: u32,
    pub handlers: Option<Vec<String>>,
    pub runs: f64,
    pub busy: bool,
    pub ready: bool,
}

/// `threadPoolStats`.
#[napi(object)]
pub struct JsThreadPoolStats {
    pub threads: Vec<JsThreadStats>,
    pub queued: f64,
    pub utilization: f64,
    pub run_count: f64,
    pub run_mean_ms: f64,
    pub wait_count: f64,
    pub wait_mean_ms: f64,
}

/// Blobs that records name by number, end to end: blob number `base + k`
/// is `bytes` from `ends[k - 1]` (0 for the first) to `ends[k]`.
#[napi(object)]
pub struct Blobs {
    pub base: f64,
    pub bytes: Buffer,
    pub ends: Uint32Array,
}

/// A stored task brought back (see `threadPoolStored`).
#[napi(object)]
pub struct JsStoredThreadTask {
    pub key: String,
    pub attempt: u32,
}

/// A stored task of a thread pool, as `threadPoolStored` reads it.
#[napi(object)]
pub struct JsStoredThreadRow {
    pub name: String,
    pub handler: String,
    /// JSON text.
    pub payload: Option<String>,
    pub priority: f64,
    pub key: String,
    /// Attempts started before this process.
    pub attempt: u32,
}

/// What `threadAdd` queued: the task, and its key when it is stored.
#[napi(object)]
pub struct JsThreadAdded {
    pub task: f64,
    pub key: Option<String>,
}

/// The error of a refused run, its message starting with its code.
fn run_error(pool: u32, e: &ThreadRunError) -> Error {
    match e.error() {
        Some(e) => engine_error(e),
        None => Error::new(Status::InvalidArg, format!("no thread pool {pool}")),
    }
}

/// What `threadRunMany` queued: the task id of each, or 0 for one refused,
/// with the refusals' errors (their messages start with their codes) in order.
#[napi(object)]
pub struct RunMany {
    pub tasks: Float64Array,
    pub errors: Vec<String>,
}

#[napi]
impl NativeEngine {
    /// The number by which this engine's pool threads find it.
    #[napi(getter, catch_unwind)]
    pub fn host_id(&self) -> u32 {
        self.host().id()
    }

    /// Creates a thread pool (its threads are asked for by `THREAD_SPAWN` records).
    #[napi(catch_unwind)]
    pub fn thread_pool_create(
        &self,
        name: String,
        groups: Vec<JsThreadGroup>,
        max_queue: Option<f64>,
        idle_timeout_ms: Option<f64>,
    ) -> u32 {
        let spec = ThreadPoolSpec {
            name,
            groups: groups
                .into_iter()
                .map(|g| ThreadGroup {
                    size: g.size,
                    handlers: g.handlers,
                })
                .collect(),
            max_queue: max_queue.filter(|m| m.is_finite()).map(|m| m as usize),
            idle_timeout_ms,
        };
        self.runtime.with(|e| e.thread_pool_create(spec))
    }

    /// Queues a named task (`addTask`; stored with `payload_json` when
    /// the engine has a store). `restored`: a stored task brought back
    /// (its key, attempts and place). Returns its id and its key (stored
    /// tasks only), or an error whose message starts with its code.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn thread_add(
        &self,
        pool: u32,
        name: String,
        handler: String,
        priority: f64,
        payload: Buffer,
        payload_json: Option<String>,
        restored: Option<JsStoredThreadTask>,
    ) -> Result<JsThreadAdded> {
        let spec = ThreadTaskSpec {
            handler,
            priority,
            payload: payload.to_vec(),
        };
        let named = NamedThreadTask {
            name,
            payload_json,
            restored: restored.map(|r| StoredThreadTask {
                key: r.key,
                attempt: r.attempt,
            }),
        };
        match self.runtime.with(|e| e.thread_add(pool, spec, named)) {
            Ok((task, key)) => Ok(JsThreadAdded {
                task: task as f64,
                key,
            }),
            Err(e) => Err(run_error(pool, &e)),
        }
    }

    /// The stored tasks of a new thread pool (by its name) to bring back.
    #[napi(catch_unwind)]
    pub fn thread_pool_stored(&self, pool: u32) -> Result<Vec<JsStoredThreadRow>> {
        let rows = self
            .runtime
            .with(|e| e.thread_pool_stored(pool))
            .map_err(|e| engine_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|r| JsStoredThreadRow {
                name: r.name,
                handler: r.handler,
                payload: r.payload,
                priority: r.priority,
                key: r.key,
                attempt: r.attempt,
            })
            .collect())
    }

    /// Queues tasks in one step: task `k` runs handler `handlers[handler_of[k]]`
    /// with priority `priorities[k]` and the payload `payloads` holds from
    /// `ends[k - 1]` (0 for the first) to `ends[k]`.
    #[napi(catch_unwind)]
    pub fn thread_run_many(
        &self,
        pool: u32,
        handlers: Vec<String>,
        handler_of: Uint32Array,
        priorities: Float64Array,
        payloads: Buffer,
        ends: Uint32Array,
    ) -> Result<RunMany> {
        let n = handler_of.len();
        if priorities.len() != n || ends.len() != n {
            return Err(Error::new(
                Status::InvalidArg,
                "handler_of, priorities and ends must have one entry per task".to_owned(),
            ));
        }
        let mut specs = Vec::with_capacity(n);
        let mut from = 0usize;
        for k in 0..n {
            let to = ends[k] as usize;
            let (Some(handler), Some(payload)) =
                (handlers.get(handler_of[k] as usize), payloads.get(from..to))
            else {
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("task {k} names no handler or no payload"),
                ));
            };
            specs.push(ThreadTaskSpec {
                handler: handler.clone(),
                priority: priorities[k],
                payload: payload.to_vec(),
            });
            from = to;
        }
        let queued = self.runtime.with(|e| e.thread_run_many(pool, specs));
        let mut tasks = Vec::with_capacity(n);
        let mut errors = Vec::new();
        for q in queued {
            match q {
                Ok(task) => tasks.push(task as f64),
                Err(e) => {
                    tasks.push(0.0);
                    errors.push(run_error(pool, &e).reason.clone());
                }
            }
        }
        Ok(RunMany {
            tasks: tasks.into(),
            errors,
        })
    }

    /// What a thread reported when it could not load the pool's module
    /// (serialized), if it did.
    #[napi(catch_unwind)]
    pub fn thread_pool_broken_cause(&self, pool: u32) -> Option<Buffer> {
        self.runtime
            .with(|e| e.thread_pool_broken_cause(pool))
            .map(Buffer::from)
    }

    /// Aborts a task (its signal): false when it is not queued or running.
    #[napi(catch_unwind)]
    pub fn thread_abort(&self, task: f64) -> bool {
        self.runtime.with(|e| e.thread_abort(task as u64))
    }

    /// A pool's thread is gone (the `exit` of its worker).
    #[napi(catch_unwind)]
    pub fn thread_exited(&self, runner: u32, message: String) {
        self.runtime.with(|e| e.thread_exited(runner, &message));
    }

    /// Closes a pool: `destroy` ends its tasks and threads now.
    #[napi(catch_unwind)]
    pub fn thread_pool_close(&self, pool: u32, destroy: bool) {
        self.runtime.with(|e| e.thread_pool_close(pool, destroy));
    }

    /// `pool.stats()`.
    #[napi(catch_unwind)]
    pub fn thread_pool_stats(&self, pool: u32) -> Option<JsThreadPoolStats> {
        let s = self.runtime.with(|e| e.thread_pool_stats(pool))?;
        Some(JsThreadPoolStats {
            threads: s
                .threads
                .into_iter()
                .map(|t| JsThreadStats {
                    runner: t.runner,
                    handlers: t.handlers,
                    runs: t.runs as f64,
                    busy: t.busy,
                    ready: t.ready,
                })
                .collect(),
            queued: s.queued as f64,
            utilization: s.utilization,
            run_count: s.run_count as f64,
            run_mean_ms: s.run_mean_ms,
            wait_count: s.wait_count as f64,
            wait_mean_ms: s.wait_mean_ms,
        })
    }

    /// Takes every blob the records name that was not taken yet.
    #[napi(catch_unwind)]
    pub fn engine_blobs(&self) -> Blobs {
        let (base, bytes, ends) = self.outbox.batch.lock().take_blobs();
        Blobs {
            base: base as f64,
            bytes: bytes.into(),
            ends: ends.into(),
        }
    }
}

/// A pool's thread loaded its module: it registers as `runner` of the
/// engine `host`, with `wake` (called when a task was assigned to it while
/// it waited). Returns its first task, if one waits.
#[napi(catch_unwind)]
pub fn thread_register(
    env: Env,
    host_id: u32,
    runner: u32,
    wake: Function<(), ()>,
) -> Result<Option<JsThreadTask>> {
    let host = host(host_id)?;
    let tsfn: RunnerFn = wake.build_threadsafe_function().weak::<false>().build()?;
    host.outbox.runners.insert(runner, tsfn);
    // The thread's environment goes away (terminated, exited, crashed):
    // its wake-up goes first, so nothing calls into a torn-down
    // environment. Its task, if any, is failed when the manager's thread
    // sees the worker exit.
    let weak = Arc::downgrade(&host);
    env.add_env_cleanup_hook((weak, runner), |(weak, runner)| {
        if let Some(host) = weak.upgrade() {
            drop(host.outbox.runners.remove(runner));
        }
    })?;
    Ok(to_js(host.with(|e| e.thread_register(runner))))
}

/// The task assigned to `runner`, if any (after its wake-up).
#[napi(catch_unwind)]
pub fn thread_take(host_id: u32, runner: u32) -> Result<Option<JsThreadTask>> {
    Ok(to_js(
        // A named task's start is a record for the manager's thread: wake it.
        host(host_id)?.with(|e| e.thread_take(runner)),
    ))
}

/// `runner` finished `task`: `returned` says whether `value` (serialized)
/// is its result or what it threw. Returns its next task, if one waits.
#[napi(catch_unwind)]
pub fn thread_done(
    host_id: u32,
    runner: u32,
    task: f64,
    returned: bool,
    value: Buffer,
) -> Result<Option<JsThreadTask>> {
    let value = value.to_vec();
    Ok(to_js(host(host_id)?.with(|e| {
        e.thread_done(runner, task as u64, returned, value)
    })))
}

/// `runner`'s thread could not load the pool's module.
#[napi(catch_unwind)]
pub fn thread_bootstrap_failed(
    host_id: u32,
    runner: u32,
    message: String,
    cause: Buffer,
) -> Result<()> {
    let cause = cause.to_vec();
    host(host_id)?.with(|e| e.thread_bootstrap_failed(runner, message, cause));
    Ok(())
}
