//! Named tasks of thread pools with a durable store: stored until they
//! end, kept when the engine ends them (a destroyed pool, a stop), brought
//! back by the next pool of their name (in this process or the next) with
//! their key and the next attempt, and one history row per attempt.

mod common;

use common::{Harness, Out, TempDir};
use synchronik_core::*;

fn harness(path: &std::path::Path) -> Harness {
    let mut h = Harness::new();
    h.use_store(path);
    h
}

/// Waits until every write sent so far is committed.
fn flush(h: &mut Harness) -> Store {
    h.flush_store()
}

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

fn started(events: &[ThreadEvent]) -> Vec<(TaskId, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::Started { task, attempt } => Some((*task, *attempt)),
            _ => None,
        })
        .collect()
}

/// A pool called `name` of `size` generalists; returns its runners.
fn thread_pool(h: &mut Harness, name: &str, size: u32) -> (ThreadPoolId, Vec<RunnerId>) {
    let p = h.engine.thread_pool_create(ThreadPoolSpec {
        name: name.into(),
        groups: vec![ThreadGroup {
            size,
            handlers: None,
        }],
        max_queue: None,
        idle_timeout_ms: None,
    });
    (p, spawned(&thread_events(h)))
}

/// Adds named task `name` (payload `{"n":<name>}`); returns its id and key.
fn add(h: &mut Harness, pool: ThreadPoolId, name: &str, priority: f64) -> (TaskId, String) {
    let json = format!("{{\"n\":\"{name}\"}}");
    let (task, key) = h
        .engine
        .thread_add(
            pool,
            ThreadTaskSpec {
                handler: "default".into(),
                priority,
                payload: json.clone().into_bytes(),
            },
            NamedThreadTask {
                name: name.into(),
                payload_json: Some(json),
                restored: None,
            },
        )
        .unwrap();
    (task, key.expect("a stored task has a key"))
}

/// Brings a stored task back into `pool`, as the host does for the rows of
/// [`Engine::thread_pool_stored`]; returns its id and key.
fn restore(h: &mut Harness, pool: ThreadPoolId, row: &TaskRow) -> (TaskId, String) {
    let (task, key) = h
        .engine
        .thread_add(
            pool,
            ThreadTaskSpec {
                handler: row.handler.clone(),
                priority: row.priority,
                payload: row.payload.clone().unwrap_or_default().into_bytes(),
            },
            NamedThreadTask {
                name: row.name.clone(),
                payload_json: row.payload.clone(),
                restored: Some(StoredThreadTask {
                    key: row.key.clone(),
                    attempt: row.attempt,
                }),
            },
        )
        .unwrap();
    (task, key.expect("a restored task keeps its key"))
}

/// (name, attempt, status) of each stored task of thread pool `pool`.
fn stored(store: &Store, pool: &str) -> Vec<(String, u32, String)> {
    store
        .load_thread_tasks(pool)
        .unwrap()
        .into_iter()
        .map(|r| {
            assert!(r.thread, "{r:?}");
            (r.name, r.attempt, r.status)
        })
        .collect()
}

fn row(name: &str, attempt: u32, status: &str) -> (String, u32, String) {
    (name.into(), attempt, status.into())
}

fn history(store: &Store) -> Vec<HistoryRow> {
    let mut rows = store.history(HistoryQuery::default()).unwrap();
    rows.reverse();
    rows
}

#[test]
fn a_named_task_is_stored_until_it_ends_with_one_history_row_per_attempt() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let (p, r) = thread_pool(&mut h, "jobs", 1);
    let (a, key_a) = add(&mut h, p, "a", 0.0);
    let (b, key_b) = add(&mut h, p, "b", 0.0);
    let (c, key_c) = add(&mut h, p, "c", 0.0);
    assert_ne!(key_a, key_b);
    // A plain run is never stored.
    let plain = h
        .engine
        .thread_run(
            p,
            ThreadTaskSpec {
                handler: "default".into(),
                priority: 9.0,
                payload: vec![],
            },
        )
        .unwrap();
    let store = flush(&mut h);
    let rows = store.load_thread_tasks("jobs").unwrap();
    assert_eq!(
        rows[0],
        TaskRow {
            key: key_a.clone(),
            pool: "jobs".into(),
            name: "a".into(),
            handler: "default".into(),
            payload: Some("{\"n\":\"a\"}".into()),
            priority: 0.0,
            arrangement: rows[0].arrangement,
            attempt: 0,
            status: "queued".into(),
            thread: true,
            run_at_ms: None,
            owned: true,
        }
    );
    assert_eq!(
        stored(&store, "jobs"),
        [
            row("a", 0, "queued"),
            row("b", 0, "queued"),
            row("c", 0, "queued")
        ]
    );
    assert!(
        store.load_tasks("jobs").unwrap().is_empty(),
        "not a worker pool's task"
    );

    // The run first (higher priority), then "a": its first attempt.
    assert_eq!(h.engine.thread_register(r[0]).unwrap().task, plain);
    let run = h.engine.thread_done(r[0], plain, true, vec![]).unwrap();
    assert_eq!(
        (run.task, run.named, run.key.as_deref(), run.attempt),
        (a, true, Some(key_a.as_str()), 1)
    );
    assert_eq!(started(&thread_events(&h)), [(a, 1)]);
    let store = flush(&mut h);
    assert_eq!(
        stored(&store, "jobs"),
        [
            row("a", 1, "running"),
            row("b", 0, "queued"),
            row("c", 0, "queued")
        ]
    );

    // It returns: its row goes.
    let run = h.engine.thread_done(r[0], a, true, vec![1]).unwrap();
    assert_eq!((run.task, run.key.as_deref()), (b, Some(key_b.as_str())));
    let store = flush(&mut h);
    assert_eq!(
        stored(&store, "jobs"),
        [row("b", 1, "running"), row("c", 0, "queued")]
    );
    // "b" throws: its row goes too.
    assert_eq!(
        h.engine.thread_done(r[0], b, false, vec![2]).unwrap().task,
        c
    );
    // "c" dies with its thread: ended, not by the engine's choice: gone.
    h.engine.thread_exited(r[0], "exit code 1");
    let store = flush(&mut h);
    assert!(stored(&store, "jobs").is_empty());

    let unit = format!("jobs:thread-{}", r[0]);
    let rows = history(&store);
    for x in &rows {
        assert_eq!(x.unit_id, unit);
        assert_eq!(x.pool.as_deref(), Some("jobs"));
        assert!(x.ended_ms >= x.started_ms);
    }
    let seen: Vec<_> = rows
        .iter()
        .map(|x| {
            (
                x.task_key.as_deref(),
                x.task_name.as_deref(),
                x.attempt,
                x.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Some(key_a.as_str()), Some("a"), 1, "completed"),
            (Some(key_b.as_str()), Some("b"), 1, "error"),
            (Some(key_c.as_str()), Some("c"), 1, "error"),
        ]
    );
    assert_eq!(rows[0].error, None);
    assert_eq!(rows[1].error.as_deref(), Some("the handler threw"));
    let exited = rows[2].error.as_deref().unwrap();
    assert!(exited.contains("exit code 1"), "{exited}");
}

#[test]
fn without_history_named_tasks_are_stored_and_no_attempt_is_recorded() {
    let dir = TempDir::new();
    let mut h = Harness::new();
    let options = StoreOptions {
        history: None,
        ..StoreOptions::default()
    };
    h.engine.set_store(Store::open(dir.db(), options).unwrap());
    let (p, r) = thread_pool(&mut h, "jobs", 1);
    let (a, key) = add(&mut h, p, "a", 0.0);
    let run = h.engine.thread_register(r[0]).unwrap();
    assert_eq!((run.key.as_deref(), run.attempt), (Some(key.as_str()), 1));
    let store = flush(&mut h);
    assert_eq!(stored(&store, "jobs"), [row("a", 1, "running")]);
    h.engine.thread_done(r[0], a, true, vec![]);
    let store = flush(&mut h);
    assert!(stored(&store, "jobs").is_empty());
    assert_eq!(store.history_len().unwrap(), 0);
}

#[test]
fn a_waiting_named_task_removed_from_the_queue_is_deleted_without_a_history_row() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let (p, _) = thread_pool(&mut h, "jobs", 1);
    let (a, _) = add(&mut h, p, "a", 0.0);
    add(&mut h, p, "b", 0.0);
    assert!(h.engine.thread_abort(a));
    let store = flush(&mut h);
    assert_eq!(stored(&store, "jobs"), [row("b", 0, "queued")]);
    assert!(history(&store).is_empty(), "it never started");
}

#[test]
fn a_destroyed_pool_keeps_its_tasks_for_the_next_pool_of_its_name() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let (old, r) = thread_pool(&mut h, "jobs", 1);
    h.engine.thread_register(r[0]);
    let (_, key_run) = add(&mut h, old, "run", 0.0);
    assert!(h.engine.thread_take(r[0]).is_some());
    let (_, key_wait) = add(&mut h, old, "wait", 0.0);
    // Another open pool of the same name holds its own stored task.
    let (live, _) = thread_pool(&mut h, "jobs", 1);
    let (_, key_live) = add(&mut h, live, "live", 0.0);
    thread_events(&h);

    h.engine.thread_pool_close(old, true);
    let events = thread_events(&h);
    let closed = events
        .iter()
        .filter(|e| {
            matches!(e, ThreadEvent::Done { outcome: ThreadOutcome::Failed { error, .. }, .. }
                if error.code() == ErrorCode::Closed)
        })
        .count();
    assert_eq!(closed, 2, "{events:?}");
    let store = flush(&mut h);
    assert_eq!(
        stored(&store, "jobs"),
        [
            row("run", 1, "queued"),
            row("wait", 0, "queued"),
            row("live", 0, "queued")
        ]
    );
    let rows = history(&store);
    assert_eq!(rows.len(), 1, "only the task that started: {rows:?}");
    assert_eq!(
        (
            rows[0].unit_id.as_str(),
            rows[0].task_name.as_deref(),
            rows[0].outcome.as_str(),
            rows[0].attempt
        ),
        (
            format!("jobs:thread-{}", r[0]).as_str(),
            Some("run"),
            "stopped",
            1
        )
    );
    assert!(
        rows[0].error.as_deref().unwrap().contains("destroyed"),
        "{rows:?}"
    );

    // A new pool of the name gets what no open pool holds, in order.
    let (new, nr) = thread_pool(&mut h, "jobs", 1);
    let back = h.engine.thread_pool_stored(new).unwrap();
    assert_eq!(
        back.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        [key_run.as_str(), key_wait.as_str()]
    );
    assert!(back.iter().all(|r| r.key != key_live));
    let (t_run, k) = restore(&mut h, new, &back[0]);
    assert_eq!(k, key_run);
    let (t_wait, k) = restore(&mut h, new, &back[1]);
    assert_eq!(k, key_wait);
    assert!(
        h.engine.thread_pool_stored(new).unwrap().is_empty(),
        "held now"
    );
    let store = flush(&mut h);
    assert_eq!(
        store.load_thread_tasks("jobs").unwrap().len(),
        3,
        "no new rows"
    );

    // The task that had started once runs with attempt 2 and its key.
    let run = h.engine.thread_register(nr[0]).unwrap();
    assert_eq!(
        (
            run.task,
            run.key.as_deref(),
            run.attempt,
            run.payload.clone()
        ),
        (
            t_run,
            Some(key_run.as_str()),
            2,
            b"{\"n\":\"run\"}".to_vec()
        )
    );
    assert_eq!(started(&thread_events(&h)), [(t_run, 2)]);
    let store = flush(&mut h);
    assert_eq!(stored(&store, "jobs")[0], row("run", 2, "running"));
    let run = h.engine.thread_done(nr[0], t_run, true, vec![]).unwrap();
    assert_eq!(
        (run.task, run.key.as_deref(), run.attempt),
        (t_wait, Some(key_wait.as_str()), 1)
    );
    h.engine.thread_done(nr[0], t_wait, true, vec![]);
    let store = flush(&mut h);
    assert_eq!(stored(&store, "jobs"), [row("live", 0, "queued")]);
}

#[test]
fn after_a_restart_a_task_that_was_running_runs_again_with_the_next_attempt_and_its_key() {
    let dir = TempDir::new();
    let (key_a, key_b, key_urgent);
    {
        let mut h = harness(&dir.db());
        let (p, r) = thread_pool(&mut h, "jobs", 1);
        h.engine.thread_register(r[0]);
        key_a = add(&mut h, p, "a", 0.0).1;
        assert!(h.engine.thread_take(r[0]).is_some());
        key_b = add(&mut h, p, "b", 0.0).1;
        key_urgent = add(&mut h, p, "urgent", 5.0).1;
        // A worker pool of the same name stores its own task.
        let wp = h.engine.pool("jobs");
        h.engine
            .pool_add_durable(
                wp,
                TaskSpec {
                    name: Some("worker-task".into()),
                    priority: 0.0,
                    handler: Some("job".into()),
                },
                None,
            )
            .unwrap();
        let store = flush(&mut h);
        assert_eq!(
            stored(&store, "jobs"),
            [
                row("urgent", 0, "queued"),
                row("a", 1, "running"),
                row("b", 0, "queued")
            ]
        );
        // The process dies with "a" running.
    }
    let mut h = harness(&dir.db());
    // Worker pools and thread pools of the same name do not see each
    // other's tasks.
    let wp = h.engine.pool("jobs");
    let worker_tasks = h.engine.pool_restore(wp).unwrap();
    assert_eq!(
        worker_tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["worker-task"]
    );
    let (p, r) = thread_pool(&mut h, "jobs", 1);
    let back = h.engine.thread_pool_stored(p).unwrap();
    assert_eq!(
        back.iter()
            .map(|r| (r.name.as_str(), r.attempt, r.status.as_str()))
            .collect::<Vec<_>>(),
        [
            ("urgent", 0, "queued"),
            ("a", 1, "running"),
            ("b", 0, "queued")
        ]
    );
    let ids: Vec<(TaskId, String)> = back.iter().map(|row| restore(&mut h, p, row)).collect();
    assert_eq!(
        ids.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(),
        [key_urgent.as_str(), key_a.as_str(), key_b.as_str()]
    );
    let store = flush(&mut h);
    assert_eq!(
        stored(&store, "jobs"),
        [
            row("urgent", 0, "queued"),
            row("a", 1, "queued"),
            row("b", 0, "queued")
        ],
        "the running one is queued again; no new rows"
    );
    // A new task comes after the restored ones of its priority.
    let (later, _) = add(&mut h, p, "later", 0.0);
    let mut order = vec![];
    let mut next = h.engine.thread_register(r[0]);
    while let Some(run) = next {
        order.push((run.task, run.key.clone().unwrap(), run.attempt));
        next = h.engine.thread_done(r[0], run.task, true, vec![]);
    }
    let later_key = order.last().unwrap().1.clone();
    assert_eq!(
        order,
        [
            (ids[0].0, key_urgent.clone(), 1),
            (ids[1].0, key_a.clone(), 2),
            (ids[2].0, key_b.clone(), 1),
            (later, later_key, 1),
        ]
    );
    let store = flush(&mut h);
    assert!(stored(&store, "jobs").is_empty());
    assert_eq!(store.load_tasks("jobs").unwrap().len(), 1, "the worker's");
    let a_rows: Vec<_> = history(&store)
        .into_iter()
        .filter(|x| x.task_key.as_deref() == Some(key_a.as_str()))
        .map(|x| (x.attempt, x.outcome))
        .collect();
    assert_eq!(a_rows, [(2, "completed".to_owned())]);
}

#[test]
fn a_stop_keeps_stored_named_tasks_and_its_time_limit_keeps_the_running_one_stored() {
    let dir = TempDir::new();
    let mut h = harness(&dir.db());
    let (p, r) = thread_pool(&mut h, "jobs", 1);
    h.engine.thread_register(r[0]);
    let (long, key_long) = add(&mut h, p, "long", 0.0);
    assert!(h.engine.thread_take(r[0]).is_some());
    let (waits, _) = add(&mut h, p, "waits", 0.0);
    let plain = h
        .engine
        .thread_run(
            p,
            ThreadTaskSpec {
                handler: "default".into(),
                priority: 0.0,
                payload: vec![],
            },
        )
        .unwrap();
    thread_events(&h);

    h.engine.stop(Some(100.0));
    let events = thread_events(&h);
    let dropped: Vec<TaskId> = events
        .iter()
        .filter_map(|e| match e {
            ThreadEvent::Done { task, .. } => Some(*task),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [plain], "the stored task waits: {events:?}");
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().queued, 1);
    h.advance_to(100.0);
    let events = thread_events(&h);
    assert!(events.contains(&ThreadEvent::Terminate { runner: r[0] }));
    assert!(events.iter().any(|e| matches!(e,
        ThreadEvent::Done { task, outcome: ThreadOutcome::Failed { error, .. } }
            if *task == long && matches!(error, EngineError::ThreadStopped { .. }))));
    let store = flush(&mut h);
    assert_eq!(
        stored(&store, "jobs"),
        [row("long", 1, "queued"), row("waits", 0, "queued")]
    );
    let rows = history(&store);
    assert_eq!(
        rows.iter()
            .map(|x| (x.task_name.as_deref(), x.outcome.as_str()))
            .collect::<Vec<_>>(),
        [(Some("long"), "stopped")]
    );
    // Ended here, it is no longer held: a pool of the name would get it.
    assert_eq!(
        h.engine
            .thread_pool_stored(p)
            .unwrap()
            .iter()
            .map(|r| r.key.as_str())
            .collect::<Vec<_>>(),
        [key_long.as_str()]
    );

    h.engine.thread_exited(r[0], "terminated");
    assert!(spawned(&thread_events(&h)).is_empty());
    h.engine.start();
    let back = spawned(&thread_events(&h));
    assert_eq!(back.len(), 1);
    let run = h.engine.thread_register(back[0]).unwrap();
    assert_eq!((run.task, run.attempt), (waits, 1));
}

#[test]
fn stored_tasks_of_the_same_priority_and_place_all_come_back() {
    let dir = TempDir::new();
    {
        // The first process stores "x" and dies.
        let mut h = harness(&dir.db());
        let (p, _) = thread_pool(&mut h, "jobs", 1);
        add(&mut h, p, "x", 0.0);
        flush(&mut h);
    }
    {
        // The second leaves "x" stored (no group of its pool took its
        // handler) and stores "y": the first place of its queue.
        let mut h = harness(&dir.db());
        let (p, _) = thread_pool(&mut h, "jobs", 1);
        assert_eq!(h.engine.thread_pool_stored(p).unwrap().len(), 1);
        add(&mut h, p, "y", 0.0);
        flush(&mut h);
    }
    let mut h = harness(&dir.db());
    let (p, r) = thread_pool(&mut h, "jobs", 1);
    let back = h.engine.thread_pool_stored(p).unwrap();
    assert_eq!(back.len(), 2);
    let ids: Vec<TaskId> = back.iter().map(|row| restore(&mut h, p, row).0).collect();
    assert_eq!(h.engine.thread_pool_stats(p).unwrap().queued, 2);
    let mut ran = vec![];
    let mut next = h.engine.thread_register(r[0]);
    while let Some(run) = next {
        ran.push(run.task);
        next = h.engine.thread_done(r[0], run.task, true, vec![]);
    }
    ran.sort_unstable();
    assert_eq!(ran, ids, "both run");
}
