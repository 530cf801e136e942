'use strict';

// Config that comes from JSON must never change an object's prototype.
// JSON.parse('{"__proto__": …}') makes an own "__proto__" key; copied with
// Object.assign or `obj[key] = value` it would replace the target's
// prototype. Such a key in a config change, an updateStatus payload or an
// updateTask partial is refused with a TypeError naming the field; copies
// the package makes (snapshots, updated payloads, stored meta) keep it as
// an ordinary field.

const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { createSynchronikManager } = require('..');
const { errorOf } = require('./helpers');

const injected = () => JSON.parse('{"__proto__": {"injected": true}, "maxRetries": 2}');

describe('a "__proto__" key from JSON', () => {
  test.each(['updateWorkerConfig', 'updateUnitConfig'])('%s refuses it and changes nothing', async (method) => {
    const m = createSynchronikManager();
    const w = m.registerUnit({ id: 'w', run: () => {} });
    const proto = Object.getPrototypeOf(w);
    const error = await errorOf(() => m[method]('w', injected()));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(new RegExp(`^${method}: config\\.__proto__ is not a field that can be set`));
    expect(Object.getPrototypeOf(w)).toBe(proto);
    expect(w.injected).toBeUndefined();
    expect(w.maxRetries).toBeUndefined();
  });

  test('updateProcessConfig refuses it', async () => {
    const m = createSynchronikManager();
    const p = m.registerUnit({ id: 'p', workers: [{ id: 'a', run: () => {} }] });
    const error = await errorOf(() => m.updateProcessConfig('p', JSON.parse('{"__proto__": {"injected": true}}')));
    expect(error.message).toMatch(/^updateProcessConfig: config\.__proto__ /);
    expect(p.injected).toBeUndefined();
  });

  test('updateStatus refuses it in the payload', async () => {
    const m = createSynchronikManager();
    const w = m.registerUnit({ id: 'w', run: () => {} });
    const error = await errorOf(() => m.updateStatus('w', 'paused', { payload: JSON.parse('{"__proto__": {"injected": true}, "note": "x"}') }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^updateStatus: options\.payload\.__proto__ is not a field that can be set/);
    expect(w.injected).toBeUndefined();
    expect(w.status).toBe('idle');
  });

  test('updateTask refuses it in the partial; the task object keeps its prototype', () => {
    const m = createSynchronikManager();
    const pool = m.useWorkerPool(1);
    const task = pool.addTask({ name: 't', execute: () => {} });
    expect(() => pool.updateTask('t', JSON.parse('{"__proto__": {"injected": true}, "payload": 1}'))).toThrow(
      /^updateTask: partial\.__proto__ is not a field that can be set/,
    );
    expect(Object.getPrototypeOf(task)).toBe(Object.prototype);
    expect(task.injected).toBeUndefined();
    expect(task.payload).toBeUndefined();
  });

  test('a "constructor" or "prototype" key is an ordinary field of the unit', async () => {
    const m = createSynchronikManager();
    const w = m.registerUnit({ id: 'w', run: () => {} });
    await m.updateWorkerConfig('w', JSON.parse('{"constructor": {"x": 1}, "prototype": 2}'));
    expect(Object.getPrototypeOf(w)).toBe(Object.prototype);
    expect(w.constructor).toEqual({ x: 1 });
    expect(w.prototype).toBe(2);
  });

  test('meta with a "__proto__" key stays a field: in the snapshot, the updated payload and the SQLite store', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-proto-'));
    const file = path.join(dir, 'state.db');
    try {
      const m = createSynchronikManager({ storage: { sqlite: file } });
      const payloads = [];
      m.on('updated', (e) => payloads.push(e.payload));
      const unit = JSON.parse('{"id": "w", "__proto__": {"fromUnit": true}, "meta": {"__proto__": {"fromMeta": true}, "team": "a"}}');
      unit.run = () => {};
      m.registerUnit(unit);
      await m.updateStatus('w', 'paused');
      const [snap] = m.getRegistrySnapshot();
      expect(Object.getPrototypeOf(snap)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(snap.meta)).toBe(Object.prototype);
      expect(snap.fromUnit).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(snap, '__proto__')).toBe(true);
      expect(Object.prototype.hasOwnProperty.call(snap.meta, '__proto__')).toBe(true);
      expect(payloads.length).toBeGreaterThan(0);
      for (const p of payloads) expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
      await m.close();

      const again = createSynchronikManager({ storage: { sqlite: file } });
      const back = again.registerUnit({ id: 'w', run: () => {} });
      expect(back.meta.team).toBe('a');
      expect(Object.getPrototypeOf(back.meta)).toBe(Object.prototype);
      expect(back.meta.fromMeta).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(back.meta, '__proto__')).toBe(true);
      await again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
