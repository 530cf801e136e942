//! The binding of the durable store: opening it on an engine, flushing and
//! querying it off the JavaScript thread, durable pool tasks and their
//! recovery. Conversions and glue only; the engine decides what is written.

use napi::bindgen_prelude::*;
use napi::{Env, Task};
use napi_derive::napi;

use std::time::Duration;

use synchronik_core::store::postgres::{PgConnection, PgOptions};
use synchronik_core::{
    EngineError, HistoryQuery, Retention, Store, StoreOptions, TaskSpec, UnitRow,
};

use crate::cleanup::EnvHook;
use crate::convert::engine_error;
use crate::NativeEngine;

/// History settings of a store.
#[napi(object)]
pub struct JsHistoryOptions {
    /// Keep a history of attempts. @default true
    pub enabled: bool,
    /// Absent: the engine's (`DEFAULTS.historyMaxAgeMs`).
    pub max_age_ms: Option<f64>,
    /// Absent: the engine's (`DEFAULTS.historyMaxRows`).
    pub max_rows: Option<f64>,
}

/// A unit's stored state.
#[napi(object)]
pub struct JsStoredUnit {
    pub id: String,
    pub status: String,
    pub enabled: bool,
    pub run_count: f64,
    pub execution_times_ms: Vec<f64>,
    pub last_run_ms: Option<f64>,
    /// The host's metadata as JSON text.
    pub meta: Option<String>,
    /// The last fire of its calendar schedule (Unix ms).
    pub last_fire_ms: Option<f64>,
}

/// A durable task queued by `poolAddDurable`.
#[napi(object)]
pub struct JsDurableAdded {
    pub task_id: f64,
    pub arrangement_id: f64,
    /// Empty when the task is not stored (no store, no handler).
    pub key: String,
    /// Stored for any node of a shared store to claim, not queued here:
    /// its object is adopted again (by key) when this node claims it.
    pub offered: bool,
}

/// A durable task brought back into a pool's queue.
#[napi(object)]
pub struct JsRestoredTask {
    pub task_id: f64,
    pub name: String,
    pub handler: String,
    /// JSON text.
    pub payload: Option<String>,
    pub priority: f64,
    pub arrangement_id: f64,
    pub key: String,
    /// Attempts started before this process.
    pub attempt: u32,
    /// When it is queued (Unix ms), while it waits for that time.
    pub run_at_ms: Option<f64>,
    /// The id it had when this node added it (a task of a shared store
    /// offered to every node, then claimed by this one).
    pub replaces_task_id: Option<f64>,
}

/// A failed stored task the engine queued again (a retry from the web
/// dashboard), and the number of its pool.
#[napi(object)]
pub struct JsRequeuedTask {
    pub pool: u32,
    pub task: JsRestoredTask,
}

impl From<synchronik_core::RestoredTask> for JsRestoredTask {
    fn from(t: synchronik_core::RestoredTask) -> Self {
        Self {
            task_id: t.task as f64,
            name: t.name,
            handler: t.handler,
            payload: t.payload,
            priority: t.priority,
            arrangement_id: t.arrangement as f64,
            key: t.key,
            attempt: t.attempt,
            run_at_ms: t.run_at_ms,
            replaces_task_id: t.replaces.map(|t| t as f64),
        }
    }
}

/// One history row.
#[napi(object)]
pub struct JsHistoryRow {
    pub unit_id: String,
    pub task_key: Option<String>,
    pub task_name: Option<String>,
    pub pool: Option<String>,
    pub attempt: u32,
    pub started_ms: f64,
    pub ended_ms: f64,
    pub outcome: String,
    pub error: Option<String>,
}

/// Where the PostgreSQL server is and how to use it (see the manager's
/// `storage.postgres` option).
#[napi(object)]
pub struct JsPostgresOptions {
    /// A connection string (`postgres://…` or `host=… user=…`).
    pub url: Option<String>,
    pub host: Option<String>,
    pub port: Option<u32>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub ssl: Option<bool>,
    pub schema: String,
    pub history: Option<JsHistoryOptions>,
    pub lease_ms: f64,
    pub poll_ms: f64,
    pub connect_timeout_ms: f64,
    pub host_name: Option<String>,
    /// Tasks a pool claims ahead of its workers; absent: by the pool's pace
    /// (at least its size + 8, at most 1,000 or its size + 8 if larger).
    pub prefetch: Option<u32>,
}

impl JsPostgresOptions {
    fn into_core(self) -> PgOptions {
        let connection = match self.url {
            Some(url) => PgConnection::Url(url),
            None => PgConnection::Parts {
                host: self.host,
                port: self.port.map(|p| p.min(u32::from(u16::MAX)) as u16),
                user: self.user,
                password: self.password,
                database: self.database,
            },
        };
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        let mut options = PgOptions::new(connection);
        options.ssl = self.ssl;
        options.schema = self.schema;
        options.history = retention_of(self.history);
        options.lease = ms(self.lease_ms);
        options.poll = ms(self.poll_ms);
        options.connect_timeout = ms(self.connect_timeout_ms);
        options.host = self.host_name;
        options.prefetch = self.prefetch.map(|p| p as usize);
        options
    }
}

/// A live node of a PostgreSQL store.
#[napi(object)]
pub struct JsNodeRow {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub started_ms: f64,
    pub last_seen_ms: f64,
}

/// Lists the live nodes off the JavaScript thread.
pub struct NodesTask(Option<Store>);

impl Task for NodesTask {
    type Output = Vec<JsNodeRow>;
    type JsValue = Vec<JsNodeRow>;

    fn compute(&mut self) -> Result<Vec<JsNodeRow>> {
        let Some(pg) = self.0.as_ref().and_then(|s| s.postgres()) else {
            return Ok(Vec::new());
        };
        let rows = pg.nodes().map_err(|e| store_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|n| JsNodeRow {
                id: n.id,
                host: n.host,
                pid: n.pid,
                started_ms: n.started_ms,
                last_seen_ms: n.last_seen_ms,
            })
            .collect())
    }

    fn resolve(&mut self, _env: Env, output: Vec<JsNodeRow>) -> Result<Vec<JsNodeRow>> {
        Ok(output)
    }
}

/// Migrates a PostgreSQL schema off the JavaScript thread.
pub struct MigrateTask(Option<PgOptions>);

impl Task for MigrateTask {
    type Output = Vec<f64>;
    type JsValue = Vec<f64>;

    fn compute(&mut self) -> Result<Vec<f64>> {
        let Some(options) = self.0.take() else {
            return Ok(Vec::new());
        };
        let m = synchronik_core::store::postgres::migrate(&options).map_err(|e| store_error(&e))?;
        Ok(vec![m.from as f64, m.to as f64])
    }

    fn resolve(&mut self, _env: Env, output: Vec<f64>) -> Result<Vec<f64>> {
        Ok(output)
    }
}

/// Creates or migrates a PostgreSQL store's schema without starting a
/// node; resolves with `[from, to]` (schema versions).
#[napi(catch_unwind, ts_return_type = "Promise<Array<number>>")]
pub fn migrate_postgres(options: JsPostgresOptions) -> AsyncTask<MigrateTask> {
    AsyncTask::new(MigrateTask(Some(options.into_core())))
}

fn retention_of(history: Option<JsHistoryOptions>) -> Option<Retention> {
    let defaults = Retention::default();
    match history {
        Some(h) if !h.enabled => None,
        Some(h) => Some(Retention {
            max_age_ms: h.max_age_ms.unwrap_or(defaults.max_age_ms),
            max_rows: h.max_rows.map_or(defaults.max_rows, |n| n.max(0.0) as u64),
        }),
        None => Some(defaults),
    }
}

fn store_error(e: &EngineError) -> Error {
    engine_error(e)
}

/// Waits for the store's writer off the JavaScript thread.
pub struct FlushTask(Option<Store>);

impl Task for FlushTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        match &self.0 {
            Some(s) => s.flush().map_err(|e| store_error(&e)),
            None => Ok(()),
        }
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// Reads history rows off the JavaScript thread.
pub struct HistoryTask(Option<Store>, Option<HistoryQuery>);

impl Task for HistoryTask {
    type Output = Vec<JsHistoryRow>;
    type JsValue = Vec<JsHistoryRow>;

    fn compute(&mut self) -> Result<Vec<JsHistoryRow>> {
        let (Some(store), Some(q)) = (&self.0, self.1.take()) else {
            return Ok(Vec::new());
        };
        let rows = store.history(q).map_err(|e| store_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|r| JsHistoryRow {
                unit_id: r.unit_id,
                task_key: r.task_key,
                task_name: r.task_name,
                pool: r.pool,
                attempt: r.attempt,
                started_ms: r.started_ms,
                ended_ms: r.ended_ms,
                outcome: r.outcome,
                error: r.error,
            })
            .collect())
    }

    fn resolve(&mut self, _env: Env, output: Vec<JsHistoryRow>) -> Result<Vec<JsHistoryRow>> {
        Ok(output)
    }
}

impl From<UnitRow> for JsStoredUnit {
    fn from(r: UnitRow) -> Self {
        JsStoredUnit {
            id: r.id,
            status: r.status,
            enabled: r.enabled,
            run_count: r.run_count as f64,
            execution_times_ms: r.execution_times_ms,
            last_run_ms: r.last_run_ms,
            meta: r.meta,
            last_fire_ms: r.last_fire_ms,
        }
    }
}

impl NativeEngine {
    fn store_handle(&self) -> Option<Store> {
        self.runtime.with(|e| e.durable_store().cloned())
    }

    /// Makes the engine write through `store`, which commits what it has
    /// and ends before this environment goes away, even if the manager was
    /// never collected.
    fn use_store(&self, env: Env, store: Store) -> Result<()> {
        let weak = store.downgrade();
        let teardown = EnvHook::new(&env, move || {
            if let Some(s) = weak.upgrade() {
                s.close();
            }
        })?;
        self.store_teardowns.borrow_mut().push(teardown);
        self.runtime.set_store(store);
        Ok(())
    }
}

#[napi]
impl NativeEngine {
    /// Opens the SQLite store at `path` and makes the engine write through
    /// it. Fails with `ERR_STORAGE: …` (naming the path) when the file is
    /// not a valid database or cannot be created, and when another store
    /// has it open (naming its holder); the file is then left as it was.
    /// `host` is this machine's name, recorded in the lock file.
    #[napi(catch_unwind)]
    pub fn open_store(
        &self,
        env: Env,
        path: String,
        history: Option<JsHistoryOptions>,
        host: Option<String>,
    ) -> Result<()> {
        let history = retention_of(history);
        let store =
            Store::open(&path, StoreOptions { history, host }).map_err(|e| store_error(&e))?;
        self.use_store(env, store)
    }

    /// Connects to the PostgreSQL store (migrating its schema, registering
    /// this node) and makes the engine write through it. Blocks until the
    /// node is registered or `connectTimeoutMs` passes; fails with
    /// `ERR_STORAGE: …` naming the problem (unreachable server, refused
    /// credentials, a schema of another application, …).
    #[napi(catch_unwind)]
    pub fn open_postgres_store(&self, env: Env, options: JsPostgresOptions) -> Result<String> {
        let store = Store::open_postgres(options.into_core()).map_err(|e| store_error(&e))?;
        let node = store
            .postgres()
            .map(|p| p.node_id().to_owned())
            .unwrap_or_default();
        self.use_store(env, store)?;
        Ok(node)
    }

    /// The live nodes of the PostgreSQL store, oldest first.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<JsNodeRow>>")]
    pub fn store_nodes(&self) -> AsyncTask<NodesTask> {
        AsyncTask::new(NodesTask(self.store_handle()))
    }

    /// Resolves once every write so far is committed.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn store_flush(&self) -> AsyncTask<FlushTask> {
        AsyncTask::new(FlushTask(self.store_handle()))
    }

    /// Commits what is pending and closes the store (idempotent).
    #[napi(catch_unwind)]
    pub fn store_close(&self) {
        if let Some(s) = self.store_handle() {
            s.close();
        }
    }

    /// History rows, newest first.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<JsHistoryRow>>")]
    pub fn store_history(
        &self,
        unit_id: Option<String>,
        limit: Option<u32>,
        since_ms: Option<f64>,
    ) -> AsyncTask<HistoryTask> {
        let q = HistoryQuery {
            unit_id,
            since_ms,
            limit,
        };
        AsyncTask::new(HistoryTask(self.store_handle(), Some(q)))
    }

    /// `[bytes on disk (database + log), writes not committed yet]`, or
    /// null without a store.
    #[napi(catch_unwind)]
    pub fn store_stats(&self) -> Option<Vec<f64>> {
        self.store_handle()
            .map(|s| vec![s.bytes() as f64, s.pending_writes() as f64])
    }

    /// Every stored unit.
    #[napi(catch_unwind)]
    pub fn stored_units(&self) -> Result<Vec<JsStoredUnit>> {
        let rows = self
            .runtime
            .with(|e| e.stored_units())
            .map_err(|e| store_error(&e))?;
        Ok(rows.into_iter().map(JsStoredUnit::from).collect())
    }

    /// Writes the unit's row with the host's metadata (JSON text).
    #[napi(catch_unwind)]
    pub fn store_unit(&self, id: String, meta: Option<String>) -> bool {
        self.runtime.with(|e| e.store_unit(&id, meta))
    }

    /// Queues a task that names a handler and stores it with its payload
    /// (JSON text); null when a pending task has the same name.
    #[napi(catch_unwind)]
    pub fn pool_add_durable(
        &self,
        pool: u32,
        name: String,
        priority: f64,
        handler: String,
        payload: Option<String>,
        run_at_ms: Option<f64>,
    ) -> Option<JsDurableAdded> {
        let spec = TaskSpec {
            name: Some(name),
            priority,
            handler: Some(handler),
        };
        self.runtime
            .with(|e| {
                let added = match run_at_ms {
                    Some(at) => e.pool_add_durable_at(pool, spec, payload, at),
                    None => e.pool_add_durable(pool, spec, payload),
                };
                added.map(|(task, arrangement, key)| {
                    let offered = e.is_offered(&key);
                    (task, arrangement, key, offered)
                })
            })
            .ok()
            .map(|(task, arrangement, key, offered)| JsDurableAdded {
                task_id: task as f64,
                arrangement_id: arrangement as f64,
                key,
                offered,
            })
    }

    /// Stores a changed payload (JSON text), priority and/or handler of a
    /// durable task.
    #[napi(catch_unwind)]
    pub fn store_task_patch(
        &self,
        task: f64,
        payload: Option<String>,
        priority: Option<f64>,
        handler: Option<String>,
    ) -> bool {
        self.runtime.with(|e| {
            e.store_task_patch(task as synchronik_core::TaskId, payload, priority, handler)
        })
    }

    /// Brings the pool's stored tasks back into its queue (once per pool).
    #[napi(catch_unwind)]
    pub fn pool_restore(&self, pool: u32) -> Result<Vec<JsRestoredTask>> {
        let tasks = self
            .runtime
            .with(|e| e.pool_restore(pool))
            .map_err(|e| store_error(&e))?;
        Ok(tasks.into_iter().map(JsRestoredTask::from).collect())
    }

    /// Hands over, once, a task the engine queued again by itself (a failed
    /// stored task retried from the web dashboard); null for any other id.
    #[napi(catch_unwind)]
    pub fn take_requeued_task(&self, task_id: f64) -> Option<JsRequeuedTask> {
        if !(0.0..=9_007_199_254_740_991.0).contains(&task_id) {
            return None;
        }
        let (pool, t) = self
            .runtime
            .with(|e| e.take_requeued_task(task_id as u64))?;
        Some(JsRequeuedTask {
            pool,
            task: t.into(),
        })
    }
}
