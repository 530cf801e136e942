'use strict';

// synchronik 2.3 compatibility: the 2.3 manager tests (src/tests/core/
// manager.test.ts) and run-mode tests (src/tests/runmode.test.ts), ported
// from vitest to Jest against the package entry. Timing bounds: lower
// bounds as in 2.3, upper bounds × 3. The run-mode tests keep 2.3's workers
// that take real time (setTimeout in the user's run) and its bounds on
// real durations: they check 2.3's timing contract on the system clock
// (run-modes.spec.js checks the same rules exactly on the manual clock).

const { createSynchronikManager } = require('..');
const { deferred } = require('./helpers');

const now = () => performance.now();

const mockWorker = (id) => ({
  id,
  status: 'idle',
  run: jest.fn().mockResolvedValue(undefined),
  name: 'Mock Worker',
  enabled: true,
});

const mockProcess = (id, workerIds) => ({
  id,
  status: 'idle',
  workers: workerIds.map(mockWorker),
  name: 'Mock Process',
  enabled: true,
});

describe('2.3 compatibility: SynchronikManager', () => {
  let manager;
  let events;

  beforeEach(() => {
    manager = createSynchronikManager();
    events = [];
    manager.subscribeToEvents((event) => events.push(event));
  });

  test('registers and snapshots units', () => {
    const worker = { id: 'w1', status: 'idle', name: 'Worker 1', enabled: true, run: async () => {} };
    manager.registerUnit(worker);
    const snapshot = manager.getRegistrySnapshot();
    expect(snapshot.map((u) => u.id)).toContain('w1');
    expect(snapshot[0]).not.toBe(worker);
  });

  test('runs a unit and emits milestone', async () => {
    const worker = mockWorker('w2');
    manager.registerUnit(worker);
    await manager.runWorkerById('w2');
    expect(worker.run).toHaveBeenCalled();
    expect(events.some((e) => e.type === 'updated' && e.unitId === 'w2')).toBe(true);
  });

  test('runs a process and all its workers', async () => {
    const process = mockProcess('p1', ['w3', 'w4']);
    manager.registerUnit(process);
    await manager.runProcessById('p1');
    for (const worker of process.workers) expect(worker.run).toHaveBeenCalled();
    expect(events.some((e) => e.type === 'updated' && e.unitId === 'w3')).toBe(true);
    expect(events.some((e) => e.type === 'updated' && e.unitId === 'w4')).toBe(true);
  });

  test('updates status and triggers milestone', () => {
    manager.registerUnit(mockWorker('w8'));
    manager.updateStatus('w8', 'error', { payload: { reason: 'fail' } }); // not awaited, as in 2.3
    expect(events.some((e) => e.type === 'updated' && e.unitId === 'w8')).toBe(true);
    const unit = manager.getUnitById('w8');
    expect(unit.status).toBe('error');
    expect(unit.reason).toBe('fail'); // the payload is merged into the unit
  });

  test('startAll and stopAll update unit states', () => {
    manager.registerUnit(mockWorker('w9'));
    manager.registerUnit(mockWorker('w10'));
    manager.stopAll();
    expect(manager.getUnitById('w9').status).toBe('paused');
    expect(manager.getUnitById('w10').status).toBe('paused');
    manager.startAll();
    expect(manager.getUnitById('w9').status).toBe('idle');
    expect(manager.getUnitById('w10').status).toBe('idle');
  });

  test('can disable and enable a worker', () => {
    manager.registerUnit(mockWorker('w11'));
    expect(manager.getUnitById('w11').enabled).toBe(true);
    manager.disableWorker('w11');
    expect(manager.getUnitById('w11').enabled).toBe(false);
    manager.enableWorker('w11');
    expect(manager.getUnitById('w11').enabled).toBe(true);
  });

  test('can disable and enable a process', () => {
    manager.registerUnit(mockProcess('p2', []));
    expect(manager.getUnitById('p2').enabled).toBe(true);
    manager.disableProcess('p2');
    expect(manager.getUnitById('p2').enabled).toBe(false);
    manager.enableProcess('p2');
    expect(manager.getUnitById('p2').enabled).toBe(true);
  });

  test('runs process in parallel mode', async () => {
    const process = { ...mockProcess('p-parallel', ['wp1', 'wp2']), runMode: 'parallel' };
    manager.registerUnit(process);
    const start = now();
    await manager.runProcessById('p-parallel');
    expect(now() - start).toBeLessThan(150);
    expect(events.some((e) => e.payload && e.payload.runMode === 'parallel')).toBe(true);
    for (const worker of process.workers) {
      expect(worker.run).toHaveBeenCalled();
      expect(manager.getUnitById(worker.id).status).toBe('completed');
    }
  });

  test('runs process in isolated mode with delay', async () => {
    const process = { ...mockProcess('p-isolated', ['wi1', 'wi2']), runMode: 'isolated' };
    manager.registerUnit(process);
    const start = now();
    await manager.runProcessById('p-isolated');
    expect(now() - start).toBeGreaterThanOrEqual(98);
    expect(events.some((e) => e.payload && e.payload.runMode === 'isolated')).toBe(true);
    for (const worker of process.workers) expect(manager.getUnitById(worker.id).status).toBe('completed');
  });

  test('emits milestone with runMode in payload', async () => {
    manager.registerUnit({ ...mockProcess('p-seq', ['ws1']), runMode: 'sequential' });
    await manager.runProcessById('p-seq');
    expect(events.some((e) => e.type === 'milestone' && e.payload && e.payload.runMode === 'sequential')).toBe(true);
  });

  test('retries a failing worker with exponential backoff', async () => {
    const run = jest
      .fn()
      .mockRejectedValueOnce(new Error('Attempt 1 failed'))
      .mockRejectedValueOnce(new Error('Attempt 2 failed'))
      .mockResolvedValue('Success');
    const worker = {
      id: 'retry-worker',
      name: 'Retry Worker',
      enabled: true,
      status: 'idle',
      run,
      maxRetries: 2,
      retryDelayMs: (attempt) => 2 ** (attempt - 1) * 50,
    };
    manager.registerUnit(worker);
    const start = now();
    await manager.runWorkerById('retry-worker');
    const duration = now() - start;
    expect(run).toHaveBeenCalledTimes(3);
    expect(duration).toBeGreaterThanOrEqual(145);
    expect(duration).toBeLessThan(600);
    expect(manager.getUnitById('retry-worker').status).toBe('completed');
    expect(events.find((e) => e.type === 'error')).toBeUndefined();
  });

  test("sets worker status to 'error' after all retries fail", async () => {
    const run = jest.fn().mockRejectedValue(new Error('Permanent failure'));
    manager.registerUnit({ id: 'failing-worker', name: 'Failing Worker', enabled: true, status: 'idle', run, maxRetries: 2 });
    await manager.runWorkerById('failing-worker');
    expect(run).toHaveBeenCalledTimes(3);
    expect(manager.getUnitById('failing-worker').status).toBe('error');
    expect(events.some((e) => e.type === 'error' && e.unitId === 'failing-worker')).toBe(true);
  });

  test('calls the onError hook when a worker fails permanently', async () => {
    const onError = jest.fn();
    const run = jest.fn().mockRejectedValue(new Error('Simulated worker failure'));
    manager.registerUnit({ id: 'hook-worker', name: 'Hook Worker', enabled: true, status: 'idle', run, maxRetries: 1, onError });
    await manager.runWorkerById('hook-worker');
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(new Error('Simulated worker failure'));
    expect(manager.getUnitById('hook-worker').status).toBe('error');
  });

  test('dynamically updates worker configuration and retries accordingly', async () => {
    const run = jest.fn().mockRejectedValueOnce(new Error('First failure')).mockResolvedValue('Success');
    manager.registerUnit({ id: 'dynamic-worker', name: 'Dynamic Worker', enabled: true, status: 'idle', run, maxRetries: 0 });

    await manager.runWorkerById('dynamic-worker');
    expect(run).toHaveBeenCalledTimes(1);
    expect(manager.getUnitById('dynamic-worker').status).toBe('error');

    await manager.updateWorkerConfig('dynamic-worker', { maxRetries: 1 });
    await manager.updateStatus('dynamic-worker', 'idle');

    await manager.runWorkerById('dynamic-worker');
    expect(run).toHaveBeenCalledTimes(2);
    expect(manager.getUnitById('dynamic-worker').status).toBe('completed');
  });
});

describe('2.3 compatibility: SynchronikManager - Fierce Testing', () => {
  let manager;
  let events;

  beforeEach(() => {
    manager = createSynchronikManager();
    events = [];
    manager.subscribeToEvents((event) => events.push(event));
  });

  test('should handle hot-swapping worker config during a process run', async () => {
    const firstRunning = deferred();
    const w1 = {
      id: 'hot-swap-w1',
      name: 'Hot Swap Worker 1',
      enabled: true,
      status: 'idle',
      // 2.3 let this run take 50 ms so that the update lands while it runs;
      // here it runs until the update has landed.
      run: jest.fn(() => firstRunning.promise),
    };
    const w2 = {
      id: 'hot-swap-w2',
      name: 'Hot Swap Worker 2',
      enabled: true,
      status: 'idle',
      meta: { original: true },
      run: jest.fn().mockResolvedValue(undefined),
    };
    manager.registerUnit({ id: 'hot-swap-process', name: 'Hot Swap Process', enabled: true, status: 'idle', runMode: 'sequential', workers: [w1, w2] });

    const processRun = manager.runProcessById('hot-swap-process');
    await manager.updateWorkerConfig('hot-swap-w2', { meta: { original: false, updated: true }, enabled: false });
    expect(manager.getUnitStatus('hot-swap-w1')).toBe('running');
    firstRunning.resolve();
    await processRun;

    const finalW2 = manager.getUnitById('hot-swap-w2');
    expect(finalW2.meta.original).toBe(false);
    expect(finalW2.meta.updated).toBe(true);
    expect(finalW2.enabled).toBe(false);
    expect(
      events.some((e) => e.type === 'updated' && e.unitId === 'hot-swap-w2' && e.payload && e.payload.reason === 'config-change'),
    ).toBe(true);
    expect(w1.run).toHaveBeenCalledTimes(1);
  });

  test('should update a worker in a process and verify the change from the parent', async () => {
    const initialWorker = {
      id: 'config-integrity-worker',
      name: 'Config Integrity Worker',
      enabled: true,
      status: 'idle',
      meta: { version: 1, author: 'test' },
      maxRetries: 3,
      retryDelayMs: 100,
      run: jest.fn().mockResolvedValue('done'),
    };
    const process = {
      id: 'config-integrity-process',
      name: 'Config Integrity Process',
      enabled: true,
      status: 'idle',
      workers: [initialWorker],
    };
    manager.registerUnit(process);
    expect(initialWorker.processId).toBe('config-integrity-process');

    const { run: _run, ...stateBefore } = initialWorker;
    const expected = JSON.parse(JSON.stringify({ ...stateBefore, enabled: false }));

    await manager.updateWorkerConfig('config-integrity-worker', { enabled: false });

    const updatedWorker = manager.getUnitById('config-integrity-worker');
    expect(updatedWorker.processId).toBe('config-integrity-process');
    const parent = manager.getUnitById(updatedWorker.processId);
    const fromParent = parent.workers.find((w) => w.id === 'config-integrity-worker');
    const { run: _run2, ...stateAfter } = fromParent;
    expect(stateAfter).toEqual(expected);
    expect(fromParent).toBe(initialWorker);
  });
});

describe('2.3 compatibility: run modes', () => {
  let manager;
  let milestones;

  const timedWorker = (id, delayMs) => ({
    id,
    name: id,
    enabled: true,
    status: 'idle',
    run: jest.fn(() => new Promise((resolve) => setTimeout(resolve, delayMs))),
  });

  beforeEach(() => {
    manager = createSynchronikManager();
    milestones = [];
    manager.onMilestone((id, payload) => milestones.push({ id, payload }));
    manager.subscribeToEvents(() => {}); // the 2.3 test ignores errors this way
  });

  test('runs process in parallel mode with correct timing', async () => {
    const workers = ['pw1', 'pw2', 'pw3'].map((id) => timedWorker(id, 50));
    manager.registerUnit({ id: 'parallel-process', name: 'Parallel', enabled: true, status: 'idle', runMode: 'parallel', workers });
    const start = now();
    await manager.runProcessById('parallel-process');
    const duration = now() - start;
    expect(duration).toBeGreaterThanOrEqual(48);
    expect(duration).toBeLessThan(300);
    for (const w of workers) expect(w.run).toHaveBeenCalledTimes(1);
    expect(milestones.some((m) => m.payload && m.payload.runMode === 'parallel')).toBe(true);
  });

  test('runs process in sequential mode with correct timing', async () => {
    const workers = ['sw1', 'sw2', 'sw3'].map((id) => timedWorker(id, 50));
    manager.registerUnit({ id: 'sequential-process', name: 'Sequential', enabled: true, status: 'idle', runMode: 'sequential', workers });
    const start = now();
    await manager.runProcessById('sequential-process');
    const duration = now() - start;
    for (const w of workers) expect(manager.getUnitById(w.id).status).toBe('completed');
    expect(duration).toBeGreaterThanOrEqual(145);
    expect(duration).toBeLessThan(600);
    expect(milestones.some((m) => m.payload && m.payload.runMode === 'sequential')).toBe(true);
  });

  test('runs process in isolated mode with correct timing', async () => {
    const workers = ['iw1', 'iw2'].map((id) => timedWorker(id, 0));
    manager.registerUnit({ id: 'isolated-process', name: 'Isolated', enabled: true, status: 'idle', runMode: 'isolated', isolationDelayMs: 75, workers });
    const start = now();
    await manager.runProcessById('isolated-process');
    const duration = now() - start;
    expect(duration).toBeGreaterThanOrEqual(145);
    expect(duration).toBeLessThan(750);
    for (const w of workers) expect(w.run).toHaveBeenCalledTimes(1);
    expect(milestones.some((m) => m.payload && m.payload.runMode === 'isolated')).toBe(true);
  });

  test('runs process in batched mode', async () => {
    const workers = ['bw1', 'bw2', 'bw3'].map((id) => timedWorker(id, 10));
    manager.registerUnit({ id: 'batched-process', name: 'Batched', enabled: true, status: 'idle', runMode: 'batched', batchSize: 2, workers });
    await manager.runProcessById('batched-process');
    for (const w of workers) expect(w.run).toHaveBeenCalled();
    expect(milestones.some((m) => m.payload && m.payload.runMode === 'batched')).toBe(true);
  });

  test('completes a batch even if one worker fails (fault tolerance)', async () => {
    const ok1 = timedWorker('ok-1', 50);
    const failing = { id: 'fail-1', name: 'fail-1', enabled: true, status: 'idle', maxRetries: 0, run: jest.fn().mockRejectedValue(new Error('I always fail')) };
    const ok2 = timedWorker('ok-2', 50);
    manager.registerUnit({ id: 'fault-tolerant', name: 'Fault tolerant', enabled: true, status: 'idle', runMode: 'batched', batchSize: 3, workers: [ok1, failing, ok2] });
    await manager.runProcessById('fault-tolerant');
    expect(manager.getUnitById('ok-1').status).toBe('completed');
    expect(manager.getUnitById('fail-1').status).toBe('error');
    expect(manager.getUnitById('ok-2').status).toBe('completed');
    expect(manager.getUnitById('fault-tolerant').status).toBe('completed');
  });
});
