'use strict';

// Hot swap (SPEC §3.2): updateUnitConfig changes apply to the next attempt;
// a running attempt keeps the function it started with.

const { createSynchronikManager } = require('..');
const { recordEvents, deferred, until, settle } = require('./helpers');

describe('hot swap with updateWorkerConfig', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager();
  });

  test('a new run function is used by the next run; the running attempt keeps the old one', async () => {
    const results = [];
    manager.onComplete((e) => results.push(e.result));
    const gate = deferred();
    const oldRun = jest.fn(async () => { await gate.promise; return 'old'; });
    const newRun = jest.fn(async () => 'new');
    const w = { id: 'w', run: oldRun };
    manager.registerUnit(w);

    const first = manager.runWorkerById('w');
    await until(() => oldRun.mock.calls.length === 1);
    await manager.updateWorkerConfig('w', { run: newRun });
    expect(w.run).toBe(newRun); // mirrored on the object right away
    gate.resolve();
    await first;
    expect(results).toEqual(['old']);
    expect(newRun).not.toHaveBeenCalled();

    await manager.runWorkerById('w');
    expect(results).toEqual(['old', 'new']);
    expect(oldRun).toHaveBeenCalledTimes(1);
    expect(newRun).toHaveBeenCalledTimes(1);
  });

  test('a new run function set during the retry delay is used by the retry', async () => {
    const bad = jest.fn(async () => { throw new Error('old one fails'); });
    const good = jest.fn(async (ctx) => `fixed on attempt ${ctx.attempt}`);
    const results = [];
    manager = createSynchronikManager({ clock: 'manual' });
    manager.onComplete((e) => results.push(e.result));
    manager.registerUnit({ id: 'w', maxRetries: 1, retryDelayMs: 60, run: bad });
    const done = manager.runWorkerById('w');
    await manager.clock.advance(20); // first attempt failed, the retry delay is running
    expect(bad).toHaveBeenCalledTimes(1);
    manager.updateWorkerConfig('w', { run: good });
    await manager.clock.advance(39);
    expect(good).not.toHaveBeenCalled();
    await manager.clock.advance(1);
    await done;
    expect(bad).toHaveBeenCalledTimes(1);
    expect(good).toHaveBeenCalledTimes(1);
    expect(results).toEqual(['fixed on attempt 2']);
    expect(manager.getUnitStatus('w')).toBe('completed');
  });

  test('raising maxRetries while the first attempt runs gives that run a retry', async () => {
    let calls = 0;
    const gate = deferred();
    const w = {
      id: 'w',
      run: async () => {
        calls += 1;
        await gate.promise;
        if (calls === 1) throw new Error('first fails');
        return 'second';
      },
    };
    manager.registerUnit(w);
    const done = manager.runWorkerById('w');
    await until(() => calls === 1);
    await manager.updateWorkerConfig('w', { maxRetries: 1 });
    gate.resolve();
    await done;
    expect(calls).toBe(2);
    expect(w.status).toBe('completed');
    expect(w.maxRetries).toBe(1);
  });

  test('maxRetries changed between runs applies to the next run', async () => {
    const run = jest.fn(async () => { throw new Error('x'); });
    manager.registerUnit({ id: 'w', maxRetries: 0, run });
    await manager.runWorkerById('w');
    expect(run).toHaveBeenCalledTimes(1);
    await manager.updateWorkerConfig('w', { maxRetries: 2 });
    await manager.runWorkerById('w');
    expect(run).toHaveBeenCalledTimes(4);
    await manager.updateWorkerConfig('w', { maxRetries: 0 });
    await manager.runWorkerById('w');
    expect(run).toHaveBeenCalledTimes(5);
  });

  test('timeoutMs and retryDelayMs changes apply to the next run', async () => {
    manager = createSynchronikManager({ clock: 'manual' });
    /** Runs `id` to its end, moving the clock as far as its timers need. */
    const runToEnd = async (id) => {
      const done = manager.runWorkerById(id);
      await manager.clock.runUntilIdle();
      await done;
    };
    let hold = deferred();
    const w = { id: 'w', timeoutMs: 10, run: async () => { await hold.promise; return 'ok'; } };
    manager.registerUnit(w);
    const first = manager.runWorkerById('w');
    await manager.clock.advance(10);
    await first;
    expect(w.error.code).toBe('ERR_TIMEOUT');
    await manager.updateWorkerConfig('w', { timeoutMs: 0 });
    hold = deferred();
    const second = manager.runWorkerById('w');
    await manager.clock.advance(1000); // no timeout any more
    expect(w.status).toBe('running');
    hold.resolve();
    await second;
    expect(w.status).toBe('completed');

    const delays = [];
    manager.on('retry', (e) => delays.push([e.delayMs, manager.clock.now()]));
    const f = { id: 'f', maxRetries: 1, retryDelayMs: 5, run: async () => { throw new Error('x'); } };
    manager.registerUnit(f);
    const t0 = manager.clock.now();
    await runToEnd('f');
    expect(manager.clock.now() - t0).toBe(5);
    await manager.updateWorkerConfig('f', { retryDelayMs: (n) => n * 7 });
    await runToEnd('f');
    expect(manager.clock.now() - t0).toBe(12);
    await manager.updateWorkerConfig('f', { retryDelayMs: 3 });
    await runToEnd('f');
    expect(manager.clock.now() - t0).toBe(15);
    expect(delays.map(([ms]) => ms)).toEqual([5, 7, 3]);
  });

  test('config fields are merged onto the unit object and announced once', () => {
    const { events } = recordEvents(manager);
    const w = { id: 'w', name: 'before', meta: { a: 1 }, run: () => {} };
    manager.registerUnit(w);
    manager.updateWorkerConfig('w', { name: 'after', description: 'd', meta: { b: 2 } });
    expect(w.name).toBe('after');
    expect(w.description).toBe('d');
    expect(w.meta.b).toBe(2);
    expect(events).toHaveLength(1);
    expect(events[0].payload).toEqual(expect.objectContaining({ reason: 'config-change', name: 'after' }));
  });

  test('a new meta object keeps the engine statistics', async () => {
    const w = { id: 'w', meta: { owner: 'a' }, run: () => 1 };
    manager.registerUnit(w);
    await manager.runWorkerById('w');
    await manager.runWorkerById('w');
    const times = [...w.meta.executionTimesMs];
    const fresh = { owner: 'b', extra: true };
    await manager.updateWorkerConfig('w', { meta: fresh });
    expect(w.meta).toBe(fresh);
    expect(w.meta.owner).toBe('b');
    expect(w.meta.extra).toBe(true);
    expect(w.meta.runCount).toBe(2);
    expect(w.meta.executionTimesMs).toEqual(times);
    await manager.runWorkerById('w');
    expect(w.meta.runCount).toBe(3);
    expect(w.meta).toBe(fresh);
    expect(w.meta.executionTimesMs).toHaveLength(3);
  });

  test('updateUnitConfig with a status is a status change (one updated event)', () => {
    const { events } = recordEvents(manager);
    const w = { id: 'w', run: () => {} };
    manager.registerUnit(w);
    manager.updateUnitConfig('w', { status: 'paused', name: 'renamed' });
    expect(w.status).toBe('paused');
    expect(w.name).toBe('renamed');
    expect(events.filter((e) => e.type === 'updated')).toHaveLength(1);
    expect(events[0].payload).toEqual(expect.objectContaining({ reason: 'status-change', previous: 'idle', current: 'paused', name: 'renamed' }));
  });

  test('updateProcessConfig changes the run mode of the next process run', async () => {
    const seen = [];
    manager.onMilestone((id, payload) => seen.push(payload.runMode));
    let active = 0;
    let max = 0;
    const held = []; // the runs in flight, each ended by the test
    const mk = (id) => ({
      id,
      run: async () => {
        active += 1;
        max = Math.max(max, active);
        const gate = deferred();
        held.push(gate);
        await gate.promise;
        active -= 1;
      },
    });
    manager.registerUnit({ id: 'p', workers: [mk('a'), mk('b'), mk('c')] });
    const sequential = manager.runProcessById('p');
    for (let i = 0; i < 3; i++) {
      await until(() => held.length === 1, 200, `worker ${i + 1} to start`);
      await settle();
      expect(active).toBe(1); // the next one waits for this one
      held.shift().resolve();
    }
    await sequential;
    expect(max).toBe(1);
    await manager.updateProcessConfig('p', { runMode: 'parallel' });
    max = 0;
    const parallel = manager.runProcessById('p');
    await until(() => held.length === 3, 200, 'the three workers to start');
    expect(active).toBe(3);
    held.splice(0).forEach((gate) => gate.resolve());
    await parallel;
    expect(max).toBe(3);
    expect(seen).toEqual(['sequential', 'sequential', 'parallel', 'parallel']);
  });

  test('enabled: false in a config update disables the worker', async () => {
    const run = jest.fn();
    const w = { id: 'w', run };
    manager.registerUnit(w);
    await manager.updateWorkerConfig('w', { enabled: false });
    expect(w.enabled).toBe(false);
    await manager.runWorkerById('w');
    expect(run).not.toHaveBeenCalled();
  });
});
