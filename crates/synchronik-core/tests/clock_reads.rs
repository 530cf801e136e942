//! The engine reads its clock once per batch — a burst of timers due at one
//! instant, a report of outcomes that settled together — not once or more
//! per run, and every run of the batch carries that one time; between
//! batches it reads the clock afresh.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use synchronik_core::*;

/// A manual clock that counts how often it is read.
struct Counting {
    inner: ManualClock,
    reads: AtomicUsize,
}

impl Clock for Counting {
    fn now(&self) -> Nanos {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.now()
    }
    fn wall_ms(&self) -> f64 {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.wall_ms()
    }
}

impl Counting {
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

fn interval_worker(id: &str, ms: f64) -> WorkerSpec {
    let mut w = worker(id);
    w.config.set_interval_ms(Some(ms));
    w.config.run_on_interval = true;
    w.config.timeout_ms = 0.0;
    w
}

const WORKERS: usize = 200;

/// An engine on `clock` with WORKERS interval workers of 100 ms, started.
fn started(clock: Arc<dyn Clock>, rec: &Arc<Recorder>) -> Engine {
    let mut engine = Engine::new(clock, rec.clone(), rec.clone());
    for i in 0..WORKERS {
        engine
            .register(UnitSpec::Worker(interval_worker(&format!("w{i}"), 100.0)))
            .unwrap();
    }
    engine.start();
    engine
}

#[test]
fn a_burst_and_a_report_read_the_clock_a_few_times_whatever_their_size() {
    let clock = Arc::new(Counting {
        inner: ManualClock::starting_at(1_700_000_000_000.0),
        reads: AtomicUsize::new(0),
    });
    let rec = Arc::new(Recorder::default());
    let mut engine = started(clock.clone(), &rec);
    std::mem::take(&mut *rec.log.lock());

    // All 200 fall due at 100 ms: one burst.
    let due = ms_to_nanos(100.0);
    clock.inner.set(due);
    let before = clock.reads();
    assert_eq!(engine.fire_due(due), WORKERS);
    let burst = clock.reads() - before;
    assert!(
        burst <= 4,
        "firing {WORKERS} timers read the clock {burst} times"
    );
    let calls: Vec<CallId> = rec.take_calls();
    assert_eq!(calls.len(), WORKERS);
    // Every run of the burst started at its one time.
    for i in 0..WORKERS {
        let u = engine.unit(&format!("w{i}")).unwrap();
        assert_eq!(u.last_run_at(), Some(due));
        assert_eq!(u.last_run_ms(), Some(1_700_000_000_100.0));
    }

    // They settle together 7 ms later: one report.
    clock.inner.set(ms_to_nanos(107.0));
    let before = clock.reads();
    engine.complete(calls.iter().map(|&c| (c, Outcome::Ok)));
    let report = clock.reads() - before;
    assert!(
        report <= 4,
        "completing {WORKERS} runs read the clock {report} times"
    );
    for i in 0..WORKERS {
        let u = engine.unit(&format!("w{i}")).unwrap();
        assert_eq!(u.meta().run_count, 1);
        assert_eq!(u.meta().last_duration_ms(), 7.0);
    }

    // Between batches the time is the clock's again: a run requested at
    // 150 ms starts at 150 ms, not at a batch's time.
    clock.inner.set(ms_to_nanos(150.0));
    let _ = engine.run_unit("w0", None);
    let u = engine.unit("w0").unwrap();
    assert_eq!(u.last_run_at(), Some(ms_to_nanos(150.0)));
    assert_eq!(u.last_run_ms(), Some(1_700_000_000_150.0));
}

/// A manual clock that moves on by a millisecond every time it is read (a
/// slow start on a real clock).
struct Ticking {
    inner: ManualClock,
}

impl Clock for Ticking {
    fn now(&self) -> Nanos {
        let t = self.inner.now();
        self.inner.set(t + ms_to_nanos(1.0));
        t
    }
    fn wall_ms(&self) -> f64 {
        self.inner.wall_ms()
    }
}

#[test]
fn a_start_schedules_every_interval_worker_from_one_reading_of_the_clock() {
    let clock = Arc::new(Ticking {
        inner: ManualClock::new(),
    });
    let rec = Arc::new(Recorder::default());
    let mut engine = started(clock, &rec);
    // However long the start took, the workers' first fires are due at the
    // same instant: start + one interval.
    let first = engine.driver_deadline().expect("armed");
    assert_eq!(engine.fire_due(first), WORKERS);
    assert_eq!(rec.take_calls().len(), WORKERS);
}

#[test]
fn a_burst_fired_in_parts_fires_each_timer_once_in_arming_order() {
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000_000.0));
    let rec = Arc::new(Recorder::default());
    let mut engine = started(clock.clone(), &rec);
    std::mem::take(&mut *rec.log.lock());
    let due = ms_to_nanos(100.0);
    clock.set(due);
    let mut parts = Vec::new();
    loop {
        let fired = engine.fire_some_due(due, 64);
        if fired == 0 {
            break;
        }
        parts.push(fired);
        assert!(parts.len() <= WORKERS, "the parts never end");
    }
    assert_eq!(parts, [64, 64, 64, WORKERS - 192]);
    let order: Vec<String> = rec
        .log
        .lock()
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(engine.registry().get(i.unit).unwrap().id.to_string()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..WORKERS).map(|i| format!("w{i}")).collect();
    assert_eq!(order, expected);
    // Nothing else is due until the next interval.
    assert_eq!(engine.fire_due(due), 0);
}
