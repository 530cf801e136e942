// Register/release churn: 1,000,000 cycles of registerUnit + releaseUnit on
// one manager, in 10 rounds. The registry reuses the slots of released
// units, so nothing should grow however many cycles run.

import { createSynchronikManager } from '../index.mjs';
import { soak } from './lib.mjs';

const ROUNDS = 10;
const PER_ROUND = 100_000;
const manager = createSynchronikManager();
manager.registerUnit({ id: 'resident', run: () => 'r' });
const ids = Array.from({ length: PER_ROUND }, (_, i) => `unit-${i}`);

await soak('churn', `${(ROUNDS * PER_ROUND).toLocaleString('en-US')} register/release cycles`, ROUNDS, async (k) => {
  for (let i = 0; i < PER_ROUND; i++) {
    manager.registerUnit({ id: ids[i], run: () => i });
    manager.releaseUnit(ids[i]);
  }
  // A few runs per round, so that released units were not always idle ones.
  for (let i = 0; i < 100; i++) {
    manager.registerUnit({ id: `run-${k}-${i}`, run: async () => i });
    await manager.runWorkerById(`run-${k}-${i}`);
    manager.releaseUnit(`run-${k}-${i}`);
  }
  if (manager.listUnits().length !== 1) throw new Error('units left behind');
}, () => ({ slots: manager._native.memory().slots }));
await manager.close();
