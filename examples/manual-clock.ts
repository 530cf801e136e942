// Testing code that uses synchronik: the manual clock. Every engine timer
// (intervals, retry delays, timeouts, isolation delays, sweeps, watcher
// scans, stop deadlines) reads it, so a test steps through hours of schedule
// in microseconds, deterministically.
//
//   npm run examples && node build/examples/manual-clock.js

import assert from 'node:assert/strict';
import { createSynchronikManager } from 'synchronik';

async function main(): Promise<void> {
  const manager = createSynchronikManager({ clock: 'manual' });

  // A poller every second.
  const polledAt: number[] = [];
  manager.registerUnit({
    id: 'poller',
    intervalMs: 1000,
    runOnInterval: true,
    run: () => {
      polledAt.push(manager.clock.now());
    },
  });
  manager.start();
  await manager.clock.advance(3000);
  assert.deepEqual(polledAt, [1000, 2000, 3000]);
  console.log(`poller ran at ${polledAt.join(', ')} ms of manual time`);

  // Retries with back-off: 500 ms, then 1000 ms.
  const attemptsAt: number[] = [];
  manager.registerUnit({
    id: 'flaky-upload',
    maxRetries: 2,
    retryDelayMs: (retry) => 500 * retry,
    run: async () => {
      attemptsAt.push(manager.clock.now());
      if (attemptsAt.length < 3) throw new Error('503 Service Unavailable');
      return 'uploaded';
    },
  });
  const upload = manager.runWorkerById('flaky-upload');
  await manager.clock.runUntilIdle();
  await upload;
  assert.deepEqual(attemptsAt, [3000, 3500, 4500]);
  assert.equal(manager.getUnitStatus('flaky-upload'), 'completed');
  console.log(`flaky-upload attempts at ${attemptsAt.join(', ')} ms, then ${manager.getUnitStatus('flaky-upload')}`);

  // A timeout fires exactly when the clock passes it.
  manager.registerUnit({ id: 'hangs', timeoutMs: 250, run: () => new Promise(() => {}) });
  const hang = manager.runWorkerById('hangs');
  await manager.clock.advance(249);
  assert.equal(manager.getUnitStatus('hangs'), 'running');
  await manager.clock.advance(1);
  await hang;
  const error = manager.getUnitById('hangs')?.error as { code?: string } | undefined;
  assert.equal(error?.code, 'ERR_TIMEOUT');
  console.log(`hangs failed with ${error?.code} at ${manager.clock.now()} ms`);

  await manager.stop();
  console.log('all assertions held');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
