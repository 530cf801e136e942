'use strict';

// Thread pools and the lifetime of Node (SPEC §15): in a child process, a
// pool that was closed, destroyed or is open but idle does not keep the
// process alive — it exits by itself, with code 0, within 10 s — while a run
// in flight does keep it alive until the run settles. A pool also works from
// inside a worker_threads Worker, which then exits by itself.

const path = require('node:path');
const { runNode, expectCleanExit } = require('./helpers');

const HANDLERS = path.join(__dirname, 'fixtures', 'threads-contract', 'handlers.js');
const INDEX = path.resolve(__dirname, '..', 'index.js');

/**
 * Runs a CommonJS snippet in a child `node -e` (cwd = repo root, so
 * `require('synchronik')` is this package); HANDLERS and INDEX (the path of
 * the package entry) are defined in it. The child is killed after 10 s.
 */
const child = (source) =>
  runNode(['-e', `const HANDLERS = ${JSON.stringify(HANDLERS)};\nconst INDEX = ${JSON.stringify(INDEX)};\n${source}`], {
    timeoutMs: 10_000,
  });

test('after pool.close() the process exits by itself', async () => {
  const result = await child(`
    const { createSynchronikManager } = require('synchronik');
    const pool = createSynchronikManager().useThreadPool({ filename: HANDLERS, size: 2 });
    Promise.all([1, 2, 3].map((n) => pool.run(n))).then(async (results) => {
      await pool.close();
      console.log(JSON.stringify(results));
    });
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toEqual([2, 4, 6]);
});

test('after pool.destroy() with a task spinning on a thread, the process exits by itself', async () => {
  const result = await child(`
    const { createSynchronikManager } = require('synchronik');
    const pool = createSynchronikManager().useThreadPool({ filename: HANDLERS, size: 1 });
    const spinning = pool.run(undefined, { handler: 'spin' }).catch((e) => e.code);
    const wait = () => pool.stats().threads.some((t) => t.busy) ? go() : setTimeout(wait, 10);
    const go = async () => {
      await pool.destroy();
      console.log(JSON.stringify(await spinning));
    };
    wait();
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toBe('ERR_CLOSED');
});

test("after the manager's close() the process exits by itself", async () => {
  const result = await child(`
    const { createSynchronikManager } = require('synchronik');
    const manager = createSynchronikManager();
    const pool = manager.useThreadPool({ filename: HANDLERS, size: 2 });
    pool.run(21).then(async (result) => {
      await manager.close();
      console.log(JSON.stringify(result));
    });
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toBe(42);
});

test('an idle, open pool (used, never closed) does not keep the process alive', async () => {
  const result = await child(`
    const { createSynchronikManager } = require('synchronik');
    const pool = createSynchronikManager().useThreadPool({ filename: HANDLERS, size: 2 });
    Promise.all([pool.run(1), pool.run(2)]).then((results) => console.log(JSON.stringify(results)));
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toEqual([2, 4]);
});

test('a pool that was never used does not keep the process alive', async () => {
  const result = await child(`
    const { createSynchronikManager } = require('synchronik');
    createSynchronikManager().useThreadPool({ filename: HANDLERS, size: 2 });
    console.log('"made"');
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toBe('made');
});

test('a run in flight keeps the process alive until it settles (nothing else holds the event loop)', async () => {
  const result = await child(`
    const { createSynchronikManager } = require('synchronik');
    const pool = createSynchronikManager().useThreadPool({ filename: HANDLERS, size: 1 });
    pool.run('kept', { handler: 'later' }).then((result) => console.log(JSON.stringify(result)));
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toEqual({ later: 'kept' });
});

test('a pool used from inside a worker_threads Worker works, and the Worker exits by itself', async () => {
  const result = await child(`
    const { Worker } = require('node:worker_threads');
    const worker = new Worker(
      \`const { parentPort } = require('node:worker_threads');
       const { createSynchronikManager } = require(\${JSON.stringify(INDEX)});
       const pool = createSynchronikManager().useThreadPool({ filename: \${JSON.stringify(HANDLERS)}, size: 1 });
       pool.run(50).then((v) => parentPort.postMessage(v));\`,
      { eval: true },
    );
    const seen = {};
    worker.on('message', (v) => { seen.message = v; });
    worker.on('error', (e) => { seen.error = String(e && e.stack || e); });
    worker.on('exit', (code) => {
      seen.exitCode = code;
      console.log(JSON.stringify(seen));
    });
  `);
  expectCleanExit(result);
  expect(JSON.parse(result.stdout)).toEqual({ message: 100, exitCode: 0 });
});
