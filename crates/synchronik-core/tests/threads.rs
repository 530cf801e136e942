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

// ---- Named tasks (addTask) --------------------------------------------------

fn named(name: &str) -> NamedThreadTask {
    NamedThreadTask {
        name: name.into(),
        payload_json: None,
        restored: None,
    }
}

fn started(events: &[ThreadEvent]) -> Vec<(TaskId, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::Started { task, attempt } => Some((*task, *attempt)),
            _ => None,
        })
        .collect()
}

fn terminated(events: &[ThreadEvent]) -> Vec<RunnerId> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::Terminate { runner } => Some(*runner),
            _ => None,
        })
        .collect()
}

/// What was recorded so far (drains the log): the thread events, and the
/// tickets that ended.
fn thread_events_and_tickets(h: &Harness) -> (Vec<ThreadEvent>, Vec<Ticket>) {
    let mut threads = Vec::new();
    let mut tickets = Vec::new();
    for o in h.take() {
        match o {
            Out::Event(Event::Thread(e)) => threads.push(e),
            Out::Event(Event::Done { ticket, error }) => {
                assert!(error.is_none(), "ticket {ticket} failed: {error:?}");
                tickets.push(ticket);
            }
            _ => {}
        }
    }
    (threads, tickets)
}

/// Asserts that `outcome` is the engine's failure with `code`, and returns
/// its error.
fn failed_with(outcome: &ThreadOutcome, code: ErrorCode) -> EngineError {
    let ThreadOutcome::Failed { error, cause: None } = outcome else {
        panic!("expected a failure {code:?}, got {outcome:?}");
    };
    assert_eq!(error.code(), code, "{error}");
    error.clone()
}

#[test]
fn a_named_task_announces_its_start_with_its_attempt_and_a_plain_run_does_not() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    let (x, key) = h
        .engine
        .thread_add(p, task("default", 0.0, 1), named("x"))
        .unwrap();
    assert_eq!(key, None, "no store: no idempotency key");
    let y = h.engine.thread_run(p, task("default", 0.0, 2)).unwrap();
    let (z, _) = h
        .engine
        .thread_add(p, task("default", 0.0, 3), named("z"))
        .unwrap();
    assert!(started(&thread_events(&h)).is_empty(), "queued, not taken");
    // Taken on registering.
    let run = h.engine.thread_register(r[0]).unwrap();
    assert_eq!(
        run,
        ThreadTaskRun {
            task: x,
            handler: "default".into(),
            payload: vec![1],
            named: true,
            key: None,
            attempt: 1,
        }
    );
    assert_eq!(started(&thread_events(&h)), [(x, 1)]);
    // Taken on reporting: the plain run is not announced.
    let run = h.engine.thread_done(r[0], x, true, vec![]).unwrap();
    assert_eq!(
        (run.task, run.named, run.key.clone(), run.attempt),
        (y, false, None, 1)
    );
    let events = thread_events(&h);
    assert!(started(&events).is_empty(), "{events:?}");
    assert!(h
        .engine
        .thread_done(r[0], y, true, vec![])
        .is_some_and(|run| {
            run.task == z && run.named && run.attempt == 1 && run.key.is_none()
        }));
    assert_eq!(started(&thread_events(&h)), [(z, 1)]);
    h.engine.thread_done(r[0], z, true, vec![]);
    thread_events(&h);
    // Taken after a wake-up: a plain run, not announced.
    let w = h.engine.thread_run(p, task("default", 0.0, 4)).unwrap();
    assert_eq!(thread_events(&h), [ThreadEvent::Work { runner: r[0] }]);
    let run = h.engine.thread_take(r[0]).unwrap();
    assert_eq!((run.task, run.named, run.attempt), (w, false, 1));
    assert!(started(&thread_events(&h)).is_empty());
}

#[test]
fn thread_add_is_refused_by_a_closed_or_unknown_pool() {
    let mut h = Harness::new();
    let (p, _) = pool(&mut h, generalists(1), None);
    assert_eq!(
        h.engine
            .thread_add(p + 1, task("default", 0.0, 0), named("x")),
        Err(ThreadRunError::UnknownPool)
    );
    h.engine.thread_pool_close(p, false);
    let Err(ThreadRunError::Closed(e)) =
        h.engine.thread_add(p, task("default", 0.0, 0), named("x"))
    else {
        panic!("a closed pool takes no named task");
    };
    assert_eq!(e.code(), ErrorCode::Closed);
}

// ---- The manager's stop and start -------------------------------------------

/// A pool of one generalist (r[0]) and one specialist of "resize" (r[1]),
/// both registered.
fn mixed_pool(h: &mut Harness) -> (ThreadPoolId, Vec<RunnerId>) {
    let (p, r) = pool(
        h,
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
    assert!(h.engine.thread_register(r[0]).is_none());
    assert!(h.engine.thread_register(r[1]).is_none());
    (p, r)
}

#[test]
fn stop_drops_queued_tasks_ends_idle_threads_and_waits_for_the_running_task() {
    let mut h = Harness::new();
    let (p, r) = mixed_pool(&mut h);
    let a = h.engine.thread_run(p, task("default", 0.0, 1)).unwrap();
    assert_eq!(h.engine.thread_take(r[0]).unwrap().task, a);
    // The specialist cannot take these: they wait.
    let b = h.engine.thread_run(p, task("default", 0.0, 2)).unwrap();
    let (c, _) = h
        .engine
        .thread_add(p, task("default", 0.0, 3), named("c"))
        .unwrap();
    thread_events(&h);

    let ticket = h.engine.stop(None);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(tickets.is_empty(), "the stop waits for the running task");
    let ended = done(&events);
    assert_eq!(
        ended.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        [b, c],
        "{events:?}"
    );
    for (_, outcome) in &ended {
        let e = failed_with(outcome, ErrorCode::Stopped);
        assert_eq!(
            e,
            EngineError::Dropped {
                pool: "threads".into(),
                closed: false
            }
        );
        assert!(
            e.to_string()
                .contains("was dropped: the manager was stopped before it ran"),
            "{e}"
        );
    }
    assert_eq!(terminated(&events), [r[1]], "only the idle thread ends now");
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().queued, 0);
    // The idle thread's exit brings no replacement.
    h.engine.thread_exited(r[1], "terminated");
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(spawned(&events).is_empty(), "{events:?}");
    assert!(tickets.is_empty());

    // While stopped: runs are refused, named tasks wait.
    let Err(ThreadRunError::Stopped(e)) = h.engine.thread_run(p, task("default", 0.0, 4)) else {
        panic!("a run while stopped must be refused");
    };
    assert_eq!(e.code(), ErrorCode::Stopped);
    assert_eq!(
        e,
        EngineError::ThreadPoolStopped {
            pool: "threads".into()
        }
    );
    assert!(e.to_string().contains("is stopped with its manager"), "{e}");
    let many = h
        .engine
        .thread_run_many(p, [task("default", 0.0, 5), task("resize", 0.0, 6)]);
    assert!(
        many.iter()
            .all(|x| matches!(x, Err(ThreadRunError::Stopped(_)))),
        "{many:?}"
    );
    let (d, key) = h
        .engine
        .thread_add(p, task("default", 0.0, 7), named("d"))
        .unwrap();
    assert_eq!(key, None);
    let (events, _) = thread_events_and_tickets(&h);
    assert!(
        events.is_empty(),
        "not assigned, no thread spawned: {events:?}"
    );
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().queued, 1);

    // The running task ends: its thread ends, then the stop does.
    assert!(
        h.engine.thread_done(r[0], a, true, vec![9]).is_none(),
        "nothing is handed out while stopped"
    );
    let (events, tickets) = thread_events_and_tickets(&h);
    assert_eq!(
        events,
        [
            ThreadEvent::Done {
                task: a,
                outcome: ThreadOutcome::Returned(vec![9])
            },
            ThreadEvent::Terminate { runner: r[0] }
        ]
    );
    assert_eq!(tickets, [ticket]);
    h.engine.thread_exited(r[0], "terminated");
    let (events, _) = thread_events_and_tickets(&h);
    assert!(spawned(&events).is_empty(), "{events:?}");
    assert!(h.engine.thread_pool_stats(p).unwrap().threads.is_empty());

    // Started again: a thread comes for the waiting named task (only a
    // generalist takes it) and runs it.
    h.engine.start();
    let (events, _) = thread_events_and_tickets(&h);
    let back = spawned(&events);
    assert_eq!(back.len(), 1, "{events:?}");
    let run = h.engine.thread_register(back[0]).expect("the waiting task");
    assert_eq!((run.task, run.named, run.attempt), (d, true, 1));
    assert_eq!(started(&thread_events(&h)), [(d, 1)]);
    let stats = h.engine.thread_pool_stats(p).unwrap();
    assert_eq!(stats.threads[0].handlers, None);
    // Runs are taken again.
    let e = h.engine.thread_run(p, task("resize", 0.0, 8)).unwrap();
    let (events, _) = thread_events_and_tickets(&h);
    let specialist = spawned(&events);
    assert_eq!(specialist.len(), 1, "{events:?}");
    assert_eq!(h.engine.thread_register(specialist[0]).unwrap().task, e);
}

#[test]
fn stop_with_nothing_running_ends_at_once_and_every_thread_ends() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(2), None);
    h.engine.thread_register(r[0]);
    thread_events(&h);
    let ticket = h.engine.stop(None);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert_eq!(tickets, [ticket]);
    assert_eq!(terminated(&events), [r[0]]);
    // A thread still loading ends as soon as it has loaded.
    assert!(h.engine.thread_register(r[1]).is_none());
    assert_eq!(thread_events(&h), [ThreadEvent::Terminate { runner: r[1] }]);
    h.engine.thread_exited(r[0], "terminated");
    h.engine.thread_exited(r[1], "terminated");
    assert!(spawned(&thread_events(&h)).is_empty());
    assert!(h.engine.thread_pool_stats(p).unwrap().threads.is_empty());
    // Started again with nothing to do: no thread comes back until work does.
    h.engine.start();
    assert!(spawned(&thread_events(&h)).is_empty());
    let t = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    let back = spawned(&thread_events(&h));
    assert_eq!(back.len(), 1);
    assert_eq!(h.engine.thread_register(back[0]).unwrap().task, t);
}

#[test]
fn a_thread_that_dies_while_stopped_fails_its_task_is_not_replaced_and_ends_the_stop() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    thread_events(&h);
    let ticket = h.engine.stop(None);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(events.is_empty() && tickets.is_empty(), "{events:?}");
    h.engine.thread_exited(r[0], "exit code 7");
    let (events, tickets) = thread_events_and_tickets(&h);
    let [(task, outcome)] = &done(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*task, a);
    failed_with(outcome, ErrorCode::ThreadExited);
    assert!(spawned(&events).is_empty(), "no replacement while stopped");
    assert_eq!(tickets, [ticket]);
}

#[test]
fn a_task_assigned_but_not_taken_at_the_stop_still_runs_and_the_stop_waits_for_it() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let (a, _) = h
        .engine
        .thread_add(p, task("default", 0.0, 0), named("a"))
        .unwrap();
    assert_eq!(thread_events(&h), [ThreadEvent::Work { runner: r[0] }]);
    let ticket = h.engine.stop(None);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(events.is_empty() && tickets.is_empty(), "{events:?}");
    let run = h.engine.thread_take(r[0]).unwrap();
    assert_eq!(run.task, a);
    assert_eq!(started(&thread_events(&h)), [(a, 1)]);
    h.engine.thread_done(r[0], a, true, vec![]);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert_eq!(terminated(&events), [r[0]]);
    assert_eq!(tickets, [ticket]);
}

#[test]
fn at_the_stop_time_limit_a_running_task_fails_and_its_thread_is_terminated() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(2), None);
    h.engine.thread_register(r[0]);
    h.engine.thread_register(r[1]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    thread_events(&h);
    h.advance_to(50.0);
    let ticket = h.engine.stop(Some(100.0));
    let (events, tickets) = thread_events_and_tickets(&h);
    assert_eq!(terminated(&events), [r[1]], "the idle thread ends at once");
    assert!(done(&events).is_empty() && tickets.is_empty());
    h.advance_to(149.0);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(events.is_empty() && tickets.is_empty(), "{events:?}");
    h.advance_to(150.0);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[0] }));
    let [(task, outcome)] = &done(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*task, a);
    let e = failed_with(outcome, ErrorCode::Stopped);
    assert_eq!(
        e,
        EngineError::ThreadStopped {
            pool: "threads".into()
        }
    );
    assert!(
        e.to_string()
            .contains("still running when the stop's time limit passed"),
        "{e}"
    );
    assert_eq!(tickets, [ticket]);
    // A late report changes nothing; the exits bring no thread back.
    assert!(h.engine.thread_done(r[0], a, true, vec![]).is_none());
    h.engine.thread_exited(r[0], "terminated");
    h.engine.thread_exited(r[1], "terminated");
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(events.is_empty() && tickets.is_empty(), "{events:?}");
    assert!(h.engine.thread_pool_stats(p).unwrap().threads.is_empty());
}

#[test]
fn at_the_stop_time_limit_a_task_of_a_closing_pool_ends_too() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    h.engine.thread_take(r[0]);
    // Closing: it lets its running task finish.
    h.engine.thread_pool_close(p, false);
    thread_events(&h);
    let ticket = h.engine.stop(Some(100.0));
    let (_, tickets) = thread_events_and_tickets(&h);
    assert!(tickets.is_empty(), "the stop waits for the running task");
    h.advance_to(100.0);
    let (events, tickets) = thread_events_and_tickets(&h);
    assert_eq!(tickets, [ticket], "the stop ends at its time limit");
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[0] }));
    let [(task, outcome)] = &done(&events)[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*task, a);
    failed_with(outcome, ErrorCode::Stopped);
}

#[test]
fn a_run_whose_thread_dies_before_taking_it_during_a_stop_is_dropped() {
    let mut h = Harness::new();
    let (p, r) = pool(&mut h, generalists(1), None);
    h.engine.thread_register(r[0]);
    let a = h.engine.thread_run(p, task("default", 0.0, 0)).unwrap();
    thread_events(&h);
    // Assigned, not taken: the stop waits for it.
    let ticket = h.engine.stop(None);
    let (_, tickets) = thread_events_and_tickets(&h);
    assert!(tickets.is_empty());
    // Its thread dies before taking it: while stopped, a run does not wait
    // in the queue (a run given now would be refused); it is dropped.
    h.engine.thread_exited(r[0], "gone");
    let (events, tickets) = thread_events_and_tickets(&h);
    assert!(spawned(&events).is_empty(), "{events:?}");
    assert_eq!(tickets, [ticket]);
    let [(task, outcome)] = &done(&events)[..] else {
        panic!("the run must end: {events:?}");
    };
    assert_eq!(*task, a);
    failed_with(outcome, ErrorCode::Stopped);
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().queued, 0);
}
