//! Test doubles: a recorder that is both the engine's invoker and its event
//! sink, and a harness that drives an engine on a manual clock.

#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use synchronik_core::*;

/// Everything the engine sent out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Invoke(Invocation),
    Abort(CallId, AbortReason),
    Event(Event),
}

#[derive(Default)]
pub struct Recorder {
    pub log: Mutex<Vec<Out>>,
}

impl Invoker for Recorder {
    fn invoke(&self, i: Invocation) {
        self.log.lock().push(Out::Invoke(i));
    }
    fn abort(&self, call: CallId, reason: AbortReason) {
        self.log.lock().push(Out::Abort(call, reason));
    }
}

impl EventSink for Recorder {
    fn emit(&self, e: Event) {
        self.log.lock().push(Out::Event(e));
    }
}

impl Recorder {
    /// Takes the calls of the invocations recorded so far (drains the log).
    pub fn take_calls(&self) -> Vec<CallId> {
        std::mem::take(&mut *self.log.lock())
            .into_iter()
            .filter_map(|o| match o {
                Out::Invoke(i) => Some(i.call),
                _ => None,
            })
            .collect()
    }
}

/// An engine on a manual clock with a recorder attached.
pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub rec: Arc<Recorder>,
}

impl Harness {
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new());
        let rec = Arc::new(Recorder::default());
        let engine = Engine::new(clock.clone(), rec.clone(), rec.clone());
        Self { engine, clock, rec }
    }

    /// Takes what was recorded so far.
    pub fn take(&self) -> Vec<Out> {
        std::mem::take(&mut *self.rec.log.lock())
    }

    /// Invocations recorded so far (drains the log).
    pub fn invocations(&self) -> Vec<Invocation> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Out::Invoke(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    /// Moves the clock to `ms` and fires every timer due by then, in order.
    pub fn advance_to(&mut self, ms: f64) {
        let target = ms_to_nanos(ms);
        while let Some(t) = self.engine.next_deadline().filter(|t| *t <= target) {
            self.clock.set(t);
            self.engine.fire_due(t);
        }
        self.clock.set(target);
    }

    pub fn now_ms(&self) -> f64 {
        nanos_to_ms(self.clock.now())
    }

    pub fn ok(&mut self, call: CallId) {
        self.engine.complete([(call, Outcome::Ok)]);
    }

    pub fn fail(&mut self, call: CallId, message: &str) {
        self.engine.complete([(
            call,
            Outcome::Err {
                message: message.into(),
            },
        )]);
    }

    /// Writes state through a store on the database at `path` from now on.
    pub fn use_store(&mut self, path: &std::path::Path) {
        self.engine
            .set_store(Store::open(path, StoreOptions::default()).unwrap());
    }

    /// Waits until every write sent to the store so far is committed;
    /// returns the store.
    pub fn flush_store(&mut self) -> Store {
        self.engine.store_sync();
        let store = self.engine.durable_store().unwrap().clone();
        store.flush().unwrap();
        store
    }

    /// The pool called `name` with `n` workers attached
    /// (`{name}:pool-worker-k`, no timeout), started when `started`.
    pub fn pool_with_workers(&mut self, name: &str, n: usize, started: bool) -> PoolId {
        let p = self.engine.pool(name);
        for k in 1..=n {
            let mut w = worker(&format!("{name}:pool-worker-{k}"));
            w.config.timeout_ms = 0.0;
            let slot = self.engine.register(UnitSpec::Worker(w)).unwrap()[0];
            self.engine.pool_attach(p, slot);
        }
        if started {
            self.engine.pool_set_started(p, true);
        }
        p
    }

    pub fn slot(&self, id: &str) -> Slot {
        self.engine.registry().slot_of(id).expect("registered")
    }

    pub fn status(&self, id: &str) -> Status {
        self.engine.unit(id).expect("registered").status
    }
}

pub fn worker(id: &str) -> WorkerSpec {
    WorkerSpec::new(id)
}

pub fn process(id: &str, mode: RunMode, workers: &[&str]) -> ProcessSpec {
    let mut p = ProcessSpec::new(id, workers.iter().map(|w| worker(w)).collect());
    p.config.run_mode = mode;
    p
}

/// Short names of the events in a log, for order assertions.
pub fn names(log: &[Out]) -> Vec<String> {
    log.iter()
        .map(|o| match o {
            Out::Invoke(i) => format!("invoke#{}@{}", i.unit, i.attempt),
            Out::Abort(c, r) => format!("abort {c} {r:?}"),
            Out::Event(e) => match e {
                Event::Status { unit, current, .. } => format!("#{unit}:{current}"),
                Event::Started { unit } => format!("#{unit}:start"),
                Event::Completed { unit, .. } => format!("#{unit}:complete"),
                Event::Failed { unit } => format!("#{unit}:error"),
                Event::Errored { unit, .. } => format!("#{unit}:errored"),
                Event::Retry { unit, attempt, .. } => format!("#{unit}:retry{attempt}"),
                Event::ProcessPhase { unit, phase, .. } => format!("#{unit}:{}", phase.as_str()),
                Event::Done { error, .. } => {
                    if error.is_some() {
                        "done:err".into()
                    } else {
                        "done".into()
                    }
                }
                Event::Stats { unit, .. } => format!("#{unit}:stats"),
                Event::LastRun { unit, .. } => format!("#{unit}:lastRun"),
                Event::Enabled { unit, enabled } => format!("#{unit}:enabled={enabled}"),
                Event::Config { unit } => format!("#{unit}:config"),
                Event::Marked { unit, status } => format!("#{unit}:marked {status}"),
                Event::Parent { unit, process } => format!("#{unit}:parent#{process}"),
                Event::Released { unit } => format!("#{unit}:released"),
                Event::Skipped { unit, reason } => format!("#{unit}:skipped {}", reason.as_str()),
                Event::Stalled {
                    unit, event_loop, ..
                } => {
                    format!("#{unit}:stalled{}", if *event_loop { " (js)" } else { "" })
                }
                Event::Unpaused { unit } => format!("#{unit}:unpaused"),
                Event::IdleRelease { unit, .. } => format!("#{unit}:idle-release"),
                Event::StatsDue => "stats".into(),
                Event::TaskStatus { task, status, .. } => format!("task{task}:{status:?}"),
                Event::TaskDone { task, outcome } => format!("task{task}:done({outcome:?})"),
                Event::PoolIdle { pool } => format!("pool{pool}:idle"),
                Event::Thread(e) => format!("thread:{e:?}"),
            },
        })
        .collect()
}

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A directory of its own for one test (a store's database in it), removed
/// when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "synchronik-core-test-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The database's path.
    pub fn db(&self) -> PathBuf {
        self.0.join("state.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
