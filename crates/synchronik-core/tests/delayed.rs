//! Delayed pool tasks (`runAt`, `delayMs`): queued at their time on the
//! engine's clock, waiting until then without holding anything up.

mod common;

use common::*;
use synchronik_core::*;

/// A started pool of `n` workers without timeouts.
fn pool(h: &mut Harness, n: usize) -> PoolId {
    let p = h.engine.pool("default");
    for k in 1..=n {
        let mut w = worker(&format!("pool-worker-{k}"));
        w.config.timeout_ms = 0.0;
        let slot = h.engine.register(UnitSpec::Worker(w)).unwrap()[0];
        h.engine.pool_attach(p, slot);
    }
    h.engine.pool_set_started(p, true);
    h.take();
    p
}

fn task(name: &str) -> TaskSpec {
    TaskSpec {
        name: Some(name.into()),
        priority: 0.0,
        handler: None,
    }
}

/// The wall-clock instant `ms` after now.
fn in_ms(h: &Harness, ms: f64) -> f64 {
    h.engine.wall_ms() + ms
}

/// The tasks started since the last look, by id.
fn started(h: &Harness) -> Vec<TaskId> {
    h.invocations().into_iter().filter_map(|i| i.task).collect()
}

#[test]
fn a_delayed_task_is_queued_at_its_time_and_not_before() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    let at = in_ms(&h, 5_000.0);
    let (t, _) = h.engine.pool_add_at(p, task("later"), at).unwrap();
    assert!(started(&h).is_empty());
    assert!(
        !h.engine.pool_is_idle(p),
        "a waiting task keeps the pool busy"
    );
    h.advance_to(4_999.0);
    assert!(started(&h).is_empty(), "not before its time");
    h.advance_to(5_000.0);
    assert_eq!(started(&h), [t]);
}

#[test]
fn a_time_already_past_queues_it_at_once() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    let at = in_ms(&h, -1_000.0);
    let (t, _) = h.engine.pool_add_at(p, task("past"), at).unwrap();
    assert_eq!(started(&h), [t]);
}

#[test]
fn a_waiting_task_holds_nothing_up_and_keeps_its_name() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    let mut first = task("first");
    first.priority = 10.0;
    let at = in_ms(&h, 1_000.0);
    let (waiting, _) = h.engine.pool_add_at(p, first, at).unwrap();
    let (now, _) = h.engine.pool_add(p, task("now")).unwrap();
    assert_eq!(started(&h), [now], "the later, lower task runs first");
    assert_eq!(
        h.engine.pool_add(p, task("first")),
        Err(AddError::Duplicate),
        "its name is taken while it waits"
    );
    assert_eq!(h.engine.pool_pending(p), Vec::<String>::new());
    h.advance_to(1_000.0);
    assert_eq!(
        h.engine.pool_pending(p),
        ["first"],
        "queued behind the running task"
    );
    let _ = waiting;
}

#[test]
fn cancelled_while_it_waits_it_never_runs() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    let at = in_ms(&h, 1_000.0);
    h.engine.pool_add_at(p, task("gone"), at).unwrap();
    assert_eq!(h.engine.pool_cancel(p, "gone"), 1);
    assert!(h.engine.pool_is_idle(p));
    h.advance_to(2_000.0);
    assert!(started(&h).is_empty(), "its timer finds nothing");
    assert!(
        h.engine.pool_add(p, task("gone")).is_ok(),
        "its name is free"
    );
}

#[test]
fn a_stop_drops_a_waiting_task_that_lives_in_memory() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    h.engine.start();
    let at = in_ms(&h, 1_000.0);
    let (t, _) = h.engine.pool_add_at(p, task("dropped"), at).unwrap();
    h.take();
    h.engine.stop(None);
    let dropped = h.take().into_iter().any(|o| {
        matches!(
            o,
            Out::Event(Event::TaskDone {
                task,
                outcome: TaskOutcome::Dropped(_),
            }) if task == t
        )
    });
    assert!(dropped, "the stop drops it");
    h.engine.start();
    h.advance_to(2_000.0);
    assert!(started(&h).is_empty());
}
