//! The ordered queue between the engine and JavaScript: records of
//! [`STRIDE`] numbers (their encoding is in `records.rs`), the strings they
//! name by number, and the wake-up that asks JavaScript to drain them.

use std::sync::atomic::{AtomicBool, Ordering};

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use parking_lot::Mutex;

use synchronik_core::vocabulary::STRIDE;

/// Room (in numbers) the outbound queue keeps once drained: 4,096 records.
const OPS_KEPT: usize = 4096 * STRIDE;

/// The JavaScript wake-up: called with no arguments, returns nothing. Weak,
/// so it never keeps Node alive by itself; not callee-handled, because the
/// facade's handler never throws (it traps every user exception).
pub(crate) type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

/// Strings that records name by number (error messages): `strs[k]` is
/// string number `base + k`.
#[napi(object)]
pub struct Strings {
    pub base: f64,
    pub strs: Vec<String>,
}

/// The records and strings produced since the last drain.
///
/// Records are taken from the front (`head`), possibly a part at a time
/// when the facade's buffer is full. A record names a string by its
/// absolute number (`next_str` counts every string ever added), so the
/// numbers stay valid however the records are split between drains.
#[derive(Default)]
pub(crate) struct Batch {
    ops: Vec<f64>,
    head: usize,
    strs: Vec<String>,
    next_str: u64,
    /// Bytes that records name by number (thread pool results), numbered
    /// as strings are.
    blobs: Vec<Vec<u8>>,
    next_blob: u64,
}

impl Batch {
    pub(crate) fn push(&mut self, r: [f64; STRIDE]) {
        self.ops.extend_from_slice(&r);
    }

    pub(crate) fn string(&mut self, s: String) -> f64 {
        self.strs.push(s);
        self.next_str += 1;
        (self.next_str - 1) as f64
    }

    pub(crate) fn blob(&mut self, b: Vec<u8>) -> f64 {
        self.blobs.push(b);
        self.next_blob += 1;
        (self.next_blob - 1) as f64
    }

    /// Takes every blob not handed over yet, end to end: (number of the
    /// first, their bytes, where each ends).
    pub(crate) fn take_blobs(&mut self) -> (u64, Vec<u8>, Vec<u32>) {
        let base = self.next_blob - self.blobs.len() as u64;
        let mut bytes = Vec::with_capacity(self.blobs.iter().map(Vec::len).sum());
        let mut ends = Vec::with_capacity(self.blobs.len());
        for b in self.blobs.drain(..) {
            bytes.extend_from_slice(&b);
            ends.push(bytes.len() as u32);
        }
        (base, bytes, ends)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head >= self.ops.len()
    }

    /// Moves as many whole records as fit into `out`; returns how many
    /// numbers were written.
    pub(crate) fn drain_into(&mut self, out: &mut [f64]) -> usize {
        let available = self.ops.len() - self.head;
        let n = available.min(out.len() - out.len() % STRIDE);
        out[..n].copy_from_slice(&self.ops[self.head..self.head + n]);
        self.head += n;
        if self.head >= self.ops.len() {
            self.ops.clear();
            self.head = 0;
            // A burst of records (a large process started at once) leaves
            // its room behind; keep what a busy steady state needs.
            if self.ops.capacity() > 4 * OPS_KEPT {
                self.ops.shrink_to(OPS_KEPT);
            }
        }
        n
    }

    /// Takes every string not handed over yet: (number of the first, strings).
    pub(crate) fn take_strings(&mut self) -> (u64, Vec<String>) {
        let base = self.next_str - self.strs.len() as u64;
        (base, std::mem::take(&mut self.strs))
    }
}

/// The ordered queue between the engine and JavaScript.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) batch: Mutex<Batch>,
    pub(crate) wake_pending: AtomicBool,
    pub(crate) wake: Mutex<Option<WakeFn>>,
    /// The wake-ups of the threads of this engine's thread pools.
    pub(crate) runners: crate::threads::Runners,
}

impl Outbox {
    /// Room held by the queue, in records.
    pub(crate) fn capacity_records(&self) -> usize {
        self.batch.lock().ops.capacity() / STRIDE
    }

    /// Writes the oldest records into `out` (see [`Batch::drain_into`]);
    /// returns `numbers * 2 + 1` when strings wait to be taken, else
    /// `numbers * 2`.
    pub(crate) fn drain_into(&self, out: &mut [f64], bursting: bool) -> u32 {
        self.wake_pending.store(false, Ordering::SeqCst);
        let mut b = self.batch.lock();
        let n = b.drain_into(out);
        (n as u32) * 4 + u32::from(bursting) * 2 + u32::from(!b.strs.is_empty())
    }

    /// Asks JavaScript to drain, once per burst — when there is a wake-up
    /// (the facade holds one only while work is in flight or the manager is
    /// started; otherwise whatever it calls next drains the records).
    pub(crate) fn wake(&self) {
        let wake = self.wake.lock();
        let Some(f) = wake.as_ref() else {
            return;
        };
        if self.batch.lock().is_empty() || self.wake_pending.swap(true, Ordering::SeqCst) {
            return;
        }
        f.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}
