//! The graceful stop: "close intake, wait for in-flight, then cancel".
//! `stop` disarms every recurring timer at once and ends what only waits:
//! queued pool tasks that live in memory only are dropped, and runs waiting
//! for a retry end with [`EngineError::Stopped`](crate::EngineError::Stopped)
//! (while the stop is under way no attempt is retried). Then it ends its
//! ticket when the last attempt in flight settles, or at its deadline ends
//! what is left with `EngineError::Stopped` too.

use super::ending::{Ending, RunRef};
use super::types::{Owner, ProcRunId, RunId, StopOptions, Timer};
use super::Engine;
use crate::clock::ms_to_nanos;
use crate::event::Ticket;
use crate::timer::TimerId;

/// A stop under way.
#[derive(Debug, Default)]
struct Stop {
    tickets: Vec<Ticket>,
    deadline: Option<TimerId>,
    /// Runs the stop does not wait for: the run that called it (from inside
    /// its `run`) and the process runs that run belongs to.
    exempt_runs: Vec<RunId>,
    exempt_processes: Vec<ProcRunId>,
}

/// The stop's part of the engine.
#[derive(Debug, Default)]
pub(super) struct StopState {
    current: Option<Stop>,
    /// Set while a stop past its deadline ends what is left: nothing new
    /// may start then.
    forced: bool,
}

impl Engine {
    /// Whether a stop is under way (it has not ended its tickets yet).
    pub(super) fn is_stopping(&self) -> bool {
        self.stopping.current.is_some()
    }

    /// Whether runs may start now: not while a stop past its deadline ends
    /// what is left.
    pub(super) fn starts_allowed(&self) -> bool {
        !self.stopping.forced
    }

    /// Stops scheduling at once and returns a ticket that ends when every
    /// run in flight has settled. With a `timeout_ms`, what is still running
    /// then is aborted and fails with [`crate::EngineError::Stopped`].
    pub fn stop(&mut self, timeout_ms: Option<f64>) -> Ticket {
        self.stop_with(StopOptions {
            timeout_ms,
            ..StopOptions::default()
        })
    }

    /// [`Engine::stop`] with every option. Queued pool tasks that live in
    /// memory only (not stored) are dropped at once: nothing would run them
    /// once this process ends, so their owners learn it now
    /// ([`TaskOutcome::Dropped`](crate::TaskOutcome::Dropped)); stored tasks
    /// stay queued for the next start or the next process.
    pub fn stop_with(&mut self, options: StopOptions) -> Ticket {
        let StopOptions {
            timeout_ms,
            closing,
            caller,
        } = options;
        let ticket = self.fresh_id();
        self.halt_schedule();
        self.pools_set_started(false);
        self.pools_drop_queued(closing);
        self.thread_pools_pause(closing);
        let exempt_run = caller.and_then(|c| self.runs.of_call(c));
        let exempt_process =
            exempt_run
                .and_then(|r| self.runs.get(r))
                .and_then(|r| match r.owner {
                    Owner::Process(p) => Some(p),
                    _ => None,
                });
        let stop = self.stopping.current.get_or_insert_with(Stop::default);
        stop.tickets.push(ticket);
        stop.exempt_runs.extend(exempt_run);
        stop.exempt_processes.extend(exempt_process);
        if let Some(ms) = timeout_ms {
            let at = self.now().saturating_add(ms_to_nanos(ms));
            if let Some(old) = self
                .stopping
                .current
                .as_mut()
                .and_then(|s| s.deadline.take())
            {
                self.timers.cancel(old);
            }
            let timer = self.arm(at, Timer::StopDeadline);
            if let Some(stop) = self.stopping.current.as_mut() {
                stop.deadline = Some(timer);
            }
            if ms <= 0.0 {
                self.force_stop();
            }
        }
        // Nothing is retried once a stop is under way: a run waiting for
        // its next attempt ends now, as what waits in a pool's queue does.
        for run in self.runs.waiting_for_retry() {
            self.fail_run(RunRef::Worker(run), Ending::Stopped);
        }
        self.check_stop_done();
        ticket
    }

    /// Ends the stop's tickets once nothing is in flight.
    pub(super) fn check_stop_done(&mut self) {
        let Some(stop) = &self.stopping.current else {
            return;
        };
        let exempt = stop
            .exempt_runs
            .iter()
            .filter(|r| self.runs.contains(**r))
            .count()
            + stop
                .exempt_processes
                .iter()
                .filter(|p| self.processes.contains_key(p))
                .count();
        if self.active_runs() + self.thread_tasks_running() > exempt {
            return;
        }
        if let Some(stop) = self.stopping.current.take() {
            if let Some(t) = stop.deadline {
                self.timers.cancel(t);
            }
            self.done_all(stop.tickets);
        }
    }

    /// The stop's deadline passed: ends every run still in flight.
    pub(super) fn force_stop(&mut self) {
        self.stopping.forced = true;
        self.fail_runs(None, Ending::Stopped);
        self.thread_pools_force_stop();
        self.stopping.forced = false;
        self.check_stop_done();
    }
}
