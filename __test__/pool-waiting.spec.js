'use strict';

// What waits in a pool that is not dispatching, and what cancelTask does to
// a task that already runs. A pool dispatches while it is started (by
// pool.start() or the manager's start()): tasks given to a pool that was
// never started, or was stopped with pool.stop(), stay queued — their
// pool.run promises pending, like p-queue's paused queue — until it starts.
// The manager's stop() and close() settle them (ERR_STOPPED / ERR_CLOSED):
// nothing is left pending forever. cancelTask removes queued tasks only; a
// running one cannot be stopped from outside, so the call only warns.

const { turn, settle, track, closedAfterEach } = require('./helpers');

const create = closedAfterEach();

describe('pool.run on a pool that is not dispatching', () => {
  test('a pool never started: the promise stays pending until the manager starts', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    const execute = jest.fn((x) => x * 2);
    const state = track(pool.run(execute, { payload: 21 }));
    await settle(20);
    expect(state.settled).toBe(false);
    expect(execute).not.toHaveBeenCalled();
    m.start();
    await pool.onIdle();
    await turn();
    expect(state).toEqual({ settled: true, value: 42, error: undefined });
  });

  test('a pool stopped with pool.stop(): pending until pool.start()', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    pool.stop();
    const state = track(pool.run(() => 'done'));
    await settle(20);
    expect(state.settled).toBe(false);
    pool.start();
    await pool.onIdle();
    await turn();
    expect(state.value).toBe('done');
  });

  test.each([
    ['never started', () => {}],
    ['stopped with pool.stop()', (m, pool) => { m.start(); pool.stop(); }],
  ])('a pool %s: close() rejects what waits with ERR_CLOSED', async (_label, arrange) => {
    const m = create();
    const pool = m.useWorkerPool(1);
    arrange(m, pool);
    const execute = jest.fn();
    const state = track(pool.run(execute));
    const task = pool.addTask({ name: 'named', execute });
    m.on('task', () => {}); // the named task's drop is seen here, not printed
    await settle(20);
    expect(state.settled).toBe(false);
    await m.close();
    await turn();
    expect(state.settled).toBe(true);
    expect(state.error.code).toBe('ERR_CLOSED');
    expect(task.status).toBe('cancelled');
    expect(task.error.code).toBe('ERR_CLOSED');
    expect(execute).not.toHaveBeenCalled();
  });

  test("a pool stopped with pool.stop(): the manager's stop() rejects what waits with ERR_STOPPED", async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    pool.stop();
    const state = track(pool.run(() => 'never'));
    await settle(20);
    await m.stop();
    await turn();
    expect(state.settled).toBe(true);
    expect(state.error.code).toBe('ERR_STOPPED');
  });
});

describe('cancelTask on a task that is running', () => {
  test('only warns: the run goes on and completes', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    let release;
    const task = pool.addTask({ name: 'busy', execute: () => new Promise((resolve) => (release = resolve)) });
    m.start();
    await settle(20);
    expect(task.status).toBe('running');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      pool.cancelTask('busy');
      expect(warn).toHaveBeenCalledWith('Cannot cancel: Task "busy" not found in pending queue.');
    } finally {
      warn.mockRestore();
    }
    expect(task.status).toBe('running');
    release('finished');
    await pool.onIdle();
    expect(task.status).toBe('completed');
  });

  test('a queued task of the same name is cancelled; the running one is left alone', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    let release;
    const running = pool.addTask({ name: 'job', execute: () => new Promise((resolve) => (release = resolve)) });
    m.start();
    await settle(20);
    const queuedRun = jest.fn();
    const queued = pool.addTask({ name: 'job', execute: queuedRun });
    expect(queued).not.toBeNull();
    pool.cancelTask('job');
    expect(queued.status).toBe('cancelled');
    expect(running.status).toBe('running');
    release();
    await pool.onIdle();
    expect(running.status).toBe('completed');
    expect(queuedRun).not.toHaveBeenCalled();
  });
});
