//! The runtime's timer thread on the system clock, and the manual clock's
//! stepping. (Timing bounds here are sanity bounds only.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use synchronik_core::*;

/// How many runs the engine has started so far.
fn invocations(rec: &Recorder) -> usize {
    rec.log
        .lock()
        .iter()
        .filter(|o| matches!(o, Out::Invoke(_)))
        .count()
}

/// Registers `count` interval workers of 500 ms and starts the engine: all
/// are due at the same instant, one interval later (the scheduler's sweep
/// and the watcher an hour away).
fn start_burst(rt: &Runtime, count: usize) {
    rt.with(|e| {
        e.set_options(EngineOptions {
            loop_interval_ms: 3_600_000.0,
            watcher_interval_ms: 3_600_000.0,
            ..EngineOptions::default()
        });
        for i in 0..count {
            let mut spec = worker(&format!("w{i}"));
            spec.config.set_interval_ms(Some(500.0));
            spec.config.run_on_interval = true;
            spec.config.timeout_ms = 0.0;
            e.register(UnitSpec::Worker(spec)).unwrap();
        }
        e.start();
    });
}

#[test]
fn the_timer_thread_fires_a_timeout_and_wakes_the_host() {
    let rec = Arc::new(Recorder::default());
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let rt = Runtime::new(
        ClockChoice::System(Arc::new(SystemClock::new())),
        rec.clone(),
        rec.clone(),
        Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    )
    .unwrap();
    let mut spec = worker("w");
    spec.config.timeout_ms = 20.0;
    rt.with(|e| e.register(UnitSpec::Worker(spec))).unwrap();
    rt.with(|e| e.run_unit("w", None));
    let deadline = Instant::now() + Duration::from_secs(5);
    while wakes.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the timeout never fired");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(rt.with(|e| e.unit("w").unwrap().status), Status::Error);
    assert!(rec
        .log
        .lock()
        .iter()
        .any(|o| matches!(o, Out::Abort(_, AbortReason::Timeout))));
    rt.shutdown();
    rt.shutdown();
}

/// A thousand interval workers due at the same instant: the timer thread
/// fires them in parts and wakes the host after the first part, so that the
/// host starts those runs while the rest are being fired.
#[test]
fn the_timer_thread_wakes_the_host_after_each_part_of_a_large_burst() {
    const WORKERS: usize = 1000;
    let rec = Arc::new(Recorder::default());
    // How many runs had been started at each wake-up.
    let seen = Arc::new(parking_lot::Mutex::new(Vec::<usize>::new()));
    let (r, s) = (rec.clone(), seen.clone());
    let rt = Runtime::new(
        ClockChoice::System(Arc::new(SystemClock::new())),
        rec.clone(),
        rec.clone(),
        Box::new(move || {
            s.lock().push(invocations(&r));
        }),
    )
    .unwrap();
    start_burst(&rt, WORKERS);
    let deadline = Instant::now() + Duration::from_secs(10);
    while invocations(&rec) < WORKERS {
        assert!(Instant::now() < deadline, "the burst never fired whole");
        std::thread::sleep(Duration::from_millis(2));
    }
    rt.shutdown();
    let seen = seen.lock().clone();
    // The first wake-up came after one part, not after the whole burst.
    let first = *seen
        .iter()
        .find(|&&n| n > 0)
        .expect("a wake-up after the burst began");
    assert!(
        first <= 256,
        "the host was woken after {first} runs: {seen:?}"
    );
    // Each worker ran once in its first interval (none fired twice).
    let mut units: Vec<Slot> = rec
        .log
        .lock()
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(i.unit),
            _ => None,
        })
        .take(WORKERS)
        .collect();
    units.sort_unstable();
    units.dedup();
    assert_eq!(units.len(), WORKERS);
}

/// While the timer thread fires a burst in parts and more of it is due,
/// `bursting` says so; at the wake-up after the last part — here a full
/// one, 4 × 256 — and afterwards it does not.
#[test]
fn bursting_holds_while_parts_of_a_burst_remain_and_not_after_the_last() {
    const WORKERS: usize = 1024;
    let rec = Arc::new(Recorder::default());
    // (runs started, bursting) at each wake-up.
    let seen = Arc::new(parking_lot::Mutex::new(Vec::<(usize, bool)>::new()));
    let runtime = Arc::new(std::sync::OnceLock::<std::sync::Weak<Runtime>>::new());
    let (r, s, cell) = (rec.clone(), seen.clone(), runtime.clone());
    let rt = Arc::new(
        Runtime::new(
            ClockChoice::System(Arc::new(SystemClock::new())),
            rec.clone(),
            rec.clone(),
            Box::new(move || {
                if let Some(rt) = cell.get().and_then(std::sync::Weak::upgrade) {
                    s.lock().push((invocations(&r), rt.bursting()));
                }
            }),
        )
        .unwrap(),
    );
    runtime.set(Arc::downgrade(&rt)).unwrap();
    assert!(!rt.bursting());
    start_burst(&rt, WORKERS);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().last().is_none_or(|(n, _)| *n < WORKERS) {
        assert!(Instant::now() < deadline, "the burst never fired whole");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!rt.bursting(), "still bursting after the last part");
    rt.shutdown();
    let seen = seen.lock().clone();
    // Every wake-up of the burst but the last: more was due.
    let during: Vec<_> = seen
        .iter()
        .filter(|(n, _)| *n > 0 && *n < WORKERS)
        .collect();
    assert!(!during.is_empty(), "no wake-up between parts: {seen:?}");
    assert!(
        during.iter().all(|(_, b)| *b),
        "a wake-up between parts said not bursting: {seen:?}"
    );
    let last = seen.iter().find(|(n, _)| *n == WORKERS).unwrap();
    assert!(
        !last.1,
        "the wake-up after the last part said bursting: {seen:?}"
    );
}

#[test]
fn shutdown_ends_an_idle_timer_thread_promptly() {
    let rec = Arc::new(Recorder::default());
    let rt = Runtime::new(
        ClockChoice::System(Arc::new(SystemClock::new())),
        rec.clone(),
        rec,
        Box::new(|| {}),
    )
    .unwrap();
    let started = Instant::now();
    drop(rt);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A runtime on a manual clock, with a recorder as its invoker and sink.
fn manual_runtime() -> (Runtime, Arc<ManualClock>, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::new());
    let rt = Runtime::new(
        ClockChoice::Manual(clock.clone()),
        rec.clone(),
        rec.clone(),
        Box::new(|| {}),
    )
    .unwrap();
    (rt, clock, rec)
}

// Manual clock, retry delay 50 ms:
//
//   t(ms):  0        50
//           1 ✗ ...  2
#[test]
fn fire_next_steps_the_manual_clock_from_deadline_to_deadline() {
    let (rt, clock, rec) = manual_runtime();
    let mut spec = worker("w");
    spec.config.max_retries = 1;
    spec.config.set_retry_delay(RetryDelay::Fixed(50.0));
    spec.config.timeout_ms = 0.0;
    rt.with(|e| e.register(UnitSpec::Worker(spec))).unwrap();
    rt.with(|e| e.run_unit("w", None));
    let first = rec.log.lock().iter().find_map(|o| match o {
        Out::Invoke(i) => Some(*i),
        _ => None,
    });
    rt.with(|e| {
        e.complete([(
            first.unwrap().call,
            Outcome::Err {
                message: "x".into(),
            },
        )])
    });
    assert!(!rt.fire_next(ms_to_nanos(49.0)));
    assert_eq!(clock.now(), 0);
    assert!(rt.fire_next(ms_to_nanos(1000.0)));
    assert_eq!(clock.now(), ms_to_nanos(50.0));
    assert_eq!(invocations(&rec), 2);
}

/// A started engine on a manual clock with an interval worker every
/// `interval_ms` (and the sweep, the watcher and statistics every second),
/// whose runs the host completes at once. Returns the runtime, its clock
/// and the recorder.
fn started_manual(interval_ms: f64) -> (Runtime, Arc<ManualClock>, Arc<Recorder>) {
    let (rt, clock, rec) = manual_runtime();
    let mut spec = worker("tick");
    spec.config.set_interval_ms(Some(interval_ms));
    spec.config.run_on_interval = true;
    rt.with(|e| {
        e.set_options(EngineOptions {
            stats_interval_ms: Some(1000.0),
            ..EngineOptions::default()
        });
        e.register(UnitSpec::Worker(spec)).unwrap();
        e.start();
    });
    (rt, clock, rec)
}

/// `clock.advance(ms)` as the host drives it: fire_next until nothing is
/// due by the target, completing every run at once; then the clock moves
/// to the target. Returns how many steps fired and how many runs started.
fn advance(rt: &Runtime, clock: &ManualClock, rec: &Recorder, ms: f64) -> (usize, usize) {
    let target = clock.now() + ms_to_nanos(ms);
    let (mut steps, mut runs) = (0, 0);
    while rt.fire_next(target) {
        steps += 1;
        assert!(steps <= 100_000, "advance does not end");
        let calls: Vec<CallId> = rec.take_calls();
        runs += calls.len();
        rt.with(|e| e.complete(calls.into_iter().map(|c| (c, Outcome::Ok))));
    }
    clock.set(target);
    (steps, runs)
}

// Interval 1000 ms, sweep and statistics every second, watcher every minute;
// advance(1e12 ms) (a million sweeps and a million runs, fired one by one
// before):
//
//   t(ms):  0 ........................................ 1e12  1e12+1000
//           (the recurring timers pass by)             one    cadence
//                                                      fire   resumes
#[test]
fn a_huge_advance_of_a_started_manual_clock_fires_recurring_timers_once() {
    let (rt, clock, rec) = started_manual(1000.0);
    let (steps, runs) = advance(&rt, &clock, &rec, 1e12);
    assert!(steps <= 3, "{steps} steps");
    assert_eq!(runs, 1, "the interval worker runs once");
    assert_eq!(
        rt.with(|e| e.unit("tick").unwrap().last_run_at()),
        Some(ms_to_nanos(1e12)),
        "late, at the end of the advance"
    );
    // The cadence goes on after the advance, from the worker's own times.
    let next = rt.with(|e| e.next_deadline()).unwrap();
    assert_eq!(next, ms_to_nanos(1e12 + 1000.0));
    assert_eq!(advance(&rt, &clock, &rec, 3000.0).1, 3);
}

// An advance over 5,000 times of the interval is no jump: every time fires,
// in order, as before.
#[test]
fn an_advance_over_fewer_than_ten_thousand_times_fires_each_of_them() {
    let (rt, clock, rec) = started_manual(100.0);
    let (_, runs) = advance(&rt, &clock, &rec, 500_000.0);
    assert_eq!(runs, 5000);
    assert_eq!(rt.with(|e| e.unit("tick").unwrap().meta().run_count), 5000);
}
