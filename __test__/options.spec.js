'use strict';

// Mistyped options (SPEC §12): the manager's options are the package's own,
// so an unknown key is refused with the nearest name; unit objects are the
// user's and may carry fields of their own, so a key one slip away from a
// unit option is warned about once (SYNCHRONIK_UNKNOWN_OPTION) and kept; a
// contradictory setting (runOnInterval without intervalMs) is refused.

const { createSynchronikManager } = require('..');
const { errorOf, warningsOf } = require('./helpers');


describe('createSynchronikManager refuses keys that are not options', () => {
  test.each([
    ['loopIntervalMs', 'loopInterval'],
    ['loopintervall', 'loopInterval'],
    ['watcherIntervalMs', 'watcherInterval'],
    ['stallThreshold', 'stallThresholdMs'],
    ['statsEmissionInterval', 'statsEmissionIntervalMs'],
    ['clocks', 'clock'],
    ['Storage', 'storage'],
  ])('options.%s → did you mean "%s"?', (key, meant) => {
    expect(() => createSynchronikManager({ [key]: 1000 })).toThrow(
      new TypeError(`createSynchronikManager: options.${key} is not an option; did you mean "${meant}"?`),
    );
  });

  test('a key near no option lists the options', () => {
    expect(() => createSynchronikManager({ colour: 'blue' })).toThrow(
      'createSynchronikManager: options.colour is not an option (the options are loopInterval, watcherInterval, stallThresholdMs, statsEmissionIntervalMs, autoUnpauseMs, releaseIdleAfterMs, clock, storage, metrics)',
    );
  });

  test('every documented option is accepted', async () => {
    const m = createSynchronikManager({
      loopInterval: 1000,
      watcherInterval: 60000,
      stallThresholdMs: 500,
      statsEmissionIntervalMs: 1000,
      autoUnpauseMs: 1000,
      releaseIdleAfterMs: 1000,
      clock: 'manual',
      storage: undefined,
    });
    await m.stop();
  });
});

describe('unit keys one slip away from an option are warned about once', () => {
  test.each([
    ['interval', 'intervalMs'],
    ['timeout', 'timeoutMs'],
    ['retries', 'maxRetries'],
    ['maxRetry', 'maxRetries'],
    ['retryDelay', 'retryDelayMs'],
    ['overlapp', 'overlap'],
    ['onstart', 'onStart'],
    ['RunOnInterval', 'runOnInterval'],
  ])('worker key %s → did you mean "%s"?', async (key, meant) => {
    const m = createSynchronikManager({ clock: 'manual' });
    let unit;
    const warnings = await warningsOf(() => {
      unit = m.registerUnit({ id: 'w', [key]: 1000, run: () => {} });
    });
    expect(warnings).toEqual([
      `registerUnit: unit.${key} is not a synchronik option and has no effect; did you mean "${meant}"? (a field of your own with this name is kept as it is; this is said once per name)`,
    ]);
    // The field stays on the user's object, and it is registered.
    expect(unit[key]).toBe(1000);
    expect(m.getUnitById('w')).toBe(unit);
  });

  test('process keys (runmode, batchsize) and worker keys inside a process', async () => {
    const m = createSynchronikManager();
    const warnings = await warningsOf(() => {
      m.registerUnit({ id: 'p', runmode: 'parallel', batchsize: 3, workers: [{ id: 'a', timout: 5, run: () => {} }] });
    });
    expect(warnings).toEqual([
      expect.stringMatching(/^registerUnit: unit\.runmode .*did you mean "runMode"\?/),
      expect.stringMatching(/^registerUnit: unit\.batchsize .*did you mean "batchSize"\?/),
      expect.stringMatching(/^registerUnit: unit\.workers\[0\]\.timout is not a synchronik option .*did you mean "timeoutMs"\?/),
    ]);
  });

  test('once per key; fields of the user’s own far from any option are not warned about', async () => {
    const m = createSynchronikManager();
    const warnings = await warningsOf(() => {
      m.registerUnit({ id: 'a', mode: 'x', team: 'billing', owner: 'ada', run: () => {} });
      m.registerUnit({ id: 'b', mode: 'y', run: () => {} });
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/unit\.mode .*did you mean "runMode"\?/);
  });

  test('config changes are checked the same way', async () => {
    const m = createSynchronikManager();
    m.registerUnit({ id: 'w', run: () => {} });
    const warnings = await warningsOf(() => m.updateWorkerConfig('w', { intervalMS: 100 }));
    expect(warnings).toEqual([expect.stringMatching(/^updateWorkerConfig: config\.intervalMS .*did you mean "intervalMs"\?/)]);
  });
});

describe('runOnInterval without intervalMs is refused', () => {
  test('at registration, for a worker and a process worker; nothing is registered', () => {
    const m = createSynchronikManager();
    expect(() => m.registerUnit({ id: 'w', runOnInterval: true, run: () => {} })).toThrow(
      new TypeError('registerUnit: unit.runOnInterval is true but unit.intervalMs is not set (an interval worker needs intervalMs)'),
    );
    expect(() => m.registerUnit({ id: 'p', workers: [{ id: 'a', runOnInterval: true, run: () => {} }] })).toThrow(
      'registerUnit: unit.workers[0].runOnInterval is true but unit.workers[0].intervalMs is not set',
    );
    expect(m.listUnits()).toEqual([]);
  });

  test('at config changes: turning it on without an interval, or taking the interval away', async () => {
    const m = createSynchronikManager();
    const w = m.registerUnit({ id: 'w', run: () => {} });
    const on = await errorOf(() => m.updateWorkerConfig('w', { runOnInterval: true }));
    expect(on).toBeInstanceOf(TypeError);
    expect(on.message).toBe(
      'updateWorkerConfig: config.runOnInterval is true but the worker has no intervalMs (give it one in the same change) (an interval worker needs intervalMs)',
    );
    expect(w.runOnInterval).toBeUndefined();
    await m.updateWorkerConfig('w', { runOnInterval: true, intervalMs: 100 });
    expect(w).toMatchObject({ runOnInterval: true, intervalMs: 100 });
    const off = await errorOf(() => m.updateUnitConfig('w', { intervalMs: undefined }));
    expect(off.message).toBe(
      'updateUnitConfig: config.intervalMs cannot be removed while the worker has runOnInterval: true (an interval worker needs intervalMs)',
    );
    expect(w.intervalMs).toBe(100);
    const viaStatus = await errorOf(() => m.updateStatus('w', 'idle', { payload: { intervalMs: undefined } }));
    expect(viaStatus).toBeInstanceOf(TypeError);
  });
});

describe('the documented options are the accepted ones', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const accepted = (() => {
    try {
      createSynchronikManager({ colour: 'blue' });
    } catch (e) {
      return /the options are (.*)\)$/.exec(e.message)[1].split(', ').sort();
    }
    throw new Error('an unknown option was accepted');
  })();

  test("the README's table of manager options lists exactly them, each with a default", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    // The first table with these columns, up to the blank line that ends it.
    const table = readme.slice(readme.indexOf('| option | default | meaning |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const names = rows.map((line) => /^\| `(\w+)`/.exec(line)[1]);
    expect(names.sort()).toEqual(accepted);
    for (const row of rows) expect(row.split('|')[2].trim()).not.toBe('');
  });

  test('ManagerOptions in index.d.ts declares exactly them', () => {
    const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
    const start = dts.indexOf('export interface ManagerOptions {');
    const body = dts.slice(start, dts.indexOf('\n}', start));
    const declared = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]).sort();
    expect(declared).toEqual(accepted);
  });
});
