//! Server-Sent Events (`api/events`). One watch loop per server — not per
//! client — samples the engine's change count every 50 ms while somebody
//! listens (it sleeps while nobody does) and, when it moved, at most every 250 ms, builds the overview
//! once and publishes it on a `watch` channel. Each client's task forwards
//! the latest value: a slow client skips to the newest overview instead of
//! queueing old ones. A comment line every 15 s keeps proxies from closing
//! the stream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};

use crate::server::{stopped, Ctx};
use crate::{views, Host};

/// Event streams served at once; more are answered 503.
pub(crate) const MAX_CLIENTS: usize = 64;
const SAMPLE: Duration = Duration::from_millis(50);
const MIN_GAP: Duration = Duration::from_millis(250);
/// While JavaScript is blocked the overview is sent again this often (the
/// block's length grows).
const BLOCKED_REFRESH: Duration = Duration::from_secs(1);
const PING: Duration = Duration::from_secs(15);

/// The latest overview and the clients listening.
pub(crate) struct Hub {
    latest: watch::Sender<Bytes>,
    clients: Arc<AtomicUsize>,
    /// Wakes the watch loop, which sleeps while nobody listens.
    listener_came: Notify,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Self {
            latest: watch::Sender::new(Bytes::new()),
            clients: Arc::new(AtomicUsize::new(0)),
            listener_came: Notify::new(),
        }
    }
}

/// The overview as JSON, with the change count and whether the loop is
/// blocked.
pub(crate) fn overview(host: &dyn Host) -> (String, u64, bool) {
    let o = host.runtime().with(|e| e.overview());
    let lp = host.event_loop();
    (views::overview(&o, &lp), o.change, lp.blocked)
}

fn frame(json: &str) -> Bytes {
    Bytes::from(format!("event: overview\ndata: {json}\n\n"))
}

pub(crate) async fn watch_loop(ctx: Arc<Ctx>) {
    let mut stop = ctx.stop.clone();
    let mut tick = tokio::time::interval(SAMPLE);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut sent: Option<(u64, bool, Instant)> = None;
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            _ = tick.tick() => {}
        }
        if ctx.events.latest.receiver_count() == 0 {
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = ctx.events.listener_came.notified() => {}
            }
            tick.reset();
            continue;
        }
        let change = ctx.host.runtime().with(|e| e.change_count());
        let blocked = ctx.host.event_loop().blocked;
        let due = match sent {
            None => true,
            Some((c, b, at)) => {
                let since = at.elapsed();
                since >= MIN_GAP
                    && (c != change || b != blocked || (blocked && since >= BLOCKED_REFRESH))
            }
        };
        if due {
            let (json, change, blocked) = overview(&*ctx.host);
            ctx.events.latest.send_replace(frame(&json));
            sent = Some((change, blocked, Instant::now()));
        }
    }
}

/// Counts a client while it is served.
struct Client(Arc<AtomicUsize>);

impl Drop for Client {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Opens a stream for one client: the overview now, then the updates.
/// `None` when [`MAX_CLIENTS`] are listening already.
pub(crate) fn subscribe(ctx: &Arc<Ctx>) -> Option<mpsc::Receiver<Bytes>> {
    let clients = &ctx.events.clients;
    if clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
        clients.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    let client = Client(clients.clone());
    // Subscribed before the first overview is built: a change made after
    // it is not missed.
    let updates = ctx.events.latest.subscribe();
    ctx.events.listener_came.notify_one();
    let (tx, rx) = mpsc::channel(2);
    let _ = tx.try_send(frame(&overview(&*ctx.host).0));
    tokio::spawn(forward(ctx.clone(), updates, tx, client));
    Some(rx)
}

async fn forward(
    ctx: Arc<Ctx>,
    mut updates: watch::Receiver<Bytes>,
    tx: mpsc::Sender<Bytes>,
    _client: Client,
) {
    let mut stop = ctx.stop.clone();
    let mut ping = tokio::time::interval_at(Instant::now() + PING, PING);
    loop {
        let data = tokio::select! {
            () = stopped(&mut stop) => return,
            () = tx.closed() => return,
            changed = updates.changed() => match changed {
                Ok(()) => updates.borrow_and_update().clone(),
                Err(_) => return,
            },
            _ = ping.tick() => Bytes::from_static(b": ping\n\n"),
        };
        tokio::select! {
            () = stopped(&mut stop) => return,
            sent = tx.send(data) => if sent.is_err() { return },
        }
    }
}
