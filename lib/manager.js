'use strict';

// The manager users hold: an EventEmitter in front of one native engine.
//
// What lives here and nowhere else: the users' objects and functions (in a
// table indexed by the engine's slot numbers), their AbortControllers, the
// EventEmitter, argument validation and the handle that keeps Node alive
// while work is in flight. Every decision about when and whether something
// runs is made by the engine; this file only carries out its records.

const { EventEmitter } = require('node:events');
const util = require('node:util');
const native = require('./native.js');

const { NativeEngine, engineDrain, engineStrings, engineComplete, engineRun, engineProgress, engineFireNext, engineFireNextOneShot } = native;


const ops = require('./ops');
const { DEFAULTS } = require('./generated/vocabulary');
const { SynchronikError, ENGINE_CODES, abortReason, toError, messageOf, fromNative, describe, isError, closedError } = require('./errors');
const v = require('./validate');
const { IdTable } = require('./id-table');
const { WorkerPool, checkSize } = require('./pool');
const { Persistence, validateAdapter } = require('./storage');
const { SqliteStore, parseStorageOption, parseHistoryQuery, noStoreError } = require('./sqlite-store');

const { STRIDE, STATUSES, RUN_MODES, PHASES, REASONS, SKIP_REASONS } = ops;

/** Capacity of the buffer that drains write records into, in numbers (1024 records). */
const OUT_CAPACITY = 1024 * STRIDE;
/** Capacity of the buffer of settled outcomes, in numbers (4096 outcomes). */
const INBOX_CAPACITY = 4096 * 2;
/** What a run method may run: engineRun's `kind`. */
const RUN_KINDS = { worker: 1, process: 2 };
// The package's own timing uses what fake timers (Jest's, modern or legacy)
// cannot reach, whether they were installed before or after the package was
// loaded: the functions of the `node:timers` module (fake timers replace the
// globals, not the module) and native promise jobs instead of
// queueMicrotask. A user's test that fakes time must not stall the bridge.
const timers = require('node:timers');
const { performance: realPerformance } = require('node:perf_hooks');
const nextTurn = () => new Promise((resolve) => timers.setImmediate(resolve));
/** Calls `fn` in a microtask (a native promise job). */
const resolved = Promise.resolve();
const soon = (fn) => void resolved.then(fn);
const EXECUTION_TIMES_KEPT = DEFAULTS.executionTimesKept;
/** How often the event-loop lag is sampled while a manager is started, in ms. */
const LAG_SAMPLE_MS = 20;
/** How long a stop() without a time limit waits before it warns that it is still waiting, in ms. */
const STOP_WARNING_MS = 10_000;
/** The manual clock goes no further (the engine's CLOCK_LIMIT_MS). */
const CLOCK_LIMIT_MS = DEFAULTS.clockLimitMs;
const noop = () => {};

/** Fields the snapshot and the `updated` payload leave out. */
const isCopyable = (value) => typeof value !== 'function';

/**
 * A deep copy without functions (for snapshots and event payloads). Never
 * throws: a value that cannot be read (a throwing getter, a Proxy whose
 * traps throw) is left out of the copy.
 */
function plainCopy(value, seen = new WeakMap()) {
  try {
    return copyOf(value, seen);
  } catch {
    return undefined;
  }
}

function copyOf(value, seen) {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Error) {
    try {
      return structuredClone(value);
    } catch {
      return value;
    }
  }
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const out = [];
    seen.set(value, out);
    for (const item of value) if (isCopyable(item)) out.push(plainCopy(item, seen));
    return out;
  }
  const out = {};
  seen.set(value, out);
  for (const key of Object.keys(value)) {
    let item;
    try {
      item = value[key];
    } catch {
      continue;
    }
    if (isCopyable(item)) v.setField(out, key, plainCopy(item, seen));
  }
  return out;
}

/**
 * Runs `fn` for a method that returns a promise: bad arguments reject
 * instead of throwing synchronously.
 */
function asPromise(fn) {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Every option of createSynchronikManager; any other key is refused (a slip like `loopIntervalMs`). */
const MANAGER_OPTIONS = [
  'loopInterval',
  'watcherInterval',
  'stallThresholdMs',
  'statsEmissionIntervalMs',
  'autoUnpauseMs',
  'releaseIdleAfterMs',
  'clock',
  'storage',
];

/** Statistics the engine keeps in `meta`; a new `meta` object keeps them. */
const ENGINE_META = ['runCount', 'executionTimesMs', 'averageExecutionTimeMs', 'lastDurationMs'];

/** Fields the engine owns on a unit object; `updateStatus` payloads cannot set them. */
const ENGINE_FIELDS = new Set(['id', 'status', 'enabled', 'meta', 'lastRun', 'processId', 'workers']);

/** Converts a validated worker object into the engine's spec. */
function workerSpec(w) {
  return {
    id: w.id,
    enabled: w.enabled,
    status: w.status,
    runCount: w.meta && Number.isFinite(w.meta.runCount) ? w.meta.runCount : undefined,
    intervalMs: w.intervalMs,
    runOnInterval: w.runOnInterval,
    maxRuns: w.maxRuns,
    timeoutMs: w.timeoutMs,
    maxRetries: w.maxRetries,
    retryDelayMs: typeof w.retryDelayMs === 'number' ? w.retryDelayMs : undefined,
    retryDelayPerRetry: typeof w.retryDelayMs === 'function',
    overlap: w.overlap,
    dependsOn: w.dependsOn
      ? w.dependsOn.map((d) => ({ id: v.dependencyId(d), conditional: typeof d === 'object' && typeof d.condition === 'function' }))
      : undefined,
  };
}

function processSpec(p) {
  return {
    id: p.id,
    enabled: p.enabled,
    status: p.status,
    runCount: p.meta && Number.isFinite(p.meta.runCount) ? p.meta.runCount : undefined,
    runMode: p.runMode,
    batchSize: p.batchSize,
    isolationDelayMs: p.isolationDelayMs,
    concurrency: p.concurrency,
    workers: p.workers.map(workerSpec),
  };
}

/** The engine-relevant part of a config change. */
function patchSpec(patch) {
  const out = {};
  const copy = (key, value) => {
    if (value !== undefined) out[key] = value;
  };
  copy('enabled', patch.enabled);
  copy('intervalMs', patch.intervalMs);
  copy('runOnInterval', patch.runOnInterval);
  copy('maxRuns', patch.maxRuns);
  copy('timeoutMs', patch.timeoutMs);
  copy('maxRetries', patch.maxRetries);
  if (typeof patch.retryDelayMs === 'function') out.retryDelayPerRetry = true;
  else if (patch.retryDelayMs !== undefined) {
    out.retryDelayMs = patch.retryDelayMs;
    out.retryDelayPerRetry = false;
  }
  copy('overlap', patch.overlap);
  copy('runMode', patch.runMode);
  copy('batchSize', patch.batchSize);
  copy('isolationDelayMs', patch.isolationDelayMs);
  copy('concurrency', patch.concurrency);
  return out;
}

function ensureMeta(unit) {
  if (!v.isObject(unit.meta)) unit.meta = {};
  const m = unit.meta;
  if (!Number.isFinite(m.runCount)) m.runCount = 0;
  if (!Array.isArray(m.executionTimesMs)) m.executionTimesMs = [];
  if (!Number.isFinite(m.averageExecutionTimeMs)) m.averageExecutionTimeMs = 0;
  return m;
}

class SynchronikManager extends EventEmitter {
  constructor(options = {}) {
    super();
    if (!v.isObject(options)) throw v.fail('createSynchronikManager', 'options', 'an object', options);
    v.refuseUnknownKeys('createSynchronikManager', 'options', options, MANAGER_OPTIONS);
    const positive = (key) => {
      if (options[key] !== undefined) {
        v.check('createSynchronikManager', `options.${key}`, options[key], (x) => typeof x === 'number' && Number.isFinite(x) && x > 0, 'a positive finite number of milliseconds');
      }
    };
    positive('loopInterval');
    positive('watcherInterval');
    positive('stallThresholdMs');
    positive('statsEmissionIntervalMs');
    positive('autoUnpauseMs');
    positive('releaseIdleAfterMs');
    const clock = parseClockOption(options.clock);
    const storage = options.storage !== undefined ? parseStorageOption(options.storage) : null;
    this.options = { loopInterval: DEFAULTS.loopInterval, watcherInterval: DEFAULTS.watcherInterval, ...options };

    /** Unit objects by slot. */
    this._units = [];
    /** 'worker' | 'process' by slot. */
    this._kinds = [];
    /** The last error of each slot's unit, as the engine reported it (what `error` events carry). */
    this._errors = [];
    /** Slots whose RELEASED record was carried out, not yet told to the engine. */
    this._releasedSlots = [];
    /** Attempts in flight: call id → { slot, controller, ok, value }. */
    this._calls = new IdTable();
    /** Pending run requests: ticket → { resolve, reject }. */
    this._tickets = new IdTable();
    // Records drained from the engine, carried out in order from `_cur` to
    // `_end` (see _pump); strings they name by number, until used.
    this._out = new Float64Array(OUT_CAPACITY);
    this._inbox = new Float64Array(INBOX_CAPACITY);
    this._cur = 0;
    this._end = 0;
    this._strs = new Map();
    /** Unit slots by id (the engine's registry, mirrored from registrations and RELEASED records). */
    this._slots = new Map();
    /** Settled attempts not yet reported: [call, ok, …] and failure messages. */
    this._outcomes = [];
    this._messages = [];
    this._flushQueued = false;
    this._allListeners = new Set();
    this._keepAlive = null;
    this._warnedListenerError = false;
    this._lastCpu = null;
    this._lastCpuAt = 0;
    /** The event-loop lag sampler while started: { last, max, timer }. */
    this._lag = null;

    // The engine's thread wakes JavaScript through a weak threadsafe
    // function. It reaches the manager through a WeakRef so that a dropped
    // manager can be collected (its engine and thread go with it).
    // [call, slot] of the `run` executing synchronously right now; the
    // watcher reads it from its own thread to see a blocked event loop.
    this._liveness = new Float64Array(new SharedArrayBuffer(16));
    // Set on the engine only while the manager is started or has work in
    // flight (see _updateKeepAlive), so a stopped manager holds no handle.
    this._wakeUp = clock.manual ? null : wakeUpOf(new WeakRef(this));
    /** Set when close() is called: from then on every call but lookups is refused. */
    this._closed = false;
    this._closing = null;
    this._disposed = false;
    this._wakeSet = false;
    this._wakeDropQueued = false;
    this._native = new NativeEngine(
      {
        manualClock: clock.manual,
        manualStartMs: clock.startMs,
        loopIntervalMs: this.options.loopInterval,
        watcherIntervalMs: this.options.watcherInterval,
        stallThresholdMs: options.stallThresholdMs,
        autoUnpauseMs: options.autoUnpauseMs,
        releaseIdleAfterMs: options.releaseIdleAfterMs,
        statsIntervalMs: options.statsEmissionIntervalMs,
        liveness: this._liveness,
        out: this._out,
        inbox: this._inbox,
      },
    );
    this._h = this._native.handle();
    this._started = false;
    this._progressCount = 0;
    /** Set by useStorage. */
    this._persistence = null;
    this._dirty = false;
    /** Pools by name, and the pool of each unfinished task by task id. */
    this._pools = new Map();
    this._tasks = new IdTable();
    if (clock.manual) this.clock = new ManualClock(this, clock.startMs);
    this._flush = () => this._flushOutcomes();
    /** The SQLite store (options.storage), opened now so that a bad file fails here. */
    this._sqlite = null;
    if (storage) {
      try {
        this._sqlite = new SqliteStore(this, storage);
      } catch (e) {
        this._native.dispose();
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------------
  // Carrying out the engine's records
  // ---------------------------------------------------------------------

  /**
   * Drains what the engine produced and carries out every record in order.
   * Re-entrant: a listener that calls the manager pumps the same buffer
   * (a nested drain appends behind the records not carried out yet), so
   * records produced earlier are still carried out first.
   */
  _pump() {
    const out = this._out;
    for (;;) {
      const r = engineDrain(this._h, this._end);
      if (r & 1) this._takeStrings();
      this._end += r >>> 1;
      while (this._cur < this._end) {
        const at = this._cur;
        this._cur += STRIDE;
        this._apply(out, at);
      }
      // Everything drained was carried out (by this frame or a nested one).
      this._cur = 0;
      this._end = 0;
      if (r >>> 1 === 0) break;
    }
    this._updateKeepAlive();
    if (this._dirty && this._persistence) {
      this._dirty = false;
      this._lastSave = this._persistence.changed();
    }
  }

  /**
   * The promise a state method returns: resolved at once, or after the save
   * that includes its change when storage is in use.
   */
  _persisted() {
    if (this._sqlite) return this._sqlite.committed();
    if (!this._persistence) return Promise.resolve();
    const save = this._lastSave;
    return save ? save.then(noop) : this._persistence.flush();
  }

  /** Drains what the engine produced and carries it out. */
  _sync() {
    this._pump();
  }

  _takeStrings() {
    const { base, strs } = engineStrings(this._h);
    for (let k = 0; k < strs.length; k++) this._strs.set(base + k, strs[k]);
  }

  /** String number `n` of a record (each is named by one record). */
  _str(n) {
    const s = this._strs.get(n);
    this._strs.delete(n);
    return s;
  }

  _apply(o, i) {
    const op = o[i];
    if (op >= ops.STATUS && op <= ops.RELEASED) this._dirty = true;
    else if (op === ops.STATS || op === ops.LAST_RUN || op === ops.ERRORED) this._dirty = true;
    switch (op) {
      case ops.RUN:
        return this._startAttempt(o[i + 1], o[i + 2], o[i + 3], o[i + 4], o[i + 5]);
      case ops.ABORT: {
        const call = this._calls.get(o[i + 1]);
        if (!call) return;
        this._calls.delete(o[i + 1]);
        const unit = this._units[call.slot];
        abortCall(call, abortReason(o[i + 2], unit ? unit.id : '?'));
        return;
      }
      case ops.STATUS: {
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        const current = STATUSES[o[i + 3]];
        this._mirror(unit, 'status', current);
        if (this._wants('updated')) {
          this._updated(unit, REASONS[o[i + 4]], STATUSES[o[i + 2]], current);
        }
        return;
      }
      case ops.CONFIG: {
        const unit = this._units[o[i + 1]];
        if (unit && this._wants('updated')) this._updated(unit, 'config-change', unit.status, unit.status);
        return;
      }
      case ops.ENABLED: {
        const unit = this._units[o[i + 1]];
        if (unit) this._mirror(unit, 'enabled', o[i + 2] === 1);
        return;
      }
      case ops.PARENT: {
        const unit = this._units[o[i + 1]];
        const proc = this._units[o[i + 2]];
        if (unit && proc) this._mirror(unit, 'processId', proc.id);
        return;
      }
      case ops.RELEASED: {
        const unit = this._units[o[i + 1]];
        if (unit && this._slots.get(unit.id) === o[i + 1]) this._slots.delete(unit.id);
        this._units[o[i + 1]] = undefined;
        this._kinds[o[i + 1]] = undefined;
        this._errors[o[i + 1]] = undefined;
        // The engine reuses the slot once told that this record was carried out.
        this._releasedSlots.push(o[i + 1]);
        return;
      }
      case ops.LAST_RUN: {
        // A run starts: its time is the new lastRun, and the error of an
        // earlier run no longer describes the unit (as in 2.3).
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        this._errors[o[i + 1]] = undefined;
        this._mirror(unit, 'lastRun', new Date(o[i + 2]));
        if (this._field(unit, 'error') !== undefined) this._mirror(unit, 'error', undefined);
        return;
      }
      case ops.STARTED: {
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        this._hook(unit, 'onStart');
        if (this._wants('start')) this._deliver('start', { type: 'start', unitId: unit.id });
        return;
      }
      case ops.STATS: {
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        try {
          const meta = ensureMeta(unit);
          const durationMs = o[i + 2];
          meta.runCount = o[i + 3];
          meta.executionTimesMs.push(durationMs);
          if (meta.executionTimesMs.length > EXECUTION_TIMES_KEPT) meta.executionTimesMs.shift();
          meta.averageExecutionTimeMs = o[i + 4];
          meta.lastDurationMs = durationMs;
        } catch (e) {
          this._mirrorFailed(unit, 'meta', e);
        }
        return;
      }
      case ops.COMPLETED: {
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        const callId = o[i + 2];
        const call = callId >= 0 ? this._calls.get(callId) : undefined;
        const result = call ? call.value : undefined;
        this._hook(unit, 'onComplete', result);
        if (this._wants('complete')) {
          this._deliver('complete', { type: 'complete', unitId: unit.id, result, durationMs: o[i + 3] });
        }
        return;
      }
      case ops.MARKED: {
        // A status set by hand announces its transition the way a run would.
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        const status = STATUSES[o[i + 2]];
        if (status === 'running' && this._wants('start')) {
          this._deliver('start', { type: 'start', unitId: unit.id });
        } else if (status === 'completed' && this._wants('complete')) {
          this._deliver('complete', { type: 'complete', unitId: unit.id, result: undefined, durationMs: 0 });
        } else if (status === 'error' && this._wants('error')) {
          const error = this._field(unit, 'error');
          if (isError(error)) this._deliver('error', { type: 'error', unitId: unit.id, error });
        }
        return;
      }
      case ops.ERRORED: {
        const unit = this._units[o[i + 1]];
        const message = this._str(o[i + 3]);
        if (!unit) return;
        const culprit = o[i + 4] >= 0 ? this._units[o[i + 4]] : undefined;
        const error = this._failure(o[i + 2], message, unit, culprit);
        // Kept here too: the `error` event and onError carry it even when
        // the unit's object refuses it.
        this._errors[o[i + 1]] = error;
        this._mirror(unit, 'error', error);
        return;
      }
      case ops.FAILED: {
        const unit = this._units[o[i + 1]];
        if (!unit) return;
        const kept = this._errors[o[i + 1]];
        const error = kept !== undefined ? kept : this._field(unit, 'error');
        this._hook(unit, 'onError', error);
        if (this._wants('error')) this._deliver('error', { type: 'error', unitId: unit.id, error });
        return;
      }
      case ops.RETRY: {
        const unit = this._units[o[i + 1]];
        // Taken even when nobody listens, or it would stay in the table.
        const message = this._str(o[i + 5]);
        if (!unit || !this._wants('retry')) return;
        const error = this._failure(o[i + 4], message, unit);
        this._deliver('retry', { type: 'retry', unitId: unit.id, attempt: o[i + 2], delayMs: o[i + 3], error });
        return;
      }
      case ops.PHASE: {
        const unit = this._units[o[i + 1]];
        if (unit && this._wants('milestone')) {
          this._deliver('milestone', {
            type: 'milestone',
            milestoneId: `unit:${unit.id}:${PHASES[o[i + 2]]}`,
            payload: { runMode: RUN_MODES[o[i + 3]] },
          });
        }
        return;
      }
      case ops.SKIPPED: {
        const unit = this._units[o[i + 1]];
        if (unit && this._wants('skipped')) {
          this._deliver('skipped', { type: 'skipped', unitId: unit.id, reason: SKIP_REASONS[o[i + 2]] });
        }
        return;
      }
      case ops.STALLED: {
        const unit = this._units[o[i + 1]];
        if (unit && this._wants('stalled')) {
          const event = { type: 'stalled', unitId: unit.id, runningForMs: o[i + 2] };
          if (o[i + 3] === 1) event.eventLoop = true;
          this._deliver('stalled', event);
        }
        return;
      }
      case ops.UNPAUSED: {
        const unit = this._units[o[i + 1]];
        if (unit) this._milestone(`worker:${unit.id}:unpaused`, {});
        return;
      }
      case ops.IDLE_RELEASE: {
        const unit = this._units[o[i + 1]];
        if (unit) {
          this._milestone(`unit:${unit.id}:released`, {});
          this._milestone(`worker:${unit.id}:released`, { idleTime: o[i + 2] });
        }
        return;
      }
      case ops.TASK_STATUS: {
        const entry = this._tasks.get(o[i + 1]);
        if (entry) entry.pool._status(entry, o[i + 2]);
        return;
      }
      case ops.TASK_DONE: {
        const taskId = o[i + 1];
        const entry = this._tasks.get(taskId);
        const kind = o[i + 2];
        const message = kind === 1 || kind === 3 ? this._str(o[i + 4]) : undefined;
        if (!entry) return;
        this._tasks.delete(taskId);
        let value;
        if (kind === 0) {
          const call = this._calls.get(o[i + 3]);
          value = call ? call.value : undefined;
        } else if (kind === 1 || kind === 3) {
          value = this._failure(o[i + 3], message, entry.worker || { id: kind === 3 ? undefined : '?' });
        }
        entry.pool._done(entry, kind, value);
        return;
      }
      case ops.POOL_IDLE:
        for (const pool of this._pools.values()) if (pool._id === o[i + 1]) pool._idle();
        return;
      case ops.STATS_DUE:
        if (this._wants('milestone')) this._milestone('engine:stats', this.getEngineStats());
        return;
      case ops.DONE: {
        const ticket = this._tickets.get(o[i + 1]);
        const message = o[i + 2] === 0 ? undefined : this._str(o[i + 3]);
        const unitId = o[i + 2] === 0 ? undefined : this._str(o[i + 5]);
        if (!ticket) return;
        this._tickets.delete(o[i + 1]);
        if (o[i + 2] === 0 || ticket.settleOnly) return ticket.resolve();
        const worker = o[i + 4] >= 0 ? this._units[o[i + 4]] : undefined;
        const kept = worker ? this._errors[o[i + 4]] : undefined;
        ticket.reject(
          new SynchronikError(message, ENGINE_CODES[o[i + 2]], {
            cause: kept !== undefined ? kept : worker ? this._field(worker, 'error') : undefined,
            // By id: a worker released before the run ended has no object any more.
            unitId: worker ? worker.id : unitId || undefined,
          }),
        );
        return;
      }
      default:
        return;
    }
  }

  /** The error object of a failure record: the user's value for a call, else an engine error. */
  _failure(reference, message, unit, culprit) {
    if (reference > 0) {
      const call = this._calls.get(reference);
      if (call) return call.value;
      return new SynchronikError(message, 'ERR_RUN_FAILED', { unitId: unit.id });
    }
    const code = ENGINE_CODES[-reference] || 'ERR_RUN_FAILED';
    const cause = culprit ? this._field(culprit, 'error') : undefined;
    return new SynchronikError(message, code, {
      unitId: culprit ? culprit.id : unit.id,
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  /**
   * Writes an engine-owned field onto the user's object. The object is the
   * engine's mirror, but it is the user's: a setter that throws (or a field
   * made read-only after registration) is reported like a throwing
   * listener, never thrown into the bridge. Returns whether it was written.
   */
  _mirror(unit, field, value) {
    try {
      unit[field] = value;
      return true;
    } catch (e) {
      this._mirrorFailed(unit, field, e);
      return false;
    }
  }

  _mirrorFailed(unit, field, error) {
    let unitId;
    try {
      unitId = unit.id;
    } catch {
      unitId = '?';
    }
    this._reportListenerError(error, { type: 'mirror', unitId, field });
  }

  /** Reads a field of the user's object; a getter that throws is reported and reads as undefined. */
  _field(unit, field) {
    try {
      return unit[field];
    } catch (e) {
      this._mirrorFailed(unit, field, e);
      return undefined;
    }
  }

  _startAttempt(callId, slot, attempt, flags, task) {
    const unit = this._units[slot];
    let fn;
    let args;
    let pool;
    let key;
    if (task >= 0) {
      // A pool task: the worker executes the task's function with its payload.
      const entry = this._tasks.get(task);
      fn = undefined;
      if (entry) {
        pool = entry.pool;
        fn = pool._callee(entry, unit);
        args = entry.task !== null ? entry.task.payload : entry.payload;
        if (entry.durable) key = entry.task.idempotencyKey;
      }
    }
    const retryable = (flags & 1) !== 0;
    const call = {
      slot,
      controller: null,
      abortReason: undefined,
      ok: false,
      value: undefined,
      progress: undefined,
      conditions: (flags & 2) !== 0,
    };
    this._calls.set(callId, call);
    if (!unit) {
      this._settle(callId, false, new SynchronikError('unit is gone', 'ERR_RELEASED'));
      return;
    }
    if (retryable) {
      // The delay before retry number `attempt`, asked now so that it is
      // known however this attempt ends (a timeout included). A function
      // that throws (or a getter that does) counts as no delay.
      let delay = -1;
      try {
        const retryDelayMs = unit.retryDelayMs;
        if (typeof retryDelayMs === 'function') delay = Number(retryDelayMs.call(unit, attempt));
      } catch (e) {
        delay = 0;
        this._reportListenerError(e, { type: 'retryDelayMs', unitId: unit.id });
      }
      if (delay !== -1) this._native.reportRetryDelay(callId, Number.isFinite(delay) && delay > 0 ? delay : 0);
    }
    const ctx = new RunContext(this, callId, call, unit.id, attempt, pool);
    // A durable task's key: the same on every attempt, across restarts.
    if (key !== undefined) ctx.idempotencyKey = key;
    let returned;
    const live = this._liveness;
    live[1] = slot;
    live[0] = callId;
    try {
      if (task < 0) fn = unit.run;
      if (typeof fn !== 'function') throw new SynchronikError(`nothing to run for "${unit.id}"`, 'ERR_RUN_FAILED', { unitId: unit.id });
      returned = task >= 0 ? fn(args, ctx) : fn.call(unit, ctx);
    } catch (e) {
      this._settle(callId, false, e);
      return;
    } finally {
      live[0] = 0;
    }
    if (returned === null || (typeof returned !== 'object' && typeof returned !== 'function')) {
      this._settle(callId, true, returned);
      return;
    }
    // Reading `then` runs the user's getter, and Promise.resolve reads a
    // promise's `constructor`: either may throw, which fails the attempt.
    let settled;
    try {
      settled = typeof returned.then === 'function' ? Promise.resolve(returned) : undefined;
    } catch (e) {
      this._settle(callId, false, e);
      return;
    }
    if (settled === undefined) this._settle(callId, true, returned);
    else {
      settled.then(
        (value) => this._settle(callId, true, value),
        (error) => this._settle(callId, false, error),
      );
    }
  }

  /** Records a settled attempt; reported to the engine in one batch per microtask. */
  _settle(callId, ok, value) {
    const call = this._calls.get(callId);
    if (!call) return; // timed out, stopped or released: it no longer counts
    const unit = this._units[call.slot];
    if (ok && call.conditions && unit) this._reportConditions(callId, unit, value);
    call.ok = ok;
    call.value = ok ? value : toError(value, unit ? unit.id : '?');
    this._outcomes.push(callId, ok ? 1 : 0);
    if (!ok) this._messages.push(messageOf(call.value));
    if (!this._flushQueued) {
      this._flushQueued = true;
      soon(this._flush);
    }
  }

  /**
   * Evaluates the conditions that dependents in the unit's process put on
   * its result, and reports them before the outcome (the engine decides
   * what runs). A condition that throws counts as false.
   */
  _reportConditions(callId, unit, result) {
    const process = unit.processId !== undefined ? this.getProcessById(unit.processId) : undefined;
    if (!process) return;
    const results = [];
    // The process's workers and their dependsOn entries are the user's
    // objects: every read of them is inside try/catch, and a condition that
    // cannot be read or evaluated counts as false.
    let workers;
    try {
      workers = Array.from(process.workers);
    } catch (e) {
      this._reportListenerError(e, { type: 'condition', unitId: process.id, dependency: unit.id });
      return;
    }
    for (const worker of workers) {
      let slot = -1;
      try {
        const dependsOn = worker.dependsOn;
        if (!Array.isArray(dependsOn)) continue;
        slot = this._slot(worker.id);
        for (const d of dependsOn) {
          if (typeof d !== 'object' || d === null || d.id !== unit.id) continue;
          const condition = d.condition;
          if (typeof condition !== 'function') continue;
          if (slot >= 0) results.push(slot, this._condition(condition, d, result, worker, unit) ? 1 : 0);
        }
      } catch (e) {
        this._reportListenerError(e, { type: 'condition', unitId: slot >= 0 ? this._units[slot].id : '?', dependency: unit.id });
        if (slot >= 0) results.push(slot, 0);
      }
    }
    if (results.length > 0) this._native.reportConditions(callId, Float64Array.from(results));
  }

  /** Whether a condition holds for `result`; one that throws (or returns what cannot be read) counts as false. */
  _condition(condition, entry, result, dependent, unit) {
    try {
      return Boolean(condition.call(entry, result));
    } catch (e) {
      this._reportListenerError(e, { type: 'condition', unitId: dependent.id, dependency: unit.id });
      return false;
    }
  }

  _flushOutcomes() {
    this._flushQueued = false;
    this._progressCount++;
    const outcomes = this._outcomes;
    const messages = this._messages;
    this._outcomes = [];
    this._messages = [];
    const inbox = this._inbox;
    let m = 0;
    for (let from = 0; from < outcomes.length; from += inbox.length) {
      const n = Math.min(inbox.length, outcomes.length - from);
      let failed = 0;
      for (let k = 0; k < n; k += 2) {
        inbox[k] = outcomes[from + k];
        if ((inbox[k + 1] = outcomes[from + k + 1]) === 0) failed++;
      }
      engineComplete(this._h, n >> 1, failed > 0 ? messages.slice(m, m + failed) : undefined);
      m += failed;
    }
    this._pump();
    // The records that referred to these calls' values have been carried out.
    for (let k = 0; k < outcomes.length; k += 2) this._calls.delete(outcomes[k]);
    this._updateKeepAlive();
  }

  /**
   * Holds one ref'd handle exactly while runs are in flight, and the
   * engine's wake-up while it may be needed. `now`: let go of the wake-up
   * at once (stop), not a loop turn later (which spares a program that
   * awaits one run after another making and dropping it for every run).
   */
  _updateKeepAlive(now = false) {
    const busy = this._started || this._tickets.size > 0 || this._calls.size > 0;
    if (busy && this._keepAlive === null) {
      // The closure holds the manager, so a manager with work in flight is
      // never collected even if the caller dropped it.
      this._keepAlive = timers.setInterval(() => void this, 0x7fffffff);
      // The engine's thread may need to wake JavaScript from now on.
      if (this._wakeUp !== null && !this._wakeSet && !this._disposed) {
        this._wakeSet = true;
        this._native.setWake(this._wakeUp);
      }
    } else if (!busy && this._keepAlive !== null) {
      timers.clearInterval(this._keepAlive);
      this._keepAlive = null;
      // Nothing is in flight and nothing is scheduled: no timer of the
      // engine can produce records JavaScript waits for, so the wake-up
      // (a threadsafe function, a handle of its own) goes too.
      if (this._wakeSet && !now && !this._wakeDropQueued) {
        this._wakeDropQueued = true;
        timers.setImmediate(() => {
          this._wakeDropQueued = false;
          if (this._keepAlive === null) this._dropWake();
        });
      }
    }
    if (now && this._keepAlive === null) this._dropWake();
  }

  _dropWake() {
    if (this._wakeSet && !this._disposed) {
      this._wakeSet = false;
      this._native.setWake(undefined);
    }
  }

  // ---------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------

  _wants(type) {
    return this._allListeners.size > 0 || this.listenerCount(type) > 0;
  }

  _updated(unit, reason, previous, current) {
    // A shallow view of the unit, as in 2.3: cheap however large the unit.
    // A getter of the user's object that throws leaves its field out.
    let payload;
    try {
      payload = { ...unit, reason, previous, current };
    } catch {
      payload = { reason, previous, current };
      for (const key of Object.keys(unit)) {
        try {
          v.setField(payload, key, unit[key]);
        } catch {
          // left out
        }
      }
      Object.assign(payload, { reason, previous, current });
    }
    this._deliver('updated', { type: 'updated', unitId: unit.id, payload });
  }

  /**
   * Delivers an event to its listeners and (unless `toSubscribers` is false)
   * to every subscriber; a throwing listener is reported, never rethrown.
   */
  _deliver(type, event, toSubscribers = true) {
    if (this.listenerCount(type) > 0) {
      for (const listener of this.rawListeners(type)) {
        try {
          listener.call(this, event);
        } catch (e) {
          this._reportListenerError(e, event);
        }
      }
    }
    if (!toSubscribers) return;
    for (const listener of this._allListeners) {
      try {
        listener(event);
      } catch (e) {
        this._reportListenerError(e, event);
      }
    }
  }

  _hook(unit, name, arg) {
    // Everything about a hook is the user's: the getter that holds it, the
    // call, and the `then` of what it returns.
    try {
      const fn = unit[name];
      if (typeof fn !== 'function') return;
      const r = fn.call(unit, arg);
      if (r && typeof r.then === 'function') {
        Promise.resolve(r).catch((e) => this._reportListenerError(e, { type: name, unitId: unit.id }));
      }
    } catch (e) {
      this._reportListenerError(e, { type: name, unitId: unit.id });
    }
  }

  _reportListenerError(error, event) {
    if (this.listenerCount('listenerError') > 0) {
      for (const listener of this.rawListeners('listenerError')) {
        try {
          listener.call(this, { type: 'listenerError', error, event });
        } catch {
          // A failing listenerError listener has nowhere left to report to.
        }
      }
      return;
    }
    if (!this._warnedListenerError) {
      this._warnedListenerError = true;
      console.error(
        `[synchronik] a listener or hook threw while handling ${event && event.type ? `"${event.type}"` : 'an event'} (further ones are not printed; listen to "listenerError" to see them all):`,
        error,
      );
    }
  }

  /** Listens to every event; returns the unsubscribe function. */
  subscribeToEvents(listener) {
    if (typeof listener !== 'function') throw v.fail('subscribeToEvents', 'listener', 'a function', listener);
    this._allListeners.add(listener);
    return () => {
      this._allListeners.delete(listener);
    };
  }

  _subscribe(method, type, fn, adapt) {
    if (typeof fn !== 'function') throw v.fail(method, 'handler', 'a function', fn);
    const listener = adapt(fn);
    this.on(type, listener);
    return () => {
      this.off(type, listener);
    };
  }

  /** Calls `handler(milestoneId, payload)` for every milestone. */
  onMilestone(handler) {
    return this._subscribe('onMilestone', 'milestone', handler, (fn) => (e) => fn(e.milestoneId, e.payload));
  }

  /** Calls `handler(event)` for every `start` event. */
  onStart(handler) {
    return this._subscribe('onStart', 'start', handler, (fn) => (e) => fn(e));
  }

  /** Calls `handler(event)` for every `complete` event. */
  onComplete(handler) {
    return this._subscribe('onComplete', 'complete', handler, (fn) => (e) => fn(e));
  }

  /** Calls `handler(event)` for every `error` event. */
  onError(handler) {
    return this._subscribe('onError', 'error', handler, (fn) => (e) => fn(e));
  }

  /** Emits a milestone event after everything the engine produced before it. */
  emitMilestone(milestoneId, payload = {}) {
    this._open('emitMilestone');
    // Milestone ids stay in JavaScript: any non-empty string will do.
    v.check('emitMilestone', 'milestoneId', milestoneId, (x) => typeof x === 'string' && x.length > 0, 'a non-empty string');
    this._sync();
    this._milestone(milestoneId, payload);
  }

  _milestone(milestoneId, payload) {
    if (this._wants('milestone')) this._deliver('milestone', { type: 'milestone', milestoneId, payload });
  }

  // ---------------------------------------------------------------------
  // Registration and lookup
  // ---------------------------------------------------------------------

  /** Registers a worker or a process (with its workers); re-registering an id replaces it in place. */
  registerUnit(unit) {
    this._open('registerUnit');
    return this._register(unit, null);
  }

  /**
   * registerUnit, with `attach(slot)` called once the unit has its slot and
   * before the SQLite store looks at it: a pool attaches its worker there, so
   * the store sees a pool worker as one.
   */
  _register(unit, attach) {
    const kind = v.validateUnit('registerUnit', unit, (id) => this._slot(id) >= 0, (u) => this._units[this._slot(u.id)] === u);
    if (attach === null) {
      this._refusePoolWorkerId(unit.id, 'unit.id');
      if (kind === 'process') unit.workers.forEach((w, k) => this._refusePoolWorkerId(w.id, `unit.workers[${k}].id`));
    }
    // The runs in flight of an object being replaced end on it, with
    // ERR_RELEASED, before the new object takes its place.
    this._endRunsOfReplaced(unit.id);
    if (kind === 'process') for (const w of unit.workers) this._endRunsOfReplaced(w.id);
    let slots;
    this._acknowledgeReleased();
    try {
      slots =
        kind === 'worker'
          ? this._native.registerWorker(workerSpec(unit))
          : this._native.registerProcess(processSpec(unit));
    } catch (e) {
      throw fromNative(e, TypeError);
    }
    this._adopt(slots[0], unit, kind);
    if (kind === 'process') unit.workers.forEach((w, k) => this._adopt(slots[k + 1], w, 'worker'));
    if (this._persistence) {
      this._persistence.hydrate(unit);
      if (kind === 'process') for (const w of unit.workers) this._persistence.hydrate(w);
      this._dirty = true;
    }
    if (attach !== null) attach(slots[0]);
    if (this._sqlite) this._sqlite.registered(unit, kind);
    this._sync();
    return unit;
  }

  /**
   * A unit of the user's cannot replace a pool worker: the worker belongs
   * to its pool, which holds the object and dispatches tasks to it.
   */
  _refusePoolWorkerId(id, field) {
    const slot = this._slot(id);
    if (slot < 0 || !this._native.isPoolWorker(slot)) return;
    let owner = '?';
    for (const pool of this._pools.values()) if (pool._workers.some((w) => w.id === id)) owner = pool.name;
    throw new TypeError(
      `registerUnit: ${field} must not be the id of a pool worker; pool workers belong to their pool (got "${id}", a worker of pool "${owner}")`,
    );
  }

  _endRunsOfReplaced(id) {
    if (typeof id === 'string' && this._slot(id) >= 0 && this._native.endRuns(id)) this._sync();
  }

  /** Takes a registered object as the mirror of its slot. */
  _adopt(slot, unit, kind) {
    this._units[slot] = unit;
    this._slots.set(unit.id, slot);
    this._kinds[slot] = kind;
    this._errors[slot] = undefined;
    if (this._field(unit, 'status') === undefined) this._mirror(unit, 'status', 'idle');
    if (this._field(unit, 'enabled') === undefined) this._mirror(unit, 'enabled', true);
    try {
      ensureMeta(unit);
    } catch (e) {
      this._mirrorFailed(unit, 'meta', e);
    }
  }

  /** Removes a unit; a running one has its signal aborted. Unknown ids are ignored. */
  releaseUnit(id) {
    this._open('releaseUnit');
    v.validateId('releaseUnit', id);
    for (const pool of this._pools.values()) {
      if (pool._workers.some((w) => w.id === id)) {
        throw new TypeError(
          `releaseUnit: id must not name a worker of a pool; remove pool workers with pool.resize() (got "${id}", a worker of pool "${pool.name}")`,
        );
      }
    }
    this._native.release(id);
    this._sync();
    // Told now and then without a registration too, so that the engine can
    // shrink its tables when units only go.
    if (this._releasedSlots.length >= 1024) this._acknowledgeReleased();
  }

  /** Tells the engine which released slots may name new units (see the RELEASED record). */
  _acknowledgeReleased() {
    if (this._releasedSlots.length === 0) return;
    this._native.acknowledgeReleased(this._releasedSlots);
    this._releasedSlots = [];
  }

  _slot(id) {
    const slot = this._slots.get(id);
    return slot === undefined ? -1 : slot;
  }

  getUnitById(id) {
    const slot = this._slot(id);
    return slot >= 0 ? this._units[slot] : undefined;
  }

  getWorkerById(id) {
    const slot = this._slot(id);
    return slot >= 0 && this._kinds[slot] === 'worker' ? this._units[slot] : undefined;
  }

  getProcessById(id) {
    const slot = this._slot(id);
    return slot >= 0 && this._kinds[slot] === 'process' ? this._units[slot] : undefined;
  }

  getUnitStatus(id) {
    const unit = this.getUnitById(id);
    return unit ? unit.status : undefined;
  }

  listUnits() {
    return Array.from(this._native.orderedSlots(), (s) => this._units[s]).filter(Boolean);
  }

  listWorkers() {
    return Array.from(this._native.orderedSlots()).filter((s) => this._kinds[s] === 'worker').map((s) => this._units[s]);
  }

  listProcesses() {
    return Array.from(this._native.orderedSlots()).filter((s) => this._kinds[s] === 'process').map((s) => this._units[s]);
  }

  /** Deep copies of every unit without functions. Never throws. */
  getRegistrySnapshot() {
    return this.listUnits().map((u) => plainCopy(u));
  }

  // ---------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------

  /**
   * Sets a unit's status. `options.payload` is merged into the unit (as in
   * 2.3), so it shows in the `updated` event; a payload `error` with status
   * 'error' becomes the unit's error and is announced by an `error` event.
   */
  updateStatus(id, status, options) {
    return asPromise(() => {
      this._open('updateStatus');
      v.validateId('updateStatus', id);
      v.validateStatus('updateStatus', status);
      if (options !== undefined && !v.isObject(options)) throw v.fail('updateStatus', 'options', 'an object', options);
      const payload = options ? options.payload : undefined;
      if (payload !== undefined && !v.isObject(payload)) throw v.fail('updateStatus', 'options.payload', 'an object', payload);
      if (payload !== undefined) v.refuseProtoKey('updateStatus', 'options.payload', payload);
      const unit = this.getUnitById(id);
      if (!unit) return;
      if (!payload) {
        this._native.updateStatus(id, status);
        this._sync();
        return this._persisted();
      }
      // Settings in the payload go through the same validation and reach
      // the engine like a config change; other keys are merged onto the
      // unit (as in 2.3); fields the engine owns are left alone.
      const settings = {};
      const extra = {};
      for (const key of Object.keys(payload)) {
        if (v.SETTINGS.has(key)) v.setField(settings, key, payload[key]);
        else if (!ENGINE_FIELDS.has(key)) v.setField(extra, key, payload[key]);
      }
      const kind = this._kinds[this._slot(id)];
      v.validatePatch('updateStatus', kind, settings, 'options.payload');
      if (kind === 'worker') v.validatePatchedInterval('updateStatus', unit, settings, 'options.payload');
      Object.assign(unit, extra);
      this._applyConfig(id, unit, { ...settings, status });
      return this._persisted();
    });
  }

  /** Changes a unit's settings (hot swap): they apply from its next attempt. */
  updateUnitConfig(id, config) {
    return this._updateConfig('updateUnitConfig', id, config);
  }

  _updateConfig(method, id, config) {
    return asPromise(() => {
      this._open(method);
      v.validateId(method, id);
      if (!v.isObject(config)) throw v.fail(method, 'config', 'an object', config);
      const unit = this.getUnitById(id);
      if (!unit) return;
      const kind = this._kinds[this._slot(id)];
      v.validatePatch(method, kind, config);
      if (kind === 'worker') v.validatePatchedInterval(method, unit, config);
      this._applyConfig(id, unit, config);
      return this._persisted();
    });
  }

  /** Applies a validated config change to the object and the engine. */
  _applyConfig(id, unit, config) {
    const { status, enabled, meta, ...rest } = config;
    Object.assign(unit, rest);
    if (meta !== undefined) {
      // The engine's statistics stay: a new meta object carries them on.
      const kept = {};
      for (const key of ENGINE_META) if (unit.meta && unit.meta[key] !== undefined) kept[key] = unit.meta[key];
      unit.meta = Object.assign(meta, kept);
      ensureMeta(unit);
      if (this._sqlite) this._sqlite.metaChanged(unit);
    }
    const patch = patchSpec(config);
    if (status !== undefined) patch.status = status;
    this._native.updateConfig(id, patch);
    this._sync();
  }

  updateWorkerConfig(id, config) {
    return this._updateConfig('updateWorkerConfig', id, config);
  }

  updateProcessConfig(id, config) {
    return this._updateConfig('updateProcessConfig', id, config);
  }

  _setEnabled(method, id, enabled) {
    return asPromise(() => {
      this._open(method);
      v.validateId(method, id);
      this._native.setEnabled(id, enabled);
      this._sync();
      return this._persisted();
    });
  }

  enableWorker(id) {
    return this._setEnabled('enableWorker', id, true);
  }

  disableWorker(id) {
    return this._setEnabled('disableWorker', id, false);
  }

  enableProcess(id) {
    return this._setEnabled('enableProcess', id, true);
  }

  disableProcess(id) {
    return this._setEnabled('disableProcess', id, false);
  }

  enableUnit(id) {
    return this._setEnabled('enableUnit', id, true);
  }

  disableUnit(id) {
    return this._setEnabled('disableUnit', id, false);
  }

  /** Disables a worker so that it is not run again. */
  stopWorkerById(id) {
    return this._setEnabled('stopWorkerById', id, false);
  }

  /** Every paused unit becomes idle. */
  startAll() {
    this._open('startAll');
    this._native.startAll();
    this._sync();
  }

  /** Every unit becomes paused. */
  stopAll() {
    this._open('stopAll');
    this._native.stopAll();
    this._sync();
  }

  // ---------------------------------------------------------------------
  // Execution
  // ---------------------------------------------------------------------

  /**
   * The promise that the DONE record of `ticket` settles. With `settleOnly`
   * it resolves whatever the run's outcome (runWorkerById's contract).
   */
  _await(ticket, settleOnly = false) {
    ticketBeingMade = new Ticket(settleOnly);
    const promise = new Promise(takeTicketResolvers);
    this._tickets.set(ticket, ticketBeingMade);
    ticketBeingMade = undefined;
    return promise;
  }

  _run(method, id, kind, settleOnly) {
    if (this._closed) return Promise.reject(closedError(method));
    if (typeof id !== 'string' || id.length === 0) {
      try {
        v.validateId(method, id);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const slot = this._slot(id);
    // An unknown id is run as "nothing" by the engine; an ill-formed one is refused like everywhere else.
    if (slot < 0 && v.firstLoneSurrogate(id) >= 0) {
      try {
        v.validateId(method, id);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    try {
      const done = this._await(engineRun(this._h, slot >>> 0, RUN_KINDS[kind] || 0), settleOnly);
      this._pump();
      return done;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs one worker now; resolves when its run ended (never rejects for a failed run). */
  runWorkerById(id) {
    return this._run('runWorkerById', id, 'worker', true);
  }

  /** Runs a worker or a process now; resolves when its run ended, never rejects for a failed run. */
  runUnitById(id) {
    return this._run('runUnitById', id, undefined, true);
  }

  /**
   * Runs a process now by its run mode. Rejects with a SynchronikError naming
   * the worker when a sequential or isolated run fails.
   */
  runProcessById(id) {
    return this._run('runProcessById', id, 'process', false);
  }

  /**
   * One scheduler sweep now: due interval workers and idle enabled
   * processes. Resolves when the runs it started have ended.
   */
  runLoopOnce() {
    return asPromise(() => {
      this._open('runLoopOnce');
      const runs = Array.from(this._native.runLoopOnce(), (t) => this._await(t, true));
      this._sync();
      return Promise.all(runs).then(noop);
    });
  }

  /** One watcher scan now. */
  runWatcherScan() {
    this._open('runWatcherScan');
    this._native.watcherScan();
    this._sync();
  }

  // ---------------------------------------------------------------------
  // Background operation
  // ---------------------------------------------------------------------

  /** Starts the scheduler and the watcher. Idempotent. While started, the manager keeps Node alive. */
  start() {
    this._open('start');
    this._started = true;
    this._startLagSampler();
    this._native.start();
    this._sync();
  }

  /**
   * Samples the event-loop lag while the manager is started: an unref'd
   * interval of node:timers (which fake timers do not replace) that notes
   * how much later than due each tick came, by perf_hooks' clock. It holds
   * the sample, not the manager.
   */
  _startLagSampler() {
    if (this._lag !== null) return;
    const lag = { last: realPerformance.now(), max: 0, timer: null };
    lag.timer = timers.setInterval(sampleLag, LAG_SAMPLE_MS, lag);
    lag.timer.unref();
    this._lag = lag;
  }

  _stopLagSampler() {
    if (this._lag === null) return;
    timers.clearInterval(this._lag.timer);
    this._lag = null;
  }

  /**
   * Stops scheduling new runs and resolves when the runs in flight have
   * settled. With `timeoutMs`, runs still in flight then are aborted and fail
   * with ERR_STOPPED. Queued pool tasks that live in memory only are dropped
   * at once (a `pool.run` rejects with ERR_STOPPED); stored ones stay queued.
   * Called from inside a run, it does not wait for that run. Afterwards
   * nothing of the manager keeps Node alive.
   */
  stop(options) {
    let timeoutMs;
    try {
      timeoutMs = stopTimeout('stop', options);
    } catch (e) {
      return Promise.reject(e);
    }
    // A closed manager is stopped already.
    if (this._closed) return this._closing.then(noop, noop);
    return this._stop(timeoutMs, false);
  }

  _stop(timeoutMs, closing) {
    this._started = false;
    this._stopLagSampler();
    // pool.run tasks still waiting for their microtask reach the engine
    // first, so that the stop sees (and drops) them too.
    for (const pool of this._pools.values()) pool._submit();
    // A `run` that calls stop() is on the stack now: the stop does not wait
    // for it (it waits for the stop).
    const caller = this._liveness[0];
    const done = this._await(this._native.stop(Number.isFinite(timeoutMs) ? timeoutMs : undefined, closing, caller));
    this._sync();
    if (timeoutMs === undefined) {
      // Waiting without a limit for a run that never settles (one that
      // awaits this very stop after another await, say) would be silent.
      const warning = timers.setTimeout(() => this._warnStopWaiting(), STOP_WARNING_MS);
      warning.unref();
      const clear = () => timers.clearTimeout(warning);
      done.then(clear, clear);
    }
    return done
      .then(() => (this._sqlite ? this._sqlite.committed() : undefined))
      .then(() => {
        for (const pool of this._pools.values()) pool._stopped(closing);
        this._updateKeepAlive(true);
      });
  }

  /**
   * Stops like stop(), then lets go of what the manager holds: the SQLite
   * store is committed and closed (its file can be moved or deleted) and the
   * engine's timer thread ends. From the call on, every method but the
   * lookups refuses with ERR_CLOSED; queued in-memory pool tasks are dropped
   * with ERR_CLOSED. Calling it again returns the same promise.
   */
  close(options) {
    if (this._closing) return this._closing;
    let timeoutMs;
    try {
      timeoutMs = stopTimeout('close', options);
    } catch (e) {
      return Promise.reject(e);
    }
    this._closed = true;
    this._closing = this._stop(timeoutMs, true).then(() => {
      if (this._sqlite) this._sqlite.close();
      this._dropWake();
      this._disposed = true;
      this._native.dispose();
    });
    return this._closing;
  }

  // ---------------------------------------------------------------------
  // Storage
  // ---------------------------------------------------------------------

  /**
   * Persists unit state through `adapter` (`{ saveState(units), loadState() }`):
   * loads the stored state and brings it back onto registered units with
   * the same ids (and onto units registered later with a stored id), then
   * saves after every state change — coalesced and in order. A failing save
   * is logged and never fails the call that caused it.
   */
  useStorage(adapter) {
    return asPromise(async () => {
      this._open('useStorage');
      validateAdapter('useStorage', adapter);
      const persistence = new Persistence(this, adapter);
      const count = await persistence.load();
      this._persistence = persistence;
      if (count !== null) this._milestone('storage:loaded', { count });
    });
  }

  /**
   * Resolves once every change so far is committed: to the SQLite store
   * (rejects with ERR_STORAGE when a write failed), or saved through the
   * adapter of useStorage. Resolves at once without storage.
   */
  flush() {
    if (this._closed) return Promise.reject(closedError('flush'));
    if (this._sqlite) return this._sqlite.flush();
    if (this._persistence) return this._persistence.flush();
    return Promise.resolve();
  }

  /**
   * The history of attempts kept by the SQLite store, newest first:
   * `[{ unitId, attempt, startedAt, endedAt, durationMs, outcome, error?, task? }]`.
   */
  history(query) {
    return asPromise(() => {
      this._open('history');
      const q = parseHistoryQuery(query);
      if (!this._sqlite) throw noStoreError();
      return this._sqlite.history(q);
    });
  }

  // ---------------------------------------------------------------------
  // Worker pools
  // ---------------------------------------------------------------------

  /**
   * The worker pool called `options.name` (default 'default') with `size`
   * workers (ids `pool-worker-1…N`, registered as units). Asking again for
   * a pool by the same name returns it, resized to `size`. The manager's
   * start() and stop() start and stop its pools.
   */
  useWorkerPool(size = DEFAULTS.poolSize, options = {}) {
    this._open('useWorkerPool');
    checkSize('useWorkerPool', size);
    if (!v.isObject(options)) throw v.fail('useWorkerPool', 'options', 'an object', options);
    v.checkKnownKeys('useWorkerPool', 'options', options, ['name'], 'refuse');
    const name = options.name === undefined ? DEFAULTS.poolName : options.name;
    v.checkName('useWorkerPool', 'options.name', name);
    let pool = this._pools.get(name);
    if (!pool) {
      pool = new WorkerPool(this, name);
      this._pools.set(name, pool);
      // Tasks stored by an earlier process come back before any worker exists.
      if (this._sqlite) this._sqlite.restorePool(pool);
    }
    pool.resize(size);
    return pool;
  }

  /** A `task` event for a pool task's status change; a failed or dropped task's event carries its error. */
  _taskEvent(pool, task, error) {
    if (this._wantsTasks()) {
      const event = { type: 'task', pool: pool.name, name: task.name, status: task.status, task };
      if (error !== undefined) event.error = error;
      this._deliver('task', event, false);
    }
  }

  /**
   * A named task failed (or was dropped by stop) while nothing listens to
   * `task` events: printed once, as Node prints an unhandled rejection.
   */
  _unobservedTaskFailure(pool, task, error) {
    if (this._warnedTaskFailure) return;
    this._warnedTaskFailure = true;
    console.error(
      `[synchronik] pool task "${task.name}" (pool "${pool.name}") ${task.status === 'error' ? 'failed' : 'was dropped'} and nothing listens to "task" events (further ones are not printed; listen to "task" events to see them all):`,
      error,
    );
  }

  /** A stop() without a time limit still waits for runs in flight: said once, as a process warning. */
  _warnStopWaiting() {
    const running = [];
    for (const unit of this._units) {
      if (unit !== undefined && this._field(unit, 'status') === 'running') running.push(`"${unit.id}"`);
    }
    process.emitWarning(
      `stop() has waited ${STOP_WARNING_MS / 1000} s for the runs in flight${running.length > 0 ? ` (${running.slice(0, 10).join(', ')}${running.length > 10 ? ', …' : ''})` : ''} and waits until they settle. A run that awaits stop() after another await waits for itself; stop({ timeoutMs }) aborts what is left at the limit.`,
      { code: 'SYNCHRONIK_STOP_WAITING' },
    );
  }

  /** Throws ERR_CLOSED once close() was called. */
  _open(method) {
    if (this._closed) throw closedError(method);
  }

  /**
   * Whether anybody listens to `task` events. They go to `on('task')`
   * listeners only: subscribeToEvents delivers the unit events (each with a
   * unitId) that synchronik 2.3 programs subscribe to.
   */
  _wantsTasks() {
    return this.listenerCount('task') > 0;
  }

  // ---------------------------------------------------------------------
  // Other
  // ---------------------------------------------------------------------

  /**
   * What `console.log(manager)` shows: counts and settings, not the
   * bridge's buffers and tables.
   */
  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[SynchronikManager]', 'special');
    const [units, running] = this._native.counts();
    const view = {
      units,
      running,
      started: this._started,
      clock: this.clock ? 'manual' : 'system',
      pools: [...this._pools.keys()],
    };
    if (this._sqlite) view.storage = this._sqlite.path;
    return `SynchronikManager ${inspect(view, { ...options, depth: options.depth === null ? null : options.depth - 1 })}`;
  }

  /** Memory and CPU of this process, and the engine's counts. */
  getEngineStats() {
    const mem = process.memoryUsage();
    const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
    // Date.now and process.cpuUsage are looked up at call time, so fake
    // timers and spies in users' tests reach them.
    const now = Date.now();
    const cpu = process.cpuUsage();
    let cpuPercent = 0;
    if (this._lastCpu) {
      const elapsedMs = now - this._lastCpuAt;
      const usedUs = cpu.user - this._lastCpu.user + (cpu.system - this._lastCpu.system);
      cpuPercent = elapsedMs > 0 ? (usedUs / (elapsedMs * 1000)) * 100 : 0;
    }
    this._lastCpu = cpu;
    this._lastCpuAt = now;
    const [units, running, dispatched, queued] = this._native.counts();
    // The largest lag seen since the previous call (0 while not started).
    let eventLoopLagMs = 0;
    if (this._lag !== null) {
      sampleLag(this._lag);
      eventLoopLagMs = Math.round(this._lag.max * 100) / 100;
      this._lag.max = 0;
    }
    const stats = {
      memory: { rss: mb(mem.rss), heapTotal: mb(mem.heapTotal), heapUsed: mb(mem.heapUsed), external: mb(mem.external) },
      cpu: `${cpuPercent.toFixed(2)}%`,
      engine: { units, running, queued, dispatched, eventLoopLagMs },
      memoryBytes: { rss: mem.rss, heapTotal: mem.heapTotal, heapUsed: mem.heapUsed, external: mem.external },
      cpuPercent,
    };
    if (this._sqlite) stats.storage = this._sqlite.stats();
    return stats;
  }
}

/** The forms of an ISO 8601 date that `Date.parse` reads: `2024-03-01`, `2024-03-01T12:00:00.000Z`, … */
const ISO_DATE = /^(?:[+-]\d{6}|\d{4})(?:-\d{2}(?:-\d{2})?)?(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Validates `options.clock`: `'system'` (default), `'manual'`, or
 * `{ manual: true, now?: Date | ISO string | epoch ms }` for a manual clock
 * that starts at a given instant. Returns `{ manual, startMs }`.
 */
function parseClockOption(clock) {
  const method = 'createSynchronikManager';
  if (clock === undefined || clock === 'system') return { manual: false, startMs: undefined };
  if (clock === 'manual') return { manual: true, startMs: undefined };
  if (!v.isObject(clock)) {
    throw v.fail(method, 'options.clock', "one of 'system', 'manual' or an object { manual: true, now? }", clock);
  }
  v.refuseUnknownKeys(method, 'options.clock', clock, ['manual', 'now']);
  if (clock.manual !== true) {
    throw v.fail(method, 'options.clock.manual', 'true (only the manual clock can start at a given instant)', clock.manual);
  }
  if (clock.now === undefined) return { manual: true, startMs: undefined };
  const now = clock.now;
  let ms = NaN;
  let got;
  if (now instanceof Date) {
    ms = now.getTime();
    got = 'an invalid Date';
  } else if (typeof now === 'string') {
    if (ISO_DATE.test(now)) ms = Date.parse(now);
    got = describe(now, true);
  } else if (typeof now === 'number') {
    // The range of a Date: ±8.64e15 ms around the epoch.
    ms = new Date(now).getTime();
    got = describe(now, true);
  } else {
    got = describe(now);
  }
  if (Number.isNaN(ms)) {
    throw new TypeError(`${method}: options.clock.now must be a Date, an ISO date string or epoch milliseconds (got ${got})`);
  }
  return { manual: true, startMs: ms };
}

/** Validates the options of stop() and close(); returns `timeoutMs`. */
function stopTimeout(method, options) {
  if (options !== undefined && !v.isObject(options)) throw v.fail(method, 'options', 'an object', options);
  const timeoutMs = options ? options.timeoutMs : undefined;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0 && !Number.isNaN(timeoutMs))) {
    throw v.fail(method, 'options.timeoutMs', 'a non-negative number of milliseconds', timeoutMs);
  }
  return timeoutMs;
}

/**
 * The manual clock of a manager created with `clock: 'manual'` (or
 * `clock: { manual: true, now }`): time moves
 * only through `advance` and `runUntilIdle`, and every engine timer reads it.
 */
class ManualClock {
  constructor(manager, startMs) {
    this._m = manager;
    /** The instant the clock started at (epoch ms), 0 when none was given. */
    this._start = startMs === undefined ? 0 : startMs;
  }

  [util.inspect.custom](depth, options) {
    return `ManualClock { now: ${options.stylize(String(this.now()), 'number')} }`;
  }

  /**
   * The clock's time in ms: 0 when the manager was created, or the instant
   * given as `clock.now` (epoch ms), plus the time advanced since.
   */
  now() {
    return this._start + this._m._native.now();
  }

  /**
   * Lets whatever JavaScript can settle without time passing settle: turns
   * of the event loop until a turn reports no outcome to the engine.
   */
  async _settle() {
    const m = this._m;
    for (let i = 0; i < 1000; i++) {
      const before = m._progressCount;
      await nextTurn();
      if (m._progressCount === before && !m._flushQueued) return;
    }
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in time
   * order; resolves once the runs they started have settled (as far as they
   * settle without real time passing).
   */
  async advance(ms) {
    this._m._open('clock.advance');
    if (!(typeof ms === 'number' && ms >= 0 && Number.isFinite(ms))) {
      throw v.fail('clock.advance', 'ms', 'a non-negative finite number of milliseconds', ms);
    }
    const m = this._m;
    // The target is kept by the engine, in nanoseconds: exact however far
    // the clock is (now + ms as a JavaScript number is not, past 2^53 ms).
    const advance = m._native.beginAdvance(ms);
    if (advance < 0) {
      throw v.fail('clock.advance', 'ms', `a number of milliseconds that keeps the clock at or below ${CLOCK_LIMIT_MS} ms (it is at ${this.now()} ms)`, ms);
    }
    try {
      await this._settle();
      while (engineFireNext(m._h, advance)) {
        m._sync();
        await this._settle();
      }
    } finally {
      m._native.finishAdvance(advance);
    }
    m._sync();
    await this._settle();
  }

  /**
   * Fires timers in time order until no run is in flight and only the
   * recurring timers of a started manager (intervals, sweeps, watcher scans)
   * are left; resolves when everything has settled.
   */
  async runUntilIdle() {
    const m = this._m;
    m._open('clock.runUntilIdle');
    await this._settle();
    // Bounded, as before, for runs that keep arming new deadlines for ever.
    for (let guard = 0; guard < 1e6 && engineFireNextOneShot(m._h); guard++) {
      m._sync();
      await this._settle();
    }
    m._sync();
    await this._settle();
  }
}

/**
 * One sample of the event-loop lag: how much longer than one period the
 * time since the previous sample was. Taken by the sampler's interval, and
 * by getEngineStats (so that a block that just ended counts, and counts once).
 */
function sampleLag(lag) {
  const now = realPerformance.now();
  const late = now - lag.last - LAG_SAMPLE_MS;
  if (late > lag.max) lag.max = late;
  lag.last = now;
}

/**
 * Aborts an attempt's signal. The AbortController is made only when the run
 * asked for its signal (they are costly); a reason that comes first is kept
 * for when it does.
 */
function abortCall(call, reason) {
  if (call.controller) call.controller.abort(reason);
  else if (call.abortReason === undefined) call.abortReason = reason;
}

/** What `run(ctx)` gets. */
class RunContext {
  #manager;
  #callId;
  #call;
  #pool;

  constructor(manager, callId, call, unitId, attempt, pool) {
    this.#manager = manager;
    this.#callId = callId;
    this.#call = call;
    this.#pool = pool;
    /** The id of the unit being run. */
    this.unitId = unitId;
    /** 1-based attempt number. */
    this.attempt = attempt;
  }

  /** Aborted on timeout, release, or when stop() gives up on the run. */
  get signal() {
    const call = this.#call;
    if (!call.controller) {
      call.controller = new AbortController();
      if (call.abortReason !== undefined) call.controller.abort(call.abortReason);
    }
    return call.controller.signal;
  }

  /** Emits a milestone (see manager.emitMilestone). */
  emitMilestone(milestoneId, payload) {
    this.#manager.emitMilestone(milestoneId, payload);
    if (this.#pool) this.#pool._lastMilestone.set(this.unitId, milestoneId);
  }

  /** Reports progress: a sign of life for the watcher's stall detection. */
  progress(fraction, message) {
    const m = this.#manager;
    this.#call.progress = { fraction, message };
    if (m._calls.get(this.#callId) === this.#call) engineProgress(m._h, this.#callId);
  }
}

/**
 * The engine's wake-up for a manager. Made outside the constructor on
 * purpose: a closure made there would share the constructor's scope, which
 * holds the manager (other closures there use `this`), and the engine's
 * threadsafe function would then keep every manager alive.
 */
function wakeUpOf(ref) {
  return () => {
    const m = ref.deref();
    if (m) m._pump();
  };
}

/** A pending run request: how to settle its promise. */
class Ticket {
  constructor(settleOnly) {
    this.resolve = undefined;
    this.reject = undefined;
    /** Resolve even when the run failed. */
    this.settleOnly = settleOnly;
  }
}

/**
 * The ticket whose promise is being made: the Promise constructor calls its
 * executor synchronously, so one shared executor (instead of a closure per
 * run) can hand the promise's functions over.
 */
let ticketBeingMade;
function takeTicketResolvers(resolve, reject) {
  ticketBeingMade.resolve = resolve;
  ticketBeingMade.reject = reject;
}

/** Creates a manager. Creating one starts no timer. */
function createSynchronikManager(options) {
  return new SynchronikManager(options);
}

module.exports = { createSynchronikManager, SynchronikManager, describe };
