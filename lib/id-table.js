// @ts-check
'use strict';

/**
 * Values by increasing integer ids that mostly leave in the order they
 * came (the engine's pool task ids): a dense array from the oldest live id,
 * so a lookup is an index instead of a probe of a large hash map. Removing
 * out of order leaves a hole until the ids before it leave; the array is
 * compacted once the dead front is more than half of it. Ids need not be
 * consecutive (call ids and tickets share one counter): the gaps are holes.
 * An id below the oldest live one, or far past the newest, goes to a side
 * map.
 */
/** An id further than this past the newest one goes to the side map rather than open a long hole. */
const MAX_GAP = 4096;

/** @template T */
class IdTable {
  constructor() {
    // The ids come from the engine's Float64Array, which unoptimized code
    // reads as heap numbers: a field that starts as a small integer would
    // change its representation at the first one, and V8 would replace the
    // layout of every IdTable, throwing away the optimized code of every
    // function that reads one of another manager (all of them, for the
    // next manager made). A fraction gives the field its later
    // representation from the start; the value means nothing while the
    // table is empty.
    this._base = 0.5;
    this._head = 0;
    /** @type {(T | undefined)[]} */
    this._items = [];
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
    const k = id - this._base;
    const value = k >= this._head && k < this._items.length ? this._items[k] : undefined;
    if (value === undefined && this._others.size > 0) return this._others.get(id);
    return value;
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
    if (this._size === 0) {
      this._base = id;
      this._head = 0;
      this._items = [];
    }
    const k = id - this._base;
    const items = this._items;
    if (k < this._head || k > items.length + MAX_GAP || !Number.isInteger(k)) {
      this._others.set(id, value);
      return;
    }
    while (items.length < k) items.push(undefined);
    if (items[k] === undefined) this._size++;
    items[k] = value;
  }

  /** @param {number} id */
  delete(id) {
    const k = id - this._base;
    const items = this._items;
    if (k < this._head || k >= items.length || items[k] === undefined) return this._others.delete(id);
    items[k] = undefined;
    this._size--;
    if (this._size === 0) {
      this._items = [];
      this._head = 0;
      return true;
    }
    while (items[this._head] === undefined) this._head++;
    if (this._head > 1024 && this._head * 2 > items.length) {
      this._items = items.slice(this._head);
      this._base += this._head;
      this._head = 0;
    }
    return true;
  }

  /** Live values, oldest id first. */
  *values() {
    for (let k = this._head; k < this._items.length; k++) if (this._items[k] !== undefined) yield this._items[k];
    yield* this._others.values();
  }
}

module.exports = { IdTable };
