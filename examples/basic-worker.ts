// A single worker with retries: register it, watch its events, run it and
// read back its status and statistics.
//
//   npm run examples && node build/examples/basic-worker.js

import { createSynchronikManager, type SynchronikWorker } from 'synchronik';

const manager = createSynchronikManager();
const t0 = performance.now();
const at = () => `${(performance.now() - t0).toFixed(0).padStart(4)} ms`;

// Every event type has its own channel on the manager (an EventEmitter).
manager.on('start', (e) => console.log(`${at()}  ▶ start     ${e.unitId}`));
manager.on('retry', (e) =>
  console.log(`${at()}  ↻ retry     ${e.unitId}: attempt ${e.attempt} failed (${e.error.message}); next one in ${e.delayMs} ms`),
);
manager.on('complete', (e) =>
  console.log(`${at()}  ✔ complete  ${e.unitId}: result ${JSON.stringify(e.result)} after ${e.durationMs.toFixed(1)} ms`),
);
manager.on('error', (e) => console.log(`${at()}  ✖ error     ${e.unitId}: ${e.error.message}`));
manager.on('updated', (e) =>
  console.log(`${at()}  · updated   ${e.unitId}: ${e.payload.previous} → ${e.payload.current} (${e.payload.reason})`),
);

// A flaky weather station: the first two readings fail, the third works.
let calls = 0;
const station: SynchronikWorker = {
  id: 'weather-station',
  name: 'Weather station reading',
  maxRetries: 3,
  // Exponential back-off: 20 ms before the first retry, 40 ms before the second, …
  retryDelayMs: (retry) => 20 * 2 ** (retry - 1),
  timeoutMs: 1000,
  run: async ({ attempt, signal }) => {
    calls += 1;
    await new Promise((resolve) => setTimeout(resolve, 15));
    if (signal.aborted) return undefined;
    if (attempt < 3) throw new Error(`sensor not ready (attempt ${attempt})`);
    return { temperatureC: 21.4, humidity: 0.48 };
  },
  onComplete(result) {
    console.log(`${at()}  ☼ onComplete hook saw ${JSON.stringify(result)}`);
  },
};

// A worker that never succeeds: its retries run out and it ends in 'error'.
const broken: SynchronikWorker = {
  id: 'broken-gauge',
  maxRetries: 1,
  retryDelayMs: 10,
  run: async () => {
    throw new Error('gauge disconnected');
  },
  onError(error) {
    console.log(`${at()}  ☂ onError hook saw "${error.message}"`);
  },
};

async function main(): Promise<void> {
  console.log('— Registering two workers —');
  manager.registerUnit(station);
  manager.registerUnit(broken);
  console.log(`status before any run: ${manager.getUnitStatus('weather-station')}\n`);

  console.log('— Running weather-station (fails twice, then succeeds) —');
  await manager.runWorkerById('weather-station');

  console.log('\n— Running broken-gauge (always fails; runWorkerById still resolves) —');
  await manager.runWorkerById('broken-gauge');

  // The manager keeps our own objects and writes the state back onto them.
  const meta = station.meta ?? {};
  console.log('\n— What the engine wrote back —');
  console.log(`weather-station: status=${station.status}, run() called ${calls} times, runCount=${meta.runCount}`);
  console.log(`  last run started at ${station.lastRun?.toISOString()}`);
  console.log(`  last duration ${meta.lastDurationMs?.toFixed(1)} ms (average ${meta.averageExecutionTimeMs?.toFixed(1)} ms)`);
  console.log(`broken-gauge:    status=${broken.status}, error="${broken.error?.message}"`);
  console.log(`same object from the manager: ${manager.getWorkerById('weather-station') === station}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
