'use strict';

// Events (SPEC §3.5): exact sequences, synchronous delivery, subscriptions,
// and listeners that throw.

const { EventEmitter } = require('node:events');
const { createSynchronikManager, SynchronikError } = require('..');
const { recordEvents, describeEvent, deferred } = require('./helpers');

describe('events', () => {
  let manager;
  beforeEach(() => {
    manager = createSynchronikManager();
  });

  test('the manager is an EventEmitter', () => {
    expect(manager).toBeInstanceOf(EventEmitter);
    expect(typeof manager.on).toBe('function');
    expect(typeof manager.off).toBe('function');
  });

  test('listeners added and removed between runs: each run reaches exactly the listeners it has', async () => {
    manager.registerUnit({ id: 'w', run: () => 'ok' });
    const seen = [];
    const onStart = () => seen.push('start');
    const onComplete = () => seen.push('complete');
    await manager.runWorkerById('w'); // nobody listens
    manager.on('complete', onComplete);
    manager.off('complete', onComplete); // nobody listens again
    manager.on('start', onStart); // a name that was never listened to
    await manager.runWorkerById('w');
    expect(seen).toEqual(['start']);
    manager.removeAllListeners();
    await manager.runWorkerById('w');
    expect(seen).toEqual(['start']);
    manager.once('updated', (e) => seen.push(`updated:${e.payload.current}`));
    manager.prependListener('complete', onComplete);
    await manager.runWorkerById('w');
    expect(seen).toEqual(['start', 'updated:running', 'complete']);
    manager.off('complete', onComplete);
    await manager.runWorkerById('w');
    expect(seen).toEqual(['start', 'updated:running', 'complete']);
  });

  test('task events reach a listener added after every listener was removed', async () => {
    const pool = manager.useWorkerPool(1);
    manager.start();
    try {
      const seen = [];
      const other = () => {};
      await pool.run(() => 1); // nobody listens
      manager.on('complete', other);
      manager.off('complete', other);
      manager.on('task', (e) => seen.push(e.status));
      await pool.run(() => 2);
      expect(seen).toEqual(['running', 'completed']);
      manager.removeAllListeners('task');
      await pool.run(() => 3);
      expect(seen).toEqual(['running', 'completed']);
    } finally {
      await manager.stop();
    }
  });

  test('a successful runWorkerById: updated running, start, updated completed, complete', async () => {
    manager = createSynchronikManager({ clock: 'manual' }); // durationMs is measured on the engine's clock
    const { events } = recordEvents(manager);
    const gate = deferred();
    manager.registerUnit({ id: 'w', name: 'Worker', run: async () => { await gate.promise; return { answer: 42 }; } });
    const done = manager.runWorkerById('w');
    await manager.clock.advance(10);
    gate.resolve();
    await done;

    expect(events.map(describeEvent)).toEqual([
      'updated:w:idle>running',
      'start:w',
      'updated:w:running>completed',
      'complete:w',
    ]);
    const [running, start, completed, complete] = events;
    expect(running).toEqual({
      type: 'updated',
      unitId: 'w',
      payload: expect.objectContaining({ id: 'w', name: 'Worker', status: 'running', reason: 'status-change', previous: 'idle', current: 'running' }),
    });
    expect(start).toEqual({ type: 'start', unitId: 'w' });
    expect(completed.payload).toEqual(expect.objectContaining({ status: 'completed', reason: 'status-change', previous: 'running', current: 'completed' }));
    expect(complete.type).toBe('complete');
    expect(complete.unitId).toBe('w');
    expect(complete.result).toEqual({ answer: 42 });
    expect(complete.durationMs).toBe(10);
  });

  // The start and the end of a run each reach JavaScript as one record
  // (BEGIN, END); what every listener and hook sees of the unit is what it
  // saw when they were records of their own: lastRun before updated
  // running, onStart before the start event, the statistics before updated
  // completed, onComplete before the complete event.
  test("what a run's listeners and hooks see of the unit, in order", async () => {
    manager = createSynchronikManager({ clock: { manual: true, now: 1_000 } });
    const seen = [];
    const gate = deferred();
    const unit = {
      id: 'w',
      run: async () => {
        seen.push(`run ${unit.status}`);
        await gate.promise;
        return 'r';
      },
      onStart: () => seen.push(`onStart ${unit.status}`),
      onComplete: (result) => seen.push(`onComplete ${unit.status} ${result}`),
    };
    manager.registerUnit(unit);
    manager.on('updated', (e) => seen.push(`updated ${e.payload.previous}>${e.payload.current} ${unit.lastRun?.getTime()} runs ${unit.meta.runCount}`));
    manager.on('start', () => seen.push(`start ${unit.status}`));
    manager.on('complete', (e) => seen.push(`complete ${unit.status} ${e.result} ${e.durationMs} runs ${unit.meta.runCount}`));
    const done = manager.runWorkerById('w');
    await manager.clock.advance(5);
    gate.resolve();
    await done;
    expect(seen).toEqual([
      'updated idle>running 1000 runs 0',
      'onStart running',
      'start running',
      'run running',
      'updated running>completed 1000 runs 1',
      'onComplete completed r',
      'complete completed r 5 runs 1',
    ]);
  });

  test('a run that ends while its unit is paused changes no status; a status set by hand is the previous one', async () => {
    manager = createSynchronikManager({ clock: 'manual' });
    const seen = [];
    const gates = [deferred(), deferred()];
    let k = 0;
    const unit = { id: 'w', run: () => gates[k++].promise };
    manager.registerUnit(unit);
    manager.on('updated', (e) => seen.push(`updated ${e.payload.previous}>${e.payload.current}`));
    manager.on('complete', () => seen.push(`complete ${unit.status} runs ${unit.meta.runCount}`));
    const first = manager.runWorkerById('w');
    await manager.clock.advance(1);
    manager.updateStatus('w', 'paused');
    gates[0].resolve();
    await first;
    expect(unit.status).toBe('paused');
    manager.updateStatus('w', 'idle');
    const second = manager.runWorkerById('w');
    await manager.clock.advance(1);
    manager.updateStatus('w', 'error');
    gates[1].resolve();
    await second;
    expect(seen).toEqual([
      'updated idle>running',
      'updated running>paused',
      'complete paused runs 1',
      'updated paused>idle',
      'updated idle>running',
      'updated running>error',
      'updated error>completed',
      'complete completed runs 2',
    ]);
  });

  test('a failing run with retries: updated running, start, retry per retry, updated error, error', async () => {
    const { events } = recordEvents(manager);
    let n = 0;
    manager.registerUnit({
      id: 'f',
      maxRetries: 2,
      retryDelayMs: 5,
      run: async () => {
        n += 1;
        throw new Error(`boom ${n}`);
      },
    });
    await manager.runWorkerById('f');

    expect(events.map(describeEvent)).toEqual([
      'updated:f:idle>running',
      'start:f',
      'retry:f:1',
      'retry:f:2',
      'updated:f:running>error',
      'error:f',
    ]);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => [e.unitId, e.attempt, e.delayMs, e.error.message])).toEqual([
      ['f', 1, 5, 'boom 1'],
      ['f', 2, 5, 'boom 2'],
    ]);
    for (const r of retries) expect(r.error).toBeInstanceOf(Error);
    const error = events[5];
    expect(error.type).toBe('error');
    expect(error.error).toBeInstanceOf(Error);
    expect(error.error.message).toBe('boom 3');
    expect(events[4].payload.error).toBe(error.error);
  });

  test('runProcessById (sequential): exact order with milestones carrying { runMode }', async () => {
    const { events } = recordEvents(manager);
    manager.registerUnit({ id: 'p', workers: [{ id: 'a', run: async () => 'A' }, { id: 'b', run: () => 'B' }] });
    await manager.runProcessById('p');

    expect(events.map(describeEvent)).toEqual([
      'updated:p:idle>running',
      'start:p',
      'milestone:unit:p:running',
      'updated:a:idle>running',
      'start:a',
      'updated:a:running>completed',
      'complete:a',
      'updated:b:idle>running',
      'start:b',
      'updated:b:running>completed',
      'complete:b',
      'updated:p:running>completed',
      'complete:p',
      'milestone:unit:p:completed',
    ]);
    const milestones = events.filter((e) => e.type === 'milestone');
    expect(milestones).toEqual([
      { type: 'milestone', milestoneId: 'unit:p:running', payload: { runMode: 'sequential' } },
      { type: 'milestone', milestoneId: 'unit:p:completed', payload: { runMode: 'sequential' } },
    ]);
    expect(events.find((e) => e.type === 'complete' && e.unitId === 'a').result).toBe('A');
    expect(events.find((e) => e.type === 'complete' && e.unitId === 'b').result).toBe('B');
  });

  test.each(['parallel', 'batched', 'isolated'])('milestones carry runMode %s', async (runMode) => {
    const seen = [];
    manager.onMilestone((id, payload) => seen.push([id, payload]));
    manager.registerUnit({ id: 'p', runMode, isolationDelayMs: 1, workers: [{ id: 'a', run: () => 1 }] });
    await manager.runProcessById('p');
    expect(seen).toEqual([
      ['unit:p:running', { runMode }],
      ['unit:p:completed', { runMode }],
    ]);
  });

  describe('synchronous calls deliver their events before returning', () => {
    test('updateStatus', () => {
      manager.registerUnit({ id: 'w', run: () => {} });
      const { events } = recordEvents(manager);
      manager.updateStatus('w', 'paused');
      expect(events.map(describeEvent)).toEqual(['updated:w:idle>paused']);
      expect(events[0].payload).toEqual(expect.objectContaining({ reason: 'status-change', previous: 'idle', current: 'paused', status: 'paused' }));
      manager.updateStatus('w', 'running');
      expect(events.map(describeEvent)).toEqual(['updated:w:idle>paused', 'updated:w:paused>running', 'start:w']);
    });

    test('setting the same status again emits nothing', () => {
      manager.registerUnit({ id: 'w', run: () => {} });
      const { events } = recordEvents(manager);
      manager.updateStatus('w', 'idle');
      manager.updateStatus('w', 'paused');
      manager.updateStatus('w', 'paused');
      expect(events.map(describeEvent)).toEqual(['updated:w:idle>paused']);
    });

    test('disableWorker → one config-change updated event; repeating it emits nothing', () => {
      manager.registerUnit({ id: 'w', run: () => {} });
      const { events } = recordEvents(manager);
      manager.disableWorker('w');
      expect(events).toHaveLength(1);
      expect(events[0]).toEqual({
        type: 'updated',
        unitId: 'w',
        payload: expect.objectContaining({ reason: 'config-change', previous: 'idle', current: 'idle', enabled: false }),
      });
      manager.disableWorker('w');
      expect(events).toHaveLength(1);
      manager.enableWorker('w');
      expect(events).toHaveLength(2);
      expect(events[1].payload).toEqual(expect.objectContaining({ reason: 'config-change', enabled: true }));
    });

    test('updateWorkerConfig → one config-change updated event', () => {
      manager.registerUnit({ id: 'w', run: () => {} });
      const { events } = recordEvents(manager);
      manager.updateWorkerConfig('w', { maxRetries: 1 });
      expect(events.map(describeEvent)).toEqual(['updated:w:idle>idle:config']);
      expect(events[0].payload.maxRetries).toBe(1);
    });

    test('stopAll / startAll', () => {
      manager.registerUnit({ id: 'a', run: () => {} });
      manager.registerUnit({ id: 'b', run: () => {} });
      const { events } = recordEvents(manager);
      manager.stopAll();
      expect(events.map(describeEvent)).toEqual(['updated:a:idle>paused', 'updated:b:idle>paused']);
      manager.startAll();
      expect(events.map(describeEvent).slice(2)).toEqual(['updated:a:paused>idle', 'updated:b:paused>idle']);
    });
  });

  test('subscribeToEvents returns a working unsubscribe', async () => {
    manager.registerUnit({ id: 'w', run: () => {} });
    const listener = jest.fn();
    const unsubscribe = manager.subscribeToEvents(listener);
    expect(typeof unsubscribe).toBe('function');
    await manager.runWorkerById('w');
    const count = listener.mock.calls.length;
    expect(count).toBe(4);
    unsubscribe();
    await manager.runWorkerById('w');
    manager.emitMilestone('after');
    expect(listener).toHaveBeenCalledTimes(count);
  });

  test('subscribeToEvents receives every event type, including retry and milestone', async () => {
    const types = new Set();
    manager.subscribeToEvents((e) => types.add(e.type));
    let n = 0;
    manager.registerUnit({ id: 'w', maxRetries: 1, run: () => { n += 1; if (n === 1) throw new Error('once'); } });
    manager.registerUnit({ id: 'bad', run: () => { throw new Error('always'); } });
    await manager.runWorkerById('w');
    await manager.runWorkerById('bad');
    manager.emitMilestone('m');
    expect([...types].sort()).toEqual(['complete', 'error', 'milestone', 'retry', 'start', 'updated']);
  });

  test('onMilestone(handler) gets (id, payload); emitMilestone payload defaults to {}', () => {
    const handler = jest.fn();
    const off = manager.onMilestone(handler);
    const payload = { badge: 'gold', nested: { n: 1 } };
    manager.emitMilestone('with-payload', payload);
    manager.emitMilestone('without-payload');
    expect(handler).toHaveBeenNthCalledWith(1, 'with-payload', payload);
    expect(handler.mock.calls[0][1]).toBe(payload); // passed unchanged
    expect(handler).toHaveBeenNthCalledWith(2, 'without-payload', {});
    off();
    manager.emitMilestone('after-off');
    expect(handler).toHaveBeenCalledTimes(2);
  });

  test('emitMilestone events reach subscribeToEvents as milestone events', () => {
    const { events } = recordEvents(manager);
    manager.emitMilestone('x');
    manager.emitMilestone('y', { a: 1 });
    expect(events).toEqual([
      { type: 'milestone', milestoneId: 'x', payload: {} },
      { type: 'milestone', milestoneId: 'y', payload: { a: 1 } },
    ]);
  });

  test('ctx.emitMilestone from inside a run is delivered in order', async () => {
    const { events } = recordEvents(manager);
    manager.registerUnit({ id: 'w', run: (ctx) => { ctx.emitMilestone('inside', { step: 1 }); return 'r'; } });
    await manager.runWorkerById('w');
    expect(events.map(describeEvent)).toEqual([
      'updated:w:idle>running',
      'start:w',
      'milestone:inside',
      'updated:w:running>completed',
      'complete:w',
    ]);
    expect(events[2].payload).toEqual({ step: 1 });
  });

  test('onStart / onComplete / onError receive the event object and unsubscribe', async () => {
    const onStart = jest.fn();
    const onComplete = jest.fn();
    const onError = jest.fn();
    const offs = [manager.onStart(onStart), manager.onComplete(onComplete), manager.onError(onError)];
    const err = new Error('nope');
    manager.registerUnit({ id: 'ok', run: async () => 'res' });
    manager.registerUnit({ id: 'bad', run: async () => { throw err; } });
    await manager.runWorkerById('ok');
    await manager.runWorkerById('bad');

    expect(onStart).toHaveBeenCalledTimes(2);
    expect(onStart).toHaveBeenNthCalledWith(1, { type: 'start', unitId: 'ok' });
    expect(onStart).toHaveBeenNthCalledWith(2, { type: 'start', unitId: 'bad' });
    expect(onComplete).toHaveBeenCalledTimes(1);
    expect(onComplete).toHaveBeenCalledWith(expect.objectContaining({ type: 'complete', unitId: 'ok', result: 'res' }));
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith({ type: 'error', unitId: 'bad', error: err });

    offs.forEach((off) => off());
    await manager.runWorkerById('ok');
    await manager.runWorkerById('bad');
    expect(onStart).toHaveBeenCalledTimes(2);
    expect(onComplete).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  test('listeners registered with on() work for each type', async () => {
    const seen = [];
    for (const type of ['updated', 'start', 'complete', 'error', 'retry', 'milestone']) {
      manager.on(type, (e) => seen.push(e.type));
    }
    manager.registerUnit({ id: 'w', run: () => 1 });
    await manager.runWorkerById('w');
    expect(seen).toEqual(['updated', 'start', 'updated', 'complete']);
  });

  describe('throwing listeners', () => {
    test('do not break the engine and are reported on listenerError', async () => {
      const reported = [];
      manager.on('listenerError', (e) => reported.push(e));
      const boom = new Error('listener broke');
      manager.on('start', () => { throw boom; });
      const later = jest.fn();
      manager.on('start', later);
      const all = jest.fn(() => { throw new Error('subscriber broke'); });
      manager.subscribeToEvents(all);

      const w = { id: 'w', run: jest.fn(async () => 'fine') };
      manager.registerUnit(w);
      await expect(manager.runWorkerById('w')).resolves.toBeUndefined();

      expect(w.run).toHaveBeenCalledTimes(1);
      expect(w.status).toBe('completed');
      expect(later).toHaveBeenCalledTimes(1); // the next listener still ran
      expect(all).toHaveBeenCalledTimes(4);
      expect(reported.length).toBe(5);
      const fromStart = reported.filter((r) => r.error === boom);
      expect(fromStart).toHaveLength(1);
      expect(fromStart[0].event).toEqual(expect.objectContaining({ type: 'start', unitId: 'w' }));
      expect(reported.filter((r) => r.error.message === 'subscriber broke')).toHaveLength(4);

      // the manager keeps working afterwards
      await manager.runWorkerById('w');
      expect(w.run).toHaveBeenCalledTimes(2);
    });

    test('a throwing listener during a synchronous call does not make the call throw', () => {
      manager.on('listenerError', () => {});
      manager.on('updated', () => { throw new Error('no'); });
      manager.registerUnit({ id: 'w', run: () => {} });
      expect(() => manager.updateStatus('w', 'paused')).not.toThrow();
      expect(manager.getUnitStatus('w')).toBe('paused');
      expect(() => manager.disableWorker('w')).not.toThrow();
      expect(() => manager.emitMilestone('m')).not.toThrow();
    });

    test('without a listenerError listener it is printed once', async () => {
      const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
      try {
        manager.on('complete', () => { throw new Error('printed'); });
        const w = { id: 'w', run: () => 1 };
        manager.registerUnit(w);
        await manager.runWorkerById('w');
        await manager.runWorkerById('w');
        expect(w.meta.runCount).toBe(2);
        expect(spy).toHaveBeenCalledTimes(1);
        expect(spy.mock.calls[0].some((arg) => arg instanceof Error && arg.message === 'printed')).toBe(true);
      } finally {
        spy.mockRestore();
      }
    });
  });

  test('no listener: no event payload is built (a getter on the unit is never read)', async () => {
    let reads = 0;
    const w = { id: 'w', run: () => 1 };
    Object.defineProperty(w, 'expensive', { enumerable: true, get: () => { reads += 1; return 'x'; } });
    manager.registerUnit(w);
    await manager.runWorkerById('w');
    manager.updateStatus('w', 'paused');
    manager.updateStatus('w', 'idle');
    manager.disableWorker('w');
    expect(reads).toBe(0);
    manager.on('updated', () => {});
    manager.enableWorker('w');
    expect(reads).toBe(1);
  });

  test('no error listener: a failing run does not throw (EventEmitter error special case)', async () => {
    expect(manager.listenerCount('error')).toBe(0);
    manager.registerUnit({ id: 'bad', run: async () => { throw new Error('unheard'); } });
    await expect(manager.runWorkerById('bad')).resolves.toBeUndefined();
    expect(manager.getUnitStatus('bad')).toBe('error');
    manager.updateStatus('bad', 'idle');
    expect(() => manager.updateStatus('bad', 'error', { payload: { error: new Error('set by hand') } })).not.toThrow();
  });

  test('an updated listener that calls the manager sees events in engine order', async () => {
    const order = [];
    manager.registerUnit({ id: 'a', run: () => {} });
    manager.registerUnit({ id: 'b', run: () => {} });
    manager.subscribeToEvents((e) => {
      order.push(describeEvent(e));
      if (e.type === 'updated' && e.unitId === 'a' && e.payload.current === 'paused') {
        manager.updateStatus('b', 'paused');
      }
    });
    manager.updateStatus('a', 'paused');
    expect(order).toEqual(['updated:a:idle>paused', 'updated:b:idle>paused']);
  });

  test('error events for a SynchronikError failure carry the error instance', async () => {
    const errors = [];
    manager.onError((e) => errors.push(e.error));
    manager.registerUnit({ id: 't', timeoutMs: 10, run: () => new Promise(() => {}) });
    await manager.runWorkerById('t');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SynchronikError);
    expect(errors[0].code).toBe('ERR_TIMEOUT');
  });
});
