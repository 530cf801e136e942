'use strict';

// Pool workers and the user's units share one id space: a pool never takes
// over a unit of the user's (its new worker gets the next free number), and
// the user cannot register a unit over a pool worker.

const { createSynchronikManager } = require('..');

describe('pool worker ids and user unit ids', () => {
  let m;

  beforeEach(() => {
    m = createSynchronikManager({ clock: 'manual' });
  });

  afterEach(async () => {
    await m.close({ timeoutMs: 0 });
  });

  test("a growing pool skips an id the user's unit has; the unit stays the user's", async () => {
    const run = jest.fn(() => 'mine');
    const mine = { id: 'pool-worker-2', run };
    m.registerUnit(mine);
    const pool = m.useWorkerPool(3);
    expect(m.getUnitById('pool-worker-2')).toBe(mine);
    expect(mine.run).toBe(run); // not replaced by a pool worker's run
    expect(pool.getPoolWorkers().map((w) => w.id)).toEqual(['pool-worker-1', 'pool-worker-3', 'pool-worker-4']);
    expect(m.listUnits().map((u) => u.id)).toEqual(['pool-worker-2', 'pool-worker-1', 'pool-worker-3', 'pool-worker-4']);
    // The user's unit still runs its own function, and is no pool worker.
    await m.runWorkerById('pool-worker-2');
    expect(mine.run).toHaveBeenCalledTimes(1);
    expect(mine.status).toBe('completed');
    expect(() => m.releaseUnit('pool-worker-2')).not.toThrow();
    expect(m.getUnitById('pool-worker-2')).toBeUndefined();
    expect(pool.getPoolWorkers()).toHaveLength(3);
  });

  test('resize skips ids taken by a worker of a process too', () => {
    const pool = m.useWorkerPool(1);
    m.registerUnit({ id: 'p', workers: [{ id: 'pool-worker-2', run: () => 1 }] });
    pool.resize(2);
    expect(pool.getPoolWorkers().map((w) => w.id)).toEqual(['pool-worker-1', 'pool-worker-3']);
    expect(m.getWorkerById('pool-worker-2').processId).toBe('p');
  });

  test('the tasks of a pool run on its own workers, not on a user unit with a pool-like id', async () => {
    const mine = { id: 'pool-worker-1', run: jest.fn() };
    m.registerUnit(mine);
    const pool = m.useWorkerPool(1);
    pool.start();
    const ran = [];
    pool.addTask({ name: 't', execute: (payload, ctx) => ran.push(ctx.unitId) });
    await m.clock.runUntilIdle();
    await pool.onIdle();
    expect(ran).toEqual(['pool-worker-2']);
    expect(mine.run).not.toHaveBeenCalled();
  });

  test("registering a unit with a pool worker's id is refused, and nothing changes", () => {
    const pool = m.useWorkerPool(2);
    const worker = pool.getPoolWorkers()[0];
    expect(() => m.registerUnit({ id: 'pool-worker-1', run: () => 1 })).toThrow(
      new TypeError(
        'registerUnit: unit.id must not be the id of a pool worker; pool workers belong to their pool (got "pool-worker-1", a worker of pool "default")',
      ),
    );
    expect(m.getUnitById('pool-worker-1')).toBe(worker);
    expect(pool.getPoolWorkers()[0]).toBe(worker);
  });

  test("a process whose worker has a pool worker's id is refused whole", () => {
    const pool = m.useWorkerPool(2, { name: 'jobs' });
    const before = m.listUnits();
    expect(() =>
      m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => 1 }, { id: 'jobs:pool-worker-2', run: () => 1 }] }),
    ).toThrow(
      new TypeError(
        'registerUnit: unit.workers[1].id must not be the id of a pool worker; pool workers belong to their pool (got "jobs:pool-worker-2", a worker of pool "jobs")',
      ),
    );
    expect(m.listUnits()).toEqual(before);
    expect(m.getUnitById('p')).toBeUndefined();
    expect(m.getUnitById('a')).toBeUndefined();
    expect(pool.getPoolWorkers().map((w) => m.getUnitById(w.id))).toEqual(pool.getPoolWorkers());
  });

  test("a process with a pool worker's id is refused", () => {
    m.useWorkerPool(1);
    expect(() => m.registerUnit({ id: 'pool-worker-1', workers: [] })).toThrow(
      /^registerUnit: unit\.id must not be the id of a pool worker; .*\(got "pool-worker-1", a worker of pool "default"\)$/,
    );
  });

  test('the id of a pool worker removed by resize is free again for the user', () => {
    const pool = m.useWorkerPool(2);
    pool.resize(1);
    const mine = m.registerUnit({ id: 'pool-worker-2', run: () => 1 });
    expect(m.getUnitById('pool-worker-2')).toBe(mine);
    pool.resize(2);
    expect(pool.getPoolWorkers().map((w) => w.id)).toEqual(['pool-worker-1', 'pool-worker-3']);
    expect(m.getUnitById('pool-worker-2')).toBe(mine);
  });
});
