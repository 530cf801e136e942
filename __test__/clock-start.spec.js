'use strict';

// The manual clock started at a given instant (SPEC §8):
// `createSynchronikManager({ clock: { manual: true, now } })` with `now` a
// Date, an ISO date string or epoch milliseconds. clock.now() starts there,
// and every wall time the engine reports (lastRun, history) follows from it.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager } = require('..');

const managers = [];
function make(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().close({ timeoutMs: 0 });
});

const START = Date.UTC(2024, 2, 1, 12, 0, 0); // 2024-03-01T12:00:00.000Z

describe('a manual clock that starts at a given instant', () => {
  test.each([
    ['a Date', new Date(START)],
    ['an ISO string', '2024-03-01T12:00:00.000Z'],
    ['an ISO string with an offset', '2024-03-01T13:00:00+01:00'],
    ['epoch milliseconds', START],
  ])('now() starts at %s and moves with advance()', async (_, now) => {
    const m = make({ clock: { manual: true, now } });
    expect(m.clock.now()).toBe(START);
    await m.clock.advance(1500);
    expect(m.clock.now()).toBe(START + 1500);
  });

  test('a date-only ISO string is midnight UTC', () => {
    const m = make({ clock: { manual: true, now: '2024-03-01' } });
    expect(m.clock.now()).toBe(Date.UTC(2024, 2, 1));
  });

  test('without now it starts at 0, as clock: "manual" does', () => {
    const m = make({ clock: { manual: true } });
    expect(m.clock.now()).toBe(0);
  });

  test('lastRun is the clock time at which each run started', async () => {
    const m = make({ clock: { manual: true, now: new Date(START) } });
    const w = m.registerUnit({ id: 'w', run: () => 'ok' });
    await m.runWorkerById('w');
    expect(w.lastRun).toBeInstanceOf(Date);
    expect(w.lastRun.getTime()).toBe(START);
    await m.clock.advance(60_000);
    await m.runWorkerById('w');
    expect(w.lastRun.getTime()).toBe(START + 60_000);
    expect(m.getRegistrySnapshot()[0].lastRun.toISOString()).toBe('2024-03-01T12:01:00.000Z');
  });

  test('an interval worker runs one interval after start(), by that clock', async () => {
    const m = make({ clock: { manual: true, now: START } });
    const runs = [];
    const w = m.registerUnit({ id: 'tick', intervalMs: 1000, runOnInterval: true, run: () => runs.push(m.clock.now()) });
    m.start();
    await m.clock.advance(2500);
    expect(runs).toEqual([START + 1000, START + 2000]);
    expect(w.lastRun.getTime()).toBe(START + 2000);
  });

  test('a run before the epoch is as good as any other', async () => {
    const m = make({ clock: { manual: true, now: '1969-07-20T20:17:40Z' } });
    const w = m.registerUnit({ id: 'eagle', run: () => 'landed' });
    await m.runWorkerById('eagle');
    expect(w.lastRun.toISOString()).toBe('1969-07-20T20:17:40.000Z');
  });

  describe('with a SQLite store', () => {
    let dir;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-clock-'));
    });
    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('history rows start and end at the clock times of the attempt', async () => {
      const m = make({ clock: { manual: true, now: START }, storage: { sqlite: path.join(dir, 'state.db') } });
      m.registerUnit({ id: 'job', run: async () => 'ok' });
      await m.clock.advance(5000);
      await m.runWorkerById('job');
      await m.clock.advance(250);
      await m.runWorkerById('job');
      await m.flush();
      const rows = await m.history({ unitId: 'job' });
      expect(rows.map((r) => [r.startedAt.getTime(), r.endedAt.getTime()])).toEqual([
        [START + 5250, START + 5250],
        [START + 5000, START + 5000],
      ]);
      expect(rows.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    });
  });
});

describe('options.clock is validated', () => {
  const M = 'createSynchronikManager';
  test.each([
    ['tomorrow', 'string "tomorrow"'],
    ['2024-13-45', 'string "2024-13-45"'],
    ['March 1, 2024', 'string "March 1, 2024"'],
    ['', 'empty string'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [9e15, '9000000000000000'],
    [new Date('nope'), 'an invalid Date'],
    [{}, 'object'],
    [null, 'null'],
    [true, 'boolean'],
  ])('now %p is refused', (now, got) => {
    expect(() => createSynchronikManager({ clock: { manual: true, now } })).toThrow(
      new TypeError(`${M}: options.clock.now must be a Date, an ISO date string or epoch milliseconds (got ${got})`),
    );
  });

  test('manual must be true', () => {
    expect(() => createSynchronikManager({ clock: { now: START } })).toThrow(
      new TypeError(`${M}: options.clock.manual must be true (only the manual clock can start at a given instant) (got undefined)`),
    );
    expect(() => createSynchronikManager({ clock: { manual: false, now: START } })).toThrow(
      new TypeError(`${M}: options.clock.manual must be true (only the manual clock can start at a given instant) (got boolean)`),
    );
  });

  test('an unknown key of the clock object is refused with the nearest name', () => {
    expect(() => createSynchronikManager({ clock: { manual: true, start: START } })).toThrow(TypeError);
    expect(() => createSynchronikManager({ clock: { manual: true, nOw: START } })).toThrow(
      new TypeError(`${M}: options.clock.nOw is not an option; did you mean "now"?`),
    );
  });

  test('a clock that is neither a known name nor an object is refused', () => {
    expect(() => createSynchronikManager({ clock: 'fake' })).toThrow(
      new TypeError(`${M}: options.clock must be one of 'system', 'manual' or an object { manual: true, now? } (got string "fake")`),
    );
    expect(() => createSynchronikManager({ clock: 5 })).toThrow(
      new TypeError(`${M}: options.clock must be one of 'system', 'manual' or an object { manual: true, now? } (got number)`),
    );
  });
});
