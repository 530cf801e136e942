//! The read-only views a dashboard shows, on a manual clock: pages of
//! units with cursors and filters, unit details, processes and their
//! graphs, pools in dispatch order, the schedule, and runs nobody awaits.

mod common;

use common::*;
use synchronik_core::observe::{TaskView, UnitQuery};
use synchronik_core::*;

fn query(limit: usize) -> UnitQuery {
    UnitQuery {
        limit,
        ..UnitQuery::default()
    }
}

/// Every page of `q` from the first, following the cursors; checks that
/// each page reports the same total.
fn all_pages(h: &Harness, mut q: UnitQuery) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let first_total = h.engine.unit_page(&q).total;
    loop {
        let page = h.engine.unit_page(&q);
        assert_eq!(
            page.total, first_total,
            "the total does not depend on the page"
        );
        assert!(page.items.len() <= q.limit);
        ids.extend(page.items.iter().map(|s| s.id.clone()));
        match page.next {
            Some(next) => {
                assert_eq!(page.items.len(), q.limit, "only a full page has a next one");
                assert_eq!(Some(next), page.items.last().map(|s| s.slot));
                q.after = Some(next);
            }
            None => return (ids, first_total),
        }
    }
}

fn interval_worker(id: &str, ms: f64) -> WorkerSpec {
    let mut w = worker(id);
    w.config.set_interval_ms(Some(ms));
    w.config.run_on_interval = true;
    w.config.timeout_ms = 0.0;
    w
}

#[test]
fn pages_of_ten_thousand_units_follow_registration_order_and_filters() {
    let mut h = Harness::new();
    let n = 10_000;
    let mut expected = Vec::with_capacity(n);
    for k in 0..n {
        let id = if k % 7 == 0 {
            format!("Alpha-{k:05}")
        } else {
            format!("job-{k:05}")
        };
        h.engine.register(UnitSpec::Worker(worker(&id))).unwrap();
        expected.push(id);
    }
    // Released units leave slots that later units reuse: slot order is
    // not registration order any more.
    for k in (1..n).step_by(10) {
        assert!(h.engine.release(&expected[k]));
    }
    let mut kept: Vec<String> = expected
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 10 != 1)
        .map(|(_, id)| id.clone())
        .collect();
    for k in 0..200 {
        let id = format!("late-{k}");
        h.engine.register(UnitSpec::Worker(worker(&id))).unwrap();
        kept.push(id);
    }
    assert_eq!(h.slot("late-0"), 1, "the late units took freed slots");

    let (ids, total) = all_pages(&h, query(500));
    assert_eq!(total, kept.len());
    assert_eq!(ids, kept, "every unit once, in registration order");

    // Text: a case-insensitive part of the id.
    let alpha: Vec<String> = kept
        .iter()
        .filter(|id| id.starts_with("Alpha"))
        .cloned()
        .collect();
    let mut q = query(100);
    q.text = Some("aLPHA-".into());
    let (ids, total) = all_pages(&h, q);
    assert_eq!((ids, total), (alpha.clone(), alpha.len()));

    // Status and kind.
    for id in alpha.iter().take(25) {
        h.engine.update_status(id, Status::Paused);
    }
    let mut q = query(10);
    q.status = Some(Status::Paused);
    q.kind = Some(UnitKind::Worker);
    let (ids, total) = all_pages(&h, q.clone());
    assert_eq!(total, 25);
    assert_eq!(ids, alpha[..25]);
    q.kind = Some(UnitKind::Process);
    let page = h.engine.unit_page(&q);
    assert_eq!((page.items.len(), page.total, page.next), (0, 0, None));
}

#[test]
fn a_cursor_whose_unit_was_released_still_finds_its_place() {
    let mut h = Harness::new();
    for k in 0..6 {
        h.engine
            .register(UnitSpec::Worker(worker(&format!("w{k}"))))
            .unwrap();
    }
    let first = h.engine.unit_page(&query(3));
    let ids: Vec<&str> = first.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["w0", "w1", "w2"]);
    assert_eq!(first.total, 6);
    assert_eq!(first.next, Some(h.slot("w2")));
    // The unit the cursor names goes (its slot is not reused meanwhile).
    assert!(h.engine.release("w2"));
    let mut q = query(3);
    q.after = first.next;
    let second = h.engine.unit_page(&q);
    let ids: Vec<&str> = second.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["w3", "w4", "w5"]);
    assert_eq!((second.next, second.total), (None, 5));
    // A cursor the engine cannot place starts again from the first unit.
    q.after = Some(9_999);
    assert_eq!(h.engine.unit_page(&q).items[0].id, "w0");
}

#[test]
fn text_filters_fold_case_beyond_ascii() {
    let mut h = Harness::new();
    for id in ["Überprüfung", "STRASSE", "plain"] {
        h.engine.register(UnitSpec::Worker(worker(id))).unwrap();
    }
    let ids = |text: &str| {
        let mut q = query(10);
        q.text = Some(text.into());
        let page = h.engine.unit_page(&q);
        page.items.into_iter().map(|s| s.id).collect::<Vec<_>>()
    };
    assert_eq!(ids("üBERp"), ["Überprüfung"]);
    assert_eq!(ids("prü"), ["Überprüfung"]);
    assert_eq!(ids("asse"), ["STRASSE"]);
    assert_eq!(ids(""), ["Überprüfung", "STRASSE", "plain"]);
    assert!(ids("nothing").is_empty());
}

#[test]
fn summaries_and_details_show_membership_runs_and_schedule() {
    let mut h = Harness::new();
    let mut p = process("etl", RunMode::Sequential, &["extract", "load"]);
    p.workers[0].config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine
        .register(UnitSpec::Worker(interval_worker("poll", 100.0)))
        .unwrap();
    let pool = h.engine.pool("default");
    let pw = h
        .engine
        .register(UnitSpec::Worker(worker("pool-worker-1")))
        .unwrap()[0];
    h.engine.pool_attach(pool, pw);
    h.engine.start();

    h.advance_to(10.0);
    let ticket = h.engine.run_unit("etl", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 1);
    h.advance_to(30.0);

    let page = h.engine.unit_page(&query(10));
    let by_id = |id: &str| page.items.iter().find(|s| s.id == id).unwrap().clone();
    let etl = by_id("etl");
    assert_eq!(
        (etl.kind, etl.status, etl.process.as_deref()),
        (UnitKind::Process, Status::Running, None)
    );
    assert_eq!(etl.running_since_ms, Some(10.0));
    let extract = by_id("extract");
    assert_eq!(extract.process.as_deref(), Some("etl"));
    assert_eq!(extract.running_since_ms, Some(10.0));
    assert!(!extract.pool_worker);
    assert_eq!(by_id("load").running_since_ms, None);
    let poll = by_id("poll");
    assert_eq!(poll.next_fire_ms, Some(100.0));
    assert_eq!(poll.process, None);
    assert!(by_id("pool-worker-1").pool_worker);
    assert_eq!(by_id("pool-worker-1").next_fire_ms, None);

    h.ok(calls[0].call);
    let load = h.invocations();
    h.advance_to(45.0);
    h.ok(load[0].call);
    assert!(h
        .take()
        .iter()
        .any(|o| matches!(o, Out::Event(Event::Done { ticket: t, error: None }) if *t == ticket)));

    let detail = h.engine.unit_detail("extract").unwrap();
    assert_eq!(detail.summary.run_count, 1);
    assert_eq!(detail.summary.last_duration_ms, 20.0);
    assert_eq!(detail.summary.running_since_ms, None);
    assert_eq!(detail.execution_times_ms, [20.0]);
    assert_eq!(detail.worker.as_ref().map(|c| c.timeout_ms), Some(0.0));
    assert!(detail.process.is_none() && detail.workers.is_empty());

    let detail = h.engine.unit_detail("etl").unwrap();
    assert_eq!(detail.summary.status, Status::Completed);
    assert_eq!(detail.execution_times_ms, [35.0]);
    assert_eq!(detail.workers, ["extract", "load"]);
    assert_eq!(
        detail.process.map(|c| c.run_mode),
        Some(RunMode::Sequential)
    );
    assert!(detail.worker.is_none());

    assert!(h.engine.unit_detail("nobody").is_none());
    assert_eq!(h.engine.unit_id_of(h.slot("load")), Some("load"));
    assert_eq!(h.engine.unit_id_of(9_999), None);
}

#[test]
fn a_graph_process_shows_its_dependencies_and_live_statuses() {
    let mut h = Harness::new();
    let mut p = process("g", RunMode::Parallel, &["a", "b", "c"]);
    p.workers[1]
        .config
        .set_depends_on(vec![Dependency::on("a")]);
    p.workers[2]
        .config
        .set_depends_on(vec![Dependency::on("a"), Dependency::when("b")]);
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine
        .register(UnitSpec::Process(process(
            "plain",
            RunMode::Batched,
            &["x"],
        )))
        .unwrap();
    h.engine
        .register(UnitSpec::Worker(worker("alone")))
        .unwrap();

    let list = h.engine.process_views();
    let ids: Vec<&str> = list.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["g", "plain"]);
    assert!(list[0].graph && !list[1].graph);
    assert_eq!(list[0].workers.len(), 3);
    assert_eq!(list[1].run_mode, RunMode::Batched);
    assert!(h.engine.process_view("alone").is_none());
    assert!(h.engine.process_view("nobody").is_none());

    h.engine.run_unit("g", None);
    let calls = h.invocations();
    assert_eq!(calls.len(), 1, "only a, which depends on nothing, starts");
    let g = h.engine.process_view("g").unwrap();
    assert_eq!(g.status, Status::Running);
    assert_eq!(g.config.run_mode, RunMode::Parallel);
    let workers: Vec<(&str, Status, &[Dependency])> = g
        .workers
        .iter()
        .map(|w| (w.id.as_str(), w.status, w.depends_on.as_slice()))
        .collect();
    assert_eq!(
        workers,
        [
            ("a", Status::Running, &[][..]),
            ("b", Status::Idle, &[Dependency::on("a")][..]),
            (
                "c",
                Status::Idle,
                &[Dependency::on("a"), Dependency::when("b")][..]
            ),
        ]
    );
    h.ok(calls[0].call);
    let g = h.engine.process_view("g").unwrap();
    assert_eq!(g.workers[0].status, Status::Completed);
    assert_eq!(g.workers[1].status, Status::Running);
}

fn named(name: &str, priority: f64, handler: Option<&str>) -> TaskSpec {
    TaskSpec {
        name: Some(name.into()),
        priority,
        handler: handler.map(str::to_owned),
    }
}

fn names_and_statuses(tasks: &[TaskView]) -> Vec<(String, TaskStatus)> {
    tasks
        .iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t.status))
        .collect()
}

#[test]
fn a_pool_queue_shows_in_dispatch_order_and_dispatch_follows_it() {
    let mut h = Harness::new();
    let pool = h.engine.pool("default");
    let mut w = worker("pool-worker-1");
    w.config.timeout_ms = 0.0;
    let slot = h.engine.register(UnitSpec::Worker(w)).unwrap()[0];
    h.engine.pool_attach(pool, slot);
    h.engine.pool_set_started(pool, true);
    h.engine.pool_handler(pool, "defined", true);

    h.clock.set(ms_to_nanos(5.0));
    let (first, _) = h.engine.pool_add(pool, named("first", 0.0, None)).unwrap();
    let running = h.invocations();
    assert_eq!(running[0].task, Some(first));
    for (name, priority, handler) in [
        ("a", 0.0, None),
        ("b", 5.0, Some("defined")),
        ("c", 1.0, None),
        ("d", 1.0, Some("missing")),
        ("e", 0.0, None),
    ] {
        h.engine
            .pool_add(pool, named(name, priority, handler))
            .unwrap();
    }
    assert!(h.engine.pool_pause(pool, "c"));
    h.clock.set(ms_to_nanos(12.0));

    let views = h.engine.pool_views(100);
    assert_eq!(views.len(), 1);
    let v = &views[0];
    assert_eq!(
        (v.name.as_str(), v.size, v.busy, v.queued),
        ("default", 1, 1, 5)
    );
    // Queue order is b c d a e (priority, then arrangement); b starts
    // next; paused c holds a and e behind it; d waits for its handler.
    assert_eq!(
        names_and_statuses(&v.queue),
        [
            ("b".into(), TaskStatus::Idle),
            ("c".into(), TaskStatus::Paused),
            ("a".into(), TaskStatus::Idle),
            ("e".into(), TaskStatus::Idle),
            ("d".into(), TaskStatus::WaitingHandler),
        ]
    );
    assert_eq!(v.queue[0].priority, 5.0);
    assert!(v
        .queue
        .iter()
        .all(|t| t.worker.is_none() && t.started_ms.is_none() && !t.durable));
    assert_eq!(v.running.len(), 1);
    let r = &v.running[0];
    assert_eq!(
        (
            r.id,
            r.name.as_deref(),
            r.status,
            r.worker.as_deref(),
            r.started_ms
        ),
        (
            first,
            Some("first"),
            TaskStatus::Running,
            Some("pool-worker-1"),
            Some(5.0)
        )
    );
    // The first `limit` only; `queued` still counts all.
    let short = &h.engine.pool_views(2)[0];
    assert_eq!(names_and_statuses(&short.queue).len(), 2);
    assert_eq!(short.queue[1].name.as_deref(), Some("c"));
    assert_eq!(short.queued, 5);
    // The record branch's parts stay empty here.
    assert!(v.done.is_empty() && (v.completed, v.failed, v.cancelled) == (0, 0, 0));

    // Dispatch agrees: b, then nothing while c is paused, then c a e.
    let started_name = |h: &Harness| {
        let calls = h.invocations();
        assert!(calls.len() <= 1);
        calls.first().map(|c| {
            let view = &h.engine.pool_views(100)[0];
            (view.running[0].name.clone().unwrap(), c.call)
        })
    };
    h.ok(running[0].call);
    let (name, call) = started_name(&h).unwrap();
    assert_eq!(name, "b");
    h.ok(call);
    assert!(started_name(&h).is_none(), "the paused head blocks");
    let v = &h.engine.pool_views(100)[0];
    assert_eq!(v.busy, 0);
    assert_eq!(
        names_and_statuses(&v.queue)[0],
        ("c".into(), TaskStatus::Paused)
    );
    assert!(h.engine.pool_resume(pool, "c"));
    for want in ["c", "a", "e"] {
        let (name, call) = started_name(&h).unwrap();
        assert_eq!(name, want);
        h.ok(call);
    }
    let v = &h.engine.pool_views(100)[0];
    assert_eq!(
        names_and_statuses(&v.queue),
        [("d".into(), TaskStatus::WaitingHandler)]
    );
}

#[test]
fn schedules_list_next_fires_soonest_first_as_the_clock_moves() {
    let mut h = Harness::new();
    for (id, ms) in [("slow", 250.0), ("fast", 100.0), ("also-100", 100.0)] {
        h.engine
            .register(UnitSpec::Worker(interval_worker(id, ms)))
            .unwrap();
    }
    let mut off = interval_worker("off", 50.0);
    off.common.enabled = false;
    h.engine.register(UnitSpec::Worker(off)).unwrap();
    assert!(
        h.engine.schedule_views().is_empty(),
        "nothing is scheduled before start"
    );
    h.engine.start();

    let fires = |h: &Harness| {
        h.engine
            .schedule_views()
            .into_iter()
            .map(|s| (s.unit, s.every_ms, s.next_ms))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fires(&h),
        [
            ("fast".into(), 100.0, 100.0),
            ("also-100".into(), 100.0, 100.0),
            ("slow".into(), 250.0, 250.0),
        ]
    );
    let settle = |h: &mut Harness| {
        for c in h.invocations() {
            h.ok(c.call);
        }
    };
    h.advance_to(100.0);
    settle(&mut h);
    assert_eq!(
        fires(&h),
        [
            ("fast".into(), 100.0, 200.0),
            ("also-100".into(), 100.0, 200.0),
            ("slow".into(), 250.0, 250.0),
        ]
    );
    h.advance_to(250.0);
    settle(&mut h);
    assert_eq!(
        fires(&h),
        [
            ("fast".into(), 100.0, 300.0),
            ("also-100".into(), 100.0, 300.0),
            ("slow".into(), 250.0, 500.0),
        ]
    );
    assert_eq!(
        h.engine.unit_detail("slow").unwrap().summary.next_fire_ms,
        Some(500.0)
    );
    h.engine.set_enabled("fast", false);
    let units: Vec<String> = fires(&h).into_iter().map(|(u, ..)| u).collect();
    assert_eq!(units, ["also-100", "slow"]);
}

#[test]
fn a_detached_run_is_announced_by_its_events_and_completes() {
    let mut h = Harness::new();
    let mut w = worker("w");
    w.config.timeout_ms = 0.0;
    h.engine.register(UnitSpec::Worker(w)).unwrap();
    let slot = h.slot("w");

    h.engine.run_detached("w").unwrap();
    let log = h.take();
    let names = names(&log);
    assert!(names.contains(&format!("#{slot}:start")), "{names:?}");
    assert_eq!(h.status("w"), Status::Running);
    let call = log
        .iter()
        .find_map(|o| match o {
            Out::Invoke(i) => Some(i.call),
            _ => None,
        })
        .expect("an attempt started");
    h.advance_to(7.0);
    h.ok(call);
    let names = self::names(&h.take());
    assert_eq!(
        names,
        [
            format!("#{slot}:stats"),
            format!("#{slot}:completed"),
            format!("#{slot}:complete"),
            "done".to_owned(),
        ]
    );
    let detail = h.engine.unit_detail("w").unwrap();
    assert_eq!(
        (detail.summary.run_count, detail.summary.last_duration_ms),
        (1, 7.0)
    );

    let err = h.engine.run_detached("nobody").unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownUnit);
    assert_eq!(err.code().as_str(), "ERR_UNKNOWN_UNIT");
    assert_eq!(err.unit_id(), "nobody");
    assert!(err.to_string().contains("\"nobody\""), "{err}");
    assert!(h.take().is_empty(), "an unknown id starts nothing");
}

#[test]
fn a_detached_process_run_fails_like_any_other() {
    let mut h = Harness::new();
    let mut p = process("p", RunMode::Sequential, &["one", "two"]);
    for w in &mut p.workers {
        w.config.timeout_ms = 0.0;
    }
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_detached("p").unwrap();
    let calls = h.invocations();
    assert_eq!(calls.len(), 1);
    // Asking again while it runs joins the run in flight (as runProcessById).
    h.engine.run_detached("p").unwrap();
    assert!(h.invocations().is_empty());
    h.fail(calls[0].call, "boom");
    let log = h.take();
    let p_slot = h.slot("p");
    let failed: Vec<Slot> = log
        .iter()
        .filter_map(|o| match o {
            Out::Event(Event::Failed { unit }) => Some(*unit),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [h.slot("one"), p_slot]);
    let done_with_error = log
        .iter()
        .filter(|o| matches!(o, Out::Event(Event::Done { error: Some(_), .. })))
        .count();
    assert_eq!(done_with_error, 2, "both requests end, with the error");
    assert_eq!(h.status("p"), Status::Error);
    // A paused unit does not run, and that is no error.
    h.engine.update_status("p", Status::Paused);
    h.take();
    h.engine.run_detached("p").unwrap();
    assert!(h.invocations().is_empty());
}

#[test]
fn a_calendar_schedule_is_listed_with_its_next_fire_and_no_period() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Worker(interval_worker("poll", 90_000.0)))
        .unwrap();
    let mut cron = worker("cron");
    // Every minute on the minute; the manual clock starts at the epoch.
    let when = When::Cron(schedule::CronSchedule::parse("* * * * *", Some("UTC")).unwrap());
    cron.config.set_schedule(Some(CalendarSpec::new(when)));
    h.engine.register(UnitSpec::Worker(cron)).unwrap();
    h.engine.start();
    let views = h.engine.schedule_views();
    let units: Vec<_> = views.iter().map(|s| s.unit.as_str()).collect();
    assert_eq!(units, ["cron", "poll"], "soonest first");
    // The next whole minute of the wall clock, on the engine's clock.
    let wall = h.clock.wall_ms();
    let next_minute = (wall / 60_000.0).floor() * 60_000.0 + 60_000.0;
    assert!(
        (views[0].next_ms - (next_minute - wall)).abs() < 1.0,
        "{views:?}"
    );
    assert!(
        views[0].every_ms.is_nan(),
        "a calendar schedule has no period"
    );
    assert_eq!(views[1].every_ms, 90_000.0);
}
