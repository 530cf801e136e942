'use strict';

// Dependency graphs (`dependsOn`): a process any of whose workers declares
// dependencies runs as a graph. Order is controlled through promises the
// tests resolve themselves, not through timers.

const { createSynchronikManager, SynchronikError } = require('..');
const { deferred, until, settle, track } = require('./helpers');

describe('dependency graphs', () => {
  let m;
  let log; // 'start:<id>' / 'end:<id>' in the order they happened
  let skipped;

  /** A worker that logs its start and end and returns `result` (or `result(ctx)`). */
  const w = (id, dependsOn, result, extra = {}) => ({
    id,
    ...(dependsOn ? { dependsOn } : {}),
    run: jest.fn(async () => {
      log.push(`start:${id}`);
      const value = typeof result === 'function' ? await result() : result;
      log.push(`end:${id}`);
      return value;
    }),
    ...extra,
  });

  const starts = () => log.filter((s) => s.startsWith('start:')).map((s) => s.slice(6));

  beforeEach(() => {
    m = createSynchronikManager();
    log = [];
    skipped = [];
    m.on('skipped', (e) => skipped.push(e));
  });

  afterEach(async () => {
    await m.stop({ timeoutMs: 0 });
  });

  describe('order', () => {
    test('a chain runs in dependency order, each worker once', async () => {
      const workers = [w('C', ['B']), w('B', ['A']), w('A')];
      m.registerUnit({ id: 'chain', workers });
      await m.runProcessById('chain');
      expect(log).toEqual(['start:A', 'end:A', 'start:B', 'end:B', 'start:C', 'end:C']);
      for (const worker of workers) {
        expect(worker.run).toHaveBeenCalledTimes(1);
        expect(worker.status).toBe('completed');
      }
      expect(m.getUnitStatus('chain')).toBe('completed');
    });

    test('a diamond runs its shared dependency once and the join after both branches', async () => {
      const workers = [w('A'), w('B', ['A']), w('C', ['A']), w('D', ['B', 'C'])];
      m.registerUnit({ id: 'diamond', workers });
      await m.runProcessById('diamond');
      const order = starts();
      expect(order).toHaveLength(4);
      expect(order[0]).toBe('A');
      expect(order.slice(1, 3).sort()).toEqual(['B', 'C']);
      expect(order[3]).toBe('D');
      expect(log.indexOf('start:D')).toBeGreaterThan(log.indexOf('end:B'));
      expect(log.indexOf('start:D')).toBeGreaterThan(log.indexOf('end:C'));
      for (const worker of workers) expect(worker.run).toHaveBeenCalledTimes(1);
    });

    test('a worker starts as soon as its own dependencies completed (not in waves)', async () => {
      // slow → afterSlow; fast → afterFast. afterFast must start while slow
      // still runs, and finish before it.
      const slow = deferred();
      const fast = deferred();
      const afterFast = deferred();
      m.registerUnit({
        id: 'eager',
        workers: [
          w('slow', undefined, () => slow.promise),
          w('fast', undefined, () => fast.promise),
          w('afterSlow', ['slow']),
          w('afterFast', ['fast'], () => afterFast.promise),
        ],
      });
      const run = track(m.runProcessById('eager'));
      await until(() => log.includes('start:slow') && log.includes('start:fast'));
      expect(starts().sort()).toEqual(['fast', 'slow']);

      fast.resolve('f');
      await until(() => log.includes('start:afterFast'));
      expect(log).not.toContain('end:slow');
      expect(m.getUnitStatus('slow')).toBe('running');
      expect(m.getUnitStatus('afterFast')).toBe('running');
      expect(m.getUnitStatus('afterSlow')).toBe('idle');

      afterFast.resolve();
      await until(() => m.getUnitStatus('afterFast') === 'completed');
      expect(log).not.toContain('start:afterSlow');
      expect(run.settled).toBe(false);

      slow.resolve('s');
      await until(() => run.settled);
      expect(run.error).toBeUndefined();
      expect(log.indexOf('start:afterSlow')).toBeGreaterThan(log.indexOf('end:slow'));
      expect(m.getUnitStatus('eager')).toBe('completed');
    });

    test('a join waits for its last dependency, whichever finishes last', async () => {
      const gates = { a: deferred(), b: deferred(), c: deferred() };
      m.registerUnit({
        id: 'join',
        workers: [
          w('a', undefined, () => gates.a.promise),
          w('b', undefined, () => gates.b.promise),
          w('c', undefined, () => gates.c.promise),
          w('j', ['a', 'b', 'c']),
        ],
      });
      const run = track(m.runProcessById('join'));
      await until(() => starts().length === 3);
      gates.c.resolve();
      gates.a.resolve();
      await settle();
      expect(log).not.toContain('start:j');
      gates.b.resolve();
      await until(() => run.settled);
      expect(log[log.length - 2]).toBe('start:j');
      expect(m.getWorkerById('j').run).toHaveBeenCalledTimes(1);
    });

    test('fan-out then fan-in: the branches run concurrently, the sink once after all', async () => {
      const N = 20;
      const gates = Array.from({ length: N }, () => deferred());
      let active = 0;
      let maxActive = 0;
      const branch = (k) => ({
        id: `branch-${k}`,
        dependsOn: ['root'],
        run: async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await gates[k].promise;
          active -= 1;
          return k;
        },
      });
      const sink = w('sink', Array.from({ length: N }, (_, k) => `branch-${k}`), 'done');
      const root = w('root', undefined, 'r');
      m.registerUnit({ id: 'fan', workers: [sink, ...Array.from({ length: N }, (_, k) => branch(k)), root] });
      const run = track(m.runProcessById('fan'));
      await until(() => active === N);
      expect(maxActive).toBe(N);
      expect(root.run).toHaveBeenCalledTimes(1);
      // Release in reverse order; the sink waits for the last one.
      for (let k = N - 1; k > 0; k--) gates[k].resolve();
      await settle();
      expect(sink.run).not.toHaveBeenCalled();
      gates[0].resolve();
      await until(() => run.settled);
      expect(run.error).toBeUndefined();
      expect(sink.run).toHaveBeenCalledTimes(1);
      expect(sink.status).toBe('completed');
    });

    test('independent workers start together; a plain and a { id } dependency work alike', async () => {
      const workers = [w('A'), w('B'), w('C', ['A', { id: 'B' }])];
      m.registerUnit({ id: 'mixed-forms', workers });
      await m.runProcessById('mixed-forms');
      expect(starts().slice(0, 2).sort()).toEqual(['A', 'B']);
      expect(starts()[2]).toBe('C');
    });

    test('a completed graph process runs again, in order, when asked', async () => {
      const workers = [w('A', undefined, 'a'), w('B', ['A'], 'b'), w('C', [{ id: 'B', condition: (r) => r === 'b' }])];
      m.registerUnit({ id: 'again', workers });
      await m.runProcessById('again');
      await m.runProcessById('again');
      expect(starts()).toEqual(['A', 'B', 'C', 'A', 'B', 'C']);
      expect(m.getUnitStatus('again')).toBe('completed');
    });

    test('a graph run emits the process milestones and ends completed', async () => {
      const milestones = [];
      m.onMilestone((id) => milestones.push(id));
      m.registerUnit({ id: 'pg', workers: [w('A'), w('B', ['A'])] });
      await m.runProcessById('pg');
      expect(milestones).toEqual(expect.arrayContaining(['unit:pg:running', 'unit:pg:completed']));
      expect(m.getUnitStatus('pg')).toBe('completed');
    });
  });

  describe('conditions', () => {
    test('a true condition lets the dependent run; the condition gets the dependency result', async () => {
      const condition = jest.fn((result) => result.status === 'success');
      const workers = [w('A', undefined, { status: 'success' }), w('B', [{ id: 'A', condition }])];
      m.registerUnit({ id: 'cond-true', workers });
      await m.runProcessById('cond-true');
      expect(condition).toHaveBeenCalledWith({ status: 'success' });
      expect(workers[1].run).toHaveBeenCalledTimes(1);
      expect(skipped).toEqual([]);
    });

    test('a false condition skips the worker and everything downstream; the process completes', async () => {
      const workers = [
        w('A', undefined, { status: 'failure' }),
        w('B', [{ id: 'A', condition: (r) => r.status === 'success' }]),
        w('C', ['B']),
        w('D', ['C']),
        w('E', ['A']),
      ];
      m.registerUnit({ id: 'cond-false', workers });
      await expect(m.runProcessById('cond-false')).resolves.toBeUndefined();
      expect(starts().sort()).toEqual(['A', 'E']);
      expect(skipped).toEqual([
        { type: 'skipped', unitId: 'B', reason: 'condition' },
        { type: 'skipped', unitId: 'C', reason: 'dependency-skipped' },
        { type: 'skipped', unitId: 'D', reason: 'dependency-skipped' },
      ]);
      expect(m.getUnitStatus('B')).toBe('idle');
      expect(m.getUnitStatus('cond-false')).toBe('completed');
    });

    test('skipped events reach subscribeToEvents too', async () => {
      const events = [];
      m.subscribeToEvents((e) => e.type === 'skipped' && events.push(e));
      m.registerUnit({ id: 'cond-sub', workers: [w('A', undefined, 0), w('B', [{ id: 'A', condition: Boolean }])] });
      await m.runProcessById('cond-sub');
      expect(events).toEqual([{ type: 'skipped', unitId: 'B', reason: 'condition' }]);
    });

    test('a condition that throws counts as false and is reported on listenerError', async () => {
      const reported = [];
      m.on('listenerError', (e) => reported.push(e));
      const boom = new Error('condition exploded');
      const workers = [
        w('A', undefined, 1),
        w('B', [{ id: 'A', condition: () => { throw boom; } }]),
        w('C', ['B']),
      ];
      m.registerUnit({ id: 'cond-throw', workers });
      await expect(m.runProcessById('cond-throw')).resolves.toBeUndefined();
      expect(workers[1].run).not.toHaveBeenCalled();
      expect(workers[2].run).not.toHaveBeenCalled();
      expect(reported).toHaveLength(1);
      expect(reported[0].error).toBe(boom);
      expect(skipped.map((e) => [e.unitId, e.reason])).toEqual([
        ['B', 'condition'],
        ['C', 'dependency-skipped'],
      ]);
      expect(m.getUnitStatus('cond-throw')).toBe('completed');
    });

    test('every condition of a worker must hold; truthy values count as true', async () => {
      const workers = [
        w('A', undefined, 5),
        w('B', undefined, 'yes'),
        w('both', [{ id: 'A', condition: (r) => r }, { id: 'B', condition: (r) => r === 'yes' }]),
        w('oneFalse', [{ id: 'A', condition: (r) => r > 1 }, { id: 'B', condition: (r) => r === 'no' }]),
      ];
      m.registerUnit({ id: 'cond-all', workers });
      await m.runProcessById('cond-all');
      expect(workers[2].run).toHaveBeenCalledTimes(1);
      expect(workers[3].run).not.toHaveBeenCalled();
      expect(skipped).toEqual([{ type: 'skipped', unitId: 'oneFalse', reason: 'condition' }]);
    });

    test('2.3 example 9: F runs on C\'s result, E is skipped', async () => {
      const workers = [
        w('A'),
        w('B', ['A']),
        w('C', ['B'], { duration: 125 }),
        w('D'),
        w('E', [{ id: 'C', condition: (r) => r.duration < 60 }]),
        w('F', [{ id: 'C', condition: (r) => r.duration >= 60 }]),
      ];
      m.registerUnit({ id: 'example-9', workers });
      await m.runProcessById('example-9');
      expect(starts().sort()).toEqual(['A', 'B', 'C', 'D', 'F']);
      expect(skipped).toEqual([{ type: 'skipped', unitId: 'E', reason: 'condition' }]);
    });
  });

  describe('cycles', () => {
    const expectCycle = async (processId, names) => {
      let error;
      try {
        await m.runProcessById(processId);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SynchronikError);
      expect(error.code).toBe('ERR_DEPENDENCY_CYCLE');
      const match = /^Circular dependency detected involving worker (\S+) \(in process "([^"]+)": (.+)\)$/.exec(error.message);
      expect(match).not.toBeNull();
      const [, worker, inProcess, shown] = match;
      // SPEC §5 lets the engine name any worker on the cycle: it must be one
      // of them, and the path shown must be the cycle itself, from that
      // worker back to it along dependsOn.
      expect(names).toContain(worker);
      expect(inProcess).toBe(processId);
      const path = shown.split(' → ');
      expect(path[0]).toBe(worker);
      expect(path[path.length - 1]).toBe(worker);
      expect([...new Set(path)].sort()).toEqual([...names].sort());
      expect(path).toHaveLength(names.length + 1);
      const dependsOn = new Map(m.getProcessById(processId).workers.map((x) => [x.id, x.dependsOn || []]));
      for (let i = 0; i + 1 < path.length; i++) expect(dependsOn.get(path[i])).toContain(path[i + 1]);
      return { error, worker };
    };

    test('A→C, B→A, C→B with A first: rejected naming A, nothing ran', async () => {
      const workers = [w('A', ['C']), w('B', ['A']), w('C', ['B'])];
      m.registerUnit({ id: 'cycle', workers });
      const { worker } = await expectCycle('cycle', ['A', 'B', 'C']);
      expect(worker).toBe('A');
      for (const x of workers) {
        expect(x.run).not.toHaveBeenCalled();
        expect(x.status).toBe('idle');
      }
      expect(log).toEqual([]);
    });

    test('a self-dependency is a cycle', async () => {
      const workers = [w('other'), w('self', ['self'])];
      m.registerUnit({ id: 'self-cycle', workers });
      const { worker } = await expectCycle('self-cycle', ['self']);
      expect(worker).toBe('self');
      expect(log).toEqual([]);
    });

    test('a cycle behind acyclic workers: named worker is on the cycle, and no worker ran', async () => {
      const starts0 = [];
      m.on('start', (e) => starts0.push(e.unitId));
      const workers = [w('free'), w('lead', ['x']), w('x', ['y']), w('y', ['z']), w('z', ['x']), w('tail', ['lead'])];
      m.registerUnit({ id: 'cycle-deep', workers });
      await expectCycle('cycle-deep', ['x', 'y', 'z']);
      for (const x of workers) expect(x.run).not.toHaveBeenCalled();
      expect(starts0.filter((id) => id !== 'cycle-deep')).toEqual([]);
    });

    test('a two-worker cycle is rejected every time it is run', async () => {
      m.registerUnit({ id: 'cycle-2', workers: [w('p', ['q']), w('q', ['p'])] });
      await expectCycle('cycle-2', ['p', 'q']);
      await expectCycle('cycle-2', ['p', 'q']);
      expect(log).toEqual([]);
    });
  });

  describe('failures', () => {
    test('a failure skips its dependents; independent branches finish; the run rejects naming the worker', async () => {
      const cause = new Error('bad B');
      const workers = [
        w('A'),
        { id: 'B', dependsOn: ['A'], run: jest.fn(async () => { throw cause; }) },
        w('C', ['B']),
        w('D', ['C']),
        w('E', ['A']),
        w('F'),
      ];
      m.registerUnit({ id: 'fails', workers });
      let error;
      try {
        await m.runProcessById('fails');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SynchronikError);
      expect(error.code).toBe('ERR_WORKER_FAILED');
      expect(error.unitId).toBe('B');
      expect(error.message).toContain('bad B');
      expect(workers[1].run).toHaveBeenCalledTimes(1);
      expect(workers[2].run).not.toHaveBeenCalled();
      expect(workers[3].run).not.toHaveBeenCalled();
      expect(m.getUnitStatus('A')).toBe('completed');
      expect(m.getUnitStatus('B')).toBe('error');
      expect(m.getUnitStatus('E')).toBe('completed');
      expect(m.getUnitStatus('F')).toBe('completed');
      expect(m.getUnitStatus('C')).toBe('idle');
      expect(m.getUnitStatus('fails')).toBe('error');
      expect(skipped).toEqual([
        { type: 'skipped', unitId: 'C', reason: 'dependency-failed' },
        { type: 'skipped', unitId: 'D', reason: 'dependency-skipped' },
      ]);
    });

    test('the run waits for independent branches still running before it rejects', async () => {
      const other = deferred();
      const workers = [
        { id: 'bad', run: async () => { throw new Error('nope'); } },
        w('after-bad', ['bad']),
        w('long', undefined, () => other.promise),
        w('after-long', ['long']),
      ];
      m.registerUnit({ id: 'fails-late', workers });
      const run = track(m.runProcessById('fails-late'));
      await until(() => m.getUnitStatus('bad') === 'error');
      await settle();
      expect(run.settled).toBe(false);
      other.resolve('ok');
      await until(() => run.settled);
      expect(run.error).toBeInstanceOf(SynchronikError);
      expect(run.error.code).toBe('ERR_WORKER_FAILED');
      expect(run.error.unitId).toBe('bad');
      expect(workers[3].run).toHaveBeenCalledTimes(1);
      expect(workers[1].run).not.toHaveBeenCalled();
      expect(m.getUnitStatus('fails-late')).toBe('error');
    });

    test('a worker retries before it counts as failed', async () => {
      let calls = 0;
      const flaky = { id: 'flaky', maxRetries: 2, run: async () => { calls += 1; if (calls < 3) throw new Error('flaky'); return 'ok'; } };
      const after = w('after', ['flaky']);
      m.registerUnit({ id: 'retrying', workers: [flaky, after] });
      await m.runProcessById('retrying');
      expect(calls).toBe(3);
      expect(after.run).toHaveBeenCalledTimes(1);
    });
  });

  describe('registration', () => {
    test('a dependency on an unknown id throws a TypeError and registers nothing', () => {
      expect(() => m.registerUnit({ id: 'bad-deps', workers: [w('ok'), w('x', ['ok', 'missing'])] })).toThrow(TypeError);
      expect(() => m.registerUnit({ id: 'bad-deps', workers: [w('ok'), w('x', ['ok', 'missing'])] })).toThrow(/missing/);
      expect(m.getUnitById('bad-deps')).toBeUndefined();
      expect(m.getUnitById('ok')).toBeUndefined();
      expect(m.getUnitById('x')).toBeUndefined();
      expect(m.listUnits()).toEqual([]);
    });

    test('a dependency on a worker of another process throws a TypeError', () => {
      m.registerUnit({ id: 'p-one', workers: [w('one')] });
      m.registerUnit(w('loose'));
      expect(() => m.registerUnit({ id: 'p-two', workers: [w('two', ['one'])] })).toThrow(TypeError);
      expect(() => m.registerUnit({ id: 'p-two', workers: [w('two', ['loose'])] })).toThrow(TypeError);
      expect(() => m.registerUnit({ id: 'p-two', workers: [w('two', ['p-two'])] })).toThrow(TypeError);
      expect(m.getUnitById('p-two')).toBeUndefined();
      expect(m.getUnitById('two')).toBeUndefined();
    });

    test('malformed dependsOn entries throw a TypeError naming the field', () => {
      expect(() => m.registerUnit({ id: 'p-bad', workers: [w('a'), w('b', [42])] })).toThrow(/dependsOn\[0\]/);
      expect(() => m.registerUnit({ id: 'p-bad', workers: [w('a'), w('b', [{ id: 'a', condition: 'yes' }])] })).toThrow(TypeError);
      expect(() => m.registerUnit({ id: 'p-bad', workers: [w('a'), w('b', 'a')] })).toThrow(/dependsOn/);
      expect(m.getUnitById('p-bad')).toBeUndefined();
    });
  });

  describe('disabled workers', () => {
    test('dependents of a disabled worker are skipped; the rest runs', async () => {
      const workers = [w('A', undefined, 1, { enabled: false }), w('B', ['A']), w('C', ['B']), w('D')];
      m.registerUnit({ id: 'disabled-dep', workers });
      await expect(m.runProcessById('disabled-dep')).resolves.toBeUndefined();
      expect(starts()).toEqual(['D']);
      expect(skipped).toEqual([
        { type: 'skipped', unitId: 'B', reason: 'dependency-skipped' },
        { type: 'skipped', unitId: 'C', reason: 'dependency-skipped' },
      ]);
      expect(m.getUnitStatus('disabled-dep')).toBe('completed');
    });

    test('a worker disabled after registration is treated the same', async () => {
      const workers = [w('A'), w('B', ['A']), w('C')];
      m.registerUnit({ id: 'disabled-later', workers });
      await m.disableWorker('A');
      await m.runProcessById('disabled-later');
      expect(starts()).toEqual(['C']);
      expect(skipped).toEqual([{ type: 'skipped', unitId: 'B', reason: 'dependency-skipped' }]);
    });
  });

  describe('from the scheduler sweep', () => {
    test('an idle graph process is run by the sweep after start() (manual clock)', async () => {
      await m.stop({ timeoutMs: 0 });
      m = createSynchronikManager({ clock: 'manual', loopInterval: 100 });
      m.on('skipped', (e) => skipped.push(e));
      const workers = [
        w('s-c', ['s-b']),
        w('s-b', ['s-a']),
        w('s-a', undefined, { go: false }),
        w('s-skip', [{ id: 's-a', condition: (r) => r.go }]),
      ];
      m.registerUnit({ id: 'swept', workers });
      m.start();
      await m.clock.advance(99);
      expect(log).toEqual([]);
      await m.clock.advance(1);
      expect(starts()).toEqual(['s-a', 's-b', 's-c']);
      expect(skipped).toEqual([{ type: 'skipped', unitId: 's-skip', reason: 'condition' }]);
      expect(m.getUnitStatus('swept')).toBe('completed');
      // A completed process is not run again by later sweeps.
      await m.clock.advance(300);
      for (const x of workers.slice(0, 3)) expect(x.run).toHaveBeenCalledTimes(1);
    });

    test('runLoopOnce() runs an idle graph process', async () => {
      const workers = [w('l-b', ['l-a']), w('l-a'), w('l-c', ['l-a', 'l-b'])];
      m.registerUnit({ id: 'looped', workers });
      await m.runLoopOnce();
      expect(starts()).toEqual(['l-a', 'l-b', 'l-c']);
      expect(m.getUnitStatus('looped')).toBe('completed');
    });
  });

  // synchronik 2.3's src/tests/dependency-graph.test.ts, adapted: 2.3 called
  // an internal dispatcher with its own execute(); here each case is a
  // process run through runProcessById.
  describe('2.3 dependency-graph tests', () => {
    let executionOrder;
    const worker = (id, dependsOn, result, fail) => ({
      id,
      name: `Worker ${id}`,
      status: 'idle',
      enabled: true,
      ...(dependsOn ? { dependsOn } : {}),
      run: jest.fn(async () => {
        executionOrder.push(id);
        if (fail) throw new Error(`Execution failed for ${id}`);
        return result;
      }),
    });
    const processOf = (id, workers) => ({ id, name: id, status: 'idle', enabled: true, runMode: 'sequential', workers });

    beforeEach(() => {
      executionOrder = [];
    });

    test('should execute a simple sequential dependency chain (A -> B -> C)', async () => {
      m.registerUnit(processOf('p', [worker('A'), worker('B', ['A']), worker('C', ['B'])]));
      await m.runProcessById('p');
      expect(executionOrder).toEqual(['A', 'B', 'C']);
    });

    test('should execute a diamond dependency graph correctly (A -> [B, C] -> D)', async () => {
      m.registerUnit(processOf('p', [worker('A'), worker('B', ['A']), worker('C', ['A']), worker('D', ['B', 'C'])]));
      await m.runProcessById('p');
      expect(executionOrder[0]).toBe('A');
      expect(executionOrder.slice(1, 3)).toEqual(expect.arrayContaining(['B', 'C']));
      expect(executionOrder[3]).toBe('D');
      expect(executionOrder).toHaveLength(4);
    });

    test('should throw an error if a circular dependency is detected', async () => {
      const workers = [worker('A', ['C']), worker('B', ['A']), worker('C', ['B'])];
      m.registerUnit(processOf('p', workers));
      await expect(m.runProcessById('p')).rejects.toThrow('Circular dependency detected involving worker A');
      expect(executionOrder).toEqual([]);
      for (const x of workers) expect(x.run).not.toHaveBeenCalled();
    });

    test('should not execute dependent workers if a parent worker fails', async () => {
      m.registerUnit(processOf('p', [worker('A'), worker('B', ['A'], undefined, true), worker('C', ['B'])]));
      await expect(m.runProcessById('p')).rejects.toThrow('Execution failed for B');
      expect(executionOrder).toEqual(['A', 'B']);
      expect(executionOrder).not.toContain('C');
    });

    test('should execute workers with no dependencies immediately and in parallel', async () => {
      m.registerUnit(processOf('p', [worker('A'), worker('B'), worker('C', ['A', 'B'])]));
      await m.runProcessById('p');
      expect(executionOrder.slice(0, 2)).toEqual(expect.arrayContaining(['A', 'B']));
      expect(executionOrder[2]).toBe('C');
    });

    test('should handle a mix of dependent and non-dependent workers correctly', async () => {
      m.registerUnit(processOf('p', [worker('A'), worker('B', ['A']), worker('C', ['B']), worker('D')]));
      await m.runProcessById('p');
      expect(executionOrder.slice(0, 2)).toEqual(expect.arrayContaining(['A', 'D']));
      expect(executionOrder[2]).toBe('B');
      expect(executionOrder[3]).toBe('C');
    });

    test('should execute a worker when its condition is met', async () => {
      const b = worker('B', [{ id: 'A', condition: (r) => r.status === 'success' }]);
      m.registerUnit(processOf('p', [worker('A', undefined, { status: 'success' }), b]));
      await m.runProcessById('p');
      expect(b.run).toHaveBeenCalled();
      expect(executionOrder).toEqual(['A', 'B']);
    });

    test('should SKIP a worker when its condition is NOT met', async () => {
      const b = worker('B', [{ id: 'A', condition: (r) => r.status === 'success' }]);
      m.registerUnit(processOf('p', [worker('A', undefined, { status: 'failure' }), b]));
      await expect(m.runProcessById('p')).resolves.toBeUndefined();
      expect(b.run).not.toHaveBeenCalled();
      expect(executionOrder).toEqual(['A']);
    });
  });

  describe('scale', () => {
    /** A layered graph: each worker depends on two workers of the layer before. */
    function layered(prefix, layers, width) {
      const workers = [];
      let ran = 0;
      for (let l = 0; l < layers; l++) {
        for (let k = 0; k < width; k++) {
          const id = `${prefix}-${l}-${k}`;
          const worker = { id, timeoutMs: 0, run: () => { ran += 1; } };
          if (l > 0) worker.dependsOn = [`${prefix}-${l - 1}-${k}`, `${prefix}-${l - 1}-${(k + 1) % width}`];
          workers.push(worker);
        }
      }
      return { process: { id: prefix, workers }, ran: () => ran };
    }

    async function timeRun(prefix, layers, width) {
      const { process, ran } = layered(prefix, layers, width);
      m.registerUnit(process);
      const t0 = performance.now();
      await m.runProcessById(prefix);
      const ms = performance.now() - t0;
      expect(ran()).toBe(layers * width);
      expect(m.getUnitStatus(prefix)).toBe('completed');
      return ms;
    }

    test('a 10,000-worker graph completes, in time not quadratic in its size', async () => {
      await timeRun('warm', 10, 100); // warm-up
      const small = Math.min(await timeRun('small-a', 25, 100), await timeRun('small-b', 25, 100));
      const large = Math.min(await timeRun('large-a', 100, 100), await timeRun('large-b', 100, 100));
      expect(large).toBeLessThan(8 * small);
    }, 20000);
  });
});
