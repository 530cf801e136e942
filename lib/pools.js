// @ts-check
'use strict';

// The manager's worker pools by name, and the pool task of each unfinished
// engine task id: where the engine's task records (TASK_STATUS, TASK_DONE,
// POOL_IDLE) and a pool worker's RUN record find what they are about.

const { IdTable } = require('./id-table');
const { PoolEntry, poolInternals } = require('./pool');
const { keepShape } = require('./shapes');

// One constant each, typed as the symbol it is (a destructured symbol is typed only `symbol`).
/** @type {typeof poolInternals.kEngineId} */
const kEngineId = poolInternals.kEngineId;
/** @type {typeof poolInternals.kStatus} */
const kStatus = poolInternals.kStatus;
/** @type {typeof poolInternals.kDone} */
const kDone = poolInternals.kDone;
/** @type {typeof poolInternals.kIdle} */
const kIdle = poolInternals.kIdle;
/** @type {typeof poolInternals.kEntryOf} */
const kEntryOf = poolInternals.kEntryOf;
/** @type {typeof poolInternals.kStartBare} */
const kStartBare = poolInternals.kStartBare;
/** @type {typeof poolInternals.kDoneBare} */
const kDoneBare = poolInternals.kDoneBare;

/**
 * `pool.run` tasks handed to the engine together, kept without an entry
 * each until they start: their pool, the engine's first task id and
 * arrangement id of theirs (consecutive from those), and three places per
 * task in `items` (its function, its promise's resolve function and its
 * payload), the list they waited in for their microtask. A million
 * queued tasks thus cost the collector their promises and a place in one
 * list each, not an object each as well, nor a place in a table by id
 * (see Pools#batches).
 */
class Queued {
  /**
   * @param {WorkerPool} pool
   * @param {number} firstTask
   * @param {number} firstArrangement
   * @param {unknown[]} items
   */
  constructor(pool, firstTask, firstArrangement, items) {
    this.pool = pool;
    this.firstTask = firstTask;
    this.firstArrangement = firstArrangement;
    this.items = items;
    /** How many tasks it holds. */
    this.count = items.length / 3;
    /** How many of them have not been taken out yet. */
    this.left = this.count;
    /**
     * Each task's worker's slot plus one, for those that started without
     * an entry (see Pools.startBare): made at the first such start.
     * @type {Int32Array | null}
     */
    this.startedOn = null;
  }

  /**
   * The first of the three places of task `taskId` in `items`.
   * @param {number} taskId
   */
  at(taskId) {
    return (taskId - this.firstTask) * 3;
  }
}
keepShape(() => new Queued(/** @type {any} */ (null), 0, 0, []));

/** The items of a batch whose tasks were all taken out while batches before it still held some. */
const NO_ITEMS = /** @type {unknown[]} */ (/** @type {unknown} */ (Object.freeze([])));

/** @typedef {import('./pool').WorkerPool} WorkerPool */

/**
 * A number from the engine's records (read as a double) as a small integer
 * when it is one: an entry's ids are fields its layout keeps as small
 * integers, and a double stored there would give every entry a new layout
 * that nothing keeps alive (see shapes.js).
 * @param {number} n
 */
const asSmall = (n) => (n === (n | 0) ? n | 0 : n);

class Pools {
  /** @type {Map<string, WorkerPool>} */
  #byName = new Map();
  /** @type {IdTable<PoolEntry>} unfinished tasks with an entry, by the engine's task id */
  #tasks = new IdTable();
  /**
   * Batches of queued `pool.run` tasks (see Queued) in the order of their
   * task ids (the engine numbers tasks in the order they are added), from
   * `#batchHead` on: a task's batch is found by its id, mostly the first
   * batch (tasks mostly start in the order they came), else by a binary
   * search. Those before `#batchHead` are gone; a batch emptied behind
   * one that still holds a task stays (with its items dropped) until it
   * comes to the head, and such batches are cut out when they are most of
   * the list.
   * @type {Queued[]}
   */
  #batches = [];
  #batchHead = 0;
  /** How many batches from `#batchHead` on are emptied. */
  #batchesEmptied = 0;
  /** @type {((taskId: number) => void) | null} adopts a task the engine queued by itself (see adoptFrom) */
  #adopt = null;

  /** @param {string} name */
  get(name) {
    return this.#byName.get(name);
  }

  /**
   * @param {string} name
   * @param {WorkerPool} pool
   */
  add(name, pool) {
    this.#byName.set(name, pool);
  }

  names() {
    return [...this.#byName.keys()];
  }

  values() {
    return this.#byName.values();
  }

  /**
   * The pool that unit `id` is a worker of, if any.
   * @param {unknown} id
   */
  ownerOf(id) {
    for (const pool of this.#byName.values()) if (pool.hasWorker(id)) return pool;
    return undefined;
  }

  /**
   * The unfinished task with engine task id `taskId`. A task the engine
   * queued by itself (a stored task retried from the web dashboard) is
   * adopted the first time a record names it.
   * @param {number} taskId
   */
  task(taskId) {
    const entry = this.peekTask(taskId);
    if (entry !== undefined || this.#adopt === null) return entry;
    this.#adopt(taskId);
    return this.peekTask(taskId);
  }

  /**
   * The entry of a queued `pool.run` task, made from its places in its
   * batch when a record first needs it (its start, mostly) and kept in the
   * first of them. The others are cleared, and the first when the task is
   * taken out: a batch is kept until its last task is, which must not keep
   * the others' payloads.
   * @param {number} taskId
   * @param {Queued} queued
   * @returns {PoolEntry}
   */
  #entryOf(taskId, queued) {
    const { items } = queued;
    const at = queued.at(taskId);
    const first = items[at];
    if (first instanceof PoolEntry) return first;
    const execute = /** @type {import('./pool').TaskFunction} */ (first);
    const resolve = /** @type {(value: unknown) => void} */ (items[at + 1]);
    const slot = queued.startedOn === null ? -1 : queued.startedOn[taskId - queued.firstTask] - 1;
    const entry = queued.pool[kEntryOf](asSmall(taskId), execute, resolve, items[at + 2], asSmall(queued.firstArrangement + taskId - queued.firstTask), slot);
    items[at] = entry;
    items[at + 1] = undefined;
    items[at + 2] = undefined;
    return entry;
  }

  /**
   * From now on a task id that names no task is asked of `adopt`, which
   * may add it (setTask): the SQLite store's tasks queued again.
   * @param {(taskId: number) => void} adopt
   */
  adoptFrom(adopt) {
    this.#adopt = adopt;
  }

  /**
   * A task the engine queued as `taskId`.
   * @param {number} taskId
   * @param {PoolEntry} entry
   */
  setTask(taskId, entry) {
    this.#tasks.set(taskId, entry);
  }

  /**
   * `pool.run` tasks the engine queued as `firstTask` onwards (see Queued).
   * @param {WorkerPool} pool
   * @param {number} firstTask
   * @param {number} firstArrangement
   * @param {unknown[]} items three places per task
   */
  setQueued(pool, firstTask, firstArrangement, items) {
    if (items.length === 0) return;
    const batches = this.#batches;
    const queued = new Queued(pool, firstTask, firstArrangement, items);
    let at = batches.length;
    // The engine numbers tasks in the order they are added, so a batch
    // comes after the others; should one not, it takes its place in order.
    while (at > this.#batchHead && batches[at - 1].firstTask > firstTask) at--;
    if (at === batches.length) batches.push(queued);
    else batches.splice(at, 0, queued);
  }

  /** How many batches are held (for the package's own tests; not API). */
  get _batchesHeld() {
    return this.#batches.length - this.#batchHead;
  }

  /**
   * The batch holding queued task `taskId`, if a batch holds it.
   * @param {number} taskId
   * @returns {Queued | undefined}
   */
  #batchOf(taskId) {
    const batches = this.#batches;
    let lo = this.#batchHead;
    let hi = batches.length - 1;
    if (lo > hi) return undefined;
    let batch = batches[lo];
    if (taskId < batch.firstTask) return undefined;
    if (taskId >= batch.firstTask + batch.count) {
      // The last batch whose first task is at most taskId.
      lo++;
      if (lo > hi) return undefined;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (batches[mid].firstTask <= taskId) lo = mid;
        else hi = mid - 1;
      }
      batch = batches[lo];
      if (taskId < batch.firstTask || taskId >= batch.firstTask + batch.count) return undefined;
    }
    // A task taken out leaves its first place empty (an id that is not an integer names none).
    const first = batch.items[batch.at(taskId)];
    return first === undefined ? undefined : batch;
  }

  /**
   * The entry of task `taskId`, left in place.
   * @param {number} taskId
   */
  peekTask(taskId) {
    const batch = this.#batchOf(taskId);
    return batch !== undefined ? this.#entryOf(taskId, batch) : this.#tasks.get(taskId);
  }

  /**
   * A RUN record of task `taskId` on `worker` (in `slot`): when it is a queued
   * `pool.run` task kept without an entry, and nobody listens to task
   * events, it starts without one too (see WorkerPool[kStartBare]) and its
   * batch is returned (its function and payload are at `batch.at(taskId)`
   * and two places after it). Else undefined: the task goes the entry's way.
   * @param {number} taskId
   * @param {import('./pool').PoolWorker | undefined} worker
   * @param {number} slot
   * @returns {Queued | undefined}
   */
  startBare(taskId, worker, slot) {
    const batch = this.#batchOf(taskId);
    if (batch === undefined || typeof batch.items[batch.at(taskId)] !== 'function') return undefined;
    if (!batch.pool[kStartBare](worker, asSmall(taskId))) return undefined;
    // Where it runs, for an entry made while it does (see #entryOf).
    if (worker !== undefined) (batch.startedOn ??= new Int32Array(batch.count))[taskId - batch.firstTask] = slot + 1;
    return batch;
  }

  /**
   * A TASK_DONE record of task `taskId`, which completed with `value`:
   * when it ran without an entry (see startBare) and still may
   * (nobody listens to task events now), its promise is settled and it
   * is taken out; returns whether it was. Else it goes the entry's way
   * (takeTask, taskDone).
   * @param {number} taskId
   * @param {unknown} value
   */
  completeBare(taskId, value) {
    const batch = this.#batchOf(taskId);
    if (batch === undefined) return false;
    const { items } = batch;
    const at = batch.at(taskId);
    if (typeof items[at] !== 'function') return false;
    const slot = batch.startedOn === null ? -1 : batch.startedOn[taskId - batch.firstTask] - 1;
    if (!batch.pool[kDoneBare](slot, asSmall(taskId), /** @type {(value: unknown) => void} */ (items[at + 1]), value)) return false;
    items[at] = undefined;
    items[at + 1] = undefined;
    items[at + 2] = undefined;
    if (--batch.left === 0) this.#emptied(batch);
    return true;
  }

  /**
   * Takes a finished task out (a TASK_DONE record).
   * @param {number} taskId
   */
  takeTask(taskId) {
    const batch = this.#batchOf(taskId);
    if (batch === undefined) {
      const entry = this.#tasks.get(taskId);
      if (entry !== undefined) this.#tasks.delete(taskId);
      return entry;
    }
    const entry = this.#entryOf(taskId, batch);
    batch.items[batch.at(taskId)] = undefined;
    if (--batch.left === 0) this.#emptied(batch);
    return entry;
  }

  /**
   * Every task of `batch` was taken out: the batches at the head that are
   * emptied go, and the emptied ones behind a batch that still holds a
   * task drop their items, and are cut out when they are most of the list.
   * @param {Queued} batch
   */
  #emptied(batch) {
    const batches = this.#batches;
    batch.items = NO_ITEMS;
    if (batches[this.#batchHead] !== batch) {
      this.#batchesEmptied++;
      if (this.#batchesEmptied > 64 && this.#batchesEmptied * 2 > batches.length - this.#batchHead) {
        this.#batches = batches.slice(this.#batchHead).filter((b) => b.left > 0);
        this.#batchHead = 0;
        this.#batchesEmptied = 0;
      }
      return;
    }
    let head = this.#batchHead;
    batches[head++] = /** @type {any} */ (undefined);
    while (head < batches.length && batches[head].left === 0) {
      batches[head++] = /** @type {any} */ (undefined);
      this.#batchesEmptied--;
    }
    if (head === batches.length) {
      batches.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > batches.length) {
      this.#batches = batches.slice(head);
      head = 0;
    }
    this.#batchHead = head;
  }

  /**
   * A TASK_STATUS record.
   * @param {number} taskId
   * @param {number} status
   */
  taskStatus(taskId, status) {
    const entry = this.task(taskId);
    if (entry) entry.pool[kStatus](entry, status);
  }

  /**
   * A TASK_DONE record, the task taken out.
   * @param {PoolEntry} entry
   * @param {number} kind
   * @param {unknown} value
   */
  taskDone(entry, kind, value) {
    entry.pool[kDone](entry, kind, value);
  }

  /**
   * A POOL_IDLE record.
   * @param {number} poolId the engine's pool number
   */
  idle(poolId) {
    for (const pool of this.#byName.values()) if (pool[kEngineId] === poolId) pool[kIdle]();
  }
}

module.exports = { Pools };
