//! The engine's views as the JSON of `API.md`. Every function writes one
//! answer from copies the engine handed out, so no lock is held here.
//!
//! Each JSON object of `API.md` is a struct below that borrows from the
//! view and derives `Serialize`: its fields are written in the order they
//! are declared (the order of `API.md`), named in camelCase. serde_json
//! writes compact text, which never holds a raw line break, so an answer
//! fits in one `data:` line of an event stream.

use serde::{Serialize, Serializer};
use synchronik_core::observe::{
    DoneTask, ErrorView, Overview, PoolView, ProcessView, ProcessWorker, RateBucket, ScheduleView,
    TaskView, UnitDetail, UnitPage, UnitSummary, RATE_BUCKET_MS,
};
use synchronik_core::{Dependency, HistoryRow, ProcessConfig, RetryDelay, Status, WorkerConfig};

use crate::EventLoopState;

/// What an answer is when it cannot be written. serde_json fails only on a
/// map key that is not a string or a `Serialize` that reports an error;
/// the types here have neither, so this is never sent in practice.
const UNWRITABLE: &str =
    r#"{"error":{"code":"ERR_INTERNAL","message":"the answer could not be written as JSON"}}"#;

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| UNWRITABLE.to_owned())
}

/// A number as JavaScript writes it: a whole number without a fraction
/// (`250`, not `250.0`), and one that is not finite as `null`.
#[derive(Debug, Clone, Copy)]
struct Num(f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        // Whole numbers an i64 holds exactly; the rest (fractions, huge
        // values, NaN and the infinities, which serde_json writes as
        // `null`) as floats.
        if n.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&n) {
            s.serialize_i64(n as i64)
        } else {
            s.serialize_f64(n)
        }
    }
}

/// The JSON of each of `items`.
fn all<'a, T, J: From<&'a T>>(items: &'a [T]) -> Vec<J> {
    items.iter().map(J::from).collect()
}

/// Units by status, in the order of [`Status::ALL`].
fn counts<S: Serializer>(counts: &[u64; 5], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(
        Status::ALL
            .iter()
            .map(|st| (st.as_str(), counts[*st as usize])),
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OverviewJson<'a> {
    now_ms: Num,
    started: bool,
    #[serde(serialize_with = "counts")]
    counts: &'a [u64; 5],
    workers: usize,
    processes: usize,
    totals: TotalsJson,
    in_flight: usize,
    pool_queued: usize,
    rates: Vec<RateJson>,
    bucket_ms: Num,
    recent_errors: Vec<ErrorJson<'a>>,
    event_loop: EventLoopJson<'a>,
    change: u64,
}

#[derive(Serialize)]
struct TotalsJson {
    runs: u64,
    completed: u64,
    failed: u64,
    retries: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RateJson {
    start_ms: Num,
    runs: u64,
    failures: u64,
    retries: u64,
}

impl From<&RateBucket> for RateJson {
    fn from(r: &RateBucket) -> Self {
        Self {
            start_ms: Num(r.start_ms),
            runs: r.runs,
            failures: r.failures,
            retries: r.retries,
        }
    }
}

/// A failure; `unit` is left out where the unit is known (a unit's
/// `lastError`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    message: &'a str,
    at_ms: Num,
}

impl<'a> From<&'a ErrorView> for ErrorJson<'a> {
    fn from(e: &'a ErrorView) -> Self {
        Self {
            unit: Some(&e.unit),
            message: &e.message,
            at_ms: Num(e.at_ms),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventLoopJson<'a> {
    blocked: bool,
    blocked_for_ms: Num,
    unit: Option<&'a str>,
    lag_ms: Num,
    blocked_seconds_total: Num,
}

/// `api/overview` (and the events' data).
pub(crate) fn overview(o: &Overview, lp: &EventLoopState) -> String {
    to_json(&OverviewJson {
        now_ms: Num(o.now_ms),
        started: o.started,
        counts: &o.counts,
        workers: o.workers,
        processes: o.processes,
        totals: TotalsJson {
            runs: o.totals.runs,
            completed: o.totals.completed,
            failed: o.totals.failed,
            retries: o.totals.retries,
        },
        in_flight: o.in_flight,
        pool_queued: o.pool_queued,
        rates: all(&o.rates),
        bucket_ms: Num(RATE_BUCKET_MS),
        recent_errors: all(&o.recent_errors),
        event_loop: EventLoopJson {
            blocked: lp.blocked,
            blocked_for_ms: Num(lp.blocked_for_ms),
            unit: lp.unit.as_deref(),
            lag_ms: Num(lp.lag_ms),
            blocked_seconds_total: Num(lp.blocked_seconds_total),
        },
        change: o.change,
    })
}

/// A unit as lists show it; a unit's detail starts with the same fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson<'a> {
    id: &'a str,
    kind: &'static str,
    status: &'static str,
    enabled: bool,
    process: Option<&'a str>,
    pool_worker: bool,
    run_count: u64,
    last_duration_ms: Num,
    average_ms: Num,
    running_since_ms: Option<Num>,
    last_error: Option<ErrorJson<'a>>,
    next_fire_ms: Option<Num>,
}

impl<'a> From<&'a UnitSummary> for SummaryJson<'a> {
    fn from(u: &'a UnitSummary) -> Self {
        Self {
            id: &u.id,
            kind: u.kind.as_str(),
            status: u.status.as_str(),
            enabled: u.enabled,
            process: u.process.as_deref(),
            pool_worker: u.pool_worker,
            run_count: u.run_count,
            last_duration_ms: Num(u.last_duration_ms),
            average_ms: Num(u.average_ms),
            running_since_ms: u.running_since_ms.map(Num),
            last_error: u.last_error.as_ref().map(|e| ErrorJson {
                unit: None,
                ..ErrorJson::from(e)
            }),
            next_fire_ms: u.next_fire_ms.map(Num),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitPageJson<'a> {
    items: Vec<SummaryJson<'a>>,
    next_cursor: Option<String>,
    total: usize,
    now_ms: Num,
}

/// `api/units`.
pub(crate) fn unit_page(page: &UnitPage, now_ms: f64) -> String {
    to_json(&UnitPageJson {
        items: all(&page.items),
        next_cursor: page.next.map(|slot| slot.to_string()),
        total: page.total,
        now_ms: Num(now_ms),
    })
}

#[derive(Serialize)]
struct DependencyJson<'a> {
    id: &'a str,
    conditional: bool,
}

impl<'a> From<&'a Dependency> for DependencyJson<'a> {
    fn from(d: &'a Dependency) -> Self {
        Self {
            id: &d.id,
            conditional: d.conditional,
        }
    }
}

/// A unit's settings: a worker's or a process's.
#[derive(Serialize)]
#[serde(untagged)]
enum ConfigJson<'a> {
    Worker(WorkerConfigJson<'a>),
    Process(ProcessConfigJson),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkerConfigJson<'a> {
    interval_ms: Option<Num>,
    run_on_interval: bool,
    max_runs: Option<u64>,
    timeout_ms: Num,
    max_retries: u32,
    retry_delay_ms: Option<Num>,
    overlap: &'static str,
    depends_on: Vec<DependencyJson<'a>>,
}

impl<'a> From<&'a WorkerConfig> for WorkerConfigJson<'a> {
    fn from(c: &'a WorkerConfig) -> Self {
        Self {
            interval_ms: c.interval_ms().map(Num),
            run_on_interval: c.run_on_interval,
            max_runs: c.max_runs(),
            timeout_ms: Num(c.timeout_ms),
            max_retries: c.max_retries,
            retry_delay_ms: match c.retry_delay() {
                RetryDelay::Fixed(ms) => Some(Num(ms)),
                RetryDelay::PerRetry => None,
            },
            overlap: c.overlap.as_str(),
            depends_on: all(c.depends_on()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessConfigJson {
    run_mode: &'static str,
    batch_size: u32,
    isolation_delay_ms: Num,
    concurrency: Option<u32>,
}

impl From<&ProcessConfig> for ProcessConfigJson {
    fn from(c: &ProcessConfig) -> Self {
        Self {
            run_mode: c.run_mode.as_str(),
            batch_size: c.batch_size,
            isolation_delay_ms: Num(c.isolation_delay_ms),
            concurrency: c.concurrency,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitDetailJson<'a> {
    #[serde(flatten)]
    summary: SummaryJson<'a>,
    config: Option<ConfigJson<'a>>,
    execution_times_ms: Vec<Num>,
    workers: &'a [String],
    history: Vec<HistoryJson<'a>>,
    now_ms: Num,
}

/// `api/units/<id>`; `history` is `None` without a store that keeps it.
pub(crate) fn unit_detail(d: &UnitDetail, history: Option<&[HistoryRow]>, now_ms: f64) -> String {
    let config = match (&d.worker, &d.process) {
        (Some(c), _) => Some(ConfigJson::Worker(c.into())),
        (None, Some(c)) => Some(ConfigJson::Process(c.into())),
        (None, None) => None,
    };
    to_json(&UnitDetailJson {
        summary: (&d.summary).into(),
        config,
        execution_times_ms: d.execution_times_ms.iter().copied().map(Num).collect(),
        workers: &d.workers,
        history: all(history.unwrap_or_default()),
        now_ms: Num(now_ms),
    })
}

/// What a process's entry in the list and its page share.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessHeadJson<'a> {
    id: &'a str,
    status: &'static str,
    enabled: bool,
    run_mode: &'static str,
    graph: bool,
}

impl<'a> From<&'a ProcessView> for ProcessHeadJson<'a> {
    fn from(p: &'a ProcessView) -> Self {
        Self {
            id: &p.id,
            status: p.status.as_str(),
            enabled: p.enabled,
            run_mode: p.run_mode.as_str(),
            graph: p.graph,
        }
    }
}

/// A process in the list: how many workers it has.
#[derive(Serialize)]
struct ProcessItemJson<'a> {
    #[serde(flatten)]
    head: ProcessHeadJson<'a>,
    workers: usize,
}

impl<'a> From<&'a ProcessView> for ProcessItemJson<'a> {
    fn from(p: &'a ProcessView) -> Self {
        Self {
            head: p.into(),
            workers: p.workers.len(),
        }
    }
}

/// A list's answer: its items and the time.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListJson<T> {
    items: Vec<T>,
    now_ms: Num,
}

/// The answer listing the JSON of each of `items`.
fn list_of<'a, T, J: From<&'a T> + Serialize>(items: &'a [T], now_ms: f64) -> String {
    to_json(&ListJson::<J> {
        items: all(items),
        now_ms: Num(now_ms),
    })
}

/// `api/processes`.
pub(crate) fn processes(list: &[ProcessView], now_ms: f64) -> String {
    list_of::<_, ProcessItemJson>(list, now_ms)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessWorkerJson<'a> {
    id: &'a str,
    status: &'static str,
    enabled: bool,
    depends_on: Vec<DependencyJson<'a>>,
}

impl<'a> From<&'a ProcessWorker> for ProcessWorkerJson<'a> {
    fn from(w: &'a ProcessWorker) -> Self {
        Self {
            id: &w.id,
            status: w.status.as_str(),
            enabled: w.enabled,
            depends_on: all(&w.depends_on),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessJson<'a> {
    #[serde(flatten)]
    head: ProcessHeadJson<'a>,
    config: ProcessConfigJson,
    workers: Vec<ProcessWorkerJson<'a>>,
    now_ms: Num,
}

/// `api/processes/<id>`.
pub(crate) fn process(p: &ProcessView, now_ms: f64) -> String {
    to_json(&ProcessJson {
        head: p.into(),
        config: (&p.config).into(),
        workers: all(&p.workers),
        now_ms: Num(now_ms),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskJson<'a> {
    id: u64,
    name: Option<&'a str>,
    priority: Num,
    status: &'static str,
    worker: Option<&'a str>,
    started_ms: Option<Num>,
    durable: bool,
}

impl<'a> From<&'a TaskView> for TaskJson<'a> {
    fn from(t: &'a TaskView) -> Self {
        Self {
            id: t.id,
            name: t.name.as_deref(),
            priority: Num(t.priority),
            status: t.status.as_str(),
            worker: t.worker.as_deref(),
            started_ms: t.started_ms.map(Num),
            durable: t.durable,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DoneTaskJson<'a> {
    id: u64,
    name: Option<&'a str>,
    status: &'static str,
    duration_ms: Option<Num>,
    error: Option<&'a str>,
    at_ms: Num,
    retryable: bool,
}

impl<'a> From<&'a DoneTask> for DoneTaskJson<'a> {
    fn from(t: &'a DoneTask) -> Self {
        Self {
            id: t.id,
            name: t.name.as_deref(),
            status: t.status.as_str(),
            duration_ms: t.duration_ms.map(Num),
            error: t.error.as_deref(),
            at_ms: Num(t.at_ms),
            retryable: t.retryable,
        }
    }
}

#[derive(Serialize)]
struct PoolJson<'a> {
    name: &'a str,
    size: usize,
    busy: usize,
    queued: usize,
    scheduled: usize,
    queue: Vec<TaskJson<'a>>,
    running: Vec<TaskJson<'a>>,
    done: Vec<DoneTaskJson<'a>>,
    completed: u64,
    failed: u64,
    cancelled: u64,
}

impl<'a> From<&'a PoolView> for PoolJson<'a> {
    fn from(p: &'a PoolView) -> Self {
        Self {
            name: &p.name,
            size: p.size,
            busy: p.busy,
            queued: p.queued,
            scheduled: p.scheduled,
            queue: all(&p.queue),
            running: all(&p.running),
            done: all(&p.done),
            completed: p.completed,
            failed: p.failed,
            cancelled: p.cancelled,
        }
    }
}

/// `api/pools`.
pub(crate) fn pools(list: &[PoolView], now_ms: f64) -> String {
    list_of::<_, PoolJson>(list, now_ms)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleJson<'a> {
    unit: &'a str,
    every_ms: Num,
    next_ms: Num,
}

impl<'a> From<&'a ScheduleView> for ScheduleJson<'a> {
    fn from(s: &'a ScheduleView) -> Self {
        Self {
            unit: &s.unit,
            every_ms: Num(s.every_ms),
            next_ms: Num(s.next_ms),
        }
    }
}

/// `api/schedules`, soonest first.
pub(crate) fn schedules(list: &mut [ScheduleView], now_ms: f64) -> String {
    list.sort_by(|a, b| a.next_ms.total_cmp(&b.next_ms));
    list_of::<_, ScheduleJson>(list, now_ms)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryJson<'a> {
    unit: &'a str,
    attempt: u32,
    status: &'a str,
    started_ms: Num,
    ended_ms: Num,
    duration_ms: Num,
    error: Option<&'a str>,
    task: Option<&'a str>,
    task_key: Option<&'a str>,
    pool: Option<&'a str>,
}

impl<'a> From<&'a HistoryRow> for HistoryJson<'a> {
    fn from(r: &'a HistoryRow) -> Self {
        Self {
            unit: &r.unit_id,
            attempt: r.attempt,
            status: &r.outcome,
            started_ms: Num(r.started_ms),
            ended_ms: Num(r.ended_ms),
            duration_ms: Num(r.ended_ms - r.started_ms),
            error: r.error.as_deref(),
            task: r.task_name.as_deref(),
            task_key: r.task_key.as_deref(),
            pool: r.pool.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryPageJson<'a> {
    items: Vec<HistoryJson<'a>>,
    next_cursor: Option<String>,
    store: bool,
}

/// `api/history`: `rows` is `None` without a store that keeps history.
pub(crate) fn history(rows: Option<&[HistoryRow]>, next: Option<u64>) -> String {
    to_json(&HistoryPageJson {
        items: all(rows.unwrap_or_default()),
        next_cursor: next.map(|n| n.to_string()),
        store: rows.is_some(),
    })
}

#[derive(Serialize)]
struct ErrorBodyJson<'a> {
    error: ErrorCodeJson<'a>,
}

#[derive(Serialize)]
struct ErrorCodeJson<'a> {
    code: &'a str,
    message: &'a str,
}

/// An error answer: `{"error":{"code":…,"message":…}}`.
pub(crate) fn error(code: &str, message: &str) -> String {
    to_json(&ErrorBodyJson {
        error: ErrorCodeJson { code, message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        let nums = [
            250.0,
            -3.0,
            1.5,
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
            1e-7,
        ];
        assert_eq!(
            to_json(&nums.map(Num)),
            "[250,-3,1.5,0,0,null,null,1e+300,1e-7]"
        );
        assert_eq!(to_json(&[Some(Num(2.0)), None]), "[2,null]");
    }

    #[test]
    fn text_is_escaped_and_stays_on_one_line() {
        let body = error("ERR_X", "a \"b\"\nc\r\u{1}\\é\u{2028}");
        assert_eq!(
            body,
            "{\"error\":{\"code\":\"ERR_X\",\"message\":\"a \\\"b\\\"\\nc\\r\\u0001\\\\é\u{2028}\"}}"
        );
        assert!(!body.contains('\n') && !body.contains('\r'));
    }

    #[test]
    fn counts_follow_the_order_of_statuses() {
        let o = Overview {
            now_ms: 1.0,
            started: false,
            counts: [3, 1, 0, 5, 2],
            workers: 0,
            processes: 0,
            totals: Default::default(),
            in_flight: 0,
            pool_queued: 0,
            rates: vec![],
            recent_errors: vec![ErrorView {
                unit: "u".into(),
                message: "m".into(),
                at_ms: 2.5,
            }],
            change: 7,
        };
        let text = overview(&o, &EventLoopState::default());
        let expected = format!(
            "\"counts\":{{{}}}",
            Status::ALL
                .iter()
                .map(|s| format!("\"{}\":{}", s.as_str(), o.counts[*s as usize]))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(text.contains(&expected), "{text}");
        assert!(text.contains(r#""recentErrors":[{"unit":"u","message":"m","atMs":2.5}]"#));
        assert!(text.starts_with(r#"{"nowMs":1,"started":false,"counts":{"#));
        assert!(text.ends_with(r#""blockedSecondsTotal":0},"change":7}"#));
    }
}
