// Scenario 3 — timers: 10,000 interval workers (intervalMs 100) for 5 s:
// lateness of every fire against its ideal slot, missed and doubled fires,
// CPU; against 10,000 setIntervals, 10,000 drift-corrected setTimeout loops
// and 10,000 toad-scheduler SimpleIntervalJobs.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSynchronikManager } from '../index.mjs';
import { openDashboard } from './lib/dashboard.mjs';
import { childEntry, collect, field, fmt, fmtInt, fmtRatio, goal, interleave, median, percentileSorted, printTable, problems } from './lib/common.mjs';

const require = createRequire(import.meta.url);
const { ToadScheduler, SimpleIntervalJob, Task } = require('toad-scheduler');

export const name = 'timers';
export const title = 'Scenario 3 — timers';

const SCRIPT = fileURLToPath(import.meta.url);
/** A fire up to this many ms before its slot counts for that slot (Node's timers may fire up to ~1 ms early against performance.now()). */
const EARLY_MS = 2;

const CONTENDERS = {
  setInterval: { label: 'setInterval (reference)' },
  synchronik: { label: 'synchronik interval workers' },
  setTimeout: { label: 'drift-corrected setTimeout loop' },
  toad: { label: 'toad-scheduler SimpleIntervalJob' },
};

// ---------------------------------------------------------------------------
// Child side
// ---------------------------------------------------------------------------

/**
 * Arms `count` timers of `intervalMs` that call `fire(w)`; resolves with
 * `{ starts, stop }`: each timer's start (its slot k is due at
 * start + k·interval) and a function that disarms them all.
 * `beforeStart(manager)` (synchronik only) is awaited between the
 * registration and manager.start().
 */
async function arm(contender, count, intervalMs, fire, beforeStart) {
  const starts = new Float64Array(count);
  if (contender === 'synchronik') {
    const manager = createSynchronikManager();
    for (let w = 0; w < count; w++) {
      manager.registerUnit({ id: `timer-${w}`, intervalMs, runOnInterval: true, timeoutMs: 0, run: () => fire(w) });
    }
    if (beforeStart !== undefined) await beforeStart(manager);
    // Every worker is scheduled when the manager starts: its slots are start + k·interval.
    const s = performance.now();
    manager.start();
    starts.fill(s);
    return { starts, stop: () => manager.stop() };
  }
  if (contender === 'setInterval') {
    const handles = new Array(count);
    for (let w = 0; w < count; w++) {
      starts[w] = performance.now();
      handles[w] = setInterval(() => fire(w), intervalMs);
    }
    return { starts, stop: () => handles.forEach((h) => clearInterval(h)) };
  }
  if (contender === 'setTimeout') {
    const handles = new Array(count);
    let stopped = false;
    for (let w = 0; w < count; w++) {
      const start = performance.now();
      starts[w] = start;
      let k = 1;
      const tick = () => {
        if (stopped) return;
        fire(w);
        k++;
        // Aim at the next ideal slot, not one interval after this (late) fire.
        handles[w] = setTimeout(tick, Math.max(0, start + k * intervalMs - performance.now()));
      };
      handles[w] = setTimeout(tick, intervalMs);
    }
    return {
      starts,
      stop: () => {
        stopped = true;
        handles.forEach((h) => clearTimeout(h));
      },
    };
  }
  if (contender === 'toad') {
    const scheduler = new ToadScheduler();
    for (let w = 0; w < count; w++) {
      starts[w] = performance.now();
      scheduler.addSimpleIntervalJob(new SimpleIntervalJob({ milliseconds: intervalMs }, new Task(`timer-${w}`, () => fire(w)), { id: `timer-${w}` }));
    }
    return { starts, stop: () => scheduler.stop() };
  }
  throw new Error(`unknown contender ${contender}`);
}

/**
 * One measurement. `dashboard` (a mode of bench/lib/dashboard.mjs,
 * synchronik only; scenario 8): the dashboard, and a browser on it, are
 * attached between the registration and manager.start(), and the CPU and
 * wall time are counted from there (with 'off' too, so the modes compare).
 */
export async function measure({ contender, workers: count, intervalMs, durationMs, dashboard }) {
  // Warm-up: the same code paths at a small scale, on a throwaway instance.
  {
    const warm = await arm(contender, 1000, 10, () => performance.now());
    await sleep(250);
    await warm.stop();
  }
  const board = dashboard === undefined ? undefined : await openDashboard(dashboard);
  collect();

  const slots = Math.floor(durationMs / intervalMs);
  const cap = slots + 8;
  const times = new Float64Array(count * cap);
  const counts = new Uint32Array(count);
  const fire = (w) => {
    const c = counts[w]++;
    if (c < cap) times[w * cap + c] = performance.now();
  };

  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  let detach;
  const attach =
    board &&
    (async (manager) => {
      detach = await board.attach(manager);
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
    });
  const { starts, stop } = await arm(contender, count, intervalMs, fire, attach);
  let lastStart = 0;
  for (let w = 0; w < count; w++) lastStart = Math.max(lastStart, starts[w]);
  // Until half an interval after the last timer's last slot.
  await sleep(Math.max(0, lastStart + slots * intervalMs + intervalMs / 2 - performance.now()));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const received = detach === undefined ? undefined : await detach();
  await stop();
  if (board !== undefined) await board.close();

  // Every fire goes to the slot k = floor((t − start + EARLY_MS) / interval).
  const lateness = new Float64Array(count * slots);
  let onTime = 0;
  let missed = 0;
  let extra = 0;
  let beyond = 0;
  let fires = 0;
  const seen = new Uint8Array(slots + 1);
  for (let w = 0; w < count; w++) {
    seen.fill(0);
    const n = counts[w];
    fires += n;
    if (n > cap) extra += n - cap;
    const start = starts[w];
    for (let c = 0; c < Math.min(n, cap); c++) {
      const t = times[w * cap + c];
      const k = Math.floor((t - start + EARLY_MS) / intervalMs);
      if (k > slots) {
        beyond++;
      } else if (k < 1 || seen[k] === 1) {
        extra++;
      } else {
        seen[k] = 1;
        lateness[onTime++] = t - (start + k * intervalMs);
      }
    }
    for (let k = 1; k <= slots; k++) if (seen[k] === 0) missed++;
  }
  const sorted = lateness.subarray(0, onTime).sort();
  const cpuUs = cpu.user + cpu.system;
  return {
    expected: count * slots,
    fires,
    slotted: onTime,
    missed,
    extra,
    beyond,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    max: sorted[sorted.length - 1],
    min: sorted[0],
    cpuPct: (cpuUs / 1000 / wallMs) * 100,
    cpuUsPerFire: cpuUs / fires,
    wallMs,
    dashboard: received,
  };
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

export async function run({ reps = 3, scale = 1 } = {}) {
  const params = { workers: Math.round(10_000 * scale), intervalMs: 100, durationMs: 5_000 };
  const cases = Object.keys(CONTENDERS).map((key) => ({ key, params: { contender: key, ...params } }));
  const samples = await interleave(name, SCRIPT, cases, reps);

  const summary = {};
  const rows = [];
  const notes = [];
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  for (const c of cases) {
    const s = samples[c.key];
    summary[c.key] = {
      expectedPerRep: s.find((r) => !r.error)?.expected,
      slotted: median(field(s, 'slotted')),
      missedTotal: sum(field(s, 'missed')),
      extraTotal: sum(field(s, 'extra')),
      p50: median(field(s, 'p50')),
      p99: median(field(s, 'p99')),
      max: median(field(s, 'max')),
      maxOfReps: Math.max(...field(s, 'max')),
      min: median(field(s, 'min')),
      cpuPct: median(field(s, 'cpuPct')),
      cpuUsPerFire: median(field(s, 'cpuUsPerFire')),
      reps: field(s, 'p50').length,
    };
    notes.push(...problems(c.key, s));
  }
  const ref = summary.setInterval.cpuUsPerFire;
  for (const c of cases) {
    const s = summary[c.key];
    s.cpuPerFireVsSetInterval = s.cpuUsPerFire / ref;
    rows.push([
      CONTENDERS[c.key].label,
      `${fmtInt(s.slotted)} / ${fmtInt(s.expectedPerRep)}`,
      fmtInt(s.missedTotal),
      fmtInt(s.extraTotal),
      fmt(s.p50, 2),
      fmt(s.p99, 2),
      fmt(s.max, 2),
      fmt(s.cpuPct, 1),
      fmt(s.cpuUsPerFire, 2),
      fmtRatio(s.cpuPerFireVsSetInterval),
    ]);
  }
  notes.push(
    `lateness = fire time − (start + k·${params.intervalMs} ms) for that timer; a fire goes to slot k = floor((t − start + ${EARLY_MS} ms)/interval), slots 1…${params.durationMs / params.intervalMs}.`,
    'missed / extra: totals over all repetitions (extra = a second fire in a slot, or a fire before the first slot); other figures: medians.',
    `synchronik's start is the moment manager.start() is called (it schedules every worker); the others' is the moment each timer is created.`,
  );
  printTable(
    `${title}: ${fmtInt(params.workers)} timers every ${params.intervalMs} ms for ${params.durationMs / 1000} s (median of ${reps} interleaved repetitions)`,
    [
      { title: 'contender', align: 'left' },
      { title: 'on-time fires/rep' },
      { title: 'missed' },
      { title: 'extra' },
      { title: 'late p50 ms' },
      { title: 'p99 ms' },
      { title: 'max ms' },
      { title: 'CPU % of a core' },
      { title: 'CPU µs/fire' },
      { title: 'CPU/fire vs setInterval' },
    ],
    rows,
    notes,
  );

  const s = summary.synchronik;
  const ok = (x, test) => (Number.isFinite(x) ? test(x) : undefined);
  const goals = [
    goal('synchronik: every fire, none twice (all repetitions)', `${fmtInt(s.missedTotal)} missed, ${fmtInt(s.extraTotal)} extra`, s.reps > 0 ? s.missedTotal === 0 && s.extraTotal === 0 : undefined),
    goal('synchronik: lateness p99 ≤ 1 ms', `${fmt(s.p99, 2)} ms`, ok(s.p99, (x) => x <= 1)),
    goal('synchronik: lateness max ≤ 5 ms', `${fmt(s.max, 2)} ms`, ok(s.max, (x) => x <= 5)),
    goal("synchronik: CPU per fire ≤ 1.5× setInterval's", fmtRatio(s.cpuPerFireVsSetInterval), ok(s.cpuPerFireVsSetInterval, (x) => x <= 1.5)),
  ];
  return { params, earlyToleranceMs: EARLY_MS, reps, summary, goals, samples };
}

childEntry(import.meta.url, measure);
