'use strict';

// Calendar schedules on workers (SPEC §14), from the outside, on the manual
// clock started at a given instant: cron expressions in a time zone through
// daylight-saving nights, one-off times, nextRuns, pause and resume, config
// changes, late fires, catch-up after a stop and after a restart with a
// SQLite store, jitter, validation, the snapshot and the events.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager, SynchronikError } = require('..');
const { closedAfterEach, deferred, describeEvent, errorOf, recordEvents, settle, until } = require('./helpers');

const create = closedAfterEach();

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ms = (iso) => Date.parse(iso);
const isoOf = (t) => new Date(t).toISOString();

/**
 * A manager on the manual clock starting at `now`. Its sweep of idle
 * processes (none here) comes once a day, so that walking the clock through
 * days in small steps does not fire it once a second on the way; schedules
 * have timers of their own.
 */
function manual(now, options = {}) {
  return create({ clock: { manual: true, now }, loopInterval: DAY, ...options });
}

/**
 * Registers worker `id` with `schedule` (and `extra` options); its runs push
 * the manager's clock time at which they started into the returned array.
 */
function scheduled(m, id, schedule, extra = {}) {
  const runs = [];
  m.registerUnit({ id, run: () => void runs.push(m.clock.now()), schedule, ...extra });
  return runs;
}

/** The wall-clock time of day (HH:MM) of `t` in time zone `timeZone`. */
function localTime(t, timeZone) {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(t));
}

/** Moves the clock forward by `total` in steps of `step` (each step awaited). */
async function walk(m, total, step) {
  for (let done = 0; done < total; done += step) await m.clock.advance(Math.min(step, total - done));
}

// ---------------------------------------------------------------------------
// 1. Daylight saving
// ---------------------------------------------------------------------------

describe('daylight saving nights (SPEC §14)', () => {
  test('0 30 2 * * * in Europe/Berlin on the 2026 spring night fires once, at 03:00 CEST (01:00Z), right after the gap', async () => {
    // 2026-03-29 00:00 CET is 2026-03-28T23:00Z; at 02:00 CET the clocks go to 03:00 CEST.
    const m = manual('2026-03-28T23:00:00Z');
    const runs = scheduled(m, 'berlin', { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' });
    m.start();
    await walk(m, 2 * DAY, 15 * MINUTE);
    expect(runs.map(isoOf)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(runs.map((t) => localTime(t, 'Europe/Berlin'))).toEqual(['03:00', '02:30']);
  });

  test('0 30 2 * * * in Europe/Berlin on the 2026 autumn night fires once, at its first occurrence (00:30Z)', async () => {
    // 2026-10-25 00:00 CEST is 2026-10-24T22:00Z; at 03:00 CEST the clocks go back to 02:00 CET.
    const m = manual('2026-10-24T22:00:00Z');
    const runs = scheduled(m, 'berlin', { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' });
    m.start();
    await walk(m, 2 * DAY, 15 * MINUTE);
    expect(runs.map(isoOf)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(runs.map((t) => localTime(t, 'Europe/Berlin'))).toEqual(['02:30', '02:30']);
  });

  test('the Berlin schedule walked a day at a time from spring to autumn: one run a day, once on each night', async () => {
    const m = manual('2026-03-28T23:00:00Z');
    const runs = scheduled(m, 'berlin', { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' });
    expect(m.nextRuns('berlin', 2).map((d) => d.toISOString())).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    m.start();
    await walk(m, ms('2026-10-25T23:00:00Z') - ms('2026-03-28T23:00:00Z'), DAY);
    expect(runs).toHaveLength(211); // 2026-03-29 .. 2026-10-25, one a day
    expect(isoOf(runs[0])).toBe('2026-03-29T01:00:00.000Z');
    expect(isoOf(runs[runs.length - 1])).toBe('2026-10-25T00:30:00.000Z');
    expect(runs.filter((t) => isoOf(t).startsWith('2026-10-25'))).toEqual([ms('2026-10-25T00:30:00Z')]);
  });

  test('*/30 * * * * in America/New_York on the 2026 spring night: the 02:xx times do not exist (10 runs from 00:00 to 06:00)', async () => {
    // 2026-03-08 00:00 EST is 05:00Z; 06:00 EDT is 10:00Z (five real hours).
    const m = manual('2026-03-08T05:00:00Z');
    const runs = scheduled(m, 'ny', { cron: '*/30 * * * *', timezone: 'America/New_York' });
    m.start();
    await walk(m, 5 * HOUR, 10 * MINUTE);
    expect(runs).toHaveLength(10);
    expect(runs.map((t) => localTime(t, 'America/New_York'))).toEqual([
      '00:30', '01:00', '01:30', '03:00', '03:30', '04:00', '04:30', '05:00', '05:30', '06:00',
    ]);
    expect(runs.map(isoOf)).toEqual(Array.from({ length: 10 }, (_, k) => isoOf(ms('2026-03-08T05:30:00Z') + k * 30 * MINUTE)));
  });

  test('*/30 * * * * in America/New_York on the 2026 autumn night: the 01:xx hour fires in both passes (14 runs from 00:00 to 06:00)', async () => {
    // 2026-11-01 00:00 EDT is 04:00Z; 06:00 EST is 11:00Z (seven real hours).
    const m = manual('2026-11-01T04:00:00Z');
    const runs = scheduled(m, 'ny', { cron: '*/30 * * * *', timezone: 'America/New_York' });
    m.start();
    await walk(m, 7 * HOUR, 10 * MINUTE);
    expect(runs).toHaveLength(14);
    expect(runs.map((t) => localTime(t, 'America/New_York'))).toEqual([
      '00:30', '01:00', '01:30', '01:00', '01:30', '02:00', '02:30', '03:00', '03:30', '04:00', '04:30', '05:00', '05:30', '06:00',
    ]);
    expect(runs.map(isoOf)).toEqual(Array.from({ length: 14 }, (_, k) => isoOf(ms('2026-11-01T04:30:00Z') + k * 30 * MINUTE)));
  });

  test('nextRuns shows the same daylight-saving times before anything runs', () => {
    const m = manual('2026-11-01T04:00:00Z');
    scheduled(m, 'ny', { cron: '*/30 * * * *', timezone: 'America/New_York' });
    const next = m.nextRuns('ny', 14);
    expect(next.map((d) => localTime(d, 'America/New_York'))).toEqual([
      '00:30', '01:00', '01:30', '01:00', '01:30', '02:00', '02:30', '03:00', '03:30', '04:00', '04:30', '05:00', '05:30', '06:00',
    ]);
  });
});

// ---------------------------------------------------------------------------
// 2. nextRuns
// ---------------------------------------------------------------------------

describe('manager.nextRuns(id, count)', () => {
  const NOW = '2026-01-01T00:10:00Z';

  test('returns Dates, 5 by default, from now by the manager clock', async () => {
    const m = manual(NOW);
    scheduled(m, 'h', { cron: '0 * * * *', timezone: 'UTC' });
    const next = m.nextRuns('h');
    expect(next).toHaveLength(5);
    for (const d of next) expect(d).toBeInstanceOf(Date);
    expect(next.map((d) => d.toISOString())).toEqual([1, 2, 3, 4, 5].map((h) => isoOf(ms('2026-01-01T00:00:00Z') + h * HOUR)));
    expect(m.nextRuns('h', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T01:00:00.000Z']);
    expect(m.nextRuns('h', 1000)).toHaveLength(1000);
    await m.clock.advance(2 * HOUR); // not started: the times still move with the clock
    expect(m.nextRuns('h', 2).map((d) => d.toISOString())).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-01T04:00:00.000Z']);
  });

  test.each([
    [0, 'got 0'],
    [1001, 'got 1001'],
    [2.5, 'got 2.5'],
    [-1, 'got -1'],
    [NaN, 'got NaN'],
    ['3', 'got string'],
    [null, 'got null'],
  ])('count %p is a TypeError naming count', (count, got) => {
    const m = manual(NOW);
    scheduled(m, 'h', { cron: '0 * * * *' });
    const e = (() => {
      try {
        m.nextRuns('h', count);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^nextRuns: count must be an integer from 1 to 1000 \(got /);
    expect(e.message).toContain(got);
  });

  test('an unknown id is a SynchronikError ERR_UNKNOWN_UNIT', async () => {
    const m = manual(NOW);
    const e = await errorOf(() => m.nextRuns('nobody'));
    expect(e).toBeInstanceOf(SynchronikError);
    expect(e.code).toBe('ERR_UNKNOWN_UNIT');
    expect(e.message).toContain('nobody');
  });

  test('an interval worker gives its next interval times', async () => {
    const m = manual(NOW);
    const runs = [];
    m.registerUnit({ id: 'tick', intervalMs: 1000, runOnInterval: true, run: () => void runs.push(m.clock.now()) });
    m.start();
    const t0 = m.clock.now();
    expect(m.nextRuns('tick', 3).map((d) => d.getTime())).toEqual([t0 + 1000, t0 + 2000, t0 + 3000]);
    await m.clock.advance(1500);
    expect(runs).toEqual([t0 + 1000]);
    expect(m.nextRuns('tick', 2).map((d) => d.getTime())).toEqual([t0 + 2000, t0 + 3000]);
  });

  test('a worker that is not scheduled gives []; so does a one-off schedule whose times have passed', () => {
    const m = manual(NOW);
    m.registerUnit({ id: 'plain', run: () => 1 });
    expect(m.nextRuns('plain')).toEqual([]);
    scheduled(m, 'past', { at: '2025-06-01T00:00:00Z' });
    expect(m.nextRuns('past')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// 3. Validation
// ---------------------------------------------------------------------------

describe('a bad schedule is a TypeError from registerUnit naming the field', () => {
  const NOW = '2026-01-01T00:00:00Z';
  const run = () => 1;

  test.each([
    ['not an object', 5, /^registerUnit: unit\.schedule must be an object .* \(got number\)$/],
    ['null', null, /^registerUnit: unit\.schedule must be an object .* \(got null\)$/],
    ['a string', '0 * * * *', /^registerUnit: unit\.schedule must be an object /],
    ['cron missing', {}, /^registerUnit: unit\.schedule\.cron must be a cron expression .* \(got undefined\)$/],
    ['cron empty', { cron: '' }, /^registerUnit: unit\.schedule\.cron must be a cron expression /],
    ['cron blank', { cron: '   ' }, /^registerUnit: unit\.schedule\.cron must be a cron expression /],
    ['cron never firing', { cron: '0 0 30 2 *' }, /^registerUnit: unit\.schedule\.cron: day-of-month 30 never occurs in February \(got "0 0 30 2 \*"\)$/],
    ['a bad field value', { cron: '0 0 99 * *' }, /^registerUnit: unit\.schedule\.cron: day-of-month "99" is not valid.* \(got "0 0 99 \* \*"\)$/],
    ['a bad minute', { cron: '61 * * * *' }, /^registerUnit: unit\.schedule\.cron: .*\(got "61 \* \* \* \*"\)$/],
    ['too many fields', { cron: '0 0 0 * * * * *' }, /^registerUnit: unit\.schedule\.cron: /],
    ['an unknown time zone', { cron: '0 * * * *', timezone: 'Mars/Base' }, /^registerUnit: unit\.schedule\.timezone: unknown time zone "Mars\/Base"/],
    ['a time zone that is not a string', { cron: '0 * * * *', timezone: 1 }, /^registerUnit: unit\.schedule\.timezone must be an IANA time zone name/],
    ['an unknown key', { cron: '0 * * * *', every: 5 }, /^registerUnit: unit\.schedule\.every is not an option/],
    ['cron with at', { cron: '0 * * * *', at: '2026-02-01T00:00:00Z' }, /^registerUnit: unit\.schedule\.cron must be left out when at is given/],
    ['an unknown key beside at', { at: '2026-02-01T00:00:00Z', timezone: 'UTC' }, /^registerUnit: unit\.schedule\.timezone is not an option/],
    ['a bad at entry', { at: ['2026-02-01T00:00:00Z', 'next tuesday'] }, /^registerUnit: unit\.schedule\.at\[1\] must be a Date, an ISO 8601 date string or epoch milliseconds/],
    ['an invalid Date in at', { at: [new Date('nope')] }, /^registerUnit: unit\.schedule\.at\[0\] must be /],
    ['a bad single at', { at: 'soon' }, /^registerUnit: unit\.schedule\.at must be a Date/],
    ['an empty at list', { at: [] }, /^registerUnit: unit\.schedule\.at must be /],
    ['startAt invalid', { cron: '0 * * * *', startAt: 'yesterday' }, /^registerUnit: unit\.schedule\.startAt must be a Date, an ISO 8601 date string or epoch milliseconds/],
    ['stopAt invalid', { cron: '0 * * * *', stopAt: {} }, /^registerUnit: unit\.schedule\.stopAt must be /],
    ['stopAt before startAt', { cron: '0 * * * *', startAt: '2026-05-01T00:00:00Z', stopAt: '2026-04-01T00:00:00Z' }, /^registerUnit: unit\.schedule\.stopAt must be an instant at or after startAt \(2026-05-01T00:00:00\.000Z\)/],
    ['jitterMs negative', { cron: '0 * * * *', jitterMs: -1 }, /^registerUnit: unit\.schedule\.jitterMs must be a finite number of ms ≥ 0 \(got -1\)$/],
    ['jitterMs infinite', { cron: '0 * * * *', jitterMs: Infinity }, /^registerUnit: unit\.schedule\.jitterMs must be /],
    ['catchUp unknown', { cron: '0 * * * *', catchUp: 'some' }, /^registerUnit: unit\.schedule\.catchUp must be one of 'none', 'one', 'all' \(got string "some"\)$/],
    ['catchUpWindowMs 0', { cron: '0 * * * *', catchUpWindowMs: 0 }, /^registerUnit: unit\.schedule\.catchUpWindowMs must be a number of ms > 0, or Infinity \(got 0\)$/],
    ['catchUpWindowMs NaN', { cron: '0 * * * *', catchUpWindowMs: NaN }, /^registerUnit: unit\.schedule\.catchUpWindowMs must be /],
  ])('%s', (_, schedule, message) => {
    const m = manual(NOW);
    let e;
    try {
      m.registerUnit({ id: 'w', run, schedule });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(message);
    expect(m.getUnitById('w')).toBeUndefined();
    expect(m.getRegistrySnapshot()).toEqual([]);
  });

  test('schedule with intervalMs names intervalMs', () => {
    const m = manual(NOW);
    expect(() => m.registerUnit({ id: 'w', run, intervalMs: 1000, schedule: { cron: '0 * * * *' } })).toThrow(
      new TypeError('registerUnit: unit.intervalMs must be left out when schedule is set (a worker runs on an interval or on a schedule) (got number)'),
    );
    expect(m.getRegistrySnapshot()).toEqual([]);
  });

  test('schedule with runOnInterval: true names runOnInterval', () => {
    const m = manual(NOW);
    const e = (() => {
      try {
        m.registerUnit({ id: 'w', run, runOnInterval: true, schedule: { cron: '0 * * * *' } });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^registerUnit: unit\.runOnInterval must be left out when schedule is set/);
    expect(m.getRegistrySnapshot()).toEqual([]);
  });

  test('runOnInterval: false beside a schedule is accepted', () => {
    const m = manual(NOW);
    m.registerUnit({ id: 'w', run, runOnInterval: false, schedule: { cron: '0 * * * *' } });
    expect(m.nextRuns('w', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T01:00:00.000Z']);
  });

  test("in a process's worker the path is unit.workers[k].schedule…, and nothing of the process is registered", () => {
    const m = manual(NOW);
    const register = (schedule) => () =>
      m.registerUnit({
        id: 'p',
        workers: [
          { id: 'ok', run, schedule: { cron: '0 * * * *' } },
          { id: 'bad', run, schedule },
        ],
      });
    expect(register({ cron: '0 0 30 2 *' })).toThrow(
      new TypeError('registerUnit: unit.workers[1].schedule.cron: day-of-month 30 never occurs in February (got "0 0 30 2 *")'),
    );
    expect(register({ cron: '0 * * * *', timezone: 'Mars/Base' })).toThrow(/^registerUnit: unit\.workers\[1\]\.schedule\.timezone: unknown time zone "Mars\/Base"/);
    expect(register({ cron: '0 * * * *', catchUp: 'twice' })).toThrow(/^registerUnit: unit\.workers\[1\]\.schedule\.catchUp must be /);
    expect(register({ at: ['2026-02-01T00:00:00Z', 7n] })).toThrow(/^registerUnit: unit\.workers\[1\]\.schedule\.at\[1\] must be /);
    expect(register(3)).toThrow(/^registerUnit: unit\.workers\[1\]\.schedule must be an object /);
    expect(() => m.registerUnit({ id: 'p', workers: [{ id: 'w0', run, intervalMs: 5, schedule: { cron: '0 * * * *' } }] })).toThrow(
      /^registerUnit: unit\.workers\[0\]\.intervalMs must be left out when schedule is set/,
    );
    expect(m.getRegistrySnapshot()).toEqual([]);
    for (const id of ['p', 'ok', 'bad', 'w0']) expect(m.getUnitById(id)).toBeUndefined();
  });

  test('a schedule is converted and checked by the engine once per registration, also when a registration was refused after its check', () => {
    const native = require('../lib/native');
    const seen = [];
    const check = native.scheduleProblem;
    native.scheduleProblem = (spec) => {
      seen.push(spec.cron);
      return check(spec);
    };
    try {
      const m = manual(NOW);
      m.registerUnit({ id: 'a', run, schedule: { cron: '0 * * * *', timezone: 'UTC' } });
      expect(seen).toEqual(['0 * * * *']);
      // Refused after its schedule was checked: the next registration of
      // the same schedule object, changed since, gets its own check.
      const schedule = { cron: '0 0 * * *' };
      expect(() => m.registerUnit({ id: 'b', run, schedule, status: 'running' })).toThrow(/unit\.status/);
      schedule.cron = '0 0 12 * * *';
      m.registerUnit({ id: 'b', run, schedule });
      expect(seen).toEqual(['0 * * * *', '0 0 * * *', '0 0 12 * * *']);
      expect(m.nextRuns('b', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T12:00:00.000Z']);
      // A process's scheduled workers: each its own schedule.
      m.registerUnit({
        id: 'p',
        workers: [
          { id: 'p0', run, schedule: { cron: '0 0 1 * * *', timezone: 'UTC' } },
          { id: 'p1', run, schedule: { cron: '0 0 2 * * *', timezone: 'UTC' } },
        ],
      });
      expect(m.nextRuns('p0', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T01:00:00.000Z']);
      expect(m.nextRuns('p1', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T02:00:00.000Z']);
    } finally {
      native.scheduleProblem = check;
    }
  });

  test('after a refused registration the same id registers fine', () => {
    const m = manual(NOW);
    expect(() => m.registerUnit({ id: 'w', run, schedule: { cron: '0 0 30 2 *' } })).toThrow(TypeError);
    m.registerUnit({ id: 'w', run, schedule: { cron: '0 0 29 2 *', timezone: 'UTC' } });
    expect(m.nextRuns('w', 1).map((d) => d.toISOString())).toEqual(['2028-02-29T00:00:00.000Z']);
  });
});

// ---------------------------------------------------------------------------
// 4. pauseSchedule / resumeSchedule
// ---------------------------------------------------------------------------

describe('pauseSchedule / resumeSchedule', () => {
  const NOW = '2026-01-01T00:00:00Z';

  test('a paused schedule does not fire; resumed, it fires at its next time still to come (paused time is not caught up)', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'h', { cron: '0 * * * *', timezone: 'UTC', catchUp: 'all' });
    m.start();
    await m.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z']);

    m.pauseSchedule('h');
    await walk(m, 3.5 * HOUR, 30 * MINUTE); // 02:00, 03:00, 04:00 pass
    expect(runs).toHaveLength(1);
    // A paused schedule still shows the times it would have.
    expect(m.nextRuns('h', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T05:00:00.000Z']);
    // The worker itself can still be run by hand.
    await m.runWorkerById('h');
    expect(runs).toHaveLength(2);

    m.resumeSchedule('h'); // at 04:30
    await settle();
    expect(runs).toHaveLength(2);
    await m.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T04:30:00.000Z', '2026-01-01T05:00:00.000Z']);
  });

  test('pause and resume are idempotent', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'h', { cron: '0 * * * *', timezone: 'UTC' });
    m.start();
    m.pauseSchedule('h');
    m.pauseSchedule('h');
    await m.clock.advance(HOUR);
    expect(runs).toEqual([]);
    m.resumeSchedule('h');
    m.resumeSchedule('h');
    await m.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T02:00:00.000Z']);
  });

  test('a worker without a schedule is a TypeError; an unknown id is ERR_UNKNOWN_UNIT', async () => {
    const m = manual(NOW);
    m.registerUnit({ id: 'plain', run: () => 1 });
    m.registerUnit({ id: 'tick', intervalMs: 1000, runOnInterval: true, run: () => 1 });
    for (const method of ['pauseSchedule', 'resumeSchedule']) {
      for (const id of ['plain', 'tick']) {
        expect(() => m[method](id)).toThrow(new TypeError(`${method}: id must name a worker with a schedule (got "${id}", which has none)`));
      }
      const e = await errorOf(() => m[method]('ghost'));
      expect(e).toBeInstanceOf(SynchronikError);
      expect(e.code).toBe('ERR_UNKNOWN_UNIT');
    }
  });
});

// ---------------------------------------------------------------------------
// 5. updateWorkerConfig({ schedule })
// ---------------------------------------------------------------------------

describe('updateWorkerConfig with a schedule', () => {
  const NOW = '2026-01-01T00:10:00Z';

  test('a new schedule applies from its next fire counted from now', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'w', { cron: '0 * * * *', timezone: 'UTC' });
    m.start();
    m.updateWorkerConfig('w', { schedule: { cron: '30 * * * *', timezone: 'UTC' } });
    expect(m.nextRuns('w', 2).map((d) => d.toISOString())).toEqual(['2026-01-01T00:30:00.000Z', '2026-01-01T01:30:00.000Z']);
    await walk(m, 2 * HOUR, 10 * MINUTE); // to 02:10
    expect(runs.map(isoOf)).toEqual(['2026-01-01T00:30:00.000Z', '2026-01-01T01:30:00.000Z']);
    expect(m.getRegistrySnapshot().find((u) => u.id === 'w').schedule).toEqual({ cron: '30 * * * *', timezone: 'UTC' });
  });

  test('an interval worker can become a scheduled one (its intervalMs removed in the same change)', async () => {
    const m = manual(NOW);
    const runs = [];
    m.registerUnit({ id: 'w', intervalMs: 1000, run: () => void runs.push(m.clock.now()) });
    m.updateWorkerConfig('w', { intervalMs: undefined, schedule: { cron: '0 * * * *', timezone: 'UTC' } });
    m.start();
    await walk(m, HOUR, 10 * MINUTE);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z']);
  });

  test('{ schedule: undefined } removes the schedule', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'w', { cron: '0 * * * *', timezone: 'UTC' });
    m.start();
    await m.clock.advance(HOUR);
    expect(runs).toHaveLength(1);
    m.updateWorkerConfig('w', { schedule: undefined });
    expect(m.nextRuns('w')).toEqual([]);
    expect(m.getRegistrySnapshot().find((u) => u.id === 'w').schedule).toBeUndefined();
    await walk(m, 3 * HOUR, HOUR);
    expect(runs).toHaveLength(1);
    expect(() => m.pauseSchedule('w')).toThrow(TypeError);
  });

  test('a patch that gives a scheduled worker an intervalMs is a TypeError naming intervalMs; the schedule stays', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'w', { cron: '0 * * * *', timezone: 'UTC' });
    const e = await errorOf(() => m.updateWorkerConfig('w', { intervalMs: 1000 }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^updateWorkerConfig: .*intervalMs must be left out when schedule is set/);
    const e2 = await errorOf(() => m.updateWorkerConfig('w', { runOnInterval: true, intervalMs: 1000 }));
    expect(e2).toBeInstanceOf(TypeError);
    const e3 = await errorOf(() => m.updateWorkerConfig('w', { schedule: { cron: '0 0 30 2 *' } }));
    expect(e3).toBeInstanceOf(TypeError);
    expect(e3.message).toMatch(/schedule\.cron: day-of-month 30 never occurs in February/);
    m.start();
    await walk(m, HOUR, 10 * MINUTE);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z']);
    expect(m.getRegistrySnapshot().find((u) => u.id === 'w').intervalMs).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// 6. Late fires
// ---------------------------------------------------------------------------

describe('a late fire runs once', () => {
  // A fire that comes late (the clock jumped: a suspended machine, blocked
  // JavaScript) runs once, and the next fire is the first one still to
  // come. The manual clock's advance moves through the fires on its way,
  // as for intervals; an advance past more than 10,000 fires of one
  // schedule is a jump for it, as for intervals.
  test('advance(3 days) with an hourly cron: a run at each hour on the way; the next fire follows', async () => {
    const m = manual('2026-01-01T00:10:00Z');
    const runs = scheduled(m, 'h', { cron: '0 * * * *', timezone: 'UTC' });
    m.start();
    await m.clock.advance(3 * DAY);
    expect(runs).toHaveLength(72);
    expect(isoOf(runs[0])).toBe('2026-01-01T01:00:00.000Z');
    expect(isoOf(runs[71])).toBe('2026-01-04T00:00:00.000Z');
    expect(m.nextRuns('h', 1).map((d) => d.toISOString())).toEqual(['2026-01-04T01:00:00.000Z']);
  });

  test('advance(1 day) with a cron of every second (86,400 fires): one run at the end; the next fire is the first still to come', async () => {
    const m = manual('2026-01-01T00:10:00Z');
    const runs = scheduled(m, 's', { cron: '* * * * * *', timezone: 'UTC' });
    m.start();
    await m.clock.advance(DAY);
    expect(runs).toHaveLength(1);
    expect(isoOf(runs[0])).toBe('2026-01-02T00:10:00.000Z');
    expect(m.nextRuns('s', 1).map((d) => d.toISOString())).toEqual(['2026-01-02T00:10:01.000Z']);
    await m.clock.advance(1000);
    expect(runs).toHaveLength(2);
    expect(isoOf(runs[1])).toBe('2026-01-02T00:10:01.000Z');
  });
});

// ---------------------------------------------------------------------------
// 7. start / stop / catchUp
// ---------------------------------------------------------------------------

describe('fires only while the manager is started; catchUp after stop() and start()', () => {
  const NOW = '2026-01-01T00:10:00Z';

  test('no runs before manager.start(); after it, the next fire', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'h', { cron: '0 * * * *', timezone: 'UTC', catchUp: 'all' });
    await walk(m, 3 * HOUR, 30 * MINUTE); // to 03:10
    expect(runs).toEqual([]);
    m.start();
    await settle();
    expect(runs).toEqual([]);
    await m.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T04:00:00.000Z']);
  });

  /** Runs at 01:00, stops, lets 02:00..06:00 pass (5 fires), starts again at 06:30. */
  async function stoppedThroughFive(schedule, run) {
    const m = manual('2026-01-01T00:00:00Z');
    const runs = [];
    m.registerUnit({
      id: 'h',
      timeoutMs: 0,
      schedule: { cron: '0 * * * *', timezone: 'UTC', ...schedule },
      run: (...args) => {
        runs.push(m.clock.now());
        return run ? run(...args) : undefined;
      },
    });
    m.start();
    await m.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z']);
    await m.stop();
    await walk(m, 5.5 * HOUR, 30 * MINUTE);
    expect(runs).toHaveLength(1);
    return { m, runs };
  }

  test("catchUp 'none' (the default): nothing for the fires missed while stopped", async () => {
    for (const schedule of [{}, { catchUp: 'none' }]) {
      const { m, runs } = await stoppedThroughFive(schedule);
      m.start();
      await settle(20);
      expect(runs).toHaveLength(1);
      await m.clock.advance(HOUR);
      expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T07:00:00.000Z']);
      await m.close();
    }
  });

  test("catchUp 'one': one run at start() for the fires missed", async () => {
    const { m, runs } = await stoppedThroughFive({ catchUp: 'one' });
    m.start();
    await until(() => runs.length >= 2, 200, 'the catch-up run');
    await settle(20);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T06:30:00.000Z']);
    await m.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T06:30:00.000Z', '2026-01-01T07:00:00.000Z']);
  });

  test("catchUp 'all': one run per missed fire, one after another", async () => {
    const gates = [];
    let active = 0;
    let maxActive = 0;
    const { m, runs } = await stoppedThroughFive({ catchUp: 'all' }, () => {
      if (gates.length === 0) {
        gates.push(null); // the run at 01:00, before the stop, ends at once
        return undefined;
      }
      active += 1;
      maxActive = Math.max(maxActive, active);
      const gate = deferred();
      gates.push(gate);
      return gate.promise.finally(() => {
        active -= 1;
      });
    });
    m.start();
    for (let k = 1; k <= 5; k++) {
      await until(() => runs.length === 1 + k, 200, `catch-up run ${k}`);
      await settle(5);
      expect(runs).toHaveLength(1 + k); // the next waits for this one to end
      gates[k].resolve();
    }
    await settle(20);
    expect(runs).toHaveLength(6);
    expect(maxActive).toBe(1);
    await m.clock.advance(HOUR);
    try {
      expect(runs).toHaveLength(7);
      expect(isoOf(runs[6])).toBe('2026-01-01T07:00:00.000Z');
    } finally {
      for (const g of gates.slice(1)) g.resolve();
    }
  });

  test("catchUp 'all' with runs that resolve at once: five runs at start()", async () => {
    const { m, runs } = await stoppedThroughFive({ catchUp: 'all', catchUpWindowMs: Infinity }, async () => 'ok');
    m.start();
    await until(() => runs.length >= 6, 200, 'five catch-up runs');
    await settle(20);
    expect(runs).toHaveLength(6);
    for (const t of runs.slice(1)) expect(isoOf(t)).toBe('2026-01-01T06:30:00.000Z');
  });

  test("catchUp 'all' runs at most 10,000 missed fires", async () => {
    const m = manual('2026-01-01T00:00:00Z');
    let n = 0;
    m.registerUnit({ id: 's', run: () => void (n += 1), schedule: { cron: '* * * * * *', timezone: 'UTC', catchUp: 'all' } });
    m.start();
    await m.clock.advance(1000);
    expect(n).toBe(1);
    await m.stop();
    await m.clock.advance(3 * HOUR); // 10,800 fires missed
    m.start();
    await until(() => n >= 10_001, 100_000, 'the catch-up runs');
    await settle(20);
    expect(n).toBe(10_001);
    await m.clock.advance(1000);
    expect(n).toBe(10_002);
  });

  test("catchUpWindowMs bounds the fires caught up: 'all' runs those within it", async () => {
    // Missed 02:00..06:00; at 06:30 a window of 2 h 15 min reaches back to 04:15: 05:00 and 06:00.
    const { m, runs } = await stoppedThroughFive({ catchUp: 'all', catchUpWindowMs: 2.25 * HOUR });
    m.start();
    await until(() => runs.length >= 3, 200, 'two catch-up runs');
    await settle(20);
    expect(runs).toHaveLength(3);
  });

  test("catchUpWindowMs: 'one' runs when a missed fire is within it, and not when none is", async () => {
    const within = await stoppedThroughFive({ catchUp: 'one', catchUpWindowMs: 40 * MINUTE }); // 06:00 is 30 min back
    within.m.start();
    await until(() => within.runs.length >= 2, 200, 'the catch-up run');
    await settle(20);
    expect(within.runs).toHaveLength(2);
    await within.m.close();

    const outside = await stoppedThroughFive({ catchUp: 'one', catchUpWindowMs: 20 * MINUTE }); // 06:10..06:30: no fire
    outside.m.start();
    await settle(20);
    expect(outside.runs).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// 8. Catch-up after a restart, with the SQLite store
// ---------------------------------------------------------------------------

describe('catch-up after a restart with a SQLite store', () => {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-schedule-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A first manager fires the hourly schedule at 01:00 and closes; a
   * second one opens the same database at 05:30 (02:00..05:00 missed: 4
   * fires), registers the same worker with `catchUp` and starts.
   */
  async function restartedAfterFour(catchUp) {
    const db = path.join(dir, `state-${catchUp}.db`);
    const first = createSynchronikManager({ storage: { sqlite: db }, loopInterval: DAY, clock: { manual: true, now: '2026-01-01T00:10:00Z' } });
    const before = [];
    first.registerUnit({ id: 'job', run: () => void before.push(first.clock.now()), schedule: { cron: '0 * * * *', timezone: 'UTC' } });
    first.start();
    await first.clock.advance(HOUR);
    expect(before.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z']);
    await first.close();

    const second = manual('2026-01-01T05:30:00Z', { storage: { sqlite: db } });
    const runs = scheduled(second, 'job', { cron: '0 * * * *', timezone: 'UTC', catchUp });
    second.start();
    await settle(20);
    await until(() => !second.getUnitById('job') || second.getUnitById('job').status !== 'running', 200, 'the runs to end');
    await settle(20);
    return { second, runs };
  }

  test("'one': one run for the missed fires", async () => {
    const { second, runs } = await restartedAfterFour('one');
    expect(runs.map(isoOf)).toEqual(['2026-01-01T05:30:00.000Z']);
    await second.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T05:30:00.000Z', '2026-01-01T06:00:00.000Z']);
  });

  test("'none': no run", async () => {
    const { second, runs } = await restartedAfterFour('none');
    expect(runs).toEqual([]);
    await second.clock.advance(HOUR);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T06:00:00.000Z']);
  });

  test("'all': one run per missed fire (4)", async () => {
    const { runs } = await restartedAfterFour('all');
    expect(runs).toHaveLength(4);
  });

  test('the last fire survives a second restart: a run after the restart counts as the last fire', async () => {
    const { second, runs } = await restartedAfterFour('one');
    expect(runs).toHaveLength(1);
    await second.clock.advance(HOUR); // fires 06:00
    await second.close();
    const db = path.join(dir, 'state-one.db');
    const third = manual('2026-01-01T06:30:00Z', { storage: { sqlite: db } });
    const again = scheduled(third, 'job', { cron: '0 * * * *', timezone: 'UTC', catchUp: 'all' });
    third.start();
    await settle(30);
    expect(again).toEqual([]); // nothing missed since 06:00
  });
});

// ---------------------------------------------------------------------------
// 9. One-off times; startAt / stopAt
// ---------------------------------------------------------------------------

describe('one-off at schedules and startAt / stopAt', () => {
  const NOW = '2026-01-01T00:00:00Z';

  test('at: ISO strings, Dates and epoch ms; past ones never fire', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'once', {
      at: ['2025-12-31T23:00:00Z', '2026-01-01T01:00:00Z', new Date('2026-01-01T02:00:00Z'), ms('2026-01-01T03:00:00Z')],
    });
    expect(m.nextRuns('once').map((d) => d.toISOString())).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
    m.start();
    await walk(m, 5 * HOUR, 30 * MINUTE);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
    expect(m.nextRuns('once')).toEqual([]);
  });

  test('at: a single value (string, Date) fires once', async () => {
    const m = manual(NOW);
    const a = scheduled(m, 'a', { at: '2026-01-01T00:00:30Z' });
    const b = scheduled(m, 'b', { at: new Date('2026-01-01T00:01:00+00:00') });
    m.start();
    await walk(m, HOUR, MINUTE);
    expect(a.map(isoOf)).toEqual(['2026-01-01T00:00:30.000Z']);
    expect(b.map(isoOf)).toEqual(['2026-01-01T00:01:00.000Z']);
  });

  test('at: only past times: it never runs', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'past', { at: ['2020-01-01T00:00:00Z', new Date('2025-12-31T23:59:59Z')] });
    m.start();
    await walk(m, DAY, 6 * HOUR);
    expect(runs).toEqual([]);
    expect(m.nextRuns('past')).toEqual([]);
  });

  test('startAt / stopAt bound the fires of a cron schedule', async () => {
    const m = manual(NOW);
    const runs = scheduled(m, 'w', { cron: '0 * * * *', timezone: 'UTC', startAt: '2026-01-01T02:30:00Z', stopAt: new Date('2026-01-01T05:30:00Z') });
    expect(m.nextRuns('w').map((d) => d.toISOString())).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z']);
    m.start();
    await walk(m, 8 * HOUR, 30 * MINUTE);
    expect(runs.map(isoOf)).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z']);
    expect(m.nextRuns('w')).toEqual([]);
  });

  test('startAt as epoch ms; a stopAt already past: it never fires', async () => {
    const m = manual(NOW);
    const late = scheduled(m, 'late', { cron: '0 * * * *', timezone: 'UTC', startAt: ms('2026-01-01T06:00:00Z') });
    const over = scheduled(m, 'over', { cron: '0 * * * *', timezone: 'UTC', stopAt: '2025-12-31T00:00:00Z' });
    expect(m.nextRuns('late', 1).map((d) => d.toISOString())).toEqual(['2026-01-01T06:00:00.000Z']);
    expect(m.nextRuns('over')).toEqual([]);
    m.start();
    await walk(m, 7 * HOUR, HOUR);
    expect(late.map(isoOf)).toEqual(['2026-01-01T06:00:00.000Z', '2026-01-01T07:00:00.000Z']);
    expect(over).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// 10. Jitter
// ---------------------------------------------------------------------------

describe('jitterMs', () => {
  test('each run starts in [fire, fire + jitterMs), and the starts spread over it', async () => {
    const m = manual('2026-01-01T00:00:00Z');
    const runs = scheduled(m, 'j', { cron: '* * * * *', timezone: 'UTC', jitterMs: 20_000 });
    m.start();
    await walk(m, 200 * MINUTE + 20_000, 10_000);
    expect(runs).toHaveLength(200);
    const offsets = runs.map((t) => t - Math.floor(t / MINUTE) * MINUTE);
    runs.forEach((t, k) => expect(Math.floor(t / MINUTE) * MINUTE).toBe(ms('2026-01-01T00:01:00Z') + k * MINUTE));
    for (const o of offsets) {
      expect(o).toBeGreaterThanOrEqual(0);
      expect(o).toBeLessThan(20_000);
    }
    // Uniform over 20 s: over 200 runs, both halves and both ends are hit.
    expect(offsets.filter((o) => o < 10_000).length).toBeGreaterThan(50);
    expect(offsets.filter((o) => o >= 10_000).length).toBeGreaterThan(50);
    expect(Math.min(...offsets)).toBeLessThan(2_000);
    expect(Math.max(...offsets)).toBeGreaterThan(18_000);
  });

  test('a jitter longer than the gap to the next fire stays before the next fire', async () => {
    const m = manual('2026-01-01T00:00:00Z');
    const runs = scheduled(m, 'j', { cron: '* * * * *', timezone: 'UTC', jitterMs: 10 * MINUTE });
    m.start();
    // Fires 00:01 .. 01:40, each run within its minute; the walk goes to
    // 01:41 so that the last one's minute is covered whole (a jitter of
    // 59.5 s lands after 01:40:59). A run of the 01:41 fire at 01:41:00
    // exactly (a jitter of 0) belongs to the next minute.
    await walk(m, 101 * MINUTE, 10_000);
    const within = runs.filter((t) => t < ms('2026-01-01T01:41:00Z'));
    expect(within).toHaveLength(100);
    within.forEach((t, k) => {
      const fire = ms('2026-01-01T00:01:00Z') + k * MINUTE;
      expect(t).toBeGreaterThanOrEqual(fire);
      expect(t).toBeLessThan(fire + MINUTE);
    });
    // Spread over the whole minute, not bunched at its start.
    expect(within.filter((t, k) => t - (ms('2026-01-01T00:01:00Z') + k * MINUTE) >= 30_000).length).toBeGreaterThan(25);
  });

  test('jitterMs 0 runs exactly at the fire', async () => {
    const m = manual('2026-01-01T00:00:00Z');
    const runs = scheduled(m, 'j', { cron: '*/10 * * * *', timezone: 'UTC', jitterMs: 0 });
    m.start();
    await walk(m, HOUR, 5 * MINUTE);
    expect(runs).toEqual([1, 2, 3, 4, 5, 6].map((k) => ms('2026-01-01T00:00:00Z') + k * 10 * MINUTE));
  });
});

// ---------------------------------------------------------------------------
// 11. The snapshot and the events
// ---------------------------------------------------------------------------

describe('the registry snapshot and the events of scheduled runs', () => {
  const NOW = '2026-01-01T00:00:00Z';

  test('getRegistrySnapshot shows the schedule as given', () => {
    const m = manual(NOW);
    const cron = { cron: '0 30 2 * * *', timezone: 'Europe/Berlin', jitterMs: 500, catchUp: 'one', catchUpWindowMs: DAY, startAt: '2026-01-02T00:00:00Z' };
    const at = { at: ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'] };
    m.registerUnit({ id: 'c', run: () => 1, schedule: cron });
    m.registerUnit({ id: 'a', run: () => 1, schedule: at });
    m.registerUnit({ id: 'plain', run: () => 1 });
    const snap = Object.fromEntries(m.getRegistrySnapshot().map((u) => [u.id, u]));
    expect(snap.c.schedule).toEqual(cron);
    expect(snap.a.schedule).toEqual(at);
    expect(snap.plain.schedule).toBeUndefined();
    expect(snap.c.intervalMs).toBeUndefined();
  });

  test('a scheduled run emits the same events as an interval run', async () => {
    const m = manual(NOW);
    const { events } = recordEvents(m);
    const starts = [];
    const completes = [];
    m.on('start', (e) => starts.push(e.unitId));
    m.on('complete', (e) => completes.push([e.unitId, e.result]));
    m.registerUnit({ id: 'cron', run: () => 'c', schedule: { cron: '0 * * * *', timezone: 'UTC' } });
    m.registerUnit({ id: 'tick', run: () => 't', intervalMs: HOUR, runOnInterval: true });
    const registered = events.length;
    m.start();
    await m.clock.advance(HOUR);
    const runEvents = events.slice(registered).filter((e) => e.unitId === 'cron' || e.unitId === 'tick');
    const of = (id) => runEvents.filter((e) => e.unitId === id).map((e) => describeEvent(e).replace(`:${id}`, ':W'));
    expect(of('cron')).toEqual(of('tick'));
    expect(of('cron')).toEqual(expect.arrayContaining(['start:W', 'complete:W']));
    expect(starts.sort()).toEqual(['cron', 'tick']);
    expect(completes.sort()).toEqual([
      ['cron', 'c'],
      ['tick', 't'],
    ]);
    expect(m.getUnitById('cron').lastRun.toISOString()).toBe('2026-01-01T01:00:00.000Z');
  });

  test('a failing scheduled run emits error, and the schedule keeps firing', async () => {
    const m = manual(NOW);
    const errors = [];
    m.on('error', (e) => errors.push(e.unitId));
    let n = 0;
    m.registerUnit({
      id: 'bad',
      run: () => {
        n += 1;
        throw new Error(`boom ${n}`);
      },
      schedule: { cron: '0 * * * *', timezone: 'UTC' },
    });
    m.start();
    await walk(m, 2 * HOUR, HOUR);
    expect(errors).toEqual(['bad', 'bad']);
    expect(n).toBe(2);
  });

  /** A scheduled worker whose runs stay pending until the test settles them (no timeout). */
  function pendingScheduled(m, extra) {
    const runs = [];
    m.registerUnit({
      id: 'slow',
      timeoutMs: 0,
      schedule: { cron: '0 * * * *', timezone: 'UTC' },
      run: () => {
        const d = deferred();
        runs.push({ at: m.clock.now(), ...d });
        return d.promise;
      },
      ...extra,
    });
    return runs;
  }

  test("overlap 'skip' (the default) applies: a fire while the run is in flight is skipped, with a skipped event", async () => {
    const m = manual(NOW);
    const skipped = [];
    m.on('skipped', (e) => skipped.push(e));
    const runs = pendingScheduled(m, {});
    m.start();
    try {
      await walk(m, 3 * HOUR, HOUR);
      expect(runs.map((r) => isoOf(r.at))).toEqual(['2026-01-01T01:00:00.000Z']);
      expect(skipped).toEqual([
        { type: 'skipped', unitId: 'slow', reason: 'overlap' },
        { type: 'skipped', unitId: 'slow', reason: 'overlap' },
      ]);
    } finally {
      for (const r of runs) r.resolve();
    }
    await settle();
    await m.clock.advance(HOUR);
    expect(runs.map((r) => isoOf(r.at))).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T04:00:00.000Z']);
    runs[1].resolve();
  });

  test("overlap 'queue' applies: one run right after the run in flight", async () => {
    const m = manual(NOW);
    const runs = pendingScheduled(m, { overlap: 'queue' });
    m.start();
    try {
      await walk(m, 3.5 * HOUR, 30 * MINUTE);
      expect(runs).toHaveLength(1);
      runs[0].resolve();
      await m.clock.advance(0);
      expect(runs.map((r) => isoOf(r.at))).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T03:30:00.000Z']);
    } finally {
      for (const r of runs) r.resolve();
    }
  });

  test('maxRuns and enabled apply', async () => {
    const m = manual(NOW);
    const capped = scheduled(m, 'capped', { cron: '0 * * * *', timezone: 'UTC' }, { maxRuns: 2 });
    const off = scheduled(m, 'off', { cron: '0 * * * *', timezone: 'UTC' }, { enabled: false });
    m.start();
    await walk(m, 4 * HOUR, HOUR);
    expect(capped).toHaveLength(2);
    expect(off).toEqual([]);
  });
});
