// @ts-check
'use strict';

/**
 * Keeps alive the object layouts of the classes the hot paths make one of
 * per task, per batch of tasks or per run (a pool task's entry, the pool
 * tasks handed to the engine together, the context a run gets, which is
 * also the attempt in flight).
 *
 * V8 keeps the layouts ("maps") of a class's objects only while an object
 * has them. Once every object of such a class is gone (a pool drained, an
 * interval worker between fires, a manager stopped), a later full
 * collection drops them; the next objects get new layouts, and every
 * function optimized for the old ones is thrown away and optimized again.
 * That cost the first ten thousand or so tasks after such a collection
 * about twice their steady time. One object of each class, kept for the
 * life of the process, keeps the layouts.
 */

/**
 * Objects made before the one kept. V8 settles a constructor's object
 * size after its first objects and shrinks the layouts it made in place,
 * so the first object already ends with the layout later ones get; the
 * few more are a precaution against a V8 that does it otherwise.
 */
const MADE_BEFORE_KEPT = 10;

/** @type {object[]} */
const kept = [];

/**
 * Makes `make`'s object a few times and keeps the last one. The arguments
 * should be of the types real calls pass (a small integer where they pass
 * one), or the layout kept is another one.
 * @param {() => object} make
 */
function keepShape(make) {
  let last = make();
  for (let k = 1; k < MADE_BEFORE_KEPT; k++) last = make();
  kept.push(last);
}

/**
 * A base class whose constructor returns the object it is given, so that a
 * class extending it adds its private fields to that object (a pool's own
 * objects that users see): state kept on the object itself, a property load
 * to reach, and invisible to the object's users (no key, symbol or
 * prototype; not enumerated, copied or inspected).
 *
 * Each such class is written out where it is used, not made by one
 * function: the classes a function makes share their code's feedback in
 * V8, so one class's field saw the layouts of every kind of object all of
 * them were given (units and meta objects), and its definition and its
 * `#field in o` went megamorphic, the slowest lookups, at every unit's
 * first run.
 * @type {new (o: object) => object}
 */
const Stamp = /** @type {any} */ (
  function Stamp(/** @type {object} */ o) {
    return o;
  }
);

/**
 * An empty array for values indexed by a unit's slot that starts with the
 * elements kind such arrays end with (any value, with holes). An empty
 * `[]` starts with the kind for small integers and changes it at its first
 * value and its first hole; code optimized for the previous manager's
 * array (which had changed) was thrown away at the first use of the next
 * manager's.
 * @returns {any[]}
 */
function slotArray() {
  const a = [, undefined];
  a.length = 0;
  return a;
}

/**
 * A slotArray of `length` holes.
 * @param {number} length
 * @returns {any[]}
 */
function holesOf(length) {
  const a = slotArray();
  a.length = length;
  return a;
}

/**
 * Writes `value` at `slot` of a slotArray, first growing it to `slot` with
 * pushes when it is shorter. A write far past the end (units' first runs
 * come in any slot order) would make V8 keep the array as a dictionary,
 * with a hash lookup for every later read.
 * @param {any[]} array
 * @param {number} slot
 * @param {unknown} value
 */
function setSlot(array, slot, value) {
  if (slot < array.length) {
    array[slot] = value;
    return;
  }
  while (array.length < slot) array.push(undefined);
  array.push(value);
}

module.exports = { keepShape, Stamp, slotArray, holesOf, setSlot };
