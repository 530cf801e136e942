'use strict';

// Background operation (SPEC §3.4, §6, §7): start/stop, runLoopOnce,
// runWatcherScan, startAll/stopAll with a started scheduler, and the
// interval tests of synchronik 2.3 (loop.test.ts). The scheduling rules are
// checked on the manual clock (§8), where every count is exact; the last
// block checks that the system clock drives the same timers in real time.

const { createSynchronikManager, SynchronikError } = require('..');
const { deferred, settle, track, nextEvent, since } = require('./helpers');

const managers = [];
function create(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}
const manual = (options = {}) => create({ clock: 'manual', ...options });

afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

describe('start()', () => {
  test('is idempotent: calling it three times still runs an interval worker once per interval', async () => {
    const m = manual();
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 50, runOnInterval: true, run });
    m.start();
    m.start();
    m.start();
    await m.clock.advance(400);
    // One per interval (no catch-up bursts), never two per scheduled time.
    expect(run).toHaveBeenCalledTimes(8);
  });

  test('the first interval run comes one interval after start, not at once', async () => {
    const m = manual();
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 300, runOnInterval: true, run });
    m.start();
    await m.clock.advance(299);
    expect(run).not.toHaveBeenCalled();
    await m.clock.advance(1);
    expect(run).toHaveBeenCalledTimes(1);
  });

  test('start → stop → start: the schedule stops, then resumes', async () => {
    const m = manual();
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 30, runOnInterval: true, run });
    m.start();
    await m.clock.advance(60);
    expect(run).toHaveBeenCalledTimes(2);
    await m.stop();
    await m.clock.advance(150);
    expect(run).toHaveBeenCalledTimes(2);
    m.start();
    await m.clock.advance(60);
    expect(run).toHaveBeenCalledTimes(4);
  });
});

describe('stop()', () => {
  test('resolves only after the run in flight settled, and starts nothing afterwards', async () => {
    const m = manual();
    const started = deferred();
    const finish = deferred();
    const order = [];
    const run = jest.fn(async () => {
      started.resolve();
      await finish.promise;
      order.push('run settled');
      return 'finished';
    });
    m.registerUnit({ id: 'w', intervalMs: 20, runOnInterval: true, timeoutMs: 0, run });
    m.start();
    await m.clock.advance(20);
    await started.promise;
    const stopped = m.stop().then(() => order.push('stop resolved'));
    const stoppedState = track(stopped);
    await m.clock.advance(60);
    await settle();
    expect(stoppedState.settled).toBe(false); // still waiting for the run
    expect(run).toHaveBeenCalledTimes(1); // and the scheduled times that passed started nothing
    finish.resolve();
    await stopped;
    expect(order).toEqual(['run settled', 'stop resolved']);
    expect(m.getWorkerById('w').status).toBe('completed');
    await m.clock.advance(150);
    expect(run).toHaveBeenCalledTimes(1);
  });

  test('stop({ timeoutMs: 50 }) aborts a never-settling run with ERR_STOPPED and resolves', async () => {
    const m = manual();
    let signal;
    const errors = [];
    m.on('error', (e) => errors.push(e));
    m.registerUnit({
      id: 'stuck',
      intervalMs: 20,
      runOnInterval: true,
      timeoutMs: 0,
      run: (ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    m.start();
    await m.clock.advance(20);
    expect(signal).toBeInstanceOf(AbortSignal);
    const stopped = m.stop({ timeoutMs: 50 });
    const stoppedState = track(stopped);
    await m.clock.advance(49);
    expect(stoppedState.settled).toBe(false);
    expect(signal.aborted).toBe(false);
    await m.clock.advance(1);
    await stopped;
    expect(signal.aborted).toBe(true);
    const w = m.getWorkerById('stuck');
    expect(w.status).toBe('error');
    expect(w.error).toBeInstanceOf(SynchronikError);
    expect(w.error.code).toBe('ERR_STOPPED');
    expect(errors.map((e) => [e.unitId, e.error.code])).toEqual([['stuck', 'ERR_STOPPED']]);
  });

  test('stop() on a manager that was never started resolves at once', async () => {
    const m = create();
    m.registerUnit({ id: 'w', run: () => {} });
    await expect(m.stop()).resolves.toBeUndefined();
    await expect(m.stop({ timeoutMs: 10 })).resolves.toBeUndefined();
  });

  test('a process run in flight is waited for too', async () => {
    const m = manual({ loopInterval: 20 });
    const started = deferred();
    const finish = deferred();
    m.registerUnit({
      id: 'p',
      workers: [
        {
          id: 'a',
          timeoutMs: 0,
          run: async () => {
            started.resolve();
            await finish.promise;
          },
        },
      ],
    });
    m.start();
    await m.clock.advance(20); // the sweep runs the idle process
    await started.promise;
    const stopping = m.stop();
    const stoppedState = track(stopping);
    await m.clock.advance(50);
    await settle();
    expect(stoppedState.settled).toBe(false);
    finish.resolve();
    await stopping;
    expect(m.getProcessById('p').status).toBe('completed');
  });
});

test('two managers in one process are independent: stopping one does not affect the other', async () => {
  const m1 = manual();
  const m2 = manual();
  const run1 = jest.fn();
  const run2 = jest.fn();
  m1.registerUnit({ id: 'w', intervalMs: 25, runOnInterval: true, run: run1 });
  m2.registerUnit({ id: 'w', intervalMs: 25, runOnInterval: true, run: run2 });
  m1.start();
  m2.start();
  await m1.clock.advance(50);
  await m2.clock.advance(50);
  expect(run1).toHaveBeenCalledTimes(2);
  expect(run2).toHaveBeenCalledTimes(2);
  await m1.stop();
  await m1.clock.advance(75);
  await m2.clock.advance(75);
  expect(run1).toHaveBeenCalledTimes(2);
  expect(run2).toHaveBeenCalledTimes(5);
  expect(m2.getWorkerById('w').status).toBe('completed');
});

describe('runLoopOnce and runWatcherScan', () => {
  test('runLoopOnce runs the due interval workers and idle processes now and resolves when they end', async () => {
    const m = create();
    const order = [];
    const finishW = deferred();
    const finishA = deferred();
    m.registerUnit({
      id: 'w',
      intervalMs: 60000,
      runOnInterval: true,
      run: async () => {
        await finishW.promise;
        order.push('w');
      },
    });
    m.registerUnit({ id: 'plain', run: () => order.push('plain') }); // not an interval worker
    m.registerUnit({
      id: 'p',
      workers: [
        {
          id: 'a',
          run: async () => {
            await finishA.promise;
            order.push('a');
          },
        },
      ],
    });
    const loop = m.runLoopOnce();
    const loopState = track(loop);
    finishA.resolve();
    await settle();
    expect(order).toEqual(['a']);
    expect(loopState.settled).toBe(false); // w is still running
    finishW.resolve();
    await loop;
    expect(order).toEqual(['a', 'w']);
    expect(m.getWorkerById('w').status).toBe('completed');
    expect(m.getProcessById('p').status).toBe('completed');
    expect(m.getWorkerById('plain').status).toBe('idle');
    // Neither is due again: w ran less than intervalMs ago, p is no longer idle.
    await m.runLoopOnce();
    expect(order).toHaveLength(2);
  });

  test('runWatcherScan reports a quiet run as stalled and un-pauses paused units, without start()', async () => {
    const m = manual({ stallThresholdMs: 50, autoUnpauseMs: 50 });
    const stalled = [];
    const milestones = [];
    m.on('stalled', (e) => stalled.push(e));
    m.onMilestone((id) => milestones.push(id));
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    m.registerUnit({ id: 'resting', status: 'paused', run: () => {} });
    void m.runWorkerById('quiet');
    await m.clock.advance(120);
    expect(stalled).toEqual([]); // no watcher is running before start()
    expect(m.getUnitStatus('resting')).toBe('paused');
    m.runWatcherScan();
    expect(stalled).toEqual([{ type: 'stalled', unitId: 'quiet', runningForMs: 120 }]);
    expect(m.getUnitStatus('resting')).toBe('idle');
    expect(milestones).toEqual(['worker:resting:unpaused']);
  });

  test('a started watcher reports a stalled run by itself', async () => {
    const m = manual({ stallThresholdMs: 60 });
    const stalled = [];
    m.on('stalled', (e) => stalled.push(e));
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    m.start();
    void m.runWorkerById('quiet');
    await m.clock.advance(59);
    expect(stalled).toEqual([]);
    await m.clock.advance(1);
    expect(stalled).toEqual([{ type: 'stalled', unitId: 'quiet', runningForMs: 60 }]);
  });
});

test('stopAll pauses every unit so the started scheduler runs nothing; startAll resumes', async () => {
  const m = manual();
  const run = jest.fn();
  m.registerUnit({ id: 'w', intervalMs: 40, runOnInterval: true, run });
  m.registerUnit({ id: 'other', run: () => {} });
  m.start();
  await m.clock.advance(80);
  expect(run).toHaveBeenCalledTimes(2);
  // No run is in flight now: the second one has ended.
  m.stopAll();
  expect(m.getUnitStatus('w')).toBe('paused');
  expect(m.getUnitStatus('other')).toBe('paused');
  await m.clock.advance(200);
  expect(run).toHaveBeenCalledTimes(2);
  m.startAll();
  expect(m.getUnitStatus('w')).toBe('idle');
  expect(m.getUnitStatus('other')).toBe('idle');
  await m.clock.advance(80);
  expect(run).toHaveBeenCalledTimes(4);
});

// synchronik 2.3's src/tests/loop.test.ts, on the manual clock.
describe('2.3 loop tests', () => {
  test('runs a worker on an interval if runOnInterval is true', async () => {
    const m = manual({ loopInterval: 20 });
    const run = jest.fn();
    const w = { id: 'w', intervalMs: 50, runOnInterval: true, maxRuns: 3, run };
    m.registerUnit({ id: 'p', workers: [w] });
    m.start();
    await m.runProcessById('p');
    expect(run).toHaveBeenCalledTimes(1);
    await m.clock.advance(100);
    expect(run).toHaveBeenCalledTimes(3);
    await m.clock.advance(150);
    expect(run).toHaveBeenCalledTimes(3); // maxRuns
  });

  test('stops running a worker after maxRuns is reached', async () => {
    const m = manual({ loopInterval: 10 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 20, runOnInterval: true, maxRuns: 2, run });
    m.start();
    await m.clock.advance(20);
    expect(m.getWorkerById('w').enabled).toBe(true);
    await m.clock.advance(20);
    expect(m.getWorkerById('w').enabled).toBe(false);
    await m.clock.advance(150);
    expect(run).toHaveBeenCalledTimes(2);
    expect(m.getWorkerById('w').enabled).toBe(false);
    expect(m.getWorkerById('w').meta.runCount).toBe(2);
  });

  test('stops a worker when stopWorkerById is called', async () => {
    const m = manual({ loopInterval: 10 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 25, runOnInterval: true, run });
    m.start();
    await m.clock.advance(50);
    expect(run).toHaveBeenCalledTimes(2);
    void m.stopWorkerById('w');
    expect(m.getWorkerById('w').enabled).toBe(false);
    await m.clock.advance(100);
    expect(run).toHaveBeenCalledTimes(2);
  });

  test('does not run a worker on an interval if runOnInterval is false or undefined', async () => {
    const m = manual({ loopInterval: 10 });
    const a = jest.fn();
    const b = jest.fn();
    m.registerUnit({ id: 'a', intervalMs: 20, run: a });
    m.registerUnit({ id: 'b', intervalMs: 20, runOnInterval: false, run: b });
    m.start();
    await m.runWorkerById('a');
    await m.runWorkerById('b');
    expect(a).toHaveBeenCalledTimes(1);
    await m.clock.advance(120);
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
  });

  test('counts runCount for both manual and interval runs', async () => {
    const m = manual({ loopInterval: 10 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 20, runOnInterval: true, maxRuns: 3, run });
    m.start();
    await m.runWorkerById('w');
    expect(m.getWorkerById('w').meta.runCount).toBe(1);
    await m.clock.advance(40);
    expect(run).toHaveBeenCalledTimes(3);
    expect(m.getWorkerById('w').meta.runCount).toBe(3);
    await m.clock.advance(100);
    expect(run).toHaveBeenCalledTimes(3);
    expect(m.getWorkerById('w').meta.runCount).toBe(3);
    expect(m.getWorkerById('w').enabled).toBe(false);
  });
});

// The same timers on the system clock: here real time is what is tested, so
// these tests wait for it — on the engine's own events, never by sleeping.
// Bounds are generous: they must hold on a loaded 2-core machine.
describe('on the system clock', () => {
  test('the first interval run comes one interval after start, in real time', async () => {
    const m = create();
    const ran = deferred();
    m.registerUnit({ id: 'w', intervalMs: 300, runOnInterval: true, run: () => ran.resolve(performance.now()) });
    const t0 = performance.now();
    m.start();
    const at = await ran.promise;
    expect(at - t0).toBeGreaterThanOrEqual(295);
    expect(at - t0).toBeLessThan(3000);
  });

  test('stop({ timeoutMs: 50 }) resolves about 50 ms later, having aborted the run', async () => {
    const m = create();
    const started = deferred();
    m.registerUnit({
      id: 'stuck',
      timeoutMs: 0,
      run: (ctx) => {
        started.resolve(ctx.signal);
        return new Promise(() => {});
      },
    });
    m.start();
    void m.runWorkerById('stuck');
    const signal = await started.promise;
    const t0 = performance.now();
    await m.stop({ timeoutMs: 50 });
    expect(since(t0)).toBeGreaterThanOrEqual(40);
    expect(since(t0)).toBeLessThan(3000);
    expect(signal.aborted).toBe(true);
    expect(m.getWorkerById('stuck').error.code).toBe('ERR_STOPPED');
  });

  test('a started watcher reports a stalled run by itself', async () => {
    const m = create({ stallThresholdMs: 60 });
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    const stalled = nextEvent(m, 'stalled');
    m.start();
    void m.runWorkerById('quiet');
    const event = await stalled;
    expect(event.unitId).toBe('quiet');
    expect(event.runningForMs).toBeGreaterThanOrEqual(60);
    expect(event.eventLoop).toBeUndefined();
  });
});
