'use strict';

const util = require('node:util');

// The console components (SPEC §13): 2.3's dashboard and visualizer, with
// 2.3's lines and render arguments, and the live terminal view on a fake
// stream — one summary line per refresh when it is not a terminal, a frame
// redrawn in place when it is. The real pseudo-terminal is in
// console-pty.spec.js.

const { createSynchronikManager, createSynchronikDashboard, createSynchronikVisualizer } = require('..');
const { deferred, sleep, runNode } = require('./helpers');
const { screenOf, frameLines, fakeStream } = require('./fixtures/screen');

/** A manual-clock manager whose clock reads an instant (so lastRun and the view's times agree exactly). */
const T0 = Date.parse('2024-03-01T12:00:00Z');
const manualManager = () => createSynchronikManager({ clock: { manual: true, now: T0 } });

describe('2.3 dashboard: the lines 2.3 printed', () => {
  let log;
  let clear;
  beforeEach(() => {
    log = jest.spyOn(console, 'log').mockImplementation(() => {});
    clear = jest.spyOn(console, 'clear').mockImplementation(() => {});
  });
  afterEach(() => jest.restoreAllMocks());

  const lines = () => log.mock.calls.map((args) => util.format(...args));

  test('render() clears the console and prints a title and [status] id per unit', async () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'w1', run: async () => 1 });
    manager.registerUnit({ id: 'p1', workers: [{ id: 'w2', run: async () => 2 }] });
    await manager.runWorkerById('w1');
    const dashboard = createSynchronikDashboard();
    dashboard.render(); // not attached: nothing, as in 2.3
    expect(log).not.toHaveBeenCalled();
    dashboard.attachToManager(manager);
    dashboard.render();
    expect(clear).toHaveBeenCalledTimes(1);
    expect(lines()).toEqual(['🔄 Synchronik Dashboard', '[completed] w1', '[idle] p1', '[idle] w2']);
    dashboard.stop();
  });

  test('showUnitStatus, showMilestoneArc and triggerBadgeGlow print 2.3 lines', async () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'p1', workers: [{ id: 'w1', run: async () => 1 }] });
    const dashboard = createSynchronikDashboard();
    dashboard.showUnitStatus('p1'); // not attached: nothing
    dashboard.attachToManager(manager);
    dashboard.showUnitStatus('p1');
    dashboard.showMilestoneArc('p1');
    dashboard.triggerBadgeGlow('p1', 'gold');
    expect(lines()).toEqual(['📦 Unit p1 status: idle', '🌀 Milestone arc for p1...', "✨ Badge 'gold' triggered for p1"]);
    dashboard.stop();
  });

  test('once attached it prints every milestone with its payload, and the arc of a unit from its milestones', async () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'p1', workers: [{ id: 'w1', run: async () => 1 }] });
    const dashboard = createSynchronikDashboard();
    dashboard.attachToManager(manager);
    await manager.runProcessById('p1');
    manager.emitMilestone('deploy', { version: 3 });
    expect(log.mock.calls).toEqual([
      ['🎯 Milestone: unit:p1:running', { runMode: 'sequential' }],
      ['🎯 Milestone: unit:p1:completed', { runMode: 'sequential' }],
      ['🎯 Milestone: deploy', { version: 3 }],
    ]);
    log.mockClear();
    dashboard.showMilestoneArc('p1');
    expect(lines()).toEqual(['🌀 Milestone arc for p1: running → completed']);
    // stop() detaches: no more milestones printed.
    dashboard.stop();
    log.mockClear();
    manager.emitMilestone('after-stop');
    expect(log).not.toHaveBeenCalled();
  });

  test('attaching to another manager detaches from the first', () => {
    const a = createSynchronikManager();
    const b = createSynchronikManager();
    const dashboard = createSynchronikDashboard();
    dashboard.attachToManager(a);
    dashboard.attachToManager(b);
    a.emitMilestone('from-a');
    b.emitMilestone('from-b');
    expect(lines()).toEqual(['🎯 Milestone: from-b {}']);
    dashboard.stop();
  });

  test('ids are printed with control characters escaped', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'evil\x1b[2J\nid', run: () => 1 });
    const dashboard = createSynchronikDashboard();
    dashboard.attachToManager(manager);
    dashboard.render();
    dashboard.showUnitStatus('evil\x1b[2J\nid');
    expect(lines()).toEqual(['🔄 Synchronik Dashboard', '[idle] evil\\x1b[2J\\x0aid', '📦 Unit evil\\x1b[2J\\x0aid status: idle']);
    dashboard.stop();
  });

  test('with a stream, the lines go to it (and the console is not cleared)', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'w1', run: () => 1 });
    const stream = fakeStream({ isTTY: false });
    const dashboard = createSynchronikDashboard({ stream });
    dashboard.attachToManager(manager);
    dashboard.render();
    manager.emitMilestone('m', { a: 1 });
    expect(stream.text()).toBe('🔄 Synchronik Dashboard\n[idle] w1\n🎯 Milestone: m { a: 1 }\n');
    expect(clear).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    dashboard.stop();
  });
});

describe('2.3 visualizer', () => {
  test('renders statuses of start, complete and error events and milestones of a manager, through renderFn', async () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'ok', run: async () => 1 });
    manager.registerUnit({ id: 'bad', run: async () => { throw new Error('no'); } });
    const rendered = [];
    const visualizer = createSynchronikVisualizer((type, message, meta) => rendered.push([type, message, meta]));
    const detach = visualizer.attachToEventBus(manager);
    await manager.runWorkerById('ok');
    await manager.runWorkerById('bad');
    manager.emitMilestone('process:p1:completed', { badge: 'gold' });
    expect(rendered).toEqual([
      ['status', '[Visualizer] Unit ok is now running', { unitId: 'ok', status: 'running' }],
      ['status', '[Visualizer] Unit ok is now completed', { unitId: 'ok', status: 'completed' }],
      ['status', '[Visualizer] Unit bad is now running', { unitId: 'bad', status: 'running' }],
      ['status', '[Visualizer] Unit bad is now error', { unitId: 'bad', status: 'error' }],
      ['milestone', '[Visualizer] Milestone reached: process:p1:completed', { milestoneId: 'process:p1:completed', payload: { badge: 'gold' } }],
    ]);
    detach();
    await manager.runWorkerById('ok');
    expect(rendered).toHaveLength(5);
  });

  test('as in 2.3: methods spied on after attaching are the ones called; a message replaces the default one', () => {
    const manager = createSynchronikManager();
    const visualizer = createSynchronikVisualizer();
    const status = jest.spyOn(visualizer, 'renderUnitStatus');
    const milestone = jest.spyOn(visualizer, 'renderMilestone');
    visualizer.attachToEventBus(manager);
    manager.registerUnit({ id: 'w1', run: () => 1 });
    manager.updateStatus('w1', 'running');
    expect(status).toHaveBeenCalledWith('w1', 'running');
    expect(milestone).not.toHaveBeenCalled();
    manager.emitMilestone('unit:w3:completed', { badge: 'silver' });
    expect(milestone).toHaveBeenCalledWith('unit:w3:completed', { badge: 'silver' });

    const rendered = [];
    const custom = createSynchronikVisualizer((...args) => rendered.push(args));
    custom.renderUnitStatus('w1', 'paused', 'w1 waits');
    custom.renderMilestone('m1', undefined, 'halfway');
    expect(rendered).toEqual([
      ['status', 'w1 waits', { unitId: 'w1', status: 'paused' }],
      ['milestone', 'halfway', { milestoneId: 'm1', payload: undefined }],
    ]);
  });

  test("attaches to a 2.3 event bus (subscribeAll), and detaches even when the bus gives no unsubscribe", () => {
    const listeners = [];
    const bus = { subscribeAll: (listener) => void listeners.push(listener) };
    const rendered = [];
    const visualizer = createSynchronikVisualizer((type, message) => rendered.push(message));
    const detach = visualizer.attachToEventBus(bus);
    listeners[0]({ type: 'start', unitId: 'w1' });
    listeners[0]({ type: 'updated', unitId: 'w1', payload: {} });
    listeners[0]({ type: 'milestone', milestoneId: 'system:heartbeat', payload: { tick: true } });
    detach();
    listeners[0]({ type: 'complete', unitId: 'w1' });
    expect(rendered).toEqual(['[Visualizer] Unit w1 is now running', '[Visualizer] Milestone reached: system:heartbeat']);
  });

  test('bad arguments are TypeErrors naming method, field, expectation and what was given', () => {
    expect(() => createSynchronikVisualizer('log')).toThrow(new TypeError('createSynchronikVisualizer: renderFn must be a function or undefined (got string)'));
    const visualizer = createSynchronikVisualizer();
    expect(() => visualizer.attachToEventBus({ on() {} })).toThrow(
      new TypeError('attachToEventBus: bus must be a manager or an event bus (an object with a subscribeToEvents or subscribeAll function) (got object)'),
    );
    expect(() => visualizer.renderUnitStatus('', 'idle')).toThrow(new TypeError('renderUnitStatus: unitId must be a non-empty string (got empty string)'));
    expect(() => visualizer.renderUnitStatus('w', 'done')).toThrow(
      new TypeError("renderUnitStatus: status must be one of 'idle', 'running', 'paused', 'completed', 'error' (got string \"done\")"),
    );
    expect(() => visualizer.renderMilestone('m', 5)).toThrow(new TypeError('renderMilestone: payload must be an object or undefined (got number)'));
    expect(() => visualizer.renderMilestone('m', {}, 7)).toThrow(new TypeError('renderMilestone: message must be a string or undefined (got number)'));
  });
});

describe('dashboard: bad input', () => {
  test('options and arguments are checked with messages that name them', () => {
    expect(() => createSynchronikDashboard('live')).toThrow(new TypeError('createSynchronikDashboard: options must be an object or undefined (got string)'));
    expect(() => createSynchronikDashboard({ refresh: 100 })).toThrow(
      new TypeError('createSynchronikDashboard: options.refresh is not an option; did you mean "refreshMs"?'),
    );
    expect(() => createSynchronikDashboard({ live: 'yes' })).toThrow(new TypeError('createSynchronikDashboard: options.live must be a boolean (got string)'));
    expect(() => createSynchronikDashboard({ refreshMs: 0 })).toThrow(
      new TypeError('createSynchronikDashboard: options.refreshMs must be a number of milliseconds >= 10 (got 0)'),
    );
    expect(() => createSynchronikDashboard({ stream: {} })).toThrow(
      new TypeError('createSynchronikDashboard: options.stream must be a writable stream (an object with a write function) (got object)'),
    );
    const dashboard = createSynchronikDashboard({ live: true, stream: fakeStream() });
    expect(() => dashboard.attachToManager({ onMilestone() {} })).toThrow(
      new TypeError('attachToManager: manager must be a synchronik manager (an object with onMilestone, listUnits, getEngineStats) (got object)'),
    );
    expect(() => dashboard.showUnitStatus(1)).toThrow(new TypeError('showUnitStatus: unitId must be a non-empty string (got number)'));
    expect(() => dashboard.triggerBadgeGlow('w', null)).toThrow(new TypeError('triggerBadgeGlow: badge must be a string (got null)'));
  });
});

describe('live view on a stream that is not a terminal: one summary line per refresh', () => {
  test('a line at once, one per refresh, a last one at stop(), then none', async () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'ok', run: () => 1 });
    manager.registerUnit({ id: 'bad', run: () => { throw new Error('no'); } });
    manager.registerUnit({ id: 'later', status: 'paused', run: () => 1 });
    await manager.runWorkerById('ok');
    await manager.runWorkerById('bad');
    const stream = fakeStream({ isTTY: false });
    const dashboard = createSynchronikDashboard({ live: true, refreshMs: 20, stream });
    dashboard.attachToManager(manager);
    expect(stream.writes).toHaveLength(1);
    expect(stream.writes[0]).toMatch(
      /^synchronik \d\d:\d\d:\d\d units=3 idle=0 running=0 paused=1 completed=1 error=1 queued=0 runs\/s=- lag=\d+ms\n$/,
    );
    // Real time: the refresh timer is what is tested.
    await waitFor(() => stream.writes.length >= 4);
    const refreshes = stream.writes.length;
    for (const line of stream.writes) expect(line).not.toMatch(/\x1b/);
    dashboard.stop();
    expect(stream.writes).toHaveLength(refreshes + 1);
    await sleep(60);
    expect(stream.writes).toHaveLength(refreshes + 1);
    dashboard.stop(); // idempotent
    expect(stream.writes).toHaveLength(refreshes + 1);
  });

  test('lines of show* go between the summary lines', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'w', run: () => 1 });
    const stream = fakeStream({ isTTY: false });
    const dashboard = createSynchronikDashboard({ live: true, stream });
    dashboard.attachToManager(manager);
    dashboard.showUnitStatus('w');
    dashboard.stop();
    expect(stream.writes[1]).toBe('📦 Unit w status: idle\n');
    expect(stream.writes).toHaveLength(3);
  });
});

describe('live view on a terminal: a frame redrawn in place', () => {
  test('the frame shows units by status, what runs and for how long, pools, next runs, errors', async () => {
    const manager = manualManager();
    const gate = deferred();
    manager.registerUnit({ id: 'slow', run: () => gate.promise });
    manager.registerUnit({ id: 'bad', run: () => { throw new Error('disk full'); } });
    manager.registerUnit({ id: 'beat', intervalMs: 60_000, runOnInterval: true, run: () => 1 });
    const pool = manager.useWorkerPool(2, { name: 'mail' });
    await manager.runWorkerById('bad');
    await manager.runWorkerById('beat');
    const slow = manager.runWorkerById('slow');
    await manager.clock.advance(5000);
    pool.addTask({ name: 'queued-task', execute: () => 1 }); // the pool is not started: it stays queued

    const stream = fakeStream({ columns: 100 });
    const dashboard = createSynchronikDashboard({ live: true, refreshMs: 1000, stream });
    dashboard.attachToManager(manager);
    const screen = screenOf(stream.text(), 100);
    expect(screen[0]).toMatch(/^synchronik 1\d:00:05 · 3 units · — runs\/s · lag \d+ms · cpu \d+\.\d\d%$/);
    expect(screen.slice(1)).toEqual([
      'status    idle 0 · running 1 · paused 0 · completed 1 · error 1',
      'running   slow 5.0s',
      'pools     queued 1 · mail 0/2 busy',
      'next      beat in 55.0s',
      expect.stringMatching(/^errors {4}bad 1\d:00:00 disk full$/),
      'recent    —',
    ]);
    gate.resolve();
    await slow;
    dashboard.render();
    const after = screenOf(stream.text(), 100);
    expect(after).toHaveLength(7);
    expect(after[1]).toBe('status    idle 0 · running 0 · paused 0 · completed 2 · error 1');
    expect(after[2]).toBe('running   —');
    dashboard.stop();
    await manager.stop();
  });

  test('redraws over the previous frame: cursor up its height, each line cleared; never a full-screen clear', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'w', run: () => 1 });
    const stream = fakeStream({ columns: 60 });
    const dashboard = createSynchronikDashboard({ live: true, stream });
    dashboard.attachToManager(manager);
    dashboard.render();
    dashboard.render();
    dashboard.stop();
    expect(stream.writes).toHaveLength(4);
    expect(stream.writes[0].startsWith('\x1b[?7l\x1b[2K')).toBe(true);
    for (const write of stream.writes.slice(1)) expect(write.startsWith('\r\x1b[7A\x1b[?7l\x1b[2K')).toBe(true);
    for (const write of stream.writes) {
      expect(write).not.toContain('\x1b[2J');
      expect(write).not.toContain('\x1bc');
      expect(frameLines(write)).toHaveLength(7);
      expect(write.endsWith('\x1b[J\x1b[?7h')).toBe(true);
    }
    const screen = screenOf(stream.text(), 60);
    expect(screen).toHaveLength(7);
    expect(screen.filter((line) => line.startsWith('synchronik '))).toHaveLength(1);
  });

  test('lines fit the terminal width, and hostile ids cannot move the cursor', async () => {
    const manager = createSynchronikManager();
    const ids = ['x\x1b[2J\x1b[H', 'line\nbreak', '\u202eevil', `long-${'y'.repeat(80)}`, '宽'.repeat(30)];
    const gates = ids.map(() => deferred());
    ids.forEach((id, k) => manager.registerUnit({ id, run: () => gates[k].promise }));
    const runs = ids.map((id) => manager.runWorkerById(id));
    const stream = fakeStream({ columns: 40 });
    const dashboard = createSynchronikDashboard({ live: true, stream });
    dashboard.attachToManager(manager);
    for (const line of frameLines(stream.writes[0])) {
      expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202e]/);
      expect(width(line)).toBeLessThanOrEqual(39);
    }
    expect(screenOf(stream.text(), 40)[2]).toMatch(/^running {3}x\\x1b\[2J\\x1b\[H \d+ms · \+4 more$/);
    gates.forEach((g) => g.resolve());
    await Promise.all(runs);
    dashboard.stop();
  });

  test('lines printed while live go above the frame, which is drawn again below them', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'w', run: () => 1 });
    const stream = fakeStream({ columns: 80 });
    const dashboard = createSynchronikDashboard({ live: true, stream });
    dashboard.attachToManager(manager);
    dashboard.triggerBadgeGlow('w', 'gold');
    dashboard.showUnitStatus('w');
    const screen = screenOf(stream.text(), 80);
    expect(screen.slice(0, 2)).toEqual(["✨ Badge 'gold' triggered for w", '📦 Unit w status: idle']);
    expect(screen[2]).toMatch(/^synchronik /);
    expect(screen).toHaveLength(9);
    dashboard.stop();
  });

  test('stalls (the watcher naming what blocked the event loop) and milestones show under recent, newest first', () => {
    const manager = createSynchronikManager();
    manager.registerUnit({ id: 'crunch', run: () => 1 });
    const stream = fakeStream({ columns: 120 });
    const dashboard = createSynchronikDashboard({ live: true, stream });
    dashboard.attachToManager(manager);
    manager.emit('stalled', { type: 'stalled', unitId: 'crunch', runningForMs: 3012, eventLoop: true });
    manager.emitMilestone('batch:done');
    dashboard.render();
    expect(screenOf(stream.text(), 120)[6]).toMatch(
      /^recent {4}\d\d:\d\d:\d\d milestone batch:done · \d\d:\d\d:\d\d stalled crunch 3\.0s \(event loop blocked\)$/,
    );
    dashboard.stop();
    expect(manager.listenerCount('stalled')).toBe(0);
    expect(manager.listenerCount('milestone')).toBe(0);
  });

  test('a blocked event loop shows as lag in the next frame', async () => {
    const manager = createSynchronikManager();
    const stream = fakeStream({ columns: 80 });
    const dashboard = createSynchronikDashboard({ live: true, refreshMs: 20, stream });
    dashboard.attachToManager(manager);
    // Real time: a blocked event loop is what is tested.
    const end = performance.now() + 300;
    while (performance.now() < end);
    const before = stream.writes.length;
    await waitFor(() => stream.writes.length > before);
    const lag = Number(/lag (\d+)ms/.exec(frameLines(stream.writes[before])[0])[1]);
    expect(lag).toBeGreaterThanOrEqual(250);
    dashboard.stop();
  });

  test('runs/s counts the runs completed between frames', async () => {
    const manager = createSynchronikManager();
    for (let k = 0; k < 20; k++) manager.registerUnit({ id: `w${k}`, run: () => k });
    const stream = fakeStream({ columns: 80 });
    // No refresh between the two frames compared.
    const dashboard = createSynchronikDashboard({ live: true, refreshMs: 3_600_000, stream });
    dashboard.attachToManager(manager);
    for (let k = 0; k < 20; k++) await manager.runWorkerById(`w${k}`);
    await sleep(20);
    dashboard.render();
    const rate = Number(/· ([\d.]+) runs\/s/.exec(frameLines(stream.writes[1])[0])[1]);
    expect(rate).toBeGreaterThan(0);
    dashboard.stop();
  });

  test('a failure to draw ends the view with a warning; it never throws from the timer', async () => {
    const manager = createSynchronikManager();
    let fail = false;
    const stream = {
      isTTY: true,
      columns: 80,
      write() {
        if (fail) throw new Error('stream closed');
      },
    };
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const dashboard = createSynchronikDashboard({ live: true, refreshMs: 10, stream });
      dashboard.attachToManager(manager);
      fail = true;
      await waitFor(() => emitWarning.mock.calls.length > 0);
      await sleep(50); // no other attempt to draw: the timer is gone
      expect(emitWarning.mock.calls).toEqual([['the live dashboard stopped: stream closed', { code: 'SYNCHRONIK_DASHBOARD' }]]);
      dashboard.stop();
    } finally {
      emitWarning.mockRestore();
    }
  });
});

describe('the live view keeps nothing alive', () => {
  test('a script with a live dashboard it never stops exits by itself', async () => {
    const script = `
      const { createSynchronikManager, createSynchronikDashboard } = require('synchronik');
      const manager = createSynchronikManager();
      manager.registerUnit({ id: 'w', run: async () => 1 });
      createSynchronikDashboard({ live: true, refreshMs: 20 }).attachToManager(manager);
      manager.runWorkerById('w').then(() => setTimeout(() => console.log('done'), 100));
    `;
    const r = await runNode(['-e', script]);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('done');
    expect(lines.filter((l) => l.startsWith('synchronik ')).length).toBeGreaterThanOrEqual(3);
  });
});

/** Waits in real time (for the view's timer) until `predicate()` holds; fails after `ms`. */
async function waitFor(predicate, ms = 5000) {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`not reached within ${ms} ms`);
    await sleep(10);
  }
}

/** Terminal columns of a line (wide characters count 2). */
function width(line) {
  let w = 0;
  for (const ch of line) w += /[\u2e80-\ua4cf\uac00-\ud7a3\uff00-\uff60]/.test(ch) ? 2 : 1;
  return w;
}
