'use strict';

// Metrics (SPEC §13): `manager.metrics()` and the dashboard's GET /metrics,
// read with a Prometheus text-format parser. The families and their types;
// counts that match what ran (runs by kind and outcome, retries, units by
// status, pool tasks, durations, schedule lag, blocked event loop); the
// `unit` label only with `metrics: { unitLabels: true }`; task names never
// labels; managers that never share numbers.

const parsePrometheus = require('parse-prometheus-text-format');
const { createSynchronikManager } = require('..');
const { errorOf, nextEvent, sleep } = require('./helpers');
const { request } = require('./dashboard-helpers');

const STATUSES = ['idle', 'running', 'paused', 'completed', 'error'];
const SECRET_TASK = 'secret-task-name-4711';

/** Blocks this thread for `ms` of real time. */
function block(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The families of a metrics text by name. */
function families(text) {
  return Object.fromEntries(parsePrometheus(text).map((f) => [f.name, f]));
}

/** The value of the sample of `family` whose labels are exactly `labels`, as a number (undefined when none). */
function value(text, family, labels = {}) {
  const f = families(text)[family];
  const sample = f && f.metrics.find((s) => sameLabels(s.labels || {}, labels));
  return sample === undefined ? undefined : Number(sample.value);
}

function sameLabels(a, b) {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * One series of a histogram: `{ buckets: [[le, count]…], count, sum }`.
 * The parser flattens labelled histograms into one, so the series' lines
 * are picked out (by `label="value"`) and parsed without that label.
 */
function histogram(text, family, label) {
  const lines = text.split('\n').filter((line) => line.startsWith(`${family}_`) && (label === undefined || line.includes(label)));
  const unlabelled = lines.map((line) => (label === undefined ? line : line.replace(`${label},`, '').replace(`{${label}}`, '')));
  const parsed = parsePrometheus(`# TYPE ${family} histogram\n${unlabelled.join('\n')}\n`);
  expect(parsed).toHaveLength(1);
  const [series] = parsed[0].metrics;
  const buckets = Object.entries(series.buckets)
    .map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), Number(n)])
    .sort((x, y) => x[0] - y[0]);
  return { buckets, count: Number(series.count), sum: Number(series.sum) };
}

/** Checks what makes a histogram consistent: cumulative buckets ending at +Inf with the count. */
function expectConsistent(h) {
  expect(h.buckets.length).toBeGreaterThan(1);
  for (let i = 1; i < h.buckets.length; i++) expect(h.buckets[i][1]).toBeGreaterThanOrEqual(h.buckets[i - 1][1]);
  expect(h.buckets[h.buckets.length - 1]).toEqual([Infinity, h.count]);
  expect(h.sum).toBeGreaterThanOrEqual(0);
}

/** Every label name used by the samples of a metrics text. */
function labelNames(text) {
  const names = new Set();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes('{')) continue;
    for (const m of line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')).matchAll(/(\w+)="/g)) names.add(m[1]);
  }
  return names;
}

const managers = [];
function manager(options) {
  const m = createSynchronikManager(options);
  managers.push(m);
  return m;
}
afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
});

/** A manager that ran: `ok` 3 times, `slow` once (30 ms), `bad` once (failed after 2 retries), the process `etl` once. */
async function ranManager(options) {
  const m = manager(options);
  m.registerUnit({ id: 'ok', run: () => 'ok' });
  m.registerUnit({ id: 'slow', run: () => sleep(30) });
  m.registerUnit({
    id: 'bad',
    run: () => {
      throw new Error('boom');
    },
    maxRetries: 2,
    retryDelayMs: 0,
  });
  m.registerUnit({
    id: 'etl',
    runMode: 'sequential',
    workers: [
      { id: 'extract', run: () => 1 },
      { id: 'load', run: () => 2 },
    ],
  });
  for (let i = 0; i < 3; i++) await m.runWorkerById('ok');
  await m.runWorkerById('slow');
  await m.runWorkerById('bad');
  await m.runProcessById('etl');
  return m;
}

let plain;
let labelled;
beforeAll(async () => {
  plain = await ranManager();
  labelled = await ranManager({ metrics: { unitLabels: true } });
});

describe('the families', () => {
  test('each is there, with its type and help', () => {
    const f = families(plain.metrics());
    const expected = {
      synchronik_runs_total: 'COUNTER',
      synchronik_run_duration_seconds: 'HISTOGRAM',
      synchronik_retries_total: 'COUNTER',
      synchronik_units: 'GAUGE',
      synchronik_pool_tasks: 'GAUGE',
      synchronik_pool_tasks_finished_total: 'COUNTER',
      synchronik_schedule_lag_seconds: 'HISTOGRAM',
      synchronik_event_loop_blocked_seconds_total: 'COUNTER',
      synchronik_store_pending_writes: 'GAUGE',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect({ name, type: f[name] && f[name].type }).toEqual({ name, type });
      expect(f[name].help).not.toBe('');
    }
  });

  test('GET /metrics answers the same text as metrics()', async () => {
    const server = await plain.serveDashboard();
    try {
      const res = await request(server, '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      // The blocked time may grow between the two readings: compared apart.
      const withoutBlocked = (text) => text.replace(/^synchronik_event_loop_blocked_seconds_total .*$/m, '');
      expect(withoutBlocked(res.body)).toBe(withoutBlocked(plain.metrics()));
    } finally {
      await server.close();
    }
  });
});

describe('counts match what ran', () => {
  test('synchronik_runs_total by kind and outcome; a run with retries is one run', () => {
    const text = plain.metrics();
    // ok ×3, slow, extract, load
    expect(value(text, 'synchronik_runs_total', { kind: 'worker', outcome: 'completed' })).toBe(6);
    expect(value(text, 'synchronik_runs_total', { kind: 'worker', outcome: 'failed' })).toBe(1);
    expect(value(text, 'synchronik_runs_total', { kind: 'worker', outcome: 'ended' })).toBe(0);
    expect(value(text, 'synchronik_runs_total', { kind: 'process', outcome: 'completed' })).toBe(1);
    expect(value(text, 'synchronik_runs_total', { kind: 'process', outcome: 'failed' })).toBe(0);
  });

  test('synchronik_retries_total', () => {
    expect(value(plain.metrics(), 'synchronik_retries_total')).toBe(2);
  });

  test('synchronik_units by status agrees with the manager', () => {
    const text = plain.metrics();
    const units = plain.listUnits();
    for (const status of STATUSES) {
      expect({ status, n: value(text, 'synchronik_units', { status }) }).toEqual({ status, n: units.filter((u) => u.status === status).length });
    }
    expect(value(text, 'synchronik_units', { status: 'error' })).toBe(1);
  });

  test('synchronik_run_duration_seconds: cumulative buckets, one observation per run, durations in seconds', () => {
    const text = plain.metrics();
    const workers = histogram(text, 'synchronik_run_duration_seconds', 'kind="worker"');
    expectConsistent(workers);
    expect(workers.count).toBe(7);
    // `slow` took 30 ms or more: not within 25 ms.
    const within = (h, le) => h.buckets.find(([b]) => b === le)[1];
    expect(within(workers, 0.025)).toBeLessThanOrEqual(6);
    expect(workers.sum).toBeGreaterThanOrEqual(0.03);
    expect(workers.sum).toBeLessThan(10);
    const processes = histogram(text, 'synchronik_run_duration_seconds', 'kind="process"');
    expectConsistent(processes);
    expect(processes.count).toBe(1);
  });

  test('synchronik_pool_tasks by pool and status (now), synchronik_pool_tasks_finished_total by pool and outcome', async () => {
    const m = manager();
    m.on('task', () => {}); // a failed task and dropped ones are expected: not printed
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    pool.start();
    const runs = [pool.run(() => 1), pool.run(() => 2), pool.run(() => 3), pool.run(() => Promise.reject(new Error('no')))];
    await Promise.allSettled(runs);
    pool.stop();
    pool.addTask({ name: 'queued-1', execute: () => 1 });
    pool.addTask({ name: 'queued-2', execute: () => 2 });
    pool.addTask({ name: 'dropped', execute: () => 3 });
    pool.cancelTask('dropped');
    pool.addTask({ name: 'later', execute: () => 4, delayMs: 60_000 });
    const text = m.metrics();
    const n = (status) => value(text, 'synchronik_pool_tasks', { pool: 'jobs', status });
    const ended = (outcome) => value(text, 'synchronik_pool_tasks_finished_total', { pool: 'jobs', outcome });
    expect(ended('completed')).toBe(3);
    expect(ended('error')).toBe(1);
    expect(ended('cancelled')).toBe(1);
    expect(n('running')).toBe(0);
    // Waiting tasks: the queued status of a task is `idle`; one waiting
    // for its time is `scheduled`.
    expect(n('idle')).toBe(2);
    expect(n('scheduled')).toBe(1);
    // The gauge holds what is there now only: its sum is the tasks present.
    for (const status of ['completed', 'error', 'cancelled']) expect(n(status)).toBeUndefined();
    const now = families(text).synchronik_pool_tasks.metrics.filter((s) => s.labels.pool === 'jobs');
    expect(now.map((s) => s.labels.status).sort()).toEqual(['idle', 'paused', 'running', 'scheduled', 'waiting-handler']);
    expect(now.reduce((sum, s) => sum + Number(s.value), 0)).toBe(3);
  });

  test('synchronik_schedule_lag_seconds counts interval fires (on a manual clock they are never late)', async () => {
    const m = manager({ clock: 'manual' });
    m.registerUnit({ id: 'tick', run: () => 1, intervalMs: 100, runOnInterval: true });
    m.start();
    await m.clock.advance(1000);
    const h = histogram(m.metrics(), 'synchronik_schedule_lag_seconds');
    expectConsistent(h);
    expect(h.count).toBe(m.getUnitById('tick').meta.runCount);
    expect(h.count).toBeGreaterThanOrEqual(9);
    expect(h.buckets[0][1]).toBe(h.count);
    await m.stop();
  });

  test('synchronik_event_loop_blocked_seconds_total grows while JavaScript is blocked (manager started)', async () => {
    const m = manager();
    m.start();
    const before = value(m.metrics(), 'synchronik_event_loop_blocked_seconds_total');
    await sleep(40);
    block(150);
    await sleep(40);
    const after = value(m.metrics(), 'synchronik_event_loop_blocked_seconds_total');
    expect(after - before).toBeGreaterThan(0.1);
    expect(after - before).toBeLessThan(60);
    await m.stop();
    // It never goes back.
    expect(value(m.metrics(), 'synchronik_event_loop_blocked_seconds_total')).toBeGreaterThanOrEqual(after);
  });

  test('synchronik_store_pending_writes is 0 without a store', () => {
    expect(value(plain.metrics(), 'synchronik_store_pending_writes')).toBe(0);
  });
});

describe('labels', () => {
  test('no `unit` label without unitLabels', () => {
    const names = labelNames(plain.metrics());
    expect(names.has('unit')).toBe(false);
    expect([...names].sort()).toEqual(expect.arrayContaining(['kind', 'outcome', 'status', 'le']));
  });

  test('with unitLabels: runs by unit, kind and outcome', () => {
    const text = labelled.metrics();
    expect(labelNames(text).has('unit')).toBe(true);
    const n = (unit, kind, outcome) => value(text, 'synchronik_runs_total', { unit, kind, outcome });
    expect(n('ok', 'worker', 'completed')).toBe(3);
    expect(n('slow', 'worker', 'completed')).toBe(1);
    expect(n('bad', 'worker', 'failed')).toBe(1);
    expect(n('bad', 'worker', 'completed')).toBe(0);
    expect(n('extract', 'worker', 'completed')).toBe(1);
    expect(n('etl', 'process', 'completed')).toBe(1);
    // The same totals as without labels.
    const all = families(text).synchronik_runs_total.metrics.reduce((sum, s) => sum + Number(s.value), 0);
    expect(all).toBe(8);
  });

  test('a pool task’s name or id is never a label, with or without unitLabels', async () => {
    for (const options of [undefined, { metrics: { unitLabels: true } }]) {
      const m = manager(options);
      const pool = m.useWorkerPool(1);
      const done = nextEvent(m, 'task', (e) => e.name === SECRET_TASK && e.status === 'completed');
      pool.addTask({ name: SECRET_TASK, execute: () => 1 });
      pool.start();
      await done;
      const text = m.metrics();
      expect(text).not.toContain(SECRET_TASK);
      expect(labelNames(text).has('task')).toBe(false);
      expect(labelNames(text).has('name')).toBe(false);
    }
  });
});

test('two managers never share counts', async () => {
  const a = manager();
  const b = manager();
  a.registerUnit({ id: 'w', run: () => 1 });
  b.registerUnit({ id: 'w', run: () => 1 });
  for (let i = 0; i < 4; i++) await a.runWorkerById('w');
  await b.runWorkerById('w');
  expect(value(a.metrics(), 'synchronik_runs_total', { kind: 'worker', outcome: 'completed' })).toBe(4);
  expect(value(b.metrics(), 'synchronik_runs_total', { kind: 'worker', outcome: 'completed' })).toBe(1);
  expect(histogram(a.metrics(), 'synchronik_run_duration_seconds', 'kind="worker"').count).toBe(4);
  expect(histogram(b.metrics(), 'synchronik_run_duration_seconds', 'kind="worker"').count).toBe(1);
});

describe('the metrics option', () => {
  test.each([
    [1, 'createSynchronikManager: options.metrics must be an object like { unitLabels: true } (got number)'],
    [{ unitLabels: 'yes' }, 'createSynchronikManager: options.metrics.unitLabels must be a boolean (got string)'],
    [{ unitLabel: true }, 'createSynchronikManager: options.metrics.unitLabel is not an option; did you mean "unitLabels"?'],
    [{ taskLabels: true }, 'createSynchronikManager: options.metrics.taskLabels is not an option (the options are unitLabels)'],
  ])('%j → TypeError', async (metrics, message) => {
    expect(await errorOf(() => createSynchronikManager({ metrics }))).toEqual(new TypeError(message));
  });

  test('{} and { unitLabels: false } are the default', () => {
    for (const metrics of [{}, { unitLabels: false }]) expect(labelNames(manager({ metrics }).metrics()).has('unit')).toBe(false);
  });
});
