// @ts-check
'use strict';

/**
 * Values by increasing integer ids that mostly leave in the order they
 * came (the engine's call, ticket and pool task ids): a ring of slots
 * indexed by the id's low bits, so a lookup is an index instead of a probe
 * of a large hash map, and an id that comes and goes allocates nothing
 * (the ring is reused; a dense array that grew with every id and was cut
 * back by copies made about 76 bytes of garbage a run). The live ids in
 * the ring span less than its length, so no two share a slot. Removing out
 * of order leaves a hole until the ids before it leave. Ids need not be
 * consecutive (call ids and tickets share one counter): the gaps are
 * holes. An id below the oldest one in the ring, one far past the newest,
 * one that is not an integer, and an old id that kept the ring from
 * moving on while four times as many came and went after it, go to a side
 * map.
 */

/** An id further than this past the newest one goes to the side map rather than open a long hole. */
const MAX_GAP = 4096;
/** The ring's length when made (a power of two, as every length). */
const MIN_LENGTH = 16;
/** A ring at least this long gives an old id to the side map rather than double for it, when at most a quarter of it is live. */
const EVICT_FROM = 1024;
/** A ring longer than this is dropped for a new small one once empty (the room of a burst is given back). */
const KEEP_UP_TO = 65536;

/**
 * A ring of `length` empty slots: one array of that length, filled (an
 * array grown by pushes was copied at every growth, about three times
 * its size in all). Made by setting the length of an empty one:
 * `new Array(length)`, in optimized code, throws that code away for a
 * length past about 16,000 (the first ring of a burst of that many calls
 * in flight).
 * @template T
 * @param {number} length
 * @returns {(T | undefined)[]}
 */
function emptyRing(length) {
  /** @type {(T | undefined)[]} */
  const ring = [];
  ring.length = length;
  return ring.fill(undefined);
}

/** @template T */
class IdTable {
  constructor() {
    // The ids come from the engine's Float64Array, which unoptimized code
    // reads as heap numbers: a field that starts as a small integer would
    // change its representation at the first one, and V8 would replace the
    // layout of every IdTable, throwing away the optimized code of every
    // function that reads one of another manager (all of them, for the
    // next manager made). A fraction gives the fields their later
    // representation from the start; the values mean nothing while the
    // ring is empty.
    /** The oldest id in the ring (while it holds any). */
    this._lo = 0.5;
    /** The newest id in the ring (while it holds any). */
    this._hi = 0.5;
    /** @type {(T | undefined)[]} */
    this._ring = emptyRing(MIN_LENGTH);
    this._mask = MIN_LENGTH - 1;
    /** Values in the ring. */
    this._size = 0;
    /** @type {Map<number, T>} */
    this._others = new Map();
  }

  get size() {
    return this._size + this._others.size;
  }

  /**
   * @param {number} id
   * @returns {T | undefined}
   */
  get(id) {
    // (An id that is not an integer is never in the ring, but its low bits would name a slot.)
    if (id >= this._lo && id <= this._hi && Math.floor(id) === id) {
      const value = this._ring[id & this._mask];
      if (value !== undefined) return value;
    }
    return this._others.size > 0 ? this._others.get(id) : undefined;
  }

  /**
   * @param {number} id
   * @param {T} value
   */
  set(id, value) {
    if (this._others.size > 0 && this._others.has(id)) {
      this._others.set(id, value);
      return;
    }
    if (!Number.isInteger(id)) {
      this._others.set(id, value);
      return;
    }
    // The span is written back on every path: a write made only when the
    // table was empty would be, in a burst of calls, made once a burst,
    // and optimized code that never met it (a warm-up's burst made it
    // before V8 recorded anything) throws itself away at the next burst's
    // first id.
    let lo = this._lo;
    let hi = this._hi;
    if (this._size === 0) {
      lo = hi = id;
    } else if (id < lo || id > hi + MAX_GAP) {
      this._others.set(id, value);
      return;
    } else if (id > hi) {
      this.#makeRoomFor(id);
      lo = this._size === 0 ? id : this._lo;
      hi = id;
    }
    this._lo = lo;
    this._hi = hi;
    const k = id & this._mask;
    if (this._ring[k] === undefined) this._size++;
    this._ring[k] = value;
  }

  /** @param {number} id */
  delete(id) {
    const ring = this._ring;
    const k = id & this._mask;
    if (!(id >= this._lo && id <= this._hi) || ring[k] === undefined || Math.floor(id) !== id) return this._others.delete(id);
    ring[k] = undefined;
    this._size--;
    if (this._size === 0) {
      if (ring.length > KEEP_UP_TO) this.#reset(MIN_LENGTH);
    } else if (id === this._lo) {
      this.#moveOn();
    }
    return true;
  }

  /** Live values, oldest id first. */
  *values() {
    if (this._size > 0) {
      for (let id = this._lo; id <= this._hi; id++) {
        const value = this._ring[id & this._mask];
        if (value !== undefined) yield value;
      }
    }
    yield* this._others.values();
  }

  /**
   * Makes the ring span `id` (newer than every id in it): doubles it, or,
   * when at most a quarter of a long ring is live, gives its oldest values
   * to the side map.
   * @param {number} id
   */
  #makeRoomFor(id) {
    while (this._size > 0 && id - this._lo >= this._ring.length) {
      const length = this._ring.length;
      if (length < EVICT_FROM || this._size * 4 > length) {
        this.#reset(length * 2);
      } else {
        const k = this._lo & this._mask;
        this._others.set(this._lo, /** @type {T} */ (this._ring[k]));
        this._ring[k] = undefined;
        this._size--;
        if (this._size > 0) this.#moveOn();
      }
    }
  }

  /** Moves the oldest id on to the next one in the ring (which holds one). */
  #moveOn() {
    let lo = this._lo;
    while (this._ring[lo & this._mask] === undefined) lo++;
    this._lo = lo;
  }

  /**
   * A ring of `length` slots, holding what the ring holds.
   * @param {number} length
   */
  #reset(length) {
    const old = this._ring;
    const oldMask = this._mask;
    /** @type {(T | undefined)[]} */
    const ring = emptyRing(length);
    const mask = length - 1;
    if (this._size > 0) {
      for (let id = this._lo; id <= this._hi; id++) {
        const value = old[id & oldMask];
        if (value !== undefined) ring[id & mask] = value;
      }
    }
    this._ring = ring;
    this._mask = mask;
  }
}

/** How many throwaway tables rehearse (see rehearse): past the calls V8 lets go by before it records what a function does. */
const REHEARSALS = 4;

/**
 * Takes the paths of an IdTable that a program takes seldom — a ring that
 * doubles, an old id given to the side map, an id far past the newest or
 * not an integer, a removal out of order — on throwaway tables, once, when
 * the module loads. V8 records what a function does only after its first
 * calls, and optimized code throws itself away at an operation it has no
 * record of: a ring that doubled only while a program started (before
 * anything was recorded) doubled again in the middle of a later burst,
 * and the function that starts runs (into which V8 inlines IdTable.set)
 * went back to unoptimized code there. About 130 calls in all.
 */
function rehearse() {
  const value = {};
  for (let round = 0; round < REHEARSALS; round++) {
    /** @type {IdTable<object>} */
    const table = new IdTable();
    let id = 1;
    table.set(id, value);
    // Ever further apart: the ring doubles up to EVICT_FROM, then gives
    // its oldest ids to the side map.
    for (let gap = 16; gap <= 2 * EVICT_FROM; gap *= 2) table.set((id += gap), value);
    table.set(id + 1, value);
    table.set(id + 3, value);
    table.set(id + 2 * MAX_GAP, value);
    table.set(0.5, value);
    table.get(1);
    table.get(id);
    table.get(0.5);
    table.delete(id + 1);
    table.delete(id);
    table.delete(1);
    // The ring's last one: it is empty.
    table.delete(id + 3);
    // Those left are in the side map: each written again there.
    for (const v of table.values()) table.set(id + 2 * MAX_GAP, v);
    table.delete(id + 2 * MAX_GAP);
    table.delete(0.5);
  }
}
rehearse();

module.exports = { IdTable };
