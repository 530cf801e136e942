'use strict';

// Headless Chromium for the dashboard's browser tests, its screenshots and
// the benchmark row with the dashboard open (puppeteer-core driving the
// binary of @sparticuz/chromium, both devDependencies).
//
// The browser is kept off the network: every host name but localhost (and the loopback addresses)
// resolves to nothing, and Chromium's own background traffic (component
// updates, safe browsing, metrics, sync, translation) is switched off, so
// the only server it can reach is a dashboard on a loopback address.
//
// @sparticuz/chromium's default flags include --disable-web-security and
// --allow-running-insecure-content; they are dropped so that the pages see
// the same-origin policy and content security policy of an ordinary browser.
//
// Its GPU flags (an in-process GPU, GL through ANGLE on SwiftShader) are
// replaced by --disable-gpu: the dashboard draws no WebGL, and emulated GL
// rasterizes every repaint on two more threads, about three times the CPU
// of software compositing, taken from the cores that the benchmark's
// browser rows share with the measured process.

/** Flags of @sparticuz/chromium that would weaken the page's security model. */
const DROPPED = new Set(['--disable-web-security', '--allow-running-insecure-content', '--disable-site-isolation-trials']);

/** Flags of @sparticuz/chromium that set up its emulated GPU (see above). */
const GPU = /^--(in-process-gpu|ignore-gpu-blocklist|use-gl=|use-angle=|enable-unsafe-swiftshader)/;

const OFFLINE = [
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-sync',
  '--disable-breakpad',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-pings',
  '--safebrowsing-disable-auto-update',
  '--dns-prefetch-disable',
];

/**
 * Launches a headless Chromium: `{ browser }` from puppeteer-core. Runs
 * without the sandbox (needed as root in a container). `viewport` sets the
 * default page size.
 */
async function launchChromium({ viewport = { width: 1280, height: 800 } } = {}) {
  const puppeteer = require('puppeteer-core');
  // The CommonJS build (Jest runs specs without ES module support).
  const chromiumModule = require('@sparticuz/chromium');
  const chromium = chromiumModule.default || chromiumModule;
  const args = chromium.args.filter((a) => !DROPPED.has(a) && !GPU.test(a));
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: [...args, ...OFFLINE, '--disable-gpu', '--no-sandbox'],
    headless: true,
    defaultViewport: viewport,
    protocolTimeout: 60_000,
  });
}

module.exports = { launchChromium };
