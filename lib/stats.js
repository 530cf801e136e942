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
// way here).

const v = require('./validate');
const { DEFAULTS } = require('./generated/vocabulary');

/** How many durations `executionTimesMs` keeps (the engine's EXECUTION_TIMES_KEPT). */
const EXECUTION_TIMES_KEPT = DEFAULTS.executionTimesKept;

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
 * Gives a unit a `meta` object with the statistics' fields (a registered
 * unit always has them). Throws when the user's object refuses them.
 * @param {{ meta?: any }} unit
 * @returns {any} the unit's meta
 */
function ensureMeta(unit) {
  if (!v.isObject(unit.meta)) unit.meta = {};
  const m = unit.meta;
  if (!Number.isFinite(m.runCount)) m.runCount = 0;
  if (!Array.isArray(m.executionTimesMs)) m.executionTimesMs = [];
  if (!Number.isFinite(m.averageExecutionTimeMs)) m.averageExecutionTimeMs = 0;
  return m;
}

/**
 * A run ended: mirrors the engine's statistics onto the unit's meta.
 * @param {{ meta?: any }} unit
 * @param {number} durationMs
 * @param {number} runCount
 * @param {number} averageMs the engine's mean of the kept durations
 */
function recordRun(unit, durationMs, runCount, averageMs) {
  const meta = ensureMeta(unit);
  meta.runCount = runCount;
  meta.executionTimesMs.push(durationMs);
  if (meta.executionTimesMs.length > EXECUTION_TIMES_KEPT) meta.executionTimesMs.shift();
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

module.exports = { EXECUTION_TIMES_KEPT, ENGINE_META, ensureMeta, recordRun, restoredStats };
