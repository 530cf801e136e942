// Type test: programs written for synchronik 2.3 that use its console
// dashboard, its visualizer, its other type names and its event union.
// Checked by `tsc -p tsconfig.json`, never run. Every `@ts-expect-error`
// line must fail to type-check; everything else must pass.

import {
  createSynchronikDashboard,
  createSynchronikManager,
  createSynchronikVisualizer,
  type ConsoleDashboard,
  type ConsoleVisualizer,
  type DashboardOptions,
  type Dependency,
  type ISynchronikEventBus,
  type MilestoneEmitter,
  type PreRunSequence,
  type RegistryState,
  type RunMode,
  type Status,
  type SynchronikDashboard,
  type SynchronikEvent,
  type SynchronikLifecycle,
  type SynchronikLoop,
  type SynchronikManager,
  type SynchronikProcess,
  type SynchronikRegistry,
  type SynchronikUnit,
  type SynchronikVisualizer,
  type SynchronikWorker,
  type SynchronikWorkerManager,
  type Task,
  type UnitWatcher,
  type UpdateProcessConfig,
  type UpdateWorkerConfig,
  type WorkerManager,
  type WorkerMeta,
  type WorkerStatus,
} from 'synchronik';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_ok?: T): void {}
function expectType<T>(_value: T): void {}

const manager: SynchronikManager = createSynchronikManager();

// --- The 2.3 dashboard -----------------------------------------------------------

const dashboard: SynchronikDashboard = createSynchronikDashboard();
dashboard.attachToManager(manager);
dashboard.render();
dashboard.showUnitStatus('w1');
dashboard.showMilestoneArc('w1');
dashboard.triggerBadgeGlow('w1', 'gold');
// @ts-expect-error a badge is a string
dashboard.triggerBadgeGlow('w1', 1);
// @ts-expect-error attachToManager takes a manager
dashboard.attachToManager({});

// A manager of either clock attaches.
createSynchronikDashboard().attachToManager(createSynchronikManager({ clock: 'manual' }));

// 2.3 code that implements the interface itself still compiles.
const ownDashboard: SynchronikDashboard = {
  render: () => {},
  attachToManager: (_m: SynchronikManager) => {},
  showUnitStatus: (_id: string) => {},
  showMilestoneArc: (_id: string) => {},
  triggerBadgeGlow: (_id: string, _badge: string) => {},
};
void ownDashboard;

// --- The live view -------------------------------------------------------------------

const live: ConsoleDashboard = createSynchronikDashboard({ live: true, refreshMs: 250, stream: process.stdout });
live.attachToManager(manager);
expectType<void>(live.stop());
createSynchronikDashboard({ live: true, stream: process.stderr });
createSynchronikDashboard({ stream: { write: (text: string) => void text, isTTY: true, columns: 100 } });
const options: DashboardOptions = { live: false };
createSynchronikDashboard(options);
// @ts-expect-error unknown option
createSynchronikDashboard({ refresh: 100 });
// @ts-expect-error live is a boolean
createSynchronikDashboard({ live: 'yes' });
// @ts-expect-error a stream writes
createSynchronikDashboard({ stream: {} });

// --- The 2.3 visualizer ----------------------------------------------------------------

const visualizer: SynchronikVisualizer = createSynchronikVisualizer((type, message, meta) => {
  expectType<'status' | 'milestone'>(type);
  expectType<string>(message);
  expectType<Record<string, unknown> | undefined>(meta);
});
visualizer.renderUnitStatus('w1', 'running');
visualizer.renderUnitStatus('w1', undefined, 'no status');
visualizer.renderMilestone('unit:w2:completed', { badge: 'gold' });
visualizer.attachToEventBus(manager);
// @ts-expect-error not a status
visualizer.renderUnitStatus('w1', 'done');
// @ts-expect-error a bus has subscribeToEvents or subscribeAll
visualizer.attachToEventBus({ on() {} });

// The visualizer made here returns the function that detaches it.
const made: ConsoleVisualizer = createSynchronikVisualizer();
const detach: () => void = made.attachToEventBus(manager);
detach();

// 2.3's bus type, and 2.3 tests that build a visualizer from mocks.
declare const bus: ISynchronikEventBus;
visualizer.attachToEventBus(bus);
bus.subscribe('error', (e) => expectType<string>(e.unitId));
let renderUnitStatus: SynchronikVisualizer['renderUnitStatus'];
let renderMilestone: SynchronikVisualizer['renderMilestone'];
let attachToEventBus: SynchronikVisualizer['attachToEventBus'];
renderUnitStatus = (..._args: unknown[]) => {};
renderMilestone = (..._args: unknown[]) => {};
attachToEventBus = (..._args: unknown[]) => {};
const mocked: SynchronikVisualizer = { renderUnitStatus, renderMilestone, attachToEventBus };
void mocked;

// --- The event union as 2.3 programs narrow it -----------------------------------------------

manager.subscribeToEvents((event) => {
  if (event.type !== 'milestone') expectType<string>(event.unitId);
  if (event.type === 'milestone') expectType<string>(event.milestoneId);
});
function unitOf(event: SynchronikEvent): string | undefined {
  return event.type === 'milestone' ? undefined : event.unitId;
}
void unitOf;
assertType<Equal<Exclude<SynchronikEvent, { type: 'milestone' }>['unitId'], string>>();
// 2.3's mapEventTypeToStatus.
function mapEventTypeToStatus(type: SynchronikEvent['type']): SynchronikUnit['status'] | undefined {
  switch (type) {
    case 'start':
      return 'running';
    case 'complete':
      return 'completed';
    case 'error':
      return 'error';
    default:
      return undefined;
  }
}
void mapEventTypeToStatus;
// The new events are typed where they are delivered.
manager.on('task', (event) => expectType<string>(event.pool));
manager.subscribeToEvents((event) => {
  if (event.type === 'retry') expectType<number>(event.attempt);
  if (event.type === 'stalled') expectType<number>(event.runningForMs);
});

// --- 2.3's other type names --------------------------------------------------------------------

const meta: WorkerMeta = { status: 'idle', capabilities: ['io'] };
const sequence: PreRunSequence = { workerId: 'pool-worker-1', sequence: ['would run: buildDocs'] };
const updateWorker: UpdateWorkerConfig<SynchronikWorker> = (id, config) => void manager.updateWorkerConfig(id, config);
const updateProcess: UpdateProcessConfig<SynchronikProcess> = (id, config) => void manager.updateProcessConfig(id, config);
declare const emitter: MilestoneEmitter;
emitter.emitForUnit('w1', 'completed', { ok: true });
declare const registry: SynchronikRegistry;
expectType<SynchronikUnit[]>(registry.findUnitsByStatus('error'));
declare const state: RegistryState;
expectType<SynchronikWorker | undefined>(state.workers.get('w1'));
declare const lifecycle: SynchronikLifecycle;
lifecycle.update<SynchronikWorker>('w1', { intervalMs: 10 });
declare const loop: SynchronikLoop;
void loop.run();
declare const watcher: UnitWatcher;
watcher.scan();
const pool: SynchronikWorkerManager = manager.useWorkerPool(2);
const asWorkerManager: WorkerManager = pool;
const task: Task | null = asWorkerManager.addTask({ name: 'build', execute: async () => 'ok' });
const status: WorkerStatus | undefined = pool.getWorkerStatus('pool-worker-1');
const mode: RunMode = 'batched';
const dependency: Dependency = { id: 'w1', condition: (result) => result !== null };
const idle: Status = 'idle';
void [meta, sequence, updateWorker, updateProcess, task, status, mode, dependency, idle];
