'use strict';

// Object mirroring (SPEC §2): the engine writes status, enabled, meta, error,
// lastRun and processId onto the caller's object before the call or event
// that changed them returns.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createSynchronikManager } = require('..');
const { deferred, turn, runNode } = require('./helpers');

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

    test('an object registered in place of one that ran, with a lastRun of its own, gets its own runs’ starts', async () => {
      manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
      const first = { id: 'w', run: () => 1 };
      manager.registerUnit(first);
      await manager.runWorkerById('w');
      const next = { id: 'w', run: () => 2, lastRun: new Date(0) };
      manager.registerUnit(next);
      await manager.clock.advance(5);
      await manager.runWorkerById('w');
      expect(next.lastRun).toEqual(new Date(T0 + 5));
      expect(first.lastRun).toEqual(new Date(T0));
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

  describe('meta.executionTimesMs is made when read', () => {
    /** A worker whose runs take what the test says on the manual clock. */
    function timed(id, extra = {}) {
      let gate;
      const unit = { id, run: () => gate.promise, ...extra };
      const run = async (ms, on = manager) => {
        gate = deferred();
        const done = on.runWorkerById(id);
        await on.clock.advance(ms);
        gate.resolve();
        await done;
      };
      return { unit, run };
    }

    /** The field as `meta` holds it: a plain value, or undefined while it is the accessor. */
    const plainTimes = (meta) => Object.getOwnPropertyDescriptor(meta, 'executionTimesMs').value;

    beforeEach(() => {
      manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
    });

    test('an accessor from the registration on, and nothing else added to meta', async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      const before = w.meta.executionTimesMs;
      expect(before).toEqual([]);
      expect(w.meta.executionTimesMs).toBe(before);
      expect(JSON.stringify(w.meta)).toBe('{"runCount":0,"executionTimesMs":[],"averageExecutionTimeMs":0}');
      await run(15);
      expect(before).toEqual([]);
      const own = Object.getOwnPropertyDescriptor(w.meta, 'executionTimesMs');
      expect(typeof own.get).toBe('function');
      expect(typeof own.set).toBe('function');
      expect(own.enumerable).toBe(true);
      expect(Reflect.ownKeys(w.meta)).toEqual(['runCount', 'executionTimesMs', 'averageExecutionTimeMs', 'lastDurationMs']);
      expect(JSON.parse(JSON.stringify(w.meta))).toEqual({ runCount: 1, executionTimesMs: [15], averageExecutionTimeMs: 15, lastDurationMs: 15 });
      expect({ ...w.meta }.executionTimesMs).toEqual([15]);
    });

    test('the same array until the next run, a new one after it; what the user assigns is kept and added to', async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      await run(15);
      await run(25);
      const first = w.meta.executionTimesMs;
      expect(first).toEqual([15, 25]);
      expect(w.meta.executionTimesMs).toBe(first);
      expect({ ...w.meta }.executionTimesMs).toBe(first);
      await run(5);
      expect(w.meta.executionTimesMs).toEqual([15, 25, 5]);
      expect(w.meta.executionTimesMs).not.toBe(first);
      expect(first).toEqual([15, 25]); // the old one is left as it was

      const mine = [1, 2];
      w.meta.executionTimesMs = mine;
      expect(w.meta.executionTimesMs).toBe(mine);
      await run(7);
      expect(w.meta.executionTimesMs).toEqual([1, 2, 7]);
      expect(mine).toEqual([1, 2]);
      // A snapshot copies it, as any field.
      const [copy] = manager.getRegistrySnapshot();
      expect(copy.meta.executionTimesMs).toEqual([1, 2, 7]);
      expect(copy.meta.executionTimesMs).not.toBe(w.meta.executionTimesMs);

      // Deleted, it comes back with the next run, as a push onto a new array did.
      delete w.meta.executionTimesMs;
      expect('executionTimesMs' in w.meta).toBe(false);
      await run(3);
      expect(w.meta.executionTimesMs).toEqual([3]);
      expect(typeof Object.getOwnPropertyDescriptor(w.meta, 'executionTimesMs').get).toBe('function');
    });

    test('anything but an array of numbers makes it a plain array again, pushed onto by every run', async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      await run(15);
      w.meta.executionTimesMs = 'not kept';
      expect(w.meta.executionTimesMs).toBe('not kept');
      expect(plainTimes(w.meta)).toBe('not kept');
      await run(4);
      const plain = plainTimes(w.meta);
      expect(plain).toEqual([4]);
      await run(6);
      expect(plainTimes(w.meta)).toBe(plain);
      expect(plain).toEqual([4, 6]);
    });

    test("the last 100 durations, oldest first, across the ring's turn; the average is theirs", async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      const all = [];
      for (let i = 0; i < 130; i += 1) {
        const ms = (i % 9) + 1;
        all.push(ms);
        await run(ms);
      }
      const kept = all.slice(-100);
      expect(w.meta.runCount).toBe(130);
      expect(w.meta.executionTimesMs).toEqual(kept);
      expect(w.meta.lastDurationMs).toBe(kept[99]);
      expect(w.meta.averageExecutionTimeMs).toBeCloseTo(kept.reduce((a, b) => a + b, 0) / 100, 9);
    });

    test('a released unit and the units of a closed manager keep their durations', async () => {
      const a = timed('a');
      const b = timed('b');
      manager.registerUnit(a.unit);
      manager.registerUnit(b.unit);
      await a.run(10);
      await b.run(20);
      await a.run(30);
      manager.releaseUnit('a');
      expect(a.unit.meta.executionTimesMs).toEqual([10, 30]);
      await b.run(40);
      await manager.close();
      expect(b.unit.meta.executionTimesMs).toEqual([20, 40]);
      expect(JSON.parse(JSON.stringify(b.unit.meta)).executionTimesMs).toEqual([20, 40]);
    });

    test('registered on the next manager, it goes on from the durations the object shows', async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      await run(15);
      await run(25);
      await manager.close();
      const next = createSynchronikManager({ clock: { manual: true, now: T0 + 1000 } });
      try {
        next.registerUnit(w);
        expect(w.meta.executionTimesMs).toEqual([15, 25]);
        await run(5, next);
        expect(w.meta.executionTimesMs).toEqual([15, 25, 5]);
      } finally {
        await next.close();
      }
    });

    test('a new meta object given by a config change, and a meta brought back from a store, get it too', async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      await run(15);
      const fresh = { owner: 'b' };
      manager.updateWorkerConfig('w', { meta: fresh });
      expect(w.meta).toBe(fresh);
      expect(Object.keys(fresh)).toEqual(['owner', 'runCount', 'executionTimesMs', 'averageExecutionTimeMs', 'lastDurationMs']);
      expect(typeof Object.getOwnPropertyDescriptor(fresh, 'executionTimesMs').get).toBe('function');
      await run(25);
      expect(fresh.executionTimesMs).toEqual([15, 25]);

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-times-'));
      try {
        const file = path.join(dir, 'state.db');
        const stored = createSynchronikManager({ storage: { sqlite: file }, clock: { manual: true, now: T0 } });
        const first = timed('s');
        stored.registerUnit(first.unit);
        await first.run(10, stored);
        await first.run(20, stored);
        await stored.close();
        const again = createSynchronikManager({ storage: { sqlite: file }, clock: { manual: true, now: T0 } });
        try {
          const back = timed('s');
          again.registerUnit(back.unit);
          expect(back.unit.meta.executionTimesMs).toEqual([10, 20]);
          expect(typeof Object.getOwnPropertyDescriptor(back.unit.meta, 'executionTimesMs').get).toBe('function');
          await back.run(30, again);
          expect(back.unit.meta.executionTimesMs).toEqual([10, 20, 30]);
        } finally {
          await again.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a meta nobody read is made at its first read from what the runs kept, as one read all along', async () => {
      // `read` has its meta read after every run; `unread` not until the
      // end, its runs crossing the growth of the ring; `released` is read
      // only once it is released. Each sees what the other sees.
      const read = timed('read');
      const unread = timed('unread');
      const released = timed('released');
      for (const t of [read, unread, released]) manager.registerUnit(t.unit);
      const seen = [];
      for (let i = 0; i < 11; i += 1) {
        const ms = (i % 4) * 10 + 5;
        await read.run(ms);
        seen.push(JSON.stringify(read.unit.meta));
        await unread.run(ms);
        await released.run(ms);
      }
      expect(JSON.parse(seen[10])).toEqual({
        runCount: 11,
        executionTimesMs: [5, 15, 25, 35, 5, 15, 25, 35, 5, 15, 25],
        averageExecutionTimeMs: 205 / 11,
        lastDurationMs: 25,
      });
      manager.releaseUnit('released');
      for (const t of [unread, released]) {
        expect(JSON.stringify(t.unit.meta)).toBe(seen[10]);
        expect(Reflect.ownKeys(t.unit.meta)).toEqual(['runCount', 'executionTimesMs', 'averageExecutionTimeMs', 'lastDurationMs']);
        expect(typeof Object.getOwnPropertyDescriptor(t.unit.meta, 'executionTimesMs').get).toBe('function');
      }
      // Made, it is the one the next runs write into.
      const made = unread.unit.meta;
      await read.run(7);
      await unread.run(7);
      expect(unread.unit.meta).toBe(made);
      expect(JSON.stringify(made)).toBe(JSON.stringify(read.unit.meta));
      expect(made.executionTimesMs.slice(-2)).toEqual([25, 7]);
      expect(made.runCount).toBe(12);
    });

    test("a unit's first runs, kept in its slot's row, stay its own when the slot goes to another unit", async () => {
      // `gone` runs three times unread and is released: its slot's row
      // is the next unit's, which runs there; `replaced` runs twice
      // unread and is replaced by an object of the same id.
      const gone = timed('gone');
      const replaced = timed('replaced');
      manager.registerUnit(gone.unit);
      manager.registerUnit(replaced.unit);
      for (const ms of [4, 6, 11]) await gone.run(ms);
      for (const ms of [3, 9]) await replaced.run(ms);
      manager.releaseUnit('gone');
      const next = timed('next');
      manager.registerUnit(next.unit);
      await next.run(50);
      const replacing = timed('replaced');
      manager.registerUnit(replacing.unit);
      await replacing.run(8);
      expect(JSON.parse(JSON.stringify(gone.unit.meta))).toEqual({ runCount: 3, executionTimesMs: [4, 6, 11], averageExecutionTimeMs: 7, lastDurationMs: 11 });
      expect(next.unit.meta).toMatchObject({ runCount: 1, executionTimesMs: [50], lastDurationMs: 50 });
      expect(replaced.unit.meta).toMatchObject({ runCount: 2, executionTimesMs: [3, 9], averageExecutionTimeMs: 6, lastDurationMs: 9 });
      expect(replacing.unit.meta.executionTimesMs.at(-1)).toBe(8);
    });

    test('runs of one object in two managers, its meta unread, all show in it', async () => {
      const other = createSynchronikManager({ clock: { manual: true, now: T0 } });
      try {
        const both = timed('both');
        const alone = timed('alone');
        manager.registerUnit(alone.unit);
        manager.registerUnit(both.unit);
        other.registerUnit(both.unit);
        await both.run(5);
        await both.run(7);
        await both.run(9, other);
        await both.run(11);
        await alone.run(1);
        // Each engine counts its own runs; the durations are the object's.
        expect(both.unit.meta.executionTimesMs).toEqual([5, 7, 9, 11]);
        expect(both.unit.meta).toMatchObject({ runCount: 3, lastDurationMs: 11 });
        expect(alone.unit.meta).toMatchObject({ runCount: 1, executionTimesMs: [1] });
      } finally {
        await other.close();
      }
    });

    test.each([7, 8, 9, 17])('a meta read after %i unread runs holds every one of them', async (runs) => {
      const unread = timed('unread');
      const read = timed('read');
      manager.registerUnit(unread.unit);
      manager.registerUnit(read.unit);
      const seen = [];
      for (let i = 0; i < runs; i += 1) {
        await read.run(i + 1);
        seen.push(JSON.stringify(read.unit.meta));
        await unread.run(i + 1);
      }
      expect(JSON.stringify(unread.unit.meta)).toBe(seen.at(-1));
      expect(unread.unit.meta.executionTimesMs).toEqual(Array.from({ length: runs }, (_, i) => i + 1));
      await unread.run(100);
      await read.run(100);
      expect(JSON.stringify(unread.unit.meta)).toBe(JSON.stringify(read.unit.meta));
    });

    test('a meta assigned before the first read takes the next runs as one assigned after a read does', async () => {
      const read = timed('read');
      const unread = timed('unread');
      for (const t of [read, unread]) manager.registerUnit(t.unit);
      for (const ms of [10, 20]) {
        await read.run(ms);
        expect(read.unit.meta.runCount).toBeGreaterThan(0);
        await unread.run(ms);
      }
      read.unit.meta = { team: 'a' };
      unread.unit.meta = { team: 'a' };
      await read.run(30);
      await unread.run(30);
      expect(JSON.parse(JSON.stringify(unread.unit.meta))).toEqual(JSON.parse(JSON.stringify(read.unit.meta)));
      expect(unread.unit.meta).toMatchObject({ team: 'a', runCount: 3, executionTimesMs: [30], lastDurationMs: 30 });
    });

    test("a full ring's place goes to another unit only once its meta is collected", async () => {
      // In a child with the collector at hand: units whose rings grew are
      // released and collected while one stays; the rings of the next
      // units take their places; every unit keeps its own durations.
      const script = `
        const { createSynchronikManager } = require('.');
        const m = createSynchronikManager({ clock: 'manual' });
        let gate;
        const make = (id) => ({ id, run: () => gate.promise });
        const runAll = async (units, ms) => {
          for (const u of units) {
            gate = { promise: null };
            gate.promise = new Promise((r) => (gate.resolve = r));
            const done = m.runWorkerById(u.id);
            await m.clock.advance(ms);
            gate.resolve();
            await done;
          }
        };
        (async () => {
          const kept = make('kept');
          m.registerUnit(kept);
          let gone = Array.from({ length: 100 }, (_, i) => make('gone' + i));
          for (const u of gone) m.registerUnit(u);
          for (let r = 1; r <= 12; r++) await runAll([kept, ...gone], r);
          for (const u of gone) m.releaseUnit(u.id);
          gone = null;
          for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
          const next = Array.from({ length: 100 }, (_, i) => make('next' + i));
          for (const u of next) m.registerUnit(u);
          for (let r = 1; r <= 12; r++) await runAll(next, 100 + r);
          await runAll([kept], 13);
          console.log(JSON.stringify({ kept: kept.meta.executionTimesMs, next: next.map((u) => u.meta.executionTimesMs) }));
          await m.close();
        })();
      `;
      const r = await runNode(['--expose-gc', '-e', script], { timeoutMs: 60000 });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout);
      expect(out.kept).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
      const expected = Array.from({ length: 12 }, (_, i) => 101 + i);
      for (const times of out.next) expect(times).toEqual(expected);
    });

    test('a meta that comes with executionTimesMs of its own keeps it, pushed onto as in 2.3', async () => {
      const mine = [4];
      const { unit: w, run } = timed('w', { meta: { team: 'a', executionTimesMs: mine } });
      manager.registerUnit(w);
      await run(15);
      expect(plainTimes(w.meta)).toBe(mine);
      expect(mine).toEqual([4, 15]);
    });

    test('a meta object made non-extensible after registration keeps its own array, pushed onto', async () => {
      const { unit: w, run } = timed('w');
      manager.registerUnit(w);
      Object.preventExtensions(w.meta);
      const array = w.meta.executionTimesMs;
      await run(15);
      await run(25);
      expect(plainTimes(w.meta)).toBe(array);
      expect(array).toEqual([15, 25]);
    });
  });

  describe('status, enabled and meta are kept nowhere until written', () => {
    const accessor = (o, key) => typeof Object.getOwnPropertyDescriptor(o, key).get === 'function';
    const plainValue = (o, key) => Object.getOwnPropertyDescriptor(o, key).value;
    const FRESH_META = { runCount: 0, executionTimesMs: [], averageExecutionTimeMs: 0 };

    test('a registered object shows the fields as before, through accessors', () => {
      const w = { id: 'w', run: () => 1 };
      manager.registerUnit(w);
      for (const key of ['status', 'enabled', 'meta']) {
        expect(Object.getOwnPropertyDescriptor(w, key)).toEqual(expect.objectContaining({ enumerable: true, configurable: true }));
        expect(accessor(w, key)).toBe(true);
      }
      expect(Object.keys(w)).toEqual(['id', 'run', 'status', 'enabled', 'meta']);
      expect(w.status).toBe('idle');
      expect(w.enabled).toBe(true);
      expect(JSON.parse(JSON.stringify(w))).toEqual({ id: 'w', status: 'idle', enabled: true, meta: FRESH_META });
      // The meta read is made once: the same object from then on.
      const meta = w.meta;
      expect(w.meta).toBe(meta);
      expect({ ...w }).toEqual({ id: 'w', run: w.run, status: 'idle', enabled: true, meta });
      expect(manager.getRegistrySnapshot()[0]).toEqual({ id: 'w', status: 'idle', enabled: true, meta: FRESH_META });
      expect(manager.getRegistrySnapshot()[0].meta).not.toBe(meta);
    });

    test('runs and state changes write them, and the next manager of the object goes on from them', async () => {
      const w = { id: 'w', run: () => 1 };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.status).toBe('completed');
      expect(w.meta.runCount).toBe(1);
      manager.disableWorker('w');
      expect(w.enabled).toBe(false);
      expect(Object.keys(w)).toEqual(['id', 'run', 'status', 'enabled', 'meta', 'lastRun']);
      await manager.enableWorker('w');
      expect(w.enabled).toBe(true);
      await manager.runWorkerById('w');
      expect(w.meta.runCount).toBe(2);
      expect(w.meta.executionTimesMs).toHaveLength(2);
      await manager.close();
      const next = createSynchronikManager();
      try {
        next.registerUnit(w);
        await next.runWorkerById('w');
        expect(w.meta.runCount).toBe(3);
        expect(w.status).toBe('completed');
      } finally {
        await next.close();
      }
    });

    test('what the user writes is the field until the engine writes it; a meta read before the first run is the one the runs fill in', async () => {
      const w = { id: 'w', run: () => 1 };
      manager.registerUnit(w);
      w.meta.team = 'blue';
      w.enabled = 'mine';
      w.status = 'whatever';
      expect(w.enabled).toBe('mine');
      expect(w.status).toBe('whatever');
      const other = { id: 'other', run: () => 2 };
      manager.registerUnit(other);
      const given = { runCount: 0, owner: 'me' };
      other.meta = given;
      expect(other.meta).toBe(given);
      await manager.runWorkerById('w');
      await manager.runWorkerById('other');
      expect(w.status).toBe('completed');
      expect(w.meta).toEqual(expect.objectContaining({ team: 'blue', runCount: 1 }));
      expect(other.meta).toBe(given);
      expect(given).toEqual(expect.objectContaining({ owner: 'me', runCount: 1 }));
    });

    test('a field deleted or redefined by the user is a plain field again, written by the runs', async () => {
      const w = { id: 'w', run: () => 1 };
      manager.registerUnit(w);
      delete w.status;
      Object.defineProperty(w, 'meta', { value: { team: 'a' }, writable: true, enumerable: true, configurable: true });
      await manager.runWorkerById('w');
      expect(plainValue(w, 'status')).toBe('completed');
      expect(plainValue(w, 'meta')).toEqual(expect.objectContaining({ team: 'a', runCount: 1 }));
      // Deleted after runs wrote them.
      const later = { id: 'later', run: () => 1 };
      manager.registerUnit(later);
      await manager.runWorkerById('later');
      await manager.runWorkerById('later');
      expect(later.meta.runCount).toBe(2);
      delete later.status;
      delete later.meta;
      await manager.runWorkerById('later');
      expect(plainValue(later, 'status')).toBe('completed');
      expect(plainValue(later, 'meta')).toEqual(expect.objectContaining({ runCount: 3, executionTimesMs: [expect.any(Number)] }));
      await manager.runWorkerById('later');
      expect(plainValue(later, 'meta').runCount).toBe(4);
    });

    test('an object made from a registered one reads its fields; writes to it stay its own, as with plain fields', () => {
      const w = { id: 'w', run: () => 1 };
      manager.registerUnit(w);
      const child = Object.create(w);
      expect(child.meta).toBe(w.meta);
      expect(child.status).toBe('idle');
      expect(Object.prototype.hasOwnProperty.call(child, 'meta')).toBe(false);
      child.status = 'mine';
      expect(plainValue(child, 'status')).toBe('mine');
      expect(w.status).toBe('idle');
      manager.disableWorker('w');
      expect(child.enabled).toBe(false);
    });

    test('an object frozen after registration keeps being written: the fields the package added are its own', async () => {
      const reports = [];
      manager.on('listenerError', ({ event }) => reports.push(`${event.type}:${event.field}`));
      const w = { id: 'w', run: () => 1 };
      manager.registerUnit(w);
      Object.freeze(w);
      const meta = w.meta;
      await manager.runWorkerById('w');
      expect(w.meta).toBe(meta);
      expect(meta.runCount).toBe(1);
      expect(w.status).toBe('completed');
      // lastRun (a field added at the first run) could not be added.
      expect(reports).toEqual(['mirror:lastRun']);
    });

    test('an object with the fields of its own, or on its prototype, gets plain writes as before', async () => {
      class Job {
        get status() {
          return this._status;
        }
        set status(s) {
          this._status = s;
        }
      }
      const job = Object.assign(new Job(), { id: 'job', run: () => 1 });
      manager.registerUnit(job);
      expect(job._status).toBe('idle');
      const given = { id: 'given', run: () => 1, enabled: true, meta: { team: 'a' } };
      manager.registerUnit(given);
      expect(plainValue(given, 'enabled')).toBe(true);
      expect(plainValue(given, 'meta')).toEqual({ team: 'a', ...FRESH_META });
      expect(accessor(given, 'status')).toBe(true);
      await manager.runWorkerById('job');
      await manager.runWorkerById('given');
      expect(job._status).toBe('completed');
      expect(plainValue(given, 'meta').runCount).toBe(1);
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
