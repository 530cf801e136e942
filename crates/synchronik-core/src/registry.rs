//! The registry: every unit, in registration order, with the links between
//! processes and their workers. It is the source of truth for state; the
//! host mirrors it onto the user's objects from the engine's events.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};

use compact_str::CompactString;
use hashbrown::HashTable;

use crate::clock::Nanos;
use crate::unit::{Meta, ProcessConfig, Slot, Status, UnitKind, WorkerConfig};

/// Kind-specific part of a unit.
#[derive(Debug, Clone)]
pub enum UnitBody {
    /// A worker, with its settings.
    Worker(WorkerConfig),
    /// A process, with its settings and its workers.
    Process {
        /// The process's settings, in a box of their own: processes are few,
        /// and a worker's record is as large as the largest kind's.
        config: Box<ProcessConfig>,
        /// The process's workers, in array order (a boxed slice, 16 bytes:
        /// with a vector's 24 the variant took the room where a worker's
        /// record keeps the enum's tag, and every record grew by 8).
        workers: Box<[Slot]>,
    },
}

/// A [`Nanos`] kept as two 8-byte halves: a `u128` field is aligned to 16
/// bytes, which made every unit's record 16 bytes larger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackedNanos([u64; 2]);

impl From<Nanos> for PackedNanos {
    fn from(n: Nanos) -> Self {
        Self([n as u64, (n >> 64) as u64])
    }
}

impl PackedNanos {
    /// The time kept.
    pub fn get(self) -> Nanos {
        (u128::from(self.0[1]) << 64) | u128::from(self.0[0])
    }
}

/// One registered unit.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Its id, unique in the registry. It never changes while the unit is
    /// registered: the registry's index finds the unit by it. Up to 24
    /// bytes are kept in the record itself, without an allocation of
    /// their own.
    pub id: CompactString,
    /// Whether it may start: a disabled worker never does; a disabled
    /// process still runs when asked by name, but the sweep passes it over.
    pub enabled: bool,
    /// Its current status.
    pub status: Status,
    /// What its runs left behind: its run statistics, when its last run
    /// started and how its last failure ended. None before its first run
    /// (or a run count restored from a store): a unit that has not run
    /// keeps an empty pointer, 8 bytes, where the statistics and the last
    /// run took 24 and a box each.
    pub(crate) history: Option<Box<History>>,
    /// Runs of this unit in flight.
    pub active_runs: u32,
    /// When the status last changed (or the unit was registered).
    pub status_since: PackedNanos,
    /// What makes it a worker or a process.
    pub body: UnitBody,
}

/// The statistics of a unit without a history.
static NO_META: Meta = Meta::EMPTY;

/// What a unit's runs left behind (see [`Unit::history`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    meta: Meta,
    last_wall_ms: Option<f64>,
    last_at: Option<Nanos>,
    last_error: Option<String>,
}

impl Unit {
    /// Its run statistics.
    pub fn meta(&self) -> &Meta {
        self.history.as_ref().map_or(&NO_META, |h| &h.meta)
    }

    /// Its run statistics, to change (the box of its history is made if
    /// there is none).
    pub fn meta_mut(&mut self) -> &mut Meta {
        &mut self.history_mut().meta
    }

    /// Replaces its run statistics (a state restored from a store); empty
    /// ones make no box.
    pub fn set_meta(&mut self, meta: Meta) {
        if meta.is_empty() && self.history.is_none() {
            return;
        }
        self.history_mut().meta = meta;
    }

    /// Wall-clock ms of the last run start.
    pub fn last_run_ms(&self) -> Option<f64> {
        self.history.as_ref().and_then(|h| h.last_wall_ms)
    }

    /// Engine time of the last run start.
    pub fn last_run_at(&self) -> Option<Nanos> {
        self.history.as_ref().and_then(|h| h.last_at)
    }

    /// Message of the last failure.
    pub fn last_error(&self) -> Option<&str> {
        self.history.as_ref().and_then(|h| h.last_error.as_deref())
    }

    fn history_mut(&mut self) -> &mut History {
        self.history.get_or_insert_with(Box::default)
    }

    /// A run started at engine time `at` (and wall-clock `wall_ms`, when
    /// the start is shown).
    pub(crate) fn started_at(&mut self, at: Nanos, wall_ms: Option<f64>) {
        let h = self.history_mut();
        h.last_at = Some(at);
        if wall_ms.is_some() {
            h.last_wall_ms = wall_ms;
        }
    }

    /// A run started at wall-clock `wall_ms` (a process's run, or the
    /// start restored from a store).
    pub(crate) fn started_at_wall(&mut self, wall_ms: f64) {
        self.history_mut().last_wall_ms = Some(wall_ms);
    }

    /// A run failed with `message`.
    pub(crate) fn failed_with(&mut self, message: String) {
        self.history_mut().last_error = Some(message);
    }

    /// Sets its status at engine time `now`; returns the one it had.
    pub(crate) fn change_status(&mut self, status: Status, now: Nanos) -> Status {
        self.status_since = now.into();
        std::mem::replace(&mut self.status, status)
    }

    /// The status a run ends with, set at `now` — unless the unit was
    /// paused while the run was in flight: a pause set by hand outlasts the
    /// run. Returns the status it had, or none when it stays paused.
    pub(crate) fn settle_status(&mut self, status: Status, now: Nanos) -> Option<Status> {
        (self.status != Status::Paused).then(|| self.change_status(status, now))
    }

    /// Worker or process.
    pub fn kind(&self) -> UnitKind {
        match self.body {
            UnitBody::Worker(_) => UnitKind::Worker,
            UnitBody::Process { .. } => UnitKind::Process,
        }
    }

    /// The worker settings, if this is a worker.
    pub fn worker(&self) -> Option<&WorkerConfig> {
        match &self.body {
            UnitBody::Worker(c) => Some(c),
            UnitBody::Process { .. } => None,
        }
    }
}

/// All units, addressed by id or by slot.
///
/// Slots of released units are reused, so a service that registers and
/// releases units for ever keeps a registry (and the host's tables indexed
/// by slot) as large as the most units it ever had at once, not as large as
/// the number of registrations. A released slot goes through two waits
/// before it is handed out again:
///
/// * the host's acknowledgement, when the host asked for it
///   ([`Registry::set_host_acknowledges`]): the host mirrors units in a table
///   indexed by slot and must have carried out the release before the slot
///   names another unit ([`Registry::acknowledge`]);
/// * for a worker that a process lists, the end of every process run in
///   flight (they name their workers by slot): the engine calls
///   [`Registry::recycle_held`] when none is left.
///
/// The lowest free slot is reused first and free slots at the end are cut
/// off, so the table also shrinks back when the last units go.
#[derive(Debug, Default)]
pub struct Registry {
    slots: Vec<Option<Unit>>,
    /// Registration sequence number of the unit in each slot (its place in
    /// the order): 4 bytes a unit, numbered afresh in the same order once
    /// 2³² − 1 numbers were given out (see [`Registry::renumber`]).
    seqs: Vec<u32>,
    next_seq: u32,
    /// The live units' slots, found by their units' ids (the ids are not
    /// copied: each unit's own is hashed and compared).
    by_id: HashTable<Slot>,
    hasher: RandomState,
    /// Whether the live units' slots are in registration order, as they
    /// are until a registration reuses a slot below one registered after
    /// it: the order is then the slots' sequence numbers, sorted when
    /// asked for. (A table of the order cost 16 bytes a unit, 1.6 MB for
    /// 100,000, to spare a sort that listing them all takes anyway.)
    in_slot_order: bool,
    /// The slot of the newest registration while the slots are in order.
    newest_slot: Option<Slot>,
    /// Slots free for reuse.
    free: BTreeSet<Slot>,
    /// Released slots the host has not acknowledged yet: whether each must
    /// also wait for the process runs in flight.
    unacknowledged: HashMap<Slot, bool>,
    /// Released slots waiting for the process runs in flight to end.
    held: Vec<Slot>,
    host_acknowledges: bool,
    /// Slots of the live processes.
    processes: BTreeSet<Slot>,
    /// The process each worker registered through one belongs to (the
    /// last one that listed it), by the worker's slot: a table of its own
    /// rather than a field of every unit's record, which the workers of no
    /// process, most of them, would carry empty (8 bytes each).
    parents: HashMap<Slot, Slot>,
}

/// Below this many slots the registry's tables are not shrunk.
const SHRINK_FLOOR: usize = 1024;

impl Registry {
    /// Makes released slots wait for [`Registry::acknowledge`] before reuse.
    pub fn set_host_acknowledges(&mut self, on: bool) {
        self.host_acknowledges = on;
    }

    /// The slot of `id`.
    pub fn slot_of(&self, id: &str) -> Option<Slot> {
        let slots = &self.slots;
        self.by_id
            .find(self.hasher.hash_one(id), |&s| id_in(slots, s) == Some(id))
            .copied()
    }

    /// The unit in `slot`.
    pub fn get(&self, slot: Slot) -> Option<&Unit> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// The unit in `slot`, mutably (its id stays as it is: see [`Unit::id`]).
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut Unit> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// Inserts a new unit or replaces the one with the same id in place
    /// (same slot, same place in the order). Returns the slot.
    pub fn upsert(&mut self, unit: Unit) -> Slot {
        let id = unit.id.clone();
        self.upsert_with(id, |_, _| unit)
    }

    /// As [`Registry::upsert`], with the unit made by `make` from its id
    /// and the unit it replaces (none for a new id); the unit made must
    /// keep that id. The id is hashed once, for the lookup and the
    /// insertion both.
    pub fn upsert_with(
        &mut self,
        id: CompactString,
        make: impl FnOnce(CompactString, Option<&Unit>) -> Unit,
    ) -> Slot {
        let hash = self.hasher.hash_one(id.as_str());
        let found = {
            let slots = &self.slots;
            self.by_id
                .find(hash, |&s| id_in(slots, s) == Some(id.as_str()))
                .copied()
        };
        #[cfg(debug_assertions)]
        let given = id.clone();
        let unit = make(id, found.and_then(|s| self.get(s)));
        #[cfg(debug_assertions)]
        debug_assert_eq!(
            unit.id, given,
            "upsert_with: the unit made must keep the id given"
        );
        let is_process = unit.kind() == UnitKind::Process;
        if let Some(slot) = found {
            self.slots[slot as usize] = Some(unit);
            if is_process {
                self.processes.insert(slot);
            } else {
                self.processes.remove(&slot);
            }
            return slot;
        }
        if self.next_seq == u32::MAX {
            self.renumber();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.by_id.is_empty() {
            self.in_slot_order = true;
            self.newest_slot = None;
        }
        let slot = match self.free.pop_first() {
            Some(slot) => {
                self.slots[slot as usize] = Some(unit);
                self.seqs[slot as usize] = seq;
                slot
            }
            None => {
                self.slots.push(Some(unit));
                self.seqs.push(seq);
                (self.slots.len() - 1) as Slot
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id
            .insert_unique(hash, slot, |&s| hash_of(slots, hasher, s));
        if self.newest_slot.is_some_and(|newest| slot <= newest) {
            self.in_slot_order = false;
        }
        self.newest_slot = Some(slot);
        if is_process {
            self.processes.insert(slot);
        }
        slot
    }

    /// Removes the unit in `slot`. `hold` keeps the slot from reuse until
    /// [`Registry::recycle_held`] (a worker that process runs may name).
    pub fn remove(&mut self, slot: Slot, hold: bool) -> Option<Unit> {
        let unit = self.slots.get_mut(slot as usize)?.take()?;
        if let Ok(entry) = self
            .by_id
            .find_entry(self.hasher.hash_one(unit.id.as_str()), |&s| s == slot)
        {
            entry.remove();
        }
        self.processes.remove(&slot);
        if self.parents.remove(&slot).is_some()
            && worth_shrinking(self.parents.len(), self.parents.capacity())
        {
            shrink_map(&mut self.parents);
        }
        if self.host_acknowledges {
            self.unacknowledged.insert(slot, hold);
        } else if hold {
            self.held.push(slot);
        } else {
            self.free_slot(slot);
        }
        if worth_shrinking(self.by_id.len(), self.by_id.capacity()) {
            let (slots, hasher) = (&self.slots, &self.hasher);
            self.by_id
                .shrink_to(self.by_id.len() * 2, |&s| hash_of(slots, hasher, s));
        }
        Some(unit)
    }

    /// The host carried out the release of these slots; unknown or live
    /// slots are ignored.
    pub fn acknowledge(&mut self, slots: &[Slot]) {
        for slot in slots {
            match self.unacknowledged.remove(slot) {
                Some(true) => self.held.push(*slot),
                Some(false) => self.free_slot(*slot),
                None => {}
            }
        }
        if self.unacknowledged.is_empty() {
            shrink_map(&mut self.unacknowledged);
        }
    }

    /// No process run is in flight: the held slots become free.
    pub fn recycle_held(&mut self) {
        while let Some(slot) = self.held.pop() {
            self.free_slot(slot);
        }
        shrink(&mut self.held);
    }

    fn free_slot(&mut self, slot: Slot) {
        self.free.insert(slot);
        // Free slots at the end are cut off rather than kept.
        while let Some(&last) = self.free.last() {
            if last as usize + 1 != self.slots.len() {
                break;
            }
            self.free.pop_last();
            self.slots.pop();
            self.seqs.pop();
        }
        shrink(&mut self.slots);
        shrink(&mut self.seqs);
    }

    /// Slots of live units in registration order.
    pub fn ordered(&self) -> impl Iterator<Item = Slot> + '_ {
        self.ordered_places().map(|(_, s)| s)
    }

    /// Slots of live units, in slot order (for what the order does not
    /// matter to: counts).
    pub fn live(&self) -> impl Iterator<Item = Slot> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, u)| u.is_some())
            .map(|(i, _)| i as Slot)
    }

    /// The place in the registration order of the unit in `slot`: its
    /// registration sequence number, which grows along the order (the
    /// numbers are given afresh, in the same order, when 2³² − 1 were
    /// given out). A released slot
    /// keeps the place of the unit it held until the slot names another
    /// unit (or is cut off the end of the table): a cursor naming a unit
    /// released since still finds its place. `None` for a slot past the
    /// table.
    pub fn place_of(&self, slot: Slot) -> Option<u64> {
        self.seqs.get(slot as usize).map(|&seq| u64::from(seq))
    }

    /// Numbers every slot's place afresh, from 0, in the order they were:
    /// places are compared with each other, never kept across a change of
    /// the registry (a cursor names a slot, whose place is read when the
    /// cursor is used).
    fn renumber(&mut self) {
        let mut order: Vec<(u32, Slot)> = self
            .seqs
            .iter()
            .enumerate()
            .map(|(slot, &seq)| (seq, slot as Slot))
            .collect();
        order.sort_unstable();
        for (place, (_, slot)) in order.into_iter().enumerate() {
            self.seqs[slot as usize] = place as u32;
        }
        self.next_seq = self.seqs.len() as u32;
    }

    /// [`Registry::ordered`] with each unit's place (see
    /// [`Registry::place_of`]), increasing.
    pub fn ordered_places(&self) -> Box<dyn Iterator<Item = (u64, Slot)> + '_> {
        let places = self.live().map(|s| (u64::from(self.seqs[s as usize]), s));
        if self.in_slot_order {
            return Box::new(places);
        }
        let mut sorted: Vec<(u64, Slot)> = places.collect();
        sorted.sort_unstable();
        Box::new(sorted.into_iter())
    }

    /// The process the worker in `slot` belongs to: the last one that
    /// listed it at its registration (it may not list it any more).
    pub fn parent_of(&self, slot: Slot) -> Option<Slot> {
        self.parents.get(&slot).copied()
    }

    /// Records that the worker in `slot` was registered through the
    /// process in `process`.
    pub fn set_parent(&mut self, slot: Slot, process: Slot) {
        if self.get(slot).is_some() {
            self.parents.insert(slot, process);
        }
    }

    /// Slots of the live processes, in slot order.
    pub fn processes(&self) -> impl Iterator<Item = Slot> + '_ {
        self.processes.iter().copied()
    }

    /// Number of live units.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of slots the table holds, live or not (for statistics and
    /// tests: it is bounded by the most units registered at once).
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Released slots not reusable yet (waiting for the host or for the
    /// process runs in flight).
    pub fn slots_waiting(&self) -> usize {
        self.unacknowledged.len() + self.held.len()
    }
}

/// The id of the unit in `slot`, if one is there.
fn id_in(slots: &[Option<Unit>], slot: Slot) -> Option<&str> {
    match slots.get(slot as usize) {
        Some(Some(u)) => Some(u.id.as_str()),
        _ => None,
    }
}

/// The hash the index keeps for `slot`: its unit's id's.
fn hash_of(slots: &[Option<Unit>], hasher: &RandomState, slot: Slot) -> u64 {
    hasher.hash_one(id_in(slots, slot).unwrap_or_default())
}

/// Whether a table of `len` entries that holds room for `capacity` gives
/// memory back: when it uses less than a quarter of it (above a floor, so
/// that small tables are left alone). It then keeps room for twice `len`.
fn worth_shrinking(len: usize, capacity: usize) -> bool {
    capacity > SHRINK_FLOOR && len * 4 < capacity
}

/// Gives memory back when a vector uses little of what it holds (see
/// [`worth_shrinking`]).
pub(crate) fn shrink<T>(v: &mut Vec<T>) {
    if worth_shrinking(v.len(), v.capacity()) {
        v.shrink_to(v.len() * 2);
    }
}

/// [`shrink`] for hash maps.
pub(crate) fn shrink_map<K: Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(
    m: &mut HashMap<K, V, S>,
) {
    if worth_shrinking(m.len(), m.capacity()) {
        m.shrink_to(m.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::{Status, WorkerConfig};

    fn worker(id: &str, status: Status) -> Unit {
        Unit {
            id: id.into(),
            enabled: true,
            status,
            history: None,
            active_runs: 0,
            status_since: PackedNanos::default(),
            body: UnitBody::Worker(WorkerConfig::default()),
        }
    }

    /// `upsert_with` shows the closure the unit it replaces (none for a new
    /// id), keeps the slot and the place in the order of a replaced unit,
    /// and indexes a new one under its id.
    #[test]
    fn upsert_with_sees_the_unit_it_replaces() {
        let mut registry = Registry::default();
        let mut seen = Vec::new();
        let a = registry.upsert_with("a".into(), |id, previous| {
            seen.push(previous.map(|u| u.active_runs));
            Unit {
                active_runs: 3,
                ..worker(&id, Status::Idle)
            }
        });
        let b = registry.upsert(worker("b", Status::Idle));
        let again = registry.upsert_with("a".into(), |id, previous| {
            seen.push(previous.map(|u| u.active_runs));
            Unit {
                active_runs: previous.map_or(0, |u| u.active_runs),
                ..worker(&id, Status::Paused)
            }
        });
        assert_eq!(seen, vec![None, Some(3)]);
        assert_eq!(again, a);
        assert_eq!(
            (registry.slot_of("a"), registry.slot_of("b")),
            (Some(a), Some(b))
        );
        let u = registry.get(a).unwrap();
        assert_eq!((u.status, u.active_runs), (Status::Paused, 3));
        assert_eq!(registry.ordered().collect::<Vec<_>>(), vec![a, b]);
    }

    /// A unit that has not run keeps its record and nothing else: what runs
    /// leave behind is boxed (see [`History`]), so are the
    /// settings few workers set (see [`WorkerConfig`]), and the registry's
    /// tables hold no copy of its id.
    #[test]
    fn an_idle_unit_is_a_small_record() {
        assert!(
            std::mem::size_of::<Unit>() <= 88,
            "{}",
            std::mem::size_of::<Unit>()
        );
        let mut registry = Registry::default();
        let slot = registry.upsert(worker("w", Status::Idle));
        let u = registry.get(slot).unwrap();
        assert!(u.history.is_none() && u.meta().is_empty());
        assert!(!u.worker().unwrap().has_rare_settings());
        assert!(!u.id.is_heap_allocated());
        let u = registry.get_mut(slot).unwrap();
        u.started_at(5, None);
        assert_eq!(
            (u.last_run_at(), u.last_run_ms(), u.last_error()),
            (Some(5), None, None)
        );
        u.started_at(7, Some(1.5));
        u.failed_with("boom".into());
        u.started_at(9, None);
        assert_eq!(
            (u.last_run_at(), u.last_run_ms(), u.last_error()),
            (Some(9), Some(1.5), Some("boom"))
        );
    }

    /// The index finds every live unit by its id, and no released one,
    /// through growth, replacement in place, churn and shrinking: checked
    /// against a map kept alongside.
    #[test]
    fn ids_find_their_slots_through_churn() {
        let mut rng = fastrand::Rng::with_seed(17);
        let mut registry = Registry::default();
        let mut model: HashMap<String, Slot> = HashMap::new();
        let check = |registry: &Registry, model: &HashMap<String, Slot>| {
            assert_eq!(registry.len(), model.len());
            for (id, slot) in model {
                assert_eq!(registry.slot_of(id), Some(*slot), "{id}");
                assert_eq!(
                    registry.get(*slot).map(|u| u.id.as_str()),
                    Some(id.as_str())
                );
            }
        };
        // Grow well past the shrink floor, then churn, then drain.
        for round in 0..3 {
            let (adds, removes) = match round {
                0 => (6_000, 1_000),
                1 => (3_000, 3_000),
                _ => (0, usize::MAX),
            };
            for _ in 0..adds {
                // Some ids too long to be kept in the record itself.
                let n = rng.u32(..20_000);
                let id = if n.is_multiple_of(7) {
                    format!("a-unit-id-longer-than-what-the-record-holds-{n}")
                } else {
                    format!("u-{n}")
                };
                let slot = registry.upsert(worker(&id, Status::Paused));
                if let Some(old) = model.insert(id.clone(), slot) {
                    // Replaced in place: same slot, the new unit in it.
                    assert_eq!(old, slot);
                    assert_eq!(registry.get(slot).map(|u| u.status), Some(Status::Paused));
                }
            }
            let mut ids: Vec<String> = model.keys().cloned().collect();
            ids.sort();
            rng.shuffle(&mut ids);
            for id in ids.into_iter().take(removes) {
                let slot = model.remove(&id).unwrap();
                assert_eq!(
                    registry.remove(slot, false).map(|u| u.id.to_string()),
                    Some(id.clone())
                );
                assert_eq!(registry.slot_of(&id), None);
                assert!(registry.remove(slot, false).is_none());
            }
            check(&registry, &model);
        }
        assert!(registry.is_empty());
        assert_eq!(registry.slot_of("u-1"), None);
        // Registered again after all that, ids still find their slots.
        let a = registry.upsert(worker("a", Status::Idle));
        let b = registry.upsert(worker("b", Status::Idle));
        assert_eq!(
            (registry.slot_of("a"), registry.slot_of("b")),
            (Some(a), Some(b))
        );
    }

    /// Registration order through churn: released slots reused by later
    /// registrations, re-registrations that keep their place, released
    /// slots that wait for the host and the registry emptied; each unit's
    /// place only grows along the order.
    #[test]
    fn the_registration_order_survives_churn() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut registry = Registry::default();
        registry.set_host_acknowledges(true);
        // The model: ids in the order of their first registration.
        let mut order: Vec<String> = Vec::new();
        let mut unacknowledged: Vec<Slot> = Vec::new();
        let check = |registry: &Registry, order: &[String]| {
            let ids: Vec<&str> = registry
                .ordered()
                .map(|s| registry.get(s).unwrap().id.as_str())
                .collect();
            assert_eq!(ids, order.iter().map(String::as_str).collect::<Vec<_>>());
            let places: Vec<u64> = registry.ordered_places().map(|(p, _)| p).collect();
            assert!(places.windows(2).all(|w| w[0] < w[1]), "{places:?}");
            for (place, slot) in registry.ordered_places() {
                assert_eq!(registry.place_of(slot), Some(place));
            }
            assert_eq!(registry.live().count(), order.len());
        };
        // Registered one after another: the slots are in order.
        for k in 0..50 {
            registry.upsert(worker(&format!("u-{k}"), Status::Idle));
            order.push(format!("u-{k}"));
        }
        assert!(registry.in_slot_order);
        check(&registry, &order);
        let mut emptied = 0;
        for step in 0..4_500 {
            if step % 1_000 == 999 {
                // Emptied: the slots are in order again from the next registration.
                for id in order.drain(..) {
                    let slot = registry.slot_of(&id).unwrap();
                    registry.remove(slot, false);
                    unacknowledged.push(slot);
                }
                registry.acknowledge(&unacknowledged);
                unacknowledged.clear();
                registry.upsert(worker("first", Status::Idle));
                registry.upsert(worker("second", Status::Idle));
                order.extend(["first".to_string(), "second".to_string()]);
                assert!(registry.in_slot_order);
                emptied += 1;
            }
            match rng.u32(..9) {
                0..=4 => {
                    let id = format!("u-{}", rng.u32(..300));
                    registry.upsert(worker(&id, Status::Idle));
                    if !order.contains(&id) {
                        order.push(id);
                    }
                }
                5..=7 if !order.is_empty() => {
                    let id = order.remove(rng.usize(..order.len()));
                    let slot = registry.slot_of(&id).unwrap();
                    registry.remove(slot, false);
                    unacknowledged.push(slot);
                }
                8 => {
                    registry.acknowledge(&unacknowledged);
                    unacknowledged.clear();
                }
                _ => {}
            }
            check(&registry, &order);
        }
        assert_eq!(emptied, 4);
        assert!(!registry.in_slot_order);
    }

    /// Past 2³² − 1 registrations the places are numbered afresh: the order
    /// stays as it was, reused slots included.
    #[test]
    fn places_are_renumbered_in_order_when_the_numbers_run_out() {
        let mut registry = Registry::default();
        for id in ["a", "b", "c", "d"] {
            registry.upsert(worker(id, Status::Idle));
        }
        let c = registry.slot_of("c").unwrap();
        registry.remove(registry.slot_of("b").unwrap(), false);
        registry.remove(c, false);
        registry.next_seq = u32::MAX - 2;
        let mut names: Vec<String> = vec!["a".into(), "d".into()];
        for k in 0..6 {
            let id = format!("n{k}");
            registry.upsert(worker(&id, Status::Idle));
            names.push(id);
        }
        assert!(registry.next_seq < 100);
        let ids: Vec<&str> = registry
            .ordered()
            .map(|s| registry.get(s).unwrap().id.as_str())
            .collect();
        assert_eq!(ids, names);
        let places: Vec<u64> = registry.ordered_places().map(|(p, _)| p).collect();
        assert!(places.windows(2).all(|w| w[0] < w[1]), "{places:?}");
        // "a" keeps its place before the later ones.
        let a = registry.slot_of("a").unwrap();
        assert!(registry.place_of(a) < registry.place_of(registry.slot_of("n5").unwrap()));
    }
}
