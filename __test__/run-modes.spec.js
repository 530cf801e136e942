'use strict';

// Run modes (SPEC §4) and process failures (SPEC §3.3).

const { createSynchronikManager, SynchronikError } = require('..');
const { settle, track } = require('./helpers');

/**
 * Tracks how many runs overlap and in which order they start and end. A
 * worker made by `t.worker(id, turns)` stays in flight for `turns` turns of
 * the event loop; `t.at` holds when each start and end happened: by
 * `now()` when given (a manual clock), else as a step number (the order).
 */
function tracker(now) {
  let step = 0;
  const t = { active: 0, max: 0, log: [], at: {} };
  const mark = (what) => {
    t.log.push(what);
    t.at[what] = now ? now() : step++;
  };
  t.worker = (id, turns, extra = {}) => ({
    id,
    run: jest.fn(async () => {
      t.active += 1;
      t.max = Math.max(t.max, t.active);
      mark(`${id}:start`);
      if (turns > 0) await settle(turns);
      t.active -= 1;
      mark(`${id}:end`);
      return id;
    }),
    ...extra,
  });
  return t;
}

const failing = (id, message = `${id} failed`) => ({ id, run: jest.fn(async () => { throw new Error(message); }) });

describe('run modes', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager();
  });

  test('sequential (the default): one after another, in array order', async () => {
    const t = tracker();
    const p = { id: 'p', workers: [t.worker('a', 10), t.worker('b', 5), t.worker('c', 1)] };
    manager.registerUnit(p);
    await manager.runProcessById('p');
    expect(t.log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(t.max).toBe(1);
    expect(p.status).toBe('completed');
    expect(p.workers.map((w) => w.status)).toEqual(['completed', 'completed', 'completed']);
  });

  test('parallel: all at once (all three start before any of them ends)', async () => {
    const t = tracker();
    manager.registerUnit({ id: 'p', runMode: 'parallel', workers: [t.worker('a', 5), t.worker('b', 5), t.worker('c', 5)] });
    await manager.runProcessById('p');
    expect(t.max).toBe(3);
    expect(t.log.slice(0, 3)).toEqual(['a:start', 'b:start', 'c:start']);
    expect(t.log.slice(3).sort()).toEqual(['a:end', 'b:end', 'c:end']);
  });

  test('batched: groups of batchSize in order, a group starts after the previous settled', async () => {
    const t = tracker();
    const workers = ['a', 'b', 'c', 'd', 'e'].map((id, i) => t.worker(id, 3 + i));
    manager.registerUnit({ id: 'p', runMode: 'batched', batchSize: 2, workers });
    await manager.runProcessById('p');
    expect(t.max).toBe(2);
    for (const w of workers) expect(w.run).toHaveBeenCalledTimes(1);
    // group order: c and d start only after a and b ended; e after c and d
    expect(t.at['c:start']).toBeGreaterThanOrEqual(Math.max(t.at['a:end'], t.at['b:end']));
    expect(t.at['d:start']).toBeGreaterThanOrEqual(Math.max(t.at['a:end'], t.at['b:end']));
    expect(t.at['e:start']).toBeGreaterThanOrEqual(Math.max(t.at['c:end'], t.at['d:end']));
    expect(t.log.slice(0, 2).sort()).toEqual(['a:start', 'b:start']);
  });

  test('batched with batchSize 3 runs three at a time', async () => {
    const t = tracker();
    const workers = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => t.worker(id, 10));
    manager.registerUnit({ id: 'p', runMode: 'batched', batchSize: 3, workers });
    await manager.runProcessById('p');
    expect(t.max).toBe(3);
  });

  test('batched defaults to batchSize 2', async () => {
    const t = tracker();
    const workers = ['a', 'b', 'c', 'd'].map((id) => t.worker(id, 10));
    manager.registerUnit({ id: 'p', runMode: 'batched', workers });
    await manager.runProcessById('p');
    expect(t.max).toBe(2);
  });

  test('isolated: a delay after every worker (2 workers, isolationDelayMs 60 → 120 ms)', async () => {
    manager = createSynchronikManager({ clock: 'manual' });
    const t = tracker(() => manager.clock.now());
    manager.registerUnit({ id: 'p', runMode: 'isolated', isolationDelayMs: 60, workers: [t.worker('a', 0), t.worker('b', 0)] });
    const done = manager.runProcessById('p');
    const doneState = track(done);
    await manager.clock.advance(59);
    expect(t.log).toEqual(['a:start', 'a:end']);
    await manager.clock.advance(1);
    expect(t.log).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
    expect(t.at).toEqual({ 'a:start': 0, 'a:end': 0, 'b:start': 60, 'b:end': 60 });
    await manager.clock.advance(59);
    expect(doneState.settled).toBe(false); // the delay after the last worker
    await manager.clock.advance(1);
    await done;
    expect(manager.clock.now()).toBe(120);
    expect(manager.getProcessById('p').status).toBe('completed');
  });

  test('sequential failure stops later workers and rejects with ERR_WORKER_FAILED naming the worker', async () => {
    const t = tracker();
    const bad = failing('the-bad-one', 'exploded');
    const p = { id: 'p', workers: [t.worker('a', 1), bad, t.worker('c', 1)] };
    manager.registerUnit(p);
    const err = await manager.runProcessById('p').then(
      () => {
        throw new Error('runProcessById should have rejected');
      },
      (e) => e,
    );
    expect(err).toBeInstanceOf(SynchronikError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_WORKER_FAILED');
    expect(err.unitId).toBe('the-bad-one');
    expect(err.message).toContain('the-bad-one');
    expect(p.workers[0].run).toHaveBeenCalledTimes(1);
    expect(bad.run).toHaveBeenCalledTimes(1);
    expect(p.workers[2].run).not.toHaveBeenCalled();
    expect(bad.status).toBe('error');
    expect(bad.error.message).toBe('exploded');
    expect(p.workers[2].status).toBe('idle');
    expect(p.status).toBe('error');
  });

  test('a failed sequential process emits no completed milestone', async () => {
    const milestones = [];
    manager.onMilestone((id) => milestones.push(id));
    manager.registerUnit({ id: 'p', workers: [failing('x')] });
    await expect(manager.runProcessById('p')).rejects.toThrow(SynchronikError);
    expect(milestones).toEqual(['unit:p:running']);
  });

  test('isolated failure stops as well and rejects naming the worker', async () => {
    const t = tracker();
    const p = { id: 'p', runMode: 'isolated', isolationDelayMs: 5, workers: [failing('first'), t.worker('second', 1)] };
    manager.registerUnit(p);
    const err = await manager.runProcessById('p').catch((e) => e);
    expect(err).toBeInstanceOf(SynchronikError);
    expect(err.code).toBe('ERR_WORKER_FAILED');
    expect(err.unitId).toBe('first');
    expect(err.message).toContain('first');
    expect(p.workers[1].run).not.toHaveBeenCalled();
    expect(p.status).toBe('error');
  });

  test.each(['parallel', 'batched'])('%s failure still completes the process, the failed worker in error', async (runMode) => {
    const t = tracker();
    const bad = failing('bad');
    const p = { id: 'p', runMode, batchSize: 2, workers: [t.worker('a', 10), bad, t.worker('c', 10), t.worker('d', 5)] };
    manager.registerUnit(p);
    const milestones = [];
    manager.onMilestone((id) => milestones.push(id));
    await expect(manager.runProcessById('p')).resolves.toBeUndefined();
    expect(p.workers.map((w) => [w.id, w.status])).toEqual([
      ['a', 'completed'],
      ['bad', 'error'],
      ['c', 'completed'],
      ['d', 'completed'],
    ]);
    for (const w of p.workers) expect(w.run).toHaveBeenCalledTimes(1);
    expect(p.status).toBe('completed');
    expect(milestones).toEqual(['unit:p:running', 'unit:p:completed']);
  });

  test('disabled workers are skipped', async () => {
    const t = tracker();
    const p = {
      id: 'p',
      workers: [t.worker('a', 1), t.worker('off', 1, { enabled: false }), t.worker('b', 1), t.worker('later-off', 1)],
    };
    manager.registerUnit(p);
    manager.disableWorker('later-off');
    await manager.runProcessById('p');
    expect(t.log).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
    expect(p.workers[1].run).not.toHaveBeenCalled();
    expect(p.workers[3].run).not.toHaveBeenCalled();
    expect(p.workers[1].status).toBe('idle');
    expect(p.status).toBe('completed');
  });

  test('disabled workers are skipped in parallel mode too', async () => {
    const t = tracker();
    const p = { id: 'p', runMode: 'parallel', workers: [t.worker('a', 1), t.worker('off', 1, { enabled: false })] };
    manager.registerUnit(p);
    await manager.runProcessById('p');
    expect(p.workers[1].run).not.toHaveBeenCalled();
  });

  test('worker results, retries and timeouts apply inside a process', async () => {
    let n = 0;
    const flaky = { id: 'flaky', maxRetries: 1, run: async () => { n += 1; if (n === 1) throw new Error('once'); return 'ok'; } };
    const slow = { id: 'slow', timeoutMs: 20, run: () => new Promise(() => {}) };
    const p = { id: 'p', runMode: 'parallel', workers: [flaky, slow] };
    manager.registerUnit(p);
    const results = {};
    manager.onComplete((e) => { results[e.unitId] = e.result; });
    await manager.runProcessById('p');
    expect(n).toBe(2);
    expect(flaky.status).toBe('completed');
    expect(results.flaky).toBe('ok');
    expect(slow.status).toBe('error');
    expect(slow.error.code).toBe('ERR_TIMEOUT');
  });

  test('an empty process completes', async () => {
    const p = { id: 'empty', workers: [] };
    manager.registerUnit(p);
    await expect(manager.runProcessById('empty')).resolves.toBeUndefined();
    expect(p.status).toBe('completed');
  });

  test('runProcessById runs a disabled process (as 2.3) but not a paused one', async () => {
    const t = tracker();
    const disabled = { id: 'disabled', enabled: false, workers: [t.worker('a', 1)] };
    const paused = { id: 'paused', status: 'paused', workers: [t.worker('b', 1)] };
    manager.registerUnit(disabled);
    manager.registerUnit(paused);
    await manager.runProcessById('disabled');
    await manager.runProcessById('paused');
    expect(disabled.workers[0].run).toHaveBeenCalledTimes(1);
    expect(disabled.status).toBe('completed');
    expect(paused.workers[0].run).not.toHaveBeenCalled();
    expect(paused.status).toBe('paused');
  });

  test('a completed process runs again, and so do its workers', async () => {
    const t = tracker();
    const p = { id: 'p', workers: [t.worker('a', 1)] };
    manager.registerUnit(p);
    await manager.runProcessById('p');
    await manager.runProcessById('p');
    expect(p.workers[0].run).toHaveBeenCalledTimes(2);
    expect(p.workers[0].meta.runCount).toBe(2);
    expect(p.meta.runCount).toBe(2);
  });
});
