// Scenario 9 — thread pools: synchronik's useThreadPool against piscina,
// tinypool and workerpool, each with 2 threads and the same handler module
// (bench/fixtures/threads.cjs):
//   1. CPU-bound: 64 tasks of ~20 ms of computation; the speedup over the
//      same 64 tasks one after another on the main thread.
//   2. Small tasks: 100,000 tasks that return their payload, all submitted
//      at once: the pool's own cost per task.
//   3. Responsiveness: the lateness of a 1 ms timer on the main thread while
//      a burst of part 1's tasks saturates the pool.
// Threads are started and warmed up before anything is timed.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BENCH_DIR,
  ROOT,
  childEntry,
  collect,
  field,
  fmt,
  fmtInt,
  fmtRatio,
  goal,
  interleave,
  median,
  percentileSorted,
  printTable,
  problems,
} from './lib/common.mjs';

export const name = 'threads';
export const title = 'Scenario 9 — thread pools';

const SCRIPT = fileURLToPath(import.meta.url);
const require = createRequire(join(ROOT, 'package.json'));
const HANDLERS = join(BENCH_DIR, 'fixtures', 'threads.cjs');
const WORKERPOOL_HANDLERS = join(BENCH_DIR, 'fixtures', 'threads-workerpool.cjs');
const { spin } = require(HANDLERS);

/** Threads of every pool. */
const THREADS = 2;
/** CPU-bound tasks of parts 1 and 3, and the computation each is calibrated to. */
const CPU_TASKS = 64;
const TASK_MS = 20;
/** Bursts of CPU-bound tasks a child of parts 1 and 3 times one after another (it reports their median). */
const BURSTS = 3;

/** What a synchronik child reports when its build of the binding has no thread pools yet. */
const NO_THREAD_POOLS = 'manager.useThreadPool is not in this build of the binding';

/**
 * The pools by key. `open()` starts one with THREADS threads and resolves
 * with `{ run(handler, payload) → Promise, close() → Promise }`, or with
 * undefined when the contender is not available.
 */
const POOLS = {
  synchronik: {
    label: 'synchronik useThreadPool',
    async open() {
      const { createSynchronikManager } = require(ROOT);
      const manager = createSynchronikManager();
      if (typeof manager.useThreadPool !== 'function') {
        await manager.close();
        return undefined;
      }
      const pool = manager.useThreadPool({ filename: HANDLERS, name: 'bench', size: THREADS });
      return {
        run: (handler, payload) => pool.run(payload, { handler }),
        async close() {
          await pool.close();
          await manager.close();
        },
      };
    },
  },
  piscina: {
    label: 'piscina',
    async open() {
      const { Piscina } = require('piscina');
      const pool = new Piscina({ filename: HANDLERS, minThreads: THREADS, maxThreads: THREADS });
      return { run: (handler, payload) => pool.run(payload, { name: handler }), close: () => pool.close() };
    },
  },
  tinypool: {
    label: 'tinypool',
    async open() {
      const { Tinypool } = await import('tinypool'); // ESM only
      const pool = new Tinypool({ filename: HANDLERS, minThreads: THREADS, maxThreads: THREADS });
      return { run: (handler, payload) => pool.run(payload, { name: handler }), close: () => pool.destroy() };
    },
  },
  workerpool: {
    label: 'workerpool',
    async open() {
      const workerpool = require('workerpool');
      const pool = workerpool.pool(WORKERPOOL_HANDLERS, { minWorkers: THREADS, maxWorkers: THREADS, workerType: 'thread' });
      return { run: (handler, payload) => pool.exec(handler, [payload]), close: () => pool.terminate() };
    },
  },
};
const CONTENDERS = Object.keys(POOLS);

// ---------------------------------------------------------------------------
// In a child
// ---------------------------------------------------------------------------

/**
 * The number of iterations of `spin` that take `ms` on the main thread of
 * this process now: doubled until one run takes 5 ms, then scaled from the
 * median of 5 timed runs.
 */
function calibrate(ms) {
  let n = 100_000;
  for (let i = 0; i < 5; i++) spin(n); // optimized before anything is timed
  for (;;) {
    const t0 = performance.now();
    spin(n);
    if (performance.now() - t0 >= 5) break;
    n *= 2;
  }
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spin(n);
    times.push(performance.now() - t0);
  }
  return Math.max(1, Math.round((n * ms) / median(times)));
}

/** A started pool with every thread warm: both handlers have run on it. */
async function openWarm(contender, iterations) {
  const pool = await POOLS[contender].open();
  if (pool === undefined) return undefined;
  const tasks = [];
  for (let i = 0; i < 4 * THREADS; i++) tasks.push(pool.run('spin', Math.ceil(iterations / 10)));
  for (let i = 0; i < 2_000; i++) tasks.push(pool.run('echo', { i }));
  await Promise.all(tasks);
  collect();
  return pool;
}

/**
 * Starts the contender of parts 1 and 3 with every thread warm: a pool, or
 * (`main`, `idle`) nothing, after the main thread has run `spin` a few times.
 */
async function openCpu(contender, iterations) {
  if (contender in POOLS) return openWarm(contender, iterations);
  for (let i = 0; i < 4; i++) spin(Math.ceil(iterations / 10));
  collect();
  return null;
}

/**
 * One burst: `tasks` CPU-bound tasks, all submitted to the pool and
 * awaited, or (no pool) run on the main thread, one per macrotask.
 */
async function burst(pool, tasks, iterations) {
  if (pool === null) {
    for (let i = 0; i < tasks; i++) {
      spin(iterations);
      await new Promise(setImmediate);
    }
    return;
  }
  const results = await Promise.all(Array.from({ length: tasks }, () => pool.run('spin', iterations)));
  if (!results.every((x) => x === results[0] && Number.isFinite(x))) throw new Error(`spin gave different results: ${results.slice(0, 3)}`);
}

/** Part 1: BURSTS bursts of `tasks` CPU-bound tasks, one after another; the median. */
async function measureCpu({ contender, tasks }) {
  const iterations = calibrate(TASK_MS);
  const pool = await openCpu(contender, iterations);
  if (pool === undefined) return { unavailable: NO_THREAD_POOLS };
  const runs = [];
  for (let b = 0; b < BURSTS; b++) {
    const t0 = performance.now();
    await burst(pool, tasks, iterations);
    runs.push(performance.now() - t0);
  }
  if (pool !== null) await pool.close();
  return { ms: median(runs), iterations, runs };
}

/** Part 2: `n` tasks `echo({ i })`, all submitted, then awaited with Promise.all. */
async function measureSmall({ contender, n }) {
  const pool = await openWarm(contender, 100_000); // spin warm-up tasks of 10,000 iterations: about 0.02 ms
  if (pool === undefined) return { unavailable: NO_THREAD_POOLS };
  const promises = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) promises[i] = pool.run('echo', { i });
  const results = await Promise.all(promises);
  const ms = performance.now() - t0;
  await pool.close();
  const wrong = results.findIndex((r, i) => r === null || typeof r !== 'object' || r.i !== i);
  if (wrong >= 0) throw new Error(`task ${wrong} returned ${JSON.stringify(results[wrong])}`);
  return { ms };
}

/**
 * Part 3: the lateness of a 1 ms timer on the main thread (re-armed each
 * time it fires; lateness = fire time − arming time − 1 ms) during each of
 * BURSTS bursts of `tasks` CPU-bound tasks (`idle`: during `idleMs` with
 * nothing running); the median over the bursts of each figure.
 */
async function measureLag({ contender, tasks, idleMs }) {
  const iterations = calibrate(TASK_MS);
  const pool = await openCpu(contender, iterations);
  if (pool === undefined) return { unavailable: NO_THREAD_POOLS };
  const runs = [];
  for (let b = 0; b < BURSTS; b++) {
    const lags = [];
    let stop = false;
    const sampled = new Promise((resolve) => {
      let due = performance.now() + 1;
      const tick = () => {
        const now = performance.now();
        lags.push(now - due);
        if (stop) {
          resolve();
          return;
        }
        due = now + 1;
        setTimeout(tick, 1);
      };
      setTimeout(tick, 1);
    });
    const t0 = performance.now();
    if (contender === 'idle') await new Promise((resolve) => setTimeout(resolve, idleMs));
    else await burst(pool, tasks, iterations);
    const ms = performance.now() - t0;
    stop = true;
    await sampled;
    const sorted = Float64Array.from(lags).sort();
    runs.push({ ms, samples: sorted.length, p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), max: sorted[sorted.length - 1] });
  }
  if (pool !== null) await pool.close();
  const of = (key) => median(runs.map((r) => r[key]));
  return { ms: of('ms'), iterations, samples: of('samples'), p50: of('p50'), p99: of('p99'), max: of('max'), runs };
}

function measure(params) {
  if (params.part === 'cpu') return measureCpu(params);
  if (params.part === 'small') return measureSmall(params);
  return measureLag(params);
}

// ---------------------------------------------------------------------------
// In the parent
// ---------------------------------------------------------------------------

export async function run({ reps = 3, scale = 1 } = {}) {
  const tasks = Math.max(4 * THREADS, Math.round(CPU_TASKS * scale));
  const n = Math.round(100_000 * scale);
  const cases = [
    { key: 'cpu:main', part: 'cpu', contender: 'main', params: { part: 'cpu', contender: 'main', tasks } },
    ...CONTENDERS.map((c) => ({ key: `cpu:${c}`, part: 'cpu', contender: c, params: { part: 'cpu', contender: c, tasks } })),
    ...CONTENDERS.map((c) => ({ key: `small:${c}`, part: 'small', contender: c, params: { part: 'small', contender: c, n } })),
    // The idle reference samples as long as a pool's burst would take on THREADS threads.
    { key: 'lag:idle', part: 'lag', contender: 'idle', params: { part: 'lag', contender: 'idle', idleMs: (tasks * TASK_MS) / THREADS } },
    { key: 'lag:main', part: 'lag', contender: 'main', params: { part: 'lag', contender: 'main', tasks } },
    ...CONTENDERS.map((c) => ({ key: `lag:${c}`, part: 'lag', contender: c, params: { part: 'lag', contender: c, tasks } })),
  ];
  const samples = await interleave(name, SCRIPT, cases, reps);
  const summary = {};
  const absent = new Set();
  const notesOf = (key) => {
    const s = samples[key];
    const unavailable = s.find((r) => !r.error && r.unavailable);
    if (unavailable) absent.add(unavailable.unavailable);
    return problems(key, s);
  };
  const label = (c) => (c === 'main' ? 'one thread, no pool (reference)' : c === 'idle' ? 'no burst (reference)' : POOLS[c].label);
  const absentNote = () => [...absent].map((why) => `synchronik: ${why} (thread pools, SPEC §15), so its rows show —`);

  // Part 1 — the speedup is a ratio of work rates (iterations per ms), so
  // children calibrated a little differently still compare.
  const rate = (key) => median(field(samples[key], 'ms').map((ms, i) => field(samples[key], 'iterations')[i] / ms));
  const refRate = rate('cpu:main');
  const cpuRows = [];
  let notes = [];
  for (const c of cases.filter((x) => x.part === 'cpu')) {
    const ms = median(field(samples[c.key], 'ms'));
    const iterations = median(field(samples[c.key], 'iterations'));
    const speedup = rate(c.key) / refRate;
    summary[c.key] = { ms, iterations, speedup };
    cpuRows.push([label(c.contender), c.contender === 'main' ? '—' : String(THREADS), fmtInt(ms), fmt(iterations / 1e6, 1), fmtRatio(speedup)]);
    notes.push(...notesOf(c.key));
  }
  notes.push(
    `a task is ${fmtInt(TASK_MS)} ms of spin() on the main thread: each child times the loop and calibrates the iteration count (M iterations/task), passed as the payload; a child times ${BURSTS} bursts one after another and reports their median.`,
    `speedup: iterations per ms ÷ the reference's (one thread, no pool: the ${fmtInt(tasks)} tasks one after another on the main thread); the limit is ${THREADS}.00× on ${THREADS} free cores.`,
    ...absentNote(),
  );
  printTable(
    `${title}: ${fmtInt(tasks)} CPU-bound tasks of ~${TASK_MS} ms on ${THREADS} threads, all submitted then awaited (median of ${reps} interleaved repetitions)`,
    [{ title: 'contender', align: 'left' }, { title: 'threads' }, { title: 'total ms' }, { title: 'M iterations/task' }, { title: 'speedup vs one thread' }],
    cpuRows,
    notes,
  );

  const smallRows = [];
  notes = [];
  const piscinaSmall = median(field(samples['small:piscina'], 'ms'));
  for (const c of cases.filter((x) => x.part === 'small')) {
    const ms = median(field(samples[c.key], 'ms'));
    summary[c.key] = { ms, tasksPerSec: n / (ms / 1000), usPerTask: (ms * 1000) / n, vsPiscina: piscinaSmall / ms };
    const x = summary[c.key];
    smallRows.push([label(c.contender), fmtInt(ms), fmt(x.usPerTask, 2), fmtInt(x.tasksPerSec), fmtRatio(x.vsPiscina)]);
    notes.push(...notesOf(c.key));
  }
  notes.push('the handler returns its payload { i }: the figures are the pool\'s own cost (queue, hand-over to a thread, structured clone both ways, the result\'s promise).', ...absentNote());
  printTable(
    `${title}: ${fmtInt(n)} small tasks (echo { i }) on ${THREADS} threads, all submitted then awaited with Promise.all (median of ${reps} interleaved repetitions)`,
    [{ title: 'contender', align: 'left' }, { title: 'total ms' }, { title: 'µs/task' }, { title: 'tasks/s' }, { title: 'throughput vs piscina' }],
    smallRows,
    notes,
  );

  const lagRows = [];
  notes = [];
  const piscinaP99 = median(field(samples['lag:piscina'], 'p99'));
  for (const c of cases.filter((x) => x.part === 'lag')) {
    const s = samples[c.key];
    summary[c.key] = {
      ms: median(field(s, 'ms')),
      samples: median(field(s, 'samples')),
      p50: median(field(s, 'p50')),
      p99: median(field(s, 'p99')),
      max: median(field(s, 'max')),
    };
    const x = summary[c.key];
    lagRows.push([
      label(c.contender),
      fmtInt(x.ms),
      fmtInt(x.samples),
      fmt(x.p50, 2),
      fmt(x.p99, 2),
      fmt(x.max, 2),
      c.contender in POOLS ? fmtRatio(x.p99 / piscinaP99) : '—',
    ]);
    notes.push(...notesOf(c.key));
  }
  notes.push(
    `lateness: a 1 ms setTimeout on the main thread, re-armed each time it fires; lateness = fire − arming − 1 ms, over every fire from the first task submitted to the last result (slightly negative: fired early); the median over the ${BURSTS} bursts of a child.`,
    `no burst: the same timer for ${fmtInt((tasks * TASK_MS) / THREADS)} ms with nothing else running; one thread, no pool: the tasks on the main thread, one per macrotask.`,
    ...absentNote(),
  );
  printTable(
    `${title}: main-thread timer lateness while ${fmtInt(tasks)} tasks of ~${TASK_MS} ms saturate ${THREADS} threads (median of ${reps} interleaved repetitions)`,
    [
      { title: 'burst on', align: 'left' },
      { title: 'burst ms' },
      { title: 'fires' },
      { title: 'late p50 ms' },
      { title: 'p99 ms' },
      { title: 'max ms' },
      { title: 'p99 vs piscina' },
    ],
    lagRows,
    notes,
  );

  const ok = (x, test) => (Number.isFinite(x) ? test(x) : undefined);
  const cpu = summary['cpu:synchronik'].speedup;
  const cpuPeer = summary['cpu:piscina'].speedup;
  const small = summary['small:synchronik'].vsPiscina;
  const goals = [
    goal('CPU-bound: synchronik speedup ≥ piscina\'s', `${fmtRatio(cpu)} (piscina: ${fmtRatio(cpuPeer)})`, ok(cpu - cpuPeer, (x) => x >= 0)),
    goal('small tasks: synchronik throughput ≥ 2× piscina', fmtRatio(small), ok(small, (x) => x >= 2)),
  ];
  return { threads: THREADS, tasks, taskMs: TASK_MS, n, reps, summary, goals, samples };
}

childEntry(import.meta.url, measure);
