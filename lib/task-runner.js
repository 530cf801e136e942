// @ts-check
'use strict';

// runWorkerTasks: run a list of tasks with retries and a concurrency limit,
// and report what succeeded and what failed. Each task is a worker of one
// parallel process on a private manager, so attempts, retry delays and the
// concurrency window are the engine's decisions, as everywhere else.

const v = require('./validate');
const { messageOf } = require('./errors');

/**
 * @typedef {import('../index').TaskRunnerOptions} TaskRunnerOptions
 * @typedef {import('../index').TaskRunnerResult<unknown>} TaskRunnerResult
 * @typedef {{ id: string, execute: () => unknown }} Task a task as the runner holds it
 * @typedef {{ ok: true, result: unknown } | { ok: false, error: string }} Outcome how a task ended
 * @typedef {[key: string, ok: (value: unknown) => boolean, expected: string]} Rule an option's name, test and expectation
 */

/**
 * The options' rules: those a worker or process has for the same setting, and onProgress.
 * @type {Rule[]}
 */
const RULES = [
  /** @type {Rule} */ (v.settingRule('maxRetries')),
  /** @type {Rule} */ (v.settingRule('retryDelayMs')),
  ['onProgress', (x) => typeof x === 'function', 'a function'],
  /** @type {Rule} */ (v.settingRule('concurrency')),
];

const OPTIONS = RULES.map(([key]) => key);
/** Every key of the config form: its own fields and the options. */
const CONFIG_KEYS = ['items', 'execute', 'getTaskId', ...OPTIONS];

/**
 * @param {string} path
 * @param {Record<string, unknown>} options
 */
function checkOptions(path, options) {
  for (const [key, ok, expected] of RULES) {
    if (options[key] !== undefined) v.check('runWorkerTasks', `${path}.${key}`, options[key], ok, expected);
  }
}

/**
 * Turns either call form into `[{ id, execute }]` and options.
 * @param {any} first
 * @param {any} second
 * @returns {{ tasks: Task[], options: TaskRunnerOptions }}
 */
function normalize(first, second) {
  if (Array.isArray(first)) {
    first.forEach((/** @type {any} */ t, /** @type {number} */ i) => {
      if (!v.isObject(t)) throw v.fail('runWorkerTasks', `tasks[${i}]`, 'an object { id, execute }', t);
      v.check('runWorkerTasks', `tasks[${i}].id`, t.id, (/** @type {unknown} */ x) => typeof x === 'string', 'a string');
      v.check('runWorkerTasks', `tasks[${i}].execute`, t.execute, (/** @type {unknown} */ x) => typeof x === 'function', 'a function');
    });
    const options = second === undefined ? {} : second;
    if (!v.isObject(options)) throw v.fail('runWorkerTasks', 'options', 'an object', options);
    // The options exist for this call only: a key that is none of them is a slip.
    v.checkKnownKeys('runWorkerTasks', 'options', options, OPTIONS, 'refuse');
    checkOptions('options', options);
    return { tasks: first.map((/** @type {any} */ t) => ({ id: t.id, execute: () => t.execute() })), options };
  }
  if (!v.isObject(first)) throw v.fail('runWorkerTasks', 'config', 'an object { items, execute } or an array of tasks', first);
  v.checkKnownKeys('runWorkerTasks', 'config', first, CONFIG_KEYS, 'refuse');
  v.check('runWorkerTasks', 'config.items', first.items, Array.isArray, 'an array');
  v.check('runWorkerTasks', 'config.execute', first.execute, (/** @type {unknown} */ x) => typeof x === 'function', 'a function');
  if (first.getTaskId !== undefined) {
    v.check('runWorkerTasks', 'config.getTaskId', first.getTaskId, (/** @type {unknown} */ x) => typeof x === 'function', 'a function');
  }
  checkOptions('config', first);
  const tasks = first.items.map((/** @type {unknown} */ item) => ({
    id: first.getTaskId ? String(first.getTaskId(item)) : String(item),
    execute: () => first.execute(item),
  }));
  return { tasks, options: first };
}

/**
 * The message a failed task reports: the error's, or the thrown value itself.
 * @param {any} error
 * @returns {string}
 */
function failureMessage(error) {
  try {
    if (error && error.code === 'ERR_NON_ERROR_THROWN') return String(error.cause);
    return error && error.message !== undefined ? String(error.message) : String(error);
  } catch {
    // A thrown value that cannot be turned into text (a Proxy whose traps throw).
    return messageOf(error);
  }
}

/**
 * Runs tasks — `runWorkerTasks({ items, execute, getTaskId?, maxRetries?,
 * retryDelayMs?, onProgress?, concurrency? })` or `runWorkerTasks(tasks,
 * options?)` — each up to `maxRetries + 1` times, at most `concurrency` at
 * once (default 1: one after another, in order). Resolves (never rejects
 * for a failing task) to `{ totalTasks, successful: [{ id, result }],
 * failed: [{ id, error }], successPercentage }`, lists in item order.
 * @param {any} first
 * @param {any} [second]
 * @returns {Promise<TaskRunnerResult>}
 */
async function runWorkerTasks(first, second) {
  const { tasks, options } = normalize(first, second);
  const total = tasks.length;
  if (total === 0) return { totalTasks: 0, successful: [], failed: [], successPercentage: 100 };

  // Required here, not at the top: manager.js loads this module's users.
  const { createSynchronikManager } = require('./manager');
  const manager = createSynchronikManager();
  const index = new Map();
  const workers = tasks.map((task, i) => {
    const id = `task-${i}`;
    index.set(id, i);
    return {
      id,
      timeoutMs: 0,
      maxRetries: options.maxRetries ?? 0,
      retryDelayMs: options.retryDelayMs ?? 0,
      run: () => task.execute(),
    };
  });
  /** @type {(Outcome | undefined)[]} */
  const outcomes = new Array(total);
  let settled = 0;
  const progress = () => {
    settled += 1;
    if (options.onProgress) {
      try {
        options.onProgress({ completed: settled, total, percentage: (settled / total) * 100 });
      } catch (e) {
        console.error('[synchronik] runWorkerTasks: onProgress threw:', e);
      }
    }
  };
  manager.on('complete', (e) => {
    const i = index.get(e.unitId);
    if (i === undefined) return;
    outcomes[i] = { ok: true, result: e.result };
    progress();
  });
  manager.on('error', (e) => {
    const i = index.get(e.unitId);
    if (i === undefined) return;
    outcomes[i] = { ok: false, error: failureMessage(e.error) };
    progress();
  });
  try {
    manager.registerUnit({ id: 'runWorkerTasks', runMode: 'parallel', concurrency: options.concurrency ?? 1, workers });
    await manager.runProcessById('runWorkerTasks');
  } finally {
    // The private manager's thread ends now, not at some garbage collection.
    await manager.close();
  }
  /** @type {TaskRunnerResult['successful']} */
  const successful = [];
  /** @type {TaskRunnerResult['failed']} */
  const failed = [];
  tasks.forEach((task, i) => {
    const o = outcomes[i];
    if (o && o.ok) successful.push({ id: task.id, result: o.result });
    else failed.push({ id: task.id, error: o ? o.error : 'did not run' });
  });
  return { totalTasks: total, successful, failed, successPercentage: (successful.length / total) * 100 };
}

module.exports = { runWorkerTasks };
