'use strict';

// One 'abort' listener per AbortSignal, however many tasks wait on it.
//
// A task given a signal (pool.run, a thread pool's run) hears of its abort
// until the task settles. A listener of its own on the signal made Node
// warn as soon as eleven tasks waited on one signal (an application's
// shutdown signal handed to every task, say) of a possible leak
// ("MaxListenersExceededWarning: Possible EventTarget memory leak
// detected"), though every listener went with its task. The tasks of a
// signal wait in one set instead, behind one listener that goes with the
// last of them.

/** @typedef {{ callbacks: Set<() => void>, listener: () => void }} Watchers */

/** @type {WeakMap<AbortSignal, Watchers>} */
const bySignal = new WeakMap();

/**
 * While the tasks of an aborted signal hear of it: what they put off to
 * the end (see afterAbort), each function once; null otherwise.
 * @type {Set<() => void> | null}
 */
let putOff = null;

/** @param {() => void} callback */
function report(callback) {
  try {
    callback();
  } catch (error) {
    // As a listener's own exception would be: reported, and the other
    // tasks still hear of the abort.
    process.nextTick(() => {
      throw error;
    });
  }
}

/**
 * Calls `onAbort` once when `signal` aborts, unless `unwatchAbort` with
 * the same two came first. Callbacks run in the order they were watched.
 * @param {AbortSignal} signal not aborted yet
 * @param {() => void} onAbort a function of the task's own
 */
function watchAbort(signal, onAbort) {
  let watchers = bySignal.get(signal);
  if (watchers === undefined) {
    /** @type {Set<() => void>} */
    const callbacks = new Set();
    const listener = () => {
      // Gone before the callbacks run: the tasks they settle find nothing
      // to take out.
      bySignal.delete(signal);
      const outer = putOff;
      /** @type {Set<() => void>} */
      const later = new Set();
      putOff = later;
      try {
        for (const callback of callbacks) report(callback);
        for (const work of later) report(work);
      } finally {
        putOff = outer;
      }
    };
    watchers = { callbacks, listener };
    bySignal.set(signal, watchers);
    signal.addEventListener('abort', listener, { once: true });
  }
  watchers.callbacks.add(onAbort);
}

/**
 * The task of `onAbort` settled: it no longer hears of the abort, and the
 * signal's listener goes with the last task watching it.
 * @param {AbortSignal} signal
 * @param {() => void} onAbort
 */
function unwatchAbort(signal, onAbort) {
  const watchers = bySignal.get(signal);
  if (watchers === undefined || !watchers.callbacks.delete(onAbort)) return;
  if (watchers.callbacks.size === 0) {
    bySignal.delete(signal);
    signal.removeEventListener('abort', watchers.listener);
  }
}

/**
 * Runs `work` once every task of the signal being aborted has heard of it
 * (still inside its abort; the same function once however often it is
 * put off), or now when no abort is being told. A running task of the
 * signal ended before the queued ones heard of the abort would give its
 * place to the next of them, which would start only to be aborted.
 * @param {() => void} work
 */
function afterAbort(work) {
  if (putOff === null) work();
  else putOff.add(work);
}

module.exports = { watchAbort, unwatchAbort, afterAbort };
