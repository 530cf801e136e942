'use strict';

// Bad input (SPEC §12): every entry validates its arguments and throws a
// TypeError whose message names the field, what was expected and what was
// given. A rejected registration stores nothing.

const { createSynchronikManager } = require('..');
const { recordEvents } = require('./helpers');

const run = () => 'ok';

/**
 * For the methods that return a promise: bad input must come back as a
 * rejected promise, never as a synchronous throw. Returns the rejection.
 */
async function rejectionOf(fn) {
  let returned;
  expect(() => {
    returned = fn();
  }).not.toThrow();
  expect(returned).toBeInstanceOf(Promise);
  return returned.then(
    () => {
      throw new Error('expected a rejection, but the promise resolved');
    },
    (e) => e,
  );
}
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad input', () => {
  let manager;
  let x;
  let p;
  let a;
  let events;

  beforeEach(() => {
    manager = createSynchronikManager();
    x = { id: 'x', run, maxRetries: 1 };
    a = { id: 'a', run };
    p = { id: 'p', runMode: 'parallel', workers: [a] };
    manager.registerUnit(x);
    manager.registerUnit(p);
    ({ events } = recordEvents(manager));
  });

  /** The registry is exactly as set up in beforeEach, with the same objects. */
  function expectRegistryUnchanged() {
    const units = manager.listUnits();
    expect(units.map((u) => u.id)).toEqual(['x', 'p', 'a']);
    expect(units[0]).toBe(x);
    expect(units[1]).toBe(p);
    expect(units[2]).toBe(a);
    expect(manager.getUnitById('x')).toBe(x);
    expect(manager.getProcessById('p')).toBe(p);
    expect(manager.getWorkerById('a')).toBe(a);
    expect(p.workers).toEqual([a]);
    expect(x.maxRetries).toBe(1);
    expect(x.status).toBe('idle');
    expect(p.runMode).toBe('parallel');
    expect(events).toEqual([]);
  }

  // [label, unit, field named in the message, what the message says was given]
  const badUnits = [
    ['undefined', undefined, 'unit', 'undefined'],
    ['null', null, 'unit', 'null'],
    ['a string', 'worker', 'unit', 'string'],
    ['an array', [{ id: 'x', run }], 'unit', 'array'],
    ['a missing id', { run }, 'unit.id', 'undefined'],
    ['an empty id', { id: '', run }, 'unit.id', 'empty string'],
    ['a null id', { id: null, run }, 'unit.id', 'null'],
    ['an object id', { id: { name: 'x' }, run }, 'unit.id', 'object'],
    ['neither run nor workers', { id: 'x' }, 'unit.run', 'undefined'],
    ['run not a function', { id: 'x', run: 'go' }, 'unit.run', 'string'],
    ['run null', { id: 'x', run: null }, 'unit.run', 'null'],
    ['workers an object', { id: 'p', workers: { a } }, 'unit.workers', 'object'],
    ['workers a string', { id: 'p', workers: 'a,b' }, 'unit.workers', 'string'],
    ['workers holding a string', { id: 'p', workers: ['a'] }, 'unit.workers[0]', 'string'],
    ['workers holding null', { id: 'p', workers: [null] }, 'unit.workers[0]', 'null'],
    ['workers holding {id} without run', { id: 'p', workers: [{ id: 'a', run }, { id: 'y' }] }, 'unit.workers[1].run', 'undefined'],
    ['a worker without id', { id: 'p', workers: [{ run }] }, 'unit.workers[0].id', 'undefined'],
    ['negative intervalMs', { id: 'x', run, intervalMs: -1 }, 'unit.intervalMs', '-1'],
    ['NaN intervalMs', { id: 'x', run, intervalMs: NaN }, 'unit.intervalMs', 'NaN'],
    ['negative timeoutMs', { id: 'x', run, timeoutMs: -5 }, 'unit.timeoutMs', '-5'],
    ['NaN timeoutMs', { id: 'x', run, timeoutMs: NaN }, 'unit.timeoutMs', 'NaN'],
    ['Infinity timeoutMs', { id: 'x', run, timeoutMs: Infinity }, 'unit.timeoutMs', 'Infinity'],
    ['string timeoutMs', { id: 'x', run, timeoutMs: '100' }, 'unit.timeoutMs', 'string'],
    ['negative maxRetries', { id: 'x', run, maxRetries: -1 }, 'unit.maxRetries', '-1'],
    ['NaN maxRetries', { id: 'x', run, maxRetries: NaN }, 'unit.maxRetries', 'NaN'],
    ['fractional maxRetries', { id: 'x', run, maxRetries: 1.5 }, 'unit.maxRetries', '1.5'],
    ['string maxRetries', { id: 'x', run, maxRetries: '2' }, 'unit.maxRetries', 'string'],
    ['zero batchSize', { id: 'p', workers: [], batchSize: 0 }, 'unit.batchSize', '0'],
    ['negative batchSize', { id: 'p', workers: [], batchSize: -2 }, 'unit.batchSize', '-2'],
    ['NaN batchSize', { id: 'p', workers: [], batchSize: NaN }, 'unit.batchSize', 'NaN'],
    ['unknown runMode', { id: 'p', workers: [], runMode: 'turbo' }, 'unit.runMode', 'string "turbo"'],
    ['retryDelayMs a string', { id: 'x', run, retryDelayMs: '100' }, 'unit.retryDelayMs', 'string'],
    ['negative retryDelayMs', { id: 'x', run, retryDelayMs: -5 }, 'unit.retryDelayMs', '-5'],
    ['negative isolationDelayMs', { id: 'p', workers: [], isolationDelayMs: -1 }, 'unit.isolationDelayMs', '-1'],
    ['zero maxRuns', { id: 'x', run, maxRuns: 0 }, 'unit.maxRuns', '0'],
    ['unknown status', { id: 'x', run, status: 'sleeping' }, 'unit.status', 'string "sleeping"'],
    ['enabled a string', { id: 'x', run, enabled: 'yes' }, 'unit.enabled', 'string'],
    ['meta a string', { id: 'x', run, meta: 'm' }, 'unit.meta', 'string'],
    ['a hook not a function', { id: 'x', run, onError: 'log' }, 'unit.onError', 'string'],
    ['a bad field on a process worker', { id: 'p', workers: [{ id: 'a', run }, { id: 'b', run, timeoutMs: -1 }] }, 'unit.workers[1].timeoutMs', '-1'],
  ];

  test.each(badUnits)('registerUnit rejects %s', (_label, unit, field, given) => {
    const before = typeof unit === 'object' && unit !== null ? JSON.stringify(unit) : undefined;
    let error;
    try {
      manager.registerUnit(unit);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(new RegExp(`^registerUnit: ${escape(field)} must be .+ \\(got ${escape(given)}( .*)?\\)$`));
    expectRegistryUnchanged();
    // the rejected object was not touched either (no defaults, no processId)
    if (before !== undefined) expect(JSON.stringify(unit)).toBe(before);
  });

  test('registerUnit names a number given as the id', () => {
    let error;
    try {
      manager.registerUnit({ id: 42, run });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^registerUnit: unit\.id must be a non-empty string \(got .+\)$/);
    expectRegistryUnchanged();
  });

  test('duplicate worker ids in one process are rejected, naming the id', () => {
    const first = { id: 'dup', run };
    const second = { id: 'dup', run };
    const proc = { id: 'p2', workers: [first, { id: 'other', run }, second] };
    expect(() => manager.registerUnit(proc)).toThrow(TypeError);
    let message;
    try {
      manager.registerUnit(proc);
    } catch (e) {
      message = e.message;
    }
    expect(message).toContain('registerUnit: unit.workers[2].id');
    expect(message).toContain('"dup"');
    expect(message).toMatch(/unique/);
    expectRegistryUnchanged();
    expect(manager.getUnitById('p2')).toBeUndefined();
    expect(manager.getUnitById('other')).toBeUndefined();
    expect(first.processId).toBeUndefined();
    expect(first.status).toBeUndefined();
  });

  test('a process rejected because of its last worker registers none of its workers', () => {
    const ok = { id: 'a', run };
    const proc = { id: 'p', workers: [ok, { id: 'c', run: 5 }] };
    expect(() => manager.registerUnit(proc)).toThrow(/unit\.workers\[1\]\.run must be a function/);
    expectRegistryUnchanged();
    expect(manager.getUnitById('a')).toBe(a);
    expect(manager.getUnitById('c')).toBeUndefined();
    expect(ok).toEqual({ id: 'a', run });
  });

  test('a rejected re-registration keeps the old unit running as before', async () => {
    expect(() => manager.registerUnit({ id: 'x', run: 'not a function' })).toThrow(TypeError);
    await manager.runWorkerById('x');
    expect(x.status).toBe('completed');
  });

  test('repeated worker ids and unknown dependencies are refused with messages naming the field', () => {
    const refusal = (unit) => {
      try {
        manager.registerUnit(unit);
      } catch (e) {
        expect(e).toBeInstanceOf(TypeError);
        return e.message;
      }
      throw new Error('expected registerUnit to throw');
    };
    expect(refusal({ id: 'q', workers: [{ id: 'q', run }] })).toBe('registerUnit: unit.workers[0].id must be unique within the process (got "q" twice)');
    expect(refusal({ id: 'q', workers: [{ id: 'b', run }, { id: 'c', run, dependsOn: ['b', { id: 'ghost' }] }] })).toBe(
      'registerUnit: unit.workers[1].dependsOn[1] must name a worker of process "q" (got "ghost", which is not)',
    );
    expect(refusal({ id: 'solo', run, dependsOn: ['x', 'nope'] })).toBe('registerUnit: unit.dependsOn[1] must name a registered unit (got "nope", which is not)');
    expect(refusal({ id: 'solo', run, dependsOn: ['solo'] })).toBe('registerUnit: unit.dependsOn[0] must name a registered unit (got "solo", which is not)');
    expectRegistryUnchanged();
  });

  test('a re-registration the engine refuses leaves the runs of the units it would replace running', async () => {
    const pending = [];
    a.run = () => new Promise((resolve) => pending.push(resolve));
    x.run = a.run;
    const processRun = manager.runProcessById('p');
    const workerRun = manager.runWorkerById('x');
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.status).toBe('running');
    expect(x.status).toBe('running');
    expect(() => manager.registerUnit({ id: 'p', workers: [{ id: 'a', run }, { id: 'a', run }] })).toThrow(/unique within the process/);
    expect(() => manager.registerUnit({ id: 'x', run, dependsOn: ['ghost'] })).toThrow(/must name a registered unit/);
    expect(a.status).toBe('running');
    expect(x.status).toBe('running');
    expect(pending).toHaveLength(2);
    for (const finish of pending) finish('done');
    await expect(processRun).resolves.toBeUndefined();
    await expect(workerRun).resolves.toBeUndefined();
    expect(a.status).toBe('completed');
    expect(x.status).toBe('completed');
  });

  describe('other entries', () => {
    test('updateStatus with an unknown status', async () => {
      const error = await rejectionOf(() => manager.updateStatus('x', 'sleeping'));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^updateStatus: status must be one of .*'idle'.* \(got string "sleeping"\)$/);
      expect(x.status).toBe('idle');
      expect(events).toEqual([]);
    });

    test('updateStatus with bad options', async () => {
      const e1 = await rejectionOf(() => manager.updateStatus('x', 'paused', 5));
      expect(e1).toBeInstanceOf(TypeError);
      expect(e1.message).toMatch(/^updateStatus: options must be an object \(got number\)$/);
      const e2 = await rejectionOf(() => manager.updateStatus('x', 'paused', { payload: 'p' }));
      expect(e2).toBeInstanceOf(TypeError);
      expect(e2.message).toMatch(/^updateStatus: options\.payload must be an object \(got string/);
      expect(x.status).toBe('idle');
    });

    test.each([
      ['a negative maxRetries', { maxRetries: -1 }, 'config.maxRetries', '-1'],
      ['a non-function run', { run: 5 }, 'config.run', 'number'],
      ['a NaN timeoutMs', { timeoutMs: NaN }, 'config.timeoutMs', 'NaN'],
      ['a string retryDelayMs', { retryDelayMs: '1' }, 'config.retryDelayMs', 'string'],
      ['an unknown status', { status: 'weird' }, 'config.status', 'string'],
    ])('updateWorkerConfig with %s changes nothing', async (_label, patch, field, given) => {
      const error = await rejectionOf(() => manager.updateWorkerConfig('x', { name: 'renamed', ...patch }));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(new RegExp(`^updateWorkerConfig: ${escape(field)} must be .+ \\(got ${escape(given)}`));
      expect(x.name).toBeUndefined();
      expect(x.run).toBe(run);
      expectRegistryUnchanged();
    });

    test('updateWorkerConfig with a non-object config or a new id', async () => {
      const e1 = await rejectionOf(() => manager.updateWorkerConfig('x', 5));
      expect(e1).toBeInstanceOf(TypeError);
      expect(e1.message).toMatch(/config must be an object/);
      const e2 = await rejectionOf(() => manager.updateWorkerConfig('x', { id: 'y' }));
      expect(e2).toBeInstanceOf(TypeError);
      expect(e2.message).toMatch(/config\.id/);
      expectRegistryUnchanged();
    });

    test('updateProcessConfig with an unknown runMode or a bad batchSize', async () => {
      const e1 = await rejectionOf(() => manager.updateProcessConfig('p', { runMode: 'turbo' }));
      expect(e1).toBeInstanceOf(TypeError);
      expect(e1.message).toMatch(/config\.runMode must be one of .*\(got string "turbo"\)/);
      const e2 = await rejectionOf(() => manager.updateProcessConfig('p', { batchSize: 0 }));
      expect(e2).toBeInstanceOf(TypeError);
      expect(e2.message).toMatch(/config\.batchSize must be a positive integer \(got 0\)/);
      expectRegistryUnchanged();
    });

    test.each(['enableWorker', 'disableWorker', 'enableProcess', 'disableProcess', 'enableUnit', 'disableUnit', 'stopWorkerById'])(
      '%s with a missing, empty or non-string id rejects',
      async (method) => {
        for (const [bad, given] of [[undefined, 'undefined'], ['', 'empty string'], [{}, 'object']]) {
          const error = await rejectionOf(() => manager[method](bad));
          expect(error).toBeInstanceOf(TypeError);
          expect(error.message).toBe(`${method}: id must be a non-empty string (got ${given})`);
        }
        expectRegistryUnchanged();
      },
    );

    test('releaseUnit (synchronous) throws for a missing, empty or non-string id', () => {
      for (const [bad, given] of [[undefined, 'undefined'], ['', 'empty string'], [7, 'number']]) {
        expect(() => manager.releaseUnit(bad)).toThrow(new TypeError(`releaseUnit: id must be a non-empty string (got ${given})`));
      }
      expectRegistryUnchanged();
    });

    test.each(['runWorkerById', 'runUnitById', 'runProcessById'])('%s with a bad id returns a promise rejecting with a TypeError', async (method) => {
      for (const [bad, given] of [[undefined, 'undefined'], ['', 'empty string'], [null, 'null']]) {
        const error = await rejectionOf(() => manager[method](bad));
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toBe(`${method}: id must be a non-empty string (got ${given})`);
      }
      expect(x.status).toBe('idle');
    });

    test('event subscriptions need a function', () => {
      expect(() => manager.subscribeToEvents(5)).toThrow(new TypeError('subscribeToEvents: listener must be a function (got number)'));
      for (const method of ['onMilestone', 'onStart', 'onComplete', 'onError']) {
        expect(() => manager[method]()).toThrow(TypeError);
        expect(() => manager[method]('handler')).toThrow(new RegExp(`^${method}: handler must be a function \\(got string`));
      }
    });

    test('emitMilestone needs a non-empty string id', () => {
      expect(() => manager.emitMilestone('')).toThrow(new TypeError('emitMilestone: milestoneId must be a non-empty string (got empty string)'));
      expect(() => manager.emitMilestone()).toThrow(/milestoneId must be a non-empty string \(got undefined\)/);
      expect(events).toEqual([]);
    });

    test('createSynchronikManager validates its options', () => {
      expect(() => createSynchronikManager(5)).toThrow(TypeError);
      expect(() => createSynchronikManager({ loopInterval: -1 })).toThrow(
        new TypeError('createSynchronikManager: options.loopInterval must be a positive finite number of milliseconds (got -1)'),
      );
      expect(() => createSynchronikManager({ watcherInterval: NaN })).toThrow(/options\.watcherInterval .*\(got NaN\)/);
      expect(() => createSynchronikManager({ clock: 'fake' })).toThrow(/options\.clock .*\(got string "fake"\)/);
      expect(() => createSynchronikManager()).not.toThrow();
      expect(() => createSynchronikManager({})).not.toThrow();
    });
  });
});
