'use strict';

// getEngineStats (SPEC §3.6): `engine.eventLoopLagMs` is measured — the
// largest event-loop lag seen since the previous call while the manager is
// started — and the figures a program can use come as numbers too
// (`memoryBytes`, `cpuPercent`), next to 2.3's formatted strings.

const { createSynchronikManager } = require('..');
const { sleep } = require('./helpers');

/** Blocks this thread for `ms` of real time without any timer (fake timers cannot shorten it). */
function block(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const managers = [];
afterEach(async () => {
  jest.useRealTimers();
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});
function manager(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}

describe('eventLoopLagMs', () => {
  test('a blocked event loop shows a lag; the next call starts a new window', async () => {
    const m = manager();
    m.start();
    // Event-loop lag is real time: the sampler's timer has to run before and
    // after the block for the lag to be measured, so real time passes here.
    await sleep(30);
    block(150);
    await sleep(30);
    const lag = m.getEngineStats().engine.eventLoopLagMs;
    expect(lag).toBeGreaterThan(50);
    expect(lag).toBeLessThan(60000);
    // Measured since the previous call: the block is not counted again.
    expect(m.getEngineStats().engine.eventLoopLagMs).toBeLessThan(lag);
  });

  test('a block that just ended counts when stats are read in the same turn', () => {
    const m = manager();
    m.start();
    block(120);
    expect(m.getEngineStats().engine.eventLoopLagMs).toBeGreaterThan(50);
  });

  test('0 while the manager is not started; measuring stops with stop()', async () => {
    const m = manager();
    block(60);
    expect(m.getEngineStats().engine.eventLoopLagMs).toBe(0);
    m.start();
    await m.stop();
    block(60);
    expect(m.getEngineStats().engine.eventLoopLagMs).toBe(0);
  });

  test.each([
    ['modern', () => jest.useFakeTimers()],
    ['legacy', () => jest.useFakeTimers({ legacyFakeTimers: true })],
  ])('measured under %s fake timers too', async (_mode, fake) => {
    fake();
    const m = manager();
    m.start();
    block(120);
    expect(m.getEngineStats().engine.eventLoopLagMs).toBeGreaterThan(50);
  });
});

describe('numeric figures', () => {
  test('memoryBytes and cpuPercent agree with the formatted strings', () => {
    const m = manager();
    m.getEngineStats();
    const until = Date.now() + 20;
    while (Date.now() < until) {
      // busy
    }
    const stats = m.getEngineStats();
    expect(Object.keys(stats.memoryBytes).sort()).toEqual(['external', 'heapTotal', 'heapUsed', 'rss']);
    for (const key of Object.keys(stats.memoryBytes)) {
      expect(Number.isInteger(stats.memoryBytes[key])).toBe(true);
      expect(stats.memory[key]).toBe(`${(stats.memoryBytes[key] / 1024 / 1024).toFixed(2)} MB`);
    }
    expect(typeof stats.cpuPercent).toBe('number');
    expect(stats.cpu).toBe(`${stats.cpuPercent.toFixed(2)}%`);
  });
});
