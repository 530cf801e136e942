//! Delayed pool tasks (`runAt`, `delayMs`): a task added with a time is
//! queued at that time on the engine's clock. Until then it is scheduled:
//! its name is taken, it holds up nothing behind it, it can be cancelled,
//! reprioritized, paused and resumed; a stop drops it unless it is stored,
//! and a stored one keeps its time across a restart.

mod common;

use std::sync::Arc;

use common::*;
use synchronik_core::*;

/// The wall-clock instant (Unix ms) every test's clock starts at.
const T0: f64 = 1_800_000_000_000.0;

/// An engine on a manual clock whose wall time starts at `wall_ms`.
fn harness_at(wall_ms: f64) -> Harness {
    let clock = Arc::new(ManualClock::starting_at(wall_ms));
    let rec = Arc::new(Recorder::default());
    let engine = Engine::new(clock.clone(), rec.clone(), rec.clone());
    Harness { engine, clock, rec }
}

/// Attaches `n` workers (`{name}:pool-worker-k`, no timeout) to the pool
/// called `name`; starts it when `started`. Drains the log.
fn pool_of(h: &mut Harness, name: &str, n: usize, started: bool) -> PoolId {
    let p = h.pool_with_workers(name, n, started);
    h.take();
    p
}

/// The started pool "default" with `n` workers.
fn pool(h: &mut Harness, n: usize) -> PoolId {
    pool_of(h, "default", n, true)
}

fn task(name: &str, priority: f64) -> TaskSpec {
    TaskSpec {
        name: Some(name.into()),
        priority,
        handler: None,
    }
}

fn job(name: &str) -> TaskSpec {
    TaskSpec {
        name: Some(name.into()),
        priority: 0.0,
        handler: Some("job".into()),
    }
}

/// The tasks started in `log`, in order.
fn started(log: &[Out]) -> Vec<Invocation> {
    log.iter()
        .filter_map(|o| match o {
            Out::Invoke(i) if i.task.is_some() => Some(*i),
            _ => None,
        })
        .collect()
}

fn started_ids(log: &[Out]) -> Vec<TaskId> {
    started(log).iter().filter_map(|i| i.task).collect()
}

/// The status changes announced for `task` in `log`, in order.
fn statuses(log: &[Out], task: TaskId) -> Vec<TaskStatus> {
    log.iter()
        .filter_map(|o| match o {
            Out::Event(Event::TaskStatus {
                task: t, status, ..
            }) if *t == task => Some(*status),
            _ => None,
        })
        .collect()
}

/// How `task` ended in `log`, if it did.
fn outcome(log: &[Out], task: TaskId) -> Option<TaskOutcome> {
    log.iter().find_map(|o| match o {
        Out::Event(Event::TaskDone { task: t, outcome }) if *t == task => Some(outcome.clone()),
        _ => None,
    })
}

fn pool_idle_announced(log: &[Out]) -> bool {
    log.iter()
        .any(|o| matches!(o, Out::Event(Event::PoolIdle { .. })))
}

/// The invocation of `task` in `log` (it must have started).
fn invocation_of(log: &[Out], task: TaskId) -> Invocation {
    started(log)
        .into_iter()
        .find(|i| i.task == Some(task))
        .unwrap_or_else(|| panic!("task {task} did not start: {:?}", names(log)))
}

#[test]
fn a_delayed_task_is_queued_at_its_time_and_runs_on_a_free_worker_not_before() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    assert_eq!(h.engine.wall_ms(), T0);
    let (t, arrangement) = h
        .engine
        .pool_add_at(p, task("later", 0.0), T0 + 5_000.0)
        .unwrap();
    assert_eq!(arrangement, 1);
    let log = h.take();
    assert!(started(&log).is_empty(), "{:?}", names(&log));
    assert!(statuses(&log, t).is_empty(), "no status until it is due");
    assert!(h.engine.pool_pending(p).is_empty(), "not queued yet");
    assert_eq!(h.engine.pool_queued(), 0);
    assert_eq!(h.engine.next_deadline(), Some(ms_to_nanos(5_000.0)));

    h.advance_to(4_999.0);
    let log = h.take();
    assert!(
        started(&log).is_empty(),
        "not before its time: {:?}",
        names(&log)
    );
    assert!(statuses(&log, t).is_empty());

    h.advance_to(5_000.0);
    assert_eq!(h.engine.wall_ms(), T0 + 5_000.0);
    let log = h.take();
    assert_eq!(statuses(&log, t), [TaskStatus::Idle], "{:?}", names(&log));
    let idle_at = log
        .iter()
        .position(|o| matches!(o, Out::Event(Event::TaskStatus { task, .. }) if *task == t))
        .unwrap();
    let invoked_at = log
        .iter()
        .position(|o| matches!(o, Out::Invoke(i) if i.task == Some(t)))
        .expect("dispatched at its time to the free worker");
    assert!(idle_at < invoked_at, "queued (idle), then running");
    let run = invocation_of(&log, t);
    assert_eq!(run.attempt, 1);
    h.ok(run.call);
    let log = h.take();
    assert!(matches!(
        outcome(&log, t),
        Some(TaskOutcome::Completed { .. })
    ));
    assert!(pool_idle_announced(&log));
}

#[test]
fn a_time_already_past_or_now_queues_the_task_at_once() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 2);
    h.advance_to(1_000.0);
    let (past, _) = h
        .engine
        .pool_add_at(p, task("past", 0.0), T0 + 500.0)
        .unwrap();
    let log = h.take();
    assert_eq!(statuses(&log, past), [TaskStatus::Idle]);
    assert_eq!(started_ids(&log), [past], "{:?}", names(&log));
    let (now, _) = h
        .engine
        .pool_add_at(p, task("now", 0.0), h.engine.wall_ms())
        .unwrap();
    assert_eq!(started_ids(&h.take()), [now]);
    assert_eq!(h.engine.next_deadline(), None, "no timer is left armed");
}

#[test]
fn a_delayed_task_does_not_hold_up_tasks_behind_it_and_joins_in_its_place() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (delayed, _) = h
        .engine
        .pool_add_at(p, task("delayed", 10.0), T0 + 1_000.0)
        .unwrap();
    let (first, _) = h.engine.pool_add(p, task("first", 0.0)).unwrap();
    let (second, _) = h.engine.pool_add(p, task("second", 0.0)).unwrap();
    let log = h.take();
    assert_eq!(
        started_ids(&log),
        [first],
        "a later-added task runs first: {:?}",
        names(&log)
    );
    assert_eq!(h.engine.pool_pending(p), ["second"]);
    let first_run = invocation_of(&log, first);

    // Due while the only worker is busy: it joins the queue by its
    // priority, ahead of "second".
    h.advance_to(1_000.0);
    let log = h.take();
    assert_eq!(statuses(&log, delayed), [TaskStatus::Idle]);
    assert!(started(&log).is_empty());
    assert_eq!(h.engine.pool_pending(p), ["delayed", "second"]);

    h.ok(first_run.call);
    let log = h.take();
    assert_eq!(started_ids(&log), [delayed]);
    h.ok(invocation_of(&log, delayed).call);
    assert_eq!(started_ids(&h.take()), [second]);
}

#[test]
fn its_name_is_taken_while_it_waits_and_free_once_it_ran() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (t, _) = h
        .engine
        .pool_add_at(p, task("report", 0.0), T0 + 1_000.0)
        .unwrap();
    assert_eq!(
        h.engine.pool_add(p, task("report", 0.0)),
        Err(AddError::Duplicate)
    );
    assert_eq!(
        h.engine.pool_add_at(p, task("report", 0.0), T0 + 2_000.0),
        Err(AddError::Duplicate)
    );
    let mut anonymous = task("report", 0.0);
    anonymous.name = None;
    assert!(
        h.engine.pool_add_at(p, anonymous, T0 + 3_000.0).is_ok(),
        "anonymous tasks are never duplicates"
    );
    h.advance_to(1_000.0);
    let log = h.take();
    let run = invocation_of(&log, t);
    h.ok(run.call);
    h.take();
    let (again, _) = h
        .engine
        .pool_add(p, task("report", 0.0))
        .expect("the name is free once the delayed task ran");
    assert_eq!(started_ids(&h.take()), [again]);
}

#[test]
fn cancel_by_name_removes_a_delayed_task_and_its_time_then_does_nothing() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (t, _) = h
        .engine
        .pool_add_at(p, task("x", 0.0), T0 + 1_000.0)
        .unwrap();
    assert_eq!(h.engine.pool_cancel(p, "x"), 1);
    let log = h.take();
    assert_eq!(outcome(&log, t), Some(TaskOutcome::Cancelled));
    assert!(pool_idle_announced(&log), "nothing left: {:?}", names(&log));
    assert!(h.engine.pool_is_idle(p));
    assert_eq!(h.engine.pool_cancel(p, "x"), 0, "gone");
    assert!(!h.engine.pool_cancel_task(t), "gone by id too");

    // The name is free: a new task of that name waits for a later time,
    // and the old time coming does not queue it.
    let (renewed, _) = h
        .engine
        .pool_add_at(p, task("x", 0.0), T0 + 2_000.0)
        .unwrap();
    h.take();
    h.advance_to(1_500.0);
    let log = h.take();
    assert!(
        log.is_empty(),
        "the cancelled task's time does nothing: {:?}",
        names(&log)
    );
    assert!(!h.engine.pool_is_idle(p));
    h.advance_to(2_000.0);
    assert_eq!(started_ids(&h.take()), [renewed]);
}

#[test]
fn cancel_task_by_id_removes_a_delayed_task_and_its_time_then_does_nothing() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let mut anonymous = task("", 0.0);
    anonymous.name = None;
    let (t, _) = h.engine.pool_add_at(p, anonymous, T0 + 1_000.0).unwrap();
    assert!(h.engine.pool_cancel_task(t));
    let log = h.take();
    assert_eq!(outcome(&log, t), Some(TaskOutcome::Cancelled));
    assert!(pool_idle_announced(&log));
    assert!(!h.engine.pool_cancel_task(t), "cancelled already");
    h.advance_to(5_000.0);
    let log = h.take();
    assert!(log.is_empty(), "{:?}", names(&log));
    assert!(h.engine.pool_is_idle(p));
}

#[test]
fn reprioritizing_a_delayed_task_changes_where_it_joins_and_does_not_queue_it_early() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (busy, _) = h.engine.pool_add(p, task("busy", 0.0)).unwrap();
    h.engine.pool_add(p, task("a", 1.0)).unwrap();
    h.engine.pool_add(p, task("b", 0.0)).unwrap();
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    let (e, _) = h
        .engine
        .pool_add_at(p, task("e", 0.0), T0 + 1_000.0)
        .unwrap();
    let busy_run = invocation_of(&h.take(), busy);
    assert!(h.engine.pool_reprioritize(p, "d", 0.5));
    assert!(h.engine.pool_reprioritize(p, "e", 5.0));
    let log = h.take();
    assert!(statuses(&log, d).is_empty() && statuses(&log, e).is_empty());
    assert_eq!(
        h.engine.pool_pending(p),
        ["a", "b"],
        "still waiting for their time"
    );
    h.advance_to(999.0);
    assert_eq!(h.engine.pool_pending(p), ["a", "b"]);
    h.advance_to(1_000.0);
    assert_eq!(h.engine.pool_pending(p), ["e", "a", "d", "b"]);
    h.take();
    h.ok(busy_run.call);
    assert_eq!(started_ids(&h.take()), [e]);
}

#[test]
fn reprioritizing_a_delayed_task_lets_it_run_first_on_a_free_worker() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (low, _) = h
        .engine
        .pool_add_at(p, task("low", 0.0), T0 + 1_000.0)
        .unwrap();
    let (high, _) = h
        .engine
        .pool_add_at(p, task("high", 1.0), T0 + 1_000.0)
        .unwrap();
    assert!(h.engine.pool_reprioritize(p, "low", 9.0));
    assert!(started(&h.take()).is_empty());
    h.advance_to(1_000.0);
    let log = h.take();
    assert_eq!(started_ids(&log), [low], "{:?}", names(&log));
    assert_eq!(h.engine.pool_pending(p), ["high"]);
    h.ok(invocation_of(&log, low).call);
    assert_eq!(started_ids(&h.take()), [high]);
}

#[test]
fn a_paused_delayed_task_joins_paused_when_due_and_blocks_until_resumed() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    assert!(h.engine.pool_pause(p, "d"));
    assert!(!h.engine.pool_pause(p, "d"), "paused already");
    assert_eq!(statuses(&h.take(), d), [TaskStatus::Paused]);

    // Until its time, it holds up nothing.
    let (early, _) = h.engine.pool_add(p, task("early", 0.0)).unwrap();
    let log = h.take();
    h.ok(invocation_of(&log, early).call);
    h.take();

    h.advance_to(1_000.0);
    let log = h.take();
    assert!(
        started(&log).is_empty(),
        "it joins paused: {:?}",
        names(&log)
    );
    assert!(statuses(&log, d).is_empty(), "still paused, nothing to say");
    assert_eq!(h.engine.pool_pending(p), ["d"]);
    let (behind, _) = h.engine.pool_add(p, task("behind", 0.0)).unwrap();
    assert!(
        started(&h.take()).is_empty(),
        "a paused head blocks what is behind it"
    );
    assert_eq!(h.engine.pool_pending(p), ["d", "behind"]);

    assert!(h.engine.pool_resume(p, "d"));
    let log = h.take();
    assert_eq!(statuses(&log, d), [TaskStatus::Idle]);
    assert_eq!(started_ids(&log), [d]);
    h.ok(invocation_of(&log, d).call);
    assert_eq!(started_ids(&h.take()), [behind]);
}

#[test]
fn resuming_a_paused_delayed_task_before_its_time_keeps_it_scheduled() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    assert!(h.engine.pool_pause(p, "d"));
    assert!(h.engine.pool_resume(p, "d"));
    assert!(!h.engine.pool_resume(p, "d"), "not paused any more");
    let log = h.take();
    assert_eq!(
        statuses(&log, d),
        [TaskStatus::Paused, TaskStatus::Scheduled]
    );
    assert!(
        started(&log).is_empty(),
        "not queued early: {:?}",
        names(&log)
    );
    assert!(h.engine.pool_pending(p).is_empty());
    h.advance_to(999.0);
    assert!(h.take().is_empty());
    h.advance_to(1_000.0);
    let log = h.take();
    assert_eq!(statuses(&log, d), [TaskStatus::Idle]);
    assert_eq!(started_ids(&log), [d]);
}

#[test]
fn the_pool_is_not_idle_while_a_delayed_task_waits() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    assert!(h.engine.pool_is_idle(p));
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    assert!(!h.engine.pool_is_idle(p));
    // A task that comes and goes meanwhile does not make it idle.
    let (other, _) = h.engine.pool_add(p, task("other", 0.0)).unwrap();
    let log = h.take();
    h.ok(invocation_of(&log, other).call);
    let log = h.take();
    assert!(
        !pool_idle_announced(&log),
        "a delayed task still waits: {:?}",
        names(&log)
    );
    assert!(!h.engine.pool_is_idle(p));
    h.advance_to(1_000.0);
    let log = h.take();
    assert!(!h.engine.pool_is_idle(p), "running");
    h.ok(invocation_of(&log, d).call);
    assert!(pool_idle_announced(&h.take()));
    assert!(h.engine.pool_is_idle(p));
}

#[test]
fn a_stop_drops_delayed_tasks_that_live_in_memory() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    h.engine.start();
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    h.take();
    h.engine.stop(None);
    let log = h.take();
    match outcome(&log, d) {
        Some(TaskOutcome::Dropped(EngineError::Dropped { pool, closed })) => {
            assert_eq!((pool.as_str(), closed), ("default", false));
        }
        other => panic!("dropped by the stop, got {other:?}: {:?}", names(&log)),
    }
    assert!(pool_idle_announced(&log));
    assert!(h.engine.pool_is_idle(p));
    // Its time coming, or a new start, brings nothing back.
    h.advance_to(2_000.0);
    h.engine.start();
    let log = h.take();
    assert!(started(&log).is_empty(), "{:?}", names(&log));
    assert!(statuses(&log, d).is_empty());
    assert!(
        h.engine.pool_add(p, task("d", 0.0)).is_ok(),
        "its name is free"
    );
}

#[test]
fn a_due_task_whose_handler_is_not_defined_waits_for_it_without_blocking() {
    let mut h = harness_at(T0);
    let p = pool(&mut h, 1);
    let (d, _) = h.engine.pool_add_at(p, job("d"), T0 + 1_000.0).unwrap();
    h.advance_to(1_000.0);
    let log = h.take();
    assert_eq!(
        statuses(&log, d),
        [TaskStatus::Idle, TaskStatus::WaitingHandler],
        "{:?}",
        names(&log)
    );
    let (other, _) = h.engine.pool_add(p, task("other", 0.0)).unwrap();
    let log = h.take();
    h.ok(invocation_of(&log, other).call);
    h.take();
    h.engine.pool_handler(p, "job", true);
    assert_eq!(started_ids(&h.take()), [d]);
}

#[test]
fn a_pool_not_started_holds_a_due_task_until_it_starts() {
    let mut h = harness_at(T0);
    let p = pool_of(&mut h, "default", 1, false);
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    h.advance_to(2_000.0);
    let log = h.take();
    assert_eq!(statuses(&log, d), [TaskStatus::Idle], "queued at its time");
    assert!(started(&log).is_empty(), "but the pool is not started");
    assert_eq!(h.engine.pool_pending(p), ["d"]);
    h.engine.start();
    assert_eq!(started_ids(&h.take()), [d]);
}

#[test]
fn a_pool_started_before_the_time_still_waits_for_it() {
    let mut h = harness_at(T0);
    let p = pool_of(&mut h, "default", 1, false);
    let (d, _) = h
        .engine
        .pool_add_at(p, task("d", 0.0), T0 + 1_000.0)
        .unwrap();
    h.advance_to(500.0);
    h.engine.start();
    let log = h.take();
    assert!(started(&log).is_empty(), "{:?}", names(&log));
    h.advance_to(1_000.0);
    assert_eq!(started_ids(&h.take()), [d]);
}

// ----------------------------------------------------------------------
// With the durable store
// ----------------------------------------------------------------------

/// An engine with a store on `path`, its wall time starting at `wall_ms`.
fn stored_harness(path: &std::path::Path, wall_ms: f64) -> Harness {
    let mut h = harness_at(wall_ms);
    h.use_store(path);
    h
}

/// Writes what the engine sent to the store; returns the store.
fn flush(h: &mut Harness) -> Store {
    h.flush_store()
}

/// The started pool "jobs" with one worker and the handler "job" defined.
fn jobs_pool(h: &mut Harness) -> PoolId {
    let p = pool_of(h, "jobs", 1, true);
    h.engine.pool_handler(p, "job", true);
    p
}

/// A first process stores "report" to be queued at `T0 + 60 s`, and ends
/// before its time; returns its key.
fn store_a_delayed_task(dir: &TempDir) -> String {
    let mut h = stored_harness(&dir.db(), T0);
    let p = jobs_pool(&mut h);
    let (_, _, key) = h
        .engine
        .pool_add_durable_at(p, job("report"), Some("{\"n\":1}".into()), T0 + 60_000.0)
        .unwrap();
    assert!(!key.is_empty());
    assert!(started(&h.take()).is_empty());
    flush(&mut h);
    key
}

#[test]
fn a_stored_delayed_task_is_stored_with_its_time() {
    let dir = TempDir::new();
    let mut h = stored_harness(&dir.db(), T0);
    let p = jobs_pool(&mut h);
    let (later, _, key) = h
        .engine
        .pool_add_durable_at(p, job("later"), Some("{\"n\":1}".into()), T0 + 60_000.0)
        .unwrap();
    h.take();
    let (plain_task, _, plain_key) = h.engine.pool_add_durable(p, job("plain"), None).unwrap();
    let plain_run = invocation_of(&h.take(), plain_task);
    let store = flush(&mut h);
    let rows = store.load_tasks("jobs").unwrap();
    let row = rows.iter().find(|r| r.key == key).expect("stored");
    assert_eq!(
        (
            row.name.as_str(),
            row.handler.as_str(),
            row.payload.as_deref(),
            row.attempt,
            row.status.as_str(),
            row.run_at_ms,
        ),
        (
            "later",
            "job",
            Some("{\"n\":1}"),
            0,
            "queued",
            Some(T0 + 60_000.0)
        )
    );
    let plain = rows.iter().find(|r| r.key == plain_key).expect("stored");
    assert_eq!(plain.run_at_ms, None, "a task without a time has none");

    // It is queued at its time, runs once the worker is free, and leaves
    // the store when it ends.
    h.advance_to(60_000.0);
    let log = h.take();
    assert_eq!(statuses(&log, later), [TaskStatus::Idle]);
    assert!(
        started(&log).is_empty(),
        "the worker is busy with \"plain\""
    );
    h.ok(plain_run.call);
    let run = invocation_of(&h.take(), later);
    assert_eq!(run.attempt, 1);
    h.ok(run.call);
    let store = flush(&mut h);
    assert!(store.load_tasks("jobs").unwrap().is_empty());
}

#[test]
fn after_a_restart_a_stored_task_whose_time_is_to_come_waits_for_it() {
    let dir = TempDir::new();
    let key = store_a_delayed_task(&dir);
    // The next process starts 10 s later: 50 s are left.
    let mut h = stored_harness(&dir.db(), T0 + 10_000.0);
    let p = jobs_pool(&mut h);
    let restored = h.engine.pool_restore(p).unwrap();
    assert_eq!(restored.len(), 1);
    let r = &restored[0];
    assert_eq!(
        (r.name.as_str(), r.key.as_str(), r.attempt, r.run_at_ms),
        ("report", key.as_str(), 0, Some(T0 + 60_000.0))
    );
    assert_eq!(r.payload.as_deref(), Some("{\"n\":1}"));
    let log = h.take();
    assert!(started(&log).is_empty(), "scheduled: {:?}", names(&log));
    assert!(h.engine.pool_pending(p).is_empty());
    assert!(!h.engine.pool_is_idle(p));
    assert_eq!(
        h.engine.pool_add_durable(p, job("report"), None),
        Err(AddError::Duplicate),
        "its name is taken"
    );
    h.advance_to(49_999.0);
    assert!(started(&h.take()).is_empty(), "not before its time");
    h.advance_to(50_000.0);
    let log = h.take();
    assert_eq!(statuses(&log, r.task), [TaskStatus::Idle]);
    let run = invocation_of(&log, r.task);
    assert_eq!(run.attempt, 1);
    h.ok(run.call);
    let store = flush(&mut h);
    assert!(
        store.load_tasks("jobs").unwrap().is_empty(),
        "it ran and left the store"
    );
}

#[test]
fn after_a_restart_a_stored_task_whose_time_passed_is_queued_at_once() {
    let dir = TempDir::new();
    let key = store_a_delayed_task(&dir);
    // The next process starts two minutes later: its time passed.
    let mut h = stored_harness(&dir.db(), T0 + 120_000.0);
    let p = jobs_pool(&mut h);
    let restored = h.engine.pool_restore(p).unwrap();
    assert_eq!(restored.len(), 1);
    let r = &restored[0];
    assert_eq!((r.key.as_str(), r.run_at_ms), (key.as_str(), None));
    let log = h.take();
    let run = invocation_of(&log, r.task);
    assert_eq!(run.attempt, 1);
    h.ok(run.call);
    assert!(flush(&mut h).load_tasks("jobs").unwrap().is_empty());
}

#[test]
fn a_restored_task_waiting_for_its_time_can_be_cancelled() {
    let dir = TempDir::new();
    store_a_delayed_task(&dir);
    let mut h = stored_harness(&dir.db(), T0 + 10_000.0);
    let p = jobs_pool(&mut h);
    let restored = h.engine.pool_restore(p).unwrap();
    let t = restored[0].task;
    h.take();
    assert_eq!(h.engine.pool_cancel(p, "report"), 1);
    assert_eq!(outcome(&h.take(), t), Some(TaskOutcome::Cancelled));
    h.advance_to(60_000.0);
    assert!(h.take().is_empty());
    assert!(
        flush(&mut h).load_tasks("jobs").unwrap().is_empty(),
        "a cancelled task leaves the store"
    );
}

#[test]
fn a_stop_keeps_a_stored_delayed_task_and_drops_one_in_memory() {
    let dir = TempDir::new();
    let mut h = stored_harness(&dir.db(), T0);
    let p = jobs_pool(&mut h);
    h.engine.start();
    let (stored, _, key) = h
        .engine
        .pool_add_durable_at(p, job("stored"), None, T0 + 1_000.0)
        .unwrap();
    let (memory, _) = h
        .engine
        .pool_add_at(p, task("memory", 0.0), T0 + 1_000.0)
        .unwrap();
    h.take();
    h.engine.stop(None);
    let log = h.take();
    assert!(
        matches!(outcome(&log, memory), Some(TaskOutcome::Dropped(_))),
        "{:?}",
        names(&log)
    );
    assert_eq!(outcome(&log, stored), None, "the stored one stays");
    assert!(!h.engine.pool_is_idle(p));
    let store = flush(&mut h);
    let rows = store.load_tasks("jobs").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].key.as_str(), rows[0].run_at_ms),
        (key.as_str(), Some(T0 + 1_000.0))
    );
    // Its time comes while the manager is stopped: it is queued, and runs
    // at the next start.
    h.advance_to(2_000.0);
    let log = h.take();
    assert!(started(&log).is_empty(), "{:?}", names(&log));
    h.engine.start();
    let log = h.take();
    assert_eq!(started_ids(&log), [stored], "{:?}", names(&log));
}
