'use strict';

// Argument validation for the public API. Every message names the field,
// what was expected and what was given: `registerUnit: unit.id must be a
// non-empty string (got number)`.

const { describe } = require('./errors');
const { STATUSES, RUN_MODES, UNIT_SETTINGS } = require('./generated/vocabulary');

/** The JavaScript type an expectation is about, read from its wording. */
function expectedType(expected) {
  if (/number|integer|milliseconds/.test(expected)) return 'number';
  if (/string|one of '/.test(expected)) return 'string';
  return undefined;
}

function fail(method, field, expected, value) {
  const sameType = typeof value === expectedType(expected);
  return new TypeError(`${method}: ${field} must be ${expected} (got ${describe(value, sameType)})`);
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

function check(method, field, value, ok, expected) {
  if (!ok(value)) throw fail(method, field, expected, value);
}

const nonEmptyString = (v) => typeof v === 'string' && v.length > 0;

/**
 * The index of the first lone surrogate in `s`, or -1 when `s` is
 * well-formed UTF-16. Strings cross to the engine as UTF-8, where a lone
 * surrogate becomes U+FFFD: '\uD800' and '\uDBFF' would be one id there.
 */
const firstLoneSurrogate =
  typeof String.prototype.isWellFormed === 'function'
    ? (s) => (s.isWellFormed() ? -1 : s.search(/\p{Surrogate}/u))
    : (s) => s.search(/\p{Surrogate}/u); // Node 18: no isWellFormed

/**
 * Checks an id or name that crosses to the engine: a non-empty string of
 * well-formed UTF-16 (no lone surrogate).
 */
function checkName(method, field, value, expected = 'a non-empty string') {
  check(method, field, value, nonEmptyString, expected);
  const at = firstLoneSurrogate(value);
  if (at >= 0) {
    const unit = value.charCodeAt(at).toString(16).toUpperCase();
    throw new TypeError(
      `${method}: ${field} must be well-formed UTF-16, without lone surrogates (got a string with a lone surrogate \\u${unit} at index ${at})`,
    );
  }
}

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** The test of a setting's value, from its rule in the engine's vocabulary. */
function testOf(setting) {
  const { kind, min } = setting;
  switch (kind) {
    case 'string':
    case 'boolean':
    case 'function':
      return (v) => typeof v === kind;
    case 'object':
      return isObject;
    case 'array':
      return Array.isArray;
    case 'number':
      return setting.exclusive ? (v) => finite(v) && v > min : (v) => finite(v) && v >= min;
    case 'integer':
      return (v) => Number.isInteger(v) && v >= min;
    case 'number-or-function':
      return (v) => typeof v === 'function' || (finite(v) && v >= min);
    case 'one-of':
      return (v) => setting.values.includes(v);
    default:
      throw new Error(`lib/generated/vocabulary.js: setting ${setting.key} has a kind this facade does not know (${kind}); rebuild the package`);
  }
}

/** A setting's rule as applyRules takes it: [name, test, expectation]. */
const ruleOf = (setting) => [setting.key, testOf(setting), setting.expected];

/** The rule of the unit setting `key` (for options that take the same values, such as runWorkerTasks'). */
function settingRule(key) {
  return ruleOf(UNIT_SETTINGS.find((s) => s.key === key));
}

/** Field rules by group, in the engine's order: shared by registration and config updates. */
const rulesOf = (group) => UNIT_SETTINGS.filter((s) => s.group === group).map(ruleOf);
const COMMON_RULES = rulesOf('common');
const WORKER_RULES = rulesOf('worker');
const PROCESS_RULES = rulesOf('process');

/** The id a `dependsOn` entry names, or undefined when the entry is malformed. */
function dependencyId(entry) {
  if (typeof entry === 'string') return entry.length > 0 ? entry : undefined;
  if (isObject(entry) && nonEmptyString(entry.id) && (entry.condition === undefined || typeof entry.condition === 'function')) {
    return entry.id;
  }
  return undefined;
}

/**
 * Checks the entries of a worker's `dependsOn`; `known(id)` says whether an
 * id may be depended on (a worker of the same process).
 */
function validateDependencies(method, path, w, known, where) {
  if (w.dependsOn === undefined) return;
  w.dependsOn.forEach((entry, k) => {
    const id = dependencyId(entry);
    if (id === undefined) {
      throw fail(method, `${path}.dependsOn[${k}]`, 'a worker id or an object { id: string, condition?: function }', entry);
    }
    if (!known(id)) {
      throw new TypeError(`${method}: ${path}.dependsOn[${k}] must name ${where} (got "${id}", which is not)`);
    }
  });
}

function applyRules(method, path, obj, rules) {
  for (const [key, ok, expected] of rules) {
    if (obj[key] !== undefined) check(method, `${path}.${key}`, obj[key], ok, expected);
  }
}

/**
 * What keeps `obj` from taking new fields ('a frozen object', …), or
 * undefined when it can. A Proxy whose trap throws counts as extensible:
 * the writes it refuses later are reported, never thrown.
 */
function nonExtensible(obj) {
  try {
    if (Object.isExtensible(obj)) return undefined;
    if (Object.isFrozen(obj)) return 'a frozen object';
    if (Object.isSealed(obj)) return 'a sealed object';
    return 'a non-extensible object';
  } catch {
    return undefined;
  }
}

/**
 * The unit object is the engine's mirror (SPEC §2): status, enabled, meta,
 * lastRun, error and processId are written onto it, and the engine's
 * statistics into its meta. An object that cannot take them is refused.
 */
function checkMirror(method, path, unit) {
  const why = nonExtensible(unit);
  if (why !== undefined) {
    throw new TypeError(
      `${method}: ${path} must be an extensible object, since the engine writes status, enabled, meta, lastRun, error and processId onto it (got ${why})`,
    );
  }
  if (isObject(unit.meta)) {
    const metaWhy = nonExtensible(unit.meta);
    if (metaWhy !== undefined) {
      throw new TypeError(
        `${method}: ${path}.meta must be an extensible object, since the engine keeps runCount and execution times in it (got ${metaWhy})`,
      );
    }
  }
}

function validateWorker(method, path, w) {
  if (!isObject(w)) throw fail(method, path, 'a worker object', w);
  checkName(method, `${path}.id`, w.id);
  if (w.run === undefined) throw fail(method, `${path}.run`, 'a function', w.run);
  checkMirror(method, path, w);
  applyRules(method, path, w, COMMON_RULES);
  applyRules(method, path, w, WORKER_RULES);
  checkInterval(method, path, w.runOnInterval, w.intervalMs, `${path}.intervalMs is not set`);
  noticeMistypedKeys(method, path, w);
}

/** `runOnInterval: true` needs an `intervalMs`: without one the worker would never run. */
function checkInterval(method, path, runOnInterval, intervalMs, why) {
  if (runOnInterval === true && intervalMs === undefined) {
    throw new TypeError(`${method}: ${path}.runOnInterval is true but ${why} (an interval worker needs intervalMs)`);
  }
}

// --- options that look mistyped ---------------------------------------------

/** Everything a unit object may carry that means something to synchronik (the rest is the user's own). */
const UNIT_KEYS = [
  ...new Set([
    'id',
    'workers',
    'lastRun',
    'error',
    'processId',
    ...[...COMMON_RULES, ...WORKER_RULES, ...PROCESS_RULES].map(([key]) => key),
  ]),
];

/** Names people reach for that are none of ours, and what they meant. */
const UNIT_ALIASES = new Map([
  ['interval', 'intervalMs'],
  ['timeout', 'timeoutMs'],
  ['retries', 'maxRetries'],
  ['retry', 'maxRetries'],
  ['maxretry', 'maxRetries'],
  ['retrydelay', 'retryDelayMs'],
  ['mode', 'runMode'],
  ['dependencies', 'dependsOn'],
  ['deps', 'dependsOn'],
  ['isolationdelay', 'isolationDelayMs'],
]);

/** Damerau–Levenshtein distance (optimal string alignment) of two strings. */
function editDistance(a, b) {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = [];
  for (let i = 0; i < rows; i++) {
    d.push(new Array(cols).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The unit option (or other name of `keys`) `key` was most likely meant to
 * be, or undefined: one edit away (Damerau–Levenshtein, ignoring case), the
 * option without its `Ms` or `max` part, or a well-known other name for it.
 */
function mistypedUnitKey(key, keys = UNIT_KEYS) {
  const lower = key.toLowerCase();
  if (keys.includes(UNIT_ALIASES.get(lower))) return UNIT_ALIASES.get(lower);
  for (const known of keys) {
    const k = known.toLowerCase();
    if (k === lower || `${lower}ms` === k || `max${lower}` === k) return known;
    if (lower.length >= 4 && k.length >= 4 && editDistance(lower, k) <= 1) return known;
  }
  if (lower.length >= 4) {
    for (const [alias, known] of UNIT_ALIASES) if (alias.length >= 4 && keys.includes(known) && editDistance(lower, alias) <= 1) return known;
  }
  return undefined;
}

/** Keys already warned about: each is warned about once per process. */
const warnedKeys = new Set();

/** By list of known keys: the names already looked at (known, or no slip), up to a bound. */
const keysLookedAt = new WeakMap();
const MAX_KEYS_LOOKED_AT = 1000;

/**
 * Unit objects are the user's and may carry fields of their own; a key one
 * slip away from one of ours (`interval`, `runmode`, `retries`) is warned
 * about once, with what it probably meant.
 */
function noticeMistypedKeys(method, path, obj, keys = UNIT_KEYS) {
  let seen = keysLookedAt.get(keys);
  if (seen === undefined) keysLookedAt.set(keys, (seen = new Set(keys)));
  for (const key of Object.keys(obj)) {
    if (seen.has(key) || warnedKeys.has(key)) continue;
    // A pool may take a million tasks with the same fields of their own: each name is looked at once.
    if (seen.size < MAX_KEYS_LOOKED_AT) seen.add(key);
    const meant = mistypedUnitKey(key, keys);
    if (meant === undefined) continue;
    warnedKeys.add(key);
    process.emitWarning(
      `${method}: ${path}.${key} is not a synchronik option and has no effect; did you mean "${meant}"? (a field of your own with this name is kept as it is; this is said once per name)`,
      { code: 'SYNCHRONIK_UNKNOWN_OPTION' },
    );
  }
}

/** The known name nearest to `key` (ignoring case), when it is near enough to be a slip. */
function nearestName(key, known) {
  const lower = key.toLowerCase();
  if (known.includes(UNIT_ALIASES.get(lower))) return UNIT_ALIASES.get(lower);
  let best;
  let bestDistance = Infinity;
  for (const name of known) {
    const n = name.toLowerCase();
    const distance = n.includes(lower) || lower.includes(n) ? Math.abs(n.length - lower.length) : editDistance(lower, n);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Refuses keys of an options object that are not options (the package's
 * own objects, unlike units, have no room for fields of the user's).
 */
function refuseUnknownKeys(method, path, obj, known) {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = nearestName(key, known);
    throw new TypeError(
      near !== undefined
        ? `${method}: ${path}.${key} is not an option; did you mean "${near}"?`
        : `${method}: ${path}.${key} is not an option (the options are ${known.join(', ')})`,
    );
  }
}

/**
 * Checks the keys of an object the package takes against the `known` ones.
 * mode 'refuse': an option bag that exists only for the call throws a
 * TypeError on any other key, as createSynchronikManager's options do.
 * mode 'warn': an object that is kept and handed back, and so may carry
 * fields of the user's own (a pool task, like a unit), gets a process
 * warning SYNCHRONIK_UNKNOWN_OPTION, once per name, for a key one slip
 * away from a known one.
 */
function checkKnownKeys(method, path, obj, known, mode) {
  if (mode === 'refuse') refuseUnknownKeys(method, path, obj, known);
  else noticeMistypedKeys(method, path, obj, known);
}

/** The statuses a unit may be registered with. */
const REGISTRATION_STATUSES = STATUSES.filter((s) => s !== 'running');

/**
 * A unit is registered at rest: one registered 'running' would say so with
 * nothing running it. The object the manager already holds for that id
 * (`isCurrent`) is exempt: its status is the engine's, and registering it
 * again ends its run first.
 */
function checkRegistrationStatus(method, path, unit, isCurrent) {
  if (unit.status !== 'running' || isCurrent(unit)) return;
  const allowed = REGISTRATION_STATUSES.map((s) => `'${s}'`).join(', ');
  throw fail(method, `${path}.status`, `one of ${allowed} when registering; nothing would run a unit registered as 'running'`, unit.status);
}

/**
 * Validates a unit for registration; returns 'worker' or 'process'. Throws a
 * TypeError naming the first bad field. `isCurrent(obj)` says whether `obj`
 * is the object already registered under its id.
 */
function validateUnit(method, unit, isRegistered = () => false, isCurrent = () => false) {
  if (!isObject(unit)) throw fail(method, 'unit', 'an object', unit);
  checkName(method, 'unit.id', unit.id);
  if (unit.workers === undefined) {
    if (unit.run === undefined) {
      throw fail(method, 'unit.run', 'a function (a worker) — or give unit.workers (a process)', unit.run);
    }
    validateWorker(method, 'unit', unit);
    checkRegistrationStatus(method, 'unit', unit, isCurrent);
    validateDependencies(method, 'unit', unit, isRegistered, 'a registered unit');
    return 'worker';
  }
  if (!Array.isArray(unit.workers)) throw fail(method, 'unit.workers', 'an array of workers', unit.workers);
  checkMirror(method, 'unit', unit);
  applyRules(method, 'unit', unit, COMMON_RULES);
  applyRules(method, 'unit', unit, PROCESS_RULES);
  checkRegistrationStatus(method, 'unit', unit, isCurrent);
  noticeMistypedKeys(method, 'unit', unit);
  const seen = new Set([unit.id]);
  unit.workers.forEach((w, i) => {
    validateWorker(method, `unit.workers[${i}]`, w);
    checkRegistrationStatus(method, `unit.workers[${i}]`, w, isCurrent);
    if (seen.has(w.id)) {
      throw new TypeError(
        `${method}: unit.workers[${i}].id must be unique within the process (got "${w.id}" twice)`,
      );
    }
    seen.add(w.id);
  });
  const siblings = new Set(unit.workers.map((w) => w.id));
  unit.workers.forEach((w, i) => {
    validateDependencies(method, `unit.workers[${i}]`, w, (id) => siblings.has(id), `a worker of process "${unit.id}"`);
  });
  return 'process';
}

/**
 * Refuses an own `__proto__` key (what JSON.parse makes of `"__proto__"`):
 * copied onto an object with Object.assign or `obj[key] = value`, it would
 * replace that object's prototype instead of setting a field.
 */
function refuseProtoKey(method, path, obj) {
  if (Object.prototype.hasOwnProperty.call(obj, '__proto__')) {
    throw new TypeError(
      `${method}: ${path}.__proto__ is not a field that can be set (got an own "__proto__" key, as JSON.parse makes; it would replace the object's prototype)`,
    );
  }
}

/**
 * Sets `obj[key]` as an own data property: a key `__proto__` in the user's
 * data becomes a field of the copy, never its prototype.
 */
function setField(obj, key, value) {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** Every setting a config change may carry. */
const SETTINGS = new Set(
  [...COMMON_RULES, ...WORKER_RULES, ...PROCESS_RULES].map(([key]) => key).filter((k) => k !== 'status'),
);

/** Validates a config change for a unit of the given kind. */
function validatePatch(method, kind, patch, path = 'config') {
  if (!isObject(patch)) throw fail(method, path, 'an object', patch);
  refuseProtoKey(method, path, patch);
  if (patch.id !== undefined) throw new TypeError(`${method}: ${path}.id cannot be changed (got ${describe(patch.id)})`);
  if (patch.dependsOn !== undefined) {
    throw new TypeError(`${method}: ${path}.dependsOn cannot be changed; register the process again (got ${describe(patch.dependsOn)})`);
  }
  applyRules(method, path, patch, COMMON_RULES);
  noticeMistypedKeys(method, path, patch);
  if (kind === 'worker') applyRules(method, path, patch, WORKER_RULES);
  else {
    applyRules(method, path, patch, PROCESS_RULES);
    if (patch.workers !== undefined) {
      throw new TypeError(`${method}: ${path}.workers cannot be changed; register the process again (got ${describe(patch.workers)})`);
    }
  }
}

/**
 * After a config change of a worker, `runOnInterval: true` still needs an
 * `intervalMs` (from the change or the worker).
 */
function validatePatchedInterval(method, unit, patch, path = 'config') {
  const has = (key) => Object.prototype.hasOwnProperty.call(patch, key);
  const runOnInterval = has('runOnInterval') ? patch.runOnInterval : unit.runOnInterval;
  const intervalMs = has('intervalMs') ? patch.intervalMs : unit.intervalMs;
  if (runOnInterval !== true || intervalMs !== undefined) return;
  if (has('runOnInterval')) {
    checkInterval(method, path, true, undefined, 'the worker has no intervalMs (give it one in the same change)');
  }
  throw new TypeError(`${method}: ${path}.intervalMs cannot be removed while the worker has runOnInterval: true (an interval worker needs intervalMs)`);
}

function validateId(method, id, field = 'id') {
  checkName(method, field, id);
}

const [, isStatus, statusExpected] = settingRule('status');

function validateStatus(method, status) {
  check(method, 'status', status, isStatus, statusExpected);
}

module.exports = {
  dependencyId,
  SETTINGS,
  STATUSES,
  RUN_MODES,
  settingRule,
  isObject,
  fail,
  check,
  validateUnit,
  validatePatch,
  validateId,
  checkName,
  refuseUnknownKeys,
  checkKnownKeys,
  validatePatchedInterval,
  mistypedUnitKey,
  refuseProtoKey,
  setField,
  firstLoneSurrogate,
  validateStatus,
};
