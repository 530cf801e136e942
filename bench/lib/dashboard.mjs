// The web dashboard next to a measurement (scenario 8): a manager's
// dashboard served, and optionally a real browser (headless Chromium, in
// its own process) showing one of its pages with the live updates on.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The dashboard modes: what is attached to the measured manager. */
export const DASHBOARD_MODES = {
  off: { label: 'no dashboard (reference)' },
  blank: { label: 'no dashboard, browser on a blank page', route: null },
  served: { label: 'dashboard served, no client' },
  overview: { label: 'browser on the overview page', route: '#/', view: 'overview' },
  units: { label: 'browser on the units page', route: '#/units', view: 'units' },
};

/**
 * Prepares `mode` in a child (launches the browser when the mode has a
 * page, before anything is timed). Resolves with `{ attach(manager), close() }`:
 * `attach` serves the manager's dashboard and opens the page, once it has
 * drawn its first data; it resolves with `detach()`, which closes both and
 * resolves with what the page received meanwhile: `{ messages, reads }`
 * (event-stream messages, API reads).
 */
export async function openDashboard(mode) {
  const spec = DASHBOARD_MODES[mode];
  if (!spec) throw new Error(`unknown dashboard mode ${mode}`);
  let browser;
  if (spec.route !== undefined) {
    const { launchChromium } = require('../../scripts/chromium.js');
    browser = await launchChromium();
  }
  return {
    async attach(manager) {
      if (mode === 'off') return async () => ({});
      if (spec.route === null) {
        // The browser's own cost, apart from the dashboard's: Chromium up, a page open, nothing served.
        const blank = await browser.newPage();
        await blank.goto('about:blank');
        return async () => {
          await blank.close();
          return {};
        };
      }
      const server = await manager.serveDashboard();
      if (browser === undefined) {
        return async () => {
          await server.close();
          return {};
        };
      }
      const page = await browser.newPage();
      // Counts what the page's EventSource delivers (the page itself is untouched).
      await page.evaluateOnNewDocument(() => {
        window.__messages = 0;
        performance.setResourceTimingBufferSize(1_000_000);
        const Native = window.EventSource;
        window.EventSource = class extends Native {
          constructor(...args) {
            super(...args);
            this.addEventListener('overview', () => window.__messages++);
          }
        };
      });
      await page.goto(`${server.url}${spec.route}`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector(`[data-view="${spec.view}"]`);
      await page.waitForFunction(() => window.__messages > 0);
      const before = await traffic(page);
      return async () => {
        const after = await traffic(page);
        await page.close();
        await server.close();
        return { messages: after.messages - before.messages, reads: after.reads - before.reads };
      };
    },
    async close() {
      if (browser !== undefined) await browser.close();
    },
  };
}

function traffic(page) {
  return page.evaluate(() => ({
    messages: window.__messages,
    reads: performance.getEntriesByType('resource').filter((e) => /\/api\/(?!events)/.test(e.name)).length,
  }));
}
