'use strict';

// Object layouts that must not change once work has run. V8 gives a field
// the representation of the first value stored in it; a later value of
// another kind (a heap number into a small-integer field) replaces the
// layout of every object that has the field, and throws away the
// optimized code of every function that knew the old one, which is all
// of them for the next manager made. The engine's numbers reach
// JavaScript through a Float64Array, which unoptimized code reads as heap
// numbers, so these fields are given their final representation when
// their objects are made. Checked in a child process with V8's own
// comparison of layouts (%HaveSameMap).

const { runWithNatives: run } = require('./helpers');

test("a unit's meta has the same layout before any run as after runs", async () => {
  const out = await run(`
    const { createSynchronikManager } = require('.');
    (async () => {
      const m = createSynchronikManager();
      const idle = m.registerUnit({ id: 'idle', run: () => {} });
      const busy = m.registerUnit({ id: 'busy', run: () => new Promise((r) => setTimeout(r, 2)) });
      for (let i = 0; i < 3; i++) await m.runWorkerById('busy');
      const later = m.registerUnit({ id: 'later', run: () => {} });
      console.log(JSON.stringify({
        sameLayout: %HaveSameMap(idle.meta, later.meta),
        runCount: busy.meta.runCount,
        fractionalMean: !Number.isInteger(busy.meta.averageExecutionTimeMs),
      }));
      await m.stop();
    })();
  `);
  // The runs stored a count and a fractional mean, and the meta made after
  // them is laid out like the one made before.
  expect(out).toEqual({ sameLayout: true, runCount: 3, fractionalMean: true });
});

test("the tables of runs in flight keep their layout once ids went through them", async () => {
  const out = await run(`
    const { createSynchronikManager } = require('.');
    const { IdTable } = require('./lib/id-table.js');
    const before = new IdTable();
    (async () => {
      const m = createSynchronikManager();
      const pool = m.useWorkerPool(4);
      m.start();
      for (let i = 0; i < 20; i++) m.registerUnit({ id: 'w' + i, run: async () => i });
      await Promise.all(Array.from({ length: 20 }, (_, i) => m.runWorkerById('w' + i)));
      const sum = (await Promise.all(Array.from({ length: 50 }, (_, i) => pool.run(() => i)))).reduce((a, b) => a + b, 0);
      await m.stop();
      const after = new IdTable();
      console.log(JSON.stringify({ sameLayout: %HaveSameMap(before, after), sum }));
    })();
  `);
  expect(out).toEqual({ sameLayout: true, sum: 1225 });
});
