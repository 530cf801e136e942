//! The engine's views as the JSON of `API.md`. Every function writes one
//! answer from copies the engine handed out, so no lock is held here.

use synchronik_core::observe::{
    DoneTask, ErrorView, Overview, PoolView, ProcessView, ProcessWorker, ScheduleView, TaskView,
    UnitDetail, UnitPage, UnitSummary, RATE_BUCKET_MS,
};
use synchronik_core::{Dependency, HistoryRow, ProcessConfig, RetryDelay, Status, WorkerConfig};

use crate::json::Json;
use crate::EventLoopState;

/// `api/overview` (and the events' data).
pub(crate) fn overview(o: &Overview, lp: &EventLoopState) -> String {
    let mut j = Json::new();
    j.object(|j| {
        j.key("nowMs").num(o.now_ms);
        j.key("started").bool(o.started);
        j.key("counts").object(|j| {
            for s in Status::ALL {
                j.key(s.as_str()).uint(o.counts[*s as usize]);
            }
        });
        j.key("workers").uint(o.workers as u64);
        j.key("processes").uint(o.processes as u64);
        j.key("totals").object(|j| {
            j.key("runs").uint(o.totals.runs);
            j.key("completed").uint(o.totals.completed);
            j.key("failed").uint(o.totals.failed);
            j.key("retries").uint(o.totals.retries);
        });
        j.key("inFlight").uint(o.in_flight as u64);
        j.key("poolQueued").uint(o.pool_queued as u64);
        j.key("rates").array(|j| {
            for r in &o.rates {
                j.object(|j| {
                    j.key("startMs").num(r.start_ms);
                    j.key("runs").uint(r.runs);
                    j.key("failures").uint(r.failures);
                    j.key("retries").uint(r.retries);
                });
            }
        });
        j.key("bucketMs").num(RATE_BUCKET_MS);
        j.key("recentErrors").array(|j| {
            for e in &o.recent_errors {
                error_view(j, e, true);
            }
        });
        j.key("eventLoop").object(|j| {
            j.key("blocked").bool(lp.blocked);
            j.key("blockedForMs").num(lp.blocked_for_ms);
            j.key("unit").opt_str(lp.unit.as_deref());
            j.key("lagMs").num(lp.lag_ms);
            j.key("blockedSecondsTotal").num(lp.blocked_seconds_total);
        });
        j.key("change").uint(o.change);
    });
    j.finish()
}

fn error_view(j: &mut Json, e: &ErrorView, with_unit: bool) {
    j.object(|j| {
        if with_unit {
            j.key("unit").str(&e.unit);
        }
        j.key("message").str(&e.message);
        j.key("atMs").num(e.at_ms);
    });
}

fn summary_fields(j: &mut Json, u: &UnitSummary) {
    j.key("id").str(&u.id);
    j.key("kind").str(u.kind.as_str());
    j.key("status").str(u.status.as_str());
    j.key("enabled").bool(u.enabled);
    j.key("process").opt_str(u.process.as_deref());
    j.key("poolWorker").bool(u.pool_worker);
    j.key("runCount").uint(u.run_count);
    j.key("lastDurationMs").num(u.last_duration_ms);
    j.key("averageMs").num(u.average_ms);
    j.key("runningSinceMs").opt_num(u.running_since_ms);
    j.key("lastError");
    match &u.last_error {
        Some(e) => error_view(j, e, false),
        None => {
            j.null();
        }
    }
    j.key("nextFireMs").opt_num(u.next_fire_ms);
}

/// `api/units`.
pub(crate) fn unit_page(page: &UnitPage, now_ms: f64) -> String {
    let mut j = Json::new();
    j.object(|j| {
        j.key("items").array(|j| {
            for u in &page.items {
                j.object(|j| summary_fields(j, u));
            }
        });
        j.key("nextCursor");
        match page.next {
            Some(slot) => j.str(&slot.to_string()),
            None => j.null(),
        };
        j.key("total").uint(page.total as u64);
        j.key("nowMs").num(now_ms);
    });
    j.finish()
}

fn depends_on(j: &mut Json, deps: &[Dependency]) {
    j.key("dependsOn").array(|j| {
        for d in deps {
            j.object(|j| {
                j.key("id").str(&d.id);
                j.key("conditional").bool(d.conditional);
            });
        }
    });
}

fn worker_config(j: &mut Json, c: &WorkerConfig) {
    j.object(|j| {
        j.key("intervalMs").opt_num(c.interval_ms);
        j.key("runOnInterval").bool(c.run_on_interval);
        j.key("maxRuns").opt_uint(c.max_runs);
        j.key("timeoutMs").num(c.timeout_ms);
        j.key("maxRetries").uint(u64::from(c.max_retries));
        j.key("retryDelayMs").opt_num(match c.retry_delay {
            RetryDelay::Fixed(ms) => Some(ms),
            RetryDelay::PerRetry => None,
        });
        j.key("overlap").str(c.overlap.as_str());
        depends_on(j, &c.depends_on);
    });
}

fn process_config(j: &mut Json, c: &ProcessConfig) {
    j.object(|j| {
        j.key("runMode").str(c.run_mode.as_str());
        j.key("batchSize").uint(u64::from(c.batch_size));
        j.key("isolationDelayMs").num(c.isolation_delay_ms);
        j.key("concurrency").opt_uint(c.concurrency.map(u64::from));
    });
}

/// `api/units/<id>`; `history` is `None` without a store that keeps it.
pub(crate) fn unit_detail(d: &UnitDetail, history: Option<&[HistoryRow]>, now_ms: f64) -> String {
    let mut j = Json::new();
    j.object(|j| {
        summary_fields(j, &d.summary);
        j.key("config");
        match (&d.worker, &d.process) {
            (Some(c), _) => worker_config(j, c),
            (None, Some(c)) => process_config(j, c),
            (None, None) => {
                j.null();
            }
        }
        j.key("executionTimesMs").array(|j| {
            for t in &d.execution_times_ms {
                j.num(*t);
            }
        });
        j.key("workers").array(|j| {
            for w in &d.workers {
                j.str(w);
            }
        });
        j.key("history").array(|j| {
            for r in history.unwrap_or_default() {
                history_row(j, r);
            }
        });
        j.key("nowMs").num(now_ms);
    });
    j.finish()
}

fn process_head(j: &mut Json, p: &ProcessView) {
    j.key("id").str(&p.id);
    j.key("status").str(p.status.as_str());
    j.key("enabled").bool(p.enabled);
    j.key("runMode").str(p.run_mode.as_str());
    j.key("graph").bool(p.graph);
}

/// `api/processes`.
pub(crate) fn processes(list: &[ProcessView], now_ms: f64) -> String {
    let mut j = Json::new();
    j.object(|j| {
        j.key("items").array(|j| {
            for p in list {
                j.object(|j| {
                    process_head(j, p);
                    j.key("workers").uint(p.workers.len() as u64);
                });
            }
        });
        j.key("nowMs").num(now_ms);
    });
    j.finish()
}

fn process_worker(j: &mut Json, w: &ProcessWorker) {
    j.object(|j| {
        j.key("id").str(&w.id);
        j.key("status").str(w.status.as_str());
        j.key("enabled").bool(w.enabled);
        depends_on(j, &w.depends_on);
    });
}

/// `api/processes/<id>`.
pub(crate) fn process(p: &ProcessView, now_ms: f64) -> String {
    let mut j = Json::new();
    j.object(|j| {
        process_head(j, p);
        j.key("config");
        process_config(j, &p.config);
        j.key("workers").array(|j| {
            for w in &p.workers {
                process_worker(j, w);
            }
        });
        j.key("nowMs").num(now_ms);
    });
    j.finish()
}

fn task(j: &mut Json, t: &TaskView) {
    j.object(|j| {
        j.key("id").uint(t.id);
        j.key("name").opt_str(t.name.as_deref());
        j.key("priority").num(t.priority);
        j.key("status").str(t.status.as_str());
        j.key("worker").opt_str(t.worker.as_deref());
        j.key("startedMs").opt_num(t.started_ms);
        j.key("durable").bool(t.durable);
    });
}

fn done_task(j: &mut Json, t: &DoneTask) {
    j.object(|j| {
        j.key("id").uint(t.id);
        j.key("name").opt_str(t.name.as_deref());
        j.key("status").str(t.status.as_str());
        j.key("durationMs").opt_num(t.duration_ms);
        j.key("error").opt_str(t.error.as_deref());
        j.key("atMs").num(t.at_ms);
        j.key("retryable").bool(t.retryable);
    });
}

/// `api/pools`.
pub(crate) fn pools(list: &[PoolView], now_ms: f64) -> String {
    let mut j = Json::new();
    j.object(|j| {
        j.key("items").array(|j| {
            for p in list {
                j.object(|j| {
                    j.key("name").str(&p.name);
                    j.key("size").uint(p.size as u64);
                    j.key("busy").uint(p.busy as u64);
                    j.key("queued").uint(p.queued as u64);
                    j.key("queue")
                        .array(|j| p.queue.iter().for_each(|t| task(j, t)));
                    j.key("running")
                        .array(|j| p.running.iter().for_each(|t| task(j, t)));
                    j.key("done")
                        .array(|j| p.done.iter().for_each(|t| done_task(j, t)));
                    j.key("completed").uint(p.completed);
                    j.key("failed").uint(p.failed);
                    j.key("cancelled").uint(p.cancelled);
                });
            }
        });
        j.key("nowMs").num(now_ms);
    });
    j.finish()
}

/// `api/schedules`, soonest first.
pub(crate) fn schedules(list: &mut [ScheduleView], now_ms: f64) -> String {
    list.sort_by(|a, b| a.next_ms.total_cmp(&b.next_ms));
    let mut j = Json::new();
    j.object(|j| {
        j.key("items").array(|j| {
            for s in list.iter() {
                j.object(|j| {
                    j.key("unit").str(&s.unit);
                    j.key("everyMs").num(s.every_ms);
                    j.key("nextMs").num(s.next_ms);
                });
            }
        });
        j.key("nowMs").num(now_ms);
    });
    j.finish()
}

fn history_row(j: &mut Json, r: &HistoryRow) {
    j.object(|j| {
        j.key("unit").str(&r.unit_id);
        j.key("attempt").uint(u64::from(r.attempt));
        j.key("status").str(&r.outcome);
        j.key("startedMs").num(r.started_ms);
        j.key("endedMs").num(r.ended_ms);
        j.key("durationMs").num(r.ended_ms - r.started_ms);
        j.key("error").opt_str(r.error.as_deref());
        j.key("task").opt_str(r.task_name.as_deref());
        j.key("taskKey").opt_str(r.task_key.as_deref());
        j.key("pool").opt_str(r.pool.as_deref());
    });
}

/// `api/history`: `rows` is `None` without a store that keeps history.
pub(crate) fn history(rows: Option<&[HistoryRow]>, next: Option<u64>) -> String {
    let mut j = Json::new();
    j.object(|j| {
        j.key("items").array(|j| {
            for r in rows.unwrap_or_default() {
                history_row(j, r);
            }
        });
        j.key("nextCursor");
        match next {
            Some(n) => j.str(&n.to_string()),
            None => j.null(),
        };
        j.key("store").bool(rows.is_some());
    });
    j.finish()
}
