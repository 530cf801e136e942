// @ts-check
'use strict';

// The manager's worker pools by name, and the pool task of each unfinished
// engine task id: where the engine's task records (TASK_STATUS, TASK_DONE,
// POOL_IDLE) and a pool worker's RUN record find what they are about.

const { IdTable } = require('./id-table');
const { poolInternals } = require('./pool');

// One constant each, typed as the symbol it is (a destructured symbol is typed only `symbol`).
/** @type {typeof poolInternals.kEngineId} */
const kEngineId = poolInternals.kEngineId;
/** @type {typeof poolInternals.kStatus} */
const kStatus = poolInternals.kStatus;
/** @type {typeof poolInternals.kDone} */
const kDone = poolInternals.kDone;
/** @type {typeof poolInternals.kIdle} */
const kIdle = poolInternals.kIdle;

/**
 * @typedef {import('./pool').WorkerPool} WorkerPool
 * @typedef {import('./pool').PoolEntry} PoolEntry
 */

class Pools {
  /** @type {Map<string, WorkerPool>} */
  #byName = new Map();
  /** @type {IdTable<PoolEntry>} unfinished tasks by the engine's task id */
  #tasks = new IdTable();
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
    const entry = this.#tasks.get(taskId);
    if (entry !== undefined || this.#adopt === null) return entry;
    this.#adopt(taskId);
    return this.#tasks.get(taskId);
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
   * The entry of task `taskId`, left in place.
   * @param {number} taskId
   */
  peekTask(taskId) {
    return this.#tasks.get(taskId);
  }

  /**
   * Takes a finished task out (a TASK_DONE record).
   * @param {number} taskId
   */
  takeTask(taskId) {
    const entry = this.#tasks.get(taskId);
    if (entry !== undefined) this.#tasks.delete(taskId);
    return entry;
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
