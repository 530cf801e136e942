//! The registry: every unit, in registration order, with the links between
//! processes and their workers. It is the source of truth for state; the
//! host mirrors it onto the user's objects from the engine's events.

use std::collections::HashMap;

use crate::error::EngineError;
use crate::unit::{Meta, ProcessConfig, Slot, Status, UnitKind, WorkerConfig};

/// Kind-specific part of a unit.
#[derive(Debug, Clone)]
pub enum UnitBody {
    Worker(WorkerConfig),
    Process {
        config: ProcessConfig,
        /// The process's workers, in array order.
        workers: Vec<Slot>,
    },
}

/// One registered unit.
#[derive(Debug, Clone)]
pub struct Unit {
    pub id: String,
    pub enabled: bool,
    pub status: Status,
    pub meta: Meta,
    /// Wall-clock ms of the last run start.
    pub last_run_ms: Option<f64>,
    /// Engine time of the last run start.
    pub last_run_at: Option<crate::clock::Nanos>,
    /// Message of the last failure.
    pub last_error: Option<String>,
    /// The process this worker belongs to (the last one that listed it).
    pub parent: Option<Slot>,
    /// Runs of this unit in flight.
    pub active_runs: u32,
    /// When the status last changed (or the unit was registered).
    pub status_since: crate::clock::Nanos,
    pub body: UnitBody,
}

impl Unit {
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
#[derive(Debug, Default)]
pub struct Registry {
    slots: Vec<Option<Unit>>,
    by_id: HashMap<String, Slot>,
    /// Registration order as (sequence, slot); re-registration keeps the
    /// original place. Compacted lazily after releases.
    order: Vec<Slot>,
    released_in_order: usize,
}

impl Registry {
    /// The slot of `id`.
    pub fn slot_of(&self, id: &str) -> Option<Slot> {
        self.by_id.get(id).copied()
    }

    /// The unit in `slot`.
    pub fn get(&self, slot: Slot) -> Option<&Unit> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// The unit in `slot`, mutably.
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut Unit> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// The unit called `id`, or [`EngineError::UnknownUnit`].
    pub fn require(&self, id: &str) -> Result<Slot, EngineError> {
        self.slot_of(id)
            .ok_or_else(|| EngineError::UnknownUnit { id: id.to_owned() })
    }

    /// Inserts a new unit or replaces the one with the same id in place
    /// (same slot, same place in the order). Returns the slot.
    pub fn upsert(&mut self, unit: Unit) -> Slot {
        if let Some(slot) = self.slot_of(&unit.id) {
            self.slots[slot as usize] = Some(unit);
            return slot;
        }
        let slot = self.slots.len() as Slot;
        self.by_id.insert(unit.id.clone(), slot);
        self.slots.push(Some(unit));
        self.order.push(slot);
        slot
    }

    /// Removes the unit in `slot`.
    pub fn remove(&mut self, slot: Slot) -> Option<Unit> {
        let unit = self.slots.get_mut(slot as usize)?.take()?;
        self.by_id.remove(&unit.id);
        self.released_in_order += 1;
        if self.released_in_order > 64 && self.released_in_order * 2 > self.order.len() {
            let slots = &self.slots;
            self.order.retain(|s| slots[*s as usize].is_some());
            self.released_in_order = 0;
        }
        Some(unit)
    }

    /// Slots of live units in registration order.
    pub fn ordered(&self) -> impl Iterator<Item = Slot> + '_ {
        self.order
            .iter()
            .copied()
            .filter(|s| self.slots[*s as usize].is_some())
    }

    /// Number of live units.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
