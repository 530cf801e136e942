'use strict';

// The GitHub workflows cannot run here: they are parsed as YAML (strictly:
// any error or warning fails) and checked against what they must do.

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { ROOT } = require('./helpers');
const { platforms } = require('../scripts/release-manifest');

/** @param {string} name */
function workflow(name) {
  const text = fs.readFileSync(path.join(ROOT, '.github', 'workflows', name), 'utf8');
  const doc = YAML.parseDocument(text, { strict: true, uniqueKeys: true, prettyErrors: true });
  expect([...doc.errors, ...doc.warnings].map(String)).toEqual([]);
  return doc.toJS();
}

/** Every `run` of a job's steps, joined. @param {any} job */
const runs = (job) => job.steps.map((/** @type {any} */ s) => s.run || '').join('\n');

test('ci.yml runs .ci/run on Linux, macOS and Windows', () => {
  const ci = workflow('ci.yml');
  expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
  const { test } = ci.jobs;
  expect(test.strategy.matrix.os).toEqual(['ubuntu-latest', 'macos-latest', 'windows-latest']);
  expect(test['runs-on']).toBe('${{ matrix.os }}');
  expect(runs(test)).toContain('bash .ci/run');
  expect(test.steps.some((/** @type {any} */ s) => String(s.uses).startsWith('actions/checkout@'))).toBe(true);
});

test('release.yml builds and tests every napi target on its own runner, then stages and publishes with provenance', () => {
  const release = workflow('release.yml');
  expect(release.on.push.tags).toEqual(['v*']);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const { build, publish } = release.jobs;
  const matrix = build.strategy.matrix.include;
  expect(matrix.map((/** @type {any} */ m) => m.target).sort()).toEqual([...pkg.napi.targets].sort());
  // Every platform built has its package in npm/, and every package is built.
  expect(matrix.map((/** @type {any} */ m) => m.platform).sort()).toEqual(platforms().map((p) => p.platform));
  expect(new Set(matrix.map((/** @type {any} */ m) => m.host)).size).toBe(matrix.length);
  expect(runs(build)).toContain('npm test');
  const upload = build.steps.find((/** @type {any} */ s) => String(s.uses).startsWith('actions/upload-artifact@'));
  expect(upload.with.path).toBe('lib/synchronik.${{ matrix.platform }}.node');

  expect(publish.needs).toBe('build');
  expect(publish.permissions['id-token']).toBe('write');
  const script = runs(publish);
  expect(script).toContain('node scripts/release-manifest.js dist');
  const publishes = script.split('\n').filter((line) => line.includes('npm publish'));
  expect(publishes.length).toBe(2);
  for (const line of publishes) expect(line).toContain('--provenance');
  // The platform packages go first: the main package names them.
  expect(script.indexOf('dist/synchronik-*')).toBeLessThan(script.indexOf('npm publish dist/synchronik '));
});
