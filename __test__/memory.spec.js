'use strict';

// What long-running use leaves behind (the soak suite, `npm run soak`,
// measures RSS; these check the engine's own tables, which is cheap and
// deterministic): slots of released units are reused, and the room a burst
// took is given back once the work is done. `_native.memory()` is the
// binding's internal report of that room, in entries.

const path = require('node:path');
const { createSynchronikManager } = require('..');
const { runNode } = require('./helpers');

const room = (manager) => manager._native.memory();

describe('register/release churn', () => {
  test('keeps the slot tables as small as the units registered at once', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'resident', run: () => 'r' });
    for (let k = 0; k < 20_000; k++) {
      manager.registerUnit({ id: `u${k}`, run: () => k });
      manager.releaseUnit(`u${k}`);
    }
    expect(manager.listUnits().map((u) => u.id)).toEqual(['resident']);
    const { slots, slotsWaiting } = room(manager);
    expect(slots).toBeLessThanOrEqual(3);
    expect(slotsWaiting).toBeLessThanOrEqual(1);
    expect(manager._units.length).toBeLessThanOrEqual(3);
    expect(manager._kinds.length).toBeLessThanOrEqual(3);
  });

  test('the tables shrink back when units only go', () => {
    const manager = createSynchronikManager();
    for (let k = 0; k < 5_000; k++) manager.registerUnit({ id: `u${k}`, run: () => k });
    expect(room(manager).slots).toBe(5_000);
    for (let k = 4_999; k >= 0; k--) manager.releaseUnit(`u${k}`);
    expect(manager.listUnits()).toEqual([]);
    expect(room(manager).slots).toBeLessThan(1_024);
  });

  test('a unit in a reused slot is itself: its state, events and lookups', async () => {
    const manager = createSynchronikManager();
    const a = { id: 'a', run: () => 'from a' };
    manager.registerUnit(a);
    manager.registerUnit({ id: 'spacer', run: () => 0 });
    await manager.runWorkerById('a');
    manager.releaseUnit('a');
    // Registered twice so that the second one certainly takes a's slot.
    const b = { id: 'b', run: () => 'from b' };
    manager.registerUnit(b);
    const c = { id: 'c', run: () => 'from c' };
    manager.registerUnit(c);
    const completed = [];
    manager.on('complete', (e) => completed.push([e.unitId, e.result]));
    await manager.runWorkerById('b');
    await manager.runWorkerById('c');
    expect(completed).toEqual([
      ['b', 'from b'],
      ['c', 'from c'],
    ]);
    expect(manager.getUnitById('a')).toBeUndefined();
    expect(manager.getWorkerById('b')).toBe(b);
    expect(manager.getWorkerById('c')).toBe(c);
    expect(a.meta.runCount).toBe(1);
    expect(b.meta.runCount).toBe(1);
    expect(manager.listUnits().map((u) => u.id)).toEqual(['spacer', 'b', 'c']);
  });

  test('a unit registered by a listener before the release was carried out keeps its own slot', async () => {
    const manager = createSynchronikManager();
    let release;
    const held = new Promise((resolve) => (release = resolve));
    manager.registerUnit({ id: 'busy', run: () => held });
    const running = manager.runWorkerById('busy');
    let late;
    manager.on('error', (e) => {
      // Delivered in the same batch of records as the release, before it.
      if (e.unitId === 'busy') late = manager.registerUnit({ id: 'late', run: () => 'late' });
    });
    manager.releaseUnit('busy');
    await running;
    release();
    expect(late).toBeDefined();
    expect(manager.getUnitById('late')).toBe(late);
    expect(manager.listUnits()).toEqual([late]);
    await manager.runWorkerById('late');
    expect(late.status).toBe('completed');
  });

  test('a worker released from a process leaves it: a unit in its old slot is not run by the process', async () => {
    const manager = createSynchronikManager();
    const ran = [];
    const step = (id) => ({ id, run: () => ran.push(id) });
    manager.registerUnit({ id: 'p', runMode: 'sequential', workers: [step('w1'), step('w2'), step('w3')] });
    manager.releaseUnit('w2');
    manager.registerUnit(step('stranger'));
    await manager.runProcessById('p');
    expect(ran).toEqual(['w1', 'w3']);
  });
});

describe('bursts', () => {
  test('the pool gives back the room of a burst of pool.run tasks once idle', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useWorkerPool(8);
    pool.start();
    const n = 100_000;
    const runs = new Array(n);
    for (let i = 0; i < n; i++) runs[i] = pool.run(() => i);
    await Promise.resolve();
    expect(room(manager).taskCapacity).toBeGreaterThanOrEqual(n);
    const results = await Promise.all(runs);
    expect(results[n - 1]).toBe(n - 1);
    await pool.onIdle();
    const after = room(manager);
    expect(after.taskCapacity).toBeLessThanOrEqual(2048);
    expect(after.runCapacity).toBeLessThanOrEqual(2048);
    expect(after.outboxCapacity).toBeLessThanOrEqual(4 * 4096);
    await manager.stop();
  });

  test("a burst of records larger than the engine's queue keeps arrives whole and in order, and its room is given back", async () => {
    // 3,000 interval workers due at the same instant: about 20,000 records
    // in one burst, more than the 16,384 the queue keeps room for, drained
    // 1,024 at a time. Their runs start in the order they were armed.
    const manager = createSynchronikManager({ clock: { manual: true } });
    const n = 3000;
    const started = [];
    const ran = new Array(n).fill(0);
    for (let w = 0; w < n; w++) {
      manager.registerUnit({ id: `w${w}`, intervalMs: 10, runOnInterval: true, timeoutMs: 0, run: () => void ran[w]++ });
    }
    manager.subscribeToEvents((event) => {
      if (event.type === 'start') started.push(event.unitId);
    });
    manager.start();
    const expected = Array.from({ length: n }, (_, w) => `w${w}`);
    for (let round = 1; round <= 3; round++) {
      started.length = 0;
      await manager.clock.advance(10);
      expect(started).toEqual(expected);
      expect(ran.every((count) => count === round)).toBe(true);
      expect(room(manager).outboxCapacity).toBeLessThanOrEqual(4 * 4096);
    }
    await manager.stop();
  });

  test('a long synchronous loop of pool.run hands its tasks to the engine in parts; none runs before the loop returns', async () => {
    const manager = createSynchronikManager();
    const pool = manager.useWorkerPool(2);
    pool.start();
    const ran = [];
    const n = 20_000;
    const runs = [];
    for (let i = 0; i < n; i++) runs.push(pool.run(() => void ran.push(i)));
    // Before the microtask: most of them are the engine's already (not a
    // list of 20,000 waiting in JavaScript), and none ran inside pool.run.
    expect(room(manager).taskCapacity).toBeGreaterThanOrEqual(16_384);
    expect(ran).toEqual([]);
    await Promise.all(runs);
    expect(ran).toEqual(Array.from({ length: n }, (_, i) => i));
    // A loop whose last part was handed over whole, nothing left for the microtask, runs too.
    const whole = [];
    for (let i = 0; i < 8192; i++) whole.push(pool.run(() => i));
    expect((await Promise.all(whole))[8191]).toBe(8191);
    await manager.stop();
  });

  test('the timer queue gives back the room of a burst of timeouts', async () => {
    const manager = createSynchronikManager({ clock: 'manual' });
    const n = 5_000;
    for (let k = 0; k < n; k++) manager.registerUnit({ id: `w${k}`, timeoutMs: 60_000, run: () => k });
    const runs = [];
    for (let k = 0; k < n; k++) runs.push(manager.runWorkerById(`w${k}`));
    expect(room(manager).timerCapacity).toBeGreaterThanOrEqual(n);
    await Promise.all(runs);
    expect(room(manager).timerCapacity).toBeLessThanOrEqual(1024);
  });
});

describe('idle units', () => {
  // A registered unit that never ran holds its status, enabled and meta
  // nowhere (they are accessors until written): what 20,000 registrations
  // add to the JavaScript heap is the tables' entries. With the three fields
  // written and a meta object made for each, it was about 130 bytes a unit.
  test('an idle registered worker keeps less than 80 bytes of the JavaScript heap beyond its object', async () => {
    const script = `
      const { createSynchronikManager } = require(${JSON.stringify(path.join(__dirname, '..'))});
      const n = 20000;
      const run = () => 1;
      const m = createSynchronikManager();
      const items = [];
      for (let i = 0; i < n; i++) items.push({ id: 'w' + i, run });
      // The tables grown to their size first: what is measured is the units' share.
      for (let i = 0; i < n; i++) m.registerUnit({ id: 'warm' + i, run });
      for (let i = 0; i < n; i++) m.releaseUnit('warm' + i);
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      for (const w of items) m.registerUnit(w);
      gc(); gc();
      const perUnit = (process.memoryUsage().heapUsed - before) / n;
      if (m.listUnits().length !== n) throw new Error('not all registered');
      console.log(JSON.stringify({ perUnit, status: items[7].status, meta: items[7].meta }));
    `;
    const { code, stdout, stderr } = await runNode(['--expose-gc', '-e', script], { timeoutMs: 60_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { perUnit, status, meta } = JSON.parse(stdout);
    expect(status).toBe('idle');
    expect(meta).toEqual({ runCount: 0, executionTimesMs: [], averageExecutionTimeMs: 0 });
    expect(perUnit).toBeGreaterThan(0);
    expect(perUnit).toBeLessThan(80);
  });

  // What a registration allocates and drops still costs memory: the young
  // generation's pages that 100,000 registrations write stay resident. A
  // closure in validateUnit's parameter list made every call allocate a
  // context for its parameters, about 48 bytes (3 MB of RSS at 100,000
  // workers). V8's sampling heap profiler, counting what the collector
  // took as well, sees every allocation made under validateUnit.
  test('validating a unit for registration allocates nothing in the JavaScript heap but what it hands on', async () => {
    const script = `
      const { Session } = require('node:inspector/promises');
      const { createSynchronikManager } = require(${JSON.stringify(path.join(__dirname, '..'))});
      (async () => {
        const run = () => 1;
        const m = createSynchronikManager({ clock: 'manual' });
        for (let i = 0; i < 2000; i++) m.registerUnit({ id: 'warm' + i, run, schedule: { cron: '0 0 * * *' } });
        const session = new Session();
        session.connect();
        // What registering \`items\` allocates, in all and under validateUnit, per item.
        const measure = async (items) => {
          await session.post('HeapProfiler.startSampling', { samplingInterval: 32, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
          for (const w of items) m.registerUnit(w);
          const { profile } = await session.post('HeapProfiler.stopSampling');
          let total = 0;
          let validating = 0;
          (function walk(node, under) {
            const here = under || node.callFrame.functionName === 'validateUnit';
            total += node.selfSize;
            if (here) validating += node.selfSize;
            node.children.forEach((child) => walk(child, here));
          })(profile.head, false);
          return { perUnit: total / items.length, validatingPerUnit: validating / items.length };
        };
        const plain = await measure(Array.from({ length: 20000 }, (_, i) => ({ id: 'w' + i, run })));
        const cron = await measure(Array.from({ length: 5000 }, (_, i) => ({ id: 'c' + i, run, schedule: { cron: (i % 60) + ' 0-59/5 * * * *', timezone: 'UTC' } })));
        console.log(JSON.stringify({ plain, cron, units: m.listUnits().length }));
      })();
    `;
    const { code, stdout, stderr } = await runNode(['-e', script], { timeoutMs: 60_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { plain, cron, units } = JSON.parse(stdout);
    expect(units).toBe(2_000 + 20_000 + 5_000);
    // The profile sees the registrations (the tables' growth at least).
    expect(plain.perUnit).toBeGreaterThan(10);
    // (What the optimizing compiler makes while the loop runs counts too: about 10 bytes a unit.)
    expect(plain.validatingPerUnit).toBeLessThan(24);
    // A cron worker's check makes the engine's spec of its schedule, which
    // the registration takes (about 175 bytes in all); the keys of the
    // schedule are looked at without an array, its cron without a trimmed
    // copy (about 340 bytes with them).
    expect(cron.validatingPerUnit).toBeLessThan(250);
  });
});

describe('queued pool.run tasks', () => {
  // A burst of pool.run calls waits in one list per part of 4,096 tasks
  // for its microtask. Grown by pushes, each list was copied about twenty
  // times on the way (about 65 bytes of garbage a task) and kept up to
  // half its length unused; after a part, the next list is made as long
  // as a part.
  test('a long synchronous burst of pool.run allocates the promise, its resolve function and three places a task', async () => {
    const script = `
      const { Session } = require('node:inspector/promises');
      const { createSynchronikManager } = require(${JSON.stringify(path.join(__dirname, '..'))});
      (async () => {
        const task = () => 1;
        const m = createSynchronikManager();
        const pool = m.useWorkerPool(4);
        for (let i = 0; i < 20000; i++) pool.run(task);
        await new Promise((r) => setImmediate(r));
        const session = new Session();
        session.connect();
        await session.post('HeapProfiler.startSampling', { samplingInterval: 32, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        const n = 100000;
        for (let i = 0; i < n; i++) pool.run(task);
        const { profile } = await session.post('HeapProfiler.stopSampling');
        await new Promise((r) => setImmediate(r));
        let underRun = 0;
        (function walk(node, under) {
          const here = under || node.callFrame.functionName === 'run';
          if (here) underRun += node.selfSize;
          node.children.forEach((child) => walk(child, here));
        })(profile.head, false);
        console.log(JSON.stringify({ perTask: underRun / n, queued: m.getEngineStats().engine.queued }));
        process.exit(0);
      })();
    `;
    const { code, stdout, stderr } = await runNode(['-e', script], { timeoutMs: 60_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { perTask, queued } = JSON.parse(stdout);
    expect(queued).toBe(120_000);
    // The promise, its resolve and reject functions and their context
    // (about 225 bytes), three places in the list (24): about 245 in all,
    // about 310 with the lists grown by pushes.
    expect(perTask).toBeGreaterThan(200);
    expect(perTask).toBeLessThan(280);
  });
});

describe('first runs', () => {
  // A unit's first run gives its object the state of its fields (lastRun's
  // included); its statistics, while nobody reads its meta, go into a row
  // of numbers outside the JavaScript heap (see stats.js, recordInRow).
  // With a TimesState and its ring made at every first run it was about
  // 400 bytes a unit; about 170 without, with a state of its own for
  // lastRun; about 145 now.
  test("a worker's first run keeps less than 250 bytes of the JavaScript heap while its meta is unread", async () => {
    const script = `
      const { createSynchronikManager } = require(${JSON.stringify(path.join(__dirname, '..'))});
      (async () => {
        const n = 20000;
        const run = async () => 1;
        const m = createSynchronikManager();
        // The tables grown to their size first: what is measured is the runs' share.
        for (let i = 0; i < n; i++) m.registerUnit({ id: 'warm' + i, run });
        await Promise.all(Array.from({ length: n }, (_, i) => m.runWorkerById('warm' + i)));
        for (let i = 0; i < n; i++) m.releaseUnit('warm' + i);
        const items = [];
        for (let i = 0; i < n; i++) items.push({ id: 'w' + i, run });
        for (const w of items) m.registerUnit(w);
        await new Promise((r) => setTimeout(r, 10));
        gc(); gc();
        const before = process.memoryUsage().heapUsed;
        let runs = [];
        for (const w of items) runs.push(m.runWorkerById(w.id));
        await Promise.all(runs);
        runs = null;
        await new Promise((r) => setTimeout(r, 10));
        gc(); gc();
        const perUnit = (process.memoryUsage().heapUsed - before) / n;
        console.log(JSON.stringify({ perUnit, status: items[7].status, meta: items[7].meta }));
        await m.stop();
      })();
    `;
    const { code, stdout, stderr } = await runNode(['--expose-gc', '-e', script], { timeoutMs: 60_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { perUnit, status, meta } = JSON.parse(stdout);
    expect(status).toBe('completed');
    expect(meta.runCount).toBe(1);
    expect(meta.executionTimesMs).toHaveLength(1);
    expect(meta.lastDurationMs).toBe(meta.executionTimesMs[0]);
    expect(perUnit).toBeGreaterThan(0);
    expect(perUnit).toBeLessThan(250);
  });
});
