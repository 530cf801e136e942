'use strict';

// getRegistrySnapshot() copies a unit's error as what it is: an error of
// the same class with the fields that class gives it — a SynchronikError
// keeps its name, code, unitId and cause (index.d.ts: UnitError) — not a
// plain Error with the message alone.

const { types } = require('node:util');
const { createSynchronikManager, SynchronikError } = require('..');
const { runNode } = require('./helpers');

/** The snapshot entry of unit `id`. */
const snapshotOf = (manager, id) => manager.getRegistrySnapshot().find((u) => u.id === id);

describe('getRegistrySnapshot: unit errors', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager({ clock: 'manual' });
  });
  afterEach(() => manager.close());

  test('a timed-out worker: the copy is a SynchronikError with code ERR_TIMEOUT and the unit id', async () => {
    manager.registerUnit({ id: 'slow', timeoutMs: 100, run: () => new Promise(() => {}) });
    const done = manager.runWorkerById('slow');
    await manager.clock.advance(100);
    await done;
    const original = manager.getUnitById('slow').error;
    expect(original).toBeInstanceOf(SynchronikError);
    expect(original.code).toBe('ERR_TIMEOUT');

    const copy = snapshotOf(manager, 'slow').error;
    expect(copy).not.toBe(original);
    expect(copy).toBeInstanceOf(SynchronikError);
    expect(copy).toBeInstanceOf(Error);
    expect(types.isNativeError(copy)).toBe(true);
    expect(copy.name).toBe('SynchronikError');
    expect(copy.code).toBe('ERR_TIMEOUT');
    expect(copy.unitId).toBe('slow');
    expect(copy.message).toBe(original.message);
    expect(copy.stack).toBe(original.stack);
  });

  test('a non-Error thrown value: code ERR_NON_ERROR_THROWN, and the value as a deep copy in cause', async () => {
    const thrown = { reason: 'quota', limits: [1, 2] };
    manager.registerUnit({
      id: 'w',
      run: () => {
        throw thrown;
      },
    });
    await manager.runWorkerById('w');
    const copy = snapshotOf(manager, 'w').error;
    expect(copy).toBeInstanceOf(SynchronikError);
    expect(copy.code).toBe('ERR_NON_ERROR_THROWN');
    expect(copy.unitId).toBe('w');
    expect(copy.cause).toEqual(thrown);
    expect(copy.cause).not.toBe(thrown);
    copy.cause.limits.push(3);
    expect(thrown.limits).toEqual([1, 2]);
  });

  test("a user's error class keeps its class, its own fields and its cause's class", async () => {
    class HttpError extends Error {
      constructor(message, status, options) {
        super(message, options);
        this.name = 'HttpError';
        this.status = status;
        this.code = 'E_HTTP';
        this.details = { url: 'https://example.test', retry: () => true };
      }
    }
    const cause = new TypeError('socket closed');
    manager.registerUnit({
      id: 'fetch',
      run: async () => {
        throw new HttpError('bad gateway', 502, { cause });
      },
    });
    await manager.runWorkerById('fetch');
    const copy = snapshotOf(manager, 'fetch').error;
    expect(copy).toBeInstanceOf(HttpError);
    expect(copy.name).toBe('HttpError');
    expect(copy.message).toBe('bad gateway');
    expect(copy.status).toBe(502);
    expect(copy.code).toBe('E_HTTP');
    // Functions are left out, as everywhere in the snapshot.
    expect(copy.details).toEqual({ url: 'https://example.test' });
    expect(copy.cause).toBeInstanceOf(TypeError);
    expect(copy.cause).not.toBe(cause);
    expect(copy.cause.message).toBe('socket closed');
    // The fields are as enumerable as on the error: message, stack and cause are not.
    expect(Object.keys(copy).sort()).toEqual(['code', 'details', 'name', 'status']);
  });

  test('a DOMException (an aborted fetch) stays a DOMException with its name and message', async () => {
    // In a process of its own: under Jest a DOMException is of another
    // realm than Error, so it would not reach the unit as an Error.
    const script = `
      const { createSynchronikManager } = require('.');
      const m = createSynchronikManager();
      m.registerUnit({ id: 'aborted', run: async () => { throw new DOMException('This operation was aborted', 'AbortError'); } });
      m.runWorkerById('aborted').then(async () => {
        const original = m.getUnitById('aborted').error;
        const copy = m.getRegistrySnapshot()[0].error;
        console.log(JSON.stringify({
          original: original instanceof DOMException,
          domException: copy instanceof DOMException,
          same: copy === original,
          name: copy.name,
          message: copy.message,
          code: copy.code,
        }));
        await m.close();
      });
    `;
    const { code, stdout, stderr } = await runNode(['-e', script]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      original: true,
      domException: true,
      same: false,
      name: 'AbortError',
      message: 'This operation was aborted',
      code: 20,
    });
  });

  test('an error that is its own cause is copied once, the copy its own cause', async () => {
    const error = new Error('loop');
    error.cause = error;
    manager.registerUnit({
      id: 'loop',
      run: () => {
        throw error;
      },
    });
    await manager.runWorkerById('loop');
    const copy = snapshotOf(manager, 'loop').error;
    expect(copy).not.toBe(error);
    expect(copy.cause).toBe(copy);
  });

  test('a worker of a process: its copy inside the process keeps the code too', async () => {
    manager.registerUnit({
      id: 'p',
      workers: [{ id: 'slow-child', timeoutMs: 50, run: () => new Promise(() => {}) }],
    });
    const done = manager.runProcessById('p').catch((e) => e);
    await manager.clock.advance(50);
    await done;
    const copy = snapshotOf(manager, 'p').workers.find((w) => w.id === 'slow-child').error;
    expect(copy).toBeInstanceOf(SynchronikError);
    expect(copy.code).toBe('ERR_TIMEOUT');
    expect(copy.unitId).toBe('slow-child');
  });
});
