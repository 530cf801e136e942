// Type test for index.d.ts: the types say what the engine knows. Checked by
// `tsc -p tsconfig.json`, never run. Every `@ts-expect-error` line must fail
// to type-check; everything else must pass.

import { EventEmitter, once } from 'node:events';
import {
  createSynchronikManager,
  SynchronikError,
  type ClockKind,
  type CompleteEvent,
  type ManagerOptions,
  type ManualClock,
  type ManualClockManager,
  type SynchronikAbortCode,
  type SynchronikErrorCode,
  type SynchronikEventMap,
  type SynchronikEventName,
  type SynchronikManager,
  type SynchronikProcess,
  type SynchronikWorker,
  type SystemClockManager,
  type UnitError,
} from 'synchronik';

/** Compile-time equality of two types. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_ok?: T): void {}
function expectType<T>(_value: T): void {}

// --- Error codes ----------------------------------------------------------------------

// Every code the engine (ErrorCode, AbortReason) and the facade produce, and no other.
assertType<
  Equal<
    SynchronikErrorCode,
    | 'ERR_UNKNOWN_UNIT'
    | 'ERR_WRONG_KIND'
    | 'ERR_INVALID_UNIT'
    | 'ERR_TIMEOUT'
    | 'ERR_STOPPED'
    | 'ERR_RELEASED'
    | 'ERR_WORKER_FAILED'
    | 'ERR_RUN_FAILED'
    | 'ERR_UNKNOWN_DEPENDENCY'
    | 'ERR_DEPENDENCY_CYCLE'
    | 'ERR_CANCELLED'
    | 'ERR_STORAGE'
    | 'ERR_CLOSED'
    | 'ERR_UNKNOWN_TASK'
    | 'ERR_NOT_RETRYABLE'
    | 'ERR_THREAD_EXITED'
    | 'ERR_THREAD_BOOTSTRAP'
    | 'ERR_QUEUE_FULL'
    | 'ERR_NON_ERROR_THROWN'
    | 'ERR_ABORTED'
  >
>();
assertType<Equal<SynchronikAbortCode, 'ERR_TIMEOUT' | 'ERR_STOPPED' | 'ERR_RELEASED' | 'ERR_CANCELLED' | 'ERR_ABORTED'>>();
assertType<Equal<Extract<SynchronikAbortCode, SynchronikErrorCode>, SynchronikAbortCode>>();

const manager = createSynchronikManager();

async function errorCodes(): Promise<void> {
  try {
    await manager.runProcessById('nightly');
  } catch (e) {
    if (!(e instanceof SynchronikError)) throw e;
    expectType<SynchronikErrorCode>(e.code);
    if (e.code === 'ERR_WORKER_FAILED') void e.unitId;
    // @ts-expect-error a misspelt code does not compile
    if (e.code === 'ERR_TIMEOUTT') return;
    switch (e.code) {
      case 'ERR_TIMEOUT':
      case 'ERR_STOPPED':
        return;
      // @ts-expect-error not a code of synchronik
      case 'ERR_QUEUE_FULLL':
        return;
    }
  }
}
new SynchronikError('worker "w" timed out', 'ERR_TIMEOUT', { unitId: 'w' });
// @ts-expect-error a SynchronikError carries one of the known codes
new SynchronikError('custom', 'ERR_MY_OWN');
// @ts-expect-error the code is not free text
const codeAsText: SynchronikErrorCode = 'timeout';

// --- unit.error: the run's own Error, or a SynchronikError --------------------------

const failed = manager.getWorkerById('w');
if (failed?.error) {
  const error = failed.error;
  expectType<UnitError>(error);
  expectType<Error>(error);
  expectType<string>(error.message);
  // A run's own error may have a code of its own (ENOENT, …): unknown until narrowed.
  assertType<Equal<typeof error.code, unknown>>();
  if (error instanceof SynchronikError) {
    expectType<SynchronikErrorCode>(error.code);
    // @ts-expect-error narrowed to SynchronikError, a misspelt code does not compile
    if (error.code === 'ERR_TIMEOUTT') void error;
  }
  if ('code' in error) {
    // `in` does not make a user's error a SynchronikError.
    // @ts-expect-error the code of a user's error may be anything
    const code: SynchronikErrorCode = error.code;
  }
}
// Any Error the caller has can still be written where 2.3 programs wrote one.
const withError: SynchronikWorker = { id: 'e', run: () => 1, error: new TypeError('bad'), onError: (e: Error) => void e };
manager.on('error', (e) => {
  expectType<UnitError>(e.error);
  if (e.error instanceof SynchronikError && e.error.code === 'ERR_NON_ERROR_THROWN') void e.error.cause;
});
manager.on('retry', (e) => expectType<UnitError>(e.error));
manager.on('task', (e) => {
  if (e.error instanceof SynchronikError) expectType<SynchronikErrorCode>(e.error.code);
  if (e.task.error) expectType<UnitError>(e.task.error);
});

// --- Generic workers ---------------------------------------------------------------------

// SynchronikWorker without an argument is as before: any result.
assertType<Equal<SynchronikWorker, SynchronikWorker<unknown>>>();
assertType<Equal<CompleteEvent, CompleteEvent<unknown>>>();

// Inline in registerUnit, run's result flows into onComplete.
const inferred = manager.registerUnit({
  id: 'answer',
  run: async () => 42,
  onComplete: (n) => expectType<number>(n),
});
assertType<Equal<typeof inferred, SynchronikWorker<number>>>();
manager.registerUnit({
  id: 'with-ctx',
  run: (ctx) => ({ attempt: ctx.attempt }),
  onComplete(result) {
    expectType<number>(result.attempt);
  },
});
// @ts-expect-error onComplete gets what run resolves to (a number), not a string
manager.registerUnit({ id: 'wrong-hook', run: async () => 42, onComplete: (s: string) => void s });

// Declared with its result type.
const prices: SynchronikWorker<number[]> = {
  id: 'prices',
  run: async ({ signal }) => (signal.aborted ? [] : [1, 2]),
  onComplete: (list) => expectType<number[]>(list),
};
// @ts-expect-error run must resolve to the declared result
const wrongRun: SynchronikWorker<number[]> = { id: 'x', run: async () => 'text' };
// @ts-expect-error onComplete must take the declared result
const wrongHook: SynchronikWorker<number[]> = { id: 'x', run: () => [1], onComplete: (text: string) => void text };
// A typed worker is a worker: it goes into processes and lists of workers.
const typedProcess: SynchronikProcess = { id: 'typed-proc', workers: [prices, inferred] };
const anyWorkers: SynchronikWorker[] = [prices, inferred];
expectType<SynchronikProcess>(manager.registerUnit(typedProcess));
expectType<SynchronikWorker<number[]>>(manager.registerUnit(prices));

// A handler of one worker's complete events.
function onPrices(event: CompleteEvent<number[]>): number {
  return event.result.length;
}
manager.on('complete', (e) => {
  expectType<unknown>(e.result);
  if (e.unitId === 'prices') onPrices(e as CompleteEvent<number[]>);
});
// The manager's complete events come from every unit: it does not claim to know their result.
// @ts-expect-error a complete listener of the manager gets CompleteEvent<unknown>
manager.on('complete', (e: CompleteEvent<number[]>) => onPrices(e));
// @ts-expect-error the same for onComplete
manager.onComplete(onPrices);

// --- manager.clock exactly with the manual clock -------------------------------------

const systemClock = createSynchronikManager();
assertType<Equal<typeof systemClock, SystemClockManager>>();
// @ts-expect-error a system-clock manager has no clock
void systemClock.clock.advance(10);
// @ts-expect-error not with clock: 'system' either
void createSynchronikManager({ clock: 'system', loopInterval: 50 }).clock;

const manual = createSynchronikManager({ clock: 'manual' });
assertType<Equal<typeof manual, ManualClockManager>>();
assertType<Equal<typeof manual.clock, ManualClock>>();
void manual.clock.advance(10);
const fromInstant = createSynchronikManager({ clock: { manual: true, now: '2024-03-01T00:00:00Z' }, stallThresholdMs: 100 });
expectType<number>(fromInstant.clock.now());
// Chained listener methods keep the clock.
void manual.on('start', () => {}).clock.runUntilIdle();

// Options of either clock: the clock may be there.
function fromOptions(options: ManagerOptions): void {
  const either = createSynchronikManager(options);
  assertType<Equal<typeof either, SynchronikManager>>();
  // @ts-expect-error the clock may be absent
  void either.clock.advance(1);
  void either.clock?.advance(1);
}
// SynchronikManager without an argument takes a manager of either clock.
const anyManagers: SynchronikManager[] = [systemClock, manual, fromInstant];
const manualOnly: SynchronikManager<'manual'> = manual;
// @ts-expect-error a system-clock manager is not a manual-clock one
const notManual: SynchronikManager<'manual'> = systemClock;
assertType<Equal<ClockKind, 'system' | 'manual'>>();
// @ts-expect-error misspelt clock
createSynchronikManager({ clock: 'manuel' });
// @ts-expect-error unknown option (the options are still checked for typos)
createSynchronikManager({ clock: 'manual', loopIntervall: 20 });

// --- Event names, whatever @types/node says -------------------------------------------

assertType<
  Equal<
    SynchronikEventName,
    'start' | 'complete' | 'error' | 'milestone' | 'updated' | 'retry' | 'skipped' | 'stalled' | 'task' | 'listenerError'
  >
>();
manager.on('stalled', (e) => expectType<number>(e.runningForMs));
manager.prependListener('skipped', (e) => void e.reason);
manager.prependOnceListener('task', (e) => void e.pool);
manager.addListener('milestone', (e) => void e.milestoneId);
manager.removeListener('milestone', () => {});
manager.removeAllListeners('complete');
manager.removeAllListeners();
expectType<boolean>(manager.emit('milestone', { type: 'milestone', milestoneId: 'm', payload: {} }));
expectType<Array<(event: SynchronikEventMap['retry'][0]) => void>>(manager.listeners('retry'));
expectType<SynchronikEventName[]>(manager.eventNames());
// @ts-expect-error no such event
manager.once('finished', () => {});
// @ts-expect-error no such event
manager.off('completed', () => {});
// @ts-expect-error no such event
manager.emit('done');
// @ts-expect-error no such event
manager.listenerCount('finish');
// @ts-expect-error a complete listener gets a CompleteEvent, not a StartEvent
manager.on('complete', (e: { type: 'start'; unitId: string }) => void e);
// @ts-expect-error emit checks the event it is given
manager.emit('complete', { type: 'start', unitId: 'x' });
// Still an EventEmitter for Node's helpers.
const emitter: EventEmitter = manager;
void once(manager, 'complete');

void [errorCodes, codeAsText, withError, wrongRun, wrongHook, anyWorkers, fromOptions, anyManagers, manualOnly, notManual, emitter];
