// Scenario 5 — events: scenario 1 at concurrency 16 with a no-op listener on
// every event type (manager.subscribeToEvents(() => {})), as a ratio to the
// same run without listeners.

import { fileURLToPath } from 'node:url';
import { childEntry, field, fmt, fmtInt, fmtRatio, goal, interleave, median, printTable, problems } from './lib/common.mjs';
import { measureDispatch } from './lib/queues.mjs';

export const name = 'events';
export const title = 'Scenario 5 — events';

const SCRIPT = fileURLToPath(import.meta.url);

export async function run({ reps = 5, scale = 1 } = {}) {
  const n = Math.round(1_000_000 * scale);
  const base = { queue: 'synchronik', n, concurrency: 16 };
  const cases = [
    { key: 'silent', label: 'synchronik pool.run, no listener (reference)', params: base },
    { key: 'listening', label: 'synchronik pool.run, subscribeToEvents(() => {})', params: { ...base, listen: true, countEvents: true } },
  ];
  const samples = await interleave(name, SCRIPT, cases, reps);

  const summary = {};
  const rows = [];
  const notes = [];
  const refMs = median(field(samples.silent, 'ms'));
  for (const c of cases) {
    const ms = median(field(samples[c.key], 'ms'));
    const perTask = samples[c.key].find((r) => r.eventsPerTask)?.eventsPerTask;
    summary[c.key] = { ms, nsPerTask: (ms * 1e6) / n, throughputVsSilent: refMs / ms, eventsPerTask: perTask };
    const delivered = perTask ? Object.entries(perTask).map(([type, k]) => `${type} ${fmt(k, 2)}`).join(', ') : '—';
    rows.push([c.label, fmtInt(ms), fmtInt((ms * 1e6) / n), fmt(n / ms / 1000, 3), delivered, fmtRatio(refMs / ms)]);
    notes.push(...problems(c.key, samples[c.key]));
  }
  notes.push('events per task are counted on the warm-up run (20,000 tasks); the timed run has only the no-op listener.');
  printTable(
    `${title}: ${fmtInt(n)} no-op tasks at concurrency 16 (median of ${reps} interleaved repetitions)`,
    [
      { title: 'contender', align: 'left' },
      { title: 'total ms' },
      { title: 'ns/task' },
      { title: 'M tasks/s' },
      { title: 'events per task' },
      { title: 'throughput vs no listener' },
    ],
    rows,
    notes,
  );
  const r = summary.listening.throughputVsSilent;
  const goals = [goal('with a listener on every event: ≥ 50% of the throughput', fmtRatio(r), Number.isFinite(r) ? r >= 0.5 : undefined)];
  return { n, reps, summary, goals, samples };
}

childEntry(import.meta.url, measureDispatch);
