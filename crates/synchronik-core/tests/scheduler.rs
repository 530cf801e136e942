//! The scheduler and the watcher on a manual clock. Tick diagrams above the
//! tests show time in ms and what fires.

mod common;

use std::sync::Arc;

use common::*;
use parking_lot::Mutex;
use synchronik_core::*;

fn interval_worker(id: &str, ms: f64) -> WorkerSpec {
    let mut w = worker(id);
    w.config.set_interval_ms(Some(ms));
    w.config.run_on_interval = true;
    w.config.timeout_ms = 0.0;
    w
}

/// Completes every invocation as soon as it happens, and counts them.
fn settle_all(h: &mut Harness) -> usize {
    let calls = h.invocations();
    for c in &calls {
        h.ok(c.call);
    }
    calls.len()
}

/// Advances deadline by deadline, completing every run as soon as it
/// starts (runs that take no time); returns how many ran.
fn advance_settling(h: &mut Harness, ms: f64) -> usize {
    let target = ms_to_nanos(ms);
    let mut runs = settle_all(h);
    while let Some(t) = h.engine.next_deadline().filter(|t| *t <= target) {
        h.clock.set(t);
        h.engine.fire_due(t);
        runs += settle_all(h);
    }
    h.clock.set(target);
    runs
}

// intervalMs 100, runs take no time:
//
//   t:     0 (start)   100   200   300
//   fires:             x     x     x
#[test]
fn interval_workers_fire_every_period_from_start() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 100.0)))
        .unwrap();
    h.engine.start();
    h.engine.start(); // idempotent: still one schedule
    assert_eq!(h.engine.scheduled(), 1);
    h.advance_to(99.0);
    assert_eq!(settle_all(&mut h), 0);
    let mut fires = 0;
    for t in [100.0, 200.0, 300.0] {
        fires += advance_settling(&mut h, t);
        assert_eq!(fires as f64, t / 100.0);
    }
}

// A late fire does not shift the cadence: the fire due at 100 happens at
// 130 (the clock jumped), the next is still due at 200.
//
//   t:     0   100 130   200
//   fires:         x     x
#[test]
fn lateness_does_not_drift_the_schedule() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 100.0)))
        .unwrap();
    h.engine.start();
    h.clock.set(ms_to_nanos(130.0));
    h.engine.fire_due(h.clock.now());
    assert_eq!(settle_all(&mut h), 1);
    assert_eq!(h.engine.next_deadline(), Some(ms_to_nanos(200.0)));
}

// The clock jumps from 0 to 1050 (a suspended laptop): one run, then the
// cadence resumes at 1100, not ten catch-up runs.
//
//   t:     0 ........ 1050  1100  1200
//   fires:            x     x     x
#[test]
fn a_jump_ahead_gives_one_run_not_a_burst() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 100.0)))
        .unwrap();
    h.engine.start();
    h.clock.set(ms_to_nanos(1050.0));
    h.engine.fire_due(h.clock.now());
    assert_eq!(settle_all(&mut h), 1);
    assert_eq!(h.engine.next_deadline(), Some(ms_to_nanos(1100.0)));
    assert_eq!(advance_settling(&mut h, 1200.0), 2);
}

// Every recurring timer catches up by the same rule: the clock jumps from 0
// to 2500 ms; the sweep, the statistics and the watcher (every second) and
// an interval worker fire once and come again at 3000, their next time.
#[test]
fn after_a_jump_every_recurring_timer_fires_once_and_keeps_its_cadence() {
    let mut h = Harness::new();
    h.engine.set_options(EngineOptions {
        loop_interval_ms: 1000.0,
        watcher_interval_ms: 1000.0,
        stats_interval_ms: Some(1000.0),
        ..EngineOptions::default()
    });
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 1000.0)))
        .unwrap();
    h.engine.start();
    h.clock.set(ms_to_nanos(2500.0));
    assert_eq!(h.engine.fire_due(h.clock.now()), 4);
    assert_eq!(h.engine.next_deadline(), Some(ms_to_nanos(3000.0)));
    h.clock.set(ms_to_nanos(3000.0));
    assert_eq!(h.engine.fire_due(h.clock.now()), 4);
}

// A run takes 250 ms with intervalMs 100, policy by policy:
//
//   t:        0  100  200  300  350  400
//   skip:        run  skip skip done  run
//   queue:       run  (q)  (q)  done+run
//   allow:       run  run  run ...
fn overlap_runs(policy: Overlap) -> (usize, Vec<String>) {
    let mut h = Harness::new();
    let mut w = interval_worker("w", 100.0);
    w.config.overlap = policy;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.start();
    h.advance_to(100.0);
    let first = h.invocations();
    let mut started = first.len();
    h.advance_to(300.0);
    let log = h.take();
    started += log.iter().filter(|o| matches!(o, Out::Invoke(_))).count();
    let mut events = names(&log);
    h.advance_to(350.0);
    h.ok(first[0].call);
    let after = h.take();
    started += after.iter().filter(|o| matches!(o, Out::Invoke(_))).count();
    events.extend(names(&after));
    (started, events)
}

#[test]
fn overlap_skip_reports_skipped_fires() {
    let (started, events) = overlap_runs(Overlap::Skip);
    assert_eq!(started, 1);
    let skips = events
        .iter()
        .filter(|e| e.ends_with("skipped overlap"))
        .count();
    assert_eq!(skips, 2);
}

#[test]
fn overlap_queue_runs_once_right_after() {
    let (started, events) = overlap_runs(Overlap::Queue);
    assert_eq!(started, 2, "{events:?}");
    assert!(!events.iter().any(|e| e.contains("skipped")));
}

#[test]
fn overlap_allow_runs_concurrently() {
    let (started, _) = overlap_runs(Overlap::Allow);
    assert_eq!(started, 3);
}

#[test]
fn max_runs_paused_and_disabled_workers_are_honoured() {
    let mut h = Harness::new();
    let mut w = interval_worker("w", 10.0);
    w.config.set_max_runs(Some(2));
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.start();
    assert_eq!(advance_settling(&mut h, 50.0), 2);
    assert!(!h.engine.unit("w").unwrap().enabled);
    assert_eq!(
        h.engine.scheduled(),
        0,
        "a disabled worker leaves the schedule"
    );

    h.engine.set_enabled("w", true);
    h.engine.update_config(
        "w",
        &ConfigPatch {
            max_runs: Some(None),
            ..ConfigPatch::default()
        },
    );
    h.engine.update_status("w", Status::Paused);
    h.advance_to(100.0);
    assert_eq!(settle_all(&mut h), 0, "paused: no runs");
    h.engine.update_status("w", Status::Idle);
    h.advance_to(110.0);
    assert_eq!(settle_all(&mut h), 1);
}

// intervalMs changes from 100 to 30 at t=50: the time already scheduled
// (100) stands, the new period applies after it.
//
//   t:     0   50   100  130  160
//   fires:          x    x    x
#[test]
fn a_new_interval_applies_from_the_next_scheduled_time() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 100.0)))
        .unwrap();
    h.engine.start();
    h.advance_to(50.0);
    h.engine.update_config(
        "w",
        &ConfigPatch {
            interval_ms: Some(Some(30.0)),
            ..ConfigPatch::default()
        },
    );
    h.advance_to(99.0);
    assert_eq!(settle_all(&mut h), 0);
    assert_eq!(advance_settling(&mut h, 160.0), 3);
}

#[test]
fn the_sweep_runs_idle_enabled_processes_once() {
    let mut h = Harness::new();
    h.engine.set_options(EngineOptions {
        loop_interval_ms: 20.0,
        ..EngineOptions::default()
    });
    h.engine
        .register(UnitSpec::Process(process("p", RunMode::Parallel, &["a"])))
        .unwrap();
    let mut off = process("q", RunMode::Parallel, &["b"]);
    off.common.enabled = false;
    h.engine.register(UnitSpec::Process(off)).unwrap();
    h.engine.start();
    h.advance_to(20.0);
    let calls = h.invocations();
    assert_eq!(calls.len(), 1, "only the enabled process runs");
    h.ok(calls[0].call);
    assert_eq!(h.status("p"), Status::Completed);
    h.advance_to(100.0);
    assert!(
        h.invocations().is_empty(),
        "a completed process is not idle"
    );
}

#[test]
fn run_loop_once_runs_due_interval_workers_and_idle_processes() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 50.0)))
        .unwrap();
    h.engine
        .register(UnitSpec::Process(process("p", RunMode::Parallel, &["a"])))
        .unwrap();
    let tickets = h.engine.run_loop_once();
    assert_eq!(tickets.len(), 2);
    assert_eq!(settle_all(&mut h), 2);
    // Not due again before one interval has passed since the last run.
    assert!(h.engine.run_loop_once().is_empty());
    h.advance_to(50.0);
    assert_eq!(h.engine.run_loop_once().len(), 1);
}

#[test]
fn stop_waits_for_in_flight_runs_and_starts_nothing_new() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 10.0)))
        .unwrap();
    h.engine.start();
    h.advance_to(10.0);
    let running = h.invocations();
    let ticket = h.engine.stop(None);
    assert!(!h.engine.is_started());
    assert_eq!(h.engine.next_deadline(), None, "no recurring timer is left");
    h.advance_to(100.0);
    assert!(h.invocations().is_empty());
    h.ok(running[0].call);
    let log = h.take();
    assert!(log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket: t, error: None }) if *t == ticket)));
    // Start again: the schedule resumes.
    h.engine.start();
    h.advance_to(110.0);
    assert_eq!(settle_all(&mut h), 1);
}

// maxRetries 3, retryDelayMs 4000; stop() while the run waits for its retry,
// and while another run's attempt is in flight:
//
//   t:   0 w#1 fails, v#1 runs   1 stop: w ends (ERR_STOPPED)   2 v#1 fails:
//        v ends with its failure, no retry; the stop ends at once
#[test]
fn stop_ends_runs_waiting_for_a_retry_and_retries_nothing() {
    let mut h = Harness::new();
    for id in ["w", "v"] {
        let mut w = worker(id);
        w.config.max_retries = 3;
        w.config.set_retry_delay(RetryDelay::Fixed(4000.0));
        h.engine.register(UnitSpec::Worker(w)).unwrap();
    }
    let w_ticket = h.engine.run_unit("w", None);
    let v_ticket = h.engine.run_unit("v", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 2);
    h.fail(calls[0].call, "first attempt fails");
    assert!(names(&h.take()).contains(&format!("#{}:retry1", h.slot("w"))));
    h.advance_to(1.0);
    let stop = h.engine.stop(None);
    let log = h.take();
    let w_slot = h.slot("w");
    assert!(
        log.iter().any(|o| matches!(o, Out::Event(Event::Errored {
            unit, failure: Failure::Engine(EngineError::Stopped { id }), ..
        }) if *unit == w_slot && id == "w")),
        "the run waiting for its retry ends as stopped: {log:?}"
    );
    assert!(log.iter().any(
        |o| matches!(o, Out::Event(Event::Done { ticket, error: None }) if *ticket == w_ticket)
    ));
    assert_eq!(h.status("w"), Status::Error);
    assert!(
        !log.iter()
            .any(|o| matches!(o, Out::Event(Event::Done { ticket, .. }) if *ticket == stop)),
        "the stop waits for v's attempt in flight"
    );
    // The attempt in flight gets its own outcome; it is not retried.
    h.advance_to(2.0);
    h.fail(calls[1].call, "v fails");
    let log = h.take();
    assert!(!names(&log).iter().any(|n| n.contains("retry")), "{log:?}");
    assert_eq!(h.engine.unit("v").unwrap().last_error(), Some("v fails"));
    assert!(log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket, .. }) if *ticket == v_ticket)));
    assert!(log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket, error: None }) if *ticket == stop)));
    // No attempt ever starts again, however long the clock runs.
    h.advance_to(1e9);
    assert!(h.invocations().is_empty());
    assert_eq!(h.engine.active_runs(), 0);
    assert_eq!(h.engine.next_deadline(), None);
    // Once the stop has ended, runs by name retry as before.
    h.engine.run_unit("w", None);
    let c = h.invocations();
    h.fail(c[0].call, "again");
    assert!(names(&h.take()).contains(&format!("#{w_slot}:retry1")));
}

// stop with timeoutMs 50 while a run hangs:
//
//   t:   0 stop   50 abort (ERR_STOPPED), stop resolves
#[test]
fn stop_aborts_what_is_left_at_its_deadline() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine
        .register(UnitSpec::Process(process(
            "p",
            RunMode::Sequential,
            &["a", "b"],
        )))
        .unwrap();
    h.engine.run_unit("w", None);
    h.engine.run_unit("p", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 2);
    let ticket = h.engine.stop(Some(50.0));
    h.advance_to(49.0);
    assert!(!names(&h.take()).iter().any(|n| n.contains("done")));
    h.advance_to(50.0);
    let log = h.take();
    let aborts = log
        .iter()
        .filter(|o| matches!(o, Out::Abort(_, AbortReason::Stopped)))
        .count();
    assert_eq!(aborts, 2);
    assert!(
        !log.iter().any(|o| matches!(o, Out::Invoke(_))),
        "b never starts"
    );
    assert!(log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket: t, .. }) if *t == ticket)));
    assert_eq!(h.status("w"), Status::Error);
    assert_eq!(h.status("p"), Status::Error);
    let err = h.engine.unit("w").unwrap().last_error().unwrap().to_owned();
    assert!(err.contains("stopped"), "{err}");
    assert_eq!(h.engine.active_runs(), 0);
}

#[test]
fn stop_with_nothing_in_flight_ends_at_once() {
    let mut h = Harness::new();
    h.engine.start();
    let ticket = h.engine.stop(None);
    assert!(h
        .take()
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket: t, .. }) if *t == ticket)));
}

struct FakeLiveness(Mutex<Option<(CallId, Slot)>>);

impl Liveness for FakeLiveness {
    fn current_call(&self) -> Option<(CallId, Slot)> {
        *self.0.lock()
    }
}

// stallThresholdMs 400 → a scan every 100 ms. JavaScript blocks inside w's
// run from t=0:
//
//   t:      0    100   200   300   400   500
//   scan:        seen                    ≥400 → stalled (event loop)
#[test]
fn the_watcher_sees_a_blocked_event_loop_and_names_the_unit() {
    let mut h = Harness::new();
    h.engine.set_options(EngineOptions {
        stall_threshold_ms: Some(400.0),
        ..EngineOptions::default()
    });
    let live = Arc::new(FakeLiveness(Mutex::new(None)));
    h.engine.set_liveness(live.clone());
    let mut w = worker("w");
    w.config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.start();
    h.engine.run_unit("w", None);
    let call = h.invocations()[0];
    *live.0.lock() = Some((call.call, call.unit));
    h.engine.report_progress(call.call);
    h.advance_to(400.0);
    assert!(!names(&h.take()).iter().any(|n| n.contains("(js)")));
    h.advance_to(500.0);
    let log = h.take();
    let js: Vec<_> = log
        .iter()
        .filter_map(|o| match o {
            Out::Event(Event::Stalled {
                unit,
                running_for_ms,
                event_loop: true,
            }) => Some((*unit, *running_for_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(js, [(0, 400.0)]);
    // Reported once per block.
    h.advance_to(1000.0);
    assert!(!names(&h.take()).iter().any(|n| n.contains("(js)")));
}

#[test]
fn runs_without_progress_are_reported_stalled_until_they_report_again() {
    let mut h = Harness::new();
    h.engine.set_options(EngineOptions {
        stall_threshold_ms: Some(100.0),
        ..EngineOptions::default()
    });
    let mut w = worker("w");
    w.config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.start();
    h.engine.run_unit("w", None);
    let call = h.invocations()[0];
    h.advance_to(75.0);
    h.engine.report_progress(call.call);
    h.advance_to(150.0);
    assert!(
        !names(&h.take()).iter().any(|n| n.contains("stalled")),
        "progress at 75 resets the clock"
    );
    h.advance_to(200.0);
    assert_eq!(
        names(&h.take())
            .iter()
            .filter(|n| n.contains("stalled"))
            .count(),
        1
    );
    h.advance_to(400.0);
    assert!(
        h.take().is_empty(),
        "reported once until the next sign of life"
    );
}

#[test]
fn auto_unpause_and_idle_release_only_when_set() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("idle"))).unwrap();
    let mut p = worker("paused");
    p.common.status = Status::Paused;
    h.engine.register(UnitSpec::Worker(p)).unwrap();
    h.engine.start();
    h.advance_to(10_000_000.0);
    h.engine.watcher_scan();
    assert_eq!(
        h.engine.registry().len(),
        2,
        "nothing is released by default"
    );
    assert_eq!(h.status("paused"), Status::Paused);

    let mut h = Harness::new();
    h.engine.set_options(EngineOptions {
        auto_unpause_ms: Some(100.0),
        release_idle_after_ms: Some(1000.0),
        ..EngineOptions::default()
    });
    h.engine.register(UnitSpec::Worker(worker("idle"))).unwrap();
    let mut p = worker("paused");
    p.common.status = Status::Paused;
    h.engine.register(UnitSpec::Worker(p)).unwrap();
    h.advance_to(100.0);
    h.engine.watcher_scan();
    assert_eq!(h.status("paused"), Status::Idle);
    assert!(names(&h.take()).contains(&"#1:unpaused".to_string()));
    h.advance_to(1000.0);
    h.engine.watcher_scan();
    assert!(h.engine.unit("idle").is_none());
    assert!(h.engine.unit("paused").is_some(), "idle only since 100 ms");
}

// Paused by hand while a scheduled run is in flight:
//
//   t:   0   100 run…  (paused)  150 run ends   200  300
//                                 still paused    –    –
#[test]
fn a_pause_set_during_a_run_outlasts_the_run() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("w", 100.0)))
        .unwrap();
    h.engine.start();
    h.advance_to(100.0);
    let run = h.invocations()[0];
    h.engine.stop_all();
    h.advance_to(150.0);
    h.ok(run.call);
    assert_eq!(h.status("w"), Status::Paused);
    let log = names(&h.take());
    assert!(log.contains(&"#0:complete".to_string()), "{log:?}");
    assert!(
        !log.contains(&"#0:completed".to_string()),
        "no status change: {log:?}"
    );
    assert_eq!(advance_settling(&mut h, 300.0), 0);
    assert_eq!(h.engine.unit("w").unwrap().meta().run_count, 1);
}
