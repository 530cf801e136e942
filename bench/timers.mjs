// Scenario 3 — timers: 10,000 interval workers (intervalMs 100) for 5 s:
// lateness of every fire against its ideal slot, missed and doubled fires,
// CPU; against 10,000 setIntervals, 10,000 drift-corrected setTimeout loops
// and 10,000 toad-scheduler SimpleIntervalJobs; in two layouts: all armed at
// once (every timer due at the same millisecond) and phases spread evenly
// over the interval. Then the cost of one cron
// fire with 1,000 and with 100,000 cron schedules registered, of which the
// same 10 fire (manual clock): it must not grow with the schedules.

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
 * A contender's timers, armed one at a time: `add(w)` arms timer w (its
 * start, the moment it is armed, goes to `starts[w]`), `stop()` disarms
 * them all. synchronik's timers are workers of `manager`, which `add`
 * registers; they are scheduled once the manager is started (on a started
 * manager, at once).
 */
function timersOf(contender, count, intervalMs, fire) {
  const starts = new Float64Array(count);
  if (contender === 'synchronik') {
    const manager = createSynchronikManager();
    return {
      starts,
      manager,
      add(w) {
        starts[w] = performance.now();
        manager.registerUnit({ id: `timer-${w}`, intervalMs, runOnInterval: true, timeoutMs: 0, run: () => fire(w) });
      },
      stop: () => manager.stop(),
    };
  }
  if (contender === 'setInterval') {
    const handles = new Array(count);
    return {
      starts,
      add(w) {
        starts[w] = performance.now();
        handles[w] = setInterval(() => fire(w), intervalMs);
      },
      stop: () => handles.forEach((h) => clearInterval(h)),
    };
  }
  if (contender === 'setTimeout') {
    const handles = new Array(count);
    let stopped = false;
    return {
      starts,
      add(w) {
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
      },
      stop: () => {
        stopped = true;
        handles.forEach((h) => clearTimeout(h));
      },
    };
  }
  if (contender === 'toad') {
    const scheduler = new ToadScheduler();
    return {
      starts,
      add(w) {
        starts[w] = performance.now();
        scheduler.addSimpleIntervalJob(new SimpleIntervalJob({ milliseconds: intervalMs }, new Task(`timer-${w}`, () => fire(w)), { id: `timer-${w}` }));
      },
      stop: () => scheduler.stop(),
    };
  }
  throw new Error(`unknown contender ${contender}`);
}

/**
 * Arms `count` timers of `intervalMs` that call `fire(w)`; resolves with
 * `{ starts, stop }`: each timer's start (its slot k is due at
 * start + k·interval) and a function that disarms them all.
 * `beforeStart(manager)` (synchronik only) is awaited between the
 * registration and manager.start().
 *
 * Layout 'same': all armed at once. synchronik's workers are registered,
 * then the manager is started, which schedules every one: their start is
 * that moment. Layout 'spread': timer w is armed at w/count of the first
 * interval, so the fires of every interval are spread evenly over it
 * (about count/interval per ms), as the phases of real schedules are.
 * Every contender is armed by the same loop (a 1 ms setTimeout step,
 * arming the timers whose phase has come); synchronik's manager is
 * started first and its workers registered on it (a worker registered on
 * a started manager is due one interval after its registration).
 */
async function arm(contender, count, intervalMs, fire, beforeStart, layout = 'same') {
  const timers = timersOf(contender, count, intervalMs, fire);
  const { starts, manager, add, stop } = timers;
  if (layout === 'same') {
    for (let w = 0; w < count; w++) add(w);
    if (manager !== undefined) {
      if (beforeStart !== undefined) await beforeStart(manager);
      // Every worker is scheduled when the manager starts: its slots are start + k·interval.
      const s = performance.now();
      manager.start();
      starts.fill(s);
    }
    return { starts, stop };
  }
  if (manager !== undefined) manager.start();
  const t0 = performance.now();
  let next = 0;
  await new Promise((resolve) => {
    const step = () => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / intervalMs) * count) + 1);
      while (next < due) add(next++);
      if (next < count) setTimeout(step, 1);
      else resolve();
    };
    step();
  });
  return { starts, stop };
}

/**
 * One measurement. `dashboard` (a mode of bench/lib/dashboard.mjs,
 * synchronik only; scenario 8): the dashboard, and a browser on it, are
 * attached between the registration and manager.start(), and the CPU and
 * wall time are counted from there (with 'off' too, so the modes compare).
 */
export async function measure({ contender, workers: count, intervalMs, durationMs, dashboard, layout = 'same' }) {
  // Warm-up: the same code paths at a small scale, on a throwaway instance.
  {
    const warm = await arm(contender, 1000, 10, () => performance.now(), undefined, layout);
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
  const { starts, stop } = await arm(contender, count, intervalMs, fire, attach, layout);
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

/** Cron fires: the manual clock starts here (no zone of CRON_ZONES changes its offset in the hours measured). */
const CRON_START = '2026-03-02T00:00:00Z';
const CRON_ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC'];
/** Cron fires: how many schedules fire, each every second (the others fire once a year). */
const CRON_FIRING = 10;

/**
 * The sweep period that keeps the scheduler's sweep of idle processes out of
 * a measurement: its first sweep comes a day after start, past the warm-up
 * and the blocks measured (at most CRON_ADVANCES_MAX seconds of clock).
 */
const SWEEP_OUT_OF_THE_WAY_MS = 86_400_000;
const CRON_ADVANCES_MAX = 80_000;

/**
 * Registers `schedules` cron workers on a started manual-clock manager: the
 * first CRON_FIRING fire every second, the others once a year (on 1 January,
 * at a varying minute and hour, in one of CRON_ZONES), so none of them fires
 * in the hours measured. `loopInterval`: the manager's option (undefined:
 * its default).
 */
function cronManager(schedules, loopInterval) {
  const manager = createSynchronikManager({ ...(loopInterval === undefined ? {} : { loopInterval }), clock: { manual: true, now: CRON_START } });
  const firing = [];
  for (let i = 0; i < schedules; i++) {
    const cron = i < CRON_FIRING ? '* * * * * *' : `${i % 60} ${(i >> 6) % 24} 1 1 *`;
    const unit = manager.registerUnit({ id: `cron-${i}`, schedule: { cron, timezone: CRON_ZONES[i % CRON_ZONES.length] }, timeoutMs: 0, run: () => undefined });
    if (i < CRON_FIRING) firing.push(unit);
  }
  manager.start();
  return { manager, firing };
}

/** `count` advances of one second (CRON_FIRING fires each); returns the wall and CPU µs of the block. */
async function advanceSeconds(manager, count) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await manager.clock.advance(1000);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs, cpuUs: cpu.user + cpu.system };
}

/**
 * The cost of one cron fire with `schedules` registered: `blocks` blocks of
 * `advances` one-second advances of the manual clock, each advance firing
 * the same CRON_FIRING schedules; the median over the blocks of wall and
 * CPU time (all threads) per fire. Every firing schedule must have run once
 * per advance, and no yearly one at all.
 */
async function measureCron({ schedules, advances, blocks, sweep }) {
  const loopInterval = sweep ? undefined : SWEEP_OUT_OF_THE_WAY_MS;
  const warmUp = 500;
  if (warmUp + blocks * advances > CRON_ADVANCES_MAX) throw new Error(`at most ${CRON_ADVANCES_MAX} advances`);
  // Warm-up: the same code paths on a throwaway manager.
  {
    const warm = cronManager(1000, loopInterval);
    await advanceSeconds(warm.manager, 200);
    await warm.manager.stop();
  }
  collect();
  const { manager, firing } = cronManager(schedules, loopInterval);
  await advanceSeconds(manager, warmUp);
  const wall = [];
  const cpu = [];
  for (let b = 0; b < blocks; b++) {
    const block = await advanceSeconds(manager, advances);
    wall.push(block.wallUs / (advances * CRON_FIRING));
    cpu.push(block.cpuUs / (advances * CRON_FIRING));
  }
  const expected = warmUp + blocks * advances;
  const wrong = firing.find((u) => u.meta.runCount !== expected);
  if (wrong !== undefined) throw new Error(`expected ${expected} fires of ${wrong.id}, got ${wrong.meta.runCount}`);
  let yearly = 0;
  const firingIds = new Set(firing.map((u) => u.id));
  for (const unit of manager.listUnits()) if (!firingIds.has(unit.id)) yearly += unit.meta.runCount;
  if (yearly !== 0) throw new Error(`${yearly} runs of schedules that fire once a year`);
  await manager.stop();
  return { wallUsPerFire: median(wall), cpuUsPerFire: median(cpu), wallBlocks: wall, cpuBlocks: cpu, fires: expected * CRON_FIRING };
}

// ---------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------

/** The two layouts of the timers: all due at the same millisecond, and phases spread over the interval. */
const LAYOUTS = {
  same: 'every timer armed at once (all due at the same millisecond)',
  spread: 'phases spread evenly over the interval (timer w armed at w/count of it)',
};

export async function run({ reps = 3, scale = 1 } = {}) {
  const params = { workers: Math.round(10_000 * scale), intervalMs: 100, durationMs: 5_000 };
  const caseKey = (contender, layout) => (layout === 'same' ? contender : `${contender}@${layout}`);
  const cases = [];
  for (const layout of Object.keys(LAYOUTS)) {
    for (const key of Object.keys(CONTENDERS)) cases.push({ key: caseKey(key, layout), contender: key, layout, params: { contender: key, layout, ...params } });
  }
  // Cron fires: the sizes compared, the first one the reference.
  // Long blocks without the sweep (a block is short work: one GC or one
  // turn of another process on the machine weighs less in a long one);
  // shorter ones with it, whose advances cost far more at 100,000 units.
  const cron = { sizes: [1_000, 100_000].map((n) => Math.max(CRON_FIRING, Math.round(n * scale))), advances: 2_000, blocks: 9, sweepAdvances: 500, sweepBlocks: 5 };
  const cronCases = [];
  for (const sweep of [false, true]) {
    for (const n of cron.sizes) {
      const advances = sweep ? cron.sweepAdvances : cron.advances;
      const blocks = sweep ? cron.sweepBlocks : cron.blocks;
      cronCases.push({ key: `${sweep ? 'cron-sweep' : 'cron'}:${n}`, n, sweep, params: { kind: 'cron', schedules: n, advances, blocks, sweep } });
    }
  }
  const samples = await interleave(name, SCRIPT, [...cases, ...cronCases], reps);

  const summary = {};
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const notesOf = {};
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
    (notesOf[c.layout] ??= []).push(...problems(c.key, s));
  }
  for (const layout of Object.keys(LAYOUTS)) {
    const ref = summary[caseKey('setInterval', layout)].cpuUsPerFire;
    const rows = [];
    for (const c of cases.filter((x) => x.layout === layout)) {
      const s = summary[c.key];
      s.cpuPerFireVsSetInterval = s.cpuUsPerFire / ref;
      rows.push([
        CONTENDERS[c.contender].label,
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
    const notes = notesOf[layout];
    notes.push(
      `lateness = fire time − (start + k·${params.intervalMs} ms) for that timer; a fire goes to slot k = floor((t − start + ${EARLY_MS} ms)/interval), slots 1…${params.durationMs / params.intervalMs}.`,
      'missed / extra: totals over all repetitions (extra = a second fire in a slot, or a fire before the first slot); other figures: medians.',
      layout === 'same'
        ? `synchronik's start is the moment manager.start() is called (it schedules every worker); the others' is the moment each timer is created.`
        : `a timer's start is the moment it was armed (synchronik: registered on the started manager); the arming, over the first ${params.intervalMs} ms, is inside the CPU measured, for every contender.`,
    );
    printTable(
      `${title}: ${fmtInt(params.workers)} timers every ${params.intervalMs} ms for ${params.durationMs / 1000} s, ${LAYOUTS[layout]} (median of ${reps} interleaved repetitions)`,
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
  }

  const cronRows = [];
  const cronNotes = [];
  for (const c of cronCases) {
    const s = samples[c.key];
    const ref = summary[`${c.sweep ? 'cron-sweep' : 'cron'}:${cron.sizes[0]}`];
    const cpuUsPerFire = median(field(s, 'cpuUsPerFire'));
    const wallUsPerFire = median(field(s, 'wallUsPerFire'));
    const row = { cpuUsPerFire, wallUsPerFire, cpuVsSmallest: cpuUsPerFire / (ref ? ref.cpuUsPerFire : cpuUsPerFire), wallVsSmallest: wallUsPerFire / (ref ? ref.wallUsPerFire : wallUsPerFire) };
    summary[c.key] = row;
    const tags = [c.n === cron.sizes[0] ? 'reference' : '', c.sweep && c.n !== cron.sizes[0] ? 'information' : ''].filter(Boolean).join(', ');
    const label = `${fmtInt(c.n)} cron schedules, ${CRON_FIRING} firing${c.sweep ? ', default loopInterval' : ''}${tags ? ` (${tags})` : ''}`;
    cronRows.push([label, fmt(wallUsPerFire, 2), fmt(cpuUsPerFire, 2), fmtRatio(row.wallVsSmallest), fmtRatio(row.cpuVsSmallest)]);
    cronNotes.push(...problems(c.key, s));
  }
  cronNotes.push(
    `manual clock from ${CRON_START}; ${CRON_FIRING} schedules '* * * * * *' fire each second, every other one once a year ('<s> <h> 1 1 *'), zones ${CRON_ZONES.join(', ')}; registered, then manager.start(); 500 advances of 1 s as warm-up, then ${cron.blocks} blocks of ${fmtInt(cron.advances)} clock.advance(1000) (${cron.sweepBlocks} of ${cron.sweepAdvances} in the default loopInterval rows; ${CRON_FIRING} fires each, checked); per fire = block time ÷ fires, median of the blocks, then of the repetitions. CPU: process.cpuUsage (all threads).`,
    `first rows: loopInterval ${fmtInt(SWEEP_OUT_OF_THE_WAY_MS)} ms (a day), so the scheduler's sweep of idle processes does not fall in the blocks measured; "default loopInterval" rows: its sweep every 1,000 ms of clock (once per advance) reads the registered processes (none here), and its cost is counted against the ${CRON_FIRING} fires of that second.`,
  );
  printTable(
    `${title}: cost of one cron fire as the schedules grow (manual clock; median of ${reps} interleaved repetitions)`,
    [{ title: 'case', align: 'left' }, { title: 'wall µs/fire' }, { title: 'CPU µs/fire' }, { title: 'wall vs reference' }, { title: 'CPU vs reference' }],
    cronRows,
    cronNotes,
  );

  const s = summary.synchronik;
  const spread = summary[caseKey('synchronik', 'spread')];
  const ok = (x, test) => (Number.isFinite(x) ? test(x) : undefined);
  const bigCron = summary[`cron:${cron.sizes[1]}`];
  // The best JavaScript contender of the same-millisecond layout: the lowest p99.
  const peers = Object.keys(CONTENDERS).filter((k) => k !== 'synchronik');
  const bestPeer = peers.reduce((best, k) => (summary[k].p99 < summary[best].p99 ? k : best), peers[0]);
  const goals = [
    goal('synchronik: every fire, none twice (all repetitions, both layouts)', `${fmtInt(s.missedTotal + spread.missedTotal)} missed, ${fmtInt(s.extraTotal + spread.extraTotal)} extra`, s.reps > 0 && spread.reps > 0 ? s.missedTotal + spread.missedTotal === 0 && s.extraTotal + spread.extraTotal === 0 : undefined),
    goal('synchronik, spread phases: lateness p99 ≤ 1 ms', `${fmt(spread.p99, 2)} ms`, ok(spread.p99, (x) => x <= 1)),
    goal(`synchronik, same millisecond: lateness p99 no worse than the best JS contender's (${CONTENDERS[bestPeer].label}: ${fmt(summary[bestPeer].p99, 2)} ms)`, `${fmt(s.p99, 2)} ms`, ok(s.p99, (x) => x <= summary[bestPeer].p99)),
    goal("synchronik, same millisecond: CPU per fire ≤ 1.5× setInterval's", fmtRatio(s.cpuPerFireVsSetInterval), ok(s.cpuPerFireVsSetInterval, (x) => x <= 1.5)),
    goal("synchronik, spread phases: CPU per fire ≤ 1.5× setInterval's", fmtRatio(spread.cpuPerFireVsSetInterval), ok(spread.cpuPerFireVsSetInterval, (x) => x <= 1.5)),
    goal('synchronik, same millisecond: lateness max ≤ 5 ms', `${fmt(s.max, 2)} ms`, ok(s.max, (x) => x <= 5)),
    goal(
      `cost of one cron fire with ${fmtInt(cron.sizes[1])} schedules ≤ 1.5× with ${fmtInt(cron.sizes[0])} (CPU)`,
      `${fmtRatio(bigCron.cpuVsSmallest)} (wall: ${fmtRatio(bigCron.wallVsSmallest)})`,
      ok(bigCron.cpuVsSmallest, (x) => x <= 1.5),
    ),
  ];
  return { params, cron, earlyToleranceMs: EARLY_MS, reps, summary, goals, samples };
}

childEntry(import.meta.url, (params) => (params.kind === 'cron' ? measureCron(params) : measure(params)));
