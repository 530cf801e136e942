//! The engine's records on a manual clock: totals, rate windows, errors,
//! histograms, runs by kind and outcome (and by unit), schedule lag, the
//! pools' finished tasks and totals, the change count, and queueing a
//! failed durable task again.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use synchronik_core::observe::*;
use synchronik_core::*;

const WORKER: usize = UnitKind::Worker as usize;
const PROCESS: usize = UnitKind::Process as usize;

/// A worker with no timeout and no retry.
fn plain(id: &str) -> UnitSpec {
    let mut w = worker(id);
    w.config.timeout_ms = 0.0;
    UnitSpec::Worker(w)
}

/// Runs `id` now and settles its attempt after `ms`, with `error` or not.
fn run_for(h: &mut Harness, id: &str, ms: f64, error: Option<&str>) {
    h.engine.run_unit(id, None);
    let call = h
        .invocations()
        .last()
        .expect("the run started an attempt")
        .call;
    let to = h.now_ms() + ms;
    h.advance_to(to);
    match error {
        Some(message) => h.fail(call, message),
        None => h.ok(call),
    }
}

fn last_window(o: &Overview) -> RateBucket {
    *o.rates.last().unwrap()
}

#[test]
fn totals_and_rate_windows_follow_the_engine_clock_across_window_boundaries() {
    let mut h = Harness::new();
    h.engine.register(plain("w")).unwrap();
    let o = h.engine.overview();
    assert_eq!(o.rates.len(), RATE_BUCKETS);
    assert!(o.rates.iter().all(|r| r.runs == 0));
    assert_eq!(o.rates.last().unwrap().start_ms, 0.0);
    assert_eq!(o.rates[0].start_ms, -89.0 * RATE_BUCKET_MS);

    run_for(&mut h, "w", 1.0, None); // ends at 1 ms
    h.advance_to(9_990.0);
    run_for(&mut h, "w", 5.0, Some("boom")); // ends at 9,995 ms
    run_for(&mut h, "w", 5.0, None); // ends at 10,000 ms: the next window
    let o = h.engine.overview();
    assert_eq!(
        o.totals,
        Totals {
            runs: 3,
            completed: 2,
            failed: 1,
            retries: 0
        }
    );
    assert_eq!(o.rates.len(), RATE_BUCKETS);
    assert_eq!(
        last_window(&o),
        RateBucket {
            start_ms: 10_000.0,
            runs: 1,
            failures: 0,
            retries: 0
        }
    );
    assert_eq!(
        o.rates[RATE_BUCKETS - 2],
        RateBucket {
            start_ms: 0.0,
            runs: 2,
            failures: 1,
            retries: 0
        }
    );
    assert_eq!(
        o.recent_errors,
        [ErrorView {
            unit: "w".into(),
            message: "boom".into(),
            at_ms: 9_995.0
        }]
    );
    assert_eq!(o.now_ms, 10_000.0);

    // A window with nothing in it is a zero between the others.
    h.advance_to(30_000.0);
    run_for(&mut h, "w", 1.0, None);
    let o = h.engine.overview();
    let tail: Vec<(f64, u64)> = o.rates[RATE_BUCKETS - 4..]
        .iter()
        .map(|r| (r.start_ms, r.runs))
        .collect();
    assert_eq!(
        tail,
        [(0.0, 2), (10_000.0, 1), (20_000.0, 0), (30_000.0, 1)]
    );

    // Fifteen minutes later every window is new: the ring's old slots read
    // as zeros, the totals stay.
    h.advance_to(30_001.0 + 15.0 * 60_000.0);
    let o = h.engine.overview();
    assert_eq!(o.rates.len(), RATE_BUCKETS);
    assert!(o.rates.iter().all(|r| r.runs == 0 && r.failures == 0));
    assert_eq!(o.rates.last().unwrap().start_ms, 930_000.0);
    assert_eq!(o.rates[0].start_ms, 930_000.0 - 89.0 * RATE_BUCKET_MS);
    assert_eq!(o.totals.runs, 4);
    // A run now lands in the current window only, even though its slot of
    // the ring held a window of 15 minutes ago.
    run_for(&mut h, "w", 1.0, None);
    let o = h.engine.overview();
    assert_eq!(o.rates.iter().map(|r| r.runs).sum::<u64>(), 1);
    assert_eq!(last_window(&o).runs, 1);
}

#[test]
fn retries_are_counted_in_totals_windows_and_metrics() {
    let mut h = Harness::new();
    let mut w = worker("flaky");
    w.config.timeout_ms = 0.0;
    w.config.max_retries = 2;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.run_unit("flaky", None);
    let first = h.invocations()[0].call;
    h.fail(first, "once");
    let second = h.invocations()[0].call;
    h.fail(second, "twice");
    let third = h.invocations()[0].call;
    h.ok(third);
    let o = h.engine.overview();
    assert_eq!(
        o.totals,
        Totals {
            runs: 1,
            completed: 1,
            failed: 0,
            retries: 2
        }
    );
    assert_eq!(last_window(&o).retries, 2);
    assert!(
        o.recent_errors.is_empty(),
        "a retried attempt is no failure"
    );
    assert_eq!(h.engine.metrics_snapshot().retries, 2);
}

#[test]
fn durations_fall_in_the_first_bucket_whose_bound_holds_them_by_kind() {
    let mut h = Harness::new();
    h.engine.register(plain("w")).unwrap();
    for ms in [0.5, 3.0, 10.0, 10.5, 70_000.0] {
        run_for(&mut h, "w", ms, None);
    }
    run_for(&mut h, "w", 200.0, Some("slow and failed"));
    h.engine
        .register(UnitSpec::Process(process("p", RunMode::Sequential, &["a"])))
        .unwrap();
    h.engine.run_unit("p", None);
    let call = h.invocations()[0].call;
    h.advance_to(h.now_ms() + 2_000.0);
    h.ok(call);

    let m = h.engine.metrics_snapshot();
    let w = &m.duration[WORKER];
    assert_eq!(w.buckets.len(), DURATION_BUCKETS.len() + 1);
    let mut expected = vec![0u64; DURATION_BUCKETS.len() + 1];
    expected[0] += 1; // 0.5 ms ≤ 0.001 s
    expected[1] += 1; // 3 ms ≤ 0.005 s
    expected[2] += 1; // 10 ms ≤ 0.01 s (a bound holds its own value)
    expected[3] += 1; // 10.5 ms ≤ 0.025 s
    expected[6] += 1; // 200 ms ≤ 0.25 s (failed runs count too)
    expected[12] += 1; // 70 s: +Inf
    expected[9] += 1; // the process's worker: 2 s ≤ 2.5 s
    assert_eq!(w.buckets, expected);
    assert_eq!(w.count, 7);
    let sum = 0.0005 + 0.003 + 0.01 + 0.0105 + 70.0 + 0.2 + 2.0;
    assert!((w.sum - sum).abs() < 1e-9, "{} vs {sum}", w.sum);
    let p = &m.duration[PROCESS];
    assert_eq!(p.count, 1);
    assert_eq!(p.buckets[9], 1);
    assert!((p.sum - 2.0).abs() < 1e-9);
    assert_eq!(m.runs[WORKER], [6, 1, 0]);
    assert_eq!(m.runs[PROCESS], [1, 0, 0]);
}

#[test]
fn runs_the_engine_ended_count_apart_without_a_duration_or_an_error() {
    let mut h = Harness::new();
    h.engine.register(plain("released")).unwrap();
    h.engine.register(plain("stopped")).unwrap();
    h.engine.run_unit("released", None);
    h.engine.run_unit("stopped", None);
    h.take();
    h.advance_to(5.0);
    h.engine.release("released");
    h.engine.stop(Some(0.0));
    h.advance_to(10.0);
    let m = h.engine.metrics_snapshot();
    assert_eq!(m.runs[WORKER], [0, 0, 2]);
    assert_eq!(m.duration[WORKER].count, 0);
    let o = h.engine.overview();
    assert_eq!(
        (o.totals.runs, o.totals.completed, o.totals.failed),
        (2, 0, 0)
    );
    assert_eq!((last_window(&o).runs, last_window(&o).failures), (2, 0));
    assert!(o.recent_errors.is_empty());
}

#[test]
fn runs_by_unit_are_kept_only_while_asked_for_and_go_with_their_unit() {
    let mut h = Harness::new();
    h.engine.register(plain("a")).unwrap();
    h.engine.register(plain("b")).unwrap();
    run_for(&mut h, "a", 1.0, None);
    assert!(h.engine.metrics_snapshot().unit_runs.is_empty());

    h.engine.set_unit_metrics(true);
    run_for(&mut h, "b", 1.0, Some("no"));
    run_for(&mut h, "a", 1.0, None);
    run_for(&mut h, "b", 1.0, None);
    let m = h.engine.metrics_snapshot();
    assert_eq!(
        m.unit_runs,
        [
            UnitRuns {
                unit: "a".into(),
                kind: UnitKind::Worker,
                runs: [1, 0, 0]
            },
            UnitRuns {
                unit: "b".into(),
                kind: UnitKind::Worker,
                runs: [1, 1, 0]
            },
        ],
        "registration order; only runs since it was turned on"
    );
    // The totals by kind count every run either way.
    assert_eq!(m.runs[WORKER], [3, 1, 0]);

    h.engine.release("a");
    let units: Vec<String> = h
        .engine
        .metrics_snapshot()
        .unit_runs
        .into_iter()
        .map(|u| u.unit)
        .collect();
    assert_eq!(units, ["b"]);

    h.engine.set_unit_metrics(false);
    run_for(&mut h, "b", 1.0, None);
    assert!(h.engine.metrics_snapshot().unit_runs.is_empty());
    h.engine.set_unit_metrics(true);
    assert!(
        h.engine.metrics_snapshot().unit_runs.is_empty(),
        "turning them off forgot them"
    );
}

#[test]
fn a_units_last_error_shows_in_its_summary_until_it_is_released_and_recent_errors_keep_twenty() {
    let mut h = Harness::new();
    h.engine.register(plain("w")).unwrap();
    h.engine.register(plain("fine")).unwrap();
    for k in 0..25 {
        run_for(&mut h, "w", 1.0, Some(&format!("failure {k}")));
    }
    run_for(&mut h, "w", 1.0, None);
    let o = h.engine.overview();
    assert_eq!(o.recent_errors.len(), RECENT_ERRORS_KEPT);
    assert_eq!(o.recent_errors[0].message, "failure 5");
    assert_eq!(o.recent_errors[19].message, "failure 24");
    assert!(o.recent_errors.windows(2).all(|p| p[0].at_ms < p[1].at_ms));

    let detail = h.engine.unit_detail("w").unwrap();
    assert_eq!(
        detail.summary.last_error,
        Some(ErrorView {
            unit: "w".into(),
            message: "failure 24".into(),
            at_ms: 25.0
        }),
        "a success does not clear the last error"
    );
    assert_eq!(
        h.engine.unit_detail("fine").unwrap().summary.last_error,
        None
    );
    let page = h.engine.unit_page(&UnitQuery {
        limit: 10,
        ..UnitQuery::default()
    });
    assert!(page.items[0].last_error.is_some() && page.items[1].last_error.is_none());

    // Released, then registered again under the same id: a new unit.
    h.engine.release("w");
    h.engine.register(plain("w")).unwrap();
    assert_eq!(h.engine.unit_detail("w").unwrap().summary.last_error, None);
    // Replaced in place by a registration of the same id: a new unit too.
    run_for(&mut h, "fine", 1.0, Some("bad"));
    assert!(h
        .engine
        .unit_detail("fine")
        .unwrap()
        .summary
        .last_error
        .is_some());
    h.engine.register(plain("fine")).unwrap();
    assert_eq!(
        h.engine.unit_detail("fine").unwrap().summary.last_error,
        None
    );
    // The overview's list is a log: it keeps what happened.
    assert_eq!(h.engine.overview().recent_errors.len(), RECENT_ERRORS_KEPT);
}

#[test]
fn a_process_failed_by_its_worker_records_both_failures() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(process("p", RunMode::Sequential, &["a"])))
        .unwrap();
    h.engine.run_unit("p", None);
    let call = h.invocations()[0].call;
    h.fail(call, "bad input");
    let o = h.engine.overview();
    let units: Vec<&str> = o.recent_errors.iter().map(|e| e.unit.as_str()).collect();
    assert_eq!(units, ["a", "p"]);
    assert!(o.recent_errors[1].message.contains("bad input"));
    let m = h.engine.metrics_snapshot();
    assert_eq!((m.runs[WORKER], m.runs[PROCESS]), ([0, 1, 0], [0, 1, 0]));
}

#[test]
fn schedule_lag_is_how_late_an_interval_fire_came() {
    let mut h = Harness::new();
    let mut w = worker("tick");
    w.config.timeout_ms = 0.0;
    w.config.set_interval_ms(Some(1_000.0));
    w.config.run_on_interval = true;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    h.engine.start();
    h.advance_to(1_000.0); // on time
    for i in h.invocations() {
        h.ok(i.call);
    }
    // The next fire, due at 2,000 ms, comes 300 ms late.
    h.clock.set(ms_to_nanos(2_300.0));
    h.engine.fire_due(ms_to_nanos(2_300.0));
    let lag = h.engine.metrics_snapshot().schedule_lag;
    assert_eq!(lag.count, 2);
    let mut expected = vec![0u64; LAG_BUCKETS.len() + 1];
    expected[0] = 1; // 0 s
    expected[5] = 1; // 0.3 s ≤ 0.5 s
    assert_eq!(lag.buckets, expected);
    assert!((lag.sum - 0.3).abs() < 1e-9);
}

fn pool(h: &mut Harness, name: &str, n: usize) -> PoolId {
    h.pool_with_workers(name, n, true)
}

fn named(name: &str, handler: Option<&str>) -> TaskSpec {
    TaskSpec {
        name: Some(name.into()),
        priority: 0.0,
        handler: handler.map(str::to_owned),
    }
}

fn task_calls(h: &Harness) -> Vec<Invocation> {
    h.invocations()
        .into_iter()
        .filter(|i| i.task.is_some())
        .collect()
}

#[test]
fn a_pool_keeps_its_last_fifty_finished_tasks_and_totals_by_status() {
    let mut h = Harness::new();
    let p = pool(&mut h, "jobs", 1);
    let mut ids = Vec::new();
    for k in 0..60 {
        let (id, _) = h.engine.pool_add(p, named(&format!("t{k}"), None)).unwrap();
        ids.push(id);
    }
    // The last one is cancelled before it runs; t58 fails; the rest complete.
    assert_eq!(h.engine.pool_cancel(p, "t59"), 1);
    for k in 0..59 {
        let call = task_calls(&h)[0].call;
        h.advance_to(h.now_ms() + 2.0);
        if k == 58 {
            h.fail(call, "t58 broke");
        } else {
            h.ok(call);
        }
    }
    let v = &h.engine.pool_views(10)[0];
    assert_eq!(
        (v.completed, v.failed, v.cancelled),
        (58, 1, 1),
        "totals count every task that left"
    );
    assert_eq!(v.done.len(), DONE_TASKS_KEPT);
    // Newest last: t59 left first (cancelled), then t0…t58, so the ring
    // holds t9…t58.
    let first = &v.done[0];
    assert_eq!(first.name.as_deref(), Some("t9"));
    assert_eq!(first.id, ids[9]);
    assert_eq!(first.status, TaskStatus::Completed);
    assert_eq!(first.duration_ms, Some(2.0));
    let last = v.done.last().unwrap();
    assert_eq!(
        (
            last.name.as_deref(),
            last.status,
            last.error.as_deref(),
            last.retryable,
            last.at_ms
        ),
        (
            Some("t58"),
            TaskStatus::Error,
            Some("t58 broke"),
            false,
            118.0
        ),
        "a task that runs a function of its own cannot be run again"
    );

    // A cancelled task that never ran has no duration.
    let q = h.engine.pool("other");
    h.engine.pool_add(q, named("never", None)).unwrap();
    h.engine.pool_cancel(q, "never");
    let v = &h.engine.pool_views(10)[1];
    assert_eq!(v.done.len(), 1);
    assert_eq!(
        (v.done[0].status, v.done[0].duration_ms, v.cancelled),
        (TaskStatus::Cancelled, None, 1)
    );
    // A failed task's run is a failed run of its pool worker.
    let o = h.engine.overview();
    assert_eq!((o.totals.runs, o.totals.failed), (59, 1));
    assert_eq!(o.recent_errors[0].unit, "jobs:pool-worker-1");
}

#[test]
fn metrics_count_units_by_status_and_every_pools_tasks() {
    let mut h = Harness::new();
    let p = pool(&mut h, "jobs", 1);
    h.engine.register(plain("idle")).unwrap();
    h.engine.pool_add(p, named("running", None)).unwrap();
    h.engine.pool_add(p, named("queued", None)).unwrap();
    h.engine.pool_add(p, named("paused", None)).unwrap();
    h.engine.pool_pause(p, "paused");
    h.engine
        .pool_add(p, named("no-handler", Some("later")))
        .unwrap();
    let in_an_hour = h.engine.wall_ms() + 3_600_000.0;
    h.engine
        .pool_add_at(p, named("delayed", None), in_an_hour)
        .unwrap();
    let m = h.engine.metrics_snapshot();
    assert_eq!(m.units[Status::Running as usize], 1);
    assert_eq!(m.units[Status::Idle as usize], 1);
    assert_eq!(m.units.iter().sum::<u64>(), 2);
    assert_eq!(m.store_pending_writes, 0);
    assert_eq!(m.pools.len(), 1);
    assert_eq!(m.pools[0].pool, "jobs");
    assert_eq!(
        m.pools[0].counts,
        [
            (TaskStatus::Idle, 1),
            (TaskStatus::Running, 1),
            (TaskStatus::Paused, 1),
            (TaskStatus::WaitingHandler, 1),
            (TaskStatus::Scheduled, 1),
            (TaskStatus::Completed, 0),
            (TaskStatus::Error, 0),
            (TaskStatus::Cancelled, 0),
        ]
    );
    let o = h.engine.overview();
    assert_eq!(
        (o.workers, o.processes, o.pool_queued, o.in_flight),
        (2, 0, 3, 1)
    );
    assert_eq!(o.counts, m.units);
}

#[test]
fn the_change_count_moves_with_every_change_and_not_with_a_read() {
    let mut h = Harness::new();
    let mut last = h.engine.change_count();
    let mut moved = |h: &Harness, what: &str| {
        let now = h.engine.change_count();
        assert!(now > last, "{what} moves the change count");
        last = now;
    };
    h.engine.register(plain("w")).unwrap();
    moved(&h, "a registration");
    h.engine.run_unit("w", None);
    moved(&h, "a run's start");
    let call = h.invocations()[0].call;
    h.ok(call);
    moved(&h, "a run's end");
    h.engine.set_enabled("w", false);
    moved(&h, "a config change");
    h.engine.update_status("w", Status::Paused);
    moved(&h, "a status set by hand");
    h.engine.restore(
        "w",
        &RestoredState {
            run_count: Some(7),
            ..RestoredState::default()
        },
    );
    moved(&h, "a restore");
    // A task queued on a pool that is not started: no event, still a change.
    let p = h.engine.pool("cold");
    h.engine.pool_add(p, named("t", None)).unwrap();
    moved(&h, "a task queued");

    let before = h.engine.change_count();
    let _ = h.engine.overview();
    let _ = h.engine.metrics_snapshot();
    let _ = h.engine.pool_views(10);
    let _ = h.engine.unit_page(&UnitQuery {
        limit: 5,
        ..UnitQuery::default()
    });
    assert_eq!(h.engine.change_count(), before);
    assert_eq!(h.engine.overview().change, before);
}

static NEXT: AtomicU32 = AtomicU32::new(0);

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "synchronik-observed-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stored(h: &mut Harness) -> Store {
    h.engine.store_sync();
    let store = h.engine.durable_store().unwrap().clone();
    store.flush().unwrap();
    store
}

#[test]
fn a_failed_durable_task_is_queued_again_once_with_its_name_handler_payload_priority_and_key() {
    let dir = TempDir::new();
    let mut h = Harness::new();
    h.engine
        .set_store(Store::open(dir.0.join("state.db"), StoreOptions::default()).unwrap());
    let p = pool(&mut h, "jobs", 1);
    h.engine.pool_handler(p, "job", true);
    let mut spec = named("import", Some("job"));
    spec.priority = 3.0;
    let (failed, _, key) = h
        .engine
        .pool_add_durable(p, spec, Some("{\"n\":1}".into()))
        .unwrap();
    // The payload and priority were changed while it waited.
    h.engine
        .store_task_patch(failed, Some("{\"n\":2}".into()), Some(4.0), None);
    let call = task_calls(&h)[0].call;
    h.fail(call, "it broke");
    assert!(stored(&mut h).load_tasks("jobs").unwrap().is_empty());
    let done = &h.engine.pool_views(10)[0].done;
    assert_eq!(
        (done[0].id, done[0].status, done[0].retryable),
        (failed, TaskStatus::Error, true)
    );

    let again = h.engine.pool_retry_task(failed).unwrap();
    assert_ne!(again, failed);
    // The host hears of the new task before it is asked to run it.
    let log = h.take();
    let at_status = log.iter().position(|o| {
        matches!(o, Out::Event(Event::TaskStatus { task, status: TaskStatus::Idle, .. }) if *task == again)
    });
    let at_run = log
        .iter()
        .position(|o| matches!(o, Out::Invoke(i) if i.task == Some(again)));
    assert!(
        at_status.unwrap() < at_run.unwrap(),
        "{}",
        names(&log).join(", ")
    );
    let (in_pool, requeued) = h.engine.take_requeued_task(again).unwrap();
    assert_eq!(in_pool, p, "handed over with its pool");
    assert_eq!(
        (
            requeued.task,
            requeued.name.as_str(),
            requeued.handler.as_str(),
            requeued.payload.as_deref(),
            requeued.priority,
            requeued.key.as_str()
        ),
        (again, "import", "job", Some("{\"n\":2}"), 4.0, key.as_str())
    );
    assert_eq!(h.engine.take_requeued_task(again), None, "taken once");
    let rows = stored(&mut h).load_tasks("jobs").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].key.as_str(),
            rows[0].payload.as_deref(),
            rows[0].priority,
            rows[0].status.as_str()
        ),
        (key.as_str(), Some("{\"n\":2}"), 4.0, "running")
    );
    // Queued again once: the old entry is not retryable any more.
    let v = &h.engine.pool_views(10)[0];
    assert!(!v.done[0].retryable);
    let e = h.engine.pool_retry_task(failed).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotRetryable);
    // The new task is running: it has not finished.
    let e = h.engine.pool_retry_task(again).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotRetryable);
    assert!(e.to_string().contains("has not finished"), "{e}");
    let running = h.engine.pool_views(10)[0].running[0].id;
    assert_eq!(running, again);
}

#[test]
fn queueing_a_task_again_refuses_unknown_unfinished_completed_cancelled_and_in_memory_tasks() {
    let mut h = Harness::new();
    let p = pool(&mut h, "jobs", 1);
    let (done_ok, _) = h.engine.pool_add(p, named("ok", None)).unwrap();
    let (inline, _) = h.engine.pool_add(p, named("inline", None)).unwrap();
    let (queued, _) = h.engine.pool_add(p, named("queued", None)).unwrap();
    let (cancelled, _) = h.engine.pool_add(p, named("cancelled", None)).unwrap();
    h.engine.pool_cancel(p, "cancelled");
    let call = task_calls(&h)[0].call;
    h.ok(call);
    let call = task_calls(&h)[0].call;
    h.fail(call, "inline failed");

    let refusal = |h: &mut Harness, task: TaskId| {
        let e = h.engine.pool_retry_task(task).unwrap_err();
        (e.code().as_str(), e.to_string())
    };
    let (code, message) = refusal(&mut h, 9_999);
    assert_eq!(code, "ERR_UNKNOWN_TASK");
    assert!(message.contains("9999"), "{message}");
    for (task, why) in [
        (done_ok, "it completed"),
        (cancelled, "it was cancelled"),
        (queued, "it has not finished"),
        (inline, "only a stored task"),
    ] {
        let (code, message) = refusal(&mut h, task);
        assert_eq!(code, "ERR_NOT_RETRYABLE", "{message}");
        assert!(
            message.contains(&format!("task {task} cannot be queued again: {why}")),
            "{message}"
        );
    }
    // Nothing was queued by the refusals.
    assert!(h.engine.pool_pending(p).is_empty());
    assert_eq!(h.engine.pool_views(10)[0].running[0].id, queued);
    assert_eq!(h.engine.pool_views(10)[0].done.len(), 3);
}
