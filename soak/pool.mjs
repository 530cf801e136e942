// Pool bursts with cancels and aborts: 10 rounds of 100,000 pool.run tasks,
// some with a signal aborted while queued or while running, plus named
// tasks of which half are cancelled. Every promise settles each round.

import { createSynchronikManager } from '../index.mjs';
import { soak } from './lib.mjs';

const ROUNDS = 10;
const PER_ROUND = 100_000;
const manager = createSynchronikManager();
const pool = manager.useWorkerPool(16);
manager.start();

await soak('pool', `${(ROUNDS * PER_ROUND).toLocaleString('en-US')} pool tasks in bursts, with cancels and aborts`, ROUNDS, async (k) => {
  const queuedAbort = new AbortController();
  const runningAbort = new AbortController();
  const runs = new Array(PER_ROUND);
  for (let i = 0; i < PER_ROUND; i++) {
    if (i % 1000 === 1) {
      runs[i] = pool.run(() => i, { signal: queuedAbort.signal });
    } else if (i % 1000 === 2) {
      runs[i] = pool.run((_, ctx) => new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        if (runningAbort.signal.aborted) reject(runningAbort.signal.reason);
      }), { signal: runningAbort.signal });
    } else {
      runs[i] = pool.run(() => i);
    }
  }
  for (let i = 0; i < 200; i++) {
    pool.addTask({ name: `named-${k}-${i}`, payload: i, execute: (n) => n });
    if (i % 2 === 0) pool.cancelTask(`named-${k}-${i}`);
  }
  queuedAbort.abort(new Error('dropped while queued'));
  setTimeout(() => runningAbort.abort(new Error('dropped while running')), 5);
  const settled = await Promise.allSettled(runs);
  runningAbort.abort();
  const rejected = settled.filter((s) => s.status === 'rejected').length;
  if (rejected < PER_ROUND / 1000) throw new Error(`only ${rejected} aborted`);
  await pool.onIdle();
}, () => ({ taskCapacity: manager._native.memory().taskCapacity }));
await manager.close();
