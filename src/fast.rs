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
//! Only the JavaScript thread that owns an engine calls these functions, and
//! it is inside the call while the engine reads or writes its buffers, so
//! JavaScript never sees a buffer half written.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::{Mutex, RwLock};

use synchronik_core::{CallId, Clock, Nanos, Outcome, Runtime, Slot, UnitKind, CLOCK_LIMIT};

use crate::{Outbox, Strings};

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

/// Engines by handle, and the handles free for reuse.
///
/// A handle is reused once its engine's `NativeEngine` is gone. The facade
/// keeps its handle exactly as long as the `NativeEngine` (the manager owns
/// both), so no call ever comes with a handle that was reused; reuse keeps
/// the table as small as the number of live managers, however many come
/// and go (`runWorkerTasks` makes one per call).
struct Engines {
    slots: Vec<Option<Shared>>,
    free: Vec<u32>,
}

static ENGINES: RwLock<Engines> = parking_lot::const_rwlock(Engines {
    slots: Vec::new(),
    free: Vec::new(),
});

pub(crate) fn register(shared: Shared) -> u32 {
    let mut engines = ENGINES.write();
    if let Some(handle) = engines.free.pop() {
        engines.slots[handle as usize] = Some(shared);
        return handle;
    }
    engines.slots.push(Some(shared));
    (engines.slots.len() - 1) as u32
}

pub(crate) fn unregister(handle: u32) {
    // Dropped outside the lock: dropping an engine joins its thread.
    let gone = {
        let mut engines = ENGINES.write();
        let gone = engines
            .slots
            .get_mut(handle as usize)
            .and_then(Option::take);
        if gone.is_some() {
            engines.free.push(handle);
        }
        gone
    };
    drop(gone);
}

/// Runs `f` on the engine of `handle`; `default` for an unknown handle.
fn with<R>(handle: u32, default: R, f: impl FnOnce(&Shared) -> R) -> R {
    let engines = ENGINES.read();
    match engines.slots.get(handle as usize).and_then(Option::as_ref) {
        Some(shared) => f(shared),
        None => default,
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
/// `numbers written * 2`, plus 1 when strings wait to be taken with
/// [`engine_strings`].
#[napi(catch_unwind)]
#[allow(unsafe_code)]
pub fn engine_drain(handle: u32, offset: u32) -> u32 {
    with(handle, 0, |s| {
        let mut out = s.out.lock();
        // SAFETY: only the owning JavaScript thread calls this, and it is
        // inside this call: nothing reads or writes the buffer meanwhile.
        let buf = unsafe { out.as_mut() };
        let from = (offset as usize).min(buf.len());
        s.outbox.drain_into(&mut buf[from..])
    })
}

/// The strings that drained records name by number.
#[napi(catch_unwind)]
pub fn engine_strings(handle: u32) -> Strings {
    let (base, strs) = with(handle, (0, Vec::new()), |s| {
        s.outbox.batch.lock().take_strings()
    });
    Strings {
        base: base as f64,
        strs,
    }
}

/// Reports `count` settled attempts from the `inbox` buffer, pairs
/// `[call, ok]` (ok 1 or 0); each failed one takes the next of `messages`.
/// What the engine decides in response (the next runs, events) is queued
/// for the next drain, so the steady state needs no thread hop.
#[napi(catch_unwind)]
pub fn engine_complete(handle: u32, count: u32, messages: Option<Vec<String>>) {
    with(handle, (), |s| {
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
        crate::trim_after(trim);
    });
}

/// Runs the unit in `slot` now; returns the ticket that a DONE record
/// ends. `kind`: 0 any, 1 workers only, 2 processes only.
#[napi(catch_unwind)]
pub fn engine_run(handle: u32, slot: u32, kind: u32) -> f64 {
    let kind = match kind {
        1 => Some(UnitKind::Worker),
        2 => Some(UnitKind::Process),
        _ => None,
    };
    with(handle, -1.0, |s| {
        s.runtime.with(|e| e.run_slot(slot as Slot, kind)) as f64
    })
}

/// A sign of life from attempt `call` (`ctx.progress`).
#[napi(catch_unwind)]
pub fn engine_progress(handle: u32, call: f64) {
    with(handle, (), |s| {
        s.runtime.with(|e| e.report_progress(call as CallId));
    });
}

/// Manual clock only: starts an `advance` by `ms` from now. Returns its
/// number for [`engine_fire_next`] and `finishAdvance`, or -1 when the
/// clock would pass its limit ([`synchronik_core::CLOCK_LIMIT_MS`]).
pub(crate) fn begin_advance(handle: u32, ms: f64) -> f64 {
    with(handle, -1.0, |s| {
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
pub(crate) fn finish_advance(handle: u32, id: u32) {
    with(handle, (), |s| {
        let target = {
            let mut advances = s.advances.lock();
            let at = advances.iter().position(|(a, _)| *a == id);
            at.map(|at| advances.swap_remove(at).1)
        };
        if let (Some(target), Some(clock)) = (target, s.runtime.manual_clock()) {
            clock.set(target);
        }
    });
}

/// Manual clock only: fires the earliest timers due at or before the
/// target of advance number `id`. Returns whether anything fired.
#[napi(catch_unwind)]
pub fn engine_fire_next(handle: u32, id: u32) -> bool {
    with(handle, false, |s| {
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
pub fn engine_fire_next_one_shot(handle: u32) -> bool {
    with(handle, false, |s| {
        let next = s.runtime.with(|e| e.next_one_shot_deadline());
        next.is_some_and(|t| s.runtime.fire_next(t))
    })
}
