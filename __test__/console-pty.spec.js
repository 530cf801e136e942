'use strict';

// The live dashboard under a real pseudo-terminal (SPEC §13): a child
// process runs under util-linux `script`, which gives it a terminal and
// copies what it writes; the test applies that output to a screen and reads
// what the screen shows. The child waits in real time on purpose: what a
// terminal shows over time is what this is about.

const { execFileSync, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT } = require('./helpers');
const { screenOf } = require('./fixtures/screen');

/** util-linux `script` (its -q -f -e -c flags): absent on macOS and Windows, where the test is skipped. */
function hasScript() {
  try {
    return /util-linux/.test(execFileSync('script', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

const CHILD = `
const { createSynchronikManager, createSynchronikDashboard } = require(${JSON.stringify(ROOT)});
const manager = createSynchronikManager();
manager.registerUnit({ id: 'job', run: () => new Promise((resolve) => setTimeout(resolve, 400)) });
manager.registerUnit({ id: 'other', run: () => 1 });
const dashboard = createSynchronikDashboard({ live: true, refreshMs: 50 });
dashboard.attachToManager(manager);
manager.runWorkerById('job').then(() => setTimeout(() => dashboard.stop(), 200));
`;

(hasScript() ? test : test.skip)('a unit goes from running to completed in place on a real terminal', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-pty-'));
  const child = path.join(dir, 'child.js');
  fs.writeFileSync(child, CHILD);
  let output;
  try {
    // The terminal is 80 x 24 (a pseudo-terminal without a size says 0 x 0).
    const command = `stty cols 80 rows 24; ${JSON.stringify(process.execPath)} ${JSON.stringify(child)}`;
    output = await new Promise((resolve, reject) => {
      execFile('script', ['-qfec', command, '/dev/null'], { timeout: 15000, killSignal: 'SIGKILL' }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // Never a full-screen clear or a terminal reset; every redraw goes up the 7 lines of the frame.
  expect(output).not.toContain('\x1b[2J');
  expect(output).not.toContain('\x1bc');
  const ups = [...output.matchAll(/\x1b\[(\d+)A/g)].map((m) => Number(m[1]));
  expect(ups.length).toBeGreaterThanOrEqual(5);
  expect(new Set(ups)).toEqual(new Set([7]));

  // What the screen showed after each frame: the frame stays on the same 7 lines.
  const ends = [...output.matchAll(/\x1b\[\?7h/g)].map((m) => m.index + m[0].length);
  const screens = ends.map((end) => screenOf(output.slice(0, end), 80));
  for (const screen of screens) {
    expect(screen).toHaveLength(7);
    expect(screen[0]).toMatch(/^synchronik \d\d:\d\d:\d\d · 2 units · /);
  }
  const running = screens.findIndex((s) => /^running {3}job \d+ms$/.test(s[2]));
  const completed = screens.findIndex((s) => s[1] === 'status    idle 1 · running 0 · paused 0 · completed 1 · error 0');
  expect(running).toBeGreaterThanOrEqual(0);
  expect(screens[running][1]).toBe('status    idle 1 · running 1 · paused 0 · completed 0 · error 0');
  expect(completed).toBeGreaterThan(running);
  const last = screens[screens.length - 1];
  expect(last[1]).toBe('status    idle 1 · running 0 · paused 0 · completed 1 · error 0');
  expect(last[2]).toBe('running   —');
});
