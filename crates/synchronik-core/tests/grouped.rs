//! A sink that takes the start and the end of a run as one call each
//! (`EventSink::emit_start`, `emit_end`): the engine makes exactly those
//! calls, with what the events they stand for would say, and a store still
//! sees the events one by one.

use std::sync::Arc;

use parking_lot::Mutex;
use synchronik_core::*;

/// What the engine sent out: a start, an end, an invocation, or any other
/// event (its display).
#[derive(Default)]
struct Grouping {
    log: Mutex<Vec<String>>,
    calls: Mutex<Vec<CallId>>,
}

impl Invoker for Grouping {
    fn invoke(&self, i: Invocation) {
        self.calls.lock().push(i.call);
        self.log.lock().push(format!("invoke #{}", i.unit));
    }
    fn abort(&self, call: CallId, _: AbortReason) {
        self.log.lock().push(format!("abort {call}"));
    }
}

impl EventSink for Grouping {
    fn emit(&self, e: Event) {
        self.log.lock().push(e.to_string());
    }
    fn emit_start(&self, start: RunStart) {
        self.log.lock().push(format!(
            "start #{} at {} from {} ({})",
            start.unit,
            start.wall_ms,
            start.previous.as_str(),
            start.reason.as_str()
        ));
    }
    fn emit_end(&self, end: RunEnd) {
        self.log.lock().push(format!(
            "end #{} after {} ms, run {}, average {}, from {}, call {}",
            end.unit,
            end.duration_ms,
            end.run_count,
            end.average_ms,
            end.previous.map_or("(unchanged)", |s| s.as_str()),
            end.call.map_or(-1, |c| c as i64)
        ));
    }
}

fn engine() -> (Engine, Arc<ManualClock>, Arc<Grouping>) {
    let clock = Arc::new(ManualClock::new());
    let sink = Arc::new(Grouping::default());
    let engine = Engine::new(clock.clone(), sink.clone(), sink.clone());
    (engine, clock, sink)
}

fn take(sink: &Grouping) -> Vec<String> {
    std::mem::take(&mut *sink.log.lock())
}

#[test]
fn a_run_starts_and_ends_in_one_call_each() {
    let (mut e, clock, sink) = engine();
    e.register(UnitSpec::Worker(WorkerSpec::new("w"))).unwrap();
    take(&sink);
    e.run_unit("w", None);
    let started = take(&sink);
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(
        started[0].starts_with("start #0 at ")
            && started[0].ends_with(" from idle (status-change)"),
        "{started:?}"
    );
    assert_eq!(started[1], "invoke #0");
    let call = sink.calls.lock()[0];
    clock.set(ms_to_nanos(7.0));
    e.complete([(call, Outcome::Ok)]);
    let ended = take(&sink);
    assert_eq!(
        ended[0],
        format!("end #0 after 7 ms, run 1, average 7, from running, call {call}")
    );
    // Nothing of the run comes as events of its own (the ticket's done does).
    assert!(ended[1..].iter().all(|l| !l.starts_with("#0")), "{ended:?}");
    let u = e.unit("w").unwrap();
    assert_eq!(
        (u.status, u.meta().run_count, u.active_runs),
        (Status::Completed, 1, 0)
    );
}

#[test]
fn a_paused_unit_ends_its_run_without_a_status_change() {
    let (mut e, clock, sink) = engine();
    e.register(UnitSpec::Worker(WorkerSpec::new("w"))).unwrap();
    e.run_unit("w", None);
    let call = sink.calls.lock()[0];
    assert!(e.update_status("w", Status::Paused));
    take(&sink);
    clock.set(ms_to_nanos(3.0));
    e.complete([(call, Outcome::Ok)]);
    assert_eq!(
        take(&sink)[0],
        format!("end #0 after 3 ms, run 1, average 3, from (unchanged), call {call}")
    );
    assert_eq!(e.unit("w").unwrap().status, Status::Paused);
}

#[test]
fn a_run_start_stands_for_its_events_in_order() {
    let start = RunStart {
        unit: 2,
        wall_ms: 1_000.0,
        previous: Status::Completed,
        reason: UpdateReason::StatusChange,
    };
    assert_eq!(
        start.events(),
        [
            Event::LastRun {
                unit: 2,
                wall_ms: 1_000.0
            },
            Event::Status {
                unit: 2,
                previous: Status::Completed,
                current: Status::Running,
                reason: UpdateReason::StatusChange
            },
            Event::Started { unit: 2 },
        ]
    );
}

#[test]
fn a_run_end_stands_for_its_events_in_order() {
    let end = RunEnd {
        unit: 4,
        duration_ms: 2.5,
        run_count: 9,
        average_ms: 3.0,
        previous: Some(Status::Running),
        call: Some(12),
    };
    let events: Vec<Event> = end.events().collect();
    assert_eq!(
        events,
        [
            Event::Stats {
                unit: 4,
                duration_ms: 2.5,
                run_count: 9,
                average_ms: 3.0
            },
            Event::Status {
                unit: 4,
                previous: Status::Running,
                current: Status::Completed,
                reason: UpdateReason::StatusChange
            },
            Event::Completed {
                unit: 4,
                call: Some(12),
                duration_ms: 2.5
            },
        ]
    );
    let paused = RunEnd {
        previous: None,
        call: None,
        ..end
    };
    assert_eq!(
        paused.events().collect::<Vec<_>>(),
        [
            Event::Stats {
                unit: 4,
                duration_ms: 2.5,
                run_count: 9,
                average_ms: 3.0
            },
            Event::Completed {
                unit: 4,
                call: None,
                duration_ms: 2.5
            },
        ]
    );
}

/// A host that takes a worker's start and its invocation as one call.
#[derive(Default)]
struct Combining {
    inner: Grouping,
}

impl Invoker for Combining {
    fn invoke(&self, i: Invocation) {
        self.inner.invoke(i);
    }
    fn invoke_started(&self, sink: &dyn EventSink, start: RunStart, i: Invocation) {
        assert!(
            std::ptr::addr_eq(sink, self),
            "the start goes to the engine's sink"
        );
        self.inner.calls.lock().push(i.call);
        self.inner.log.lock().push(format!(
            "start #{} from {} and invoke #{} attempt {}",
            start.unit,
            start.previous.as_str(),
            i.unit,
            i.attempt
        ));
    }
    fn abort(&self, call: CallId, reason: AbortReason) {
        self.inner.abort(call, reason);
    }
}

impl EventSink for Combining {
    fn emit(&self, e: Event) {
        self.inner.emit(e);
    }
    fn emit_start(&self, start: RunStart) {
        self.inner.emit_start(start);
    }
    fn emit_end(&self, end: RunEnd) {
        self.inner.emit_end(end);
    }
}

#[test]
fn a_worker_run_start_and_its_first_invocation_go_in_one_call() {
    let clock = Arc::new(ManualClock::new());
    let host = Arc::new(Combining::default());
    let mut e = Engine::new(clock.clone(), host.clone(), host.clone());
    let mut w = WorkerSpec::new("w");
    w.config.max_retries = 1;
    e.register(UnitSpec::Worker(w)).unwrap();
    e.register(UnitSpec::Process(ProcessSpec::new(
        "p",
        vec![WorkerSpec::new("a")],
    )))
    .unwrap();
    take(&host.inner);
    e.run_unit("w", None);
    assert_eq!(
        take(&host.inner),
        ["start #0 from idle and invoke #0 attempt 1"]
    );
    // A retry is an invocation alone: the run started before.
    let call = host.inner.calls.lock()[0];
    e.complete([(
        call,
        Outcome::Err {
            message: "no".into(),
        },
    )]);
    let retried = take(&host.inner);
    assert_eq!(
        retried.last().map(String::as_str),
        Some("invoke #0"),
        "{retried:?}"
    );
    assert!(
        retried.iter().all(|l| !l.starts_with("start")),
        "{retried:?}"
    );
    // A process's start is announced on its own; its worker's goes with
    // the worker's invocation.
    e.run_unit("p", None);
    let process = take(&host.inner);
    let p = process
        .iter()
        .position(|l| l.starts_with("start #1 at "))
        .expect("the process's start");
    let a = process
        .iter()
        .position(|l| l == "start #2 from idle and invoke #2 attempt 1")
        .expect("its worker's start and invocation");
    assert!(p < a, "{process:?}");
}
