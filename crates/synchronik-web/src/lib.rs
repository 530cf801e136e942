//! # synchronik-web
//!
//! The engine's web dashboard and Prometheus metrics, served over HTTP by
//! a server that owns its thread (`synchronik-http`) and a small tokio
//! runtime on it. It reads the engine directly through its
//! [`Runtime`], so it answers while JavaScript is blocked, and shows that
//! block (see [`EventLoopState`]).
//!
//! The HTTP API (paths, JSON shapes, token rules, headers) is documented in
//! `API.md` beside this crate; that document is the contract.
//!
//! - `server.rs`: binding, the accept loop, connections, closing;
//! - `stall.rs`: the write-stall guard of each connection;
//! - `routes.rs`: a request to its answer (access rules, routing, actions);
//! - `query.rs`: paths and query strings, decoded strictly;
//! - `views.rs`: the engine's views as JSON (serde);
//! - `events.rs`: Server-Sent Events (one watch loop per server);
//! - `metrics.rs`: the Prometheus text;
//! - `liveness.rs`: the event loop's state from the liveness cell.
//!
//! The host (the napi binding, or a test) implements [`Host`]: it gives
//! the engine's runtime, the event loop's state, a wake-up after actions and
//! an optional authorization hook.

use synchronik_core::Runtime;

mod events;
mod liveness;
mod metrics;
mod query;
mod routes;
mod server;
mod stall;
mod views;

pub use liveness::{BlockedTotal, JsClock, LivenessCell};
pub use metrics::{render_metrics, CONTENT_TYPE as METRICS_CONTENT_TYPE};
pub use server::{serve, Server};
/// The channel of the authorization hook's answer (see [`Host::authorize`]).
pub use tokio::sync::oneshot;

/// Where and how to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// The address or name to listen on (`127.0.0.1`, `::1`, `localhost`, …).
    pub host: String,
    /// 0: any free port (see [`Server::local_addr`]).
    pub port: u16,
    /// What every `api/` request and `metrics` must present (non-empty).
    pub token: String,
    /// Where the dashboard lives: starts and ends with `/`.
    pub base_path: String,
    /// Every action answers 403.
    pub read_only: bool,
    /// How long a write to a client may stay blocked (the client stopped
    /// reading) before its connection is dropped; `None`: 20 s. Tests
    /// shorten it.
    #[doc(hidden)]
    pub write_stall: Option<std::time::Duration>,
}

/// The request an action came with, as the authorization hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// `POST`.
    pub method: String,
    /// The request's path (percent-encoded, as sent; no query).
    pub path: String,
    /// Header names in lower case, with their values (those that are text).
    pub headers: Vec<(String, String)>,
    /// The client's IP address.
    pub remote_address: String,
}

/// What the JavaScript event loop is doing, as the liveness cell tells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventLoopState {
    /// JavaScript has not come back to its event loop for more than 100 ms.
    pub blocked: bool,
    /// For how long (0 when not blocked).
    pub blocked_for_ms: f64,
    /// The unit whose `run` is on the JavaScript stack during the block.
    pub unit: Option<String>,
    /// The lag of the last sample (ms).
    pub lag_ms: f64,
    /// Seconds the event loop was blocked in all (never decreasing).
    pub blocked_seconds_total: f64,
}

/// What the server needs from whoever runs it.
pub trait Host: Send + Sync + 'static {
    /// The engine.
    fn runtime(&self) -> &Runtime;
    /// The event loop's state now.
    fn event_loop(&self) -> EventLoopState;
    /// Called after an action changed the engine, so that what it produced
    /// is delivered (the same wake-up the timer thread uses).
    fn wake(&self);
    /// Asks whether `action` may go ahead: `None` when there is no hook (it
    /// may), else a receiver of the answer (a dropped sender, or no answer
    /// within 5 s, denies).
    fn authorize(&self, req: AuthRequest, action: &'static str) -> Option<oneshot::Receiver<bool>>;
    /// Whether metrics carry a `unit` label (`metrics: { unitLabels: true }`).
    fn unit_labels(&self) -> bool;
}
