'use strict';

// Registration and lookup (SPEC §3.1): the manager keeps the caller's own
// objects, in registration order, and registering is silent.

const { createSynchronikManager } = require('..');
const { types } = require('node:util');
const { recordEvents, track, until, settle } = require('./helpers');

const worker = (id, extra = {}) => ({ id, run: jest.fn(async () => id), ...extra });
const ids = (units) => units.map((u) => u.id);

describe('registration and lookup', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager();
  });

  test('getUnitById / getWorkerById / getProcessById return the very objects registered', () => {
    const w = worker('w1');
    const a = worker('a');
    const p = { id: 'p1', workers: [a] };
    manager.registerUnit(w);
    manager.registerUnit(p);

    expect(manager.getUnitById('w1')).toBe(w);
    expect(manager.getWorkerById('w1')).toBe(w);
    expect(manager.getUnitById('p1')).toBe(p);
    expect(manager.getProcessById('p1')).toBe(p);
    expect(manager.getUnitById('a')).toBe(a);
    expect(manager.getWorkerById('a')).toBe(a);
    // lookups are kind-specific
    expect(manager.getProcessById('w1')).toBeUndefined();
    expect(manager.getWorkerById('p1')).toBeUndefined();
    expect(manager.getUnitById('nope')).toBeUndefined();
    expect(manager.getUnitStatus('w1')).toBe('idle');
    expect(manager.getUnitStatus('nope')).toBeUndefined();
  });

  test('a registered process keeps its own workers array with the same objects', () => {
    const a = worker('a');
    const b = worker('b');
    const workers = [a, b];
    const p = { id: 'p', workers };
    manager.registerUnit(p);
    expect(manager.getProcessById('p').workers).toBe(workers);
    expect(manager.getProcessById('p').workers[0]).toBe(a);
    expect(manager.getProcessById('p').workers[1]).toBe(b);
  });

  test('defaults are written onto the registered object', () => {
    const w = worker('w');
    manager.registerUnit(w);
    expect(w.status).toBe('idle');
    expect(w.enabled).toBe(true);
    expect(w.meta).toEqual(expect.objectContaining({ runCount: 0 }));

    const paused = worker('paused', { status: 'paused', enabled: false });
    manager.registerUnit(paused);
    expect(paused.status).toBe('paused');
    expect(paused.enabled).toBe(false);
  });

  test('listUnits / listWorkers / listProcesses keep registration order, a process before its workers', () => {
    manager.registerUnit(worker('w1'));
    manager.registerUnit({ id: 'p1', workers: [worker('a'), worker('b')] });
    manager.registerUnit(worker('w2'));
    manager.registerUnit({ id: 'p2', workers: [worker('c')] });

    expect(ids(manager.listUnits())).toEqual(['w1', 'p1', 'a', 'b', 'w2', 'p2', 'c']);
    expect(ids(manager.listWorkers())).toEqual(['w1', 'a', 'b', 'w2', 'c']);
    expect(ids(manager.listProcesses())).toEqual(['p1', 'p2']);
    // fresh arrays each time
    expect(manager.listUnits()).not.toBe(manager.listUnits());
  });

  test('lists are empty for an empty manager', () => {
    expect(manager.listUnits()).toEqual([]);
    expect(manager.listWorkers()).toEqual([]);
    expect(manager.listProcesses()).toEqual([]);
    expect(manager.getRegistrySnapshot()).toEqual([]);
  });

  test('re-registering an id replaces the unit in place (same position, new object)', async () => {
    const first = worker('w2');
    manager.registerUnit(worker('w1'));
    manager.registerUnit(first);
    manager.registerUnit(worker('w3'));

    const second = worker('w2');
    manager.registerUnit(second);

    expect(ids(manager.listUnits())).toEqual(['w1', 'w2', 'w3']);
    expect(manager.listUnits()[1]).toBe(second);
    expect(manager.getUnitById('w2')).toBe(second);
    expect(manager.listWorkers()).toHaveLength(3);

    await manager.runWorkerById('w2');
    expect(second.run).toHaveBeenCalledTimes(1);
    expect(first.run).not.toHaveBeenCalled();
    expect(second.status).toBe('completed');
  });

  test('registering the same object twice keeps one entry', () => {
    const w = worker('w');
    manager.registerUnit(w);
    manager.registerUnit(w);
    expect(manager.listUnits()).toEqual([w]);
  });

  test('processId is written onto the workers of a registered process', () => {
    const a = worker('a');
    const b = worker('b');
    const p = { id: 'proc', workers: [a, b] };
    manager.registerUnit(p);
    expect(a.processId).toBe('proc');
    expect(b.processId).toBe('proc');
    expect(p.processId).toBeUndefined();
  });

  test('releaseUnit removes the unit; releasing an unknown id is a no-op', async () => {
    const w = worker('w');
    manager.registerUnit(w);
    manager.registerUnit(worker('other'));
    manager.releaseUnit('w');

    expect(manager.getUnitById('w')).toBeUndefined();
    expect(manager.getWorkerById('w')).toBeUndefined();
    expect(manager.getUnitStatus('w')).toBeUndefined();
    expect(ids(manager.listUnits())).toEqual(['other']);
    expect(ids(manager.listWorkers())).toEqual(['other']);

    await expect(manager.runWorkerById('w')).resolves.toBeUndefined();
    expect(w.run).not.toHaveBeenCalled();

    expect(() => manager.releaseUnit('never-registered')).not.toThrow();
    expect(ids(manager.listUnits())).toEqual(['other']);
  });

  test('releasing a running worker aborts its signal with ERR_RELEASED and its run resolves', async () => {
    let signal;
    const w = { id: 'w', run: (ctx) => { signal = ctx.signal; return new Promise(() => {}); } };
    manager.registerUnit(w);
    const done = manager.runWorkerById('w');
    const doneState = track(done);
    await until(() => signal !== undefined, 200, 'the run to start');
    await settle();
    expect(signal.aborted).toBe(false);
    expect(doneState.settled).toBe(false);
    manager.releaseUnit('w');
    expect(signal.aborted).toBe(true);
    expect(signal.reason.code).toBe('ERR_RELEASED');
    // The run never settles, yet the call resolves (within event-loop turns).
    await until(() => doneState.settled, 200, 'runWorkerById to settle');
    expect(doneState).toEqual({ settled: true, value: undefined, error: undefined });
    expect(manager.getUnitById('w')).toBeUndefined();
    expect(manager.getEngineStats().engine.running).toBe(0);
  });

  test('a released id can be registered again', async () => {
    manager.registerUnit(worker('w'));
    manager.releaseUnit('w');
    const again = worker('w');
    manager.registerUnit(again);
    expect(manager.getUnitById('w')).toBe(again);
    await manager.runWorkerById('w');
    expect(again.run).toHaveBeenCalledTimes(1);
  });

  test('releasing a process removes it from the process list', () => {
    manager.registerUnit({ id: 'p', workers: [worker('a')] });
    manager.releaseUnit('p');
    expect(manager.getProcessById('p')).toBeUndefined();
    expect(ids(manager.listProcesses())).toEqual([]);
    expect(ids(manager.listUnits())).not.toContain('p');
  });

  describe('getRegistrySnapshot', () => {
    const hasFunctionDeep = (value, seen = new Set()) => {
      if (typeof value === 'function') return true;
      if (typeof value !== 'object' || value === null || seen.has(value)) return false;
      seen.add(value);
      return Object.values(value).some((v) => hasFunctionDeep(v, seen));
    };

    test('returns deep copies without functions, also with processes registered', async () => {
      const w = worker('w', { name: 'W', meta: { tag: 'x' }, onError: () => {} });
      const p = { id: 'p', name: 'P', runMode: 'parallel', onComplete: () => {}, workers: [worker('a'), worker('b')] };
      manager.registerUnit(w);
      manager.registerUnit(p);
      await manager.runWorkerById('w');

      let snapshot;
      expect(() => {
        snapshot = manager.getRegistrySnapshot();
      }).not.toThrow();

      expect(ids(snapshot)).toEqual(['w', 'p', 'a', 'b']);
      expect(hasFunctionDeep(snapshot)).toBe(false);

      const sw = snapshot[0];
      expect(sw).not.toBe(w);
      expect(sw).not.toHaveProperty('run');
      expect(sw).not.toHaveProperty('onError');
      expect(sw.name).toBe('W');
      expect(sw.status).toBe('completed');
      expect(sw.meta).not.toBe(w.meta);
      expect(sw.meta).toEqual(w.meta);
      expect(sw.lastRun).toBeInstanceOf(Date);
      expect(sw.lastRun).not.toBe(w.lastRun);
      expect(sw.lastRun.getTime()).toBe(w.lastRun.getTime());

      const sp = snapshot[1];
      expect(sp).not.toBe(p);
      expect(sp.runMode).toBe('parallel');
      expect(sp).not.toHaveProperty('onComplete');
      expect(sp.workers).not.toBe(p.workers);
      expect(ids(sp.workers)).toEqual(['a', 'b']);
      expect(sp.workers[0]).not.toBe(p.workers[0]);
      expect(sp.workers[0]).not.toHaveProperty('run');
    });

    test('changing a snapshot does not touch the registered units', () => {
      const w = worker('w', { meta: { n: 1 } });
      manager.registerUnit(w);
      const [copy] = manager.getRegistrySnapshot();
      copy.meta.n = 2;
      copy.status = 'error';
      copy.id = 'changed';
      expect(w.meta.n).toBe(1);
      expect(w.status).toBe('idle');
      expect(manager.getUnitById('w')).toBe(w);
    });

    test('failed units snapshot their error', async () => {
      manager.registerUnit(worker('bad', { run: async () => { throw new Error('broken'); } }));
      await manager.runWorkerById('bad');
      const [copy] = manager.getRegistrySnapshot();
      expect(copy.status).toBe('error');
      // structuredClone may hand back an Error of another realm under Jest, so no instanceof
      expect(types.isNativeError(copy.error)).toBe(true);
      expect(copy.error.message).toBe('broken');
      expect(copy.error).not.toBe(manager.getUnitById('bad').error);
    });
  });

  test('registerUnit emits no events', () => {
    const { events } = recordEvents(manager);
    const direct = [];
    for (const type of ['updated', 'start', 'complete', 'error', 'milestone']) {
      manager.on(type, (e) => direct.push(e));
    }
    manager.registerUnit(worker('w'));
    manager.registerUnit({ id: 'p', status: 'idle', workers: [worker('a', { status: 'completed' })] });
    manager.registerUnit(worker('w')); // upsert
    expect(events).toEqual([]);
    expect(direct).toEqual([]);
  });
});
