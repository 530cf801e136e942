//! The engine's deadlines.
//!
//! One indexed 4-ary min-heap of `(deadline, sequence)` serves every timer
//! the engine keeps, so thousands of pending retries or timeouts cost one
//! heap entry each and no thread or task of their own. The payloads live in
//! a slab; a timer's slab entry records where its heap entry is, so
//! cancelling takes the heap entry out at once (O(log n)) instead of leaving
//! it behind until its deadline: the heap never holds a cancelled timer, the
//! earliest deadline is the heap's root, and a run whose 10 s timeout is
//! cancelled when it settles leaves nothing behind. The sequence number
//! breaks ties, so timers due at the same time fire in the order they were
//! armed.
//!
//! Recurring timers go to a lane of their period instead, when they come
//! after every timer already there: a queue in deadline order, whose first
//! is taken out by a `pop_front` (Node's timer lists per duration work the
//! same way). An interval worker re-armed one period after it was due comes
//! after the others of its period, so ten thousand interval workers of one
//! period live in one lane, and firing one costs no walk down a heap of ten
//! thousand (that walk was 930 of the 2,350 instructions the timer thread
//! spent on a fire). One-shot timers of one delay armed as time goes on —
//! the timeouts of runs of one `timeoutMs` — come in deadline order too,
//! and go to a lane of their delay (its key marked [`ONE_SHOT`]; such lanes
//! take at most half of them): cancelling one, as every run that settles
//! in time does, costs marking its node instead of taking it out of a heap
//! of every run in flight. The earliest timer is the heap's root or the
//! first of a lane (a few lanes at most); a cancelled timer's node stays in
//! its lane, empty, until it reaches an end of it, or until such nodes are
//! most of the lane, which is then compacted.
//!
//! After a burst, once most of the slab is free, the armed timers at its end
//! are moved into the free entries at its start and the end is cut off (a
//! small map tells where a moved timer went), so a few long timers armed
//! during a burst do not keep its room.
//!
//! A hierarchical wheel (as in tokio's runtime) would make arming and
//! cancelling O(1), but it rounds deadlines to its tick and does not keep
//! the arming order of timers due at the same time; the engine's deadlines
//! are exact nanoseconds up to 1e36 and their order is part of its contract.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::num::NonZeroU64;

use crate::clock::Nanos;
use crate::ids::IdMap;

/// Room for this many timers is kept however empty the queue is.
const FLOOR: usize = 1024;

/// Children per heap node: a shallower heap than a binary one, whose
/// children share a cache line or two.
const ARITY: usize = 4;

/// Timers [`TimerQueue::earliest_matching`] looks at in deadline order
/// before it looks at all of them.
const WALK: usize = 64;

/// End of the free list; in a lane, a cancelled timer's node.
const NONE: usize = usize::MAX;

/// Lanes (see [`TimerQueue::arm_in_lane`]) a queue keeps at most; timers
/// of further periods go to the heap.
const MAX_LANES: usize = 8;

/// Marks the key of a lane of one-shot timers (their delay): see
/// [`TimerQueue::arm_in_lane`]. Deadlines and delays stay far below it.
pub const ONE_SHOT: Nanos = 1 << 127;

/// At most this many lanes hold one-shot timers at once: the others stay
/// for the recurring timers' periods.
const MAX_ONE_SHOT_LANES: usize = MAX_LANES / 2;

/// Handle of an armed timer, to cancel it.
///
/// It names the timer's slab entry and its sequence number, which no other
/// timer of the queue ever has: a handle kept after its timer fired or was
/// cancelled cancels nothing, even once the entry serves another timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId {
    seq: NonZeroU64,
    index: usize,
}

/// A heap entry: the ordering key and the slab entry of the payload.
#[derive(Debug, Clone, Copy)]
struct Node {
    at: Nanos,
    seq: u64,
    index: usize,
}

impl Node {
    fn key(&self) -> (Nanos, u64) {
        (self.at, self.seq)
    }

    fn before(&self, other: &Node) -> bool {
        self.key() < other.key()
    }
}

/// Where an armed timer's node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the heap, at this position.
    Heap(usize),
    /// In this lane, at this position counted from the first node the lane
    /// ever held (its `base` is the position of its first node now).
    Lane(usize, u64),
}

/// Timers of one key (a period, or a delay marked [`ONE_SHOT`]) armed in
/// deadline order: a queue in that order, so that taking the earliest out
/// is a `pop_front` instead of a walk down the heap. Cancelled timers leave
/// a node with no entry behind, taken out when it reaches either end, or
/// all at once when they are most of it.
#[derive(Debug)]
struct Lane {
    key: Nanos,
    nodes: VecDeque<Node>,
    /// The position of `nodes[0]`.
    base: u64,
    /// Nodes of cancelled timers.
    dead: usize,
}

impl Lane {
    fn live(&self) -> usize {
        self.nodes.len() - self.dead
    }

    /// Takes the nodes of cancelled timers off both ends: the first node
    /// of a lane is a timer's, and so is its last.
    fn trim_ends(&mut self) {
        while self.nodes.front().is_some_and(|n| n.index == NONE) {
            self.nodes.pop_front();
            self.base += 1;
            self.dead -= 1;
        }
        while self.nodes.back().is_some_and(|n| n.index == NONE) {
            self.nodes.pop_back();
            self.dead -= 1;
        }
    }
}

#[derive(Debug)]
enum Entry<T> {
    /// An armed timer, where its node is, and whether it was moved away
    /// from the entry its [`TimerId`] names.
    Armed {
        place: Place,
        moved: bool,
        payload: T,
    },
    /// A free entry and the next free one.
    Free { next: usize },
}

/// A set of deadlines carrying payloads of type `T`.
#[derive(Debug)]
pub struct TimerQueue<T> {
    heap: Vec<Node>,
    /// Timers armed with [`TimerQueue::arm_in_lane`], by key.
    lanes: Vec<Lane>,
    slab: Vec<Entry<T>>,
    /// First free slab entry ([`NONE`] when there is none).
    free: usize,
    /// Where the timers [`TimerQueue::compact`] moved are, by sequence.
    moved: IdMap<u64, usize>,
    next_seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self {
            heap: Vec::new(),
            lanes: Vec::new(),
            slab: Vec::new(),
            free: NONE,
            moved: IdMap::default(),
            next_seq: 1,
        }
    }
}

impl<T> TimerQueue<T> {
    /// Arms a timer at `deadline`.
    pub fn arm(&mut self, deadline: Nanos, payload: T) -> TimerId {
        self.arm_at(deadline, payload, None)
    }

    /// Arms a timer at `deadline` in the lane of `key`: a recurring
    /// timer's period, or `ONE_SHOT | delay` for a one-shot timer armed
    /// `delay` before its deadline. It goes to that lane when it comes
    /// after every timer there (as a recurring timer re-armed one period
    /// after it was due does, a thousand of them due together do, and
    /// timeouts of one delay armed one after another do), else to the
    /// heap. Taking it out when it is due then costs a `pop_front` instead
    /// of a walk down the heap, and cancelling it no walk at all. The order
    /// in which timers come due is the same either way.
    pub fn arm_in_lane(&mut self, deadline: Nanos, payload: T, key: Nanos) -> TimerId {
        self.arm_at(deadline, payload, Some(key))
    }

    /// The lane a node with this key may be appended to, for `key`.
    fn lane_for(&mut self, key: Nanos, node: &Node) -> Option<usize> {
        if let Some(l) = self.lanes.iter().position(|l| l.key == key) {
            let fits = self.lanes[l]
                .nodes
                .back()
                .is_none_or(|last| last.before(node));
            return fits.then_some(l);
        }
        if key & ONE_SHOT != 0
            && self
                .lanes
                .iter()
                .filter(|l| l.key & ONE_SHOT != 0 && !l.nodes.is_empty())
                .count()
                >= MAX_ONE_SHOT_LANES
        {
            return None;
        }
        if self.lanes.len() < MAX_LANES {
            self.lanes.push(Lane {
                key,
                nodes: VecDeque::new(),
                base: 0,
                dead: 0,
            });
            return Some(self.lanes.len() - 1);
        }
        // Every lane is taken: an empty one serves the new key (no node
        // names it; its positions go on from where they were).
        let l = self.lanes.iter().position(|l| l.nodes.is_empty())?;
        self.lanes[l].key = key;
        Some(l)
    }

    fn arm_at(&mut self, deadline: Nanos, payload: T, key: Option<Nanos>) -> TimerId {
        let seq = NonZeroU64::new(self.next_seq).unwrap_or(NonZeroU64::MIN);
        // 2^64 timers are not armed in the life of a process.
        self.next_seq = self.next_seq.wrapping_add(1);
        let mut node = Node {
            at: deadline,
            seq: seq.get(),
            index: NONE,
        };
        let lane = key.and_then(|k| self.lane_for(k, &node));
        let place = match lane {
            Some(l) => Place::Lane(l, self.lanes[l].base + self.lanes[l].nodes.len() as u64),
            None => Place::Heap(self.heap.len()),
        };
        let armed = Entry::Armed {
            place,
            moved: false,
            payload,
        };
        let index = match self.slab.get_mut(self.free) {
            Some(entry) => {
                let index = self.free;
                if let Entry::Free { next } = std::mem::replace(entry, armed) {
                    self.free = next;
                }
                index
            }
            None => {
                self.slab.push(armed);
                self.slab.len() - 1
            }
        };
        node.index = index;
        match place {
            Place::Lane(l, _) => self.lanes[l].nodes.push_back(node),
            Place::Heap(pos) => {
                self.heap.push(node);
                self.sift_up(pos);
            }
        }
        TimerId { seq, index }
    }

    /// Cancels a timer; returns its payload if it had not fired.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        match self.find(id)? {
            Place::Heap(pos) => self.remove_at(pos),
            Place::Lane(l, at) => self.remove_from_lane(l, at),
        }
        .map(|(_, payload)| payload)
    }

    /// The node at `place`, if there is one.
    fn node_at(&self, place: Place) -> Option<&Node> {
        match place {
            Place::Heap(pos) => self.heap.get(pos),
            Place::Lane(l, at) => {
                let lane = self.lanes.get(l)?;
                lane.nodes
                    .get(usize::try_from(at.checked_sub(lane.base)?).ok()?)
            }
        }
    }

    fn node_at_mut(&mut self, place: Place) -> Option<&mut Node> {
        match place {
            Place::Heap(pos) => self.heap.get_mut(pos),
            Place::Lane(l, at) => {
                let lane = self.lanes.get_mut(l)?;
                let i = usize::try_from(at.checked_sub(lane.base)?).ok()?;
                lane.nodes.get_mut(i)
            }
        }
    }

    /// Where the timer `id` names is, if it is armed.
    fn find(&self, id: TimerId) -> Option<Place> {
        let seq = id.seq.get();
        let armed_at = |index: usize| match self.slab.get(index) {
            Some(Entry::Armed { place, .. }) if self.node_at(*place)?.seq == seq => Some(*place),
            _ => None,
        };
        armed_at(id.index).or_else(|| {
            if self.moved.is_empty() {
                None
            } else {
                armed_at(*self.moved.get(&seq)?)
            }
        })
    }

    /// The earliest deadline.
    pub fn next_deadline(&mut self) -> Option<Nanos> {
        self.earliest().map(|(n, _)| n.at)
    }

    /// The earliest node — the heap's root or a lane's first — and the
    /// lane it is the first of.
    fn earliest(&self) -> Option<(Node, Option<usize>)> {
        let mut best = self.heap.first().map(|n| (*n, None));
        for (l, lane) in self.lanes.iter().enumerate() {
            if let Some(first) = lane.nodes.front() {
                if best.is_none_or(|(b, _)| first.before(&b)) {
                    best = Some((*first, Some(l)));
                }
            }
        }
        best
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub fn pop_due(&mut self, now: Nanos) -> Option<(Nanos, T)> {
        match self.earliest() {
            Some((n, None)) if n.at <= now => self.remove_at(0),
            Some((n, Some(l))) if n.at <= now => {
                let lane = &mut self.lanes[l];
                lane.nodes.pop_front();
                lane.base += 1;
                lane.trim_ends();
                self.release(n)
            }
            _ => None,
        }
    }

    /// Entries the heap and the slab have room for (for statistics).
    pub fn capacity(&self) -> usize {
        let lanes: usize = self.lanes.iter().map(|l| l.nodes.capacity()).sum();
        self.heap.capacity().max(self.slab.capacity()).max(lanes)
    }

    /// The earliest deadline whose payload satisfies `pred`.
    ///
    /// The heap is walked in deadline order from its root and the walk stops
    /// at the first timer that matches, so it looks only at the timers due
    /// before that one (for the engine's "earliest timer that is not a
    /// recurring one": the recurring timers due earlier, one per interval
    /// worker and a few of the engine's own), however many others are armed.
    /// Past `WALK` timers it looks at every armed timer once instead, in
    /// heap order (never at a cancelled one: there are none).
    ///
    /// A lane's timers are looked at from its first, up to the first that
    /// matches; [`TimerQueue::earliest_matching_in_heap`] leaves them out.
    pub fn earliest_matching(&self, pred: impl Fn(&T) -> bool) -> Option<Nanos> {
        let matches = |node: &Node| match self.slab.get(node.index) {
            Some(Entry::Armed { payload, .. }) => pred(payload),
            _ => false,
        };
        let in_lanes = self
            .lanes
            .iter()
            .filter_map(|lane| lane.nodes.iter().find(|n| n.index != NONE && matches(n)))
            .map(|n| n.at)
            .min();
        match (self.earliest_matching_in_heap(&pred), in_lanes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The earliest deadline of the lanes whose key has [`ONE_SHOT`].
    pub fn earliest_one_shot_in_lanes(&self) -> Option<Nanos> {
        self.lanes
            .iter()
            .filter(|lane| lane.key & ONE_SHOT != 0)
            .filter_map(|lane| lane.nodes.iter().find(|n| n.index != NONE))
            .map(|n| n.at)
            .min()
    }

    /// [`TimerQueue::earliest_matching`] among the timers of the heap only
    /// (for a question that the lanes answer otherwise).
    pub fn earliest_matching_in_heap(&self, pred: impl Fn(&T) -> bool) -> Option<Nanos> {
        let matches = |node: &Node| match self.slab.get(node.index) {
            Some(Entry::Armed { payload, .. }) => pred(payload),
            _ => false,
        };
        let root = self.heap.first()?;
        if matches(root) {
            return Some(root.at);
        }
        // The nodes whose parents were looked at, earliest first.
        let mut next: BinaryHeap<Reverse<((Nanos, u64), usize)>> = BinaryHeap::new();
        let mut pos = 0;
        for _ in 0..WALK {
            for child in self.children(pos) {
                next.push(Reverse((self.heap[child].key(), child)));
            }
            let Reverse((_, at)) = next.pop()?;
            let node = &self.heap[at];
            if matches(node) {
                return Some(node.at);
            }
            pos = at;
        }
        self.heap.iter().filter(|n| matches(n)).map(|n| n.at).min()
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(Lane::live).sum::<usize>()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn children(&self, pos: usize) -> std::ops::Range<usize> {
        let first = pos.saturating_mul(ARITY).saturating_add(1);
        first.min(self.heap.len())..first.saturating_add(ARITY).min(self.heap.len())
    }

    /// Takes the heap node at `pos` out, frees its slab entry and returns
    /// its deadline and payload.
    fn remove_at(&mut self, pos: usize) -> Option<(Nanos, T)> {
        let last = self.heap.pop()?;
        let removed = if pos < self.heap.len() {
            let removed = std::mem::replace(&mut self.heap[pos], last);
            if last.key() < removed.key() {
                self.sift_up(pos);
            } else {
                // The last node most likely belongs near the bottom: take
                // the smaller child up all the way down, then move the node
                // up from there (one comparison per level fewer).
                let bottom = self.sift_hole_down(pos);
                self.heap[bottom] = last;
                self.sift_up(bottom);
            }
            removed
        } else {
            last
        };
        self.release(removed)
    }

    /// Cancels the timer whose node is at `at` in lane `l`: its node stays
    /// behind, empty, until it reaches an end of the lane (or the lane is
    /// mostly such nodes).
    fn remove_from_lane(&mut self, l: usize, at: u64) -> Option<(Nanos, T)> {
        let lane = self.lanes.get_mut(l)?;
        let i = usize::try_from(at.checked_sub(lane.base)?).ok()?;
        let node = *lane.nodes.get(i)?;
        lane.nodes[i].index = NONE;
        lane.dead += 1;
        lane.trim_ends();
        if lane.dead > FLOOR && lane.dead > lane.live() {
            self.compact_lane(l);
        }
        self.release(node)
    }

    /// Frees the slab entry of a node taken out, and returns its deadline
    /// and payload.
    fn release(&mut self, removed: Node) -> Option<(Nanos, T)> {
        let entry = self.slab.get_mut(removed.index)?;
        let (moved, payload) = match std::mem::replace(entry, Entry::Free { next: self.free }) {
            Entry::Armed { moved, payload, .. } => (moved, payload),
            Entry::Free { .. } => return None,
        };
        self.free = removed.index;
        if moved {
            self.moved.remove(&removed.seq);
        }
        let len = self.len();
        if len == 0 {
            self.give_back();
        } else if self.slab.len() > FLOOR && len * 4 < self.slab.len() {
            self.compact();
        }
        Some((removed.at, payload))
    }

    /// Drops the empty nodes of lane `l` and renumbers the rest.
    fn compact_lane(&mut self, l: usize) {
        let lane = &mut self.lanes[l];
        lane.nodes.retain(|n| n.index != NONE);
        lane.dead = 0;
        let keep = lane.nodes.len().max(FLOOR);
        if lane.nodes.capacity() > 4 * keep {
            lane.nodes.shrink_to(2 * keep);
        }
        let base = lane.base;
        for i in 0..self.lanes[l].nodes.len() {
            let index = self.lanes[l].nodes[i].index;
            if let Some(Entry::Armed { place, .. }) = self.slab.get_mut(index) {
                *place = Place::Lane(l, base + i as u64);
            }
        }
    }

    /// The queue is empty: gives back the room of a burst.
    fn give_back(&mut self) {
        self.slab.clear();
        self.free = NONE;
        self.moved.clear();
        trim(&mut self.slab);
        trim(&mut self.heap);
        for lane in &mut self.lanes {
            lane.base += lane.nodes.len() as u64;
            lane.nodes.clear();
            lane.dead = 0;
            lane.nodes.shrink_to(FLOOR);
        }
        crate::registry::shrink_map(&mut self.moved);
    }

    /// Less than a quarter of the slab is armed: moves the armed entries
    /// past the first `len()` into the free ones before, and cuts the slab
    /// there. O(n), and the slab is then full: it takes n removals more
    /// than arms before the next time.
    fn compact(&mut self) {
        let live = self.len();
        let mut to = 0;
        for from in live..self.slab.len() {
            if !matches!(self.slab[from], Entry::Armed { .. }) {
                continue;
            }
            while to < live && matches!(self.slab[to], Entry::Armed { .. }) {
                to += 1;
            }
            if to == live {
                // Not reached: as many entries are free before `live` as
                // are armed after it.
                break;
            }
            self.slab.swap(to, from);
            if let Entry::Armed { place, moved, .. } = &mut self.slab[to] {
                *moved = true;
                let place = *place;
                if let Some(node) = self.node_at_mut(place) {
                    node.index = to;
                    let seq = node.seq;
                    self.moved.insert(seq, to);
                }
            }
        }
        while let Some(Entry::Free { .. }) = self.slab.last() {
            self.slab.pop();
        }
        // Nothing is left free (the loop above never stops early); the
        // free list is made again all the same.
        self.free = NONE;
        for (index, entry) in self.slab.iter_mut().enumerate().rev() {
            if let Entry::Free { next } = entry {
                *next = self.free;
                self.free = index;
            }
        }
        trim(&mut self.slab);
        trim(&mut self.heap);
        crate::registry::shrink_map(&mut self.moved);
    }

    /// Records in the slab that the node at `pos` is there.
    fn place(&mut self, pos: usize) {
        let index = self.heap[pos].index;
        if let Some(Entry::Armed { place, .. }) = self.slab.get_mut(index) {
            *place = Place::Heap(pos);
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let node = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.heap[parent].key() < node.key() {
                break;
            }
            self.heap[pos] = self.heap[parent];
            self.place(pos);
            pos = parent;
        }
        self.heap[pos] = node;
        self.place(pos);
    }

    /// Moves the smallest child into the hole at `pos`, level after level,
    /// to the bottom of the heap; returns where the hole ends up.
    fn sift_hole_down(&mut self, mut pos: usize) -> usize {
        loop {
            let mut children = self.children(pos);
            let Some(mut best) = children.next() else {
                return pos;
            };
            for child in children {
                if self.heap[child].key() < self.heap[best].key() {
                    best = child;
                }
            }
            self.heap[pos] = self.heap[best];
            self.place(pos);
            pos = best;
        }
    }
}

/// Gives back the room of a vector: down to [`FLOOR`] entries when it is
/// empty, to twice its length (at least [`FLOOR`]) when it uses less than a
/// quarter of it.
fn trim<E>(v: &mut Vec<E>) {
    let keep = v.len().max(FLOOR);
    if v.is_empty() {
        v.shrink_to(FLOOR);
    } else if v.capacity() > 4 * keep {
        v.shrink_to(2 * keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<T> TimerQueue<T> {
        /// Checks the heap order, the slab's record of every node's place
        /// and the free list.
        fn check(&self) {
            for (pos, node) in self.heap.iter().enumerate() {
                if pos > 0 {
                    assert!(self.heap[(pos - 1) / ARITY].key() < node.key());
                }
                match self.slab.get(node.index) {
                    Some(Entry::Armed { place, .. }) => assert_eq!(*place, Place::Heap(pos)),
                    _ => panic!("node {pos} names a free entry"),
                }
            }
            for (l, lane) in self.lanes.iter().enumerate() {
                assert!(lane.nodes.front().is_none_or(|n| n.index != NONE));
                assert!(lane.nodes.back().is_none_or(|n| n.index != NONE));
                let live: Vec<&Node> = lane.nodes.iter().filter(|n| n.index != NONE).collect();
                assert_eq!(live.len(), lane.live());
                assert!(
                    live.windows(2).all(|w| w[0].before(w[1])),
                    "lane {l} out of order"
                );
                for (i, node) in lane.nodes.iter().enumerate() {
                    if node.index == NONE {
                        continue;
                    }
                    match self.slab.get(node.index) {
                        Some(Entry::Armed { place, .. }) => {
                            assert_eq!(*place, Place::Lane(l, lane.base + i as u64));
                        }
                        _ => panic!("node {i} of lane {l} names a free entry"),
                    }
                }
            }
            let mut free = 0;
            let mut at = self.free;
            while at != NONE {
                match self.slab.get(at) {
                    Some(Entry::Free { next }) => at = *next,
                    _ => panic!("entry {at} on the free list is not free"),
                }
                free += 1;
                assert!(free <= self.slab.len(), "the free list loops");
            }
            assert_eq!(free + self.len(), self.slab.len());
        }
    }

    #[test]
    fn fires_in_deadline_then_arming_order_and_skips_cancelled() {
        let mut q = TimerQueue::default();
        q.arm(30, "c");
        let b = q.arm(20, "b");
        q.arm(10, "a1");
        q.arm(10, "a2");
        assert_eq!(q.cancel(b), Some("b"));
        assert_eq!(q.next_deadline(), Some(10));
        assert_eq!(q.pop_due(5), None);
        assert_eq!(q.pop_due(25), Some((10, "a1")));
        assert_eq!(q.pop_due(25), Some((10, "a2")));
        assert_eq!(q.pop_due(25), None);
        assert_eq!(q.next_deadline(), Some(30));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_due(30), Some((30, "c")));
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn cancelled_entries_do_not_pile_up_while_timers_stay_armed() {
        let mut q = TimerQueue::default();
        let keep: Vec<TimerId> = (0..100).map(|k| q.arm(1_000_000 + k, k)).collect();
        for k in 0..100_000u128 {
            let t = q.arm(500_000 + k, 0);
            assert_eq!(q.cancel(t), Some(0));
        }
        assert_eq!(q.len(), 100);
        assert!(q.heap.len() <= 4 * FLOOR, "{} heap entries", q.heap.len());
        assert!(q.capacity() <= 8 * FLOOR, "{} capacity", q.capacity());
        assert_eq!(q.pop_due(u128::MAX).map(|(_, p)| p), Some(0));
        assert_eq!(q.cancel(keep[1]), Some(1));
        assert_eq!(q.pop_due(u128::MAX).map(|(_, p)| p), Some(2));
    }

    #[test]
    fn a_handle_kept_after_its_timer_is_gone_cancels_nothing() {
        let mut q = TimerQueue::default();
        let a = q.arm(10, "a");
        assert_eq!(q.pop_due(10), Some((10, "a")));
        // The queue emptied and its slab was cleared: "b" takes the entry
        // "a" had.
        let b = q.arm(10, "b");
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.len(), 1);
        let c = q.arm(5, "c");
        assert_eq!(q.cancel(b), Some("b"));
        assert_eq!(q.cancel(b), None);
        // "d" takes the entry "b" had, and "b"'s handle still cancels nothing.
        q.arm(7, "d");
        assert_eq!(q.cancel(b), None);
        assert_eq!(q.cancel(c), Some("c"));
        assert_eq!(q.pop_due(100), Some((7, "d")));
        q.check();
    }

    #[test]
    fn earliest_matching_walks_only_the_timers_due_before_the_answer() {
        let mut q = TimerQueue::default();
        assert_eq!(q.earliest_matching(|_: &u32| true), None);
        for k in 0..1000u32 {
            q.arm(u128::from(1000 + k), k);
        }
        q.arm(5000, 1_000_000);
        q.arm(4000, 2_000_000);
        let looked = std::cell::Cell::new(0);
        let is_big = |p: &u32| {
            looked.set(looked.get() + 1);
            *p >= 1_000_000
        };
        // Past 64 timers in deadline order, one look at each of them.
        assert_eq!(q.earliest_matching(is_big), Some(4000));
        assert_eq!(looked.get(), 1 + 64 + 1002);
        looked.set(0);
        // Ten earlier ones: about ten payloads are looked at, not a thousand.
        for k in 0..10u32 {
            q.arm(u128::from(k), k);
        }
        q.arm(20, 3_000_000);
        assert_eq!(q.earliest_matching(is_big), Some(20));
        assert_eq!(looked.get(), 11);
        assert_eq!(q.earliest_matching(|p| *p == 999), Some(1999));
        assert_eq!(q.earliest_matching(|p| *p == 7), Some(7));
        assert_eq!(q.earliest_matching(|_| false), None);
    }

    #[test]
    fn the_room_of_a_burst_is_given_back_while_a_few_timers_stay_armed() {
        let mut q = TimerQueue::default();
        let burst: Vec<TimerId> = (0..100_000u128).map(|k| q.arm(1_000 + k, k)).collect();
        assert!(q.capacity() >= 100_000);
        // A few of the burst stay armed, spread over the slab, and new
        // timers come and go while the rest is cancelled.
        for (k, id) in burst.iter().enumerate() {
            if k % 20_000 != 7 {
                assert!(q.cancel(*id).is_some());
            }
            if k % 3 == 0 {
                let t = q.arm(10, 0);
                assert_eq!(q.cancel(t), Some(0));
            }
        }
        q.check();
        assert_eq!(q.len(), 5);
        assert!(q.capacity() <= 4 * FLOOR, "{}", q.capacity());
        // The timers moved to the start of the slab are still the ones
        // their handles name.
        assert_eq!(q.cancel(burst[80_007]), Some(80_007));
        assert_eq!(q.cancel(burst[80_007]), None);
        assert_eq!(q.cancel(burst[80_008]), None);
        assert_eq!(q.pop_due(u128::MAX), Some((1_007, 7)));
        assert_eq!(q.pop_due(u128::MAX), Some((21_007, 20_007)));
        assert_eq!(q.cancel(burst[40_007]), Some(40_007));
        assert_eq!(q.pop_due(u128::MAX), Some((61_007, 60_007)));
        assert!(q.is_empty());
        assert!(q.moved.is_empty());
        assert!(q.capacity() <= FLOOR, "{}", q.capacity());
    }

    #[test]
    fn a_lane_fires_recurring_timers_due_together_in_arming_order() {
        let mut q = TimerQueue::default();
        let period: Nanos = 100;
        let ids: Vec<TimerId> = (0..3_000u32)
            .map(|k| q.arm_in_lane(100, k, period))
            .collect();
        // One timer in the heap, due at the same time, armed last.
        q.arm(100, 99_999);
        assert_eq!(q.heap.len(), 1);
        assert_eq!(q.lanes[0].live(), 3_000);
        // Cancelled ones in the middle leave empty nodes behind.
        for id in &ids[1_000..2_600] {
            assert!(q.cancel(*id).is_some());
        }
        q.check();
        assert_eq!(q.len(), 1_401);
        // Dropped when they were most of the lane (1,501 of 3,000).
        assert_eq!(q.lanes[0].dead, 99);
        assert_eq!(q.lanes[0].nodes.len(), 1_499);
        let mut fired = Vec::new();
        while let Some((at, k)) = q.pop_due(100) {
            assert_eq!(at, 100);
            fired.push(k);
            // Re-armed one period after it was due: at the lane's end.
            if k != 99_999 {
                q.arm_in_lane(at + period, k, period);
            }
        }
        let expected: Vec<u32> = (0..1_000).chain(2_600..3_000).chain([99_999]).collect();
        assert_eq!(fired, expected);
        assert!(q.heap.is_empty(), "every re-armed timer went to the lane");
        assert_eq!(q.next_deadline(), Some(200));
        q.check();
        // A timer of the period due before the lane's last goes to the heap.
        let early = q.arm_in_lane(150, 7, period);
        assert_eq!(q.heap.len(), 1);
        assert_eq!(q.pop_due(199), Some((150, 7)));
        assert_eq!(q.cancel(early), None);
        while q.pop_due(200).is_some() {}
        assert!(q.is_empty());
        assert!(q.capacity() <= FLOOR, "{}", q.capacity());
    }

    #[test]
    fn an_empty_lane_serves_a_new_period_once_every_lane_is_taken() {
        let mut q = TimerQueue::default();
        let periods: Vec<Nanos> = (1..=MAX_LANES as Nanos).map(|p| p * 10).collect();
        for &p in &periods {
            q.arm_in_lane(p, p, p);
        }
        // One period more than there are lanes: the heap.
        let extra = q.arm_in_lane(5, 0, 1_000);
        assert_eq!((q.lanes.len(), q.heap.len()), (MAX_LANES, 1));
        assert_eq!(q.cancel(extra), Some(0));
        // The first lane empties; the next new period takes it.
        assert_eq!(q.pop_due(10), Some((10, 10)));
        q.arm_in_lane(2_000, 7, 2_000);
        assert!(q.heap.is_empty());
        assert_eq!(q.lanes[0].key, 2_000);
        q.check();
        let order: Vec<Nanos> =
            std::iter::from_fn(|| q.pop_due(Nanos::MAX).map(|(at, _)| at)).collect();
        assert_eq!(order, [20, 30, 40, 50, 60, 70, 80, 2_000]);
    }

    #[test]
    fn one_shot_timers_of_one_delay_share_a_lane_and_take_at_most_half_of_them() {
        let mut q = TimerQueue::default();
        // Timeouts of 10 s armed as time goes on: one lane, in order.
        let delay: Nanos = 10_000;
        let ids: Vec<TimerId> = (0..2_000u32)
            .map(|k| q.arm_in_lane(Nanos::from(k) + delay, k, ONE_SHOT | delay))
            .collect();
        assert_eq!((q.lanes.len(), q.heap.len()), (1, 0));
        assert_eq!(q.earliest_one_shot_in_lanes(), Some(delay));
        // A recurring timer's lane is not a one-shot one.
        q.arm_in_lane(5, 77, 5);
        assert_eq!(q.earliest_one_shot_in_lanes(), Some(delay));
        // Settled in time, mostly in order: cancelling walks no heap.
        for id in &ids[..1_500] {
            assert!(q.cancel(*id).is_some());
        }
        q.check();
        assert_eq!(q.earliest_one_shot_in_lanes(), Some(1_500 + delay));
        assert_eq!(q.lanes[0].nodes.len(), 500);
        // Other delays: lanes of their own up to half of them, then the heap.
        for d in 1..MAX_ONE_SHOT_LANES as Nanos {
            q.arm_in_lane(100 + d, 1_000_000, ONE_SHOT | (100 + d));
        }
        assert_eq!(q.lanes.len(), MAX_ONE_SHOT_LANES + 1);
        q.arm_in_lane(999, 2_000_000, ONE_SHOT | 999);
        assert_eq!(q.heap.len(), 1);
        assert_eq!(q.earliest_one_shot_in_lanes(), Some(101));
        // Recurring timers still get the other lanes.
        for p in 0..(MAX_LANES - MAX_ONE_SHOT_LANES - 1) as Nanos {
            q.arm_in_lane(50_000 + p, 3_000_000, 50_000 + p);
        }
        assert_eq!((q.lanes.len(), q.heap.len()), (MAX_LANES, 1));
        q.check();
        let mut last = 0;
        let mut fired = 0;
        while let Some((at, _)) = q.pop_due(Nanos::MAX) {
            assert!(at >= last);
            last = at;
            fired += 1;
        }
        assert_eq!(
            fired,
            500 + 1 + (MAX_ONE_SHOT_LANES - 1) + 1 + (MAX_LANES - MAX_ONE_SHOT_LANES - 1)
        );
        assert_eq!(q.earliest_one_shot_in_lanes(), None);
    }

    /// xorshift64*: enough randomness for a test, and reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The queue against a list searched from end to end, over random
    /// sequences of arms, cancels (of armed, fired and cancelled timers),
    /// fires and questions, with bursts that grow the slab past its floor
    /// and drains that empty it.
    #[test]
    fn agrees_with_a_simple_model() {
        let mut moved_some = false;
        let mut max_len = 0;
        let (mut in_lanes, mut left_in_lanes) = (false, false);
        for seed in 1..=20u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut q = TimerQueue::default();
            // (deadline, arming order, payload, handle) of every armed timer.
            let mut model: Vec<(Nanos, u64, u64, TimerId)> = Vec::new();
            let mut handles: Vec<TimerId> = Vec::new();
            let mut now: Nanos = 0;
            let mut armed = 0u64;
            for step in 0..20_000 {
                // Phases: bursts of arming, then of cancelling.
                let arming = (step / 4_000) % 2 == 0;
                let op = rng.below(100);
                if op < if arming { 70 } else { 10 } {
                    // Half of them recurring: in the lane of their period
                    // when they come after its last timer (one period from
                    // now mostly does), else in the heap; more periods than
                    // there are lanes.
                    let (at, id) = if rng.below(2) == 0 {
                        let at = now + Nanos::from(rng.below(64));
                        (at, q.arm(at, armed))
                    } else {
                        let period = Nanos::from(1 + rng.below(10)) * 6;
                        let at = now + period - Nanos::from(rng.below(2));
                        (at, q.arm_in_lane(at, armed, period))
                    };
                    model.push((at, armed, armed, id));
                    handles.push(id);
                    armed += 1;
                } else if op < 75 {
                    // Mostly armed timers; some gone already.
                    let id = if !model.is_empty() && rng.below(4) != 0 {
                        model[rng.below(model.len() as u64) as usize].3
                    } else if !handles.is_empty() {
                        handles[rng.below(handles.len() as u64) as usize]
                    } else {
                        continue;
                    };
                    let expected = model
                        .iter()
                        .position(|e| e.3 == id)
                        .map(|i| model.swap_remove(i).2);
                    assert_eq!(q.cancel(id), expected, "seed {seed} step {step}");
                } else if op < 90 {
                    now += Nanos::from(rng.below(3));
                    let earliest = model
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.0 <= now)
                        .min_by_key(|(_, e)| (e.0, e.1))
                        .map(|(i, _)| i);
                    let expected = earliest.map(|i| {
                        let e = model.swap_remove(i);
                        (e.0, e.2)
                    });
                    assert_eq!(q.pop_due(now), expected, "seed {seed} step {step}");
                } else if op < 97 {
                    // Common and rare payloads (the walk in deadline order
                    // finds the first; the second takes a scan).
                    let m = [2, 3, 5, 97, 1 << 40][rng.below(5) as usize];
                    let expected = model.iter().filter(|e| e.2 % m == 0).map(|e| e.0).min();
                    assert_eq!(q.earliest_matching(|p| p % m == 0), expected);
                    let expected = model.iter().map(|e| e.0).min();
                    assert_eq!(q.next_deadline(), expected);
                } else if step % 8_000 >= 7_000 {
                    // Drain, at the end of a cancelling phase.
                    now += 64;
                    model.sort_by_key(|e| (e.0, e.1));
                    for e in model.drain(..) {
                        assert_eq!(q.pop_due(now), Some((e.0, e.2)));
                    }
                    assert_eq!(q.pop_due(now), None);
                }
                assert_eq!(q.len(), model.len());
                if step % 97 == 0 {
                    q.check();
                }
                moved_some |= !q.moved.is_empty();
                max_len = max_len.max(q.slab.len());
                in_lanes |= q.lanes.iter().any(|l| l.live() > 1);
                left_in_lanes |= q.lanes.iter().any(|l| l.dead > 0);
            }
            q.check();
        }
        assert!(moved_some, "the slab was never compacted ({max_len})");
        assert!(in_lanes && left_in_lanes, "the lanes were not exercised");
    }
}
