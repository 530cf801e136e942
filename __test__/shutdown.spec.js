'use strict';

// What must settle when a manager stops or closes, and the lifecycle rules
// around it: close() refuses every call afterwards, stop() drops queued
// in-memory pool tasks, stop() from inside a run, re-registering an id
// whose run is in flight, overlapping manual runs, pool workers that only
// resize may remove, and what a stopped manager leaves behind (threads,
// handles). Exit behaviour is checked in child processes.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager, runWorkerTasks, SynchronikError } = require('..');
const { runNode, errorOf, deferred, turn, until, settle, track } = require('./helpers');

const managers = [];
function create(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) {
    // stop() on a closed manager only waits for its close to end.
    await managers.pop().stop({ timeoutMs: 0 });
  }
});

/**
 * How a promise ended: { ok, value } or { ok: false, error }. A promise
 * that should have settled but is still pending after `ms` of real time
 * gives 'pending' (a failure that names itself, instead of Jest's timeout);
 * the bound is never waited for when the promise settles.
 */
function outcome(promise, ms = 2000) {
  let timer;
  const bound = new Promise((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  return Promise.race([
    promise.then(
      (value) => ({ ok: true, value }),
      (error) => ({ ok: false, error }),
    ),
    bound,
  ]).finally(() => clearTimeout(timer));
}

/** Runs a CommonJS snippet in a child process; its last stdout line is JSON. */
async function child(source, timeoutMs = 10000) {
  const r = await runNode(['-e', source], { timeoutMs });
  const lines = r.stdout.trim().split('\n');
  let out;
  try {
    out = JSON.parse(lines[lines.length - 1]);
  } catch {
    out = undefined;
  }
  return { ...r, out };
}

const explain = (r) => `code ${r.code}, timedOut ${r.timedOut}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

describe('close()', () => {
  test('settles every pool promise: the running task finishes, queued ones reject with ERR_CLOSED', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    const gate = deferred();
    const running = pool.run(() => gate.promise.then(() => 'done'));
    // Still waiting for the microtask that hands it to the engine.
    const queued = pool.run(() => 'never');
    const named = pool.addTask({ name: 'later', execute: () => 'never' });
    const idle = pool.onIdle();
    const closed = m.close();
    gate.resolve();
    await closed;
    expect(await outcome(running)).toEqual({ ok: true, value: 'done' });
    const q = await outcome(queued);
    expect(q.ok).toBe(false);
    expect(q.error).toBeInstanceOf(SynchronikError);
    expect(q.error.code).toBe('ERR_CLOSED');
    expect(named.status).toBe('cancelled');
    expect(named.error.code).toBe('ERR_CLOSED');
    expect(await outcome(idle)).toEqual({ ok: true, value: undefined });
  });

  test('afterwards every call but the lookups refuses with ERR_CLOSED: sync ones throw, async ones reject', async () => {
    const m = create();
    const w = m.registerUnit({ id: 'w', run: () => 1 });
    const pool = m.useWorkerPool(1);
    await m.runWorkerById('w');
    await m.close();
    const sync = [
      () => m.start(),
      () => m.registerUnit({ id: 'x', run: () => 1 }),
      () => m.releaseUnit('w'),
      () => m.startAll(),
      () => m.stopAll(),
      () => m.runWatcherScan(),
      () => m.useWorkerPool(1),
      () => m.emitMilestone('m'),
      () => pool.addTask({ name: 'a', execute: () => 1 }),
      () => pool.start(),
      () => pool.stop(),
      () => pool.resize(2),
      () => pool.pauseTask('a'),
      () => pool.handle('h', () => 1),
    ];
    for (const call of sync) {
      let thrown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SynchronikError);
      expect(thrown.code).toBe('ERR_CLOSED');
    }
    const async = [
      () => m.runWorkerById('w'),
      () => m.runProcessById('w'),
      () => m.runUnitById('w'),
      () => m.runLoopOnce(),
      () => m.updateStatus('w', 'paused'),
      () => m.enableWorker('w'),
      () => m.updateWorkerConfig('w', { maxRetries: 1 }),
      () => m.flush(),
      () => m.history(),
      () => pool.run(() => 1),
      () => pool.onIdle(),
    ];
    for (const call of async) {
      const result = call();
      expect(result).toBeInstanceOf(Promise);
      const e = await errorOf(() => result);
      expect(e).toBeInstanceOf(SynchronikError);
      expect(e.code).toBe('ERR_CLOSED');
      expect(e.message).toMatch(/: the manager is closed/);
    }
    expect(w.meta.runCount).toBe(1);
    // Lookups answer from the last state.
    expect(m.getWorkerById('w')).toBe(w);
    expect(m.getUnitStatus('w')).toBe('completed');
    expect(m.listWorkers().map((u) => u.id)).toContain('w');
    expect(m.getRegistrySnapshot().length).toBeGreaterThan(0);
    expect(pool.simulateRun()).toBe('No tasks pending for execution.');
    // close() again is the same promise; stop() has nothing left to do.
    expect(m.close()).toBe(m.close());
    await expect(m.close()).resolves.toBeUndefined();
    await expect(m.stop()).resolves.toBeUndefined();
  });

  test('with the SQLite store, a durable addTask after close() throws and stores nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-close-'));
    const file = path.join(dir, 'state.db');
    try {
      const a = createSynchronikManager({ storage: { sqlite: file } });
      const pool = a.useWorkerPool(1, { name: 'mail' });
      await a.close();
      const e = await errorOf(() => pool.addTask({ name: 'late', handler: 'send', payload: { to: 'x' } }));
      expect(e.code).toBe('ERR_CLOSED');
      const b = createSynchronikManager({ storage: { sqlite: file } });
      expect(b.useWorkerPool(1, { name: 'mail' }).simulateRun()).toBe('No tasks pending for execution.');
      await b.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a program that closes with queued tasks ends by itself with every promise settled', async () => {
    const r = await child(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      const pool = m.useWorkerPool(1);
      m.start();
      const results = [];
      const track = (p) => p.then((v) => results.push('ok:' + v), (e) => results.push('err:' + e.code));
      // A task that takes real time: it is running when the program ends its manager.
      track(pool.run(() => new Promise((r) => setTimeout(() => r('a'), 30))));
      track(pool.run(() => 'b'));
      track(pool.run(() => 'c'));
      m.close().then(() => track(pool.run(() => 'd')));
      process.on('exit', () => console.log(JSON.stringify(results.sort())));
    `);
    expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
    expect(r.out).toEqual(['err:ERR_CLOSED', 'err:ERR_CLOSED', 'err:ERR_CLOSED', 'ok:a']);
  });
});

describe('stop() and queued pool tasks', () => {
  test('queued in-memory tasks are dropped: pool.run rejects with ERR_STOPPED, named tasks end cancelled; onIdle resolves', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    const events = [];
    m.on('task', (e) => events.push(`${e.name}:${e.status}${e.error ? `:${e.error.code}` : ''}`));
    m.start();
    const gate = deferred();
    const running = pool.run(() => gate.promise.then(() => 'done'));
    const queued = pool.run(() => 'never');
    const named = pool.addTask({ name: 'named', execute: () => 'never' });
    const idle = pool.onIdle();
    const stopped = m.stop();
    const q = await outcome(queued);
    expect(q.ok).toBe(false);
    expect(q.error).toBeInstanceOf(SynchronikError);
    expect(q.error.code).toBe('ERR_STOPPED');
    expect(named.status).toBe('cancelled');
    expect(named.error.code).toBe('ERR_STOPPED');
    expect(events).toContain('named:cancelled:ERR_STOPPED');
    gate.resolve();
    await stopped;
    expect(await outcome(running)).toEqual({ ok: true, value: 'done' });
    expect(await outcome(idle)).toEqual({ ok: true, value: undefined });
    // Tasks added while stopped wait for the next start, as before the first.
    const later = pool.run(() => 'later');
    m.start();
    expect(await outcome(later)).toEqual({ ok: true, value: 'later' });
  });

  test('stored tasks stay queued (and stored); an onIdle waiting for them is told the manager stopped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-stop-'));
    const file = path.join(dir, 'state.db');
    try {
      const a = createSynchronikManager({ storage: { sqlite: file } });
      const pool = a.useWorkerPool(1, { name: 'mail' });
      const task = pool.addTask({ name: 'welcome', handler: 'send', payload: { to: 'ada' } });
      a.start(); // no handler yet: the task waits
      const idle = pool.onIdle();
      await a.stop();
      const o = await outcome(idle);
      expect(o.ok).toBe(false);
      expect(o.error.code).toBe('ERR_STOPPED');
      expect(task.status).not.toBe('cancelled');
      expect(pool.simulateRun()).toBe('Execution sequence: 1. welcome');
      await a.close();
      const b = createSynchronikManager({ storage: { sqlite: file } });
      expect(b.useWorkerPool(1, { name: 'mail' }).simulateRun()).toBe('Execution sequence: 1. welcome');
      await b.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a program that stops with queued tasks ends by itself, every promise settled', async () => {
    const r = await child(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      const pool = m.useWorkerPool(1);
      m.start();
      const results = [];
      const track = (p) => p.then((v) => results.push('ok:' + v), (e) => results.push('err:' + e.code));
      // A task that takes real time: it is running when the program ends its manager.
      track(pool.run(() => new Promise((r) => setTimeout(() => r('a'), 30))));
      track(pool.run(() => 'b'));
      track(pool.onIdle().then(() => 'idle'));
      m.stop();
      process.on('exit', () => console.log(JSON.stringify(results.sort())));
    `);
    expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
    expect(r.out).toEqual(['err:ERR_STOPPED', 'ok:a', 'ok:idle']);
  });
});

describe('stop() called from inside a run', () => {
  test('does not wait for the run that called it', async () => {
    const m = create();
    let stopResolved = false;
    m.registerUnit({
      id: 'self-stopper',
      run: async () => {
        await m.stop();
        stopResolved = true;
        return 'after stop';
      },
    });
    m.start();
    const run = m.runWorkerById('self-stopper');
    expect(await outcome(run)).toEqual({ ok: true, value: undefined });
    expect(stopResolved).toBe(true);
    expect(m.getWorkerById('self-stopper').status).toBe('completed');
  });

  test('still waits for the other runs in flight', async () => {
    const m = create();
    const gate = deferred();
    let stopResolvedBeforeOther;
    m.registerUnit({ id: 'other', run: () => gate.promise });
    m.registerUnit({
      id: 'stopper',
      run: async () => {
        await m.stop();
        stopResolvedBeforeOther = m.getUnitStatus('other') === 'running';
      },
    });
    const other = m.runWorkerById('other');
    const stopper = m.runWorkerById('stopper');
    await settle();
    expect(m.getUnitStatus('stopper')).toBe('running');
    expect(m.getUnitStatus('other')).toBe('running');
    gate.resolve();
    expect(await outcome(Promise.all([other, stopper]))).toEqual({ ok: true, value: [undefined, undefined] });
    expect(stopResolvedBeforeOther).toBe(false);
  });

  test('from a worker of a process run, and from a pool task', async () => {
    const m = create();
    m.registerUnit({
      id: 'p',
      workers: [
        { id: 'first', run: () => 1 },
        { id: 'stops', run: async () => { await m.stop(); } },
        { id: 'last', run: () => 3 },
      ],
    });
    expect(await outcome(m.runProcessById('p'))).toEqual({ ok: true, value: undefined });
    expect(m.getUnitStatus('last')).toBe('completed');

    const pool = m.useWorkerPool(1);
    m.start();
    const task = pool.run(async () => {
      await m.stop();
      return 'stopped from a task';
    });
    expect(await outcome(task)).toEqual({ ok: true, value: 'stopped from a task' });
  });
});

describe('a stop() that keeps waiting', () => {
  // The warning comes from a real-time timer (not an engine timer, which
  // the manual clock would move): this test waits its 10 s.
  test('is not silent: after 10 s a process warning names the runs it waits for', async () => {
    const m = create();
    let unblock;
    m.registerUnit({
      id: 'awaits-stop-late',
      timeoutMs: 0,
      run: async () => {
        await turn();
        // After another await: this stop waits for this very run.
        await new Promise((resolve) => {
          unblock = resolve;
          void m.stop().then(resolve);
        });
      },
    });
    let warned;
    const waitedFor = new Promise((resolve) => (warned = resolve));
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation((message, options) => warned({ message, options }));
    try {
      const run = m.runWorkerById('awaits-stop-late');
      const { message, options } = await waitedFor;
      expect(options.code).toBe('SYNCHRONIK_STOP_WAITING');
      expect(message).toContain('"awaits-stop-late"');
      expect(message).toContain('stop({ timeoutMs })');
      unblock();
      await run;
    } finally {
      emitWarning.mockRestore();
    }
    expect(m.getUnitStatus('awaits-stop-late')).toBe('completed');
  }, 20000);
});

describe('re-registering an id while its run is in flight', () => {
  test('the replaced object ends in error (ERR_RELEASED); the new object is registered idle and runs', async () => {
    const m = create();
    const gate = deferred();
    let aborted;
    const old = m.registerUnit({
      id: 'w',
      run: (ctx) => {
        ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason.code));
        return gate.promise;
      },
    });
    const oldRun = m.runWorkerById('w');
    expect(old.status).toBe('running');
    const fresh = m.registerUnit({ id: 'w', run: () => 'fresh' });
    expect(old.status).toBe('error');
    expect(old.error).toBeInstanceOf(SynchronikError);
    expect(old.error.code).toBe('ERR_RELEASED');
    expect(aborted).toBe('ERR_RELEASED');
    expect(await outcome(oldRun)).toEqual({ ok: true, value: undefined });
    expect(fresh.status).toBe('idle');
    expect(m.getWorkerById('w')).toBe(fresh);
    gate.resolve('late'); // the old run settling now changes nothing
    await m.runWorkerById('w');
    expect(fresh.status).toBe('completed');
    expect(fresh.meta.runCount).toBe(1);
    expect(old.status).toBe('error');
  });

  test('a process re-registered while it runs: its run rejects with ERR_RELEASED, the new one runs', async () => {
    const m = create();
    const gate = deferred();
    const old = m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => gate.promise }] });
    const run = m.runProcessById('p');
    const fresh = m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => 'new' }] });
    const o = await outcome(run);
    expect(o.ok).toBe(false);
    expect(o.error.code).toBe('ERR_RELEASED');
    expect(old.status).toBe('error');
    expect(old.workers[0].status).toBe('error');
    await m.runProcessById('p');
    expect(fresh.status).toBe('completed');
    expect(fresh.workers[0].status).toBe('completed');
    gate.resolve();
  });
});

describe('pool.onIdle()', () => {
  test('a `task` listener that adds a follow-up on completion keeps the pool busy until the follow-up ends', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    const gate = deferred();
    let followUpDone = false;
    let followUp;
    m.on('task', (e) => {
      if (e.status === 'completed' && e.name === 'a') {
        followUp = pool.addTask({ name: 'b', execute: () => gate.promise.then(() => { followUpDone = true; }) });
      }
    });
    pool.addTask({ name: 'a', execute: () => 'a' });
    m.start();
    const idle = pool.onIdle();
    const idleState = track(idle);
    await until(() => followUp !== undefined && followUp.status === 'running', 200, "the follow-up task 'b' to run");
    await settle();
    expect(idleState.settled).toBe(false);
    expect(followUpDone).toBe(false);
    gate.resolve();
    expect(await outcome(idle)).toEqual({ ok: true, value: undefined });
    expect(followUpDone).toBe(true);
  });
});

describe('pool workers', () => {
  test('resize(0) is refused like useWorkerPool(0), and the pool keeps its workers', async () => {
    const m = create();
    const pool = m.useWorkerPool(2);
    expect(() => pool.resize(0)).toThrow(new TypeError('resize: size must be a positive integer no greater than 10000 (got 0)'));
    expect(() => m.useWorkerPool(0)).toThrow(TypeError);
    expect(pool.getPoolWorkers()).toHaveLength(2);
    m.start();
    expect(await outcome(pool.run(() => 'ran'))).toEqual({ ok: true, value: 'ran' });
  });

  test('releaseUnit of a pool worker is refused (use resize); the task it runs and later ones settle', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    const gate = deferred();
    const first = pool.run(() => gate.promise.then(() => 1));
    await until(() => m.getWorkerById('pool-worker-1').status === 'running', 200, 'the first task to run');
    const e = await errorOf(() => m.releaseUnit('pool-worker-1'));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(
      'releaseUnit: id must not name a worker of a pool; remove pool workers with pool.resize() (got "pool-worker-1", a worker of pool "default")',
    );
    expect(m.getWorkerById('pool-worker-1')).toBeDefined();
    gate.resolve();
    const second = pool.run(() => 2);
    expect(await outcome(Promise.all([first, second]))).toEqual({ ok: true, value: [1, 2] });
    expect(await outcome(pool.onIdle())).toEqual({ ok: true, value: undefined });
  });

  test('the watcher does not release idle pool workers (releaseIdleAfterMs)', async () => {
    const m = create({ clock: 'manual', releaseIdleAfterMs: 100, watcherInterval: 50 });
    m.registerUnit({ id: 'plain', run: () => 1 });
    const pool = m.useWorkerPool(1);
    m.start();
    await m.clock.advance(500);
    expect(m.getUnitById('plain')).toBeUndefined();
    expect(m.getWorkerById('pool-worker-1')).toBeDefined();
    expect(await outcome(pool.run(() => 'still works'))).toEqual({ ok: true, value: 'still works' });
  });
});

describe('overlapping manual runs', () => {
  test('runProcessById while the process runs joins the run in flight: one run, the same outcome', async () => {
    const m = create();
    const events = [];
    m.on('updated', (e) => events.push(`${e.unitId}:${e.payload.previous}>${e.payload.current}`));
    const gate = deferred();
    const runs = [];
    m.registerUnit({ id: 'p', runMode: 'parallel', workers: [{ id: 'a', run: () => { runs.push('a'); return gate.promise; } }] });
    const first = m.runProcessById('p');
    const second = m.runProcessById('p');
    gate.resolve();
    expect(await outcome(Promise.all([first, second]))).toEqual({ ok: true, value: [undefined, undefined] });
    expect(runs).toEqual(['a']);
    expect(events.filter((e) => e === 'a:running>running')).toEqual([]);
    expect(m.getProcessById('p').meta.runCount).toBe(1);

    // A failing run: both calls reject with the same error.
    const failing = deferred();
    m.registerUnit({ id: 'q', workers: [{ id: 'b', run: () => failing.promise }] });
    const r1 = m.runProcessById('q');
    const r2 = m.runProcessById('q');
    failing.reject(new Error('nope'));
    const [o1, o2] = await Promise.all([outcome(r1), outcome(r2)]);
    expect(o1.ok).toBe(false);
    expect(o1.error.code).toBe('ERR_WORKER_FAILED');
    expect(o2.error.code).toBe('ERR_WORKER_FAILED');
    expect(o2.error.message).toBe(o1.error.message);
  });

  test("runWorkerById of a running worker follows its overlap: 'skip' joins, 'queue' runs once after, 'allow' runs alongside", async () => {
    const m = create();
    const make = (id, overlap) => {
      const state = { started: 0, active: 0, maxActive: 0, gates: [] };
      m.registerUnit({
        id,
        overlap,
        run: () => {
          state.started += 1;
          state.active += 1;
          state.maxActive = Math.max(state.maxActive, state.active);
          const gate = deferred();
          state.gates.push(gate);
          return gate.promise.finally(() => (state.active -= 1));
        },
      });
      return state;
    };
    /** Ends the runs in flight one by one, letting a queued run start after each. */
    const release = async (state) => {
      for (let k = 0; k < 10 && state.gates.length > 0; k++) {
        state.gates.shift().resolve();
        await settle();
      }
    };

    const skip = make('skip', undefined); // the default
    const s = [m.runWorkerById('skip'), m.runWorkerById('skip'), m.runWorkerById('skip')];
    await release(skip);
    await Promise.all(s);
    expect({ started: skip.started, maxActive: skip.maxActive }).toEqual({ started: 1, maxActive: 1 });

    const queue = make('queue', 'queue');
    const q = [m.runWorkerById('queue'), m.runWorkerById('queue'), m.runWorkerById('queue')];
    await settle();
    expect(queue.started).toBe(1);
    await release(queue);
    await Promise.all(q);
    expect({ started: queue.started, maxActive: queue.maxActive }).toEqual({ started: 2, maxActive: 1 });

    const allow = make('allow', 'allow');
    const a = [m.runWorkerById('allow'), m.runWorkerById('allow')];
    await settle();
    expect(allow.maxActive).toBe(2);
    await release(allow);
    await Promise.all(a);
    expect(allow.started).toBe(2);
  });
});

describe('what a finished manager leaves behind', () => {
  // Threads are counted in /proc: where there is none the test is reported as skipped, not passed.
  const withProc = fs.existsSync('/proc/self/task') ? test : test.skip;
  withProc('runWorkerTasks closes its private manager: 200 calls leave no extra threads', async () => {
    const threads = () => fs.readdirSync('/proc/self/task').length;
    await runWorkerTasks({ items: [1], execute: (x) => x });
    const before = threads();
    for (let k = 0; k < 200; k++) {
      const r = await runWorkerTasks({ items: [1, 2], execute: (x) => x * 2 });
      expect(r.successful).toHaveLength(2);
    }
    // A few threads may come and go on their own (libuv, the GC); 200
    // engine threads may not.
    expect(threads() - before).toBeLessThan(10);
  });

  test('after `await stop()` no threadsafe function is left (30 start/run/stop cycles), as Jest --detectOpenHandles sees it', async () => {
    const r = await child(`
      const hooks = require('node:async_hooks');
      const open = new Set();
      hooks.createHook({
        init(id, type) { if (type === 'napi_rs_threadsafe_function') open.add(id); },
        destroy(id) { open.delete(id); },
      }).enable();
      const { createSynchronikManager } = require('synchronik');
      (async () => {
        const m = createSynchronikManager({ loopInterval: 5 });
        m.registerUnit({ id: 'w', intervalMs: 2, runOnInterval: true, run: async () => 1 });
        const pool = m.useWorkerPool(2);
        const left = [];
        for (let k = 0; k < 30; k++) {
          m.start();
          // 3 ms of real time: the 2 ms interval and the 5 ms loop get to fire now and then.
          await Promise.all([pool.run(async () => k), m.runWorkerById('w'), new Promise((r) => setTimeout(r, 3))]);
          await m.stop();
          // Node closes a released threadsafe function (and reports its
          // destroy) a loop turn or two later; Jest waits 30 ms for that.
          await new Promise((r) => setTimeout(r, 30));
          left.push(open.size);
        }
        const resources = process.getActiveResourcesInfo().filter((t) => t !== 'TTYWRAP' && t !== 'PipeWrap');
        console.log(JSON.stringify({ left: Math.max(...left), resources }));
      })();
    `);
    expect({ code: r.code, timedOut: r.timedOut, stderr: r.stderr }).toEqual({ code: 0, timedOut: false, stderr: '' });
    expect(r.out).toEqual({ left: 0, resources: [] });
  });
});

describe('a failing addTask task', () => {
  test('keeps its error on the task and the `task` event', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    const events = [];
    m.on('task', (e) => events.push(e));
    const boom = new Error('boom');
    const task = pool.addTask({ name: 'bad', execute: () => { throw boom; } });
    m.start();
    await pool.onIdle();
    expect(task.status).toBe('error');
    expect(task.error).toBe(boom);
    const last = events[events.length - 1];
    expect(last).toMatchObject({ name: 'bad', status: 'error', error: boom });
    expect(events.filter((e) => e.status !== 'error').every((e) => !('error' in e))).toBe(true);
  });

  test('with nobody listening to `task` events, the first failure is printed once; with a listener, none is', async () => {
    const error = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const m = create();
      const pool = m.useWorkerPool(1);
      pool.addTask({ name: 'one', execute: async () => { throw new Error('first'); } });
      pool.addTask({ name: 'two', execute: async () => { throw new Error('second'); } });
      pool.addTask({ name: 'fine', execute: () => 1 });
      m.start();
      await pool.onIdle();
      expect(error).toHaveBeenCalledTimes(1);
      expect(error.mock.calls[0][0]).toBe(
        '[synchronik] pool task "one" (pool "default") failed and nothing listens to "task" events (further ones are not printed; listen to "task" events to see them all):',
      );
      expect(error.mock.calls[0][1]).toEqual(new Error('first'));

      error.mockClear();
      const m2 = create();
      const pool2 = m2.useWorkerPool(1);
      m2.on('task', () => {});
      pool2.addTask({ name: 'x', execute: async () => { throw new Error('seen'); } });
      m2.start();
      await pool2.onIdle();
      expect(error).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
    }
  });
});
