//! Environment cleanup hooks that go away with what they clean up.
//!
//! An engine must stop its thread before its environment (a worker thread,
//! say) is torn down, even if its JavaScript object was never collected: it
//! adds a cleanup hook to the environment. A hook added with napi-rs's
//! `Env::add_env_cleanup_hook` keeps its data until the environment ends
//! (`remove_env_cleanup_hook` unregisters it but never frees the data), and
//! that data (weak references) kept the allocations it pointed to: a program
//! that makes and drops managers (a `runWorkerTasks` call makes one) grew by
//! about 600 bytes a manager for good. An [`EnvHook`] is removed, and its
//! closure dropped, when its owner is.

use std::ffi::c_void;

use napi::{sys, Env, Error, Result, Status};

/// What the environment holds: the closure, until it runs or is dropped.
struct Payload {
    run: Option<Box<dyn FnOnce()>>,
}

/// A cleanup hook of the environment it was added to: it runs its closure
/// if that environment is torn down first; dropping it removes it from the
/// environment and drops the closure.
///
/// Made and dropped on the environment's own thread (the owners are
/// objects of that thread's JavaScript, dropped by their finalizers).
pub(crate) struct EnvHook {
    env: sys::napi_env,
    payload: *mut Payload,
}

/// Runs the closure of `arg` (a `Payload` this module made), once. The
/// payload stays: its `EnvHook` frees it.
#[allow(unsafe_code)]
unsafe extern "C" fn run_hook(arg: *mut c_void) {
    // SAFETY: `arg` is the payload `EnvHook::new` registered; it is freed
    // only after the hook was removed (EnvHook's drop), and the environment
    // calls its hooks on its own thread, where the payload is also dropped.
    let payload = unsafe { &mut *arg.cast::<Payload>() };
    if let Some(run) = payload.run.take() {
        // Nothing may unwind into Node.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    }
}

impl EnvHook {
    /// Adds a hook running `run` to `env`'s teardown.
    #[allow(unsafe_code)]
    pub(crate) fn new(env: &Env, run: impl FnOnce() + 'static) -> Result<Self> {
        let payload = Box::into_raw(Box::new(Payload {
            run: Some(Box::new(run)),
        }));
        // SAFETY: `payload` stays valid until the hook is removed (drop).
        let status =
            unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(run_hook), payload.cast()) };
        if status != sys::Status::napi_ok {
            // SAFETY: not registered: this is its only owner.
            drop(unsafe { Box::from_raw(payload) });
            return Err(Error::new(
                Status::from(status),
                "cannot add an environment cleanup hook".to_owned(),
            ));
        }
        Ok(Self {
            env: env.raw(),
            payload,
        })
    }
}

impl Drop for EnvHook {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: on the environment's thread (see the type's doc), with
        // the environment alive: its owner is dropped by a finalizer, and
        // finalizers run at the latest in the environment's own teardown,
        // from one of its cleanup hooks. Removing a hook that ran already
        // (that teardown) does nothing. Afterwards the environment no
        // longer refers to the payload.
        unsafe {
            sys::napi_remove_env_cleanup_hook(self.env, Some(run_hook), self.payload.cast());
            drop(Box::from_raw(self.payload));
        }
    }
}
