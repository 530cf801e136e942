// The web dashboard's screenshots in docs/: `npm run screenshots`.
//
// Builds a manager that looks like a service after a quarter of an hour of
// work — interval workers, a dependency-graph process in the middle of a
// run, a parallel process, an email pool with tasks running, queued and
// done, a worker whose last run failed, a paused and a disabled one, and a
// SQLite store that keeps history — serves its dashboard, and takes a PNG
// of every page in headless Chromium (light colour scheme, 1280 px wide).
//
// The quarter of an hour passes on the manual clock (started 15 minutes
// before now, so the times shown are today's), in steps of 20 ms; a run
// "takes" its time by waiting for the clock to reach its end. The process
// stays up for `--keep` (prints the URL) to look at the page by hand.

import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createSynchronikManager } from '../index.mjs';

const require = createRequire(import.meta.url);
const { launchChromium } = require('./chromium.js');

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DOCS = join(ROOT, 'docs');
const MINUTES = 15;
const STEP_MS = 20;
/** PNGs above this size are reported (the docs keep each under 300 KB). */
const MAX_BYTES = 300 * 1024;

/** Pictures are as tall as the view's content, between these heights (px). */
const MIN_HEIGHT = 420;
const MAX_HEIGHT = 860;

/** The pages to take: file name, route, view root, texts that show once its data is in, [height cap]. */
const SHOTS = [
  ['dashboard-overview.png', '#/', 'overview', ['sync-crm', 'ECONNRESET'], 1_160],
  ['dashboard-units.png', '#/units', 'units', ['fetch-exchange-rates', 'nightly-etl']],
  ['dashboard-unit.png', '#/units/sync-crm', 'unit', ['sync-crm', 'ECONNRESET']],
  ['dashboard-process.png', '#/processes/nightly-etl', 'process', ['load-warehouse']],
  ['dashboard-pools.png', '#/pools', 'pools', ['emails', 'welcome-']],
  ['dashboard-schedules.png', '#/schedules', 'schedules', ['fetch-exchange-rates']],
  ['dashboard-history.png', '#/history', 'history', ['sync-crm']],
];

// ---------------------------------------------------------------------------
// The demo service
// ---------------------------------------------------------------------------

/** A deterministic pseudo-random sequence (so that every run draws the same pictures). */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function buildService(dir) {
  const manager = createSynchronikManager({
    clock: { manual: true, now: Date.now() - MINUTES * 60_000 },
    storage: { sqlite: join(dir, 'service.db') },
    loopInterval: 60_000,
  });
  const clock = manager.clock;
  const rand = random(12);

  // Runs take engine time: each waits until the manual clock has moved on.
  // Once the pictures are taken, every run ends at once.
  let closing = false;
  const sleepers = [];
  const busy = (min, max) =>
    closing ? Promise.resolve() : new Promise((resolve) => sleepers.push({ due: clock.now() + min + rand() * (max - min), resolve }));
  const wake = () => {
    const now = clock.now();
    for (let i = sleepers.length - 1; i >= 0; i--) {
      if (sleepers[i].due <= now) sleepers.splice(i, 1)[0].resolve();
    }
  };
  // Work that stays in flight when the pictures are taken; released at the end.
  const held = [];
  const hold = () => (closing ? Promise.resolve() : new Promise((resolve) => held.push(resolve)));

  manager.registerUnit({ id: 'fetch-exchange-rates', intervalMs: 30_000, runOnInterval: true, maxRetries: 2, retryDelayMs: 2_000, run: () => busy(80, 400) });
  manager.registerUnit({ id: 'poll-inbox', intervalMs: 10_000, runOnInterval: true, run: () => busy(20, 150) });
  manager.registerUnit({ id: 'refresh-search-index', intervalMs: 120_000, runOnInterval: true, run: () => busy(1_500, 4_000) });
  manager.registerUnit({ id: 'send-digest', intervalMs: 3_600_000, runOnInterval: true, run: () => busy(200, 600) });
  manager.registerUnit({ id: 'rotate-api-keys', intervalMs: 86_400_000, runOnInterval: true, run: () => busy(50, 100) });
  let crmFails = false;
  manager.registerUnit({
    id: 'sync-crm',
    intervalMs: 40_000,
    runOnInterval: true,
    maxRetries: 2,
    retryDelayMs: 1_000,
    run: async () => {
      await busy(300, 1_200);
      if (crmFails || rand() < 0.12) throw new Error('ECONNRESET: crm.example.internal closed the connection');
    },
  });
  manager.registerUnit({ id: 'legacy-export', intervalMs: 300_000, run: () => busy(100, 200) });
  manager.registerUnit({ id: 'prune-sessions', intervalMs: 60_000, runOnInterval: true, run: () => busy(30, 90) });
  manager.registerUnit({ id: 'generate-invoices', run: () => busy(400, 900) });

  let etlHold = false;
  const step = (id, dependsOn, min, max) => ({
    id,
    dependsOn,
    timeoutMs: 0,
    run: async () => {
      await busy(min, max);
      if (etlHold && id === 'transform-orders') await hold();
      return { rows: Math.round(1000 + rand() * 9000) };
    },
  });
  manager.registerUnit({
    id: 'nightly-etl',
    workers: [
      step('extract-orders', [], 400, 900),
      step('extract-customers', [], 300, 700),
      step('transform-orders', ['extract-orders', 'extract-customers'], 600, 1_500),
      step('enrich-geo', [{ id: 'extract-customers', condition: (r) => r.rows > 2000 }], 300, 600),
      step('load-warehouse', ['transform-orders', 'enrich-geo'], 800, 1_800),
      step('notify-analysts', ['load-warehouse'], 50, 150),
    ],
  });
  manager.registerUnit({
    id: 'cache-warmers',
    runMode: 'parallel',
    workers: ['products', 'prices', 'categories', 'banners'].map((w) => ({ id: `warm-${w}`, run: () => busy(100, 500) })),
  });

  const emails = manager.useWorkerPool(3, { name: 'emails' });
  manager.on('task', () => {});
  let mailNo = 0;
  const mail = (kind, fail = false) => {
    mailNo += 1;
    const name = `${kind}-${mailNo}`;
    emails.addTask({
      name,
      priority: kind === 'password-reset' ? 5 : 0,
      execute: async () => {
        await busy(200, 1_500);
        if (fail) throw new Error('SMTP 451: mailbox temporarily unavailable');
      },
    });
  };

  manager.start();
  const end = MINUTES * 60_000;
  // Something happens every `every` ms of engine time, starting at `at`.
  const due = (t, every, at = 0) => t >= at && (t - at) % every === 0;
  for (let t = 0; t < end; t += STEP_MS) {
    if (due(t, 5_000)) mail(rand() < 0.2 ? 'password-reset' : 'welcome', rand() < 0.1);
    if (due(t, 300_000, 100_000)) manager.runWorkerById('generate-invoices');
    if (due(t, 120_000, 60_000)) manager.runProcessById('nightly-etl').catch(() => {});
    if (due(t, 90_000, 30_000)) manager.runProcessById('cache-warmers').catch(() => {});
    if (t === end - 120_000) crmFails = true; // its last runs fail: the unit ends in error
    if (t === end - 60_000) {
      etlHold = true;
      manager.runProcessById('nightly-etl').catch(() => {});
    }
    await clock.advance(STEP_MS);
    wake();
    await new Promise((resolve) => setImmediate(resolve));
  }

  // The email pool at the moment of the pictures: three long sends running, a
  // backlog queued behind them.
  for (let k = 0; k < 3; k++) emails.addTask({ name: `newsletter-batch-${k + 1}`, execute: hold });
  for (let k = 0; k < 24; k++) mail(k % 6 === 0 ? 'password-reset' : 'welcome');
  await clock.advance(STEP_MS);
  await manager.updateStatus('legacy-export', 'paused');
  await manager.disableWorker('send-digest');
  await clock.advance(STEP_MS);

  return {
    manager,
    async close() {
      closing = true;
      for (const release of held.splice(0)) release();
      for (const s of sleepers.splice(0)) s.resolve();
      await manager.close();
    },
  };
}

// ---------------------------------------------------------------------------
// The pictures
// ---------------------------------------------------------------------------

async function shoot(browser, url, [file, route, view, texts, maxHeight = MAX_HEIGHT]) {
  const page = await browser.newPage();
  try {
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    await page.goto(`${url}${route}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(`[data-view="${view}"]`);
    await page
      .waitForFunction((texts) => texts.every((t) => document.body.innerText.includes(t)), { timeout: 15_000 }, texts)
      .catch((e) => {
        throw new Error(`${file}: the ${view} view did not show ${texts.map((t) => JSON.stringify(t)).join(', ')} within 15 s`, { cause: e });
      });
    // Two frames: the layout of the data just drawn is painted.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const path = join(DOCS, file);
    const bottom = await page.$eval(`[data-view="${view}"]`, (root) => root.getBoundingClientRect().bottom + window.scrollY);
    const height = Math.round(Math.min(maxHeight, Math.max(MIN_HEIGHT, bottom + 24)));
    await page.screenshot({ path, type: 'png', clip: { x: 0, y: 0, width: page.viewport().width, height }, captureBeyondViewport: true });
    const bytes = statSync(path).size;
    console.log(`${file}  ${(bytes / 1024).toFixed(0)} KB${bytes > MAX_BYTES ? '  (over 300 KB)' : ''}`);
  } finally {
    await page.close();
  }
}

const keep = process.argv.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'synchronik-screenshots-'));
const service = await buildService(dir);
const server = await service.manager.serveDashboard();
let browser;
try {
  if (keep) {
    console.log(`dashboard: ${server.url} (Ctrl-C to stop)`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  } else {
    mkdirSync(DOCS, { recursive: true });
    browser = await launchChromium({ viewport: { width: 1280, height: 860 } });
    for (const shot of SHOTS) {
      // One failed picture does not stop the others.
      await shoot(browser, server.url, shot).catch((e) => {
        console.error(e.message);
        process.exitCode = 1;
      });
    }
  }
} finally {
  if (browser) await browser.close();
  await server.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
}
