'use strict';

// How often the facade asks the engine for records. The engine says in the
// liveness cell whether records wait, so a pump stops after carrying out a
// drain when none are left instead of calling for a drain that would find
// nothing; records made meanwhile are still carried out. A run request,
// and the report of settled runs, drain the engine's answer in the same
// call.

/** Drains (engineDrain calls, and run requests and reports that drained), those that found nothing, and engineDrain calls alone. */
const counts = { drains: 0, empty: 0, calls: 0 };
/** The opcodes of the records those drains brought, by name, in order. */
const records = [];
/** The facade's buffer of drained records (given to the engine when it is made). */
let mockOut;

/** Notes the records of a drain that wrote `r >>> 2` numbers into `out` from `at`. */
function mockTally(r, at) {
  const { OPS, STRIDE } = jest.requireActual('../lib/generated/vocabulary');
  const names = Object.fromEntries(Object.entries(OPS).map(([name, op]) => [op, name]));
  for (let i = at; i < at + (r >>> 2); i += STRIDE) records.push(names[mockOut[i]]);
}

jest.mock('../lib/native.js', () => {
  const actual = jest.requireActual('../lib/native.js');
  return {
    ...actual,
    NativeEngine: class extends actual.NativeEngine {
      constructor(options) {
        super(options);
        mockOut = options.out;
      }
    },
    engineDrain(handle, offset) {
      const r = actual.engineDrain(handle, offset);
      mockTally(r, offset);
      counts.calls++;
      counts.drains++;
      if (r >>> 2 === 0) counts.empty++;
      return r;
    },
    engineComplete(handle, count, messages, drainAt) {
      const r = actual.engineComplete(handle, count, messages, drainAt);
      if (drainAt !== undefined) mockTally(r, drainAt);
      if (drainAt !== undefined) {
        counts.drains++;
        if (r >>> 2 === 0) counts.empty++;
      }
      return r;
    },
    engineRun(handle, slot, kind, drainAt) {
      const r = actual.engineRun(handle, slot, kind, drainAt);
      if (drainAt !== undefined) mockTally(r, drainAt);
      if (drainAt !== undefined) {
        counts.drains++;
        if (r >>> 2 === 0) counts.empty++;
      }
      return r;
    },
  };
});

const { createSynchronikManager } = require('..');

const T0 = Date.UTC(2026, 0, 1);

function reset() {
  records.length = 0;
  counts.drains = 0;
  counts.empty = 0;
  counts.calls = 0;
}

describe('a pump drains until the engine says nothing waits', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager({ clock: { manual: true, now: T0 } });
  });
  afterEach(async () => {
    await manager.close();
  });

  test('a run by id drains twice (its start, with its request; its outcome, with its report), none of them empty', async () => {
    const w = { id: 'w', run: () => 'done' };
    manager.registerUnit(w);
    await manager.runWorkerById('w');
    reset();
    await manager.runWorkerById('w');
    expect(w.status).toBe('completed');
    expect(w.meta.runCount).toBe(2);
    expect(counts).toEqual({ drains: 2, empty: 0, calls: 0 });
  });

  // A run's start is one record (its announcement and its call), its
  // completion another; a run by id adds its request's DONE.
  test('a run by id brings three records, a timer fire two', async () => {
    const w = { id: 'w', run: () => 'done' };
    manager.registerUnit(w);
    await manager.runWorkerById('w');
    reset();
    await manager.runWorkerById('w');
    expect(records).toEqual(['BEGIN_RUN', 'END', 'DONE']);
    manager.registerUnit({ id: 'tick', intervalMs: 100, runOnInterval: true, run: () => 'tick' });
    manager.start();
    await manager.clock.advance(100);
    reset();
    await manager.clock.advance(100);
    expect(records).toEqual(['BEGIN_RUN', 'END']);
  });

  test('a run request refused at once settles from the drain made with it', async () => {
    manager.registerUnit({ id: 'off', enabled: false, run: () => 'never' });
    reset();
    await expect(manager.runWorkerById('off')).resolves.toBeUndefined();
    await expect(manager.runWorkerById('nobody')).resolves.toBeUndefined();
    expect(counts.calls).toBe(0);
    expect(counts.drains).toBe(2);
  });

  test('records made while records are carried out are carried out in the same pump', async () => {
    // `outer` starts `inner` from its run: the nested call makes records
    // while the outer drain's are carried out. (`inner` settles first: its
    // run returns inside `outer`'s.)
    const order = [];
    const inner = { id: 'inner', run: () => order.push('inner') };
    let nested;
    const outer = {
      id: 'outer',
      run: () => {
        order.push('outer');
        nested = manager.runWorkerById('inner');
      },
    };
    manager.registerUnit(inner);
    manager.registerUnit(outer);
    manager.on('complete', (e) => order.push(`complete ${e.unitId}`));
    await manager.runWorkerById('outer');
    await nested;
    expect(order).toEqual(['outer', 'inner', 'complete inner', 'complete outer']);
    expect(inner.status).toBe('completed');
    expect(outer.status).toBe('completed');
  });

  test('a process of 1,000 workers run at once drains no empty buffer', async () => {
    const workers = Array.from({ length: 1000 }, (_, k) => ({ id: `p${k}`, run: () => k }));
    manager.registerUnit({ id: 'proc', runMode: 'parallel', workers });
    reset();
    await manager.runProcessById('proc');
    expect(workers.every((w) => w.status === 'completed')).toBe(true);
    expect(counts.empty).toBe(0);
    expect(counts.drains).toBeGreaterThan(0);
  });
});
