// The event stream: subscribeToEvents sees everything, onMilestone sees
// milestones (from ctx.emitMilestone, from manager.emitMilestone and the
// process's own), and every state or settings change is an `updated` event.
//
//   npm run examples && node build/examples/events.js

import { createSynchronikManager, type SynchronikEvent } from 'synchronik';

const manager = createSynchronikManager();

/** One line per event. */
function format(event: SynchronikEvent): string {
  switch (event.type) {
    case 'updated': {
      const { reason, previous, current } = event.payload;
      const change = reason === 'status-change' ? `${previous} → ${current}` : `settings changed (status ${current})`;
      return `updated    ${event.unitId}: ${change}`;
    }
    case 'start':
      return `start      ${event.unitId}`;
    case 'complete':
      return `complete   ${event.unitId}${event.result === undefined ? '' : ` → ${JSON.stringify(event.result)}`}`;
    case 'error':
      return `error      ${event.unitId}: ${event.error.message}`;
    case 'milestone':
      return `milestone  ${event.milestoneId} ${JSON.stringify(event.payload)}`;
    case 'retry':
      return `retry      ${event.unitId} (attempt ${event.attempt} failed)`;
    case 'skipped':
      return `skipped    ${event.unitId}: ${event.reason}`;
    case 'stalled':
      return `stalled    ${event.unitId} for ${event.runningForMs} ms`;
  }
}

async function main(): Promise<void> {
  // 1. Everything, in the order the engine produced it.
  const unsubscribe = manager.subscribeToEvents((event) => console.log(`  [all] ${format(event)}`));

  // 2. Milestones only, as (id, payload).
  const offMilestones = manager.onMilestone((id, payload) => {
    if (id.startsWith('import:')) console.log(`  [milestone] ★ ${id.slice('import:'.length)} — ${payload.rows} rows`);
  });

  // 3. One kind of event, with an unsubscribe function each.
  const offComplete = manager.onComplete((e) => console.log(`  [onComplete] ${e.unitId} took ${e.durationMs.toFixed(1)} ms`));

  manager.registerUnit({
    id: 'nightly-import',
    runMode: 'sequential',
    workers: [
      {
        id: 'download',
        run: async (ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          ctx.emitMilestone('import:downloaded', { rows: 1200 });
          return 1200;
        },
      },
      {
        id: 'transform',
        run: async (ctx) => {
          ctx.progress(0.5, 'half way');
          ctx.emitMilestone('import:transformed', { rows: 1180 });
          return 1180;
        },
      },
    ],
  });

  console.log('Running process nightly-import:');
  await manager.runProcessById('nightly-import');

  console.log('\nChanging state and settings by hand (each change is one `updated` event):');
  await manager.updateStatus('download', 'paused');
  await manager.updateWorkerConfig('download', { timeoutMs: 2000 });
  await manager.disableWorker('transform');
  manager.startAll(); // every paused unit becomes idle

  console.log('\nA milestone of our own:');
  manager.emitMilestone('import:published', { rows: 1180 });

  console.log('\nAfter unsubscribing only the `updated` listener below remains:');
  unsubscribe();
  offMilestones();
  offComplete();
  manager.on('updated', (e) => console.log(`  [on('updated')] ${e.unitId}: ${e.payload.previous} → ${e.payload.current}`));
  await manager.enableWorker('transform');
  await manager.updateStatus('transform', 'idle');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
