// The queue contenders of the dispatch measurements (scenarios 1, 5 and 6):
// each submits no-op async tasks and hands back a promise per task, and the
// measurement awaits all of them with Promise.all.

import { createRequire } from 'node:module';
import PQueue from 'p-queue';
import { createSynchronikManager } from '../../index.mjs';
import { collect, median } from './common.mjs';
import { openDashboard } from './dashboard.mjs';

const require = createRequire(import.meta.url);
const fastq = require('fastq');
const asyncLib = require('async');

/** The task every contender runs: a no-op async function. */
export const noopTask = async () => {};

/**
 * Contenders by key. `open(concurrency, options)` builds a fresh instance
 * `{ submit(fn) → Promise, close() }`; `options.listen` subscribes a no-op
 * listener to every synchronik event.
 */
export const QUEUES = {
  raw: {
    label: 'raw Promise.all over plain calls',
    open: () => ({ submit: (fn) => fn(), close: () => undefined }),
  },
  synchronik: {
    label: 'synchronik pool.run',
    open(concurrency, options = {}) {
      const manager = createSynchronikManager();
      if (options.listen) manager.subscribeToEvents(() => {});
      const pool = manager.useWorkerPool(concurrency);
      manager.start();
      return { submit: (fn) => pool.run(fn), close: () => manager.stop(), manager };
    },
  },
  fastq: {
    label: 'fastq.promise push',
    open(concurrency) {
      const q = fastq.promise((fn) => fn(), concurrency);
      return { submit: (fn) => q.push(fn), close: () => undefined };
    },
  },
  async: {
    label: 'async.queue pushAsync',
    open(concurrency) {
      // A callback worker: the library's own style, and its cheapest.
      const q = asyncLib.queue((fn, done) => {
        fn().then(() => done(), done);
      }, concurrency);
      return { submit: (fn) => q.pushAsync(fn), close: () => undefined };
    },
  },
  'p-queue': {
    label: 'p-queue add',
    open(concurrency) {
      const q = new PQueue({ concurrency });
      return { submit: (fn) => q.add(fn), close: () => undefined };
    },
  },
};

/** Submits `n` no-op tasks, awaits them all; returns the elapsed ms. */
async function dispatchOnce(instance, n) {
  const promises = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) promises[i] = instance.submit(noopTask);
  const results = await Promise.all(promises);
  const ms = performance.now() - t0;
  if (results.length !== n) throw new Error(`expected ${n} results, got ${results.length}`);
  return ms;
}

/** Tasks of the warm-up run by default, whatever the size of the timed one. */
const WARM_TASKS = 20_000;

/**
 * One measurement in a child: a warm-up run (`warm` tasks, 20,000 by default) on a throwaway
 * instance, a full collection, then the timed run on a fresh one (`repeat`
 * timed runs, each on a fresh instance after a collection: their median).
 * `dashboard` (a mode of bench/lib/dashboard.mjs, synchronik only): the
 * timed instances have their dashboard served, and a browser on it, from
 * before the clock starts; `dashboard` in the result is what the page
 * received during the last timed run.
 * `{ queue, n, concurrency, listen?, countEvents?, repeat?, dashboard? }` → `{ ms, nsPerTask }`.
 */
export async function measureDispatch({ queue, n, concurrency, listen = false, countEvents = false, repeat = 1, warm: warmTasks = WARM_TASKS, dashboard }) {
  const contender = QUEUES[queue];
  if (!contender) throw new Error(`unknown queue ${queue}`);
  const board = dashboard === undefined ? undefined : await openDashboard(dashboard);
  const warm = contender.open(concurrency, { listen });
  let eventsPerTask;
  if (countEvents && warm.manager) {
    // Counted on the warm-up run only, so the timed run has the no-op listener alone.
    const byType = {};
    const stop = warm.manager.subscribeToEvents((e) => {
      byType[e.type] = (byType[e.type] || 0) + 1;
    });
    await dispatchOnce(warm, warmTasks);
    stop();
    eventsPerTask = Object.fromEntries(Object.entries(byType).map(([t, k]) => [t, k / warmTasks]));
  } else {
    await dispatchOnce(warm, warmTasks);
  }
  await warm.close();
  const runs = [];
  let seen;
  for (let r = 0; r < repeat; r++) {
    collect();
    const instance = contender.open(concurrency, { listen });
    const detach = board === undefined ? undefined : await board.attach(instance.manager);
    runs.push(await dispatchOnce(instance, n));
    if (detach !== undefined) seen = await detach();
    await instance.close();
  }
  if (board !== undefined) await board.close();
  const ms = median(runs);
  return { ms, nsPerTask: (ms * 1e6) / n, eventsPerTask, runs, dashboard: seen };
}
