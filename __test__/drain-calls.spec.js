'use strict';

// How often the facade asks the engine for records. The engine says in the
// liveness cell whether records wait, so a pump stops after carrying out a
// drain when none are left instead of calling for a drain that would find
// nothing; records made meanwhile are still carried out. A run request,
// and the report of settled runs, drain the engine's answer in the same
// call.

/** Drains (engineDrain calls, and run requests and reports that drained), those that found nothing, and engineDrain calls alone. */
const counts = { drains: 0, empty: 0, calls: 0 };

jest.mock('../lib/native.js', () => {
  const actual = jest.requireActual('../lib/native.js');
  return {
    ...actual,
    engineDrain(handle, offset) {
      const r = actual.engineDrain(handle, offset);
      counts.calls++;
      counts.drains++;
      if (r >>> 2 === 0) counts.empty++;
      return r;
    },
    engineComplete(handle, count, messages, drainAt) {
      const r = actual.engineComplete(handle, count, messages, drainAt);
      if (drainAt !== undefined) {
        counts.drains++;
        if (r >>> 2 === 0) counts.empty++;
      }
      return r;
    },
    engineRun(handle, slot, kind, drainAt) {
      const r = actual.engineRun(handle, slot, kind, drainAt);
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
