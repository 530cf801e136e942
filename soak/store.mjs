// Store churn: durable tasks (a handler and a JSON payload) added and
// completed through the SQLite store, 10 rounds of 20,000 after 10 unsampled
// rounds of warm-up; history kept up to 10,000 rows.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSynchronikManager } from '../index.mjs';
import { soak } from './lib.mjs';

const ROUNDS = 10;
const PER_ROUND = 20_000;
/** Unsampled rounds first: SQLite's page caches and the allocator's arenas of
 * the store's writer thread settle after about 200,000 tasks. */
const WARMUP = 10;
const dir = mkdtempSync(join(tmpdir(), 'synchronik-soak-'));
const manager = createSynchronikManager({ storage: { sqlite: join(dir, 'soak.db'), history: { maxRows: 10_000 } } });
const pool = manager.useWorkerPool(8, { name: 'mail' });
let done = 0;
pool.handle('send', async (payload) => {
  done++;
  return payload.n;
});
manager.start();

try {
  await soak('store', `${(ROUNDS * PER_ROUND).toLocaleString('en-US')} durable tasks added and completed (SQLite), after ${(WARMUP * PER_ROUND).toLocaleString('en-US')}`, ROUNDS, async (k) => {
    for (let i = 0; i < PER_ROUND; i++) {
      pool.addTask({ name: `mail-${k}-${i}`, handler: 'send', payload: { n: i, to: `user-${i}@example.com` } });
    }
    await pool.onIdle();
    await manager.flush();
    if (done !== PER_ROUND * (k + 1)) throw new Error(`${done} tasks done after round ${k + 1}`);
  }, () => ({ dbMB: Number((manager.getEngineStats().storage.bytes / 1048576).toFixed(1)) }), WARMUP);
  await manager.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
