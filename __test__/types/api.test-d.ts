// Type test for index.d.ts: checked by `tsc -p tsconfig.json`, never run.
// Every `@ts-expect-error` line must fail to type-check; everything else must pass.

import {
  createSynchronikManager,
  FileStorageAdapter,
  runWorkerTasks,
  SynchronikError,
  type CompleteEvent,
  type Dependency,
  type HistoryEntry,
  type ManagerOptions,
  type StorageAdapter,
  type NewTask,
  type RunContext,
  type RunMode,
  type SkipReason,
  type Status,
  type SynchronikEvent,
  type SynchronikManager,
  type SynchronikProcess,
  type SynchronikUnit,
  type SynchronikWorker,
  type SynchronikWorkerManager,
  type Task,
  type TaskEvent,
  type TaskRunnerResult,
  type TaskStatus,
  type UpdatedEvent,
  type WorkerManager,
  type WorkerPool,
  type WorkerStatus,
} from 'synchronik';

/** Compile-time equality of two types. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_ok?: T): void {}
function expectType<T>(_value: T): void {}

// --- Factory and options ------------------------------------------------------

const manager: SynchronikManager = createSynchronikManager();
createSynchronikManager({ loopInterval: 20, watcherInterval: 1000, stallThresholdMs: 500, statsEmissionIntervalMs: 5000 });
const options: ManagerOptions = {};
createSynchronikManager(options);
// @ts-expect-error loopInterval is a number
createSynchronikManager({ loopInterval: '20' });
// @ts-expect-error unknown option
createSynchronikManager({ loopIntervall: 20 });

// --- Status and RunMode ---------------------------------------------------------

assertType<Equal<Status, 'idle' | 'running' | 'paused' | 'completed' | 'error'>>();
assertType<Equal<RunMode, 'sequential' | 'parallel' | 'batched' | 'isolated'>>();
// @ts-expect-error not a status
const badStatus: Status = 'nope';
// @ts-expect-error not a run mode
const badMode: RunMode = 'bogus';

// --- Workers: 2.3 style and context style ---------------------------------------

// 2.3 style: name and enabled given, run takes no argument.
const legacyWorker: SynchronikWorker = {
  id: 'legacy',
  name: 'Legacy worker',
  enabled: true,
  status: 'idle',
  run: async () => {
    return { ok: true };
  },
};

// name and enabled are optional here; run may use its context and be sync.
const ctxWorker: SynchronikWorker = {
  id: 'ctx',
  maxRetries: 2,
  retryDelayMs: (retry) => 2 ** (retry - 1) * 50,
  timeoutMs: 0,
  maxRuns: 3,
  intervalMs: 1000,
  runOnInterval: false,
  overlap: 'queue',
  meta: { owner: 'team-a' },
  run: async (ctx) => {
    expectType<RunContext>(ctx);
    expectType<string>(ctx.unitId);
    expectType<number>(ctx.attempt);
    expectType<AbortSignal>(ctx.signal);
    ctx.emitMilestone('half-way', { done: 1 });
    ctx.emitMilestone('no-payload');
    ctx.progress(0.5, 'half');
    ctx.progress(1);
    return ctx.attempt;
  },
  onStart() {},
  onComplete(result) {
    expectType<unknown>(result);
  },
  onError(error) {
    expectType<Error>(error);
  },
};

const syncWorker: SynchronikWorker = { id: 'sync', run: () => 42 };
const voidWorker: SynchronikWorker = { id: 'void', run() {} };
const fixedDelay: SynchronikWorker = { id: 'fixed', retryDelayMs: 100, run: async () => undefined };
// A hook typed with a narrower result is still accepted.
const typedHook: SynchronikWorker = { id: 'typed', run: async () => 1, onComplete: (n: number) => void n };

// @ts-expect-error run is required
const noRun: SynchronikWorker = { id: 'no-run' };
// @ts-expect-error id is required
const noId: SynchronikWorker = { run: async () => 1 };
// @ts-expect-error status must be a Status
const badWorkerStatus: SynchronikWorker = { id: 'x', status: 'nope', run: async () => 1 };
// @ts-expect-error retryDelayMs is a number or a function returning one
const badDelay: SynchronikWorker = { id: 'x', retryDelayMs: '10', run: async () => 1 };
// @ts-expect-error overlap is 'skip' | 'queue' | 'allow'
const badOverlap: SynchronikWorker = { id: 'x', overlap: 'sometimes', run: async () => 1 };
// @ts-expect-error the context has no such field
const badCtx: SynchronikWorker = { id: 'x', run: async (ctx) => ctx.nope };

// --- Processes ---------------------------------------------------------------------

const proc: SynchronikProcess = {
  id: 'proc',
  name: 'Process',
  enabled: true,
  runMode: 'batched',
  batchSize: 4,
  isolationDelayMs: 10,
  workers: [legacyWorker, ctxWorker, syncWorker],
  onComplete() {},
};

// @ts-expect-error runMode 'bogus' is not a RunMode
const badProc: SynchronikProcess = { id: 'bad', runMode: 'bogus', workers: [] };
// @ts-expect-error workers must be workers
const badWorkers: SynchronikProcess = { id: 'bad', workers: [{ id: 'w' }] };

// Both kinds are units.
const units: SynchronikUnit[] = [legacyWorker, proc];

// Dependency items.
const deps: Dependency[] = [{ id: 'a' }, { id: 'b', condition: (result) => result.duration < 60 }];
// @ts-expect-error a dependency needs an id
const badDep: Dependency = { condition: () => true };

// --- Registration and lookup ---------------------------------------------------------

expectType<SynchronikWorker>(manager.registerUnit(legacyWorker));
expectType<SynchronikProcess>(manager.registerUnit(proc));
for (const unit of [legacyWorker, proc]) manager.registerUnit(unit);
manager.registerUnit({ id: 'inline', run: async (ctx) => ctx.attempt });
manager.registerUnit({ id: 'inline-proc', runMode: 'parallel', workers: [{ id: 'inline-w', run: () => 1 }] });
// @ts-expect-error runMode 'bogus' is not a RunMode
manager.registerUnit({ id: 'p', runMode: 'bogus', workers: [] });
// @ts-expect-error a unit needs run or workers
manager.registerUnit({ id: 'nothing' });
// @ts-expect-error an id is a string
manager.registerUnit({ id: 7, run: async () => 1 });

manager.releaseUnit('inline');
const unit = manager.getUnitById('legacy');
expectType<SynchronikWorker | SynchronikProcess | undefined>(unit);
if (unit && 'workers' in unit) expectType<SynchronikProcess>(unit);
else if (unit) expectType<SynchronikWorker>(unit);
expectType<SynchronikWorker | undefined>(manager.getWorkerById('legacy'));
expectType<SynchronikProcess | undefined>(manager.getProcessById('proc'));
expectType<Status | undefined>(manager.getUnitStatus('legacy'));
expectType<SynchronikWorker[]>(manager.listWorkers());
expectType<SynchronikProcess[]>(manager.listProcesses());
expectType<Array<SynchronikWorker | SynchronikProcess>>(manager.listUnits());
const snapshot: SynchronikUnit[] = manager.getRegistrySnapshot();
const runCount: number | undefined = manager.getWorkerById('legacy')?.meta?.runCount;
const lastRun: Date | undefined = manager.getWorkerById('legacy')?.lastRun;
const parent: string | undefined = manager.getWorkerById('legacy')?.processId;

// --- State ------------------------------------------------------------------------

async function stateChanges(): Promise<void> {
  await manager.updateStatus('legacy', 'paused');
  await manager.updateStatus('legacy', 'error', { payload: { error: new Error('x'), reason: 'manual' } });
  // @ts-expect-error 'nope' is not a Status
  await manager.updateStatus('legacy', 'nope');
  await manager.updateUnitConfig('legacy', { maxRetries: 1, run: async () => 2 });
  await manager.updateUnitConfig('proc', { runMode: 'isolated', isolationDelayMs: 5 });
  await manager.updateWorkerConfig('legacy', { timeoutMs: 500, meta: { note: 'hot swap' }, enabled: false });
  await manager.updateProcessConfig('proc', { batchSize: 3 });
  // @ts-expect-error a config cannot change the id
  await manager.updateWorkerConfig('legacy', { id: 'other' });
  // @ts-expect-error a process config cannot change the workers
  await manager.updateProcessConfig('proc', { workers: [] });
  // @ts-expect-error runMode 'bogus' is not a RunMode
  await manager.updateProcessConfig('proc', { runMode: 'bogus' });
  const done: Promise<void>[] = [
    manager.enableWorker('legacy'),
    manager.disableWorker('legacy'),
    manager.enableProcess('proc'),
    manager.disableProcess('proc'),
    manager.enableUnit('legacy'),
    manager.disableUnit('legacy'),
    manager.stopWorkerById('legacy'),
  ];
  await Promise.all(done);
  expectType<void>(manager.startAll());
  expectType<void>(manager.stopAll());
}

// --- Execution ----------------------------------------------------------------------

async function execution(): Promise<void> {
  const a: Promise<void> = manager.runWorkerById('legacy');
  const b: Promise<void> = manager.runUnitById('legacy');
  await Promise.all([a, b]);
  try {
    await manager.runProcessById('proc');
  } catch (e) {
    if (e instanceof SynchronikError) {
      expectType<string>(e.code);
      expectType<string | undefined>(e.unitId);
      expectType<unknown>(e.cause);
    }
  }
  // @ts-expect-error ids are strings
  await manager.runWorkerById(1);
}

// --- SynchronikError ------------------------------------------------------------------

const err = new SynchronikError('worker "x" timed out', 'ERR_TIMEOUT', { unitId: 'x', cause: new Error('inner') });
const asError: Error = err;
expectType<string>(err.code);
// @ts-expect-error a code is required
new SynchronikError('no code');

// --- Events -------------------------------------------------------------------------

function describeEvent(event: SynchronikEvent): string {
  switch (event.type) {
    case 'start':
      return event.unitId;
    case 'complete':
      expectType<unknown>(event.result);
      return `${event.unitId} ${event.durationMs.toFixed(1)}`;
    case 'error':
      return event.error.message;
    case 'milestone':
      return `${event.milestoneId} ${JSON.stringify(event.payload)}`;
    case 'updated': {
      const { reason, previous, current } = event.payload;
      expectType<'status-change' | 'config-change'>(reason);
      expectType<Status>(previous);
      expectType<Status>(current);
      return `${event.unitId} ${event.payload.name ?? ''}`;
    }
    case 'retry':
      return `${event.attempt} ${event.delayMs} ${event.error.message}`;
    case 'skipped':
      return event.reason;
    case 'stalled':
      return `${event.runningForMs} ${event.eventLoop === true}`;
    default: {
      // Exhaustive: every type is handled above.
      const never: never = event;
      return never;
    }
  }
}

function describeTaskEvent(event: TaskEvent): string {
  expectType<TaskStatus>(event.status);
  return `${event.pool} ${event.name} ${event.task.arrangementId}`;
}
manager.on('task', (event) => void describeTaskEvent(event));

const unsubscribeAll: () => void = manager.subscribeToEvents((event) => void describeEvent(event));
unsubscribeAll();
const offMilestone = manager.onMilestone((milestoneId, payload) => {
  expectType<string>(milestoneId);
  void payload.runMode;
});
offMilestone();
manager.onStart((e) => expectType<'start'>(e.type))();
manager.onComplete((e: CompleteEvent) => void e.result)();
manager.onError((e) => void e.error.stack)();
manager.emitMilestone('deploy:done', { version: '1.2.3' });
manager.emitMilestone('deploy:done');

// EventEmitter methods are typed per event name.
manager.on('complete', (e) => expectType<number>(e.durationMs));
manager.once('updated', (e: UpdatedEvent) => void e.payload.reason);
manager.on('retry', (e) => expectType<number>(e.attempt));
manager.on('listenerError', (e) => void e.error);
manager.off('complete', () => {});
expectType<number>(manager.listenerCount('milestone'));
// @ts-expect-error no such event
manager.on('finished', () => {});
// @ts-expect-error a start event has no result
manager.on('start', (e) => e.result);
// @ts-expect-error subscribeToEvents needs a function
manager.subscribeToEvents('all');
// @ts-expect-error onMilestone handlers take (id, payload), not an event
manager.onMilestone((id: number) => id);

// --- Stats ---------------------------------------------------------------------------

const stats = manager.getEngineStats();
expectType<string>(stats.memory.heapUsed);
expectType<string>(stats.cpu);
expectType<number>(stats.engine.units);

// --- Dependency graphs and concurrency --------------------------------------------

const graph: SynchronikProcess = {
  id: 'pipeline',
  workers: [
    { id: 'download', run: async () => ({ bytes: 10 }) },
    { id: 'unzip', dependsOn: ['download'], run: async () => ({ duration: 125 }) },
    { id: 'short', dependsOn: [{ id: 'unzip', condition: (r) => r.duration < 60 }], run: async () => 1 },
    { id: 'long', dependsOn: ['download', { id: 'unzip', condition: (r: { duration: number }) => r.duration >= 60 }], run: () => 2 },
    { id: 'stats', dependsOn: [], run: () => 3 },
  ],
};
manager.registerUnit(graph);
const mixedDeps: Array<string | Dependency> = ['a', { id: 'b' }];
const limited: SynchronikProcess = { id: 'fan-out', runMode: 'parallel', concurrency: 4, workers: [syncWorker] };
manager.registerUnit(limited);
async function graphConfig(): Promise<void> {
  await manager.updateProcessConfig('fan-out', { concurrency: 2 });
  // @ts-expect-error dependencies cannot be changed by a config update
  await manager.updateWorkerConfig('unzip', { dependsOn: ['stats'] });
}
// @ts-expect-error concurrency is a number
const badConcurrency: SynchronikProcess = { id: 'x', concurrency: 'many', workers: [] };
// @ts-expect-error dependsOn items are ids or Dependency objects
const badDependsOn: SynchronikWorker = { id: 'x', dependsOn: [7], run: () => 1 };
// @ts-expect-error a condition is synchronous: a promise would always count as met
const asyncCondition: Dependency = { id: 'a', condition: async () => true };
// @ts-expect-error a Dependency has no `after` field
const typoDependency: Dependency = { id: 'a', after: 'b' };

assertType<Equal<SkipReason, 'overlap' | 'condition' | 'dependency-failed' | 'dependency-skipped'>>();
manager.on('skipped', (e) => {
  expectType<SkipReason>(e.reason);
  // @ts-expect-error not a skip reason
  if (e.reason === 'disabled') return;
});

// --- runWorkerTasks ---------------------------------------------------------------------

async function taskRunner(): Promise<void> {
  // Config form: results typed from execute.
  const movies = await runWorkerTasks({
    items: ['tt1375666', 'tt9999999'],
    execute: async (id) => ({ movieId: id, title: `Title of ${id}` }),
    getTaskId: (id) => id,
    maxRetries: 2,
    retryDelayMs: (retry) => 2 ** retry * 50,
    onProgress: ({ completed, total, percentage }) => void [completed, total, percentage.toFixed(1)],
    concurrency: 2,
  });
  assertType<Equal<typeof movies, TaskRunnerResult<{ movieId: string; title: string }>>>();
  expectType<string>(movies.successful[0].result.title);
  expectType<string>(movies.failed[0].error);
  expectType<number>(movies.successPercentage);
  // Numbers as items, numeric ids, a fixed delay, a sync execute.
  const squares = await runWorkerTasks({ items: [1, 2, 3], execute: (n) => n * n, getTaskId: (n) => n, retryDelayMs: 10 });
  assertType<Equal<typeof squares, TaskRunnerResult<number>>>();
  // List form.
  const list = await runWorkerTasks([{ id: 'one', execute: async () => 1 }, { id: 'two', execute: () => 2 }], { maxRetries: 1, concurrency: 2 });
  assertType<Equal<typeof list, TaskRunnerResult<number>>>();
  await runWorkerTasks([{ id: 'bare', execute: async () => 'x' }]);
  // @ts-expect-error execute gets the item's type
  await runWorkerTasks({ items: [1, 2], execute: (s: string) => s });
  // @ts-expect-error concurrency is a number
  await runWorkerTasks({ items: [1], execute: (n) => n, concurrency: 'all' });
  // @ts-expect-error list tasks need an id
  await runWorkerTasks([{ execute: async () => 1 }]);
  // @ts-expect-error the list form's execute takes no item
  await runWorkerTasks([{ id: 'x', execute: (item: string) => item }]);
  // @ts-expect-error items are required
  await runWorkerTasks({ execute: (n: number) => n });
}

// --- Worker pools -------------------------------------------------------------------------

const pool: WorkerPool = manager.useWorkerPool();
const imagePool = manager.useWorkerPool(3, { name: 'images' });
const legacyPool: WorkerManager = manager.useWorkerPool(2);
expectType<string>(imagePool.name);

// 2.3 style: execute without arguments.
const plain = pool.addTask({ name: 'build-docs', execute: async () => undefined });
if (plain) {
  expectType<Task>(plain);
  expectType<number>(plain.arrangementId);
  expectType<TaskStatus>(plain.status);
}
// Payload, priority, execute(payload, ctx).
const typedTask = pool.addTask({
  name: 'resize',
  priority: 5,
  payload: { width: 320 },
  execute: async (payload, ctx) => {
    assertType<Equal<typeof payload, { width: number }>>();
    expectType<RunContext>(ctx);
    ctx.emitMilestone('resize:started');
    return payload.width * 2;
  },
});
assertType<Equal<typeof typedTask, Task<{ width: number }> | null>>();
// A handler task.
pool.handle('send-email', async (payload: { to: string }, ctx) => `${payload.to} via ${ctx.unitId}`);
pool.addTask({ name: 'welcome-mail', handler: 'send-email', payload: { to: 'ada@example.com' } });
pool.unhandle('send-email');
const input: NewTask = { name: 'from-a-variable', execute: () => 1 };
legacyPool.addTask(input);

pool.updateTask('resize', { priority: 9, payload: { width: 640 } });
pool.pauseTask('resize');
pool.resumeTask('resize');
pool.cancelTask('resize');
expectType<string>(pool.simulateRun());
pool.start();
pool.stop();
pool.resize(8);
expectType<SynchronikWorker[]>(pool.getPoolWorkers());
expectType<SynchronikWorker[]>(legacyPool.generateWorkers());
const workerStatus = pool.getWorkerStatus('pool-worker-1');
expectType<WorkerStatus | undefined>(workerStatus);
if (workerStatus) {
  expectType<boolean>(workerStatus.isIdle);
  expectType<string | undefined>(workerStatus.currentTask);
  expectType<string | undefined>(workerStatus.lastMilestone);
}

async function poolRun(): Promise<void> {
  const n = await pool.run(async () => 42);
  assertType<Equal<typeof n, number>>();
  const len = await pool.run((text, { signal }) => (signal.aborted ? 0 : text.length), {
    payload: 'hello',
    priority: 1,
    signal: AbortSignal.timeout(100),
  });
  assertType<Equal<typeof len, number>>();
  await pool.onIdle();
  void n;
  // @ts-expect-error the signal is an AbortSignal
  await pool.run(() => 1, { signal: new AbortController() });
  // @ts-expect-error the payload type follows the function
  await pool.run((text: string) => text, { payload: 7 });
  // @ts-expect-error the 2.3 interface has no run()
  await legacyPool.run(() => 1);
}

manager.on('task', (e: TaskEvent) => {
  expectType<string>(e.pool);
  expectType<Task>(e.task);
  expectType<unknown>(e.error);
  expectType<unknown>(e.task.error);
});

// @ts-expect-error a task needs execute or handler
pool.addTask({ name: 'nothing' });
// @ts-expect-error not both execute and handler
pool.addTask({ name: 'both', handler: 'send-email', execute: () => 1 });
// @ts-expect-error a task needs a name
pool.addTask({ execute: () => 1 });
// @ts-expect-error priority is a number
pool.addTask({ name: 'p', priority: 'high', execute: () => 1 });
// @ts-expect-error the payload type follows execute
pool.addTask({ name: 'typed', payload: 'text', execute: (p: number) => p });
// @ts-expect-error updateTask cannot set the status (use pauseTask / resumeTask)
pool.updateTask('build-docs', { status: 'paused' });
// @ts-expect-error not a task status
const badTaskStatus: TaskStatus = 'queued';
// @ts-expect-error the pool options are an object
manager.useWorkerPool(2, 'images');
// @ts-expect-error size is a number
manager.useWorkerPool('5');
// @ts-expect-error handlers are functions
pool.handle('send-email', 'sendEmail');

void [badStatus, badMode, noRun, noId, badWorkerStatus, badDelay, badOverlap, badCtx, badProc, badWorkers, badDep];
void [voidWorker, fixedDelay, typedHook, units, deps, snapshot, runCount, lastRun, parent, asError];
void [stateChanges, execution, graphConfig, taskRunner, poolRun];
void [mixedDeps, badConcurrency, badDependsOn, asyncCondition, typoDependency, badTaskStatus];

// --- Durable storage ----------------------------------------------------------------

const durable = createSynchronikManager({ storage: { sqlite: './state.db', history: { maxAgeMs: 86_400_000, maxRows: 1000 } } });
createSynchronikManager({ storage: { sqlite: './state.db', history: false } });
// @ts-expect-error the file is required
createSynchronikManager({ storage: { history: false } });
// @ts-expect-error history is false or an object
createSynchronikManager({ storage: { sqlite: 'x.db', history: 'on' } });
const jobs = durable.useWorkerPool(4, { name: 'jobs' });
jobs.handle('charge', (payload: { amount: number }, ctx) => {
  expectType<string | undefined>(ctx.idempotencyKey);
  return payload.amount;
});
const charged = jobs.addTask({ name: 'charge-1', handler: 'charge', payload: { amount: 3 } });
if (charged) expectType<string | undefined>(charged.idempotencyKey);
void durable.flush().then(() => undefined);
void durable.history({ unitId: 'w', limit: 10, since: new Date() }).then((rows: HistoryEntry[]) => {
  const row = rows[0];
  expectType<Date>(row.startedAt);
  expectType<number>(row.attempt);
  expectType<string | undefined>(row.error);
  expectType<string | undefined>(row.task?.idempotencyKey);
});
// @ts-expect-error since is a Date or a number
void durable.history({ since: 'yesterday' });
const storageStats = durable.getEngineStats().storage;
if (storageStats) expectType<number>(storageStats.pendingWrites);
const adapter: StorageAdapter = new FileStorageAdapter('state.json');
void durable.useStorage(adapter);
void durable.close({ timeoutMs: 100 }).then(() => undefined);

// --- 2.3 programs: narrowing subscribeToEvents' events, SynchronikWorkerManager ---

// Every event subscribeToEvents delivers, except a milestone, has a unitId.
manager.subscribeToEvents((e) => {
  if (e.type !== 'milestone') console.log(e.unitId);
});
manager.subscribeToEvents((e) => {
  if (e.type === 'milestone') return;
  expectType<string>(e.unitId);
});
// Task events are not among them: they go to on('task').
manager.subscribeToEvents((e) => {
  // @ts-expect-error subscribeToEvents delivers no task events
  if (e.type === 'task') console.log(e.pool);
});
assertType<Equal<Extract<SynchronikEvent, { type: 'task' }>, never>>();

// The worker pool's type under 2.3's name.
const pool23: SynchronikWorkerManager = manager.useWorkerPool(2);
const poolAgain: WorkerPool = pool23;
pool23.addTask({ name: 'legacy', execute: async () => 1 });
expectType<string>(pool23.simulateRun());
expectType<WorkerManager>(poolAgain);

// A manual clock started at an instant: the manager has its clock.
async function clockStartedAtAnInstant(): Promise<void> {
  const atDate = createSynchronikManager({ clock: { manual: true, now: new Date('2024-03-01T12:00:00Z') } });
  const started: number = atDate.clock.now();
  await atDate.clock.advance(started > 0 ? 1000 : 0);
  createSynchronikManager({ clock: { manual: true, now: '2024-03-01' } }).clock.now();
  createSynchronikManager({ clock: { manual: true, now: 1_709_294_400_000 } }).clock.now();
  createSynchronikManager({ clock: { manual: true } }).clock.now();
  // @ts-expect-error only the manual clock starts at an instant
  createSynchronikManager({ clock: { manual: false, now: 0 } });
  // @ts-expect-error now is a Date, an ISO string or epoch ms
  createSynchronikManager({ clock: { manual: true, now: { year: 2024 } } });
}
void clockStartedAtAnInstant;
