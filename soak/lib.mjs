// What every soak scenario shares: sampling memory after garbage collection,
// and the verdict. A scenario runs in its own child process (see run.mjs),
// started with `--expose-gc --single-threaded-gc`: V8's concurrent GC threads
// allocate from malloc arenas of their own whose resident size wanders by
// ±10 MB from one collection to the next, which would drown a 5% check.

import { setImmediate as turn } from 'node:timers/promises';

/** Growth from the second sample to the last above which a scenario fails. */
export const LIMIT = 0.05;

const MB = 1024 * 1024;

/**
 * RSS and heap in MB after full collections (finalizers given turns to
 * run in between): the least of four readings, so that what a collection
 * happened to leave for the next one does not count.
 */
export async function sample() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  let rss = Infinity;
  let heap = Infinity;
  for (let k = 0; k < 4; k++) {
    globalThis.gc();
    await turn();
    const u = process.memoryUsage();
    rss = Math.min(rss, u.rss / MB);
    heap = Math.min(heap, u.heapUsed / MB);
  }
  return { rss, heap };
}

/**
 * Runs `round(k)` `rounds` times, sampling memory after each, and prints
 * one JSON line: `{ name, work, samples: [{ rss, heap }], seconds, extra }`.
 * `extra()` may add figures of the scenario's own (engine tables…).
 * `warmup` rounds run first, unsampled (the caches of a scenario that has
 * some fill up then).
 */
export async function soak(name, work, rounds, round, extra = () => ({}), warmup = 0) {
  const started = performance.now();
  const samples = [];
  for (let k = 0; k < warmup + rounds; k++) {
    await round(k);
    // Collected after a warm-up round too, as after the others: what it
    // left for the collector would otherwise pile up into the first
    // sample's high-water mark.
    const s = await sample();
    if (k >= warmup) samples.push(s);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ name, work, samples, seconds, extra: await extra() }));
}

/** Growth of `key` from the second sample to the last (a fraction). */
export function growth(samples, key) {
  const from = samples[1][key];
  return (samples[samples.length - 1][key] - from) / from;
}
