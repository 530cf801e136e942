//! The durable store: unit state, durable pool tasks and a history of
//! attempts in one embedded SQLite database (WAL mode, `synchronous =
//! NORMAL`).
//!
//! Writes never happen on the caller's thread. [`Store::send`] puts an
//! [`Op`] on a channel and returns; one writer thread blocks for the first
//! op, takes everything else already waiting, folds it (an upsert of the
//! same unit twice is one row write, a task inserted and deleted in the same
//! batch never reaches the disk) and applies the batch in one transaction
//! with cached statements (group commit). [`Store::flush`] waits until
//! every op sent before it is committed. Reads go through the same thread,
//! so they see every write sent before them.
//!
//! Opening validates before it writes: an existing file must be a SQLite
//! database that passes `PRAGMA quick_check`, checked on a read-only
//! connection, so a corrupt or truncated file is reported and left exactly
//! as it was.
//!
//! One store per database file: opening takes an exclusive lock on
//! `<db>.lock` (see [`lock`]) and a second open of the same file, from this
//! process or another, fails naming the holder. The lock is released when
//! the store closes, and by the OS when the process ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use crate::error::EngineError;

mod lock;
mod writer;

/// The version of the schema this code writes.
///
/// 2: tasks have a `kind` (`'pool'`: a worker pool's, `'thread'`: a thread
/// pool's) and a `run_at_ms` (a delayed task's time), and units a
/// `last_fire_ms` (a calendar schedule's last fire); a version 1 database
/// gains the columns (its tasks are `'pool'`).
pub const SCHEMA_VERSION: i64 = 2;

/// How long history rows are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Rows whose attempt started longer ago than this are deleted.
    pub max_age_ms: f64,
    /// At most this many rows are kept (the newest).
    pub max_rows: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age_ms: 7.0 * 24.0 * 3600.0 * 1000.0,
            max_rows: 100_000,
        }
    }
}

/// Settings of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// The history of attempts and its retention; `None` keeps no history.
    pub history: Option<Retention>,
    /// This machine's name, recorded in the lock file for the error a
    /// second opener gets; `None`: what the system tells
    /// (`/proc/sys/kernel/hostname`, `$HOSTNAME`, `%COMPUTERNAME%`).
    pub host: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            history: Some(Retention::default()),
            host: None,
        }
    }
}

/// A unit's durable state.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub id: String,
    pub status: String,
    pub enabled: bool,
    pub run_count: u64,
    /// The last execution times (ms), oldest first.
    pub execution_times_ms: Vec<f64>,
    pub last_run_ms: Option<f64>,
    /// The last fire of its calendar schedule (Unix ms), for catch-up.
    pub last_fire_ms: Option<f64>,
    /// The host's own metadata as JSON text; `None` leaves the stored one.
    pub meta: Option<String>,
}

/// A durable pool task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// The idempotency key; stable across restarts.
    pub key: String,
    pub pool: String,
    pub name: String,
    pub handler: String,
    /// JSON text; `None` for no payload.
    pub payload: Option<String>,
    pub priority: f64,
    pub arrangement: u64,
    /// Attempts started so far.
    pub attempt: u32,
    /// `"queued"` or `"running"`.
    pub status: String,
    /// A thread pool's task (else a worker pool's).
    pub thread: bool,
    /// When it is queued (Unix ms; `runAt`, `delayMs`), if it waits for it.
    pub run_at_ms: Option<f64>,
}

/// One attempt, as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub unit_id: String,
    pub task_key: Option<String>,
    pub task_name: Option<String>,
    pub pool: Option<String>,
    pub attempt: u32,
    pub started_ms: f64,
    pub ended_ms: f64,
    /// `"completed"`, `"error"`, `"cancelled"` or `"stopped"`.
    pub outcome: String,
    pub error: Option<String>,
}

/// What [`Store::history`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    pub unit_id: Option<String>,
    /// Attempts that started at or after this wall-clock time (ms).
    pub since_ms: Option<f64>,
    /// At most this many rows (the newest), default 100.
    pub limit: Option<u32>,
}

/// One write (or a request) for the writer thread.
pub enum Op {
    Unit(UnitRow),
    UnitDelete(String),
    TaskInsert(TaskRow),
    /// An attempt of the task started: its count and `"running"`.
    TaskStart {
        key: String,
        attempt: u32,
    },
    /// The task goes back to the queue (its run was stopped).
    TaskRequeue {
        key: String,
    },
    TaskDelete(String),
    /// The task's payload (JSON text), priority and/or handler changed.
    TaskPatch {
        key: String,
        payload: Option<String>,
        priority: Option<f64>,
        handler: Option<String>,
    },
    History(HistoryRow),
    /// Replied to once everything before it is committed.
    Flush(Sender<Result<(), EngineError>>),
    /// Runs on the writer's connection after everything before it is committed.
    Query(Box<dyn FnOnce(&Connection) + Send>),
    /// Commits what is left and ends the thread.
    Shutdown,
}

struct Shared {
    path: PathBuf,
    pending: Arc<AtomicU64>,
    tx: Sender<Op>,
    thread: Mutex<Option<JoinHandle<()>>>,
    key_prefix: String,
    next_key: AtomicU64,
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

/// A handle on an open store; clones share the same writer thread, which
/// ends when the last handle is dropped or [`Store::close`] is called.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    history: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.shared.path)
            .finish()
    }
}

/// A handle that does not keep the store open (see [`Store::downgrade`]).
#[derive(Clone)]
pub struct WeakStore {
    shared: std::sync::Weak<Shared>,
    history: bool,
}

impl WeakStore {
    /// The store, while some [`Store`] handle keeps it open.
    pub fn upgrade(&self) -> Option<Store> {
        self.shared.upgrade().map(|shared| Store {
            shared,
            history: self.history,
        })
    }
}

fn storage_error(path: &Path, message: impl Into<String>) -> EngineError {
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

/// A prefix that differs between opens (and processes), for idempotency keys.
fn random_prefix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    let a = h.finish();
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(a);
    format!("{:016x}{:08x}", a, h2.finish() as u32)
}

impl Store {
    /// Opens (or creates) the database at `path`. An existing file is
    /// validated read-only first; any problem is an
    /// [`EngineError::Storage`] naming the path, and the file is untouched.
    /// So is a file another store has open (in this process or another):
    /// the error names its holder.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, EngineError> {
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
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            path: path.clone(),
            pending: Arc::new(AtomicU64::new(0)),
            tx,
            thread: Mutex::new(None),
            key_prefix: random_prefix(),
            next_key: AtomicU64::new(1),
            lock: Mutex::new(Some(db_lock)),
        });
        let pending = shared.pending.clone();
        let thread_path = path.clone();
        let retention = options.history;
        let thread = std::thread::Builder::new()
            .name("synchronik-store".into())
            .spawn(move || writer::run(conn, &rx, &pending, retention, &thread_path))
            .map_err(|e| storage_error(&path, format!("cannot start the writer thread: {e}")))?;
        *shared.thread.lock() = Some(thread);
        Ok(Store {
            shared,
            history: options.history.is_some(),
        })
    }

    /// A handle that lets the store close when every [`Store`] is dropped.
    pub fn downgrade(&self) -> WeakStore {
        WeakStore {
            shared: Arc::downgrade(&self.shared),
            history: self.history,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether the history of attempts is kept.
    pub fn keeps_history(&self) -> bool {
        self.history
    }

    /// Queues a write. Never blocks.
    pub fn send(&self, op: Op) {
        if matches!(op, Op::History(_)) && !self.history {
            return;
        }
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        if self.shared.tx.send(op).is_err() {
            self.shared.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Writes sent and not committed yet.
    pub fn pending_writes(&self) -> u64 {
        self.shared.pending.load(Ordering::SeqCst)
    }

    /// Size on disk: the database and its write-ahead log, in bytes.
    pub fn bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.shared.path.clone().into_os_string();
        wal.push("-wal");
        size(&self.shared.path) + size(Path::new(&wal))
    }

    /// A new idempotency key: unique across opens and processes.
    pub fn new_key(&self) -> String {
        let n = self.shared.next_key.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.shared.key_prefix)
    }

    /// Waits until every write sent so far is committed. Reports the first
    /// write that failed since the previous flush.
    pub fn flush(&self) -> Result<(), EngineError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.shared.tx.send(Op::Flush(tx)).is_err() {
            return Err(self.closed());
        }
        rx.recv().unwrap_or_else(|_| Err(self.closed()))
    }

    fn closed(&self) -> EngineError {
        storage_error(&self.shared.path, "the store is closed")
    }

    /// Runs `f` on the writer's connection after every write sent so far
    /// is committed, and returns its answer.
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, EngineError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let job: Box<dyn FnOnce(&Connection) + Send> = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        if self.shared.tx.send(Op::Query(job)).is_err() {
            return Err(self.closed());
        }
        let path = self.shared.path.clone();
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
    pub fn load_units(&self) -> Result<Vec<UnitRow>, EngineError> {
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
    pub fn load_tasks(&self, pool: &str) -> Result<Vec<TaskRow>, EngineError> {
        self.load_tasks_of(pool, false)
    }

    /// The stored tasks of the thread pool called `pool`, in queue order.
    pub fn load_thread_tasks(&self, pool: &str) -> Result<Vec<TaskRow>, EngineError> {
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
                })
            })?;
            rows.collect()
        })
    }

    /// History rows, newest first.
    pub fn history(&self, q: HistoryQuery) -> Result<Vec<HistoryRow>, EngineError> {
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
    pub fn history_len(&self) -> Result<u64, EngineError> {
        self.query(|c| {
            c.query_row("SELECT COUNT(*) FROM history", [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        })
    }

    /// Commits what is pending, ends the writer thread and releases the
    /// database file for another store (idempotent). Later writes are
    /// dropped; later reads fail.
    pub fn close(&self) {
        let _ = self.shared.tx.send(Op::Shutdown);
        // Held while joining, so a concurrent close returns only once the
        // writer has ended too.
        let mut thread = self.shared.thread.lock();
        if let Some(h) = thread.take() {
            if h.thread().id() == std::thread::current().id() {
                // Called from the writer itself: it ends after this, and the
                // lock goes when the last handle does.
                return;
            }
            let _ = h.join();
        }
        drop(self.shared.lock.lock().take());
    }
}

/// Execution times as stored: a JSON array of numbers.
pub(crate) fn times_json(times: &[f64]) -> String {
    let mut s = String::with_capacity(times.len() * 8 + 2);
    s.push('[');
    for (i, t) in times.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        if t.is_finite() {
            s.push_str(&t.to_string());
        } else {
            s.push('0');
        }
    }
    s.push(']');
    s
}

fn parse_times(s: &str) -> Vec<f64> {
    s.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(|x| x.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .collect()
}

#[cfg(test)]
mod tests;
