'use strict';

// The manual clock (SPEC §8): with `clock: 'manual'` time moves only through
// `clock.advance` and `clock.runUntilIdle`, and every engine timer reads it —
// intervals (§6), retry delays and timeouts (§3.3), isolation delays (§4),
// the sweep (§6), the watcher (§7) and stop deadlines (§3.4). Every test here
// is deterministic: no sleeps, no assertion on real time.

const { createSynchronikManager, SynchronikError } = require('..');
const { deferred, track, turn } = require('./helpers');

const managers = [];
function manual(options = {}) {
  const m = createSynchronikManager({ clock: 'manual', ...options });
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

/** Records every event of `type` the manager emits. */
function collect(m, type) {
  const events = [];
  m.on(type, (e) => events.push(e));
  return events;
}

/** Milestone ids seen by the manager, with their payloads. */
function milestones(m) {
  const seen = [];
  m.onMilestone((id, payload) => seen.push({ id, payload }));
  return seen;
}

describe('manual clock basics', () => {
  test('now() starts at 0 and advance() moves it by exactly the amount asked', async () => {
    const m = manual();
    expect(m.clock.now()).toBe(0);
    await m.clock.advance(250);
    expect(m.clock.now()).toBe(250);
    await m.clock.advance(0);
    expect(m.clock.now()).toBe(250);
    await m.clock.advance(1750);
    expect(m.clock.now()).toBe(2000);
  });

  test('a started manual-clock manager does not move time or fire timers by itself', async () => {
    const m = manual({ loopInterval: 1, watcherInterval: 1, stallThresholdMs: 4, statsEmissionIntervalMs: 1 });
    const run = jest.fn();
    m.registerUnit({ id: 'w', intervalMs: 1, runOnInterval: true, run });
    m.registerUnit({ id: 'p', workers: [{ id: 'pw', run }] });
    const events = [];
    m.subscribeToEvents((e) => events.push(e));
    m.start();
    // Let the event loop turn many times (real time passes, the clock must not).
    const t0 = performance.now();
    let turns = 0;
    while (turns < 50 || performance.now() - t0 < 20) {
      await turn();
      turns += 1;
    }
    expect(m.clock.now()).toBe(0);
    expect(run).not.toHaveBeenCalled();
    expect(events).toEqual([]);
    await m.clock.advance(1);
    expect(m.clock.now()).toBe(1);
    expect(run).toHaveBeenCalled();
  });

  test('a manager without the manual clock has no clock property', () => {
    const m = createSynchronikManager();
    managers.push(m);
    expect(m.clock).toBeUndefined();
  });
});

describe('interval workers', () => {
  test('first run one interval after start, then every interval (advance 99, 1, then 10 periods)', async () => {
    const m = manual();
    const times = [];
    m.registerUnit({
      id: 'w',
      intervalMs: 100,
      runOnInterval: true,
      run: async () => {
        times.push(m.clock.now());
        await null;
        await null;
        return 'ok';
      },
    });
    await m.clock.advance(500); // not started yet: nothing runs
    expect(times).toEqual([]);
    m.start(); // at 500
    await m.clock.advance(99);
    expect(times).toEqual([]);
    await m.clock.advance(1);
    expect(times).toEqual([600]);
    // advance() resolved after the run settled
    expect(m.getWorkerById('w').status).toBe('completed');
    expect(m.getWorkerById('w').meta.runCount).toBe(1);
    await m.clock.advance(1000);
    expect(times).toEqual([600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600]);
    expect(m.getWorkerById('w').meta.runCount).toBe(11);
  });

  test('one advance over many periods fires each scheduled time in order, at its own time', async () => {
    const m = manual();
    const times = [];
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => times.push(m.clock.now()) });
    m.start();
    await m.clock.advance(1050);
    expect(times).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(m.clock.now()).toBe(1050);
  });

  test('cadence is measured from the scheduled time: a slow run does not shift the next one', async () => {
    const m = manual();
    const times = [];
    let pending = null;
    m.registerUnit({
      id: 'w',
      intervalMs: 100,
      runOnInterval: true,
      timeoutMs: 0,
      run: () => {
        times.push(m.clock.now());
        pending = deferred();
        return pending.promise;
      },
    });
    m.start();
    await m.clock.advance(100);
    expect(times).toEqual([100]);
    await m.clock.advance(70); // the run takes 70 ms of clock time
    pending.resolve();
    await m.clock.advance(0);
    expect(m.getWorkerById('w').status).toBe('completed');
    await m.clock.advance(29);
    expect(times).toEqual([100]);
    await m.clock.advance(1);
    expect(times).toEqual([100, 200]);
    pending.resolve();
    await m.clock.advance(100);
    expect(times).toEqual([100, 200, 300]);
  });

  test('workers without runOnInterval are not run by the scheduler; runOnInterval without intervalMs is refused', async () => {
    const m = manual();
    const a = jest.fn();
    const b = jest.fn();
    const c = jest.fn();
    m.registerUnit({ id: 'a', intervalMs: 100, run: a });
    m.registerUnit({ id: 'b', intervalMs: 100, runOnInterval: false, run: b });
    // It would never run: refused instead of accepted silently.
    expect(() => m.registerUnit({ id: 'c', runOnInterval: true, run: c })).toThrow(
      'registerUnit: unit.runOnInterval is true but unit.intervalMs is not set (an interval worker needs intervalMs)',
    );
    expect(m.getUnitById('c')).toBeUndefined();
    m.start();
    await m.clock.advance(1000);
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
    expect(c).not.toHaveBeenCalled();
  });

  test('a worker registered after start runs one interval after its registration', async () => {
    const m = manual();
    m.start();
    await m.clock.advance(30);
    const times = [];
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => times.push(m.clock.now()) });
    await m.clock.advance(300);
    expect(times).toEqual([130, 230, 330]);
  });

  test('maxRuns: the worker is disabled after that many runs and the scheduler stops running it', async () => {
    const m = manual();
    const run = jest.fn(async () => 'r');
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, maxRuns: 3, run });
    m.start();
    await m.clock.advance(250);
    expect(run).toHaveBeenCalledTimes(2);
    expect(m.getWorkerById('w').enabled).toBe(true);
    await m.clock.advance(50);
    expect(run).toHaveBeenCalledTimes(3);
    const w = m.getWorkerById('w');
    expect(w.enabled).toBe(false);
    expect(w.status).toBe('completed');
    expect(w.meta.runCount).toBe(3);
    await m.clock.advance(2000);
    expect(run).toHaveBeenCalledTimes(3);
  });

  test('a run that fails is run again at the next scheduled time; its error is recorded', async () => {
    const m = manual();
    let n = 0;
    const errors = collect(m, 'error');
    m.registerUnit({
      id: 'w',
      intervalMs: 100,
      runOnInterval: true,
      run: async () => {
        n += 1;
        if (n === 1) throw new Error('first fails');
        return n;
      },
    });
    m.start();
    await m.clock.advance(100);
    expect(m.getWorkerById('w').status).toBe('error');
    expect(m.getWorkerById('w').error.message).toBe('first fails');
    expect(errors).toHaveLength(1);
    await m.clock.advance(100);
    expect(n).toBe(2);
    expect(m.getWorkerById('w').status).toBe('completed');
  });
});

describe('overlap', () => {
  /** An interval worker whose runs stay pending until the test settles them. */
  function pendingWorker(m, extra) {
    const runs = [];
    m.registerUnit({
      id: 'w',
      intervalMs: 100,
      runOnInterval: true,
      timeoutMs: 0,
      run: () => {
        const d = deferred();
        runs.push({ at: m.clock.now(), ...d });
        return d.promise;
      },
      ...extra,
    });
    return runs;
  }

  test("'skip' (the default): a scheduled time that finds the run in flight is skipped with a skipped event", async () => {
    const m = manual();
    const skipped = collect(m, 'skipped');
    const runs = pendingWorker(m, {});
    m.start();
    await m.clock.advance(100);
    expect(runs.map((r) => r.at)).toEqual([100]);
    await m.clock.advance(200);
    expect(runs.map((r) => r.at)).toEqual([100]);
    expect(skipped).toEqual([
      { type: 'skipped', unitId: 'w', reason: 'overlap' },
      { type: 'skipped', unitId: 'w', reason: 'overlap' },
    ]);
    runs[0].resolve('done');
    await m.clock.advance(50);
    expect(m.getWorkerById('w').status).toBe('completed');
    expect(runs).toHaveLength(1); // nothing runs right after a skip
    await m.clock.advance(50);
    expect(runs.map((r) => r.at)).toEqual([100, 400]);
    expect(skipped).toHaveLength(2);
  });

  test("explicit overlap: 'skip' behaves like the default", async () => {
    const m = manual();
    const skipped = collect(m, 'skipped');
    const runs = pendingWorker(m, { overlap: 'skip' });
    m.start();
    await m.clock.advance(200);
    expect(runs).toHaveLength(1);
    expect(skipped).toEqual([{ type: 'skipped', unitId: 'w', reason: 'overlap' }]);
  });

  test("'queue': one run right after the run in flight, however many times came meanwhile", async () => {
    const m = manual();
    const skipped = collect(m, 'skipped');
    const runs = pendingWorker(m, { overlap: 'queue' });
    m.start();
    await m.clock.advance(100);
    await m.clock.advance(250); // scheduled times 200 and 300 pass while run 1 is in flight
    expect(runs.map((r) => r.at)).toEqual([100]);
    runs[0].resolve();
    await m.clock.advance(0);
    expect(runs.map((r) => r.at)).toEqual([100, 350]); // the queued run, right after
    expect(m.getWorkerById('w').status).toBe('running');
    runs[1].resolve();
    await m.clock.advance(0);
    expect(runs).toHaveLength(2); // only one was queued
    expect(m.getWorkerById('w').status).toBe('completed');
    await m.clock.advance(50);
    expect(runs.map((r) => r.at)).toEqual([100, 350, 400]); // the cadence is unchanged
    runs[2].resolve();
    await m.clock.advance(0);
    expect(skipped).toEqual([]);
    expect(m.getWorkerById('w').meta.runCount).toBe(3);
  });

  test("'allow': runs start at every scheduled time, concurrently", async () => {
    const m = manual();
    const skipped = collect(m, 'skipped');
    const runs = pendingWorker(m, { overlap: 'allow' });
    m.start();
    await m.clock.advance(300);
    expect(runs.map((r) => r.at)).toEqual([100, 200, 300]);
    expect(m.getWorkerById('w').status).toBe('running');
    runs[1].resolve(2);
    await m.clock.advance(0);
    runs[0].resolve(1);
    runs[2].resolve(3);
    await m.clock.advance(0);
    expect(m.getWorkerById('w').meta.runCount).toBe(3);
    expect(m.getWorkerById('w').status).toBe('completed');
    expect(skipped).toEqual([]);
  });
});

describe('config changes apply from the next scheduled time', () => {
  test('intervalMs changed by updateWorkerConfig: the time already scheduled stays, then the new period', async () => {
    const m = manual();
    const times = [];
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => times.push(m.clock.now()) });
    m.start();
    await m.clock.advance(150);
    expect(times).toEqual([100]);
    await m.updateWorkerConfig('w', { intervalMs: 300 });
    expect(m.getWorkerById('w').intervalMs).toBe(300);
    await m.clock.advance(700);
    expect(times).toEqual([100, 200, 500, 800]);
  });

  test('disableWorker stops the runs; enableWorker starts them again one interval later', async () => {
    const m = manual();
    const times = [];
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => times.push(m.clock.now()) });
    m.start();
    await m.clock.advance(150);
    await m.disableWorker('w');
    await m.clock.advance(1000);
    expect(times).toEqual([100]);
    await m.enableWorker('w'); // at 1150
    await m.clock.advance(250);
    expect(times).toEqual([100, 1250, 1350]);
  });

  test('updateWorkerConfig({ enabled: false }) and runOnInterval: false also stop the schedule', async () => {
    const m = manual();
    const a = jest.fn();
    const b = jest.fn();
    m.registerUnit({ id: 'a', intervalMs: 100, runOnInterval: true, run: a });
    m.registerUnit({ id: 'b', intervalMs: 100, runOnInterval: true, run: b });
    m.start();
    await m.clock.advance(100);
    await m.updateWorkerConfig('a', { enabled: false });
    await m.updateWorkerConfig('b', { runOnInterval: false });
    await m.clock.advance(500);
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
  });

  test('a paused worker is not run; once idle again it runs at its next scheduled time', async () => {
    const m = manual();
    const times = [];
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => times.push(m.clock.now()) });
    m.start();
    await m.clock.advance(150);
    await m.updateStatus('w', 'paused');
    await m.clock.advance(300);
    expect(times).toEqual([100]);
    expect(m.getWorkerById('w').status).toBe('paused');
    await m.updateStatus('w', 'idle'); // at 450
    await m.clock.advance(150);
    expect(times).toEqual([100, 500, 600]);
  });

  test('a worker registered paused or disabled is not run by the scheduler', async () => {
    const m = manual();
    const a = jest.fn();
    const b = jest.fn();
    m.registerUnit({ id: 'a', intervalMs: 100, runOnInterval: true, status: 'paused', run: a });
    m.registerUnit({ id: 'b', intervalMs: 100, runOnInterval: true, enabled: false, run: b });
    m.start();
    await m.clock.advance(1000);
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
  });
});

describe('retry delays and timeouts', () => {
  test('a fixed retryDelayMs: attempts at 0, 250, 500', async () => {
    const m = manual();
    const at = [];
    const retries = collect(m, 'retry');
    m.registerUnit({
      id: 'w',
      maxRetries: 2,
      retryDelayMs: 250,
      run: async (ctx) => {
        at.push([ctx.attempt, m.clock.now()]);
        throw new Error(`attempt ${ctx.attempt}`);
      },
    });
    const done = m.runWorkerById('w');
    const doneState = track(done);
    await m.clock.advance(0);
    expect(at).toEqual([[1, 0]]);
    await m.clock.advance(249);
    expect(at).toEqual([[1, 0]]);
    expect(m.getWorkerById('w').status).toBe('running');
    await m.clock.advance(1);
    expect(at).toEqual([
      [1, 0],
      [2, 250],
    ]);
    await m.clock.advance(250);
    expect(at).toEqual([
      [1, 0],
      [2, 250],
      [3, 500],
    ]);
    await done;
    expect(doneState.settled).toBe(true);
    expect(m.getWorkerById('w').status).toBe('error');
    expect(m.getWorkerById('w').error.message).toBe('attempt 3');
    expect(retries.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 250],
      [2, 250],
    ]);
  });

  test('a retryDelayMs function is asked per retry: attempts at 0, 100, 300, 600', async () => {
    const m = manual();
    const at = [];
    const delay = jest.fn((n) => n * 100);
    m.registerUnit({
      id: 'w',
      maxRetries: 3,
      retryDelayMs: delay,
      run: async (ctx) => {
        at.push(m.clock.now());
        if (ctx.attempt < 4) throw new Error('again');
        return 'finally';
      },
    });
    const complete = collect(m, 'complete');
    const done = m.runWorkerById('w');
    await m.clock.advance(99);
    expect(at).toEqual([0]);
    await m.clock.advance(1);
    expect(at).toEqual([0, 100]);
    await m.clock.advance(199);
    expect(at).toEqual([0, 100]);
    await m.clock.advance(1);
    expect(at).toEqual([0, 100, 300]);
    await m.clock.advance(300);
    expect(at).toEqual([0, 100, 300, 600]);
    await done;
    expect(delay.mock.calls.map((c) => c[0])).toEqual([1, 2, 3]);
    expect(m.getWorkerById('w').status).toBe('completed');
    expect(complete).toHaveLength(1);
    expect(complete[0].result).toBe('finally');
  });

  test('timeoutMs 500: a never-settling run fails exactly when the clock passes 500, with its signal aborted', async () => {
    const m = manual();
    let signal;
    m.registerUnit({
      id: 'w',
      timeoutMs: 500,
      run: (ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    const done = m.runWorkerById('w');
    const doneState = track(done);
    await m.clock.advance(499);
    expect(m.getWorkerById('w').status).toBe('running');
    expect(signal.aborted).toBe(false);
    expect(doneState.settled).toBe(false);
    await m.clock.advance(1);
    expect(signal.aborted).toBe(true);
    const w = m.getWorkerById('w');
    expect(w.status).toBe('error');
    expect(w.error).toBeInstanceOf(SynchronikError);
    expect(w.error.code).toBe('ERR_TIMEOUT');
    expect(signal.reason).toBeInstanceOf(SynchronikError);
    expect(signal.reason.code).toBe('ERR_TIMEOUT');
    await done;
    expect(doneState.settled).toBe(true);
  });

  test('each attempt has its own timeout, and retries follow the timeouts on the clock', async () => {
    const m = manual();
    const at = [];
    m.registerUnit({
      id: 'w',
      timeoutMs: 100,
      maxRetries: 1,
      retryDelayMs: 50,
      run: (ctx) => {
        at.push([ctx.attempt, m.clock.now()]);
        return new Promise(() => {});
      },
    });
    const done = m.runWorkerById('w');
    await m.clock.advance(100);
    expect(at).toEqual([[1, 0]]);
    await m.clock.advance(50);
    expect(at).toEqual([
      [1, 0],
      [2, 150],
    ]);
    await m.clock.advance(99);
    expect(m.getWorkerById('w').status).toBe('running');
    await m.clock.advance(1);
    expect(m.getWorkerById('w').status).toBe('error');
    expect(m.getWorkerById('w').error.code).toBe('ERR_TIMEOUT');
    await done;
  });

  test('runUntilIdle fires retry delays in order and resolves when the run has ended', async () => {
    const m = manual();
    const at = [];
    m.registerUnit({
      id: 'w',
      maxRetries: 3,
      retryDelayMs: 1000,
      run: async () => {
        at.push(m.clock.now());
        if (at.length < 3) throw new Error('not yet');
        return 'ok';
      },
    });
    const done = m.runWorkerById('w');
    await m.clock.runUntilIdle();
    expect(at).toEqual([0, 1000, 2000]);
    expect(m.clock.now()).toBe(2000);
    expect(m.getWorkerById('w').status).toBe('completed');
    await done;
  });

  test('runUntilIdle on a started manager: runs end, recurring timers do not keep it going', async () => {
    const m = manual({ loopInterval: 100 });
    const tick = jest.fn();
    const at = [];
    m.registerUnit({ id: 'tick', intervalMs: 100, runOnInterval: true, run: tick });
    m.registerUnit({
      id: 'w',
      maxRetries: 2,
      retryDelayMs: (n) => n * 300,
      run: async () => {
        at.push(m.clock.now());
        throw new Error('always');
      },
    });
    m.registerUnit({ id: 'slow', timeoutMs: 1500, run: () => new Promise(() => {}) });
    m.start();
    void m.runWorkerById('w');
    void m.runWorkerById('slow');
    await m.clock.runUntilIdle();
    expect(at).toEqual([0, 300, 900]);
    expect(m.getWorkerById('w').status).toBe('error');
    expect(m.getWorkerById('slow').status).toBe('error');
    expect(m.getWorkerById('slow').error.code).toBe('ERR_TIMEOUT');
    expect(m.clock.now()).toBe(1500);
    expect(tick).toHaveBeenCalledTimes(15); // the interval fired on the way, at 100..1500
    // Nothing left in flight: another call returns without moving time.
    await m.clock.runUntilIdle();
    expect(m.clock.now()).toBe(1500);
  });
});

describe('process runs', () => {
  test('isolated: the second worker starts when the clock reaches isolationDelayMs', async () => {
    const m = manual();
    const at = {};
    const worker = (id) => ({
      id,
      run: async () => {
        at[id] = m.clock.now();
        return id;
      },
    });
    m.registerUnit({ id: 'p', runMode: 'isolated', isolationDelayMs: 100, workers: [worker('a'), worker('b')] });
    const done = m.runProcessById('p');
    const doneState = track(done);
    await m.clock.advance(0);
    expect(at).toEqual({ a: 0 });
    await m.clock.advance(99);
    expect(at).toEqual({ a: 0 });
    expect(m.getWorkerById('b').status).toBe('idle');
    await m.clock.advance(1);
    expect(at).toEqual({ a: 0, b: 100 });
    await m.clock.runUntilIdle();
    await done;
    expect(doneState.settled).toBe(true);
    expect(m.getProcessById('p').status).toBe('completed');
  });

  test('the sweep runs an idle enabled process one loopInterval after start, and only once', async () => {
    const m = manual({ loopInterval: 1000 });
    const at = [];
    const ms = milestones(m);
    m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => at.push(m.clock.now()) }] });
    m.registerUnit({ id: 'off', enabled: false, workers: [{ id: 'b', run: () => at.push('off') }] });
    m.start();
    await m.clock.advance(999);
    expect(at).toEqual([]);
    expect(m.getProcessById('p').status).toBe('idle');
    await m.clock.advance(1);
    expect(at).toEqual([1000]);
    expect(m.getProcessById('p').status).toBe('completed');
    expect(ms.map((x) => x.id)).toEqual(['unit:p:running', 'unit:p:completed']);
    await m.clock.advance(5000);
    expect(at).toEqual([1000]);
    expect(m.getProcessById('off').status).toBe('idle');
  });

  test('runLoopOnce runs due interval workers and idle processes now, and resolves when they end', async () => {
    const m = manual();
    const at = [];
    m.registerUnit({
      id: 'w',
      intervalMs: 100,
      runOnInterval: true,
      retryDelayMs: 40,
      maxRetries: 1,
      run: async () => {
        at.push(['w', m.clock.now()]);
        if (at.length === 1) throw new Error('retry me');
      },
    });
    m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => at.push(['a', m.clock.now()]) }] });
    const loop = m.runLoopOnce();
    const doneState = track(loop);
    await m.clock.advance(0);
    expect(doneState.settled).toBe(false); // the worker waits for its retry
    await m.clock.advance(40);
    await loop;
    expect(at).toEqual([
      ['w', 0],
      ['a', 0],
      ['w', 40],
    ]);
    expect(m.getProcessById('p').status).toBe('completed');
    // The worker ran at 0: it is not due again before 100.
    await m.clock.advance(59);
    await m.runLoopOnce();
    expect(at).toHaveLength(3);
    await m.clock.advance(1);
    await m.runLoopOnce();
    expect(at).toEqual([
      ['w', 0],
      ['a', 0],
      ['w', 40],
      ['w', 100],
    ]);
  });
});

describe('stop under the manual clock', () => {
  test('stop({ timeoutMs }) resolves when the clock reaches the deadline, aborting the run with ERR_STOPPED', async () => {
    const m = manual();
    let signal;
    m.registerUnit({
      id: 'w',
      timeoutMs: 0,
      intervalMs: 100,
      runOnInterval: true,
      run: (ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    m.start();
    await m.clock.advance(100);
    expect(m.getWorkerById('w').status).toBe('running');
    const stopped = m.stop({ timeoutMs: 200 });
    const stoppedState = track(stopped);
    await m.clock.advance(199);
    expect(stoppedState.settled).toBe(false);
    expect(signal.aborted).toBe(false);
    await m.clock.advance(1);
    await stopped;
    expect(signal.aborted).toBe(true);
    const w = m.getWorkerById('w');
    expect(w.status).toBe('error');
    expect(w.error).toBeInstanceOf(SynchronikError);
    expect(w.error.code).toBe('ERR_STOPPED');
    expect(m.clock.now()).toBe(300);
  });

  test('stop() without timeout resolves when the run in flight settles, and nothing runs afterwards', async () => {
    const m = manual();
    const runs = [];
    m.registerUnit({
      id: 'w',
      timeoutMs: 0,
      intervalMs: 100,
      runOnInterval: true,
      run: () => {
        const d = deferred();
        runs.push(d);
        return d.promise;
      },
    });
    m.start();
    await m.clock.advance(100);
    const stopped = m.stop();
    const stoppedState = track(stopped);
    await m.clock.advance(10000);
    expect(stoppedState.settled).toBe(false);
    expect(runs).toHaveLength(1);
    runs[0].resolve('late');
    await stopped;
    expect(m.getWorkerById('w').status).toBe('completed');
    await m.clock.advance(10000);
    expect(runs).toHaveLength(1);
  });

  test('start after stop resumes the schedule from the new start', async () => {
    const m = manual();
    const times = [];
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => times.push(m.clock.now()) });
    m.start();
    await m.clock.advance(250);
    await m.stop();
    await m.clock.advance(1000);
    expect(times).toEqual([100, 200]);
    m.start(); // at 1250
    await m.clock.advance(200);
    expect(times).toEqual([100, 200, 1350, 1450]);
  });
});

describe('watcher', () => {
  test('stallThresholdMs: a run with no progress gets one stalled event when the clock passes the threshold', async () => {
    const m = manual({ stallThresholdMs: 100 });
    const stalled = collect(m, 'stalled');
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    m.start();
    void m.runWorkerById('quiet');
    await m.clock.advance(99);
    expect(stalled).toEqual([]);
    await m.clock.advance(1);
    expect(stalled).toEqual([{ type: 'stalled', unitId: 'quiet', runningForMs: 100 }]);
    await m.clock.advance(1000);
    expect(stalled).toHaveLength(1); // reported once until it shows a sign of life
  });

  test('a run that calls ctx.progress() regularly is not reported; once it goes quiet it is', async () => {
    const m = manual({ stallThresholdMs: 100 });
    const stalled = collect(m, 'stalled');
    let ctx;
    m.registerUnit({
      id: 'busy',
      timeoutMs: 0,
      run: (c) => {
        ctx = c;
        return new Promise(() => {});
      },
    });
    m.start();
    void m.runWorkerById('busy');
    for (let i = 1; i <= 20; i++) {
      await m.clock.advance(50);
      ctx.progress(i / 20, `step ${i}`);
    }
    expect(m.clock.now()).toBe(1000);
    expect(stalled).toEqual([]);
    await m.clock.advance(99);
    expect(stalled).toEqual([]);
    await m.clock.advance(1);
    expect(stalled).toEqual([{ type: 'stalled', unitId: 'busy', runningForMs: 1100 }]);
  });

  test('without start(), runWatcherScan() does one scan now', async () => {
    const m = manual({ stallThresholdMs: 100 });
    const stalled = collect(m, 'stalled');
    m.registerUnit({ id: 'quiet', timeoutMs: 0, run: () => new Promise(() => {}) });
    void m.runWorkerById('quiet');
    await m.clock.advance(500);
    expect(stalled).toEqual([]); // no watcher before start
    m.runWatcherScan();
    expect(stalled).toEqual([{ type: 'stalled', unitId: 'quiet', runningForMs: 500 }]);
  });

  test('autoUnpauseMs: a paused unit is un-paused once paused that long', async () => {
    const m = manual({ autoUnpauseMs: 500, watcherInterval: 100 });
    const ms = milestones(m);
    const updated = collect(m, 'updated');
    m.registerUnit({ id: 'w', status: 'paused', run: () => {} });
    m.registerUnit({ id: 'other', run: () => {} });
    m.start();
    await m.clock.advance(499);
    expect(m.getUnitStatus('w')).toBe('paused');
    expect(ms).toEqual([]);
    await m.clock.advance(1);
    expect(m.getUnitStatus('w')).toBe('idle');
    expect(m.getWorkerById('w').status).toBe('idle');
    expect(ms).toEqual([{ id: 'worker:w:unpaused', payload: {} }]);
    expect(updated.map((e) => [e.unitId, e.payload.previous, e.payload.current])).toEqual([['w', 'paused', 'idle']]);
    // Paused again by hand at 500: un-paused 500 ms later.
    await m.updateStatus('w', 'paused');
    await m.clock.advance(400);
    expect(m.getUnitStatus('w')).toBe('paused');
    await m.clock.advance(100);
    expect(m.getUnitStatus('w')).toBe('idle');
    expect(ms.map((x) => x.id)).toEqual(['worker:w:unpaused', 'worker:w:unpaused']);
  });

  test('releaseIdleAfterMs: idle units are released with their milestones; busy and finished ones stay', async () => {
    const m = manual({ releaseIdleAfterMs: 1000, watcherInterval: 100 });
    const ms = milestones(m);
    m.registerUnit({ id: 'idle', run: () => {} });
    m.registerUnit({ id: 'busy', timeoutMs: 0, run: () => new Promise(() => {}) });
    m.registerUnit({ id: 'done', run: () => 'x' });
    await m.runWorkerById('done');
    void m.runWorkerById('busy');
    m.start();
    await m.clock.advance(999);
    expect(m.getUnitById('idle')).toEqual(expect.objectContaining({ id: 'idle', status: 'idle' }));
    expect(ms).toEqual([]);
    await m.clock.advance(1);
    expect(m.getUnitById('idle')).toBeUndefined();
    expect(m.listUnits().map((u) => u.id)).toEqual(['busy', 'done']);
    expect(ms).toEqual([
      { id: 'unit:idle:released', payload: {} },
      { id: 'worker:idle:released', payload: { idleTime: 1000 } },
    ]);
  });

  test('without releaseIdleAfterMs nothing is released, however long units stay idle', async () => {
    const m = manual({ watcherInterval: 100 });
    const ms = milestones(m);
    m.registerUnit({ id: 'w', run: () => {} });
    m.registerUnit({ id: 'p', enabled: false, workers: [{ id: 'a', run: () => {} }] });
    m.start();
    await m.clock.advance(3600 * 1000); // an hour of scans
    expect(m.listUnits().map((u) => u.id)).toEqual(['w', 'p', 'a']);
    expect(ms).toEqual([]);
  });

  test('statsEmissionIntervalMs: an engine:stats milestone with getEngineStats() every interval', async () => {
    const m = manual({ statsEmissionIntervalMs: 1000 });
    const ms = milestones(m);
    m.registerUnit({ id: 'w', run: () => {} });
    m.start();
    await m.clock.advance(999);
    expect(ms).toEqual([]);
    await m.clock.advance(1);
    expect(ms).toHaveLength(1);
    expect(ms[0].id).toBe('engine:stats');
    const stats = ms[0].payload;
    expect(stats.memory.rss).toMatch(/^\d+\.\d\d MB$/);
    expect(stats.cpu).toMatch(/^\d+\.\d\d%$/);
    expect(stats.engine).toEqual(expect.objectContaining({ units: 1, running: 0 }));
    await m.clock.advance(2000);
    expect(ms.map((x) => x.id)).toEqual(['engine:stats', 'engine:stats', 'engine:stats']);
    await m.stop();
    await m.clock.advance(5000);
    expect(ms).toHaveLength(3);
  });
});

describe('far times', () => {
  test('a retry delay of 1e15 ms reached by advance(1e16) is a retry, not a false timeout', async () => {
    const m = manual();
    const errors = collect(m, 'error');
    const retries = collect(m, 'retry');
    let attempts = 0;
    const w = {
      id: 'slow-retry',
      maxRetries: 1,
      retryDelayMs: 1e15,
      run: () => {
        attempts++;
        if (attempts === 1) throw new Error('first attempt fails');
        return 'second';
      },
    };
    m.registerUnit(w);
    const done = m.runWorkerById('slow-retry');
    await m.clock.advance(1e15 - 1);
    expect(attempts).toBe(1);
    await m.clock.advance(1e16 - (1e15 - 1));
    await done;
    expect(attempts).toBe(2);
    expect(retries).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(w.status).toBe('completed');
    expect(m.clock.now()).toBe(1e16);
  });

  test('timeouts are exact to the millisecond beyond 2^53 ms and past 64 bits of nanoseconds', async () => {
    const m = manual();
    await m.clock.advance(1e16);
    const errors = collect(m, 'error');
    m.registerUnit({ id: 'stuck', timeoutMs: 5000, run: () => new Promise(() => {}) });
    const done = m.runWorkerById('stuck');
    await m.clock.advance(4999);
    expect(errors).toEqual([]);
    await m.clock.advance(1);
    await done;
    expect(errors).toHaveLength(1);
    expect(errors[0].error).toBeInstanceOf(SynchronikError);
    expect(errors[0].error.code).toBe('ERR_TIMEOUT');
  });

  test('interval fires keep their cadence far out', async () => {
    const m = manual();
    await m.clock.advance(3e15);
    let runs = 0;
    m.registerUnit({ id: 'tick', intervalMs: 1000, runOnInterval: true, run: () => void runs++ });
    m.start();
    await m.clock.advance(999);
    expect(runs).toBe(0);
    await m.clock.advance(1);
    expect(runs).toBe(1);
    await m.clock.advance(5000);
    expect(runs).toBe(6);
  });

  test('a delay too long for any clock never comes, and runUntilIdle does not wait for it', async () => {
    const m = manual();
    const errors = collect(m, 'error');
    let attempts = 0;
    m.registerUnit({
      id: 'never-again',
      maxRetries: 1,
      retryDelayMs: Number.MAX_VALUE,
      run: () => {
        attempts++;
        throw new Error('fails');
      },
    });
    m.runWorkerById('never-again');
    await m.clock.runUntilIdle();
    await m.clock.advance(1e29);
    expect(attempts).toBe(1);
    expect(errors).toEqual([]);
    expect(m.getUnitStatus('never-again')).toBe('running');
  });

  test('advancing past the clock limit of 1e30 ms is a TypeError naming ms; the clock does not move', async () => {
    const m = manual();
    await m.clock.advance(5);
    for (const ms of [1e31, Number.MAX_VALUE]) {
      await expect(m.clock.advance(ms)).rejects.toThrow(TypeError);
    }
    await expect(m.clock.advance(1e300)).rejects.toThrow(/^clock\.advance: ms must be a number of milliseconds that keeps the clock at or below 1e\+30 ms \(it is at 5 ms\) \(got 1e\+300\)$/);
    expect(m.clock.now()).toBe(5);
    await m.clock.advance(9e29);
    expect(m.clock.now()).toBe(9e29);
    await expect(m.clock.advance(2e29)).rejects.toThrow(TypeError);
    expect(m.clock.now()).toBe(9e29);
  });
});
