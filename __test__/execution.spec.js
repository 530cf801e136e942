'use strict';

// Running one worker (SPEC §3.3): hooks, retries, timeouts, maxRuns, paused
// and disabled workers, unknown ids, and runs that misbehave (SPEC §12).

const { createSynchronikManager, SynchronikError } = require('..');
const { since, recordEvents, turn, deferred, until, settle } = require('./helpers');

describe('runWorkerById', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager();
  });

  describe('hooks', () => {
    test('onStart, onComplete(result) are called once each, at the right time', async () => {
      const calls = [];
      const w = {
        id: 'w',
        onStart: jest.fn(() => calls.push(['onStart', w.status])),
        onComplete: jest.fn((result) => calls.push(['onComplete', w.status, result])),
        onError: jest.fn(),
        run: jest.fn(async () => {
          calls.push(['run']);
          await turn(); // settles in a later turn of the event loop
          return 'the result';
        }),
      };
      manager.registerUnit(w);
      expect(w.onStart).not.toHaveBeenCalled();
      await manager.runWorkerById('w');
      expect(calls).toEqual([['onStart', 'running'], ['run'], ['onComplete', 'completed', 'the result']]);
      expect(w.onStart).toHaveBeenCalledTimes(1);
      expect(w.onComplete).toHaveBeenCalledTimes(1);
      expect(w.onComplete).toHaveBeenCalledWith('the result');
      expect(w.onError).not.toHaveBeenCalled();
    });

    test('onError(err) is called once after the final attempt, with the last error', async () => {
      let n = 0;
      let seenInHook;
      const w = {
        id: 'w',
        maxRetries: 2,
        onStart: jest.fn(),
        onComplete: jest.fn(),
        onError: jest.fn(() => {
          seenInHook = { status: w.status, attempts: n };
        }),
        run: async () => {
          n += 1;
          throw new Error(`fail ${n}`);
        },
      };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.onStart).toHaveBeenCalledTimes(1);
      expect(w.onComplete).not.toHaveBeenCalled();
      expect(w.onError).toHaveBeenCalledTimes(1);
      expect(w.onError.mock.calls[0][0]).toBeInstanceOf(Error);
      expect(w.onError.mock.calls[0][0].message).toBe('fail 3');
      expect(w.onError.mock.calls[0][0]).toBe(w.error);
      expect(seenInHook).toEqual({ status: 'error', attempts: 3 });
    });

    test('hooks are called with the unit as this and a throwing hook is reported, not fatal', async () => {
      const reported = [];
      manager.on('listenerError', (e) => reported.push(e.error.message));
      let self;
      const w = {
        id: 'w',
        onStart() {
          self = this;
          throw new Error('hook failed');
        },
        run: () => 'ok',
      };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(self).toBe(w);
      expect(w.status).toBe('completed');
      expect(reported).toEqual(['hook failed']);
    });

    test('process hooks: onStart before its workers, onComplete after them', async () => {
      const order = [];
      const p = {
        id: 'p',
        onStart: () => order.push('p:onStart'),
        onComplete: () => order.push('p:onComplete'),
        workers: [
          { id: 'a', run: () => order.push('a:run') },
          { id: 'b', run: () => order.push('b:run') },
        ],
      };
      manager.registerUnit(p);
      await manager.runProcessById('p');
      expect(order).toEqual(['p:onStart', 'a:run', 'b:run', 'p:onComplete']);
    });
  });

  describe('retries', () => {
    test('maxRetries + 1 attempts; ctx.attempt counts from 1', async () => {
      const attempts = [];
      const w = {
        id: 'w',
        maxRetries: 3,
        run: jest.fn(async (ctx) => {
          attempts.push(ctx.attempt);
          expect(ctx.unitId).toBe('w');
          throw new Error('nope');
        }),
      };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(4);
      expect(attempts).toEqual([1, 2, 3, 4]);
      expect(w.status).toBe('error');
      expect(w.error).toBeInstanceOf(Error);
      expect(w.error.message).toBe('nope');
    });

    test('maxRetries defaults to 0 (one attempt)', async () => {
      const w = { id: 'w', run: jest.fn(async () => { throw new Error('x'); }) };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(1);
    });

    test('a fixed retryDelayMs waits between attempts (2 retries × 40 ms = 80 ms)', async () => {
      manager = createSynchronikManager({ clock: 'manual' });
      const times = [];
      const w = {
        id: 'w',
        maxRetries: 2,
        retryDelayMs: 40,
        run: async () => {
          times.push(manager.clock.now());
          throw new Error('x');
        },
      };
      manager.registerUnit(w);
      const done = manager.runWorkerById('w');
      await manager.clock.advance(39);
      expect(times).toEqual([0]);
      await manager.clock.advance(1);
      expect(times).toEqual([0, 40]);
      await manager.clock.runUntilIdle();
      await done;
      expect(times).toEqual([0, 40, 80]);
      expect(manager.clock.now()).toBe(80); // no delay after the last attempt
      expect(w.status).toBe('error');
    });

    test('a retryDelayMs function gets the 1-based retry number', async () => {
      manager = createSynchronikManager({ clock: 'manual' });
      const delay = jest.fn((n) => n * 20);
      const at = [];
      const w = { id: 'w', maxRetries: 2, retryDelayMs: delay, run: async () => { at.push(manager.clock.now()); throw new Error('x'); } };
      manager.registerUnit(w);
      const retries = [];
      manager.on('retry', (e) => retries.push([e.attempt, e.delayMs]));
      const done = manager.runWorkerById('w');
      await manager.clock.runUntilIdle();
      await done;
      expect(at).toEqual([0, 20, 60]);
      expect(delay).toHaveBeenCalledTimes(2);
      expect(delay).toHaveBeenNthCalledWith(1, 1);
      expect(delay).toHaveBeenNthCalledWith(2, 2);
      expect(retries).toEqual([[1, 20], [2, 40]]);
    });

    test('a retry that eventually succeeds: completed, no error event, no onError', async () => {
      const { events } = recordEvents(manager);
      let n = 0;
      const w = {
        id: 'w',
        maxRetries: 2,
        onError: jest.fn(),
        run: jest.fn(async (ctx) => {
          n += 1;
          if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt}`);
          return 'third time lucky';
        }),
      };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(n).toBe(3);
      expect(w.status).toBe('completed');
      expect(w.meta.runCount).toBe(1);
      expect(w.onError).not.toHaveBeenCalled();
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
      expect(events.filter((e) => e.type === 'retry')).toHaveLength(2);
      expect(events.find((e) => e.type === 'complete').result).toBe('third time lucky');
    });
  });

  describe('timeouts', () => {
    // On the system clock: the timeout is measured in real time here (the
    // manual-clock spec checks timeouts to the millisecond).
    test('a never-settling run with timeoutMs 30 fails with ERR_TIMEOUT and its signal is aborted', async () => {
      let signal;
      const w = {
        id: 'w',
        timeoutMs: 30,
        run: (ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      };
      manager.registerUnit(w);
      const start = performance.now();
      await manager.runWorkerById('w');
      const elapsed = since(start);
      expect(elapsed).toBeGreaterThanOrEqual(29);
      expect(elapsed).toBeLessThan(1000);
      expect(w.status).toBe('error');
      expect(w.error).toBeInstanceOf(SynchronikError);
      expect(w.error.code).toBe('ERR_TIMEOUT');
      expect(w.error.unitId).toBe('w');
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(SynchronikError);
      expect(signal.reason.code).toBe('ERR_TIMEOUT');
    });

    test('a signal first asked for after the timeout is already aborted, with the first reason', async () => {
      manager = createSynchronikManager({ clock: 'manual' });
      let context;
      const w = { id: 'w', timeoutMs: 100, run: (ctx) => { context = ctx; return new Promise(() => {}); } };
      manager.registerUnit(w);
      const done = manager.runWorkerById('w');
      await manager.clock.advance(100);
      await done;
      expect(w.error.code).toBe('ERR_TIMEOUT');
      // The run never touched its signal while it was in flight.
      const { signal } = context;
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(SynchronikError);
      expect(signal.reason.code).toBe('ERR_TIMEOUT');
      // A later stop does not replace the reason, and the signal is the same one.
      await manager.stop();
      expect(context.signal).toBe(signal);
      expect(signal.reason.code).toBe('ERR_TIMEOUT');
      // Its private state stays out of its keys and JSON.
      expect(Object.keys(context)).toEqual(['unitId', 'attempt']);
      expect(JSON.parse(JSON.stringify(context))).toEqual({ unitId: 'w', attempt: 1 });
    });

    test('the signal is not aborted while the run is within its time', async () => {
      manager = createSynchronikManager({ clock: 'manual' });
      let signal;
      const gate = deferred();
      const w = { id: 'w', timeoutMs: 500, run: async (ctx) => { signal = ctx.signal; await gate.promise; return signal.aborted; } };
      manager.registerUnit(w);
      const results = [];
      manager.onComplete((e) => results.push(e.result));
      const done = manager.runWorkerById('w');
      await manager.clock.advance(499); // 1 ms before the timeout
      expect(signal.aborted).toBe(false);
      gate.resolve();
      await done;
      expect(results).toEqual([false]);
      expect(w.status).toBe('completed');
      await manager.clock.advance(1000);
      expect(signal.aborted).toBe(false);
    });

    test('the abort event fires on the signal at the timeout', async () => {
      const onAbort = jest.fn();
      const w = {
        id: 'w',
        timeoutMs: 20,
        run: (ctx) => new Promise((resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            onAbort();
            reject(ctx.signal.reason);
          });
        }),
      };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(onAbort).toHaveBeenCalledTimes(1);
      expect(w.error.code).toBe('ERR_TIMEOUT');
    });

    test('each attempt has its own timeout and signal', async () => {
      const signals = [];
      const w = { id: 'w', timeoutMs: 20, maxRetries: 1, run: jest.fn((ctx) => { signals.push(ctx.signal); return new Promise(() => {}); }) };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(2);
      expect(signals[0]).not.toBe(signals[1]);
      expect(signals.every((s) => s.aborted)).toBe(true);
      expect(w.error.code).toBe('ERR_TIMEOUT');
    });

    test('a run settling after its timeout does not change the outcome', async () => {
      manager = createSynchronikManager({ clock: 'manual' });
      const { events } = recordEvents(manager);
      const late = deferred();
      let settledLate = false;
      const w = { id: 'w', timeoutMs: 20, run: async () => { await late.promise; settledLate = true; return 'late'; } };
      manager.registerUnit(w);
      const done = manager.runWorkerById('w');
      await manager.clock.advance(20);
      await done;
      expect(w.status).toBe('error');
      expect(w.error.code).toBe('ERR_TIMEOUT');
      late.resolve();
      await until(() => settledLate);
      await settle();
      expect(w.status).toBe('error');
      expect(w.error.code).toBe('ERR_TIMEOUT');
      expect(w.meta.runCount).toBe(0);
      expect(events.filter((e) => e.type === 'complete')).toEqual([]);
    });

    test('timeoutMs 0 means no timeout', async () => {
      manager = createSynchronikManager({ clock: 'manual' });
      let signal;
      const gate = deferred();
      const w = { id: 'w', timeoutMs: 0, run: async (ctx) => { signal = ctx.signal; await gate.promise; return 'slow but fine'; } };
      manager.registerUnit(w);
      const done = manager.runWorkerById('w');
      await manager.clock.advance(24 * 60 * 60 * 1000); // a day
      expect(w.status).toBe('running');
      expect(signal.aborted).toBe(false);
      gate.resolve();
      await done;
      expect(w.status).toBe('completed');
      expect(signal.aborted).toBe(false);
    });
  });

  describe('runs that misbehave are handled like failures', () => {
    test('a run that throws synchronously', async () => {
      const boom = new Error('sync boom');
      const w = { id: 'w', run: () => { throw boom; } };
      manager.registerUnit(w);
      await expect(manager.runWorkerById('w')).resolves.toBeUndefined();
      expect(w.status).toBe('error');
      expect(w.error).toBe(boom);
    });

    test('a run that returns a non-promise value succeeds with it (42)', async () => {
      const results = [];
      manager.onComplete((e) => results.push(e.result));
      const w = { id: 'w', run: () => 42 };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.status).toBe('completed');
      expect(results).toEqual([42]);
    });

    test('a run that returns undefined synchronously succeeds', async () => {
      const w = { id: 'w', run: () => undefined };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.status).toBe('completed');
    });

    test('a run that returns a thenable is awaited', async () => {
      const results = [];
      manager.onComplete((e) => results.push(e.result));
      const w = { id: 'w', run: () => ({ then: (resolve) => setImmediate(() => resolve('from thenable')) }) };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(results).toEqual(['from thenable']);
    });

    test('a run rejecting with undefined: a SynchronikError ERR_NON_ERROR_THROWN with cause undefined', async () => {
      const errors = [];
      manager.onError((e) => errors.push(e.error));
      const w = { id: 'w', run: () => Promise.reject(undefined) };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.status).toBe('error');
      expect(w.error).toBeInstanceOf(SynchronikError);
      expect(w.error.code).toBe('ERR_NON_ERROR_THROWN');
      expect('cause' in w.error).toBe(true);
      expect(w.error.cause).toBeUndefined();
      expect(errors).toEqual([w.error]);
    });

    test.each([
      ['a string', 'plain string'],
      ['a number', 7],
      ['null', null],
      ['an object', { code: 'E_CUSTOM' }],
    ])('a run throwing %s: a SynchronikError with the value as cause', async (_label, value) => {
      const w = { id: 'w', run: async () => { throw value; } };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.status).toBe('error');
      expect(w.error).toBeInstanceOf(SynchronikError);
      expect(w.error.code).toBe('ERR_NON_ERROR_THROWN');
      expect(w.error.cause).toBe(value);
      expect(w.error.message).toContain('w');
    });

    test('a run that never settles is ended by its timeout', async () => {
      const w = { id: 'w', timeoutMs: 25, run: () => new Promise(() => {}) };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.error.code).toBe('ERR_TIMEOUT');
    });

    test('a run that takes no ctx (2.3 style) works', async () => {
      const w = { id: 'w', run: async function noArgs() { return arguments.length; } };
      manager.registerUnit(w);
      const results = [];
      manager.onComplete((e) => results.push(e.result));
      await manager.runWorkerById('w');
      expect(results).toEqual([1]); // it gets ctx, and may ignore it
    });
  });

  describe('maxRuns, paused, disabled, re-runs', () => {
    test('maxRuns disables the worker after N completed runs', async () => {
      const { events } = recordEvents(manager);
      const w = { id: 'w', maxRuns: 2, run: jest.fn(() => 'x') };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.enabled).toBe(true);
      await manager.runWorkerById('w');
      expect(w.enabled).toBe(false);
      expect(w.meta.runCount).toBe(2);
      expect(events.some((e) => e.type === 'updated' && e.payload.reason === 'config-change' && e.payload.enabled === false)).toBe(true);
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(2);
      expect(w.meta.runCount).toBe(2);
    });

    test('failed runs do not count towards maxRuns', async () => {
      let n = 0;
      const w = { id: 'w', maxRuns: 1, run: () => { n += 1; if (n === 1) throw new Error('x'); } };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.enabled).toBe(true);
      await manager.runWorkerById('w');
      expect(w.enabled).toBe(false);
    });

    test('a paused worker is not run (resolves, run not called, no events)', async () => {
      const w = { id: 'w', status: 'paused', run: jest.fn() };
      manager.registerUnit(w);
      const { events } = recordEvents(manager);
      await expect(manager.runWorkerById('w')).resolves.toBeUndefined();
      expect(w.run).not.toHaveBeenCalled();
      expect(w.status).toBe('paused');
      expect(events).toEqual([]);
    });

    test('a worker paused by updateStatus is not run; after idle it runs', async () => {
      const w = { id: 'w', run: jest.fn() };
      manager.registerUnit(w);
      manager.updateStatus('w', 'paused');
      await manager.runWorkerById('w');
      expect(w.run).not.toHaveBeenCalled();
      manager.updateStatus('w', 'idle');
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(1);
    });

    test('a disabled worker is not run', async () => {
      const w = { id: 'w', enabled: false, run: jest.fn() };
      const later = { id: 'later', run: jest.fn() };
      manager.registerUnit(w);
      manager.registerUnit(later);
      manager.disableWorker('later');
      await expect(manager.runWorkerById('w')).resolves.toBeUndefined();
      await expect(manager.runWorkerById('later')).resolves.toBeUndefined();
      expect(w.run).not.toHaveBeenCalled();
      expect(later.run).not.toHaveBeenCalled();
      manager.enableWorker('later');
      await manager.runWorkerById('later');
      expect(later.run).toHaveBeenCalledTimes(1);
    });

    test('a worker in completed or error runs again', async () => {
      let fail = true;
      const w = { id: 'w', run: jest.fn(() => { if (fail) throw new Error('x'); return 'ok'; }) };
      manager.registerUnit(w);
      await manager.runWorkerById('w');
      expect(w.status).toBe('error');
      fail = false;
      await manager.runWorkerById('w');
      expect(w.status).toBe('completed');
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(3);
      expect(w.meta.runCount).toBe(2);
    });

    test('runUnitById is an alias that runs the worker', async () => {
      const w = { id: 'w', run: jest.fn(() => 1) };
      manager.registerUnit(w);
      await manager.runUnitById('w');
      expect(w.run).toHaveBeenCalledTimes(1);
      expect(w.status).toBe('completed');
    });

    test('runWorkerById runs only workers and runProcessById only processes; runUnitById runs either', async () => {
      const w = { id: 'w', run: jest.fn(() => 1) };
      const a = { id: 'a', run: jest.fn(() => 2) };
      const p = { id: 'p', workers: [a] };
      manager.registerUnit(w);
      manager.registerUnit(p);
      const { events } = recordEvents(manager);

      await expect(manager.runWorkerById('p')).resolves.toBeUndefined();
      await expect(manager.runProcessById('w')).resolves.toBeUndefined();
      expect(w.run).not.toHaveBeenCalled();
      expect(a.run).not.toHaveBeenCalled();
      expect(p.status).toBe('idle');
      expect(events).toEqual([]);

      await manager.runUnitById('p');
      expect(a.run).toHaveBeenCalledTimes(1);
      expect(p.status).toBe('completed');
      await manager.runUnitById('w');
      expect(w.run).toHaveBeenCalledTimes(1);
    });

    test('runWorkerById resolves with undefined, also after a failure', async () => {
      manager.registerUnit({ id: 'ok', run: () => 'value' });
      manager.registerUnit({ id: 'bad', run: () => { throw new Error('x'); } });
      await expect(manager.runWorkerById('ok')).resolves.toBeUndefined();
      await expect(manager.runWorkerById('bad')).resolves.toBeUndefined();
    });

    test('several workers run concurrently when started together', async () => {
      const gate = deferred();
      let active = 0;
      let maxActive = 0;
      const mk = (id) => ({
        id,
        run: async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await gate.promise;
          active -= 1;
        },
      });
      ['a', 'b', 'c'].forEach((id) => manager.registerUnit(mk(id)));
      const all = Promise.all(['a', 'b', 'c'].map((id) => manager.runWorkerById(id)));
      // All three are in flight at once: none waits for another to end.
      await until(() => active === 3);
      expect(['a', 'b', 'c'].map((id) => manager.getWorkerById(id).status)).toEqual(['running', 'running', 'running']);
      gate.resolve();
      await all;
      expect(maxActive).toBe(3);
      expect(['a', 'b', 'c'].map((id) => manager.getWorkerById(id).status)).toEqual(['completed', 'completed', 'completed']);
    });
  });

  describe('unknown ids', () => {
    test('state methods ignore them', async () => {
      const { events } = recordEvents(manager);
      expect(() => manager.updateStatus('ghost', 'running')).not.toThrow();
      await expect(manager.updateStatus('ghost', 'running')).resolves.toBeUndefined();
      await expect(manager.updateWorkerConfig('ghost', { maxRetries: 2 })).resolves.toBeUndefined();
      await expect(manager.updateProcessConfig('ghost', { runMode: 'parallel' })).resolves.toBeUndefined();
      await expect(manager.updateUnitConfig('ghost', { name: 'x' })).resolves.toBeUndefined();
      for (const method of ['enableWorker', 'disableWorker', 'enableProcess', 'disableProcess', 'enableUnit', 'disableUnit', 'stopWorkerById']) {
        await expect(manager[method]('ghost')).resolves.toBeUndefined();
      }
      expect(() => manager.releaseUnit('ghost')).not.toThrow();
      expect(manager.getUnitById('ghost')).toBeUndefined();
      expect(manager.listUnits()).toEqual([]);
      expect(events).toEqual([]);
    });

    test('run*ById resolve without running anything', async () => {
      const { events } = recordEvents(manager);
      await expect(manager.runWorkerById('ghost')).resolves.toBeUndefined();
      await expect(manager.runUnitById('ghost')).resolves.toBeUndefined();
      await expect(manager.runProcessById('ghost')).resolves.toBeUndefined();
      expect(events).toEqual([]);
    });
  });
});
