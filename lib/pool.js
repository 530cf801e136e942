// @ts-check
'use strict';

// The worker pool users get from `manager.useWorkerPool(size)`. The queue,
// its order and every dispatch decision live in the engine; this object
// keeps the users' task objects and functions and carries out the engine's
// records about them (see manager.js: TASK_STATUS, TASK_DONE, POOL_IDLE).

const util = require('node:util');
const v = require('./validate');
const { SynchronikError, closedError } = require('./errors');
const { afterAbort, watchAbort, unwatchAbort } = require('./abort-watch');
const { DEFAULTS, TASK_STATUSES, TASK_END_STATUSES: DONE_STATUSES } = require('./generated/vocabulary');
const { keepShape, Stamp, slotArray, holesOf } = require('./shapes');

/**
 * @typedef {import('./core').Core} Core
 * @typedef {import('./units').Unit} PoolWorker a pool worker: a registered worker unit the pool made
 * @typedef {Record<string, any>} PoolTask a task object: the user's (addTask), or one made for `task` events (pool.run)
 * @typedef {(...args: any[]) => unknown} TaskFunction a task's `execute`, or a handler: called with the payload and the run's context
 * @typedef {{ signal: AbortSignal, onAbort: () => void, aborted: boolean }} RunAbort the signal of a pool.run task and its listener
 * @typedef {PoolEntry & { task: PoolTask }} NamedEntry the entry of a task with a task object of its own (addTask, stored tasks)
 * @typedef {PoolEntry & { abort: RunAbort }} AbortableEntry the entry of a pool.run task given a signal
 */

/**
 * What the manager's other modules call on a pool (pools.js, run-context.js,
 * durable-store.js, manager.js). Symbol-keyed: a pool's users see its API,
 * not these.
 */
const kEngineId = Symbol('engineId');
const kStoresTasks = Symbol('storesTasks');
const kSubmit = Symbol('submit');
const kCallee = Symbol('callee');
const kStatus = Symbol('status');
const kDone = Symbol('done');
const kIdle = Symbol('idle');
const kStopped = Symbol('stopped');
const kAdoptTask = Symbol('adoptTask');
const kNoteMilestone = Symbol('noteMilestone');
const kEntryOf = Symbol('entryOf');
const kStartBare = Symbol('startBare');
const kDoneBare = Symbol('doneBare');
const poolInternals = Object.freeze(/** @type {const} */ ({ kEngineId, kSubmit, kCallee, kStatus, kDone, kIdle, kStopped, kAdoptTask, kNoteMilestone, kEntryOf, kStartBare, kDoneBare }));

/** Calls `fn` in a microtask: a native promise job, which fake timers cannot hold back (queueMicrotask they can). */
const resolved = Promise.resolve();
const soon = (/** @type {() => void} */ fn) => void resolved.then(fn);

/**
 * The most workers a pool may have. Every pool worker is a registered unit
 * (about 1 KB with its object), made when the pool grows: a bound keeps a
 * size meant as "no limit" from registering workers until memory runs out.
 */
const MAX_POOL_SIZE = DEFAULTS.maxPoolSize;

/** The options of pool.run: an option bag of the call, where any other key is refused. */
const RUN_OPTIONS = ['payload', 'priority', 'signal', 'runAt', 'delayMs'];
/** How many pool.run tasks wait for their microtask before they are handed to the engine at once. */
const SUBMIT_PART = 4096;

/**
 * The fields of a task object that mean something to the pool: what addTask
 * and updateTask take, and what the pool writes onto the object. The object
 * is kept and handed back, so other fields are the user's own (a key one
 * slip away from one of these is warned about, as for units).
 */
const TASK_KEYS = ['name', 'execute', 'handler', 'payload', 'priority', 'runAt', 'delayMs', 'arrangementId', 'status', 'error', 'idempotencyKey'];


/**
 * An `AbortError`, as fetch and p-queue reject with; the signal's reason is its `cause`.
 * @param {AbortSignal} [signal]
 */
function abortError(signal) {
  const error = /** @type {Error & { code?: string }} */ (new Error('This operation was aborted', { cause: signal ? signal.reason : undefined }));
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

/**
 * A task the pool holds until it is finished: the user's task object (for
 * addTask) or the parts of an anonymous one (pool.run, whose task object is
 * made only when somebody listens to `task` events), and how to settle its
 * promise. A `pool.run` task without a signal, a time or a priority gets
 * its entry only when it starts (see Pools.setQueued): a million of them
 * queued cost their promises and three places in a list each.
 */
class PoolEntry {
  /**
   * @param {WorkerPool} pool
   * @param {PoolTask | null} task
   * @param {TaskFunction | undefined} execute
   * @param {unknown} payload
   * @param {number | undefined} priority
   */
  constructor(pool, task, execute, payload, priority) {
    this.pool = pool;
    /**
     * The live task object (addTask), or null until one is needed (pool.run);
     * a task's status lives on it (an anonymous task without one is running
     * exactly while it has a worker).
     */
    this.task = task;
    this.execute = execute;
    this.payload = payload;
    this.priority = priority;
    this.arrangementId = 0;
    this.taskId = -1;
    /** @type {PoolWorker | undefined} the pool worker running the task */
    this.worker = undefined;
    /**
     * pool.run: the function that settles its promise (it rejects it by
     * resolving it with a rejected one: the promise's reject function is
     * not kept, which a queued task would hold until it ends).
     * @type {((value: unknown) => void) | undefined}
     */
    this.resolve = undefined;
    /** @type {RunAbort | null} `{ signal, onAbort, aborted }` when the pool.run task has a signal */
    this.abort = null;
  }

  /** The task object that `task` events carry. */
  view() {
    let task = this.task;
    if (task === null) {
      const status = this.worker === undefined ? 'idle' : 'running';
      task = { name: '(anonymous)', execute: this.execute, payload: this.payload, priority: this.priority, arrangementId: this.arrangementId, status };
      this.task = task;
    }
    return task;
  }

  get status() {
    return this.task !== null ? this.task.status : this.worker === undefined ? 'idle' : 'running';
  }

  /** @param {string} status */
  setStatus(status) {
    if (this.task !== null) this.task.status = status;
  }

  /** Whether the task is stored: with a SQLite store, the tasks that name a handler are. */
  get durable() {
    return this.task !== null && this.task.handler !== undefined && this.pool[kStoresTasks];
  }

  get aborted() {
    return this.abort !== null && this.abort.aborted;
  }

  /**
   * What `console.log` shows of a task the pool holds.
   * @param {number} depth
   * @param {util.InspectOptionsStylized} options
   * @param {typeof util.inspect} inspect
   */
  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[PoolTask]', 'special');
    /** @type {Record<string, unknown>} */
    const view = {
      name: this.task !== null ? this.task.name : '(anonymous)',
      status: this.status,
      priority: this.priority ?? 0,
      arrangementId: this.arrangementId,
    };
    if (this.worker !== undefined) view.worker = this.worker.id;
    return `PoolTask ${inspect(view, { ...options, depth: options.depth === null ? null : /** @type {number} */ (options.depth) - 1 })}`;
  }
}
keepShape(() => new PoolEntry(/** @type {any} */ (null), null, undefined, undefined, undefined));

/**
 * The task each pool worker object is running, in a private field of the
 * object: a property store and load per task, where a map from worker to
 * task cost a hash insert and delete per task (a tenth of the time of a
 * million `pool.run` tasks). Pool worker objects are the pool's own and are
 * shown to users (getPoolWorkers); see Stamp. A `pool.run` task that runs
 * without an entry (see WorkerPool[kStartBare]) is there as its task id.
 */
class Running extends Stamp {
  /** @type {PoolEntry | number | undefined} */
  #entry = undefined;

  /**
   * The entry `worker` runs (or the task id of one that runs without an entry), if any.
   * @param {object} worker
   * @returns {PoolEntry | number | undefined}
   */
  static of(worker) {
    return #entry in worker ? /** @type {any} */ (worker).#entry : undefined;
  }

  /**
   * @param {object} worker a pool worker object (given the field when made)
   * @param {PoolEntry | number | undefined} entry
   */
  static set(worker, entry) {
    if (#entry in worker) /** @type {any} */ (worker).#entry = entry;
  }
}

/**
 * The resolve function of the promise being made: the Promise constructor
 * calls its executor synchronously, so one shared executor (instead of a
 * closure per task) hands it over. The reject function is not kept (see
 * PoolEntry.resolve).
 * @type {((value: unknown) => void) | undefined}
 */
let madeResolve;
/** @param {(value: unknown) => void} resolve */
function takeResolve(resolve) {
  madeResolve = resolve;
}

class WorkerPool {
  /** The manager's parts (see core.js). */
  #core;
  /** The manager's events (task events), read on every task's start and end. */
  #events;
  #native;
  /** The engine's number for this pool. */
  #id;
  /** Whether tasks that name a handler are stored (the manager has a SQLite store). */
  #storesTasks;
  /** @type {PoolWorker[]} pool worker objects in id order */
  #workers = [];
  /** @type {Set<NamedEntry>} named tasks (addTask) not finished yet */
  #named = new Set();
  /** @type {Map<string, TaskFunction>} named handlers (`handle`) */
  #handlers = new Map();
  /** @type {{ resolve: () => void, reject: (error: unknown) => void }[]} */
  #idleWaiters = [];
  #nextWorker = 1;
  /** @type {Map<string, string>} the last milestone each pool worker's task emitted, by worker id */
  #lastMilestone = new Map();
  /**
   * pool.run tasks not handed to the engine yet (one native call per
   * microtask), three places each: the task's entry (one given a signal
   * or a priority), or its function, its promise's resolve function and
   * its payload (the others, which get no entry until they start: see
   * Pools.setQueued). The first `#submitted` places are taken; after a
   * burst handed over in parts, the next list is made as long as a part
   * (grown by pushes, a list of a part's length was copied about twenty
   * times on the way, and kept up to half its length unused). Every list
   * starts with the elements kind it ends with (slotArray's): a `[]`
   * changed it at its first place, which the pool of a program's second
   * manager did in optimized code that had met only lists of parts.
   * @type {unknown[]}
   */
  #submissions = slotArray();
  #submitted = 0;
  /** Whether #submissions holds an entry (see #handOver). */
  #entriesSubmitted = false;
  /** Carries out what the engine answered (a signal's abort, put off to its end: see afterAbort). */
  #sync = () => this.#core.sync();
  /** The microtask after the first pool.run of a burst: hands over the rest and carries out what the engine answers (for the tasks handed over in parts too). */
  #flushSubmissions = () => {
    this.#handOver();
    this.#core.bridge.pump();
  };

  /**
   * @param {import('./core').Core} core
   * @param {string} name
   */
  constructor(core, name) {
    this.#core = core;
    this.#events = core.events;
    this.#native = core.bridge.native;
    this.#id = this.#native.pool(name);
    this.#storesTasks = core.store !== null;
    this.name = name;
  }

  /** The entries of the tasks running now, by worker (for the package's own inspect test; not API). */
  get _running() {
    /** @type {Map<PoolWorker, PoolEntry>} */
    const running = new Map();
    for (const w of this.#workers) {
      const entry = this.#runningOn(w);
      if (entry !== undefined) running.set(w, entry);
    }
    return running;
  }

  /** The engine's number for this pool. */
  get [kEngineId]() {
    return this.#id;
  }

  /** Whether tasks that name a handler are stored. */
  get [kStoresTasks]() {
    return this.#storesTasks;
  }

  /**
   * A task running on pool worker `workerId` emitted a milestone (ctx.emitMilestone).
   * @param {string} workerId
   * @param {string} milestoneId
   */
  [kNoteMilestone](workerId, milestoneId) {
    this.#lastMilestone.set(workerId, milestoneId);
  }

  /**
   * What `console.log(pool)` shows: its name, size and queue, not the manager behind it.
   * @param {number} depth
   * @param {util.InspectOptionsStylized} options
   * @param {typeof util.inspect} inspect
   */
  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[WorkerPool]', 'special');
    const view = {
      name: this.name,
      size: this.#workers.length,
      running: this.#workers.filter((w) => this.#runningOn(w) !== undefined).length,
      queued: this.#native.poolPending(this.#id).length + this.#submitted / 3,
      handlers: [...this.#handlers.keys()],
    };
    return `WorkerPool ${inspect(view, { ...options, depth: options.depth === null ? null : /** @type {number} */ (options.depth) - 1 })}`;
  }

  /** Hands the pending pool.run tasks to the engine in one call, and carries out what it answers. */
  [kSubmit]() {
    if (this.#handOver()) this.#core.bridge.pump();
  }

  /**
   * Hands the pending pool.run tasks to the engine in one call; returns
   * whether it did. What the engine answers (the runs it starts) waits in
   * its queue for the next pump.
   */
  #handOver() {
    let batch = this.#submissions;
    const count = this.#submitted;
    if (count === 0) return false;
    this.#submitted = 0;
    this.#submissions = count >= SUBMIT_PART * 3 ? holesOf(SUBMIT_PART * 3) : slotArray();
    if (batch.length > count) batch = batch.slice(0, count);
    if (!this.#entriesSubmitted) {
      // Only tasks without an entry (the common case): the list is theirs,
      // and their priorities are all the default.
      const added = this.#native.poolAddMany(this.#id, new Float64Array(batch.length / 3));
      this.#core.pools.setQueued(this, added.firstTask, added.firstArrangement, batch);
      return true;
    }
    this.#entriesSubmitted = false;
    // A task with an entry whose signal was aborted meanwhile was settled then: it is left out.
    const left = (/** @type {unknown} */ item) => typeof item !== 'function' && /** @type {PoolEntry} */ (item).aborted;
    /** @type {number[]} */
    const priorities = [];
    for (let j = 0; j < batch.length; j += 3) {
      const item = batch[j];
      if (typeof item === 'function') priorities.push(0);
      else if (!left(item)) priorities.push(/** @type {PoolEntry} */ (item).priority ?? 0);
    }
    if (priorities.length === 0) {
      // Every one was aborted before it reached the engine: the pool may be idle now.
      if (this.#idleWaiters.length > 0) this[kIdle]();
      return false;
    }
    const added = this.#native.poolAddMany(this.#id, Float64Array.from(priorities));
    const pools = this.#core.pools;
    const { firstTask, firstArrangement } = added;
    // Each run of tasks without an entry gets a list of its own.
    let from = -1;
    let fromK = 0;
    for (let j = 0, k = 0; j <= batch.length; j += 3) {
      const item = j < batch.length ? batch[j] : null;
      if (typeof item === 'function') {
        if (from < 0) {
          from = j;
          fromK = k;
        }
        k++;
        continue;
      }
      if (from >= 0) {
        pools.setQueued(this, firstTask + fromK, firstArrangement + fromK, batch.slice(from, j));
        from = -1;
      }
      if (item === null || left(item)) continue;
      const entry = /** @type {PoolEntry} */ (item);
      entry.taskId = firstTask + k;
      entry.arrangementId = firstArrangement + k;
      k++;
      pools.setTask(entry.taskId, entry);
    }
    return true;
  }

  /**
   * The entry of a queued `pool.run` task kept without one (Pools.setQueued), made when it is needed;
   * `slot` is that of the worker it runs on without an entry (see kStartBare), -1 when none.
   * @param {number} taskId
   * @param {TaskFunction} execute
   * @param {(value: unknown) => void} resolve
   * @param {unknown} payload
   * @param {number} arrangementId
   * @param {number} [slot]
   */
  [kEntryOf](taskId, execute, resolve, payload, arrangementId, slot = -1) {
    const entry = new PoolEntry(this, null, execute, payload, undefined);
    entry.resolve = resolve;
    entry.taskId = taskId;
    entry.arrangementId = arrangementId;
    if (slot >= 0) {
      // It runs without an entry: the entry takes its place on its worker.
      const worker = /** @type {PoolWorker | undefined} */ (this.#core.units.at(slot));
      if (worker !== undefined && Running.of(worker) === taskId) {
        entry.worker = worker;
        Running.set(worker, entry);
      }
    }
    return entry;
  }

  /**
   * The entry of the task `worker` runs, made if it runs without one.
   * @param {PoolWorker} worker
   * @returns {PoolEntry | undefined}
   */
  #runningOn(worker) {
    const current = Running.of(worker);
    return typeof current === 'number' ? this.#core.pools.peekTask(current) : current;
  }

  /** @param {number} k */
  #workerId(k) {
    return this.name === DEFAULTS.poolName ? `pool-worker-${k}` : `${this.name}:pool-worker-${k}`;
  }

  /**
   * Adds pool workers until there are `size`.
   * @param {number} size
   */
  #grow(size) {
    while (this.#workers.length < size) {
      // An id the user's own unit has stays the user's: the pool worker
      // takes the next free number instead of replacing that unit.
      let k = this.#nextWorker++;
      while (this.#core.units.slot(this.#workerId(k)) >= 0) k = this.#nextWorker++;
      // Pool workers run tasks, not a `run` of their own; a task bounds its
      // own time through its signal, so they have no timeout.
      const worker = {
        id: this.#workerId(k),
        name: `Pool Worker ${k}`,
        enabled: true,
        status: 'idle',
        timeoutMs: 0,
        run: () => undefined,
      };
      new Running(worker);
      this.#core.register(worker, (slot) => this.#native.poolAttach(this.#id, slot));
      this.#workers.push(worker);
    }
    this.#core.sync();
  }

  /**
   * The named task called `name` that is not running, if any.
   * @param {string} name
   */
  #find(name) {
    for (const entry of this.#named) {
      if (entry.task.name === name && entry.status !== 'running') return entry;
    }
    return undefined;
  }

  /**
   * Queues a task `{ name, execute | handler, payload?, priority? }` and
   * returns the live task object, or null (with a warning) when a pending
   * task has the same name.
   * @param {any} input
   * @returns {PoolTask | null}
   */
  addTask(input) {
    this.#core.open('addTask');
    if (!v.isObject(input)) throw v.fail('addTask', 'task', 'an object', input);
    v.checkName('addTask', 'task.name', input.name);
    if (input.handler !== undefined) {
      v.checkName('addTask', 'task.handler', input.handler);
    } else {
      v.check('addTask', 'task.execute', input.execute, (/** @type {unknown} */ x) => typeof x === 'function', 'a function (or give task.handler)');
    }
    if (input.priority !== undefined) {
      v.check('addTask', 'task.priority', input.priority, (/** @type {unknown} */ x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
    v.checkKnownKeys('addTask', 'task', input, TASK_KEYS, 'warn');
    const at = this.#dueAt('addTask', 'task', input);
    // With a SQLite store, a task that names a handler is stored (durable).
    const store = this.#core.store;
    if (input.handler !== undefined && store) return store.addTask(this, input, at);
    return this.#add(input, at);
  }

  /**
   * When a task with `runAt` or `delayMs` is queued (Unix ms on the
   * engine's clock), or undefined for one queued now.
   * @param {string} method
   * @param {string} path
   * @param {Record<string, any>} o
   * @returns {number | undefined}
   */
  #dueAt(method, path, o) {
    if (o.runAt !== undefined && o.delayMs !== undefined) {
      throw v.fail(method, `${path}.delayMs`, 'left out when runAt is given (one or the other)', o.delayMs);
    }
    if (o.delayMs !== undefined) {
      v.check(method, `${path}.delayMs`, o.delayMs, (/** @type {unknown} */ x) => typeof x === 'number' && Number.isFinite(x) && x >= 0, 'a finite number of ms ≥ 0');
      return this.#native.wallMs() + o.delayMs;
    }
    if (o.runAt === undefined) return undefined;
    const ms = v.instantMs(o.runAt);
    if (Number.isNaN(ms)) throw v.fail(method, `${path}.runAt`, 'a Date, an ISO 8601 date string or epoch milliseconds', o.runAt);
    return ms;
  }

  /**
   * Queues a validated task the pool holds in memory only.
   * @param {PoolTask} input
   * @param {number | undefined} at when it is queued (runAt, delayMs), or undefined for now
   * @returns {PoolTask | null}
   */
  #add(input, at) {
    this[kSubmit]();
    const ids =
      at === undefined
        ? this.#native.poolAdd(this.#id, input.name, input.priority ?? 0, input.handler)
        : this.#native.poolAddAt(this.#id, input.name, input.priority ?? 0, input.handler, at);
    if (ids.length === 0) {
      console.warn(`Task with name "${input.name}" already exists.`);
      return null;
    }
    const [taskId, arrangementId] = ids;
    // One whose time has passed already is queued at once (a status record says so).
    const task = { ...input, arrangementId, status: at === undefined ? 'idle' : 'scheduled' };
    const entry = /** @type {NamedEntry} */ (new PoolEntry(this, task, input.execute, input.payload, input.priority));
    entry.taskId = taskId;
    entry.arrangementId = arrangementId;
    this.#named.add(entry);
    this.#core.pools.setTask(taskId, entry);
    this.#core.sync();
    return task;
  }

  /**
   * Holds a stored task object (durable-store.js: added, or restored from an
   * earlier process, or claimed from a shared store) as the pool's entry for
   * engine task `taskId`; `replaces`: the id it had before (a task added
   * here, offered to every node, then claimed by this one).
   * @param {Record<string, any>} task
   * @param {number} taskId
   * @param {number} [replaces]
   */
  [kAdoptTask](task, taskId, replaces) {
    if (replaces !== undefined) {
      const old = this.#core.pools.takeTask(replaces);
      if (old) this.#named.delete(/** @type {NamedEntry} */ (old));
    }
    const entry = /** @type {NamedEntry} */ (new PoolEntry(this, task, task.execute, task.payload, task.priority));
    entry.taskId = taskId;
    entry.arrangementId = task.arrangementId;
    this.#named.add(entry);
    this.#core.pools.setTask(taskId, entry);
  }

  /**
   * Runs `execute(payload, ctx)` as an anonymous task and resolves with its
   * result (p-queue style). An aborted `signal` removes a queued task or
   * aborts a running one; the promise then rejects with an AbortError.
   * @param {TaskFunction} execute
   * @param {any} [options]
   * @returns {Promise<unknown>}
   */
  run(execute, options) {
    /** @type {unknown} */
    let payload;
    /** @type {number | undefined} */
    let priority;
    /** @type {AbortSignal | undefined} */
    let signal;
    /** @type {number | undefined} when the task is queued (runAt, delayMs) */
    let at;
    if (this.#core.closed) return Promise.reject(closedError('pool.run'));
    if (typeof execute !== 'function') {
      return Promise.reject(v.fail('pool.run', 'execute', 'a function', execute));
    }
    if (options !== undefined) {
      try {
        if (!v.isObject(options)) throw v.fail('pool.run', 'options', 'an object', options);
        v.checkKnownKeys('pool.run', 'options', options, RUN_OPTIONS, 'refuse');
        ({ payload, priority, signal } = options);
        if (priority !== undefined) {
          v.check('pool.run', 'options.priority', priority, (/** @type {unknown} */ x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
        }
        if (signal !== undefined && !(signal instanceof AbortSignal)) {
          throw v.fail('pool.run', 'options.signal', 'an AbortSignal', signal);
        }
        at = this.#dueAt('pool.run', 'options', options);
      } catch (e) {
        return Promise.reject(e);
      }
      if (signal && signal.aborted) return Promise.reject(abortError(signal));
    }
    if (signal === undefined && at === undefined && priority === undefined) {
      // The common task: no entry until it starts (see #submissions).
      const promise = new Promise(takeResolve);
      const resolve = madeResolve;
      madeResolve = undefined;
      this.#place(execute, resolve, payload);
      return promise;
    }
    const entry = new PoolEntry(this, null, execute, payload, priority);
    const promise = new Promise(takeResolve);
    entry.resolve = madeResolve;
    madeResolve = undefined;
    if (signal) {
      entry.abort = { signal, onAbort: () => this.#abort(/** @type {AbortableEntry} */ (entry)), aborted: false };
      watchAbort(signal, entry.abort.onAbort);
    }
    if (at !== undefined) {
      // Not batched: it waits for its time in the engine.
      this[kSubmit]();
      const [taskId, arrangementId] = this.#native.poolAddAt(this.#id, undefined, priority ?? 0, undefined, at);
      entry.taskId = taskId;
      entry.arrangementId = arrangementId;
      this.#core.pools.setTask(taskId, entry);
      this.#core.sync();
    } else {
      this.#submit(entry);
    }
    return promise;
  }

  /**
   * Adds a pool.run task with an entry to those waiting for the microtask (see #submissions).
   * @param {PoolEntry} entry
   */
  #submit(entry) {
    this.#entriesSubmitted = true;
    this.#place(entry, undefined, undefined);
  }

  /**
   * Puts a pool.run task's three places in the list of those waiting for
   * the microtask (see #submissions), which the first of a burst queues.
   * @param {unknown} first
   * @param {unknown} second
   * @param {unknown} third
   */
  #place(first, second, third) {
    const list = this.#submissions;
    const n = this.#submitted;
    list[n] = first;
    list[n + 1] = second;
    list[n + 2] = third;
    const waiting = (this.#submitted = n + 3);
    if (waiting === 3) soon(this.#flushSubmissions);
    // A long synchronous loop of pool.run calls goes to the engine in
    // parts: a list of a million tasks waiting for the microtask, each
    // young object referenced from one old array, made every young
    // collection go through all of them (their runs still start in the
    // microtask, never inside pool.run).
    else if (waiting >= SUBMIT_PART * 3) this.#handOver();
  }

  /**
   * A pool.run signal was aborted: a queued task is removed, a running one
   * aborted, once the queued tasks of the same signal are removed (see
   * afterAbort).
   * @param {AbortableEntry} entry
   */
  #abort(entry) {
    entry.abort.aborted = true;
    if (entry.taskId < 0) {
      // Still waiting to be handed to the engine: it never will be.
      this.#settle(entry, false, abortError(entry.abort.signal));
      return;
    }
    if (entry.worker === undefined) {
      this.#native.poolCancelTask(entry.taskId);
      afterAbort(this.#sync);
      return;
    }
    afterAbort(() => {
      this.#native.poolCancelTask(entry.taskId);
      this.#core.sync();
    });
  }

  /**
   * Settles a pool.run promise.
   * @param {PoolEntry} entry
   * @param {boolean} ok
   * @param {unknown} value
   */
  #settle(entry, ok, value) {
    if (entry.abort !== null) unwatchAbort(entry.abort.signal, entry.abort.onAbort);
    /** @type {(value: unknown) => void} */ (entry.resolve)(ok ? value : Promise.reject(value));
  }

  /**
   * Pauses a pending task: it and every task behind it wait until it is resumed.
   * @param {string} name
   */
  pauseTask(name) {
    this.#core.open('pauseTask');
    v.checkName('pauseTask', 'name', name);
    this[kSubmit]();
    if (!this.#native.poolPause(this.#id, name)) console.warn(`Cannot pause: Task "${name}" is not pending or idle.`);
    this.#core.sync();
  }

  /**
   * Resumes a paused task.
   * @param {string} name
   */
  resumeTask(name) {
    this.#core.open('resumeTask');
    v.checkName('resumeTask', 'name', name);
    this[kSubmit]();
    if (!this.#native.poolResume(this.#id, name)) console.warn(`Cannot resume: Task "${name}" is not paused.`);
    this.#core.sync();
  }

  /**
   * Removes the pending tasks called `name`.
   * @param {string} name
   */
  cancelTask(name) {
    this.#core.open('cancelTask');
    v.checkName('cancelTask', 'name', name);
    this[kSubmit]();
    if (this.#native.poolCancel(this.#id, name) === 0) {
      console.warn(`Cannot cancel: Task "${name}" not found in pending queue.`);
    }
    this.#core.sync();
  }

  /**
   * Changes a pending task (`execute`, `handler`, `payload`, `priority`, …).
   * A new `handler` replaces the one a task names (the engine then waits
   * for that one); a task runs either its own `execute` or a handler, so
   * neither can be given to a task of the other kind.
   * @param {string} name
   * @param {any} partial
   */
  updateTask(name, partial) {
    this.#core.open('updateTask');
    v.checkName('updateTask', 'name', name);
    if (!v.isObject(partial)) throw v.fail('updateTask', 'partial', 'an object', partial);
    v.refuseProtoKey('updateTask', 'partial', partial);
    if (partial.priority !== undefined) {
      v.check('updateTask', 'partial.priority', partial.priority, (/** @type {unknown} */ x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
    if (partial.execute !== undefined) v.check('updateTask', 'partial.execute', partial.execute, (/** @type {unknown} */ x) => typeof x === 'function', 'a function');
    if (partial.handler !== undefined) v.checkName('updateTask', 'partial.handler', partial.handler);
    v.checkKnownKeys('updateTask', 'partial', partial, TASK_KEYS, 'warn');
    this[kSubmit]();
    const entry = this.#find(name);
    if (!entry) {
      console.error(`Cannot update: Task "${name}" not found.`);
      return;
    }
    const { task } = entry;
    if (partial.handler !== undefined && task.handler === undefined) {
      throw new TypeError(
        `updateTask: partial.handler can only replace the handler of a task that names one (got "${partial.handler}" for task "${name}", which runs its own execute function; cancel it and add it again with a handler)`,
      );
    }
    if (partial.execute !== undefined && task.handler !== undefined) {
      throw new TypeError(
        `updateTask: partial.execute cannot be given to a task that names a handler (got a function for task "${name}", which runs handler "${task.handler}"; change partial.handler instead)`,
      );
    }
    // A stored task's new payload must be storable; it is stored with the change.
    const store = this.#core.store;
    if (entry.durable && store) store.patchTask(entry, partial);
    const { arrangementId: _a, status: _s, name: _n, ...rest } = partial;
    Object.assign(task, rest);
    if (partial.priority !== undefined) this.#native.poolReprioritize(this.#id, name, partial.priority);
    if (partial.handler !== undefined) this.#native.poolSetTaskHandler(this.#id, name, partial.handler);
    this.#core.sync();
  }

  /**
   * Defines (or replaces) the handler that tasks naming `name` run.
   * @param {string} name
   * @param {TaskFunction} fn
   */
  handle(name, fn) {
    this.#core.open('pool.handle');
    v.checkName('pool.handle', 'name', name);
    v.check('pool.handle', 'handler', fn, (/** @type {unknown} */ x) => typeof x === 'function', 'a function');
    this.#handlers.set(name, fn);
    this.#native.poolHandler(this.#id, name, true);
    this.#core.sync();
  }

  /**
   * Removes a handler; tasks that name it wait until it is defined again.
   * @param {string} name
   */
  unhandle(name) {
    this.#core.open('pool.unhandle');
    v.checkName('pool.unhandle', 'name', name);
    this.#handlers.delete(name);
    this.#native.poolHandler(this.#id, name, false);
    this.#core.sync();
  }

  /** Starts dispatching tasks. */
  start() {
    this.#core.open('pool.start');
    this[kSubmit]();
    this.#native.poolSetStarted(this.#id, true);
    this.#core.sync();
  }

  /** Stops dispatching (running tasks finish). */
  stop() {
    this.#core.open('pool.stop');
    this[kSubmit]();
    this.#native.poolSetStarted(this.#id, false);
    this.#core.sync();
  }

  /** `"Execution sequence: 1. <name>, 2. <name>"`, or a note that nothing is pending. */
  simulateRun() {
    this[kSubmit]();
    const names = this.#native.poolPending(this.#id);
    if (names.length === 0) return 'No tasks pending for execution.';
    return `Execution sequence: ${names.map((n, i) => `${i + 1}. ${n}`).join(', ')}`;
  }

  /**
   * `{ currentTask, lastMilestone, isIdle }` of a pool worker, or undefined.
   * @param {string} workerId
   */
  getWorkerStatus(workerId) {
    const worker = this.#workers.find((w) => w.id === workerId);
    if (!worker) return undefined;
    this[kSubmit]();
    const current = this.#runningOn(worker);
    return {
      currentTask: current ? (current.task === null ? '(anonymous)' : current.task.name) : undefined,
      lastMilestone: this.#lastMilestone.get(worker.id),
      isIdle: current === undefined,
    };
  }

  /**
   * Whether unit `id` is one of this pool's workers.
   * @param {unknown} id
   */
  hasWorker(id) {
    return this.#workers.some((w) => w.id === id);
  }

  /** The pool's worker objects. */
  getPoolWorkers() {
    return this.#workers.slice();
  }

  /** 2.3's name for getPoolWorkers. */
  generateWorkers() {
    return this.getPoolWorkers();
  }

  /**
   * Grows or shrinks the pool. Shrinking removes idle workers only (the
   * last ones first); when none is idle it warns and removes nothing more.
   * @param {number} size
   */
  resize(size) {
    this.#core.open('resize');
    v.checkPoolSize('resize', size);
    this[kSubmit]();
    if (size > this.#workers.length) {
      this.#grow(size);
      return;
    }
    const want = this.#workers.length - size;
    if (want === 0) return;
    const removed = this.#native.poolShrink(this.#id, want);
    const gone = new Set(removed);
    this.#workers = this.#workers.filter((w) => !gone.has(w.id));
    this.#core.sync();
    if (removed.length < want) {
      console.warn('[Worker Pool] Scale-down requested, but no idle workers are available to remove.');
    }
  }

  /**
   * Resolves when nothing is queued and nothing runs.
   * @returns {Promise<void>}
   */
  onIdle() {
    if (this.#core.closed) return Promise.reject(closedError('pool.onIdle'));
    this[kSubmit]();
    if (this.#native.poolIsIdle(this.#id)) return Promise.resolve();
    return new Promise((/** @type {() => void} */ resolve, reject) => this.#idleWaiters.push({ resolve, reject }));
  }

  // --- records from the engine ----------------------------------------------

  /**
   * The function a task runs; the task is now running on `worker`.
   * @param {PoolEntry} entry
   * @param {PoolWorker | undefined} worker
   * @returns {TaskFunction | undefined}
   */
  [kCallee](entry, worker) {
    entry.worker = worker;
    entry.setStatus('running');
    if (worker) {
      worker.status = 'running';
      Running.set(worker, entry);
    }
    if (this.#events.wantsTasks()) this.#events.task(this, entry.view());
    const { task } = entry;
    if (task !== null && task.handler !== undefined) return this.#handlers.get(task.handler);
    return task !== null ? task.execute : entry.execute;
  }

  /**
   * A queued `pool.run` task kept without an entry (see Pools.setQueued)
   * starts on `worker`: when nobody listens to task events, it runs
   * without one too (an entry is made if something asks for it later:
   * see kEntryOf), and this returns true. What kCallee does for an
   * entry's task, without the entry.
   * @param {PoolWorker | undefined} worker
   * @param {number} taskId
   */
  [kStartBare](worker, taskId) {
    if (this.#events.wantsTasks()) return false;
    if (worker) {
      worker.status = 'running';
      Running.set(worker, taskId);
    }
    return true;
  }

  /**
   * A task that ran without an entry (see kStartBare) completed with
   * `value` on the worker in `slot` (-1: none): what kDone does for an
   * entry's task, without the entry. False (and nothing done) when task
   * events are listened to now: the task then goes the entry's way.
   * @param {number} slot
   * @param {number} taskId
   * @param {(value: unknown) => void} resolve its promise's resolve function
   * @param {unknown} value
   */
  [kDoneBare](slot, taskId, resolve, value) {
    if (this.#events.wantsTasks()) return false;
    const worker = slot >= 0 ? /** @type {PoolWorker | undefined} */ (this.#core.units.at(slot)) : undefined;
    if (worker !== undefined && Running.of(worker) === taskId) {
      // (A slot's worker that runs another task now is not this task's.)
      if (worker.status === 'running') worker.status = 'idle';
      Running.set(worker, undefined);
    }
    resolve(value);
    return true;
  }

  /**
   * A pending task's status changed (paused, idle again, waiting for its handler).
   * @param {PoolEntry} entry
   * @param {number} status the engine's number (TASK_STATUSES)
   */
  [kStatus](entry, status) {
    if (this.#events.wantsTasks()) entry.view();
    entry.setStatus(TASK_STATUSES[status]);
    if (this.#events.wantsTasks()) this.#events.task(this, entry.view());
  }

  /**
   * A task is finished with: kind 0 completed (value: result), 1 failed
   * (value: error), 2 cancelled, 3 dropped because the manager stopped or
   * closed before it ran (value: the ERR_STOPPED / ERR_CLOSED error).
   * @param {PoolEntry} entry
   * @param {number} kind
   * @param {unknown} value
   */
  [kDone](entry, kind, value) {
    const failed = kind === 1 || kind === 3;
    // An anonymous task's object is made for its events before it changes
    // (one that never ran had none yet: it would show as idle).
    if (this.#events.wantsTasks()) entry.view();
    if (entry.task !== null) {
      this.#named.delete(/** @type {NamedEntry} */ (entry));
      if (failed) entry.task.error = value;
    }
    entry.setStatus(DONE_STATUSES[kind]);
    const { worker } = entry;
    if (worker) {
      // The engine ends a task's run as idle only when the worker is still
      // running: one paused (stopAll) or set by hand meanwhile keeps that.
      if (worker.status === 'running') worker.status = 'idle';
      entry.worker = undefined;
      if (Running.of(worker) === entry) Running.set(worker, undefined);
    }
    const events = this.#events;
    if (events.wantsTasks()) events.task(this, entry.view(), failed ? value : undefined);
    if (entry.resolve === undefined) {
      // A named task's failure has no promise to carry it.
      if (failed && !events.wantsTasks()) events.unobservedTaskFailure(this, entry.task, value);
      return;
    }
    if (kind === 0) this.#settle(entry, true, value);
    else if (kind === 2 || (kind === 1 && entry.aborted)) this.#settle(entry, false, abortError(entry.abort !== null ? entry.abort.signal : undefined));
    else this.#settle(entry, false, value);
  }

  /**
   * The engine said the pool fell idle. A listener may have queued work
   * since the record was made (a `task` listener adding a follow-up), so
   * it is asked again before anybody is told.
   */
  [kIdle]() {
    if (this.#idleWaiters.length === 0) return;
    if (this.#submitted > 0 || !this.#native.poolIsIdle(this.#id)) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /**
   * The manager's stop (or close) has ended. What still waits for the pool
   * to fall idle would wait for a start that may never come (the tasks left
   * are stored ones, for the next start or process): it is told so.
   * @param {boolean} closing whether the manager is closing (not only stopping)
   */
  [kStopped](closing) {
    if (this.#idleWaiters.length === 0) return;
    this[kIdle]();
    const waiters = this.#idleWaiters;
    if (waiters.length === 0) return;
    this.#idleWaiters = [];
    const error = closing
      ? closedError('pool.onIdle')
      : new SynchronikError(`pool.onIdle: the manager stopped while pool "${this.name}" still held stored tasks (they run after the next start)`, 'ERR_STOPPED');
    for (const w of waiters) w.reject(error);
  }
}

module.exports = { WorkerPool, PoolEntry, abortError, MAX_POOL_SIZE, poolInternals };
