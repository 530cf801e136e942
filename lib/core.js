// @ts-check
'use strict';

// What the parts of one manager share: the modules it is made of (the
// bridge to the engine, the unit objects, events, attempts, tickets and
// pools), whether it is closed, its stores, and registration (which pools
// use for their workers). The manager users hold is the public surface in
// front of it (manager.js); pools, stores and the manual clock are given
// this object, never the manager's internals.

const v = require('./validate');
const { closedError, fromNative } = require('./errors');
const { Bridge } = require('./bridge');
const { Events } = require('./events');
const { Units, workerSpec, emptyWorkerSpec, registerWorker, processSpec, plainCopy } = require('./units');
const { Attempts, Tickets } = require('./run-context');
const { Pools } = require('./pools');

/**
 * @typedef {import('./units').Unit} Unit
 * @typedef {import('./bridge').EngineOptions} EngineOptions
 * @typedef {import('./storage').Persistence} Persistence
 * @typedef {import('./durable-store').DurableStore} DurableStore
 */

const noop = () => {};
/** @type {number[]} a worker's "slots of its process's workers" (never written) */
const NO_SLOTS = [];

class Core {
  /** Set when close() is called: from then on every call but lookups is refused. */
  #closed = false;
  /** @type {DurableStore | null} the durable store (options.storage: SQLite or PostgreSQL) */
  #store = null;
  /** @type {Persistence | null} set by useStorage */
  #persistence = null;
  /**
   * @type {import('./native').JsWorkerSpec | null} the spec object a
   * standalone worker's registration fills, made once; null while a
   * registration uses it (a listener that registers a unit meanwhile
   * gets a new one)
   */
  #workerSpec = emptyWorkerSpec();
  /** @type {any} whether `u` is the object registered under its id (validate.js declares it without its parameter) */
  #isCurrent = (/** @type {Unit} */ u) => this.units.at(this.units.slot(u.id)) === u;

  /**
   * @param {import('node:events').EventEmitter} emitter the manager (its listeners get the events)
   * @param {EngineOptions} engineOptions
   * @param {() => object} engineStats what an `engine:stats` milestone carries
   */
  constructor(emitter, engineOptions, engineStats) {
    this.events = new Events(emitter);
    this.units = new Units(this.events);
    this.bridge = new Bridge(engineOptions);
    this.tickets = new Tickets();
    this.pools = new Pools();
    this.attempts = new Attempts({
      bridge: this.bridge,
      units: this.units,
      events: this.events,
      pools: this.pools,
      emitMilestone: (milestoneId, payload) => this.emitMilestone(milestoneId, payload),
    });
    this.bridge.connect({
      units: this.units,
      events: this.events,
      attempts: this.attempts,
      tickets: this.tickets,
      pools: this.pools,
      engineStats,
    });
  }

  get closed() {
    return this.#closed;
  }

  /** From now on every call but lookups is refused with ERR_CLOSED. */
  markClosed() {
    this.#closed = true;
  }

  /**
   * Throws ERR_CLOSED once close() was called.
   * @param {string} method
   */
  open(method) {
    if (this.#closed) throw closedError(method);
  }

  /** Drains what the engine produced and carries it out. */
  sync() {
    this.bridge.pump();
  }

  get store() {
    return this.#store;
  }

  /** @param {DurableStore} store */
  setStore(store) {
    this.#store = store;
    this.pools.adoptFrom((taskId) => store.adoptRequeued(taskId));
  }

  get persistence() {
    return this.#persistence;
  }

  /**
   * useStorage: state changes are saved through `persistence` from now on.
   * @param {Persistence} persistence
   */
  usePersistence(persistence) {
    this.#persistence = persistence;
    this.bridge.tellChanges(persistence);
  }

  /**
   * The promise a state method returns: resolved at once, or after the save
   * that includes its change when storage is in use.
   * @returns {Promise<void>}
   */
  persisted() {
    if (this.#store) return this.#store.committed();
    if (!this.#persistence) return Promise.resolve();
    return this.#persistence.persisted().then(noop);
  }

  /**
   * Emits a milestone after everything the engine produced before it
   * (manager.emitMilestone and ctx.emitMilestone).
   * @param {unknown} milestoneId
   * @param {unknown} payload
   */
  emitMilestone(milestoneId, payload = {}) {
    this.open('emitMilestone');
    // Milestone ids stay in JavaScript: any non-empty string will do.
    v.check('emitMilestone', 'milestoneId', milestoneId, (/** @type {unknown} */ x) => typeof x === 'string' && x.length > 0, 'a non-empty string');
    this.sync();
    this.events.milestone(/** @type {string} */ (milestoneId), payload);
  }

  /**
   * Registers a worker or a process (with its workers); re-registering an
   * id replaces it in place. `attach(slot)`, when given, is called once the
   * unit has its slot and before the SQLite store looks at it: a pool
   * attaches its worker there, so the store sees a pool worker as one.
   * @param {Unit} unit
   * @param {((slot: number) => void) | null} attach
   */
  register(unit, attach) {
    const kind = v.validateUnit('registerUnit', unit, this.#isCurrent);
    if (kind !== 'worker') return this.#register(unit, kind, processSpec(unit), attach);
    // A worker's spec is the one object used again: registering 100,000
    // workers no longer leaves 100,000 specs for the collector.
    const reused = this.#workerSpec;
    this.#workerSpec = null;
    const spec = workerSpec(unit, reused ?? undefined);
    try {
      return this.#register(unit, kind, spec, attach);
    } finally {
      if (reused !== null) {
        // Nothing of this unit kept.
        spec.id = '';
        spec.status = spec.overlap = spec.dependsOn = spec.schedule = undefined;
        this.#workerSpec = spec;
      }
    }
  }

  /**
   * register's steps once the unit is validated and converted.
   * @param {Unit} unit
   * @param {import('./units').UnitKind} kind
   * @param {any} spec a JsWorkerSpec or a JsProcessSpec, as `kind` says
   * @param {((slot: number) => void) | null} attach
   */
  #register(unit, kind, spec, attach) {
    const units = this.units;
    const native = this.bridge.native;
    // Repeated worker ids and unknown dependencies are the engine's check,
    // made before anything changes (the runs of replaced units included).
    // A standalone worker without dependencies gives the engine nothing to
    // refuse: the check (a conversion of the spec) is skipped for it. A
    // process none of whose ids is registered replaces nothing (no runs to
    // end, no pool worker to refuse): the engine checks it as it registers
    // it, and its spec is converted once.
    let problem = null;
    if (kind === 'process') {
      const fresh = units.slot(unit.id) < 0 && unit.workers.every((/** @type {Unit} */ w) => units.slot(w.id) < 0);
      if (!fresh) problem = native.checkProcess(spec);
    } else if (spec.dependsOn !== undefined && spec.dependsOn.length > 0) {
      problem = native.checkWorker(spec);
    }
    if (problem) throw v.registrationError('registerUnit', unit, problem);
    if (attach === null) {
      this.#refusePoolWorkerId(unit.id, 'unit.id');
      if (kind === 'process') unit.workers.forEach((/** @type {Unit} */ w, /** @type {number} */ k) => this.#refusePoolWorkerId(w.id, `unit.workers[${k}].id`));
    }
    // The runs in flight of an object being replaced end on it, with
    // ERR_RELEASED, before the new object takes its place.
    this.#endRunsOfReplaced(unit.id);
    if (kind === 'process') for (const w of unit.workers) this.#endRunsOfReplaced(w.id);
    /** @type {number} */
    let slot;
    /** @type {number[]} the process's workers' slots */
    let slots = NO_SLOTS;
    this.acknowledgeReleased();
    /** @type {import('./native').RegistrationProblem | null | undefined} */
    let refused = null;
    try {
      if (kind === 'worker') slot = registerWorker(this.bridge.handle, spec);
      else {
        const registered = native.registerProcess(spec);
        refused = registered.problem;
        [slot, ...slots] = registered.slots;
      }
    } catch (e) {
      throw fromNative(e, /** @type {any} */ (TypeError));
    }
    if (refused) throw v.registrationError('registerUnit', unit, refused);
    units.adopt(slot, unit, kind);
    if (kind === 'process') unit.workers.forEach((/** @type {Unit} */ w, /** @type {number} */ k) => units.adopt(slots[k], w, 'worker'));
    const persistence = this.#persistence;
    if (persistence) {
      persistence.hydrate(unit);
      if (kind === 'process') for (const w of unit.workers) persistence.hydrate(w);
      this.bridge.markChanged();
    }
    if (attach !== null) attach(slot);
    if (this.#store) this.#store.registered(unit, kind);
    this.sync();
    return unit;
  }

  /**
   * A unit of the user's cannot replace a pool worker: the worker belongs
   * to its pool, which holds the object and dispatches tasks to it.
   * @param {unknown} id
   * @param {string} field
   */
  #refusePoolWorkerId(id, field) {
    const slot = this.units.slot(id);
    if (slot < 0 || !this.bridge.native.isPoolWorker(slot)) return;
    const owner = this.pools.ownerOf(id);
    throw new TypeError(
      `registerUnit: ${field} must not be the id of a pool worker; pool workers belong to their pool (got "${id}", a worker of pool "${owner ? owner.name : '?'}")`,
    );
  }

  /** @param {unknown} id */
  #endRunsOfReplaced(id) {
    if (typeof id === 'string' && this.units.slot(id) >= 0 && this.bridge.native.endRuns(id)) this.sync();
  }

  /**
   * The registered units in registration order, of `kind` (all when omitted).
   * @param {import('./units').UnitKind} [kind]
   */
  listUnits(kind) {
    return this.units.list(this.bridge.native.orderedSlots(), kind);
  }

  /** Deep copies of every unit without functions. Never throws. */
  snapshot() {
    return this.listUnits().map((u) => plainCopy(u));
  }

  /** Tells the engine which released slots may name new units (see the RELEASED record). */
  acknowledgeReleased() {
    if (this.units.releasedCount === 0) return;
    this.bridge.native.acknowledgeReleased(this.units.takeReleased());
  }
}

module.exports = { Core };
