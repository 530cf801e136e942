'use strict';

// The package under Jest's fake timers: modern and legacy, installed before
// the package is loaded (a fresh module registry) or after, with the system
// clock and the manual clock. Fake timers must neither stall the bridge (a
// run that never reports its outcome), nor change what the manual clock
// runs, nor be used by the package for its own timers (a fake timer the
// test would have to advance, or a real one a fake clearInterval leaks).

const MODES = [
  ['modern', () => jest.useFakeTimers()],
  ['legacy', () => jest.useFakeTimers({ legacyFakeTimers: true })],
];

/** The package as loaded at the top of this file, before any faking. */
const loadedFirst = require('..');
const { deferred } = require('./helpers');

/** The package, loaded either before the fake timers are installed or after. */
function loadPackage(order, fake) {
  if (order === 'loaded before faking') {
    fake();
    return loadedFirst;
  }
  fake();
  let pkg;
  jest.isolateModules(() => {
    pkg = require('..');
  });
  return pkg;
}

/** Rejects if `promise` does not settle while real time passes (a stalled bridge would hang the test otherwise). */
function within(promise, ms, what) {
  const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = require('node:timers');
  let timer;
  const guard = new Promise((_, reject) => {
    timer = realSetTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms of real time`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => realClearTimeout(timer));
}

afterEach(() => {
  jest.useRealTimers();
});

describe.each(MODES)('%s fake timers', (_mode, fake) => {
  describe.each(['loaded before faking', 'loaded after faking'])('package %s', (order) => {
    test('system clock: runWorkerById, runProcessById and pool.run resolve', async () => {
      const { createSynchronikManager } = loadPackage(order, fake);
      const m = createSynchronikManager();
      m.registerUnit({ id: 'sync', run: () => 1 });
      m.registerUnit({ id: 'async', run: async () => 2 });
      m.registerUnit({ id: 'p', runMode: 'parallel', workers: [{ id: 'a', run: async () => 'a' }, { id: 'b', run: () => 'b' }] });
      await within(m.runWorkerById('sync'), 5000, 'runWorkerById (sync run)');
      await within(m.runWorkerById('async'), 5000, 'runWorkerById (async run)');
      await within(m.runProcessById('p'), 5000, 'runProcessById');
      expect([m.getUnitStatus('sync'), m.getUnitStatus('async'), m.getUnitStatus('p')]).toEqual(['completed', 'completed', 'completed']);
      const pool = m.useWorkerPool(2);
      pool.start();
      await expect(within(pool.run(async (x) => x * 2, { payload: 21 }), 5000, 'pool.run')).resolves.toBe(42);
      await within(pool.onIdle(), 5000, 'pool.onIdle');
      await within(m.stop(), 5000, 'stop');
      // Nothing of the package sits on the fake clock.
      expect(jest.getTimerCount()).toBe(0);
    });

    test('system clock: interval runs of a started manager happen in real time', async () => {
      const { createSynchronikManager } = loadPackage(order, fake);
      const m = createSynchronikManager({ loopInterval: 10 });
      const third = deferred();
      let runs = 0;
      m.registerUnit({
        id: 'tick',
        intervalMs: 5,
        runOnInterval: true,
        run: async () => {
          runs += 1;
          if (runs === 3) third.resolve();
        },
      });
      m.start();
      // While started, the manager keeps Node alive with a real timer, not a fake one.
      expect(jest.getTimerCount()).toBe(0);
      await within(third.promise, 5000, 'three interval runs');
      await within(m.stop(), 5000, 'stop');
      expect(runs).toBeGreaterThanOrEqual(3);
      expect(jest.getTimerCount()).toBe(0);
    });

    test('manual clock: advance(3000) runs a 1 s interval worker three times', async () => {
      const { createSynchronikManager } = loadPackage(order, fake);
      const m = createSynchronikManager({ clock: 'manual' });
      const sync = { id: 'sync', intervalMs: 1000, runOnInterval: true, run: jest.fn(() => undefined) };
      const async = { id: 'async', intervalMs: 1000, runOnInterval: true, run: jest.fn(async () => 'done') };
      m.registerUnit(sync);
      m.registerUnit(async);
      m.start();
      expect(jest.getTimerCount()).toBe(0);
      await within(m.clock.advance(3000), 5000, 'clock.advance');
      expect(sync.run).toHaveBeenCalledTimes(3);
      expect(async.run).toHaveBeenCalledTimes(3);
      expect(async.meta.runCount).toBe(3);
      await within(m.stop(), 5000, 'stop');
      expect(jest.getTimerCount()).toBe(0);
    });

    test('manual clock: retries wait their delay on the manual clock, not on the fake one', async () => {
      const { createSynchronikManager } = loadPackage(order, fake);
      const m = createSynchronikManager({ clock: 'manual' });
      let attempts = 0;
      m.registerUnit({
        id: 'flaky',
        maxRetries: 2,
        retryDelayMs: 500,
        run: async () => {
          attempts += 1;
          if (attempts < 3) throw new Error(`attempt ${attempts}`);
          return 'ok';
        },
      });
      const done = m.runWorkerById('flaky');
      await within(m.clock.advance(499), 5000, 'clock.advance');
      expect(attempts).toBe(1);
      await within(m.clock.advance(1), 5000, 'clock.advance');
      expect(attempts).toBe(2);
      await within(m.clock.runUntilIdle(), 5000, 'clock.runUntilIdle');
      await within(done, 5000, 'runWorkerById');
      expect(m.getUnitStatus('flaky')).toBe('completed');
      expect(attempts).toBe(3);
    });

    test('useStorage: state methods resolve once saved', async () => {
      const { createSynchronikManager } = loadPackage(order, fake);
      const m = createSynchronikManager();
      const saves = [];
      await within(
        m.useStorage({ saveState: async (units) => void saves.push(units), loadState: async () => null }),
        5000,
        'useStorage',
      );
      m.registerUnit({ id: 'w', run: () => {} });
      await within(m.updateStatus('w', 'paused'), 5000, 'updateStatus with storage');
      expect(saves.length).toBeGreaterThan(0);
      expect(saves[saves.length - 1].find((u) => u.id === 'w').status).toBe('paused');
      expect(jest.getTimerCount()).toBe(0);
    });

    test('runWorkerTasks resolves', async () => {
      const { runWorkerTasks } = loadPackage(order, fake);
      let calls = 0;
      const result = await within(
        runWorkerTasks({
          items: [1, 2, 3],
          execute: async (n) => {
            calls += 1;
            if (calls === 1) throw new Error('once');
            return n * 10;
          },
          maxRetries: 1,
        }),
        5000,
        'runWorkerTasks',
      );
      expect(result.successPercentage).toBe(100);
      expect(result.successful.map((s) => s.result)).toEqual([10, 20, 30]);
    });
  });
});
