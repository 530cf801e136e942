// @ts-check
'use strict';

// The manager's side of the durable stores: the embedded SQLite store
// (`createSynchronikManager({ storage: { sqlite: path } })`) and the
// PostgreSQL store shared by several managers (`{ storage: { postgres } }`).
// The engine decides what is written and when, and which tasks a node
// claims; this file reads the option, opens the store, turns payloads into
// JSON, brings stored unit state back onto the user's objects (as
// `useStorage` does) and rebuilds the live task objects of a pool's stored
// (or claimed) tasks.

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
 * @typedef {{ enabled: boolean, maxAgeMs?: number, maxRows?: number }} HistoryOpt
 * @typedef {{ kind: 'sqlite', path: string, history: HistoryOpt }} SqliteParsed
 * @typedef {{ kind: 'postgres', label: string, history: HistoryOpt, native: import('./native').JsPostgresOptions }} PostgresParsed
 */

/** @param {any} h */
function parseHistory(h) {
  if (h === false) return { enabled: false };
  if (h !== undefined && h !== true) return { enabled: true, maxAgeMs: h.maxAgeMs, maxRows: h.maxRows };
  return { enabled: true };
}

/**
 * The PostgreSQL parts of an option (checked by validatePostgresOption),
 * as the binding takes them.
 * @param {any} storage
 * @returns {import('./native').JsPostgresOptions}
 */
function postgresNative(storage) {
  const pg = storage.postgres;
  const parts = typeof pg === 'string' ? { url: pg } : { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database, ssl: pg.ssl };
  return {
    ...parts,
    schema: storage.schema ?? 'synchronik',
    history: parseHistory(storage.history),
    leaseMs: storage.leaseMs ?? 30_000,
    pollMs: storage.pollMs ?? 1_000,
    connectTimeoutMs: storage.connectTimeoutMs ?? 10_000,
    hostName: hostName(),
    prefetch: storage.prefetch,
  };
}

/**
 * Reads `options.storage` (checked by validate.js's validateStorageOption).
 * @param {any} storage
 * @returns {SqliteParsed | PostgresParsed}
 */
function parseStorageOption(storage) {
  const history = parseHistory(storage.history);
  if (storage.postgres !== undefined) {
    return { kind: 'postgres', label: `the PostgreSQL store (schema "${storage.schema ?? 'synchronik'}")`, history, native: postgresNative(storage) };
  }
  return { kind: 'sqlite', path: path.resolve(storage.sqlite), history };
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

class DurableStore {
  /** The manager's parts (see core.js). */
  #core;
  #native;
  /** Stored unit state by id, for units registered later. */
  #stored = new Map();
  #closed = false;

  /**
   * Opens the store on the manager's engine. Throws a SynchronikError
   * (`ERR_STORAGE`) naming the problem when it cannot be opened: a SQLite
   * file that is not a database or that another manager (in this process
   * or another) has open — the message names that one's pid and host; a
   * PostgreSQL server that cannot be reached, refused credentials, a
   * schema of another application.
   * @param {import('./core').Core} core
   * @param {SqliteParsed | PostgresParsed} parsed
   */
  constructor(core, parsed) {
    this.#core = core;
    this.#native = core.bridge.native;
    this.kind = parsed.kind;
    /** The SQLite file; undefined for PostgreSQL. */
    this.path = parsed.kind === 'sqlite' ? parsed.path : undefined;
    /** This node's id in a PostgreSQL cluster. */
    this.nodeId = undefined;
    this.label = parsed.kind === 'sqlite' ? `the SQLite store "${parsed.path}"` : parsed.label;
    this.keepsHistory = parsed.history.enabled;
    try {
      if (parsed.kind === 'sqlite') this.#native.openStore(parsed.path, parsed.history, hostName());
      else this.nodeId = this.#native.openPostgresStore(parsed.native);
    } catch (e) {
      throw fromNative(e);
    }
    // Other nodes change this one's tasks (claims, ends elsewhere) at any
    // time: their records must reach JavaScript while the manager idles.
    if (parsed.kind === 'postgres') core.bridge.serving(1);
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
   * engine queued it by itself (a failed stored task retried from the web
   * dashboard; a task this node claimed from a shared store), its live task
   * object is made now, in its pool — or, for a task added here that could
   * not keep its id, the object addTask returned takes the new id. The
   * binding's `takeRequeuedTask(taskId)` hands such a task over once: the
   * stored task's row and its pool's number (null for any other task).
   * @param {number} taskId
   */
  adoptRequeued(taskId) {
    if (this.#closed) return;
    const r = this.#native.takeRequeuedTask(taskId);
    if (!r) return;
    // A task this node added (offered to every node) and then claimed keeps the object addTask returned.
    const replaces = r.task.replacesTaskId ?? undefined;
    const offered = replaces === undefined ? undefined : this.#core.pools.peekTask(replaces);
    for (const pool of this.#core.pools.values()) {
      if (pool[poolInternals.kEngineId] !== r.pool) continue;
      if (offered && offered.task) pool[poolInternals.kAdoptTask](offered.task, r.task.taskId, replaces);
      else pool[poolInternals.kAdoptTask](taskOfRow(r.task), r.task.taskId);
    }
  }

  /**
   * The live nodes of a PostgreSQL store (see manager.nodes); this node
   * alone for SQLite.
   */
  async nodes() {
    if (this.#closed) throw new SynchronikError(`nodes: ${this.label} is closed`, 'ERR_STORAGE');
    if (this.kind !== 'postgres') return [];
    const rows = await this.#native.storeNodes().catch((e) => {
      throw fromNative(e);
    });
    return rows.map((r) => ({ id: r.id, host: r.host, pid: r.pid, startedAt: new Date(r.startedMs), lastSeenAt: new Date(r.lastSeenMs) }));
  }

  /** Commits what is pending and closes the database (manager.close). */
  close() {
    if (!this.#closed && this.kind === 'postgres') this.#core.bridge.serving(-1);
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
    if (this.#closed) throw new SynchronikError(`history: ${this.label} is closed`, 'ERR_STORAGE');
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

/**
 * An error for a method that needs a durable store on a manager without one.
 * @param {string} [method]
 */
function noStoreError(method = 'history') {
  return new SynchronikError(`${method}: the manager has no durable store (create it with { storage: { sqlite: path } } or { storage: { postgres: connectionString } })`, 'ERR_STORAGE');
}

module.exports = { DurableStore, parseStorageOption, postgresNative, parseHistoryQuery, payloadJson, noStoreError };
