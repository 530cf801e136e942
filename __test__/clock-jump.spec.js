'use strict';

// A long advance of the manual clock on a started manager (SPEC §6, §8):
// the recurring timers (interval workers, the sweep, the watcher, the
// statistics) do not fire once per period on the way — a step over more
// than 10,000 of their times is a jump for them, as a jump of the system
// clock is: they fire once, at the end, and keep their cadence after it.

const { createSynchronikManager } = require('..');

const managers = [];
afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

test('advance(1e12) on a started manager returns at once: the interval worker runs once, at the end', async () => {
  const m = createSynchronikManager({ clock: 'manual', statsEmissionIntervalMs: 1000 });
  managers.push(m);
  const runs = [];
  m.registerUnit({ id: 'tick', intervalMs: 1000, runOnInterval: true, run: () => runs.push(m.clock.now()) });
  m.start();
  await m.clock.advance(1e12);
  expect(runs).toEqual([1e12]);
  await m.clock.advance(2000);
  expect(runs).toEqual([1e12, 1e12 + 1000, 1e12 + 2000]);
});
