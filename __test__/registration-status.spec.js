'use strict';

// The status a unit is registered with (SPEC §2: `status?` is the initial
// status). A unit is registered at rest — idle, paused, completed or in
// error — and runs when it is started or run: one registered 'running'
// would say so with nothing running it, so it is refused. State brought
// back from storage is not registration: a unit stored while it ran comes
// back idle.

const { errorOf, closedAfterEach } = require('./helpers');

const create = closedAfterEach();

const REFUSED = "must be one of 'idle', 'paused', 'completed', 'error' when registering; nothing would run a unit registered as 'running' (got string \"running\")";

describe("registerUnit refuses status: 'running'", () => {
  test('a worker', async () => {
    const m = create();
    const run = jest.fn();
    const error = await errorOf(() => m.registerUnit({ id: 'w', status: 'running', run }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`registerUnit: unit.status ${REFUSED}`);
    expect(m.getUnitById('w')).toBeUndefined();
    expect(run).not.toHaveBeenCalled();
  });

  test('a process, and a worker of a process (nothing of it is registered)', () => {
    const m = create();
    expect(() => m.registerUnit({ id: 'p', status: 'running', workers: [{ id: 'a', run: () => {} }] })).toThrow(
      new TypeError(`registerUnit: unit.status ${REFUSED}`),
    );
    expect(() => m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => {} }, { id: 'b', status: 'running', run: () => {} }] })).toThrow(
      new TypeError(`registerUnit: unit.workers[1].status ${REFUSED}`),
    );
    expect(m.listUnits()).toEqual([]);
  });

  test.each(['idle', 'paused', 'completed', 'error'])("status '%s' is accepted and kept", (status) => {
    const m = create();
    const w = m.registerUnit({ id: 'w', status, run: () => {} });
    expect(w.status).toBe(status);
    expect(m.getUnitStatus('w')).toBe(status);
    const p = m.registerUnit({ id: 'p', status, workers: [{ id: 'a', status, run: () => {} }] });
    expect(p.status).toBe(status);
    expect(p.workers[0].status).toBe(status);
  });

  test('the object the manager holds may be registered again while it runs (its run ends with ERR_RELEASED, as before)', async () => {
    const m = create();
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    let calls = 0;
    const w = m.registerUnit({
      id: 'w',
      run: () => {
        calls += 1;
        return calls === 1 ? gate : 'again';
      },
    });
    const first = m.runWorkerById('w');
    expect(w.status).toBe('running');
    expect(m.registerUnit(w)).toBe(w);
    expect(w.status).toBe('error');
    expect(w.error.code).toBe('ERR_RELEASED');
    release();
    await first;
    await m.runWorkerById('w');
    expect(w.status).toBe('completed');
    expect(calls).toBe(2);
  });

  test("a running unit's object cannot be registered with another manager (nothing there runs it)", async () => {
    const a = create();
    let release;
    const w = a.registerUnit({ id: 'w', run: () => new Promise((resolve) => (release = resolve)) });
    const run = a.runWorkerById('w');
    const b = create();
    expect(() => b.registerUnit(w)).toThrow(new TypeError(`registerUnit: unit.status ${REFUSED}`));
    release();
    await run;
    expect(b.registerUnit(w).status).toBe('completed');
  });

  test("updateStatus(id, 'running') by hand is unchanged", () => {
    const m = create();
    m.registerUnit({ id: 'w', run: () => {} });
    m.updateStatus('w', 'running');
    expect(m.getUnitStatus('w')).toBe('running');
  });
});

describe('state brought back from storage is not registration', () => {
  test('useStorage: a unit stored while it ran comes back idle', async () => {
    const m = create();
    await m.useStorage({
      saveState: async () => {},
      loadState: async () => [
        { id: 'was-running', status: 'running', enabled: true, meta: { runCount: 3 } },
        { id: 'was-paused', status: 'paused', enabled: true, meta: { runCount: 1 } },
      ],
    });
    const running = m.registerUnit({ id: 'was-running', run: () => 'ok' });
    const paused = m.registerUnit({ id: 'was-paused', run: () => 'ok' });
    expect(running.status).toBe('idle');
    expect(m.getUnitStatus('was-running')).toBe('idle');
    expect(running.meta.runCount).toBe(3);
    expect(paused.status).toBe('paused');
    await m.runWorkerById('was-running');
    expect(running.status).toBe('completed');
    expect(running.meta.runCount).toBe(4);
  });
});
