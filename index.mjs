import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const synchronik = require('./index.js');

export const { createSynchronikManager, runWorkerTasks, FileStorageAdapter, SynchronikError, createSynchronikDashboard, createSynchronikVisualizer, migratePostgres } =
  synchronik;
export default synchronik;
