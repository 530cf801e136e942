'use strict';

// The web dashboard over real HTTP (SPEC §13, crates/synchronik-web/API.md):
// every path of the API answers its documented shape; the token, Host,
// Origin and read-only rules; the authorize hook; actions reach JavaScript
// as the usual events (on an idle manager and on a manual clock too);
// options are checked; servers close, free their port and never keep Node
// alive.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager, SynchronikError } = require('..');
const { nextEvent, errorOf, runNode, sleep, until } = require('./helpers');
const { request, firstEvent, refused } = require('./dashboard-helpers');

const STATUSES = ['idle', 'running', 'paused', 'completed', 'error'];
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Blocks this thread for `ms` of real time. */
function block(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const num = expect.any(Number);
const str = expect.any(String);
const bool = expect.any(Boolean);
const numOrNull = (v) => v === null || typeof v === 'number';

// The manager most tests read: workers (one on an interval, one that
// failed after a retry, 120 for paging, one with an id that needs
// encoding), a dependency-graph process, and two pools (one holding its
// tasks queued).
let m;
let server;
let heldPool;
const ODD_ID = 'we ird/ü?#%';

beforeAll(async () => {
  m = createSynchronikManager({ loopInterval: 3_600_000 });
  m.on('task', () => {}); // the held tasks are dropped at close: expected, not printed
  m.registerUnit({ id: 'ok', run: async () => 'fine', intervalMs: 60_000, runOnInterval: true });
  m.registerUnit({
    id: 'bad',
    run: async () => {
      throw new Error('boom');
    },
    maxRetries: 1,
    retryDelayMs: 0,
  });
  m.registerUnit({
    id: 'etl',
    runMode: 'sequential',
    workers: [
      { id: 'extract', run: async () => 1 },
      { id: 'transform', run: async () => 2, dependsOn: ['extract'] },
    ],
  });
  m.registerUnit({ id: ODD_ID, run: async () => 'odd' });
  for (let i = 0; i < 120; i++) m.registerUnit({ id: `bulk-${String(i).padStart(3, '0')}`, run: () => i });
  m.registerUnit({ id: 'actor', run: async () => 'acted' });
  m.registerUnit({ id: 'switch', run: async () => 'switched' });
  const pool = m.useWorkerPool(1);
  heldPool = m.useWorkerPool(1, { name: 'held' });
  await m.runWorkerById('ok');
  await m.runWorkerById('bad');
  await m.runProcessById('etl');
  m.start();
  heldPool.stop();
  await pool.run(async () => 'pooled');
  heldPool.addTask({ name: 'waits-1', payload: 1, execute: async () => 1 });
  heldPool.addTask({ name: 'waits-2', payload: 2, priority: 5, execute: async () => 2 });
  heldPool.addTask({ name: 'later', execute: async () => 3, delayMs: 3_600_000 });
  server = await m.serveDashboard();
});

afterAll(async () => {
  await m.close();
});

const api = (p) => `/api/${p}`;
const get = (p, options) => request(server, api(p), options);
const post = (p, options) => request(server, api(p), { method: 'POST', ...options });

describe('reads', () => {
  test('api/overview: the documented shape, with counts that agree with the manager', async () => {
    const res = await get('overview');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const o = res.json();
    expect(Object.keys(o).sort()).toEqual(
      ['nowMs', 'started', 'counts', 'workers', 'processes', 'totals', 'inFlight', 'poolQueued', 'rates', 'bucketMs', 'recentErrors', 'eventLoop', 'change'].sort(),
    );
    expect(o).toEqual(
      expect.objectContaining({ nowMs: num, started: true, inFlight: num, poolQueued: num, bucketMs: num, change: num }),
    );
    const units = m.listUnits();
    const expected = Object.fromEntries(STATUSES.map((s) => [s, units.filter((u) => u.status === s).length]));
    expect(o.counts).toEqual(expected);
    expect(o.workers).toBe(m.listWorkers().length);
    expect(o.processes).toBe(m.listProcesses().length);
    expect(o.poolQueued).toBe(2);
    expect(o.totals).toEqual({ runs: num, completed: num, failed: num, retries: num });
    expect(o.totals.completed).toBeGreaterThanOrEqual(4); // ok, extract, transform, etl (and the pool task)
    expect(o.totals.failed).toBeGreaterThanOrEqual(1);
    expect(o.totals.retries).toBe(1);
    expect(o.rates).toHaveLength(90);
    for (const r of o.rates) expect(r).toEqual({ startMs: num, runs: num, failures: num, retries: num });
    expect(o.rates.reduce((n, r) => n + r.failures, 0)).toBeGreaterThanOrEqual(1);
    expect(o.recentErrors).toContainEqual({ unit: 'bad', message: 'boom', atMs: num });
    expect(o.eventLoop).toEqual({ blocked: false, blockedForMs: num, unit: null, lagMs: num, blockedSecondsTotal: num });
  });

  test('api/units: summaries of the documented shape, filtered by status, kind and text', async () => {
    const page = (await get('units?limit=500')).json();
    expect(page).toEqual({ items: expect.any(Array), nextCursor: null, total: m.listUnits().length, nowMs: num });
    const byId = Object.fromEntries(page.items.map((u) => [u.id, u]));
    for (const u of page.items) {
      expect(Object.keys(u).sort()).toEqual(
        ['id', 'kind', 'status', 'enabled', 'process', 'poolWorker', 'runCount', 'lastDurationMs', 'averageMs', 'runningSinceMs', 'lastError', 'nextFireMs'].sort(),
      );
      expect(u.status).toBe(m.getUnitStatus(u.id));
      expect(u.enabled).toBe(m.getUnitById(u.id).enabled);
    }
    expect(byId.ok).toEqual(
      expect.objectContaining({ kind: 'worker', status: 'completed', process: null, poolWorker: false, runCount: 1, lastError: null, nextFireMs: num }),
    );
    expect(byId.bad.lastError).toEqual({ message: 'boom', atMs: num });
    expect(byId.extract.process).toBe('etl');
    expect(byId.etl.kind).toBe('process');
    expect(byId['pool-worker-1'].poolWorker).toBe(true);
    expect(byId['held:pool-worker-1'].poolWorker).toBe(true);

    const errors = (await get('units?status=error')).json();
    expect(errors.items.map((u) => u.id)).toEqual(['bad']);
    expect(errors.total).toBe(1);
    const processes = (await get('units?kind=process')).json();
    expect(processes.items.map((u) => u.id)).toEqual(['etl']);
    const text = (await get('units?q=TRANS')).json();
    expect(text.items.map((u) => u.id)).toEqual(['transform']);
    expect((await get('units?status=sleeping')).status).toBe(400);
    expect((await get('units?kind=task')).status).toBe(400);
  });

  test('api/units pages with a cursor: 120 units in pages of 50, each once, in registration order', async () => {
    const seen = [];
    let cursor = null;
    const sizes = [];
    for (let i = 0; i < 10; i++) {
      const page = (await get(`units?q=bulk-&limit=50${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
      expect(page.total).toBe(120);
      sizes.push(page.items.length);
      seen.push(...page.items.map((u) => u.id));
      cursor = page.nextCursor;
      if (cursor === null) break;
      expect(cursor).toEqual(str);
    }
    expect(sizes).toEqual([50, 50, 20]);
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`));
    // Default limit 50; limits outside 1–500 are refused.
    expect((await get('units')).json().items).toHaveLength(50);
    for (const limit of ['0', '501', 'x']) {
      const res = await get(`units?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.json().error).toEqual({ code: str, message: str });
    }
  });

  test('api/units/<id>: a worker with its config, a process with its workers, ids percent-encoded', async () => {
    const ok = (await get('units/ok')).json();
    expect(ok).toEqual(
      expect.objectContaining({
        id: 'ok',
        kind: 'worker',
        config: {
          intervalMs: 60_000,
          runOnInterval: true,
          maxRuns: null,
          timeoutMs: 10_000,
          maxRetries: 0,
          retryDelayMs: 0,
          overlap: 'skip',
          dependsOn: [],
        },
        executionTimesMs: [num],
        workers: [],
        history: [],
        nowMs: num,
      }),
    );
    expect((await get('units/bad')).json().config).toEqual(expect.objectContaining({ maxRetries: 1, retryDelayMs: 0 }));
    const transform = (await get('units/transform')).json();
    expect(transform.config.dependsOn).toEqual([{ id: 'extract', conditional: false }]);
    const etl = (await get('units/etl')).json();
    expect(etl.config).toEqual({ runMode: 'sequential', batchSize: 2, isolationDelayMs: 100, concurrency: null });
    expect(etl.workers).toEqual(['extract', 'transform']);
    const odd = await get(`units/${encodeURIComponent(ODD_ID)}`);
    expect(odd.status).toBe(200);
    expect(odd.json().id).toBe(ODD_ID);
    const missing = await get('units/nope');
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('ERR_UNKNOWN_UNIT');
  });

  test('api/processes and api/processes/<id>: run mode, graph, workers with their statuses', async () => {
    expect((await get('processes')).json()).toEqual({
      items: [{ id: 'etl', status: 'completed', enabled: true, runMode: 'sequential', graph: true, workers: 2 }],
      nowMs: num,
    });
    expect((await get('processes/etl')).json()).toEqual({
      id: 'etl',
      status: 'completed',
      enabled: true,
      runMode: 'sequential',
      graph: true,
      config: { runMode: 'sequential', batchSize: 2, isolationDelayMs: 100, concurrency: null },
      workers: [
        { id: 'extract', status: 'completed', enabled: true, dependsOn: [] },
        { id: 'transform', status: 'completed', enabled: true, dependsOn: [{ id: 'extract', conditional: false }] },
      ],
      nowMs: num,
    });
    expect((await get('processes/ok')).status).toBe(404);
  });

  test('api/pools: queue in dispatch order, running, done and totals', async () => {
    const { items, nowMs } = (await get('pools')).json();
    expect(nowMs).toEqual(num);
    const byName = Object.fromEntries(items.map((p) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual(['default', 'held']);
    const held = byName.held;
    expect(held).toEqual(expect.objectContaining({ size: 1, busy: 0, queued: 2, scheduled: 1, running: [], completed: 0, failed: 0, cancelled: 0 }));
    // Higher priority first.
    expect(held.queue.map((t) => t.name)).toEqual(['waits-2', 'waits-1']);
    for (const t of held.queue) {
      expect(t).toEqual({ id: num, name: str, priority: num, status: 'idle', worker: null, startedMs: null, durable: false });
    }
    const pool = byName.default;
    expect(pool).toEqual(expect.objectContaining({ size: 1, busy: 0, queued: 0, scheduled: 0, queue: [], running: [], completed: 1, failed: 0 }));
    expect(pool.done).toEqual([
      expect.objectContaining({ id: num, name: null, status: 'completed', durationMs: num, error: null, atMs: num, retryable: false }),
    ]);
  });

  test('api/schedules: the interval workers by next fire', async () => {
    const { items, nowMs } = (await get('schedules')).json();
    expect(nowMs).toEqual(num);
    expect(items).toEqual([{ unit: 'ok', everyMs: 60_000, nextMs: num }]);
    expect(items[0].nextMs).toBeGreaterThan(nowMs);
  });

  test('api/history without a store: empty, and says so', async () => {
    expect((await get('history')).json()).toEqual({ items: [], nextCursor: null, store: false });
  });

  test('api/events: a Server-Sent Event stream that starts with the overview', async () => {
    const e = await firstEvent(server, api('events'));
    expect(e.status).toBe(200);
    expect(e.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(e.headers['content-security-policy']).toBe(CSP);
    expect(e.event).toBe('overview');
    expect(e.data).toEqual(expect.objectContaining({ nowMs: num, counts: expect.any(Object), change: num, eventLoop: expect.any(Object) }));
  });

  test('the page and its assets need no token; metrics do', async () => {
    const page = await request(server, '/', { auth: false });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect((await request(server, '/assets/app.js', { auth: false })).headers['content-type']).toMatch(/javascript/);
    expect((await request(server, '/assets/app.css', { auth: false })).headers['content-type']).toMatch(/^text\/css/);
    const metrics = await request(server, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toContain('synchronik_runs_total');
    expect((await request(server, '/metrics', { auth: false })).status).toBe(401);
  });

  test('unknown paths answer 404, wrong methods 405, with a JSON error', async () => {
    const missing = await get('nothing');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: { code: str, message: str } });
    expect((await request(server, '/elsewhere')).status).toBe(404);
    expect((await post('overview')).status).toBe(405);
    // HEAD wherever GET; the base path without its final slash redirects.
    const head = await request(server, api('overview'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const getAction = await get('units/ok/run');
    expect(getAction.status).toBe(405);
    expect(getAction.headers.allow).toBe('POST');
  });
});

describe('access', () => {
  test('a missing or wrong token is 401; the query token is taken for GET only', async () => {
    for (const auth of [false, 'wrong', `${server.token}x`]) {
      const res = await get('overview', { auth });
      expect(res.status).toBe(401);
      expect(res.json().error).toEqual({ code: 'ERR_UNAUTHORIZED', message: str });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect((await get(`overview?token=${server.token}`, { auth: false })).status).toBe(200);
    expect((await get('overview?token=wrong', { auth: false })).status).toBe(401);
    expect((await request(server, `/metrics?token=${server.token}`, { auth: false })).status).toBe(200);
    // An action never takes the token from the query.
    const res = await post(`units/actor/pause?token=${server.token}`, { auth: false });
    expect(res.status).toBe(401);
    expect(m.getUnitStatus('actor')).toBe('idle');
    expect((await post('units/actor/pause', { auth: 'wrong' })).status).toBe(401);
  });

  test('every response carries the CSP and the other security headers', async () => {
    const responses = [
      await get('overview'),
      await get('overview', { auth: false }),
      await get('units/nope'),
      await get('nothing'),
      await post('overview'),
      await post('units/nope/run'),
      await request(server, '/', { auth: false }),
      await request(server, '/assets/app.js', { auth: false }),
      await request(server, '/metrics'),
      await get('overview', { headers: { host: 'evil.example' } }),
    ];
    for (const res of responses) {
      expect({ status: res.status, csp: res.headers['content-security-policy'] }).toEqual({ status: res.status, csp: CSP });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });

  test('the Host header must name the server (421 otherwise, for a DNS-rebinding page)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      const res = await get('overview', { headers: { host } });
      expect(res.status).toBe(421);
      expect(res.json().error.code).toEqual(str);
    }
    expect((await get('overview', { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
    expect((await get('overview', { headers: { host: `127.0.0.1:${server.port}` } })).status).toBe(200);
  });

  test("an action with an Origin header must come from the server's own origin (403 otherwise)", async () => {
    const foreign = await post('units/actor/pause', { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error.code).toBe('ERR_FORBIDDEN_ORIGIN');
    expect(m.getUnitStatus('actor')).toBe('idle');
    const paused = nextEvent(m, 'updated', (e) => e.unitId === 'actor');
    const own = await post('units/actor/pause', { headers: { origin: `http://127.0.0.1:${server.port}` } });
    expect(own.status).toBe(202);
    await paused;
    expect(m.getUnitStatus('actor')).toBe('paused');
    await m.updateStatus('actor', 'idle');
  });

  test('readOnly: every action is 403 ERR_READ_ONLY, reads still answer', async () => {
    const ro = await m.serveDashboard({ readOnly: true });
    try {
      for (const p of ['units/actor/run', 'units/actor/pause', 'units/actor/disable', 'tasks/1/cancel', 'tasks/1/retry']) {
        const res = await request(ro, api(p), { method: 'POST' });
        expect(res.status).toBe(403);
        expect(res.json().error.code).toBe('ERR_READ_ONLY');
      }
      expect((await request(ro, api('overview'))).status).toBe(200);
      expect(m.getUnitById('actor')).toEqual(expect.objectContaining({ status: 'idle', enabled: true }));
    } finally {
      await ro.close();
    }
  });
});

describe('actions reach JavaScript as the usual events', () => {
  test('run: start and complete events, and the run counted', async () => {
    const before = m.getUnitById('actor').meta.runCount;
    const started = nextEvent(m, 'start', (e) => e.unitId === 'actor');
    const completed = nextEvent(m, 'complete', (e) => e.unitId === 'actor');
    const res = await post('units/actor/run');
    expect(res.status).toBe(202);
    expect(res.json()).toEqual({ ok: true });
    await started;
    expect((await completed).result).toBe('acted');
    expect(m.getUnitById('actor').meta.runCount).toBe(before + 1);
    expect(m.getUnitStatus('actor')).toBe('completed');
    expect((await get('units/actor')).json().runCount).toBe(before + 1);
  });

  test('run of a process runs it by its run mode', async () => {
    const done = nextEvent(m, 'complete', (e) => e.unitId === 'etl');
    const order = [];
    const listener = (e) => order.push(e.unitId);
    m.on('start', listener);
    expect((await post('units/etl/run')).status).toBe(202);
    await done;
    m.off('start', listener);
    expect(order).toEqual(['etl', 'extract', 'transform']);
  });

  test('pause and resume: updated events, mirrored status', async () => {
    const paused = nextEvent(m, 'updated', (e) => e.unitId === 'switch');
    expect((await post('units/switch/pause')).status).toBe(202);
    expect((await paused).payload).toEqual(expect.objectContaining({ current: 'paused' }));
    expect(m.getUnitStatus('switch')).toBe('paused');
    expect((await get('units/switch')).json().status).toBe('paused');
    const resumed = nextEvent(m, 'updated', (e) => e.unitId === 'switch');
    expect((await post('units/switch/resume')).status).toBe(202);
    expect((await resumed).payload).toEqual(expect.objectContaining({ previous: 'paused', current: 'idle' }));
    expect(m.getUnitStatus('switch')).toBe('idle');
  });

  test('disable and enable: mirrored on the unit object', async () => {
    expect((await post('units/switch/disable')).status).toBe(202);
    await until(() => m.getUnitById('switch').enabled === false, 500, 'disabled');
    expect((await get('units/switch')).json().enabled).toBe(false);
    expect((await post('units/switch/enable')).status).toBe(202);
    await until(() => m.getUnitById('switch').enabled === true, 500, 'enabled');
  });

  test('an action on an unknown unit is 404; an unknown action 404', async () => {
    const res = await post('units/nope/run');
    expect(res.status).toBe(404);
    expect(res.json().error.code).toBe('ERR_UNKNOWN_UNIT');
    expect((await post('units/actor/explode')).status).toBe(404);
  });

  test('cancel: a queued task is cancelled (task event, task object); again, or a task that is not queued, is 409', async () => {
    const task = heldPool.addTask({ name: 'to-cancel', execute: async () => 'never' });
    const { items } = (await get('pools')).json();
    const queued = items.find((p) => p.name === 'held').queue.find((t) => t.name === 'to-cancel');
    const cancelled = nextEvent(m, 'task', (e) => e.name === 'to-cancel' && e.status === 'cancelled');
    expect((await post(`tasks/${queued.id}/cancel`)).status).toBe(202);
    expect((await cancelled).pool).toBe('held');
    expect(task.status).toBe('cancelled');
    const again = await post(`tasks/${queued.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json().error).toEqual({ code: str, message: str });
    expect((await post('tasks/999999/cancel')).status).toBe(409);
    expect((await post('tasks/not-a-number/cancel')).status).toBe(404);
  });

  test('retry of a task that is not a failed one is refused (409)', async () => {
    const { items } = (await get('pools')).json();
    const queued = items.find((p) => p.name === 'held').queue[0];
    const res = await post(`tasks/${queued.id}/retry`);
    expect(res.status).toBe(409);
    expect(res.json().error).toEqual({ code: str, message: str });
  });
});

describe('the authorize hook', () => {
  let hooked;
  /** What the hook does next: a function of (request, action). */
  let decide;
  const asked = [];
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    hooked = await m.serveDashboard({
      authorize: (request, action) => {
        asked.push({ request, action });
        return decide(request, action);
      },
    });
  });
  afterAll(async () => {
    await hooked.close();
    process.off('unhandledRejection', onUnhandled);
  });

  const act = (p) => request(hooked, api(p), { method: 'POST', headers: { 'x-user': 'ops' } });

  test('true allows; it is asked with the request and the action', async () => {
    decide = () => true;
    asked.length = 0;
    const paused = nextEvent(m, 'updated', (e) => e.unitId === 'switch');
    expect((await act('units/switch/pause')).status).toBe(202);
    await paused;
    expect(asked).toEqual([
      {
        action: 'pause',
        request: {
          method: 'POST',
          path: '/api/units/switch/pause',
          // The token is not the hook's business: redacted.
          headers: expect.objectContaining({ 'x-user': 'ops', authorization: '[redacted]' }),
          remoteAddress: '127.0.0.1',
        },
      },
    ]);
    expect(JSON.stringify(asked)).not.toContain(hooked.token);
    decide = async () => true;
    const resumed = nextEvent(m, 'updated', (e) => e.unitId === 'switch');
    expect((await act('units/switch/resume')).status).toBe(202);
    await resumed;
    expect(asked.map((a) => a.action)).toEqual(['pause', 'resume']);
  });

  test.each([
    ['false', () => false],
    ['a truthy value that is not true', () => 'yes'],
    ['a promise of false', async () => false],
    ['a throw', () => {
      throw new Error('no');
    }],
    ['a rejection', () => Promise.reject(new Error('no'))],
    ['a thenable whose then throws', () => ({
      then() {
        throw new Error('no');
      },
    })],
  ])('%s denies (403), and nothing is left unhandled', async (_what, fn) => {
    decide = fn;
    const res = await act('units/switch/disable');
    expect(res.status).toBe(403);
    expect(res.json().error.code).toBe('ERR_FORBIDDEN');
    await sleep(20);
    expect(m.getUnitById('switch').enabled).toBe(true);
    expect(unhandled).toEqual([]);
  });

  test('reads do not ask it', async () => {
    asked.length = 0;
    expect((await request(hooked, api('overview'))).status).toBe(200);
    expect(asked).toEqual([]);
  });
});

describe('options', () => {
  test.each([
    [42, 'serveDashboard: options must be an object (got number)'],
    [{ prot: 1 }, 'serveDashboard: options.prot is not an option; did you mean "port"?'],
    [{ colour: 1 }, 'serveDashboard: options.colour is not an option (the options are port, host, token, basePath, readOnly, authorize)'],
    [{ port: -1 }, 'serveDashboard: options.port must be an integer from 0 to 65535 (got -1)'],
    [{ port: 65536 }, 'serveDashboard: options.port must be an integer from 0 to 65535 (got 65536)'],
    [{ port: 1.5 }, 'serveDashboard: options.port must be an integer from 0 to 65535 (got 1.5)'],
    [{ port: '80' }, 'serveDashboard: options.port must be an integer from 0 to 65535 (got string)'],
    [{ host: '' }, 'serveDashboard: options.host must be a non-empty string without surrounding spaces (got empty string)'],
    [{ host: 1 }, 'serveDashboard: options.host must be a non-empty string without surrounding spaces (got number)'],
    [{ token: '' }, 'serveDashboard: options.token must be a non-empty string of visible ASCII characters without spaces (got empty string)'],
    [{ token: 'a b' }, 'serveDashboard: options.token must be a non-empty string of visible ASCII characters without spaces (got string "a b")'],
    [{ token: 'pässword' }, 'serveDashboard: options.token must be a non-empty string of visible ASCII characters without spaces (got string "pässword")'],
    [{ basePath: 'ops' }, 'serveDashboard: options.basePath must be a string starting with "/" (got string "ops")'],
    [{ basePath: '/a/../b' }, 'serveDashboard: options.basePath must be a string path without "..", ".", "//", "?", "#", "%", spaces or backslashes (got string "/a/../b")'],
    [{ basePath: '/ops?x' }, 'serveDashboard: options.basePath must be a string path without "..", ".", "//", "?", "#", "%", spaces or backslashes (got string "/ops?x")'],
    [{ basePath: '/ops#x' }, 'serveDashboard: options.basePath must be a string path without "..", ".", "//", "?", "#", "%", spaces or backslashes (got string "/ops#x")'],
    [{ readOnly: 'yes' }, 'serveDashboard: options.readOnly must be a boolean (got string)'],
    [{ authorize: true }, 'serveDashboard: options.authorize must be a function (request, action) => boolean | Promise<boolean> (got boolean)'],
    [
      { host: '0.0.0.0' },
      'serveDashboard: options.token is required when options.host is not a loopback address (127.0.0.0/8, ::1, localhost): anyone who can reach the server could act on the engine (got host "0.0.0.0" and no token)',
    ],
    [
      { host: '192.168.1.20', port: 8080 },
      'serveDashboard: options.token is required when options.host is not a loopback address (127.0.0.0/8, ::1, localhost): anyone who can reach the server could act on the engine (got host "192.168.1.20" and no token)',
    ],
  ])('%j → TypeError', async (options, message) => {
    const e = await errorOf(() => m.serveDashboard(options));
    expect(e).toEqual(new TypeError(message));
    expect(e).toBeInstanceOf(TypeError);
  });

  test('bad options reject (the call does not throw)', () => {
    const p = m.serveDashboard({ port: -1 });
    expect(p).toBeInstanceOf(Promise);
    return expect(p).rejects.toThrow(TypeError);
  });

  test('the url: host, port, base path and the token; a generated token is 24 random bytes in base64url', async () => {
    const a = await m.serveDashboard();
    const b = await m.serveDashboard({ basePath: '/ops' });
    try {
      expect(a.host).toBe('127.0.0.1');
      expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(b.token).not.toBe(a.token);
      expect(a.url).toBe(`http://127.0.0.1:${a.port}/?token=${a.token}`);
      expect(b.url).toBe(`http://127.0.0.1:${b.port}/ops/?token=${b.token}`);
      // Under a base path, and /metrics at the root too.
      expect((await request(b, '/ops/api/overview')).status).toBe(200);
      expect((await request(b, '/api/overview')).status).toBe(404);
      expect((await request(b, '/ops/metrics')).status).toBe(200);
      expect((await request(b, '/metrics')).status).toBe(200);
      expect((await request(b, '/ops/', { auth: false })).status).toBe(200);
      const bare = await request(b, '/ops', { auth: false });
      expect(bare.status).toBe(308);
      expect(bare.headers.location).toBe('/ops/');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an explicit token is used as given (and encoded in the url)', async () => {
    const token = 'a&b+c=d/e';
    const s = await m.serveDashboard({ token, host: 'localhost' });
    try {
      expect(s.token).toBe(token);
      expect(s.url).toBe(`http://localhost:${s.port}/?token=${encodeURIComponent(token)}`);
      const query = new URL(s.url).searchParams.get('token');
      expect(query).toBe(token);
      expect((await request(s, api('overview'), { headers: { host: `localhost:${s.port}` } })).status).toBe(200);
      expect((await request(s, `${api('overview')}?token=${encodeURIComponent(token)}`, { auth: false })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test('a host that is not loopback works with an explicit token', async () => {
    const s = await m.serveDashboard({ host: '0.0.0.0', token: 'lan-secret' });
    try {
      expect(s.url).toBe(`http://0.0.0.0:${s.port}/?token=lan-secret`);
      expect(s.port).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });

  test('an IPv6 host is shown in brackets', async () => {
    let s;
    try {
      s = await m.serveDashboard({ host: '::1' });
    } catch (e) {
      // A machine without IPv6 cannot listen there.
      expect(e).toBeInstanceOf(SynchronikError);
      return;
    }
    try {
      expect(s.url).toBe(`http://[::1]:${s.port}/?token=${s.token}`);
    } finally {
      await s.close();
    }
  });

  test('a port in use rejects with a SynchronikError EADDRINUSE', async () => {
    const e = await errorOf(() => m.serveDashboard({ port: server.port }));
    expect(e).toBeInstanceOf(SynchronikError);
    expect(e.code).toBe('EADDRINUSE');
    expect(e.message).toContain(`127.0.0.1:${server.port}`);
  });
});

describe('lifecycle', () => {
  test('close() is idempotent and frees the port (another server can take it)', async () => {
    const s = await m.serveDashboard();
    const port = s.port;
    const first = s.close();
    expect(s.close()).toBe(first);
    await first;
    expect(await refused(port)).toBe(true);
    const again = await m.serveDashboard({ port });
    expect(again.port).toBe(port);
    expect((await request(again, api('overview'))).status).toBe(200);
    await again.close();
  });

  test('close() holds the event loop only briefly, with a request head half sent and an action waiting for authorize', async () => {
    const other = createSynchronikManager();
    other.registerUnit({ id: 'w', run: async () => 1 });
    let asked = 0;
    const s = await other.serveDashboard({
      authorize: () => {
        asked++;
        return new Promise(() => {}); // never answers
      },
    });
    const net = require('node:net');
    const sockets = [];
    const open = (text) =>
      new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: s.port }, () => {
          socket.write(text);
          resolve();
        });
        socket.on('error', () => {});
        sockets.push(socket);
      });
    try {
      await open('GET /api/overview HTTP/1.1\r\nHost: ');
      await open(`POST /api/units/w/pause HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nAuthorization: Bearer ${s.token}\r\n\r\n`);
      for (let i = 0; i < 500 && asked === 0; i++) await sleep(10);
      expect(asked).toBe(1);
      const started = performance.now();
      const closing = s.close();
      const held = performance.now() - started;
      expect(held).toBeLessThan(100);
      expect(await refused(s.port)).toBe(true);
      await closing;
      expect(other.getUnitStatus('w')).toBe('idle');
    } finally {
      for (const socket of sockets) socket.destroy();
      await other.close();
    }
  });

  test('several managers in one process, each with its own server and data', async () => {
    const others = [createSynchronikManager(), createSynchronikManager({ clock: 'manual' })];
    try {
      others[0].registerUnit({ id: 'only-in-a', run: async () => 'a' });
      others[1].registerUnit({ id: 'only-in-b', run: async () => 'b' });
      const [a, b] = await Promise.all(others.map((o) => o.serveDashboard()));
      expect(a.port).not.toBe(b.port);
      expect((await request(a, api('units'))).json().items.map((u) => u.id)).toEqual(['only-in-a']);
      expect((await request(b, api('units'))).json().items.map((u) => u.id)).toEqual(['only-in-b']);
      expect((await request(a, api('units/only-in-a'), { auth: b.token })).status).toBe(401);

      // A run from the page reaches a manager that is not started and has
      // nothing in flight (its wake-up stays set while a server is open) —
      // with a manual clock too.
      const doneA = nextEvent(others[0], 'complete', (e) => e.unitId === 'only-in-a');
      const doneB = nextEvent(others[1], 'complete', (e) => e.unitId === 'only-in-b');
      expect((await request(a, api('units/only-in-a/run'), { method: 'POST' })).status).toBe(202);
      expect((await request(b, api('units/only-in-b/run'), { method: 'POST' })).status).toBe(202);
      expect((await doneA).result).toBe('a');
      expect((await doneB).result).toBe('b');
      expect(others[0].getUnitStatus('only-in-a')).toBe('completed');
      expect(others[1].getUnitStatus('only-in-b')).toBe('completed');
      expect((await request(b, api('overview'))).json().nowMs).toBe(0);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  test("the manager's close() closes every server it opened; a closed manager serves nothing", async () => {
    const other = createSynchronikManager();
    const servers = [await other.serveDashboard(), await other.serveDashboard({ readOnly: true })];
    await other.close();
    for (const s of servers) expect(await refused(s.port)).toBe(true);
    await servers[0].close(); // closing again after the manager did is fine
    const e = await errorOf(() => other.serveDashboard());
    expect(e).toBeInstanceOf(SynchronikError);
    expect(e.code).toBe('ERR_CLOSED');
    expect(() => other.metrics()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });

  test('while a server is open the event loop is sampled (blocked time shows), not before', async () => {
    const other = createSynchronikManager();
    try {
      const s = await other.serveDashboard();
      await sleep(40);
      block(150);
      await sleep(40);
      const { eventLoop } = (await request(s, api('overview'))).json();
      expect(eventLoop.blockedSecondsTotal).toBeGreaterThan(0.1);
      expect(eventLoop.blocked).toBe(false);
      // getEngineStats still reports lag only while the manager is started.
      expect(other.getEngineStats().engine.eventLoopLagMs).toBe(0);
      await s.close();
    } finally {
      await other.close();
    }
  });

  test('a server never keeps Node alive: serve, run, stop → the process exits', async () => {
    const script = `
      const { createSynchronikManager } = require('.');
      (async () => {
        const m = createSynchronikManager();
        m.registerUnit({ id: 'w', run: async () => 1, intervalMs: 50, runOnInterval: true });
        const s = await m.serveDashboard({ authorize: () => true });
        m.start();
        const r = await fetch(s.url.replace('/?token=' + s.token, '/api/units/w/run'), { method: 'POST', headers: { authorization: 'Bearer ' + s.token } });
        await new Promise((resolve) => setTimeout(resolve, 100));
        await m.stop();
        console.log(JSON.stringify({ status: r.status, port: s.port }));
      })();
    `;
    const r = await runNode(['-e', script], { timeoutMs: 15000 });
    expect({ code: r.code, timedOut: r.timedOut, stderr: r.stderr }).toEqual({ code: 0, timedOut: false, stderr: '' });
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    expect(out.status).toBe(202);
    expect(await refused(out.port)).toBe(true);
  });

  test('an open server keeps its manager from being collected (and only until closed), yet not Node alive', async () => {
    const script = `
      const { createSynchronikManager } = require('.');
      const pause = (n) => new Promise((resolve) => setTimeout(resolve, n));
      let collected = 0;
      const registry = new FinalizationRegistry(() => collected++);
      const collect = async () => {
        for (let k = 0; k < 10; k++) {
          global.gc();
          await pause(20);
        }
      };
      (async () => {
        // Nothing keeps the manager, nor the handle: only what it serves.
        const { port, token } = await (async () => {
          const m = createSynchronikManager();
          m.registerUnit({ id: 'w', run: async () => 1 });
          registry.register(m, 'manager');
          const s = await m.serveDashboard();
          return { port: s.port, token: s.token };
        })();
        await collect();
        const url = 'http://127.0.0.1:' + port + '/api/units/w';
        const r = await fetch(url, { headers: { authorization: 'Bearer ' + token } });
        const status = r.status;
        const unit = (await r.json()).id;
        console.log(JSON.stringify({ status, unit, collected, port }));
      })();
    `;
    const r = await runNode(['--expose-gc', '-e', script], { timeoutMs: 15000 });
    expect({ code: r.code, timedOut: r.timedOut, stderr: r.stderr }).toEqual({ code: 0, timedOut: false, stderr: '' });
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    expect(out).toEqual({ status: 200, unit: 'w', collected: 0, port: out.port });

    const closed = `
      const { createSynchronikManager } = require('.');
      const pause = (n) => new Promise((resolve) => setTimeout(resolve, n));
      let collected = 0;
      const registry = new FinalizationRegistry(() => collected++);
      (async () => {
        await (async () => {
          const m = createSynchronikManager();
          registry.register(m, 'manager');
          const s = await m.serveDashboard();
          await s.close();
        })();
        for (let k = 0; k < 20 && collected === 0; k++) {
          global.gc();
          await pause(20);
        }
        console.log(JSON.stringify({ collected }));
      })();
    `;
    const c = await runNode(['--expose-gc', '-e', closed], { timeoutMs: 15000 });
    expect({ code: c.code, timedOut: c.timedOut, stderr: c.stderr }).toEqual({ code: 0, timedOut: false, stderr: '' });
    expect(JSON.parse(c.stdout.trim().split('\n').pop())).toEqual({ collected: 1 });
  });
});

describe('with a SQLite store', () => {
  let dir;
  let stored;
  let s;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-dashboard-'));
    stored = createSynchronikManager({ storage: { sqlite: path.join(dir, 'state.db') } });
    stored.on('task', () => {}); // failures are expected: not printed
    stored.registerUnit({ id: 'kept', run: async () => 'kept' });
    await stored.runWorkerById('kept');
    await stored.runWorkerById('kept');
    await stored.flush();
    s = await stored.serveDashboard();
  });
  afterAll(async () => {
    await stored.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('api/history pages the stored attempts, newest first', async () => {
    const all = (await request(s, api('history'))).json();
    expect(all.store).toBe(true);
    expect(all.items.length).toBeGreaterThanOrEqual(2);
    for (const row of all.items) {
      expect(row).toEqual(expect.objectContaining({ unit: str, attempt: num, status: str, startedMs: num, durationMs: num }));
    }
    const first = (await request(s, api('history?unit=kept&limit=1'))).json();
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(str);
    const second = (await request(s, api(`history?unit=kept&limit=1&cursor=${encodeURIComponent(first.nextCursor)}`))).json();
    expect(second.items).toHaveLength(1);
    expect(second.items[0].startedMs).toBeLessThanOrEqual(first.items[0].startedMs);
    expect((await request(s, api('units/kept'))).json().history.length).toBeGreaterThanOrEqual(2);
  });

  test('retry: a failed durable task runs again', async () => {
    const pool = stored.useWorkerPool(1);
    let calls = 0;
    pool.handle('flaky', async (payload) => {
      calls++;
      if (calls === 1) throw new Error('first time');
      return payload * 2;
    });
    const failed = nextEvent(stored, 'task', (e) => e.name === 'once' && e.status === 'error');
    pool.addTask({ name: 'once', handler: 'flaky', payload: 21 });
    pool.start();
    await failed;
    const done = (await request(s, api('pools'))).json().items.find((p) => p.name === 'default').done;
    const row = done.find((t) => t.name === 'once');
    expect(row).toEqual(expect.objectContaining({ status: 'error', error: 'first time', retryable: true }));
    const completed = nextEvent(stored, 'task', (e) => e.name === 'once' && e.status === 'completed');
    expect((await request(s, api(`tasks/${row.id}/retry`), { method: 'POST' })).status).toBe(202);
    await completed;
    expect(calls).toBe(2);
    pool.stop();
  });
});
