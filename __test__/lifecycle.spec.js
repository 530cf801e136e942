'use strict';

// Background operation on the real clock (SPEC §3.4, §6, §7): start/stop,
// runLoopOnce, runWatcherScan, startAll/stopAll with a started scheduler,
// and the interval tests of synchronik 2.3 (loop.test.ts). Timing bounds are
// generous on purpose: they must hold on a loaded 2-core machine.

const { createSynchronikManager, SynchronikError } = require('..');
const { sleep } = require('./helpers');

const managers = [];
function create(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

/** Polls `condition` every few ms; rejects when it is still false after `timeoutMs`. */
async function waitFor(condition, timeoutMs = 3000, what = 'condition') {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A promise with its resolve function. */
function deferred() {
  let resolve;
  const promise = new Promise((res) => (resolve = res));
  return { promise, resolve };
}

describe('start()', () => {
  test('is idempotent: calling it three times still runs an interval worker once per interval', async () => {
    const m = create();
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 50, runOnInterval: true, run });
    const t0 = performance.now();
    m.start();
    m.start();
    m.start();
    await sleep(400);
    const calls = run.mock.calls.length;
    const elapsed = performance.now() - t0;
    // One per interval at most (no catch-up bursts), never two per scheduled time.
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 1);
  });

  test('the first interval run comes one interval after start, not at once', async () => {
    const m = create();
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 300, runOnInterval: true, run });
    m.start();
    await sleep(100);
    expect(run).not.toHaveBeenCalled();
    await waitFor(() => run.mock.calls.length >= 1, 3000, 'the first run');
  });

  test('start → stop → start: the schedule stops, then resumes', async () => {
    const m = create();
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 30, runOnInterval: true, run });
    m.start();
    await waitFor(() => run.mock.calls.length >= 2, 3000, 'two runs');
    await m.stop();
    const afterStop = run.mock.calls.length;
    await sleep(150);
    expect(run.mock.calls.length).toBe(afterStop);
    m.start();
    await waitFor(() => run.mock.calls.length >= afterStop + 2, 3000, 'runs after the restart');
  });
});

describe('stop()', () => {
  test('resolves only after the run in flight settled, and starts nothing afterwards', async () => {
    const m = create();
    const started = deferred();
    const finish = deferred();
    let settledAt = 0;
    const run = jest.fn(async () => {
      started.resolve();
      await finish.promise;
      settledAt = performance.now();
      return 'finished';
    });
    m.registerUnit({ id: 'w', intervalMs: 20, runOnInterval: true, timeoutMs: 0, run });
    m.start();
    await started.promise;
    let stoppedAt = 0;
    const stopped = m.stop().then(() => (stoppedAt = performance.now()));
    await sleep(60);
    expect(stoppedAt).toBe(0); // still waiting for the run
    finish.resolve();
    await stopped;
    expect(stoppedAt).toBeGreaterThanOrEqual(settledAt);
    expect(m.getWorkerById('w').status).toBe('completed');
    const calls = run.mock.calls.length;
    expect(calls).toBe(1);
    await sleep(150);
    expect(run.mock.calls.length).toBe(calls);
  });

  test('stop({ timeoutMs: 50 }) aborts a never-settling run with ERR_STOPPED and resolves', async () => {
    const m = create();
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
    await waitFor(() => signal !== undefined, 3000, 'the run to start');
    const t0 = performance.now();
    await m.stop({ timeoutMs: 50 });
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(40);
    expect(took).toBeLessThan(3000);
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
    const m = create({ loopInterval: 20 });
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
    await started.promise;
    let stopped = false;
    const stopping = m.stop().then(() => (stopped = true));
    await sleep(50);
    expect(stopped).toBe(false);
    finish.resolve();
    await stopping;
    expect(m.getProcessById('p').status).toBe('completed');
  });
});

test('two managers in one process are independent: stopping one does not affect the other', async () => {
  const m1 = create();
  const m2 = create();
  const run1 = jest.fn();
  const run2 = jest.fn();
  m1.registerUnit({ id: 'w', intervalMs: 25, runOnInterval: true, run: run1 });
  m2.registerUnit({ id: 'w', intervalMs: 25, runOnInterval: true, run: run2 });
  m1.start();
  m2.start();
  await waitFor(() => run1.mock.calls.length >= 2 && run2.mock.calls.length >= 2, 3000, 'both managers to run');
  await m1.stop();
  const frozen = run1.mock.calls.length;
  const before = run2.mock.calls.length;
  await waitFor(() => run2.mock.calls.length >= before + 3, 3000, 'the second manager to keep running');
  expect(run1.mock.calls.length).toBe(frozen);
  expect(m2.getWorkerById('w').status).toBe('completed');
});

describe('runLoopOnce and runWatcherScan', () => {
  test('runLoopOnce runs the due interval workers and idle processes now and resolves when they end', async () => {
    const m = create();
    const order = [];
    m.registerUnit({
      id: 'w',
      intervalMs: 60000,
      runOnInterval: true,
      run: async () => {
        await sleep(30);
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
            await sleep(20);
            order.push('a');
          },
        },
      ],
    });
    await m.runLoopOnce();
    expect(order.sort()).toEqual(['a', 'w']);
    expect(m.getWorkerById('w').status).toBe('completed');
    expect(m.getProcessById('p').status).toBe('completed');
    expect(m.getWorkerById('plain').status).toBe('idle');
    // Neither is due again: w ran less than intervalMs ago, p is no longer idle.
    await m.runLoopOnce();
    expect(order).toHaveLength(2);
  });

  test('runWatcherScan reports a quiet run as stalled and un-pauses paused units, without start()', async () => {
    const m = create({ stallThresholdMs: 50, autoUnpauseMs: 50 });
    const stalled = [];
    const milestones = [];
    m.on('stalled', (e) => stalled.push(e));
    m.onMilestone((id) => milestones.push(id));
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    m.registerUnit({ id: 'resting', status: 'paused', run: () => {} });
    void m.runWorkerById('quiet');
    await sleep(120);
    expect(stalled).toEqual([]); // no watcher is running before start()
    m.runWatcherScan();
    expect(stalled).toHaveLength(1);
    expect(stalled[0]).toEqual({ type: 'stalled', unitId: 'quiet', runningForMs: expect.any(Number) });
    expect(stalled[0].runningForMs).toBeGreaterThanOrEqual(50);
    expect(m.getUnitStatus('resting')).toBe('idle');
    expect(milestones).toEqual(['worker:resting:unpaused']);
  });

  test('a started watcher reports a stalled run by itself', async () => {
    const m = create({ stallThresholdMs: 60 });
    const stalled = [];
    m.on('stalled', (e) => stalled.push(e));
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    m.start();
    void m.runWorkerById('quiet');
    await waitFor(() => stalled.length > 0, 3000, 'a stalled event');
    expect(stalled[0].unitId).toBe('quiet');
    expect(stalled[0].runningForMs).toBeGreaterThanOrEqual(60);
    expect(stalled[0].eventLoop).toBeUndefined();
  });
});

test('stopAll pauses every unit so the started scheduler runs nothing; startAll resumes', async () => {
  const m = create();
  const run = jest.fn();
  m.registerUnit({ id: 'w', intervalMs: 40, runOnInterval: true, run });
  m.registerUnit({ id: 'other', run: () => {} });
  // Pause right after a run has ended, so that no run is in flight then.
  const paused = deferred();
  m.on('complete', (e) => {
    if (e.unitId === 'w' && run.mock.calls.length === 2) {
      m.stopAll();
      paused.resolve();
    }
  });
  m.start();
  await paused.promise;
  expect(m.getUnitStatus('w')).toBe('paused');
  expect(m.getUnitStatus('other')).toBe('paused');
  await sleep(200);
  expect(run).toHaveBeenCalledTimes(2);
  m.startAll();
  expect(m.getUnitStatus('w')).toBe('idle');
  expect(m.getUnitStatus('other')).toBe('idle');
  await waitFor(() => run.mock.calls.length >= 4, 3000, 'runs after startAll');
});

// synchronik 2.3's src/tests/loop.test.ts, with waits that tolerate a loaded machine.
describe('2.3 loop tests', () => {
  test('runs a worker on an interval if runOnInterval is true', async () => {
    const m = create({ loopInterval: 20 });
    const run = jest.fn();
    const w = { id: 'w', intervalMs: 50, runOnInterval: true, maxRuns: 3, run };
    m.registerUnit({ id: 'p', workers: [w] });
    m.start();
    await m.runProcessById('p');
    expect(run).toHaveBeenCalledTimes(1);
    await waitFor(() => run.mock.calls.length >= 3, 3000, 'three runs');
    await sleep(150);
    expect(run).toHaveBeenCalledTimes(3); // maxRuns
  });

  test('stops running a worker after maxRuns is reached', async () => {
    const m = create({ loopInterval: 10 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 20, runOnInterval: true, maxRuns: 2, run });
    m.start();
    await waitFor(() => m.getWorkerById('w').enabled === false, 3000, 'the worker to be disabled');
    await sleep(150);
    expect(run).toHaveBeenCalledTimes(2);
    expect(m.getWorkerById('w').enabled).toBe(false);
    expect(m.getWorkerById('w').meta.runCount).toBe(2);
  });

  test('stops a worker when stopWorkerById is called', async () => {
    const m = create({ loopInterval: 10 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 25, runOnInterval: true, run });
    m.start();
    await waitFor(() => run.mock.calls.length >= 2, 3000, 'two runs');
    void m.stopWorkerById('w');
    expect(m.getWorkerById('w').enabled).toBe(false);
    const calls = run.mock.calls.length;
    await sleep(100);
    expect(run.mock.calls.length).toBe(calls);
  });

  test('does not run a worker on an interval if runOnInterval is false or undefined', async () => {
    const m = create({ loopInterval: 10 });
    const a = jest.fn();
    const b = jest.fn();
    m.registerUnit({ id: 'a', intervalMs: 20, run: a });
    m.registerUnit({ id: 'b', intervalMs: 20, runOnInterval: false, run: b });
    m.start();
    await m.runWorkerById('a');
    await m.runWorkerById('b');
    expect(a).toHaveBeenCalledTimes(1);
    await sleep(120);
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
  });

  test('counts runCount for both manual and interval runs', async () => {
    const m = create({ loopInterval: 10 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 20, runOnInterval: true, maxRuns: 3, run });
    m.start();
    await m.runWorkerById('w');
    expect(m.getWorkerById('w').meta.runCount).toBe(1);
    await waitFor(() => run.mock.calls.length >= 3, 3000, 'three runs');
    expect(m.getWorkerById('w').meta.runCount).toBeGreaterThanOrEqual(3);
    await sleep(100);
    expect(run).toHaveBeenCalledTimes(3);
    expect(m.getWorkerById('w').meta.runCount).toBe(3);
    expect(m.getWorkerById('w').enabled).toBe(false);
  });
});
