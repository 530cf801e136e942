'use strict';

// Small helpers shared by the specs (not a spec itself).

const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');

/**
 * Waits `ms` of real time. For waits whose subject is real time only (the
 * system clock, a blocked event loop, real user code that takes time); a
 * wait for an engine timer belongs on the manual clock, and a wait for a
 * condition on the event that marks it.
 */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One turn of the event loop (a macrotask: pending I/O and native callbacks run). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Lets the event loop turn until `predicate()` holds; fails after `turns` turns. */
async function until(predicate, turns = 200, what = 'condition') {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await turn();
  }
  if (!predicate()) throw new Error(`${what} not reached after ${turns} turns of the event loop`);
}

/** Lets `turns` turns of the event loop pass (to show that something does NOT happen). */
async function settle(turns = 10) {
  for (let i = 0; i < turns; i++) await turn();
}

/** A promise with its resolve and reject functions, settled by hand. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Follows a promise without waiting for it: `state.settled`, then `value` or `error`. */
function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Resolves with the next event of `type` the manager emits for which `filter(event)` holds. */
function nextEvent(manager, type, filter = () => true) {
  return new Promise((resolve) => {
    const listener = (event) => {
      if (!filter(event)) return;
      manager.off(type, listener);
      resolve(event);
    };
    manager.on(type, listener);
  });
}

/** Milliseconds since `start` (a performance.now() value). */
const since = (start) => performance.now() - start;

/** Collects every event of a manager through subscribeToEvents. */
function recordEvents(manager) {
  const events = [];
  const unsubscribe = manager.subscribeToEvents((event) => events.push(event));
  return { events, unsubscribe };
}

/**
 * A compact description of an event, for asserting exact sequences:
 * `updated:w:idle>running`, `start:w`, `complete:w`, `error:w`, `retry:w:1`,
 * `milestone:unit:p:running`.
 */
function describeEvent(e) {
  switch (e.type) {
    case 'updated':
      return `updated:${e.unitId}:${e.payload.previous}>${e.payload.current}${e.payload.reason === 'config-change' ? ':config' : ''}`;
    case 'retry':
      return `retry:${e.unitId}:${e.attempt}`;
    case 'milestone':
      return `milestone:${e.milestoneId}`;
    default:
      return `${e.type}:${e.unitId}`;
  }
}

/** Returns what `fn` threw synchronously or rejected with; fails when it did neither. */
async function errorOf(fn) {
  let outcome;
  try {
    outcome = fn();
  } catch (e) {
    return e;
  }
  try {
    await outcome;
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, but the call succeeded');
}

/**
 * Runs `node` with the given arguments in the repository root (so that
 * `require('synchronik')` / `import 'synchronik'` resolve through the
 * package's self-reference). Resolves with { code, signal, stdout, stderr, ms };
 * kills the child after `timeoutMs`.
 */
function runNode(args, { cwd = ROOT, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - start });
    });
  });
}

/**
 * Runs `script` in a child `node --allow-natives-syntax` (V8's own
 * checks of layouts and optimized code, `%HaveSameMap`,
 * `%GetOptimizationStatus`, …); expects nothing on stderr and resolves
 * with what it printed on stdout, parsed as JSON.
 * @param {string} script
 */
async function runWithNatives(script) {
  const r = await runNode(['--allow-natives-syntax', '-e', script], { timeoutMs: 30000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

/**
 * The messages of the process warnings of `code` (SYNCHRONIK_UNKNOWN_OPTION
 * by default) emitted while `fn` runs; the warnings are not printed.
 */
async function warningsOf(fn, code = 'SYNCHRONIK_UNKNOWN_OPTION') {
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  try {
    await fn();
    return spy.mock.calls.filter(([, options]) => options && options.code === code).map(([message]) => message);
  } finally {
    spy.mockRestore();
  }
}

/**
 * A `create(options)` that makes managers which are closed after each test
 * of the calling spec file.
 */
function closedAfterEach() {
  const { createSynchronikManager } = require('..');
  const managers = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
  });
  return (options) => {
    const m = createSynchronikManager(options);
    managers.push(m);
    return m;
  };
}

/** The child ended by itself (not killed at the bound), with code 0 and nothing on stderr. */
function expectCleanExit(result) {
  expect({ timedOut: result.timedOut, code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({
    timedOut: false,
    code: 0,
    signal: null,
    stderr: '',
  });
}

module.exports = {
  expectCleanExit,
  ROOT,
  sleep,
  turn,
  until,
  settle,
  deferred,
  track,
  nextEvent,
  since,
  recordEvents,
  describeEvent,
  errorOf,
  runNode,
  runWithNatives,
  warningsOf,
  closedAfterEach,
};
