//! The hot path of the bridge as plain exported functions.
//!
//! A call of a napi class method costs several hundred nanoseconds before it
//! does anything (the instance is looked up and its class checked on every
//! call), and a typed array handed over or returned costs as much again. The
//! calls that happen once per run or per batch of runs therefore go through
//! free functions that take the engine's handle (a small number) and
//! exchange records through two buffers that the facade allocated once and
//! the engine keeps: `out`, where drains write records, and `inbox`, where
//! the facade writes settled outcomes.
//!
//! Only the JavaScript thread that created an engine may call these
//! functions with its handle (checked on every call: a handle of a gone
//! engine, or of another thread's, is refused), and it is inside the call
//! while the engine reads or writes its buffers, so JavaScript never sees a
//! buffer half written.

use std::sync::Arc;
use std::thread::ThreadId;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::{Mutex, RwLock};

use synchronik_core::{
    CallId, Clock, Nanos, Outcome, Runtime, Slot, UnitKind, UnitSpec, CLOCK_LIMIT,
};

use crate::calendar::JsSchedule;
use crate::options::JsDependency;
use crate::outbox::{Outbox, Strings};

/// What the hot-path functions reach through a handle.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) out: Mutex<Float64Array>,
    pub(crate) inbox: Mutex<Float64Array>,
    /// Manual clock: the targets of the `advance` calls under way, by
    /// number. They stay in nanoseconds here: a target such as 1e16 ms plus
    /// a few ms is not exact as a JavaScript number.
    pub(crate) advances: Mutex<Vec<(u32, Nanos)>>,
    pub(crate) next_advance: Mutex<u32>,
}

/// A handle: what JavaScript holds to name an engine on the hot path (a
/// plain number). It is the engine's index in the table plus, above
/// [`INDEX_BITS`], the serial number of its registration: an index is
/// reused once its engine is gone, a serial number never is, so a handle
/// kept past its engine's end (or made up) names no engine rather than
/// whichever engine took its index.
pub(crate) type Handle = f64;

/// Bits of a handle that hold the index: at most 2^20 engines live at once.
const INDEX_BITS: u32 = 20;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Handles stay below 2^53, exact as JavaScript numbers.
const SERIAL_LIMIT: u64 = 1 << (53 - INDEX_BITS);

/// An engine in the table: what the hot path reaches, and who may reach it.
struct Entry {
    serial: u64,
    /// The JavaScript thread that created the engine, the only one whose
    /// calls may touch its buffers (they belong to that thread's heap).
    owner: ThreadId,
    shared: Shared,
}

/// Engines by index, and the indexes free for reuse (the table stays as
/// small as the number of live engines, however many come and go:
/// `runWorkerTasks` makes one per call).
struct Engines {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    next_serial: u64,
}

static ENGINES: RwLock<Engines> = parking_lot::const_rwlock(Engines {
    slots: Vec::new(),
    free: Vec::new(),
    next_serial: 1,
});

thread_local! {
    static THIS_THREAD: ThreadId = std::thread::current().id();
}

/// Puts an engine of the calling thread in the table; returns its handle.
pub(crate) fn register(shared: Shared) -> Result<Handle> {
    let mut engines = ENGINES.write();
    let serial = engines.next_serial;
    if serial >= SERIAL_LIMIT {
        return Err(Error::from_reason(
            "cannot create another engine: every engine handle of this process was used",
        ));
    }
    let index = match engines.free.pop() {
        Some(index) => index,
        None if engines.slots.len() as u64 > INDEX_MASK => {
            return Err(Error::from_reason(format!(
                "cannot create another engine: {} engines are alive in this process",
                engines.slots.len()
            )));
        }
        None => {
            engines.slots.push(None);
            (engines.slots.len() - 1) as u32
        }
    };
    engines.next_serial += 1;
    engines.slots[index as usize] = Some(Entry {
        serial,
        owner: THIS_THREAD.with(|t| *t),
        shared,
    });
    Ok(((serial << INDEX_BITS) | u64::from(index)) as f64)
}

/// The index and serial number a handle is made of, if it is a handle.
fn parts(handle: Handle) -> Option<(usize, u64)> {
    let valid = handle >= 0.0 && handle.fract() == 0.0 && handle < (1u64 << 53) as f64;
    valid.then(|| {
        let h = handle as u64;
        ((h & INDEX_MASK) as usize, h >> INDEX_BITS)
    })
}

/// Takes the engine of `handle` out of the table (its `NativeEngine` is
/// gone); its handle names no engine from now on.
pub(crate) fn unregister(handle: Handle) {
    let Some((index, serial)) = parts(handle) else {
        return;
    };
    // Dropped outside the lock: dropping an engine joins its thread.
    let gone = {
        let mut engines = ENGINES.write();
        let gone = match engines.slots.get_mut(index) {
            Some(slot) if slot.as_ref().is_some_and(|e| e.serial == serial) => slot.take(),
            _ => None,
        };
        if gone.is_some() {
            engines.free.push(index as u32);
        }
        gone
    };
    drop(gone);
}

/// Runs `f` on the engine of `handle`. A handle that names no live engine,
/// or an engine of another JavaScript thread, is refused with an error
/// naming the call: it is never used.
fn with<R>(call: &str, handle: Handle, f: impl FnOnce(&Shared) -> R) -> Result<R> {
    let engines = ENGINES.read();
    let entry = parts(handle).and_then(|(index, serial)| {
        engines
            .slots
            .get(index)
            .and_then(Option::as_ref)
            .filter(|e| e.serial == serial)
    });
    let refused = |why: String| Err(Error::new(Status::InvalidArg, format!("{call}: {why}")));
    match entry {
        None => refused(format!(
            "handle {handle} names no live engine (its engine is gone, or it is not a handle)"
        )),
        Some(e) if e.owner != THIS_THREAD.with(|t| *t) => refused(format!(
            "handle {handle} names an engine of another JavaScript thread; only the thread that created an engine may use its handle"
        )),
        Some(e) => Ok(f(&e.shared)),
    }
}

/// Handles in use (for tests of the table itself).
#[napi]
pub fn engine_handles_in_use() -> u32 {
    let engines = ENGINES.read();
    (engines.slots.len() - engines.free.len()) as u32
}

/// Writes the oldest records produced since the last drain into the `out`
/// buffer from number `offset` on, as many whole records as fit. Returns
/// `numbers written * 4`, plus 2 while the timer thread fires a large due
/// set in parts ([`Runtime::bursting`]). The lowest bit is clear: the
/// strings that records name are taken with [`engine_strings`] when a
/// record needs one.
///
/// [`Runtime::bursting`]: synchronik_core::runtime::Runtime::bursting
#[napi(catch_unwind)]
#[allow(unsafe_code)]
pub fn engine_drain(handle: Handle, offset: u32) -> Result<u32> {
    with("engineDrain", handle, |s| drain(s, offset))
}

/// [`engine_drain`] of the engine reached by `s`.
fn drain(s: &Shared, offset: u32) -> u32 {
    let mut out = s.out.lock();
    // SAFETY: `with` let only the engine's own JavaScript thread in, and
    // it is inside this call: nothing reads or writes the buffer meanwhile.
    let buf = unsafe { out.as_mut() };
    let from = (offset as usize).min(buf.len());
    s.outbox.drain_into(&mut buf[from..], s.runtime.bursting())
}

/// The strings that drained records name by number.
#[napi(catch_unwind)]
pub fn engine_strings(handle: Handle) -> Result<Strings> {
    let (base, strs) = with("engineStrings", handle, |s| {
        s.outbox.batch.lock().take_strings()
    })?;
    Ok(Strings {
        base: base as f64,
        strs,
    })
}

/// Reports `count` settled attempts from the `inbox` buffer, pairs
/// `[call, ok]` (ok 1 or 0); each failed one takes the next of `messages`.
/// What the engine decides in response (the next runs, events) is queued
/// for the next drain, so the steady state needs no thread hop. With
/// `drain_at`, that drain is made by this call, into the `out` buffer from
/// that offset on (as [`engine_drain`], whose answer it returns): the
/// facade carries out those records next, and a call of its own for them
/// cost about 300 ns. Without it, 0.
#[napi(catch_unwind)]
pub fn engine_complete(
    handle: Handle,
    count: u32,
    messages: Option<Vec<String>>,
    drain_at: Option<u32>,
) -> Result<u32> {
    with("engineComplete", handle, |s| {
        let inbox = s.inbox.lock();
        let n = (count as usize * 2).min(inbox.len());
        let mut messages = messages.unwrap_or_default().into_iter();
        let pairs = inbox[..n].chunks_exact(2).map(|p| {
            let outcome = if p[1] != 0.0 {
                Outcome::Ok
            } else {
                Outcome::Err {
                    message: messages.next().unwrap_or_default(),
                }
            };
            (p[0] as CallId, outcome)
        });
        let trim = s.runtime.with(|e| {
            e.complete(pairs);
            e.take_trim_hint()
        });
        drop(inbox);
        let drained = drain_at.map_or(0, |offset| drain(s, offset));
        crate::trim_after(trim);
        drained
    })
}

/// Runs the unit in `slot` now; returns the ticket that a DONE record
/// ends. `kind`: 0 any, 1 workers only, 2 processes only. With `drain_at`,
/// the records the run made are drained by this call too, into the `out`
/// buffer from that offset on: it returns the drain's answer (as
/// [`engine_drain`]) and writes the ticket into the first number of the
/// `inbox` buffer, which the facade reads before it carries them out (a
/// call of its own for the drain cost about 300 ns a run).
#[napi(catch_unwind)]
#[allow(unsafe_code)]
pub fn engine_run(handle: Handle, slot: u32, kind: u32, drain_at: Option<u32>) -> Result<f64> {
    let kind = match kind {
        1 => Some(UnitKind::Worker),
        2 => Some(UnitKind::Process),
        _ => None,
    };
    with("engineRun", handle, |s| {
        let ticket = s.runtime.with(|e| e.run_slot(slot as Slot, kind)) as f64;
        let Some(offset) = drain_at else {
            return ticket;
        };
        let mut inbox = s.inbox.lock();
        // SAFETY: as in `drain`: only the engine's own JavaScript thread is
        // let in, and it is inside this call.
        if let Some(first) = unsafe { inbox.as_mut() }.first_mut() {
            *first = ticket;
        }
        drop(inbox);
        f64::from(drain(s, offset))
    })
}

/// Registers a worker given by its fields, in `JsWorkerSpec`'s order (a
/// number or flag that is absent is NaN; a flag is 1 or 0); returns its
/// slot. Arguments rather than a spec object: reading an object's fields by
/// name through the binding made a string for every name of every
/// registration (about a fifth of its cost). A free function rather than a
/// method of the engine object: a method's call costs as much again before
/// it starts, and a schedule registered while others fire waits for it.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn engine_register_worker(
    handle: Handle,
    id: String,
    enabled: f64,
    status: Option<String>,
    run_count: f64,
    interval_ms: f64,
    run_on_interval: f64,
    max_runs: f64,
    timeout_ms: f64,
    max_retries: f64,
    retry_delay_ms: f64,
    retry_delay_per_retry: f64,
    overlap: Option<String>,
    depends_on: Option<Vec<JsDependency>>,
    schedule: Option<JsSchedule>,
) -> Result<u32> {
    let numbers = [
        enabled,
        run_count,
        interval_ms,
        run_on_interval,
        max_runs,
        timeout_ms,
        max_retries,
        retry_delay_ms,
        retry_delay_per_retry,
    ];
    let spec = crate::convert::worker_spec(id, &numbers, status, overlap, depends_on, schedule)?;
    let slots = with("engineRegisterWorker", handle, |s| {
        s.runtime.with(|e| e.register(UnitSpec::Worker(spec)))
    })?
    .map_err(|e| crate::convert::engine_error(&e))?;
    slots
        .first()
        .copied()
        .ok_or_else(|| Error::from_reason("the engine gave the worker no slot"))
}

/// A sign of life from attempt `call` (`ctx.progress`).
#[napi(catch_unwind)]
pub fn engine_progress(handle: Handle, call: f64) -> Result<()> {
    with("engineProgress", handle, |s| {
        s.runtime.with(|e| e.report_progress(call as CallId));
    })
}

/// Manual clock only: starts an `advance` by `ms` from now. Returns its
/// number for [`engine_fire_next`] and [`engine_finish_advance`], or -1
/// when the clock would pass its limit ([`synchronik_core::CLOCK_LIMIT_MS`]).
#[napi(catch_unwind)]
pub fn engine_begin_advance(handle: Handle, ms: f64) -> Result<f64> {
    with("engineBeginAdvance", handle, |s| {
        let Some(clock) = s.runtime.manual_clock() else {
            return -1.0;
        };
        let target = clock.now().saturating_add(synchronik_core::ms_to_nanos(ms));
        if target > CLOCK_LIMIT {
            return -1.0;
        }
        let mut next = s.next_advance.lock();
        let id = *next;
        *next = next.wrapping_add(1);
        s.advances.lock().push((id, target));
        f64::from(id)
    })
}

/// Manual clock only: ends advance number `id`, moving the clock to its
/// target.
#[napi(catch_unwind)]
pub fn engine_finish_advance(handle: Handle, id: u32) -> Result<()> {
    with("engineFinishAdvance", handle, |s| {
        let target = {
            let mut advances = s.advances.lock();
            let at = advances.iter().position(|(a, _)| *a == id);
            at.map(|at| advances.swap_remove(at).1)
        };
        if let (Some(target), Some(clock)) = (target, s.runtime.manual_clock()) {
            clock.set(target);
        }
    })
}

/// Manual clock only: fires the earliest timers due at or before the
/// target of advance number `id`. Returns whether anything fired.
#[napi(catch_unwind)]
pub fn engine_fire_next(handle: Handle, id: u32) -> Result<bool> {
    with("engineFireNext", handle, |s| {
        let target = s
            .advances
            .lock()
            .iter()
            .find(|(a, _)| *a == id)
            .map(|(_, t)| *t);
        target.is_some_and(|t| s.runtime.fire_next(t))
    })
}

/// Manual clock only: fires the timers of the earliest deadline that
/// exists because work is in flight (a retry delay, a timeout…), moving
/// the clock to it. Returns false when there is none (or it lies past the
/// clock's limit, so it never comes).
#[napi(catch_unwind)]
pub fn engine_fire_next_one_shot(handle: Handle) -> Result<bool> {
    with("engineFireNextOneShot", handle, |s| {
        let next = s.runtime.with(|e| e.next_one_shot_deadline());
        next.is_some_and(|t| s.runtime.fire_next(t))
    })
}
