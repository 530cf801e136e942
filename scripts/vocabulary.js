'use strict';

// Writes lib/generated/vocabulary.js and vocabulary.d.ts: the engine's
// vocabulary (crates/synchronik-core/src/vocabulary.rs) as the built addon
// renders it. Run it (`npm run vocabulary`) after changing the vocabulary
// and building the addon, and commit what it writes: the build does not
// write these files, so the committed ones are what the test suite compares
// with the built engine (__test__/vocabulary.spec.js fails when they are
// stale). With --check it writes nothing and exits with 1 when a file differs.

const fs = require('node:fs');
const path = require('node:path');

const DIR = path.join(__dirname, '..', 'lib', 'generated');

/** The files the addon renders: [path, text]. */
function files() {
  const { vocabulary } = require('../lib/native.js');
  const { javascript, typescript } = vocabulary();
  return [
    [path.join(DIR, 'vocabulary.js'), javascript],
    [path.join(DIR, 'vocabulary.d.ts'), typescript],
  ];
}

/** The files whose text on disk is not what the addon renders. */
function stale() {
  return files()
    .filter(([file, text]) => !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text)
    .map(([file]) => path.relative(path.join(__dirname, '..'), file));
}

if (require.main === module) {
  if (process.argv.includes('--check')) {
    const out = stale();
    if (out.length > 0) {
      console.error(`stale: ${out.join(', ')} (run npm run vocabulary)`);
      process.exit(1);
    }
  } else {
    fs.mkdirSync(DIR, { recursive: true });
    for (const [file, text] of files()) fs.writeFileSync(file, text);
  }
}

module.exports = { files, stale };
