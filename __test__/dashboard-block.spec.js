'use strict';

// The dashboard answers while JavaScript is blocked, and says so (SPEC §13:
// the HTTP server runs on the engine's own threads). A child process serves
// the dashboard and then blocks its event loop for 3 s inside a worker's
// run; this process reads /metrics and api/overview during the block.

const { get, metricValue, startDashboardChild } = require('./fixtures/dashboard');

const BLOCK_MS = 3000;
const BLOCKED_TOTAL = 'synchronik_event_loop_blocked_seconds_total';

jest.setTimeout(60_000);

let child;

beforeAll(async () => {
  child = await startDashboardChild(BLOCK_MS);
});

afterAll(async () => {
  if (child) {
    const { code, signal } = await child.stop();
    // The child closes its server and manager and exits by itself.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }
});

test('before the block: the overview reports a free event loop', async () => {
  const overview = await get(child, 'api/overview');
  expect(overview.status).toBe(200);
  expect(overview.body.eventLoop).toMatchObject({ blocked: false, unit: null });
  const metrics = await get(child, '/metrics');
  expect(metrics.status).toBe(200);
  expect(metricValue(metrics.body, BLOCKED_TOTAL)).toBe(0);
});

test('during a 3 s block in a run, /metrics and api/overview answer at once and name the blocked unit', async () => {
  child.block();
  const start = await child.next('block-start');

  // The overview says "blocked" once JavaScript has been away from its event
  // loop for more than 100 ms; read it until it does (every read is answered
  // while the child's JavaScript is blocked).
  const reads = [];
  let overview;
  do {
    overview = await get(child, 'api/overview');
    reads.push(overview);
  } while (!overview.body.eventLoop.blocked && Date.now() < start.at + BLOCK_MS);
  const metrics = await get(child, '/metrics');
  const end = await child.next('block-end');

  // Every answer arrived before the block ended.
  for (const r of [...reads, metrics]) {
    expect(r.status).toBe(200);
    expect(r.at).toBeLessThan(end.at);
  }
  expect(end.at - start.at).toBeGreaterThanOrEqual(BLOCK_MS);

  expect(overview.body.eventLoop).toMatchObject({ blocked: true, unit: child.unit });
  expect(overview.body.eventLoop.blockedForMs).toBeGreaterThan(100);
  expect(overview.body.eventLoop.blockedForMs).toBeLessThan(BLOCK_MS + 1000);
  expect(overview.body.counts.running).toBeGreaterThanOrEqual(1);
  // The ongoing block already counts in the metrics.
  expect(metricValue(metrics.body, BLOCKED_TOTAL)).toBeGreaterThan(0);
});

test('after the block: the loop is free again and the blocked seconds stay counted', async () => {
  await child.next('complete');
  // The sampler notes the block on its first tick after it; read until the
  // overview shows a free loop again.
  let overview;
  const deadline = Date.now() + 5000;
  do {
    overview = await get(child, 'api/overview');
  } while (overview.body.eventLoop.blocked && Date.now() < deadline);
  expect(overview.body.eventLoop).toMatchObject({ blocked: false, unit: null });
  expect(overview.body.eventLoop.blockedSecondsTotal).toBeGreaterThan((BLOCK_MS - 500) / 1000);

  const metrics = await get(child, '/metrics');
  const total = metricValue(metrics.body, BLOCKED_TOTAL);
  expect(total).toBeGreaterThan((BLOCK_MS - 500) / 1000);
  expect(total).toBeLessThan((BLOCK_MS + 2000) / 1000);

  const unit = await get(child, `api/units/${encodeURIComponent(child.unit)}`);
  expect(unit.body).toMatchObject({ id: child.unit, status: 'completed', runCount: 1 });
});
