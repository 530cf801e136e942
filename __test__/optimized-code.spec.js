'use strict';

// Optimized code that must survive what a program does for the first time.
// V8 throws a function's optimized code away when it meets an operation
// that never ran before it was optimized (a branch not taken yet), or an
// object of a layout it was not made for; the runs after it go through
// unoptimized code until V8 optimizes the function again. The drain loop
// (Bridge#pump, and apply, which V8 inlines into it) carries out every
// record, so it must not be thrown away at the first record of a new kind.
// Checked in a child process with V8's own status of a function
// (%GetOptimizationStatus; bit 4: optimized).

const { runNode, runWithNatives: run } = require('./helpers');

/**
 * Runs `script` in a child under V8's trace of every deoptimization and
 * returns what it printed, and the place of each deoptimization (the
 * innermost function's source) and the function whose code was thrown
 * away, printed between the line starting with `from` and the one
 * starting with `to` (the end when there is none).
 * @param {string} script
 * @param {string} from
 * @param {string} [to]
 */
async function deoptimizedPlaces(script, from, to) {
  const r = await runNode(['--trace-deopt-verbose', '-e', script], { timeoutMs: 60000 });
  expect(r.stderr).toBe('');
  const start = r.stdout.indexOf(from);
  const end = to === undefined ? -1 : r.stdout.indexOf(to, start);
  const part = r.stdout.slice(start, end < 0 ? undefined : end);
  return {
    stdout: r.stdout,
    places: [...part.matchAll(/;;; deoptimize at <([^>]*)>/g)].map((m) => m[1]),
    functions: [...part.matchAll(/deoptimizing \S+ <JSFunction (\S*)/g)].map((m) => m[1]),
  };
}

test("the drain loop keeps its optimized code at the first records of kinds a program's runs had not made", async () => {
  const out = await run(`
    const { createSynchronikManager } = require('.');
    const { Bridge } = require('./lib/bridge.js');
    const { pump } = Bridge.prototype;
    const optimized = () => (%GetOptimizationStatus(pump) & 16) !== 0;
    (async () => {
      %PrepareFunctionForOptimization(pump);
      const m = createSynchronikManager({ clock: 'manual' });
      for (let i = 0; i < 20; i++) m.registerUnit({ id: 'w' + i, intervalMs: 10, runOnInterval: true, run: () => i });
      m.start();
      for (let k = 0; k < 20; k++) await m.clock.advance(10);
      %OptimizeFunctionOnNextCall(pump);
      await m.clock.advance(10);
      const before = optimized();
      // Only interval runs so far. Now: the end of a runWorkerById, a
      // failure (its message a string the records name), a pool task,
      // more fires, and stop().
      const failing = m.registerUnit({ id: 'f', run: () => { throw new Error('no'); } });
      const value = await m.runWorkerById('w1');
      await m.runWorkerById('f').catch(() => {});
      const message = failing.error.message;
      const task = await m.useWorkerPool(2).run(() => 7);
      await m.clock.advance(10);
      await m.stop();
      console.log(JSON.stringify({ before, after: optimized(), value: value === undefined, message, task }));
    })();
  `);
  expect(out).toEqual({ before: true, after: true, value: true, message: expect.stringContaining('no'), task: 7 });
});

test("the table of units' lastRun states of a second manager takes the optimized code of the first one's", async () => {
  const out = await run(`
    const { Units } = require('./lib/units.js');
    const { mirrorLastRun } = Units.prototype;
    const optimized = () => (%GetOptimizationStatus(mirrorLastRun) & 16) !== 0;
    const events = { reportListenerError() {} };
    const record = new Float64Array([Date.UTC(2026, 0, 1)]);
    %PrepareFunctionForOptimization(mirrorLastRun);
    // The first manager's units first run out of the order of their slots.
    const first = new Units(events);
    for (const slot of [3, 0, 7, 1, 2]) first.mirrorLastRun(slot, { id: 'a' + slot }, record, 0);
    %OptimizeFunctionOnNextCall(mirrorLastRun);
    first.mirrorLastRun(4, { id: 'a4' }, record, 0);
    const before = optimized();
    const unit = { id: 'b0' };
    new Units(events).mirrorLastRun(0, unit, record, 0);
    console.log(JSON.stringify({ before, after: optimized(), lastRun: unit.lastRun.toISOString() }));
  `);
  expect(out).toEqual({ before: true, after: true, lastRun: '2026-01-01T00:00:00.000Z' });
});

test("a first burst larger than any before keeps the optimized code of the drain loop, the report of outcomes and the statistics of first runs", async () => {
  // V8's trace of every deoptimization (where the code met what it was not
  // made for), from the end of a warm-up of small rounds of fires, through
  // a burst of 20,000 fires due at once: more records than one drain takes,
  // more outcomes in one report than the buffers kept, the first runs of
  // units in tables of rows the warm-up did not reach.
  const script = `
    const { createSynchronikManager } = require('.');
    (async () => {
      const warm = createSynchronikManager({ clock: 'manual' });
      for (let i = 0; i < 200; i++) warm.registerUnit({ id: 'w' + i, intervalMs: 10, runOnInterval: true, timeoutMs: 0, run: () => i });
      warm.start();
      for (let k = 0; k < 150; k++) await warm.clock.advance(10);
      await warm.stop();
      console.log('@@warm-up done');
      const m = createSynchronikManager({ clock: 'manual' });
      let fires = 0;
      for (let i = 0; i < 20000; i++) m.registerUnit({ id: 'b' + i, intervalMs: 100, runOnInterval: true, timeoutMs: 0, run: () => { fires++; } });
      m.start();
      for (let k = 0; k < 3; k++) await m.clock.advance(100);
      console.log('@@fires ' + fires);
      await m.stop();
    })();
  `;
  const { stdout, places } = await deoptimizedPlaces(script, '@@warm-up done');
  expect(stdout).toContain('@@fires 60000');
  expect(places.filter((p) => /lib[\\/](bridge|run-context|units|stats)\.js/.test(p))).toEqual([]);
}, 90000);

test('a second burst of runs by id keeps the optimized code that starts and settles runs (the table of calls, the first settle of a batch)', async () => {
  // As above, for bursts of runWorkerById: each burst empties the table
  // of calls and queues one report, which a warm-up's one burst did
  // before V8 recorded anything.
  const script = `
    const { createSynchronikManager } = require('.');
    const noop = async () => {};
    async function burst(n, prefix) {
      const m = createSynchronikManager();
      for (let i = 0; i < n; i++) m.registerUnit({ id: prefix + i, timeoutMs: 0, run: noop });
      const runs = [];
      for (let i = 0; i < n; i++) runs.push(m.runWorkerById(prefix + i));
      await Promise.all(runs);
      if (prefix === 'w-') console.log('@@runs ' + runs.length);
      await m.stop();
    }
    (async () => {
      await burst(2000, 'warm-');
      console.log('@@warm-up done');
      await burst(20000, 'w-');
    })();
  `;
  const { stdout, places } = await deoptimizedPlaces(script, '@@warm-up done', '@@runs');
  expect(stdout).toContain('@@runs 20000');
  expect(places.filter((p) => /lib[\\/](run-context|id-table)\.js/.test(p))).toEqual([]);
}, 90000);

test('a burst with more runs in flight than any before keeps the optimized code that starts runs (a table of calls that doubles)', async () => {
  // A warm-up of waves of 10 runs never doubles the table of calls past
  // its first length; a burst of 20,000 then doubles it eleven times.
  const script = `
    const { createSynchronikManager } = require('.');
    const noop = async () => {};
    (async () => {
      const m = createSynchronikManager();
      for (let i = 0; i < 20000; i++) m.registerUnit({ id: 'w' + i, timeoutMs: 0, run: noop });
      for (let wave = 0; wave < 200; wave++) {
        const runs = [];
        for (let i = 0; i < 10; i++) runs.push(m.runWorkerById('w' + (wave * 10 + i)));
        await Promise.all(runs);
      }
      console.log('@@warm-up done');
      const runs = [];
      for (let i = 0; i < 20000; i++) runs.push(m.runWorkerById('w' + i));
      await Promise.all(runs);
      console.log('@@runs ' + runs.length);
      await m.stop();
    })();
  `;
  const { stdout, places } = await deoptimizedPlaces(script, '@@warm-up done', '@@runs');
  expect(stdout).toContain('@@runs 20000');
  expect(places.filter((p) => /lib[\\/]id-table\.js/.test(p))).toEqual([]);
}, 90000);

test("the pool of a program's second manager keeps the optimized code of the first one's (pool.run, a task's start)", async () => {
  const script = `
    const { createSynchronikManager } = require('.');
    async function burst(n) {
      const m = createSynchronikManager();
      const pool = m.useWorkerPool(16);
      m.start();
      const tasks = [];
      for (let i = 0; i < n; i++) tasks.push(pool.run(() => i));
      let sum = 0;
      for (const v of await Promise.all(tasks)) sum += v;
      await m.stop();
      return sum;
    }
    (async () => {
      await burst(20000);
      console.log('@@warm-up done');
      console.log('@@sum ' + (await burst(100000)));
    })();
  `;
  const { stdout, places } = await deoptimizedPlaces(script, '@@warm-up done', '@@sum');
  expect(stdout).toContain('@@sum ' + (100000 * 99999) / 2);
  expect(places.filter((p) => /lib[\\/](pool|pools|run-context|id-table|bridge)\.js/.test(p))).toEqual([]);
}, 90000);

test("a program's second manager keeps the optimized code that registers units (the table of units by slot)", async () => {
  const script = `
    const { createSynchronikManager } = require('.');
    function register(n, prefix) {
      const m = createSynchronikManager();
      for (let i = 0; i < n; i++) m.registerUnit({ id: prefix + i, run: () => i });
      return m;
    }
    (async () => {
      await register(2000, 'warm-').stop();
      console.log('@@warm-up done');
      const m = register(20000, 'w-');
      console.log('@@units ' + m.listUnits().length);
      await m.stop();
    })();
  `;
  const { stdout, places } = await deoptimizedPlaces(script, '@@warm-up done', '@@units');
  expect(stdout).toContain('@@units 20000');
  expect(places.filter((p) => /lib[\\/](units|core)\.js/.test(p))).toEqual([]);
}, 90000);

test("a process's start keeps the optimized code that starts its workers' runs (noteBegin)", async () => {
  // A process's object has another layout than its workers': its start
  // goes through a function of its own. (Its end, the run's last record,
  // may still throw away the drain loop's code, depending on when V8
  // optimized it during the warm-up.)
  const script = `
    const { createSynchronikManager } = require('.');
    async function runProcess(n, tag) {
      const m = createSynchronikManager();
      const workers = [];
      for (let i = 0; i < n; i++) workers.push({ id: tag + i, timeoutMs: 0, run: async () => {} });
      m.registerUnit({ id: tag + 'p', runMode: 'parallel', workers });
      await m.runProcessById(tag + 'p');
      if (tag === 'm-') console.log('@@ran ' + workers.filter((w) => w.meta.runCount === 1).length);
      await m.stop();
    }
    (async () => {
      await runProcess(5000, 'w-');
      console.log('@@warm-up done');
      await runProcess(10000, 'm-');
    })();
  `;
  const { stdout, functions } = await deoptimizedPlaces(script, '@@warm-up done', '@@ran');
  expect(stdout).toContain('@@ran 10000');
  expect(functions).not.toContain('noteBegin');
}, 90000);
