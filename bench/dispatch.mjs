// Scenario 1 — queue dispatch: 1,000,000 no-op async tasks through the
// worker pool at concurrency 16 and 1,000, against fastq, async.queue and
// p-queue at the same concurrency and a raw Promise.all over plain calls.

import { fileURLToPath } from 'node:url';
import { childEntry, field, fmt, fmtInt, fmtRatio, goal, interleave, median, printTable, problems } from './lib/common.mjs';
import { QUEUES, measureDispatch } from './lib/queues.mjs';

export const name = 'dispatch';
export const title = 'Scenario 1 — queue dispatch';

const SCRIPT = fileURLToPath(import.meta.url);
const PEERS = ['fastq', 'async', 'p-queue'];
const CONCURRENCIES = [16, 1000];

export async function run({ reps = 5, scale = 1 } = {}) {
  const n = Math.round(1_000_000 * scale);
  const cases = [{ key: 'raw', queue: 'raw', concurrency: 0 }];
  for (const concurrency of CONCURRENCIES) {
    for (const queue of ['synchronik', ...PEERS]) cases.push({ key: `${queue}@${concurrency}`, queue, concurrency });
  }
  for (const c of cases) c.params = { queue: c.queue, n, concurrency: c.concurrency };
  const samples = await interleave(name, SCRIPT, cases, reps);

  const rows = [];
  const summary = {};
  const notes = [];
  const refMs = median(field(samples.raw, 'ms'));
  for (const c of cases) {
    const ms = median(field(samples[c.key], 'ms'));
    const throughput = n / (ms / 1000);
    summary[c.key] = { ms, nsPerTask: (ms * 1e6) / n, tasksPerSec: throughput, throughputVsRaw: refMs / ms };
    rows.push([
      c.queue === 'raw' ? `${QUEUES.raw.label} (reference)` : QUEUES[c.queue].label,
      c.queue === 'raw' ? '—' : String(c.concurrency),
      fmtInt(ms),
      fmtInt((ms * 1e6) / n),
      fmt(throughput / 1e6, 3),
      fmtRatio(refMs / ms),
    ]);
    notes.push(...problems(c.key, samples[c.key]));
  }
  printTable(
    `${title}: ${fmtInt(n)} no-op async tasks, all submitted then awaited with Promise.all (median of ${reps} interleaved repetitions)`,
    [
      { title: 'contender', align: 'left' },
      { title: 'concurrency' },
      { title: 'total ms' },
      { title: 'ns/task' },
      { title: 'M tasks/s' },
      { title: 'throughput vs raw' },
    ],
    rows,
    notes,
  );

  const goals = [];
  const syn16 = summary['synchronik@16'].ms;
  const fastest = PEERS.map((q) => ({ q, ms: summary[`${q}@16`].ms })).sort((a, b) => a.ms - b.ms)[0];
  const r16 = fastest.ms / syn16;
  goals.push(
    goal(
      'c=16: synchronik throughput ≥ 1.5× the fastest JS queue',
      `${fmtRatio(r16)} of ${fastest.q}`,
      Number.isFinite(r16) ? r16 >= 1.5 : undefined,
    ),
  );
  const r1000 = summary['fastq@1000'].ms / summary['synchronik@1000'].ms;
  goals.push(goal('c=1000: synchronik throughput ≥ 2× fastq', fmtRatio(r1000), Number.isFinite(r1000) ? r1000 >= 2 : undefined));

  return { n, reps, concurrencies: CONCURRENCIES, summary, goals, samples };
}

childEntry(import.meta.url, measureDispatch);
