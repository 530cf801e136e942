'use strict';

// Small helpers shared by the specs (not a spec itself).

const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** A worker whose run resolves with `result` after `ms` (0: right away, still async). */
function delayedWorker(id, ms, result, extra = {}) {
  return { id, run: jest.fn(async () => { if (ms > 0) await sleep(ms); return result; }), ...extra };
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

module.exports = { ROOT, sleep, since, recordEvents, describeEvent, delayedWorker, errorOf, runNode };
