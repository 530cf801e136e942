'use strict';

// State methods validate what they are given (SPEC §12): ids, the number
// given as an id, and the settings in an updateStatus payload.

const { createSynchronikManager } = require('..');

describe('state methods validate what they are given', () => {
  let manager;
  let x;
  beforeEach(() => {
    manager = createSynchronikManager();
    x = { id: 'x', run: () => 'ok' };
    manager.registerUnit(x);
  });

  // SPEC §12: updateStatus / updateUnitConfig and its aliases do not validate
  // the id: undefined, '', 42 or {} is silently treated as an unknown id and
  // the promise resolves, while enableWorker('') & co. reject with a TypeError.
  test.each([
    ['updateStatus', (m, id) => m.updateStatus(id, 'paused')],
    ['updateUnitConfig', (m, id) => m.updateUnitConfig(id, { maxRetries: 1 })],
    ['updateWorkerConfig', (m, id) => m.updateWorkerConfig(id, { maxRetries: 1 })],
    ['updateProcessConfig', (m, id) => m.updateProcessConfig(id, { runMode: 'parallel' })],
  ])('%s with a missing, empty or non-string id rejects with a TypeError naming the id', async (method, call) => {
    for (const bad of [undefined, '', 42, {}]) {
      const error = await call(manager, bad).then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(new RegExp(`^${method}: id must be a non-empty string \\(got `));
    }
  });

  // SPEC §12's own example: a number given as unit.id is described by its
  // type, "(got number)".
  test('registerUnit({ id: 42 }) names the given type as in SPEC §12', () => {
    expect(() => manager.registerUnit({ id: 42, run: () => {} })).toThrow(
      new TypeError('registerUnit: unit.id must be a non-empty string (got number)'),
    );
  });

  // SPEC §2 / §12: the settings in an updateStatus payload go through the
  // same validation as a config change and reach the engine, so the object
  // and the engine agree (the object says maxRetries 3, the run makes 4
  // attempts); a bad setting is a TypeError and changes nothing.
  test('an updateStatus payload with config fields is validated and applied', async () => {
    let attempts = 0;
    const w = { id: 'w', run: () => { attempts += 1; throw new Error('f'); } };
    manager.registerUnit(w);
    await expect(manager.updateStatus('w', 'idle', { payload: { maxRetries: 3 } })).resolves.toBeUndefined();
    expect(w.maxRetries).toBe(3);
    await manager.runWorkerById('w');
    expect(attempts).toBe(4);

    const bad = await manager.updateStatus('w', 'idle', { payload: { timeoutMs: -5 } }).then(() => undefined, (e) => e);
    expect(bad).toBeInstanceOf(TypeError);
    expect(w.timeoutMs).toBeUndefined();

    const notAFunction = await manager.updateStatus('w', 'idle', { payload: { run: 'x' } }).then(() => undefined, (e) => e);
    expect(notAFunction).toBeInstanceOf(TypeError);
    expect(typeof w.run).toBe('function');
  });
});
