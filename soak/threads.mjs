// Thread pools made, used and closed: 10 rounds of 10 pools of 2 threads
// that run 2,000 small tasks each (some of whose threads exit mid-task and
// are replaced), half closed, half destroyed with tasks in flight. The
// threads of the process must come back to what they were. The first 5
// rounds warm up: every new thread's allocations settle the allocator's
// per-thread arenas (about +25 MB of RSS once, then flat).

import { createSynchronikManager } from '../index.mjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { soak } from './lib.mjs';

const HANDLERS = fileURLToPath(new URL('../__test__/fixtures/threads/handlers.js', import.meta.url));
const ROUNDS = 10;
const PER_ROUND = 10;

const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const manager = createSynchronikManager();
const before = threads();

await soak('threads', `${(ROUNDS * PER_ROUND).toLocaleString('en-US')} thread pools of 2 threads, 2,000 tasks each`, ROUNDS, async () => {
  for (let i = 0; i < PER_ROUND; i++) {
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 2, name: `p${i}` });
    const runs = [];
    for (let k = 0; k < 2000; k++) runs.push(pool.run({ k }, { handler: 'echo' }));
    runs.push(pool.run(1, { handler: 'exit' }).catch(() => 'exited'));
    if (i % 2 === 0) {
      await Promise.all(runs);
      await pool.close();
    } else {
      const settled = Promise.allSettled(runs);
      await pool.destroy();
      await settled;
    }
  }
}, async () => {
  await manager.close();
  const after = threads();
  if (after > before + 2) throw new Error(`threads left behind: ${before} before, ${after} after`);
  return { threadsBefore: before, threadsAfter: after };
}, 5);
