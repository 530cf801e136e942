//! The runtime's timer thread on the system clock, and the manual clock's
//! stepping. (Timing bounds here are sanity bounds only.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use synchronik_core::*;

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

// Manual clock, retry delay 50 ms:
//
//   t(ms):  0        50
//           1 ✗ ...  2
#[test]
fn fire_next_steps_the_manual_clock_from_deadline_to_deadline() {
    let rec = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::new());
    let rt = Runtime::new(
        ClockChoice::Manual(clock.clone()),
        rec.clone(),
        rec.clone(),
        Box::new(|| {}),
    )
    .unwrap();
    let mut spec = worker("w");
    spec.config.max_retries = 1;
    spec.config.retry_delay = RetryDelay::Fixed(50.0);
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
    let attempts = rec
        .log
        .lock()
        .iter()
        .filter(|o| matches!(o, Out::Invoke(_)))
        .count();
    assert_eq!(attempts, 2);
}
