// Showcase: projectile motion, orchestrated by synchronik.
//
// Part 1 — a physics lecture as a sequential process of seven workers. Each
//          step computes one quantity and announces it with a milestone; an
//          onMilestone handler prints the lecture as it unfolds and the last
//          step writes the notes to projectile_motion_lecture.txt.
// Part 2 — the same physics over a sweep of launch angles, one worker per
//          angle, each waiting for a (simulated) instrument reading. The sweep
//          runs three times: sequential, parallel and batched.
//
//   npm run demo

import { writeFileSync } from 'node:fs';
import {
  createSynchronikManager,
  type CompleteEvent,
  type RunContext,
  type RunMode,
  type SynchronikWorker,
} from 'synchronik';

const LECTURE_FILE = 'projectile_motion_lecture.txt';
const V0 = 50; // m/s
const ANGLE = 30; // degrees
const G = 9.81; // m/s²

const manager = createSynchronikManager();
const rule = (char = '─', width = 78) => char.repeat(width);
const toRad = (deg: number) => (deg * Math.PI) / 180;

// ===========================================================================
// Part 1 — the lecture
// ===========================================================================

/** What the steps compute, filled in one step at a time. */
interface Lecture {
  initialVelocity?: number;
  launchAngleDegrees?: number;
  gravity?: number;
  angleRad?: number;
  vx?: number;
  vy?: number;
  timeToPeak?: number;
  maxHeight?: number;
  totalTime?: number;
  range?: number;
}

const data: Lecture = {};
const lectureLines: string[] = [];

/** Prints a lecture line and keeps it for the notes file. */
function say(line: string): void {
  lectureLines.push(line);
  console.log(line);
}

/** A value an earlier step must have produced. */
function need(value: number | undefined, what: string): number {
  if (value === undefined) throw new Error(`Missing ${what}: run the earlier steps first`);
  return value;
}

/** One lecture step: a worker that prints its heading, does its part and returns it. */
function step(n: number, id: string, name: string, heading: string, work: (ctx: RunContext) => unknown): SynchronikWorker {
  return {
    id,
    name,
    enabled: true,
    status: 'idle',
    run: async (ctx) => {
      say(`Step ${n}: ${heading}`);
      return work(ctx);
    },
  };
}

const lectureSteps: SynchronikWorker[] = [
  step(1, 'initial-conditions-setup', 'Initial Conditions Setup', 'Setting Initial Conditions', (ctx) => {
    data.initialVelocity = V0;
    data.launchAngleDegrees = ANGLE;
    data.gravity = G;
    data.angleRad = toRad(ANGLE);
    say(`        v₀ = ${V0} m/s, θ = ${ANGLE}°, g = ${G} m/s²`);
    ctx.emitMilestone('lecture:Initial Conditions Set', {
      initialVelocity: V0,
      launchAngle: `${ANGLE}°`,
      gravity: `${G} m/s²`,
    });
  }),
  step(2, 'calculate-velocity-components', 'Calculate Velocity Components', 'Calculating Initial Velocity Components', (ctx) => {
    const v0 = need(data.initialVelocity, 'initial velocity');
    const rad = need(data.angleRad, 'launch angle');
    data.vx = v0 * Math.cos(rad);
    data.vy = v0 * Math.sin(rad);
    say('        Vx = v₀·cos θ,  Vy = v₀·sin θ');
    ctx.emitMilestone('lecture:Velocity Components', { Vx: `${data.vx.toFixed(2)} m/s`, Vy: `${data.vy.toFixed(2)} m/s` });
    return { vx: data.vx, vy: data.vy };
  }),
  step(3, 'calculate-time-to-peak', 'Calculate Time to Peak', 'Calculating Time to Peak Height', (ctx) => {
    const vy = need(data.vy, 'vertical velocity');
    const g = need(data.gravity, 'gravity');
    data.timeToPeak = vy / g;
    say('        at the peak the vertical velocity is zero:  t = Vy / g');
    ctx.emitMilestone('lecture:Time to Peak', { time: `${data.timeToPeak.toFixed(2)} s` });
    return data.timeToPeak;
  }),
  step(4, 'calculate-max-height', 'Calculate Maximum Height', 'Calculating Maximum Height', (ctx) => {
    const vy = need(data.vy, 'vertical velocity');
    const t = need(data.timeToPeak, 'time to peak');
    const g = need(data.gravity, 'gravity');
    data.maxHeight = vy * t - 0.5 * g * t * t;
    say('        H = Vy·t − ½·g·t²');
    ctx.emitMilestone('lecture:Maximum Height', { height: `${data.maxHeight.toFixed(2)} m` });
    return data.maxHeight;
  }),
  step(5, 'calculate-total-time-of-flight', 'Calculate Total Time of Flight', 'Calculating Total Time of Flight', (ctx) => {
    const t = need(data.timeToPeak, 'time to peak');
    data.totalTime = 2 * t;
    say('        the way down mirrors the way up:  T = 2·t');
    ctx.emitMilestone('lecture:Total Time of Flight', { time: `${data.totalTime.toFixed(2)} s` });
    return data.totalTime;
  }),
  step(6, 'calculate-horizontal-range', 'Calculate Horizontal Range', 'Calculating Horizontal Range', (ctx) => {
    const vx = need(data.vx, 'horizontal velocity');
    const T = need(data.totalTime, 'time of flight');
    data.range = vx * T;
    say('        no horizontal force, so Vx is constant:  R = Vx·T');
    ctx.emitMilestone('lecture:Horizontal Range', { range: `${data.range.toFixed(2)} m` });
    return data.range;
  }),
  step(7, 'generate-lecture-notes', 'Generate Lecture Notes File', 'Generating Lecture Notes File', (ctx) => {
    const range = need(data.range, 'range');
    const height = need(data.maxHeight, 'maximum height');
    const T = need(data.totalTime, 'time of flight');
    const notes = [
      ...lectureLines,
      '',
      '--- Summary ---',
      `The projectile reaches ${height.toFixed(2)} m and lands ${range.toFixed(2)} m away after ${T.toFixed(2)} s.`,
      '',
      '--- Execution Stats ---',
      'Run Mode: sequential',
      `Total Duration: ${(performance.now() - lectureStart).toFixed(0)}ms`,
    ].join('\n');
    writeFileSync(LECTURE_FILE, notes + '\n');
    say(`        Lecture notes written to ${LECTURE_FILE}`);
    ctx.emitMilestone('lecture:Notes File Generated', { filename: LECTURE_FILE });
    return LECTURE_FILE;
  }),
];

let lectureStart = 0;

async function partOne(): Promise<void> {
  console.log(rule('═'));
  say('--- Synchronik Physics Lecture: Projectile Motion ---');
  say('Scenario: A projectile is launched from the ground.');
  console.log('Part 1 — one sequential process of seven workers; each step reports through a milestone.');
  console.log(rule('═'));

  // The lecture unfolds through milestones: each step announces its result.
  const offLecture = manager.onMilestone((milestoneId, payload) => {
    if (milestoneId.startsWith('lecture:')) say(`🎯 ${milestoneId.slice('lecture:'.length)}: ${JSON.stringify(payload)}`);
  });

  manager.registerUnit({
    id: 'projectile-motion-analysis',
    name: 'Projectile Motion Analysis',
    enabled: true,
    status: 'idle',
    runMode: 'sequential',
    workers: lectureSteps,
  });

  say('');
  say('--- Starting Projectile Motion Analysis ---');
  lectureStart = performance.now();
  await manager.runProcessById('projectile-motion-analysis');
  const elapsed = performance.now() - lectureStart;
  say('--- Projectile Motion Analysis Complete ---');
  offLecture();

  // A cross-check with the closed-form range formula R = v₀²·sin 2θ / g.
  const closedForm = (V0 * V0 * Math.sin(2 * toRad(ANGLE))) / G;
  console.log(
    `\n  Check: v₀²·sin 2θ / g = ${closedForm.toFixed(2)} m ${Math.abs(closedForm - need(data.range, 'range')) < 1e-9 ? '✓ matches' : '✗ differs from'} the step-by-step range.`,
  );
  const completed = lectureSteps.filter((w) => w.status === 'completed').length;
  console.log(`  ${completed}/${lectureSteps.length} steps completed in ${elapsed.toFixed(1)} ms; notes in ./${LECTURE_FILE}`);
}

// ===========================================================================
// Part 2 — a sweep of launch angles
// ===========================================================================

interface Trajectory {
  angle: number;
  range: number;
  maxHeight: number;
  flightTime: number;
}

const ANGLES = Array.from({ length: 17 }, (_, k) => 5 + 5 * k); // 5°, 10°, …, 85°
const READING_MS = 40;
const BATCH_SIZE = 4;

/** The same physics as the lecture, for one angle. */
function trajectory(angle: number): Trajectory {
  const rad = toRad(angle);
  const vx = V0 * Math.cos(rad);
  const vy = V0 * Math.sin(rad);
  const t = vy / G;
  return { angle, range: vx * 2 * t, maxHeight: vy * t - 0.5 * G * t * t, flightTime: 2 * t };
}

/** A simulated instrument: the launcher reports its angle after a short wait. */
function instrumentReading(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, READING_MS));
}

interface Sweep {
  mode: RunMode;
  label: string;
  how: string;
  results: Map<number, Trajectory>;
  ms: number;
}

const sweeps: Sweep[] = [
  { mode: 'sequential', label: 'sequential', how: `${ANGLES.length} waits, one after another`, results: new Map(), ms: 0 },
  { mode: 'parallel', label: 'parallel', how: `all ${ANGLES.length} waits overlap`, results: new Map(), ms: 0 },
  {
    mode: 'batched',
    label: `batched (${BATCH_SIZE})`,
    how: `${Math.ceil(ANGLES.length / BATCH_SIZE)} rounds of up to ${BATCH_SIZE} overlapping waits`,
    results: new Map(),
    ms: 0,
  },
];

/** Which sweep and angle a worker id belongs to. */
const sweepWorkers = new Map<string, { sweep: Sweep; angle: number }>();

function workersFor(sweep: Sweep): SynchronikWorker[] {
  return ANGLES.map((angle) => {
    const id = `sweep-${sweep.mode}-${String(angle).padStart(2, '0')}deg`;
    sweepWorkers.set(id, { sweep, angle });
    return {
      id,
      name: `${angle}° launch (${sweep.label})`,
      timeoutMs: 5000,
      run: async () => {
        await instrumentReading();
        return trajectory(angle);
      },
    };
  });
}

async function partTwo(): Promise<void> {
  console.log('\n' + rule('═'));
  console.log(`Part 2 — Sweeping the launch angle: ${ANGLES[0]}° to ${ANGLES[ANGLES.length - 1]}° in 5° steps (${ANGLES.length} angles)`);
  console.log(`Each angle is a worker that first waits ${READING_MS} ms for an instrument reading, then computes.`);
  console.log(rule('═'));

  // Results travel through the engine: the `complete` event carries each run's value.
  const onComplete = (event: CompleteEvent) => {
    const hit = sweepWorkers.get(event.unitId);
    if (hit) hit.sweep.results.set(hit.angle, event.result as Trajectory);
  };
  manager.on('complete', onComplete);

  for (const sweep of sweeps) {
    const id = `angle-sweep-${sweep.mode}`;
    manager.registerUnit({ id, runMode: sweep.mode, batchSize: BATCH_SIZE, workers: workersFor(sweep) });
    const started = performance.now();
    await manager.runProcessById(id);
    sweep.ms = performance.now() - started;
    console.log(`  ✓ ${sweep.label.padEnd(12)} ${sweep.results.size}/${ANGLES.length} angles in ${sweep.ms.toFixed(0).padStart(4)} ms`);
  }
  manager.off('complete', onComplete);

  // --- The table -------------------------------------------------------------
  const rows = ANGLES.map((angle) => {
    const row = sweeps[0].results.get(angle);
    if (!row) throw new Error(`no result for ${angle}°`);
    return row;
  });
  const best = rows.reduce((a, b) => (b.range > a.range ? b : a));
  const barWidth = 40;

  console.log('\n  angle │ range (m) │ max height (m) │ flight time (s) │ range');
  console.log('  ──────┼───────────┼────────────────┼─────────────────┼' + '─'.repeat(barWidth + 2));
  for (const r of rows) {
    const bar = '█'.repeat(Math.max(1, Math.round((r.range / best.range) * barWidth)));
    const mark = r === best ? '  ◀ maximum range' : '';
    console.log(
      `  ${`${r.angle}°`.padStart(5)} │ ${r.range.toFixed(2).padStart(9)} │ ${r.maxHeight.toFixed(2).padStart(14)} │ ${r.flightTime
        .toFixed(2)
        .padStart(15)} │ ${bar}${mark}`,
    );
  }

  const at = (angle: number) => rows.find((r) => r.angle === angle) as Trajectory;
  console.log(`\n  ★ The range peaks at ${best.angle}°: ${best.range.toFixed(2)} m (= v₀²/g, since sin 2θ = 1 there).`);
  console.log(
    `  ★ Complementary angles land at the same spot: 30° and 60° both reach ${at(30).range.toFixed(2)} m,` +
      `\n    but the 60° shot flies ${(at(60).flightTime / at(30).flightTime).toFixed(2)}× as long and ${(at(60).maxHeight / at(30).maxHeight).toFixed(0)}× as high.`,
  );

  const agree = sweeps.every((s) =>
    ANGLES.every((angle) => JSON.stringify(s.results.get(angle)) === JSON.stringify(sweeps[0].results.get(angle))),
  );
  console.log(`  ${agree ? '✓' : '✗'} The three runs ${agree ? 'agree on every' : 'DISAGREE on some'} angle.`);
  if (!agree) process.exitCode = 1;

  // --- The timings -------------------------------------------------------------
  const slowest = Math.max(...sweeps.map((s) => s.ms));
  const base = sweeps[0].ms;
  console.log(`\n  Timings (${ANGLES.length} angles × ${READING_MS} ms instrument wait):`);
  for (const s of sweeps) {
    const bar = '█'.repeat(Math.max(1, Math.round((s.ms / slowest) * 30))).padEnd(30);
    const speed = s === sweeps[0] ? 'baseline' : `${(base / s.ms).toFixed(1)}× faster`;
    console.log(`    ${s.label.padEnd(12)} ${bar} ${s.ms.toFixed(0).padStart(4)} ms  ${speed.padEnd(14)} ${s.how}`);
  }

  const mathStart = performance.now();
  for (const angle of ANGLES) trajectory(angle);
  const mathMs = performance.now() - mathStart;

  console.log(`
  Why the modes differ: computing all ${ANGLES.length} trajectories directly takes about ${mathMs.toFixed(3)} ms,
  and JavaScript does that arithmetic on its one thread in every mode. What differs is
  the waiting: each worker spends ${READING_MS} ms on its instrument reading. 'parallel' lets all
  those waits overlap, 'batched' overlaps ${BATCH_SIZE} at a time, 'sequential' sits through each in
  turn. For pure computation with no waits, 'parallel' would not be faster.`);
}

async function main(): Promise<void> {
  await partOne();
  await partTwo();
  console.log('\n' + rule('═'));
  console.log(`Done. The lecture notes are in ./${LECTURE_FILE}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
