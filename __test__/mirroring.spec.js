'use strict';

// Object mirroring (SPEC §2): the engine writes status, enabled, meta, error,
// lastRun and processId onto the caller's object before the call or event
// that changed them returns.

const { createSynchronikManager } = require('..');
const { deferred, turn } = require('./helpers');

/** Where the manual clock starts in the tests that check wall times (lastRun). */
const T0 = Date.parse('2024-03-01T12:00:00Z');

describe('object mirroring', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager();
  });

  test('a run writes status, lastRun and meta onto the object before the promise resolves', async () => {
    manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
    const gate = deferred();
    const w = { id: 'w', run: async () => { await gate.promise; return 'ok'; } };
    manager.registerUnit(w);
    let seenInThen;
    const done = manager.runWorkerById('w').then(() => {
      seenInThen = { status: w.status, runCount: w.meta.runCount, lastRun: w.lastRun };
    });
    await manager.clock.advance(15);
    gate.resolve();
    await done;

    expect(seenInThen.status).toBe('completed');
    expect(seenInThen.runCount).toBe(1);
    expect(seenInThen.lastRun).toBeInstanceOf(Date);
    expect(w.lastRun.getTime()).toBe(T0); // when the run started

    expect(w.meta.executionTimesMs).toEqual([15]);
    expect(w.meta.lastDurationMs).toBe(w.meta.executionTimesMs[0]);
    expect(w.meta.averageExecutionTimeMs).toBeCloseTo(w.meta.executionTimesMs[0], 6);
  });

  test('status is running (and lastRun set) while the run is in flight', async () => {
    let seen;
    const w = {
      id: 'w',
      run: async () => {
        seen = { status: w.status, lastRun: w.lastRun, viaGetter: manager.getUnitStatus('w') };
        await turn();
      },
    };
    manager.registerUnit(w);
    expect(w.lastRun).toBeUndefined();
    const done = manager.runWorkerById('w');
    expect(w.status).toBe('running');
    await done;
    expect(seen.status).toBe('running');
    expect(seen.viaGetter).toBe('running');
    expect(seen.lastRun).toBeInstanceOf(Date);
  });

  test('lastRun is the start of the latest run', async () => {
    manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
    let gate;
    const w = { id: 'w', run: async () => { gate = deferred(); await gate.promise; } };
    manager.registerUnit(w);
    const first = manager.runWorkerById('w');
    await manager.clock.advance(20);
    gate.resolve();
    await first;
    expect(w.lastRun.getTime()).toBe(T0);
    await manager.clock.advance(5);
    const second = manager.runWorkerById('w');
    await manager.clock.advance(20);
    gate.resolve();
    await second;
    expect(w.lastRun.getTime()).toBe(T0 + 25);
  });

  describe('lastRun is made when read', () => {
    beforeEach(() => {
      manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
    });

    test('a run leaves no Date behind, only what makes one: the field is an accessor from the first run on', async () => {
      const w = { id: 'w', run: () => 'ok' };
      manager.registerUnit(w);
      expect('lastRun' in w).toBe(false);
      await manager.runWorkerById('w');
      const own = Object.getOwnPropertyDescriptor(w, 'lastRun');
      expect(typeof own.get).toBe('function');
      expect(typeof own.set).toBe('function');
      expect(own.enumerable).toBe(true);
      // Nothing else is added to the object: no key, no symbol, no JSON field.
      expect(Reflect.ownKeys(w)).toEqual(['id', 'run', 'status', 'enabled', 'meta', 'lastRun']);
      expect(Object.keys({ ...w })).toEqual(Object.keys(w));
      expect(JSON.parse(JSON.stringify(w))).toEqual({
        id: 'w',
        status: 'completed',
        enabled: true,
        meta: expect.any(Object),
        lastRun: new Date(T0).toISOString(),
      });
    });

    test('a released unit keeps its last lastRun; the object registered after it (in its slot) gets its own', async () => {
      const a = { id: 'a', run: () => 'ok' };
      manager.registerUnit(a);
      await manager.runWorkerById('a');
      manager.releaseUnit('a');
      await manager.clock.advance(10);
      // Slots are reused: b and c take the room a left.
      const b = { id: 'b', run: () => 'ok' };
      const c = { id: 'c', run: () => 'ok' };
      manager.registerUnit(b);
      manager.registerUnit(c);
      await manager.runWorkerById('b');
      await manager.runWorkerById('c');
      expect(b.lastRun.getTime()).toBe(T0 + 10);
      expect(c.lastRun.getTime()).toBe(T0 + 10);
      expect(a.lastRun.getTime()).toBe(T0);
      // The same object registered again runs on with its own field.
      manager.releaseUnit('b');
      manager.registerUnit(a);
      await manager.clock.advance(5);
      await manager.runWorkerById('a');
      await manager.runWorkerById('c');
      expect(a.lastRun.getTime()).toBe(T0 + 15);
      expect(c.lastRun.getTime()).toBe(T0 + 15);
      expect(b.lastRun.getTime()).toBe(T0 + 10);
    });

    test('the same Date until the next run, a new one after it; what the user assigns is kept until then', async () => {
      const w = { id: 'w', run: () => 'ok' };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      const first = w.lastRun;
      expect(first).toBeInstanceOf(Date);
      expect(first.getTime()).toBe(T0);
      expect(w.lastRun).toBe(first);
      expect({ ...w }.lastRun).toBe(first);

      await manager.clock.advance(40);
      await manager.runWorkerById('w');
      expect(w.lastRun).not.toBe(first);
      expect(w.lastRun.getTime()).toBe(T0 + 40);
      expect(first.getTime()).toBe(T0); // the old one is left as it was

      w.lastRun = 'set by hand';
      expect(w.lastRun).toBe('set by hand');
      w.lastRun = undefined;
      expect(w.lastRun).toBeUndefined();
      await manager.clock.advance(10);
      await manager.runWorkerById('w');
      expect(w.lastRun.getTime()).toBe(T0 + 50);
      // A snapshot copies it, as any field.
      const [copy] = manager.getRegistrySnapshot();
      expect(copy.lastRun).toEqual(new Date(T0 + 50));
      expect(copy.lastRun).not.toBe(w.lastRun);
      // Deleted, it comes back with the next run.
      delete w.lastRun;
      expect('lastRun' in w).toBe(false);
      await manager.clock.advance(10);
      await manager.runWorkerById('w');
      expect(w.lastRun.getTime()).toBe(T0 + 60);
      await manager.clock.advance(10);
      await manager.runWorkerById('w');
      expect(w.lastRun.getTime()).toBe(T0 + 70);
    });

    test("an object with a lastRun of its own making gets a Date written on every run, as before", async () => {
      const set = [];
      class Job {
        constructor() {
          this.id = 'proto';
        }
        run() {
          return 'ok';
        }
        set lastRun(value) {
          set.push(value);
        }
        get lastRun() {
          return set[set.length - 1];
        }
      }
      const byClass = manager.registerUnit(new Job());
      const seen = [];
      const own = {
        id: 'own',
        run: () => 'ok',
        get lastRun() {
          return seen[seen.length - 1];
        },
        set lastRun(value) {
          seen.push(value);
        },
      };
      manager.registerUnit(own);
      const target = { id: 'proxied', run: () => 'ok' };
      const proxied = manager.registerUnit(new Proxy(target, {}));
      for (const id of ['proto', 'own', 'proxied']) await manager.runWorkerById(id);
      await manager.clock.advance(5);
      for (const id of ['proto', 'own', 'proxied']) await manager.runWorkerById(id);

      expect(set.map((d) => d.getTime())).toEqual([T0, T0 + 5]);
      expect(byClass.lastRun.getTime()).toBe(T0 + 5);
      expect(Object.getOwnPropertyDescriptor(byClass, 'lastRun')).toBeUndefined();
      expect(seen.map((d) => d.getTime())).toEqual([T0, T0 + 5]);
      expect(typeof Object.getOwnPropertyDescriptor(own, 'lastRun').set).toBe('function');
      expect(Object.getOwnPropertyDescriptor(target, 'lastRun').value).toEqual(new Date(T0 + 5));
      expect(proxied.lastRun.getTime()).toBe(T0 + 5);
    });

    test('an object made non-extensible after its registration gets a Date written on every run', async () => {
      // Its own lastRun could be redefined, but the object could not be
      // given the private field the lazy lastRun keeps its state in.
      const w = { id: 'w', run: () => 'ok', lastRun: undefined };
      manager.registerUnit(w);
      Object.preventExtensions(w);
      await manager.runWorkerById('w');
      const first = Object.getOwnPropertyDescriptor(w, 'lastRun');
      expect(first.value).toEqual(new Date(T0));
      await manager.clock.advance(5);
      await manager.runWorkerById('w');
      expect(Object.getOwnPropertyDescriptor(w, 'lastRun').value).toEqual(new Date(T0 + 5));
      expect(w.lastRun).not.toBe(first.value);
    });

    test('an object made lazy by one manager keeps working in the next', async () => {
      const w = { id: 'w', run: () => 'ok' };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      const accessor = Object.getOwnPropertyDescriptor(w, 'lastRun');
      await manager.close();
      const next = createSynchronikManager({ clock: { manual: true, now: T0 + 1000 } });
      try {
        next.registerUnit(w);
        expect(w.lastRun.getTime()).toBe(T0);
        await next.runWorkerById('w');
        expect(Object.getOwnPropertyDescriptor(w, 'lastRun').get).toBe(accessor.get);
        expect(w.lastRun.getTime()).toBe(T0 + 1000);
        delete w.lastRun;
        await next.clock.advance(5);
        await next.runWorkerById('w');
        expect(w.lastRun.getTime()).toBe(T0 + 1005);
        expect(JSON.parse(JSON.stringify(w)).lastRun).toBe(new Date(T0 + 1005).toISOString());
      } finally {
        await next.close();
      }
    });

    test('a lastRun the user gave at registration is replaced by the first run, in its place among the keys', async () => {
      const w = { id: 'w', lastRun: 'never', run: () => 'ok', note: 'mine' };
      manager.registerUnit(w);
      expect(w.lastRun).toBe('never');
      await manager.runWorkerById('w');
      expect(w.lastRun.getTime()).toBe(T0);
      expect(typeof Object.getOwnPropertyDescriptor(w, 'lastRun').get).toBe('function');
      expect(Object.keys(w).slice(0, 4)).toEqual(['id', 'lastRun', 'run', 'note']);
    });
  });

  test('meta keeps runCount, average and only the last 100 execution times (105 runs)', async () => {
    const w = {
      id: 'sync',
      meta: { owner: 'me' },
      run: () => {
        let x = 0;
        for (let i = 0; i < 2000; i += 1) x += i;
        return x;
      },
    };
    manager.registerUnit(w);
    const meta = w.meta;
    for (let i = 0; i < 105; i += 1) {
      await manager.runWorkerById('sync');
    }
    expect(w.meta).toBe(meta); // the same object, updated in place
    expect(w.meta.owner).toBe('me');
    expect(w.meta.runCount).toBe(105);
    expect(w.meta.executionTimesMs).toHaveLength(100);
    for (const t of w.meta.executionTimesMs) {
      expect(typeof t).toBe('number');
      expect(t).toBeGreaterThanOrEqual(0);
    }
    expect(w.meta.lastDurationMs).toBe(w.meta.executionTimesMs[99]);
    const mean = w.meta.executionTimesMs.reduce((a, b) => a + b, 0) / 100;
    expect(w.meta.averageExecutionTimeMs).toBeCloseTo(mean, 6);
  });

  test('the oldest execution times are the ones dropped', async () => {
    manager = createSynchronikManager({ clock: 'manual' });
    let gate;
    const w = { id: 'w', run: () => gate.promise };
    manager.registerUnit(w);
    // The first 5 runs take 25 ms of clock time each, the next 100 none.
    for (let i = 0; i < 105; i += 1) {
      gate = deferred();
      const done = manager.runWorkerById('w');
      if (i < 5) await manager.clock.advance(25);
      gate.resolve();
      await done;
    }
    expect(w.meta.runCount).toBe(105);
    expect(w.meta.executionTimesMs).toEqual(new Array(100).fill(0));
  });

  test('error is the thrown object itself and the status is error', async () => {
    const boom = new Error('boom');
    const w = { id: 'w', run: async () => { throw boom; } };
    manager.registerUnit(w);
    await manager.runWorkerById('w');
    expect(w.status).toBe('error');
    expect(w.error).toBe(boom);
    expect(w.meta.runCount).toBe(0);
  });

  test('inside an updated listener, the object already shows payload.current', async () => {
    const seen = [];
    manager.on('updated', (e) => {
      const unit = manager.getUnitById(e.unitId);
      seen.push([e.unitId, e.payload.current, unit.status, e.payload.status]);
    });
    const ok = { id: 'ok', run: async () => 1 };
    const bad = { id: 'bad', run: async () => { throw new Error('x'); } };
    manager.registerUnit(ok);
    manager.registerUnit(bad);
    manager.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => 2 }] });
    await manager.runWorkerById('ok');
    await manager.runWorkerById('bad');
    await manager.runProcessById('p');
    manager.updateStatus('ok', 'paused');

    expect(seen.length).toBeGreaterThanOrEqual(9);
    for (const [id, current, onObject, inPayload] of seen) {
      expect({ id, onObject }).toEqual({ id, onObject: current });
      expect(inPayload).toBe(current);
    }
  });

  test('start/complete/error listeners see the finished state on the object', async () => {
    const seen = {};
    manager.on('start', (e) => {
      const u = manager.getUnitById(e.unitId);
      seen[`start:${e.unitId}`] = { status: u.status, lastRun: u.lastRun };
    });
    manager.on('complete', (e) => {
      const u = manager.getUnitById(e.unitId);
      seen[`complete:${e.unitId}`] = { status: u.status, runCount: u.meta.runCount, times: u.meta.executionTimesMs.length };
    });
    manager.on('error', (e) => {
      const u = manager.getUnitById(e.unitId);
      seen[`error:${e.unitId}`] = { status: u.status, same: u.error === e.error };
    });
    manager.registerUnit({ id: 'ok', run: async () => 1 });
    manager.registerUnit({ id: 'bad', run: async () => { throw new Error('x'); } });
    await manager.runWorkerById('ok');
    await manager.runWorkerById('bad');

    expect(seen['start:ok'].status).toBe('running');
    expect(seen['start:ok'].lastRun).toBeInstanceOf(Date);
    expect(seen['complete:ok']).toEqual({ status: 'completed', runCount: 1, times: 1 });
    expect(seen['error:bad']).toEqual({ status: 'error', same: true });
  });

  test('enabled is mirrored synchronously by disable/enable', () => {
    const w = { id: 'w', run: () => {} };
    manager.registerUnit(w);
    manager.disableWorker('w');
    expect(w.enabled).toBe(false);
    manager.enableWorker('w');
    expect(w.enabled).toBe(true);
    manager.disableUnit('w');
    expect(w.enabled).toBe(false);
    manager.enableUnit('w');
    expect(w.enabled).toBe(true);
    manager.stopWorkerById('w');
    expect(w.enabled).toBe(false);

    const p = { id: 'p', workers: [] };
    manager.registerUnit(p);
    manager.disableProcess('p');
    expect(p.enabled).toBe(false);
    manager.enableProcess('p');
    expect(p.enabled).toBe(true);
  });

  test('status set by hand is on the object when updateStatus returns', () => {
    const w = { id: 'w', run: () => {} };
    manager.registerUnit(w);
    const ret = manager.updateStatus('w', 'paused');
    expect(w.status).toBe('paused');
    expect(manager.getUnitStatus('w')).toBe('paused');
    expect(ret).toBeInstanceOf(Promise);
  });

  test('updateStatus payload keys are merged onto the unit; settings go to the engine; engine-owned fields are left alone', async () => {
    const w = { id: 'w', run: () => 'r' };
    const p = { id: 'p', workers: [w] };
    manager.registerUnit(p);
    await manager.runWorkerById('w');
    const meta = w.meta;
    const lastRun = w.lastRun;
    manager.updateStatus('w', 'paused', {
      payload: { reason: 'maintenance', note: 'x', status: 'error', enabled: false, meta: {}, lastRun: 0, processId: 'other', id: 'renamed', workers: [] },
    });
    expect(w.reason).toBe('maintenance');
    expect(w.note).toBe('x');
    expect(w.status).toBe('paused');
    expect(w.enabled).toBe(false); // a setting: applied like updateWorkerConfig({ enabled: false })
    expect(w.meta).not.toBe(meta); // a setting too: a new meta object that keeps the engine's statistics
    expect(w.meta.runCount).toBe(1);
    expect(w.lastRun).toBe(lastRun);
    expect(w.processId).toBe('p');
    expect(w.id).toBe('w');
    expect(w.workers).toBeUndefined();
    expect(manager.getUnitById('w')).toBe(w);
  });

  test('a process gets its own status and meta from its runs', async () => {
    manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
    const gate = deferred();
    const p = { id: 'p', workers: [{ id: 'a', run: async () => { await gate.promise; } }] };
    manager.registerUnit(p);
    const running = manager.runProcessById('p');
    expect(p.status).toBe('running');
    await manager.clock.advance(10);
    expect(p.status).toBe('running');
    gate.resolve();
    await running;
    expect(p.status).toBe('completed');
    expect(p.lastRun).toEqual(new Date(T0));
    expect(p.meta.runCount).toBe(1);
    expect(p.meta.executionTimesMs).toEqual([10]);
  });
});
