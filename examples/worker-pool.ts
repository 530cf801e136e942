// A worker pool for a small media service: a prioritized queue of named
// tasks run by a few pool workers. Shows priorities, a paused task holding
// up the queue behind it, named handlers, pool.run with an AbortSignal,
// getWorkerStatus, resize and onIdle.
//
//   npm run examples && node build/examples/worker-pool.js

import { createSynchronikManager, type RunContext, type TaskEvent } from 'synchronik';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const t0 = performance.now();
const at = () => `${(performance.now() - t0).toFixed(0).padStart(4)} ms`;

/** A piece of work that takes `ms` and gives up when its signal is aborted. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** A task function: renders a thumbnail of `payload.file`. */
async function thumbnail(payload: { file: string }, ctx: RunContext): Promise<string> {
  await work(30, ctx.signal);
  ctx.emitMilestone(`thumbnail:${payload.file}`);
  return `${payload.file}.thumb.jpg`;
}

const manager = createSynchronikManager();
const pool = manager.useWorkerPool(2);

// Every status change of a task is a `task` event on the manager.
const history = new Map<string, string[]>();
const logTask = (e: TaskEvent) => {
  console.log(`${at()}    task ${e.name.padEnd(16)} ${e.status}`);
  history.set(e.name, [...(history.get(e.name) ?? ['idle']), e.status]);
};
manager.on('task', logTask);

async function priorities(): Promise<void> {
  console.log('— 1. Priorities: higher first, then in the order added —');
  pool.addTask({ name: 'thumb-beach', payload: { file: 'beach.png' }, execute: thumbnail });
  pool.addTask({ name: 'thumb-forest', payload: { file: 'forest.png' }, execute: thumbnail });
  pool.addTask({ name: 'avatar-urgent', priority: 10, payload: { file: 'avatar.png' }, execute: thumbnail });
  pool.addTask({ name: 'thumb-city', payload: { file: 'city.png' }, execute: thumbnail });
  console.log(pool.simulateRun());
  // A second task by a name that is still queued is refused (null, with a warning).
  console.log(`same name again → ${pool.addTask({ name: 'thumb-city', execute: thumbnail })}`);

  pool.start(); // dispatch starts; the manager's start() would start the pool too
  await sleep(10);
  for (const worker of pool.getPoolWorkers()) {
    console.log(`${at()}  ${worker.id}: ${JSON.stringify(pool.getWorkerStatus(worker.id))}`);
  }
  await pool.onIdle();
  console.log(`${at()}  pool-worker-1 after the batch: ${JSON.stringify(pool.getWorkerStatus('pool-worker-1'))}\n`);
}

async function pausedTask(): Promise<void> {
  console.log('— 2. A paused task holds up every task behind it —');
  pool.stop();
  const report = pool.addTask({ name: 'weekly-report', payload: { file: 'report.pdf' }, execute: thumbnail });
  pool.addTask({ name: 'thumb-lake', payload: { file: 'lake.png' }, execute: thumbnail });
  pool.addTask({ name: 'thumb-hills', payload: { file: 'hills.png' }, execute: thumbnail });
  pool.pauseTask('weekly-report');
  pool.start();
  await sleep(60);
  console.log(`${at()}  60 ms later, both workers free: ${pool.simulateRun()}`);
  pool.resumeTask('weekly-report');
  await pool.onIdle();
  console.log(`${at()}  weekly-report went through ${history.get('weekly-report')?.join(' → ')}; now ${report?.status}\n`);
}

async function handlers(): Promise<void> {
  console.log('— 3. Named handlers: tasks name a function the pool defines —');
  pool.addTask({ name: 'mail-ada', handler: 'send-email', payload: { to: 'ada@example.com' } });
  await sleep(5);
  console.log(`${at()}  no handler yet: ${pool.simulateRun()}`);
  pool.handle('send-email', async (payload: { to: string }, ctx) => {
    await work(20, ctx.signal);
    console.log(`${at()}  ✉ sent to ${payload.to} by ${ctx.unitId}`);
  });
  await pool.onIdle();
  console.log('');
}

async function cancellation(): Promise<void> {
  console.log('— 4. pool.run: a promise of the result, cancelled through an AbortSignal —');
  manager.off('task', logTask);
  const upload = (size: number) => async (file: string, ctx: RunContext) => {
    await work(size, ctx.signal);
    return `${file} uploaded`;
  };
  const controller = new AbortController();
  const runs = [
    pool.run(upload(30), { payload: 'a.mp4' }),
    pool.run(upload(500), { payload: 'huge.mov', signal: controller.signal }), // aborted while it runs
    pool.run(upload(30), { payload: 'b.mp4', signal: AbortSignal.timeout(20) }), // times out while queued
    pool.run(upload(30), { payload: 'c.mp4', priority: 1 }),
  ];
  setTimeout(() => controller.abort(new Error('upload cancelled by the user')), 40);
  const outcomes = await Promise.allSettled(runs);
  outcomes.forEach((o, k) => {
    console.log(`${at()}  run ${k + 1}: ${o.status === 'fulfilled' ? o.value : `${o.reason.name}: ${o.reason.cause?.message}`}`);
  });
  console.log('');
}

async function resizing(): Promise<void> {
  console.log('— 5. resize: more workers for a burst, fewer afterwards —');
  const burst = async (label: string) => {
    const started = performance.now();
    const files = Array.from({ length: 8 }, (_, k) => `frame-${k}.png`);
    await Promise.all(files.map((file) => pool.run(thumbnail, { payload: { file } })));
    console.log(`${at()}  8 thumbnails on ${label}: ${(performance.now() - started).toFixed(0)} ms`);
  };
  await burst('2 workers');
  pool.resize(4);
  console.log(`${at()}  workers: ${pool.getPoolWorkers().map((w) => w.id).join(', ')}`);
  await burst('4 workers');
  pool.resize(1);
  await pool.onIdle();
  console.log(`${at()}  after resize(1): ${pool.getPoolWorkers().map((w) => w.id).join(', ')}`);
}

async function main(): Promise<void> {
  await priorities();
  await pausedTask();
  await handlers();
  await cancellation();
  await resizing();
  pool.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
