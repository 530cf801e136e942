//! The durable store: unit state, durable pool tasks and a history of
//! attempts — in one embedded SQLite database (WAL mode, `synchronous =
//! NORMAL`; `sqlite.rs`) or in a PostgreSQL database shared by any number
//! of managers (`postgres/`). The engine sees one [`Store`] either way: it
//! sends [`Op`]s and reads rows; which database is behind it is not its
//! concern, except that a shared store hands out tasks instead of keeping
//! them for one process (see [`Store::is_shared`]).
//!
//! What follows describes the SQLite store; the PostgreSQL one keeps the
//! same contract (group commit, flush, reads after the writes sent before
//! them) and is described in its own module.
//!
//! Writes never happen on the caller's thread. [`Store::send`] puts an
//! [`Op`] on the writer's queue (`queue.rs`) and returns; one writer
//! thread blocks for the first op, takes everything else already waiting,
//! folds it (an upsert of the same unit twice is one row write, a task
//! inserted and deleted in the same batch never reaches the disk) and
//! applies the batch in one transaction with cached statements (group
//! commit). [`Store::flush`] waits until
//! every op sent before it is committed. Reads go through the same thread,
//! so they see every write sent before them.
//!
//! Opening validates before it writes: an existing file must be a SQLite
//! database that passes `PRAGMA quick_check`, checked on a read-only
//! connection, so a corrupt or truncated file is reported and left exactly
//! as it was.
//!
//! One store per database file: opening takes an exclusive lock on
//! `<db>.lock` (see `lock.rs`) and a second open of the same file, from this
//! process or another, fails naming the holder. The lock is released when
//! the store closes, and by the OS when the process ends.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use rusqlite::Connection;

use crate::error::EngineError;

mod lock;
pub mod postgres;
mod queue;
mod sqlite;
mod writer;

use sqlite::storage_error;

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
    /// The unit's id.
    pub id: String,
    /// Its status, as [`crate::unit::Status::as_str`] writes it.
    pub status: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Completed runs.
    pub run_count: u64,
    /// The last execution times (ms), oldest first.
    pub execution_times_ms: Vec<f64>,
    /// When its last run started (Unix ms); `None` if it never ran.
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
    /// The name of its pool (a thread pool's if `thread`).
    pub pool: String,
    /// Its name, unique among the pending tasks of its pool.
    pub name: String,
    /// The name of the handler that runs it.
    pub handler: String,
    /// JSON text; `None` for no payload.
    pub payload: Option<String>,
    /// Higher runs first.
    pub priority: f64,
    /// Its place among tasks of the same priority: lower runs first.
    pub arrangement: u64,
    /// Attempts started so far.
    pub attempt: u32,
    /// `"queued"` or `"running"`.
    pub status: String,
    /// A thread pool's task (else a worker pool's).
    pub thread: bool,
    /// When it is queued (Unix ms; `runAt`, `delayMs`), if it waits for it.
    pub run_at_ms: Option<f64>,
    /// In a shared store: stored as this node's (it runs here) rather than
    /// for any node to claim. The SQLite store ignores it.
    pub owned: bool,
}

/// One attempt, as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// The unit that made the attempt: the worker, or for a thread pool's
    /// task its thread (`<pool>:thread-<n>`).
    pub unit_id: String,
    /// The task's idempotency key; `None` for a unit's own run.
    pub task_key: Option<String>,
    /// The task's name; `None` for a unit's own run.
    pub task_name: Option<String>,
    /// The task's pool; `None` for a unit's own run.
    pub pool: Option<String>,
    /// Which attempt: 1 for the first (a task's count across restarts).
    pub attempt: u32,
    /// When the attempt started (Unix ms).
    pub started_ms: f64,
    /// When it ended (Unix ms).
    pub ended_ms: f64,
    /// `"completed"`, `"error"`, `"cancelled"` or `"stopped"`.
    pub outcome: String,
    /// The error's message, if any; `None` when it completed.
    pub error: Option<String>,
}

/// Which attempts [`Store::history`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    /// Attempts of this unit only; `None`: of every unit.
    pub unit_id: Option<String>,
    /// Attempts that started at or after this wall-clock time (ms).
    pub since_ms: Option<f64>,
    /// At most this many rows (the newest), default 100.
    pub limit: Option<u32>,
}

/// One write (or a request) for the writer thread.
pub enum Op {
    /// Writes a unit's row, inserted or updated.
    Unit(UnitRow),
    /// Deletes the row of the unit with this id.
    UnitDelete(String),
    /// Stores a new task.
    TaskInsert(TaskRow),
    /// An attempt of the task started: its count and `"running"`.
    TaskStart {
        /// The task's idempotency key.
        key: String,
        /// The attempt that started: 1 for the first, counted across
        /// restarts.
        attempt: u32,
    },
    /// The task goes back to the queue (its run was stopped).
    TaskRequeue {
        /// The task's idempotency key.
        key: String,
    },
    /// Deletes the task with this idempotency key.
    TaskDelete(String),
    /// A durable pool task ended (its row goes, as with `TaskDelete`):
    /// `error` is how it failed, `None` when it completed. A shared store
    /// tells the node that added it.
    TaskEnded {
        /// The task's idempotency key.
        key: String,
        /// How it failed; `None`: it completed.
        error: Option<String>,
    },
    /// The task's payload (JSON text), priority and/or handler changed.
    TaskPatch {
        /// The task's idempotency key.
        key: String,
        /// The new payload; `None` leaves it.
        payload: Option<String>,
        /// The new priority; `None` leaves it.
        priority: Option<f64>,
        /// The new handler; `None` leaves it.
        handler: Option<String>,
    },
    /// Appends an attempt to the history ([`Store::send`] drops it when
    /// the store keeps none).
    History(HistoryRow),
    /// Replied to once everything before it is committed.
    Flush(Sender<Result<(), EngineError>>),
    /// Replied to once everything before it is committed (`true`) or the
    /// batch holding it failed for good (`false`), leaving the failure for
    /// the next [`Op::Flush`] to report: the store's own wait.
    Committed(Sender<bool>),
    /// Runs on the writer's connection after everything before it is committed.
    Query(Box<dyn FnOnce(&Connection) + Send>),
    /// Commits what is left and ends the thread.
    Shutdown,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<sqlite::Shared>),
    Postgres(Arc<postgres::Shared>),
}

#[derive(Clone)]
enum WeakBackend {
    Sqlite(std::sync::Weak<sqlite::Shared>),
    Postgres(std::sync::Weak<postgres::Shared>),
}

/// Idempotency keys: a prefix per open store, then a counter.
struct Keys {
    prefix: String,
    next: AtomicU64,
}

/// A handle on an open store; clones share the same writer, which ends
/// when the last handle is dropped or [`Store::close`] is called.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    keys: Arc<Keys>,
    history: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("target", &self.describe())
            .finish()
    }
}

/// A handle that does not keep the store open (see [`Store::downgrade`]).
#[derive(Clone)]
pub struct WeakStore {
    backend: WeakBackend,
    keys: std::sync::Weak<Keys>,
    history: bool,
}

impl WeakStore {
    /// The store, while some [`Store`] handle keeps it open.
    pub fn upgrade(&self) -> Option<Store> {
        let backend = match &self.backend {
            WeakBackend::Sqlite(w) => Backend::Sqlite(w.upgrade()?),
            WeakBackend::Postgres(w) => Backend::Postgres(w.upgrade()?),
        };
        Some(Store {
            backend,
            keys: self.keys.upgrade()?,
            history: self.history,
        })
    }
}

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
    fn new(backend: Backend, history: bool) -> Store {
        Store {
            backend,
            keys: Arc::new(Keys {
                prefix: random_prefix(),
                next: AtomicU64::new(1),
            }),
            history,
        }
    }

    /// Opens (or creates) the SQLite database at `path`. An existing file
    /// is validated read-only first; any problem is an
    /// [`EngineError::Storage`] naming the path, and the file is untouched.
    /// So is a file another store has open (in this process or another):
    /// the error names its holder.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, EngineError> {
        let shared = sqlite::Shared::open(path, &options)?;
        Ok(Store::new(
            Backend::Sqlite(shared),
            options.history.is_some(),
        ))
    }

    /// Connects to a PostgreSQL database shared with other managers:
    /// migrates its schema, registers this node and starts its tasks (see
    /// [`postgres`]). Any problem is an [`EngineError::Postgres`] naming it.
    pub fn open_postgres(options: postgres::PgOptions) -> Result<Store, EngineError> {
        let history = options.history.is_some();
        let shared = postgres::Shared::open(options)?;
        Ok(Store::new(Backend::Postgres(shared), history))
    }

    /// A handle that lets the store close when every [`Store`] is dropped.
    pub fn downgrade(&self) -> WeakStore {
        let backend = match &self.backend {
            Backend::Sqlite(s) => WeakBackend::Sqlite(Arc::downgrade(s)),
            Backend::Postgres(s) => WeakBackend::Postgres(Arc::downgrade(s)),
        };
        WeakStore {
            backend,
            keys: Arc::downgrade(&self.keys),
            history: self.history,
        }
    }

    /// The SQLite database file; `None` for a PostgreSQL store.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(s) => Some(s.path()),
            Backend::Postgres(_) => None,
        }
    }

    /// What the store is, for messages: the SQLite file, or the PostgreSQL
    /// server, database and schema.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(s) => s.path().display().to_string(),
            Backend::Postgres(s) => s.target().to_owned(),
        }
    }

    /// Whether other managers share this store (PostgreSQL): tasks are
    /// claimed from it rather than kept for this process, and schedules
    /// fire on the node that holds their lease.
    pub fn is_shared(&self) -> bool {
        matches!(&self.backend, Backend::Postgres(_))
    }

    /// The PostgreSQL store behind this handle, if it is one.
    pub fn postgres(&self) -> Option<&Arc<postgres::Shared>> {
        match &self.backend {
            Backend::Postgres(s) => Some(s),
            Backend::Sqlite(_) => None,
        }
    }

    /// Lets a shared store hand the engine what it claims (see
    /// [`crate::Runtime::set_store`]); nothing for SQLite.
    pub fn attach(&self, remote: crate::runtime::Remote) {
        if let Backend::Postgres(s) = &self.backend {
            s.attach(remote);
        }
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
        match &self.backend {
            Backend::Sqlite(s) => s.send(op),
            Backend::Postgres(s) => s.send(op),
        }
    }

    /// Writes sent and not committed yet.
    pub fn pending_writes(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(s) => s.pending_writes(),
            Backend::Postgres(s) => s.pending_writes(),
        }
    }

    /// Size: the SQLite database and its write-ahead log on disk; the
    /// PostgreSQL schema's tables and indexes, as last measured.
    pub fn bytes(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(s) => s.bytes(),
            Backend::Postgres(s) => s.bytes(),
        }
    }

    /// What every key [`Store::new_key`] makes begins with (then a dash and
    /// a number that counts up from 1).
    pub fn key_prefix(&self) -> &str {
        &self.keys.prefix
    }

    /// A new idempotency key: unique across opens and processes.
    pub fn new_key(&self) -> String {
        let n = self.keys.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.keys.prefix)
    }

    /// Waits until every write sent so far is committed. Reports the first
    /// write that failed since the previous flush.
    pub fn flush(&self) -> Result<(), EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.flush(),
            Backend::Postgres(s) => s.flush(),
        }
    }

    /// SQLite only: runs `f` on the writer's connection after every write
    /// sent so far is committed, and returns its answer.
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.query(f),
            Backend::Postgres(s) => Err(s.error("the store is not a SQLite database")),
        }
    }

    /// Every stored unit.
    pub fn load_units(&self) -> Result<Vec<UnitRow>, EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.load_units(),
            Backend::Postgres(s) => s.load_units(),
        }
    }

    /// The stored tasks of the pool called `pool`, in queue order
    /// (priority descending, then arrangement). A shared store hands out
    /// none this way: its tasks are claimed.
    pub fn load_tasks(&self, pool: &str) -> Result<Vec<TaskRow>, EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.load_tasks(pool),
            Backend::Postgres(_) => Ok(Vec::new()),
        }
    }

    /// The stored tasks of the thread pool called `pool`, in queue order;
    /// from a shared store, the ones no node holds, now this node's.
    pub fn load_thread_tasks(&self, pool: &str) -> Result<Vec<TaskRow>, EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.load_thread_tasks(pool),
            Backend::Postgres(s) => s.claim_thread_tasks(pool),
        }
    }

    /// History rows, newest first.
    pub fn history(&self, q: HistoryQuery) -> Result<Vec<HistoryRow>, EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.history(q),
            Backend::Postgres(s) => s.history(q),
        }
    }

    /// Number of attempts in the history.
    pub fn history_len(&self) -> Result<u64, EngineError> {
        match &self.backend {
            Backend::Sqlite(s) => s.history_len(),
            Backend::Postgres(s) => s.history_len(),
        }
    }

    /// Commits what is pending, ends the writer and releases the database
    /// (idempotent): the SQLite file for another store; in PostgreSQL this
    /// node's unstarted tasks, for other nodes. Later writes are dropped;
    /// later reads fail.
    pub fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => s.close(),
            Backend::Postgres(s) => s.close(),
        }
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
