// Type test for the PostgreSQL store in index.d.ts: checked by `tsc -p
// tsconfig.json`, never run. Every `@ts-expect-error` line must fail to
// type-check; everything else must pass.

import { createSynchronikManager, migratePostgres, type ClusterNode, type PostgresStorageOptions } from 'synchronik';

function expectType<T>(_value: T): void {}

const byUrl = createSynchronikManager({ storage: { postgres: 'postgres://app:secret@db:5432/app' } });
const byParts = createSynchronikManager({
  storage: { postgres: { host: 'db', port: 5432, user: 'app', password: 'secret', database: 'app', ssl: true }, schema: 'jobs', leaseMs: 10_000, pollMs: 500, connectTimeoutMs: 5_000, prefetch: 100, history: { maxRows: 1000 } },
});
// @ts-expect-error the port is a number
createSynchronikManager({ storage: { postgres: { host: 'db', port: '5432' } } });
// @ts-expect-error leaseMs is a number of milliseconds
createSynchronikManager({ storage: { postgres: 'postgres://db/app', leaseMs: '30s' } });

expectType<Promise<ClusterNode[]>>(byUrl.nodes());
expectType<string | undefined>(byParts.nodeId);
void byUrl.nodes().then((nodes) => {
  const n = nodes[0];
  expectType<string>(n.id);
  expectType<string>(n.host);
  expectType<number>(n.pid);
  expectType<Date>(n.startedAt);
  expectType<Date>(n.lastSeenAt);
});

expectType<Promise<{ from: number; to: number }>>(migratePostgres({ postgres: 'postgres://db/app', schema: 'jobs' }));
// @ts-expect-error migratePostgres needs the server
void migratePostgres({ schema: 'jobs' });

const options: PostgresStorageOptions = { postgres: { host: 'localhost' } };
void options;
