//! Overlapping manual runs, and what a stop does to queued tasks and to the
//! run that called it.

mod common;

use common::*;
use synchronik_core::*;

/// The tickets ended so far, with whether they ended with an error (drains the log).
fn done(h: &Harness) -> Vec<(Ticket, Option<ErrorCode>)> {
    h.take()
        .into_iter()
        .filter_map(|o| match o {
            Out::Event(Event::Done { ticket, error }) => {
                Some((ticket, error.map(|(_, e)| e.code())))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_second_process_run_joins_the_one_in_flight_and_shares_its_outcome() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(process("p", RunMode::Sequential, &["a"])))
        .unwrap();
    let first = h.engine.run_unit("p", None);
    let second = h.engine.run_unit("p", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 1, "one run of the worker, not two");
    h.fail(calls[0].call, "boom");
    let ended = done(&h);
    assert_eq!(
        ended,
        vec![
            (second, Some(ErrorCode::WorkerFailed)),
            (first, Some(ErrorCode::WorkerFailed))
        ]
    );
    assert_eq!(h.engine.active_runs(), 0);
}

#[test]
fn manual_runs_of_a_running_worker_follow_its_overlap() {
    let mut h = Harness::new();
    // skip (the default): joins.
    h.engine.register(UnitSpec::Worker(worker("s"))).unwrap();
    let t1 = h.engine.run_unit("s", None);
    let t2 = h.engine.run_unit("s", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 1);
    h.ok(calls[0].call);
    let mut ended: Vec<Ticket> = done(&h).into_iter().map(|(t, _)| t).collect();
    ended.sort_unstable();
    assert_eq!(ended, vec![t1, t2]);

    // queue: one run right after, for every request made meanwhile.
    let mut q = worker("q");
    q.config.overlap = Overlap::Queue;
    h.engine.register(UnitSpec::Worker(q)).unwrap();
    let q1 = h.engine.run_unit("q", None);
    let q2 = h.engine.run_unit("q", None);
    let q3 = h.engine.run_unit("q", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 1);
    h.ok(calls[0].call);
    let log = h.take();
    let next: Vec<&Invocation> = log
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(next.len(), 1, "the queued run starts right after");
    let first_done: Vec<Ticket> = log
        .iter()
        .filter_map(|o| match o {
            Out::Event(Event::Done { ticket, .. }) => Some(*ticket),
            _ => None,
        })
        .collect();
    assert_eq!(first_done, vec![q1]);
    let call = next[0].call;
    h.ok(call);
    let mut ended: Vec<Ticket> = done(&h).into_iter().map(|(t, _)| t).collect();
    ended.sort_unstable();
    assert_eq!(ended, vec![q2, q3]);

    // allow: runs alongside.
    let mut a = worker("a");
    a.config.overlap = Overlap::Allow;
    h.engine.register(UnitSpec::Worker(a)).unwrap();
    h.engine.run_unit("a", None);
    h.engine.run_unit("a", None);
    assert_eq!(h.invocations().len(), 2);
}

#[test]
fn stop_drops_queued_tasks_and_does_not_wait_for_the_run_that_called_it() {
    let mut h = Harness::new();
    let p = h.engine.pool("default");
    let mut w = worker("pool-worker-1");
    w.config.timeout_ms = 0.0;
    let slot = h.engine.register(UnitSpec::Worker(w)).unwrap()[0];
    h.engine.pool_attach(p, slot);
    h.engine.pool_set_started(p, true);
    let spec = |name: &str| TaskSpec {
        name: Some(name.into()),
        priority: 0.0,
        handler: None,
    };
    let (running, _) = h.engine.pool_add(p, spec("running")).unwrap();
    let (queued, _) = h.engine.pool_add(p, spec("queued")).unwrap();
    let call = h.invocations()[0].call;
    let ticket = h.engine.stop_with(StopOptions {
        caller: Some(call),
        ..StopOptions::default()
    });
    let log = h.take();
    assert!(log.iter().any(|o| matches!(o,
        Out::Event(Event::TaskDone { task, outcome: TaskOutcome::Dropped(e) })
            if *task == queued && e.code() == ErrorCode::Stopped)));
    assert!(
        log.iter().any(
            |o| matches!(o, Out::Event(Event::Done { ticket: t, error: None }) if *t == ticket)
        ),
        "the stop ends although the run that called it is in flight"
    );
    assert!(!log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::TaskDone { task, .. }) if *task == running)));
    h.ok(call);
    assert!(h.engine.pool_is_idle(p));

    // Closing: dropped with ERR_CLOSED.
    h.engine.pool_set_started(p, false);
    let (later, _) = h.engine.pool_add(p, spec("later")).unwrap();
    h.engine.stop_with(StopOptions {
        closing: true,
        ..StopOptions::default()
    });
    assert!(h.take().iter().any(|o| matches!(o,
        Out::Event(Event::TaskDone { task, outcome: TaskOutcome::Dropped(e) })
            if *task == later && e.code() == ErrorCode::Closed)));
}

#[test]
fn end_runs_ends_the_runs_of_a_unit_and_keeps_it() {
    let mut h = Harness::new();
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    let ticket = h.engine.run_unit("w", None);
    let call = h.invocations()[0].call;
    assert!(h.engine.end_runs("w"));
    let log = h.take();
    assert!(log.contains(&Out::Abort(call, AbortReason::Released)));
    assert!(log
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket: t, .. }) if *t == ticket)));
    assert_eq!(h.status("w"), Status::Error);
    assert_eq!(h.engine.active_runs(), 0);
    assert!(h.engine.unit("w").is_some());
}
