'use strict';

// Deadlines on the manual clock (SPEC §8) are exact: a whole number of
// milliseconds is converted to nanoseconds without rounding, however large,
// so uneven steps that add up to a timeout reach it exactly (a product
// `ms * 1e6` in floating point fell 48,576 ns short of 1e21 ns after
// advance(1e15 - 1) and advance(1)).

const { createSynchronikManager, SynchronikError } = require('..');

const managers = [];
function manual() {
  const m = createSynchronikManager({ clock: 'manual' });
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

/** A never-settling worker with `timeoutMs`, run once; returns its run and the errors seen. */
function stuck(m, timeoutMs) {
  const errors = [];
  m.on('error', (e) => errors.push(e));
  m.registerUnit({ id: 'stuck', timeoutMs, run: () => new Promise(() => {}) });
  return { done: m.runWorkerById('stuck'), errors };
}

function expectTimedOut(m, errors) {
  expect(errors).toHaveLength(1);
  expect(errors[0].error).toBeInstanceOf(SynchronikError);
  expect(errors[0].error.code).toBe('ERR_TIMEOUT');
  expect(m.getWorkerById('stuck').status).toBe('error');
}

describe('exact deadlines on the manual clock', () => {
  test('advance(1e15 - 1) then advance(1) times out a unit with timeoutMs 1e15', async () => {
    const m = manual();
    const { done, errors } = stuck(m, 1e15);
    await m.clock.advance(1e15 - 1);
    expect(errors).toEqual([]);
    expect(m.getWorkerById('stuck').status).toBe('running');
    await m.clock.advance(1);
    await done;
    expectTimedOut(m, errors);
    expect(m.clock.now()).toBe(1e15);
  });

  test('uneven steps that stop 1 ms short of a large timeout do not reach it', async () => {
    const m = manual();
    const { done, errors } = stuck(m, 9e15);
    for (const step of [1e15 - 1, 3e15 + 7, 5e15 - 7]) await m.clock.advance(step);
    expect(m.clock.now()).toBe(9e15 - 1);
    expect(errors).toEqual([]);
    expect(m.getWorkerById('stuck').status).toBe('running');
    await m.clock.advance(1);
    await done;
    expectTimedOut(m, errors);
  });

  test('a timeout armed far out is reached by steps of another size', async () => {
    const m = manual();
    await m.clock.advance(123_456_789_012_345);
    const { done, errors } = stuck(m, 2 ** 52 + 1);
    await m.clock.advance(2 ** 51);
    await m.clock.advance(2 ** 51);
    expect(errors).toEqual([]);
    await m.clock.advance(1);
    await done;
    expectTimedOut(m, errors);
  });
});
