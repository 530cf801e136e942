'use strict';

// Keys that are none of ours in the objects the package takes besides the
// manager's options and units. Option bags that exist only for the call
// (runWorkerTasks' options and config, pool.run's options, useWorkerPool's
// options) refuse them with a TypeError that suggests the nearest name, as
// createSynchronikManager does. Pool task objects are kept and handed back,
// so they may carry fields of the user's own: as with units, a key one slip
// away from a task field is warned about once (SYNCHRONIK_UNKNOWN_OPTION)
// and kept.

const { runWorkerTasks } = require('..');
const { errorOf, warningsOf, closedAfterEach } = require('./helpers');


const create = closedAfterEach();

describe('runWorkerTasks refuses keys that are not options', () => {
  test.each([
    ['retries', 'maxRetries'],
    ['retry', 'maxRetries'],
    ['maxRetry', 'maxRetries'],
    ['retryDelay', 'retryDelayMs'],
    ['concurency', 'concurrency'],
    ['onprogress', 'onProgress'],
  ])('list form: options.%s → did you mean "%s"? (and nothing runs)', async (key, meant) => {
    const execute = jest.fn(() => 1);
    const error = await errorOf(() => runWorkerTasks([{ id: 'a', execute }], { [key]: 3 }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`runWorkerTasks: options.${key} is not an option; did you mean "${meant}"?`);
    expect(execute).not.toHaveBeenCalled();
  });

  test.each([
    ['retries', 'maxRetries'],
    ['item', 'items'],
    ['getTaskID', 'getTaskId'],
    ['excute', 'execute'],
  ])('config form: config.%s → did you mean "%s"? (and nothing runs)', async (key, meant) => {
    const execute = jest.fn((x) => x);
    const config = { items: [1], execute, [key]: key === 'getTaskID' ? String : 3 };
    const error = await errorOf(() => runWorkerTasks(config));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`runWorkerTasks: config.${key} is not an option; did you mean "${meant}"?`);
    expect(execute).not.toHaveBeenCalled();
  });

  test('a key near no option lists the options', async () => {
    const tasks = [{ id: 'a', execute: () => 1 }];
    await expect(runWorkerTasks(tasks, { timeout: 5 })).rejects.toThrow(
      new TypeError('runWorkerTasks: options.timeout is not an option (the options are maxRetries, retryDelayMs, onProgress, concurrency)'),
    );
    await expect(runWorkerTasks({ items: [1], execute: (x) => x, label: 'x' })).rejects.toThrow(
      new TypeError('runWorkerTasks: config.label is not an option (the options are items, execute, getTaskId, maxRetries, retryDelayMs, onProgress, concurrency)'),
    );
  });

  test('a mistyped key is refused before a missing field is reported', async () => {
    await expect(runWorkerTasks({ item: [1], execute: (x) => x })).rejects.toThrow('runWorkerTasks: config.item is not an option; did you mean "items"?');
  });

  test('every documented option is accepted, in both forms', async () => {
    const onProgress = jest.fn();
    const options = { maxRetries: 1, retryDelayMs: 0, onProgress, concurrency: 2 };
    const list = await runWorkerTasks([{ id: 'a', execute: () => 'A' }], options);
    expect(list.successful).toEqual([{ id: 'a', result: 'A' }]);
    const config = await runWorkerTasks({ items: [1, 2], execute: (x) => x * 2, getTaskId: (x) => `n${x}`, ...options });
    expect(config.successful).toEqual([
      { id: 'n1', result: 2 },
      { id: 'n2', result: 4 },
    ]);
    expect(onProgress).toHaveBeenCalledTimes(3);
  });
});

describe('pool.run refuses keys that are not options', () => {
  test.each([
    ['singal', 'signal'],
    ['prority', 'priority'],
    ['payloads', 'payload'],
  ])('options.%s → did you mean "%s"? (a rejection; the function never runs)', async (key, meant) => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    const execute = jest.fn(() => 1);
    const error = await errorOf(() => pool.run(execute, { [key]: 1 }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`pool.run: options.${key} is not an option; did you mean "${meant}"?`);
    await pool.onIdle();
    expect(execute).not.toHaveBeenCalled();
  });

  test('p-queue options that pool.run does not have are refused, listing the options', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    await expect(pool.run(() => 1, { throwOnTimeout: true })).rejects.toThrow(
      new TypeError('pool.run: options.throwOnTimeout is not an option (the options are payload, priority, signal, runAt, delayMs)'),
    );
  });

  test('every documented option is accepted', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    const controller = new AbortController();
    await expect(pool.run((payload) => payload + 1, { payload: 1, priority: 2, signal: controller.signal })).resolves.toBe(2);
    await expect(pool.run(() => 'none', {})).resolves.toBe('none');
  });
});

describe('useWorkerPool refuses keys that are not options', () => {
  test('options.nmae → did you mean "name"? (and no pool is made)', () => {
    const m = create();
    expect(() => m.useWorkerPool(2, { nmae: 'mail' })).toThrow(new TypeError('useWorkerPool: options.nmae is not an option; did you mean "name"?'));
    expect(() => m.useWorkerPool(2, { size: 3 })).toThrow(new TypeError('useWorkerPool: options.size is not an option (the options are name)'));
    expect(m.listUnits()).toEqual([]);
    expect(m.useWorkerPool(1, { name: 'mail' }).name).toBe('mail');
  });
});

describe('pool tasks are the user\'s objects: a mistyped field is warned about once and kept', () => {
  test('addTask({ priorty }) warns naming the key and what it probably meant; the task is queued with the field kept', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    let task;
    const warnings = await warningsOf(() => {
      task = pool.addTask({ name: 'a', priorty: 5, execute: () => 'a' });
    });
    expect(warnings).toEqual([
      'addTask: task.priorty is not a synchronik option and has no effect; did you mean "priority"? (a field of your own with this name is kept as it is; this is said once per name)',
    ]);
    expect(task.priorty).toBe(5);
    expect(task.status).toBe('idle');
    m.start();
    await pool.onIdle();
    expect(task.status).toBe('completed');
  });

  test('each name is warned about once', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    const warnings = await warningsOf(() => {
      pool.addTask({ name: 'a', handlr: 'h', execute: () => 1 });
      pool.addTask({ name: 'b', handlr: 'h', execute: () => 1 });
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^addTask: task\.handlr is not a synchronik option and has no effect; did you mean "handler"\?/);
    m.start();
    await pool.onIdle();
  });

  test('fields of the user\'s own, and the ones the pool writes, are not warned about', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    m.start();
    const warnings = await warningsOf(async () => {
      const first = pool.addTask({ name: 'a', owner: 'ada', createdAt: 1, status: 'idle', execute: () => 1 });
      await pool.onIdle();
      // A task object handed back carries arrangementId, status (and error).
      expect(pool.addTask({ ...first, error: undefined })).not.toBeNull();
      await pool.onIdle();
    });
    expect(warnings).toEqual([]);
  });

  test('updateTask({ paylod }) warns too, and the field is kept on the task', async () => {
    const m = create();
    const pool = m.useWorkerPool(1);
    const task = pool.addTask({ name: 'a', payload: 1, execute: (p) => p });
    const warnings = await warningsOf(() => pool.updateTask('a', { paylod: 2 }));
    expect(warnings).toEqual([
      'updateTask: partial.paylod is not a synchronik option and has no effect; did you mean "payload"? (a field of your own with this name is kept as it is; this is said once per name)',
    ]);
    expect(task.paylod).toBe(2);
    expect(task.payload).toBe(1);
    m.start();
    await pool.onIdle();
    expect(task.status).toBe('completed');
  });
});
