// @ts-check
'use strict';

const util = require('node:util');

const { ERROR_CODES, ABORT_REASONS } = require('./generated/vocabulary');

/**
 * The class of every error synchronik throws or rejects with (bad arguments
 * are `TypeError`s). `code` is stable; a wrapped user error is in `cause`.
 */
class SynchronikError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   * @param {{ cause?: unknown, unitId?: string }} [options]
   */
  constructor(message, code, options = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'SynchronikError';
    this.code = code;
    if (options.unitId !== undefined) this.unitId = options.unitId;
  }
}

/**
 * Error codes by the number the engine sends, and the codes of abort
 * reasons (ABORT records) by theirs, from the engine's own lists
 * (lib/generated/vocabulary.js, made from the engine's ErrorCode and
 * AbortReason), so they cannot fall behind it.
 */
/** @type {string[]} */
const ENGINE_CODES = [];
/** @type {string[]} */
const ABORT_CODES = [];
for (const { number, code } of ERROR_CODES) ENGINE_CODES[number] = code;
for (const { number, code } of ABORT_REASONS) ABORT_CODES[number] = code;

/** The message of an aborted attempt's signal reason, by its code (the engine's wording, `{id}` filled in). */
/** @type {Record<string, (id: unknown) => string>} */
const ABORT_MESSAGES = {};
for (const { code, message } of ABORT_REASONS) ABORT_MESSAGES[code] = (id) => message.split('{id}').join(String(id));

/**
 * The error an attempt's signal is aborted with, for abort reason number `reason`.
 * @param {number} reason
 * @param {string} unitId
 */
function abortReason(reason, unitId) {
  const code = ABORT_CODES[reason] || 'ERR_ABORTED';
  const message = ABORT_MESSAGES[code] ? ABORT_MESSAGES[code](unitId) : `worker "${unitId}" was aborted (${code})`;
  return new SynchronikError(message, code, { unitId });
}

/**
 * Describes a value for an error message: its type — or, when it has the
 * expected type (`sameType`) and only its value is wrong, the value itself.
 * @param {unknown} value
 * @returns {string}
 */
function describe(value, sameType = false) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (!sameType) return typeof value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    if (value === '') return 'empty string';
    return `string "${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  }
  return typeof value;
}

/**
 * What a run failed with, as an Error: Errors pass through; anything else a
 * `run` threw or rejected with is wrapped, with the value kept as `cause`.
 * @param {unknown} value
 * @param {string} unitId
 * @returns {Error}
 */
function toError(value, unitId) {
  if (isError(value)) return value;
  let shown;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    // A value that cannot be turned into text (a Proxy whose traps throw,
    // an object whose toString throws): say what kind of value it was.
    shown = `${typeof value} that cannot be converted to a string`;
  }
  return new SynchronikError(
    `worker "${unitId}" failed with a non-Error value: ${shown}`,
    'ERR_NON_ERROR_THROWN',
    { cause: value, unitId },
  );
}

/**
 * Whether a value is an Error. Never throws: `instanceof` on a Proxy runs
 * its getPrototypeOf trap, which may throw (such a value is not an Error).
 * @param {unknown} value
 * @returns {value is Error}
 */
function isError(value) {
  try {
    // An Error of another realm (a worker thread's, copied back by
    // structured clone into Node's own realm) is an Error too.
    return value instanceof Error || util.types.isNativeError(value);
  } catch {
    return false;
  }
}

/**
 * The message the engine records for a failure. Never throws.
 * @param {any} error
 * @returns {string}
 */
function messageOf(error) {
  try {
    const text = String(error && error.message !== undefined ? error.message : error);
    return typeof text === 'string' ? text : 'unknown error';
  } catch {
    return 'unknown error';
  }
}

/**
 * Turns an error thrown by the native engine ("ERR_CODE: message") into a
 * SynchronikError (or, with `Ctor` TypeError, a TypeError with that code);
 * anything else is returned as it is.
 * @param {any} err
 * @param {typeof SynchronikError | TypeErrorConstructor} [Ctor]
 * @returns {unknown}
 */
function fromNative(err, Ctor = SynchronikError) {
  const m = /^(ERR_[A-Z_]+): ([\s\S]*)$/.exec(String(err && err.message));
  if (!m) return err;
  if (Ctor === TypeError) {
    const e = /** @type {TypeError & { code?: string }} */ (new TypeError(m[2]));
    e.code = m[1];
    return e;
  }
  return new SynchronikError(m[2], m[1]);
}

/**
 * What a closed manager (or one being closed) answers every call with but lookups.
 * @param {string} method
 */
function closedError(method) {
  return new SynchronikError(`${method}: the manager is closed (close() was called); create a new manager`, 'ERR_CLOSED');
}

module.exports = { SynchronikError, ENGINE_CODES, ABORT_CODES, ABORT_MESSAGES, abortReason, describe, toError, messageOf, fromNative, isError, closedError };
