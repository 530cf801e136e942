// @ts-check
'use strict';

// The event-loop lag a started manager reports in getEngineStats.

const timers = require('node:timers');
const { performance: realPerformance } = require('node:perf_hooks');

/** How often the event-loop lag is sampled while a manager is started, in ms. */
const LAG_SAMPLE_MS = 20;

/**
 * Samples the event-loop lag while the manager is started: an unref'd
 * interval of node:timers (which fake timers do not replace) that notes
 * how much later than due each tick came, by perf_hooks' clock. It holds
 * the sample, not the manager.
 */
class LagSampler {
  /** @type {{ last: number, max: number, timer: ReturnType<typeof timers.setInterval> } | null} */
  #lag = null;

  start() {
    if (this.#lag !== null) return;
    const lag = { last: realPerformance.now(), max: 0, timer: /** @type {any} */ (null) };
    lag.timer = timers.setInterval(sampleLag, LAG_SAMPLE_MS, lag);
    lag.timer.unref();
    this.#lag = lag;
  }

  stop() {
    if (this.#lag === null) return;
    timers.clearInterval(this.#lag.timer);
    this.#lag = null;
  }

  /** The largest lag seen since the previous call, in ms (0 while not started). */
  takeMax() {
    const lag = this.#lag;
    if (lag === null) return 0;
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
 * @param {{ last: number, max: number }} lag
 */
function sampleLag(lag) {
  const now = realPerformance.now();
  const late = now - lag.last - LAG_SAMPLE_MS;
  if (late > lag.max) lag.max = late;
  lag.last = now;
}

module.exports = { LagSampler };
