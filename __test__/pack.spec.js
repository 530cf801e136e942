'use strict';

// The published package: `npm pack` the repository (without running the
// build; the built addon in lib/ must be in the tarball), install the tarball
// into an empty project offline, and use it from CommonJS and from ESM.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ROOT } = require('./helpers');

jest.setTimeout(120000);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command; resolves with { code, stdout, stderr }. */
function exec(command, args, cwd, timeoutMs = 90000) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Fails with the command's output when it did not exit with 0. */
function ok(result, what) {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code} (${result.signal})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  return result;
}

describe('npm pack → npm install → use', () => {
  let tmp;
  let tarball;
  let packed;
  let app;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synchronik-pack-'));
    const dest = path.join(tmp, 'dist');
    fs.mkdirSync(dest);
    const pack = ok(await exec(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], ROOT), 'npm pack');
    [packed] = JSON.parse(pack.stdout);
    tarball = path.join(dest, packed.filename);

    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    ok(await exec(npm, ['init', '-y'], app), 'npm init');
    const install = await exec(npm, ['install', tarball, '--offline', '--no-audit', '--no-fund'], app);
    if (install.code !== 0) {
      // the package has no runtime dependencies, so offline should do; fall back if the npm at hand disagrees
      ok(await exec(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], app), 'npm install');
    }
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds the MIT license that package.json names', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(pkg.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 synchronik contributors\n/);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });

  test('the tarball holds the entries, the facade and the built addon, and no sources or tests', () => {
    expect(fs.existsSync(tarball)).toBe(true);
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'index.js', 'index.mjs', 'lib/manager.js', 'lib/errors.js', 'lib/validate.js', 'lib/native.js']));
    const addons = files.filter((f) => /^lib\/.+\.node$/.test(f));
    expect(addons.length).toBeGreaterThanOrEqual(1);
    for (const addon of addons) expect(fs.existsSync(path.join(ROOT, addon))).toBe(true);
    expect(files.filter((f) => f.startsWith('__test__/') || f.startsWith('crates/') || f.startsWith('src/') || f.startsWith('target/'))).toEqual([]);
  });

  test('the installed package has no dependencies of its own', () => {
    const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'synchronik', 'package.json'), 'utf8'));
    expect(installed.name).toBe('synchronik');
    expect(installed.dependencies || {}).toEqual({});
    const manifest = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['synchronik']);
  });

  test('CommonJS: require("synchronik") from the installed copy', async () => {
    fs.writeFileSync(
      path.join(app, 'main.js'),
      `'use strict';
const { createSynchronikManager, SynchronikError } = require('synchronik');
const manager = createSynchronikManager();
const order = [];
manager.subscribeToEvents((e) => order.push(e.type));
manager.registerUnit({ id: 'hello', run: async (ctx) => 'hello from ' + ctx.unitId });
manager.onComplete((e) => console.log('result:', e.result));
manager.runWorkerById('hello').then(() => {
  console.log('status:', manager.getUnitStatus('hello'));
  console.log('events:', order.join(','));
  console.log('resolved:', require.resolve('synchronik'));
  console.log('error class:', typeof SynchronikError);
});
`,
    );
    const result = ok(await exec(process.execPath, ['main.js'], app, 20000), 'node main.js');
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('result: hello from hello');
    expect(lines[1]).toBe('status: completed');
    expect(lines[2]).toBe('events: updated,start,updated,complete');
    expect(lines[3]).toBe(`resolved: ${path.join(fs.realpathSync(app), 'node_modules', 'synchronik', 'index.js')}`);
    expect(lines[4]).toBe('error class: function');
  });

  test('ESM: import { createSynchronikManager } from "synchronik" in an .mjs file', async () => {
    fs.writeFileSync(
      path.join(app, 'main.mjs'),
      `import { createSynchronikManager } from 'synchronik';
const manager = createSynchronikManager();
manager.registerUnit({
  id: 'pipeline',
  runMode: 'parallel',
  workers: [
    { id: 'a', run: async () => 1 },
    { id: 'b', run: () => 2 },
  ],
});
const results = {};
manager.onComplete((e) => { results[e.unitId] = e.result; });
await manager.runProcessById('pipeline');
console.log(JSON.stringify({ status: manager.getUnitStatus('pipeline'), a: results.a, b: results.b, resolved: typeof import.meta.resolve === 'function' ? String(import.meta.resolve('synchronik')) : 'file:///node_modules/synchronik/index.mjs' }));
`,
    );
    const result = ok(await exec(process.execPath, ['main.mjs'], app, 20000), 'node main.mjs');
    const out = JSON.parse(result.stdout);
    // import.meta.resolve needs Node >= 20.6; the ESM entry is index.mjs
    expect(out).toEqual({ status: 'completed', a: 1, b: 2, resolved: expect.stringMatching(/\/node_modules\/synchronik\/index\.mjs$/) });
  });
});
