'use strict';

// Thread pools (manager.useThreadPool): handlers run on worker threads that
// take their tasks from the engine. Routing, priorities, structured clone,
// errors, threads that die, abort, the queue limit, idle timeouts on the
// manual clock, close and destroy, workers that run on a pool, and the
// process exiting by itself.

const fs = require('node:fs');
const { getEventListeners } = require('node:events');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { Worker } = require('node:worker_threads');
const { createSynchronikManager, SynchronikError } = require('..');
const { runNode } = require('./helpers');

const FIXTURES = path.join(__dirname, 'fixtures', 'threads');
const HANDLERS = path.join(FIXTURES, 'handlers.js');

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Threads of this process (Linux). */
function threadCount() {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
}

/** Waits until `check()` holds (a few seconds at most). */
async function until(check, what) {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('one pool of two threads', () => {
  let manager;
  let pool;
  beforeAll(() => {
    manager = createSynchronikManager();
    pool = manager.useThreadPool({ filename: HANDLERS, size: 2 });
  });
  afterAll(() => manager.close());

  test('the default export and named exports run on other threads', async () => {
    expect(await pool.run(21)).toBe(42);
    const ids = await Promise.all(Array.from({ length: 8 }, () => pool.run(undefined, { handler: 'tid' })));
    for (const id of ids) expect(id).toBeGreaterThan(0);
    expect(pool.name).toBe('threads');
    expect(pool.size).toBe(2);
  });

  test('payloads and results cross by structured clone', async () => {
    const payload = {
      nested: { list: [1, 'two', null, true] },
      map: new Map([['k', { v: 1 }]]),
      set: new Set([1, 2]),
      date: new Date(86_400_000),
      big: 12345678901234567890n,
      bytes: new Float64Array([1.5, -2]),
      re: /a+b/gi,
    };
    const back = await pool.run(payload, { handler: 'echo' });
    expect(back).toEqual(payload);
    // (Objects come from Node's realm, not the test's: compare kinds by name.)
    expect([back.map, back.set, back.date, back.bytes, back.re].map((x) => x.constructor.name)).toEqual(['Map', 'Set', 'Date', 'Float64Array', 'RegExp']);
  });

  test('what cannot be cloned is refused with a TypeError before it is queued', async () => {
    const e = await rejection(pool.run({ f: () => 1 }, { handler: 'echo' }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/cannot be copied to a thread/);
  });

  test("a handler's error keeps its name, message, stack, cause and own properties", async () => {
    const e = await rejection(pool.run('it broke', { handler: 'fail' }));
    expect([e.name, e.constructor.name]).toEqual(['RangeError', 'RangeError']);
    expect(e.message).toBe('it broke');
    expect(e.stack).toContain('handlers.js');
    expect(e.cause.name).toBe('TypeError');
    expect(e.cause.message).toBe('the inner cause');
    expect(e.code).toBe('E_FIXTURE');
    expect(e.details).toEqual({ at: 7 });
  });

  test('a handler the module does not export rejects with a TypeError naming the ones it does', async () => {
    const e = await rejection(pool.run(1, { handler: 'nope' }));
    expect(e.name).toBe('TypeError');
    expect(e.message).toMatch(/no handler "nope".*echo/);
  });

  test('a transferred ArrayBuffer is detached here and its bytes arrive in the thread', async () => {
    const buffer = new Uint8Array([1, 2, 3, 250]).buffer;
    const sum = await pool.run(buffer, { handler: 'sum', transferList: [buffer] });
    expect(sum).toBe(256);
    expect(buffer.byteLength).toBe(0);
  });

  test('a thread that exits during its task fails it with ERR_THREAD_EXITED and is replaced', async () => {
    const e = await rejection(pool.run(3, { handler: 'exit' }));
    expect(e).toBeInstanceOf(SynchronikError);
    expect(e.code).toBe('ERR_THREAD_EXITED');
    expect(e.message).toMatch(/exit code 3/);
    expect(await Promise.all([pool.run(1), pool.run(2), pool.run(3)])).toEqual([2, 4, 6]);
    await until(() => pool.stats().threads.length === 2, 'the replacement');
  });

  test('an uncaught exception in the thread fails its task with ERR_THREAD_EXITED', async () => {
    const e = await rejection(pool.run(0, { handler: 'crashLater' }));
    expect(e.code).toBe('ERR_THREAD_EXITED');
    expect(e.message).toMatch(/thrown in a timer/);
    expect(await pool.run(5)).toBe(10);
  });

  test('an aborted signal removes a queued task and terminates the thread of a running one', async () => {
    const a = new AbortController();
    const b = new AbortController();
    const running = [pool.run(0, { handler: 'spin', signal: a.signal }), pool.run(0, { handler: 'spin', signal: b.signal })];
    const queued = new AbortController();
    const waiting = pool.run(1, { signal: queued.signal });
    await until(() => pool.stats().threads.filter((t) => t.busy).length === 2, 'two busy threads');
    queued.abort(new Error('not any more'));
    const q = await rejection(waiting);
    expect(q.name).toBe('AbortError');
    expect(q.cause.message).toBe('not any more');
    a.abort('first');
    b.abort('second');
    const [ea, eb] = await Promise.all(running.map(rejection));
    expect([ea.name, ea.cause, eb.cause]).toEqual(['AbortError', 'first', 'second']);
    // Both spinning threads were ended; new ones serve.
    expect(await pool.run(4)).toBe(8);
  });

  test('one signal shared by many runs: one listener on it, no leak warning, gone with the last run; its abort reaches every run it still holds', async () => {
    const shared = new AbortController();
    const warnings = [];
    const onWarning = (w) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const done = Array.from({ length: 30 }, (_, i) => pool.run(i, { handler: 'echo', signal: shared.signal }));
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      expect(await Promise.all(done)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
      // Two spinning threads and twenty runs queued behind them, all on the signal.
      const running = [pool.run(0, { handler: 'spin', signal: shared.signal }), pool.run(0, { handler: 'spin', signal: shared.signal })];
      const queued = Array.from({ length: 20 }, (_, i) => pool.run(i, { handler: 'echo', signal: shared.signal }));
      await until(() => pool.stats().threads.filter((t) => t.busy).length === 2, 'two busy threads');
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      shared.abort('shutting down');
      const errors = await Promise.all([...running, ...queued].map(rejection));
      expect(errors.map((e) => [e.name, e.cause])).toEqual(Array.from({ length: 22 }, () => ['AbortError', 'shutting down']));
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
      // The spinning threads were ended; new ones serve.
      expect(await pool.run(4)).toBe(8);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('an already aborted signal rejects at once', async () => {
    const e = await rejection(pool.run(1, { signal: AbortSignal.abort('no') }));
    expect([e.name, e.cause]).toEqual(['AbortError', 'no']);
  });

  test('stats count runs and show the shape of the pool', async () => {
    // The threads ended by the tests above have been replaced.
    await until(() => pool.stats().threads.length === 2, `two threads (now ${JSON.stringify(pool.stats().threads)})`);
    const before = pool.stats();
    await Promise.all(Array.from({ length: 10 }, (_, i) => pool.run(i)));
    const after = pool.stats();
    expect(after.runTime.count - before.runTime.count).toBe(10);
    expect(after.queued).toBe(0);
    expect(after.threads).toHaveLength(2);
    for (const t of after.threads) {
      expect(t).toEqual({ id: expect.stringMatching(/^threads:thread-\d+$/), handlers: null, runs: expect.any(Number), busy: false });
    }
    expect(after.utilization).toBeGreaterThanOrEqual(0);
    expect(after.utilization).toBeLessThanOrEqual(1);
  });

  test('bad run options are TypeErrors naming the field', async () => {
    expect((await rejection(pool.run(1, { handler: 3 }))).message).toMatch(/options\.handler/);
    expect((await rejection(pool.run(1, { priority: 'high' }))).message).toMatch(/options\.priority/);
    expect((await rejection(pool.run(1, { signal: {} }))).message).toMatch(/options\.signal/);
    expect((await rejection(pool.run(1, { transfer: [] }))).message).toMatch(/transfer/);
  });
});

describe('queueing', () => {
  test('higher priority first, then in the order of run calls', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1 });
    await pool.run(0, { handler: 'echo' });
    const blocker = pool.run(300, { handler: 'busy' });
    await until(() => pool.stats().threads[0].busy, 'the busy thread');
    const runs = [
      pool.run('low', { handler: 'order', priority: -1 }),
      pool.run('a', { handler: 'order' }),
      pool.run('high', { handler: 'order', priority: 10 }),
      pool.run('b', { handler: 'order' }),
    ];
    await blocker;
    const done = await Promise.all(runs);
    expect(done.sort((x, y) => x.n - y.n).map((d) => d.label)).toEqual(['high', 'a', 'b', 'low']);
    await manager.close();
  });

  test('maxQueue: a run beyond it rejects with ERR_QUEUE_FULL, the others run', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1, maxQueue: 2 });
    await pool.run(0, { handler: 'echo' });
    const blocker = pool.run(200, { handler: 'busy' });
    await until(() => pool.stats().threads[0].busy, 'the busy thread');
    const a = pool.run(1);
    const b = pool.run(2);
    const c = pool.run(3);
    const e = await rejection(c);
    expect(e).toBeInstanceOf(SynchronikError);
    expect(e.code).toBe('ERR_QUEUE_FULL');
    expect(await Promise.all([blocker.then(() => 'ok'), a, b])).toEqual(['ok', 2, 4]);
    await manager.close();
  });

  test('specialists take only their handlers; generalists take any', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, groups: [{ size: 1, handlers: ['busy'] }, { size: 1 }] });
    expect(pool.size).toBe(2);
    const specialist = pool.stats().threads.find((t) => t.handlers !== null);
    expect(specialist.handlers).toEqual(['busy']);
    // Learn the specialist's thread: the only one that runs 'busy' while the generalist is kept busy.
    const plain = await Promise.all(Array.from({ length: 20 }, () => pool.run(undefined, { handler: 'tid' })));
    const plainThreads = new Set(plain);
    expect(plainThreads.size).toBe(1);
    // Batches of 'busy' until one ran beside the generalist: both threads
    // start with the pool, and on a loaded machine the specialist may still
    // be loading when the generalist has run a whole batch.
    const busy = [];
    for (let batch = 0; batch < 40 && busy.every((id) => plainThreads.has(id)); batch++) {
      busy.push(...(await Promise.all(Array.from({ length: 20 }, () => pool.run(1, { handler: 'busy' })))));
    }
    // The specialist took some of the busy tasks, and never a plain one.
    const specialistThreads = [...new Set(busy)].filter((id) => !plainThreads.has(id));
    expect(specialistThreads).toHaveLength(1);
    await manager.close();
  });

  test('a handler no group takes is refused at once (it would wait for ever)', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, groups: [{ size: 1, handlers: ['busy'] }] });
    const e = await rejection(pool.run(1));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/options\.handler must be one the pool's groups take \(busy\).*got "default"/);
    expect(await pool.run(1, { handler: 'busy' })).toBeGreaterThan(0);
    await pool.close();
    await manager.close();
  });

  test('maxQueue counts only the runs that idle threads do not take', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 2, maxQueue: 0 });
    await until(() => pool.stats().threads.length === 2, 'two threads');
    await Promise.all([pool.run(1), pool.run(2)]);
    // Both threads are idle: two runs in one turn start at once, a third is refused.
    const runs = [pool.run(1), pool.run(2), pool.run(3)];
    expect(await runs[0]).toBe(2);
    expect(await runs[1]).toBe(4);
    expect((await rejection(runs[2])).code).toBe('ERR_QUEUE_FULL');
    await manager.close();
  });

  test('an ES module works as the pool module', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: pathToFileURL(path.join(FIXTURES, 'esm.mjs')), size: 1 });
    expect(await pool.run(4)).toBe(8);
    expect(await pool.run('hey', { handler: 'shout' })).toBe('hey!');
    await manager.close();
  });
});

describe('threads that cannot do their work', () => {
  test('resourceLimits: a thread past its heap limit fails its task and is replaced', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const e = await rejection(pool.run(0, { handler: 'hog' }));
    expect(e.code).toBe('ERR_THREAD_EXITED');
    expect(await pool.run(6)).toBe(12);
    await manager.close();
  });

  test('a module that cannot load rejects every run with ERR_THREAD_BOOTSTRAP, and is not loaded again and again', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: path.join(FIXTURES, 'broken.js'), size: 2 });
    const first = await rejection(pool.run(1));
    expect(first).toBeInstanceOf(SynchronikError);
    expect(first.code).toBe('ERR_THREAD_BOOTSTRAP');
    expect(first.cause.name).toBe('SyntaxError');
    expect(first.cause.message).toBe('this module cannot be loaded');
    const second = await rejection(pool.run(2));
    expect(second.code).toBe('ERR_THREAD_BOOTSTRAP');
    expect(second.cause.message).toBe('this module cannot be loaded');
    await until(() => pool.stats().threads.length === 0, 'the threads to end');
    await new Promise((r) => setTimeout(r, 200));
    expect(pool.stats().threads).toHaveLength(0);
    await manager.close();
  });

  test('a worker on a thread pool: timeouts end the thread, retries run again, events as for any worker', async () => {
    const manager = createSynchronikManager();
    manager.useThreadPool({ filename: HANDLERS, size: 1, name: 'cpu' });
    const seen = [];
    manager.on('complete', (e) => seen.push(['complete', e.unitId, e.result]));
    manager.on('retry', (e) => seen.push(['retry', e.unitId, e.error.code]));
    manager.on('error', (e) => seen.push(['error', e.unitId, e.error.code]));
    manager.registerUnit({ id: 'double', threadPool: 'cpu', payload: 21 });
    manager.registerUnit({ id: 'stuck', threadPool: 'cpu', handler: 'spin', timeoutMs: 150, maxRetries: 1 });
    manager.registerUnit({ id: 'elsewhere', threadPool: 'gpu' });
    manager.registerUnit({
      id: 'both',
      runMode: 'parallel',
      workers: [
        { id: 'one', threadPool: 'cpu', payload: 1 },
        { id: 'two', threadPool: 'cpu', handler: 'echo', payload: 'two' },
      ],
    });
    await manager.runWorkerById('double');
    await manager.runWorkerById('stuck').catch(() => {});
    await manager.runWorkerById('elsewhere').catch(() => {});
    await manager.runProcessById('both');
    expect(seen).toEqual([
      ['complete', 'double', 42],
      ['retry', 'stuck', 'ERR_TIMEOUT'],
      ['error', 'stuck', 'ERR_TIMEOUT'],
      ['error', 'elsewhere', 'ERR_RUN_FAILED'],
      ['complete', 'one', 2],
      ['complete', 'two', 'two'],
      ['complete', 'both', undefined],
    ]);
    expect(() => manager.registerUnit({ id: 'x', threadPool: 'cpu', run: () => 1 })).toThrow(/unit\.run must be left out/);
    expect(() => manager.registerUnit({ id: 'y', threadPool: 3 })).toThrow(/unit\.threadPool/);
    await manager.close();
  });
});

describe('idle threads on the manual clock', () => {
  test('idleTimeoutMs ends idle threads; work brings them back', async () => {
    const manager = createSynchronikManager({ clock: 'manual' });
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 2, idleTimeoutMs: 1000 });
    await Promise.all([pool.run(1), pool.run(2)]);
    await until(() => pool.stats().threads.length === 2, 'both threads');
    await new Promise((r) => setTimeout(r, 100));
    await manager.clock.advance(999);
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.stats().threads).toHaveLength(2);
    // Every thread has been idle for its timeout by now (the later one registered after 0 ms).
    await manager.clock.advance(1000);
    await until(() => pool.stats().threads.length === 0, 'the idle threads to end');
    expect(await pool.run(7)).toBe(14);
    expect(pool.stats().threads.length).toBeGreaterThanOrEqual(1);
    await manager.close();
  });
});

describe('the end of a pool', () => {
  test('close lets queued runs finish, refuses new ones, and ends every thread', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1 });
    const runs = [pool.run(100, { handler: 'later' }), pool.run(1), pool.run(2)];
    const closed = pool.close();
    const late = await rejection(pool.run(3));
    expect(late.code).toBe('ERR_CLOSED');
    expect(await Promise.all(runs)).toEqual([100, 2, 4]);
    await closed;
    expect(pool.stats().threads).toHaveLength(0);
    // Its name is free again.
    const again = manager.useThreadPool({ filename: HANDLERS, size: 1 });
    expect(await again.run(1)).toBe(2);
    await manager.close();
  });

  test('destroy rejects queued and running runs with ERR_CLOSED at once', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1 });
    await pool.run(0);
    const running = pool.run(0, { handler: 'spin' });
    const queued = pool.run(1);
    await until(() => pool.stats().threads[0].busy, 'the busy thread');
    const outcomes = Promise.all([rejection(running), rejection(queued)]);
    await pool.destroy();
    for (const e of await outcomes) {
      expect(e).toBeInstanceOf(SynchronikError);
      expect(e.code).toBe('ERR_CLOSED');
    }
    await manager.close();
  });

  test('20 pools made, used and closed one after another leave no thread behind', async () => {
    const manager = createSynchronikManager();
    const first = manager.useThreadPool({ filename: HANDLERS, size: 2, name: 'warm' });
    await first.run(1);
    await first.close();
    const before = threadCount();
    for (let i = 0; i < 20; i++) {
      const pool = manager.useThreadPool({ filename: HANDLERS, size: 2, name: `p${i}` });
      expect(await pool.run(i)).toBe(2 * i);
      await pool.close();
    }
    expect(threadCount()).toBeLessThanOrEqual(before + 2);
    await manager.close();
  });

  test('closing under load: every run settles and nothing crashes', async () => {
    for (let i = 0; i < 6; i++) {
      const manager = createSynchronikManager();
      const pool = manager.useThreadPool({ filename: HANDLERS, size: 2 });
      const runs = Array.from({ length: 3000 }, (_, k) => pool.run(k, { handler: 'echo' }).then(() => 'ok', (e) => e.code));
      await new Promise((r) => setTimeout(r, i * 15));
      await (i % 2 ? pool.destroy() : manager.close());
      const outcomes = new Set(await Promise.all(runs));
      for (const o of outcomes) expect(['ok', 'ERR_CLOSED']).toContain(o);
      await manager.close();
    }
  });
});

describe('bad options', () => {
  const manager = createSynchronikManager();
  afterAll(() => manager.close());
  test.each([
    [undefined, /options/],
    [{}, /options\.filename/],
    [{ filename: path.join(FIXTURES, 'no-such-module.js') }, /options\.filename must be the path of an existing module \(got ".*no-such-module\.js"/],
    [{ filename: 'file://elsewhere/x.js' }, /options\.filename must be a path or a file: URL of a module \(got "file:\/\/elsewhere\/x\.js"/],
    [{ filename: HANDLERS, size: 0 }, /options\.size/],
    [{ filename: HANDLERS, size: 1.5 }, /options\.size/],
    [{ filename: HANDLERS, maxQueue: -1 }, /options\.maxQueue/],
    [{ filename: HANDLERS, idleTimeoutMs: -5 }, /options\.idleTimeoutMs/],
    [{ filename: HANDLERS, groups: [] }, /options\.groups/],
    [{ filename: HANDLERS, groups: [{ size: 1, handlers: [] }] }, /options\.groups\[0\]\.handlers/],
    [{ filename: HANDLERS, groups: [{ size: 2 }], size: 3 }, /options\.size/],
    [{ filename: HANDLERS, threads: 2 }, /threads/],
  ])('useThreadPool(%p) is a TypeError naming the field', (options, message) => {
    const before = threadCount();
    expect(() => manager.useThreadPool(options)).toThrow(TypeError);
    expect(() => manager.useThreadPool(options)).toThrow(message);
    // Nothing was started.
    expect(threadCount()).toBeLessThanOrEqual(before);
  });
});

describe('processes and threads', () => {
  test.each(['close', 'manager', 'idle', 'exit-busy'])('the process exits by itself (%s)', async (mode) => {
    const r = await runNode([path.join(FIXTURES, 'child-close.js'), mode], { timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    if (mode !== 'exit-busy') expect(JSON.parse(r.stdout)).toEqual([2, 4, 6]);
  });

  test('a pool used from inside a worker thread works, and the worker ends', async () => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const { createSynchronikManager } = require(${JSON.stringify(path.resolve(__dirname, '..', 'index.js'))});
       const manager = createSynchronikManager();
       const pool = manager.useThreadPool({ filename: ${JSON.stringify(HANDLERS)}, size: 1 });
       pool.run(50).then((v) => parentPort.postMessage(v));`,
      { eval: true },
    );
    const message = new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const exit = new Promise((resolve) => worker.once('exit', resolve));
    expect(await message).toBe(100);
    expect(await exit).toBe(0);
  });
});
