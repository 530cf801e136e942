'use strict';

// Values a user's code hands the package that throw when they are looked
// at: a result whose `then` getter throws, a thrown Proxy whose
// getPrototypeOf trap throws (so `instanceof Error` throws), hooks and
// settings behind throwing getters. Each is a failure of that run, reported
// like any other (SPEC §12): it never escapes as an uncaught exception,
// never turns runWorkerById's promise into a rejection, and never leaves the
// unit `running`.

const { createSynchronikManager, SynchronikError } = require('..');
const { runNode } = require('./helpers');

/** An object whose `then` getter throws. */
const hostileThenable = () => ({
  get then() {
    throw new Error('then getter');
  },
});

/** A Proxy on which `instanceof` (getPrototypeOf), String() and property reads all throw. */
const hostileProxy = () =>
  new Proxy(
    {},
    {
      getPrototypeOf() {
        throw new Error('getPrototypeOf trap');
      },
      get() {
        throw new Error('get trap');
      },
      has() {
        throw new Error('has trap');
      },
      ownKeys() {
        throw new Error('ownKeys trap');
      },
    },
  );

const managers = [];
function manual(options = {}) {
  const m = createSynchronikManager({ clock: 'manual', ...options });
  managers.push(m);
  return m;
}
afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

describe('a run that hands back a hostile value fails that run, in-process', () => {
  test.each([
    ['returns an object whose then getter throws', () => hostileThenable(), 'then getter'],
    ['resolves (async) with an object whose then getter throws', async () => hostileThenable(), 'then getter'],
  ])('run %s → error, with the getter\'s error', async (_name, run, message) => {
    const m = manual();
    const unit = m.registerUnit({ id: 'w', run });
    await expect(m.runWorkerById('w')).resolves.toBeUndefined();
    expect(unit.status).toBe('error');
    expect(unit.error).toBeInstanceOf(Error);
    expect(unit.error.message).toBe(message);
  });

  test.each([
    ['throws', () => {
      throw hostileProxy();
    }],
    ['rejects with', async () => {
      throw hostileProxy();
    }],
  ])('run %s a Proxy whose getPrototypeOf throws → error ERR_NON_ERROR_THROWN', async (_name, run) => {
    const m = manual();
    const errors = [];
    m.on('error', (e) => errors.push(e));
    const unit = m.registerUnit({ id: 'w', run, maxRetries: 1 });
    await expect(m.runWorkerById('w')).resolves.toBeUndefined();
    expect(unit.status).toBe('error');
    expect(unit.error).toBeInstanceOf(SynchronikError);
    expect(unit.error.code).toBe('ERR_NON_ERROR_THROWN');
    expect(unit.error.unitId).toBe('w');
    expect(unit.meta.runCount).toBe(0);
    expect(errors).toHaveLength(1);
    // The snapshot never throws, even with that value as the unit's error's cause.
    expect(() => m.getRegistrySnapshot()).not.toThrow();
  });

  test('a sequential process whose worker throws a Proxy rejects with ERR_WORKER_FAILED', async () => {
    const m = manual();
    m.registerUnit({
      id: 'p',
      workers: [
        {
          id: 'a',
          run: () => {
            throw hostileProxy();
          },
        },
        { id: 'b', run: () => 'b' },
      ],
    });
    const error = await m.runProcessById('p').catch((e) => e);
    expect(error).toBeInstanceOf(SynchronikError);
    expect(error.code).toBe('ERR_WORKER_FAILED');
    expect(m.getUnitStatus('a')).toBe('error');
    expect(m.getUnitStatus('b')).toBe('idle');
  });

  test('pool.run whose task returns a hostile thenable or throws a Proxy rejects; the pool goes on', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    pool.start();
    await expect(pool.run(() => hostileThenable())).rejects.toThrow('then getter');
    const proxied = await pool.run(() => {
      throw hostileProxy();
    }).catch((e) => e);
    expect(proxied).toBeInstanceOf(SynchronikError);
    expect(proxied.code).toBe('ERR_NON_ERROR_THROWN');
    await expect(pool.run(() => 'still works')).resolves.toBe('still works');
    expect(pool.getWorkerStatus('pool-worker-1').isIdle).toBe(true);
  });

  test('hooks, conditions and retryDelayMs behind throwing getters are reported, the run goes on', async () => {
    const m = manual();
    const reported = [];
    m.on('listenerError', (e) => reported.push(e.error.message));
    const throwing = (what) => () => {
      throw new Error(what);
    };
    const worker = { id: 'w', maxRetries: 1, run: jest.fn(async () => 'ok') };
    m.registerUnit(worker);
    // Getters that throw, put in after registration (which reads every field).
    Object.defineProperty(worker, 'onStart', { get: throwing('onStart getter'), enumerable: false, configurable: true });
    Object.defineProperty(worker, 'onComplete', { get: throwing('onComplete getter'), enumerable: false, configurable: true });
    await m.runWorkerById('w');
    expect(worker.status).toBe('completed');
    expect(reported).toEqual(expect.arrayContaining(['onStart getter', 'onComplete getter']));

    const flaky = { id: 'flaky', maxRetries: 1, retryDelayMs: () => 10, run: jest.fn().mockRejectedValueOnce(new Error('once')).mockResolvedValue('ok') };
    m.registerUnit(flaky);
    Object.defineProperty(flaky, 'retryDelayMs', { get: throwing('retryDelayMs getter'), configurable: true, enumerable: false });
    const done = m.runWorkerById('flaky');
    await m.clock.runUntilIdle();
    await done;
    expect(flaky.status).toBe('completed');
    expect(reported).toContain('retryDelayMs getter');

    // A hook that returns a hostile thenable.
    m.registerUnit({ id: 'h', run: () => 1, onComplete: () => hostileThenable() });
    await m.runWorkerById('h');
    expect(m.getUnitStatus('h')).toBe('completed');
    expect(reported).toContain('then getter');
  });

  test('a condition behind a throwing getter counts as false and is reported', async () => {
    const m = manual();
    const reported = [];
    m.on('listenerError', (e) => reported.push(e.error.message));
    const dep = { id: 'a' };
    Object.defineProperty(dep, 'condition', { get: () => () => true, configurable: true, enumerable: true });
    const b = { id: 'b', dependsOn: [dep], run: jest.fn() };
    m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => 1 }, b] });
    Object.defineProperty(dep, 'condition', {
      get() {
        throw new Error('condition getter');
      },
    });
    await m.runProcessById('p');
    expect(b.run).not.toHaveBeenCalled();
    expect(reported).toContain('condition getter');
  });
});

test('runWorkerTasks reports a task that threw a Proxy as failed', async () => {
  const { runWorkerTasks } = require('..');
  const result = await runWorkerTasks({
    items: ['a', 'b'],
    execute: async (item) => {
      if (item === 'a') throw hostileProxy();
      return item;
    },
  });
  expect(result.successful).toEqual([{ id: 'b', result: 'b' }]);
  expect(result.failed).toEqual([{ id: 'a', error: expect.stringContaining('non-Error value') }]);
});

describe('in a child process, a hostile value never ends the process', () => {
  test('exit code 0, no uncaught exception, every run settled as a failure', async () => {
    const script = `
      const { createSynchronikManager } = require('synchronik');
      const hostileThenable = () => ({ get then() { throw new Error('x'); } });
      const hostileProxy = () => new Proxy({}, { getPrototypeOf() { throw new Error('trap'); }, get() { throw new Error('trap'); } });
      (async () => {
        const m = createSynchronikManager();
        m.registerUnit({ id: 'then', run: () => hostileThenable() });
        m.registerUnit({ id: 'throws', run: () => { throw hostileProxy(); } });
        m.registerUnit({ id: 'rejects', run: async () => { throw hostileProxy(); } });
        const settled = [];
        for (const id of ['then', 'throws', 'rejects']) {
          await m.runWorkerById(id).then(() => settled.push(id + ':resolved'), () => settled.push(id + ':rejected'));
        }
        const pool = m.useWorkerPool(1);
        pool.start();
        await pool.run(() => hostileThenable()).then(() => settled.push('pool-then:resolved'), () => settled.push('pool-then:rejected'));
        await pool.run(async () => { throw hostileProxy(); }).then(() => settled.push('pool-proxy:resolved'), () => settled.push('pool-proxy:rejected'));
        await m.stop();
        console.log(JSON.stringify({ settled, statuses: ['then', 'throws', 'rejects'].map((id) => m.getUnitStatus(id)) }));
      })();
    `;
    const r = await runNode(['-e', script], { timeoutMs: 8000 });
    expect({ code: r.code, timedOut: r.timedOut, stderr: r.stderr }).toEqual({ code: 0, timedOut: false, stderr: '' });
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    expect(out).toEqual({
      settled: ['then:resolved', 'throws:resolved', 'rejects:resolved', 'pool-then:rejected', 'pool-proxy:rejected'],
      statuses: ['error', 'error', 'error'],
    });
  });
});
