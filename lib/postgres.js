// @ts-check
'use strict';

// Migrations of a PostgreSQL store ahead of a deploy (`migratePostgres`):
// the schema is created or brought to this version's without starting a
// node. Managers migrate at start too; this is for deploys that want the
// schema ready (and checked) before the first new process starts.

const native = require('./native');
const v = require('./validate');
const { fromNative } = require('./errors');
const { postgresNative } = require('./durable-store');

/**
 * Creates or migrates the schema (under the same advisory lock managers
 * take). Resolves with the schema versions before and after (`from` 0: it
 * did not exist); rejects with a SynchronikError `ERR_STORAGE` naming the
 * problem.
 * @param {{ postgres: string | Record<string, unknown>, schema?: string, connectTimeoutMs?: number }} options
 * @returns {Promise<{ from: number, to: number }>}
 */
async function migratePostgres(options) {
  if (!v.isObject(options)) throw v.fail('migratePostgres', 'options', 'an object like { postgres: connectionString, schema? }', options);
  const allowed = ['postgres', 'schema', 'connectTimeoutMs'];
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`migratePostgres: options.${key} is not an option (expected ${allowed.join(', ')})`);
  }
  v.validatePostgresOption(options, 'migratePostgres', 'options');
  try {
    const [from, to] = await native.migratePostgres(postgresNative(options));
    return { from, to };
  } catch (e) {
    throw fromNative(e);
  }
}

module.exports = { migratePostgres };
