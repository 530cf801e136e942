'use strict';

// synchronik: an orchestration engine for Node.js with a Rust core.
const { createSynchronikManager } = require('./lib/manager');
const { runWorkerTasks } = require('./lib/task-runner');
const { SynchronikError } = require('./lib/errors');

module.exports = { createSynchronikManager, runWorkerTasks, SynchronikError };
