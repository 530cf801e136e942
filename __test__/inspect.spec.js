'use strict';

// What console.log shows of the package's objects: what a user wants to
// see (counts, names, settings), not the bridge's buffers and tables.

const util = require('node:util');
const { createSynchronikManager } = require('..');

const managers = [];
afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});
function manager(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}

const INTERNALS = /_out|_inbox|Float64Array|_calls|_tickets|_native|IdTable|_events/;

test('a manager shows its units, runs, state, clock and pools', async () => {
  const m = manager({ clock: 'manual' });
  let release;
  m.registerUnit({ id: 'a', run: () => new Promise((resolve) => (release = resolve)) });
  m.registerUnit({ id: 'p', workers: [{ id: 'b', run: () => {} }] });
  const done = m.runWorkerById('a');
  m.start();
  const shown = util.inspect(m);
  expect(shown).toBe("SynchronikManager { units: 3, running: 1, started: true, clock: 'manual', pools: [] }");
  expect(shown).not.toMatch(INTERNALS);
  release();
  await done;
  m.useWorkerPool(1);
  expect(util.inspect(m, { breakLength: Infinity })).toBe(
    "SynchronikManager { units: 4, running: 0, started: true, clock: 'manual', pools: [ 'default' ] }",
  );
});

test('a manager nested in other objects stays short; below depth it is a tag', () => {
  const m = manager();
  const shown = util.inspect({ deep: { m } }, { depth: 1 });
  expect(shown).toContain('[SynchronikManager]');
  expect(util.inspect({ app: { m } }).split('\n').length).toBeLessThan(12);
  expect(util.inspect({ app: { m } })).not.toMatch(INTERNALS);
});

test('a pool shows its name, size, running and queued tasks and handlers', () => {
  const m = manager({ clock: 'manual' });
  const pool = m.useWorkerPool(2, { name: 'mail' });
  pool.handle('send', () => {});
  pool.addTask({ name: 'one', execute: () => {} });
  pool.addTask({ name: 'two', handler: 'send' });
  const shown = util.inspect(pool, { breakLength: Infinity });
  expect(shown).toBe("WorkerPool { name: 'mail', size: 2, running: 0, queued: 2, handlers: [ 'send' ] }");
  expect(shown).not.toMatch(INTERNALS);
});

test('a task the pool holds shows its name, status, priority, order and worker', async () => {
  const m = manager({ clock: 'manual' });
  const pool = m.useWorkerPool(1);
  let release;
  pool.addTask({ name: 'busy', priority: 3, execute: () => new Promise((resolve) => (release = resolve)) });
  pool.start();
  const [entry] = pool._running.values();
  expect(util.inspect(entry, { breakLength: Infinity })).toBe("PoolTask { name: 'busy', status: 'running', priority: 3, arrangementId: 1, worker: 'pool-worker-1' }");
  release();
  await pool.onIdle();
});

test('the manual clock shows its time', async () => {
  const m = manager({ clock: 'manual' });
  await m.clock.advance(1500);
  expect(util.inspect(m.clock)).toBe('ManualClock { now: 1500 }');
});
