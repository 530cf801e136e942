'use strict';

// The worker pool users get from `manager.useWorkerPool(size)`. The queue,
// its order and every dispatch decision live in the engine; this object
// keeps the users' task objects and functions and carries out the engine's
// records about them (see manager.js: TASK_STATUS, TASK_DONE, POOL_IDLE).

const util = require('node:util');
const v = require('./validate');
const { SynchronikError, closedError } = require('./errors');
const { DEFAULTS, TASK_STATUSES, TASK_END_STATUSES: DONE_STATUSES } = require('./generated/vocabulary');

/** Calls `fn` in a microtask: a native promise job, which fake timers cannot hold back (queueMicrotask they can). */
const resolved = Promise.resolve();
const soon = (fn) => void resolved.then(fn);

/**
 * The most workers a pool may have. Every pool worker is a registered unit
 * (about 1 KB with its object), made when the pool grows: a bound keeps a
 * size meant as "no limit" from registering workers until memory runs out.
 */
const MAX_POOL_SIZE = DEFAULTS.maxPoolSize;

/** Checks a pool size given to `method` (a pool without workers would hold its tasks forever). */
function checkSize(method, size) {
  v.check(method, 'size', size, (x) => Number.isInteger(x) && x >= 1 && x <= MAX_POOL_SIZE, `a positive integer no greater than ${MAX_POOL_SIZE}`);
}

/** The options of pool.run: an option bag of the call, where any other key is refused. */
const RUN_OPTIONS = ['payload', 'priority', 'signal'];

/**
 * The fields of a task object that mean something to the pool: what addTask
 * and updateTask take, and what the pool writes onto the object. The object
 * is kept and handed back, so other fields are the user's own (a key one
 * slip away from one of these is warned about, as for units).
 */
const TASK_KEYS = ['name', 'execute', 'handler', 'payload', 'priority', 'arrangementId', 'status', 'error', 'idempotencyKey'];


/** An `AbortError`, as fetch and p-queue reject with; the signal's reason is its `cause`. */
function abortError(signal) {
  const error = new Error('This operation was aborted', { cause: signal ? signal.reason : undefined });
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

/**
 * A task the pool holds until it is finished: the user's task object (for
 * addTask) or the parts of an anonymous one (pool.run, whose task object is
 * made only when somebody listens to `task` events), and how to settle its
 * promise. One object per task, so a million queued tasks cost a million
 * of these and nothing else on the JavaScript side.
 */
class PoolEntry {
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
    this.worker = undefined;
    /** pool.run: the promise's functions, and `{ signal, onAbort, aborted }` when it has a signal. */
    this.resolve = undefined;
    this.reject = undefined;
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

  setStatus(status) {
    if (this.task !== null) this.task.status = status;
  }

  /** Whether the task is stored: with a SQLite store, the tasks that name a handler are. */
  get durable() {
    return this.task !== null && this.task.handler !== undefined && this.pool._m._sqlite !== null;
  }

  get aborted() {
    return this.abort !== null && this.abort.aborted;
  }

  /** What `console.log` shows of a task the pool holds. */
  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[PoolTask]', 'special');
    const view = {
      name: this.task !== null ? this.task.name : '(anonymous)',
      status: this.status,
      priority: this.priority ?? 0,
      arrangementId: this.arrangementId,
    };
    if (this.worker !== undefined) view.worker = this.worker.id;
    return `PoolTask ${inspect(view, { ...options, depth: options.depth === null ? null : options.depth - 1 })}`;
  }
}

/**
 * The entry whose promise is being made: the Promise constructor calls its
 * executor synchronously, so one shared executor (instead of a closure per
 * task) can hand the promise's functions to the entry.
 */
let entryBeingMade;
function takeResolvers(resolve, reject) {
  entryBeingMade.resolve = resolve;
  entryBeingMade.reject = reject;
}

class WorkerPool {
  /**
   * @param {import('./manager').SynchronikManager} manager
   * @param {string} name
   */
  constructor(manager, name) {
    this._m = manager;
    this._native = manager._native;
    this._id = this._native.pool(name);
    this.name = name;
    /** Pool worker objects in id order. */
    this._workers = [];
    /** Named tasks (addTask) not finished yet. */
    this._named = new Set();
    /** The entry each busy pool worker runs. */
    this._running = new Map();
    /** Named handlers (`handle`). */
    this._handlers = new Map();
    this._idleWaiters = [];
    this._nextWorker = 1;
    /** The last milestone each pool worker's task emitted, by worker id. */
    this._lastMilestone = new Map();
    /** pool.run tasks not handed to the engine yet (one native call per microtask). */
    this._submissions = [];
    this._flushSubmissions = () => this._submit();
  }

  /** What `console.log(pool)` shows: its name, size and queue, not the manager behind it. */
  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[WorkerPool]', 'special');
    const view = {
      name: this.name,
      size: this._workers.length,
      running: this._running.size,
      queued: this._native.poolPending(this._id).length + this._submissions.length,
      handlers: [...this._handlers.keys()],
    };
    return `WorkerPool ${inspect(view, { ...options, depth: options.depth === null ? null : options.depth - 1 })}`;
  }

  /** Hands the pending pool.run tasks to the engine in one call. */
  _submit() {
    const batch = this._submissions;
    if (batch.length === 0) return;
    this._submissions = [];
    const live = batch.some((entry) => entry.aborted) ? batch.filter((entry) => !entry.aborted) : batch;
    if (live.length === 0) {
      // Every one was aborted before it reached the engine: the pool may be idle now.
      if (this._idleWaiters.length > 0) this._idle();
      return;
    }
    const priorities = new Float64Array(live.length);
    for (let k = 0; k < live.length; k++) priorities[k] = live[k].priority ?? 0;
    const added = this._native.poolAddMany(this._id, priorities);
    const tasks = this._m._tasks;
    for (let k = 0; k < live.length; k++) {
      const entry = live[k];
      const taskId = added.firstTask + k;
      entry.taskId = taskId;
      entry.arrangementId = added.firstArrangement + k;
      tasks.set(taskId, entry);
    }
    this._m._pump();
  }

  _workerId(k) {
    return this.name === DEFAULTS.poolName ? `pool-worker-${k}` : `${this.name}:pool-worker-${k}`;
  }

  /** Adds pool workers until there are `size`. */
  _grow(size) {
    while (this._workers.length < size) {
      // An id the user's own unit has stays the user's: the pool worker
      // takes the next free number instead of replacing that unit.
      let k = this._nextWorker++;
      while (this._m._slot(this._workerId(k)) >= 0) k = this._nextWorker++;
      // Pool workers run tasks, not a `run` of their own; a task bounds its
      // own time through its signal, so they have no timeout.
      const worker = {
        id: this._workerId(k),
        name: `Pool Worker ${k}`,
        enabled: true,
        status: 'idle',
        timeoutMs: 0,
        run: () => undefined,
      };
      this._m._register(worker, (slot) => this._native.poolAttach(this._id, slot));
      this._workers.push(worker);
    }
    this._m._sync();
  }

  _find(name) {
    for (const entry of this._named) {
      if (entry.task.name === name && entry.status !== 'running') return entry;
    }
    return undefined;
  }

  /**
   * Queues a task `{ name, execute | handler, payload?, priority? }` and
   * returns the live task object, or null (with a warning) when a pending
   * task has the same name.
   */
  addTask(input) {
    this._m._open('addTask');
    if (!v.isObject(input)) throw v.fail('addTask', 'task', 'an object', input);
    v.checkName('addTask', 'task.name', input.name);
    if (input.handler !== undefined) {
      v.checkName('addTask', 'task.handler', input.handler);
    } else {
      v.check('addTask', 'task.execute', input.execute, (x) => typeof x === 'function', 'a function (or give task.handler)');
    }
    if (input.priority !== undefined) {
      v.check('addTask', 'task.priority', input.priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
    v.checkKnownKeys('addTask', 'task', input, TASK_KEYS, 'warn');
    // With a SQLite store, a task that names a handler is stored (durable).
    if (input.handler !== undefined && this._m._sqlite) return this._m._sqlite.addTask(this, input);
    return this._add(input);
  }

  _add(input) {
    this._submit();
    const ids = this._native.poolAdd(this._id, input.name, input.priority ?? 0, input.handler);
    if (ids.length === 0) {
      console.warn(`Task with name "${input.name}" already exists.`);
      return null;
    }
    const [taskId, arrangementId] = ids;
    const task = { ...input, arrangementId, status: 'idle' };
    const entry = new PoolEntry(this, task, input.execute, input.payload, input.priority);
    entry.taskId = taskId;
    entry.arrangementId = arrangementId;
    this._named.add(entry);
    this._m._tasks.set(taskId, entry);
    this._m._sync();
    return task;
  }

  /**
   * Runs `execute(payload, ctx)` as an anonymous task and resolves with its
   * result (p-queue style). An aborted `signal` removes a queued task or
   * aborts a running one; the promise then rejects with an AbortError.
   */
  run(execute, options) {
    let payload;
    let priority;
    let signal;
    if (this._m._closed) return Promise.reject(closedError('pool.run'));
    if (typeof execute !== 'function') {
      return Promise.reject(v.fail('pool.run', 'execute', 'a function', execute));
    }
    if (options !== undefined) {
      try {
        if (!v.isObject(options)) throw v.fail('pool.run', 'options', 'an object', options);
        v.checkKnownKeys('pool.run', 'options', options, RUN_OPTIONS, 'refuse');
        ({ payload, priority, signal } = options);
        if (priority !== undefined) {
          v.check('pool.run', 'options.priority', priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
        }
        if (signal !== undefined && !(signal instanceof AbortSignal)) {
          throw v.fail('pool.run', 'options.signal', 'an AbortSignal', signal);
        }
      } catch (e) {
        return Promise.reject(e);
      }
      if (signal && signal.aborted) return Promise.reject(abortError(signal));
    }
    const entry = new PoolEntry(this, null, execute, payload, priority);
    entryBeingMade = entry;
    const promise = new Promise(takeResolvers);
    entryBeingMade = undefined;
    if (signal) {
      entry.abort = { signal, onAbort: () => this._abort(entry), aborted: false };
      signal.addEventListener('abort', entry.abort.onAbort, { once: true });
    }
    if (this._submissions.push(entry) === 1) soon(this._flushSubmissions);
    return promise;
  }

  /** A pool.run signal was aborted: a queued task is removed, a running one aborted. */
  _abort(entry) {
    entry.abort.aborted = true;
    if (entry.taskId < 0) {
      // Still waiting to be handed to the engine: it never will be.
      this._settle(entry, false, abortError(entry.abort.signal));
      return;
    }
    this._native.poolCancelTask(entry.taskId);
    this._m._sync();
  }

  /** Settles a pool.run promise. */
  _settle(entry, ok, value) {
    if (entry.abort !== null) entry.abort.signal.removeEventListener('abort', entry.abort.onAbort);
    if (ok) entry.resolve(value);
    else entry.reject(value);
  }

  /** Pauses a pending task: it and every task behind it wait until it is resumed. */
  pauseTask(name) {
    this._m._open('pauseTask');
    v.checkName('pauseTask', 'name', name);
    this._submit();
    if (!this._native.poolPause(this._id, name)) console.warn(`Cannot pause: Task "${name}" is not pending or idle.`);
    this._m._sync();
  }

  /** Resumes a paused task. */
  resumeTask(name) {
    this._m._open('resumeTask');
    v.checkName('resumeTask', 'name', name);
    this._submit();
    if (!this._native.poolResume(this._id, name)) console.warn(`Cannot resume: Task "${name}" is not paused.`);
    this._m._sync();
  }

  /** Removes the pending tasks called `name`. */
  cancelTask(name) {
    this._m._open('cancelTask');
    v.checkName('cancelTask', 'name', name);
    this._submit();
    if (this._native.poolCancel(this._id, name) === 0) {
      console.warn(`Cannot cancel: Task "${name}" not found in pending queue.`);
    }
    this._m._sync();
  }

  /**
   * Changes a pending task (`execute`, `handler`, `payload`, `priority`, …).
   * A new `handler` replaces the one a task names (the engine then waits
   * for that one); a task runs either its own `execute` or a handler, so
   * neither can be given to a task of the other kind.
   */
  updateTask(name, partial) {
    this._m._open('updateTask');
    v.checkName('updateTask', 'name', name);
    if (!v.isObject(partial)) throw v.fail('updateTask', 'partial', 'an object', partial);
    v.refuseProtoKey('updateTask', 'partial', partial);
    if (partial.priority !== undefined) {
      v.check('updateTask', 'partial.priority', partial.priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
    if (partial.execute !== undefined) v.check('updateTask', 'partial.execute', partial.execute, (x) => typeof x === 'function', 'a function');
    if (partial.handler !== undefined) v.checkName('updateTask', 'partial.handler', partial.handler);
    v.checkKnownKeys('updateTask', 'partial', partial, TASK_KEYS, 'warn');
    this._submit();
    const entry = this._find(name);
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
    if (entry.durable) this._m._sqlite.patchTask(entry, partial);
    const { arrangementId: _a, status: _s, name: _n, ...rest } = partial;
    Object.assign(task, rest);
    if (partial.priority !== undefined) this._native.poolReprioritize(this._id, name, partial.priority);
    if (partial.handler !== undefined) this._native.poolSetTaskHandler(this._id, name, partial.handler);
    this._m._sync();
  }

  /** Defines (or replaces) the handler that tasks naming `name` run. */
  handle(name, fn) {
    this._m._open('pool.handle');
    v.checkName('pool.handle', 'name', name);
    v.check('pool.handle', 'handler', fn, (x) => typeof x === 'function', 'a function');
    this._handlers.set(name, fn);
    this._native.poolHandler(this._id, name, true);
    this._m._sync();
  }

  /** Removes a handler; tasks that name it wait until it is defined again. */
  unhandle(name) {
    this._m._open('pool.unhandle');
    v.checkName('pool.unhandle', 'name', name);
    this._handlers.delete(name);
    this._native.poolHandler(this._id, name, false);
    this._m._sync();
  }

  /** Starts dispatching tasks. */
  start() {
    this._m._open('pool.start');
    this._submit();
    this._native.poolSetStarted(this._id, true);
    this._m._sync();
  }

  /** Stops dispatching (running tasks finish). */
  stop() {
    this._m._open('pool.stop');
    this._submit();
    this._native.poolSetStarted(this._id, false);
    this._m._sync();
  }

  /** `"Execution sequence: 1. <name>, 2. <name>"`, or a note that nothing is pending. */
  simulateRun() {
    this._submit();
    const names = this._native.poolPending(this._id);
    if (names.length === 0) return 'No tasks pending for execution.';
    return `Execution sequence: ${names.map((n, i) => `${i + 1}. ${n}`).join(', ')}`;
  }

  /** `{ currentTask, lastMilestone, isIdle }` of a pool worker, or undefined. */
  getWorkerStatus(workerId) {
    const worker = this._workers.find((w) => w.id === workerId);
    if (!worker) return undefined;
    this._submit();
    const current = this._running.get(worker);
    return {
      currentTask: current ? (current.task === null ? '(anonymous)' : current.task.name) : undefined,
      lastMilestone: this._lastMilestone.get(worker.id),
      isIdle: current === undefined,
    };
  }

  /** The pool's worker objects. */
  getPoolWorkers() {
    return this._workers.slice();
  }

  /** 2.3's name for getPoolWorkers. */
  generateWorkers() {
    return this.getPoolWorkers();
  }

  /**
   * Grows or shrinks the pool. Shrinking removes idle workers only (the
   * last ones first); when none is idle it warns and removes nothing more.
   */
  resize(size) {
    this._m._open('resize');
    checkSize('resize', size);
    this._submit();
    if (size > this._workers.length) {
      this._grow(size);
      return;
    }
    const want = this._workers.length - size;
    if (want === 0) return;
    const removed = this._native.poolShrink(this._id, want);
    const gone = new Set(removed);
    this._workers = this._workers.filter((w) => !gone.has(w.id));
    this._m._sync();
    if (removed.length < want) {
      console.warn('[Worker Pool] Scale-down requested, but no idle workers are available to remove.');
    }
  }

  /** Resolves when nothing is queued and nothing runs. */
  onIdle() {
    if (this._m._closed) return Promise.reject(closedError('pool.onIdle'));
    this._submit();
    if (this._native.poolIsIdle(this._id)) return Promise.resolve();
    return new Promise((resolve, reject) => this._idleWaiters.push({ resolve, reject }));
  }

  // --- records from the engine ----------------------------------------------

  /** The function a task runs; the task is now running on `worker`. */
  _callee(entry, worker) {
    entry.worker = worker;
    entry.setStatus('running');
    if (worker) {
      worker.status = 'running';
      this._running.set(worker, entry);
    }
    if (this._m._wantsTasks()) this._m._taskEvent(this, entry.view());
    const { task } = entry;
    if (task !== null && task.handler !== undefined) return this._handlers.get(task.handler);
    return task !== null ? task.execute : entry.execute;
  }

  /** A pending task's status changed (paused, idle again, waiting for its handler). */
  _status(entry, status) {
    entry.setStatus(TASK_STATUSES[status]);
    if (this._m._wantsTasks()) this._m._taskEvent(this, entry.view());
  }

  /**
   * A task is finished with: kind 0 completed (value: result), 1 failed
   * (value: error), 2 cancelled, 3 dropped because the manager stopped or
   * closed before it ran (value: the ERR_STOPPED / ERR_CLOSED error).
   */
  _done(entry, kind, value) {
    const failed = kind === 1 || kind === 3;
    if (entry.task !== null) {
      this._named.delete(entry);
      if (failed) entry.task.error = value;
    }
    entry.setStatus(DONE_STATUSES[kind]);
    const { worker } = entry;
    if (worker) {
      // The engine ends a task's run as idle only when the worker is still
      // running: one paused (stopAll) or set by hand meanwhile keeps that.
      if (worker.status === 'running') worker.status = 'idle';
      entry.worker = undefined;
      if (this._running.get(worker) === entry) this._running.delete(worker);
    }
    const m = this._m;
    if (m._wantsTasks()) m._taskEvent(this, entry.view(), failed ? value : undefined);
    if (entry.resolve === undefined) {
      // A named task's failure has no promise to carry it.
      if (failed && !m._wantsTasks()) m._unobservedTaskFailure(this, entry.task, value);
      return;
    }
    if (kind === 0) this._settle(entry, true, value);
    else if (kind === 2 || (kind === 1 && entry.aborted)) this._settle(entry, false, abortError(entry.abort !== null ? entry.abort.signal : undefined));
    else this._settle(entry, false, value);
  }

  /**
   * The engine said the pool fell idle. A listener may have queued work
   * since the record was made (a `task` listener adding a follow-up), so
   * it is asked again before anybody is told.
   */
  _idle() {
    if (this._idleWaiters.length === 0) return;
    if (this._submissions.length > 0 || !this._native.poolIsIdle(this._id)) return;
    const waiters = this._idleWaiters;
    this._idleWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /**
   * The manager's stop (or close) has ended. What still waits for the pool
   * to fall idle would wait for a start that may never come (the tasks left
   * are stored ones, for the next start or process): it is told so.
   */
  _stopped(closing) {
    if (this._idleWaiters.length === 0) return;
    this._idle();
    const waiters = this._idleWaiters;
    if (waiters.length === 0) return;
    this._idleWaiters = [];
    const error = closing
      ? closedError('pool.onIdle')
      : new SynchronikError(`pool.onIdle: the manager stopped while pool "${this.name}" still held stored tasks (they run after the next start)`, 'ERR_STOPPED');
    for (const w of waiters) w.reject(error);
  }
}

module.exports = { WorkerPool, PoolEntry, abortError, checkSize, MAX_POOL_SIZE };
