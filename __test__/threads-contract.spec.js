'use strict';

// Thread pools (SPEC §15): manager.useThreadPool and the ThreadPool it
// returns, tested against the contract as written — handlers, structured
// clone, errors from handlers, transfer, priorities, the queue limit,
// threads that die, a module that cannot load, abort, routing groups,
// stats, close and destroy, many pools in a row, bad options.
//
// Waits are on promises and on conditions polled with a generous bound
// (10 s); a task that must hold its thread waits on a file the test creates
// (handler `gate`), so no test depends on how fast a thread runs.
// Child-process checks (the process exits by itself) are in
// threads-exit.spec.js.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { createSynchronikManager, SynchronikError } = require('..');
const { errorOf, settle, track } = require('./helpers');

const FIXTURES = path.join(__dirname, 'fixtures', 'threads-contract');
const HANDLERS = path.join(FIXTURES, 'handlers.js');
const ESM = path.join(FIXTURES, 'esm.mjs');
const DEFAULT_EXPORT = path.join(FIXTURES, 'default-export.js');
const BROKEN = path.join(FIXTURES, 'broken.js');

/** Generous bound for anything a test waits for. */
const BOUND_MS = 10_000;

/** Polls `check()` every 10 ms until it holds; fails after BOUND_MS. */
async function eventually(check, what) {
  const end = Date.now() + BOUND_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${BOUND_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Threads of this process (Linux: the entries of /proc/self/task). */
const threadCount = () => fs.readdirSync('/proc/self/task').length;

/**
 * Tag of a value, for kinds that cross from a thread: results and handler
 * errors are made in Node's own realm, where Jest's `instanceof Error` or
 * `instanceof Map` does not hold.
 */
const tag = (value) => Object.prototype.toString.call(value);

let tmp;
let gates = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-threads-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * A gate for handler `gate`: a task run with `gate.path` holds its thread
 * until `gate.open()` creates the file.
 */
function newGate() {
  const file = path.join(tmp, `gate-${++gates}`);
  return { path: file, open: () => fs.writeFileSync(file, '') };
}

// Every manager a test makes is closed after it, even when the test fails.
let managers = [];
function newManager(options) {
  const manager = createSynchronikManager(options);
  managers.push(manager);
  return manager;
}
afterEach(async () => {
  const open = managers;
  managers = [];
  await Promise.all(open.map((m) => m.close().catch(() => {})));
});

/** A pool of `size` threads on the handlers fixture (more options merged in). */
const handlersPool = (size, options = {}) => newManager().useThreadPool({ filename: HANDLERS, size, ...options });

/** Resolves once the pool has a busy thread (a task is running on it). */
const busy = (pool) => eventually(() => pool.stats().threads.some((t) => t.busy), 'a busy thread');

/** Expects `e` to be a SynchronikError with `code`. */
function expectSynchronikError(e, code) {
  expect(e).toBeInstanceOf(SynchronikError);
  expect(e.name).toBe('SynchronikError');
  expect(e.code).toBe(code);
}

describe('handlers', () => {
  test('module.exports as a function is the default handler; its function properties are named handlers', async () => {
    const pool = handlersPool(1);
    expect(await pool.run(21)).toBe(42);
    expect(await pool.run(21, { handler: 'default' })).toBe(42);
    expect(await pool.run('x', { handler: 'echo' })).toBe('x');
  });

  test('an async handler: its promise is awaited in the thread', async () => {
    const pool = handlersPool(1);
    expect(await pool.run(7, { handler: 'later' })).toEqual({ later: 7 });
  });

  test('handlers run on another thread than the caller', async () => {
    const pool = handlersPool(1);
    const { threadId } = require('node:worker_threads');
    const there = await pool.run(undefined, { handler: 'whereAmI' });
    expect(typeof there).toBe('number');
    expect(there).not.toBe(threadId);
  });

  test('a CommonJS module with a `default` export: that export is the default handler', async () => {
    const pool = newManager().useThreadPool({ filename: DEFAULT_EXPORT, size: 1 });
    expect(await pool.run('a')).toBe('default:a');
    expect(await pool.run('b', { handler: 'named' })).toBe('named:b');
  });

  test('an ES module (.mjs) given as a path: default and named exports, async included', async () => {
    const pool = newManager().useThreadPool({ filename: ESM, size: 1 });
    expect(await pool.run(5)).toBe(15);
    expect(await pool.run('you', { handler: 'greet' })).toBe('hello you');
  });

  test('filename as a file: URL object (ES module) and as a file: URL string (CommonJS)', async () => {
    const manager = newManager();
    const esm = manager.useThreadPool({ filename: pathToFileURL(ESM), size: 1, name: 'esm' });
    const cjs = manager.useThreadPool({ filename: pathToFileURL(HANDLERS).href, size: 1, name: 'cjs' });
    expect(await esm.run(2)).toBe(6);
    expect(await cjs.run(2)).toBe(4);
  });

  test('an unknown handler rejects with a TypeError naming it and the handlers there are; the pool keeps serving', async () => {
    const pool = handlersPool(1);
    const e = await errorOf(() => pool.run(1, { handler: 'noSuchHandler' }));
    expect(e.name).toBe('TypeError');
    expect(e.message).toContain('noSuchHandler');
    expect(e.message).toMatch(/it exports: default, echo/);
    expect(await pool.run(1)).toBe(2);
  });

  test('a pool never runs more tasks at once than its size (2 threads at most for 10 concurrent runs)', async () => {
    const pool = handlersPool(2);
    const ids = await Promise.all(Array.from({ length: 10 }, () => pool.run(undefined, { handler: 'whereAmI' })));
    expect(new Set(ids).size).toBeLessThanOrEqual(2);
    expect(pool.stats().threads.length).toBeLessThanOrEqual(2);
  });
});

describe('what crosses to the thread and back (structured clone)', () => {
  test('nested objects, Map, Set, Date, BigInt and typed arrays make the round trip', async () => {
    const pool = handlersPool(1);
    const payload = {
      nested: { list: [1, 'two', null, true, { deep: [[3]] }], empty: {} },
      map: new Map([
        ['a', { v: 1 }],
        [2, [new Date(0)]],
      ]),
      set: new Set(['x', 42]),
      date: new Date(Date.UTC(2020, 1, 29, 12, 30)),
      big: 2n ** 70n + 1n,
      bytes: new Uint8Array([0, 1, 255]),
      floats: new Float64Array([1.5, -0, Number.NaN]),
      ints: new BigInt64Array([-(2n ** 63n)]),
    };
    const back = await pool.run(payload, { handler: 'echo' });
    expect(back).toEqual(payload);
    expect(back).not.toBe(payload);
    expect([back.map, back.set, back.date, back.big, back.bytes, back.floats, back.ints].map(tag)).toEqual([
      '[object Map]',
      '[object Set]',
      '[object Date]',
      '[object BigInt]',
      '[object Uint8Array]',
      '[object Float64Array]',
      '[object BigInt64Array]',
    ]);
    expect(back.date.getTime()).toBe(payload.date.getTime());
    expect(back.big).toBe(payload.big);
    expect(Object.is(back.floats[1], -0)).toBe(true);
  });

  test('a payload that cannot be cloned (a function) fails that run only', async () => {
    const pool = handlersPool(1);
    const e = await errorOf(() => pool.run({ f: () => 1 }, { handler: 'echo' }));
    expect(tag(e)).toBe('[object Error]');
    expect(await pool.run(3)).toBe(6);
  });
});

describe('errors thrown by a handler', () => {
  test('the rejection keeps name, message, stack (naming the fixture file), cause and code', async () => {
    const pool = handlersPool(1);
    const e = await errorOf(() => pool.run('out of range', { handler: 'fail' }));
    expect(tag(e)).toBe('[object Error]');
    expect(e.name).toBe('RangeError');
    expect(e.message).toBe('out of range');
    expect(typeof e.stack).toBe('string');
    expect(e.stack).toContain('handlers.js');
    expect(e.code).toBe('E_THREADS_FIXTURE');
    expect(tag(e.cause)).toBe('[object Error]');
    expect(e.cause.message).toBe('the root of it');
    // A handler error is the handler's, not an engine error.
    expect(e).not.toBeInstanceOf(SynchronikError);
    // The thread survives a thrown error.
    expect(await pool.run(4)).toBe(8);
  });
});

describe('transferList', () => {
  test('a transferred ArrayBuffer is detached in the caller and its bytes arrive in the thread', async () => {
    const pool = handlersPool(1);
    const buffer = new Uint8Array([10, 20, 30, 200]).buffer;
    expect(await pool.run(buffer, { handler: 'sum', transferList: [buffer] })).toBe(260);
    expect(buffer.byteLength).toBe(0);
  });

  test('without transferList the ArrayBuffer is copied and stays usable in the caller', async () => {
    const pool = handlersPool(1);
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    expect(await pool.run(buffer, { handler: 'sum' })).toBe(6);
    expect(buffer.byteLength).toBe(3);
  });
});

describe('queueing', () => {
  test('higher priority first; equal priorities in the order of run calls', async () => {
    const pool = handlersPool(1);
    const gate = newGate();
    const blocker = pool.run(gate.path, { handler: 'gate' });
    await busy(pool);
    // All of these wait behind the blocker on the only thread.
    const runs = [
      pool.run('low', { handler: 'order', priority: -1 }),
      pool.run('first', { handler: 'order' }),
      pool.run('high', { handler: 'order', priority: 5 }),
      pool.run('second', { handler: 'order', priority: 0 }),
      pool.run('highest', { handler: 'order', priority: 10 }),
      pool.run('high-2', { handler: 'order', priority: 5 }),
    ];
    gate.open();
    await blocker;
    const done = await Promise.all(runs);
    // `n` counts the `order` tasks of the (single) thread: 1 ran first.
    const ran = [...done].sort((a, b) => a.n - b.n);
    expect(ran.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ran.map((r) => r.label)).toEqual(['highest', 'high', 'high-2', 'first', 'second', 'low']);
  });

  test('maxQueue 2 on one busy thread: the 4th run rejects with ERR_QUEUE_FULL, the others resolve', async () => {
    const pool = handlersPool(1, { maxQueue: 2 });
    const gate = newGate();
    const first = pool.run(gate.path, { handler: 'gate' });
    await busy(pool);
    const second = pool.run(2);
    const third = pool.run(3);
    const fourth = pool.run(4);
    expectSynchronikError(await errorOf(() => fourth), 'ERR_QUEUE_FULL');
    gate.open();
    expect(typeof (await first)).toBe('number');
    expect(await Promise.all([second, third])).toEqual([4, 6]);
    // With the queue empty again, runs are taken.
    expect(await pool.run(5)).toBe(10);
  });
});

describe('threads that die', () => {
  test('process.exit(1) in a task: ERR_THREAD_EXITED, the thread is replaced, later runs succeed', async () => {
    const pool = handlersPool(2);
    const e = await errorOf(() => pool.run(1, { handler: 'exit' }));
    expectSynchronikError(e, 'ERR_THREAD_EXITED');
    expect(await Promise.all([pool.run(1), pool.run(2), pool.run(3)])).toEqual([2, 4, 6]);
    await eventually(() => pool.stats().threads.length === 2, 'two threads again');
  });

  test('an uncaught exception thrown asynchronously in the thread: ERR_THREAD_EXITED, the pool keeps serving', async () => {
    const pool = handlersPool(1);
    const e = await errorOf(() => pool.run(undefined, { handler: 'throwLater' }));
    expectSynchronikError(e, 'ERR_THREAD_EXITED');
    expect(await pool.run(8)).toBe(16);
  });

  test('resourceLimits exceeded (16 MB old generation, unbounded allocation): ERR_THREAD_EXITED, the pool keeps serving', async () => {
    const pool = handlersPool(1, { resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const e = await errorOf(() => pool.run(undefined, { handler: 'hog' }));
    expectSynchronikError(e, 'ERR_THREAD_EXITED');
    expect(await pool.run(9)).toBe(18);
  });
});

describe('a module that cannot be loaded', () => {
  test('every run rejects with ERR_THREAD_BOOTSTRAP naming the file, with the load error as cause; none hangs', async () => {
    const pool = newManager().useThreadPool({ filename: BROKEN, size: 2 });
    const runs = [pool.run(1), pool.run(2)];
    for (const run of runs) {
      const e = await errorOf(() => run);
      expectSynchronikError(e, 'ERR_THREAD_BOOTSTRAP');
      expect(e.message).toContain('broken.js');
      expect(tag(e.cause)).toBe('[object Error]');
      expect(e.cause.message).toBe('broken on purpose while loading');
    }
    // A run made after the failure is known rejects the same way (and at once: no respawn loop to wait on).
    const later = await errorOf(() => pool.run(3));
    expectSynchronikError(later, 'ERR_THREAD_BOOTSTRAP');
  });

  test('a filename that does not exist: TypeError from useThreadPool itself, naming filename', () => {
    const manager = newManager();
    const missing = path.join(FIXTURES, 'no-such-module.js');
    expect(() => manager.useThreadPool({ filename: missing, size: 1 })).toThrow(TypeError);
    expect(() => manager.useThreadPool({ filename: missing, size: 1 })).toThrow(/filename/);
  });
});

describe('abort', () => {
  test('a queued task whose signal is aborted is removed and rejects with an AbortError whose cause is the reason', async () => {
    const pool = handlersPool(1);
    const gate = newGate();
    const blocker = pool.run(gate.path, { handler: 'gate' });
    await busy(pool);
    const controller = new AbortController();
    const queued = pool.run(1, { signal: controller.signal });
    const other = pool.run(2);
    const reason = new Error('changed my mind');
    controller.abort(reason);
    const e = await errorOf(() => queued);
    expect(e.name).toBe('AbortError');
    expect(e.cause).toBe(reason);
    gate.open();
    expect(typeof (await blocker)).toBe('number');
    // The task queued after the aborted one still runs.
    expect(await other).toBe(4);
  });

  test('a running task whose signal is aborted ends its thread (an infinite loop); later runs succeed on a new thread', async () => {
    const pool = handlersPool(1);
    const before = await pool.run(undefined, { handler: 'whereAmI' });
    const controller = new AbortController();
    const spinning = pool.run(undefined, { handler: 'spin', signal: controller.signal });
    await busy(pool);
    controller.abort('stop spinning');
    const e = await errorOf(() => spinning);
    expect(e.name).toBe('AbortError');
    expect(e.cause).toBe('stop spinning');
    const after = await pool.run(undefined, { handler: 'whereAmI' });
    expect(after).not.toBe(before);
    expect(await pool.run(10)).toBe(20);
    await eventually(() => pool.stats().threads.length === 1, 'one thread');
  });

  test('an already aborted signal rejects with an AbortError whose cause is the reason', async () => {
    const pool = handlersPool(1);
    const e = await errorOf(() => pool.run(1, { signal: AbortSignal.abort('too late') }));
    expect(e.name).toBe('AbortError');
    expect(e.cause).toBe('too late');
    expect(await pool.run(1)).toBe(2);
  });
});

describe('routing groups', () => {
  test("a specialist takes only its handlers; 'special' may run on either thread, 'plain' never on the specialist", async () => {
    const pool = newManager().useThreadPool({
      filename: HANDLERS,
      groups: [{ size: 1, handlers: ['special'] }, { size: 1 }],
    });
    // Learn the specialist's threadId: hold the generalist with a gate (not
    // a 'special' task, so the specialist cannot take it), then run
    // 'special', which only the specialist is free to take.
    const gate = newGate();
    const held = pool.run(gate.path, { handler: 'gate' });
    await busy(pool);
    const specialist = await pool.run(undefined, { handler: 'special' });
    gate.open();
    const generalist = await held;
    expect(specialist).not.toBe(generalist);

    const [plain, special] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => pool.run(undefined, { handler: 'plain' }))),
      Promise.all(Array.from({ length: 20 }, () => pool.run(undefined, { handler: 'special' }))),
    ]);
    expect(plain.filter((id) => id === specialist)).toEqual([]);
    expect(new Set(plain)).toEqual(new Set([generalist]));
    for (const id of special) expect([specialist, generalist]).toContain(id);

    const threads = pool.stats().threads;
    expect(threads).toHaveLength(2);
    expect(threads.filter((t) => t.handlers === null)).toHaveLength(1);
    expect(threads.filter((t) => t.handlers !== null).map((t) => t.handlers)).toEqual([['special']]);
  });
});

describe('stats()', () => {
  test('shape, and runs counted (per thread, and in runTime and waitTime)', async () => {
    const pool = handlersPool(2);
    await Promise.all(Array.from({ length: 6 }, (_, i) => pool.run(i)));
    const stats = pool.stats();
    expect(stats).toEqual(
      expect.objectContaining({
        threads: expect.any(Array),
        queued: 0,
        utilization: expect.any(Number),
        runTime: expect.objectContaining({ count: 6, mean: expect.any(Number) }),
        waitTime: expect.objectContaining({ count: 6, mean: expect.any(Number) }),
      }),
    );
    expect(stats.threads.length).toBeGreaterThanOrEqual(1);
    expect(stats.threads.length).toBeLessThanOrEqual(2);
    for (const t of stats.threads) {
      expect(t).toEqual(expect.objectContaining({ id: expect.any(String), handlers: null, runs: expect.any(Number), busy: false }));
    }
    expect(new Set(stats.threads.map((t) => t.id)).size).toBe(stats.threads.length);
    expect(stats.threads.reduce((sum, t) => sum + t.runs, 0)).toBe(6);
    expect(stats.utilization).toBeGreaterThanOrEqual(0);
    expect(stats.utilization).toBeLessThanOrEqual(1);
    expect(stats.runTime.mean).toBeGreaterThanOrEqual(0);
    expect(stats.waitTime.mean).toBeGreaterThanOrEqual(0);
  });

  test('queued counts the tasks waiting behind a busy thread, and falls back to 0', async () => {
    const pool = handlersPool(1);
    const gate = newGate();
    const blocker = pool.run(gate.path, { handler: 'gate' });
    await busy(pool);
    const waiting = [pool.run(1), pool.run(2), pool.run(3)];
    await eventually(() => pool.stats().queued === 3, 'three queued tasks');
    expect(pool.stats().threads).toEqual([expect.objectContaining({ busy: true })]);
    gate.open();
    await blocker;
    expect(await Promise.all(waiting)).toEqual([2, 4, 6]);
    expect(pool.stats().queued).toBe(0);
    await eventually(() => pool.stats().threads.every((t) => !t.busy), 'an idle thread');
  });
});

describe('the end of a pool', () => {
  test('close(): queued runs finish, runs after close reject with ERR_CLOSED, then every thread ends', async () => {
    const pool = handlersPool(1);
    const gate = newGate();
    const running = pool.run(gate.path, { handler: 'gate' });
    await busy(pool);
    const queued = [pool.run(1), pool.run(2)];
    const closed = track(pool.close());
    expectSynchronikError(await errorOf(() => pool.run(3)), 'ERR_CLOSED');
    // The close waits for the queued work, which waits for the gate.
    await settle(20);
    expect(closed.settled).toBe(false);
    gate.open();
    expect(typeof (await running)).toBe('number');
    expect(await Promise.all(queued)).toEqual([2, 4]);
    await eventually(() => closed.settled, 'close() to resolve');
    expect(closed.error).toBeUndefined();
    expect(pool.stats().threads).toEqual([]);
  });

  test('destroy(): the running and the queued tasks reject with ERR_CLOSED, every thread ends now', async () => {
    const pool = handlersPool(1);
    const running = pool.run(undefined, { handler: 'spin' });
    await busy(pool);
    const queued = pool.run(1);
    const outcomes = Promise.all([errorOf(() => running), errorOf(() => queued)]);
    await pool.destroy();
    for (const e of await outcomes) expectSynchronikError(e, 'ERR_CLOSED');
    expect(pool.stats().threads).toEqual([]);
    expectSynchronikError(await errorOf(() => pool.run(1)), 'ERR_CLOSED');
  });

  test("the manager's close() destroys its pools: running and queued tasks reject with ERR_CLOSED", async () => {
    const manager = newManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1 });
    const running = pool.run(undefined, { handler: 'spin' });
    await busy(pool);
    const queued = pool.run(1);
    const outcomes = Promise.all([errorOf(() => running), errorOf(() => queued)]);
    await manager.close();
    for (const e of await outcomes) expectSynchronikError(e, 'ERR_CLOSED');
    expect(pool.stats().threads).toEqual([]);
  });

  test("pool.run works without start(); the manager's stop() ends the pool's threads and refuses runs until start()", async () => {
    const manager = newManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 1 });
    expect(await pool.run(1)).toBe(2);
    manager.start();
    await manager.stop();
    expect(pool.stats().threads).toEqual([]);
    await expect(pool.run(2)).rejects.toMatchObject({ code: 'ERR_STOPPED' });
    manager.start();
    expect(await pool.run(2)).toBe(4);
  });

  test('20 pools created, used and closed in a row leave no thread behind', async () => {
    const manager = newManager();
    // One pool first, so that what the first pool starts once per process is counted in `before`.
    const warm = manager.useThreadPool({ filename: HANDLERS, size: 2, name: 'warm-up' });
    await Promise.all([warm.run(1), warm.run(2)]);
    await warm.close();
    const before = threadCount();
    for (let i = 0; i < 20; i++) {
      const pool = manager.useThreadPool({ filename: HANDLERS, size: 2, name: `pool-${i}` });
      expect(await Promise.all([pool.run(i), pool.run(i + 1)])).toEqual([2 * i, 2 * i + 2]);
      await pool.close();
      expect(pool.stats().threads).toEqual([]);
    }
    // Generous margin: thread exit is asynchronous at the OS level.
    await eventually(() => threadCount() <= before + 2, `at most ${before + 2} threads (now ${threadCount()})`);
  });
});

describe('bad options', () => {
  test.each([
    ['options missing', undefined, /options/],
    ['options not an object', 'handlers.js', /options/],
    ['filename missing', {}, /filename/],
    ['filename not a string or URL', { filename: 42 }, /filename/],
    ['filename empty', { filename: '' }, /filename/],
    ['filename a URL that is not file:', { filename: new URL('https://example.com/handlers.js') }, /filename/],
    ['size 0', { filename: HANDLERS, size: 0 }, /size/],
    ['size 1.5', { filename: HANDLERS, size: 1.5 }, /size/],
    ['size negative', { filename: HANDLERS, size: -2 }, /size/],
    ['size a string', { filename: HANDLERS, size: '2' }, /size/],
    ['name not a string', { filename: HANDLERS, name: 5 }, /name/],
    ['maxQueue -1', { filename: HANDLERS, maxQueue: -1 }, /maxQueue/],
    ['maxQueue a string', { filename: HANDLERS, maxQueue: '10' }, /maxQueue/],
    ['idleTimeoutMs negative', { filename: HANDLERS, idleTimeoutMs: -5 }, /idleTimeoutMs/],
    ['resourceLimits not an object', { filename: HANDLERS, resourceLimits: 16 }, /resourceLimits/],
    ['groups not an array', { filename: HANDLERS, groups: { size: 1 } }, /groups/],
    ['groups with a group of size 0', { filename: HANDLERS, groups: [{ size: 0 }] }, /groups/],
    ['groups with a group without size', { filename: HANDLERS, groups: [{ handlers: ['special'] }] }, /groups/],
    ['groups with handlers not an array', { filename: HANDLERS, groups: [{ size: 1, handlers: 'special' }] }, /groups/],
    ['groups with a handler name not a string', { filename: HANDLERS, groups: [{ size: 1, handlers: [3] }] }, /groups/],
  ])('%s: TypeError naming the field', (_, options, field) => {
    const manager = newManager();
    let thrown;
    try {
      manager.useThreadPool(options);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown.message).toMatch(field);
  });

  test('bad run options: TypeError naming the field', async () => {
    const pool = handlersPool(1);
    for (const [options, field] of [
      [{ handler: 3 }, /handler/],
      [{ priority: 'high' }, /priority/],
      [{ signal: {} }, /signal/],
      [{ transferList: 'buffer' }, /transferList/],
    ]) {
      const e = await errorOf(() => pool.run(1, options));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(field);
    }
    // None of them reached a thread: the pool serves as before.
    expect(await pool.run(1)).toBe(2);
  });
});
