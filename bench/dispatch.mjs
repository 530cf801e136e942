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

  // Goals: at both concurrencies, at least 1.2× the throughput of
  // async.queue (the fastest JavaScript queue here), and ahead of the
  // other peers (whose throughput is below async.queue's) as well.
  const goals = [];
  for (const c of CONCURRENCIES) {
    const syn = summary[`synchronik@${c}`].ms;
    const vsAsync = summary[`async@${c}`].ms / syn;
    goals.push(goal(`c=${c}: synchronik throughput ≥ 1.2× async.queue`, fmtRatio(vsAsync), Number.isFinite(vsAsync) ? vsAsync >= 1.2 : undefined));
    const others = PEERS.filter((q) => q !== 'async').map((q) => ({ q, ratio: summary[`${q}@${c}`].ms / syn }));
    const least = others.sort((x, y) => x.ratio - y.ratio)[0];
    goals.push(
      goal(
        `c=${c}: ahead of ${others.map((o) => o.q).join(' and ')} by more (≥ 1.2×, and more than of async.queue)`,
        `${fmtRatio(least.ratio)} of ${least.q}`,
        Number.isFinite(least.ratio) && Number.isFinite(vsAsync) ? least.ratio >= 1.2 && least.ratio > vsAsync : undefined,
      ),
    );
  }

  return { n, reps, concurrencies: CONCURRENCIES, summary, goals, samples };
}

childEntry(import.meta.url, measureDispatch);
