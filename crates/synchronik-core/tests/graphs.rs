//! Dependency graphs: chains, diamonds, fan-out/fan-in, conditions, cycles,
//! failure propagation and size.

mod common;

use common::*;
use synchronik_core::*;

/// A process whose workers depend on each other: `(id, [deps])`, a `?`
/// before a dependency marks a condition.
fn graph(edges: &[(&str, &[&str])]) -> ProcessSpec {
    let workers = edges
        .iter()
        .map(|(id, deps)| {
            let mut w = worker(id);
            w.config.timeout_ms = 0.0;
            w.config.set_depends_on(
                deps.iter()
                    .map(|d| match d.strip_prefix('?') {
                        Some(d) => Dependency::when(d),
                        None => Dependency::on(*d),
                    })
                    .collect(),
            );
            w
        })
        .collect();
    ProcessSpec::new("g", workers)
}

fn started(h: &Harness) -> Vec<(String, Invocation)> {
    h.invocations()
        .into_iter()
        .map(|i| (h.engine.registry().get(i.unit).unwrap().id.to_string(), i))
        .collect()
}

fn ids(v: &[(String, Invocation)]) -> Vec<&str> {
    let mut ids: Vec<&str> = v.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids
}

fn skipped(log: &[Out]) -> Vec<(Slot, SkipReason)> {
    log.iter()
        .filter_map(|o| match o {
            Out::Event(Event::Skipped { unit, reason }) => Some((*unit, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_chain_runs_in_order() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[
            ("c", &["b"]),
            ("b", &["a"]),
            ("a", &[]),
        ])))
        .unwrap();
    h.engine.run_unit("g", None);
    let mut order = Vec::new();
    loop {
        let now = started(&h);
        if now.is_empty() {
            break;
        }
        assert_eq!(now.len(), 1, "one at a time in a chain");
        order.push(now[0].0.clone());
        h.ok(now[0].1.call);
    }
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(h.status("g"), Status::Completed);
}

#[test]
fn a_diamond_runs_its_shared_dependency_once_and_the_join_last() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["a"]),
            ("d", &["b", "c"]),
        ])))
        .unwrap();
    h.engine.run_unit("g", None);
    let first = started(&h);
    assert_eq!(ids(&first), ["a"]);
    h.ok(first[0].1.call);
    let mid = started(&h);
    assert_eq!(ids(&mid), ["b", "c"], "both branches at once");
    h.ok(mid[0].1.call);
    assert!(started(&h).is_empty(), "d waits for both");
    h.ok(mid[1].1.call);
    let last = started(&h);
    assert_eq!(ids(&last), ["d"]);
    h.ok(last[0].1.call);
    assert_eq!(h.status("g"), Status::Completed);
    assert_eq!(h.engine.unit("a").unwrap().meta().run_count, 1);
}

#[test]
fn a_worker_starts_as_soon_as_its_own_dependencies_are_done_not_in_waves() {
    let mut h = Harness::new();
    // slow and a start together; b needs only a.
    h.engine
        .register(UnitSpec::Process(graph(&[
            ("slow", &[]),
            ("a", &[]),
            ("b", &["a"]),
            ("end", &["slow", "b"]),
        ])))
        .unwrap();
    h.engine.run_unit("g", None);
    let first = started(&h);
    assert_eq!(ids(&first), ["a", "slow"]);
    let a = first.iter().find(|(id, _)| id == "a").unwrap().1;
    h.ok(a.call);
    assert_eq!(ids(&started(&h)), ["b"], "b does not wait for slow");
}

#[test]
fn fan_out_and_fan_in() {
    let mut h = Harness::new();
    let leaves: Vec<String> = (0..20).map(|i| format!("leaf{i}")).collect();
    let mut edges: Vec<(&str, Vec<&str>)> = vec![("root", vec![])];
    edges.extend(leaves.iter().map(|l| (l.as_str(), vec!["root"])));
    let leaf_refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    edges.push(("join", leaf_refs));
    let edges: Vec<(&str, &[&str])> = edges.iter().map(|(a, b)| (*a, b.as_slice())).collect();
    h.engine.register(UnitSpec::Process(graph(&edges))).unwrap();
    h.engine.run_unit("g", None);
    let root = started(&h);
    h.ok(root[0].1.call);
    let fan = started(&h);
    assert_eq!(fan.len(), 20);
    for (_, i) in &fan {
        h.ok(i.call);
    }
    assert_eq!(ids(&started(&h)), ["join"]);
}

#[test]
fn conditions_decide_whether_a_dependent_runs() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[
            ("measure", &[]),
            ("short", &["?measure"]),
            ("long", &["?measure"]),
            ("after-short", &["short"]),
        ])))
        .unwrap();
    h.engine.run_unit("g", None);
    let m = started(&h)[0].1;
    assert!(m.conditions, "the host is asked to evaluate conditions");
    let short = h.slot("short");
    let long = h.slot("long");
    h.engine
        .report_conditions(m.call, &[(short, false), (long, true)]);
    h.ok(m.call);
    let log = h.take();
    assert_eq!(
        skipped(&log),
        [
            (short, SkipReason::Condition),
            (h.slot("after-short"), SkipReason::DependencySkipped)
        ]
    );
    let next: Vec<Invocation> = log
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].unit, long);
    assert!(!next[0].conditions);
    h.ok(next[0].call);
    assert_eq!(h.status("g"), Status::Completed);
}

#[test]
fn an_unreported_condition_counts_as_false() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[("a", &[]), ("b", &["?a"])])))
        .unwrap();
    h.engine.run_unit("g", None);
    let a = started(&h)[0].1;
    h.ok(a.call);
    assert_eq!(skipped(&h.take()), [(h.slot("b"), SkipReason::Condition)]);
}

// A → C, B → A, C → B: a cycle through all three, found before anything runs.
#[test]
fn a_cycle_is_rejected_before_anything_runs_naming_a_worker_on_it() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[
            ("A", &["C"]),
            ("B", &["A"]),
            ("C", &["B"]),
            ("free", &[]),
        ])))
        .unwrap();
    h.take();
    h.engine.run_unit("g", None);
    let log = h.take();
    assert!(!log.iter().any(|o| matches!(o, Out::Invoke(_))), "{log:?}");
    let Some(Out::Event(Event::Done {
        error: Some((_, err)),
        ..
    })) = log.last()
    else {
        panic!("{log:?}")
    };
    assert_eq!(err.code(), ErrorCode::DependencyCycle);
    assert_eq!(err.unit_id(), "A");
    let msg = err.to_string();
    assert!(
        msg.starts_with("Circular dependency detected involving worker A"),
        "{msg}"
    );
    assert!(msg.contains("A → C → B → A"), "{msg}");
    assert_eq!(h.status("g"), Status::Idle, "nothing ran");
}

#[test]
fn a_self_dependency_is_a_cycle() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[("solo", &["solo"])])))
        .unwrap();
    h.take();
    h.engine.run_unit("g", None);
    let log = h.take();
    assert!(matches!(
        log.last(),
        Some(Out::Event(Event::Done { error: Some((_, EngineError::DependencyCycle { worker, .. })), .. })) if worker == "solo"
    ));
}

#[test]
fn a_failure_stops_its_dependents_and_lets_independent_branches_finish() {
    let mut h = Harness::new();
    h.engine
        .register(UnitSpec::Process(graph(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("free", &[]),
        ])))
        .unwrap();
    h.engine.run_unit("g", None);
    let first = started(&h);
    let a = first.iter().find(|(id, _)| id == "a").unwrap().1;
    let free = first.iter().find(|(id, _)| id == "free").unwrap().1;
    h.fail(a.call, "broken");
    let log = h.take();
    assert_eq!(
        skipped(&log),
        [
            (h.slot("b"), SkipReason::DependencyFailed),
            (h.slot("c"), SkipReason::DependencySkipped)
        ]
    );
    assert_eq!(h.status("g"), Status::Running, "free is still running");
    h.ok(free.call);
    let log = h.take();
    let Some(Out::Event(Event::Done {
        error: Some((culprit, err)),
        ..
    })) = log.last()
    else {
        panic!("{log:?}")
    };
    assert_eq!(*culprit, h.slot("a"));
    assert_eq!(err.code(), ErrorCode::WorkerFailed);
    assert_eq!(h.status("g"), Status::Error);
    assert_eq!(h.status("free"), Status::Completed);
}

#[test]
fn an_unknown_dependency_is_rejected_at_registration() {
    let mut h = Harness::new();
    let err = h
        .engine
        .register(UnitSpec::Process(graph(&[("a", &["ghost"])])))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownDependency);
    assert!(err.to_string().contains("\"ghost\""));
    assert!(h.engine.registry().is_empty());
}

#[test]
fn registration_errors_say_where_the_problem_is() {
    let mut h = Harness::new();
    let spec = UnitSpec::Process(graph(&[("a", &[]), ("b", &["a", "ghost"])]));
    assert_eq!(
        h.engine.check_registration(&spec),
        Err(EngineError::UnknownDependency {
            process: "g".into(),
            worker: "b".into(),
            dependency: "ghost".into(),
            worker_index: Some(1),
            dependency_index: 1,
        })
    );
    let spec = UnitSpec::Process(graph(&[("a", &[]), ("b", &[]), ("a", &[])]));
    assert_eq!(
        h.engine.check_registration(&spec),
        Err(EngineError::DuplicateWorker {
            process: "g".into(),
            worker: "a".into(),
            index: 2,
        })
    );
    let spec = UnitSpec::Process(graph(&[("g", &[])]));
    let err = h.engine.check_registration(&spec).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidUnit);
    // A worker on its own depends on registered units.
    let mut solo = worker("solo");
    solo.config
        .set_depends_on(vec![Dependency::on("a"), Dependency::on("elsewhere")]);
    let spec = UnitSpec::Worker(solo);
    let Err(EngineError::UnknownDependency {
        worker_index,
        dependency_index,
        ..
    }) = h.engine.check_registration(&spec)
    else {
        panic!("a dependency on no registered unit is refused")
    };
    assert_eq!((worker_index, dependency_index), (None, 0));
    h.engine.register(UnitSpec::Worker(worker("a"))).unwrap();
    h.engine
        .register(UnitSpec::Worker(worker("elsewhere")))
        .unwrap();
    h.engine.check_registration(&spec).unwrap();
    // Checking stores nothing.
    assert_eq!(h.engine.registry().len(), 2);
}

#[test]
fn dependents_of_a_disabled_worker_are_skipped() {
    let mut h = Harness::new();
    let mut p = graph(&[("a", &[]), ("b", &["a"]), ("c", &[])]);
    p.workers[0].common.enabled = false;
    h.engine.register(UnitSpec::Process(p)).unwrap();
    h.engine.run_unit("g", None);
    let log = h.take();
    assert_eq!(
        skipped(&log),
        [(h.slot("b"), SkipReason::DependencySkipped)]
    );
    let runs: Vec<&Invocation> = log
        .iter()
        .filter_map(|o| match o {
            Out::Invoke(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 1);
    h.ok(runs[0].call);
    assert_eq!(h.status("g"), Status::Completed);
}

#[test]
fn ten_thousand_workers_run_in_linear_time() {
    // A layered graph: 100 layers of 100 workers, each depending on two
    // workers of the layer before.
    let (layers, width) = (100, 100);
    let names: Vec<Vec<String>> = (0..layers)
        .map(|l| (0..width).map(|w| format!("n{l}_{w}")).collect())
        .collect();
    let workers: Vec<WorkerSpec> = (0..layers)
        .flat_map(|l| (0..width).map(move |w| (l, w)))
        .map(|(l, w)| {
            let mut spec = worker(&names[l][w]);
            spec.config.timeout_ms = 0.0;
            if l > 0 {
                spec.config.set_depends_on(vec![
                    Dependency::on(names[l - 1][w].clone()),
                    Dependency::on(names[l - 1][(w + 1) % width].clone()),
                ]);
            }
            spec
        })
        .collect();
    let mut h = Harness::new();
    let t = std::time::Instant::now();
    h.engine
        .register(UnitSpec::Process(ProcessSpec::new("g", workers)))
        .unwrap();
    h.engine.run_unit("g", None);
    let mut ran = 0;
    loop {
        let calls = h.invocations();
        if calls.is_empty() {
            break;
        }
        ran += calls.len();
        h.engine
            .complete(calls.iter().map(|c| (c.call, Outcome::Ok)));
    }
    assert_eq!(ran, layers * width);
    assert_eq!(h.status("g"), Status::Completed);
    // A sanity bound only (debug build, loaded machine): quadratic work
    // would take minutes here.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
}
