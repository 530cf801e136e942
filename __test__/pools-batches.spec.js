'use strict';

// The manager's table of unfinished pool tasks (lib/pools.js): queued
// pool.run tasks are kept in batches found by task id, not one table entry
// each. These tests drive it directly, against a model.

const fc = require('fast-check');
const { Pools } = require('../lib/pools');
const { PoolEntry, poolInternals } = require('../lib/pool');

/** A stand-in for a WorkerPool: what Pools asks of one (the entry of a queued task). */
function fakePool() {
  return {
    [poolInternals.kEntryOf](taskId, execute, resolve, payload, arrangementId) {
      const entry = new PoolEntry(/** @type {any} */ (this), null, execute, payload, undefined);
      entry.resolve = resolve;
      entry.taskId = taskId;
      entry.arrangementId = arrangementId;
      return entry;
    },
  };
}

/** `count` tasks' three places each: a function named by its task id, a resolve function, a payload. */
function items(firstTask, count) {
  const list = [];
  for (let k = 0; k < count; k++) {
    const id = firstTask + k;
    list.push(Object.defineProperty(() => id, 'name', { value: `task-${id}` }), () => undefined, { id });
  }
  return list;
}

describe('Pools: queued pool.run tasks in batches', () => {
  test('a task is found by its id in its batch until taken out; its entry carries what it was queued with', () => {
    const pools = new Pools();
    const pool = fakePool();
    pools.setQueued(/** @type {any} */ (pool), 10, 100, items(10, 3));
    pools.setQueued(/** @type {any} */ (pool), 13, 103, items(13, 2));
    expect(pools.peekTask(9)).toBeUndefined();
    expect(pools.peekTask(15)).toBeUndefined();
    expect(pools.peekTask(12.5)).toBeUndefined();
    const e = /** @type {PoolEntry} */ (pools.peekTask(14));
    expect(e).toBeInstanceOf(PoolEntry);
    expect([e.taskId, e.arrangementId, e.payload, e.execute.name]).toEqual([14, 104, { id: 14 }, 'task-14']);
    // The same entry until it is taken out, then none.
    expect(pools.peekTask(14)).toBe(e);
    expect(pools.takeTask(14)).toBe(e);
    expect(pools.peekTask(14)).toBeUndefined();
    expect(pools.takeTask(14)).toBeUndefined();
    expect(/** @type {PoolEntry} */ (pools.takeTask(11)).payload).toEqual({ id: 11 });
    expect(/** @type {PoolEntry} */ (pools.peekTask(13)).taskId).toBe(13);
  });

  test('tasks with an entry of their own (setTask) are found beside the batches', () => {
    const pools = new Pools();
    const pool = fakePool();
    pools.setQueued(/** @type {any} */ (pool), 1, 1, items(1, 2));
    const own = new PoolEntry(/** @type {any} */ (pool), null, () => 3, undefined, 5);
    pools.setTask(3, own);
    pools.setQueued(/** @type {any} */ (pool), 4, 4, items(4, 2));
    expect(pools.peekTask(3)).toBe(own);
    expect(/** @type {PoolEntry} */ (pools.peekTask(4)).taskId).toBe(4);
    expect(pools.takeTask(3)).toBe(own);
    expect(pools.peekTask(3)).toBeUndefined();
  });

  test('a batch numbered before the newest one still is found (they are kept in task id order)', () => {
    const pools = new Pools();
    const pool = fakePool();
    pools.setQueued(/** @type {any} */ (pool), 100, 1, items(100, 5));
    pools.setQueued(/** @type {any} */ (pool), 200, 2, items(200, 5));
    pools.setQueued(/** @type {any} */ (pool), 150, 3, items(150, 5));
    for (const id of [100, 104, 150, 154, 200, 204]) expect(/** @type {PoolEntry} */ (pools.peekTask(id)).taskId).toBe(id);
    expect(pools.peekTask(155)).toBeUndefined();
  });

  test('emptied batches are let go: at the head at once, behind a task that stays once they are most of the list', () => {
    const pools = new Pools();
    const pool = fakePool();
    let next = 1;
    // One task that never finishes, then 20,000 batches of one task, each taken out.
    pools.setQueued(/** @type {any} */ (pool), next, next, items(next, 1));
    const stuck = next++;
    let most = 0;
    for (let k = 0; k < 20_000; k++) {
      pools.setQueued(/** @type {any} */ (pool), next, next, items(next, 1));
      expect(pools.takeTask(next)).toBeDefined();
      next++;
      most = Math.max(most, pools._batchesHeld);
    }
    expect(most).toBeLessThan(200);
    expect(/** @type {PoolEntry} */ (pools.peekTask(stuck)).taskId).toBe(stuck);
    expect(pools.takeTask(stuck)).toBeDefined();
    expect(pools._batchesHeld).toBe(0);
    // In order: nothing is held once they are all taken out.
    for (let k = 0; k < 3; k++) pools.setQueued(/** @type {any} */ (pool), next + 10 * k, next + 10 * k, items(next + 10 * k, 10));
    for (let id = next; id < next + 30; id++) expect(pools.takeTask(id)).toBeDefined();
    expect(pools._batchesHeld).toBe(0);
  });

  test('against a model: batches added, tasks taken out in any order, ids looked up that were never queued', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('queue'), count: fc.integer({ min: 1, max: 40 }), gap: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('take'), pick: fc.nat(), oldest: fc.boolean() }),
      fc.record({ kind: fc.constant('peek'), pick: fc.integer({ min: -5, max: 400 }), half: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const pools = new Pools();
        const pool = fakePool();
        /** @type {Map<number, number>} live task id → its arrangement id */
        const model = new Map();
        let next = 1;
        for (const o of ops) {
          if (o.kind === 'queue') {
            next += o.gap;
            pools.setQueued(/** @type {any} */ (pool), next, next * 2, items(next, o.count));
            for (let k = 0; k < o.count; k++) model.set(next + k, next * 2 + k);
            next += o.count;
          } else if (o.kind === 'take') {
            if (model.size === 0) continue;
            const ids = [...model.keys()];
            const id = o.oldest ? Math.min(...ids) : ids[o.pick % ids.length];
            const e = /** @type {PoolEntry} */ (pools.takeTask(id));
            expect([e.taskId, e.arrangementId, e.execute.name]).toEqual([id, model.get(id), `task-${id}`]);
            model.delete(id);
          } else {
            const id = o.half ? o.pick + 0.5 : o.pick;
            const e = /** @type {PoolEntry | undefined} */ (pools.peekTask(id));
            if (model.has(id)) expect([e?.taskId, e?.arrangementId]).toEqual([id, model.get(id)]);
            else expect(e).toBeUndefined();
          }
        }
        for (const id of model.keys()) pools.takeTask(id);
        expect(pools._batchesHeld).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
