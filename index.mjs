import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const synchronik = require('./index.js');

export const { createSynchronikManager, runWorkerTasks, FileStorageAdapter, SynchronikError, createSynchronikDashboard, createSynchronikVisualizer } =
  synchronik;
export default synchronik;
