// @ts-check
'use strict';

/**
 * Keeps alive the object layouts of the classes the hot paths make one of
 * per task or per run (a pool task's entry, an attempt in flight, the
 * context a run gets).
 *
 * V8 keeps the layouts ("maps") of a class's objects only while an object
 * has them. When every object of such a class has been collected (a pool
 * drained, an interval worker between fires, a manager stopped) a full
 * collection drops them; the next objects get new layouts, and every
 * function optimized for the old ones is thrown away and optimized again.
 * That cost the first ten thousand or so tasks after each such collection
 * about twice their steady time. One object of each class, kept for the
 * life of the process, keeps the layouts; it is made after V8 has settled
 * the class's size (it watches the first objects a constructor makes), so
 * it has the layout the later ones get.
 */

/** Objects made by a constructor before V8 settles its objects' size (its slack tracking), with a margin. */
const SETTLED_AFTER = 10;

/** @type {object[]} */
const kept = [];

/**
 * Makes `make`'s object enough times for its layout to be final, and keeps
 * the last one. The arguments should be of the types real calls pass
 * (a small integer where they pass one), or the layout kept is another one.
 * @param {() => object} make
 */
function keepShape(make) {
  let last = make();
  for (let k = 1; k < SETTLED_AFTER; k++) last = make();
  kept.push(last);
}

module.exports = { keepShape };
