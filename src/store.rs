//! The binding of the durable store: opening it on an engine, flushing and
//! querying it off the JavaScript thread, durable pool tasks and their
//! recovery. Conversions and glue only; the engine decides what is written.

use napi::bindgen_prelude::*;
use napi::{Env, Task};
use napi_derive::napi;

use synchronik_core::{
    EngineError, HistoryQuery, Retention, Store, StoreOptions, TaskSpec, UnitRow,
};

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
        let defaults = Retention::default();
        let history = match history {
            Some(h) if !h.enabled => None,
            Some(h) => Some(Retention {
                max_age_ms: h.max_age_ms.unwrap_or(defaults.max_age_ms),
                max_rows: h.max_rows.map_or(defaults.max_rows, |n| n.max(0.0) as u64),
            }),
            None => Some(defaults),
        };
        let store =
            Store::open(&path, StoreOptions { history, host }).map_err(|e| store_error(&e))?;
        // The writer commits what it has and ends before this environment
        // goes away, even if the manager was never collected.
        let weak = store.downgrade();
        env.add_env_cleanup_hook(weak, |w| {
            if let Some(s) = w.upgrade() {
                s.close();
            }
        })?;
        self.runtime.with(|e| e.set_store(store));
        Ok(())
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
            .with(|e| match run_at_ms {
                Some(at) => e.pool_add_durable_at(pool, spec, payload, at),
                None => e.pool_add_durable(pool, spec, payload),
            })
            .ok()
            .map(|(task, arrangement, key)| JsDurableAdded {
                task_id: task as f64,
                arrangement_id: arrangement as f64,
                key,
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
