'use strict';

// synchronik: an orchestration engine for Node.js with a Rust core.
const { createSynchronikManager } = require('./lib/manager');
const { runWorkerTasks } = require('./lib/task-runner');
const { SynchronikError } = require('./lib/errors');
const { FileStorageAdapter } = require('./lib/storage');
const { createSynchronikDashboard } = require('./lib/dashboard');
const { createSynchronikVisualizer } = require('./lib/visualizer');
const { migratePostgres } = require('./lib/postgres');

module.exports = { createSynchronikManager, runWorkerTasks, FileStorageAdapter, SynchronikError, createSynchronikDashboard, createSynchronikVisualizer, migratePostgres };
