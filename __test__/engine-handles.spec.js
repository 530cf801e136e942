'use strict';

// The hot path's free functions take an engine's handle (a number). A
// handle that names no live engine, or an engine of another JavaScript
// thread, is refused with an error naming the call: it is never used.

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const native = require('../lib/native.js');
const { runNode } = require('./helpers');

/** A bare engine with its buffers, and its handle. */
function engine() {
  const e = new native.NativeEngine({ manualClock: true, out: new Float64Array(6 * 16), inbox: new Float64Array(16) });
  return { e, handle: e.handle() };
}

/** Every exported function of the hot path, called with `handle`. */
const CALLS = {
  engineDrain: (h) => native.engineDrain(h, 0),
  engineStrings: (h) => native.engineStrings(h),
  engineComplete: (h) => native.engineComplete(h, 0),
  engineRun: (h) => native.engineRun(h, 0, 0),
  engineProgress: (h) => native.engineProgress(h, 1),
  engineFireNext: (h) => native.engineFireNext(h, 0),
  engineFireNextOneShot: (h) => native.engineFireNextOneShot(h),
  engineBeginAdvance: (h) => native.engineBeginAdvance(h, 1),
  engineFinishAdvance: (h) => native.engineFinishAdvance(h, 0),
  engineRegisterWorker: (h) => native.engineRegisterWorker(h, 'w', NaN, null, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN),
};

describe('fast-path handles', () => {
  let live;
  beforeAll(() => {
    live = engine();
  });
  afterAll(() => live.e.dispose());

  test('a live handle of this thread works', () => {
    expect(native.engineDrain(live.handle, 0)).toBe(0);
    expect(native.engineStrings(live.handle)).toEqual({ base: 0, strs: [] });
    expect(native.engineFireNextOneShot(live.handle)).toBe(false);
    const slot = native.engineRegisterWorker(live.handle, 'registered-here', NaN, null, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN);
    expect(live.e.orderedSlots()).toEqual([slot]);
  });

  test.each(Object.keys(CALLS))('%s refuses a handle that names no engine', (name) => {
    // The live engine's index with another serial number, a made-up number, and what is no handle at all.
    for (const handle of [live.handle + 2 ** 20, 12345, -1, 0.5, NaN, 2 ** 60]) {
      expect(() => CALLS[name](handle)).toThrow(`${name}: handle ${handle} names no live engine`);
    }
  });

  test('a handle of a collected engine is refused, also once another engine took its place', async () => {
    const result = await runNode([
      '--expose-gc',
      '-e',
      `
      const native = require('./lib/native.js');
      const make = () => new native.NativeEngine({ out: new Float64Array(96), inbox: new Float64Array(16) });
      const before = native.engineHandlesInUse();
      let old = (() => make().handle())();
      (async () => {
        for (let k = 0; k < 50 && native.engineHandlesInUse() > before; k++) {
          global.gc();
          await new Promise((r) => setTimeout(r, 20));
        }
        const gone = native.engineHandlesInUse() === before;
        const next = make();
        const answer = (f) => { try { return f(); } catch (e) { return e.message; } };
        console.log(JSON.stringify({
          gone,
          sameIndex: next.handle() % 2 ** 20 === old % 2 ** 20,
          oldAnswer: answer(() => native.engineDrain(old, 0)),
          nextAnswer: answer(() => native.engineDrain(next.handle(), 0)),
        }));
        next.dispose();
      })();
      `,
    ]);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout);
    expect(out.gone).toBe(true);
    expect(out.sameIndex).toBe(true);
    expect(out.oldAnswer).toMatch(/^engineDrain: handle \d+ names no live engine/);
    expect(out.nextAnswer).toBe(0);
  });

  test('a handle used from another JavaScript thread is refused there and keeps working here', async () => {
    const slotsBefore = live.e.orderedSlots();
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const native = require(workerData.addon);
      const answers = {};
      const h = workerData.handle;
      const calls = { engineDrain: [h, 0], engineStrings: [h], engineRun: [h, 0, 0], engineProgress: [h, 1], engineComplete: [h, 0],
        engineRegisterWorker: [h, 'from-another-thread', NaN, null, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN],
        engineBeginAdvance: [h, 1], engineFinishAdvance: [h, 0] };
      for (const [name, args] of Object.entries(calls)) {
        try {
          answers[name] = native[name](...args);
        } catch (e) {
          answers[name] = e.message;
        }
      }
      parentPort.postMessage(answers);
      `,
      { eval: true, workerData: { handle: live.handle, addon: path.join(__dirname, '..', 'lib', 'native.js') } },
    );
    const answers = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer).toBe(
        `${name}: handle ${live.handle} names an engine of another JavaScript thread; only the thread that created an engine may use its handle`,
      );
    }
    expect(Object.keys(answers)).toContain('engineRegisterWorker');
    // Nothing the refused calls asked for happened.
    expect(live.e.orderedSlots()).toEqual(slotsBefore);
    expect(native.engineDrain(live.handle, 0)).toBe(0);
  });
});
