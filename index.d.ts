// Type definitions for synchronik 3.0.
//
// Works with both entry points: `require('synchronik')` and
// `import { … } from 'synchronik'`.

import { EventEmitter } from 'node:events';
import * as Vocabulary from './lib/generated/vocabulary';

// ---------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------

/**
 * The state of a unit.
 *
 * - `'idle'`: registered, not running (the initial status unless one is given).
 * - `'running'`: an attempt (or, for a process, a run of its workers) is in flight.
 * - `'paused'`: not run until it is set back to `'idle'` (see {@link SynchronikManagerBase.startAll}).
 * - `'completed'`: the last run succeeded.
 * - `'error'`: the last run failed; the error is in {@link SynchronikUnit.error}.
 */
export type Status = Vocabulary.Status;

/**
 * How a process runs its workers.
 *
 * - `'sequential'` (default): one after another, in array order; the first
 *   failure stops the run.
 * - `'parallel'`: all at once; failures do not stop the others.
 * - `'batched'`: groups of {@link SynchronikProcess.batchSize} in array order;
 *   a group starts when the previous one has settled.
 * - `'isolated'`: sequential, with {@link SynchronikProcess.isolationDelayMs}
 *   of rest after every worker.
 */
export type RunMode = Vocabulary.RunMode;

/**
 * Statistics the engine keeps in a unit's `meta` object, next to whatever
 * the caller put there.
 */
export interface UnitMeta {
  /** Completed runs so far. */
  runCount?: number;
  /** Durations of the most recent completed runs in ms (the last 100 only). */
  executionTimesMs?: number[];
  /** Average duration of completed runs in ms. */
  averageExecutionTimeMs?: number;
  /** Duration of the last completed run in ms. */
  lastDurationMs?: number;
  /** Any data of the caller's own. */
  [key: string]: any;
}

/**
 * What a failed run leaves in a unit's `error`, and what `onError`, `error`
 * and `retry` events and failed pool tasks carry: the `Error` the run threw
 * or rejected with, as it was (it may have a `code` of its own), or a
 * {@link SynchronikError} the engine made — `ERR_TIMEOUT`, `ERR_STOPPED`,
 * `ERR_RELEASED`, `ERR_CANCELLED` for an aborted attempt,
 * `ERR_NON_ERROR_THROWN` for a thrown value that is not an `Error` (kept as
 * its `cause`), `ERR_WORKER_FAILED` for a process a worker failed (the
 * worker's error as its `cause`). Narrow with `instanceof SynchronikError`
 * to read a {@link SynchronikErrorCode}.
 *
 * @example
 * const { error } = manager.getWorkerById('fetch-prices') ?? {};
 * if (error instanceof SynchronikError && error.code === 'ERR_TIMEOUT') retryLater();
 */
export type UnitError = SynchronikError | (Error & { code?: unknown });

/**
 * The fields workers and processes share.
 *
 * The manager keeps the caller's own object: after registration the engine
 * writes `status`, `enabled`, `meta`, `error`, `lastRun` (and `processId` on
 * workers) back onto it whenever they change. Read them freely; change them
 * through the manager's methods, not by assignment.
 */
export interface SynchronikUnit {
  /** Unique id (a non-empty string). Registering the same id again replaces the unit. */
  id: string;
  /** Human-readable name. */
  name?: string;
  /** Free text. */
  description?: string;
  /** A disabled unit is not run. Default `true`. */
  enabled?: boolean;
  /** Initial status when registering (default `'idle'`); afterwards the current status. */
  status?: Status;
  /** Caller data plus the engine's run statistics (see {@link UnitMeta}). */
  meta?: UnitMeta;
  /** When the last run started. Written by the engine. */
  lastRun?: Date;
  /** The error of the last failed run (cleared when a run starts). Written by the engine. */
  error?: UnitError;
  /** How a process runs its workers (meaningful on processes only; kept here as in 2.3). */
  runMode?: RunMode;
  /** Called when a run of the unit starts. Exceptions are reported on `listenerError`. */
  onStart?(): void;
  /**
   * Called when a run of the unit completed, with the value `run` resolved to
   * (`undefined` for a process). Exceptions are reported on `listenerError`.
   */
  onComplete?(result: unknown): void;
  /** Called once when a run finally failed (after all retries). Exceptions are reported on `listenerError`. */
  onError?(error: UnitError): void;
}

/**
 * A worker: a unit with a `run` function.
 *
 * `TResult` is what `run` resolves to, passed on to `onComplete`; it is
 * inferred when the worker is written inline in
 * {@link SynchronikManagerBase.registerUnit} (`SynchronikWorker` without it
 * takes any result).
 *
 * @example
 * const worker: SynchronikWorker<Price[]> = {
 *   id: 'fetch-prices',
 *   maxRetries: 2,
 *   retryDelayMs: (retry) => 100 * 2 ** (retry - 1),
 *   run: async ({ signal }) => (await fetch(url, { signal })).json(),
 * };
 */
export interface SynchronikWorker<TResult = unknown> extends SynchronikUnit {
  /**
   * The work. May be async or sync, and may ignore its argument (functions
   * written for 2.3 take none). Its (resolved) value is the run's result; a
   * throw or rejection is a failed attempt. `ctx.signal` is aborted when the
   * attempt times out or the unit is released.
   */
  run: (ctx: RunContext) => TResult | PromiseLike<TResult>;
  /**
   * Called when a run of the worker completed, with the value `run`
   * resolved to. Exceptions are reported on `listenerError`.
   */
  onComplete?(result: TResult): void;
  /** Interval for scheduled runs, in ms (used with `runOnInterval`). */
  intervalMs?: number;
  /** When `true` and `intervalMs` is set, the scheduler runs the worker every `intervalMs`. Default `false`. */
  runOnInterval?: boolean;
  /**
   * Runs the worker by the calendar instead of an interval (not with
   * `intervalMs`): a cron expression in a time zone, or one-off times. It
   * fires while the manager is started; see {@link CronSchedule}.
   */
  schedule?: WorkerSchedule;
  /** After this many completed runs the worker is disabled. */
  maxRuns?: number;
  /** Time limit per attempt in ms. Default 10000; `0` means no limit. */
  timeoutMs?: number;
  /** Extra attempts after a failed one. Default 0. */
  maxRetries?: number;
  /**
   * Wait before each retry, in ms: a number, or a function of the 1-based
   * retry number (1 = the first retry) returning ms.
   */
  retryDelayMs?: number | ((retry: number) => number);
  /** What to do when a scheduled run comes while the previous one is still in flight. Default `'skip'`. */
  overlap?: Vocabulary.Overlap;
  /** The id of the process this worker was registered through. Written by the engine. */
  processId?: string;
  /**
   * Workers of the same process that must complete first: their ids, or
   * {@link Dependency} objects with a condition on their result. When any
   * worker of a process declares dependencies, the process runs as a
   * dependency graph instead of by its `runMode`: a worker starts as soon as
   * its own dependencies completed (and their conditions held), independent
   * branches run concurrently. A false condition skips the worker and
   * everything downstream of it; a failed worker skips its dependents.
   * Every id must name a worker of the same process (checked at
   * registration, a `TypeError` otherwise); a cycle makes `runProcessById`
   * reject with `ERR_DEPENDENCY_CYCLE` before anything runs. It cannot be
   * changed by a config update: register the process again. (On a
   * standalone worker the ids must name registered units, and
   * `runWorkerById` does not wait for them.)
   *
   * @example
   * { id: 'unzip', dependsOn: ['download'], run: unzip }
   * { id: 'cleanup', dependsOn: [{ id: 'encode', condition: (r) => r.duration >= 60 }], run: cleanup }
   */
  dependsOn?: Array<string | Dependency>;
}

/**
 * A worker whose runs execute on a thread pool of the manager (see
 * {@link SynchronikManagerBase.useThreadPool}) instead of a `run` function:
 * each run calls the pool's `handler` export with `payload` on a thread.
 * Retries, timeouts (a timed-out run's thread is ended and replaced),
 * schedules, run modes, dependency graphs and events are those of any
 * worker. A run while the manager has no open pool of that name fails
 * with `ERR_RUN_FAILED`.
 *
 * @example
 * manager.useThreadPool({ filename: './render.js', name: 'render' });
 * manager.registerUnit({ id: 'thumbnails', threadPool: 'render', handler: 'thumbnails', payload: { dir: 'uploads' }, intervalMs: 60_000, runOnInterval: true });
 */
export interface ThreadPoolWorker<TResult = unknown> extends Omit<SynchronikWorker<TResult>, 'run'> {
  /** The name of the thread pool that runs it. */
  threadPool: string;
  /** The handler (an export of the pool's module) to call. Default `'default'`. */
  handler?: string;
  /** What the handler receives (copied to the thread by structured clone). */
  payload?: unknown;
  run?: never;
}

/**
 * A process: a unit that runs a list of workers by a {@link RunMode}, or as
 * a dependency graph when any of them declares
 * {@link SynchronikWorker.dependsOn}. Registering a process registers each
 * of its workers too.
 */
export interface SynchronikProcess extends SynchronikUnit {
  /** The workers, in run order (for a dependency graph the order does not matter). */
  workers: Array<SynchronikWorker | ThreadPoolWorker>;
  /** Size of the groups in `'batched'` mode. Default 2. */
  batchSize?: number;
  /** Rest after every worker in `'isolated'` mode, in ms. Default 100. */
  isolationDelayMs?: number;
  /**
   * In `'parallel'` mode, at most this many workers run at once (a positive
   * integer); the next one starts, in array order, as soon as one settles.
   * Default: no limit. Other run modes and dependency graphs ignore it.
   */
  concurrency?: number;
}

/**
 * A dependency of a worker on another worker of the same process (an item
 * of {@link SynchronikWorker.dependsOn}): the other worker's id, and
 * optionally a condition on that worker's result.
 */
export interface Dependency {
  /** Id of the worker depended on (a worker of the same process). */
  id: string;
  /**
   * Called once with the result of that worker when it completed. When it
   * returns `false` the dependency is not met: the dependent worker and
   * everything downstream of it are skipped (`skipped` events with reasons
   * `'condition'` and `'dependency-skipped'`). A condition that throws counts
   * as `false`; the exception is reported on `listenerError`. It must be
   * synchronous.
   */
  condition?: (result: any) => boolean;
}

/**
 * What `run(ctx)` receives for each attempt.
 */
export interface RunContext {
  /** Id of the worker being run. */
  readonly unitId: string;
  /** The attempt number, 1-based (2 is the first retry). */
  readonly attempt: number;
  /**
   * Aborted when this attempt no longer counts: on timeout, when the unit
   * is released, when `stop({ timeoutMs })` gives up on it, or — for a pool
   * task — when the task is cancelled through its `pool.run` signal.
   * `signal.reason` is a {@link SynchronikError} (`ERR_TIMEOUT`,
   * `ERR_RELEASED`, `ERR_STOPPED`, `ERR_CANCELLED`). Pass it on to `fetch`,
   * timers and the like.
   */
  readonly signal: AbortSignal;
  /** Emits a milestone event, like {@link SynchronikManagerBase.emitMilestone}. */
  emitMilestone(milestoneId: string, payload?: Record<string, any>): void;
  /** Reports progress of this attempt: `fraction` from 0 to 1, with an optional message. */
  progress(fraction: number, message?: string): void;
  /**
   * Set for a durable pool task (one that names a `handler`, on a manager
   * with a SQLite store): the task's key, the same on every attempt and
   * across restarts of the process. Use it to make side effects idempotent
   * (tasks run at least once).
   */
  readonly idempotencyKey?: string;
}

/**
 * A registry entry as returned by {@link SynchronikManagerBase.getRegistrySnapshot}:
 * a deep copy of a unit without its functions (a process's `workers` are
 * copied the same way).
 */
export type UnitSnapshot = Omit<SynchronikUnit, 'onStart' | 'onComplete' | 'onError'> & { [field: string]: any };

/** Settings a worker can change after registration (everything but `id` and `dependsOn`). */
export type WorkerConfig = Partial<Omit<SynchronikWorker, 'id' | 'dependsOn'>>;

/** Settings a process can change after registration (everything but `id` and `workers`). */
export type ProcessConfig = Partial<Omit<SynchronikProcess, 'id' | 'workers'>>;

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/** A run of a unit started (or its status was set to `'running'` by hand). */
export interface StartEvent {
  type: 'start';
  unitId: string;
}

/**
 * A run of a unit completed (or its status was set to `'completed'` by hand:
 * `result` undefined, `durationMs` 0). The manager's `complete` events are
 * `CompleteEvent<unknown>`, as they come from every unit; `TResult` names
 * the result of one worker's, e.g. in a function that handles them.
 */
export interface CompleteEvent<TResult = unknown> {
  type: 'complete';
  unitId: string;
  /** The value `run` resolved to (`undefined` for a process). */
  result: TResult;
  /** How long the run took, in ms. */
  durationMs: number;
}

/**
 * A run of a unit finally failed (after all retries), or its status was set
 * to `'error'` by hand with an `error` in the payload.
 */
export interface ErrorEvent {
  type: 'error';
  unitId: string;
  /** What the run failed with. Values that are not `Error`s are wrapped in a {@link SynchronikError}. */
  error: UnitError;
}

/** A milestone: emitted by user code, or `unit:<processId>:running` / `unit:<processId>:completed` by a process run. */
export interface MilestoneEvent {
  type: 'milestone';
  milestoneId: string;
  /** The payload given to `emitMilestone` (`{}` when none); `{ runMode }` for the process milestones. */
  payload: Record<string, any>;
}

/**
 * The payload of an {@link UpdatedEvent}: a shallow copy of the unit's fields
 * plus why and how its status changed.
 */
export interface UpdatedPayload {
  /** `'status-change'` when the status changed, else `'config-change'`. */
  reason: Vocabulary.UpdateReason;
  /** Status before the change. */
  previous: Status;
  /** Status after the change (equal to `previous` for a config change). */
  current: Status;
  id: string;
  status: Status;
  enabled: boolean;
  meta: UnitMeta;
  /** The unit's other fields (name, workers, run, …). */
  [field: string]: any;
}

/** A unit's state or settings changed. Every status change produces one, before any `start`/`complete`/`error`. */
export interface UpdatedEvent {
  type: 'updated';
  unitId: string;
  payload: UpdatedPayload;
}

/** An attempt failed and another one follows after `delayMs`. */
export interface RetryEvent {
  type: 'retry';
  unitId: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  /** Wait before the next attempt, in ms. */
  delayMs: number;
  /** What the attempt failed with. */
  error: UnitError;
}

/**
 * Why a run was skipped:
 *
 * - `'overlap'`: a scheduled run came while the previous one was in flight
 *   and the worker's `overlap` is `'skip'`.
 * - `'condition'`: in a dependency graph, a {@link Dependency.condition} on
 *   the worker's dependency returned false.
 * - `'dependency-failed'`: in a dependency graph, a dependency of the worker
 *   failed.
 * - `'dependency-skipped'`: in a dependency graph, a dependency of the worker
 *   was skipped (or did not run: disabled or paused).
 */
export type SkipReason = Vocabulary.SkipReason;

/** A run was skipped (overlapping schedule; in a dependency graph: unmet condition, failed or skipped dependency). */
export interface SkippedEvent {
  type: 'skipped';
  unitId: string;
  /** Why it was skipped. */
  reason: SkipReason;
}

/** A run made no progress for longer than `stallThresholdMs`. */
export interface StalledEvent {
  type: 'stalled';
  unitId: string;
  /** How long the run has been going, in ms. */
  runningForMs: number;
  /** `true` when it is the JavaScript thread that was blocked. */
  eventLoop?: boolean;
}

/**
 * A pool task's status changed (see {@link TaskStatus}). Delivered to
 * `manager.on('task', …)` listeners only — not to
 * {@link SynchronikManagerBase.subscribeToEvents}, whose events are about units
 * (and so all but milestones have a `unitId`).
 */
export interface TaskEvent {
  type: 'task';
  /** The name of the pool ({@link WorkerPool.name}). */
  pool: string;
  /** The task's name (`'(anonymous)'` for a `pool.run` task). */
  name: string;
  /** The task's new status. */
  status: TaskStatus;
  /** The live task object (a thread pool's named task: a {@link ThreadTask}). */
  task: Task;
  /**
   * Why the task ended, when it failed (`status: 'error'`: what it threw or
   * rejected with, a value that is not an `Error` wrapped as for a worker)
   * or was dropped by `stop()` / `close()` before it ran
   * (`status: 'cancelled'`, a {@link SynchronikError} `ERR_STOPPED` /
   * `ERR_CLOSED`). Absent otherwise.
   */
  error?: UnitError;
}

/**
 * The events of units and milestones, discriminated by `type`: what
 * {@link SynchronikManagerBase.subscribeToEvents} delivers. Every one but a
 * milestone has a `unitId` (as in synchronik 2.3). Pool tasks have their
 * own {@link TaskEvent}, delivered to `manager.on('task', …)`.
 *
 * @example
 * manager.subscribeToEvents((event) => {
 *   if (event.type === 'complete') console.log(event.unitId, event.durationMs);
 *   if (event.type !== 'milestone') console.log(event.unitId);
 * });
 */
export type SynchronikEvent =
  | StartEvent
  | CompleteEvent
  | ErrorEvent
  | MilestoneEvent
  | UpdatedEvent
  | RetryEvent
  | SkippedEvent
  | StalledEvent;

/** The `type` of a {@link SynchronikEvent}. */
export type SynchronikEventType = SynchronikEvent['type'];

/**
 * A listener, hook or callback threw. The engine carries on; the exception is
 * reported here (or printed once when nobody listens to `listenerError`).
 */
export interface ListenerErrorEvent {
  type: 'listenerError';
  /** What was thrown. */
  error: unknown;
  /**
   * The event being delivered; `{ type: <hook name>, unitId }` for a hook;
   * `{ type: 'retryDelayMs', unitId }` for a `retryDelayMs` function (or its getter);
   * `{ type: 'condition', unitId, dependency }` for a {@link Dependency.condition};
   * `{ type: 'mirror', unitId, field }` when the unit object refused a field the
   * engine writes back onto it (a setter that throws).
   */
  event: { readonly type?: string; readonly unitId?: string; readonly [key: string]: unknown };
}

/**
 * Event names and listener arguments of {@link SynchronikManager} as an
 * `EventEmitter`: what `on`, `once`, `off`, `emit` and the other listener
 * methods accept. The manager declares those methods itself, so their
 * checks do not depend on the version of `@types/node` in use.
 */
export type SynchronikEventMap = {
  start: [event: StartEvent];
  complete: [event: CompleteEvent];
  error: [event: ErrorEvent];
  milestone: [event: MilestoneEvent];
  updated: [event: UpdatedEvent];
  retry: [event: RetryEvent];
  skipped: [event: SkippedEvent];
  stalled: [event: StalledEvent];
  task: [event: TaskEvent];
  listenerError: [event: ListenerErrorEvent];
};

/** The name of an event of {@link SynchronikManager} (a key of {@link SynchronikEventMap}). */
export type SynchronikEventName = keyof SynchronikEventMap;

/** A listener of the manager's event `K`. */
export type SynchronikListener<K extends SynchronikEventName> = (...args: SynchronikEventMap[K]) => void;

/**
 * The `EventEmitter` methods of {@link SynchronikManager}, typed by
 * {@link SynchronikEventMap}: an unknown event name, or a listener that
 * expects another event, does not compile. Declared here rather than taken
 * from `@types/node`'s generic `EventEmitter<T>`, which older versions of
 * `@types/node` do not have.
 */
export interface SynchronikEventEmitter extends EventEmitter {
  /** Adds `listener` for the event `eventName` (at the end of its listeners). */
  on<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Same as {@link SynchronikEventEmitter.on}. */
  addListener<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Adds `listener` at the front of the event's listeners. */
  prependListener<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Adds `listener` for the next `eventName` event only. */
  once<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Adds `listener` for the next `eventName` event only, at the front of its listeners. */
  prependOnceListener<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Removes `listener` from the event's listeners. */
  off<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Same as {@link SynchronikEventEmitter.off}. */
  removeListener<K extends SynchronikEventName>(eventName: K, listener: SynchronikListener<K>): this;
  /** Removes every listener of `eventName`, or of every event. */
  removeAllListeners(eventName?: SynchronikEventName): this;
  /** Calls the listeners of `eventName` with `args`, as if the engine had produced the event. @returns whether there were any. */
  emit<K extends SynchronikEventName>(eventName: K, ...args: SynchronikEventMap[K]): boolean;
  /** How many listeners `eventName` has (counting only `listener` when it is given). */
  listenerCount<K extends SynchronikEventName>(eventName: K, listener?: SynchronikListener<K>): number;
  /** The listeners of `eventName`. */
  listeners<K extends SynchronikEventName>(eventName: K): Array<SynchronikListener<K>>;
  /** The listeners of `eventName`, including the wrappers `once` made. */
  rawListeners<K extends SynchronikEventName>(eventName: K): Array<SynchronikListener<K>>;
  /** The events that have listeners. */
  eventNames(): SynchronikEventName[];
  /** Sets how many listeners of one event may be added before Node warns of a possible leak. */
  setMaxListeners(n: number): this;
  /** How many listeners of one event may be added before Node warns of a possible leak. */
  getMaxListeners(): number;
}

// ---------------------------------------------------------------------------
// Manager
// ---------------------------------------------------------------------------

/**
 * What `options.clock` of {@link createSynchronikManager} accepts: `'system'`
 * (the default), `'manual'`, or a manual clock that starts at a given
 * instant ({@link ManualClockOptions}).
 */
export type ClockOption = 'system' | 'manual' | ManualClockOptions;

/** Which clock a manager reads: the machine's (`'system'`) or a {@link ManualClock} (`'manual'`). */
export type ClockKind = 'system' | 'manual';

/** The {@link ClockKind} a {@link ClockOption} gives (a union for a union). */
export type ClockKindOf<TClock extends ClockOption> = TClock extends 'system' ? 'system' : 'manual';

/** Options of {@link createSynchronikManager}. All are in milliseconds and must be positive. */
export interface ManagerOptions {
  /** Time between scheduler sweeps of idle processes, in ms. Default 1000. */
  loopInterval?: number;
  /** Time between watcher scans, in ms. Default 60000. */
  watcherInterval?: number;
  /**
   * A run with no `ctx.progress()` for this long is reported by a `stalled`
   * event, and so is JavaScript blocked this long inside a `run`
   * (`eventLoop: true`). Off by default.
   */
  stallThresholdMs?: number;
  /** The watcher un-pauses units paused for this long (milestone `worker:<id>:unpaused`). Off by default. */
  autoUnpauseMs?: number;
  /** The watcher releases units idle for this long (milestone `worker:<id>:released`). Off by default. */
  releaseIdleAfterMs?: number;
  /** While started, emit the milestone `engine:stats` with {@link SynchronikManagerBase.getEngineStats} this often. */
  statsEmissionIntervalMs?: number;
  /**
   * `'manual'`: every engine timer reads a clock that moves only through
   * `manager.clock.advance()` / `runUntilIdle()` — for tests. Default `'system'`.
   * `{ manual: true, now }` starts that clock at the instant `now`.
   */
  clock?: ClockOption;
  /**
   * Durable state in an embedded SQLite database, opened when the manager is
   * created (a file that is not a valid database, or a path that cannot be
   * created, throws a {@link SynchronikError} `ERR_STORAGE` there and the
   * file is left unchanged). One manager per file: while a manager (of this
   * process or another) has it open, creating another one on it throws
   * `ERR_STORAGE` naming that one's pid and host. See {@link StorageOptions}.
   *
   * Or a PostgreSQL database shared by any number of managers on any number
   * of machines ({@link PostgresStorageOptions}), connected to (and its
   * schema migrated) when the manager is created: an unreachable server,
   * refused credentials or a schema of another application throw
   * `ERR_STORAGE` there.
   */
  storage?: StorageOptions | PostgresStorageOptions;
  /** What {@link SynchronikManagerBase.metrics} (and the dashboard's `/metrics`) count. See {@link MetricsOptions}. */
  metrics?: MetricsOptions;
}

/** Options of the metrics (`createSynchronikManager({ metrics })`). Any other key is a `TypeError`. */
export interface MetricsOptions {
  /**
   * Count runs per unit too: `synchronik_runs_total` and
   * `synchronik_run_duration_seconds` get a `unit` label (one series per
   * unit id, so only for a bounded set of units). Default `false`. A pool
   * task's name or id is never a label.
   */
  unitLabels?: boolean;
}

/**
 * {@link ManagerOptions} with the type of their `clock`: what
 * {@link createSynchronikManager} takes, inferring `TClock` so that the
 * manager it returns has `clock` exactly for a manual clock.
 */
export interface ManagerOptionsWithClock<TClock extends ClockOption> extends ManagerOptions {
  clock?: TClock;
}

/**
 * The SQLite store: unit state (status, enabled, run statistics, lastRun,
 * meta), pool tasks that name a handler (durable, run at least once), and
 * a history of attempts.
 */
export interface StorageOptions {
  /** The database file (created if missing; its directory must exist). */
  sqlite: string;
  /**
   * The history of attempts (see {@link SynchronikManagerBase.history}): `false`
   * keeps none. Default: rows of the last 7 days, at most 100,000.
   */
  history?: false | { maxAgeMs?: number; maxRows?: number };
}

/** Where the PostgreSQL server is, as parts (any one left out takes libpq's default). */
export interface PostgresConnection {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** `true`: TLS required (certificates checked against the web's roots); `false`: no TLS. Default: TLS when the server offers it. */
  ssl?: boolean;
}

/**
 * The PostgreSQL store: the SQLite store's contract (unit state, durable
 * pool tasks, history, `flush()`, `close()`) in a database shared by every
 * manager that names it. Durable tasks of a pool name run on whichever
 * node has that pool and handler and a free worker; a node that stops
 * renewing its lease (killed, cut off) loses its tasks to the others,
 * which run them with `attempt` one higher and the same `idempotencyKey`.
 */
export interface PostgresStorageOptions {
  /** A connection string (`postgres://user:password@host:5432/db`) or its parts. */
  postgres: string | PostgresConnection;
  /** The schema that holds synchronik's tables (created if missing). Two applications on one database use two schemas. Default `'synchronik'`. */
  schema?: string;
  /** As for SQLite: `false` keeps no history. Default: rows of the last 7 days, at most 100,000. */
  history?: false | { maxAgeMs?: number; maxRows?: number };
  /** A node's lease (renewed every third of it): after this long without a renewal, its tasks run elsewhere. Default 30,000; at least 300. */
  leaseMs?: number;
  /** How often an idle node looks for tasks when no notification came. Default 1,000. */
  pollMs?: number;
  /** How long connecting may take when the manager is created. Default 10,000. */
  connectTimeoutMs?: number;
  /**
   * How many tasks a pool claims ahead of its workers (it claims again once
   * a quarter of them are taken). More means fewer round trips on a deep
   * queue of short tasks, and tasks held here that another node might have
   * run sooner. Default: by the pool's pace — as many as its workers start
   * in about 50 ms at the running time of the recently completed tasks of
   * its slowest handler here (once every handler it takes has completed a
   * task here), at least the pool's size + 8, at most 1,000 (or size + 8 if
   * larger). For a pool of 4: size + 8 for tasks of 17 ms or more, 200 for
   * tasks of 1 ms.
   */
  prefetch?: number;
}

/** A live node of a PostgreSQL store (see {@link SynchronikManagerBase.nodes}). */
export interface ClusterNode {
  /** `host:pid:random`, as {@link SynchronikManagerBase.nodeId} says for the node itself. */
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  /** Its last renewal, on the server's clock. */
  lastSeenAt: Date;
}

/**
 * Creates or migrates a PostgreSQL store's schema without starting a node,
 * under the same advisory lock managers take: for deploys that want the
 * schema ready before the first new process starts. Resolves with the
 * versions before (`0`: no schema) and after.
 */
export function migratePostgres(options: { postgres: string | PostgresConnection; schema?: string; connectTimeoutMs?: number }): Promise<{ from: number; to: number }>;

/** Where {@link SynchronikManagerBase.useStorage} keeps unit state. */
export interface StorageAdapter {
  /** Stores the units (snapshots without functions). */
  saveState(units: UnitSnapshot[]): Promise<void>;
  /** The stored units, or null when there are none. */
  loadState(): Promise<UnitSnapshot[] | null>;
}

/**
 * Stores units as JSON in one file, written atomically (temporary file +
 * rename). A missing file loads as null, a corrupt one as null with a
 * console error.
 */
export class FileStorageAdapter implements StorageAdapter {
  /** @param filePath default `'synchronik-state.json'`, resolved against the working directory */
  constructor(filePath?: string);
  readonly filePath: string;
  saveState(units: UnitSnapshot[]): Promise<void>;
  loadState(): Promise<UnitSnapshot[] | null>;
}

/** Filters of {@link SynchronikManagerBase.history}. */
export interface HistoryQuery {
  /** Only attempts of this unit (for pool tasks: the pool worker that ran them). */
  unitId?: string;
  /** At most this many rows, the newest. Default 100. */
  limit?: number;
  /** Only attempts that started at or after this time. */
  since?: Date | number;
}

/** One attempt, as {@link SynchronikManagerBase.history} returns it. */
export interface HistoryEntry {
  /** The worker that ran the attempt (for a pool task: the pool worker). */
  unitId: string;
  /** Set for a durable pool task. */
  task?: { name: string; pool: string; idempotencyKey: string };
  /** The attempt number (for a durable task: counted across restarts). */
  attempt: number;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  /** How the attempt ended. `'stopped'`: ended by `stop({ timeoutMs })` (a durable task then runs again after a restart). */
  outcome: 'completed' | 'error' | 'timeout' | 'cancelled' | 'stopped';
  /** The error message of a failed attempt. */
  error?: string;
}

/** Options of {@link SynchronikManagerBase.stop}. */
export interface StopOptions {
  /** Runs still in flight after this many ms are aborted and fail with `ERR_STOPPED`. Default: no limit. */
  timeoutMs?: number;
}

/**
 * A manual clock that starts at a given instant: `clock.now()` is `now` in
 * epoch ms, and `lastRun` and history times follow from it.
 */
export interface ManualClockOptions {
  manual: true;
  /** The instant the clock starts at: a Date, an ISO date string or epoch ms. Default: 0 (`lastRun` then follows the machine's time at creation). */
  now?: Date | string | number;
}

/**
 * The clock of a manager created with `clock: 'manual'`. Every engine timer —
 * intervals, retry delays, timeouts, isolation delays, sweeps, watcher scans,
 * stop deadlines — reads it.
 */
export interface ManualClock {
  /** The clock's time in ms; 0 when the manager was created, or the epoch ms of `clock.now` when one was given. */
  now(): number;
  /**
   * Moves time forward by `ms`, firing every timer due on the way in time
   * order; resolves once the runs they started have settled (as far as they
   * settle without real time passing). Deadlines are exact however far the
   * clock goes; it goes no further than 1e30 ms: an `ms` that would take it
   * past that rejects with a `TypeError` and the clock does not move.
   */
  advance(ms: number): Promise<void>;
  /**
   * Fires timers in time order until no run is in flight and only the
   * recurring timers of a started manager are left.
   */
  runUntilIdle(): Promise<void>;
}

/** What {@link SynchronikManagerBase.getEngineStats} returns. */
export interface EngineStats {
  /** Memory of this Node.js process, each formatted like `'45.12 MB'`. */
  memory: { rss: string; heapTotal: string; heapUsed: string; external: string };
  /** CPU used since the previous call, like `'12.50%'` (`'0.00%'` on the first call). */
  cpu: string;
  /** The engine's counts. */
  engine: {
    /** Registered units. */
    units: number;
    /** Units running now. */
    running: number;
    /** Runs waiting to start. */
    queued: number;
    /** Attempts in flight in JavaScript now. */
    dispatched: number;
    /**
     * The largest event-loop lag in ms seen since the previous call, sampled
     * every 20 ms while the manager is started (0 while it is not): how much
     * later than due JavaScript got to run.
     */
    eventLoopLagMs: number;
  };
  /** The same memory figures as numbers of bytes. */
  memoryBytes: { rss: number; heapTotal: number; heapUsed: number; external: number };
  /** The CPU figure as a number (percent of one core since the previous call; 0 on the first call). */
  cpuPercent: number;
  /** With a SQLite store: its size on disk (database and write-ahead log) and the writes not committed yet. */
  storage?: { bytes: number; pendingWrites: number };
}

/**
 * Everything a {@link SynchronikManager} has whatever its clock: what
 * {@link SynchronikManager} adds is `clock`, for a manual clock.
 */
export interface SynchronikManagerBase extends SynchronikEventEmitter {
  // --- Registration and lookup ---------------------------------------------

  /**
   * Validates and registers a worker, or a process with its workers (which
   * get `processId` set). Re-registering an id replaces the unit in place.
   * Nothing is stored when validation fails (a `TypeError` is thrown).
   * A worker written inline gets its result type from `run`:
   * `registerUnit({ id, run: async () => 42, onComplete: (n) => … })` types
   * `n` as `number`.
   * @returns the same object.
   */
  registerUnit<TResult = unknown>(unit: SynchronikWorker<TResult>): SynchronikWorker<TResult>;
  registerUnit<TResult = unknown>(unit: ThreadPoolWorker<TResult>): ThreadPoolWorker<TResult>;
  registerUnit(unit: SynchronikProcess): SynchronikProcess;
  registerUnit<TResult = unknown>(
    unit: SynchronikWorker<TResult> | ThreadPoolWorker<TResult> | SynchronikProcess,
  ): SynchronikWorker<TResult> | ThreadPoolWorker<TResult> | SynchronikProcess;

  /**
   * Removes a unit; a running one has its signal aborted. Unknown ids are
   * ignored. A worker of a pool is refused with a `TypeError` (remove pool
   * workers with {@link WorkerPool.resize}).
   */
  releaseUnit(id: string): void;

  /** The registered object with this id (worker or process). */
  getUnitById(id: string): SynchronikWorker | SynchronikProcess | undefined;

  /** The registered worker with this id. */
  getWorkerById(id: string): SynchronikWorker | undefined;

  /** The registered process with this id. */
  getProcessById(id: string): SynchronikProcess | undefined;

  /** The status of the unit with this id. */
  getUnitStatus(id: string): Status | undefined;

  /** Every registered unit in registration order (a process before its workers). */
  listUnits(): Array<SynchronikWorker | SynchronikProcess>;

  /** Every registered worker in registration order. */
  listWorkers(): SynchronikWorker[];

  /** Every registered process in registration order. */
  listProcesses(): SynchronikProcess[];

  /** Deep copies of every unit without functions. Never throws. */
  getRegistrySnapshot(): UnitSnapshot[];

  // --- State -----------------------------------------------------------------

  /**
   * Sets a unit's status. `options.payload` is merged into the unit (so it
   * shows in the `updated` event); with status `'error'`, a payload `error`
   * becomes the unit's error and is announced by an `error` event.
   * Takes effect before it returns.
   */
  updateStatus(id: string, status: Status, options?: { payload?: Record<string, any> }): Promise<void>;

  /**
   * Changes a unit's settings. A new `run`, `maxRetries`, `timeoutMs`, …
   * applies from the next attempt; a running attempt keeps its function.
   */
  updateUnitConfig(id: string, config: WorkerConfig | ProcessConfig): Promise<void>;

  /** Changes a worker's settings (see {@link SynchronikManagerBase.updateUnitConfig}). */
  updateWorkerConfig(id: string, config: WorkerConfig): Promise<void>;

  /** Changes a process's settings (see {@link SynchronikManagerBase.updateUnitConfig}). */
  updateProcessConfig(id: string, config: ProcessConfig): Promise<void>;

  /** Enables a worker. */
  enableWorker(id: string): Promise<void>;

  /** Disables a worker: it is not run until enabled again. */
  disableWorker(id: string): Promise<void>;

  /** Enables a process. */
  enableProcess(id: string): Promise<void>;

  /** Disables a process: it is not run until enabled again. */
  disableProcess(id: string): Promise<void>;

  /** Enables a unit of either kind. */
  enableUnit(id: string): Promise<void>;

  /** Disables a unit of either kind. */
  disableUnit(id: string): Promise<void>;

  /** Disables a worker so that it is not run again (same as {@link SynchronikManagerBase.disableWorker}). */
  stopWorkerById(id: string): Promise<void>;

  /** Every `'paused'` unit becomes `'idle'`. */
  startAll(): void;

  /** Every unit becomes `'paused'`. */
  stopAll(): void;

  // --- Execution ---------------------------------------------------------------

  /**
   * Runs one worker now: up to `maxRetries + 1` attempts, each bounded by
   * `timeoutMs`. Resolves when the run ended, whether it completed or failed
   * (never rejects). A paused or disabled worker is not run. While the
   * worker runs, its `overlap` decides: `'skip'` (default) joins the run in
   * flight, `'queue'` waits for one run right after it, `'allow'` starts
   * another alongside.
   */
  runWorkerById(id: string): Promise<void>;

  /** Runs a unit now: a worker as {@link SynchronikManagerBase.runWorkerById}, a process as {@link SynchronikManagerBase.runProcessById}. */
  runUnitById(id: string): Promise<void>;

  /**
   * Runs a process's enabled workers now by its run mode, or as a dependency
   * graph when any of them declares `dependsOn`; the process is `'running'`,
   * then `'completed'`. In `'sequential'` and `'isolated'` mode a failing
   * worker stops the run, leaves the process in `'error'` and the promise
   * rejects with a {@link SynchronikError} (`ERR_WORKER_FAILED`) whose
   * `unitId` names the worker. In a graph a failing worker skips only its
   * dependents; the other branches finish, then the process ends in
   * `'error'` and the promise rejects the same way; a cycle rejects with
   * `ERR_DEPENDENCY_CYCLE` before anything runs. `'parallel'` and
   * `'batched'` runs always resolve, with the failed workers in `'error'`.
   * While the process runs, a second call joins that run and settles with
   * its outcome.
   */
  runProcessById(id: string): Promise<void>;

  /**
   * One scheduler sweep now: every interval worker that is due (never ran, or
   * last ran at least `intervalMs` ago) and every idle enabled process.
   * Resolves when the runs it started have ended.
   */
  runLoopOnce(): Promise<void>;

  /** One watcher scan now (stalls, auto-unpause, idle release). */
  runWatcherScan(): void;

  /**
   * The next `count` (default 5, at most 1000) times worker `id` runs by
   * its schedule or its interval, from now on the manager's clock; `[]`
   * for a worker that is not scheduled. An unknown id throws a
   * `SynchronikError` `ERR_UNKNOWN_UNIT`.
   */
  nextRuns(id: string, count?: number): Date[];

  /**
   * Pauses the calendar schedule of worker `id`: it fires no more until
   * {@link SynchronikManagerBase.resumeSchedule}; the worker stays enabled
   * and can still be run by hand. A worker without a schedule is a
   * `TypeError`; an unknown id `ERR_UNKNOWN_UNIT`.
   */
  pauseSchedule(id: string): void;

  /** Resumes a paused schedule: it fires next at its first time still to come (what it passed while paused is not caught up). */
  resumeSchedule(id: string): void;

  // --- Background operation --------------------------------------------------------

  /**
   * Starts the scheduler, the watcher and the manager's worker pools (and
   * resumes thread pools paused by `stop()`). Idempotent. While started,
   * the manager keeps Node alive.
   */
  start(): void;

  /**
   * Stops scheduling new runs (and dispatching pool tasks) at once and
   * resolves when the runs in flight have settled; with `timeoutMs`, runs
   * still in flight then are aborted through their signal and fail with
   * `ERR_STOPPED`. Pool tasks still queued that live in memory only are
   * dropped at once (a `pool.run` rejects with `ERR_STOPPED`, a named task
   * ends `'cancelled'`); stored (durable) tasks stay queued. Called from
   * inside a run, it does not wait for that run. Without `timeoutMs`, a stop
   * still waiting after 10 s emits one process warning
   * (`SYNCHRONIK_STOP_WAITING`) naming the units still running. Afterwards
   * nothing of the manager keeps Node alive.
   *
   * Thread pools pause alike: their queued runs and in-memory named tasks
   * end with `ERR_STOPPED`, stored tasks stay queued, the stop waits for
   * the tasks running on threads (at `timeoutMs` their threads are
   * terminated and they fail with `ERR_STOPPED`), and every thread has
   * ended when it resolves. Until `start()`, `pool.run` rejects with
   * `ERR_STOPPED` and `addTask` queues for the start.
   */
  stop(options?: StopOptions): Promise<void>;

  // --- Events --------------------------------------------------------------------

  /**
   * Listens to every event of units and milestones ({@link SynchronikEvent};
   * pool `task` events go to `on('task', …)` only). @returns a function that
   * removes the listener.
   */
  subscribeToEvents(listener: (event: SynchronikEvent) => void): () => void;

  /** Calls `handler(milestoneId, payload)` for every milestone. @returns a function that removes it. */
  onMilestone(handler: (milestoneId: string, payload: Record<string, any>) => void): () => void;

  /** Calls `handler(event)` for every `start` event. @returns a function that removes it. */
  onStart(handler: (event: StartEvent) => void): () => void;

  /** Calls `handler(event)` for every `complete` event. @returns a function that removes it. */
  onComplete(handler: (event: CompleteEvent) => void): () => void;

  /** Calls `handler(event)` for every `error` event. @returns a function that removes it. */
  onError(handler: (event: ErrorEvent) => void): () => void;

  /** Emits a milestone event (`payload` defaults to `{}`), after every event produced before it. */
  emitMilestone(milestoneId: string, payload?: Record<string, any>): void;

  // --- Worker pools -----------------------------------------------------------------

  /**
   * The worker pool called `options.name` (default `'default'`) with `size`
   * workers (default 5), created on first use. Its workers are registered as
   * units with ids `pool-worker-1…N` (`<name>:pool-worker-1…N` for a pool
   * with another name). Asking again for the same name returns the same
   * pool, resized to `size`. Tasks are dispatched once the pool is started —
   * by `pool.start()` or the manager's {@link SynchronikManagerBase.start}.
   * `size` is an integer from 1 to 10,000: every pool worker is a registered
   * unit, so a larger size (a "no limit" such as `1e9`) is a `TypeError`.
   *
   * @example
   * const pool = manager.useWorkerPool(4);
   * pool.start();
   * const size = await pool.run(async (url, { signal }) => (await fetch(url, { signal })).headers.get('content-length'), { payload: url });
   */
  useWorkerPool(size?: number, options?: WorkerPoolOptions): WorkerPool;

  /**
   * Creates a pool of threads (worker_threads) that run the handlers the
   * module `filename` exports: its default export (or `module.exports`
   * when it is a function) as `'default'`, and every exported function by
   * its name. The engine owns the queue and hands each task to a thread
   * directly; results come back by the structured clone algorithm. Threads
   * start at once; an idle pool does not keep Node alive. A pool runs
   * without `start()`; the manager's `stop()` pauses it (see
   * {@link SynchronikManagerBase.stop}) until `start()`, and `close()`
   * destroys it. With a SQLite store, the stored named tasks
   * ({@link ThreadPool.addTask}) of a pool of this name come back.
   *
   * @example
   * const pool = manager.useThreadPool({ filename: new URL('./crunch.js', import.meta.url), size: 2 });
   * const hash = await pool.run({ file: 'a.bin' }, { handler: 'sha256' });
   * await pool.close();
   */
  useThreadPool(options: ThreadPoolOptions): ThreadPool;

  // --- Seeing the engine: the web dashboard and metrics --------------------------------

  /**
   * Serves the web dashboard, its JSON API (`api/…`, see
   * `crates/synchronik-web/API.md`) and `/metrics` on a thread of the
   * engine, so it answers — and shows the block — while JavaScript is
   * blocked. Resolves once the server listens. A bad option is a
   * `TypeError` (a `host` that is not loopback needs an explicit `token`);
   * a port in use rejects with a {@link SynchronikError} whose `code` is
   * the system's (`EADDRINUSE`). The server never keeps Node alive;
   * `close()` and the manager's `close()` stop it.
   *
   * @example
   * const dashboard = await manager.serveDashboard({ port: 8080 });
   * console.log(`open ${dashboard.url}`);
   * // …
   * await dashboard.close();
   */
  serveDashboard(options?: ServeDashboardOptions): Promise<DashboardServer>;

  /**
   * The engine's metrics in the Prometheus text format (version 0.0.4):
   * the same text as the dashboard's `GET /metrics`. See the README's
   * "Web dashboard and metrics" for the families.
   */
  metrics(): string;

  // --- Other -----------------------------------------------------------------------

  /** Memory and CPU of this process and the engine's counts. */
  getEngineStats(): EngineStats;

  /**
   * Stops like {@link SynchronikManagerBase.stop}, then lets go of what the
   * manager holds: the SQLite store is committed and closed (and its file
   * free for another manager), and the engine's
   * timer thread ends. From the call on, every method but the lookups
   * (`getUnitById`, `listUnits`, `getRegistrySnapshot`, `getEngineStats`,
   * `simulateRun`, …) refuses with a {@link SynchronikError} `ERR_CLOSED`:
   * synchronous ones throw, the others reject. Queued in-memory pool tasks
   * are dropped with `ERR_CLOSED`. Calling it again returns the same promise.
   */
  close(options?: StopOptions): Promise<void>;

  // --- Durable storage ----------------------------------------------------------------

  /**
   * Persists unit state through `adapter` (e.g. a {@link FileStorageAdapter}):
   * loads the stored state, brings it back onto registered units with the
   * same ids (and onto units registered later with a stored id), then saves
   * after every state change. A failing save is logged and never fails the
   * call that caused it.
   */
  useStorage(adapter: StorageAdapter): Promise<void>;

  /**
   * Resolves once every change so far is committed — to the SQLite store
   * (rejects with `ERR_STORAGE` when a write failed) or through the adapter
   * of {@link SynchronikManagerBase.useStorage}. Resolves at once without storage.
   */
  flush(): Promise<void>;

  /**
   * The history of attempts kept by the SQLite store, newest first. Rejects
   * with `ERR_STORAGE` on a manager without one.
   */
  history(query?: HistoryQuery): Promise<HistoryEntry[]>;
  /**
   * The live nodes sharing this manager's PostgreSQL store, oldest first.
   * Rejects with `ERR_STORAGE` on a manager without one.
   */
  nodes(): Promise<ClusterNode[]>;
  /** This manager's node id in a PostgreSQL cluster; `undefined` without one. */
  readonly nodeId: string | undefined;
}

/**
 * Registers workers and processes, runs them and reports what happens.
 *
 * It is an `EventEmitter`: `manager.on('complete', (event) => …)`. Events
 * are delivered synchronously, in the order the engine produced them, and
 * those caused by a synchronous call are delivered before it returns. A
 * listener that throws does not break the engine (see `listenerError`); an
 * `error` event with no listener does not throw.
 *
 * Unknown ids passed to state methods are ignored; the `run*ById` methods
 * resolve without running. Bad arguments throw a `TypeError` that names the
 * field.
 *
 * `TClock` says which clock it reads: `manager.clock` (a {@link ManualClock})
 * is there for `'manual'`, absent for `'system'`, and optional for
 * `SynchronikManager` without a type argument (a manager of either clock).
 * {@link createSynchronikManager} infers it from `options.clock`.
 */
export type SynchronikManager<TClock extends ClockKind = ClockKind> = [TClock] extends ['system']
  ? SystemClockManager
  : [TClock] extends ['manual']
    ? ManualClockManager
    : SynchronikManagerBase & {
        /** The manual clock; present when the manager was created with `clock: 'manual'` (or `{ manual: true }`). */
        readonly clock?: ManualClock;
      };

/** A manager that reads the machine's clock (created without `clock`, or with `clock: 'system'`): it has no `clock`. */
export interface SystemClockManager extends SynchronikManagerBase {}

/** A manager created with `clock: 'manual'` or `clock: { manual: true, now }`: every engine timer reads its `clock`. */
export interface ManualClockManager extends SynchronikManagerBase {
  /** The manual clock: time moves only through `advance()` and `runUntilIdle()`. */
  readonly clock: ManualClock;
}

/**
 * Creates a manager. Creating one starts no timer.
 *
 * @example
 * import { createSynchronikManager } from 'synchronik';
 *
 * const manager = createSynchronikManager();
 * manager.registerUnit({ id: 'hello', run: async () => 'world' });
 * manager.on('complete', (e) => console.log(e.unitId, e.result));
 * await manager.runWorkerById('hello');
 */
export function createSynchronikManager<TClock extends ClockOption = 'system'>(
  options?: ManagerOptionsWithClock<TClock>,
): SynchronikManager<ClockKindOf<TClock>>;

// ---------------------------------------------------------------------------
// Worker pools
// ---------------------------------------------------------------------------

/**
 * The state of a pool task.
 *
 * - `'scheduled'`: waiting for its `runAt` / `delayMs` before it is queued.
 * - `'idle'`: queued, waiting for a free worker (and for the tasks ahead of it).
 * - `'paused'`: queued and held by {@link WorkerManager.pauseTask}; every task behind it waits too.
 * - `'waiting-handler'`: queued, but no handler of its `handler` name is defined (see {@link WorkerPool.handle}).
 * - `'running'`: a pool worker is executing it.
 * - `'completed'`: it resolved.
 * - `'error'`: it threw or rejected.
 * - `'cancelled'`: removed from the queue by {@link WorkerManager.cancelTask} or an aborted `pool.run` signal, or aborted while it ran.
 */
export type TaskStatus = Vocabulary.TaskStatus;

/**
 * What a pool task runs: called with the task's payload and the run context
 * of the pool worker executing it (`ctx.unitId` is that worker's id,
 * `ctx.signal` is aborted when the task is cancelled while it runs). Its
 * (resolved) value is the task's result; a throw or rejection fails the task.
 * Pool tasks are not retried and have no time limit of their own.
 */
export type TaskFunction<TPayload = any, TResult = unknown> = (payload: TPayload, ctx: RunContext) => TResult | PromiseLike<TResult>;

/**
 * A task of a worker pool, as {@link WorkerManager.addTask} returns it: the
 * live object, which the pool updates as the task moves through its
 * {@link TaskStatus statuses} (`'idle'` → `'running'` → `'completed'` | `'error'`).
 */
export interface Task<TPayload = any> {
  /** The task's name; unique among the tasks still queued (names of running or finished tasks can be reused). */
  name: string;
  /** The function the task runs (unless it names a `handler`). */
  execute?: TaskFunction<TPayload>;
  /** The name of the handler the task runs (see {@link WorkerPool.handle}); takes precedence over `execute`. */
  handler?: string;
  /** Passed to `execute` or the handler as its first argument. */
  payload?: TPayload;
  /** Higher runs first. Default 0; equal priorities run in arrangement order. */
  priority?: number;
  /** The task's place in the queue: counts from 1 per pool, in the order tasks were added. Set by the pool. */
  arrangementId: number;
  /** The task's current status. Written by the pool. */
  status: TaskStatus;
  /** Set for a durable task (a `handler` task on a manager with a SQLite store); see {@link RunContext.idempotencyKey}. */
  idempotencyKey?: string;
  /**
   * Why the task ended, when it failed (`'error'`: what it threw or rejected
   * with, a value that is not an `Error` wrapped as for a worker) or was
   * dropped by `stop()` / `close()` before it ran (`'cancelled'`,
   * `ERR_STOPPED` / `ERR_CLOSED`). Written by the pool.
   */
  error?: UnitError;
}

/** What a pool task starts from: a name and either an `execute` function or a `handler` name. */
interface NewTaskBase<TPayload> {
  /** The task's name; adding a name that is already queued returns `null` (with a console warning). */
  name: string;
  /** Passed to `execute` or the handler as its first argument. */
  payload?: TPayload;
  /** Higher runs first. Default 0; equal priorities run in arrangement order. */
  priority?: number;
  /**
   * Queue the task at this instant (Date, ISO 8601 string or epoch ms),
   * by the engine's clock (a manual clock too): until then it is
   * `'scheduled'` and its name is taken. A time already past queues it at
   * once. Not with `delayMs`. A stored task keeps its time across restarts.
   */
  runAt?: Instant;
  /** Queue the task this many ms from now, by the engine's clock. Not with `runAt`. */
  delayMs?: number;
  /** Ignored: a new task always starts `'idle'` (`'scheduled'` with `runAt` or `delayMs`). */
  status?: TaskStatus;
}

/**
 * The argument of {@link WorkerManager.addTask}: a task with an `execute`
 * function, or one that names a handler defined with {@link WorkerPool.handle}.
 */
export type NewTask<TPayload = any> =
  | (NewTaskBase<TPayload> & {
      /** The function the task runs. */
      execute: TaskFunction<TPayload>;
      handler?: undefined;
    })
  | (NewTaskBase<TPayload> & {
      /** The name of the handler the task runs; the task waits (`'waiting-handler'`) while none is defined. */
      handler: string;
      execute?: undefined;
    });

/** What {@link WorkerManager.updateTask} can change on a queued task. */
export interface TaskUpdate<TPayload = any> {
  /** A new function to run (a task added with `execute` only; a TypeError for one that names a handler). */
  execute?: TaskFunction<TPayload>;
  /**
   * A new handler name to run (a task that names a handler only; a TypeError
   * for one added with `execute`). The task waits (`waiting-handler`) until
   * that handler is defined; with a SQLite store the stored task names it too.
   */
  handler?: string;
  /** A new payload. */
  payload?: TPayload;
  /** A new priority: the task moves in the queue accordingly. */
  priority?: number;
}

/** What {@link WorkerManager.getWorkerStatus} returns for a pool worker. */
export interface WorkerStatus {
  /** The name of the task the worker is executing, if any. */
  currentTask?: string;
  /** The id of the last milestone a task emitted through its `ctx` on this worker. */
  lastMilestone?: string;
  /** `true` when the worker is not executing a task. */
  isIdle: boolean;
  /** @deprecated Never set; declared only so that code written for 2.3 still compiles. */
  progress?: number;
}

/**
 * A worker pool as synchronik 2.3 typed it: a prioritized queue of named
 * tasks executed by a fixed number of pool workers. The pool
 * {@link SynchronikManagerBase.useWorkerPool} returns ({@link WorkerPool}) has
 * everything here and more.
 */
export interface WorkerManager {
  /**
   * Queues a task and returns the live task object (`status: 'idle'`,
   * `arrangementId` set), or `null` with the console warning
   * `Task with name "<name>" already exists.` when a queued task has the
   * same name. It starts as soon as the pool is started, a worker is free
   * and no task ahead of it waits.
   */
  addTask<TPayload = any>(task: NewTask<TPayload>): Task<TPayload> | null;

  /**
   * Changes a queued task (not a running or finished one); a new `priority`
   * moves it in the queue. Unknown names log `Cannot update: Task "<name>" not found.`
   */
  updateTask(name: string, update: TaskUpdate): void;

  /**
   * Holds a queued task: it and every task behind it wait (also on other
   * workers) until {@link WorkerManager.resumeTask}. Warns when no such
   * task is queued and idle.
   */
  pauseTask(name: string): void;

  /** Releases a paused task. Warns when no such task is paused. */
  resumeTask(name: string): void;

  /** Removes the queued tasks with this name (status `'cancelled'`). Warns when there is none. */
  cancelTask(name: string): void;

  /** The pool's workers (2.3's name for {@link WorkerManager.getPoolWorkers}). */
  generateWorkers(): SynchronikWorker[];

  /**
   * The order the queued tasks will run in, as text:
   * `"Execution sequence: 1. <name>, 2. <name>"`, or
   * `"No tasks pending for execution."`. Paused tasks are included.
   */
  simulateRun(): string;

  /** Starts dispatching queued tasks to free workers (the manager's `start()` does it too). */
  start(): void;

  /** Stops dispatching; running tasks finish, queued ones stay queued. */
  stop(): void;

  /** The state of the pool worker with this id, or `undefined` for an id that is not one of the pool's workers. */
  getWorkerStatus(workerId: string): WorkerStatus | undefined;

  /** The pool's worker objects (registered units: their `status` is `'running'` while they execute a task). */
  getPoolWorkers(): SynchronikWorker[];

  /**
   * Grows or shrinks the pool to `size` workers (a positive integer: 0 is
   * refused with a `TypeError`). Shrinking removes idle workers only, the
   * newest first; when no worker is idle it warns
   * `[Worker Pool] Scale-down requested, but no idle workers are available to remove.`
   * and removes no more. `size` is an integer from 0 to 10,000 (else a
   * `TypeError`, and nothing changes).
   */
  resize(size: number): void;
}

/** Options of {@link WorkerPool.run}. */
export interface PoolRunOptions<TPayload = any> {
  /** Passed to the function as its first argument. */
  payload?: TPayload;
  /** Higher runs first. Default 0. */
  priority?: number;
  /**
   * Aborting it removes the task if it is still queued, or aborts the
   * running task's `ctx.signal`; either way the promise rejects with an
   * `AbortError` whose `cause` is the signal's reason. An already aborted
   * signal rejects at once.
   */
  signal?: AbortSignal;
  /** Queue the task at this instant (by the engine's clock); until then it waits and keeps nothing from running. Not with `delayMs`. */
  runAt?: Instant;
  /** Queue the task this many ms from now (by the engine's clock). Not with `runAt`. */
  delayMs?: number;
}

/** Options of {@link SynchronikManagerBase.useWorkerPool}. */
export interface WorkerPoolOptions {
  /** The pool's name; pools are per name. Default `'default'`. */
  name?: string;
}

/**
 * A worker pool of a manager (see {@link SynchronikManagerBase.useWorkerPool}):
 * a queue of tasks ordered by `priority` (higher first), then by
 * arrangement, executed by `size` pool workers. A task starts the moment a
 * worker is free and the pool is started. Every task status change is a
 * `task` event on the manager.
 *
 * @example
 * const pool = manager.useWorkerPool(2);
 * pool.addTask({ name: 'resize-avatars', priority: 5, payload: userIds, execute: resizeAvatars });
 * pool.handle('send-email', sendEmail);
 * pool.addTask({ name: 'welcome-mail-42', handler: 'send-email', payload: { to: 'ada@example.com' } });
 * pool.start();
 * await pool.onIdle();
 */
export interface WorkerPool extends WorkerManager {
  /** The pool's name (`'default'` unless another was given). */
  readonly name: string;

  /**
   * Runs `execute(payload, ctx)` as an anonymous task (name `'(anonymous)'`)
   * and resolves with its result or rejects with its error — like
   * `p-queue`'s `add`. See {@link PoolRunOptions.signal} for cancellation.
   *
   * @example
   * const html = await pool.run(async (url, { signal }) => (await fetch(url, { signal })).text(), {
   *   payload: 'https://example.com',
   *   signal: AbortSignal.timeout(5000),
   * });
   */
  run<TResult, TPayload = any>(execute: TaskFunction<TPayload, TResult>, options?: PoolRunOptions<TPayload>): Promise<TResult>;

  /**
   * Defines (or replaces) the handler that tasks with `handler: name` run.
   * Tasks that were waiting for it (`'waiting-handler'`) become runnable.
   */
  handle<TPayload = any>(name: string, handler: TaskFunction<TPayload>): void;

  /** Removes a handler; queued tasks naming it wait until it is defined again. */
  unhandle(name: string): void;

  /**
   * Resolves when no task is queued and none runs (at once if the pool is
   * idle already). Rejects with `ERR_STOPPED` when the manager's `stop()`
   * ends with stored tasks still queued, and with `ERR_CLOSED` on a closed
   * manager.
   */
  onIdle(): Promise<void>;
}

/**
 * synchronik 2.3's name for the type of a worker pool (what
 * {@link SynchronikManagerBase.useWorkerPool} returns).
 */
export type SynchronikWorkerManager = WorkerPool;

/** A group of a thread pool's threads (see {@link ThreadPoolOptions.groups}). */
export interface ThreadGroup {
  /** How many threads the group has (1 to 10,000). */
  size: number;
  /** The only handlers these threads take (specialists); without it they take any (generalists). */
  handlers?: string[];
}

/** Options of {@link SynchronikManagerBase.useThreadPool}. */
export interface ThreadPoolOptions {
  /** The module every thread loads (a path, resolved from the working directory, or a `file:` URL); CommonJS or ES module. */
  filename: string | URL;
  /** The pool's name (in errors and thread ids). Default `'threads'`. */
  name?: string;
  /** Number of threads. Default `os.availableParallelism()`; with `groups`, their sum. */
  size?: number;
  /** At most this many tasks wait for a thread; a run beyond rejects with `ERR_QUEUE_FULL`. Default `Infinity`. */
  maxQueue?: number;
  /**
   * A thread idle this long ends; threads come back (up to `size`) when
   * tasks wait. Measured on the manager's clock (a manual clock too).
   * Default `Infinity`: threads stay until the pool closes.
   */
  idleTimeoutMs?: number;
  /** Limits of each thread's JavaScript engine; a thread that exceeds them is replaced and its task fails with `ERR_THREAD_EXITED`. */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; codeRangeSizeMb?: number; stackSizeMb?: number };
  /** Threads reserved for some handlers, as groups (specialists first is not required). */
  groups?: ThreadGroup[];
}

/** Options of {@link ThreadPool.run}. */
export interface ThreadRunOptions {
  /** The exported handler to call. Default `'default'`. */
  handler?: string;
  /** Higher runs first; equal priorities in the order of `run` calls. Default 0. */
  priority?: number;
  /**
   * Aborting it removes a queued task, or terminates the thread that runs
   * it (a new one takes its place); the promise rejects with an
   * `AbortError` whose `cause` is the signal's reason.
   */
  signal?: AbortSignal;
  /** ArrayBuffers (or views of them) the payload holds that are moved: they are detached here, their bytes arrive in the thread. */
  transferList?: ReadonlyArray<ArrayBuffer | ArrayBufferView>;
}

/** What {@link ThreadPool.stats} returns. */
export interface ThreadPoolStats {
  threads: Array<{ id: string; handlers: string[] | null; runs: number; busy: boolean }>;
  /** Tasks waiting for a thread. */
  queued: number;
  /** Busy time of the threads over their time alive (0 to 1). */
  utilization: number;
  /** Tasks run and their mean time on a thread, in ms. */
  runTime: { count: number; mean: number };
  /** Tasks started and their mean wait in the queue, in ms. */
  waitTime: { count: number; mean: number };
}

/**
 * A pool of threads (see {@link SynchronikManagerBase.useThreadPool}).
 * Errors: a handler's throw rejects with what it threw (name, message,
 * stack, `cause` and own properties such as `code`); a thread that dies
 * (`process.exit`, an uncaught exception, `resourceLimits`) is replaced
 * and its task rejects with `ERR_THREAD_EXITED`; a module that cannot be
 * loaded rejects every run with `ERR_THREAD_BOOTSTRAP` (its load error as
 * `cause`), and no thread is started for it again.
 */
export interface ThreadPool {
  readonly name: string;
  /** Number of threads. */
  readonly size: number;
  /** Runs `handler(payload)` on a thread; resolves with its result (copied by structured clone). */
  run<TResult = any>(payload?: unknown, options?: ThreadRunOptions): Promise<TResult>;
  stats(): ThreadPoolStats;
  /**
   * Queues a named task: `handler(payload, { attempt, idempotencyKey })`
   * runs on a thread. Returns the live task object, or `null` (with the
   * console warning `Task with name "<name>" already exists.`) while a task
   * of this name waits. With a SQLite store the task is durable, as a
   * worker pool's handler task: stored (its payload as JSON) until it
   * ends, and brought back by the next pool of this name after a crash or
   * a restart, a task that was running then running again with
   * `attempt + 1` and the same `idempotencyKey` (at least once). A task
   * ended by the engine (the manager's `stop()` or `close()`, `destroy()`)
   * stays stored. Its status changes reach `manager.on('task', …)`.
   */
  addTask<TPayload = unknown>(task: ThreadTaskInput<TPayload>): ThreadTask<TPayload> | null;
  /** Removes the waiting task of this name (status `'cancelled'`; a stored one is deleted). False when none waits. */
  cancelTask(name: string): boolean;
  /** No new runs (`ERR_CLOSED`); queued ones finish, then every thread ends. */
  close(): Promise<void>;
  /** Queued and running tasks reject with `ERR_CLOSED`; every thread ends now. */
  destroy(): Promise<void>;
}

/** The argument of {@link ThreadPool.addTask}. */
export interface ThreadTaskInput<TPayload = unknown> {
  /** The task's name: unique among the pool's waiting tasks. */
  name: string;
  /** The exported handler to call. Default `'default'`. */
  handler?: string;
  /** Copied to the thread (structured clone); with a SQLite store it must also be JSON-serialisable, and a restored task gets it back from JSON. */
  payload?: TPayload;
  /** Higher runs first. Default 0. */
  priority?: number;
}

/** What the handler of a named thread pool task gets as its second argument. */
export interface ThreadTaskContext {
  /** 1 for the first attempt; a stored task counts across restarts. */
  attempt: number;
  /** A stored task's key, the same on every attempt; undefined without a store. */
  idempotencyKey?: string;
}

/**
 * A named task of a thread pool, as {@link ThreadPool.addTask} returns it:
 * the live object, a {@link Task} that names its handler (`arrangementId`
 * counts from 1 per thread pool; a restored task gets a new one). Its
 * `error`: what the handler threw (a value that is not an `Error` wrapped
 * as for a worker), `ERR_THREAD_EXITED` / `ERR_THREAD_BOOTSTRAP`, or for a
 * task ended by the engine (`'cancelled'`) `ERR_STOPPED` / `ERR_CLOSED`.
 */
export interface ThreadTask<TPayload = unknown> extends Task<TPayload> {
  handler: string;
  /** What the handler returned, once `'completed'`. */
  result?: unknown;
}

// ---------------------------------------------------------------------------
// Calendar schedules
// ---------------------------------------------------------------------------

/** An instant: a `Date`, an ISO 8601 string or milliseconds since the Unix epoch. */
export type Instant = Date | string | number;

/**
 * A cron schedule (`schedule` on a worker).
 *
 * `cron` has 5 fields (`minute hour day-of-month month day-of-week`) or 6
 * (seconds first), with names (`MON`, `JAN`), ranges, steps, lists, `L`,
 * `W`, `#` and `?`, or is `@yearly`, `@monthly`, `@weekly`, `@daily` or
 * `@hourly`; day-of-month and day-of-week combine with OR (Vixie cron).
 * Daylight saving: a fixed time of day in a spring-forward gap fires once
 * at the first instant after the gap, one in a fall-back overlap once at
 * its first occurrence; a schedule with a wildcard, step or range in its
 * seconds, minutes or hours follows real time (gap times do not exist,
 * the overlap's hour fires in both passes). An expression that can never
 * fire (`0 0 30 2 *`) is a `TypeError` naming `schedule.cron`.
 */
export interface CronSchedule {
  cron: string;
  /** An IANA time zone name (`'Europe/Berlin'`). Default: the machine's. The zone database ships inside the package. */
  timezone?: string;
  /** No fire before this instant. */
  startAt?: Instant;
  /** No fire after this instant. */
  stopAt?: Instant;
  /** Each run starts up to this many ms after its fire time (uniformly drawn), never past the next fire. Default 0. */
  jitterMs?: number;
  /**
   * The fires missed while the manager was stopped (or, with the SQLite
   * store, while the process was down): `'none'` (default) skips them,
   * `'one'` runs once, `'all'` runs once per missed fire, one after
   * another (at most 10,000).
   */
  catchUp?: 'none' | 'one' | 'all';
  /** Only fires missed within this many ms before now are caught up. Default `Infinity`. */
  catchUpWindowMs?: number;
}

/** One-off times (`schedule` on a worker): the worker runs once at each (times already past never run). */
export interface AtSchedule {
  at: Instant | Instant[];
}

/** A worker's calendar schedule. */
export type WorkerSchedule = CronSchedule | AtSchedule;

// ---------------------------------------------------------------------------
// runWorkerTasks
// ---------------------------------------------------------------------------

/** What `onProgress` of {@link runWorkerTasks} receives after each task settled. */
export interface TaskRunnerProgress {
  /** Tasks settled so far (succeeded or finally failed). */
  completed: number;
  /** All tasks. */
  total: number;
  /** `completed / total * 100`, unrounded. */
  percentage: number;
}

/** Options of {@link runWorkerTasks}. */
export interface TaskRunnerOptions {
  /** Extra attempts after a failed one, per task. Default 0. */
  maxRetries?: number;
  /** Wait before each retry, in ms: a number, or a function of the 1-based retry number. Default 0. */
  retryDelayMs?: number | ((retry: number) => number);
  /** Called after each task settled. Exceptions are printed, never rethrown. */
  onProgress?: (progress: TaskRunnerProgress) => void;
  /**
   * How many tasks run at once (a positive integer). Default 1: one after
   * another, in order, as in 2.3.
   */
  concurrency?: number;
}

/** A task of the list form of {@link runWorkerTasks}. */
export interface WorkerTask<T = unknown> {
  /** Names the task in the result. */
  id: string;
  /** The work; its (resolved) value is the task's result. */
  execute: () => T | PromiseLike<T>;
}

/**
 * `T`, but not a place TypeScript infers `T` from (TypeScript's `NoInfer`,
 * written so that versions before 5.4 read it too): the item type of
 * {@link TaskRunnerConfig} comes from `items` alone, so an `execute` that
 * takes another type is reported as such.
 */
type NotInferred<T> = [T][T extends any ? 0 : never];

/** The config form of {@link runWorkerTasks}: one task per item. */
export interface TaskRunnerConfig<TItem, TResult> extends TaskRunnerOptions {
  /** The items, one task each. */
  items: TItem[];
  /** The work for one item; its (resolved) value is the item's result. */
  execute: (item: NotInferred<TItem>) => TResult | PromiseLike<TResult>;
  /** The id of an item's task in the result. Default: `String(item)`. */
  getTaskId?: (item: NotInferred<TItem>) => string | number;
}

/** What {@link runWorkerTasks} resolves to. Both lists are in item order. */
export interface TaskRunnerResult<T> {
  /** How many tasks there were. */
  totalTasks: number;
  /** The tasks that succeeded, with their results. */
  successful: Array<{ id: string; result: T }>;
  /** The tasks that failed every attempt, with the message of the last error. */
  failed: Array<{ id: string; error: string }>;
  /** `successful.length / totalTasks * 100`, unrounded; 100 when there are no tasks. */
  successPercentage: number;
}

/**
 * Runs one task per item with retries, at most `concurrency` at once
 * (default 1: one after another), and reports what succeeded and what
 * failed. Never rejects because a task failed; tasks have no time limit.
 *
 * @example
 * const report = await runWorkerTasks({
 *   items: ['tt1375666', 'tt0133093'],
 *   execute: (id) => fetchMovie(id),
 *   maxRetries: 2,
 *   retryDelayMs: (retry) => 2 ** retry * 50,
 *   concurrency: 2,
 * });
 * report.failed; // [{ id, error: 'message' }]
 */
export function runWorkerTasks<TItem, TResult>(config: TaskRunnerConfig<TItem, TResult>): Promise<TaskRunnerResult<TResult>>;
/**
 * Runs a list of `{ id, execute }` tasks with retries, at most
 * `options.concurrency` at once (default 1: one after another), and reports
 * what succeeded and what failed. Never rejects because a task failed.
 */
export function runWorkerTasks<T>(tasks: Array<WorkerTask<T>>, options?: TaskRunnerOptions): Promise<TaskRunnerResult<T>>;

/**
 * Every `code` a {@link SynchronikError} can carry.
 *
 * From the engine (its `ErrorCode` list):
 * - `'ERR_UNKNOWN_UNIT'`: no unit is registered with the id.
 * - `'ERR_WRONG_KIND'`: a unit of the other kind was named (a process where a worker was expected, …).
 * - `'ERR_INVALID_UNIT'`: a unit the engine refuses (a process listing a worker twice, …).
 * - `'ERR_TIMEOUT'`: an attempt did not settle within its `timeoutMs`.
 * - `'ERR_STOPPED'`: a run ended by `stop({ timeoutMs })`, a queued pool task
 *   dropped by `stop()`, or `pool.onIdle()` left waiting by it.
 * - `'ERR_RELEASED'`: the unit was released (or registered again) while it ran.
 * - `'ERR_WORKER_FAILED'`: a worker failed a process run (`unitId` names it, `cause` is its error).
 * - `'ERR_RUN_FAILED'`: a run failed with nothing else to show: its unit had
 *   no `run` function when the attempt began, or the value it failed with is
 *   no longer held.
 * - `'ERR_UNKNOWN_DEPENDENCY'`: a `dependsOn` id that is not a worker of the process.
 * - `'ERR_DEPENDENCY_CYCLE'`: the `dependsOn` of a process's workers form a cycle.
 * - `'ERR_CANCELLED'`: a running pool task was cancelled.
 * - `'ERR_STORAGE'`: the store (SQLite or PostgreSQL) cannot be opened, read or
 *   written, its schema is another application's or newer, or there is none.
 * - `'ERR_CLOSED'`: a call on a closed manager, a queued pool task dropped by
 *   `close()`, or a thread pool task of a pool closed or destroyed.
 * - `'ERR_UNKNOWN_TASK'`: no pool task has the id (never queued, or finished
 *   and no longer among the last 50 its pool keeps): the dashboard's task actions.
 * - `'ERR_NOT_RETRYABLE'`: a task the dashboard asked to queue again cannot
 *   be: it has not finished, did not fail, was queued again already, or runs
 *   a function of its own (only a stored task's handler and payload can run again).
 * - `'ERR_THREAD_EXITED'`: the thread running a thread pool task exited
 *   (`process.exit`, an uncaught exception, `resourceLimits`).
 * - `'ERR_THREAD_BOOTSTRAP'`: a thread pool's threads cannot load its module
 *   (the load error is the `cause`).
 * - `'ERR_QUEUE_FULL'`: a thread pool's queue holds `maxQueue` tasks already.
 *
 * Made in JavaScript only:
 * - `'ERR_NON_ERROR_THROWN'`: a `run` threw or rejected with a value that is
 *   not an `Error`; the value is the error's `cause`.
 * - `'ERR_ABORTED'`: an attempt aborted for a reason this version of the
 *   package does not know (a native addon newer than its JavaScript).
 *
 * Bad arguments are `TypeError`s, not `SynchronikError`s (those the engine
 * refuses carry one of the engine's codes above as their `code`).
 */
export type SynchronikErrorCode = Vocabulary.ErrorCode;

/**
 * The codes an aborted attempt fails with, which are also the codes of its
 * `ctx.signal.reason` (the engine's `AbortReason`s): timed out, stopped by
 * `stop({ timeoutMs })`, released, or cancelled (a pool task). `'ERR_ABORTED'`
 * for a reason this version does not know.
 */
export type SynchronikAbortCode = Vocabulary.AbortCode | 'ERR_ABORTED';

/**
 * The class of every error synchronik throws or rejects with (bad arguments
 * are `TypeError`s instead). `code` is stable and one of
 * {@link SynchronikErrorCode} (see there what each means): `ERR_TIMEOUT`,
 * `ERR_RELEASED`, `ERR_STOPPED`, `ERR_CANCELLED`, `ERR_WORKER_FAILED`,
 * `ERR_DEPENDENCY_CYCLE`, `ERR_UNKNOWN_DEPENDENCY`, `ERR_RUN_FAILED`,
 * `ERR_NON_ERROR_THROWN`, `ERR_UNKNOWN_UNIT`, `ERR_WRONG_KIND`,
 * `ERR_INVALID_UNIT`, `ERR_STORAGE`, `ERR_CLOSED`, `ERR_UNKNOWN_TASK`,
 * `ERR_NOT_RETRYABLE`, `ERR_THREAD_EXITED`, `ERR_THREAD_BOOTSTRAP`,
 * `ERR_QUEUE_FULL`, `ERR_ABORTED`. Compare it
 * with `===` and TypeScript checks the spelling.
 *
 * @example
 * try {
 *   await manager.runProcessById('nightly');
 * } catch (e) {
 *   if (e instanceof SynchronikError && e.code === 'ERR_WORKER_FAILED') console.log(e.unitId, e.cause);
 * }
 */
export class SynchronikError extends Error {
  /**
   * @param message what happened
   * @param code the stable error code
   * @param options `cause`: the underlying error or value; `unitId`: the unit concerned
   */
  constructor(message: string, code: SynchronikErrorCode, options?: { cause?: unknown; unitId?: string });
  /** Always `'SynchronikError'`. */
  name: string;
  /** The stable error code. */
  code: SynchronikErrorCode;
  /** Id of the unit concerned (for a failed process run: the worker that failed). */
  unitId?: string;
  /** The underlying error, e.g. the failing worker's own error or the value a `run` threw. */
  cause?: unknown;
}

// ---------------------------------------------------------------------------
// The web dashboard (manager.serveDashboard)
// ---------------------------------------------------------------------------

/** An action of the web dashboard, as {@link ServeDashboardOptions.authorize} is asked about it. */
export type DashboardAction = 'run' | 'pause' | 'resume' | 'enable' | 'disable' | 'cancel' | 'retry';

/** The HTTP request of an action, as {@link ServeDashboardOptions.authorize} receives it. */
export interface DashboardAuthorizeRequest {
  /** Always `'POST'`. */
  method: string;
  /** The request's path, e.g. `/api/units/fetch/run` (with the base path). */
  path: string;
  /** The request's headers, names in lower case (`authorization` reads `'[redacted]'`: the token is never passed on). */
  headers: Record<string, string>;
  /** The client's IP address. */
  remoteAddress: string;
}

/** Options of {@link SynchronikManagerBase.serveDashboard}. Any other key is a `TypeError`. */
export interface ServeDashboardOptions {
  /** The port to listen on, 0–65535; 0 (the default) takes a free one (see {@link DashboardServer.port}). */
  port?: number;
  /**
   * The address to listen on. Default `'127.0.0.1'`. A host that is not
   * loopback (127.0.0.0/8, `::1`, `localhost`) requires an explicit `token`.
   */
  host?: string;
  /**
   * What every API request and `/metrics` must carry (`Authorization:
   * Bearer <token>`, or `?token=` on a GET): visible ASCII, no spaces.
   * Default: 24 random bytes, base64url.
   */
  token?: string;
  /** Where the dashboard lives, e.g. `'/ops/'`: starts with `/` (a missing final `/` is added); no `..`, `?`, `#`. Default `'/'`. */
  basePath?: string;
  /** Every action answers 403: the dashboard only shows. Default `false`. */
  readOnly?: boolean;
  /**
   * Asked about every action (after the token, Origin and read-only
   * checks): only `true` (or a promise of `true`) within 5 s allows it;
   * anything else, a throw or a rejection answers 403.
   */
  authorize?: (request: DashboardAuthorizeRequest, action: DashboardAction) => boolean | PromiseLike<boolean>;
}

/** A running web dashboard (what {@link SynchronikManagerBase.serveDashboard} resolves to). */
export interface DashboardServer {
  /** The page's address with the token: `http://<host>:<port><basePath>?token=<token>` (an IPv6 host in brackets). */
  readonly url: string;
  /** The host it listens on, as given. */
  readonly host: string;
  /** The port it listens on (the one chosen when 0 was given). */
  readonly port: number;
  /** The token every API request needs (the generated one when none was given). */
  readonly token: string;
  /** Stops the server and frees its port; event streams end. Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Console: 2.3's dashboard and visualizer, and the live terminal view
// ---------------------------------------------------------------------------

/**
 * Where a dashboard writes: `process.stdout` (the default), or any object
 * with `write(text)`. On a terminal (`isTTY: true`) the live view is redrawn
 * in place, at most `columns` wide (80 when it does not say).
 */
export interface DashboardStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Options of {@link createSynchronikDashboard}. Any other key is a `TypeError`. */
export interface DashboardOptions {
  /**
   * Keep a live view of the attached manager on `stream` until `stop()`: on
   * a terminal, a frame redrawn in place (units by status, what runs and for
   * how long, pools, next interval runs, errors, recent stalls and
   * milestones, event-loop lag, runs/s); elsewhere one summary line per
   * refresh. Default `false`: the dashboard prints only when asked, as in 2.3.
   */
  live?: boolean;
  /** How often the live view is redrawn, in ms (at least 10). Default 500. */
  refreshMs?: number;
  /**
   * Where to write. Default: `console.log` for 2.3's lines and
   * `process.stdout` for the live view.
   */
  stream?: DashboardStream;
}

/** synchronik 2.3's console dashboard (what {@link createSynchronikDashboard} makes). */
export interface SynchronikDashboard {
  /** Prints `🔄 Synchronik Dashboard` and `[<status>] <id>` per unit (clearing the console first); a live dashboard draws its view now. */
  render: () => void;
  /** Attaches to a manager: prints (or, live, shows) its milestones; a live dashboard starts its view. */
  attachToManager: (manager: SynchronikManager) => void;
  /** Prints `📦 Unit <id> status: <status>`. */
  showUnitStatus: (unitId: string) => void;
  /** Prints the stages of a unit's milestones seen since attaching: `🌀 Milestone arc for <id>: running → completed`. */
  showMilestoneArc: (unitId: string) => void;
  /** Prints `✨ Badge '<badge>' triggered for <id>`. */
  triggerBadgeGlow: (unitId: string, badge: string) => void;
}

/** The dashboard {@link createSynchronikDashboard} returns: 2.3's, and a way to end it. */
export interface ConsoleDashboard extends SynchronikDashboard {
  /**
   * Ends the live view (drawn one last time) and the dashboard's listeners
   * on the manager. Idempotent; `attachToManager` starts it again. The view
   * never keeps Node alive, stopped or not.
   */
  stop(): void;
}

/**
 * Creates a console dashboard: 2.3's without options, or a live terminal
 * view with `{ live: true }`. Its lines show ids with control characters
 * escaped, so a unit id cannot move the cursor or recolour the terminal.
 *
 * @example
 * const dashboard = createSynchronikDashboard({ live: true, refreshMs: 250 });
 * dashboard.attachToManager(manager);
 * // …
 * dashboard.stop();
 */
export function createSynchronikDashboard(options?: DashboardOptions): ConsoleDashboard;

/** What a visualizer hands each rendering to: `('status', message, { unitId, status })` or `('milestone', message, { milestoneId, payload })`. */
export type VisualizerRenderFn = (type: 'status' | 'milestone', message: string, meta?: Record<string, unknown>) => void;

/**
 * What a visualizer can attach to: a manager (its `subscribeToEvents`), or
 * an event bus with 2.3's `subscribeAll`.
 */
export type SynchronikEventSource =
  | { subscribeToEvents(listener: (event: SynchronikEvent) => void): unknown }
  | { subscribeAll(listener: (event: SynchronikEvent) => void): unknown };

/** synchronik 2.3's event bus, as programs written for 2.3 type it. */
export interface ISynchronikEventBus {
  emit: (event: SynchronikEvent) => void;
  subscribe: <T extends SynchronikEvent['type']>(type: T, listener: (event: Extract<SynchronikEvent, { type: T }>) => void) => () => void;
  subscribeAll: (listener: (event: SynchronikEvent) => void) => () => void;
}

/** synchronik 2.3's visualizer (what {@link createSynchronikVisualizer} makes). */
export interface SynchronikVisualizer {
  /** Renders `[Visualizer] Unit <id> is now <status>`, or `message`. */
  renderUnitStatus: (unitId: string, status: SynchronikUnit['status'], message?: string) => void;
  /** Renders `[Visualizer] Milestone reached: <id>`, or `message`. */
  renderMilestone: (milestoneId: string, payload?: Record<string, unknown>, message?: string) => void;
  /** Declared by 2.3; its visualizer had none. */
  renderUnitMode?: (unitId: string, mode: RunMode) => void;
  /** Renders `start` (running), `complete` (completed) and `error` events as statuses, and every milestone. */
  attachToEventBus: (eventBus: SynchronikEventSource) => void;
}

/** The visualizer {@link createSynchronikVisualizer} returns: 2.3's, and attaching returns the function that detaches it. */
export interface ConsoleVisualizer extends SynchronikVisualizer {
  attachToEventBus: (eventBus: SynchronikEventSource) => () => void;
}

/**
 * Creates a visualizer that hands every rendering to `renderFn` (without
 * one, it renders nothing, as in 2.3).
 *
 * @example
 * const visualizer = createSynchronikVisualizer((type, message) => console.log(message));
 * const detach = visualizer.attachToEventBus(manager);
 */
export function createSynchronikVisualizer(renderFn?: VisualizerRenderFn): ConsoleVisualizer;

// ---------------------------------------------------------------------------
// Other type names of synchronik 2.3
// ---------------------------------------------------------------------------
//
// 2.3 exported the types of its internal parts. They are declared here so
// that programs that import them still compile; this package makes no such
// objects (its manager does their work).

/** 2.3: what its worker manager knew of a worker. */
export interface WorkerMeta {
  status: Status | undefined;
  capabilities: string[];
  tasks?: Task[];
}

/** 2.3: a simulated execution order of a worker's tasks. */
export interface PreRunSequence {
  workerId: string;
  sequence: string[];
}

/** 2.3: the emitter of milestones. */
export interface MilestoneEmitter {
  emit: (milestoneId: string, payload?: Record<string, unknown>) => void;
  emitForUnit: (unitId: string, stage: string, payload?: Record<string, unknown>) => void;
}

/** 2.3: the type of an `updateWorkerConfig` function. */
export type UpdateWorkerConfig<T extends SynchronikUnit> = (workerId: string, config: Partial<T>) => void;

/** 2.3: the type of an `updateProcessConfig` function. */
export type UpdateProcessConfig<T extends SynchronikProcess> = (processId: string, config: Partial<T>) => void;

/** 2.3: the maps of its registry. */
export type RegistryState = {
  units: Map<string, SynchronikUnit>;
  processes: Map<string, SynchronikProcess>;
  workers: Map<string, SynchronikWorker>;
};

/** 2.3: its registry of units. */
export interface SynchronikRegistry {
  registerUnit: (unit: SynchronikUnit) => void;
  getUnitById: (id: string) => SynchronikUnit | undefined;
  getWorkerById: (id: string) => SynchronikWorker | undefined;
  getProcessById: (id: string) => SynchronikProcess | undefined;
  listUnits: () => SynchronikUnit[];
  listWorkers: () => SynchronikWorker[];
  listProcesses: () => SynchronikProcess[];
  updateUnitState: <T extends SynchronikUnit>(id: string, updates: Partial<T>, _isHydration?: boolean) => Promise<void>;
  updateProcessConfig: (processId: string, config: Partial<SynchronikProcess>) => Promise<void>;
  updateWorkerConfig: (workerId: string, config: Partial<SynchronikWorker>) => Promise<void>;
  releaseUnit: (id: string) => void;
  getWorkersForProcess: (processId: string) => SynchronikWorker[];
  getProcessesForWorker: (workerId: string) => SynchronikProcess[];
  findUnitsByStatus: (status: SynchronikUnit['status']) => SynchronikUnit[];
}

/** 2.3: registration, updates and release of units. */
export interface SynchronikLifecycle {
  register: (unit: SynchronikUnit) => void;
  update: <T extends SynchronikUnit>(id: string, updates: Partial<T>) => void;
  release: (id: string) => void;
  emitMilestone: (milestoneId: string, payload?: Record<string, unknown>) => void;
}

/** 2.3: its main loop. */
export interface SynchronikLoop {
  run: () => Promise<void>;
  executionStrategy?: 'auto' | 'parallel' | 'sequential';
}

/** 2.3: its watcher. */
export interface UnitWatcher {
  scan: () => void;
}
