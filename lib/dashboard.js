// @ts-check
'use strict';

// The console dashboard: synchronik 2.3's (the same methods and lines), and
// the live terminal view (`live: true`). It reads the manager through its
// public API only; the live view reads a snapshot of it on a timer
// (listUnits, getEngineStats), never once per event.

const util = require('node:util');
const timers = require('node:timers');
const { performance } = require('node:perf_hooks');
const v = require('./validate');
const { messageOf } = require('./errors');

/**
 * @typedef {import('../index').SynchronikManager} Manager
 * @typedef {import('../index').DashboardStream} Stream
 * @typedef {{ size: number, busy: number }} PoolView
 * @typedef {{
 *   units: number,
 *   counts: Record<string, number>,
 *   runs: number,
 *   running: Array<[string, number]>,
 *   errors: Array<[string, number, unknown]>,
 *   next: Array<[string, number | undefined]>,
 *   pools: Map<string, PoolView>,
 *   stats: import('../index').EngineStats,
 * }} ManagerView what one pass over the manager read
 * @typedef {ManagerView & { now: number, rate: number | undefined, lagMs: number }} Frame what a frame shows
 */

const METHOD = 'createSynchronikDashboard';
const OPTIONS = ['live', 'refreshMs', 'stream'];
const DEFAULT_REFRESH_MS = 500;
const MIN_REFRESH_MS = 10;
/** Columns assumed when the stream does not say (a pseudo-terminal of size 0, a stream that is not a TTY). */
const DEFAULT_COLUMNS = 80;
/** How many recent stalls and milestones the live view keeps. */
const RECENT = 5;
/** Milestone arcs kept: units, and milestones per unit. */
const ARC_UNITS = 1000;
const ARC_LENGTH = 20;
const STATUSES = ['idle', 'running', 'paused', 'completed', 'error'];
/** The label column of the live view. */
const LABEL = 10;

/** Pool workers: `pool-worker-<k>` of the default pool, `<name>:pool-worker-<k>` of another, named `Pool Worker <k>`. */
const POOL_WORKER_ID = /^(?:([\s\S]*):)?pool-worker-\d+$/;
const POOL_WORKER_NAME = /^Pool Worker \d+$/;
/** Milestones about a unit, as the engine and 2.3 name them: `unit:<id>:<stage>` (also `worker:` and `process:`). */
const UNIT_MILESTONE = /^(?:unit|worker|process):([\s\S]+):([^:]*)$/;

// ---------------------------------------------------------------------------
// Text for a terminal
// ---------------------------------------------------------------------------

/**
 * Control characters (and the marks that reorder text) that would move the
 * cursor, change colours or reorder a line if written as they are.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `value` as text that is safe to write to a terminal: control characters are shown escaped (`\x1b`).
 * @param {unknown} value
 */
function clean(value) {
  return String(value).replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Columns a code point takes in a terminal: 0 for combining marks, 2 for wide (East Asian, emoji), else 1.
 * @param {number} cp
 */
function columnsOf(cp) {
  if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/**
 * How many columns `text` takes.
 * @param {string} text
 */
function widthOf(text) {
  let width = 0;
  for (const ch of text) width += columnsOf(/** @type {number} */ (ch.codePointAt(0)));
  return width;
}

/**
 * `text` cut to at most `width` columns (ending in `…` when cut).
 * @param {string} text
 * @param {number} width
 */
function clip(text, width) {
  if (widthOf(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const w = columnsOf(/** @type {number} */ (ch.codePointAt(0)));
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}…`;
}

/**
 * A duration for people: `340ms`, `1.2s`, `2m05s`, `1h02m`.
 * @param {unknown} ms
 */
function duration(ms) {
  const t = typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (t < 1000) return `${Math.floor(t)}ms`;
  if (t < 60_000) return `${(Math.floor(t / 100) / 10).toFixed(1)}s`;
  const two = (/** @type {number} */ n) => String(Math.floor(n)).padStart(2, '0');
  if (t < 3_600_000) return `${Math.floor(t / 60_000)}m${two((t / 1000) % 60)}s`;
  return `${Math.floor(t / 3_600_000)}h${two((t / 60_000) % 60)}m`;
}

/**
 * The local time of day of epoch ms `ms`: `14:03:07`.
 * @param {number} ms
 */
function timeOfDay(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * Epoch ms of a `lastRun` (a Date; a number or a date string after some stores), or undefined.
 * @param {unknown} value
 */
function epochOf(value) {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * `label` and as many `items` as fit in `width` columns, joined by ` · `,
 * then `+N more` for the rest; `—` when there are none.
 * @param {string} label
 * @param {string[]} items
 * @param {number} width
 */
function listLine(label, items, width) {
  let line = label.padEnd(LABEL);
  if (items.length === 0) return `${line}—`;
  for (let i = 0; i < items.length; i++) {
    const piece = i === 0 ? items[i] : ` · ${items[i]}`;
    const more = i + 1 < items.length ? ` · +${items.length - i - 1} more` : '';
    if (i > 0 && widthOf(line + piece + more) > width) return `${line} · +${items.length - i} more`;
    line += piece;
  }
  return line;
}

// ---------------------------------------------------------------------------
// What the live view shows
// ---------------------------------------------------------------------------

/**
 * Reads one unit object into `view`. Only fields are read (the engine keeps
 * them on the object); nothing is copied.
 * @param {ManagerView} view
 * @param {any} unit a registered unit object (the user's, fields read with care)
 * @param {number} now
 */
function readUnit(view, unit, now) {
  const id = unit.id;
  const status = unit.status;
  const lastRun = epochOf(unit.lastRun);
  const pool = POOL_WORKER_ID.exec(id);
  if (pool !== null && POOL_WORKER_NAME.test(unit.name)) {
    const name = pool[1] === undefined ? 'default' : pool[1];
    const entry = view.pools.get(name) || { size: 0, busy: 0 };
    entry.size += 1;
    if (status === 'running') entry.busy += 1;
    view.pools.set(name, entry);
    return;
  }
  view.units += 1;
  if (typeof status === 'string' && Object.hasOwn(view.counts, status)) view.counts[status] += 1;
  const isProcess = Array.isArray(unit.workers);
  if (!isProcess && unit.meta && Number.isFinite(unit.meta.runCount)) view.runs += unit.meta.runCount;
  if (status === 'running') view.running.push([id, lastRun === undefined ? now : lastRun]);
  if (status === 'error') view.errors.push([id, lastRun === undefined ? 0 : lastRun, unit.error]);
  const interval = unit.intervalMs;
  if (!isProcess && unit.runOnInterval === true && Number.isFinite(interval) && interval > 0 && unit.enabled !== false && status !== 'paused') {
    view.next.push([id, lastRun === undefined ? undefined : lastRun + interval]);
  }
}

/**
 * What the manager shows now: one pass over its units, and its engine counts.
 * @param {Manager} manager
 * @param {number} now
 * @returns {ManagerView}
 */
function readManager(manager, now) {
  /** @type {ManagerView} */
  const view = {
    units: 0,
    counts: Object.fromEntries(STATUSES.map((s) => [s, 0])),
    runs: 0,
    running: [],
    errors: [],
    next: [],
    pools: new Map(),
    stats: manager.getEngineStats(),
  };
  for (const unit of manager.listUnits()) {
    try {
      readUnit(view, unit, now);
    } catch {
      // A unit object whose fields cannot be read (a getter of the user's
      // that throws) is left out of this frame.
    }
  }
  return view;
}

/**
 * Creates a dashboard. Without options it is 2.3's: `render()` prints every
 * unit as `[<status>] <id>`, and once attached it prints every milestone.
 * With `{ live: true }` it keeps a view of the manager on `stream`
 * (default `process.stdout`), redrawn in place every `refreshMs` (default
 * 500) on a terminal, one summary line per refresh elsewhere, until `stop()`.
 * @param {import('../index').DashboardOptions} [options]
 */
function createSynchronikDashboard(options) {
  if (options !== undefined) {
    v.check(METHOD, 'options', options, v.isObject, 'an object or undefined');
    v.refuseUnknownKeys(METHOD, 'options', options, OPTIONS);
  }
  const o = /** @type {import('../index').DashboardOptions} */ (options || {});
  v.check(METHOD, 'options.live', o.live, (/** @type {unknown} */ x) => x === undefined || typeof x === 'boolean', 'a boolean');
  v.check(
    METHOD,
    'options.refreshMs',
    o.refreshMs,
    (/** @type {unknown} */ x) => x === undefined || (typeof x === 'number' && Number.isFinite(x) && x >= MIN_REFRESH_MS),
    `a number of milliseconds >= ${MIN_REFRESH_MS}`,
  );
  v.check(
    METHOD,
    'options.stream',
    o.stream,
    (/** @type {any} */ s) => s === undefined || (typeof s === 'object' && s !== null && typeof s.write === 'function'),
    'a writable stream (an object with a write function)',
  );
  return new ConsoleDashboard(o.live === true, o.refreshMs === undefined ? DEFAULT_REFRESH_MS : o.refreshMs, o.stream);
}

/**
 * @param {string} method
 * @param {string} field
 * @param {unknown} value
 */
const checkId = (method, field, value) => v.check(method, field, value, (/** @type {unknown} */ s) => typeof s === 'string' && s.length > 0, 'a non-empty string');

class ConsoleDashboard {
  #live;
  #refreshMs;
  /** The stream given, or undefined: then 2.3's lines go through console.log, the live view to stdout. */
  #given;
  /** @type {Manager | null} */
  #manager = null;
  /** @type {Array<() => void>} */
  #unsubscribe = [];
  /**
   * Milestones by unit id (`unit:<id>:<stage>` → stage), the latest units last.
   * @type {Map<string, string[]>}
   */
  #arcs = new Map();
  // The live view.
  /** @type {ReturnType<typeof timers.setInterval> | null} */
  #timer = null;
  /** Lines of the frame now on the terminal, under the cursor's line (0: none). */
  #height = 0;
  #lastTick = 0;
  /** The most the refresh timer came late since the previous frame: the event loop's lag as the view sees it. */
  #lateMs = 0;
  /**
   * The runs counted at the previous frame, and when (for runs/s).
   * @type {number | undefined}
   */
  #runs = undefined;
  #runsAt = 0;
  /**
   * Recent stalls and milestones, newest first.
   * @type {string[]}
   */
  #recent = [];
  /** For a manual clock that started at 0: the wall time of its 0. */
  #clockOrigin = 0;

  /**
   * @param {boolean} live
   * @param {number} refreshMs
   * @param {Stream | undefined} stream
   */
  constructor(live, refreshMs, stream) {
    this.#live = live;
    this.#refreshMs = refreshMs;
    this.#given = stream;
  }

  /** @returns {Stream} */
  get #stream() {
    return this.#given === undefined ? process.stdout : this.#given;
  }

  get #tty() {
    return this.#stream.isTTY === true;
  }

  /**
   * Prints a line: through console.log as 2.3 did, or to the stream given; above the frame of a live view.
   * @param {...unknown} args
   */
  #print(...args) {
    if (this.#live && this.#tty && this.#height > 0) {
      this.#drawFrame(`${util.format(...args)}\n`);
    } else if (this.#live || this.#given !== undefined) {
      this.#stream.write(`${util.format(...args)}\n`);
    } else {
      console.log(...args);
    }
  }

  /**
   * Attaches the dashboard to a manager: it listens to its milestones (and,
   * when live, its stalls) and, when live, starts the view. Attaching to
   * another manager detaches from the previous one.
   * @param {Manager} manager
   */
  attachToManager(manager) {
    const method = 'attachToManager';
    const needed = this.#live ? ['onMilestone', 'listUnits', 'getEngineStats'] : ['onMilestone'];
    const ok = (/** @type {any} */ m) => typeof m === 'object' && m !== null && needed.every((name) => typeof m[name] === 'function');
    v.check(method, 'manager', manager, ok, `a synchronik manager (an object with ${needed.join(', ')})`);
    this.stop();
    this.#manager = manager;
    const off = manager.onMilestone((milestoneId, payload) => this.#milestone(milestoneId, payload));
    if (typeof off === 'function') this.#unsubscribe.push(off);
    if (!this.#live) return;
    if (typeof manager.on === 'function' && typeof manager.off === 'function') {
      const onStalled = (/** @type {import('../index').StalledEvent} */ event) => this.#stalled(event);
      manager.on('stalled', onStalled);
      this.#unsubscribe.push(() => manager.off('stalled', onStalled));
    }
    const clock = manager.clock;
    this.#clockOrigin = clock && typeof clock.now === 'function' ? Date.now() - clock.now() : 0;
    this.#recent = [];
    this.#runs = undefined;
    this.#lateMs = 0;
    this.#show();
    this.#lastTick = performance.now();
    // The view never keeps Node alive by itself.
    this.#timer = timers.setInterval(() => this.#tick(), this.#refreshMs).unref();
  }

  /**
   * Shows every unit now. 2.3's form clears the console and prints
   * `[<status>] <id>` per unit; a live dashboard draws its view now.
   */
  render() {
    const manager = this.#manager;
    if (manager === null) return;
    if (this.#live) {
      this.#show();
      return;
    }
    const units = manager.getRegistrySnapshot();
    if (this.#given === undefined) console.clear();
    this.#print('🔄 Synchronik Dashboard');
    for (const unit of units) this.#print(`[${unit.status}] ${clean(unit.id)}`);
  }

  /**
   * Prints the status of one unit: `📦 Unit <id> status: <status>`.
   * @param {string} unitId
   */
  showUnitStatus(unitId) {
    checkId('showUnitStatus', 'unitId', unitId);
    if (this.#manager === null) return;
    this.#print(`📦 Unit ${clean(unitId)} status: ${this.#manager.getUnitStatus(unitId)}`);
  }

  /**
   * Prints the stages a unit went through, from its milestones: `🌀 Milestone arc for <id>: running → completed`.
   * @param {string} unitId
   */
  showMilestoneArc(unitId) {
    checkId('showMilestoneArc', 'unitId', unitId);
    const arc = this.#arcs.get(unitId);
    this.#print(arc === undefined ? `🌀 Milestone arc for ${clean(unitId)}...` : `🌀 Milestone arc for ${clean(unitId)}: ${arc.map(clean).join(' → ')}`);
  }

  /**
   * Prints `✨ Badge '<badge>' triggered for <id>`.
   * @param {string} unitId
   * @param {string} badge
   */
  triggerBadgeGlow(unitId, badge) {
    checkId('triggerBadgeGlow', 'unitId', unitId);
    v.check('triggerBadgeGlow', 'badge', badge, (/** @type {unknown} */ b) => typeof b === 'string', 'a string');
    this.#print(`✨ Badge '${clean(badge)}' triggered for ${clean(unitId)}`);
  }

  /**
   * Ends the live view (drawing it a last time) and the dashboard's
   * listeners. Idempotent; `attachToManager` starts again.
   */
  stop() {
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#timer === null) return;
    timers.clearInterval(this.#timer);
    this.#timer = null;
    this.#show();
    this.#height = 0;
  }

  /**
   * @param {string} milestoneId
   * @param {Record<string, any>} payload
   */
  #milestone(milestoneId, payload) {
    const m = UNIT_MILESTONE.exec(milestoneId);
    if (m !== null) {
      const arc = this.#arcs.get(m[1]) || [];
      this.#arcs.delete(m[1]);
      arc.push(m[2]);
      if (arc.length > ARC_LENGTH) arc.shift();
      this.#arcs.set(m[1], arc);
      if (this.#arcs.size > ARC_UNITS) this.#arcs.delete(/** @type {string} */ (this.#arcs.keys().next().value));
    }
    if (this.#live) this.#remember(`milestone ${milestoneId}`);
    else this.#print(`🎯 Milestone: ${clean(milestoneId)}`, payload);
  }

  /** @param {import('../index').StalledEvent} event */
  #stalled(event) {
    const why = event.eventLoop === true ? ' (event loop blocked)' : '';
    this.#remember(`stalled ${event.unitId} ${duration(event.runningForMs)}${why}`);
  }

  /** @param {string} text */
  #remember(text) {
    this.#recent.unshift(`${timeOfDay(this.#now())} ${text}`);
    if (this.#recent.length > RECENT) this.#recent.pop();
  }

  /** Wall time now, as the manager's `lastRun` dates read it. */
  #now() {
    const clock = this.#manager && this.#manager.clock;
    if (!clock || typeof clock.now !== 'function') return Date.now();
    // A manual clock started at an instant reads epoch ms; one started at
    // 0 counts from about when the manager was created (taken as the
    // moment the dashboard was attached).
    const t = clock.now();
    return t >= 1e11 ? t : this.#clockOrigin + t;
  }

  #tick() {
    const t = performance.now();
    const late = t - this.#lastTick - this.#refreshMs;
    this.#lastTick = t;
    if (late > this.#lateMs) this.#lateMs = late;
    this.#show();
  }

  /** Draws the live view now. A failure ends the view with a warning; it never throws into a timer. */
  #show() {
    if (!this.#live || this.#manager === null) return;
    try {
      if (this.#tty) this.#drawFrame('');
      else this.#stream.write(`${this.#summary()}\n`);
    } catch (error) {
      if (this.#timer !== null) timers.clearInterval(this.#timer);
      this.#timer = null;
      process.emitWarning(`the live dashboard stopped: ${messageOf(error)}`, { code: 'SYNCHRONIK_DASHBOARD' });
    }
  }

  /**
   * Reads the manager and works out runs/s and the lag since the previous frame.
   * @returns {Frame}
   */
  #read() {
    const now = this.#now();
    const view = readManager(/** @type {Manager} */ (this.#manager), now);
    const t = performance.now();
    const rate = this.#runs !== undefined && t > this.#runsAt ? Math.max(0, view.runs - this.#runs) / ((t - this.#runsAt) / 1000) : undefined;
    this.#runs = view.runs;
    this.#runsAt = t;
    const lagMs = Math.max(view.stats.engine.eventLoopLagMs, this.#lateMs);
    this.#lateMs = 0;
    return { ...view, now, rate, lagMs };
  }

  /** The summary line written per refresh to a stream that is not a terminal. */
  #summary() {
    const view = this.#read();
    const counts = STATUSES.map((s) => `${s}=${view.counts[s]}`).join(' ');
    const rate = view.rate === undefined ? '-' : view.rate.toFixed(1);
    return `synchronik ${timeOfDay(view.now)} units=${view.units} ${counts} queued=${view.stats.engine.queued} runs/s=${rate} lag=${Math.round(view.lagMs)}ms`;
  }

  /**
   * The lines of the terminal view, each at most `width` columns.
   * @param {number} width
   */
  #frame(width) {
    const view = this.#read();
    const { now, stats } = view;
    const rate = view.rate === undefined ? '—' : view.rate.toFixed(1);
    const header = `synchronik ${timeOfDay(now)} · ${view.units} units · ${rate} runs/s · lag ${Math.round(view.lagMs)}ms · cpu ${stats.cpu}`;
    const running = view.running.sort((a, b) => a[1] - b[1]).map(([id, since]) => `${clean(id)} ${duration(now - since)}`);
    const pools = [`queued ${stats.engine.queued}`];
    for (const [name, p] of view.pools) pools.push(`${clean(name)} ${p.busy}/${p.size} busy`);
    const next = view.next
      .sort((a, b) => (a[1] ?? Infinity) - (b[1] ?? Infinity))
      .map(([id, due]) => (due === undefined ? `${clean(id)} (not run yet)` : due <= now ? `${clean(id)} due` : `${clean(id)} in ${duration(due - now)}`));
    const errors = view.errors.sort((a, b) => b[1] - a[1]).map(([id, at, error]) => {
      const text = clip(clean(error === undefined ? 'error' : messageOf(error)), 40);
      return at > 0 ? `${clean(id)} ${timeOfDay(at)} ${text}` : `${clean(id)} ${text}`;
    });
    return [
      header,
      `${'status'.padEnd(LABEL)}${STATUSES.map((s) => `${s} ${view.counts[s]}`).join(' · ')}`,
      listLine('running', running, width),
      listLine('pools', pools, width),
      listLine('next', next, width),
      listLine('errors', errors, width),
      listLine('recent', this.#recent.map(clean), width),
    ].map((line) => clip(line, width));
  }

  /**
   * Writes `above` (lines that scroll up as usual), then the frame over the
   * previous one: the cursor goes back up the previous frame's lines and
   * each line is cleared and rewritten, in one write. Line wrap is off while
   * the frame is written, so a line wider than the terminal cannot push the
   * frame down; the screen is never cleared as a whole.
   * @param {string} above
   */
  #drawFrame(above) {
    const columns = this.#stream.columns;
    const width = (typeof columns === 'number' && Number.isInteger(columns) && columns > 1 ? columns : DEFAULT_COLUMNS) - 1;
    const lines = this.#frame(width);
    let out = this.#height > 0 ? `\r\x1b[${this.#height}A` : '';
    if (above !== '') out += `\x1b[J${above}`;
    out += '\x1b[?7l';
    for (const line of lines) out += `\x1b[2K${line}\n`;
    out += '\x1b[J\x1b[?7h';
    this.#stream.write(out);
    this.#height = lines.length;
  }
}

module.exports = { createSynchronikDashboard, ConsoleDashboard };
