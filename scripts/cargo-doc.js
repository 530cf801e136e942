'use strict';

// Builds the engine crate's documentation and fails on any warning (a
// missing doc comment, a broken link): `npm run test:core` runs it.

const { spawnSync } = require('node:child_process');

const result = spawnSync('cargo', ['doc', '-q', '-p', 'synchronik-core', '--no-deps'], {
  stdio: 'inherit',
  env: { ...process.env, RUSTDOCFLAGS: `${process.env.RUSTDOCFLAGS ?? ''} -D warnings`.trim() },
  shell: process.platform === 'win32',
});
if (result.error) throw result.error;
process.exit(result.status ?? 1);
