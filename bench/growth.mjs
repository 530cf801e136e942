// Scenario 6 — growth: the time per task of scenario 1 (concurrency 16) at
// 10k, 100k and 1M tasks, and the cost of one interval fire after 100 and
// after 100,000 previous runs of that worker (manual clock). Both must stay
// flat.

import { fileURLToPath } from 'node:url';
import { createSynchronikManager } from '../index.mjs';
import { childEntry, collect, field, fmt, fmtInt, fmtRatio, goal, interleave, median, printTable, problems } from './lib/common.mjs';
import { measureDispatch } from './lib/queues.mjs';

export const name = 'growth';
export const title = 'Scenario 6 — growth';

const SCRIPT = fileURLToPath(import.meta.url);
const INTERVAL_MS = 100;

// ---------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------

/** An interval worker whose runs are counted by the engine (meta.runCount). */
const tickWorker = (id) => ({ id, intervalMs: INTERVAL_MS, runOnInterval: true, timeoutMs: 0, run: () => undefined });

/** `count` advances of one interval (one fire each); returns µs per advance. */
async function advance(manager, count) {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await manager.clock.advance(INTERVAL_MS);
  return ((performance.now() - t0) * 1000) / count;
}

/** A started manual-clock manager, warmed up by 5,000 fires of a throwaway interval worker (then released). */
async function warmManager() {
  const manager = createSynchronikManager({ clock: 'manual' });
  manager.registerUnit(tickWorker('warm-up'));
  manager.start();
  await advance(manager, 5_000);
  manager.releaseUnit('warm-up');
  return manager;
}

/**
 * The same measured block, alternately for fresh workers (after `early`
 * runs each) and for one old worker (after `late` runs): only one interval
 * worker is scheduled at a time, and alternating spreads any slow phase of
 * the machine over both points. Returns the median µs per fire of each.
 */
async function measureFires({ early, late, measured, rounds }) {
  // A throwaway manager first (the process's warm-up), then the measured
  // one, itself warmed up, so that neither point pays for compilation.
  await (await warmManager()).stop();
  collect();
  const manager = await warmManager();
  const old = manager.registerUnit(tickWorker('old'));
  await advance(manager, late);
  await manager.disableWorker('old');
  const earlyBlocks = [];
  const lateBlocks = [];
  for (let r = 0; r < rounds; r++) {
    const young = manager.registerUnit(tickWorker(`young-${r}`));
    await advance(manager, early);
    const before = young.meta.runCount;
    earlyBlocks.push(await advance(manager, measured));
    if (before !== early || young.meta.runCount !== early + measured) {
      throw new Error(`expected one fire per advance: young worker ran ${before}, then ${young.meta.runCount} times`);
    }
    manager.releaseUnit(young.id);

    await manager.enableWorker('old');
    const oldBefore = old.meta.runCount;
    lateBlocks.push(await advance(manager, measured));
    if (oldBefore !== late + r * measured || old.meta.runCount !== oldBefore + measured) {
      throw new Error(`expected one fire per advance: old worker ran ${oldBefore}, then ${old.meta.runCount} times`);
    }
    await manager.disableWorker('old');
  }
  await manager.stop();
  const earlyUs = median(earlyBlocks);
  const lateUs = median(lateBlocks);
  return { earlyUs, lateUs, ratio: lateUs / earlyUs, earlyBlocks, lateBlocks };
}

function measure(params) {
  return params.kind === 'fires' ? measureFires(params) : measureDispatch(params);
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

export async function run({ reps = 5, scale = 1 } = {}) {
  const sizes = [10_000, 100_000, 1_000_000].map((n) => Math.round(n * scale));
  const fires = { kind: 'fires', early: 100, late: Math.round(100_000 * scale), measured: 1_000, rounds: 5 };
  const cases = [];
  for (const queue of ['synchronik', 'fastq']) {
    for (const n of sizes) {
      // Short runs are noisy: the child times them several times (median).
      const repeat = Math.max(1, Math.min(9, Math.round(300_000 / n)));
      cases.push({ key: `${queue}:${n}`, queue, n, params: { queue, n, concurrency: 16, repeat, warm: 100_000 } });
    }
  }
  cases.push({ key: 'fires', params: fires });
  const samples = await interleave(name, SCRIPT, cases, reps);

  const summary = {};
  const rows = [];
  const notes = [];
  for (const queue of ['synchronik', 'fastq']) {
    const ref = median(field(samples[`${queue}:${sizes[0]}`], 'nsPerTask'));
    for (const n of sizes) {
      const key = `${queue}:${n}`;
      const ns = median(field(samples[key], 'nsPerTask'));
      summary[key] = { nsPerTask: ns, vsSmallest: ns / ref };
      const tags = [queue === 'fastq' ? 'control' : '', n === sizes[0] ? 'reference' : ''].filter(Boolean).join(', ');
      const label = `${queue === 'synchronik' ? 'synchronik pool.run' : 'fastq.promise push'}, ${fmtInt(n)} tasks${tags ? ` (${tags})` : ''}`;
      rows.push([label, `${fmtInt(ns)} ns/task`, fmtRatio(ns / ref)]);
      notes.push(...problems(key, samples[key]));
    }
  }
  const earlyUs = median(field(samples.fires, 'earlyUs'));
  const lateUs = median(field(samples.fires, 'lateUs'));
  const fireRatio = lateUs / earlyUs;
  summary.fires = { earlyUs, lateUs, ratio: fireRatio, medianOfRatiosPerRep: median(field(samples.fires, 'ratio')) };
  rows.push([`interval fire after ${fmtInt(fires.early)} runs (reference)`, `${fmt(earlyUs, 2)} µs/fire`, fmtRatio(1)]);
  rows.push([`interval fire after ${fmtInt(fires.late)} runs`, `${fmt(lateUs, 2)} µs/fire`, fmtRatio(fireRatio)]);
  notes.push(...problems('fires', samples.fires));
  notes.push(
    `dispatch rows: concurrency 16, all tasks submitted then awaited (as in scenario 1); ratio to the ${fmtInt(sizes[0])}-task run of the same queue; every child warms up with 100,000 tasks, then times a 10,000-task run 9 times and a 100,000-task run 3 times (median).`,
    `fire rows: manual clock, one interval worker at a time (${INTERVAL_MS} ms) on a manager warmed up by 5,000 fires of another one, wall time of clock.advance(${INTERVAL_MS}) over ${fmtInt(fires.measured)} fires; per repetition ${fires.rounds} alternating blocks (fresh workers after ${fmtInt(fires.early)} runs, one worker past ${fmtInt(fires.late)} runs), median.`,
  );
  printTable(
    `${title}: time per task and per fire as the work grows (median of ${reps} interleaved repetitions)`,
    [{ title: 'contender', align: 'left' }, { title: 'figure' }, { title: 'vs reference' }],
    rows,
    notes,
  );

  const flat = (x) => (Number.isFinite(x) ? Math.abs(x - 1) <= 0.2 : undefined);
  const goals = [];
  for (const n of sizes.slice(1)) {
    const r = summary[`synchronik:${n}`].vsSmallest;
    goals.push(goal(`pool.run time per task at ${fmtInt(n)} within ±20% of ${fmtInt(sizes[0])}`, fmtRatio(r), flat(r)));
  }
  goals.push(goal(`interval fire after ${fmtInt(fires.late)} runs within ±20% of after ${fmtInt(fires.early)}`, fmtRatio(fireRatio), flat(fireRatio)));
  return { sizes, fires, reps, summary, goals, samples };
}

childEntry(import.meta.url, measure);
