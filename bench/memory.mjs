// Scenario 4 — memory: RSS and heap after registering 100,000 idle workers,
// and after queueing 1,000,000 pool tasks (pool not started), against a
// plain Map of the same objects, a paused fastq and a paused p-queue; and
// 100,000 cron schedules against 100,000 interval workers, each registered
// on a started manager (every timer armed). Every measurement is a fresh
// `node --expose-gc` child, collected before reading.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { childEntry, collect, field, fmt, fmtInt, fmtRatio, goal, interleave, median, printTable, problems } from './lib/common.mjs';

const require = createRequire(import.meta.url);

export const name = 'memory';
export const title = 'Scenario 4 — memory';

const SCRIPT = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------

function usage() {
  collect();
  const u = process.memoryUsage();
  return { rss: u.rss, heapUsed: u.heapUsed, external: u.external };
}

const noopRun = async () => {};

/** The zones the cron workers are spread over. */
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC'];

/**
 * The user's object number `i` of a part: an idle worker, an interval
 * worker (hourly), a cron worker (every 5 minutes, its second and first
 * minute varying, in one of a few zones), or a task's closure.
 */
function item(part, i) {
  if (part === 'workers') return { id: `worker-${i}`, run: noopRun };
  if (part === 'intervals') return { id: `worker-${i}`, intervalMs: 3_600_000, runOnInterval: true, run: noopRun };
  if (part === 'crons') {
    return { id: `worker-${i}`, schedule: { cron: `${i % 60} ${(i >> 6) % 5}-59/5 * * * *`, timezone: ZONES[i % ZONES.length] }, run: noopRun };
  }
  return () => i;
}

/** Parts whose items are workers (registered with registerUnit). */
const WORKER_PARTS = new Set(['workers', 'intervals', 'crons']);

/** The container under test: `{ insert(item, i), check(n), close() }`. */
async function open(part, contender) {
  if (contender === 'map') {
    const map = new Map();
    return {
      insert: WORKER_PARTS.has(part) ? (w) => map.set(w.id, w) : (fn, i) => map.set(i, fn),
      check: (n) => map.size === n,
      close: () => map.clear(),
    };
  }
  if (contender === 'synchronik') {
    const { createSynchronikManager } = await import('../index.mjs');
    const manager = createSynchronikManager();
    if (WORKER_PARTS.has(part)) {
      // Interval and cron workers: on a started manager, so that each one's
      // timer is armed as it is registered.
      const timed = part !== 'workers';
      if (timed) manager.start();
      return {
        insert: (w) => manager.registerUnit(w),
        check: (n) => manager.getEngineStats().engine.units === n && (!timed || manager.nextRuns(`worker-${n - 1}`, 1).length === 1),
        close: () => manager.stop(),
      };
    }
    // Not started: the tasks stay queued.
    const pool = manager.useWorkerPool(16);
    return {
      insert: (fn) => {
        pool.run(fn);
      },
      check: (n) => manager.getEngineStats().engine.queued === n,
      // stop() drops the queued tasks: their promises reject with
      // ERR_STOPPED, and nothing here awaits them (a catch handler per task
      // would be part of what is measured).
      close: () => {
        process.on('unhandledRejection', () => {});
        return manager.stop();
      },
    };
  }
  if (contender === 'fastq') {
    const fastq = require('fastq');
    const q = fastq.promise((fn) => fn(), 16);
    q.pause();
    return {
      insert: (fn) => {
        q.push(fn);
      },
      check: (n) => q.length() === n,
      close: () => q.kill(),
    };
  }
  if (contender === 'p-queue') {
    const { default: PQueue } = await import('p-queue');
    const q = new PQueue({ concurrency: 16, autoStart: false });
    return {
      insert: (fn) => {
        q.add(fn);
      },
      check: (n) => q.size === n,
      close: () => q.clear(),
    };
  }
  throw new Error(`unknown contender ${contender}`);
}

async function measure({ part, contender, n }) {
  const container = await open(part, contender);
  const m0 = usage();
  // The user's own objects: worker objects, or one closure per task.
  const items = new Array(n);
  for (let i = 0; i < n; i++) items[i] = item(part, i);
  const m1 = usage();
  for (let i = 0; i < n; i++) container.insert(items[i], i);
  // pool.run hands its tasks to the engine one microtask later.
  await new Promise((resolve) => setImmediate(resolve));
  if (!container.check(n)) throw new Error(`${contender} does not hold ${n} ${part}`);
  const m2 = usage();
  const held = items.length;
  await container.close();
  return {
    held,
    rss: m2.rss,
    heapUsed: m2.heapUsed,
    ownRssPerItem: (m1.rss - m0.rss) / n,
    ownHeapPerItem: (m1.heapUsed - m0.heapUsed) / n,
    beyondRssPerItem: (m2.rss - m1.rss) / n,
    beyondHeapPerItem: (m2.heapUsed - m1.heapUsed) / n,
    baseRss: m0.rss,
  };
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

export async function run({ reps = 3, scale = 1 } = {}) {
  const nWorkers = Math.round(100_000 * scale);
  const nTasks = Math.round(1_000_000 * scale);
  const cases = [
    { key: 'workers:map', part: 'workers', contender: 'map', label: `plain Map of ${fmtInt(nWorkers)} worker objects (reference)` },
    { key: 'workers:synchronik', part: 'workers', contender: 'synchronik', label: `synchronik, ${fmtInt(nWorkers)} idle workers registered`, ref: 'workers:map' },
    { key: 'tasks:map', part: 'tasks', contender: 'map', label: `plain Map of ${fmtInt(nTasks)} task functions (reference)` },
    { key: 'tasks:synchronik', part: 'tasks', contender: 'synchronik', label: `synchronik pool.run ×${fmtInt(nTasks)} (not started)`, ref: 'tasks:map' },
    { key: 'tasks:fastq', part: 'tasks', contender: 'fastq', label: `fastq.promise push ×${fmtInt(nTasks)} (paused)`, ref: 'tasks:map' },
    { key: 'tasks:p-queue', part: 'tasks', contender: 'p-queue', label: `p-queue add ×${fmtInt(nTasks)} (autoStart: false)`, ref: 'tasks:map' },
    // Their objects are not the Map's: no "vs Map" ratios.
    { key: 'intervals:synchronik', part: 'intervals', contender: 'synchronik', label: `synchronik, ${fmtInt(nWorkers)} hourly interval workers (started)`, ref: null },
    { key: 'crons:synchronik', part: 'crons', contender: 'synchronik', label: `synchronik, ${fmtInt(nWorkers)} cron workers (started)`, ref: null },
  ];
  for (const c of cases) c.params = { part: c.part, contender: c.contender, n: c.part === 'tasks' ? nTasks : nWorkers };
  const samples = await interleave(name, SCRIPT, cases, reps);

  const MB = 2 ** 20;
  const summary = {};
  const rows = [];
  const notes = [];
  for (const c of cases) {
    const s = samples[c.key];
    summary[c.key] = {
      rss: median(field(s, 'rss')),
      heapUsed: median(field(s, 'heapUsed')),
      ownRssPerItem: median(field(s, 'ownRssPerItem')),
      ownHeapPerItem: median(field(s, 'ownHeapPerItem')),
      beyondRssPerItem: median(field(s, 'beyondRssPerItem')),
      beyondHeapPerItem: median(field(s, 'beyondHeapPerItem')),
      baseRss: median(field(s, 'baseRss')),
    };
    notes.push(...problems(c.key, s));
  }
  for (const c of cases) {
    const s = summary[c.key];
    const ref = c.ref === null ? undefined : summary[c.ref || c.key];
    s.rssVsMap = ref === undefined ? NaN : s.rss / ref.rss;
    s.addedRssVsMap = ref === undefined ? NaN : (s.rss - s.baseRss) / (ref.rss - ref.baseRss);
    rows.push([
      c.label,
      fmt(s.rss / MB, 1),
      fmt(s.heapUsed / MB, 1),
      fmtInt(s.ownRssPerItem),
      fmtInt(s.beyondRssPerItem),
      fmtInt(s.beyondHeapPerItem),
      fmtRatio(s.rssVsMap),
      fmtRatio(s.addedRssVsMap),
    ]);
  }
  notes.push(
    "own B/item: what the user's objects cost (RSS) before they are handed over; beyond-own: what holding them adds, per item (RSS includes the engine's native memory; heap does not).",
    'RSS vs Map compares whole-process RSS; "added" compares the RSS each child gained from its empty container to the end (the Node baseline left out).',
    `interval and cron rows: each worker registered on a started manager (its timer armed at once); interval workers { id, intervalMs: 3_600_000, runOnInterval: true, run }, cron workers { id, schedule: { cron: '<s> <m>-59/5 * * * *', timezone }, run } with the second and first minute varying and ${ZONES.length} zones (${ZONES.join(', ')}); their objects differ from the Map's, so no "vs Map" ratios.`,
  );
  printTable(
    `${title} (fresh child per measurement, gc before reading; median of ${reps} interleaved repetitions)`,
    [
      { title: 'contender', align: 'left' },
      { title: 'RSS MB' },
      { title: 'heap MB' },
      { title: 'own B/item' },
      { title: 'beyond-own B/item (RSS)' },
      { title: '(heap)' },
      { title: 'RSS vs Map' },
      { title: 'added RSS vs Map' },
    ],
    rows,
    notes,
  );

  const w = summary['workers:synchronik'];
  const t = summary['tasks:synchronik'];
  const iv = summary['intervals:synchronik'];
  const cr = summary['crons:synchronik'];
  const cronVsInterval = cr.beyondRssPerItem / iv.beyondRssPerItem;
  const cronVsIntervalHeap = cr.beyondHeapPerItem / iv.beyondHeapPerItem;
  const goals = [
    goal(`${fmtInt(nWorkers)} registered workers: RSS ≤ 1.25× the plain Map's`, `${fmtRatio(w.rssVsMap)} (added RSS: ${fmtRatio(w.addedRssVsMap)})`, Number.isFinite(w.rssVsMap) ? w.rssVsMap <= 1.25 : undefined),
    goal(
      "a queued pool.run task: ≤ 150 bytes beyond the user's own function",
      `${fmtInt(t.beyondRssPerItem)} B (RSS), ${fmtInt(t.beyondHeapPerItem)} B (heap)`,
      Number.isFinite(t.beyondRssPerItem) ? Math.max(t.beyondRssPerItem, t.beyondHeapPerItem) <= 150 : undefined,
    ),
    goal(
      `${fmtInt(nWorkers)} cron schedules: memory beyond the user's objects ≤ 2× that of ${fmtInt(nWorkers)} interval workers`,
      `${fmtInt(cr.beyondRssPerItem)} B vs ${fmtInt(iv.beyondRssPerItem)} B (RSS) = ${fmtRatio(cronVsInterval)}; heap ${fmtInt(cr.beyondHeapPerItem)} B vs ${fmtInt(iv.beyondHeapPerItem)} B = ${fmtRatio(cronVsIntervalHeap)}`,
      Number.isFinite(cronVsInterval) ? cronVsInterval <= 2 : undefined,
    ),
  ];
  summary.cronVsInterval = { rss: cronVsInterval, heap: cronVsIntervalHeap };
  return { nWorkers, nTasks, reps, summary, goals, samples };
}

childEntry(import.meta.url, measure);
