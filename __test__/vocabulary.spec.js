'use strict';

// The engine's vocabulary (crates/synchronik-core/src/vocabulary.rs) is the
// one definition of the record layout, names, codes, defaults and setting
// rules; lib/generated/ is made from it, and the facade reads it from there.

const fs = require('fs');
const path = require('path');
const native = require('../lib/native.js');
const vocabulary = require('../lib/generated/vocabulary');
const { stale } = require('../scripts/vocabulary.js');
const ops = require('../lib/ops.js');
const v = require('../lib/validate.js');
const errors = require('../lib/errors.js');
const { MAX_POOL_SIZE } = require('../lib/pool.js');
const { createSynchronikManager } = require('..');
const { errorOf } = require('./helpers');

describe('lib/generated', () => {
  test('holds what the engine renders now (npm run vocabulary rewrites it)', () => {
    expect(stale()).toEqual([]);
  });

  test('says it is generated and not to be edited', () => {
    const { javascript, typescript } = native.vocabulary();
    for (const text of [javascript, typescript]) expect(text.split('\n')[0]).toMatch(/GENERATED FILE, DO NOT EDIT/);
  });
});

describe('the facade reads the vocabulary and keeps no copy', () => {
  test('record layout and names', () => {
    expect(ops.STRIDE).toBe(vocabulary.STRIDE);
    for (const [name, number] of Object.entries(vocabulary.OPS)) expect(ops[name]).toBe(number);
    expect(ops.STATUSES).toBe(vocabulary.STATUSES);
    expect(ops.RUN_MODES).toBe(vocabulary.RUN_MODES);
    expect(ops.REASONS).toBe(vocabulary.UPDATE_REASONS);
    expect(ops.SKIP_REASONS).toBe(vocabulary.SKIP_REASONS);
    expect(ops.PHASES).toBe(vocabulary.PHASES);
    expect(v.STATUSES).toBe(vocabulary.STATUSES);
    expect(v.RUN_MODES).toBe(vocabulary.RUN_MODES);
    expect(MAX_POOL_SIZE).toBe(vocabulary.DEFAULTS.maxPoolSize);
  });

  test("the bridge's record switch: each case is the number of the opcode its comment names, every opcode once", () => {
    const source = fs.readFileSync(path.join(__dirname, '..', 'lib', 'bridge.js'), 'utf8');
    const cases = [...source.matchAll(/^\s*case (\d+): (?:\{ )?\/\/ ([A-Z_]+)$/gm)].map((m) => [m[2], Number(m[1])]);
    expect(cases).toHaveLength(Object.keys(vocabulary.OPS).length);
    expect(Object.fromEntries(cases)).toEqual(vocabulary.OPS);
  });

  test('error codes and abort reasons', () => {
    const { errors: codes, aborts } = native.engineCodes();
    expect(vocabulary.ERROR_CODES.map(({ number, code }) => ({ number, code }))).toEqual(codes);
    expect(vocabulary.ABORT_REASONS.map(({ number, code }) => ({ number, code }))).toEqual(aborts);
    for (const { number, code } of aborts) expect(errors.ABORT_CODES[number]).toBe(code);
  });

  test('every setting is read by a reader of its own, which reads that field, own or inherited', () => {
    for (const s of vocabulary.UNIT_SETTINGS) {
      const read = v.READERS[s.key];
      expect(typeof read).toBe('function');
      const value = Symbol(s.key);
      expect(read({ [s.key]: value })).toBe(value);
      expect(read(Object.create({ [s.key]: value }))).toBe(value);
      expect(read({ [`${s.key}x`]: value })).toBeUndefined();
    }
  });

  test('every setting rule is applied with its expectation', async () => {
    const bad = { string: 1, boolean: 'yes', object: 'x', function: 1, array: 'x', 'one-of': 'nope', 'number-or-function': -1 };
    for (const s of vocabulary.UNIT_SETTINGS) {
      const value = s.kind === 'number' || s.kind === 'integer' ? (s.exclusive ? s.min : s.min - 1) : bad[s.kind];
      expect(value).toBeDefined();
      const unit = s.group === 'process' ? { id: 'p', workers: [], [s.key]: value } : { id: 'w', run: () => {}, [s.key]: value };
      const m = createSynchronikManager({ clock: 'manual' });
      const error = await errorOf(() => m.registerUnit(unit));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message.startsWith(`registerUnit: unit.${s.key} must be ${s.expected} (got `)).toBe(true);
    }
  });

  test('every default a setting has is a value its rule accepts', () => {
    for (const s of vocabulary.UNIT_SETTINGS.filter((x) => x.default !== undefined)) {
      expect(vocabulary.DEFAULTS[s.key]).toBe(s.default);
      const unit = s.group === 'process' ? { id: 'p', workers: [], [s.key]: s.default } : { id: 'w', run: () => {}, [s.key]: s.default };
      const m = createSynchronikManager({ clock: 'manual' });
      expect(() => m.registerUnit(unit)).not.toThrow();
    }
  });

  test("the engine's default timeout is the vocabulary's", async () => {
    const m = createSynchronikManager({ clock: 'manual' });
    m.registerUnit({ id: 'slow', run: () => new Promise(() => {}) });
    const run = m.runWorkerById('slow');
    await m.clock.advance(vocabulary.DEFAULTS.timeoutMs - 1);
    expect(m.getUnitStatus('slow')).toBe('running');
    await m.clock.advance(1);
    await run;
    expect(m.getUnitStatus('slow')).toBe('error');
    expect(m.getUnitById('slow').error.code).toBe('ERR_TIMEOUT');
  });
});
