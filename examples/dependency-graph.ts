// A dependency graph: a video pipeline A → B → C, an independent D, and two
// clean-up workers that depend on C's result — E runs for short videos, F for
// long ones. The workers are listed in any order; `dependsOn` decides when
// each one starts. Then: a failure skipping its dependents, and a cycle.
//
//   npm run examples && node build/examples/dependency-graph.js

import { createSynchronikManager, SynchronikError, type Dependency, type SynchronikWorker } from 'synchronik';

const manager = createSynchronikManager();
let t0 = performance.now();
const at = () => `${(performance.now() - t0).toFixed(0).padStart(4)} ms`;

manager.on('start', (e) => {
  if (manager.getWorkerById(e.unitId)) console.log(`${at()}  [START]   🚀 ${e.unitId}`);
});
manager.on('complete', (e) => {
  if (!manager.getWorkerById(e.unitId)) return;
  const result = e.result === undefined ? '' : ` → ${JSON.stringify(e.result)}`;
  console.log(`${at()}  [FINISH]  ✅ ${e.unitId}${result}`);
});
manager.on('error', (e) => {
  if (manager.getWorkerById(e.unitId)) console.log(`${at()}  [FAILED]  ❌ ${e.unitId}: ${e.error.message}`);
});
// A worker that does not run because of its dependencies is a `skipped` event.
manager.on('skipped', (e) => console.log(`${at()}  [SKIPPED] ⏭  ${e.unitId} (${e.reason})`));

/** A worker that takes `ms` and returns `result`. */
function step(id: string, dependsOn: Array<string | Dependency>, ms: number, result?: unknown): SynchronikWorker {
  return {
    id,
    dependsOn,
    run: async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return result;
    },
  };
}

const C = 'C-Process-Content';

async function pipeline(): Promise<void> {
  console.log('— A → B → C, D alongside; E if C reports a short video, F if a long one —');
  manager.registerUnit({
    id: 'video-pipeline',
    name: 'FFmpeg file processing',
    workers: [
      step(C, ['B-Unzip-File'], 100, { duration: 125 }),
      step('A-Download-File', [], 50),
      step('B-Unzip-File', ['A-Download-File'], 50),
      step('D-Log-Stats', [], 30),
      step('E-Fast-Cleanup', [{ id: C, condition: (result) => result.duration < 60 }], 20),
      step('F-Thorough-Cleanup', [{ id: C, condition: (result) => result.duration >= 60 }], 40),
      // Downstream of E: skipped with it.
      step('G-Notify-Fast', ['E-Fast-Cleanup'], 10),
    ],
  });
  t0 = performance.now();
  await manager.runProcessById('video-pipeline');
  console.log(`${at()}  video-pipeline: ${manager.getUnitStatus('video-pipeline')}\n`);
}

async function failure(): Promise<void> {
  console.log('— A failed worker skips its dependents; the other branches finish —');
  manager.registerUnit({
    id: 'mirror-sync',
    workers: [
      {
        id: 'fetch-index',
        maxRetries: 1,
        retryDelayMs: 20,
        run: async () => {
          throw new Error('mirror unreachable');
        },
      },
      step('apply-index', ['fetch-index'], 10),
      step('write-report', ['apply-index'], 10),
      step('rotate-logs', [], 40),
    ],
  });
  t0 = performance.now();
  try {
    await manager.runProcessById('mirror-sync');
  } catch (error) {
    if (!(error instanceof SynchronikError)) throw error;
    console.log(`${at()}  runProcessById rejected: ${error.code} (worker ${error.unitId})`);
  }
  console.log(`${at()}  mirror-sync: ${manager.getUnitStatus('mirror-sync')}\n`);
}

async function cycle(): Promise<void> {
  console.log('— A cycle is rejected before anything runs —');
  manager.registerUnit({
    id: 'chicken-and-egg',
    workers: [step('chicken', ['egg'], 10), step('egg', ['hen'], 10), step('hen', ['chicken'], 10)],
  });
  try {
    await manager.runProcessById('chicken-and-egg');
  } catch (error) {
    if (!(error instanceof SynchronikError)) throw error;
    console.log(`${error.code}: ${error.message}`);
  }

  console.log('\n— A dependency on an id outside the process is refused at registration —');
  try {
    manager.registerUnit({ id: 'typo', workers: [step('only', ['onyl'], 10)] });
  } catch (error) {
    console.log(`${(error as Error).name}: ${(error as Error).message}`);
  }
}

async function main(): Promise<void> {
  await pipeline();
  await failure();
  await cycle();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
