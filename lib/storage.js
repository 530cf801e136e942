// @ts-check
'use strict';

// Persistence of unit state (synchronik 2.3's storage API): the
// StorageAdapter contract, the JSON file adapter, and the manager's side of
// it — hydrating units from stored state and saving after changes.

const fs = require('node:fs');
const path = require('node:path');
const timers = require('node:timers');
const v = require('./validate');
const { restoredStats, withLazyTimes } = require('./stats');

/**
 * @typedef {import('./core').Core} Core
 * @typedef {{ saveState(units: unknown[]): unknown, loadState(): unknown }} StorageAdapter
 * @typedef {{ id?: unknown, status?: unknown, enabled?: unknown, meta?: any, lastRun?: unknown, lastFireMs?: unknown }} StoredUnit
 */

/**
 * Unit objects as JSON-ready data: no functions, at any depth.
 * @param {unknown[]} units
 */
function toStoredUnits(units) {
  return JSON.parse(
    JSON.stringify(units, (key, value) => {
      if (typeof value === 'function') return undefined;
      if (value instanceof Error) return { name: value.name, message: value.message, code: /** @type {Error & { code?: unknown }} */ (value).code };
      return value;
    }),
  );
}

/**
 * Stores units as JSON in one file. A save writes a temporary file next to
 * it and renames it over the old one, so a reader (or a crash) never sees a
 * half-written file.
 */
class FileStorageAdapter {
  /** @param {string} [filePath] resolved against the working directory now */
  constructor(filePath = 'synchronik-state.json') {
    v.checkName('FileStorageAdapter', 'filePath', filePath);
    this.filePath = path.resolve(filePath);
    this._tmpCount = 0;
  }

  /**
   * Writes the units (without functions).
   * @param {unknown[]} units
   */
  async saveState(units) {
    const data = JSON.stringify(toStoredUnits(units), null, 2);
    // Looked up at call time, so that spies on fs.promises reach it.
    const tmp = `${this.filePath}.${process.pid}.${++this._tmpCount}.tmp`;
    try {
      await fs.promises.writeFile(tmp, data, 'utf8');
      await fs.promises.rename(tmp, this.filePath);
    } catch (error) {
      await fs.promises.rm(tmp, { force: true }).catch(() => {});
      throw error;
    }
  }

  /** The stored units; null when there is no file, or (with a console error) when it is corrupt. */
  async loadState() {
    let text;
    try {
      text = await fs.promises.readFile(this.filePath, 'utf8');
    } catch (error) {
      if (error && /** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const data = JSON.parse(text);
      if (!Array.isArray(data)) throw new SyntaxError('the stored state is not an array of units');
      return data;
    } catch (error) {
      console.error('[Synchronik] Failed to load state due to corrupted file. Starting fresh.', /** @type {Error} */ (error).message);
      return null;
    }
  }
}

/**
 * Checks that an object keeps the StorageAdapter contract.
 * @param {string} method
 * @param {any} adapter
 */
function validateAdapter(method, adapter) {
  if (typeof adapter !== 'object' || adapter === null) throw v.fail(method, 'adapter', 'an object with saveState and loadState', adapter);
  v.check(method, 'adapter.saveState', adapter.saveState, isFunction, 'a function');
  v.check(method, 'adapter.loadState', adapter.loadState, isFunction, 'a function');
}

/** @param {unknown} x */
const isFunction = (x) => typeof x === 'function';

/**
 * Brings a stored entry (`{ status?, enabled?, meta?, lastRun? }`, as
 * saveState wrote it) back onto a registered unit and into the engine,
 * without announcing anything. With a stored `meta.runCount`, the engine
 * rebuilds its statistics from the stored durations, and so does the
 * object's meta (stats.js), whatever average the stored meta says.
 * @param {Core} core
 * @param {Record<string, any>} unit
 * @param {StoredUnit} entry
 */
function hydrateUnit(core, unit, entry) {
  const units = core.units;
  // A unit stored while it ran comes back idle: nothing is running it now.
  const status = entry.status === 'running' ? 'idle' : v.STATUSES.includes(/** @type {any} */ (entry.status)) ? /** @type {string} */ (entry.status) : undefined;
  const enabled = typeof entry.enabled === 'boolean' ? entry.enabled : undefined;
  const meta = v.isObject(entry.meta) ? entry.meta : undefined;
  const runCount = meta && Number.isFinite(meta.runCount) ? meta.runCount : undefined;
  const times = meta && Array.isArray(meta.executionTimesMs) ? meta.executionTimesMs.filter(Number.isFinite) : [];
  const lastRun = entry.lastRun !== undefined ? new Date(/** @type {any} */ (entry.lastRun)) : undefined;
  const lastRunMs = lastRun && !Number.isNaN(lastRun.getTime()) ? lastRun.getTime() : undefined;
  const lastFireMs = typeof entry.lastFireMs === 'number' && Number.isFinite(entry.lastFireMs) ? entry.lastFireMs : undefined;
  core.bridge.native.restore(unit.id, status, enabled, runCount, Float64Array.from(times), lastRunMs, lastFireMs);
  // The engine has the state now; the object mirrors it (a setter that
  // throws is reported, as for every write-back).
  if (status !== undefined && units.field(unit, 'status') !== 'running') units.mirror(unit, 'status', status);
  if (enabled !== undefined) units.mirror(unit, 'enabled', enabled);
  if (meta) {
    let current;
    try {
      current = { ...unit.meta };
    } catch {
      current = {};
    }
    const stats = runCount !== undefined ? restoredStats(runCount, times) : undefined;
    units.mirror(unit, 'meta', withLazyTimes({ ...current, ...meta, ...stats }));
  }
  if (lastRunMs !== undefined) units.mirror(unit, 'lastRun', new Date(lastRunMs));
}

/**
 * The manager's persistence: remembers stored state by unit id, hydrates
 * units with it, and saves after changes — coalesced (a burst of changes is
 * one write) and ordered (one save at a time, each newer than the last).
 */
class Persistence {
  #core;
  #adapter;
  /** @type {Map<string, StoredUnit>} stored state by unit id, for units registered later */
  #stored = new Map();
  #changes = 0;
  #saved = 0;
  #saving = false;
  /** @type {{ change: number, resolve: () => void }[]} */
  #waiters = [];
  /** @type {Promise<void> | null} the save that includes the last change */
  #lastSave = null;

  /**
   * @param {Core} core
   * @param {StorageAdapter} adapter
   */
  constructor(core, adapter) {
    this.#core = core;
    this.#adapter = adapter;
  }

  async load() {
    const units = await this.#adapter.loadState();
    if (!Array.isArray(units)) return null;
    for (const entry of units) {
      if (entry && typeof entry.id === 'string') this.#stored.set(entry.id, entry);
    }
    for (const unit of this.#core.listUnits()) this.hydrate(unit);
    return units.length;
  }

  /**
   * Brings a unit's stored state back onto it and into the engine.
   * @param {Record<string, any>} unit
   */
  hydrate(unit) {
    const entry = this.#stored.get(unit.id);
    if (!entry) return;
    this.#stored.delete(unit.id);
    hydrateUnit(this.#core, unit, entry);
  }

  /**
   * A state change happened; returns a promise that resolves once a save includes it.
   * @returns {Promise<void>}
   */
  changed() {
    const change = ++this.#changes;
    /** @type {Promise<void>} */
    const done = new Promise((resolve) => this.#waiters.push({ change, resolve }));
    this.#lastSave = done;
    if (!this.#saving) {
      this.#saving = true;
      // Coalesce everything the current task changes into one save.
      // node:timers' setImmediate: fake timers in users' tests do not reach it.
      timers.setImmediate(() => this.#save());
    }
    return done;
  }

  async #save() {
    while (this.#saved < this.#changes) {
      const upTo = this.#changes;
      try {
        await this.#adapter.saveState(this.#core.snapshot());
      } catch (error) {
        console.error('[Synchronik] Failed to save state:', error);
      }
      this.#saved = upTo;
      const ready = this.#waiters.filter((w) => w.change <= upTo);
      this.#waiters = this.#waiters.filter((w) => w.change > upTo);
      for (const w of ready) w.resolve();
    }
    this.#saving = false;
  }

  /**
   * Resolves once every change so far is saved.
   * @returns {Promise<void>}
   */
  flush() {
    if (this.#saved >= this.#changes) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ change: this.#changes, resolve }));
  }

  /** The promise a state method returns: the save that includes the last change (see changed). */
  persisted() {
    return this.#lastSave !== null ? this.#lastSave : this.flush();
  }
}

module.exports = { FileStorageAdapter, Persistence, validateAdapter, toStoredUnits, hydrateUnit };
