// @ts-check
'use strict';

// The event-loop lag: what a started manager reports in getEngineStats, and
// what the engine's threads (the watcher, the web dashboard) read from the
// shared liveness cell while JavaScript may be blocked.

const timers = require('node:timers');
const { performance: realPerformance } = require('node:perf_hooks');

/** How often the event-loop lag is sampled, in ms. */
const LAG_SAMPLE_MS = 20;
/** A sample at least this late counts as blocked time (cell[3]), in ms. */
const BLOCKED_FROM_MS = 10;

/** The numbers of the liveness cell the sampler writes (see bridge.js for [0] and [1]). */
const HEARTBEAT = 2;
const BLOCKED_TOTAL = 3;
const LAST_LAG = 4;

/**
 * @typedef {{ last: number, max: number, cell: Float64Array, timer: ReturnType<typeof timers.setInterval> }} Lag
 */

/**
 * Samples the event-loop lag while the manager is started or a dashboard
 * server is open: an unref'd interval of node:timers (which fake timers do
 * not replace) that notes how much later than due each tick came, by
 * perf_hooks' clock. Every sample also writes the liveness cell's
 * heartbeat (perf_hooks' performance.now(), a monotonic clock the engine
 * pairs with its own when it is made, see bridge.js), the total of blocked
 * time and the last lag, which the engine's threads read; the heartbeat is
 * 0 while no sampler runs. It holds the sample and the cell, not the
 * manager.
 */
class LagSampler {
  /** @type {Lag | null} */
  #lag = null;
  #cell;
  #started = false;
  #serving = false;

  /** @param {Float64Array} cell the shared liveness cell (see Bridge: the sampler writes its third to fifth numbers) */
  constructor(cell) {
    this.#cell = cell;
  }

  /** @param {boolean} started whether the manager is started (getEngineStats reports lag only then) */
  setStarted(started) {
    if (started && !this.#started && this.#lag !== null) {
      // getEngineStats measures from the start on, not from a dashboard's opening.
      sampleLag(this.#lag);
      this.#lag.max = 0;
    }
    this.#started = started;
    this.#update();
  }

  /** @param {boolean} serving whether a dashboard server is open */
  setServing(serving) {
    this.#serving = serving;
    this.#update();
  }

  #update() {
    const run = this.#started || this.#serving;
    if (run && this.#lag === null) {
      const cell = this.#cell;
      /** @type {Lag} */
      const lag = { last: realPerformance.now(), max: 0, cell, timer: /** @type {any} */ (null) };
      lag.timer = timers.setInterval(sampleLag, LAG_SAMPLE_MS, lag);
      lag.timer.unref();
      this.#lag = lag;
      cell[HEARTBEAT] = lag.last;
      cell[LAST_LAG] = 0;
    } else if (!run && this.#lag !== null) {
      timers.clearInterval(this.#lag.timer);
      this.#lag = null;
      // No heartbeat: nothing says whether JavaScript is blocked. The
      // blocked total stays (it only ever grows).
      this.#cell[HEARTBEAT] = 0;
      this.#cell[LAST_LAG] = 0;
    }
  }

  /** The largest lag seen since the previous call, in ms (0 while the manager is not started). */
  takeMax() {
    const lag = this.#lag;
    if (lag === null || !this.#started) return 0;
    sampleLag(lag);
    const max = Math.round(lag.max * 100) / 100;
    lag.max = 0;
    return max;
  }
}

/**
 * One sample of the event-loop lag: how much longer than one period the
 * time since the previous sample was. Taken by the sampler's interval, and
 * by takeMax (so that a block that just ended counts, and counts once).
 * @param {Lag} lag
 */
function sampleLag(lag) {
  const now = realPerformance.now();
  const late = Math.max(0, now - lag.last - LAG_SAMPLE_MS);
  if (late > lag.max) lag.max = late;
  lag.last = now;
  const cell = lag.cell;
  cell[HEARTBEAT] = now;
  if (late >= BLOCKED_FROM_MS) cell[BLOCKED_TOTAL] += late;
  cell[LAST_LAG] = late;
}

module.exports = { LagSampler };
