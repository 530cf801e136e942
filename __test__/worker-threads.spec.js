'use strict';

// The package inside worker_threads: it loads and runs in a Worker, and
// Workers terminated with a started manager (never stopped) neither crash
// the process nor leak much memory.

const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { createSynchronikManager } = require('..');

const INDEX = path.resolve(__dirname, '..', 'index.js');

/** Threads of this process (Linux only; undefined elsewhere). */
function threadCount() {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    return undefined;
  }
}

/** Starts a Worker running `code` (CommonJS, with INDEX defined). */
const startWorker = (code) => new Worker(`const INDEX = ${JSON.stringify(INDEX)};\n${code}`, { eval: true });

/** Resolves with the Worker's first message; rejects on an error or an exit before it. */
function firstMessage(worker) {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before posting`)));
  });
}

const exited = (worker) => new Promise((resolve) => worker.once('exit', resolve));

test('the package loads in a worker thread, runs a worker there and lets the thread end', async () => {
  const worker = startWorker(`
    const { parentPort } = require('node:worker_threads');
    const { createSynchronikManager, SynchronikError } = require(INDEX);
    const m = createSynchronikManager();
    const events = [];
    m.subscribeToEvents((e) => events.push(e.type));
    m.registerUnit({ id: 'w', run: async (ctx) => ({ answer: 21 * 2, attempt: ctx.attempt }) });
    let result;
    m.onComplete((e) => { result = e.result; });
    m.runWorkerById('w').then(() => {
      const w = m.getWorkerById('w');
      parentPort.postMessage({
        status: w.status,
        runCount: w.meta.runCount,
        result,
        events,
        errorClass: typeof SynchronikError,
      });
    });
  `);
  const done = exited(worker);
  const message = await firstMessage(worker);
  expect(message).toEqual({
    status: 'completed',
    runCount: 1,
    result: { answer: 42, attempt: 1 },
    events: ['updated', 'start', 'updated', 'complete'],
    errorClass: 'function',
  });
  // Nothing is started: the thread ends by itself.
  expect(await done).toBe(0);
});

test('a manager with interval runs works in a worker thread and stop() lets the thread end', async () => {
  const worker = startWorker(`
    const { parentPort } = require('node:worker_threads');
    const { createSynchronikManager } = require(INDEX);
    const m = createSynchronikManager();
    let runs = 0;
    m.registerUnit({ id: 'tick', intervalMs: 10, runOnInterval: true, run: () => { runs += 1; } });
    m.start();
    const poll = setInterval(async () => {
      if (runs < 3) return;
      clearInterval(poll);
      await m.stop();
      parentPort.postMessage({ runs });
    }, 5);
  `);
  const done = exited(worker);
  const message = await firstMessage(worker);
  expect(message.runs).toBeGreaterThanOrEqual(3);
  expect(await done).toBe(0);
});

test('20 workers terminated with a started manager: no crash, bounded memory growth', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { createSynchronikManager } = require(INDEX);
    const m = createSynchronikManager({ loopInterval: 5, stallThresholdMs: 20 });
    let runs = 0;
    m.registerUnit({ id: 'tick', intervalMs: 2, runOnInterval: true, overlap: 'allow', run: async () => {
      runs += 1;
      // Runs that take real time, so that terminate() finds some in flight.
      await new Promise((resolve) => setTimeout(resolve, 3));
      return new Array(100).fill(runs);
    } });
    m.registerUnit({ id: 'p', workers: [{ id: 'pw', timeoutMs: 0, run: () => new Promise(() => {}) }] });
    m.start();
    const poll = setInterval(() => {
      if (runs >= 3) {
        clearInterval(poll);
        parentPort.postMessage({ runs });
      }
    }, 2);
  `;
  // One Worker first, so that loading the addon is not counted as growth.
  {
    const w = startWorker(code);
    await firstMessage(w);
    await w.terminate();
  }
  const rssBefore = process.memoryUsage().rss;
  const threadsBefore = threadCount();
  for (let i = 0; i < 20; i++) {
    const w = startWorker(code);
    const message = await firstMessage(w);
    expect(message.runs).toBeGreaterThanOrEqual(3);
    // Terminated without stopping the manager, while runs are in flight.
    const exitCode = await w.terminate();
    expect(exitCode).toBe(1);
  }
  const growthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  expect(growthMb).toBeLessThan(200);
  // Each terminated Worker's engine thread is gone with it (20 would remain otherwise).
  if (threadsBefore !== undefined) expect(threadCount()).toBeLessThan(threadsBefore + 8);

  // The main thread's own managers still work.
  const m = createSynchronikManager();
  m.registerUnit({ id: 'w', run: async () => 'main' });
  await m.runWorkerById('w');
  expect(m.getUnitStatus('w')).toBe('completed');
  await m.stop({ timeoutMs: 0 });
});
