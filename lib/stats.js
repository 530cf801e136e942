// @ts-check
'use strict';

// Run statistics on a unit's `meta`: `runCount`, `executionTimesMs` (the
// last EXECUTION_TIMES_KEPT durations, oldest first), `averageExecutionTimeMs`
// (their mean) and `lastDurationMs`.
//
// The engine keeps and computes them (Meta::record in
// crates/synchronik-core/src/unit.rs); the unit object mirrors them. This is
// the one place of the facade that writes them: after a run (the engine's
// STATS record carries the duration, the run count and the average) and
// after stored state is brought back (the engine rebuilt its statistics from
// the stored durations and says nothing, so the mirror is rebuilt the same
// way here). A unit whose `meta` nobody has read has none yet: a run keeps
// its statistics in a TimesState, from which the `meta` is made when read
// (recordPending, pendingMeta).

const util = require('node:util');
const v = require('./validate');
const { DEFAULTS } = require('./generated/vocabulary');
const { Stamp } = require('./shapes');

/** How many durations `executionTimesMs` keeps (the engine's EXECUTION_TIMES_KEPT). */
const EXECUTION_TIMES_KEPT = DEFAULTS.executionTimesKept;

/**
 * `executionTimesMs` as an array made when it is read, not grown by every
 * run. An array that every run pushes onto is kept for the unit's life and
 * gets a larger store as it grows, every worker of a schedule at the same
 * runs: each new store outlived the young generation, and the collector
 * copied and promoted megabytes of them at once, the pauses that made the
 * timers' p99. The `meta` object the facade completes at registration gets
 * an enumerable accessor for `executionTimesMs` in the field's place (an
 * accessor added as a new property keeps the object's fast layout; a data
 * field turned into one later would not). Its state — the kept durations
 * in a ring made at the first run (small at first, then outside the
 * JavaScript heap: see FIRST_RING), and the array once made (or what the
 * user assigned) — is kept in a private field of the meta object
 * (`Times`), made at the first run or read, invisible to its keys,
 * `JSON.stringify` and spreads. A run writes one number and forgets the
 * array; reading the field twice between runs gives the same array. A
 * `meta` that comes with an `executionTimesMs` of its own, is not
 * extensible or is a Proxy keeps the plain push, and so does one whose
 * user assigned anything but an array of numbers.
 */
class Times extends Stamp {
  /** @type {TimesState} */
  #state;

  /**
   * @param {object} o
   * @param {TimesState} state
   */
  constructor(o, state) {
    super(o);
    this.#state = state;
  }

  /**
   * The state `o` was given, if any (any value may be asked).
   * @param {unknown} o
   * @returns {TimesState | undefined}
   */
  static of(o) {
    return ((typeof o === 'object' && o !== null) || typeof o === 'function') && #state in o ? /** @type {any} */ (o).#state : undefined;
  }
}

/** In a state's `value`: the array of its durations is not made yet. */
const NOT_MADE = Symbol('synchronik.executionTimesNotMade');
const hasOwn = (/** @type {object} */ o, /** @type {string} */ key) => Object.prototype.hasOwnProperty.call(o, key);
/** The getter of a field, without making its descriptor. */
const lookupGetter = /** @type {(this: object, key: string) => Function | undefined} */ (/** @type {any} */ (Object.prototype).__lookupGetter__);

/**
 * The state of a meta object's `executionTimesMs` (see Times). Made by a
 * constructor rather than an object literal, as are the other objects a
 * unit's first run makes: V8 decides from a literal's objects, at a
 * collection, whether to make its later ones in the old generation, and
 * throws away the optimized code that makes them when the decision
 * changes, which it does when the first runs of a large new set of units
 * begin (a new manager's, or a large process's).
 */
class TimesState {
  constructor() {
    /** whether the field is the accessor (false: the user made it a plain value) */
    this.lazy = true;
    /**
     * where the kept durations are (null until there is one): `cap` of
     * them from `base` on, the oldest at `(next - count) mod cap`
     * @type {Float64Array | number[] | null}
     */
    this.ring = null;
    this.base = 0;
    this.cap = 0;
    /** where the next duration goes */
    this.next = 0;
    /** how many are kept */
    this.count = 0;
    /**
     * the array once made, or what the user assigned; NOT_MADE after a run
     * @type {unknown}
     */
    this.value = NOT_MADE;
    // A unit's statistics while its `meta` is not made (see recordPending):
    // the run count, the mean of the kept durations and the last one
    // (fractions from the start, for the reason newMeta gives).
    this.runCount = 0;
    this.averageMs = 0.5;
    this.lastMs = 0.5;
  }
}

/**
 * Whether `value` can be kept in the ring: an array of numbers.
 * @param {unknown} value
 * @returns {value is number[]}
 */
function numbersOnly(value) {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'number') return false;
  return true;
}

/**
 * The state of `meta`'s accessor, made now if it was not yet; undefined
 * when the object can no longer be given one (made not extensible since).
 * @param {object} meta
 * @returns {TimesState | undefined}
 */
function stateOf(meta) {
  let state = Times.of(meta);
  if (state === undefined && Object.isExtensible(meta)) {
    state = new TimesState();
    new Times(meta, state);
  }
  return state;
}

/**
 * Durations a ring holds at first: an array of eight doubles, made in a
 * few nanoseconds. The ring gets its full size when it has
 * more to hold, at a unit's ninth run: EXECUTION_TIMES_KEPT doubles in a
 * shared block outside the JavaScript heap (a Float64Array of its own for
 * every ring cost tens of thousands of instructions to make, every worker
 * of a schedule at the same run).
 */
const FIRST_RING = 8;

/**
 * A ring of FIRST_RING doubles: a copy of one array (not a literal per
 * ring, see TimesState) whose elements are doubles, so writes never change
 * their kind.
 */
const FIRST_RING_TEMPLATE = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
const firstRing = () => FIRST_RING_TEMPLATE.slice();

/**
 * Full rings: blocks of RINGS_PER_BLOCK of them, a ring's place given back
 * when its meta object is collected (a FinalizationRegistry), and taken
 * again by the next ring that grows.
 */
const RINGS_PER_BLOCK = 64;
/** @type {Float64Array[]} */
const blocks = [];
/** @type {number[]} places given back */
const freePlaces = [];
let places = 0;
const placesBack = new FinalizationRegistry((/** @type {number} */ place) => {
  freePlaces.push(place);
});

/**
 * Gives a state its first ring.
 * @param {TimesState} state
 */
function startRing(state) {
  state.ring = firstRing();
  state.base = 0;
  state.cap = FIRST_RING;
}

/**
 * The durations a state's ring holds, the oldest first.
 * @param {TimesState} state
 * @returns {number[]}
 */
function kept(state) {
  /** @type {number[]} */
  const times = [];
  const { ring, base, cap } = state;
  if (ring === null) return times;
  let i = state.next - state.count;
  if (i < 0) i += cap;
  for (let k = 0; k < state.count; k++) {
    times.push(ring[base + i]);
    i = i + 1 === cap ? 0 : i + 1;
  }
  return times;
}

/**
 * Gives a state a full ring, holding what its ring holds. The ring's place
 * is given back when the state is collected (with the meta object that
 * holds it, if one was made).
 * @param {TimesState} state
 */
function grow(state) {
  let place = freePlaces.pop();
  if (place === undefined) {
    place = places++;
    if (place % RINGS_PER_BLOCK === 0) blocks.push(new Float64Array(RINGS_PER_BLOCK * EXECUTION_TIMES_KEPT));
  }
  placesBack.register(state, place);
  const block = blocks[Math.floor(place / RINGS_PER_BLOCK)];
  const base = (place % RINGS_PER_BLOCK) * EXECUTION_TIMES_KEPT;
  block.set(kept(state), base);
  state.ring = block;
  state.base = base;
  state.cap = EXECUTION_TIMES_KEPT;
  state.next = state.count === EXECUTION_TIMES_KEPT ? 0 : state.count;
}

/**
 * Puts the last EXECUTION_TIMES_KEPT of `times` in the ring of a state.
 * @param {TimesState} state
 * @param {number[]} times
 */
function load(state, times) {
  const count = Math.min(times.length, EXECUTION_TIMES_KEPT);
  state.count = 0;
  state.next = 0;
  if (count > FIRST_RING && state.cap < EXECUTION_TIMES_KEPT) grow(state);
  else if (state.ring === null) startRing(state);
  const ring = /** @type {Float64Array | number[]} */ (state.ring);
  for (let k = 0, i = times.length - count; k < count; k++, i++) ring[state.base + k] = times[i];
  state.count = count;
  state.next = count === state.cap ? 0 : count;
}

/**
 * Adds a duration to the ring of a state (the oldest goes when it is full).
 * @param {TimesState} state
 * @param {number} durationMs
 */
function add(state, durationMs) {
  if (state.ring === null) {
    startRing(state);
  } else if (state.count === state.cap && state.cap < EXECUTION_TIMES_KEPT) {
    grow(state);
  }
  /** @type {Float64Array | number[]} */ (state.ring)[state.base + state.next] = durationMs;
  state.next = state.next + 1 === state.cap ? 0 : state.next + 1;
  if (state.count < state.cap) state.count++;
  state.value = NOT_MADE;
}

/**
 * Turns the accessor of `meta` into a plain field holding `value`.
 * @param {object} meta
 * @param {unknown} value
 */
function makePlain(meta, value) {
  const own = Object.getOwnPropertyDescriptor(meta, 'executionTimesMs');
  Object.defineProperty(meta, 'executionTimesMs', { value, writable: true, enumerable: own ? own.enumerable === true : true, configurable: true });
}

/** @this {object} */
function timesGetter() {
  const state = stateOf(this);
  if (state === undefined) {
    // Made not extensible before its first run: a plain array from now on.
    /** @type {number[]} */
    const times = [];
    makePlain(this, times);
    return times;
  }
  if (state.value === NOT_MADE) state.value = kept(state);
  return state.value;
}

/**
 * What the user assigns is what the field shows until the next run, which
 * adds its duration to it, as a push would have. Anything but an array of
 * numbers makes the field a plain value again, and the runs push as before.
 * @this {object}
 * @param {unknown} value
 */
function timesSetter(value) {
  const state = stateOf(this);
  if (state !== undefined && numbersOnly(value)) {
    load(state, value);
    state.value = value;
    return;
  }
  if (state !== undefined) state.lazy = false;
  makePlain(this, value);
}

/**
 * Gives `meta` the lazy `executionTimesMs` holding `times`, as a new
 * field; false when it cannot have one (it has the field already, is not
 * extensible, or is a Proxy).
 * @param {object} meta
 * @param {number[]} times
 * @returns {boolean}
 */
function giveTimes(meta, times) {
  if ('executionTimesMs' in meta || util.types.isProxy(meta) || !Object.isExtensible(meta)) return false;
  Object.defineProperty(meta, 'executionTimesMs', TIMES_ACCESSOR);
  // An object whose field was deleted keeps its state: what it holds now
  // is `times`, as for a new array.
  const state = Times.of(meta);
  if (state !== undefined) {
    state.lazy = true;
    state.value = NOT_MADE;
    load(state, times);
  } else if (times.length > 0) {
    const made = stateOf(meta);
    if (made !== undefined) load(made, times);
  }
  return true;
}

/** The field's descriptor, one for every meta object. */
const TIMES_ACCESSOR = Object.freeze({ get: timesGetter, set: timesSetter, enumerable: true, configurable: true });

/**
 * Whether `meta.executionTimesMs` is the lazy accessor.
 * @param {object} meta
 */
function hasLazyTimes(meta) {
  return hasOwn(meta, 'executionTimesMs') && lookupGetter.call(meta, 'executionTimesMs') === timesGetter;
}

/** The largest count kept as a small integer (V8's, on every platform it runs on). */
const SMALL_INT_MAX = 2 ** 30 - 1;

/** Statistics the engine keeps in `meta`; a new `meta` object keeps them, and stores give them their own columns. */
const ENGINE_META = Object.freeze(['runCount', 'executionTimesMs', 'averageExecutionTimeMs', 'lastDurationMs']);

/**
 * @typedef {object} RunStats
 * @property {number} runCount
 * @property {number[]} executionTimesMs
 * @property {number} averageExecutionTimeMs
 * @property {number} [lastDurationMs]
 */

/**
 * A `meta` object with the statistics' fields of a unit that has not run.
 * From an empty literal: its room for four fields holds runCount,
 * averageExecutionTimeMs and lastDurationMs (the accessor takes none).
 * The mean starts as null, then 0: a field that can hold any value. The
 * engine's numbers are read from a Float64Array, as heap numbers in
 * unoptimized code; a field that started as a small integer would change
 * its representation at the first run that stored a fraction, which
 * replaces the layout of every meta object and throws away the optimized
 * code that knew it (see IdTable), and one made for numbers only would
 * hold a box for its number from the start, on every idle unit.
 * (runCount stays a small integer: see recordRun.)
 * @returns {Record<string, any>}
 */
function newMeta() {
  /** @type {Record<string, any>} */
  const made = {};
  made.runCount = 0;
  Object.defineProperty(made, 'executionTimesMs', TIMES_ACCESSOR);
  made.averageExecutionTimeMs = null;
  made.averageExecutionTimeMs = 0;
  return made;
}

/**
 * The statistics of a unit whose `meta` nobody has read, kept without
 * one: a run writes three numbers and a duration into a TimesState (made
 * by the unit's first run). Making the `meta` object, its accessor and its
 * state at every unit's first run, and writing into it at every run, took
 * 4.5–5.3% of the samples of a burst of 100,000 first runs (this takes
 * 1.5–2.6%), and a steady interval fire about 5% more CPU. The `meta` is
 * made from the state when it is first read (pendingMeta). Arguments as
 * recordRun's.
 * @param {TimesState} state
 * @param {Float64Array} record
 * @param {number} at
 */
function recordPending(state, record, at) {
  const durationMs = record[at];
  const count = record[at + 1];
  state.runCount = count <= SMALL_INT_MAX ? count | 0 : count;
  state.averageMs = record[at + 2];
  state.lastMs = durationMs;
  add(state, durationMs);
}

/**
 * The statistics of a unit's first FIRST_RING runs while its `meta` is not
 * made, kept in a row of numbers rather than in a TimesState: a unit's
 * first run made one (with the array of its ring), about 250 bytes that
 * outlived the young generation, the larger part of what a burst of
 * 100,000 first runs kept and the collector copied. Rows are places in
 * tables of ROWS_PER_TABLE rows (Units keeps one table for each
 * ROWS_PER_TABLE slots, made at the first run of one of them): the run
 * count, the mean, the last duration, how many durations, then those.
 * The row becomes a TimesState when the `meta` is read, the durations
 * outgrow it, or its slot is released (rowState).
 */
// 64 rows, 6 KB: making a table is then frequent enough to be among what
// V8 records of the code before it optimizes it. With 1,024 a program's
// first table was made before anything was recorded and its second one
// threw the optimized code away, in the middle of a burst of first runs.
const ROWS_PER_TABLE = 64;
const ROW_COUNT = 0;
const ROW_MEAN = 1;
const ROW_LAST = 2;
const ROW_KEPT = 3;
const ROW_TIMES = 4;
const ROW_LENGTH = ROW_TIMES + FIRST_RING;

/** A table of ROWS_PER_TABLE rows. */
const newRows = () => new Float64Array(ROWS_PER_TABLE * ROW_LENGTH);

/**
 * Empties the row at `rows[rowAt]`, for a unit that has not run since it got it.
 * @param {Float64Array} rows
 * @param {number} rowAt
 */
function clearRow(rows, rowAt) {
  rows[rowAt + ROW_KEPT] = 0;
}

/**
 * recordPending into a row; false (nothing written) when the row holds
 * FIRST_RING durations already. Arguments as recordRun's.
 * @param {Float64Array} rows
 * @param {number} rowAt
 * @param {Float64Array} record
 * @param {number} at
 */
function recordInRow(rows, rowAt, record, at) {
  const n = rows[rowAt + ROW_KEPT];
  if (n === FIRST_RING) return false;
  const durationMs = record[at];
  rows[rowAt + ROW_COUNT] = record[at + 1];
  rows[rowAt + ROW_MEAN] = record[at + 2];
  rows[rowAt + ROW_LAST] = durationMs;
  rows[rowAt + ROW_TIMES + n] = durationMs;
  rows[rowAt + ROW_KEPT] = n + 1;
  return true;
}

/**
 * The TimesState a unit whose statistics are in a row would have had
 * (see recordPending): the same numbers, the durations in a first ring.
 * @param {Float64Array} rows
 * @param {number} rowAt
 * @returns {TimesState}
 */
function rowState(rows, rowAt) {
  const state = new TimesState();
  const count = rows[rowAt + ROW_COUNT];
  state.runCount = count <= SMALL_INT_MAX ? count | 0 : count;
  state.averageMs = rows[rowAt + ROW_MEAN];
  state.lastMs = rows[rowAt + ROW_LAST];
  const n = rows[rowAt + ROW_KEPT];
  if (n > 0) {
    startRing(state);
    const ring = /** @type {number[]} */ (state.ring);
    for (let k = 0; k < n; k++) ring[k] = rows[rowAt + ROW_TIMES + k];
    state.count = n;
    state.next = n === FIRST_RING ? 0 : n;
  }
  return state;
}

/**
 * The `meta` of a unit whose runs wrote their statistics into `state`
 * (recordPending): the object and fields a `meta` made before them would
 * have now, its accessor's state `state` itself.
 * @param {TimesState} state
 * @returns {Record<string, any>}
 */
function pendingMeta(state) {
  const made = newMeta();
  made.runCount = state.runCount;
  made.averageExecutionTimeMs = state.averageMs;
  made.lastDurationMs = state.lastMs;
  new Times(made, state);
  return made;
}

/**
 * Gives a unit a `meta` object with the statistics' fields (a registered
 * unit always has them). Throws when the user's object refuses them.
 * @param {{ meta?: any }} unit
 * @returns {any} the unit's meta
 */
function ensureMeta(unit) {
  if (!v.isObject(unit.meta)) {
    // Most units come without one: made whole here, the checks below are
    // known to pass.
    const made = newMeta();
    unit.meta = made;
    if (unit.meta === made) return made;
  }
  const m = unit.meta;
  if (!Number.isFinite(m.runCount)) m.runCount = 0;
  if (!giveTimes(m, []) && !hasLazyTimes(m) && !Array.isArray(m.executionTimesMs)) m.executionTimesMs = [];
  if (!Number.isFinite(m.averageExecutionTimeMs)) m.averageExecutionTimeMs = 0;
  return m;
}

/**
 * A copy of `source`'s own enumerable fields in their order, its
 * `executionTimesMs` (an array of numbers) as the lazy accessor (see
 * Times): a meta object brought back from stored state.
 * @param {Record<string, any>} source
 * @returns {Record<string, any>}
 */
function withLazyTimes(source) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (key === 'executionTimesMs' && numbersOnly(value) && giveTimes(out, value)) continue;
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return out;
}

/**
 * Carries the statistics of `old` (a unit's meta) over to `meta`, the one
 * replacing it, as assignments in their order; durations go into a lazy
 * `executionTimesMs` when `meta` has none of its own (see Times).
 * @param {Record<string, any>} meta
 * @param {Record<string, any> | undefined} old
 * @returns {Record<string, any>} meta
 */
function carryStats(meta, old) {
  for (const key of ENGINE_META) {
    const value = old ? old[key] : undefined;
    if (value === undefined) continue;
    if (key !== 'executionTimesMs' || !numbersOnly(value) || !giveTimes(meta, value)) meta[key] = value;
  }
  return meta;
}

/**
 * A run ended: mirrors the engine's statistics onto the unit's meta. They
 * are read from the engine's STATS record (`record[at]` on: the duration,
 * the run count and the engine's mean of the kept durations) here, where
 * they are stored, rather than passed: doubles passed to a call that is
 * not inlined are boxed, number objects every run.
 * @param {{ meta?: any }} unit
 * @param {any} shown the `meta` the unit shows (see Units.recordStats)
 * @param {Float64Array} record
 * @param {number} at
 */
function recordRun(unit, shown, record, at) {
  const durationMs = record[at];
  // A count stored as a small integer while it is one (see ensureMeta).
  const count = record[at + 1];
  const runCount = count <= SMALL_INT_MAX ? count | 0 : count;
  const averageMs = record[at + 2];
  let meta = shown;
  let state = Times.of(meta);
  if (state !== undefined && state.lazy && hasOwn(meta, 'executionTimesMs')) {
    meta.runCount = runCount;
  } else {
    // The first run, or a field the user deleted or made plain.
    meta = ensureMeta(unit);
    meta.runCount = runCount;
    state = hasLazyTimes(meta) ? stateOf(meta) : undefined;
    if (state === undefined || !state.lazy) {
      // A plain array, or a meta made not extensible since (timesGetter
      // turns the field into a plain array then).
      meta.executionTimesMs.push(durationMs);
      if (meta.executionTimesMs.length > EXECUTION_TIMES_KEPT) meta.executionTimesMs.shift();
      state = undefined;
    }
  }
  if (state !== undefined) add(state, durationMs);
  meta.averageExecutionTimeMs = averageMs;
  meta.lastDurationMs = durationMs;
}

/**
 * The statistics the engine holds after stored state is restored with
 * `runCount` and the stored durations: the last EXECUTION_TIMES_KEPT of
 * them, their mean, and the last one.
 * @param {number} runCount
 * @param {number[]} times finite durations, oldest first
 * @returns {RunStats}
 */
function restoredStats(runCount, times) {
  const kept = times.length > EXECUTION_TIMES_KEPT ? times.slice(times.length - EXECUTION_TIMES_KEPT) : times.slice();
  /** @type {RunStats} */
  const stats = {
    runCount,
    executionTimesMs: kept,
    averageExecutionTimeMs: kept.length > 0 ? kept.reduce((a, b) => a + b, 0) / kept.length : 0,
  };
  if (kept.length > 0) stats.lastDurationMs = kept[kept.length - 1];
  return stats;
}

module.exports = { EXECUTION_TIMES_KEPT, ENGINE_META, TimesState, lookupGetter, newMeta, pendingMeta, ROWS_PER_TABLE, ROW_LENGTH, newRows, clearRow, recordInRow, rowState, ensureMeta, carryStats, withLazyTimes, recordRun, recordPending, restoredStats };
