//! Runs of single workers: attempts, retries, delays, timeouts, statistics.

mod common;

use common::*;
use synchronik_core::*;

fn ids(invocations: &[Invocation]) -> Vec<(Slot, u32)> {
    invocations.iter().map(|i| (i.unit, i.attempt)).collect()
}

#[test]
fn a_successful_run_announces_itself_in_order() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    h.take();
    h.engine.run_unit("w", None);
    let log = h.take();
    assert_eq!(
        names(&log),
        ["#0:lastRun", "#0:running", "#0:start", "invoke#0@1"]
    );
    let Out::Invoke(call) = log[3] else { panic!() };
    assert!(!call.retryable);
    h.advance_to(7.0);
    h.ok(call.call);
    assert_eq!(
        names(&h.take()),
        ["#0:stats", "#0:completed", "#0:complete", "done"]
    );
    let unit = h.engine.unit("w").unwrap();
    assert_eq!(unit.status, Status::Completed);
    assert_eq!(unit.meta().run_count, 1);
    assert_eq!(unit.meta().last_duration_ms(), 7.0);
    assert_eq!(unit.active_runs, 0);
    assert_eq!(h.engine.active_runs(), 0);
}

// Fixed delay of 100 ms, two retries, every attempt fails:
//
//   t(ms):    0         100        200
//   attempt:  1 ✗ ----> 2 ✗ ----> 3 ✗ -> error
#[test]
fn retries_wait_the_fixed_delay_then_fail_for_good() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.max_retries = 2;
    w.config.set_retry_delay(RetryDelay::Fixed(100.0));
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("w", None);
    let first = h.invocations();
    assert_eq!(ids(&first), [(0, 1)]);
    assert!(first[0].retryable);

    h.fail(first[0].call, "boom 1");
    let log = h.take();
    assert_eq!(names(&log), ["#0:retry1"]);
    assert!(matches!(
        &log[0],
        Out::Event(Event::Retry { delay_ms, failure: Failure::User { message, .. }, .. })
            if *delay_ms == 100.0 && message == "boom 1"
    ));

    h.advance_to(99.0);
    assert!(h.take().is_empty(), "nothing before the delay is over");
    h.advance_to(100.0);
    let second = h.invocations();
    assert_eq!(ids(&second), [(0, 2)]);
    assert!(second[0].retryable);

    h.fail(second[0].call, "boom 2");
    h.advance_to(200.0);
    let third = h.invocations();
    assert_eq!(ids(&third), [(0, 3)]);
    assert!(!third[0].retryable, "the last attempt is not retried");

    h.fail(third[0].call, "boom 3");
    assert_eq!(
        names(&h.take()),
        ["#0:errored", "#0:error", "#0:error", "done"]
    );
    let unit = h.engine.unit("w").unwrap();
    assert_eq!(unit.last_error(), Some("boom 3"));
    assert_eq!(unit.meta().run_count, 0);
}

#[test]
fn a_retry_that_succeeds_completes_without_an_error() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.max_retries = 1;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("w", None);
    let a1 = h.invocations()[0];
    h.fail(a1.call, "flaky");
    // A zero delay retries at once, without waiting for a timer.
    let log = h.take();
    assert_eq!(names(&log), ["#0:retry1", "invoke#0@2"]);
    let Out::Invoke(a2) = log[1] else { panic!() };
    h.ok(a2.call);
    let names = names(&h.take());
    assert!(!names.iter().any(|n| n.ends_with(":error")));
    assert_eq!(h.status("w"), Status::Completed);
}

#[test]
fn per_retry_delays_come_from_the_host() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.max_retries = 2;
    w.config.set_retry_delay(RetryDelay::PerRetry);
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("w", None);
    let a1 = h.invocations()[0];
    h.engine.report_retry_delay(a1.call, 50.0);
    h.fail(a1.call, "x");
    h.advance_to(49.0);
    assert!(h.invocations().is_empty());
    h.advance_to(50.0);
    let a2 = h.invocations()[0];
    assert_eq!(a2.attempt, 2);
    h.engine.report_retry_delay(a2.call, 200.0);
    h.fail(a2.call, "x");
    h.advance_to(249.0);
    assert!(h.invocations().is_empty());
    h.advance_to(250.0);
    assert_eq!(h.invocations()[0].attempt, 3);
}

// timeoutMs 30, one retry:
//
//   t(ms):    0          30         60
//   attempt:  1 (hangs)  ✗ abort -> 2 (hangs) ✗ abort -> error
#[test]
fn timeouts_abort_the_attempt_and_count_as_failures() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.timeout_ms = 30.0;
    w.config.max_retries = 1;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("w", None);
    let a1 = h.invocations()[0];
    h.advance_to(30.0);
    let log = h.take();
    assert_eq!(log[0], Out::Abort(a1.call, AbortReason::Timeout));
    assert!(matches!(
        &log[1],
        Out::Event(Event::Retry {
            failure: Failure::Engine(EngineError::Timeout { attempt: 1, .. }),
            ..
        })
    ));
    let Out::Invoke(a2) = log[2] else {
        panic!("{log:?}")
    };
    // A late outcome of the timed-out attempt no longer counts.
    h.ok(a1.call);
    assert!(h.take().is_empty());
    h.advance_to(60.0);
    let log = h.take();
    assert_eq!(log[0], Out::Abort(a2.call, AbortReason::Timeout));
    assert_eq!(h.status("w"), Status::Error);
    let err = h.engine.unit("w").unwrap().last_error().unwrap().to_owned();
    assert!(err.contains("timed out after 30 ms"), "{err}");
}

#[test]
fn an_attempt_that_settles_in_time_disarms_its_timeout() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.timeout_ms = 30.0;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("w", None);
    let a1 = h.invocations()[0];
    h.advance_to(10.0);
    h.ok(a1.call);
    assert_eq!(h.engine.next_deadline(), None);
    h.take();
    h.advance_to(100.0);
    assert!(h.take().is_empty());
    assert_eq!(h.status("w"), Status::Completed);
}

/// Runs of one timeoutMs started one after another keep their timeouts in
/// a lane of that delay, beside the lane of interval workers' recurring
/// timers: the engine's next one-shot deadline (what a manual clock's
/// runUntilIdle waits for) is still the earliest timeout, settled runs
/// disarm theirs wherever they are, and the rest time out in order.
#[test]
fn timeouts_of_runs_in_flight_time_out_in_order_and_are_the_next_one_shot_deadline() {
    let mut h = Harness::new();
    let mut tick = worker("tick");
    tick.config.set_interval_ms(Some(10.0));
    tick.config.run_on_interval = true;
    tick.config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Worker(tick)).unwrap();
    for k in 0..300 {
        let mut w = worker(&format!("w{k}"));
        w.config.timeout_ms = 1_000.0;
        h.engine.register(UnitSpec::Worker(w)).unwrap();
    }
    h.engine.start();
    let mut calls = Vec::new();
    for k in 0..300 {
        h.advance_to(f64::from(k));
        h.take();
        h.engine.run_unit(&format!("w{k}"), None);
        let i = h.invocations();
        calls.push(i[0].call);
    }
    // Only recurring timers are due before the first timeout.
    assert_eq!(
        h.engine.next_one_shot_deadline(),
        Some(ms_to_nanos(1_000.0))
    );
    // Every other run settles in time, the first one among them.
    for (k, call) in calls.iter().enumerate() {
        if k % 2 == 0 {
            h.ok(*call);
        }
    }
    assert_eq!(
        h.engine.next_one_shot_deadline(),
        Some(ms_to_nanos(1_001.0))
    );
    h.take();
    h.advance_to(1_300.0);
    let aborted: Vec<CallId> = h
        .take()
        .into_iter()
        .filter_map(|o| match o {
            Out::Abort(call, AbortReason::Timeout) => Some(call),
            _ => None,
        })
        .collect();
    let expected: Vec<CallId> = calls.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(aborted, expected);
    assert_eq!(h.engine.next_one_shot_deadline(), None);
    assert_eq!(h.status("w1"), Status::Error);
    assert_eq!(h.status("w2"), Status::Completed);
}

#[test]
fn zero_timeout_means_no_timeout() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("w", None);
    assert_eq!(h.engine.next_deadline(), None);
}

#[test]
fn max_runs_disables_the_worker() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.set_max_runs(Some(2));
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    for n in 1..=2 {
        h.engine.run_unit("w", None);
        let call = h.invocations()[0].call;
        h.ok(call);
        let log = names(&h.take());
        assert_eq!(
            log.contains(&"#0:enabled=false".to_string()),
            n == 2,
            "{log:?}"
        );
    }
    assert!(!h.engine.unit("w").unwrap().enabled);
    // A disabled worker is not run; its ticket ends at once.
    h.engine.run_unit("w", None);
    assert_eq!(names(&h.take()), ["done"]);
}

#[test]
fn paused_and_unknown_units_are_not_run() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.common.status = Status::Paused;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.take();
    h.engine.run_unit("w", None);
    h.engine.run_unit("ghost", None);
    assert_eq!(names(&h.take()), ["done", "done"]);
}

#[test]
fn config_changes_apply_to_the_next_attempt() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    h.engine.run_unit("w", None);
    let a1 = h.invocations()[0];
    assert!(!a1.retryable);
    let patch = ConfigPatch {
        max_retries: Some(1),
        ..ConfigPatch::default()
    };
    assert!(h.engine.update_config("w", &patch));
    // The change is read when the attempt fails: the run gets a retry.
    h.fail(a1.call, "x");
    let log = names(&h.take());
    assert_eq!(log, ["#0:config", "#0:retry1", "invoke#0@2"]);
}

#[test]
fn execution_times_keep_the_last_hundred() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    for n in 0..105u32 {
        h.engine.run_unit("w", None);
        let call = h.invocations()[0].call;
        h.advance_to(h.now_ms() + f64::from(n));
        h.ok(call);
    }
    let meta = h.engine.unit("w").unwrap().meta();
    assert_eq!(meta.run_count, 105);
    assert_eq!(meta.execution_times_ms().len(), EXECUTION_TIMES_KEPT);
    assert_eq!(meta.execution_times_ms().front(), Some(&5.0));
    assert_eq!(meta.last_duration_ms(), 104.0);
    assert!((meta.average_ms() - 54.5).abs() < 1e-9);
}

#[test]
fn releasing_a_running_worker_aborts_it_and_ends_its_ticket() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    h.engine.run_unit("w", None);
    let a1 = h.invocations()[0];
    assert!(h.engine.release("w"));
    let log = h.take();
    assert_eq!(log[0], Out::Abort(a1.call, AbortReason::Released));
    assert!(names(&log).ends_with(&["done".to_string(), "#0:released".to_string()]));
    assert!(h.engine.unit("w").is_none());
    assert_eq!(h.engine.active_runs(), 0);
    assert_eq!(h.engine.next_deadline(), None, "no timer is left behind");
    assert!(!h.engine.release("w"));
}

#[test]
fn the_timer_driver_is_woken_only_for_a_deadline_earlier_than_its_own() {
    // A driver sleeping until 1000 ms need not wake for a timeout at
    // 2000 ms, but must for one at 500 ms.
    let mut h = Harness::new();
    for (id, timeout) in [("a", 1000.0), ("b", 500.0), ("c", 2000.0)] {
        let mut w = worker(id);
        w.config.timeout_ms = timeout;
        h.engine.register(UnitSpec::Worker(w)).unwrap();
    }
    h.engine.take_deadlines_changed();
    h.engine.run_unit("a", None);
    assert!(
        h.engine.take_deadlines_changed(),
        "no driver deadline known yet"
    );
    assert_eq!(h.engine.driver_deadline(), Some(ms_to_nanos(1000.0)));
    h.engine.run_unit("c", None);
    assert!(
        !h.engine.take_deadlines_changed(),
        "a later timeout needs no wake-up"
    );
    h.engine.run_unit("b", None);
    assert!(h.engine.take_deadlines_changed(), "an earlier one does");
    assert_eq!(h.engine.driver_deadline(), Some(ms_to_nanos(500.0)));
}
