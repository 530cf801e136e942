//! The ordered queue between the engine and JavaScript: records of
//! [`STRIDE`] numbers (their encoding is in `records.rs`), the strings they
//! name by number, and the wake-up that asks JavaScript to drain them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use parking_lot::Mutex;

use synchronik_core::vocabulary::STRIDE;

use crate::engine::JsLiveness;

/// Numbers in one block of the outbound queue: 1,024 records, what the
/// facade drains at a time.
const BLOCK: usize = 1024 * STRIDE;

/// The number of the liveness cell (see `JsLiveness`) that says whether
/// records wait: 1 from the first record added to a drained queue until the
/// queue is drained again, 0 otherwise. The facade reads it after carrying
/// out a drain's records, instead of calling the engine for a drain that
/// would find nothing; records added by the engine's own threads meanwhile
/// come with a wake-up as well.
const WAITING: usize = 5;

/// Blocks the queue keeps once drained, its last one included (16,384
/// records): a burst larger than that gives the rest of its room back as
/// it is drained.
const BLOCKS_KEPT: usize = 16;

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
/// Records are kept in blocks of [`BLOCK`] numbers, in order: full blocks,
/// then the one records are added to (`tail`). They are taken from the
/// front (`head` in the oldest block), possibly a part at a time when the
/// facade's buffer is full. A growing queue adds a block instead of moving
/// every record to a larger buffer, and a drained block is kept for the
/// next records (up to [`BLOCKS_KEPT`] in all), so that bursts of the same
/// size reuse the same memory. A record names a string by its absolute
/// number (`next_str` counts every string ever added), so the numbers stay
/// valid however the records are split between drains.
#[derive(Default)]
pub(crate) struct Batch {
    full: VecDeque<Vec<f64>>,
    tail: Vec<f64>,
    head: usize,
    spare: Vec<Vec<f64>>,
    strs: Vec<String>,
    next_str: u64,
    /// Bytes that records name by number (thread pool results), numbered
    /// as strings are.
    blobs: Vec<Vec<u8>>,
    next_blob: u64,
    /// The cell where [`WAITING`] is told, if the facade gave one, and
    /// whether it says 1.
    waiting: Option<Arc<JsLiveness>>,
    told_waiting: bool,
}

impl Batch {
    #[inline]
    pub(crate) fn push(&mut self, r: [f64; STRIDE]) {
        if self.tail.len() + STRIDE > self.tail.capacity() {
            self.make_room();
        }
        self.tail.extend_from_slice(&r);
        if !self.told_waiting {
            self.tell_waiting(true);
        }
    }

    /// Says in the cell whether records wait.
    fn tell_waiting(&mut self, waiting: bool) {
        self.told_waiting = waiting;
        if let Some(cell) = &self.waiting {
            cell.store(WAITING, if waiting { 1.0 } else { 0.0 });
        }
    }

    /// The cell where whether records wait is told (see [`WAITING`]).
    pub(crate) fn set_waiting_cell(&mut self, cell: Option<Arc<JsLiveness>>) {
        self.waiting = cell;
        let waiting = !self.is_empty();
        self.tell_waiting(waiting);
    }

    /// The tail is full (BLOCK is a multiple of STRIDE: a record never
    /// spans two blocks) or has no room yet: it gets a block of its own.
    #[cold]
    fn make_room(&mut self) {
        if self.tail.is_empty() {
            self.tail.reserve_exact(BLOCK);
            return;
        }
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BLOCK));
        self.full.push_back(std::mem::replace(&mut self.tail, next));
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
        // A block whose records were all taken leaves the queue at once
        // (the tail is emptied in place).
        self.full.is_empty() && self.tail.is_empty()
    }

    /// Room held, in records: the blocks in use and those kept.
    pub(crate) fn capacity_records(&self) -> usize {
        let blocks = self.full.len() + self.spare.len() + usize::from(self.tail.capacity() > 0);
        blocks * (BLOCK / STRIDE)
    }

    /// Moves as many whole records as fit into `out`; returns how many
    /// numbers were written.
    pub(crate) fn drain_into(&mut self, out: &mut [f64]) -> usize {
        let room = out.len() - out.len() % STRIDE;
        let mut n = 0;
        while n < room {
            let block = self.full.front().unwrap_or(&self.tail);
            let take = (block.len() - self.head).min(room - n);
            if take == 0 {
                break;
            }
            out[n..n + take].copy_from_slice(&block[self.head..self.head + take]);
            n += take;
            self.head += take;
            if self.head == block.len() {
                self.head = 0;
                match self.full.pop_front() {
                    Some(mut done) => {
                        // The tail is kept too: at most BLOCKS_KEPT in all.
                        if self.spare.len() + 1 < BLOCKS_KEPT {
                            done.clear();
                            self.spare.push(done);
                        }
                    }
                    None => self.tail.clear(),
                }
            }
        }
        if self.told_waiting && self.is_empty() {
            self.tell_waiting(false);
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
        self.batch.lock().capacity_records()
    }

    /// Writes the oldest records into `out` (see [`Batch::drain_into`]);
    /// returns `numbers * 4`, plus 2 when `bursting`.
    pub(crate) fn drain_into(&self, out: &mut [f64], bursting: bool) -> u32 {
        self.wake_pending.store(false, Ordering::SeqCst);
        let n = self.batch.lock().drain_into(out);
        (n as u32) * 4 + u32::from(bursting) * 2
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
