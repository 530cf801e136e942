//! How runs end. Whatever ends a run — its last attempt, a failed worker
//! of a process, a release, a stop, a cancelled task — the unit's side of
//! the end is announced here, in one order: statistics or error, the
//! status, then the `complete` or `error` event; and the engine ends runs
//! before they settled (release, stop) through one path, [`Engine::fail_runs`].

use super::types::{ProcRunId, RunId};
use super::Engine;
use crate::error::EngineError;
use crate::event::{AbortReason, CallId, Event, Failure, RunEnd, Ticket};
use crate::unit::{Slot, Status};

/// Why the engine ends a run before it settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// A stop's deadline passed, or a stop found the run waiting for a retry.
    Stopped,
    /// The unit was released or replaced.
    Released,
    /// The pool task the run executes was cancelled.
    Cancelled,
}

impl Ending {
    fn abort_reason(self) -> AbortReason {
        match self {
            Ending::Stopped => AbortReason::Stopped,
            Ending::Released => AbortReason::Released,
            Ending::Cancelled => AbortReason::Cancelled,
        }
    }

    fn error(self, id: String) -> EngineError {
        match self {
            Ending::Stopped => EngineError::Stopped { id },
            Ending::Released => EngineError::Released { id },
            Ending::Cancelled => EngineError::Cancelled { id },
        }
    }
}

/// A run in flight, of either kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunRef {
    Worker(RunId),
    Process(ProcRunId),
}

impl Engine {
    /// A run of the unit completed after `duration_ms`: its statistics, its
    /// status and the `complete` event. `call` is the attempt whose result
    /// is the run's (none for a process). False when the unit is gone.
    pub(super) fn run_completed(
        &mut self,
        slot: Slot,
        duration_ms: f64,
        call: Option<CallId>,
    ) -> bool {
        let now = self.now();
        let Some(u) = self.registry.get_mut(slot) else {
            return false;
        };
        u.active_runs = u.active_runs.saturating_sub(1);
        let meta = u.meta_mut();
        meta.record(duration_ms);
        let (run_count, average_ms) = (meta.run_count, meta.average_ms());
        let previous = u.settle_status(Status::Completed, now);
        let end = RunEnd {
            unit: slot,
            duration_ms,
            run_count,
            average_ms,
            previous,
            call,
        };
        // The sink takes the events in one call; a store sees each.
        self.observed.touch();
        if let Some(store) = &self.store {
            for event in end.events() {
                store.on_event(&event, self);
            }
        }
        self.sink.emit_end(end);
        true
    }

    /// A run of the unit failed for good with `failure`: its error, its
    /// status and the `error` event. For a process, `culprit` is the worker
    /// whose failure failed it.
    pub(super) fn run_failed(&mut self, slot: Slot, failure: Failure, culprit: Option<Slot>) {
        let Some(u) = self.registry.get_mut(slot) else {
            return;
        };
        u.active_runs = u.active_runs.saturating_sub(1);
        u.failed_with(failure.message());
        self.emit(Event::Errored {
            unit: slot,
            failure,
            culprit,
        });
        self.settle_status(slot, Status::Error);
        self.emit(Event::Failed { unit: slot });
    }

    /// Ends a run in flight before it settled: its attempt in flight, if
    /// any, is aborted, and the run fails with the error of `ending`
    /// (naming the run's unit).
    pub(super) fn fail_run(&mut self, run: RunRef, ending: Ending) {
        match run {
            RunRef::Worker(id) => {
                let Some(r) = self.runs.get(id) else {
                    return;
                };
                let (slot, call) = (r.slot, r.call);
                if let Some(call) = call {
                    self.invoker.abort(call, ending.abort_reason());
                }
                let error = ending.error(self.unit_id(slot));
                self.end_worker_run(id, Err(Failure::Engine(error)));
            }
            RunRef::Process(id) => {
                let Some(p) = self.processes.remove(&id) else {
                    return;
                };
                let error = ending.error(self.unit_id(p.slot));
                self.fail_process_run(p, error, None);
            }
        }
    }

    /// Ends every run in flight of the unit in `slot` (of every unit with
    /// `None`) with [`Engine::fail_run`]. Process runs end first, so that
    /// ending their workers' runs cannot make them start the next ones.
    pub(super) fn fail_runs(&mut self, slot: Option<Slot>, ending: Ending) {
        let processes: Vec<ProcRunId> = self
            .processes
            .iter()
            .filter(|(_, p)| slot.is_none_or(|s| p.slot == s))
            .map(|(id, _)| *id)
            .collect();
        for id in processes {
            self.fail_run(RunRef::Process(id), ending);
        }
        let runs = match slot {
            Some(slot) => self.runs.of_slot(slot),
            None => self.runs.ids(),
        };
        for id in runs {
            self.fail_run(RunRef::Worker(id), ending);
        }
    }

    /// Ends the ticket of a request that nobody reports an error to.
    pub(super) fn done(&mut self, ticket: Ticket) {
        self.emit(Event::Done {
            ticket,
            error: None,
        });
    }

    /// [`Engine::done`] for several tickets.
    pub(super) fn done_all(&mut self, tickets: Vec<Ticket>) {
        for ticket in tickets {
            self.done(ticket);
        }
    }

    /// Ends a process run's ticket and those of the requests that joined it.
    pub(super) fn process_done(
        &mut self,
        ticket: Ticket,
        joined: Vec<Ticket>,
        error: Option<(Slot, EngineError)>,
    ) {
        for t in joined {
            self.emit(Event::Done {
                ticket: t,
                error: error.clone(),
            });
        }
        self.emit(Event::Done { ticket, error });
    }
}
