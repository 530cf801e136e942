'use strict';

// stop() and close() while a run waits for a retry (SPEC §3.3, §3.4): once a
// stop is under way nothing is retried. A run waiting for its retry ends at
// once with ERR_STOPPED, as queued pool tasks are dropped; an attempt in
// flight still settles with its own outcome, and is not retried either.

const { createSynchronikManager } = require('..');

const managers = [];
function manual() {
  const m = createSynchronikManager({ clock: 'manual' });
  managers.push(m);
  return m;
}

afterEach(async () => {
  while (managers.length > 0) await managers.pop().stop({ timeoutMs: 0 });
});

function errorsOf(m) {
  const errors = [];
  m.on('error', (e) => errors.push(e));
  return errors;
}

test('close() during a retry delay of 1e15 ms returns at once; the run ends with ERR_STOPPED', async () => {
  const m = manual();
  const errors = errorsOf(m);
  let attempts = 0;
  m.registerUnit({
    id: 'flaky',
    maxRetries: 3,
    retryDelayMs: 1e15,
    run: () => {
      attempts++;
      throw new Error('fails');
    },
  });
  m.start();
  const run = m.runWorkerById('flaky');
  await m.clock.advance(0);
  expect(attempts).toBe(1);
  await m.close();
  await run.catch(() => {});
  expect(attempts).toBe(1);
  expect(errors.map((e) => e.error.code)).toEqual(['ERR_STOPPED']);
  expect(m.getUnitStatus('flaky')).toBe('error');
});

test('stop() waits for an attempt in flight, which fails with its own error and is not retried', async () => {
  const m = manual();
  const errors = errorsOf(m);
  const attempts = [];
  m.registerUnit({
    id: 'slow',
    maxRetries: 3,
    retryDelayMs: 4000,
    timeoutMs: 0,
    run: () =>
      new Promise((resolve, reject) => {
        attempts.push(reject);
      }),
  });
  const run = m.runWorkerById('slow');
  await m.clock.advance(0);
  expect(attempts).toHaveLength(1);
  let stopped = false;
  const stop = m.stop().then(() => (stopped = true));
  await m.clock.advance(0);
  expect(stopped).toBe(false);
  attempts[0](new Error('its own error'));
  await stop;
  await run.catch(() => {});
  await m.clock.advance(20_000);
  expect(attempts).toHaveLength(1);
  expect(errors.map((e) => e.error.message)).toEqual(['its own error']);
});
