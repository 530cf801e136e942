// @ts-check
'use strict';

// Calendar schedules (`schedule` on a worker, SPEC §14): the check of the
// option and its conversion for the engine, which parses the cron
// expression, holds the time zone database and fires the schedule.

const native = require('./native');
const v = require('./validate');

/** The keys of a cron schedule, and of a one-off one. */
const CRON_KEYS = ['cron', 'timezone', 'startAt', 'stopAt', 'jitterMs', 'catchUp', 'catchUpWindowMs'];
const AT_KEYS = ['at'];
const CATCH_UPS = ['none', 'one', 'all'];
/** A character that is not white space (as String#trim counts it): a test, where trim made a string. */
const NON_SPACE = /\S/;

/**
 * An instant option (`Date`, ISO 8601 string or epoch ms) in epoch ms.
 * @param {string} method
 * @param {string} field
 * @param {unknown} value
 */
function instant(method, field, value) {
  const ms = v.instantMs(value);
  if (Number.isNaN(ms)) throw v.fail(method, field, 'a Date, an ISO 8601 date string or epoch milliseconds', value);
  return ms;
}

/**
 * Checks a worker's `schedule` and converts it for the engine; a TypeError
 * names the field that is wrong (the cron expression and the time zone are
 * read by the engine, which says what is wrong with them).
 * @param {string} method
 * @param {string} path where the schedule is, e.g. `worker.schedule`
 * @param {unknown} schedule
 * @returns {import('./native').JsSchedule}
 */
function scheduleSpec(method, path, schedule) {
  if (!v.isObject(schedule)) throw v.fail(method, path, 'an object { cron, timezone?, … } or { at }', schedule);
  const s = /** @type {Record<string, any>} */ (schedule);
  /** @type {import('./native').JsSchedule} */
  let spec;
  if (s.at !== undefined) {
    if (s.cron !== undefined) throw v.fail(method, `${path}.cron`, 'left out when at is given (a schedule is cron or one-off times)', s.cron);
    v.checkKnownKeys(method, path, s, AT_KEYS, 'refuse');
    const list = Array.isArray(s.at) ? s.at : [s.at];
    if (list.length === 0) throw v.fail(method, `${path}.at`, 'a Date, an ISO 8601 string, or a non-empty array of them', s.at);
    spec = { at: list.map((t, k) => instant(method, Array.isArray(s.at) ? `${path}.at[${k}]` : `${path}.at`, t)) };
  } else {
    if (typeof s.cron !== 'string' || !NON_SPACE.test(s.cron)) throw v.fail(method, `${path}.cron`, 'a cron expression such as "0 */5 * * * *" (or give at)', s.cron);
    v.checkKnownKeys(method, path, s, CRON_KEYS, 'refuse');
    if (s.timezone !== undefined && (typeof s.timezone !== 'string' || s.timezone === '')) {
      throw v.fail(method, `${path}.timezone`, 'an IANA time zone name such as "Europe/Berlin"', s.timezone);
    }
    spec = { cron: s.cron, timezone: s.timezone };
    if (s.startAt !== undefined) spec.startAtMs = instant(method, `${path}.startAt`, s.startAt);
    if (s.stopAt !== undefined) spec.stopAtMs = instant(method, `${path}.stopAt`, s.stopAt);
    if (spec.startAtMs !== undefined && spec.stopAtMs !== undefined && spec.stopAtMs < spec.startAtMs) {
      throw v.fail(method, `${path}.stopAt`, `an instant at or after startAt (${new Date(spec.startAtMs).toISOString()})`, s.stopAt);
    }
    if (s.jitterMs !== undefined) {
      if (typeof s.jitterMs !== 'number' || !Number.isFinite(s.jitterMs) || s.jitterMs < 0) throw v.fail(method, `${path}.jitterMs`, 'a finite number of ms ≥ 0', s.jitterMs);
      spec.jitterMs = s.jitterMs;
    }
    if (s.catchUp !== undefined) {
      if (!CATCH_UPS.includes(s.catchUp)) throw v.fail(method, `${path}.catchUp`, "one of 'none', 'one', 'all'", s.catchUp);
      spec.catchUp = s.catchUp;
    }
    if (s.catchUpWindowMs !== undefined) {
      if (typeof s.catchUpWindowMs !== 'number' || Number.isNaN(s.catchUpWindowMs) || s.catchUpWindowMs <= 0) {
        throw v.fail(method, `${path}.catchUpWindowMs`, 'a number of ms > 0, or Infinity', s.catchUpWindowMs);
      }
      if (Number.isFinite(s.catchUpWindowMs)) spec.catchUpWindowMs = s.catchUpWindowMs;
    }
  }
  const problem = native.scheduleProblem(spec);
  if (problem != null) {
    // The engine names the field as `schedule.cron`, `schedule.timezone`, ….
    const base = path.endsWith('.schedule') ? path.slice(0, -'.schedule'.length) : path;
    const field = problem.startsWith('schedule') ? `${base}.${problem}` : `${path}: ${problem}`;
    throw new TypeError(`${method}: ${field}`);
  }
  return spec;
}

module.exports = { scheduleSpec };
