'use strict';

// synchronik: an orchestration engine for Node.js with a Rust core.
const { createSynchronikManager } = require('./lib/manager');
const { SynchronikError } = require('./lib/errors');

module.exports = { createSynchronikManager, SynchronikError };
