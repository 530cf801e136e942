// Shared helpers of the benchmark suite: statistics, child processes,
// tables, goals and the JSON results.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, 'results');

const RESULT_MARK = '@@bench-result ';

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

export function median(values) {
  const xs = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** The p-th percentile (0..100) of a sorted typed array or array, nearest rank. */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

// ---------------------------------------------------------------------------
// Child processes: one measurement each, in a fresh `node --expose-gc`
// ---------------------------------------------------------------------------

/**
 * Runs `node --expose-gc <script> --child <json params>` and resolves with
 * the object the child reported through `reportResult`, or `{ error }` when
 * it crashed, timed out, or did not exit by itself after reporting.
 */
export function runChild(script, params, { timeoutMs = 300_000, exitGraceMs = 10_000, addon } = {}) {
  return new Promise((resolve) => {
    // `addon`: another build of the native binding, loaded instead of lib/'s.
    const env = addon === undefined ? process.env : { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: addon };
    const child = spawn(process.execPath, ['--expose-gc', script, '--child', JSON.stringify(params)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let result;
    let problem;
    let exitTimer;
    const killTimer = setTimeout(() => {
      problem = `no result after ${timeoutMs / 1000} s (killed)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (result === undefined) {
        const at = stdout.indexOf(RESULT_MARK);
        const end = at >= 0 ? stdout.indexOf('\n', at) : -1;
        if (end >= 0) {
          result = JSON.parse(stdout.slice(at + RESULT_MARK.length, end));
          clearTimeout(killTimer);
          // The child must now exit by itself (every manager stopped).
          exitTimer = setTimeout(() => {
            problem = `did not exit by itself within ${exitGraceMs / 1000} s after reporting (killed)`;
            child.kill('SIGKILL');
          }, exitGraceMs);
        }
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      clearTimeout(exitTimer);
      const stderrTail = stderr.trim().split('\n').slice(-3).join(' | ');
      if (result === undefined) {
        resolve({
          error: problem || `exited with ${signal || `code ${code}`} before reporting${stderrTail ? `: ${stderrTail}` : ''}`,
        });
        return;
      }
      const out = { ...result };
      if (problem) out.exitProblem = problem;
      else if (code !== 0) out.exitProblem = `exit code ${code} after reporting`;
      if (stderr.trim()) out.stderr = stderrTail.slice(0, 300);
      resolve(out);
    });
  });
}

/** In a child: hands the measurement to the parent. */
export function reportResult(result) {
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`);
}

/**
 * Makes a scenario module runnable as a child: `node <module> --child <json>`
 * calls `measure(params)` and reports what it returns.
 */
export function childEntry(moduleUrl, measure) {
  if (process.argv[2] !== '--child' || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const params = JSON.parse(process.argv[3]);
  Promise.resolve()
    .then(() => measure(params))
    .then(reportResult, (error) => {
      process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
      process.exitCode = 1;
    });
}

/** A full collection, twice (finalizers of the first free more for the second). */
export function collect() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
}

// ---------------------------------------------------------------------------
// Interleaved repetitions
// ---------------------------------------------------------------------------

/** Another build of the native binding to compare with (`--base=<file>.node`). */
let baseAddon;

export function setBaseAddon(file) {
  baseAddon = file;
}

/**
 * Runs every case once per repetition (rep 1 of every case, then rep 2 …),
 * each in a fresh child. Returns `{ [case.key]: [result per rep] }`.
 *
 * With a base build set (`--base`), every case also runs on it next to
 * each of its repetitions (after it in odd repetitions, before it in even
 * ones), and a table of every figure on this build ÷ on the base is
 * printed; the scenario's own table shows this build.
 */
export async function interleave(label, script, cases, reps, options) {
  const samples = Object.fromEntries(cases.map((c) => [c.key, []]));
  const base = Object.fromEntries(cases.map((c) => [c.key, []]));
  for (let r = 1; r <= reps; r++) {
    const t0 = performance.now();
    for (const c of cases) {
      // With a base: this build first in odd repetitions, the base first in
      // even ones, so neither always gets the quieter turn.
      if (baseAddon !== undefined && r % 2 === 0) base[c.key].push(await runChild(script, c.params, { ...options, addon: baseAddon }));
      samples[c.key].push(await runChild(script, c.params, options));
      if (baseAddon !== undefined && r % 2 === 1) base[c.key].push(await runChild(script, c.params, { ...options, addon: baseAddon }));
    }
    progress(`${label}: repetition ${r}/${reps} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (baseAddon !== undefined) printComparison(label, cases, samples, base);
  return samples;
}

/** The medians of every numeric figure of every case, this build and the base. */
function printComparison(label, cases, samples, base) {
  const rows = [];
  for (const c of cases) {
    const results = [...samples[c.key], ...base[c.key]].filter((r) => !r.error);
    const names = [...new Set(results.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] === 'number')))];
    for (const name of names) {
      const now = median(field(samples[c.key], name));
      const then = median(field(base[c.key], name));
      if (Number.isNaN(now) && Number.isNaN(then)) continue;
      rows.push([c.key, name, fmt(then, 3), fmt(now, 3), then === 0 && now === 0 ? '1.00×' : fmtRatio(now / then)]);
    }
    const failed = [...problems(`${c.key} (this build)`, samples[c.key]), ...problems(`${c.key} (base)`, base[c.key])];
    for (const f of failed) rows.push([c.key, f, '', '', '']);
  }
  printTable(
    `${label}: this build against ${baseAddon} (medians; each child of the base runs next to the same child of this build, in turn before and after it)`,
    [{ title: 'case', align: 'left' }, { title: 'figure', align: 'left' }, { title: 'base' }, { title: 'this build' }, { title: 'this ÷ base' }],
    rows,
    ['contenders that do not use synchronik (the references) show how much the machine drifted between the two runs'],
  );
}

export function progress(line) {
  process.stderr.write(`  · ${line}\n`);
}

/** The values of `field` over the successful repetitions. */
export function field(results, name) {
  return results.filter((r) => !r.error).map((r) => r[name]);
}

/** Problems the repetitions of one case ran into, for the notes under a table. */
export function problems(label, results) {
  const notes = [];
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) notes.push(`${label}: ${failed.length}/${results.length} repetitions failed — ${failed[0].error}`);
  const unclean = results.filter((r) => !r.error && r.exitProblem);
  if (unclean.length > 0) notes.push(`${label}: ${unclean[0].exitProblem}`);
  const noisy = results.filter((r) => !r.error && r.stderr);
  if (noisy.length > 0) notes.push(`${label} wrote to stderr: ${noisy[0].stderr}`);
  return notes;
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

export function fmt(x, digits = 2) {
  if (typeof x !== 'number' || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const fmtInt = (x) => fmt(x, 0);
export const fmtRatio = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${fmt(x, 2)}×` : '—');

/** Prints a table: `columns` are `{ title, align? }`, rows are arrays of strings. */
export function printTable(title, columns, rows, notes = []) {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => String(r[i]).length)));
  const cell = (text, i) => {
    const s = String(text);
    return columns[i].align === 'left' ? s.padEnd(widths[i]) : s.padStart(widths[i]);
  };
  const rule = widths.map((w) => '─'.repeat(w)).join('──');
  console.log(`\n${title}`);
  console.log(rule);
  console.log(columns.map((c, i) => cell(c.title, i)).join('  '));
  console.log(rule);
  for (const r of rows) console.log(r.map(cell).join('  '));
  console.log(rule);
  for (const n of notes) console.log(`  note: ${n}`);
}

/**
 * A goal line: `ok` true → PASS, false → MISS, undefined → n/a (a
 * contender failed). Goals never fail the process.
 */
export function goal(text, measured, ok) {
  const verdict = ok === undefined ? 'n/a ' : ok ? 'PASS' : 'MISS';
  console.log(`  [${verdict}] ${text}: ${measured}`);
  return { goal: text, measured, verdict: verdict.trim() };
}

// ---------------------------------------------------------------------------
// Environment and results
// ---------------------------------------------------------------------------

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

export function environment() {
  const cpus = os.cpus();
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus.length > 0 ? cpus[0].model.trim() : '?',
    cores: os.availableParallelism ? os.availableParallelism() : cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    versions: {
      synchronik: own.version,
      fastq: version('fastq'),
      async: version('async'),
      'p-queue': version('p-queue'),
      'toad-scheduler': version('toad-scheduler'),
      piscina: version('piscina'),
      tinypool: version('tinypool'),
      workerpool: version('workerpool'),
    },
  };
}

export function writeResults(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
