'use strict';

// Delayed pool tasks (SPEC §14), from the outside, on the manual clock
// started at a given instant: addTask and pool.run with runAt (Date, ISO
// string, epoch ms) or delayMs wait 'scheduled' until their time on the
// engine's clock and run then, not before; their names are taken, they hold
// up nothing, cancelTask, an aborted signal and stop() remove them,
// updateTask, pauseTask and resumeTask reach them, onIdle waits for them,
// a pool not started holds them once due, and with a SQLite store a handler
// task keeps its time across a restart.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager } = require('..');
const { closedAfterEach, errorOf, settle, track } = require('./helpers');

const create = closedAfterEach();

const NOW = '2026-03-28T12:00:00Z';
const T0 = Date.parse(NOW);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A manager on the manual clock at NOW (`now` for another instant). */
const manual = (options = {}, now = NOW) => create({ clock: { manual: true, now }, ...options });

/** The `task` events of `m` as `name:status@ms since T0` (on its manual clock). */
function taskEvents(m) {
  const seen = [];
  m.on('task', (e) => seen.push(`${e.name}:${e.status}@${m.clock.now() - T0}`));
  return seen;
}

/** An execute that records, in `ran`, its name and the clock (ms since T0) at which it ran, and returns `value`. */
const recorder = (m, ran, name, value) => () => {
  ran.push([name, m.clock.now() - T0]);
  return value;
};

let warn;
let error;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  error = jest.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => {
  warn.mockRestore();
  error.mockRestore();
});

// ---------------------------------------------------------------------------
// 1. When a delayed task runs
// ---------------------------------------------------------------------------

describe('addTask with runAt or delayMs', () => {
  test.each([
    ['delayMs', (t) => ({ delayMs: t - T0 })],
    ['runAt as a Date', (t) => ({ runAt: new Date(t) })],
    ['runAt as an ISO string', (t) => ({ runAt: new Date(t).toISOString() })],
    ['runAt as an ISO string with an offset', (t) => ({ runAt: new Date(t + HOUR).toISOString().replace('Z', '+01:00') })],
    ['runAt as epoch ms', (t) => ({ runAt: t })],
  ])('%s: scheduled at once, runs at its time and not a millisecond before', async (_, when) => {
    const m = manual();
    const pool = m.useWorkerPool(2);
    m.start();
    const ran = [];
    const task = pool.addTask({ name: 'later', execute: recorder(m, ran, 'later'), ...when(T0 + 1500) });
    expect(task.status).toBe('scheduled');
    expect(task.arrangementId).toBe(1);
    await m.clock.advance(1499);
    expect(ran).toEqual([]);
    expect(task.status).toBe('scheduled');
    await m.clock.advance(1);
    expect(ran).toEqual([['later', 1500]]);
    expect(task.status).toBe('completed');
  });

  test("the task events: 'idle' when it is queued at its time, then 'running' and 'completed'; none while it waits", async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    m.start();
    pool.addTask({ name: 'd', delayMs: 1000, execute: () => 5 });
    await m.clock.advance(999);
    expect(seen).toEqual([]);
    await m.clock.advance(1);
    expect(seen).toEqual(['d:idle@1000', 'd:running@1000', 'd:completed@1000']);
  });

  test('a failing delayed task ends in error at its time, with its error on the task and its event', async () => {
    const m = manual();
    const events = [];
    m.on('task', (e) => events.push(e));
    const pool = m.useWorkerPool(1);
    m.start();
    const boom = new Error('boom');
    const task = pool.addTask({
      name: 'bad',
      delayMs: 10,
      execute: () => {
        throw boom;
      },
    });
    await m.clock.advance(10);
    expect(task.status).toBe('error');
    expect(task.error).toBe(boom);
    expect(events.map((e) => e.status)).toEqual(['idle', 'running', 'error']);
    expect(events[2].error).toBe(boom);
  });

  test('the payload reaches execute at its time, with a context naming the pool worker', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const seen = [];
    pool.addTask({ name: 'p', delayMs: 50, payload: { n: 7 }, execute: (payload, ctx) => seen.push([payload, ctx.unitId]) });
    await m.clock.advance(50);
    expect(seen).toEqual([[{ n: 7 }, 'pool-worker-1']]);
  });

  test('delayMs is counted from the engine clock at the time of addTask', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    await m.clock.advance(10 * MINUTE);
    const ran = [];
    pool.addTask({ name: 'd', delayMs: MINUTE, execute: recorder(m, ran, 'd') });
    await m.clock.advance(MINUTE - 1);
    expect(ran).toEqual([]);
    await m.clock.advance(1);
    expect(ran).toEqual([['d', 11 * MINUTE]]);
  });

  test('delayed tasks due at different times run in time order, whatever the order they were added in', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const ran = [];
    pool.addTask({ name: 'third', delayMs: 3000, execute: recorder(m, ran, 'third') });
    pool.addTask({ name: 'first', runAt: T0 + 1000, execute: recorder(m, ran, 'first') });
    pool.addTask({ name: 'second', runAt: new Date(T0 + 2000), execute: recorder(m, ran, 'second') });
    await m.clock.advance(5000);
    expect(ran).toEqual([
      ['first', 1000],
      ['second', 2000],
      ['third', 3000],
    ]);
  });

  test('a runAt already past, a runAt of now and delayMs 0 queue at once', async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(3);
    m.start();
    const ran = [];
    const past = pool.addTask({ name: 'past', runAt: new Date(T0 - HOUR).toISOString(), execute: recorder(m, ran, 'past') });
    const now = pool.addTask({ name: 'now', runAt: T0, execute: recorder(m, ran, 'now') });
    const zero = pool.addTask({ name: 'zero', delayMs: 0, execute: recorder(m, ran, 'zero') });
    expect([past.status, now.status, zero.status]).not.toContain('scheduled');
    await m.clock.advance(0);
    expect(ran).toEqual([
      ['past', 0],
      ['now', 0],
      ['zero', 0],
    ]);
    expect([past.status, now.status, zero.status]).toEqual(['completed', 'completed', 'completed']);
    expect(seen.filter((s) => s.endsWith(':completed@0'))).toHaveLength(3);
  });
});

describe('pool.run with runAt or delayMs', () => {
  test('delayMs: resolves with the result at its time and not before', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const result = track(pool.run((payload) => ({ payload, at: m.clock.now() - T0 }), { delayMs: 500, payload: 'p' }));
    await m.clock.advance(499);
    expect(result.settled).toBe(false);
    await m.clock.advance(1);
    expect(result).toEqual({ settled: true, value: { payload: 'p', at: 500 }, error: undefined });
  });

  test.each([
    ['a Date', () => new Date(T0 + 2000)],
    ['an ISO string', () => new Date(T0 + 2000).toISOString()],
    ['epoch ms', () => T0 + 2000],
  ])('runAt as %s: resolves at that instant', async (_, runAt) => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const result = track(pool.run(() => m.clock.now() - T0, { runAt: runAt() }));
    await m.clock.advance(1999);
    expect(result.settled).toBe(false);
    await m.clock.advance(1);
    expect(result.value).toBe(2000);
  });

  test("its task events are the anonymous task's: 'idle' at its time, 'running', 'completed'", async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    m.start();
    const done = pool.run(() => 1, { delayMs: 300 });
    await m.clock.advance(299);
    expect(seen).toEqual([]);
    await m.clock.advance(1);
    await expect(done).resolves.toBe(1);
    expect(seen).toEqual(['(anonymous):idle@300', '(anonymous):running@300', '(anonymous):completed@300']);
  });

  test('a rejection at its time rejects the promise with what the task threw', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const boom = new Error('late boom');
    const result = track(
      pool.run(
        () => {
          throw boom;
        },
        { delayMs: 20 },
      ),
    );
    await m.clock.advance(20);
    expect(result.error).toBe(boom);
  });

  test('a signal aborted before its time rejects with an AbortError (its reason the cause) and the task never runs', async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    m.start();
    const controller = new AbortController();
    const execute = jest.fn();
    const result = track(pool.run(execute, { runAt: T0 + 1000, signal: controller.signal }));
    await m.clock.advance(500);
    const reason = new Error('no longer wanted');
    controller.abort(reason);
    await m.clock.advance(0);
    expect(result.settled).toBe(true);
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error.name).toBe('AbortError');
    expect(result.error.cause).toBe(reason);
    await m.clock.advance(HOUR);
    expect(execute).not.toHaveBeenCalled();
    expect(seen.filter((s) => s.includes('running'))).toEqual([]);
    // The pool is idle: nothing waits any more.
    await expect(pool.onIdle()).resolves.toBeUndefined();
    // Its one task event says it was cancelled (TaskStatus 'cancelled': removed by an aborted pool.run signal).
    expect(seen).toEqual(['(anonymous):cancelled@500']);
  });

  test('a signal aborted already rejects at once with an AbortError', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn();
    const e = await errorOf(() => pool.run(execute, { delayMs: 100, signal: AbortSignal.abort() }));
    expect(e.name).toBe('AbortError');
    await m.clock.advance(200);
    expect(execute).not.toHaveBeenCalled();
  });

  test('a runAt already past runs at once', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const result = track(pool.run(() => m.clock.now() - T0, { runAt: new Date(T0 - 5 * MINUTE) }));
    await m.clock.advance(0);
    expect(result.value).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// 2. Validation
// ---------------------------------------------------------------------------

describe('validation', () => {
  const BAD = [
    ['delayMs', { delayMs: -1 }, 'delayMs'],
    ['delayMs', { delayMs: NaN }, 'delayMs'],
    ['delayMs', { delayMs: Infinity }, 'delayMs'],
    ['delayMs', { delayMs: -Infinity }, 'delayMs'],
    ['delayMs', { delayMs: '100' }, 'delayMs'],
    ['both', { runAt: T0 + 1000, delayMs: 1000 }, 'delayMs'],
    ['runAt', { runAt: 'next tuesday' }, 'runAt'],
    ['runAt', { runAt: '' }, 'runAt'],
    ['runAt', { runAt: new Date('not a date') }, 'runAt'],
    ['runAt', { runAt: NaN }, 'runAt'],
    ['runAt', { runAt: Infinity }, 'runAt'],
    ['runAt', { runAt: {} }, 'runAt'],
  ];

  test.each(BAD)('addTask with a bad %s (%p) throws a TypeError naming task.%s, and nothing is added', async (_, bad, field) => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn();
    const e = await errorOf(() => pool.addTask({ name: 'x', execute, ...bad }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(new RegExp(`^addTask: task\\.${field} must be `));
    // Nothing was added: the name is free, and nothing runs.
    expect(pool.addTask({ name: 'x', execute })).not.toBeNull();
    await m.clock.advance(HOUR);
    expect(execute).toHaveBeenCalledTimes(1);
  });

  test.each(BAD)('pool.run with a bad %s (%p) rejects with a TypeError naming options.%s, and nothing runs', async (_, bad, field) => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn();
    const e = await errorOf(() => pool.run(execute, bad));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(new RegExp(`^pool\\.run: options\\.${field} must be `));
    await m.clock.advance(HOUR);
    expect(execute).not.toHaveBeenCalled();
  });

  test('the messages say what is expected', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    expect(() => pool.addTask({ name: 'x', execute: () => 1, delayMs: -5 })).toThrow(/task\.delayMs must be a finite number of ms ≥ 0 \(got -5\)/);
    expect(() => pool.addTask({ name: 'x', execute: () => 1, runAt: 1, delayMs: 1 })).toThrow(/task\.delayMs must be left out when runAt is given/);
    expect(() => pool.addTask({ name: 'x', execute: () => 1, runAt: 'soon' })).toThrow(/task\.runAt must be a Date, an ISO 8601 date string or epoch milliseconds/);
    await expect(pool.run(() => 1, { delayMs: NaN })).rejects.toThrow(/options\.delayMs must be a finite number of ms ≥ 0 \(got NaN\)/);
  });
});

// ---------------------------------------------------------------------------
// 3. While it waits: its name, cancel, update, pause
// ---------------------------------------------------------------------------

describe('a scheduled task while it waits', () => {
  test('its name is taken: a duplicate is refused with null and a warning, and the name is free again once it ran', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const first = pool.addTask({ name: 'x', delayMs: 1000, execute: () => 1 });
    expect(pool.addTask({ name: 'x', execute: () => 2 })).toBeNull();
    expect(warn).toHaveBeenLastCalledWith('Task with name "x" already exists.');
    expect(pool.addTask({ name: 'x', delayMs: 10, execute: () => 3 })).toBeNull();
    expect(pool.addTask({ name: 'x', runAt: new Date(T0 + 10), execute: () => 4 })).toBeNull();
    expect(warn).toHaveBeenCalledTimes(3);
    await m.clock.advance(1000);
    expect(first.status).toBe('completed');
    const again = pool.addTask({ name: 'x', execute: () => 5 });
    expect(again).not.toBeNull();
    expect(again.arrangementId).toBe(2);
  });

  test("cancelTask removes it: 'cancelled', a task event saying so, and it never runs", async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn();
    const task = pool.addTask({ name: 'c', delayMs: 1000, execute });
    await m.clock.advance(400);
    pool.cancelTask('c');
    expect(task.status).toBe('cancelled');
    expect(seen).toEqual(['c:cancelled@400']);
    expect(warn).not.toHaveBeenCalled();
    await m.clock.advance(HOUR);
    expect(execute).not.toHaveBeenCalled();
    expect(seen).toEqual(['c:cancelled@400']);
    // Its name is free.
    expect(pool.addTask({ name: 'c', execute: () => 1 })).not.toBeNull();
    // Nothing left to cancel.
    pool.cancelTask('ghost');
    expect(warn).toHaveBeenLastCalledWith('Cannot cancel: Task "ghost" not found in pending queue.');
  });

  test('updateTask(name, { priority }) changes the place it takes when due', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    const ran = [];
    pool.addTask({ name: 'a', delayMs: 100, execute: recorder(m, ran, 'a') });
    pool.addTask({ name: 'b', delayMs: 100, execute: recorder(m, ran, 'b') });
    pool.addTask({ name: 'c', delayMs: 100, execute: recorder(m, ran, 'c') });
    pool.updateTask('c', { priority: 5 });
    pool.updateTask('a', { priority: -1 });
    await m.clock.advance(100);
    expect(pool.simulateRun()).toBe('Execution sequence: 1. c, 2. b, 3. a');
    pool.start();
    await m.clock.advance(0);
    expect(ran.map(([name]) => name)).toEqual(['c', 'b', 'a']);
  });

  test('updateTask changes its payload before it runs', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const seen = [];
    const task = pool.addTask({ name: 'u', delayMs: 100, payload: 1, execute: (p) => seen.push(p) });
    pool.updateTask('u', { payload: 2 });
    expect(task.status).toBe('scheduled');
    await m.clock.advance(100);
    expect(seen).toEqual([2]);
  });

  test('pauseTask pauses it: it joins the queue paused when due, holds the tasks behind it, and runs once resumed', async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    m.start();
    const ran = [];
    const held = pool.addTask({ name: 'held', delayMs: 100, execute: recorder(m, ran, 'held') });
    pool.pauseTask('held');
    expect(held.status).toBe('paused');
    // While it waits it holds nothing up.
    pool.addTask({ name: 'free', execute: recorder(m, ran, 'free') });
    await m.clock.advance(100);
    expect(ran).toEqual([['free', 0]]);
    expect(held.status).toBe('paused');
    expect(pool.simulateRun()).toBe('Execution sequence: 1. held');
    // Due now, paused in the queue: a task behind it waits.
    pool.addTask({ name: 'behind', execute: recorder(m, ran, 'behind') });
    await m.clock.advance(50);
    expect(ran).toEqual([['free', 0]]);
    pool.resumeTask('held');
    await m.clock.advance(0);
    expect(ran).toEqual([
      ['free', 0],
      ['held', 150],
      ['behind', 150],
    ]);
    expect(seen.filter((s) => s.startsWith('held:'))).toEqual(['held:paused@0', 'held:idle@150', 'held:running@150', 'held:completed@150']);
  });

  test("resumeTask before its time: 'scheduled' again, and it runs at its time", async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    m.start();
    const ran = [];
    const task = pool.addTask({ name: 'p', delayMs: 1000, execute: recorder(m, ran, 'p') });
    await m.clock.advance(100);
    pool.pauseTask('p');
    await m.clock.advance(100);
    pool.resumeTask('p');
    expect(task.status).toBe('scheduled');
    expect(warn).not.toHaveBeenCalled();
    await m.clock.advance(799);
    expect(ran).toEqual([]);
    await m.clock.advance(1);
    expect(ran).toEqual([['p', 1000]]);
    expect(seen).toEqual(['p:paused@100', 'p:scheduled@200', 'p:idle@1000', 'p:running@1000', 'p:completed@1000']);
  });

  test('a scheduled task does not hold up other tasks, whatever its priority', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const ran = [];
    pool.addTask({ name: 'urgent-later', priority: 100, delayMs: 1000, execute: recorder(m, ran, 'urgent-later') });
    pool.addTask({ name: 'now-1', execute: recorder(m, ran, 'now-1') });
    const viaRun = track(pool.run(() => m.clock.now() - T0, { priority: -5 }));
    pool.addTask({ name: 'now-2', priority: -10, execute: recorder(m, ran, 'now-2') });
    await m.clock.advance(0);
    expect(ran).toEqual([
      ['now-1', 0],
      ['now-2', 0],
    ]);
    expect(viaRun.value).toBe(0);
    await m.clock.advance(1000);
    expect(ran.at(-1)).toEqual(['urgent-later', 1000]);
  });

  test('once due, it takes its place by priority among the queued tasks', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    const ran = [];
    pool.addTask({ name: 'low', priority: 1, execute: recorder(m, ran, 'low') });
    pool.addTask({ name: 'high', priority: 10, delayMs: 100, execute: recorder(m, ran, 'high') });
    pool.addTask({ name: 'mid', priority: 5, execute: recorder(m, ran, 'mid') });
    expect(pool.simulateRun()).toBe('Execution sequence: 1. mid, 2. low');
    await m.clock.advance(100);
    expect(pool.simulateRun()).toBe('Execution sequence: 1. high, 2. mid, 3. low');
    pool.start();
    await m.clock.advance(0);
    expect(ran.map(([name]) => name)).toEqual(['high', 'mid', 'low']);
  });

  test('onIdle waits for a scheduled task', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const ran = [];
    pool.addTask({ name: 'later', delayMs: 5000, execute: recorder(m, ran, 'later') });
    const idle = track(pool.onIdle());
    await m.clock.advance(4999);
    expect(idle.settled).toBe(false);
    await m.clock.advance(1);
    expect(ran).toEqual([['later', 5000]]);
    expect(idle).toEqual({ settled: true, value: undefined, error: undefined });
  });

  test('onIdle waits for a pool.run task with delayMs too, and is free once the scheduled task is cancelled', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const viaRun = track(pool.run(() => 'r', { delayMs: 100 }));
    pool.addTask({ name: 'far', delayMs: HOUR, execute: () => 1 });
    const idle = track(pool.onIdle());
    await m.clock.advance(100);
    expect(viaRun.value).toBe('r');
    expect(idle.settled).toBe(false);
    pool.cancelTask('far');
    await m.clock.advance(0);
    expect(idle.settled).toBe(true);
  });

  test('simulateRun and getWorkerStatus work with scheduled tasks (which are not queued yet)', async () => {
    const m = manual();
    const pool = m.useWorkerPool(2);
    pool.addTask({ name: 'queued', execute: () => 1 });
    pool.addTask({ name: 'scheduled', delayMs: 1000, execute: () => 2 });
    const viaRun = pool.run(() => 3, { delayMs: 500 });
    expect(pool.simulateRun()).toBe('Execution sequence: 1. queued');
    expect(pool.getWorkerStatus('pool-worker-1')).toEqual({ currentTask: undefined, lastMilestone: undefined, isIdle: true });
    expect(pool.getWorkerStatus('pool-worker-3')).toBeUndefined();
    await m.clock.advance(1000);
    // Once due they are queued by priority, then arrangement: the order they were added in, not their times.
    expect(pool.simulateRun()).toBe('Execution sequence: 1. queued, 2. scheduled, 3. (anonymous)');
    pool.start();
    await expect(viaRun).resolves.toBe(3);
    await m.clock.advance(0);
    expect(pool.simulateRun()).toBe('No tasks pending for execution.');
    expect(pool.getWorkerStatus('pool-worker-1').isIdle).toBe(true);
    expect(pool.getWorkerStatus('pool-worker-2').isIdle).toBe(true);
  });

  test('getWorkerStatus names a delayed task while it runs', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    let status;
    pool.addTask({
      name: 'look',
      delayMs: 10,
      execute: () => {
        status = pool.getWorkerStatus('pool-worker-1');
      },
    });
    await m.clock.advance(10);
    expect(status).toEqual({ currentTask: 'look', lastMilestone: undefined, isIdle: false });
  });
});

// ---------------------------------------------------------------------------
// 4. Started, stopped
// ---------------------------------------------------------------------------

describe('start and stop', () => {
  test("a pool not started holds a due task until start: 'idle' at its time, run at start", async () => {
    const m = manual();
    const seen = taskEvents(m);
    const pool = m.useWorkerPool(1);
    const ran = [];
    const task = pool.addTask({ name: 'due', delayMs: 100, execute: recorder(m, ran, 'due') });
    const viaRun = track(pool.run(() => m.clock.now() - T0, { runAt: T0 + 200 }));
    await m.clock.advance(1000);
    expect(ran).toEqual([]);
    expect(viaRun.settled).toBe(false);
    expect(task.status).toBe('idle');
    expect(pool.simulateRun()).toBe('Execution sequence: 1. due, 2. (anonymous)');
    m.start();
    await m.clock.advance(0);
    expect(ran).toEqual([['due', 1000]]);
    expect(viaRun.value).toBe(1000);
    expect(seen).toEqual([
      'due:idle@100',
      '(anonymous):idle@200',
      'due:running@1000',
      'due:completed@1000',
      '(anonymous):running@1000',
      '(anonymous):completed@1000',
    ]);
  });

  test('pool.start() alone starts a pool that holds a due task', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    const ran = [];
    pool.addTask({ name: 'due', delayMs: 100, execute: recorder(m, ran, 'due') });
    await m.clock.advance(300);
    expect(ran).toEqual([]);
    pool.start();
    await m.clock.advance(0);
    expect(ran).toEqual([['due', 300]]);
  });

  test("manager.stop() drops in-memory scheduled tasks: pool.run rejects with ERR_STOPPED, a named task is 'cancelled'", async () => {
    const m = manual();
    const seen = taskEvents(m);
    const events = [];
    m.on('task', (e) => events.push(e));
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn();
    const named = pool.addTask({ name: 'named', delayMs: 5000, execute });
    const viaRun = track(pool.run(execute, { runAt: new Date(T0 + 5000) }));
    await m.clock.advance(1000);
    await m.stop();
    expect(named.status).toBe('cancelled');
    expect(named.error).toMatchObject({ code: 'ERR_STOPPED' });
    expect(viaRun.settled).toBe(true);
    expect(viaRun.error).toMatchObject({ code: 'ERR_STOPPED' });
    expect(viaRun.error.message).toMatch(/stopped/);
    expect(seen[0]).toBe('named:cancelled@1000');
    expect(events[0].error).toMatchObject({ code: 'ERR_STOPPED' });
    // Nothing runs at their time, even after a new start.
    m.start();
    await m.clock.advance(HOUR);
    expect(execute).not.toHaveBeenCalled();
    // The name is free again.
    expect(pool.addTask({ name: 'named', execute })).not.toBeNull();
    await m.clock.advance(0);
    expect(execute).toHaveBeenCalledTimes(1);
    // The dropped pool.run task's event says 'cancelled' too, with its ERR_STOPPED (index.d.ts, TaskEvent).
    expect(seen.slice(0, 2)).toEqual(['named:cancelled@1000', '(anonymous):cancelled@1000']);
    expect(events[1].error).toMatchObject({ code: 'ERR_STOPPED' });
  });

  test('manager.close() drops them with ERR_CLOSED', async () => {
    const m = manual();
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn();
    const named = pool.addTask({ name: 'named', delayMs: 5000, execute });
    const viaRun = track(pool.run(execute, { delayMs: 5000 }));
    await m.close();
    await settle();
    expect(named.status).toBe('cancelled');
    expect(named.error).toMatchObject({ code: 'ERR_CLOSED' });
    expect(viaRun.error).toMatchObject({ code: 'ERR_CLOSED' });
    expect(execute).not.toHaveBeenCalled();
  });
});

// ---------------------------------------------------------------------------
// 5. With the SQLite store
// ---------------------------------------------------------------------------

describe('delayed handler tasks with a SQLite store', () => {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-delayed-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A manager on the database in `dir`, on the manual clock at `now`. */
  const open = (now) => manual({ storage: { sqlite: path.join(dir, 'state.db') } }, now);

  /** Adds the delayed tasks of the first process and closes it; `extra` adds more. */
  async function firstProcess(extra = () => {}) {
    const a = open(NOW);
    const pool = a.useWorkerPool(1);
    const soon = pool.addTask({ name: 'soon', handler: 'send', payload: { n: 1 }, delayMs: 10 * MINUTE });
    const later = pool.addTask({ name: 'later', handler: 'send', payload: { n: 2 }, runAt: new Date(T0 + HOUR) });
    expect([soon.status, later.status]).toEqual(['scheduled', 'scheduled']);
    expect(soon.idempotencyKey).toEqual(expect.any(String));
    extra(pool);
    await a.close();
    return { soon, later };
  }

  test('a handler task with delayMs survives a close: a later process runs it at its stored time, one already passed at once', async () => {
    const { soon, later } = await firstProcess();
    expect(soon.status).toBe('scheduled');

    // Twenty minutes later: 'soon' (10 min) has passed, 'later' (60 min) is still to come.
    const b = open(new Date(T0 + 20 * MINUTE).toISOString());
    const seen = taskEvents(b);
    const pool = b.useWorkerPool(1);
    const ran = [];
    pool.handle('send', (payload, ctx) => ran.push([payload, b.clock.now() - T0, ctx.idempotencyKey]));
    // 'soon' is queued, 'later' is not (yet), but its name is taken.
    expect(pool.simulateRun()).toBe('Execution sequence: 1. soon');
    expect(pool.addTask({ name: 'later', handler: 'send' })).toBeNull();
    expect(warn).toHaveBeenLastCalledWith('Task with name "later" already exists.');
    b.start();
    await b.clock.advance(0);
    expect(ran).toEqual([[{ n: 1 }, 20 * MINUTE, soon.idempotencyKey]]);
    await b.clock.advance(40 * MINUTE - 1);
    expect(ran).toHaveLength(1);
    await b.clock.advance(1);
    expect(ran).toEqual([
      [{ n: 1 }, 20 * MINUTE, soon.idempotencyKey],
      [{ n: 2 }, HOUR, later.idempotencyKey],
    ]);
    expect(seen).toEqual([
      `soon:running@${20 * MINUTE}`,
      `soon:completed@${20 * MINUTE}`,
      `later:idle@${HOUR}`,
      `later:running@${HOUR}`,
      `later:completed@${HOUR}`,
    ]);
    await b.close();

    // Both ran: nothing is left for a third process.
    const c = open(new Date(T0 + 2 * HOUR).toISOString());
    expect(c.useWorkerPool(1).simulateRun()).toBe('No tasks pending for execution.');
    await c.close();
  });

  test("a restored task whose time is still to come is 'scheduled': resumed after a pause it says so", async () => {
    await firstProcess();
    const b = open(new Date(T0 + 5 * MINUTE).toISOString());
    const events = [];
    b.on('task', (e) => events.push(e));
    const pool = b.useWorkerPool(1);
    pool.handle('send', () => 1);
    b.start();
    await b.clock.advance(0);
    expect(pool.simulateRun()).toBe('No tasks pending for execution.');
    expect(events).toEqual([]);
    pool.pauseTask('later');
    pool.resumeTask('later');
    expect(events.map((e) => `${e.name}:${e.status}`)).toEqual(['later:paused', 'later:scheduled']);
    const later = events[1].task;
    expect(later).toMatchObject({ name: 'later', handler: 'send', payload: { n: 2 }, status: 'scheduled' });
    await b.clock.advance(5 * MINUTE);
    expect(events.map((e) => `${e.name}:${e.status}`).slice(2)).toEqual(['soon:idle', 'soon:running', 'soon:completed']);
    expect(later.status).toBe('scheduled');
    await b.clock.advance(50 * MINUTE);
    expect(later.status).toBe('completed');
    await b.close();
  });

  test('both restored tasks run at once when both times have passed; the pool not started holds them until start', async () => {
    await firstProcess();
    const b = open(new Date(T0 + 2 * HOUR).toISOString());
    const pool = b.useWorkerPool(1);
    const ran = [];
    pool.handle('send', (payload) => ran.push([payload.n, b.clock.now() - T0]));
    expect(pool.simulateRun()).toBe('Execution sequence: 1. soon, 2. later');
    await b.clock.advance(MINUTE);
    expect(ran).toEqual([]);
    b.start();
    await pool.onIdle();
    expect(ran).toEqual([
      [1, 2 * HOUR + MINUTE],
      [2, 2 * HOUR + MINUTE],
    ]);
    await b.close();
  });

  test('a cancelled delayed task is not brought back; an inline delayed task is memory-only', async () => {
    await firstProcess((pool) => {
      pool.cancelTask('soon');
      pool.addTask({ name: 'inline', delayMs: MINUTE, execute: () => 1 });
    });
    // The inline task was dropped by the close (nobody listened to task events: printed).
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0][0])).toContain('"inline"');
    const b = open(new Date(T0 + 2 * HOUR).toISOString());
    const pool = b.useWorkerPool(1);
    expect(pool.simulateRun()).toBe('Execution sequence: 1. later');
    await b.close();
  });

  test('manager.stop() keeps a stored scheduled task; it runs at its time after the next start', async () => {
    const m = open(NOW);
    const pool = m.useWorkerPool(1);
    const ran = [];
    pool.handle('send', (payload) => ran.push([payload, m.clock.now() - T0]));
    m.start();
    const task = pool.addTask({ name: 'kept', handler: 'send', payload: 'k', delayMs: 10 * MINUTE });
    await m.clock.advance(MINUTE);
    await m.stop();
    expect(task.status).toBe('scheduled');
    m.start();
    await m.clock.advance(9 * MINUTE);
    expect(ran).toEqual([['k', 10 * MINUTE]]);
    expect(task.status).toBe('completed');
    await m.close();
  });
});
