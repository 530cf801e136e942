'use strict';

// The unit object is the engine's mirror (SPEC §2): status, enabled, meta,
// lastRun, error and processId are written onto it. An object that cannot
// take new fields (frozen, sealed, non-extensible) is refused at
// registration; a write that still throws (a setter of the user's) is
// reported on `listenerError` and never breaks the bridge.

const { createSynchronikManager } = require('..');

const managers = [];
function make() {
  const m = createSynchronikManager({ clock: 'manual' });
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().close({ timeoutMs: 0 });
});

const MIRROR = 'since the engine writes status, enabled, meta, lastRun, error and processId onto it';

describe('units that cannot take the engine’s fields are refused', () => {
  test.each([
    ['frozen', Object.freeze, 'a frozen object'],
    ['sealed', Object.seal, 'a sealed object'],
    ['non-extensible', Object.preventExtensions, 'a non-extensible object'],
  ])('a %s worker', (_, lock, got) => {
    const m = make();
    const worker = lock({ id: 'w', run: () => 1 });
    expect(() => m.registerUnit(worker)).toThrow(
      new TypeError(`registerUnit: unit must be an extensible object, ${MIRROR} (got ${got})`),
    );
    expect(m.getUnitById('w')).toBeUndefined();
    expect(m.listUnits()).toEqual([]);
  });

  test('a frozen worker of a process: the process is refused whole', () => {
    const m = make();
    const process = { id: 'p', workers: [{ id: 'a', run: () => 1 }, Object.freeze({ id: 'b', run: () => 1 })] };
    expect(() => m.registerUnit(process)).toThrow(
      new TypeError(`registerUnit: unit.workers[1] must be an extensible object, ${MIRROR} (got a frozen object)`),
    );
    expect(m.listUnits()).toEqual([]);
    expect(process.workers[0].processId).toBeUndefined();
  });

  test('a frozen process', () => {
    const m = make();
    expect(() => m.registerUnit(Object.freeze({ id: 'p', workers: [] }))).toThrow(
      new TypeError(`registerUnit: unit must be an extensible object, ${MIRROR} (got a frozen object)`),
    );
    expect(m.getUnitById('p')).toBeUndefined();
  });

  test('a frozen meta', () => {
    const m = make();
    expect(() => m.registerUnit({ id: 'w', run: () => 1, meta: Object.freeze({ team: 'a' }) })).toThrow(
      new TypeError(
        'registerUnit: unit.meta must be an extensible object, since the engine keeps runCount and execution times in it (got a frozen object)',
      ),
    );
    expect(m.getUnitById('w')).toBeUndefined();
  });
});

describe('a write-back that throws is reported, never thrown', () => {
  /** A worker whose setters of every engine-owned field throw; what was set is kept aside. */
  function hostileWorker(id, run) {
    const refused = [];
    const worker = { id, run };
    for (const field of ['status', 'enabled', 'meta', 'lastRun', 'error', 'processId']) {
      Object.defineProperty(worker, field, {
        enumerable: true,
        get: () => undefined,
        set: (value) => {
          refused.push(field);
          throw new Error(`${field} is read-only here`);
        },
      });
    }
    return { worker, refused };
  }

  test('registration, runs, failures and state changes go on; each refusal is reported', async () => {
    const m = make();
    const reports = [];
    m.on('listenerError', ({ error, event }) => reports.push([event.type, event.unitId, event.field, error.message]));
    const events = [];
    m.subscribeToEvents((e) => events.push(`${e.type}:${e.unitId}`));
    let fail = false;
    const { worker, refused } = hostileWorker('w', () => {
      if (fail) throw new Error('boom');
      return 'ok';
    });
    const onError = jest.fn();
    worker.onError = onError;

    expect(m.registerUnit(worker)).toBe(worker);
    expect(m.getUnitById('w')).toBe(worker);
    expect(refused).toEqual(expect.arrayContaining(['status', 'enabled', 'meta']));

    await m.runWorkerById('w');
    expect(m.getRegistrySnapshot()).toHaveLength(1);
    fail = true;
    await m.runWorkerById('w');
    // The error reached the event and the hook although the object refused it.
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
    await m.disableWorker('w');

    expect(events).toEqual(expect.arrayContaining(['start:w', 'complete:w', 'error:w']));
    const fields = new Set(reports.map(([type, unitId, field]) => `${type}:${unitId}:${field}`));
    for (const field of ['status', 'enabled', 'meta', 'lastRun', 'error']) expect(fields).toContain(`mirror:w:${field}`);
    expect(reports.every(([, , field, message]) => message === `${field} is read-only here`)).toBe(true);

    // The bridge still works for everybody else.
    const ok = m.registerUnit({ id: 'ok', run: () => 42 });
    await m.runWorkerById('ok');
    expect(ok.status).toBe('completed');
    expect(ok.meta.runCount).toBe(1);
  });

  test('a process whose worker refuses processId still registers and runs', async () => {
    const m = make();
    const reports = [];
    m.on('listenerError', ({ event }) => reports.push(`${event.type}:${event.unitId}:${event.field}`));
    const { worker } = hostileWorker('inner', () => 'ok');
    const process = { id: 'p', workers: [worker] };
    m.registerUnit(process);
    expect(reports).toContain('mirror:inner:processId');
    await m.runProcessById('p');
    expect(process.status).toBe('completed');
  });

  test('a failed sequential run rejects with the error as cause although the worker refused it', async () => {
    const m = make();
    m.on('listenerError', () => {});
    const { worker } = hostileWorker('bad', () => {
      throw new Error('kaput');
    });
    m.registerUnit({ id: 'p', workers: [worker] });
    const error = await m.runProcessById('p').catch((e) => e);
    expect(error.cause).toEqual(expect.objectContaining({ message: 'kaput' }));
  });

  test('with nobody listening, the first refusal is printed once', async () => {
    const m = make();
    const print = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { worker } = hostileWorker('w', () => 'ok');
      m.registerUnit(worker);
      await m.runWorkerById('w');
      await m.runWorkerById('w');
      expect(print).toHaveBeenCalledTimes(1);
      expect(print.mock.calls[0][0]).toMatch(/"mirror"/);
    } finally {
      print.mockRestore();
    }
  });
});
