//! The napi binding of the synchronik engine: conversions and glue only.
//!
//! The engine (`synchronik-core`) makes every decision. This crate
//! implements its [`Invoker`](synchronik_core::Invoker) and
//! [`EventSink`](synchronik_core::EventSink) with one ordered queue of
//! fixed-width numeric records that JavaScript drains, and wakes JavaScript
//! through one weak threadsafe function when the engine's timer thread
//! produced something while JavaScript was idle.
//!
//! - `outbox.rs`: the queue of records and strings, and the wake-up;
//! - `records.rs`: the encoding of invocations and events as records;
//! - `engine.rs`: the engine object JavaScript holds (`NativeEngine`);
//! - `cleanup.rs`: the engine's hooks into its environment's teardown;
//! - `fast.rs`: the hot path as free functions taking the engine's handle;
//! - `convert.rs` and `options.rs`: what JavaScript passes, into the
//!   engine's types, and the engine's errors into JavaScript errors;
//! - `store.rs`: the durable store;
//! - `calendar.rs`: calendar schedules (cron, one-off times);
//! - `threads.rs`: thread pools, and the calls of their threads;
//! - `dashboard.rs`: the web dashboard and metrics (`synchronik-web`);
//! - `vocabulary.rs`: the engine's vocabulary (record layout, names,
//!   codes, defaults, setting rules) rendered as `lib/generated/`.
//!
//! Every exported method catches panics, so a bug in the engine surfaces
//! as a JavaScript exception instead of aborting the process.

#![deny(clippy::all)]

pub mod calendar;
mod cleanup;
mod convert;
mod dashboard;
mod engine;
pub mod fast;
mod options;
mod outbox;
mod records;
pub mod store;
pub mod threads;
pub mod vocabulary;

pub use dashboard::{JsAuthRequest, JsServeOptions, NativeDashboard};
pub use engine::{Added, EngineMemory, NativeEngine};
pub use outbox::Strings;
pub use vocabulary::{EngineCodes, NumberedCode, VocabularyFiles};

/// Returns the allocator's free memory to the system when the engine says
/// it is worth it ([`synchronik_core::Engine::take_trim_hint`]: a burst's
/// room was given back, or a pool fell idle after many tasks). glibc keeps
/// freed memory in its arenas (and, after a large block was freed, raises
/// the threshold below which it trims the heap), so the memory a burst
/// took would otherwise stay in the process for good.
pub(crate) fn trim_after(hint: bool) {
    if !hint {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
        #[allow(unsafe_code)]
        unsafe {
            malloc_trim(0);
        }
    }
}
