//! Dependency graphs: a process any of whose workers declares `dependsOn`
//! runs as a graph instead of by its run mode.
//!
//! A worker starts as soon as all of its own dependencies completed in this
//! run (not in waves), so independent branches run concurrently and a
//! shared dependency (a diamond) runs once. Each node keeps a count of the
//! dependencies it still waits for and the list of its dependents, so a run
//! costs O(workers + edges).
//!
//! A condition on a dependency's result is a JavaScript function; the host
//! evaluates the conditions on a worker's result when its attempt succeeds
//! and reports them before the outcome. A false condition skips the
//! dependent and everything downstream of it; a failure does the same for
//! the failed worker's dependents while independent branches finish.

use std::collections::HashMap;

use super::state::may_start;
use super::types::{Owner, ProcRunId, ProcessFailure};
use super::Engine;
use crate::error::EngineError;
use crate::event::{CallId, Event, SkipReason};
use crate::unit::Slot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeState {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug)]
struct Node {
    slot: Slot,
    /// Dependencies not completed yet.
    waiting_on: usize,
    /// Dependents, and whether the edge carries a condition.
    dependents: Vec<(usize, bool)>,
    state: NodeState,
}

/// The state of one graph run.
#[derive(Debug)]
pub(super) struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Slot, usize>,
    ready: Vec<usize>,
    running: usize,
    /// Condition results reported by the host: (dependency, dependent).
    conditions: HashMap<(Slot, Slot), bool>,
    pub(super) failed: Option<ProcessFailure>,
}

impl Graph {
    /// Whether a success of `slot` needs its conditions evaluated.
    pub(super) fn has_conditions_from(&self, slot: Slot) -> bool {
        self.index
            .get(&slot)
            .is_some_and(|i| self.nodes[*i].dependents.iter().any(|(_, c)| *c))
    }
}

impl Engine {
    /// Whether any worker of the process declares dependencies.
    pub(super) fn is_graph(&self, workers: &[Slot]) -> bool {
        workers.iter().any(|w| {
            self.registry
                .get(*w)
                .and_then(|u| u.worker())
                .is_some_and(|c| !c.depends_on().is_empty())
        })
    }

    /// Builds the graph of a process's workers. Workers that are disabled
    /// or paused are skipped (silently); their dependents are skipped with
    /// a `skipped` event when the run starts. Fails on a cycle.
    pub(super) fn build_graph(
        &self,
        process: Slot,
        workers: &[Slot],
    ) -> Result<(Graph, Vec<usize>), EngineError> {
        let index: HashMap<Slot, usize> =
            workers.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let ids: HashMap<&str, usize> = workers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.registry.get(*s).map(|u| (u.id.as_str(), i)))
            .collect();
        let mut nodes: Vec<Node> = workers
            .iter()
            .map(|s| Node {
                slot: *s,
                waiting_on: 0,
                dependents: Vec::new(),
                state: NodeState::Pending,
            })
            .collect();
        // deps[i]: the nodes node i depends on.
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); workers.len()];
        for (i, s) in workers.iter().enumerate() {
            let Some(config) = self.registry.get(*s).and_then(|u| u.worker()) else {
                continue;
            };
            for d in config.depends_on() {
                // Registration guarantees the ids; a worker re-registered
                // elsewhere since is simply not waited for.
                if let Some(&j) = ids.get(d.id.as_str()) {
                    deps[i].push(j);
                    nodes[j].dependents.push((i, d.conditional));
                    nodes[i].waiting_on += 1;
                }
            }
        }
        if let Some(cycle) = find_cycle(&deps) {
            let name = |i: usize| {
                self.registry
                    .get(workers[i])
                    .map_or_else(String::new, |u| u.id.to_string())
            };
            let first = *cycle.iter().min().unwrap_or(&cycle[0]);
            let start = cycle.iter().position(|i| *i == first).unwrap_or(0);
            let mut path: Vec<String> = cycle[start..]
                .iter()
                .chain(&cycle[..start])
                .map(|i| name(*i))
                .collect();
            path.push(name(first));
            return Err(EngineError::DependencyCycle {
                process: self
                    .registry
                    .get(process)
                    .map_or_else(String::new, |u| u.id.to_string()),
                worker: name(first),
                path,
            });
        }
        let unrunnable: Vec<usize> = workers
            .iter()
            .enumerate()
            .filter(|(_, s)| !self.registry.get(**s).is_some_and(|u| may_start(u, false)))
            .map(|(i, _)| i)
            .collect();
        let ready = (0..nodes.len())
            .filter(|i| nodes[*i].waiting_on == 0)
            .collect();
        Ok((
            Graph {
                nodes,
                index,
                ready,
                running: 0,
                conditions: HashMap::new(),
                failed: None,
            },
            unrunnable,
        ))
    }

    /// Marks the nodes that cannot run from the start (disabled, paused).
    pub(super) fn graph_prune(&mut self, id: ProcRunId, unrunnable: Vec<usize>) {
        for i in unrunnable {
            self.graph_skip_quietly(id, i);
        }
    }

    /// Skips node `i` and everything downstream of it, a `skipped` event each.
    fn graph_skip(&mut self, id: ProcRunId, i: usize, reason: SkipReason) {
        let mut stack = vec![(i, reason)];
        while let Some((i, reason)) = stack.pop() {
            let Some(g) = self.processes.get_mut(&id).and_then(|p| p.graph.as_mut()) else {
                return;
            };
            let node = &mut g.nodes[i];
            if node.state != NodeState::Pending {
                continue;
            }
            node.state = NodeState::Skipped;
            let slot = node.slot;
            stack.extend(
                node.dependents
                    .iter()
                    .rev()
                    .map(|(d, _)| (*d, SkipReason::DependencySkipped)),
            );
            self.emit(Event::Skipped { unit: slot, reason });
        }
    }

    /// Starts every ready node; ends the run when nothing runs any more.
    pub(super) fn graph_advance(&mut self, id: ProcRunId) {
        loop {
            let Some(g) = self.processes.get_mut(&id).and_then(|p| p.graph.as_mut()) else {
                return;
            };
            let Some(i) = g.ready.pop() else { break };
            if g.nodes[i].state != NodeState::Pending {
                continue;
            }
            g.nodes[i].state = NodeState::Running;
            g.running += 1;
            let slot = g.nodes[i].slot;
            if !self.start_worker_run(slot, Owner::Process(id)) {
                // Disabled or paused since the run began: passed over, and so
                // is everything that waits for it.
                if let Some(g) = self.processes.get_mut(&id).and_then(|p| p.graph.as_mut()) {
                    g.running -= 1;
                    g.nodes[i].state = NodeState::Pending;
                }
                self.graph_skip_quietly(id, i);
            }
        }
        let done = self
            .processes
            .get(&id)
            .and_then(|p| p.graph.as_ref())
            .is_some_and(|g| g.running == 0 && g.ready.is_empty());
        if done {
            if let Some(p) = self.processes.get_mut(&id) {
                p.failed = p.graph.as_mut().and_then(|g| g.failed.take());
            }
            self.finish_process(id);
        }
    }

    /// A node that could not start: not announced itself (like a disabled
    /// worker of a sequential process), but its dependents are.
    fn graph_skip_quietly(&mut self, id: ProcRunId, i: usize) {
        let Some(g) = self.processes.get_mut(&id).and_then(|p| p.graph.as_mut()) else {
            return;
        };
        g.nodes[i].state = NodeState::Skipped;
        let dependents: Vec<usize> = g.nodes[i].dependents.iter().map(|(d, _)| *d).collect();
        for d in dependents {
            self.graph_skip(id, d, SkipReason::DependencySkipped);
        }
    }

    /// A worker of a graph run ended.
    pub(super) fn graph_worker_done(
        &mut self,
        id: ProcRunId,
        worker: Slot,
        outcome: Result<(), String>,
    ) {
        let Some(g) = self.processes.get_mut(&id).and_then(|p| p.graph.as_mut()) else {
            return;
        };
        let Some(&i) = g.index.get(&worker) else {
            return;
        };
        if g.nodes[i].state != NodeState::Running {
            return;
        }
        g.running -= 1;
        let dependents = g.nodes[i].dependents.clone();
        match outcome {
            Ok(()) => {
                g.nodes[i].state = NodeState::Done;
                let mut skip = Vec::new();
                for (d, conditional) in dependents {
                    if g.nodes[d].state != NodeState::Pending {
                        continue;
                    }
                    let holds = !conditional
                        || g.conditions
                            .get(&(worker, g.nodes[d].slot))
                            .copied()
                            .unwrap_or(false);
                    if holds {
                        g.nodes[d].waiting_on -= 1;
                        if g.nodes[d].waiting_on == 0 {
                            g.ready.push(d);
                        }
                    } else {
                        skip.push(d);
                    }
                }
                for d in skip {
                    self.graph_skip(id, d, SkipReason::Condition);
                }
            }
            Err(message) => {
                g.nodes[i].state = NodeState::Failed;
                if g.failed.is_none() {
                    g.failed = Some(ProcessFailure::new(&self.registry, worker, message));
                }
                for (d, _) in dependents {
                    self.graph_skip(id, d, SkipReason::DependencyFailed);
                }
            }
        }
        self.graph_advance(id);
    }

    /// Records the results of the conditions on the result of attempt
    /// `call`: `(dependent, holds)` for each dependent with a condition.
    /// A condition that is not reported counts as false.
    pub fn report_conditions(&mut self, call: CallId, results: &[(Slot, bool)]) {
        let Some(run) = self.runs.by_call(call) else {
            return;
        };
        let (slot, Owner::Process(prun)) = (run.slot, run.owner) else {
            return;
        };
        if let Some(g) = self.processes.get_mut(&prun).and_then(|p| p.graph.as_mut()) {
            for (dependent, holds) in results {
                g.conditions.insert((slot, *dependent), *holds);
            }
        }
    }

    /// Whether a unit is a worker whose graph needs its conditions
    /// evaluated when attempt of run `owner` succeeds.
    pub(super) fn wants_conditions(&self, owner: Owner, slot: Slot) -> bool {
        match owner {
            Owner::Process(prun) => self
                .processes
                .get(&prun)
                .and_then(|p| p.graph.as_ref())
                .is_some_and(|g| g.has_conditions_from(slot)),
            _ => false,
        }
    }
}

/// Finds a cycle in a dependency list (`deps[i]`: what `i` depends on), in
/// O(nodes + edges): Kahn's algorithm removes everything that is not on or
/// behind a cycle; from the first remaining node, following remaining
/// dependencies must come back to a node already seen. Returns the cycle,
/// each node depending on the next.
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = deps.len();
    // dependents[j]: who depends on j; remaining[i]: unresolved deps of i.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut remaining: Vec<usize> = vec![0; n];
    for (i, ds) in deps.iter().enumerate() {
        remaining[i] = ds.len();
        for &j in ds {
            dependents[j].push(i);
        }
    }
    let mut queue: Vec<usize> = (0..n).filter(|i| remaining[*i] == 0).collect();
    while let Some(j) = queue.pop() {
        for &i in &dependents[j] {
            remaining[i] -= 1;
            if remaining[i] == 0 {
                queue.push(i);
            }
        }
    }
    let start = (0..n).find(|i| remaining[*i] > 0)?;
    // Every remaining node has a remaining dependency: walk them.
    let mut seen_at: HashMap<usize, usize> = HashMap::new();
    let mut walk = Vec::new();
    let mut v = start;
    loop {
        if let Some(&k) = seen_at.get(&v) {
            return Some(walk[k..].to_vec());
        }
        seen_at.insert(v, walk.len());
        walk.push(v);
        v = *deps[v].iter().find(|d| remaining[**d] > 0)?;
    }
}

#[cfg(test)]
mod tests {
    use super::find_cycle;

    #[test]
    fn finds_the_cycle_and_only_a_cycle() {
        // 0 → 2, 1 → 0, 2 → 1 (each depends on the next)
        assert_eq!(
            find_cycle(&[vec![2], vec![0], vec![1]]),
            Some(vec![0, 2, 1])
        );
        assert_eq!(find_cycle(&[vec![0]]), Some(vec![0]));
        // a diamond has none
        assert_eq!(find_cycle(&[vec![], vec![0], vec![0], vec![1, 2]]), None);
        // 3 only leads into the cycle 1 ↔ 2
        assert_eq!(
            find_cycle(&[vec![], vec![2], vec![1], vec![1]]).map(|c| c.len()),
            Some(2)
        );
    }
}
