//! Thread pools: routing, priorities, the queue limit, runners that die,
//! a module that cannot load, abort, close and destroy.

mod common;

use common::{Harness, Out};
use synchronik_core::*;

/// The thread events recorded so far (drains the log).
fn thread_events(h: &Harness) -> Vec<ThreadEvent> {
    h.take()
        .into_iter()
        .filter_map(|o| match o {
            Out::Event(Event::Thread(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn spawned(events: &[ThreadEvent]) -> Vec<RunnerId> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::Spawn { runner, .. } => Some(*runner),
            _ => None,
        })
        .collect()
}

fn task(handler: &str, priority: f64, payload: u8) -> ThreadTaskSpec {
    ThreadTaskSpec {
        handler: handler.into(),
        priority,
        payload: vec![payload],
    }
}

fn pool(
    h: &mut Harness,
    groups: Vec<ThreadGroup>,
    max_queue: Option<usize>,
) -> (ThreadPoolId, Vec<RunnerId>) {
    pool_with(h, groups, max_queue, None)
}

fn pool_with(
    h: &mut Harness,
    groups: Vec<ThreadGroup>,
    max_queue: Option<usize>,
    idle_timeout_ms: Option<f64>,
) -> (ThreadPoolId, Vec<RunnerId>) {
    let id = h.engine.thread_pool_create(ThreadPoolSpec {
        name: "threads".into(),
        groups,
        max_queue,
        idle_timeout_ms,
    });
    let runners = spawned(&thread_events(h));
    (id, runners)
}

fn generalists(size: u32) -> Vec<ThreadGroup> {
    vec![ThreadGroup {
        size,
        handlers: None,
    }]
}

fn done(events: &[ThreadEvent]) -> Vec<(TaskId, ThreadOutcome)> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::Done { task, outcome } => Some((*task, outcome.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_pool_asks_for_its_threads_and_a_registered_thread_takes_queued_work() {
    let mut h = Harness::new();
    let (p, runners) = pool(&mut h, generalists(2), None);
    assert_eq!(runners.len(), 2);
    // Queued before any thread is ready: nothing is assigned.
    let t = h.engine.thread_run(p, task("default", 0.0, 7)).unwrap();
    assert!(thread_events(&h).is_empty());
    let first = h
        .engine
        .thread_register(runners[0])
        .expect("its first task");
    assert_eq!((first.task, first.payload.clone()), (t, vec![7]));
    // Reporting hands back nothing more: the queue is empty.
    assert!(h
        .engine
        .thread_done(runners[0], t, true, vec![14])
        .is_none());
    assert_eq!(
        done(&thread_events(&h)),
        vec![(t, ThreadOutcome::Returned(vec![14]))]
    );
}

#[test]
fn an_idle_thread_is_woken_and_a_busy_one_gets_its_next_task_when_it_reports() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    assert!(h.engine.thread_register(r[0]).is_none());
    let a = h.engine.thread_run(p, task("default", 0.0, 1)).unwrap();
    assert_eq!(thread_events(&h), vec![ThreadEvent::Work { runner: r[0] }]);
    let b = h.engine.thread_run(p, task("default", 0.0, 2)).unwrap();
    // Busy (assigned): no second wake-up.
    assert!(thread_events(&h).is_empty());
    assert_eq!(h.engine.thread_take(r[0]).unwrap().task, a);
    let next = h.engine.thread_done(r[0], a, true, vec![]).unwrap();
    assert_eq!(next.task, b);
    let events = thread_events(&h);
    assert!(!events.iter().any(|e| matches!(e, ThreadEvent::Work { .. })));
}

#[test]
fn higher_priority_first_then_arrival() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    let low = h.engine.thread_run(p, task("default", -1.0, 0)).unwrap();
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let high = h.engine.thread_run(p, task("default", 5.5, 0)).unwrap();
    let b = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let mut order = vec![];
    let mut next = h.engine.thread_register(r[0]);
    while let Some(t) = next {
        order.push(t.task);
        next = h.engine.thread_done(r[0], t.task, true, vec![]);
    }
    assert_eq!(order, vec![high, a, b, low]);
}

#[test]
fn specialists_take_only_their_handlers_and_generalists_take_any() {
    let mut h = Harness::new();
    let (p, r) = pool(
        &mut h,
        vec![
            ThreadGroup {
                size: 1,
                handlers: Some(vec!["resize".into()]),
            },
            ThreadGroup {
                size: 1,
                handlers: None,
            },
        ],
        None,
    );
    let plain = h.engine.thread_run(p, task("plain", 0.0, 0)).unwrap();
    let resize = h.engine.thread_run(p, task("resize", 0.0, 0)).unwrap();
    // The specialist skips the plain task ahead of its own.
    assert_eq!(h.engine.thread_register(r[0]).unwrap().task, resize);
    assert_eq!(h.engine.thread_register(r[1]).unwrap().task, plain);
    let stats = h.engine.thread_pool_stats(p).unwrap();
    assert_eq!(stats.threads[0].handlers, Some(vec!["resize".to_owned()]));
    assert_eq!(stats.threads[1].handlers, None);
}

#[test]
fn a_full_queue_refuses_with_the_limit() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), Some(2));
    h.engine.thread_register(r[0]);
    // One for the thread, two that wait.
    for _ in 0..3 {
        h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    }
    let Err(ThreadRunError::Full(e)) = h.engine.thread_run(p, task("default", 0.0, 0)) else {
        panic!("a fourth task must be refused");
    };
    assert_eq!(e.code(), ErrorCode::QueueFull);
    assert!(e.to_string().contains("2 tasks"), "{e}");
}

#[test]
fn a_thread_that_dies_fails_its_task_and_is_replaced() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let t = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]).unwrap();
    thread_events(&h);
    h.engine.thread_exited(r[0], "exit code 3");
    let events = thread_events(&h);
    let [(task, ThreadOutcome::Failed { error, .. })] = &done(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*task, t);
    assert_eq!(error.code(), ErrorCode::ThreadExited);
    assert!(error.to_string().contains("exit code 3"));
    assert_eq!(spawned(&events).len(), 1, "replaced");
    // A late report of the dead runner changes nothing.
    assert!(h.engine.thread_done(r[0], t, true, vec![]).is_none());
}

#[test]
fn a_task_assigned_to_a_thread_that_died_before_taking_it_waits_again() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let t = h.engine.thread_run(p, task("default", 0.0, 9)).unwrap();
    thread_events(&h);
    h.engine.thread_exited(r[0], "gone");
    let events = thread_events(&h);
    assert!(done(&events).is_empty());
    let replacement = spawned(&events)[0];
    let run = h.engine.thread_register(replacement).unwrap();
    assert_eq!((run.task, run.payload), (t, vec![9]));
}

#[test]
fn a_module_that_cannot_load_fails_queued_and_later_tasks_and_is_not_respawned() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(2), None);
    let t = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine
        .thread_bootstrap_failed(r[0], "SyntaxError: oops".into(), vec![1, 2]);
    let events = thread_events(&h);
    let [(failed, ThreadOutcome::Failed { error, cause })] = &done(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!((*failed, cause.clone()), (t, Some(vec![1, 2])));
    assert_eq!(error.code(), ErrorCode::ThreadBootstrap);
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[0] }));
    h.engine.thread_exited(r[0], "exit code 1");
    // The other thread dies before loading too: nothing is spawned.
    h.engine.thread_exited(r[1], "exit code 1");
    assert!(spawned(&thread_events(&h)).is_empty());
    assert!(matches!(
        h.engine.thread_run(p, task("default", 0.0, 0)),
        Err(ThreadRunError::Broken(..))
    ));
    assert_eq!(h.engine.thread_pool_broken_cause(p), Some(vec![1, 2]));
}

#[test]
fn abort_removes_a_queued_task_and_terminates_the_thread_of_a_running_one() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let running = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let queued = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    thread_events(&h);
    assert!(h.engine.thread_abort(queued));
    assert_eq!(
        done(&thread_events(&h)),
        vec![(queued, ThreadOutcome::Aborted)]
    );
    assert!(h.engine.thread_abort(running));
    let events = thread_events(&h);
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[0] }));
    assert_eq!(done(&events), vec![(running, ThreadOutcome::Aborted)]);
    assert!(!h.engine.thread_abort(running), "finished already");
    // Its exit brings a new thread.
    h.engine.thread_exited(r[0], "terminated");
    assert_eq!(spawned(&thread_events(&h)).len(), 1);
}

#[test]
fn close_lets_the_queue_finish_then_ends_every_thread() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(2), None);
    h.engine.thread_register(r[0]);
    h.engine.thread_register(r[1]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    thread_events(&h);
    h.engine.thread_pool_close(p, false);
    assert!(thread_events(&h).is_empty(), "waits for the running task");
    assert!(matches!(
        h.engine.thread_run(p, task("default", 0.0, 0)),
        Err(ThreadRunError::Closed(_))
    ));
    h.engine.thread_done(r[0], a, true, vec![]);
    let events = thread_events(&h);
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[0] }));
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[1] }));
    assert!(events.contains(&ThreadEvent::Closed { pool: p }));
    // Their exits spawn nothing.
    h.engine.thread_exited(r[0], "terminated");
    h.engine.thread_exited(r[1], "terminated");
    assert!(spawned(&thread_events(&h)).is_empty());
}

#[test]
fn destroy_fails_queued_and_running_tasks_at_once() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let b = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    thread_events(&h);
    h.engine.thread_pool_close(p, true);
    let events = thread_events(&h);
    let ended: Vec<TaskId> = done(&events)
        .into_iter()
        .map(|(t, o)| {
            let ThreadOutcome::Failed { error, .. } = o else {
                panic!("{o:?}");
            };
            assert_eq!(error.code(), ErrorCode::Closed);
            t
        })
        .collect();
    assert_eq!(ended.len(), 2);
    assert!(ended.contains(&a) && ended.contains(&b));
    assert!(events.contains(&ThreadEvent::Closed { pool: p }));
}

#[test]
fn an_idle_thread_ends_after_the_idle_timeout_and_comes_back_for_work() {
    let mut h = Harness::new();
    let (p, r) = pool_with(&mut h, generalists(2), None, Some(1000.0));
    h.engine.thread_register(r[0]);
    h.engine.thread_register(r[1]);
    let t = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    assert_eq!(thread_events(&h), vec![ThreadEvent::Work { runner: r[0] }]);
    h.engine.thread_take(r[0]);
    h.advance_to(900.0);
    assert!(thread_events(&h).is_empty());
    // r[1] idled since 0 ms; r[0] works, then idles from 900 ms.
    h.engine.thread_done(r[0], t, true, vec![]);
    h.advance_to(1000.0);
    assert!(thread_events(&h).contains(&ThreadEvent::Terminate { runner: r[1] }));
    h.advance_to(1899.0);
    assert!(thread_events(&h).is_empty());
    h.advance_to(1900.0);
    assert_eq!(
        thread_events(&h),
        vec![ThreadEvent::Terminate { runner: r[0] }]
    );
    // Their exits spawn nothing: no work waits.
    h.engine.thread_exited(r[0], "terminated");
    h.engine.thread_exited(r[1], "terminated");
    assert!(spawned(&thread_events(&h)).is_empty());
    // Work brings back as many threads as it needs (one task: one thread).
    let t2 = h.engine.thread_run(p, task("default", 0.0, 5)).unwrap();
    let back = spawned(&thread_events(&h));
    assert_eq!(back.len(), 1);
    assert_eq!(h.engine.thread_register(back[0]).unwrap().task, t2);
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().threads.len(), 1);
}

#[test]
fn a_thread_given_work_before_its_idle_timeout_stays() {
    let mut h = Harness::new();
    let (p, r) = pool_with(&mut h, generalists(1), None, Some(1000.0));
    h.engine.thread_register(r[0]);
    h.advance_to(500.0);
    let t = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    h.advance_to(1200.0);
    assert!(!thread_events(&h)
        .iter()
        .any(|e| matches!(e, ThreadEvent::Terminate { .. })));
    h.engine.thread_done(r[0], t, true, vec![]);
    h.advance_to(2199.0);
    assert!(!thread_events(&h)
        .iter()
        .any(|e| matches!(e, ThreadEvent::Terminate { .. })));
}

#[test]
fn a_pool_never_has_more_threads_than_its_size() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(2), None);
    h.engine.thread_register(r[0]);
    h.engine.thread_register(r[1]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let b = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    h.engine.thread_take(r[1]);
    // Both threads are ending (their tasks aborted) when work arrives:
    // two threads come for it, and the exits of the old ones add none.
    h.engine.thread_abort(a);
    h.engine.thread_abort(b);
    thread_events(&h);
    h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let mut spawned_now = spawned(&thread_events(&h)).len();
    h.engine.thread_exited(r[0], "terminated");
    h.engine.thread_exited(r[1], "terminated");
    spawned_now += spawned(&thread_events(&h)).len();
    assert_eq!(spawned_now, 2);
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().threads.len(), 2);
}

#[test]
fn only_a_thread_that_has_not_loaded_can_report_a_load_failure() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let t = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    h.engine
        .thread_bootstrap_failed(r[0], "late".into(), vec![]);
    assert!(h.engine.thread_pool_broken_cause(p).is_none());
    assert!(h.engine.thread_done(r[0], t, true, vec![]).is_none());
    assert!(done(&thread_events(&h)).iter().any(|(x, _)| *x == t));
}

#[test]
fn max_queue_counts_only_what_free_threads_do_not_take() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(2), Some(1));
    h.engine.thread_register(r[0]);
    h.engine.thread_register(r[1]);
    let many = h
        .engine
        .thread_run_many(p, (0..4).map(|_| task("default", 0.0, 0)));
    // Two taken by the idle threads, one waits, the fourth is refused.
    assert_eq!(many.iter().filter(|x| x.is_ok()).count(), 3);
    assert!(matches!(many[3], Err(ThreadRunError::Full(_))));
}

#[test]
fn an_idle_specialist_takes_its_handler_before_a_generalist_does() {
    let mut h = Harness::new();
    let (p, r) = pool(
        &mut h,
        vec![
            ThreadGroup {
                size: 1,
                handlers: None,
            },
            ThreadGroup {
                size: 1,
                handlers: Some(vec!["resize".into()]),
            },
        ],
        None,
    );
    h.engine.thread_register(r[0]);
    h.engine.thread_register(r[1]);
    let resize = h.engine.thread_run(p, task("resize", 0.0, 0)).unwrap();
    let other = h.engine.thread_run(p, task("other", 0.0, 0)).unwrap();
    assert_eq!(h.engine.thread_take(r[1]).unwrap().task, resize);
    assert_eq!(h.engine.thread_take(r[0]).unwrap().task, other);
}
