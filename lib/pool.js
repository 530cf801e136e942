'use strict';

// The worker pool users get from `manager.useWorkerPool(size)`. The queue,
// its order and every dispatch decision live in the engine; this object
// keeps the users' task objects and functions and carries out the engine's
// records about them (see manager.js: TASK_STATUS, TASK_DONE, POOL_IDLE).

const v = require('./validate');

const TASK_STATUSES = ['idle', 'running', 'paused', 'completed', 'error', 'waiting-handler', 'cancelled'];

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
    return this._add(input, false);
  }

  _add(input, anonymous, settle) {
    const ids = this._native.poolAdd(this._id, input.name, input.priority ?? 0, input.handler, anonymous);
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
      let taskId;
      const onAbort = () => {
        const entry = this._pending.get(taskId);
        if (entry) entry.aborted = true;
        this._native.poolCancelTask(taskId);
        this._m._sync();
      };
      const settle = (ok, value) => {
        if (signal) signal.removeEventListener('abort', onAbort);
        if (ok) resolve(value);
        else reject(value);
      };
      const input = { name: '(anonymous)', execute, payload: options.payload, priority: options.priority };
      const ids = this._native.poolAdd(this._id, input.name, input.priority ?? 0, undefined, true);
      taskId = ids[0];
      const task = { ...input, arrangementId: ids[1], status: 'idle' };
      this._pending.set(taskId, { task, anonymous: true, settle, signal, worker: undefined });
      this._m._tasks.set(taskId, this);
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      this._m._sync();
    });
  }

  /** Pauses a pending task: it and every task behind it wait until it is resumed. */
  pauseTask(name) {
    if (!this._native.poolPause(this._id, name)) console.warn(`Cannot pause: Task "${name}" is not pending or idle.`);
    this._m._sync();
  }

  /** Resumes a paused task. */
  resumeTask(name) {
    if (!this._native.poolResume(this._id, name)) console.warn(`Cannot resume: Task "${name}" is not paused.`);
    this._m._sync();
  }

  /** Removes the pending tasks called `name`. */
  cancelTask(name) {
    if (this._native.poolCancel(this._id, name) === 0) {
      console.warn(`Cannot cancel: Task "${name}" not found in pending queue.`);
    }
    this._m._sync();
  }

  /** Changes a pending task (`execute`, `handler`, `payload`, `priority`, …). */
  updateTask(name, partial) {
    if (!v.isObject(partial)) throw v.fail('updateTask', 'partial', 'an object', partial);
    const entry = this._find(name);
    if (!entry) {
      console.error(`Cannot update: Task "${name}" not found.`);
      return;
    }
    if (partial.priority !== undefined) {
      v.check('updateTask', 'partial.priority', partial.priority, (x) => typeof x === 'number' && !Number.isNaN(x), 'a number');
    }
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
    this._native.poolSetStarted(this._id, true);
    this._m._sync();
  }

  /** Stops dispatching (running tasks finish). */
  stop() {
    this._native.poolSetStarted(this._id, false);
    this._m._sync();
  }

  /** `"Execution sequence: 1. <name>, 2. <name>"`, or a note that nothing is pending. */
  simulateRun() {
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
    if (this._native.poolIsIdle(this._id)) return Promise.resolve();
    return new Promise((resolve) => this._idleWaiters.push(resolve));
  }

  // --- records from the engine ----------------------------------------------

  /** The function a task runs, and its arguments. */
  _callee(taskId) {
    const entry = this._pending.get(taskId);
    if (!entry) return undefined;
    const { task } = entry;
    const fn = task.handler !== undefined ? this._handlers.get(task.handler) : task.execute;
    return fn ? { fn, payload: task.payload, entry } : undefined;
  }

  _status(taskId, status, worker) {
    const entry = this._pending.get(taskId);
    if (!entry) return;
    entry.task.status = TASK_STATUSES[status];
    if (status === 1) entry.worker = worker;
    else if (status >= 3) entry.worker = undefined;
    this._m._taskEvent(this, entry.task);
  }

  _done(taskId, ok, value) {
    const entry = this._pending.get(taskId);
    this._pending.delete(taskId);
    this._m._tasks.delete(taskId);
    if (!entry || !entry.settle) return;
    if (ok) entry.settle(true, value);
    else if (entry.aborted || entry.task.status === 'cancelled') entry.settle(false, abortError(entry.signal));
    else entry.settle(false, value);
  }

  _idle() {
    const waiters = this._idleWaiters;
    this._idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

module.exports = { WorkerPool, abortError };
