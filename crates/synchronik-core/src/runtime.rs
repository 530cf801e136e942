//! The runtime: one [`Engine`] behind a lock, and the thread that keeps its
//! time.
//!
//! Callers (the binding's methods, on the JavaScript thread) reach the engine
//! through [`Runtime::with`]. With a system clock a timer thread sleeps until
//! the engine's earliest deadline, fires what is due and calls the `wake`
//! callback so the host can deliver what the engine produced; it wakes early
//! when a call armed an earlier deadline. With a manual clock there is no
//! thread: [`Runtime::fire_next`] moves the clock from deadline to deadline.
//!
//! The timer thread is the only thread the runtime owns. It ends on
//! [`Runtime::shutdown`] (also run on drop), which never waits for user code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::clock::{Clock, ManualClock, Nanos, SystemClock, CLOCK_LIMIT};
use crate::engine::Engine;
use crate::event::{EventSink, Invoker};

/// Called by the timer thread after it fired timers (and by a [`Remote`]
/// after its call), outside the lock.
pub type Wake = Box<dyn Fn() + Send + Sync>;

/// A handle on a runtime's engine for threads the runtime does not own (a
/// store's cluster tasks, say): it does not keep the engine alive, and
/// every call wakes the host afterwards, as the timer thread does.
#[derive(Clone)]
pub struct Remote {
    shared: std::sync::Weak<Shared>,
}

impl Remote {
    /// Runs `f` on the engine under its lock, then wakes the host; `None`
    /// once the runtime is gone or shut down.
    pub fn with<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
        let shared = self.shared.upgrade()?;
        if shared.shutdown.load(Ordering::SeqCst) {
            return None;
        }
        let r = {
            let mut engine = shared.engine.lock();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut engine)));
            engine.store_sync();
            if engine.take_deadlines_changed() {
                shared.cv.notify_one();
            }
            r.ok()?
        };
        (shared.wake)();
        Some(r)
    }
}

/// Which clock the runtime runs on.
#[derive(Clone)]
pub enum ClockChoice {
    /// Real time: the runtime's timer thread fires the engine's timers.
    System(Arc<SystemClock>),
    /// Time moves only when the host moves it ([`Runtime::fire_next`]); no
    /// timer thread.
    Manual(Arc<ManualClock>),
}

impl ClockChoice {
    fn as_clock(&self) -> Arc<dyn Clock> {
        match self {
            ClockChoice::System(c) => c.clone(),
            ClockChoice::Manual(c) => c.clone(),
        }
    }
}

struct Shared {
    engine: Mutex<Engine>,
    cv: Condvar,
    shutdown: AtomicBool,
    wake: Wake,
    /// Set by the timer thread while it fires a large due set in parts and
    /// more of it is due (see [`Runtime::bursting`]).
    bursting: AtomicBool,
}

/// An engine and its timer thread.
pub struct Runtime {
    shared: Arc<Shared>,
    clock: ClockChoice,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Runtime {
    /// Creates the engine; with a system clock, also its timer thread.
    pub fn new(
        clock: ClockChoice,
        invoker: Arc<dyn Invoker>,
        sink: Arc<dyn EventSink>,
        wake: Wake,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            engine: Mutex::new(Engine::new(clock.as_clock(), invoker, sink)),
            cv: Condvar::new(),
            shutdown: AtomicBool::new(false),
            wake,
            bursting: AtomicBool::new(false),
        });
        let thread = match &clock {
            ClockChoice::System(sys) => {
                let shared = shared.clone();
                let sys = sys.clone();
                Some(
                    std::thread::Builder::new()
                        .name("synchronik-timer".into())
                        .spawn(move || timer_thread(&shared, &sys))?,
                )
            }
            ClockChoice::Manual(_) => None,
        };
        Ok(Self {
            shared,
            clock,
            thread: Mutex::new(thread),
        })
    }

    /// Runs `f` on the engine under its lock, then lets the timer thread see
    /// any earlier deadline `f` armed.
    pub fn with<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> R {
        let mut engine = self.shared.engine.lock();
        let r = f(&mut engine);
        engine.store_sync();
        if engine.take_deadlines_changed() {
            self.shared.cv.notify_one();
        }
        r
    }

    /// Whether the timer thread is firing a large set of timers due at once
    /// in parts and has more of it to fire. The host may put off work that
    /// can wait (reporting the runs that already ended) until it is done, so
    /// that the rest of the set starts sooner: the report needs the
    /// engine's lock, which the next part waits for. Cleared before the
    /// last part is delivered, and whenever the thread is not firing.
    pub fn bursting(&self) -> bool {
        self.shared.bursting.load(Ordering::Acquire)
    }

    /// A handle on the engine for other threads (see [`Remote`]).
    pub fn remote(&self) -> Remote {
        Remote {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// Makes the engine write through `store`; a store shared by several
    /// managers (PostgreSQL) also gets a [`Remote`] to hand the engine the
    /// tasks it claims and the schedules it holds.
    pub fn set_store(&self, store: crate::store::Store) {
        let shared = store.clone();
        self.with(|e| e.set_store(store));
        shared.attach(self.remote());
    }

    /// The runtime's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.as_clock()
    }

    /// The manual clock, if the runtime runs on one.
    pub fn manual_clock(&self) -> Option<&Arc<ManualClock>> {
        match &self.clock {
            ClockChoice::Manual(c) => Some(c),
            ClockChoice::System(_) => None,
        }
    }

    /// Manual clock only: if the earliest deadline is at or before `limit`,
    /// moves the clock to it and fires every timer due then, as a step
    /// toward `limit` ([`Engine::fire_due_toward`]: a recurring timer that
    /// would fire more than 10,000 times on the way fires once, at `limit`).
    /// Returns whether anything fired. Between calls the host lets the runs
    /// that started settle, so their own new deadlines are seen in time order.
    pub fn fire_next(&self, limit: Nanos) -> bool {
        let Some(clock) = self.manual_clock() else {
            return false;
        };
        // The clock stops at its limit: a deadline after it never comes.
        let limit = limit.min(CLOCK_LIMIT);
        let mut engine = self.shared.engine.lock();
        engine.take_deadlines_changed();
        match engine.next_deadline() {
            Some(t) if t <= limit => {
                clock.set(t);
                let fired = engine.fire_due_toward(t, limit) > 0;
                engine.store_sync();
                fired
            }
            _ => false,
        }
    }

    /// Stops the timer thread. Idempotent; does not wait for user code.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            // Take the lock so the thread is either before its check or
            // already waiting when it is notified.
            let _guard = self.shared.engine.lock();
            self.shared.cv.notify_all();
        }
        if let Some(handle) = self.thread.lock().take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// After firing, the timer thread sleeps at least this long before it fires
/// again: deadlines that fall within it (timers whose phases are spread, a
/// few microseconds apart) are fired together in one wake-up, instead of a
/// wake-up of this thread and of the host for each. It bounds what a fire
/// waits for the others beside it; a lone deadline is not delayed.
const COALESCE: Nanos = 250_000;

/// The most timers the timer thread fires before it lets go of the engine
/// and wakes the host. Ten thousand interval workers due at the same
/// millisecond are fired in parts of this many: the host runs the first
/// part's `run`s while this thread fires the next, instead of waiting for
/// all of them (the last `run` then starts after the longer of the two
/// threads' work rather than after both).
const FIRE_PART: usize = 256;

fn timer_thread(shared: &Shared, clock: &SystemClock) {
    let wake = &shared.wake;
    let mut engine = shared.engine.lock();
    // The earliest time of the next wake-up that fires.
    let mut not_before: Nanos = 0;
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            shared.bursting.store(false, Ordering::Release);
            return;
        }
        engine.take_deadlines_changed();
        match engine.driver_deadline() {
            None => {
                shared.bursting.store(false, Ordering::Release);
                shared.cv.wait(&mut engine);
            }
            Some(at) => {
                let at = at.max(not_before);
                let now = clock.now();
                if at <= now {
                    // A bug in the engine must not take the host process
                    // down with it: the thread reports nothing and carries on.
                    let fired = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        engine.fire_some_due(now, FIRE_PART)
                    }))
                    .unwrap_or(1);
                    engine.store_sync();
                    if fired < FIRE_PART {
                        not_before = now + COALESCE;
                    }
                    let more =
                        fired == FIRE_PART && engine.driver_deadline().is_some_and(|d| d <= now);
                    shared.bursting.store(more, Ordering::Release);
                    if fired > 0 {
                        // Deliver outside the lock: the host's wake-up may
                        // need the engine (it never blocks on JavaScript).
                        // Handed over fairly: the host's report of the runs
                        // of this part, waiting for the lock, goes before
                        // the next part.
                        parking_lot::MutexGuard::unlocked_fair(&mut engine, wake);
                    }
                } else {
                    shared.bursting.store(false, Ordering::Release);
                    match clock.instant_at(at) {
                        Some(when) => {
                            let _ = shared.cv.wait_until(&mut engine, when);
                        }
                        // Further away than any Instant: it never comes.
                        None => shared.cv.wait(&mut engine),
                    }
                }
            }
        }
    }
}
