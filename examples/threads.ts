// Thread pools: CPU-bound work on every core. 10,000 launch angles of a
// projectile with air drag, each integrated numerically, looking for the
// angle that flies farthest — first on this thread, then on a pool of
// threads (one per core) in chunks of 250 angles.
//
//   npm run examples && node build/examples/threads.js

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createSynchronikManager } from 'synchronik';
import { sweep } from './projectile-sweep.js';

const ANGLES = 10_000;
const CHUNK = 250;
const STEP = 90 / ANGLES;

const chunks = Array.from({ length: ANGLES / CHUNK }, (_, c) => ({ from: c * CHUNK * STEP, step: STEP, count: CHUNK }));
const best = (results: { angle: number; range: number }[]) => results.reduce((a, b) => (b.range > a.range ? b : a));

async function main(): Promise<void> {
// One thread: the same handler, called here.
let t0 = performance.now();
const here = best(chunks.map(sweep));
const oneThreadMs = performance.now() - t0;

// A pool: every thread loads projectile-sweep.js and runs its `sweep` export.
const manager = createSynchronikManager();
const pool = manager.useThreadPool({ filename: join(__dirname, 'projectile-sweep.js'), size: availableParallelism() });
await pool.run({ from: 45, step: 0, count: 1 }, { handler: 'sweep' }); // the threads are up
t0 = performance.now();
const pooled = best(await Promise.all(chunks.map((chunk) => pool.run(chunk, { handler: 'sweep' }))));
const poolMs = performance.now() - t0;

console.log(`farthest: ${here.angle.toFixed(3)}° → ${here.range.toFixed(1)} m`);
console.log(`one thread: ${oneThreadMs.toFixed(0)} ms; ${pool.size} threads: ${poolMs.toFixed(0)} ms (${(oneThreadMs / poolMs).toFixed(2)}× faster)`);
console.log(pool.stats().threads.map((t) => `${t.id}: ${t.runs} runs`).join(', '));
if (pooled.angle !== here.angle || pooled.range !== here.range) throw new Error('the pool found another answer');

await manager.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
