//! The dashboard's server driven over real TCP: access rules, headers,
//! reads, actions, event streams, metrics and closing. A fake host stands
//! in for the binding; the engine is a real one on the system clock.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use synchronik_core::*;
use synchronik_web::{
    serve, AuthRequest, BlockedTotal, EventLoopState, Host, JsClock, LivenessCell, ServeOptions,
    Server,
};

const TOKEN: &str = "s3cret-token";

struct Nothing;

impl Invoker for Nothing {
    fn invoke(&self, _: Invocation) {}
    fn abort(&self, _: CallId, _: AbortReason) {}
}

impl EventSink for Nothing {
    fn emit(&self, _: Event) {}
}

/// How the fake host answers the authorization hook.
#[derive(Clone, Copy)]
enum Hook {
    None,
    Answer(bool),
    /// The answer never comes (its sender is dropped).
    Dropped,
    /// The answer never comes (its sender is kept).
    Silent,
}

struct FakeHost {
    rt: Runtime,
    wakes: AtomicUsize,
    hook: Mutex<Hook>,
    asked: Mutex<Vec<(AuthRequest, &'static str)>>,
    unanswered: Mutex<Vec<tokio::sync::oneshot::Sender<bool>>>,
    cell: Mutex<[f64; 5]>,
    total: BlockedTotal,
    /// JavaScript's clock, as if it had started a second ago.
    clock: JsClock,
}

impl Host for FakeHost {
    fn runtime(&self) -> &Runtime {
        &self.rt
    }
    fn event_loop(&self) -> EventLoopState {
        let cell = *self.cell.lock().unwrap();
        LivenessCell::from_slice(&cell).state(
            self.clock.now_ms(),
            |slot| self.rt.with(|e| e.unit_id_of(slot).map(str::to_owned)),
            &self.total,
        )
    }
    fn wake(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
    fn authorize(
        &self,
        req: AuthRequest,
        action: &'static str,
    ) -> Option<tokio::sync::oneshot::Receiver<bool>> {
        self.asked.lock().unwrap().push((req, action));
        let hook = *self.hook.lock().unwrap();
        match hook {
            Hook::None => None,
            Hook::Answer(ok) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send(ok);
                Some(rx)
            }
            Hook::Dropped => Some(tokio::sync::oneshot::channel().1),
            Hook::Silent => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                self.unanswered.lock().unwrap().push(tx);
                Some(rx)
            }
        }
    }
    fn unit_labels(&self) -> bool {
        false
    }
}

fn host() -> Arc<FakeHost> {
    let rt = Runtime::new(
        ClockChoice::System(Arc::new(SystemClock::new())),
        Arc::new(Nothing),
        Arc::new(Nothing),
        Box::new(|| {}),
    )
    .unwrap();
    for id in ["fetch", "store/a b", "parse"] {
        rt.with(|e| e.register(UnitSpec::Worker(WorkerSpec::new(id))))
            .unwrap();
    }
    Arc::new(FakeHost {
        rt,
        wakes: AtomicUsize::new(0),
        hook: Mutex::new(Hook::None),
        asked: Mutex::new(Vec::new()),
        unanswered: Mutex::new(Vec::new()),
        cell: Mutex::new([0.0; 5]),
        total: BlockedTotal::default(),
        clock: JsClock::paired(1000.0),
    })
}

fn options(base: &str, read_only: bool) -> ServeOptions {
    ServeOptions {
        host: "127.0.0.1".into(),
        port: 0,
        token: TOKEN.into(),
        base_path: base.into(),
        read_only,
        write_stall: None,
    }
}

fn start(base: &str, read_only: bool) -> (Arc<FakeHost>, Server, SocketAddr) {
    let h = host();
    let server = serve(h.clone(), options(base, read_only)).unwrap();
    let addr = server.local_addr();
    (h, server, addr)
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn code(&self) -> &str {
        let at = self.body.find("\"code\":\"").expect("an error body") + 8;
        let end = self.body[at..].find('"').unwrap();
        &self.body[at..at + end]
    }
}

/// Sends raw request bytes and reads the whole answer (the request says
/// `Connection: close`).
fn raw(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    raw(addr, req.as_bytes())
}

const AUTH: (&str, &str) = ("Authorization", "Bearer s3cret-token");

fn get(addr: SocketAddr, path: &str) -> Resp {
    send(addr, "GET", path, &[AUTH], "")
}

fn post(addr: SocketAddr, path: &str) -> Resp {
    send(addr, "POST", path, &[AUTH], "")
}

fn status_of(h: &FakeHost, id: &str) -> Status {
    h.rt.with(|e| e.unit(id).unwrap().status)
}

#[test]
fn the_page_and_its_assets_need_no_token_and_every_answer_carries_the_security_headers() {
    let (_h, _server, addr) = start("/", false);
    let page = send(addr, "GET", "/?token=whatever", &[], "");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.body.contains("assets/app.js"));
    let js = send(addr, "GET", "/assets/app.js", &[], "");
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    let css = send(addr, "GET", "/assets/app.css", &[], "");
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let missing = send(addr, "GET", "/nope", &[], "");
    for r in [&page, &js, &css, &missing] {
        assert_eq!(
            r.header("content-security-policy"),
            Some("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
    }
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "ERR_NOT_FOUND");
}

#[test]
fn the_api_and_metrics_need_the_token_in_the_header_or_a_get_query() {
    let (h, _server, addr) = start("/", false);
    for path in ["/api/overview", "/metrics", "/api/units", "/api/events"] {
        let r = send(addr, "GET", path, &[], "");
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.code(), "ERR_UNAUTHORIZED");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
    }
    let wrong = send(
        addr,
        "GET",
        "/api/overview",
        &[("Authorization", "Bearer nope")],
        "",
    );
    assert_eq!(wrong.status, 401);
    let basic = send(
        addr,
        "GET",
        "/api/overview",
        &[("Authorization", "Basic s3cret-token")],
        "",
    );
    assert_eq!(basic.status, 401);
    assert_eq!(get(addr, "/api/overview").status, 200);
    let lower = send(
        addr,
        "GET",
        "/api/overview",
        &[("Authorization", "bearer s3cret-token")],
        "",
    );
    assert_eq!(lower.status, 200);
    assert_eq!(
        send(addr, "GET", "/api/overview?token=s3cret-token", &[], "").status,
        200
    );
    assert_eq!(
        send(addr, "GET", "/metrics?token=s3cret-token", &[], "").status,
        200
    );
    assert_eq!(
        send(addr, "GET", "/api/overview?token=wrong", &[], "").status,
        401
    );
    // An action never takes the token from the query.
    let r = send(
        addr,
        "POST",
        "/api/units/fetch/pause?token=s3cret-token",
        &[],
        "",
    );
    assert_eq!(r.status, 401);
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
}

#[test]
fn the_host_header_must_name_the_server_and_a_post_origin_must_be_its_own() {
    let (h, _server, addr) = start("/", false);
    let port = addr.port();
    let evil = send(
        addr,
        "GET",
        "/api/overview",
        &[AUTH, ("Host", "evil.example")],
        "",
    );
    assert_eq!(evil.status, 421);
    assert_eq!(evil.code(), "ERR_MISDIRECTED_REQUEST");
    let page = send(
        addr,
        "GET",
        "/",
        &[("Host", &format!("evil.example:{port}"))],
        "",
    );
    assert_eq!(page.status, 421);
    let other_port = send(addr, "GET", "/", &[("Host", "127.0.0.1:1")], "");
    assert_eq!(other_port.status, 421);
    let localhost = send(
        addr,
        "GET",
        "/api/overview",
        &[AUTH, ("Host", &format!("localhost:{port}"))],
        "",
    );
    assert_eq!(localhost.status, 200);

    let foreign = send(
        addr,
        "POST",
        "/api/units/fetch/pause",
        &[AUTH, ("Origin", &format!("http://evil.example:{port}"))],
        "",
    );
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.code(), "ERR_FORBIDDEN_ORIGIN");
    let null = send(
        addr,
        "POST",
        "/api/units/fetch/pause",
        &[AUTH, ("Origin", "null")],
        "",
    );
    assert_eq!(null.status, 403);
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    let own = send(
        addr,
        "POST",
        "/api/units/fetch/pause",
        &[AUTH, ("Origin", &format!("http://localhost:{port}"))],
        "",
    );
    assert_eq!(own.status, 202);
    assert_eq!(status_of(&h, "fetch"), Status::Paused);
}

#[test]
fn actions_change_the_engine_and_wake_the_host() {
    let (h, _server, addr) = start("/", false);
    let r = post(addr, "/api/units/fetch/pause");
    assert_eq!((r.status, r.body.as_str()), (202, r#"{"ok":true}"#));
    assert_eq!(status_of(&h, "fetch"), Status::Paused);
    assert_eq!(h.wakes.load(Ordering::SeqCst), 1);
    assert_eq!(post(addr, "/api/units/fetch/resume").status, 202);
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    // Resuming what is not paused changes nothing.
    assert_eq!(post(addr, "/api/units/fetch/resume").status, 202);
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    // Ids are percent-encoded.
    assert_eq!(post(addr, "/api/units/store%2Fa%20b/disable").status, 202);
    assert!(!h.rt.with(|e| e.unit("store/a b").unwrap().enabled));
    assert_eq!(post(addr, "/api/units/store%2Fa%20b/enable").status, 202);
    assert!(h.rt.with(|e| e.unit("store/a b").unwrap().enabled));
    assert_eq!(post(addr, "/api/units/parse/run").status, 202);

    let unknown = post(addr, "/api/units/ghost/run");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "ERR_UNKNOWN_UNIT");
    let task = post(addr, "/api/tasks/abc/cancel");
    assert_eq!((task.status, task.code()), (404, "ERR_UNKNOWN_TASK"));
    let not_pending = post(addr, "/api/tasks/77/cancel");
    assert_eq!(not_pending.status, 409);
    assert_eq!(post(addr, "/api/tasks/77/retry").status / 100, 4);
    let unknown_action = post(addr, "/api/units/fetch/explode");
    assert_eq!(unknown_action.status, 404);
}

#[test]
fn the_authorize_hook_decides_every_action() {
    let (h, _server, addr) = start("/", false);
    *h.hook.lock().unwrap() = Hook::Answer(false);
    let r = send(
        addr,
        "POST",
        "/api/units/fetch/pause",
        &[AUTH, ("X-User", "ann")],
        "",
    );
    assert_eq!((r.status, r.code()), (403, "ERR_FORBIDDEN"));
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    {
        let asked = h.asked.lock().unwrap();
        let (req, action) = &asked[0];
        assert_eq!(*action, "pause");
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/api/units/fetch/pause");
        assert_eq!(req.remote_address, "127.0.0.1");
        assert!(req.headers.iter().any(|(k, v)| k == "x-user" && v == "ann"));
        // The token is redacted.
        assert!(req
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "[redacted]"));
        assert!(!req.headers.iter().any(|(_, v)| v.contains(TOKEN)));
    }
    *h.hook.lock().unwrap() = Hook::Dropped;
    assert_eq!(post(addr, "/api/units/fetch/pause").status, 403);
    *h.hook.lock().unwrap() = Hook::Answer(true);
    assert_eq!(post(addr, "/api/units/fetch/pause").status, 202);
    assert_eq!(status_of(&h, "fetch"), Status::Paused);
    // Reads never ask.
    let asked = h.asked.lock().unwrap().len();
    assert_eq!(get(addr, "/api/units").status, 200);
    assert_eq!(h.asked.lock().unwrap().len(), asked);
}

#[test]
fn read_only_refuses_every_action() {
    let (h, _server, addr) = start("/", true);
    for path in [
        "/api/units/fetch/pause",
        "/api/units/fetch/run",
        "/api/units/fetch/disable",
        "/api/tasks/1/cancel",
        "/api/tasks/1/retry",
    ] {
        let r = post(addr, path);
        assert_eq!((r.status, r.code()), (403, "ERR_READ_ONLY"), "{path}");
    }
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    assert_eq!(h.wakes.load(Ordering::SeqCst), 0);
    assert_eq!(get(addr, "/api/overview").status, 200);
}

#[test]
fn wrong_methods_paths_queries_and_bodies_get_clear_errors() {
    let (h, _server, addr) = start("/", false);
    let r = send(addr, "POST", "/api/overview", &[AUTH], "");
    assert_eq!((r.status, r.code()), (405, "ERR_METHOD_NOT_ALLOWED"));
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = get(addr, "/api/units/fetch/pause");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(send(addr, "DELETE", "/", &[], "").status, 405);

    for path in [
        "/api/units/%zz",
        "/api/units/%FF",
        "/api/../metrics",
        "/api/units/%2E%2E",
        "/api/units?bogus=1",
        "/api/units?limit=0",
        "/api/units?limit=501",
        "/api/units?limit=ten",
        "/api/units?status=sleeping",
        "/api/units?kind=robot",
        "/api/units?cursor=-4",
        "/api/units?q=a&q=b",
        "/api/overview?x=%",
        "/api/units?limit=%2B1",
        "/api/units?limit=%+1",
        "/api/history?cursor=99999999999",
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.code(), "ERR_BAD_REQUEST");
    }
    let huge = format!("/api/units?q={}", "x".repeat(5000));
    let r = get(addr, &huge);
    assert_eq!(r.status, 400);
    // A request head beyond what the server takes at all.
    let enormous = format!("/api/units?q={}", "x".repeat(40_000));
    let r = get(addr, &enormous);
    assert!(r.status >= 400 || r.status == 0, "{}", r.status);

    for path in [
        "/api",
        "/api/",
        "/api/units/",
        "/api//units",
        "/assets/other.js",
        "/api/units/a/b/c",
    ] {
        assert_eq!(get(addr, path).status, 404, "{path}");
    }
    let r = get(addr, "/api/units/ghost");
    assert_eq!((r.status, r.code()), (404, "ERR_UNKNOWN_UNIT"));
    let r = get(addr, "/api/processes/ghost");
    assert_eq!((r.status, r.code()), (404, "ERR_UNKNOWN_UNIT"));

    let body = "x".repeat(2000);
    let r = send(addr, "POST", "/api/units/fetch/pause", &[AUTH], &body);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("1024 bytes"));
    let r = raw(
        addr,
        format!(
            "POST /api/units/fetch/pause HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n800\r\n{}\r\n0\r\n\r\n",
            "y".repeat(0x800)
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    let r = send(addr, "POST", "/api/units/fetch/pause", &[AUTH], "{}");
    assert_eq!(r.status, 202);

    // Garbage is answered (or the connection closed), never a crash.
    let r = raw(addr, b"\x16\x03\x01garbage\r\n\r\n");
    assert!(r.status == 0 || r.status == 400);
    assert_eq!(get(addr, "/api/overview").status, 200);
}

#[test]
fn reads_answer_the_documented_shapes() {
    let (h, _server, addr) = start("/", false);
    let o = get(addr, "/api/overview");
    assert_eq!(o.status, 200);
    assert!(o
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    for key in [
        "\"nowMs\":", "\"started\":false", "\"counts\":{\"idle\":3,\"running\":0,\"paused\":0,\"completed\":0,\"error\":0}",
        "\"workers\":3", "\"totals\":{", "\"inFlight\":", "\"poolQueued\":", "\"rates\":[", "\"bucketMs\":10000",
        "\"recentErrors\":[", "\"eventLoop\":{\"blocked\":false,\"blockedForMs\":0,\"unit\":null,\"lagMs\":0,\"blockedSecondsTotal\":0}",
        "\"change\":",
    ] {
        assert!(o.body.contains(key), "{key} in {}", o.body);
    }

    let units = get(addr, "/api/units?limit=2");
    assert!(units.body.starts_with(
        "{\"items\":[{\"id\":\"fetch\",\"kind\":\"worker\",\"status\":\"idle\",\"enabled\":true"
    ));
    assert!(units.body.contains("\"total\":3"), "{}", units.body);
    let next = {
        let at = units.body.find("\"nextCursor\":\"").expect("a next page") + 14;
        units.body[at..at + units.body[at..].find('"').unwrap()].to_owned()
    };
    let rest = get(addr, &format!("/api/units?limit=2&cursor={next}"));
    assert!(rest.body.contains("\"id\":\"parse\""), "{}", rest.body);
    assert!(rest.body.contains("\"nextCursor\":null"));
    let filtered = get(addr, "/api/units?q=STORE&kind=worker&status=idle");
    assert!(
        filtered.body.contains("\"id\":\"store/a b\"") && filtered.body.contains("\"total\":1")
    );

    let detail = get(addr, "/api/units/store%2Fa%20b");
    assert_eq!(detail.status, 200);
    for key in [
        "\"id\":\"store/a b\"",
        "\"config\":{\"intervalMs\":null",
        "\"overlap\":\"skip\"",
        "\"dependsOn\":[]",
        "\"executionTimesMs\":[]",
        "\"history\":[]",
        "\"nowMs\":",
    ] {
        assert!(detail.body.contains(key), "{key} in {}", detail.body);
    }
    for (path, start) in [
        ("/api/processes", "{\"items\":["),
        ("/api/pools", "{\"items\":["),
        ("/api/schedules", "{\"items\":["),
        (
            "/api/history",
            "{\"items\":[],\"nextCursor\":null,\"store\":false}",
        ),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.starts_with(start), "{path}: {}", r.body);
    }
    // HEAD answers the head of a GET.
    let head = send(addr, "HEAD", "/api/overview", &[AUTH], "");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    drop(h);
}

#[test]
fn a_blocked_event_loop_shows_in_the_overview_with_its_unit() {
    let (h, _server, addr) = start("/", false);
    let slot = h.rt.with(|e| e.registry().slot_of("parse").unwrap());
    *h.cell.lock().unwrap() = [4.0, f64::from(slot), h.clock.now_ms() - 500.0, 1200.0, 3.5];
    let o = get(addr, "/api/overview");
    assert!(o.body.contains("\"blocked\":true"), "{}", o.body);
    assert!(o.body.contains("\"unit\":\"parse\""), "{}", o.body);
    assert!(o.body.contains("\"lagMs\":3.5"));
    let m = get(addr, "/metrics");
    let line = m
        .body
        .lines()
        .find(|l| l.starts_with("synchronik_event_loop_blocked_seconds_total "))
        .unwrap();
    let seconds: f64 = line.split(' ').nth(1).unwrap().parse().unwrap();
    assert!((1.6..2.5).contains(&seconds), "{line}");
}

#[test]
fn metrics_are_prometheus_text_with_every_family() {
    let (_h, _server, addr) = start("/dash/", false);
    let m = get(addr, "/dash/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in [
        "# TYPE synchronik_runs_total counter",
        "synchronik_runs_total{kind=\"worker\",outcome=\"completed\"} 0",
        "synchronik_runs_total{kind=\"process\",outcome=\"ended\"} 0",
        "# TYPE synchronik_run_duration_seconds histogram",
        "synchronik_run_duration_seconds_bucket{kind=\"worker\",le=\"0.001\"} 0",
        "synchronik_run_duration_seconds_bucket{kind=\"worker\",le=\"+Inf\"} 0",
        "synchronik_run_duration_seconds_count{kind=\"process\"} 0",
        "# TYPE synchronik_retries_total counter",
        "synchronik_units{status=\"idle\"} 3",
        "# TYPE synchronik_pool_tasks gauge",
        "# TYPE synchronik_pool_tasks_finished_total counter",
        "# TYPE synchronik_schedule_lag_seconds histogram",
        "synchronik_schedule_lag_seconds_bucket{le=\"+Inf\"} 0",
        "synchronik_event_loop_blocked_seconds_total 0.0",
        "synchronik_store_pending_writes 0",
    ] {
        assert!(m.body.lines().any(|l| l == line), "{line} in\n{}", m.body);
    }
    // At the server's root too, when the base path is not `/`.
    assert_eq!(get(addr, "/metrics").body, m.body);
    // The page under its base path; the base without its slash redirects.
    assert_eq!(send(addr, "GET", "/dash/", &[], "").status, 200);
    let r = send(addr, "GET", "/dash", &[], "");
    assert_eq!((r.status, r.header("location")), (308, Some("/dash/")));
    let r = send(addr, "GET", "/dash?token=a%2Bb&x=1", &[], "");
    assert_eq!(
        (r.status, r.header("location")),
        (308, Some("/dash/?token=a%2Bb&x=1"))
    );
    assert_eq!(get(addr, "/api/overview").status, 404);
    assert_eq!(get(addr, "/dash/api/overview").status, 200);
}

/// An open event stream, read as it comes.
struct Stream {
    s: TcpStream,
    seen: String,
}

impl Stream {
    fn open(addr: SocketAddr) -> Self {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        write!(
            s,
            "GET /api/events?token={TOKEN} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        Self {
            s,
            seen: String::new(),
        }
    }

    /// Reads until `n` overview events arrived; false when they did not
    /// within 5 s (or the stream ended, or was refused).
    fn wait_events(&mut self, n: usize) -> bool {
        self.wait_until(|seen| seen.matches("event: overview\ndata: {").count() >= n)
    }

    /// Reads until what was read satisfies `done`; false when it did not
    /// within 5 s (or the stream ended, or was refused).
    fn wait_until(&mut self, done: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if done(&self.seen) {
                return true;
            }
            if self.seen.len() >= 12 && !self.seen.starts_with("HTTP/1.1 200") {
                return false;
            }
            let mut buf = [0u8; 4096];
            match self.s.read(&mut buf) {
                Ok(0) => return false,
                Ok(k) => self.seen.push_str(&String::from_utf8_lossy(&buf[..k])),
                Err(_) => {}
            }
        }
        false
    }

    /// Whether the server ended the stream within 5 s.
    fn ends(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let mut buf = [0u8; 4096];
            match self.s.read(&mut buf) {
                Ok(0) => return true,
                Ok(k) => self.seen.push_str(&String::from_utf8_lossy(&buf[..k])),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => {}
            }
        }
        false
    }
}

#[test]
fn an_event_stream_gets_the_overview_then_each_change() {
    let (h, server, addr) = start("/", false);
    let mut stream = Stream::open(addr);
    assert!(stream.wait_events(1), "{}", stream.seen);
    assert!(stream.seen.starts_with("HTTP/1.1 200"));
    assert!(stream
        .seen
        .to_ascii_lowercase()
        .contains("content-type: text/event-stream"));
    assert!(stream.seen.contains("\"paused\":0"));
    h.rt.with(|e| e.update_status("fetch", Status::Paused));
    // Read to the end of the event that tells (an overview spans reads).
    assert!(
        stream.wait_until(|seen| seen
            .split_once("\"paused\":1")
            .is_some_and(|(_, rest)| rest.contains("}\n\n"))),
        "{}",
        stream.seen
    );
    // Each one is a whole event: a named event and one line of JSON.
    let events: Vec<&str> = stream.seen.split("event: overview\n").skip(1).collect();
    assert!(events.len() >= 2);
    assert!(events
        .iter()
        .all(|e| e.starts_with("data: {") && e.contains("}\n\n")));
    // Closing ends the stream and frees the port.
    let started = Instant::now();
    server.close();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(stream.ends());
    server.close();
    let again = std::net::TcpListener::bind(addr);
    assert!(again.is_ok(), "the port is free again: {again:?}");
}

#[test]
fn event_streams_are_bounded() {
    let (_h, _server, addr) = start("/", false);
    let mut open = Vec::new();
    for _ in 0..64 {
        let mut s = Stream::open(addr);
        assert!(s.wait_events(1));
        open.push(s);
    }
    let r = get(addr, "/api/events");
    assert_eq!((r.status, r.code()), (503, "ERR_TOO_MANY_CLIENTS"));
    // One leaves: room for another.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = Stream::open(addr);
        if s.wait_events(1) {
            break;
        }
        assert!(Instant::now() < deadline, "no room came back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_port_in_use_is_reported_at_once_and_dropping_closes() {
    let (_h, server, addr) = start("/", false);
    let h = host();
    let mut o = options("/", false);
    o.port = addr.port();
    let err = serve(h.clone(), o.clone()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    drop(server);
    assert!(serve(h.clone(), o.clone()).is_ok());
    o.token = String::new();
    o.port = 0;
    assert_eq!(
        serve(h, o).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[test]
fn history_pages_come_from_the_store_newest_first() {
    let dir = std::env::temp_dir().join(format!(
        "synchronik-web-history-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(dir.join("db.sqlite"), StoreOptions::default()).unwrap();
    let (h, _server, addr) = start("/", false);
    h.rt.with(|e| e.set_store(store.clone()));
    for (i, unit) in ["fetch", "parse", "fetch", "fetch", "parse"]
        .iter()
        .enumerate()
    {
        store.send(synchronik_core::store::Op::History(HistoryRow {
            unit_id: (*unit).to_owned(),
            task_key: None,
            task_name: None,
            pool: None,
            attempt: 1,
            started_ms: 1000.0 * i as f64,
            ended_ms: 1000.0 * i as f64 + 5.0,
            outcome: if i == 3 { "error" } else { "completed" }.to_owned(),
            error: (i == 3).then(|| "boom".to_owned()),
        }));
    }
    store.flush().unwrap();

    let first = get(addr, "/api/history?limit=2");
    assert_eq!(first.status, 200);
    assert!(first.body.starts_with("{\"items\":[{\"unit\":\"parse\",\"attempt\":1,\"status\":\"completed\",\"startedMs\":4000,\"endedMs\":4005,\"durationMs\":5,\"error\":null,\"task\":null,\"taskKey\":null,\"pool\":null},{\"unit\":\"fetch\",\"attempt\":1,\"status\":\"error\",\"startedMs\":3000"), "{}", first.body);
    assert!(
        first.body.ends_with("\"nextCursor\":\"2\",\"store\":true}"),
        "{}",
        first.body
    );
    let last = get(addr, "/api/history?limit=2&cursor=4");
    assert_eq!(last.body.matches("\"unit\":").count(), 1, "{}", last.body);
    assert!(last.body.contains("\"startedMs\":0,"));
    assert!(last.body.contains("\"nextCursor\":null"));
    let fetches = get(addr, "/api/history?unit=fetch");
    assert_eq!(fetches.body.matches("\"unit\":\"fetch\"").count(), 3);
    assert!(!fetches.body.contains("parse"));
    let detail = get(addr, "/api/units/fetch");
    assert_eq!(
        detail.body.matches("\"unit\":\"fetch\"").count(),
        3,
        "{}",
        detail.body
    );
    assert!(detail.body.contains("\"error\":\"boom\""));
    drop(h);
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn connections_over_the_per_address_limit_get_a_503_not_a_reset() {
    let (_h, _server, addr) = start("/", false);
    // 128 connections from this address that send nothing.
    let idle: Vec<TcpStream> = (0..128)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // The server counts them as it accepts them.
    let deadline = Instant::now() + Duration::from_secs(5);
    let r = loop {
        let r = get(addr, "/api/overview");
        if r.status != 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((r.status, r.code()), (503, "ERR_TOO_MANY_CONNECTIONS"));
    assert!(r.body.contains("128 connections"), "{}", r.body);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("connection"), Some("close"));
    // They leave: room again.
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(addr, "/api/overview").status != 200 {
        assert!(Instant::now() < deadline, "no room came back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn clients_that_stop_reading_lose_their_connections() {
    let h = host();
    let mut o = options("/", false);
    o.write_stall = Some(Duration::from_millis(300));
    let _server = serve(h, o).unwrap();
    let addr = _server.local_addr();
    // 128 connections (the limit of one address) that pipeline requests
    // for the page's script and never read the answers.
    let request = format!("GET /assets/app.js HTTP/1.1\r\nHost: {addr}\r\n\r\n").repeat(200);
    let stuck: Vec<TcpStream> = (0..128)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            s
        })
        .collect();
    // Once their writes stalled for 300 ms the server drops them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(addr, "/api/overview").status != 200 {
        assert!(
            Instant::now() < deadline,
            "the stuck connections still hold the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stuck);
}

#[test]
fn closing_frees_the_port_at_once_and_drops_connections_without_an_answer() {
    let (h, server, addr) = start("/", false);
    *h.hook.lock().unwrap() = Hook::Silent;
    // A request head half sent, and an action waiting for the hook.
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /api/overview HTTP/1.1\r\nHost: ")
        .unwrap();
    let mut waiting = TcpStream::connect(addr).unwrap();
    write!(
        waiting,
        "POST /api/units/fetch/pause HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.asked.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the hook was never asked");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    server.close_then(move || {
        let _ = tx.send(Instant::now());
    });
    let returned = started.elapsed();
    assert!(returned < Duration::from_millis(100), "{returned:?}");
    let again = std::net::TcpListener::bind(addr);
    assert!(
        again.is_ok(),
        "the port is free when close returns: {again:?}"
    );
    // Neither connection waits for the 0.5 s answers in progress get.
    let ended = rx.recv_timeout(Duration::from_secs(3)).unwrap();
    assert!(
        ended - started < Duration::from_millis(400),
        "{:?}",
        ended - started
    );
    for mut s in [half, waiting] {
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut buf = Vec::new();
        let closed = match s.read_to_end(&mut buf) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(
            closed && buf.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&buf)
        );
    }
    assert_eq!(status_of(&h, "fetch"), Status::Idle);
    // A second close: the thread ended already, called back at once.
    let (tx, rx) = std::sync::mpsc::channel();
    server.close_then(move || tx.send(()).unwrap());
    assert!(rx.try_recv().is_ok());
}
