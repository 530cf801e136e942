//! Worker pools: order, priorities, cascading pause, cancel, resize, idle.

mod common;

use common::*;
use synchronik_core::*;

/// A pool of `n` workers (`pool-worker-1…n`, no timeout), started.
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

/// Names of the tasks started, in order (drains the log).
fn started_tasks(h: &Harness, names: &[(TaskId, &str)]) -> Vec<(String, Invocation)> {
    h.invocations()
        .into_iter()
        .map(|i| {
            let id = i.task.expect("a pool task");
            let name = names
                .iter()
                .find(|(t, _)| *t == id)
                .map(|(_, n)| n.to_string());
            (name.unwrap_or_default(), i)
        })
        .collect()
}

#[test]
fn tasks_start_at_once_on_free_workers_then_in_arrangement_order() {
    let mut h = Harness::new();
    let p = pool(&mut h, 2);
    let mut names = Vec::new();
    for n in ["t1", "t2", "t3", "t4"] {
        let (id, arrangement) = h.engine.pool_add(p, task(n)).unwrap();
        names.push((id, n));
        assert_eq!(arrangement as usize, names.len());
    }
    let first = started_tasks(&h, &names);
    assert_eq!(
        first.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["t1", "t2"]
    );
    assert_eq!(h.engine.pool_pending(p), ["t3", "t4"]);
    h.ok(first[1].1.call);
    let next = started_tasks(&h, &names);
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].0, "t3",
        "a freed worker takes the next task in the same step"
    );
}

#[test]
fn higher_priority_first_then_arrangement() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    for (n, prio) in [("low", 0.0), ("high", 5.0), ("mid", 1.0), ("high2", 5.0)] {
        let mut t = task(n);
        t.priority = prio;
        h.engine.pool_add(p, t).unwrap();
    }
    assert_eq!(h.engine.pool_pending(p), ["high", "high2", "mid", "low"]);
    assert!(h.engine.pool_reprioritize(p, "low", 10.0));
    assert_eq!(h.engine.pool_pending(p), ["low", "high", "high2", "mid"]);
}

#[test]
fn a_duplicate_pending_name_is_refused() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    h.engine.pool_add(p, task("same")).unwrap();
    assert_eq!(h.engine.pool_add(p, task("same")), Err(AddError::Duplicate));
    let mut anon = task("same");
    anon.name = None;
    assert!(
        h.engine.pool_add(p, anon.clone()).is_ok(),
        "anonymous tasks are never duplicates"
    );
    assert!(h.engine.pool_add(p, anon).is_ok());
}

#[test]
fn a_paused_head_blocks_everything_behind_it_until_resumed() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    let (t1, _) = h.engine.pool_add(p, task("Task 1")).unwrap();
    let (t2, _) = h.engine.pool_add(p, task("Task 2")).unwrap();
    assert!(h.engine.pool_pause(p, "Task 1"));
    assert!(!h.engine.pool_pause(p, "Task 1"), "already paused");
    // Workers arrive and the pool starts: nothing may run.
    let mut w = worker("pool-worker-1");
    w.config.timeout_ms = 0.0;
    let slot = h.engine.register(UnitSpec::Worker(w)).unwrap()[0];
    h.engine.pool_attach(p, slot);
    h.engine.pool_set_started(p, true);
    assert!(h.invocations().is_empty());
    assert!(h.engine.pool_resume(p, "Task 1"));
    let names = [(t1, "Task 1"), (t2, "Task 2")];
    let run = started_tasks(&h, &names);
    assert_eq!(run[0].0, "Task 1");
    h.ok(run[0].1.call);
    assert_eq!(started_tasks(&h, &names)[0].0, "Task 2");
}

#[test]
fn cancel_removes_pending_tasks_and_reports_idle() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    h.engine.pool_add(p, task("a")).unwrap();
    h.engine.pool_add(p, task("b")).unwrap();
    assert_eq!(h.engine.pool_cancel(p, "a"), 1);
    assert_eq!(h.engine.pool_cancel(p, "a"), 0);
    assert_eq!(h.engine.pool_pending(p), ["b"]);
    h.take();
    h.engine.pool_cancel(p, "b");
    let log = names(&h.take());
    assert!(log.ends_with(&["pool0:idle".to_string()]), "{log:?}");
    assert!(h.engine.pool_is_idle(p));
}

#[test]
fn a_task_that_completes_or_fails_frees_its_worker_and_idle_is_announced_once_empty() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    let (t1, _) = h.engine.pool_add(p, task("ok")).unwrap();
    let (t2, _) = h.engine.pool_add(p, task("bad")).unwrap();
    let names = [(t1, "ok"), (t2, "bad")];
    let a = started_tasks(&h, &names);
    h.ok(a[0].1.call);
    let log = h.take();
    assert!(log.iter().any(|o| matches!(o, Out::Event(Event::TaskDone { task, outcome: TaskOutcome::Completed { .. } }) if *task == t1)));
    assert!(
        !log.iter().any(|o| matches!(
            o,
            Out::Event(Event::Status { .. } | Event::Completed { .. })
        )),
        "pool workers announce nothing of their own: {log:?}"
    );
    let Some(Out::Invoke(b)) = log.iter().find(|o| matches!(o, Out::Invoke(_))).cloned() else {
        panic!("{log:?}")
    };
    assert_eq!(b.task, Some(t2));
    h.fail(b.call, "nope");
    let log = h.take();
    assert!(log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::TaskDone { task, outcome: TaskOutcome::Failed(_) }) if *task == t2)));
    assert!(names_of(&log).ends_with(&["pool0:idle".to_string()]));
}

fn names_of(log: &[Out]) -> Vec<String> {
    names(log)
}

#[test]
fn a_task_waiting_for_its_handler_lets_others_pass() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    h.engine.pool_set_started(p, false);
    let mut t = task("durable");
    t.handler = Some("resize-image".into());
    let (waiting, _) = h.engine.pool_add(p, t).unwrap();
    let (other, _) = h.engine.pool_add(p, task("other")).unwrap();
    h.engine.pool_set_started(p, true);
    let log = h.take();
    assert!(log.iter().any(|o| matches!(o, Out::Event(Event::TaskStatus { task, status: TaskStatus::WaitingHandler, .. }) if *task == waiting)));
    let run: Vec<Invocation> = log
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(run[0].task, Some(other));
    h.ok(run[0].call);
    h.take();
    h.engine.pool_handler(p, "resize-image", true);
    assert_eq!(h.invocations()[0].task, Some(waiting));
}

#[test]
fn a_new_handler_for_a_pending_task_is_what_it_waits_for() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    h.engine.pool_handler(p, "defined", true);
    let mut t = task("waits");
    t.handler = Some("missing".into());
    let (waiting, _) = h.engine.pool_add(p, t).unwrap();
    let log = h.take();
    assert!(log.iter().any(|o| matches!(o, Out::Event(Event::TaskStatus { task, status: TaskStatus::WaitingHandler, .. }) if *task == waiting)));
    // Its new handler is defined: idle again, and dispatched at once.
    assert_eq!(
        h.engine.pool_set_task_handler(p, "waits", "defined"),
        Some(waiting)
    );
    let log = h.take();
    assert!(log.iter().any(|o| matches!(o, Out::Event(Event::TaskStatus { task, status: TaskStatus::Idle, .. }) if *task == waiting)));
    let run: Vec<Invocation> = log
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].task, Some(waiting));
    h.ok(run[0].call);
    h.take();

    // The other way: a task whose handler is defined is given one that is
    // not; it waits instead of running.
    h.engine.pool_set_started(p, false);
    let mut t = task("later");
    t.handler = Some("defined".into());
    let (later, _) = h.engine.pool_add(p, t).unwrap();
    assert_eq!(
        h.engine.pool_set_task_handler(p, "later", "missing"),
        Some(later)
    );
    h.engine.pool_set_started(p, true);
    assert!(h.invocations().is_empty(), "it waits for its new handler");
    h.engine.pool_handler(p, "missing", true);
    assert_eq!(h.invocations()[0].task, Some(later));
}

#[test]
fn only_a_pending_task_that_names_a_handler_gets_a_new_one() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    h.engine.pool_set_started(p, false);
    h.engine.pool_add(p, task("own-function")).unwrap();
    assert_eq!(h.engine.pool_set_task_handler(p, "own-function", "h"), None);
    assert_eq!(h.engine.pool_set_task_handler(p, "unknown", "h"), None);
    h.engine.pool_set_started(p, true);
    // It still runs as a task without a handler.
    assert_eq!(h.invocations().len(), 1);
}

#[test]
fn shrinking_removes_only_idle_workers_from_the_end() {
    let mut h = Harness::new();
    let p = pool(&mut h, 3);
    h.engine.pool_add(p, task("busy")).unwrap();
    // pool-worker-1 is busy.
    assert_eq!(
        h.engine.pool_shrink(p, 5),
        ["pool-worker-3", "pool-worker-2"]
    );
    assert_eq!(h.engine.pool_size(p), 1);
    assert!(
        h.engine.pool_shrink(p, 1).is_empty(),
        "the busy worker stays"
    );
    assert!(h.engine.unit("pool-worker-3").is_none());
}

#[test]
fn cancelling_a_running_task_aborts_it() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    let (t, _) = h.engine.pool_add(p, task("long")).unwrap();
    let run = h.invocations()[0];
    assert!(h.engine.pool_cancel_task(t));
    let log = h.take();
    assert_eq!(log[0], Out::Abort(run.call, AbortReason::Cancelled));
    assert!(log.iter().any(|o| matches!(
        o,
        Out::Event(Event::TaskDone {
            outcome: TaskOutcome::Cancelled,
            ..
        })
    )));
    assert!(!h.engine.pool_cancel_task(t), "already finished");
}

#[test]
fn queued_tasks_need_no_timers() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    let (first, arrangement) = h.engine.pool_add_many(p, &vec![0.0; 100_000]).unwrap();
    assert_eq!(arrangement, 1);
    h.engine.pool_add(p, task("named")).unwrap();
    assert_eq!(h.engine.pool_queued(), 100_001);
    assert!(first > 0);
    assert_eq!(h.engine.next_deadline(), None);
}

#[test]
fn a_name_is_free_again_once_its_task_left_the_queue() {
    let mut h = Harness::new();
    let p = pool(&mut h, 1);
    // "a" runs at once (the worker is free); "b" waits in the queue.
    h.engine.pool_add(p, task("a")).unwrap();
    h.engine.pool_add(p, task("b")).unwrap();
    assert_eq!(
        h.engine.pool_add(p, task("b")),
        Err(AddError::Duplicate),
        "queued"
    );
    assert!(
        h.engine.pool_add(p, task("a")).is_ok(),
        "running is not queued"
    );
    assert_eq!(h.engine.pool_add(p, task("a")), Err(AddError::Duplicate));
    assert_eq!(h.engine.pool_cancel(p, "b"), 1);
    assert!(h.engine.pool_add(p, task("b")).is_ok(), "cancelled");
    assert!(h.engine.pool_pause(p, "b"));
    assert_eq!(
        h.engine.pool_add(p, task("b")),
        Err(AddError::Duplicate),
        "paused is queued"
    );
    assert!(h.engine.pool_reprioritize(p, "b", 9.0));
    assert_eq!(h.engine.pool_add(p, task("b")), Err(AddError::Duplicate));
    assert_eq!(h.engine.pool_pending(p), ["b", "a"]);
}
