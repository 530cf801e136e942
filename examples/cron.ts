// Calendar schedules: a nightly job at 02:30 in Berlin, walked through both
// daylight-saving nights of 2026 on the manual clock (in milliseconds of
// real time), a half-hourly job in New York bounded by startAt and stopAt,
// one-off times, a preview of the next fires, and a paused schedule.
//
//   npm run examples && node build/examples/cron.js

import assert from 'node:assert/strict';
import { createSynchronikManager } from 'synchronik';

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

async function main(): Promise<void> {
  // The clock starts on the Saturday before the spring-forward night.
  const manager = createSynchronikManager({ clock: { manual: true, now: '2026-03-28T12:00:00Z' } });
  const nightly: string[] = [];
  manager.registerUnit({
    id: 'nightly-report',
    schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
    run: () => {
      nightly.push(iso(manager.clock.now()));
    },
  });
  const halfHourly: string[] = [];
  manager.registerUnit({
    id: 'sync',
    schedule: { cron: '*/30 * * * *', timezone: 'America/New_York', startAt: '2026-03-29T00:00:00Z', stopAt: '2026-03-29T02:59:59Z' },
    run: () => {
      halfHourly.push(iso(manager.clock.now()));
    },
  });
  const launches: string[] = [];
  manager.registerUnit({
    id: 'launch',
    schedule: { at: ['2026-03-29T09:00:00Z', '2026-03-30T09:00:00Z'] },
    run: () => {
      launches.push(iso(manager.clock.now()));
    },
  });

  console.log('next fires of nightly-report:', manager.nextRuns('nightly-report', 3).map((d) => iso(d.getTime())).join(', '));
  manager.start();

  // Spring forward (Sunday 29 March, 02:00 → 03:00 in Berlin): 02:30 does not exist, the job runs once at 03:00 (01:00Z).
  await manager.clock.advance(2 * 86_400_000);
  assert.deepEqual(nightly, ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z']);
  assert.deepEqual(halfHourly, ['2026-03-29T00:00:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z', '2026-03-29T02:30:00Z']);
  assert.deepEqual(launches, ['2026-03-29T09:00:00Z', '2026-03-30T09:00:00Z']);
  console.log(`spring forward: nightly-report ran at ${nightly.join(', ')}`);

  // Paused for a night: no run, and the night is not caught up after resuming.
  manager.pauseSchedule('nightly-report');
  await manager.clock.advance(86_400_000);
  manager.resumeSchedule('nightly-report');
  assert.equal(nightly.length, 2);

  // Fall back (Sunday 25 October, 03:00 → 02:00): 02:30 happens twice, the job runs once, at the first (00:30Z).
  await manager.updateWorkerConfig('nightly-report', { schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin', startAt: '2026-10-24T00:00:00Z' } });
  await manager.clock.advance(Date.parse('2026-10-26T00:00:00Z') - manager.clock.now());
  assert.deepEqual(nightly.slice(2), ['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z']);
  console.log(`fall back: nightly-report ran at ${nightly.slice(2).join(', ')}`);
  assert.deepEqual(launches, ['2026-03-29T09:00:00Z', '2026-03-30T09:00:00Z']);

  await manager.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
