//! The web dashboard and metrics, as JavaScript reaches them: the engine's
//! [`Host`] for `synchronik-web` (the runtime, the event loop's state from
//! the liveness cell, the wake-up after actions, the authorization hook),
//! `NativeEngine.serveDashboard` / `metrics`, and the `NativeDashboard`
//! handle.
//!
//! The server runs on its own thread and never keeps Node alive: the hook
//! goes through a weak threadsafe function. A server lives as long as its
//! engine (or until closed), and closes when the engine is disposed, is
//! collected, or its environment goes away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::Mutex;

use synchronik_core::Runtime;
use synchronik_web::{
    oneshot, AuthRequest, BlockedTotal, EventLoopState, Host, JsClock, LivenessCell, ServeOptions,
    Server,
};

use crate::engine::{JsLiveness, NativeEngine};
use crate::outbox::Outbox;

/// What every dashboard of one engine, and its `metrics()`, read.
pub(crate) struct Observer {
    runtime: Arc<Runtime>,
    outbox: Weak<Outbox>,
    liveness: Option<Arc<JsLiveness>>,
    /// JavaScript's `performance.now()`, which the heartbeat is written in.
    js_clock: JsClock,
    /// Keeps the blocked seconds from going back between readings.
    blocked: BlockedTotal,
    unit_labels: bool,
}

impl Observer {
    /// Made while the engine is (synchronously, on the JavaScript thread):
    /// the facade has put its `performance.now()` in the heartbeat's place
    /// of the cell for that moment, which pairs the two clocks.
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        outbox: &Arc<Outbox>,
        liveness: Option<Arc<JsLiveness>>,
        unit_labels: bool,
    ) -> Self {
        let js_now = liveness.as_ref().map_or(0.0, |l| l.read()[2]);
        Self {
            runtime,
            outbox: Arc::downgrade(outbox),
            liveness,
            js_clock: JsClock::paired(js_now),
            blocked: BlockedTotal::default(),
            unit_labels,
        }
    }

    fn event_loop(&self) -> EventLoopState {
        let cell = self
            .liveness
            .as_ref()
            .map(|l| LivenessCell::from_slice(&l.read()))
            .unwrap_or_default();
        cell.state(
            self.js_clock.now_ms(),
            |slot| self.runtime.with(|e| e.unit_id_of(slot).map(str::to_owned)),
            &self.blocked,
        )
    }
}

/// The request of an action, as the authorization hook receives it.
#[napi(object)]
pub struct JsAuthRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub remote_address: String,
}

/// Where and how to serve (the facade has checked and defaulted them).
#[napi(object)]
pub struct JsServeOptions {
    pub host: String,
    pub port: u32,
    pub token: String,
    /// Starts and ends with `/`.
    pub base_path: String,
    pub read_only: bool,
}

type AuthArgs = FnArgs<(JsAuthRequest, String, u32)>;
/// The facade's hook: `(request, action, id)`, answered with
/// `NativeDashboard.answer(id, allowed)`. Weak: it never keeps Node alive.
type AuthFn = ThreadsafeFunction<AuthArgs, (), AuthArgs, Status, false, true>;

/// The authorization hook and the answers it owes.
struct AuthHook {
    call: AuthFn,
    pending: Mutex<HashMap<u32, oneshot::Sender<bool>>>,
    next: AtomicU32,
}

impl AuthHook {
    fn ask(&self, req: AuthRequest, action: &'static str) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        {
            let mut pending = self.pending.lock();
            // Questions the server stopped waiting for (5 s) are dropped.
            pending.retain(|_, tx| !tx.is_closed());
            pending.insert(id, tx);
        }
        let request = JsAuthRequest {
            method: req.method,
            path: req.path,
            headers: req.headers.into_iter().collect(),
            remote_address: req.remote_address,
        };
        let status = self.call.call(
            FnArgs::from((request, action.to_owned(), id)),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
        if status != Status::Ok {
            // Not delivered (the environment is going away): denied.
            self.pending.lock().remove(&id);
        }
        rx
    }

    fn answer(&self, id: u32, allowed: bool) {
        if let Some(tx) = self.pending.lock().remove(&id) {
            let _ = tx.send(allowed);
        }
    }
}

/// The [`Host`] of one server.
struct DashboardHost {
    observer: Arc<Observer>,
    hook: Option<Arc<AuthHook>>,
}

impl Host for DashboardHost {
    fn runtime(&self) -> &Runtime {
        &self.observer.runtime
    }

    fn event_loop(&self) -> EventLoopState {
        self.observer.event_loop()
    }

    fn wake(&self) {
        if let Some(o) = self.observer.outbox.upgrade() {
            o.wake();
        }
    }

    fn authorize(&self, req: AuthRequest, action: &'static str) -> Option<oneshot::Receiver<bool>> {
        self.hook.as_ref().map(|h| h.ask(req, action))
    }

    fn unit_labels(&self) -> bool {
        self.observer.unit_labels
    }
}

/// The servers of one engine: they live as long as the engine (or until
/// closed), whether or not JavaScript keeps their handles, and close with it.
pub(crate) struct Dashboards(Mutex<Option<Vec<Arc<Server>>>>);

impl Default for Dashboards {
    fn default() -> Self {
        Self(Mutex::new(Some(Vec::new())))
    }
}

impl Dashboards {
    /// False once the engine is disposed: the server is not kept.
    fn add(&self, server: &Arc<Server>) -> bool {
        match self.0.lock().as_mut() {
            Some(list) => {
                list.push(server.clone());
                true
            }
            None => false,
        }
    }

    fn is_closed(&self) -> bool {
        self.0.lock().is_none()
    }

    fn remove(&self, server: &Arc<Server>) {
        if let Some(list) = self.0.lock().as_mut() {
            list.retain(|s| !Arc::ptr_eq(s, server));
        }
    }

    /// Closes every server (each frees its port); later ones are refused.
    pub(crate) fn close_all(&self) {
        let servers = self.0.lock().take().unwrap_or_default();
        for s in servers {
            s.close();
        }
    }
}

/// A running dashboard server.
#[napi]
pub struct NativeDashboard {
    server: Arc<Server>,
    hook: Option<Arc<AuthHook>>,
    owner: Weak<Dashboards>,
}

#[napi]
impl NativeDashboard {
    /// The port it listens on.
    #[napi(getter, catch_unwind)]
    pub fn port(&self) -> u32 {
        u32::from(self.server.local_addr().port())
    }

    /// Stops the server: no new connections, event streams end, the port
    /// is free when this returns (at once: it does not wait for the
    /// server's thread). The promise resolves once that thread has ended
    /// (answers in progress get 0.5 s). Idempotent.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (ended, promise) = env.create_deferred::<(), fn(Env) -> Result<()>>()?;
        self.server.close_then(move || ended.resolve(|_| Ok(())));
        if let Some(list) = self.owner.upgrade() {
            list.remove(&self.server);
        }
        Ok(promise)
    }

    /// The answer of the authorization hook to question `id`.
    #[napi(catch_unwind)]
    pub fn answer(&self, id: u32, allowed: bool) {
        if let Some(h) = &self.hook {
            h.answer(id, allowed);
        }
    }
}

fn disposed() -> Error {
    Error::new(
        Status::GenericFailure,
        "ERR_CLOSED: serveDashboard: the engine is disposed".to_owned(),
    )
}

/// `EADDRINUSE` and the like, as Node names them.
fn errno_name(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::AddrInUse => "EADDRINUSE",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::PermissionDenied => "EACCES",
        K::InvalidInput => "ERR_INVALID_ARG_VALUE",
        _ => "ERR_DASHBOARD",
    }
}

#[napi]
impl NativeEngine {
    /// Serves the web dashboard and `/metrics` on a thread of the engine
    /// (binding at once: a port in use is an error here, whose message
    /// starts with `EADDRINUSE: `). `authorize`, when given, is asked about
    /// every action and must answer through `NativeDashboard.answer(id,
    /// allowed)` within 5 s.
    #[napi(
        catch_unwind,
        ts_args_type = "options: JsServeOptions, authorize?: ((request: JsAuthRequest, action: string, id: number) => void) | undefined | null"
    )]
    pub fn serve_dashboard(
        &self,
        options: JsServeOptions,
        authorize: Option<Function<AuthArgs, ()>>,
    ) -> Result<NativeDashboard> {
        if self.dashboards.is_closed() {
            return Err(disposed());
        }
        let port = u16::try_from(options.port).map_err(|_| {
            Error::new(
                Status::InvalidArg,
                format!(
                    "serveDashboard: port must be an integer from 0 to 65535, got {}",
                    options.port
                ),
            )
        })?;
        let hook = match authorize {
            Some(f) => Some(Arc::new(AuthHook {
                call: f.build_threadsafe_function().weak::<true>().build()?,
                pending: Mutex::new(HashMap::new()),
                next: AtomicU32::new(1),
            })),
            None => None,
        };
        let host = Arc::new(DashboardHost {
            observer: self.observer.clone(),
            hook: hook.clone(),
        });
        let where_ = format!("{}:{}", options.host, port);
        let server = synchronik_web::serve(
            host,
            ServeOptions {
                host: options.host,
                port,
                token: options.token,
                base_path: options.base_path,
                read_only: options.read_only,
                write_stall: None,
            },
        )
        .map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!(
                    "{}: serveDashboard cannot listen on {where_}: {e}",
                    errno_name(&e)
                ),
            )
        })?;
        let server = Arc::new(server);
        if !self.dashboards.add(&server) {
            server.close();
            return Err(disposed());
        }
        Ok(NativeDashboard {
            server,
            hook,
            owner: Arc::downgrade(&self.dashboards),
        })
    }

    /// The engine's metrics in the Prometheus text format.
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        let host = DashboardHost {
            observer: self.observer.clone(),
            hook: None,
        };
        synchronik_web::render_metrics(&host)
    }
}
