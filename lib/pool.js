'use strict';

// The worker pool users get from `manager.useWorkerPool(size)`. The queue,
// its order and every dispatch decision live in the engine; this object
// keeps the users' task objects and functions and carries out the engine's
// records about them (see manager.js: TASK_STATUS, TASK_DONE, POOL_IDLE).

const v = require('./validate');

const TASK_STATUSES = ['idle', 'running', 'paused', 'completed', 'error', 'waiting-handler', 'cancelled'];
const DONE_STATUSES = ['completed', 'error', 'cancelled'];

/** An `AbortError`, as fetch and p-queue reject with; the signal's reason is its `cause`. */
function abortError(signal) {
  const error = new Error('This operation was aborted', { cause: signal ? signal.reason : undefined });
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
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
    /** Tasks not finished yet, by engine task id. */
    this._pending = new Map();
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

  /** Hands the pending pool.run tasks to the engine in one call. */
  _submit() {
    const batch = this._submissions;
    if (batch.length === 0) return;
    this._submissions = [];
    const live = batch.filter((entry) => !entry.aborted);
    if (live.length === 0) return;
    const priorities = new Float64Array(live.length);
    for (let k = 0; k < live.length; k++) priorities[k] = live[k].task.priority ?? 0;
    const added = this._native.poolAddMany(this._id, priorities);
    for (let k = 0; k < live.length; k++) {
      const entry = live[k];
      const taskId = added.firstTask + k;
      entry.taskId = taskId;
      entry.task.arrangementId = added.firstArrangement + k;
      this._pending.set(taskId, entry);
      this._m._tasks.set(taskId, this);
    }
    this._m._pump(added.drained);
  }

  _workerId(k) {
    return this.name === 'default' ? `pool-worker-${k}` : `${this.name}:pool-worker-${k}`;
  }

  /** Adds pool workers until there are `size`. */
  _grow(size) {
    while (this._workers.length < size) {
      const k = this._nextWorker++;
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
      this._m.registerUnit(worker);
      this._workers.push(worker);
      this._native.poolAttach(this._id, this._m._slot(worker.id));
    }
    this._m._sync();
  }

  _find(name) {
    for (const entry of this._pending.values()) {
      if (!entry.anonymous && entry.task.name === name && entry.task.status !== 'running') return entry;
    }
    return undefined;
  }

  /**
   * Queues a task `{ name, execute | handler, payload?, priority? }` and
   * returns the live task object, or null (with a warning) when a pending
   * task has the same name.
   */
  addTask(input) {
    if (!v.isObject(input)) throw v.fail('addTask', 'task', 'an object', input);
    v.check('addTask', 'task.name', input.name, (x) => typeof x === 'string' && x.length > 0, 'a non-empty string');
    if (input.handler !== undefined) {
      v.check('addTask', 'task.handler', input.handler, (x) => typeof x === 'string' && x.length > 0, 'a non-empty string');
    } else {
      v.check('addTask', 'task.execute', input.execute, (x) => typeof x === 'function', 'a function (or give task.handler)');
    }
    if (input.priority !== undefined) {
      v.check('addTask', 'task.priority', input.priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
    // With a SQLite store, a task that names a handler is stored (durable).
    if (input.handler !== undefined && this._m._sqlite) return this._m._sqlite.addTask(this, input);
    return this._add(input, false);
  }

  _add(input, anonymous, settle) {
    this._submit();
    const ids = this._native.poolAdd(this._id, input.name, input.priority ?? 0, input.handler);
    if (ids.length === 0) {
      console.warn(`Task with name "${input.name}" already exists.`);
      return null;
    }
    const [taskId, arrangementId] = ids;
    const task = { ...input, arrangementId, status: 'idle' };
    this._pending.set(taskId, { task, anonymous, settle, worker: undefined });
    this._m._tasks.set(taskId, this);
    this._m._sync();
    return task;
  }

  /**
   * Runs `execute(payload, ctx)` as an anonymous task and resolves with its
   * result (p-queue style). An aborted `signal` removes a queued task or
   * aborts a running one; the promise then rejects with an AbortError.
   */
  run(execute, options = {}) {
    try {
      v.check('pool.run', 'execute', execute, (x) => typeof x === 'function', 'a function');
      if (!v.isObject(options)) throw v.fail('pool.run', 'options', 'an object', options);
      if (options.priority !== undefined) {
        v.check('pool.run', 'options.priority', options.priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
      }
      if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
        throw v.fail('pool.run', 'options.signal', 'an AbortSignal', options.signal);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const { signal } = options;
    if (signal && signal.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const task = { name: '(anonymous)', execute, payload: options.payload, priority: options.priority, arrangementId: 0, status: 'idle' };
      const entry = { task, anonymous: true, settle: undefined, signal, worker: undefined, taskId: undefined, aborted: false };
      const onAbort = () => {
        entry.aborted = true;
        if (entry.taskId === undefined) {
          // Still waiting to be handed to the engine: it never will be.
          entry.settle(false, abortError(signal));
          return;
        }
        this._native.poolCancelTask(entry.taskId);
        this._m._sync();
      };
      entry.settle = (ok, value) => {
        if (signal) signal.removeEventListener('abort', onAbort);
        if (ok) resolve(value);
        else reject(value);
      };
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      if (this._submissions.push(entry) === 1) queueMicrotask(this._flushSubmissions);
    });
  }

  /** Pauses a pending task: it and every task behind it wait until it is resumed. */
  pauseTask(name) {
    this._submit();
    if (!this._native.poolPause(this._id, name)) console.warn(`Cannot pause: Task "${name}" is not pending or idle.`);
    this._m._sync();
  }

  /** Resumes a paused task. */
  resumeTask(name) {
    this._submit();
    if (!this._native.poolResume(this._id, name)) console.warn(`Cannot resume: Task "${name}" is not paused.`);
    this._m._sync();
  }

  /** Removes the pending tasks called `name`. */
  cancelTask(name) {
    this._submit();
    if (this._native.poolCancel(this._id, name) === 0) {
      console.warn(`Cannot cancel: Task "${name}" not found in pending queue.`);
    }
    this._m._sync();
  }

  /** Changes a pending task (`execute`, `handler`, `payload`, `priority`, …). */
  updateTask(name, partial) {
    if (!v.isObject(partial)) throw v.fail('updateTask', 'partial', 'an object', partial);
    this._submit();
    const entry = this._find(name);
    if (!entry) {
      console.error(`Cannot update: Task "${name}" not found.`);
      return;
    }
    if (partial.priority !== undefined) {
      v.check('updateTask', 'partial.priority', partial.priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
    // A stored task's new payload must be storable; it is stored with the change.
    if (entry.key !== undefined && this._m._sqlite) this._m._sqlite.patchTask(entry, partial);
    const { arrangementId: _a, status: _s, name: _n, ...rest } = partial;
    Object.assign(entry.task, rest);
    if (partial.priority !== undefined) this._native.poolReprioritize(this._id, name, partial.priority);
    this._m._sync();
  }

  /** Defines (or replaces) the handler that tasks naming `name` run. */
  handle(name, fn) {
    v.check('pool.handle', 'name', name, (x) => typeof x === 'string' && x.length > 0, 'a non-empty string');
    v.check('pool.handle', 'handler', fn, (x) => typeof x === 'function', 'a function');
    this._handlers.set(name, fn);
    this._native.poolHandler(this._id, name, true);
    this._m._sync();
  }

  /** Removes a handler; tasks that name it wait until it is defined again. */
  unhandle(name) {
    this._handlers.delete(name);
    this._native.poolHandler(this._id, name, false);
    this._m._sync();
  }

  /** Starts dispatching tasks. */
  start() {
    this._submit();
    this._native.poolSetStarted(this._id, true);
    this._m._sync();
  }

  /** Stops dispatching (running tasks finish). */
  stop() {
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
    let current;
    for (const entry of this._pending.values()) if (entry.worker === worker) current = entry;
    this._submit();
    return {
      currentTask: current ? current.task.name : undefined,
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
    v.check('resize', 'size', size, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
    this._submit();
    if (size > this._workers.length) {
      this._grow(size);
      return;
    }
    const want = this._workers.length - size;
    if (want === 0) return;
    const removed = this._native.poolShrink(this._id, want);
    this._workers = this._workers.filter((w) => !removed.includes(w.id));
    this._m._sync();
    if (removed.length < want) {
      console.warn('[Worker Pool] Scale-down requested, but no idle workers are available to remove.');
    }
  }

  /** Resolves when nothing is queued and nothing runs. */
  onIdle() {
    this._submit();
    if (this._native.poolIsIdle(this._id)) return Promise.resolve();
    return new Promise((resolve) => this._idleWaiters.push(resolve));
  }

  // --- records from the engine ----------------------------------------------

  /** The function a task runs, and its arguments; the task is now running on `worker`. */
  _callee(taskId, worker) {
    const entry = this._pending.get(taskId);
    if (!entry) return undefined;
    const { task } = entry;
    entry.worker = worker;
    task.status = 'running';
    if (worker) worker.status = 'running';
    this._m._taskEvent(this, task);
    const fn = task.handler !== undefined ? this._handlers.get(task.handler) : task.execute;
    return fn ? { fn, payload: task.payload, entry } : undefined;
  }

  /** A pending task's status changed (paused, idle again, waiting for its handler). */
  _status(taskId, status) {
    const entry = this._pending.get(taskId);
    if (!entry) return;
    entry.task.status = TASK_STATUSES[status];
    this._m._taskEvent(this, entry.task);
  }

  /** A task is finished with: kind 0 completed (value: result), 1 failed (value: error), 2 cancelled. */
  _done(taskId, kind, value) {
    const entry = this._pending.get(taskId);
    this._pending.delete(taskId);
    this._m._tasks.delete(taskId);
    if (!entry) return;
    entry.task.status = DONE_STATUSES[kind];
    if (entry.worker) {
      entry.worker.status = 'idle';
      entry.worker = undefined;
    }
    this._m._taskEvent(this, entry.task);
    if (!entry.settle) return;
    if (kind === 0) entry.settle(true, value);
    else if (kind === 2 || entry.aborted) entry.settle(false, abortError(entry.signal));
    else entry.settle(false, value);
  }

  _idle() {
    const waiters = this._idleWaiters;
    this._idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

module.exports = { WorkerPool, abortError };
