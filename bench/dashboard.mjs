// Scenario 8 — the dashboard open: scenario 1 (dispatch, concurrency 16)
// and scenario 3 (10,000 interval workers) for synchronik with its web
// dashboard served, and with a real browser (headless Chromium, its own
// process) showing the overview or the units page live, as ratios to the
// same runs without a dashboard.

import { fileURLToPath } from 'node:url';
import { childEntry, field, fmt, fmtInt, fmtRatio, goal, interleave, median, printTable, problems } from './lib/common.mjs';
import { DASHBOARD_MODES } from './lib/dashboard.mjs';
import { measureDispatch } from './lib/queues.mjs';
import { measure as measureTimers } from './timers.mjs';

export const name = 'dashboard';
export const title = 'Scenario 8 — the dashboard open';

const SCRIPT = fileURLToPath(import.meta.url);
const MODES = Object.keys(DASHBOARD_MODES);

export async function run({ reps = 3, scale = 1 } = {}) {
  const n = Math.round(1_000_000 * scale);
  const timers = { workers: Math.round(10_000 * scale), intervalMs: 100, durationMs: 5_000 };
  const cases = [
    ...MODES.map((mode) => ({ key: `dispatch:${mode}`, part: 'dispatch', mode, params: { part: 'dispatch', queue: 'synchronik', n, concurrency: 16, dashboard: mode } })),
    ...MODES.map((mode) => ({ key: `timers:${mode}`, part: 'timers', mode, params: { part: 'timers', contender: 'synchronik', ...timers, dashboard: mode } })),
  ];
  const samples = await interleave(name, SCRIPT, cases, reps);
  const summary = {};
  const notes = [];
  const seen = (s, key) => median(field(s, 'dashboard').map((d) => (d ? d[key] : undefined)));

  const dispatchRows = [];
  const refMs = median(field(samples['dispatch:off'], 'ms'));
  for (const c of cases.filter((x) => x.part === 'dispatch')) {
    const s = samples[c.key];
    const ms = median(field(s, 'ms'));
    summary[c.key] = { ms, nsPerTask: (ms * 1e6) / n, throughputVsOff: refMs / ms, messages: seen(s, 'messages'), reads: seen(s, 'reads') };
    const x = summary[c.key];
    dispatchRows.push([DASHBOARD_MODES[c.mode].label, fmtInt(ms), fmtInt(x.nsPerTask), fmt(n / ms / 1000, 3), fmtInt(x.messages), fmtInt(x.reads), fmtRatio(x.throughputVsOff)]);
    notes.push(...problems(c.key, s));
  }
  printTable(
    `${title}: dispatch of ${fmtInt(n)} no-op tasks at concurrency 16 (scenario 1; median of ${reps} interleaved repetitions)`,
    [
      { title: 'synchronik pool.run with', align: 'left' },
      { title: 'total ms' },
      { title: 'ns/task' },
      { title: 'M tasks/s' },
      { title: 'SSE messages' },
      { title: 'API reads' },
      { title: 'throughput vs no dashboard' },
    ],
    dispatchRows,
    notes.splice(0),
  );

  const timerRows = [];
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const ref = { cpu: median(field(samples['timers:off'], 'cpuUsPerFire')), p99: median(field(samples['timers:off'], 'p99')) };
  for (const c of cases.filter((x) => x.part === 'timers')) {
    const s = samples[c.key];
    const x = {
      slotted: median(field(s, 'slotted')),
      expected: s.find((r) => !r.error)?.expected,
      missed: sum(field(s, 'missed')),
      extra: sum(field(s, 'extra')),
      p50: median(field(s, 'p50')),
      p99: median(field(s, 'p99')),
      max: median(field(s, 'max')),
      cpuUsPerFire: median(field(s, 'cpuUsPerFire')),
      messages: seen(s, 'messages'),
      reads: seen(s, 'reads'),
    };
    x.cpuVsOff = x.cpuUsPerFire / ref.cpu;
    summary[c.key] = x;
    timerRows.push([
      DASHBOARD_MODES[c.mode].label,
      `${fmtInt(x.slotted)} / ${fmtInt(x.expected)}`,
      `${fmtInt(x.missed)} / ${fmtInt(x.extra)}`,
      fmt(x.p50, 2),
      fmt(x.p99, 2),
      fmt(x.max, 2),
      fmt(x.cpuUsPerFire, 2),
      fmtInt(x.messages),
      fmtInt(x.reads),
      fmtRatio(x.cpuVsOff),
    ]);
    notes.push(...problems(c.key, s));
  }
  notes.push(
    'the browser is headless Chromium in its own processes (not counted in CPU µs/fire, which is the measured process: JavaScript, the engine and the HTTP server threads); it competes for the same cores.',
    'SSE messages / API reads: what the page received during the timed run (median over repetitions); the overview page only listens, the units page re-reads its list (50 units) when the engine changed, at most once a second.',
    "CPU and wall time are counted from manager.start() (after the dashboard and the page are up), in every row, so the rows compare with one another but not with scenario 3's.",
  );
  printTable(
    `${title}: ${fmtInt(timers.workers)} interval workers every ${timers.intervalMs} ms for ${timers.durationMs / 1000} s (scenario 3; median of ${reps} interleaved repetitions)`,
    [
      { title: 'synchronik interval workers with', align: 'left' },
      { title: 'on-time fires/rep' },
      { title: 'missed / extra' },
      { title: 'late p50 ms' },
      { title: 'p99 ms' },
      { title: 'max ms' },
      { title: 'CPU µs/fire' },
      { title: 'SSE messages' },
      { title: 'API reads' },
      { title: 'CPU/fire vs no dashboard' },
    ],
    timerRows,
    notes,
  );

  const ok = (x, test) => (Number.isFinite(x) ? test(x) : undefined);
  const d = summary['dispatch:units'].throughputVsOff;
  const t = summary['timers:units'];
  const goals = [
    goal('dispatch with a browser on the units page: ≥ 90% of the throughput without a dashboard', fmtRatio(d), ok(d, (x) => x >= 0.9)),
    goal('timers with a browser on the units page: every fire, none twice', `${fmtInt(t.missed)} missed, ${fmtInt(t.extra)} extra`, ok(t.missed, () => t.missed === 0 && t.extra === 0)),
    goal(
      'timers with a browser on the units page: lateness p99 at most 1 ms above no dashboard',
      `${fmt(t.p99, 2)} ms (without: ${fmt(ref.p99, 2)} ms)`,
      ok(t.p99 - ref.p99, (x) => x <= 1),
    ),
  ];
  return { n, timers, reps, summary, goals, samples };
}

childEntry(import.meta.url, (params) => (params.part === 'dispatch' ? measureDispatch(params) : measureTimers(params)));
