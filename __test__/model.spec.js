'use strict';

// Model-based test of the manager: fast-check generates sequences of public
// calls (register, release, run by id in each way, runLoopOnce,
// enable/disable, pause and the other statuses, config changes, stopAll/
// startAll, start/stop, clock advances on the manual clock, settling runs
// that wait) over standalone workers, a process run by its run mode and a
// process run as a dependency graph, and after every step compares the
// manager with a small reference model in plain JavaScript
// (./model/reference.js): statuses, enabled, runCount, errors, the order in
// which runs were called, the conditions of the graph called, every event
// (retries with their delay, skips with their reason), and how each run and
// stop promise settled. The second test does the same for a worker pool
// (./model/pool.js).
//
// `npm test` runs a fixed seed and a bounded number of runs; set
// SYNCHRONIK_MODEL_RUNS (and SYNCHRONIK_MODEL_SEED) for more
// (`npm run soak:model`).

const fc = require('fast-check');
const { World, commands, initialUnits, registerInitial } = require('./model/commands');
const { Model } = require('./model/reference');
const { PoolModel, PoolWorld, poolCommands } = require('./model/pool');

const RUNS = Number(process.env.SYNCHRONIK_MODEL_RUNS) || 150;
const SEED = process.env.SYNCHRONIK_MODEL_SEED !== undefined ? Number(process.env.SYNCHRONIK_MODEL_SEED) : 20240611;

test(
  `the manager agrees with the reference model (${RUNS} runs, seed ${SEED})`,
  async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.constantFrom(300, 1000),
        initialUnits,
        fc.commands(commands, { maxCommands: 60, size: '+1' }),
        async (asyncRuns, loopInterval, initial, cmds) => {
          const world = new World({ asyncRuns, loopInterval });
          try {
            const setup = () => {
              const model = new Model({ loopInterval });
              registerInitial(model, world, initial);
              return { model, real: world };
            };
            await fc.asyncModelRun(setup, cmds);
          } finally {
            await world.m.stop({ timeoutMs: 0 });
          }
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
  },
  Math.max(60000, RUNS * 500),
);

test(
  `a worker pool agrees with the reference model of its queue (${RUNS} runs, seed ${SEED})`,
  async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.commands(poolCommands, { maxCommands: 50, size: '+1' }),
        async (asyncRuns, size, cmds) => {
          const printed = jest.spyOn(console, 'error').mockImplementation(() => {});
          const world = new PoolWorld({ asyncRuns, size });
          let model;
          try {
            await fc.asyncModelRun(() => ({ model: (model = new PoolModel(size)), real: world }), cmds);
            // Nothing listens to `task` events: the first failed or dropped task is printed, once.
            expect(printed).toHaveBeenCalledTimes(model.unobservedFailures > 0 ? 1 : 0);
          } finally {
            await world.m.stop({ timeoutMs: 0 });
            printed.mockRestore();
          }
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
  },
  Math.max(60000, RUNS * 500),
);
