'use strict';

// The web dashboard in a real browser (headless Chromium through
// puppeteer-core): units appear and change status live, actions clicked in
// the page reach the engine (and its JavaScript events), the process page
// draws the dependency graph, hostile ids and names render as text in
// every view, and a blocked event loop in another process shows in the
// page while it lasts.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager } = require('..');
const { launchChromium } = require('../scripts/chromium');
const { deferred, nextEvent } = require('./helpers');
const { startDashboardChild } = require('./fixtures/dashboard');

jest.setTimeout(120_000);

/** Ids and names that would run script if the page ever treated them as HTML or as a URL. */
const HOSTILE = [
  '<img src=x onerror=window.__xss=1>',
  '"><script>window.__xss=2</script>',
  'javascript:alert(1)',
  "' onmouseover='window.__xss=3' x='",
  '</title><svg onload=window.__xss=4>',
  '%3Cimg%20src%3Dx%20onerror%3Dwindow.__xss%3D5%3E',
  '../../api/overview?x=1#/units',
];
const HOSTILE_PROCESS = '<svg onload=window.__xss=6><b>etl</b>';
const HOSTILE_STEPS = ['<b>extract</b>', '"><img src=x onerror=window.__xss=7>', 'load & <u>report</u>'];
const HOSTILE_FAILING = '<i>failing</i><img src=x onerror=window.__xss=8>';
const HOSTILE_ERROR = '<img src=x onerror=window.__xss=9> broke "badly" & \'loudly\'';
const HOSTILE_POOL = '<img src=x onerror=window.__xss=10>';
const HOSTILE_TASKS = ['<script>window.__xss=11</script>', '<img src=x onerror=window.__xss=12>', 'javascript:alert(13)'];
const HOSTILE_TASK_ERROR = '<svg onload=window.__xss=14>task failed';

/** The graph process of the ordinary tests: extract → (transform, audit) → load. */
const GRAPH = [
  { id: 'extract', dependsOn: [] },
  { id: 'transform', dependsOn: ['extract'] },
  { id: 'audit', dependsOn: [{ id: 'extract', condition: () => true }] },
  { id: 'load', dependsOn: ['transform', 'audit'] },
];

let browser;
let manager;
let server;
let dir;
/** Resolves the current run of the worker `long`. */
let releaseLong;
/** The gate that holds the hostile pool's only worker busy. */
const poolGate = deferred();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-dashboard-'));
  manager = createSynchronikManager({ storage: { sqlite: path.join(dir, 'store.db') } });

  manager.registerUnit({
    id: 'long',
    timeoutMs: 0,
    run: () => {
      const gate = deferred();
      releaseLong = gate.resolve;
      return gate.promise;
    },
  });
  manager.registerUnit({ id: 'toggle', run: async () => 'done' });
  manager.registerUnit({ id: 'etl', workers: GRAPH.map((w) => ({ ...w, run: async () => ({ ok: true }) })) });

  // Hostile ids and names in every place the page shows one.
  HOSTILE.forEach((id, i) => {
    manager.registerUnit(i === 0 ? { id, intervalMs: 3_600_000, runOnInterval: true, run: async () => {} } : { id, run: async () => {} });
  });
  manager.registerUnit({
    id: HOSTILE_PROCESS,
    workers: HOSTILE_STEPS.map((id, i) => ({ id, dependsOn: i === 0 ? [] : [HOSTILE_STEPS[i - 1]], run: async () => {} })),
  });
  manager.registerUnit({
    id: HOSTILE_FAILING,
    maxRetries: 0,
    run: async () => {
      throw new Error(HOSTILE_ERROR);
    },
  });

  // History rows (the store keeps them) for the hostile units, and a last error.
  for (const id of HOSTILE) await manager.runWorkerById(id);
  await manager.runProcessById(HOSTILE_PROCESS);
  await manager.runWorkerById(HOSTILE_FAILING).catch(() => {});

  manager.start();

  // A pool of one worker held busy, so that its hostile tasks stay queued;
  // one hostile task has failed before.
  const pool = manager.useWorkerPool(1, { name: HOSTILE_POOL });
  manager.on('task', () => {});
  await pool
    .run(
      async () => {
        throw new Error(HOSTILE_TASK_ERROR);
      },
      { payload: null },
    )
    .catch(() => {});
  pool.addTask({ name: 'holding', execute: () => poolGate.promise });
  for (const name of HOSTILE_TASKS) pool.addTask({ name, execute: async () => {} });

  server = await manager.serveDashboard();
  browser = await launchChromium();
});

afterAll(async () => {
  if (browser) await browser.close();
  poolGate.resolve();
  if (releaseLong) releaseLong();
  if (server) await server.close();
  if (manager) await manager.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Opens the dashboard at `hash` (a route such as `#/units`) in a new page
 * and waits for the view's root `[data-view=<view>]`. Records dialogs,
 * uncaught page errors, every request and every response of the page.
 * `bypassCSP`: the page runs without its content security policy, so that
 * only its own escaping stands between hostile data and script.
 */
async function open(hash, view, { bypassCSP = false, base = server } = {}) {
  const page = await browser.newPage();
  const seen = { dialogs: [], errors: [], requests: [], responses: [] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => seen.errors.push(String(error && error.message)));
  page.on('request', (request) => seen.requests.push(request.url()));
  page.on('response', (response) => seen.responses.push({ url: response.url(), headers: response.headers() }));
  if (bypassCSP) await page.setBypassCSP(true);
  const response = await page.goto(`${base.url}${hash}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector(`[data-view="${view}"]`);
  return { page, response, seen };
}

/** Waits until the row of unit `id` exists in the page and, if given, shows `status`. */
function waitForRow(page, id, status) {
  return page.waitForFunction(
    (id, status) => [...document.querySelectorAll('[data-unit-id]')].some((e) => e.dataset.unitId === id && (status === null || e.dataset.status === status)),
    {},
    id,
    status === undefined ? null : status,
  );
}

/** Waits until the page's text holds every string of `texts`; on a timeout, names those missing. */
async function waitForTexts(page, texts) {
  const shown = (texts) => texts.filter((t) => !document.body.textContent.includes(t));
  try {
    await page.waitForFunction((texts) => texts.every((t) => document.body.textContent.includes(t)), { timeout: 15_000 }, texts);
  } catch (error) {
    const missing = await page.evaluate(shown, texts);
    throw new Error(`the page did not show ${JSON.stringify(missing)} within 15 s`, { cause: error });
  }
}

/** Clicks the action button `action` of the current view. */
async function clickAction(page, action) {
  const button = await page.waitForSelector(`[data-action="${action}"]:not([disabled])`, { visible: true });
  await button.click();
}

describe('the page shows the engine live', () => {
  test('the overview shows counts by status, and every response carries the content security policy', async () => {
    const { page, response, seen } = await open('#/', 'overview');
    try {
      expect(response.status()).toBe(200);
      expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.waitForSelector('[data-count="idle"]');
      const counts = await page.$$eval('[data-count]', (els) => els.map((e) => e.dataset.count));
      expect(counts).toEqual(expect.arrayContaining(['idle', 'running', 'paused', 'completed', 'error']));
      // The page, its assets, the API reads and the event stream: all carry the CSP header.
      await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('api/')));
      expect(seen.responses.length).toBeGreaterThanOrEqual(3);
      for (const r of seen.responses) {
        expect({ url: r.url, csp: r.headers['content-security-policy'] }).toEqual({ url: r.url, csp: expect.stringContaining("default-src 'none'") });
      }
      // Nothing but the dashboard's own origin was requested.
      const origin = new URL(server.url).origin;
      expect(seen.requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
      expect(seen.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('registered units appear in the units view with their status', async () => {
    const { page, seen } = await open('#/units', 'units');
    try {
      for (const id of ['long', 'toggle', 'etl', ...HOSTILE]) await waitForRow(page, id);
      await waitForRow(page, HOSTILE_FAILING, 'error');
      await waitForRow(page, 'toggle', 'idle');
      expect(seen.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('a long run shows as running while it runs, then as completed, without reloading the page', async () => {
    const { page } = await open('#/units', 'units');
    try {
      await waitForRow(page, 'long', 'idle');
      await page.evaluate(() => {
        window.__sameDocument = true;
      });
      const run = manager.runWorkerById('long');
      await waitForRow(page, 'long', 'running');
      expect(manager.getUnitById('long').status).toBe('running');
      releaseLong();
      await run;
      await waitForRow(page, 'long', 'completed');
      expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
    } finally {
      await page.close();
    }
  });

  test('while the engine changes all the time, the units page reads its list about once a second, and shows the last change', async () => {
    // A manager of its own, where nothing else changes.
    const quiet = createSynchronikManager();
    quiet.registerUnit({ id: 'flicker', run: async () => {} });
    quiet.start();
    const quietServer = await quiet.serveDashboard();
    let changing;
    let page;
    try {
      let seen;
      ({ page, seen } = await open('#/units', 'units', { base: quietServer }));
      const row = 'tr[data-unit-id="flicker"]';
      await page.waitForSelector(row);
      const listReads = () => page.evaluate(() => performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.endsWith('/api/units')).length);
      const before = await listReads();
      // The unit disabled and enabled in turn every 40 ms: the engine's
      // change count moves between any two of the event stream's messages
      // (at most four a second).
      let flips = 0;
      changing = setInterval(() => {
        if (flips++ % 2 === 0) quiet.disableUnit('flicker');
        else quiet.enableUnit('flicker');
      }, 40);
      const t0 = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      clearInterval(changing);
      changing = undefined;
      const reads = (await listReads()) - before;
      const seconds = (Date.now() - t0) / 1000;
      // One read a second at most (a read with every message would be 12).
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(reads).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      // Held back, not lost: the last change is shown (the unit ends
      // disabled, then enabled).
      quiet.disableUnit('flicker');
      await page.waitForSelector(`${row}.off`, { timeout: 15_000 });
      quiet.enableUnit('flicker');
      await page.waitForSelector(`${row}:not(.off)`, { timeout: 15_000 });
      expect(seen.errors).toEqual([]);
    } finally {
      if (changing !== undefined) clearInterval(changing);
      if (page) await page.close();
      await quietServer.close();
      await quiet.stop();
    }
  });

  test('pause, resume and run now clicked in the unit view: the engine acts, JS events follow, the page shows it', async () => {
    const { page, seen } = await open('#/units/toggle', 'unit');
    try {
      await waitForTexts(page, ['toggle']);

      const paused = nextEvent(manager, 'updated', (e) => e.unitId === 'toggle' && e.payload.current === 'paused');
      await clickAction(page, 'pause');
      await paused;
      expect(manager.getUnitById('toggle').status).toBe('paused');
      await page.waitForSelector('[data-view="unit"] [data-status="paused"], [data-view="unit"][data-status="paused"]');
      // Paused: the page offers resume instead.
      const resumed = nextEvent(manager, 'updated', (e) => e.unitId === 'toggle' && e.payload.previous === 'paused');
      await clickAction(page, 'resume');
      await resumed;
      expect(manager.getUnitById('toggle').status).not.toBe('paused');

      const started = nextEvent(manager, 'start', (e) => e.unitId === 'toggle');
      const completed = nextEvent(manager, 'complete', (e) => e.unitId === 'toggle');
      const runsBefore = manager.getUnitById('toggle').meta.runCount;
      await clickAction(page, 'run');
      await started;
      await completed;
      expect(manager.getUnitById('toggle').meta.runCount).toBe(runsBefore + 1);
      await page.waitForSelector('[data-view="unit"] [data-status="completed"], [data-view="unit"][data-status="completed"]');
      expect(seen.dialogs).toEqual([]);
      expect(seen.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('disable and enable clicked in the unit view reach the engine', async () => {
    const { page } = await open('#/units/toggle', 'unit');
    try {
      const disabled = nextEvent(manager, 'updated', (e) => e.unitId === 'toggle' && e.payload.enabled === false);
      await clickAction(page, 'disable');
      await disabled;
      expect(manager.getUnitById('toggle').enabled).toBe(false);
      await page.waitForSelector('[data-action="enable"]', { visible: true });
      const enabled = nextEvent(manager, 'updated', (e) => e.unitId === 'toggle' && e.payload.enabled === true);
      await clickAction(page, 'enable');
      await enabled;
      expect(manager.getUnitById('toggle').enabled).toBe(true);
      await page.waitForSelector('[data-action="disable"]', { visible: true });
    } finally {
      await page.close();
    }
  });

  test('the process view draws the dependency graph: one node per worker, an edge per dependency', async () => {
    const { page, seen } = await open('#/processes/etl', 'process');
    try {
      await page.waitForFunction((n) => document.querySelectorAll('svg [data-node-id]').length === n, {}, GRAPH.length);
      const nodes = await page.$$eval('svg [data-node-id]', (els) => els.map((e) => e.dataset.nodeId));
      expect(nodes.sort()).toEqual(GRAPH.map((w) => w.id).sort());
      const edges = GRAPH.reduce((n, w) => n + w.dependsOn.length, 0);
      const lines = await page.$$eval('svg line, svg path, svg polyline', (els) => els.length);
      expect(lines).toBeGreaterThanOrEqual(edges);
      // The statuses are live: run the process and see every node complete.
      await manager.runProcessById('etl');
      await page.waitForFunction(
        (n) => [...document.querySelectorAll('svg [data-node-id]')].filter((e) => (e.dataset.status || e.closest('[data-status]')?.dataset.status) === 'completed').length === n,
        {},
        GRAPH.length,
      );
      expect(seen.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('hostile ids and names render as text in every view', () => {
  /** [route, view root, texts that must show literally] */
  const VIEWS = [
    ['#/', 'overview', [HOSTILE_FAILING, HOSTILE_ERROR]],
    ['#/units', 'units', [...HOSTILE, HOSTILE_PROCESS, HOSTILE_FAILING]],
    ...HOSTILE.map((id) => [`#/units/${encodeURIComponent(id)}`, 'unit', [id]]),
    [`#/units/${encodeURIComponent(HOSTILE_FAILING)}`, 'unit', [HOSTILE_FAILING, HOSTILE_ERROR]],
    ['#/processes', 'processes', [HOSTILE_PROCESS]],
    [`#/processes/${encodeURIComponent(HOSTILE_PROCESS)}`, 'process', [HOSTILE_PROCESS, ...HOSTILE_STEPS]],
    ['#/pools', 'pools', [HOSTILE_POOL, ...HOSTILE_TASKS, HOSTILE_TASK_ERROR]],
    ['#/schedules', 'schedules', [HOSTILE[0]]],
    ['#/history', 'history', [HOSTILE[1], HOSTILE_FAILING, HOSTILE_ERROR]],
  ];

  test.each(VIEWS.map(([route, view, texts]) => [route, view, texts]))('%s', async (route, view, texts) => {
    // Without the CSP: the page's escaping alone keeps the data inert.
    const { page, seen } = await open(route, view, { bypassCSP: true });
    try {
      await waitForTexts(page, texts);
      if (view === 'process') {
        const nodes = await page.$$eval('svg [data-node-id]', (els) => els.map((e) => e.dataset.nodeId));
        expect(nodes.sort()).toEqual([...HOSTILE_STEPS].sort());
      }
      const dom = await page.evaluate(() => ({
        xss: window.__xss,
        scripts: [...document.scripts].map((s) => new URL(s.src || 'inline:', location.href).pathname),
        handlers: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName} ${a.name}`)),
        images: [...document.querySelectorAll('img, image')].filter((e) => !/^data:/.test(e.getAttribute('src') || e.getAttribute('href') || '')).length,
        jsLinks: [...document.querySelectorAll('a[href]')].filter((a) => a.protocol === 'javascript:').map((a) => a.getAttribute('href')),
      }));
      expect(dom).toEqual({ xss: undefined, scripts: [expect.stringMatching(/assets\/app\.js$/)], handlers: [], images: 0, jsLinks: [] });
      expect(seen.dialogs).toEqual([]);
      expect(seen.errors).toEqual([]);
      // `<img src=x>` as HTML would have fetched "x" next to the page.
      expect(seen.requests.filter((u) => /\/x$/.test(new URL(u).pathname))).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('a blocked event loop in the served process', () => {
  let child;

  afterAll(async () => {
    if (child) await child.stop();
  });

  test('the page shows the banner naming the unit while the block lasts, and drops it after', async () => {
    child = await startDashboardChild(3000);
    const { page, seen } = await open('#/', 'overview', { base: child });
    try {
      await page.waitForSelector('[data-count="idle"]');
      const bannerShows = (unit) => {
        const banner = document.querySelector('[data-testid="blocked-banner"]');
        return banner !== null && banner.checkVisibility() && banner.textContent.includes(unit);
      };
      expect(await page.evaluate(bannerShows, child.unit)).toBe(false);

      child.block();
      const start = await child.next('block-start');
      await page.waitForFunction(bannerShows, { timeout: 10_000 }, child.unit);
      const seenAt = Date.now();
      const end = await child.next('block-end');
      // The banner came up while the child's JavaScript was still blocked.
      expect(seenAt).toBeGreaterThan(start.at);
      expect(seenAt).toBeLessThan(end.at);

      await child.next('complete');
      await page.waitForFunction((unit) => {
        const banner = document.querySelector('[data-testid="blocked-banner"]');
        return banner === null || !banner.checkVisibility() || !banner.textContent.includes(unit);
      }, {}, child.unit);
      expect(seen.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
