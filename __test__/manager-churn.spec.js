'use strict';

// A program that makes and drops managers for as long as it runs (each
// runWorkerTasks call makes one) keeps no memory of them: what a manager
// leaves in its environment (the hook that stops its thread if the
// environment goes first) goes with the manager.

const { runNode, expectCleanExit } = require('./helpers');

// As the soak suite's children: collected before each reading, with a young
// generation of one fixed size and one collector thread, so that RSS moves
// only with what the program keeps.
const FLAGS = ['--expose-gc', '--single-threaded-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
const ROUNDS = 40;
const PER_ROUND = 300;
/** Readings before this round are the warm-up (code, caches, the allocator's first arenas). */
const FROM = 10;

test(`${(ROUNDS * PER_ROUND).toLocaleString('en-US')} managers made and dropped: RSS stays flat after the warm-up`, async () => {
  const script = `
    const { createSynchronikManager } = require('./');
    (async () => {
      const rss = [];
      for (let round = 0; round < ${ROUNDS}; round++) {
        for (let i = 0; i < ${PER_ROUND}; i++) {
          // System and manual clocks; half closed, half only stopped and dropped.
          const m = createSynchronikManager(i % 4 === 0 ? { clock: 'manual' } : undefined);
          m.registerUnit({ id: 'w', run: () => i });
          await m.runWorkerById('w');
          if (i % 2 === 0) await m.close();
          else await m.stop();
        }
        for (let k = 0; k < 3; k++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        rss.push(process.memoryUsage().rss);
      }
      process.stdout.write(JSON.stringify(rss));
    })();
  `;
  const result = await runNode([...FLAGS, '-e', script], { timeoutMs: 120_000 });
  expectCleanExit(result);
  const rss = JSON.parse(result.stdout);
  // The trend of the readings after the warm-up (least squares): each one
  // wanders by a few hundred KB, the trend over 30 of them by a few KB a round.
  const xs = rss.slice(FROM).map((_, k) => k);
  const ys = rss.slice(FROM);
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  const mx = mean(xs);
  const my = mean(ys);
  const slope = xs.reduce((acc, x, k) => acc + (x - mx) * (ys[k] - my), 0) / xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
  const bytesPerManager = slope / PER_ROUND;
  // Each manager kept about 600 bytes for good while its environment hook
  // stayed (the hook's data held on to the engine's allocations); now the
  // trend is within about 100 bytes of zero.
  expect(Math.round(bytesPerManager)).toBeLessThan(300);
  // The child takes 10–20 s on a loaded 2-core machine: as long as it may.
}, 120_000);
