// Durable work with the embedded SQLite store: a mail pool whose tasks name
// a handler, so they are stored with their payloads. The first "process"
// queues five mails and stops before sending them all; the second one, on
// the same database, gets the rest back and sends them, each with the same
// idempotency key it had. Then the history of attempts.
//
//   npm run examples && node build/examples/persistence.js

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSynchronikManager, type RunContext, type SynchronikManager, type WorkerPool } from 'synchronik';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-persistence-'));
const db = path.join(dir, 'state.db');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The same program both times: a manager on the store, a mail pool and its handler. */
function open(label: string): { manager: SynchronikManager; pool: WorkerPool; sent: string[] } {
  const manager = createSynchronikManager({ storage: { sqlite: db } });
  const pool = manager.useWorkerPool(1, { name: 'mail' }); // stored tasks of 'mail' come back here
  const sent: string[] = [];
  pool.handle('send', async (payload: { to: string }, ctx: RunContext) => {
    await sleep(20);
    sent.push(payload.to);
    console.log(`  ${label}: sent to ${payload.to} (attempt ${ctx.attempt}, key ${ctx.idempotencyKey})`);
  });
  return { manager, pool, sent };
}

async function main(): Promise<void> {
  // --- first run: queue five mails, send some, stop ---------------------------
  const first = open('first run ');
  for (const to of ['ada', 'grace', 'edsger', 'barbara', 'donald']) {
    first.pool.addTask({ name: `welcome-${to}`, handler: 'send', payload: { to: `${to}@example.com` } });
  }
  await first.manager.flush(); // the five tasks are on disk now
  first.manager.start();
  await sleep(50);
  await first.manager.close(); // stops dispatching, lets the running mail finish, commits, closes the file
  console.log(`first run sent ${first.sent.length}; the others stay stored`);

  // --- second run: the same database ------------------------------------------
  const second = open('second run');
  console.log(`second run starts with: ${second.pool.simulateRun()}`);
  second.manager.start();
  await second.pool.onIdle();
  console.log(`second run sent ${second.sent.length}`);

  const rows = await second.manager.history({ limit: 10 });
  console.log('history, newest first:');
  for (const r of rows) {
    console.log(`  ${(r.task?.name ?? r.unitId).padEnd(16)} ${r.outcome.padEnd(9)} attempt ${r.attempt}, ${r.durationMs.toFixed(0)} ms`);
  }
  await second.manager.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
