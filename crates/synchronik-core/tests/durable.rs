//! The engine with a durable store: what it writes, and what comes back
//! after a crash.

mod common;

use common::*;
use synchronik_core::*;

fn harness(path: &std::path::Path) -> Harness {
    let mut h = Harness::new();
    h.use_store(path);
    h
}

fn flush(h: &mut Harness) -> Store {
    h.flush_store()
}

fn pool(h: &mut Harness, name: &str, n: usize) -> PoolId {
    h.pool_with_workers(name, n, true)
}

fn job(name: &str, priority: f64) -> TaskSpec {
    TaskSpec {
        name: Some(name.into()),
        priority,
        handler: Some("job".into()),
    }
}

fn task_invocations(h: &Harness) -> Vec<Invocation> {
    h.invocations()
        .into_iter()
        .filter(|i| i.task.is_some())
        .collect()
}

#[test]
fn durable_tasks_are_stored_until_they_end_with_one_history_row_per_attempt() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let p = pool(&mut h, "jobs", 1);
    h.engine.pool_handler(p, "job", true);
    let (_, _, key_a) = h
        .engine
        .pool_add_durable(p, job("a", 0.0), Some("{\"n\":1}".into()))
        .unwrap();
    let (_, _, key_b) = h
        .engine
        .pool_add_durable(p, job("b", 0.0), Some("{\"n\":2}".into()))
        .unwrap();
    assert_ne!(key_a, key_b);
    let store = flush(&mut h);
    let stored = store.load_tasks("jobs").unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        (
            stored[0].key.as_str(),
            stored[0].attempt,
            stored[0].status.as_str()
        ),
        (key_a.as_str(), 1, "running")
    );
    assert_eq!(stored[1].payload.as_deref(), Some("{\"n\":2}"));
    let first = task_invocations(&h);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempt, 1);
    h.fail(first[0].call, "it broke");
    let second = task_invocations(&h);
    h.ok(second[0].call);
    let store = flush(&mut h);
    assert!(store.load_tasks("jobs").unwrap().is_empty());
    let rows = store.history(HistoryQuery::default()).unwrap();
    assert_eq!(rows.len(), 2);
    let b = &rows[0];
    assert_eq!(
        (
            b.task_name.as_deref(),
            b.outcome.as_str(),
            b.unit_id.as_str()
        ),
        (Some("b"), "completed", "jobs:pool-worker-1")
    );
    let a = &rows[1];
    assert_eq!(
        (
            a.task_key.as_deref(),
            a.outcome.as_str(),
            a.error.as_deref(),
            a.attempt
        ),
        (Some(key_a.as_str()), "error", Some("it broke"), 1)
    );
    assert!(a.ended_ms >= a.started_ms);
}

#[test]
fn tasks_without_a_handler_stay_in_memory() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let p = pool(&mut h, "default", 1);
    let spec = TaskSpec {
        name: Some("inline".into()),
        priority: 0.0,
        handler: None,
    };
    let (_, _, key) = h.engine.pool_add_durable(p, spec, None).unwrap();
    assert!(key.is_empty());
    let store = flush(&mut h);
    assert!(store.load_tasks("default").unwrap().is_empty());
}

#[test]
fn after_a_crash_stored_tasks_come_back_in_order_and_a_running_one_runs_again_with_the_next_attempt(
) {
    let dir = TempDir::new();
    let keys: Vec<String>;
    {
        let mut h = harness(&dir.db());
        let p = pool(&mut h, "jobs", 1);
        h.engine.pool_handler(p, "job", true);
        keys = ["first", "second", "urgent"]
            .iter()
            .zip([0.0, 0.0, 5.0])
            .map(|(n, prio)| h.engine.pool_add_durable(p, job(n, prio), None).unwrap().2)
            .collect();
        // "first" is running when the process dies.
        assert_eq!(task_invocations(&h).len(), 1);
        flush(&mut h);
    }
    let mut h = harness(&dir.db());
    let p = h.engine.pool("jobs");
    let restored = h.engine.pool_restore(p).unwrap();
    assert_eq!(
        restored.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["urgent", "first", "second"]
    );
    assert_eq!(restored[1].key, keys[0]);
    assert_eq!(restored[1].attempt, 1);
    assert!(
        h.engine.pool_restore(p).unwrap().is_empty(),
        "once per pool"
    );
    // New tasks continue after the stored arrangement ids.
    let (_, arrangement, _) = h
        .engine
        .pool_add_durable(p, job("later", 0.0), None)
        .unwrap();
    assert_eq!(arrangement, 4);
    // Workers and the handler come: the tasks run in the stored order.
    let mut w = worker("jobs:pool-worker-1");
    w.config.timeout_ms = 0.0;
    let slot = h.engine.register(UnitSpec::Worker(w)).unwrap()[0];
    h.engine.pool_attach(p, slot);
    h.engine.pool_set_started(p, true);
    h.engine.pool_handler(p, "job", true);
    let run = task_invocations(&h);
    assert_eq!(run[0].task, Some(restored[0].task));
    assert_eq!(run[0].attempt, 1);
    h.ok(run[0].call);
    let run = task_invocations(&h);
    assert_eq!(run[0].task, Some(restored[1].task));
    assert_eq!(
        run[0].attempt, 2,
        "at least once: the interrupted attempt counts"
    );
    h.ok(run[0].call);
    let store = flush(&mut h);
    let left: Vec<String> = store
        .load_tasks("jobs")
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(left, ["second", "later"]);
    let rows = store.history(HistoryQuery::default()).unwrap();
    assert_eq!(rows[0].task_key.as_deref(), Some(keys[0].as_str()));
    assert_eq!(rows[0].attempt, 2);
}

#[test]
fn unit_state_is_written_when_it_changes_and_restored_into_a_new_engine() {
    let dir = TempDir::new();
    {
        let mut h = harness(&dir.db());
        h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
        assert!(h.engine.store_unit("w", Some("{\"team\":\"a\"}".into())));
        h.advance_to(5.0);
        h.engine.run_unit("w", None);
        let i = h.invocations();
        h.ok(i[0].call);
        h.engine.set_enabled("w", false);
        let store = flush(&mut h);
        let units = store.load_units().unwrap();
        assert_eq!(units.len(), 1);
        let u = &units[0];
        assert_eq!(
            (u.status.as_str(), u.enabled, u.run_count, u.meta.as_deref()),
            ("completed", false, 1, Some("{\"team\":\"a\"}"))
        );
        assert_eq!(u.execution_times_ms.len(), 1);
        assert!(u.last_run_ms.is_some());
        // Releasing a unit deletes its row.
        h.engine.register(UnitSpec::Worker(worker("tmp"))).unwrap();
        h.engine.update_status("tmp", Status::Paused);
        flush(&mut h);
        h.engine.release("tmp");
        let store = flush(&mut h);
        assert_eq!(store.load_units().unwrap().len(), 1);
    }
    let mut h = harness(&dir.db());
    h.engine.register(UnitSpec::Worker(worker("w"))).unwrap();
    let rows = h.engine.stored_units().unwrap();
    assert!(h.engine.restore_row(&rows[0]));
    let u = h.engine.unit("w").unwrap();
    assert_eq!(
        (u.status, u.enabled, u.meta().run_count),
        (Status::Completed, false, 1)
    );
}

#[test]
fn pool_workers_are_not_stored() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let p = pool(&mut h, "default", 2);
    h.engine.pool_handler(p, "job", true);
    h.engine
        .store_unit("default:pool-worker-1", Some("{}".into()));
    h.engine.pool_add_durable(p, job("a", 0.0), None).unwrap();
    let i = task_invocations(&h);
    h.ok(i[0].call);
    let store = flush(&mut h);
    assert!(store.load_units().unwrap().is_empty());
}

#[test]
fn a_unit_is_a_pool_worker_by_attachment_not_by_its_id() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let p = pool(&mut h, "jobs", 1);
    for id in ["pool-worker-7", "x:pool-worker-1", "jobs:pool-worker-2"] {
        h.engine.register(UnitSpec::Worker(worker(id))).unwrap();
        h.engine.store_unit(id, Some("{\"team\":\"a\"}".into()));
    }
    h.engine.store_unit("jobs:pool-worker-1", Some("{}".into()));
    assert!(!h
        .engine
        .is_pool_worker(h.engine.registry().slot_of("pool-worker-7").unwrap()));
    assert!(h
        .engine
        .is_pool_worker(h.engine.registry().slot_of("jobs:pool-worker-1").unwrap()));
    h.engine.pool_handler(p, "job", true);
    h.engine.pool_add_durable(p, job("a", 0.0), None).unwrap();
    let i = task_invocations(&h);
    h.ok(i[0].call);
    let store = flush(&mut h);
    let mut ids: Vec<String> = store
        .load_units()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["jobs:pool-worker-2", "pool-worker-7", "x:pool-worker-1"]
    );
}

#[test]
fn every_attempt_of_a_worker_has_a_history_row() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let mut w = worker("flaky");
    w.config.max_retries = 2;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("flaky", None);
    let i = h.invocations();
    h.fail(i[0].call, "first failure");
    let i = h.invocations();
    h.fail(i[0].call, "second failure");
    let i = h.invocations();
    h.ok(i[0].call);
    let store = flush(&mut h);
    let rows = store
        .history(HistoryQuery {
            unit_id: Some("flaky".into()),
            ..HistoryQuery::default()
        })
        .unwrap();
    let seen: Vec<(u32, &str, Option<&str>)> = rows
        .iter()
        .rev()
        .map(|r| (r.attempt, r.outcome.as_str(), r.error.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "error", Some("first failure")),
            (2, "error", Some("second failure")),
            (3, "completed", None)
        ]
    );
}

#[test]
fn a_task_stopped_by_the_engine_stays_stored() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let p = pool(&mut h, "jobs", 1);
    h.engine.pool_handler(p, "job", true);
    h.engine.start();
    h.engine
        .pool_add_durable(p, job("long", 0.0), None)
        .unwrap();
    h.engine.stop(Some(10.0));
    h.advance_to(20.0);
    let store = flush(&mut h);
    let left = store.load_tasks("jobs").unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].attempt, left[0].status.as_str()), (1, "queued"));
    let rows = store.history(HistoryQuery::default()).unwrap();
    assert_eq!(rows[0].outcome, "stopped");
}
