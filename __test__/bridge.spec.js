'use strict';

// The bridge between the engine and the facade: records drained through a
// fixed-size buffer (bursts larger than it arrive in order, in several
// drains), error messages carried by number across those drains, records
// drained by a listener while others are still being carried out, and the
// facade's table of pool tasks.

const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { createSynchronikManager } = require('..');
const { IdTable } = require('../lib/id-table');

describe('records larger than one drain', () => {
  test('20,000 failing workers run at once each get their own error message, in order', async () => {
    // Each failure makes several records (status, error, done…) that name
    // a message: far more than one drain holds.
    const manager = createSynchronikManager();
    const n = 20000;
    for (let k = 0; k < n; k++) {
      manager.registerUnit({ id: `w${k}`, timeoutMs: 0, run: () => Promise.reject(new Error(`failure #${k}`)) });
    }
    const failed = [];
    manager.on('error', (e) => failed.push(e.unitId));
    await Promise.all(Array.from({ length: n }, (_, k) => manager.runWorkerById(`w${k}`)));
    expect(failed).toHaveLength(n);
    expect(failed.slice(0, 3)).toEqual(['w0', 'w1', 'w2']);
    for (let k = 0; k < n; k += 997) {
      const w = manager.getWorkerById(`w${k}`);
      expect(w.status).toBe('error');
      expect(w.error.message).toBe(`failure #${k}`);
    }
  });

  test('engine errors with messages (a failed process run) survive a burst of other records', async () => {
    const manager = createSynchronikManager();
    const workers = Array.from({ length: 12000 }, (_, k) => ({ id: `p-${k}`, timeoutMs: 0, run: async () => k }));
    workers.push({ id: 'p-bad', timeoutMs: 0, run: async () => { throw new Error('the last one breaks'); } });
    manager.registerUnit({ id: 'p', runMode: 'sequential', workers });
    const error = await manager.runProcessById('p').then(() => null, (e) => e);
    expect(error).not.toBeNull();
    expect(error.code).toBe('ERR_WORKER_FAILED');
    expect(error.message).toContain('p-bad');
    expect(error.cause.message).toBe('the last one breaks');
    expect(manager.getWorkerById('p-11999').status).toBe('completed');
  });

  test('a listener that calls the manager while records are pending keeps the order', () => {
    const manager = createSynchronikManager();
    for (let k = 0; k < 10; k++) manager.registerUnit({ id: `u${k}`, run: async () => {} });
    const seen = [];
    manager.on('updated', (e) => {
      seen.push(`${e.unitId}:${e.payload.current}`);
      // Re-entrant: causes records of its own while stopAll's are being carried out.
      if (e.unitId === 'u3' && e.payload.current === 'paused') manager.updateStatus('u0', 'error');
    });
    manager.stopAll();
    expect(seen.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, k) => `u${k}:paused`));
    expect(seen[10]).toBe('u0:error');
    expect(manager.getUnitStatus('u0')).toBe('error');
  });
});

describe('a burst of timers due at once', () => {
  test("the runs' outcomes are reported once the engine has fired the burst's last part", () => {
    // More than the timer thread fires in one part (256): it fires the rest
    // while JavaScript runs the first parts. Once warm, JavaScript runs a
    // part faster than the engine fires the next; the report of the
    // outcomes it has then, which needs the engine's lock, waits until the
    // last part is fired. Run in a child (see the fixture).
    const out = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'timer-burst.js')], { encoding: 'utf8', timeout: 60_000 });
    const { n, bursts, started, reports } = JSON.parse(out);
    expect(started).toBe(bursts * n);
    // Every outcome was reported.
    expect(reports.reduce((sum, r) => sum + r.outcomes, 0)).toBe(bursts * n);
    // After the first burst (each worker's first run makes what later ones
    // reuse, and JavaScript is the slower thread then): no report while
    // runs of the burst were still to start — unless the timer that
    // reports them in any case (50 ms after the first waited) came first,
    // on a slow machine.
    const early = reports.filter((r) => r.started > n && r.started % n !== 0 && r.sinceBurstStartMs < 45);
    expect(early).toEqual([]);
  });
});

describe('IdTable', () => {
  test('finds values by id, through holes, compaction and ids below the oldest', () => {
    const t = new IdTable();
    for (let id = 100; id < 5100; id++) t.set(id, `v${id}`);
    expect(t.size).toBe(5000);
    expect(t.get(100)).toBe('v100');
    expect(t.get(5099)).toBe('v5099');
    expect(t.get(99)).toBeUndefined();
    expect(t.get(5100)).toBeUndefined();
    // Out of order: a hole in the middle, then the front leaves (compaction).
    expect(t.delete(2000)).toBe(true);
    expect(t.delete(2000)).toBe(false);
    for (let id = 100; id < 4000; id++) if (id !== 2000) t.delete(id);
    expect(t.size).toBe(1100);
    expect(t.get(3999)).toBeUndefined();
    expect(t.get(4000)).toBe('v4000');
    expect([...t.values()][0]).toBe('v4000');
    // An id below the oldest live one.
    t.set(50, 'old');
    expect(t.get(50)).toBe('old');
    expect(t.size).toBe(1101);
    expect(t.delete(50)).toBe(true);
    for (let id = 4000; id < 5100; id++) t.delete(id);
    expect(t.size).toBe(0);
    t.set(7, 'again');
    expect(t.get(7)).toBe('again');
    expect([...t.values()]).toEqual(['again']);
  });

  test('ids with gaps: holes for small ones, the side map for a far jump', () => {
    const t = new IdTable();
    t.set(1, 'a');
    t.set(4, 'b');
    t.set(1_000_000, 'far');
    t.set(9, 'c');
    expect([t.get(1), t.get(4), t.get(9), t.get(1_000_000), t.get(5)]).toEqual(['a', 'b', 'c', 'far', undefined]);
    expect(t.size).toBe(4);
    t.set(1_000_000, 'far again');
    expect(t.get(1_000_000)).toBe('far again');
    expect(t.size).toBe(4);
    for (const id of [1, 4, 9, 1_000_000]) expect(t.delete(id)).toBe(true);
    expect(t.size).toBe(0);
    expect(t.get(1_000_000)).toBeUndefined();
  });

  test('an id that is not an integer is its own, though its low bits name the slot of another', () => {
    const t = new IdTable();
    for (let id = 1; id <= 8; id++) t.set(id, `v${id}`);
    t.set(5.5, 'half');
    expect([t.get(5), t.get(5.5), t.get(6.5)]).toEqual(['v5', 'half', undefined]);
    expect(t.delete(6.5)).toBe(false);
    expect(t.delete(5.5)).toBe(true);
    expect(t.get(5)).toBe('v5');
    expect(t.size).toBe(8);
  });

  test('ids that come and go in a window reuse the ring: it does not grow with the ids seen', () => {
    const t = new IdTable();
    // 1,000 in flight at a time, ids two apart (calls and tickets share a counter).
    let next = 1;
    const live = [];
    for (let k = 0; k < 1000; k++, next += 2) {
      t.set(next, next);
      live.push(next);
    }
    const length = t._ring.length;
    expect(length).toBeLessThanOrEqual(4096);
    let wrong = 0;
    for (let k = 0; k < 100_000; k++, next += 2) {
      const id = next - 2000;
      if (t.get(id) !== id || !t.delete(id)) wrong++;
      t.set(next, next);
    }
    expect(wrong).toBe(0);
    for (let k = 0; k < 1000; k++) live[k] = next - 2000 + 2 * k;
    expect(t._ring.length).toBe(length);
    expect(t._others.size).toBe(0);
    expect(t.size).toBe(1000);
    expect([...t.values()]).toEqual(live);
  });

  test('an old id that stays while many come and go moves to the side map, and the ring stays small', () => {
    const t = new IdTable();
    t.set(1, 'stuck');
    for (let id = 2; id < 1_000_000; id++) {
      t.set(id, id);
      if (id > 19) t.delete(id - 18);
    }
    expect(t._ring.length).toBeLessThanOrEqual(1024);
    expect(t._others.get(1)).toBe('stuck');
    expect(t.get(1)).toBe('stuck');
    expect(t.get(999_999)).toBe(999_999);
    expect(t.get(999_981)).toBeUndefined();
    expect(t.size).toBe(1 + 18);
    expect([...t.values()][18]).toBe('stuck');
    expect(t.delete(1)).toBe(true);
    expect(t.get(1)).toBeUndefined();
  });

  test('the room of a burst is given back once the table is empty', () => {
    const t = new IdTable();
    for (let id = 1; id <= 200_000; id++) t.set(id, id);
    expect(t._ring.length).toBeGreaterThanOrEqual(200_000);
    for (let id = 1; id <= 200_000; id++) t.delete(id);
    expect(t.size).toBe(0);
    expect(t._ring.length).toBeLessThanOrEqual(16);
    t.set(300_000, 'next');
    expect(t.get(300_000)).toBe('next');
  });

  test('behaves as a Map under any order of sets and deletes', () => {
    const fc = require('fast-check');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set'), id: fc.integer({ min: 0, max: 6000 }) }),
      fc.record({ kind: fc.constant('setNext'), gap: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5000 })) }),
      fc.record({ kind: fc.constant('delete'), id: fc.integer({ min: 0, max: 6000 }) }),
      fc.record({ kind: fc.constant('deleteOldest') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const t = new IdTable();
        const model = new Map();
        let newest = 0;
        let wrongSize = 0;
        ops.forEach((o, n) => {
          if (o.kind === 'set' || o.kind === 'setNext') {
            const id = o.kind === 'set' ? o.id : (newest += o.gap);
            newest = Math.max(newest, id);
            t.set(id, n);
            model.set(id, n);
          } else {
            const id = o.kind === 'delete' ? o.id : Math.min(...model.keys());
            expect(t.delete(id)).toBe(model.delete(id));
          }
          if (t.size !== model.size) wrongSize++;
        });
        expect(wrongSize).toBe(0);
        for (const [id, value] of model) expect(t.get(id)).toBe(value);
        // Ids next to those set, and those deleted: nothing where nothing is.
        const near = ops.flatMap((o) => ('id' in o ? [o.id - 1, o.id, o.id + 1] : [])).concat([newest + 1]);
        for (const id of near) expect(t.get(id)).toBe(model.get(id));
        expect([...t.values()].sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });
});

describe("a process's workers as columns", () => {
  test('each worker gets its own settings, also those only some workers have', async () => {
    const manager = createSynchronikManager();
    const attempts = {};
    const failing = (id) => () => {
      attempts[id] = (attempts[id] || 0) + 1;
      throw new Error(`${id} fails`);
    };
    manager.registerUnit({
      id: 'columns',
      runMode: 'parallel',
      workers: [
        { id: 'c0', timeoutMs: 0, maxRetries: 0, run: failing('c0') },
        { id: 'c1', timeoutMs: 0, maxRetries: 2, retryDelayMs: 0, run: failing('c1') },
        { id: 'c2', timeoutMs: 0, enabled: false, maxRetries: 3, retryDelayMs: 0, run: failing('c2') },
        { id: 'c3', timeoutMs: 0, maxRetries: 1, retryDelayMs: () => 0, run: failing('c3') },
      ],
    });
    await manager.runProcessById('columns').catch(() => {});
    expect(attempts).toEqual({ c0: 1, c1: 3, c3: 2 });
    await manager.stop();
  });

  test('columns that do not line up are refused, naming the column, and nothing is registered', () => {
    const native = require('../lib/native.js');
    const engine = new native.NativeEngine({ manualClock: true, out: new Float64Array(6 * 16), inbox: new Float64Array(16) });
    const spec = { id: 'p', workerIds: ['a', 'b'], workerNumbers: new Float64Array(18).fill(NaN) };
    expect(() => engine.registerProcess({ ...spec, workerNumbers: new Float64Array(17) })).toThrow(
      'internal error: the process spec\'s workerNumbers has 17 numbers for 2 workers (9 each)',
    );
    expect(() => engine.registerProcess({ ...spec, workerStatuses: ['idle'] })).toThrow("internal error: the process spec's workerStatuses has 1 entries for 2 workers");
    expect(engine.orderedSlots()).toEqual([]);
    expect(engine.registerProcess(spec).slots).toHaveLength(3);
    engine.dispose();
  });
});
