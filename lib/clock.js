// @ts-check
'use strict';

// Time as the manager is told it: `options.clock` ('system', 'manual' or
// a manual clock that starts at a given instant) and the ManualClock of a
// manager created with a manual one (`manager.clock`).

const util = require('node:util');
const timers = require('node:timers');
const { engineBeginAdvance, engineFinishAdvance, engineFireNext, engineFireNextOneShot } = require('./native.js');
const v = require('./validate');
const { DEFAULTS } = require('./generated/vocabulary');

/**
 * @typedef {import('./core').Core} Core
 * @typedef {{ manual: boolean, startMs: number | undefined }} ClockOption
 */

/** The manual clock goes no further (the engine's CLOCK_LIMIT_MS). */
const CLOCK_LIMIT_MS = DEFAULTS.clockLimitMs;

/**
 * One turn of the event loop, by node:timers' setImmediate (fake timers
 * replace the globals, not the module: a user's test that fakes time must
 * not stall the clock).
 * @returns {Promise<void>}
 */
const nextTurn = () => new Promise((resolve) => timers.setImmediate(resolve));

/**
 * Reads `options.clock` (checked by validate.js's validateClockOption):
 * `'system'` (default), `'manual'`, or `{ manual: true, now? }` for a
 * manual clock that starts at a given instant.
 * @param {unknown} clock
 * @returns {ClockOption}
 */
function parseClockOption(clock) {
  if (clock === undefined || clock === 'system') return { manual: false, startMs: undefined };
  if (clock === 'manual') return { manual: true, startMs: undefined };
  const { now } = /** @type {{ now?: unknown }} */ (clock);
  return { manual: true, startMs: now === undefined ? undefined : v.instantMs(now) };
}

/**
 * The manual clock of a manager created with `clock: 'manual'` (or
 * `clock: { manual: true, now }`): time moves only through `advance` and
 * `runUntilIdle`, and every engine timer reads it.
 */
class ManualClock {
  #core;
  /** The instant the clock started at (epoch ms), 0 when none was given. */
  #start;

  /**
   * @param {Core} core
   * @param {number | undefined} startMs
   */
  constructor(core, startMs) {
    this.#core = core;
    this.#start = startMs === undefined ? 0 : startMs;
  }

  /**
   * @param {number} depth
   * @param {util.InspectOptionsStylized} options
   */
  [util.inspect.custom](depth, options) {
    return `ManualClock { now: ${options.stylize(String(this.now()), 'number')} }`;
  }

  /**
   * The clock's time in ms: 0 when the manager was created, or the instant
   * given as `clock.now` (epoch ms), plus the time advanced since.
   */
  now() {
    return this.#start + this.#core.bridge.native.now();
  }

  /**
   * Lets whatever JavaScript can settle without time passing settle: turns
   * of the event loop until a turn reports no outcome to the engine.
   */
  async #settle() {
    const attempts = this.#core.attempts;
    for (let i = 0; i < 1000; i++) {
      const before = attempts.progressCount;
      await nextTurn();
      if (attempts.progressCount === before && !attempts.flushQueued) return;
    }
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in time
   * order; resolves once the runs they started have settled (as far as they
   * settle without real time passing).
   * @param {number} ms
   */
  async advance(ms) {
    const core = this.#core;
    core.open('clock.advance');
    v.validateAdvance(ms);
    const bridge = core.bridge;
    // The target is kept by the engine, in nanoseconds: exact however far
    // the clock is (now + ms as a JavaScript number is not, past 2^53 ms).
    const advance = engineBeginAdvance(bridge.handle, ms);
    if (advance < 0) {
      throw v.fail('clock.advance', 'ms', `a number of milliseconds that keeps the clock at or below ${CLOCK_LIMIT_MS} ms (it is at ${this.now()} ms)`, ms);
    }
    try {
      await this.#settle();
      while (engineFireNext(bridge.handle, advance)) {
        bridge.pump();
        await this.#settle();
      }
    } finally {
      engineFinishAdvance(bridge.handle, advance);
    }
    bridge.pump();
    await this.#settle();
  }

  /**
   * Fires timers in time order until no run is in flight and only the
   * recurring timers of a started manager (intervals, sweeps, watcher scans)
   * are left; resolves when everything has settled.
   */
  async runUntilIdle() {
    const core = this.#core;
    core.open('clock.runUntilIdle');
    const bridge = core.bridge;
    await this.#settle();
    // Bounded, as before, for runs that keep arming new deadlines for ever.
    for (let guard = 0; guard < 1e6 && engineFireNextOneShot(bridge.handle); guard++) {
      bridge.pump();
      await this.#settle();
    }
    bridge.pump();
    await this.#settle();
  }
}

module.exports = { ManualClock, parseClockOption, CLOCK_LIMIT_MS };
