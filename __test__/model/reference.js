'use strict';

// A small reference model of the manager, in plain JavaScript, for the
// model-based test (__test__/model.spec.js). It encodes the rules of SPEC
// §2–§9 for what the test generates: workers with retries, timeouts,
// maxRuns and interval schedules (overlap), retry delays given as a number
// or as a function of the retry number, processes in the four run modes and
// as dependency graphs (§5: conditions, skips downstream, independent
// branches, failures, cycles), enable/disable, pause, stopAll/startAll,
// runLoopOnce, start/stop and the manual clock.
//
// How runs settle. Every `run` the test registers settles the same way in a
// given sequence of commands: synchronously, or through an already settled
// promise (the `asyncRuns` flag), or never until a later command settles it
// ("hang"). Under either way the manager reports the attempts that JavaScript
// started in one step together, in the order it started them, and the
// engine's decisions on them start the next step's attempts: the model runs
// attempts in such waves (see `drain`).
//
// Events are kept in the compact form of helpers.describeEvent.

const DEFAULTS = { maxRetries: 0, retryDelayMs: 0, timeoutMs: 10000, overlap: 'skip' };

/** retryDelayMs given as a function of the 1-based retry number: the generated kinds. */
const DELAY_FNS = {
  linear: (n) => n * 40,
  fixed: () => 70,
  nan: () => NaN,
  negative: () => -5,
  throws: () => {
    throw new Error('no delay today');
  },
};

/** Conditions on a dependency's result (`{ id, condition }`): the generated kinds. */
const CONDITIONS = {
  always: () => true,
  never: () => false,
  // The result of a run is the attempt that succeeded ('settled' for one the test settled).
  first: (result) => result === 1,
  throws: () => {
    throw new Error('condition cannot decide');
  },
};

/** The delay a retry-delay function gives (what throws or is not a positive number: none). */
function askDelay(kind, retry) {
  let delay = 0;
  try {
    delay = Number(DELAY_FNS[kind](retry));
  } catch {
    delay = 0;
  }
  return Number.isFinite(delay) && delay > 0 ? delay : 0;
}

/**
 * The cycle a graph run reports, as the engine finds it (crates/synchronik-core
 * graph.rs find_cycle): Kahn's algorithm removes what is not on or behind a
 * cycle, then a walk from the first remaining node along its first
 * remaining dependency closes the cycle. `deps[i]`: what node i depends on.
 */
function findCycle(deps) {
  const n = deps.length;
  const dependents = deps.map(() => []);
  const remaining = deps.map((ds) => ds.length);
  deps.forEach((ds, i) => ds.forEach((j) => dependents[j].push(i)));
  const queue = [];
  for (let i = 0; i < n; i++) if (remaining[i] === 0) queue.push(i);
  while (queue.length > 0) {
    const j = queue.pop();
    for (const i of dependents[j]) if (--remaining[i] === 0) queue.push(i);
  }
  const start = remaining.findIndex((r) => r > 0);
  if (start < 0) return null;
  const seenAt = new Map();
  const walk = [];
  let v = start;
  for (;;) {
    if (seenAt.has(v)) return walk.slice(seenAt.get(v));
    seenAt.set(v, walk.length);
    walk.push(v);
    v = deps[v].find((d) => remaining[d] > 0);
  }
}

class Model {
  constructor({ loopInterval }) {
    this.loopInterval = loopInterval;
    this.now = 0;
    this.timerSeq = 0;
    /** Armed timers: { at, seq, kind, ... }. */
    this.timers = [];
    /** Unit ids in registration order. */
    this.order = [];
    this.units = new Map();
    this.runs = new Map();
    this.calls = new Map();
    this.procs = new Map();
    this.intervals = new Map();
    /** overlap 'queue' requests by hand waiting for a run of their worker: id → tickets. */
    this.queuedManual = new Map();
    this.nextId = 1;
    this.started = false;
    this.sweep = null;
    this.stopping = null;
    this.forced = false;
    /** What the test observes. */
    this.events = [];
    this.callLog = [];
    /** Conditions called (`cond:<dependent><-<dependency>`) and those that threw (`thrown:…`). */
    this.condLog = [];
    /** Attempts whose run waits for a `settle` command: { call, id, attempt }. */
    this.hung = [];
    /** The run and stop promises the test made, by index: { state, code?, unitId? }. */
    this.promises = [];
    this.settleOnly = new Set();
    /** Attempts started by the engine whose run JavaScript has not called yet. */
    this.invocations = [];
    /** Set when the order of this step's events across units is the engine's hash order. */
    this.unordered = false;
  }

  // --- helpers ---------------------------------------------------------

  emit(e) {
    this.events.push(e);
  }

  arm(at, timer) {
    const t = { at, seq: ++this.timerSeq, ...timer };
    this.timers.push(t);
    return t;
  }

  cancel(t) {
    if (t) this.timers = this.timers.filter((x) => x !== t);
  }

  nextTimer() {
    let best = null;
    for (const t of this.timers) if (best === null || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  /** A promise the test made; `settleOnly`: resolved whatever the run's outcome (runWorkerById, runUnitById). */
  promise(settleOnly = false) {
    this.promises.push({ state: 'pending' });
    if (settleOnly) this.settleOnly.add(this.promises.length - 1);
    return this.promises.length - 1;
  }

  done(ticket, error) {
    if (ticket === null || ticket === undefined) return;
    if (typeof ticket === 'object') {
      // One of the runs a runLoopOnce() started: its promise resolves when the last ends.
      if (--ticket.pending === 0) this.done(ticket.ticket);
      return;
    }
    const p = this.promises[ticket];
    if (error && !this.settleOnly.has(ticket)) Object.assign(p, { state: 'rejected', code: error.code, unitId: error.unitId });
    else p.state = 'resolved';
  }

  cfg(unit, key) {
    return unit.cfg[key] !== undefined ? unit.cfg[key] : DEFAULTS[key];
  }

  setStatus(unit, status) {
    this.emit(`updated:${unit.id}:${unit.status}>${status}`);
    unit.status = status;
  }

  /** A run ends with `status`, unless the unit was paused meanwhile (the pause outlasts the run). */
  settleStatus(unit, status) {
    if (unit.status !== 'paused') this.setStatus(unit, status);
  }

  configChanged(unit) {
    this.emit(`updated:${unit.id}:${unit.status}>${unit.status}:config`);
  }

  runnable(unit) {
    return unit.enabled && unit.status !== 'paused';
  }

  // --- registration and state --------------------------------------------

  register(spec) {
    const add = (s, kind, parent) => {
      const unit = {
        id: s.id,
        kind,
        status: s.status || 'idle',
        enabled: s.enabled !== undefined ? s.enabled : true,
        runCount: 0,
        activeRuns: 0,
        hasError: false,
        cfg: { ...s.cfg },
        behavior: s.behavior,
        parent,
        workers: kind === 'process' ? s.workers.map((w) => w.id) : undefined,
        dependsOn: s.dependsOn || [],
        lastRunAt: undefined,
      };
      if (!this.units.has(s.id)) this.order.push(s.id);
      this.units.set(s.id, unit);
    };
    if (spec.workers) {
      add(spec, 'process');
      // The process's own objects: its conditions are looked up there, released workers included.
      this.units.get(spec.id).specs = spec.workers;
      for (const w of spec.workers) add(w, 'worker', spec.id);
      this.reschedule(spec.id);
      for (const w of spec.workers) this.reschedule(w.id);
    } else {
      add(spec, 'worker');
      this.reschedule(spec.id);
    }
  }

  release(id) {
    const unit = this.units.get(id);
    if (!unit) return;
    // Nothing new starts for a unit being released (a queued interval run included).
    unit.releasing = true;
    const queued = this.queuedManual.get(id);
    if (queued) {
      this.queuedManual.delete(id);
      for (const t of queued) this.done(t);
    }
    for (const [runId, run] of [...this.runs]) {
      if (run.id !== id) continue;
      this.endRun(runId, { ok: false, code: 'ERR_RELEASED' });
    }
    for (const [prunId, p] of [...this.procs]) {
      if (p.id !== id) continue;
      this.procs.delete(prunId);
      this.cancel(p.waiting);
      // The process run ends in error on the released object.
      unit.activeRuns -= 1;
      unit.hasError = true;
      this.settleStatus(unit, 'error');
      this.emit(`error:${id}`);
      for (const t of p.joined) this.done(t, { code: 'ERR_RELEASED', unitId: id });
      this.done(p.ticket, { code: 'ERR_RELEASED', unitId: id });
    }
    this.unschedule(id);
    this.units.delete(id);
    this.order = this.order.filter((x) => x !== id);
    this.checkStopDone();
  }

  updateStatus(id, status) {
    const unit = this.units.get(id);
    if (!unit || unit.status === status) return;
    this.setStatus(unit, status);
    // A status set by hand announces its transition the way a run would.
    if (status === 'running') this.emit(`start:${id}`);
    else if (status === 'completed') this.emit(`complete:${id}`);
    else if (status === 'error' && unit.hasError) this.emit(`error:${id}`);
  }

  setEnabled(id, enabled) {
    const unit = this.units.get(id);
    if (!unit || unit.enabled === enabled) return;
    unit.enabled = enabled;
    this.configChanged(unit);
    this.reschedule(id);
  }

  updateConfig(id, patch) {
    const unit = this.units.get(id);
    if (!unit) return;
    const { enabled, behavior, ...rest } = patch;
    if (enabled !== undefined) unit.enabled = enabled;
    if (behavior !== undefined) unit.behavior = behavior;
    Object.assign(unit.cfg, rest);
    this.configChanged(unit);
    this.reschedule(id);
  }

  stopAll() {
    for (const id of this.order) {
      const unit = this.units.get(id);
      // SPEC §3.5: every status change produces one `updated` event; a unit
      // already paused does not change.
      if (unit.status !== 'paused') this.setStatus(unit, 'paused');
    }
  }

  startAll() {
    for (const id of this.order) {
      const unit = this.units.get(id);
      if (unit.status === 'paused') this.setStatus(unit, 'idle');
    }
  }

  // --- worker runs --------------------------------------------------------

  runWorker(id, ticket) {
    const unit = this.units.get(id);
    if (!unit || unit.kind !== 'worker') return this.done(ticket);
    // The overlap rule of a run by hand while the worker is running: 'skip'
    // joins the newest run in flight, 'queue' waits for one run right after
    // it (shared by every request meanwhile), 'allow' runs alongside.
    if (unit.activeRuns > 0 && this.runnable(unit)) {
      const overlap = this.cfg(unit, 'overlap');
      if (overlap === 'skip') {
        let newest = null;
        for (const [runId, run] of this.runs) if (run.id === id && (newest === null || runId > newest)) newest = runId;
        if (newest !== null) {
          this.runs.get(newest).joined.push(ticket);
          return;
        }
      } else if (overlap === 'queue') {
        const queued = this.queuedManual.get(id);
        if (queued) queued.push(ticket);
        else this.queuedManual.set(id, [ticket]);
        return;
      }
    }
    if (!this.startWorkerRun(id, { kind: 'ticket', ticket })) this.done(ticket);
  }

  /** A run of the worker ended: the run that overlap 'queue' requests wait for starts once none is in flight. */
  startQueuedManual(unit) {
    if (unit.activeRuns > 0) return;
    const tickets = this.queuedManual.get(unit.id);
    if (!tickets) return;
    this.queuedManual.delete(unit.id);
    const [first, ...rest] = tickets;
    if (!this.startWorkerRun(unit.id, { kind: 'ticket', ticket: first })) {
      for (const t of tickets) this.done(t);
      return;
    }
    for (const run of this.runs.values()) if (run.owner.kind === 'ticket' && run.owner.ticket === first) run.joined.push(...rest);
  }

  startWorkerRun(id, owner) {
    const unit = this.units.get(id);
    if (!unit || unit.kind !== 'worker' || !this.runnable(unit) || this.forced) return false;
    unit.activeRuns += 1;
    unit.lastRunAt = this.now;
    unit.hasError = false;
    this.setStatus(unit, 'running');
    this.emit(`start:${id}`);
    const runId = this.nextId++;
    const run = { id, owner, attempt: 1, call: null, timeout: null, delay: null, asked: null, conditions: false, joined: [] };
    this.runs.set(runId, run);
    this.beginAttempt(runId);
    return true;
  }

  beginAttempt(runId) {
    const run = this.runs.get(runId);
    const unit = this.units.get(run.id);
    const call = this.nextId++;
    const timeoutMs = this.cfg(unit, 'timeoutMs');
    run.timeout = timeoutMs > 0 ? this.arm(this.now + timeoutMs, { kind: 'timeout', runId, call }) : null;
    run.call = call;
    run.delay = null;
    // A delay function is asked, when the attempt starts, for the retry that would follow it.
    const delay = this.cfg(unit, 'retryDelayMs');
    run.asked = typeof delay === 'string' && run.attempt <= this.cfg(unit, 'maxRetries') ? askDelay(delay, run.attempt) : null;
    run.conditions = this.wantsConditions(run);
    this.calls.set(call, runId);
    this.invocations.push({ call, id: run.id, attempt: run.attempt });
  }

  /** JavaScript calls the runs the engine started, and reports those that settle at once; until nothing more starts. */
  drain() {
    while (this.invocations.length > 0) {
      const wave = this.invocations;
      this.invocations = [];
      const outcomes = [];
      for (const inv of wave) {
        this.callLog.push(`${inv.id}#${inv.attempt}`);
        const unit = this.units.get(inv.id);
        const b = unit.behavior;
        if (b.hang) this.hung.push(inv);
        else outcomes.push([inv.call, inv.attempt > b.failFirst, inv.attempt]);
      }
      for (const [call, ok, result] of outcomes) this.complete(call, ok, result);
    }
  }

  /** An attempt settled. Attempts that no longer count (timed out, released, stopped) are ignored. */
  complete(call, ok, result) {
    const runId = this.calls.get(call);
    if (runId === undefined) return;
    this.calls.delete(call);
    const run = this.runs.get(runId);
    if (ok && run.conditions) this.evaluateConditions(run, result);
    this.cancel(run.timeout);
    run.timeout = null;
    if (ok) this.endRun(runId, { ok: true });
    else this.attemptFailed(runId, 'ERR_RUN_FAILED');
  }

  attemptFailed(runId, code) {
    const run = this.runs.get(runId);
    const unit = this.units.get(run.id);
    // While a stop is under way nothing is retried.
    if (run.attempt > this.cfg(unit, 'maxRetries') || this.stopping) {
      this.endRun(runId, { ok: false, code });
      return;
    }
    const setting = this.cfg(unit, 'retryDelayMs');
    const delay = typeof setting === 'string' ? (run.asked === null ? 0 : run.asked) : setting;
    run.call = null;
    this.emit(`retry:${run.id}:${run.attempt}:${delay}`);
    run.attempt += 1;
    if (delay > 0) run.delay = this.arm(this.now + delay, { kind: 'retry', runId });
    else this.beginAttempt(runId);
  }

  endRun(runId, result) {
    const run = this.runs.get(runId);
    this.runs.delete(runId);
    this.cancel(run.timeout);
    this.cancel(run.delay);
    if (run.call !== null) this.calls.delete(run.call);
    const unit = this.units.get(run.id);
    unit.activeRuns -= 1;
    if (result.ok) {
      unit.runCount += 1;
      const maxRuns = unit.cfg.maxRuns;
      this.settleStatus(unit, 'completed');
      this.emit(`complete:${unit.id}`);
      if (maxRuns !== undefined && unit.runCount >= maxRuns && unit.enabled) {
        unit.enabled = false;
        this.configChanged(unit);
        this.reschedule(unit.id);
      }
    } else {
      unit.hasError = true;
      this.settleStatus(unit, 'error');
      this.emit(`error:${unit.id}`);
    }
    const { owner } = run;
    for (const t of run.joined) this.done(t);
    if (owner.kind === 'ticket') this.done(owner.ticket);
    else if (owner.kind === 'process') this.processWorkerDone(owner.prun, result.ok, unit.id);
    this.startQueuedManual(unit);
    this.afterRun(unit);
    this.checkStopDone();
  }

  /** overlap 'queue': a fire that came while a run was in flight runs right after it. */
  afterRun(unit) {
    const entry = this.intervals.get(unit.id);
    if (!entry || !entry.queued || unit.activeRuns > 0 || !this.started || unit.releasing) return;
    entry.queued = false;
    this.startWorkerRun(unit.id, { kind: 'scheduled' });
  }

  // --- process runs -------------------------------------------------------

  runProcess(id, ticket) {
    const unit = this.units.get(id);
    if (!unit || unit.kind !== 'process') return this.done(ticket);
    // A request to run a process that is running joins the run in flight.
    let newest = null;
    for (const [prunId, p] of this.procs) if (p.id === id && (newest === null || prunId > newest)) newest = prunId;
    if (newest !== null) {
      this.procs.get(newest).joined.push(ticket);
      return;
    }
    if (!this.startProcessRun(id, ticket)) this.done(ticket);
  }

  startProcessRun(id, ticket) {
    const unit = this.units.get(id);
    if (unit.status === 'paused') return false;
    if (this.isGraph(unit)) return this.startGraphRun(id, ticket);
    const workers = unit.workers.filter((w) => this.units.has(w) && this.runnable(this.units.get(w)));
    const mode = unit.cfg.runMode || 'sequential';
    const p = {
      id,
      ticket,
      mode,
      batchSize: Math.max(1, unit.cfg.batchSize !== undefined ? unit.cfg.batchSize : 2),
      isolationDelayMs: unit.cfg.isolationDelayMs !== undefined ? unit.cfg.isolationDelayMs : 100,
      workers,
      next: 0,
      inFlight: 0,
      failed: null,
      waiting: null,
      joined: [],
    };
    unit.activeRuns += 1;
    unit.hasError = false;
    this.setStatus(unit, 'running');
    this.emit(`start:${id}`);
    this.emit(`milestone:unit:${id}:running`);
    const prun = this.nextId++;
    this.procs.set(prun, p);
    this.advanceProcess(prun);
    return true;
  }

  advanceProcess(prun) {
    for (;;) {
      const p = this.procs.get(prun);
      if (!p || p.waiting) return;
      if (p.failed || p.next >= p.workers.length) {
        if (p.inFlight === 0) this.finishProcess(prun);
        return;
      }
      const rest = p.workers.length - p.next;
      let take;
      if (p.inFlight > 0 && p.mode !== 'parallel') take = 0;
      else if (p.mode === 'sequential' || p.mode === 'isolated') take = 1;
      else if (p.mode === 'batched') take = Math.min(p.batchSize, rest);
      else take = rest;
      if (take === 0) return;
      const group = p.workers.slice(p.next, p.next + take);
      p.next += take;
      p.inFlight += take;
      for (const w of group) {
        // Disabled or paused since the process run began: passed over.
        if (!this.startWorkerRun(w, { kind: 'process', prun })) p.inFlight -= 1;
      }
    }
  }

  processWorkerDone(prun, ok, worker) {
    const p = this.procs.get(prun);
    if (!p) return;
    if (p.graph) {
      this.graphWorkerDone(prun, ok, worker);
      return;
    }
    p.inFlight -= 1;
    // A failure stops a sequential or isolated run; parallel and batched runs complete.
    if (!ok && (p.mode === 'sequential' || p.mode === 'isolated')) p.failed = worker;
    if (ok && p.mode === 'isolated' && p.isolationDelayMs > 0) {
      p.waiting = this.arm(this.now + p.isolationDelayMs, { kind: 'isolation', prun });
    }
    this.advanceProcess(prun);
  }

  finishProcess(prun) {
    const p = this.procs.get(prun);
    this.procs.delete(prun);
    const unit = this.units.get(p.id);
    unit.activeRuns -= 1;
    if (!p.failed) {
      unit.runCount += 1;
      this.settleStatus(unit, 'completed');
      this.emit(`complete:${p.id}`);
      this.emit(`milestone:unit:${p.id}:completed`);
      for (const t of p.joined) this.done(t);
      this.done(p.ticket);
    } else {
      unit.hasError = true;
      this.settleStatus(unit, 'error');
      this.emit(`error:${p.id}`);
      for (const t of p.joined) this.done(t, { code: 'ERR_WORKER_FAILED', unitId: p.failed });
      this.done(p.ticket, { code: 'ERR_WORKER_FAILED', unitId: p.failed });
    }
    this.checkStopDone();
  }

  // --- dependency graphs (SPEC §5) -----------------------------------------

  /** A process runs as a graph when any of its registered workers declares dependencies. */
  isGraph(unit) {
    return unit.workers.some((w) => this.units.has(w) && this.units.get(w).dependsOn.length > 0);
  }

  startGraphRun(id, ticket) {
    const unit = this.units.get(id);
    // Every worker of the process is a node, a released one too (it cannot run).
    const ids = unit.workers;
    const live = (w) => this.units.has(w);
    const nodes = ids.map((w) => ({ id: w, waitingOn: 0, dependents: [], state: 'pending' }));
    const deps = ids.map(() => []);
    ids.forEach((w, i) => {
      if (!live(w)) return;
      for (const d of this.units.get(w).dependsOn) {
        // A dependency released since is not waited for.
        const j = ids.indexOf(d.id);
        if (j < 0 || !live(d.id)) continue;
        deps[i].push(j);
        nodes[j].dependents.push({ node: i, conditional: CONDITIONS[d.form] !== undefined });
        nodes[i].waitingOn += 1;
      }
    });
    const cycle = findCycle(deps);
    if (cycle) {
      // Rejected before anything runs, naming the first worker of the cycle.
      this.done(ticket, { code: 'ERR_DEPENDENCY_CYCLE', unitId: ids[Math.min(...cycle)] });
      return true;
    }
    const g = {
      nodes,
      ready: nodes.map((_, i) => i).filter((i) => nodes[i].waitingOn === 0),
      running: 0,
      conditions: new Map(),
      failed: null,
    };
    unit.activeRuns += 1;
    unit.hasError = false;
    this.setStatus(unit, 'running');
    this.emit(`start:${id}`);
    this.emit(`milestone:unit:${id}:running`);
    const prun = this.nextId++;
    this.procs.set(prun, { id, ticket, graph: g, failed: null, waiting: null, joined: [] });
    // Workers that cannot run (disabled, paused, released): passed over, their dependents skipped.
    ids.forEach((w, i) => {
      if (live(w) && this.runnable(this.units.get(w))) return;
      nodes[i].state = 'skipped';
      for (const d of nodes[i].dependents) this.graphSkip(g, d.node, 'dependency-skipped');
    });
    this.graphAdvance(prun);
    return true;
  }

  /** Skips node `i` and everything downstream of it, a `skipped` event each (depth first). */
  graphSkip(g, i, reason) {
    const stack = [[i, reason]];
    while (stack.length > 0) {
      const [k, why] = stack.pop();
      const node = g.nodes[k];
      if (node.state !== 'pending') continue;
      node.state = 'skipped';
      for (const d of [...node.dependents].reverse()) stack.push([d.node, 'dependency-skipped']);
      // A worker released during the run is skipped with the rest, without an event (it is no unit any more).
      if (this.units.has(node.id)) this.emit(`skipped:${node.id}:${why}`);
    }
  }

  /** Starts every ready node (the last ready first); ends the run when nothing runs any more. */
  graphAdvance(prun) {
    const p = this.procs.get(prun);
    if (!p) return;
    const g = p.graph;
    while (g.ready.length > 0) {
      const i = g.ready.pop();
      const node = g.nodes[i];
      if (node.state !== 'pending') continue;
      node.state = 'running';
      g.running += 1;
      if (!this.startWorkerRun(node.id, { kind: 'process', prun })) {
        // Disabled or paused since the run began: not announced itself, its dependents are.
        g.running -= 1;
        node.state = 'skipped';
        for (const d of node.dependents) this.graphSkip(g, d.node, 'dependency-skipped');
      }
    }
    if (g.running === 0 && this.procs.has(prun)) {
      p.failed = g.failed;
      this.finishProcess(prun);
    }
  }

  graphWorkerDone(prun, ok, worker) {
    const g = this.procs.get(prun).graph;
    const i = g.nodes.findIndex((n) => n.id === worker);
    if (i < 0 || g.nodes[i].state !== 'running') return;
    g.running -= 1;
    if (ok) {
      g.nodes[i].state = 'done';
      const skip = [];
      for (const { node: d, conditional } of g.nodes[i].dependents) {
        const dependent = g.nodes[d];
        if (dependent.state !== 'pending') continue;
        // A condition nobody reported counts as false.
        if (!conditional || g.conditions.get(`${worker}>${dependent.id}`) === true) {
          if (--dependent.waitingOn === 0) g.ready.push(d);
        } else skip.push(d);
      }
      for (const d of skip) this.graphSkip(g, d, 'condition');
    } else {
      g.nodes[i].state = 'failed';
      if (g.failed === null) g.failed = worker;
      for (const d of g.nodes[i].dependents) this.graphSkip(g, d.node, 'dependency-failed');
    }
    this.graphAdvance(prun);
  }

  /** Whether a success of this attempt has conditions to evaluate: it is a graph node with a conditional dependent. */
  wantsConditions(run) {
    if (run.owner.kind !== 'process') return false;
    const p = this.procs.get(run.owner.prun);
    if (!p || !p.graph) return false;
    const node = p.graph.nodes.find((n) => n.id === run.id);
    return node !== undefined && node.dependents.some((d) => d.conditional);
  }

  /** The conditions on this worker's result, in the process's worker order, as JavaScript evaluates them. */
  evaluateConditions(run, result) {
    const unit = this.units.get(run.id);
    const process = this.units.get(unit.parent);
    if (!process) return;
    const p = this.procs.get(run.owner.prun);
    for (const w of process.specs) {
      for (const d of w.dependsOn || []) {
        // The condition of a dependent released since registration is not asked.
        if (d.id !== run.id || CONDITIONS[d.form] === undefined || !this.units.has(w.id)) continue;
        this.condLog.push(`cond:${w.id}<-${run.id}`);
        let holds = false;
        try {
          holds = Boolean(CONDITIONS[d.form](result));
        } catch {
          this.condLog.push(`thrown:${w.id}<-${run.id}`);
        }
        if (p && p.graph) p.graph.conditions.set(`${run.id}>${w.id}`, holds);
      }
    }
  }

  // --- scheduling ---------------------------------------------------------

  intervalPeriod(id) {
    const unit = this.units.get(id);
    if (!unit || unit.kind !== 'worker' || !this.started || !unit.enabled || !unit.cfg.runOnInterval) return null;
    const ms = unit.cfg.intervalMs;
    return ms !== undefined && ms > 0 ? ms : null;
  }

  reschedule(id) {
    const period = this.intervalPeriod(id);
    if (period === null) {
      this.unschedule(id);
      return;
    }
    const entry = this.intervals.get(id);
    if (entry) {
      // A new period applies from the time already scheduled on.
      entry.period = period;
      return;
    }
    const at = this.now + period;
    this.intervals.set(id, { timer: this.arm(at, { kind: 'interval', id }), at, period, queued: false });
  }

  unschedule(id) {
    const entry = this.intervals.get(id);
    if (entry) {
      this.cancel(entry.timer);
      this.intervals.delete(id);
    }
  }

  fireInterval(id) {
    const entry = this.intervals.get(id);
    entry.at += entry.period;
    entry.timer = this.arm(entry.at, { kind: 'interval', id });
    const unit = this.units.get(id);
    if (unit.status === 'paused') return;
    if (unit.activeRuns > 0) {
      const overlap = this.cfg(unit, 'overlap');
      if (overlap === 'skip') {
        this.emit(`skipped:${id}:overlap`);
        return;
      }
      if (overlap === 'queue') {
        entry.queued = true;
        return;
      }
    }
    this.startWorkerRun(id, { kind: 'scheduled' });
  }

  /** runLoopOnce(): due interval workers (not running, never run or last run at least an interval ago), then the sweep. */
  runLoopOnce(ticket) {
    const group = { ticket, pending: 1 };
    const due = this.order.filter((id) => {
      const unit = this.units.get(id);
      const ms = unit.cfg.intervalMs;
      return (
        unit.kind === 'worker' &&
        unit.cfg.runOnInterval === true &&
        this.runnable(unit) &&
        unit.activeRuns === 0 &&
        ms !== undefined &&
        ms > 0 &&
        (unit.lastRunAt === undefined || this.now - unit.lastRunAt >= ms)
      );
    });
    for (const id of due) {
      group.pending += 1;
      if (!this.startWorkerRun(id, { kind: 'ticket', ticket: group })) group.pending -= 1;
    }
    for (const id of this.sweepable()) {
      group.pending += 1;
      if (!this.startProcessRun(id, group)) group.pending -= 1;
    }
    this.done(group);
  }

  /** The processes a sweep runs: idle, enabled, not running. */
  sweepable() {
    return this.order.filter((id) => {
      const unit = this.units.get(id);
      return unit.kind === 'process' && unit.enabled && unit.status === 'idle' && unit.activeRuns === 0;
    });
  }

  fireSweep() {
    this.sweep = this.arm(this.sweep.at + this.loopInterval, { kind: 'sweep' });
    for (const id of [...this.order]) {
      const unit = this.units.get(id);
      if (unit && unit.kind === 'process' && unit.enabled && unit.status === 'idle' && unit.activeRuns === 0) {
        this.startProcessRun(id, null);
      }
    }
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.sweep = this.arm(this.now + this.loopInterval, { kind: 'sweep' });
    for (const id of this.order) this.reschedule(id);
  }

  stop(timeoutMs, ticket) {
    this.started = false;
    this.cancel(this.sweep);
    this.sweep = null;
    for (const id of [...this.intervals.keys()]) this.unschedule(id);
    if (!this.stopping) this.stopping = { tickets: [], deadline: null };
    this.stopping.tickets.push(ticket);
    if (timeoutMs !== undefined) {
      this.cancel(this.stopping.deadline);
      this.stopping.deadline = this.arm(this.now + timeoutMs, { kind: 'stop' });
      if (timeoutMs <= 0) this.forceStop();
    }
    // Runs waiting for a retry end at once (oldest first), as stopped.
    for (const [runId, run] of [...this.runs]) {
      if (run.delay !== null && this.runs.has(runId)) this.endRun(runId, { ok: false, code: 'ERR_STOPPED' });
    }
    this.checkStopDone();
  }

  checkStopDone() {
    if (!this.stopping || this.runs.size + this.procs.size > 0) return;
    this.cancel(this.stopping.deadline);
    for (const t of this.stopping.tickets) this.done(t);
    this.stopping = null;
  }

  forceStop() {
    this.forced = true;
    // The engine ends what is left in its own (hash) order.
    if (this.runs.size + this.procs.size > 1) this.unordered = true;
    for (const [prun, p] of [...this.procs]) {
      this.procs.delete(prun);
      this.cancel(p.waiting);
      const unit = this.units.get(p.id);
      unit.activeRuns -= 1;
      unit.hasError = true;
      this.settleStatus(unit, 'error');
      this.emit(`error:${p.id}`);
      for (const t of p.joined) this.done(t, { code: 'ERR_STOPPED', unitId: p.id });
      this.done(p.ticket, { code: 'ERR_STOPPED', unitId: p.id });
    }
    for (const runId of [...this.runs.keys()]) {
      if (this.runs.has(runId)) this.endRun(runId, { ok: false, code: 'ERR_STOPPED' });
    }
    this.forced = false;
    this.checkStopDone();
  }

  // --- time ---------------------------------------------------------------

  fire(t) {
    this.timers = this.timers.filter((x) => x !== t);
    switch (t.kind) {
      case 'timeout': {
        if (this.calls.get(t.call) !== t.runId) return;
        this.calls.delete(t.call);
        const run = this.runs.get(t.runId);
        run.timeout = null;
        run.call = null;
        this.attemptFailed(t.runId, 'ERR_TIMEOUT');
        return;
      }
      case 'retry':
        this.runs.get(t.runId).delay = null;
        this.beginAttempt(t.runId);
        return;
      case 'isolation': {
        const p = this.procs.get(t.prun);
        p.waiting = null;
        this.advanceProcess(t.prun);
        return;
      }
      case 'interval':
        this.fireInterval(t.id);
        return;
      case 'sweep':
        this.fireSweep();
        return;
      case 'stop':
        this.stopping.deadline = null;
        this.forceStop();
        return;
      default:
        throw new Error(`unknown timer ${t.kind}`);
    }
  }

  /** clock.advance(ms): every timer due on the way fires in time order; what it starts settles before the next. */
  advance(ms) {
    const target = this.now + ms;
    this.drain();
    for (;;) {
      const t = this.nextTimer();
      if (!t || t.at > target) break;
      this.now = t.at;
      // Everything due at this instant fires together, in the order armed.
      while (this.nextTimer() && this.nextTimer().at <= this.now) this.fire(this.nextTimer());
      this.drain();
    }
    this.now = target;
  }

  /** A hung attempt is settled by the test. */
  settle(k, ok) {
    const [inv] = this.hung.splice(k, 1);
    this.complete(inv.call, ok, 'settled');
    this.drain();
  }
}

module.exports = { Model, DELAY_FNS, CONDITIONS };
