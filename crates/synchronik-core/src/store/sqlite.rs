//! The SQLite backend of the store: one embedded database file (WAL mode,
//! `synchronous = NORMAL`), one writer thread (see `writer.rs`), one lock
//! file per database (see `lock.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use super::{
    lock, parse_times, queue, writer, HistoryQuery, HistoryRow, Op, StoreOptions, TaskRow, UnitRow,
    SCHEMA_VERSION,
};
use crate::error::EngineError;

/// An open SQLite store.
pub(super) struct Shared {
    path: PathBuf,
    pending: Arc<AtomicU64>,
    tx: queue::Sender,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Held while the store is open; dropped after the writer has ended.
    lock: Mutex<Option<lock::DbLock>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.tx.send(Op::Shutdown);
        if let Some(h) = self.thread.get_mut().take() {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

pub(super) fn storage_error(path: &Path, message: impl Into<String>) -> EngineError {
    EngineError::Storage {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Checks an existing, non-empty file on a read-only connection: it must be
/// a SQLite database that passes `quick_check`. Nothing is written.
fn validate_existing(path: &Path) -> Result<(), EngineError> {
    let fail = |m: String| storage_error(path, m);
    let mut header = [0u8; 16];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let n = f
            .read(&mut header)
            .map_err(|e| fail(format!("cannot read: {e}")))?;
        if n < 16 || &header != b"SQLite format 3\0" {
            return Err(fail(
                "the file is not a SQLite database (file is not a database); it was left unchanged"
                    .into(),
            ));
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| fail(format!("cannot open the database: {e}")))?;
    let mut problems: Vec<String> = Vec::new();
    let result = conn.prepare("PRAGMA quick_check").and_then(|mut stmt| {
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            problems.push(row?);
        }
        Ok(())
    });
    match result {
        Err(e) => Err(fail(format!(
            "the database is corrupt or truncated ({e}); it was left unchanged"
        ))),
        Ok(()) if problems.len() == 1 && problems[0] == "ok" => {
            // A newer schema than this code knows is refused too.
            let version: Option<i64> = conn
                .query_row(
                    "SELECT value FROM synchronik_meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .ok()
                .and_then(|v| v.parse().ok());
            match version {
                Some(v) if v > SCHEMA_VERSION => Err(fail(format!(
                    "the database has schema version {v}, newer than this version of synchronik supports ({SCHEMA_VERSION})"
                ))),
                _ => Ok(()),
            }
        }
        Ok(()) => Err(fail(format!(
            "the database is corrupt (quick_check: {}); it was left unchanged",
            problems.join("; ")
        ))),
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS synchronik_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    run_count INTEGER NOT NULL,
    execution_times TEXT NOT NULL,
    last_run_ms REAL,
    meta TEXT,
    last_fire_ms REAL
);
CREATE TABLE IF NOT EXISTS tasks (
    key TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    name TEXT NOT NULL,
    handler TEXT NOT NULL,
    payload TEXT,
    priority REAL NOT NULL,
    arrangement INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'pool',
    run_at_ms REAL
);
CREATE INDEX IF NOT EXISTS tasks_by_pool ON tasks (pool, arrangement);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    unit_id TEXT NOT NULL,
    task_key TEXT,
    task_name TEXT,
    pool TEXT,
    attempt INTEGER NOT NULL,
    started_ms REAL NOT NULL,
    ended_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS history_by_unit ON history (unit_id, started_ms);
CREATE INDEX IF NOT EXISTS history_by_start ON history (started_ms);
";

impl Shared {
    /// Opens (or creates) the database at `path`. An existing file is
    /// validated read-only first; any problem is an
    /// [`EngineError::Storage`] naming the path, and the file is untouched.
    /// So is a file another store has open (in this process or another):
    /// the error names its holder.
    pub(super) fn open(
        path: impl AsRef<Path>,
        options: &StoreOptions,
    ) -> Result<Arc<Shared>, EngineError> {
        let path = path.as_ref().to_path_buf();
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                return Err(storage_error(&path, "the path is a directory, not a file"))
            }
            // Read-only: a file refused here gets no lock file beside it.
            Ok(m) if m.len() > 0 => validate_existing(&path)?,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| Path::new("."));
                match std::fs::metadata(parent) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(storage_error(
                            &path,
                            format!(
                                "cannot create the database: {} is not a directory",
                                parent.display()
                            ),
                        ))
                    }
                    Err(e) => {
                        return Err(storage_error(
                            &path,
                            format!("cannot create the database in {}: {e}", parent.display()),
                        ))
                    }
                }
            }
            Err(e) => return Err(storage_error(&path, format!("cannot access the file: {e}"))),
        }
        let db_lock = lock::acquire(&path, options.host.as_deref())?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| storage_error(&path, format!("cannot open the database: {e}")))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!(
                        "cannot switch to WAL mode (journal mode is {mode})"
                    )),
                ));
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.execute_batch(SCHEMA)?;
            // A version 1 database: its tasks are worker pools' tasks.
            let has_kind = conn
                .prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'kind'")?
                .exists([])?;
            if !has_kind {
                conn.execute_batch(
                    "ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'pool'",
                )?;
            }
            let has_run_at = conn
                .prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'run_at_ms'")?
                .exists([])?;
            if !has_run_at {
                conn.execute_batch("ALTER TABLE tasks ADD COLUMN run_at_ms REAL")?;
            }
            let has_last_fire = conn
                .prepare("SELECT 1 FROM pragma_table_info('units') WHERE name = 'last_fire_ms'")?
                .exists([])?;
            if !has_last_fire {
                conn.execute_batch("ALTER TABLE units ADD COLUMN last_fire_ms REAL")?;
            }
            conn.execute(
                "INSERT OR REPLACE INTO synchronik_meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )?;
            conn.set_prepared_statement_cache_capacity(32);
            Ok(())
        };
        setup().map_err(|e| storage_error(&path, format!("cannot write the database: {e}")))?;
        let (tx, mut rx) = queue::queue();
        let shared = Arc::new(Shared {
            path: path.clone(),
            pending: Arc::new(AtomicU64::new(0)),
            tx,
            thread: Mutex::new(None),
            lock: Mutex::new(Some(db_lock)),
        });
        let pending = shared.pending.clone();
        let thread_path = path.clone();
        let retention = options.history;
        let thread = std::thread::Builder::new()
            .name("synchronik-store".into())
            .spawn(move || writer::run(conn, &mut rx, &pending, retention, &thread_path))
            .map_err(|e| storage_error(&path, format!("cannot start the writer thread: {e}")))?;
        *shared.thread.lock() = Some(thread);
        Ok(shared)
    }

    /// The database file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a write. Never blocks.
    pub(super) fn send(&self, op: Op) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(op).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Writes sent and not committed yet.
    pub(super) fn pending_writes(&self) -> u64 {
        self.pending.load(Ordering::SeqCst)
    }

    /// Size on disk: the database and its write-ahead log, in bytes.
    pub(super) fn bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        size(&self.path) + size(Path::new(&wal))
    }

    /// Waits until every write sent so far is committed. Reports the first
    /// write that failed since the previous flush.
    pub(super) fn flush(&self) -> Result<(), EngineError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.tx.send(Op::Flush(tx)).is_err() {
            return Err(self.closed());
        }
        rx.recv().unwrap_or_else(|_| Err(self.closed()))
    }

    fn closed(&self) -> EngineError {
        storage_error(&self.path, "the store is closed")
    }

    /// Runs `f` on the writer's connection after every write sent so far
    /// is committed, and returns its answer.
    pub(super) fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, EngineError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let job: Box<dyn FnOnce(&Connection) + Send> = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        if self.tx.send(Op::Query(job)).is_err() {
            return Err(self.closed());
        }
        let path = self.path.clone();
        match rx.recv() {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(storage_error(
                &path,
                format!("cannot read the database: {e}"),
            )),
            Err(_) => Err(self.closed()),
        }
    }

    /// Every stored unit.
    pub(super) fn load_units(&self) -> Result<Vec<UnitRow>, EngineError> {
        self.query(|c| {
            let mut stmt = c.prepare(
                "SELECT id, status, enabled, run_count, execution_times, last_run_ms, meta, last_fire_ms FROM units",
            )?;
            let rows = stmt.query_map([], |r| {
                let times: String = r.get(4)?;
                Ok(UnitRow {
                    id: r.get(0)?,
                    status: r.get(1)?,
                    enabled: r.get::<_, i64>(2)? != 0,
                    run_count: r.get::<_, i64>(3)?.max(0) as u64,
                    execution_times_ms: parse_times(&times),
                    last_run_ms: r.get(5)?,
                    last_fire_ms: r.get(7)?,
                    meta: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The stored tasks of the pool called `pool`, in queue order
    /// (priority descending, then arrangement).
    pub(super) fn load_tasks(&self, pool: &str) -> Result<Vec<TaskRow>, EngineError> {
        self.load_tasks_of(pool, false)
    }

    /// The stored tasks of the thread pool called `pool`, in queue order.
    pub(super) fn load_thread_tasks(&self, pool: &str) -> Result<Vec<TaskRow>, EngineError> {
        self.load_tasks_of(pool, true)
    }

    fn load_tasks_of(&self, pool: &str, thread: bool) -> Result<Vec<TaskRow>, EngineError> {
        let pool = pool.to_owned();
        let kind = if thread { "thread" } else { "pool" };
        self.query(move |c| {
            let mut stmt = c.prepare(
                "SELECT key, pool, name, handler, payload, priority, arrangement, attempt, status, run_at_ms
                 FROM tasks WHERE pool = ?1 AND kind = ?2 ORDER BY priority DESC, arrangement ASC",
            )?;
            let rows = stmt.query_map([pool.as_str(), kind], |r| {
                Ok(TaskRow {
                    key: r.get(0)?,
                    pool: r.get(1)?,
                    name: r.get(2)?,
                    handler: r.get(3)?,
                    payload: r.get(4)?,
                    priority: r.get(5)?,
                    arrangement: r.get::<_, i64>(6)?.max(0) as u64,
                    attempt: r.get::<_, i64>(7)?.clamp(0, i64::from(u32::MAX)) as u32,
                    status: r.get(8)?,
                    thread,
                    run_at_ms: r.get(9)?,
                    owned: true,
                })
            })?;
            rows.collect()
        })
    }

    /// History rows, newest first.
    pub(super) fn history(&self, q: HistoryQuery) -> Result<Vec<HistoryRow>, EngineError> {
        self.query(move |c| {
            let mut stmt = c.prepare(
                "SELECT unit_id, task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error
                 FROM history
                 WHERE (?1 IS NULL OR unit_id = ?1) AND (?2 IS NULL OR started_ms >= ?2)
                 ORDER BY id DESC LIMIT ?3",
            )?;
            let limit = i64::from(q.limit.unwrap_or(100));
            let rows = stmt.query_map(rusqlite::params![q.unit_id, q.since_ms, limit], |r| {
                Ok(HistoryRow {
                    unit_id: r.get(0)?,
                    task_key: r.get(1)?,
                    task_name: r.get(2)?,
                    pool: r.get(3)?,
                    attempt: r.get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                    started_ms: r.get(5)?,
                    ended_ms: r.get(6)?,
                    outcome: r.get(7)?,
                    error: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Number of history rows.
    pub(super) fn history_len(&self) -> Result<u64, EngineError> {
        self.query(|c| {
            c.query_row("SELECT COUNT(*) FROM history", [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        })
    }

    /// Commits what is pending, ends the writer thread and releases the
    /// database file for another store (idempotent). Later writes are
    /// dropped; later reads fail.
    pub(super) fn close(&self) {
        let _ = self.tx.send(Op::Shutdown);
        // Held while joining, so a concurrent close returns only once the
        // writer has ended too.
        let mut thread = self.thread.lock();
        if let Some(h) = thread.take() {
            if h.thread().id() == std::thread::current().id() {
                // Called from the writer itself: it ends after this, and the
                // lock goes when the last handle does.
                return;
            }
            let _ = h.join();
        }
        drop(self.lock.lock().take());
    }
}
