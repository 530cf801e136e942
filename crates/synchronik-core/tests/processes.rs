//! Process runs in the four run modes, and the registry around them.

mod common;

use common::*;
use synchronik_core::*;

fn run_process(h: &mut Harness, mode: RunMode, workers: &[&str]) -> Slot {
    let slots = h
        .engine
        .register(UnitSpec::Process(process("p", mode, workers)))
        .unwrap();
    h.take();
    h.engine.run_unit("p", None);
    slots[0]
}

#[test]
fn registering_a_process_registers_its_workers_in_order() {
    let mut h = Harness::new();
    let slots = h
        .engine
        .register(UnitSpec::Process(process(
            "p",
            RunMode::Sequential,
            &["a", "b"],
        )))
        .unwrap();
    assert_eq!(slots, [0, 1, 2]);
    assert_eq!(names(&h.take()), ["#1:parent#0", "#2:parent#0"]);
    let order: Vec<&str> = h
        .engine
        .registry()
        .ordered()
        .map(|s| h.engine.registry().get(s).unwrap().id.as_str())
        .collect();
    assert_eq!(order, ["p", "a", "b"]);
    let a = h.engine.registry().slot_of("a").unwrap();
    assert_eq!(h.engine.registry().parent_of(a), Some(0));
    // A worker of no process has none; re-registered on its own, a
    // process's worker keeps its process; released, its slot forgets it.
    assert_eq!(h.engine.registry().parent_of(0), None);
    h.engine.register(UnitSpec::Worker(worker("a"))).unwrap();
    assert_eq!(h.engine.registry().parent_of(a), Some(0));
    h.engine.register(UnitSpec::Worker(worker("c"))).unwrap();
    let c = h.engine.registry().slot_of("c").unwrap();
    assert_eq!(h.engine.registry().parent_of(c), None);
    assert!(h.engine.release("a"));
    assert_eq!(h.engine.registry().parent_of(a), None);
}

#[test]
fn re_registering_replaces_in_place() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("a"))).unwrap();
    h.engine.register(UnitSpec::Worker(worker("b"))).unwrap();
    let mut again = worker("a");
    again.config.max_retries = 3;
    assert_eq!(h.engine.register(UnitSpec::Worker(again)).unwrap(), [0]);
    assert_eq!(h.engine.registry().len(), 2);
    assert_eq!(h.engine.unit("a").unwrap().worker().unwrap().max_retries, 3);
    let first = h.engine.registry().ordered().next().unwrap();
    assert_eq!(first, 0);
}

#[test]
fn a_process_listing_a_worker_twice_is_refused_before_anything_is_stored() {
    let mut h = Harness::new();
    let err = h
        .engine
        .register(UnitSpec::Process(process(
            "p",
            RunMode::Parallel,
            &["a", "a"],
        )))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidUnit);
    assert!(err.to_string().contains("\"a\""));
    assert!(h.engine.registry().is_empty());
    assert!(h.take().is_empty());
}

#[test]
fn sequential_runs_one_after_another_and_announces_its_phases() {
    let mut h = Harness::new();
    run_process(&mut h, RunMode::Sequential, &["a", "b"]);
    let log = h.take();
    assert_eq!(
        names(&log),
        [
            "#0:lastRun",
            "#0:running",
            "#0:start",
            "#0:running",
            "#1:lastRun",
            "#1:running",
            "#1:start",
            "invoke#1@1"
        ]
    );
    assert!(matches!(
        log[3],
        Out::Event(Event::ProcessPhase {
            phase: Phase::Running,
            run_mode: RunMode::Sequential,
            ..
        })
    ));
    let Out::Invoke(a) = log[7] else { panic!() };
    h.ok(a.call);
    let log = h.take();
    let Some(Out::Invoke(b)) = log.last().cloned() else {
        panic!("{log:?}")
    };
    assert_eq!(b.unit, 2);
    h.ok(b.call);
    let tail = names(&h.take());
    assert_eq!(
        tail[tail.len() - 5..],
        [
            "#0:stats",
            "#0:completed",
            "#0:complete",
            "#0:completed",
            "done"
        ]
    );
    assert_eq!(h.status("p"), Status::Completed);
    assert_eq!(h.engine.unit("p").unwrap().meta().run_count, 1);
}

#[test]
fn a_sequential_failure_stops_the_run_and_names_the_worker() {
    let mut h = Harness::new();
    run_process(&mut h, RunMode::Sequential, &["a", "b", "c"]);
    let a = h.invocations()[0];
    h.ok(a.call);
    let b = h.invocations()[0];
    h.fail(b.call, "bad input");
    let log = h.take();
    assert!(
        !log.iter().any(|o| matches!(o, Out::Invoke(_))),
        "c never starts"
    );
    let Some(Out::Event(Event::Done {
        error: Some((culprit, err)),
        ..
    })) = log.last()
    else {
        panic!("{log:?}")
    };
    assert_eq!(*culprit, 2);
    assert_eq!(err.code(), ErrorCode::WorkerFailed);
    assert_eq!(err.unit_id(), "b");
    assert!(err.to_string().contains("bad input"));
    assert_eq!(h.status("p"), Status::Error);
    assert_eq!(h.status("c"), Status::Idle);
}

#[test]
fn parallel_starts_everything_and_completes_despite_failures() {
    let mut h = Harness::new();
    run_process(&mut h, RunMode::Parallel, &["a", "b", "c"]);
    let calls = h.invocations();
    assert_eq!(calls.len(), 3);
    h.fail(calls[1].call, "nope");
    h.ok(calls[0].call);
    assert_eq!(h.status("p"), Status::Running);
    h.ok(calls[2].call);
    assert_eq!(h.status("p"), Status::Completed);
    assert_eq!(h.status("b"), Status::Error);
    assert!(names(&h.take()).ends_with(&["done".to_string()]));
}

#[test]
fn batched_starts_a_group_when_the_previous_settled() {
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Batched, &["a", "b", "c", "d", "e"]);
    p.config.batch_size = 2;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_unit("p", None);
    let g1 = h.invocations();
    assert_eq!(g1.iter().map(|i| i.unit).collect::<Vec<_>>(), [1, 2]);
    h.ok(g1[0].call);
    assert!(h.invocations().is_empty(), "the group is not settled yet");
    h.fail(g1[1].call, "x");
    let g2 = h.invocations();
    assert_eq!(g2.iter().map(|i| i.unit).collect::<Vec<_>>(), [3, 4]);
    h.ok(g2[0].call);
    h.ok(g2[1].call);
    let g3 = h.invocations();
    assert_eq!(g3.iter().map(|i| i.unit).collect::<Vec<_>>(), [5]);
    h.ok(g3[0].call);
    assert_eq!(h.status("p"), Status::Completed);
}

// isolationDelayMs 100, each worker takes no time:
//
//   t(ms):   0      100     200
//            a ✓ ... b ✓ ... completed
#[test]
fn isolated_waits_after_every_worker() {
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Isolated, &["a", "b"]);
    p.config.isolation_delay_ms = 100.0;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_unit("p", None);
    let a = h.invocations()[0];
    h.ok(a.call);
    h.advance_to(99.0);
    assert!(h.invocations().is_empty());
    h.advance_to(100.0);
    let b = h.invocations()[0];
    assert_eq!(b.unit, 2);
    h.ok(b.call);
    h.advance_to(199.0);
    assert_eq!(h.status("p"), Status::Running);
    h.advance_to(200.0);
    assert_eq!(h.status("p"), Status::Completed);
    assert_eq!(h.engine.unit("p").unwrap().meta().last_duration_ms(), 200.0);
}

#[test]
fn disabled_and_paused_workers_are_passed_over() {
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Sequential, &["a", "b", "c"]);
    p.workers[0].common.enabled = false;
    p.workers[2].common.status = Status::Paused;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_unit("p", None);
    let only = h.invocations();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].unit, 2);
    h.ok(only[0].call);
    assert_eq!(h.status("p"), Status::Completed);
}

#[test]
fn a_disabled_process_runs_when_asked_but_a_paused_one_does_not() {
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Parallel, &["a"]);
    p.common.enabled = false;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_unit("p", None);
    assert_eq!(h.invocations().len(), 1);
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Parallel, &["a"]);
    p.common.status = Status::Paused;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.take();
    h.engine.run_unit("p", None);
    assert_eq!(names(&h.take()), ["done"]);
}

#[test]
fn an_empty_process_completes_at_once() {
    let mut h = Harness::new();
    run_process(&mut h, RunMode::Sequential, &[]);
    assert_eq!(h.status("p"), Status::Completed);
}

#[test]
fn status_changes_by_hand() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    h.take();
    assert!(h.engine.update_status("w", Status::Running));
    assert_eq!(names(&h.take()), ["#0:running", "#0:marked running"]);
    assert!(h.engine.update_status("w", Status::Running));
    assert!(h.take().is_empty(), "the same status again changes nothing");
    assert!(h.engine.update_status("w", Status::Paused));
    assert_eq!(names(&h.take()), ["#0:paused"]);
    assert!(!h.engine.update_status("ghost", Status::Idle));
    h.engine.start_all();
    assert_eq!(names(&h.take()), ["#0:idle"]);
    h.engine.stop_all();
    assert_eq!(h.status("w"), Status::Paused);
}

#[test]
fn enabling_is_announced_once_and_only_on_change() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    h.take();
    h.engine.set_enabled("w", false);
    assert_eq!(names(&h.take()), ["#0:enabled=false", "#0:config"]);
    h.engine.set_enabled("w", false);
    assert!(h.take().is_empty());
    let patch = ConfigPatch {
        enabled: Some(true),
        status: Some(Status::Running),
        ..ConfigPatch::default()
    };
    h.engine.update_config("w", &patch);
    assert_eq!(
        names(&h.take()),
        ["#0:enabled=true", "#0:running", "#0:marked running"],
        "a change with a new status is announced as one status change"
    );
}

#[test]
fn a_run_restricted_to_one_kind_does_not_run_the_other() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(process("p", RunMode::Parallel, &["a"])))
        .unwrap();
    h.take();
    h.engine.run_unit("p", Some(UnitKind::Worker));
    h.engine.run_unit("a", Some(UnitKind::Process));
    assert_eq!(names(&h.take()), ["done", "done"]);
    h.engine.run_unit("a", Some(UnitKind::Worker));
    assert_eq!(h.invocations().len(), 1);
}

#[test]
fn parallel_with_a_concurrency_limit_is_a_sliding_window() {
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Parallel, &["a", "b", "c", "d"]);
    p.config.concurrency = Some(2);
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_unit("p", None);
    let first = h.invocations();
    assert_eq!(first.iter().map(|i| i.unit).collect::<Vec<_>>(), [1, 2]);
    h.fail(first[1].call, "x");
    let next = h.invocations();
    assert_eq!(
        next.iter().map(|i| i.unit).collect::<Vec<_>>(),
        [3],
        "one settled, one starts"
    );
    h.ok(first[0].call);
    assert_eq!(h.invocations()[0].unit, 4);
}
