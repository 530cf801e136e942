// @ts-check
'use strict';

// The bridge to the native engine (the hot path; see the README's "How it
// works"): the NativeEngine, the buffers it writes records into and reads
// settled outcomes from (allocated once), draining and carrying out its
// records in order, the shared liveness cell the watcher reads, and the
// handles that keep Node alive (and let the engine's thread wake
// JavaScript) exactly while that may be needed.
//
// Every decision about when and whether something runs is the engine's;
// the records only say what to do, and each is carried out by the module
// that owns what it is about (units, events, attempts, tickets, pools).

const timers = require('node:timers');
// Not the global, which fake timers may replace.
const { performance } = require('node:perf_hooks');
const { NativeEngine, engineDrain, engineStrings, engineComplete, engineRun } = require('./native.js');
const ops = require('./ops');
const errors = require('./errors');

const { SynchronikError, isError } = errors;
/** @type {string[]} error codes by the number the engine sends */
const ENGINE_CODES = errors.ENGINE_CODES;

const { STRIDE, STATUSES, RUN_MODES, PHASES, REASONS, SKIP_REASONS } = ops;
/** The status of a unit whose run started (BEGIN). */
const RUNNING = 'running';
/** The status of a unit whose run completed (END). */
const COMPLETED = 'completed';
/** The reason END's status change gives (the engine's UpdateReason::StatusChange, number 0). */
const STATUS_CHANGE = REASONS[0];

/** Capacity of the buffer that drains write records into, in numbers (1024 records). */
const OUT_CAPACITY = 1024 * STRIDE;
/** Capacity of the buffer of settled outcomes, in numbers (4096 outcomes). */
const INBOX_CAPACITY = 4096 * 2;
/** A record of no kind (opcode 0), which applyOther passes over (see apply). */
const NO_RECORD = new Float64Array(STRIDE);
/** How many more drains hand apply NO_RECORD (see apply). */
let primes = 64;
/** The liveness cell's heartbeat (see #liveness and lag.js). */
const HEARTBEAT = 2;
/** The liveness cell's place where the engine says whether records wait (1) or not (0). */
const WAITING = 5;

/**
 * @typedef {import('./units').Units} Units
 * @typedef {import('./units').Unit} Unit
 * @typedef {import('./events').Events} Events
 * @typedef {import('./run-context').Attempts} Attempts
 * @typedef {import('./run-context').Tickets} Tickets
 * @typedef {import('./pools').Pools} Pools
 * @typedef {{ changed(): void }} ChangeListener what hears that unit state changed (useStorage's persistence)
 * @typedef {{ units: Units, events: Events, attempts: Attempts, tickets: Tickets, pools: Pools, engineStats: () => object }} Parts
 * @typedef {Omit<import('./native').JsEngineOptions, 'liveness' | 'out' | 'inbox'>} EngineOptions
 */

class Bridge {
  #native;
  /** The engine's handle for the hot-path functions (engineDrain, engineRun, …). */
  #h;
  // Records drained from the engine, carried out in order from #cur to
  // #end (see pump); strings they name by number, until used.
  #out = new Float64Array(OUT_CAPACITY);
  #inbox = new Float64Array(INBOX_CAPACITY);
  #cur = 0;
  #end = 0;
  /** @type {Map<number, string>} */
  #strs = new Map();
  /**
   * The liveness cell the engine's threads read: [call, slot] of the `run`
   * executing synchronously right now (written by enter and leave), then
   * the lag sampler's heartbeat (performance.now() of perf_hooks, 0 when
   * no sampler runs), total blocked ms and last lag in ms (see lag.js). The
   * watcher reads the first two to see a blocked event loop; the web
   * dashboard reads those five. Both sides use monotonic clocks: while the
   * engine is made the heartbeat's place holds performance.now(), which the
   * engine pairs with its own monotonic clock to tell JavaScript's time
   * (a wall-clock step, NTP or a suspend, changes nothing). The sixth is
   * the engine's: whether records wait to be drained (see pump).
   */
  #liveness = new Float64Array(new SharedArrayBuffer(6 * Float64Array.BYTES_PER_ELEMENT));
  /** @type {ReturnType<typeof timers.setInterval> | null} the ref'd handle held while work is in flight */
  #keepAlive = null;
  /** @type {(() => void) | null} the engine's wake-up (null with a manual clock) */
  #wakeUp;
  /** Whether the wake-up is set on the engine (see updateKeepAlive). */
  #wakeSet = false;
  #wakeDropQueued = false;
  /** How many dashboard servers are open: while any is, the wake-up stays set (an action from the HTTP thread must reach JavaScript). */
  #serving = 0;
  #disposed = false;
  #started = false;
  /**
   * Whether, at the last drain, the engine's timer thread was firing a
   * large set of timers due at once in parts and had more of it to fire:
   * reports of ended runs then wait (see Attempts.flush).
   */
  #bursting = false;
  /** @type {import('./threads').ThreadPools | null} the thread pools, once one was made */
  #threads = null;
  /** @type {Map<number, Buffer>} blobs (thread pool results) by number, until their record takes them */
  #blobs = new Map();
  /** Whether a record changed unit state since the last one was told to #changes. */
  #dirty = false;
  /** @type {ChangeListener | null} */
  #changes = null;
  /** @type {Units} */ // @ts-ignore: set by connect() before any record arrives
  #units;
  /** @type {Events} */ // @ts-ignore: set by connect()
  #events;
  /** @type {Attempts} */ // @ts-ignore: set by connect()
  #attempts;
  /** @type {Tickets} */ // @ts-ignore: set by connect()
  #tickets;
  /** @type {Pools} */ // @ts-ignore: set by connect()
  #pools;
  /** @type {() => object} */ // @ts-ignore: set by connect()
  #engineStats;

  /**
   * Creates the engine. With a system clock, its thread wakes JavaScript
   * through a weak threadsafe function that reaches this bridge through a
   * WeakRef, so that a dropped manager can be collected (its engine and
   * thread go with it).
   * @param {EngineOptions} options
   */
  constructor(options) {
    this.#wakeUp = options.manualClock ? null : wakeUpOf(new WeakRef(this));
    const live = this.#liveness;
    live[HEARTBEAT] = performance.now();
    try {
      this.#native = new NativeEngine({ ...options, liveness: live, out: this.#out, inbox: this.#inbox });
    } finally {
      // No sampler runs yet.
      live[HEARTBEAT] = 0;
    }
    this.#h = this.#native.handle();
  }

  /**
   * The modules that carry out the records (they are made with the bridge,
   * so they come after it).
   * @param {Parts} parts
   */
  connect({ units, events, attempts, tickets, pools, engineStats }) {
    this.#units = units;
    this.#events = events;
    this.#attempts = attempts;
    this.#tickets = tickets;
    this.#pools = pools;
    this.#engineStats = engineStats;
  }

  /** The engine, for calls that are not on the hot path. */
  get disposed() {
    return this.#disposed;
  }

  /** The thread pools, once one was made. */
  get threads() {
    return this.#threads;
  }

  /** @param {import('./threads').ThreadPools} threads */
  setThreads(threads) {
    this.#threads = threads;
  }

  /**
   * Blob number `n` of a record (each is named by one record).
   * @param {number} n
   */
  #blob(n) {
    if (!this.#blobs.has(n)) {
      const { base, bytes, ends } = this.#native.engineBlobs();
      for (let k = 0, from = 0; k < ends.length; from = ends[k], k++) this.#blobs.set(base + k, bytes.subarray(from, ends[k]));
    }
    const b = this.#blobs.get(n);
    this.#blobs.delete(n);
    return b;
  }

  get native() {
    return this.#native;
  }

  /** The shared liveness cell (see #liveness); the lag sampler writes its last three numbers. */
  get liveness() {
    return this.#liveness;
  }

  /** The engine's handle for the hot-path functions. */
  get handle() {
    return this.#h;
  }

  /** See #bursting. */
  get bursting() {
    return this.#bursting;
  }

  get started() {
    return this.#started;
  }

  /** @param {boolean} started whether the manager is started (it then keeps Node alive) */
  setStarted(started) {
    this.#started = started;
  }

  /**
   * From now on every change of unit state is told to `changes` (once per
   * pump); a change since the last one told is told at the next pump.
   * @param {ChangeListener} changes
   */
  tellChanges(changes) {
    this.#changes = changes;
  }

  /** Unit state changed outside a record (a registration): told like a record's change. */
  markChanged() {
    this.#dirty = true;
  }

  /**
   * A `run` of call `callId` on unit `slot` starts executing synchronously.
   * @param {number} callId
   * @param {number} slot
   */
  enter(callId, slot) {
    const live = this.#liveness;
    live[1] = slot;
    live[0] = callId;
  }

  /** The synchronous part of the `run` that entered has returned. */
  leave() {
    this.#liveness[0] = 0;
  }

  /** The call whose `run` is executing synchronously right now, 0 when none. */
  get currentCall() {
    return this.#liveness[0];
  }

  /**
   * Drains what the engine produced and carries out every record in order.
   * Re-entrant: a listener that calls the manager pumps the same buffer
   * (a nested drain appends behind the records not carried out yet), so
   * records produced earlier are still carried out first.
   */
  pump() {
    this.#pumpFrom(0, true);
  }

  /**
   * A run request (engineRun): runs the unit in `slot` (of `kind`, see
   * engineRun) and carries out what it made, as pump, after `tickets` has
   * taken the request, whose promise it returns. The engine drains in the
   * same call, and hands the ticket over in the inbox's first number.
   * @param {number} slot
   * @param {number} kind
   * @param {Tickets} tickets
   * @param {boolean} settleOnly
   * @returns {Promise<void>}
   */
  run(slot, kind, tickets, settleOnly) {
    const r = engineRun(this.#h, slot, kind, this.#end);
    const done = tickets.await(this.#inbox[0], settleOnly);
    this.#pumpFrom(r, false);
    return done;
  }

  /**
   * pump: from a drain made here (`drain`), or from one already made that
   * returned `r`. Every drain of the loop, pump's first one included, is
   * made by one call of engineDrain, so that the call has run before a
   * burst larger than the buffer needs a second drain: optimized code met
   * it for the first time there, and threw itself away in the middle of
   * the burst (see apply).
   * @param {number} r
   * @param {boolean} drain
   */
  #pumpFrom(r, drain) {
    const out = this.#out;
    for (;;) {
      if (drain) r = engineDrain(this.#h, this.#end);
      drain = true;
      // The strings the records name are taken when a record needs one
      // (#str): a branch here would be one more that optimized code meets
      // for the first time at a program's first failure (see apply).
      this.#bursting = (r & 2) !== 0;
      this.#end += r >>> 2;
      while (this.#cur < this.#end) {
        const at = this.#cur;
        this.#cur += STRIDE;
        this.apply(out, at);
      }
      // Everything drained was carried out (by this frame or a nested one).
      this.#cur = 0;
      this.#end = 0;
      // Whether carrying them out made more (a native call of the facade's
      // own, or the engine's threads meanwhile) the engine says in the
      // liveness cell: read there, it spares a call that would drain
      // nothing, about 300 ns, at the end of every pump. During a burst
      // of fires the drain is made in any case: it also tells when the
      // burst is over.
      if (r >>> 2 === 0 || (this.#liveness[WAITING] === 0 && !this.#bursting)) break;
    }
    if (primes > 0) {
      primes--;
      this.apply(NO_RECORD, 0);
    }
    // Reports put off while the engine fired a large due set go now.
    if (!this.#bursting) this.#attempts.reportDeferred();
    this.updateKeepAlive();
    if (this.#dirty && this.#changes !== null) {
      this.#dirty = false;
      this.#changes.changed();
    }
  }

  /**
   * Reports settled attempts to the engine, then carries out what it
   * answers (as pump): the first `count` numbers of `outcomes` are
   * [call, ok, …], `messages` the failure message of each failed one, in
   * order. The last report drains the answer in the same call.
   * @param {Float64Array} outcomes
   * @param {number} count
   * @param {string[]} messages
   */
  completeAndPump(outcomes, count, messages) {
    const inbox = this.#inbox;
    let m = 0;
    let r = -1;
    for (let from = 0; from < count; from += inbox.length) {
      const n = Math.min(inbox.length, count - from);
      let failed = 0;
      for (let k = 0; k < n; k += 2) {
        inbox[k] = outcomes[from + k];
        if ((inbox[k + 1] = outcomes[from + k + 1]) === 0) failed++;
      }
      r = engineComplete(this.#h, n >> 1, failed > 0 ? messages.slice(m, m + failed) : undefined, from + n >= count ? this.#end : undefined);
      m += failed;
    }
    if (r < 0) this.pump();
    else this.#pumpFrom(r, false);
  }

  #takeStrings() {
    const { base, strs } = engineStrings(this.#h);
    for (let k = 0; k < strs.length; k++) this.#strs.set(base + k, strs[k]);
  }

  /**
   * String number `n` of a record (each is named by one record).
   * @param {number} n
   */
  #str(n) {
    let s = this.#strs.get(n);
    if (s === undefined) {
      this.#takeStrings();
      s = this.#strs.get(n);
    }
    this.#strs.delete(n);
    return s;
  }

  /**
   * A run of the unit in `slot` starts at the wall-clock ms at `o[at]`: its
   * time is the new lastRun, and the error of an earlier run no longer
   * describes the unit (as in 2.3). (apply's step; a method rather than a
   * #private one, as apply is.)
   * @param {number} slot
   * @param {Unit} unit
   * @param {Float64Array} o
   * @param {number} at
   */
  noteLastRun(slot, unit, o, at) {
    const units = this.#units;
    units.setError(slot, undefined);
    units.mirrorLastRun(slot, unit, o, at);
    if (units.field(unit, 'error') !== undefined) units.mirror(unit, 'error', undefined);
  }

  /**
   * A run of the unit in `slot` starts (BEGIN, BEGIN_RUN): what LAST_RUN
   * (its wall-clock ms at `o[at]`), STATUS from `previous` to running for
   * `reason`, and STARTED records would do one after another (apply's
   * step, as noteLastRun).
   * @param {number} slot
   * @param {Unit} unit
   * @param {Float64Array} o
   * @param {number} at
   * @param {number} previous its status before (STATUSES)
   * @param {number} reason (REASONS)
   */
  noteBegin(slot, unit, o, at, previous, reason) {
    const events = this.#events;
    this.noteLastRun(slot, unit, o, at);
    this.#units.mirrorStatus(slot, unit, RUNNING);
    if (events.wants('updated')) events.updated(unit, REASONS[reason], STATUSES[previous], RUNNING);
    this.announceStart(unit);
  }

  /**
   * noteBegin for a process's run (BEGIN), in a function of its own: a
   * process's object has another layout than its workers', and the
   * optimized code of noteBegin, made by the workers' runs, threw itself
   * away at a process's start (the first start of a process's run came
   * before V8 recorded anything, and the next one met code that had seen
   * only workers: at the start of the benchmark's timed runs).
   * @param {number} slot
   * @param {Unit} unit
   * @param {Float64Array} o
   * @param {number} at
   * @param {number} previous
   * @param {number} reason
   */
  noteProcessBegin(slot, unit, o, at, previous, reason) {
    const events = this.#events;
    this.noteLastRun(slot, unit, o, at);
    this.#units.mirrorStatus(slot, unit, RUNNING);
    if (events.wants('updated')) events.updated(unit, REASONS[reason], STATUSES[previous], RUNNING);
    this.announceStart(unit);
  }

  /**
   * A run of `unit` starts: its onStart hook and the start event (apply's
   * step, as noteLastRun).
   * @param {Unit} unit
   */
  announceStart(unit) {
    const events = this.#events;
    events.hook(unit, 'onStart');
    if (events.wants('start')) events.deliver('start', { type: 'start', unitId: unit.id });
  }

  /**
   * A run of the unit in `slot` completed: its statistics (duration, run
   * count, average) are at `o[at]` (apply's step, as noteLastRun).
   * @param {number} slot
   * @param {Unit} unit
   * @param {Float64Array} o
   * @param {number} at
   */
  noteStats(slot, unit, o, at) {
    try {
      this.#units.recordStats(slot, unit, o, at);
    } catch (e) {
      this.#units.mirrorFailed(unit, 'meta', e);
    }
  }

  /**
   * A run of `unit` completed: its onComplete hook and the complete event,
   * with the result of attempt `callId` (none: -1, a process's run).
   * (apply's step, as noteLastRun.)
   * @param {Unit} unit
   * @param {number} callId
   * @param {number} durationMs
   */
  announceComplete(unit, callId, durationMs) {
    const events = this.#events;
    const result = callId >= 0 ? this.#attempts.valueOf(callId) : undefined;
    events.hook(unit, 'onComplete', result);
    if (events.wants('complete')) {
      events.deliver('complete', { type: 'complete', unitId: unit.id, result, durationMs });
    }
  }

  /**
   * Carries out the record at `o[i]` (see ops.js for the layouts); pump's
   * step, not to be called otherwise. (A method rather than a #private
   * one: V8 inlines it into the drain loop, which it does not do as well
   * for private methods.)
   *
   * The cases are the opcodes' numbers, each named in a comment
   * (__test__/vocabulary.spec.js checks them against the vocabulary):
   * with number literals V8 dispatches through a jump table. With
   * `case ops.NAME` it loaded and compared every name in turn up to the
   * record's (about 30 for a `runWorkerById`'s completion).
   *
   * Only the kinds of every run of a worker are carried out here; the
   * others go to applyOther. Optimized code that meets an operation that
   * never ran (the case of a kind not seen yet) throws itself away, and
   * with every kind here the drain loop was thrown away at the first
   * record of a kind a program had not produced before: the DONE of a
   * first `runWorkerById` or of a `stop()`, a first failure, a first pool
   * task. The runs after it went through unoptimized code until V8
   * optimized the loop again (a burst of 10,000 first runs right after
   * another manager's `stop()` took about twice as long). The call of
   * applyOther must itself have run before V8 optimizes apply: the first
   * 64 drains of the process hand apply a record of no kind (V8 records
   * what code does only after its first calls). Not more: V8 inlines
   * into apply only the calls made by a large enough share of its calls,
   * and a record of no kind at every drain lowered every case's share
   * below it in a run of interval workers (a call each, not inlined).
   *
   * A unit's slot is made an integer before it is passed on: read from
   * the Float64Array by unoptimized code it is a heap number, which the
   * callees' code, optimized for small integers, does not take.
   * @param {Float64Array} o
   * @param {number} i
   */
  apply(o, i) {
    const units = this.#units;
    const events = this.#events;
    switch (o[i]) {
      case 1: // RUN
        return this.#attempts.start(o[i + 1], o[i + 2] | 0, o[i + 3] | 0, o[i + 4] | 0, o[i + 5]);
      case 3: { // STATUS
        this.#dirty = true;
        const slot = o[i + 1] | 0;
        const unit = units.at(slot);
        if (!unit) return;
        const current = STATUSES[o[i + 3]];
        units.mirrorStatus(slot, unit, current);
        if (events.wants('updated')) events.updated(unit, REASONS[o[i + 4]], STATUSES[o[i + 2]], current);
        return;
      }
      case 31: { // BEGIN
        // A run starts (see noteBegin); a process's, as a worker's comes
        // with its call (BEGIN_RUN).
        this.#dirty = true;
        const slot = o[i + 1] | 0;
        const unit = units.at(slot);
        if (unit) this.noteProcessBegin(slot, unit, o, i + 2, o[i + 3] | 0, o[i + 4] | 0);
        return;
      }
      case 33: { // BEGIN_RUN
        // A BEGIN and the RUN of the same unit that followed it.
        this.#dirty = true;
        const slot = o[i + 2] | 0;
        const unit = units.at(slot);
        const packed = o[i + 4] | 0;
        if (unit) this.noteBegin(slot, unit, o, i + 5, (packed >> 2) & 7, packed >> 5);
        return this.#attempts.start(o[i + 1], slot, o[i + 3] | 0, packed & 3, -1);
      }
      case 32: { // END
        // A run completed: what STATS, STATUS (to completed, unless the
        // unit is paused) and COMPLETED records would do one after another.
        this.#dirty = true;
        const slot = o[i + 1] | 0;
        const unit = units.at(slot);
        if (!unit) return;
        this.noteStats(slot, unit, o, i + 2);
        const packed = o[i + 5];
        const status = packed % 8;
        if (status !== 0) {
          units.mirrorStatus(slot, unit, COMPLETED);
          if (events.wants('updated')) events.updated(unit, STATUS_CHANGE, STATUSES[status - 1], COMPLETED);
        }
        this.announceComplete(unit, (packed - status) / 8 - 1, o[i + 2]);
        return;
      }
      default:
        return this.applyOther(o, i);
    }
  }

  /**
   * The records of every other kind (see apply).
   * @param {Float64Array} o
   * @param {number} i
   */
  applyOther(o, i) {
    const units = this.#units;
    const events = this.#events;
    switch (o[i]) {
      // LAST_RUN, STARTED, STATS and COMPLETED: the engine hands a run's
      // start and completion to the outbox in one call each, which it
      // sends as BEGIN (or BEGIN_RUN) and END; these four are what an
      // event sink that takes each event on its own would send
      // (EventSink's defaults), carried out as BEGIN's and END's parts.
      case 15: { // LAST_RUN
        this.#dirty = true;
        const slot = o[i + 1] | 0;
        const unit = units.at(slot);
        if (unit) this.noteLastRun(slot, unit, o, i + 2);
        return;
      }
      case 8: { // STARTED
        const unit = units.at(o[i + 1] | 0);
        if (unit) this.announceStart(unit);
        return;
      }
      case 14: { // STATS
        this.#dirty = true;
        const slot = o[i + 1] | 0;
        const unit = units.at(slot);
        if (unit) this.noteStats(slot, unit, o, i + 2);
        return;
      }
      case 9: { // COMPLETED
        const unit = units.at(o[i + 1] | 0);
        if (unit) this.announceComplete(unit, o[i + 2], o[i + 3]);
        return;
      }
      case 2: // ABORT
        return this.#attempts.abort(o[i + 1], o[i + 2]);
      case 4: { // CONFIG
        this.#dirty = true;
        const unit = units.at(o[i + 1]);
        if (unit && events.wants('updated')) events.updated(unit, 'config-change', unit.status, unit.status);
        return;
      }
      case 5: { // ENABLED
        this.#dirty = true;
        const unit = units.at(o[i + 1]);
        if (unit) units.mirror(unit, 'enabled', o[i + 2] === 1);
        return;
      }
      case 6: { // PARENT
        this.#dirty = true;
        const unit = units.at(o[i + 1]);
        const proc = units.at(o[i + 2]);
        if (unit && proc) units.mirror(unit, 'processId', proc.id);
        return;
      }
      case 7: // RELEASED
        this.#dirty = true;
        units.release(o[i + 1]);
        return;
      case 16: { // MARKED
        // A status set by hand announces its transition the way a run would.
        const unit = units.at(o[i + 1]);
        if (!unit) return;
        const status = STATUSES[o[i + 2]];
        if (status === 'running' && events.wants('start')) {
          events.deliver('start', { type: 'start', unitId: unit.id });
        } else if (status === 'completed' && events.wants('complete')) {
          events.deliver('complete', { type: 'complete', unitId: unit.id, result: undefined, durationMs: 0 });
        } else if (status === 'error' && events.wants('error')) {
          const error = units.field(unit, 'error');
          if (isError(error)) events.deliver('error', { type: 'error', unitId: unit.id, error });
        }
        return;
      }
      case 17: { // ERRORED
        this.#dirty = true;
        const unit = units.at(o[i + 1]);
        const message = this.#str(o[i + 3]);
        if (!unit) return;
        const culprit = o[i + 4] >= 0 ? units.at(o[i + 4]) : undefined;
        const error = this.#attempts.failure(o[i + 2], message, unit, culprit);
        // Kept here too: the `error` event and onError carry it even when
        // the unit's object refuses it.
        units.setError(o[i + 1], error);
        units.mirror(unit, 'error', error);
        return;
      }
      case 10: { // FAILED
        const unit = units.at(o[i + 1]);
        if (!unit) return;
        const error = units.lastError(o[i + 1]);
        events.hook(unit, 'onError', error);
        if (events.wants('error')) events.deliver('error', { type: 'error', unitId: unit.id, error });
        return;
      }
      case 11: { // RETRY
        const unit = units.at(o[i + 1]);
        // Taken even when nobody listens, or it would stay in the table.
        const message = this.#str(o[i + 5]);
        if (!unit || !events.wants('retry')) return;
        const error = this.#attempts.failure(o[i + 4], message, unit);
        events.deliver('retry', { type: 'retry', unitId: unit.id, attempt: o[i + 2], delayMs: o[i + 3], error });
        return;
      }
      case 12: { // PHASE
        const unit = units.at(o[i + 1]);
        if (unit && events.wants('milestone')) {
          events.deliver('milestone', {
            type: 'milestone',
            milestoneId: `unit:${unit.id}:${PHASES[o[i + 2]]}`,
            payload: { runMode: RUN_MODES[o[i + 3]] },
          });
        }
        return;
      }
      case 18: { // SKIPPED
        const unit = units.at(o[i + 1]);
        if (unit && events.wants('skipped')) {
          events.deliver('skipped', { type: 'skipped', unitId: unit.id, reason: SKIP_REASONS[o[i + 2]] });
        }
        return;
      }
      case 19: { // STALLED
        const unit = units.at(o[i + 1]);
        if (unit && events.wants('stalled')) {
          /** @type {{ type: 'stalled', unitId: string, runningForMs: number, eventLoop?: true }} */
          const event = { type: 'stalled', unitId: unit.id, runningForMs: o[i + 2] };
          if (o[i + 3] === 1) event.eventLoop = true;
          events.deliver('stalled', event);
        }
        return;
      }
      case 20: { // UNPAUSED
        const unit = units.at(o[i + 1]);
        if (unit) events.milestone(`worker:${unit.id}:unpaused`, {});
        return;
      }
      case 21: { // IDLE_RELEASE
        const unit = units.at(o[i + 1]);
        if (unit) {
          events.milestone(`unit:${unit.id}:released`, {});
          events.milestone(`worker:${unit.id}:released`, { idleTime: o[i + 2] });
        }
        return;
      }
      case 23: // TASK_STATUS
        this.#pools.taskStatus(o[i + 1], o[i + 2]);
        return;
      case 24: { // TASK_DONE
        const kind = o[i + 2];
        // A completed pool.run task that ran without an entry is settled at once.
        if (kind === 0 && this.#pools.completeBare(o[i + 1], this.#attempts.valueOf(o[i + 3]))) return;
        const message = kind === 1 || kind === 3 ? this.#str(o[i + 4]) : undefined;
        const entry = this.#pools.takeTask(o[i + 1]);
        if (!entry) return;
        let value;
        if (kind === 0) value = this.#attempts.valueOf(o[i + 3]);
        else if (kind === 1 || kind === 3) {
          value = this.#attempts.failure(o[i + 3], message, entry.worker || { id: kind === 3 ? undefined : '?' });
        }
        this.#pools.taskDone(entry, kind, value);
        return;
      }
      case 25: // POOL_IDLE
        this.#pools.idle(o[i + 1]);
        return;
      case 26: // THREAD_SPAWN
        if (this.#threads) this.#threads.spawn(o[i + 1], o[i + 2]);
        return;
      case 27: // THREAD_END
        if (this.#threads) this.#threads.end(o[i + 1]);
        return;
      case 28: { // THREAD_DONE
        const value = o[i + 3] >= 0 ? this.#blob(o[i + 3]) : undefined;
        const message = o[i + 5] >= 0 ? this.#str(o[i + 5]) : undefined;
        if (this.#threads) this.#threads.done(o[i + 1], o[i + 2], value, o[i + 4], message);
        return;
      }
      case 29: // THREAD_CLOSED
        if (this.#threads) this.#threads.closed(o[i + 1]);
        return;
      case 30: // THREAD_STARTED
        if (this.#threads) this.#threads.started(o[i + 1]);
        return;
      case 22: // STATS_DUE
        if (events.wants('milestone')) events.milestone('engine:stats', this.#engineStats());
        return;
      case 13: { // DONE
        const ticket = o[i + 1];
        const code = o[i + 2];
        const message = code === 0 ? undefined : this.#str(o[i + 3]);
        const unitId = code === 0 ? undefined : this.#str(o[i + 5]);
        const rejects = code !== 0 && this.#tickets.rejectsOnFailure(ticket);
        const resolve = this.#tickets.take(ticket);
        if (!resolve) return;
        if (!rejects) return resolve();
        const slot = o[i + 4];
        const worker = slot >= 0 ? units.at(slot) : undefined;
        const error = new SynchronikError(/** @type {string} */ (message), ENGINE_CODES[code], {
          cause: worker ? units.lastError(slot) : undefined,
          // By id: a worker released before the run ended has no object any more.
          unitId: worker ? worker.id : unitId || undefined,
        });
        resolve(Promise.reject(error));
        return;
      }
      default:
        return;
    }
  }

  /**
   * Holds one ref'd handle exactly while runs are in flight, and the
   * engine's wake-up while it may be needed. `now`: let go of the wake-up
   * at once (stop), not a loop turn later (which spares a program that
   * awaits one run after another making and dropping it for every run).
   */
  updateKeepAlive(now = false) {
    const busy = this.#started || this.#tickets.size > 0 || this.#attempts.size > 0;
    // The change is a call of its own: pump, which runs this at its end,
    // is not thrown away at the first time the work runs out (a branch
    // that never ran, met by optimized code; see apply).
    if (now || busy !== (this.#keepAlive !== null)) this.#changeKeepAlive(busy, now);
  }

  /**
   * @param {boolean} busy whether work is in flight or the manager started
   * @param {boolean} now see updateKeepAlive
   */
  #changeKeepAlive(busy, now) {
    if (busy && this.#keepAlive === null) {
      // The closure holds the bridge (and through its modules the
      // manager), so a manager with work in flight is never collected even
      // if the caller dropped it.
      this.#keepAlive = timers.setInterval(() => void this, 0x7fffffff);
      // The engine's thread may need to wake JavaScript from now on.
      if (this.#wakeUp !== null) this.#setWake(this.#wakeUp);
    } else if (!busy && this.#keepAlive !== null) {
      timers.clearInterval(this.#keepAlive);
      this.#keepAlive = null;
      // Nothing is in flight and nothing is scheduled: no timer of the
      // engine can produce records JavaScript waits for, so the wake-up
      // (a threadsafe function, a handle of its own) goes too.
      if (this.#wakeSet && !now && !this.#wakeDropQueued) {
        this.#wakeDropQueued = true;
        timers.setImmediate(() => {
          this.#wakeDropQueued = false;
          if (this.#keepAlive === null) this.dropWake();
        });
      }
    }
    if (now && this.#keepAlive === null) this.dropWake();
  }

  /** @param {() => void} wakeUp */
  #setWake(wakeUp) {
    if (!this.#wakeSet && !this.#disposed) {
      this.#wakeSet = true;
      this.#native.setWake(wakeUp);
    }
  }

  /**
   * A dashboard server, or a store shared with other managers, opened
   * (`+1`) or closed (`-1`). While one is open the wake-up stays set, with
   * a manual clock too: an action from the HTTP thread (run now, pause…),
   * a task claimed from the cluster or the end of a task another node ran
   * is carried out by the engine at once, and its records must reach
   * JavaScript without waiting for the next call. The wake-up is weak: it
   * never keeps Node alive.
   * @param {1 | -1} delta
   */
  serving(delta) {
    this.#serving += delta;
    if (this.#serving > 0) this.#setWake(this.#wakeUp !== null ? this.#wakeUp : wakeUpOf(new WeakRef(this)));
    else if (this.#keepAlive === null) this.dropWake();
  }

  /** Lets go of the engine's wake-up (kept while a dashboard server is open). */
  dropWake() {
    if (this.#wakeSet && !this.#disposed && this.#serving === 0) {
      this.#wakeSet = false;
      this.#native.setWake(undefined);
    }
  }

  /** Ends the engine (close): its timer thread stops and nothing wakes JavaScript any more. */
  dispose() {
    this.#serving = 0;
    this.dropWake();
    this.#disposed = true;
    this.#native.dispose();
  }
}

/**
 * The engine's wake-up for a bridge. Made outside the constructor on
 * purpose: a closure made there would share the constructor's scope, which
 * holds the bridge, and the engine's threadsafe function would then keep
 * every manager alive.
 * @param {WeakRef<Bridge>} ref
 */
function wakeUpOf(ref) {
  return () => {
    const bridge = ref.deref();
    if (bridge) bridge.pump();
  };
}

module.exports = { Bridge };
