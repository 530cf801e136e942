'use strict';

// The embedded SQLite store (SPEC §10): `createSynchronikManager({ storage:
// { sqlite: path } })`. Unit state and durable pool tasks survive a restart
// (a new manager on the same file, or a process killed with SIGKILL), every
// attempt has a history row, and a file that is not a valid database is
// refused at creation and left as it was.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { createSynchronikManager, SynchronikError } = require('synchronik');
const { ROOT, sleep, errorOf, runNode } = require('./helpers');

let dir;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-sqlite-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const dbPath = () => path.join(dir, 'state.db');
const open = (extra = {}) => createSynchronikManager({ storage: { sqlite: dbPath() }, ...extra });

/**
 * Runs `body` in a child process with `m`, a manager on the database, and
 * kills that process with SIGKILL when the body's promise resolves (the
 * crash: nothing is closed). Resolves with what the child printed.
 */
async function crashAfter(body) {
  const script = `
    const { createSynchronikManager } = require('synchronik');
    const m = createSynchronikManager({ storage: { sqlite: ${JSON.stringify(dbPath())} } });
    (async () => { ${body} })().then(
      () => process.kill(process.pid, 'SIGKILL'),
      (e) => { console.error(e); process.exit(1); },
    );
  `;
  const r = await runNode(['-e', script]);
  expect({ signal: r.signal, stderr: r.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
  return r.stdout;
}

describe('unit state', () => {
  test('survives a restart: status, enabled, run statistics, lastRun and the user meta', async () => {
    const a = open();
    a.registerUnit({ id: 'w', run: async () => 'ok', meta: { team: 'billing' } });
    await a.runWorkerById('w');
    await a.runWorkerById('w');
    await a.disableWorker('w');
    await a.close();
    const lastRun = a.getUnitById('w').lastRun;

    const b = open();
    const w = { id: 'w', run: async () => 'ok' };
    b.registerUnit(w);
    expect(w.status).toBe('completed');
    expect(w.enabled).toBe(false);
    expect(w.meta.team).toBe('billing');
    expect(w.meta.runCount).toBe(2);
    expect(w.meta.executionTimesMs).toHaveLength(2);
    expect(w.lastRun).toEqual(lastRun);
    expect(b.getUnitStatus('w')).toBe('completed');
    // The engine has the restored state too: enabling and running counts on.
    await b.enableWorker('w');
    await b.runWorkerById('w');
    expect(w.meta.runCount).toBe(3);
    await b.close();
  });

  test("a user's own units named like pool workers are stored as any unit; the pool's workers are not", async () => {
    const a = open();
    a.registerUnit({ id: 'pool-worker-7', run: () => 1, meta: { team: 'billing' } });
    a.registerUnit({ id: 'x:pool-worker-1', run: () => 1, meta: { team: 'ops' } });
    const poolA = a.useWorkerPool(2);
    const named = a.useWorkerPool(1, { name: 'x2' });
    poolA.handle('h', () => 1);
    named.handle('h', () => 1);
    poolA.addTask({ name: 't', handler: 'h' });
    named.addTask({ name: 't', handler: 'h' });
    a.start();
    await poolA.onIdle();
    await named.onIdle();
    await a.runWorkerById('pool-worker-7');
    await a.runWorkerById('pool-worker-7');
    await a.runWorkerById('x:pool-worker-1');
    await a.updateWorkerConfig('x:pool-worker-1', { meta: { team: 'infra' } });
    await a.updateWorkerConfig('pool-worker-1', { meta: { note: 'a' } });
    await a.updateWorkerConfig('x2:pool-worker-1', { meta: { note: 'b' } });
    await a.close();

    const b = open();
    const seven = { id: 'pool-worker-7', run: () => 1 };
    const x1 = { id: 'x:pool-worker-1', run: () => 1 };
    b.registerUnit(seven);
    b.registerUnit(x1);
    expect(seven.status).toBe('completed');
    expect(seven.meta).toMatchObject({ team: 'billing', runCount: 2 });
    expect(seven.meta.executionTimesMs).toHaveLength(2);
    expect(x1.meta).toMatchObject({ team: 'infra', runCount: 1 });
    // The pools' workers are the pools' machinery: not stored, not restored.
    b.useWorkerPool(1);
    b.useWorkerPool(1, { name: 'x2' });
    expect(b.getUnitById('pool-worker-1').meta).not.toHaveProperty('note');
    expect(b.getUnitById('x2:pool-worker-1').meta).not.toHaveProperty('note');
    await b.close();
  });

  test('the promise of a state method resolves once the change is committed', async () => {
    // The process dies right after the promise resolves: the change is on disk.
    await crashAfter(`
      m.registerUnit({ id: 'w', run: () => 1 });
      await m.updateStatus('w', 'paused');
    `);
    const b = open();
    const w = { id: 'w', run: () => 1 };
    b.registerUnit(w);
    expect(w.status).toBe('paused');
    await b.close();
  });

  test('a unit that was running when the process ended comes back idle', async () => {
    await crashAfter(`
      m.registerUnit({ id: 'slow', timeoutMs: 0, run: () => new Promise(() => {}) });
      m.runWorkerById('slow');
      if (m.getUnitStatus('slow') !== 'running') throw new Error('not running');
      await m.flush();
    `);
    const b = open();
    const w = { id: 'slow', run: () => 1 };
    b.registerUnit(w);
    expect(w.status).toBe('idle');
    await b.close();
  });

  test('interval workers restored after a restart run once per interval (no burst)', async () => {
    const a = open();
    a.registerUnit({ id: 'tick', intervalMs: 50, runOnInterval: true, run: () => 1 });
    await a.runWorkerById('tick');
    await a.close();
    const b = open({ clock: 'manual' });
    const run = jest.fn();
    b.registerUnit({ id: 'tick', intervalMs: 50, runOnInterval: true, run });
    b.start();
    await b.clock.advance(10);
    expect(run).toHaveBeenCalledTimes(0);
    await b.clock.advance(200);
    expect(run).toHaveBeenCalledTimes(4);
    await b.close();
  });
});

describe('durable pool tasks', () => {
  test('queued tasks survive a restart, in order, with their payload and idempotency key', async () => {
    const a = open();
    const poolA = a.useWorkerPool(1, { name: 'jobs' });
    const low = poolA.addTask({ name: 'low', handler: 'send', payload: { to: 'a@x' } });
    poolA.addTask({ name: 'high', handler: 'send', payload: { to: 'b@x', n: [1, 2] }, priority: 5 });
    poolA.addTask({ name: 'inline', execute: () => 1 });
    expect(low.idempotencyKey).toEqual(expect.any(String));
    await a.close();

    const b = open();
    const seen = [];
    const pool = b.useWorkerPool(1, { name: 'jobs' });
    expect(pool.simulateRun()).toBe('Execution sequence: 1. high, 2. low');
    pool.handle('send', (payload, ctx) => {
      seen.push({ payload, key: ctx.idempotencyKey, attempt: ctx.attempt });
    });
    b.start();
    await pool.onIdle();
    expect(seen).toEqual([
      { payload: { to: 'b@x', n: [1, 2] }, key: expect.any(String), attempt: 1 },
      { payload: { to: 'a@x' }, key: low.idempotencyKey, attempt: 1 },
    ]);
    // New tasks are arranged after the restored ones.
    const next = pool.addTask({ name: 'next', handler: 'send' });
    expect(next.arrangementId).toBeGreaterThan(2);
    await pool.onIdle();
    await b.close();

    const c = open();
    expect(c.useWorkerPool(1, { name: 'jobs' }).simulateRun()).toBe('No tasks pending for execution.');
    await c.close();
  });

  test('updateTask stores the new payload and priority of a queued task', async () => {
    const a = open();
    const poolA = a.useWorkerPool(1);
    poolA.addTask({ name: 'a', handler: 'h', payload: { v: 1 } });
    poolA.addTask({ name: 'b', handler: 'h', payload: { v: 2 } });
    poolA.updateTask('b', { payload: { v: 3 }, priority: 9 });
    expect(() => poolA.updateTask('a', { payload: { f: () => 1 } })).toThrow(/^updateTask: task\.payload must be JSON-serialisable/);
    await a.close();
    const b = open();
    const pool = b.useWorkerPool(1);
    const seen = [];
    pool.handle('h', (payload) => seen.push(payload));
    pool.start();
    await pool.onIdle();
    expect(seen).toEqual([{ v: 3 }, { v: 1 }]);
    await b.close();
  });

  test('a task that was running when the process ended runs again with the next attempt and the same key', async () => {
    const keyA = (
      await crashAfter(`
        const pool = m.useWorkerPool(1);
        let key;
        pool.handle('job', (payload, ctx) => {
          key = ctx.idempotencyKey;
          return new Promise(() => {}); // the process dies here
        });
        pool.addTask({ name: 'charge', handler: 'job', payload: { amount: 3 } });
        pool.start();
        await m.flush();
        console.log(key);
      `)
    ).trim();
    expect(keyA).toMatch(/\S/);

    const b = open();
    const pool = b.useWorkerPool(1);
    const ctxs = [];
    pool.handle('job', (payload, ctx) => {
      ctxs.push({ payload, key: ctx.idempotencyKey, attempt: ctx.attempt });
    });
    pool.start();
    await pool.onIdle();
    expect(ctxs).toEqual([{ payload: { amount: 3 }, key: keyA, attempt: 2 }]);
    await b.close();
  });

  test('a payload that cannot be stored as JSON is a TypeError naming task.payload, and nothing is queued', async () => {
    const m = open();
    const pool = m.useWorkerPool(1);
    const circular = { a: 1 };
    circular.self = circular;
    const bad = [
      [() => 1, /function/],
      [{ f() {} }, /function at key "f"/],
      [{ s: Symbol('x') }, /symbol/],
      [{ n: 10n }, /BigInt/],
      [circular, /circular/],
    ];
    for (const [payload, reason] of bad) {
      const e = await errorOf(() => pool.addTask({ name: 'x', handler: 'h', payload }));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^addTask: task\.payload must be JSON-serialisable/);
      expect(e.message).toMatch(reason);
    }
    expect(pool.simulateRun()).toBe('No tasks pending for execution.');
    // An inline task is memory-only: any payload will do.
    expect(pool.addTask({ name: 'inline', execute: () => 1, payload: circular })).not.toBeNull();
    // A duplicate pending name is refused as without a store.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    pool.addTask({ name: 'dup', handler: 'h' });
    expect(pool.addTask({ name: 'dup', handler: 'h' })).toBeNull();
    expect(warn).toHaveBeenCalledWith('Task with name "dup" already exists.');
    warn.mockRestore();
  });

  test('stop() resolves once everything is committed', async () => {
    const m = open();
    const pool = m.useWorkerPool(2);
    pool.handle('h', () => 1);
    for (let i = 0; i < 200; i++) pool.addTask({ name: `t${i}`, handler: 'h', payload: { i } });
    m.start();
    await pool.onIdle();
    await m.stop();
    const stats = m.getEngineStats().storage;
    expect(stats.pendingWrites).toBe(0);
    expect(stats.bytes).toBeGreaterThan(0);
  });
});

describe('history', () => {
  test('one row per attempt of a worker, with the error message of each failure', async () => {
    const m = open();
    let n = 0;
    m.registerUnit({
      id: 'flaky',
      maxRetries: 2,
      run: async () => {
        n += 1;
        if (n < 3) throw new Error(`failure ${n}`);
        return 'ok';
      },
    });
    const before = Date.now();
    await m.runWorkerById('flaky');
    const rows = await m.history({ unitId: 'flaky' });
    expect(rows.map((r) => [r.attempt, r.outcome, r.error])).toEqual([
      [3, 'completed', undefined],
      [2, 'error', 'failure 2'],
      [1, 'error', 'failure 1'],
    ]);
    for (const r of rows) {
      expect(r.unitId).toBe('flaky');
      expect(r.startedAt).toBeInstanceOf(Date);
      expect(r.endedAt.getTime()).toBeGreaterThanOrEqual(r.startedAt.getTime());
      expect(r.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
      expect(r).not.toHaveProperty('task');
    }
    expect(await m.history({ unitId: 'flaky', limit: 1 })).toHaveLength(1);
    expect(await m.history({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  test('durable tasks have rows naming the task, its key and its error', async () => {
    const m = open();
    const pool = m.useWorkerPool(1, { name: 'mail' });
    pool.handle('send', (payload) => {
      if (payload.fail) throw new Error('mailbox full');
    });
    const ok = pool.addTask({ name: 'ok', handler: 'send', payload: {} });
    pool.addTask({ name: 'bad', handler: 'send', payload: { fail: true } });
    pool.start();
    await pool.onIdle();
    const rows = await m.history();
    expect(rows).toEqual([
      expect.objectContaining({ unitId: 'mail:pool-worker-1', attempt: 1, outcome: 'error', error: 'mailbox full', task: expect.objectContaining({ name: 'bad', pool: 'mail' }) }),
      expect.objectContaining({ outcome: 'completed', task: { name: 'ok', pool: 'mail', idempotencyKey: ok.idempotencyKey } }),
    ]);
    await m.stop();
  });

  test('retention keeps at most maxRows rows; maxAgeMs drops old rows; history: false keeps none', async () => {
    // Rows carry the engine clock's wall time: these are a minute old, so a
    // maxAgeMs below that drops them without waiting for real time to pass.
    const aMinuteAgo = { manual: true, now: Date.now() - 60_000 };
    const m = open({ clock: aMinuteAgo, storage: { sqlite: dbPath(), history: { maxRows: 5 } } });
    const pool = m.useWorkerPool(2);
    pool.handle('h', () => 1);
    for (let i = 0; i < 30; i++) pool.addTask({ name: `t${i}`, handler: 'h' });
    pool.start();
    await pool.onIdle();
    await m.flush();
    const rows = await m.history({ limit: 1000 });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(5);
    expect(rows[0].task.name).toBe('t29');
    await m.close();

    const kept = open({ storage: { sqlite: dbPath(), history: { maxAgeMs: 120_000 } } });
    expect(await kept.history({ limit: 1000 })).toHaveLength(rows.length);
    await kept.close();
    const aged = open({ storage: { sqlite: dbPath(), history: { maxAgeMs: 30_000 } } });
    expect(await aged.history({ limit: 1000 })).toEqual([]);

    const off = open({ storage: { sqlite: path.join(dir, 'off.db'), history: false } });
    off.registerUnit({ id: 'w', run: () => 1 });
    await off.runWorkerById('w');
    expect(await off.history()).toEqual([]);
  });

  test('history() without a SQLite store rejects with ERR_STORAGE; bad queries are TypeErrors', async () => {
    const plain = createSynchronikManager();
    const e = await errorOf(() => plain.history());
    expect(e).toBeInstanceOf(SynchronikError);
    expect(e.code).toBe('ERR_STORAGE');
    await expect(plain.flush()).resolves.toBeUndefined();
    const m = open();
    await expect(m.history({ limit: 0 })).rejects.toThrow('history: query.limit must be a positive integer (got 0)');
    await expect(m.history({ unitId: 3 })).rejects.toThrow(TypeError);
    await expect(m.history({ since: 'yesterday' })).rejects.toThrow(/query\.since must be a Date/);
  });
});

describe('opening', () => {
  test('bad storage options are TypeErrors naming the field', () => {
    expect(() => createSynchronikManager({ storage: 'state.db' })).toThrow(/^createSynchronikManager: options\.storage must be an object/);
    expect(() => createSynchronikManager({ storage: { sqlite: 3 } })).toThrow(
      'createSynchronikManager: options.storage.sqlite must be a non-empty string (the database file) (got number)',
    );
    expect(() => createSynchronikManager({ storage: { sqlite: 'x.db', history: { maxRows: -1 } } })).toThrow(/options\.storage\.history\.maxRows must be a non-negative integer/);
    expect(() => createSynchronikManager({ storage: { sqlite: 'x.db', history: 'yes' } })).toThrow(/options\.storage\.history must be false or an object/);
    expect(() => createSynchronikManager({ storage: { sqlite: 'x.db', file: 'y' } })).toThrow(/options\.storage\.file is not an option/);
  });

  test('a file of garbage is refused at creation with ERR_STORAGE naming it, and left unchanged', () => {
    const file = path.join(dir, 'garbage.db');
    const bytes = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251));
    fs.writeFileSync(file, bytes);
    let error;
    try {
      createSynchronikManager({ storage: { sqlite: file } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SynchronikError);
    expect(error.code).toBe('ERR_STORAGE');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not a SQLite database/);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['garbage.db']);
  });

  test('a truncated database is refused at creation, and left unchanged', async () => {
    const file = dbPath();
    // A real database, written and closed by another process.
    const script = `
      const { createSynchronikManager } = require('synchronik');
      const m = createSynchronikManager({ storage: { sqlite: ${JSON.stringify(file)} } });
      const pool = m.useWorkerPool(1);
      for (let i = 0; i < 3000; i++) pool.addTask({ name: 't' + i, handler: 'h', payload: { text: 'x'.repeat(40) } });
      m.flush().then(() => console.log('ok'));
    `;
    const r = await runNode(['-e', script]);
    expect(r.stdout.trim()).toBe('ok');
    expect(fs.existsSync(`${file}-wal`)).toBe(false); // closed cleanly at exit
    const full = fs.readFileSync(file);
    expect(full.length).toBeGreaterThan(64 * 1024);
    const cut = full.subarray(0, Math.floor(full.length / 2));
    fs.writeFileSync(file, cut);
    const e = await errorOf(() => createSynchronikManager({ storage: { sqlite: file } }));
    expect(e.code).toBe('ERR_STORAGE');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/corrupt or truncated|malformed/);
    expect(fs.readFileSync(file).equals(cut)).toBe(true);
  });

  test('a directory that cannot hold the file is refused at creation', () => {
    // Tests may run as root, for whom permissions do not block writes: use
    // paths that cannot be created whoever asks.
    const asFile = path.join(dir, 'plain-file');
    fs.writeFileSync(asFile, 'x');
    for (const file of ['/dev/null/x/state.db', path.join(asFile, 'state.db'), path.join(dir, 'missing', 'state.db')]) {
      const e = (() => {
        try {
          createSynchronikManager({ storage: { sqlite: file } });
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(SynchronikError);
      expect(e.code).toBe('ERR_STORAGE');
      expect(e.message).toContain(file);
      expect(e.message).toMatch(/cannot create the database/);
    }
    const e = (() => {
      try {
        createSynchronikManager({ storage: { sqlite: dir } });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e.message).toMatch(/is a directory/);
  });

  test('an empty file is an empty store', async () => {
    fs.writeFileSync(dbPath(), '');
    const m = open();
    expect(m.getEngineStats().storage.pendingWrites).toBe(0);
    m.registerUnit({ id: 'w', run: () => 1 });
    await m.runWorkerById('w');
    await m.flush();
  });
});

describe('one manager per database file', () => {
  const inUse = (e, pid) => {
    expect(e).toMatchObject({ name: 'SynchronikError', code: 'ERR_STORAGE' });
    expect(e.message).toContain(dbPath());
    expect(e.message).toMatch(/in use by another manager/);
    expect(e.message).toContain(`pid ${pid} on host ${os.hostname()}, since `);
  };

  test('a second manager in the same process is refused with ERR_STORAGE naming the holder; after close() it opens', async () => {
    const a = open();
    a.registerUnit({ id: 'w', run: () => 1 });
    const refused = await errorOf(() => open());
    expect(refused).toBeInstanceOf(SynchronikError);
    inUse(refused, process.pid);
    expect((await errorOf(() => open())).message).toContain(`this process, pid ${process.pid}`);
    // The refused managers changed nothing: the first one works on.
    await a.runWorkerById('w');
    await a.flush();
    expect(fs.readFileSync(`${dbPath()}.lock`, 'utf8')).toContain(`pid: ${process.pid}`);
    await a.close();
    expect(fs.existsSync(`${dbPath()}.lock`)).toBe(false);
    const b = open();
    const w = { id: 'w', run: () => 1 };
    b.registerUnit(w);
    expect(w.meta.runCount).toBe(1);
    await b.close();
  });

  test('a second process is refused naming the first one; once the first is killed (SIGKILL), the file opens again', async () => {
    const db = dbPath();
    const first = spawn(
      process.execPath,
      [
        '-e',
        `
        const { createSynchronikManager } = require('synchronik');
        const m = createSynchronikManager({ storage: { sqlite: ${JSON.stringify(db)} } });
        const pool = m.useWorkerPool(1, { name: 'jobs' });
        pool.handle('job', (payload) => console.log('ran ' + payload.n));
        m.start();
        console.log('ready');
        setInterval(() => {}, 1000);
      `,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const ended = new Promise((resolve) => first.on('close', (code, signal) => resolve(signal)));
    try {
      let out = '';
      await new Promise((resolve, reject) => {
        first.stdout.on('data', (d) => {
          out += d;
          if (out.includes('ready')) resolve();
        });
        first.on('close', () => reject(new Error('the first process ended')));
      });
      const second = await runNode([
        '-e',
        `
        const { createSynchronikManager } = require('synchronik');
        try {
          createSynchronikManager({ storage: { sqlite: ${JSON.stringify(db)} } });
          console.log(JSON.stringify({ opened: true }));
        } catch (e) {
          console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }));
        }
      `,
      ]);
      const refusal = JSON.parse(second.stdout);
      inUse(refusal, first.pid);
      expect(refusal.message).not.toContain('this process');
      // The OS lock dies with the process; the file it leaves is no obstacle.
      first.kill('SIGKILL');
      expect(await ended).toBe('SIGKILL');
      expect(fs.existsSync(`${db}.lock`)).toBe(true);
      const m = open();
      const pool = m.useWorkerPool(1, { name: 'jobs' });
      pool.addTask({ name: 't', handler: 'job', payload: { n: 1 } });
      await m.flush();
      expect(fs.readFileSync(`${db}.lock`, 'utf8')).toContain(`pid: ${process.pid}`);
      await m.close();
    } finally {
      first.kill('SIGKILL');
    }
  });
});

describe('lifetime', () => {
  test('close() commits, closes the file and ends the threads; the state is there for the next manager', async () => {
    const a = open();
    a.registerUnit({ id: 'w', run: () => 1 });
    await a.runWorkerById('w');
    a.useWorkerPool(1).addTask({ name: 'later', handler: 'h' });
    await a.close();
    expect(fs.existsSync(`${dbPath()}-wal`)).toBe(false);
    // A closed manager refuses: nothing could be stored or read any more.
    await expect(a.flush()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(a.history()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const b = open();
    const w = { id: 'w', run: () => 1 };
    b.registerUnit(w);
    expect(w.meta.runCount).toBe(1);
    expect(b.useWorkerPool(1).simulateRun()).toBe('Execution sequence: 1. later');
    await b.close();
  });

  test('a worker thread with a store commits what it was sent and closes the file when it exits', async () => {
    const { Worker } = require('node:worker_threads');
    const file = dbPath();
    const worker = new Worker(
      `
      const { createSynchronikManager } = require(${JSON.stringify(ROOT)});
      const m = createSynchronikManager({ storage: { sqlite: ${JSON.stringify(file)} } });
      const pool = m.useWorkerPool(1);
      for (let i = 0; i < 100; i++) pool.addTask({ name: 't' + i, handler: 'h', payload: { i } });
    `,
      { eval: true },
    );
    const code = await new Promise((resolve) => worker.on('exit', resolve));
    expect(code).toBe(0);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const m = open();
    const pool = m.useWorkerPool(1);
    expect(pool.simulateRun()).toMatch(/^Execution sequence: 1\. t0, 2\. t1, /);
    expect(m.getEngineStats().engine.queued).toBe(100);
  });
});

describe('crash safety', () => {
  /** Starts the child; resolves { code, signal, stdout } when it ends. */
  function child(args) {
    const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'durable-child.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const ended = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { proc, ended };
  }

  const lines = (log) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

  /**
   * Kills the child with SIGKILL once the log has `count` lines. The child
   * is a real process working in real time: its log is polled every 2 ms.
   */
  async function killAt(run, log, count) {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (lines(log).length >= count) {
        run.proc.kill('SIGKILL');
        break;
      }
      await sleep(2);
    }
    return run.ended;
  }

  test('killed with SIGKILL twice in the middle of 2,000 durable tasks, every task runs to completion, none lost', async () => {
    const db = dbPath();
    const log = path.join(dir, 'log.txt');
    const total = 2000;

    const first = await killAt(child([db, log, String(total)]), log, 300);
    expect(first.signal).toBe('SIGKILL');
    expect(first.stdout).toContain('seeded');
    const second = await killAt(child([db, log, '0']), log, 1100);
    expect(second.signal).toBe('SIGKILL');
    const last = await child([db, log, '0']).ended;
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: '' });
    expect(last.stdout).toContain('done');

    const entries = lines(log).map((l) => l.split(' '));
    const byName = new Map();
    for (const [name, attempt, key] of entries) {
      if (!byName.has(name)) byName.set(name, []);
      byName.get(name).push({ attempt: Number(attempt), key });
    }
    const missing = [];
    for (let i = 0; i < total; i++) if (!byName.has(`t${i}`)) missing.push(`t${i}`);
    expect(missing).toEqual([]);
    expect(byName.size).toBe(total);
    // A task that ran more than once kept its idempotency key.
    for (const runs of byName.values()) {
      expect(new Set(runs.map((r) => r.key)).size).toBe(1);
    }
    // Nothing is left to do.
    const m = open();
    expect(m.useWorkerPool(1, { name: 'jobs' }).simulateRun()).toBe('No tasks pending for execution.');
  }, 60_000);
});
