'use strict';

// Child-process tests: the package entries as users load them (CJS require
// and ESM import through the package's self-reference, cwd = repo root), and
// Node's lifetime: the engine's thread and timers must not keep a finished
// program alive, and must keep it alive while work is in flight.

const { runNode, expectCleanExit } = require('./helpers');

/** Runs a CommonJS snippet with `node -e`. */
const cjs = (source, options) => runNode(['-e', source], options);
/** Runs an ES module snippet with `node --input-type=module -e`. */
const esm = (source, options) => runNode(['--input-type=module', '-e', source], options);

describe('package entries', () => {
  test('require("synchronik") exposes createSynchronikManager and SynchronikError', async () => {
    const result = await cjs(`
      const pkg = require('synchronik');
      const { createSynchronikManager, SynchronikError } = pkg;
      const m = createSynchronikManager();
      console.log(JSON.stringify({
        createSynchronikManager: typeof createSynchronikManager,
        SynchronikError: typeof SynchronikError,
        errorIsError: new SynchronikError('x', 'ERR_X') instanceof Error,
        code: new SynchronikError('x', 'ERR_X').code,
        name: new SynchronikError('x', 'ERR_X').name,
        sameAsRelative: pkg === require('./index.js'),
        hasOn: typeof m.on,
      }));
    `);
    expectCleanExit(result);
    expect(JSON.parse(result.stdout)).toEqual({
      createSynchronikManager: 'function',
      SynchronikError: 'function',
      errorIsError: true,
      code: 'ERR_X',
      name: 'SynchronikError',
      sameAsRelative: true,
      hasOn: 'function',
    });
  });

  test('import from "synchronik" works (ESM entry), named and default, same objects as require', async () => {
    const result = await esm(`
      import { createSynchronikManager, SynchronikError } from 'synchronik';
      import synchronik from 'synchronik';
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const cjs = require('synchronik');
      const m = createSynchronikManager();
      const w = { id: 'w', run: async (ctx) => 'hello from ' + ctx.unitId };
      m.registerUnit(w);
      let result;
      m.onComplete((e) => { result = e.result; });
      await m.runWorkerById('w');
      let timeout;
      m.registerUnit({ id: 't', timeoutMs: 10, run: () => new Promise(() => {}) });
      await m.runWorkerById('t');
      timeout = m.getUnitById('t').error;
      console.log(JSON.stringify({
        result,
        status: w.status,
        sameFactory: createSynchronikManager === cjs.createSynchronikManager,
        sameError: SynchronikError === cjs.SynchronikError,
        defaultHasFactory: synchronik.createSynchronikManager === createSynchronikManager,
        timeoutIsSynchronikError: timeout instanceof SynchronikError,
        timeoutCode: timeout.code,
      }));
    `);
    expectCleanExit(result);
    expect(JSON.parse(result.stdout)).toEqual({
      result: 'hello from w',
      status: 'completed',
      sameFactory: true,
      sameError: true,
      defaultHasFactory: true,
      timeoutIsSynchronikError: true,
      timeoutCode: 'ERR_TIMEOUT',
    });
  });

  test('the relative ESM file index.mjs imports too', async () => {
    const result = await esm(`
      import { createSynchronikManager } from './index.mjs';
      console.log(typeof createSynchronikManager);
    `);
    expectCleanExit(result);
    expect(result.stdout.trim()).toBe('function');
  });
});

describe('Node process lifetime', () => {
  test('a finished run does not keep Node alive (default 10 s timeout included)', async () => {
    // The worker has the default timeoutMs (10000): if the engine's timeout
    // timer or thread held Node, the child would live ~10 s or forever.
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      // A run that takes real time (a timer of its own) while the engine's timeout waits.
      m.registerUnit({ id: 'w', run: () => new Promise((r) => setTimeout(() => r('v'), 20)) });
      m.runWorkerById('w').then(() => console.log('done'));
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe('done\n');
    expect(result.ms).toBeLessThan(4000);
  });

  test('a manager with units, listeners and finished process runs lets Node exit', async () => {
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      m.subscribeToEvents(() => {});
      m.registerUnit({ id: 'p', runMode: 'parallel', workers: [
        { id: 'a', run: async () => 1 },
        { id: 'b', maxRetries: 1, retryDelayMs: 10, run: async () => { throw new Error('no'); } },
      ] });
      m.runProcessById('p').then(() => console.log('done', m.getUnitStatus('p'), m.getUnitStatus('b')));
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe('done completed error\n');
    expect(result.ms).toBeLessThan(4000);
  });

  test('managers dropped without stop() are collected, and their engine threads end', async () => {
    const result = await runNode(['--expose-gc', '-e', `
      const fs = require('node:fs');
      const os = require('node:os');
      const path = require('node:path');
      const { createSynchronikManager } = require('synchronik');
      const native = require('./lib/native.js');
      const threads = () => fs.readdirSync('/proc/self/task').length;
      const before = threads();
      const handlesBefore = native.engineHandlesInUse();
      let collected = 0;
      const registry = new FinalizationRegistry(() => collected++);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-gc-'));
      (() => {
        for (let i = 0; i < 20; i++) {
          // Some with a SQLite store (a writer thread of its own), all with units and listeners.
          const m = createSynchronikManager(i % 4 === 0 ? { storage: { sqlite: path.join(dir, i + '.db') } } : {});
          m.registerUnit({ id: 'w', run: async () => 1 });
          m.on('complete', () => {});
          registry.register(m, i);
        }
      })();
      const during = threads();
      // Collection and thread exit happen in real time: wait up to 1 s for them.
      const pause = (n) => new Promise((r) => setTimeout(r, n));
      (async () => {
        for (let k = 0; k < 20 && (collected < 20 || threads() > before); k++) {
          global.gc();
          await pause(50);
        }
        const after = threads();
        const handlesAfter = native.engineHandlesInUse();
        // A new manager takes a freed handle and works.
        const m = createSynchronikManager();
        m.registerUnit({ id: 'again', run: async () => 'ran' });
        let result;
        m.on('complete', (e) => (result = e.result));
        await m.runWorkerById('again');
        const handlesWithOne = native.engineHandlesInUse();
        console.log(JSON.stringify({ before, during, after, collected, handlesBefore, handlesAfter, handlesWithOne, result }));
        fs.rmSync(dir, { recursive: true, force: true });
      })();
    `]);
    expectCleanExit(result);
    const { before, during, after, collected, handlesBefore, handlesAfter, handlesWithOne, result: ran } = JSON.parse(result.stdout);
    expect(during).toBeGreaterThanOrEqual(before + 20);
    expect(collected).toBe(20);
    expect(after).toBe(before);
    // The engines' handles are free again (reused by later managers).
    expect(handlesAfter).toBe(handlesBefore);
    expect(handlesWithOne).toBe(handlesBefore + 1);
    expect(ran).toBe('ran');
  });

  test('creating a manager starts no timer', async () => {
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      m.registerUnit({ id: 'w', run: () => {} });
      console.log('created');
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe('created\n');
    expect(result.ms).toBeLessThan(4000);
  });

  test('Node stays alive through a 200 ms retry delay until the run finishes', async () => {
    // Between the attempts nothing of the user's holds the event loop: only
    // the engine's pending retry does.
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      let attempts = 0;
      m.registerUnit({ id: 'w', maxRetries: 1, retryDelayMs: 200, run: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('first attempt fails');
        return 'ok';
      } });
      const start = Date.now();
      m.runWorkerById('w').then(() => {
        console.log('finished', m.getUnitStatus('w'), attempts, Date.now() - start >= 195);
      });
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe('finished completed 2 true\n');
    expect(result.ms).toBeLessThan(5000);
  });

  test('Node stays alive while a run waits for its engine timeout (no JS timer)', async () => {
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      m.registerUnit({ id: 'w', timeoutMs: 200, run: (ctx) => new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      }) });
      m.runWorkerById('w').then(() => console.log('finished', m.getUnitById('w').error.code));
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe('finished ERR_TIMEOUT\n');
  });

  test('Node stays alive through an isolated process delay', async () => {
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      m.registerUnit({ id: 'p', runMode: 'isolated', isolationDelayMs: 150, workers: [
        { id: 'a', run: () => 1 }, { id: 'b', run: () => 2 },
      ] });
      const start = Date.now();
      m.runProcessById('p').then(() => console.log('finished', m.getUnitStatus('p'), Date.now() - start >= 295));
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe('finished completed true\n');
  });

  test('misbehaving runs and listeners never crash the process', async () => {
    // Node 20 ends the process on an unhandled rejection; none may escape.
    const result = await cjs(`
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager();
      const reported = [];
      m.on('listenerError', (e) => reported.push(e.error.message));
      m.on('updated', () => { throw new Error('listener'); });
      const units = [
        { id: 'sync-throw', run: () => { throw new Error('sync'); } },
        { id: 'reject-undefined', run: () => Promise.reject(undefined) },
        { id: 'throw-string', run: async () => { throw 'str'; } },
        { id: 'never', timeoutMs: 30, run: () => new Promise(() => {}) },
        { id: 'late-reject', timeoutMs: 20, run: () => new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 60)) },
        { id: 'bad-hook', onError: () => { throw new Error('hook'); }, run: () => { throw new Error('x'); } },
        { id: 'async-hook', onComplete: async () => { throw new Error('async hook'); }, run: () => 1 },
        { id: 'bad-delay', maxRetries: 1, retryDelayMs: () => { throw new Error('delay fn'); }, run: () => { throw new Error('y'); } },
      ];
      for (const u of units) m.registerUnit(u);
      m.registerUnit({ id: 'p', workers: [{ id: 'pw', run: () => { throw new Error('in process'); } }] });
      (async () => {
        for (const u of units) await m.runWorkerById(u.id);
        await m.runProcessById('p').catch((e) => console.log('process rejected', e.code));
        // Past the late rejection (60 ms of real time): it must change nothing.
        await new Promise((r) => setTimeout(r, 80));
        console.log(units.map((u) => m.getUnitStatus(u.id)).join(','));
        console.log('reported', reported.length > 0);
      })();
    `);
    expectCleanExit(result);
    expect(result.stdout).toBe(
      'process rejected ERR_WORKER_FAILED\n' +
        'error,error,error,error,error,error,completed,error\n' +
        'reported true\n',
    );
  });
});
