// Interval workers, overlap policies, the watcher seeing a blocked thread,
// and a graceful stop — on the real clock.
//
//   npm run examples && node build/examples/scheduling.js

import { createSynchronikManager } from 'synchronik';

const manager = createSynchronikManager({ loopInterval: 100, stallThresholdMs: 150 });
const t0 = performance.now();
const at = () => `${(performance.now() - t0).toFixed(0).padStart(5)} ms`;

// A heartbeat every 100 ms, measured from the scheduled times: no drift.
let beats = 0;
manager.registerUnit({
  id: 'heartbeat',
  intervalMs: 100,
  runOnInterval: true,
  maxRuns: 8,
  run: () => {
    beats += 1;
  },
});

// A slow poller (runs take 250 ms) scheduled every 100 ms: with the default
// overlap policy 'skip', fires that come while it still runs are skipped.
manager.registerUnit({
  id: 'slow-poller',
  intervalMs: 100,
  runOnInterval: true,
  maxRuns: 2,
  run: () => new Promise((resolve) => setTimeout(resolve, 250)),
});

// An idle process: the scheduler's sweep runs it once after start().
manager.registerUnit({
  id: 'nightly-report',
  runMode: 'parallel',
  workers: [
    { id: 'collect-sales', run: async () => 1200 },
    { id: 'collect-returns', run: async () => 35 },
  ],
});

// A worker that blocks the JavaScript thread for 400 ms. The watcher runs on
// the engine's own thread, sees the block while it happens and names the unit.
manager.registerUnit({
  id: 'cpu-hog',
  timeoutMs: 0,
  run: () => {
    const end = Date.now() + 400;
    while (Date.now() < end) {
      // busy
    }
  },
});

manager.on('skipped', (e) => console.log(`${at()}  ⤼ skipped  ${e.unitId} (${e.reason})`));
manager.on('stalled', (e) => {
  const what = e.eventLoop ? 'blocked the event loop' : 'made no progress';
  console.log(`${at()}  ⚠ stalled  ${e.unitId} ${what} for ${e.runningForMs.toFixed(0)} ms`);
});
manager.onMilestone((id) => {
  if (id.startsWith('unit:nightly-report')) console.log(`${at()}  ◆ ${id}`);
});

async function main(): Promise<void> {
  manager.start();
  await new Promise((resolve) => setTimeout(resolve, 450));
  console.log(`${at()}  … running cpu-hog`);
  await manager.runWorkerById('cpu-hog');
  await new Promise((resolve) => setTimeout(resolve, 500));
  console.log(`${at()}  heartbeat ran ${beats} times (maxRuns 8, then disabled: enabled=${manager.getUnitById('heartbeat')?.enabled})`);
  await manager.stop({ timeoutMs: 1000 });
  console.log(`${at()}  stopped — nothing keeps Node alive now, the script ends by itself`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
