//! Process runs: a process drives runs of its workers by its run mode —
//! one after another (`sequential`, and `isolated` with a delay after each
//! worker), in groups (`batched`), or all at once within an optional
//! concurrency (`parallel`). A process any of whose workers declares
//! dependencies runs as a graph instead (see `graph.rs`).

use super::graph::Graph;
use super::observed::outcome_of;
use super::types::{Owner, ProcRunId, ProcessFailure, Timer};
use super::Engine;
use crate::clock::{ms_to_nanos, nanos_to_ms, Nanos};
use crate::error::EngineError;
use crate::event::{Event, Failure, Phase, Ticket};
use crate::observe::RunOutcome;
use crate::registry::UnitBody;
use crate::timer::TimerId;
use crate::unit::{RunMode, Slot};

/// One process run in flight.
#[derive(Debug)]
pub(super) struct ProcessRun {
    pub(super) slot: Slot,
    ticket: Ticket,
    mode: RunMode,
    batch_size: usize,
    isolation_delay_ms: f64,
    /// Parallel mode: at most this many workers at once.
    concurrency: Option<usize>,
    workers: Vec<Slot>,
    next: usize,
    in_flight: usize,
    pub(super) failed: Option<ProcessFailure>,
    pub(super) started: Nanos,
    waiting: Option<TimerId>,
    /// Set when the process runs as a dependency graph.
    pub(super) graph: Option<Graph>,
    /// Requests to run the process that came while this run was in flight:
    /// they end with it, with the same outcome.
    pub(super) joined: Vec<Ticket>,
}

impl Engine {
    /// Starts a run of the process in `slot` for `ticket`; false when it
    /// may not start (the ticket is then not ended).
    pub(super) fn start_process_run(&mut self, slot: Slot, ticket: Ticket) -> bool {
        let wall = self.wall_now_ms();
        let Some(unit) = self.registry.get(slot) else {
            return false;
        };
        // Runs of processes are asked for by name or by the sweep, which
        // picks enabled processes only.
        if !super::state::may_start(unit, true) {
            return false;
        }
        let UnitBody::Process { config, workers } = &unit.body else {
            return false;
        };
        let config = config.clone();
        let all = workers.to_vec();
        let (workers, graph, unrunnable) = if self.is_graph(&all) {
            match self.build_graph(slot, &all) {
                Ok((graph, unrunnable)) => (all, Some(graph), unrunnable),
                Err(error) => {
                    // Rejected before anything runs.
                    let worker = self.registry.slot_of(error.unit_id()).unwrap_or(slot);
                    self.emit(Event::Done {
                        ticket,
                        error: Some((worker, error)),
                    });
                    return true;
                }
            }
        } else {
            let members = all
                .into_iter()
                .filter(|w| {
                    self.registry
                        .get(*w)
                        .is_some_and(|u| super::state::may_start(u, false))
                })
                .collect();
            (members, None, Vec::new())
        };
        let mode = config.run_mode;
        let prun = ProcessRun {
            slot,
            ticket,
            mode,
            batch_size: config.batch_size.max(1) as usize,
            isolation_delay_ms: config.isolation_delay_ms,
            concurrency: config.concurrency.map(|c| c.max(1) as usize),
            workers,
            next: 0,
            in_flight: 0,
            failed: None,
            started: self.now(),
            waiting: None,
            graph,
            joined: Vec::new(),
        };
        if let Some(u) = self.registry.get_mut(slot) {
            u.active_runs += 1;
            u.started_at_wall(wall);
        }
        self.announce_start(slot, wall);
        self.emit(Event::ProcessPhase {
            unit: slot,
            phase: Phase::Running,
            run_mode: mode,
        });
        let id = self.fresh_id();
        let is_graph = prun.graph.is_some();
        self.processes.insert(id, prun);
        if is_graph {
            self.graph_prune(id, unrunnable);
        }
        self.advance_process(id);
        true
    }

    /// Starts whatever the process run's mode allows now, or ends the run.
    fn advance_process(&mut self, id: ProcRunId) {
        if self.processes.get(&id).is_some_and(|p| p.graph.is_some()) {
            self.graph_advance(id);
            return;
        }
        loop {
            let Some(p) = self.processes.get_mut(&id) else {
                return;
            };
            if p.waiting.is_some() {
                return;
            }
            if p.failed.is_some() || p.next >= p.workers.len() {
                if p.in_flight == 0 {
                    self.finish_process(id);
                }
                return;
            }
            let rest = p.workers.len() - p.next;
            let take = match p.mode {
                _ if p.in_flight > 0 && p.mode != RunMode::Parallel => 0,
                RunMode::Sequential | RunMode::Isolated => 1,
                RunMode::Batched => p.batch_size.min(rest),
                // A sliding window: a worker starts whenever one settles.
                RunMode::Parallel => p
                    .concurrency
                    .map_or(rest, |c| c.saturating_sub(p.in_flight).min(rest)),
            };
            if take == 0 {
                return;
            }
            let group: Vec<Slot> = p.workers[p.next..p.next + take].to_vec();
            p.next += take;
            p.in_flight += take;
            for w in group {
                if !self.start_worker_run(w, Owner::Process(id)) {
                    // Disabled or paused since the run began: it is passed over.
                    if let Some(p) = self.processes.get_mut(&id) {
                        p.in_flight -= 1;
                    }
                }
            }
        }
    }

    /// The isolation delay of process run `id` is over.
    pub(super) fn isolation_over(&mut self, id: ProcRunId) {
        if let Some(p) = self.processes.get_mut(&id) {
            p.waiting = None;
            self.advance_process(id);
        }
    }

    /// A run of a worker of process run `id` ended.
    pub(super) fn process_worker_done(
        &mut self,
        id: ProcRunId,
        worker: Slot,
        outcome: Result<(), String>,
    ) {
        let Some(p) = self.processes.get_mut(&id) else {
            return;
        };
        if p.graph.is_some() {
            self.graph_worker_done(id, worker, outcome);
            return;
        }
        p.in_flight -= 1;
        match outcome {
            Err(message) => {
                if matches!(p.mode, RunMode::Sequential | RunMode::Isolated) {
                    p.failed = Some(ProcessFailure::new(&self.registry, worker, message));
                }
            }
            Ok(()) => {
                if p.mode == RunMode::Isolated && p.isolation_delay_ms > 0.0 {
                    let at = self
                        .clock
                        .now()
                        .saturating_add(ms_to_nanos(p.isolation_delay_ms));
                    let t = self.arm(at, Timer::Isolation(id));
                    if let Some(p) = self.processes.get_mut(&id) {
                        p.waiting = Some(t);
                    }
                }
            }
        }
        self.advance_process(id);
    }

    /// Ends process run `id`: completed, or failed by the worker that
    /// failed it.
    pub(super) fn finish_process(&mut self, id: ProcRunId) {
        if let Some(mut p) = self.processes.remove(&id) {
            match p.failed.take() {
                None => {
                    let now = self.now();
                    let duration_ms = nanos_to_ms(now.saturating_sub(p.started));
                    self.observe_run(p.slot, RunOutcome::Completed, p.started, now, None);
                    if self.run_completed(p.slot, duration_ms, None) {
                        self.emit(Event::ProcessPhase {
                            unit: p.slot,
                            phase: Phase::Completed,
                            run_mode: p.mode,
                        });
                    }
                    self.process_done(p.ticket, p.joined, None);
                }
                Some(failure) => {
                    let worker = failure.worker;
                    let error = failure.into_error(self.unit_id(p.slot));
                    self.fail_process_run(p, error, Some(worker));
                }
            }
        }
        self.check_stop_done();
    }

    /// Ends process run `p` (taken out of the runs in flight) with `error`:
    /// the process is in error, and the run's ticket and those that joined
    /// it end with the error, naming `culprit` (the failed worker) or else
    /// the process.
    pub(super) fn fail_process_run(
        &mut self,
        p: ProcessRun,
        error: EngineError,
        culprit: Option<Slot>,
    ) {
        if let Some(t) = p.waiting {
            self.timers.cancel(t);
        }
        let failure = Failure::Engine(error.clone());
        let message = failure.message();
        let now = self.now();
        self.observe_run(p.slot, outcome_of(&failure), p.started, now, Some(&message));
        self.run_failed(p.slot, failure, culprit);
        let named = culprit.unwrap_or(p.slot);
        self.process_done(p.ticket, p.joined, Some((named, error)));
    }

    /// A request to run a process that is running joins the run in flight:
    /// it ends when that run ends, with the same outcome.
    pub(super) fn join_process_run(&mut self, slot: Slot, ticket: Ticket) -> bool {
        let run = self
            .processes
            .iter_mut()
            .filter(|(_, p)| p.slot == slot)
            .max_by_key(|(id, _)| **id)
            .map(|(_, p)| p);
        match run {
            Some(p) => {
                p.joined.push(ticket);
                true
            }
            None => false,
        }
    }
}
