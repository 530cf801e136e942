//! Registration and release: units come into the registry (a process
//! with its workers, replacing a unit of the same id in place) and leave
//! it, their runs in flight ending with [`EngineError::Released`].

use super::ending::Ending;
use super::Engine;
use crate::error::EngineError;
use crate::event::Event;
use crate::registry::{Registry, Unit, UnitBody};
use crate::unit::{CommonSpec, Dependency, Slot, UnitKind, UnitSpec, WorkerSpec};

impl Engine {
    /// The registry (read-only).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The unit called `id`.
    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.registry.slot_of(id).and_then(|s| self.registry.get(s))
    }

    /// Checks a unit for registration without storing anything: the
    /// worker ids of a process are distinct and differ from the process's;
    /// within a process, every dependency names a worker of that process,
    /// and a worker registered on its own depends on registered units only.
    /// The errors say where the problem is (the worker's and the
    /// dependency's positions), so that a host can name the field.
    pub fn check_registration(&self, spec: &UnitSpec) -> Result<(), EngineError> {
        match spec {
            UnitSpec::Process(p) => {
                let mut seen = std::collections::HashSet::new();
                for (index, w) in p.workers.iter().enumerate() {
                    if w.common.id == p.common.id || !seen.insert(w.common.id.as_str()) {
                        return Err(EngineError::DuplicateWorker {
                            process: p.common.id.clone(),
                            worker: w.common.id.clone(),
                            index,
                        });
                    }
                }
                let siblings: Vec<&str> = p.workers.iter().map(|w| w.common.id.as_str()).collect();
                for (index, w) in p.workers.iter().enumerate() {
                    self.check_dependencies(
                        Some((&p.common.id, index)),
                        &w.common.id,
                        w.config.depends_on(),
                        &siblings,
                    )?;
                }
            }
            UnitSpec::Worker(w) => {
                self.check_dependencies(None, &w.common.id, w.config.depends_on(), &[])?;
            }
        }
        Ok(())
    }

    /// Registers a unit (a process with its workers), replacing a unit of
    /// the same id in place. Validation ([`Engine::check_registration`])
    /// happens before anything is stored. Returns the slots: the unit's
    /// first, then its workers' in order.
    pub fn register(&mut self, spec: UnitSpec) -> Result<Vec<Slot>, EngineError> {
        self.check_registration(&spec)?;
        if self.processes.is_empty() {
            // No process run can name a released worker any more.
            self.registry.recycle_held();
        }
        let slots = match spec {
            UnitSpec::Worker(w) => vec![self.store_worker(w, None)],
            UnitSpec::Process(p) => {
                let slot = self.store(
                    p.common,
                    UnitBody::Process {
                        config: Box::new(p.config),
                        workers: Box::default(),
                    },
                );
                let workers: Vec<Slot> = p
                    .workers
                    .into_iter()
                    .map(|w| self.store_worker(w, Some(slot)))
                    .collect();
                if let Some(UnitBody::Process { workers: ws, .. }) =
                    self.registry.get_mut(slot).map(|u| &mut u.body)
                {
                    *ws = workers.as_slice().into();
                }
                let mut slots = Vec::with_capacity(workers.len() + 1);
                slots.push(slot);
                slots.extend(workers);
                slots
            }
        };
        for slot in &slots {
            // A unit that replaces one of the same id starts a new record.
            self.observed.forget(*slot);
            self.reschedule(*slot);
        }
        self.observed.touch();
        Ok(slots)
    }

    fn store_worker(&mut self, w: WorkerSpec, parent: Option<Slot>) -> Slot {
        let slot = self.store(w.common, UnitBody::Worker(w.config));
        if let Some(process) = parent {
            self.registry.set_parent(slot, process);
            self.emit(Event::Parent {
                unit: slot,
                process,
            });
        }
        slot
    }

    fn store(&mut self, common: CommonSpec, body: UnitBody) -> Slot {
        let status_since = self.now();
        let CommonSpec {
            id,
            enabled,
            status,
            run_count,
        } = common;
        self.registry.upsert_with(id.into(), |id, previous| {
            let mut unit = Unit {
                id,
                enabled,
                status,
                history: None,
                active_runs: previous.map_or(0, |u| u.active_runs),
                status_since: status_since.into(),
                body,
            };
            if run_count > 0 {
                unit.meta_mut().run_count = run_count;
            }
            unit
        })
    }

    /// Removes a unit. Its runs in flight are aborted and end with
    /// [`EngineError::Released`]. Returns false for an unknown id.
    pub fn release(&mut self, id: &str) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        // A pool worker leaves its pool first, so that ending its task below
        // cannot hand it the next one.
        self.pool_forget_worker(slot);
        // Out of the schedule before its runs end, so that ending a
        // scheduled run cannot start the run an overlap 'queue' fire left.
        self.unschedule(slot);
        self.calendar_forget(slot);
        self.end_runs_of(slot);
        // The slot is reused later: no process may go on listing it. A
        // worker that process runs in flight may still name keeps its slot
        // until they have ended.
        let listed = self.unlist_worker(slot);
        let hold = listed && !self.processes.is_empty();
        self.registry.remove(slot, hold);
        self.observed.forget(slot);
        self.emit(Event::Released { unit: slot });
        self.check_stop_done();
        true
    }

    /// Ends the runs in flight of the unit called `id` with
    /// [`EngineError::Released`], keeping the unit: what re-registering an
    /// id does first, so that the runs of the object being replaced end on
    /// it. Returns false for an unknown id.
    pub fn end_runs(&mut self, id: &str) -> bool {
        let Some(slot) = self.registry.slot_of(id) else {
            return false;
        };
        self.end_runs_of(slot);
        self.check_stop_done();
        true
    }

    fn end_runs_of(&mut self, slot: Slot) {
        // Queued manual runs first: ending the run below must not start them.
        if let Some(tickets) = self.queued_manual.remove(&slot) {
            self.done_all(tickets);
        }
        self.fail_runs(Some(slot), Ending::Released);
    }

    /// Removes a worker from the lists of the processes that list it;
    /// returns whether any did. Only workers registered through a process
    /// (they have a parent) are looked for.
    fn unlist_worker(&mut self, slot: Slot) -> bool {
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        if unit.kind() != UnitKind::Worker || self.registry.parent_of(slot).is_none() {
            return false;
        }
        let processes: Vec<Slot> = self.registry.processes().collect();
        let mut listed = false;
        for p in processes {
            if let Some(UnitBody::Process { workers, .. }) =
                self.registry.get_mut(p).map(|u| &mut u.body)
            {
                if workers.contains(&slot) {
                    *workers = workers.iter().copied().filter(|w| *w != slot).collect();
                    listed = true;
                }
            }
        }
        listed
    }

    /// The host carried out the release of these slots (see
    /// [`Registry::acknowledge`]): they may name new units.
    pub fn acknowledge_released(&mut self, slots: &[Slot]) {
        self.registry.acknowledge(slots);
    }

    /// Makes released slots wait for [`Engine::acknowledge_released`]
    /// before they are reused (for a host that mirrors units by slot).
    pub fn set_host_acknowledges_releases(&mut self, on: bool) {
        self.registry.set_host_acknowledges(on);
    }

    /// Checks a unit's dependencies before it is stored: within a process
    /// (given with the worker's position in it), every id must be a worker
    /// of that process; a standalone worker's must be registered units.
    fn check_dependencies(
        &self,
        process: Option<(&str, usize)>,
        worker: &str,
        deps: &[Dependency],
        siblings: &[&str],
    ) -> Result<(), EngineError> {
        for (dependency_index, d) in deps.iter().enumerate() {
            let known = match process {
                Some(_) => siblings.contains(&d.id.as_str()),
                None => self.registry.slot_of(&d.id).is_some(),
            };
            if !known {
                return Err(EngineError::UnknownDependency {
                    process: process.map_or("", |(id, _)| id).to_owned(),
                    worker: worker.to_owned(),
                    dependency: d.id.clone(),
                    worker_index: process.map(|(_, index)| index),
                    dependency_index,
                });
            }
        }
        Ok(())
    }
}
