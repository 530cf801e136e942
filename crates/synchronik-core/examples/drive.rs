//! The engine driven from Rust on the system clock: a worker on an interval
//! and a worker that fails its first attempt and succeeds on the retry. The
//! "user functions" run on threads of their own and report their outcomes
//! back through a [`Remote`], as a host does.
//!
//! Run it with `cargo run -p synchronik-core --example drive`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use synchronik_core::{
    AbortReason, CallId, ClockChoice, Event, EventSink, Invocation, Invoker, Outcome, Remote,
    RetryDelay, Runtime, Slot, SystemClock, UnitSpec, WorkerSpec,
};

/// Runs each attempt on a thread: `flaky` fails its first attempt, every
/// other unit succeeds after a few milliseconds of "work".
#[derive(Default)]
struct Threads {
    remote: OnceLock<Remote>,
    names: Mutex<HashMap<Slot, String>>,
}

impl Invoker for Threads {
    fn invoke(&self, call: Invocation) {
        // Called under the engine's lock: the outcome is reported later,
        // from another thread.
        let remote = self.remote.get().cloned();
        let name = self
            .names
            .lock()
            .get(&call.unit)
            .cloned()
            .unwrap_or_default();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            let outcome = if name == "flaky" && call.attempt == 1 {
                Outcome::Err {
                    message: "the first attempt fails".into(),
                }
            } else {
                Outcome::Ok
            };
            if let Some(remote) = remote {
                remote.with(|engine| engine.complete([(call.call, outcome)]));
            }
        });
    }

    fn abort(&self, call: CallId, reason: AbortReason) {
        println!("call {call} aborted: {reason:?}");
    }
}

/// Prints the events a host would turn into callbacks.
struct Print;

impl EventSink for Print {
    fn emit(&self, event: Event) {
        if matches!(
            event,
            Event::Completed { .. } | Event::Retry { .. } | Event::Failed { .. }
        ) {
            println!("event: {event}");
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads = Arc::new(Threads::default());
    let runtime = Runtime::new(
        ClockChoice::System(Arc::new(SystemClock::new())),
        threads.clone(),
        Arc::new(Print),
        Box::new(|| {}),
    )?;
    let _ = threads.remote.set(runtime.remote());

    let mut tick = WorkerSpec::new("tick");
    tick.config.set_interval_ms(Some(50.0));
    tick.config.run_on_interval = true;
    let mut flaky = WorkerSpec::new("flaky");
    flaky.config.max_retries = 1;
    flaky.config.set_retry_delay(RetryDelay::Fixed(20.0));
    for spec in [tick, flaky] {
        let id = spec.common.id.clone();
        let slots = runtime.with(|engine| engine.register(UnitSpec::Worker(spec)))?;
        threads.names.lock().insert(slots[0], id);
    }

    runtime.with(|engine| {
        engine.start();
        engine.run_unit("flaky", None);
    });
    std::thread::sleep(Duration::from_millis(300));

    for id in ["tick", "flaky"] {
        runtime.with(|engine| {
            if let Some(unit) = engine.unit(id) {
                println!("{id}: {:?}, {} runs", unit.status, unit.meta().run_count);
            }
        });
    }
    runtime.shutdown();
    Ok(())
}
