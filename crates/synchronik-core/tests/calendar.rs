//! Calendar schedules on the engine (SPEC §14): cron fires across daylight
//! saving, jumps of the clock, catch-up after a stop or a restart, startAt
//! and stopAt, one-off times, jitter, pause and resume, a schedule changed or
//! removed, overlap, and the last fire kept in the store.
//!
//! The engine runs on a manual clock whose wall time starts at a given
//! instant. Expected fires are written as UTC instants, with the wall clock
//! time they stand for in a comment where it matters.

mod common;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use common::*;
use synchronik_core::*;

const MINUTE: f64 = 60_000.0;
const HOUR: f64 = 3_600_000.0;

/// Unix ms of an RFC 3339 instant.
fn ms(s: &str) -> f64 {
    jiff::Timestamp::from_str(s).unwrap().as_millisecond() as f64
}

/// RFC 3339 (UTC) of Unix ms, for readable comparisons.
fn iso(ms: f64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .unwrap()
        .to_string()
}

fn isos(times: &[f64]) -> Vec<String> {
    times.iter().map(|t| iso(*t)).collect()
}

/// The wall clock time (`HH:MM`) of Unix ms in zone `tz`.
fn local(ms: f64, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap();
    let z = jiff::Timestamp::from_millisecond(ms as i64)
        .unwrap()
        .to_zoned(zone);
    format!("{:02}:{:02}", z.hour(), z.minute())
}

fn cron(expr: &str, tz: &str) -> CalendarSpec {
    let c = CronSchedule::parse(expr, Some(tz)).unwrap_or_else(|e| panic!("{expr} in {tz}: {e}"));
    CalendarSpec::new(When::Cron(c))
}

fn at_times(times: &[&str]) -> CalendarSpec {
    CalendarSpec::new(When::At(
        AtSchedule::new(times.iter().map(|t| ms(t))).unwrap(),
    ))
}

/// A worker on a calendar schedule whose attempts have no timeout.
fn scheduled(id: &str, spec: CalendarSpec) -> WorkerSpec {
    let mut w = worker(id);
    w.config.set_schedule(Some(spec));
    w.config.timeout_ms = 0.0;
    w
}

/// An engine on a manual clock whose wall time starts at a given instant,
/// with what it sent out other than invocations kept for inspection.
struct Cal {
    h: Harness,
    /// The wall time (Unix ms) at the clock's zero.
    origin: f64,
    /// Everything but invocations, in order.
    log: Vec<Out>,
}

impl Cal {
    /// An engine whose wall clock reads `start` (RFC 3339). The sweep and
    /// the watcher tick hourly: they have nothing to do here.
    fn at(start: &str) -> Self {
        let origin = ms(start);
        let clock = Arc::new(ManualClock::starting_at(origin));
        let rec = Arc::new(Recorder::default());
        let mut engine = Engine::new(clock.clone(), rec.clone(), rec.clone());
        engine.set_options(EngineOptions {
            loop_interval_ms: HOUR,
            watcher_interval_ms: HOUR,
            ..EngineOptions::default()
        });
        Self {
            h: Harness { engine, clock, rec },
            origin,
            log: Vec::new(),
        }
    }

    /// [`Cal::at`] with a durable store in `db`.
    fn with_store(start: &str, db: &PathBuf) -> Self {
        let mut c = Self::at(start);
        c.h.engine
            .set_store(Store::open(db, StoreOptions::default()).unwrap());
        c
    }

    /// The wall clock now (Unix ms).
    fn now(&self) -> f64 {
        self.h.clock.wall_ms()
    }

    fn register(&mut self, w: WorkerSpec) {
        self.h.engine.register(UnitSpec::Worker(w)).unwrap();
    }

    /// The runs started since the last look, with the wall time they
    /// started at. With `settle` each is completed as soon as it starts,
    /// and so are the runs that starts (a queued fire, a missed fire to
    /// catch up).
    fn started(&mut self, settle: bool) -> Vec<(f64, Invocation)> {
        let mut runs = Vec::new();
        loop {
            let mut fresh = Vec::new();
            for o in self.h.take() {
                match o {
                    Out::Invoke(i) => fresh.push(i),
                    other => self.log.push(other),
                }
            }
            if fresh.is_empty() {
                return runs;
            }
            let now = self.now();
            for i in fresh {
                if settle {
                    self.h.ok(i.call);
                }
                runs.push((now, i));
            }
            if !settle {
                return runs;
            }
        }
    }

    /// Moves the wall clock to `until` (Unix ms) deadline by deadline,
    /// firing every timer at its time, and returns the runs started on the
    /// way (see [`Cal::started`]).
    fn walk(&mut self, until: f64, settle: bool) -> Vec<(f64, Invocation)> {
        let target = ms_to_nanos(until - self.origin);
        let mut runs = self.started(settle);
        while let Some(t) = self.h.engine.next_deadline().filter(|t| *t <= target) {
            self.h.clock.set(t);
            self.h.engine.fire_due(t);
            runs.extend(self.started(settle));
        }
        self.h.clock.set(target);
        runs
    }

    /// [`Cal::walk`] to `until` (RFC 3339), completing every run as it
    /// starts; returns when each run started, as UTC strings.
    fn run_until(&mut self, until: &str) -> Vec<String> {
        let runs = self.walk(ms(until), true);
        runs.into_iter().map(|(t, _)| iso(t)).collect()
    }

    /// The clock jumps to `to` (RFC 3339) in one step (a suspended machine):
    /// the timers due fire then, once. Returns how many runs started
    /// (completed at once).
    fn jump(&mut self, to: &str) -> usize {
        let t = ms_to_nanos(ms(to) - self.origin);
        self.h.clock.set(t);
        self.h.engine.fire_due(t);
        self.started(true).len()
    }

    /// `start()`, and the runs it started at once (completed at once).
    fn start(&mut self) -> usize {
        self.h.engine.start();
        self.started(true).len()
    }

    /// `nextRuns(id, n)`, as UTC strings.
    fn next(&self, id: &str, n: usize) -> Vec<String> {
        isos(&self.h.engine.next_runs(id, n).expect("a known unit"))
    }

    /// Short names of the events seen so far (drains them).
    fn events(&mut self) -> Vec<String> {
        names(&std::mem::take(&mut self.log))
    }
}

// ---------------------------------------------------------------------------
// Daylight saving
// ---------------------------------------------------------------------------

/// A fixed time of day in Berlin runs once a day across both changes: in
/// the spring gap (02:00→03:00 CEST on 29 March) at 03:00, in the autumn
/// overlap (02:30 twice on 25 October) at the first 02:30 only.
#[test]
fn a_fixed_time_in_berlin_runs_once_a_day_across_both_daylight_saving_changes() {
    let mut c = Cal::at("2026-03-27T00:00:00Z");
    c.register(scheduled("w", cron("0 30 2 * * *", "Europe/Berlin")));
    assert_eq!(c.start(), 0);
    let spring = c.run_until("2026-03-31T23:59:59Z");
    assert_eq!(
        spring,
        [
            "2026-03-27T01:30:00Z", // 02:30 CET
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:00:00Z", // 02:30 does not exist: 03:00 CEST
            "2026-03-30T00:30:00Z", // 02:30 CEST
            "2026-03-31T00:30:00Z", // 02:30 CEST
        ]
    );
    assert_eq!(spring.len(), 5, "one run a day");

    let mut c = Cal::at("2026-10-23T00:00:00Z");
    c.register(scheduled("w", cron("0 30 2 * * *", "Europe/Berlin")));
    assert_eq!(c.start(), 0);
    let autumn = c.run_until("2026-10-27T23:59:59Z");
    assert_eq!(
        autumn,
        [
            "2026-10-23T00:30:00Z", // 02:30 CEST
            "2026-10-24T00:30:00Z", // 02:30 CEST
            "2026-10-25T00:30:00Z", // the first 02:30 (CEST); not 01:30Z (CET)
            "2026-10-26T01:30:00Z", // 02:30 CET
            "2026-10-27T01:30:00Z", // 02:30 CET
        ]
    );
    assert_eq!(autumn.len(), 5, "one run a day");
}

/// `*/30` in New York follows real time: on 8 March (23 hours) 02:00 and
/// 02:30 do not exist and do not run; on 1 November (25 hours) 01:00 and
/// 01:30 run in both passes.
#[test]
fn a_stepped_schedule_in_new_york_skips_the_gap_and_runs_both_passes_of_the_overlap() {
    let tz = "America/New_York";

    // 00:00 EST on 8 March is 05:00Z; 00:00 EDT on the 9th is 04:00Z.
    let mut c = Cal::at("2026-03-08T04:59:59Z");
    c.register(scheduled("w", cron("*/30 * * * *", tz)));
    c.start();
    let runs = c.walk(ms("2026-03-09T03:59:59Z"), true);
    let times: Vec<f64> = runs.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 46, "23 hours, two runs an hour");
    assert!(times.windows(2).all(|w| w[1] - w[0] == 30.0 * MINUTE));
    let around: Vec<String> = isos(&times[2..6]);
    assert_eq!(
        around,
        [
            "2026-03-08T06:00:00Z", // 01:00 EST
            "2026-03-08T06:30:00Z", // 01:30 EST
            "2026-03-08T07:00:00Z", // 03:00 EDT: 02:00 and 02:30 skipped
            "2026-03-08T07:30:00Z", // 03:30 EDT
        ]
    );
    assert!(times.iter().all(|t| !local(*t, tz).starts_with("02:")));

    // 00:00 EDT on 1 November is 04:00Z; 00:00 EST on the 2nd is 05:00Z.
    let mut c = Cal::at("2026-11-01T03:59:59Z");
    c.register(scheduled("w", cron("*/30 * * * *", tz)));
    c.start();
    let runs = c.walk(ms("2026-11-02T04:59:59Z"), true);
    let times: Vec<f64> = runs.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 50, "25 hours, two runs an hour");
    assert!(times.windows(2).all(|w| w[1] - w[0] == 30.0 * MINUTE));
    assert_eq!(
        isos(&times[2..7]),
        [
            "2026-11-01T05:00:00Z", // 01:00 EDT
            "2026-11-01T05:30:00Z", // 01:30 EDT
            "2026-11-01T06:00:00Z", // 01:00 EST
            "2026-11-01T06:30:00Z", // 01:30 EST
            "2026-11-01T07:00:00Z", // 02:00 EST
        ]
    );
    let count = |hm: &str| times.iter().filter(|t| local(**t, tz) == hm).count();
    assert_eq!((count("01:00"), count("01:30")), (2, 2));
    assert_eq!((count("00:30"), count("02:00")), (1, 1));
}

// ---------------------------------------------------------------------------
// A jump of the clock
// ---------------------------------------------------------------------------

/// An hourly schedule; the clock jumps three days ahead in one step (72
/// fires passed): one run, and the next fire is the first one after the
/// new now.
#[test]
fn a_jump_of_the_clock_gives_one_run_and_the_next_fire_is_the_first_still_to_come() {
    let mut c = Cal::at("2026-01-01T00:10:00Z");
    c.register(scheduled("w", cron("0 * * * *", "UTC")));
    c.start();
    assert_eq!(c.next("w", 1), ["2026-01-01T01:00:00Z"]);
    assert_eq!(c.jump("2026-01-04T00:10:00Z"), 1);
    assert_eq!(
        c.next("w", 3),
        [
            "2026-01-04T01:00:00Z",
            "2026-01-04T02:00:00Z",
            "2026-01-04T03:00:00Z"
        ]
    );
    assert_eq!(
        c.run_until("2026-01-04T02:30:00Z"),
        ["2026-01-04T01:00:00Z", "2026-01-04T02:00:00Z"]
    );
}

// ---------------------------------------------------------------------------
// catchUp after a stop
// ---------------------------------------------------------------------------

/// An hourly schedule runs at 01:00; `stop()`; the clock moves to 05:30
/// (02:00, 03:00, 04:00 and 05:00 missed); then `start()`. Returns the
/// engine just before `start()`.
fn stopped_through_four_fires(catch_up: CatchUp, window_ms: Option<f64>) -> Cal {
    let mut spec = cron("0 * * * *", "UTC");
    spec.catch_up = catch_up;
    spec.catch_up_window_ms = window_ms;
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(scheduled("w", spec));
    c.start();
    assert_eq!(
        c.run_until("2026-01-01T01:30:00Z"),
        ["2026-01-01T01:00:00Z"]
    );
    c.h.engine.stop(None);
    assert!(c.walk(ms("2026-01-01T05:30:00Z"), true).is_empty());
    c
}

#[test]
fn catch_up_none_runs_nothing_for_the_fires_missed_while_stopped() {
    let mut c = stopped_through_four_fires(CatchUp::None, None);
    assert_eq!(c.start(), 0);
    assert_eq!(c.next("w", 1), ["2026-01-01T06:00:00Z"]);
    assert_eq!(
        c.run_until("2026-01-01T06:30:00Z"),
        ["2026-01-01T06:00:00Z"]
    );
}

#[test]
fn catch_up_one_runs_once_for_the_fires_missed_while_stopped() {
    let mut c = stopped_through_four_fires(CatchUp::One, None);
    assert_eq!(c.start(), 1);
    assert_eq!(
        c.run_until("2026-01-01T06:30:00Z"),
        ["2026-01-01T06:00:00Z"]
    );
}

/// 'all': four runs at start, each starting only once the one before it
/// ended; then the schedule goes on at 06:00.
#[test]
fn catch_up_all_runs_each_missed_fire_one_after_another() {
    let mut c = stopped_through_four_fires(CatchUp::All, None);
    c.h.engine.start();
    let mut runs = 0;
    loop {
        let started = c.started(false);
        if started.is_empty() {
            break;
        }
        assert_eq!(started.len(), 1, "one at a time");
        assert_eq!(c.h.engine.active_runs(), 1);
        runs += 1;
        // Nothing more starts while it runs.
        assert!(c
            .walk(ms("2026-01-01T05:30:00Z") + runs as f64, false)
            .is_empty());
        c.h.ok(started[0].1.call);
    }
    assert_eq!(runs, 4);
    assert_eq!(
        c.run_until("2026-01-01T06:30:00Z"),
        ["2026-01-01T06:00:00Z"]
    );
}

/// catchUpWindowMs of 2 h 45 min at 05:30 reaches back to 02:45: 03:00,
/// 04:00 and 05:00 are caught up, 02:00 is not.
/// A start after a stop catches up the fires missed while stopped, once:
/// stopped again at 05:40 and started at 05:50 (no fire in between),
/// nothing is caught up a second time.
#[test]
fn fires_caught_up_after_a_stop_are_not_caught_up_again_by_the_next_start() {
    for (catch_up, first) in [(CatchUp::One, 1), (CatchUp::All, 4)] {
        let mut c = stopped_through_four_fires(catch_up, None);
        assert_eq!(c.start(), first, "{catch_up:?}");
        c.h.engine.stop(None);
        assert!(c.walk(ms("2026-01-01T05:50:00Z"), true).is_empty());
        assert_eq!(
            c.start(),
            0,
            "{catch_up:?}: no fire was missed since the catch-up"
        );
    }
}

/// 'all' at 05:30 has 02:00–05:00 to catch up; a stop while the third
/// catch-up run is in flight (02:00 and 03:00 ran, 04:00 runs) and a start
/// at 05:40 leave 05:00: one run, not four (each missed fire runs once).
#[test]
fn a_stop_during_catch_up_all_leaves_only_the_fires_not_yet_run() {
    let mut c = stopped_through_four_fires(CatchUp::All, None);
    c.h.engine.start();
    for _ in 0..2 {
        let run = c.started(false);
        assert_eq!(run.len(), 1);
        c.h.ok(run[0].1.call);
    }
    let third = c.started(false);
    assert_eq!(third.len(), 1, "the third catch-up run started");
    c.h.engine.stop(None);
    c.h.ok(third[0].1.call);
    assert!(c.started(false).is_empty(), "no catch-up run after a stop");
    assert!(c.walk(ms("2026-01-01T05:40:00Z"), true).is_empty());
    // 02:00, 03:00 and 04:00 ran; 05:00 is left.
    assert_eq!(c.start(), 1);
}

#[test]
fn catch_up_window_limits_the_missed_fires_that_run() {
    let mut c = stopped_through_four_fires(CatchUp::All, Some(2.75 * HOUR));
    assert_eq!(c.start(), 3);
    // 20 min back from 05:30 holds no fire: nothing to catch up.
    let mut c = stopped_through_four_fires(CatchUp::One, Some(20.0 * MINUTE));
    assert_eq!(c.start(), 0);
    let mut c = stopped_through_four_fires(CatchUp::One, Some(45.0 * MINUTE));
    assert_eq!(c.start(), 1);
}

// ---------------------------------------------------------------------------
// startAt, stopAt, one-off times
// ---------------------------------------------------------------------------

/// Hourly from startAt 03:00 (a fire: it counts) to stopAt 05:30: 03:00,
/// 04:00 and 05:00, then nothing; the schedule has no next run.
#[test]
fn start_at_and_stop_at_bound_the_fires() {
    let mut spec = cron("0 * * * *", "UTC");
    spec.start_at_ms = Some(ms("2026-01-01T03:00:00Z"));
    spec.stop_at_ms = Some(ms("2026-01-01T05:30:00Z"));
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(scheduled("w", spec));
    c.start();
    assert_eq!(
        c.next("w", 10),
        [
            "2026-01-01T03:00:00Z",
            "2026-01-01T04:00:00Z",
            "2026-01-01T05:00:00Z"
        ]
    );
    assert_eq!(
        c.run_until("2026-01-02T12:00:00Z"),
        [
            "2026-01-01T03:00:00Z",
            "2026-01-01T04:00:00Z",
            "2026-01-01T05:00:00Z"
        ]
    );
    assert!(c.next("w", 5).is_empty());
    // The entry has ended: a stop and a start do not bring it back.
    c.h.engine.stop(None);
    assert_eq!(c.start(), 0);
    assert!(c.run_until("2026-01-03T00:00:00Z").is_empty());
}

/// A fire exactly at stopAt is not after it: it runs.
#[test]
fn a_fire_exactly_at_stop_at_runs() {
    let mut spec = cron("0 * * * *", "UTC");
    spec.stop_at_ms = Some(ms("2026-01-01T02:00:00Z"));
    let mut c = Cal::at("2026-01-01T00:30:00Z");
    c.register(scheduled("w", spec));
    c.start();
    assert_eq!(
        c.run_until("2026-01-01T06:00:00Z"),
        ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]
    );
}

/// One-off times at 12:00: 11:00 and 11:59:59 are past and never run (even
/// with catchUp 'all': nothing was missed since a last fire), each future
/// time runs once (13:00, given twice, once), then nothing.
#[test]
fn one_off_times_run_once_each_and_past_ones_never() {
    let mut spec = at_times(&[
        "2026-05-01T11:00:00Z",
        "2026-05-01T14:15:00Z",
        "2026-05-01T11:59:59Z",
        "2026-05-01T12:30:00Z",
        "2026-05-01T13:00:00Z",
        "2026-05-01T13:00:00Z",
    ]);
    spec.catch_up = CatchUp::All;
    let mut c = Cal::at("2026-05-01T12:00:00Z");
    c.register(scheduled("w", spec));
    assert_eq!(c.start(), 0);
    let future = [
        "2026-05-01T12:30:00Z",
        "2026-05-01T13:00:00Z",
        "2026-05-01T14:15:00Z",
    ];
    assert_eq!(c.next("w", 10), future);
    assert_eq!(c.run_until("2026-05-02T00:00:00Z"), future);
    assert!(c.next("w", 10).is_empty());
    c.h.engine.stop(None);
    assert_eq!(c.start(), 0);
    assert!(c.run_until("2026-05-03T00:00:00Z").is_empty());
}

// ---------------------------------------------------------------------------
// Jitter
// ---------------------------------------------------------------------------

/// A schedule every minute for 500 minutes, each run completed at once:
/// returns how long after its fire each run started (the i-th run belongs
/// to the i-th fire, 00:01, 00:02, …), checking there is one run a fire.
fn jittered_offsets(jitter_ms: f64) -> Vec<f64> {
    let mut spec = cron("* * * * *", "UTC");
    spec.jitter_ms = jitter_ms;
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(scheduled("w", spec));
    c.start();
    // The fire at 08:21 could only have run by 08:21:00 with no jitter
    // drawn at all; it is left out.
    let last = ms("2026-01-01T08:20:00Z");
    let runs: Vec<f64> = c
        .walk(last + MINUTE, true)
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| *t < last + MINUTE)
        .collect();
    assert_eq!(runs.len(), 500, "one run a fire");
    let first = ms("2026-01-01T00:01:00Z");
    runs.iter()
        .enumerate()
        .map(|(i, t)| t - (first + i as f64 * MINUTE))
        .collect()
}

#[test]
fn jitter_starts_each_run_at_or_after_its_fire_within_jitter_ms() {
    let offsets = jittered_offsets(20_000.0);
    for (i, d) in offsets.iter().enumerate() {
        assert!(
            (0.0..20_000.0).contains(d),
            "run {i} started {d} ms after its fire"
        );
    }
    // The draws spread over the range (500 uniform draws).
    assert!(offsets.iter().any(|d| *d < 5_000.0));
    assert!(offsets.iter().any(|d| *d > 15_000.0));
}

/// jitterMs of 10 minutes on a schedule every minute: each run still starts
/// before the next fire.
#[test]
fn jitter_larger_than_the_spacing_never_passes_the_next_fire() {
    let offsets = jittered_offsets(10.0 * MINUTE);
    for (i, d) in offsets.iter().enumerate() {
        assert!(
            (0.0..MINUTE).contains(d),
            "run {i} started {d} ms after its fire"
        );
    }
    assert!(offsets.iter().any(|d| *d > 30_000.0));
}

// ---------------------------------------------------------------------------
// Pause and resume
// ---------------------------------------------------------------------------

/// Hourly; paused after the 01:00 run; 02:00–04:00 pass while paused (no
/// runs); resumed at 04:30 with catchUp 'all': nothing is caught up, the
/// next fire is 05:00.
#[test]
fn a_paused_schedule_does_not_run_and_resumes_at_its_next_fire_without_catching_up() {
    let mut spec = cron("0 * * * *", "UTC");
    spec.catch_up = CatchUp::All;
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(scheduled("w", spec));
    c.start();
    assert_eq!(c.run_until("2026-01-01T01:30:00Z").len(), 1);
    assert!(c.h.engine.set_schedule_paused("w", true));
    assert!(c.h.engine.schedule_paused("w"));
    assert!(c.run_until("2026-01-01T04:30:00Z").is_empty());
    assert!(c.h.engine.set_schedule_paused("w", false));
    assert!(!c.h.engine.schedule_paused("w"));
    assert!(c.started(true).is_empty(), "paused time is not caught up");
    assert_eq!(c.next("w", 1), ["2026-01-01T05:00:00Z"]);
    assert_eq!(
        c.run_until("2026-01-01T06:30:00Z"),
        ["2026-01-01T05:00:00Z", "2026-01-01T06:00:00Z"]
    );
    // Nor by a stop and a start: the paused time was not missed.
    c.h.engine.set_schedule_paused("w", true);
    assert!(c.run_until("2026-01-01T08:30:00Z").is_empty());
    c.h.engine.set_schedule_paused("w", false);
    c.h.engine.stop(None);
    assert_eq!(c.start(), 0);
}

#[test]
fn pausing_a_schedule_is_refused_for_a_unit_without_one_or_an_unknown_id() {
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    let mut w = worker("interval");
    w.config.set_interval_ms(Some(1000.0));
    w.config.run_on_interval = true;
    c.register(w);
    c.register(worker("plain"));
    c.h.engine
        .register(UnitSpec::Process(process("p", RunMode::Sequential, &["a"])))
        .unwrap();
    for id in ["interval", "plain", "p", "a", "nope"] {
        assert!(!c.h.engine.set_schedule_paused(id, true), "{id}");
        assert!(!c.h.engine.set_schedule_paused(id, false), "{id}");
        assert!(!c.h.engine.schedule_paused(id), "{id}");
    }
}

// ---------------------------------------------------------------------------
// A schedule changed or removed
// ---------------------------------------------------------------------------

/// Hourly, run at 01:00; at 01:20 the schedule becomes every 15 minutes
/// (catchUp 'all'): 01:15 is not run, the new one runs from 01:30. Then
/// the schedule is removed: no more runs, no next run.
#[test]
fn a_new_schedule_applies_from_its_next_fire_and_a_removed_one_stops() {
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(scheduled("w", cron("0 * * * *", "UTC")));
    c.start();
    assert_eq!(
        c.run_until("2026-01-01T01:20:00Z"),
        ["2026-01-01T01:00:00Z"]
    );
    let mut every15 = cron("*/15 * * * *", "UTC");
    every15.catch_up = CatchUp::All;
    assert!(c.h.engine.update_config(
        "w",
        &ConfigPatch {
            schedule: Some(Some(Box::new(every15))),
            ..ConfigPatch::default()
        },
    ));
    assert!(c.started(true).is_empty());
    assert_eq!(
        c.next("w", 2),
        ["2026-01-01T01:30:00Z", "2026-01-01T01:45:00Z"]
    );
    assert_eq!(
        c.run_until("2026-01-01T02:10:00Z"),
        [
            "2026-01-01T01:30:00Z",
            "2026-01-01T01:45:00Z",
            "2026-01-01T02:00:00Z"
        ]
    );
    assert!(c.h.engine.update_config(
        "w",
        &ConfigPatch {
            schedule: Some(None),
            ..ConfigPatch::default()
        },
    ));
    assert!(c
        .h
        .engine
        .unit("w")
        .unwrap()
        .worker()
        .unwrap()
        .schedule()
        .is_none());
    assert_eq!(c.h.engine.next_runs("w", 5), Some(Vec::new()));
    assert!(c.run_until("2026-01-01T06:00:00Z").is_empty());
    c.h.engine.stop(None);
    assert_eq!(c.start(), 0);
    assert!(c.run_until("2026-01-01T08:00:00Z").is_empty());
}

// ---------------------------------------------------------------------------
// Overlap, enabled, started
// ---------------------------------------------------------------------------

/// Every minute; the run of 00:01 lasts until 00:03:30, through the fires
/// of 00:02 and 00:03. Returns how many runs started by 00:03:30 (after it
/// ended) and the events.
fn overlap_calendar(policy: Overlap) -> (usize, Vec<String>) {
    let mut w = scheduled("w", cron("* * * * *", "UTC"));
    w.config.overlap = policy;
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(w);
    c.start();
    let first = c.walk(ms("2026-01-01T00:01:00Z"), false);
    assert_eq!(first.len(), 1);
    let during = c.walk(ms("2026-01-01T00:03:30Z"), false);
    c.h.ok(first[0].1.call);
    let after = c.started(true);
    let later = c.walk(ms("2026-01-01T00:03:59Z"), true);
    assert!(later.is_empty(), "nothing more before 00:04");
    for (_, i) in &during {
        c.h.ok(i.call);
    }
    (first.len() + during.len() + after.len(), c.events())
}

#[test]
fn overlap_skip_reports_the_fires_during_a_long_run() {
    let (started, events) = overlap_calendar(Overlap::Skip);
    assert_eq!(started, 1);
    let skips = events.iter().filter(|e| e.ends_with("skipped overlap"));
    assert_eq!(skips.count(), 2, "{events:?}");
}

#[test]
fn overlap_queue_runs_once_right_after_a_long_run() {
    let (started, events) = overlap_calendar(Overlap::Queue);
    assert_eq!(started, 2, "{events:?}");
    assert!(!events.iter().any(|e| e.contains("skipped")));
}

#[test]
fn overlap_allow_runs_alongside_a_long_run() {
    let (started, _) = overlap_calendar(Overlap::Allow);
    assert_eq!(started, 3);
}

#[test]
fn a_disabled_or_paused_worker_does_not_run_at_its_fires() {
    let mut w = scheduled("w", cron("* * * * *", "UTC"));
    w.common.enabled = false;
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(w);
    c.start();
    assert!(c.run_until("2026-01-01T00:05:30Z").is_empty());
    c.h.engine.set_enabled("w", true);
    assert!(c.started(true).is_empty());
    assert_eq!(
        c.run_until("2026-01-01T00:07:30Z"),
        ["2026-01-01T00:06:00Z", "2026-01-01T00:07:00Z"]
    );
    c.h.engine.set_enabled("w", false);
    assert!(c.run_until("2026-01-01T00:10:30Z").is_empty());
    c.h.engine.set_enabled("w", true);
    c.h.engine.update_status("w", Status::Paused);
    assert!(c.run_until("2026-01-01T00:12:30Z").is_empty());
    c.h.engine.update_status("w", Status::Idle);
    assert_eq!(
        c.run_until("2026-01-01T00:13:30Z"),
        ["2026-01-01T00:13:00Z"]
    );
}

/// catchUp is about a stopped manager or a process down, not a disabled
/// worker (enabled applies as for interval workers): hourly with catchUp
/// 'all', disabled from 01:30 to 04:30, re-enabled: nothing runs until
/// 05:00.
#[test]
fn re_enabling_a_worker_does_not_catch_up_the_fires_passed_while_disabled() {
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(hourly(CatchUp::All));
    c.start();
    assert_eq!(c.run_until("2026-01-01T01:30:00Z").len(), 1);
    c.h.engine.set_enabled("w", false);
    assert!(c.run_until("2026-01-01T04:30:00Z").is_empty());
    c.h.engine.set_enabled("w", true);
    assert_eq!(c.started(true).len(), 0, "fires passed while disabled ran");
    assert_eq!(
        c.run_until("2026-01-01T05:30:00Z"),
        ["2026-01-01T05:00:00Z"]
    );
}

#[test]
fn max_runs_ends_the_schedule() {
    let mut w = scheduled("w", cron("* * * * *", "UTC"));
    w.config.set_max_runs(Some(2));
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(w);
    c.start();
    assert_eq!(
        c.run_until("2026-01-01T00:10:00Z"),
        ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]
    );
    assert!(!c.h.engine.unit("w").unwrap().enabled);
}

/// Nothing fires before `start()`, and what passed before it is not caught
/// up (there was no fire to catch up from).
#[test]
fn a_schedule_fires_only_once_the_engine_is_started() {
    let mut spec = cron("* * * * *", "UTC");
    spec.catch_up = CatchUp::All;
    let mut c = Cal::at("2026-01-01T00:00:00Z");
    c.register(scheduled("w", spec));
    assert!(c.run_until("2026-01-01T00:05:30Z").is_empty());
    assert_eq!(c.start(), 0);
    assert_eq!(
        c.run_until("2026-01-01T00:07:00Z"),
        ["2026-01-01T00:06:00Z", "2026-01-01T00:07:00Z"]
    );
}

// ---------------------------------------------------------------------------
// The store: the last fire, and catch-up after a restart
// ---------------------------------------------------------------------------

fn hourly(catch_up: CatchUp) -> WorkerSpec {
    let mut spec = cron("0 * * * *", "UTC");
    spec.catch_up = catch_up;
    scheduled("w", spec)
}

/// Writes what changed and waits for the writer.
fn flush(c: &mut Cal) -> Store {
    c.h.flush_store()
}

/// A first process runs the hourly schedule at 01:00 and ends: its row
/// holds last_fire_ms 01:00.
fn first_process(dir: &TempDir, catch_up: CatchUp) {
    let mut c = Cal::with_store("2026-01-01T00:00:00Z", &dir.db());
    c.register(hourly(catch_up));
    c.start();
    assert_eq!(c.run_until("2026-01-01T01:30:00Z").len(), 1);
    let store = flush(&mut c);
    let rows = store.load_units().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, "w");
    assert_eq!(rows[0].last_fire_ms, Some(ms("2026-01-01T01:00:00Z")));
}

/// A later process, at `at` with catchUp `catch_up`, registers the worker
/// and restores its row, started before or after that: returns the runs
/// started at once (completed at once), and the engine.
fn later_process(dir: &TempDir, catch_up: CatchUp, at: &str, start_first: bool) -> (usize, Cal) {
    let mut c = Cal::with_store(at, &dir.db());
    let mut runs = 0;
    if start_first {
        runs += c.start();
    }
    c.register(hourly(catch_up));
    let rows = c.h.engine.stored_units().unwrap();
    assert!(c.h.engine.restore_row(&rows[0]));
    runs += c.started(true).len();
    if !start_first {
        runs += c.start();
    }
    (runs, c)
}

/// [`first_process`], then [`later_process`]: the runs it started at once.
fn restarted(catch_up: CatchUp, at: &str, start_first: bool) -> usize {
    let dir = TempDir::new();
    first_process(&dir, catch_up);
    later_process(&dir, catch_up, at, start_first).0
}

#[test]
fn the_last_fire_is_stored_and_catch_up_one_runs_once_after_a_restart() {
    for start_first in [false, true] {
        let dir = TempDir::new();
        first_process(&dir, CatchUp::One);
        let (runs, mut c) = later_process(&dir, CatchUp::One, "2026-01-01T05:30:00Z", start_first);
        assert_eq!(runs, 1, "started first: {start_first}");
        assert_eq!(
            c.run_until("2026-01-01T06:30:00Z"),
            ["2026-01-01T06:00:00Z"]
        );
        // The new fire is stored in its turn.
        let store = flush(&mut c);
        let rows = store.load_units().unwrap();
        assert_eq!(rows[0].last_fire_ms, Some(ms("2026-01-01T06:00:00Z")));
    }
}

#[test]
fn after_a_restart_catch_up_none_runs_nothing_and_all_runs_each_missed_fire() {
    for start_first in [false, true] {
        let runs = restarted(CatchUp::None, "2026-01-01T05:30:00Z", start_first);
        assert_eq!(runs, 0, "none, started first: {start_first}");
        let runs = restarted(CatchUp::All, "2026-01-01T05:30:00Z", start_first);
        assert_eq!(runs, 4, "all, started first: {start_first}");
        // Back before the next fire: nothing was missed.
        let runs = restarted(CatchUp::One, "2026-01-01T01:30:00Z", start_first);
        assert_eq!(runs, 0, "one, nothing missed, started first: {start_first}");
    }
}

/// catchUp 'one' after a crash at 05:30 runs once for 02:00–05:00; a
/// second crash at 05:40 and a restart at 05:45 missed no fire: nothing is
/// caught up again.
#[test]
fn after_a_restart_the_fires_caught_up_are_not_caught_up_again_by_the_next_restart() {
    for catch_up in [CatchUp::One, CatchUp::All] {
        let dir = TempDir::new();
        first_process(&dir, catch_up);
        {
            let (runs, mut c) = later_process(&dir, catch_up, "2026-01-01T05:30:00Z", true);
            assert!(runs > 0);
            assert!(c.walk(ms("2026-01-01T05:40:00Z"), true).is_empty());
            flush(&mut c);
        }
        let (runs, _) = later_process(&dir, catch_up, "2026-01-01T05:45:00Z", true);
        assert_eq!(
            runs, 0,
            "{catch_up:?}: no fire was missed since the catch-up"
        );
    }
}

// ---------------------------------------------------------------------------
// nextRuns
// ---------------------------------------------------------------------------

#[test]
fn next_runs_of_interval_and_cron_workers_and_of_an_unknown_id() {
    let mut c = Cal::at("2026-01-01T00:10:00Z");
    let mut w = worker("interval");
    w.config.set_interval_ms(Some(1000.0));
    w.config.run_on_interval = true;
    w.config.timeout_ms = 0.0;
    c.register(w);
    c.register(scheduled("cron", cron("0 * * * *", "UTC")));
    c.register(worker("plain"));
    // An interval worker has next runs while it is scheduled.
    assert_eq!(c.h.engine.next_runs("interval", 3), Some(Vec::new()));
    c.start();
    assert_eq!(
        c.next("interval", 3),
        [
            "2026-01-01T00:10:01Z",
            "2026-01-01T00:10:02Z",
            "2026-01-01T00:10:03Z"
        ]
    );
    assert_eq!(
        c.next("cron", 3),
        [
            "2026-01-01T01:00:00Z",
            "2026-01-01T02:00:00Z",
            "2026-01-01T03:00:00Z"
        ]
    );
    c.walk(ms("2026-01-01T01:00:01.500Z"), true);
    assert_eq!(
        c.next("interval", 2),
        ["2026-01-01T01:00:02Z", "2026-01-01T01:00:03Z"]
    );
    assert_eq!(
        c.next("cron", 2),
        ["2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"]
    );
    assert_eq!(c.h.engine.next_runs("cron", 1000).unwrap().len(), 1000);
    assert_eq!(c.h.engine.next_runs("plain", 5), Some(Vec::new()));
    assert_eq!(c.h.engine.next_runs("nope", 5), None);
}
