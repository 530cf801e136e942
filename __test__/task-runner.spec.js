'use strict';

// runWorkerTasks: both call forms, retries, progress, the result's shape,
// the concurrency window, bad input, and 2.3's tests for it.

const { runWorkerTasks, createSynchronikManager } = require('..');
const { sleep, turn, settle } = require('./helpers');

describe('runWorkerTasks', () => {
  describe('call forms and result shape', () => {
    test('config form: items, execute(item), ids from String(item); exact result', async () => {
      const execute = jest.fn(async (n) => n * 10);
      const result = await runWorkerTasks({ items: [1, 2, 3], execute });
      expect(result).toEqual({
        totalTasks: 3,
        successful: [
          { id: '1', result: 10 },
          { id: '2', result: 20 },
          { id: '3', result: 30 },
        ],
        failed: [],
        successPercentage: 100,
      });
      expect(execute.mock.calls).toEqual([[1], [2], [3]]);
    });

    test('config form with getTaskId', async () => {
      const items = [{ key: 'a', v: 1 }, { key: 'b', v: 2 }];
      const result = await runWorkerTasks({ items, execute: async (item) => item.v, getTaskId: (item) => `job-${item.key}` });
      expect(result.successful).toEqual([
        { id: 'job-a', result: 1 },
        { id: 'job-b', result: 2 },
      ]);
    });

    test('array form: [{ id, execute }] with and without options', async () => {
      const tasks = [
        { id: 'one', execute: jest.fn(async () => 'uno') },
        { id: 'two', execute: jest.fn(async () => { throw new Error('dos failed'); }) },
      ];
      const plain = await runWorkerTasks(tasks);
      expect(plain).toEqual({
        totalTasks: 2,
        successful: [{ id: 'one', result: 'uno' }],
        failed: [{ id: 'two', error: 'dos failed' }],
        successPercentage: 50,
      });
      expect(tasks[1].execute).toHaveBeenCalledTimes(1);

      const progress = [];
      const withOptions = await runWorkerTasks(tasks, { maxRetries: 1, onProgress: (p) => progress.push(p) });
      expect(withOptions.failed).toEqual([{ id: 'two', error: 'dos failed' }]);
      expect(tasks[1].execute).toHaveBeenCalledTimes(3); // 1 before + 2 attempts now
      expect(progress).toEqual([
        { completed: 1, total: 2, percentage: 50 },
        { completed: 2, total: 2, percentage: 100 },
      ]);
    });

    test('failures never reject; lists keep item order; the error is the final message', async () => {
      let attempt = 0;
      const result = await runWorkerTasks({
        items: ['ok-1', 'bad-1', 'ok-2', 'bad-2', 'changing'],
        maxRetries: 2,
        execute: async (item) => {
          if (item === 'changing') {
            attempt += 1;
            throw new Error(`attempt ${attempt} failed`);
          }
          if (item.startsWith('bad')) throw new Error(`${item} broke`);
          return item.toUpperCase();
        },
      });
      expect(result).toEqual({
        totalTasks: 5,
        successful: [
          { id: 'ok-1', result: 'OK-1' },
          { id: 'ok-2', result: 'OK-2' },
        ],
        failed: [
          { id: 'bad-1', error: 'bad-1 broke' },
          { id: 'bad-2', error: 'bad-2 broke' },
          { id: 'changing', error: 'attempt 3 failed' },
        ],
        successPercentage: 40,
      });
    });

    test('successPercentage is not rounded: 2 of 3 is 66.666…', async () => {
      const result = await runWorkerTasks({ items: ['a', 'b', 'c'], execute: async (x) => { if (x === 'b') throw new Error('no'); return x; } });
      expect(result.successPercentage).toBe((2 / 3) * 100);
      expect(result.successPercentage).not.toBe(66.67);
    });

    test('no tasks: 100 percent, empty lists, execute and onProgress never called', async () => {
      const execute = jest.fn();
      const onProgress = jest.fn();
      const empty = { totalTasks: 0, successful: [], failed: [], successPercentage: 100 };
      await expect(runWorkerTasks({ items: [], execute, onProgress })).resolves.toEqual(empty);
      await expect(runWorkerTasks([])).resolves.toEqual(empty);
      await expect(runWorkerTasks([], { onProgress })).resolves.toEqual(empty);
      expect(execute).not.toHaveBeenCalled();
      expect(onProgress).not.toHaveBeenCalled();
    });

    test('every task failing gives 0 percent and still resolves', async () => {
      const result = await runWorkerTasks({ items: [1, 2], execute: async () => { throw new Error('down'); } });
      expect(result).toEqual({
        totalTasks: 2,
        successful: [],
        failed: [
          { id: '1', error: 'down' },
          { id: '2', error: 'down' },
        ],
        successPercentage: 0,
      });
    });

    test('sync execute functions, sync throws and thrown strings are handled', async () => {
      const result = await runWorkerTasks({
        items: ['value', 'throws', 'string'],
        execute: (item) => {
          if (item === 'throws') throw new Error('sync throw');
          if (item === 'string') throw 'just a string'; // eslint-disable-line no-throw-literal
          return `${item}!`;
        },
      });
      expect(result.successful).toEqual([{ id: 'value', result: 'value!' }]);
      expect(result.failed).toEqual([
        { id: 'throws', error: 'sync throw' },
        { id: 'string', error: 'just a string' },
      ]);
    });

    test('results are passed through unchanged (objects by reference, undefined kept)', async () => {
      const obj = { deep: { x: 1 } };
      const result = await runWorkerTasks([
        { id: 'obj', execute: async () => obj },
        { id: 'undef', execute: async () => undefined },
      ]);
      expect(result.successful[0].result).toBe(obj);
      expect(result.successful[1]).toEqual({ id: 'undef', result: undefined });
      expect('result' in result.successful[1]).toBe(true);
    });
  });

  describe('retries', () => {
    test('maxRetries gives maxRetries + 1 attempts; success stops retrying', async () => {
      const calls = {};
      const result = await runWorkerTasks({
        items: ['first-try', 'third-try', 'never'],
        maxRetries: 2,
        execute: async (item) => {
          calls[item] = (calls[item] || 0) + 1;
          if (item === 'third-try' && calls[item] < 3) throw new Error('not yet');
          if (item === 'never') throw new Error('never works');
          return calls[item];
        },
      });
      expect(calls).toEqual({ 'first-try': 1, 'third-try': 3, never: 3 });
      expect(result.successful).toEqual([
        { id: 'first-try', result: 1 },
        { id: 'third-try', result: 3 },
      ]);
      expect(result.failed).toEqual([{ id: 'never', error: 'never works' }]);
    });

    test('maxRetries defaults to 0', async () => {
      const execute = jest.fn(async () => { throw new Error('x'); });
      await runWorkerTasks({ items: ['a'], execute });
      expect(execute).toHaveBeenCalledTimes(1);
    });

    test('a number retryDelayMs waits between attempts, not after the last', async () => {
      const times = [];
      const t0 = performance.now();
      await runWorkerTasks({
        items: ['x'],
        maxRetries: 2,
        retryDelayMs: 40,
        execute: async () => {
          times.push(performance.now() - t0);
          throw new Error('fail');
        },
      });
      const total = performance.now() - t0;
      expect(times).toHaveLength(3);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(35);
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(35);
      expect(total - times[2]).toBeLessThan(35); // no delay after the last attempt
    });

    test('a function retryDelayMs gets the 1-based retry number', async () => {
      const retryDelayMs = jest.fn((retry) => retry * 15);
      const times = [];
      const t0 = performance.now();
      await runWorkerTasks({
        items: ['x'],
        maxRetries: 2,
        retryDelayMs,
        execute: async () => {
          times.push(performance.now() - t0);
          throw new Error('fail');
        },
      });
      expect(retryDelayMs.mock.calls.map((c) => c[0])).toEqual([1, 2]);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(12);
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(27);
    });

    test('the array form retries with options too', async () => {
      let n = 0;
      const result = await runWorkerTasks([{ id: 'flaky', execute: async () => { n += 1; if (n < 2) throw new Error('once'); return 'fine'; } }], { maxRetries: 1, retryDelayMs: 5 });
      expect(result.successful).toEqual([{ id: 'flaky', result: 'fine' }]);
      expect(n).toBe(2);
    });
  });

  describe('progress', () => {
    test('onProgress after each item, in order, with unrounded percentages', async () => {
      const done = [];
      const progress = [];
      await runWorkerTasks({
        items: ['a', 'b', 'c'],
        execute: async (item) => {
          await turn();
          done.push(item);
          if (item === 'b') throw new Error('b');
          return item;
        },
        onProgress: (p) => progress.push({ ...p, doneAtCall: done.length }),
      });
      expect(progress).toEqual([
        { completed: 1, total: 3, percentage: (1 / 3) * 100, doneAtCall: 1 },
        { completed: 2, total: 3, percentage: (2 / 3) * 100, doneAtCall: 2 },
        { completed: 3, total: 3, percentage: 100, doneAtCall: 3 },
      ]);
    });

    test('onProgress is called once per item, after its retries', async () => {
      const onProgress = jest.fn();
      await runWorkerTasks({ items: [1, 2], maxRetries: 3, execute: async () => { throw new Error('x'); }, onProgress });
      expect(onProgress).toHaveBeenCalledTimes(2);
    });

    test('an onProgress that throws does not fail the run', async () => {
      const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
      try {
        const result = await runWorkerTasks({ items: [1, 2], execute: async (x) => x, onProgress: () => { throw new Error('bad listener'); } });
        expect(result.successful).toHaveLength(2);
        expect(result.successPercentage).toBe(100);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('concurrency', () => {
    /** Items that record how many run at once; item i takes `turns(i)` turns of the event loop. */
    function probe(turns) {
      const state = { active: 0, max: 0, log: [] };
      const execute = async (i) => {
        state.active += 1;
        state.max = Math.max(state.max, state.active);
        state.log.push(`start:${i}`);
        await settle(turns(i));
        state.log.push(`end:${i}`);
        state.active -= 1;
        return i;
      };
      return { state, execute };
    }

    test('concurrency 1 (default): one at a time, in item order', async () => {
      const { state, execute } = probe(() => 3);
      const items = [0, 1, 2, 3, 4];
      const result = await runWorkerTasks({ items, execute });
      expect(state.max).toBe(1);
      expect(state.log).toEqual(items.flatMap((i) => [`start:${i}`, `end:${i}`]));
      expect(result.successful.map((s) => s.result)).toEqual(items);
    });

    test('concurrency 3: at most three at once, and three do run at once', async () => {
      const { state, execute } = probe((i) => 2 + (i % 3));
      const items = Array.from({ length: 12 }, (_, i) => i);
      const result = await runWorkerTasks({ items, execute, concurrency: 3 });
      expect(state.max).toBe(3);
      expect(result.successful.map((s) => s.id)).toEqual(items.map(String));
    });

    test('with concurrency, lists stay in item order even when later items finish first', async () => {
      const { state, execute } = probe((i) => (5 - i) * 4);
      const progress = [];
      const result = await runWorkerTasks({
        items: [0, 1, 2, 3, 4],
        execute: async (i) => {
          const r = await execute(i);
          if (i % 2 === 1) throw new Error(`odd ${i}`);
          return r;
        },
        concurrency: 5,
        onProgress: (p) => progress.push(p.completed),
      });
      expect(state.max).toBe(5);
      expect(state.log.indexOf('end:4')).toBeLessThan(state.log.indexOf('end:0'));
      expect(result.successful).toEqual([
        { id: '0', result: 0 },
        { id: '2', result: 2 },
        { id: '4', result: 4 },
      ]);
      expect(result.failed).toEqual([
        { id: '1', error: 'odd 1' },
        { id: '3', error: 'odd 3' },
      ]);
      expect(progress).toEqual([1, 2, 3, 4, 5]);
    });

    test('concurrency above the number of tasks runs them all at once', async () => {
      const { state, execute } = probe(() => 5);
      await runWorkerTasks([0, 1, 2].map((i) => ({ id: `t${i}`, execute: () => execute(i) })), { concurrency: 10 });
      expect(state.max).toBe(3);
    });
  });

  describe('bad input', () => {
    const fn = () => 1;
    test.each([
      ['no argument', [], /config/],
      ['null config', [null], /config/],
      ['a number', [42], /config/],
      ['items not an array', [{ items: 'abc', execute: fn }], /config\.items/],
      ['missing execute', [{ items: [1] }], /config\.execute/],
      ['execute not a function', [{ items: [1], execute: 'run' }], /config\.execute/],
      ['getTaskId not a function', [{ items: [1], execute: fn, getTaskId: 'id' }], /config\.getTaskId/],
      ['negative maxRetries', [{ items: [1], execute: fn, maxRetries: -1 }], /maxRetries/],
      ['fractional maxRetries', [{ items: [1], execute: fn, maxRetries: 1.5 }], /maxRetries/],
      ['string retryDelayMs', [{ items: [1], execute: fn, retryDelayMs: '10' }], /retryDelayMs/],
      ['negative retryDelayMs', [{ items: [1], execute: fn, retryDelayMs: -5 }], /retryDelayMs/],
      ['onProgress not a function', [{ items: [1], execute: fn, onProgress: true }], /onProgress/],
      ['concurrency 0', [{ items: [1], execute: fn, concurrency: 0 }], /concurrency/],
      ['fractional concurrency', [{ items: [1], execute: fn, concurrency: 2.5 }], /concurrency/],
      ['a task that is not an object', [[null]], /tasks\[0\]/],
      ['a task id that is not a string', [[{ id: 7, execute: fn }]], /tasks\[0\]\.id/],
      ['a task without execute', [[{ id: 'a', execute: fn }, { id: 'b' }]], /tasks\[1\]\.execute/],
      ['options not an object', [[{ id: 'a', execute: fn }], 'fast'], /options/],
      ['bad option in the array form', [[{ id: 'a', execute: fn }], { concurrency: -1 }], /options\.concurrency/],
    ])('%s rejects with a TypeError naming the field', async (_label, args, field) => {
      let thrown = false;
      let promise;
      try {
        promise = runWorkerTasks(...args);
      } catch {
        thrown = true;
      }
      expect(thrown).toBe(false);
      const error = await promise.then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(field);
      expect(error.message).toMatch(/^runWorkerTasks/);
    });

    test('nothing runs when the arguments are bad', async () => {
      const execute = jest.fn();
      await expect(runWorkerTasks({ items: [1, 2], execute, maxRetries: 'x' })).rejects.toThrow(TypeError);
      expect(execute).not.toHaveBeenCalled();
    });
  });

  // synchronik 2.3's src/tests/task-runner.test.ts
  describe('2.3 task-runner test', () => {
    test('processes a list of items with retries and reports detailed results', async () => {
      const callCounts = {};
      const items = ['item-success', 'item-retry-success', 'item-fail-all', 'item-another-success'];
      const execute = async (item) => {
        callCounts[item] = (callCounts[item] || 0) + 1;
        // As 2.3 wrote it: each call takes 10 ms, and the retry delays are
        // real time (runWorkerTasks runs on a private system-clock manager).
        await sleep(10);
        if (item === 'item-retry-success' && callCounts[item] === 1) throw new Error('Temporary network error');
        if (item === 'item-fail-all') throw new Error('Invalid item ID');
        return { id: item, status: 'processed' };
      };
      const start = Date.now();
      const result = await runWorkerTasks({
        items,
        execute,
        maxRetries: 2,
        retryDelayMs: (attempt) => Math.pow(2, attempt - 1) * 20,
      });
      const duration = Date.now() - start;

      expect(result.totalTasks).toBe(4);
      expect(result.successPercentage).toBe(75);
      expect(result.successful.map((s) => s.id)).toEqual(['item-success', 'item-retry-success', 'item-another-success']);
      expect(result.successful[1].result).toEqual({ id: 'item-retry-success', status: 'processed' });
      expect(result.failed).toHaveLength(1);
      expect(result.failed[0]).toEqual({ id: 'item-fail-all', error: 'Invalid item ID' });
      expect(callCounts['item-success']).toBe(1);
      expect(callCounts['item-retry-success']).toBe(2);
      expect(callCounts['item-fail-all']).toBe(3);
      expect(callCounts['item-another-success']).toBe(1);
      expect(duration).toBeGreaterThanOrEqual(80);
    });
  });

  // synchronik 2.3's manager test #14 (src/tests/core/manager.test.ts)
  describe('2.3 manager test: runWorkerTasks inside a worker', () => {
    let manager;
    afterEach(async () => {
      await manager.stop({ timeoutMs: 0 });
    });

    test('runs a process with mixed workers, including one using the task containerizer', async () => {
      manager = createSynchronikManager();
      const milestones = [];
      manager.onMilestone((milestoneId, payload) => milestones.push({ milestoneId, payload }));

      const simpleWorker = {
        id: 'simple-worker',
        name: 'Simple Worker',
        status: 'idle',
        enabled: true,
        run: jest.fn(async () => { await settle(); }),
      };
      const containerizerWorker = {
        id: 'containerizer-worker',
        name: 'Containerizer Worker',
        status: 'idle',
        enabled: true,
        run: jest.fn(async () => {
          const result = await runWorkerTasks({
            items: ['task-ok-1', 'task-fail', 'task-ok-2'],
            execute: async (item) => {
              if (item === 'task-fail') throw new Error('Sub-task failed');
              return `${item} done`;
            },
            maxRetries: 1,
          });
          manager.emitMilestone('containerizer-finished', result);
        }),
      };
      manager.registerUnit({
        id: 'mixed-process',
        name: 'Mixed Process',
        status: 'idle',
        enabled: true,
        runMode: 'parallel',
        workers: [simpleWorker, containerizerWorker],
      });

      await manager.runProcessById('mixed-process');

      expect(simpleWorker.run).toHaveBeenCalledTimes(1);
      expect(containerizerWorker.run).toHaveBeenCalledTimes(1);
      expect(manager.getUnitStatus('simple-worker')).toBe('completed');
      expect(manager.getUnitStatus('containerizer-worker')).toBe('completed');
      expect(manager.getUnitStatus('mixed-process')).toBe('completed');
      const finished = milestones.find((e) => e.milestoneId === 'containerizer-finished');
      expect(finished).toBeDefined();
      expect(finished.payload.successPercentage).toBeCloseTo(66.67);
      expect(finished.payload.failed).toHaveLength(1);
      expect(finished.payload.failed[0].id).toBe('task-fail');
      expect(finished.payload.failed[0].error).toBe('Sub-task failed');
      expect(finished.payload.successful.map((s) => s.id)).toEqual(['task-ok-1', 'task-ok-2']);
    });
  });
});
