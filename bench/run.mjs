// The benchmark suite: `npm run bench` runs every scenario; `npm run bench --
// dispatch timers` runs the ones named. `--quick` runs a tenth of the work
// with 2 repetitions (a smoke test: its figures are not meaningful).
// `--reps=N` overrides every scenario's repetition count. `--base=<file>.node`
// also runs every measurement on another build of the native binding (say,
// main's) right after this build's, and prints every figure on both.
//
// Every figure is a ratio between contenders measured side by side in this
// run; each measurement is a fresh child process. See bench/README.md.

import { relative } from 'node:path';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT, environment, setBaseAddon, writeResults } from './lib/common.mjs';
import * as dispatch from './dispatch.mjs';
import * as manual from './manual.mjs';
import * as timers from './timers.mjs';
import * as memory from './memory.mjs';
import * as events from './events.mjs';
import * as growth from './growth.mjs';
import * as durable from './durable.mjs';
import * as dashboard from './dashboard.mjs';
import * as threads from './threads.mjs';
import * as postgres from './postgres.mjs';

const SCENARIOS = [dispatch, manual, timers, memory, events, growth, durable, dashboard, threads, postgres];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const repsArg = args.find((a) => a.startsWith('--reps='));
const repsOverride = repsArg ? Number(repsArg.slice('--reps='.length)) : undefined;
const baseArg = args.find((a) => a.startsWith('--base='));
const base = baseArg ? resolve(baseArg.slice('--base='.length)) : undefined;
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
const badBase = base !== undefined && !existsSync(base);
if (unknown.length > 0 || badBase || (repsOverride !== undefined && !(Number.isInteger(repsOverride) && repsOverride >= 1))) {
  console.error(
    `usage: npm run bench -- [${SCENARIOS.map((s) => s.name).join('|')} …] [--reps=N] [--quick] [--base=<file>.node]` +
      (unknown.length > 0 ? `\nunknown scenario: ${unknown.join(', ')}` : '') +
      (badBase ? `\nno such file: ${base}` : ''),
  );
  process.exitCode = 2;
} else {
  await main(names.length > 0 ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS);
}

async function main(selected) {
  if (base !== undefined) setBaseAddon(base);
  const env = environment();
  console.log('synchronik benchmark suite');
  console.log(`node ${env.node} (V8 ${env.v8}) · ${env.platform}`);
  console.log(`CPU: ${env.cpuModel} · ${env.cores} cores · ${env.memoryGB} GB RAM`);
  console.log(`versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
  console.log(`scenarios: ${selected.map((s) => s.name).join(', ')}${quick ? ' (quick smoke test: figures not meaningful)' : ''}`);
  if (base !== undefined) console.log(`compared with: ${base}`);
  const started = performance.now();
  for (const scenario of selected) {
    const t0 = performance.now();
    const options = { scale: quick ? 0.1 : 1 };
    if (repsOverride !== undefined) options.reps = repsOverride;
    else if (quick) options.reps = 2;
    const result = await scenario.run(options);
    const seconds = (performance.now() - t0) / 1000;
    const file = writeResults(scenario.name, { scenario: scenario.name, title: scenario.title, quick, seconds, environment: env, ...result });
    console.log(`  (${seconds.toFixed(0)} s · ${relative(ROOT, file)})`);
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
