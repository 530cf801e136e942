// Data ingestion: a parallel process whose worker fetches a batch of movies
// with runWorkerTasks — retries with back-off, two fetches at a time — and
// reports the outcome as an `ingestion-complete` milestone. One movie id does
// not exist, so the report has a failure in it; the worker itself completes.
//
//   npm run examples && node build/examples/data-ingestion.js

import {
  createSynchronikManager,
  runWorkerTasks,
  type SynchronikEvent,
  type SynchronikProcess,
  type SynchronikWorker,
  type TaskRunnerResult,
} from 'synchronik';

interface Movie {
  movieId: string;
  title: string;
  year: number;
}

/** A stand-in for an HTTP API: known ids answer after a short delay, the rest are a 404. */
const CATALOGUE: Record<string, Omit<Movie, 'movieId'>> = {
  tt1375666: { title: 'Inception', year: 2010 },
  tt0133093: { title: 'The Matrix', year: 1999 },
  tt0068646: { title: 'The Godfather', year: 1972 },
};
const calls = new Map<string, number>();

async function fetchMovie(id: string): Promise<Movie> {
  calls.set(id, (calls.get(id) ?? 0) + 1);
  await new Promise((resolve) => setTimeout(resolve, 40 + (id.charCodeAt(8) % 4) * 15));
  const entry = CATALOGUE[id];
  if (!entry) throw new Error(`Movie ID ${id} not found (404)`);
  return { movieId: id, ...entry };
}

const manager = createSynchronikManager();
const t0 = performance.now();
const at = () => `${(performance.now() - t0).toFixed(0).padStart(4)} ms`;

const ingestionWorker: SynchronikWorker = {
  id: 'data-ingestion-worker',
  name: 'Data Ingestion Worker',
  maxRetries: 1, // for a failure of the worker itself, not of one movie
  timeoutMs: 5000,
  onError(error) {
    console.error(`CRITICAL: Worker 'data-ingestion-worker' failed permanently: ${error.message}`);
  },
  run: async (ctx) => {
    console.log(`${at()}  Worker [${ctx.unitId}]: starting a batch of internal tasks…`);
    const movieIds = ['tt1375666', 'tt0133093', 'tt0068646', 'tt9999999']; // the last one fails

    const results = await runWorkerTasks({
      items: movieIds,
      execute: (id) => fetchMovie(id),
      maxRetries: 2, // each movie gets up to 3 attempts
      retryDelayMs: (retry) => 2 ** retry * 50, // 100 ms, then 200 ms
      concurrency: 2, // two fetches at a time (default 1: one after another, as in 2.3)
      onProgress: ({ completed, total, percentage }) =>
        console.log(`${at()}  Worker [${ctx.unitId}]: ${completed}/${total} movies settled (${percentage.toFixed(0)}%)`),
    });

    // The worker's job is done: it reports the results as a milestone.
    ctx.emitMilestone('ingestion-complete', results);
    console.log(`${at()}  Worker [${ctx.unitId}]: finished with ${results.successPercentage.toFixed(2)}% success.`);
    return { ingested: results.successful.length };
  },
};

const ingestionProcess: SynchronikProcess = {
  id: 'data-ingestion-process',
  name: 'Nightly Data Ingestion',
  runMode: 'parallel',
  workers: [ingestionWorker],
};

/** Prints the milestone's report as a table. */
function printReport(report: TaskRunnerResult<Movie>): void {
  console.log('\n--- Ingestion Worker Results ---');
  console.log(`Success rate: ${report.successPercentage.toFixed(2)}% of ${report.totalTasks} movies`);
  for (const { id, result } of report.successful) {
    console.log(`  ✔ ${id}  ${result.title} (${result.year})  — ${calls.get(id)} attempt(s)`);
  }
  for (const { id, error } of report.failed) {
    console.log(`  ✖ ${id}  ${error}  — ${calls.get(id)} attempt(s)`);
  }
  console.log('');
}

manager.registerUnit(ingestionProcess);

manager.subscribeToEvents((event: SynchronikEvent) => {
  if (event.type === 'milestone' && event.milestoneId === 'ingestion-complete') {
    printReport(event.payload as TaskRunnerResult<Movie>);
    return;
  }
  if (event.type === 'milestone') {
    console.log(`${at()}  EVENT: milestone '${event.milestoneId}'`);
  } else if (event.type === 'updated') {
    const { reason, previous, current } = event.payload;
    if (reason === 'status-change') console.log(`${at()}  EVENT: Unit '${event.unitId}' changed status: ${previous} -> ${current}`);
  } else {
    console.log(`${at()}  EVENT: Unit '${event.unitId}' -> ${event.type}`);
  }
});

async function main(): Promise<void> {
  console.log('--- Starting Data Ingestion Process ---');
  await manager.runProcessById('data-ingestion-process');
  const meta = ingestionWorker.meta ?? {};
  console.log(`--- Process Complete: ${manager.getUnitStatus('data-ingestion-process')} in ${meta.lastDurationMs?.toFixed(0)} ms ---`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
