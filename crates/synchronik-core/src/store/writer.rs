//! The writer thread: group commit of folded batches.

use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use rusqlite::{params, Connection};

use super::{queue, storage_error, times_json, HistoryRow, Op, Retention, TaskRow, UnitRow};
use crate::error::EngineError;

/// At most this many writes go into one transaction.
const MAX_BATCH: u64 = 20_000;
/// A batch keeps room for this many entries per map or vector between
/// turns.
const KEEP: usize = 4096;
/// History retention runs at least this often while rows are written.
const RETENTION_EVERY: Duration = Duration::from_secs(10);

pub(super) enum UnitChange {
    Upsert(UnitRow),
    /// The row is deleted, then written anew.
    Replace(UnitRow),
    Delete,
}

pub(super) enum TaskChange {
    /// Boxed: a batch moves its entries as it folds them, and most are
    /// the small changes of a running task.
    Insert(Box<TaskRow>),
    Update {
        attempt: Option<u32>,
        status: &'static str,
    },
    Delete,
    /// Deleted as ended: how it failed (`None`: it completed), for the
    /// node that added it (a shared store).
    Ended(Option<String>),
    /// Inserted and deleted in the same batch: nothing reaches the disk.
    Gone,
}

/// A change of a queued task; `None` fields stay as they are.
pub(super) struct TaskPatch {
    pub(super) key: String,
    /// The new payload (JSON text).
    pub(super) payload: Option<String>,
    pub(super) priority: Option<f64>,
    pub(super) handler: Option<String>,
}

/// One batch of writes, folded so each unit and each task is written once.
/// A writer keeps one and clears it after each commit, so a turn does not
/// grow its maps and vectors from nothing again (keyed by a fast hasher
/// with a random seed per map: keys may come from other nodes).
#[derive(Default)]
pub(super) struct Batch {
    pub(super) units: foldhash::HashMap<String, UnitChange>,
    pub(super) tasks: foldhash::HashMap<String, TaskChange>,
    /// Changes of queued tasks, in order; applied after `tasks`.
    pub(super) patches: Vec<TaskPatch>,
    pub(super) history: Vec<HistoryRow>,
}

fn merge_meta(mut new: UnitRow, old: &UnitRow) -> UnitRow {
    if new.meta.is_none() {
        new.meta.clone_from(&old.meta);
    }
    new
}

impl Batch {
    pub(super) fn add(&mut self, op: Op) {
        match op {
            Op::Unit(row) => {
                let id = row.id.clone();
                let change = match self.units.remove(&id) {
                    None => UnitChange::Upsert(row),
                    Some(UnitChange::Upsert(old)) => UnitChange::Upsert(merge_meta(row, &old)),
                    Some(UnitChange::Replace(old)) => UnitChange::Replace(merge_meta(row, &old)),
                    Some(UnitChange::Delete) => UnitChange::Replace(row),
                };
                self.units.insert(id, change);
            }
            Op::UnitDelete(id) => {
                self.units.insert(id, UnitChange::Delete);
            }
            Op::TaskInsert(row) => {
                self.tasks
                    .insert(row.key.clone(), TaskChange::Insert(Box::new(row)));
            }
            Op::TaskStart { key, attempt } => self.update_task(key, Some(attempt), "running"),
            Op::TaskRequeue { key } => self.update_task(key, None, "queued"),
            Op::TaskEnded { key, error } => self.delete_task(key, TaskChange::Ended(error)),
            Op::TaskDelete(key) => self.delete_task(key, TaskChange::Delete),
            Op::TaskPatch {
                key,
                payload,
                priority,
                handler,
            } => self.patches.push(TaskPatch {
                key,
                payload,
                priority,
                handler,
            }),
            Op::History(row) => self.history.push(row),
            Op::Flush(_) | Op::Committed(_) | Op::Query(_) | Op::Shutdown => {}
        }
    }

    /// `deleted` (a deletion) unless the task was inserted in this batch.
    fn delete_task(&mut self, key: String, deleted: TaskChange) {
        match self.tasks.entry(key) {
            Entry::Occupied(mut e) => {
                let gone = matches!(e.get(), TaskChange::Insert(_) | TaskChange::Gone);
                e.insert(if gone { TaskChange::Gone } else { deleted });
            }
            Entry::Vacant(e) => {
                e.insert(deleted);
            }
        }
    }

    fn update_task(&mut self, key: String, attempt: Option<u32>, status: &'static str) {
        match self.tasks.entry(key) {
            Entry::Occupied(mut e) => match e.get_mut() {
                TaskChange::Insert(row) => {
                    if let Some(a) = attempt {
                        row.attempt = a;
                    }
                    status.clone_into(&mut row.status);
                }
                TaskChange::Update {
                    attempt: old,
                    status: was,
                } => {
                    *old = attempt.or(*old);
                    *was = status;
                }
                // Deleted (or never to be written): the update is moot.
                TaskChange::Gone | TaskChange::Delete | TaskChange::Ended(_) => {}
            },
            Entry::Vacant(e) => {
                e.insert(TaskChange::Update { attempt, status });
            }
        }
    }

    /// Rows this batch writes (for tests of the folding).
    #[cfg(test)]
    pub(super) fn writes(&self) -> usize {
        self.units.len()
            + self
                .tasks
                .values()
                .filter(|c| !matches!(c, TaskChange::Gone))
                .count()
            + self.patches.len()
            + self.history.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.units.is_empty()
            && self.tasks.is_empty()
            && self.patches.is_empty()
            && self.history.is_empty()
    }

    /// Empties the batch, keeping what its maps and vectors have allocated
    /// up to [`KEEP`] entries each (a burst's batch does not stay big).
    pub(super) fn clear(&mut self) {
        self.units.clear();
        self.units.shrink_to(KEEP);
        self.tasks.clear();
        self.tasks.shrink_to(KEEP);
        self.patches.clear();
        self.patches.shrink_to(KEEP);
        self.history.clear();
        self.history.shrink_to(KEEP);
    }

    /// Applies the batch in one transaction.
    pub(super) fn apply(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction()?;
        {
            for (id, change) in &self.units {
                let upsert = |row: &UnitRow| -> rusqlite::Result<usize> {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO units (id, status, enabled, run_count, execution_times, last_run_ms, meta, last_fire_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                            enabled = excluded.enabled, run_count = excluded.run_count,
                            execution_times = excluded.execution_times,
                            last_run_ms = excluded.last_run_ms,
                            last_fire_ms = COALESCE(excluded.last_fire_ms, units.last_fire_ms),
                            meta = COALESCE(excluded.meta, units.meta)",
                    )?;
                    stmt.execute(params![
                        row.id,
                        row.status,
                        i64::from(row.enabled),
                        row.run_count.min(i64::MAX as u64) as i64,
                        times_json(&row.execution_times_ms),
                        row.last_run_ms,
                        row.meta,
                        row.last_fire_ms,
                    ])
                };
                let delete = || -> rusqlite::Result<usize> {
                    tx.prepare_cached("DELETE FROM units WHERE id = ?1")?
                        .execute([id])
                };
                match change {
                    UnitChange::Upsert(row) => {
                        upsert(row)?;
                    }
                    UnitChange::Replace(row) => {
                        delete()?;
                        upsert(row)?;
                    }
                    UnitChange::Delete => {
                        delete()?;
                    }
                }
            }
            for (key, change) in &self.tasks {
                match change {
                    TaskChange::Insert(row) => {
                        tx.prepare_cached(
                            "INSERT OR REPLACE INTO tasks (key, pool, name, handler, payload, priority, arrangement, attempt, status, kind, run_at_ms)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        )?
                        .execute(params![
                            row.key,
                            row.pool,
                            row.name,
                            row.handler,
                            row.payload,
                            row.priority,
                            row.arrangement.min(i64::MAX as u64) as i64,
                            i64::from(row.attempt),
                            row.status,
                            if row.thread { "thread" } else { "pool" },
                            row.run_at_ms,
                        ])?;
                    }
                    TaskChange::Update { attempt, status } => {
                        tx.prepare_cached(
                            "UPDATE tasks SET attempt = COALESCE(?2, attempt), status = ?3 WHERE key = ?1",
                        )?
                        .execute(params![key, attempt.map(i64::from), status])?;
                    }
                    TaskChange::Delete | TaskChange::Ended(_) => {
                        tx.prepare_cached("DELETE FROM tasks WHERE key = ?1")?
                            .execute([key])?;
                    }
                    TaskChange::Gone => {}
                }
            }
            for TaskPatch {
                key,
                payload,
                priority,
                handler,
            } in &self.patches
            {
                tx.prepare_cached(
                    "UPDATE tasks SET payload = CASE WHEN ?2 THEN ?3 ELSE payload END,
                        priority = COALESCE(?4, priority), handler = COALESCE(?5, handler) WHERE key = ?1",
                )?
                .execute(params![key, payload.is_some(), payload, priority, handler])?;
            }
            if !self.history.is_empty() {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO history (unit_id, task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for h in &self.history {
                    stmt.execute(params![
                        h.unit_id,
                        h.task_key,
                        h.task_name,
                        h.pool,
                        i64::from(h.attempt),
                        h.started_ms,
                        h.ended_ms,
                        h.outcome,
                        h.error,
                    ])?;
                }
            }
        }
        tx.commit()
    }
}

/// A read to run on SQLite's connection (see [`Op::Query`]).
pub(super) type Query = Box<dyn FnOnce(&Connection) + Send>;

/// What one turn of a writer takes from its queue: the first op and
/// whatever else already waits, up to [`MAX_BATCH`] writes or a shutdown.
pub(super) struct Gathered {
    pub(super) batch: Batch,
    /// Flushes to answer once the batch is committed.
    pub(super) replies: Vec<Sender<Result<(), EngineError>>>,
    /// Waits to answer once the batch is committed (see [`Op::Committed`]).
    pub(super) committed: Vec<Sender<bool>>,
    /// Reads to run after it (SQLite only).
    pub(super) queries: Vec<Query>,
    pub(super) shutdown: bool,
    /// Writes in the batch.
    pub(super) count: u64,
    /// History rows among them.
    pub(super) history: u64,
}

impl Gathered {
    /// Gathers into `batch` (empty; the writer's, kept between turns).
    pub(super) fn from(batch: Batch, first: Op, mut next_op: impl FnMut() -> Option<Op>) -> Self {
        let mut g = Gathered {
            batch,
            replies: Vec::new(),
            committed: Vec::new(),
            queries: Vec::new(),
            shutdown: false,
            count: 0,
            history: 0,
        };
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                Op::Flush(reply) => g.replies.push(reply),
                Op::Committed(reply) => g.committed.push(reply),
                Op::Query(job) => g.queries.push(job),
                Op::Shutdown => g.shutdown = true,
                op => {
                    if matches!(op, Op::History(_)) {
                        g.history += 1;
                    }
                    g.count += 1;
                    g.batch.add(op);
                }
            }
            if g.shutdown || g.count >= MAX_BATCH {
                break;
            }
            next = next_op();
        }
        g
    }
}

pub(super) fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Deletes history rows older than the retention's age, then all but the
/// newest `max_rows`.
pub(super) fn enforce_retention(conn: &Connection, r: Retention) -> rusqlite::Result<()> {
    if r.max_age_ms.is_finite() && r.max_age_ms >= 0.0 {
        conn.prepare_cached("DELETE FROM history WHERE started_ms < ?1")?
            .execute([wall_ms() - r.max_age_ms])?;
    }
    conn.prepare_cached(
        "DELETE FROM history WHERE id <= (SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    )?
    .execute([r.max_rows.min(i64::MAX as u64) as i64])?;
    Ok(())
}

/// The writer thread's loop; returns when told to shut down or when every
/// handle is gone.
pub(super) fn run(
    mut conn: Connection,
    rx: &mut queue::Receiver,
    pending: &AtomicU64,
    retention: Option<Retention>,
    path: &Path,
) {
    let mut failure: Option<EngineError> = None;
    let mut reported = false;
    let mut history_since = 0u64;
    let mut last_retention = Instant::now();
    if let Some(r) = retention {
        let _ = enforce_retention(&conn, r);
    }
    let threshold = retention.map_or(u64::MAX, |r| (r.max_rows / 10).max(1));
    let mut spare = Batch::default();
    loop {
        let Some(first) = rx.recv_blocking() else {
            break;
        };
        let Gathered {
            mut batch,
            replies,
            committed,
            queries,
            shutdown,
            count,
            history,
        } = Gathered::from(std::mem::take(&mut spare), first, || rx.try_recv());
        history_since += history;
        // A panic in SQLite's wrapper must not end the thread silently.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batch.apply(&mut conn)))
                .unwrap_or_else(|_| {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
                        Some("the writer panicked while applying a batch".into()),
                    ))
                });
        batch.clear();
        spare = batch;
        pending.fetch_sub(count, Ordering::SeqCst);
        for reply in committed {
            let _ = reply.send(result.is_ok());
        }
        match result {
            Ok(()) => reported = false,
            Err(e) => {
                let error = storage_error(path, format!("a write failed: {e}"));
                if !reported {
                    eprintln!("[synchronik] {error}");
                    reported = true;
                }
                if failure.is_none() {
                    failure = Some(error);
                }
            }
        }
        if let Some(r) = retention {
            if history_since >= threshold
                || (history_since > 0 && last_retention.elapsed() >= RETENTION_EVERY)
            {
                let _ = enforce_retention(&conn, r);
                history_since = 0;
                last_retention = Instant::now();
            }
        }
        for job in queries {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn)));
        }
        if !replies.is_empty() {
            let answer = failure.take().map_or(Ok(()), Err);
            for reply in replies {
                let _ = reply.send(answer.clone());
            }
        }
        if shutdown {
            break;
        }
    }
    if let Some(r) = retention {
        if history_since > 0 {
            let _ = enforce_retention(&conn, r);
        }
    }
    // Dropping the connection checkpoints the log into the database.
    drop(conn);
}
