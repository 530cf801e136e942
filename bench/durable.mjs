// Scenario 7 — durable pool throughput: 20,000 tasks that name a handler
// and carry a small JSON payload, through a pool of 16 workers, with the
// SQLite store (history off, history on) against the same tasks in memory.
// A task's time counts from addTask to the commit of its end (the run ends
// with `await manager.flush()`).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { childEntry, collect, field, fmt, fmtInt, fmtRatio, goal, interleave, median, printTable, problems, ROOT } from './lib/common.mjs';

export const name = 'durable';
export const title = 'Scenario 7 — durable pool throughput';

const SCRIPT = fileURLToPath(import.meta.url);
const require = createRequire(join(ROOT, 'package.json'));
const POOL_SIZE = 16;
/** Tasks are added in waves of this many (a queue of named tasks stays short, as in a service). */
const WAVE = 500;

const CASES = [
  { key: 'memory', label: 'in-memory pool (reference)', storage: undefined },
  { key: 'durable', label: 'SQLite store, history off', storage: 'off' },
  { key: 'history', label: 'SQLite store, history on', storage: 'on' },
];

async function once(storage, n) {
  const { createSynchronikManager } = require(ROOT);
  const dir = storage ? mkdtempSync(join(os.tmpdir(), 'synchronik-bench-')) : undefined;
  const options = storage ? { storage: { sqlite: join(dir, 'state.db'), history: storage === 'on' ? {} : false } } : {};
  const manager = createSynchronikManager(options);
  const pool = manager.useWorkerPool(POOL_SIZE, { name: 'jobs' });
  let done = 0;
  pool.handle('job', async (payload) => {
    done += payload.i >= 0 ? 1 : 0;
  });
  manager.start();
  const t0 = performance.now();
  for (let i = 0; i < n; i += WAVE) {
    const end = Math.min(n, i + WAVE);
    for (let k = i; k < end; k++) pool.addTask({ name: `task-${k}`, handler: 'job', payload: { i: k, user: `user-${k % 97}`, tags: ['a', 'b'] } });
    await pool.onIdle();
  }
  await manager.flush();
  const ms = performance.now() - t0;
  const bytes = storage ? manager.getEngineStats().storage.bytes : 0;
  await manager.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (done !== n) throw new Error(`ran ${done} of ${n} tasks`);
  return { ms, bytes };
}

async function measure({ storage, n }) {
  await once(storage, Math.min(n, 2000)); // warm-up
  collect();
  return once(storage, n);
}

export async function run({ reps = 5, scale = 1 } = {}) {
  const n = Math.round(20_000 * scale);
  const cases = CASES.map((c) => ({ ...c, params: { storage: c.storage, n } }));
  const samples = await interleave(name, SCRIPT, cases, reps);
  const summary = {};
  const rows = [];
  const notes = [];
  const refMs = median(field(samples.memory, 'ms'));
  for (const c of cases) {
    const ms = median(field(samples[c.key], 'ms'));
    const bytes = median(field(samples[c.key], 'bytes'));
    summary[c.key] = { ms, tasksPerSec: n / (ms / 1000), vsMemory: refMs / ms, bytes };
    rows.push([c.label, fmtInt(ms), fmtInt(n / (ms / 1000)), fmtRatio(refMs / ms), c.storage ? fmt(bytes / 1024 / 1024, 2) : '—']);
    notes.push(...problems(c.key, samples[c.key]));
  }
  printTable(
    `${title}: ${fmtInt(n)} handler tasks with a small JSON payload, pool of ${POOL_SIZE}, waves of ${WAVE} (median of ${reps} interleaved repetitions)`,
    [
      { title: 'contender', align: 'left' },
      { title: 'total ms' },
      { title: 'tasks/s' },
      { title: 'throughput vs memory' },
      { title: 'db MB' },
    ],
    rows,
    notes,
  );
  const goals = [];
  const d = summary.durable.vsMemory;
  goals.push(goal('durable throughput ≥ 1/10 of the in-memory pool', fmtRatio(d), Number.isFinite(d) ? d >= 0.1 : undefined));
  const h = summary.durable.ms / summary.history.ms;
  goals.push(goal('history on ≥ half the throughput of history off', fmtRatio(h), Number.isFinite(h) ? h >= 0.5 : undefined));
  return { n, reps, poolSize: POOL_SIZE, wave: WAVE, summary, goals, samples };
}

childEntry(import.meta.url, measure);
