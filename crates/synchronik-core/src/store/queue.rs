//! The writer's queue: ops in a deque under a lock, which the writer takes
//! whole at each turn and hands back empty.
//!
//! A channel of linked blocks allocates a block for every few dozen
//! messages on the sending thread (about 6 KB for ops of this size) and
//! frees it on the receiving one. On a busy store that is a large
//! allocation crossing threads every few tasks, and glibc pays for each
//! with a consolidation of its small free chunks. Two deques swapped back
//! and forth allocate nothing once they have grown; a burst's growth is
//! given back once the writer has caught up.
//!
//! The writer waits either by blocking (the SQLite store's thread) or as
//! a task of the PostgreSQL store's runtime; a send wakes it only when it
//! waits. The queue closes when the writer's end is dropped (later sends
//! fail and drop the op) and reports the end of input once the
//! sending end is dropped and everything sent is taken.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::Op;

/// Room kept between turns, in ops: a burst's larger deque is shrunk to
/// this once empty.
const KEEP: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    No,
    Blocked,
    Task,
}

struct State {
    ops: VecDeque<Op>,
    /// False once the writer's end is gone.
    open: bool,
    /// False once the sending end is gone.
    sending: bool,
    waiting: Waiting,
}

struct Queue {
    state: Mutex<State>,
    blocked: Condvar,
    task: Notify,
}

impl Queue {
    fn wake(&self, waiting: Waiting) {
        match waiting {
            Waiting::No => {}
            Waiting::Blocked => {
                self.blocked.notify_one();
            }
            Waiting::Task => self.task.notify_one(),
        }
    }
}

/// The sending end (the store's handle keeps it); dropping it ends the
/// writer once it has taken what was sent.
pub(super) struct Sender(Arc<End>);

/// A sending end that does not keep the writer going (see [`Sender`]).
pub(super) struct WeakSender(Weak<End>);

/// What the sending ends share; dropped with the last strong one.
struct End(Arc<Queue>);

impl Drop for End {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.sending = false;
        let waiting = std::mem::replace(&mut s.waiting, Waiting::No);
        drop(s);
        self.0.wake(waiting);
    }
}

/// The writer's end.
pub(super) struct Receiver {
    queue: Arc<Queue>,
    /// The ops taken from the queue and not handed out yet.
    taken: VecDeque<Op>,
}

/// A new queue's two ends.
pub(super) fn queue() -> (Sender, Receiver) {
    let queue = Arc::new(Queue {
        state: Mutex::new(State {
            ops: VecDeque::new(),
            open: true,
            sending: true,
            waiting: Waiting::No,
        }),
        blocked: Condvar::new(),
        task: Notify::new(),
    });
    let receiver = Receiver {
        queue: queue.clone(),
        taken: VecDeque::new(),
    };
    (Sender(Arc::new(End(queue))), receiver)
}

impl Sender {
    /// Queues `op`, or drops it if the writer is gone.
    pub(super) fn send(&self, op: Op) -> Result<(), Closed> {
        send(&self.0 .0, op)
    }

    pub(super) fn downgrade(&self) -> WeakSender {
        WeakSender(Arc::downgrade(&self.0))
    }
}

impl WeakSender {
    /// Queues `op` if the sending end and the writer are both still there.
    pub(super) fn send(&self, op: Op) -> Result<(), Closed> {
        match self.0.upgrade() {
            Some(end) => send(&end.0, op),
            None => Err(Closed),
        }
    }
}

/// A send to a queue whose writer is gone (the op was dropped).
#[derive(Debug)]
pub(super) struct Closed;

fn send(queue: &Queue, op: Op) -> Result<(), Closed> {
    let mut s = queue.state.lock();
    if !s.open {
        drop(s);
        drop(op);
        return Err(Closed);
    }
    s.ops.push_back(op);
    let waiting = std::mem::replace(&mut s.waiting, Waiting::No);
    drop(s);
    queue.wake(waiting);
    Ok(())
}

/// What a look at the queue found.
enum Look {
    Op(Op),
    /// Nothing, and nothing will come.
    Ended,
    /// Nothing yet; the writer is marked as waiting.
    Wait,
}

impl Receiver {
    /// The next op if one was sent already.
    pub(super) fn try_recv(&mut self) -> Option<Op> {
        match self.look(Waiting::No) {
            Look::Op(op) => Some(op),
            Look::Ended | Look::Wait => None,
        }
    }

    /// Blocks for the next op; `None` once the sending end is gone and
    /// everything sent has been taken.
    pub(super) fn recv_blocking(&mut self) -> Option<Op> {
        loop {
            if let Some(op) = self.taken.pop_front() {
                return Some(op);
            }
            let mut s = self.queue.state.lock();
            while s.ops.is_empty() && s.sending {
                s.waiting = Waiting::Blocked;
                self.queue.blocked.wait(&mut s);
            }
            s.waiting = Waiting::No;
            if s.ops.is_empty() {
                return None;
            }
            take_all(&mut self.taken, &mut s);
        }
    }

    /// Waits for the next op (see [`Receiver::recv_blocking`]).
    pub(super) async fn recv(&mut self) -> Option<Op> {
        loop {
            match self.look(Waiting::Task) {
                Look::Op(op) => return Some(op),
                Look::Ended => return None,
                // A send after the look stores a permit: this returns at once.
                Look::Wait => self.queue.task.notified().await,
            }
        }
    }

    /// The next op, or why there is none (`mark`: how the writer will wait
    /// if there is none).
    fn look(&mut self, mark: Waiting) -> Look {
        if let Some(op) = self.taken.pop_front() {
            return Look::Op(op);
        }
        let mut s = self.queue.state.lock();
        if s.ops.is_empty() {
            if !s.sending {
                return Look::Ended;
            }
            s.waiting = mark;
            return Look::Wait;
        }
        s.waiting = Waiting::No;
        take_all(&mut self.taken, &mut s);
        drop(s);
        self.taken.pop_front().map_or(Look::Wait, Look::Op)
    }
}

/// Takes every queued op into `taken` (empty), leaving the queue the deque
/// `taken` had.
fn take_all(taken: &mut VecDeque<Op>, s: &mut State) {
    if taken.capacity() > KEEP {
        taken.shrink_to(KEEP);
    }
    std::mem::swap(taken, &mut s.ops);
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Ops still queued are dropped (outside the lock: a flush's reply
        // channel closes with them, which tells its caller).
        let left = {
            let mut s = self.queue.state.lock();
            s.open = false;
            std::mem::take(&mut s.ops)
        };
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(key: &str) -> Op {
        Op::TaskDelete(key.to_owned())
    }

    fn key(op: Option<Op>) -> Option<String> {
        match op {
            Some(Op::TaskDelete(k)) => Some(k),
            Some(_) => Some("(another op)".into()),
            None => None,
        }
    }

    #[test]
    fn ops_come_out_in_order_and_the_end_is_reported_after_them() {
        let (tx, mut rx) = queue();
        assert!(rx.try_recv().is_none());
        for i in 0..10 {
            tx.send(delete(&i.to_string())).unwrap();
        }
        assert_eq!(key(rx.try_recv()).as_deref(), Some("0"));
        tx.send(delete("10")).unwrap();
        drop(tx);
        for i in 1..=10 {
            assert_eq!(key(rx.recv_blocking()), Some(i.to_string()));
        }
        assert!(rx.recv_blocking().is_none());
    }

    #[test]
    fn a_send_after_the_writer_is_gone_fails_and_drops_the_op() {
        let (tx, rx) = queue();
        let weak = tx.downgrade();
        drop(rx);
        let (reply, answer) = crossbeam_channel::bounded(1);
        assert!(tx.send(Op::Flush(reply)).is_err());
        assert!(answer.recv().is_err());
        assert!(weak.send(delete("b")).is_err());
    }

    #[test]
    fn a_weak_end_stops_sending_with_the_strong_one() {
        let (tx, mut rx) = queue();
        let weak = tx.downgrade();
        weak.send(delete("a")).unwrap();
        drop(tx);
        assert!(weak.send(delete("b")).is_err());
        assert_eq!(key(rx.recv_blocking()).as_deref(), Some("a"));
        assert!(rx.recv_blocking().is_none());
    }

    #[test]
    fn ops_left_in_the_queue_are_dropped_with_the_writer() {
        let (tx, rx) = queue();
        let (reply, answer) = crossbeam_channel::bounded(1);
        tx.send(Op::Flush(reply)).unwrap();
        drop(rx);
        // The flush's reply channel went with the op: its caller learns it.
        assert!(answer.recv().is_err());
    }

    /// Sends keys 0..1000 from this thread, pausing now and then so that
    /// the writer waits between them, then drops the sending end.
    fn send_with_pauses(tx: Sender) {
        for i in 0..1000 {
            tx.send(delete(&i.to_string())).unwrap();
            if i % 100 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }

    fn all_keys() -> Vec<String> {
        (0..1000).map(|i| i.to_string()).collect()
    }

    #[test]
    fn a_blocked_writer_wakes_for_a_send_from_another_thread() {
        let (tx, mut rx) = queue();
        let writer = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(op) = rx.recv_blocking() {
                got.push(key(Some(op)).unwrap());
            }
            got
        });
        send_with_pauses(tx);
        assert_eq!(writer.join().unwrap(), all_keys());
    }

    #[test]
    fn a_waiting_task_wakes_for_a_send_and_for_the_end() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (tx, mut rx) = queue();
        let writer = runtime.spawn(async move {
            let mut got = Vec::new();
            while let Some(op) = rx.recv().await {
                got.push(key(Some(op)).unwrap());
            }
            got
        });
        send_with_pauses(tx);
        assert_eq!(runtime.block_on(writer).unwrap(), all_keys());
    }

    #[test]
    fn a_burst_leaves_no_large_deque_behind() {
        let (tx, mut rx) = queue();
        for i in 0..(KEEP * 4) {
            tx.send(delete(&i.to_string())).unwrap();
        }
        while rx.try_recv().is_some() {}
        tx.send(delete("after")).unwrap();
        assert_eq!(key(rx.try_recv()).as_deref(), Some("after"));
        let queued = rx.queue.state.lock().ops.capacity();
        assert!(queued <= KEEP, "the queue kept room for {queued} ops");
        let taken = rx.taken.capacity();
        assert!(taken <= KEEP, "the writer kept room for {taken} ops");
    }
}
