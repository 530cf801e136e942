'use strict';

// lib/native.js, the addon's loader, in a folder laid out as an install:
// the platform package first, the build from source second, and an error
// naming the platform and what to do when neither loads. Each case runs the
// loader in a child process of its own (an addon loads once per process).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT } = require('./helpers');

const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** This machine's platform as the loader names it, read from the build in lib/. */
const built = fs.readdirSync(path.join(ROOT, 'lib')).find((f) => /^synchronik\..+\.node$/.test(f));
const platform = /** @type {string} */ (built).slice('synchronik.'.length, -'.node'.length);

let tmp;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-loader-'));
  fs.mkdirSync(path.join(tmp, 'lib'));
  fs.copyFileSync(path.join(ROOT, 'lib', 'native.js'), path.join(tmp, 'lib', 'native.js'));
  fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'synchronik', version }));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A platform package in tmp/node_modules whose entry says where it came from. */
function platformPackage(packageVersion) {
  const dir = path.join(tmp, 'node_modules', `synchronik-${platform}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `synchronik-${platform}`, version: packageVersion, main: 'index.js' }));
  fs.writeFileSync(path.join(dir, 'index.js'), "module.exports = { from: 'package' };");
}

/** Loads tmp/lib/native.js in a child; what it printed, parsed (with the number of process reports made). */
function load(env = {}) {
  const script = `
    let reports = 0;
    const getReport = process.report.getReport;
    process.report.getReport = function (...args) { reports++; return getReport.apply(this, args); };
    try {
      const b = require(${JSON.stringify(path.join(tmp, 'lib', 'native.js'))});
      console.log(JSON.stringify({ from: b.from ?? (typeof b.NativeEngine === 'function' ? 'source' : 'unknown'), reports }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, platform: e.platform, message: e.message, reports }));
    }`;
  const childEnv = { ...process.env, ...env };
  if (!('NAPI_RS_NATIVE_LIBRARY_PATH' in env)) delete childEnv.NAPI_RS_NATIVE_LIBRARY_PATH;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: childEnv }));
}

test('the platform package is loaded before a build from source', () => {
  fs.copyFileSync(path.join(ROOT, 'lib', built), path.join(tmp, 'lib', built));
  platformPackage(version);
  expect(load()).toEqual({ from: 'package', reports: 0 });
});

test('without the platform package, the build from source is loaded', () => {
  fs.copyFileSync(path.join(ROOT, 'lib', built), path.join(tmp, 'lib', built));
  expect(load()).toEqual({ from: 'source', reports: 0 });
});

test('a platform package of another version is not used', () => {
  fs.copyFileSync(path.join(ROOT, 'lib', built), path.join(tmp, 'lib', built));
  platformPackage('0.0.1');
  expect(load()).toEqual({ from: 'source', reports: 0 });
  fs.rmSync(path.join(tmp, 'lib', built));
  const failed = load();
  expect(failed.code).toBe('ERR_NATIVE_ADDON');
  expect(failed.message).toContain(`it is version 0.0.1, this synchronik is ${version}`);
});

test('neither: an error naming the platform, what was tried and what to do', () => {
  const failed = load();
  expect(failed.code).toBe('ERR_NATIVE_ADDON');
  expect(failed.platform).toBe(platform);
  expect(failed.message).toContain(`the engine for ${platform} (${process.platform} ${process.arch}) could not be loaded`);
  expect(failed.message).toContain(`the package synchronik-${platform}`);
  expect(failed.message).toContain(`synchronik.${platform}.node does not exist`);
  expect(failed.message).toContain(`so that npm adds synchronik-${platform}`);
});

test('NAPI_RS_NATIVE_LIBRARY_PATH names the build to load instead of the package and lib/', () => {
  platformPackage(version);
  const other = path.join(tmp, 'other.node');
  fs.copyFileSync(path.join(ROOT, 'lib', built), other);
  expect(load({ NAPI_RS_NATIVE_LIBRARY_PATH: other })).toEqual({ from: 'source', reports: 0 });
  expect(load()).toEqual({ from: 'package', reports: 0 });
});

test('a NAPI_RS_NATIVE_LIBRARY_PATH that does not load is an error naming it, not a fallback', () => {
  fs.copyFileSync(path.join(ROOT, 'lib', built), path.join(tmp, 'lib', built));
  const missing = path.join(tmp, 'missing.node');
  const failed = load({ NAPI_RS_NATIVE_LIBRARY_PATH: missing });
  expect(failed.code).toBe('ERR_NATIVE_ADDON');
  expect(failed.message).toContain(`the engine named by NAPI_RS_NATIVE_LIBRARY_PATH (${missing}) could not be loaded`);
  expect(failed.message).toContain('Unset the variable');
});

// Telling glibc from musl reads /usr/bin/ldd (where there is one, as on
// this machine): a process report, which the loader made before, adds about
// a megabyte of resident memory to every process. The cases above count
// the reports made (0 each); this one checks that the count can see one.
test('the child counts the process reports made', () => {
  const script = `
    let reports = 0;
    const getReport = process.report.getReport;
    process.report.getReport = function (...args) { reports++; return getReport.apply(this, args); };
    process.report.getReport();
    console.log(reports);`;
  expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('1');
});

// What the package loads: the parts of Node only thread pools and the
// dashboard use (worker_threads, v8's serializer, net, crypto) are loaded
// when those are, not by every program that loads the package.
test('a manager that registers and runs a worker loads no thread, network or crypto module; a thread pool loads its own', () => {
  const script = `
    const before = new Set(process.moduleLoadList);
    const loaded = () => process.moduleLoadList.filter((m) => !before.has(m) && /^NativeModule (worker_threads|v8|net|crypto)$/.test(m)).map((m) => m.slice('NativeModule '.length)).sort();
    const { createSynchronikManager } = require(${JSON.stringify(ROOT)});
    const manager = createSynchronikManager();
    let result = 'not run';
    manager.registerUnit({ id: 'w', run: async () => { result = 'done'; } });
    manager.runWorkerById('w').then(async () => {
      const plain = loaded();
      const pool = manager.useThreadPool({ filename: ${JSON.stringify(path.join(ROOT, '__test__', 'fixtures', 'threads', 'handlers.js'))}, size: 1 });
      const withThreads = loaded();
      await manager.close();
      console.log(JSON.stringify({ result, plain, withThreads, pool: typeof pool.run }));
    });`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  expect(out.result).toBe('done');
  expect(out.plain).toEqual([]);
  expect(out.withThreads).toEqual(expect.arrayContaining(['v8', 'worker_threads']));
  expect(out.pool).toBe('function');
});
