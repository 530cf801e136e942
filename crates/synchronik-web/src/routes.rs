//! A request to its answer: the `Host` check, routing, the token, and the
//! reads and actions of `API.md`. Every handler is total: whatever comes
//! in gets an answer (a JSON error for what is wrong), never a panic.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

use synchronik_core::observe::UnitQuery;
use synchronik_core::{nanos_to_ms, EngineError, HistoryQuery, Status, UnitKind};

use crate::query::{segments, shorten, Params};
use crate::server::Ctx;
use crate::{events, views, AuthRequest};

const PAGE: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The largest request body taken (actions need none).
const MAX_BODY: usize = 1024;
/// How long a client may take to send a body.
const BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the authorization hook may take to answer.
const AUTHORIZE_TIMEOUT: Duration = Duration::from_secs(5);
/// Waiting tasks listed per pool.
const QUEUE_LISTED: usize = 100;
/// History rows a unit's detail shows.
const UNIT_HISTORY: u32 = 20;
/// How deep the history's pages go.
const HISTORY_DEPTH: u64 = 100_000;

/// A response body: all at once, or an event stream.
pub(crate) enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body {
    fn text(s: impl Into<Bytes>) -> Self {
        Body::Full(Some(s.into()))
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// An error answer.
#[derive(Debug)]
struct Fail {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The methods a 405 names.
    allow: Option<&'static str>,
}

fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> Fail {
    Fail {
        status,
        code,
        message: message.into(),
        allow: None,
    }
}

fn method_not_allowed(method: &Method, allow: &'static str) -> Fail {
    Fail {
        allow: Some(allow),
        ..fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "ERR_METHOD_NOT_ALLOWED",
            format!("{method} is not allowed here: use {allow}"),
        )
    }
}

fn bad_request(message: String) -> Fail {
    fail(StatusCode::BAD_REQUEST, "ERR_BAD_REQUEST", message)
}

fn not_found(path: &str) -> Fail {
    fail(
        StatusCode::NOT_FOUND,
        "ERR_NOT_FOUND",
        format!("no such path: \"{}\"", shorten(path)),
    )
}

fn unknown_unit(id: &str) -> Fail {
    fail(
        StatusCode::NOT_FOUND,
        "ERR_UNKNOWN_UNIT",
        format!("no unit \"{}\"", shorten(id)),
    )
}

/// The engine refused: 404 for what it does not know, else 409.
fn refused(e: &EngineError) -> Fail {
    let code = e.code().as_str();
    let status = if code.contains("UNKNOWN") {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::CONFLICT
    };
    fail(status, code, e.to_string())
}

impl Fail {
    fn into_response(self) -> Response<Body> {
        let body = views::error(self.code, &self.message);
        let mut res = respond(self.status, JSON, Body::text(body));
        let h = res.headers_mut();
        if let Some(allow) = self.allow {
            h.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn json(status: StatusCode, text: String) -> Result<Response<Body>, Fail> {
    Ok(respond(status, JSON, Body::text(text)))
}

/// Answers one request.
pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let res = route(ctx, req, peer)
        .await
        .unwrap_or_else(Fail::into_response);
    secured(res)
}

/// The answer to every request of a connection over the server's limits:
/// `503` (the connection closes after it).
pub(crate) fn too_busy(message: &str) -> Response<Body> {
    secured(
        fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "ERR_TOO_MANY_CONNECTIONS",
            message,
        )
        .into_response(),
    )
}

/// `res` with the headers every answer carries.
fn secured(mut res: Response<Body>) -> Response<Body> {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitAction {
    Run,
    Pause,
    Resume,
    Enable,
    Disable,
}

impl UnitAction {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "run" => Self::Run,
            "pause" => Self::Pause,
            "resume" => Self::Resume,
            "enable" => Self::Enable,
            "disable" => Self::Disable,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Enable => "enable",
            Self::Disable => "disable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskAction {
    Cancel,
    Retry,
}

#[derive(Debug)]
enum Read {
    Overview,
    Units,
    Unit(String),
    Processes,
    Process(String),
    Pools,
    Schedules,
    History,
    Events,
}

impl Read {
    /// The query parameters it takes (besides `token`).
    fn params(&self) -> &'static [&'static str] {
        match self {
            Read::Units => &["status", "kind", "q", "limit", "cursor"],
            Read::History => &["unit", "limit", "cursor"],
            _ => &[],
        }
    }
}

#[derive(Debug)]
enum Action {
    Unit(String, UnitAction),
    Task(String, TaskAction),
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Unit(_, a) => a.name(),
            Action::Task(_, TaskAction::Cancel) => "cancel",
            Action::Task(_, TaskAction::Retry) => "retry",
        }
    }
}

#[derive(Debug)]
enum Target {
    Page,
    Asset(&'static str, &'static str),
    Metrics,
    Read(Read),
    Act(Action),
}

fn resolve(segs: &[String], path: &str) -> Result<Target, Fail> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    Ok(match s.as_slice() {
        [] => Target::Page,
        ["assets", "app.js"] => Target::Asset(JS, APP_JS),
        ["assets", "app.css"] => Target::Asset(CSS, APP_CSS),
        ["metrics"] => Target::Metrics,
        ["api", "overview"] => Target::Read(Read::Overview),
        ["api", "units"] => Target::Read(Read::Units),
        ["api", "units", id] if !id.is_empty() => Target::Read(Read::Unit((*id).to_owned())),
        ["api", "units", id, action] if !id.is_empty() => match UnitAction::parse(action) {
            Some(a) => Target::Act(Action::Unit((*id).to_owned(), a)),
            None => return Err(not_found(path)),
        },
        ["api", "processes"] => Target::Read(Read::Processes),
        ["api", "processes", id] if !id.is_empty() => Target::Read(Read::Process((*id).to_owned())),
        ["api", "pools"] => Target::Read(Read::Pools),
        ["api", "schedules"] => Target::Read(Read::Schedules),
        ["api", "history"] => Target::Read(Read::History),
        ["api", "events"] => Target::Read(Read::Events),
        ["api", "tasks", id, "cancel"] => {
            Target::Act(Action::Task((*id).to_owned(), TaskAction::Cancel))
        }
        ["api", "tasks", id, "retry"] => {
            Target::Act(Action::Task((*id).to_owned(), TaskAction::Retry))
        }
        _ => return Err(not_found(path)),
    })
}

/// Where a request's path falls under the base path.
enum Place<'a> {
    /// Relative to the base path.
    Under(&'a str),
    /// The base path without its final `/`: the page is one slash away.
    BaseWithoutSlash,
    Outside,
}

fn place<'a>(base: &str, path: &'a str) -> Place<'a> {
    if let Some(rel) = path.strip_prefix(base) {
        return Place::Under(rel);
    }
    if base.len() > 1 {
        if path.len() + 1 == base.len() && base.starts_with(path) {
            return Place::BaseWithoutSlash;
        }
        // `/metrics` at the server's root too.
        if path == "/metrics" {
            return Place::Under("metrics");
        }
    }
    Place::Outside
}

fn check_host(ctx: &Ctx, req: &Request<Incoming>) -> Result<(), Fail> {
    let given = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match given {
        Some(h) if ctx.authority.accepts(h) => Ok(()),
        other => Err(fail(
            StatusCode::MISDIRECTED_REQUEST,
            "ERR_MISDIRECTED_REQUEST",
            format!(
                "the Host header ({}) does not name this server",
                other.map_or_else(|| "none".to_owned(), |h| format!("\"{}\"", shorten(h)))
            ),
        )),
    }
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request carries the token: in the `Authorization` header,
/// or (`query`, for reads) as `?token=`.
fn check_token(ctx: &Ctx, headers: &HeaderMap, query: Option<&Params>) -> Result<(), Fail> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, t)| same(t.trim(), &ctx.token));
    let in_query = query
        .and_then(|p| p.get("token"))
        .is_some_and(|t| same(t, &ctx.token));
    if bearer || in_query {
        return Ok(());
    }
    let how = if query.is_some() {
        "\"Authorization: Bearer <token>\" or \"?token=<token>\""
    } else {
        "\"Authorization: Bearer <token>\" (an action never takes the token from the query)"
    };
    Err(fail(
        StatusCode::UNAUTHORIZED,
        "ERR_UNAUTHORIZED",
        format!("missing or wrong token: send {how}"),
    ))
}

async fn route(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Fail> {
    check_host(ctx, &req)?;
    let path = req.uri().path();
    let rel = match place(&ctx.base, path) {
        Place::Under(rel) => rel,
        Place::BaseWithoutSlash => {
            let mut res = respond(StatusCode::PERMANENT_REDIRECT, HTML, Body::Full(None));
            // The query (the page's `?token=`) goes along.
            let to = match req.uri().query() {
                Some(q) => format!("{}?{q}", ctx.base),
                None => ctx.base.clone(),
            };
            if let Ok(to) = HeaderValue::from_str(&to) {
                res.headers_mut().insert(header::LOCATION, to);
            }
            return Ok(res);
        }
        Place::Outside => return Err(not_found(path)),
    };
    let segs = segments(rel).map_err(|m| bad_request(format!("bad path: {m}")))?;
    let target = resolve(&segs, path)?;
    let method = req.method();
    match target {
        Target::Act(_) if *method != Method::POST => {
            return Err(method_not_allowed(method, "POST"));
        }
        Target::Act(_) => {}
        _ if !matches!(*method, Method::GET | Method::HEAD) => {
            return Err(method_not_allowed(method, "GET, HEAD"));
        }
        _ => {}
    }
    match target {
        Target::Page => Ok(respond(StatusCode::OK, HTML, Body::text(PAGE))),
        Target::Asset(ct, text) => Ok(respond(StatusCode::OK, ct, Body::text(text))),
        Target::Metrics => {
            let params = Params::parse(req.uri().query(), &[]).map_err(bad_request)?;
            check_token(ctx, req.headers(), Some(&params))?;
            let text = crate::render_metrics(&*ctx.host);
            Ok(respond(
                StatusCode::OK,
                crate::METRICS_CONTENT_TYPE,
                Body::text(text),
            ))
        }
        Target::Read(r) => {
            let params = Params::parse(req.uri().query(), r.params()).map_err(bad_request)?;
            check_token(ctx, req.headers(), Some(&params))?;
            read(ctx, r, &params, *method == Method::HEAD).await
        }
        Target::Act(a) => act(ctx, req, peer, a).await,
    }
}

fn now_ms(ctx: &Ctx) -> f64 {
    nanos_to_ms(ctx.host.runtime().clock().now())
}

async fn read(ctx: &Arc<Ctx>, r: Read, p: &Params, head: bool) -> Result<Response<Body>, Fail> {
    let rt = ctx.host.runtime();
    let ok = StatusCode::OK;
    match r {
        Read::Overview => json(ok, events::overview(&*ctx.host).0),
        Read::Units => {
            let q = UnitQuery {
                status: p
                    .one_of("status", Status::parse, &Status::ALL.map(Status::as_str))
                    .map_err(bad_request)?,
                kind: p
                    .one_of(
                        "kind",
                        UnitKind::parse,
                        &UnitKind::ALL.map(UnitKind::as_str),
                    )
                    .map_err(bad_request)?,
                text: p.get("q").filter(|q| !q.is_empty()).map(str::to_owned),
                after: p
                    .cursor(u64::from(u32::MAX))
                    .map_err(bad_request)?
                    .map(|c| c as synchronik_core::Slot),
                limit: p.limit().map_err(bad_request)?,
            };
            let page = rt.with(|e| e.unit_page(&q));
            json(ok, views::unit_page(&page, now_ms(ctx)))
        }
        Read::Unit(id) => {
            let (detail, store) = rt.with(|e| {
                (
                    e.unit_detail(&id),
                    e.durable_store().filter(|s| s.keeps_history()).cloned(),
                )
            });
            let detail = detail.ok_or_else(|| unknown_unit(&id))?;
            let history = match store {
                Some(store) => {
                    let q = HistoryQuery {
                        unit_id: Some(id),
                        since_ms: None,
                        limit: Some(UNIT_HISTORY),
                    };
                    // A store that cannot be read leaves the history empty.
                    Some(blocking(move || store.history(q)).await.unwrap_or_default())
                }
                None => None,
            };
            json(
                ok,
                views::unit_detail(&detail, history.as_deref(), now_ms(ctx)),
            )
        }
        Read::Processes => {
            let list = rt.with(|e| e.process_views());
            json(ok, views::processes(&list, now_ms(ctx)))
        }
        Read::Process(id) => {
            let view = rt.with(|e| e.process_view(&id)).ok_or_else(|| {
                fail(
                    StatusCode::NOT_FOUND,
                    "ERR_UNKNOWN_UNIT",
                    format!("no process \"{}\"", shorten(&id)),
                )
            })?;
            json(ok, views::process(&view, now_ms(ctx)))
        }
        Read::Pools => {
            let list = rt.with(|e| e.pool_views(QUEUE_LISTED));
            json(ok, views::pools(&list, now_ms(ctx)))
        }
        Read::Schedules => {
            let mut list = rt.with(|e| e.schedule_views());
            json(ok, views::schedules(&mut list, now_ms(ctx)))
        }
        Read::History => history(ctx, p).await,
        Read::Events => {
            if head {
                return Ok(respond(ok, EVENT_STREAM, Body::Full(None)));
            }
            let Some(rx) = events::subscribe(ctx) else {
                return Err(fail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ERR_TOO_MANY_CLIENTS",
                    format!(
                        "{} event streams are open already; close one first",
                        events::MAX_CLIENTS
                    ),
                ));
            };
            let mut res = respond(ok, EVENT_STREAM, Body::Stream(rx));
            res.headers_mut()
                .insert("x-accel-buffering", HeaderValue::from_static("no"));
            Ok(res)
        }
    }
}

/// Runs a blocking store read off the server's thread.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, EngineError> + Send + 'static,
) -> Result<R, EngineError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        Err(EngineError::Storage {
            path: String::new(),
            message: "the read of the store ended abnormally".into(),
        })
    })
}

async fn history(ctx: &Arc<Ctx>, p: &Params) -> Result<Response<Body>, Fail> {
    let limit = p.limit().map_err(bad_request)?;
    let offset = p.cursor(HISTORY_DEPTH).map_err(bad_request)?.unwrap_or(0);
    let unit = p.get("unit").filter(|u| !u.is_empty()).map(str::to_owned);
    let store = ctx
        .host
        .runtime()
        .with(|e| e.durable_store().filter(|s| s.keeps_history()).cloned());
    let Some(store) = store else {
        return json(StatusCode::OK, views::history(None, None));
    };
    // Pages are cut from the newest rows: the cursor counts the rows
    // before the page.
    let q = HistoryQuery {
        unit_id: unit,
        since_ms: None,
        limit: Some((offset as usize + limit + 1) as u32),
    };
    let rows = blocking(move || store.history(q)).await.map_err(|e| {
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.code().as_str(),
            e.to_string(),
        )
    })?;
    let mut rows: Vec<_> = rows.into_iter().skip(offset as usize).collect();
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = offset + limit as u64;
    let next = (more && next <= HISTORY_DEPTH).then_some(next);
    json(StatusCode::OK, views::history(Some(&rows), next))
}

/// Reads and drops a request body of at most [`MAX_BODY`] bytes.
async fn drain(mut body: Incoming, length: Option<u64>) -> Result<(), Fail> {
    let too_large = || {
        bad_request(format!(
            "the request body is larger than {MAX_BODY} bytes (actions take none)"
        ))
    };
    if length.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut n = 0;
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            let frame =
                frame.map_err(|e| bad_request(format!("cannot read the request body: {e}")))?;
            if let Some(data) = frame.data_ref() {
                n += data.len();
                if n > MAX_BODY {
                    return Err(too_large());
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| {
            Err(bad_request(
                "the request body took too long to arrive".into(),
            ))
        })
}

fn forbidden(code: &'static str, message: String) -> Fail {
    fail(StatusCode::FORBIDDEN, code, message)
}

async fn act(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    peer: SocketAddr,
    action: Action,
) -> Result<Response<Body>, Fail> {
    // An action takes no parameters (a token in the query is not taken).
    Params::parse(req.uri().query(), &[]).map_err(bad_request)?;
    check_token(ctx, req.headers(), None)?;
    let (parts, body) = req.into_parts();
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    drain(body, length).await?;
    if ctx.read_only {
        return Err(forbidden(
            "ERR_READ_ONLY",
            format!(
                "the dashboard is read-only: \"{}\" is not allowed",
                action.name()
            ),
        ));
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let text = origin.to_str().unwrap_or("");
        let own = text
            .strip_prefix("http://")
            .is_some_and(|a| ctx.authority.accepts(a));
        if !own {
            return Err(forbidden(
                "ERR_FORBIDDEN_ORIGIN",
                format!("the Origin \"{}\" is not this server's own", shorten(text)),
            ));
        }
    }
    let request = AuthRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        // The token is not the hook's to see: `authorization` is there,
        // as `[redacted]`.
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let v = if *k == header::AUTHORIZATION {
                    "[redacted]"
                } else {
                    v.to_str().ok()?
                };
                Some((k.as_str().to_owned(), v.to_owned()))
            })
            .collect(),
        remote_address: peer.ip().to_string(),
    };
    if let Some(answer) = ctx.host.authorize(request, action.name()) {
        let allowed = matches!(
            tokio::time::timeout(AUTHORIZE_TIMEOUT, answer).await,
            Ok(Ok(true))
        );
        if !allowed {
            return Err(forbidden(
                "ERR_FORBIDDEN",
                format!(
                    "the authorize hook did not allow \"{}\" (it answered no, threw, or did not answer within 5 s)",
                    action.name()
                ),
            ));
        }
    }
    perform(ctx, action)?;
    ctx.host.wake();
    json(StatusCode::ACCEPTED, r#"{"ok":true}"#.to_owned())
}

fn perform(ctx: &Ctx, action: Action) -> Result<(), Fail> {
    let rt = ctx.host.runtime();
    match action {
        Action::Unit(id, a) => rt.with(|e| {
            let Some(slot) = e.registry().slot_of(&id) else {
                return Err(unknown_unit(&id));
            };
            match a {
                UnitAction::Run => e.run_detached(&id).map_err(|e| refused(&e))?,
                UnitAction::Pause => {
                    e.update_status(&id, Status::Paused);
                }
                UnitAction::Resume => {
                    let paused = e
                        .registry()
                        .get(slot)
                        .is_some_and(|u| u.status == Status::Paused);
                    if paused {
                        e.update_status(&id, Status::Idle);
                    }
                }
                UnitAction::Enable => {
                    e.set_enabled(&id, true);
                }
                UnitAction::Disable => {
                    e.set_enabled(&id, false);
                }
            }
            Ok(())
        }),
        Action::Task(id, a) => {
            let Ok(task) = id.parse::<synchronik_core::TaskId>() else {
                return Err(fail(
                    StatusCode::NOT_FOUND,
                    "ERR_UNKNOWN_TASK",
                    format!("no task \"{}\" (task ids are numbers)", shorten(&id)),
                ));
            };
            rt.with(|e| match a {
                TaskAction::Cancel => {
                    if e.pool_cancel_task(task) {
                        Ok(())
                    } else {
                        Err(fail(
                            StatusCode::CONFLICT,
                            "ERR_NOT_PENDING",
                            format!("task {task} is neither queued nor running"),
                        ))
                    }
                }
                TaskAction::Retry => e.pool_retry_task(task).map(drop).map_err(|e| refused(&e)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_under_the_base_path_or_not() {
        assert!(matches!(
            place("/", "/api/units"),
            Place::Under("api/units")
        ));
        assert!(matches!(place("/dash/", "/dash/"), Place::Under("")));
        assert!(matches!(place("/dash/", "/dash"), Place::BaseWithoutSlash));
        assert!(matches!(
            place("/dash/", "/metrics"),
            Place::Under("metrics")
        ));
        assert!(matches!(place("/dash/", "/other"), Place::Outside));
        assert!(matches!(place("/dash/", "/das"), Place::Outside));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
