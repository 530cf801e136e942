'use strict';

// pool.updateTask(name, { handler }): the engine decides which handler a
// task waits for, so a new handler reaches it (and, with a SQLite store,
// the stored task); a task runs either its own execute or a handler.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager } = require('..');

describe('updateTask with a new handler', () => {
  let m;

  beforeEach(() => {
    m = createSynchronikManager({ clock: 'manual' });
  });

  afterEach(async () => {
    await m.close({ timeoutMs: 0 });
  });

  test('a task waiting for a handler that is not defined runs once it is given one that is', async () => {
    const pool = m.useWorkerPool(1);
    const seen = [];
    pool.handle('resize', (payload) => seen.push(['resize', payload]));
    pool.start();
    const task = pool.addTask({ name: 'img', handler: 'thumbnail', payload: 7 });
    await m.clock.runUntilIdle();
    expect(task.status).toBe('waiting-handler');
    pool.updateTask('img', { handler: 'resize' });
    await m.clock.runUntilIdle();
    expect(seen).toEqual([['resize', 7]]);
    expect(task).toMatchObject({ handler: 'resize', status: 'completed' });
  });

  test('a task given a handler that is not defined waits for it instead of failing', async () => {
    const pool = m.useWorkerPool(1);
    const seen = [];
    pool.handle('a', () => seen.push('a'));
    const task = pool.addTask({ name: 't', handler: 'a' });
    pool.updateTask('t', { handler: 'b' });
    pool.start();
    await m.clock.runUntilIdle();
    expect(seen).toEqual([]);
    expect(task.status).toBe('waiting-handler');
    expect(task.error).toBeUndefined();
    pool.handle('b', () => seen.push('b'));
    await m.clock.runUntilIdle();
    expect(seen).toEqual(['b']);
    expect(task.status).toBe('completed');
  });

  test('handler cannot be given to a task that runs its own execute, nor execute to one that names a handler', async () => {
    const pool = m.useWorkerPool(1);
    const own = jest.fn();
    const task = pool.addTask({ name: 'own', execute: own });
    const named = pool.addTask({ name: 'named', handler: 'h' });
    expect(() => pool.updateTask('own', { handler: 'h', payload: 1 })).toThrow(
      new TypeError(
        'updateTask: partial.handler can only replace the handler of a task that names one (got "h" for task "own", which runs its own execute function; cancel it and add it again with a handler)',
      ),
    );
    expect(() => pool.updateTask('named', { execute: () => 1 })).toThrow(
      new TypeError(
        'updateTask: partial.execute cannot be given to a task that names a handler (got a function for task "named", which runs handler "h"; change partial.handler instead)',
      ),
    );
    // Nothing of the refused changes was applied.
    expect(task.handler).toBeUndefined();
    expect(task.payload).toBeUndefined();
    expect(named.execute).toBeUndefined();
    const seen = [];
    pool.handle('h', () => seen.push('h'));
    pool.start();
    await m.clock.runUntilIdle();
    expect(own).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['h']);
  });
});

describe('updateTask with a new handler and a SQLite store', () => {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-handler-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the stored task names the new handler after a restart', async () => {
    const open = () => createSynchronikManager({ storage: { sqlite: path.join(dir, 'state.db') } });
    const a = open();
    const poolA = a.useWorkerPool(1);
    poolA.addTask({ name: 'mail', handler: 'send-v1', payload: { to: 'x' } });
    poolA.updateTask('mail', { handler: 'send-v2' });
    await a.close();

    const b = open();
    const pool = b.useWorkerPool(1);
    expect(pool.simulateRun()).toBe('Execution sequence: 1. mail');
    const seen = [];
    pool.handle('send-v1', (payload) => seen.push(['v1', payload]));
    pool.handle('send-v2', (payload) => seen.push(['v2', payload]));
    pool.start();
    await pool.onIdle();
    expect(seen).toEqual([['v2', { to: 'x' }]]);
    await b.close();
  });
});
