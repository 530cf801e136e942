// @ts-check
'use strict';

// The manager's side of the embedded SQLite store
// (`createSynchronikManager({ storage: { sqlite: path } })`). The engine
// decides what is written and when; this file validates the option, opens
// the store, turns payloads into JSON, brings stored unit state back onto
// the user's objects (as `useStorage` does) and rebuilds the live task
// objects of a pool's stored tasks.

const os = require('node:os');
const path = require('node:path');
const v = require('./validate');
const { SynchronikError, fromNative } = require('./errors');
const { hydrateUnit } = require('./storage');
const { poolInternals } = require('./pool');
const { ENGINE_META: ENGINE_META_KEYS } = require('./stats');

/** Statistics the engine keeps in `meta`; they have their own columns. */
const ENGINE_META = new Set(ENGINE_META_KEYS);

/**
 * @typedef {import('./pool').WorkerPool} WorkerPool
 * @typedef {import('./pool').PoolEntry} PoolEntry
 * @typedef {Record<string, any>} Unit
 * @typedef {{ enabled: boolean, maxAgeMs?: number, maxRows?: number }} HistoryOption
 * @typedef {{ unitId?: string, limit?: number, since?: number }} HistoryQuery
 */

/**
 * Reads `options.storage` (checked by validate.js's validateStorageOption);
 * returns `{ path, history }` for the engine.
 * @param {any} storage
 * @returns {{ path: string, history: HistoryOption }}
 */
function parseStorageOption(storage) {
  const h = storage.history;
  /** @type {HistoryOption} */
  let history = { enabled: true };
  if (h === false) history = { enabled: false };
  else if (h !== undefined && h !== true) history = { enabled: true, maxAgeMs: h.maxAgeMs, maxRows: h.maxRows };
  return { path: path.resolve(storage.sqlite), history };
}

/**
 * The payload of a durable task as JSON text; a TypeError naming
 * `task.payload` when it cannot be stored faithfully (functions, symbols,
 * BigInt, circular structures).
 */
/**
 * @param {string} method
 * @param {unknown} payload
 */
function payloadJson(method, payload) {
  if (payload === undefined) return undefined;
  let problem;
  let text;
  try {
    text = JSON.stringify(payload, function replacer(key, value) {
      const t = typeof value;
      if (t === 'function' || t === 'symbol' || t === 'bigint') {
        problem = `${t === 'bigint' ? 'a BigInt' : `a ${t}`}${key === '' ? '' : ` at key "${key}"`}`;
        throw new TypeError(problem);
      }
      return value;
    });
  } catch (e) {
    const message = String(e && /** @type {Error} */ (e).message);
    if (!problem) problem = /circular/i.test(message) ? 'a circular structure' : message;
    throw new TypeError(`${method}: task.payload must be JSON-serialisable to be stored (got ${problem})`);
  }
  if (text === undefined) throw new TypeError(`${method}: task.payload must be JSON-serialisable to be stored (got ${typeof payload})`);
  return text;
}

/**
 * The user's own part of `meta` as JSON, or undefined when it cannot be stored.
 * @param {Unit} unit
 */
function userMetaJson(unit) {
  if (!v.isObject(unit.meta)) return undefined;
  const own = {};
  for (const key of Object.keys(unit.meta)) if (!ENGINE_META.has(key)) v.setField(own, key, unit.meta[key]);
  try {
    return JSON.stringify(own);
  } catch {
    return undefined;
  }
}

/** This machine's name, recorded in the database's lock file (undefined if the OS will not say). */
function hostName() {
  try {
    return os.hostname() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The live task object of a stored task's row (its payload parsed back;
 * text that does not parse stays text).
 * @param {import('./native').JsRestoredTask} r
 */
function taskOfRow(r) {
  let payload;
  try {
    payload = r.payload == null ? undefined : JSON.parse(r.payload);
  } catch {
    payload = r.payload;
  }
  return {
    name: r.name,
    handler: r.handler,
    payload,
    priority: r.priority,
    arrangementId: r.arrangementId,
    status: r.runAtMs == null ? 'idle' : 'scheduled',
    idempotencyKey: r.key,
  };
}

class SqliteStore {
  /** The manager's parts (see core.js). */
  #core;
  #native;
  /** Stored unit state by id, for units registered later. */
  #stored = new Map();
  #closed = false;

  /**
   * Opens the store on the manager's engine. Throws a SynchronikError
   * (`ERR_STORAGE`, naming the path) when it cannot be opened, or when
   * another manager (in this process or another) has the file open: the
   * message names that one's pid and host.
   * @param {import('./core').Core} core
   * @param {{ path: string, history: { enabled: boolean, maxAgeMs?: number, maxRows?: number } }} parsed
   */
  constructor(core, parsed) {
    this.#core = core;
    this.#native = core.bridge.native;
    this.path = parsed.path;
    this.keepsHistory = parsed.history.enabled;
    try {
      this.#native.openStore(parsed.path, parsed.history, hostName());
    } catch (e) {
      throw fromNative(e);
    }
    let rows;
    try {
      rows = this.#native.storedUnits();
    } catch (e) {
      throw fromNative(e);
    }
    for (const row of rows) this.#stored.set(row.id, row);
  }

  /**
   * A unit was registered: bring its stored state back, then store it.
   * @param {Unit} unit
   * @param {'worker' | 'process'} kind
   */
  registered(unit, kind) {
    this.#registerOne(unit);
    if (kind === 'process') for (const w of unit.workers) this.#registerOne(w);
  }

  /**
   * Whether the unit is a worker of a pool (the engine says so: it is
   * attached to one). Its state is the pool's: not stored, not restored.
   * A unit of the user's own is stored whatever its id looks like.
   */
  /** @param {Unit} unit */
  #isPoolWorker(unit) {
    const slot = this.#core.units.slot(unit.id);
    return slot >= 0 && this.#native.isPoolWorker(slot);
  }

  /** @param {Unit} unit */
  #registerOne(unit) {
    if (this.#isPoolWorker(unit)) return;
    const row = this.#stored.get(unit.id);
    if (row) {
      this.#stored.delete(unit.id);
      /** @type {Record<string, any>} */
      let meta = {};
      try {
        const parsed = row.meta ? JSON.parse(row.meta) : {};
        if (v.isObject(parsed)) meta = parsed;
      } catch {
        // A meta column that does not parse is ignored.
      }
      // The other statistics follow from these (stats.js, as in the engine).
      meta.runCount = row.runCount;
      meta.executionTimesMs = row.executionTimesMs;
      hydrateUnit(this.#core, unit, {
        id: row.id,
        // A run that was in flight when the process ended did not finish.
        status: row.status === 'running' ? 'idle' : row.status,
        enabled: row.enabled,
        meta,
        lastRun: row.lastRunMs == null ? undefined : row.lastRunMs,
        lastFireMs: row.lastFireMs == null ? undefined : row.lastFireMs,
      });
    }
    this.#native.storeUnit(unit.id, userMetaJson(unit));
  }

  /**
   * The user's meta of a unit changed.
   * @param {Unit} unit
   */
  metaChanged(unit) {
    if (!this.#isPoolWorker(unit)) this.#native.storeUnit(unit.id, userMetaJson(unit));
  }

  /**
   * Queues a task that names a handler, stored with its payload; see WorkerPool.addTask.
   * @param {WorkerPool} pool
   * @param {Record<string, any>} input
   * @param {number | undefined} at when it is queued (runAt, delayMs), or undefined for now
   */
  addTask(pool, input, at) {
    const payload = payloadJson('addTask', input.payload);
    pool[poolInternals.kSubmit]();
    const added = this.#native.poolAddDurable(pool[poolInternals.kEngineId], input.name, input.priority ?? 0, input.handler, payload, at);
    if (!added) {
      console.warn(`Task with name "${input.name}" already exists.`);
      return null;
    }
    const task = { ...input, arrangementId: added.arrangementId, status: at === undefined ? 'idle' : 'scheduled', idempotencyKey: added.key };
    pool[poolInternals.kAdoptTask](task, added.taskId);
    this.#core.sync();
    return task;
  }

  /** A queued durable task is updated: stores its new payload, priority and handler (validated first). */
  /**
   * @param {PoolEntry} entry
   * @param {Record<string, any>} partial
   */
  patchTask(entry, partial) {
    const payload = partial.payload !== undefined ? payloadJson('updateTask', partial.payload) : undefined;
    if (payload === undefined && partial.priority === undefined && partial.handler === undefined) return;
    this.#native.storeTaskPatch(entry.taskId, payload, partial.priority, partial.handler);
  }

  /**
   * Brings a new pool's stored tasks back as live task objects, in their stored order.
   * @param {WorkerPool} pool
   */
  restorePool(pool) {
    let rows;
    try {
      rows = this.#native.poolRestore(pool[poolInternals.kEngineId]);
    } catch (e) {
      throw fromNative(e);
    }
    for (const r of rows) pool[poolInternals.kAdoptTask](taskOfRow(r), r.taskId);
    this.#core.sync();
    if (rows.length > 0) this.#core.events.milestone('storage:restored', { pool: pool.name, tasks: rows.length });
  }

  /**
   * A record names task `taskId`, which the facade does not know: when the
   * engine queued it again by itself (a failed stored task retried from the
   * web dashboard), its live task object is made now, in its pool. The
   * binding's `takeRequeuedTask(taskId)` hands such a task over once: the
   * stored task's row and its pool's number (null for any other task).
   * @param {number} taskId
   */
  adoptRequeued(taskId) {
    if (this.#closed) return;
    const r = this.#native.takeRequeuedTask(taskId);
    if (!r) return;
    for (const pool of this.#core.pools.values()) {
      if (pool[poolInternals.kEngineId] === r.pool) pool[poolInternals.kAdoptTask](taskOfRow(r.task), r.task.taskId);
    }
  }

  /** Commits what is pending and closes the database (manager.close). */
  close() {
    this.#closed = true;
    this.#native.storeClose();
  }

  /** Resolves once every write so far is committed; rejects with ERR_STORAGE when one failed. */
  flush() {
    if (this.#closed) return Promise.resolve();
    return this.#native.storeFlush().catch((e) => {
      throw fromNative(e);
    });
  }

  /** Like flush, but never rejects (a failed write is logged): for state methods and stop(). */
  committed() {
    return this.flush().catch((error) => {
      console.error('[synchronik] a write to the store failed:', error);
    });
  }

  /** `{ bytes, pendingWrites }`. */
  stats() {
    const s = this.#native.storeStats();
    return s ? { bytes: s[0], pendingWrites: s[1] } : { bytes: 0, pendingWrites: 0 };
  }

  /**
   * History rows, newest first (see manager.history).
   * @param {HistoryQuery} query
   */
  async history(query) {
    if (this.#closed) throw new SynchronikError(`history: the SQLite store "${this.path}" is closed`, 'ERR_STORAGE');
    const rows = await this.#native.storeHistory(query.unitId, query.limit, query.since).catch((e) => {
      throw fromNative(e);
    });
    return rows.map((r) => {
      /** @type {Record<string, unknown>} */
      const row = {
        unitId: r.unitId,
        attempt: r.attempt,
        startedAt: new Date(r.startedMs),
        endedAt: new Date(r.endedMs),
        durationMs: Math.max(0, r.endedMs - r.startedMs),
        outcome: r.outcome,
      };
      if (r.taskName != null) row.task = { name: r.taskName, pool: r.pool, idempotencyKey: r.taskKey };
      if (r.error != null) row.error = r.error;
      return row;
    });
  }
}

/**
 * Reads the arguments of manager.history() (checked by validate.js's
 * validateHistoryQuery); returns the native query.
 * @param {any} query
 * @returns {HistoryQuery}
 */
function parseHistoryQuery(query) {
  if (query === undefined) return { unitId: undefined, limit: undefined, since: undefined };
  const { unitId, limit, since } = query;
  return { unitId, limit, since: since instanceof Date ? since.getTime() : since };
}

/** An error for history() on a manager without a SQLite store. */
function noStoreError() {
  return new SynchronikError('history: the manager has no SQLite store (create it with { storage: { sqlite: path } })', 'ERR_STORAGE');
}

module.exports = { SqliteStore, parseStorageOption, parseHistoryQuery, payloadJson, noStoreError };
