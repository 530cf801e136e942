//! The writer: group commit of folded batches, each in one transaction of
//! a few array statements, retried on a new connection until committed
//! when the connection (not the statement) failed.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::super::writer::{Batch, Gathered, TaskChange, UnitChange};
use super::super::{queue, times_json, HistoryRow};
use super::{describe, transient, Inner};
use crate::error::EngineError;

/// Backoff between attempts: 50 ms doubling to 5 s.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(7)).min(5_000))
}

pub(super) async fn run(inner: Arc<Inner>, mut rx: queue::Receiver) {
    let mut reported = false;
    let mut spare = Batch::default();
    loop {
        let Some(first) = rx.recv().await else { break };
        let Gathered {
            mut batch,
            replies,
            committed,
            shutdown,
            count,
            ..
        } = Gathered::from(std::mem::take(&mut spare), first, || rx.try_recv());
        let mut written = true;
        if !batch.is_empty() {
            let mut attempt = 0u32;
            loop {
                match apply(&inner, &batch).await {
                    Ok(()) => {
                        reported = false;
                        break;
                    }
                    Err((e, again)) if again && !inner.closing.load(Ordering::SeqCst) => {
                        if !reported {
                            eprintln!(
                                "[synchronik] {}",
                                inner.error(format!("a write failed, trying again: {e}"))
                            );
                            reported = true;
                        }
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err((e, _)) => {
                        let error = inner.error(format!("a write failed: {e}"));
                        eprintln!("[synchronik] {error}");
                        inner.failure.lock().get_or_insert(error);
                        written = false;
                        break;
                    }
                }
            }
        }
        batch.clear();
        spare = batch;
        inner.pending.fetch_sub(count, Ordering::SeqCst);
        for reply in committed {
            let _ = reply.send(written);
        }
        if !replies.is_empty() {
            let answer: Result<(), EngineError> = inner.failure.lock().take().map_or(Ok(()), Err);
            for reply in replies {
                let _ = reply.send(answer.clone());
            }
        }
        if shutdown {
            break;
        }
    }
}

/// A notification that pool `pool` has tasks to claim (the heartbeat's and
/// the leave's are written the same way, in SQL: `'p:' || pool`).
fn pool_notice(pool: &str) -> String {
    format!("p:{pool}")
}

/// A notification for node `origin` that its task `key` ended here
/// (`error`: how it failed); bounded well below NOTIFY's 8,000 bytes.
fn done_notice(origin: &str, key: &str, error: Option<&str>) -> String {
    match error {
        None => format!("d:{origin} {key} ok"),
        Some(e) => {
            let mut e: String = e.chars().take(1000).collect();
            e.retain(|c| c != '\0');
            format!("d:{origin} {key} error {e}")
        }
    }
}

/// A notification the listener took: a pool to claim from, or a task this
/// node added that ended elsewhere.
#[derive(Debug, PartialEq)]
pub(super) enum Notice<'a> {
    Pool,
    Done {
        origin: &'a str,
        key: &'a str,
        error: Option<&'a str>,
    },
}

/// Reads a notification (anything not a well-formed notice of a task's
/// end is taken as a pool's: at worst a claim that finds nothing).
pub(super) fn read_notice(payload: &str) -> Notice<'_> {
    let Some(rest) = payload.strip_prefix("d:") else {
        return Notice::Pool;
    };
    let mut parts = rest.splitn(3, ' ');
    let (Some(origin), Some(key), Some(how)) = (parts.next(), parts.next(), parts.next()) else {
        return Notice::Pool;
    };
    let error = match how {
        "ok" => None,
        _ => match how.strip_prefix("error ") {
            Some(e) => Some(e),
            None => return Notice::Pool,
        },
    };
    Notice::Done { origin, key, error }
}

/// The prepared statement of `text` on this connection (prepared once per
/// connection, then taken from its cache).
async fn cached(
    tx: &deadpool_postgres::Transaction<'_>,
    text: &str,
) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
    tx.prepare_cached(text).await
}

/// Applies the batch in one transaction; the error says whether another
/// attempt may succeed.
async fn apply(inner: &Inner, batch: &Batch) -> Result<(), (String, bool)> {
    let mut client = match inner.pool.get().await {
        Ok(c) => c,
        Err(e) => return Err((e.to_string(), true)),
    };
    let result = async {
        let tx = client.transaction().await?;
        write(inner, &tx, batch).await?;
        tx.commit().await
    }
    .await;
    result.map_err(|e| (describe(&e), transient(&e)))
}

async fn write(
    inner: &Inner,
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &Batch,
) -> Result<(), tokio_postgres::Error> {
    let sql = &inner.sql;
    let node = &inner.node;
    // Units: deletions first (a unit released and registered again in the
    // same batch is written anew), then upserts.
    let deleted: Vec<&str> = batch
        .units
        .iter()
        .filter(|(_, c)| matches!(c, UnitChange::Delete | UnitChange::Replace(_)))
        .map(|(id, _)| id.as_str())
        .collect();
    if !deleted.is_empty() {
        tx.execute(
            &cached(tx, &sql.q("DELETE FROM {s}.units WHERE id = ANY($1)")).await?,
            &[&deleted],
        )
        .await?;
    }
    let rows: Vec<_> = batch
        .units
        .values()
        .filter_map(|c| match c {
            UnitChange::Upsert(r) | UnitChange::Replace(r) => Some(r),
            UnitChange::Delete => None,
        })
        .collect();
    if !rows.is_empty() {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let status: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
        let enabled: Vec<bool> = rows.iter().map(|r| r.enabled).collect();
        let runs: Vec<i64> = rows
            .iter()
            .map(|r| r.run_count.min(i64::MAX as u64) as i64)
            .collect();
        let times: Vec<String> = rows
            .iter()
            .map(|r| times_json(&r.execution_times_ms))
            .collect();
        let last_run: Vec<Option<f64>> = rows.iter().map(|r| r.last_run_ms).collect();
        let meta: Vec<Option<&str>> = rows.iter().map(|r| r.meta.as_deref()).collect();
        let last_fire: Vec<Option<f64>> = rows.iter().map(|r| r.last_fire_ms).collect();
        tx.execute(
            &cached(tx, &sql.q(
                "INSERT INTO {s}.units AS u (id, status, enabled, run_count, execution_times, last_run_ms, meta, last_fire_ms)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::int8[], $5::text[], $6::float8[], $7::text[], $8::float8[])
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, enabled = excluded.enabled,
                    run_count = excluded.run_count, execution_times = excluded.execution_times,
                    last_run_ms = excluded.last_run_ms,
                    last_fire_ms = COALESCE(excluded.last_fire_ms, u.last_fire_ms),
                    meta = COALESCE(excluded.meta, u.meta)",
            )).await?,
            &[&ids, &status, &enabled, &runs, &times, &last_run, &meta, &last_fire],
        )
        .await?;
    }
    // Tasks.
    let mut notify: BTreeSet<&str> = BTreeSet::new();
    let mut inserts: Vec<_> = batch
        .tasks
        .values()
        .filter_map(|c| match c {
            TaskChange::Insert(r) => Some(r),
            _ => None,
        })
        .collect();
    // In the order they were added (the batch holds them by key): `seq`,
    // which orders tasks of the same priority for every node, follows.
    inserts.sort_by_key(|r| r.arrangement);
    if !inserts.is_empty() {
        for r in &inserts {
            if !r.owned {
                notify.insert(r.pool.as_str());
            }
        }
        let col = |f: fn(&super::super::TaskRow) -> &str| -> Vec<&str> {
            inserts.iter().map(|r| f(r)).collect()
        };
        let keys = col(|r| &r.key);
        let pools = col(|r| &r.pool);
        let kinds: Vec<&str> = inserts
            .iter()
            .map(|r| if r.thread { "thread" } else { "pool" })
            .collect();
        let names = col(|r| &r.name);
        let handlers = col(|r| &r.handler);
        let payloads: Vec<Option<&str>> = inserts.iter().map(|r| r.payload.as_deref()).collect();
        let priorities: Vec<f64> = inserts.iter().map(|r| r.priority).collect();
        let arrangements: Vec<i64> = inserts
            .iter()
            .map(|r| r.arrangement.min(i64::MAX as u64) as i64)
            .collect();
        let attempts: Vec<i32> = inserts
            .iter()
            .map(|r| r.attempt.min(i32::MAX as u32) as i32)
            .collect();
        let statuses = col(|r| &r.status);
        let owned: Vec<bool> = inserts.iter().map(|r| r.owned).collect();
        let run_at: Vec<Option<f64>> = inserts.iter().map(|r| r.run_at_ms).collect();
        tx.execute(
            &cached(tx, &sql.q(
                "INSERT INTO {s}.tasks AS t (key, pool, kind, name, handler, payload, priority, arrangement, attempt, status, node, origin, run_at_ms)
                 SELECT k, p, kd, n, h, pl, pr, a, at, st, CASE WHEN o THEN $13 END, $13, r
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],
                             $8::int8[], $9::int4[], $10::text[], $11::bool[], $12::float8[])
                      AS x(k, p, kd, n, h, pl, pr, a, at, st, o, r)
                 ON CONFLICT (key) DO UPDATE SET pool = excluded.pool, kind = excluded.kind, name = excluded.name,
                    handler = excluded.handler, payload = excluded.payload, priority = excluded.priority,
                    arrangement = excluded.arrangement, attempt = excluded.attempt, status = excluded.status,
                    node = excluded.node, run_at_ms = excluded.run_at_ms",
            )).await?,
            &[
                &keys, &pools, &kinds, &names, &handlers, &payloads, &priorities, &arrangements,
                &attempts, &statuses, &owned, &run_at, node,
            ],
        )
        .await?;
    }
    let mut started: (Vec<&str>, Vec<i32>) = (Vec::new(), Vec::new());
    let mut released: (Vec<&str>, Vec<Option<i32>>) = (Vec::new(), Vec::new());
    let mut gone: Vec<&str> = Vec::new();
    for (key, change) in &batch.tasks {
        match change {
            TaskChange::Update {
                attempt: Some(a),
                status: "running",
            } => {
                started.0.push(key);
                started.1.push((*a).min(i32::MAX as u32) as i32);
            }
            TaskChange::Update { attempt, .. } => {
                released.0.push(key);
                released
                    .1
                    .push(attempt.map(|a| a.min(i32::MAX as u32) as i32));
            }
            TaskChange::Delete | TaskChange::Ended(_) => gone.push(key),
            TaskChange::Insert(_) | TaskChange::Gone => {}
        }
    }
    if !started.0.is_empty() {
        tx.execute(
            &cached(
                tx,
                &sql.q("UPDATE {s}.tasks t SET attempt = u.a, status = 'running'
                 FROM unnest($1::text[], $2::int4[]) AS u(k, a) WHERE t.key = u.k AND t.node = $3"),
            )
            .await?,
            &[&started.0, &started.1, node],
        )
        .await?;
    }
    let mut released_pools: Vec<String> = Vec::new();
    if !released.0.is_empty() {
        // Back to the queue for any node (ended by this node's stop).
        released_pools = tx
            .query(
                &cached(tx, &sql.q(
                    "UPDATE {s}.tasks t SET attempt = COALESCE(u.a, t.attempt), status = 'queued', node = NULL
                     FROM unnest($1::text[], $2::int4[]) AS u(k, a) WHERE t.key = u.k AND t.node = $3
                     RETURNING t.pool",
                )).await?,
                &[&released.0, &released.1, node],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
    }
    let mut ended_elsewhere: (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    if !gone.is_empty() {
        // A task another node holds now (rescued from this one) is left to
        // it. The rows back: tasks another node added, which learns how
        // they ended here.
        let rows = tx
            .query(
                &cached(
                    tx,
                    &sql.q(
                        "WITH d AS (DELETE FROM {s}.tasks WHERE key = ANY($1) AND (node = $2 OR node IS NULL)
                                    RETURNING key, origin)
                         SELECT key, origin FROM d WHERE origin <> $2",
                    ),
                )
                .await?,
                &[&gone, node],
            )
            .await?;
        for r in &rows {
            let key: &str = r.get(0);
            let origin: &str = r.get(1);
            let Some(TaskChange::Ended(error)) = batch.tasks.get(key) else {
                continue;
            };
            ended_elsewhere.0.push(key.to_owned());
            ended_elsewhere
                .1
                .push(done_notice(origin, key, error.as_deref()));
        }
    }
    for p in &batch.patches {
        tx.execute(
            &cached(tx, &sql.q(
                "UPDATE {s}.tasks SET payload = CASE WHEN $2 THEN $3 ELSE payload END,
                    priority = COALESCE($4, priority), handler = COALESCE($5, handler) WHERE key = $1",
            )).await?,
            &[&p.key, &p.payload.is_some(), &p.payload, &p.priority, &p.handler],
        )
        .await?;
    }
    if !batch.history.is_empty() {
        copy_history(tx, sql, node, &batch.history).await?;
    }
    for p in &released_pools {
        notify.insert(p);
    }
    if !ended_elsewhere.1.is_empty() {
        tx.execute(
            &cached(tx, "SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n").await?,
            &[&sql.channel, &ended_elsewhere.1],
        )
        .await?;
    }
    if !notify.is_empty() {
        let pools: Vec<String> = notify.into_iter().map(pool_notice).collect();
        tx.execute(
            &cached(tx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p").await?,
            &[&sql.channel, &pools],
        )
        .await?;
    }
    Ok(())
}

/// `text` as PostgreSQL can keep it: its text cannot hold NUL, which an
/// error's message may (ids and names are refused with it up front), so
/// NUL becomes U+FFFD; a string without one is borrowed as it is.
fn keepable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The attempts of one unit in a batch: a history row (schema version 5).
struct HistoryGroup<'a> {
    unit_id: &'a str,
    first_started_ms: f64,
    last_started_ms: f64,
    last_ended_ms: f64,
    task_key: Vec<Option<&'a str>>,
    task_name: Vec<Option<&'a str>>,
    pool: Vec<Option<&'a str>>,
    attempt: Vec<i32>,
    started_ms: Vec<f64>,
    ended_ms: Vec<f64>,
    outcome: Vec<&'a str>,
    error: Vec<Option<Cow<'a, str>>>,
}

impl<'a> HistoryGroup<'a> {
    fn new(unit_id: &'a str) -> Self {
        HistoryGroup {
            unit_id,
            first_started_ms: f64::INFINITY,
            last_started_ms: f64::NEG_INFINITY,
            last_ended_ms: f64::NEG_INFINITY,
            task_key: Vec::new(),
            task_name: Vec::new(),
            pool: Vec::new(),
            attempt: Vec::new(),
            started_ms: Vec::new(),
            ended_ms: Vec::new(),
            outcome: Vec::new(),
            error: Vec::new(),
        }
    }

    fn push(&mut self, r: &'a HistoryRow) {
        self.first_started_ms = self.first_started_ms.min(r.started_ms);
        self.last_started_ms = self.last_started_ms.max(r.started_ms);
        self.last_ended_ms = self.last_ended_ms.max(r.ended_ms);
        self.task_key.push(r.task_key.as_deref());
        self.task_name.push(r.task_name.as_deref());
        self.pool.push(r.pool.as_deref());
        self.attempt.push(r.attempt.min(i32::MAX as u32) as i32);
        self.started_ms.push(r.started_ms);
        self.ended_ms.push(r.ended_ms);
        self.outcome.push(&r.outcome);
        self.error.push(r.error.as_deref().map(keepable));
    }
}

/// The batch's attempts by unit, each unit's in the order they came, the
/// units in the order of their first attempt.
fn history_groups(rows: &[HistoryRow]) -> Vec<HistoryGroup<'_>> {
    let mut groups: Vec<HistoryGroup<'_>> = Vec::new();
    let mut by_unit: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    for r in rows {
        let i = *by_unit.entry(&r.unit_id).or_insert_with(|| {
            groups.push(HistoryGroup::new(&r.unit_id));
            groups.len() - 1
        });
        groups[i].push(r);
    }
    groups
}

/// Writes the batch's attempts: a row per unit (see `history_groups`), by
/// a binary COPY (the server inserts the rows a page at a time, the
/// cheapest way in for rows nothing reads back in this transaction).
async fn copy_history(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &super::Sql,
    node: &String,
    rows: &[HistoryRow],
) -> Result<(), tokio_postgres::Error> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::Type;
    let sink = tx
        .copy_in(&sql.q(
            "COPY {s}.history (node, unit_id, attempts, first_started_ms, last_started_ms, last_ended_ms,
                 task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error)
             FROM STDIN BINARY",
        ))
        .await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::INT4_ARRAY,
        Type::FLOAT8_ARRAY,
        Type::FLOAT8_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
    ];
    let mut out = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for g in history_groups(rows) {
        let attempts = g.attempt.len().min(i32::MAX as usize) as i32;
        out.as_mut()
            .write(&[
                node,
                &g.unit_id,
                &attempts,
                &g.first_started_ms,
                &g.last_started_ms,
                &g.last_ended_ms,
                &g.task_key,
                &g.task_name,
                &g.pool,
                &g.attempt,
                &g.started_ms,
                &g.ended_ms,
                &g.outcome,
                &g.error,
            ])
            .await?;
    }
    out.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batchs_attempts_make_a_row_per_unit_in_the_order_they_came() {
        let row = |unit: &str, key: Option<&str>, started_ms: f64, ended_ms: f64| HistoryRow {
            unit_id: unit.into(),
            task_key: key.map(Into::into),
            task_name: key.map(|k| format!("name-{k}")),
            pool: key.map(|_| "jobs".into()),
            attempt: 1,
            started_ms,
            ended_ms,
            outcome: "completed".into(),
            error: None,
        };
        let rows = [
            row("w-2", Some("k-1"), 10.0, 12.0),
            row("tick", None, 11.0, 11.5),
            row("w-2", Some("k-2"), 9.0, 14.0),
            row("w-1", Some("k-3"), 13.0, 13.0),
            row("w-2", Some("k-4"), 15.0, 13.5),
        ];
        let groups = history_groups(&rows);
        let units: Vec<&str> = groups.iter().map(|g| g.unit_id).collect();
        assert_eq!(units, ["w-2", "tick", "w-1"]);
        let w2 = &groups[0];
        assert_eq!(w2.task_key, [Some("k-1"), Some("k-2"), Some("k-4")]);
        assert_eq!(w2.task_name[1], Some("name-k-2"));
        assert_eq!(w2.started_ms, [10.0, 9.0, 15.0]);
        // The bounds over the row's attempts, whatever their order.
        assert_eq!(
            (w2.first_started_ms, w2.last_started_ms, w2.last_ended_ms),
            (9.0, 15.0, 14.0)
        );
        assert_eq!(groups[1].task_key, [None]);
        assert_eq!(groups[1].pool, [None]);
        assert_eq!(groups[2].ended_ms, [13.0]);
    }

    #[test]
    fn an_errors_nul_is_kept_as_a_replacement_character() {
        let failed = HistoryRow {
            unit_id: "w".into(),
            task_key: None,
            task_name: None,
            pool: None,
            attempt: 1,
            started_ms: 1.0,
            ended_ms: 2.0,
            outcome: "error".into(),
            error: Some("bad\0byte\0".into()),
        };
        let plain = HistoryRow {
            error: Some("plain".into()),
            ..failed.clone()
        };
        let rows = [failed, plain];
        let groups = history_groups(&rows);
        assert_eq!(
            groups[0].error[0].as_deref(),
            Some("bad\u{FFFD}byte\u{FFFD}")
        );
        assert!(matches!(groups[0].error[1], Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn notices_say_which_pool_or_which_task_ended_how() {
        assert_eq!(read_notice(&pool_notice("mail")), Notice::Pool);
        let ok = done_notice("web-1:42:ab", "k-7", None);
        assert_eq!(
            read_notice(&ok),
            Notice::Done {
                origin: "web-1:42:ab",
                key: "k-7",
                error: None
            }
        );
        let failed = done_notice("web-1:42:ab", "k-8", Some("boom: it broke"));
        assert_eq!(
            read_notice(&failed),
            Notice::Done {
                origin: "web-1:42:ab",
                key: "k-8",
                error: Some("boom: it broke")
            }
        );
        // Bounded, whatever the error.
        assert!(done_notice("n", "k", Some(&"x".repeat(100_000))).len() < 1100);
        // Anything else is a pool's (a claim that may find nothing).
        for odd in ["", "d:", "d:only-origin", "d:o k maybe", "mail"] {
            assert_eq!(read_notice(odd), Notice::Pool, "{odd}");
        }
    }
}
