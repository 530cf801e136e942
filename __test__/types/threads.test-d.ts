// Type test for thread pools in index.d.ts: checked by `tsc -p
// tsconfig.json`, never run. Every `@ts-expect-error` line must fail to
// type-check; everything else must pass.

import {
  createSynchronikManager,
  type Task,
  type TaskStatus,
  type ThreadPool,
  type ThreadPoolStats,
  type ThreadTask,
  type ThreadTaskContext,
} from 'synchronik';

function expectType<T>(_value: T): void {}

const manager = createSynchronikManager({ storage: { sqlite: 'state.db' } });
const pool: ThreadPool = manager.useThreadPool({ filename: new URL('file:///tmp/crunch.js'), name: 'crunch', size: 2, maxQueue: 100, idleTimeoutMs: 5_000 });
manager.useThreadPool({ filename: './crunch.js', groups: [{ size: 1, handlers: ['resize'] }, { size: 1 }] });
// @ts-expect-error filename is required
manager.useThreadPool({ size: 2 });

// --- Runs ------------------------------------------------------------------------
expectType<Promise<number>>(pool.run<number>({ n: 1 }, { handler: 'square', priority: 2, signal: AbortSignal.timeout(100) }));
const buffer = new ArrayBuffer(8);
void pool.run(buffer, { transferList: [buffer] });
// @ts-expect-error priority is a number
void pool.run(1, { priority: 'high' });
expectType<ThreadPoolStats>(pool.stats());
expectType<Promise<void>>(pool.close());
expectType<Promise<void>>(pool.destroy());

// --- Named (durable) tasks ----------------------------------------------------------
const task = pool.addTask({ name: 'report-7', handler: 'render', payload: { id: 7 }, priority: 1 });
if (task !== null) {
  expectType<ThreadTask<{ id: number }>>(task);
  expectType<Task<{ id: number }>>(task);
  expectType<string>(task.handler);
  expectType<number>(task.arrangementId);
  expectType<TaskStatus>(task.status);
  expectType<string | undefined>(task.idempotencyKey);
  expectType<unknown>(task.result);
}
pool.addTask({ name: 'default-handler' });
// @ts-expect-error a task needs a name
pool.addTask({ handler: 'render' });
// @ts-expect-error unknown field
pool.addTask({ name: 'x', execute: () => 1 });
expectType<boolean>(pool.cancelTask('report-7'));

// A handler module's second argument for named tasks.
const handler = (payload: { id: number }, ctx?: ThreadTaskContext): string => `${payload.id}:${ctx?.attempt}:${ctx?.idempotencyKey ?? ''}`;
void handler;

manager.on('task', (event) => {
  expectType<string>(event.pool);
  expectType<Task>(event.task);
});

// A unit whose kind is known only as a union goes through the catch-all overload.
declare const someUnit: import('synchronik').SynchronikWorker | import('synchronik').ThreadPoolWorker | import('synchronik').SynchronikProcess;
manager.registerUnit(someUnit);
