//! The PostgreSQL store: the SQLite store's contract (unit state, durable
//! tasks, history, group commit, flush), in a database shared by any number
//! of managers — *nodes* — in any number of processes and machines.
//!
//! Each node runs a small tokio runtime on two threads of its own (so that
//! the claimer never waits behind the writer's encoding of a large batch),
//! with:
//!
//! - **the writer** (`writer.rs`): takes the engine's [`Op`]s, folds them as
//!   the SQLite writer does and applies each batch in one transaction of a
//!   few array statements (`unnest`), whatever its size. A batch that fails
//!   because the connection went away (or the server said so: classes 08,
//!   40, 53, 57, 58) is applied again on a new connection, with backoff,
//!   until it is committed: a [`super::Store::flush`] answers once it is.
//! - **the claimer** (`tasks.rs`): learns how many tasks each pool can
//!   take — posted by the engine as a pool's tasks end, else what the
//!   engine said with the last tasks it took, else asked of it —, claims
//!   that many from the shared queue in one statement (`FOR UPDATE SKIP
//!   LOCKED`: nodes never wait on each other's rows) and hands them to the
//!   engine. It wakes on a NOTIFY (new or released tasks
//!   of a pool), when a local task ends, and every `poll` otherwise.
//! - **the heartbeat** (`tasks.rs`): every third of the lease, renews this
//!   node's row in `nodes` — the one lease that covers every task the node
//!   holds — takes or renews the leases of the schedules it has and of the
//!   maintenance, and rescues the tasks of nodes whose lease expired: they
//!   go back to the queue (their attempt counts on, their key stays).
//! - **the listener**: one connection that LISTENs, reconnecting with
//!   backoff. A notification is only a hint: the claimer polls anyway.
//!
//! Times that decide between nodes (leases, rescue) are the server's
//! (`now()`), so the nodes' clocks do not need to agree.

mod schema;
mod tasks;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

pub use schema::{quote_ident, Migrated, MIGRATIONS, VERSION as SCHEMA_VERSION};

use super::{parse_times, queue, HistoryQuery, HistoryRow, Op, Retention, TaskRow, UnitRow};
use crate::engine::Demand;
use crate::error::EngineError;
use crate::runtime::Remote;

/// Where the server is.
#[derive(Debug, Clone, PartialEq)]
pub enum PgConnection {
    /// A connection string: `postgres://user:password@host:port/database?…`
    /// or `host=… user=…`.
    Url(String),
    /// The parts; each absent one has the default its field names.
    Parts {
        /// The server's host name or address, or a directory of Unix
        /// sockets (a path starting with `/`); `None`: `localhost`.
        host: Option<String>,
        /// `None`: 5432.
        port: Option<u16>,
        /// `None`: the operating system's user (`$USER`, `$USERNAME`).
        user: Option<String>,
        /// `None`: no password.
        password: Option<String>,
        /// `None`: the database named as the user.
        database: Option<String>,
    },
}

/// Settings of a PostgreSQL store.
#[derive(Debug, Clone, PartialEq)]
pub struct PgOptions {
    /// Where the server is, and as whom to connect.
    pub connection: PgConnection,
    /// `Some(true)`: TLS required; `Some(false)`: no TLS; `None`: as the
    /// connection string says (`sslmode`), else TLS when the server offers it.
    pub ssl: Option<bool>,
    /// The schema that holds every table (created if needed).
    pub schema: String,
    /// The history of attempts and its retention; `None` keeps no history.
    pub history: Option<Retention>,
    /// A node's lease: a node that has not renewed it for this long is
    /// taken for dead and its tasks run elsewhere.
    pub lease: Duration,
    /// How often an idle node looks for tasks without a notification.
    pub poll: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// This machine's name, for [`Shared::nodes`]; `None`: the system's.
    pub host: Option<String>,
    /// How many tasks a pool claims ahead of its workers (`None`: by the
    /// pool's pace: what its workers start in about 50 ms at the running
    /// time of its slowest handler's completed tasks here, at least its
    /// size + 8, at most 1,000 or its size + 8 if larger). More means fewer round trips on a deep queue, and tasks held
    /// here that another node might have run sooner.
    pub prefetch: Option<usize>,
}

impl PgOptions {
    /// Options with the defaults: schema `synchronik`, history kept, a
    /// 30 s lease, polling every second, 10 s to connect.
    pub fn new(connection: PgConnection) -> Self {
        Self {
            connection,
            ssl: None,
            schema: "synchronik".into(),
            history: Some(Retention::default()),
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            host: None,
            prefetch: None,
        }
    }
}

/// A live node, as [`Shared::nodes`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    /// The node's id (`host:pid:random`, see [`Shared::node_id`]).
    pub id: String,
    /// The name of its machine (its [`PgOptions::host`], else the system's).
    pub host: String,
    /// Its process's id.
    pub pid: u32,
    /// Unix ms, on the server's clock.
    pub started_ms: f64,
    /// When it last renewed its lease (Unix ms, on the server's clock).
    pub last_seen_ms: f64,
}

/// How long closing waits for the last writes, then for leaving the
/// cluster, when the server does not answer: what is not written by then is
/// not (the node's tasks go back to the queue when its lease runs out).
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The statements, with the schema's name in them.
pub(super) struct Sql {
    /// The schema's name, and quoted.
    pub name: String,
    pub schema: String,
    pub channel: String,
}

impl Sql {
    fn new(schema: &str) -> Self {
        Self {
            name: schema.to_owned(),
            schema: quote_ident(schema),
            // One channel per schema: two applications on one database do
            // not wake each other.
            channel: channel_of(schema),
        }
    }

    /// `text` with `{s}` replaced by the schema's quoted name.
    pub(super) fn q(&self, text: &str) -> String {
        text.replace("{s}", &self.schema)
    }
}

/// The NOTIFY channel of a schema: `synchronik:<schema>`, or, for a name
/// too long for a channel (63 bytes), `synchronik:` and a hash of it
/// (FNV-1a, the same in every process and version).
fn channel_of(schema: &str) -> String {
    let channel = format!("synchronik:{schema}");
    if channel.len() <= 63 {
        return channel;
    }
    let hash = schema.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("synchronik:{hash:016x}")
}

/// What the node's tasks share with the handles.
pub(super) struct Inner {
    pub target: String,
    pub node: String,
    pub host: String,
    pub sql: Sql,
    pub pool: deadpool_postgres::Pool,
    pub config: tokio_postgres::Config,
    pub tls: tokio_postgres_rustls::MakeRustlsConnect,
    pub lease: Duration,
    pub poll: Duration,
    pub prefetch: Option<usize>,
    pub retention: Option<Retention>,
    pub pending: AtomicU64,
    pub bytes: AtomicU64,
    /// Wakes the claimer (a task ended here, a pool can take more).
    pub claim: Notify,
    /// What pools of this node can take, posted by the engine as their
    /// tasks end (by pool; with the engine's wall clock then), so that the
    /// claimer claims without waiting for the engine's lock. Cleared for a
    /// pool when claimed tasks are handed to it: a demand posted before
    /// did not count them.
    pub posted: Mutex<HashMap<String, (Demand, f64)>>,
    /// Held while tasks are claimed and handed to the engine, and while the
    /// tasks the node holds are reconciled with the engine's.
    pub claiming: tokio::sync::Mutex<()>,
    /// Set when the node dropped its tasks for a lost lease: the next
    /// heartbeat that reaches the server hands back what it still holds.
    pub reconcile: AtomicBool,
    pub remote: Mutex<Option<Remote>>,
    /// The writer's queue (for a flush from the node's own tasks; weak: the
    /// writer ends when the store's handle goes).
    pub writes: queue::WeakSender,
    pub closing: AtomicBool,
    /// Wakes the node's tasks for the shutdown.
    pub shutdown: Notify,
    /// The first write that failed since the last flush (reported once).
    pub failure: Mutex<Option<EngineError>>,
}

impl Inner {
    pub(super) fn error(&self, message: impl Into<String>) -> EngineError {
        EngineError::Postgres {
            target: self.target.clone(),
            message: message.into(),
        }
    }

    /// The engine, if this store is attached to one and it is still there.
    pub(super) fn remote(&self) -> Option<Remote> {
        self.remote.lock().clone()
    }
}

/// An open PostgreSQL store: this node's connection to the cluster.
pub struct Shared {
    inner: Arc<Inner>,
    tx: queue::Sender,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.close();
    }
}

/// A readable message for a PostgreSQL error: the server's own words
/// where it said something, without the client's "db error:" prefix.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = db.message().to_owned();
        if let Some(d) = db.detail() {
            m.push_str(" (");
            m.push_str(d);
            m.push(')');
        }
        return m;
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        m.push_str(": ");
        m.push_str(&s.to_string());
        source = s.source();
    }
    m
}

/// Whether a failed statement may succeed on another attempt (the
/// connection, the server or a conflict, not the statement itself).
pub(super) fn transient(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || transient_code(e.code().map(tokio_postgres::error::SqlState::code))
}

/// [`transient`] by the error's SQLSTATE: none (the connection, not the
/// server, failed), or a class of the connection (08), a conflict (40),
/// resources (53), an operator (57) or the system (58).
fn transient_code(code: Option<&str>) -> bool {
    code.is_none_or(|c| matches!(c.get(..2), Some("08" | "40" | "53" | "57" | "58")))
}

fn pool_error(inner: &Inner, e: deadpool_postgres::PoolError) -> EngineError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => {
            inner.error(format!("cannot connect: {}", describe(&e)))
        }
        deadpool_postgres::PoolError::Timeout(_) => {
            inner.error("cannot connect: the server did not answer in time (connectTimeoutMs)")
        }
        e => inner.error(format!("cannot connect: {e}")),
    }
}

/// The server, database and schema, for messages (no password).
fn target_of(config: &tokio_postgres::Config, schema: &str) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("postgres://{at}{host}:{port}/{db} (schema \"{schema}\")")
}

fn config_of(options: &PgOptions) -> Result<tokio_postgres::Config, String> {
    let mut config = match &options.connection {
        PgConnection::Url(url) => url
            .parse::<tokio_postgres::Config>()
            .map_err(|e| format!("the connection string cannot be read: {e}"))?,
        PgConnection::Parts {
            host,
            port,
            user,
            password,
            database,
        } => {
            let mut c = tokio_postgres::Config::new();
            c.host(host.as_deref().unwrap_or("localhost"));
            c.port(port.unwrap_or(5432));
            if let Some(u) = user {
                c.user(u);
            }
            if let Some(p) = password {
                c.password(p);
            }
            if let Some(d) = database {
                c.dbname(d);
            }
            c
        }
    };
    if config.get_hosts().is_empty() {
        config.host("localhost");
    }
    if config.get_user().is_none() {
        // libpq's default: the operating system's user.
        if let Ok(u) = std::env::var("USER").or_else(|_| std::env::var("USERNAME")) {
            config.user(&u);
        }
    }
    match options.ssl {
        Some(true) => {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        Some(false) => {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        None => {}
    }
    config.connect_timeout(options.connect_timeout);
    config.application_name("synchronik");
    Ok(config)
}

fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("cannot set up TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A task row a claim returned — `key, name, handler, payload, priority,
/// attempt` and its place (a thread pool task's arrangement, a worker pool
/// task's sequence number) — with that place, which orders tasks of one
/// priority.
pub(super) fn claimed(r: &tokio_postgres::Row, pool: &str, thread: bool) -> (i64, TaskRow) {
    let place: i64 = r.get(6);
    let row = TaskRow {
        key: r.get(0),
        pool: pool.to_owned(),
        name: r.get(1),
        handler: r.get(2),
        payload: r.get(3),
        priority: r.get(4),
        // A thread pool task keeps its place; a worker pool task gets one
        // in the claiming node's queue.
        arrangement: if thread { place.max(0) as u64 } else { 0 },
        attempt: r.get::<_, i32>(5).max(0) as u32,
        status: "queued".into(),
        thread,
        run_at_ms: None,
        owned: true,
    };
    (place, row)
}

/// Checks the options that need no server.
fn check(options: &PgOptions) -> Result<(), String> {
    if options.schema.is_empty() || options.schema.len() > 63 {
        return Err(format!(
            "the schema name must have 1 to 63 bytes (got {:?})",
            options.schema
        ));
    }
    if options.lease < Duration::from_millis(300) {
        return Err("the lease must be at least 300 ms".into());
    }
    Ok(())
}

/// What a panic said, for an error message.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "it panicked".to_owned()
    }
}

impl Shared {
    /// Connects, migrates the schema, registers this node and starts its
    /// tasks. Blocks the calling thread until the node is registered (or
    /// `connect_timeout` passes); must not be called from a tokio runtime.
    pub(in crate::store) fn open(options: PgOptions) -> Result<Arc<Shared>, EngineError> {
        let early = |target: String, message: String| EngineError::Postgres { target, message };
        let unnamed = format!("(schema \"{}\")", options.schema);
        check(&options).map_err(|m| early(unnamed.clone(), m))?;
        let config = config_of(&options).map_err(|m| early(unnamed.clone(), m))?;
        let target = target_of(&config, &options.schema);
        let tls = tls().map_err(|m| early(target.clone(), m))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .thread_name("synchronik-postgres")
            .enable_all()
            .build()
            .map_err(|e| early(target.clone(), format!("cannot start its thread: {e}")))?;
        let handle = runtime.handle().clone();
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tls.clone(),
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(4)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(options.connect_timeout))
            .wait_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| early(target.clone(), format!("cannot set up connections: {e}")))?;
        let host = options
            .host
            .clone()
            .or_else(super::lock::host_name)
            .unwrap_or_else(|| "localhost".into());
        let pid = std::process::id();
        let node = format!("{host}:{pid}:{}", &super::random_prefix()[..8]);
        let (tx, rx) = queue::queue();
        let inner = Arc::new(Inner {
            target,
            node,
            host: host.clone(),
            sql: Sql::new(&options.schema),
            pool,
            config,
            tls,
            lease: options.lease,
            poll: options.poll,
            prefetch: options.prefetch,
            retention: options.history,
            pending: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            claim: Notify::new(),
            posted: Mutex::new(HashMap::new()),
            claiming: tokio::sync::Mutex::new(()),
            reconcile: AtomicBool::new(false),
            remote: Mutex::new(None),
            writes: tx.downgrade(),
            closing: AtomicBool::new(false),
            shutdown: Notify::new(),
            failure: Mutex::new(None),
        });
        let schema = options.schema.clone();
        let start = {
            let inner = inner.clone();
            handle.spawn(async move { tasks::register(&inner, &schema, &host, pid).await })
        };
        runtime
            .block_on(start)
            .map_err(|_| inner.error("the node's registration panicked"))??;
        handle.spawn(writer::run(inner.clone(), rx));
        handle.spawn(tasks::supervise(
            inner.clone(),
            "heartbeat",
            tasks::heartbeat,
        ));
        handle.spawn(tasks::supervise(inner.clone(), "listener", tasks::listen));
        handle.spawn(tasks::supervise(inner.clone(), "claimer", tasks::claimer));
        Ok(Arc::new(Shared {
            inner,
            tx,
            runtime: Mutex::new(Some(runtime)),
            handle,
        }))
    }

    /// The server, database and schema (no password).
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// This node's id (`host:pid:random`), as `nodes` lists it.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }

    /// How many tasks a pool claims ahead of its workers (see
    /// [`PgOptions::prefetch`]).
    pub fn prefetch(&self) -> Option<usize> {
        self.inner.prefetch
    }

    /// An error of this store.
    pub fn error(&self, message: impl Into<String>) -> EngineError {
        self.inner.error(message)
    }

    /// From now on, claimed tasks and held schedules go to this engine.
    pub(in crate::store) fn attach(&self, remote: Remote) {
        *self.inner.remote.lock() = Some(remote);
        self.inner.claim.notify_one();
    }

    /// Wakes the claimer: a pool of this node may take more tasks.
    pub fn wake_claimer(&self) {
        self.inner.claim.notify_one();
    }

    /// Pool `pool` of this node can take `want` tasks (engine's wall clock
    /// `now_ms`; `handlers`: its handlers, asked for only when the pool
    /// has no demand posted yet); wakes the claimer.
    pub fn post_demand(
        &self,
        pool: &str,
        want: usize,
        now_ms: f64,
        handlers: impl FnOnce() -> Vec<String>,
    ) {
        {
            let mut posted = self.inner.posted.lock();
            if let Some((demand, at)) = posted.get_mut(pool) {
                demand.want = want;
                *at = now_ms;
            } else {
                let demand = Demand {
                    pool: pool.to_owned(),
                    handlers: handlers(),
                    want,
                };
                posted.insert(pool.to_owned(), (demand, now_ms));
            }
        }
        self.inner.claim.notify_one();
    }

    /// Queues a write. Never blocks.
    pub(in crate::store) fn send(&self, op: Op) {
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(op).is_err() {
            self.inner.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub(in crate::store) fn pending_writes(&self) -> u64 {
        self.inner.pending.load(Ordering::SeqCst)
    }

    pub(in crate::store) fn bytes(&self) -> u64 {
        self.inner.bytes.load(Ordering::Relaxed)
    }

    fn closed(&self) -> EngineError {
        self.inner.error("the store is closed")
    }

    /// Waits until every write sent so far is committed (retried on a new
    /// connection as long as it takes). Reports the first write that failed
    /// for good since the previous flush.
    pub(in crate::store) fn flush(&self) -> Result<(), EngineError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.tx.send(Op::Flush(tx)).is_err() {
            return Err(self.closed());
        }
        rx.recv().unwrap_or_else(|_| Err(self.closed()))
    }

    /// Runs `f` on the node's runtime with a pooled connection, after the
    /// writes sent so far are committed, and waits for its answer.
    fn read<R: Send + 'static>(
        &self,
        f: impl for<'c> FnOnce(
                &'c deadpool_postgres::Client,
                &'c Inner,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<R, tokio_postgres::Error>> + Send + 'c>,
            > + Send
            + 'static,
    ) -> Result<R, EngineError> {
        self.flush()?;
        let inner = self.inner.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.handle.spawn(async move {
            let reading = inner.clone();
            let read = tokio::spawn(async move {
                match reading.pool.get().await {
                    Ok(client) => f(&client, &reading)
                        .await
                        .map_err(|e| reading.error(format!("cannot read: {}", describe(&e)))),
                    Err(e) => Err(pool_error(&reading, e)),
                }
            });
            // A read that panicked (what it read was not what this code
            // wrote) fails alone, saying so; the store goes on.
            let answer = match read.await {
                Ok(answer) => answer,
                Err(e) if e.is_panic() => Err(inner.error(format!(
                    "cannot read: {}",
                    panic_text(e.into_panic().as_ref())
                ))),
                Err(_) => Err(inner.error("the store is closed")),
            };
            let _ = tx.send(answer);
        });
        rx.recv().unwrap_or_else(|_| Err(self.closed()))
    }

    /// Every stored unit.
    pub(in crate::store) fn load_units(&self) -> Result<Vec<UnitRow>, EngineError> {
        self.read(|c, inner| {
            Box::pin(async move {
                let rows = c
                    .query(
                        &inner.sql.q(
                            "SELECT id, status, enabled, run_count, execution_times, last_run_ms, meta, last_fire_ms FROM {s}.units",
                        ),
                        &[],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| UnitRow {
                        id: r.get(0),
                        status: r.get(1),
                        enabled: r.get(2),
                        run_count: r.get::<_, i64>(3).max(0) as u64,
                        execution_times_ms: parse_times(r.get(4)),
                        last_run_ms: r.get(5),
                        meta: r.get(6),
                        last_fire_ms: r.get(7),
                    })
                    .collect())
            })
        })
    }

    /// The thread pool tasks of `pool` that no node holds, taken by this
    /// node, in queue order.
    pub(in crate::store) fn claim_thread_tasks(
        &self,
        pool: &str,
    ) -> Result<Vec<TaskRow>, EngineError> {
        let pool = pool.to_owned();
        self.read(move |c, inner| {
            Box::pin(async move {
                let rows = c
                    .query(
                        &inner.sql.q(
                            "UPDATE {s}.tasks SET node = $1, status = 'queued'
                             WHERE node IS NULL AND kind = 'thread' AND pool = $2
                             RETURNING key, name, handler, payload, priority, attempt, arrangement",
                        ),
                        &[&inner.node, &pool],
                    )
                    .await?;
                let mut tasks: Vec<(i64, TaskRow)> =
                    rows.iter().map(|r| claimed(r, &pool, true)).collect();
                tasks.sort_by(|a, b| b.1.priority.total_cmp(&a.1.priority).then(a.0.cmp(&b.0)));
                let tasks = tasks.into_iter().map(|(_, t)| t).collect();
                Ok(tasks)
            })
        })
    }

    /// History rows, newest first.
    pub(in crate::store) fn history(
        &self,
        q: HistoryQuery,
    ) -> Result<Vec<HistoryRow>, EngineError> {
        self.read(move |c, inner| {
            Box::pin(async move {
                let limit = i64::from(q.limit.unwrap_or(100));
                let rows = c
                    .query(
                        &inner.sql.q(
                            // A row holds a unit's attempts of one commit,
                            // oldest first (schema version 5).
                            "SELECT h.unit_id, a.task_key, a.task_name, a.pool, a.attempt, a.started_ms, a.ended_ms,
                                    a.outcome, a.error
                             FROM {s}.history h CROSS JOIN LATERAL unnest(h.task_key, h.task_name, h.pool, h.attempt,
                                    h.started_ms, h.ended_ms, h.outcome, h.error)
                                 WITH ORDINALITY AS a(task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error, n)
                             WHERE ($1::text IS NULL OR h.unit_id = $1)
                               AND ($2::float8 IS NULL OR (h.last_started_ms >= $2 AND a.started_ms >= $2))
                               AND a.started_ms IS NOT NULL AND a.ended_ms IS NOT NULL AND a.outcome IS NOT NULL
                             ORDER BY h.id DESC, a.n DESC LIMIT $3",
                        ),
                        &[&q.unit_id, &q.since_ms, &limit],
                    )
                    .await?;
                // The table is anybody's with access to the database: an
                // element the writer would never leave out (arrays of
                // unequal lengths unnest with NULLs) skips the attempt
                // rather than failing the read.
                Ok(rows
                    .iter()
                    .filter_map(|r| {
                        Some(HistoryRow {
                            unit_id: r.try_get(0).ok()?,
                            task_key: r.try_get(1).ok()?,
                            task_name: r.try_get(2).ok()?,
                            pool: r.try_get(3).ok()?,
                            attempt: r.try_get::<_, Option<i32>>(4).ok()?.unwrap_or(0).max(0) as u32,
                            started_ms: r.try_get(5).ok()?,
                            ended_ms: r.try_get(6).ok()?,
                            outcome: r.try_get(7).ok()?,
                            error: r.try_get(8).ok()?,
                        })
                    })
                    .collect())
            })
        })
    }

    /// Number of attempts in the history.
    pub(in crate::store) fn history_len(&self) -> Result<u64, EngineError> {
        self.read(|c, inner| {
            Box::pin(async move {
                let row = c
                    .query_one(
                        &inner
                            .sql
                            .q("SELECT COALESCE(sum(attempts), 0)::int8 FROM {s}.history"),
                        &[],
                    )
                    .await?;
                Ok(row.get::<_, i64>(0).max(0) as u64)
            })
        })
    }

    /// The live nodes (their lease not expired), oldest first.
    pub fn nodes(&self) -> Result<Vec<NodeRow>, EngineError> {
        self.read(|c, inner| {
            Box::pin(async move {
                let lease = inner.lease.as_secs_f64();
                let rows = c
                    .query(
                        &inner.sql.q("SELECT id, host, pid,
                                    extract(epoch FROM started_at)::float8 * 1000,
                                    extract(epoch FROM last_seen_at)::float8 * 1000
                             FROM {s}.nodes
                             WHERE last_seen_at >= now() - make_interval(secs => $1)
                             ORDER BY started_at, id"),
                        &[&lease],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| NodeRow {
                        id: r.get(0),
                        host: r.get(1),
                        pid: r.get::<_, i32>(2).max(0) as u32,
                        started_ms: r.get(3),
                        last_seen_ms: r.get(4),
                    })
                    .collect())
            })
        })
    }

    /// Commits what is pending, hands this node's tasks back to the queue
    /// (claimed or stopped; the running ones have ended by now), removes
    /// its node row and ends its runtime. Idempotent; later writes are
    /// dropped, later reads fail.
    pub(in crate::store) fn close(&self) {
        let Some(runtime) = self.runtime.lock().take() else {
            return;
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        // The writer answers once it has committed what it had, then ends.
        let _ = self.tx.send(Op::Flush(tx));
        let _ = self.tx.send(Op::Shutdown);
        // Dropped on a thread of the node's own runtime (the engine's last
        // handle went with a call of its tasks): nothing may block here.
        let inside = tokio::runtime::Handle::try_current().is_ok();
        if !inside {
            let _ = rx.recv_timeout(CLOSE_WAIT.min(self.inner.lease));
        }
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.shutdown.notify_waiters();
        let inner = self.inner.clone();
        let leave = self.handle.spawn(async move { tasks::leave(&inner).await });
        if !inside {
            let _ = runtime.block_on(async {
                tokio::time::timeout(CLOSE_WAIT.min(self.inner.lease), leave).await
            });
        }
        self.inner.remote.lock().take();
        runtime.shutdown_background();
    }
}

/// Migrates the schema ahead of a deploy, without starting a node:
/// connects, creates or migrates `options.schema` under the advisory lock
/// and disconnects. Returns the versions before and after.
pub fn migrate(options: &PgOptions) -> Result<Migrated, EngineError> {
    let early = |target: String, message: String| EngineError::Postgres { target, message };
    let unnamed = format!("(schema \"{}\")", options.schema);
    check(options).map_err(|m| early(unnamed.clone(), m))?;
    let config = config_of(options).map_err(|m| early(unnamed, m))?;
    let target = target_of(&config, &options.schema);
    let tls = tls().map_err(|m| early(target.clone(), m))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| early(target.clone(), format!("cannot start a runtime: {e}")))?;
    let schema = options.schema.clone();
    runtime.block_on(async move {
        let (mut client, connection) = config
            .connect(tls)
            .await
            .map_err(|e| early(target.clone(), format!("cannot connect: {}", describe(&e))))?;
        let driver = tokio::spawn(connection);
        let result = schema::migrate(&mut client, &schema)
            .await
            .map_err(|e| early(target.clone(), tasks::schema_message(&e, &schema)));
        drop(client);
        let _ = driver.await;
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_has_a_channel_of_its_own_that_postgres_accepts() {
        assert_eq!(channel_of("synchronik"), "synchronik:synchronik");
        let long = "s".repeat(63);
        let other = format!("{}t", "s".repeat(62));
        assert!(channel_of(&long).len() <= 63);
        assert_ne!(channel_of(&long), channel_of(&other));
        assert_eq!(channel_of(&long), channel_of(&long));
    }

    #[test]
    fn a_statement_is_tried_again_for_what_the_connection_or_server_did_only() {
        // A lost connection, a killed backend (57P01), a serialization
        // conflict: again. A duplicate key, a missing table: not.
        assert!(transient_code(None));
        for code in ["08006", "40001", "40P01", "53300", "57P01", "58030"] {
            assert!(transient_code(Some(code)), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "", "0"] {
            assert!(!transient_code(Some(code)), "{code}");
        }
        assert_eq!(writer::backoff(0), Duration::from_millis(50));
        assert_eq!(writer::backoff(3), Duration::from_millis(400));
        assert_eq!(writer::backoff(40), Duration::from_secs(5));
    }

    #[test]
    fn options_that_need_no_server_are_checked_first() {
        let mut o = PgOptions::new(PgConnection::Url("postgres://localhost/db".into()));
        o.schema = String::new();
        assert!(check(&o).unwrap_err().contains("1 to 63 bytes"));
        o.schema = "é".repeat(32);
        assert!(check(&o).is_err(), "64 bytes");
        o.schema = "jobs".into();
        o.lease = Duration::from_millis(10);
        assert!(check(&o).unwrap_err().contains("300 ms"));
        let bad = config_of(&PgOptions::new(PgConnection::Url("postgres://[::1".into())));
        assert!(bad.unwrap_err().contains("connection string"));
    }

    #[test]
    fn the_target_names_server_database_and_schema_but_never_the_password() {
        let o = PgOptions::new(PgConnection::Url(
            "postgres://app:s3cret@db.example:6543/orders".into(),
        ));
        let t = target_of(&config_of(&o).unwrap(), "jobs");
        assert_eq!(t, "postgres://app@db.example:6543/orders (schema \"jobs\")");
        assert!(!t.contains("s3cret"));
    }

    #[test]
    fn every_migration_names_the_schema_through_its_placeholder() {
        assert_eq!(MIGRATIONS.len() as i64, SCHEMA_VERSION);
        for sql in MIGRATIONS {
            assert!(sql.contains("{schema}."));
            assert!(
                !sql.to_lowercase().contains("synchronik."),
                "no schema written out"
            );
        }
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
