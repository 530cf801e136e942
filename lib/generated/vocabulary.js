// GENERATED FILE, DO NOT EDIT. Made from the engine's vocabulary
// (crates/synchronik-core/src/vocabulary.rs) by `npm run vocabulary`, which
// `npm run build` runs; __test__/vocabulary.spec.js fails while it is stale.

'use strict';

/** Numbers per outbound record: an opcode and five operands (unused ones are 0). */
const STRIDE = 6;

/** Opcodes of the outbound records; the comments list their operands. */
const OPS = Object.freeze({
  RUN: 1, // call, slot, attempt, flags (1 retryable, 2 report conditions), task (-1: none)
  ABORT: 2, // call, reason (ABORT_REASONS)
  STATUS: 3, // slot, previous, current (STATUSES), reason (UPDATE_REASONS)
  CONFIG: 4, // slot
  ENABLED: 5, // slot, enabled (0/1)
  PARENT: 6, // slot, process slot
  RELEASED: 7, // slot
  STARTED: 8, // slot
  COMPLETED: 9, // slot, call (-1: none), duration ms
  FAILED: 10, // slot (its error was set by ERRORED)
  RETRY: 11, // slot, attempt, delay ms, reference (call > 0 | -error code), message index
  PHASE: 12, // slot, phase (PHASES), run mode (RUN_MODES)
  DONE: 13, // ticket, error code (0: none), message index, worker slot (-1), unit id index
  STATS: 14, // slot, duration ms, run count, average ms
  LAST_RUN: 15, // slot, wall ms
  MARKED: 16, // slot, status set by hand (running, completed or error)
  ERRORED: 17, // slot, reference (call > 0 | -error code), message index, culprit slot (-1)
  SKIPPED: 18, // slot, reason (SKIP_REASONS)
  STALLED: 19, // slot, running for ms, event loop (0/1)
  UNPAUSED: 20, // slot
  IDLE_RELEASE: 21, // slot, idle ms
  STATS_DUE: 22, // (no operands)
  TASK_STATUS: 23, // task, status (TASK_STATUSES), worker slot (-1)
  TASK_DONE: 24, // task, end (TASK_ENDS), call (completed) or reference (failed, dropped), message index
  POOL_IDLE: 25, // pool
  THREAD_SPAWN: 26, // runner, thread pool
  THREAD_END: 27, // runner (terminate its thread)
  THREAD_DONE: 28, // task, end (THREAD_ENDS), value (blob number, -1: none), error code, message index
  THREAD_CLOSED: 29, // thread pool
  THREAD_STARTED: 30, // task, attempt (a named task started running)
  BEGIN: 31, // slot, wall ms, previous (STATUSES), reason (UPDATE_REASONS): a run starts (LAST_RUN, STATUS to running and STARTED in one)
  END: 32, // slot, duration ms, run count, average ms, (call + 1) × 8 + status (0: unchanged, else the previous (STATUSES) + 1): a run completed (STATS, STATUS to completed and COMPLETED in one)
  BEGIN_RUN: 33, // call, slot, attempt, flags (as RUN's) + previous (STATUSES) × 4 + reason (UPDATE_REASONS) × 32, wall ms: a BEGIN and the RUN of the same unit that follows it, in one
});

/** The statuses of a unit. By number. */
const STATUSES = Object.freeze(['idle', 'running', 'paused', 'completed', 'error']);

/** How a process runs its workers. By number. */
const RUN_MODES = Object.freeze(['sequential', 'parallel', 'batched', 'isolated']);

/** What a scheduled run does while the previous one is in flight. By number. */
const OVERLAPS = Object.freeze(['skip', 'queue', 'allow']);

/** Why a run did not happen (`skipped` events). By number. */
const SKIP_REASONS = Object.freeze(['overlap', 'condition', 'dependency-failed', 'dependency-skipped']);

/** The phases of a process run (milestones `unit:<id>:<phase>`). By number. */
const PHASES = Object.freeze(['running', 'completed']);

/** What caused an `updated` event. By number. */
const UPDATE_REASONS = Object.freeze(['status-change', 'config-change']);

/** The statuses of a pool task. By number. */
const TASK_STATUSES = Object.freeze(['idle', 'running', 'paused', 'completed', 'error', 'waiting-handler', 'cancelled', 'scheduled']);

/** How a pool task ended (`TASK_DONE` records). By number. */
const TASK_ENDS = Object.freeze(['completed', 'failed', 'cancelled', 'dropped']);

/** How a thread pool task ended (`THREAD_DONE` records). By number. */
const THREAD_ENDS = Object.freeze(['returned', 'threw', 'aborted', 'failed']);

/** The status of a pool task after each of TASK_ENDS. By number. */
const TASK_END_STATUSES = Object.freeze(['completed', 'error', 'cancelled', 'cancelled']);

/** The error codes the engine sends, by number (`DONE`, `ERRORED`, `RETRY`, `TASK_DONE` records). */
const ERROR_CODES = Object.freeze([
  Object.freeze({ number: 1, code: 'ERR_UNKNOWN_UNIT' }),
  Object.freeze({ number: 2, code: 'ERR_WRONG_KIND' }),
  Object.freeze({ number: 3, code: 'ERR_INVALID_UNIT' }),
  Object.freeze({ number: 4, code: 'ERR_TIMEOUT' }),
  Object.freeze({ number: 5, code: 'ERR_STOPPED' }),
  Object.freeze({ number: 6, code: 'ERR_RELEASED' }),
  Object.freeze({ number: 7, code: 'ERR_WORKER_FAILED' }),
  Object.freeze({ number: 8, code: 'ERR_RUN_FAILED' }),
  Object.freeze({ number: 9, code: 'ERR_UNKNOWN_DEPENDENCY' }),
  Object.freeze({ number: 10, code: 'ERR_DEPENDENCY_CYCLE' }),
  Object.freeze({ number: 11, code: 'ERR_CANCELLED' }),
  Object.freeze({ number: 12, code: 'ERR_STORAGE' }),
  Object.freeze({ number: 13, code: 'ERR_CLOSED' }),
  Object.freeze({ number: 14, code: 'ERR_UNKNOWN_TASK' }),
  Object.freeze({ number: 15, code: 'ERR_NOT_RETRYABLE' }),
  Object.freeze({ number: 16, code: 'ERR_THREAD_EXITED' }),
  Object.freeze({ number: 17, code: 'ERR_THREAD_BOOTSTRAP' }),
  Object.freeze({ number: 18, code: 'ERR_QUEUE_FULL' }),
]);

/**
 * Why an attempt is aborted (`ABORT` records), by number: the code its
 * signal's reason carries, and its message (`{id}`: the unit's id).
 */
const ABORT_REASONS = Object.freeze([
  Object.freeze({ number: 1, code: 'ERR_TIMEOUT', message: 'worker "{id}" timed out' }),
  Object.freeze({ number: 2, code: 'ERR_STOPPED', message: 'worker "{id}" was stopped' }),
  Object.freeze({ number: 3, code: 'ERR_RELEASED', message: 'worker "{id}" was released' }),
  Object.freeze({ number: 4, code: 'ERR_CANCELLED', message: 'the task running on "{id}" was cancelled' }),
]);

/** Codes the facade makes itself, never the engine. */
const HOST_ERROR_CODES = Object.freeze(['ERR_NON_ERROR_THROWN', 'ERR_ABORTED']);

/** Every default, by name. */
const DEFAULTS = Object.freeze({
  loopInterval: 1000, // Period of the sweep of idle processes, in ms.
  watcherInterval: 60000, // Period of the watcher's scans, in ms.
  executionTimesKept: 100, // How many durations `meta.executionTimesMs` keeps.
  historyMaxAgeMs: 604800000, // History rows older than this are deleted, in ms.
  historyMaxRows: 100000, // At most this many history rows are kept.
  clockLimitMs: 1e30, // The manual clock goes no further, in ms.
  poolSize: 5, // Workers of a pool when no size is given.
  maxPoolSize: 10000, // The most workers a pool may have.
  poolName: 'default', // The name of a pool when none is given.
  enabled: true, // `enabled` of a unit.
  status: 'idle', // `status` of a unit.
  runOnInterval: false, // `runOnInterval` of a worker.
  timeoutMs: 10000, // `timeoutMs` of a worker.
  maxRetries: 0, // `maxRetries` of a worker.
  retryDelayMs: 0, // `retryDelayMs` of a worker.
  overlap: 'skip', // `overlap` of a worker.
  runMode: 'sequential', // `runMode` of a process.
  batchSize: 2, // `batchSize` of a process.
  isolationDelayMs: 100, // `isolationDelayMs` of a process.
});

/**
 * The settings a unit object may carry, in the order they are checked,
 * with their rules: `kind`, its bounds (`min`, `exclusive`) or names
 * (`values`), the `default`, and what a message says the value must be.
 */
const UNIT_SETTINGS = Object.freeze([
  Object.freeze({ key: 'name', group: 'common', kind: 'string', expected: 'a string' }),
  Object.freeze({ key: 'description', group: 'common', kind: 'string', expected: 'a string' }),
  Object.freeze({ key: 'enabled', group: 'common', kind: 'boolean', default: true, expected: 'a boolean' }),
  Object.freeze({ key: 'status', group: 'common', kind: 'one-of', values: STATUSES, default: 'idle', expected: "one of 'idle', 'running', 'paused', 'completed', 'error'" }),
  Object.freeze({ key: 'meta', group: 'common', kind: 'object', expected: 'an object' }),
  Object.freeze({ key: 'onStart', group: 'common', kind: 'function', expected: 'a function' }),
  Object.freeze({ key: 'onComplete', group: 'common', kind: 'function', expected: 'a function' }),
  Object.freeze({ key: 'onError', group: 'common', kind: 'function', expected: 'a function' }),
  Object.freeze({ key: 'run', group: 'worker', kind: 'function', expected: 'a function' }),
  Object.freeze({ key: 'intervalMs', group: 'worker', kind: 'number', min: 0, exclusive: true, expected: 'a positive finite number of milliseconds' }),
  Object.freeze({ key: 'runOnInterval', group: 'worker', kind: 'boolean', default: false, expected: 'a boolean' }),
  Object.freeze({ key: 'maxRuns', group: 'worker', kind: 'integer', min: 1, expected: 'a positive integer' }),
  Object.freeze({ key: 'timeoutMs', group: 'worker', kind: 'number', min: 0, exclusive: false, default: 10000, expected: 'a non-negative finite number of milliseconds (0 = no timeout)' }),
  Object.freeze({ key: 'maxRetries', group: 'worker', kind: 'integer', min: 0, default: 0, expected: 'a non-negative integer' }),
  Object.freeze({ key: 'retryDelayMs', group: 'worker', kind: 'number-or-function', min: 0, default: 0, expected: 'a non-negative finite number of milliseconds or a function of the retry number' }),
  Object.freeze({ key: 'overlap', group: 'worker', kind: 'one-of', values: OVERLAPS, default: 'skip', expected: "one of 'skip', 'queue', 'allow'" }),
  Object.freeze({ key: 'dependsOn', group: 'worker', kind: 'array', expected: 'an array of worker ids or { id, condition? } objects' }),
  Object.freeze({ key: 'schedule', group: 'worker', kind: 'object', expected: 'an object { cron, timezone?, startAt?, stopAt?, jitterMs?, catchUp?, catchUpWindowMs? } or { at }' }),
  Object.freeze({ key: 'runMode', group: 'process', kind: 'one-of', values: RUN_MODES, default: 'sequential', expected: "one of 'sequential', 'parallel', 'batched', 'isolated'" }),
  Object.freeze({ key: 'batchSize', group: 'process', kind: 'integer', min: 1, default: 2, expected: 'a positive integer' }),
  Object.freeze({ key: 'isolationDelayMs', group: 'process', kind: 'number', min: 0, exclusive: false, default: 100, expected: 'a non-negative finite number of milliseconds' }),
  Object.freeze({ key: 'concurrency', group: 'process', kind: 'integer', min: 1, expected: 'a positive integer' }),
]);

module.exports = Object.freeze({
  STRIDE,
  OPS,
  STATUSES,
  RUN_MODES,
  OVERLAPS,
  SKIP_REASONS,
  PHASES,
  UPDATE_REASONS,
  TASK_STATUSES,
  TASK_ENDS,
  THREAD_ENDS,
  TASK_END_STATUSES,
  ERROR_CODES,
  ABORT_REASONS,
  HOST_ERROR_CODES,
  DEFAULTS,
  UNIT_SETTINGS,
});
