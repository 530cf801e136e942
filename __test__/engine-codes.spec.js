'use strict';

// The stable codes (SPEC: errors carry a stable `code`) come from the
// engine's own lists: every error code and abort reason number the engine
// can send has its string in the facade's tables, and an aborted attempt's
// `ctx.signal.reason` is a SynchronikError with the code its reason maps to.
// A reason or code added to the engine without its JavaScript side fails
// here.

const fs = require('node:fs');
const path = require('node:path');
const { createSynchronikManager, SynchronikError } = require('..');
const native = require('../lib/native.js');
const errors = require('../lib/errors.js');

const { errors: engineErrors, aborts: engineAborts } = native.engineCodes();

describe('the tables follow the engine', () => {
  test('the engine lists its error codes and abort reasons', () => {
    expect(engineErrors.length).toBeGreaterThan(0);
    expect(engineAborts.length).toBeGreaterThan(0);
    for (const { number, code } of [...engineErrors, ...engineAborts]) {
      expect(Number.isInteger(number) && number > 0).toBe(true);
      expect(code).toMatch(/^ERR_[A-Z_]+$/);
    }
  });

  test.each(engineErrors.map((e) => [e.number, e.code]))('error code %i is %s in ENGINE_CODES', (number, code) => {
    expect(errors.ENGINE_CODES[number]).toBe(code);
  });

  test('ENGINE_CODES has nothing the engine does not send', () => {
    const listed = errors.ENGINE_CODES.map((code, number) => [number, code]).filter(([, code]) => code !== undefined);
    expect(listed).toEqual(engineErrors.map((e) => [e.number, e.code]));
  });

  test.each(engineAborts.map((a) => [a.number, a.code]))('abort reason %i gives a SynchronikError %s with its own message', (number, code) => {
    expect(engineErrors.map((e) => e.code)).toContain(code);
    expect(errors.ABORT_MESSAGES[code]).toEqual(expect.any(Function));
    const reason = errors.abortReason(number, 'w');
    expect(reason).toBeInstanceOf(SynchronikError);
    expect(reason.code).toBe(code);
    expect(reason.unitId).toBe('w');
    expect(reason.message).toContain('"w"');
    expect(reason.message).not.toMatch(/undefined/);
  });

  test('every code is documented on SynchronikError in index.d.ts', () => {
    const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
    const doc = dts.slice(dts.lastIndexOf('/**', dts.indexOf('export class SynchronikError')), dts.indexOf('export class SynchronikError'));
    for (const { code } of engineErrors) expect(doc).toContain(`\`${code}\``);
  });
});

describe('signal.reason of an aborted attempt', () => {
  test('a running pool task cancelled through its pool.run signal: ERR_CANCELLED', async () => {
    const m = createSynchronikManager({ clock: 'manual' });
    const pool = m.useWorkerPool(1);
    pool.start();
    const controller = new AbortController();
    let seen;
    let started;
    const running = new Promise((resolve) => (started = resolve));
    const result = pool.run(
      (_payload, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            seen = ctx.signal.reason;
            resolve('late');
          });
          started();
        }),
      { signal: controller.signal },
    );
    await running;
    controller.abort(new Error('user gave up'));
    const error = await result.catch((e) => e);
    expect(error.name).toBe('AbortError');
    expect(seen).toBeInstanceOf(SynchronikError);
    expect(seen.code).toBe('ERR_CANCELLED');
    expect(seen.unitId).toBe('pool-worker-1');
    expect(seen.message).toBe('the task running on "pool-worker-1" was cancelled');
    await m.stop();
  });

  test('a timed-out attempt: ERR_TIMEOUT', async () => {
    const m = createSynchronikManager({ clock: 'manual' });
    let seen;
    m.registerUnit({
      id: 'slow',
      timeoutMs: 100,
      run: (ctx) =>
        new Promise(() => {
          ctx.signal.addEventListener('abort', () => (seen = ctx.signal.reason));
        }),
    });
    const done = m.runWorkerById('slow');
    await m.clock.advance(100);
    await done;
    expect(seen).toBeInstanceOf(SynchronikError);
    expect(seen.code).toBe('ERR_TIMEOUT');
    expect(seen.message).toBe('worker "slow" timed out');
  });
});
