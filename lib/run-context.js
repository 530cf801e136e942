// @ts-check
'use strict';

// Runs as JavaScript sees them: the attempts in flight (started on the
// engine's RUN records, settled by the user's `run` and reported back to the
// engine in one batch per microtask), the context a `run` gets (its signal,
// progress and milestones), and the tickets of run requests (the promises
// that runWorkerById and friends return, settled by DONE records).

// Not the globals, which fake timers may replace.
const timers = require('node:timers');
const { engineProgress } = require('./native.js');
const errors = require('./errors');

const { SynchronikError, abortReason, toError, messageOf } = errors;
/** @type {string[]} error codes by the number the engine sends */
const ENGINE_CODES = errors.ENGINE_CODES;
const { IdTable } = require('./id-table');
const { keepShape } = require('./shapes');
const { poolInternals } = require('./pool');

// One constant each, typed as the symbol it is (a destructured symbol is typed only `symbol`).
/** @type {typeof poolInternals.kCallee} */
const kCallee = poolInternals.kCallee;
/** @type {typeof poolInternals.kNoteMilestone} */
const kNoteMilestone = poolInternals.kNoteMilestone;

/**
 * @typedef {import('./bridge').Bridge} Bridge
 * @typedef {import('./units').Units} Units
 * @typedef {import('./units').Unit} Unit
 * @typedef {import('./events').Events} Events
 * @typedef {import('./pools').Pools} Pools
 * @typedef {import('./pool').WorkerPool} WorkerPool
 */

/** Numbers (half as many outcomes) a buffer of settled attempts starts with. */
const OUTCOMES_FIRST = 64;
/** A buffer of settled attempts grown past this many numbers by a burst is not kept. */
const OUTCOMES_KEPT = 8192;
/** How many more reports make a new buffer however small the one reported was (see Attempts.#report). */
let reportPrimes = 64;
/** How many more settles of a batch whose report is queued pass `nothing` to `soon` (see Attempts.settle). */
let flushPrimes = 64;
const nothing = () => {};

/**
 * `buffer`, or a new buffer of settled attempts when it is null: the one
 * place both are made in a report (see Attempts.#report).
 * @param {Float64Array | null} buffer
 */
function orNewOutcomes(buffer) {
  return buffer !== null ? buffer : new Float64Array(OUTCOMES_FIRST);
}

/** Outcomes at most whose report waits while the engine fires a large due set (see Attempts.flush). */
const DEFERRED_MAX = 65536;
/** After this many ms, outcomes whose report waited are reported however the engine is doing. */
const DEFERRED_MS = 50;

/** Calls `fn` in a microtask: a native promise job, which fake timers cannot hold back (queueMicrotask they can). */
const resolved = Promise.resolve();
/** @param {() => void} fn */
const soon = (fn) => void resolved.then(fn);

// What Attempts reads and writes of an attempt (set by RunContext's static block).
/** @type {(ctx: RunContext) => number} */
let slotOf;
/** @type {(ctx: RunContext) => boolean} */
let hasConditions;
/** @type {(ctx: RunContext) => unknown} */
let resultOf;
/** @type {(ctx: RunContext, value: unknown) => void} */
let settleWith;
/** @type {(ctx: RunContext, reason: unknown) => void} */
let abortCall;

/**
 * What `run(ctx)` gets, which is also the attempt in flight as the facade
 * keeps it (one object a run, not two): its unit's slot, whether
 * dependents put conditions on its result, and the result or error it
 * settled with, in private fields that Attempts reads through the
 * functions below. The AbortController is made only when the run asks for
 * its signal (they are costly); a reason that comes first is kept for when
 * it does.
 */
class RunContext {
  #attempts;
  #callId;
  #pool;
  #slot;
  #conditions;
  /** @type {AbortController | null} */
  #controller;
  /** @type {unknown} */
  #abortReason;
  /** @type {unknown} the result, or the error */
  #value;

  /**
   * @param {Attempts} attempts
   * @param {number} callId
   * @param {number} slot
   * @param {boolean} conditions whether dependents put conditions on its result
   * @param {string} unitId
   * @param {number} attempt
   * @param {WorkerPool | undefined} pool
   */
  constructor(attempts, callId, slot, conditions, unitId, attempt, pool) {
    this.#attempts = attempts;
    this.#callId = callId;
    this.#pool = pool;
    this.#slot = slot;
    this.#conditions = conditions;
    this.#controller = null;
    this.#abortReason = undefined;
    this.#value = undefined;
    /** The id of the unit being run. */
    this.unitId = unitId;
    /** 1-based attempt number. */
    this.attempt = attempt;
  }

  /** Aborted on timeout, release, or when stop() gives up on the run. */
  get signal() {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /**
   * Emits a milestone (see manager.emitMilestone).
   * @param {string} milestoneId
   * @param {unknown} [payload]
   */
  emitMilestone(milestoneId, payload) {
    this.#attempts.emitMilestone(milestoneId, payload);
    if (this.#pool) /** @type {any} */ (this.#pool)[kNoteMilestone](this.unitId, milestoneId);
  }

  /**
   * Reports progress: a sign of life for the watcher's stall detection.
   * @param {number} [fraction]
   * @param {string} [message]
   */
  progress(fraction, message) {
    this.#attempts.progress(this.#callId, this);
  }

  static {
    slotOf = (ctx) => ctx.#slot;
    hasConditions = (ctx) => ctx.#conditions;
    resultOf = (ctx) => ctx.#value;
    settleWith = (ctx, value) => {
      ctx.#value = value;
    };
    abortCall = (ctx, reason) => {
      if (ctx.#controller !== null) ctx.#controller.abort(reason);
      else if (ctx.#abortReason === undefined) ctx.#abortReason = reason;
    };
  }
}

keepShape(() => new RunContext(/** @type {any} */ (null), 0, 0, false, '', 1, undefined));

/** The attempts in flight, from the RUN record that starts one to the report of its outcome. */
class Attempts {
  /** @type {IdTable<RunContext>} attempts in flight by call id */
  #calls = new IdTable();
  /**
   * Settled attempts not yet reported: `#outcomeCount` numbers, pairs
   * [call, ok]. A typed array (the call numbers come from the drain's
   * buffer as doubles, which would turn an array of them into one of boxed
   * or double elements, grown anew for every batch), kept between batches
   * with a second one: a flush reports one while runs settle into the other.
   * @type {Float64Array}
   */
  #outcomes = new Float64Array(OUTCOMES_FIRST);
  #outcomeCount = 0;
  /** @type {Float64Array | null} the other buffer, when no flush is using it */
  #spare = new Float64Array(OUTCOMES_FIRST);
  /** @type {string[]} the failure messages of those */
  #messages = [];
  #flushQueued = false;
  /** How many batches of outcomes were reported (the manual clock waits until none come). */
  #progressCount = 0;
  #bridge;
  #units;
  #events;
  #pools;
  #emitMilestone;
  #flush;
  /** @type {ReturnType<typeof timers.setTimeout> | null} the timer that reports put-off outcomes in any case (see flush) */
  #fallback = null;
  #reportLate;

  /**
   * @param {{ bridge: Bridge, units: Units, events: Events, pools: Pools, emitMilestone: (id: string, payload: unknown) => void }} parts
   */
  constructor({ bridge, units, events, pools, emitMilestone }) {
    this.#bridge = bridge;
    this.#units = units;
    this.#events = events;
    this.#pools = pools;
    this.#emitMilestone = emitMilestone;
    this.#flush = () => this.flush();
    this.#reportLate = () => {
      this.#fallback = null;
      if (this.#outcomeCount > 0) this.#report();
    };
  }

  /** How many attempts are in flight. */
  get size() {
    return this.#calls.size;
  }

  /** Whether settled outcomes wait for their microtask to be reported. */
  get flushQueued() {
    return this.#flushQueued;
  }

  get progressCount() {
    return this.#progressCount;
  }

  /**
   * A RUN record: calls the unit's `run` (or, for a pool task, the task's
   * function with its payload).
   * @param {number} callId
   * @param {number} slot
   * @param {number} attempt
   * @param {number} flags 1: retryable, 2: report conditions
   * @param {number} task the pool task, -1 when none
   */
  start(callId, slot, attempt, flags, task) {
    const unit = this.#units.at(slot);
    let fn;
    let args;
    let pool;
    let key;
    if (task >= 0) {
      // A pool task: the worker executes the task's function with its payload.
      const batch = this.#pools.startBare(task, unit, slot);
      if (batch !== undefined) {
        // A pool.run task without an entry (see Pools.startBare).
        const at = batch.at(task);
        pool = batch.pool;
        fn = /** @type {import('./pool').TaskFunction} */ (batch.items[at]);
        args = batch.items[at + 2];
      } else {
        const entry = this.#pools.task(task);
        if (entry) {
          pool = entry.pool;
          fn = pool[kCallee](entry, unit);
          args = entry.task !== null ? entry.task.payload : entry.payload;
          if (entry.durable) key = /** @type {import('./pool').PoolTask} */ (entry.task).idempotencyKey;
        }
      }
    }
    const retryable = (flags & 1) !== 0;
    const ctx = new RunContext(this, callId, slot, (flags & 2) !== 0, unit ? unit.id : '', attempt, pool);
    this.#calls.set(callId, ctx);
    if (!unit) {
      this.settle(callId, false, new SynchronikError('unit is gone', 'ERR_RELEASED'));
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
        this.#events.reportListenerError(e, { type: 'retryDelayMs', unitId: unit.id });
      }
      if (delay !== -1) this.#bridge.native.reportRetryDelay(callId, Number.isFinite(delay) && delay > 0 ? delay : 0);
    }
    // A durable task's key: the same on every attempt, across restarts.
    if (key !== undefined) /** @type {RunContext & { idempotencyKey?: string }} */ (ctx).idempotencyKey = key;
    let returned;
    const bridge = this.#bridge;
    bridge.enter(callId, slot);
    try {
      if (task < 0) fn = unit.threadPool !== undefined ? (/** @type {RunContext} */ c) => onThreadPool(bridge, unit, c) : unit.run;
      if (typeof fn !== 'function') throw new SynchronikError(`nothing to run for "${unit.id}"`, 'ERR_RUN_FAILED', { unitId: unit.id });
      returned = task >= 0 ? fn(args, ctx) : fn.call(unit, ctx);
    } catch (e) {
      this.settle(callId, false, e);
      return;
    } finally {
      bridge.leave();
    }
    if (returned === null || (typeof returned !== 'object' && typeof returned !== 'function')) {
      this.settle(callId, true, returned);
      return;
    }
    // Reading `then` runs the user's getter, and Promise.resolve reads a
    // promise's `constructor`: either may throw, which fails the attempt.
    let settled;
    try {
      settled = typeof returned.then === 'function' ? Promise.resolve(returned) : undefined;
    } catch (e) {
      this.settle(callId, false, e);
      return;
    }
    if (settled === undefined) this.settle(callId, true, returned);
    else {
      settled.then(
        (value) => this.settle(callId, true, value),
        (error) => this.settle(callId, false, error),
      );
    }
  }

  /**
   * Records a settled attempt; reported to the engine in one batch per microtask.
   * @param {number} callId
   * @param {boolean} ok
   * @param {unknown} value
   */
  settle(callId, ok, value) {
    const call = this.#calls.get(callId);
    if (!call) return; // timed out, stopped or released: it no longer counts
    const unit = this.#units.at(slotOf(call));
    if (ok && hasConditions(call) && unit) this.#reportConditions(callId, unit, value);
    const outcome = ok ? value : toError(value, unit ? unit.id : '?');
    settleWith(call, outcome);
    let outcomes = this.#outcomes;
    const n = this.#outcomeCount;
    if (n + 2 > outcomes.length) {
      const grown = new Float64Array(outcomes.length * 2);
      grown.set(outcomes);
      this.#outcomes = outcomes = grown;
    }
    outcomes[n] = callId;
    outcomes[n + 1] = ok ? 1 : 0;
    this.#outcomeCount = n + 2;
    if (!ok) this.#messages.push(messageOf(outcome));
    // The first settle of a batch queues its report. In a burst that is
    // once a burst: optimized code that never met it (a warm-up's one
    // burst queued its report before V8 recorded anything) would throw
    // itself away at the next burst's first settle. The process's first
    // settles of a batch already queued pass a function that does nothing
    // through the same call.
    const first = !this.#flushQueued;
    if (first || flushPrimes > 0) {
      if (!first) flushPrimes--;
      const flush = this.#flush;
      this.#flushQueued = true;
      soon(first ? flush : nothing);
    }
  }

  /**
   * Reports the settled attempts to the engine and carries out what it
   * answers. While the engine's timer thread fires a large set of timers
   * due at once in parts, the report waits (up to DEFERRED_MAX outcomes):
   * it needs the engine's lock, which the next part waits for, so the runs
   * still to start would start later by the length of the report. The
   * drain after the set's last part reports them (Bridge.pump), and a
   * timer makes sure they are reported even if no drain comes.
   */
  flush() {
    this.#flushQueued = false;
    if (this.#bridge.bursting && this.#outcomeCount < DEFERRED_MAX * 2) {
      if (this.#fallback === null) this.#fallback = timers.setTimeout(this.#reportLate, DEFERRED_MS).unref();
      return;
    }
    this.#report();
  }

  #report() {
    this.#progressCount++;
    const outcomes = this.#outcomes;
    const count = this.#outcomeCount;
    const messages = this.#messages;
    this.#outcomes = orNewOutcomes(this.#spare);
    this.#spare = null;
    this.#outcomeCount = 0;
    this.#messages = [];
    const bridge = this.#bridge;
    bridge.completeAndPump(outcomes, count, messages);
    // The records that referred to these calls' values have been carried out.
    for (let k = 0; k < count; k += 2) this.#calls.delete(outcomes[k]);
    // Kept for the next batch, unless a burst made it large. The process's
    // first reports make a new one in any case, so that making one has run
    // before V8 optimizes this function: optimized code throws itself away
    // at an operation it never met (here, the first burst larger than
    // OUTCOMES_KEPT, in the middle of it; see Bridge.apply), and the first
    // calls of a function are not recorded.
    let kept = outcomes.length <= OUTCOMES_KEPT;
    if (reportPrimes > 0) {
      reportPrimes--;
      kept = false;
    }
    this.#spare = orNewOutcomes(kept ? outcomes : null);
    bridge.updateKeepAlive();
  }

  /** Reports settled attempts whose report waited for a burst of fires to end (see flush). */
  reportDeferred() {
    if (this.#outcomeCount > 0 && !this.#flushQueued) {
      this.#flushQueued = true;
      soon(this.#flush);
    }
  }

  /**
   * An ABORT record: the attempt no longer counts, and its signal is aborted.
   * @param {number} callId
   * @param {number} reason see errors.js ABORT_CODES
   */
  abort(callId, reason) {
    const call = this.#calls.get(callId);
    if (!call) return;
    this.#calls.delete(callId);
    const unit = this.#units.at(slotOf(call));
    abortCall(call, abortReason(reason, unit ? unit.id : '?'));
  }

  /**
   * What attempt `callId` settled with (its result, or its error).
   * @param {number} callId
   */
  valueOf(callId) {
    const call = this.#calls.get(callId);
    return call ? resultOf(call) : undefined;
  }

  /**
   * The error object of a failure record: the user's value for a call, else an engine error.
   * @param {number} reference a call id (> 0) or minus an engine error code
   * @param {string | undefined} message
   * @param {{ id?: string }} unit
   * @param {Unit} [culprit] the unit whose failure this one follows from
   */
  failure(reference, message, unit, culprit) {
    if (reference > 0) {
      const call = this.#calls.get(reference);
      if (call) return resultOf(call);
      return new SynchronikError(/** @type {string} */ (message), 'ERR_RUN_FAILED', { unitId: unit.id });
    }
    const code = ENGINE_CODES[-reference] || 'ERR_RUN_FAILED';
    const cause = culprit ? this.#units.field(culprit, 'error') : undefined;
    return new SynchronikError(/** @type {string} */ (message), code, {
      unitId: culprit ? culprit.id : unit.id,
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  /**
   * RunContext.progress: a sign of life (what it reports is not kept).
   * @param {number} callId
   * @param {RunContext} ctx
   */
  progress(callId, ctx) {
    if (this.#calls.get(callId) === ctx) engineProgress(this.#bridge.handle, callId);
  }

  /**
   * RunContext.emitMilestone.
   * @param {string} milestoneId
   * @param {unknown} payload
   */
  emitMilestone(milestoneId, payload) {
    this.#emitMilestone(milestoneId, payload);
  }

  /**
   * Evaluates the conditions that dependents in the unit's process put on
   * its result, and reports them before the outcome (the engine decides
   * what runs). A condition that throws counts as false.
   * @param {number} callId
   * @param {Unit} unit
   * @param {unknown} result
   */
  #reportConditions(callId, unit, result) {
    const units = this.#units;
    const process = unit.processId !== undefined ? units.byId(unit.processId, 'process') : undefined;
    if (!process) return;
    const results = [];
    // The process's workers and their dependsOn entries are the user's
    // objects: every read of them is inside try/catch, and a condition that
    // cannot be read or evaluated counts as false.
    let workers;
    try {
      workers = Array.from(process.workers);
    } catch (e) {
      this.#events.reportListenerError(e, { type: 'condition', unitId: process.id, dependency: unit.id });
      return;
    }
    for (const worker of workers) {
      let slot = -1;
      try {
        const dependsOn = worker.dependsOn;
        if (!Array.isArray(dependsOn)) continue;
        slot = units.slot(worker.id);
        for (const d of dependsOn) {
          if (typeof d !== 'object' || d === null || d.id !== unit.id) continue;
          const condition = d.condition;
          if (typeof condition !== 'function') continue;
          if (slot >= 0) results.push(slot, this.#condition(condition, d, result, worker, unit) ? 1 : 0);
        }
      } catch (e) {
        this.#events.reportListenerError(e, { type: 'condition', unitId: slot >= 0 ? /** @type {Unit} */ (units.at(slot)).id : '?', dependency: unit.id });
        if (slot >= 0) results.push(slot, 0);
      }
    }
    if (results.length > 0) this.#bridge.native.reportConditions(callId, Float64Array.from(results));
  }

  /**
   * Whether a condition holds for `result`; one that throws (or returns what cannot be read) counts as false.
   * @param {Function} condition
   * @param {object} entry
   * @param {unknown} result
   * @param {Unit} dependent
   * @param {Unit} unit
   */
  #condition(condition, entry, result, dependent, unit) {
    try {
      return Boolean(condition.call(entry, result));
    } catch (e) {
      this.#events.reportListenerError(e, { type: 'condition', unitId: dependent.id, dependency: unit.id });
      return false;
    }
  }
}

/**
 * The function that resolves the promise being made: the Promise
 * constructor calls its executor synchronously, so one shared executor
 * (instead of a closure per request) can hand it over.
 * @type {((value?: any) => void) | undefined}
 */
let resolveBeingMade;
/** @param {(value?: any) => void} resolve */
function takeResolve(resolve) {
  resolveBeingMade = resolve;
}

/**
 * Pending run requests by the engine's ticket number; DONE records settle
 * them. Only the function that resolves a request's promise is kept (a
 * failure resolves it with a rejected promise): the promise's reject
 * function, or an object per request for the two, would be held by every
 * run in flight.
 */
class Tickets {
  /** @type {IdTable<(value?: any) => void>} */
  #table = new IdTable();
  /** @type {Set<number>} the pending requests whose promise a failed run rejects (the others resolve whatever the outcome) */
  #rejecting = new Set();

  get size() {
    return this.#table.size;
  }

  /**
   * The promise that the DONE record of `ticket` settles. With `settleOnly`
   * it resolves whatever the run's outcome (runWorkerById's contract).
   * @param {number} ticket
   * @returns {Promise<void>}
   */
  await(ticket, settleOnly = false) {
    const promise = new Promise(takeResolve);
    this.#table.set(ticket, /** @type {(value?: any) => void} */ (resolveBeingMade));
    resolveBeingMade = undefined;
    if (!settleOnly) this.#rejecting.add(ticket);
    return promise;
  }

  /**
   * Whether a failed run rejects the promise of the pending request `ticket`.
   * @param {number} ticket
   */
  rejectsOnFailure(ticket) {
    return this.#rejecting.size > 0 && this.#rejecting.has(ticket);
  }

  /**
   * Takes the pending request `ticket` (a DONE record settles it): the
   * function that resolves its promise.
   * @param {number} ticket
   */
  take(ticket) {
    const resolve = this.#table.get(ticket);
    if (resolve !== undefined) this.#table.delete(ticket);
    if (this.#rejecting.size > 0) this.#rejecting.delete(ticket);
    return resolve;
  }
}

/**
 * The `run` of a unit that runs on a thread pool: its handler with its
 * payload, on the pool of that name; the attempt's signal (a timeout, a
 * stop) aborts the task, which ends the thread that runs it.
 * @param {Bridge} bridge
 * @param {any} unit
 * @param {RunContext} ctx
 */
function onThreadPool(bridge, unit, ctx) {
  const pool = bridge.threads === null ? undefined : bridge.threads.byName(unit.threadPool);
  if (pool === undefined) {
    throw new SynchronikError(`unit "${unit.id}" runs on thread pool "${unit.threadPool}", and the manager has no open thread pool of that name`, 'ERR_RUN_FAILED', { unitId: unit.id });
  }
  return pool.run(unit.payload, { handler: unit.handler === undefined ? 'default' : unit.handler, signal: ctx.signal });
}

module.exports = { RunContext, Attempts, Tickets };
