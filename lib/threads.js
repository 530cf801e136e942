'use strict';

// Thread pools (manager.useThreadPool): tasks that run on worker threads.
// The engine owns the queue, the routing to threads and the threads'
// lifetimes; a thread takes its tasks from the engine itself (see
// thread-main.js). What is left here is what only this thread can do:
// start and terminate the Worker objects the engine asks for, tell the
// engine when one exited, and settle the promises of pool.run with what
// the engine reports (THREAD_SPAWN, THREAD_END, THREAD_DONE, THREAD_CLOSED
// records).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const timers = require('node:timers');
const { fileURLToPath } = require('node:url');
const { Worker } = require('node:worker_threads');
const { SynchronikError, ENGINE_CODES, fromNative, toError } = require('./errors');
const { afterAbort, watchAbort, unwatchAbort } = require('./abort-watch');
const { THREAD_ENDS } = require('./generated/vocabulary');
const v = require('./validate');
const { abortError } = require('./pool');
const { payloadJson } = require('./durable-store');

/** The fields of addTask's argument. */
const TASK_KEYS = ['name', 'handler', 'payload', 'priority'];

const ENTRY = path.join(__dirname, 'thread-main.js');

/**
 * A run of a thread pool: its promise's settlers, and its task once the
 * engine has it (0 before, -1 when aborted before).
 * @typedef {{ resolve: (value: unknown) => void, reject: (error: unknown) => void, pool: ThreadPool, signal?: AbortSignal, onAbort?: () => void, task: number, named?: undefined }} RunEntry
 */

/**
 * A named task (addTask): its live task object.
 * @typedef {{ pool: ThreadPool, task: number, named: Record<string, any>, signal?: undefined, onAbort?: undefined }} NamedEntry
 */

/** Runs queued in one turn are handed to the engine at the latest when this many wait. */
const BATCH = 256;

/** Calls `fn` in a microtask: a native promise job, which fake timers cannot hold back. */
const resolved = Promise.resolve();
const soon = (/** @type {() => void} */ fn) => void resolved.then(fn);
const RETURNED = THREAD_ENDS.indexOf('returned');
const THREW = THREAD_ENDS.indexOf('threw');
const ABORTED = THREAD_ENDS.indexOf('aborted');

/** What a thread threw, back as a value (see serializeThrown in thread-main.js). */
function thrownOf(bytes) {
  const { thrown, extra } = v8.deserialize(bytes);
  if (extra && thrown !== null && typeof thrown === 'object') Object.assign(thrown, extra);
  return thrown;
}

/** The ArrayBuffers of a transferList detached, as a transfer would leave them. */
function detach(list) {
  for (const item of list) {
    const buffer = ArrayBuffer.isView(item) ? item.buffer : item;
    if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) structuredClone(buffer, { transfer: [buffer] });
  }
}

/**
 * The thread pools of one manager, and the records about them.
 */
class ThreadPools {
  #core;
  #bridge;
  /** Carries out what the engine answered (a signal's abort, put off to its end: see afterAbort). */
  #pump = () => this.#bridge.pump();
  /** @type {Map<number, ThreadPool>} by engine pool id */
  #pools = new Map();
  /** @type {Map<number, { worker: Worker, pool: ThreadPool, error: unknown, exited: Promise<void> }>} by runner */
  #threads = new Map();
  /** @type {Map<number, RunEntry | NamedEntry>} by task */
  #tasks = new Map();
  /** Named tasks (addTask) that wait: while the manager is stopped they keep nothing alive. */
  #namedWaiting = 0;
  /** Whether the manager is stopped (after stop(), until start()): the pools take named tasks only. */
  #stopped = false;
  /** @type {Map<ThreadPool, Array<{ entry: RunEntry, bytes: Buffer, handler: string, priority: number }>>} runs not handed to the engine yet */
  #pending = new Map();
  /** @type {ReturnType<typeof timers.setInterval> | null} the ref'd handle held while tasks are in flight */
  #keepAlive = null;

  /** @param {import('./core').Core} core */
  constructor(core) {
    this.#core = core;
    this.#bridge = core.bridge;
  }

  get native() {
    return this.#bridge.native;
  }

  /** Carries out what the engine produced. */
  pump() {
    this.#bridge.pump();
  }

  /**
   * @param {object} options validated options
   */
  create(options) {
    if (this.byName(options.name) !== undefined) {
      throw new TypeError(`useThreadPool: options.name must name no open thread pool of this manager (got "${options.name}", which is open; close it first or choose another name)`);
    }
    const native = this.native;
    const id = native.threadPoolCreate(options.name, options.groups, options.maxQueue, options.idleTimeoutMs);
    const pool = new ThreadPool(this, id, options);
    this.#pools.set(id, pool);
    // The pool's threads reach the engine from their own threads: the
    // engine must be able to wake this one whenever they report.
    this.#bridge.serving(1);
    if (this.#core.store) {
      try {
        this.#restore(pool);
      } catch (e) {
        // Nothing half-made: the pool goes again.
        void pool.destroy();
        throw e;
      }
    }
    this.#bridge.pump();
    return pool;
  }

  /**
   * Brings back the stored tasks of a pool of this name (left by an
   * earlier process, or by a pool of this name closed before), in their
   * stored order; one that was running runs again with attempt + 1.
   * @param {ThreadPool} pool
   */
  #restore(pool) {
    let rows;
    try {
      rows = this.native.threadPoolStored(pool.id);
    } catch (e) {
      throw fromNative(e);
    }
    let restored = 0;
    for (const row of rows) {
      if (!pool.routes(row.handler)) {
        console.warn(`[synchronik] stored task "${row.name}" of thread pool "${pool.name}" names handler "${row.handler}", which none of the pool's groups takes: it stays stored and does not run.`);
        continue;
      }
      let payload;
      try {
        payload = row.payload == null ? undefined : JSON.parse(row.payload);
      } catch {
        payload = row.payload;
      }
      const task = { name: row.name, handler: row.handler, payload, priority: row.priority, arrangementId: pool.nextArrangement(), status: 'idle', idempotencyKey: row.key };
      let added;
      try {
        added = this.native.threadAdd(pool.id, row.name, row.handler, row.priority, v8.serialize(payload), undefined, { key: row.key, attempt: row.attempt });
      } catch (e) {
        throw fromNative(e);
      }
      this.#adopt(pool, task, added.task);
      restored++;
    }
    this.#core.sync();
    if (restored > 0) this.#core.events.milestone('storage:restored', { pool: pool.name, threads: true, tasks: restored });
  }

  /**
   * Queues a named task (pool.addTask); with a SQLite store it is stored
   * until it ends. Null (with a warning) when a task of this name waits.
   * @param {ThreadPool} pool
   * @param {{ name: string, handler: string, payload: unknown, priority: number }} input validated
   */
  add(pool, input) {
    if (pool.waiting(input.name)) {
      console.warn(`Task with name "${input.name}" already exists.`);
      return null;
    }
    const json = this.#core.store ? payloadJson('addTask', input.payload) : undefined;
    let bytes;
    try {
      bytes = v8.serialize(input.payload);
    } catch (e) {
      throw new TypeError(`addTask: task.payload must be a value that can be copied to a thread (${e instanceof Error ? e.message : String(e)})`);
    }
    // Runs made before it reach the engine first.
    this.submitPending(pool);
    let added;
    try {
      added = this.native.threadAdd(pool.id, input.name, input.handler, input.priority, bytes, json, undefined);
    } catch (e) {
      throw fromNative(e);
    }
    /** @type {Record<string, any>} */
    const task = { name: input.name, handler: input.handler, payload: input.payload, priority: input.priority, arrangementId: pool.nextArrangement(), status: 'idle' };
    if (added.key != null) task.idempotencyKey = added.key;
    this.#adopt(pool, task, added.task);
    this.#core.sync();
    return task;
  }

  /**
   * @param {ThreadPool} pool
   * @param {Record<string, any>} task the live task object
   * @param {number} id the engine's task
   */
  #adopt(pool, task, id) {
    /** @type {NamedEntry} */
    const entry = { pool, task: id, named: task };
    this.#tasks.set(id, entry);
    this.#namedWaiting++;
    pool.queued(task.name, entry);
    this.#hold();
  }

  /**
   * Removes the waiting named task called `name`; false when none waits.
   * @param {ThreadPool} pool
   * @param {string} name
   */
  cancel(pool, name) {
    const entry = pool.waiting(name);
    if (!entry) return false;
    this.native.threadAbort(entry.task);
    this.#bridge.pump();
    return true;
  }

  /**
   * The manager stopped (after its stop) or started: while it is stopped
   * the pools take named tasks only, and those keep nothing alive.
   * @param {boolean} stopped
   */
  setStopped(stopped) {
    this.#stopped = stopped;
    this.#hold();
  }

  /**
   * Resolves once every thread alive now has exited (a stop ends them).
   * @returns {Promise<void>}
   */
  exited() {
    const alive = [...this.#threads.values()].map((t) => t.exited);
    return Promise.all(alive).then(() => {});
  }

  /** Hands every run not handed over yet to the engine (before a stop). */
  submitAll() {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [pool, batch] of pending) this.#submit(pool, batch);
  }

  /**
   * Queues a run: it reaches the engine with the other runs of this turn
   * of the event loop, in one call (see #flush).
   * @param {ThreadPool} pool
   * @param {unknown} payload
   * @param {{ handler: string, priority: number, signal?: AbortSignal, transferList?: readonly unknown[] }} o
   */
  run(pool, payload, o) {
    if (o.signal && o.signal.aborted) return Promise.reject(abortError(o.signal));
    let bytes;
    try {
      bytes = v8.serialize(payload);
    } catch (e) {
      return Promise.reject(new TypeError(`pool.run: payload cannot be copied to a thread (${e instanceof Error ? e.message : String(e)})`));
    }
    if (o.transferList) detach(o.transferList);
    return new Promise((resolve, reject) => {
      /** @type {RunEntry} */
      const entry = { resolve, reject, pool, signal: o.signal, onAbort: undefined, task: 0 };
      if (o.signal) {
        const signal = o.signal;
        entry.onAbort = () => {
          if (entry.task === 0) {
            // Not handed to the engine yet: it never will be.
            entry.task = -1;
            reject(abortError(signal));
            return;
          }
          this.native.threadAbort(entry.task);
          // Once every task of the signal heard of it (see afterAbort).
          afterAbort(this.#pump);
        };
        watchAbort(signal, entry.onAbort);
      }
      const batch = this.#pending.get(pool);
      if (batch === undefined) {
        this.#pending.set(pool, [{ entry, bytes, handler: o.handler, priority: o.priority }]);
        if (this.#pending.size === 1) soon(this.#flush);
      } else if (batch.push({ entry, bytes, handler: o.handler, priority: o.priority }) >= BATCH) {
        // A long burst of runs: the threads start on its first part while this thread queues the rest.
        this.#pending.delete(pool);
        this.#submit(pool, batch);
      }
    });
  }

  /**
   * Hands the runs of `pool` not handed over yet to the engine now.
   * @param {ThreadPool} pool
   */
  submitPending(pool) {
    const batch = this.#pending.get(pool);
    if (batch === undefined) return;
    this.#pending.delete(pool);
    this.#submit(pool, batch);
  }

  /** Hands the runs queued this turn to the engine, one call per pool. */
  #flush = () => {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [pool, batch] of pending) this.#submit(pool, batch);
    this.#hold();
  };

  /**
   * Hands runs of one pool to the engine.
   * @param {ThreadPool} pool
   * @param {Array<{ entry: RunEntry, bytes: Buffer, handler: string, priority: number }>} batch
   */
  #submit(pool, batch) {
    {
      const runs = batch.filter((r) => r.entry.task === 0);
      if (runs.length === 0) return;
      /** @type {Map<string, number>} */
      const handlerIndex = new Map();
      const handlerOf = new Uint32Array(runs.length);
      const priorities = new Float64Array(runs.length);
      const ends = new Uint32Array(runs.length);
      let size = 0;
      for (let k = 0; k < runs.length; k++) {
        const r = runs[k];
        let h = handlerIndex.get(r.handler);
        if (h === undefined) handlerIndex.set(r.handler, (h = handlerIndex.size));
        handlerOf[k] = h;
        priorities[k] = r.priority;
        size += r.bytes.length;
        ends[k] = size;
      }
      const payloads = Buffer.concat(runs.map((r) => r.bytes), size);
      let answer;
      try {
        answer = this.native.threadRunMany(pool.id, [...handlerIndex.keys()], handlerOf, priorities, payloads, ends);
      } catch (e) {
        for (const r of runs) {
          if (r.entry.signal && r.entry.onAbort) unwatchAbort(r.entry.signal, r.entry.onAbort);
          r.entry.reject(fromNative(e));
        }
        return;
      }
      let failed = 0;
      for (let k = 0; k < runs.length; k++) {
        const entry = runs[k].entry;
        const task = answer.tasks[k];
        if (task > 0) {
          entry.task = task;
          this.#tasks.set(task, entry);
        } else this.#refused(entry, answer.errors[failed++]);
      }
      // Threads that ended idle come back for these runs (THREAD_SPAWN records).
      this.#bridge.pump();
    }
  }

  /**
   * A run the engine refused (a closed, broken or full pool).
   * @param {RunEntry} entry
   * @param {string} message the engine's error, its code first
   */
  #refused(entry, message) {
    if (entry.signal && entry.onAbort) unwatchAbort(entry.signal, entry.onAbort);
    const error = /** @type {any} */ (fromNative(new Error(message)));
    if (error && error.code === 'ERR_THREAD_BOOTSTRAP') {
      const cause = this.native.threadPoolBrokenCause(entry.pool.id);
      if (cause && cause.length > 0) {
        entry.reject(new SynchronikError(error.message, error.code, { cause: thrownOf(cause) }));
        return;
      }
    }
    entry.reject(error);
  }

  #hold() {
    const inFlight = this.#tasks.size - (this.#stopped ? this.#namedWaiting : 0) > 0 || this.#pending.size > 0;
    if (inFlight && this.#keepAlive === null) {
      this.#keepAlive = timers.setInterval(() => void this, 0x7fffffff);
    } else if (!inFlight && this.#keepAlive !== null) {
      timers.clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  }

  /**
   * THREAD_STARTED: a named task is running (attempt `attempt`).
   * @param {number} task
   */
  started(task) {
    const entry = this.#tasks.get(task);
    if (!entry || entry.named === undefined) return;
    this.#namedWaiting--;
    entry.pool.dequeued(entry.named.name, entry);
    entry.named.status = 'running';
    const events = this.#core.events;
    if (events.wantsTasks()) events.task(entry.pool, entry.named);
  }

  /**
   * A named task ended.
   * @param {NamedEntry} entry
   * @param {number} end
   * @param {Buffer | undefined} value
   * @param {number} code
   * @param {string | undefined} message
   */
  #namedDone(entry, end, value, code, message) {
    const task = entry.named;
    if (task.status === 'idle') {
      this.#namedWaiting--;
      entry.pool.dequeued(task.name, entry);
    }
    let error;
    try {
      if (end === RETURNED) {
        task.result = v8.deserialize(/** @type {Buffer} */ (value));
        task.status = 'completed';
      } else if (end === THREW) {
        error = toError(thrownOf(/** @type {Buffer} */ (value)), `${entry.pool.name}:${task.name}`);
        task.status = 'error';
      } else if (end === ABORTED) {
        task.status = 'cancelled';
      } else {
        const codeName = ENGINE_CODES[code];
        error = new SynchronikError(/** @type {string} */ (message), codeName, value === undefined ? {} : { cause: thrownOf(value) });
        // Ended by the engine before it settled (a stop, a closed pool): cancelled, as a worker pool's dropped task.
        task.status = codeName === 'ERR_STOPPED' || codeName === 'ERR_CLOSED' ? 'cancelled' : 'error';
      }
    } catch (e) {
      error = e;
      task.status = 'error';
    }
    if (error !== undefined) task.error = error;
    const events = this.#core.events;
    if (events.wantsTasks()) events.task(entry.pool, task, error);
    else if (error !== undefined) events.unobservedTaskFailure(entry.pool, task, error);
  }

  /** THREAD_SPAWN: start the thread of `runner`. */
  spawn(runner, poolId) {
    const pool = this.#pools.get(poolId);
    if (!pool) return;
    let worker;
    try {
      worker = new Worker(ENTRY, {
        workerData: { host: this.native.hostId, runner, filename: pool.filename },
        resourceLimits: pool.resourceLimits,
        stdout: false,
        stderr: false,
      });
    } catch (e) {
      this.native.threadExited(runner, `the thread could not be started: ${e instanceof Error ? e.message : String(e)}`);
      this.#bridge.pump();
      return;
    }
    /** @type {() => void} */
    let exited = () => {};
    const entry = { worker, pool, error: undefined, exited: new Promise((resolve) => (exited = resolve)) };
    this.#threads.set(runner, entry);
    // An idle pool never keeps Node alive; tasks in flight do (see #hold).
    worker.unref();
    worker.on('error', (e) => {
      entry.error = e;
    });
    worker.on('exit', (code) => {
      this.#threads.delete(runner);
      const why = entry.error !== undefined ? `uncaught ${entry.error instanceof Error ? `${entry.error.name}: ${entry.error.message}` : String(entry.error)}` : `exit code ${code}`;
      if (!this.#bridge.disposed) {
        this.native.threadExited(runner, why);
        this.#bridge.pump();
      }
      pool.threadGone();
      exited();
    });
  }

  /** THREAD_END: terminate the thread of `runner`. */
  end(runner) {
    const entry = this.#threads.get(runner);
    if (entry) void entry.worker.terminate();
  }

  /** THREAD_DONE */
  done(task, end, value, code, message) {
    const entry = this.#tasks.get(task);
    if (!entry) return;
    this.#tasks.delete(task);
    if (entry.named !== undefined) {
      this.#namedDone(entry, end, value, code, message);
      this.#hold();
      return;
    }
    this.#hold();
    if (entry.signal && entry.onAbort) unwatchAbort(entry.signal, entry.onAbort);
    try {
      if (end === RETURNED) entry.resolve(v8.deserialize(value));
      else if (end === THREW) entry.reject(thrownOf(value));
      else if (end === ABORTED) entry.reject(abortError(entry.signal));
      else {
        const options = value === undefined ? {} : { cause: thrownOf(value) };
        entry.reject(new SynchronikError(message, ENGINE_CODES[code], options));
      }
    } catch (e) {
      entry.reject(e);
    }
  }

  /** THREAD_CLOSED */
  closed(poolId) {
    const pool = this.#pools.get(poolId);
    if (!pool) return;
    this.#pools.delete(poolId);
    this.#bridge.serving(-1);
    pool.engineClosed();
  }

  /**
   * The open pool called `name`.
   * @param {string} name
   */
  byName(name) {
    for (const p of this.#pools.values()) if (p.name === name && !p.closing) return p;
    return undefined;
  }

  /** Threads of `pool` still alive. */
  threadsOf(pool) {
    let n = 0;
    for (const t of this.#threads.values()) if (t.pool === pool) n++;
    return n;
  }

  /** Destroys every pool (the manager closes); resolves when their threads are gone. */
  destroyAll() {
    return Promise.all([...this.#pools.values()].map((p) => p.destroy()));
  }
}

/**
 * A pool of threads that run the handlers of one module (see
 * `useThreadPool` in index.d.ts).
 */
class ThreadPool {
  #pools;
  #id;
  #name;
  #filename;
  #resourceLimits;
  #size;
  /** @type {Promise<void> | null} */
  #closing = null;
  #engineClosed = false;
  /** @type {(() => void) | null} */
  #whenGone = null;
  /** @type {Set<string> | null} the handlers some thread takes, when no group takes any */
  #routes;
  /** @type {Map<string, NamedEntry>} named tasks that wait, by name */
  #waiting = new Map();
  /** The arrangementId of the last named task. */
  #arrangement = 0;

  constructor(pools, id, options) {
    this.#pools = pools;
    this.#id = id;
    this.#name = options.name;
    this.#filename = options.filename;
    this.#resourceLimits = options.resourceLimits;
    this.#size = options.groups.reduce((n, g) => n + g.size, 0);
    this.#routes = options.groups.some((g) => g.handlers === undefined) ? null : new Set(options.groups.flatMap((g) => g.handlers));
  }

  get id() {
    return this.#id;
  }
  get name() {
    return this.#name;
  }
  get size() {
    return this.#size;
  }
  get filename() {
    return this.#filename;
  }
  get resourceLimits() {
    return this.#resourceLimits;
  }
  /** Whether close() or destroy() was called. */
  get closing() {
    return this.#closing !== null;
  }

  /**
   * Whether some thread of the pool takes `handler`.
   * @param {string} handler
   */
  routes(handler) {
    return this.#routes === null || this.#routes.has(handler);
  }

  nextArrangement() {
    return ++this.#arrangement;
  }

  /** @param {string} name */
  waiting(name) {
    return this.#waiting.get(name);
  }

  /**
   * @param {string} name
   * @param {NamedEntry} entry
   */
  queued(name, entry) {
    this.#waiting.set(name, entry);
  }

  /**
   * @param {string} name
   * @param {NamedEntry} entry
   */
  dequeued(name, entry) {
    if (this.#waiting.get(name) === entry) this.#waiting.delete(name);
  }

  /**
   * Queues a named task: `handler(payload, { attempt, idempotencyKey })`
   * runs on a thread. With a SQLite store it is durable (see index.d.ts).
   * Returns the live task object, or null (with a warning) when a task of
   * this name waits already.
   * @param {any} input
   */
  addTask(input) {
    const m = 'addTask';
    if (!v.isObject(input)) throw v.fail(m, 'task', 'an object { name, handler?, payload?, priority? }', input);
    v.checkKnownKeys(m, 'task', input, TASK_KEYS, 'refuse');
    v.checkName(m, 'task.name', input.name);
    const handler = input.handler === undefined ? 'default' : input.handler;
    v.checkName(m, 'task.handler', handler);
    if (!this.routes(handler)) {
      throw new TypeError(`${m}: task.handler must be one the pool's groups take (${[...(this.#routes ?? [])].join(', ')}), since none has generalists (got "${handler}")`);
    }
    const priority = input.priority === undefined ? 0 : input.priority;
    if (typeof priority !== 'number' || Number.isNaN(priority)) throw v.fail(m, 'task.priority', 'a number', input.priority);
    return this.#pools.add(this, { name: input.name, handler, payload: input.payload, priority });
  }

  /**
   * Removes the waiting named task called `name` (status 'cancelled'; a
   * stored one is deleted). Returns false when no task of that name waits.
   * @param {string} name
   */
  cancelTask(name) {
    if (typeof name !== 'string') throw v.fail('cancelTask', 'name', 'a string', name);
    return this.#pools.cancel(this, name);
  }

  /**
   * Runs `handler(payload)` on a thread; resolves with its result.
   * @param {unknown} [payload]
   * @param {{ handler?: string, priority?: number, signal?: AbortSignal, transferList?: readonly unknown[] }} [options]
   */
  run(payload, options) {
    let o;
    try {
      o = validateRunOptions(options);
      if (this.#routes !== null && !this.#routes.has(o.handler)) {
        // No thread would ever take it: it would wait for ever.
        throw new TypeError(`pool.run: options.handler must be one the pool's groups take (${[...this.#routes].join(', ')}), since none has generalists (got "${o.handler}")`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#pools.run(this, payload, o);
  }

  /** Threads, queue and times of the pool. */
  stats() {
    const s = this.#pools.native.threadPoolStats(this.#id);
    if (!s) throw new SynchronikError(`thread pool "${this.#name}" is gone`, 'ERR_CLOSED');
    return {
      threads: s.threads.map((t) => ({ id: `${this.#name}:thread-${t.runner}`, handlers: t.handlers ?? null, runs: t.runs, busy: t.busy })),
      queued: s.queued,
      utilization: s.utilization,
      runTime: { count: s.runCount, mean: s.runMeanMs },
      waitTime: { count: s.waitCount, mean: s.waitMeanMs },
    };
  }

  /** Lets queued work finish, then ends every thread. */
  close() {
    return this.#end(false);
  }

  /** Fails queued and running tasks (`ERR_CLOSED`) and ends every thread now. */
  destroy() {
    return this.#end(true);
  }

  #end(destroy) {
    const native = this.#pools.native;
    // Runs made before the call reach the engine first (to run, or to be ended).
    this.#pools.submitPending(this);
    native.threadPoolClose(this.#id, destroy);
    if (this.#closing === null) {
      this.#closing = new Promise((resolve) => {
        this.#whenGone = resolve;
      });
    }
    // Pumping carries out what the engine decided (settled tasks, threads to end).
    this.#pools.pump();
    this.threadGone();
    return this.#closing;
  }

  engineClosed() {
    this.#engineClosed = true;
    this.threadGone();
  }

  /** A thread of the pool exited: the pool is closed once the engine closed it and none is left. */
  threadGone() {
    if (this.#whenGone !== null && this.#engineClosed && this.#pools.threadsOf(this) === 0) {
      const resolve = this.#whenGone;
      this.#whenGone = null;
      resolve();
    }
  }
}

/**
 * Validates `useThreadPool`'s options.
 * @param {any} options
 */
function validateThreadPoolOptions(options) {
  const m = 'useThreadPool';
  if (!v.isObject(options)) throw v.fail(m, 'options', 'an object with a filename', options);
  v.checkKnownKeys(m, 'options', options, ['filename', 'name', 'size', 'maxQueue', 'idleTimeoutMs', 'resourceLimits', 'groups'], 'refuse');
  let filename = options.filename;
  if (filename instanceof URL || (typeof filename === 'string' && filename.startsWith('file:'))) {
    try {
      filename = fileURLToPath(filename);
    } catch (e) {
      throw new TypeError(`${m}: options.filename must be a path or a file: URL of a module (got ${JSON.stringify(String(options.filename))}: ${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (typeof filename !== 'string' || filename === '') throw v.fail(m, 'options.filename', 'a path or a file: URL of a module', options.filename);
  filename = path.resolve(filename);
  if (!fs.existsSync(filename)) {
    throw new TypeError(`${m}: options.filename must be the path of an existing module (got ${JSON.stringify(String(options.filename))}, and ${filename} does not exist)`);
  }
  const name = options.name === undefined ? 'threads' : options.name;
  v.checkName(m, 'options.name', name);
  const count = (field, value, min) => {
    if (!Number.isInteger(value) || value < min || value > 10_000) throw v.fail(m, field, `an integer from ${min} to 10000`, value);
  };
  let groups;
  if (options.groups !== undefined) {
    if (!Array.isArray(options.groups) || options.groups.length === 0) throw v.fail(m, 'options.groups', 'a non-empty array of { size, handlers? }', options.groups);
    groups = options.groups.map((g, i) => {
      const field = `options.groups[${i}]`;
      if (!v.isObject(g)) throw v.fail(m, field, 'an object { size, handlers? }', g);
      v.checkKnownKeys(m, field, g, ['size', 'handlers'], 'refuse');
      count(`${field}.size`, g.size, 1);
      if (g.handlers !== undefined && (!Array.isArray(g.handlers) || g.handlers.length === 0 || !g.handlers.every((h) => typeof h === 'string' && h !== ''))) {
        throw v.fail(m, `${field}.handlers`, 'a non-empty array of handler names', g.handlers);
      }
      return { size: g.size, handlers: g.handlers === undefined ? undefined : [...g.handlers] };
    });
    if (options.size !== undefined && options.size !== groups.reduce((n, g) => n + g.size, 0)) {
      throw v.fail(m, 'options.size', 'the sum of the groups\' sizes (or no size)', options.size);
    }
  } else {
    const size = options.size === undefined ? os.availableParallelism() : options.size;
    count('options.size', size, 1);
    groups = [{ size, handlers: undefined }];
  }
  let maxQueue;
  if (options.maxQueue !== undefined && options.maxQueue !== Infinity) {
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) throw v.fail(m, 'options.maxQueue', 'an integer ≥ 0 or Infinity', options.maxQueue);
    maxQueue = options.maxQueue;
  }
  let idleTimeoutMs;
  if (options.idleTimeoutMs !== undefined && options.idleTimeoutMs !== Infinity) {
    if (typeof options.idleTimeoutMs !== 'number' || !Number.isFinite(options.idleTimeoutMs) || options.idleTimeoutMs < 0) {
      throw v.fail(m, 'options.idleTimeoutMs', 'a number of ms ≥ 0, or Infinity', options.idleTimeoutMs);
    }
    idleTimeoutMs = options.idleTimeoutMs;
  }
  if (options.resourceLimits !== undefined && !v.isObject(options.resourceLimits)) {
    throw v.fail(m, 'options.resourceLimits', 'an object of worker_threads resource limits', options.resourceLimits);
  }
  return { filename, name, groups, maxQueue, idleTimeoutMs, resourceLimits: options.resourceLimits };
}

/** @param {any} options */
function validateRunOptions(options) {
  const m = 'pool.run';
  if (options === undefined) return { handler: 'default', priority: 0 };
  if (!v.isObject(options)) throw v.fail(m, 'options', 'an object', options);
  v.checkKnownKeys(m, 'options', options, ['handler', 'priority', 'signal', 'transferList'], 'refuse');
  const handler = options.handler === undefined ? 'default' : options.handler;
  if (typeof handler !== 'string' || handler === '') throw v.fail(m, 'options.handler', 'a non-empty string', handler);
  const priority = options.priority === undefined ? 0 : options.priority;
  if (typeof priority !== 'number' || Number.isNaN(priority)) throw v.fail(m, 'options.priority', 'a number', priority);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw v.fail(m, 'options.signal', 'an AbortSignal', options.signal);
  if (options.transferList !== undefined && !Array.isArray(options.transferList)) throw v.fail(m, 'options.transferList', 'an array', options.transferList);
  return { handler, priority, signal: options.signal, transferList: options.transferList };
}

module.exports = { ThreadPools, ThreadPool, validateThreadPoolOptions };
