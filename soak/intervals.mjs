// 1,000,000 interval fires on the manual clock: 1,000 interval workers every
// 100 ms (each run with the default 10 s timeout), 100 s of clock time in 10 rounds of 10 s.

import { createSynchronikManager } from '../index.mjs';
import { soak } from './lib.mjs';

const WORKERS = 1000;
const INTERVAL_MS = 100;
const ROUNDS = 10;
const manager = createSynchronikManager({ clock: 'manual' });
let fires = 0;
for (let i = 0; i < WORKERS; i++) {
  manager.registerUnit({ id: `tick-${i}`, intervalMs: INTERVAL_MS, runOnInterval: true, run: () => void fires++ });
}
manager.start();

await soak('intervals', `${(WORKERS * (10_000 / INTERVAL_MS) * ROUNDS).toLocaleString('en-US')} interval fires (manual clock)`, ROUNDS, async (k) => {
  await manager.clock.advance(10_000);
  if (fires !== WORKERS * (10_000 / INTERVAL_MS) * (k + 1)) throw new Error(`${fires} fires after round ${k + 1}`);
}, () => ({ fires, timerCapacity: manager._native.memory().timerCapacity }));
await manager.close();
