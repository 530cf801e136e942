// @ts-check
'use strict';

// The manager users hold: an EventEmitter in front of one native engine.
//
// This file is the public surface: it validates arguments and carries out
// each method through the modules the manager is made of (see core.js):
// bridge.js (the engine, its records, keep-alive), units.js (the users'
// objects by slot), events.js (listeners, hooks, milestones),
// run-context.js (attempts and run requests), pools.js and pool.js (worker
// pools), clock.js (the manual clock), stats.js (run statistics),
// storage.js and durable-store.js (stores). Every decision about when and
// whether something runs is made by the engine.

const { EventEmitter } = require('node:events');
const util = require('node:util');
const timers = require('node:timers');

const { describe, fromNative, closedError, SynchronikError } = require('./errors');
const v = require('./validate');
const { DEFAULTS } = require('./generated/vocabulary');
const { WorkerPool, poolInternals } = require('./pool');
const { Persistence, validateAdapter } = require('./storage');
const { DurableStore, parseStorageOption, parseHistoryQuery, noStoreError } = require('./durable-store');
const { Core } = require('./core');
const { ManualClock, parseClockOption } = require('./clock');
const { LagSampler } = require('./lag');
const { Dashboards } = require('./dashboard-server');
const { carryStats, ensureMeta } = require('./stats');
const { patchSpec } = require('./units');

/**
 * @typedef {import('./units').Unit} Unit
 * @typedef {import('./units').UnitKind} UnitKind
 */

/** What a run method may run: engineRun's `kind`. */
const RUN_KINDS = { worker: 1, process: 2 };
/** How long a stop() without a time limit waits before it warns that it is still waiting, in ms. */
const STOP_WARNING_MS = 10_000;
const noop = () => {};

/**
 * Runs `fn` for a method that returns a promise: bad arguments reject
 * instead of throwing synchronously.
 * @template T
 * @param {() => T | Promise<T>} fn
 * @returns {Promise<T>}
 */
function asPromise(fn) {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Fields the engine owns on a unit object; `updateStatus` payloads cannot set them. */
const ENGINE_FIELDS = new Set(['id', 'status', 'enabled', 'meta', 'lastRun', 'processId', 'workers']);

/**
 * The error of a method given the id of no registered unit.
 * @param {string} method
 * @param {string} id
 */
function unknownUnit(method, id) {
  return new SynchronikError(`${method}: no unit is registered with id "${id}"`, 'ERR_UNKNOWN_UNIT');
}

class SynchronikManager extends EventEmitter {
  /** The parts the manager is made of. */
  #core;
  #lag;
  /** The web dashboards this manager serves (serveDashboard). */
  #dashboards;
  /** @type {import('./threads').ThreadPools | null} the thread pools, once one was made */
  #threads = null;
  /** @type {NodeJS.CpuUsage | null} */
  #lastCpu = null;
  #lastCpuAt = 0;
  /** @type {Promise<void> | null} what close() returned */
  #closing = null;

  /** @param {Record<string, any>} options */
  constructor(options = {}) {
    super();
    v.validateManagerOptions(options);
    const clock = parseClockOption(options.clock);
    const storage = options.storage !== undefined ? parseStorageOption(options.storage) : null;
    this.options = { loopInterval: DEFAULTS.loopInterval, watcherInterval: DEFAULTS.watcherInterval, ...options };
    const core = new Core(
      this,
      {
        manualClock: clock.manual,
        manualStartMs: clock.startMs,
        loopIntervalMs: this.options.loopInterval,
        watcherIntervalMs: this.options.watcherInterval,
        stallThresholdMs: options.stallThresholdMs,
        autoUnpauseMs: options.autoUnpauseMs,
        releaseIdleAfterMs: options.releaseIdleAfterMs,
        statsIntervalMs: options.statsEmissionIntervalMs,
        unitMetrics: options.metrics !== undefined && options.metrics.unitLabels === true,
      },
      () => this.getEngineStats(),
    );
    this.#core = core;
    this.#lag = new LagSampler(core.bridge.liveness);
    this.#dashboards = new Dashboards(core.bridge, this.#lag, this);
    if (clock.manual) this.clock = new ManualClock(core, clock.startMs);
    // The durable store (options.storage), opened now so that a bad file
    // or an unreachable server fails here.
    if (storage) {
      try {
        core.setStore(new DurableStore(core, storage));
      } catch (e) {
        core.bridge.dispose();
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------

  /**
   * Listens to every event; returns the unsubscribe function.
   * @param {(event: any) => void} listener
   */
  subscribeToEvents(listener) {
    return this.#core.events.subscribe(listener);
  }

  /**
   * Calls `handler(milestoneId, payload)` for every milestone.
   * @param {(milestoneId: string, payload: unknown) => void} handler
   */
  onMilestone(handler) {
    return this.#core.events.listen('onMilestone', 'milestone', handler, (fn) => (e) => fn(e.milestoneId, e.payload));
  }

  /**
   * Calls `handler(event)` for every `start` event.
   * @param {(event: any) => void} handler
   */
  onStart(handler) {
    return this.#core.events.listen('onStart', 'start', handler, (fn) => (e) => fn(e));
  }

  /**
   * Calls `handler(event)` for every `complete` event.
   * @param {(event: any) => void} handler
   */
  onComplete(handler) {
    return this.#core.events.listen('onComplete', 'complete', handler, (fn) => (e) => fn(e));
  }

  /**
   * Calls `handler(event)` for every `error` event.
   * @param {(event: any) => void} handler
   */
  onError(handler) {
    return this.#core.events.listen('onError', 'error', handler, (fn) => (e) => fn(e));
  }

  /**
   * Emits a milestone event after everything the engine produced before it.
   * @param {string} milestoneId
   * @param {unknown} [payload]
   */
  emitMilestone(milestoneId, payload = {}) {
    this.#core.emitMilestone(milestoneId, payload);
  }

  // ---------------------------------------------------------------------
  // Registration and lookup
  // ---------------------------------------------------------------------

  /**
   * Registers a worker or a process (with its workers); re-registering an id replaces it in place.
   * @param {Unit} unit
   */
  registerUnit(unit) {
    const core = this.#core;
    core.open('registerUnit');
    return core.register(unit, null);
  }

  /**
   * Removes a unit; a running one has its signal aborted. Unknown ids are ignored.
   * @param {string} id
   */
  releaseUnit(id) {
    const core = this.#core;
    core.open('releaseUnit');
    v.validateId('releaseUnit', id);
    const pool = core.pools.ownerOf(id);
    if (pool) {
      throw new TypeError(
        `releaseUnit: id must not name a worker of a pool; remove pool workers with pool.resize() (got "${id}", a worker of pool "${pool.name}")`,
      );
    }
    core.bridge.native.release(id);
    core.sync();
    // Told now and then without a registration too, so that the engine can
    // shrink its tables when units only go.
    if (core.units.releasedCount >= 1024) core.acknowledgeReleased();
  }

  /** @param {string} id */
  getUnitById(id) {
    return this.#core.units.byId(id);
  }

  /** @param {string} id */
  getWorkerById(id) {
    return this.#core.units.byId(id, 'worker');
  }

  /** @param {string} id */
  getProcessById(id) {
    return this.#core.units.byId(id, 'process');
  }

  /** @param {string} id */
  getUnitStatus(id) {
    const unit = this.getUnitById(id);
    return unit ? unit.status : undefined;
  }

  listUnits() {
    return this.#core.listUnits();
  }

  listWorkers() {
    return this.#core.listUnits('worker');
  }

  listProcesses() {
    return this.#core.listUnits('process');
  }

  /** Deep copies of every unit without functions. Never throws. */
  getRegistrySnapshot() {
    return this.#core.snapshot();
  }

  // ---------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------

  /**
   * Sets a unit's status. `options.payload` is merged into the unit (as in
   * 2.3), so it shows in the `updated` event; a payload `error` with status
   * 'error' becomes the unit's error and is announced by an `error` event.
   * @param {string} id
   * @param {string} status
   * @param {{ payload?: Record<string, unknown> }} [options]
   */
  updateStatus(id, status, options) {
    return asPromise(() => {
      const core = this.#core;
      core.open('updateStatus');
      v.validateId('updateStatus', id);
      v.validateStatus('updateStatus', status);
      if (options !== undefined && !v.isObject(options)) throw v.fail('updateStatus', 'options', 'an object', options);
      const payload = options ? options.payload : undefined;
      if (payload !== undefined && !v.isObject(payload)) throw v.fail('updateStatus', 'options.payload', 'an object', payload);
      if (payload !== undefined) v.refuseProtoKey('updateStatus', 'options.payload', payload);
      const unit = this.getUnitById(id);
      if (!unit) return;
      if (!payload) {
        core.bridge.native.updateStatus(id, status);
        core.sync();
        return core.persisted();
      }
      // Settings in the payload go through the same validation and reach
      // the engine like a config change; other keys are merged onto the
      // unit (as in 2.3); fields the engine owns are left alone.
      const settings = {};
      const extra = {};
      for (const key of Object.keys(payload)) {
        if (v.SETTINGS.has(key)) v.setField(settings, key, payload[key]);
        else if (!ENGINE_FIELDS.has(key)) v.setField(extra, key, payload[key]);
      }
      const kind = core.units.kindAt(core.units.slot(id));
      v.validatePatch('updateStatus', kind, settings, 'options.payload');
      if (kind === 'worker') v.validatePatchedInterval('updateStatus', unit, settings, 'options.payload');
      Object.assign(unit, extra);
      this.#applyConfig(id, unit, { ...settings, status });
      return core.persisted();
    });
  }

  /**
   * Changes a unit's settings (hot swap): they apply from its next attempt.
   * @param {string} id
   * @param {Record<string, unknown>} config
   */
  updateUnitConfig(id, config) {
    return this.#updateConfig('updateUnitConfig', id, config);
  }

  /**
   * @param {string} id
   * @param {Record<string, unknown>} config
   */
  updateWorkerConfig(id, config) {
    return this.#updateConfig('updateWorkerConfig', id, config);
  }

  /**
   * @param {string} id
   * @param {Record<string, unknown>} config
   */
  updateProcessConfig(id, config) {
    return this.#updateConfig('updateProcessConfig', id, config);
  }

  /**
   * @param {string} method
   * @param {string} id
   * @param {Record<string, unknown>} config
   */
  #updateConfig(method, id, config) {
    return asPromise(() => {
      const core = this.#core;
      core.open(method);
      v.validateId(method, id);
      if (!v.isObject(config)) throw v.fail(method, 'config', 'an object', config);
      const unit = this.getUnitById(id);
      if (!unit) return;
      const kind = core.units.kindAt(core.units.slot(id));
      v.validatePatch(method, kind, config);
      if (kind === 'worker') v.validatePatchedInterval(method, unit, config);
      this.#applyConfig(id, unit, config);
      return core.persisted();
    });
  }

  /**
   * Applies a validated config change to the object and the engine.
   * @param {string} id
   * @param {Unit} unit
   * @param {Record<string, any>} config
   */
  #applyConfig(id, unit, config) {
    const core = this.#core;
    const { status, enabled, meta, ...rest } = config;
    Object.assign(unit, rest);
    if (meta !== undefined) {
      // The engine's statistics stay: a new meta object carries them on.
      unit.meta = carryStats(meta, unit.meta);
      ensureMeta(unit);
      if (core.store) core.store.metaChanged(unit);
    }
    const patch = patchSpec(config);
    if (status !== undefined) patch.status = status;
    core.bridge.native.updateConfig(id, patch);
    core.sync();
  }

  /**
   * @param {string} method
   * @param {string} id
   * @param {boolean} enabled
   */
  #setEnabled(method, id, enabled) {
    return asPromise(() => {
      const core = this.#core;
      core.open(method);
      v.validateId(method, id);
      core.bridge.native.setEnabled(id, enabled);
      core.sync();
      return core.persisted();
    });
  }

  /** @param {string} id */
  enableWorker(id) {
    return this.#setEnabled('enableWorker', id, true);
  }

  /** @param {string} id */
  disableWorker(id) {
    return this.#setEnabled('disableWorker', id, false);
  }

  /** @param {string} id */
  enableProcess(id) {
    return this.#setEnabled('enableProcess', id, true);
  }

  /** @param {string} id */
  disableProcess(id) {
    return this.#setEnabled('disableProcess', id, false);
  }

  /** @param {string} id */
  enableUnit(id) {
    return this.#setEnabled('enableUnit', id, true);
  }

  /** @param {string} id */
  disableUnit(id) {
    return this.#setEnabled('disableUnit', id, false);
  }

  /**
   * Disables a worker so that it is not run again.
   * @param {string} id
   */
  stopWorkerById(id) {
    return this.#setEnabled('stopWorkerById', id, false);
  }

  /** Every paused unit becomes idle. */
  startAll() {
    const core = this.#core;
    core.open('startAll');
    core.bridge.native.startAll();
    core.sync();
  }

  /** Every unit becomes paused. */
  stopAll() {
    const core = this.#core;
    core.open('stopAll');
    core.bridge.native.stopAll();
    core.sync();
  }

  // ---------------------------------------------------------------------
  // Execution
  // ---------------------------------------------------------------------

  /**
   * Runs one worker now; resolves when its run ended (never rejects for a failed run).
   * @param {string} id
   */
  runWorkerById(id) {
    return runById(this.#core, 'runWorkerById', id, 'worker', true);
  }

  /**
   * Runs a worker or a process now; resolves when its run ended, never rejects for a failed run.
   * @param {string} id
   */
  runUnitById(id) {
    return runById(this.#core, 'runUnitById', id, undefined, true);
  }

  /**
   * Runs a process now by its run mode. Rejects with a SynchronikError naming
   * the worker when a sequential or isolated run fails.
   * @param {string} id
   */
  runProcessById(id) {
    return runById(this.#core, 'runProcessById', id, 'process', false);
  }

  /**
   * One scheduler sweep now: due interval workers and idle enabled
   * processes. Resolves when the runs it started have ended.
   */
  runLoopOnce() {
    return asPromise(() => {
      const core = this.#core;
      core.open('runLoopOnce');
      const runs = Array.from(core.bridge.native.runLoopOnce(), (t) => core.tickets.await(t, true));
      core.sync();
      return Promise.all(runs).then(noop);
    });
  }

  /**
   * The next `count` times (default 5) worker `id` runs by its schedule or
   * its interval, from now on the manager's clock; `[]` for one that is
   * not scheduled. A paused schedule shows the times it would have.
   * @param {string} id
   * @param {number} [count]
   * @returns {Date[]}
   */
  nextRuns(id, count = 5) {
    const core = this.#core;
    core.open('nextRuns');
    v.validateId('nextRuns', id);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw v.fail('nextRuns', 'count', 'an integer from 1 to 1000', count);
    const times = core.bridge.native.nextRuns(id, count);
    if (times == null) throw unknownUnit('nextRuns', id);
    return times.map((ms) => new Date(ms));
  }

  /**
   * Pauses the calendar schedule of worker `id`: it fires no more until
   * resumeSchedule (the worker itself stays enabled and can be run by hand).
   * @param {string} id
   */
  pauseSchedule(id) {
    this.#setSchedulePaused('pauseSchedule', id, true);
  }

  /**
   * Resumes a paused schedule: it fires next at its first time still to
   * come (the times it passed while paused are not caught up).
   * @param {string} id
   */
  resumeSchedule(id) {
    this.#setSchedulePaused('resumeSchedule', id, false);
  }

  /**
   * @param {string} method
   * @param {string} id
   * @param {boolean} paused
   */
  #setSchedulePaused(method, id, paused) {
    const core = this.#core;
    core.open(method);
    v.validateId(method, id);
    if (!core.bridge.native.setSchedulePaused(id, paused)) {
      if (this.getUnitById(id) === undefined) throw unknownUnit(method, id);
      throw new TypeError(`${method}: id must name a worker with a schedule (got "${id}", which has none)`);
    }
    core.sync();
  }

  /** One watcher scan now. */
  runWatcherScan() {
    const core = this.#core;
    core.open('runWatcherScan');
    core.bridge.native.watcherScan();
    core.sync();
  }

  // ---------------------------------------------------------------------
  // Background operation
  // ---------------------------------------------------------------------

  /** Starts the scheduler and the watcher. Idempotent. While started, the manager keeps Node alive. */
  start() {
    const core = this.#core;
    core.open('start');
    core.bridge.setStarted(true);
    this.#lag.setStarted(true);
    core.bridge.native.start();
    if (this.#threads !== null) this.#threads.setStopped(false);
    core.sync();
  }

  /**
   * Stops scheduling new runs and resolves when the runs in flight have
   * settled. With `timeoutMs`, runs still in flight then are aborted and fail
   * with ERR_STOPPED. Queued pool tasks that live in memory only are dropped
   * at once (a `pool.run` rejects with ERR_STOPPED); stored ones stay queued.
   * Called from inside a run, it does not wait for that run. Afterwards
   * nothing of the manager keeps Node alive.
   * @param {{ timeoutMs?: number }} [options]
   */
  stop(options) {
    let timeoutMs;
    try {
      timeoutMs = v.validateStopOptions('stop', options);
    } catch (e) {
      return Promise.reject(e);
    }
    // A closed manager is stopped already (a stop() called while close()
    // is stopping waits for the close).
    if (this.#core.closed) {
      const closing = this.#closing;
      return closing !== null ? closing.then(noop, noop) : Promise.resolve().then(() => this.#closing).then(noop, noop);
    }
    return this.#stop(timeoutMs, false);
  }

  /**
   * @param {number | undefined} timeoutMs
   * @param {boolean} closing
   */
  #stop(timeoutMs, closing) {
    const core = this.#core;
    const bridge = core.bridge;
    bridge.setStarted(false);
    this.#lag.setStarted(false);
    // pool.run tasks still waiting for their microtask reach the engine
    // first, so that the stop sees (and drops) them too.
    for (const pool of core.pools.values()) pool[poolInternals.kSubmit]();
    // The threads alive now are the ones the stop ends (their pools pause).
    /** @type {Promise<void> | undefined} */
    let threadsGone;
    if (this.#threads !== null) {
      this.#threads.submitAll();
      this.#threads.setStopped(true);
      threadsGone = this.#threads.exited();
    }
    // A `run` that calls stop() is on the stack now: the stop does not wait
    // for it (it waits for the stop).
    const caller = bridge.currentCall;
    const done = core.tickets.await(bridge.native.stop(Number.isFinite(timeoutMs) ? timeoutMs : undefined, closing, caller));
    core.sync();
    if (timeoutMs === undefined) {
      // Waiting without a limit for a run that never settles (one that
      // awaits this very stop after another await, say) would be silent.
      const warning = timers.setTimeout(() => this.#warnStopWaiting(), STOP_WARNING_MS);
      warning.unref();
      const clear = () => timers.clearTimeout(warning);
      done.then(clear, clear);
    }
    return done
      .then(() => (core.store ? core.store.committed() : undefined))
      // The threads of the pools, which the stop ended, are gone.
      .then(() => threadsGone)
      .then(() => {
        for (const pool of core.pools.values()) pool[poolInternals.kStopped](closing);
        bridge.updateKeepAlive(true);
      });
  }

  /** A stop() without a time limit still waits for runs in flight: said once, as a process warning. */
  #warnStopWaiting() {
    const running = this.#core.units.runningIds();
    process.emitWarning(
      `stop() has waited ${STOP_WARNING_MS / 1000} s for the runs in flight${running.length > 0 ? ` (${running.slice(0, 10).join(', ')}${running.length > 10 ? ', …' : ''})` : ''} and waits until they settle. A run that awaits stop() after another await waits for itself; stop({ timeoutMs }) aborts what is left at the limit.`,
      { code: 'SYNCHRONIK_STOP_WAITING' },
    );
  }

  /**
   * Stops like stop(), then lets go of what the manager holds: the SQLite
   * store is committed and closed (its file can be moved or deleted) and the
   * engine's timer thread ends. From the call on, every method but the
   * lookups refuses with ERR_CLOSED; queued in-memory pool tasks are dropped
   * with ERR_CLOSED. Calling it again returns the same promise.
   * @param {{ timeoutMs?: number }} [options]
   */
  close(options) {
    if (this.#closing) return this.#closing;
    let timeoutMs;
    try {
      timeoutMs = v.validateStopOptions('close', options);
    } catch (e) {
      return Promise.reject(e);
    }
    const core = this.#core;
    core.markClosed();
    // The dashboards go first: from now on nothing may act on the engine.
    const dashboards = this.#dashboards.closeAll();
    const threads = this.#threads === null ? undefined : this.#threads.destroyAll();
    this.#closing = Promise.all([dashboards, threads, this.#stop(timeoutMs, true)]).then(() => {
      if (core.store) core.store.close();
      core.bridge.dispose();
    });
    return this.#closing;
  }

  // ---------------------------------------------------------------------
  // Storage
  // ---------------------------------------------------------------------

  /**
   * Persists unit state through `adapter` (`{ saveState(units), loadState() }`):
   * loads the stored state and brings it back onto registered units with
   * the same ids (and onto units registered later with a stored id), then
   * saves after every state change — coalesced and in order. A failing save
   * is logged and never fails the call that caused it.
   * @param {import('./storage').StorageAdapter} adapter
   */
  useStorage(adapter) {
    return asPromise(async () => {
      const core = this.#core;
      core.open('useStorage');
      validateAdapter('useStorage', adapter);
      const persistence = new Persistence(core, adapter);
      const count = await persistence.load();
      core.usePersistence(persistence);
      if (count !== null) core.events.milestone('storage:loaded', { count });
    });
  }

  /**
   * Resolves once every change so far is committed: to the SQLite store
   * (rejects with ERR_STORAGE when a write failed), or saved through the
   * adapter of useStorage. Resolves at once without storage.
   * @returns {Promise<void>}
   */
  flush() {
    const core = this.#core;
    if (core.closed) return Promise.reject(closedError('flush'));
    if (core.store) return core.store.flush();
    if (core.persistence) return core.persistence.flush();
    return Promise.resolve();
  }

  /**
   * The history of attempts kept by the SQLite store, newest first:
   * `[{ unitId, attempt, startedAt, endedAt, durationMs, outcome, error?, task? }]`.
   * @param {{ unitId?: string, limit?: number, since?: Date | number }} [query]
   */
  history(query) {
    return asPromise(() => {
      const core = this.#core;
      core.open('history');
      v.validateHistoryQuery(query);
      const q = parseHistoryQuery(query);
      if (!core.store) throw noStoreError();
      return core.store.history(q);
    });
  }

  /**
   * The live nodes sharing this manager's PostgreSQL store, oldest first:
   * `[{ id, host, pid, startedAt, lastSeenAt }]`. Rejects with ERR_STORAGE
   * on a manager without a PostgreSQL store.
   */
  nodes() {
    return asPromise(() => {
      const core = this.#core;
      core.open('nodes');
      if (!core.store || core.store.kind !== 'postgres') {
        throw new SynchronikError('nodes: the manager has no PostgreSQL store (create it with { storage: { postgres: connectionString } })', 'ERR_STORAGE');
      }
      return core.store.nodes();
    });
  }

  /** This manager's node id in a PostgreSQL cluster (`host:pid:random`); undefined without one. */
  get nodeId() {
    const store = this.#core.store;
    return store ? store.nodeId : undefined;
  }

  // ---------------------------------------------------------------------
  // Worker pools
  // ---------------------------------------------------------------------

  /**
   * The worker pool called `options.name` (default 'default') with `size`
   * workers (ids `pool-worker-1…N`, registered as units). Asking again for
   * a pool by the same name returns it, resized to `size`. The manager's
   * start() and stop() start and stop its pools.
   * @param {number} [size]
   * @param {{ name?: string }} [options]
   */
  useWorkerPool(size = DEFAULTS.poolSize, options = {}) {
    const core = this.#core;
    core.open('useWorkerPool');
    v.checkPoolSize('useWorkerPool', size);
    if (!v.isObject(options)) throw v.fail('useWorkerPool', 'options', 'an object', options);
    v.checkKnownKeys('useWorkerPool', 'options', options, ['name'], 'refuse');
    const name = options.name === undefined ? DEFAULTS.poolName : options.name;
    v.checkName('useWorkerPool', 'options.name', name);
    let pool = core.pools.get(name);
    if (!pool) {
      pool = new WorkerPool(core, name);
      core.pools.add(name, pool);
      // Tasks stored by an earlier process come back before any worker exists.
      if (core.store) core.store.restorePool(pool);
    }
    pool.resize(size);
    return pool;
  }

  /**
   * Creates a pool of threads that run the handlers exported by the module
   * `options.filename` (see index.d.ts). The engine hands tasks to the
   * threads directly.
   * @param {any} options
   */
  useThreadPool(options) {
    const core = this.#core;
    core.open('useThreadPool');
    // Loaded at the first use: thread pools bring worker_threads and v8's
    // serializer, several megabytes of resident memory that a program
    // without them does not pay.
    const { ThreadPools, validateThreadPoolOptions } = require('./threads');
    const o = validateThreadPoolOptions(options);
    if (this.#threads === null) {
      this.#threads = new ThreadPools(core);
      core.bridge.setThreads(this.#threads);
    }
    return this.#threads.create(o);
  }

  // ---------------------------------------------------------------------
  // Seeing the engine: the web dashboard and metrics
  // ---------------------------------------------------------------------

  /**
   * Serves the web dashboard, its JSON API and `/metrics` on a thread of
   * the engine (it answers while JavaScript is blocked). Resolves to
   * `{ url, host, port, token, close() }` once the server listens; a port
   * in use rejects with a SynchronikError whose code says so (EADDRINUSE).
   * The server never keeps Node alive; close() and the manager's close()
   * stop it.
   * @param {{ port?: number, host?: string, token?: string, basePath?: string, readOnly?: boolean,
   *   authorize?: (request: object, action: string) => boolean | Promise<boolean> }} [options]
   */
  serveDashboard(options) {
    return asPromise(() => {
      this.#core.open('serveDashboard');
      return this.#dashboards.open(v.validateDashboardOptions(options));
    });
  }

  /** The engine's metrics in the Prometheus text format (the same text as the dashboard's `/metrics`). */
  metrics() {
    const core = this.#core;
    core.open('metrics');
    return core.bridge.native.metrics();
  }

  // ---------------------------------------------------------------------
  // Other
  // ---------------------------------------------------------------------

  /**
   * What `console.log(manager)` shows: counts and settings, not the
   * bridge's buffers and tables.
   * @param {number} depth
   * @param {util.InspectOptionsStylized} options
   * @param {typeof util.inspect} inspect
   */
  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[SynchronikManager]', 'special');
    const core = this.#core;
    const [units, running] = core.bridge.native.counts();
    /** @type {Record<string, unknown>} */
    const view = {
      units,
      running,
      started: core.bridge.started,
      clock: this.clock ? 'manual' : 'system',
      pools: core.pools.names(),
    };
    if (core.store) view.storage = core.store.path ?? core.store.label;
    return `SynchronikManager ${inspect(view, { ...options, depth: options.depth === null ? null : /** @type {number} */ (options.depth) - 1 })}`;
  }

  /** Memory and CPU of this process, and the engine's counts. */
  getEngineStats() {
    const core = this.#core;
    const mem = process.memoryUsage();
    /** @param {number} n */
    const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
    // Date.now and process.cpuUsage are looked up at call time, so fake
    // timers and spies in users' tests reach them.
    const now = Date.now();
    const cpu = process.cpuUsage();
    let cpuPercent = 0;
    if (this.#lastCpu) {
      const elapsedMs = now - this.#lastCpuAt;
      const usedUs = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system);
      cpuPercent = elapsedMs > 0 ? (usedUs / (elapsedMs * 1000)) * 100 : 0;
    }
    this.#lastCpu = cpu;
    this.#lastCpuAt = now;
    const [units, running, dispatched, queued] = core.bridge.native.counts();
    // The largest lag seen since the previous call (0 while not started).
    const eventLoopLagMs = this.#lag.takeMax();
    /** @type {Record<string, unknown>} */
    const stats = {
      memory: { rss: mb(mem.rss), heapTotal: mb(mem.heapTotal), heapUsed: mb(mem.heapUsed), external: mb(mem.external) },
      cpu: `${cpuPercent.toFixed(2)}%`,
      engine: { units, running, queued, dispatched, eventLoopLagMs },
      memoryBytes: { rss: mem.rss, heapTotal: mem.heapTotal, heapUsed: mem.heapUsed, external: mem.external },
      cpuPercent,
    };
    if (core.store) stats.storage = core.store.stats();
    return stats;
  }

  // ---------------------------------------------------------------------
  // Diagnostics for the package's own tests and soak runs (not API)
  // ---------------------------------------------------------------------

  /** The native engine (its `memory()` is what the memory tests and soak runs read). */
  get _native() {
    return this.#core.bridge.native;
  }

  /** How many slots the unit table spans: `{ length }`. */
  get _units() {
    return { length: this.#core.units.slotCount };
  }

  /** How many slots the set of process slots holds: `{ length }`. */
  get _kinds() {
    return { length: this.#core.units.kindSlotCount };
  }
}

/**
 * A run request (runWorkerById, runUnitById, runProcessById): the promise
 * its DONE record settles. A function rather than a #private method: it is
 * on the hot path, and V8 inlines it into the caller.
 * @param {Core} core
 * @param {string} method
 * @param {unknown} id
 * @param {'worker' | 'process' | undefined} kind
 * @param {boolean} settleOnly
 * @returns {Promise<void>}
 */
function runById(core, method, id, kind, settleOnly) {
  if (core.closed) return Promise.reject(closedError(method));
  // A registered id passed every check at registration. An unknown one
  // (never a non-string or an empty one) is run as "nothing" by the
  // engine; an ill-formed one is refused like everywhere else.
  const slot = core.units.slot(id);
  if (slot < 0) {
    try {
      v.validateId(method, id);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  try {
    return core.bridge.run(slot >>> 0, kind === undefined ? 0 : RUN_KINDS[kind], core.tickets, settleOnly);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Creates a manager. Creating one starts no timer.
 * @param {Record<string, any>} [options]
 */
function createSynchronikManager(options) {
  return new SynchronikManager(options);
}

module.exports = { createSynchronikManager, SynchronikManager, describe };
