// Type test for calendar schedules in index.d.ts: checked by `tsc -p
// tsconfig.json`, never run. Every `@ts-expect-error` line must fail to
// type-check; everything else must pass.

import { createSynchronikManager, type CronSchedule, type WorkerSchedule } from 'synchronik';

function expectType<T>(_value: T): void {}

const manager = createSynchronikManager({ clock: { manual: true, now: '2026-03-29T00:30:00Z' } });
manager.registerUnit({ id: 'nightly', schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin', catchUp: 'one', catchUpWindowMs: 86_400_000, jitterMs: 500 }, run: () => 1 });
manager.registerUnit({ id: 'launch', schedule: { at: ['2026-04-01T09:00:00Z', new Date(), 1_800_000_000_000] }, run: () => 1 });
manager.registerUnit({ id: 'bounded', schedule: { cron: '@hourly', startAt: new Date(), stopAt: '2026-12-31T00:00:00Z' }, run: () => 1 });
// @ts-expect-error catchUp is one of 'none' | 'one' | 'all'
manager.registerUnit({ id: 'bad', schedule: { cron: '* * * * *', catchUp: 'some' }, run: () => 1 });
// @ts-expect-error a schedule needs cron or at
manager.registerUnit({ id: 'bad2', schedule: { timezone: 'UTC' }, run: () => 1 });

expectType<Date[]>(manager.nextRuns('nightly'));
expectType<Date[]>(manager.nextRuns('nightly', 10));
manager.pauseSchedule('nightly');
manager.resumeSchedule('nightly');
void manager.updateWorkerConfig('nightly', { schedule: { cron: '0 3 * * *' } });

const s: WorkerSchedule = { cron: '0 0 * * MON' };
const c: CronSchedule = { cron: '0 0 L * *', timezone: 'Asia/Kolkata' };
void s;
void c;

// Delayed pool tasks.
const pool = manager.useWorkerPool(2);
pool.addTask({ name: 'later', execute: () => 1, runAt: '2026-04-01T09:00:00Z' });
pool.addTask({ name: 'soon', handler: 'send', delayMs: 5_000 });
expectType<Promise<number>>(pool.run(() => 1, { delayMs: 100 }));
void pool.run(() => 1, { runAt: new Date() });
// @ts-expect-error delayMs is a number of ms
pool.addTask({ name: 'bad', execute: () => 1, delayMs: '5s' });
