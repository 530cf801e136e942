'use strict';

// Defects found by the model-based test (__test__/model.spec.js), each
// shrunk to a small regular test.

const { createSynchronikManager } = require('..');
const { recordEvents, describeEvent } = require('./helpers');

const managers = [];
function manual(options = {}) {
  const m = createSynchronikManager({ clock: 'manual', ...options });
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

test('stopAll announces only the units it pauses: one already paused gets no updated event', () => {
  const m = manual();
  m.registerUnit({
    id: 'p',
    workers: [
      { id: 'p1', run: () => 1 },
      { id: 'p2', status: 'paused', run: () => 2 },
      { id: 'p3', run: () => 3 },
    ],
  });
  const { events } = recordEvents(m);
  m.stopAll();
  expect(events.map(describeEvent)).toEqual(['updated:p:idle>paused', 'updated:p1:idle>paused', 'updated:p3:idle>paused']);
  m.stopAll();
  expect(events).toHaveLength(3);
  expect(m.listUnits().map((u) => u.status)).toEqual(['paused', 'paused', 'paused', 'paused']);
});

test("releasing an interval worker with a queued fire (overlap 'queue') does not run it again", async () => {
  const m = manual();
  const calls = [];
  m.registerUnit({
    id: 'b',
    intervalMs: 100,
    runOnInterval: true,
    overlap: 'queue',
    timeoutMs: 0,
    run: (ctx) => {
      calls.push(ctx.attempt);
      return new Promise(() => {});
    },
  });
  m.start();
  await m.clock.advance(200); // runs at 100 and stays in flight; the fire at 200 is queued
  expect(calls).toEqual([1]);
  const { events } = recordEvents(m);
  m.releaseUnit('b');
  await m.clock.advance(0);
  expect(calls).toEqual([1]);
  expect(events.map(describeEvent)).toEqual(['updated:b:running>error', 'error:b']);
  expect(m.getUnitById('b')).toBeUndefined();
  // Nothing of the released unit is left in flight: stop() has nothing to wait for.
  let stopped = false;
  m.stop().then(() => (stopped = true));
  await m.clock.advance(0);
  expect(stopped).toBe(true);
});

test("overlap 'queue': a fire during a run started by hand runs right after that run, once", async () => {
  const m = manual();
  const runs = [];
  m.registerUnit({
    id: 'w',
    intervalMs: 100,
    runOnInterval: true,
    overlap: 'queue',
    timeoutMs: 0,
    run: () =>
      new Promise((resolve) => {
        runs.push({ at: m.clock.now(), resolve });
      }),
  });
  m.start();
  void m.runWorkerById('w'); // in flight from 0
  await m.clock.advance(150); // the fire at 100 finds it running: queued
  expect(runs.map((r) => r.at)).toEqual([0]);
  runs[0].resolve();
  await m.clock.advance(0);
  expect(runs.map((r) => r.at)).toEqual([0, 150]); // the queued run, right after
  runs[1].resolve();
  await m.clock.advance(50);
  expect(runs.map((r) => r.at)).toEqual([0, 150, 200]); // the cadence goes on
  runs[2].resolve();
  await m.clock.advance(0);
  expect(runs).toHaveLength(3); // nothing was left queued
  expect(m.getWorkerById('w').meta.runCount).toBe(3);
});

test("overlap 'queue': a run by hand during a scheduled run waits for it, and the queued fire waits for both", async () => {
  const m = manual();
  const runs = [];
  m.registerUnit({
    id: 'w',
    intervalMs: 100,
    runOnInterval: true,
    overlap: 'queue',
    timeoutMs: 0,
    run: () =>
      new Promise((resolve) => {
        runs.push({ at: m.clock.now(), resolve });
      }),
  });
  m.start();
  await m.clock.advance(100); // scheduled run from 100
  let byHandDone = false;
  void m.runWorkerById('w').then(() => (byHandDone = true)); // queued behind it
  await m.clock.advance(100); // the fire at 200 is queued too
  expect(runs.map((r) => r.at)).toEqual([100]);
  runs[0].resolve();
  await m.clock.advance(0);
  expect(runs.map((r) => r.at)).toEqual([100, 200]); // the run by hand, right after
  expect(byHandDone).toBe(false);
  runs[1].resolve();
  await m.clock.advance(0);
  expect(byHandDone).toBe(true);
  expect(runs.map((r) => r.at)).toEqual([100, 200, 200]); // then the queued fire
});

test('a pool worker paused during its task stays paused when the task ends, on its object and in its events', async () => {
  const m = manual();
  const pool = m.useWorkerPool(1);
  pool.start();
  let finish;
  const ran = [];
  pool.addTask({ name: 'first', execute: () => new Promise((resolve) => (finish = resolve)) });
  await m.clock.advance(0);
  const worker = m.getUnitById('pool-worker-1');
  expect(worker.status).toBe('running');
  const { events } = recordEvents(m);
  m.stopAll();
  expect(worker.status).toBe('paused');
  finish('done');
  await m.clock.advance(0);
  // The pause outlasts the task, as it does for any unit's run.
  expect(worker.status).toBe('paused');
  expect(m.getUnitStatus('pool-worker-1')).toBe('paused');
  expect(m.listUnits().map((u) => u.status)).toEqual(['paused']);
  // A paused worker takes no task.
  pool.addTask({ name: 'second', execute: () => ran.push('second') });
  await m.clock.advance(0);
  expect(ran).toEqual([]);
  m.startAll();
  await m.clock.advance(0);
  expect(ran).toEqual(['second']);
  expect(worker.status).toBe('idle');
  // Every status change of the object was announced, exactly once.
  expect(events.filter((e) => e.type === 'updated').map(describeEvent)).toEqual([
    'updated:pool-worker-1:running>paused',
    'updated:pool-worker-1:paused>idle',
  ]);
});

test('a pool worker that may run again (startAll, updateStatus, enableWorker) takes the task waiting in the queue', async () => {
  const m = manual();
  const pool = m.useWorkerPool(1);
  pool.start();
  const ran = [];
  m.stopAll();
  pool.addTask({ name: 'after-startAll', execute: () => ran.push('after-startAll') });
  await m.clock.advance(0);
  expect(ran).toEqual([]);
  m.startAll();
  await m.clock.advance(0);
  expect(ran).toEqual(['after-startAll']);

  m.updateStatus('pool-worker-1', 'paused');
  pool.addTask({ name: 'after-updateStatus', execute: () => ran.push('after-updateStatus') });
  await m.clock.advance(0);
  expect(ran).toEqual(['after-startAll']);
  m.updateStatus('pool-worker-1', 'idle');
  await m.clock.advance(0);
  expect(ran).toEqual(['after-startAll', 'after-updateStatus']);

  m.disableWorker('pool-worker-1');
  pool.addTask({ name: 'after-enable', execute: () => ran.push('after-enable') });
  await m.clock.advance(0);
  expect(ran).toHaveLength(2);
  m.enableWorker('pool-worker-1');
  await m.clock.advance(0);
  expect(ran).toEqual(['after-startAll', 'after-updateStatus', 'after-enable']);
  expect(pool.simulateRun()).toBe('No tasks pending for execution.');
});

test('a graph run whose failed worker was released before the run ended rejects naming that worker', async () => {
  const m = manual();
  let finishOther;
  m.registerUnit({
    id: 'g',
    workers: [
      { id: 'g1', dependsOn: ['g2'], run: () => 1 },
      { id: 'g2', timeoutMs: 0, run: () => new Promise(() => {}) },
      { id: 'g3', timeoutMs: 0, run: () => new Promise((resolve) => (finishOther = resolve)) },
    ],
  });
  let error;
  const run = m.runProcessById('g').catch((e) => (error = e));
  await m.clock.advance(0);
  m.releaseUnit('g2'); // g2 fails (released); g1 is skipped; g3 still runs
  await m.clock.advance(0);
  expect(error).toBeUndefined();
  finishOther(3);
  await run;
  expect(error).toMatchObject({ code: 'ERR_WORKER_FAILED', unitId: 'g2' });
  expect(error.message).toContain('worker "g2" failed');
  expect(m.getUnitStatus('g')).toBe('error');
});

test('stop({ timeoutMs: 0 }) ends a process run that a second request joined: both requests settle with ERR_STOPPED', async () => {
  const m = manual();
  m.registerUnit({
    id: 'p',
    workers: [
      { id: 'p1', run: () => 'p1' },
      { id: 'p2', timeoutMs: 0, run: () => new Promise(() => {}) },
    ],
  });
  const outcomes = [];
  const track = (p) => p.then(() => outcomes.push('resolved'), (e) => outcomes.push(`${e.code} ${e.unitId}`));
  const first = track(m.runProcessById('p'));
  const joined = track(m.runProcessById('p'));
  await m.clock.advance(0);
  expect(outcomes).toEqual([]);
  await m.stop({ timeoutMs: 0 });
  await Promise.all([first, joined]);
  expect(outcomes).toEqual(['ERR_STOPPED p', 'ERR_STOPPED p']);
  expect(m.getUnitStatus('p')).toBe('error');
});
