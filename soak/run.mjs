// The soak suite: `npm run soak` runs every scenario, `npm run soak -- churn
// pool` the ones named. Each scenario is a child process that works in
// rounds and samples RSS and heap after a full collection after each round;
// it fails when either grew by more than 5% from the second sample (after
// warm-up) to the last. Not part of `npm test`: it takes minutes.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIMIT, growth } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCENARIOS = ['churn', 'intervals', 'pool', 'managers', 'store', 'threads', 'postgres'];
/**
 * Node flags of a scenario's child. Besides `gc()`, they keep V8's own
 * variations out of the figures (see lib.mjs): GC helper threads allocate
 * from malloc arenas whose resident size wanders by ±10 MB, and the young
 * generation, started small, doubles once the scenario allocates enough
 * (+16 MB of RSS at a moment of its choosing) — it starts at its full size.
 */
const NODE_FLAGS = ['--expose-gc', '--single-threaded-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
/**
 * The environment of a scenario's child beyond this process's. The threads
 * scenario starts about 250 threads; glibc gives threads allocation arenas
 * of their own whose fragmentation creeps (+5% of RSS over 400 pools, flat
 * with one arena): one arena keeps the figure about this package's memory.
 * So does the postgres scenario, whose producers each start (and end) the
 * threads of a store's runtime: +14% of RSS over 14 producers with
 * per-thread arenas, flat with one.
 */
const CHILD_ENV = { threads: { MALLOC_ARENA_MAX: '1' }, postgres: { MALLOC_ARENA_MAX: '1' } };
/** A scenario that runs longer than this is killed and fails. */
const TIMEOUT_MS = 5 * 60_000;

const names = process.argv.slice(2);
const unknown = names.filter((n) => !SCENARIOS.includes(n));
if (unknown.length > 0) {
  console.error(`usage: npm run soak -- [${SCENARIOS.join('|')} …]\nunknown scenario: ${unknown.join(', ')}`);
  process.exit(2);
}

function runChild(name) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, join(HERE, `${name}.mjs`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...CHILD_ENV[name] },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop();
      let result = null;
      try {
        result = JSON.parse(line);
      } catch {
        // reported below
      }
      resolve({ name, code, signal, result, stderr });
    });
  });
}

const mb = (x) => x.toFixed(1);
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

const started = performance.now();
const rows = [];
let failed = false;
for (const name of names.length > 0 ? names : SCENARIOS) {
  process.stdout.write(`${name} … `);
  const { code, signal, result, stderr } = await runChild(name);
  if (code !== 0 || !result) {
    failed = true;
    console.log(`FAILED (exit ${signal || code})`);
    if (stderr) console.log(stderr.trim().split('\n').slice(-15).join('\n'));
    rows.push([name, '—', '—', '—', '—', '—', '—', 'FAIL (crashed)']);
    continue;
  }
  const { samples, seconds, work, extra } = result;
  const rss = growth(samples, 'rss');
  const heap = growth(samples, 'heap');
  const ok = rss <= LIMIT && heap <= LIMIT;
  if (!ok) failed = true;
  console.log(`${seconds.toFixed(0)} s`);
  console.log(`  ${work}`);
  console.log(`  RSS MB  ${samples.map((s) => mb(s.rss)).join(' ')}`);
  console.log(`  heap MB ${samples.map((s) => mb(s.heap)).join(' ')}`);
  const notes = Object.entries(extra || {}).map(([k, v]) => `${k} ${v}`).join(', ');
  if (notes) console.log(`  ${notes}`);
  const last = samples[samples.length - 1];
  rows.push([name, `${samples.length}`, `${mb(samples[1].rss)} → ${mb(last.rss)}`, pct(rss), `${mb(samples[1].heap)} → ${mb(last.heap)}`, pct(heap), `${seconds.toFixed(0)}`, ok ? 'PASS' : 'FAIL']);
}

const header = ['scenario', 'samples', 'RSS MB (2nd → last)', 'RSS', 'heap MB (2nd → last)', 'heap', 's', `growth ≤ ${LIMIT * 100}%`];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`\n${line(header)}\n${widths.map((w) => '─'.repeat(w)).join('──')}`);
for (const r of rows) console.log(line(r));
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = failed ? 1 : 0;
