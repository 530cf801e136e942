'use strict';

// Named tasks of thread pools (pool.addTask, pool.cancelTask), durable with
// a SQLite store, and thread pools under the manager's stop()/start() and
// close(), tested from the outside against their contract: task objects and
// `task` events, validation, the ctx handlers get, a process killed with
// SIGKILL in the middle of a task, history rows, worker and thread pools of
// one name, child processes that must exit by themselves.
//
// Waits are on task statuses, events and files, polled with a generous
// bound (10 s); a task that must hold its thread waits on a file the test
// creates (handler `hold`), so no test depends on how fast a thread runs.
// Task results and handler errors come from Node's own realm: they are
// compared by tag, name and code, never with `instanceof`.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { SynchronikError } = require('..');
const { ROOT, closedAfterEach, errorOf, runNode, expectCleanExit, sleep, track } = require('./helpers');

const FIXTURES = path.join(__dirname, 'fixtures', 'threads-durable');
const HANDLERS = path.join(FIXTURES, 'handlers.js');
const CHILD = path.join(FIXTURES, 'child.js');

/** Generous bound for anything a test waits for. */
const BOUND_MS = 10_000;

// Managers made with `create` are closed after each test (declared before
// the removal of the directory, so they are closed first).
const create = closedAfterEach();

let dir;
let gates = 0;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-threads-durable-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const dbPath = () => path.join(dir, 'state.db');
const logPath = () => path.join(dir, 'log.jsonl');

/** A manager with the SQLite store of this test. */
const stored = () => create({ storage: { sqlite: dbPath() } });

/** A thread pool on the handlers fixture, one thread unless said otherwise. */
const threadPool = (manager, options = {}) => manager.useThreadPool({ filename: HANDLERS, size: 1, ...options });

/** The lines the `record` and `hold` handlers noted: { name, args, attempt, key }. */
const noted = () =>
  fs.existsSync(logPath())
    ? fs
        .readFileSync(logPath(), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];

/** The payload of a `record` (or `hold`) task called `name`. */
const recordPayload = (name, extra = {}) => ({ name, log: logPath(), ...extra });

/**
 * Polls `check()` every 10 ms until it holds; fails after `ms` naming
 * `what` (a string, or a function that says it then).
 */
async function waitFor(check, what, ms = BOUND_MS) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(10);
  }
}

const ENDED = ['completed', 'error', 'cancelled'];
/** Resolves once the task object's status is an end. */
const ended = (task) => waitFor(() => ENDED.includes(task.status), () => `task "${task.name}" to end (it is ${task.status})`);

/** A file the `hold` handler waits for: `open()` creates it. */
function newGate() {
  const file = path.join(dir, `gate-${++gates}`);
  return { path: file, open: () => fs.writeFileSync(file, '') };
}

/** Resolves once the pool has a busy thread. */
const busy = (pool) => waitFor(() => pool.stats().threads.some((t) => t.busy), 'a busy thread');

/**
 * Holds a thread of `pool` with a pool.run of `hold` until `release()`;
 * resolves once the thread is busy with it.
 */
async function occupy(pool) {
  const gate = newGate();
  const run = pool.run({ name: 'occupier', gate: gate.path }, { handler: 'hold' });
  await busy(pool);
  return { run, release: gate.open };
}

/** Every `task` event of the manager (a listener, so no failure is printed). */
function taskEvents(manager) {
  const events = [];
  manager.on('task', (event) => events.push({ ...event }));
  return events;
}

/** The payloads of the manager's `storage:restored` milestones (listen before the pool is made). */
function restoredMilestones(manager) {
  const payloads = [];
  manager.on('milestone', (event) => {
    if (event.milestoneId === 'storage:restored') payloads.push(event.payload);
  });
  return payloads;
}

/**
 * A manager on this test's database whose thread pool `name` (one thread,
 * held by a pool.run) gets the named tasks `inputs`, which therefore wait;
 * the manager is then closed: they stay stored. Returns the task objects.
 */
async function storeWaiting(name, inputs) {
  const manager = stored();
  taskEvents(manager);
  const pool = threadPool(manager, { name });
  const held = await occupy(pool);
  held.run.catch(() => {});
  const tasks = inputs.map((input) => pool.addTask(input));
  for (const task of tasks) expect(task.status).toBe('idle');
  await manager.close();
  return tasks;
}

/** Expects `e` to be a SynchronikError with `code`. */
function expectSynchronikError(e, code) {
  expect(e).toBeInstanceOf(SynchronikError);
  expect([e.name, e.code]).toEqual(['SynchronikError', code]);
}

/** Expects `fn()` to throw a TypeError whose message matches `pattern`. */
function expectTypeError(fn, pattern) {
  let thrown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown && [thrown.name, thrown.constructor.name]).toEqual(['TypeError', 'TypeError']);
  expect(thrown.message).toMatch(pattern);
}

/** Starts the child fixture; `out` collects what it prints, `ended` resolves when it ends. */
function startChild(args) {
  const proc = spawn(process.execPath, [CHILD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => (out.stdout += d));
  proc.stderr.on('data', (d) => (out.stderr += d));
  const ended = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, ...out })));
  return { proc, out, ended };
}

/** The JSON lines a child printed. */
const printed = (stdout) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('a process killed in the middle of a stored task', () => {
  test('the next manager runs the task again (attempt 2, same idempotency key) and the queued one once; then nothing is left', async () => {
    const gate = newGate();
    const child = startChild(['crash', dbPath(), logPath(), gate.path]);
    try {
      await waitFor(() => noted().some((l) => l.name === 'first') && child.out.stdout.includes('"running"'), `the first task to run in the child (stderr: ${child.out.stderr})`);
      child.proc.kill('SIGKILL');
      const result = await child.ended;
      expect({ signal: result.signal, stderr: result.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    } finally {
      child.proc.kill('SIGKILL');
    }
    const { keys } = printed(child.out.stdout)[0];
    expect(keys).toEqual({ first: expect.any(String), second: expect.any(String) });
    expect(keys.first).not.toBe(keys.second);
    const firstRun = { name: 'first', args: 2, attempt: 1, key: keys.first };
    expect(noted()).toEqual([firstRun]);

    // The second manager: "first" may now complete.
    gate.open();
    const m = stored();
    const restored = restoredMilestones(m);
    const events = taskEvents(m);
    threadPool(m, { name: 'jobs' });
    expect(restored).toEqual([{ pool: 'jobs', threads: true, tasks: 2 }]);
    await waitFor(() => events.filter((e) => ENDED.includes(e.status)).length === 2, 'both restored tasks to end');
    // Stored order (priority first), the hung task with attempt + 1 and its key, the other once.
    expect(noted()).toEqual([firstRun, { name: 'first', args: 2, attempt: 2, key: keys.first }, { name: 'second', args: 2, attempt: 1, key: keys.second }]);
    expect(events.map((e) => `${e.name}:${e.status}`)).toEqual(['first:running', 'first:completed', 'second:running', 'second:completed']);
    const first = events[0].task;
    expect(first).toMatchObject({ name: 'first', handler: 'hold', priority: 1, status: 'completed', idempotencyKey: keys.first, result: { released: 'first' } });
    expect(first.payload).toEqual({ name: 'first', log: logPath(), gate: gate.path });
    expect(events[2].task).toMatchObject({ name: 'second', handler: 'record', priority: 0, status: 'completed', idempotencyKey: keys.second, result: { done: 'second' } });
    const rows = await m.history();
    expect(rows.map((r) => [r.task.name, r.attempt, r.outcome])).toEqual(
      expect.arrayContaining([
        ['first', 2, 'completed'],
        ['second', 1, 'completed'],
      ]),
    );
    await m.close();

    // A third manager has nothing to bring back.
    const third = stored();
    const again = restoredMilestones(third);
    const pool = threadPool(third, { name: 'jobs' });
    expect(again).toEqual([]);
    expect(pool.stats().queued).toBe(0);
    expect(await pool.run(4)).toBe(8);
    expect(noted()).toHaveLength(3);
  });
});

describe('history', () => {
  test('one row per attempt of a stored thread task: unitId <pool>:thread-<n>, the task, completed or error', async () => {
    const m = stored();
    taskEvents(m);
    const pool = threadPool(m, { name: 'hist' });
    const good = pool.addTask({ name: 'good', handler: 'record', payload: recordPayload('good') });
    const bad = pool.addTask({ name: 'bad', handler: 'fail', payload: 'no luck' });
    await ended(good);
    await ended(bad);
    expect([good.status, bad.status]).toEqual(['completed', 'error']);
    const rows = await m.history();
    expect(rows).toHaveLength(2);
    const byName = Object.fromEntries(rows.map((r) => [r.task.name, r]));
    expect(byName.good).toEqual(
      expect.objectContaining({
        unitId: expect.stringMatching(/^hist:thread-\d+$/),
        attempt: 1,
        outcome: 'completed',
        task: { name: 'good', pool: 'hist', idempotencyKey: good.idempotencyKey },
      }),
    );
    expect(byName.good.error).toBeUndefined();
    expect(byName.bad).toEqual(
      expect.objectContaining({
        unitId: expect.stringMatching(/^hist:thread-\d+$/),
        attempt: 1,
        outcome: 'error',
        error: expect.stringContaining('the handler threw'),
        task: { name: 'bad', pool: 'hist', idempotencyKey: bad.idempotencyKey },
      }),
    );
    // The pool's only thread ran both; its id is the one stats() shows.
    expect(byName.bad.unitId).toBe(byName.good.unitId);
    expect(pool.stats().threads.map((t) => t.id)).toEqual([byName.good.unitId]);
    for (const r of rows) expect(r.endedAt.getTime()).toBeGreaterThanOrEqual(r.startedAt.getTime());
    // pool.run is not stored: it adds no row.
    expect(await pool.run(1)).toBe(2);
    expect(await m.history()).toHaveLength(2);
  });
});

describe('names', () => {
  test('a name that waits already: null and a warning; a running or finished name can be used again', async () => {
    const m = create();
    taskEvents(m);
    const pool = threadPool(m);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const held = await occupy(pool);
    const first = pool.addTask({ name: 'dup', handler: 'record', payload: recordPayload('dup') });
    expect(first.status).toBe('idle');
    expect(pool.addTask({ name: 'dup', handler: 'record', payload: recordPayload('dup-2') })).toBeNull();
    expect(warn.mock.calls).toEqual([['Task with name "dup" already exists.']]);
    held.release();
    await held.run;
    await ended(first);
    expect(first.status).toBe('completed');

    // Finished: the name is free again.
    const again = pool.addTask({ name: 'dup', handler: 'record', payload: recordPayload('dup-3') });
    expect(again).not.toBeNull();
    expect(again).not.toBe(first);
    await ended(again);
    expect(again.status).toBe('completed');
    expect(noted().map((l) => l.name)).toEqual(['dup', 'dup-3']);

    // Running: the name is free too. (The task waits behind a pool.run and
    // is handed to the thread as the run ends; a task taken by an idle thread
    // is the next test's.)
    const heldAgain = await occupy(pool);
    const gate = newGate();
    const running = pool.addTask({ name: 'busy', handler: 'hold', payload: { name: 'busy', gate: gate.path } });
    heldAgain.release();
    await heldAgain.run;
    await waitFor(() => running.status === 'running', 'the task to run');
    const next = pool.addTask({ name: 'busy', handler: 'record', payload: recordPayload('busy-2') });
    expect(next).not.toBeNull();
    gate.open();
    await ended(running);
    await ended(next);
    expect([running.status, next.status]).toEqual(['completed', 'completed']);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  test("a task taken by a thread that was idle is 'running' (status and event): its name is free, cancelTask leaves it", async () => {
    const m = create();
    const events = taskEvents(m);
    const pool = threadPool(m, { name: 'idle' });
    // The pool's thread is idle, but it takes the next task only after 200
    // ms (its event loop is busy), when this thread is done with addTask.
    expect(await pool.run(200, { handler: 'busyAfter' })).toBe('returned');
    expect(pool.stats().threads).toEqual([expect.objectContaining({ busy: false })]);
    const gate = newGate();
    const task = pool.addTask({ name: 'late', handler: 'hold', payload: recordPayload('late', { gate: gate.path }) });
    // The handler runs (it noted its call) ...
    await waitFor(() => noted().length === 1, 'the handler to run');
    // ... so the task is running, and says so (its handler runs: 2 s is plenty for the record that says it).
    await waitFor(() => task.status === 'running', () => `the task to be 'running' (it is '${task.status}' while its handler runs)`, 2000);
    expect(events.map((e) => `${e.name}:${e.status}`)).toEqual(['late:running']);
    // Running, not waiting: cancelTask leaves it, and its name can be used again.
    expect(pool.cancelTask('late')).toBe(false);
    expect(task.status).toBe('running');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const again = pool.addTask({ name: 'late', handler: 'record', payload: recordPayload('late-2') });
    expect(warn).not.toHaveBeenCalled();
    expect(again).not.toBeNull();
    gate.open();
    await ended(task);
    await ended(again);
    expect([task.status, again.status]).toEqual(['completed', 'completed']);
    expect(noted().map((l) => l.name)).toEqual(['late', 'late-2']);
  });
});

describe('validation', () => {
  test('bad tasks are TypeErrors naming the field; none is queued', () => {
    const m = create();
    const pool = threadPool(m);
    expectTypeError(() => pool.addTask('job'), /^addTask: task must be an object/);
    expectTypeError(() => pool.addTask(null), /^addTask: task must be an object/);
    expectTypeError(() => pool.addTask(), /^addTask: task must be an object/);
    expectTypeError(() => pool.addTask({ name: 'a', retries: 2 }), /^addTask: task.*retries/);
    expectTypeError(() => pool.addTask({ handler: 'record' }), /^addTask: task\.name/);
    expectTypeError(() => pool.addTask({ name: '' }), /^addTask: task\.name/);
    expectTypeError(() => pool.addTask({ name: 5 }), /^addTask: task\.name/);
    expectTypeError(() => pool.addTask({ name: 'a', handler: '' }), /^addTask: task\.handler/);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 3 }), /^addTask: task\.handler/);
    expectTypeError(() => pool.addTask({ name: 'a\0b', handler: 'kind' }), /^addTask: task\.name must not contain NUL/);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'ki\0nd' }), /^addTask: task\.handler must not contain NUL/);
    expectTypeError(() => pool.addTask({ name: 'a', priority: Number.NaN }), /^addTask: task\.priority/);
    expectTypeError(() => pool.addTask({ name: 'a', priority: 'high' }), /^addTask: task\.priority/);
    // Without a store the payload must be cloneable only.
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: () => 1 }), /^addTask: task\.payload/);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: { f() {} } }), /^addTask: task\.payload/);
    expect(pool.stats().queued).toBe(0);
  });

  test('a closed pool and a full queue: SynchronikErrors thrown by addTask itself', async () => {
    const m = create();
    taskEvents(m);
    const pool = threadPool(m, { maxQueue: 1 });
    const held = await occupy(pool);
    const waiting = pool.addTask({ name: 'a', handler: 'record', payload: recordPayload('a') });
    let full;
    try {
      pool.addTask({ name: 'b', handler: 'record', payload: recordPayload('b') });
    } catch (e) {
      full = e;
    }
    expectSynchronikError(full, 'ERR_QUEUE_FULL');
    held.release();
    await ended(waiting);
    expect(waiting.status).toBe('completed');
    await pool.close();
    let closed;
    try {
      pool.addTask({ name: 'c', handler: 'record', payload: recordPayload('c') });
    } catch (e) {
      closed = e;
    }
    expectSynchronikError(closed, 'ERR_CLOSED');
    expect(noted().map((l) => l.name)).toEqual(['a']);
  });

  test('a handler that no group of the pool takes is refused', () => {
    const m = create();
    const pool = threadPool(m, { size: undefined, groups: [{ size: 1, handlers: ['record'] }] });
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind' }), /^addTask: task\.handler.*"kind"/);
    // The default handler is a handler too.
    expectTypeError(() => pool.addTask({ name: 'a' }), /^addTask: task\.handler.*"default"/);
    expect(pool.stats().queued).toBe(0);
  });

  test('with a store the payload must be JSON-serialisable: a function, a BigInt, a circular structure are refused', async () => {
    const m = stored();
    taskEvents(m);
    const pool = threadPool(m, { name: 'json' });
    const circular = { a: 1 };
    circular.self = circular;
    const refused = /^addTask: task\.payload must be JSON-serialisable to be stored \(got /;
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: () => 1 }), refused);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: { f: () => 1 } }), refused);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: 10n }), /\(got a BigInt/);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: { n: 10n } }), /\(got a BigInt/);
    expectTypeError(() => pool.addTask({ name: 'a', handler: 'kind', payload: circular }), /\(got a circular structure/);
    // None of them took the name or was stored: the name is free, and only this one is stored.
    const ok = pool.addTask({ name: 'a', handler: 'kind', payload: { n: 1 } });
    expect(ok).not.toBeNull();
    await ended(ok);
    expect(ok.result).toEqual({ tag: '[object Object]', entries: null });
    await m.close();
    const next = stored();
    const restored = restoredMilestones(next);
    threadPool(next, { name: 'json' });
    expect(restored).toEqual([]);
  });

  test('without a store a Map payload works and arrives as a Map', async () => {
    const m = create();
    const pool = threadPool(m);
    const task = pool.addTask({ name: 'map', handler: 'kind', payload: new Map([['k', { v: 1 }]]) });
    expect(task.payload.constructor.name).toBe('Map');
    await ended(task);
    expect(task.status).toBe('completed');
    expect(task.result).toEqual({ tag: '[object Map]', entries: [['k', { v: 1 }]] });
  });
});

describe('task objects and task events', () => {
  test("'running' then 'completed' with the result; the event carries the live task object", async () => {
    const m = create();
    const events = [];
    m.on('task', (event) => events.push({ ...event, statusThen: event.task.status }));
    const pool = threadPool(m, { name: 'objs' });
    const task = pool.addTask({ name: 't', handler: 'record', payload: recordPayload('t'), priority: 3 });
    expect(task).toEqual({ name: 't', handler: 'record', payload: recordPayload('t'), priority: 3, arrangementId: 1, status: 'idle' });
    expect(task).not.toHaveProperty('idempotencyKey');
    await ended(task);
    expect(task.status).toBe('completed');
    expect(task.result).toEqual({ done: 't' });
    expect(task.error).toBeUndefined();
    expect(events).toEqual([
      { type: 'task', pool: 'objs', name: 't', status: 'running', task, statusThen: 'running' },
      { type: 'task', pool: 'objs', name: 't', status: 'completed', task, statusThen: 'completed' },
    ]);
    expect(events[0].task).toBe(task);
    // The default handler, with the default priority.
    const doubled = pool.addTask({ name: 'd', payload: 21 });
    expect(doubled).toMatchObject({ handler: 'default', priority: 0 });
    await ended(doubled);
    expect(doubled.result).toBe(42);
  });

  test("a throwing handler: 'error' with what it threw, on the task and in the event", async () => {
    const m = create();
    const events = taskEvents(m);
    const pool = threadPool(m, { name: 'errs' });
    const task = pool.addTask({ name: 'bad', handler: 'fail', payload: 'out of range' });
    await ended(task);
    expect(task.status).toBe('error');
    expect([task.error.name, task.error.message, task.error.code]).toEqual(['RangeError', 'out of range', 'E_DURABLE_FIXTURE']);
    expect(task.result).toBeUndefined();
    expect(events.map((e) => e.status)).toEqual(['running', 'error']);
    expect(events[1]).toMatchObject({ type: 'task', pool: 'errs', name: 'bad', status: 'error' });
    expect(events[1].error).toBe(task.error);
  });

  test("a thread that calls process.exit mid-task: 'error' with ERR_THREAD_EXITED; the pool goes on", async () => {
    const m = create();
    const events = taskEvents(m);
    const pool = threadPool(m);
    const task = pool.addTask({ name: 'gone', handler: 'exit', payload: 3 });
    await ended(task);
    expect(task.status).toBe('error');
    expectSynchronikError(task.error, 'ERR_THREAD_EXITED');
    expect(events.map((e) => e.status)).toEqual(['running', 'error']);
    expect(events[1].error).toBe(task.error);
    const after = pool.addTask({ name: 'after', payload: 5 });
    await ended(after);
    expect(after.result).toBe(10);
  });

  test('a failure nobody listens to is printed once with console.error', async () => {
    const m = create();
    const error = jest.spyOn(console, 'error').mockImplementation(() => {});
    const pool = threadPool(m, { name: 'quiet' });
    const one = pool.addTask({ name: 'one', handler: 'fail', payload: 'first failure' });
    const two = pool.addTask({ name: 'two', handler: 'fail', payload: 'second failure' });
    await ended(one);
    await ended(two);
    expect([one.status, two.status]).toEqual(['error', 'error']);
    expect(error).toHaveBeenCalledTimes(1);
    const [message, printedError] = error.mock.calls[0];
    expect(message).toMatch(/^\[synchronik\] pool task "one" \(pool "quiet"\) failed/);
    expect(printedError).toBe(one.error);
  });
});

describe('cancelTask', () => {
  test("a waiting task: true and 'cancelled'; an unknown or running name: false; a non-string: TypeError", async () => {
    const m = create();
    const events = taskEvents(m);
    const pool = threadPool(m);
    const gate = newGate();
    const running = pool.addTask({ name: 'running', handler: 'hold', payload: { name: 'running', gate: gate.path } });
    await waitFor(() => running.status === 'running', 'the task to run');
    const waiting = pool.addTask({ name: 'waiting', handler: 'record', payload: recordPayload('waiting') });
    expect(pool.cancelTask('waiting')).toBe(true);
    expect(waiting.status).toBe('cancelled');
    expect(pool.cancelTask('waiting')).toBe(false);
    expect(pool.cancelTask('nobody')).toBe(false);
    expect(pool.cancelTask('running')).toBe(false);
    expect(running.status).toBe('running');
    expectTypeError(() => pool.cancelTask(7), /^cancelTask: name/);
    expectTypeError(() => pool.cancelTask(), /^cancelTask: name/);
    gate.open();
    await ended(running);
    expect(running.status).toBe('completed');
    // The cancelled task never ran; its name is free.
    expect(noted()).toEqual([]);
    expect(events.filter((e) => e.name === 'waiting').map((e) => e.status)).toEqual(['cancelled']);
    const reused = pool.addTask({ name: 'waiting', handler: 'record', payload: recordPayload('waiting') });
    await ended(reused);
    expect(reused.status).toBe('completed');
  });

  test('a cancelled stored task is deleted: the next manager does not bring it back', async () => {
    const m = stored();
    taskEvents(m);
    const pool = threadPool(m, { name: 'c' });
    const held = await occupy(pool);
    const kept = pool.addTask({ name: 'kept', handler: 'record', payload: recordPayload('kept') });
    const dropped = pool.addTask({ name: 'dropped', handler: 'record', payload: recordPayload('dropped') });
    expect(pool.cancelTask('dropped')).toBe(true);
    expect(dropped.status).toBe('cancelled');
    held.run.catch(() => {});
    await m.close();
    expect(kept.status).not.toBe('completed');

    const next = stored();
    const restored = restoredMilestones(next);
    const events = taskEvents(next);
    threadPool(next, { name: 'c' });
    expect(restored).toEqual([{ pool: 'c', threads: true, tasks: 1 }]);
    await waitFor(() => events.some((e) => e.status === 'completed'), 'the restored task to complete');
    expect(noted().map((l) => l.name)).toEqual(['kept']);
  });
});

describe('ctx', () => {
  test('without a store: { attempt: 1, idempotencyKey: undefined }; pool.run handlers get no second argument', async () => {
    const m = create();
    const pool = threadPool(m);
    const task = pool.addTask({ name: 'c', handler: 'ctx' });
    await ended(task);
    expect(task.result).toEqual({ args: 2, keys: ['attempt', 'idempotencyKey'], attempt: 1, idempotencyKey: undefined });
    expect(await pool.run(undefined, { handler: 'ctx' })).toEqual({ args: 1, keys: null, attempt: undefined, idempotencyKey: undefined });
  });

  test("with a store: attempt 1 and the task's idempotencyKey; pool.run handlers still get no second argument", async () => {
    const m = stored();
    const pool = threadPool(m);
    const task = pool.addTask({ name: 'c', handler: 'ctx' });
    expect(typeof task.idempotencyKey).toBe('string');
    expect(task.idempotencyKey).not.toBe('');
    await ended(task);
    expect(task.result).toEqual({ args: 2, keys: ['attempt', 'idempotencyKey'], attempt: 1, idempotencyKey: task.idempotencyKey });
    expect(await pool.run(undefined, { handler: 'ctx' })).toEqual({ args: 1, keys: null, attempt: undefined, idempotencyKey: undefined });
  });
});

describe('a worker pool and a thread pool of one name', () => {
  test('after a restart each brings back only its own stored tasks', async () => {
    const a = stored();
    const workers = a.useWorkerPool(1, { name: 'same' });
    workers.handle('h', () => {});
    // The manager is not started: the worker pool's task waits.
    workers.addTask({ name: 'workerTask', handler: 'h', payload: { n: 1 } });
    await a.close();
    await storeWaiting('same', [{ name: 'threadTask', handler: 'record', payload: recordPayload('threadTask') }]);

    const b = stored();
    const restored = restoredMilestones(b);
    const events = taskEvents(b);
    threadPool(b, { name: 'same' });
    expect(restored).toEqual([{ pool: 'same', threads: true, tasks: 1 }]);
    const pool = b.useWorkerPool(1, { name: 'same' });
    expect(restored).toHaveLength(2);
    expect(restored[1]).toMatchObject({ pool: 'same', tasks: 1 });
    expect(restored[1].threads).toBeUndefined();
    expect(pool.simulateRun()).toBe('Execution sequence: 1. workerTask');
    await waitFor(() => events.some((e) => e.status === 'completed'), 'the thread task to complete');
    expect(events.map((e) => `${e.name}:${e.status}`)).toEqual(['threadTask:running', 'threadTask:completed']);
    expect(noted()).toEqual([{ name: 'threadTask', args: 2, attempt: 1, key: expect.any(String) }]);
    // The worker pool runs its own task.
    const ran = [];
    pool.handle('h', (payload) => ran.push(payload));
    pool.start();
    await pool.onIdle();
    expect(ran).toEqual([{ n: 1 }]);
  });
});

describe("the manager's stop() and start()", () => {
  test('stop waits for a running pool.run, drops a queued one (ERR_STOPPED), ends every thread; runs are refused until start()', async () => {
    const m = create();
    const pool = threadPool(m, { name: 'sp' });
    const held = await occupy(pool);
    const running = track(held.run);
    const queued = pool.run(2);
    const stop = m.stop();
    const stopping = track(stop);
    const dropped = await errorOf(() => queued);
    expectSynchronikError(dropped, 'ERR_STOPPED');
    expect(dropped.message).toMatch(/a task queued in pool .*sp.* was dropped: the manager was stopped before it ran/);
    // The stop waits for the running task.
    await sleep(50);
    expect([running.settled, stopping.settled]).toEqual([false, false]);
    held.release();
    await stop;
    expect(running.settled).toBe(true);
    expect(running.value).toEqual({ released: 'occupier' });
    expect(pool.stats().threads).toEqual([]);

    const refused = await errorOf(() => pool.run(3));
    expectSynchronikError(refused, 'ERR_STOPPED');
    expect(refused.message).toMatch(/thread pool .*sp.* is stopped with its manager; start the manager/);
    m.start();
    expect(await pool.run(3)).toBe(6);
  });

  test("addTask while stopped is accepted and waits ('idle'); it runs after start()", async () => {
    const m = create();
    const pool = threadPool(m);
    expect(await pool.run(1)).toBe(2);
    await m.stop();
    const task = pool.addTask({ name: 'later', handler: 'record', payload: recordPayload('later') });
    expect(task.status).toBe('idle');
    await sleep(100);
    expect(task.status).toBe('idle');
    expect(noted()).toEqual([]);
    expect(pool.stats().threads).toEqual([]);
    m.start();
    await ended(task);
    expect(task.status).toBe('completed');
    expect(noted().map((l) => l.name)).toEqual(['later']);
  });

  test("stop({ timeoutMs: 50 }) with handlers that never settle: ERR_STOPPED, the threads are gone", async () => {
    const m = create();
    const events = taskEvents(m);
    const pool = threadPool(m, { size: 2 });
    const spinning = pool.run(undefined, { handler: 'spin' });
    const named = pool.addTask({ name: 'spinner', handler: 'spin' });
    await waitFor(() => pool.stats().threads.filter((t) => t.busy).length === 2, 'two busy threads');
    const outcome = errorOf(() => spinning);
    await m.stop({ timeoutMs: 50 });
    expectSynchronikError(await outcome, 'ERR_STOPPED');
    expect(pool.stats().threads).toEqual([]);
    // A named task ended by the engine is cancelled, with the engine's error.
    await ended(named);
    expect(named.status).toBe('cancelled');
    expectSynchronikError(named.error, 'ERR_STOPPED');
    expect(events.filter((e) => e.name === 'spinner').map((e) => e.status)).toEqual(['running', 'cancelled']);
    m.start();
    expect(await pool.run(2)).toBe(4);
  });

  test("a named task queued in memory at stop: 'cancelled' with ERR_STOPPED", async () => {
    const m = create();
    const events = taskEvents(m);
    const pool = threadPool(m);
    const held = await occupy(pool);
    const queued = pool.addTask({ name: 'q', handler: 'record', payload: recordPayload('q') });
    const stopping = m.stop();
    await ended(queued);
    expect(queued.status).toBe('cancelled');
    expectSynchronikError(queued.error, 'ERR_STOPPED');
    expect(events).toEqual([expect.objectContaining({ name: 'q', status: 'cancelled', error: queued.error })]);
    held.release();
    await stopping;
    m.start();
    await sleep(50);
    expect(noted()).toEqual([]);
  });

  test("a stored named task queued at stop stays 'idle' and runs after start()", async () => {
    const m = stored();
    const events = taskEvents(m);
    const pool = threadPool(m);
    const held = await occupy(pool);
    const queued = pool.addTask({ name: 'q', handler: 'record', payload: recordPayload('q') });
    const stopping = m.stop();
    held.release();
    await stopping;
    expect(queued.status).toBe('idle');
    expect(events).toEqual([]);
    expect(noted()).toEqual([]);
    m.start();
    await ended(queued);
    expect(queued.status).toBe('completed');
    expect(noted()).toEqual([{ name: 'q', args: 2, attempt: 1, key: queued.idempotencyKey }]);
  });
});

describe("the manager's close()", () => {
  test('a stored task running and one queued stay stored; the next manager runs them (the running one with attempt + 1)', async () => {
    const gate = newGate();
    const m = stored();
    const events = taskEvents(m);
    const pool = threadPool(m, { name: 'cl' });
    const running = pool.addTask({ name: 'running', handler: 'hold', payload: recordPayload('running', { gate: gate.path }), priority: 1 });
    await waitFor(() => noted().length === 1, 'the task to run');
    const queued = pool.addTask({ name: 'queued', handler: 'record', payload: recordPayload('queued') });
    await m.close();
    expect([running.status, queued.status]).toEqual(['cancelled', 'cancelled']);
    expectSynchronikError(running.error, 'ERR_CLOSED');
    expect(events.filter((e) => e.name === 'running').map((e) => e.status)).toEqual(['running', 'cancelled']);

    gate.open();
    const next = stored();
    const restored = restoredMilestones(next);
    const nextEvents = taskEvents(next);
    threadPool(next, { name: 'cl' });
    expect(restored).toEqual([{ pool: 'cl', threads: true, tasks: 2 }]);
    await waitFor(() => nextEvents.filter((e) => e.status === 'completed').length === 2, 'both tasks to complete');
    expect(noted()).toEqual([
      { name: 'running', args: 2, attempt: 1, key: running.idempotencyKey },
      { name: 'running', args: 2, attempt: 2, key: running.idempotencyKey },
      { name: 'queued', args: 2, attempt: 1, key: queued.idempotencyKey },
    ]);
    // The first attempt, ended by the engine, has a row of its own.
    const rows = await next.history();
    expect(rows.filter((r) => r.task.name === 'running').map((r) => [r.attempt, r.outcome])).toEqual([
      [2, 'completed'],
      [1, 'stopped'],
    ]);
  });
});

describe('child processes exit by themselves', () => {
  test('stored tasks waiting, then await manager.stop(): the process exits; the tasks stay stored', async () => {
    const gate = newGate();
    const result = await runNode([CHILD, 'stop', dbPath(), logPath(), gate.path], { timeoutMs: BOUND_MS });
    expectCleanExit(result);
    const [{ keys }, statuses] = printed(result.stdout);
    expect(statuses).toEqual({ first: 'completed', second: 'idle' });

    const m = stored();
    const restored = restoredMilestones(m);
    const events = taskEvents(m);
    threadPool(m, { name: 'jobs' });
    expect(restored).toEqual([{ pool: 'jobs', threads: true, tasks: 1 }]);
    await waitFor(() => events.some((e) => e.status === 'completed'), 'the restored task to complete');
    expect(noted()).toEqual([
      { name: 'first', args: 2, attempt: 1, key: keys.first },
      { name: 'second', args: 2, attempt: 1, key: keys.second },
    ]);
  });

  test('a stored task running and one waiting, then await manager.close(): the process exits; both stay stored', async () => {
    const gate = newGate();
    const result = await runNode([CHILD, 'close', dbPath(), logPath(), gate.path], { timeoutMs: BOUND_MS });
    expectCleanExit(result);
    const [{ keys }, statuses] = printed(result.stdout);
    expect(statuses).toEqual({ first: 'cancelled', second: 'cancelled' });

    gate.open();
    const m = stored();
    const restored = restoredMilestones(m);
    const events = taskEvents(m);
    threadPool(m, { name: 'jobs' });
    expect(restored).toEqual([{ pool: 'jobs', threads: true, tasks: 2 }]);
    await waitFor(() => events.filter((e) => e.status === 'completed').length === 2, 'both restored tasks to complete');
    expect(noted()).toEqual([
      { name: 'first', args: 2, attempt: 1, key: keys.first },
      { name: 'first', args: 2, attempt: 2, key: keys.first },
      { name: 'second', args: 2, attempt: 1, key: keys.second },
    ]);
  });
});

describe('a restored task whose handler no group takes', () => {
  test('is not run and stays stored, with a warning; a later pool with a generalist group runs it', async () => {
    const [orphan] = await storeWaiting('routed', [{ name: 'orphan', handler: 'record', payload: recordPayload('orphan') }]);

    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const b = stored();
    const restored = restoredMilestones(b);
    const events = taskEvents(b);
    const pool = threadPool(b, { name: 'routed', size: undefined, groups: [{ size: 1, handlers: ['kind'] }] });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/"orphan".*"routed".*"record"/);
    expect(restored).toEqual([]);
    expect(pool.stats().queued).toBe(0);
    // The pool serves what its groups take; the orphan does not run.
    const other = pool.addTask({ name: 'other', handler: 'kind', payload: 1 });
    await ended(other);
    expect(other.status).toBe('completed');
    expect(events.map((e) => e.name)).toEqual(['other', 'other']);
    expect(noted()).toEqual([]);
    await b.close();

    const c = stored();
    const again = restoredMilestones(c);
    const cEvents = taskEvents(c);
    threadPool(c, { name: 'routed', size: undefined, groups: [{ size: 1, handlers: ['kind'] }, { size: 1 }] });
    expect(again).toEqual([{ pool: 'routed', threads: true, tasks: 1 }]);
    await waitFor(() => cEvents.some((e) => e.status === 'completed'), 'the restored task to complete');
    expect(noted()).toEqual([{ name: 'orphan', args: 2, attempt: 1, key: orphan.idempotencyKey }]);
  });
});
