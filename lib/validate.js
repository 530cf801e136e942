// @ts-check
'use strict';

// Argument validation for the public API. Every message names the field,
// what was expected and what was given: `registerUnit: unit.id must be a
// non-empty string (got number)`.

const { describe } = require('./errors');
const { STATUSES, RUN_MODES, UNIT_SETTINGS, DEFAULTS } = require('./generated/vocabulary');

/**
 * @typedef {import('./generated/vocabulary').UnitSetting} UnitSetting
 * @typedef {import('./native').RegistrationProblem} RegistrationProblem
 * @typedef {Record<string, any>} Obj an object of the user's, read field by field
 * @typedef {(value: any) => boolean} Test
 * @typedef {[key: string, ok: Test, expected: string]} Rule a field's name, its test and what it expects
 */

/**
 * The JavaScript type an expectation is about, read from its wording.
 * @param {string} expected
 * @returns {'number' | 'string' | undefined}
 */
function expectedType(expected) {
  if (/number|integer|milliseconds/.test(expected)) return 'number';
  if (/string|one of '/.test(expected)) return 'string';
  return undefined;
}

/**
 * @param {string} method
 * @param {string} field
 * @param {string} expected
 * @param {unknown} value
 * @returns {TypeError}
 */
function fail(method, field, expected, value) {
  const sameType = typeof value === expectedType(expected);
  return new TypeError(`${method}: ${field} must be ${expected} (got ${describe(value, sameType)})`);
}

/** Whether `v` is a plain-looking object (not null, not an array). @type {(v: unknown) => v is Obj} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasOwn = (/** @type {object} */ o, /** @type {string} */ key) => Object.prototype.hasOwnProperty.call(o, key);

/**
 * @param {string} method
 * @param {string} field
 * @param {unknown} value
 * @param {Test} ok
 * @param {string} expected
 */
function check(method, field, value, ok, expected) {
  if (!ok(value)) throw fail(method, field, expected, value);
}

/** @type {(v: unknown) => v is string} */
const nonEmptyString = (v) => typeof v === 'string' && v.length > 0;

/**
 * The index of the first lone surrogate in `s`, or -1 when `s` is
 * well-formed UTF-16. Strings cross to the engine as UTF-8, where a lone
 * surrogate becomes U+FFFD: '\uD800' and '\uDBFF' would be one id there.
 */
/** @type {(s: string) => number} */
const firstLoneSurrogate =
  typeof (/** @type {any} */ (String.prototype).isWellFormed) === 'function'
    ? (s) => (/** @type {any} */ (s).isWellFormed() ? -1 : s.search(/\p{Surrogate}/u))
    : (s) => s.search(/\p{Surrogate}/u); // Node 18: no isWellFormed

/**
 * Checks an id or name that crosses to the engine: a non-empty string of
 * well-formed UTF-16 (no lone surrogate) without NUL. Ids and names are
 * kept by every store, and PostgreSQL's text cannot hold U+0000: a unit
 * that runs without a store must run with one too.
 * @param {string} method
 * @param {string} field
 * @param {unknown} value
 * @param {string} [expected]
 * @returns {asserts value is string}
 */
function checkName(method, field, value, expected = 'a non-empty string') {
  if (!nonEmptyString(value)) throw fail(method, field, expected, value);
  const at = firstLoneSurrogate(value);
  if (at >= 0) {
    const unit = value.charCodeAt(at).toString(16).toUpperCase();
    throw new TypeError(
      `${method}: ${field} must be well-formed UTF-16, without lone surrogates (got a string with a lone surrogate \\u${unit} at index ${at})`,
    );
  }
  const nul = value.indexOf('\0');
  if (nul >= 0) {
    throw new TypeError(`${method}: ${field} must not contain NUL (\\u0000), which a store cannot keep (got a string with NUL at index ${nul})`);
  }
}

/** @type {(v: unknown) => v is number} */
const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/**
 * The test of a setting's value, from its rule in the engine's vocabulary.
 * @param {UnitSetting} setting
 * @returns {Test}
 */
function testOf(setting) {
  const { kind } = setting;
  const min = setting.min === undefined ? -Infinity : setting.min;
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
      return (v) => (setting.values || []).includes(v);
    default:
      throw new Error(`lib/generated/vocabulary.js: setting ${setting.key} has a kind this facade does not know (${kind}); rebuild the package`);
  }
}

/** A setting's rule as applyRules takes it: [name, test, expectation]. */
/** @type {(setting: UnitSetting) => Rule} */
const ruleOf = (setting) => [setting.key, testOf(setting), setting.expected];

/**
 * The rule of the unit setting `key` (for options that take the same values, such as runWorkerTasks').
 * @param {string} key
 * @returns {Rule}
 */
function settingRule(key) {
  const setting = UNIT_SETTINGS.find((s) => s.key === key);
  if (setting === undefined) throw new Error(`lib/generated/vocabulary.js has no unit setting ${key}; rebuild the package`);
  return ruleOf(setting);
}

/**
 * How each unit setting is read from a unit or a config change: a function
 * of its own per key, so that each read is a named load that V8 caches for
 * the object's shape. (One loop reading `obj[key]` for key after key made
 * that one site megamorphic: about 100 instructions a read, 18 reads a
 * registration.) A setting missing here is read by key (see readerOf); the
 * vocabulary test asserts there is none.
 * @type {Readonly<Record<string, (obj: Obj) => unknown>>}
 */
const READERS = Object.freeze({
  name: (o) => o.name,
  description: (o) => o.description,
  enabled: (o) => o.enabled,
  status: (o) => o.status,
  meta: (o) => o.meta,
  onStart: (o) => o.onStart,
  onComplete: (o) => o.onComplete,
  onError: (o) => o.onError,
  run: (o) => o.run,
  intervalMs: (o) => o.intervalMs,
  runOnInterval: (o) => o.runOnInterval,
  maxRuns: (o) => o.maxRuns,
  timeoutMs: (o) => o.timeoutMs,
  maxRetries: (o) => o.maxRetries,
  retryDelayMs: (o) => o.retryDelayMs,
  overlap: (o) => o.overlap,
  dependsOn: (o) => o.dependsOn,
  schedule: (o) => o.schedule,
  runMode: (o) => o.runMode,
  batchSize: (o) => o.batchSize,
  isolationDelayMs: (o) => o.isolationDelayMs,
  concurrency: (o) => o.concurrency,
});

/**
 * The reader of setting `key` (see READERS).
 * @param {string} key
 * @returns {(obj: Obj) => unknown}
 */
const readerOf = (key) => (Object.prototype.hasOwnProperty.call(READERS, key) ? READERS[key] : (o) => o[key]);

/**
 * @typedef {{ key: string, ok: Test, expected: string, read: (obj: Obj) => unknown }} FieldRule
 *   a rule as applyRules takes it: the field's name, test and expectation, and its reader
 */

/** Field rules by group, in the engine's order: shared by registration and config updates. */
/** @type {(group: UnitSetting['group']) => Rule[]} */
const rulesOf = (group) => UNIT_SETTINGS.filter((s) => s.group === group).map(ruleOf);
const COMMON_RULES = rulesOf('common');
const WORKER_RULES = rulesOf('worker');
const PROCESS_RULES = rulesOf('process');
/** @type {(rules: Rule[]) => FieldRule[]} */
const fieldRules = (rules) => rules.map(([key, ok, expected]) => ({ key, ok, expected, read: readerOf(key) }));
const COMMON_FIELDS = fieldRules(COMMON_RULES);
const WORKER_FIELDS = fieldRules(WORKER_RULES);
const PROCESS_FIELDS = fieldRules(PROCESS_RULES);

/**
 * The id a `dependsOn` entry names, or undefined when the entry is malformed.
 * @param {unknown} entry
 * @returns {string | undefined}
 */
function dependencyId(entry) {
  if (typeof entry === 'string') return entry.length > 0 ? entry : undefined;
  if (isObject(entry) && nonEmptyString(entry.id) && (entry.condition === undefined || typeof entry.condition === 'function')) {
    return entry.id;
  }
  return undefined;
}

/**
 * Checks the form of the entries of a worker's `dependsOn` (whether the
 * ids they name are known is the engine's check: see registrationError).
 * @param {string} method
 * @param {string} path
 * @param {Obj} w
 */
function validateDependencies(method, path, w) {
  if (w.dependsOn === undefined) return;
  w.dependsOn.forEach((/** @type {unknown} */ entry, /** @type {number} */ k) => {
    if (dependencyId(entry) === undefined) {
      throw fail(method, `${path}.dependsOn[${k}]`, 'a worker id or an object { id: string, condition?: function }', entry);
    }
  });
}

/**
 * The TypeError for what the engine's registration check found wrong with
 * `unit` (a problem of native checkWorker / checkProcess): a worker id that
 * a process repeats, or a dependency on an id that is not a worker of the
 * process (or, for a worker on its own, not a registered unit). The engine
 * is the one place these are checked; the facade names the field.
 * @param {string} method
 * @param {Obj} unit
 * @param {RegistrationProblem} problem
 * @returns {TypeError}
 */
function registrationError(method, unit, problem) {
  const { workerIndex, dependency, dependencyIndex } = problem;
  const path = workerIndex == null ? 'unit' : `unit.workers[${workerIndex}]`;
  if (dependency == null) {
    return new TypeError(`${method}: ${path}.id must be unique within the process (got "${problem.worker}" twice)`);
  }
  const where = workerIndex == null ? 'a registered unit' : `a worker of process "${unit.id}"`;
  return new TypeError(`${method}: ${path}.dependsOn[${dependencyIndex}] must name ${where} (got "${dependency}", which is not)`);
}

/**
 * Checks every field of `obj` that `rules` name and `obj` has (its own or
 * inherited); each is read once.
 * @param {string} method
 * @param {string} path
 * @param {Obj} obj
 * @param {readonly FieldRule[]} rules
 */
function applyRules(method, path, obj, rules) {
  for (let k = 0; k < rules.length; k++) {
    const rule = rules[k];
    const value = rule.read(obj);
    if (value !== undefined && !rule.ok(value)) throw fail(method, `${path}.${rule.key}`, rule.expected, value);
  }
}

/**
 * What keeps `obj` from taking new fields ('a frozen object', …), or
 * undefined when it can. A Proxy whose trap throws counts as extensible:
 * the writes it refuses later are reported, never thrown.
 * @param {object} obj
 * @returns {string | undefined}
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
 * @param {string} method
 * @param {string} path
 * @param {Obj} unit
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

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} w
 */
function validateWorker(method, path, w) {
  if (!isObject(w)) throw fail(method, path, 'a worker object', w);
  // A standalone worker's id is checked by validateUnit already (the
  // path's string is made for workers of a process only).
  if (path !== 'unit') checkName(method, `${path}.id`, w.id);
  if (w.threadPool !== undefined) {
    // Runs on a thread pool of the manager: its `handler` with its `payload`.
    if (typeof w.threadPool !== 'string' || w.threadPool === '') throw fail(method, `${path}.threadPool`, 'the name of a thread pool', w.threadPool);
    if (w.run !== undefined) throw fail(method, `${path}.run`, 'left out when threadPool is set (the thread pool runs the handler)', w.run);
    if (w.handler !== undefined && (typeof w.handler !== 'string' || w.handler === '')) throw fail(method, `${path}.handler`, 'the name of a handler', w.handler);
  } else if (w.run === undefined) throw fail(method, `${path}.run`, 'a function (or threadPool and handler)', w.run);
  checkMirror(method, path, w);
  applyRules(method, path, w, COMMON_FIELDS);
  applyRules(method, path, w, WORKER_FIELDS);
  // A schedule first: with one, runOnInterval is the mistake, not a missing intervalMs.
  if (w.schedule !== undefined) checkScheduleAlone(method, path, w.intervalMs, w.runOnInterval, w.schedule);
  checkInterval(method, path, w.runOnInterval, w.intervalMs);
  noticeMistypedKeys(method, path, w);
}

/**
 * A worker runs on an interval or on a calendar schedule, not both; the
 * schedule itself is checked by calendar.js.
 * @param {string} method
 * @param {string} path
 * @param {unknown} intervalMs
 * @param {unknown} runOnInterval
 * @param {unknown} schedule
 */
function checkScheduleAlone(method, path, intervalMs, runOnInterval, schedule) {
  if (intervalMs !== undefined && intervalMs !== null) {
    throw fail(method, `${path}.intervalMs`, 'left out when schedule is set (a worker runs on an interval or on a schedule)', intervalMs);
  }
  if (runOnInterval === true) throw fail(method, `${path}.runOnInterval`, 'left out when schedule is set (a worker runs on an interval or on a schedule)', runOnInterval);
  // Loaded at the first schedule: calendar.js uses this module.
  if (calendar === null) calendar = require('./calendar');
  const spec = calendar.scheduleSpec(method, path === 'unit' ? 'unit.schedule' : `${path}.schedule`, schedule);
  checkedSchedule = schedule;
  checkedSpec = spec;
}

/** @type {typeof import('./calendar') | null} */
let calendar = null;
/** The schedule checkScheduleAlone checked last, and the engine's spec made of it. */
/** @type {unknown} */
let checkedSchedule;
/** @type {import('./native').JsSchedule | undefined} */
let checkedSpec;

/**
 * The spec made of `schedule` when it was checked, if it is the schedule
 * checked last (the registration that follows a check converts the
 * schedule once, not again); undefined otherwise. Taken once.
 * @param {unknown} schedule
 * @returns {import('./native').JsSchedule | undefined}
 */
function checkedScheduleSpec(schedule) {
  const spec = schedule === checkedSchedule ? checkedSpec : undefined;
  checkedSchedule = checkedSpec = undefined;
  return spec;
}

/**
 * `runOnInterval: true` needs an `intervalMs`: without one the worker would never run.
 * @param {string} method
 * @param {string} path
 * @param {unknown} runOnInterval
 * @param {unknown} intervalMs
 * @param {string} [why] what is missing (`<path>.intervalMs is not set` when left out: made only for the error)
 */
function checkInterval(method, path, runOnInterval, intervalMs, why) {
  if (runOnInterval === true && intervalMs === undefined) {
    throw new TypeError(`${method}: ${path}.runOnInterval is true but ${why ?? `${path}.intervalMs is not set`} (an interval worker needs intervalMs)`);
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
    'threadPool',
    'handler',
    'payload',
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

/**
 * Damerau–Levenshtein distance (optimal string alignment) of two strings.
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
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
 * @param {string} key
 * @param {readonly string[]} [keys]
 * @returns {string | undefined}
 */
function mistypedUnitKey(key, keys = UNIT_KEYS) {
  const lower = key.toLowerCase();
  const alias = UNIT_ALIASES.get(lower);
  if (alias !== undefined && keys.includes(alias)) return alias;
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
 * @param {string} method
 * @param {string} path
 * @param {object} obj
 * @param {readonly string[]} [keys]
 */
function noticeMistypedKeys(method, path, obj, keys = UNIT_KEYS) {
  let seen = keysLookedAt.get(keys);
  if (seen === undefined) keysLookedAt.set(keys, (seen = new Set(keys)));
  // for…in rather than Object.keys: V8 walks the keys its layout caches,
  // where Object.keys made an array for each object looked at.
  for (const key in obj) {
    if (!hasOwn(obj, key) || seen.has(key) || warnedKeys.has(key)) continue;
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

/**
 * The known name nearest to `key` (ignoring case), when it is near enough to be a slip.
 * @param {string} key
 * @param {readonly string[]} known
 * @returns {string | undefined}
 */
function nearestName(key, known) {
  const lower = key.toLowerCase();
  const alias = UNIT_ALIASES.get(lower);
  if (alias !== undefined && known.includes(alias)) return alias;
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
 * @param {string} method
 * @param {string} path
 * @param {object} obj
 * @param {readonly string[]} known
 */
function refuseUnknownKeys(method, path, obj, known) {
  // for…in rather than Object.keys, which made an array for each object.
  for (const key in obj) {
    if (!hasOwn(obj, key) || known.includes(key)) continue;
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
 * @param {string} method
 * @param {string} path
 * @param {object} obj
 * @param {readonly string[]} known
 * @param {'refuse' | 'warn'} mode
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
 * @param {string} method
 * @param {string} path
 * @param {Obj} unit
 * @param {(unit: Obj) => boolean} isCurrent
 */
function checkRegistrationStatus(method, path, unit, isCurrent) {
  if (unit.status !== 'running' || isCurrent(unit)) return;
  const allowed = REGISTRATION_STATUSES.map((s) => `'${s}'`).join(', ');
  throw fail(method, `${path}.status`, `one of ${allowed} when registering; nothing would run a unit registered as 'running'`, unit.status);
}

/**
 * The `isCurrent` of a check with no registered objects. (A module-level
 * function: a closure in the parameter list would make every call
 * allocate a context for the parameters, about 48 bytes.)
 * @returns {boolean}
 */
const notCurrent = () => false;

/**
 * Validates a unit for registration; returns 'worker' or 'process'. Throws a
 * TypeError naming the first bad field. `isCurrent(obj)` says whether `obj`
 * is the object already registered under its id. What depends on the
 * units around it (repeated worker ids, dependencies on unknown ids) is
 * the engine's check (see registrationError).
 * @param {string} method
 * @param {unknown} unit
 * @param {(unit: Obj) => boolean} [isCurrent]
 * @returns {'worker' | 'process'}
 */
function validateUnit(method, unit, isCurrent = notCurrent) {
  if (!isObject(unit)) throw fail(method, 'unit', 'an object', unit);
  checkName(method, 'unit.id', unit.id);
  if (unit.workers === undefined) {
    if (unit.run === undefined && unit.threadPool === undefined) {
      throw fail(method, 'unit.run', 'a function (a worker) — or give unit.threadPool (a worker on a thread pool) or unit.workers (a process)', unit.run);
    }
    validateWorker(method, 'unit', unit);
    checkRegistrationStatus(method, 'unit', unit, isCurrent);
    validateDependencies(method, 'unit', unit);
    return 'worker';
  }
  if (!Array.isArray(unit.workers)) throw fail(method, 'unit.workers', 'an array of workers', unit.workers);
  checkMirror(method, 'unit', unit);
  applyRules(method, 'unit', unit, COMMON_FIELDS);
  applyRules(method, 'unit', unit, PROCESS_FIELDS);
  checkRegistrationStatus(method, 'unit', unit, isCurrent);
  noticeMistypedKeys(method, 'unit', unit);
  unit.workers.forEach((w, i) => {
    validateWorker(method, `unit.workers[${i}]`, w);
    checkRegistrationStatus(method, `unit.workers[${i}]`, w, isCurrent);
  });
  unit.workers.forEach((w, i) => validateDependencies(method, `unit.workers[${i}]`, w));
  return 'process';
}

/**
 * Refuses an own `__proto__` key (what JSON.parse makes of `"__proto__"`):
 * copied onto an object with Object.assign or `obj[key] = value`, it would
 * replace that object's prototype instead of setting a field.
 * @param {string} method
 * @param {string} path
 * @param {object} obj
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
 * @param {Obj} obj
 * @param {string} key
 * @param {unknown} value
 */
function setField(obj, key, value) {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** Every setting a config change may carry. */
const SETTINGS = new Set(
  [...COMMON_RULES, ...WORKER_RULES, ...PROCESS_RULES].map(([key]) => key).filter((k) => k !== 'status'),
);

/**
 * Validates a config change for a unit of the given kind.
 * @param {string} method
 * @param {string | undefined} kind 'worker' or 'process'
 * @param {unknown} patch
 * @param {string} [path]
 */
function validatePatch(method, kind, patch, path = 'config') {
  if (!isObject(patch)) throw fail(method, path, 'an object', patch);
  refuseProtoKey(method, path, patch);
  if (patch.id !== undefined) throw new TypeError(`${method}: ${path}.id cannot be changed (got ${describe(patch.id)})`);
  if (patch.dependsOn !== undefined) {
    throw new TypeError(`${method}: ${path}.dependsOn cannot be changed; register the process again (got ${describe(patch.dependsOn)})`);
  }
  applyRules(method, path, patch, COMMON_FIELDS);
  noticeMistypedKeys(method, path, patch);
  if (kind === 'worker') applyRules(method, path, patch, WORKER_FIELDS);
  else {
    applyRules(method, path, patch, PROCESS_FIELDS);
    if (patch.workers !== undefined) {
      throw new TypeError(`${method}: ${path}.workers cannot be changed; register the process again (got ${describe(patch.workers)})`);
    }
  }
}

/**
 * After a config change of a worker, `runOnInterval: true` still needs an
 * `intervalMs` (from the change or the worker).
 * @param {string} method
 * @param {Obj} unit
 * @param {Obj} patch
 * @param {string} [path]
 */
function validatePatchedInterval(method, unit, patch, path = 'config') {
  const has = (/** @type {string} */ key) => Object.prototype.hasOwnProperty.call(patch, key);
  const runOnInterval = has('runOnInterval') ? patch.runOnInterval : unit.runOnInterval;
  const intervalMs = has('intervalMs') ? patch.intervalMs : unit.intervalMs;
  const schedule = has('schedule') ? patch.schedule : unit.schedule;
  if (schedule !== undefined && schedule !== null) {
    // The schedule after the change, checked whole (a new one, or the interval settings against the old one).
    checkScheduleAlone(method, has('schedule') ? path : 'the worker', has('intervalMs') || !has('schedule') ? intervalMs : undefined, runOnInterval, schedule);
  }
  if (runOnInterval !== true || intervalMs !== undefined) return;
  if (has('runOnInterval')) {
    checkInterval(method, path, true, undefined, 'the worker has no intervalMs (give it one in the same change)');
  }
  throw new TypeError(`${method}: ${path}.intervalMs cannot be removed while the worker has runOnInterval: true (an interval worker needs intervalMs)`);
}

/**
 * @param {string} method
 * @param {unknown} id
 * @param {string} [field]
 * @returns {asserts id is string}
 */
function validateId(method, id, field = 'id') {
  checkName(method, field, id);
}

const [, isStatus, statusExpected] = settingRule('status');

/**
 * @param {string} method
 * @param {unknown} status
 */
function validateStatus(method, status) {
  check(method, 'status', status, isStatus, statusExpected);
}

// --- options of the manager and its methods ----------------------------------

const MANAGER = 'createSynchronikManager';

/** The options of createSynchronikManager that are a number of milliseconds greater than 0. */
const MANAGER_INTERVALS = ['loopInterval', 'watcherInterval', 'stallThresholdMs', 'statsEmissionIntervalMs', 'autoUnpauseMs', 'releaseIdleAfterMs'];

/** Every option createSynchronikManager takes. */
const MANAGER_OPTIONS = [...MANAGER_INTERVALS, 'clock', 'storage', 'metrics'];

/**
 * Checks the options of createSynchronikManager: an object of known keys,
 * its intervals positive finite numbers; `clock` and `storage` as
 * validateClockOption and validateStorageOption say.
 * @param {unknown} options
 */
function validateManagerOptions(options) {
  if (!isObject(options)) throw fail(MANAGER, 'options', 'an object', options);
  refuseUnknownKeys(MANAGER, 'options', options, MANAGER_OPTIONS);
  for (const key of MANAGER_INTERVALS) {
    if (options[key] !== undefined) {
      check(MANAGER, `options.${key}`, options[key], (x) => finite(x) && x > 0, 'a positive finite number of milliseconds');
    }
  }
  validateClockOption(options.clock);
  if (options.storage !== undefined) validateStorageOption(options.storage);
  if (options.metrics !== undefined) validateMetricsOption(options.metrics);
}

/**
 * Checks `options.metrics`: `{ unitLabels?: boolean }`.
 * @param {unknown} metrics
 */
function validateMetricsOption(metrics) {
  if (!isObject(metrics)) throw fail(MANAGER, 'options.metrics', 'an object like { unitLabels: true }', metrics);
  refuseUnknownKeys(MANAGER, 'options.metrics', metrics, ['unitLabels']);
  if (metrics.unitLabels !== undefined) check(MANAGER, 'options.metrics.unitLabels', metrics.unitLabels, (x) => typeof x === 'boolean', 'a boolean');
}

/** The forms of an ISO 8601 date that `Date.parse` reads: `2024-03-01`, `2024-03-01T12:00:00.000Z`, … */
const ISO_DATE = /^(?:[+-]\d{6}|\d{4})(?:-\d{2}(?:-\d{2})?)?(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * The instant `now` names, in epoch milliseconds: a Date, an ISO date
 * string or epoch milliseconds within the range of a Date; NaN for
 * anything else.
 * @param {unknown} now
 * @returns {number}
 */
function instantMs(now) {
  if (now instanceof Date) return now.getTime();
  if (typeof now === 'string') return ISO_DATE.test(now) ? Date.parse(now) : NaN;
  // The range of a Date: ±8.64e15 ms around the epoch.
  if (typeof now === 'number') return new Date(now).getTime();
  return NaN;
}

/**
 * Checks `options.clock`: `'system'` (default), `'manual'`, or
 * `{ manual: true, now?: Date | ISO string | epoch ms }` for a manual clock
 * that starts at a given instant (read with instantMs).
 * @param {unknown} clock
 */
function validateClockOption(clock) {
  if (clock === undefined || clock === 'system' || clock === 'manual') return;
  if (!isObject(clock)) {
    throw fail(MANAGER, 'options.clock', "one of 'system', 'manual' or an object { manual: true, now? }", clock);
  }
  refuseUnknownKeys(MANAGER, 'options.clock', clock, ['manual', 'now']);
  if (clock.manual !== true) {
    throw fail(MANAGER, 'options.clock.manual', 'true (only the manual clock can start at a given instant)', clock.manual);
  }
  const now = clock.now;
  if (now === undefined || !Number.isNaN(instantMs(now))) return;
  let got;
  if (now instanceof Date) got = 'an invalid Date';
  else got = describe(now, typeof now === 'string' || typeof now === 'number');
  throw new TypeError(`${MANAGER}: options.clock.now must be a Date, an ISO date string or epoch milliseconds (got ${got})`);
}

/**
 * Checks the `ms` of clock.advance (the engine then says whether the clock may go that far).
 * @param {unknown} ms
 */
function validateAdvance(ms) {
  if (!(typeof ms === 'number' && ms >= 0 && Number.isFinite(ms))) {
    throw fail('clock.advance', 'ms', 'a non-negative finite number of milliseconds', ms);
  }
}

/**
 * Checks `options.storage`: `{ sqlite: path, history? }` or
 * `{ postgres: connectionString | { host?, port?, user?, password?, database?, ssl? },
 * schema?, history?, leaseMs?, pollMs?, connectTimeoutMs? }`, with
 * `history?: boolean | { maxAgeMs?, maxRows? }`.
 * @param {unknown} storage
 */
function validateStorageOption(storage) {
  const like = 'an object like { sqlite: path } or { postgres: connectionString }';
  if (!isObject(storage)) throw fail(MANAGER, 'options.storage', like, storage);
  const postgres = storage.postgres !== undefined;
  if (postgres && storage.sqlite !== undefined) {
    throw new TypeError(`${MANAGER}: options.storage must name one store, sqlite or postgres (got both)`);
  }
  const allowed = postgres ? ['postgres', 'schema', 'history', 'leaseMs', 'pollMs', 'connectTimeoutMs', 'prefetch'] : ['sqlite', 'history'];
  for (const key of Object.keys(storage)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${MANAGER}: options.storage.${key} is not an option (expected ${allowed.join(', ')})`);
    }
  }
  if (postgres) validatePostgresOption(storage);
  else checkName(MANAGER, 'options.storage.sqlite', storage.sqlite, 'a non-empty string (the database file)');
  const h = storage.history;
  if (h === undefined || h === true || h === false) return;
  if (!isObject(h)) throw fail(MANAGER, 'options.storage.history', 'false or an object { maxAgeMs?, maxRows? }', h);
  if (h.maxAgeMs !== undefined) {
    check(MANAGER, 'options.storage.history.maxAgeMs', h.maxAgeMs, (x) => typeof x === 'number' && x > 0 && !Number.isNaN(x), 'a positive number of milliseconds (Infinity = no limit)');
  }
  if (h.maxRows !== undefined) {
    check(MANAGER, 'options.storage.history.maxRows', h.maxRows, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  }
}

/**
 * The PostgreSQL parts of `options.storage` (see validateStorageOption).
 * Also used by migratePostgres (`method` names the caller).
 * @param {Record<string, any>} storage
 * @param {string} [method]
 * @param {string} [field]
 */
function validatePostgresOption(storage, method = MANAGER, field = 'options.storage') {
  const pg = storage.postgres;
  if (typeof pg === 'string') {
    checkName(method, `${field}.postgres`, pg, 'a non-empty connection string or an object { host, port?, user?, password?, database?, ssl? }');
  } else if (isObject(pg)) {
    const keys = ['host', 'port', 'user', 'password', 'database', 'ssl'];
    for (const key of Object.keys(pg)) {
      if (!keys.includes(key)) throw new TypeError(`${method}: ${field}.postgres.${key} is not an option (expected ${keys.join(', ')})`);
    }
    for (const key of ['host', 'user', 'database']) {
      if (pg[key] !== undefined) checkName(method, `${field}.postgres.${key}`, pg[key]);
    }
    if (pg.password !== undefined) check(method, `${field}.postgres.password`, pg.password, (x) => typeof x === 'string', 'a string');
    if (pg.port !== undefined) check(method, `${field}.postgres.port`, pg.port, (x) => Number.isInteger(x) && x >= 1 && x <= 65535, 'an integer from 1 to 65535');
    if (pg.ssl !== undefined) check(method, `${field}.postgres.ssl`, pg.ssl, (x) => typeof x === 'boolean', 'a boolean');
  } else {
    throw fail(method, `${field}.postgres`, 'a connection string or an object { host, port?, user?, password?, database?, ssl? }', pg);
  }
  if (storage.schema !== undefined) {
    // PostgreSQL's limit on a name is in bytes.
    check(method, `${field}.schema`, storage.schema, (x) => typeof x === 'string' && x.length >= 1 && Buffer.byteLength(x) <= 63, 'a name of 1 to 63 bytes (UTF-8)');
  }
  if (storage.leaseMs !== undefined) {
    check(method, `${field}.leaseMs`, storage.leaseMs, (x) => finite(x) && x >= 300, 'a number of milliseconds, at least 300');
  }
  if (storage.pollMs !== undefined) {
    check(method, `${field}.pollMs`, storage.pollMs, (x) => finite(x) && x >= 1, 'a positive number of milliseconds');
  }
  if (storage.prefetch !== undefined) {
    check(method, `${field}.prefetch`, storage.prefetch, (x) => Number.isInteger(x) && x >= 0 && x <= 100_000, 'an integer from 0 to 100,000 (tasks a pool claims ahead of its workers)');
  }
  if (storage.connectTimeoutMs !== undefined) {
    check(method, `${field}.connectTimeoutMs`, storage.connectTimeoutMs, (x) => finite(x) && x >= 1, 'a positive number of milliseconds');
  }
}

/**
 * Checks the query of manager.history(): `{ unitId?, limit?, since?: Date | epoch ms }`.
 * @param {unknown} query
 */
function validateHistoryQuery(query) {
  if (query === undefined) return;
  if (!isObject(query)) throw fail('history', 'query', 'an object { unitId?, limit?, since? }', query);
  const { unitId, limit, since } = query;
  if (unitId !== undefined) checkName('history', 'query.unitId', unitId);
  if (limit !== undefined) check('history', 'query.limit', limit, (x) => Number.isInteger(x) && x >= 1 && x <= 0xffffffff, 'a positive integer');
  if (since !== undefined) {
    check('history', 'query.since', since instanceof Date ? since.getTime() : since, finite, 'a Date or a number of milliseconds since the epoch');
  }
}

/**
 * Checks the options of stop() and close(); returns `timeoutMs`.
 * @param {string} method
 * @param {unknown} options
 * @returns {number | undefined}
 */
function validateStopOptions(method, options) {
  if (options !== undefined && !isObject(options)) throw fail(method, 'options', 'an object', options);
  const timeoutMs = options ? options.timeoutMs : undefined;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0 && !Number.isNaN(timeoutMs))) {
    throw fail(method, 'options.timeoutMs', 'a non-negative number of milliseconds', timeoutMs);
  }
  return timeoutMs;
}

// --- serveDashboard ----------------------------------------------------------

const DASHBOARD = 'serveDashboard';
const DASHBOARD_OPTIONS = ['port', 'host', 'token', 'basePath', 'readOnly', 'authorize'];
/** A token: visible ASCII, no spaces (it goes into a header and a URL as it is). */
const TOKEN = /^[\x21-\x7e]+$/;
/** What a basePath must not hold (the server refuses the same): a query, a fragment, an escape, spaces, backslashes, control characters. */
const BASE_PATH_CHARS = /[?#%\s\\\p{Cc}]/u;

/**
 * Whether `host` names this machine's loopback interface: 127.0.0.0/8, ::1
 * (bracketed or not) or localhost.
 * @param {string} host
 */
function isLoopbackHost(host) {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === 'localhost.') return true;
  // node:net is loaded here, where a dashboard's host is checked, not by
  // every program that loads the package (about a megabyte of resident memory).
  const net = require('node:net');
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (!net.isIPv6(h)) return false;
  if (loopbackV6 === undefined) {
    loopbackV6 = new net.BlockList();
    loopbackV6.addAddress('::1', 'ipv6');
  }
  return loopbackV6.check(h, 'ipv6');
}
/** @type {import('node:net').BlockList | undefined} the IPv6 loopback address, made at the first IPv6 host */
let loopbackV6;

/**
 * @typedef {{ port: number, host: string, token: string | undefined, basePath: string, readOnly: boolean,
 *   authorize: ((request: object, action: string) => unknown) | undefined }} DashboardOptions
 */

/**
 * Checks the options of serveDashboard and fills in the defaults (the
 * token stays undefined when none is given); `basePath` comes back ending
 * with '/'.
 * @param {unknown} options
 * @returns {DashboardOptions}
 */
function validateDashboardOptions(options) {
  if (options === undefined) options = {};
  if (!isObject(options)) throw fail(DASHBOARD, 'options', 'an object', options);
  refuseUnknownKeys(DASHBOARD, 'options', options, DASHBOARD_OPTIONS);
  const { port = 0, host = '127.0.0.1', token, basePath = '/', readOnly = false, authorize } = options;
  check(DASHBOARD, 'options.port', port, (x) => Number.isInteger(x) && x >= 0 && x <= 65535, 'an integer from 0 to 65535');
  check(DASHBOARD, 'options.host', host, (x) => nonEmptyString(x) && x.trim() === x, 'a non-empty string without surrounding spaces');
  if (token !== undefined) {
    check(DASHBOARD, 'options.token', token, (x) => typeof x === 'string' && TOKEN.test(x), 'a non-empty string of visible ASCII characters without spaces');
  }
  check(DASHBOARD, 'options.basePath', basePath, (x) => typeof x === 'string' && x.startsWith('/'), 'a string starting with "/"');
  /** @type {string} */
  const base = basePath;
  if (BASE_PATH_CHARS.test(base) || base.includes('//') || base.split('/').some((s) => s === '.' || s === '..')) {
    throw fail(DASHBOARD, 'options.basePath', 'a string path without "..", ".", "//", "?", "#", "%", spaces or backslashes', basePath);
  }
  check(DASHBOARD, 'options.readOnly', readOnly, (x) => typeof x === 'boolean', 'a boolean');
  if (authorize !== undefined) check(DASHBOARD, 'options.authorize', authorize, (x) => typeof x === 'function', 'a function (request, action) => boolean | Promise<boolean>');
  if (token === undefined && !isLoopbackHost(host)) {
    throw new TypeError(
      `${DASHBOARD}: options.token is required when options.host is not a loopback address (127.0.0.0/8, ::1, localhost): anyone who can reach the server could act on the engine (got host "${host}" and no token)`,
    );
  }
  return { port, host, token, basePath: base.endsWith('/') ? base : `${base}/`, readOnly, authorize };
}

/**
 * The most workers a pool may have. Every pool worker is a registered unit
 * (about 1 KB with its object), made when the pool grows: a bound keeps a
 * size meant as "no limit" from registering workers until memory runs out.
 */
const MAX_POOL_SIZE = DEFAULTS.maxPoolSize;

/**
 * Checks a pool size given to `method` (a pool without workers would hold its tasks forever).
 * @param {string} method
 * @param {unknown} size
 */
function checkPoolSize(method, size) {
  check(method, 'size', size, (x) => Number.isInteger(x) && x >= 1 && x <= MAX_POOL_SIZE, `a positive integer no greater than ${MAX_POOL_SIZE}`);
}

module.exports = {
  validatePostgresOption,
  dependencyId,
  SETTINGS,
  STATUSES,
  RUN_MODES,
  settingRule,
  READERS,
  isObject,
  fail,
  check,
  validateUnit,
  checkedScheduleSpec,
  registrationError,
  validatePatch,
  validateId,
  checkName,
  refuseUnknownKeys,
  checkKnownKeys,
  validatePatchedInterval,
  mistypedUnitKey,
  refuseProtoKey,
  setField,
  validateStatus,
  MANAGER_OPTIONS,
  validateManagerOptions,
  validateClockOption,
  validateAdvance,
  instantMs,
  validateStorageOption,
  validateHistoryQuery,
  validateStopOptions,
  validateDashboardOptions,
  isLoopbackHost,
  MAX_POOL_SIZE,
  checkPoolSize,
};
