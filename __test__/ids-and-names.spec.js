'use strict';

// Ids and names that cross to the engine (SPEC §12): strings cross as UTF-8,
// where a lone surrogate becomes U+FFFD, so '\uD800' and '\uDBFF' would be
// one unit there. Every id or name that crosses must be well-formed UTF-16,
// and every public method checks its arguments before the binding sees them
// (a TypeError naming the argument, not napi's conversion message).

const { createSynchronikManager, FileStorageAdapter } = require('..');
const { errorOf } = require('./helpers');

const LONE = ['\uD800', '\uDBFF', '\uDC00', 'a\uD800b', 'x\uDFFF'];
const LONE_SURROGATE = /must be well-formed UTF-16, without lone surrogates \(got a string with a lone surrogate \\u[0-9A-F]{4} at index \d+\)/;

describe('lone surrogates are refused in ids and names', () => {
  test.each(LONE.map((id) => [JSON.stringify(id), id]))('registerUnit refuses the id %s; nothing is registered', (_shown, id) => {
    const m = createSynchronikManager();
    const error = (() => {
      try {
        m.registerUnit({ id, run: () => {} });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^registerUnit: unit\.id /);
    expect(error.message).toMatch(LONE_SURROGATE);
    expect(m.listUnits()).toEqual([]);
  });

  test("'\\uD800' and '\\uDBFF' can no longer be the same unit", () => {
    const m = createSynchronikManager();
    expect(() => m.registerUnit({ id: '\uD800', run: () => 1 })).toThrow(TypeError);
    expect(() => m.registerUnit({ id: '\uDBFF', run: () => 2 })).toThrow(TypeError);
    // A well-formed id with the replacement character is its own unit, untouched by those calls.
    const replacement = m.registerUnit({ id: '\uFFFD', run: () => 3 });
    expect(() => m.releaseUnit('\uD800')).toThrow(/releaseUnit: id must be well-formed UTF-16/);
    expect(m.getUnitById('\uFFFD')).toBe(replacement);
  });

  test('surrogate pairs (emoji) are fine', async () => {
    const m = createSynchronikManager();
    const w = m.registerUnit({ id: 'w-😀', run: () => 'ok' });
    await m.runWorkerById('w-😀');
    expect(w.status).toBe('completed');
  });

  test('a process worker id with a lone surrogate names its index', () => {
    const m = createSynchronikManager();
    expect(() => m.registerUnit({ id: 'p', workers: [{ id: 'ok', run: () => {} }, { id: 'bad\uD800', run: () => {} }] })).toThrow(
      /^registerUnit: unit\.workers\[1\]\.id must be well-formed UTF-16/,
    );
    expect(m.listUnits()).toEqual([]);
  });

  test('state and run methods refuse a lone-surrogate id', async () => {
    const m = createSynchronikManager();
    m.registerUnit({ id: '\uFFFD', run: () => {} });
    for (const method of ['updateStatus', 'updateWorkerConfig', 'updateUnitConfig', 'enableWorker', 'disableUnit', 'stopWorkerById', 'runWorkerById', 'runUnitById', 'runProcessById']) {
      const args = method === 'updateStatus' ? ['\uDBFF', 'paused'] : method.startsWith('update') ? ['\uDBFF', { maxRetries: 1 }] : ['\uDBFF'];
      const error = await errorOf(() => m[method](...args));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(new RegExp(`^${method}: id must be well-formed UTF-16`));
    }
    expect(m.getUnitById('\uFFFD')).toMatchObject({ status: 'idle', enabled: true });
  });

  test('pool names and handler names refuse lone surrogates', () => {
    const m = createSynchronikManager();
    expect(() => m.useWorkerPool(1, { name: '\uD800' })).toThrow(/^useWorkerPool: options\.name must be well-formed UTF-16/);
    const pool = m.useWorkerPool(1);
    expect(() => pool.addTask({ name: '\uD800', execute: () => {} })).toThrow(/^addTask: task\.name must be well-formed UTF-16/);
    expect(() => pool.addTask({ name: 'h', handler: '\uDBFF' })).toThrow(/^addTask: task\.handler must be well-formed UTF-16/);
    expect(() => pool.handle('\uDBFF', () => {})).toThrow(/^pool\.handle: name must be well-formed UTF-16/);
    expect(() => pool.unhandle('\uDBFF')).toThrow(/^pool\.unhandle: name must be well-formed UTF-16/);
    for (const method of ['pauseTask', 'resumeTask', 'cancelTask']) {
      expect(() => pool[method]('\uD800')).toThrow(new RegExp(`^${method}: name must be well-formed UTF-16`));
    }
    expect(() => pool.updateTask('\uD800', {})).toThrow(/^updateTask: name must be well-formed UTF-16/);
    expect(pool.simulateRun()).toBe('No tasks pending for execution.');
  });

  test('two pool tasks whose names differ only in a lone surrogate cannot collide', () => {
    const m = createSynchronikManager();
    const pool = m.useWorkerPool(1);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(() => pool.addTask({ name: 't\uD800', execute: () => {} })).toThrow(TypeError);
      expect(() => pool.addTask({ name: 't\uDBFF', execute: () => {} })).toThrow(TypeError);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  test('storage paths and history queries refuse lone surrogates', async () => {
    expect(() => createSynchronikManager({ storage: { sqlite: '/tmp/x\uD800.db' } })).toThrow(
      /^createSynchronikManager: options\.storage\.sqlite must be well-formed UTF-16/,
    );
    expect(() => new FileStorageAdapter('state\uDC00.json')).toThrow(/^FileStorageAdapter: filePath must be well-formed UTF-16/);
    const m = createSynchronikManager();
    const error = await errorOf(() => m.history({ unitId: '\uD800' }));
    expect(error.message).toMatch(/^history: query\.unitId must be well-formed UTF-16/);
  });
});

describe('NUL is refused in ids and names', () => {
  // PostgreSQL's text cannot hold U+0000: an id or name every store keeps
  // must not contain it, whatever store this manager has.
  const NUL = /must not contain NUL \(\\u0000\), which a store cannot keep \(got a string with NUL at index \d+\)/;

  test('registerUnit refuses a unit id or a process worker id with NUL; nothing is registered', () => {
    const m = createSynchronikManager();
    for (const id of ['\0', 'a\0', 'a\0b']) {
      expect(() => m.registerUnit({ id, run: () => {} })).toThrow(new RegExp(`^registerUnit: unit\\.id ${NUL.source}`));
    }
    expect(() => m.registerUnit({ id: 'p', workers: [{ id: 'ok', run: () => {} }, { id: 'b\0ad', run: () => {} }] })).toThrow(
      new RegExp(`^registerUnit: unit\\.workers\\[1\\]\\.id ${NUL.source}`),
    );
    expect(m.listUnits()).toEqual([]);
    expect(() => m.registerUnit({ id: 'a\0b', run: () => {} })).toThrow('(got a string with NUL at index 1)');
  });

  test('run, state and history methods, pool names, task names and handler names refuse NUL', async () => {
    const m = createSynchronikManager();
    m.registerUnit({ id: 'a', run: () => {} });
    for (const method of ['runWorkerById', 'runUnitById', 'stopWorkerById', 'enableWorker', 'disableUnit']) {
      const error = await errorOf(() => m[method]('a\0'));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(new RegExp(`^${method}: id ${NUL.source}`));
    }
    expect((await errorOf(() => m.history({ unitId: 'a\0' }))).message).toMatch(new RegExp(`^history: query\\.unitId ${NUL.source}`));
    expect(() => m.useWorkerPool(1, { name: 'p\0' })).toThrow(new RegExp(`^useWorkerPool: options\\.name ${NUL.source}`));
    const pool = m.useWorkerPool(1);
    expect(() => pool.addTask({ name: 't\0', execute: () => {} })).toThrow(new RegExp(`^addTask: task\\.name ${NUL.source}`));
    expect(() => pool.addTask({ name: 't', handler: 'h\0' })).toThrow(new RegExp(`^addTask: task\\.handler ${NUL.source}`));
    expect(() => pool.handle('h\0', () => {})).toThrow(new RegExp(`^pool\\.handle: name ${NUL.source}`));
    expect(pool.simulateRun()).toBe('No tasks pending for execution.');
    expect(m.getUnitById('a')).toMatchObject({ status: 'idle', enabled: true });
  });
});

describe('pool methods validate their arguments before the binding sees them', () => {
  const BAD = [5, undefined, null, {}, ''];
  test.each(['pauseTask', 'resumeTask', 'cancelTask', 'unhandle'])('%s(5) and friends throw a TypeError naming the argument', (method) => {
    const m = createSynchronikManager();
    const pool = m.useWorkerPool(1);
    const label = method === 'unhandle' ? 'pool.unhandle' : method;
    for (const bad of BAD) {
      const error = (() => {
        try {
          pool[method](bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(new RegExp(`^${label.replace('.', '\\.')}: name must be a non-empty string \\(got `));
      expect(error.message).not.toMatch(/Failed to convert/);
    }
  });

  test('updateTask validates the name first, then the partial', () => {
    const m = createSynchronikManager();
    const pool = m.useWorkerPool(1);
    expect(() => pool.updateTask(5, { priority: 1 })).toThrow('updateTask: name must be a non-empty string (got number)');
    expect(() => pool.updateTask('t', { priority: 'high' })).toThrow('updateTask: partial.priority must be a number (got string)');
    expect(() => pool.updateTask('t', { execute: 'nope' })).toThrow('updateTask: partial.execute must be a function (got string)');
    expect(() => pool.updateTask('t', { handler: 7 })).toThrow('updateTask: partial.handler must be a non-empty string (got number)');
  });
});
