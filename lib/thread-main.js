'use strict';

// The entry of every thread of a thread pool (a worker_threads Worker). It
// loads the addon and the pool's module, registers with the manager's
// engine as a runner, and from then on takes its tasks from the engine
// directly: the engine wakes it when it assigned it a task, and the call
// that reports an outcome hands it its next one. Payloads, results and
// errors are copied with the structured clone algorithm (v8.serialize).

const { workerData } = require('node:worker_threads');
const v8 = require('node:v8');
const { pathToFileURL } = require('node:url');
const native = require('./native.js');

const { host, runner, filename } = workerData;

/** Whether a task loop is under way (a wake-up during it has nothing to add). */
let running = false;

/**
 * A thrown value as it crosses: the value itself (structured clone keeps
 * an Error's name, message, stack and cause), and the own properties
 * structured clone drops (`code`, say) beside it.
 * @param {unknown} thrown
 */
function serializeThrown(thrown) {
  let extra;
  if (thrown instanceof Error) {
    extra = {};
    for (const key of Object.keys(thrown)) {
      try {
        extra[key] = v8.deserialize(v8.serialize(/** @type {any} */ (thrown)[key]));
      } catch {
        // A property that cannot be copied stays behind.
      }
    }
  }
  try {
    return v8.serialize({ thrown, extra });
  } catch {
    const e = new Error(thrown instanceof Error ? thrown.message : String(thrown));
    if (thrown instanceof Error) {
      e.name = thrown.name;
      e.stack = thrown.stack;
    }
    return v8.serialize({ thrown: e, extra });
  }
}

async function load() {
  let mod;
  try {
    mod = require(filename);
  } catch (e) {
    // An ES module that require() cannot load (Node's codes ERR_REQUIRE_ESM, ERR_REQUIRE_ASYNC_MODULE).
    if (!e || !/^ERR_REQUIRE_(ESM|ASYNC_MODULE)$/.test(e.code)) throw e;
    mod = await import(pathToFileURL(filename).href);
  }
  /** @type {Map<string, Function>} */
  const handlers = new Map();
  if (typeof mod === 'function') handlers.set('default', mod);
  if (mod && (typeof mod === 'object' || typeof mod === 'function')) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'function') handlers.set(name, value);
    }
    if (mod.default && typeof mod.default === 'object') {
      // An ES module's CommonJS namespace, or `export default { … }`.
      for (const [name, value] of Object.entries(mod.default)) {
        if (typeof value === 'function' && !handlers.has(name)) handlers.set(name, value);
      }
    }
  }
  return handlers;
}

/**
 * Runs tasks until none is assigned.
 * @param {Map<string, Function>} handlers
 * @param {{ task: number, handler: string, payload: Buffer, attempt?: number | null, key?: string | null } | null} first
 */
async function work(handlers, first) {
  running = true;
  let next = first;
  try {
    while (next !== null) {
      const { task, handler, payload, attempt, key } = next;
      let ok = true;
      let value;
      try {
        const fn = handlers.get(handler);
        if (fn === undefined) {
          throw new TypeError(`the module ${filename} exports no handler "${handler}" (it exports: ${[...handlers.keys()].join(', ') || 'no function'})`);
        }
        // A named task (addTask) learns its attempt and, when stored, its idempotency key.
        const result = await (attempt === undefined ? fn(v8.deserialize(payload)) : fn(v8.deserialize(payload), { attempt, idempotencyKey: key ?? undefined }));
        value = v8.serialize(result);
      } catch (e) {
        ok = false;
        value = serializeThrown(e);
      }
      next = native.threadDone(host, runner, task, ok, value);
    }
  } finally {
    running = false;
  }
}

load().then(
  (handlers) => {
    const wake = () => {
      if (running) return;
      const task = native.threadTake(host, runner);
      if (task !== null) void work(handlers, task);
    };
    const first = native.threadRegister(host, runner, wake);
    if (first !== null) void work(handlers, first);
  },
  (error) => {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    native.threadBootstrapFailed(host, runner, `${filename} threw while loading: ${why}`, serializeThrown(error));
  },
);
