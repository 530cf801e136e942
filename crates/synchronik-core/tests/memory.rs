//! What churn and bursts leave behind: released slots are reused, and the
//! room a burst took is given back once the work is done.

mod common;

use common::*;
use synchronik_core::*;

#[test]
fn released_slots_are_reused_so_churn_keeps_the_registry_small() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("keep"))).unwrap();
    for k in 0..10_000 {
        let id = format!("w{k}");
        h.engine.register(UnitSpec::Worker(worker(&id))).unwrap();
        assert!(h.engine.release(&id));
    }
    assert_eq!(h.engine.registry().len(), 1);
    // The churned slot was reused each time, then cut off the end.
    assert_eq!(h.engine.memory().slots, 1);
}

#[test]
fn the_order_stays_the_registration_order_when_slots_are_reused() {
    let mut h = Harness::new();
    for id in ["a", "b", "c", "d"] {
        h.engine.register(UnitSpec::Worker(worker(id))).unwrap();
    }
    h.engine.release("b");
    h.engine.release("a");
    // "e" and "f" take the free slots of "a" and "b" but come last.
    h.engine.register(UnitSpec::Worker(worker("e"))).unwrap();
    h.engine.register(UnitSpec::Worker(worker("f"))).unwrap();
    assert!(h.slot("e") < h.slot("c") && h.slot("f") < h.slot("c"));
    let ids: Vec<String> = h
        .engine
        .registry()
        .ordered()
        .map(|s| h.engine.registry().get(s).unwrap().id.to_string())
        .collect();
    assert_eq!(ids, ["c", "d", "e", "f"]);
    // Re-registering in place keeps the place.
    h.engine.register(UnitSpec::Worker(worker("c"))).unwrap();
    assert_eq!(h.engine.registry().ordered().count(), 4);
}

#[test]
fn the_registry_shrinks_back_when_the_last_units_go() {
    let mut h = Harness::new();
    for k in 0..5_000 {
        h.engine
            .register(UnitSpec::Worker(worker(&format!("w{k}"))))
            .unwrap();
    }
    assert_eq!(h.engine.memory().slots, 5_000);
    for k in 0..5_000 {
        h.engine.release(&format!("w{k}"));
    }
    assert_eq!(h.engine.memory().slots, 0);
    assert!(h.engine.registry().is_empty());
}

#[test]
fn a_host_that_mirrors_slots_gets_no_reused_slot_before_it_acknowledged_the_release() {
    let mut h = Harness::new();
    h.engine.set_host_acknowledges_releases(true);
    h.engine.register(UnitSpec::Worker(worker("a"))).unwrap();
    let a = h.slot("a");
    h.engine.release("a");
    h.engine.register(UnitSpec::Worker(worker("b"))).unwrap();
    assert_ne!(h.slot("b"), a, "the host may still name the old unit by it");
    assert_eq!(h.engine.memory().slots_waiting, 1);
    h.engine.acknowledge_released(&[a, 999]);
    h.engine.register(UnitSpec::Worker(worker("c"))).unwrap();
    assert_eq!(h.slot("c"), a);
    assert_eq!(h.engine.memory().slots_waiting, 0);
}

#[test]
fn a_released_worker_leaves_its_process_and_its_slot_waits_for_the_process_run() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(process(
            "p",
            RunMode::Sequential,
            &["w1", "w2", "w3"],
        )))
        .unwrap();
    let (w1, w2) = (h.slot("w1"), h.slot("w2"));
    h.engine.run_unit("p", None);
    let first = h.invocations();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].unit, w1);
    // w2 goes while the run is in flight; a new unit must not take its
    // place in the run.
    h.engine.release("w2");
    h.engine.register(UnitSpec::Worker(worker("x"))).unwrap();
    assert_ne!(h.slot("x"), w2);
    assert_eq!(h.engine.memory().slots_waiting, 1);
    h.ok(first[0].call);
    let next = h.invocations();
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].unit,
        h.slot("w3"),
        "w2 is passed over, x never runs"
    );
    h.ok(next[0].call);
    assert_eq!(h.engine.active_runs(), 0);
    // The run is over: the slot is free, and the process no longer lists it.
    h.engine.register(UnitSpec::Worker(worker("y"))).unwrap();
    assert_eq!(h.slot("y"), w2);
    h.engine.run_unit("p", None);
    let again = h.invocations();
    assert_eq!(again[0].unit, w1);
    h.ok(again[0].call);
    let last = h.invocations();
    assert_eq!(last[0].unit, h.slot("w3"), "y is not a worker of p");
}

#[test]
fn the_task_slab_gives_back_the_room_of_a_burst() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    let mut w = worker("pool-worker-1");
    w.config.timeout_ms = 0.0;
    let slot = h.engine.register(UnitSpec::Worker(w)).unwrap()[0];
    h.engine.pool_attach(p, slot);
    h.engine.pool_set_started(p, true);
    h.take();
    h.engine.pool_add_many(p, &vec![0.0; 100_000]).unwrap();
    assert!(h.engine.memory().task_capacity >= 100_000);
    let mut hints = 0;
    loop {
        let calls: Vec<CallId> = h.invocations().iter().map(|i| i.call).collect();
        if calls.is_empty() {
            break;
        }
        h.engine
            .complete(calls.into_iter().map(|c| (c, Outcome::Ok)));
        hints += usize::from(h.engine.take_trim_hint());
    }
    assert!(h.engine.pool_is_idle(p));
    let m = h.engine.memory();
    assert!(m.task_capacity <= 2048, "{m:?}");
    // 3.2 MB of slab room were given back in steps, then the pool fell
    // idle after 100,000 tasks: the host is told.
    assert!(hints >= 1);
    assert!(!h.engine.take_trim_hint(), "once");
}

#[test]
fn the_timer_queue_and_the_run_maps_give_back_the_room_of_a_burst() {
    let mut h = Harness::new();
    for k in 0..5_000 {
        h.engine
            .register(UnitSpec::Worker(worker(&format!("w{k}"))))
            .unwrap();
    }
    for k in 0..5_000 {
        h.engine.run_unit(&format!("w{k}"), None);
    }
    let calls: Vec<CallId> = h.invocations().iter().map(|i| i.call).collect();
    assert_eq!(calls.len(), 5_000);
    let busy = h.engine.memory();
    assert!(busy.timer_capacity >= 5_000 && busy.run_capacity >= 5_000);
    h.engine
        .complete(calls.into_iter().map(|c| (c, Outcome::Ok)));
    let idle = h.engine.memory();
    assert!(idle.timer_capacity <= 1024, "{idle:?}");
    assert!(idle.run_capacity <= 2048, "{idle:?}");
}

#[test]
fn the_order_skips_slots_cut_off_the_end() {
    let mut h = Harness::new();
    for id in ["a", "b", "c"] {
        h.engine.register(UnitSpec::Worker(worker(id))).unwrap();
    }
    // "c" is released last in slot order: its slot is cut off while its
    // entry of the order is still there.
    h.engine.release("c");
    assert_eq!(h.engine.memory().slots, 2);
    assert_eq!(h.engine.registry().ordered().count(), 2);
    h.engine.release("b");
    h.engine.register(UnitSpec::Worker(worker("d"))).unwrap();
    let ids: Vec<String> = h
        .engine
        .registry()
        .ordered()
        .map(|s| h.engine.registry().get(s).unwrap().id.to_string())
        .collect();
    assert_eq!(ids, ["a", "d"]);
}
