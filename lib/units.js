// @ts-check
'use strict';

// The users' unit objects, by the engine's slot numbers, and everything
// about them as objects: their kind, the last error the engine reported,
// mirroring the engine's fields onto them (the object is the user's: a
// setter or getter that throws is reported, never thrown into the bridge),
// the specs the engine is given for them, and deep copies for snapshots.

const util = require('node:util');
const v = require('./validate');
const { ensureMeta, newMeta, pendingMeta, recordRun, recordPending, TimesState, lookupGetter, ROWS_PER_TABLE, ROW_LENGTH, newRows, clearRow, recordInRow, rowState } = require('./stats');
const { scheduleSpec } = require('./calendar');
const { Stamp, slotArray, setSlot } = require('./shapes');
const { engineRegisterWorker } = require('./native.js');

/**
 * @typedef {'worker' | 'process'} UnitKind
 * @typedef {import('./events').Events} Events
 * @typedef {import('./native').JsWorkerSpec} JsWorkerSpec
 * @typedef {import('./native').JsProcessSpec} JsProcessSpec
 * @typedef {import('./native').JsConfigPatch} JsConfigPatch
 * @typedef {Record<string, any>} Unit a registered worker or process object (the user's)
 */

/**
 * `lastRun` as a Date made when it is read, not on every run: at a unit's
 * first run its object gets an accessor for `lastRun`, whose state — the
 * run's start in Unix ms, and the Date once made (or what the user
 * assigned) — is kept in the state of the object's fields (see Fields:
 * one private field for both, invisible to its keys, `JSON.stringify` and
 * spreads, where a state and a private field of its own for `lastRun` cost
 * a first run an object and a change of the object's layout more). A run
 * then writes two fields of that state instead of allocating a Date nobody
 * may look at. Reading it twice gives the same Date; `JSON.stringify`,
 * spreads and snapshots see a field as before. An object whose `lastRun`
 * is its own accessor, comes from its prototype chain or cannot be
 * defined, that is not extensible, or that is a Proxy, keeps the plain
 * write. (A private field rather than a WeakMap from object to state: the
 * first run of 10,000 units no longer pays an identity hash and an
 * ephemeron table entry each, nor the collector a table to trace.)
 */
const hasOwn = (/** @type {object} */ o, /** @type {string} */ key) => Object.prototype.hasOwnProperty.call(o, key);
/** In a state's `lastRun`: the Date of its `lastRunMs` is not made yet (and in its `meta`: no meta made yet). */
const NOT_MADE = Symbol('synchronik.notMade');
/** In a state's `lastRun`: the object has no `lastRun` accessor (see makeLazyLastRun). */
const NO_LAST_RUN = Symbol('synchronik.noLastRun');

/**
 * The state of the `lastRun` accessor of `o` (any value may be asked), if it has one.
 * @param {unknown} o
 * @returns {FieldsState | undefined}
 */
function lastRunOf(o) {
  if ((typeof o !== 'object' || o === null) && typeof o !== 'function') return undefined;
  const state = fieldsOf(o, false);
  return state !== undefined && state.lastRun !== NO_LAST_RUN ? state : undefined;
}

/** @this {object} */
function lastRunGetter() {
  const state = lastRunOf(this);
  if (state === undefined) return undefined;
  if (state.lastRun === NOT_MADE) state.lastRun = new Date(state.lastRunMs);
  return state.lastRun;
}

/**
 * @this {object}
 * @param {unknown} value
 */
function lastRunSetter(value) {
  const state = lastRunOf(this);
  if (state !== undefined) state.lastRun = value;
}

/** The accessor's descriptors, one for every object (enumerable, and not: as the field it replaces was). */
const LAST_RUN_SHOWN = Object.freeze({ get: lastRunGetter, set: lastRunSetter, enumerable: true, configurable: true });
const LAST_RUN_HIDDEN = Object.freeze({ get: lastRunGetter, set: lastRunSetter, enumerable: false, configurable: true });

/**
 * Makes `lastRun` of `unit` the lazy accessor (see above), at its first
 * run, and returns its state; undefined when the object keeps the plain
 * write.
 * @param {Record<string, any>} unit
 * @param {number} ms
 * @returns {FieldsState | undefined}
 */
function makeLazyLastRun(unit, ms) {
  // Not extensible: it could not be given the private field either.
  if (util.types.isProxy(unit) || !Object.isExtensible(unit)) return undefined;
  let enumerable = true;
  if (hasOwn(unit, 'lastRun')) {
    // One the user gave at registration: replaced in its place.
    const own = /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(unit, 'lastRun'));
    if (own.configurable !== true || own.writable !== true) return undefined;
    enumerable = own.enumerable === true;
  } else if ('lastRun' in unit) {
    return undefined;
  }
  Object.defineProperty(unit, 'lastRun', enumerable ? LAST_RUN_SHOWN : LAST_RUN_HIDDEN);
  // An object made lazy before (then the user deleted the field) keeps its state.
  const state = /** @type {FieldsState} */ (fieldsOf(unit, true));
  state.lastRunMs = ms;
  state.lastRun = NOT_MADE;
  return state;
}

/**
 * `status`, `enabled` and `meta` of a registered object that came without
 * them are accessors (one descriptor each, the same for every object, so
 * that objects of one shape keep one shape), and the object holds nothing
 * for them until one is first written — by a run, a state change, a config
 * change or the user — or `meta` is first read: a registered unit that
 * never runs costs its object no room. (Three fields and a `meta` object
 * were about 100 bytes of heap a unit, and with the collector's copies of
 * them on their way to the old generation about 240 bytes of RSS: 100,000
 * idle workers read 131 MB with them, 107 without.) Until then they read
 * as a registration leaves them: 'idle', true, and a `meta` made at its
 * first read (the runs before keep their statistics in the state, see
 * Units.recordStats). From then on their values are kept in a private
 * field the object is given (`Fields`), with `lastRun`'s. JSON, spreads,
 * `Object.keys` and snapshots see the fields as before. A Proxy, and an
 * object with such a field of its own or on its prototype chain, get the
 * plain write at registration instead.
 */
class Fields extends Stamp {
  /** @type {FieldsState} */
  #state;

  /**
   * @param {object} o
   * @param {FieldsState} state
   */
  constructor(o, state) {
    super(o);
    this.#state = state;
  }

  /**
   * The state `o` was given, if any (any object may be asked).
   * @param {object} o
   * @returns {FieldsState | undefined}
   */
  static of(o) {
    return #state in o ? /** @type {any} */ (o).#state : undefined;
  }
}

/** A `Fields` state; made by a constructor, not a literal (see stats.js, TimesState). */
class FieldsState {
  constructor() {
    /** @type {unknown} */
    this.status = 'idle';
    /** @type {unknown} */
    this.enabled = true;
    /** @type {unknown} `meta`, once made or written (NOT_MADE before) */
    this.meta = NOT_MADE;
    /**
     * the statistics of the runs before `meta` was made (see
     * stats.js, recordPending), from which it is made
     * @type {TimesState | null}
     */
    this.stats = null;
    /**
     * where they are instead while there were few (see stats.js,
     * recordInRow): a table of the Units whose slot holds this object,
     * and the row's place in it
     * @type {Float64Array | null}
     */
    this.rows = null;
    this.rowAt = 0;
    /**
     * `lastRun` once its accessor is made (see makeLazyLastRun): the start
     * of the last run in Unix ms, a fraction until then (see stats.js,
     * newMeta), and NOT_MADE or the Date made from it, or what the user
     * assigned; NO_LAST_RUN before
     */
    this.lastRunMs = 0.5;
    /** @type {unknown} */
    this.lastRun = NO_LAST_RUN;
  }
}

/**
 * Turns the row that holds a state's statistics into its TimesState.
 * @param {FieldsState} state
 */
function leaveRow(state) {
  state.stats = rowState(/** @type {Float64Array} */ (state.rows), state.rowAt);
  state.rows = null;
}

/**
 * States of objects that could not be given the private field (a V8 that
 * refuses private fields on objects made non-extensible since their
 * registration).
 * @type {WeakMap<object, FieldsState>}
 */
const refusedFields = new WeakMap();
/** How many objects refusedFields has held (while none, it is not looked in). */
let refusedCount = 0;

/**
 * The state of `o`'s fields, made when `make` is set and it has none.
 * @param {object} o
 * @param {boolean} make
 * @returns {FieldsState | undefined}
 */
function fieldsOf(o, make) {
  const state = Fields.of(o);
  if (state !== undefined) return state;
  const refused = refusedCount > 0 ? refusedFields.get(o) : undefined;
  if (refused !== undefined || !make) return refused;
  const made = new FieldsState();
  try {
    new Fields(o, made);
  } catch {
    refusedFields.set(o, made);
    refusedCount++;
  }
  return made;
}

/**
 * The object whose field `key` is read through `self` (itself, or the
 * object of its prototype chain it was made from), or null when `self`
 * is not an object.
 * @param {unknown} self
 * @param {string} key
 * @returns {object | null}
 */
function holder(self, key) {
  if ((typeof self !== 'object' || self === null) && typeof self !== 'function') return null;
  /** @type {object | null} */
  let o = self;
  while (o !== null && !hasOwn(o, key)) o = Object.getPrototypeOf(o);
  return o === null ? self : o;
}

/**
 * A write through an object that does not hold the field itself (made
 * from one that does) makes a plain field of its own, as a write to a
 * data field of its prototype would.
 * @param {object} o
 * @param {string} key
 * @param {unknown} value
 */
function ownField(o, key, value) {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * The state of the field `key` read through `self` (see holder), if it
 * has one yet.
 * @param {unknown} self
 * @param {'status' | 'enabled'} key
 */
function stateRead(self, key) {
  const o = holder(self, key);
  return o === null ? undefined : fieldsOf(o, false);
}

/**
 * A write of `value` to the field `key` through `o`: into its state when
 * `o` holds the field, else a plain field of `o`'s own (see ownField).
 * @param {object} o
 * @param {'status' | 'enabled' | 'meta'} key
 * @param {unknown} value
 */
function stateWrite(o, key, value) {
  if (hasOwn(o, key)) /** @type {FieldsState} */ (fieldsOf(o, true))[key] = value;
  else ownField(o, key, value);
}

/** @this {unknown} */
function getStatus() {
  const state = stateRead(this, 'status');
  return state === undefined ? 'idle' : state.status;
}

/**
 * @this {object}
 * @param {unknown} value
 */
function setStatus(value) {
  stateWrite(this, 'status', value);
}

/** @this {unknown} */
function getEnabled() {
  const state = stateRead(this, 'enabled');
  return state === undefined ? true : state.enabled;
}

/**
 * @this {object}
 * @param {unknown} value
 */
function setEnabled(value) {
  stateWrite(this, 'enabled', value);
}

/** @this {unknown} */
function getMeta() {
  const o = holder(this, 'meta');
  if (o === null) return undefined;
  const state = /** @type {FieldsState} */ (fieldsOf(o, true));
  if (state.meta === NOT_MADE) {
    if (state.rows !== null) leaveRow(state);
    state.meta = state.stats !== null ? pendingMeta(state.stats) : newMeta();
    state.stats = null;
  }
  return state.meta;
}

/**
 * @this {object}
 * @param {unknown} value
 */
function setMeta(value) {
  const own = hasOwn(this, 'meta');
  stateWrite(this, 'meta', value);
  // The runs write into the meta given from now on: what they kept while
  // there was none goes.
  if (own) {
    const state = /** @type {FieldsState} */ (fieldsOf(this, true));
    state.stats = null;
    state.rows = null;
  }
}

const STATUS_FIELD = Object.freeze({ get: getStatus, set: setStatus, enumerable: true, configurable: true });
const ENABLED_FIELD = Object.freeze({ get: getEnabled, set: setEnabled, enumerable: true, configurable: true });
const META_FIELD = Object.freeze({ get: getMeta, set: setMeta, enumerable: true, configurable: true });

class Units {
  /**
   * @type {(Unit | undefined)[]} unit objects by slot (a slotArray: a `[]`
   * changed its elements kind at a manager's first registration, which
   * threw away the optimized code that registers, made for the previous
   * manager's table)
   */
  #units = slotArray();
  /**
   * @type {Set<number>} the slots that hold processes (the others that
   * hold a unit hold workers): a set rather than a kind by slot, which
   * every registration would grow
   */
  #processes = new Set();
  /**
   * @type {Map<number, unknown>} the last error of each slot's unit that
   * has one, as the engine reported it (what `error` events carry): by
   * slot in a map, which only failures grow
   */
  #errors = new Map();
  /** @type {(FieldsState | undefined)[]} each slot's unit's state of `lastRun`, once a run made its accessor */
  #lastRuns = slotArray();
  /** @type {(FieldsState | undefined)[]} each slot's unit's `Fields` state, once a status write made it */
  #fields = slotArray();
  /**
   * @type {(Float64Array | undefined)[]} the rows of statistics of the
   * slots' units whose `meta` is not made yet, one table for each
   * ROWS_PER_TABLE slots (see recordStats)
   */
  #rows = slotArray();
  /** @type {Map<string, number>} slots by id (the engine's registry, mirrored from registrations and RELEASED records) */
  #slots = new Map();
  /** @type {number[]} slots whose RELEASED record was carried out, not yet told to the engine */
  #released = [];
  #events;

  /** @param {Events} events where a throwing getter or setter is reported */
  constructor(events) {
    this.#events = events;
  }

  /**
   * The unit in `slot`, if any.
   * @param {number} slot
   */
  at(slot) {
    return this.#units[slot];
  }

  /** @param {number} slot */
  kindAt(slot) {
    if (this.#units[slot] === undefined) return undefined;
    return this.#processes.size > 0 && this.#processes.has(slot) ? 'process' : 'worker';
  }

  /**
   * The slot of unit `id`; -1 when none is registered.
   * @param {unknown} id
   */
  slot(id) {
    const slot = this.#slots.get(/** @type {string} */ (id));
    return slot === undefined ? -1 : slot;
  }

  /**
   * The unit registered as `id`, if it is of `kind` (any kind when omitted).
   * @param {unknown} id
   * @param {UnitKind} [kind]
   */
  byId(id, kind) {
    const slot = this.slot(id);
    if (slot < 0 || (kind !== undefined && this.kindAt(slot) !== kind)) return undefined;
    return this.#units[slot];
  }

  /**
   * The units of the engine's `slots` (registration order), of `kind` (any
   * kind when omitted).
   * @param {ArrayLike<number>} slots
   * @param {UnitKind} [kind]
   * @returns {Unit[]}
   */
  list(slots, kind) {
    const out = [];
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k];
      const unit = this.#units[s];
      if (unit !== undefined && (kind === undefined || this.kindAt(s) === kind)) out.push(unit);
    }
    return out;
  }

  /** Ids of the units whose object says they are running, quoted. */
  runningIds() {
    const running = [];
    for (const unit of this.#units) {
      if (unit !== undefined && this.field(unit, 'status') === 'running') running.push(`"${unit.id}"`);
    }
    return running;
  }

  /** How many slots the tables span (for diagnostics: they shrink when units go). */
  get slotCount() {
    return this.#units.length;
  }

  /** How many slots the set of process slots holds. */
  get kindSlotCount() {
    return this.#processes.size;
  }

  /**
   * Takes a registered object as the mirror of its slot.
   * @param {number} slot
   * @param {Unit} unit
   * @param {UnitKind} kind
   */
  adopt(slot, unit, kind) {
    this.#units[slot] = unit;
    this.#slots.set(unit.id, slot);
    if (kind === 'process') this.#processes.add(slot);
    else if (this.#processes.size > 0) this.#processes.delete(slot);
    if (this.#errors.size > 0) this.#errors.delete(slot);
    // A slot a replaced object held keeps nothing of its. (Only written
    // within their length: these tables grow with the first runs, not
    // with the registrations.)
    if (slot < this.#lastRuns.length) this.#lastRuns[slot] = undefined;
    this.#dropFields(slot);
    // See Fields. (Registration refuses objects that are not extensible.)
    const plain = util.types.isProxy(unit);
    if (!plain && !('status' in unit)) Object.defineProperty(unit, 'status', STATUS_FIELD);
    else if (this.field(unit, 'status') === undefined) this.mirror(unit, 'status', 'idle');
    if (!plain && !('enabled' in unit)) Object.defineProperty(unit, 'enabled', ENABLED_FIELD);
    else if (this.field(unit, 'enabled') === undefined) this.mirror(unit, 'enabled', true);
    if (!plain && !('meta' in unit)) {
      Object.defineProperty(unit, 'meta', META_FIELD);
      return;
    }
    try {
      ensureMeta(unit);
    } catch (e) {
      this.mirrorFailed(unit, 'meta', e);
    }
  }

  /**
   * The engine released `slot` (a RELEASED record).
   * @param {number} slot
   */
  release(slot) {
    const unit = this.#units[slot];
    if (unit && this.#slots.get(unit.id) === slot) this.#slots.delete(unit.id);
    this.#units[slot] = undefined;
    if (this.#processes.size > 0) this.#processes.delete(slot);
    if (this.#errors.size > 0) this.#errors.delete(slot);
    if (slot < this.#lastRuns.length) this.#lastRuns[slot] = undefined;
    this.#dropFields(slot);
    // The engine reuses the slot once told that this record was carried out.
    this.#released.push(slot);
  }

  /** How many released slots the engine has not been told about. */
  get releasedCount() {
    return this.#released.length;
  }

  /**
   * The released slots the engine has not been told about; empties the list.
   * @returns {number[]}
   */
  takeReleased() {
    const slots = this.#released;
    if (slots.length > 0) this.#released = [];
    return slots;
  }

  /** @param {number} slot */
  errorAt(slot) {
    return this.#errors.get(slot);
  }

  /**
   * @param {number} slot
   * @param {unknown} error
   */
  setError(slot, error) {
    if (error !== undefined) this.#errors.set(slot, error);
    else if (this.#errors.size > 0) this.#errors.delete(slot);
  }

  /**
   * The error a unit's failure carries: the one the engine reported (kept
   * even when the object refused it), else the object's `error`.
   * @param {number} slot
   */
  lastError(slot) {
    const kept = this.#errors.get(slot);
    return kept !== undefined ? kept : this.field(/** @type {Unit} */ (this.#units[slot]), 'error');
  }

  /**
   * Writes an engine-owned field onto the user's object. The object is the
   * engine's mirror, but it is the user's: a setter that throws (or a field
   * made read-only after registration) is reported like a throwing
   * listener, never thrown into the bridge. Returns whether it was written.
   * @param {Unit} unit
   * @param {string} field
   * @param {unknown} value
   */
  mirror(unit, field, value) {
    try {
      // The fields written on every run by name: a keyed write on objects
      // of many shapes goes through V8's generic (megamorphic) path.
      if (field === 'status') unit.status = value;
      else if (field === 'error') unit.error = value;
      else unit[field] = value;
      return true;
    } catch (e) {
      this.mirrorFailed(unit, field, e);
      return false;
    }
  }

  /**
   * Writes the status of `unit` (in `slot`): into the state of its
   * `status` accessor (see Fields), reached by the slot, while the object
   * has the field; otherwise through the object (whose accessor makes
   * the state at the first write).
   * @param {number} slot
   * @param {Unit} unit
   * @param {unknown} value
   */
  mirrorStatus(slot, unit, value) {
    const fields = this.#fields[slot];
    if (fields !== undefined && hasOwn(unit, 'status')) {
      fields.status = value;
      return;
    }
    this.#writeStatus(slot, unit, value);
  }

  /**
   * mirrorStatus of a unit whose state the slot does not hold yet, or
   * whose field the user deleted.
   * @param {number} slot
   * @param {Unit} unit
   * @param {unknown} value
   */
  #writeStatus(slot, unit, value) {
    this.#dropFields(slot);
    let ours = false;
    try {
      ours = lookupGetter.call(unit, 'status') === getStatus && hasOwn(unit, 'status');
    } catch {
      // A Proxy whose traps throw: written through the object each time.
    }
    if (!ours) {
      this.mirror(unit, 'status', value);
      return;
    }
    // The accessor's write, without calling it.
    const state = /** @type {FieldsState} */ (fieldsOf(unit, true));
    state.status = value;
    setSlot(this.#fields, slot, state);
  }

  /**
   * The slot's unit no longer has its `Fields` state reached by the slot:
   * statistics kept in the slot's row go into the state (the row is the
   * next unit's).
   * @param {number} slot
   */
  #dropFields(slot) {
    if (slot >= this.#fields.length) return;
    const fields = this.#fields[slot];
    if (fields !== undefined && fields.rows !== null) leaveRow(fields);
    this.#fields[slot] = undefined;
  }

  /**
   * A run of `unit` (in `slot`) ended: its statistics, read from
   * `record[at]` on (see recordRun), go into its `meta`. While nobody has
   * read the `meta` of an object whose field is the accessor (see Fields),
   * there is none: they are kept in the slot's row (the first few runs,
   * see stats.js, recordInRow), then in the state of its fields, reached
   * by the slot (see mirrorStatus), and the `meta` is made from them when
   * it is read (see stats.js, recordPending). Otherwise they are written
   * into the `meta` the object shows. A state holds a row only while the
   * slot of the row reaches the state (see #dropFields): no other state
   * can take the row meanwhile, whichever manager runs the object.
   * @param {number} slot
   * @param {Unit} unit
   * @param {Float64Array} record
   * @param {number} at
   */
  recordStats(slot, unit, record, at) {
    const fields = this.#fields[slot];
    if (fields !== undefined && hasOwn(unit, 'meta')) {
      if (fields.meta !== NOT_MADE) {
        recordRun(unit, fields.meta, record, at);
        return;
      }
      const rows = fields.rows;
      if (rows !== null) {
        if (recordInRow(rows, fields.rowAt, record, at)) return;
        leaveRow(fields);
      }
      if (fields.stats !== null) {
        recordPending(fields.stats, record, at);
        return;
      }
      if (lookupGetter.call(unit, 'meta') === getMeta) {
        const table = Math.floor(slot / ROWS_PER_TABLE);
        let made = this.#rows[table];
        if (made === undefined) setSlot(this.#rows, table, (made = newRows()));
        const rowAt = (slot % ROWS_PER_TABLE) * ROW_LENGTH;
        clearRow(made, rowAt);
        fields.rows = made;
        fields.rowAt = rowAt;
        recordInRow(made, rowAt, record, at);
        return;
      }
    }
    recordRun(unit, unit.meta, record, at);
  }

  /**
   * A run of `unit` (in `slot`) started at `record[at]` (Unix ms): its
   * `lastRun` (see lastRunGetter). The time is read from the record here, where
   * it is stored, rather than passed: a double passed to a call that is
   * not inlined is boxed, a number object every run. Only the steady
   * case is here, small enough for V8 to inline into the drain loop with
   * the other steps of a run; a first run is #firstLastRun's.
   * @param {number} slot
   * @param {Unit} unit
   * @param {Float64Array} record
   * @param {number} at
   */
  mirrorLastRun(slot, unit, record, at) {
    // The slot's state: an index, where the object's is a private field's lookup.
    const state = this.#lastRuns[slot];
    if (state !== undefined && hasOwn(unit, 'lastRun')) {
      state.lastRunMs = record[at];
      state.lastRun = NOT_MADE;
      return;
    }
    this.#firstLastRun(slot, unit, state, record[at]);
  }

  /**
   * `lastRun` of a unit with no state in its slot yet (its first run
   * here), whose field the user deleted, or that keeps the plain write.
   * @param {number} slot
   * @param {Unit} unit
   * @param {FieldsState | undefined} state the slot's state (mirrorLastRun's)
   * @param {number} ms
   */
  #firstLastRun(slot, unit, state, ms) {
    // Made lazy before, by another manager.
    if (state === undefined && (state = lastRunOf(unit)) !== undefined) setSlot(this.#lastRuns, slot, state);
    if (state !== undefined) {
      if (hasOwn(unit, 'lastRun')) {
        state.lastRunMs = ms;
        state.lastRun = NOT_MADE;
        return;
      }
      // The user deleted the field: it is made anew, as a plain write would.
      this.#lastRuns[slot] = undefined;
    }
    try {
      const lazy = makeLazyLastRun(unit, ms);
      if (lazy !== undefined) {
        setSlot(this.#lastRuns, slot, lazy);
        return;
      }
    } catch {
      // Its field could not be read or defined: the plain write below.
    }
    this.mirror(unit, 'lastRun', new Date(ms));
  }

  /**
   * @param {Unit} unit
   * @param {string} field
   * @param {unknown} error
   */
  mirrorFailed(unit, field, error) {
    let unitId;
    try {
      unitId = unit.id;
    } catch {
      unitId = '?';
    }
    this.#events.reportListenerError(error, { type: 'mirror', unitId, field });
  }

  /**
   * Reads a field of the user's object; a getter that throws is reported and reads as undefined.
   * @param {Unit} unit
   * @param {string} field
   */
  field(unit, field) {
    try {
      // As in mirror: the field read on every run by name.
      return field === 'error' ? unit.error : field === 'status' ? unit.status : unit[field];
    } catch (e) {
      this.mirrorFailed(unit, field, e);
      return undefined;
    }
  }
}

/**
 * Converts a validated worker object into the engine's spec: into `s`
 * when given (a spec object used again, see Core.register), else into a
 * new one.
 * @param {Unit} w
 * @param {JsWorkerSpec} [s]
 * @returns {JsWorkerSpec}
 */
function workerSpec(w, s = emptyWorkerSpec()) {
  s.id = w.id;
  s.enabled = w.enabled;
  s.status = w.status;
  s.runCount = w.meta && Number.isFinite(w.meta.runCount) ? w.meta.runCount : undefined;
  s.intervalMs = w.intervalMs;
  s.runOnInterval = w.runOnInterval;
  s.maxRuns = w.maxRuns;
  s.timeoutMs = w.timeoutMs;
  s.maxRetries = w.maxRetries;
  s.retryDelayMs = typeof w.retryDelayMs === 'number' ? w.retryDelayMs : undefined;
  s.retryDelayPerRetry = typeof w.retryDelayMs === 'function';
  s.overlap = w.overlap;
  s.dependsOn = w.dependsOn
    ? w.dependsOn.map((/** @type {any} */ d) => ({ id: v.dependencyId(d), conditional: typeof d === 'object' && typeof d.condition === 'function' }))
    : undefined;
  // Checked by validate.js already, which made its spec.
  s.schedule = w.schedule === undefined ? undefined : (v.checkedScheduleSpec(w.schedule) ?? scheduleSpec('registerUnit', 'worker.schedule', w.schedule));
  return s;
}

/**
 * A worker spec with every field, none given (one layout for every spec).
 * @returns {JsWorkerSpec}
 */
function emptyWorkerSpec() {
  return {
    id: '',
    enabled: undefined,
    status: undefined,
    runCount: undefined,
    intervalMs: undefined,
    runOnInterval: undefined,
    maxRuns: undefined,
    timeoutMs: undefined,
    maxRetries: undefined,
    retryDelayMs: undefined,
    retryDelayPerRetry: false,
    overlap: undefined,
    dependsOn: undefined,
    schedule: undefined,
  };
}

/** A number for the engine's arguments: NaN when absent. @param {number | undefined} x */
const given = (x) => (x === undefined ? NaN : x);
/** A flag for the engine's arguments: 1 or 0, NaN when absent. @param {boolean | undefined} x */
const givenFlag = (x) => (x === undefined ? NaN : x ? 1 : 0);

/**
 * Registers a standalone worker from its spec, the fields passed as
 * arguments (the binding reads no spec object by name); returns its slot.
 * @param {number} handle the engine's handle (Bridge.handle)
 * @param {JsWorkerSpec} s
 * @returns {number}
 */
function registerWorker(handle, s) {
  return engineRegisterWorker(
    handle,
    s.id,
    givenFlag(s.enabled),
    s.status,
    given(s.runCount),
    given(s.intervalMs),
    givenFlag(s.runOnInterval),
    given(s.maxRuns),
    given(s.timeoutMs),
    given(s.maxRetries),
    given(s.retryDelayMs),
    givenFlag(s.retryDelayPerRetry),
    s.overlap,
    s.dependsOn,
    s.schedule,
  );
}

/** Numbers per worker in a process's spec (the binding's WORKER_NUMBERS): registerWorker's numbers, in its order. */
const WORKER_NUMBERS = 9;

/**
 * Converts a validated process object (and its workers) into the engine's
 * spec: the workers as columns (ids, numbers, and the other fields only
 * when a worker has them), which the binding reads without a name lookup
 * per field of every worker.
 * @param {Unit} p
 * @returns {JsProcessSpec}
 */
function processSpec(p) {
  const workers = p.workers;
  const count = workers.length;
  const workerIds = new Array(count);
  const numbers = new Float64Array(count * WORKER_NUMBERS);
  /** @type {(string | null)[] | undefined} */
  let statuses;
  /** @type {(string | null)[] | undefined} */
  let overlaps;
  /** @type {(import('./native').JsDependency[] | null)[] | undefined} */
  let dependsOn;
  /** @type {(import('./native').JsSchedule | null)[] | undefined} */
  let schedules;
  /** A column of `count` nulls. */
  const column = () => new Array(count).fill(null);
  for (let k = 0; k < count; k++) {
    const s = workerSpec(workers[k]);
    workerIds[k] = s.id;
    const at = k * WORKER_NUMBERS;
    numbers[at] = givenFlag(s.enabled);
    numbers[at + 1] = given(s.runCount);
    numbers[at + 2] = given(s.intervalMs);
    numbers[at + 3] = givenFlag(s.runOnInterval);
    numbers[at + 4] = given(s.maxRuns);
    numbers[at + 5] = given(s.timeoutMs);
    numbers[at + 6] = given(s.maxRetries);
    numbers[at + 7] = given(s.retryDelayMs);
    numbers[at + 8] = givenFlag(s.retryDelayPerRetry);
    if (s.status != null) (statuses ??= column())[k] = s.status;
    if (s.overlap != null) (overlaps ??= column())[k] = s.overlap;
    if (s.dependsOn !== undefined) (dependsOn ??= column())[k] = s.dependsOn;
    if (s.schedule != null) (schedules ??= column())[k] = s.schedule;
  }
  return {
    id: p.id,
    enabled: p.enabled,
    status: p.status,
    runCount: p.meta && Number.isFinite(p.meta.runCount) ? p.meta.runCount : undefined,
    runMode: p.runMode,
    batchSize: p.batchSize,
    isolationDelayMs: p.isolationDelayMs,
    concurrency: p.concurrency,
    workerIds,
    workerNumbers: numbers,
    workerStatuses: statuses,
    workerOverlaps: overlaps,
    workerDependsOn: dependsOn,
    workerSchedules: schedules,
  };
}

/**
 * The engine-relevant part of a config change.
 * @param {Record<string, any>} patch
 * @returns {JsConfigPatch & { status?: string }}
 */
function patchSpec(patch) {
  /** @type {Record<string, any>} */
  const out = {};
  /** @type {(key: string, value: unknown) => void} */
  const copy = (key, value) => {
    if (value !== undefined) out[key] = value;
  };
  copy('enabled', patch.enabled);
  copy('intervalMs', patch.intervalMs);
  copy('runOnInterval', patch.runOnInterval);
  copy('maxRuns', patch.maxRuns);
  copy('timeoutMs', patch.timeoutMs);
  copy('maxRetries', patch.maxRetries);
  if (typeof patch.retryDelayMs === 'function') out.retryDelayPerRetry = true;
  else if (patch.retryDelayMs !== undefined) {
    out.retryDelayMs = patch.retryDelayMs;
    out.retryDelayPerRetry = false;
  }
  copy('overlap', patch.overlap);
  copy('runMode', patch.runMode);
  copy('batchSize', patch.batchSize);
  copy('isolationDelayMs', patch.isolationDelayMs);
  copy('concurrency', patch.concurrency);
  if (Object.prototype.hasOwnProperty.call(patch, 'schedule')) {
    if (patch.schedule === undefined || patch.schedule === null) out.scheduleRemoved = true;
    else out.schedule = scheduleSpec('updateWorkerConfig', 'config.schedule', patch.schedule);
  }
  return out;
}

/**
 * Fields the snapshot and the `updated` payload leave out.
 * @param {unknown} value
 */
const isCopyable = (value) => typeof value !== 'function';

/**
 * A deep copy without functions (for snapshots and event payloads). Never
 * throws: a value that cannot be read (a throwing getter, a Proxy whose
 * traps throw) is left out of the copy.
 * @param {unknown} value
 * @returns {any}
 */
function plainCopy(value, seen = new WeakMap()) {
  try {
    return copyOf(value, seen);
  } catch {
    return undefined;
  }
}

/**
 * @param {unknown} value
 * @param {WeakMap<object, any>} seen
 */
function copyOf(value, seen) {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (seen.has(value)) return seen.get(value);
  if (value instanceof Error) {
    try {
      return errorCopy(value, seen);
    } catch {
      // An error that cannot be read (a Proxy whose traps throw) is shown as it is.
      seen.set(value, value);
      return value;
    }
  }
  if (Array.isArray(value)) {
    /** @type {unknown[]} */
    const out = [];
    seen.set(value, out);
    for (const item of value) if (isCopyable(item)) out.push(plainCopy(item, seen));
    return out;
  }
  const out = {};
  seen.set(value, out);
  for (const key of Object.keys(value)) {
    let item;
    try {
      item = /** @type {Record<string, unknown>} */ (value)[key];
    } catch {
      continue;
    }
    if (isCopyable(item)) v.setField(out, key, plainCopy(item, seen));
  }
  return out;
}

/**
 * A copy of an error that is what the error is: an error object (as
 * `util.types.isNativeError` tells) of the error's own class — a
 * SynchronikError stays one — with the error's own fields: message, stack,
 * cause, and what its class adds, such as a SynchronikError's `name`,
 * `code` and `unitId` (the `UnitError` of index.d.ts), each copied as deep
 * as the rest of the snapshot and as enumerable as on the error.
 * (structuredClone keeps message, stack and cause only: a SynchronikError
 * came back a plain Error without its code, and a DOMException as an
 * empty object.) A DOMException's class reads its name and message from
 * the object itself, so its copy is made by its own constructor.
 * @param {Error} error
 * @param {WeakMap<object, any>} seen
 */
function errorCopy(error, seen) {
  const isDomException = typeof DOMException === 'function' && error instanceof DOMException;
  const out = isDomException ? new DOMException(error.message, error.name) : new Error();
  if (!isDomException) Object.setPrototypeOf(out, Object.getPrototypeOf(error));
  // The copy's stack is the error's, not where the copy was made.
  delete out.stack;
  seen.set(error, out);
  for (const key of Object.getOwnPropertyNames(error)) {
    let enumerable;
    let item;
    try {
      enumerable = Object.prototype.propertyIsEnumerable.call(error, key);
      item = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (error))[key];
    } catch {
      continue;
    }
    if (isCopyable(item)) Object.defineProperty(out, key, { value: plainCopy(item, seen), writable: true, enumerable, configurable: true });
  }
  return out;
}

module.exports = { Units, workerSpec, emptyWorkerSpec, registerWorker, processSpec, patchSpec, plainCopy };
