// @ts-check
'use strict';

// Cron schedules (SPEC §14): the next fires of an expression in a time
// zone, computed by the engine's core, without a manager or a worker.
// Internal (not exported by the package): the differential tests against
// another cron implementation read the core through it.

const { scheduleNextRuns } = require('./native.js');
const { describe } = require('./errors');
const { fail } = require('./validate');

/** The most fires one call returns (the binding's limit). */
const MAX_COUNT = 1000;

/**
 * The next `count` fires of the cron expression `expr` in the IANA zone
 * `timezone` (the machine's zone when undefined), strictly after `after`.
 *
 * An expression that cannot be read or can never fire, and an unknown
 * zone, are refused with a `TypeError` whose message names the option and
 * the field:
 * `schedule.cron: day-of-month 30 never occurs in February (got "0 0 30 2 *")`.
 *
 * @param {string} expr 5 or 6 fields (seconds first), or a nickname such as `@daily`
 * @param {string | undefined} timezone
 * @param {Date | number} after a Date or ms since the Unix epoch
 * @param {number} count 1 to 1000
 * @returns {Date[]} in order; fewer than `count` only near the end of year 9999
 */
function nextCronRuns(expr, timezone, after, count) {
  if (typeof expr !== 'string') {
    throw new TypeError(`schedule.cron: expected a cron expression such as "*/5 * * * *", got ${describe(expr)}`);
  }
  if (timezone !== undefined && typeof timezone !== 'string') {
    throw new TypeError(`schedule.timezone: expected an IANA time zone name such as "Europe/Berlin", got ${describe(timezone)}`);
  }
  const afterMs = after instanceof Date ? after.getTime() : after;
  if (typeof afterMs !== 'number' || !Number.isFinite(afterMs)) {
    const expected = 'a valid Date or a finite number of milliseconds since the Unix epoch';
    if (after instanceof Date) throw new TypeError(`nextCronRuns: after must be ${expected} (got Invalid Date)`);
    throw fail('nextCronRuns', 'after', expected, after);
  }
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw fail('nextCronRuns', 'count', `an integer from 1 to ${MAX_COUNT}`, count);
  }
  let runs;
  try {
    runs = scheduleNextRuns({ cron: expr, timezone }, afterMs, count);
  } catch (e) {
    // The binding's Error (of Node's realm, whatever realm this code runs in).
    throw new TypeError(/** @type {any} */ (e)?.message ?? String(e));
  }
  return runs.map((ms) => new Date(ms));
}

module.exports = { nextCronRuns };
