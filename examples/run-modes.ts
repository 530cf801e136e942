// One process per run mode, each with the same six workers that wait 50 ms
// (think: six HTTP calls). The wall time of each process shows how the mode
// schedules them.
//
//   npm run examples && node build/examples/run-modes.js

import { createSynchronikManager, type RunMode, type SynchronikProcess, type SynchronikWorker } from 'synchronik';

const WORKERS = 6;
const WAIT_MS = 50;

const manager = createSynchronikManager();

/** Six workers with ids unique to the process (ids are global in a manager). */
function workersFor(mode: RunMode, log: string[]): SynchronikWorker[] {
  return Array.from({ length: WORKERS }, (_, k) => ({
    id: `${mode}-call-${k + 1}`,
    run: async () => {
      log.push(`+${k + 1}`);
      await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
      log.push(`-${k + 1}`);
      return k + 1;
    },
  }));
}

interface Case {
  mode: RunMode;
  settings: Partial<SynchronikProcess>;
  expectation: string;
}

const cases: Case[] = [
  { mode: 'sequential', settings: {}, expectation: `${WORKERS} × ${WAIT_MS} ms one after another` },
  { mode: 'parallel', settings: {}, expectation: `all ${WORKERS} waits overlap` },
  { mode: 'batched', settings: { batchSize: 2 }, expectation: `${WORKERS / 2} groups of 2` },
  {
    mode: 'isolated',
    settings: { isolationDelayMs: 25 },
    expectation: `sequential + 25 ms rest after each worker`,
  },
];

async function main(): Promise<void> {
  console.log(`Run modes: ${WORKERS} workers per process, each waiting ${WAIT_MS} ms\n`);
  const rows: Array<{ mode: string; ms: number; order: string; expectation: string }> = [];

  for (const { mode, settings, expectation } of cases) {
    const log: string[] = [];
    manager.registerUnit({ id: `${mode}-process`, runMode: mode, ...settings, workers: workersFor(mode, log) });
    const started = performance.now();
    await manager.runProcessById(`${mode}-process`);
    const ms = performance.now() - started;
    const label = mode === 'batched' ? `batched (${settings.batchSize})` : mode;
    rows.push({ mode: label, ms, order: log.join(' '), expectation });
    console.log(`${label.padEnd(14)} ${ms.toFixed(0).padStart(5)} ms   status: ${manager.getUnitStatus(`${mode}-process`)}`);
  }

  const longest = Math.max(...rows.map((r) => r.ms));
  console.log('\nWall time (each █ ≈ ' + (longest / 40).toFixed(0) + ' ms):');
  for (const r of rows) {
    const bar = '█'.repeat(Math.max(1, Math.round((r.ms / longest) * 40)));
    console.log(`  ${r.mode.padEnd(14)} ${bar} ${r.ms.toFixed(0)} ms — ${r.expectation}`);
  }

  console.log('\nStart (+n) and end (-n) order of the workers:');
  for (const r of rows) console.log(`  ${r.mode.padEnd(14)} ${r.order}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
