//! A node's tasks: registration, the heartbeat (leases, rescue,
//! maintenance), the listener and the claimer.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::schema::{self, SchemaError};
use super::writer::{backoff, read_notice, Notice};
use super::{describe, Inner};
use crate::engine::Demand;
use crate::error::EngineError;
use crate::runtime::Remote;
use crate::store::TaskRow;

/// The lease of the maintenance (history retention, the size measure).
const MAINTENANCE: &str = "maintenance";
/// Schedules' leases are named after their unit.
const UNIT_LEASE: &str = "unit:";

/// Every this many heartbeats, the node holding the maintenance also looks
/// for tasks held by a node that has no row (see [`beat`]).
const ORPHAN_SWEEP_EVERY: u64 = 6;

/// What one heartbeat leaves to the next.
#[derive(Default)]
struct Beats {
    /// Heartbeats that reached the server.
    count: u64,
    /// Whether the last one took (or renewed) the maintenance.
    maintains: bool,
}

/// The message for a schema that cannot be used.
pub(super) fn schema_message(e: &SchemaError, schema: &str) -> String {
    match e {
        SchemaError::Db(e) => format!("cannot migrate the schema: {}", describe(e)),
        SchemaError::Foreign { tables } => {
            let mut shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
            if tables.len() > 5 {
                shown.push("…");
            }
            format!(
                "schema \"{schema}\" belongs to another application (it holds tables {}, and no synchronik meta table); choose another schema with storage.schema",
                shown.join(", ")
            )
        }
        SchemaError::Newer { version } => format!(
            "schema \"{schema}\" has version {version}, newer than this version of synchronik supports ({})",
            schema::VERSION
        ),
        SchemaError::Unreadable(why) => {
            format!("schema \"{schema}\" cannot be read as synchronik's: {why}")
        }
    }
}

/// Connects, migrates, and registers this node.
pub(super) async fn register(
    inner: &Inner,
    schema_name: &str,
    host: &str,
    pid: u32,
) -> Result<(), EngineError> {
    let mut client = inner
        .pool
        .get()
        .await
        .map_err(|e| super::pool_error(inner, e))?;
    schema::migrate(&mut client, schema_name)
        .await
        .map_err(|e| inner.error(schema_message(&e, schema_name)))?;
    client
        .execute(
            &inner
                .sql
                .q("INSERT INTO {s}.nodes (id, host, pid) VALUES ($1, $2, $3)"),
            &[&inner.node, &host, &(pid as i32)],
        )
        .await
        .map_err(|e| inner.error(format!("cannot register this node: {}", describe(&e))))?;
    Ok(())
}

/// Runs one of the node's tasks, and runs it again (after a second, with a
/// line on stderr) if it panicked: a bug in one of them must not leave the
/// node without a heartbeat, a listener or a claimer.
pub(super) async fn supervise<F, Fut>(inner: Arc<Inner>, name: &'static str, task: F)
where
    F: Fn(Arc<Inner>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(task(inner.clone())).await {
            Err(e) if e.is_panic() && !inner.closing.load(Ordering::SeqCst) => {
                eprintln!(
                    "[synchronik] {}",
                    inner.error(format!("its {name} failed unexpectedly; it starts again"))
                );
                if !nap(&inner, Duration::from_secs(1)).await {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Runs `f` on the engine off the runtime's worker (the engine's lock may
/// be held by a thread that waits for this runtime).
async fn on_engine<R: Send + 'static>(
    remote: Remote,
    f: impl FnOnce(&mut crate::engine::Engine) -> R + Send + 'static,
) -> Option<R> {
    tokio::task::spawn_blocking(move || remote.with(f))
        .await
        .ok()
        .flatten()
}

/// Sleeps for `d`, or less when the node shuts down; false then.
async fn nap(inner: &Inner, d: Duration) -> bool {
    if inner.closing.load(Ordering::SeqCst) {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => !inner.closing.load(Ordering::SeqCst),
        () = inner.shutdown.notified() => false,
    }
}

/// Every third of the lease: renews this node's lease, takes the leases
/// of its schedules and of the maintenance, rescues the tasks of dead
/// nodes and, holding the maintenance, applies the history's retention.
pub(super) async fn heartbeat(inner: Arc<Inner>) {
    let every = inner.lease / 3;
    let mut failures = 0u32;
    let mut last_ok = Instant::now();
    let mut lost_told = false;
    let mut beats = Beats::default();
    loop {
        match beat(&inner, &mut beats).await {
            Ok(()) => {
                failures = 0;
                last_ok = Instant::now();
                lost_told = false;
            }
            Err(e) => {
                if failures == 0 {
                    eprintln!(
                        "[synchronik] {}",
                        inner.error(format!("the heartbeat failed, trying again: {e}"))
                    );
                }
                failures += 1;
                // Near the end of the lease without a renewal, other nodes
                // may soon take this node's tasks: stop holding (and
                // starting) them before they can.
                if !lost_told && last_ok.elapsed() >= inner.lease.mul_f64(0.75) {
                    lost_told = true;
                    lease_lost(&inner).await;
                }
            }
        }
        let wait = if failures == 0 {
            every
        } else {
            backoff(failures).min(every)
        };
        if !nap(&inner, wait).await {
            return;
        }
    }
}

async fn lease_lost(inner: &Inner) {
    inner.reconcile.store(true, Ordering::SeqCst);
    if let Some(remote) = inner.remote() {
        on_engine(remote, |e| e.cluster_lease_lost()).await;
    }
}

/// After a lost lease: the tasks the server still says this node holds
/// and the engine no longer has go back to the queue (the node's row may
/// have survived, and with it its claims).
async fn reconcile(
    inner: &Inner,
    client: &deadpool_postgres::Client,
) -> Result<(), tokio_postgres::Error> {
    if !inner.reconcile.load(Ordering::SeqCst) {
        return Ok(());
    }
    let Some(remote) = inner.remote() else {
        return Ok(());
    };
    let _claims = inner.claiming.lock().await;
    let held = on_engine(remote, |e| e.cluster_task_keys())
        .await
        .unwrap_or_default();
    client
        .execute(
            &inner.sql.q(
                "UPDATE {s}.tasks SET node = NULL, status = 'queued', attempt = greatest(attempt - 1, 0)
                 WHERE node = $1 AND kind = 'pool' AND status = 'queued' AND NOT (key = ANY($2))",
            ),
            &[&inner.node, &held],
        )
        .await?;
    inner.reconcile.store(false, Ordering::SeqCst);
    inner.claim.notify_one();
    Ok(())
}

async fn beat(inner: &Inner, beats: &mut Beats) -> Result<(), String> {
    let mut client = inner.pool.get().await.map_err(|e| e.to_string())?;
    let sql = &inner.sql;
    let lease = inner.lease.as_secs_f64();
    let renewed = client
        .execute(
            &sql.q("UPDATE {s}.nodes SET last_seen_at = now() WHERE id = $1"),
            &[&inner.node],
        )
        .await
        .map_err(|e| describe(&e))?;
    if renewed == 0 {
        // Taken for dead (the lease ran out while the node was cut off):
        // its tasks went back to the queue. It joins again, without them.
        eprintln!(
            "[synchronik] {}",
            inner.error(
                "this node's lease ran out (it could not reach the server for longer than the lease); the tasks it held went to other nodes"
            )
        );
        lease_lost(inner).await;
        client
            .execute(
                &sql.q("INSERT INTO {s}.nodes (id, host, pid) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING"),
                &[&inner.node, &inner.host, &(std::process::id() as i32)],
            )
            .await
            .map_err(|e| describe(&e))?;
    }
    reconcile(inner, &client).await.map_err(|e| describe(&e))?;
    // Rescue: nodes past their lease go, and their tasks back to the queue.
    // The tasks are not indexed by node (a claim would pay for that index
    // on every task), so the tasks table is read only when a node died —
    // and, every few heartbeats of the node doing the maintenance, to find
    // tasks whose node has no row at all (a node taken for dead while a
    // claim of its was committing): both are rare.
    beats.count += 1;
    let sweep = beats.maintains && beats.count.is_multiple_of(ORPHAN_SWEEP_EVERY);
    let tx = client.transaction().await.map_err(|e| describe(&e))?;
    let dead: Vec<String> = tx
        .query(
            &sql.q("DELETE FROM {s}.nodes WHERE last_seen_at < now() - make_interval(secs => $1) RETURNING id"),
            &[&lease],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rescued: Vec<String> = if dead.is_empty() && !sweep {
        Vec::new()
    } else {
        tx.query(
            &sql.q("UPDATE {s}.tasks SET node = NULL, status = 'queued'
                 WHERE node IS NOT NULL AND (node = ANY($1)
                    OR NOT EXISTS (SELECT 1 FROM {s}.nodes n WHERE n.id = tasks.node))
                 RETURNING pool"),
            &[&dead],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    tx.commit().await.map_err(|e| describe(&e))?;
    if !rescued.is_empty() {
        let pools: Vec<&str> = rescued
            .iter()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        client
            .execute(
                "SELECT pg_notify($1, 'p:' || p) FROM unnest($2::text[]) AS p",
                &[&sql.channel, &pools],
            )
            .await
            .map_err(|e| describe(&e))?;
        inner.claim.notify_one();
    }
    // Leases: the schedules this node has, and the maintenance.
    let remote = inner.remote();
    let mut names: Vec<String> = match &remote {
        Some(r) => on_engine(r.clone(), |e| e.cluster_schedule_ids())
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|id| format!("{UNIT_LEASE}{id}"))
            .collect(),
        None => Vec::new(),
    };
    names.push(MAINTENANCE.to_owned());
    let asked = Instant::now();
    let held: HashSet<String> = client
        .query(
            &sql.q(
                "INSERT INTO {s}.leases AS l (name, node, expires_at)
                 SELECT n, $1, now() + make_interval(secs => $2) FROM unnest($3::text[]) AS n
                 ON CONFLICT (name) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at
                 WHERE l.node = excluded.node OR l.expires_at < now()
                 RETURNING name",
            ),
            &[&inner.node, &lease, &names],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(r) = remote {
        let units: Vec<String> = held
            .iter()
            .filter_map(|n| n.strip_prefix(UNIT_LEASE).map(str::to_owned))
            .collect();
        // Held until the lease ends on the server, counted from before it
        // was asked for, less a margin for the clocks' rates.
        let until = asked + inner.lease.mul_f64(0.9);
        on_engine(r, move |e| e.cluster_hold(units, until)).await;
    }
    beats.maintains = held.contains(MAINTENANCE);
    if beats.maintains {
        if let Some(r) = inner.retention {
            let cutoff = super::super::writer::wall_ms() - r.max_age_ms;
            let keep = r.max_rows.min(i64::MAX as u64) as i64;
            client
                .execute(
                    &sql.q(
                        // A row goes when its newest attempt is older than
                        // the age, or when it would take the attempts of it
                        // and the newer rows past the count.
                        "DELETE FROM {s}.history WHERE last_started_ms < $1
                            OR id <= (SELECT id FROM (SELECT id, sum(attempts) OVER (ORDER BY id DESC) AS upto
                                                      FROM {s}.history) r
                                      WHERE upto > $2 ORDER BY id DESC LIMIT 1)",
                    ),
                    &[&cutoff, &keep],
                )
                .await
                .map_err(|e| describe(&e))?;
        }
    }
    let bytes: i64 = client
        .query_one(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            &[&inner.sql.name],
        )
        .await
        .map_err(|e| describe(&e))?
        .get(0);
    inner.bytes.store(bytes.max(0) as u64, Ordering::Relaxed);
    Ok(())
}

/// LISTENs on the schema's channel; a notification (a pool's name) wakes
/// the claimer. Reconnects with backoff; after each connection (the first
/// too) the claimer looks once, for what was missed, and the tasks added
/// here learn how those that ended elsewhere meanwhile ended
/// ([`reconcile_offered`]).
pub(super) async fn listen(inner: Arc<Inner>) {
    let mut failures = 0u32;
    // Since when no notification could reach this node (wall ms): from
    // the start, until the first LISTEN (tasks added meanwhile can end on
    // another node before it), then whenever a listening connection ends.
    let mut deaf_since: Option<f64> = Some(super::super::writer::wall_ms());
    loop {
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        if let Ok((client, mut connection)) = inner.config.connect(inner.tls.clone()).await {
            let waker = inner.clone();
            let driver = tokio::spawn(async move {
                while let Some(message) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    match message {
                        Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                            match read_notice(n.payload()) {
                                Notice::Pool => waker.claim.notify_one(),
                                Notice::Done { origin, key, error } if origin == waker.node => {
                                    if let Some(remote) = waker.remote() {
                                        let (key, error) =
                                            (key.to_owned(), error.map(failed_elsewhere));
                                        on_engine(remote, move |e| {
                                            e.cluster_ended_elsewhere(&key, error)
                                        })
                                        .await;
                                    }
                                }
                                Notice::Done { .. } => {}
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            let listening = client
                .batch_execute(&format!(
                    "LISTEN {}",
                    super::quote_ident(&inner.sql.channel)
                ))
                .await;
            if listening.is_ok() {
                failures = 0;
                inner.claim.notify_one();
                if let Some(since) = deaf_since.take() {
                    let inner = inner.clone();
                    tokio::spawn(async move {
                        if let Err(e) = reconcile_offered(&inner, since).await {
                            eprintln!(
                                "[synchronik] {}",
                                inner.error(format!(
                                    "looking up how tasks added here ended elsewhere failed: {e}"
                                ))
                            );
                        }
                    });
                }
                tokio::select! {
                    _ = driver => {}
                    () = inner.shutdown.notified() => return,
                }
                deaf_since = Some(super::super::writer::wall_ms());
            } else {
                driver.abort();
            }
        }
        failures += 1;
        if !nap(&inner, backoff(failures)).await {
            return;
        }
    }
}

/// The message of a task that failed on another node.
fn failed_elsewhere(error: &str) -> String {
    format!("the task failed on another node: {error}")
}

/// The message of a task that ended on another node without this node
/// hearing of it, when no history row says how.
const UNKNOWN_END: &str = "the task ended on another node while this node could not be notified, and no history row says how";

/// Tasks added here that ended on other nodes while no notification could
/// reach this node (`since`: from when, wall ms) learn how they ended:
/// NOTIFY is a hint, the tables say what happened. A task this node
/// offered that is no longer stored (its row committed first: the writes
/// sent so far are flushed before looking) ended elsewhere; the newest
/// history row of its key says how.
async fn reconcile_offered(inner: &Arc<Inner>, since: f64) -> Result<(), String> {
    let Some(remote) = inner.remote() else {
        return Ok(());
    };
    let Some(keys) = on_engine(remote.clone(), |e| e.cluster_offered_keys()).await else {
        return Ok(());
    };
    if keys.is_empty() {
        return Ok(());
    }
    if !flushed(inner).await {
        return Ok(());
    }
    let client = inner.pool.get().await.map_err(|e| e.to_string())?;
    let gone: Vec<String> = client
        .query(
            &inner.sql.q("SELECT k FROM unnest($1::text[]) AS k
                 WHERE NOT EXISTS (SELECT 1 FROM {s}.tasks t WHERE t.key = k)"),
            &[&keys],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    // Ended after the node went deaf (a minute's margin for the clocks of
    // the nodes that wrote the rows).
    let rows = client
        .query(
            &inner.sql.q(
                "SELECT DISTINCT ON (a.task_key) a.task_key, a.outcome, a.error
                 FROM {s}.history h CROSS JOIN LATERAL unnest(h.task_key, h.outcome, h.error, h.ended_ms)
                     WITH ORDINALITY AS a(task_key, outcome, error, ended_ms, n)
                 WHERE h.last_ended_ms >= $2 AND a.task_key = ANY($1) AND a.ended_ms >= $2 AND a.outcome IS NOT NULL
                 ORDER BY a.task_key, h.id DESC, a.n DESC",
            ),
            &[&gone, &(since - 60_000.0)],
        )
        .await
        .map_err(|e| describe(&e))?;
    let mut how: std::collections::HashMap<String, Option<String>> = rows
        .iter()
        .filter_map(|r| {
            let outcome: &str = r.try_get(1).ok()?;
            let error: Option<String> = r.try_get(2).ok()?;
            let failed = (outcome != "completed").then(|| match error {
                Some(error) => failed_elsewhere(&error),
                None => failed_elsewhere(&format!("it ended as {outcome}")),
            });
            Some((r.try_get::<_, String>(0).ok()?, failed))
        })
        .collect();
    let ended: Vec<(String, Option<String>)> = gone
        .into_iter()
        .map(|key| {
            let error = how
                .remove(&key)
                .unwrap_or_else(|| Some(UNKNOWN_END.to_owned()));
            (key, error)
        })
        .collect();
    on_engine(remote, move |e| {
        for (key, error) in ended {
            // False for one this node claimed or heard of meanwhile.
            e.cluster_ended_elsewhere(&key, error);
        }
    })
    .await;
    Ok(())
}

/// Waits until the writes sent so far are committed; false if the store
/// closed first or a write failed for good.
async fn flushed(inner: &Inner) -> bool {
    let (tx, rx) = crossbeam_channel::bounded(1);
    if inner.writes.send(crate::store::Op::Committed(tx)).is_err() {
        return false;
    }
    matches!(
        tokio::task::spawn_blocking(move || rx.recv()).await,
        Ok(Ok(true))
    )
}

/// Claims tasks for the pools of this node that can take them, whenever
/// woken (a notification, a local task ended) and every `poll`.
pub(super) async fn claimer(inner: Arc<Inner>) {
    let mut failures = 0u32;
    loop {
        let mut wait = inner.poll;
        match claim_round(&inner).await {
            Ok(Some(next_due)) => {
                failures = 0;
                wait = wait.min(next_due);
            }
            Ok(None) => failures = 0,
            Err(e) => {
                if failures == 0 {
                    eprintln!(
                        "[synchronik] {}",
                        inner.error(format!("claiming tasks failed, trying again: {e}"))
                    );
                }
                failures += 1;
                wait = backoff(failures).min(inner.poll.max(Duration::from_millis(50)));
            }
        }
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = inner.claim.notified() => {}
            () = inner.shutdown.notified() => return,
        }
    }
}

/// The demand the engine posted, and the latest of its clocks then.
fn take_posted(inner: &Inner) -> Option<(Vec<Demand>, f64)> {
    let posted = std::mem::take(&mut *inner.posted.lock());
    let now_ms = posted.values().map(|(_, at)| *at).reduce(f64::max)?;
    Some((posted.into_values().map(|(d, _)| d).collect(), now_ms))
}

/// Claims until no pool wants more or the queue has none for it. Returns
/// how long until the next delayed task of a pool with room comes due.
async fn claim_round(inner: &Arc<Inner>) -> Result<Option<Duration>, String> {
    let Some(remote) = inner.remote() else {
        return Ok(None);
    };
    let client = inner.pool.get().await.map_err(|e| e.to_string())?;
    let claim = client
        .prepare_cached(&inner.sql.q(
            // The keys first, then the rows by primary key: a join here may
            // be planned as a hash join over the whole table.
            "UPDATE {s}.tasks t SET node = $1, status = 'queued', attempt = t.attempt + 1
             WHERE t.key = ANY(ARRAY(
                SELECT key FROM {s}.tasks
                WHERE node IS NULL AND kind = 'pool' AND pool = $2 AND handler = ANY($3)
                  AND (run_at_ms IS NULL OR run_at_ms <= $4)
                ORDER BY priority DESC, seq LIMIT $5 FOR UPDATE SKIP LOCKED))
             RETURNING t.key, t.name, t.handler, t.payload, t.priority, t.attempt, t.seq",
        ))
        .await
        .map_err(|e| describe(&e))?;
    let mut next_due: Option<f64> = None;
    // The demand the engine had when it took the last claimed tasks.
    let mut known: Option<(Vec<Demand>, f64)> = None;
    loop {
        if inner.closing.load(Ordering::SeqCst) {
            return Ok(None);
        }
        // What the engine posted as tasks ended, else what it had when it
        // took the tasks just claimed, else asked of it (a wake by the
        // poll, a notification, another node's tasks).
        let (demand, now_ms) = match (take_posted(inner), known.take()) {
            (Some(posted), _) => posted,
            (None, Some(known)) => known,
            (None, None) => {
                let Some(asked) =
                    on_engine(remote.clone(), |e| (e.cluster_demand(), e.wall_ms())).await
                else {
                    return Ok(None);
                };
                asked
            }
        };
        let mut more = false;
        for Demand {
            pool,
            handlers,
            want,
        } in demand
        {
            if want == 0 || handlers.is_empty() {
                continue;
            }
            let limit = want as i64;
            let _claims = inner.claiming.lock().await;
            let rows = client
                .query(&claim, &[&inner.node, &pool, &handlers, &now_ms, &limit])
                .await
                .map_err(|e| describe(&e))?;
            if rows.len() == want {
                more = true;
            }
            if rows.is_empty() {
                let due: Option<f64> = client
                    .query_one(
                        &inner.sql.q(
                            "SELECT min(run_at_ms) FROM {s}.tasks
                             WHERE node IS NULL AND kind = 'pool' AND pool = $1 AND handler = ANY($2) AND run_at_ms > $3",
                        ),
                        &[&pool, &handlers, &now_ms],
                    )
                    .await
                    .map_err(|e| describe(&e))?
                    .get(0);
                if let Some(d) = due {
                    next_due = Some(next_due.map_or(d - now_ms, |n: f64| n.min(d - now_ms)));
                }
                continue;
            }
            let mut tasks: Vec<(i64, TaskRow)> = rows
                .iter()
                .map(|r| super::claimed(r, &pool, false))
                .collect();
            tasks.sort_by(|a, b| b.1.priority.total_cmp(&a.1.priority).then(a.0.cmp(&b.0)));
            let tasks: Vec<TaskRow> = tasks.into_iter().map(|(_, t)| t).collect();
            let name = pool.clone();
            let handed = Arc::clone(inner);
            let Some((refused, demand)) = on_engine(remote.clone(), move |e| {
                let refused = e.cluster_deliver(&name, tasks);
                // Under the engine's lock: a demand posted before did not
                // count these tasks, one posted after does. What the pools
                // want now comes back with them: the next turn claims
                // without asking the engine again.
                handed.posted.lock().remove(&name);
                (refused, (e.cluster_demand(), e.wall_ms()))
            })
            .await
            else {
                return Ok(None);
            };
            known = Some(demand);
            if !refused.is_empty() {
                let keys: Vec<&str> = refused.iter().map(String::as_str).collect();
                client
                    .execute(
                        &inner.sql.q(
                            "UPDATE {s}.tasks SET node = NULL, status = 'queued', attempt = greatest(attempt - 1, 0)
                             WHERE key = ANY($1) AND node = $2",
                        ),
                        &[&keys, &inner.node],
                    )
                    .await
                    .map_err(|e| describe(&e))?;
            }
        }
        if !more {
            break;
        }
    }
    Ok(next_due.map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)))
}

/// The node leaves: every task it holds goes back to the queue (its
/// running tasks have ended: the manager stopped first), its leases and
/// its row go, and other nodes are told.
pub(super) async fn leave(inner: &Inner) {
    let Ok(mut client) = inner.pool.get().await else {
        return;
    };
    let sql = &inner.sql;
    let result = async {
        let tx = client.transaction().await?;
        let pools: Vec<String> = tx
            .query(
                &sql.q(
                    "UPDATE {s}.tasks SET node = NULL, status = 'queued',
                        attempt = CASE WHEN status = 'queued' AND kind = 'pool' THEN greatest(attempt - 1, 0) ELSE attempt END
                     WHERE node = $1 RETURNING pool",
                ),
                &[&inner.node],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute(&sql.q("DELETE FROM {s}.leases WHERE node = $1"), &[&inner.node])
            .await?;
        tx.execute(&sql.q("DELETE FROM {s}.nodes WHERE id = $1"), &[&inner.node])
            .await?;
        let pools: Vec<&str> = pools
            .iter()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !pools.is_empty() {
            tx.execute(
                "SELECT pg_notify($1, 'p:' || p) FROM unnest($2::text[]) AS p",
                &[&sql.channel, &pools],
            )
            .await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        eprintln!(
            "[synchronik] {}",
            inner.error(format!(
                "leaving the cluster failed ({}); its tasks go back to the queue when its lease runs out",
                describe(&e)
            ))
        );
    }
}
