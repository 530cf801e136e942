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

describe('every abort reason and error code maps to a message and a code', () => {
  const vocabulary = require('../lib/generated/vocabulary');

  test.each(engineAborts.map((a) => [a.number, a.code]))('abort reason %i: %s and the engine\'s message, with the unit id filled in', (number, code) => {
    const { message } = vocabulary.ABORT_REASONS.find((r) => r.number === number);
    const reason = errors.abortReason(number, 'pool-worker-1');
    expect(reason.code).toBe(code);
    expect(reason.message).toBe(message.split('{id}').join('pool-worker-1'));
    expect(reason.message).toContain('"pool-worker-1"');
    expect(reason.message).not.toMatch(/undefined/);
  });

  test('a cancelled task\'s abort reason names its worker (the drift that lost codes 11 and 12)', () => {
    const cancelled = engineAborts.find((a) => a.code === 'ERR_CANCELLED');
    const reason = errors.abortReason(cancelled.number, 'pool-worker-1');
    expect({ message: reason.message, code: reason.code }).toEqual({
      message: 'the task running on "pool-worker-1" was cancelled',
      code: 'ERR_CANCELLED',
    });
  });

  test('an abort reason the facade does not know is ERR_ABORTED, still naming the unit', () => {
    const unknown = Math.max(...engineAborts.map((a) => a.number)) + 1;
    const reason = errors.abortReason(unknown, 'w');
    expect(reason.code).toBe('ERR_ABORTED');
    expect(reason.message).toBe('worker "w" was aborted (ERR_ABORTED)');
  });

  test('every code the facade writes is the engine\'s or one of the codes it makes itself', () => {
    const known = new Set([...engineErrors.map((e) => e.code), ...vocabulary.HOST_ERROR_CODES]);
    const lib = path.join(__dirname, '..', 'lib');
    const written = new Set();
    for (const file of fs.readdirSync(lib).filter((f) => f.endsWith('.js') && f !== 'native.js')) {
      for (const [, code] of fs.readFileSync(path.join(lib, file), 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g)) written.add(code);
    }
    expect(written.size).toBeGreaterThan(0);
    expect([...written].filter((code) => !known.has(code))).toEqual([]);
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
