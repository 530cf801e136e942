// Scenario 2 — manual runs: 100,000 runWorkerById calls (100,000 registered
// no-op workers, each run once, all started together and then awaited),
// 100,000 runs whose 10 s timeouts are cancelled when they finish at once,
// the manual clock's runUntilIdle through 10,000 timeouts, and
// runProcessById of a 10,000-worker process in every run mode; the reference
// is fastq pushes of the same no-op.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createSynchronikManager } from '../index.mjs';
import { childEntry, collect, field, fmt, fmtRatio, goal, interleave, median, printTable, problems } from './lib/common.mjs';
import { noopTask } from './lib/queues.mjs';

const require = createRequire(import.meta.url);
const fastq = require('fastq');

export const name = 'manual';
export const title = 'Scenario 2 — manual runs';

const SCRIPT = fileURLToPath(import.meta.url);
const MODES = ['sequential', 'parallel', 'batched', 'isolated'];
const WARM = 5_000;

// ---------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------

function makeWorkers(prefix, n, timeoutMs) {
  const workers = new Array(n);
  for (let i = 0; i < n; i++) {
    const w = { id: `${prefix}-${i}`, run: noopTask };
    if (timeoutMs !== undefined) w.timeoutMs = timeoutMs;
    workers[i] = w;
  }
  return workers;
}

function checkRuns(workers, expected) {
  for (const w of workers) {
    if (w.meta.runCount !== expected) throw new Error(`worker ${w.id} ran ${w.meta.runCount} times, expected ${expected}`);
  }
}

/** `n` runWorkerById calls started together, then awaited. */
async function runWorkers(n, timeoutMs, measured) {
  const manager = createSynchronikManager();
  const workers = makeWorkers('worker', n, timeoutMs);
  const r0 = performance.now();
  for (const w of workers) manager.registerUnit(w);
  const registerMs = performance.now() - r0;
  if (measured) collect();
  const ids = workers.map((w) => w.id);
  const promises = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) promises[i] = manager.runWorkerById(ids[i]);
  await Promise.all(promises);
  const ms = performance.now() - t0;
  await manager.stop();
  checkRuns(workers, 1);
  return { ms, registerMs };
}

/**
 * `n` runs of `chains` workers with `timeoutMs: 10_000` on a started manager,
 * each worker run again as soon as its previous run finished: every run
 * arms a 10 s timeout that is cancelled at once, `chains` of them at a time,
 * next to the manager's recurring timers.
 */
async function runEarly(n, chains, measured) {
  const manager = createSynchronikManager();
  const workers = makeWorkers('early', chains, 10_000);
  for (const w of workers) manager.registerUnit(w);
  manager.start();
  if (measured) collect();
  const each = Math.floor(n / chains);
  const chain = async (id) => {
    for (let k = 0; k < each; k++) await manager.runWorkerById(id);
  };
  const t0 = performance.now();
  await Promise.all(workers.map((w) => chain(w.id)));
  const ms = performance.now() - t0;
  await manager.stop();
  checkRuns(workers, each);
  return { ms };
}

/**
 * Manual clock: `n` runs that never settle, with timeouts of 1 … n ms, then
 * one `clock.runUntilIdle()` that times them all out, one deadline at a time.
 */
async function runUntilIdleTimeouts(n, measured) {
  const manager = createSynchronikManager({ clock: 'manual' });
  const never = () => new Promise(() => {});
  for (let i = 0; i < n; i++) manager.registerUnit({ id: `idle-${i}`, timeoutMs: i + 1, run: never });
  const runs = new Array(n);
  for (let i = 0; i < n; i++) runs[i] = manager.runWorkerById(`idle-${i}`);
  if (measured) collect();
  const t0 = performance.now();
  await manager.clock.runUntilIdle();
  await Promise.all(runs);
  const ms = performance.now() - t0;
  if (manager.clock.now() !== n) throw new Error(`the clock is at ${manager.clock.now()} ms, expected ${n}`);
  await manager.stop({ timeoutMs: 0 });
  return { ms };
}

/** One runProcessById of an `n`-worker process in `mode`. */
async function runProcess(n, mode, measured) {
  const manager = createSynchronikManager();
  const workers = makeWorkers(`${mode}-w`, n, 0);
  const r0 = performance.now();
  manager.registerUnit({ id: `${mode}-process`, runMode: mode, batchSize: 16, isolationDelayMs: 0, workers });
  const registerMs = performance.now() - r0;
  if (measured) collect();
  const t0 = performance.now();
  await manager.runProcessById(`${mode}-process`);
  const ms = performance.now() - t0;
  await manager.stop();
  checkRuns(workers, 1);
  return { ms, registerMs };
}

/** `n` pushes of the no-op into fastq.promise, awaited with Promise.all. */
async function runFastq(n, concurrency) {
  const q = fastq.promise((fn) => fn(), concurrency);
  const promises = new Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) promises[i] = q.push(noopTask);
  await Promise.all(promises);
  return { ms: performance.now() - t0 };
}

async function measure({ kind, n, timeoutMs, mode, concurrency, chains }) {
  let out;
  if (kind === 'workers') {
    await runWorkers(Math.min(n, WARM), timeoutMs, false);
    collect();
    out = await runWorkers(n, timeoutMs, true);
  } else if (kind === 'early') {
    await runEarly(Math.min(n, WARM), chains, false);
    collect();
    out = await runEarly(n, chains, true);
  } else if (kind === 'idle') {
    await runUntilIdleTimeouts(Math.min(n, WARM / 5), false);
    collect();
    out = await runUntilIdleTimeouts(n, true);
  } else if (kind === 'process') {
    await runProcess(Math.min(n, WARM), mode, false);
    collect();
    out = await runProcess(n, mode, true);
  } else {
    await runFastq(Math.min(n, WARM), Math.min(concurrency, WARM));
    collect();
    out = await runFastq(n, concurrency);
  }
  return { ...out, usPerItem: (out.ms * 1000) / n };
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

export async function run({ reps = 5, scale = 1 } = {}) {
  const nRuns = Math.round(100_000 * scale);
  const nProc = Math.round(10_000 * scale);
  const chains = 1_000;
  const nIdle = Math.round(10_000 * scale);
  const cases = [
    { key: 'fastq-runs', ref: true, label: `fastq.promise push ×${fmt(nRuns, 0)}, concurrency ${fmt(nRuns, 0)} (reference)`, params: { kind: 'fastq', n: nRuns, concurrency: nRuns } },
    { key: 'run-t0', refKey: 'fastq-runs', label: `runWorkerById ×${fmt(nRuns, 0)}, timeoutMs 0`, params: { kind: 'workers', n: nRuns, timeoutMs: 0 } },
    { key: 'run-default', refKey: 'fastq-runs', label: `runWorkerById ×${fmt(nRuns, 0)}, default timeoutMs (10 s)`, params: { kind: 'workers', n: nRuns } },
    {
      key: 'run-early',
      refKey: 'fastq-runs',
      label: `runWorkerById ×${fmt(nRuns, 0)}, timeoutMs 10,000 finishing at once (${fmt(chains, 0)} workers, ${fmt(chains, 0)} runs in flight, started manager)`,
      params: { kind: 'early', n: nRuns, chains },
    },
    {
      key: 'idle-timeouts',
      refKey: 'fastq-runs',
      label: `clock.runUntilIdle() through ${fmt(nIdle, 0)} timeouts (manual clock; cost per timeout)`,
      params: { kind: 'idle', n: nIdle },
    },
    { key: 'fastq-proc', ref: true, label: `fastq.promise push ×${fmt(nProc, 0)}, concurrency ${fmt(nProc, 0)} (reference)`, params: { kind: 'fastq', n: nProc, concurrency: nProc } },
    ...MODES.map((mode) => ({
      key: mode,
      refKey: 'fastq-proc',
      label: `runProcessById, ${fmt(nProc, 0)} workers, ${mode}${mode === 'batched' ? ' (batchSize 16)' : mode === 'isolated' ? ' (isolationDelayMs 0)' : ''}`,
      params: { kind: 'process', n: nProc, mode },
    })),
    { key: 'fastq-proc-c1', refKey: 'fastq-proc', label: `fastq.promise push ×${fmt(nProc, 0)}, concurrency 1 (one at a time, like sequential)`, params: { kind: 'fastq', n: nProc, concurrency: 1 } },
  ];
  const samples = await interleave(name, SCRIPT, cases, reps);

  const summary = {};
  for (const c of cases) {
    summary[c.key] = {
      ms: median(field(samples[c.key], 'ms')),
      usPerItem: median(field(samples[c.key], 'usPerItem')),
      registerUsPerWorker: ['fastq', 'early', 'idle'].includes(c.params.kind) ? undefined : (median(field(samples[c.key], 'registerMs')) * 1000) / c.params.n,
    };
  }
  const rows = [];
  const notes = [];
  for (const c of cases) {
    const s = summary[c.key];
    const ref = summary[c.ref ? c.key : c.refKey];
    s.vsFastqPush = s.usPerItem / ref.usPerItem;
    rows.push([
      c.label,
      fmt(s.ms, 1),
      fmt(s.usPerItem, 3),
      fmtRatio(s.vsFastqPush),
      s.registerUsPerWorker === undefined ? '' : fmt(s.registerUsPerWorker, 2),
    ]);
    notes.push(...problems(c.key, samples[c.key]));
  }
  notes.push(`runWorkerById: ${fmt(nRuns, 0)} distinct registered workers, each run once; every worker is an async no-op.`);
  notes.push('process workers have timeoutMs 0; registration is outside the timed part (its cost is the last column).');
  notes.push(`timeouts finishing at once: each of ${fmt(chains, 0)} workers is run ${fmt(Math.floor(nRuns / chains), 0)} times, each run as soon as its previous one finished; every run arms a 10 s timeout and cancels it.`);
  notes.push(`runUntilIdle: ${fmt(nIdle, 0)} runs that never settle, with timeouts of 1 … ${fmt(nIdle, 0)} ms, all timed out by one runUntilIdle (registration and the runs' start are not timed).`);
  printTable(
    `${title} (median of ${reps} interleaved repetitions; cost per call / per worker, lower is better)`,
    [
      { title: 'contender', align: 'left' },
      { title: 'total ms' },
      { title: 'µs per call/worker' },
      { title: 'cost vs fastq push' },
      { title: 'register µs/worker' },
    ],
    rows,
    notes,
  );

  const goals = [];
  for (const key of ['run-t0', 'run-default']) {
    const r = summary[key].vsFastqPush;
    goals.push(goal(`${cases.find((c) => c.key === key).label}: per call ≤ a fastq push`, fmtRatio(r), Number.isFinite(r) ? r <= 1 : undefined));
  }
  const rp = summary.parallel.vsFastqPush;
  goals.push(goal(`${fmt(nProc, 0)}-worker parallel process: per worker ≤ a fastq push`, fmtRatio(rp), Number.isFinite(rp) ? rp <= 1 : undefined));
  return { nRuns, nProc, reps, summary, goals, samples };
}

childEntry(import.meta.url, measure);
