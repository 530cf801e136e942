'use strict';

// The worker pool's part of the model-based test (SPEC §9): a reference
// model of one pool's queue — priority then arrangement order, a paused task
// blocking the tasks behind it, cancel, resize (idle workers only, the last
// ones first), start/stop, and the pool workers' own state as units (paused
// by stopAll or by hand, disabled: such a worker takes no task, and the end
// of its task leaves it as it is) — and the commands that drive `useWorkerPool`
// and the model alike. Tasks settle as workers' runs do in ./commands.js:
// all synchronously, all through settled promises, or when a `settle`
// command says so.

const fc = require('fast-check');
const { createSynchronikManager } = require('../..');
const { deferred } = require('../helpers');

const NAMES = ['t1', 't2', 't3', 't4', 't5'];

class PoolModel {
  constructor(size) {
    this.started = false;
    this.managerStarted = false;
    this.workers = [];
    this.free = [];
    this.busy = new Map();
    this.queue = [];
    /** Each pool worker's status and enabled flag, as a unit. */
    this.status = new Map();
    this.enabled = new Map();
    /** Named tasks that failed or were dropped by a stop: with no `task` listener, the first is printed. */
    this.unobservedFailures = 0;
    this.nextWorker = 1;
    this.nextArrangement = 1;
    /** Every task added, in order: { name, priority, arrangementId, status, behavior }. */
    this.tasks = [];
    this.log = [];
    this.hung = [];
    this.invocations = [];
    this.grow(size);
  }

  grow(size) {
    while (this.workers.length < size) {
      const id = `pool-worker-${this.nextWorker++}`;
      this.workers.push(id);
      this.free.push(id);
      this.status.set(id, 'idle');
      this.enabled.set(id, true);
      this.dispatch();
    }
  }

  sorted() {
    return [...this.queue].sort((a, b) => b.priority - a.priority || a.arrangementId - b.arrangementId);
  }

  runnable(worker) {
    return this.enabled.get(worker) && this.status.get(worker) !== 'paused';
  }

  dispatch() {
    while (this.started && this.queue.length > 0 && this.free.some((w) => this.runnable(w))) {
      let pick = null;
      for (const t of this.sorted()) {
        if (t.status === 'paused') break; // blocks every task behind it
        pick = t;
        break;
      }
      if (!pick) return;
      // The first free worker that may run; a paused or disabled one stays free.
      const worker = this.free.find((w) => this.runnable(w));
      this.free = this.free.filter((w) => w !== worker);
      this.queue = this.queue.filter((t) => t !== pick);
      pick.status = 'running';
      this.status.set(worker, 'running');
      this.busy.set(worker, pick);
      this.invocations.push({ task: pick, worker });
    }
  }

  drain() {
    while (this.invocations.length > 0) {
      const wave = this.invocations;
      this.invocations = [];
      const outcomes = [];
      for (const inv of wave) {
        this.log.push(inv.task.name);
        if (inv.task.behavior.hang) this.hung.push(inv);
        else outcomes.push([inv, !inv.task.behavior.fail]);
      }
      for (const [inv, ok] of outcomes) this.done(inv, ok);
    }
  }

  done(inv, ok) {
    inv.task.status = ok ? 'completed' : 'error';
    if (!ok) this.unobservedFailures += 1;
    this.busy.delete(inv.worker);
    // A worker paused or given another status meanwhile keeps it.
    if (this.status.get(inv.worker) === 'running') this.status.set(inv.worker, 'idle');
    if (this.workers.includes(inv.worker)) this.free.push(inv.worker);
    this.dispatch();
  }

  add(name, priority, behavior) {
    if (this.queue.some((t) => t.name === name)) return null;
    const task = { name, priority, arrangementId: this.nextArrangement++, status: 'idle', behavior };
    this.tasks.push(task);
    this.queue.push(task);
    this.dispatch();
    return task;
  }

  pending(name) {
    return this.sorted().find((t) => t.name === name);
  }

  pause(name) {
    const t = this.pending(name);
    if (t && t.status !== 'paused') t.status = 'paused';
  }

  resume(name) {
    const t = this.pending(name);
    if (t && t.status === 'paused') {
      t.status = 'idle';
      this.dispatch();
    }
  }

  cancel(name) {
    for (const t of this.queue) if (t.name === name) t.status = 'cancelled';
    this.queue = this.queue.filter((t) => t.name !== name);
    this.dispatch();
  }

  resize(size) {
    if (size > this.workers.length) {
      this.grow(size);
      return;
    }
    const idle = [...this.workers].reverse().filter((w) => !this.busy.has(w)).slice(0, this.workers.length - size);
    this.workers = this.workers.filter((w) => !idle.includes(w));
    this.free = this.free.filter((w) => !idle.includes(w));
  }

  dropQueued() {
    this.unobservedFailures += this.queue.length;
    for (const t of this.queue) t.status = 'cancelled';
    this.queue = [];
  }

  /** updateStatus on a pool worker; a worker no longer paused takes the next task. */
  setStatus(worker, status) {
    if (!this.workers.includes(worker) || this.status.get(worker) === status) return;
    this.status.set(worker, status);
    this.dispatch();
  }

  setEnabled(worker, enabled) {
    if (!this.workers.includes(worker)) return;
    this.enabled.set(worker, enabled);
    this.dispatch();
  }

  stopAll() {
    for (const w of this.workers) this.status.set(w, 'paused');
  }

  startAll() {
    // Every paused worker is idle again before any takes a task.
    for (const w of this.workers) if (this.status.get(w) === 'paused') this.status.set(w, 'idle');
    this.dispatch();
  }

  setStarted(started) {
    this.started = started;
    if (started) this.dispatch();
  }

  simulateRun() {
    const names = this.sorted().map((t) => t.name);
    if (names.length === 0) return 'No tasks pending for execution.';
    return `Execution sequence: ${names.map((n, i) => `${i + 1}. ${n}`).join(', ')}`;
  }

  settle(k, ok) {
    const [inv] = this.hung.splice(k, 1);
    this.done(inv, ok);
    this.drain();
  }
}

class PoolWorld {
  constructor({ asyncRuns, size }) {
    this.asyncRuns = asyncRuns;
    this.m = createSynchronikManager({ clock: 'manual', watcherInterval: 1e9 });
    this.pool = this.m.useWorkerPool(size);
    this.log = [];
    this.hung = [];
    /** The task objects addTask returned (null for a refused one), as the model's `tasks` plus nulls. */
    this.tasks = [];
  }

  execute(name, behavior) {
    return () => {
      this.log.push(name);
      if (behavior.hang) {
        const d = deferred();
        this.hung.push(d);
        return d.promise;
      }
      if (this.asyncRuns) return behavior.fail ? Promise.reject(new Error(`${name} failed`)) : Promise.resolve(name);
      if (behavior.fail) throw new Error(`${name} failed`);
      return name;
    };
  }
}

function comparePool(model, world) {
  const { pool } = world;
  expect(world.log).toEqual(model.log);
  expect(world.hung.length).toBe(model.hung.length);
  expect(world.tasks.filter(Boolean).map((t) => [t.name, t.arrangementId, t.status])).toEqual(
    model.tasks.map((t) => [t.name, t.arrangementId, t.status]),
  );
  expect(pool.simulateRun()).toBe(model.simulateRun());
  expect(pool.getPoolWorkers().map((w) => w.id)).toEqual(model.workers);
  for (const id of model.workers) {
    const task = model.busy.get(id);
    expect([id, pool.getWorkerStatus(id)]).toEqual([id, expect.objectContaining({ currentTask: task ? task.name : undefined, isIdle: !task })]);
    const unit = world.m.getUnitById(id);
    expect([id, unit.status, world.m.getUnitStatus(id), unit.enabled]).toEqual([id, model.status.get(id), model.status.get(id), model.enabled.get(id)]);
  }
}

class PoolCommand {
  check() {
    return true;
  }

  async run(model, world) {
    this.apply(model, world);
    model.drain();
    await world.m.clock.advance(0);
    comparePool(model, world);
  }
}

class AddTask extends PoolCommand {
  constructor(name, priority, behavior) {
    super();
    Object.assign(this, { name, priority, behavior });
  }

  apply(model, world) {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const input = { name: this.name, execute: world.execute(this.name, this.behavior) };
      if (this.priority !== undefined) input.priority = this.priority;
      const task = world.pool.addTask(input);
      const expected = model.add(this.name, this.priority || 0, this.behavior);
      expect(task === null).toBe(expected === null);
      if (task) world.tasks.push(task);
      expect(warn.mock.calls).toEqual(expected === null ? [[`Task with name "${this.name}" already exists.`]] : []);
    } finally {
      warn.mockRestore();
    }
  }

  toString() {
    return `addTask(${this.name}, priority ${this.priority}, ${JSON.stringify(this.behavior)})`;
  }
}

class ByName extends PoolCommand {
  constructor(method, name) {
    super();
    Object.assign(this, { method, name });
  }

  apply(model, world) {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      world.pool[this.method](this.name);
    } finally {
      warn.mockRestore();
    }
    model[{ pauseTask: 'pause', resumeTask: 'resume', cancelTask: 'cancel' }[this.method]](this.name);
  }

  toString() {
    return `${this.method}(${this.name})`;
  }
}

class Resize extends PoolCommand {
  constructor(size) {
    super();
    this.size = size;
  }

  apply(model, world) {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      world.pool.resize(this.size);
    } finally {
      warn.mockRestore();
    }
    model.resize(this.size);
  }

  toString() {
    return `resize(${this.size})`;
  }
}

class StartStop extends PoolCommand {
  constructor(target, started) {
    super();
    Object.assign(this, { target, started });
  }

  apply(model, world) {
    if (this.target === 'pool') {
      if (this.started) world.pool.start();
      else world.pool.stop();
      model.setStarted(this.started);
      return;
    }
    if (this.started) world.m.start();
    else {
      void world.m.stop();
      // The manager's stop() drops the tasks queued in memory (cancelled).
      model.dropQueued();
    }
    // The manager's start() starts its pools; it is idempotent, so a second
    // one while started changes nothing (a pool stopped on its own stays stopped).
    if (!(this.started && model.managerStarted)) model.setStarted(this.started);
    model.managerStarted = this.started;
  }

  toString() {
    return `${this.target}.${this.started ? 'start' : 'stop'}()`;
  }
}

/** The manager's state methods on the pool's workers (as units). */
class WorkerState extends PoolCommand {
  constructor(method, k, arg) {
    super();
    Object.assign(this, { method, k, arg });
  }

  id() {
    return `pool-worker-${this.k}`;
  }

  apply(model, world) {
    const { m } = world;
    switch (this.method) {
      case 'stopAll':
      case 'startAll':
        m[this.method]();
        model[this.method]();
        return;
      case 'updateStatus':
        m.updateStatus(this.id(), this.arg);
        model.setStatus(this.id(), this.arg);
        return;
      default:
        m[this.method](this.id());
        model.setEnabled(this.id(), this.method === 'enableWorker');
    }
  }

  toString() {
    return ['stopAll', 'startAll'].includes(this.method) ? `${this.method}()` : `${this.method}(${this.id()}${this.arg ? `, ${this.arg}` : ''})`;
  }
}

class SettleTask extends PoolCommand {
  constructor(k, ok) {
    super();
    Object.assign(this, { k, ok });
  }

  check(model) {
    return model.hung.length > 0;
  }

  async run(model, world) {
    const k = this.k % world.hung.length;
    const [d] = world.hung.splice(k, 1);
    if (this.ok) d.resolve('settled');
    else d.reject(new Error('settled with a failure'));
    await world.m.clock.advance(0);
    model.settle(k, this.ok);
    comparePool(model, world);
  }

  toString() {
    return `settle(hung task #${this.k}, ${this.ok ? 'resolve' : 'reject'})`;
  }
}

const name = fc.constantFrom(...NAMES);
const taskBehavior = fc.record({
  fail: fc.boolean(),
  hang: fc.oneof({ weight: 1, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const poolCommands = [
  ...Array(4).fill(
    fc
      .tuple(name, fc.option(fc.integer({ min: -1, max: 2 }), { nil: undefined }), taskBehavior)
      .map(([n, p, b]) => new AddTask(n, p, b)),
  ),
  fc.tuple(fc.constantFrom('pauseTask', 'resumeTask', 'cancelTask'), name).map(([method, n]) => new ByName(method, n)),
  fc.tuple(fc.constantFrom('pauseTask', 'resumeTask'), name).map(([method, n]) => new ByName(method, n)),
  fc.integer({ min: 1, max: 4 }).map((size) => new Resize(size)),
  fc.tuple(fc.constantFrom('pool', 'manager'), fc.boolean()).map(([target, started]) => new StartStop(target, started)),
  fc.constantFrom('stopAll', 'startAll').map((method) => new WorkerState(method)),
  fc
    .tuple(fc.constantFrom('updateStatus', 'disableWorker', 'enableWorker'), fc.integer({ min: 1, max: 4 }), fc.constantFrom('idle', 'running', 'paused', 'completed', 'error'))
    .map(([method, k, status]) => new WorkerState(method, k, method === 'updateStatus' ? status : undefined)),
  ...Array(3).fill(fc.tuple(fc.nat(), fc.boolean()).map(([k, ok]) => new SettleTask(k, ok))),
];

module.exports = { PoolModel, PoolWorld, poolCommands };
