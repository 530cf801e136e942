'use strict';

// Whether a Node process using synchronik exits on its own (SPEC §3.4): a
// stopped manager holds nothing that keeps Node alive, a started one does;
// and the watcher sees a blocked event loop from its own thread (SPEC §7).
// Each scenario runs in a child process started in the repository root, so
// that require('synchronik') resolves through the package's self-reference.
// The children wait in real time on purpose: process exit, the system clock
// and a blocked event loop are what these tests are about.

const { runNode } = require('./helpers');

/** Runs `script` with `node -e` and returns what runNode returns. */
const runScript = (script, timeoutMs) => runNode(['-e', script], { timeoutMs });

/** The last line of the child's stdout, parsed as JSON. */
function lastJson(stdout) {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** What to show when a child did not behave. */
const explain = (r) => `code ${r.code}, signal ${r.signal}, timedOut ${r.timedOut}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

test('after `await stop()` the process exits by itself with code 0', async () => {
  const script = `
    const { createSynchronikManager } = require('synchronik');
    const m = createSynchronikManager({ loopInterval: 25, watcherInterval: 30, statsEmissionIntervalMs: 40 });
    let a = 0;
    let b = 0;
    m.registerUnit({ id: 'a', intervalMs: 20, runOnInterval: true, run: () => { a += 1; } });
    m.registerUnit({ id: 'b', intervalMs: 35, runOnInterval: true, run: async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      b += 1;
    } });
    m.registerUnit({ id: 'p', workers: [{ id: 'pw', run: () => 'once' }] });
    m.start();
    setTimeout(async () => {
      await m.stop();
      console.log(JSON.stringify({ a, b, p: m.getUnitStatus('p') }));
    }, 200);
  `;
  const r = await runScript(script, 5000);
  expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
  const out = lastJson(r.stdout);
  expect(out.a).toBeGreaterThan(0);
  expect(out.b).toBeGreaterThan(0);
  expect(out.p).toBe('completed');
});

test('after `await stop({ timeoutMs: 100 })` with a run still pending, the process exits by itself', async () => {
  const script = `
    const { createSynchronikManager } = require('synchronik');
    const m = createSynchronikManager();
    let aborted = false;
    m.registerUnit({ id: 'tick', intervalMs: 20, runOnInterval: true, run: () => {} });
    m.registerUnit({ id: 'hang', intervalMs: 50, runOnInterval: true, timeoutMs: 0, run: (ctx) => {
      ctx.signal.addEventListener('abort', () => { aborted = true; });
      return new Promise(() => {});
    } });
    m.start();
    setTimeout(async () => {
      const before = m.getUnitStatus('hang');
      await m.stop({ timeoutMs: 100 });
      const w = m.getWorkerById('hang');
      console.log(JSON.stringify({ before, status: w.status, code: w.error && w.error.code, aborted }));
    }, 200);
  `;
  const r = await runScript(script, 5000);
  expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
  expect(lastJson(r.stdout)).toEqual({ before: 'running', status: 'error', code: 'ERR_STOPPED', aborted: true });
});

test('a started manager that is never stopped keeps the process alive', async () => {
  const script = `
    const { createSynchronikManager } = require('synchronik');
    const m = createSynchronikManager();
    m.registerUnit({ id: 'w', intervalMs: 100, runOnInterval: true, run: () => {} });
    m.start();
    setTimeout(() => console.log('alive'), 500);
  `;
  const r = await runScript(script, 1500);
  // Killed by the parent after 1.5 s, not exited.
  expect(r.timedOut).toBe(true);
  expect(r.signal).toBe('SIGKILL');
  expect(r.code).toBeNull();
  expect(r.stdout.trim()).toBe('alive');
});

test('an idle manager that was never started does not keep the process alive', async () => {
  const script = `
    const { createSynchronikManager } = require('synchronik');
    const m = createSynchronikManager({ stallThresholdMs: 100 });
    m.registerUnit({ id: 'w', intervalMs: 10, runOnInterval: true, run: () => {} });
    m.runWorkerById('w').then(() => console.log(m.getUnitStatus('w')));
  `;
  const r = await runScript(script, 5000);
  expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
  expect(r.stdout.trim()).toBe('completed');
});

test('JavaScript blocked inside a run is reported as stalled (eventLoop: true) while the block is happening', async () => {
  const script = `
    const { createSynchronikManager } = require('synchronik');
    const m = createSynchronikManager({ stallThresholdMs: 300 });
    const events = [];
    let blockStart = 0;
    let blockEnd = 0;
    m.on('stalled', (e) => events.push({ ...e, at: Date.now() }));
    m.registerUnit({ id: 'calm', intervalMs: 50, runOnInterval: true, run: () => {} });
    m.registerUnit({ id: 'spin', timeoutMs: 0, run: () => {
      blockStart = Date.now();
      while (Date.now() - blockStart < 2000) { /* blocks the event loop */ }
      blockEnd = Date.now();
      return 'done';
    } });
    m.start();
    setTimeout(async () => {
      await m.runWorkerById('spin');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await m.stop();
      console.log(JSON.stringify({ blockStart, blockEnd, status: m.getUnitStatus('spin'), events }));
    }, 100);
  `;
  const r = await runScript(script, 10000);
  expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
  const out = lastJson(r.stdout);
  expect(out.status).toBe('completed');
  const loopEvents = out.events.filter((e) => e.eventLoop === true);
  expect(loopEvents).toHaveLength(1);
  const [e] = loopEvents;
  expect(e.type).toBe('stalled');
  expect(e.unitId).toBe('spin');
  // Seen by the engine's thread during the block: it had lasted at least the
  // threshold but not yet the 2000 ms the run spins for.
  expect(e.runningForMs).toBeGreaterThanOrEqual(300);
  expect(e.runningForMs).toBeLessThan(2000);
  // JavaScript could only receive it once the block was over.
  expect(e.at).toBeGreaterThanOrEqual(out.blockEnd);
  expect(out.blockEnd - out.blockStart).toBeGreaterThanOrEqual(2000);
});
