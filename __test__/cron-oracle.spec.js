'use strict';

// Cron schedules (SPEC §14) checked against an oracle: croner 11, the most
// used cron library in Node. fast-check generates cron expressions (5 and 6
// fields: values, ranges, steps, lists, month and weekday names, `?`, `L`,
// `W`, `#`, nicknames), time zones (with whole-hour, half-hour and
// 45-minute offsets, with and without daylight saving, in both hemispheres)
// and start instants (mostly near the 2026 and 2027 transitions of those
// zones), and the next 10 fires of `nextCronRuns` (lib/schedule.js, the
// engine's core) must be the ones croner computes.
//
// croner is set up as the SPEC reads:
// - day-of-month and day-of-week combine with OR, as in Vixie cron
//   (`domAndDow: false`, croner's default; it replaces `legacyMode: true`);
// - 5 or 6 fields (`mode: '5-or-6-parts'`): no year field;
// - which times of day are *fixed* for daylight saving. The SPEC calls a
//   time fixed when the seconds, minutes and hours fields have no
//   wildcard, step or range, so lists of single values are fixed. croner's
//   default rule (`fixedTimeRule: 'single-value'`) calls a time fixed only
//   when each of those fields holds one value, and its other rule
//   (`'no-wildcard'`) counts ranges as fixed too. Each expression is
//   compared with the rule that agrees with the SPEC for it: 'no-wildcard'
//   for a fixed time (it has no range), 'single-value' for the others
//   (they have a wildcard, step or range; with a range they hold several
//   values, except for the class below).
//   The one class neither rule gets right is left out of the properties:
//   ranges of one value (`2-2`) where each field names one value; the SPEC
//   follows real time for them, croner fires them as fixed times. It and
//   croner's default list rule have example tests of their own below.
//
// `npm test` runs fixed seeds and a bounded number of runs; set
// SYNCHRONIK_CRON_RUNS (a multiplier) and SYNCHRONIK_CRON_SEED for more.

const fc = require('fast-check');
const { Cron } = require('croner');
const { nextCronRuns } = require('../lib/schedule');

const RUNS = Number(process.env.SYNCHRONIK_CRON_RUNS) || 1;
const SEED = process.env.SYNCHRONIK_CRON_SEED !== undefined ? Number(process.env.SYNCHRONIK_CRON_SEED) : 20260329;

/** The zones: the five of the issue, UTC, one more in Europe, one in South America (a midnight gap). */
const ZONES = ['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC', 'Europe/Berlin', 'America/Santiago'];

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const NICKNAMES = { '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@hourly': '0 * * * *' };

const iso = (/** @type {number | Date} */ t) => new Date(t).toISOString();
const utc = (/** @type {string} */ s) => Date.parse(s);

// ---------------------------------------------------------------------------
// The zones' transitions in 2026 and 2027, from Node's own zone data.

/** The offset of `zone` at `ms`, in minutes east of UTC. */
function offsetMinutes(zone, ms) {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(ms))
    .find((p) => p.type === 'timeZoneName').value;
  const m = /^GMT(?:([+-])(\d\d):(\d\d))?$/.exec(name);
  return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/**
 * Every change of offset in 2026 and 2027: `{ zone, at, before, after }`
 * (ms; offsets in minutes), found day by day and then to the second.
 */
function transitions() {
  const DAY = 86_400_000;
  const found = [];
  for (const zone of ZONES) {
    let offset = offsetMinutes(zone, utc('2026-01-01T00:00Z'));
    for (let t = utc('2026-01-01T00:00Z'); t < utc('2028-01-01T00:00Z'); t += DAY) {
      const next = offsetMinutes(zone, t + DAY);
      if (next === offset) continue;
      let [lo, hi] = [t, t + DAY];
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2000) * 1000;
        if (offsetMinutes(zone, mid) === offset) lo = mid;
        else hi = mid;
      }
      found.push({ zone, at: hi, before: offset, after: next });
      offset = next;
    }
  }
  return found;
}

const TRANSITIONS = transitions();

// ---------------------------------------------------------------------------
// The oracle, and the SPEC's fixed-time rule.

/** The expression's seconds, minutes and hours fields (nicknames expanded). */
function timeFields(expr) {
  const fields = (NICKNAMES[expr] || expr).trim().split(/\s+/);
  return fields.length === 5 ? ['0', fields[0], fields[1]] : fields.slice(0, 3);
}

/** SPEC §14: fixed when the seconds, minutes and hours fields have no wildcard, step or range. */
const specFixed = (expr) => timeFields(expr).every((f) => !/[*?/-]/.test(f));

/** The values a field of single values and ranges names (no wildcard or step). */
function values(field) {
  const out = new Set();
  for (const item of field.split(',')) {
    const [a, b = a] = item.split('-').map(Number);
    for (let v = a; v <= b; v++) out.add(v);
  }
  return out;
}

/**
 * The class croner cannot be asked about (see the top of the file): not
 * fixed for the SPEC only because of ranges, each field naming one value.
 */
function oneValueRanges(expr) {
  const fields = timeFields(expr);
  return !specFixed(expr) && fields.every((f) => !/[*?/]/.test(f) && values(f).size === 1);
}

/** croner 11 set up as the SPEC reads (see the top of the file); throws for what it refuses. */
function oracle(expr, timezone, fixedTimeRule = specFixed(expr) ? 'no-wildcard' : 'single-value') {
  return new Cron(expr, { timezone, mode: '5-or-6-parts', domAndDow: false, fixedTimeRule });
}

/** croner's next `count` fires after `after`, as ISO strings; null if it refuses the expression. */
function cronerRuns(expr, timezone, after, count, fixedTimeRule) {
  let job;
  try {
    job = oracle(expr, timezone, fixedTimeRule);
  } catch {
    return null;
  }
  return job.nextRuns(count, new Date(after)).map(iso);
}

const ours = (expr, timezone, after, count) => nextCronRuns(expr, timezone, after, count).map(iso);

// ---------------------------------------------------------------------------
// Generators.

const show = String;
const value = (min, max, name = show) => fc.integer({ min, max }).map(name);
const range = (min, max, name = show) =>
  fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${name(Math.min(a, b))}-${name(Math.max(a, b))}`);
/** `*\/s` or `a-b/s`; croner takes steps up to the field's largest value. */
const step = (min, max) =>
  fc.tuple(fc.oneof(fc.constant('*'), range(min, max)), fc.integer({ min: 1, max })).map(([base, s]) => `${base}/${s}`);
const list = (item) => fc.array(item, { minLength: 2, maxLength: 4 }).map((xs) => xs.join(','));
const weighted = (...pairs) => fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

/** A numeric field: `*`, a value, a range, a step or a list of them. */
function numeric(min, max, name = show) {
  const item = weighted([3, value(min, max, name)], [1, range(min, max, name)], [1, step(min, max)]);
  return weighted([2, fc.constant('*')], [3, item], [1, list(item)]);
}

const month = fc.boolean().chain((names) => numeric(1, 12, names ? (m) => MONTHS[m - 1] : show));

const dayOfMonthItem = weighted([3, value(1, 31)], [1, range(1, 31)], [1, step(1, 31)], [1, value(1, 31).map((d) => `${d}W`)]);
const dayOfMonth = weighted(
  [3, fc.constant('*')],
  [1, fc.constant('?')],
  [3, dayOfMonthItem],
  [1, list(dayOfMonthItem)],
  [1, fc.constantFrom('L', 'LW')],
  [1, dayOfMonthItem.map((d) => `${d},L`)],
);

const dayOfWeekItem = fc.boolean().chain((names) => {
  const name = names ? (d) => WEEKDAYS[d % 7] : show;
  const day = value(0, 7, name);
  return weighted(
    [3, day],
    [1, range(0, 7, name)],
    [1, step(0, 7)],
    [1, fc.tuple(day, fc.integer({ min: 1, max: 5 })).map(([d, n]) => `${d}#${n}`)],
    [1, day.map((d) => `${d}L`)],
    [1, day.map((d) => `${d}#L`)],
  );
});
const dayOfWeek = weighted([3, fc.constant('*')], [1, fc.constant('?')], [3, dayOfWeekItem], [1, list(dayOfWeekItem)]);

const expression = weighted(
  [4, fc.tuple(numeric(0, 59), numeric(0, 23), dayOfMonth, month, dayOfWeek).map((f) => f.join(' '))],
  [4, fc.tuple(numeric(0, 59), numeric(0, 59), numeric(0, 23), dayOfMonth, month, dayOfWeek).map((f) => f.join(' '))],
  [1, fc.constantFrom(...Object.keys(NICKNAMES))],
);

/** A zone and a start instant: mostly within hours of one of its transitions, else anywhere in 2025-2028. */
const zoneAndStart = fc.constantFrom(...ZONES).chain((zone) => {
  const anywhere = fc.integer({ min: utc('2025-06-01T00:00Z'), max: utc('2028-06-01T00:00Z') });
  const near = TRANSITIONS.filter((t) => t.zone === zone);
  const start = near.length === 0
    ? anywhere
    : weighted(
        [3, fc.tuple(fc.constantFrom(...near), fc.integer({ min: -6 * 3600, max: 3 * 3600 }), fc.integer({ min: 0, max: 999 }))
          .map(([t, s, ms]) => t.at + s * 1000 + ms)],
        [1, anywhere],
      );
  return fc.tuple(fc.constant(zone), start);
});

/**
 * Expressions aimed at a transition: in its zone, with times of day around
 * the wall clock hours and minutes on both sides of it, on days that
 * include the transition's, starting up to 30 hours before it.
 */
const aimedAtTransition = fc.constantFrom(...TRANSITIONS).chain((t) => {
  const wall = (offset) => new Date(t.at + offset * 60_000);
  const [b, a] = [wall(t.before), wall(t.after)];
  const hours = [...new Set([b.getUTCHours() - 1, b.getUTCHours(), a.getUTCHours(), a.getUTCHours() + 1].map((h) => (h + 24) % 24))];
  const minutes = [...new Set([0, 1, 15, 29, 30, 31, 44, 45, 46, 59, b.getUTCMinutes(), a.getUTCMinutes()])];
  const field = (hot, max) => {
    const v = fc.constantFrom(...hot).map(show);
    const r = fc.tuple(fc.constantFrom(...hot), fc.constantFrom(...hot)).map(([x, y]) => `${Math.min(x, y)}-${Math.max(x, y)}`);
    const s = fc.tuple(fc.oneof(fc.constant('*'), r), fc.integer({ min: 1, max: Math.min(max, 30) })).map(([base, n]) => `${base}/${n}`);
    return weighted([1, fc.constant('*')], [4, v], [2, list(v)], [1, r], [1, s]);
  };
  const days = fc.constantFrom('* * *', '? * *', '* * ?', 'L * *', '1-31 * *', '* * 0-6', '* * SUN', '* * SAT', '* * 0,6', '4,5,25,26,29 * *', '* MAR,APR,SEP,OCT,NOV *');
  return fc.record({
    expr: fc.oneof(
      fc.tuple(field(minutes, 59), field(hours, 23), days).map((f) => f.join(' ')),
      fc.tuple(field([0, 1, 30, 59], 59), field(minutes, 59), field(hours, 23), days).map((f) => f.join(' ')),
    ),
    zone: fc.constant(t.zone),
    after: fc.tuple(fc.integer({ min: 0, max: 30 * 3600 }), fc.integer({ min: 0, max: 999 })).map(([s, ms]) => t.at - s * 1000 + ms),
  });
});

// ---------------------------------------------------------------------------

describe('the next fires agree with croner 11 (properties)', () => {
  test('the zones have the transitions the properties aim at', () => {
    // 4 a year in each of the 6 zones with daylight saving (Kolkata and UTC have none).
    expect(TRANSITIONS.length).toBe(24);
    expect(TRANSITIONS.filter((t) => t.zone === 'Australia/Lord_Howe').map((t) => t.after - t.before)).toEqual([-30, 30, -30, 30]);
  });

  test(`generated expressions, zones and starts (seed ${SEED})`, () => {
    fc.assert(
      fc.property(expression, zoneAndStart, (expr, [zone, after]) => {
        fc.pre(!oneValueRanges(expr));
        const expected = cronerRuns(expr, zone, after, 10);
        // Only what croner accepts and can fire (refusals are compared below).
        fc.pre(expected !== null && expected.length > 0);
        expect({ expr, zone, after: iso(after), runs: ours(expr, zone, after, 10) }).toEqual({ expr, zone, after: iso(after), runs: expected });
      }),
      { seed: SEED, numRuns: 800 * RUNS },
    );
  });

  test(`times of day around the 2026 and 2027 transitions (seed ${SEED + 1})`, () => {
    fc.assert(
      fc.property(aimedAtTransition, ({ expr, zone, after }) => {
        fc.pre(!oneValueRanges(expr));
        const expected = cronerRuns(expr, zone, after, 10);
        fc.pre(expected !== null && expected.length > 0);
        expect({ expr, zone, after: iso(after), runs: ours(expr, zone, after, 10) }).toEqual({ expr, zone, after: iso(after), runs: expected });
      }),
      { seed: SEED + 1, numRuns: 1200 * RUNS },
    );
  });

  test(`what croner finds never fires is refused with a TypeError naming the field (seed ${SEED + 2})`, () => {
    // Day-of-month values that some months lack, in those months only; the
    // day-of-week field a wildcard (any other weekday field would fire, OR).
    const late = weighted([3, value(29, 31)], [1, range(29, 31)], [1, value(29, 31).map((d) => `${d}W`)]);
    const shortMonths = fc.subarray([2, 4, 6, 9, 11], { minLength: 1 }).chain((ms) =>
      fc.boolean().map((names) => ms.map((m) => (names ? MONTHS[m - 1] : String(m))).join(',')),
    );
    const never = fc.tuple(numeric(0, 59), numeric(0, 23), fc.oneof(late, list(late)), shortMonths, fc.constantFrom('*', '?'));
    fc.assert(
      fc.property(never, fc.constantFrom(...ZONES), (fields, zone) => {
        const expr = fields.join(' ');
        let job;
        try {
          job = oracle(expr, zone);
        } catch {
          fc.pre(false);
        }
        fc.pre(job.nextRun(new Date(utc('2026-01-01T00:00Z'))) === null);
        let error;
        try {
          nextCronRuns(expr, zone, 0, 1);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(/^schedule\.cron: day-of-month .* never occurs in /);
        expect(error.message).toContain(`(got "${expr}")`);
      }),
      { seed: SEED + 2, numRuns: 150 * RUNS },
    );
  });
});

// ---------------------------------------------------------------------------

describe('daylight saving, by hand (SPEC §14)', () => {
  test('0 30 2 * * * in Europe/Berlin: once at 03:00 in the spring gap, once (the first 02:30) in the fall overlap', () => {
    // 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
    expect(ours('0 30 2 * * *', 'Europe/Berlin', utc('2026-03-28T00:00Z'), 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, the first valid instant after the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(ours('0 30 2 * * *', 'Europe/Berlin', utc('2026-10-24T00:00Z'), 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); not again at 02:30 CET (01:30Z)
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    for (const after of [utc('2026-03-28T00:00Z'), utc('2026-10-24T00:00Z')]) {
      expect(ours('0 30 2 * * *', 'Europe/Berlin', after, 3)).toEqual(cronerRuns('0 30 2 * * *', 'Europe/Berlin', after, 3));
    }
  });

  test('*/30 * * * * in America/New_York follows real time across both 2026 transitions', () => {
    // 2026-03-08 02:00 EST → 03:00 EDT: 02:00 and 02:30 do not exist.
    expect(ours('*/30 * * * *', 'America/New_York', utc('2026-03-08T05:45Z'), 5)).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T06:30:00.000Z', // 01:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-03-08T08:00:00.000Z', // 04:00 EDT
    ]);
    // 2026-11-01 02:00 EDT → 01:00 EST: 01:00 and 01:30 come twice, and fire twice.
    expect(ours('*/30 * * * *', 'America/New_York', utc('2026-11-01T04:45Z'), 6)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T06:30:00.000Z', // 01:30 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z', // 02:30 EST
    ]);
    for (const after of [utc('2026-03-08T05:45Z'), utc('2026-11-01T04:45Z')]) {
      expect(ours('*/30 * * * *', 'America/New_York', after, 6)).toEqual(cronerRuns('*/30 * * * *', 'America/New_York', after, 6));
    }
  });

  test('Australia/Lord_Howe moves its clocks by half an hour', () => {
    // 2026-10-04 02:00 (+10:30) → 02:30 (+11:00), at 2026-10-03T15:30Z.
    expect(ours('*/15 * * * *', 'Australia/Lord_Howe', utc('2026-10-03T15:00Z'), 4)).toEqual([
      '2026-10-03T15:15:00.000Z', // 01:45 +10:30
      '2026-10-03T15:30:00.000Z', // 02:30 +11:00 (02:00 and 02:15 do not exist)
      '2026-10-03T15:45:00.000Z', // 02:45
      '2026-10-03T16:00:00.000Z', // 03:00
    ]);
    // A fixed 02:15 in that gap fires once, at 02:30 +11:00.
    expect(ours('0 15 2 * * *', 'Australia/Lord_Howe', utc('2026-10-02T16:00Z'), 3)).toEqual([
      '2026-10-03T15:30:00.000Z',
      '2026-10-04T15:15:00.000Z', // 02:15 +11:00
      '2026-10-05T15:15:00.000Z',
    ]);
    // 2026-04-05 02:00 (+11:00) → 01:30 (+10:30), at 2026-04-04T15:00Z: 01:30-01:59 come twice.
    expect(ours('*/15 * * * *', 'Australia/Lord_Howe', utc('2026-04-04T14:20Z'), 5)).toEqual([
      '2026-04-04T14:30:00.000Z', // 01:30 +11:00
      '2026-04-04T14:45:00.000Z', // 01:45 +11:00
      '2026-04-04T15:00:00.000Z', // 01:30 +10:30
      '2026-04-04T15:15:00.000Z', // 01:45 +10:30
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30
    ]);
    // A fixed 01:45 fires at its first occurrence only.
    expect(ours('0 45 1 * * *', 'Australia/Lord_Howe', utc('2026-04-04T12:00Z'), 2)).toEqual([
      '2026-04-04T14:45:00.000Z',
      '2026-04-05T15:15:00.000Z', // 01:45 +10:30
    ]);
    for (const [expr, after] of [['*/15 * * * *', utc('2026-10-03T15:00Z')], ['0 15 2 * * *', utc('2026-10-02T16:00Z')], ['*/15 * * * *', utc('2026-04-04T14:20Z')], ['0 45 1 * * *', utc('2026-04-04T12:00Z')]]) {
      expect(ours(expr, 'Australia/Lord_Howe', after, 5)).toEqual(cronerRuns(expr, 'Australia/Lord_Howe', after, 5));
    }
  });

  test('a fixed midnight in America/Santiago, whose spring gap is at midnight, fires at 01:00', () => {
    // 2026-09-06 00:00 (-04:00) → 01:00 (-03:00), at 04:00Z.
    expect(ours('0 0 * * *', 'America/Santiago', utc('2026-09-05T12:00Z'), 2)).toEqual(['2026-09-06T04:00:00.000Z', '2026-09-07T03:00:00.000Z']);
    expect(cronerRuns('0 0 * * *', 'America/Santiago', utc('2026-09-05T12:00Z'), 2)).toEqual(['2026-09-06T04:00:00.000Z', '2026-09-07T03:00:00.000Z']);
  });
});

describe('where croner 11 differs from the SPEC (kept as examples; the properties leave these classes out)', () => {
  test('a list of single values is a fixed time (croner\'s default rule calls it an interval)', () => {
    // SPEC §14: a fixed time of day has no wildcard, step or range in the
    // seconds, minutes and hours fields; `0,30` is a list of single values,
    // so 02:00 and 02:30, both in the spring gap, fire once, at 03:00.
    const after = utc('2026-03-28T12:00Z');
    expect(ours('0 0,30 2 * * *', 'Europe/Berlin', after, 3)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    // croner's default ('single-value') skips both; its 'no-wildcard' rule agrees with the SPEC.
    expect(cronerRuns('0 0,30 2 * * *', 'Europe/Berlin', after, 3, 'single-value')).toEqual(['2026-03-30T00:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:00:00.000Z']);
    expect(cronerRuns('0 0,30 2 * * *', 'Europe/Berlin', after, 3, 'no-wildcard')).toEqual(ours('0 0,30 2 * * *', 'Europe/Berlin', after, 3));

    // And in a fall-back overlap, a listed time fires at its first occurrence only.
    const fall = utc('2026-11-01T04:00Z'); // 2026-11-01 02:00 EDT → 01:00 EST, at 06:00Z
    expect(ours('30 1,3 * * *', 'America/New_York', fall, 3)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T08:30:00.000Z', // 03:30 EST; not 01:30 EST (06:30Z)
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
    expect(cronerRuns('30 1,3 * * *', 'America/New_York', fall, 3, 'single-value')).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-01T08:30:00.000Z']);
  });

  test('a range of one value (2-2) is not a fixed time (croner calls it fixed under both rules)', () => {
    // SPEC §14: a range in the seconds, minutes or hours field makes the
    // schedule follow real time, whatever the range holds: 02:30 does not
    // exist on the spring-forward day and is skipped, and comes twice on
    // the fall-back day and fires twice.
    const spring = utc('2026-03-28T12:00Z');
    expect(ours('0 30 2-2 * * *', 'Europe/Berlin', spring, 2)).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    for (const rule of ['single-value', 'no-wildcard']) {
      expect(cronerRuns('0 30 2-2 * * *', 'Europe/Berlin', spring, 2, rule)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    }
    const fall = utc('2026-10-24T12:00Z');
    expect(ours('0 30 2-2 * * *', 'Europe/Berlin', fall, 3)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(cronerRuns('0 30 2-2 * * *', 'Europe/Berlin', fall, 3, 'single-value')).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
    expect(oneValueRanges('0 30 2-2 * * *') && oneValueRanges('59-59 29 1,1 * * *') && !oneValueRanges('0 30 2-3 * * *')).toBe(true);
  });

  test('syntax croner accepts that the SPEC does not list is refused, naming the field', () => {
    // `?` means "no particular value" in the two day fields; croner also
    // takes it in the others as `*` (its README calls that non-portable).
    expect(() => nextCronRuns('0 ? * * *', 'UTC', 0, 1)).toThrow(/^schedule\.cron: hour "\?" is not valid: .*\(got "0 \? \* \* \*"\)$/);
    expect(() => nextCronRuns('0 0 * ? *', 'UTC', 0, 1)).toThrow(/^schedule\.cron: month "\?" is not valid/);
    expect(cronerRuns('0 ? * * *', 'UTC', 0, 1)).toEqual(['1970-01-01T01:00:00.000Z']);
    // A year field (croner's 7th) and @midnight (not among the SPEC's nicknames).
    expect(() => nextCronRuns('0 0 0 1 1 * 2030', 'UTC', 0, 1)).toThrow(/^schedule\.cron: expected 5 fields .* got 7 fields/);
    expect(() => nextCronRuns('@midnight', 'UTC', 0, 1)).toThrow(/^schedule\.cron: unknown nickname "@midnight"/);
  });

  test('a step larger than the day-of-week field is taken as Vixie cron takes it (croner refuses it)', () => {
    // Vixie cron steps from the start of the range while within it: */8 in
    // 0-7 is Sunday alone. croner refuses steps above the field's largest value.
    expect(ours('0 0 * * */8', 'UTC', utc('2026-01-01T00:00Z'), 2)).toEqual(['2026-01-04T00:00:00.000Z', '2026-01-11T00:00:00.000Z']);
    expect(cronerRuns('0 0 * * */8', 'UTC', utc('2026-01-01T00:00Z'), 2)).toBeNull();
  });
});

describe('refusals', () => {
  test('0 0 30 2 * never fires: a TypeError naming schedule.cron and the field', () => {
    expect(cronerRuns('0 0 30 2 *', 'UTC', 0, 1)).toEqual([]);
    let error;
    try {
      nextCronRuns('0 0 30 2 *', 'Europe/Berlin', new Date(utc('2026-01-01T00:00Z')), 5);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('schedule.cron: day-of-month 30 never occurs in February (got "0 0 30 2 *")');
  });

  test('bad fields and zones name what is wrong', () => {
    expect(() => nextCronRuns('0 0 32 * *', 'UTC', 0, 1)).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/^schedule\.cron: day-of-month "32" is not valid: .*\(got "0 0 32 \* \*"\)$/) }),
    );
    expect(() => nextCronRuns('0 0 31 4,6 ?', 'UTC', 0, 1)).toThrow(/^schedule\.cron: day-of-month 31 never occurs in April or June/);
    expect(() => nextCronRuns('', 'UTC', 0, 1)).toThrow(/^schedule\.cron: expected a cron expression .* got an empty string$/);
    expect(() => nextCronRuns('* * * *', 'UTC', 0, 1)).toThrow(/^schedule\.cron: expected 5 fields .* got 4 fields/);
    expect(() => nextCronRuns('@daily', 'Mars/Olympus_Mons', 0, 1)).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/^schedule\.timezone: unknown time zone "Mars\/Olympus_Mons"/) }),
    );
  });

  test('the helper\'s own arguments', () => {
    expect(() => nextCronRuns(/** @type {any} */ (5), 'UTC', 0, 1)).toThrow(new TypeError('schedule.cron: expected a cron expression such as "*/5 * * * *", got number'));
    expect(() => nextCronRuns('@daily', /** @type {any} */ (1), 0, 1)).toThrow(new TypeError('schedule.timezone: expected an IANA time zone name such as "Europe/Berlin", got number'));
    expect(() => nextCronRuns('@daily', 'UTC', new Date(NaN), 1)).toThrow(/^nextCronRuns: after must be a valid Date .* \(got Invalid Date\)$/);
    expect(() => nextCronRuns('@daily', 'UTC', Infinity, 1)).toThrow(/^nextCronRuns: after must be .* \(got Infinity\)$/);
    expect(() => nextCronRuns('@daily', 'UTC', /** @type {any} */ ('0'), 1)).toThrow(/^nextCronRuns: after must be .* \(got string\)$/);
    for (const count of [0, 1001, 1.5, NaN]) {
      expect(() => nextCronRuns('@daily', 'UTC', 0, count)).toThrow(new TypeError(`nextCronRuns: count must be an integer from 1 to 1000 (got ${count})`));
    }
    expect(nextCronRuns('@hourly', 'UTC', new Date(utc('2026-01-01T00:30Z')), 1000)).toHaveLength(1000);
    expect(nextCronRuns('@yearly', undefined, 0, 1)[0]).toBeInstanceOf(Date);
  });
});
