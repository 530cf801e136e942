'use strict';

// Persistence of unit state (synchronik 2.3's storage API): the
// StorageAdapter contract, the JSON file adapter, and the manager's side of
// it — hydrating units from stored state and saving after changes.

const fs = require('node:fs');
const path = require('node:path');
const timers = require('node:timers');
const v = require('./validate');

/** Unit objects as JSON-ready data: no functions, at any depth. */
function toStoredUnits(units) {
  return JSON.parse(
    JSON.stringify(units, (key, value) => {
      if (typeof value === 'function') return undefined;
      if (value instanceof Error) return { name: value.name, message: value.message, code: value.code };
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

  /** Writes the units (without functions). */
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
      if (error && error.code === 'ENOENT') return null;
      throw error;
    }
    try {
      const data = JSON.parse(text);
      if (!Array.isArray(data)) throw new SyntaxError('the stored state is not an array of units');
      return data;
    } catch (error) {
      console.error('[Synchronik] Failed to load state due to corrupted file. Starting fresh.', error.message);
      return null;
    }
  }
}

/** Checks that an object keeps the StorageAdapter contract. */
function validateAdapter(method, adapter) {
  if (typeof adapter !== 'object' || adapter === null) throw v.fail(method, 'adapter', 'an object with saveState and loadState', adapter);
  v.check(method, 'adapter.saveState', adapter.saveState, (x) => typeof x === 'function', 'a function');
  v.check(method, 'adapter.loadState', adapter.loadState, (x) => typeof x === 'function', 'a function');
}

/**
 * Brings a stored entry (`{ status?, enabled?, meta?, lastRun? }`, as
 * saveState wrote it) back onto a registered unit and into the engine,
 * without announcing anything.
 */
function hydrateUnit(manager, unit, entry) {
  // A unit stored while it ran comes back idle: nothing is running it now.
  const status = entry.status === 'running' ? 'idle' : v.STATUSES.includes(entry.status) ? entry.status : undefined;
  const enabled = typeof entry.enabled === 'boolean' ? entry.enabled : undefined;
  const meta = v.isObject(entry.meta) ? entry.meta : undefined;
  const runCount = meta && Number.isFinite(meta.runCount) ? meta.runCount : undefined;
  const times = meta && Array.isArray(meta.executionTimesMs) ? meta.executionTimesMs.filter(Number.isFinite) : [];
  const lastRun = entry.lastRun !== undefined ? new Date(entry.lastRun) : undefined;
  const lastRunMs = lastRun && !Number.isNaN(lastRun.getTime()) ? lastRun.getTime() : undefined;
  manager._native.restore(unit.id, status, enabled, runCount, Float64Array.from(times), lastRunMs);
  // The engine has the state now; the object mirrors it (a setter that
  // throws is reported, as for every write-back).
  if (status !== undefined && manager._field(unit, 'status') !== 'running') manager._mirror(unit, 'status', status);
  if (enabled !== undefined) manager._mirror(unit, 'enabled', enabled);
  if (meta) {
    let current;
    try {
      current = { ...unit.meta };
    } catch {
      current = {};
    }
    manager._mirror(unit, 'meta', { ...current, ...meta });
  }
  if (lastRunMs !== undefined) manager._mirror(unit, 'lastRun', new Date(lastRunMs));
}

/**
 * The manager's persistence: remembers stored state by unit id, hydrates
 * units with it, and saves after changes — coalesced (a burst of changes is
 * one write) and ordered (one save at a time, each newer than the last).
 */
class Persistence {
  constructor(manager, adapter) {
    this._m = manager;
    this._adapter = adapter;
    /** Stored state by unit id, for units registered later. */
    this._stored = new Map();
    this._changes = 0;
    this._saved = 0;
    this._saving = false;
    this._waiters = [];
  }

  async load() {
    const units = await this._adapter.loadState();
    if (!Array.isArray(units)) return null;
    for (const entry of units) {
      if (entry && typeof entry.id === 'string') this._stored.set(entry.id, entry);
    }
    for (const unit of this._m.listUnits()) this.hydrate(unit);
    return units.length;
  }

  /** Brings a unit's stored state back onto it and into the engine. */
  hydrate(unit) {
    const entry = this._stored.get(unit.id);
    if (!entry) return;
    this._stored.delete(unit.id);
    hydrateUnit(this._m, unit, entry);
  }

  /** A state change happened; returns a promise that resolves once a save includes it. */
  changed() {
    const change = ++this._changes;
    const done = new Promise((resolve) => this._waiters.push({ change, resolve }));
    if (!this._saving) {
      this._saving = true;
      // Coalesce everything the current task changes into one save.
      // node:timers' setImmediate: fake timers in users' tests do not reach it.
      timers.setImmediate(() => this._save());
    }
    return done;
  }

  async _save() {
    while (this._saved < this._changes) {
      const upTo = this._changes;
      try {
        await this._adapter.saveState(this._m.getRegistrySnapshot());
      } catch (error) {
        console.error('[Synchronik] Failed to save state:', error);
      }
      this._saved = upTo;
      const ready = this._waiters.filter((w) => w.change <= upTo);
      this._waiters = this._waiters.filter((w) => w.change > upTo);
      for (const w of ready) w.resolve();
    }
    this._saving = false;
  }

  /** Resolves once every change so far is saved. */
  flush() {
    if (this._saved >= this._changes) return Promise.resolve();
    return new Promise((resolve) => this._waiters.push({ change: this._changes, resolve }));
  }
}

module.exports = { FileStorageAdapter, Persistence, validateAdapter, toStoredUnits, hydrateUnit };
