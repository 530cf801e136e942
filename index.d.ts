// Type definitions for synchronik 3.0.
//
// Works with both entry points: `require('synchronik')` and
// `import { … } from 'synchronik'`.

import { EventEmitter } from 'node:events';

// ---------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------

/**
 * The state of a unit.
 *
 * - `'idle'`: registered, not running (the initial status unless one is given).
 * - `'running'`: an attempt (or, for a process, a run of its workers) is in flight.
 * - `'paused'`: not run until it is set back to `'idle'` (see {@link SynchronikManager.startAll}).
 * - `'completed'`: the last run succeeded.
 * - `'error'`: the last run failed; the error is in {@link SynchronikUnit.error}.
 */
export type Status = 'idle' | 'running' | 'paused' | 'completed' | 'error';

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
export type RunMode = 'sequential' | 'parallel' | 'batched' | 'isolated';

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
  /** The error of the last failed run. Written by the engine. */
  error?: Error;
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
  onError?(error: Error): void;
}

/**
 * A worker: a unit with a `run` function.
 *
 * @example
 * const worker: SynchronikWorker = {
 *   id: 'fetch-prices',
 *   maxRetries: 2,
 *   retryDelayMs: (retry) => 100 * 2 ** (retry - 1),
 *   run: async ({ signal }) => (await fetch(url, { signal })).json(),
 * };
 */
export interface SynchronikWorker extends SynchronikUnit {
  /**
   * The work. May be async or sync, and may ignore its argument (functions
   * written for 2.3 take none). Its (resolved) value is the run's result; a
   * throw or rejection is a failed attempt. `ctx.signal` is aborted when the
   * attempt times out or the unit is released.
   */
  run: (ctx: RunContext) => unknown;
  /** Interval for scheduled runs, in ms (used with `runOnInterval`). */
  intervalMs?: number;
  /** When `true` and `intervalMs` is set, the scheduler runs the worker every `intervalMs`. Default `false`. */
  runOnInterval?: boolean;
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
  overlap?: 'skip' | 'queue' | 'allow';
  /** The id of the process this worker was registered through. Written by the engine. */
  processId?: string;
}

/**
 * A process: a unit that runs a list of workers by a {@link RunMode}.
 * Registering a process registers each of its workers too.
 */
export interface SynchronikProcess extends SynchronikUnit {
  /** The workers, in run order. */
  workers: SynchronikWorker[];
  /** Size of the groups in `'batched'` mode. Default 2. */
  batchSize?: number;
  /** Rest after every worker in `'isolated'` mode, in ms. Default 100. */
  isolationDelayMs?: number;
}

/**
 * A dependency of a worker on another worker of the same process: the
 * other worker's id, and optionally a condition on that worker's result.
 */
export interface Dependency {
  /** Id of the worker depended on. */
  id: string;
  /** Called with the result of that worker; a falsy return means the dependency is not met. */
  condition?: (result: any) => unknown;
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
   * Aborted when this attempt no longer counts: on timeout or when the unit
   * is released. `signal.reason` is a {@link SynchronikError} (`ERR_TIMEOUT`,
   * `ERR_RELEASED`, …). Pass it on to `fetch`, timers and the like.
   */
  readonly signal: AbortSignal;
  /** Emits a milestone event, like {@link SynchronikManager.emitMilestone}. */
  emitMilestone(milestoneId: string, payload?: Record<string, any>): void;
  /** Reports progress of this attempt: `fraction` from 0 to 1, with an optional message. */
  progress(fraction: number, message?: string): void;
}

/**
 * A registry entry as returned by {@link SynchronikManager.getRegistrySnapshot}:
 * a deep copy of a unit without its functions (a process's `workers` are
 * copied the same way).
 */
export type UnitSnapshot = Omit<SynchronikUnit, 'onStart' | 'onComplete' | 'onError'> & { [field: string]: any };

/** Settings a worker can change after registration (everything but `id`). */
export type WorkerConfig = Partial<Omit<SynchronikWorker, 'id'>>;

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

/** A run of a unit completed (or its status was set to `'completed'` by hand: `result` undefined, `durationMs` 0). */
export interface CompleteEvent {
  type: 'complete';
  unitId: string;
  /** The value `run` resolved to (`undefined` for a process). */
  result: unknown;
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
  error: Error;
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
  reason: 'status-change' | 'config-change';
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
  error: Error;
}

/** A run was skipped (overlapping schedule, unmet condition). */
export interface SkippedEvent {
  type: 'skipped';
  unitId: string;
  /** Why it was skipped. */
  reason: string;
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
 * Every event the manager emits, discriminated by `type`.
 *
 * @example
 * manager.subscribeToEvents((event) => {
 *   if (event.type === 'complete') console.log(event.unitId, event.durationMs);
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
  /** The event being delivered; `{ type: <hook name>, unitId }` for a hook; `{ unitId, source: 'retryDelayMs' }` for a `retryDelayMs` function. */
  event: { readonly type?: string; readonly unitId?: string; readonly [key: string]: unknown };
}

/** Event names and listener arguments of {@link SynchronikManager} as an `EventEmitter`. */
export type SynchronikEventMap = {
  start: [event: StartEvent];
  complete: [event: CompleteEvent];
  error: [event: ErrorEvent];
  milestone: [event: MilestoneEvent];
  updated: [event: UpdatedEvent];
  retry: [event: RetryEvent];
  skipped: [event: SkippedEvent];
  stalled: [event: StalledEvent];
  listenerError: [event: ListenerErrorEvent];
};

// ---------------------------------------------------------------------------
// Manager
// ---------------------------------------------------------------------------

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
  /** While started, emit the milestone `engine:stats` with {@link SynchronikManager.getEngineStats} this often. */
  statsEmissionIntervalMs?: number;
  /**
   * `'manual'`: every engine timer reads a clock that moves only through
   * `manager.clock.advance()` / `runUntilIdle()` — for tests. Default `'system'`.
   */
  clock?: 'system' | 'manual';
}

/** Options of {@link SynchronikManager.stop}. */
export interface StopOptions {
  /** Runs still in flight after this many ms are aborted and fail with `ERR_STOPPED`. Default: no limit. */
  timeoutMs?: number;
}

/**
 * The clock of a manager created with `clock: 'manual'`. Every engine timer —
 * intervals, retry delays, timeouts, isolation delays, sweeps, watcher scans,
 * stop deadlines — reads it.
 */
export interface ManualClock {
  /** The clock's time in ms; 0 when the manager was created. */
  now(): number;
  /**
   * Moves time forward by `ms`, firing every timer due on the way in time
   * order; resolves once the runs they started have settled (as far as they
   * settle without real time passing).
   */
  advance(ms: number): Promise<void>;
  /**
   * Fires timers in time order until no run is in flight and only the
   * recurring timers of a started manager are left.
   */
  runUntilIdle(): Promise<void>;
}

/** What {@link SynchronikManager.getEngineStats} returns. */
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
    /** Measured event-loop lag in ms. */
    eventLoopLagMs: number;
  };
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
 */
export interface SynchronikManager extends EventEmitter<SynchronikEventMap> {
  // --- Registration and lookup ---------------------------------------------

  /**
   * Validates and registers a worker, or a process with its workers (which
   * get `processId` set). Re-registering an id replaces the unit in place.
   * Nothing is stored when validation fails (a `TypeError` is thrown).
   * @returns the same object.
   */
  registerUnit(unit: SynchronikWorker): SynchronikWorker;
  registerUnit(unit: SynchronikProcess): SynchronikProcess;
  registerUnit(unit: SynchronikWorker | SynchronikProcess): SynchronikWorker | SynchronikProcess;

  /** Removes a unit; a running one has its signal aborted. Unknown ids are ignored. */
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

  /** Changes a worker's settings (see {@link SynchronikManager.updateUnitConfig}). */
  updateWorkerConfig(id: string, config: WorkerConfig): Promise<void>;

  /** Changes a process's settings (see {@link SynchronikManager.updateUnitConfig}). */
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

  /** Disables a worker so that it is not run again (same as {@link SynchronikManager.disableWorker}). */
  stopWorkerById(id: string): Promise<void>;

  /** Every `'paused'` unit becomes `'idle'`. */
  startAll(): void;

  /** Every unit becomes `'paused'`. */
  stopAll(): void;

  // --- Execution ---------------------------------------------------------------

  /**
   * Runs one worker now: up to `maxRetries + 1` attempts, each bounded by
   * `timeoutMs`. Resolves when the run ended, whether it completed or failed
   * (never rejects). A paused or disabled worker is not run.
   */
  runWorkerById(id: string): Promise<void>;

  /** Runs a unit now: a worker as {@link SynchronikManager.runWorkerById}, a process as {@link SynchronikManager.runProcessById}. */
  runUnitById(id: string): Promise<void>;

  /**
   * Runs a process's enabled workers now by its run mode; the process is
   * `'running'`, then `'completed'`. In `'sequential'` and `'isolated'` mode a
   * failing worker stops the run, leaves the process in `'error'` and the
   * promise rejects with a {@link SynchronikError} whose `unitId` names the
   * worker. `'parallel'` and `'batched'` runs always resolve, with the failed
   * workers in `'error'`.
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

  // --- Background operation --------------------------------------------------------

  /** Starts the scheduler and the watcher. Idempotent. While started, the manager keeps Node alive. */
  start(): void;

  /**
   * Stops scheduling new runs at once and resolves when the runs in flight
   * have settled; with `timeoutMs`, runs still in flight then are aborted
   * through their signal and fail with `ERR_STOPPED`. Afterwards nothing of
   * the manager keeps Node alive.
   */
  stop(options?: StopOptions): Promise<void>;

  /** The manual clock; present when the manager was created with `clock: 'manual'`. */
  readonly clock?: ManualClock;

  // --- Events --------------------------------------------------------------------

  /** Listens to every event. @returns a function that removes the listener. */
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

  // --- Other -----------------------------------------------------------------------

  /** Memory and CPU of this process and the engine's counts. */
  getEngineStats(): EngineStats;
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
export function createSynchronikManager(
  options: ManagerOptions & { clock: 'manual' },
): SynchronikManager & { readonly clock: ManualClock };
export function createSynchronikManager(options?: ManagerOptions): SynchronikManager;

/**
 * The class of every error synchronik throws or rejects with (bad arguments
 * are `TypeError`s instead). `code` is stable, e.g. `ERR_TIMEOUT`,
 * `ERR_RELEASED`, `ERR_STOPPED`, `ERR_WORKER_FAILED`, `ERR_RUN_FAILED`,
 * `ERR_NON_ERROR_THROWN`, `ERR_UNKNOWN_UNIT`, `ERR_WRONG_KIND`,
 * `ERR_INVALID_UNIT`.
 */
export class SynchronikError extends Error {
  /**
   * @param message what happened
   * @param code the stable error code
   * @param options `cause`: the underlying error or value; `unitId`: the unit concerned
   */
  constructor(message: string, code: string, options?: { cause?: unknown; unitId?: string });
  /** Always `'SynchronikError'`. */
  name: string;
  /** The stable error code. */
  code: string;
  /** Id of the unit concerned (for a failed process run: the worker that failed). */
  unitId?: string;
  /** The underlying error, e.g. the failing worker's own error or the value a `run` threw. */
  cause?: unknown;
}
