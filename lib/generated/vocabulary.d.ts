// GENERATED FILE, DO NOT EDIT. Made from the engine's vocabulary
// (crates/synchronik-core/src/vocabulary.rs) by `npm run vocabulary`, which
// `npm run build` runs; __test__/vocabulary.spec.js fails while it is stale.

/** Numbers per outbound record: an opcode and five operands. */
export declare const STRIDE: 6;

/** Opcodes of the outbound records. */
export declare const OPS: Readonly<{
  /** call, slot, attempt, flags (1 retryable, 2 report conditions), task (-1: none) */
  RUN: 1;
  /** call, reason (ABORT_REASONS) */
  ABORT: 2;
  /** slot, previous, current (STATUSES), reason (UPDATE_REASONS) */
  STATUS: 3;
  /** slot */
  CONFIG: 4;
  /** slot, enabled (0/1) */
  ENABLED: 5;
  /** slot, process slot */
  PARENT: 6;
  /** slot */
  RELEASED: 7;
  /** slot */
  STARTED: 8;
  /** slot, call (-1: none), duration ms */
  COMPLETED: 9;
  /** slot (its error was set by ERRORED) */
  FAILED: 10;
  /** slot, attempt, delay ms, reference (call > 0 | -error code), message index */
  RETRY: 11;
  /** slot, phase (PHASES), run mode (RUN_MODES) */
  PHASE: 12;
  /** ticket, error code (0: none), message index, worker slot (-1), unit id index */
  DONE: 13;
  /** slot, duration ms, run count, average ms */
  STATS: 14;
  /** slot, wall ms */
  LAST_RUN: 15;
  /** slot, status set by hand (running, completed or error) */
  MARKED: 16;
  /** slot, reference (call > 0 | -error code), message index, culprit slot (-1) */
  ERRORED: 17;
  /** slot, reason (SKIP_REASONS) */
  SKIPPED: 18;
  /** slot, running for ms, event loop (0/1) */
  STALLED: 19;
  /** slot */
  UNPAUSED: 20;
  /** slot, idle ms */
  IDLE_RELEASE: 21;
  /** (no operands) */
  STATS_DUE: 22;
  /** task, status (TASK_STATUSES), worker slot (-1) */
  TASK_STATUS: 23;
  /** task, end (TASK_ENDS), call (completed) or reference (failed, dropped), message index */
  TASK_DONE: 24;
  /** pool */
  POOL_IDLE: 25;
  /** runner, thread pool */
  THREAD_SPAWN: 26;
  /** runner (terminate its thread) */
  THREAD_END: 27;
  /** task, end (THREAD_ENDS), value (blob number, -1: none), error code, message index */
  THREAD_DONE: 28;
  /** thread pool */
  THREAD_CLOSED: 29;
  /** task, attempt (a named task started running) */
  THREAD_STARTED: 30;
  /** slot, wall ms, previous (STATUSES), reason (UPDATE_REASONS): a run starts (LAST_RUN, STATUS to running and STARTED in one) */
  BEGIN: 31;
  /** slot, duration ms, run count, average ms, (call + 1) × 8 + status (0: unchanged, else the previous (STATUSES) + 1): a run completed (STATS, STATUS to completed and COMPLETED in one) */
  END: 32;
  /** call, slot, attempt, flags (as RUN's) + previous (STATUSES) × 4 + reason (UPDATE_REASONS) × 32, wall ms: a BEGIN and the RUN of the same unit that follows it, in one */
  BEGIN_RUN: 33;
}>;

/** The statuses of a unit. */
export type Status = 'idle' | 'running' | 'paused' | 'completed' | 'error';
/** The statuses of a unit. By number. */
export declare const STATUSES: readonly Status[];

/** How a process runs its workers. */
export type RunMode = 'sequential' | 'parallel' | 'batched' | 'isolated';
/** How a process runs its workers. By number. */
export declare const RUN_MODES: readonly RunMode[];

/** What a scheduled run does while the previous one is in flight. */
export type Overlap = 'skip' | 'queue' | 'allow';
/** What a scheduled run does while the previous one is in flight. By number. */
export declare const OVERLAPS: readonly Overlap[];

/** Why a run did not happen (`skipped` events). */
export type SkipReason = 'overlap' | 'condition' | 'dependency-failed' | 'dependency-skipped';
/** Why a run did not happen (`skipped` events). By number. */
export declare const SKIP_REASONS: readonly SkipReason[];

/** The phases of a process run (milestones `unit:<id>:<phase>`). */
export type Phase = 'running' | 'completed';
/** The phases of a process run (milestones `unit:<id>:<phase>`). By number. */
export declare const PHASES: readonly Phase[];

/** What caused an `updated` event. */
export type UpdateReason = 'status-change' | 'config-change';
/** What caused an `updated` event. By number. */
export declare const UPDATE_REASONS: readonly UpdateReason[];

/** The statuses of a pool task. */
export type TaskStatus = 'idle' | 'running' | 'paused' | 'completed' | 'error' | 'waiting-handler' | 'cancelled' | 'scheduled';
/** The statuses of a pool task. By number. */
export declare const TASK_STATUSES: readonly TaskStatus[];

/** How a pool task ended (`TASK_DONE` records). */
export type TaskEnd = 'completed' | 'failed' | 'cancelled' | 'dropped';
/** How a pool task ended (`TASK_DONE` records). By number. */
export declare const TASK_ENDS: readonly TaskEnd[];

/** How a thread pool task ended (`THREAD_DONE` records). */
export type ThreadEnd = 'returned' | 'threw' | 'aborted' | 'failed';
/** How a thread pool task ended (`THREAD_DONE` records). By number. */
export declare const THREAD_ENDS: readonly ThreadEnd[];

/** The status of a pool task after each of TASK_ENDS. */
export declare const TASK_END_STATUSES: readonly TaskStatus[];

/** The codes of errors the engine makes. */
export type EngineErrorCode = 'ERR_UNKNOWN_UNIT' | 'ERR_WRONG_KIND' | 'ERR_INVALID_UNIT' | 'ERR_TIMEOUT' | 'ERR_STOPPED' | 'ERR_RELEASED' | 'ERR_WORKER_FAILED' | 'ERR_RUN_FAILED' | 'ERR_UNKNOWN_DEPENDENCY' | 'ERR_DEPENDENCY_CYCLE' | 'ERR_CANCELLED' | 'ERR_STORAGE' | 'ERR_CLOSED' | 'ERR_UNKNOWN_TASK' | 'ERR_NOT_RETRYABLE' | 'ERR_THREAD_EXITED' | 'ERR_THREAD_BOOTSTRAP' | 'ERR_QUEUE_FULL';

/** The codes of an aborted attempt's signal reason (the engine's abort reasons). */
export type AbortCode = 'ERR_TIMEOUT' | 'ERR_STOPPED' | 'ERR_RELEASED' | 'ERR_CANCELLED';

/** The codes the facade makes itself. */
export type HostErrorCode = 'ERR_NON_ERROR_THROWN' | 'ERR_ABORTED';

/** Every code a SynchronikError can carry. */
export type ErrorCode = EngineErrorCode | HostErrorCode;

/** The error codes the engine sends, by number. */
export declare const ERROR_CODES: readonly { readonly number: number; readonly code: EngineErrorCode }[];

/** Why an attempt is aborted, by number: its code and message (`{id}`: the unit's id). */
export declare const ABORT_REASONS: readonly { readonly number: number; readonly code: AbortCode; readonly message: string }[];

/** Codes the facade makes itself. */
export declare const HOST_ERROR_CODES: readonly HostErrorCode[];

/** Every default, by name. */
export declare const DEFAULTS: Readonly<{
  /** Period of the sweep of idle processes, in ms. */
  loopInterval: 1000;
  /** Period of the watcher's scans, in ms. */
  watcherInterval: 60000;
  /** How many durations `meta.executionTimesMs` keeps. */
  executionTimesKept: 100;
  /** History rows older than this are deleted, in ms. */
  historyMaxAgeMs: 604800000;
  /** At most this many history rows are kept. */
  historyMaxRows: 100000;
  /** The manual clock goes no further, in ms. */
  clockLimitMs: 1e30;
  /** Workers of a pool when no size is given. */
  poolSize: 5;
  /** The most workers a pool may have. */
  maxPoolSize: 10000;
  /** The name of a pool when none is given. */
  poolName: 'default';
  /** `enabled` of a unit. */
  enabled: true;
  /** `status` of a unit. */
  status: 'idle';
  /** `runOnInterval` of a worker. */
  runOnInterval: false;
  /** `timeoutMs` of a worker. */
  timeoutMs: 10000;
  /** `maxRetries` of a worker. */
  maxRetries: 0;
  /** `retryDelayMs` of a worker. */
  retryDelayMs: 0;
  /** `overlap` of a worker. */
  overlap: 'skip';
  /** `runMode` of a process. */
  runMode: 'sequential';
  /** `batchSize` of a process. */
  batchSize: 2;
  /** `isolationDelayMs` of a process. */
  isolationDelayMs: 100;
}>;

/** A setting a unit object may carry, and its rule. */
export interface UnitSetting {
  readonly key: string;
  readonly group: 'common' | 'worker' | 'process';
  readonly kind: 'array' | 'boolean' | 'function' | 'integer' | 'number' | 'number-or-function' | 'object' | 'one-of' | 'string';
  readonly min?: number;
  readonly exclusive?: boolean;
  readonly values?: readonly string[];
  readonly default?: boolean | number | string;
  readonly expected: string;
}

/** The settings a unit object may carry, in the order they are checked. */
export declare const UNIT_SETTINGS: readonly UnitSetting[];
