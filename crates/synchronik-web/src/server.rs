//! The server: binds at once (so a port in use is reported to the caller),
//! then runs on its own thread (`synchronik-http`) with a single-threaded
//! tokio runtime that it owns. Closing stops accepting and frees the port
//! at once, drops the connections that have not started an answer, ends
//! the event streams and lets answers in progress finish for a moment;
//! [`Server::close_then`] returns once the port is free and calls back when
//! the thread ended, [`Server::close`] waits for that (bounded).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener as StdListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use hyper::body::{Body as HttpBody, Bytes, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::{Condvar, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::stall::Guarded;
use crate::{events, routes, Host, ServeOptions};

/// Connections served at once; more are answered 503.
const MAX_CONNECTIONS: usize = 256;
/// Connections served at once from one IP address; more are answered 503.
/// Room for all the event streams (64) and more.
const MAX_PER_PEER: usize = 128;
/// Connections over a limit being answered 503 at once; more are closed.
const MAX_REFUSING: usize = 64;
/// How long answering 503 to a connection over a limit may take.
const REFUSE_WITHIN: Duration = Duration::from_secs(2);
/// How long a write may stay blocked (the client does not read).
const WRITE_STALL: Duration = Duration::from_secs(20);
/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long answers in progress may take to finish once closing.
const DRAIN: Duration = Duration::from_millis(500);
/// How long closing waits for the port to be freed, and [`Server::close`]
/// for the thread to end.
const JOIN_WAIT: Duration = Duration::from_secs(2);

/// The names the `Host` header may give for this server.
#[derive(Debug)]
pub(crate) struct Authority {
    names: Vec<String>,
    port: u16,
    /// Listening on every address: any name will do.
    any: bool,
}

impl Authority {
    fn new(host: &str, addr: SocketAddr) -> Self {
        let mut names = vec![bracketed(&addr.ip().to_string(), addr.ip())];
        let given = host.trim().to_ascii_lowercase();
        if !given.is_empty() {
            names.push(match given.parse::<IpAddr>() {
                Ok(ip) => bracketed(&ip.to_string(), ip),
                Err(_) => given,
            });
        }
        if addr.ip().is_loopback() {
            names.push("localhost".to_owned());
        }
        Self {
            names,
            port: addr.port(),
            any: addr.ip().is_unspecified(),
        }
    }

    /// Whether `authority` (`name[:port]`, as a `Host` header or an
    /// origin gives it) names this server.
    pub(crate) fn accepts(&self, authority: &str) -> bool {
        let authority = authority.trim().to_ascii_lowercase();
        let (name, port) = if authority.starts_with('[') {
            match authority.find(']') {
                Some(end) => {
                    let rest = &authority[end + 1..];
                    let port = match rest.strip_prefix(':') {
                        Some(p) => Some(p),
                        None if rest.is_empty() => None,
                        None => return false,
                    };
                    (&authority[..=end], port)
                }
                None => return false,
            }
        } else {
            match authority.rsplit_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (authority.as_str(), None),
            }
        };
        let port_ok = match port {
            Some(p) => p.parse::<u16>().is_ok_and(|p| p == self.port),
            None => self.port == 80,
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        port_ok && !name.is_empty() && (self.any || self.names.iter().any(|n| n == name))
    }
}

fn bracketed(s: &str, ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(_) => format!("[{s}]"),
        IpAddr::V4(_) => s.to_owned(),
    }
}

/// What every task of one server shares.
pub(crate) struct Ctx {
    pub(crate) host: Arc<dyn Host>,
    pub(crate) token: String,
    pub(crate) base: String,
    pub(crate) read_only: bool,
    pub(crate) authority: Authority,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) events: events::Hub,
    connections: AtomicUsize,
    /// Connections served per client address (entries above 0 only).
    peers: Mutex<HashMap<IpAddr, usize>>,
    /// Connections being answered 503.
    refusing: AtomicUsize,
    write_stall: Duration,
}

/// Resolves once the server is closing.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the server is gone: closing too.
    let _ = stop.wait_for(|s| *s).await;
}

/// A running server. Closing it (or dropping it) frees its port.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    life: Arc<Life>,
    thread: ThreadId,
}

/// Marks the server's thread as ended when dropped.
struct Ended(Arc<Life>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Where the server's thread is, for those closing it.
#[derive(Default)]
struct Life {
    state: Mutex<LifeState>,
    changed: Condvar,
}

type Then = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct LifeState {
    /// The listener is dropped: the port is free.
    released: bool,
    /// The thread has ended (or is about to: nothing runs on it any more).
    ended: bool,
    /// Called once it has.
    then: Vec<Then>,
}

impl Life {
    fn release(&self) {
        self.state.lock().released = true;
        self.changed.notify_all();
    }

    fn end(&self) {
        let then = {
            let mut st = self.state.lock();
            st.released = true;
            st.ended = true;
            std::mem::take(&mut st.then)
        };
        self.changed.notify_all();
        for f in then {
            f();
        }
    }

    /// Waits (until `deadline` at most) for `done` to hold.
    fn wait(&self, deadline: Instant, done: impl Fn(&LifeState) -> bool) {
        let mut st = self.state.lock();
        while !done(&st) {
            if self.changed.wait_until(&mut st, deadline).timed_out() {
                return;
            }
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn check(o: &ServeOptions) -> io::Result<()> {
    if o.token.is_empty() {
        return Err(invalid(
            "serveDashboard: token must be a non-empty string".into(),
        ));
    }
    let b = &o.base_path;
    let bad = !b.starts_with('/')
        || !b.ends_with('/')
        || b.contains("//")
        || b.split('/').any(|s| s == "." || s == "..")
        || b.chars()
            .any(|c| c.is_control() || matches!(c, '?' | '#' | '%' | ' ' | '\\'));
    if bad {
        return Err(invalid(format!(
            "serveDashboard: basePath must start and end with \"/\" and hold no \"..\", \"?\", \"#\", \"%\" or spaces, got \"{b}\""
        )));
    }
    Ok(())
}

fn bind(host: &str, port: u16) -> io::Result<StdListener> {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    StdListener::bind((host, port))
}

/// Binds `o.host:o.port` and serves the dashboard of `host`'s engine on a
/// thread of its own. Binding errors (a port in use, an address not of
/// this machine) come back at once.
pub fn serve(host: Arc<dyn Host>, o: ServeOptions) -> io::Result<Server> {
    check(&o)?;
    let listener = bind(&o.host, o.port)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .thread_name("synchronik-http")
        .build()?;
    let listener = {
        let _guard = rt.enter();
        TcpListener::from_std(listener)?
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        events: events::Hub::new(),
        host,
        token: o.token,
        base: o.base_path,
        read_only: o.read_only,
        authority: Authority::new(&o.host, addr),
        stop: stop_rx,
        connections: AtomicUsize::new(0),
        peers: Mutex::new(HashMap::new()),
        refusing: AtomicUsize::new(0),
        write_stall: o.write_stall.unwrap_or(WRITE_STALL),
    });
    let life = Arc::new(Life::default());
    let ours = life.clone();
    let thread = std::thread::Builder::new()
        .name("synchronik-http".into())
        .spawn(move || {
            // Ends the server's life even if what runs here panics.
            let ended = Ended(ours);
            rt.block_on(run(listener, ctx, &ended.0));
            rt.shutdown_timeout(Duration::from_millis(200));
        })?;
    Ok(Server {
        addr,
        stop: stop_tx,
        life,
        thread: thread.thread().id(),
    })
}

impl Server {
    /// The address it listens on (with the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and returns once its port is free (at once,
    /// normally; 2 s at most): connections that have not started an answer
    /// are dropped, event streams end, answers in progress may finish for
    /// 0.5 s. `then` is called once the server's thread has ended (on that
    /// thread, or here when it has already). Idempotent.
    pub fn close_then(&self, then: impl FnOnce() + Send + 'static) {
        let _ = self.stop.send(true);
        if std::thread::current().id() != self.thread {
            self.life.wait(Instant::now() + JOIN_WAIT, |st| st.released);
        }
        let mut st = self.life.state.lock();
        if st.ended {
            drop(st);
            then();
        } else {
            st.then.push(Box::new(then));
        }
    }

    /// [`Server::close_then`], then waits (at most 2 s) for the server's
    /// thread to end. Idempotent.
    pub fn close(&self) {
        self.close_then(|| {});
        if std::thread::current().id() != self.thread {
            self.life.wait(Instant::now() + JOIN_WAIT, |st| st.ended);
        }
        // Otherwise the thread ends on its own a moment later; nothing
        // waits for it.
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close();
    }
}

async fn run(listener: TcpListener, ctx: Arc<Ctx>, life: &Life) {
    tokio::spawn(events::watch_loop(ctx.clone()));
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match admit(&ctx, peer.ip()) {
                    Ok(counted) => {
                        tokio::spawn(connection(counted, stream, peer));
                    }
                    Err(why) => refuse(&ctx, stream, why),
                },
                // Out of file descriptors and the like: breathe, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
    drop(listener);
    life.release();
    // Let answers in progress finish (event streams end at once).
    let deadline = tokio::time::Instant::now() + DRAIN;
    while ctx.connections.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One connection served: counted in all and for its client's address
/// until dropped.
struct Counted {
    ctx: Arc<Ctx>,
    ip: IpAddr,
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut peers = self.ctx.peers.lock();
        if let Some(n) = peers.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                peers.remove(&self.ip);
            }
        }
        self.ctx.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection from `ip` counted, or why there is no room for it.
fn admit(ctx: &Arc<Ctx>, ip: IpAddr) -> Result<Counted, String> {
    let mut peers = ctx.peers.lock();
    if ctx.connections.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
        return Err(format!(
            "the server has {MAX_CONNECTIONS} connections open already; try again later"
        ));
    }
    let n = peers.entry(ip).or_insert(0);
    if *n >= MAX_PER_PEER {
        return Err(format!(
            "{ip} has {MAX_PER_PEER} connections open already; close one first"
        ));
    }
    *n += 1;
    ctx.connections.fetch_add(1, Ordering::SeqCst);
    Ok(Counted {
        ctx: ctx.clone(),
        ip,
    })
}

/// The HTTP/1 settings of every connection.
fn http() -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(16 * 1024);
    b
}

/// Answers `503` (with `why`) to a connection over a limit and closes it,
/// within [`REFUSE_WITHIN`]; beyond [`MAX_REFUSING`] of them at once, closes
/// it at once.
fn refuse(ctx: &Arc<Ctx>, stream: TcpStream, why: String) {
    if ctx.refusing.fetch_add(1, Ordering::SeqCst) >= MAX_REFUSING {
        ctx.refusing.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let ctx = ctx.clone();
    let _ = stream.set_nodelay(true);
    tokio::spawn(async move {
        let why: Arc<str> = why.into();
        let service = service_fn(move |_req| {
            let why = why.clone();
            async move { Ok::<_, Infallible>(routes::too_busy(&why)) }
        });
        let io = TokioIo::new(Guarded::new(stream, ctx.write_stall.min(REFUSE_WITHIN)));
        let conn = http()
            .keep_alive(false)
            .header_read_timeout(REFUSE_WITHIN)
            .serve_connection(io, service);
        let mut stop = ctx.stop.clone();
        tokio::select! {
            _ = tokio::time::timeout(REFUSE_WITHIN, conn) => {}
            () = stopped(&mut stop) => {}
        }
        ctx.refusing.fetch_sub(1, Ordering::SeqCst);
    });
}

/// A connection between answers: reading a request head, or none.
const WAITING: u8 = 0;
/// Working out an answer (the authorization hook, a store read…).
const HANDLING: u8 = 1;
/// Sending an answer.
const ANSWERING: u8 = 2;

async fn connection(counted: Counted, stream: TcpStream, peer: SocketAddr) {
    let ctx = counted.ctx.clone();
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Guarded::new(stream, ctx.write_stall));
    let state = Arc::new(AtomicU8::new(WAITING));
    let ours = state.clone();
    let service = service_fn(move |req| {
        let ctx = ctx.clone();
        let state = ours.clone();
        async move {
            state.store(HANDLING, Ordering::SeqCst);
            let res = routes::handle(&ctx, req, peer).await;
            state.store(ANSWERING, Ordering::SeqCst);
            Ok::<_, Infallible>(res.map(|body| Answer { body, state }))
        }
    });
    let conn = http().serve_connection(io, service);
    tokio::pin!(conn);
    let mut stop = counted.ctx.stop.clone();
    tokio::select! {
        _ = conn.as_mut() => return,
        () = stopped(&mut stop) => {}
    }
    // Closing: what has not started an answer (a request head half sent,
    // an action waiting for the authorization hook) is dropped at once.
    if state.load(Ordering::SeqCst) != ANSWERING {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(DRAIN, conn).await;
}

/// An answer's body, which marks its connection as between answers once
/// it is sent (hyper drops it then).
struct Answer {
    body: routes::Body,
    state: Arc<AtomicU8>,
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.state.store(WAITING, Ordering::SeqCst);
    }
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_header_must_name_this_server() {
        let a = Authority::new("127.0.0.1", "127.0.0.1:8080".parse().unwrap());
        assert!(a.accepts("127.0.0.1:8080"));
        assert!(a.accepts("LOCALHOST:8080"));
        assert!(!a.accepts("127.0.0.1:8081"));
        assert!(!a.accepts("127.0.0.1"));
        assert!(!a.accepts("evil.example:8080"));
        assert!(!a.accepts(":8080"));
        let a = Authority::new("::1", "[::1]:80".parse().unwrap());
        assert!(a.accepts("[::1]"));
        assert!(a.accepts("[::1]:80"));
        assert!(a.accepts("localhost"));
        assert!(!a.accepts("[::1]x"));
        assert!(!a.accepts("[::2]:80"));
        let a = Authority::new("0.0.0.0", "0.0.0.0:9000".parse().unwrap());
        assert!(a.accepts("anything:9000"));
        assert!(!a.accepts("anything:9001"));
    }

    #[test]
    fn options_are_checked() {
        let o = |token: &str, base: &str| ServeOptions {
            host: "127.0.0.1".into(),
            port: 0,
            token: token.into(),
            base_path: base.into(),
            read_only: false,
            write_stall: None,
        };
        assert!(check(&o("t", "/")).is_ok());
        assert!(check(&o("t", "/a/b/")).is_ok());
        assert!(check(&o("", "/")).is_err());
        for bad in ["", "a/", "/a", "/../", "//", "/a?/", "/a b/"] {
            assert!(check(&o("t", bad)).is_err(), "{bad}");
        }
    }
}
