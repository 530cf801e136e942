'use strict';

// getEngineStats (SPEC §3.6): memory as 'NN.NN MB' strings, cpu as 'N.NN%'
// since the previous call ('0.00%' on the first), plus the engine's counts.

const { createSynchronikManager } = require('..');
const { deferred, until } = require('./helpers');

const MB = /^\d+\.\d{2} MB$/;
const PERCENT = /^\d+\.\d{2}%$/;

describe('getEngineStats', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  test('shape: memory strings, cpu string, engine counts', () => {
    const manager = createSynchronikManager();
    const stats = manager.getEngineStats();
    expect(Object.keys(stats.memory).sort()).toEqual(['external', 'heapTotal', 'heapUsed', 'rss']);
    for (const value of Object.values(stats.memory)) expect(value).toMatch(MB);
    expect(stats.cpu).toBe('0.00%');
    // A new manager: nothing queued or in flight, and no lag measured (it is not started).
    expect(stats.engine).toEqual({ units: 0, running: 0, queued: 0, dispatched: 0, eventLoopLagMs: 0 });
  });

  test('memory figures agree with process.memoryUsage()', () => {
    const manager = createSynchronikManager();
    const rss = Number.parseFloat(manager.getEngineStats().memory.rss);
    const actual = process.memoryUsage().rss / 1024 / 1024;
    expect(Math.abs(rss - actual)).toBeLessThan(50);
  });

  test('cpu is a percentage after the first call', async () => {
    const manager = createSynchronikManager();
    expect(manager.getEngineStats().cpu).toBe('0.00%');
    // Real CPU time over real time is what is measured: keep the CPU busy for a moment.
    const busyUntil = Date.now() + 30;
    while (Date.now() < busyUntil) {
      // spin
    }
    const { cpu } = manager.getEngineStats();
    expect(cpu).toMatch(PERCENT);
    expect(Number.parseFloat(cpu)).toBeGreaterThan(0);
  });

  test('every manager has its own cpu baseline', () => {
    const a = createSynchronikManager();
    a.getEngineStats();
    const b = createSynchronikManager();
    expect(b.getEngineStats().cpu).toBe('0.00%');
  });

  test('engine counts follow registration and runs', async () => {
    const manager = createSynchronikManager();
    const gate = deferred();
    manager.registerUnit({ id: 'w', run: () => gate.promise });
    manager.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => {} }] });
    expect(manager.getEngineStats().engine.units).toBe(3);
    const done = manager.runWorkerById('w');
    await until(() => manager.getWorkerById('w').status === 'running');
    expect(manager.getEngineStats().engine).toMatchObject({ running: 1, dispatched: 1, queued: 0 });
    gate.resolve();
    await done;
    expect(manager.getEngineStats().engine).toMatchObject({ running: 0, dispatched: 0, queued: 0 });
    manager.releaseUnit('w');
    expect(manager.getEngineStats().engine.units).toBe(2);
  });

  test('queued counts the pool tasks waiting for a worker', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useWorkerPool(1);
    const gate = deferred();
    pool.addTask({ name: 'a', execute: () => gate.promise });
    pool.addTask({ name: 'b', execute: () => {} });
    expect(manager.getEngineStats().engine.queued).toBe(2); // the pool is not started
    pool.start();
    expect(manager.getEngineStats().engine.queued).toBe(1); // 'a' runs, 'b' waits
    gate.resolve();
    await pool.onIdle();
    expect(manager.getEngineStats().engine.queued).toBe(0);
    await manager.stop();
  });

  // 2.3: "should return engine stats and calculate CPU percentage over time"
  test('cpu over fake time with a mocked process.cpuUsage (2.3 test)', () => {
    jest.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
    const spy = jest
      .spyOn(process, 'cpuUsage')
      .mockReturnValueOnce({ user: 100000, system: 50000 })
      .mockReturnValueOnce({ user: 200000, system: 75000 });
    const manager = createSynchronikManager();

    const first = manager.getEngineStats();
    expect(first.cpu).toBe('0.00%');
    expect(first.memory.rss).toMatch(/\d+\.\d{2} MB/);

    jest.advanceTimersByTime(1000);
    const second = manager.getEngineStats();
    expect(second.cpu).toBe('12.50%');
    expect(spy).toHaveBeenCalledTimes(2);
  });

  test('no wall time passed → 0.00%', () => {
    jest.useFakeTimers({ now: 0 });
    jest
      .spyOn(process, 'cpuUsage')
      .mockReturnValueOnce({ user: 0, system: 0 })
      .mockReturnValueOnce({ user: 500000, system: 0 });
    const manager = createSynchronikManager();
    manager.getEngineStats();
    expect(manager.getEngineStats().cpu).toBe('0.00%');
  });
});
