//! Runs asked for by name (`runWorkerById`, `runProcessById`, `run`),
//! and what such a request does while the unit is already running: the
//! overlap rule of workers, and joining the run in flight of a process.

use super::state::may_start;
use super::types::Owner;
use super::Engine;
use crate::event::Ticket;
use crate::registry::Unit;
use crate::unit::{Overlap, Slot, UnitKind};

impl Engine {
    /// Runs a unit now. The returned ticket ends with [`crate::Event::Done`] — at
    /// once when the id is unknown or the unit is paused or disabled.
    ///
    /// With `kind`, a unit of the other kind is not run either (as
    /// `runWorkerById` does not run a process).
    pub fn run_unit(&mut self, id: &str, kind: Option<UnitKind>) -> Ticket {
        match self.registry.slot_of(id) {
            Some(slot) => self.run_slot(slot, kind),
            None => self.run_slot(Slot::MAX, kind),
        }
    }

    /// [`Engine::run_unit`] for the unit in `slot` (an empty slot runs
    /// nothing; its ticket ends at once).
    pub fn run_slot(&mut self, slot: Slot, kind: Option<UnitKind>) -> Ticket {
        let ticket = self.fresh_id();
        let started = match self.registry.get(slot).map(Unit::kind) {
            Some(k) if kind.is_some_and(|want| want != k) => false,
            Some(UnitKind::Worker) => {
                self.join_worker_run(slot, ticket)
                    || self.start_worker_run(slot, Owner::Ticket(ticket))
            }
            Some(UnitKind::Process) => {
                self.join_process_run(slot, ticket) || self.start_process_run(slot, ticket)
            }
            None => false,
        };
        if !started {
            self.done(ticket);
        }
        ticket
    }

    /// The overlap rule of manual runs of a worker that is running: with
    /// `overlap: 'skip'` (the default) the request joins the run in flight
    /// and ends when it ends; with `'queue'` it waits for one run right
    /// after it (shared by every request that comes meanwhile); with
    /// `'allow'` it starts a run of its own (false: nothing joined).
    fn join_worker_run(&mut self, slot: Slot, ticket: Ticket) -> bool {
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        if unit.active_runs == 0 || !may_start(unit, true) {
            return false;
        }
        match unit.worker().map_or(Overlap::Allow, |c| c.overlap) {
            Overlap::Allow => false,
            Overlap::Queue => {
                match self.queued_manual.get_mut(&slot) {
                    Some(tickets) => tickets.push(ticket),
                    None => {
                        self.queued_manual.insert(slot, vec![ticket]);
                    }
                }
                true
            }
            Overlap::Skip => {
                // The newest run in flight.
                match self.runs.newest_of_mut(slot) {
                    Some(run) => {
                        run.joined.push(ticket);
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// A run of a worker ended: start the run that `overlap: 'queue'`
    /// requests are waiting for, once nothing of it is in flight.
    pub(super) fn start_queued_manual(&mut self, slot: Slot) {
        if self.registry.get(slot).is_none_or(|u| u.active_runs > 0) {
            return;
        }
        let Some(mut tickets) = self.queued_manual.remove(&slot) else {
            return;
        };
        let first = tickets.remove(0);
        if !self.start_worker_run(slot, Owner::Ticket(first)) {
            tickets.insert(0, first);
            self.done_all(tickets);
            return;
        }
        if let Some(run) = self
            .runs
            .owned_by(Owner::Ticket(first))
            .and_then(|id| self.runs.get_mut(id))
        {
            run.joined.append(&mut tickets);
        }
    }
}
